//! `gild init`: a first mapping for every connector that has none, proposed from the source's
//! column names and a sample of its values, each field with the evidence for it; and a starting
//! `gild.toml` when there is none. Never overwrites a file.

pub mod infer;
mod propose;

pub use infer::ColumnSample;
pub use propose::{propose, Proposal, ProposedField};

use crate::config::ConfigError;
use crate::connectors::{self, Connector, SourceError};
use std::path::{Path, PathBuf};

/// Rows sampled per source.
pub const SAMPLE_ROWS: usize = 1000;

/// The `gild.toml` written when there is none: the shipped defaults, a SQLite store.
pub const STARTING_CONFIG: &str = r#"# gild configuration, written by `gild init`. Relative paths start from this file's folder;
# secrets come from the environment ("${VAR}" or "${VAR:-default}").
version = 1
connectors = "connectors"    # one file per source system
mappings = "mappings"        # one file per mapping, named by the connector's `mapping`

[store]
url = "${GILD_STORE_URL:-sqlite://gild.db}"

[jobs]
schedule = "${GILD_SCHEDULE:-0 0 2 * * *}"   # the nightly sync for `gild worker`
timezone = "UTC"

# No [matching]: the built-in blocking rules, comparisons and thresholds apply
# (docs/matching.md says how to tune them).
"#;

/// What `gild init` did for one connector.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InitOutcome {
    pub source: String,
    pub mapping_file: PathBuf,
    /// Written now; false when the file was there already (left alone) or the source failed.
    pub written: bool,
    pub already_there: bool,
    pub error: Option<String>,
    pub rows_sampled: usize,
    /// `target = {...}` lines with their evidence.
    pub inferred: Vec<(String, String)>,
    /// Columns not placed, with why.
    pub unplaced: Vec<(String, String)>,
}

/// Reads up to `rows` rows of a source as column samples.
pub async fn sample(
    connector: &Connector,
    rows: usize,
) -> Result<(Vec<ColumnSample>, usize), SourceError> {
    let mut reader = connectors::open(connector).await?;
    let mut columns: Vec<ColumnSample> = reader
        .columns
        .iter()
        .zip(&reader.types)
        .map(|(name, ty)| ColumnSample {
            name: name.clone(),
            ty: *ty,
            values: Vec::new(),
        })
        .collect();
    let mut seen = 0;
    while let Some(batch) = reader.batches.recv().await {
        for row in batch?.rows {
            if seen >= rows {
                break;
            }
            seen += 1;
            for (c, v) in columns.iter_mut().zip(row.values) {
                if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
                    c.values.push(v);
                }
            }
        }
        if seen >= rows {
            break;
        }
    }
    Ok((columns, seen))
}

/// The mapping file's text: a header, the defaults, then the fields, each under its evidence.
pub fn render(connector: &Connector, rows: usize, p: &Proposal) -> String {
    let mut out = format!(
        "# {} ({} records): proposed by `gild init` from the column names and {} sampled rows.\n\
         # Check each field against its evidence, then run `gild sources check`.\n",
        connector.name, connector.record_kind, rows
    );
    if !p.unplaced.is_empty() {
        out.push_str("# Columns not placed:\n");
        for (c, why) in &p.unplaced {
            out.push_str(&format!("#   {c}: {why}\n"));
        }
    }
    out.push_str(&format!(
        "description = {:?}\n\n[defaults]\n",
        format!("{}: proposed by gild init", connector.name)
    ));
    for (k, v) in &p.defaults {
        out.push_str(&format!("{k} = {v}\n"));
    }
    for table in ["fields", "facts"] {
        let fields: Vec<&ProposedField> = p.fields.iter().filter(|f| f.table == table).collect();
        if fields.is_empty() {
            continue;
        }
        out.push_str(&format!("\n[{table}]\n"));
        for f in fields {
            out.push_str(&format!("# {}\n{}\n", f.evidence, f.line));
        }
    }
    out
}

/// Writes a mapping for each connector in `connectors` whose file in `mappings_dir` is missing.
pub async fn init_mappings(connectors: &[Connector], mappings_dir: &Path) -> Vec<InitOutcome> {
    let mut outcomes = Vec::new();
    for c in connectors {
        let file = mappings_dir.join(format!("{}.toml", c.mapping));
        let mut o = InitOutcome {
            source: c.name.clone(),
            mapping_file: file.clone(),
            written: false,
            already_there: file.exists(),
            error: None,
            rows_sampled: 0,
            inferred: Vec::new(),
            unplaced: Vec::new(),
        };
        if o.already_there {
            outcomes.push(o);
            continue;
        }
        match sample(c, SAMPLE_ROWS).await {
            Err(e) => o.error = Some(e.to_string()),
            Ok((columns, rows)) => {
                let p = propose(c.record_kind, &c.primary_key, &columns);
                let text = render(c, rows, &p);
                o.rows_sampled = rows;
                o.inferred = p
                    .fields
                    .iter()
                    .map(|f| (f.line.clone(), f.evidence.clone()))
                    .collect();
                o.unplaced = p.unplaced.clone();
                let written = std::fs::create_dir_all(mappings_dir).and_then(|()| {
                    // create_new: never overwrite, even a file that appeared meanwhile.
                    use std::io::Write;
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&file)?
                        .write_all(text.as_bytes())
                });
                match written {
                    Ok(()) => o.written = true,
                    Err(e) => o.error = Some(format!("cannot write {}: {e}", file.display())),
                }
            }
        }
        outcomes.push(o);
    }
    outcomes
}

/// Writes the starting `gild.toml` at `file` unless it exists; true when written.
pub fn write_starting_config(file: &Path) -> std::io::Result<bool> {
    use std::io::Write;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
    {
        Ok(mut f) => f.write_all(STARTING_CONFIG.as_bytes()).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// The connectors and the mappings folder a `gild.toml` names, without needing the mappings.
pub fn load_layout(file: &Path) -> Result<(Vec<Connector>, PathBuf), ConfigError> {
    crate::config::Config::load_connectors(file)
}
