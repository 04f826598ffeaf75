//! Built-in defaults: with no `[matching]` in gild.toml, gild chooses comparisons and blocking
//! rules from the data, says what it chose (sync summary, `gild train --output`, `gild explain`),
//! and on the demo estate matches at least as well as the demo's own hand-written `[matching]`.

use crate::support::*;

/// A folder with the demo estate's gild.toml minus its `[matching]` section, its connector files
/// (their paths made absolute) and the shipped mappings.
fn demo_without_matching() -> tempfile::TempDir {
    let dir = demo_connectors();
    let root = root();
    let shipped = std::fs::read_to_string(root.join("gild.toml")).expect("gild.toml");
    let mut config = String::new();
    let mut in_matching = false;
    for line in shipped.lines() {
        if line.starts_with('[') {
            in_matching = line.starts_with("[matching") || line.starts_with("[[matching");
        }
        if !in_matching {
            config.push_str(line);
            config.push('\n');
        }
    }
    assert!(!config.contains("[matching"), "{config}");
    let config = config.replace(
        "mappings = \"mappings\"",
        &format!("mappings = \"{}\"", root.join("mappings").display()),
    );
    std::fs::write(dir.path().join("gild.toml"), config).expect("write gild.toml");
    dir
}

fn f1(config: &str, env: &[(&str, &str)]) -> f64 {
    let truth = ["--truth", "fixtures/demo/truth.csv"];
    evaluate(config, &truth, env)["after_clustering"]["f1"]
        .as_f64()
        .expect("f1")
}

#[test]
fn built_in_defaults_match_the_demo_at_least_as_well_as_its_own_config() {
    let dir = demo_without_matching();
    let config = dir.path().join("gild.toml").display().to_string();
    let store = format!("sqlite://{}/gild.db", dir.path().display());
    let env = [("GILD_STORE_URL", store.as_str())];

    let out = run(&["--config", &config, "sync", "--format", "json"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let chosen = &report["matching"]["defaults"];
    let names: Vec<&str> = chosen["comparisons"]
        .as_array()
        .expect("the choice is in the summary")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    for field in [
        "given_name",
        "family_name",
        "date_of_birth",
        "email",
        "phone",
        "street",
    ] {
        assert!(names.contains(&field), "{field} is filled: {chosen}");
    }
    assert!(
        !names.contains(&"national_id"),
        "no source has one: {chosen}"
    );
    assert_eq!(
        chosen["households"]["protected"], true,
        "the demo has households: {chosen}"
    );
    let cannot_link = chosen["cannot_link"].to_string();
    assert!(
        cannot_link.contains("given_name") && cannot_link.contains("date_of_birth"),
        "{chosen}"
    );

    let (_shipped_dir, shipped_store) = sqlite_store();
    let shipped_env = [("GILD_STORE_URL", shipped_store.as_str())];
    assert_eq!(run(&["sync"], &shipped_env).status.code(), Some(0));
    let (defaults, shipped) = (f1(&config, &env), f1("gild.toml", &shipped_env));
    eprintln!("demo F1: built-in defaults {defaults:.4}, shipped [matching] {shipped:.4}");
    assert!(
        defaults >= shipped,
        "built-in defaults F1 {defaults} < the demo config's {shipped}"
    );

    // The same data gives the same choice: a full re-run keeps the stored model.
    let again = run(&["--config", &config, "sync", "--full"], &env);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let text = stdout(&again);
    assert!(
        text.contains("built-in defaults chosen from the data"),
        "{text}"
    );
    assert!(text.contains("model: stored model"), "{text}");
}

#[test]
fn the_choice_is_shown_by_train_and_explain() {
    let dir = demo_without_matching();
    let config = dir.path().join("gild.toml").display().to_string();
    let store = format!("sqlite://{}/gild.db", dir.path().display());
    let env = [("GILD_STORE_URL", store.as_str())];
    assert_eq!(
        run(&["--config", &config, "sync"], &env).status.code(),
        Some(0)
    );

    let model_file = dir.path().join("model.json");
    let out = run(
        &[
            "--config",
            &config,
            "train",
            "--output",
            &model_file.display().to_string(),
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("built-in defaults chosen from the data"));
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model_file).expect("model file"))
            .expect("model JSON");
    assert!(
        model["chosen"]["blocking"]
            .as_array()
            .is_some_and(|b| !b.is_empty()),
        "the model file records the choice"
    );

    let out = run(
        &["--config", &config, "explain", "crm:100001", "crm:100004"],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("built-in defaults chosen from the data"),
        "{text}"
    );
    assert!(text.contains("households:"), "{text}");
}

/// The benchmark data (`GILD_BENCH_DATA`, exported by .ci/run), or None with a note when it is
/// not there: the FEBRL sets are not part of the repository.
fn bench_data() -> Option<String> {
    let dir = std::env::var("GILD_BENCH_DATA").unwrap_or_default();
    if !dir.is_empty()
        && std::path::Path::new(&dir)
            .join("febrl/dataset3.csv")
            .is_file()
    {
        return Some(dir);
    }
    eprintln!(
        "SKIPPED: GILD_BENCH_DATA does not point at the benchmark data (febrl/dataset3.csv), so the FEBRL defaults check did not run"
    );
    None
}

fn febrl_f1(set: &str, config_file: &str, data: &str) -> f64 {
    let (_dir, store) = sqlite_store();
    let env = [
        ("GILD_STORE_URL", store.as_str()),
        ("GILD_BENCH_DATA", data),
    ];
    let config = format!("fixtures/bench/{set}/{config_file}");
    let sync = run(&["--config", &config, "sync", "--format", "json"], &env);
    assert!(
        matches!(sync.status.code(), Some(0 | 3)),
        "{}",
        stderr(&sync)
    );
    evaluate(&config, &["--entity-from-key", r"rec-(\d+)-"], &env)["after_clustering"]["f1"]
        .as_f64()
        .expect("f1")
}

/// FEBRL3 and FEBRL4 (5,000 records each, cheap): the built-in defaults come within 0.005 of the
/// shipped benchmark config's F1.
fn febrl_defaults_come_within_0_005_of_the_shipped_config(set: &str) {
    let Some(data) = bench_data() else {
        return;
    };
    let defaults = febrl_f1(set, "defaults.toml", &data);
    let shipped = febrl_f1(set, "gild.toml", &data);
    eprintln!("{set} F1: built-in defaults {defaults:.4}, shipped [matching] {shipped:.4}");
    assert!(
        defaults >= shipped - 0.005,
        "{set}: built-in defaults F1 {defaults} is more than 0.005 under the shipped config's {shipped}"
    );
}

#[test]
fn febrl3_defaults_come_within_0_005_of_the_shipped_config() {
    febrl_defaults_come_within_0_005_of_the_shipped_config("febrl3");
}

#[test]
fn febrl4_defaults_come_within_0_005_of_the_shipped_config() {
    febrl_defaults_come_within_0_005_of_the_shipped_config("febrl4");
}
