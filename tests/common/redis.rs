//! Redis helpers shared by the Redis tests: the test server's URL from
//! `LLM_TOWER_TEST_REDIS_URL` (or a line saying the test did not run, which `.ci/run`
//! looks for), and a `redis-server` of a test's own that it can kill. Test files include
//! it with `#[path = "common/redis.rs"] mod redis_server;`.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The test Redis, or `None` (and a line saying the test did not run).
pub fn redis_url(test: &str) -> Option<String> {
    match std::env::var("LLM_TOWER_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Written past the test harness's capture, so a passing run shows it too.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: LLM_TOWER_TEST_REDIS_URL is not set; this Redis test did not run"
            );
            None
        }
    }
}

/// A `redis-server` of this test's own, stopped when dropped.
pub struct OwnRedis {
    child: Child,
    pub url: String,
}

impl OwnRedis {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (.ci/run installs it)");
        let url = format!("redis://127.0.0.1:{port}/");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, url }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
