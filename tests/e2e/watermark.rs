//! Watermark pulls end to end: the demo CRM (SQLite, and PostgreSQL and MariaDB when their URLs
//! are set) synced once, then rows inserted, edited, soft-deleted and committed late with a
//! watermark inside the overlap; the next sync reads only those rows, and leaves the store as a
//! `--full` sync from the same starting store does. A hard delete is not seen until `--full`.

use crate::lifecycle::Estate;
use crate::support::*;
use serde_json::Value;
use sqlx::Connection;

/// Where the CRM table lives for one variant.
#[derive(Clone, Copy, PartialEq)]
enum Engine {
    Sqlite,
    Postgres,
    Mysql,
}

/// Runs SQL statements (`;`-separated, literal values: this is test data) on the CRM database.
async fn exec(engine: Engine, url: &str, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match engine {
        Engine::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url)
                .await
                .expect("open crm");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("crm sql");
            c.close().await.ok();
        }
        Engine::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("open crm");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("crm sql");
            c.close().await.ok();
        }
        Engine::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(url).await.expect("open crm");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("crm sql");
            c.close().await.ok();
        }
    }
}

/// What a sync decides in the store: golden IDs with their content, record links, redirects,
/// and the change feed.
#[derive(Debug, PartialEq)]
struct View {
    golden: Vec<(String, i64)>,
    links: Vec<(String, String, Option<String>)>,
    redirects: Vec<(String, String)>,
    events: Vec<(String, String)>,
    watermarks: Vec<(String, String)>,
}

async fn view(url: &str) -> View {
    let mut c = sqlx::SqliteConnection::connect(url)
        .await
        .expect("open store");
    let v = View {
        golden: sqlx::query_as(
            "SELECT golden_id, content_hash FROM golden_customers ORDER BY golden_id",
        )
        .fetch_all(&mut c)
        .await
        .expect("golden"),
        links: sqlx::query_as(
            "SELECT source, record_key, golden_id FROM source_records ORDER BY source, record_key",
        )
        .fetch_all(&mut c)
        .await
        .expect("links"),
        redirects: sqlx::query_as("SELECT old_id, new_id FROM golden_redirects ORDER BY old_id")
            .fetch_all(&mut c)
            .await
            .expect("redirects"),
        events: sqlx::query_as("SELECT kind, golden_id FROM golden_events ORDER BY seq")
            .fetch_all(&mut c)
            .await
            .expect("events"),
        watermarks: sqlx::query_as("SELECT source, value FROM watermarks ORDER BY source")
            .fetch_all(&mut c)
            .await
            .expect("watermarks"),
    };
    c.close().await.ok();
    v
}

/// A copy of the SQLite store, as it is between runs.
fn copy_store(e: &Estate, name: &str) -> String {
    let from = e.path().join("store.db");
    let to = e.path().join(name);
    std::fs::copy(&from, &to).expect("copy store");
    for suffix in ["-wal", "-shm"] {
        let side = e.path().join(format!("store.db{suffix}"));
        if side.exists() {
            std::fs::copy(&side, e.path().join(format!("{name}{suffix}"))).expect("copy wal");
        }
    }
    format!("sqlite://{}", to.display())
}

/// `gild ARGS --format json` on the estate, with `store` and the CRM at `crm`.
fn sync(e: &Estate, store: &str, crm: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--format", "json"]);
    let out = e
        .command(&all)
        .env("GILD_STORE_URL", store)
        .env("GILD_CRM_URL", crm)
        .output()
        .expect("gild runs");
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    json(&out)
}

fn crm_report(report: &Value) -> &Value {
    report["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["source"] == "crm")
        .expect("crm reported")
}

fn crm_changes(report: &Value) -> (u64, u64, u64) {
    let c = report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["source"] == "crm")
        .expect("crm compared");
    let n = |k: &str| c[k].as_u64().expect("count");
    (n("new"), n("changed"), n("vanished"))
}

/// The scenario, whatever database holds the CRM (None: the estate's own SQLite copy).
async fn pulls_since_the_watermark_equal_a_full_sync(engine: Engine, crm: Option<&str>) {
    let e = Estate::new(None);
    let crm = crm.map(str::to_string).unwrap_or_else(|| e.crm_db());
    let crm = crm.as_str();
    let kind = match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
        Engine::Mysql => "mysql",
    };
    std::fs::write(
        e.path().join("connectors/crm.toml"),
        format!(
            "name = \"crm\"\nkind = \"{kind}\"\nrecord_kind = \"customer\"\nurl = \"${{GILD_CRM_URL}}\"\n\
             table = \"customers\"\nprimary_key = [\"cust_id\"]\nwatermark = \"updated_at\"\n\
             watermark_overlap = \"5m\"\nsoft_delete = \"deleted_at\"\n"
        ),
    )
    .expect("write connector");
    exec(
        engine,
        crm,
        "ALTER TABLE customers ADD COLUMN deleted_at VARCHAR(19)",
    )
    .await;
    // Typed timestamp columns on the servers: the bound is bound as a timestamp there.
    match engine {
        Engine::Postgres => {
            exec(engine, crm, "ALTER TABLE customers ALTER COLUMN updated_at TYPE TIMESTAMP USING updated_at::timestamp").await
        }
        Engine::Mysql => {
            exec(engine, crm, "ALTER TABLE customers MODIFY updated_at DATETIME").await
        }
        Engine::Sqlite => {}
    }
    let store = e.store_url().to_string();

    let first = sync(&e, &store, crm, &["sync"]);
    let crm_first = crm_report(&first);
    assert_eq!(crm_first["rows_read"], 475);
    assert_eq!(
        crm_first["read_in_full_because"],
        "no watermark committed yet"
    );
    let before = view(&store).await;
    assert_eq!(
        before
            .watermarks
            .iter()
            .find(|(s, _)| s == "crm")
            .map(|(_, v)| v.as_str()),
        Some("2025-09-25 08:56:09"),
        "the highest updated_at read"
    );

    // A new customer entered twice, an edit, a soft delete, and an edit committed late with a
    // watermark just before the committed one (inside the overlap). The newest row, 100229, is
    // read again in the overlap without having changed.
    exec(
        engine,
        crm,
        "INSERT INTO customers (cust_id, cust_name, birth_dt, email, home_phone, mobile_phone, addr_line1, \
         addr_line2, city, state, zip, country, updated_at) \
         SELECT 9900001, cust_name, birth_dt, email, home_phone, mobile_phone, addr_line1, addr_line2, city, state, \
         zip, country, '2026-11-21 09:00:00' FROM customers WHERE cust_id = 100001; \
         UPDATE customers SET email = 'giulia.changed@example.org', updated_at = '2026-11-21 09:01:00' WHERE cust_id = 100004; \
         UPDATE customers SET deleted_at = '2026-11-21 09:02:00', updated_at = '2026-11-21 09:02:00' WHERE cust_id = 100005; \
         UPDATE customers SET email = 'late.commit@example.org', updated_at = '2025-09-25 08:55:00' WHERE cust_id = 100483",
    )
    .await;
    let full_store = copy_store(&e, "full.db");
    let untouched = sync(&e, &store, crm, &["golden", "show", "crm:100229"])["golden_id"]
        .as_str()
        .expect("golden id")
        .to_string();

    let incremental = sync(&e, &store, crm, &["sync"]);
    let r = crm_report(&incremental);
    assert_eq!(
        r["since_watermark"], "updated_at >= 2025-09-25 08:51:09",
        "{r}"
    );
    assert_eq!(
        r["rows_read"], 5,
        "the four rows changed and the newest one, in the overlap: {r}"
    );
    assert_eq!(r["soft_deleted"], 1);
    assert_eq!(r["kept_from_last_run"], 475 - 4, "all but the rows read");
    assert_eq!(
        crm_changes(&incremental),
        (1, 2, 1),
        "one new, two edited, one deleted: the row read again unchanged is no change"
    );
    let text = {
        let v = view(&store).await;
        assert!(
            !v.events[before.events.len()..]
                .iter()
                .any(|(_, id)| *id == untouched),
            "no event for the customer whose row was only read again"
        );
        v
    };

    let full = sync(&e, &full_store, crm, &["sync", "--full"]);
    assert_eq!(crm_report(&full)["read_in_full_because"], "--full");
    assert_eq!(crm_report(&full)["rows_read"], 476);
    assert_eq!(crm_changes(&full), crm_changes(&incremental));
    let reference = view(&full_store).await;
    assert_eq!(
        text.golden, reference.golden,
        "the same golden IDs and fields"
    );
    assert_eq!(text.links, reference.links, "the same record links");
    assert_eq!(text.redirects, reference.redirects);
    assert_eq!(text.events, reference.events, "the same change events");
    assert_eq!(text.watermarks, reference.watermarks);
    assert!(
        !text
            .links
            .iter()
            .any(|(s, k, _)| s == "crm" && k == "100005"),
        "the soft-deleted row's record is gone"
    );

    // A hard delete is not seen by a watermark pull; --full reconciles.
    exec(engine, crm, "DELETE FROM customers WHERE cust_id = 100004").await;
    let blind = sync(&e, &store, crm, &["sync"]);
    assert!(crm_report(&blind)["since_watermark"].is_string(), "{blind}");
    let still = view(&store).await;
    assert!(still
        .links
        .iter()
        .any(|(s, k, _)| s == "crm" && k == "100004"));
    let reconciled = sync(&e, &store, crm, &["sync", "--full"]);
    assert_eq!(crm_changes(&reconciled).2, 1, "--full sees the deletion");
    let after = view(&store).await;
    assert!(!after
        .links
        .iter()
        .any(|(s, k, _)| s == "crm" && k == "100004"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_source_read_since_its_watermark_equals_a_full_sync() {
    pulls_since_the_watermark_equal_a_full_sync(Engine::Sqlite, None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_source_read_since_its_watermark_equals_a_full_sync() {
    let Some(base) = server_url("GILD_TEST_POSTGRES_URL", "PostgreSQL") else {
        return;
    };
    let crm = TestDb::postgres(&base, "gild_wm_crm").await;
    crm.load(&root().join("fixtures/demo/crm.sql")).await;
    pulls_since_the_watermark_equal_a_full_sync(Engine::Postgres, Some(&crm.url)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mariadb_source_read_since_its_watermark_equals_a_full_sync() {
    let Some(base) = server_url("GILD_TEST_MYSQL_URL", "a MariaDB server") else {
        return;
    };
    let crm = TestDb::mysql(&base, "gild_wm_crm").await;
    crm.load(&root().join("fixtures/demo/crm.sql")).await;
    pulls_since_the_watermark_equal_a_full_sync(Engine::Mysql, Some(&crm.url)).await;
}
