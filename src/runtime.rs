//! Where work runs: who this process is, and CPU-heavy work from async code.

/// Who is running: host and process, for run records and the sync lock.
pub fn runner_id() -> String {
    format!(
        "{}:{}",
        gethostname::gethostname().to_string_lossy(),
        std::process::id()
    )
}

/// Runs CPU-heavy work from async code without stalling the runtime's other tasks.
pub fn cpu<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
