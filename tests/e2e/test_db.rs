//! The server databases' guard, `support::TestDb`: a test that panics still drops its database,
//! even with a session still connected to it, from inside a `#[tokio::test]`-style runtime of
//! either flavour (the runtime a panicking async test unwinds through).

use crate::support::*;
use sqlx::Connection;
use std::future::Future;
use std::pin::Pin;

/// A step of a test body, made on the test's own runtime.
type Step<T> = Pin<Box<dyn Future<Output = T>>>;
/// A connection kept open, of either server.
type Session = Box<dyn std::any::Any>;

const FAILURE: &str = "the test fails while its database is in use";

/// Runs, on a thread of its own as the test harness does, a test body that creates a database,
/// keeps a session open on it that outlives the guard, and panics; returns the database's name
/// once the thread has unwound.
fn panic_holding_a_database(
    multi_thread: bool,
    create: impl FnOnce() -> Step<TestDb> + Send + 'static,
    hold: fn(String) -> Step<Session>,
) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let test = std::thread::spawn(move || {
        let runtime = if multi_thread {
            tokio::runtime::Builder::new_multi_thread()
        } else {
            tokio::runtime::Builder::new_current_thread()
        }
        .enable_all()
        .build()
        .expect("runtime");
        runtime.block_on(async move {
            // Declared before the guard, so dropped after it: the guard meets a live session.
            let _session;
            let db = create().await;
            tx.send(db.name().to_string()).expect("send the name");
            _session = hold(db.url.clone()).await;
            std::panic::panic_any(FAILURE);
        })
    });
    let panicked = test.join().expect_err("the test body panicked");
    assert_eq!(
        panicked.downcast_ref::<&str>().copied(),
        Some(FAILURE),
        "the test body panicked where it was meant to"
    );
    rx.recv().expect("the database was created")
}

async fn postgres_exists(base: &str, name: &str) -> bool {
    let mut c = sqlx::PgConnection::connect(&with_database(base, "postgres"))
        .await
        .expect("connect to PostgreSQL");
    let found: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut c)
        .await
        .expect("pg_database");
    c.close().await.ok();
    found.is_some()
}

async fn mariadb_exists(base: &str, name: &str) -> bool {
    let mut c = sqlx::MySqlConnection::connect(&with_database(base, "mysql"))
        .await
        .expect("connect to MariaDB");
    let found: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM information_schema.schemata WHERE schema_name = ?")
            .bind(name)
            .fetch_optional(&mut c)
            .await
            .expect("schemata");
    c.close().await.ok();
    found.is_some()
}

/// A session in the middle of a transaction that wrote to the database.
fn postgres_session(url: String) -> Step<Session> {
    Box::pin(async move {
        let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
        sqlx::raw_sql("BEGIN; CREATE TABLE held (id INT); INSERT INTO held VALUES (1)")
            .execute(&mut c)
            .await
            .expect("write in a transaction");
        Box::new(c) as Session
    })
}

fn mariadb_session(url: String) -> Step<Session> {
    Box::pin(async move {
        let mut c = sqlx::MySqlConnection::connect(&url).await.expect("connect");
        sqlx::raw_sql("CREATE TABLE held (id INT) ENGINE = InnoDB")
            .execute(&mut c)
            .await
            .expect("create");
        // An open transaction holds a metadata lock that DROP DATABASE would wait on.
        sqlx::raw_sql("START TRANSACTION; INSERT INTO held VALUES (1)")
            .execute(&mut c)
            .await
            .expect("write in a transaction");
        Box::new(c) as Session
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_database_is_dropped_when_its_test_panics() {
    let Some(pg) = server_url("GILD_TEST_POSTGRES_URL", "a PostgreSQL server") else {
        return;
    };
    for multi_thread in [false, true] {
        let base = pg.clone();
        let name = tokio::task::spawn_blocking(move || {
            panic_holding_a_database(
                multi_thread,
                move || Box::pin(async move { TestDb::postgres(&base, "gild_guard").await }),
                postgres_session,
            )
        })
        .await
        .expect("the panicking test ran");
        assert!(
            !postgres_exists(&pg, &name).await,
            "{name} is left on the server (multi_thread: {multi_thread})"
        );
    }
    // And the check can fail: a database whose guard is alive is there.
    let alive = TestDb::postgres(&pg, "gild_guard").await;
    assert!(postgres_exists(&pg, alive.name()).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mariadb_database_is_dropped_when_its_test_panics() {
    let Some(my) = server_url("GILD_TEST_MYSQL_URL", "a MariaDB server") else {
        return;
    };
    for multi_thread in [false, true] {
        let base = my.clone();
        let name = tokio::task::spawn_blocking(move || {
            panic_holding_a_database(
                multi_thread,
                move || Box::pin(async move { TestDb::mysql(&base, "gild_guard").await }),
                mariadb_session,
            )
        })
        .await
        .expect("the panicking test ran");
        assert!(
            !mariadb_exists(&my, &name).await,
            "{name} is left on the server (multi_thread: {multi_thread})"
        );
    }
    let alive = TestDb::mysql(&my, "gild_guard").await;
    assert!(mariadb_exists(&my, alive.name()).await);
}
