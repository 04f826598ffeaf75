//! The read API: in-process through the router, and over loopback against the real
//! `gild serve`, both on a store synced from the demo estate.

use crate::support::*;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use gild::api::{self, ApiState, Tokens};
use gild::store::Store;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;
use tower::ServiceExt;

pub(crate) const TOKEN: &str = "test-read-token-0123456789";
const OTHER_TOKEN: &str = "second-read-token-abcdefghij";

/// A fresh SQLite store synced from the demo estate.
pub(crate) fn synced_store() -> (tempfile::TempDir, String) {
    let (dir, url) = sqlite_store();
    let sync = run(
        &["sync", "--config", "gild.toml"],
        &[("GILD_STORE_URL", url.as_str())],
    );
    assert_eq!(sync.status.code(), Some(0), "sync: {}", stderr(&sync));
    (dir, url)
}

struct Answer {
    status: StatusCode,
    www_authenticate: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The error document's message, checking its shape and status on the way.
    fn error_message(&self) -> String {
        let j = self.json();
        assert_eq!(j["error"]["status"], self.status.as_u16(), "{j}");
        assert!(j["error"]["code"].is_string(), "{j}");
        j["error"]["message"].as_str().expect("message").to_string()
    }
}

async fn call(app: &Router, method: &str, uri: &str, auth: Option<&str>) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let response = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("the router answers");
    let status = response.status();
    let h = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let www_authenticate = h(header::WWW_AUTHENTICATE);
    let content_type = h(header::CONTENT_TYPE);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        www_authenticate,
        content_type,
        body,
    }
}

async fn get(app: &Router, uri: &str) -> Answer {
    call(app, "GET", uri, Some(&format!("Bearer {TOKEN}"))).await
}

/// Runs one statement on the store, SQLite or PostgreSQL, with text and JSON binds.
async fn execute(url: &str, sql: &str, text: &[&str], json: Option<Value>) {
    macro_rules! on {
        ($pool:expr) => {{
            let pool = $pool.await.expect("store");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
            for t in text {
                q = q.bind(*t);
            }
            if let Some(j) = &json {
                q = q.bind(sqlx::types::Json(j));
            }
            q.execute(&pool).await.expect(sql);
            pool.close().await;
        }};
    }
    if url.starts_with("sqlite:") {
        on!(sqlx::SqlitePool::connect(url))
    } else {
        on!(sqlx::PgPool::connect(url))
    }
}

/// Inserts events into the change feed by hand (until the sync writes them itself).
async fn insert_events(url: &str, golden_id: &str, n: usize) {
    for i in 0..n {
        execute(
            url,
            "INSERT INTO golden_events (kind, golden_id, related_ids, changes, run_id, audit_id, occurred_at) \
             VALUES ('updated', $1, '[]', $2, 'test-run', NULL, '2026-11-23T10:00:00Z')",
            &[golden_id],
            Some(serde_json::json!({"email": {"before": format!("old{i}@example.com"), "after": format!("new{i}@example.com")}})),
        )
        .await;
    }
}

/// Simulates a merge: `old` now redirects to `new`.
async fn insert_redirect(url: &str, old: &str, new: &str) {
    execute(
        url,
        "INSERT INTO golden_redirects (old_id, new_id, run_id, reason, created_at) \
         VALUES ($1, $2, 'test-run', 'merged', '2026-11-23T10:00:00Z')",
        &[old, new],
        None,
    )
    .await;
}

/// A customer with billing accounts and orders.
async fn rich_customer(store: &Store) -> gild::store::GoldenView {
    let list = store.golden_list(None, 5000, 0).await.expect("list");
    let g = list
        .iter()
        .find(|g| g.billing_accounts > 0 && g.orders > 1 && g.email.is_some() && g.phone.is_some())
        .expect("a customer with accounts, orders, e-mail and phone");
    store
        .golden_view(&g.golden_id)
        .await
        .expect("view")
        .expect("exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_serves_customers_search_changes_health_and_metrics() {
    let (_dir, url) = synced_store();
    exercise_router(&url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_serves_a_postgres_store_the_same_way() {
    let Some(pg) = server_url("GILD_TEST_POSTGRES_URL", "a PostgreSQL server") else {
        return;
    };
    let db = TestDb::postgres(&pg, "gild_api").await;
    let sync = run(
        &["sync", "--config", "gild.toml"],
        &[("GILD_STORE_URL", db.url.as_str())],
    );
    assert_eq!(sync.status.code(), Some(0), "sync: {}", stderr(&sync));
    exercise_router(&db.url, "postgres").await;
}

/// Every route in-process, on a store synced from the demo estate.
async fn exercise_router(url: &str, engine: &str) {
    let url = url.to_string();
    let store = Store::connect_for_reads(&url, 2).await.expect("store");
    let tokens =
        Tokens::parse("GILD_API_TOKENS", &format!("{TOKEN},{OTHER_TOKEN}")).expect("tokens");
    let app = api::router(
        ApiState::new(store.clone(), tokens, 500, vec!["US".into()]).expect("api state"),
        Duration::from_secs(30),
    );

    // Public routes. Health tells only a token holder more than the status.
    let health = call(&app, "GET", "/health", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json(), serde_json::json!({"status": "ok"}));
    for wrong in ["Bearer not-the-token-at-all", "Basic dXNlcjpwYXNz"] {
        let health = call(&app, "GET", "/health", Some(wrong)).await;
        assert_eq!(health.status, StatusCode::OK);
        assert_eq!(health.json(), serde_json::json!({"status": "ok"}));
    }
    let health = get(&app, "/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["store"], engine);
    assert!(
        health.json()["last_event_seq"].is_i64(),
        "{}",
        health.text()
    );
    let openapi = call(&app, "GET", "/openapi.json", None).await;
    assert_eq!(openapi.status, StatusCode::OK);
    assert!(openapi.json()["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.1")));

    // Auth: missing, wrong, wrong scheme, right (either token, any case of "Bearer").
    let missing = call(&app, "GET", "/v1/customers/G00000001", None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert!(missing
        .www_authenticate
        .as_deref()
        .is_some_and(|v| v.starts_with("Bearer")));
    assert!(
        missing.error_message().contains("Authorization: Bearer"),
        "{}",
        missing.text()
    );
    assert_eq!(missing.json()["error"]["code"], "unauthorized");
    let wrong = call(
        &app,
        "GET",
        "/v1/customers/G00000001",
        Some("Bearer not-the-token-at-all"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong
        .www_authenticate
        .as_deref()
        .is_some_and(|v| v.contains("invalid_token")));
    assert_eq!(wrong.error_message(), "the token is not valid");
    let basic = call(
        &app,
        "GET",
        "/v1/customers/G00000001",
        Some("Basic dXNlcjpwYXNz"),
    )
    .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    assert!(basic.error_message().contains("Bearer <token>"));
    let other = call(
        &app,
        "GET",
        "/v1/customers/G00000001",
        Some(&format!("bearer {OTHER_TOKEN}")),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text());
    for path in [
        "/metrics",
        "/v1/changes",
        "/v1/customers?name=smith",
        "/v1/sources/crm/records/1/customer",
    ] {
        assert_eq!(
            call(&app, "GET", path, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }

    // By golden ID: the same document as `gild golden show --format json`.
    let view = rich_customer(&store).await;
    let id = view.golden.golden_id.clone();
    let by_id = get(&app, &format!("/v1/customers/{id}")).await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(by_id.content_type.as_deref(), Some("application/json"));
    let mut doc = by_id.json();
    // Its field conflicts as the review queue holds them, by field (`golden show` lists the
    // whole items); the rest is the view itself.
    let conflicts = doc
        .as_object_mut()
        .and_then(|d| d.remove("conflicts"))
        .expect("a conflicts list");
    let held = store.conflicts_of(&id).await.expect("conflicts");
    let listed: Vec<(String, String)> = conflicts
        .as_array()
        .expect("array")
        .iter()
        .map(|c| {
            (
                c["item"].as_str().unwrap_or("").to_string(),
                c["field"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = held
        .iter()
        .map(|c| (format!("C{}", c.item_id), c.field.name().to_string()))
        .collect();
    assert_eq!(listed, expected);
    // A customer whose records disagree carries its conflict, values and all.
    let conflict = store
        .conflict_queue(false, 1)
        .await
        .expect("conflicts")
        .pop()
        .expect("the demo estate has field conflicts");
    let disputed = get(&app, &format!("/v1/customers/{}", conflict.golden_id))
        .await
        .json();
    let listed = disputed["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .find(|c| c["item"] == format!("C{}", conflict.item_id).as_str())
        .expect("the conflict is listed")
        .clone();
    assert_eq!(listed["field"], conflict.field.name());
    assert_eq!(listed["status"], "open");
    assert_eq!(
        listed["values"].as_array().map(Vec::len),
        Some(conflict.competing.len())
    );
    assert_eq!(doc, serde_json::to_value(&view).expect("view json"));
    assert_eq!(doc["golden_id"], id.as_str());
    assert!(doc["redirected_from"].is_null());
    assert!(doc["lineage"]["family_name"]["source"].is_string());
    let kinds: Vec<&str> = doc["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"billing") && kinds.contains(&"fulfilment"),
        "{kinds:?}"
    );
    assert!(doc["records"][0]["record"]["facts"]["kind"].is_string());

    let unknown = get(&app, "/v1/customers/G99999999").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_message(), "no golden customer G99999999");
    assert_eq!(unknown.json()["error"]["code"], "not_found");
    let malformed = get(&app, "/v1/customers/bogus").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed
        .error_message()
        .contains("malformed golden id \"bogus\""));

    // By source key, including a key that needs percent-encoding in the path.
    let member = &view.records[0];
    let by_key = get(
        &app,
        &format!(
            "/v1/sources/{}/records/{}/customer",
            member.source, member.key
        ),
    )
    .await;
    assert_eq!(by_key.status, StatusCode::OK, "{}", by_key.text());
    assert_eq!(by_key.json()["golden_id"], id.as_str());
    let no_key = get(&app, "/v1/sources/crm/records/no%2Fsuch%20key/customer").await;
    assert_eq!(no_key.status, StatusCode::NOT_FOUND);
    assert!(
        no_key.error_message().contains("no record crm:no/such key"),
        "{}",
        no_key.text()
    );

    // A merged ID is followed to the survivor.
    insert_redirect(&url, "G90000001", &id).await;
    let redirected = get(&app, "/v1/customers/G90000001").await;
    assert_eq!(redirected.status, StatusCode::OK);
    assert_eq!(redirected.json()["golden_id"], id.as_str());
    assert_eq!(redirected.json()["redirected_from"], "G90000001");

    // Search: e-mail in any case, phone as stored or as dialled, name, postcode without spaces.
    let ids_of = |a: &Answer| -> Vec<String> {
        a.json()["customers"]
            .as_array()
            .expect("customers")
            .iter()
            .filter_map(|c| c["golden_id"].as_str().map(str::to_string))
            .collect()
    };
    let g = &view.golden;
    let email = g.fields.email.clone().expect("email").to_uppercase();
    let found = get(
        &app,
        &format!("/v1/customers?email={}", email.replace('+', "%2B")),
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    assert_eq!(ids_of(&found), vec![id.clone()]);
    assert_eq!(found.json()["count"], 1);
    assert_eq!(found.json()["more"], false);
    let phone = g.fields.phone.clone().expect("phone");
    let found = get(
        &app,
        &format!("/v1/customers?phone={}", phone.replace('+', "%2B")),
    )
    .await;
    assert!(ids_of(&found).contains(&id), "{}", found.text());
    if let Some(national) = phone.strip_prefix("+1").filter(|n| n.len() == 10) {
        let dialled = format!(
            "({}) {}-{}",
            &national[..3],
            &national[3..6],
            &national[6..]
        );
        let found = get(
            &app,
            &format!("/v1/customers?phone={}", dialled.replace(' ', "%20")),
        )
        .await;
        assert!(ids_of(&found).contains(&id), "{dialled}: {}", found.text());
    }
    let family = g.fields.family_name.clone().expect("family name");
    let given = g.fields.given_name.clone().expect("given name");
    let found = get(
        &app,
        &format!(
            "/v1/customers?name={}&limit=500",
            family.to_lowercase().replace(' ', "%20")
        ),
    )
    .await;
    assert!(ids_of(&found).contains(&id), "{}", found.text());
    let full = format!("{} {}", given.to_uppercase(), family).replace(' ', "%20");
    let found = get(&app, &format!("/v1/customers?name={full}")).await;
    assert!(ids_of(&found).contains(&id), "{}", found.text());
    if let Some(postcode) = &g.fields.postcode {
        let spaced: String = postcode
            .chars()
            .flat_map(|c| [c.to_ascii_lowercase(), ' '])
            .collect();
        let found = get(
            &app,
            &format!(
                "/v1/customers?postcode={}&name={}&limit=500",
                spaced.trim().replace(' ', "%20"),
                family.replace(' ', "%20")
            ),
        )
        .await;
        assert!(ids_of(&found).contains(&id), "{}", found.text());
    }
    let page = get(
        &app,
        &format!("/v1/customers?name={}&limit=1", family.replace(' ', "%20")),
    )
    .await;
    assert_eq!(page.json()["count"], 1);
    let none = get(&app, "/v1/customers?email=nobody%40nowhere.invalid").await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.json()["count"], 0);
    let no_criteria = get(&app, "/v1/customers?limit=5").await;
    assert_eq!(no_criteria.status, StatusCode::BAD_REQUEST);
    assert!(no_criteria
        .error_message()
        .contains("at least one of email, phone, name or postcode"));
    let typo = get(&app, "/v1/customers?emial=x").await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST);
    assert!(typo.error_message().contains("unknown parameter \"emial\""));

    // The change feed, paged with the cursor.
    let head = store.last_event_seq().await.expect("head");
    insert_events(&url, &id, 5).await;
    let mut cursor = head;
    let mut seen = Vec::new();
    loop {
        let page = get(&app, &format!("/v1/changes?after={cursor}&limit=2")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let j = page.json();
        let events = j["events"].as_array().expect("events").clone();
        assert!(events.len() <= 2);
        for e in &events {
            assert!(e["seq"].as_i64() > Some(cursor));
            seen.push(e["seq"].as_i64().expect("seq"));
        }
        let next = j["next_cursor"].as_i64().expect("next_cursor");
        if events.is_empty() {
            assert_eq!(next, cursor, "an empty page keeps the cursor");
            assert_eq!(j["more"], false);
            break;
        }
        assert_eq!(j["more"], seen.len() < 5, "{j}");
        cursor = next;
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let first = get(&app, &format!("/v1/changes?after={head}&limit=1"))
        .await
        .json();
    assert_eq!(first["events"][0]["kind"], "updated");
    assert_eq!(first["events"][0]["golden_id"], id.as_str());
    assert_eq!(
        first["events"][0]["changes"]["email"]["after"],
        "new0@example.com"
    );
    let capped = get(&app, "/v1/changes?after=0&limit=100000").await;
    assert_eq!(capped.status, StatusCode::OK);
    for (query, wanted) in [
        ("after=-1", "after must be a cursor"),
        ("after=abc", "not \"abc\""),
        ("after=1.5", "after must be a cursor"),
        ("limit=0", "limit must be a whole number of at least 1"),
        ("since=3", "unknown parameter \"since\""),
    ] {
        let bad = get(&app, &format!("/v1/changes?{query}")).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            bad.error_message().contains(wanted),
            "{query}: {}",
            bad.text()
        );
    }

    // Unknown routes and methods answer in JSON too.
    let nowhere = get(&app, "/v2/customers").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(nowhere.error_message().contains("no route /v2/customers"));
    let post = call(&app, "POST", "/health", None).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(post.error_message().contains("read-only"));
    // On a protected route the token comes first: without one, any method is a 401.
    for (method, path) in [
        ("POST", "/v1/customers/G00000001"),
        ("DELETE", "/v1/customers/G00000001"),
        ("PUT", "/v1/sources/crm/records/1/customer"),
        ("POST", "/v1/customers"),
        ("PATCH", "/v1/changes"),
        ("POST", "/metrics"),
    ] {
        let anonymous = call(&app, method, path, None).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: {}",
            anonymous.text()
        );
        assert!(anonymous.www_authenticate.is_some(), "{method} {path}");
        let wrong = call(&app, method, path, Some("Bearer not-the-token-at-all")).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        let holder = call(&app, method, path, Some(&format!("Bearer {TOKEN}"))).await;
        assert_eq!(
            holder.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert!(holder.error_message().contains("read-only"));
    }

    // Metrics: by route template and status, latency, golden customers.
    let metrics = get(&app, "/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics
        .content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("text/plain")));
    let text = metrics.text();
    assert!(
        text.contains(
            "gild_api_requests_total{route=\"/v1/customers/{golden_id}\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "gild_api_requests_total{route=\"/v1/customers/{golden_id}\",status=\"404\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("gild_api_requests_total{route=\"/v1/changes\",status=\"400\"} 5"),
        "{text}"
    );
    assert!(
        text.contains(
            "gild_api_request_duration_seconds_bucket{route=\"/v1/customers\",le=\"+Inf\"}"
        ),
        "{text}"
    );
    let golden = store.golden_count().await.expect("count");
    assert!(
        text.contains(&format!("gild_golden_customers {golden}\n")),
        "{text}"
    );
    assert!(
        !text.contains(&email.to_lowercase()),
        "no customer data in metrics"
    );
    store.close().await;
}

/// The real server (killed if the test fails half-way) and the address it listens on.
pub(crate) struct Server {
    pub process: Background,
    pub addr: String,
}

fn start_server(store_url: &str, tokens: &str) -> Server {
    start_server_with("gild.toml", store_url, tokens)
}

/// `gild serve` with the configuration file `config`.
pub(crate) fn start_server_with(config: &str, store_url: &str, tokens: &str) -> Server {
    let mut c = gild();
    c.args(["serve", "--config", config, "--listen", "127.0.0.1:0"])
        .env("GILD_STORE_URL", store_url)
        .env("GILD_API_TOKENS", tokens)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut process = Background::start(c);
    let stderr = process.0.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    // Read the address line, then keep draining so that logging never blocks the server.
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on http://") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("gild serve prints `listening on http://ADDR`");
    Server { process, addr }
}

/// One HTTP/1.1 GET over a fresh connection: (status, head, body).
pub(crate) fn http_get(addr: &str, path: &str, token: Option<&str>) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head.to_string(), body.to_string())
}

#[test]
fn gild_serve_answers_over_loopback_and_stops_on_sigterm() {
    let (_dir, url) = synced_store();
    let mut server = start_server(&url, &format!(" {TOKEN} , {OTHER_TOKEN}"));
    let addr = server.addr.clone();

    let (status, _, body) = http_get(&addr, "/health", None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");

    let (status, head, body) = http_get(&addr, "/v1/customers/G00000001", None);
    assert_eq!(status, 401);
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    let j: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(j["error"]["status"], 401);
    assert_eq!(j["error"]["code"], "unauthorized");
    let (status, _, _) = http_get(
        &addr,
        "/v1/customers/G00000001",
        Some("wrong-token-wrong-token"),
    );
    assert_eq!(status, 401);

    let (status, _, body) = http_get(&addr, "/v1/customers/G00000001", Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(doc["golden_id"], "G00000001");
    let record = &doc["records"][0];
    let path = format!(
        "/v1/sources/{}/records/{}/customer",
        record["source"].as_str().expect("source"),
        record["key"].as_str().expect("key")
    );
    let (status, _, body) = http_get(&addr, &path, Some(OTHER_TOKEN));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"golden_id\":\"G00000001\""));

    let (status, _, body) = http_get(&addr, "/v1/customers/G00000099x", Some(TOKEN));
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = http_get(&addr, "/v1/customers/G99999998", Some(TOKEN));
    assert_eq!(status, 404);
    assert!(body.contains("no golden customer G99999998"), "{body}");

    if let Some(email) = doc["email"].as_str() {
        let (status, _, body) = http_get(
            &addr,
            &format!("/v1/customers?email={}", email.replace('+', "%2B")),
            Some(TOKEN),
        );
        assert_eq!(status, 200);
        assert!(body.contains("\"golden_id\":\"G00000001\""), "{body}");
    }
    let (status, _, body) = http_get(&addr, "/v1/changes?after=0", Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"next_cursor\""));
    let (status, _, body) = http_get(&addr, "/v1/changes?after=-5", Some(TOKEN));
    assert_eq!(status, 400);
    assert!(body.contains("after must be a cursor"), "{body}");

    let (status, _, body) = http_get(&addr, "/metrics", Some(TOKEN));
    assert_eq!(status, 200);
    assert!(
        body.contains("gild_api_requests_total{route=\"/health\",status=\"200\"} 1"),
        "{body}"
    );
    assert!(body.contains("gild_golden_customers "), "{body}");
    let (status, _, body) = http_get(&addr, "/openapi.json", None);
    assert_eq!(status, 200);
    assert!(body.contains("\"/v1/changes\""));

    // SIGTERM: a graceful stop, exit code 0.
    assert!(server.process.terminate(), "SIGTERM sent");
    let status = server.process.wait_for_exit(Duration::from_secs(20));
    assert!(status.is_some(), "gild serve did not stop on SIGTERM");
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}

#[test]
fn gild_serve_refuses_to_start_without_good_tokens() {
    let (_dir, url) = sqlite_store();
    let missing = gild()
        .args(["serve", "--config", "gild.toml", "--listen", "127.0.0.1:0"])
        .env("GILD_STORE_URL", &url)
        .env_remove("GILD_API_TOKENS")
        .output()
        .expect("gild runs");
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("environment variable GILD_API_TOKENS is not set"),
        "{}",
        stderr(&missing)
    );
    let short = run(
        &["serve", "--config", "gild.toml", "--listen", "127.0.0.1:0"],
        &[
            ("GILD_STORE_URL", url.as_str()),
            ("GILD_API_TOKENS", "tooshort"),
        ],
    );
    assert_eq!(short.status.code(), Some(2));
    assert!(stderr(&short).contains("at least 16"), "{}", stderr(&short));
    assert!(
        !stderr(&short).contains("tooshort"),
        "tokens are never printed"
    );
}

/// The read API answers SQLite look-ups on its own connections (`DirectReads`); they must
/// answer exactly as the sqlx pool does, for every customer, old merged IDs, source keys of
/// every kind and each kind of search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_sqlite_reads_answer_as_the_store_pool_does() {
    let (_dir, url) = synced_store();
    let store = Store::connect_for_reads(&url, 2).await.expect("store");
    let direct = gild::store::DirectReads::for_store(&store)
        .expect("open")
        .expect("a SQLite store has direct reads");

    let ids: Vec<(String,)> = sqlx::query_as("SELECT golden_id FROM golden_customers")
        .fetch_all(&sqlx::SqlitePool::connect(&url).await.expect("pool"))
        .await
        .expect("ids");
    assert!(ids.len() > 400, "{} customers", ids.len());
    let first = ids[0].0.clone();
    insert_redirect(&url, "G99999990", &first).await;
    let mut asked: Vec<String> = ids.into_iter().map(|(id,)| id).collect();
    asked.extend(["G99999990".to_string(), "G99999999".to_string()]);
    for id in &asked {
        let by_pool = store.customer_document(id).await.expect("pool read");
        let by_direct = direct.customer_document(id).expect("direct read");
        assert_eq!(to_json(&by_direct), to_json(&by_pool), "customer {id}");
    }
    let redirected = direct
        .customer_document("G99999990")
        .expect("read")
        .expect("the redirect is followed");
    assert_eq!(redirected.redirected_from.as_deref(), Some("G99999990"));

    let keys: Vec<(String, String)> =
        sqlx::query_as("SELECT source, record_key FROM source_records ORDER BY source, record_key")
            .fetch_all(&sqlx::SqlitePool::connect(&url).await.expect("pool"))
            .await
            .expect("keys");
    let mut kinds = std::collections::BTreeSet::new();
    for (source, key) in keys.iter().step_by(7) {
        kinds.insert(source.clone());
        let key = gild::record::SourceKey::new(source.clone(), key.clone());
        let by_pool = store
            .customer_document_by_key(&key)
            .await
            .expect("pool read");
        let by_direct = direct.customer_document_by_key(&key).expect("direct read");
        assert_eq!(to_json(&by_direct), to_json(&by_pool), "record {key}");
    }
    assert!(kinds.len() >= 3, "every source is asked: {kinds:?}");

    let customer = rich_customer(&store).await;
    let g = &customer.golden.fields;
    let searches = [
        gild::store::CustomerSearch {
            email: g.email.as_ref().map(|e| e.to_uppercase()),
            ..Default::default()
        },
        gild::store::CustomerSearch {
            phones: g.phone.iter().cloned().collect(),
            ..Default::default()
        },
        gild::store::CustomerSearch {
            family_name: g.family_name.clone(),
            given_name: g.given_name.as_ref().map(|n| n.to_lowercase()),
            ..Default::default()
        },
        gild::store::CustomerSearch {
            postcode: g
                .postcode
                .as_ref()
                .map(|p| p.to_lowercase().replace(' ', "")),
            family_name: g.family_name.clone(),
            ..Default::default()
        },
        gild::store::CustomerSearch::default(),
    ];
    for search in &searches {
        let by_pool = store
            .search_customers(search, 500)
            .await
            .expect("pool search");
        let by_direct = direct.search_customers(search, 500).expect("direct search");
        assert_eq!(by_direct, by_pool, "{search:?}");
        if !search.is_empty() {
            assert!(
                by_direct
                    .iter()
                    .any(|c| c.golden_id == customer.golden.golden_id),
                "{search:?} finds the customer it was made from"
            );
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialisable")
}
