//! Real estates work as first configured: typed database columns read without formats, bad
//! values quarantined (record kept, finding listed), and `gild init` proposing mappings.

use crate::support::*;

fn evaluate(config: &str, env: &[(&str, &str)]) -> (f64, f64) {
    let out = run(
        &[
            "--config",
            config,
            "evaluate",
            "--truth",
            "fixtures/demo/truth.csv",
            "--format",
            "json",
        ],
        env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    precision_recall(&json(&out))
}

fn count(report: &serde_json::Value, field: &str) -> u64 {
    report["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| s[field].as_u64().expect("a count"))
        .sum()
}

/// The demo estate with only its connector files: `gild init` writes the mappings, and the
/// sync it gives comes within 0.01 of the shipped mappings' accuracy.
#[test]
fn init_on_the_demo_estate_comes_within_0_01_of_the_shipped_mappings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = root();
    let demo = root.join("fixtures/demo");
    std::fs::create_dir(dir.path().join("connectors")).expect("mkdir");
    for name in ["crm", "billing", "fulfilment"] {
        let text = std::fs::read_to_string(root.join(format!("connectors/{name}.toml")))
            .expect("connector")
            .replace("fixtures/demo/", &format!("{}/", demo.display()));
        std::fs::write(dir.path().join(format!("connectors/{name}.toml")), text).expect("write");
    }
    let config = dir.path().join("gild.toml");
    let config_s = config.display().to_string();
    let store = format!("sqlite://{}/gild.db", dir.path().display());
    let env = [("GILD_STORE_URL", store.as_str())];

    let out = run(&["--config", &config_s, "init"], &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stderr(&out),
        stdout(&out)
    );
    let said = stdout(&out);
    assert!(config.exists(), "a starting gild.toml is written");
    for name in ["crm", "billing", "fulfilment"] {
        let file = dir.path().join(format!("mappings/{name}.toml"));
        let text = std::fs::read_to_string(&file).expect("a mapping is written");
        assert!(
            text.contains("sampled values"),
            "evidence comments:\n{text}"
        );
    }
    let crm = std::fs::read_to_string(dir.path().join("mappings/crm.toml")).expect("crm");
    assert!(crm.contains("order = \"family_first\""), "{crm}");
    assert!(crm.contains("formats = [\"%m/%d/%Y\"]"), "{crm}");
    let fulfilment =
        std::fs::read_to_string(dir.path().join("mappings/fulfilment.toml")).expect("orders");
    assert!(
        fulfilment.contains("formats = [\"%d/%m/%Y\"]"),
        "{fulfilment}"
    );
    assert!(said.contains("crm: wrote"), "{said}");

    // Never overwrites: a second run leaves every file alone.
    let before = std::fs::read_to_string(dir.path().join("mappings/crm.toml")).expect("crm");
    let again = run(&["--config", &config_s, "init"], &env);
    assert!(
        stdout(&again).contains("exists, left alone"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mappings/crm.toml")).expect("crm"),
        before
    );

    let out = run(&["--config", &config_s, "sync", "--format", "json"], &env);
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    let report = json(&out);
    let (p_init, r_init) = evaluate(&config_s, &env);

    let (_shipped_dir, shipped_store) = sqlite_store();
    let shipped_env = [("GILD_STORE_URL", shipped_store.as_str())];
    assert_eq!(run(&["sync"], &shipped_env).status.code(), Some(0));
    let (p_hand, r_hand) = evaluate("gild.toml", &shipped_env);
    eprintln!(
        "gild init: rejected {}, quarantined {}, precision {p_init:.4}, recall {r_init:.4}; \
         shipped mappings: precision {p_hand:.4}, recall {r_hand:.4}",
        count(&report, "rows_rejected"),
        count(&report, "fields_nulled"),
    );
    assert!(
        (p_init - p_hand).abs() <= 0.01 && (r_init - r_hand).abs() <= 0.01,
        "init: precision {p_init}, recall {r_init}; shipped: precision {p_hand}, recall {r_hand}"
    );
}

/// The demo estate's shape from real servers with typed columns (MariaDB DATE, DATETIME and
/// DECIMAL; PostgreSQL DATE, NUMERIC and a timestamptz max() in a join) and bad values (service
/// area codes, an e-mail with a space, a birth year 1143), configured without tuning.
#[tokio::test(flavor = "multi_thread")]
async fn a_typed_estate_configured_without_tuning_keeps_and_links_every_usable_record() {
    let (Some(pg), Some(my)) = (
        server_url("GILD_TEST_POSTGRES_URL", "a PostgreSQL server"),
        server_url("GILD_TEST_MYSQL_URL", "a MariaDB server"),
    ) else {
        return;
    };
    let root = root();
    let crm = TestDb::mysql(&my, "gild_qcrm").await;
    crm.load(&root.join("fixtures/demo/crm.sql")).await;
    crm.load(&root.join("fixtures/bad/typed/crm-typed.sql"))
        .await;
    let billing = TestDb::postgres(&pg, "gild_qbilling").await;
    billing.load(&root.join("fixtures/demo/billing.sql")).await;
    billing
        .load(&root.join("fixtures/bad/typed/billing-typed.sql"))
        .await;
    let (_dir, store) = sqlite_store();
    let config = "fixtures/bad/typed/gild.toml";
    let env = [
        ("GILD_STORE_URL", store.as_str()),
        ("GILD_CRM_URL", crm.url.as_str()),
        ("GILD_BILLING_URL", billing.url.as_str()),
    ];

    let out = run(&["--config", config, "sync", "--format", "json"], &env);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{}\n{}",
        stderr(&out),
        stdout(&out)
    );
    let report = json(&out);
    for s in report["sources"].as_array().expect("sources") {
        assert_ne!(s["status"], "failed", "{s}");
    }
    let (read, rejected, kept, quarantined) = (
        count(&report, "rows_read"),
        count(&report, "rows_rejected"),
        count(&report, "rows_kept"),
        count(&report, "fields_nulled"),
    );
    assert_eq!(read, 1710, "{report}");
    assert!(rejected <= 10, "at most 10 rows rejected: {rejected}");
    assert_eq!(read, kept + rejected);

    // Every kept record is linked to a golden customer.
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&store)
        .await
        .expect("store");
    let (staged, linked): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(golden_id) FROM source_records")
            .fetch_one(&mut conn)
            .await
            .expect("source_records");
    conn.close().await.ok();
    assert_eq!(staged as u64, kept);
    assert_eq!(linked, staged, "every kept record has a golden customer");

    // The bad values are findings; the typed columns gave none.
    let quality = json(&run(
        &["--config", config, "quality", "--format", "json"],
        &env,
    ));
    assert_eq!(quality["total"].as_u64(), Some(quarantined), "{quality}");
    let by_field = |source: &str, field: &str| -> i64 {
        quality["counts"]
            .as_array()
            .expect("counts")
            .iter()
            .filter(|c| c["source"] == source && c["field"] == field)
            .map(|c| c["findings"].as_i64().unwrap_or(0))
            .sum()
    };
    assert!(by_field("crm", "phone") >= 20, "{quality}");
    assert!(by_field("crm", "email") >= 10, "{quality}");
    assert!(by_field("crm", "date_of_birth") >= 10, "{quality}");
    assert!(by_field("billing", "phone") >= 20, "{quality}");
    for (source, field) in [
        ("billing", "last_invoice_date"),
        ("billing", "date_of_birth"),
        ("billing", "balance"),
        ("billing", "updated_at"),
        ("crm", "updated_at"),
    ] {
        assert_eq!(by_field(source, field), 0, "{source}.{field}: {quality}");
    }
    let text = stdout(&run(&["--config", config, "quality"], &env));
    assert!(text.contains("not a phone number"), "{text}");

    let (precision, recall) = evaluate(config, &env);
    eprintln!(
        "typed estate: read {read}, rejected {rejected}, kept {kept}, linked {linked}, \
         quarantined {quarantined}, precision {precision:.4}, recall {recall:.4}"
    );
    assert!(
        precision >= 0.9 && recall >= 0.85,
        "precision {precision}, recall {recall}"
    );
}
