//! `gild worker`: a cron schedule that fires within seconds, and the recorded run completing.

use crate::support::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn start_worker(env: &[(&str, &str)]) -> Background {
    let mut c = gild();
    c.args(["worker"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    Background::start(c)
}

/// Waits until the store shows a scheduled run that finished, returning the first one (the
/// list is newest first, and later ticks find nothing new to create).
fn wait_for_scheduled_run(env: &[(&str, &str)], limit: Duration) -> Option<serde_json::Value> {
    let start = Instant::now();
    while start.elapsed() < limit {
        let out = run(&["runs", "list", "--format", "json"], env);
        if out.status.success() {
            if let Some(done) = json(&out).as_array().and_then(|runs| {
                runs.iter()
                    .rev()
                    .find(|r| r["trigger"] == "schedule" && r["status"] != "running")
                    .cloned()
            }) {
                return Some(done);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    None
}

/// Stops the worker with SIGTERM (killed if it does not stop within 40 s) and returns its log.
fn stop(mut worker: Background) -> String {
    worker.terminate();
    if worker.wait_for_exit(Duration::from_secs(40)).is_none() {
        // Its log ends only when it does.
        let _ = worker.0.kill();
    }
    let mut err = String::new();
    if let Some(mut e) = worker.0.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    err
}

#[test]
fn a_scheduled_sync_runs_and_is_recorded_with_the_sqlite_queue() {
    let (_dir, store) = sqlite_store();
    // Every two seconds; the worker polls the queue every second.
    let env = [
        ("GILD_STORE_URL", store.as_str()),
        ("GILD_SCHEDULE", "*/2 * * * * *"),
    ];
    let worker = start_worker(&env);
    let run_seen = wait_for_scheduled_run(&env, Duration::from_secs(240));
    let log = stop(worker);
    let run_seen =
        run_seen.unwrap_or_else(|| panic!("no scheduled run was recorded; worker log:\n{log}"));
    assert_eq!(run_seen["status"], "succeeded", "{run_seen}\n{log}");
    assert!(
        run_seen["golden_created"].as_i64() > Some(400),
        "{run_seen}"
    );
    assert!(log.contains("scheduler started"), "{log}");
    // Queue kept apart from the store, as apalis turns fsync off on its own file.
    let jobs_file =
        std::path::Path::new(store.trim_start_matches("sqlite://")).with_file_name("store-jobs.db");
    assert!(jobs_file.exists(), "apalis has its own SQLite file");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_sync_runs_with_the_postgres_queue_and_store() {
    let Some(pg) = server_url("GILD_TEST_POSTGRES_URL", "a PostgreSQL server") else {
        return;
    };
    let store = TestDb::postgres(&pg, "gild_worker").await;
    let env = [
        ("GILD_STORE_URL", store.url.as_str()),
        ("GILD_SCHEDULE", "*/2 * * * * *"),
    ];
    let worker = start_worker(&env);
    let seen = tokio::task::spawn_blocking({
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            wait_for_scheduled_run(&env, Duration::from_secs(240))
        }
    })
    .await
    .expect("wait");
    let log = stop(worker);
    let seen = seen.unwrap_or_else(|| panic!("no scheduled run recorded; worker log:\n{log}"));
    assert_eq!(seen["status"], "succeeded", "{seen}\n{log}");
    // Later ticks that found the lease taken or ran again must never overlap: every finished run
    // started after the previous one finished.
    let runs = json(&run(&["runs", "list", "--format", "json"], &env));
    let mut spans: Vec<(String, String)> = runs
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["finished_at"].is_string())
        .map(|r| {
            (
                r["started_at"].as_str().unwrap_or("").to_string(),
                r["finished_at"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "runs overlapped: {w:?}");
    }
}
