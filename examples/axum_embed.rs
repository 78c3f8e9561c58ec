//! Mounts the Gemini stack at `/v1/chat/completions` inside an existing axum `Router`,
//! beside the application's own routes. Runs offline against an in-process stand-in for
//! Gemini, sends one request through the server, prints the reply and exits.
//!
//! ```text
//! cargo run --example axum_embed
//! ```

use axum::Router;
use axum::routing::get;
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
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello from Gemini, via axum."}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 7, "totalTokenCount": 11}
        })))
        .mount(&stand_in)
        .await;

    let gemini = Gemini::builder()
        .api_base(format!("{}/v1beta", stand_in.uri()))
        .api_key(Secret::new("demo-key"))
        .build()?;

    // The application's router, with the chat edge mounted as one more route.
    let app = Router::new()
        .route("/hello", get(|| async { "the application's own route" }))
        .route_service("/v1/chat/completions", ChatEdge::new(gemini.chat_service()));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    let own = client
        .get(format!("http://{address}/hello"))
        .send()
        .await?
        .text()
        .await?;
    println!("GET /hello -> {own}");
    let reply = client
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
