//! Throwaway names and stores, unique to one test even among tests running at the same time
//! in this process, in other test processes and in other checkouts sharing the servers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A unique name for the databases, tmux sessions and files of one test: the process, a
/// counter for the tests within it, and the clock for processes that reuse an ID.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A SQLite store URL in a fresh temporary folder (kept alive by the returned guard).
pub fn sqlite_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    (dir, url)
}

/// A temporary folder holding the demo estate's connector files, their paths made absolute so
/// that a gild.toml written there reads the demo's sources from anywhere.
pub fn demo_connectors() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = super::root();
    let demo = root.join("fixtures/demo");
    std::fs::create_dir(dir.path().join("connectors")).expect("mkdir");
    for name in ["crm", "billing", "fulfilment"] {
        let text = std::fs::read_to_string(root.join(format!("connectors/{name}.toml")))
            .expect("connector")
            .replace("fixtures/demo/", &format!("{}/", demo.display()));
        std::fs::write(dir.path().join(format!("connectors/{name}.toml")), text).expect("write");
    }
    dir
}
