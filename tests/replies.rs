//! The reply side: recorded (and a few synthetic) Gemini replies from
//! `tests/fixtures/gemini/` go through the wiremock stand-in and the whole provider stack,
//! and the OpenAI `chat.completion` is compared in full.

mod common;

use common::{CREATED, StandIn, chat, exchange, fixture_file};
use serde_json::{Value, json};

/// The recorded Gemini reply body of exchange `index` of fixture `prefix`.
fn recorded_body(prefix: &str, index: usize) -> Value {
    let (_, response) = exchange(&fixture_file(prefix), index);
    assert_eq!(response["status"], 200, "{prefix}: a 200 reply");
    response["body"].clone()
}

/// The first event of a recorded stream, as a whole `GenerateContentResponse` body.
fn recorded_event(prefix: &str) -> Value {
    let (_, response) = exchange(&fixture_file(prefix), 0);
    let sse = response["sse"].as_str().expect("a recorded stream");
    let data = sse
        .split("\r\n\r\n")
        .find_map(|event| event.trim().strip_prefix("data: "))
        .expect("one data event");
    serde_json::from_str(data).expect("event JSON")
}

/// Serves `body` for the request's model and returns the completion as JSON.
async fn complete(body: &Value, request: Value) -> Value {
    let stand_in = StandIn::start().await;
    let model = request["model"].as_str().expect("model").to_owned();
    stand_in.reply_json(&model, 200, body).await;
    let completion = stand_in
        .client()
        .chat(chat(request))
        .await
        .expect("a completion");
    assert_eq!(
        stand_in.received_bodies().await.len(),
        1,
        "one upstream call"
    );
    serde_json::to_value(&completion).expect("completion serializes")
}

/// A one-message request to `model`.
fn ask(model: &str, question: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": question}]})
}

/// Text of part `part` of candidate `candidate`, as recorded.
fn part_text(body: &Value, candidate: usize, part: usize) -> String {
    body["candidates"][candidate]["content"]["parts"][part]["text"]
        .as_str()
        .expect("a text part")
        .to_owned()
}

fn tool(name: &str, parameters: Value) -> Value {
    json!({"type": "function", "function": {"name": name, "parameters": parameters}})
}

fn add_tool() -> Value {
    tool(
        "add",
        json!({"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}, "required": ["x", "y"]}),
    )
}

#[tokio::test]
async fn text_content() {
    let body = recorded_body("01", 0);
    let text = part_text(&body, 0, 0);
    let completion = complete(&body, ask("gemini-2.5-flash", "What is Rust?")).await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
            }],
            "usage": {
                "prompt_tokens": 29,
                "completion_tokens": 57 + 183,
                "total_tokens": 269,
                "prompt_tokens_details": {"text_tokens": 29},
                "completion_tokens_details": {"reasoning_tokens": 183, "text_tokens": 57},
                "cost": 0.0006087
            }
        })
    );
}

#[tokio::test]
async fn max_tokens_is_length_with_the_partial_text() {
    let body = recorded_body("02", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "max_tokens": 48, "temperature": 0,
               "messages": [{"role": "user", "content": "Tell a long story."}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Elara had seen a thousand storms, each one a furious ballet of wind and water against the unyielding stone of the lighthouse. Tonight, however, felt different. The air thrummed with an ancient energy, and the waves, usually"
                },
                "finish_reason": "length",
                "provider_specific_fields": {"native_finish_reason": "MAX_TOKENS"}
            }],
            "usage": {
                "prompt_tokens": 23,
                "completion_tokens": 48,
                "total_tokens": 71,
                "prompt_tokens_details": {"text_tokens": 23},
                "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 48},
                "cost": 0.0001269
            }
        })
    );
}

#[tokio::test]
async fn thoughts_become_reasoning_content_and_thinking_blocks() {
    let body = recorded_body("06", 0);
    let thought = part_text(&body, 0, 0);
    assert!(thought.starts_with("**Sheep Situation Analysis**"));
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "reasoning_effort": "low",
               "messages": [{"role": "user", "content": "17 sheep, all but 9 run away. How many are left?"}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Nine sheep are left.",
                    "reasoning_content": thought,
                    "thinking_blocks": [{"type": "thinking", "thinking": thought}]
                },
                "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
            }],
            "usage": {
                "prompt_tokens": 33,
                "completion_tokens": 5 + 127,
                "total_tokens": 165,
                "prompt_tokens_details": {"text_tokens": 33},
                "completion_tokens_details": {"reasoning_tokens": 127, "text_tokens": 5},
                "cost": 0.0003399
            }
        })
    );
}

#[tokio::test]
async fn reasoning_round_trip_both_turns() {
    // Cost at gemini-2.5-flash's $0.30/M input and $2.50/M output (thinking included).
    for (index, id, prompt, candidates, thoughts, total, cost) in [
        (0, "id_REDACTED_1", 72, 461, 1413, 1946, 0.0047066),
        (1, "id_REDACTED_2", 1257, 1251, 1212, 3720, 0.0065346),
    ] {
        let body = recorded_body("27", index);
        let thought = part_text(&body, 0, 0);
        let answer = part_text(&body, 0, 1);
        let completion = complete(&body, ask("gemini-2.5-flash", "Two trains…")).await;
        assert_eq!(
            completion,
            json!({
                "id": id,
                "object": "chat.completion",
                "created": CREATED,
                "model": "gemini-2.5-flash",
                "choices": [{
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": answer,
                        "reasoning_content": thought,
                        "thinking_blocks": [{"type": "thinking", "thinking": thought}]
                    },
                    "finish_reason": "stop",
                    "provider_specific_fields": {"native_finish_reason": "STOP"}
                }],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": candidates + thoughts,
                    "total_tokens": total,
                    "prompt_tokens_details": {"text_tokens": prompt},
                    "completion_tokens_details": {"reasoning_tokens": thoughts, "text_tokens": candidates},
                    "cost": cost
                }
            }),
            "exchange {index}"
        );
        assert_eq!(prompt + candidates + thoughts, total);
    }
}

#[tokio::test]
async fn function_call_after_thoughts_carries_its_signature() {
    let body = recorded_body("29", 0);
    let thought = part_text(&body, 0, 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "reasoning_effort": "high",
               "tools": [tool("get_weather", json!({"type": "object", "properties": {"city": {"type": "string"}}}))],
               "messages": [{"role": "user", "content": "Umbrella or sunscreen in Tokyo?"}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "reasoning_content": thought,
                    "thinking_blocks": [{"type": "thinking", "thinking": thought}],
                    "tool_calls": [{
                        "id": "call_1__thought__signature_REDACTED_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Tokyo\"}"},
                        "provider_specific_fields": {"thought_signature": "signature_REDACTED_1"}
                    }],
                    "provider_specific_fields": {"thought_signatures": ["signature_REDACTED_1"]}
                },
                "finish_reason": "tool_calls",
                "provider_specific_fields": {"native_finish_reason": "STOP", "finish_message": "Model generated function call(s)."}
            }],
            "usage": {
                "prompt_tokens": 144,
                "completion_tokens": 15 + 91,
                "total_tokens": 250,
                "prompt_tokens_details": {"text_tokens": 144},
                "completion_tokens_details": {"reasoning_tokens": 91, "text_tokens": 15},
                "cost": 0.0003082
            }
        })
    );
}

/// The reply to a forced `add` call (fixtures 13 and 12): one call with a signature.
fn add_call_reply(id: &str, x: u32, y: u32, usage: Value) -> Value {
    json!({
        "id": id,
        "object": "chat.completion",
        "created": CREATED,
        "model": "gemini-2.5-flash",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_1__thought__signature_REDACTED_1",
                    "type": "function",
                    "function": {"name": "add", "arguments": format!("{{\"x\":{x},\"y\":{y}}}")},
                    "provider_specific_fields": {"thought_signature": "signature_REDACTED_1"}
                }],
                "provider_specific_fields": {"thought_signatures": ["signature_REDACTED_1"]}
            },
            "finish_reason": "tool_calls",
            "provider_specific_fields": {"native_finish_reason": "STOP", "finish_message": "Model generated function call(s)."}
        }],
        "usage": usage
    })
}

#[tokio::test]
async fn named_tool_choice_call() {
    let body = recorded_body("13", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "temperature": 0, "tools": [add_tool()],
               "tool_choice": {"type": "function", "function": {"name": "add"}},
               "messages": [{"role": "user", "content": "Add 20 and 22."}]}),
    )
    .await;
    assert_eq!(
        completion,
        add_call_reply(
            "id_REDACTED_1",
            20,
            22,
            json!({"prompt_tokens": 135, "completion_tokens": 20 + 57, "total_tokens": 212,
                   "prompt_tokens_details": {"text_tokens": 135},
                   "completion_tokens_details": {"reasoning_tokens": 57, "text_tokens": 20},
                   "cost": 0.000233})
        )
    );
}

#[tokio::test]
async fn required_tool_choice_call() {
    let body = recorded_body("12", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "temperature": 0, "tools": [add_tool()],
               "tool_choice": "required",
               "messages": [{"role": "user", "content": "Add 1 and 2."}]}),
    )
    .await;
    assert_eq!(
        completion,
        add_call_reply(
            "id_REDACTED_1",
            1,
            2,
            json!({"prompt_tokens": 85, "completion_tokens": 18 + 33, "total_tokens": 136,
                   "prompt_tokens_details": {"text_tokens": 85},
                   "completion_tokens_details": {"reasoning_tokens": 33, "text_tokens": 18},
                   "cost": 0.000153})
        )
    );
}

#[tokio::test]
async fn parallel_calls_get_their_own_ids_and_only_the_signed_one_a_signature() {
    let body = recorded_body("15", 0);
    let subtract = tool(
        "subtract",
        json!({"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}}),
    );
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "temperature": 0, "tools": [add_tool(), subtract],
               "messages": [{"role": "user", "content": "3+4 and 10-2, in parallel."}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [
                        {
                            "id": "call_1__thought__signature_REDACTED_1",
                            "type": "function",
                            "function": {"name": "add", "arguments": "{\"x\":3,\"y\":4}"},
                            "provider_specific_fields": {"thought_signature": "signature_REDACTED_1"}
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "subtract", "arguments": "{\"x\":10,\"y\":2}"}
                        }
                    ],
                    "provider_specific_fields": {"thought_signatures": ["signature_REDACTED_1"]}
                },
                "finish_reason": "tool_calls",
                "provider_specific_fields": {"native_finish_reason": "STOP", "finish_message": "Model generated function call(s)."}
            }],
            "usage": {
                "prompt_tokens": 193,
                "completion_tokens": 37 + 108,
                "total_tokens": 338,
                "prompt_tokens_details": {"text_tokens": 193},
                "completion_tokens_details": {"reasoning_tokens": 108, "text_tokens": 37},
                "cost": 0.0004204
            }
        })
    );
}

#[tokio::test]
async fn zero_argument_call_has_an_empty_object() {
    let body = recorded_body("16", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "temperature": 0,
               "tools": [{"type": "function", "function": {"name": "ping"}}],
               "messages": [{"role": "user", "content": "Ping."}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [{
                        "id": "call_1__thought__signature_REDACTED_1",
                        "type": "function",
                        "function": {"name": "ping", "arguments": "{}"},
                        "provider_specific_fields": {"thought_signature": "signature_REDACTED_1"}
                    }],
                    "provider_specific_fields": {"thought_signatures": ["signature_REDACTED_1"]}
                },
                "finish_reason": "tool_calls",
                "provider_specific_fields": {"native_finish_reason": "STOP", "finish_message": "Model generated function call(s)."}
            }],
            "usage": {
                "prompt_tokens": 58,
                "completion_tokens": 8 + 32,
                "total_tokens": 98,
                "prompt_tokens_details": {"text_tokens": 58},
                "completion_tokens_details": {"reasoning_tokens": 32, "text_tokens": 8},
                "cost": 0.0001174
            }
        })
    );
}

#[tokio::test]
async fn nested_arguments_keep_their_structure_and_order() {
    let body = recorded_body("08", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "temperature": 0,
               "tools": [tool("plan_trip", json!({"type": "object", "properties": {"itinerary": {"type": "object"}}}))],
               "messages": [{"role": "user", "content": "Plan three days in Kyoto."}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [{
                        "id": "call_1__thought__signature_REDACTED_1",
                        "type": "function",
                        "function": {
                            "name": "plan_trip",
                            "arguments": r#"{"itinerary":{"activities":["temples","tea ceremony"],"city":"Kyoto","days":3,"lodging":{"name":"Sakura Inn","rooms":2}}}"#
                        },
                        "provider_specific_fields": {"thought_signature": "signature_REDACTED_1"}
                    }],
                    "provider_specific_fields": {"thought_signatures": ["signature_REDACTED_1"]}
                },
                "finish_reason": "tool_calls",
                "provider_specific_fields": {"native_finish_reason": "STOP", "finish_message": "Model generated function call(s)."}
            }],
            "usage": {
                "prompt_tokens": 301,
                "completion_tokens": 56 + 134,
                "total_tokens": 491,
                "prompt_tokens_details": {"text_tokens": 301},
                "completion_tokens_details": {"reasoning_tokens": 134, "text_tokens": 56},
                "cost": 0.0005653
            }
        })
    );
}

#[tokio::test]
async fn unicode_arguments_are_kept_unescaped() {
    // The one event of the recorded unicode stream (fixture 10) is a whole reply.
    let body = recorded_event("10");
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash",
               "tools": [tool("echo", json!({"type": "object", "properties": {"message": {"type": "string"}}}))],
               "messages": [{"role": "user", "content": "Echo a greeting."}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [{
                        "id": "call_1__thought__signature_REDACTED_1",
                        "type": "function",
                        "function": {
                            "name": "echo",
                            "arguments": r#"{"message":"Grüße aus 東京, from the \"naïve café\"!"}"#
                        },
                        "provider_specific_fields": {"thought_signature": "signature_REDACTED_1"}
                    }],
                    "provider_specific_fields": {"thought_signatures": ["signature_REDACTED_1"]}
                },
                "finish_reason": "tool_calls",
                "provider_specific_fields": {"native_finish_reason": "STOP", "finish_message": "Model generated function call(s)."}
            }],
            "usage": {
                "prompt_tokens": 94,
                "completion_tokens": 27 + 78,
                "total_tokens": 199,
                "prompt_tokens_details": {"text_tokens": 94},
                "completion_tokens_details": {"reasoning_tokens": 78, "text_tokens": 27},
                "cost": 0.0002907
            }
        })
    );
}

#[tokio::test]
async fn two_candidates_become_two_choices() {
    let body = recorded_body("31", 0);
    let first_thought = part_text(&body, 0, 0);
    let second_thought = part_text(&body, 0, 2);
    let other_thought = part_text(&body, 1, 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "n": 2, "max_tokens": 400, "temperature": 0,
               "messages": [{"role": "user", "content": "Name one primary color, one word."}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "RedRed",
                        "reasoning_content": format!("{first_thought}{second_thought}"),
                        "thinking_blocks": [
                            {"type": "thinking", "thinking": first_thought},
                            {"type": "thinking", "thinking": second_thought}
                        ]
                    },
                    "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
                },
                {
                    "index": 1,
                    "message": {
                        "role": "assistant",
                        "content": "Red",
                        "reasoning_content": other_thought,
                        "thinking_blocks": [{"type": "thinking", "thinking": other_thought}]
                    },
                    "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
                }
            ],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": 84,
                "total_tokens": 96,
                "prompt_tokens_details": {"text_tokens": 12},
                "completion_tokens_details": {"reasoning_tokens": 84, "text_tokens": 0},
                "cost": 0.0002136
            }
        })
    );
}

#[tokio::test]
async fn all_thought_turn_has_null_content() {
    let body = recorded_body("32", 0);
    let thought = part_text(&body, 0, 0);
    let completion = complete(
        &body,
        ask(
            "gemini-2.5-flash",
            "Prove there are infinitely many primes.",
        ),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "reasoning_content": thought,
                    "thinking_blocks": [{"type": "thinking", "thinking": thought}]
                },
                "finish_reason": "length",
                "provider_specific_fields": {"native_finish_reason": "MAX_TOKENS"}
            }],
            "usage": {
                "prompt_tokens": 15,
                "completion_tokens": 60,
                "total_tokens": 75,
                "prompt_tokens_details": {"text_tokens": 15},
                "completion_tokens_details": {"reasoning_tokens": 60, "text_tokens": 0},
                "cost": 0.0001545
            }
        })
    );
}

#[tokio::test]
async fn trailing_signature_on_a_text_part_is_kept() {
    let body = recorded_body("33", 0);
    let completion = complete(&body, ask("gemini-3-flash-preview", "17 * 17?")).await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-3-flash-preview",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "289",
                    "provider_specific_fields": {"thought_signatures": ["signature_REDACTED_1"]}
                },
                "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
            }],
            "usage": {
                "prompt_tokens": 14,
                "completion_tokens": 2 + 43,
                "total_tokens": 59,
                "prompt_tokens_details": {"text_tokens": 14},
                "completion_tokens_details": {"reasoning_tokens": 43, "text_tokens": 2},
                "cost": 0.000142
            }
        })
    );
}

#[tokio::test]
async fn code_execution_is_kept_and_text_around_it_separated() {
    let body = recorded_body("36", 0);
    let thought = part_text(&body, 0, 0);
    let preamble = part_text(&body, 0, 1);
    assert!(preamble.ends_with("in this context.\n\n"), "{preamble:?}");
    let parts = &body["candidates"][0]["content"]["parts"];
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "tools": [{"codeExecution": {}}],
               "messages": [{"role": "user", "content": "Compute the 20th Fibonacci number with code."}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    // The preamble already ends with a blank line: no second one.
                    "content": format!("{preamble}The 20th Fibonacci number is 6765."),
                    "reasoning_content": thought,
                    "thinking_blocks": [{"type": "thinking", "thinking": thought}],
                    "provider_specific_fields": {"code_execution": [
                        {"executableCode": parts[2]["executableCode"]},
                        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "The 20th Fibonacci number is: 6765\n"}}
                    ]}
                },
                "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
            }],
            "usage": {
                "prompt_tokens": 643,
                "completion_tokens": 278 + 315,
                "total_tokens": 1236,
                "prompt_tokens_details": {"text_tokens": 23},
                "completion_tokens_details": {"reasoning_tokens": 315, "text_tokens": 278},
                "cost": 0.0016754
            }
        })
    );
    assert_eq!(
        parts[2]["executableCode"]["language"], "PYTHON",
        "the code part is the recorded one"
    );
}

#[tokio::test]
async fn text_parts_around_code_get_one_blank_line() {
    // Fixture 36 with the preamble's own trailing newlines removed: the blank line between
    // it and the text after the code must then come from the translation.
    let mut body = recorded_body("36", 0);
    let preamble = part_text(&body, 0, 1);
    let bare = preamble.trim_end().to_owned();
    body["candidates"][0]["content"]["parts"][1]["text"] = json!(bare);
    let completion = complete(&body, ask("gemini-2.5-flash", "Fibonacci 20?")).await;
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        json!(format!("{bare}\n\nThe 20th Fibonacci number is 6765."))
    );
}

#[tokio::test]
async fn failed_code_execution_is_kept() {
    let body = recorded_body("37", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "tools": [{"codeExecution": {}}],
               "messages": [{"role": "user", "content": "Run print(1/0) and name the error in caps."}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "DIVISIONERROR",
                    "provider_specific_fields": {"code_execution": [
                        {"executableCode": {"code": "print(1/0)\n", "language": "PYTHON"}},
                        {"codeExecutionResult": {
                            "outcome": "OUTCOME_FAILED",
                            "output": "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nZeroDivisionError: division by zero\n"
                        }}
                    ]}
                },
                "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
            }],
            "usage": {
                "prompt_tokens": 164,
                "completion_tokens": 8 + 64,
                "total_tokens": 236,
                "prompt_tokens_details": {"text_tokens": 31},
                "completion_tokens_details": {"reasoning_tokens": 64, "text_tokens": 8},
                "cost": 0.0002292
            }
        })
    );
}

#[tokio::test]
async fn generated_image_is_a_data_url() {
    let body = recorded_body("55", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash-image", "modalities": ["image"],
               "messages": [{"role": "user", "content": "A banana, please."}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash-image",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "images": [{
                        "type": "image_url",
                        "image_url": {
                            "url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC",
                            "detail": "auto"
                        },
                        "index": 0
                    }]
                },
                "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
            }],
            "usage": {
                "prompt_tokens": 15,
                "completion_tokens": 1290,
                "total_tokens": 1305,
                "prompt_tokens_details": {"text_tokens": 15},
                "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 0, "image_tokens": 1290},
                "cost": 0.0387045
            }
        })
    );
}

#[tokio::test]
async fn grounding_becomes_annotations_metadata_and_search_count() {
    let body = recorded_body("61", 0);
    let grounding = body["candidates"][0]["groundingMetadata"].clone();
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "web_search_options": {},
               "messages": [{"role": "user", "content": "Who won the 2024 Tour de France?"}]}),
    )
    .await;
    // Gemini's segment offsets are UTF-8 bytes; "č" is two bytes, so byte 41 is char 40.
    assert_eq!(
        completion,
        json!({
            "id": "synthetic-grounding-1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Tadej Pogačar won the 2024 Tour de France.",
                    "annotations": [{
                        "type": "url_citation",
                        "url_citation": {
                            "start_index": 0,
                            "end_index": 40,
                            "url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AAA",
                            "title": "letour.fr"
                        }
                    }]
                },
                "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
            }],
            "usage": {
                "prompt_tokens": 96,
                "completion_tokens": 12,
                "total_tokens": 108,
                "prompt_tokens_details": {"web_search_requests": 1},
                "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 12},
                "cost": 5.88e-05
            },
            "vertex_ai_grounding_metadata": [grounding]
        })
    );
}

#[tokio::test]
async fn grounding_byte_offsets_after_multibyte_text_are_char_offsets() {
    // Fixture 61 with its segment covering the whole sentence in bytes (43, "č" is 2), and a
    // second support over "France." (bytes 36..43) citing the second chunk.
    let mut body = recorded_body("61", 0);
    let text = "Tadej Pogačar won the 2024 Tour de France.";
    assert_eq!((text.len(), text.chars().count()), (43, 42));
    let metadata = &mut body["candidates"][0]["groundingMetadata"];
    metadata["groundingSupports"][0]["segment"]["endIndex"] = json!(43);
    metadata["groundingSupports"]
        .as_array_mut()
        .expect("supports")
        .push(
            json!({"segment": {"startIndex": 36, "endIndex": 43, "text": "France."},
                     "groundingChunkIndices": [1]}),
        );
    let completion = complete(&body, ask("gemini-2.5-flash", "Tour 2024?")).await;
    assert_eq!(
        completion["choices"][0]["message"]["annotations"],
        json!([
            {"type": "url_citation", "url_citation": {
                "start_index": 0, "end_index": 42,
                "url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AAA",
                "title": "letour.fr"}},
            {"type": "url_citation", "url_citation": {
                "start_index": 35, "end_index": 42,
                "url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/BBB",
                "title": "wikipedia.org"}}
        ])
    );
    let chars: Vec<char> = text.chars().collect();
    assert_eq!(chars[35..42].iter().collect::<String>(), "France.");
}

#[tokio::test]
async fn url_context_metadata_is_kept() {
    let body = recorded_body("62", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "tools": [{"urlContext": {}}],
               "messages": [{"role": "user", "content": "Summarise https://example.org/post"}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "synthetic-urlctx-1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "The post describes a new release."},
                "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
            }],
            "usage": {
                "prompt_tokens": 20,
                "completion_tokens": 9,
                "total_tokens": 29,
                "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 9},
                "cost": 2.85e-05
            },
            "vertex_ai_url_context_metadata": [{"urlMetadata": [{
                "retrievedUrl": "https://example.org/post",
                "urlRetrievalStatus": "URL_RETRIEVAL_STATUS_SUCCESS"
            }]}]
        })
    );
}

#[tokio::test]
async fn logprobs_with_alternatives() {
    let body = recorded_body("63", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.0-flash", "logprobs": true, "top_logprobs": 2,
               "messages": [{"role": "user", "content": "Yes or no?"}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "synthetic-logprobs-1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.0-flash",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Yes"},
                "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"},
                "logprobs": {"content": [{
                    "token": "Yes",
                    "logprob": -0.0123,
                    "bytes": [89, 101, 115],
                    "top_logprobs": [
                        {"token": "Yes", "logprob": -0.0123, "bytes": [89, 101, 115]},
                        {"token": "yes", "logprob": -4.61, "bytes": [121, 101, 115]}
                    ]
                }]}
            }],
            "usage": {
                "prompt_tokens": 3,
                "completion_tokens": 1,
                "total_tokens": 4,
                "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 1},
                "cost": 7e-07
            }
        })
    );
}

#[tokio::test]
async fn cached_tokens_are_reported_inside_prompt_tokens() {
    let body = recorded_body("64", 0);
    let completion = complete(&body, ask("gemini-2.5-flash", "What does clause two say?")).await;
    assert_eq!(
        completion,
        json!({
            "id": "synthetic-usage-1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "The second clause limits liability to direct damages.",
                    "reasoning_content": "Considering clause two of the contract.",
                    "thinking_blocks": [{"type": "thinking", "thinking": "Considering clause two of the contract."}]
                },
                "finish_reason": "stop",
                "provider_specific_fields": {"native_finish_reason": "STOP"}
            }],
            "usage": {
                "prompt_tokens": 4210,
                "completion_tokens": 11 + 57,
                "total_tokens": 4278,
                "prompt_tokens_details": {"cached_tokens": 4096, "text_tokens": 4210, "cached_tokens_details": {"text_tokens": 4096}},
                "completion_tokens_details": {"reasoning_tokens": 57, "text_tokens": 11},
                "cache_read_input_tokens": 4096,
                // gemini-2.5-flash: 114 fresh tokens × $0.30/M + 4096 cached × $0.03/M
                // + 68 output × $2.50/M = $0.0000342 + $0.00012288 + $0.00017.
                "cost": 0.00032708
            }
        })
    );
}

#[tokio::test]
async fn safety_stop_is_content_filter_with_geminis_reason() {
    let body = recorded_body("57", 0);
    let ratings = body["candidates"][0]["safetyRatings"].clone();
    let completion = complete(&body, ask("gemini-2.5-flash", "Something dangerous.")).await;
    assert_eq!(
        completion,
        json!({
            "id": "synthetic-safety-1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": null},
                "finish_reason": "content_filter",
                "provider_specific_fields": {"native_finish_reason": "SAFETY"}
            }],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": 0,
                "total_tokens": 12,
                "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 0},
                "cost": 3.6e-06
            },
            "vertex_ai_safety_results": [ratings]
        })
    );
}

#[tokio::test]
async fn recitation_keeps_the_partial_text_and_citations() {
    let body = recorded_body("59", 0);
    let completion = complete(&body, ask("gemini-2.5-flash", "Quote the opening line.")).await;
    assert_eq!(
        completion,
        json!({
            "id": "synthetic-recitation-1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "It was the best of times, it was"},
                "finish_reason": "content_filter",
                "provider_specific_fields": {"native_finish_reason": "RECITATION"}
            }],
            "usage": {
                "prompt_tokens": 9,
                "completion_tokens": 8,
                "total_tokens": 17,
                "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 8},
                "cost": 2.27e-05
            },
            "vertex_ai_citation_metadata": [{"citationSources": [{
                "startIndex": 0, "endIndex": 32, "uri": "https://example.org/book", "license": ""
            }]}]
        })
    );
}

#[tokio::test]
async fn blocked_prompt_is_one_content_filter_choice() {
    let body = recorded_body("58", 0);
    let completion = complete(&body, ask("gemini-2.5-flash", "Something prohibited.")).await;
    assert_eq!(
        completion,
        json!({
            "id": "synthetic-blocked-1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": null},
                "finish_reason": "content_filter",
                "provider_specific_fields": {"native_finish_reason": "PROHIBITED_CONTENT"}
            }],
            "usage": {
                "prompt_tokens": 14,
                "completion_tokens": 0,
                "total_tokens": 14,
                "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 0},
                "cost": 4.2e-06
            },
            "vertex_ai_safety_results": [body["promptFeedback"]["safetyRatings"].clone()]
        })
    );
}

#[tokio::test]
async fn malformed_function_call_keeps_the_choice_and_geminis_message() {
    let body = recorded_body("60", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash",
               "tools": [tool("get_weather", json!({"type": "object", "properties": {"city": {"type": "string"}}}))],
               "messages": [{"role": "user", "content": "Weather?"}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "synthetic-malformed-1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": null},
                "finish_reason": "stop",
                "provider_specific_fields": {
                    "native_finish_reason": "MALFORMED_FUNCTION_CALL",
                    "finish_message": "Malformed function call: get_weather(city=)"
                }
            }],
            "usage": {
                "prompt_tokens": 40,
                "completion_tokens": 0,
                "total_tokens": 40,
                "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 0},
                "cost": 1.2e-05
            }
        })
    );
}

#[tokio::test]
async fn legacy_functions_get_a_function_call() {
    let body = recorded_body("13", 0);
    let completion = complete(
        &body,
        json!({"model": "gemini-2.5-flash", "temperature": 0,
               "functions": [{"name": "add", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}}}],
               "function_call": {"name": "add"},
               "messages": [{"role": "user", "content": "Add 20 and 22."}]}),
    )
    .await;
    assert_eq!(
        completion,
        json!({
            "id": "id_REDACTED_1",
            "object": "chat.completion",
            "created": CREATED,
            "model": "gemini-2.5-flash",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "function_call": {"name": "add", "arguments": "{\"x\":20,\"y\":22}"},
                    "provider_specific_fields": {"thought_signatures": ["signature_REDACTED_1"]}
                },
                "finish_reason": "function_call",
                "provider_specific_fields": {"native_finish_reason": "STOP", "finish_message": "Model generated function call(s)."}
            }],
            "usage": {
                "prompt_tokens": 135,
                "completion_tokens": 20 + 57,
                "total_tokens": 212,
                "prompt_tokens_details": {"text_tokens": 135},
                "completion_tokens_details": {"reasoning_tokens": 57, "text_tokens": 20},
                "cost": 0.000233
            }
        })
    );
}

#[tokio::test]
async fn missing_response_id_gets_a_completion_id() {
    let mut body = recorded_body("01", 0);
    body.as_object_mut().expect("object").remove("responseId");
    let completion = complete(&body, ask("gemini-2.5-flash", "What is Rust?")).await;
    assert_eq!(completion["id"], "chatcmpl-1");
    assert_eq!(completion["created"], CREATED);
}

/// Audio output (`modalities: ["audio"]`): Gemini answers with inline PCM; it comes back as
/// OpenAI's `message.audio`, with the media type Gemini gave. (Synthetic reply: no
/// recording of audio output exists among the fixtures.)
#[tokio::test]
async fn generated_audio_is_message_audio() {
    let stand_in = StandIn::start().await;
    let model = "gemini-2.5-flash-preview-tts";
    let body = json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"inlineData": {"mimeType": "audio/L16;codec=pcm;rate=24000", "data": "AAEAAQ=="}}
        ]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 20, "totalTokenCount": 25}
    });
    stand_in.reply_json(model, 200, &body).await;
    let completion = stand_in
        .client()
        .chat(chat(json!({
            "model": model,
            "messages": [{"role": "user", "content": "Say hi"}],
            "modalities": ["audio"],
            "audio": {"voice": "Kore", "format": "pcm16"}
        })))
        .await
        .expect("completion");
    let message = serde_json::to_value(&completion.choices[0].message).expect("serializes");
    assert_eq!(
        message,
        json!({
            "role": "assistant",
            "content": null,
            "audio": {
                "id": "audio_1",
                "data": "AAEAAQ==",
                "expires_at": CREATED + 86_400,
                "transcript": "",
                "mime_type": "audio/L16;codec=pcm;rate=24000"
            }
        })
    );
    let sent = stand_in.received_body().await;
    assert_eq!(
        sent["generationConfig"],
        json!({
            "responseModalities": ["AUDIO"],
            "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}}
        })
    );
}
