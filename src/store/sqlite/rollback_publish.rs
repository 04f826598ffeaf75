//! The connection a run publishes on. A large publish into a SQLite store that nothing else has
//! open is written in rollback-journal mode, and the store goes back to WAL after it.
//!
//! In WAL mode every page of a transaction larger than the page cache is written twice (to the
//! WAL as the cache spills, then into the database at the checkpoint), and pages that spilled
//! are looked up in the WAL again as the B-trees grow. A rollback journal only keeps the old
//! content of pages that already existed, so pages appended to the file are written once.
//! Measured with the sqlite3 shell, copying the 1M benchmark store's golden customers and events
//! (1.8 GB) into a new file in one transaction: 23.2 s in WAL mode, 10.6 s in rollback mode.
//!
//! Leaving WAL needs every other connection to the file closed, so the switch is only tried, with
//! no wait: while anyone else has the store open (`gild serve`, a steward), the publish stays in
//! WAL mode and their reads go on. A reader that opens the store during a rollback-mode publish
//! waits for its commit (or its busy timeout).
//!
//! While a rollback-mode publish runs, a helper thread flushes the file's written pages to disk
//! every second. The kernel would otherwise hold them all (gigabytes on the 1M benchmark) until
//! the commit's fsync, and the disk would sit idle until then and then stall the commit. This
//! costs nothing in safety: SQLite only writes a page into the file once the page's old content
//! is safe in the journal, and the helper flushes through a SQLite connection of its own, never
//! a file handle of ours. On POSIX, closing any descriptor of a file releases every lock the
//! process holds on it: a handle of ours closed while the publish's transaction is open (a
//! failed flush, a failed publish whose rollback is still queued) would let another process
//! find the journal hot and roll it back under the writer. SQLite keeps the descriptor of a
//! connection closed at such a moment open until the file's last lock in the process is gone.

use crate::store::{Doing, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Sqlite};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// A publish at least this large tries rollback-journal mode.
const ROLLBACK_MIN_ROWS: usize = 20_000;

/// The connection a run publishes on, and whether the store must go back to WAL mode after it.
pub(crate) struct Publishing<DB: sqlx::Database> {
    pub conn: PoolConnection<DB>,
    rollback_journal: bool,
    writeback: Option<EarlyWriteback>,
}

/// How often the pages a publish has written are flushed to disk while it runs.
const WRITEBACK_EVERY: Duration = Duration::from_secs(1);

/// A thread flushing a file's written pages to disk until it is dropped.
struct EarlyWriteback {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EarlyWriteback {
    fn start(path: &Path) -> Option<EarlyWriteback> {
        let file = StoreFile::open(path)
            .map_err(|e| tracing::debug!(error = %e, "early writeback not started"))
            .ok()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("gild-writeback".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(WRITEBACK_EVERY)
                {
                    // Only an early start of what the commit does anyway: a failure here
                    // shows again, and counts, at the commit.
                    if let Err(e) = file.flush() {
                        tracing::debug!(error = %e, "early writeback failed");
                        return;
                    }
                }
            })
            .map_err(|e| tracing::debug!(error = %e, "early writeback not started"))
            .ok()?;
        Some(EarlyWriteback {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for EarlyWriteback {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // At most one flush long; the commit has flushed the same pages already.
            let _ = thread.join();
        }
    }
}

/// The store file, opened by a SQLite connection that runs no statement (so takes no lock):
/// its descriptor is SQLite's, and closing it is safe at any moment (see the module's comment).
struct StoreFile(rusqlite::Connection);

impl StoreFile {
    fn open(path: &Path) -> rusqlite::Result<StoreFile> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        rusqlite::Connection::open_with_flags(path, flags).map(StoreFile)
    }

    /// Flushes the file's written pages to disk: the VFS's own sync of the connection's file
    /// (an fsync, as at SQLite's commit).
    fn flush(&self) -> rusqlite::Result<()> {
        use rusqlite::ffi;
        let failed = |code| rusqlite::Error::SqliteFailure(ffi::Error::new(code), None);
        let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
        // SAFETY: the handle is this open connection's, used by one thread at a time (a
        // Connection is not Sync); FILE_POINTER writes a `sqlite3_file *` into `file`.
        let rc = unsafe {
            ffi::sqlite3_file_control(
                self.0.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&raw mut file).cast(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(failed(rc));
        }
        // SAFETY: SQLite opens the database file with the connection and keeps the object (and
        // its methods) until the connection closes; an unopened file has no methods.
        let sync = unsafe { file.as_ref() }
            .and_then(|f| unsafe { f.pMethods.as_ref() })
            .and_then(|methods| methods.xSync)
            .ok_or_else(|| failed(ffi::SQLITE_CANTOPEN))?;
        // SAFETY: `file` is this connection's open file, which only this thread uses.
        match unsafe { sync(file, ffi::SQLITE_SYNC_NORMAL | ffi::SQLITE_SYNC_DATAONLY) } {
            ffi::SQLITE_OK => Ok(()),
            rc => Err(failed(rc)),
        }
    }
}

impl<DB: sqlx::Database> Publishing<DB> {
    pub fn rollback_journal(&self) -> bool {
        self.rollback_journal
    }
}

/// Implemented by each engine's pool.
pub(crate) trait PublishingPool<DB: sqlx::Database> {
    /// A connection to publish `rows` rows on.
    async fn publishing(&self, rows: usize) -> Result<Publishing<DB>, StoreError>;
    /// Puts the store back as it was before [`publishing`](Self::publishing).
    async fn done_publishing(&self, publishing: Publishing<DB>);
}

/// How long a publish waits for this pool's other connections to come back idle.
const OWN_CONNECTIONS_WAIT: Duration = Duration::from_millis(500);

/// Closes this pool's other connections, which would keep the switch from happening. A
/// connection dropped a moment ago goes back to the pool on a task of its own, so it may not be
/// idle yet: wait for it briefly, then go on (the switch fails and the publish stays in WAL mode
/// if one is still held).
async fn close_own_connections(pool: &sqlx::SqlitePool) {
    let deadline = std::time::Instant::now() + OWN_CONNECTIONS_WAIT;
    loop {
        while let Some(idle) = pool.try_acquire() {
            if let Err(e) = idle.close().await {
                tracing::debug!(error = %e, "closing an idle store connection failed");
            }
        }
        // The publishing connection itself is the one left.
        if pool.size() <= 1 || std::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

impl PublishingPool<Sqlite> for sqlx::SqlitePool {
    async fn publishing(&self, rows: usize) -> Result<Publishing<Sqlite>, StoreError> {
        let mut conn = self
            .acquire()
            .await
            .doing("opening a connection to publish on")?;
        if rows < ROLLBACK_MIN_ROWS {
            return Ok(Publishing {
                conn,
                rollback_journal: false,
                writeback: None,
            });
        }
        close_own_connections(self).await;
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut *conn)
            .await
            .doing("preparing to publish")?;
        let switched: Result<(String,), sqlx::Error> =
            sqlx::query_as("PRAGMA journal_mode = DELETE")
                .fetch_one(&mut *conn)
                .await;
        sqlx::query("PRAGMA busy_timeout = 30000")
            .execute(&mut *conn)
            .await
            .doing("preparing to publish")?;
        let rollback_journal = match switched {
            Ok((mode,)) => mode.eq_ignore_ascii_case("delete"),
            Err(e) => {
                tracing::info!(
                    reason = %e,
                    "the store is open elsewhere: publishing in WAL mode"
                );
                false
            }
        };
        if rollback_journal {
            // NORMAL is safe with WAL only; a rollback journal needs FULL to survive a power cut.
            sqlx::query("PRAGMA synchronous = FULL")
                .execute(&mut *conn)
                .await
                .doing("preparing to publish")?;
            tracing::debug!(rows, "publishing in rollback-journal mode");
        }
        let writeback = if rollback_journal {
            EarlyWriteback::start(self.connect_options().get_filename())
        } else {
            None
        };
        Ok(Publishing {
            conn,
            rollback_journal,
            writeback,
        })
    }

    async fn done_publishing(&self, mut publishing: Publishing<Sqlite>) {
        drop(publishing.writeback.take());
        if !publishing.rollback_journal {
            return;
        }
        let conn = &mut *publishing.conn;
        let back: Result<(String,), sqlx::Error> = async {
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut *conn)
                .await?;
            sqlx::query_as("PRAGMA journal_mode = WAL")
                .fetch_one(&mut *conn)
                .await
        }
        .await;
        match back {
            Ok((mode,)) if mode.eq_ignore_ascii_case("wal") => {}
            // Every connection the store opens asks for WAL mode again, so this heals itself.
            other => {
                tracing::warn!(result = ?other, "the store did not go back to WAL mode after publishing");
                publishing.conn.close_on_drop();
            }
        }
    }
}

impl PublishingPool<Postgres> for sqlx::PgPool {
    async fn publishing(&self, _rows: usize) -> Result<Publishing<Postgres>, StoreError> {
        let conn = self
            .acquire()
            .await
            .doing("opening a connection to publish on")?;
        Ok(Publishing {
            conn,
            rollback_journal: false,
            writeback: None,
        })
    }

    async fn done_publishing(&self, _publishing: Publishing<Postgres>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn file_pool(dir: &std::path::Path) -> sqlx::SqlitePool {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("store.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .expect("pool")
    }

    async fn journal_mode(conn: &mut sqlx::SqliteConnection) -> String {
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(conn)
            .await
            .expect("journal mode");
        mode
    }

    #[tokio::test]
    async fn a_large_publish_alone_uses_a_rollback_journal_then_wal_again() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = file_pool(dir.path()).await;
        // Idle connections of the same pool do not stand in the way: they are closed.
        let (a, b) = (
            pool.acquire().await.expect("a"),
            pool.acquire().await.expect("b"),
        );
        drop((a, b));
        let mut publishing = pool
            .publishing(ROLLBACK_MIN_ROWS)
            .await
            .expect("publishing");
        assert!(publishing.rollback_journal());
        assert!(
            publishing.writeback.is_some(),
            "pages are flushed as they are written"
        );
        assert_eq!(journal_mode(&mut publishing.conn).await, "delete");
        pool.done_publishing(publishing).await;
        let mut conn = pool.acquire().await.expect("conn");
        assert_eq!(journal_mode(&mut conn).await, "wal");
    }

    /// Names the store file to [`lock_probe`] in the child process it runs in.
    const PROBE_ENV: &str = "GILD_TEST_LOCK_PROBE";

    /// Whether another process could begin writing the store now. POSIX locks belong to a
    /// process, so only another process tells: this test binary's [`lock_probe`], run alone.
    fn free_for_another_writer(path: &std::path::Path) -> bool {
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "store::sqlite::rollback_publish::tests::lock_probe",
                "--ignored",
                "--nocapture",
            ])
            .env(PROBE_ENV, path)
            .output()
            .expect("the probe runs");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "the probe failed: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        match (
            said.contains("LOCK PROBE: free"),
            said.contains("LOCK PROBE: held"),
        ) {
            (true, false) => true,
            (false, true) => false,
            _ => panic!("the probe did not say: {said}"),
        }
    }

    /// Tries, without waiting, to take the write lock of the store named by `PROBE_ENV`.
    #[test]
    #[ignore = "run in a child process by free_for_another_writer"]
    fn lock_probe() {
        let Some(path) = std::env::var_os(PROBE_ENV) else {
            return;
        };
        let conn = rusqlite::Connection::open(path).expect("open the store");
        conn.busy_timeout(Duration::ZERO).expect("no wait");
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                println!("LOCK PROBE: free");
                conn.execute_batch("ROLLBACK").expect("rollback");
            }
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                println!("LOCK PROBE: held")
            }
            Err(e) => panic!("probing the lock: {e}"),
        }
    }

    /// The early writeback must never drop the publishing connection's locks: on POSIX,
    /// closing any descriptor of the file releases every lock the process holds on it, and
    /// another process would find the publish's journal hot and roll it back under the writer.
    #[tokio::test]
    async fn the_writer_keeps_its_lock_when_the_writeback_stops_mid_transaction() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("store.db");
        let pool = file_pool(dir.path()).await;
        sqlx::query("CREATE TABLE t (x TEXT)")
            .execute(&pool)
            .await
            .expect("table");
        assert!(free_for_another_writer(&path), "nobody writes yet");

        let mut publishing = pool
            .publishing(ROLLBACK_MIN_ROWS)
            .await
            .expect("publishing");
        assert!(publishing.rollback_journal());
        let mut tx = sqlx::Connection::begin(&mut *publishing.conn)
            .await
            .expect("begin");
        sqlx::query("INSERT INTO t VALUES ('written')")
            .execute(&mut *tx)
            .await
            .expect("a row");
        // The publish fails half-way: its transaction is open until its rollback has run.
        sqlx::query("INSERT INTO missing VALUES (1)")
            .execute(&mut *tx)
            .await
            .expect_err("no such table");
        assert!(
            !free_for_another_writer(&path),
            "the open transaction holds the write lock"
        );
        // A flush now, then the writeback stops, as after a failed flush or at the end of a
        // publish: the descriptors it flushed through close.
        let file = StoreFile::open(&path).expect("open");
        file.flush().expect("flushed mid-transaction");
        drop(file);
        drop(publishing.writeback.take());
        assert!(
            !free_for_another_writer(&path),
            "another process could write (or roll back the hot journal) under the open transaction"
        );

        tx.rollback().await.expect("rollback");
        pool.done_publishing(publishing).await;
        assert!(
            free_for_another_writer(&path),
            "free once the publish is over"
        );
    }

    #[tokio::test]
    async fn the_store_file_is_flushed_through_sqlite() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = file_pool(dir.path()).await;
        let mut conn = pool.acquire().await.expect("conn");
        assert_eq!(journal_mode(&mut conn).await, "wal");
        let file = StoreFile::open(&dir.path().join("store.db")).expect("open");
        file.flush().expect("flushed");
        let missing = StoreFile::open(&dir.path().join("missing.db"));
        assert!(missing.is_err(), "a store that is not there is not created");
    }

    #[tokio::test]
    async fn a_publish_stays_in_wal_mode_while_another_connection_is_open() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = file_pool(dir.path()).await;
        // A reader elsewhere (another process, here another pool) holding the store open.
        let reader = file_pool(dir.path()).await;
        let _held = reader.acquire().await.expect("reader");
        let started = std::time::Instant::now();
        let mut publishing = pool
            .publishing(ROLLBACK_MIN_ROWS)
            .await
            .expect("publishing");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the switch is tried without waiting"
        );
        assert!(!publishing.rollback_journal());
        assert_eq!(journal_mode(&mut publishing.conn).await, "wal");
        pool.done_publishing(publishing).await;

        let small = pool.publishing(ROLLBACK_MIN_ROWS - 1).await.expect("small");
        assert!(!small.rollback_journal());
        pool.done_publishing(small).await;
    }
}
