//! Index rebuilds around bulk writes: a table's secondary indexes set aside while a large batch of rows goes in, and
//! built again from the finished table, all inside the publishing transaction.
//!
//! Measured on the 1M benchmark store (SQLite, 700k golden customers): inserting them with the
//! seven secondary indexes in place took 26.8 s; without them 5.5 s, and building the seven
//! afterwards 8.2 s. Inserting into an index in key order after a sort beats inserting in the
//! table's order, once the rows are many.
//!
//! SQLite only. A reader of a SQLite store in WAL mode keeps seeing the last committed snapshot,
//! indexes included, while the transaction runs; a PostgreSQL `DROP INDEX` would lock the
//! table against readers until the commit.

use crate::store::{Doing, StoreError};

/// A batch is bulk when it writes at least this many rows…
const BULK_MIN_ROWS: usize = 20_000;
/// …and at least this fraction of the rows the table already holds.
const BULK_MIN_SHARE: f64 = 0.5;

/// The statements that build a table's secondary indexes again.
#[must_use = "the indexes must be built again before the commit"]
pub(crate) struct SetAside {
    ddl: Vec<String>,
    /// Rows the bulk write brings.
    rows: usize,
}

/// Sets a table's secondary indexes aside for a bulk write, and builds them again after it;
/// implemented by each engine's connection.
pub(crate) trait BulkIndexes {
    /// Drops `table`'s secondary indexes (not the ones behind its keys and UNIQUE constraints)
    /// when `rows` rows are about to be written, and says how to build them again.
    async fn set_aside_indexes(
        &mut self,
        table: &'static str,
        rows: usize,
    ) -> Result<SetAside, StoreError>;

    /// Builds the indexes again, from the definitions the store held.
    async fn rebuild_indexes(&mut self, aside: SetAside) -> Result<(), StoreError>;
}

/// Runs the statements that build the indexes again, on `$conn`.
macro_rules! run_index_ddl {
    ($conn:expr, $ddl:expr) => {
        async {
            for sql in $ddl {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .execute(&mut *$conn)
                    .await
                    .doing("building indexes again after a bulk write")?;
            }
            Ok::<(), StoreError>(())
        }
        .await
    };
}

/// The page cache SQLite's sorter gets while it builds indexes. SQLite sorts in memory up to
/// the page cache's size, on one thread; past it, it sorts runs of that size on `PRAGMA threads`
/// helper threads and merges them. Measured on the 1M benchmark store (seven indexes on 700k
/// golden customers, 2 cores): 6.5 s with the usual 64 MiB cache, 3.2 s with 2 MiB and two
/// threads (4.5 s with 2 MiB and no helper thread: small runs also sort within the CPU cache).
/// On a smaller table the usual cache does as well, and shrinking it first costs the flush of
/// the pages it holds (100k benchmark: 0.48 s with the usual cache, 0.61 s with the small one).
const INDEX_BUILD_CACHE_KIB: i64 = 2048;
const SMALL_SORTER_MIN_ROWS: usize = 250_000;

impl BulkIndexes for sqlx::SqliteConnection {
    async fn set_aside_indexes(
        &mut self,
        table: &'static str,
        rows: usize,
    ) -> Result<SetAside, StoreError> {
        let nothing = SetAside {
            ddl: Vec::new(),
            rows,
        };
        if rows < BULK_MIN_ROWS {
            return Ok(nothing);
        }
        // Table names are ours (a `&'static str`), never input: a name can't be bound.
        let held: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM \"{table}\""
        )))
        .fetch_one(&mut *self)
        .await
        .doing("counting rows before a bulk write")?;
        if (rows as f64) < BULK_MIN_SHARE * held.0 as f64 {
            return Ok(nothing);
        }
        // `sql` is NULL for the indexes SQLite makes for keys and UNIQUE constraints.
        let indexes: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL ORDER BY name",
        )
        .bind(table)
        .fetch_all(&mut *self)
        .await
        .doing("reading index definitions before a bulk write")?;
        let mut ddl = Vec::with_capacity(indexes.len());
        for (name, sql) in indexes {
            let drop = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
            sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(&mut *self)
                .await
                .doing("setting indexes aside for a bulk write")?;
            ddl.push(sql);
        }
        tracing::debug!(
            table,
            rows,
            indexes = ddl.len(),
            "bulk write: indexes set aside"
        );
        Ok(SetAside { ddl, rows })
    }

    async fn rebuild_indexes(&mut self, aside: SetAside) -> Result<(), StoreError> {
        if aside.rows < SMALL_SORTER_MIN_ROWS {
            return run_index_ddl!(self, &aside.ddl);
        }
        let (cache,): (i64,) = sqlx::query_as("PRAGMA cache_size")
            .fetch_one(&mut *self)
            .await
            .doing("reading the page cache size")?;
        let helpers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        // Pragmas take no bound parameters; both values are numbers of ours.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA threads = {helpers}; PRAGMA cache_size = -{INDEX_BUILD_CACHE_KIB}"
        )))
        .execute(&mut *self)
        .await
        .doing("preparing the index sorter")?;
        let built = run_index_ddl!(self, &aside.ddl);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA threads = 0; PRAGMA cache_size = {cache}"
        )))
        .execute(&mut *self)
        .await
        .doing("restoring the page cache size")?;
        built
    }
}

impl BulkIndexes for sqlx::PgConnection {
    async fn set_aside_indexes(
        &mut self,
        _table: &'static str,
        rows: usize,
    ) -> Result<SetAside, StoreError> {
        Ok(SetAside {
            ddl: Vec::new(),
            rows,
        })
    }

    async fn rebuild_indexes(&mut self, aside: SetAside) -> Result<(), StoreError> {
        run_index_ddl!(self, &aside.ddl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn memory_store() -> sqlx::SqlitePool {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("memory db");
        for sql in [
            "CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT, b TEXT, UNIQUE (a, b))",
            "CREATE INDEX t_a ON t (a)",
            "CREATE INDEX t_b_ci ON t (LOWER(b))",
        ] {
            sqlx::query(sql).execute(&pool).await.expect("schema");
        }
        pool
    }

    async fn indexes(conn: &mut sqlx::SqliteConnection) -> Vec<(String, Option<String>)> {
        sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .fetch_all(conn)
            .await
            .expect("indexes")
    }

    #[tokio::test]
    async fn a_bulk_write_sets_secondary_indexes_aside_and_builds_them_again() {
        let pool = memory_store().await;
        let mut tx = pool.begin().await.expect("tx");
        let before = indexes(&mut tx).await;
        assert_eq!(before.len(), 4, "{before:?}");

        let aside = tx
            .set_aside_indexes("t", BULK_MIN_ROWS)
            .await
            .expect("set aside");
        let during = indexes(&mut tx).await;
        assert!(
            during.iter().all(|(_, sql)| sql.is_none()),
            "only the key and UNIQUE indexes stay: {during:?}"
        );
        assert_eq!(during.len(), 2);
        tx.rebuild_indexes(aside).await.expect("rebuild");
        assert_eq!(indexes(&mut tx).await, before);
        tx.commit().await.expect("commit");
    }

    #[tokio::test]
    async fn a_small_write_or_one_into_a_big_table_keeps_the_indexes() {
        let pool = memory_store().await;
        let mut tx = pool.begin().await.expect("tx");
        let aside = tx
            .set_aside_indexes("t", BULK_MIN_ROWS - 1)
            .await
            .expect("small");
        assert!(aside.ddl.is_empty());
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) \
             INSERT INTO t SELECT 'k' || i, 'a' || i, 'b' || i FROM n",
        )
        .execute(&mut *tx)
        .await
        .expect("rows");
        let aside = tx
            .set_aside_indexes("t", BULK_MIN_ROWS)
            .await
            .expect("into a big table");
        assert!(aside.ddl.is_empty(), "20k rows into 50k is not bulk");
        let aside = tx.set_aside_indexes("t", 30_000).await.expect("bulk");
        assert_eq!(aside.ddl.len(), 2);
        tx.rebuild_indexes(aside).await.expect("rebuild");
    }

    #[tokio::test]
    async fn a_large_table_is_indexed_with_the_small_sorter_and_gets_its_cache_back() {
        let pool = memory_store().await;
        let mut tx = pool.begin().await.expect("tx");
        sqlx::query("PRAGMA cache_size = -12345")
            .execute(&mut *tx)
            .await
            .expect("cache");
        let before = indexes(&mut tx).await;
        let mut aside = tx
            .set_aside_indexes("t", BULK_MIN_ROWS)
            .await
            .expect("set aside");
        // As if the write were large enough for the helper threads.
        aside.rows = SMALL_SORTER_MIN_ROWS;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) \
             INSERT INTO t SELECT 'k' || i, 'a' || (i % 977), 'B' || i FROM n",
        )
        .execute(&mut *tx)
        .await
        .expect("rows");
        tx.rebuild_indexes(aside).await.expect("rebuild");
        assert_eq!(indexes(&mut tx).await, before);
        let (cache,): (i64,) = sqlx::query_as("PRAGMA cache_size")
            .fetch_one(&mut *tx)
            .await
            .expect("cache");
        assert_eq!(cache, -12345, "the usual page cache is back");
        // The rebuilt index answers queries.
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM t INDEXED BY t_b_ci WHERE LOWER(b) = 'b77'")
                .fetch_one(&mut *tx)
                .await
                .expect("query");
        assert_eq!(n, 1);
        tx.commit().await.expect("commit");
    }
}
