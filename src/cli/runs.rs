//! `gild runs list|show` and `gild rejects`: what each sync did.

use super::output::{json, opt, out, outln, thousands, Table};
use super::{load_config, Args, Format, NotFound, EXIT_OK};
use gild::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum RunsCommand {
    /// The latest runs, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// One run with its per-source counts.
    Show { run_id: String },
}

#[derive(Debug, clap::Args)]
pub struct RejectsArgs {
    /// The run (the latest when left out).
    #[arg(long)]
    pub run: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

pub async fn run(args: &Args, command: &RunsCommand) -> anyhow::Result<u8> {
    let config = load_config(args)?;
    let store = Store::connect(&config.store_url).await?;
    match command {
        RunsCommand::List { limit } => {
            let runs = store.runs(*limit).await?;
            match args.format {
                Format::Json => json(&runs)?,
                Format::Text => {
                    let mut t = Table::new(&[
                        "run", "trigger", "started", "seconds", "status", "read", "rejected",
                        "created", "updated", "review",
                    ])
                    .numeric(&[3, 5, 6, 7, 8, 9]);
                    for r in &runs {
                        t.row(vec![
                            r.run_id.clone(),
                            r.trigger.to_string(),
                            r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                            r.finished_at
                                .map(|f| {
                                    format!(
                                        "{:.1}",
                                        (f - r.started_at).num_milliseconds() as f64 / 1000.0
                                    )
                                })
                                .unwrap_or_default(),
                            r.status.to_string(),
                            thousands(r.rows_read as u64),
                            thousands(r.rows_rejected as u64),
                            thousands(r.golden_created as u64),
                            thousands(r.golden_updated as u64),
                            thousands(r.pairs_for_review as u64),
                        ]);
                    }
                    out!("{}", t.render());
                    for r in runs.iter().filter(|r| r.error.is_some()) {
                        outln!("  {} {}: {}", r.run_id, r.status, opt(&r.error));
                    }
                }
            }
        }
        RunsCommand::Show { run_id } => {
            let run = store
                .runs(10_000)
                .await?
                .into_iter()
                .find(|r| &r.run_id == run_id)
                .ok_or_else(|| NotFound(format!("no run {run_id}")))?;
            let sources = store.run_sources(run_id).await?;
            match args.format {
                Format::Json => json(&serde_json::json!({"run": run, "sources": sources}))?,
                Format::Text => {
                    outln!(
                        "run {} ({}, on {}): {} at {}",
                        run.run_id,
                        run.trigger,
                        run.host,
                        run.status,
                        run.started_at.format("%Y-%m-%d %H:%M:%S")
                    );
                    if let Some(e) = &run.error {
                        outln!("error: {e}");
                    }
                    let mut t = Table::new(&[
                        "source",
                        "kind",
                        "status",
                        "read",
                        "rejected",
                        "kept",
                        "nulled fields",
                        "seconds",
                    ])
                    .numeric(&[3, 4, 5, 6, 7]);
                    for s in &sources {
                        t.row(vec![
                            s.source.clone(),
                            s.record_kind.to_string(),
                            s.status.to_string(),
                            thousands(s.rows_read as u64),
                            thousands(s.rows_rejected as u64),
                            thousands(s.rows_kept as u64),
                            thousands(s.fields_nulled as u64),
                            format!("{:.2}", s.seconds),
                        ]);
                    }
                    out!("{}", t.render());
                    for s in sources.iter().filter(|s| s.error.is_some()) {
                        outln!("  {}: {}", s.source, opt(&s.error));
                    }
                }
            }
        }
    }
    store.close().await;
    Ok(EXIT_OK)
}

pub async fn rejects(args: &Args, a: &RejectsArgs) -> anyhow::Result<u8> {
    let config = load_config(args)?;
    let store = Store::connect(&config.store_url).await?;
    let rows = store.rejects(a.run.as_deref(), a.limit).await?;
    store.close().await;
    match args.format {
        Format::Json => json(&rows)?,
        Format::Text => {
            for r in &rows {
                outln!(
                    "{} {} (key {}): {}\n    {}",
                    r.source,
                    r.location,
                    r.record_key.as_deref().unwrap_or("-"),
                    r.reason,
                    r.raw
                );
            }
            outln!("{} rejected rows shown", rows.len());
        }
    }
    Ok(EXIT_OK)
}
