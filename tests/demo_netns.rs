//! `llm-tower --demo` never leaves the machine: the binary runs inside a new user and
//! network namespace (`unshare -rn`, loopback only, brought up with `ip link set lo up`)
//! with a config of `gemini/` and `openai/` deployments whose key variables are unset, and
//! every model must answer (chat, a stream, the Responses API) through the demo's stand-in,
//! and `/health/readiness?check=upstream` must find every deployment up. Any attempt to
//! reach Google, OpenAI or another host fails in there.
//!
//! The test runs itself again inside the namespace (the client and the proxy both live
//! there). Where `unshare -rn` is not allowed (no unprivileged user namespaces) it passes
//! and prints that it did not run, unless `LLM_TOWER_REQUIRE_NETNS` is set, as `.ci/run`
//! sets it: then it fails.
#![cfg(all(feature = "cli", target_os = "linux"))]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_llm-tower");
/// Set in the copy of this test that runs inside the namespace.
const INSIDE: &str = "LLM_TOWER_NETNS_INSIDE";
const TEST: &str = "the_demo_answers_every_model_with_only_loopback";
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

#[tokio::test]
async fn the_demo_answers_every_model_with_only_loopback() {
    if std::env::var_os(INSIDE).is_some() {
        inside().await;
        return;
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
            return;
        }
    }
    let test_binary = std::env::current_exe().expect("the test binary");
    let output = Command::new("unshare")
        .args(["-rn", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
        .arg(test_binary)
        .args(["--exact", TEST, "--nocapture", "--test-threads", "1"])
        .env(INSIDE, "1")
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains(DONE),
        "inside the namespace: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}

/// The test proper, inside the namespace.
async fn inside() {
    // Only loopback: the outside is unreachable (no route), so nothing can leave.
    let outside = TcpStream::connect_timeout(
        &SocketAddr::from(([8, 8, 8, 8], 443)),
        Duration::from_secs(2),
    );
    assert!(outside.is_err(), "this namespace reaches the outside");

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
