//! No customer value in logs, error messages or the run history: the estates in
//! fixtures/bad/sentinel plant the sentinel ZZSENTINEL42 in every value that goes wrong (an
//! export without its header row, a header with a value twice, a block too large, a bad date, a
//! database query failing on a value), and it must reach only the store (the quality findings, the rejects table).

use crate::support::*;
use sqlx::Connection;

const SENTINEL: &str = "zzsentinel42";

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.to_lowercase().contains(SENTINEL),
        "{what} holds a customer's value:\n{text}"
    );
}

/// Everything the store's run history says about every run: the summaries and errors of
/// `sync_runs`, and the per-source errors of `run_sources`.
async fn run_history(url: &str) -> String {
    let runs =
        "SELECT COALESCE(CAST(summary AS TEXT), '') || ' ' || COALESCE(error, '') FROM sync_runs";
    let sources = "SELECT COALESCE(error, '') FROM run_sources";
    let rows: Vec<(String,)> = if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.expect("store");
        let mut rows: Vec<(String,)> = sqlx::query_as(runs).fetch_all(&mut c).await.expect("runs");
        rows.extend(
            sqlx::query_as::<_, (String,)>(sources)
                .fetch_all(&mut c)
                .await
                .expect("sources"),
        );
        c.close().await.ok();
        rows
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("store");
        let mut rows: Vec<(String,)> = sqlx::query_as(runs).fetch_all(&mut c).await.expect("runs");
        rows.extend(
            sqlx::query_as::<_, (String,)>(sources)
                .fetch_all(&mut c)
                .await
                .expect("sources"),
        );
        c.close().await.ok();
        rows
    };
    assert!(!rows.is_empty(), "the store has no run history");
    rows.into_iter()
        .map(|(t,)| t)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_source_value_reaches_logs_errors_summaries_or_the_run_history() {
    let (_dir, store) = sqlite_store();
    let env = [("GILD_STORE_URL", store.as_str())];
    let config = "fixtures/bad/sentinel/gild.toml";

    // The text summary, with info logs on stderr.
    let out = run(&["-v", "--config", config, "sync"], &env);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let (text, log) = (stdout(&out), stderr(&out));
    assert_clean("the text summary", &text);
    assert_clean("stderr at info level", &log);
    assert!(log.contains("INFO"), "info logs were on: {log}");
    for said in [
        "unknown column \"name\": none of the 5 columns",
        "its first row was read as the header; set `header = false`",
        "columns 2 and 3 of the header have the same name",
        "rule email: a block of 3 records (3 pairs): kept",
    ] {
        assert!(
            text.contains(said),
            "the summary says what is wrong: {said}\n{text}"
        );
    }

    // The JSON report.
    let out = run(
        &["-v", "--config", config, "sync", "--format", "json"],
        &env,
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_clean("the JSON report", &stdout(&out));
    assert_clean("stderr at info level", &stderr(&out));
    let report = json(&out);
    let warning = &report["matching"]["block_warnings"][0];
    assert_eq!(warning["rule"], "email", "{report}");
    assert_eq!(warning["records"], 3, "{report}");

    // The quality findings are where a quarantined value belongs (as the rejects table is for a
    // rejected row's raw text): the sentinel is there, so the checks above would have seen it
    // had it leaked.
    let quality = run(&["--config", config, "quality", "--format", "json"], &env);
    assert!(
        stdout(&quality).to_lowercase().contains(SENTINEL),
        "the planted value reaches the quality findings: {}",
        stdout(&quality)
    );

    // A run where every source fails: its error goes to stderr and sync_runs.error.
    let out = run(
        &[
            "-v",
            "--config",
            "fixtures/bad/sentinel/headless-only.toml",
            "sync",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("every source failed"),
        "{}",
        stderr(&out)
    );
    assert_clean("stderr of a failed run", &stderr(&out));
    assert_clean("stdout of a failed run", &stdout(&out));

    let runs = run(&["--config", config, "runs", "list"], &env);
    assert!(stdout(&runs).contains("failed:"), "{}", stdout(&runs));
    assert_clean("gild runs list", &stdout(&runs));
    let history = run_history(&store).await;
    assert!(history.contains("header = false"), "{history}");
    assert_clean("sync_runs and run_sources", &history);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_source_error_keeps_its_sqlstate_and_loses_the_value() {
    let Some(pg) = server_url("GILD_TEST_POSTGRES_URL", "a PostgreSQL server") else {
        return;
    };
    let legacy = TestDb::postgres(&pg, "gild_sentinel_src").await;
    let store = TestDb::postgres(&pg, "gild_sentinel_store").await;
    let mut c = sqlx::PgConnection::connect(&legacy.url)
        .await
        .expect("connect");
    sqlx::raw_sql(
        "CREATE TABLE people (id INT PRIMARY KEY, name TEXT, email TEXT, birth TEXT, zip TEXT);
         INSERT INTO people VALUES
           (1, 'Ann Lee', 'ann@example.com', '1980-02-03', '02134'),
           (2, 'Bo Chan', 'bo@example.com', 'ZZSENTINEL42', '10001');",
    )
    .execute(&mut c)
    .await
    .expect("load");
    c.close().await.ok();

    let out = run(
        &[
            "-v",
            "--config",
            "fixtures/bad/sentinel/postgres.toml",
            "sync",
        ],
        &[
            ("GILD_STORE_URL", store.url.as_str()),
            ("GILD_SENTINEL_PG_URL", legacy.url.as_str()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log = stderr(&out);
    assert_clean("stderr", &log);
    assert_clean("stdout", &stdout(&out));
    assert!(
        log.contains("SQLSTATE 22007, invalid datetime format")
            && log.contains("invalid input syntax for type date: \"…\""),
        "the error keeps its class and description: {log}"
    );
    let history = run_history(&store.url).await;
    assert!(history.contains("SQLSTATE 22007"), "{history}");
    assert_clean("sync_runs and run_sources", &history);
}
