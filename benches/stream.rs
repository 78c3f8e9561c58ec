//! The streaming hot path: SSE decode + Gemini event parse + chunk translation + OpenAI SSE
//! encode, for a realistic 20-event stream delivered in ~1 KB network chunks.
//!
//! Throughput is reported per event (`Throughput::Elements(20)`); the target is under
//! 2 µs per event. Run: `cargo bench --bench stream -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llm_tower::gemini::translate::StreamTranslator;
use llm_tower::gemini::translate::{ReplyContext, SequentialIds};
use llm_tower::gemini::wire::GenerateContentResponse;
use llm_tower::openai::ChatCompletionChunk;
use llm_tower::sse::{SseDecoder, encode_data};
use serde_json::Value;

const EVENTS: usize = 20;
const NETWORK_CHUNK: usize = 1024;
const MODEL: &str = "gemini-3-flash-preview";

/// The recorded smoke stream (one thought event, four text events, a closing event with
/// the signature and STOP), extended to 20 events by repeating its text events: the
/// shape of a typical answer with thinking on.
fn realistic_stream() -> Vec<u8> {
    let fixture: Value = serde_json::from_str(include_str!(
        "../tests/fixtures/gemini/18-streaming--streaming-smoke.json"
    ))
    .expect("fixture");
    let sse = fixture["exchanges"][0]["response"]["sse"]
        .as_str()
        .expect("an SSE reply");
    let events: Vec<&str> = sse.split_terminator("\r\n\r\n").collect();
    assert_eq!(events.len(), 6);
    let (first, rest) = events.split_first().expect("events");
    let (last, texts) = rest.split_last().expect("events");
    let mut stream = String::new();
    stream.push_str(first);
    stream.push_str("\r\n\r\n");
    for text in texts.iter().cycle().take(EVENTS - 2) {
        stream.push_str(text);
        stream.push_str("\r\n\r\n");
    }
    stream.push_str(last);
    stream.push_str("\r\n\r\n");
    stream.into_bytes()
}

fn network_chunks(bytes: &[u8]) -> Vec<Bytes> {
    bytes
        .chunks(NETWORK_CHUNK)
        .map(Bytes::copy_from_slice)
        .collect()
}

fn context() -> ReplyContext<'static> {
    ReplyContext {
        model: MODEL,
        legacy_functions: false,
    }
}

/// The whole path; returns the encoded bytes written (so nothing is optimised away).
fn decode_translate_encode(chunks: &[Bytes], ids: &SequentialIds) -> usize {
    let mut decoder = SseDecoder::new();
    let mut translator = StreamTranslator::new(context(), true);
    let mut written = 0;
    let mut events = 0;
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(event) = decoder.next_event().expect("decodes") {
            events += 1;
            let event: GenerateContentResponse =
                serde_json::from_str(&event.data).expect("an event");
            for chunk in translator.event(event, ids) {
                written += encode_data(&chunk).expect("encodes").len();
            }
        }
    }
    for chunk in translator.finish(ids) {
        written += encode_data(&chunk).expect("encodes").len();
    }
    assert_eq!(events, EVENTS);
    written
}

fn bench(c: &mut Criterion) {
    let stream = realistic_stream();
    let chunks = network_chunks(&stream);
    let ids = SequentialIds::new(1_700_000_000);

    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("decode_translate_encode_20_events", |b| {
        b.iter(|| decode_translate_encode(black_box(&chunks), &ids))
    });

    // The parts on their own, to see where the time goes.
    group.bench_function("sse_decode_only", |b| {
        b.iter(|| {
            let mut decoder = SseDecoder::new();
            let mut bytes = 0;
            for chunk in black_box(&chunks) {
                decoder.push(chunk);
                while let Some(event) = decoder.next_event().expect("decodes") {
                    bytes += event.data.len();
                }
            }
            bytes
        })
    });
    let mut decoder = SseDecoder::new();
    decoder.push(&stream);
    let mut datas = Vec::new();
    while let Some(event) = decoder.next_event().expect("decodes") {
        datas.push(event.data);
    }
    group.bench_function("event_parse_only", |b| {
        b.iter(|| {
            for data in black_box(&datas) {
                black_box(serde_json::from_str::<GenerateContentResponse>(data).expect("event"));
            }
        })
    });
    let events: Vec<GenerateContentResponse> = datas
        .iter()
        .map(|data| serde_json::from_str(data).expect("event"))
        .collect();
    group.bench_function("translate_only", |b| {
        b.iter_batched(
            || events.clone(),
            |events| {
                let mut translator = StreamTranslator::new(context(), true);
                let mut chunks = Vec::with_capacity(EVENTS + 2);
                for event in events {
                    chunks.extend(translator.event(event, &ids));
                }
                chunks.extend(translator.finish(&ids));
                chunks
            },
            criterion::BatchSize::SmallInput,
        )
    });
    let mut translator = StreamTranslator::new(context(), true);
    let mut translated: Vec<ChatCompletionChunk> = Vec::new();
    for event in events.iter().cloned() {
        translated.extend(translator.event(event, &ids));
    }
    translated.extend(translator.finish(&ids));
    group.bench_function("encode_only", |b| {
        b.iter(|| {
            black_box(&translated)
                .iter()
                .map(|chunk| encode_data(chunk).expect("encodes").len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
