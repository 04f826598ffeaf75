//! Clustering of merge edges that refuses to over-merge.
//!
//! Edges are taken strongest first (Kruskal-like). Two clusters are joined only if no pair across
//! them carries a contradiction that stands (different dates of birth or given names the pair's
//! own evidence does not outweigh, a steward's cannot-link) and the pairs across them are, on average, matches:
//! a cluster held together by one chain of weak links is not glued. Refused joins are reported
//! so that stewards can review them.

use crate::model::{probability, ScoredPair};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusteringConfig {
    /// Two clusters join only if the mean match probability of the pairs across them is at least this.
    #[serde(default = "default_min_mean")]
    pub min_mean_probability: f64,
    /// Pairs checked across two clusters before a join (larger products are sampled evenly).
    #[serde(default = "default_max_cross")]
    pub max_cross_pairs: usize,
}

impl Default for ClusteringConfig {
    fn default() -> Self {
        ClusteringConfig {
            min_mean_probability: default_min_mean(),
            max_cross_pairs: default_max_cross(),
        }
    }
}

fn default_min_mean() -> f64 {
    0.5
}
fn default_max_cross() -> usize {
    400
}

/// Decisions stewards made, in record indices.
#[derive(Debug, Clone, Default)]
pub struct Constraints {
    pub must_link: Vec<(u32, u32)>,
    pub cannot_link: Vec<(u32, u32)>,
}

text_enum! {
    /// Why clustering would not join two clusters.
    pub enum RefusalReason ("refusal reason") {
        /// Some pair across the two clusters has contradicting strong evidence.
        Contradiction = "contradiction",
        /// A steward said these records are different people.
        StewardCannotLink = "steward_cannot_link",
        /// The pairs across the clusters are, on average, not matches.
        WeakChain = "weak_chain",
    }
}

/// A merge edge the clustering would not follow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub i: u32,
    pub j: u32,
    pub weight: f32,
    pub reason: RefusalReason,
    /// Mean match probability across the two clusters at the time.
    pub mean_probability: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    /// Cluster number of every record; clusters are numbered by their first record.
    pub of: Vec<u32>,
    pub count: usize,
    pub refusals: Vec<Refusal>,
}

impl Clusters {
    /// Records per cluster, in cluster order.
    pub fn members(&self) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.count];
        for (r, &c) in self.of.iter().enumerate() {
            out[c as usize].push(r as u32);
        }
        out
    }
}

struct UnionFind {
    parent: Vec<u32>,
    members: Vec<Vec<u32>>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            members: (0..n as u32).map(|i| vec![i]).collect(),
        }
    }

    fn find(&mut self, x: u32) -> u32 {
        let mut root = x;
        while self.parent[root as usize] != root {
            root = self.parent[root as usize];
        }
        let mut cur = x;
        while self.parent[cur as usize] != root {
            let next = self.parent[cur as usize];
            self.parent[cur as usize] = root;
            cur = next;
        }
        root
    }

    fn union(&mut self, a: u32, b: u32) {
        let (big, small) = if self.members[a as usize].len() >= self.members[b as usize].len() {
            (a, b)
        } else {
            (b, a)
        };
        self.parent[small as usize] = big;
        let moved = std::mem::take(&mut self.members[small as usize]);
        self.members[big as usize].extend(moved);
    }
}

/// Clusters `n` records along `edges` (pairs at or above the merge threshold).
/// `score(i, j)` gives any pair's match weight and whether it is contradicted.
pub fn cluster(
    n: usize,
    edges: &[ScoredPair],
    score: &(dyn Fn(usize, usize) -> (f64, bool) + Sync),
    constraints: &Constraints,
    config: &ClusteringConfig,
) -> Clusters {
    let mut uf = UnionFind::new(n);
    let cannot: HashSet<(u32, u32)> = constraints
        .cannot_link
        .iter()
        .map(|&(a, b)| if a < b { (a, b) } else { (b, a) })
        .collect();
    for &(a, b) in &constraints.must_link {
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra != rb {
            uf.union(ra, rb);
        }
    }
    let mut order: Vec<&ScoredPair> = edges.iter().collect();
    order.sort_by(|x, y| {
        y.weight
            .total_cmp(&x.weight)
            .then(x.i.cmp(&y.i))
            .then(x.j.cmp(&y.j))
    });
    let mut refusals = Vec::new();
    for e in order {
        let (ra, rb) = (uf.find(e.i), uf.find(e.j));
        if ra == rb {
            continue;
        }
        let (a, b) = (&uf.members[ra as usize], &uf.members[rb as usize]);
        let total = a.len() * b.len();
        // Every cross pair when few; otherwise an even sample that always includes the edge itself.
        let step = total.div_ceil(config.max_cross_pairs.max(1)).max(1);
        let mut checked = 0usize;
        let mut prob_sum = 0.0;
        let mut reason = None;
        let mut k = 0usize;
        'outer: for &x in a {
            for &y in b {
                let is_edge = (x == e.i && y == e.j) || (x == e.j && y == e.i);
                let pick = k % step == 0 || is_edge;
                k += 1;
                let key = if x < y { (x, y) } else { (y, x) };
                if cannot.contains(&key) {
                    reason = Some(RefusalReason::StewardCannotLink);
                    break 'outer;
                }
                if !pick {
                    continue;
                }
                let (w, contradicted) = if is_edge {
                    (f64::from(e.weight), score(x as usize, y as usize).1)
                } else {
                    score(x as usize, y as usize)
                };
                if contradicted {
                    reason = Some(RefusalReason::Contradiction);
                    break 'outer;
                }
                prob_sum += probability(w);
                checked += 1;
            }
        }
        let mean = if checked > 0 {
            prob_sum / checked as f64
        } else {
            0.0
        };
        if reason.is_none() && total > 1 && mean < config.min_mean_probability {
            reason = Some(RefusalReason::WeakChain);
        }
        match reason {
            None => uf.union(ra, rb),
            Some(reason) => refusals.push(Refusal {
                i: e.i,
                j: e.j,
                weight: e.weight,
                reason,
                mean_probability: mean,
            }),
        }
    }
    let mut of = vec![u32::MAX; n];
    let mut count = 0u32;
    for r in 0..n as u32 {
        let root = uf.find(r);
        if of[root as usize] == u32::MAX {
            of[root as usize] = count;
            count += 1;
        }
        of[r as usize] = of[root as usize];
    }
    Clusters {
        of,
        count: count as usize,
        refusals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_reasons_round_trip_as_stored() {
        for r in RefusalReason::ALL {
            assert_eq!(r.as_str().parse::<RefusalReason>(), Ok(*r));
        }
        assert_eq!(
            RefusalReason::NAMES,
            ["contradiction", "steward_cannot_link", "weak_chain"]
        );
    }

    fn edge(i: u32, j: u32, weight: f32) -> ScoredPair {
        ScoredPair {
            contradicted: false,
            i,
            j,
            weight,
            rule: 0,
        }
    }

    /// A toy world: records 0,1,2 are one person; 3 is a relative of 2 (contradicting dob);
    /// 4 is linked to 3 only through a weak chain.
    fn score(i: usize, j: usize) -> (f64, bool) {
        let (a, b) = (i.min(j), i.max(j));
        match (a, b) {
            (0, 1) | (0, 2) | (1, 2) => (20.0, false),
            (2, 3) => (12.0, true),
            (3, 4) => (8.0, false),
            _ => (-15.0, false),
        }
    }

    #[test]
    fn joins_true_matches_and_refuses_contradictions() {
        let edges = vec![edge(0, 1, 20.0), edge(1, 2, 20.0), edge(2, 3, 12.0)];
        let c = cluster(
            5,
            &edges,
            &score,
            &Constraints::default(),
            &ClusteringConfig::default(),
        );
        assert_eq!(c.of[0], c.of[1]);
        assert_eq!(c.of[1], c.of[2]);
        assert_ne!(c.of[2], c.of[3]);
        assert_eq!(c.count, 3);
        assert_eq!(c.refusals.len(), 1);
        assert_eq!(c.refusals[0].reason, RefusalReason::Contradiction);
    }

    #[test]
    fn refuses_weak_chains() {
        // 4 joins 3 (a pair: fine), then 3 would bring 4 into the 0-1 cluster through one edge.
        let edges = vec![edge(0, 1, 20.0), edge(3, 4, 8.0), edge(1, 4, 7.0)];
        let c = cluster(
            5,
            &edges,
            &score,
            &Constraints::default(),
            &ClusteringConfig::default(),
        );
        assert_eq!(c.of[3], c.of[4]);
        assert_ne!(c.of[1], c.of[4]);
        assert_eq!(c.refusals[0].reason, RefusalReason::WeakChain);
    }

    #[test]
    fn steward_decisions_win() {
        let edges = vec![edge(0, 1, 20.0)];
        let constraints = Constraints {
            must_link: vec![(3, 4)],
            cannot_link: vec![(1, 0)],
        };
        let c = cluster(
            5,
            &edges,
            &score,
            &constraints,
            &ClusteringConfig::default(),
        );
        assert_ne!(c.of[0], c.of[1]);
        assert_eq!(c.of[3], c.of[4]);
        assert_eq!(c.refusals[0].reason, RefusalReason::StewardCannotLink);
    }

    #[test]
    fn clusters_are_numbered_by_first_record() {
        let c = cluster(
            3,
            &[edge(1, 2, 20.0)],
            &score,
            &Constraints::default(),
            &ClusteringConfig::default(),
        );
        assert_eq!(c.of, vec![0, 1, 1]);
        assert_eq!(c.members(), vec![vec![0], vec![1, 2]]);
    }
}
