//! The run report: what a sync read, rejected, matched and published, and how long each stage took.

use crate::blocking::{BlockWarning, RuleStats};
use crate::golden::GoldenCounts;
use crate::run::{RunStatus, SourceStatus, Trigger};
use crate::store::SourceOutcome;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    #[serde(flatten)]
    pub outcome: SourceOutcome,
    /// When the source failed, or was read since its watermark: how many of its last good
    /// records were kept in place of rows not read.
    pub kept_from_last_run: u64,
    /// The lower bound when only rows at or past the source's watermark were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_watermark: Option<String>,
    /// Rows whose soft-delete column is set: removed from the source's records.
    pub soft_deleted: u64,
    /// Why a database source with a watermark was read in full (`--full`, the first sync, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_in_full_because: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageTime {
    pub stage: String,
    pub seconds: f64,
    /// The process's peak resident memory so far, when the OS tells (Linux).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_mb: Option<f64>,
}

impl StageTime {
    pub fn now(stage: &str, seconds: f64) -> StageTime {
        StageTime {
            stage: stage.to_string(),
            seconds,
            peak_memory_mb: peak_memory_mb(),
        }
    }
}

/// Peak resident set size of this process (VmHWM), in MiB.
pub fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ModelSummary {
    /// Trained in this run (no stored model fitted the configured comparisons).
    pub trained: bool,
    pub prior: f64,
    pub trained_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MatchSummary {
    pub records: u64,
    pub candidate_pairs: u64,
    pub blocking: Vec<RuleStats>,
    pub block_warnings: Vec<BlockWarning>,
    /// Pairs at or above the review threshold.
    pub pairs_scored_above_review: u64,
    pub pairs_above_merge: u64,
    pub clusters: u64,
    /// Merges the clustering refused (contradictions, weak chains, steward decisions).
    pub merges_refused: u64,
    pub pairs_for_review: u64,
    /// Pairs of golden customers in the stewards' queue after this run (`gild review`).
    pub review_items: u64,
    /// Of those, the items gild kept apart on clear evidence: settled, not open.
    pub review_settled: u64,
    /// Steward decisions in force: (must-link, cannot-link) record pairs present in this run.
    pub steward_links: (u64, u64),
    pub pairs_per_second: f64,
    /// What the built-in defaults chose, when gild.toml gives no matching rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defaults: Option<crate::choose::Chosen>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub run_id: String,
    pub trigger: Trigger,
    /// Succeeded, or partial (rows or sources rejected).
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub store: String,
    pub sources: Vec<SourceReport>,
    pub rows_read: u64,
    pub rows_rejected: u64,
    /// Values dropped from their field, records kept: the data-quality findings (`gild quality`).
    pub values_quarantined: u64,
    pub matching: MatchSummary,
    pub model: ModelSummary,
    pub golden: GoldenCounts,
    pub golden_total: u64,
    pub stages: Vec<StageTime>,
    pub seconds: f64,
    /// True when nothing the sync reads had changed since the last published run: nothing was
    /// read in full, matched or written, and the counts above are zero.
    pub nothing_changed: bool,
    /// That last published run, whose view stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchanged_since: Option<String>,
    /// Per source read in full: its records new, changed, vanished and unchanged since the last
    /// published run, by key and content hash.
    pub changes: Vec<super::snapshot::SourceChanges>,
    /// Full, or incremental: only what changed since the last published run recomputed.
    pub mode: crate::run::RunMode,
    /// Why a run was full when it could have been incremental (`--full`, a new model…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_because: Option<String>,
}

impl SyncReport {
    /// True when some row or source was rejected: the run finished, but not cleanly.
    pub fn has_rejections(&self) -> bool {
        self.rows_rejected > 0
            || self
                .sources
                .iter()
                .any(|s| s.outcome.status == SourceStatus::Failed)
    }
}
