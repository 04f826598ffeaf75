//! The CRM store: golden customers, their lineage and cross-reference, linked accounts and
//! orders, staged source records, rejects and sync runs.
//!
//! SQLite (one file, created on first run) by default; PostgreSQL when the URL says so. Both
//! have the same schema, applied by sqlx migrations, and every query here is written once with
//! `$n` parameters, which both engines accept.

mod chunked_writes;
mod conflicts;
mod events;
mod golden_slices;
mod inputs;
mod like;
mod lock;
mod matching_models;
mod publish;
mod publish_steps;
mod read;
mod search;
mod sqlite;
mod steward;

pub use conflicts::{ConflictItem, ConflictStatus};
pub(crate) use events::insert_events;
pub use events::{lineage_changes, GoldenEvent};
pub use inputs::PublishedInputs;
pub use lock::{LockGuard, SYNC_LOCK};
pub use publish::{
    PairRow, PairWrite, Publication, QualityFinding, RejectRow, ReviewItemRow, RunFinish,
    SourceOutcome,
};
pub use read::{
    FindingCount, FindingView, GoldenSummary, GoldenView, LinkedRecord, RejectView, RunSourceView,
    RunView, StoredPair,
};
pub use search::{
    CustomerDocument, CustomerSearch, DocumentConflict, LookupSample, RawLinkedRecord,
};
pub use sqlite::{use_global_allocator_for_sqlite, DirectReads};
pub use steward::{
    AuditRecord, LinkDecision, LinkKind, PinDecision, ReviewItem, ReviewStatus, StewardAction,
    StewardChange,
};

// Every store module stamps its writes with the one clock.
use crate::clock::now;
use crate::text_enum::UnknownName;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions;
use std::str::FromStr;
use std::time::Duration;

/// Runs `$body` with `$pool` bound to whichever pool the store has; the body is compiled once per
/// engine, so the SQL in it must suit both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite($pool) => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store url {0:?} is not supported: use sqlite://path/to/file.db or postgres://host/db"
    )]
    BadUrl(String),
    #[error("cannot open the store at {url}: {reason}")]
    Open { url: String, reason: String },
    #[error("cannot bring the store schema at {url} up to date: {reason}")]
    Migrate { url: String, reason: String },
    #[error("the store failed while {doing}: {source}")]
    Query {
        doing: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("the store failed while {doing}: {source}")]
    Direct {
        doing: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("another run ({holder}) is syncing into this store until {until}; wait for it, or for its lease to expire")]
    Locked { holder: String, until: String },
    #[error(
        "the store holds data this version cannot read ({0}); was it written by a newer gild?"
    )]
    Corrupt(String),
}

/// Adds "while doing X" to a sqlx error.
pub(crate) trait Doing<T> {
    fn doing(self, what: &'static str) -> Result<T, StoreError>;
}

impl<T> Doing<T> for Result<T, sqlx::Error> {
    fn doing(self, what: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| match source {
            // A name this version does not know (a status, a decision…) in a column.
            sqlx::Error::ColumnDecode { index, source } if source.is::<UnknownName>() => {
                StoreError::Corrupt(format!("{source} in column {index}, while {what}"))
            }
            source => StoreError::Query {
                doing: what,
                source,
            },
        })
    }
}

#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Pool settings: a sync's defaults, or a reader's for many small concurrent queries.
#[derive(Debug, Clone, Copy)]
struct PoolTuning {
    sqlite_connections: u32,
    postgres_connections: u32,
    /// Ping each connection as it leaves the pool: one more round trip per query, worth it
    /// for long jobs over a network, not for a local reader doing thousands of look-ups a second.
    test_before_acquire: bool,
    /// SQLite `mmap_size`: a reader maps the file instead of a read() call per page missed.
    sqlite_mmap_bytes: Option<u64>,
}

/// How often, and how far apart, opening a new SQLite store is tried when another process is
/// creating the same store at that moment.
const SQLITE_OPEN_ATTEMPTS: u32 = 5;
const SQLITE_RETRY_AFTER: Duration = Duration::from_millis(200);

/// Runs `attempt` until it succeeds, fails with an error `racing` does not accept, or has been
/// tried `SQLITE_OPEN_ATTEMPTS` times: for steps another process creating the same new SQLite
/// store at that moment can make fail.
async fn retry_while_racing<
    T,
    E: std::fmt::Display,
    F: std::future::Future<Output = Result<T, E>>,
>(
    doing: &str,
    mut attempt: impl FnMut() -> F,
    racing: impl Fn(&E) -> bool,
) -> Result<T, E> {
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(e) if tried < SQLITE_OPEN_ATTEMPTS && racing(&e) => {
                tracing::debug!(error = %e, tried, "{doing} raced another process; again");
                tried += 1;
                tokio::time::sleep(SQLITE_RETRY_AFTER).await;
            }
            done => return done,
        }
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED, whatever the extended code.
fn sqlite_busy(e: &dyn sqlx::error::DatabaseError) -> bool {
    let primary = e
        .code()
        .and_then(|c| c.parse::<i32>().ok())
        .map(|c| c & 0xff);
    matches!(primary, Some(5 | 6))
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the store.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let tuning = PoolTuning {
            sqlite_connections: 4,
            postgres_connections: 8,
            test_before_acquire: true,
            sqlite_mmap_bytes: None,
        };
        Self::open(url, tuning).await
    }

    /// Opens the store for a reader serving many small concurrent queries (`gild serve`):
    /// `connections` in the pool, no ping on every acquire.
    pub async fn connect_for_reads(url: &str, connections: u32) -> Result<Store, StoreError> {
        let tuning = PoolTuning {
            sqlite_connections: connections.max(1),
            postgres_connections: connections.max(1),
            test_before_acquire: false,
            // SQLite's own ceiling (SQLITE_MAX_MMAP_SIZE); files beyond it are partly mapped.
            sqlite_mmap_bytes: Some(0x7fff_0000),
        };
        Self::open(url, tuning).await
    }

    async fn open(url: &str, tuning: PoolTuning) -> Result<Store, StoreError> {
        let redacted = crate::redact::redact_url(url);
        let store = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Open {
                    url: redacted.clone(),
                    reason: e.to_string(),
                })?
                .create_if_missing(true)
                // For a store created now (an existing file keeps its own): a publish writes and
                // indexes gigabytes, and 16 KiB pages mean a quarter of the page reads and writes.
                .page_size(16_384)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .pragma("cache_size", "-65536")
                // Statements bind customer data and bulk writes are slow by nature: neither
                // belongs in the log.
                .disable_statement_logging();
            let options = match tuning.sqlite_mmap_bytes {
                Some(bytes) => options.pragma("mmap_size", bytes.to_string()),
                None => options,
            };
            if let Some(parent) = options.get_filename().parent() {
                if !parent.as_os_str().is_empty() && !parent.exists() {
                    std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                        url: redacted.clone(),
                        reason: format!("cannot create folder {}: {e}", parent.display()),
                    })?;
                }
            }
            let pool_options = SqlitePoolOptions::new()
                .max_connections(tuning.sqlite_connections)
                .test_before_acquire(tuning.test_before_acquire);
            // Two processes creating the same new store at once (a worker and `gild runs`)
            // race for its first locks: switching a new file to WAL mode answers the loser
            // SQLITE_BUSY at once, without waiting for the busy timeout.
            let pool = retry_while_racing(
                "opening the store",
                || pool_options.clone().connect_with(options.clone()),
                |e| matches!(e, sqlx::Error::Database(e) if sqlite_busy(&**e)),
            )
            .await
            .map_err(|e| StoreError::Open {
                url: redacted.clone(),
                reason: e.to_string(),
            })?;
            Store::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = sqlx::postgres::PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Open {
                    url: redacted.clone(),
                    reason: e.to_string(),
                })?
                .disable_statement_logging();
            let pool = PgPoolOptions::new()
                .max_connections(tuning.postgres_connections)
                .test_before_acquire(tuning.test_before_acquire)
                .acquire_timeout(Duration::from_secs(15))
                .connect_with(options)
                .await
                .map_err(|e| StoreError::Open {
                    url: redacted.clone(),
                    reason: e.to_string(),
                })?;
            Store::Postgres(pool)
        } else {
            return Err(StoreError::BadUrl(redacted));
        };
        store.migrate(&redacted).await?;
        Ok(store)
    }

    async fn migrate(&self, redacted: &str) -> Result<(), StoreError> {
        let fail = |e: sqlx::migrate::MigrateError| StoreError::Migrate {
            url: redacted.to_string(),
            reason: e.to_string(),
        };
        match self {
            Store::Sqlite(pool) => {
                let mut m = sqlx::migrate!("src/store/migrations/sqlite");
                // Our own table name, so that other sqlx users of the same database never clash.
                m.dangerous_set_table_name("gild_migrations");
                // sqlx takes no lock around SQLite migrations: two processes opening a new store
                // at once (a worker and `gild runs`) both find a migration missing, and the one
                // that applies it second fails ("table ... already exists", its transaction rolled
                // back). Run again, it finds the migration applied by the other.
                retry_while_racing(
                    "migrating the store",
                    || m.run(pool),
                    |e| {
                        matches!(
                            e,
                            sqlx::migrate::MigrateError::Execute(_)
                                | sqlx::migrate::MigrateError::ExecuteMigration(..)
                        )
                    },
                )
                .await
                .map_err(fail)
            }
            Store::Postgres(pool) => {
                let mut m = sqlx::migrate!("src/store/migrations/postgres");
                m.dangerous_set_table_name("gild_migrations");
                m.run(pool).await.map_err(fail)
            }
        }
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

#[cfg(test)]
mod tests;
