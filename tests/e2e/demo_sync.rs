//! The README's main job: a full sync of the demo estate into the embedded store.

use crate::support::*;

#[test]
fn demo_estate_syncs_into_golden_records_accurately_and_stably() {
    let (_dir, store) = sqlite_store();
    let env = [("GILD_STORE_URL", store.as_str())];

    let first = run(&["sync", "--format", "json"], &env);
    assert_eq!(first.status.code(), Some(0), "stderr:\n{}", stderr(&first));
    let report = json(&first);
    assert_eq!(report["status"], "succeeded");
    let sources = report["sources"].as_array().expect("sources");
    let by = |name: &str| {
        sources
            .iter()
            .find(|s| s["source"] == name)
            .expect("source reported")
            .clone()
    };
    assert_eq!(by("crm")["rows_read"], 475);
    assert_eq!(by("billing")["rows_read"], 344);
    assert_eq!(by("fulfilment")["rows_read"], 891);
    for s in sources {
        assert_eq!(s["rows_rejected"], 0, "{s}");
        assert_eq!(s["rows_kept"], s["rows_read"]);
    }
    let created = report["golden"]["created"].as_u64().expect("created");
    assert!(
        (440..=540).contains(&created),
        "about 488 people, got {created}"
    );
    assert_eq!(report["model"]["trained"], true);

    // The accuracy target of the demo estate.
    let eval = run(
        &[
            "evaluate",
            "--truth",
            "fixtures/demo/truth.csv",
            "--format",
            "json",
        ],
        &env,
    );
    assert_eq!(eval.status.code(), Some(0), "{}", stderr(&eval));
    let (precision, recall) = precision_recall(&json(&eval));
    assert!(precision >= 0.95, "precision {precision}");
    assert!(recall >= 0.90, "recall {recall}");

    // A full re-run with no changed input changes nothing.
    let second = run(&["sync", "--full", "--format", "json"], &env);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let again = json(&second);
    assert_eq!(again["golden"]["created"], 0, "{}", again["golden"]);
    assert_eq!(again["golden"]["updated"], 0);
    assert_eq!(again["golden"]["unchanged"], created);
    assert_eq!(
        again["model"]["trained"], false,
        "the stored model is reused"
    );

    // Without --full, it finds nothing changed and does nothing: not even a run on record.
    let third = json(&run(&["sync", "--format", "json"], &env));
    assert_eq!(third["nothing_changed"], true, "{third}");
    assert_eq!(third["golden_total"], created);

    let runs = json(&run(&["runs", "list", "--format", "json"], &env));
    assert_eq!(runs.as_array().map(Vec::len), Some(2));
    assert!(runs
        .as_array()
        .expect("runs")
        .iter()
        .all(|r| r["status"] == "succeeded" && r["trigger"] == "manual"));
}

#[test]
fn golden_show_has_lineage_and_linked_accounts_and_orders() {
    let (_dir, store) = sqlite_store();
    let env = [("GILD_STORE_URL", store.as_str())];
    assert_eq!(run(&["sync"], &env).status.code(), Some(0));

    // Find a customer with billing accounts and orders through the list.
    let list = json(&run(
        &["golden", "list", "--limit", "1000", "--format", "json"],
        &env,
    ));
    let rich = list
        .as_array()
        .expect("list")
        .iter()
        .find(|g| g["billing_accounts"].as_i64() > Some(0) && g["orders"].as_i64() > Some(1))
        .expect("a customer with accounts and orders")
        .clone();
    let id = rich["golden_id"].as_str().expect("id");
    let show = run(&["golden", "show", id, "--format", "json"], &env);
    assert_eq!(show.status.code(), Some(0));
    let view = json(&show);
    let lineage = view["lineage"].as_object().expect("lineage");
    assert!(lineage.contains_key("family_name"));
    for (_, l) in lineage {
        assert!(
            l["source"].is_string() && l["key"].is_string() && l["rule"].is_string(),
            "{l}"
        );
    }
    let kinds: Vec<&str> = view["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"billing") && kinds.contains(&"fulfilment"),
        "{kinds:?}"
    );

    // Look-up by source key lands on the same customer; text output names the accounts.
    let member = view["records"][0].clone();
    let key = format!(
        "{}:{}",
        member["source"].as_str().expect("s"),
        member["key"].as_str().expect("k")
    );
    let by_key = json(&run(&["golden", "show", &key, "--format", "json"], &env));
    assert_eq!(by_key["golden_id"], id);
    let text = stdout(&run(&["golden", "show", id], &env));
    assert!(
        text.contains("billing account") && text.contains("total balance"),
        "{text}"
    );

    let missing = run(&["golden", "show", "G99999999"], &env);
    assert_eq!(
        missing.status.code(),
        Some(4),
        "not found has its own exit code"
    );
    assert!(stderr(&missing).contains("no golden customer G99999999"));
}

#[test]
fn sources_check_reports_counts_and_mapped_samples() {
    let out = run(&["sources", "check", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let checks = json(&out);
    let crm = checks
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["source"] == "crm")
        .expect("crm")
        .clone();
    assert_eq!(crm["ok"], true);
    assert_eq!(crm["rows"], 475);
    assert_eq!(crm["sample"].as_array().map(Vec::len), Some(3));
    // Mapped, not raw: phones in E.164.
    let phones = crm["sample"][0]["phones"].as_array().expect("phones");
    assert!(
        phones
            .iter()
            .all(|p| p.as_str().is_some_and(|p| p.starts_with("+1"))),
        "{phones:?}"
    );
}
