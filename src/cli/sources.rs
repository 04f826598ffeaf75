//! `gild sources check`: connect to every source, count rows, show a few as mapped.

use super::output::{json, out, outln, thousands, Table};
use super::{load_config, Args, Format, EXIT_OK, EXIT_REJECTIONS};

#[derive(Debug, clap::Subcommand)]
pub enum SourcesCommand {
    /// Connect to every source, count its rows and print a few as mapped (or the error).
    Check {
        /// Rows to show per source.
        #[arg(long, default_value_t = 3)]
        sample: usize,
    },
}

pub async fn run(args: &Args, command: &SourcesCommand) -> anyhow::Result<u8> {
    let SourcesCommand::Check { sample } = command;
    let config = load_config(args)?;
    let checks = gild::pipeline::check::check_sources(&config, *sample).await;
    let failed = checks.iter().any(|c| !c.ok);
    match args.format {
        Format::Json => json(&checks)?,
        Format::Text => {
            let mut t = Table::new(&[
                "source",
                "connector",
                "records",
                "rows",
                "would reject",
                "quarantined values",
                "status",
            ])
            .numeric(&[3, 4, 5]);
            for c in &checks {
                t.row(vec![
                    c.source.clone(),
                    c.kind.clone(),
                    c.record_kind.clone(),
                    thousands(c.rows),
                    thousands(c.rejected),
                    thousands(c.quarantined.values().sum()),
                    if c.ok { "ok".into() } else { "FAILED".into() },
                ]);
            }
            out!("{}", t.render());
            for c in &checks {
                outln!(
                    "\n{} ({} columns: {})",
                    c.source,
                    c.columns.len(),
                    c.columns.join(", ")
                );
                if let Some(e) = &c.error {
                    outln!("  error: {e}");
                }
                for r in &c.sample {
                    outln!(
                        "  {}:{} {} | born {} | {} | {} | {}",
                        r.source,
                        r.key,
                        r.display_name(),
                        r.date_of_birth
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "-".into()),
                        r.emails.join(", "),
                        r.phones.join(", "),
                        [
                            &r.street,
                            &r.unit,
                            &r.city,
                            &r.region,
                            &r.postcode,
                            &r.country
                        ]
                        .iter()
                        .filter_map(|v| v.as_deref())
                        .collect::<Vec<_>>()
                        .join(" ")
                    );
                }
                for why in &c.sample_rejections {
                    outln!("  would reject {why}");
                }
                if !c.quarantined.is_empty() {
                    let per_field: Vec<String> = c
                        .quarantined
                        .iter()
                        .map(|(f, n)| format!("{f} {}", thousands(*n)))
                        .collect();
                    outln!(
                        "  would quarantine (drop the value, keep the record): {}",
                        per_field.join(", ")
                    );
                }
                for what in &c.sample_findings {
                    outln!("  would quarantine {what}");
                }
            }
        }
    }
    Ok(if failed { EXIT_REJECTIONS } else { EXIT_OK })
}
