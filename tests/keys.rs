//! Virtual keys, teams and budgets through the proxy, on an SQLite file always and, when
//! `LLM_TOWER_TEST_DATABASE_URL` names one, on PostgreSQL too (`.ci/run` starts a
//! throwaway cluster and sets `LLM_TOWER_REQUIRE_POSTGRES=1`, which makes its absence a
//! failure). Upstream is a wiremock stand-in of Gemini whose reply's usage has a known
//! cost: 1,000 prompt and 100 completion tokens on gemini-2.5-flash, $0.30/M and $2.50/M,
//! is $0.00055.

mod common;
#[path = "common/proxy.rs"]
mod proxy_app;
#[path = "common/redis.rs"]
mod redis_server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::StandIn;
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::keys::CACHE_TTL;
use proxy_app::{exchange, gemini_proxy, gemini_proxy_with, send};
use serde_json::{Value, json};

const MASTER: &str = "sk-master-key-1234";
const COST: f64 = 0.00055;

/// A reply costing [`COST`].
fn priced_reply() -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1000, "candidatesTokenCount": 100, "totalTokenCount": 1100}
    })
}

fn ask(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]})
}

/// A fresh SQLite file under the temp dir, removed when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "llm-tower-keys-{}-{:x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    fn url(&self) -> String {
        format!("sqlite://{}/keys.db?mode=rwc", self.0.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The databases every test runs on: a new SQLite file, and PostgreSQL when named.
fn databases() -> (TempDb, Vec<String>) {
    let sqlite = TempDb::new();
    let mut urls = vec![sqlite.url()];
    match std::env::var("LLM_TOWER_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => urls.push(url),
        _ => assert!(
            std::env::var("LLM_TOWER_REQUIRE_POSTGRES").is_err(),
            "LLM_TOWER_REQUIRE_POSTGRES is set but LLM_TOWER_TEST_DATABASE_URL is not"
        ),
    }
    (sqlite, urls)
}

/// A proxy over `stand_in` keeping keys in `database_url`, opened as at startup.
async fn proxy_on(stand_in: &StandIn, database_url: &str) -> Proxy {
    let proxy = gemini_proxy(
        stand_in,
        MASTER,
        &format!("  database_url: \"{database_url}\"\n"),
    );
    proxy.open_keys().await.expect("the key database opens");
    proxy
}

/// A stand-in whose replies cost [`COST`], and a proxy over it keeping keys in `url`.
async fn priced(url: &str) -> (StandIn, Proxy) {
    let stand_in = StandIn::start().await;
    stand_in
        .reply_json("gemini-2.5-flash", 200, &priced_reply())
        .await;
    let proxy = proxy_on(&stand_in, url).await;
    (stand_in, proxy)
}

/// `POST path` with the master key: the reply of its 200.
async fn post_ok(proxy: &Proxy, path: &str, body: Value) -> Value {
    let (status, reply) = send(proxy, "POST", path, MASTER, Some(body)).await;
    assert_eq!(status, 200, "{path}: {reply}");
    reply
}

async fn generate(proxy: &Proxy, body: Value) -> String {
    let (status, reply) = send(proxy, "POST", "/key/generate", MASTER, Some(body)).await;
    assert_eq!(status, 200, "{reply}");
    reply["key"].as_str().expect("a key").to_owned()
}

async fn chat_status(proxy: &Proxy, key: &str, model: &str) -> (u16, Value) {
    send(proxy, "POST", "/v1/chat/completions", key, Some(ask(model))).await
}

async fn key_info(proxy: &Proxy, key: &str) -> Value {
    let (status, info) = send(proxy, "GET", &format!("/key/info?key={key}"), MASTER, None).await;
    assert_eq!(status, 200, "{info}");
    info["info"].clone()
}

#[tokio::test]
async fn a_key_calls_its_models_only_until_it_is_deleted() {
    let (_sqlite, urls) = databases();
    for url in urls {
        let (_stand_in, proxy) = priced(&url).await;
        let reply = post_ok(
            &proxy,
            "/key/generate",
            json!({"key_alias": "app-1", "models": ["gemini-flash"], "metadata": {"team": "web"}}),
        )
        .await;
        let key = reply["key"].as_str().unwrap().to_owned();
        assert!(key.starts_with("sk-"));
        assert_eq!(reply["key_alias"], "app-1");
        assert_eq!(reply["models"], json!(["gemini-flash"]));
        let token = reply["token"].as_str().unwrap().to_owned();
        assert_eq!(token.len(), 64, "the SHA-256 hex of the key");
        assert_ne!(token, key);

        let (status, reply) = chat_status(&proxy, &key, "gemini-flash").await;
        assert_eq!(status, 200, "{reply}");
        // Legacy completions and the Responses API spend through the same key.
        for (path, body) in [
            (
                "/v1/completions",
                json!({"model": "gemini-flash", "prompt": "Hi"}),
            ),
            (
                "/v1/responses",
                json!({"model": "gemini-flash", "input": "Hi"}),
            ),
        ] {
            let (status, reply) = send(&proxy, "POST", path, &key, Some(body)).await;
            assert_eq!(status, 200, "{path}: {reply}");
        }

        // Another model: 403 in the OpenAI envelope, in Anthropic's on /v1/messages.
        let (status, reply) = chat_status(&proxy, &key, "gemini-pro").await;
        assert_eq!(status, 403, "{reply}");
        assert_eq!(reply["error"]["type"], "permission_error");
        let messages = json!({"model": "gemini-pro", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]});
        let (status, reply) = send(&proxy, "POST", "/v1/messages", &key, Some(messages)).await;
        assert_eq!(status, 403, "{reply}");
        assert_eq!(reply["type"], "error");
        assert_eq!(reply["error"]["type"], "permission_error");

        // A key is not the master key.
        let (status, _) = send(&proxy, "POST", "/key/generate", &key, Some(json!({}))).await;
        assert_eq!(status, 403);

        // Spend and the log, once written.
        proxy.flush_spend().await;
        let info = key_info(&proxy, &key).await;
        assert!(
            (info["spend"].as_f64().unwrap() - 3.0 * COST).abs() < 1e-12,
            "{info}"
        );
        assert_eq!(info["key_alias"], "app-1");
        assert_eq!(info["metadata"], json!({"team": "web"}));
        let (status, logs) = send(
            &proxy,
            "GET",
            &format!("/spend/logs?api_key={token}"),
            MASTER,
            None,
        )
        .await;
        assert_eq!(status, 200, "{logs}");
        let logs = logs.as_array().unwrap();
        assert_eq!(logs.len(), 3, "{logs:?}");
        assert_eq!(logs[0]["model"], "gemini-flash");
        assert_eq!(logs[0]["key_alias"], "app-1");
        assert_eq!(
            (
                logs[0]["prompt_tokens"].as_i64(),
                logs[0]["completion_tokens"].as_i64()
            ),
            (Some(1000), Some(100))
        );
        assert!(logs[0].get("messages").is_none());

        let reply = post_ok(&proxy, "/key/delete", json!({"keys": [key]})).await;
        assert_eq!(reply["deleted_keys"], json!([key]));
        let (status, reply) = chat_status(&proxy, &key, "gemini-flash").await;
        assert_eq!(status, 401, "{reply}");
        assert!(!reply.to_string().contains(&key), "the key is never echoed");
    }
}

#[tokio::test]
async fn update_regenerate_expiry_and_list() {
    let (_sqlite, urls) = databases();
    for url in urls {
        let (_stand_in, proxy) = priced(&url).await;
        let team = format!("team-{:x}", fastrand::u64(..));
        post_ok(
            &proxy,
            "/team/new",
            json!({"team_id": team, "team_alias": "web", "models": ["gemini-flash"]}),
        )
        .await;
        let key = generate(&proxy, json!({"team_id": team, "models": ["gemini-pro"]})).await;
        // The key allows gemini-pro, its team only gemini-flash: neither alone suffices.
        assert_eq!(chat_status(&proxy, &key, "gemini-flash").await.0, 403);
        post_ok(&proxy, "/key/update", json!({"key": key, "models": []})).await;
        assert_eq!(chat_status(&proxy, &key, "gemini-flash").await.0, 200);

        let (status, info) = send(
            &proxy,
            "GET",
            &format!("/team/info?team_id={team}"),
            MASTER,
            None,
        )
        .await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["team_info"]["team_alias"], "web");
        assert_eq!(info["keys"].as_array().map(Vec::len), Some(1));
        let (status, list) = send(
            &proxy,
            "GET",
            &format!("/key/list?team_id={team}"),
            MASTER,
            None,
        )
        .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["total_count"], 1);

        let reply = post_ok(&proxy, "/key/regenerate", json!({"key": key})).await;
        let new_key = reply["key"].as_str().unwrap().to_owned();
        assert_ne!(new_key, key);
        assert_eq!(chat_status(&proxy, &key, "gemini-flash").await.0, 401);
        assert_eq!(chat_status(&proxy, &new_key, "gemini-flash").await.0, 200);

        // Deleting the team deletes its keys.
        post_ok(&proxy, "/team/delete", json!({"team_ids": [team]})).await;
        assert_eq!(chat_status(&proxy, &new_key, "gemini-flash").await.0, 401);

        let short = generate(&proxy, json!({"duration": "1s"})).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (status, reply) = chat_status(&proxy, &short, "gemini-flash").await;
        assert_eq!(status, 401, "{reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Expired Key")
        );
    }
}

#[tokio::test]
async fn a_budget_stops_the_key_once_spent() {
    let (_sqlite, urls) = databases();
    for url in urls {
        let (stand_in, proxy) = priced(&url).await;
        let key = generate(&proxy, json!({"max_budget": 0.001})).await;
        assert_eq!(chat_status(&proxy, &key, "gemini-flash").await.0, 200);
        assert_eq!(chat_status(&proxy, &key, "gemini-flash").await.0, 200);
        // $0.0011 spent (not yet written) of $0.001.
        let (status, reply) = chat_status(&proxy, &key, "gemini-flash").await;
        assert_eq!(status, 400, "{reply}");
        assert_eq!(reply["error"]["code"], "budget_exceeded");
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Budget has been exceeded!"),
            "{reply}"
        );
        assert_eq!(stand_in.server.received_requests().await.unwrap().len(), 2);

        // Written, and read back by a second replica.
        proxy.flush_spend().await;
        let other = proxy_on(&stand_in, &url).await;
        assert_eq!(chat_status(&other, &key, "gemini-flash").await.0, 400);
        // Raising the budget lets it go on (this replica forgets the key at once).
        let (status, _) = send(
            &proxy,
            "POST",
            "/key/update",
            MASTER,
            Some(json!({"key": key, "max_budget": 1.0})),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(chat_status(&proxy, &key, "gemini-flash").await.0, 200);
    }
}

#[tokio::test]
async fn a_team_budget_spent_by_one_key_stops_its_other_keys_after_the_spend_is_written() {
    let (_sqlite, urls) = databases();
    for url in urls {
        let (_stand_in, proxy) = priced(&url).await;
        let team = format!("team-{:x}", fastrand::u64(..));
        post_ok(
            &proxy,
            "/team/new",
            json!({"team_id": team, "max_budget": 0.001}),
        )
        .await;
        let spender = generate(&proxy, json!({"team_id": team})).await;
        let teammate = generate(&proxy, json!({"team_id": team})).await;
        let outsider = generate(&proxy, json!({})).await;
        // The teammate's grant is read, and kept, without spending (its model list).
        assert_eq!(
            send(&proxy, "GET", "/v1/models", &teammate, None).await.0,
            200
        );
        assert_eq!(chat_status(&proxy, &outsider, "gemini-flash").await.0, 200);
        assert_eq!(chat_status(&proxy, &spender, "gemini-flash").await.0, 200);
        assert_eq!(chat_status(&proxy, &spender, "gemini-flash").await.0, 200);
        // The team's $0.0011 is written: the teammate's kept grant is read again.
        proxy.flush_spend().await;
        let (status, reply) = chat_status(&proxy, &teammate, "gemini-flash").await;
        assert_eq!(status, 400, "{reply}");
        assert_eq!(reply["error"]["code"], "budget_exceeded");
        assert_eq!(chat_status(&proxy, &outsider, "gemini-flash").await.0, 200);
    }
}

/// A price of 2^-20 dollars a prompt token: with [`exact_reply`]'s 1,024 prompt tokens
/// and none out, a request costs [`EXACT_COST`], 2^-10, and sums of such costs are exact
/// in binary floating point whatever their order.
const EXACT_RATE: &str = "9.5367431640625e-07";
const EXACT_COST: f64 = 1.0 / 1024.0;

fn exact_reply() -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1024, "candidatesTokenCount": 0, "totalTokenCount": 1024}
    })
}

#[tokio::test]
async fn two_replicas_share_keys_and_lose_no_spend() {
    const REQUESTS: usize = 1_000;
    // With Redis too when there is one, as replicas are deployed.
    let redis = std::env::var("LLM_TOWER_TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty());
    let (_sqlite, urls) = databases();
    for url in urls {
        let stand_in = StandIn::start().await;
        stand_in
            .reply_json("gemini-2.5-flash", 200, &exact_reply())
            .await;
        let mut extra = format!("  database_url: \"{url}\"\n");
        if let Some(redis) = &redis {
            extra.push_str(&format!("router_settings:\n  redis_url: \"{redis}\"\n"));
        }
        let params = format!("      input_cost_per_token: {EXACT_RATE}\n");
        let (a, b) = (
            gemini_proxy_with(&stand_in, MASTER, &params, &extra),
            gemini_proxy_with(&stand_in, MASTER, &params, &extra),
        );
        a.open_keys().await.unwrap();
        b.open_keys().await.unwrap();
        // Made on one, used on the other.
        let team = format!("team-{:x}", fastrand::u64(..));
        post_ok(&a, "/team/new", json!({"team_id": team})).await;
        let user = format!("user-{:x}", fastrand::u64(..));
        let key = generate(
            &a,
            json!({"key_alias": "shared", "team_id": team, "user_id": user}),
        )
        .await;
        let calls = (0..REQUESTS).map(|i| {
            let proxy = if i % 2 == 0 { a.clone() } else { b.clone() };
            let key = key.clone();
            tokio::spawn(async move { chat_status(&proxy, &key, "gemini-flash").await.0 })
        });
        for call in futures_util::future::join_all(calls).await {
            assert_eq!(call.unwrap(), 200);
        }
        tokio::join!(a.flush_spend(), b.flush_spend());
        let expected = EXACT_COST * REQUESTS as f64;
        let info = key_info(&b, &key).await;
        assert_eq!(info["spend"].as_f64(), Some(expected), "key: {info}");
        let (_, team_info) = send(
            &a,
            "GET",
            &format!("/team/info?team_id={team}"),
            MASTER,
            None,
        )
        .await;
        assert_eq!(
            team_info["team_info"]["spend"].as_f64(),
            Some(expected),
            "team: {team_info}"
        );
        let (status, user_info) = send(
            &b,
            "GET",
            &format!("/user/info?user_id={user}"),
            MASTER,
            None,
        )
        .await;
        assert_eq!(status, 200, "{user_info}");
        assert_eq!(
            (
                user_info["user_id"].as_str(),
                user_info["user_info"]["spend"].as_f64()
            ),
            (Some(user.as_str()), Some(expected)),
            "user: {user_info}"
        );
        assert_eq!(user_info["keys"][0]["key_alias"], "shared");
        assert_eq!(user_info["teams"][0]["team_id"], team.as_str());
        let token = info_token(&a, &key).await;
        let (_, logs) = send(
            &a,
            "GET",
            &format!("/spend/logs?api_key={token}"),
            MASTER,
            None,
        )
        .await;
        let logs = logs.as_array().unwrap();
        assert_eq!(logs.len(), REQUESTS);
        let logged: f64 = logs.iter().filter_map(|log| log["spend"].as_f64()).sum();
        assert_eq!(logged, expected, "the spend log's sum");

        // Deleted on one, refused on the other: at once through Redis, else within the
        // cache's bound. The key is held by the other (it spends nothing, so no written
        // spend makes that replica read it again).
        let watched = generate(&a, json!({})).await;
        let models = |proxy: &Proxy| {
            let (proxy, watched) = (proxy.clone(), watched.clone());
            async move { send(&proxy, "GET", "/v1/models", &watched, None).await.0 }
        };
        assert_eq!(models(&b).await, 200);
        let bound = match redis {
            Some(_) => Duration::from_secs(1),
            None => CACHE_TTL + Duration::from_secs(1),
        };
        post_ok(&a, "/key/delete", json!({"keys": [watched]})).await;
        let deleted = Instant::now();
        while models(&b).await != 401 {
            assert!(deleted.elapsed() < bound, "still admitted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn info_token(proxy: &Proxy, key: &str) -> String {
    let (_, info) = send(proxy, "GET", &format!("/key/info?key={key}"), MASTER, None).await;
    info["key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn malformed_key_requests_name_their_field() {
    let stand_in = StandIn::start().await;
    let sqlite = TempDb::new();
    let proxy = proxy_on(&stand_in, &sqlite.url()).await;
    for (body, field) in [
        (json!({"max_budget": "ten"}), "max_budget"),
        (json!({"max_budget": -1}), "max_budget"),
        (json!({"rpm_limit": 1.5}), "rpm_limit"),
        (json!({"models": "gemini-flash"}), "models"),
        (json!({"duration": "forever"}), "duration"),
        (json!({"budget_duration": "1x"}), "budget_duration"),
        (json!({"team_id": "no-such-team"}), "team_id"),
        (json!({"key": "not-a-key"}), "key"),
    ] {
        let (status, reply) =
            send(&proxy, "POST", "/key/generate", MASTER, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {reply}");
        assert_eq!(reply["error"]["param"], field, "{body}: {reply}");
    }
    let (status, reply) = send(&proxy, "POST", "/key/delete", MASTER, Some(json!({}))).await;
    assert_eq!(
        (status, reply["error"]["param"].as_str()),
        (400, Some("keys"))
    );
    let (status, _) = send(&proxy, "GET", "/key/info", MASTER, None).await;
    assert_eq!(status, 400);
    let (status, _) = send(&proxy, "GET", "/key/info?key=sk-unknown", MASTER, None).await;
    assert_eq!(status, 404);
    let (status, _) = send(&proxy, "GET", "/user/info?user_id=nobody", MASTER, None).await;
    assert_eq!(status, 404);
    let (status, _) = send(&proxy, "GET", "/user/info", MASTER, None).await;
    assert_eq!(status, 400);
    let (status, _) = chat_status(&proxy, "sk-unknown", "gemini-flash").await;
    assert_eq!(status, 401);
    let (status, _) = send(
        &proxy,
        "GET",
        "/spend/logs?start_date=yesterday",
        MASTER,
        None,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_database_that_cannot_be_opened_stops_startup() {
    let stand_in = StandIn::start().await;
    let proxy = gemini_proxy(
        &stand_in,
        MASTER,
        "  database_url: \"sqlite:///no/such/dir/keys.db?mode=rwc\"\n",
    );
    let error = proxy.open_keys().await.expect_err("no such directory");
    assert!(
        error.to_string().contains("/no/such/dir/keys.db"),
        "{error}"
    );
}

#[tokio::test]
async fn a_silent_database_is_a_bounded_503_and_the_master_key_still_works() {
    // A server that takes connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let stand_in = StandIn::start().await;
    stand_in
        .reply_json("gemini-2.5-flash", 200, &priced_reply())
        .await;
    let proxy = gemini_proxy(
        &stand_in,
        MASTER,
        &format!("  database_url: \"postgresql://user:secret-pw@127.0.0.1:{port}/keys\"\n"),
    );
    let started = Instant::now();
    let (status, reply) = chat_status(&proxy, "sk-some-virtual-key", "gemini-flash").await;
    assert_eq!(status, 503, "{reply}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(!reply.to_string().contains("secret-pw"));
    let (status, _) = chat_status(&proxy, MASTER, "gemini-flash").await;
    assert_eq!(status, 200);
    let (_, headers, _) = exchange(&proxy, "GET", "/v1/models", MASTER, None).await;
    assert!(!format!("{headers:?}").contains("secret-pw"));
}

/// Waits out the end of a minute, so that a test's requests count in one minute.
async fn early_in_a_minute() {
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second >= 50 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
}

#[tokio::test]
async fn rate_limits_of_a_key_answer_429_with_retry_after() {
    let sqlite = TempDb::new();
    let (_stand_in, proxy) = priced(&sqlite.url()).await;
    early_in_a_minute().await;
    let key = generate(&proxy, json!({"rpm_limit": 2})).await;
    assert_eq!(chat_status(&proxy, &key, "gemini-flash").await.0, 200);
    assert_eq!(chat_status(&proxy, &key, "gemini-flash").await.0, 200);
    let (status, headers, body) = exchange(
        &proxy,
        "POST",
        "/v1/chat/completions",
        &key,
        Some(ask("gemini-flash")),
    )
    .await;
    assert_eq!(status, 429, "{}", String::from_utf8_lossy(&body));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");

    // 1,100 tokens spent of a 1,000 tokens-per-minute limit.
    let key = generate(&proxy, json!({"tpm_limit": 1000})).await;
    assert_eq!(chat_status(&proxy, &key, "gemini-flash").await.0, 200);
    let started = Instant::now();
    while chat_status(&proxy, &key, "gemini-flash").await.0 != 429 {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "tokens not counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A stand-in whose priced replies take `delay`.
async fn slow_stand_in(delay: Duration) -> StandIn {
    let stand_in = StandIn::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(priced_reply())
                .set_delay(delay),
        )
        .mount(&stand_in.server)
        .await;
    stand_in
}

#[tokio::test]
async fn max_parallel_requests_of_a_key() {
    let sqlite = TempDb::new();
    let stand_in = slow_stand_in(Duration::from_millis(500)).await;
    let proxy = proxy_on(&stand_in, &sqlite.url()).await;
    let key = generate(&proxy, json!({"max_parallel_requests": 1})).await;
    let (first, second) = tokio::join!(chat_status(&proxy, &key, "gemini-flash"), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        chat_status(&proxy, &key, "gemini-flash").await
    });
    assert_eq!((first.0, second.0), (200, 429), "{second:?}");
    // The first one is done: its place is free again.
    assert_eq!(chat_status(&proxy, &key, "gemini-flash").await.0, 200);
}

#[tokio::test]
async fn an_rpm_limit_holds_across_replicas_sharing_redis() {
    let Some(redis) = redis_server::redis_url("an_rpm_limit_holds_across_replicas_sharing_redis")
    else {
        return;
    };
    let (_sqlite, urls) = databases();
    for url in urls {
        let stand_in = StandIn::start().await;
        stand_in
            .reply_json("gemini-2.5-flash", 200, &priced_reply())
            .await;
        let extra =
            format!("  database_url: \"{url}\"\nrouter_settings:\n  redis_url: \"{redis}\"\n");
        let (a, b) = (
            gemini_proxy(&stand_in, MASTER, &extra),
            gemini_proxy(&stand_in, MASTER, &extra),
        );
        a.open_keys().await.unwrap();
        b.open_keys().await.unwrap();
        early_in_a_minute().await;
        let key = generate(&a, json!({"rpm_limit": 3})).await;
        assert_eq!(chat_status(&a, &key, "gemini-flash").await.0, 200);
        assert_eq!(chat_status(&b, &key, "gemini-flash").await.0, 200);
        assert_eq!(chat_status(&a, &key, "gemini-flash").await.0, 200);
        let (status, reply) = chat_status(&b, &key, "gemini-flash").await;
        assert_eq!(status, 429, "{reply}");
        assert_eq!(chat_status(&a, &key, "gemini-flash").await.0, 429);
    }
}

#[tokio::test]
async fn max_parallel_requests_hold_across_replicas_sharing_redis() {
    let Some(redis) =
        redis_server::redis_url("max_parallel_requests_hold_across_replicas_sharing_redis")
    else {
        return;
    };
    let sqlite = TempDb::new();
    let stand_in = slow_stand_in(Duration::from_millis(800)).await;
    let extra = format!(
        "  database_url: \"{}\"\nrouter_settings:\n  redis_url: \"{redis}\"\n",
        sqlite.url()
    );
    let (a, b) = (
        gemini_proxy(&stand_in, MASTER, &extra),
        gemini_proxy(&stand_in, MASTER, &extra),
    );
    a.open_keys().await.unwrap();
    b.open_keys().await.unwrap();
    let key = generate(&a, json!({"max_parallel_requests": 2})).await;
    let held = |proxy: &Proxy| {
        let (proxy, key) = (proxy.clone(), key.clone());
        tokio::spawn(async move { chat_status(&proxy, &key, "gemini-flash").await.0 })
    };
    let (first, second) = (held(&a), held(&b));
    tokio::time::sleep(Duration::from_millis(300)).await;
    for proxy in [&a, &b] {
        let (status, headers, body) = exchange(
            proxy,
            "POST",
            "/v1/chat/completions",
            &key,
            Some(ask("gemini-flash")),
        )
        .await;
        assert_eq!(status, 429, "{}", String::from_utf8_lossy(&body));
        assert!(headers.contains_key("retry-after"));
    }
    assert_eq!((first.await.unwrap(), second.await.unwrap()), (200, 200));
    // Both places are given back.
    let started = Instant::now();
    while chat_status(&b, &key, "gemini-flash").await.0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "places not given back"
        );
    }
}

#[tokio::test]
async fn a_place_held_by_a_replica_that_stopped_ends_with_its_lease() {
    use llm_tower::store::{RedisCacheStore, RouterStore};
    let Some(redis) =
        redis_server::redis_url("a_place_held_by_a_replica_that_stopped_ends_with_its_lease")
    else {
        return;
    };
    let store = RedisCacheStore::open(&redis)
        .unwrap()
        .with_prefix(format!("lease-{:x}:", fastrand::u64(..)))
        .router_store();
    let counters = [("key:k".to_owned(), 1), ("team:t".to_owned(), 5)];
    let lease = Duration::from_millis(300);
    assert!(store.hold(&counters, "crashed", lease).await.unwrap());
    assert!(!store.hold(&counters, "next", lease).await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    store
        .renew(&["key:k".to_owned()], "crashed", lease)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !store.hold(&counters, "next", lease).await.unwrap(),
        "renewed"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        store.hold(&counters, "next", lease).await.unwrap(),
        "expired"
    );
    store
        .release(&["key:k".to_owned(), "team:t".to_owned()], "next")
        .await
        .unwrap();
    assert!(
        store.hold(&counters, "after", lease).await.unwrap(),
        "given back"
    );
}

#[tokio::test]
async fn a_key_lists_the_models_it_may_call() {
    let sqlite = TempDb::new();
    let stand_in = StandIn::start().await;
    // A second model name beside the stand-in's gemini-flash.
    let second = format!(
        "  - model_name: gemini-pro\n    litellm_params:\n      model: gemini/gemini-2.5-pro\n      api_key: test-key\n      api_base: {}/v1beta\n",
        stand_in.server.uri()
    );
    let extra = format!("  database_url: \"{}\"\n", sqlite.url());
    let proxy = gemini_proxy_with(&stand_in, MASTER, &second, &extra);
    proxy.open_keys().await.unwrap();
    let listed = |key: String| {
        let proxy = proxy.clone();
        async move {
            let mut ids = Vec::new();
            for path in ["/v1/models", "/models"] {
                let (status, list) = send(&proxy, "GET", path, &key, None).await;
                assert_eq!(status, 200, "{list}");
                let names: Vec<String> = list["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|model| model["id"].as_str().unwrap().to_owned())
                    .collect();
                ids.push(names);
            }
            assert_eq!(ids[0], ids[1]);
            ids.swap_remove(0)
        }
    };
    assert_eq!(listed(MASTER.into()).await, ["gemini-flash", "gemini-pro"]);
    let flash = generate(&proxy, json!({"models": ["gemini-flash"]})).await;
    assert_eq!(listed(flash).await, ["gemini-flash"]);
    let every = generate(&proxy, json!({})).await;
    assert_eq!(listed(every).await, ["gemini-flash", "gemini-pro"]);
    // The team's models bound the key's.
    post_ok(
        &proxy,
        "/team/new",
        json!({"team_id": "pro-only", "models": ["gemini-pro"]}),
    )
    .await;
    let in_team = generate(&proxy, json!({"team_id": "pro-only"})).await;
    assert_eq!(listed(in_team).await, ["gemini-pro"]);
}

#[tokio::test]
async fn embeddings_of_a_priced_model_add_to_the_key_spend() {
    let sqlite = TempDb::new();
    let stand_in = StandIn::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(
            "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"embeddings": [{"values": [0.5, -0.25]}]})),
        )
        .mount(&stand_in.server)
        .await;
    let embedder = format!(
        "  - model_name: embedder\n    litellm_params:\n      model: gemini/gemini-embedding-001\n      api_key: {}\n      api_base: {}/v1beta\n      input_cost_per_token: 1.5e-7\n      output_cost_per_token: 0\n",
        common::TEST_KEY,
        stand_in.server.uri()
    );
    let extra = format!("  database_url: \"{}\"\n", sqlite.url());
    let proxy = gemini_proxy_with(&stand_in, MASTER, &embedder, &extra);
    proxy.open_keys().await.unwrap();
    let key = generate(&proxy, json!({})).await;
    let body = json!({"model": "embedder", "input": "The quick brown fox jumps over the lazy dog"});
    let (status, reply) = send(&proxy, "POST", "/v1/embeddings", &key, Some(body)).await;
    assert_eq!(status, 200, "{reply}");
    let tokens = reply["usage"]["prompt_tokens"].as_f64().unwrap();
    assert!(tokens > 0.0, "{reply}");
    let cost = reply["usage"]["cost"].as_f64().expect("a priced reply");
    assert!((cost - tokens * 1.5e-7).abs() < 1e-12, "{reply}");
    proxy.flush_spend().await;
    let info = key_info(&proxy, &key).await;
    assert_eq!(info["spend"].as_f64(), Some(cost), "{info}");
}
