//! What a run changes besides the golden rows themselves, as golden record building decides it
//! and the store publishes it: staged source records written, moved or removed, retired golden
//! IDs redirected, and the change feed's events.

use crate::record::{Record, SourceKey};
use crate::text_enum::text_enum;

text_enum! {
    /// What happened to a golden record.
    pub enum EventKind ("golden event kind") {
        Created = "created",
        Updated = "updated",
        Merged = "merged",
        Split = "split",
        Deleted = "deleted",
        /// A steward accepted the value shown where the records disagree (a field conflict):
        /// the record is unchanged, the disagreement settled.
        Resolved = "resolved",
    }
}

/// An event to write.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NewEvent {
    pub kind: EventKind,
    pub golden_id: String,
    /// merged: the IDs merged in; split: the new IDs; created by a split: the ID split from.
    pub related_ids: Vec<String>,
    /// {field: {before, after, source, key, rule}}
    pub changes: serde_json::Value,
}

/// A staged record to write: new, or its content or golden customer changed.
#[derive(Debug, Clone)]
pub enum StagedChange<'a> {
    /// Insert or replace the whole row.
    Upsert {
        record: &'a Record,
        golden_id: String,
        content_hash: i64,
    },
    /// Same content, new golden customer.
    Regolden { key: SourceKey, golden_id: String },
    /// Gone from its source.
    Delete { key: SourceKey },
}

/// A retired golden ID and the ID that stands for its customer now.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Redirect {
    pub old_id: String,
    pub new_id: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_round_trip_as_stored() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(*k));
        }
        assert_eq!(
            EventKind::NAMES,
            ["created", "updated", "merged", "split", "deleted", "resolved"]
        );
    }
}
