//! Structured output through the real provider stack and a wiremock stand-in for Gemini:
//! every `response_format` form and the exact `generationConfig` it sends, the schema form
//! chosen per model, and `enforce_validation` (non-streaming and streaming), as a Rust
//! client and as an HTTP client of the edge sees it.

mod common;

use bytes::Bytes;
use common::{StandIn, body_bytes, chat, exchange};
use futures_util::StreamExt;
use http_body_util::Full;
use llm_tower::ErrorKind;
use llm_tower::edge::ChatEdge;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The schema of recorded exchange 03 (nested object via `$defs`, array, optional note),
/// as the rig client sent it to gemini-2.5-flash.
fn event_schema() -> Value {
    let (request, _) = exchange(
        "03-generate-behaviors--structured-output-nested-arrays-and-optional-fields.json",
        0,
    );
    request["body"]["generationConfig"]["responseJsonSchema"].clone()
}

/// The schema of recorded exchange 04 (flat object of three strings).
fn smoke_schema() -> Value {
    let (request, _) = exchange("04-structured-output--structured-output-smoke.json", 0);
    request["body"]["generationConfig"]["responseJsonSchema"].clone()
}

/// A schema the brief's example error is about.
fn order_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
                    "required": ["name", "price"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["items"]
    })
}

/// A `generateContent` reply whose one candidate says `text`.
fn text_reply(text: &str) -> Value {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": [{"text": text}]},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-1"
    })
}

/// An SSE body as Gemini sends it (`data: {json}\r\n\r\n` per event): one event per piece of
/// text, the last one with `finishReason: STOP`.
fn sse_reply(pieces: &[&str]) -> String {
    let mut body = String::new();
    for (position, piece) in pieces.iter().enumerate() {
        let mut candidate = json!({
            "content": {"role": "model", "parts": [{"text": piece}]},
            "index": 0
        });
        if position + 1 == pieces.len() {
            candidate["finishReason"] = json!("STOP");
        }
        let event = json!({
            "candidates": [candidate],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": position + 1,
                              "totalTokenCount": 11 + position},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "resp-stream"
        });
        body.push_str(&format!("data: {event}\r\n\r\n"));
    }
    body
}

fn request(model: &str, response_format: Value) -> llm_tower::openai::ChatRequest {
    chat(json!({
        "model": model,
        "messages": [{"role": "user", "content": "Return the record."}],
        "response_format": response_format
    }))
}

/// POSTs `body` to the edge over the stand-in's stack: `(status, body text)`.
async fn edge_post(stand_in: &StandIn, body: Value) -> (u16, String) {
    let edge = ChatEdge::new(stand_in.gemini.chat_service());
    let request = http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    let response = edge.oneshot(request).await.expect("the edge never fails");
    let status = response.status().as_u16();
    let bytes = body_bytes(response).await;
    (status, String::from_utf8(bytes.to_vec()).expect("UTF-8"))
}

// --- request side: every form, the exact generationConfig ---------------------------------

#[tokio::test]
async fn text_sends_text_plain() {
    let stand_in = StandIn::start().await;
    stand_in
        .reply_json("gemini-2.5-flash", 200, &text_reply("plain words"))
        .await;
    let completion = stand_in
        .client()
        .chat(request("gemini-2.5-flash", json!({"type": "text"})))
        .await
        .expect("reply");
    assert_eq!(
        completion.choices[0].message.content.as_deref(),
        Some("plain words")
    );
    let body = stand_in.received_body().await;
    assert_eq!(
        body["generationConfig"],
        json!({"responseMimeType": "text/plain"})
    );
}

#[tokio::test]
async fn json_object_sends_only_the_mime_type() {
    let stand_in = StandIn::start().await;
    stand_in
        .reply_json("gemini-2.5-flash", 200, &text_reply(r#"{"ok":true}"#))
        .await;
    stand_in
        .client()
        .chat(request("gemini-2.5-flash", json!({"type": "json_object"})))
        .await
        .expect("reply");
    let body = stand_in.received_body().await;
    assert_eq!(
        body["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
}

#[tokio::test]
async fn litellm_response_schema_on_2_5_goes_as_response_json_schema() {
    let stand_in = StandIn::start().await;
    let (_, recorded) = exchange(
        "03-generate-behaviors--structured-output-nested-arrays-and-optional-fields.json",
        0,
    );
    stand_in
        .reply_json("gemini-2.5-flash", 200, &recorded["body"])
        .await;
    let completion = stand_in
        .client()
        .chat(request(
            "gemini-2.5-flash",
            json!({"type": "json_object", "response_schema": event_schema()}),
        ))
        .await
        .expect("reply");
    assert_eq!(
        completion.choices[0].message.content.as_deref(),
        Some(
            r#"{"title":"Rust Seattle June","location":{"city":"Seattle","venue":"Fremont Hall"},"attendees":["Alice","Bob"],"note":""}"#
        )
    );
    let body = stand_in.received_body().await;
    // The recorded schema minus `$schema`: `$defs` and `$ref` stay (Gemini resolves them).
    assert_eq!(
        body["generationConfig"],
        json!({
            "responseMimeType": "application/json",
            "responseJsonSchema": {
                "$defs": {"EventLocation": {
                    "properties": {"city": {"type": "string"}, "venue": {"type": "string"}},
                    "required": ["city", "venue"],
                    "type": "object"
                }},
                "properties": {
                    "attendees": {"items": {"type": "string"}, "type": "array"},
                    "location": {"$ref": "#/$defs/EventLocation"},
                    "note": {"type": "string"},
                    "title": {"type": "string"}
                },
                "required": ["title", "location", "attendees", "note"],
                "title": "EventRecord",
                "type": "object"
            }
        })
    );
}

#[tokio::test]
async fn openai_json_schema_on_2_5_goes_as_response_json_schema_without_strict() {
    let stand_in = StandIn::start().await;
    stand_in
        .reply_json("gemini-2.5-flash", 200, &text_reply(r#"{"items":[]}"#))
        .await;
    let mut schema = order_schema();
    schema["strict"] = json!(true);
    schema["additionalProperties"] = json!(false);
    stand_in
        .client()
        .chat(request(
            "gemini-2.5-flash",
            json!({"type": "json_schema",
                   "json_schema": {"name": "order", "schema": schema, "strict": true}}),
        ))
        .await
        .expect("reply");
    let body = stand_in.received_body().await;
    let mut expected = order_schema();
    expected["additionalProperties"] = json!(false);
    assert_eq!(
        body["generationConfig"],
        json!({"responseMimeType": "application/json", "responseJsonSchema": expected})
    );
}

#[tokio::test]
async fn openai_json_schema_on_gemini_3_goes_as_response_json_schema() {
    // LiteLLM's regex sends `gemini-3-…` (no minor version) the OpenAPI subset; the recorded
    // exchange shows gemini-3-flash-preview accepting responseJsonSchema.
    let stand_in = StandIn::start().await;
    let (_, recorded) = exchange("04-structured-output--structured-output-smoke.json", 0);
    stand_in
        .reply_json("gemini-3-flash-preview", 200, &recorded["body"])
        .await;
    let completion = stand_in
        .client()
        .chat(request(
            "gemini-3-flash-preview",
            json!({"type": "json_schema",
                   "json_schema": {"name": "smoke", "schema": smoke_schema(), "strict": true},
                   "enforce_validation": true}),
        ))
        .await
        .expect("the recorded reply matches its schema");
    let content: Value =
        serde_json::from_str(completion.choices[0].message.content.as_deref().unwrap()).unwrap();
    assert_eq!(content["title"], "Seattle Rust User Group Meetup");
    let body = stand_in.received_body().await;
    assert_eq!(
        body["generationConfig"],
        json!({
            "responseMimeType": "application/json",
            "responseJsonSchema": {
                "properties": {
                    "category": {"type": "string"},
                    "summary": {"type": "string"},
                    "title": {"type": "string"}
                },
                "required": ["title", "category", "summary"],
                "title": "SmokeStructuredOutput",
                "type": "object"
            }
        })
    );
}

#[tokio::test]
async fn openai_json_schema_on_2_0_goes_as_the_openapi_subset() {
    let stand_in = StandIn::start().await;
    stand_in
        .reply_json(
            "gemini-2.0-flash",
            200,
            &text_reply(r#"{"items":[{"name":"pen","price":1.5}]}"#),
        )
        .await;
    let mut schema = order_schema();
    schema["additionalProperties"] = json!(false);
    stand_in
        .client()
        .chat(request(
            "gemini-2.0-flash",
            json!({"type": "json_schema",
                   "json_schema": {"name": "order", "schema": schema, "strict": true}}),
        ))
        .await
        .expect("reply");
    let body = stand_in.received_body().await;
    let config = &body["generationConfig"];
    assert_eq!(
        *config,
        json!({
            "responseMimeType": "application/json",
            "responseSchema": {
                "type": "OBJECT",
                "properties": {
                    "items": {
                        "type": "ARRAY",
                        "items": {
                            "type": "OBJECT",
                            "properties": {"name": {"type": "STRING"}, "price": {"type": "NUMBER"}},
                            "required": ["name", "price"],
                            "propertyOrdering": ["name", "price"]
                        }
                    }
                },
                "required": ["items"],
                "propertyOrdering": ["items"]
            }
        })
    );
    assert!(config.get("responseJsonSchema").is_none());
}

#[tokio::test]
async fn nested_defs_schema_on_2_0_is_inlined_with_property_ordering() {
    let stand_in = StandIn::start().await;
    stand_in
        .reply_json("gemini-2.0-flash", 200, &text_reply("{}"))
        .await;
    stand_in
        .client()
        .chat(request(
            "gemini-2.0-flash",
            json!({"type": "json_object", "response_schema": event_schema()}),
        ))
        .await
        .expect("reply");
    let body = stand_in.received_body().await;
    assert_eq!(
        body["generationConfig"]["responseSchema"],
        json!({
            "type": "OBJECT",
            "title": "EventRecord",
            "properties": {
                "attendees": {"type": "ARRAY", "items": {"type": "STRING"}},
                "location": {
                    "type": "OBJECT",
                    "properties": {"city": {"type": "STRING"}, "venue": {"type": "STRING"}},
                    "required": ["city", "venue"],
                    "propertyOrdering": ["city", "venue"]
                },
                "note": {"type": "STRING"},
                "title": {"type": "STRING"}
            },
            "required": ["title", "location", "attendees", "note"],
            "propertyOrdering": ["attendees", "location", "note", "title"]
        })
    );
}

#[tokio::test]
async fn json_schema_without_a_schema_is_a_400() {
    let stand_in = StandIn::start().await;
    let error = stand_in
        .client()
        .chat(request(
            "gemini-2.5-flash",
            json!({"type": "json_schema", "json_schema": {"name": "x"}}),
        ))
        .await
        .unwrap_err();
    assert_eq!(error.status(), 400);
    assert_eq!(error.param(), Some("response_format"));
    assert!(stand_in.received_bodies().await.is_empty());
}

// --- bad schemas: 400 before anything goes upstream -----------------------------------------

#[tokio::test]
async fn invalid_schema_with_enforce_validation_is_a_400_naming_it() {
    let stand_in = StandIn::start().await;
    let format = json!({
        "type": "json_object",
        "response_schema": {"type": "object", "properties": {"price": {"type": "money"}}},
        "enforce_validation": true
    });
    let error = stand_in
        .client()
        .chat(request("gemini-2.5-flash", format.clone()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(error.param(), Some("response_format"));
    assert!(
        error
            .message()
            .starts_with("response_format schema: invalid schema at #/properties/price/type: "),
        "{error}"
    );
    assert!(error.message().contains("\"money\""), "{error}");

    let (status, body) = edge_post(
        &stand_in,
        json!({"model": "gemini-2.5-flash",
               "messages": [{"role": "user", "content": "Hi"}],
               "response_format": format}),
    )
    .await;
    assert_eq!(status, 400);
    let envelope: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(envelope["error"]["type"], "invalid_request_error");
    assert_eq!(envelope["error"]["param"], "response_format");
    assert!(
        envelope["error"]["message"]
            .as_str()
            .unwrap()
            .contains("#/properties/price/type")
    );
    assert!(
        stand_in.received_bodies().await.is_empty(),
        "nothing is sent upstream"
    );
}

#[tokio::test]
async fn external_ref_with_enforce_validation_is_a_400_and_never_fetched() {
    let stand_in = StandIn::start().await;
    let error = stand_in
        .client()
        .chat(request(
            "gemini-2.5-flash",
            json!({"type": "json_object",
                   "response_schema": {"$ref": format!("{}/schema.json", stand_in.server.uri())},
                   "enforce_validation": true}),
        ))
        .await
        .unwrap_err();
    assert_eq!(error.status(), 400);
    assert_eq!(error.param(), Some("response_format"));
    assert!(
        stand_in
            .server
            .received_requests()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn recursive_schema_is_a_400_on_2_0_and_sent_as_is_on_2_5() {
    let tree = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#"}}
        },
        "required": ["name"]
    });
    let stand_in = StandIn::start().await;
    let error = stand_in
        .client()
        .chat(request(
            "gemini-2.0-flash",
            json!({"type": "json_schema", "json_schema": {"name": "tree", "schema": tree}}),
        ))
        .await
        .unwrap_err();
    assert_eq!(error.status(), 400);
    assert_eq!(error.param(), Some("response_format"));
    assert!(
        error.message().contains("#/properties/children/items"),
        "{error}"
    );
    assert!(stand_in.received_bodies().await.is_empty());

    // gemini-2.5 takes the recursion as JSON Schema; the reply is validated recursively.
    let reply = r#"{"name":"root","children":[{"name":"leaf","children":[{"name":7}]}]}"#;
    stand_in
        .reply_json("gemini-2.5-flash", 200, &text_reply(reply))
        .await;
    let error = stand_in
        .client()
        .chat(request(
            "gemini-2.5-flash",
            json!({"type": "json_schema",
                   "json_schema": {"name": "tree", "schema": tree},
                   "enforce_validation": true}),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        error.message(),
        r#"JSONSchemaValidationError: /children/0/children/0/name: 7 is not of type "string""#
    );
    let body = stand_in.received_body().await;
    assert_eq!(body["generationConfig"]["responseJsonSchema"], tree);
}

// --- enforce_validation, non-streaming -------------------------------------------------------

#[tokio::test]
async fn enforce_validation_passes_the_recorded_nested_reply() {
    let stand_in = StandIn::start().await;
    let (_, recorded) = exchange(
        "03-generate-behaviors--structured-output-nested-arrays-and-optional-fields.json",
        0,
    );
    stand_in
        .reply_json("gemini-2.5-flash", 200, &recorded["body"])
        .await;
    let completion = stand_in
        .client()
        .chat(request(
            "gemini-2.5-flash",
            json!({"type": "json_object", "response_schema": event_schema(),
                   "enforce_validation": true}),
        ))
        .await
        .expect("the recorded reply matches its schema");
    assert_eq!(completion.choices[0].finish_reason.as_deref(), Some("stop"));
    // enforce_validation itself is not sent upstream.
    let body = stand_in.received_body().await;
    assert!(!body.to_string().contains("enforce"));
}

#[tokio::test]
async fn enforce_validation_failure_is_a_500_with_path_and_raw_response() {
    let stand_in = StandIn::start().await;
    let text = r#"{"items":[{"name":"pen","price":"ten"}]}"#;
    stand_in
        .reply_json("gemini-2.5-flash", 200, &text_reply(text))
        .await;
    let format = json!({"type": "json_object", "response_schema": order_schema(),
                        "enforce_validation": true});
    let error = stand_in
        .client()
        .chat(request("gemini-2.5-flash", format.clone()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::JsonSchemaValidation);
    assert_eq!(
        error.message(),
        r#"JSONSchemaValidationError: /items/0/price: "ten" is not of type "number""#
    );
    assert_eq!(error.raw_response(), Some(text));

    let (status, body) = edge_post(
        &stand_in,
        json!({"model": "gemini-2.5-flash",
               "messages": [{"role": "user", "content": "Order a pen."}],
               "response_format": format}),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"error": {
            "message": r#"JSONSchemaValidationError: /items/0/price: "ten" is not of type "number""#,
            "type": "api_error",
            "param": null,
            "code": "JSONSchemaValidationError",
            "raw_response": text
        }})
    );
}

#[tokio::test]
async fn enforce_validation_against_the_original_schema_on_2_0() {
    // The OpenAPI subset sent to gemini-2.0 has no additionalProperties; the check still
    // holds the reply to the schema the client wrote.
    let stand_in = StandIn::start().await;
    let text = r#"{"items":[{"name":"pen","price":1,"colour":"red"}]}"#;
    stand_in
        .reply_json("gemini-2.0-flash", 200, &text_reply(text))
        .await;
    let error = stand_in
        .client()
        .chat(request(
            "gemini-2.0-flash",
            json!({"type": "json_schema",
                   "json_schema": {"name": "order", "schema": order_schema(), "strict": true},
                   "enforce_validation": true}),
        ))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::JsonSchemaValidation);
    assert!(error.message().contains("/items/0: "), "{error}");
    assert!(error.message().contains("'colour'"), "{error}");
    assert_eq!(error.raw_response(), Some(text));
}

#[tokio::test]
async fn non_json_output_is_a_validation_error() {
    let stand_in = StandIn::start().await;
    let text = "Sure! Here is your order: pen, ten dollars.";
    stand_in
        .reply_json("gemini-2.5-flash", 200, &text_reply(text))
        .await;
    let error = stand_in
        .client()
        .chat(request(
            "gemini-2.5-flash",
            json!({"type": "json_object", "response_schema": order_schema(),
                   "enforce_validation": true}),
        ))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::JsonSchemaValidation);
    assert_eq!(error.status(), 500);
    assert!(
        error
            .message()
            .starts_with("JSONSchemaValidationError: the reply is not JSON: "),
        "{error}"
    );
    assert_eq!(error.raw_response(), Some(text));
}

#[tokio::test]
async fn json_object_with_enforce_validation_and_no_schema_requires_json() {
    let stand_in = StandIn::start().await;
    stand_in
        .reply_json("gemini-2.5-flash", 200, &text_reply("not json"))
        .await;
    let error = stand_in
        .client()
        .chat(request(
            "gemini-2.5-flash",
            json!({"type": "json_object", "enforce_validation": true}),
        ))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::JsonSchemaValidation);
    assert_eq!(error.raw_response(), Some("not json"));
}

#[tokio::test]
async fn without_enforce_validation_a_mismatch_passes_untouched() {
    let stand_in = StandIn::start().await;
    let text = r#"{"items":[{"name":"pen","price":"ten"}]}"#;
    stand_in
        .reply_json("gemini-2.5-flash", 200, &text_reply(text))
        .await;
    let completion = stand_in
        .client()
        .chat(request(
            "gemini-2.5-flash",
            json!({"type": "json_object", "response_schema": order_schema()}),
        ))
        .await
        .expect("no validation asked for");
    assert_eq!(completion.choices[0].message.content.as_deref(), Some(text));
}

// --- enforce_validation, streaming -------------------------------------------------------------

#[tokio::test]
async fn streamed_valid_reply_passes_with_its_finish_chunk_and_done() {
    let stand_in = StandIn::start().await;
    stand_in
        .reply_sse(
            "gemini-2.5-flash",
            &sse_reply(&[r#"{"items":[{"name":"pen","#, r#""price":1.5}]}"#]),
        )
        .await;
    let format = json!({"type": "json_object", "response_schema": order_schema(),
                        "enforce_validation": true});
    let stream = stand_in
        .client()
        .chat_stream(request("gemini-2.5-flash", format.clone()))
        .await
        .expect("stream");
    let chunks: Vec<_> = stream.collect().await;
    let chunks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| chunk.expect("no error"))
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|chunk| chunk.choices.first()?.delta.content.clone())
        .collect();
    assert_eq!(content, r#"{"items":[{"name":"pen","price":1.5}]}"#);
    let last = chunks.last().unwrap();
    assert_eq!(last.choices[0].finish_reason.as_deref(), Some("stop"));

    let (status, body) = edge_post(
        &stand_in,
        json!({"model": "gemini-2.5-flash", "stream": true,
               "messages": [{"role": "user", "content": "Order a pen."}],
               "response_format": format}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""finish_reason":"stop""#), "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    assert!(!body.contains(r#""error""#), "{body}");
}

#[tokio::test]
async fn streamed_invalid_reply_ends_with_an_error_event_instead_of_finish() {
    let stand_in = StandIn::start().await;
    let pieces = [r#"{"items":[{"name":"pen","#, r#""price":"ten"}]}"#];
    stand_in
        .reply_sse("gemini-2.5-flash", &sse_reply(&pieces))
        .await;
    let format = json!({"type": "json_object", "response_schema": order_schema(),
                        "enforce_validation": true});
    let stream = stand_in
        .client()
        .chat_stream(request("gemini-2.5-flash", format.clone()))
        .await
        .expect("stream");
    let items: Vec<_> = stream.collect().await;
    let (last, before) = items.split_last().unwrap();
    let error = last.as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::JsonSchemaValidation);
    assert_eq!(
        error.message(),
        r#"JSONSchemaValidationError: /items/0/price: "ten" is not of type "number""#
    );
    assert_eq!(error.raw_response(), Some(pieces.concat().as_str()));
    for item in before {
        let chunk = item.as_ref().expect("content chunks pass");
        assert!(
            chunk.choices.iter().all(|c| c.finish_reason.is_none()),
            "the finish chunk is held back"
        );
    }

    let (status, body) = edge_post(
        &stand_in,
        json!({"model": "gemini-2.5-flash", "stream": true,
               "messages": [{"role": "user", "content": "Order a pen."}],
               "response_format": format}),
    )
    .await;
    assert_eq!(status, 200, "committed on the first content chunk");
    assert!(!body.contains("[DONE]"), "{body}");
    assert!(!body.contains("finish_reason\":\"stop"), "{body}");
    let last_event = body
        .trim_end()
        .rsplit("\n\n")
        .next()
        .unwrap()
        .strip_prefix("data: ")
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(last_event).unwrap(),
        json!({"error": {
            "message": r#"JSONSchemaValidationError: /items/0/price: "ten" is not of type "number""#,
            "type": "api_error",
            "param": null,
            "code": "JSONSchemaValidationError",
            "raw_response": pieces.concat()
        }})
    );
}

#[tokio::test]
async fn streamed_truncated_json_is_a_validation_error() {
    let stand_in = StandIn::start().await;
    stand_in
        .reply_sse("gemini-2.5-flash", &sse_reply(&[r#"{"items":[{"name":"#]))
        .await;
    let stream = stand_in
        .client()
        .chat_stream(request(
            "gemini-2.5-flash",
            json!({"type": "json_object", "response_schema": order_schema(),
                   "enforce_validation": true}),
        ))
        .await
        .expect("stream");
    let items: Vec<_> = stream.collect().await;
    let error = items.last().unwrap().as_ref().unwrap_err();
    assert!(
        error
            .message()
            .starts_with("JSONSchemaValidationError: the reply is not JSON: "),
        "{error}"
    );
    assert_eq!(error.raw_response(), Some(r#"{"items":[{"name":"#));
}
