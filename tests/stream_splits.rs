//! Pure replay of every recorded stream: SSE bytes → the provider's event decoder
//! (`GeminiEvents`, as the SSE adapter runs it) → typed events → `StreamTranslator` →
//! chunks, with the bytes delivered whole, one byte at a time and split at seeded random
//! points. All three must give the same chunks, and for a handful
//! of streams the chunks are compared in full with the expected JSON. One stream is also
//! taken on to Responses events, split at every byte.

mod common;

use llm_tower::gemini::translate::StreamTranslator;
use llm_tower::gemini::translate::{ReplyContext, SequentialIds, translate_response};
use llm_tower::gemini::wire::GenerateContentResponse;
use llm_tower::layers::responses::StreamMapper;
use llm_tower::layers::responses::plan;
use llm_tower::openai::ChatCompletionChunk;
use llm_tower::openai::responses::ResponseEvent;
use serde_json::{Value, json};

use common::CREATED;

/// What a replay produced: the chunks, then the error that ended it, if any.
#[derive(Debug, PartialEq)]
struct Replay {
    chunks: Vec<ChatCompletionChunk>,
    error: Option<String>,
}

/// Bytes chunks → chunks, as the provider stack produces them (without I/O): the body's
/// frames through the provider's own event decoder ([`GeminiEvents`], what the SSE
/// adapter runs), then the stream translator; the first error ends the replay.
///
/// [`GeminiEvents`]: llm_tower::gemini::GeminiEvents
fn replay(parts: &[&[u8]], model: &str, include_usage: bool) -> Replay {
    let ids = SequentialIds::new(CREATED);
    let context = ReplyContext {
        model,
        legacy_functions: false,
    };
    let mut translator = StreamTranslator::new(context, include_usage);
    let frames = parts
        .iter()
        .map(|part| bytes::Bytes::copy_from_slice(part))
        .collect();
    let mut chunks = Vec::new();
    for event in adapter_events(frames) {
        match event {
            Ok(event) => chunks.extend(translator.event(event, &ids)),
            Err(error) => {
                return Replay {
                    chunks,
                    error: Some(error),
                };
            }
        }
    }
    chunks.extend(translator.finish(&ids));
    Replay {
        chunks,
        error: None,
    }
}

/// `bytes` cut at `count - 1` random points chosen by `seed`.
fn random_split(bytes: &[u8], seed: u64, count: usize) -> Vec<&[u8]> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut cuts: Vec<usize> = (1..count).map(|_| rng.usize(0..=bytes.len())).collect();
    cuts.sort_unstable();
    let mut parts = Vec::with_capacity(count);
    let mut start = 0;
    for cut in cuts {
        parts.push(&bytes[start..cut]);
        start = cut;
    }
    parts.push(&bytes[start..]);
    parts
}

/// One recorded stream: where it came from, the model and its SSE body.
struct Recorded {
    name: String,
    model: String,
    sse: String,
}

/// Every exchange of every fixture whose response is an SSE body.
fn recorded_streams() -> Vec<Recorded> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gemini");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8")
        })
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    let mut streams = Vec::new();
    for name in names {
        let fixture = common::fixture(&name);
        for (index, exchange) in fixture["exchanges"]
            .as_array()
            .expect("exchanges")
            .iter()
            .enumerate()
        {
            let Some(sse) = exchange["response"]["sse"].as_str() else {
                continue;
            };
            let path = exchange["request"]["path"].as_str().expect("path");
            let model = path
                .strip_prefix("/v1beta/models/")
                .and_then(|rest| rest.split_once(':'))
                .map(|(model, _)| model.to_owned())
                .expect("a model path");
            streams.push(Recorded {
                name: format!("{name}#{index}"),
                model,
                sse: sse.to_owned(),
            });
        }
    }
    streams
}

/// The SSE body of exchange `index` of the fixture whose name starts with `prefix`.
fn sse(prefix: &str, index: usize) -> Recorded {
    recorded_streams()
        .into_iter()
        .find(|stream| {
            stream.name.starts_with(prefix) && stream.name.ends_with(&format!("#{index}"))
        })
        .unwrap_or_else(|| panic!("no stream fixture {prefix}#{index}"))
}

fn whole(stream: &Recorded, include_usage: bool) -> Replay {
    replay(&[stream.sse.as_bytes()], &stream.model, include_usage)
}

fn to_json(chunks: &[ChatCompletionChunk]) -> Value {
    serde_json::to_value(chunks).expect("chunks serialize")
}

#[test]
fn every_recorded_stream_gives_the_same_chunks_however_it_is_split() {
    let streams = recorded_streams();
    assert!(streams.len() >= 18, "only {} streams found", streams.len());
    for stream in &streams {
        for include_usage in [false, true] {
            let bytes = stream.sse.as_bytes();
            let expected = replay(&[bytes], &stream.model, include_usage);
            assert!(!expected.chunks.is_empty(), "{}: no chunks", stream.name);
            let one_byte: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(
                replay(&one_byte, &stream.model, include_usage),
                expected,
                "{}: 1-byte chunks",
                stream.name
            );
            for seed in 0..16 {
                let count = 2 + (seed as usize * 7) % 40;
                let parts = random_split(bytes, seed, count);
                assert_eq!(
                    replay(&parts, &stream.model, include_usage),
                    expected,
                    "{}: seed {seed}, {count} parts",
                    stream.name
                );
            }
        }
    }
}

/// The envelope every chunk of a recorded stream shares.
fn chunk(id: &str, model: &str, choices: Value) -> Value {
    json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": choices,
    })
}

fn delta(delta: Value) -> Value {
    json!([{"index": 0, "delta": delta, "finish_reason": null}])
}

/// The finish chunk's choice: the OpenAI reason, and Gemini's own beside it.
fn finish(reason: &str, native: Value) -> Value {
    json!([{"index": 0, "delta": {}, "finish_reason": reason, "provider_specific_fields": native}])
}

fn stop() -> Value {
    json!({"native_finish_reason": "STOP"})
}

fn calls_stop() -> Value {
    json!({"native_finish_reason": "STOP", "finish_message": "Model generated function call(s)."})
}

fn usage_chunk(id: &str, model: &str, usage: Value) -> Value {
    let mut chunk = chunk(id, model, json!([]));
    chunk["usage"] = usage;
    chunk
}

#[test]
fn smoke_stream_chunks_in_full() {
    let stream = sse("18-", 0);
    let replay = whole(&stream, true);
    assert_eq!(replay.error, None);
    let (id, model) = ("id_REDACTED_1", "gemini-3-flash-preview");
    let thought = "**Defining Solar Eclipse Basics**\n\nI'm now zeroing in on the core of a solar eclipse. The essential event is the Moon getting between the Earth and the Sun. Currently, I'm focusing on the effect: the Moon blocks... what exactly? I'm honing in on the most direct and accurate way to describe the blockage. The goal is a truly concise and clear statement.\n\n\n";
    assert_eq!(
        to_json(&replay.chunks),
        json!([
            chunk(
                id,
                model,
                delta(json!({
                    "role": "assistant",
                    "reasoning_content": thought,
                    "thinking_blocks": [{"type": "thinking", "thinking": thought}],
                }))
            ),
            chunk(
                id,
                model,
                delta(json!({
                    "content": "A solar eclipse occurs when the Moon passes directly between the Earth",
                }))
            ),
            chunk(
                id,
                model,
                delta(json!({
                    "content": " and the Sun, temporarily blocking all or part of the Sun\u{2019}s light from reaching Earth. During this alignment, the Moon casts a shadow",
                }))
            ),
            chunk(
                id,
                model,
                delta(json!({
                    "content": " on the Earth's surface, causing the sky to darken. Depending on the viewer's location and the Moon's distance",
                }))
            ),
            chunk(
                id,
                model,
                delta(json!({
                    "content": ", the eclipse can appear as a partial, annular, or total obscuration of the solar disk.",
                }))
            ),
            // The signature on the last, empty text part is kept.
            chunk(
                id,
                model,
                delta(json!({
                    "provider_specific_fields": {"thought_signatures": ["signature_REDACTED_1"]},
                }))
            ),
            chunk(id, model, finish("stop", stop())),
            usage_chunk(
                id,
                model,
                json!({
                    "prompt_tokens": 26,
                    "completion_tokens": 86 + 292,
                    "total_tokens": 404,
                    "prompt_tokens_details": {"text_tokens": 26},
                    "completion_tokens_details": {"reasoning_tokens": 292, "text_tokens": 86},
                })
            ),
        ])
    );
    // Without include_usage: the same chunks, minus the usage chunk.
    let without = whole(&stream, false);
    assert_eq!(without.chunks[..], replay.chunks[..replay.chunks.len() - 1]);
}

#[test]
fn tool_call_stream_chunks_in_full() {
    let stream = sse("21-", 0);
    let replay = whole(&stream, true);
    assert_eq!(replay.error, None);
    let (id, model) = ("id_REDACTED_1", "gemini-2.5-flash");
    assert_eq!(
        to_json(&replay.chunks),
        json!([
            chunk(
                id,
                model,
                delta(json!({
                    "role": "assistant",
                    "tool_calls": [{
                        "index": 0,
                        "id": "call_1__thought__signature_REDACTED_1",
                        "type": "function",
                        "function": {"name": "lookup_harbor_label", "arguments": "{}"},
                        "provider_specific_fields": {"thought_signature": "signature_REDACTED_1"},
                    }],
                    "provider_specific_fields": {"thought_signatures": ["signature_REDACTED_1"]},
                }))
            ),
            // Gemini said STOP; a turn with tool calls finishes with tool_calls, Gemini's own
            // reason and message beside it.
            chunk(id, model, finish("tool_calls", calls_stop())),
            usage_chunk(
                id,
                model,
                json!({
                    "prompt_tokens": 103,
                    "completion_tokens": 13 + 34,
                    "total_tokens": 150,
                    "prompt_tokens_details": {"text_tokens": 103},
                    "completion_tokens_details": {"reasoning_tokens": 34, "text_tokens": 13},
                })
            ),
        ])
    );
}

#[test]
fn parallel_tool_call_stream_chunks_in_full() {
    let stream = sse("22-", 0);
    let replay = whole(&stream, true);
    assert_eq!(replay.error, None);
    let (id, model) = ("id_REDACTED_1", "gemini-2.5-flash");
    assert_eq!(
        to_json(&replay.chunks),
        json!([
            chunk(
                id,
                model,
                delta(json!({
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup_harbor_label", "arguments": "{}"},
                        },
                        {
                            "index": 1,
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "lookup_orchard_label", "arguments": "{}"},
                        },
                    ],
                }))
            ),
            chunk(id, model, finish("tool_calls", calls_stop())),
            usage_chunk(
                id,
                model,
                json!({
                    "prompt_tokens": 170,
                    "completion_tokens": 26,
                    "total_tokens": 196,
                    "prompt_tokens_details": {"text_tokens": 170},
                    "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 26},
                })
            ),
        ])
    );
}

#[test]
fn thinking_stream_chunks_in_full() {
    let stream = sse("23-", 0);
    let replay = whole(&stream, true);
    assert_eq!(replay.error, None);
    let (id, model) = ("id_REDACTED_1", "gemini-3-flash-preview");
    // The expected chunks, written out from the raw events: a thought part becomes
    // reasoning_content plus a thinking block, a text part content; the role rides on the
    // first chunk only; the empty last part leaves only its signature.
    let mut expected = Vec::new();
    let mut thoughts = 0;
    let mut texts = 0;
    for event in stream
        .sse
        .split("\r\n\r\n")
        .filter(|event| !event.is_empty())
    {
        let event: Value = serde_json::from_str(event.strip_prefix("data: ").unwrap()).unwrap();
        let part = &event["candidates"][0]["content"]["parts"][0];
        let text = part["text"].as_str().unwrap();
        let mut delta_json = if part["thought"] == json!(true) {
            thoughts += 1;
            json!({"reasoning_content": text, "thinking_blocks": [{"type": "thinking", "thinking": text}]})
        } else if text.is_empty() {
            json!({"provider_specific_fields": {"thought_signatures": [part["thoughtSignature"]]}})
        } else {
            texts += 1;
            json!({"content": text})
        };
        if expected.is_empty() {
            delta_json["role"] = json!("assistant");
        }
        expected.push(chunk(id, model, delta(delta_json)));
    }
    assert_eq!((thoughts, texts, expected.len()), (8, 18, 27));
    expected.push(chunk(id, model, finish("stop", stop())));
    expected.push(usage_chunk(
        id,
        model,
        json!({
            "prompt_tokens": 37,
            "completion_tokens": 429 + 4358,
            "total_tokens": 4824,
            "prompt_tokens_details": {"text_tokens": 37},
            "completion_tokens_details": {"reasoning_tokens": 4358, "text_tokens": 429},
        }),
    ));
    assert_eq!(to_json(&replay.chunks), Value::Array(expected));
}

#[test]
fn two_terminal_stream_chunks_in_full() {
    // Gemini sends STOP on the third event and then goes on: the text after it stays in
    // the choice, and the one finish chunk comes at the end.
    let stream = sse("25-", 0);
    let replay = whole(&stream, true);
    assert_eq!(replay.error, None);
    let (id, model) = ("id_REDACTED_1", "gemini-2.5-flash");
    let code = |code: &str| {
        delta(json!({"provider_specific_fields": {"code_execution": [
            {"executableCode": {"code": code, "language": "PYTHON"}}
        ]}}))
    };
    let result = |output: &str| {
        delta(json!({"provider_specific_fields": {"code_execution": [
            {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": output}}
        ]}}))
    };
    let mut first = code("print(987654321 * 123456789)\n");
    first[0]["delta"]["role"] = json!("assistant");
    assert_eq!(
        to_json(&replay.chunks),
        json!([
            chunk(id, model, first),
            chunk(id, model, result("121932631112635269\n")),
            chunk(
                id,
                model,
                code("N = 121932631112635269\nprint(sum(int(d) for d in str(N)))\n")
            ),
            chunk(id, model, result("63\n")),
            chunk(
                id,
                model,
                delta(json!({"content": "The first number is 12193263"}))
            ),
            chunk(
                id,
                model,
                delta(json!({"content": "1112635269.\nThe second number is 63."}))
            ),
            chunk(id, model, finish("stop", stop())),
            usage_chunk(
                id,
                model,
                json!({
                    "prompt_tokens": 91 + 574,
                    "completion_tokens": 93 + 211,
                    "total_tokens": 969,
                    // 574 of the prompt are tool-use tokens (the search results).
                    "prompt_tokens_details": {"text_tokens": 91},
                    "completion_tokens_details": {"reasoning_tokens": 211, "text_tokens": 93},
                })
            ),
        ])
    );
}

/// What a client assembles from the chunks of choice 0: content, reasoning, tool calls
/// `(index, id, name, arguments)`, finish reasons seen, roles seen.
#[derive(Debug, Default, PartialEq)]
struct Assembled {
    content: Option<String>,
    reasoning: Option<String>,
    tool_calls: Vec<(u32, String, String, String)>,
    finish_reasons: Vec<String>,
    roles: usize,
}

fn assemble(chunks: &[ChatCompletionChunk], choice: u32) -> Assembled {
    let mut assembled = Assembled::default();
    for chunk in chunks {
        for entry in chunk.choices.iter().filter(|entry| entry.index == choice) {
            let delta = &entry.delta;
            assembled.roles += usize::from(delta.role.is_some());
            if let Some(text) = &delta.content {
                assembled
                    .content
                    .get_or_insert_with(String::new)
                    .push_str(text);
            }
            if let Some(text) = &delta.reasoning_content {
                assembled
                    .reasoning
                    .get_or_insert_with(String::new)
                    .push_str(text);
            }
            for call in delta.tool_calls.iter().flatten() {
                assembled.tool_calls.push((
                    call.index,
                    call.id.clone().unwrap_or_default(),
                    call.function.name.clone().unwrap_or_default(),
                    call.function.arguments.clone().unwrap_or_default(),
                ));
            }
            assembled.finish_reasons.extend(entry.finish_reason.clone());
        }
    }
    assembled
}

/// Every event's parts merged into one reply, as `generateContent` would have answered.
fn merged_reply(events: &[GenerateContentResponse]) -> GenerateContentResponse {
    let mut merged = GenerateContentResponse::default();
    for event in events {
        merged.response_id = merged.response_id.take().or(event.response_id.clone());
        merged.usage_metadata = event.usage_metadata.clone().or(merged.usage_metadata);
        for candidate in &event.candidates {
            let index = candidate.index.unwrap_or(0) as usize;
            if merged.candidates.len() <= index {
                merged.candidates.resize_with(index + 1, Default::default);
            }
            let target = &mut merged.candidates[index];
            target.index = Some(index as u32);
            if candidate.finish_reason.is_some() {
                target.finish_reason = candidate.finish_reason.clone();
            }
            if let Some(content) = &candidate.content {
                target
                    .content
                    .get_or_insert_with(Default::default)
                    .parts
                    .extend(content.parts.iter().cloned());
            }
        }
    }
    merged
}

/// The typed events of a stream without errors, as the provider decodes them.
fn events_of(sse: &str) -> Vec<GenerateContentResponse> {
    adapter_events(vec![bytes::Bytes::copy_from_slice(sse.as_bytes())])
        .into_iter()
        .map(|event| event.expect("an event"))
        .collect()
}

#[test]
fn assembled_stream_matches_the_non_streaming_translation() {
    for stream in recorded_streams() {
        let replay = whole(&stream, false);
        if replay.error.is_some() {
            continue;
        }
        let streamed = assemble(&replay.chunks, 0);
        let completion = translate_response(
            merged_reply(&events_of(&stream.sse)),
            ReplyContext {
                model: &stream.model,
                legacy_functions: false,
            },
            &SequentialIds::new(CREATED),
        )
        .expect("translates");
        let message = &completion.choices[0].message;
        let whole_reply = Assembled {
            content: message.content.clone().filter(|text| !text.is_empty()),
            reasoning: message.reasoning_content.clone(),
            tool_calls: message
                .tool_calls
                .iter()
                .flatten()
                .enumerate()
                .map(|(index, call)| {
                    (
                        index as u32,
                        call.id.clone(),
                        call.function.name.clone(),
                        call.function.arguments.clone(),
                    )
                })
                .collect(),
            finish_reasons: completion.choices[0]
                .finish_reason
                .clone()
                .into_iter()
                .collect(),
            roles: 1,
        };
        assert_eq!(streamed, whole_reply, "{}", stream.name);
        // One id, created and model across the stream.
        for chunk in &replay.chunks {
            assert_eq!(
                (&chunk.id, chunk.created, &chunk.model),
                (&completion.id, CREATED, &stream.model),
                "{}",
                stream.name
            );
        }
    }
}

/// Replays synthetic events (no SSE framing) with `include_usage`.
fn translate_events(events: &[Value]) -> Vec<ChatCompletionChunk> {
    let sse: String = events
        .iter()
        .map(|event| format!("data: {event}\r\n\r\n"))
        .collect();
    let replay = replay(&[sse.as_bytes()], "gemini-2.5-flash", true);
    assert_eq!(replay.error, None);
    replay.chunks
}

#[test]
fn parallel_calls_in_separate_events_keep_distinct_indices() {
    // LiteLLM #16188: calls streamed in different events all got index 0.
    let call = |name: &str| {
        json!({"candidates": [{"index": 0, "content": {"role": "model", "parts": [
            {"functionCall": {"name": name, "args": {"q": name}}}
        ]}}]})
    };
    let mut last = call("third");
    last["candidates"][0]["finishReason"] = json!("STOP");
    let chunks = translate_events(&[call("first"), call("second"), last]);
    let assembled = assemble(&chunks, 0);
    assert_eq!(
        assembled,
        Assembled {
            content: None,
            reasoning: None,
            tool_calls: vec![
                (
                    0,
                    "call_2".into(),
                    "first".into(),
                    r#"{"q":"first"}"#.into()
                ),
                (
                    1,
                    "call_3".into(),
                    "second".into(),
                    r#"{"q":"second"}"#.into()
                ),
                (
                    2,
                    "call_4".into(),
                    "third".into(),
                    r#"{"q":"third"}"#.into()
                ),
            ],
            finish_reasons: vec!["tool_calls".into()],
            roles: 1,
        }
    );
    // No responseId: one generated id for the whole stream.
    assert!(chunks.iter().all(|chunk| chunk.id == "chatcmpl-1"));
}

#[test]
fn each_choice_gets_one_role_and_its_own_finish_reason_last() {
    let event = |parts: Value| json!({"candidates": parts});
    let chunks = translate_events(&[
        event(json!([
            {"index": 0, "content": {"role": "model", "parts": [{"text": "A1"}]}},
            {"index": 1, "content": {"role": "model", "parts": [{"text": "B1"}]}},
        ])),
        event(json!([
            {"index": 1, "content": {"role": "model", "parts": [{"text": "B2"}]}, "finishReason": "MAX_TOKENS"},
        ])),
        event(json!([
            {"index": 0, "content": {"role": "model", "parts": [{"text": "A2"}]}, "finishReason": "SAFETY",
             "finishMessage": "flagged"},
        ])),
    ]);
    for (choice, content, reason) in [(0, "A1A2", "content_filter"), (1, "B1B2", "length")] {
        let assembled = assemble(&chunks, choice);
        assert_eq!(assembled.content.as_deref(), Some(content));
        assert_eq!(assembled.roles, 1, "choice {choice}");
        assert_eq!(assembled.finish_reasons, [reason]);
        // The finish reason is on the choice's last chunk.
        let last = chunks
            .iter()
            .flat_map(|chunk| &chunk.choices)
            .rfind(|entry| entry.index == choice)
            .unwrap();
        assert_eq!(last.finish_reason.as_deref(), Some(reason));
    }
    let finish_chunk = &chunks[chunks.len() - 2];
    assert_eq!(
        serde_json::to_value(&finish_chunk.choices).unwrap(),
        json!([
            {"index": 0, "delta": {}, "finish_reason": "content_filter",
             "provider_specific_fields": {"native_finish_reason": "SAFETY", "finish_message": "flagged"}},
            {"index": 1, "delta": {}, "finish_reason": "length",
             "provider_specific_fields": {"native_finish_reason": "MAX_TOKENS"}},
        ])
    );
}

#[test]
fn usage_only_events_send_no_chunk_and_the_usage_chunk_comes_last() {
    // LiteLLM #28884: a metadata-only chunk with `choices: []` mid-stream crashed clients.
    let chunks = translate_events(&[
        json!({"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "Hi"}]}}],
               "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5}}),
        json!({"usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "totalTokenCount": 6}}),
        json!({"candidates": [{"index": 0, "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "thoughtsTokenCount": 3,
                                 "totalTokenCount": 10}}),
    ]);
    assert_eq!(chunks.len(), 3);
    assert!(
        chunks[..2]
            .iter()
            .all(|chunk| !chunk.choices.is_empty() && chunk.usage.is_none())
    );
    let last = serde_json::to_value(&chunks[2]).unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(
        last["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10,
               "completion_tokens_details": {"reasoning_tokens": 3, "text_tokens": 2}})
    );
}

#[test]
fn grounding_on_an_event_with_nothing_else_rides_on_the_next_chunk() {
    let grounding = json!({"webSearchQueries": ["rust tower"]});
    let chunks = translate_events(&[
        json!({"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "Answer."}]}}]}),
        json!({"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": ""}]},
               "finishReason": "STOP", "groundingMetadata": grounding}],
               "usageMetadata": {"promptTokenCount": 1, "totalTokenCount": 2}}),
    ]);
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[1].choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        chunks[1].vertex_ai_grounding_metadata,
        Some(vec![grounding])
    );
    assert_eq!(
        chunks[2]
            .usage
            .as_ref()
            .and_then(|usage| usage.prompt_tokens_details.as_ref())
            .and_then(|details| details.web_search_requests),
        Some(1)
    );
}

#[test]
fn text_after_code_execution_in_a_later_event_is_separated_as_in_the_whole_reply() {
    let event = |part: Value| json!({"candidates": [{"index": 0, "content": {"role": "model", "parts": [part]}}]});
    let events = [
        event(json!({"text": "Let me compute."})),
        event(json!({"executableCode": {"language": "PYTHON", "code": "print(6*7)"}})),
        event(json!({"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "42\n"}})),
        event(json!({"text": "It is 42."})),
        event(json!({"text": " Done."})),
    ];
    let chunks = translate_events(&events);
    let merged: Vec<GenerateContentResponse> = events
        .iter()
        .map(|event| serde_json::from_value(event.clone()).unwrap())
        .collect();
    let completion = translate_response(
        merged_reply(&merged),
        ReplyContext {
            model: "gemini-2.5-flash",
            legacy_functions: false,
        },
        &SequentialIds::new(CREATED),
    )
    .unwrap();
    let expected = "Let me compute.\n\nIt is 42. Done.";
    assert_eq!(
        completion.choices[0].message.content.as_deref(),
        Some(expected)
    );
    assert_eq!(assemble(&chunks, 0).content.as_deref(), Some(expected));
}

#[test]
fn a_blocked_prompt_finishes_with_content_filter() {
    let chunks = translate_events(&[json!({
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}
    })]);
    assert_eq!(
        serde_json::to_value(&chunks[0].choices).unwrap(),
        json!([{"index": 0, "delta": {"role": "assistant"}, "finish_reason": "content_filter",
                "provider_specific_fields": {"native_finish_reason": "PROHIBITED_CONTENT"}}])
    );
    assert_eq!(chunks[1].choices, []);
}

/// Every recorded stream with its whole-body replay, computed once.
fn streams_and_replays() -> &'static [(Recorded, Replay)] {
    static CACHE: std::sync::OnceLock<Vec<(Recorded, Replay)>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        recorded_streams()
            .into_iter()
            .map(|stream| {
                let replay = whole(&stream, true);
                (stream, replay)
            })
            .collect()
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    #[test]
    fn random_split_points_never_change_the_chunks(
        which in 0usize..1000,
        cuts in proptest::collection::vec(0.0f64..=1.0, 0..48),
    ) {
        let all = streams_and_replays();
        let (stream, expected) = &all[which % all.len()];
        let bytes = stream.sse.as_bytes();
        let mut points: Vec<usize> =
            cuts.iter().map(|cut| (cut * bytes.len() as f64) as usize).collect();
        points.sort_unstable();
        let mut parts = Vec::new();
        let mut start = 0;
        for point in points {
            parts.push(&bytes[start..point]);
            start = point;
        }
        parts.push(&bytes[start..]);
        let got = replay(&parts, &stream.model, true);
        proptest::prop_assert_eq!(&got, expected, "{}", stream.name);
    }
}

/// A body that hands out the given frames, in order.
struct Frames(std::collections::VecDeque<bytes::Bytes>);

impl http_body::Body for Frames {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Ready(
            self.0
                .pop_front()
                .map(|data| Ok(http_body::Frame::data(data))),
        )
    }
}

/// Drains `GeminiEvents` over `frames` with a no-op waker (the body is always ready).
fn adapter_events(frames: Vec<bytes::Bytes>) -> Vec<Result<GenerateContentResponse, String>> {
    use futures_core::Stream;
    let mut events = std::pin::pin!(llm_tower::gemini::GeminiEvents::new(Frames(frames.into())));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let mut out = Vec::new();
    loop {
        match events.as_mut().poll_next(&mut context) {
            std::task::Poll::Ready(Some(item)) => out.push(item.map_err(|error| error.to_string())),
            std::task::Poll::Ready(None) => return out,
            std::task::Poll::Pending => panic!("an always-ready body made the adapter wait"),
        }
    }
}

#[test]
fn the_sse_adapter_gives_the_same_events_however_the_body_is_framed() {
    for (stream, _) in streams_and_replays() {
        let bytes = bytes::Bytes::from(stream.sse.clone());
        let expected = adapter_events(vec![bytes.clone()]);
        assert!(!expected.is_empty(), "{}", stream.name);
        let one_byte = (0..bytes.len()).map(|at| bytes.slice(at..at + 1)).collect();
        assert_eq!(
            adapter_events(one_byte),
            expected,
            "{}: 1-byte frames",
            stream.name
        );
        for seed in 0..8 {
            let frames = random_split(&bytes, seed, 2 + seed as usize * 5)
                .into_iter()
                .map(bytes::Bytes::copy_from_slice)
                .collect();
            assert_eq!(
                adapter_events(frames),
                expected,
                "{}: seed {seed}",
                stream.name
            );
        }
    }
}

#[test]
fn the_sse_adapter_reports_mid_stream_errors_and_truncation() {
    let events = |prefix: &str| {
        let stream = sse(prefix, 0);
        adapter_events(vec![bytes::Bytes::from(stream.sse)])
    };
    let error_after_first = events("73-");
    assert_eq!(error_after_first.len(), 2);
    assert!(error_after_first[0].is_ok());
    assert_eq!(
        error_after_first[1].as_ref().unwrap_err(),
        "Gemini answered 503 Service Unavailable: The model is overloaded. Please try again later."
    );
    let truncated = events("74-");
    assert_eq!(truncated.len(), 2);
    assert!(truncated[0].is_ok());
    assert_eq!(
        truncated[1].as_ref().unwrap_err(),
        "Gemini event stream ended early: an event ended in the middle of its JSON"
    );
    // An error object with whitespace before its key is still an error, not an empty event.
    let spaced = adapter_events(vec![bytes::Bytes::from_static(
        b"data: { \"error\": {\"code\": 429, \"message\": \"slow down\", \"status\": \"RESOURCE_EXHAUSTED\"}}\n\n",
    )]);
    assert_eq!(
        spaced,
        [Err(
            "Gemini answered 429 Too Many Requests: slow down".to_owned()
        )]
    );
    // A body that ends before any event.
    assert_eq!(
        adapter_events(vec![]),
        [Err(
            "Gemini event stream ended early: no event before the end of the stream".to_owned()
        )]
    );
}

#[test]
fn a_recorded_stream_gives_the_same_responses_events_split_at_every_byte() {
    let stream = sse("18", 0);
    let events = |parts: &[&[u8]]| -> Vec<ResponseEvent> {
        let replay = replay(parts, &stream.model, true);
        assert_eq!(replay.error, None);
        let request = serde_json::from_value(json!({
            "model": stream.model, "input": "x", "stream": true,
            "reasoning": {"effort": "medium", "summary": "auto"}
        }))
        .expect("a request");
        let plan = plan(
            request,
            "resp_0123456789abcdef0123456789abcdef".to_owned(),
            CREATED,
        )
        .expect("a plan");
        let mut mapper = StreamMapper::new(plan.response, plan.show);
        let mut events = Vec::new();
        for chunk in replay.chunks {
            events.extend(mapper.chunk(chunk));
        }
        events.extend(mapper.finish().0);
        events
    };
    let bytes = stream.sse.as_bytes();
    let whole = events(&[bytes]);
    let kinds: Vec<Value> = whole
        .iter()
        .map(|event| serde_json::to_value(event).expect("JSON")["type"].clone())
        .collect();
    assert!(kinds.contains(&json!("response.reasoning_summary_text.delta")));
    assert!(kinds.contains(&json!("response.output_text.delta")));
    assert_eq!(kinds.last(), Some(&json!("response.completed")));
    for cut in 0..=bytes.len() {
        assert_eq!(
            events(&[&bytes[..cut], &bytes[cut..]]),
            whole,
            "{}: cut at byte {cut}",
            stream.name
        );
    }
    let one_byte: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(events(&one_byte), whole, "{}: 1-byte chunks", stream.name);
}
