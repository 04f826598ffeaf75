//! `connectors/*.toml`: where a source system's rows come from.

use super::watermark::{parse_duration, Overlap};
use crate::config_file::env::{has_literal_password, interpolate};
use crate::config_file::error::{from_toml, ConfigProblem};
use crate::record::RecordKind;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorKind {
    Csv,
    Sqlite,
    Postgres,
    Mysql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    /// CRLF or LF, whichever the file uses.
    #[default]
    Auto,
    Crlf,
    Lf,
}

/// The file as written; validated into [`Connector`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectorFile {
    name: Spanned<String>,
    kind: ConnectorKind,
    record_kind: RecordKind,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    mapping: Option<Spanned<String>>,
    #[serde(default = "yes")]
    enabled: bool,
    primary_key: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    watermark: Option<Spanned<String>>,
    // databases
    #[serde(default)]
    watermark_overlap: Option<Spanned<OverlapText>>,
    #[serde(default)]
    soft_delete: Option<Spanned<String>>,
    #[serde(default)]
    url: Option<Spanned<String>>,
    #[serde(default)]
    table: Option<Spanned<String>>,
    #[serde(default)]
    query: Option<Spanned<String>>,
    // csv
    #[serde(default)]
    path: Option<Spanned<String>>,
    #[serde(default)]
    delimiter: Option<Spanned<String>>,
    #[serde(default)]
    quote: Option<Spanned<String>>,
    #[serde(default)]
    header: Option<bool>,
    #[serde(default)]
    columns: Option<Vec<String>>,
    #[serde(default)]
    encoding: Option<Spanned<String>>,
    #[serde(default)]
    line_ending: Option<LineEnding>,
}

/// `watermark_overlap` as written: a duration for a time column, a number for an integer one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OverlapText {
    Duration(String),
    Units(i64),
}

fn yes() -> bool {
    true
}

/// How to read a CSV export.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvSpec {
    /// A path or glob, resolved against the configuration folder.
    pub path: String,
    pub delimiter: u8,
    pub quote: u8,
    pub header: bool,
    /// Column names when the file has no header row.
    pub columns: Vec<String>,
    pub encoding: &'static encoding_rs::Encoding,
    pub line_ending: LineEnding,
}

/// What to select from a database.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Table(String),
    Query(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SqlSpec {
    pub url: String,
    pub selection: Selection,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    Csv(CsvSpec),
    Sqlite(SqlSpec),
    Postgres(SqlSpec),
    Mysql(SqlSpec),
}

/// A validated connector.
#[derive(Debug, Clone, PartialEq)]
pub struct Connector {
    pub name: String,
    pub record_kind: RecordKind,
    pub description: Option<String>,
    /// Name of the mapping in `mappings/` (defaults to the connector's name).
    pub mapping: String,
    pub enabled: bool,
    pub primary_key: Vec<String>,
    pub watermark: Option<String>,
    /// How far before the last committed watermark a database pull starts (None: the default
    /// for the column's type).
    pub watermark_overlap: Option<Overlap>,
    /// A database column whose set rows are deletions.
    pub soft_delete: Option<String>,
    pub spec: SourceSpec,
    /// The file this came from, for messages.
    pub file: PathBuf,
}

impl Connector {
    pub fn kind_name(&self) -> &'static str {
        match self.spec {
            SourceSpec::Csv(_) => "csv",
            SourceSpec::Sqlite(_) => "sqlite",
            SourceSpec::Postgres(_) => "postgres",
            SourceSpec::Mysql(_) => "mysql",
        }
    }
}

/// Source names become part of keys (`crm:1001`) and of store rows.
fn valid_source_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A table name we are willing to put into SQL: identifiers, optionally schema-qualified.
pub fn valid_table_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn single_byte(
    file: &Path,
    text: &str,
    v: &Spanned<String>,
    what: &str,
) -> Result<u8, ConfigProblem> {
    let s = v.get_ref();
    let bytes = match s.as_str() {
        "\\t" | "tab" => vec![b'\t'],
        other => other.as_bytes().to_vec(),
    };
    match bytes.as_slice() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(ConfigProblem::at_span(
            file,
            text,
            v.span(),
            format!("{what} must be one ASCII character (or \"\\t\"), not {s:?}"),
        )),
    }
}

/// Parses and validates one connector file. `base` is the folder relative paths are resolved against.
pub fn parse_connector(
    file: &Path,
    text: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Connector, Vec<ConfigProblem>> {
    let raw: ConnectorFile = toml::from_str(text).map_err(|e| vec![from_toml(file, text, &e)])?;
    let mut problems = Vec::new();
    let at =
        |span: std::ops::Range<usize>, msg: String| ConfigProblem::at_span(file, text, span, msg);

    let name = raw.name.get_ref().clone();
    if !valid_source_name(&name) {
        problems.push(at(
            raw.name.span(),
            format!("source name {name:?} must be letters, digits, '_' or '-' (at most 64)"),
        ));
    }
    let primary_key: Vec<String> = raw
        .primary_key
        .get_ref()
        .iter()
        .map(|c| c.get_ref().clone())
        .collect();
    if primary_key.is_empty() || primary_key.iter().any(|c| c.trim().is_empty()) {
        problems.push(at(
            raw.primary_key.span(),
            "primary_key must name at least one column".to_string(),
        ));
    }

    let mut misplaced =
        |present: bool, field: &str, span: Option<std::ops::Range<usize>>, kind: &str| {
            if present {
                problems.push(ConfigProblem::new(
                    file,
                    span.map(|s| crate::config_file::error::line_of(text, s.start)),
                    format!("`{field}` does not apply to a {kind} connector"),
                ));
            }
        };
    let kind_name = match raw.kind {
        ConnectorKind::Csv => "csv",
        ConnectorKind::Sqlite => "sqlite",
        ConnectorKind::Postgres => "postgres",
        ConnectorKind::Mysql => "mysql",
    };
    let spec = match raw.kind {
        ConnectorKind::Csv => {
            misplaced(
                raw.url.is_some(),
                "url",
                raw.url.as_ref().map(|v| v.span()),
                kind_name,
            );
            misplaced(
                raw.table.is_some(),
                "table",
                raw.table.as_ref().map(|v| v.span()),
                kind_name,
            );
            misplaced(
                raw.query.is_some(),
                "query",
                raw.query.as_ref().map(|v| v.span()),
                kind_name,
            );
            csv_spec(file, text, base, &raw, env, &mut problems)
        }
        ConnectorKind::Sqlite | ConnectorKind::Postgres | ConnectorKind::Mysql => {
            for (present, field, span) in [
                (
                    raw.path.is_some(),
                    "path",
                    raw.path.as_ref().map(|v| v.span()),
                ),
                (
                    raw.delimiter.is_some(),
                    "delimiter",
                    raw.delimiter.as_ref().map(|v| v.span()),
                ),
                (
                    raw.quote.is_some(),
                    "quote",
                    raw.quote.as_ref().map(|v| v.span()),
                ),
                (
                    raw.encoding.is_some(),
                    "encoding",
                    raw.encoding.as_ref().map(|v| v.span()),
                ),
                (raw.header.is_some(), "header", None),
                (raw.columns.is_some(), "columns", None),
                (raw.line_ending.is_some(), "line_ending", None),
            ] {
                misplaced(present, field, span, kind_name);
            }
            sql_spec(file, text, base, &raw, env, &mut problems).map(|s| match raw.kind {
                ConnectorKind::Sqlite => SourceSpec::Sqlite(s),
                ConnectorKind::Postgres => SourceSpec::Postgres(s),
                _ => SourceSpec::Mysql(s),
            })
        }
    };

    let (watermark_overlap, soft_delete) = database_options(file, text, &raw, &mut problems);
    let mapping = raw
        .mapping
        .as_ref()
        .map(|m| m.get_ref().clone())
        .unwrap_or_else(|| name.clone());
    match spec {
        Some(spec) if problems.is_empty() => Ok(Connector {
            name,
            record_kind: raw.record_kind,
            description: raw.description.clone(),
            mapping,
            enabled: raw.enabled,
            primary_key,
            watermark: raw.watermark.as_ref().map(|w| w.get_ref().clone()),
            watermark_overlap,
            soft_delete,
            spec,
            file: file.to_path_buf(),
        }),
        _ => Err(problems),
    }
}

/// `watermark_overlap` and `soft_delete`, which only a database source has, and a watermark
/// column name that can be quoted in SQL.
fn database_options(
    file: &Path,
    text: &str,
    raw: &ConnectorFile,
    problems: &mut Vec<ConfigProblem>,
) -> (Option<Overlap>, Option<String>) {
    let at =
        |span: std::ops::Range<usize>, msg: String| ConfigProblem::at_span(file, text, span, msg);
    let database = raw.kind != ConnectorKind::Csv;
    // A column name goes into SQL between quotes: it must not hold one.
    let quotable = |c: &str| !c.trim().is_empty() && !c.contains(['"', '`', '\0']);
    if let Some(w) = raw.watermark.as_ref().filter(|_| database) {
        if !quotable(w.get_ref()) {
            problems.push(at(
                w.span(),
                format!(
                    "watermark column {:?} must be a column name without quotes",
                    w.get_ref()
                ),
            ));
        }
    }
    let overlap = raw.watermark_overlap.as_ref().and_then(|o| {
        if !database {
            problems.push(at(
                o.span(),
                "`watermark_overlap` does not apply to a csv connector (a csv export is read whole)".into(),
            ));
            return None;
        }
        if raw.watermark.is_none() {
            problems.push(at(
                o.span(),
                "`watermark_overlap` needs `watermark` (the column that records when a row changed)".into(),
            ));
            return None;
        }
        match o.get_ref() {
            OverlapText::Duration(d) => match parse_duration(d) {
                Some(d) => Some(Overlap::Duration(d)),
                None => {
                    problems.push(at(
                        o.span(),
                        format!("watermark_overlap {d:?} is not a duration; write e.g. \"90s\", \"5m\", \"2h\" or \"1d\" (or a whole number for an integer watermark column)"),
                    ));
                    None
                }
            },
            OverlapText::Units(n) if *n >= 0 => Some(Overlap::Units(*n)),
            OverlapText::Units(n) => {
                problems.push(at(
                    o.span(),
                    format!("watermark_overlap must not be negative, not {n}"),
                ));
                None
            }
        }
    });
    let soft_delete = raw.soft_delete.as_ref().and_then(|s| {
        if !database {
            problems.push(at(
                s.span(),
                "`soft_delete` does not apply to a csv connector (rows missing from the export are deletions)".into(),
            ));
            return None;
        }
        if !quotable(s.get_ref()) {
            problems.push(at(
                s.span(),
                format!("soft_delete column {:?} must be a column name without quotes", s.get_ref()),
            ));
            return None;
        }
        Some(s.get_ref().clone())
    });
    (overlap, soft_delete)
}

fn csv_spec(
    file: &Path,
    text: &str,
    base: &Path,
    raw: &ConnectorFile,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SourceSpec> {
    let Some(path) = &raw.path else {
        problems.push(ConfigProblem::new(
            file,
            None,
            "a csv connector needs `path` (a file or a glob)",
        ));
        return None;
    };
    let expanded = match interpolate(path.get_ref(), env) {
        Ok(p) => p,
        Err(e) => {
            problems.push(ConfigProblem::at_span(file, text, path.span(), e));
            return None;
        }
    };
    let resolved = if Path::new(&expanded).is_absolute() {
        expanded
    } else {
        base.join(&expanded).to_string_lossy().into_owned()
    };
    let delimiter = match &raw.delimiter {
        Some(d) => single_byte(file, text, d, "delimiter")
            .map_err(|p| problems.push(p))
            .ok()?,
        None => b',',
    };
    let quote = match &raw.quote {
        Some(q) => single_byte(file, text, q, "quote")
            .map_err(|p| problems.push(p))
            .ok()?,
        None => b'"',
    };
    let encoding = match &raw.encoding {
        Some(e) => match encoding_rs::Encoding::for_label(e.get_ref().trim().as_bytes()) {
            Some(enc) => enc,
            None => {
                problems.push(ConfigProblem::at_span(
                    file,
                    text,
                    e.span(),
                    format!(
                        "unknown encoding {:?}; use a WHATWG label such as \"utf-8\" or \"windows-1252\"",
                        e.get_ref()
                    ),
                ));
                return None;
            }
        },
        None => encoding_rs::UTF_8,
    };
    let header = raw.header.unwrap_or(true);
    let columns = raw.columns.clone().unwrap_or_default();
    if !header && columns.is_empty() {
        problems.push(ConfigProblem::new(
            file,
            None,
            "`header = false` needs `columns = [...]` naming the columns in order",
        ));
        return None;
    }
    Some(SourceSpec::Csv(CsvSpec {
        path: resolved,
        delimiter,
        quote,
        header,
        columns,
        encoding,
        line_ending: raw.line_ending.unwrap_or_default(),
    }))
}

fn sql_spec(
    file: &Path,
    text: &str,
    base: &Path,
    raw: &ConnectorFile,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SqlSpec> {
    let Some(url) = &raw.url else {
        problems.push(ConfigProblem::new(
            file,
            None,
            "a database connector needs `url`, e.g. url = \"${LEGACY_CRM_URL}\"",
        ));
        return None;
    };
    if has_literal_password(url.get_ref()) {
        problems.push(ConfigProblem::at_span(
            file,
            text,
            url.span(),
            "the url holds a password; put the whole url (or the password) in an environment variable: url = \"${LEGACY_CRM_URL}\"",
        ));
        return None;
    }
    let expanded = match interpolate(url.get_ref(), env) {
        Ok(u) => u,
        Err(e) => {
            problems.push(ConfigProblem::at_span(file, text, url.span(), e));
            return None;
        }
    };
    let expected_scheme = match raw.kind {
        ConnectorKind::Sqlite => &["sqlite:"][..],
        ConnectorKind::Postgres => &["postgres:", "postgresql:"][..],
        _ => &["mysql:", "mariadb:"][..],
    };
    if !expected_scheme.iter().any(|s| expanded.starts_with(s)) {
        problems.push(ConfigProblem::at_span(
            file,
            text,
            url.span(),
            format!(
                "the url for a {:?} connector must start with {}",
                raw.kind,
                expected_scheme.join(" or ")
            ),
        ));
        return None;
    }
    let url = match raw.kind {
        ConnectorKind::Sqlite => resolve_sqlite_url(&expanded, base),
        // sqlx speaks MySQL's protocol to MariaDB; accept either scheme.
        ConnectorKind::Mysql => expanded.replacen("mariadb:", "mysql:", 1),
        _ => expanded,
    };
    let selection = match (&raw.table, &raw.query) {
        (Some(t), None) => {
            if !valid_table_name(t.get_ref()) {
                problems.push(ConfigProblem::at_span(
                    file,
                    text,
                    t.span(),
                    format!(
                        "{:?} is not a plain table name; use `query` for anything else",
                        t.get_ref()
                    ),
                ));
                return None;
            }
            Selection::Table(t.get_ref().clone())
        }
        (None, Some(q)) => Selection::Query(q.get_ref().trim().trim_end_matches(';').to_string()),
        _ => {
            problems.push(ConfigProblem::new(
                file,
                None,
                "give exactly one of `table` or `query`",
            ));
            return None;
        }
    };
    Some(SqlSpec { url, selection })
}

/// `sqlite://relative.db` is resolved against the configuration folder so that runs do not depend
/// on the working directory.
pub fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if rest.starts_with(':') || rest.starts_with('/') || rest.is_empty() {
        return format!("sqlite://{rest}");
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let joined = base.join(path);
    match query {
        Some(q) => format!("sqlite://{}?{q}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "CRM_URL").then(|| "postgres://gild@db/crm".to_string())
    }

    fn parse(text: &str) -> Result<Connector, Vec<ConfigProblem>> {
        parse_connector(
            Path::new("connectors/x.toml"),
            text,
            Path::new("/cfg"),
            &env,
        )
    }

    #[test]
    fn a_csv_connector_with_all_options() {
        let c = parse(
            r#"
name = "fulfilment"
kind = "csv"
record_kind = "fulfilment"
path = "exports/*.csv.gz"
delimiter = ";"
encoding = "windows-1252"
line_ending = "crlf"
primary_key = ["order_no"]
watermark = "exported_at"
"#,
        )
        .expect("valid");
        let SourceSpec::Csv(csv) = &c.spec else {
            panic!("csv")
        };
        assert_eq!(csv.path, "/cfg/exports/*.csv.gz");
        assert_eq!(csv.delimiter, b';');
        assert_eq!(csv.encoding, encoding_rs::WINDOWS_1252);
        assert_eq!(c.mapping, "fulfilment");
        assert_eq!(c.watermark.as_deref(), Some("exported_at"));
    }

    #[test]
    fn a_database_connector_takes_its_url_from_the_environment() {
        let c = parse(
            "name = \"crm\"\nkind = \"postgres\"\nrecord_kind = \"customer\"\nurl = \"${CRM_URL}\"\ntable = \"customers\"\nprimary_key = [\"id\"]\n",
        )
        .expect("valid");
        assert_eq!(
            c.spec,
            SourceSpec::Postgres(SqlSpec {
                url: "postgres://gild@db/crm".into(),
                selection: Selection::Table("customers".into())
            })
        );
    }

    #[test]
    fn refuses_passwords_in_files_and_unknown_fields_with_lines() {
        let err = parse(
            "name = \"crm\"\nkind = \"postgres\"\nrecord_kind = \"customer\"\nurl = \"postgres://u:hunter2@db/crm\"\ntable = \"t\"\nprimary_key = [\"id\"]\n",
        )
        .unwrap_err();
        assert_eq!(err[0].line, Some(4));
        assert!(err[0].message.contains("environment variable"));

        let err = parse("name = \"crm\"\nkind = \"csv\"\nrecord_kind = \"customer\"\npath = \"a.csv\"\nprimary_key = [\"id\"]\ndelimeter = \";\"\n")
            .unwrap_err();
        assert_eq!(err[0].line, Some(6));
        assert!(err[0].message.contains("delimeter"), "{}", err[0].message);
    }

    #[test]
    fn reports_misplaced_and_missing_fields() {
        let err = parse(
            "name = \"crm\"\nkind = \"sqlite\"\nrecord_kind = \"customer\"\nurl = \"sqlite://crm.db\"\ntable = \"t; drop table x\"\nprimary_key = [\"id\"]\ndelimiter = \";\"\n",
        )
        .unwrap_err();
        let text: Vec<String> = err.iter().map(|p| p.to_string()).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("`delimiter` does not apply")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("not a plain table name")),
            "{text:?}"
        );
        let err = parse("name = \"crm\"\nkind = \"mysql\"\nrecord_kind = \"customer\"\nurl = \"${NOT_SET}\"\ntable = \"t\"\nprimary_key = [\"id\"]\n")
            .unwrap_err();
        assert!(err[0].message.contains("NOT_SET is not set"));
    }

    #[test]
    fn sqlite_urls_resolve_against_the_config_folder() {
        assert_eq!(
            resolve_sqlite_url("sqlite://demo/crm.db", Path::new("/cfg")),
            "sqlite:///cfg/demo/crm.db"
        );
        assert_eq!(
            resolve_sqlite_url("sqlite:///abs/crm.db?mode=ro", Path::new("/cfg")),
            "sqlite:///abs/crm.db?mode=ro"
        );
        assert_eq!(
            resolve_sqlite_url("sqlite::memory:", Path::new("/cfg")),
            "sqlite://:memory:"
        );
    }

    #[test]
    fn a_database_connector_takes_an_overlap_and_a_soft_delete_column() {
        let base = "name = \"crm\"\nkind = \"postgres\"\nrecord_kind = \"customer\"\nurl = \"${CRM_URL}\"\ntable = \"customers\"\nprimary_key = [\"id\"]\nwatermark = \"updated_at\"\n";
        let c = parse(&format!(
            "{base}watermark_overlap = \"10m\"\nsoft_delete = \"deleted_at\"\n"
        ))
        .expect("valid");
        assert_eq!(
            c.watermark_overlap,
            Some(Overlap::Duration(std::time::Duration::from_secs(600)))
        );
        assert_eq!(c.soft_delete.as_deref(), Some("deleted_at"));
        let c = parse(&format!("{base}watermark_overlap = 100\n")).expect("valid");
        assert_eq!(c.watermark_overlap, Some(Overlap::Units(100)));
        let c = parse(base).expect("valid");
        assert_eq!((c.watermark_overlap, c.soft_delete), (None, None));

        let err = parse(&format!("{base}watermark_overlap = \"5 minutes\"\n")).unwrap_err();
        assert_eq!(err[0].line, Some(8));
        assert!(
            err[0].message.contains("not a duration"),
            "{}",
            err[0].message
        );
        let err = parse(&format!("{base}watermark_overlap = -5\n")).unwrap_err();
        assert_eq!(err[0].line, Some(8));
        let err = parse(&format!("{base}soft_delete = \"x\\\"y\"\n")).unwrap_err();
        assert_eq!(err[0].line, Some(8));
        let err = parse(&format!("{base}soft_deleted = \"gone\"\n")).unwrap_err();
        assert!(
            err[0].message.contains("soft_deleted"),
            "{}",
            err[0].message
        );
        let no_watermark = base.replace("watermark = \"updated_at\"\n", "");
        let err = parse(&format!("{no_watermark}watermark_overlap = \"5m\"\n")).unwrap_err();
        assert!(
            err[0].message.contains("needs `watermark`"),
            "{}",
            err[0].message
        );
        let err = parse(
            "name = \"x\"\nkind = \"csv\"\nrecord_kind = \"customer\"\npath = \"a.csv\"\nprimary_key = [\"id\"]\nsoft_delete = \"gone\"\n",
        )
        .unwrap_err();
        assert_eq!(err[0].line, Some(6));
        assert!(
            err[0].message.contains("does not apply to a csv"),
            "{}",
            err[0].message
        );
    }

    #[test]
    fn table_names_are_identifiers_only() {
        assert!(valid_table_name("customers"));
        assert!(valid_table_name("legacy.customers"));
        assert!(!valid_table_name("customers;drop"));
        assert!(!valid_table_name("1abc"));
        assert!(!valid_table_name(""));
    }
}
