//! Runs offline: starts an in-process stand-in for Gemini, sends one OpenAI chat request
//! through the whole llm-tower stack, and prints the Gemini request that went out and the
//! OpenAI reply that came back.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use llm_tower::Client;
use llm_tower::Secret;
use llm_tower::gemini::Gemini;
use llm_tower::openai::ChatRequest;
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A stand-in for generativelanguage.googleapis.com, answering as a Gemini 3 model does:
    // it takes `reasoning_effort: low` as `thinkingLevel: low` and signs its text with a
    // thought signature (kept in the reply's `provider_specific_fields`).
    let stand_in = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-3-flash-preview:generateContent"))
        .and(header("x-goog-api-key", "demo-key"))
        .and(body_partial_json(json!({
            "generationConfig": {"thinkingConfig": {"thinkingLevel": "low", "includeThoughts": true}}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "Rust is a systems language that guarantees memory safety without a garbage collector.",
                     "thoughtSignature": "EjQKMgG6yWbEquickstartsignatureAAAA"}
                ]},
                "finishReason": "STOP",
                "index": 0
            }],
            "usageMetadata": {"promptTokenCount": 29, "candidatesTokenCount": 17, "thoughtsTokenCount": 40, "totalTokenCount": 86},
            "modelVersion": "gemini-3-flash-preview",
            "responseId": "quickstart-1"
        })))
        .mount(&stand_in)
        .await;

    // The Gemini provider: a tower stack pointed at the stand-in.
    let gemini = Gemini::builder()
        .api_base(format!("{}/v1beta", stand_in.uri()))
        .api_key(Secret::new("demo-key"))
        .build()?;
    let client = Client::new(gemini.chat_service());

    let request: ChatRequest = serde_json::from_value(json!({
        "model": "gemini-3-flash-preview",
        "messages": [
            {"role": "system", "content": "Be concise."},
            {"role": "user", "content": "What is Rust, in one sentence?"}
        ],
        "temperature": 0.2,
        "max_tokens": 256,
        "reasoning_effort": "low"
    }))?;
    println!(
        "OpenAI request:\n{}\n",
        serde_json::to_string_pretty(&request)?
    );

    let completion = client.chat(request).await?;

    let sent = &stand_in.received_requests().await.unwrap_or_default()[0];
    let body: serde_json::Value = serde_json::from_slice(&sent.body)?;
    println!(
        "Gemini request: POST {}\n{}\n",
        sent.url.path(),
        serde_json::to_string_pretty(&body)?
    );
    println!(
        "OpenAI reply:\n{}",
        serde_json::to_string_pretty(&completion)?
    );
    Ok(())
}
