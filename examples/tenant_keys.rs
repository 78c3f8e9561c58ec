//! One Gemini key per tenant: an axum middleware of the application looks the caller's
//! tenant up (here from an `x-tenant` header; in an application, from its own auth) and
//! puts that tenant's key into the request's extensions as a [`Secret`]. The chat edge
//! hands the extensions to the stack with the request, and the Gemini provider, built to
//! accept client credentials, sends that key upstream. Requests of an unknown tenant never
//! reach the stack.
//!
//! Runs offline against an in-process stand-in for Gemini that answers each key with its
//! own reply, sends one request per tenant through the server, prints the replies and exits.
//!
//! ```text
//! cargo run --example tenant_keys
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use llm_tower::edge::{ChatEdge, error_response};
use llm_tower::gemini::Gemini;
use llm_tower::{Error, ErrorKind, Secret};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The application's tenants and their Gemini keys.
type Tenants = Arc<HashMap<&'static str, Secret>>;

/// Puts the caller's tenant key into the request's extensions, or answers 401.
async fn tenant_key(State(tenants): State<Tenants>, mut request: Request, next: Next) -> Response {
    let tenant = request
        .headers()
        .get("x-tenant")
        .and_then(|value| value.to_str().ok());
    match tenant.and_then(|tenant| tenants.get(tenant)) {
        Some(key) => {
            request.extensions_mut().insert(key.clone());
            next.run(request).await
        }
        None => {
            error_response(&Error::new(ErrorKind::Authentication, "unknown tenant")).into_response()
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let stand_in = MockServer::start().await;
    for (key, text) in [
        ("key-of-acme", "Hello, Acme."),
        ("key-of-globex", "Hello, Globex."),
    ] {
        Mock::given(method("POST"))
            .and(path("/v1beta/models/gemini-3-flash-preview:generateContent"))
            .and(header("x-goog-api-key", key))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 3, "totalTokenCount": 6}
            })))
            .mount(&stand_in)
            .await;
    }

    let tenants: Tenants = Arc::new(HashMap::from([
        ("acme", Secret::new("key-of-acme")),
        ("globex", Secret::new("key-of-globex")),
    ]));
    // No key of its own: every request brings its tenant's.
    let gemini = Gemini::builder()
        .api_base(format!("{}/v1beta", stand_in.uri()))
        .client_credentials(true)
        .build()?;

    let app = Router::new()
        .route_service("/v1/chat/completions", ChatEdge::new(gemini.chat_service()))
        .layer(middleware::from_fn_with_state(tenants, tenant_key));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    for tenant in ["acme", "globex", "initech"] {
        let response = client
            .post(format!("http://{address}/v1/chat/completions"))
            .header("x-tenant", tenant)
            .header("content-type", "application/json")
            .body(
                json!({"model": "gemini-3-flash-preview", "messages": [{"role": "user", "content": "Hi"}]})
                    .to_string(),
            )
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = serde_json::from_str(&response.text().await?)?;
        let said = body["choices"][0]["message"]["content"]
            .as_str()
            .or(body["error"]["message"].as_str())
            .unwrap_or_default();
        println!("{tenant}: {status} {said}");
    }
    Ok(())
}
