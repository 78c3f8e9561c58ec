use std::sync::Arc;

use jsonschema::Validator;

use super::stream::ValidatedStream;
use super::*;
use crate::error::ErrorKind;
use crate::openai::chunk::{ChunkChoice, Delta};
use crate::openai::{ChatCompletion, ChatCompletionChunk};
use crate::provider::ChunkStream;
use futures_util::StreamExt;
use serde_json::json;
use tower::ServiceExt;

fn chunk(content: Option<&str>, finish: Option<&str>) -> ChatCompletionChunk {
    ChatCompletionChunk {
        id: "c".to_owned(),
        object: "chat.completion.chunk".to_owned(),
        created: 1,
        model: "m".to_owned(),
        choices: vec![ChunkChoice {
            index: 0,
            delta: Delta {
                content: content.map(str::to_owned),
                ..Delta::default()
            },
            finish_reason: finish.map(str::to_owned),
            logprobs: None,
            provider_specific_fields: None,
        }],
        usage: None,
        vertex_ai_grounding_metadata: None,
        vertex_ai_url_context_metadata: None,
        vertex_ai_safety_results: None,
        vertex_ai_citation_metadata: None,
    }
}

fn validator(schema: Value) -> Arc<Validator> {
    Arc::new(jsonschema::validator_for(&schema).expect("schema compiles"))
}

async fn drain(stream: ValidatedStream) -> Vec<Result<ChatCompletionChunk, Error>> {
    stream.collect().await
}

#[tokio::test]
async fn finish_chunks_are_held_until_the_content_validates() {
    let chunks = vec![
        Ok(chunk(Some("{\"a\":"), None)),
        Ok(chunk(Some("1}"), None)),
        Ok(chunk(None, Some("stop"))),
    ];
    let inner: ChunkStream = Box::pin(futures_util::stream::iter(chunks.clone()));
    let schema = json!({"type": "object", "required": ["a"]});
    let items = drain(ValidatedStream::new(inner, validator(schema.clone()), 1024)).await;
    let items: Vec<_> = items.into_iter().map(Result::unwrap).collect();
    let expected: Vec<_> = chunks.into_iter().map(Result::unwrap).collect();
    assert_eq!(items, expected);

    let bad = vec![
        Ok(chunk(Some("{\"b\":1}"), None)),
        Ok(chunk(None, Some("stop"))),
    ];
    let inner: ChunkStream = Box::pin(futures_util::stream::iter(bad));
    let items = drain(ValidatedStream::new(inner, validator(schema), 1024)).await;
    assert_eq!(items.len(), 2, "the content chunk, then the error");
    assert!(items[0].is_ok());
    let error = items[1].as_ref().unwrap_err();
    assert_eq!(
        error.message(),
        "JSONSchemaValidationError: (root): \"a\" is a required property"
    );
    assert_eq!(error.raw_response(), Some("{\"b\":1}"));
}

#[tokio::test]
async fn streamed_content_is_bounded() {
    let chunks = vec![
        Ok(chunk(Some("[1,2,3,"), None)),
        Ok(chunk(Some("4,5,6]"), None)),
        Ok(chunk(None, Some("stop"))),
    ];
    let inner: ChunkStream = Box::pin(futures_util::stream::iter(chunks));
    let items = drain(ValidatedStream::new(inner, validator(json!(true)), 10)).await;
    assert_eq!(items.len(), 2);
    let error = items[1].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::JsonSchemaValidation);
    assert!(error.message().contains("longer than 10 bytes"), "{error}");
}

#[tokio::test]
async fn an_inner_error_passes_through() {
    let chunks = vec![
        Ok(chunk(Some("{"), None)),
        Err(Error::new(ErrorKind::ServiceUnavailable, "overloaded")),
    ];
    let inner: ChunkStream = Box::pin(futures_util::stream::iter(chunks));
    let items = drain(ValidatedStream::new(inner, validator(json!(true)), 1024)).await;
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[1].as_ref().unwrap_err().kind(),
        ErrorKind::ServiceUnavailable
    );
}

#[test]
fn cache_reuses_and_stays_bounded() {
    // Room for about three small schemas (a kilobyte of bookkeeping each, and 16 bytes
    // per byte of text).
    let cache = ValidatorCache::new(3 * 1600);
    let a = cache.get_or_compile(&json!({"type": "string"})).unwrap();
    let again = cache.get_or_compile(&json!({"type": "string"})).unwrap();
    assert!(Arc::ptr_eq(&a, &again));
    cache.get_or_compile(&json!({"type": "number"})).unwrap();
    assert_eq!(cache.len(), 2);
    let shared = cache.clone();
    shared.get_or_compile(&json!({"type": "null"})).unwrap();
    assert_eq!(cache.len(), 3, "clones share entries");
    for n in 0..50 {
        cache
            .get_or_compile(&json!({"type": "integer", "minimum": n}))
            .unwrap();
    }
    assert!(cache.len() <= 3, "{}", cache.len());
    // A schema larger than the whole bound still compiles.
    let large = json!({"enum": (0..2000).collect::<Vec<_>>()});
    assert!(cache.get_or_compile(&large).unwrap().is_valid(&json!(7)));
    assert!(cache.len() <= 3);
}

#[test]
fn distinct_large_schemas_are_compiled_but_never_kept() {
    let cache = ValidatorCache::new(16 * 1024 * 1024);
    // Twenty distinct schemas of about 200 KB of text: each weighs more than the 2 MiB
    // per-entry limit.
    let mut first = None;
    for n in 0..20 {
        let schema = json!({"enum": [n, "x".repeat(200 * 1024)]});
        let validator = cache.get_or_compile(&schema).unwrap();
        assert!(validator.is_valid(&json!(n)));
        // Compiled anew each time: nothing was kept to hand back.
        let again = cache.get_or_compile(&schema).unwrap();
        assert!(!Arc::ptr_eq(&validator, &again));
        first.get_or_insert(validator);
    }
    assert!(cache.is_empty());
    // A small schema is still kept.
    let small = json!({"type": "string"});
    let kept = cache.get_or_compile(&small).unwrap();
    assert!(Arc::ptr_eq(&kept, &cache.get_or_compile(&small).unwrap()));
}

#[test]
fn several_errors_are_listed_and_long_ones_cut() {
    let schema = json!({
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"},
                       "c": {"type": "string"}, "d": {"type": "string"}}
    });
    let validator = validator(schema);
    let error = validate_json(&validator, r#"{"a":1,"b":2,"c":3,"d":4}"#).unwrap_err();
    assert_eq!(error.message().matches(" is not of type ").count(), 3);
    assert!(error.message().ends_with("; and more"), "{error}");

    let long = format!("\"{}\"", "x".repeat(1000));
    let error = validate_json(&self::validator(json!({"type": "number"})), &long).unwrap_err();
    assert!(error.message().chars().count() < 400, "{error}");
}

#[tokio::test]
async fn tool_call_choices_are_not_validated() {
    let completion: ChatCompletion = serde_json::from_value(json!({
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function",
                            "function": {"name": "f", "arguments": "{}"}}]
        }}]
    }))
    .unwrap();
    let inner = tower::service_fn(move |_: ChatRequest| {
        let completion = completion.clone();
        async move { Ok::<_, Error>(ChatResponse::Completion(completion)) }
    });
    let request: ChatRequest = serde_json::from_value(json!({
        "model": "m", "messages": [{"role": "user", "content": "Hi"}],
        "response_format": {"type": "json_object", "enforce_validation": true}
    }))
    .unwrap();
    let reply = SchemaValidation::new(inner).oneshot(request).await;
    assert!(matches!(reply, Ok(ChatResponse::Completion(_))));
}
