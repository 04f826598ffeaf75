//! Real estates work as first configured: typed database columns read without formats, bad
//! values quarantined (record kept, finding listed), and `gild init` proposing mappings.

use crate::support::*;

fn evaluate(config: &str, env: &[(&str, &str)]) -> (f64, f64) {
    let truth = ["--truth", "fixtures/demo/truth.csv"];
    precision_recall(&crate::support::evaluate(config, &truth, env))
}

fn count(report: &serde_json::Value, field: &str) -> u64 {
    report["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| s[field].as_u64().expect("a count"))
        .sum()
}

/// A folder with the demo estate's connector files (their paths made absolute), and the shipped
/// gild.toml when `with_config`; no mappings.
fn demo_connectors_only(with_config: bool) -> tempfile::TempDir {
    let dir = demo_connectors();
    let root = root();
    if with_config {
        std::fs::copy(root.join("gild.toml"), dir.path().join("gild.toml")).expect("gild.toml");
    }
    dir
}

fn init(config: &str, env: &[(&str, &str)]) -> String {
    let out = run(&["--config", config, "init"], env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stderr(&out),
        stdout(&out)
    );
    stdout(&out)
}

/// The demo estate with its gild.toml and connector files but its mappings deleted: `gild init`
/// writes the mappings, and the sync they give comes within 0.01 of the shipped mappings'
/// precision and recall (the same gild.toml, so only the mappings differ).
#[test]
fn init_on_the_demo_estate_comes_within_0_01_of_the_shipped_mappings() {
    let dir = demo_connectors_only(true);
    let config = dir.path().join("gild.toml");
    let config_s = config.display().to_string();
    let shipped_config = std::fs::read_to_string(&config).expect("gild.toml");
    let store = format!("sqlite://{}/gild.db", dir.path().display());
    let env = [("GILD_STORE_URL", store.as_str())];

    let said = init(&config_s, &env);
    assert_eq!(
        std::fs::read_to_string(&config).expect("gild.toml"),
        shipped_config,
        "an existing gild.toml is left alone"
    );
    assert!(!said.contains("the built-in matching"), "{said}");
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
    let again = init(&config_s, &env);
    assert!(again.contains("exists, left alone"), "{again}");
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

/// Connector files only: `gild init` writes a starting gild.toml (the built-in matching) and the
/// mappings, and the first sync keeps and links every record.
#[tokio::test(flavor = "multi_thread")]
async fn init_with_connector_files_only_writes_a_config_whose_sync_links_every_record() {
    let dir = demo_connectors_only(false);
    let config = dir.path().join("gild.toml");
    let config_s = config.display().to_string();
    let store = format!("sqlite://{}/gild.db", dir.path().display());
    let env = [("GILD_STORE_URL", store.as_str())];

    let said = init(&config_s, &env);
    assert!(said.contains("the built-in matching"), "{said}");
    let written = std::fs::read_to_string(&config).expect("a starting gild.toml is written");
    assert!(
        !written.lines().any(|l| l.starts_with("[matching")),
        "the built-in matching: {written}"
    );

    let out = run(&["--config", &config_s, "sync", "--format", "json"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let (read, kept) = (count(&report, "rows_read"), count(&report, "rows_kept"));
    assert_eq!(read, kept, "every row kept: {report}");

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
    assert_eq!(linked, staged, "every record has a golden customer");

    let (precision, recall) = evaluate(&config_s, &env);
    eprintln!(
        "gild init with its starting gild.toml: precision {precision:.4}, recall {recall:.4}"
    );
    assert!(
        precision >= 0.95 && recall >= 0.95,
        "precision {precision}, recall {recall}"
    );
}

/// How many bad values crm-typed.sql and billing-typed.sql wrote, per (source, field), as the
/// databases count them: each is one finding.
async fn bad_values(crm: &str, billing: &str) -> Vec<((&'static str, &'static str), i64)> {
    use sqlx::Connection;
    let mut my = sqlx::MySqlConnection::connect(crm).await.expect("crm");
    let mut mysql_count = async |sql: &str| -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut my)
            .await
            .expect("count")
    };
    let crm_phone =
        mysql_count("SELECT COUNT(*) FROM customers WHERE home_phone IN ('(811) 555-0142', '911')")
            .await
            + mysql_count("SELECT COUNT(*) FROM customers WHERE mobile_phone = '611-555-0199'")
                .await;
    let crm_email = mysql_count("SELECT COUNT(*) FROM customers WHERE email LIKE '% @%'").await;
    let crm_birth = mysql_count("SELECT COUNT(*) FROM customers WHERE YEAR(birth_dt) = 1143").await;
    my.close().await.ok();
    let mut pg = sqlx::PgConnection::connect(billing).await.expect("billing");
    let mut pg_count = async |sql: &str| -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut pg)
            .await
            .expect("count")
    };
    let billing_phone =
        pg_count("SELECT COUNT(*) FROM accounts WHERE phone = '911-555-0111'").await;
    let billing_email = pg_count("SELECT COUNT(*) FROM accounts WHERE email LIKE '% @%'").await;
    pg.close().await.ok();
    let found = vec![
        (("crm", "phone"), crm_phone),
        (("crm", "email"), crm_email),
        (("crm", "date_of_birth"), crm_birth),
        (("billing", "phone"), billing_phone),
        (("billing", "email"), billing_email),
    ];
    for (what, n) in &found {
        assert!(*n > 0, "the fixture wrote bad values for {what:?}");
    }
    found
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
    // Each bad value the fixture wrote is one finding, no more: counted in the databases.
    let expected = bad_values(&crm.url, &billing.url).await;
    for ((source, field), n) in &expected {
        assert_eq!(by_field(source, field), *n, "{source}.{field}: {quality}");
    }
    assert_eq!(
        quality["total"].as_i64(),
        Some(expected.iter().map(|(_, n)| n).sum()),
        "no other findings (the typed columns gave none): {quality}"
    );
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

/// `gild init` on the bad estate (fixtures/bad) with its mappings deleted and the shared mapping
/// of two broken sources made their own: a source whose export is missing, one whose server does
/// not answer, a file with broken rows. Init proposes what it can read, says which sources it
/// could not inspect and why without a value from the data, never overwrites a file, and exits 3
/// (done, with sources left out).
#[test]
fn init_on_a_bad_estate_proposes_what_it_can_read_and_names_what_it_cannot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = root().join("fixtures/bad");
    for sub in ["connectors", "data"] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        for entry in std::fs::read_dir(bad.join(sub)).expect("read fixtures") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_owned();
            let mut text = std::fs::read(&path).expect("read");
            if sub == "connectors" {
                // Each broken source gets a mapping of its own, so that init has to look at it.
                text = String::from_utf8_lossy(&text)
                    .replace("mapping = \"customers\"\n", "")
                    .into_bytes();
            }
            std::fs::write(dir.path().join(sub).join(name), text).expect("write");
        }
    }
    std::fs::copy(bad.join("gild.toml"), dir.path().join("gild.toml")).expect("gild.toml");
    std::fs::create_dir(dir.path().join("mappings")).expect("mkdir");
    // A steward's own mapping for orders: init must leave it as it is.
    let own = "# mine\n[fields]\nfull_name = { column = \"customer\" }\n";
    std::fs::write(dir.path().join("mappings/orders.toml"), own).expect("write");

    let config = dir.path().join("gild.toml");
    let out = run(
        &["--config", config.to_str().expect("utf-8 path"), "init"],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    let mapping =
        |name: &str| std::fs::read_to_string(dir.path().join(format!("mappings/{name}.toml")));
    // The broken rows (too many fields, a byte that is not UTF-8) do not stop the proposal.
    let customers = mapping("customers").expect("customers proposed");
    assert!(
        customers.contains("date_of_birth = { column = \"dob\""),
        "{customers}"
    );
    assert!(
        customers.contains("email = { column = \"email\" }"),
        "{customers}"
    );
    assert_eq!(mapping("orders").expect("orders"), own, "never overwritten");
    assert!(text.contains("orders.toml exists, left alone"), "{text}");
    // The missing export and the silent server: named, no mapping written, no crash.
    for source in ["missing", "unreachable"] {
        assert!(
            mapping(source).is_err(),
            "{source}: nothing to propose from"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with(source) && l.contains("no mapping written")),
            "{source} is named with what went wrong: {text}"
        );
    }
    // No value from the data in what init says (a customer's name from the CSV).
    let raw = std::fs::read_to_string(bad.join("data/customers-good.csv")).expect("csv");
    let second_line = raw.lines().nth(1).expect("a data row");
    let name = second_line.split(',').nth(1).expect("a name");
    assert!(
        !text.contains(name),
        "no customer value in init's output: {text}"
    );
}
