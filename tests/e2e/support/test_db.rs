//! Databases created on the local PostgreSQL and MariaDB servers for one test, and dropped when
//! their guard goes, whether the test passed or panicked.

use super::unique;
use sqlx::Connection;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Server {
    Postgres,
    MariaDb,
}

/// A database created for one test and dropped when the guard goes, also when the test panics
/// (the guard drops during unwinding). The drop is synchronous, as `Drop` cannot await: it runs
/// on a thread of its own with a small runtime of its own, so it works from a sync test and from
/// inside any `#[tokio::test]` runtime, and it closes the connections the test left open first.
pub struct TestDb {
    pub url: String,
    name: String,
    admin: String,
    server: Server,
}

/// How long dropping a database may take before the guard gives up and says so.
const DROP_LIMIT: Duration = Duration::from_secs(60);

impl TestDb {
    pub async fn postgres(base: &str, prefix: &str) -> TestDb {
        let db = TestDb::new(Server::Postgres, base, "postgres", prefix);
        let mut conn = sqlx::PgConnection::connect(&db.admin)
            .await
            .expect("connect to PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {}", db.name)))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        db
    }

    pub async fn mysql(base: &str, prefix: &str) -> TestDb {
        let db = TestDb::new(Server::MariaDb, base, "mysql", prefix);
        let mut conn = sqlx::MySqlConnection::connect(&db.admin)
            .await
            .expect("connect to MariaDB");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {} CHARACTER SET utf8mb4",
            db.name
        )))
        .execute(&mut conn)
        .await
        .expect("create database");
        conn.close().await.ok();
        db
    }

    /// The guard exists before the database does, so a failure half-way through creating it
    /// still drops whatever was made.
    fn new(server: Server, base: &str, admin_db: &str, prefix: &str) -> TestDb {
        let name = unique(prefix).to_lowercase();
        TestDb {
            url: with_database(base, &name),
            admin: with_database(base, admin_db),
            name,
            server,
        }
    }

    /// The database's name on its server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a SQL file statement by statement.
    pub async fn load(&self, file: &Path) {
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
        match self.server {
            Server::MariaDb => {
                let mut conn = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("connect");
                for s in statements {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(s))
                        .execute(&mut conn)
                        .await
                        .expect("load statement");
                }
                conn.close().await.ok();
            }
            Server::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                for s in statements {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(s))
                        .execute(&mut conn)
                        .await
                        .expect("load statement");
                }
                conn.close().await.ok();
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Never panic here: a panic while a failing test unwinds would abort the whole binary.
        let (server, admin, name) = (self.server, self.admin.clone(), self.name.clone());
        let dropped = std::thread::Builder::new()
            .name(format!("drop {name}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("no runtime: {e}"))?;
                runtime.block_on(async {
                    tokio::time::timeout(DROP_LIMIT, drop_database(server, &admin, &name))
                        .await
                        .map_err(|_| format!("no answer within {DROP_LIMIT:?}"))?
                        .map_err(|e| e.to_string())
                })
            })
            .map_err(|e| format!("no thread: {e}"))
            .and_then(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("the dropping thread panicked".into()))
            });
        if let Err(why) = dropped {
            eprintln!(
                "WARNING: test database {} was not dropped ({why}); drop it by hand",
                self.name
            );
        }
    }
}

/// Drops the database, ending the sessions still connected to it first (a test that panicked
/// leaves its pools and the processes it started behind).
async fn drop_database(server: Server, admin: &str, name: &str) -> Result<(), sqlx::Error> {
    match server {
        Server::Postgres => {
            let mut c = sqlx::PgConnection::connect(admin).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut c)
            .await?;
            c.close().await
        }
        Server::MariaDb => {
            let mut c = sqlx::MySqlConnection::connect(admin).await?;
            // MariaDB has no FORCE: a session with an open transaction on the database would
            // hold the drop on a metadata lock.
            let sessions: Vec<(i64,)> = sqlx::query_as(
                "SELECT CAST(id AS SIGNED) FROM information_schema.processlist \
                 WHERE db = ? AND id <> CONNECTION_ID()",
            )
            .bind(name)
            .fetch_all(&mut c)
            .await?;
            for (id,) in sessions {
                // It may have ended meanwhile.
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}")))
                    .execute(&mut c)
                    .await;
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&mut c)
            .await?;
            c.close().await
        }
    }
}

/// The server URL with another database: base is scheme://user@host:port[/anything].
pub fn with_database(base: &str, db: &str) -> String {
    let (scheme, rest) = base.split_once("://").expect("a server url");
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{db}")
}
