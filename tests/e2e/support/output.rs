//! Reading what a gild run printed.

use std::process::Output;

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output as JSON (`--format json`), or a failure showing both streams.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// Pairwise precision and recall after clustering from `gild evaluate --format json`.
pub fn precision_recall(evaluation: &serde_json::Value) -> (f64, f64) {
    let a = &evaluation["after_clustering"];
    (
        a["precision"].as_f64().expect("precision"),
        a["recall"].as_f64().expect("recall"),
    )
}
