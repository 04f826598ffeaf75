//! `gild sources check`: connect to every source, count its rows and show a few as mapped.

use crate::config::Config;
use crate::connectors::{self, Connector};
use crate::record::Record;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct SourceCheck {
    pub source: String,
    pub kind: String,
    pub record_kind: String,
    pub ok: bool,
    pub error: Option<String>,
    pub columns: Vec<String>,
    pub rows: u64,
    /// Rows that would be rejected (bad rows and mapping failures).
    pub rejected: u64,
    /// Values that would be quarantined (dropped from their field, the record kept), per field.
    pub quarantined: BTreeMap<&'static str, u64>,
    pub sample: Vec<Record>,
    /// Reasons for the first few rejections.
    pub sample_rejections: Vec<String>,
    /// The first few findings: where, the field and why (the value itself only in the store).
    pub sample_findings: Vec<String>,
}

async fn check_one(connector: &Connector, config: &Config, sample_size: usize) -> SourceCheck {
    let mut out = SourceCheck {
        source: connector.name.clone(),
        kind: connector.kind_name().to_string(),
        record_kind: connector.record_kind.as_str().to_string(),
        ok: false,
        error: None,
        columns: Vec::new(),
        rows: 0,
        rejected: 0,
        quarantined: BTreeMap::new(),
        sample: Vec::new(),
        sample_rejections: Vec::new(),
        sample_findings: Vec::new(),
    };
    let Some(mapping) = config.mapping_for(connector) else {
        out.error = Some(format!("mapping {:?} is not loaded", connector.mapping));
        return out;
    };
    let mut reader = match connectors::open(connector).await {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    out.columns = reader.columns.clone();
    let compiled = match mapping.compile_typed(
        &reader.columns,
        &reader.types,
        connector.record_kind,
        &connector.primary_key,
        &reader.place,
    ) {
        Ok(c) => c,
        Err(problems) => {
            out.error = Some(
                problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            return out;
        }
    };
    let today = chrono::Utc::now().date_naive();
    while let Some(batch) = reader.batches.recv().await {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                out.error = Some(e.to_string());
                return out;
            }
        };
        out.rows += (batch.rows.len() + batch.bad.len()) as u64;
        out.rejected += batch.bad.len() as u64;
        for bad in batch.bad {
            if out.sample_rejections.len() < sample_size {
                out.sample_rejections
                    .push(format!("{}: {}", bad.location, bad.reason));
            }
        }
        for row in &batch.rows {
            match compiled.apply(&connector.name, row, today) {
                Ok(m) => {
                    for f in &m.findings {
                        *out.quarantined.entry(f.field).or_default() += 1;
                        if out.sample_findings.len() < sample_size {
                            out.sample_findings.push(format!(
                                "{} (key {}) {}: {}",
                                row.location(),
                                m.record.key,
                                f.field,
                                f.reason
                            ));
                        }
                    }
                    if out.sample.len() < sample_size {
                        out.sample.push(m.record);
                    }
                }
                Err(e) => {
                    out.rejected += 1;
                    if out.sample_rejections.len() < sample_size {
                        out.sample_rejections
                            .push(format!("{}: {}", row.location(), e.reason));
                    }
                }
            }
        }
    }
    out.ok = true;
    out
}

/// Checks every enabled source, concurrently.
pub async fn check_sources(config: &Config, sample_size: usize) -> Vec<SourceCheck> {
    let enabled: Vec<&Connector> = config.connectors.iter().filter(|c| c.enabled).collect();
    futures::future::join_all(
        enabled
            .into_iter()
            .map(|c| check_one(c, config, sample_size)),
    )
    .await
}
