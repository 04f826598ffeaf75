//! Connectors: stream a source system's rows, with their position, for the mapping stage.
//!
//! Every connector turns its source into batches of [`RawRow`]s (text cells by column) plus
//! [`BadRow`]s it could not even split into cells. Rows are streamed through a bounded channel,
//! so a 5 GB export never needs 5 GB of memory.

pub mod config;
mod csv_source;
mod db_error;
pub mod fingerprint;
mod sql_source;
pub mod watermark;

pub use config::{Connector, CsvSpec, LineEnding, Selection, SourceSpec, SqlSpec};
pub use watermark::{Overlap, Since};

use std::sync::Arc;
use tokio::sync::mpsc;

/// Rows per batch sent through the channel: large enough to amortise the hand-off, small enough
/// to keep memory flat.
pub const BATCH_ROWS: usize = 4096;
/// Batches in flight between a reader and the mapping stage.
const CHANNEL_BATCHES: usize = 8;

/// One row as text cells, in the order of [`SourceReader::columns`].
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub values: Vec<Option<String>>,
    /// File (for CSV) or table/query description (for databases).
    pub place: Arc<str>,
    /// Line in the file (CSV) or 1-based row number (databases).
    pub line: u64,
}

impl RawRow {
    /// `file.csv:12` or `table customers, row 12`.
    pub fn location(&self) -> String {
        format_location(&self.place, self.line)
    }
}

pub fn format_location(place: &str, line: u64) -> String {
    if place.starts_with("table ") || place.starts_with("query") {
        format!("{place}, row {line}")
    } else {
        format!("{place}:{line}")
    }
}

/// A row the connector could not turn into cells (wrong column count, undecodable bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    pub location: String,
    /// The row's text as far as it could be read (undecodable bytes replaced by U+FFFD).
    pub raw: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct RowBatch {
    pub rows: Vec<RawRow>,
    pub bad: Vec<BadRow>,
}

/// A source that failed as a whole: it fails alone, the others still sync.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    #[error("source {source_name}: no file matches {pattern} (check `path` in {config})")]
    NoFiles {
        source_name: String,
        pattern: String,
        config: String,
    },
    #[error("source {source_name}: cannot read {target}: {reason}")]
    Open {
        source_name: String,
        target: String,
        reason: String,
    },
    #[error("source {source_name}: cannot connect to {target}: {reason} (check `url` in {config} and that the server is up)")]
    Connect {
        source_name: String,
        target: String,
        reason: String,
        config: String,
    },
    #[error("source {source_name}: the query failed: {reason}")]
    Query { source_name: String, reason: String },
    #[error("source {source_name}: {place}: {reason}")]
    Read {
        source_name: String,
        place: String,
        reason: String,
    },
    /// The watermark pull does not fit the source (column missing, overlap of the wrong kind).
    #[error("source {source_name}: {reason}")]
    Watermark { source_name: String, reason: String },
    #[error("source {source_name}: {place}: {reason}")]
    Columns {
        source_name: String,
        place: String,
        reason: String,
    },
}

/// What a column holds, as far as the source says: a CSV export says nothing (all text); a
/// database column's declared type does. Typed values reach the mapping in one canonical text
/// form: dates as `%Y-%m-%d`, timestamps as `%Y-%m-%d %H:%M:%S` in UTC, numbers in plain
/// decimal, booleans as `true`/`false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Date,
    Timestamp,
    Number,
    Boolean,
}

impl ColumnType {
    /// The type for a database's type name (PostgreSQL, MySQL/MariaDB or SQLite's declared
    /// type); anything unknown is text.
    pub fn from_database(name: &str) -> ColumnType {
        let upper = name.to_ascii_uppercase();
        let base = upper.split(['(', ' ']).next().unwrap_or("");
        match base {
            "DATE" => ColumnType::Date,
            "TIMESTAMP" | "TIMESTAMPTZ" | "DATETIME" => ColumnType::Timestamp,
            "BOOL" | "BOOLEAN" => ColumnType::Boolean,
            "INT2" | "INT4" | "INT8" | "INTEGER" | "INT" | "TINYINT" | "SMALLINT" | "MEDIUMINT"
            | "BIGINT" | "NUMERIC" | "DECIMAL" | "FLOAT4" | "FLOAT8" | "FLOAT" | "DOUBLE"
            | "REAL" => ColumnType::Number,
            _ => ColumnType::Text,
        }
    }

    /// A date or a timestamp: date fields read it without `formats`.
    pub fn is_temporal(self) -> bool {
        matches!(self, ColumnType::Date | ColumnType::Timestamp)
    }
}

/// An open source: its columns, and a stream of row batches.
pub struct SourceReader {
    pub columns: Vec<String>,
    /// One per column.
    pub types: Vec<ColumnType>,
    /// Where the rows come from, for messages: a file pattern or `table customers`.
    pub place: String,
    pub batches: mpsc::Receiver<Result<RowBatch, SourceError>>,
    /// The lower bound of a watermark pull, as text; None when every row is read.
    pub since: Option<String>,
    /// Why a pull asked to start at a watermark reads every row instead.
    pub read_in_full_because: Option<String>,
}

/// Opens a source: files are found or the database is connected to before this returns, so that
/// a source that cannot be read at all fails here, with one clear error.
pub async fn open(connector: &Connector) -> Result<SourceReader, SourceError> {
    open_since(connector, None).await
}

/// Opens a source to read the rows changed since a committed watermark (a database source with
/// a `watermark`), or every row when `since` is None. A CSV export is always read whole.
pub async fn open_since(
    connector: &Connector,
    since: Option<&Since>,
) -> Result<SourceReader, SourceError> {
    match &connector.spec {
        SourceSpec::Csv(spec) => csv_source::open(connector, spec).await,
        SourceSpec::Sqlite(spec) => sql_source::open_sqlite(connector, spec, since).await,
        SourceSpec::Postgres(spec) => sql_source::open_postgres(connector, spec, since).await,
        SourceSpec::Mysql(spec) => sql_source::open_mysql(connector, spec, since).await,
    }
}

type BatchResult = Result<RowBatch, SourceError>;

fn channel() -> (mpsc::Sender<BatchResult>, mpsc::Receiver<BatchResult>) {
    mpsc::channel(CHANNEL_BATCHES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_type_names_become_column_types() {
        for (name, ty) in [
            ("DATE", ColumnType::Date),
            ("TIMESTAMPTZ", ColumnType::Timestamp),
            ("DATETIME", ColumnType::Timestamp),
            ("timestamp", ColumnType::Timestamp),
            ("DECIMAL", ColumnType::Number),
            ("NUMERIC", ColumnType::Number),
            ("INT UNSIGNED", ColumnType::Number),
            ("BOOLEAN", ColumnType::Boolean),
            ("VARCHAR", ColumnType::Text),
            ("NULL", ColumnType::Text),
        ] {
            assert_eq!(ColumnType::from_database(name), ty, "{name}");
        }
        assert!(ColumnType::Date.is_temporal() && !ColumnType::Number.is_temporal());
    }

    #[test]
    fn locations_read_naturally() {
        assert_eq!(format_location("exports/a.csv", 12), "exports/a.csv:12");
        assert_eq!(
            format_location("table customers", 3),
            "table customers, row 3"
        );
    }
}
