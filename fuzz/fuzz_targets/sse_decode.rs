//! Fuzzes the incremental SSE decoder: the first input byte picks where the
//! rest is split into two chunks; decoding must never panic, and it must
//! give the same result as decoding the rest in one chunk.

#![no_main]

use libfuzzer_sys::fuzz_target;
use llm_tower::sse::{SseDecoder, SseError, SseEvent};

/// Pushes each chunk and drains events after it, then drains `finish()`.
/// Stops at the first error, which is returned with the events before it.
fn decode(chunks: &[&[u8]]) -> (Vec<SseEvent>, Option<SseError>) {
    let mut decoder = SseDecoder::with_max_event_size(1024);
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        loop {
            match decoder.next_event() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(err) => return (events, Some(err)),
            }
        }
    }
    loop {
        match decoder.finish() {
            Ok(Some(event)) => events.push(event),
            Ok(None) => return (events, None),
            Err(err) => return (events, Some(err)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let at = usize::from(first) % (rest.len() + 1);
    let (a, b) = rest.split_at(at);
    let split = decode(&[a, b]);
    assert_eq!(split, decode(&[rest]));
});
