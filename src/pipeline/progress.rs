//! Progress of a run, for whoever is watching: progress bars on a terminal, nothing in a job.

/// Stages report here; every method has a do-nothing default.
pub trait Progress: Send + Sync {
    fn stage_started(&self, _stage: &str) {}
    fn stage_finished(&self, _stage: &str, _seconds: f64) {}
    fn source_started(&self, _source: &str) {}
    /// Rows read so far from a source.
    fn source_rows(&self, _source: &str, _rows: u64) {}
    fn source_finished(&self, _source: &str, _ok: bool) {}
}

/// For runs nobody watches.
pub struct Silent;

impl Progress for Silent {}
