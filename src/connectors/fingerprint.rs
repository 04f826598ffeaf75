//! A source's fingerprint: a cheap summary of its content that changes when the rows a sync
//! would read change, so that a sync can tell "nothing changed" without reading every row.
//!
//! - A CSV export: each file's name, size and content hash (xxh3 over the bytes as stored).
//! - A database source with a `watermark`: its row count and highest watermark, one aggregate
//!   query. An edit that does not move the watermark is not seen (that is the watermark's
//!   contract); `gild sync --full` reads everything regardless.
//! - A database source without one: no fingerprint; every sync reads it.

use super::{csv_source, sql_source, Connector, Selection, SourceSpec, SqlSpec};
use serde::{Deserialize, Serialize};
use std::io::Read;

/// What a source looked like when fingerprinted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourcePrint {
    /// Each file of the export: (path, bytes, xxh3 of the bytes in hex).
    Files(Vec<(String, u64, String)>),
    /// A database table or query: its row count and highest watermark value, as text.
    Watermark { rows: i64, max: Option<String> },
}

/// The source's fingerprint, or None when it has none (a database source without a watermark)
/// or it could not be taken (the source cannot be read now: the sync will say why).
pub async fn fingerprint(connector: &Connector) -> Option<SourcePrint> {
    match &connector.spec {
        SourceSpec::Csv(spec) => {
            let files = csv_source::expand(connector, spec).ok()?;
            tokio::task::spawn_blocking(move || hash_files(&files))
                .await
                .ok()?
        }
        SourceSpec::Sqlite(spec) | SourceSpec::Postgres(spec) | SourceSpec::Mysql(spec) => {
            let column = connector.watermark.as_deref()?;
            let sql = bound_query(&connector.spec, spec, column)?;
            let (rows, max) = sql_source::aggregate(connector, spec, &sql).await?;
            Some(SourcePrint::Watermark { rows, max })
        }
    }
}

fn hash_files(files: &[std::path::PathBuf]) -> Option<SourcePrint> {
    let mut prints = Vec::with_capacity(files.len());
    for path in files {
        let mut file = std::fs::File::open(path).ok()?;
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buf[..n]);
        }
        prints.push((
            path.display().to_string(),
            size,
            format!("{:032x}", hasher.digest128()),
        ));
    }
    Some(SourcePrint::Files(prints))
}

/// The row count and highest watermark of the source's table or query, the watermark cast to
/// text so that every engine returns one type. None for a column name that cannot be quoted.
fn bound_query(kind: &SourceSpec, spec: &SqlSpec, column: &str) -> Option<String> {
    let (open, close, text) = match kind {
        SourceSpec::Mysql(_) => ('`', '`', "CHAR"),
        _ => ('"', '"', "TEXT"),
    };
    if column.is_empty() || column.contains([open, close, '\0']) {
        return None;
    }
    let from = match &spec.selection {
        // Checked to be a plain identifier when the config was loaded.
        Selection::Table(t) => t.clone(),
        Selection::Query(q) => format!("({}) AS gild_source", q.trim().trim_end_matches(';')),
    };
    Some(format!(
        "SELECT COUNT(*), CAST(MAX({open}{column}{close}) AS {text}) FROM {from}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::config::parse_connector;
    use sqlx::Connection;
    use std::path::Path;

    fn csv_connector(dir: &Path, path: &str) -> Connector {
        let text = format!(
            "name = \"people\"\nkind = \"csv\"\nrecord_kind = \"customer\"\npath = \"{path}\"\nprimary_key = [\"id\"]\n"
        );
        parse_connector(Path::new("c.toml"), &text, dir, &|_| None).expect("valid")
    }

    #[tokio::test]
    async fn a_csv_export_changes_its_print_with_any_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.csv");
        std::fs::write(&file, "id,name\n1,Ann\n").expect("write");
        let c = csv_connector(dir.path(), "a.csv");
        let first = fingerprint(&c).await.expect("a print");
        assert_eq!(fingerprint(&c).await.as_ref(), Some(&first), "stable");
        std::fs::write(&file, "id,name\n1,Ana\n").expect("write");
        let edited = fingerprint(&c).await.expect("a print");
        assert_ne!(edited, first, "same size, other bytes");
        std::fs::write(dir.path().join("b.csv"), "id,name\n2,Bo\n").expect("write");
        let glob = csv_connector(dir.path(), "*.csv");
        match fingerprint(&glob).await {
            Some(SourcePrint::Files(files)) => assert_eq!(files.len(), 2),
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(&file).expect("remove");
        assert_eq!(fingerprint(&c).await, None, "a missing file has no print");
    }

    #[tokio::test]
    async fn a_database_source_is_summed_up_by_its_row_count_and_watermark() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("crm.db");
        let url = format!("sqlite://{}?mode=rwc", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("create");
        sqlx::raw_sql(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT); \
             INSERT INTO customers VALUES (1, 'Ann', '2026-01-01 10:00:00'), (2, 'Bo', '2026-01-02 10:00:00');",
        )
        .execute(&mut conn)
        .await
        .expect("load");
        let connector = |extra: &str| {
            let text = format!(
                "name = \"crm\"\nkind = \"sqlite\"\nrecord_kind = \"customer\"\nurl = \"sqlite://{}\"\nprimary_key = [\"id\"]\n{extra}",
                db.display()
            );
            parse_connector(Path::new("c.toml"), &text, dir.path(), &|_| None).expect("valid")
        };
        let table = connector("table = \"customers\"\nwatermark = \"updated_at\"\n");
        assert_eq!(
            fingerprint(&table).await,
            Some(SourcePrint::Watermark {
                rows: 2,
                max: Some("2026-01-02 10:00:00".into())
            })
        );
        let query = connector(
            "query = \"SELECT id, name, updated_at FROM customers WHERE id > 1;\"\nwatermark = \"updated_at\"\n",
        );
        assert_eq!(
            fingerprint(&query).await,
            Some(SourcePrint::Watermark {
                rows: 1,
                max: Some("2026-01-02 10:00:00".into())
            })
        );
        sqlx::query("DELETE FROM customers WHERE id = 1")
            .execute(&mut conn)
            .await
            .expect("delete");
        assert_eq!(
            fingerprint(&table).await,
            Some(SourcePrint::Watermark {
                rows: 1,
                max: Some("2026-01-02 10:00:00".into())
            }),
            "a deletion changes the count"
        );
        assert_eq!(
            fingerprint(&connector("table = \"customers\"\n")).await,
            None,
            "without a watermark there is no cheap summary"
        );
        conn.close().await.expect("close");
    }
}
