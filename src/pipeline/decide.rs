//! The review stage: what is decided about every scored pair (merged, kept apart, for review),
//! and the stewards' queue of golden customer pairs.

use super::report::StageTime;
use super::{matching, Matched, RunContext};
use crate::decision::{decide, Decision, PairFacts};
use crate::model::probability;
use crate::record::{Record, SourceKey};
use crate::store::{PairRow, ReviewItemRow};
use rayon::prelude::*;

/// Every scored pair's decision, and the queue.
pub struct Decided {
    pub pairs: Vec<PairRow>,
    pub review_items: Vec<ReviewItemRow>,
}

impl Decided {
    /// Pairs not merged: kept apart or for review.
    pub fn pairs_for_review(&self) -> u64 {
        self.pairs
            .iter()
            .filter(|p| p.decision != Decision::Merge)
            .count() as u64
    }
}

/// Decides every scored pair and builds the stewards' queue; `golden_ids` names each cluster.
pub fn decide_pairs(
    cx: &RunContext<'_>,
    records: &[Record],
    matched: &Matched,
    golden_ids: &[String],
    stages: &mut Vec<StageTime>,
) -> Decided {
    let matching = &cx.config.matching;
    let thresholds = matching.thresholds();
    let outcome = &matched.outcome;
    let of = &outcome.clusters.of;
    let key = |i: u32| -> SourceKey { records[i as usize].source_key() };
    matching::stage("review", cx.progress, stages, || {
        let refused = crate::review::Refused::new(&outcome.clusters.refusals);
        let decisions: Vec<Decision> = outcome
            .scored
            .par_iter()
            .map(|p| {
                let pair = PairFacts {
                    same_cluster: of[p.i as usize] == of[p.j as usize],
                    refused: refused.reason(p.i, p.j).is_some(),
                    weight: f64::from(p.weight),
                };
                // A scored pair was at or above the review threshold; its weight, kept as f32,
                // may round to just below it.
                decide(&pair, &thresholds).unwrap_or(Decision::Review)
            })
            .collect();
        let pairs: Vec<PairRow> = outcome
            .scored
            .par_iter()
            .zip(decisions.par_iter())
            .map(|(p, &decision)| PairRow {
                a: key(p.i),
                b: key(p.j),
                probability: probability(f64::from(p.weight)),
                weight: f64::from(p.weight),
                decision,
                rule: matching
                    .blocking
                    .get(p.rule as usize)
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let sizes: Vec<usize> = matched.members.iter().map(Vec::len).collect();
        let review_items = crate::review::queue_items(&crate::review::QueueInput {
            scored: &outcome.scored,
            decisions: &decisions,
            of,
            ids: golden_ids,
            sizes: &sizes,
            refused: &refused,
            key: &key,
        });
        Decided {
            pairs,
            review_items,
        }
    })
}
