//! Pull and standardise one source: stream its rows, map each in parallel, reject what cannot
//! be used (with raw text and reason), and keep the rest.

use super::progress::Progress;
use crate::connectors::{self, Connector};
use crate::record::{Record, Text};
use crate::run::SourceStatus;
use crate::standardize::mapping::{Mapped, RowError};
use crate::standardize::Mapping;
use crate::store::{RejectRow, SourceOutcome};
use chrono::NaiveDate;
use rayon::prelude::*;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// What one source gave this run.
pub struct Pulled {
    pub outcome: SourceOutcome,
    pub records: Vec<Record>,
    pub rejects: Vec<RejectRow>,
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
            watermark: None,
        }
    }
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
    let compiled = match mapping.compile(
        &reader.columns,
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
        first_seen: HashMap::new(),
        nulled: 0,
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
        nulled,
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
            fields_nulled: nulled,
            seconds: started.elapsed().as_secs_f64(),
            error: None,
        },
        records,
        rejects,
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
    /// Where each key was first seen; the location is only written out for a duplicate.
    first_seen: HashMap<Text, (Arc<str>, u64)>,
    nulled: u64,
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
                        self.nulled += u64::from(m.nulled_fields);
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
