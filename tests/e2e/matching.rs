//! `gild explain` and `gild evaluate`, and the shipped benchmark configs, on real runs.

use crate::support::*;
use std::fmt::Write as _;

fn truth_entity_of(key: &str) -> (String, Vec<(String, String)>) {
    let text = std::fs::read_to_string(root().join("fixtures/demo/truth.csv")).expect("truth file");
    let rows: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut parts = l.split(',');
            let (s, k, e) = (parts.next()?, parts.next()?, parts.next()?);
            Some((format!("{s}:{k}"), e.to_string()))
        })
        .collect();
    let entity = rows
        .iter()
        .find(|(k, _)| k == key)
        .expect("key in truth")
        .1
        .clone();
    (entity, rows)
}

#[test]
fn explain_shows_every_comparison_and_agrees_with_the_clusters() {
    let (_dir, store) = sqlite_store();
    let env = [("GILD_STORE_URL", store.as_str())];
    assert_eq!(run(&["sync"], &env).status.code(), Some(0));

    let (entity, rows) = truth_entity_of("crm:100001");
    let same = rows
        .iter()
        .find(|(k, e)| *e == entity && k != "crm:100001")
        .expect("a duplicate")
        .0
        .clone();
    let other = rows
        .iter()
        .find(|(_, e)| *e != entity)
        .expect("someone else")
        .0
        .clone();

    let out = run(&["explain", "crm:100001", &same, "--format", "json"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    let e = &v["explanation"];
    let contributions = e["contributions"].as_array().expect("contributions");
    assert_eq!(contributions.len(), 8, "one line per configured comparison");
    // A pair that shares a home also counts what sharing it weighs.
    let home = e["household"]["key_weight"].as_f64().unwrap_or(0.0);
    let sum: f64 = e["prior_weight"].as_f64().expect("prior")
        + home
        + contributions
            .iter()
            .map(|c| c["weight"].as_f64().expect("weight"))
            .sum::<f64>();
    let total = e["match_weight"].as_f64().expect("total");
    assert!(
        (sum - total).abs() < 1e-6,
        "weights add up: {sum} vs {total}"
    );
    for c in contributions {
        assert!(c["level"].as_str().is_some_and(|l| !l.is_empty()), "{c}");
    }
    assert_eq!(
        v["golden_a"], v["golden_b"],
        "the same person is one customer"
    );
    assert!(v["verdict"]
        .as_str()
        .expect("verdict")
        .starts_with("merged"));
    assert!(e["match_probability"].as_f64().expect("p") >= 0.95);

    let apart = json(&run(
        &["explain", "crm:100001", &other, "--format", "json"],
        &env,
    ));
    assert_ne!(apart["golden_a"], apart["golden_b"]);
    assert!(!apart["verdict"]
        .as_str()
        .expect("verdict")
        .starts_with("merged"));

    let text = stdout(&run(&["explain", "crm:100001", &same], &env));
    assert!(
        text.contains("match weight") && text.contains("match probability"),
        "{text}"
    );
    assert!(
        text.contains("given_name") && text.contains("date_of_birth"),
        "{text}"
    );

    let missing = run(&["explain", "crm:100001", "crm:nobody"], &env);
    assert_eq!(missing.status.code(), Some(4), "not found");
    assert!(stderr(&missing).contains("no record crm:nobody"));
}

/// A FEBRL-shaped file: people with a corrupted duplicate each (a typo, a swapped name, a
/// missing date), written where the shipped FEBRL3 config looks for its data.
fn febrl_like(dir: &std::path::Path) {
    let given = [
        "mitchell", "harley", "madison", "nathan", "ruby", "laura", "kylie", "grace", "coby",
        "abby",
    ];
    let family = [
        "green", "mccarthy", "boxhall", "morrison", "vincent", "webb", "koziol", "mason", "berry",
        "toseland",
    ];
    let streets = [
        "wallaby place",
        "pridham street",
        "yanda street",
        "peppin place",
        "bunya close",
    ];
    let mut csv = String::from(
        "rec_id,given_name,surname,street_number,address_1,address_2,suburb,postcode,state,date_of_birth,soc_sec_id\n",
    );
    for n in 0..60usize {
        let g = given[n % given.len()];
        let f = family[(n / given.len() + n) % family.len()];
        let street = streets[n % streets.len()];
        let (num, post) = (n * 7 % 90 + 1, 2000 + n * 37 % 900);
        let dob = format!("19{:02}{:02}{:02}", 20 + n % 70, 1 + n % 12, 1 + n % 28);
        let suburb = ["dapto", "trigg", "mosman", "cremorne"][n % 4];
        writeln!(
            csv,
            "rec-{n}-org,{g},{f},{num},{street},,{suburb},{post},nsw,{dob},{}",
            1000000 + n
        )
        .expect("write");
        let (dg, df, ddob) = match n % 3 {
            0 => (
                format!("{}x{}", &g[..2], &g[2..]),
                f.to_string(),
                dob.clone(),
            ),
            1 => (f.to_string(), g.to_string(), dob.clone()),
            _ => (g.to_string(), f.to_string(), String::new()),
        };
        writeln!(
            csv,
            "rec-{n}-dup-0,{dg},{df},{num},{street},,{suburb},{post},nsw,{ddob},{}",
            1000000 + n
        )
        .expect("write");
    }
    std::fs::create_dir_all(dir.join("febrl")).expect("dir");
    std::fs::write(dir.join("febrl/dataset3.csv"), csv).expect("write data");
}

#[test]
fn evaluate_reports_pairs_before_and_after_clustering_b_cubed_and_a_sweep() {
    let data = tempfile::tempdir().expect("temp dir");
    febrl_like(data.path());
    let (_dir, store) = sqlite_store();
    let data_dir = data.path().display().to_string();
    let env = [
        ("GILD_STORE_URL", store.as_str()),
        ("GILD_BENCH_DATA", data_dir.as_str()),
    ];
    let config = "fixtures/bench/febrl3/gild.toml";

    let sync = run(&["--config", config, "sync", "--format", "json"], &env);
    assert_eq!(sync.status.code(), Some(0), "{}", stderr(&sync));
    assert_eq!(json(&sync)["matching"]["records"], 120);

    let e = evaluate(config, &["--entity-from-key", r"rec-(\d+)-"], &env);
    assert_eq!(e["records"], 120);
    assert_eq!(e["entities"], 60);
    assert_eq!(e["records_without_truth"], 0);
    let after = &e["after_clustering"];
    assert_eq!(after["truth_pairs"], 60);
    let f1 = after["f1"].as_f64().expect("f1");
    assert!(
        f1 >= 0.9,
        "typos, swapped names and missing dates are still found: {after}"
    );
    let (p, r) = (
        after["precision"].as_f64().expect("p"),
        after["recall"].as_f64().expect("r"),
    );
    assert!(
        (f1 - 2.0 * p * r / (p + r)).abs() < 1e-9,
        "F1 is the harmonic mean"
    );
    assert!(e["before_clustering"]["predicted_pairs"].as_u64().is_some());
    for k in ["bcubed_precision", "bcubed_recall", "bcubed_f1"] {
        let v = e[k].as_f64().expect(k);
        assert!((0.0..=1.0).contains(&v), "{k} {v}");
    }
    let sweep = e["sweep"].as_array().expect("sweep");
    assert!(sweep.len() >= 5);
    let predicted: Vec<u64> = sweep
        .iter()
        .map(|s| s["predicted_pairs"].as_u64().expect("n"))
        .collect();
    assert!(
        predicted.windows(2).all(|w| w[0] >= w[1]),
        "a higher threshold never predicts more pairs: {predicted:?}"
    );

    // A truth file works the same way, and a wrong one is an error with exit code 2.
    let truth = data.path().join("truth.csv");
    let mut t = String::from("key,entity_id\n");
    for n in 0..60 {
        writeln!(t, "rec-{n}-org,{n}\nrec-{n}-dup-0,{n}").expect("write");
    }
    std::fs::write(&truth, t).expect("write truth");
    let by_file = json(&run(
        &[
            "--config",
            config,
            "evaluate",
            "--truth",
            &truth.display().to_string(),
            "--format",
            "json",
        ],
        &env,
    ));
    assert_eq!(by_file["after_clustering"], e["after_clustering"]);
    let bad = run(
        &[
            "--config",
            config,
            "evaluate",
            "--truth",
            "no/such/truth.csv",
        ],
        &env,
    );
    assert_ne!(bad.status.code(), Some(0));
}
