//! The review queue of one run: one item per pair of golden customers that the matcher was unsure
//! about (a pair in the review band) or would not glue (an over-merge suspect), with the strongest
//! record pair between them as its representative.
//!
//! An item is worth a steward's time in proportion to what a decision is expected to change: the
//! chance that gild's current outcome (the two kept apart) is wrong, the representative pair's
//! match probability, times the records the decision moves (the smaller customer's). The open
//! queue is ordered by that. Pairs gild kept apart on clear evidence (a comparison that forbids
//! linking disagrees, or a steward said so) are no question: such items are settled, not open.

use crate::cluster::{Refusal, RefusalReason};
use crate::decision::{Decision, ReviewKind};
use crate::model::{probability, ScoredPair};
use crate::record::SourceKey;
use crate::store::{ReviewItemRow, ReviewStatus};
use rayon::prelude::*;
use std::collections::HashMap;

pub struct QueueInput<'a> {
    /// Pairs scored at or above the review threshold.
    pub scored: &'a [ScoredPair],
    /// The decision about each scored pair.
    pub decisions: &'a [Decision],
    /// Cluster of every record.
    pub of: &'a [u32],
    /// Golden ID of every cluster.
    pub ids: &'a [String],
    /// Records per cluster.
    pub sizes: &'a [usize],
    pub refused: &'a Refused,
    pub key: &'a (dyn Fn(u32) -> SourceKey + Sync),
}

struct Group {
    best: ScoredPair,
    pairs: i64,
    kind: ReviewKind,
    reason: Option<RefusalReason>,
    /// Every pair between the two customers is kept apart on clear evidence.
    settled: bool,
}

/// The refusal that says most about a pair of customers: a weak chain (a question for a steward)
/// before a steward's cannot-link, before a contradiction.
fn main_reason(reasons: impl Iterator<Item = RefusalReason>) -> Option<RefusalReason> {
    reasons.min_by_key(|r| match r {
        RefusalReason::WeakChain => 0,
        RefusalReason::StewardCannotLink => 1,
        RefusalReason::Contradiction => 2,
    })
}

/// Whether gild's outcome for a pair is no question: kept apart on clear evidence. A pair
/// refused for a contradiction or a steward's cannot-link is; one refused as a weak chain is not
/// (the chain may be wrong, the pair right); an unrefused pair is when a comparison marked
/// `cannot_link_when_different` disagrees and the pair did not clear the merge threshold.
fn settled(pair: &ScoredPair, decision: Decision, refusal: Option<RefusalReason>) -> bool {
    match refusal {
        Some(RefusalReason::Contradiction | RefusalReason::StewardCannotLink) => true,
        Some(RefusalReason::WeakChain) => false,
        None => pair.contradicted && decision != Decision::Merge,
    }
}

/// The merge edges clustering refused, by record pair (either way round), with the reason.
pub struct Refused(HashMap<(u32, u32), RefusalReason>);

impl Refused {
    pub fn new(refusals: &[Refusal]) -> Refused {
        Refused(
            refusals
                .iter()
                .map(|r| ((r.i.min(r.j), r.i.max(r.j)), r.reason))
                .collect(),
        )
    }

    pub fn reason(&self, i: u32, j: u32) -> Option<RefusalReason> {
        self.0.get(&(i.min(j), i.max(j))).copied()
    }
}

pub fn queue_items(input: &QueueInput<'_>) -> Vec<ReviewItemRow> {
    // Pairs between two customers, ordered by golden ID, so that the item is the same whichever
    // way round it was scored; grouped by sorting (stable: each group keeps the scored order).
    let mut between: Vec<(u32, u32, ScoredPair, Decision)> = input
        .scored
        .par_iter()
        .zip(input.decisions.par_iter())
        .filter_map(|(p, &decision)| {
            let (ci, cj) = (input.of[p.i as usize], input.of[p.j as usize]);
            if ci == cj {
                None
            } else if input.ids[ci as usize] <= input.ids[cj as usize] {
                Some((ci, cj, *p, decision))
            } else {
                Some((
                    cj,
                    ci,
                    ScoredPair {
                        i: p.j,
                        j: p.i,
                        ..*p
                    },
                    decision,
                ))
            }
        })
        .collect();
    between.par_sort_by_key(|&(ci, cj, _, _)| (ci, cj));
    let groups: Vec<((u32, u32), Group)> = between
        .chunk_by(|x, y| (x.0, x.1) == (y.0, y.1))
        .map(|pairs| {
            let (ci, cj, first, _) = pairs[0];
            let scored = pairs.iter().map(|&(_, _, p, _)| p);
            let g = Group {
                // The strongest pair; of equal ones, the lowest record numbers.
                best: scored.clone().fold(first, |best, p| {
                    if p.weight > best.weight
                        || (p.weight == best.weight && (p.i, p.j) < (best.i, best.j))
                    {
                        p
                    } else {
                        best
                    }
                }),
                pairs: pairs.len() as i64,
                kind: ReviewKind::of(pairs.iter().map(|&(_, _, _, d)| d)),
                reason: main_reason(scored.filter_map(|p| input.refused.reason(p.i, p.j))),
                settled: pairs
                    .iter()
                    .all(|&(_, _, p, d)| settled(&p, d, input.refused.reason(p.i, p.j))),
            };
            ((ci, cj), g)
        })
        .collect();
    let mut items: Vec<ReviewItemRow> = groups
        .into_par_iter()
        .map(|((ci, cj), g)| {
            let prob = probability(f64::from(g.best.weight));
            // Accepting moves the smaller customer's records; rejecting moves none, but the
            // chance that it is needed is the chance that the two are one person.
            let records = input.sizes[ci as usize].min(input.sizes[cj as usize]) as i64;
            ReviewItemRow {
                golden_a: input.ids[ci as usize].clone(),
                golden_b: input.ids[cj as usize].clone(),
                kind: g.kind,
                a: (input.key)(g.best.i),
                b: (input.key)(g.best.j),
                probability: prob,
                record_pairs: g.pairs,
                records,
                impact: prob * records as f64,
                reason: g.reason,
                status: if g.settled {
                    ReviewStatus::Settled
                } else {
                    ReviewStatus::Open
                },
            }
        })
        .collect();
    items.par_sort_unstable_by(|x, y| {
        (x.status == ReviewStatus::Settled)
            .cmp(&(y.status == ReviewStatus::Settled))
            .then_with(|| y.impact.total_cmp(&x.impact))
            .then_with(|| (&x.golden_a, &x.golden_b).cmp(&(&y.golden_a, &y.golden_b)))
    });
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{decide, PairFacts, Thresholds};
    use crate::model::logit2;

    fn pair(i: u32, j: u32, p: f64) -> ScoredPair {
        ScoredPair {
            contradicted: false,
            i,
            j,
            weight: logit2(p) as f32,
            rule: 0,
        }
    }

    #[test]
    fn one_item_per_pair_of_customers_strongest_pair_first_over_merges_named() {
        // Records 0,1 in cluster 0 (G2); 2 in cluster 1 (G1); 3 in cluster 2 (G3).
        let of = [0, 0, 1, 2];
        let ids = ["G2".to_string(), "G1".to_string(), "G3".to_string()];
        let scored = [
            pair(0, 1, 0.999), // same cluster: not an item
            pair(0, 2, 0.60),
            pair(1, 2, 0.80),
            pair(2, 3, 0.995), // refused merge
        ];
        let refusals = [Refusal {
            i: 2,
            j: 3,
            weight: scored[3].weight,
            reason: RefusalReason::Contradiction,
            mean_probability: 0.9,
        }];
        let key = |i: u32| SourceKey::new("crm", i.to_string());
        let refused = Refused::new(&refusals);
        let thresholds = Thresholds::new(0.99, 0.5);
        let decisions: Vec<Decision> = scored
            .iter()
            .map(|p| {
                let pair = PairFacts {
                    same_cluster: of[p.i as usize] == of[p.j as usize],
                    refused: refused.reason(p.i, p.j).is_some(),
                    weight: f64::from(p.weight),
                };
                decide(&pair, &thresholds).expect("every pair is in the review band or above")
            })
            .collect();
        let items = queue_items(&QueueInput {
            scored: &scored,
            decisions: &decisions,
            of: &of,
            ids: &ids,
            sizes: &[2, 1, 1],
            refused: &refused,
            key: &key,
        });
        assert_eq!(items.len(), 2);
        // The open item first; the contradiction is settled, behind it whatever its impact.
        let first = &items[0];
        assert_eq!(
            (first.golden_a.as_str(), first.golden_b.as_str()),
            ("G1", "G2")
        );
        assert_eq!(
            (first.a.key.as_str(), first.b.key.as_str()),
            ("2", "1"),
            "a is G1's record"
        );
        assert_eq!(first.record_pairs, 2);
        assert_eq!(first.kind, ReviewKind::ReviewBand);
        assert_eq!(first.status, ReviewStatus::Open);
        assert_eq!(
            first.records, 1,
            "accepting moves the smaller customer's one record"
        );
        assert!((first.probability - 0.8).abs() < 1e-4);
        let second = &items[1];
        assert_eq!(second.kind, ReviewKind::OverMerge);
        assert_eq!(second.reason, Some(RefusalReason::Contradiction));
        assert_eq!(second.status, ReviewStatus::Settled);
        assert!(second.impact > first.impact);
    }

    #[test]
    fn a_pair_kept_apart_on_clear_evidence_is_settled_and_a_weak_chain_is_open() {
        let of = [0, 1, 2, 3];
        let ids: Vec<String> = ["G1", "G2", "G3", "G4"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut contradicted = pair(0, 1, 0.7);
        contradicted.contradicted = true;
        let weak = pair(2, 3, 0.995);
        let refusals = [Refusal {
            i: 2,
            j: 3,
            weight: weak.weight,
            reason: RefusalReason::WeakChain,
            mean_probability: 0.3,
        }];
        let refused = Refused::new(&refusals);
        let scored = [contradicted, weak];
        let decisions = [Decision::Review, Decision::KeptApart];
        let key = |i: u32| SourceKey::new("crm", i.to_string());
        let items = queue_items(&QueueInput {
            scored: &scored,
            decisions: &decisions,
            of: &of,
            ids: &ids,
            sizes: &[1, 1, 1, 1],
            refused: &refused,
            key: &key,
        });
        let status = |a: &str| {
            items
                .iter()
                .find(|i| i.golden_a == a)
                .map(|i| i.status)
                .expect("item")
        };
        assert_eq!(status("G1"), ReviewStatus::Settled, "different given names");
        assert_eq!(
            status("G3"),
            ReviewStatus::Open,
            "a weak chain is a question"
        );
        assert_eq!(items[0].golden_a, "G3", "open items first");
    }
}
