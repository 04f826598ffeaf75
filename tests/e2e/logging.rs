//! stderr for cron mail and log files: plain text without colour codes when it is not a
//! terminal, one format (text unless JSON logs are asked for, whatever --format says), and the
//! error that ended the run printed once.

use crate::support::*;

const FAILING: &str = "fixtures/bad/sentinel/headless-only.toml";

fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let (_dir, store) = sqlite_store();
    let out = run(
        &["-v", "--config", "fixtures/bad/gild.toml", "sync"],
        &[("GILD_STORE_URL", store.as_str())],
    );
    let err = stderr(&out);
    assert!(err.contains("WARN") && err.contains("INFO"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in piped stderr:\n{err:?}"
    );
}

#[test]
fn stderr_has_one_format_and_the_final_error_once() {
    let (_dir, store) = sqlite_store();
    let env = [("GILD_STORE_URL", store.as_str())];

    // --format json is for stdout: the logs stay text, and the error is told once.
    let out = run(&["--config", FAILING, "sync", "--format", "json"], &env);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        lines(&err).iter().all(|l| !l.trim_start().starts_with('{')),
        "JSON log lines beside the text error:\n{err}"
    );
    assert_eq!(err.matches("every source failed").count(), 1, "{err}");
    assert!(err.contains("error: every source failed"), "{err}");

    // JSON logs when asked, by flag or environment: every line is JSON, the error one of them.
    for (args, extra) in [
        (
            vec!["--log-format", "json", "--config", FAILING, "sync"],
            None,
        ),
        (
            vec!["--config", FAILING, "sync", "--format", "json"],
            Some(("GILD_LOG_FORMAT", "json")),
        ),
    ] {
        let mut env = env.to_vec();
        env.extend(extra);
        let out = run(&args, &env);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        let parsed: Vec<serde_json::Value> = lines(&err)
            .iter()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{err}"))
            })
            .collect();
        let errors: Vec<&serde_json::Value> =
            parsed.iter().filter(|j| j["level"] == "ERROR").collect();
        assert_eq!(errors.len(), 1, "{err}");
        assert!(
            errors[0]["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("every source failed")),
            "{err}"
        );
        assert_eq!(errors[0]["fields"]["exit_code"], 1);
        assert!(parsed.iter().all(|j| j["timestamp"].is_string()), "{err}");
        assert_eq!(err.matches("every source failed").count(), 1, "{err}");
    }

    // A run that finishes: the JSON report on stdout, text logs on stderr.
    let out = run(
        &[
            "--config",
            "fixtures/bad/gild.toml",
            "sync",
            "--format",
            "json",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["status"], "partial");
    let err = stderr(&out);
    assert!(err.contains("WARN"), "{err}");
    assert!(
        lines(&err).iter().all(|l| !l.trim_start().starts_with('{')),
        "{err}"
    );
}
