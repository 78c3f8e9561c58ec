//! The binary as an operator and a newcomer meet it: the README's demo command answering a
//! chat offline, JSON logs (parsed line by line, with no key in any output), `/metrics` on
//! its own port, `--check-config`, and the warning of a proxy started with no key at all.
#![cfg(all(feature = "cli", unix))]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{TEST_KEY, fixture};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BINARY: &str = env!("CARGO_BIN_EXE_llm-tower");

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("addr").port()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llm-tower-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A running binary and everything it wrote on stderr until it listened.
struct Running {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStderr>>,
    startup: Vec<String>,
}

impl Running {
    fn start(command: &mut Command) -> Self {
        let mut child = command
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut startup = Vec::new();
        for line in lines.by_ref() {
            let line = line.expect("log line");
            let listening = line.contains("llm-tower listening on");
            startup.push(line);
            if listening {
                return Self {
                    child,
                    lines,
                    startup,
                };
            }
        }
        let _ = child.kill();
        let exit = child.wait();
        panic!("the binary stopped before listening ({exit:?}): {startup:#?}");
    }

    /// Stops it with SIGTERM; every stderr line.
    fn stop(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("exits");
        assert!(exit.success(), "{exit:?}");
        let mut all = self.startup;
        all.extend(self.lines.map_while(Result::ok));
        all
    }
}

/// The README's proxy section: the `config.yaml` it says to save, the demo command's
/// variables and arguments, and the curl request's key and body.
struct Readme {
    config: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
    /// The "With Gemini" command's variables and arguments.
    gemini_env: Vec<(String, String)>,
    gemini_args: Vec<String>,
    key: String,
    body: Value,
}

fn readme() -> Readme {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let after_save = text
        .split_once("Save this as `config.yaml`")
        .expect("the README says what to save")
        .1;
    let config = after_save
        .split_once("```yaml config.yaml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a yaml block")
        .0
        .to_owned();
    let command = after_save
        .lines()
        .find(|line| line.contains("llm-tower") && line.contains("--demo"))
        .expect("the demo command");
    let (env, args) = command_words(command);
    let gemini_command = text
        .split_once("### With Gemini")
        .expect("the With Gemini section")
        .1
        .lines()
        .find(|line| line.contains("llm-tower --config"))
        .expect("the With Gemini command");
    let (gemini_env, gemini_args) = command_words(gemini_command);
    let curl = after_save
        .split_once("curl http://localhost:4000/v1/chat/completions")
        .expect("the curl request")
        .1;
    let key = curl
        .split_once("Authorization: Bearer ")
        .and_then(|(_, rest)| rest.split_once('"'))
        .expect("the key header")
        .0
        .to_owned();
    let body = curl
        .split_once("-d '")
        .and_then(|(_, rest)| rest.split_once('\''))
        .expect("the body")
        .0;
    Readme {
        config,
        env,
        args,
        gemini_env,
        gemini_args,
        key,
        body: serde_json::from_str(body).expect("the README's body is JSON"),
    }
}

/// The variables and arguments of a README command line (`NAME=value … llm-tower args…`).
fn command_words(command: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut env = Vec::new();
    let mut words = command.split_whitespace();
    for word in words.by_ref() {
        match word.split_once('=') {
            Some((name, value)) if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                env.push((name.to_owned(), value.to_owned()));
            }
            _ => {
                assert!(word.ends_with("llm-tower"), "{command}");
                break;
            }
        }
    }
    (env, words.map(str::to_owned).collect())
}

/// A README command, with its variables, in a fresh folder holding the README's
/// `config.yaml`, on a free port of 127.0.0.1: the folder, the port, the command.
fn readme_command(
    name: &str,
    readme: &Readme,
    env: &[(String, String)],
    args: &[String],
) -> (PathBuf, u16, Command) {
    let dir = temp_dir(name);
    std::fs::write(dir.join("config.yaml"), &readme.config).expect("config written");
    let port = free_port();
    let mut command = Command::new(BINARY);
    command
        .current_dir(&dir)
        .args(args)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()]);
    for (name, value) in env {
        command.env(name, value);
    }
    (dir, port, command)
}

/// The README's config with only `GEMINI_API_KEY` set, as a newcomer runs it: the proxy
/// starts, says which deployment lacks which variable, lists it as unhealthy and answers
/// its requests with a 401 naming the variable. Gemini itself is not called (no network in
/// tests): the Gemini deployments are checked to be healthy.
#[tokio::test]
async fn the_readme_gemini_command_starts_with_only_the_gemini_key() {
    let readme = readme();
    let (dir, port, mut command) = readme_command(
        "readme-gemini",
        &readme,
        &readme.gemini_env,
        &readme.gemini_args,
    );
    command
        .env_remove("OPENAI_API_KEY")
        .env("GEMINI_API_KEY", TEST_KEY)
        .env("RUST_LOG", "llm_tower::access=debug");
    // A narrow RUST_LOG keeps the startup lines; stderr is a pipe: no colour codes.
    let running = Running::start(&mut command);
    let startup = &running.startup;
    assert!(
        startup.iter().all(|line| !line.contains('\u{1b}')),
        "{startup:#?}"
    );
    let said = |words: &[&str]| {
        startup
            .iter()
            .any(|line| words.iter().all(|word| line.contains(word)))
    };
    assert!(said(&["no Redis", "memory"]), "{startup:#?}");
    assert!(
        said(&[
            "`OPENAI_API_KEY` is not set",
            "\"gpt-4o-mini\"",
            "unavailable"
        ]),
        "{startup:#?}"
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let health: Value = client
        .get(format!("{base}/health"))
        .bearer_auth(&readme.key)
        .send()
        .await
        .expect("health")
        .bytes()
        .await
        .map(|bytes| serde_json::from_slice(&bytes).expect("JSON"))
        .expect("body");
    let unhealthy = health["unhealthy_endpoints"].as_array().expect("a list");
    assert_eq!(unhealthy.len(), 1, "{health:#}");
    assert_eq!(unhealthy[0]["model_name"], "gpt-4o-mini");
    assert!(
        unhealthy[0]["error"]
            .as_str()
            .is_some_and(|error| error.contains("`OPENAI_API_KEY`")),
        "{health:#}"
    );
    assert_eq!(health["healthy_count"], 3, "{health:#}");
    let answer = client
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(&readme.key)
        .header("content-type", "application/json")
        .body(
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 401);
    let error: Value = serde_json::from_slice(&answer.bytes().await.expect("body")).expect("JSON");
    assert_eq!(error["error"]["type"], "authentication_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("`OPENAI_API_KEY`")),
        "{error}"
    );
    running.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_readme_demo_command_answers_a_chat_offline() {
    let readme = readme();
    let (dir, port, mut command) = readme_command("readme", &readme, &readme.env, &readme.args);
    command
        .env_remove("GEMINI_API_KEY")
        .env_remove("GEMINI_API_BASE")
        .env("RUST_LOG", "info");
    let running = Running::start(&mut command);
    assert!(
        running
            .startup
            .iter()
            .any(|line| line.contains("DEMO MODE") && line.contains("nothing leaves")),
        "{:#?}",
        running.startup
    );
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
    let answer = client
        .post(&url)
        .bearer_auth(&readme.key)
        .header("content-type", "application/json")
        .body(readme.body.to_string())
        .send()
        .await
        .expect("the proxy answers");
    assert_eq!(answer.status(), 200);
    let reply: Value = serde_json::from_slice(&answer.bytes().await.expect("body")).expect("JSON");
    assert_eq!(reply["object"], "chat.completion");
    assert!(
        reply["choices"][0]["message"]["content"].is_string(),
        "{reply}"
    );
    // Every deployment of the README's config is answered by the stand-in, the OpenAI
    // and local ones included (nothing leaves the machine).
    for model in ["gpt-4o-mini", "llama", "gemini/gemini-2.0-flash"] {
        let mut body = readme.body.clone();
        body["model"] = json!(model);
        let answer = client
            .post(&url)
            .bearer_auth(&readme.key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the proxy answers");
        assert_eq!(answer.status(), 200, "{model}");
    }
    // The README's key is needed.
    let refused = client
        .post(&url)
        .header("content-type", "application/json")
        .body(readme.body.to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 401);
    running.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn json_logs_parse_hold_no_key_and_metrics_have_their_own_port() {
    let server = MockServer::start().await;
    let reply =
        fixture("01-agent--completion-smoke.json")["exchanges"][0]["response"]["body"].clone();
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(&server)
        .await;
    let master = "sk-master-json-logs-5678";
    let dir = temp_dir("json");
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n  - model_name: flash\n    litellm_params: {{model: gemini/gemini-2.5-flash, api_key: os.environ/GEMINI_API_KEY, api_base: {}/v1beta}}\ngeneral_settings: {{master_key: os.environ/LITELLM_MASTER_KEY}}\n",
            server.uri()
        ),
    )
    .expect("config written");
    let (port, metrics_port) = (free_port(), free_port());
    let running = Running::start(
        Command::new(BINARY)
            .args(["--config", config.to_str().expect("utf-8")])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--metrics-port", &metrics_port.to_string()])
            .env("LLM_TOWER_LOG_FORMAT", "json")
            .env("GEMINI_API_KEY", TEST_KEY)
            .env("LITELLM_MASTER_KEY", master)
            .env("RUST_LOG", "info"),
    );
    let client = reqwest::Client::new();
    let chat =
        json!({"model": "flash", "messages": [{"role": "user", "content": "a secret question"}]});
    let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
    let answer = client
        .post(&url)
        .bearer_auth(master)
        .header("x-request-id", "req-json-1")
        .header("content-type", "application/json")
        .body(chat.to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 200);
    let refused = client
        .post(&url)
        .bearer_auth("sk-wrong-key")
        .header("content-type", "application/json")
        .body(chat.to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 401);
    // /metrics lives on its own port, behind the master key like on the proxy's.
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let locked = client.get(&metrics_url).send().await.expect("answers");
    assert_eq!(locked.status(), 401);
    let text = client
        .get(&metrics_url)
        .bearer_auth(master)
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_owned())))
        .expect("parses");
    assert!(
        scrape
            .samples
            .iter()
            .any(|sample| sample.metric == "llm_tower_requests_total"
                && sample.labels.get("model") == Some("flash")
                && sample.labels.get("status_class") == Some("2xx")),
        "{text}"
    );
    let moved = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .bearer_auth(master)
        .send()
        .await
        .expect("answers");
    assert_eq!(moved.status(), 404, "not on the proxy's port");

    let lines = running.stop();
    let everything = lines.join("\n");
    for secret in [TEST_KEY, master, "sk-wrong-key", "a secret question"] {
        assert!(
            !everything.contains(secret),
            "{secret} logged: {everything}"
        );
    }
    let records: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let access: Vec<&Value> = records
        .iter()
        .filter(|record| record["target"] == "llm_tower::access")
        .collect();
    let ok = access
        .iter()
        .find(|record| record["fields"]["request_id"] == "req-json-1")
        .expect("the chat's access line");
    let fields = &ok["fields"];
    assert_eq!(ok["level"], "INFO");
    assert_eq!(fields["method"], "POST");
    assert_eq!(fields["route"], "/v1/chat/completions");
    assert_eq!(fields["model"], "flash");
    assert_eq!(fields["status"], 200);
    assert!(fields["latency_ms"].as_f64().expect("latency") > 0.0);
    assert!(fields["prompt_tokens"].as_u64().expect("tokens") > 0);
    assert!(fields["cost"].as_f64().expect("cost") > 0.0, "{fields}");
    let trace_id = fields["trace_id"].as_str().expect("the trace id");
    assert!(
        trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{trace_id}"
    );
    assert!(
        ok.get("span").is_none(),
        "the line carries its fields itself: {ok}"
    );
    assert!(
        access
            .iter()
            .any(|record| record["fields"]["status"] == 401),
        "{access:#?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn check_config(path: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(BINARY);
    command
        .arg("--check-config")
        .arg(path)
        .env_remove("GEMINI_API_KEY")
        .env_remove("LITELLM_MASTER_KEY");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn check_config_reports_good_bad_and_missing_variables() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let (ok, text) = check_config(
        &configs.join("master_key_env.yaml"),
        &[("LITELLM_MASTER_KEY", "sk-check-9876")],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("gemini-flash -> gemini/gemini-2.5-flash"),
        "{text}"
    );
    assert!(text.contains("ok, 1 deployment"), "{text}");
    assert!(
        !text.contains("sk-check-9876") && !text.contains("from-config-file"),
        "{text}"
    );

    // Unused keys are warnings, each reported.
    let (ok, text) = check_config(
        &configs.join("litellm_extras.yaml"),
        &[("GEMINI_API_KEY", "sk-gemini-check")],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("warning: ") && text.contains("litellm_settings.set_verbose"),
        "{text}"
    );
    assert!(
        text.contains("gemini-flash -> gemini/gemini-2.5-flash (key set)"),
        "{text}"
    );
    assert!(!text.contains("sk-gemini-check"), "{text}");
    // A deployment key naming an unset variable is an error.
    let (ok, text) = check_config(&configs.join("litellm_extras.yaml"), &[]);
    assert!(!ok, "{text}");
    assert!(text.contains("`GEMINI_API_KEY` is not set"), "{text}");

    let (ok, text) = check_config(&configs.join("broken.yaml"), &[]);
    assert!(!ok);
    assert!(text.contains("broken.yaml:8:6"), "{text}");

    let (ok, text) = check_config(&configs.join("master_key_env.yaml"), &[]);
    assert!(!ok, "{text}");
    assert!(text.contains("LITELLM_MASTER_KEY"), "{text}");
}

#[tokio::test]
async fn no_config_and_no_key_is_said_at_startup() {
    let port = free_port();
    let running = Running::start(
        Command::new(BINARY)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .env_remove("GEMINI_API_KEY")
            .env_remove("LLM_TOWER_CONFIG")
            .env("RUST_LOG", "info"),
    );
    let startup = running.startup.join("\n");
    assert!(
        startup.contains("no --config and no GEMINI_API_KEY") && startup.contains("--demo"),
        "{startup}"
    );
    let alive = reqwest::get(format!("http://127.0.0.1:{port}/health/liveliness"))
        .await
        .expect("answers");
    assert_eq!(alive.status(), 200);
    running.stop();
}
