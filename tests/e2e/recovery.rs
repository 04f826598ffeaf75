//! Crash recovery and the no-change path with the real binary: a `gild sync` killed with SIGKILL
//! at several moments leaves no half-written view, its run is marked abandoned, the next sync
//! takes the dead process's lease at once and ends equal to a run that was never interrupted,
//! with no duplicate change events; a sync with nothing new writes nothing; `--full` recomputes.

use crate::lifecycle::{copy_crm_record, Estate};
use crate::support::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// What a store holds that a sync decides: golden customers (ID and content), record links,
/// redirects, the change feed (kind and customer, in order), watermarks, and each run's status.
#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot {
    pub(crate) golden: Vec<(String, i64)>,
    pub(crate) links: Vec<(String, String, Option<String>)>,
    pub(crate) redirects: Vec<(String, String)>,
    pub(crate) events: Vec<(String, String)>,
    pub(crate) watermarks: Vec<(String, String)>,
    pub(crate) statuses: Vec<String>,
}

pub(crate) async fn snapshot(url: &str) -> Snapshot {
    let store = gild::store::Store::connect(url).await.expect("open store");
    macro_rules! read {
        ($pool:expr) => {{
            let pool = $pool;
            Snapshot {
                golden: sqlx::query_as(
                    "SELECT golden_id, content_hash FROM golden_customers ORDER BY golden_id",
                )
                .fetch_all(pool)
                .await
                .expect("golden"),
                links: sqlx::query_as(
                    "SELECT source, record_key, golden_id FROM source_records ORDER BY source, record_key",
                )
                .fetch_all(pool)
                .await
                .expect("links"),
                redirects: sqlx::query_as(
                    "SELECT old_id, new_id FROM golden_redirects ORDER BY old_id",
                )
                .fetch_all(pool)
                .await
                .expect("redirects"),
                events: sqlx::query_as("SELECT kind, golden_id FROM golden_events ORDER BY seq")
                    .fetch_all(pool)
                    .await
                    .expect("events"),
                watermarks: sqlx::query_as(
                    "SELECT source, value FROM watermarks ORDER BY source",
                )
                .fetch_all(pool)
                .await
                .expect("watermarks"),
                statuses: sqlx::query_as::<_, (String,)>(
                    "SELECT status FROM sync_runs ORDER BY started_at",
                )
                .fetch_all(pool)
                .await
                .expect("runs")
                .into_iter()
                .map(|(s,)| s)
                .collect(),
            }
        }};
    }
    let snap = match &store {
        gild::store::Store::Sqlite(pool) => read!(pool),
        gild::store::Store::Postgres(pool) => read!(pool),
    };
    store.close().await;
    snap
}

/// The demo estate synced once, then a CRM customer entered twice (a new record to match).
async fn synced_then_changed(e: &Estate) {
    e.json(&["sync"]);
    copy_crm_record(&e.crm_db(), "100001", 9_900_001).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_sync_is_abandoned_and_the_next_ends_equal_to_an_uninterrupted_one() {
    killed_syncs(Estate::new(None), Estate::new(None)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_sync_recovers_the_same_way_in_a_postgres_store() {
    let Some(base) = server_url("GILD_TEST_POSTGRES_URL", "PostgreSQL") else {
        return;
    };
    let killed = TestDb::postgres(&base, "gild_killed").await;
    let reference = TestDb::postgres(&base, "gild_uninterrupted").await;
    killed_syncs(
        Estate::new(Some(&killed.url)),
        Estate::new(Some(&reference.url)),
    )
    .await;
}

/// The runs compared retrain the model (deterministic for the same data): a run that trains
/// lasts long enough on the demo estate to be killed while loading, matching and publishing.
const SYNC: [&str; 4] = ["sync", "--retrain", "--format", "json"];

async fn killed_syncs(killed: Estate, reference: Estate) {
    // The uninterrupted run, timed, for where to kill the other.
    synced_then_changed(&reference).await;
    let began = Instant::now();
    let done = json(&reference.gild(&SYNC));
    let took = began.elapsed();
    assert_eq!(done["nothing_changed"], false, "a new record was read");
    let expected = snapshot(reference.store_url()).await;

    // Killed early (loading), mid-way (matching) and late (golden or publishing): each kill
    // leaves a lease held by a process that is gone, which the next process takes over at once.
    synced_then_changed(&killed).await;
    let before = snapshot(killed.store_url()).await;
    for fraction in [0.2, 0.5, 0.8, 0.95] {
        let mut command = killed.command(&SYNC);
        command.stdout(Stdio::null()).stderr(Stdio::null());
        let mut sync = Background::start(command);
        std::thread::sleep(took.mul_f64(fraction));
        let _ = sync.0.kill(); // SIGKILL: no handler runs, no lease released
        let _ = sync.0.wait(); // reaped, so that its PID is gone
                               // Either the run had committed (the whole view is the new one) or nothing of it is seen.
        let now = snapshot(killed.store_url()).await;
        if now.golden != expected.golden {
            assert_eq!(now.golden, before.golden, "no half-written view");
            assert_eq!(now.events, before.events, "no half-written change feed");
            assert_eq!(now.watermarks, before.watermarks, "no watermark moved");
        }
    }

    let began = Instant::now();
    let next = killed.gild(&SYNC);
    assert_eq!(
        next.status.code(),
        Some(0),
        "the next sync starts at once, not after the lease's ten minutes:\n{}",
        stderr(&next)
    );
    assert!(
        began.elapsed() < took * 3 + Duration::from_secs(10),
        "it did not wait for the lease"
    );
    let after = snapshot(killed.store_url()).await;
    assert_eq!(
        after.golden, expected.golden,
        "the same golden IDs and fields"
    );
    assert_eq!(after.links, expected.links, "the same record links");
    assert_eq!(after.redirects, expected.redirects);
    assert_eq!(
        after.events, expected.events,
        "the same change events, none twice"
    );
    assert_eq!(after.watermarks, expected.watermarks);
    assert!(
        !after.statuses.iter().any(|s| s == "running"),
        "no run left running forever: {:?}",
        after.statuses
    );
    assert!(
        after.statuses.iter().any(|s| s == "abandoned"),
        "the killed runs are on record as abandoned: {:?}",
        after.statuses
    );
    let runs = killed.json(&["runs", "list"]);
    assert!(
        runs.as_array()
            .expect("runs")
            .iter()
            .any(|r| r["status"] == "abandoned"),
        "gild runs shows it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_with_nothing_new_writes_nothing_and_full_recomputes() {
    let e = Estate::new(None);
    let first = e.json(&["sync"]);
    assert_eq!(first["nothing_changed"], false);
    let stored = snapshot(e.store_url()).await;

    let began = Instant::now();
    let again = e.json(&["sync"]);
    let took = began.elapsed();
    assert_eq!(again["nothing_changed"], true, "{again}");
    assert_eq!(again["unchanged_since"], first["run_id"]);
    assert_eq!(again["golden_total"], first["golden_total"]);
    assert!(
        took < Duration::from_secs(3),
        "the no-change path reads no rows: {took:?}"
    );
    assert_eq!(
        snapshot(e.store_url()).await,
        stored,
        "nothing written, no run added"
    );
    let text = stdout(&e.gild(&["sync"]));
    assert!(text.contains("nothing changed since run"), "{text}");

    // --full reads and recomputes everything, and finds the same view.
    let full = e.json(&["sync", "--full"]);
    assert_eq!(full["nothing_changed"], false);
    assert_eq!(full["rows_read"], first["rows_read"]);
    assert_eq!(full["golden"]["created"], 0);
    assert_eq!(full["golden"]["updated"], 0);
    let recomputed = snapshot(e.store_url()).await;
    assert_eq!(recomputed.golden, stored.golden);
    assert_eq!(recomputed.events, stored.events);

    // Each input that changes is seen: a CSV export's bytes, a database row, a steward decision.
    let fulfilment = e.path().join("fixtures/demo/fulfilment.csv");
    let text = std::fs::read(&fulfilment).expect("read export");
    let row = b"SO-1000101;08/01/2021;Michael Hayes;mhayes@gmail.com;;";
    let at = text
        .windows(row.len())
        .position(|w| w == row)
        .expect("the order is in the export");
    let mut edited = text[..at + row.len() - 1].to_vec();
    edited.extend_from_slice(b"(312) 555-0100;");
    edited.extend_from_slice(&text[at + row.len()..]);
    std::fs::write(&fulfilment, edited).expect("edit export");
    let touched = e.json(&["sync"]);
    assert_eq!(touched["nothing_changed"], false, "export changed");
    for c in touched["changes"].as_array().expect("changes") {
        let edited = u64::from(c["source"] == "fulfilment");
        assert_eq!(
            (&c["new"], &c["changed"], &c["vanished"]),
            (&0.into(), &edited.into(), &0.into()),
            "one order's phone added: {c}"
        );
    }
    assert_eq!(e.json(&["sync"])["nothing_changed"], true);

    copy_crm_record(&e.crm_db(), "100001", 9_900_001).await;
    let crm = e.json(&["sync"]);
    assert_eq!(crm["nothing_changed"], false, "CRM row added");
    let crm_changes = crm["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["source"] == "crm")
        .expect("crm compared with its staged records");
    assert_eq!(
        (
            &crm_changes["new"],
            &crm_changes["changed"],
            &crm_changes["vanished"]
        ),
        (&1.into(), &0.into(), &0.into()),
        "{crm_changes}"
    );
    assert_eq!(e.json(&["sync"])["nothing_changed"], true);

    let id = crm_golden(&e);
    e.json(&[
        "golden",
        "pin",
        &id,
        "email",
        "pinned@example.org",
        "--as",
        "tester",
    ]);
    assert_eq!(
        e.json(&["sync"])["nothing_changed"],
        false,
        "a steward decision since the last run"
    );
}

/// The golden ID of CRM customer 100001.
fn crm_golden(e: &Estate) -> String {
    e.json(&["golden", "show", "crm:100001"])["golden_id"]
        .as_str()
        .expect("golden_id")
        .to_string()
}
