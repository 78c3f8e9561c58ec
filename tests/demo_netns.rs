//! Offline means offline: the binary runs inside a new user and network namespace
//! (`unshare -rn`, loopback only, brought up with `ip link set lo up`), where any attempt to
//! reach Google, OpenAI or another host fails.
//!
//! * `llm-tower --demo` with a config of `gemini/` and `openai/` deployments whose key
//!   variables are unset: every model must answer (chat, a stream, the Responses API)
//!   through the demo's stand-in, and `/health/readiness?check=upstream` find every
//!   deployment up.
//! * The README's proxy commands as written: its `config.yaml` block saved, the commands
//!   marked ```` ```sh proxy-demo ````, ```` ```sh proxy-gemini ```` and
//!   ```` ```sh proxy-request ```` run with `bash` in that folder (port 4000 is the
//!   namespace's own), `./target/release/llm-tower` being this build's binary. The "With
//!   Gemini" command runs with `GEMINI_API_BASE` pointing at an in-process stand-in and its
//!   `…` placeholder replaced by the stand-in's key. Every ```` ```yaml ```` block of the
//!   README must load as a config.
//!
//! Each test runs itself again inside the namespace (the client and the proxy both live
//! there). Where `unshare -rn` is not allowed (no unprivileged user namespaces) it passes
//! and prints that it did not run, unless `LLM_TOWER_REQUIRE_NETNS` is set, as `.ci/run`
//! sets it: then it fails.
#![cfg(all(feature = "cli", target_os = "linux"))]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use llm_tower::proxy::config::Config;
use llm_tower::proxy::stand_in::StandIn;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_llm-tower");
/// Set in the copy of this test that runs inside the namespace.
const INSIDE: &str = "LLM_TOWER_NETNS_INSIDE";
const MASTER: &str = "sk-netns";
/// Printed by the inside run when every model answered.
const DONE: &str = "netns: every model answered through the stand-in";

const CONFIG: &str = "model_list:
  - model_name: gemini-flash
    litellm_params:
      model: gemini/gemini-3-flash-preview
      api_key: os.environ/GEMINI_API_KEY
  - model_name: gemini/*
    litellm_params:
      model: gemini/*
      api_key: os.environ/GEMINI_API_KEY
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: https://api.openai.com/v1
      api_key: os.environ/OPENAI_API_KEY_SECOND
      organization: org-demo
  - model_name: llama
    litellm_params:
      model: openai/llama3.2
      api_base: http://localhost:11434/v1
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
";

/// The models the config serves (a wildcard one among them) and, for each, what to ask.
const MODELS: [&str; 4] = [
    "gemini-flash",
    "gemini/gemini-2.5-pro",
    "gpt-4o-mini",
    "llama",
];

/// Whether this is the copy of test `name` running inside the namespace. Outside, runs that
/// copy under `unshare -rn` and checks that it passed and printed `done`.
fn inside_namespace(name: &str, done: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let required = std::env::var_os("LLM_TOWER_REQUIRE_NETNS").is_some();
    let probe = Command::new("unshare")
        .args(["-rn", "true"])
        .stderr(Stdio::piped())
        .output();
    match probe {
        Ok(output) if output.status.success() => {}
        other => {
            let reason = format!("`unshare -rn true` failed: {other:?}");
            assert!(!required, "{reason}");
            println!("netns: did not run: {reason}");
            return false;
        }
    }
    let test_binary = std::env::current_exe().expect("the test binary");
    let output = Command::new("unshare")
        .args(["-rn", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
        .arg(test_binary)
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(INSIDE, "1")
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains(done),
        "inside the namespace: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    false
}

/// Only loopback: the outside is unreachable (no route), so nothing can leave.
fn assert_no_way_out() {
    let outside = TcpStream::connect_timeout(
        &SocketAddr::from(([8, 8, 8, 8], 443)),
        Duration::from_secs(2),
    );
    assert!(outside.is_err(), "this namespace reaches the outside");
}

#[tokio::test]
async fn the_demo_answers_every_model_with_only_loopback() {
    if inside_namespace("the_demo_answers_every_model_with_only_loopback", DONE) {
        demo_inside().await;
    }
}

/// The demo test proper, inside the namespace.
async fn demo_inside() {
    assert_no_way_out();

    let dir = std::env::temp_dir().join(format!("llm-tower-netns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("config.yaml");
    std::fs::write(&config, CONFIG).expect("config written");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new(BINARY)
        .arg("--demo")
        .arg("--config")
        .arg(&config)
        .args(["--port", &port.to_string()])
        .env("LITELLM_MASTER_KEY", MASTER)
        .env("RUST_LOG", "info")
        .env_remove("GEMINI_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_API_KEY_SECOND")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let logs = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("llm-tower listening on") {
                let _ = ready_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    let ready = ready_rx.recv_timeout(Duration::from_secs(30));
    if ready.is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the demo did not start: {:#?}",
            logs.join().expect("log thread")
        );
    }

    let outcome = ask_every_model(port).await;
    let _ = child.kill();
    let _ = child.wait();
    let lines = logs.join().expect("log thread");
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(failure) = outcome {
        panic!("{failure}\n--- proxy log\n{}", lines.join("\n"));
    }
    println!("{DONE}");
}

async fn ask_every_model(port: u16) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client");
    let base = format!("http://127.0.0.1:{port}");
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(MASTER)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    for model in MODELS {
        let text = format!("Hello, {model}");
        let messages = json!([{"role": "user", "content": text}]);

        let reply = post(
            "/v1/chat/completions",
            json!({"model": model, "messages": messages}),
        )
        .await
        .map_err(|error| format!("{model}: {error}"))?;
        let status = reply.status();
        let reply = json_of(reply).await?;
        if status != 200 || reply["choices"][0]["message"]["content"] != text.as_str() {
            return Err(format!("{model}: chat answered {status}: {reply}"));
        }

        let stream = post(
            "/v1/chat/completions",
            json!({"model": model, "messages": messages, "stream": true}),
        )
        .await
        .map_err(|error| format!("{model}: {error}"))?;
        let status = stream.status();
        let body = stream.text().await.map_err(|error| error.to_string())?;
        let streamed: String = body
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .filter_map(|data| serde_json::from_str::<Value>(data).ok())
            .filter_map(|chunk| {
                chunk["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        if status != 200 || streamed != text || !body.trim_end().ends_with("data: [DONE]") {
            return Err(format!("{model}: the stream answered {status}: {body}"));
        }

        let response = post("/v1/responses", json!({"model": model, "input": text}))
            .await
            .map_err(|error| format!("{model}: {error}"))?;
        let status = response.status();
        let response = json_of(response).await?;
        let said: String = response["output"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|item| item["type"] == "message")
            .flat_map(|item| item["content"].as_array().into_iter().flatten())
            .filter_map(|part| part["text"].as_str())
            .collect();
        if status != 200 || said != text {
            return Err(format!(
                "{model}: /v1/responses answered {status}: {response}"
            ));
        }
    }
    let readiness = client
        .get(format!("{base}/health/readiness?check=upstream"))
        .bearer_auth(MASTER)
        .send()
        .await
        .map_err(|error| error.to_string())?;
    let status = readiness.status();
    let body = readiness.text().await.map_err(|error| error.to_string())?;
    if status != 200 {
        return Err(format!("readiness with check=upstream: {status}: {body}"));
    }
    Ok(())
}

async fn json_of(response: reqwest::Response) -> Result<Value, String> {
    let bytes = response.bytes().await.map_err(|error| error.to_string())?;
    serde_json::from_slice(&bytes)
        .map_err(|error| format!("{error}: {}", String::from_utf8_lossy(&bytes)))
}

/// Printed by the inside run when the README's commands answered.
const README_DONE: &str = "netns: the README's proxy commands ran as written";
/// The key of the stand-in the "With Gemini" command talks to (its `…`).
const STAND_IN_KEY: &str = "readme-gemini-key";

/// The README's fenced blocks: the info string and the text of each.
fn readme_blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in readme.lines() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(_), Some(block)) => blocks.push(block),
            (Some(info), None) => open = Some((info.trim().to_owned(), String::new())),
            (None, Some((info, mut text))) => {
                text.push_str(line);
                text.push('\n');
                open = Some((info, text));
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md ends inside a fenced block");
    blocks
}

/// The text of the blocks whose info string is `info`.
fn marked<'a>(blocks: &'a [(String, String)], info: &str) -> Vec<&'a str> {
    blocks
        .iter()
        .filter(|(found, _)| found == info)
        .map(|(_, text)| text.as_str())
        .collect()
}

/// `script` run by bash in `dir` in a process group of its own, with only PATH, HOME and
/// `env` set; its output goes to `log`.
fn start_script(dir: &Path, script: &str, env: &[(&str, &str)], log: &str) -> Child {
    let log = std::fs::File::create(dir.join(log)).expect("log file");
    let mut command = Command::new("bash");
    command
        .args(["-c", script])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .process_group(0);
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().expect("bash starts")
}

/// Stops `child`'s process group; what it wrote to `log`.
fn stop_script(mut child: Child, dir: &Path, log: &str) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
    std::fs::read_to_string(dir.join(log)).unwrap_or_default()
}

/// Waits until 127.0.0.1:4000 (the README's port) accepts connections.
fn wait_for_port_4000(child: &mut Child) -> Result<(), String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", 4000)).is_err() {
        if let Ok(Some(exit)) = child.try_wait() {
            return Err(format!("the proxy exited: {exit}"));
        }
        if std::time::Instant::now() > deadline {
            return Err("nothing listens on port 4000".to_owned());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Runs every `proxy-request` block in `dir`: each must print an OpenAI chat completion
/// answering (the stand-in echoes) the last message the block sent.
fn run_requests(dir: &Path, requests: &[&str]) -> Result<(), String> {
    for request in requests {
        let output = Command::new("bash")
            .args(["-c", request])
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .map_err(|error| format!("bash: {error}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "{request}: {}: {stdout}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let sent: Value = request
            .split_once("-d '")
            .and_then(|(_, rest)| rest.split_once('\''))
            .and_then(|(body, _)| serde_json::from_str(body).ok())
            .ok_or_else(|| format!("{request}: no JSON body after -d"))?;
        let reply: Value = serde_json::from_str(&stdout)
            .map_err(|error| format!("{request}: {error}: {stdout}"))?;
        let asked = sent["messages"]
            .as_array()
            .and_then(|messages| messages.last())
            .map(|message| &message["content"]);
        if reply["object"] != "chat.completion"
            || Some(&reply["choices"][0]["message"]["content"]) != asked
        {
            return Err(format!("{request}: answered {reply}"));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_proxy_commands_run_as_written() {
    let blocks = readme_blocks();
    // Every command block that starts the proxy or calls it is marked to be run here.
    for (info, text) in &blocks {
        let runs_proxy = text.contains("./target/release/llm-tower --config");
        let calls_proxy = text.contains("curl http://localhost:4000");
        assert!(
            !(runs_proxy || calls_proxy) || info.starts_with("sh proxy-"),
            "a README command block that is not marked (```sh proxy-…): {text}"
        );
    }
    // Every config the README shows loads, every variable it names being set.
    for (info, text) in &blocks {
        if info.split_whitespace().next() == Some("yaml") {
            let set = |name: &str| Some(format!("readme-{}", name.to_ascii_lowercase()));
            let (_, warnings) = Config::from_yaml(text, "README.md", &set)
                .unwrap_or_else(|error| panic!("a README config: {error}\n{text}"));
            assert!(warnings.is_empty(), "{warnings:#?}\n{text}");
        }
    }
    if !inside_namespace("the_readme_proxy_commands_run_as_written", README_DONE) {
        return;
    }
    assert_no_way_out();
    let [config] = marked(&blocks, "yaml config.yaml")[..] else {
        panic!("one ```yaml config.yaml block: the config the README says to save")
    };
    let [demo] = marked(&blocks, "sh proxy-demo")[..] else {
        panic!("one ```sh proxy-demo block")
    };
    let [gemini] = marked(&blocks, "sh proxy-gemini")[..] else {
        panic!("one ```sh proxy-gemini block")
    };
    let requests = marked(&blocks, "sh proxy-request");
    assert!(!requests.is_empty(), "```sh proxy-request blocks");

    let dir = std::env::temp_dir().join(format!("llm-tower-readme-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("target/release")).expect("temp dir");
    std::fs::write(dir.join("config.yaml"), config).expect("config written");
    std::os::unix::fs::symlink(BINARY, dir.join("target/release/llm-tower")).expect("symlink");

    // The demo, with no variable set.
    let mut proxy = start_script(&dir, demo, &[], "demo.log");
    let outcome = wait_for_port_4000(&mut proxy).and_then(|()| run_requests(&dir, &requests));
    let log = stop_script(proxy, &dir, "demo.log");
    if let Err(failure) = outcome {
        panic!("the README's demo: {failure}\n--- {demo}--- its log\n{log}");
    }

    // "With Gemini", Google's API being the stand-in.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}/v1beta", listener.local_addr().expect("address"));
    tokio::spawn(
        StandIn::new(STAND_IN_KEY)
            .answering_from_request()
            .serve(listener),
    );
    let gemini = gemini.replace('…', STAND_IN_KEY);
    let mut proxy = start_script(&dir, &gemini, &[("GEMINI_API_BASE", &base)], "gemini.log");
    let outcome = wait_for_port_4000(&mut proxy).and_then(|()| run_requests(&dir, &requests));
    let log = stop_script(proxy, &dir, "gemini.log");
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(failure) = outcome {
        panic!("the README's With Gemini command: {failure}\n--- {gemini}--- its log\n{log}");
    }
    println!("{README_DONE}");
}
