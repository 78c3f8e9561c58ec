//! Abuse the proxy should shrug off: a hostile or restarting Redis (a raw TCP stand-in on
//! 127.0.0.1 that speaks just enough RESP, so nothing here needs a real Redis),
//! credentials in an `api_base` that must stay out of every log line, request bodies
//! built to cost far more memory to parse than they weigh, and configs of many
//! deployments (the last two measured by an allocator that counts what each thread holds).
#![cfg(feature = "proxy")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use llm_tower::store::{CacheStore, RedisCacheStore, ResponseStore, RouterStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the stand-in answers a `GET`.
#[derive(Clone, Copy)]
enum Get {
    /// Declares a 1 GiB value and sends it, as fast as the client takes it.
    Huge,
    /// Declares an array of 1,024 values of 1 MiB each (each within the value limit) and
    /// sends them, as fast as the client takes them.
    Wide,
    /// `hello`.
    Hello,
    /// `hello` (and `:1` to a `DEL`), after 700 ms: past the client's reply timeout.
    Slow,
    /// Nothing, to any command: a Redis that accepts connections and hangs.
    Silent,
}

/// What the stand-in saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    /// Connections the client closed.
    closed_by_client: AtomicUsize,
    /// `DEL` commands received.
    deletes: AtomicUsize,
    /// Bytes of `GET` replies the client's socket took.
    reply_bytes: AtomicUsize,
}

/// Writes `parts` (each `repeat` times) to the client, counting what its socket took;
/// false when the client closed the connection first.
async fn send_counted(stream: &mut TcpStream, parts: &[(&[u8], usize)], seen: &Seen) -> bool {
    for (part, repeat) in parts {
        for _ in 0..*repeat {
            if stream.write_all(part).await.is_err() {
                return false;
            }
            seen.reply_bytes.fetch_add(part.len(), Ordering::SeqCst);
        }
    }
    true
}

/// The commands (arrays of bulk strings) complete in `buffer`, removed from it.
fn commands(buffer: &mut Vec<u8>) -> Vec<Vec<String>> {
    let mut parsed = Vec::new();
    loop {
        let mut at = 0;
        let line = |at: &mut usize, buffer: &[u8]| -> Option<String> {
            let end = buffer[*at..].windows(2).position(|w| w == b"\r\n")?;
            let text = String::from_utf8_lossy(&buffer[*at..*at + end]).into_owned();
            *at += end + 2;
            Some(text)
        };
        let Some(head) = line(&mut at, buffer) else {
            return parsed;
        };
        let count: usize = head.trim_start_matches('*').parse().expect("an array");
        let mut command = Vec::new();
        for _ in 0..count {
            let Some(length) = line(&mut at, buffer) else {
                return parsed;
            };
            let length: usize = length.trim_start_matches('$').parse().expect("a bulk");
            if buffer.len() < at + length + 2 {
                return parsed;
            }
            command.push(String::from_utf8_lossy(&buffer[at..at + length]).into_owned());
            at += length + 2;
        }
        buffer.drain(..at);
        parsed.push(command);
    }
}

/// Serves one connection: `OK` to everything but `GET`, answered as `get` says, and
/// `EVALSHA` (the router store's scripts), answered `1`. With `drop_after_setup`, the
/// connection is closed once it has been set up, as a restarting Redis does.
async fn serve(mut stream: TcpStream, get: Get, drop_after_setup: bool, seen: Arc<Seen>) {
    let mut buffer = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let read = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                seen.closed_by_client.fetch_add(1, Ordering::SeqCst);
                return;
            }
            Ok(read) => read,
        };
        buffer.extend_from_slice(&chunk[..read]);
        for command in commands(&mut buffer) {
            let name = command[0].to_ascii_uppercase();
            if name == "DEL" {
                seen.deletes.fetch_add(1, Ordering::SeqCst);
            }
            if matches!(get, Get::Silent) {
                continue;
            }
            if matches!(get, Get::Slow) && (name == "GET" || name == "DEL") {
                tokio::time::sleep(Duration::from_millis(700)).await;
                let reply: &[u8] = if name == "GET" {
                    b"$5\r\nhello\r\n"
                } else {
                    b":1\r\n"
                };
                let _ = stream.write_all(reply).await;
            } else if name == "EVALSHA" {
                // The router store's scripts: a request counted, a cooldown started.
                let _ = stream.write_all(b":1\r\n").await;
            } else if name == "GET" {
                let sent = match get {
                    Get::Huge => {
                        let chunk = vec![b'x'; 64 * 1024];
                        let parts = [
                            (&b"$1073741824\r\n"[..], 1),
                            (&chunk[..], 16 * 1024),
                            (&b"\r\n"[..], 1),
                        ];
                        send_counted(&mut stream, &parts, &seen).await
                    }
                    Get::Wide => {
                        let value =
                            [&b"$1048576\r\n"[..], &vec![b'x'; 1024 * 1024], b"\r\n"].concat();
                        let parts = [(&b"*1024\r\n"[..], 1), (&value[..], 1024)];
                        send_counted(&mut stream, &parts, &seen).await
                    }
                    Get::Hello | Get::Slow | Get::Silent => {
                        stream.write_all(b"$5\r\nhello\r\n").await.is_ok()
                    }
                };
                if !sent {
                    seen.closed_by_client.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            } else {
                let _ = stream.write_all(b"+OK\r\n").await;
            }
        }
        if drop_after_setup && buffer.is_empty() {
            // Give the client's setup replies a moment to arrive, then "restart".
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        }
    }
}

/// A stand-in Redis; the first connection is dropped after setup when `restart` is set.
async fn stand_in(get: Get, restart: bool) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let counted = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let first = counted.connections.fetch_add(1, Ordering::SeqCst) == 0;
            tokio::spawn(serve(stream, get, restart && first, Arc::clone(&counted)));
        }
    });
    (url, seen)
}

/// Waits (up to a minute: this counts events, it does not time them) until `count` is
/// `expected`.
async fn until(count: &AtomicUsize, expected: usize) {
    for _ in 0..6_000 {
        if count.load(Ordering::SeqCst) >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(count.load(Ordering::SeqCst), expected);
}

/// Reads from a stand-in answering `GET` as `get` says (a reply of a GiB, sent as fast as
/// the client takes it), expecting the read to be a miss and the connection closed by the
/// client once it has seen too much: the stand-in could hand over no more than the 9 MiB
/// reply limit and what the two sockets' buffers hold. A client that buffered until its
/// reply timeout would take the whole reply, or hundreds of MiB, however slow the machine.
async fn a_read_is_cut_off(get: Get) {
    const MAX_TAKEN: usize = 64 << 20;
    let (url, seen) = stand_in(get, false).await;
    let store = RedisCacheStore::open(&url).unwrap().response_store();
    assert_eq!(store.get("owner:resp_1").await, None);
    until(&seen.closed_by_client, 1).await;
    let taken = seen.reply_bytes.load(Ordering::SeqCst);
    assert!(taken < MAX_TAKEN, "the client took {taken} bytes");
    // The read was not sent again on a new connection (it would be cut off the same way).
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    // The next read opens a new connection instead of using the closed one.
    assert_eq!(store.get("owner:resp_1").await, None);
    until(&seen.closed_by_client, 2).await;
    assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
    let taken = seen.reply_bytes.load(Ordering::SeqCst);
    assert!(taken < 2 * MAX_TAKEN, "the client took {taken} bytes");
}

#[tokio::test]
async fn a_redis_declaring_a_huge_value_is_cut_off_before_it_is_buffered() {
    a_read_is_cut_off(Get::Huge).await;
}

#[tokio::test]
async fn a_redis_sending_many_values_in_one_reply_is_cut_off() {
    // Each value is within the 8 MiB limit; the reply passes its 9 MiB.
    a_read_is_cut_off(Get::Wide).await;
}

#[tokio::test]
async fn a_command_redis_is_slow_to_answer_is_not_sent_again() {
    let (url, seen) = stand_in(Get::Slow, false).await;
    let store = RedisCacheStore::open(&url).unwrap().response_store();
    // The reply comes after the client stopped waiting: a failure, but one `DEL` only (a
    // second would find nothing to delete and the record would be reported missing).
    assert!(!store.remove("owner:resp_1").await);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(seen.deletes.load(Ordering::SeqCst), 1);
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_command_on_a_connection_redis_closed_is_sent_again_on_a_new_one() {
    let (url, seen) = stand_in(Get::Hello, true).await;
    let store = RedisCacheStore::open(&url).unwrap().response_store();
    // Opens the connection; Redis then "restarts" and closes it.
    store.put("owner:resp_1", "{}".to_owned()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The first read after the restart is answered, not a spurious miss.
    assert_eq!(store.get("owner:resp_1").await.as_deref(), Some("hello"));
    assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn while_redis_cannot_be_reached_commands_fail_at_once() {
    let (url, seen) = stand_in(Get::Silent, false).await;
    let store = RedisCacheStore::open(&url).unwrap();
    let started = Instant::now();
    // Eight reads at once wait for one connect (that times out), not for eight in turn.
    let reads: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.get("head").await })
        })
        .collect();
    for read in reads {
        assert!(read.await.unwrap().is_err());
    }
    let took = started.elapsed();
    assert!(took < Duration::from_millis(900), "took {took:?}");
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    // Just after, a read fails at once without trying to connect.
    let again = Instant::now();
    assert!(store.get("head").await.is_err());
    assert!(again.elapsed() < Duration::from_millis(100));
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    // A second after the failed connect (which timed out half a second in), the next
    // read tries again.
    tokio::time::sleep(Duration::from_millis(1600).saturating_sub(started.elapsed())).await;
    assert!(store.get("head").await.is_err());
    assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
}

/// A router-store call, made after the stand-in Redis restarted.
#[derive(Clone, Copy, Debug)]
enum RouterCall {
    TakeRequest,
    AddTokens,
    CoolDown,
}

#[tokio::test]
async fn the_router_stores_scripts_and_pipelines_are_sent_again_after_a_restart() {
    for call in [
        RouterCall::TakeRequest,
        RouterCall::AddTokens,
        RouterCall::CoolDown,
    ] {
        let (url, seen) = stand_in(Get::Hello, true).await;
        let caches = RedisCacheStore::open(&url).unwrap();
        let router = caches.router_store();
        // Opens the connection; Redis then "restarts" and closes it.
        caches
            .response_store()
            .put("owner:resp_1", "{}".to_owned())
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        match call {
            RouterCall::TakeRequest => {
                assert!(
                    router
                        .take_request("deployment", 1, Some(10))
                        .await
                        .unwrap()
                );
            }
            RouterCall::AddTokens => router.add_tokens("deployment", 1, 100).await.unwrap(),
            RouterCall::CoolDown => router
                .cool_down("deployment", Duration::from_secs(5))
                .await
                .unwrap(),
        }
        assert_eq!(seen.connections.load(Ordering::SeqCst), 2, "{call:?}");
    }
}

#[tokio::test]
async fn rediss_urls_are_accepted_and_bad_ones_refused_without_the_password() {
    assert!(RedisCacheStore::open("rediss://:secret@redis.example:6380/0").is_ok());
    let error = RedisCacheStore::open("rediss://:secret@/0").unwrap_err();
    assert!(!error.to_string().contains("secret"), "{error}");
}

#[test]
fn api_base_credentials_never_reach_debug_output() {
    let base = "https://user:hunter2@llm.internal/v1beta?token=s3cret";
    let gemini = llm_tower::gemini::Gemini::builder().api_base(base);
    let openai =
        llm_tower::providers::openai_compatible::OpenAiCompatible::builder().api_base(base);
    for debug in [format!("{gemini:?}"), format!("{openai:?}")] {
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("llm.internal"), "{debug}");
    }
    let yaml = format!(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/m\n      api_base: {base}\n"
    );
    let (config, _) =
        llm_tower::proxy::config::Config::from_yaml(&yaml, "config.yaml", &|_: &str| None)
            .expect("config loads");
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("s3cret"),
        "{debug}"
    );
}

/// The system allocator, counting the bytes each thread holds and the most it held, and
/// the allocations it made.
struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn held(change: isize) {
    if change > 0 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
    }
    // `try_with`: a thread's last frees can come after its counters are gone.
    let _ = HELD.try_with(|held| {
        let now = held.get() + change;
        held.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed to `System` unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            held(layout.size() as isize);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            held(layout.size() as isize);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        held(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, size) };
        if !moved.is_null() {
            held(size as isize - layout.size() as isize);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most this thread held at once above what it held before, while running `parse`.
fn peak_while<T>(parse: impl FnOnce() -> T) -> (usize, T) {
    let before = HELD.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let parsed = parse();
    let peak = PEAK.with(Cell::get) - before;
    (usize::try_from(peak).unwrap_or(0), parsed)
}

/// The allocations this thread made while running `parse`.
fn allocations_while<T>(parse: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let parsed = parse();
    (ALLOCATIONS.with(Cell::get) - before, parsed)
}

/// `[0,0,…]` of about `bytes` bytes: two million JSON values in 4 MB.
fn zeros(bytes: usize) -> String {
    let mut text = "[0".to_owned();
    text.push_str(&",0".repeat(bytes / 2));
    text.push(']');
    text
}

/// A body with 4 MB of zeros under a key nobody types costs about its own size to parse
/// (the key is kept as text), not a tree of 2 million values (about 70 times its size):
/// for every front door's request, at the top level and inside the objects that keep
/// unknown keys.
#[test]
fn unknown_keys_cost_their_bytes_to_parse_not_a_tree() {
    use llm_tower::anthropic::CreateMessage;
    use llm_tower::openai::responses::CreateResponse;
    use llm_tower::openai::{ChatRequest, CompletionRequest, EmbeddingRequest};

    fn check<T: serde::de::DeserializeOwned>(name: &str, body: String) {
        let (peak, parsed) = peak_while(|| serde_json::from_slice::<T>(body.as_bytes()));
        if let Err(error) = parsed {
            panic!("{name}: {error}");
        }
        // The kept text (one copy of the zeros) and small change; a tree would be ~70x.
        assert!(
            peak < 2 * body.len(),
            "{name}: parsing {} bytes held {peak} bytes at its peak",
            body.len()
        );
    }
    let zeros = zeros(4_000_000);
    let message = r#"{"role":"user","content":"hi"}"#;
    check::<ChatRequest>(
        "chat, metadata",
        format!(r#"{{"model":"m","messages":[{message}],"metadata":{{"z":{zeros}}}}}"#),
    );
    check::<ChatRequest>(
        "chat, a message's unknown key",
        format!(r#"{{"model":"m","messages":[{{"role":"user","content":"hi","x":{zeros}}}]}}"#),
    );
    check::<ChatRequest>(
        "chat, a content part's unknown key",
        format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":[{{"type":"text","text":"hi","x":{zeros}}}]}}]}}"#
        ),
    );
    check::<ChatRequest>(
        "chat, a tool's unknown key",
        format!(
            r#"{{"model":"m","messages":[],"tools":[{{"type":"function","function":{{"name":"f","x":{zeros}}}}}]}}"#
        ),
    );
    check::<ChatRequest>(
        "chat, response_format's unknown key",
        format!(r#"{{"model":"m","messages":[],"response_format":{{"type":"text","x":{zeros}}}}}"#),
    );
    check::<EmbeddingRequest>(
        "embeddings",
        format!(r#"{{"model":"m","input":"hi","x":{zeros}}}"#),
    );
    check::<CompletionRequest>(
        "completions",
        format!(r#"{{"model":"m","prompt":"hi","x":{zeros}}}"#),
    );
    check::<CreateResponse>(
        "responses, metadata",
        format!(r#"{{"model":"m","input":"hi","metadata":{{"z":{zeros}}}}}"#),
    );
    check::<CreateResponse>(
        "responses, a tool's unknown key",
        format!(r#"{{"model":"m","tools":[{{"type":"function","name":"f","x":{zeros}}}]}}"#),
    );
    check::<CreateMessage>(
        "messages",
        format!(
            r#"{{"model":"m","max_tokens":1,"messages":[{message}],"metadata":{{"user_id":"u","x":{zeros}}},"x":{zeros}}}"#
        ),
    );
}

/// A value kept as text (a tool's `parameters`, an unknown key) costs what serde_json's own
/// `Box<RawValue>` costs to read, one copy of its text: its key is not copied, nor its
/// text parsed a second time.
#[test]
fn a_value_kept_as_text_is_read_as_cheaply_as_serde_json_reads_it() {
    use llm_tower::RawJson;
    use serde_json::value::RawValue;

    let schema = br#"{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"}},"required":["query"]}"#;
    let (raw, _) = allocations_while(|| serde_json::from_slice::<Box<RawValue>>(schema).unwrap());
    let (kept, json) = allocations_while(|| serde_json::from_slice::<RawJson>(schema).unwrap());
    assert_eq!(json.get().as_bytes(), schema);
    assert_eq!(
        kept, raw,
        "RawJson: {kept} allocations, Box<RawValue>: {raw}"
    );
    // Still bounded: too deep is refused.
    let deep = format!(
        "{}{}",
        "[".repeat(RawJson::MAX_DEPTH + 1),
        "]".repeat(RawJson::MAX_DEPTH + 1)
    );
    assert!(serde_json::from_str::<RawJson>(&deep).is_err());
}

/// What each configured deployment keeps on the heap once the proxy is built (its
/// services, router state, catalogue and health entries): a config of thousands of
/// deployments stays in tens of megabytes. Built on this thread, so the counting
/// allocator sees all of it.
#[tokio::test]
async fn a_configured_deployment_keeps_a_few_kilobytes() {
    use llm_tower::proxy::app::Proxy;
    use llm_tower::proxy::config::Config;

    fn held_by_proxy(deployments: usize) -> usize {
        let mut yaml = "model_list:\n".to_owned();
        for index in 0..deployments {
            yaml.push_str(&format!(
                "  - model_name: model-{index}\n    litellm_params:\n      model: gemini/gemini-2.5-flash-{index}\n      api_key: key-{index}\n"
            ));
        }
        let (config, _) = Config::from_yaml(&yaml, "config.yaml", &|_: &str| None).unwrap();
        let before = HELD.with(Cell::get);
        let proxy = Proxy::from_config(&config).unwrap();
        let held = HELD.with(Cell::get) - before;
        drop(proxy);
        usize::try_from(held).unwrap_or(0)
    }
    // The first build also fills the process-wide tables (prices, model facts).
    held_by_proxy(1);
    let one = held_by_proxy(1);
    let many = held_by_proxy(401);
    let each = many.saturating_sub(one) / 400;
    assert!(each < 8 * 1024, "each deployment holds {each} bytes");
}
