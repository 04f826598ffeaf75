//! The review queue of one run: one item per pair of golden customers that the matcher was unsure
//! about (a pair in the review band) or would not glue (an over-merge suspect), with the strongest
//! record pair between them as its representative, highest impact first.

use crate::cluster::{Refusal, RefusalReason};
use crate::decision::{Decision, ReviewKind};
use crate::model::{probability, ScoredPair};
use crate::record::SourceKey;
use crate::store::ReviewItemRow;
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
            let mut scored = pairs.iter().map(|&(_, _, p, _)| p);
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
                reason: scored.find_map(|p| input.refused.reason(p.i, p.j)),
            };
            ((ci, cj), g)
        })
        .collect();
    let mut items: Vec<ReviewItemRow> = groups
        .into_par_iter()
        .map(|((ci, cj), g)| {
            let prob = probability(f64::from(g.best.weight));
            let records = (input.sizes[ci as usize] + input.sizes[cj as usize]) as i64;
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
            }
        })
        .collect();
    items.par_sort_unstable_by(|x, y| {
        y.impact
            .total_cmp(&x.impact)
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
        // G1+G2: 3 records x 0.8 = 2.4 beats G1+G3: 2 records x 0.995.
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
        assert!((first.probability - 0.8).abs() < 1e-4);
        let second = &items[1];
        assert_eq!(second.kind, ReviewKind::OverMerge);
        assert_eq!(second.reason, Some(RefusalReason::Contradiction));
    }
}
