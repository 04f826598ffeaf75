//! One contract suite for every store engine: SQLite always, PostgreSQL when GILD_TEST_POSTGRES_URL is set.

use super::*;
use crate::golden::{
    ChosenBy, EventKind, FieldOrigin, GoldenColumn, GoldenFields, GoldenRecord, GoldenVersion,
    Lineage, Redirect, Rule, StagedChange,
};
use crate::record::{BillingFacts, Facts, Record, RecordKind, SourceKey};
use crate::run::{RunStatus, SourceStatus, Trigger};

fn record(key: &str, kind_billing: bool) -> Record {
    Record {
        source: if kind_billing {
            "billing".into()
        } else {
            "crm".into()
        },
        key: key.into(),
        given_name: Some("Ann".into()),
        family_name: Some("Lee".into()),
        facts: if kind_billing {
            Facts::Billing(Box::new(BillingFacts {
                account_number: key.into(),
                balance: Some(rust_decimal::Decimal::new(1250, 2)),
                ..Default::default()
            }))
        } else {
            Facts::Customer
        },
        ..Default::default()
    }
}

fn golden(id: &str, seq: i64) -> GoldenVersion {
    let mut lineage = Lineage::new();
    lineage.set(
        GoldenColumn::FamilyName,
        FieldOrigin {
            value: "Lee".into(),
            source: "crm".into(),
            key: "1".into(),
            rule: ChosenBy::Rule(Rule::SourcePriority),
            supported_by: Vec::new(),
            alternates: Vec::new(),
        },
    );
    GoldenVersion {
        record: GoldenRecord {
            golden_id: id.into(),
            fields: GoldenFields {
                given_name: Some("Ann".into()),
                family_name: Some("Lee".into()),
                date_of_birth: chrono::NaiveDate::from_ymd_opt(1980, 2, 3),
                email: Some("ann@x.com".into()),
                city: Some("BOSTON".into()),
                ..Default::default()
            },
            full_name: Some("Ann Lee".into()),
            record_count: 2,
            customer_records: 1,
            billing_accounts: 1,
            orders: 0,
            created_run: "r1".into(),
            updated_run: "r1".into(),
            created_at: now(),
            updated_at: now(),
            lineage,
        },
        content_hash: 99,
        created_seq: seq,
    }
}

fn finish() -> RunFinish {
    RunFinish {
        status: RunStatus::Succeeded,
        rows_read: 2,
        rows_rejected: 1,
        golden_created: 1,
        golden_updated: 0,
        golden_deleted: 0,
        pairs_for_review: 0,
        summary: serde_json::json!({"ok": true}),
        error: None,
    }
}

/// A run after the first: these golden rows, nothing else read or changed.
fn later_run(run_id: &str, golden_upserts: Vec<GoldenVersion>) -> Publication<'static> {
    Publication {
        run_id: run_id.into(),
        outcomes: vec![],
        rejects: vec![],
        findings: vec![],
        staged: vec![],
        golden_upserts: Box::new(golden_upserts),
        golden_deletes: vec![],
        redirects: vec![],
        events: vec![],
        split_from: Default::default(),
        review_items: vec![],
        conflicts: vec![],
        conflict_scope: None,
        pairs: PairWrite::Replace(vec![]),
        skipped_blocks: vec![],
        watermarks: vec![],
        inputs: None,
        next_golden_seq: 4,
        model: None,
        finish: finish(),
    }
}

/// The quality findings read back: filtered, counted per source, field and reason, most first.
async fn assert_findings(store: &Store, total: usize) {
    let all = store
        .quality_findings(None, None, 100)
        .await
        .expect("findings");
    assert_eq!(all.len(), total);
    assert_eq!(all[0].location, "t.csv:4", "in the order written");
    assert_eq!(all[0].raw, "811");
    let phones = store
        .quality_findings(Some("crm"), Some("phone"), 100)
        .await
        .expect("findings");
    assert_eq!(phones.len(), 2);
    assert!(store
        .quality_findings(Some("billing"), None, 100)
        .await
        .expect("findings")
        .is_empty());
    assert_eq!(
        store
            .quality_findings(None, None, 1)
            .await
            .expect("findings")
            .len(),
        1,
        "the limit holds"
    );
    let counts = store.quality_counts().await.expect("counts");
    assert_eq!(
        counts
            .iter()
            .map(|c| (c.field.as_str(), c.findings))
            .collect::<Vec<_>>(),
        vec![("phone", 2), ("email", 1)]
    );
}

async fn contract(store: Store) {
    let (a, b) = (record("1", false), record("AC-1", true));
    store
        .begin_run("r1", Trigger::Manual, "host:1", now())
        .await
        .expect("begin");
    let p = Publication {
        run_id: "r1".into(),
        outcomes: vec![SourceOutcome {
            source: "crm".into(),
            record_kind: RecordKind::Customer,
            status: SourceStatus::Rejects,
            rows_read: 2,
            rows_rejected: 1,
            rows_kept: 1,
            fields_nulled: 0,
            seconds: 0.1,
            error: None,
        }],
        rejects: vec![RejectRow {
            source: "crm".into(),
            location: "t.csv:3".into(),
            record_key: None,
            reason: "missing key".into(),
            raw: ",Bo".into(),
        }],
        findings: ["phone", "phone", "email"]
            .iter()
            .enumerate()
            .map(|(i, field)| QualityFinding {
                source: "crm".into(),
                location: format!("t.csv:{}", i + 4),
                record_key: "1".into(),
                field: field.to_string(),
                raw: "811".into(),
                reason: format!("not a {field}"),
            })
            .collect(),
        staged: vec![
            StagedChange::Upsert {
                record: &a,
                golden_id: "G00000001".into(),
                content_hash: 1,
            },
            StagedChange::Upsert {
                record: &b,
                golden_id: "G00000001".into(),
                content_hash: 2,
            },
        ],
        golden_upserts: Box::new(vec![golden("G00000001", 1)]),
        golden_deletes: vec![],
        redirects: vec![],
        events: vec![],
        split_from: Default::default(),
        review_items: vec![],
        conflicts: vec![],
        conflict_scope: None,
        pairs: PairWrite::Replace(vec![PairRow {
            a: SourceKey::new("crm", "1"),
            b: SourceKey::new("billing", "AC-1"),
            probability: 0.99,
            weight: 6.6,
            decision: crate::decision::Decision::Merge,
            rule: "email".into(),
        }]),
        skipped_blocks: vec![],
        watermarks: vec![(
            "crm".into(),
            "updated_at".into(),
            "2024-01-01 00:00:00".into(),
        )],
        inputs: Some("{\"sources\":{}}".into()),
        next_golden_seq: 2,
        model: None,
        finish: finish(),
    };
    store.publish(&p).await.expect("publish");
    assert_eq!(
        store.last_published_inputs().await.expect("inputs"),
        Some(PublishedInputs {
            run_id: "r1".into(),
            fingerprint: Some("{\"sources\":{}}".into())
        }),
        "the inputs commit with the publish"
    );
    let committed_watermarks = vec![(
        "crm".to_string(),
        "updated_at".to_string(),
        "2024-01-01 00:00:00".to_string(),
        "r1".to_string(),
    )];
    assert_eq!(
        store.watermarks().await.expect("watermarks"),
        committed_watermarks
    );

    assert_eq!(store.next_golden_seq().await.expect("seq"), 2);
    let xref = store.previous_xref().await.expect("xref");
    assert_eq!(
        xref.get(&SourceKey::new("billing", "AC-1")),
        Some(&("G00000001".to_string(), 2))
    );
    let view = store
        .golden_view("G00000001")
        .await
        .expect("view")
        .expect("exists");
    assert_eq!(view.records.len(), 2);
    assert_eq!(view.records[0].record, b, "records round-trip through JSON");
    let published = golden("G00000001", 1).record;
    assert_eq!(
        view.golden.lineage, published.lineage,
        "lineage reads back typed"
    );
    assert_eq!(view.golden.fields, published.fields);
    assert_eq!(view.golden.full_name, published.full_name);
    let document = store
        .customer_document("G00000001")
        .await
        .expect("document")
        .expect("exists");
    assert_eq!(document.golden.fields, published.fields);
    assert_eq!(
        serde_json::from_str::<Lineage>(document.golden.lineage.get()).expect("lineage"),
        published.lineage
    );
    assert_eq!(
        store
            .golden_id_of(&SourceKey::new("crm", "1"))
            .await
            .expect("lookup")
            .as_deref(),
        Some("G00000001")
    );
    assert_eq!(store.rejects(None, 10).await.expect("rejects").len(), 1);
    assert_findings(&store, 3).await;
    let runs = store.runs(5).await.expect("runs");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(
        store.run_sources("r1").await.expect("sources")[0].rows_rejected,
        1
    );
    assert_eq!(store.match_pairs().await.expect("pairs").len(), 1);
    assert_eq!(
        store
            .golden_list(Some("lee"), 10, 0)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(store
        .golden_list(Some("zzz"), 10, 0)
        .await
        .expect("list")
        .is_empty());

    // A merge: G2 redirects to G1, and old IDs resolve.
    store
        .begin_run("r2", Trigger::Manual, "host:1", now())
        .await
        .expect("begin");
    let mut p2 = later_run("r2", vec![golden("G00000003", 3)]);
    p2.staged = vec![StagedChange::Regolden {
        key: SourceKey::new("billing", "AC-1"),
        golden_id: "G00000003".into(),
    }];
    p2.redirects = vec![Redirect {
        old_id: "G00000002".into(),
        new_id: "G00000001".into(),
        reason: "merged".into(),
    }];
    store.publish(&p2).await.expect("publish 2");
    // No source read: the findings of the last read stay.
    assert_findings(&store, 3).await;
    assert_eq!(
        store
            .resolve_golden_id("G00000002")
            .await
            .expect("resolve")
            .as_deref(),
        Some("G00000001")
    );
    assert_eq!(
        store
            .golden_id_of(&SourceKey::new("billing", "AC-1"))
            .await
            .expect("lookup")
            .as_deref(),
        Some("G00000003")
    );
    assert!(
        store.match_pairs().await.expect("pairs").is_empty(),
        "pairs are replaced each run"
    );

    // A created change set is the new record's lineage. The SQLite store keeps it there until
    // the record changes or goes, then writes it out; readers always see it in full.
    let created = |events: &[GoldenEvent], id: &str| {
        events
            .iter()
            .find(|e| e.kind == EventKind::Created && e.golden_id == id)
            .map(|e| e.changes.clone())
            .expect("created event")
    };
    let first_lineage = golden("G00000001", 1).record.lineage.to_value();
    let as_created = lineage_changes(None, Some((&first_lineage, 2)));
    let events = store.changes_after(0, 100).await.expect("feed");
    assert_eq!(created(&events, "G00000001"), as_created);
    assert_eq!(created(&events, "G00000003"), as_created);
    let shared = stored_null_changes(&store).await;
    assert_eq!(
        shared,
        if matches!(store, Store::Sqlite(_)) {
            2
        } else {
            0
        }
    );
    assert_feed_view_agrees(&store).await;

    store
        .begin_run("r3", Trigger::Manual, "host:1", now())
        .await
        .expect("begin");
    let mut changed = golden("G00000001", 1);
    changed.record.lineage.set(
        GoldenColumn::FamilyName,
        FieldOrigin {
            value: "Li".into(),
            source: "billing".into(),
            key: "AC-9".into(),
            rule: ChosenBy::Rule(Rule::MostRecent),
            supported_by: Vec::new(),
            alternates: Vec::new(),
        },
    );
    changed.record.fields.family_name = Some("Li".into());
    changed.record.record_count = 3;
    changed.content_hash = 100;
    changed.record.updated_run = "r3".into();
    let mut p3 = later_run("r3", vec![changed]);
    p3.golden_deletes = vec!["G00000003".into()];
    p3.finish = RunFinish {
        golden_created: 0,
        golden_updated: 1,
        golden_deleted: 1,
        ..finish()
    };
    store.publish(&p3).await.expect("publish 3");
    let events = store.changes_after(0, 100).await.expect("feed");
    assert_eq!(
        created(&events, "G00000001"),
        as_created,
        "the created change set outlives the lineage it was"
    );
    assert_eq!(created(&events, "G00000003"), as_created, "and its record");
    let updated = events
        .iter()
        .find(|e| e.kind == EventKind::Updated && e.golden_id == "G00000001")
        .expect("updated event");
    assert_eq!(updated.changes["family_name"]["before"], "Lee");
    assert_eq!(updated.changes["family_name"]["after"], "Li");
    assert_eq!(stored_null_changes(&store).await, 0, "both written out");
    assert_eq!(
        store.golden_history("G00000001").await.expect("history")[0].changes,
        as_created
    );
    assert_feed_view_agrees(&store).await;

    // A failing publish changes nothing: a reject row that breaks a constraint (unknown run).
    p2.run_id = "no-such-run".into();
    p2.golden_upserts = Box::new(vec![golden("G00000009", 9)]);
    p2.rejects = vec![RejectRow {
        source: "x".into(),
        location: "l".into(),
        record_key: None,
        reason: "r".into(),
        raw: "".into(),
    }];
    p2.watermarks = vec![(
        "crm".into(),
        "updated_at".into(),
        "2030-01-01 00:00:00".into(),
    )];
    p2.inputs = Some("{}".into());
    let inputs_before = store.last_published_inputs().await.expect("inputs");
    assert!(store.publish(&p2).await.is_err());
    assert_eq!(
        store.watermarks().await.expect("watermarks"),
        committed_watermarks,
        "a watermark advances only with the publish that used it"
    );
    assert_eq!(
        store.last_published_inputs().await.expect("inputs"),
        inputs_before,
        "nor do the inputs"
    );
    assert!(
        store
            .resolve_golden_id("G00000009")
            .await
            .expect("resolve")
            .is_none(),
        "rolled back"
    );

    // Only one holder of the sync lease at a time.
    let held = store
        .acquire_lock(SYNC_LOCK, "run-a", std::time::Duration::from_secs(60))
        .await
        .expect("lock");
    let other = store
        .acquire_lock(SYNC_LOCK, "run-b", std::time::Duration::from_secs(60))
        .await;
    assert!(matches!(other, Err(StoreError::Locked { ref holder, .. }) if holder == "run-a"));
    held.release().await.expect("release");
    let again = store
        .acquire_lock(SYNC_LOCK, "run-b", std::time::Duration::from_secs(60))
        .await
        .expect("free again");
    again.release().await.expect("release");

    // An expired lease (a dead worker) can be taken over.
    let dead = store
        .acquire_lock(SYNC_LOCK, "dead", std::time::Duration::from_millis(1))
        .await
        .expect("lock");
    drop(dead);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let takeover = store
        .acquire_lock(SYNC_LOCK, "alive", std::time::Duration::from_secs(60))
        .await
        .expect("take over");
    takeover.release().await.expect("release");

    // A lease whose holder is provably gone (this host, no such process) is taken over at once,
    // long before it expires; one held by a live process or on another host is not.
    let gone_pid = {
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = i64::from(child.id());
        child.wait().expect("reap");
        pid
    };
    for (host, pid, free) in [
        (crate::runtime::this_host(), gone_pid, true),
        (crate::runtime::this_host(), 1, false),
        ("elsewhere".to_string(), gone_pid, false),
    ] {
        let held = store
            .acquire_lock(SYNC_LOCK, "killed", std::time::Duration::from_secs(600))
            .await
            .expect("lock");
        on_pool!(&store, pool => {
            sqlx::query("UPDATE run_locks SET host = $1, pid = $2 WHERE name = $3")
                .bind(&host)
                .bind(pid)
                .bind(SYNC_LOCK)
                .execute(pool)
                .await
                .expect("pretend another process holds it");
        });
        drop(held);
        let next = store
            .acquire_lock(SYNC_LOCK, "next", std::time::Duration::from_secs(600))
            .await;
        assert_eq!(next.is_ok(), free, "holder {host}:{pid}");
        match next {
            Ok(guard) => guard.release().await.expect("release"),
            Err(_) => on_pool!(&store, pool => {
                sqlx::query("DELETE FROM run_locks")
                    .execute(pool)
                    .await
                    .expect("clear the lease");
            }),
        }
    }

    // A run left "running" by a process that died is marked abandoned by the next run.
    store
        .begin_run("r-killed", Trigger::Manual, "host:1", now())
        .await
        .expect("begin");
    assert_eq!(store.abandon_dead_runs().await.expect("abandon"), 1);
    let killed = store
        .runs(50)
        .await
        .expect("runs")
        .into_iter()
        .find(|r| r.run_id == "r-killed")
        .expect("on record");
    assert_eq!(killed.status, RunStatus::Abandoned);
    assert!(killed.finished_at.is_none() && killed.error.is_some());
    assert_eq!(store.abandon_dead_runs().await.expect("abandon"), 0);

    // A status this version does not know reads back as corrupt data: an error, not a panic.
    on_pool!(&store, pool => {
        sqlx::query("UPDATE sync_runs SET status = 'paused' WHERE run_id = $1")
            .bind("r1")
            .execute(pool)
            .await
            .expect("unknown status written");
    });
    let err = store.runs(5).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("unknown run status \"paused\"")),
        "{err}"
    );
}

/// Created events stored with a `null` change set (sharing their record's lineage).
async fn stored_null_changes(store: &Store) -> i64 {
    let (n,): (i64,) = on_pool!(store, pool => {
        sqlx::query_as("SELECT COUNT(*) FROM golden_events WHERE changes = 'null'")
            .fetch_one(pool)
            .await
            .expect("count")
    });
    n
}

/// SQL readers of the `golden_changes` view see the change sets gild's own readers do.
async fn assert_feed_view_agrees(store: &Store) {
    let rows: Vec<(i64, sqlx::types::Json<serde_json::Value>)> = on_pool!(store, pool => {
        sqlx::query_as("SELECT seq, changes FROM golden_changes ORDER BY seq")
            .fetch_all(pool)
            .await
            .expect("view")
    });
    let events = store.changes_after(0, 1000).await.expect("feed");
    assert_eq!(rows.len(), events.len());
    for ((seq, sqlx::types::Json(changes)), e) in rows.into_iter().zip(&events) {
        assert_eq!((seq, &changes), (e.seq, &e.changes));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_store_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("nested/store.db").display());
    let store = Store::connect(&url)
        .await
        .expect("creates the file and its folder");
    contract(store.clone()).await;
    store.close().await;
    // Reopening runs no migration twice.
    let again = Store::connect(&url).await.expect("reopens");
    assert_eq!(again.golden_count().await.expect("count"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_golden_columns_are_the_tables_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = Store::connect(&url).await.expect("store");
    let Store::Sqlite(pool) = &store else {
        panic!("a SQLite store")
    };
    let table: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM pragma_table_info('golden_customers') ORDER BY cid")
            .fetch_all(pool)
            .await
            .expect("table info");
    let table: Vec<&str> = table.iter().map(|(c,)| c.as_str()).collect();
    let fields = GoldenColumn::ALL.map(GoldenColumn::name);
    let in_table: Vec<&str> = table
        .iter()
        .copied()
        .filter(|c| GoldenColumn::parse(c).is_some())
        .collect();
    assert_eq!(in_table, fields, "every golden column, in order");
    // A golden version binds every column of the table.
    assert_eq!(table.len(), super::publish::GOLDEN_BINDS);
    // GoldenFields' serde names are the same columns.
    let serde_names: Vec<String> = match serde_json::to_value(GoldenFields::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        other => panic!("not an object: {other:?}"),
    };
    let mut sorted = fields.to_vec();
    sorted.sort_unstable();
    assert_eq!(serde_names, sorted);
    // The statements built from the list name real columns.
    for sql in [
        super::publish::GOLDEN_INSERT.as_str(),
        super::read::GOLDEN_COLUMNS.as_str(),
    ] {
        for column in GoldenColumn::ALL {
            assert!(sql.contains(column.name()), "{column} in {sql}");
        }
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_openers_of_a_new_sqlite_store_both_get_its_schema() {
    // As a worker and `gild runs` starting on the same new file: their migrations race.
    for round in 0..8 {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let (a, b) = tokio::join!(Store::connect(&url), Store::connect(&url));
        let (a, b) = (a.expect("first opener"), b.expect("second opener"));
        assert_eq!(a.golden_count().await.expect("count"), 0, "round {round}");
        assert_eq!(b.golden_count().await.expect("count"), 0, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_store_contract() {
    use sqlx::Connection;
    let Some(base) = std::env::var("GILD_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "GILD_TEST_POSTGRES_URL must be set in CI"
        );
        eprintln!(
            "SKIPPED: GILD_TEST_POSTGRES_URL is not set; the PostgreSQL store contract was not run"
        );
        return;
    };
    let name = format!(
        "gild_unit_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_subsec_nanos()
    );
    let authority = base
        .split_once("://")
        .map(|(_, r)| r.split('/').next().unwrap_or(r))
        .unwrap_or("");
    let admin = format!("postgres://{authority}/postgres");
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create");
    let store = Store::connect(&format!("postgres://{authority}/{name}"))
        .await
        .expect("connect store");
    contract(store.clone()).await;
    store.close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .expect("drop");
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    let err = Store::connect("mysql://root@localhost/x")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not supported"));
}
