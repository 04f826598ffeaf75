//! The golden record lifecycle end to end on a copy of the demo estate: stable IDs across re-runs,
//! stewards' merges, splits, pins, accepts and rejects that hold after the sources change, the
//! change feed and redirects, and the audit trail.

use crate::support::*;
use serde_json::Value;

/// A copy of the demo estate (config, connectors, mappings, data) that a test may change.
fn estate_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = root();
    for sub in ["connectors", "mappings"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        for f in std::fs::read_dir(root.join(sub)).expect("read dir") {
            let f = f.expect("entry").path();
            std::fs::copy(&f, dir.path().join(sub).join(f.file_name().expect("name")))
                .expect("copy");
        }
    }
    std::fs::create_dir_all(dir.path().join("fixtures/demo")).expect("mkdir");
    for f in ["billing.csv.gz", "crm.db", "fulfilment.csv", "truth.csv"] {
        std::fs::copy(
            root.join("fixtures/demo").join(f),
            dir.path().join("fixtures/demo").join(f),
        )
        .expect("copy");
    }
    std::fs::copy(root.join("gild.toml"), dir.path().join("gild.toml")).expect("copy");
    dir
}

pub(crate) struct Estate {
    dir: tempfile::TempDir,
    store: String,
}

impl Estate {
    /// A copy of the estate syncing into `store`, or into a SQLite file beside it.
    pub(crate) fn new(store: Option<&str>) -> Estate {
        let dir = estate_copy();
        let store = store
            .map(str::to_string)
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("store.db").display()));
        Estate { dir, store }
    }

    pub(crate) fn gild(&self, args: &[&str]) -> std::process::Output {
        self.command(args).output().expect("the gild binary runs")
    }

    /// The command `gild` would run with `args` on this estate, to start in the background.
    pub(crate) fn command(&self, args: &[&str]) -> std::process::Command {
        let config = self.dir.path().join("gild.toml");
        let mut c = gild();
        c.args(["--config", config.to_str().expect("utf-8 path")])
            .args(args)
            .env("GILD_STORE_URL", self.store.as_str());
        c
    }

    pub(crate) fn store_url(&self) -> &str {
        &self.store
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Runs and parses JSON output, insisting on exit code 0.
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--format", "json"]);
        let o = self.gild(&all);
        assert_eq!(
            o.status.code(),
            Some(0),
            "gild {args:?}\nstderr:\n{}",
            stderr(&o)
        );
        json(&o)
    }

    pub(crate) fn golden_of(&self, key: &str) -> String {
        self.json(&["golden", "show", key])["golden_id"]
            .as_str()
            .expect("golden_id")
            .to_string()
    }

    pub(crate) fn records_of(&self, id: &str) -> Vec<String> {
        self.json(&["golden", "show", id])["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r["source"].as_str().unwrap_or(""),
                    r["key"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    pub(crate) fn crm_db(&self) -> String {
        format!(
            "sqlite://{}",
            self.dir.path().join("fixtures/demo/crm.db").display()
        )
    }
}

pub(crate) fn last_seq(e: &Estate) -> i64 {
    e.json(&["changes", "--after", "0", "--limit", "100000"])["next_cursor"]
        .as_i64()
        .expect("cursor")
}

/// Adds a CRM customer: a copy of an existing one under a new key (the same person entered twice).
pub(crate) async fn copy_crm_record(url: &str, cust_id: &str, new_id: i64) {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(url)
        .await
        .expect("open crm copy");
    sqlx::query(
        "INSERT INTO customers (cust_id, cust_name, birth_dt, email, home_phone, mobile_phone, addr_line1, addr_line2, \
         city, state, zip, country, updated_at) \
         SELECT $1, cust_name, birth_dt, email, home_phone, mobile_phone, addr_line1, addr_line2, city, state, zip, country, \
         '2026-11-21 09:00:00' FROM customers WHERE cust_id = $2",
    )
    .bind(new_id)
    .bind(cust_id.parse::<i64>().expect("numeric crm key"))
    .execute(&mut c)
    .await
    .expect("insert");
}

/// Changes a CRM customer's e-mail and name in the source database, as a legacy system would.
async fn change_crm_record(url: &str, cust_id: &str) {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(url)
        .await
        .expect("open crm copy");
    let n = sqlx::query(
        "UPDATE customers SET email = 'changed.' || cust_id || '@example.org', cust_name = cust_name || ' X', \
         updated_at = '2026-11-20 10:00:00' WHERE cust_id = $1",
    )
    .bind(cust_id.parse::<i64>().expect("numeric crm key"))
    .execute(&mut c)
    .await
    .expect("update")
    .rows_affected();
    assert_eq!(n, 1, "crm:{cust_id} exists");
}

#[tokio::test(flavor = "multi_thread")]
async fn steward_decisions_hold_across_syncs_and_source_changes() {
    lifecycle(&Estate::new(None)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lifecycle_is_the_same_in_a_postgres_store() {
    let Some(base) = server_url("GILD_TEST_POSTGRES_URL", "PostgreSQL") else {
        return;
    };
    let db = TestDb::postgres(&base, "gild_lifecycle").await;
    lifecycle(&Estate::new(Some(&db.url))).await;
}

async fn lifecycle(e: &Estate) {
    let first = e.json(&["sync"]);
    let total = first["golden_total"].as_u64().expect("total");

    // A re-run with no changed input changes nothing: no writes, no events.
    let head = last_seq(e);
    assert!(
        head >= total as i64,
        "one created event per golden record at least"
    );
    let again = e.json(&["sync"]);
    assert_eq!(again["golden"]["created"], 0);
    assert_eq!(again["golden"]["updated"], 0);
    assert_eq!(again["golden"]["deleted"], 0);
    assert_eq!(
        last_seq(e),
        head,
        "a re-run adds nothing to the change feed"
    );

    // The queue: highest impact first, one item per pair of customers.
    let queue = e.json(&["review", "list", "--limit", "1000"]);
    // Pairs of customers; field conflicts (`"item": "conflict"`) are tested in conflicts.rs.
    let items: Vec<&Value> = queue
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["item"] == "pair")
        .collect();
    assert!(items.len() >= 3, "the demo estate leaves pairs for review");
    let impacts: Vec<f64> = items
        .iter()
        .map(|i| i["impact"].as_f64().unwrap_or(0.0))
        .collect();
    assert!(
        impacts.windows(2).all(|w| w[0] >= w[1]),
        "highest impact first"
    );
    let ids = |i: &Value| {
        (
            i["golden_a"].as_str().unwrap_or("").to_string(),
            i["golden_b"].as_str().unwrap_or("").to_string(),
        )
    };
    let accepted = &items[0];
    let (acc_a, acc_b) = ids(accepted);
    // An item about other customers, to reject.
    let rejected = items
        .iter()
        .find(|i| {
            let (a, b) = ids(i);
            ![&acc_a, &acc_b].contains(&&a) && ![&acc_a, &acc_b].contains(&&b)
        })
        .expect("a second, unrelated item");
    let (rej_a, rej_b) = ids(rejected);
    let show = e.json(&["review", "show", &accepted["item_id"].to_string()]);
    assert!(show["explanation"]["contributions"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    assert!(show["merged"]["record_count"].as_i64().unwrap_or(0) >= 2);

    let done = e.json(&[
        "review",
        "accept",
        &accepted["item_id"].to_string(),
        "--as",
        "anna",
        "--note",
        "same person",
    ]);
    let survivor = done["golden_ids"][0]
        .as_str()
        .expect("survivor")
        .to_string();
    let retired = done["retired"][0].as_str().expect("retired").to_string();
    // The older ID survives; the other redirects to it.
    assert_eq!(
        survivor,
        acc_a.clone().min(acc_b.clone()),
        "golden IDs are minted in age order"
    );
    assert_eq!(retired, acc_a.clone().max(acc_b.clone()));
    let via_old = e.json(&["golden", "show", &retired]);
    assert_eq!(via_old["golden_id"], survivor.as_str());
    assert_eq!(via_old["redirected_from"], retired.as_str());
    let merged_records = e.records_of(&survivor);

    e.json(&[
        "review",
        "reject",
        &rejected["item_id"].to_string(),
        "--as",
        "bob",
    ]);

    // A split: a customer of three or more records other than those above loses one.
    let list = e.json(&["golden", "list", "--limit", "1000"]);
    let big = list
        .as_array()
        .expect("list")
        .iter()
        .map(|g| g["golden_id"].as_str().unwrap_or("").to_string())
        .find(|g| {
            ![&survivor, &rej_a, &rej_b].contains(&g)
                && e.records_of(g)
                    .iter()
                    .filter(|r| r.starts_with("crm:"))
                    .count()
                    >= 1
                && e.records_of(g).len() >= 3
        })
        .expect("a customer with three records, one from the CRM");
    let big_records = e.records_of(&big);
    let off = big_records
        .iter()
        .find(|r| r.starts_with("crm:"))
        .expect("crm record")
        .clone();
    let split = e.json(&[
        "golden",
        "split",
        &big,
        "--records",
        &off,
        "--as",
        "carol",
        "--note",
        "not the same person",
    ]);
    let minted = split["golden_ids"][1].as_str().expect("new id").to_string();
    assert_eq!(
        split["golden_ids"][0],
        big.as_str(),
        "the larger part keeps the ID"
    );
    assert_eq!(e.golden_of(&off), minted);

    let pinned = e.json(&[
        "golden",
        "pin",
        &survivor,
        "email",
        "steward.pinned@example.com",
        "--as",
        "anna",
    ]);
    assert_eq!(pinned["action"], "golden.pin");
    assert_eq!(
        e.json(&["golden", "show", &survivor])["email"],
        "steward.pinned@example.com"
    );

    // Wrong requests get clear refusals with the right exit codes.
    let unknown = e.gild(&["golden", "merge", "G09999999", &survivor]);
    assert_eq!(unknown.status.code(), Some(4), "{}", stderr(&unknown));
    assert!(stderr(&unknown).contains("no golden customer G09999999"));
    let bad_field = e.gild(&["golden", "pin", &survivor, "shoe_size", "9"]);
    assert_eq!(bad_field.status.code(), Some(2));
    assert!(stderr(&bad_field).contains("not a golden field"));
    let foreign = e.gild(&["golden", "split", &survivor, "--records", "crm:1"]);
    assert_eq!(foreign.status.code(), Some(2));
    assert!(stderr(&foreign).contains("is not a record of"));

    // The change feed tells followers what happened, in order.
    let feed = e.json(&["changes", "--after", &head.to_string()]);
    let kinds: Vec<(&str, &str)> = feed["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|ev| {
            (
                ev["kind"].as_str().unwrap_or(""),
                ev["golden_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("merged", survivor.as_str()),
            ("updated", survivor.as_str()),
            ("split", big.as_str()),
            ("updated", big.as_str()),
            ("created", minted.as_str()),
            ("updated", survivor.as_str()),
        ]
    );
    let pin_event = &feed["events"][5];
    assert_eq!(
        pin_event["changes"]["email"]["after"],
        "steward.pinned@example.com"
    );
    assert_eq!(pin_event["changes"]["email"]["rule"], "pinned");

    // The sources change under the decisions; every one of them holds.
    let crm_in_merge = merged_records
        .iter()
        .find(|r| r.starts_with("crm:"))
        .cloned();
    for key in crm_in_merge.iter().chain([&off]) {
        change_crm_record(&e.crm_db(), key.trim_start_matches("crm:")).await;
    }
    // And a new record of a known customer arrives.
    let joiner_of = e
        .records_of(&rej_b)
        .into_iter()
        .find(|r| r.starts_with("crm:"))
        .or_else(|| {
            e.records_of(&rej_a)
                .into_iter()
                .find(|r| r.starts_with("crm:"))
        })
        .expect("a crm record among the rejected pair's customers");
    let joiner_customer = e.golden_of(&joiner_of);
    copy_crm_record(&e.crm_db(), joiner_of.trim_start_matches("crm:"), 999_001).await;
    let after = e.json(&["sync"]);
    assert_eq!(
        e.golden_of("crm:999001"),
        joiner_customer,
        "a new record joins its customer's ID"
    );
    assert!(
        after["golden"]["updated"].as_u64().unwrap_or(0) >= 1,
        "the changed records update their customers"
    );
    assert_eq!(
        e.records_of(&survivor),
        merged_records,
        "the accepted merge holds"
    );
    assert_eq!(e.golden_of(&off), minted, "the split holds");
    assert!(!e.records_of(&big).contains(&off));
    assert_ne!(
        e.golden_of(&e.records_of(&rej_a)[0]),
        rej_b,
        "the rejected pair stays apart"
    );
    assert_eq!(e.golden_of(&e.records_of(&rej_b)[0]), rej_b);
    assert_eq!(
        e.json(&["golden", "show", &survivor])["email"],
        "steward.pinned@example.com",
        "the pin holds"
    );
    let summary = &after["matching"]["steward_links"];
    assert!(
        summary[0].as_u64().unwrap_or(0) >= 1 && summary[1].as_u64().unwrap_or(0) >= 1,
        "{summary}"
    );

    // Every decision is in the audit trail: who, what, why, before and after.
    let trail = e.json(&["review", "history"]);
    let actions: Vec<(&str, &str)> = trail
        .as_array()
        .expect("trail")
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap_or(""),
                a["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("golden.pin", "anna"),
            ("golden.split", "carol"),
            ("review.reject", "bob"),
            ("review.accept", "anna")
        ]
    );
    let accept = &trail[3];
    assert_eq!(accept["note"], "same person");
    assert!(accept["before"].as_array().is_some_and(|b| b.len() == 2));
    assert_eq!(accept["after"]["golden_id"], survivor.as_str());
    let statuses = e.json(&["review", "list", "--all", "--limit", "1000"]);
    let status_of = |id: &Value| {
        statuses
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["item"] == "pair" && &i["item_id"] == id)
            .map(|i| i["status"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(status_of(&accepted["item_id"]).as_deref(), Some("accepted"));
    assert_eq!(status_of(&rejected["item_id"]).as_deref(), Some("rejected"));

    // A golden record's history: created by the first run, then each change.
    let history = e.json(&["golden", "history", &big]);
    let kinds: Vec<&str> = history
        .as_array()
        .expect("events")
        .iter()
        .map(|h| h["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds.first(), Some(&"created"));
    assert!(kinds.contains(&"split"));

    // Decisions are labels for training.
    let trained = e.json(&["train"]);
    assert!(
        trained["model"]["training"]["labelled_pairs"]
            .as_u64()
            .unwrap_or(0)
            >= 2,
        "{}",
        trained["model"]["training"]
    );
}
