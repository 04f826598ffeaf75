//! The local database servers the server tests use, and skipping without them.

/// Notes on stderr that a test did not run because `missing` is missing, or fails it under
/// CI=true, where a skip would let CI pass without running it.
#[track_caller]
pub fn skip(missing: &str, ci_message: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{ci_message}");
    }
    eprintln!("SKIPPED: {missing}");
}

/// The server URL from the environment, or None with a clear note when running without it.
/// In CI (CI=true) a missing server is a failure, never a silent skip.
#[track_caller]
pub fn server_url(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            skip(
                &format!("{var} is not set, so this test needs {what} and was skipped"),
                &format!("{var} is not set in CI: .ci/run must start {what} and export it"),
            );
            None
        }
    }
}
