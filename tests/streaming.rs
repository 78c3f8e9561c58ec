//! Streaming end to end: the real provider stack against a stand-in for Gemini, through
//! `Client::chat_stream` and through the HTTP edge (`ChatEdge`, SSE out). Commit late (the
//! edge answers only after the first upstream event; an error before it is an ordinary
//! HTTP error), errors after the first byte, truncation, cancellation on disconnect,
//! backpressure and bounded memory in the SSE adapter.

mod common;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use common::{
    CREATED, StandIn, TEST_KEY, body_bytes, chat, exchange, fixture_file, recorded, sse_payloads,
};
use futures_util::StreamExt;
use http::StatusCode;
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use llm_tower::Secret;
use llm_tower::edge::{ChatEdge, EdgeBody};
use llm_tower::gemini::GeminiEvents;
use llm_tower::gemini::translate::StreamTranslator;
use llm_tower::gemini::translate::{ReplyContext, SequentialIds};
use llm_tower::gemini::{Gemini, pricing};
use llm_tower::sse::SseDecoder;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const FLASH: &str = "gemini-2.5-flash";

/// What the pure translator makes of `sse` with fresh sequential ids, the usage priced
/// at the bundled price of `model`: the chunks a clean stream must deliver, as JSON.
fn expected_chunks(model: &str, sse: &str, include_usage: bool) -> Vec<Value> {
    let ids = SequentialIds::new(CREATED);
    let context = ReplyContext {
        model,
        legacy_functions: false,
    };
    let mut translator = StreamTranslator::new(context, include_usage);
    let mut decoder = SseDecoder::new();
    decoder.push(sse.as_bytes());
    let mut chunks = Vec::new();
    while let Some(event) = decoder.next_event().expect("decodes") {
        chunks.extend(translator.event(serde_json::from_str(&event.data).expect("event"), &ids));
    }
    chunks.extend(translator.finish(&ids));
    for usage in chunks.iter_mut().filter_map(|chunk| chunk.usage.as_mut()) {
        pricing::price_usage(usage, pricing::bundled().get(model), None);
    }
    chunks
        .iter()
        .map(|chunk| serde_json::to_value(chunk).expect("serializes"))
        .collect()
}

fn stream_request(model: &str, include_usage: bool) -> Value {
    let mut request = json!({
        "model": model,
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": true,
    });
    if include_usage {
        request["stream_options"] = json!({"include_usage": true});
    }
    request
}

fn post(body: &Value) -> http::Request<Full<Bytes>> {
    http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid request")
}

/// Calls the edge over `stand_in`'s provider.
async fn edge_call(stand_in: &StandIn, body: &Value) -> http::Response<EdgeBody> {
    ChatEdge::new(stand_in.gemini.chat_service())
        .oneshot(post(body))
        .await
        .expect("the edge never fails")
}

fn assert_sse_headers(response: &http::Response<EdgeBody>) {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
}

async fn reply_sse_status(stand_in: &StandIn, model: &str, status: u16, body: Vec<u8>) {
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1beta/models/{model}:streamGenerateContent"
        )))
        .and(query_param("alt", "sse"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body, "text/event-stream"))
        .mount(&stand_in.server)
        .await;
}

#[tokio::test]
async fn the_edge_streams_every_recorded_reply_as_openai_sse() {
    for prefix in ["18", "19", "20", "21", "22", "23", "24", "25", "26", "38"] {
        for include_usage in [false, true] {
            let (model, sse) = recorded(prefix, 0);
            let stand_in = StandIn::start().await;
            stand_in.reply_sse(&model, &sse).await;
            let response = edge_call(&stand_in, &stream_request(&model, include_usage)).await;
            assert_sse_headers(&response);
            let payloads = sse_payloads(&body_bytes(response).await);
            let (done, chunks) = payloads.split_last().expect("events");
            assert_eq!(done, "[DONE]", "{prefix}: [DONE] last");
            let chunks: Vec<Value> = chunks
                .iter()
                .map(|chunk| serde_json::from_str(chunk).expect("JSON chunk"))
                .collect();
            assert_eq!(
                chunks,
                expected_chunks(&model, &sse, include_usage),
                "{prefix} include_usage={include_usage}"
            );
            let last = chunks.last().expect("chunks");
            if include_usage {
                assert_eq!(last["choices"], json!([]), "{prefix}: usage chunk last");
                assert!(last["usage"]["total_tokens"].as_u64() > Some(0));
            } else {
                assert!(chunks.iter().all(|chunk| chunk.get("usage").is_none()));
                assert!(last["choices"][0]["finish_reason"].is_string());
            }
            // The request went to streamGenerateContent with the key in the header.
            let received = stand_in.server.received_requests().await.expect("recorded");
            assert_eq!(received.len(), 1);
            assert_eq!(received[0].url.query(), Some("alt=sse"));
        }
    }
}

#[tokio::test]
async fn the_edge_sends_the_usage_chunk_of_a_cached_stream() {
    let (model, sse) = recorded("44", 1);
    let stand_in = StandIn::start().await;
    stand_in.reply_sse(&model, &sse).await;
    let response = edge_call(&stand_in, &stream_request(&model, true)).await;
    assert_sse_headers(&response);
    let payloads = sse_payloads(&body_bytes(response).await);
    assert_eq!(payloads.len(), 4);
    assert_eq!(
        serde_json::from_str::<Value>(&payloads[2]).unwrap(),
        json!({
            "id": "id_REDACTED_1", "object": "chat.completion.chunk", "created": CREATED,
            "model": model, "choices": [],
            "usage": {"prompt_tokens": 1087, "completion_tokens": 2, "total_tokens": 1089,
                      // 1087 prompt tokens, all text, 1081 of them from the cache.
                      "prompt_tokens_details": {"cached_tokens": 1081, "text_tokens": 1087,
                                                "cached_tokens_details": {"text_tokens": 1081}},
                      "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 2},
                      "cache_read_input_tokens": 1081,
                      // gemini-2.5-flash: 6 × $0.30/M + 1081 cached × $0.03/M + 2 × $2.50/M.
                      "cost": 0.00003923}
        })
    );
    assert_eq!(payloads[3], "[DONE]");
}

#[tokio::test]
async fn an_unknown_model_streaming_404_is_the_same_http_error_as_without_streaming() {
    // Gemini answers the streaming call with a 404 whose content type is
    // text/event-stream and whose body is plain JSON (fixture 51).
    let (stream_request_json, stream_response) = exchange(&fixture_file("51"), 0);
    assert_eq!(
        stream_response["headers"]["content-type"],
        "text/event-stream"
    );
    let model = "gemini-nonexistent-rig-test";
    assert!(
        stream_request_json["path"]
            .as_str()
            .unwrap()
            .contains(model)
    );
    let stand_in = StandIn::start().await;
    reply_sse_status(
        &stand_in,
        model,
        404,
        serde_json::to_vec(&stream_response["body"]).unwrap(),
    )
    .await;
    let (_, plain_response) = exchange(&fixture_file("50"), 0);
    stand_in
        .reply_json(model, 404, &plain_response["body"])
        .await;

    let streamed = edge_call(&stand_in, &stream_request(model, true)).await;
    assert_eq!(streamed.status(), StatusCode::NOT_FOUND);
    assert_eq!(streamed.headers()["content-type"], "application/json");
    let streamed_body: Value = serde_json::from_slice(&body_bytes(streamed).await).unwrap();
    assert_eq!(
        streamed_body,
        json!({"error": {
            "message": "Gemini: models/gemini-nonexistent-rig-test is not found for API version v1beta, or is not supported for generateContent. Call ModelService.ListModels to see the list of available models and their supported methods.",
            "type": "not_found_error",
            "param": null,
            "code": "NOT_FOUND",
        }})
    );

    let plain = edge_call(
        &stand_in,
        &json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await;
    assert_eq!(plain.status(), StatusCode::NOT_FOUND);
    let plain_body: Value = serde_json::from_slice(&body_bytes(plain).await).unwrap();
    assert_eq!(streamed_body, plain_body);

    // The client sees the same error before any chunk.
    let error = stand_in
        .client()
        .chat_stream(chat(stream_request(model, false)))
        .await
        .err()
        .expect("an error, not a stream");
    assert_eq!(error.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_error_event_before_the_first_chunk_is_an_http_error() {
    // Commit late: the 200 is not sent before the first event, so an error that arrives
    // as the first event is still an ordinary HTTP error, with Retry-After.
    let (_, response) = exchange(&fixture_file("65"), 0);
    let error = serde_json::to_string(&response["body"]).unwrap();
    let stand_in = StandIn::start().await;
    stand_in
        .reply_sse(FLASH, &format!("data: {error}\r\n\r\n"))
        .await;
    let streamed = edge_call(&stand_in, &stream_request(FLASH, false)).await;
    assert_eq!(streamed.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(streamed.headers()["content-type"], "application/json");
    assert_eq!(streamed.headers()["retry-after"], "17");
    let streamed_body: Value = serde_json::from_slice(&body_bytes(streamed).await).unwrap();

    // The same reply without streaming gives the same response.
    stand_in.reply_json(FLASH, 429, &response["body"]).await;
    let plain = edge_call(
        &stand_in,
        &json!({"model": FLASH, "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await;
    assert_eq!(plain.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(plain.headers()["retry-after"], "17");
    let plain_body: Value = serde_json::from_slice(&body_bytes(plain).await).unwrap();
    assert_eq!(streamed_body, plain_body);
    assert_eq!(streamed_body["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn an_empty_stream_is_an_http_error() {
    let stand_in = StandIn::start().await;
    stand_in.reply_sse(FLASH, "").await;
    let response = edge_call(&stand_in, &stream_request(FLASH, false)).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body: Value = serde_json::from_slice(&body_bytes(response).await).unwrap();
    assert_eq!(
        body["error"]["message"],
        "Gemini event stream ended early: no event before the end of the stream"
    );
}

#[tokio::test]
async fn an_error_after_the_first_event_is_one_error_event_and_no_done() {
    let (model, sse) = recorded("73", 0);
    let stand_in = StandIn::start().await;
    stand_in.reply_sse(&model, &sse).await;
    let response = edge_call(&stand_in, &stream_request(&model, true)).await;
    assert_sse_headers(&response);
    let payloads = sse_payloads(&body_bytes(response).await);
    let events: Vec<Value> = payloads
        .iter()
        .map(|payload| serde_json::from_str(payload).expect("JSON, no [DONE]"))
        .collect();
    assert_eq!(
        events,
        [
            json!({
                "id": "synthetic-stream-err", "object": "chat.completion.chunk",
                "created": CREATED, "model": model,
                "choices": [{"index": 0, "delta": {"role": "assistant",
                             "content": "The first part of the answer"}, "finish_reason": null}],
            }),
            json!({"error": {
                "message": "Gemini: The model is overloaded. Please try again later.",
                "type": "service_unavailable_error",
                "param": null,
                "code": "UNAVAILABLE",
            }}),
        ]
    );
}

#[tokio::test]
async fn a_truncated_stream_ends_with_an_error_event() {
    let (model, sse) = recorded("74", 0);
    let stand_in = StandIn::start().await;
    stand_in.reply_sse(&model, &sse).await;
    let response = edge_call(&stand_in, &stream_request(&model, false)).await;
    assert_sse_headers(&response);
    let payloads = sse_payloads(&body_bytes(response).await);
    assert_eq!(payloads.len(), 2, "{payloads:?}");
    let first: Value = serde_json::from_str(&payloads[0]).unwrap();
    assert_eq!(first["choices"][0]["delta"]["content"], "Half an ans");
    let error: Value = serde_json::from_str(&payloads[1]).unwrap();
    assert_eq!(
        error,
        json!({"error": {
            "message": "Gemini event stream ended early: an event ended in the middle of its JSON",
            "type": "service_unavailable_error",
            "param": null,
            "code": "BadGatewayError",
        }})
    );
}

#[tokio::test]
async fn chat_stream_yields_the_chunks() {
    let (model, sse) = recorded("22", 0);
    let stand_in = StandIn::start().await;
    stand_in.reply_sse(&model, &sse).await;
    let stream = stand_in
        .client()
        .chat_stream(chat(stream_request(&model, true)))
        .await
        .expect("a stream");
    let chunks: Vec<Value> = stream
        .map(|chunk| serde_json::to_value(chunk.expect("a chunk")).unwrap())
        .collect()
        .await;
    assert_eq!(chunks, expected_chunks(&model, &sse, true));
    assert_eq!(chunks.len(), 3);
    assert_eq!(
        chunks[0]["choices"][0]["delta"]["tool_calls"][1]["function"]["name"],
        "lookup_orchard_label"
    );
}

#[tokio::test]
async fn chat_stream_ends_with_the_error_after_the_first_chunk() {
    let (model, sse) = recorded("73", 0);
    let stand_in = StandIn::start().await;
    stand_in.reply_sse(&model, &sse).await;
    let items: Vec<_> = stand_in
        .client()
        .chat_stream(chat(stream_request(&model, true)))
        .await
        .expect("a stream")
        .collect()
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items[0].is_ok());
    let error = items[1].as_ref().unwrap_err();
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
}

// ---------------------------------------------------------------------------------------
// A raw TCP stand-in: full control over when bytes are sent and whether the client hung up.

/// An upstream that accepts one connection, reads the request, sends SSE headers, then
/// does what the test says.
struct RawUpstream {
    socket: TcpStream,
}

impl RawUpstream {
    /// Binds; the returned future accepts the connection and reads the whole request.
    async fn bind() -> (String, impl Future<Output = RawUpstream>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("address");
        let accept = async move {
            let (mut socket, _) = listener.accept().await.expect("accepts");
            let mut request = Vec::new();
            let mut buffer = [0; 4096];
            let body_start = loop {
                let read = socket.read(&mut buffer).await.expect("reads the request");
                assert!(read > 0, "client closed before sending its request");
                request.extend_from_slice(&buffer[..read]);
                if let Some(at) = request.windows(4).position(|window| window == b"\r\n\r\n") {
                    break at + 4;
                }
            };
            let head = String::from_utf8_lossy(&request[..body_start]).to_ascii_lowercase();
            assert!(head.starts_with(
                "post /v1beta/models/gemini-2.5-flash:streamgeneratecontent?alt=sse "
            ));
            assert!(head.contains(&format!(
                "x-goog-api-key: {}",
                TEST_KEY.to_ascii_lowercase()
            )));
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map(|value| value.trim().parse().expect("a length"))
                .expect("a content-length");
            while request.len() < body_start + length {
                let read = socket.read(&mut buffer).await.expect("reads the body");
                assert!(read > 0);
                request.extend_from_slice(&buffer[..read]);
            }
            socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                      transfer-encoding: chunked\r\n\r\n",
                )
                .await
                .expect("writes headers");
            RawUpstream { socket }
        };
        (format!("http://{addr}/v1beta"), accept)
    }

    /// Sends `data` as one HTTP chunk.
    async fn send(&mut self, data: &str) {
        let frame = format!("{:x}\r\n{data}\r\n", data.len());
        self.socket
            .write_all(frame.as_bytes())
            .await
            .expect("writes");
        self.socket.flush().await.expect("flushes");
    }

    /// Whether the client closed the connection within `wait`: a read returns 0 or fails.
    async fn sees_close_within(&mut self, wait: Duration) -> bool {
        let mut buffer = [0; 64];
        matches!(
            tokio::time::timeout(wait, self.socket.read(&mut buffer)).await,
            Ok(Ok(0) | Err(_))
        )
    }
}

fn event(text: &str) -> String {
    format!(
        "data: {}\r\n\r\n",
        json!({"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": text}]}}],
               "responseId": "raw"})
    )
}

fn raw_provider(api_base: String) -> Gemini {
    Gemini::builder()
        .api_base(api_base)
        .api_key(Secret::new(TEST_KEY))
        .ids(Arc::new(SequentialIds::new(CREATED)))
        .build()
        .expect("provider builds")
}

#[tokio::test]
async fn dropping_the_chunk_stream_closes_the_upstream_connection() {
    let (api_base, accept) = RawUpstream::bind().await;
    let client = llm_tower::Client::new(raw_provider(api_base).chat_service());
    let request = chat(stream_request(FLASH, false));
    let (stream, mut upstream) = tokio::join!(client.chat_stream(request), accept);
    let mut stream = stream.expect("a stream");
    upstream.send(&event("first")).await;
    let first = stream.next().await.expect("a chunk").expect("ok");
    assert_eq!(first.choices[0].delta.content.as_deref(), Some("first"));
    // The upstream is still open while the stream lives.
    assert!(!upstream.sees_close_within(Duration::from_millis(200)).await);
    drop(stream);
    assert!(
        upstream.sees_close_within(Duration::from_secs(1)).await,
        "the upstream connection stayed open after the client dropped the stream"
    );
}

#[tokio::test]
async fn the_edge_commits_late_and_a_disconnect_closes_the_upstream() {
    let (api_base, accept) = RawUpstream::bind().await;
    let edge = ChatEdge::new(raw_provider(api_base).chat_service());
    let call = tokio::spawn(edge.oneshot(post(&stream_request(FLASH, false))));
    let mut upstream = accept.await;
    // Headers from Gemini, but no event yet: the edge has not answered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !call.is_finished(),
        "the edge answered before the first event"
    );
    upstream.send(&event("first")).await;
    let response = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the edge answers once the first event is in")
        .expect("no panic")
        .expect("the edge never fails");
    assert_sse_headers(&response);
    let mut body = response.into_body();
    let frame = body.frame().await.expect("a frame").expect("ok");
    let payload = sse_payloads(frame.data_ref().expect("data"));
    let chunk: Value = serde_json::from_str(&payload[0]).unwrap();
    assert_eq!(chunk["choices"][0]["delta"]["content"], "first");
    // The next event reaches the client as it arrives.
    upstream.send(&event("second")).await;
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the second event is forwarded")
        .expect("a frame")
        .expect("ok");
    assert!(
        std::str::from_utf8(frame.data_ref().unwrap())
            .unwrap()
            .contains("\"second\"")
    );
    // The client hangs up: the upstream request is dropped at once.
    drop(body);
    assert!(
        upstream.sees_close_within(Duration::from_secs(1)).await,
        "the upstream connection stayed open after the client went away"
    );
}

// ---------------------------------------------------------------------------------------
// Backpressure and bounded memory in the SSE adapter.

/// A body that serves `frames` and counts how many frames were pulled; when `endless`,
/// it repeats the last frame forever.
struct CountingBody {
    frames: VecDeque<Bytes>,
    pulled: Arc<AtomicUsize>,
    endless: Option<Bytes>,
}

impl http_body::Body for CountingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let next = self.frames.pop_front().or_else(|| self.endless.clone());
        if next.is_some() {
            self.pulled.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Ready(next.map(|data| Ok(Frame::data(data))))
    }
}

fn poll_once<S: futures_core::Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    let mut context = Context::from_waker(std::task::Waker::noop());
    Pin::new(stream).poll_next(&mut context)
}

#[test]
fn the_sse_adapter_reads_the_body_only_as_fast_as_it_is_polled() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let frames: VecDeque<Bytes> = (0..10)
        .map(|n| Bytes::from(event(&n.to_string())))
        .collect();
    let mut events = GeminiEvents::new(CountingBody {
        frames,
        pulled: pulled.clone(),
        endless: None,
    });
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        0,
        "nothing is read before a poll"
    );
    for n in 0..3 {
        let Poll::Ready(Some(Ok(event))) = poll_once(&mut events) else {
            panic!("an event");
        };
        assert_eq!(
            event.candidates[0].content.as_ref().unwrap().parts[0]
                .text
                .as_deref(),
            Some(n.to_string().as_str())
        );
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            n + 1,
            "one frame per event, no read-ahead"
        );
    }
}

#[test]
fn an_oversize_event_is_an_error_not_a_growing_buffer() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let mut events = GeminiEvents::with_max_event_size(
        CountingBody {
            frames: VecDeque::from([Bytes::from_static(b"data: {\"candidates\": [")]),
            pulled: pulled.clone(),
            // An event that never ends.
            endless: Some(Bytes::from(vec![b'x'; 1024])),
        },
        16 * 1024,
    );
    let Poll::Ready(Some(Err(error))) = poll_once(&mut events) else {
        panic!("an error");
    };
    assert_eq!(
        error.to_string(),
        "malformed Gemini event stream: server-sent event larger than the 16384-byte limit"
    );
    assert!(
        pulled.load(Ordering::SeqCst) <= 18,
        "read {} frames",
        pulled.load(Ordering::SeqCst)
    );
    assert!(
        matches!(poll_once(&mut events), Poll::Ready(None)),
        "the stream ends"
    );
}

#[test]
fn the_default_event_limit_bounds_a_stream_that_never_ends_its_event() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let mut events = GeminiEvents::new(CountingBody {
        frames: VecDeque::from([Bytes::from_static(b"data: ")]),
        pulled: pulled.clone(),
        endless: Some(Bytes::from(vec![b'x'; 64 * 1024])),
    });
    assert!(matches!(poll_once(&mut events), Poll::Ready(Some(Err(_)))));
    let limit = llm_tower::sse::decode::DEFAULT_MAX_EVENT_SIZE;
    assert!(pulled.load(Ordering::SeqCst) <= limit / (64 * 1024) + 2);
}
