//! Pull and standardise one source: stream its rows, map each in parallel, reject what cannot
//! be used (with raw text and reason), and keep the rest.

use super::progress::Progress;
use super::report::{SourceReport, StageTime};
use super::{RunContext, SyncError};
use crate::connectors::{self, Connector};
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
    let pulls = pull_enabled(cx, stages).await;
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
            pulled.read_in_full.insert(p.outcome.source.clone());
            if records.is_empty() {
                records = p.records; // a move: a million records are not copied
            } else {
                records.extend(p.records);
            }
            pulled.rejects.extend(p.rejects);
            pulled.findings.extend(p.findings);
            pulled.watermarks.extend(
                p.watermark
                    .map(|(col, v)| (p.outcome.source.clone(), col, v)),
            );
        }
        outcomes.push(p.outcome.clone());
        pulled.reports.push(SourceReport {
            outcome: p.outcome,
            kept_from_last_run,
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

/// The pull stage: every enabled source at once.
async fn pull_enabled(cx: &RunContext<'_>, stages: &mut Vec<StageTime>) -> Vec<Pulled> {
    let (config, progress) = (cx.config, cx.progress);
    let today = cx.started_at.date_naive();
    progress.stage_started("pull");
    let started = Instant::now();
    let enabled: Vec<_> = config.connectors.iter().filter(|c| c.enabled).collect();
    let pulls = futures::future::join_all(enabled.iter().map(|c| async move {
        match config.mapping_for(c) {
            Some(m) => pull(c, m, today, progress).await,
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
    today: NaiveDate,
    progress: &dyn Progress,
) -> Pulled {
    let span = tracing::info_span!("pull", source = %connector.name, kind = connector.kind_name());
    pull_in_span(connector, mapping, today, progress)
        .instrument(span)
        .await
}

async fn pull_in_span(
    connector: &Connector,
    mapping: &Mapping,
    today: NaiveDate,
    progress: &dyn Progress,
) -> Pulled {
    let started = Instant::now();
    progress.source_started(&connector.name);
    let mut reader = match connectors::open(connector).await {
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
        ..
    } = kept;
    let watermark = connector.watermark.as_ref().and_then(|col| {
        records
            .iter()
            .filter_map(|r| r.updated_at)
            .max()
            .map(|v| (col.clone(), v.format("%Y-%m-%d %H:%M:%S").to_string()))
    });
    let rows_rejected = rejects.len() as u64;
    tracing::info!(
        rows_read,
        rows_rejected,
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
