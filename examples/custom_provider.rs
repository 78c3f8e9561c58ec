//! A provider of your own, written only against the public API: `echo/<model>` answers with
//! the last user message, whole or streamed word by word. A [`Provider`] is a chat service
//! (and, if it has one, an embeddings service); the router, the HTTP edge, legacy
//! completions and the error envelopes come with it. Runs offline.
//!
//! ```text
//! cargo run --example custom_provider
//! ```
//!
//! For a real upstream, see `llm_tower::providers::openai_compatible`: the OpenAI-compatible provider
//! is built the same way, with the shared HTTP transport and SSE decoder.

use futures_util::{StreamExt, stream};
use llm_tower::openai::{ChatRequest, CompletionRequest, Content, Role};
use llm_tower::{ChatResponse, ChatService, Client, Error, ModelRouter, Provider};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Answers with the last user message.
struct Echo;

impl Provider for Echo {
    fn chat_service(&self) -> ChatService {
        ChatService::new(tower::service_fn(|request: ChatRequest| async move {
            let text = request
                .messages
                .iter()
                .rev()
                .find_map(|message| match (&message.role, &message.content) {
                    (Role::User, Some(Content::Text(text))) => Some(text.clone()),
                    _ => None,
                })
                .ok_or_else(|| Error::invalid_param("messages", "echo needs a user message"))?;
            let model = request.model.as_str();
            if !request.is_stream() {
                return Ok(ChatResponse::Completion(typed(json!({
                    "id": "echo-1", "object": "chat.completion", "created": 0, "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
                }))?));
            }
            let chunk = |delta: Value, finish: Option<&str>| {
                typed(json!({
                    "id": "echo-1", "object": "chat.completion.chunk", "created": 0, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
                }))
            };
            let mut chunks: Vec<_> = text
                .split_inclusive(' ')
                .map(|word| chunk(json!({"content": word}), None))
                .collect();
            chunks.push(chunk(json!({}), Some("stop")));
            Ok(ChatResponse::Stream(Box::pin(stream::iter(chunks))))
        }))
    }
}

/// A reply type from its JSON.
fn typed<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|error| Error::invalid_request(error.to_string()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let router = ModelRouter::builder().provider("echo", &Echo).build();
    let client = Client::new(ChatService::new(router));

    let request: ChatRequest = serde_json::from_value(json!({
        "model": "echo/parrot", "messages": [{"role": "user", "content": "Hello from a provider"}]
    }))?;
    let completion = client.chat(request.clone()).await?;
    println!("chat:        {:?}", completion.choices[0].message.content);

    let mut chunks = client.chat_stream(request).await?;
    let mut streamed = String::new();
    while let Some(chunk) = chunks.next().await {
        streamed.extend(
            chunk?
                .choices
                .into_iter()
                .filter_map(|choice| choice.delta.content),
        );
    }
    println!("stream:      {streamed:?}");

    // Legacy completions come with it, over the chat service.
    let text = client
        .complete(CompletionRequest::new("echo/parrot", "Say it again"))
        .await?;
    println!("completions: {:?}", text.choices[0].text);
    Ok(())
}
