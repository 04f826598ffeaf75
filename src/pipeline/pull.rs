//! Pull and standardise one source: stream its rows, map each in parallel, reject what cannot
//! be used (with raw text and reason), and keep the rest.

use super::inputs::Inputs;
use super::progress::Progress;
use super::report::{SourceReport, StageTime};
use super::{RunContext, SyncError};
use crate::connectors::watermark::{compare_values, is_deleted};
use crate::connectors::{self, Connector, Since};
use crate::record::{Record, Text};
use crate::run::SourceStatus;
use crate::runtime::cpu;
use crate::standardize::mapping::{Mapped, RowError};
use crate::standardize::Mapping;
use crate::store::{QualityFinding, RejectRow, SourceOutcome};
use chrono::NaiveDate;
use rayon::prelude::*;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// What one source gave this run.
pub struct Pulled {
    pub outcome: SourceOutcome,
    pub records: Vec<Record>,
    pub rejects: Vec<RejectRow>,
    /// Values quarantined from the records kept.
    pub findings: Vec<QualityFinding>,
    /// (watermark column, highest value seen)
    pub watermark: Option<(String, String)>,
    /// The lower bound when only rows at or past a watermark were read (the rest of the
    /// source's records are its staged ones).
    pub since: Option<String>,
    /// Keys of rows whose soft-delete column is set: deletions.
    pub deleted: Vec<String>,
    /// Why a pull asked to start at a watermark read every row instead.
    pub read_in_full_because: Option<String>,
}

impl Pulled {
    pub fn failed(connector: &Connector, seconds: f64, error: String) -> Pulled {
        Pulled {
            outcome: SourceOutcome {
                source: connector.name.clone(),
                record_kind: connector.record_kind,
                status: SourceStatus::Failed,
                rows_read: 0,
                rows_rejected: 0,
                rows_kept: 0,
                fields_nulled: 0,
                seconds,
                error: Some(error),
            },
            records: Vec::new(),
            rejects: Vec::new(),
            findings: Vec::new(),
            watermark: None,
            since: None,
            deleted: Vec::new(),
            read_in_full_because: None,
        }
    }
}

/// What the sources gave this run besides their records.
pub struct PullOutcome {
    pub rejects: Vec<RejectRow>,
    pub findings: Vec<QualityFinding>,
    /// (source, watermark column, highest value seen)
    pub watermarks: Vec<(String, String, String)>,
    pub reports: Vec<SourceReport>,
    /// The sources read in full: their records missing now are gone.
    pub read_in_full: HashSet<String>,
}

/// Pulls every enabled source at once, each failing alone: a failed source's last good records
/// stand in for it. Each source's outcome goes to `outcomes` as soon as it is known, so that a
/// failed run records them too. The records come back in canonical order.
pub async fn pull_sources(
    cx: &RunContext<'_>,
    stages: &mut Vec<StageTime>,
    outcomes: &mut Vec<SourceOutcome>,
) -> Result<(Vec<Record>, PullOutcome), SyncError> {
    let (plans, full_because) = plan_watermarks(cx).await?;
    let pulls = pull_enabled(cx, &plans, stages).await;
    let mut records: Vec<Record> = Vec::new();
    let mut pulled = PullOutcome {
        rejects: Vec::new(),
        findings: Vec::new(),
        watermarks: Vec::new(),
        reports: Vec::new(),
        read_in_full: HashSet::new(),
    };
    let mut failures = Vec::new();
    for p in pulls {
        let mut kept_from_last_run = 0;
        if p.outcome.status == SourceStatus::Failed {
            failures.push(p.outcome.error.clone().unwrap_or_default());
            // Keep the source's last good records so that its customers do not vanish.
            let last = cx.store.staged_records(&p.outcome.source).await?;
            kept_from_last_run = last.len() as u64;
            records.extend(last);
        } else {
            // A source read since its watermark is completed by its staged records, so that its
            // record set is the one a full read would give: keys missing from it are deletions.
            pulled.read_in_full.insert(p.outcome.source.clone());
            let carried = match &p.since {
                Some(_) => Some(unread_staged(cx, &p).await?),
                None => None,
            };
            let mut findings = p.findings;
            let carried = carried.map(|(staged, staged_findings)| {
                findings.extend(staged_findings);
                staged
            });
            if records.is_empty() {
                records = p.records; // a move: a million records are not copied
            } else {
                records.extend(p.records);
            }
            if let Some(staged) = carried {
                kept_from_last_run = staged.len() as u64;
                records.extend(staged);
            }
            pulled.rejects.extend(p.rejects);
            pulled.findings.extend(findings);
            pulled.watermarks.extend(
                p.watermark
                    .map(|(col, v)| (p.outcome.source.clone(), col, v)),
            );
        }
        outcomes.push(p.outcome.clone());
        let source = &p.outcome.source;
        let read_in_full_because = match (&p.since, &p.read_in_full_because) {
            (Some(_), _) => None,
            (None, Some(why)) => Some(why.clone()),
            (None, None) => full_because.get(source).cloned(),
        };
        pulled.reports.push(SourceReport {
            kept_from_last_run,
            since_watermark: p.since,
            soft_deleted: p.deleted.len() as u64,
            read_in_full_because,
            outcome: p.outcome,
        });
    }
    if pulled.read_in_full.is_empty() {
        return Err(SyncError::AllSourcesFailed(failures));
    }
    if records.len() >= crate::blocking::MAX_RECORDS {
        return Err(SyncError::TooManyRecords(records.len()));
    }
    canonical_order(&mut records);
    Ok((records, pulled))
}

/// A source read since its watermark: its staged records whose rows were not read this run
/// (rows read replace theirs by key, soft-deleted ones drop theirs), and their quality findings.
async fn unread_staged(
    cx: &RunContext<'_>,
    p: &Pulled,
) -> Result<(Vec<Record>, Vec<QualityFinding>), SyncError> {
    let source = p.outcome.source.as_str();
    let read: HashSet<&str> = p
        .records
        .iter()
        .map(|r| r.key.as_str())
        .chain(p.rejects.iter().filter_map(|r| r.record_key.as_deref()))
        .chain(p.deleted.iter().map(String::as_str))
        .collect();
    let mut staged = cx.store.staged_records(source).await?;
    staged.retain(|r| !read.contains(r.key.as_str()));
    let findings = cx
        .store
        .quality_findings(Some(source), None, i64::MAX)
        .await?
        .into_iter()
        .filter(|f| !read.contains(f.record_key.as_str()))
        .map(|f| QualityFinding {
            source: f.source,
            location: f.location,
            record_key: f.record_key,
            field: f.field,
            raw: f.raw,
            reason: f.reason,
        })
        .collect();
    Ok((staged, findings))
}

/// Which database sources can be read since their committed watermark, and why each other
/// source with a watermark is read in full. A watermark is used only when the last published
/// run read the source with this same configuration and gild version: the staged records that
/// complete the pull must be mapped as a full read would map them now.
async fn plan_watermarks(
    cx: &RunContext<'_>,
) -> Result<(HashMap<String, Since>, HashMap<String, String>), SyncError> {
    let with_watermark: Vec<&Connector> = cx
        .config
        .connectors
        .iter()
        .filter(|c| c.enabled && c.watermark.is_some())
        .filter(|c| !matches!(c.spec, connectors::SourceSpec::Csv(_)))
        .collect();
    let mut plans = HashMap::new();
    let mut full = HashMap::new();
    if with_watermark.is_empty() {
        return Ok((plans, full));
    }
    let everyone = |why: &str| -> HashMap<String, String> {
        with_watermark
            .iter()
            .map(|c| (c.name.clone(), why.to_string()))
            .collect()
    };
    if cx.options.full || cx.options.retrain {
        let why = if cx.options.full {
            "--full"
        } else {
            "--retrain"
        };
        return Ok((plans, everyone(why)));
    }
    let last = cx.store.last_published_inputs().await?;
    let last_inputs = last.as_ref().and_then(|l| {
        l.fingerprint
            .as_deref()
            .and_then(|f| serde_json::from_str::<Inputs>(f).ok())
    });
    let (Some(last), Some(last_inputs)) = (last, last_inputs) else {
        return Ok((plans, everyone("no watermark committed yet")));
    };
    if last_inputs.version != cx.inputs.version || last_inputs.config != cx.inputs.config {
        return Ok((
            plans,
            everyone("the configuration or gild's version changed since the last run"),
        ));
    }
    let committed: HashMap<String, (String, String, String)> = cx
        .store
        .watermarks()
        .await?
        .into_iter()
        .map(|(source, column, value, run)| (source, (column, value, run)))
        .collect();
    for c in with_watermark {
        let column = c.watermark.clone().unwrap_or_default();
        match committed.get(&c.name) {
            Some((col, value, run)) if *col == column && *run == last.run_id => {
                plans.insert(
                    c.name.clone(),
                    Since {
                        column,
                        last: value.clone(),
                        overlap: c.watermark_overlap,
                    },
                );
            }
            _ => {
                full.insert(
                    c.name.clone(),
                    "the last run did not read it to a watermark".to_string(),
                );
            }
        }
    }
    Ok((plans, full))
}

/// The pull stage: every enabled source at once.
async fn pull_enabled(
    cx: &RunContext<'_>,
    plans: &HashMap<String, Since>,
    stages: &mut Vec<StageTime>,
) -> Vec<Pulled> {
    let (config, progress) = (cx.config, cx.progress);
    let today = cx.started_at.date_naive();
    progress.stage_started("pull");
    let started = Instant::now();
    let enabled: Vec<_> = config.connectors.iter().filter(|c| c.enabled).collect();
    let pulls = futures::future::join_all(enabled.iter().map(|c| async move {
        match config.mapping_for(c) {
            Some(m) => pull(c, m, plans.get(&c.name), today, progress).await,
            None => Pulled::failed(
                c,
                0.0,
                format!("source {}: mapping {:?} is not loaded", c.name, c.mapping),
            ),
        }
    }))
    .await;
    let seconds = started.elapsed().as_secs_f64();
    progress.stage_finished("pull", seconds);
    stages.push(StageTime::now("pull", seconds));
    pulls
}

/// Databases return rows in no promised order; matching samples pairs by position, so a
/// canonical order makes the result depend only on the data (numeric keys sort as numbers).
fn canonical_order(records: &mut [Record]) {
    cpu(|| {
        records.par_sort_unstable_by(|a, b| {
            (&a.source, a.key.len(), &a.key).cmp(&(&b.source, b.key.len(), &b.key))
        })
    });
}

/// Renders a mapped-but-rejected row for the rejects table: cells joined like the source wrote them.
fn raw_text(columns: &[String], row: &connectors::RawRow, csv_delimiter: Option<u8>) -> String {
    match csv_delimiter {
        Some(d) => row
            .values
            .iter()
            .map(|v| v.as_deref().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(&char::from(d).to_string()),
        None => columns
            .iter()
            .zip(&row.values)
            .map(|(c, v)| format!("{c}={}", v.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

pub async fn pull(
    connector: &Connector,
    mapping: &Mapping,
    since: Option<&Since>,
    today: NaiveDate,
    progress: &dyn Progress,
) -> Pulled {
    let span = tracing::info_span!("pull", source = %connector.name, kind = connector.kind_name());
    pull_in_span(connector, mapping, since, today, progress)
        .instrument(span)
        .await
}

async fn pull_in_span(
    connector: &Connector,
    mapping: &Mapping,
    since: Option<&Since>,
    today: NaiveDate,
    progress: &dyn Progress,
) -> Pulled {
    let started = Instant::now();
    progress.source_started(&connector.name);
    let mut reader = match connectors::open_since(connector, since).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "source failed");
            progress.source_finished(&connector.name, false);
            return Pulled::failed(connector, started.elapsed().as_secs_f64(), e.to_string());
        }
    };
    let compiled = match mapping.compile_typed(
        &reader.columns,
        &reader.types,
        connector.record_kind,
        &connector.primary_key,
        &reader.place,
    ) {
        Ok(c) => c,
        Err(problems) => {
            let msg = format!(
                "source {}: its mapping does not fit its columns: {}",
                connector.name,
                problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            tracing::warn!(problems = problems.len(), "mapping does not fit the source");
            progress.source_finished(&connector.name, false);
            return Pulled::failed(connector, started.elapsed().as_secs_f64(), msg);
        }
    };
    let delimiter = match &connector.spec {
        connectors::SourceSpec::Csv(c) => Some(c.delimiter),
        _ => None,
    };
    let database = delimiter.is_none();
    let soft_delete = match &connector.soft_delete {
        Some(col) => match reader.columns.iter().position(|c| c == col) {
            Some(i) => Some(i),
            None => {
                let msg = format!(
                    "source {}: the soft_delete column {col:?} is not among the columns of the {}; select it, or remove `soft_delete` from {}",
                    connector.name,
                    reader.place,
                    connector.file.display()
                );
                tracing::warn!("soft_delete column missing");
                progress.source_finished(&connector.name, false);
                return Pulled::failed(connector, started.elapsed().as_secs_f64(), msg);
            }
        },
        None => None,
    };
    // A database's watermark is the highest value of its column among the rows read.
    let watermark_column = connector
        .watermark
        .as_ref()
        .filter(|_| database)
        .and_then(|col| reader.columns.iter().position(|c| c == col));
    let mut highest: Option<String> = None;
    let columns = reader.columns.clone();
    let source: &str = &connector.name;
    let mut kept = Kept {
        source,
        columns: &columns,
        delimiter,
        records: Vec::new(),
        rejects: Vec::new(),
        findings: Vec::new(),
        first_seen: HashMap::new(),
        soft_delete,
        deleted: Vec::new(),
    };
    let mut rows_read = 0u64;
    // A batch mapped, waiting to be taken in while the next one is mapped: taking in (duplicate
    // keys, rejects, moving records) runs on one core, and the cores were a third idle during
    // the 1M benchmark's pull when the two took turns.
    let mut mapped_before: Option<(connectors::RowBatch, Vec<Result<Mapped, RowError>>)> = None;
    loop {
        let batch = match reader.batches.recv().await {
            Some(Ok(b)) => Some(b),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "source failed while reading");
                progress.source_finished(&connector.name, false);
                return Pulled::failed(connector, started.elapsed().as_secs_f64(), e.to_string());
            }
            None => None,
        };
        if let Some(b) = &batch {
            rows_read += (b.rows.len() + b.bad.len()) as u64;
            if let Some(i) = watermark_column {
                for v in b.rows.iter().filter_map(|r| r.values[i].as_deref()) {
                    if highest
                        .as_deref()
                        .is_none_or(|h| compare_values(v, h).is_gt())
                    {
                        highest = Some(v.to_string());
                    }
                }
            }
        }
        let before = mapped_before.take();
        let ((), mapped) = crate::runtime::cpu(|| {
            rayon::join(
                || {
                    if let Some((b, m)) = before {
                        kept.take_in(b, m);
                    }
                },
                || {
                    batch.as_ref().map(|b| {
                        b.rows
                            .par_iter()
                            .map(|row| compiled.apply(source, row, today))
                            .collect::<Vec<_>>()
                    })
                },
            )
        });
        match (batch, mapped) {
            (Some(b), Some(m)) => mapped_before = Some((b, m)),
            _ => break,
        }
        progress.source_rows(source, rows_read);
    }
    let Kept {
        records,
        rejects,
        findings,
        deleted,
        ..
    } = kept;
    let since_bound = reader.since.as_ref().map(|b| {
        let col = connector.watermark.as_deref().unwrap_or("watermark");
        format!("{col} >= {b}")
    });
    let watermark = match (&connector.watermark, database) {
        (Some(col), true) => {
            if watermark_column.is_none() {
                tracing::warn!(column = %col, "the watermark column is not selected: every sync reads the source in full");
            }
            // Never behind the committed one: the row that held it may be gone.
            let committed = since
                .filter(|_| since_bound.is_some())
                .map(|s| s.last.clone());
            let top = match (highest, committed) {
                (Some(h), Some(c)) if compare_values(&c, &h).is_gt() => Some(c),
                (h, c) => h.or(c),
            };
            top.map(|v| (col.clone(), v))
        }
        (Some(col), false) => records
            .iter()
            .filter_map(|r| r.updated_at)
            .max()
            .map(|v| (col.clone(), v.format("%Y-%m-%d %H:%M:%S").to_string())),
        (None, _) => None,
    };
    let rows_rejected = rejects.len() as u64;
    tracing::info!(
        rows_read,
        rows_rejected,
        soft_deleted = deleted.len(),
        since = since_bound.as_deref().unwrap_or("-"),
        values_quarantined = findings.len(),
        kept = records.len(),
        "source pulled"
    );
    progress.source_finished(source, true);
    Pulled {
        outcome: SourceOutcome {
            source: source.to_string(),
            record_kind: connector.record_kind,
            status: SourceStatus::read(rows_rejected),
            rows_read,
            rows_rejected,
            rows_kept: records.len() as u64,
            fields_nulled: findings.len() as u64,
            seconds: started.elapsed().as_secs_f64(),
            error: None,
        },
        records,
        rejects,
        findings,
        watermark,
        since: since_bound,
        deleted,
        read_in_full_because: reader.read_in_full_because.take(),
    }
}

/// What a source keeps as its batches are taken in.
struct Kept<'a> {
    source: &'a str,
    columns: &'a [String],
    delimiter: Option<u8>,
    records: Vec<Record>,
    rejects: Vec<RejectRow>,
    findings: Vec<QualityFinding>,
    /// Where each key was first seen; the location is only written out for a duplicate.
    first_seen: HashMap<Text, (Arc<str>, u64)>,
    /// The soft-delete column's index.
    soft_delete: Option<usize>,
    /// Keys of soft-deleted rows.
    deleted: Vec<String>,
}

impl Kept<'_> {
    /// Takes in one mapped batch, in row order: its unreadable rows, then each row kept or
    /// rejected (a mapping error, or a key already seen).
    fn take_in(&mut self, batch: connectors::RowBatch, mapped: Vec<Result<Mapped, RowError>>) {
        for bad in batch.bad {
            self.rejects.push(RejectRow {
                source: self.source.to_string(),
                location: bad.location,
                record_key: None,
                reason: bad.reason,
                raw: bad.raw,
            });
        }
        for (row, result) in batch.rows.iter().zip(mapped) {
            // A soft-deleted row is a deletion, neither kept nor rejected, whatever it holds.
            if let Some(i) = self.soft_delete {
                if is_deleted(row.values[i].as_deref()) {
                    let key = match &result {
                        Ok(m) => Some(m.record.key.to_string()),
                        Err(e) => e.key.clone(),
                    };
                    self.deleted.extend(key);
                    continue;
                }
            }
            match result {
                Ok(m) => match self.first_seen.entry(m.record.key.clone()) {
                    Entry::Occupied(first) => {
                        let (place, line) = first.get();
                        let first = connectors::format_location(place, *line);
                        self.rejects.push(RejectRow {
                            source: self.source.to_string(),
                            location: row.location(),
                            record_key: Some(m.record.key.to_string()),
                            reason: format!(
                                "duplicate key {:?}: already used at {first}",
                                m.record.key.as_str()
                            ),
                            raw: raw_text(self.columns, row, self.delimiter),
                        });
                    }
                    Entry::Vacant(slot) => {
                        slot.insert((row.place.clone(), row.line));
                        self.findings
                            .extend(m.findings.into_iter().map(|f| QualityFinding {
                                source: self.source.to_string(),
                                location: row.location(),
                                record_key: m.record.key.to_string(),
                                field: f.field.to_string(),
                                raw: f.raw,
                                reason: f.reason,
                            }));
                        self.records.push(m.record);
                    }
                },
                Err(e) => self.rejects.push(RejectRow {
                    source: self.source.to_string(),
                    location: row.location(),
                    record_key: e.key,
                    reason: e.reason,
                    raw: raw_text(self.columns, row, self.delimiter),
                }),
            }
        }
    }
}
