//! Stacks tower's and tower-http's own middleware into the Gemini provider at the HTTP
//! level, between the API-key layer and the connection pool: a `TraceLayer` (a span and
//! events per upstream call), a per-attempt `TimeoutLayer`, a `LoadShedLayer` that answers
//! 503 at once instead of queueing, and a `ConcurrencyLimitLayer` of four calls in flight.
//! The provider's own retry sits above them, so each attempt passes through all four.
//!
//! Runs offline against an in-process stand-in for Gemini, prints the reply and what a
//! call that takes too long becomes, and exits.
//!
//! ```text
//! RUST_LOG=tower_http=debug cargo run --example tower_stack
//! ```

use std::time::Duration;

use llm_tower::gemini::Gemini;
use llm_tower::openai::ChatRequest;
use llm_tower::upstream::RetryPolicy;
use llm_tower::{Client, Secret};
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tower_http=debug".into()),
        )
        .init();

    let stand_in = MockServer::start().await;
    let generate = "/v1beta/models/gemini-3-flash-preview:generateContent";
    // A question about the weather takes three seconds to answer; anything else is quick.
    Mock::given(method("POST"))
        .and(path(generate))
        .and(body_string_contains("weather"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&stand_in)
        .await;
    Mock::given(method("POST"))
        .and(path(generate))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello through tower's own layers."}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 6, "totalTokenCount": 10}
        })))
        .mount(&stand_in)
        .await;

    let gemini = Gemini::builder()
        .api_base(format!("{}/v1beta", stand_in.uri()))
        .api_key(Secret::new("demo-key"))
        .retry(RetryPolicy::new(1))
        .http_layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .timeout(Duration::from_millis(500))
                .load_shed()
                .concurrency_limit(4),
        )
        .build()?;
    let client = Client::from_provider(&gemini);

    let ask = |question: &str| -> Result<ChatRequest, serde_json::Error> {
        serde_json::from_value(json!({
            "model": "gemini-3-flash-preview",
            "messages": [{"role": "user", "content": question}],
        }))
    };
    let reply = client.chat(ask("Say hello")?).await?;
    println!(
        "reply: {}",
        reply.choices[0]
            .message
            .content
            .as_deref()
            .unwrap_or_default()
    );

    let slow = client.chat(ask("What is the weather?")?).await;
    match slow {
        Err(error) => println!("slow call: {} {}", error.status(), error.message()),
        Ok(_) => return Err("the slow call should have timed out".into()),
    }
    Ok(())
}
