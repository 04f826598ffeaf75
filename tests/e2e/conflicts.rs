//! Field conflicts end to end on a copy of the demo estate: a sync puts them in the review queue
//! beside the pairs, `review show` lays the values side by side, `golden show` marks the field,
//! and each way of settling one (choose a value, accept the survivor, split the records off)
//! holds in a later sync in which the sources changed.

use crate::lifecycle::{copy_crm_record, last_seq, Estate};
use crate::support::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn field_conflicts_reach_the_queue_and_each_decision_holds_across_syncs() {
    conflicts(&Estate::new(None)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn field_conflicts_work_the_same_in_a_postgres_store() {
    let Some(base) = server_url("GILD_TEST_POSTGRES_URL", "PostgreSQL") else {
        return;
    };
    let db = TestDb::postgres(&base, "gild_conflicts").await;
    conflicts(&Estate::new(Some(&db.url))).await;
}

/// The queue's field conflicts (all statuses with `all`).
fn listed(e: &Estate, all: bool) -> Vec<Value> {
    let mut args = vec!["review", "list", "--limit", "100000"];
    if all {
        args.push("--all");
    }
    e.json(&args)
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["item"] == "conflict")
        .cloned()
        .collect()
}

fn status(e: &Estate, item: &Value) -> String {
    listed(e, true)
        .iter()
        .find(|c| c["item_id"] == item["item_id"])
        .and_then(|c| c["status"].as_str())
        .unwrap_or("gone")
        .to_string()
}

fn name(item: &Value) -> String {
    format!("C{}", item["item_id"].as_i64().expect("item id"))
}

/// The first value the golden record does not show, numbered from 1 as `review show` does.
fn losing(item: &Value) -> (usize, &Value) {
    item["competing"]
        .as_array()
        .expect("values")
        .iter()
        .enumerate()
        .find(|(_, v)| v["won"] == false)
        .map(|(i, v)| (i + 1, v))
        .expect("a value that lost")
}

fn keys(value: &Value) -> Vec<String> {
    value["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|k| {
            format!(
                "{}:{}",
                k["source"].as_str().unwrap_or(""),
                k["key"].as_str().unwrap_or("")
            )
        })
        .collect()
}

async fn conflicts(e: &Estate) {
    e.json(&["sync"]);

    // Conflicts join the queue, ranked with the pairs by what a decision is worth.
    let queue = e.json(&["review", "list", "--limit", "100000"]);
    let worth: Vec<f64> = queue
        .as_array()
        .expect("items")
        .iter()
        .map(|i| match i["item"].as_str() {
            Some("pair") => i["impact"].as_f64().expect("impact"),
            _ => i["priority"].as_f64().expect("priority"),
        })
        .collect();
    assert!(
        worth.windows(2).all(|w| w[0] >= w[1]),
        "highest worth first: {worth:?}"
    );
    let open = listed(e, false);
    assert!(
        open.len() >= 3,
        "the demo estate's customers disagree on some fields"
    );
    for c in &open {
        let values = c["competing"].as_array().expect("values");
        assert!(values.len() >= 2, "a conflict has competing values: {c}");
        assert!(values.iter().filter(|v| v["won"] == true).count() <= 1);
        let (uncertainty, records) = (
            c["uncertainty"].as_f64().expect("u"),
            c["records"].as_f64().expect("n"),
        );
        assert!(records >= 2.0, "two records at least: {c}");
        // One field of a customer, weighted by the chance that the shown value is wrong.
        let expected = uncertainty / (1.0 + uncertainty) / 13.0;
        assert!((c["priority"].as_f64().expect("p") - expected).abs() < 1e-9);
    }

    // Three conflicts on three different customers, one for each way of settling them; the
    // split one preferably a date of birth (often two people), the chosen one not an address.
    let mut used: Vec<String> = Vec::new();
    let mut pick = |want: &dyn Fn(&Value) -> bool| -> Value {
        let c = open
            .iter()
            .filter(|c| !used.contains(&c["golden_id"].as_str().unwrap_or("").to_string()))
            .filter(|c| {
                c["competing"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|v| v["won"] == true))
            })
            .find(|c| want(c))
            .or_else(|| {
                open.iter()
                    .filter(|c| !used.contains(&c["golden_id"].as_str().unwrap_or("").to_string()))
                    .find(|c| {
                        c["competing"]
                            .as_array()
                            .is_some_and(|v| v.iter().any(|v| v["won"] == true))
                    })
            })
            .expect("a conflict left")
            .clone();
        used.push(c["golden_id"].as_str().expect("golden id").to_string());
        c
    };
    // A record that carries only a losing value (a record with two phones may carry both).
    let only_losing = |c: &Value| -> Option<String> {
        let values = c["competing"].as_array()?;
        let winners: Vec<String> = values
            .iter()
            .filter(|v| v["won"] == true)
            .flat_map(keys)
            .collect();
        values
            .iter()
            .filter(|v| v["won"] == false)
            .flat_map(keys)
            .find(|k| !winners.contains(k))
    };
    let to_split = pick(&|c: &Value| {
        only_losing(c).is_some() && (c["field"] == "date_of_birth" || c["field"] == "email")
    });
    let to_choose = pick(&|c: &Value| c["field"] != "address");
    let to_accept = pick(&|_: &Value| true);

    // `review show` lays the values side by side with their records and sources.
    let shown = e.gild(&["review", "show", &name(&to_choose)]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let text = stdout(&shown);
    for v in to_choose["competing"].as_array().expect("values") {
        assert!(text.contains(v["value"].as_str().expect("value")), "{text}");
        for k in keys(v) {
            assert!(text.contains(&k), "{k} in {text}");
        }
    }
    assert!(text.contains('✓'), "the value shown is marked: {text}");

    // `golden show` marks the field in conflict; its JSON lists the conflicts.
    let gid = to_choose["golden_id"].as_str().expect("golden id");
    let field = to_choose["field"].as_str().expect("field");
    let golden_text = stdout(&e.gild(&["golden", "show", gid]));
    assert!(
        golden_text.contains(&format!("≠ {}", name(&to_choose))),
        "{golden_text}"
    );
    let golden = e.json(&["golden", "show", gid]);
    assert!(golden["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .any(|c| c["field"] == field));

    // Choose: the losing value stands, pinned, with an event in the change feed.
    let head = last_seq(e);
    let (n, value) = losing(&to_choose);
    let column = value["columns"][0][0].as_str().expect("column").to_string();
    let wanted = value["columns"][0][1].as_str().expect("value").to_string();
    let done = e.json(&[
        "review",
        "choose",
        &name(&to_choose),
        &n.to_string(),
        "--as",
        "anna",
    ]);
    assert_eq!(done["action"], "conflict.choose");
    let after = e.json(&["golden", "show", gid]);
    assert_eq!(after[&column].as_str(), Some(wanted.as_str()));
    assert_eq!(after["lineage"][&column]["rule"].as_str(), Some("pinned"));
    let feed = e.json(&["changes", "--after", &head.to_string()]);
    assert!(
        feed["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|ev| ev["golden_id"] == gid && !ev["audit_id"].is_null()),
        "the resolution is in the change feed: {feed}"
    );
    assert_eq!(status(e, &to_choose), "chosen");

    // Accept: the survivor stays.
    let done = e.json(&["review", "accept", &name(&to_accept)]);
    assert_eq!(done["action"], "conflict.accept");
    assert_eq!(status(e, &to_accept), "accepted");

    // Split: the records carrying the other values become another customer.
    let split_gid = to_split["golden_id"]
        .as_str()
        .expect("golden id")
        .to_string();
    let moved = only_losing(&to_split).expect("a record with only a losing value");
    let done = e.json(&["review", "split", &name(&to_split)]);
    assert_eq!(done["action"], "conflict.split");
    let moved_to = e.json(&["golden", "show", &moved])["golden_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_ne!(moved_to, split_gid, "{moved} left {split_gid}");
    assert_eq!(status(e, &to_split), "split");

    // A pair item's verbs do not apply to a conflict, and the other way round.
    let wrong = e.gild(&["review", "reject", &name(&to_accept)]);
    assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));

    // The sources change (a customer entered twice in the CRM) and the estate syncs again: the
    // decisions hold.
    let all = e.json(&["golden", "list", "--limit", "1000"]);
    let copied = all
        .as_array()
        .expect("customers")
        .iter()
        .filter_map(|g| g["golden_id"].as_str().map(str::to_string))
        .filter(|id| !used.contains(id) && *id != moved_to)
        .flat_map(|id| e.records_of(&id))
        .find(|k| k.starts_with("crm:"))
        .expect("a CRM record of another customer");
    copy_crm_record(&e.crm_db(), copied.trim_start_matches("crm:"), 9_900_001).await;
    let resynced = e.json(&["sync"]);
    assert!(
        resynced["golden"]["created"].as_u64().unwrap_or(0)
            + resynced["golden"]["updated"].as_u64().unwrap_or(0)
            >= 1
    );
    assert_eq!(status(e, &to_choose), "chosen");
    assert_eq!(status(e, &to_accept), "accepted");
    assert_eq!(status(e, &to_split), "split");
    let again = e.json(&["golden", "show", gid]);
    assert_eq!(
        again[&column].as_str(),
        Some(wanted.as_str()),
        "the chosen value holds"
    );
    let moved_again = e.json(&["golden", "show", &moved])["golden_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_ne!(moved_again, split_gid, "the split holds");
}
