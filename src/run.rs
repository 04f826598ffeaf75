//! A sync run on record: what started it, and how it and each of its sources ended.

use crate::text_enum::text_enum;

text_enum! {
    /// What started a sync.
    pub enum Trigger ("run trigger") {
        /// `gild sync` by hand.
        Manual = "manual",
        /// The cron schedule.
        Schedule = "schedule",
        /// A job enqueued by hand (`gild sync --enqueue`).
        Job = "job",
    }
}

text_enum! {
    /// How a sync run stands.
    pub enum RunStatus ("run status") {
        /// Started and not finished.
        Running = "running",
        /// Published, with nothing rejected.
        Succeeded = "succeeded",
        /// Published, but rows or whole sources were rejected.
        Partial = "partial",
        /// Nothing was published.
        Failed = "failed",
        /// Its process died (killed, or the machine went down) before it finished; nothing it
        /// did was published. The next run marks it so.
        Abandoned = "abandoned",
    }
}

text_enum! {
    /// How one source fared in a run.
    pub enum SourceStatus ("source status") {
        /// Read, every row kept.
        Ok = "ok",
        /// Read, some rows rejected.
        Rejects = "rejects",
        /// Could not be read: its records from the last good run stand in.
        Failed = "failed",
    }
}

impl RunStatus {
    /// The status of a run that published: partial when rows or whole sources were rejected.
    pub fn published(rows_rejected: u64, any_source_failed: bool) -> RunStatus {
        if rows_rejected > 0 || any_source_failed {
            RunStatus::Partial
        } else {
            RunStatus::Succeeded
        }
    }
}

impl SourceStatus {
    /// The status of a source that was read.
    pub fn read(rows_rejected: u64) -> SourceStatus {
        if rows_rejected > 0 {
            SourceStatus::Rejects
        } else {
            SourceStatus::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Trigger::ALL {
            assert_eq!(t.as_str().parse::<Trigger>(), Ok(*t));
        }
        for s in RunStatus::ALL {
            assert_eq!(s.as_str().parse::<RunStatus>(), Ok(*s));
        }
        for s in SourceStatus::ALL {
            assert_eq!(s.as_str().parse::<SourceStatus>(), Ok(*s));
        }
    }

    #[test]
    fn stored_names_stay_as_they_were() {
        assert_eq!(Trigger::NAMES, ["manual", "schedule", "job"]);
        assert_eq!(
            RunStatus::NAMES,
            ["running", "succeeded", "partial", "failed", "abandoned"]
        );
        assert_eq!(SourceStatus::NAMES, ["ok", "rejects", "failed"]);
        assert_eq!(
            serde_json::to_value(RunStatus::Partial).unwrap(),
            serde_json::json!("partial")
        );
        assert!("done".parse::<RunStatus>().is_err());
    }

    #[test]
    fn a_run_with_rejections_is_partial() {
        assert_eq!(RunStatus::published(0, false), RunStatus::Succeeded);
        assert_eq!(RunStatus::published(3, false), RunStatus::Partial);
        assert_eq!(RunStatus::published(0, true), RunStatus::Partial);
        assert_eq!(SourceStatus::read(0), SourceStatus::Ok);
        assert_eq!(SourceStatus::read(1), SourceStatus::Rejects);
    }
}

text_enum! {
    /// How much a sync recomputed.
    pub enum RunMode ("run mode") {
        /// Every record matched, every pair scored, every golden customer weighed.
        Full = "full",
        /// Only the records new, changed or gone since the last published run, the pairs that
        /// touch them and the customers they belong to; the rest stands as stored.
        Incremental = "incremental",
    }
}
