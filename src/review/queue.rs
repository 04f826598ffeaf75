//! The review queue of one run: one item per pair of golden customers that the matcher was unsure
//! about (a pair in the review band) or would not glue (an over-merge suspect), with the strongest
//! record pair between them as its representative, highest impact first.

use crate::cluster::Refusal;
use crate::model::{probability, ScoredPair};
use crate::record::SourceKey;
use crate::store::ReviewItemRow;
use rayon::prelude::*;
use std::collections::HashMap;

pub struct QueueInput<'a> {
    /// Pairs scored at or above the review threshold.
    pub scored: &'a [ScoredPair],
    /// Cluster of every record.
    pub of: &'a [u32],
    /// Golden ID of every cluster.
    pub ids: &'a [String],
    /// Records per cluster.
    pub sizes: &'a [usize],
    pub refused: &'a Refused,
    /// Weight at or above which a pair is a merge.
    pub merge_weight: f64,
    pub key: &'a (dyn Fn(u32) -> SourceKey + Sync),
}

struct Group {
    best: ScoredPair,
    pairs: i64,
    over_merge: bool,
    reason: Option<&'static str>,
}

/// The merge edges clustering refused, by record pair (either way round), with the reason.
pub struct Refused(HashMap<(u32, u32), &'static str>);

impl Refused {
    pub fn new(refusals: &[Refusal]) -> Refused {
        Refused(
            refusals
                .iter()
                .map(|r| ((r.i.min(r.j), r.i.max(r.j)), r.reason.as_str()))
                .collect(),
        )
    }

    pub fn reason(&self, i: u32, j: u32) -> Option<&'static str> {
        self.0.get(&(i.min(j), i.max(j))).copied()
    }
}

pub fn queue_items(input: &QueueInput<'_>) -> Vec<ReviewItemRow> {
    // Pairs between two customers, ordered by golden ID, so that the item is the same whichever
    // way round it was scored; grouped by sorting (stable: each group keeps the scored order).
    let mut between: Vec<(u32, u32, ScoredPair)> = input
        .scored
        .par_iter()
        .filter_map(|p| {
            let (ci, cj) = (input.of[p.i as usize], input.of[p.j as usize]);
            if ci == cj {
                None
            } else if input.ids[ci as usize] <= input.ids[cj as usize] {
                Some((ci, cj, *p))
            } else {
                Some((
                    cj,
                    ci,
                    ScoredPair {
                        i: p.j,
                        j: p.i,
                        ..*p
                    },
                ))
            }
        })
        .collect();
    between.par_sort_by_key(|&(ci, cj, _)| (ci, cj));
    let groups: Vec<((u32, u32), Group)> = between
        .chunk_by(|x, y| (x.0, x.1) == (y.0, y.1))
        .map(|pairs| {
            let (ci, cj, first) = pairs[0];
            let mut scored = pairs.iter().map(|&(_, _, p)| p);
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
                over_merge: scored
                    .clone()
                    .any(|p| f64::from(p.weight) >= input.merge_weight),
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
                kind: if g.over_merge {
                    "over_merge"
                } else {
                    "review_band"
                },
                a: (input.key)(g.best.i),
                b: (input.key)(g.best.j),
                probability: prob,
                record_pairs: g.pairs,
                records,
                impact: prob * records as f64,
                reason: g.reason.map(str::to_string),
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
    use crate::cluster::RefusalReason;
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
        let items = queue_items(&QueueInput {
            scored: &scored,
            of: &of,
            ids: &ids,
            sizes: &[2, 1, 1],
            refused: &Refused::new(&refusals),
            merge_weight: logit2(0.99),
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
        assert_eq!(first.kind, "review_band");
        assert!((first.probability - 0.8).abs() < 1e-4);
        let second = &items[1];
        assert_eq!(second.kind, "over_merge");
        assert_eq!(second.reason.as_deref(), Some("contradiction"));
    }
}
