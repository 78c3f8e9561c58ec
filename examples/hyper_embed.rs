//! Serves the Gemini chat edge with plain hyper 1 + hyper-util, no framework. Runs
//! offline against an in-process stand-in for Gemini, sends one request, prints the reply
//! and exits.
//!
//! ```text
//! cargo run --example hyper_embed
//! ```

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use llm_tower::Secret;
use llm_tower::edge::ChatEdge;
use llm_tower::gemini::Gemini;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let stand_in = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-3-flash-preview:generateContent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello from Gemini, via hyper."}]}, "finishReason": "STOP"}]
        })))
        .mount(&stand_in)
        .await;

    let gemini = Gemini::builder()
        .api_base(format!("{}/v1beta", stand_in.uri()))
        .api_key(Secret::new("demo-key"))
        .build()?;
    let edge = ChatEdge::new(gemini.chat_service());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(edge.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let reply = reqwest::Client::new()
        .post(format!("http://{address}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(
            json!({"model": "gemini-3-flash-preview", "messages": [{"role": "user", "content": "Hi"}]})
                .to_string(),
        )
        .send()
        .await?
        .text()
        .await?;
    println!("POST /v1/chat/completions -> {reply}");
    Ok(())
}
