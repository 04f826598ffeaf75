//! `gild init`: a starting gild.toml when there is none, and a proposed mapping for every
//! connector without one. Prints what it inferred and what it could not place.

use super::output::{json, outln};
use super::{Args, Format, EXIT_OK, EXIT_REJECTIONS};
use gild::init;

#[derive(Debug, clap::Args)]
pub struct InitArgs {}

pub async fn run(args: &Args, _a: &InitArgs) -> anyhow::Result<u8> {
    let wrote_config = init::write_starting_config(&args.config)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.config.display()))?;
    let (connectors, mappings_dir) = init::load_layout(&args.config)?;
    let outcomes = init::init_mappings(&connectors, &mappings_dir).await;
    let failed = outcomes.iter().any(|o| o.error.is_some());
    match args.format {
        Format::Json => json(&serde_json::json!({
            "config_written": wrote_config,
            "sources": outcomes,
        }))?,
        Format::Text => {
            if wrote_config {
                outln!(
                    "wrote {} (a SQLite store, the built-in matching)",
                    args.config.display()
                );
            }
            for o in &outcomes {
                let file = o.mapping_file.display();
                if o.already_there {
                    outln!("{}: {file} exists, left alone", o.source);
                    continue;
                }
                if let Some(e) = &o.error {
                    outln!("{}: no mapping written: {e}", o.source);
                    continue;
                }
                outln!(
                    "{}: wrote {file} from {} sampled rows",
                    o.source,
                    o.rows_sampled
                );
                for (line, evidence) in &o.inferred {
                    outln!("  {line}\n      {evidence}");
                }
                for (column, why) in &o.unplaced {
                    outln!("  not placed: {column}: {why}");
                }
            }
            outln!("\nnext: check the proposals in each file, then `gild sources check` and `gild sync`");
        }
    }
    Ok(if failed { EXIT_REJECTIONS } else { EXIT_OK })
}
