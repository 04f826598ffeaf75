//! Watermark pulls: a database source with a `watermark` column reads only the rows whose
//! watermark is at or past the last committed one, less an overlap for clock skew and late
//! commits; and `soft_delete` columns, whose set rows are deletions.
//!
//! The bound is always a bound parameter, typed like the column (a timestamp for a timestamp
//! column, an integer for an integer column), because PostgreSQL compares a timestamp with text
//! only after a cast and text compares integers as strings.

use super::ColumnType;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use std::cmp::Ordering;
use std::time::Duration;

/// The overlap a timestamp watermark reads again when none is configured: late commits and
/// clock skew between the source's writers are seconds to minutes.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(5 * 60);

/// How far before the last committed watermark a pull starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// For a timestamp or date column: `watermark_overlap = "5m"`.
    Duration(Duration),
    /// For an integer column (a change counter, a sequence, epoch seconds): a number of the
    /// column's units, `watermark_overlap = 1000`.
    Units(i64),
}

/// Parses `"90s"`, `"5m"`, `"2h"`, `"1d"` or `"0"`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    if t == "0" {
        return Some(Duration::ZERO);
    }
    let unit_at = t.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = t.split_at(unit_at);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(seconds).map(Duration::from_secs)
}

/// Which database the query goes to: placeholders, identifier quotes and typing differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    Mysql,
}

/// A pull since a committed watermark.
#[derive(Debug, Clone, PartialEq)]
pub struct Since {
    pub column: String,
    /// The committed watermark, as recorded.
    pub last: String,
    pub overlap: Option<Overlap>,
}

/// The lower bound bound to the query, typed like the column.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Int(i64),
    Text(String),
    Timestamp(NaiveDateTime),
    TimestampUtc(DateTime<Utc>),
    Date(NaiveDate),
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Int(v) => write!(f, "{v}"),
            Bound::Text(v) => write!(f, "{v}"),
            Bound::Timestamp(v) => write!(f, "{}", v.format("%Y-%m-%d %H:%M:%S")),
            Bound::TimestampUtc(v) => write!(f, "{}", v.format("%Y-%m-%d %H:%M:%S")),
            Bound::Date(v) => write!(f, "{v}"),
        }
    }
}

/// Why a watermark pull cannot be made.
#[derive(Debug, Clone, PartialEq)]
pub enum NoBound {
    /// The configuration does not fit the column: the source fails with this message.
    Config(String),
    /// The recorded value cannot be read back (a text column in a form gild does not know):
    /// the source is read in full.
    Unreadable(String),
}

/// `col` quoted for the engine; None for a name that cannot be quoted safely.
pub fn quote_column(engine: Engine, column: &str) -> Option<String> {
    let q = match engine {
        Engine::Mysql => '`',
        _ => '"',
    };
    if column.is_empty() || column.contains([q, '\0']) {
        return None;
    }
    Some(format!("{q}{column}{q}"))
}

/// The base select narrowed to rows at or past the bound. Rows with no watermark at all are
/// read too: a full read would see them, and without them they would never be seen again.
pub fn select_since(engine: Engine, base: &str, column: &str) -> Option<String> {
    let col = quote_column(engine, column)?;
    let param = match engine {
        Engine::Postgres => "$1",
        _ => "?",
    };
    Some(format!(
        "SELECT * FROM ({base}) AS gild_source WHERE {col} >= {param} OR {col} IS NULL"
    ))
}

/// The lower bound for a column of database type `db_type` (as the driver names it), from the
/// last committed value and the overlap.
pub fn lower_bound(
    engine: Engine,
    db_type: &str,
    since: &Since,
    config: &str,
) -> Result<Bound, NoBound> {
    let column = &since.column;
    let last = since.last.trim();
    let ty = ColumnType::from_database(db_type);
    let upper = db_type.to_ascii_uppercase();
    // SQLite types values, not columns: judge by the value recorded.
    let integer = match engine {
        Engine::Sqlite => last.parse::<i64>().is_ok(),
        _ => ty == ColumnType::Number,
    };
    if integer {
        let value: i64 = last.parse().map_err(|_| {
            NoBound::Config(format!(
                "watermark column {column:?} holds numbers that are not whole ({last:?}); use an integer or a timestamp column"
            ))
        })?;
        let units = match since.overlap {
            None => 0,
            Some(Overlap::Units(n)) => n,
            Some(Overlap::Duration(_)) => {
                return Err(NoBound::Config(format!(
                    "watermark column {column:?} holds integers, so `watermark_overlap` must be a whole number of its units (e.g. watermark_overlap = 100), not a duration (in {config})"
                )))
            }
        };
        return Ok(Bound::Int(value.saturating_sub(units)));
    }
    let overlap = match since.overlap {
        None => DEFAULT_OVERLAP,
        Some(Overlap::Duration(d)) => d,
        Some(Overlap::Units(_)) => {
            return Err(NoBound::Config(format!(
                "watermark column {column:?} holds times, so `watermark_overlap` must be a duration such as \"5m\", not a number (in {config})"
            )))
        }
    };
    let overlap = TimeDelta::from_std(overlap).unwrap_or(TimeDelta::MAX);
    let back = |t: NaiveDateTime| t.checked_sub_signed(overlap).unwrap_or(NaiveDateTime::MIN);
    match (engine, ty) {
        (Engine::Sqlite, _) | (_, ColumnType::Text) => {
            let (t, form) = TextTime::parse(last).ok_or_else(|| {
                NoBound::Unreadable(format!(
                    "watermark column {column:?} holds {last:?}, which is neither an integer nor a time as YYYY-MM-DD HH:MM:SS"
                ))
            })?;
            Ok(Bound::Text(form.format(back(t))))
        }
        (_, ColumnType::Timestamp) => {
            let (t, _) = TextTime::parse(last).ok_or_else(|| {
                NoBound::Unreadable(format!("watermark column {column:?}: cannot read {last:?} as a time"))
            })?;
            let from = back(t);
            // The value was recorded in UTC; a zoned column is compared in UTC too.
            if upper == "TIMESTAMPTZ" || (engine == Engine::Mysql && upper == "TIMESTAMP") {
                Ok(Bound::TimestampUtc(from.and_utc()))
            } else {
                Ok(Bound::Timestamp(from))
            }
        }
        (_, ColumnType::Date) => {
            let (t, _) = TextTime::parse(last).ok_or_else(|| {
                NoBound::Unreadable(format!("watermark column {column:?}: cannot read {last:?} as a date"))
            })?;
            Ok(Bound::Date(back(t).date()))
        }
        _ => Err(NoBound::Config(format!(
            "watermark column {column:?} is of type {db_type}; use an integer, date or timestamp column (in {config})"
        ))),
    }
}

/// How a text timestamp was written, so that the bound is written the same way: text compares
/// character by character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TextTime {
    /// `T` or a space between date and time; None for a bare date.
    separator: Option<char>,
    zulu: bool,
}

impl TextTime {
    fn parse(text: &str) -> Option<(NaiveDateTime, TextTime)> {
        if text.len() == 10 {
            let d = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            let form = TextTime {
                separator: None,
                zulu: false,
            };
            return Some((d.and_hms_opt(0, 0, 0)?, form));
        }
        let zulu = text.ends_with('Z');
        let body = text.strip_suffix('Z').unwrap_or(text);
        let separator = body.chars().nth(10).filter(|c| *c == 'T' || *c == ' ')?;
        let t = NaiveDateTime::parse_from_str(body, &format!("%Y-%m-%d{separator}%H:%M:%S%.f"))
            .or_else(|_| NaiveDateTime::parse_from_str(body, &format!("%Y-%m-%d{separator}%H:%M")))
            .ok()?;
        Some((
            t,
            TextTime {
                separator: Some(separator),
                zulu,
            },
        ))
    }

    /// Whole seconds: a bound cut down reads a little more, never less.
    fn format(self, t: NaiveDateTime) -> String {
        match self.separator {
            None => t.format("%Y-%m-%d").to_string(),
            Some(sep) => format!(
                "{}{}",
                t.format(&format!("%Y-%m-%d{sep}%H:%M:%S")),
                if self.zulu { "Z" } else { "" }
            ),
        }
    }
}

/// Orders two watermark values as read: integers as numbers, anything else (timestamps in one
/// form) as text.
pub fn compare_values(a: &str, b: &str) -> Ordering {
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// A soft-delete cell marks its row deleted when it holds anything but nothing, false or zero
/// (a deletion time, `true`, `1`, `Y`).
pub fn is_deleted(cell: Option<&str>) -> bool {
    match cell.map(str::trim) {
        None | Some("") => false,
        Some(v) => !matches!(
            v.to_ascii_lowercase().as_str(),
            "false" | "f" | "0" | "n" | "no"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn since(last: &str, overlap: Option<Overlap>) -> Since {
        Since {
            column: "updated_at".into(),
            last: last.into(),
            overlap,
        }
    }

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
    }

    #[test]
    fn durations_read_like_the_rest_of_the_config() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        for bad in ["", "5", "m", "5 minutes", "-5m", "5w"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_query_quotes_the_column_and_binds_the_bound() {
        assert_eq!(
            select_since(Engine::Postgres, "SELECT * FROM customers", "updated_at").as_deref(),
            Some("SELECT * FROM (SELECT * FROM customers) AS gild_source WHERE \"updated_at\" >= $1 OR \"updated_at\" IS NULL")
        );
        assert_eq!(
            select_since(Engine::Mysql, "SELECT id FROM t", "Changed At").as_deref(),
            Some("SELECT * FROM (SELECT id FROM t) AS gild_source WHERE `Changed At` >= ? OR `Changed At` IS NULL")
        );
        assert_eq!(
            select_since(Engine::Sqlite, "SELECT * FROM t", "a\"b; drop table t"),
            None
        );
        assert_eq!(quote_column(Engine::Mysql, "a`b"), None);
        assert_eq!(quote_column(Engine::Postgres, ""), None);
    }

    #[test]
    fn timestamp_columns_get_a_typed_bound_less_the_overlap() {
        let s = since("2026-03-01 10:00:00", None);
        assert_eq!(
            lower_bound(Engine::Postgres, "TIMESTAMP", &s, "c.toml"),
            Ok(Bound::Timestamp(t("2026-03-01 09:55:00")))
        );
        assert_eq!(
            lower_bound(Engine::Postgres, "TIMESTAMPTZ", &s, "c.toml"),
            Ok(Bound::TimestampUtc(t("2026-03-01 09:55:00").and_utc()))
        );
        assert_eq!(
            lower_bound(Engine::Mysql, "DATETIME", &s, "c.toml"),
            Ok(Bound::Timestamp(t("2026-03-01 09:55:00")))
        );
        assert_eq!(
            lower_bound(Engine::Mysql, "TIMESTAMP", &s, "c.toml"),
            Ok(Bound::TimestampUtc(t("2026-03-01 09:55:00").and_utc()))
        );
        let hour = since(
            "2026-03-01 00:30:00",
            Some(Overlap::Duration(Duration::from_secs(3600))),
        );
        assert_eq!(
            lower_bound(Engine::Postgres, "DATE", &hour, "c.toml"),
            Ok(Bound::Date(
                NaiveDate::from_ymd_opt(2026, 2, 28).expect("date")
            ))
        );
    }

    #[test]
    fn text_timestamps_keep_their_form_so_that_text_comparison_holds() {
        let bound = |last: &str| lower_bound(Engine::Sqlite, "TEXT", &since(last, None), "c");
        assert_eq!(
            bound("2026-03-01 10:00:00"),
            Ok(Bound::Text("2026-03-01 09:55:00".into()))
        );
        assert_eq!(
            bound("2026-03-01T00:02:30.250Z"),
            Ok(Bound::Text("2026-02-28T23:57:30Z".into()))
        );
        assert_eq!(bound("2026-03-01"), Ok(Bound::Text("2026-02-28".into())));
        assert!(matches!(bound("yesterday"), Err(NoBound::Unreadable(_))));
        assert!(matches!(
            lower_bound(Engine::Postgres, "VARCHAR", &since("01/03/2026", None), "c"),
            Err(NoBound::Unreadable(_))
        ));
    }

    #[test]
    fn integer_columns_take_an_overlap_in_their_own_units() {
        let s = since("1000", Some(Overlap::Units(50)));
        assert_eq!(
            lower_bound(Engine::Postgres, "INT8", &s, "c"),
            Ok(Bound::Int(950))
        );
        assert_eq!(
            lower_bound(Engine::Sqlite, "INTEGER", &since("1000", None), "c"),
            Ok(Bound::Int(1000)),
            "no overlap by default: the last value itself is read again"
        );
        let wrong = since("1000", Some(Overlap::Duration(DEFAULT_OVERLAP)));
        match lower_bound(Engine::Mysql, "BIGINT", &wrong, "connectors/crm.toml") {
            Err(NoBound::Config(m)) => {
                assert!(
                    m.contains("whole number") && m.contains("connectors/crm.toml"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        let wrong = since("2026-03-01 10:00:00", Some(Overlap::Units(5)));
        assert!(matches!(
            lower_bound(Engine::Postgres, "TIMESTAMP", &wrong, "c"),
            Err(NoBound::Config(_))
        ));
        assert!(matches!(
            lower_bound(Engine::Postgres, "BOOL", &since("true", None), "c"),
            Err(NoBound::Config(_))
        ));
    }

    #[test]
    fn values_compare_as_numbers_or_as_text() {
        assert_eq!(compare_values("9", "10"), Ordering::Less);
        assert_eq!(
            compare_values("2026-03-01 10:00:00", "2026-02-28 23:00:00"),
            Ordering::Greater
        );
    }

    #[test]
    fn soft_delete_cells_are_set_unless_empty_false_or_zero() {
        for live in [
            None,
            Some(""),
            Some("false"),
            Some("0"),
            Some("F"),
            Some("no"),
        ] {
            assert!(!is_deleted(live), "{live:?}");
        }
        for gone in [
            Some("true"),
            Some("1"),
            Some("2026-03-01 10:00:00"),
            Some("Y"),
        ] {
            assert!(is_deleted(gone), "{gone:?}");
        }
    }
}
