//! `gild train`: fit the matching model on the staged records and store it.

use super::output::{json, out, outln, thousands, Table};
use super::{load_config, Args, Format, NotFound, EXIT_OK};
use gild::model::Model;
use gild::pipeline::{self, TrainError, TrainReport};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Also write the model as readable JSON to this file.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

pub async fn run(args: &Args, a: &TrainArgs) -> anyhow::Result<u8> {
    let config = load_config(args)?;
    let TrainReport {
        model_id: id,
        model,
    } = match pipeline::train(&config).await {
        Err(e @ TrainError::NothingStaged) => return Err(NotFound(e.to_string()).into()),
        done => done?,
    };
    if let Some(path) = &a.output {
        std::fs::write(path, serde_json::to_string_pretty(&model)?)?;
    }
    match args.format {
        Format::Json => json(&serde_json::json!({"model_id": id, "model": model}))?,
        Format::Text => {
            out!("{}", describe(&model));
            outln!("stored as model {id}; the next sync uses it");
            if let Some(p) = &a.output {
                outln!("written to {}", p.display());
            }
        }
    }
    Ok(EXIT_OK)
}

/// The model as a table of levels with their m, u and weight.
pub fn describe(model: &Model) -> String {
    let mut out = format!(
        "model trained on {} records: prior {:.3e} (weight {:+.2}); u from {} random pairs; {} steward labels; {:.1} s\n",
        thousands(model.records as u64),
        model.prior,
        model.prior_weight(),
        thousands(model.training.u_pairs_sampled),
        thousands(model.training.labelled_pairs),
        model.training.seconds
    );
    for s in &model.training.em_sessions {
        out.push_str(&format!(
            "  EM on {}: {} pairs, {} iterations{}, held out {}\n",
            s.rule,
            thousands(s.pairs),
            s.iterations,
            if s.converged { "" } else { " (not converged)" },
            if s.held_out.is_empty() {
                "nothing".into()
            } else {
                s.held_out.join(", ")
            }
        ));
    }
    for t in &model.term_frequencies {
        out.push_str(&format!(
            "  term frequencies of {}: {} values seen more than once among {}, kept for every run with this model\n",
            t.comparison,
            thousands(t.repeated.len() as u64),
            thousands(t.occurrences)
        ));
    }
    if let Some(e) = &model.estate {
        out.push_str(&format!(
            "  survivorship's word counts: {} words seen more than once, kept for every golden build with this model\n",
            thousands(e.words() as u64)
        ));
    }
    if !model.training.not_estimated.is_empty() {
        out.push_str(&format!(
            "  ! not estimated by any EM session (starting guess kept): {}\n",
            model.training.not_estimated.join(", ")
        ));
    }
    let mut t = Table::new(&["comparison", "level", "m", "u", "weight"]).numeric(&[2, 3, 4]);
    for c in &model.comparisons {
        for l in &c.levels {
            t.row(vec![
                c.name.clone(),
                l.label.clone(),
                format!("{:.4}", l.m),
                format!("{:.3e}", l.u),
                format!("{:+.2}", l.weight()),
            ]);
        }
    }
    out.push_str(&t.render());
    if let Some(chosen) = &model.chosen {
        out.push('\n');
        out.push_str(&chosen.describe().join("\n"));
        out.push('\n');
    }
    for h in &model.households {
        out.push_str(&format!(
            "\nhome key {}: {} record pairs share it, {:.1}% of them different people; sharing it weighs {:+.2} against random records\n",
            h.key,
            thousands(h.pairs),
            100.0 * h.different_people_share,
            model.home_key_weight(h).unwrap_or(f64::NAN)
        ));
        let mut t = Table::new(&["comparison", "level", "m", "n (same home)", "weight"])
            .numeric(&[2, 3, 4]);
        for hc in &h.comparisons {
            let Some(c) = model.comparisons.iter().find(|c| c.name == hc.name) else {
                continue;
            };
            for (l, n) in c.levels.iter().zip(&hc.n) {
                t.row(vec![
                    c.name.clone(),
                    l.label.clone(),
                    format!("{:.4}", l.m),
                    format!("{:.3e}", n),
                    format!("{:+.2}", (l.m / n).log2()),
                ]);
            }
        }
        out.push_str(&t.render());
    }
    out
}
