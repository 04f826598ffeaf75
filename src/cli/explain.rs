//! `gild explain A B`: each field's values, level and weight for one pair, then the total.

use super::output::{json, out, outln, Table};
use super::{load_config, Args, Format, NotFound, EXIT_OK};
use gild::decision::{decide, Decision, PairFacts};
use gild::record::SourceKey;
use gild::review::Explainer;
use gild::store::Store;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A source record, e.g. crm:100042.
    pub a: String,
    /// Another, e.g. fulfilment:SO-1000123.
    pub b: String,
}

pub async fn run(args: &Args, a: &ExplainArgs) -> anyhow::Result<u8> {
    let parse = |s: &str| {
        SourceKey::parse(s).ok_or_else(|| anyhow::anyhow!("{s:?} is not a source:key reference"))
    };
    let (ka, kb) = (parse(&a.a)?, parse(&a.b)?);
    let config = load_config(args)?;
    let store = Store::connect(&config.store_url).await?;
    let m = &config.matching;
    let explainer = Explainer::load(&store, m).await?;
    let (golden_a, golden_b) = (
        store.golden_id_of(&ka).await?,
        store.golden_id_of(&kb).await?,
    );
    store.close().await;
    for k in [&ka, &kb] {
        if explainer.record(k).is_none() {
            return Err(NotFound(format!("no record {k} in the store")).into());
        }
    }
    let explanation = gild::runtime::cpu(|| explainer.explain(&ka, &kb)).ok_or_else(|| {
        NotFound(
            "no stored model fits the configured comparisons: run `gild train` or `gild sync`"
                .into(),
        )
    })?;
    let pair = PairFacts {
        same_cluster: golden_a.is_some() && golden_a == golden_b,
        // Clustering's refusals are not stored; it refuses only pairs at or above the merge
        // threshold, which the weight shows.
        refused: false,
        weight: explanation.match_weight,
    };
    let verdict = match decide(&pair, &m.thresholds()) {
        Some(Decision::Merge) => "merged: both belong to the same golden customer",
        Some(Decision::KeptApart) => {
            "kept apart by clustering (over-merge protection or a steward decision)"
        }
        Some(Decision::Review) => "in the review band: left for a data steward",
        None => "not a match",
    };
    match args.format {
        Format::Json => json(&serde_json::json!({
            "a": ka.to_string(), "b": kb.to_string(),
            "golden_a": golden_a, "golden_b": golden_b,
            "explanation": explanation, "verdict": verdict,
            "defaults": explainer.chosen(),
        }))?,
        Format::Text => {
            outln!("{ka}  vs  {kb}\n");
            let mut t = Table::new(&[
                "comparison",
                &ka.to_string(),
                &kb.to_string(),
                "level",
                "weight",
            ])
            .numeric(&[4]);
            t.row(vec![
                "prior".into(),
                String::new(),
                String::new(),
                String::new(),
                format!("{:+.2}", explanation.prior_weight),
            ]);
            for c in &explanation.contributions {
                let level = match c.term_frequency {
                    Some(tf) => format!("{} (value frequency {:.2e})", c.level, tf),
                    None => c.level.clone(),
                };
                t.row(vec![
                    c.comparison.clone(),
                    c.value_a.clone(),
                    c.value_b.clone(),
                    level,
                    weight_cell(c),
                ]);
            }
            if let Some(h) = &explanation.household {
                t.row(vec![
                    format!("home shared ({})", h.key),
                    String::new(),
                    String::new(),
                    "shared".into(),
                    format!("{:+.2}", h.key_weight),
                ]);
            }
            out!("{}", t.render());
            outln!(
                "\nmatch weight {:+.2}, match probability {:.6} (merge at {}, review at {})",
                explanation.match_weight,
                explanation.match_probability,
                m.merge_threshold,
                m.review_threshold
            );
            if let Some(h) = &explanation.household {
                outln!("household: {}", h.describe());
            }
            if let Some(chosen) = explainer.chosen() {
                outln!("{}", chosen.describe().join("\n"));
            }
            if !explanation.contradictions.is_empty() {
                let merge_weight = gild::model::logit2(m.merge_threshold);
                outln!(
                    "contradicting evidence: {} ({})",
                    explanation.contradictions.join(", "),
                    if explanation.contradiction_stands(merge_weight) {
                        "with it counted twice the pair is below the merge threshold: never put in one cluster"
                    } else {
                        "outweighed: the pair clears the merge threshold even with it counted twice"
                    }
                );
            }
            outln!(
                "golden: {} / {} — {verdict}",
                golden_a.as_deref().unwrap_or("-"),
                golden_b.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(EXIT_OK)
}

/// A contribution's weight; for a pair that shares a home, also the weight between random records.
pub(crate) fn weight_cell(c: &gild::model::Contribution) -> String {
    match c.weight_against_random {
        Some(random) => format!("{:+.2} ({:+.2})", c.weight, random),
        None => format!("{:+.2}", c.weight),
    }
}
