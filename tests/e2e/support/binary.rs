//! Running the real `gild` binary, to completion or in the background.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

/// The repository: the demo estate's `gild.toml` and `fixtures/` are found from here.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command for the gild binary, run in the repository, with none of a developer's settings.
/// Tests pass their settings to the command (`Command::env`), never through this process's
/// environment: the tests share one process.
pub fn gild() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gild"));
    c.current_dir(root());
    for var in [
        "GILD_CONFIG",
        "GILD_STORE_URL",
        "GILD_SCHEDULE",
        "GILD_CRM_URL",
        "GILD_LOG_FORMAT",
        "RUST_LOG",
    ] {
        c.env_remove(var);
    }
    c
}

/// Runs gild with arguments and extra environment; returns the output.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = gild();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the gild binary runs")
}

/// `gild evaluate --format json` of `config` against a truth (`["--truth", FILE]` or
/// `["--entity-from-key", PATTERN]`); a failed evaluation fails the test.
pub fn evaluate(config: &str, truth: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let mut args = vec!["--config", config, "evaluate"];
    args.extend_from_slice(truth);
    args.extend(["--format", "json"]);
    let out = run(&args, env);
    assert_eq!(out.status.code(), Some(0), "{}", super::stderr(&out));
    super::json(&out)
}

/// A gild process running in the background (`gild serve`, `gild worker`), killed when the
/// guard goes so that a failing test never leaves it behind.
pub struct Background(pub Child);

impl Background {
    pub fn start(mut command: Command) -> Background {
        Background(command.spawn().expect("gild starts in the background"))
    }

    /// Asks the process to stop as a service manager would (SIGTERM); true if the signal was sent.
    pub fn terminate(&self) -> bool {
        Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The exit status, once the process has exited within `limit`.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let began = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().expect("wait for gild") {
                return Some(status);
            }
            if began.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
