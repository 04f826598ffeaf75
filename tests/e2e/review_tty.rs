//! The interactive review session driven through a real terminal: tmux runs `gild review`, the
//! test presses keys with send-keys and reads the screen with capture-pane.

use crate::support::*;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux").args(args).output().expect("tmux runs")
}

fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip(
            "tmux is not installed; the interactive review test needs it",
            "tmux is not installed in CI: .ci/run must install it",
        );
    }
    found
}

/// Kills the tmux session when the test ends, passed or not.
struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.0]);
    }
}

impl Session {
    fn screen(&self) -> String {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-J", "-t", &self.0]).stdout)
            .into_owned()
    }

    /// Waits until the visible screen shows `text` `times` times.
    fn wait_for(&self, text: &str, times: usize) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            if started.elapsed() > Duration::from_secs(60) {
                panic!("waited 60 s for {text:?} ({times}x); the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn press(&self, key: &str) {
        let o = tmux(&["send-keys", "-t", &self.0, key]);
        assert!(
            o.status.success(),
            "send-keys: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn a_steward_walks_the_queue_with_single_keys() {
    if !tmux_available() {
        return;
    }
    let (_dir, store) = sqlite_store();
    let env = [("GILD_STORE_URL", store.as_str())];
    let synced = run(&["sync"], &env);
    assert_eq!(synced.status.code(), Some(0), "{}", stderr(&synced));
    let queue = json(&run(&["review", "list", "--format", "json"], &env));
    // The session walks the pairs; field conflicts are settled with the subcommands.
    let items: Vec<&serde_json::Value> = queue
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["item"] == "pair")
        .collect();
    assert!(items.len() >= 3);
    let first = items[0]["item_id"].as_i64().expect("id");
    let third = items[2]["item_id"].as_i64().expect("id");

    let session = Session(unique("gild_review"));
    let command = format!(
        "env GILD_STORE_URL='{store}' '{}' review --as tty-steward; echo \"EXITED $?\"; sleep 60",
        env!("CARGO_BIN_EXE_gild")
    );
    let root = root();
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session.0,
        "-x",
        "220",
        "-y",
        "80",
        "-c",
        root.to_str().expect("utf-8 path"),
        &command,
    ]);
    assert!(
        started.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&started.stderr)
    );

    // Each item starts on a cleared screen headed "[n of total]" and ends with the key prompt.
    let prompt = "[a]ccept";
    let screen = session.wait_for(prompt, 1);
    assert!(screen.contains("[1 of "), "{screen}");
    assert!(
        screen.contains(&format!("review item {first} ")),
        "{screen}"
    );
    assert!(screen.contains("match probability"), "{screen}");
    assert!(screen.contains("after a merge"), "{screen}");
    // Reject with one key, no Enter.
    session.press("r");
    session.wait_for("[2 of ", 1);
    session.wait_for(prompt, 1);
    // A key that means nothing is asked again; then skip.
    session.press("x");
    session.wait_for(prompt, 2);
    session.press("s");
    session.wait_for("[3 of ", 1);
    let screen = session.wait_for(prompt, 1);
    assert!(
        screen.contains(&format!("review item {third} ")),
        "{screen}"
    );
    session.press("d");
    session.wait_for("[4 of ", 1);
    session.wait_for(prompt, 1);
    session.press("q");
    let end = session.wait_for("EXITED", 1);
    assert!(
        end.contains("session over: 0 accepted, 1 rejected, 1 deferred, 1 skipped"),
        "{end}"
    );
    assert!(end.contains("EXITED 0"), "{end}");

    // The decisions persisted, with who made them.
    let all = json(&run(
        &[
            "review", "list", "--all", "--limit", "1000", "--format", "json",
        ],
        &env,
    ));
    let status = |id: i64| {
        all.as_array()
            .expect("items")
            .iter()
            .find(|i| i["item"] == "pair" && i["item_id"] == id)
            .map(|i| {
                (
                    i["status"].as_str().unwrap_or("").to_string(),
                    i["actor"].as_str().unwrap_or("").to_string(),
                )
            })
    };
    assert_eq!(
        status(first),
        Some(("rejected".into(), "tty-steward".into()))
    );
    assert_eq!(
        status(third),
        Some(("deferred".into(), "tty-steward".into()))
    );
    assert_eq!(
        status(items[1]["item_id"].as_i64().expect("id"))
            .map(|s| s.0)
            .as_deref(),
        Some("open")
    );
    let trail = json(&run(&["review", "history", "--format", "json"], &env));
    assert_eq!(trail.as_array().map(Vec::len), Some(2));

    // Not a terminal: a clear refusal, exit code 2.
    let piped = run(&["review"], &env);
    assert_eq!(piped.status.code(), Some(2));
    assert!(
        stderr(&piped).contains("needs a terminal"),
        "{}",
        stderr(&piped)
    );
}
