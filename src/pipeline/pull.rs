//! Pull and standardise one source: stream its rows, map each in parallel, reject what cannot
//! be used (with raw text and reason), and keep the rest.

use super::progress::Progress;
use crate::connectors::{self, Connector};
use crate::record::{Record, Text};
use crate::standardize::Mapping;
use crate::store::{RejectRow, SourceOutcome};
use chrono::NaiveDate;
use rayon::prelude::*;
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
                record_kind: connector.record_kind.as_str().to_string(),
                status: "failed".into(),
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
    let mut records: Vec<Record> = Vec::new();
    let mut rejects: Vec<RejectRow> = Vec::new();
    // Where each key was first seen; the location is only written out for a duplicate.
    let mut first_seen: HashMap<Text, (Arc<str>, u64)> = HashMap::new();
    let (mut rows_read, mut nulled) = (0u64, 0u64);
    while let Some(batch) = reader.batches.recv().await {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "source failed while reading");
                progress.source_finished(&connector.name, false);
                return Pulled::failed(connector, started.elapsed().as_secs_f64(), e.to_string());
            }
        };
        rows_read += (batch.rows.len() + batch.bad.len()) as u64;
        for bad in batch.bad {
            rejects.push(RejectRow {
                source: source.to_string(),
                location: bad.location,
                record_key: None,
                reason: bad.reason,
                raw: bad.raw,
            });
        }
        // Mapping is CPU work: spread it over the cores, keeping row order.
        let mapped: Vec<_> = super::cpu(|| {
            batch
                .rows
                .par_iter()
                .map(|row| compiled.apply(source, row, today))
                .collect()
        });
        for (row, result) in batch.rows.iter().zip(mapped) {
            match result {
                Ok(m) => {
                    if let Some((place, line)) = first_seen.get(&m.record.key) {
                        let first = connectors::format_location(place, *line);
                        rejects.push(RejectRow {
                            source: source.to_string(),
                            location: row.location(),
                            record_key: Some(m.record.key.to_string()),
                            reason: format!(
                                "duplicate key {:?}: already used at {first}",
                                m.record.key.as_str()
                            ),
                            raw: raw_text(&columns, row, delimiter),
                        });
                        continue;
                    }
                    first_seen.insert(m.record.key.clone(), (row.place.clone(), row.line));
                    nulled += u64::from(m.nulled_fields);
                    records.push(m.record);
                }
                Err(e) => rejects.push(RejectRow {
                    source: source.to_string(),
                    location: row.location(),
                    record_key: e.key,
                    reason: e.reason,
                    raw: raw_text(&columns, row, delimiter),
                }),
            }
        }
        progress.source_rows(source, rows_read);
    }
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
            record_kind: connector.record_kind.as_str().to_string(),
            status: if rows_rejected > 0 {
                "rejects".into()
            } else {
                "ok".into()
            },
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
