//! What gild decides about a pair of records, and what kind of item a pair of customers makes
//! in the stewards' queue: one rule, used by the sync (which stores every scored pair's
//! decision), the review queue and `gild explain`.

use crate::model::logit2;
use crate::text_enum::text_enum;

text_enum! {
    /// What a sync decided about a pair of records.
    pub enum Decision ("pair decision") {
        /// In one cluster: the same customer.
        Merge = "merge",
        /// Strong enough to merge, but clustering would not (contradicting evidence, a weak
        /// chain, a steward's cannot-link).
        KeptApart = "kept_apart",
        /// In the review band: left for a data steward.
        Review = "review",
    }
}

text_enum! {
    /// Why a pair of golden customers is in the stewards' queue.
    pub enum ReviewKind ("review item kind") {
        /// Every pair of records between them is in the review band.
        ReviewBand = "review_band",
        /// Some pair between them was strong enough to merge, but they were kept apart: a
        /// possible over-merge the clustering refused.
        OverMerge = "over_merge",
    }
}

/// The configured thresholds as match weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// At or above: a merge, unless clustering keeps the pair apart.
    pub merge_weight: f64,
    /// At or above (and below the merge weight): the review band.
    pub review_weight: f64,
}

impl Thresholds {
    /// From the configured match probabilities.
    pub fn new(merge_threshold: f64, review_threshold: f64) -> Thresholds {
        Thresholds {
            merge_weight: logit2(merge_threshold),
            review_weight: logit2(review_threshold),
        }
    }
}

/// What a pair's decision rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairFacts {
    /// The two records ended in one cluster (one golden customer).
    pub same_cluster: bool,
    /// Clustering refused the merge edge between them.
    pub refused: bool,
    /// The pair's match weight.
    pub weight: f64,
}

/// The decision about one pair; None when the pair is below the review threshold and in two
/// clusters: not a match, nothing to decide.
pub fn decide(pair: &PairFacts, thresholds: &Thresholds) -> Option<Decision> {
    if pair.same_cluster {
        Some(Decision::Merge)
    } else if pair.refused || pair.weight >= thresholds.merge_weight {
        Some(Decision::KeptApart)
    } else if pair.weight >= thresholds.review_weight {
        Some(Decision::Review)
    } else {
        None
    }
}

impl ReviewKind {
    /// The kind of item two customers make, from the decisions about the pairs between them:
    /// an over-merge suspect if any pair was kept apart.
    pub fn of(decisions: impl IntoIterator<Item = Decision>) -> ReviewKind {
        if decisions.into_iter().any(|d| d == Decision::KeptApart) {
            ReviewKind::OverMerge
        } else {
            ReviewKind::ReviewBand
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(same_cluster: bool, refused: bool, weight: f64) -> PairFacts {
        PairFacts {
            same_cluster,
            refused,
            weight,
        }
    }

    #[test]
    fn each_branch_of_decide() {
        let t = Thresholds {
            merge_weight: 10.0,
            review_weight: 2.0,
        };
        // One cluster: a merge whatever the pair's own weight.
        assert_eq!(decide(&facts(true, false, 20.0), &t), Some(Decision::Merge));
        assert_eq!(decide(&facts(true, false, -5.0), &t), Some(Decision::Merge));
        // Refused by clustering, or at or above the merge weight yet in two clusters.
        assert_eq!(
            decide(&facts(false, true, 12.0), &t),
            Some(Decision::KeptApart)
        );
        assert_eq!(
            decide(&facts(false, true, 3.0), &t),
            Some(Decision::KeptApart)
        );
        assert_eq!(
            decide(&facts(false, false, 10.0), &t),
            Some(Decision::KeptApart)
        );
        // The review band, its lower bound included.
        assert_eq!(
            decide(&facts(false, false, 9.99), &t),
            Some(Decision::Review)
        );
        assert_eq!(
            decide(&facts(false, false, 2.0), &t),
            Some(Decision::Review)
        );
        // Below it: not a match.
        assert_eq!(decide(&facts(false, false, 1.99), &t), None);
    }

    #[test]
    fn thresholds_are_the_probabilities_as_weights() {
        let t = Thresholds::new(0.5, 0.2);
        assert_eq!(t.merge_weight, 0.0);
        assert!((t.review_weight - (0.25f64).log2()).abs() < 1e-12);
    }

    #[test]
    fn an_item_with_a_pair_kept_apart_is_an_over_merge_suspect() {
        use Decision::*;
        assert_eq!(ReviewKind::of([Review, Review]), ReviewKind::ReviewBand);
        assert_eq!(ReviewKind::of([Review, KeptApart]), ReviewKind::OverMerge);
        assert_eq!(ReviewKind::of([]), ReviewKind::ReviewBand);
    }

    #[test]
    fn names_round_trip() {
        for d in Decision::ALL {
            assert_eq!(d.as_str().parse::<Decision>(), Ok(*d));
        }
        for k in ReviewKind::ALL {
            assert_eq!(k.as_str().parse::<ReviewKind>(), Ok(*k));
        }
        assert_eq!(Decision::NAMES, ["merge", "kept_apart", "review"]);
        assert_eq!(ReviewKind::NAMES, ["review_band", "over_merge"]);
        assert!("merged".parse::<Decision>().is_err());
    }
}
