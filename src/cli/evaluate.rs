//! `gild evaluate`: how the published clusters compare with a truth file.

use super::output::{json, out, outln, thousands, Table};
use super::{load_config, Args, Format, EXIT_OK};
use gild::evaluate::{evaluate, Truth};
use gild::store::Store;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// CSV of source,key,entity_id (or key,entity_id); .gz is read as it is.
    #[arg(long, required_unless_present = "entity_from_key")]
    pub truth: Option<PathBuf>,
    /// Take the entity from the record key instead: the first capture group of this regex
    /// (FEBRL keys: 'rec-(\d+)-').
    #[arg(long, conflicts_with = "truth")]
    pub entity_from_key: Option<String>,
}

pub async fn run(args: &Args, a: &EvaluateArgs) -> anyhow::Result<u8> {
    let config = load_config(args)?;
    let truth = match (&a.truth, &a.entity_from_key) {
        (Some(path), _) => Truth::from_file(path)?,
        (None, Some(pattern)) => Truth::from_key_pattern(pattern)?,
        (None, None) => anyhow::bail!("give --truth FILE or --entity-from-key REGEX"),
    };
    let store = Store::connect(&config.store_url).await?;
    let assignments = store.xref_all().await?;
    let scored = store.match_pairs().await?;
    store.close().await;
    let m = &config.matching;
    let mut sweep: Vec<f64> = vec![0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999];
    sweep.retain(|t| *t >= m.review_threshold);
    if !sweep.contains(&m.merge_threshold) {
        sweep.push(m.merge_threshold);
        sweep.sort_by(f64::total_cmp);
    }
    let e = evaluate(
        &assignments,
        &scored,
        &truth,
        m.link_type,
        m.merge_threshold,
        &sweep,
    );
    match args.format {
        Format::Json => json(&e)?,
        Format::Text => {
            outln!(
                "{} records in {} clusters; the truth has {} entities ({} records without truth)\n",
                thousands(e.records),
                thousands(e.clusters),
                thousands(e.entities),
                thousands(e.records_without_truth)
            );
            let mut t = Table::new(&[
                "pairwise",
                "precision",
                "recall",
                "f1",
                "true pairs found",
                "predicted",
                "truth",
            ])
            .numeric(&[1, 2, 3, 4, 5, 6]);
            for (name, p) in [
                ("after clustering", &e.after_clustering),
                ("before clustering", &e.before_clustering),
            ] {
                t.row(vec![
                    name.into(),
                    format!("{:.4}", p.precision),
                    format!("{:.4}", p.recall),
                    format!("{:.4}", p.f1),
                    thousands(p.true_positives),
                    thousands(p.predicted_pairs),
                    thousands(p.truth_pairs),
                ]);
            }
            out!("{}", t.render());
            outln!(
                "\nB-cubed: precision {:.4}, recall {:.4}, F1 {:.4}\n",
                e.bcubed_precision,
                e.bcubed_recall,
                e.bcubed_f1
            );
            let mut t = Table::new(&["threshold", "precision", "recall", "f1", "predicted pairs"])
                .numeric(&[0, 1, 2, 3, 4]);
            for s in &e.sweep {
                t.row(vec![
                    format!("{}", s.threshold),
                    format!("{:.4}", s.metrics.precision),
                    format!("{:.4}", s.metrics.recall),
                    format!("{:.4}", s.metrics.f1),
                    thousands(s.metrics.predicted_pairs),
                ]);
            }
            outln!("threshold sweep over scored pairs (before clustering)");
            out!("{}", t.render());
        }
    }
    Ok(EXIT_OK)
}
