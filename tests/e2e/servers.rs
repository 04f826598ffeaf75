//! The demo estate from real servers: the CRM in MariaDB, billing in PostgreSQL, synced into a
//! PostgreSQL store; the golden view must match the embedded run's.

use crate::support::*;
use std::collections::BTreeSet;

/// The partition of records into golden customers, as sets of source keys, read from the
/// store's cross-reference view.
async fn partition(url: &str) -> BTreeSet<BTreeSet<String>> {
    use sqlx::Connection;
    let query = "SELECT golden_id, source, record_key FROM customer_xref";
    let rows: Vec<(Option<String>, String, String)> = if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .expect("connect to the store");
        sqlx::query_as(query)
            .fetch_all(&mut conn)
            .await
            .expect("customer_xref")
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url)
            .await
            .expect("open the store");
        sqlx::query_as(query)
            .fetch_all(&mut conn)
            .await
            .expect("customer_xref")
    };
    let mut groups: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for (golden, source, key) in rows {
        if let Some(golden) = golden {
            groups
                .entry(golden)
                .or_default()
                .insert(format!("{source}:{key}"));
        }
    }
    groups.into_values().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_and_postgres_sources_into_a_postgres_store() {
    let (Some(pg), Some(my)) = (
        server_url("GILD_TEST_POSTGRES_URL", "a PostgreSQL server"),
        server_url("GILD_TEST_MYSQL_URL", "a MariaDB server"),
    ) else {
        return;
    };
    let crm = TestDb::mysql(&my, "gild_crm").await;
    crm.load(&root().join("fixtures/demo/crm.sql")).await;
    let billing = TestDb::postgres(&pg, "gild_billing").await;
    billing
        .load(&root().join("fixtures/demo/billing.sql"))
        .await;
    let store = TestDb::postgres(&pg, "gild_store").await;

    let config = "fixtures/servers/gild.toml";
    let env = [
        ("GILD_STORE_URL", store.url.as_str()),
        ("GILD_CRM_URL", crm.url.as_str()),
        ("GILD_BILLING_URL", billing.url.as_str()),
    ];
    let out = run(&["--config", config, "sync", "--format", "json"], &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}\nstdout:\n{}",
        stderr(&out),
        stdout(&out)
    );
    let report = json(&out);
    assert_eq!(report["store"], "postgres");
    for s in report["sources"].as_array().expect("sources") {
        assert_eq!(s["status"], "ok", "{s}");
    }
    let eval = json(&run(
        &[
            "--config",
            config,
            "evaluate",
            "--truth",
            "fixtures/demo/truth.csv",
            "--format",
            "json",
        ],
        &env,
    ));
    let (precision, recall) = precision_recall(&eval);
    assert!(
        precision >= 0.95 && recall >= 0.90,
        "precision {precision}, recall {recall}"
    );

    // The same estate through the embedded store gives the same customers.
    let (_dir, sqlite) = sqlite_store();
    let embedded = [("GILD_STORE_URL", sqlite.as_str())];
    assert_eq!(run(&["sync"], &embedded).status.code(), Some(0));
    let from_servers = partition(&store.url).await;
    let from_files = partition(&sqlite).await;
    assert_eq!(from_servers.len(), from_files.len());
    assert_eq!(
        from_servers, from_files,
        "the golden view does not depend on where the rows came from"
    );

    // The readers' views exist in PostgreSQL too.
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&store.url)
        .await
        .expect("connect to the store");
    let (accounts,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM linked_accounts WHERE golden_id IS NOT NULL")
            .fetch_one(&mut conn)
            .await
            .expect("linked_accounts view");
    assert_eq!(accounts, 344);
    let (lineage,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM golden_field_lineage WHERE field = 'family_name'")
            .fetch_one(&mut conn)
            .await
            .expect("lineage view");
    assert!(lineage > 400);
    conn.close().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_store_fails_the_run_with_a_clear_message() {
    let out = run(
        &["sync"],
        &[("GILD_STORE_URL", "postgres://gild@127.0.0.1:9/nowhere")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot open the store at postgres://gild:***@127.0.0.1:9/nowhere"),
        "{err}"
    );
}
