//! Database sources through sqlx: SQLite files, PostgreSQL, MySQL and MariaDB.
//!
//! Legacy schemas use every column type there is; each cell is turned into text here so that
//! the mapping stage sees one shape whatever the database.

use super::db_error::describe;
use super::watermark::{lower_bound, select_since, Bound, Engine, NoBound, Since};
use super::{
    channel, format_location, BadRow, ColumnType, Connector, RawRow, RowBatch, Selection,
    SourceError, SourceReader, SqlSpec, BATCH_ROWS,
};
use crate::redact::redact_url;
use futures::StreamExt;
use sqlx::{Column, Connection, Executor, Row, Statement, TypeInfo, ValueRef};
use std::sync::Arc;
use std::time::Duration;

/// A legacy server that does not answer should fail its source quickly, not hang the run.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn select_sql(spec: &SqlSpec) -> (String, String) {
    match &spec.selection {
        // The table name was checked to be a plain identifier when the config was loaded.
        Selection::Table(t) => (format!("SELECT * FROM {t}"), format!("table {t}")),
        Selection::Query(q) => (q.clone(), "query".to_string()),
    }
}

fn connect_error(connector: &Connector, url: &str, reason: String) -> SourceError {
    SourceError::Connect {
        source_name: connector.name.clone(),
        target: redact_url(url),
        reason,
        config: connector.file.display().to_string(),
    }
}

fn query_error(connector: &Connector, e: &sqlx::Error) -> SourceError {
    SourceError::Query {
        source_name: connector.name.clone(),
        reason: describe(e),
    }
}

/// The lower bound of a watermark pull for the columns the base select returns: None to read
/// every row (no watermark asked for, or a recorded value gild cannot read back, said in the
/// second item); an error when the configuration does not fit the source.
fn plan_since(
    connector: &Connector,
    engine: Engine,
    since: Option<&Since>,
    columns: &[String],
    type_names: &[String],
    place: &str,
) -> Result<(Option<Bound>, Option<String>), SourceError> {
    let Some(since) = since else {
        return Ok((None, None));
    };
    let fail = |reason: String| SourceError::Watermark {
        source_name: connector.name.clone(),
        reason,
    };
    let Some(i) = columns.iter().position(|c| *c == since.column) else {
        return Err(fail(format!(
            "the watermark column {:?} is not among the columns of the {place}; select it, or remove `watermark` from {}",
            since.column,
            connector.file.display()
        )));
    };
    let config = connector.file.display().to_string();
    match lower_bound(engine, &type_names[i], since, &config) {
        Ok(b) => Ok((Some(b), None)),
        Err(NoBound::Config(reason)) => Err(fail(reason)),
        Err(NoBound::Unreadable(reason)) => {
            tracing::warn!(source = %connector.name, %reason, "reading every row");
            Ok((None, Some(reason)))
        }
    }
}

/// Binds a watermark bound to a query, typed as it is.
macro_rules! bind_bound {
    ($query:expr, $bound:expr) => {
        match $bound {
            Bound::Int(v) => $query.bind(v),
            Bound::Text(v) => $query.bind(v),
            Bound::Timestamp(v) => $query.bind(v),
            Bound::TimestampUtc(v) => $query.bind(v),
            Bound::Date(v) => $query.bind(v),
        }
    };
}

macro_rules! open_with {
    ($conn_ty:ty, $engine:expr, $connector:expr, $spec:expr, $since:expr, $cell:path) => {{
        let connector: &Connector = $connector;
        let spec: &SqlSpec = $spec;
        let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, <$conn_ty>::connect(&spec.url))
            .await
            .map_err(|_| connect_error(connector, &spec.url, "timed out".into()))?
            .map_err(|e| connect_error(connector, &spec.url, describe(&e)))?;
        let (sql, place) = select_sql(spec);
        // Prepare first: the column names are needed to check the mapping before any row is read,
        // and a bad table or query fails the source here.
        let (columns, type_names): (Vec<String>, Vec<String>) = {
            let stmt = conn
                .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(
                    sql.clone(),
                )))
                .await
                .map_err(|e| query_error(connector, &e))?;
            stmt.columns()
                .iter()
                .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
                .unzip()
        };
        let types: Vec<ColumnType> = type_names
            .iter()
            .map(|t| ColumnType::from_database(t))
            .collect();
        let (bound, read_in_full_because) =
            plan_since(connector, $engine, $since, &columns, &type_names, &place)?;
        let sql = match (&bound, $since) {
            (Some(_), Some(since)) => {
                select_since($engine, &sql, &since.column).ok_or_else(|| {
                    SourceError::Watermark {
                        source_name: connector.name.clone(),
                        reason: format!("the watermark column {:?} cannot be quoted", since.column),
                    }
                })?
            }
            _ => sql,
        };
        let since_text = bound.as_ref().map(|b| b.to_string());
        let (tx, rx) = channel();
        let source_name = connector.name.clone();
        let names = columns.clone();
        let place_arc: Arc<str> = Arc::from(place.as_str());
        tokio::spawn(async move {
            let mut rows = match bound {
                None => conn.fetch(sqlx::AssertSqlSafe(sql)),
                Some(b) => bind_bound!(sqlx::query(sqlx::AssertSqlSafe(sql)), b).fetch(&mut conn),
            };
            let mut batch = RowBatch::default();
            let mut line: u64 = 0;
            while let Some(row) = rows.next().await {
                line += 1;
                let row = match row {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx
                            .send(Err(SourceError::Read {
                                source_name: source_name.clone(),
                                place: format_location(&place_arc, line),
                                reason: describe(&e),
                            }))
                            .await;
                        return;
                    }
                };
                let mut values = Vec::with_capacity(names.len());
                let mut failure = None;
                for i in 0..names.len() {
                    match $cell(&row, i) {
                        Ok(v) => values.push(v),
                        Err(reason) => {
                            failure = Some(format!("column {:?}: {reason}", names[i]));
                            values.push(None);
                        }
                    }
                }
                match failure {
                    None => batch.rows.push(RawRow {
                        values,
                        place: place_arc.clone(),
                        line,
                    }),
                    Some(reason) => batch.bad.push(BadRow {
                        location: format_location(&place_arc, line),
                        raw: render(&names, &values),
                        reason,
                    }),
                }
                if batch.rows.len() + batch.bad.len() >= BATCH_ROWS
                    && tx.send(Ok(std::mem::take(&mut batch))).await.is_err()
                {
                    return;
                }
            }
            if !(batch.rows.is_empty() && batch.bad.is_empty()) {
                let _ = tx.send(Ok(batch)).await;
            }
        });
        Ok(SourceReader {
            columns,
            types,
            place,
            batches: rx,
            since: since_text,
            read_in_full_because,
        })
    }};
}

/// Runs one aggregate query returning (row count, highest watermark as text); None when the
/// source cannot be reached or the query fails (the sync that follows reads the source and
/// reports why).
pub(super) async fn aggregate(
    connector: &Connector,
    spec: &SqlSpec,
    sql: &str,
) -> Option<(i64, Option<String>)> {
    if let super::SourceSpec::Sqlite(_) = connector.spec {
        if !sqlite_path(&spec.url).is_some_and(|p| std::path::Path::new(&p).exists()) {
            return None;
        }
    }
    macro_rules! run {
        ($conn_ty:ty) => {{
            let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, <$conn_ty>::connect(&spec.url))
                .await
                .ok()?
                .ok()?;
            let row: Result<(i64, Option<String>), _> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
                    .fetch_one(&mut conn)
                    .await;
            let _ = conn.close().await;
            match row {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::debug!(error = %describe(&e), source = %connector.name, "no fingerprint");
                    None
                }
            }
        }};
    }
    match connector.spec {
        super::SourceSpec::Sqlite(_) => run!(sqlx::SqliteConnection),
        super::SourceSpec::Postgres(_) => run!(sqlx::PgConnection),
        super::SourceSpec::Mysql(_) => run!(sqlx::MySqlConnection),
        super::SourceSpec::Csv(_) => None,
    }
}

pub(super) async fn open_sqlite(
    connector: &Connector,
    spec: &SqlSpec,
    since: Option<&Since>,
) -> Result<SourceReader, SourceError> {
    // A source is read, never written: refuse to create a missing SQLite file.
    if let Some(path) = sqlite_path(&spec.url) {
        if !std::path::Path::new(&path).exists() {
            return Err(SourceError::Open {
                source_name: connector.name.clone(),
                target: path,
                reason: format!(
                    "no such database file (check `url` in {})",
                    connector.file.display()
                ),
            });
        }
    }
    open_with!(
        sqlx::SqliteConnection,
        Engine::Sqlite,
        connector,
        spec,
        since,
        sqlite_cell
    )
}

pub(super) async fn open_postgres(
    connector: &Connector,
    spec: &SqlSpec,
    since: Option<&Since>,
) -> Result<SourceReader, SourceError> {
    open_with!(
        sqlx::PgConnection,
        Engine::Postgres,
        connector,
        spec,
        since,
        pg_cell
    )
}

pub(super) async fn open_mysql(
    connector: &Connector,
    spec: &SqlSpec,
    since: Option<&Since>,
) -> Result<SourceReader, SourceError> {
    open_with!(
        sqlx::MySqlConnection,
        Engine::Mysql,
        connector,
        spec,
        since,
        mysql_cell
    )
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(':')).then(|| path.to_string())
}

/// A row as `col=value; …` for the rejects table.
fn render(names: &[String], values: &[Option<String>]) -> String {
    names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}={}", v.as_deref().unwrap_or("")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn text(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn bytes_text(b: &[u8]) -> Result<Option<String>, String> {
    std::str::from_utf8(b).map(text).map_err(|e| {
        format!(
            "undecodable bytes: not valid UTF-8 at byte {}",
            e.valid_up_to()
        )
    })
}

fn sqlite_cell(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Option<String>, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(None);
    }
    // SQLite types values, not columns: look at this value's storage class.
    let class = raw.type_info().name().to_ascii_uppercase();
    match class.as_str() {
        "INTEGER" => row
            .try_get::<i64, _>(i)
            .map(|v| Some(v.to_string()))
            .map_err(|e| e.to_string()),
        "REAL" => row
            .try_get::<f64, _>(i)
            .map(|v| Some(v.to_string()))
            .map_err(|e| e.to_string()),
        "BLOB" => bytes_text(&row.try_get::<Vec<u8>, _>(i).map_err(|e| e.to_string())?),
        _ => match row.try_get::<&[u8], _>(i) {
            Ok(b) => bytes_text(b),
            Err(_) => row
                .try_get::<String, _>(i)
                .map(|s| text(&s))
                .map_err(|e| e.to_string()),
        },
    }
}

fn pg_cell(row: &sqlx::postgres::PgRow, i: usize) -> Result<Option<String>, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(None);
    }
    let ty = raw.type_info().name().to_ascii_uppercase();
    let e = |e: sqlx::Error| e.to_string();
    Ok(match ty.as_str() {
        "BOOL" => Some(row.try_get::<bool, _>(i).map_err(e)?.to_string()),
        "INT2" => Some(row.try_get::<i16, _>(i).map_err(e)?.to_string()),
        "INT4" => Some(row.try_get::<i32, _>(i).map_err(e)?.to_string()),
        "INT8" => Some(row.try_get::<i64, _>(i).map_err(e)?.to_string()),
        "FLOAT4" => Some(row.try_get::<f32, _>(i).map_err(e)?.to_string()),
        "FLOAT8" => Some(row.try_get::<f64, _>(i).map_err(e)?.to_string()),
        "NUMERIC" => Some(
            row.try_get::<rust_decimal::Decimal, _>(i)
                .map_err(e)?
                .to_string(),
        ),
        "DATE" => Some(
            row.try_get::<chrono::NaiveDate, _>(i)
                .map_err(e)?
                .to_string(),
        ),
        "TIMESTAMP" => Some(
            row.try_get::<chrono::NaiveDateTime, _>(i)
                .map_err(e)?
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
        // In UTC, in the same form as TIMESTAMP: a date field takes its first ten characters.
        "TIMESTAMPTZ" => Some(
            row.try_get::<chrono::DateTime<chrono::Utc>, _>(i)
                .map_err(e)?
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
        "BYTEA" => return bytes_text(&row.try_get::<Vec<u8>, _>(i).map_err(e)?),
        "TEXT" | "VARCHAR" | "BPCHAR" | "CHAR" | "NAME" | "CITEXT" => {
            text(&row.try_get::<String, _>(i).map_err(e)?)
        }
        other => match row.try_get_unchecked::<String, _>(i) {
            Ok(s) => text(&s),
            Err(_) => {
                return Err(format!(
                    "column type {other} is not supported; cast it to text in a `query`"
                ))
            }
        },
    })
}

fn mysql_cell(row: &sqlx::mysql::MySqlRow, i: usize) -> Result<Option<String>, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(None);
    }
    let ty = raw.type_info().name().to_ascii_uppercase();
    let e = |e: sqlx::Error| e.to_string();
    Ok(match ty.as_str() {
        "BOOLEAN" => Some(row.try_get::<bool, _>(i).map_err(e)?.to_string()),
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" => {
            Some(row.try_get::<i64, _>(i).map_err(e)?.to_string())
        }
        "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED"
        | "BIGINT UNSIGNED" | "YEAR" => Some(row.try_get::<u64, _>(i).map_err(e)?.to_string()),
        "FLOAT" => Some(row.try_get::<f32, _>(i).map_err(e)?.to_string()),
        "DOUBLE" => Some(row.try_get::<f64, _>(i).map_err(e)?.to_string()),
        "DECIMAL" => Some(
            row.try_get::<rust_decimal::Decimal, _>(i)
                .map_err(e)?
                .to_string(),
        ),
        "DATE" => Some(
            row.try_get::<chrono::NaiveDate, _>(i)
                .map_err(e)?
                .to_string(),
        ),
        "DATETIME" => Some(
            row.try_get::<chrono::NaiveDateTime, _>(i)
                .map_err(e)?
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
        "TIMESTAMP" => Some(
            row.try_get::<chrono::DateTime<chrono::Utc>, _>(i)
                .map_err(e)?
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
            return bytes_text(&row.try_get::<Vec<u8>, _>(i).map_err(e)?)
        }
        _ => match row.try_get_unchecked::<&[u8], _>(i) {
            Ok(b) => return bytes_text(b),
            Err(_) => {
                return Err(format!(
                    "column type {ty} is not supported; cast it to text in a `query`"
                ))
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::config::parse_connector;
    use std::path::Path;

    #[tokio::test]
    async fn reads_a_sqlite_table_with_mixed_types() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("legacy.db");
        let url = format!("sqlite://{}?mode=rwc", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("create");
        sqlx::raw_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, balance REAL, photo BLOB); \
             INSERT INTO customers VALUES (1, ' Ann ', 12.5, NULL), (2, NULL, NULL, x'FF00');")
            .execute(&mut conn)
            .await
            .expect("load");
        conn.close().await.expect("close");
        let text = format!(
            "name = \"crm\"\nkind = \"sqlite\"\nrecord_kind = \"customer\"\nurl = \"sqlite://{}\"\ntable = \"customers\"\nprimary_key = [\"id\"]\n",
            db.display()
        );
        let c = parse_connector(Path::new("c.toml"), &text, dir.path(), &|_| None).expect("valid");
        let mut reader = crate::connectors::open(&c).await.expect("opens");
        assert_eq!(reader.columns, vec!["id", "name", "balance", "photo"]);
        let batch = reader.batches.recv().await.expect("a batch").expect("ok");
        assert_eq!(batch.rows.len(), 1);
        assert_eq!(
            batch.rows[0].values,
            vec![
                Some("1".into()),
                Some("Ann".into()),
                Some("12.5".into()),
                None
            ]
        );
        assert_eq!(batch.bad.len(), 1, "the undecodable blob is a bad row");
        assert!(batch.bad[0].reason.contains("photo"));
        assert_eq!(batch.bad[0].location, "table customers, row 2");
    }

    #[tokio::test]
    async fn a_missing_sqlite_file_or_table_fails_the_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "name = \"crm\"\nkind = \"sqlite\"\nrecord_kind = \"customer\"\nurl = \"sqlite://nope.db\"\ntable = \"customers\"\nprimary_key = [\"id\"]\n";
        let c = parse_connector(Path::new("c.toml"), text, dir.path(), &|_| None).expect("valid");
        let err = crate::connectors::open(&c).await.err().expect("fails");
        assert!(err.to_string().contains("no such database file"), "{err}");
        assert!(
            !dir.path().join("nope.db").exists(),
            "must not create the file"
        );
    }

    /// The ids of every row a pull since `since` reads.
    async fn ids_since(
        c: &Connector,
        since: &Since,
    ) -> Result<(Vec<String>, Option<String>), SourceError> {
        let mut reader = crate::connectors::open_since(c, Some(since)).await?;
        let mut ids = Vec::new();
        while let Some(batch) = reader.batches.recv().await {
            ids.extend(batch?.rows.into_iter().filter_map(|r| r.values[0].clone()));
        }
        ids.sort();
        Ok((ids, reader.since))
    }

    #[tokio::test]
    async fn a_pull_since_a_watermark_reads_the_overlap_and_rows_without_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("crm.db");
        let url = format!("sqlite://{}?mode=rwc", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("create");
        sqlx::raw_sql(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, \"changed at\" TEXT, version INTEGER); \
             INSERT INTO customers VALUES (1, '2026-03-01 09:00:00', 7), (2, '2026-03-01 09:56:00', 9), \
             (3, '2026-03-01 10:00:00', 10), (4, NULL, NULL), (5, '2026-03-01 09:54:59', 12);",
        )
        .execute(&mut conn)
        .await
        .expect("load");
        conn.close().await.expect("close");
        let connector = |extra: &str| {
            let text = format!(
                "name = \"crm\"\nkind = \"sqlite\"\nrecord_kind = \"customer\"\nurl = \"sqlite://{}\"\ntable = \"customers\"\nprimary_key = [\"id\"]\n{extra}",
                db.display()
            );
            parse_connector(Path::new("c.toml"), &text, dir.path(), &|_| None).expect("valid")
        };
        let by_time = connector("watermark = \"changed at\"\n");
        let since = Since {
            column: "changed at".into(),
            last: "2026-03-01 10:00:00".into(),
            overlap: None,
        };
        let (ids, bound) = ids_since(&by_time, &since).await.expect("reads");
        assert_eq!(
            ids,
            vec!["2", "3", "4"],
            "five minutes back, and the row without one"
        );
        assert_eq!(bound.as_deref(), Some("2026-03-01 09:55:00"));

        let by_version = connector("watermark = \"version\"\nwatermark_overlap = 1\n");
        let since = Since {
            column: "version".into(),
            last: "10".into(),
            overlap: by_version.watermark_overlap,
        };
        let (ids, _) = ids_since(&by_version, &since).await.expect("reads");
        assert_eq!(
            ids,
            vec!["2", "3", "4", "5"],
            "9 and up, compared as numbers"
        );

        let gone = Since {
            column: "updated_at".into(),
            last: "10".into(),
            overlap: None,
        };
        let err = ids_since(&by_version, &gone)
            .await
            .expect_err("no such column");
        assert!(
            err.to_string()
                .contains("not among the columns of the table customers"),
            "{err}"
        );

        let unreadable = Since {
            column: "changed at".into(),
            last: "last tuesday".into(),
            overlap: None,
        };
        let mut reader = crate::connectors::open_since(&by_time, Some(&unreadable))
            .await
            .expect("opens");
        assert_eq!(reader.since, None, "read in full");
        assert!(reader
            .read_in_full_because
            .take()
            .is_some_and(|w| w.contains("last tuesday")));
    }
}
