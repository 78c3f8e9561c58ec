//! Registers a second, real provider beside Gemini and routes between them by prefix:
//! `gemini/<model>` goes to the Gemini stack, `openai/<model>` to an OpenAI-compatible
//! upstream (any server that speaks `/chat/completions`: vLLM, Ollama, OpenAI itself).
//! Runs offline against two in-process stand-ins and prints both replies.
//!
//! ```text
//! cargo run --example custom_provider
//! ```

use llm_tower::Secret;
use llm_tower::gemini::Gemini;
use llm_tower::openai::{ChatCompletion, ChatRequest};
use llm_tower::{ChatResponse, ChatService, Client, Error, ErrorKind, Provider, Router};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An OpenAI-compatible upstream: the request is forwarded as it came (the model without
/// its prefix), and the reply is read as a `chat.completion`. Streaming is left out to
/// keep the example short; it answers a clear 400 instead.
struct OpenAiCompatible {
    client: reqwest::Client,
    base_url: String,
    api_key: String,
}

impl Provider for OpenAiCompatible {
    fn chat_service(&self) -> ChatService {
        let client = self.client.clone();
        let url = format!("{}/chat/completions", self.base_url);
        let key = self.api_key.clone();
        ChatService::new(tower::service_fn(move |request: ChatRequest| {
            let (client, url, key) = (client.clone(), url.clone(), key.clone());
            async move {
                if request.is_stream() {
                    return Err(Error::invalid_param(
                        "stream",
                        "this example provider does not stream",
                    ));
                }
                let body = serde_json::to_vec(&request)
                    .map_err(|e| Error::invalid_request(e.to_string()))?;
                let upstream = |e: reqwest::Error| {
                    Error::new(ErrorKind::ServiceUnavailable, e.without_url().to_string())
                };
                let response = client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(upstream)?;
                let status = response.status();
                let bytes = response.bytes().await.map_err(upstream)?;
                if !status.is_success() {
                    return Err(Error::new(
                        ErrorKind::Api,
                        format!("upstream answered {status}"),
                    ));
                }
                let completion: ChatCompletion = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::new(
                        ErrorKind::BadGateway,
                        format!("malformed upstream reply: {e}"),
                    )
                })?;
                Ok(ChatResponse::Completion(completion))
            }
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gemini_stand_in = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Gemini here."}]}, "finishReason": "STOP"}]
        })))
        .mount(&gemini_stand_in)
        .await;
    let openai_stand_in = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer local-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-local", "object": "chat.completion", "created": 1_700_000_000, "model": "llama-3.1-8b",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "A local model here."}, "finish_reason": "stop"}]
        })))
        .mount(&openai_stand_in)
        .await;

    let gemini = Gemini::builder()
        .api_base(format!("{}/v1beta", gemini_stand_in.uri()))
        .api_key(Secret::new("demo-key"))
        .build()?;
    let local = OpenAiCompatible {
        client: reqwest::Client::new(),
        base_url: format!("{}/v1", openai_stand_in.uri()),
        api_key: "local-key".to_owned(),
    };
    let router = Router::builder()
        .provider("gemini", &gemini)
        .provider("openai", &local)
        .build();
    let client = Client::new(ChatService::new(router));

    for model in ["gemini/gemini-2.5-flash", "openai/llama-3.1-8b"] {
        let request: ChatRequest = serde_json::from_value(
            json!({"model": model, "messages": [{"role": "user", "content": "Who are you?"}]}),
        )?;
        let completion = client.chat(request).await?;
        println!("{model} -> {:?}", completion.choices[0].message.content);
    }
    Ok(())
}
