//! `gild changes --after SEQ`: the change feed on the command line, for scripts that follow it.

use super::output::{json, out, outln, Table};
use super::{load_config, Args, Format, EXIT_OK};
use gild::store::{GoldenEvent, Store};

#[derive(Debug, clap::Args)]
pub struct ChangesArgs {
    /// The last sequence number already seen (0: from the start).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
    pub after: i64,
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub limit: i64,
}

pub async fn run(args: &Args, a: &ChangesArgs) -> anyhow::Result<u8> {
    let config = load_config(args)?;
    let store = Store::connect(&config.store_url).await?;
    let events = store.changes_after(a.after, a.limit).await?;
    let next = events.last().map(|e| e.seq).unwrap_or(a.after);
    match args.format {
        Format::Json => json(&serde_json::json!({"events": events, "next_cursor": next}))?,
        Format::Text => {
            out!("{}", events_table(&events));
            outln!(
                "{} event(s); next: gild changes --after {next}",
                events.len()
            );
        }
    }
    store.close().await;
    Ok(EXIT_OK)
}

/// One line per event: what happened and which fields changed.
pub fn events_table(events: &[GoldenEvent]) -> String {
    let mut t = Table::new(&[
        "seq",
        "when",
        "event",
        "golden id",
        "related",
        "by",
        "changed",
    ])
    .numeric(&[0]);
    for e in events {
        let changed: Vec<String> = e
            .changes
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(f, c)| {
                        let v = |k: &str| match c.get(k) {
                            Some(serde_json::Value::String(s)) => s.clone(),
                            Some(serde_json::Value::Null) | None => "∅".into(),
                            Some(x) => x.to_string(),
                        };
                        let (before, after) = (v("before"), v("after"));
                        if before == after {
                            // Same value, now taken from another record: lineage history.
                            format!("{f}: {after} (now from {}:{})", v("source"), v("key"))
                        } else {
                            format!("{f}: {before} → {after}")
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        t.row(vec![
            e.seq.to_string(),
            e.occurred_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.kind.to_string(),
            e.golden_id.clone(),
            e.related_ids.join(" "),
            match (&e.run_id, e.audit_id) {
                (Some(run), _) => format!("run {}", &run[..run.len().min(8)]),
                (None, Some(a)) => format!("audit {a}"),
                _ => String::new(),
            },
            changed.join("; "),
        ]);
    }
    t.render()
}
