//! Fuzzes the streaming path without I/O: SSE bytes → `SseDecoder` → Gemini events
//! (invalid JSON is skipped) → `StreamTranslator` → `encode_data` per chunk.
//!
//! The first input byte picks the options (`include_usage`, legacy functions) and a seed
//! for where the rest is cut into network chunks. Nothing may panic; the encoded stream
//! must not depend on where the bytes were cut; every encoded chunk must be one
//! `data: …\n\n` event whose JSON has no raw newline.
//!
//! Seed the corpus with the recorded streams, e.g.
//! `jq -r '.exchanges[].response.sse // empty' tests/fixtures/gemini/*.json`, one file
//! each, prefixed with one option byte.

#![no_main]

use libfuzzer_sys::fuzz_target;
use llm_tower::gemini::translate::StreamTranslator;
use llm_tower::gemini::translate::{ReplyContext, SequentialIds};
use llm_tower::gemini::wire::GenerateContentResponse;
use llm_tower::sse::{SseDecoder, encode_data};

/// Small events keep each run fast; the limit is part of what is fuzzed.
const MAX_EVENT: usize = 64 * 1024;

/// Decodes, translates and encodes `chunks`; returns the encoded events and whether the
/// decoder stopped with an error.
fn run(chunks: &[&[u8]], include_usage: bool, legacy_functions: bool) -> (Vec<u8>, bool) {
    let ids = SequentialIds::new(1_700_000_000);
    let context = ReplyContext {
        model: "gemini-2.5-flash",
        legacy_functions,
    };
    let mut translator = StreamTranslator::new(context, include_usage);
    let mut decoder = SseDecoder::with_max_event_size(MAX_EVENT);
    let mut out = Vec::new();
    let emit = |translator: &mut StreamTranslator, data: &str, out: &mut Vec<u8>| {
        if let Ok(event) = serde_json::from_str::<GenerateContentResponse>(data) {
            for chunk in translator.event(event, &ids) {
                encode(&chunk, out);
            }
        }
    };
    for chunk in chunks {
        decoder.push(chunk);
        loop {
            match decoder.next_event() {
                Ok(Some(event)) => emit(&mut translator, &event.data, &mut out),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    loop {
        match decoder.finish() {
            Ok(Some(event)) => emit(&mut translator, &event.data, &mut out),
            Ok(None) => break,
            Err(_) => return (out, true),
        }
    }
    for chunk in translator.finish(&ids) {
        encode(&chunk, &mut out);
    }
    (out, false)
}

fn encode<T: serde::Serialize>(chunk: &T, out: &mut Vec<u8>) {
    let event = encode_data(chunk).expect("a chunk always serializes");
    let json = event
        .strip_prefix(b"data: ")
        .and_then(|rest| rest.strip_suffix(b"\n\n"))
        .expect("one data event");
    assert!(
        !json.contains(&b'\n') && !json.contains(&b'\r'),
        "a raw line break in an event"
    );
    out.extend_from_slice(&event);
}

fuzz_target!(|data: &[u8]| {
    let Some((&options, rest)) = data.split_first() else {
        return;
    };
    let include_usage = options & 1 != 0;
    let legacy_functions = options & 2 != 0;
    let whole = run(&[rest], include_usage, legacy_functions);

    // Cut points from a tiny xorshift seeded by the option byte.
    let mut state = u64::from(options).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut cuts = Vec::new();
    for _ in 0..(options >> 2) % 16 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        cuts.push(usize::try_from(state % (rest.len() as u64 + 1)).unwrap_or(0));
    }
    cuts.sort_unstable();
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        chunks.push(&rest[start..cut]);
        start = cut;
    }
    chunks.push(&rest[start..]);
    let split = run(&chunks, include_usage, legacy_functions);
    assert_eq!(split, whole, "the cut points changed the output");

    let one_byte: Vec<&[u8]> = rest.chunks(1).collect();
    assert_eq!(run(&one_byte, include_usage, legacy_functions), whole);
});
