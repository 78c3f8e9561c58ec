//! The pass-through translation, as pure functions: the typed request a client sent becomes
//! the JSON body an OpenAI-compatible server takes, as the table in the provider's module
//! docs says.

use crate::credentials::{check_client_credentials, request_key};
use crate::error::Error;
use crate::openai::chat::{JsonSchemaFormat, ReasoningEffort, ResponseFormat, split_thought_id};
use crate::openai::{ChatRequest, Content, EmbeddingRequest};
use crate::upstream::Secret;

/// The provider's name in errors.
const PROVIDER: &str = "openai";

/// How requests are checked.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    /// Drop unsupported params instead of refusing them.
    pub(crate) drop_params: bool,
    /// Accept `api_key` / `api_base` in requests.
    pub(crate) client_credentials: bool,
}

/// A request ready to send: its JSON body and the client's own credentials, if any.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) body: Vec<u8>,
    pub(crate) stream: bool,
    pub(crate) credentials: Option<Credentials>,
    /// The client's request extensions (a [`Deadline`](crate::Deadline) among them), for
    /// the layers at the HTTP level; never a [`Secret`] that came in with them.
    pub(crate) extensions: http::Extensions,
}

/// A client's own key and (optional) endpoint.
#[derive(Debug)]
pub(crate) struct Credentials {
    pub(crate) api_key: Secret,
    pub(crate) api_base: Option<String>,
}

/// The upstream body of a chat request.
pub(crate) fn chat_body(mut request: ChatRequest, options: Options) -> Result<Prepared, Error> {
    let mut extensions = std::mem::take(&mut request.context).into_extensions();
    let (drop, credentials) = own_settings(
        request.drop_params.take(),
        request.api_key.take(),
        request.api_base.take(),
        &mut extensions,
        options,
    )?;
    refuse_or_drop("thinking", request.thinking.take().is_some(), drop)?;
    refuse_or_drop(
        "safety_settings",
        request.safety_settings.take().is_some(),
        drop,
    )?;
    let stream = request.is_stream();
    if !stream {
        request.stream_options = None;
    }
    if let Some(ReasoningEffort::Object { effort }) = request.reasoning_effort.take() {
        request.reasoning_effort = Some(ReasoningEffort::Level(effort));
    }
    if let Some(format) = request.response_format.as_mut() {
        openai_response_format(format);
    }
    for message in &mut request.messages {
        message.cache_control = None;
        message.thinking_blocks = None;
        message.provider_specific_fields = None;
        // Thought signatures are Gemini's, and only Gemini can check them (a request falls
        // back here from a Gemini deployment with its earlier turns): they are not replayed,
        // and the call ids go back to what OpenAI-compatible servers expect.
        for call in message.tool_calls.iter_mut().flatten() {
            call.provider_specific_fields = None;
            strip_thought_signature(&mut call.id);
        }
        if let Some(id) = message.tool_call_id.as_mut() {
            strip_thought_signature(id);
        }
        if let Some(Content::Parts(parts)) = message.content.as_mut() {
            for part in parts {
                part.cache_control = None;
            }
        }
    }
    Ok(Prepared {
        body: encode(&request)?,
        stream,
        credentials,
        extensions,
    })
}

/// Cuts a Gemini thought signature (LiteLLM's `__thought__` suffix) off a tool-call id.
fn strip_thought_signature(id: &mut String) {
    let bare = split_thought_id(id).0.len();
    id.truncate(bare);
}

/// The upstream body of an embeddings request.
pub(crate) fn embeddings_body(
    mut request: EmbeddingRequest,
    options: Options,
) -> Result<Prepared, Error> {
    let mut extensions = std::mem::take(&mut request.context).into_extensions();
    let (drop, credentials) = own_settings(
        request.drop_params.take(),
        request.api_key.take(),
        request.api_base.take(),
        &mut extensions,
        options,
    )?;
    refuse_or_drop("input_type", request.input_type.take().is_some(), drop)?;
    refuse_or_drop("title", request.title.take().is_some(), drop)?;
    request.input.check_len()?;
    Ok(Prepared {
        body: encode(&request)?,
        stream: false,
        credentials,
        extensions,
    })
}

/// `response_format` as OpenAI takes it.
fn openai_response_format(format: &mut ResponseFormat) {
    format.enforce_validation = None;
    if let Some(schema) = format.response_schema.take() {
        format.kind = "json_schema".to_owned();
        format.json_schema.get_or_insert_with(|| JsonSchemaFormat {
            name: Some("response".to_owned()),
            schema: None,
            strict: None,
            extra: Default::default(),
        });
        if let Some(json_schema) = format.json_schema.as_mut() {
            json_schema.schema.get_or_insert(schema);
        }
    }
}

fn refuse_or_drop(param: &str, present: bool, drop: bool) -> Result<(), Error> {
    if present && !drop {
        return Err(Error::unsupported_param(PROVIDER, param));
    }
    Ok(())
}

/// A request's own `drop_params` (else the provider's) and its own credentials, where they
/// are allowed: its body's, else a key among its `extensions` (taken out of them).
fn own_settings(
    drop_params: Option<bool>,
    api_key: Option<Secret>,
    api_base: Option<String>,
    extensions: &mut http::Extensions,
    options: Options,
) -> Result<(bool, Option<Credentials>), Error> {
    check_client_credentials(
        api_key.as_ref(),
        api_base.as_deref(),
        options.client_credentials,
    )?;
    let api_key = request_key(api_key, extensions, options.client_credentials)?;
    let credentials = api_key.map(|api_key| Credentials { api_key, api_base });
    Ok((drop_params.unwrap_or(options.drop_params), credentials))
}

fn encode<T: serde::Serialize>(request: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(request)
        .map_err(|error| Error::invalid_request(format!("cannot encode the request: {error}")))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::ErrorKind;

    fn chat(value: Value) -> ChatRequest {
        serde_json::from_value(value).expect("a chat request")
    }

    fn sent(request: ChatRequest, options: Options) -> Value {
        let prepared = chat_body(request, options).expect("prepared");
        serde_json::from_slice(&prepared.body).expect("JSON")
    }

    #[test]
    fn an_openai_request_goes_through_unchanged() {
        let request = json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
            "temperature": 0.2,
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": "auto",
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}, "strict": true}},
            "top_k": 4
        });
        assert_eq!(sent(chat(request.clone()), Options::default()), request);
    }

    #[test]
    fn litellm_and_anthropic_additions_are_taken_out() {
        let request = chat(json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "Long", "cache_control": {"type": "ephemeral"}}]},
                {"role": "user", "content": "Hi", "cache_control": {"type": "ephemeral"}}
            ],
            "stream_options": {"include_usage": true},
            "reasoning_effort": {"effort": "low"},
            "response_format": {"type": "json_object", "response_schema": {"type": "object"}, "enforce_validation": true},
            "drop_params": false
        }));
        assert_eq!(
            sent(request, Options::default()),
            json!({
                "model": "m",
                "messages": [
                    {"role": "system", "content": [{"type": "text", "text": "Long"}]},
                    {"role": "user", "content": "Hi"}
                ],
                "response_format": {"type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}},
                "reasoning_effort": "low"
            })
        );
    }

    #[test]
    fn gemini_thought_signatures_are_not_replayed() {
        let request = chat(json!({
            "model": "m",
            "messages": [
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": null, "tool_calls": [{
                    "id": "call_1__thought__c2lnbmF0dXJl", "type": "function",
                    "function": {"name": "weather", "arguments": "{}"},
                    "provider_specific_fields": {"thought_signature": "c2lnbmF0dXJl"}
                }]},
                {"role": "tool", "tool_call_id": "call_1__thought__c2lnbmF0dXJl", "content": "Sunny"}
            ]
        }));
        let body = sent(request, Options::default());
        assert_eq!(body["messages"][1]["tool_calls"][0]["id"], "call_1");
        assert!(
            body["messages"][1]["tool_calls"][0]
                .get("provider_specific_fields")
                .is_none()
        );
        assert_eq!(body["messages"][2]["tool_call_id"], "call_1");
    }

    #[test]
    fn gemini_params_are_refused_by_name_or_dropped() {
        let request = chat(
            json!({"model": "m", "messages": [], "thinking": {"type": "enabled", "budget_tokens": 1024}}),
        );
        let error = chat_body(request.clone(), Options::default()).expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::UnsupportedParams);
        assert_eq!(error.param(), Some("thinking"));
        assert!(error.message().contains("openai"), "{}", error.message());
        let options = Options {
            drop_params: true,
            ..Options::default()
        };
        assert_eq!(
            sent(request, options),
            json!({"model": "m", "messages": []})
        );
    }

    #[test]
    fn client_credentials_are_refused_unless_allowed_and_never_sent() {
        let request = chat(json!({"model": "m", "messages": [], "api_key": "sk-client"}));
        let error = chat_body(request.clone(), Options::default()).expect_err("refused");
        assert_eq!(error.param(), Some("api_key"));
        let allowed = Options {
            client_credentials: true,
            ..Options::default()
        };
        let prepared = chat_body(request, allowed).expect("allowed");
        assert_eq!(
            prepared.credentials.as_ref().map(|c| c.api_key.expose()),
            Some("sk-client")
        );
        assert!(!String::from_utf8_lossy(&prepared.body).contains("sk-client"));
        let base_only = chat(json!({"model": "m", "messages": [], "api_base": "http://elsewhere"}));
        let error = chat_body(base_only, allowed).expect_err("a base needs its own key");
        assert_eq!(error.param(), Some("api_base"));
    }

    #[test]
    fn embeddings_refuse_gemini_params_and_keep_openai_ones() {
        let request: EmbeddingRequest = serde_json::from_value(json!({
            "model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 256, "encoding_format": "base64", "input_type": "RETRIEVAL_QUERY"
        }))
        .expect("request");
        let error = embeddings_body(request.clone(), Options::default()).expect_err("refused");
        assert_eq!(error.param(), Some("input_type"));
        let options = Options {
            drop_params: true,
            ..Options::default()
        };
        let prepared = embeddings_body(request, options).expect("dropped");
        let body: Value = serde_json::from_slice(&prepared.body).expect("JSON");
        assert_eq!(
            body,
            json!({"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 256})
        );
    }
}
