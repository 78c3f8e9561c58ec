//! A stand-in for Google's Gemini API serving recorded replies
//! ([`llm_tower::proxy::stand_in`] says which), for real clients (the `openai` and
//! `google-genai` SDKs, `tests/clients/`) and the load benchmark (`benches/load.sh`).
//!
//! ```text
//! cargo run --release --example stand_in -- --port 0 [--threads N] [pacing]
//! ```
//!
//! `--port` (or `STAND_IN_PORT`; 0 picks a free port) sets the port on 127.0.0.1; the first
//! stdout line is `listening on http://127.0.0.1:PORT`. `--threads` (or `STAND_IN_THREADS`,
//! default 1: a single-threaded runtime) sets the worker threads. Requests must carry the
//! key `STAND_IN_KEY` (default `stand-in-key`).
//!
//! Pacing ([`llm_tower::proxy::stand_in::Pacing`]; all zero by default: every reply at once)
//! makes replies look like a model's, e.g. `--first-event-ms 300 --events 100 --gap-ms 20`:
//!
//! | flag | environment | meaning |
//! |---|---|---|
//! | `--first-event-ms` | `STAND_IN_FIRST_EVENT_MS` | a stream's headers and first event wait this long |
//! | `--events` | `STAND_IN_EVENTS` | events per stream (default: the recording's 6) |
//! | `--gap-ms` | `STAND_IN_GAP_MS` | time between two events of a stream |
//! | `--jitter-ms` | `STAND_IN_JITTER_MS` | each gap is drawn from `gap ± jitter` |
//! | `--latency-ms` | `STAND_IN_LATENCY_MS` | a `generateContent` or `batchEmbedContents` reply waits this long |

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use llm_tower::proxy::stand_in::{Pacing, StandIn};

fn usage() -> ! {
    eprintln!(
        "usage: stand_in [--port PORT (or STAND_IN_PORT; 0 = any)] [--threads N (or STAND_IN_THREADS)]
                [--first-event-ms MS] [--events N] [--gap-ms MS] [--jitter-ms MS] [--latency-ms MS]
                (or STAND_IN_FIRST_EVENT_MS, STAND_IN_EVENTS, STAND_IN_GAP_MS, STAND_IN_JITTER_MS,
                STAND_IN_LATENCY_MS)"
    );
    std::process::exit(2)
}

/// A whole number from the environment variable `name`, if it is set.
fn env_number(name: &str) -> Option<usize> {
    let value = std::env::var(name).ok()?;
    Some(value.parse().unwrap_or_else(|_| usage()))
}

fn millis(ms: usize) -> Duration {
    Duration::from_millis(ms as u64)
}

fn main() {
    let mut port: u16 = std::env::var("STAND_IN_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(0);
    let mut threads: usize = std::env::var("STAND_IN_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let env_millis = |name| env_number(name).map_or(Duration::ZERO, millis);
    let mut pacing = Pacing {
        first_event: env_millis("STAND_IN_FIRST_EVENT_MS"),
        events: env_number("STAND_IN_EVENTS").filter(|&events| events > 0),
        gap: env_millis("STAND_IN_GAP_MS"),
        jitter: env_millis("STAND_IN_JITTER_MS"),
        latency: env_millis("STAND_IN_LATENCY_MS"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let value = inline.or_else(|| args.next());
        match (name.as_str(), value.as_deref().map(str::parse::<usize>)) {
            ("--port" | "-p", Some(Ok(value))) if value <= usize::from(u16::MAX) => {
                port = value as u16
            }
            ("--threads", Some(Ok(value))) => threads = value.max(1),
            ("--first-event-ms", Some(Ok(value))) => pacing.first_event = millis(value),
            ("--events", Some(Ok(value))) if value > 0 => pacing.events = Some(value),
            ("--gap-ms", Some(Ok(value))) => pacing.gap = millis(value),
            ("--jitter-ms", Some(Ok(value))) => pacing.jitter = millis(value),
            ("--latency-ms", Some(Ok(value))) => pacing.latency = millis(value),
            _ => usage(),
        }
    }
    let key = std::env::var("STAND_IN_KEY").unwrap_or_else(|_| "stand-in-key".to_owned());
    let stand_in = StandIn::new(key).with_pacing(pacing);
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .expect("a tokio runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .unwrap_or_else(|error| panic!("cannot listen on 127.0.0.1:{port}: {error}"));
        let bound = listener.local_addr().expect("a bound address");
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{bound}")
            .and_then(|()| stdout.flush())
            .ok();
        drop(stdout);
        stand_in.serve(listener).await;
    });
}
