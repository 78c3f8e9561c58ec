//! A load client for the benchmarks in `benches/`: many concurrent server-sent-event streams
//! (`benches/streams.sh`), or one request at a time (`benches/tail.sh`).
//!
//! ```text
//! stream_load streams    --url URL --body JSON [--header 'name: value']... --count N
//!                        [--timeout SECONDS] [--threads N]
//! stream_load sequential --url URL --body JSON [--header 'name: value']... --count N
//!                        [--warmup N]
//! ```
//!
//! Every request is a `POST` of `--body` (`content-type: application/json`) on a plain
//! HTTP/1.1 connection; any reply but 200 counts as an error. The result is one JSON object
//! on stdout; times are from just before the request is written on an open connection.
//!
//! - `streams` opens `--count` connections at once, sends one request on each and reads the
//!   reply as server-sent events (an event ends at a blank line). Per stream it records the
//!   time to the first event and the gap before each later one; it reports the time to first
//!   event, each stream's worst gap and all gaps as p50 / p99 / max in milliseconds, the
//!   events per stream, the most streams open at once, and errors by kind (streams still
//!   open after `--timeout`, default 120 s, are errors).
//! - `sequential` sends `--warmup` (default 1,000) unrecorded requests and then `--count`
//!   recorded ones, one after another on one kept-alive connection, and reports the time to
//!   the first body byte and to the end of the body as p50 / p90 / p99 / p99.9 / max in
//!   microseconds. A request unanswered after `--timeout` seconds is an error.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

/// What every request is sent to and with.
struct Target {
    addr: SocketAddr,
    authority: HeaderValue,
    path: String,
    body: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Target {
    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::post(self.path.as_str())
            .header(HOST, self.authority.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(self.body.clone()))
            .expect("the parts were checked at start");
        request.headers_mut().extend(self.headers.iter().cloned());
        request
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Failure> {
        let socket = TcpStream::connect(self.addr)
            .await
            .map_err(|_| Failure::Connect)?;
        socket.set_nodelay(true).map_err(|_| Failure::Connect)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(socket))
            .await
            .map_err(|_| Failure::Connect)?;
        // Its errors surface in the request that hits them.
        tokio::spawn(connection);
        Ok(sender)
    }
}

/// Why a request did not count.
#[derive(Clone, Copy, Debug)]
enum Failure {
    Connect,
    Status,
    Body,
    NoEvents,
    Timeout,
}

impl Failure {
    fn name(self) -> &'static str {
        match self {
            Failure::Connect => "connect",
            Failure::Status => "status",
            Failure::Body => "body",
            Failure::NoEvents => "no_events",
            Failure::Timeout => "timeout",
        }
    }
}

/// Counts server-sent events as bytes arrive: an event ends at a blank line (`\n\n` or
/// `\r\n\r\n`) after at least one non-blank line, wherever the chunks split it.
#[derive(Default)]
struct EventScanner {
    /// A non-blank line was seen since the last event ended.
    in_event: bool,
    /// The current line has had no character yet (`\r` aside).
    at_line_start: bool,
}

impl EventScanner {
    /// The number of events that `chunk` completes.
    fn feed(&mut self, chunk: &[u8]) -> usize {
        let mut ended = 0;
        for &byte in chunk {
            match byte {
                b'\r' => {}
                b'\n' => {
                    if self.at_line_start && self.in_event {
                        ended += 1;
                        self.in_event = false;
                    }
                    self.at_line_start = true;
                }
                _ => {
                    self.at_line_start = false;
                    self.in_event = true;
                }
            }
        }
        ended
    }
}

/// One stream's timings.
struct StreamTimes {
    first_event: Duration,
    /// The gap before each event after the first (events arriving together: one gap).
    gaps: Vec<Duration>,
    events: usize,
}

async fn one_stream(
    target: &Target,
    open: &AtomicUsize,
    peak: &AtomicUsize,
) -> Result<StreamTimes, Failure> {
    let mut sender = target.connect().await?;
    let now_open = open.fetch_add(1, Ordering::Relaxed) + 1;
    peak.fetch_max(now_open, Ordering::Relaxed);
    let result = read_stream(target, &mut sender).await;
    open.fetch_sub(1, Ordering::Relaxed);
    result
}

async fn read_stream(
    target: &Target,
    sender: &mut SendRequest<Full<Bytes>>,
) -> Result<StreamTimes, Failure> {
    let started = Instant::now();
    let response = sender
        .send_request(target.request())
        .await
        .map_err(|_| Failure::Body)?;
    if response.status() != StatusCode::OK {
        return Err(Failure::Status);
    }
    let mut body = response.into_body();
    let mut scanner = EventScanner::default();
    let (mut first_event, mut last) = (None, started);
    let (mut gaps, mut events) = (Vec::new(), 0);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Failure::Body)?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        let ended = scanner.feed(data);
        if ended == 0 {
            continue;
        }
        let now = Instant::now();
        match first_event {
            None => first_event = Some(now - started),
            Some(_) => gaps.push(now - last),
        }
        last = now;
        events += ended;
    }
    let first_event = first_event.ok_or(Failure::NoEvents)?;
    Ok(StreamTimes {
        first_event,
        gaps,
        events,
    })
}

/// The value at quantile `q` (0..=1) of `sorted`, nearest rank; zero when empty.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(mut times: Vec<Duration>) -> serde_json::Value {
    times.sort_unstable();
    let ms = |q| quantile(&times, q).as_secs_f64() * 1e3;
    json!({"p50": ms(0.5), "p99": ms(0.99), "max": ms(1.0)})
}

fn micros(mut times: Vec<Duration>) -> serde_json::Value {
    times.sort_unstable();
    let us = |q| quantile(&times, q).as_secs_f64() * 1e6;
    json!({"p50": us(0.5), "p90": us(0.9), "p99": us(0.99), "p999": us(0.999), "max": us(1.0)})
}

async fn streams(target: Arc<Target>, count: usize, timeout: Duration) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + timeout;
    let open = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (target, open, peak) = (target.clone(), open.clone(), peak.clone());
        tasks.spawn(async move {
            tokio::time::timeout_at(deadline, one_stream(&target, &open, &peak))
                .await
                .unwrap_or(Err(Failure::Timeout))
        });
    }
    let (mut first_events, mut worst_gaps, mut gaps, mut events) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut failures = std::collections::BTreeMap::<&str, usize>::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("a stream task does not panic") {
            Ok(times) => {
                first_events.push(times.first_event);
                worst_gaps.push(times.gaps.iter().copied().max().unwrap_or_default());
                gaps.extend(times.gaps);
                events.push(times.events);
            }
            Err(failure) => *failures.entry(failure.name()).or_default() += 1,
        }
    }
    json!({
        "streams": count,
        "ok": first_events.len(),
        "errors": failures.values().sum::<usize>(),
        "error_kinds": failures,
        "peak_open": peak.load(Ordering::Relaxed),
        "elapsed_s": started.elapsed().as_secs_f64(),
        "events_min": events.iter().min(),
        "events_max": events.iter().max(),
        "first_event_ms": millis(first_events),
        "worst_gap_ms": millis(worst_gaps),
        "gap_ms": millis(gaps),
    })
}

/// One request on `sender`: the times to the first body byte and to the end of the body.
async fn timed(
    target: &Target,
    sender: &mut SendRequest<Full<Bytes>>,
) -> Result<(Duration, Duration), Failure> {
    sender.ready().await.map_err(|_| Failure::Connect)?;
    let started = Instant::now();
    let response = sender
        .send_request(target.request())
        .await
        .map_err(|_| Failure::Body)?;
    let status = response.status();
    let mut body = response.into_body();
    let mut first_byte = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Failure::Body)?;
        if first_byte.is_none() && frame.data_ref().is_some_and(|data| !data.is_empty()) {
            first_byte = Some(started.elapsed());
        }
    }
    let total = started.elapsed();
    if status != StatusCode::OK {
        return Err(Failure::Status);
    }
    Ok((first_byte.unwrap_or(total), total))
}

async fn sequential(
    target: Arc<Target>,
    count: usize,
    warmup: usize,
    timeout: Duration,
) -> serde_json::Value {
    let (mut first_bytes, mut totals) = (Vec::with_capacity(count), Vec::with_capacity(count));
    let mut failures = std::collections::BTreeMap::<&str, usize>::new();
    let mut sender = None;
    let started = Instant::now();
    for index in 0..warmup + count {
        let attempt = async {
            match sender.as_mut() {
                Some(sender) => timed(&target, sender).await,
                None => {
                    let connected = target.connect().await?;
                    timed(&target, sender.insert(connected)).await
                }
            }
        };
        let result = tokio::time::timeout(timeout, attempt)
            .await
            .unwrap_or(Err(Failure::Timeout));
        match result {
            Ok((first_byte, total)) if index >= warmup => {
                first_bytes.push(first_byte);
                totals.push(total);
            }
            Ok(_) => {}
            Err(failure) => {
                // A failed connection is not reused.
                sender = None;
                *failures.entry(failure.name()).or_default() += 1;
            }
        }
    }
    json!({
        "requests": count,
        "ok": totals.len(),
        "errors": failures.values().sum::<usize>(),
        "error_kinds": failures,
        "elapsed_s": started.elapsed().as_secs_f64(),
        "first_byte_us": micros(first_bytes),
        "total_us": micros(totals),
    })
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "stream_load: {problem}\n\
         usage: stream_load streams|sequential --url URL --body JSON [--header 'name: value']... \
         --count N [--timeout SECONDS] [--threads N] [--warmup N]"
    );
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| usage("no mode"));
    let (mut url, mut body, mut headers) = (None, None, Vec::new());
    let (mut count, mut timeout, mut threads, mut warmup) = (None, 120, 1, 1000);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let number = || -> usize {
            value
                .parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {value}")))
        };
        match flag.as_str() {
            "--url" => url = Some(value.parse::<Uri>().unwrap_or_else(|_| usage("bad --url"))),
            "--body" => body = Some(Bytes::from(value)),
            "--header" => {
                let (name, field) = value
                    .split_once(':')
                    .unwrap_or_else(|| usage("--header is 'name: value'"));
                let name =
                    HeaderName::try_from(name.trim()).unwrap_or_else(|_| usage("bad header name"));
                let field = HeaderValue::try_from(field.trim())
                    .unwrap_or_else(|_| usage("bad header value"));
                headers.push((name, field));
            }
            "--count" => count = Some(number()),
            "--timeout" => timeout = number() as u64,
            "--threads" => threads = number().max(1),
            "--warmup" => warmup = number(),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    let url = url.unwrap_or_else(|| usage("--url is required"));
    let count = count.unwrap_or_else(|| usage("--count is required"));
    let (Some(host), Some("http")) = (url.host(), url.scheme_str()) else {
        usage("--url must be http://HOST:PORT/PATH")
    };
    let port = url.port_u16().unwrap_or(80);
    let addr = (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| usage(&format!("cannot resolve {host}")));
    let target = Arc::new(Target {
        addr,
        authority: HeaderValue::try_from(format!("{host}:{port}")).expect("a valid authority"),
        path: url
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_owned(),
        body: body.unwrap_or_else(|| usage("--body is required")),
        headers,
    });
    // One thread by default: no hand-off between threads inside the client's own timings.
    let mut builder = match threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if threads > 1 {
        builder.worker_threads(threads);
    }
    let timeout = Duration::from_secs(timeout);
    let runtime = builder.enable_all().build().expect("a tokio runtime");
    let report = match mode.as_str() {
        "streams" => runtime.block_on(streams(target, count, timeout)),
        "sequential" => runtime.block_on(sequential(target, count, warmup, timeout)),
        _ => usage(&format!("unknown mode {mode}")),
    };
    println!("{report}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_end_at_blank_lines_wherever_chunks_split() {
        let stream = b"data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
        for split in 0..=stream.len() {
            let mut scanner = EventScanner::default();
            let (head, tail) = stream.split_at(split);
            assert_eq!(
                scanner.feed(head) + scanner.feed(tail),
                3,
                "split at {split}"
            );
        }
    }

    #[test]
    fn extra_blank_lines_and_unfinished_events_do_not_count() {
        let mut scanner = EventScanner::default();
        assert_eq!(scanner.feed(b"\n\n\r\n: ping\n\n\n\ndata: x\n"), 1);
        assert_eq!(scanner.feed(b"data: y"), 0);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&times, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&times, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&times, 1.0), Duration::from_millis(100));
        assert_eq!(quantile(&times[..1], 0.99), Duration::from_millis(1));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }
}
