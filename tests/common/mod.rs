//! Helpers for the end-to-end tests: run the real binary, make throwaway stores, and create and
//! drop databases on the local servers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn gild() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gild"));
    c.current_dir(root());
    // Tests must not pick up a developer's settings.
    for var in [
        "GILD_CONFIG",
        "GILD_STORE_URL",
        "GILD_SCHEDULE",
        "GILD_CRM_URL",
        "RUST_LOG",
    ] {
        c.env_remove(var);
    }
    c
}

/// Runs gild with arguments and extra environment; returns the output.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = gild();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the gild binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// A unique name for databases and files of one test.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// A SQLite store URL in a fresh temporary folder (kept alive by the returned guard).
pub fn sqlite_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    (dir, url)
}

/// The server URL from the environment, or None with a clear note when running without it.
/// In CI (CI=true) a missing server is a failure, never a silent skip.
pub fn server_url(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{var} is not set in CI: .ci/run must start {what} and export it");
            }
            eprintln!("SKIPPED: {var} is not set, so this test needs {what} and was skipped");
            None
        }
    }
}

fn with_database(base: &str, db: &str) -> String {
    // base is scheme://user@host:port[/anything]
    let (scheme, rest) = base.split_once("://").expect("a server url");
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{db}")
}

/// A database created for one test and dropped when the guard goes.
pub struct TestDb {
    pub url: String,
    admin: String,
    name: String,
    mysql: bool,
}

impl TestDb {
    pub async fn postgres(base: &str, prefix: &str) -> TestDb {
        use sqlx::Connection;
        let name = unique(prefix).to_lowercase();
        let admin = with_database(base, "postgres");
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect to PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        TestDb {
            url: with_database(base, &name),
            admin,
            name,
            mysql: false,
        }
    }

    pub async fn mysql(base: &str, prefix: &str) -> TestDb {
        use sqlx::Connection;
        let name = unique(prefix).to_lowercase();
        let admin = with_database(base, "mysql");
        let mut conn = sqlx::MySqlConnection::connect(&admin)
            .await
            .expect("connect to MariaDB");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4"
        )))
        .execute(&mut conn)
        .await
        .expect("create database");
        conn.close().await.ok();
        TestDb {
            url: with_database(base, &name),
            admin,
            name,
            mysql: true,
        }
    }

    /// Runs a SQL file statement by statement.
    pub async fn load(&self, file: &Path) {
        use sqlx::Connection;
        let text = std::fs::read_to_string(file).expect("read sql file");
        let statements: Vec<String> = text
            .split(";\n")
            .map(|s| s.trim().to_string())
            .filter(|s| {
                !s.is_empty()
                    && !s
                        .lines()
                        .all(|l| l.trim_start().starts_with("--") || l.trim().is_empty())
            })
            .collect();
        if self.mysql {
            let mut conn = sqlx::MySqlConnection::connect(&self.url)
                .await
                .expect("connect");
            for s in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s))
                    .execute(&mut conn)
                    .await
                    .expect("load statement");
            }
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("connect");
            for s in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s))
                    .execute(&mut conn)
                    .await
                    .expect("load statement");
            }
        }
    }

    pub async fn drop_now(self) {
        use sqlx::Connection;
        if self.mysql {
            if let Ok(mut c) = sqlx::MySqlConnection::connect(&self.admin).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {}",
                    self.name
                )))
                .execute(&mut c)
                .await;
            }
        } else if let Ok(mut c) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut c)
            .await;
        }
    }
}

/// Pairwise precision and recall after clustering from `gild evaluate --format json`.
pub fn precision_recall(evaluation: &serde_json::Value) -> (f64, f64) {
    let a = &evaluation["after_clustering"];
    (
        a["precision"].as_f64().expect("precision"),
        a["recall"].as_f64().expect("recall"),
    )
}
