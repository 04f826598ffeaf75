//! The read API's look-ups on a SQLite store, run on the calling thread.
//!
//! sqlx gives each SQLite connection its own thread and hands it every statement over a channel;
//! for an indexed look-up of a few rows those two thread hand-offs cost more than SQLite itself,
//! and under load they set the API's tail latency. These reads open their own read-only
//! connections (the same SQLite library, through rusqlite) and run each statement where it is
//! asked. That blocks the async worker for the statement's length, which is what a look-up on
//! an index costs anyway: tens of microseconds, and never a lock wait, because WAL readers do not
//! wait for the writer. Every statement's SQL is the one the sqlx path runs.

use crate::golden::{GoldenColumn, GoldenFields, GoldenRecord};
use crate::record::SourceKey;
use crate::store::search::{
    document_conflicts, document_of, search_sql, CustomerDocument, CustomerSearch, DocumentRow,
    BY_GOLDEN_ID, BY_SOURCE_KEY, DOCUMENT_CONFLICTS,
};
use crate::store::{ConflictStatus, GoldenSummary, Store, StoreError};
use crate::text_enum::UnknownName;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rusqlite::{Connection, OpenFlags, Row};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Read-only SQLite connections to one store file, handed out one per concurrent caller.
#[derive(Debug)]
pub struct DirectReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

fn failed(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| match source {
        // A name this version does not know (a record kind…) in a column, as `Doing` says it.
        rusqlite::Error::FromSqlConversionFailure(index, _, e) if e.is::<UnknownName>() => {
            StoreError::Corrupt(format!("{e} in column {index}, while {doing}"))
        }
        source => StoreError::Direct { doing, source },
    }
}

impl DirectReads {
    /// For a SQLite store, its file opened read-only (one connection now, to fail early);
    /// None for any other engine.
    pub fn for_store(store: &Store) -> Result<Option<DirectReads>, StoreError> {
        let Store::Sqlite(pool) = store else {
            return Ok(None);
        };
        let reads = DirectReads {
            path: pool.connect_options().get_filename().to_path_buf(),
            idle: Mutex::new(Vec::new()),
        };
        let first = open(&reads.path)?;
        reads.give_back(first);
        Ok(Some(reads))
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(conn) => Ok(conn),
            None => open(&self.path),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }

    /// Runs `read` on an idle connection; a connection whose statement failed is dropped
    /// rather than reused.
    fn with_connection<T>(
        &self,
        doing: &'static str,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.take()?;
        let result = read(&conn).map_err(failed(doing))?;
        self.give_back(conn);
        Ok(result)
    }

    /// As [`Store::customer_document`].
    pub fn customer_document(&self, id: &str) -> Result<Option<CustomerDocument>, StoreError> {
        let rows = self.with_connection("reading a golden customer", |conn| {
            let mut stmt = conn.prepare_cached(&BY_GOLDEN_ID)?;
            let rows = stmt.query_map([id], document_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        self.with_conflicts(document_of(rows)?)
    }

    /// The document with its customer's field conflicts (an index look-up on golden ID).
    fn with_conflicts(
        &self,
        doc: Option<CustomerDocument>,
    ) -> Result<Option<CustomerDocument>, StoreError> {
        let Some(mut doc) = doc else {
            return Ok(None);
        };
        let rows = self.with_connection("reading a golden customer's field conflicts", |conn| {
            let mut stmt = conn.prepare_cached(DOCUMENT_CONFLICTS)?;
            let rows = stmt.query_map(
                [
                    doc.golden.golden_id.as_str(),
                    ConflictStatus::Resolved.as_str(),
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        doc.conflicts = document_conflicts(rows)?;
        Ok(Some(doc))
    }

    /// As [`Store::customer_document_by_key`].
    pub fn customer_document_by_key(
        &self,
        key: &SourceKey,
    ) -> Result<Option<CustomerDocument>, StoreError> {
        let rows = self.with_connection("reading a source record's golden customer", |conn| {
            let mut stmt = conn.prepare_cached(&BY_SOURCE_KEY)?;
            let rows = stmt.query_map([key.source.as_str(), key.key.as_str()], document_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        self.with_conflicts(document_of(rows)?)
    }

    /// As [`Store::search_customers`].
    pub fn search_customers(
        &self,
        search: &CustomerSearch,
        limit: i64,
    ) -> Result<Vec<GoldenSummary>, StoreError> {
        let Some((sql, texts)) = search_sql(search) else {
            return Ok(Vec::new());
        };
        self.with_connection("searching golden customers", |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut params: Vec<&dyn rusqlite::ToSql> =
                texts.iter().map(|t| t as &dyn rusqlite::ToSql).collect();
            params.push(&limit);
            let rows = stmt.query_map(params.as_slice(), summary_row)?;
            rows.collect()
        })
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::Open {
        url: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let tune = |conn: &Connection| -> rusqlite::Result<()> {
        conn.busy_timeout(Duration::from_secs(5))?;
        // As the sqlx read pool: map the file instead of a read() per page missed (SQLite's
        // own ceiling, SQLITE_MAX_MMAP_SIZE), and a 64 MiB page cache.
        conn.pragma_update(None, "mmap_size", 0x7fff_0000_i64)?;
        conn.pragma_update(None, "cache_size", -65536_i64)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(())
    };
    tune(&conn).map_err(failed("setting up a read connection"))?;
    Ok(conn)
}

/// A timestamp as sqlx writes one to SQLite (RFC 3339), or as SQLite's own CURRENT_TIMESTAMP.
fn timestamp(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(idx)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(&text, "%F %T%.f").map(|t| t.and_utc()))
        .map_err(|e| conversion(idx, e))
}

fn date(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<NaiveDate>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| NaiveDate::parse_from_str(&t, "%F").map_err(|e| conversion(idx, e)))
        .transpose()
}

/// One of a text enum's names (`text_enum!`), or NULL.
fn name<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>>
where
    T: std::str::FromStr<Err = UnknownName>,
{
    let text: Option<String> = row.get(idx)?;
    text.map(|t| t.parse().map_err(|e| conversion(idx, e)))
        .transpose()
}

fn conversion(idx: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
}

/// `asked_id`, the customer columns in `customer_columns()` order, then the linked record.
fn document_row(row: &Row<'_>) -> rusqlite::Result<DocumentRow> {
    let mut fields = GoldenFields::default();
    let first_field = 2;
    for (i, column) in GoldenColumn::ALL.into_iter().enumerate() {
        match fields.text_mut(column) {
            Some(text) => *text = row.get(first_field + i)?,
            None => fields.date_of_birth = date(row, first_field + i)?,
        }
    }
    let at = first_field + GoldenColumn::ALL.len();
    let golden = GoldenRecord {
        golden_id: row.get(1)?,
        fields,
        full_name: row.get(at)?,
        record_count: row.get(at + 1)?,
        customer_records: row.get(at + 2)?,
        billing_accounts: row.get(at + 3)?,
        orders: row.get(at + 4)?,
        created_run: row.get(at + 5)?,
        updated_run: row.get(at + 6)?,
        created_at: timestamp(row, at + 7)?,
        updated_at: timestamp(row, at + 8)?,
        lineage: row.get(at + 9)?,
    };
    Ok(DocumentRow {
        asked_id: row.get(0)?,
        golden,
        source: row.get(at + 10)?,
        record_key: row.get(at + 11)?,
        record_kind: name(row, at + 12)?,
        record: row.get(at + 13)?,
    })
}

/// The columns of `SUMMARY_COLUMNS`, in order.
fn summary_row(row: &Row<'_>) -> rusqlite::Result<GoldenSummary> {
    Ok(GoldenSummary {
        golden_id: row.get(0)?,
        full_name: row.get(1)?,
        date_of_birth: date(row, 2)?,
        email: row.get(3)?,
        phone: row.get(4)?,
        city: row.get(5)?,
        postcode: row.get(6)?,
        record_count: row.get(7)?,
        billing_accounts: row.get(8)?,
        orders: row.get(9)?,
    })
}
