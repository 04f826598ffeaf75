//! `gild sync`: pull, match, build and publish golden records, then print a summary.

use super::output::{json, out, outln, thousands, Table};
use super::{load_config, Args, Format, EXIT_OK, EXIT_REJECTIONS};
use gild::pipeline::{self, Progress, Silent, SyncOptions, SyncReport, Trigger};
use gild::run::{RunMode, RunStatus, SourceStatus};
use std::io::IsTerminal;

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Train a new matching model even if the stored one fits.
    #[arg(long)]
    pub retrain: bool,
    /// Read every source and recompute everything, even when nothing changed since the last
    /// published run (without it, such a sync finishes at once and writes nothing).
    #[arg(long)]
    pub full: bool,
    /// Put a sync job on the worker queue instead of running it here.
    #[arg(long)]
    pub enqueue: bool,
}

pub async fn run(args: &Args, a: &SyncArgs) -> anyhow::Result<u8> {
    let config = load_config(args)?;
    if a.enqueue {
        let queue =
            gild::jobs::Queue::connect(&config.jobs.queue_url, config.jobs.poll_interval).await?;
        let job = gild::jobs::SyncJob {
            trigger: Trigger::Job,
            requested_at: gild::clock::now(),
            tick: None,
        };
        queue
            .enqueue(job, None, config.jobs.retries as usize + 1)
            .await?;
        match args.format {
            Format::Json => {
                json(&serde_json::json!({"enqueued": true, "queue": gild::jobs::SYNC_QUEUE}))?
            }
            Format::Text => outln!(
                "sync job enqueued on queue {}; a `gild worker` will run it",
                gild::jobs::SYNC_QUEUE
            ),
        }
        return Ok(EXIT_OK);
    }
    let options = SyncOptions {
        trigger: Trigger::Manual,
        retrain: a.retrain,
        full: a.full,
    };
    let interactive = args.format == Format::Text && std::io::stderr().is_terminal();
    let bars;
    let progress: &dyn Progress = if interactive {
        bars = super::progress::Bars::new();
        &bars
    } else {
        &Silent
    };
    let report = pipeline::sync(&config, &options, progress).await?;
    match args.format {
        Format::Json => json(&report)?,
        Format::Text => out!("{}", summary(&report)),
    }
    Ok(if report.has_rejections() {
        EXIT_REJECTIONS
    } else {
        EXIT_OK
    })
}

pub fn summary(r: &SyncReport) -> String {
    let mut out = String::new();
    if r.nothing_changed {
        out.push_str(&format!(
            "gild sync into the {} store: nothing changed since run {} (sources, configuration, model and steward \
             decisions are the same); nothing was read in full or written. {} golden records stand. \
             `gild sync --full` recomputes anyway.\n\ntime: total {:.2} s\n",
            r.store,
            r.unchanged_since.as_deref().unwrap_or("?"),
            thousands(r.golden_total),
            r.seconds
        ));
        return out;
    }
    let status = if r.status == RunStatus::Succeeded {
        r.status.to_string()
    } else {
        let failed = r
            .sources
            .iter()
            .filter(|s| s.outcome.status == SourceStatus::Failed)
            .count();
        format!(
            "finished with rejections: {} rows rejected, {failed} sources failed",
            thousands(r.rows_rejected)
        )
    };
    out.push_str(&format!(
        "gild sync {} into the {} store: {status}\n\n",
        r.run_id, r.store
    ));

    let mut t = Table::new(&[
        "source",
        "kind",
        "status",
        "read",
        "rejected",
        "kept",
        "quarantined values",
        "seconds",
    ])
    .numeric(&[3, 4, 5, 6, 7]);
    for s in &r.sources {
        let o = &s.outcome;
        t.row(vec![
            o.source.clone(),
            o.record_kind.to_string(),
            o.status.to_string(),
            thousands(o.rows_read),
            thousands(o.rows_rejected),
            thousands(o.rows_kept),
            thousands(o.fields_nulled),
            format!("{:.2}", o.seconds),
        ]);
    }
    out.push_str(&t.render());
    for s in &r.sources {
        if let Some(e) = &s.outcome.error {
            out.push_str(&format!("  ! {e}\n"));
            if s.kept_from_last_run > 0 {
                out.push_str(&format!(
                    "    kept its {} records from the last good run, so its customers stay in the golden view\n",
                    thousands(s.kept_from_last_run)
                ));
            }
        }
    }
    for s in &r.sources {
        out.push_str(&how_read(s));
    }
    if r.rows_rejected > 0 {
        out.push_str(&format!(
            "  rejected rows are in the store: gild rejects --run {}\n",
            r.run_id
        ));
    }

    if !r.changes.is_empty() {
        let parts: Vec<String> = r
            .changes
            .iter()
            .map(|c| {
                format!(
                    "{} {} new, {} changed, {} vanished, {} unchanged",
                    c.source,
                    thousands(c.new),
                    thousands(c.changed),
                    thousands(c.vanished),
                    thousands(c.same)
                )
            })
            .collect();
        out.push_str(&format!(
            "  since the last published run: {}\n",
            parts.join("; ")
        ));
    }
    out.push_str(&match (&r.mode, &r.full_because) {
        (RunMode::Incremental, _) => {
            "  incremental: only the changed records' pairs scored, only their customers rebuilt\n"
                .to_string()
        }
        (RunMode::Full, Some(why)) => format!("  full: {why}\n"),
        (RunMode::Full, None) => "  full\n".to_string(),
    });

    let quarantined: u64 = r.sources.iter().map(|s| s.outcome.fields_nulled).sum();
    if quarantined > 0 {
        out.push_str(&format!(
            "  {} values failed their field's standardisation: dropped from the field, records kept; see gild quality\n",
            thousands(quarantined)
        ));
    }

    let m = &r.matching;
    out.push_str(&format!(
        "\nmatching: {} records, {} candidate pairs, {} above the review threshold, {} above the merge threshold\n",
        thousands(m.records),
        thousands(m.candidate_pairs),
        thousands(m.pairs_scored_above_review),
        thousands(m.pairs_above_merge)
    ));
    let mut t =
        Table::new(&["blocking rule", "pairs", "new pairs", "largest block"]).numeric(&[1, 2, 3]);
    for b in &m.blocking {
        t.row(vec![
            b.rule.clone(),
            thousands(b.pairs_found),
            thousands(b.pairs_new),
            thousands(b.largest_block),
        ]);
    }
    out.push_str(&t.render());
    if let Some(chosen) = &m.defaults {
        out.push_str(&chosen.describe().join("\n"));
        out.push('\n');
    }
    for w in &m.block_warnings {
        let what = if w.skipped { "skipped" } else { "kept" };
        out.push_str(&format!(
            "  ! rule {}: a block of {} records ({} pairs): {what}; tighten the rule if this is not expected\n",
            w.rule,
            thousands(w.records),
            thousands(w.pairs)
        ));
    }
    out.push_str(&format!(
        "clusters: {}; merges refused (over-merge protection): {}; pairs left for review: {}\n",
        thousands(m.clusters),
        thousands(m.merges_refused),
        thousands(m.pairs_for_review)
    ));
    out.push_str(&format!(
        "review queue: {} pairs of customers open (`gild review`), {} settled (kept apart on clear evidence: `gild review list --all`); steward decisions in force: {} must-link, {} cannot-link\n",
        thousands(m.review_items - m.review_settled),
        thousands(m.review_settled),
        thousands(m.steward_links.0),
        thousands(m.steward_links.1)
    ));
    out.push_str(&format!(
        "model: {} (prior {:.3e}); {} pairs scored per second\n",
        if r.model.trained {
            "trained in this run"
        } else {
            "stored model"
        },
        r.model.prior,
        thousands(m.pairs_per_second as u64)
    ));
    let g = &r.golden;
    out.push_str(&format!(
        "\ngolden records: {} created, {} updated, {} unchanged, {} merged away, {} split, {} deleted; {} in all\n",
        thousands(g.created),
        thousands(g.updated),
        thousands(g.unchanged),
        thousands(g.merged),
        thousands(g.split),
        thousands(g.deleted),
        thousands(r.golden_total)
    ));
    let stages: Vec<String> = r
        .stages
        .iter()
        .map(|s| format!("{} {:.2}s", s.stage, s.seconds))
        .collect();
    out.push_str(&format!(
        "\ntime: {} — total {:.2} s\n",
        stages.join(", "),
        r.seconds
    ));
    out
}

/// How a database source with a watermark or a soft-delete column was read, when it says more
/// than the table: since its watermark (with the staged records that complete it), or in full
/// and why; and the soft-deleted rows.
fn how_read(s: &gild::pipeline::report::SourceReport) -> String {
    let o = &s.outcome;
    if o.status == SourceStatus::Failed {
        return String::new();
    }
    let deleted = if s.soft_deleted > 0 {
        format!(", {} soft-deleted", thousands(s.soft_deleted))
    } else {
        String::new()
    };
    match (&s.since_watermark, &s.read_in_full_because) {
        (Some(since), _) => format!(
            "  {}: read since {since}: {} rows, {} records kept from the last run{deleted}\n",
            o.source,
            thousands(o.rows_read),
            thousands(s.kept_from_last_run)
        ),
        (None, Some(why)) => format!(
            "  {}: read in full ({why}): {} rows{deleted}\n",
            o.source,
            thousands(o.rows_read)
        ),
        (None, None) if s.soft_deleted > 0 => format!(
            "  {}: {} soft-deleted rows removed\n",
            o.source,
            thousands(s.soft_deleted)
        ),
        _ => String::new(),
    }
}
