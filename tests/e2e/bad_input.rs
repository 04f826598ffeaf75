//! Every kind of bad input: a clear message naming where and what, and nothing lost.

use crate::support::*;

fn rejects(env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let out = run(
        &[
            "--config",
            "fixtures/bad/gild.toml",
            "rejects",
            "--format",
            "json",
        ],
        env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    json(&out).as_array().expect("rejects").clone()
}

#[test]
fn bad_rows_are_rejected_with_raw_text_and_reason_and_the_rest_syncs() {
    let (_dir, store) = sqlite_store();
    let env = [("GILD_STORE_URL", store.as_str())];
    let out = run(
        &[
            "--config",
            "fixtures/bad/gild.toml",
            "sync",
            "--format",
            "json",
        ],
        &env,
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "finished with rejections has its own exit code\n{}",
        stderr(&out)
    );
    let report = json(&out);
    assert_eq!(report["status"], "partial");

    let sources = report["sources"].as_array().expect("sources");
    let by = |name: &str| {
        sources
            .iter()
            .find(|s| s["source"] == name)
            .expect("source")
            .clone()
    };
    let customers = by("customers");
    assert_eq!(customers["rows_read"], 9);
    assert_eq!(customers["rows_rejected"], 5);
    assert_eq!(customers["rows_kept"], 4);
    assert_eq!(customers["fields_nulled"], 1, "the bad e-mail, quarantined");
    assert_eq!(report["values_quarantined"], 1);
    assert_eq!(
        by("orders")["status"],
        "ok",
        "a good source syncs beside bad ones"
    );
    // Nothing silently dropped: read = kept + rejected, everywhere.
    for s in sources {
        let (read, kept, rejected) = (
            s["rows_read"].as_u64(),
            s["rows_kept"].as_u64(),
            s["rows_rejected"].as_u64(),
        );
        assert_eq!(read, Some(kept.unwrap_or(0) + rejected.unwrap_or(0)), "{s}");
    }

    let rows = rejects(&env);
    assert_eq!(rows.len(), 5);
    let find = |line: u32| {
        rows.iter()
            .find(|r| {
                r["location"]
                    .as_str()
                    .is_some_and(|l| l.ends_with(&format!("customers.csv:{line}")))
            })
            .unwrap_or_else(|| panic!("a reject at line {line}: {rows:?}"))
            .clone()
    };
    let wrong_count = find(4);
    assert!(wrong_count["reason"]
        .as_str()
        .is_some_and(|r| r.contains("expected 5 fields, found 6")));
    assert_eq!(
        wrong_count["raw"],
        "3,Cy Diaz,1990-01-01,cy@example.com,94110,EXTRA"
    );
    let undecodable = find(5);
    assert!(
        undecodable["reason"]
            .as_str()
            .is_some_and(|r| r.contains("undecodable bytes") && r.contains("\"name\"")),
        "{undecodable}"
    );
    assert!(undecodable["raw"]
        .as_str()
        .is_some_and(|r| r.contains("borah Fox")));
    let missing_key = find(6);
    assert!(missing_key["reason"]
        .as_str()
        .is_some_and(|r| r.contains("missing key")));
    assert!(missing_key["raw"]
        .as_str()
        .is_some_and(|r| r.contains("Eve Gray")));
    let bad_date = find(7);
    assert_eq!(bad_date["record_key"], "6");
    assert!(
        bad_date["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("date_of_birth: unparsable date")),
        "{bad_date}"
    );
    assert!(bad_date["raw"]
        .as_str()
        .is_some_and(|r| r.contains("1981-02-31")));
    let duplicate = find(8);
    assert!(
        duplicate["reason"]
            .as_str()
            .is_some_and(|r| r.contains("duplicate key \"2\"") && r.contains("customers.csv:3")),
        "{duplicate}"
    );
    assert!(
        !rows.iter().any(|r| r["record_key"] == "8"),
        "a bad e-mail does not reject its record: {rows:?}"
    );

    // The bad e-mail is a quality finding: the value in the store, the record kept.
    let quality = json(&run(
        &[
            "--config",
            "fixtures/bad/gild.toml",
            "quality",
            "--format",
            "json",
        ],
        &env,
    ));
    assert_eq!(quality["total"], 1, "{quality}");
    let finding = &quality["findings"][0];
    assert_eq!(finding["source"], "customers");
    assert_eq!(finding["record_key"], "8");
    assert_eq!(finding["field"], "email");
    assert_eq!(finding["raw"], "not-an-email");
    assert!(
        finding["location"]
            .as_str()
            .is_some_and(|l| l.ends_with("customers.csv:9")),
        "{finding}"
    );
    assert!(
        finding["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("not an e-mail address") && !r.contains("not-an-email")),
        "{finding}"
    );
    assert_eq!(quality["counts"][0]["field"], "email");
    assert_eq!(quality["counts"][0]["findings"], 1);
    let text = stdout(&run(
        &["--config", "fixtures/bad/gild.toml", "quality"],
        &env,
    ));
    assert!(
        text.contains("customers") && text.contains("email"),
        "{text}"
    );

    // `sources check` shows it too, without the value.
    let check = run(
        &["--config", "fixtures/bad/gild.toml", "sources", "check"],
        &env,
    );
    let text = stdout(&check);
    assert!(
        text.contains("would quarantine (drop the value, keep the record): email 1"),
        "{text}"
    );
    assert!(!text.contains("not-an-email"), "{text}");
}

#[test]
fn a_bad_source_fails_alone_and_says_why() {
    let (_dir, store) = sqlite_store();
    let env = [("GILD_STORE_URL", store.as_str())];
    let out = run(
        &[
            "--config",
            "fixtures/bad/gild.toml",
            "sync",
            "--format",
            "json",
        ],
        &env,
    );
    let report = json(&out);
    let sources = report["sources"].as_array().expect("sources");
    let error = |name: &str| {
        let s = sources
            .iter()
            .find(|s| s["source"] == name)
            .expect("source");
        assert_eq!(s["status"], "failed", "{s}");
        s["error"].as_str().expect("an error message").to_string()
    };
    let missing = error("missing");
    assert!(
        missing.contains("this-export-was-never-delivered.csv") && missing.contains("no such file"),
        "{missing}"
    );
    assert!(
        missing.contains("connectors/missing.toml"),
        "names the config to fix: {missing}"
    );
    let unreachable = error("unreachable");
    assert!(
        unreachable.contains("cannot connect to postgres://gild:***@127.0.0.1:9/legacy"),
        "{unreachable}"
    );
    let misnamed = error("misnamed");
    assert!(
        misnamed.contains("mappings/misnamed.toml:7")
            && misnamed.contains("unknown column \"birthdate\""),
        "{misnamed}"
    );
    // The text summary says the same to a person.
    let text = stdout(&run(&["--config", "fixtures/bad/gild.toml", "sync"], &env));
    assert!(text.contains("source missing: cannot read"), "{text}");
    assert!(text.contains("gild rejects --run"), "{text}");
}

#[test]
fn a_failed_source_keeps_its_last_good_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path();
    std::fs::create_dir_all(cfg.join("connectors")).expect("dir");
    std::fs::create_dir_all(cfg.join("mappings")).expect("dir");
    std::fs::write(
        cfg.join("gild.toml"),
        "[store]\nurl = \"sqlite://store.db\"\n",
    )
    .expect("write");
    std::fs::write(
        cfg.join("connectors/people.toml"),
        "name = \"people\"\nkind = \"csv\"\nrecord_kind = \"customer\"\npath = \"people.csv\"\nprimary_key = [\"id\"]\n",
    )
    .expect("write");
    std::fs::write(cfg.join("connectors/orders.toml"), "name = \"orders\"\nkind = \"csv\"\nrecord_kind = \"fulfilment\"\npath = \"orders.csv\"\nprimary_key = [\"id\"]\n").expect("write");
    std::fs::write(
        cfg.join("mappings/people.toml"),
        "[fields]\nfull_name = { column = \"name\" }\nemail = { column = \"email\" }\n",
    )
    .expect("write");
    std::fs::write(
        cfg.join("mappings/orders.toml"),
        "[fields]\nfull_name = { column = \"name\" }\nemail = { column = \"email\" }\n",
    )
    .expect("write");
    std::fs::write(
        cfg.join("people.csv"),
        "id,name,email\n1,Ann Lee,ann@example.com\n2,Bo Chan,bo@example.com\n",
    )
    .expect("write");
    std::fs::write(
        cfg.join("orders.csv"),
        "id,name,email\nO1,Ann Lee,ann@example.com\n",
    )
    .expect("write");
    let config = cfg.join("gild.toml");
    let config = config.to_str().expect("utf-8 path");
    assert_eq!(
        run(&["--config", config, "sync"], &[]).status.code(),
        Some(0)
    );
    let before = json(&run(
        &["--config", config, "golden", "list", "--format", "json"],
        &[],
    ));

    std::fs::remove_file(cfg.join("people.csv")).expect("remove");
    let out = run(&["--config", config, "sync", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(3));
    let report = json(&out);
    let people = report["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["source"] == "people")
        .expect("people")
        .clone();
    assert_eq!(people["status"], "failed");
    assert_eq!(people["kept_from_last_run"], 2);
    let after = json(&run(
        &["--config", config, "golden", "list", "--format", "json"],
        &[],
    ));
    assert_eq!(
        before, after,
        "the golden view does not lose a failed source's customers"
    );
}

#[test]
fn bad_configuration_stops_before_anything_runs_naming_file_line_and_name() {
    let out = run(
        &[
            "--config",
            "fixtures/bad/config-unknown-field/gild.toml",
            "sync",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("config-unknown-field/connectors/orders.toml:5")
            && err.contains("unknown field `delimeter`"),
        "{err}"
    );

    let out = run(
        &[
            "--config",
            "fixtures/bad/config-unknown-transform/gild.toml",
            "sync",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("config-unknown-transform/mappings/orders.toml:3")
            && err.contains("unknown variant `uppercase`"),
        "{err}"
    );

    let out = run(&["--config", "fixtures/bad/no-such-gild.toml", "sync"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-gild.toml: cannot read"));
}
