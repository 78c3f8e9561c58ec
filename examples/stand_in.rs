//! A stand-in for Google's Gemini API serving recorded replies
//! ([`llm_tower::proxy::stand_in`] says which), for real clients (the `openai` and
//! `google-genai` SDKs, `tests/clients/`) and the load benchmark (`benches/load.sh`).
//!
//! ```text
//! cargo run --release --example stand_in -- --port 0 [--threads N]
//! ```
//!
//! `--port` (or `STAND_IN_PORT`; 0 picks a free port) sets the port on 127.0.0.1; the first
//! stdout line is `listening on http://127.0.0.1:PORT`. `--threads` (or `STAND_IN_THREADS`,
//! default 1: a single-threaded runtime) sets the worker threads. Requests must carry the
//! key `STAND_IN_KEY` (default `stand-in-key`).

use std::io::Write;
use std::net::SocketAddr;

use llm_tower::proxy::stand_in::StandIn;

fn usage() -> ! {
    eprintln!(
        "usage: stand_in [--port PORT (or STAND_IN_PORT; 0 = any)] [--threads N (or STAND_IN_THREADS)]"
    );
    std::process::exit(2)
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
            _ => usage(),
        }
    }
    let key = std::env::var("STAND_IN_KEY").unwrap_or_else(|_| "stand-in-key".to_owned());
    let stand_in = StandIn::new(key);
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
