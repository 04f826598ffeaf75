//! Where work runs: who this process is, and CPU-heavy work from async code.

/// Who is running: host and process, for run records and the sync lock.
pub fn runner_id() -> String {
    format!("{}:{}", this_host(), std::process::id())
}

/// This machine's name, as run records and leases record it.
pub fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// True only when the process `pid` on `host` provably no longer exists: `host` is this machine
/// and no process has that ID. Anything unsure (another host, a process of another user, a
/// platform without the check) counts as alive, so a lease is never taken from a live holder.
pub fn process_gone(host: &str, pid: i64) -> bool {
    if host != this_host() || pid == i64::from(std::process::id()) {
        return false;
    }
    pid_gone(pid)
}

#[cfg(unix)]
fn pid_gone(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // Signal 0 checks that the process exists without touching it; EPERM means it exists.
    // SAFETY: kill with signal 0 sends nothing and reads no memory of ours.
    let rc = unsafe { libc::kill(pid, 0) };
    rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn pid_gone(_pid: i64) -> bool {
    false
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_process_that_is_gone_on_this_host_counts_as_gone() {
        let me = i64::from(std::process::id());
        assert!(!process_gone(&this_host(), me), "this process is alive");
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = i64::from(child.id());
        child.wait().expect("reap");
        assert!(
            process_gone(&this_host(), pid),
            "an exited, reaped child is gone"
        );
        assert!(
            !process_gone("some-other-host", pid),
            "another host's process cannot be checked from here"
        );
        assert!(!process_gone(&this_host(), 0));
        assert!(!process_gone(&this_host(), -1));
        assert!(!process_gone(&this_host(), i64::MAX));
    }
}
