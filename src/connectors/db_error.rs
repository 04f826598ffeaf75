//! A database source's errors, told without the values they quote.
//!
//! A server's own message often quotes the value it choked on (PostgreSQL: `invalid input syntax
//! for type date: "not-a-date"`, MariaDB: `Incorrect date value: '31/02/1980' for column ...`),
//! and a source's values are customer data. So a source error keeps the error's identity (the
//! SQLSTATE, MySQL's error number, the kind) and the server's description with every quoted
//! part and byte dump taken out, never the driver's message verbatim.

use sqlx::error::{DatabaseError, ErrorKind};

/// What went wrong, for messages, logs and `sync_runs`.
pub fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => describe_database(db.as_ref()),
        // The operating system's words (connection refused, timed out): no data in them.
        sqlx::Error::Io(io) => format!("cannot talk to the server: {io}"),
        sqlx::Error::Tls(_) => "the TLS connection to the server failed".into(),
        sqlx::Error::Protocol(_) => {
            "the server answered something the driver did not expect (a protocol error)".into()
        }
        sqlx::Error::Configuration(_) => {
            "the connection URL or one of its options is not valid".into()
        }
        sqlx::Error::ColumnDecode { index, .. } => format!(
            "a value in column {} could not be read as its declared type",
            column_number(index)
        ),
        sqlx::Error::Decode(_) => "a value could not be read as its declared type".into(),
        sqlx::Error::ColumnNotFound(name) => format!("the result has no column {name:?}"),
        sqlx::Error::TypeNotFound { type_name } => format!("the server has no type {type_name}"),
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::RowNotFound
        | sqlx::Error::ColumnIndexOutOfBounds { .. } => e.to_string(),
        _ => "the database driver failed".into(),
    }
}

/// sqlx names columns by 0-based index in text; people count from 1.
fn column_number(index: &str) -> String {
    match index.parse::<usize>() {
        Ok(i) => (i + 1).to_string(),
        Err(_) => index.to_string(),
    }
}

fn describe_database(db: &dyn DatabaseError) -> String {
    let code = db.code().map(|c| c.into_owned());
    let mut identity = Vec::new();
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        identity.push(format!("MySQL error {}", my.number()));
        identity.extend(code.as_deref().map(|c| format!("SQLSTATE {c}")));
    } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        identity.extend(code.as_deref().map(|c| format!("SQLite error {c}")));
    } else if let Some(c) = code.as_deref() {
        identity.push(format!("SQLSTATE {c}"));
        identity.extend(sqlstate_meaning(c).map(str::to_string));
    }
    match db.kind() {
        ErrorKind::UniqueViolation => identity.push("unique violation".into()),
        ErrorKind::ForeignKeyViolation => identity.push("foreign key violation".into()),
        ErrorKind::NotNullViolation => identity.push("not-null violation".into()),
        ErrorKind::CheckViolation => identity.push("check violation".into()),
        ErrorKind::ExclusionViolation => identity.push("exclusion violation".into()),
        _ => {}
    }
    let description = without_values(db.message());
    if identity.is_empty() {
        format!("the database refused: {description}")
    } else {
        format!(
            "the database refused ({}): {description}",
            identity.join(", ")
        )
    }
}

/// The message with each quoted part ("…", '…') replaced by an ellipsis, and byte dumps (0x…)
/// dropped; identifiers in backquotes stay.
pub fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                // To the closing quote (a doubled quote inside is part of the value), or the end.
                loop {
                    match chars.next() {
                        Some(q) if q == c => {
                            if chars.peek() == Some(&c) {
                                chars.next();
                            } else {
                                break;
                            }
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
                out.push(c);
                out.push('…');
                out.push(c);
            }
            '0' if chars.peek() == Some(&'x') && !out.ends_with(|p: char| p.is_alphanumeric()) => {
                chars.next();
                while chars.peek().is_some_and(|h| h.is_ascii_hexdigit()) {
                    chars.next();
                }
                if !out.ends_with('…') {
                    out.push('…');
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// What a SQLSTATE means (PostgreSQL's names for the standard codes), by code, else by class.
fn sqlstate_meaning(code: &str) -> Option<&'static str> {
    let exact = match code {
        "22001" => Some("string data right truncation"),
        "22003" => Some("numeric value out of range"),
        "22007" => Some("invalid datetime format"),
        "22008" => Some("datetime field overflow"),
        "22012" => Some("division by zero"),
        "22021" => Some("character not in repertoire"),
        "22P02" => Some("invalid text representation"),
        "22P05" => Some("untranslatable character"),
        "23502" => Some("not null violation"),
        "23503" => Some("foreign key violation"),
        "23505" => Some("unique violation"),
        "23514" => Some("check violation"),
        "25006" => Some("read only SQL transaction"),
        "28000" => Some("invalid authorization specification"),
        "28P01" => Some("invalid password"),
        "3D000" => Some("invalid catalog name: no such database"),
        "3F000" => Some("invalid schema name"),
        "40001" => Some("serialization failure"),
        "40P01" => Some("deadlock detected"),
        "42501" => Some("insufficient privilege"),
        "42601" => Some("syntax error"),
        "42703" => Some("undefined column"),
        "42804" => Some("datatype mismatch"),
        "42883" => Some("undefined function"),
        "42P01" => Some("undefined table"),
        "53300" => Some("too many connections"),
        "57014" => Some("query canceled"),
        "57P01" => Some("admin shutdown"),
        _ => None,
    };
    exact.or(match code.get(..2)? {
        "08" => Some("connection exception"),
        "0A" => Some("feature not supported"),
        "21" => Some("cardinality violation"),
        "22" => Some("data exception"),
        "23" => Some("integrity constraint violation"),
        "25" => Some("invalid transaction state"),
        "28" => Some("invalid authorization specification"),
        "3D" => Some("invalid catalog name"),
        "3F" => Some("invalid schema name"),
        "40" => Some("transaction rollback"),
        "42" => Some("syntax error or access rule violation"),
        "53" => Some("insufficient resources"),
        "54" => Some("program limit exceeded"),
        "55" => Some("object not in prerequisite state"),
        "57" => Some("operator intervention"),
        "58" => Some("system error"),
        "XX" => Some("internal error"),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_and_byte_dumps_are_taken_out() {
        assert_eq!(
            without_values("invalid input syntax for type date: \"ZZSENTINEL42\""),
            "invalid input syntax for type date: \"…\""
        );
        assert_eq!(
            without_values(
                "Incorrect date value: 'O''Brien 1980' for column `crm`.`people`.`birth` at row 1"
            ),
            "Incorrect date value: '…' for column `crm`.`people`.`birth` at row 1"
        );
        assert_eq!(
            without_values("invalid byte sequence for encoding \"UTF8\": 0xe9 0x20"),
            "invalid byte sequence for encoding \"…\": … …"
        );
        assert_eq!(
            without_values("value too long for type character varying(20)"),
            "value too long for type character varying(20)"
        );
        assert_eq!(
            without_values("unterminated \"ZZSENT"),
            "unterminated \"…\""
        );
    }

    #[test]
    fn sqlstates_are_named_by_code_then_by_class() {
        assert_eq!(sqlstate_meaning("22007"), Some("invalid datetime format"));
        assert_eq!(sqlstate_meaning("22Z99"), Some("data exception"));
        assert_eq!(sqlstate_meaning("HY000"), None);
        assert_eq!(sqlstate_meaning("4"), None);
    }

    #[tokio::test]
    async fn a_sqlite_error_keeps_its_code_and_loses_its_values() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("memory database");
        let e = sqlx::query("SELECT json('{\"ZZSENTINEL42\": ')")
            .execute(&mut conn)
            .await
            .expect_err("malformed JSON");
        let text = describe(&e);
        assert!(
            text.starts_with("the database refused (SQLite error 1)"),
            "{text}"
        );
        assert!(!text.contains("ZZSENTINEL42"), "{text}");
    }
}
