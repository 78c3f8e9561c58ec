//! Vertex AI with credentials, offline: a local stand-in plays Google's token endpoint and
//! Vertex AI (it checks the refresh-token grant and the `Authorization: Bearer` header),
//! and the provider calls it through `api_base` and the credentials' `token_uri`: two
//! chats and an embeddings request (Vertex's `:predict`) on one cached token.
//!
//! ```text
//! cargo run --example vertex
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use llm_tower::Client;
use llm_tower::openai::{ChatRequest, EmbeddingRequest};
use llm_tower::vertex::{Credentials, Vertex};
use serde_json::{Value, json};

/// How many tokens the stand-in issued.
type Issued = Arc<AtomicUsize>;

/// The token endpoint: a refresh-token grant in, an access token out.
async fn token(State(issued): State<Issued>, body: String) -> (StatusCode, axum::Json<Value>) {
    if !body.contains("grant_type=refresh_token") || !body.contains("refresh_token=1%2F%2Fdemo") {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        );
    }
    issued.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::OK,
        axum::Json(
            json!({"access_token": "ya29.demo", "expires_in": 3599, "token_type": "Bearer"}),
        ),
    )
}

/// A model's method (`{model}:generateContent`, `{model}:predict`): answers only a call
/// with the token, and no API key.
async fn model_call(
    Path(call): Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    let bearer = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    if bearer != Some("Bearer ya29.demo") || headers.contains_key("x-goog-api-key") {
        let error =
            json!({"error": {"code": 401, "message": "no token", "status": "UNAUTHENTICATED"}});
        return (StatusCode::UNAUTHORIZED, axum::Json(error));
    }
    if call.ends_with(":predict") {
        // One vector per instance: its length and its position.
        let predictions: Vec<Value> = body["instances"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(index, instance)| {
                let length = instance["content"].as_str().unwrap_or_default().len();
                json!({"embeddings": {"values": [length, index],
                                      "statistics": {"token_count": 2, "truncated": false}}})
            })
            .collect();
        return (
            StatusCode::OK,
            axum::Json(json!({"predictions": predictions})),
        );
    }
    let question = body["contents"][0]["parts"][0]["text"]
        .as_str()
        .unwrap_or_default();
    (
        StatusCode::OK,
        axum::Json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": format!("Vertex heard: {question}")}]},
                            "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 3, "totalTokenCount": 7}
        })),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issued = Issued::default();
    let stand_in = Router::new()
        .route("/token", post(token))
        .route(
            "/v1/projects/demo-project/locations/europe-west4/publishers/google/models/{call}",
            post(model_call),
        )
        .with_state(issued.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, stand_in).await });

    // What `gcloud auth application-default login` writes, pointed at the stand-in.
    let credentials = Credentials::from_json(
        &json!({
            "type": "authorized_user",
            "client_id": "demo.apps.googleusercontent.com",
            "client_secret": "demo-secret",
            "refresh_token": "1//demo",
            "token_uri": format!("{base}/token"),
        })
        .to_string(),
    )?;
    let vertex = Vertex::builder()
        .credentials(credentials)
        .project("demo-project")
        .location("europe-west4")
        .api_base(&base)
        .build()?;
    let client = Client::from_provider(&vertex);

    for question in ["Hello?", "Still there?"] {
        let request: ChatRequest = serde_json::from_value(json!({
            "model": "gemini-3.8-flash",
            "messages": [{"role": "user", "content": question}],
        }))?;
        let completion = client.chat(request).await?;
        let reply = serde_json::to_value(&completion)?;
        println!("{}", reply["choices"][0]["message"]["content"]);
    }
    let embeddings = client
        .embed(EmbeddingRequest::new(
            "text-embedding-005",
            vec!["first".to_owned(), "second".to_owned()],
        ))
        .await?;
    let embeddings = serde_json::to_value(&embeddings)?;
    println!(
        "embeddings: {} and {} ({} tokens)",
        embeddings["data"][0]["embedding"],
        embeddings["data"][1]["embedding"],
        embeddings["usage"]["prompt_tokens"]
    );
    // Every call used the one cached token.
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    println!("tokens fetched: {}", issued.load(Ordering::SeqCst));
    Ok(())
}
