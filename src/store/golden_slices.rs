//! A publish's golden rows and their change-feed events, prepared one slice at a time while the
//! store writes the slice before it.
//!
//! Building a slice (survivorship, lineage, the created events' JSON) is work for the cores;
//! writing it is work for SQLite's own thread. Done in turn, each waited for the other: on the
//! 1M benchmark's first publish the cores were a third idle.

use super::events::{created_changes_json, lineage_changes, EncodedEvent};
use super::StoreError;
use crate::golden::{EventKind, GoldenVersion, GoldenVersions};
use rayon::prelude::*;
use std::collections::HashMap;
use std::ops::Range;

/// Rows prepared between two turns of the writer: small enough that a statement the writer
/// sent is never left finished and waiting for long.
const PREPARE_STEP: usize = 512;

/// A slice of golden rows and the events of the rows this run created.
pub(crate) struct PreparedSlice {
    pub rows: Vec<GoldenVersion>,
    /// Per row: its created event, or None for a row created by an earlier run (its event
    /// depends on the stored version, read inside the transaction).
    created: Vec<Option<EncodedEvent>>,
}

/// The stored lineage and record count of golden customers about to be updated.
pub(crate) type Before = HashMap<String, (serde_json::Value, i64)>;

fn change_set_error(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("a change set could not be written as JSON: {e}"))
}

/// How a created event's change set is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CreatedChanges {
    /// In full, in the event.
    Written,
    /// As JSON `null`: the golden record's lineage stands for it until the record changes or
    /// goes, when the SQLite store's triggers write it out (migration 0004). Readers expand it.
    SharedWithLineage,
}

fn created_event(
    v: &GoldenVersion,
    split_from: &HashMap<String, String>,
    stored: CreatedChanges,
) -> Result<EncodedEvent, StoreError> {
    let g = &v.record;
    let changes = match stored {
        CreatedChanges::Written => created_changes_json(&g.lineage, g.record_count),
        CreatedChanges::SharedWithLineage => {
            serde_json::value::RawValue::from_string("null".into())
        }
    };
    Ok(EncodedEvent {
        kind: EventKind::Created,
        golden_id: g.golden_id.clone(),
        related_ids: split_from.get(&g.golden_id).cloned().into_iter().collect(),
        changes: changes.map_err(change_set_error)?,
    })
}

/// Builds the rows at `range`, yielding to the caller's other futures between steps, so that a
/// writer joined with this keeps the store busy.
pub(crate) async fn prepare_slice(
    upserts: &dyn GoldenVersions,
    range: Range<usize>,
    run: &str,
    split_from: &HashMap<String, String>,
    stored: CreatedChanges,
) -> Result<PreparedSlice, StoreError> {
    let mut slice = PreparedSlice {
        rows: Vec::with_capacity(range.len()),
        created: Vec::with_capacity(range.len()),
    };
    let end = range.end;
    for start in range.step_by(PREPARE_STEP) {
        let rows = upserts.versions(start..end.min(start + PREPARE_STEP));
        let created = rows
            .par_iter()
            .map(|v| {
                (v.record.created_run == run)
                    .then(|| created_event(v, split_from, stored))
                    .transpose()
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        slice.rows.extend(rows);
        slice.created.extend(created);
        tokio::task::yield_now().await;
    }
    Ok(slice)
}

impl PreparedSlice {
    /// Rows created by earlier runs: their stored versions must be read for the change feed.
    pub fn earlier_ids(&self) -> Vec<&str> {
        self.rows
            .iter()
            .zip(&self.created)
            .filter(|(_, c)| c.is_none())
            .map(|(v, _)| v.record.golden_id.as_str())
            .collect()
    }

    /// Every row's event, in row order. A row whose stored version is missing from `before`
    /// is new to the store, so it is created.
    pub fn take_events(
        &mut self,
        before: &Before,
        split_from: &HashMap<String, String>,
        stored: CreatedChanges,
    ) -> Result<Vec<EncodedEvent>, StoreError> {
        let created = std::mem::take(&mut self.created);
        self.rows
            .par_iter()
            .zip(created)
            .map(|(v, made)| {
                let g = &v.record;
                match (made, before.get(&g.golden_id)) {
                    (Some(event), _) => Ok(event),
                    (None, None) => created_event(v, split_from, stored),
                    (None, Some((lineage, count))) => Ok(EncodedEvent {
                        kind: EventKind::Updated,
                        golden_id: g.golden_id.clone(),
                        related_ids: Vec::new(),
                        changes: serde_json::value::to_raw_value(&lineage_changes(
                            Some((lineage, *count)),
                            Some((&g.lineage.to_value(), g.record_count)),
                        ))
                        .map_err(change_set_error)?,
                    }),
                }
            })
            .collect()
    }
}
