//! `gild quality`: the values syncs quarantined from their fields (data-quality findings), with
//! counts per source and field, for data stewards.

use super::output::{json, out, outln, thousands, Table};
use super::{load_config, Args, Format, EXIT_OK};
use gild::store::{FindingCount, FindingView, Store};

#[derive(Debug, clap::Args)]
pub struct QualityArgs {
    /// Only this source's findings.
    #[arg(long)]
    pub source: Option<String>,
    /// Only this field's findings (phone, email, date_of_birth, postcode...).
    #[arg(long)]
    pub field: Option<String>,
    /// Findings listed (the counts cover them all).
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

#[derive(serde::Serialize)]
struct Quality {
    total: i64,
    counts: Vec<FindingCount>,
    findings: Vec<FindingView>,
}

pub async fn run(args: &Args, a: &QualityArgs) -> anyhow::Result<u8> {
    let config = load_config(args)?;
    let store = Store::connect(&config.store_url).await?;
    let counts: Vec<FindingCount> = store
        .quality_counts()
        .await?
        .into_iter()
        .filter(|c| a.source.as_ref().is_none_or(|s| *s == c.source))
        .filter(|c| a.field.as_ref().is_none_or(|f| *f == c.field))
        .collect();
    let findings = store
        .quality_findings(a.source.as_deref(), a.field.as_deref(), a.limit)
        .await?;
    store.close().await;
    let total = counts.iter().map(|c| c.findings).sum();
    match args.format {
        Format::Json => json(&Quality {
            total,
            counts,
            findings,
        })?,
        Format::Text => {
            if total == 0 {
                outln!("no quality findings: every value read fitted its field");
                return Ok(EXIT_OK);
            }
            let mut t = Table::new(&["source", "field", "findings", "reason"]).numeric(&[2]);
            for c in &counts {
                t.row(vec![
                    c.source.clone(),
                    c.field.clone(),
                    thousands(c.findings as u64),
                    c.reason.clone(),
                ]);
            }
            out!("{}", t.render());
            outln!();
            for f in &findings {
                outln!(
                    "{} {} (key {}) {}: {}\n    {}",
                    f.source,
                    f.location,
                    f.record_key,
                    f.field,
                    f.reason,
                    f.raw
                );
            }
            outln!(
                "{} of {} findings shown (values dropped from their field; the records were kept)",
                findings.len(),
                thousands(total as u64)
            );
        }
    }
    Ok(EXIT_OK)
}
