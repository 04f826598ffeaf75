//! Progress bars for interactive syncs (only on a terminal, never in JSON mode).

use gild::pipeline::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub struct Bars {
    multi: MultiProgress,
    sources: Mutex<HashMap<String, ProgressBar>>,
    stage: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub fn new() -> Self {
        Bars {
            multi: MultiProgress::new(),
            sources: Mutex::new(HashMap::new()),
            stage: Mutex::new(None),
        }
    }

    fn spinner(&self, msg: String) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner:.cyan} {msg} {elapsed:.dim}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(msg);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}

impl Progress for Bars {
    fn stage_started(&self, stage: &str) {
        if stage == "pull" {
            return;
        }
        let bar = self.spinner(stage.to_string());
        if let Ok(mut s) = self.stage.lock() {
            *s = Some(bar);
        }
    }

    fn stage_finished(&self, stage: &str, seconds: f64) {
        if let Ok(mut s) = self.stage.lock() {
            if let Some(bar) = s.take() {
                bar.finish_and_clear();
            }
        }
        let _ = self
            .multi
            .println(format!("  {stage:<10} {seconds:>7.2} s"));
    }

    fn source_started(&self, source: &str) {
        let bar = self.spinner(format!("reading {source}"));
        if let Ok(mut s) = self.sources.lock() {
            s.insert(source.to_string(), bar);
        }
    }

    fn source_rows(&self, source: &str, rows: u64) {
        if let Ok(s) = self.sources.lock() {
            if let Some(bar) = s.get(source) {
                bar.set_message(format!(
                    "reading {source}: {} rows",
                    super::output::thousands(rows)
                ));
            }
        }
    }

    fn source_finished(&self, source: &str, ok: bool) {
        if let Ok(mut s) = self.sources.lock() {
            if let Some(bar) = s.remove(source) {
                bar.finish_and_clear();
            }
        }
        let mark = if ok { "read" } else { "FAILED" };
        let _ = self.multi.println(format!("  {source}: {mark}"));
    }
}
