//! The Fellegi-Sunter match model: each comparison level has an m probability (how often true
//! matches fall in it) and a u probability (how often non-matches do); log2(m/u) is the level's
//! match weight, and the weights of a pair plus the prior add up to its match probability.

mod household;
mod train;

pub use household::{HouseholdComparison, HouseholdParams};
pub use train::{train, EmSession, Labels, Training, TrainingConfig, TrainingReport};

use crate::compare::{Comparator, Comparison, TermTable};
use crate::prepare::Field;
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    pub label: String,
    pub m: f64,
    pub u: f64,
}

impl LevelParams {
    pub fn weight(&self) -> f64 {
        (self.m / self.u).log2()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    pub name: String,
    pub field: Field,
    pub term_frequency: bool,
    /// The configured levels, then "else". The null level has no parameters: it weighs nothing.
    pub levels: Vec<LevelParams>,
}

/// A trained model: readable, diffable JSON when exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub format: u32,
    pub trained_at: DateTime<Utc>,
    pub records: usize,
    /// Probability that two records drawn at random are the same person.
    pub prior: f64,
    pub comparisons: Vec<ComparisonParams>,
    /// How people who share a home differ from one person, per home key (see `household`).
    #[serde(default)]
    pub households: Vec<HouseholdParams>,
    /// The training estate's term frequencies: every run scoring with this model weighs
    /// agreements by them, so a run's weights do not depend on the rest of the estate.
    #[serde(default)]
    pub term_frequencies: Vec<TermTable>,
    /// The training estate's word counts, for the evidence rule's best-formed spelling: every
    /// golden build with this model uses them, so that a tie-break does not depend on the rest
    /// of the estate either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estate: Option<crate::golden::Estate>,
    pub training: TrainingReport,
    /// The built-in defaults' choice the model was trained for, when gild.toml gives no
    /// matching rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<crate::choose::Chosen>,
    /// The rules that choice put in force: every run with this model matches by them instead of
    /// choosing again (the data of the day would choose a little differently).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_rules: Option<crate::choose::ChosenRules>,
}

/// 2: household parameters. 3: term frequencies kept with the model. 4: the survivorship
/// estate and the built-in defaults' rules kept with it. A model of an older format is
/// retrained.
pub const MODEL_FORMAT: u32 = 4;

pub fn logit2(p: f64) -> f64 {
    let p = p.clamp(1e-15, 1.0 - 1e-15);
    (p / (1.0 - p)).log2()
}

pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

impl Model {
    /// Whether the model was trained for these comparisons (same names, fields and levels).
    pub fn fits(&self, comparisons: &[Comparison]) -> bool {
        self.format == MODEL_FORMAT
            && self.comparisons.len() == comparisons.len()
            && self.comparisons.iter().zip(comparisons).all(|(p, c)| {
                p.name == c.name
                    && p.field == c.field
                    && p.term_frequency == c.term_frequency
                    && p.levels.len() == c.levels.len() + 1
                    && p.levels
                        .iter()
                        .zip(&c.levels)
                        .all(|(l, k)| l.label == k.label())
            })
    }

    pub fn prior_weight(&self) -> f64 {
        logit2(self.prior)
    }

    /// The comparisons (exact first level) that make up a home key.
    fn key_comparisons(&self, home: &HouseholdParams) -> Option<Vec<usize>> {
        home.fields
            .iter()
            .map(|f| {
                self.comparisons
                    .iter()
                    .position(|c| c.field == *f && c.levels[0].label == "exact")
            })
            .collect()
    }

    /// What sharing a home key weighs: the chance that one person's records agree exactly on
    /// the key's fields over the counted chance that different people's records share it.
    pub fn home_key_weight(&self, home: &HouseholdParams) -> Option<f64> {
        let m_key: f64 = self
            .key_comparisons(home)?
            .iter()
            .map(|&c| self.comparisons[c].levels[0].m)
            .product();
        Some((m_key / home.u_key.max(1e-15)).log2())
    }
}

/// Whether a contradiction keeps a pair from merging. A comparison marked
/// `cannot_link_when_different` that disagrees says more than its weight in the model: the pair
/// merges only if it clears the merge weight with that disagreement counted twice (`contradicting`
/// is the magnitude of the contradicting comparisons' weights). A household pair, whose model
/// weight is near the threshold, stays apart; one person's records that agree on everything else
/// (a nickname no table knows, a mistyped birth year) are not split for one field.
pub fn contradiction_stands(weight: f64, contradicting: f64, merge_weight: f64) -> bool {
    weight - contradicting < merge_weight
}

/// A model ready to score: weights precomputed per comparison and level.
pub struct Scorer<'a> {
    pub model: &'a Model,
    pub comparator: &'a Comparator<'a>,
    /// [comparison][level] with level 0 = null (weight 0).
    weights: Vec<Vec<f64>>,
    /// Lower bound of a term-frequency-adjusted exact match: the weakest agreeing level's weight.
    tf_floor: Vec<f64>,
    prior_weight: f64,
    homes: Vec<HomeWeights>,
}

/// A home key's weights, ready to score: used instead of the plain weights when a pair shares
/// the key.
struct HomeWeights {
    key: String,
    /// Comparison indices of the key, each with the weight its near-exact level (a typo in a
    /// street name) gives up against exact agreement, where the key allows one.
    key_comparisons: Vec<(usize, Option<f64>)>,
    /// What sharing the key weighs: m of the key's exact levels over the counted chance that
    /// different people share it.
    key_weight: f64,
    /// [comparison][level], the key's comparisons at zero: m over the same-home non-match chance.
    weights: Vec<Vec<f64>>,
}

impl HomeWeights {
    fn new(model: &Model, plain: &[Vec<f64>], home: &HouseholdParams) -> Option<HomeWeights> {
        let index = |name: &str| model.comparisons.iter().position(|c| c.name == name);
        let key_weight = model.home_key_weight(home)?;
        let key_comparisons = model
            .key_comparisons(home)?
            .into_iter()
            .map(|c| {
                let typo_tolerant = matches!(
                    model.comparisons[c].field,
                    Field::Street | Field::StreetName
                ) && model.comparisons[c].levels.len() >= 3;
                (c, typo_tolerant.then(|| plain[c][2] - plain[c][1]))
            })
            .collect();
        let mut weights: Vec<Vec<f64>> = plain.iter().map(|w| vec![0.0; w.len()]).collect();
        for hc in &home.comparisons {
            let c = index(&hc.name)?;
            let levels = &model.comparisons[c].levels;
            if hc.n.len() != levels.len() {
                return None;
            }
            for (l, (lp, n)) in levels.iter().zip(&hc.n).enumerate() {
                weights[c][l + 1] = (lp.m / n.max(1e-15)).log2();
            }
        }
        Some(HomeWeights {
            key: home.key.clone(),
            key_weight,
            key_comparisons,
            weights,
        })
    }

    /// What sharing the key weighs for a pair at these levels, if it shares the key: every
    /// comparison of the key agrees exactly, or a street at its first fuzzy level (one home
    /// written with a typo; a house number or postcode one digit off is another home).
    fn shared(&self, levels: &[u8]) -> Option<f64> {
        let mut weight = self.key_weight;
        for &(c, typo) in &self.key_comparisons {
            match (levels[c], typo) {
                (1, _) => {}
                (2, Some(typo)) => weight += typo,
                _ => return None,
            }
        }
        Some(weight)
    }
}

/// One comparison's part in a pair's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub comparison: String,
    pub field: String,
    pub value_a: String,
    pub value_b: String,
    pub level: String,
    pub weight: f64,
    /// Set when the weight was adjusted for how common the value is.
    pub term_frequency: Option<f64>,
    /// Set when the pair shares a home: the weight this level would have between two random
    /// records (`weight` is then measured against people who share a home).
    pub weight_against_random: Option<f64>,
}

/// Why a pair that shares a home was weighed against households.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdEvidence {
    /// The home key the two records share, e.g. `street+postcode`.
    pub key: String,
    /// What sharing the key weighs (included in the total).
    pub key_weight: f64,
    /// The match weight the pair would get if its fields agreed independently, as between
    /// random records.
    pub weight_if_independent: f64,
}

impl Explanation {
    /// Whether a contradiction keeps the pair from merging at `merge_weight`.
    pub fn contradiction_stands(&self, merge_weight: f64) -> bool {
        !self.contradictions.is_empty()
            && contradiction_stands(self.match_weight, self.contradiction_weight, merge_weight)
    }
}

impl HouseholdEvidence {
    /// One line for people: what the shared home changed.
    pub fn describe(&self) -> String {
        format!(
            "the two records share a home ({}): sharing it weighs {:+.2}, and every other field is \
             weighed against different people who share a home (the weight between random records \
             in brackets); with every field weighed as independent the pair would score {:+.2}",
            self.key, self.key_weight, self.weight_if_independent
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub prior_weight: f64,
    pub contributions: Vec<Contribution>,
    pub match_weight: f64,
    pub match_probability: f64,
    /// Comparisons whose disagreement forbids linking the two records.
    pub contradictions: Vec<String>,
    /// The magnitude of the contradicting comparisons' weights (see [`contradiction_stands`]).
    pub contradiction_weight: f64,
    /// Set when the two records share a home and were weighed against people who do.
    pub household: Option<HouseholdEvidence>,
}

/// A scored candidate pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    pub i: u32,
    pub j: u32,
    pub weight: f32,
    pub rule: u8,
    /// A comparison marked `cannot_link_when_different` disagrees.
    pub contradicted: bool,
}

impl<'a> Scorer<'a> {
    pub fn new(model: &'a Model, comparator: &'a Comparator<'a>) -> Self {
        let weights: Vec<Vec<f64>> = model
            .comparisons
            .iter()
            .map(|c| {
                std::iter::once(0.0)
                    .chain(c.levels.iter().map(LevelParams::weight))
                    .collect()
            })
            .collect();
        // The weakest agreeing level: an exact match on a common value never weighs less than a
        // fuzzy one would (the special levels, such as swapped names, can weigh far more than
        // exact agreement and are no floor).
        let tf_floor = weights
            .iter()
            .map(|w| {
                let agreeing = &w[2..w.len().saturating_sub(1).max(2)];
                agreeing.iter().copied().fold(f64::INFINITY, f64::min)
            })
            .map(|f| if f.is_finite() { f } else { f64::NEG_INFINITY })
            .collect();
        // A home key the comparisons no longer match is left out: the pair is scored plainly.
        let homes = model
            .households
            .iter()
            .filter_map(|h| HomeWeights::new(model, &weights, h))
            .collect();
        Scorer {
            model,
            comparator,
            weights,
            tf_floor,
            prior_weight: model.prior_weight(),
            homes,
        }
    }

    fn level_weight(&self, c: usize, level: u8, i: usize, j: usize) -> (f64, Option<f64>) {
        let w = self.weights[c][level as usize];
        let comp = &self.comparator.comparisons[c];
        if comp.is_tf_level(level) {
            if let Some(tf) = self.comparator.term_frequency(c, i, j) {
                let m = self.model.comparisons[c].levels[level as usize - 1].m;
                // m/tf: the chance of agreeing on this particular value by accident is its frequency.
                let adjusted = (m / tf.max(1e-9)).log2().max(self.tf_floor[c]);
                return (adjusted, Some(tf));
            }
        }
        (w, None)
    }

    /// Whether comparison `c`, at `level`, forbids linking the pair.
    fn contradicts(&self, c: usize, level: u8, i: usize, j: usize) -> bool {
        let comp = &self.comparator.comparisons[c];
        comp.cannot_link_when_different
            && level == comp.else_level()
            && !comp
                .unless_agreeing
                .iter()
                .any(|&u| self.comparator.level(u, i, j) == 1)
    }

    /// The home the pair shares, if any: the first home key all of whose comparisons agree
    /// exactly.
    fn home(&self, levels: &[u8]) -> Option<(&HomeWeights, f64)> {
        self.homes
            .iter()
            .find_map(|h| h.shared(levels).map(|w| (h, w)))
    }

    /// The match weight of a pair, and whether some comparison forbids linking it.
    pub fn score(&self, i: usize, j: usize) -> (f64, bool) {
        let (total, contradiction) = self.weigh(i, j);
        (total, contradiction.is_some())
    }

    /// The match weight of a pair, and whether a contradiction keeps it from merging at
    /// `merge_weight` (see [`contradiction_stands`]).
    pub fn score_for_merging(&self, i: usize, j: usize, merge_weight: f64) -> (f64, bool) {
        let (total, contradiction) = self.weigh(i, j);
        let stands = contradiction.is_some_and(|c| contradiction_stands(total, c, merge_weight));
        (total, stands)
    }

    /// The match weight, and, if comparisons contradict, the sum of their weights' magnitudes.
    fn weigh(&self, i: usize, j: usize) -> (f64, Option<f64>) {
        const ON_STACK: usize = 32;
        let n = self.weights.len();
        let mut stack = [0u8; ON_STACK];
        let mut heap = Vec::new();
        let levels: &mut [u8] = if n <= ON_STACK {
            &mut stack[..n]
        } else {
            heap.resize(n, 0);
            &mut heap
        };
        let mut total = self.prior_weight;
        for (c, level) in levels.iter_mut().enumerate() {
            *level = self.comparator.level(c, i, j);
        }
        let home = self.home(levels);
        let mut contradiction: Option<f64> = None;
        if let Some((_, key_weight)) = home {
            total += key_weight;
        }
        for (c, &level) in levels.iter().enumerate() {
            let w = match home {
                Some((home, _)) => home.weights[c][level as usize],
                None => self.level_weight(c, level, i, j).0,
            };
            total += w;
            if self.contradicts(c, level, i, j) {
                *contradiction.get_or_insert(0.0) += w.abs();
            }
        }
        (total, contradiction)
    }

    pub fn explain(&self, i: usize, j: usize) -> Explanation {
        let p = self.comparator.prepared;
        let comps = self.comparator.comparisons;
        let levels: Vec<u8> = (0..comps.len())
            .map(|c| self.comparator.level(c, i, j))
            .collect();
        let home = self.home(&levels);
        let mut contributions = Vec::new();
        let mut contradictions = Vec::new();
        let mut total = self.prior_weight;
        let mut independent = self.prior_weight;
        let mut contradiction_weight = 0.0;
        for (c, comp) in comps.iter().enumerate() {
            let level = levels[c];
            let (plain, tf) = self.level_weight(c, level, i, j);
            independent += plain;
            let (weight, tf, against_random) = match home {
                Some((h, _)) => (h.weights[c][level as usize], None, Some(plain)),
                None => (plain, tf, None),
            };
            if self.contradicts(c, level, i, j) {
                contradictions.push(comp.name.clone());
                contradiction_weight += weight.abs();
            }
            total += weight;
            contributions.push(Contribution {
                comparison: comp.name.clone(),
                field: comp.field.name().to_string(),
                value_a: p.display(comp.field, i),
                value_b: p.display(comp.field, j),
                level: comp.level_label(level),
                weight,
                term_frequency: tf,
                weight_against_random: against_random,
            });
        }
        let household = home.map(|(h, key_weight)| {
            total += key_weight;
            HouseholdEvidence {
                key: h.key.clone(),
                key_weight,
                weight_if_independent: independent,
            }
        });
        Explanation {
            prior_weight: self.prior_weight,
            contributions,
            match_weight: total,
            match_probability: probability(total),
            contradictions,
            contradiction_weight,
            household,
        }
    }

    /// Scores candidate pairs in parallel, keeping those at or above `min_weight`.
    pub fn score_candidates(&self, pairs: &[u64], min_weight: f64) -> Vec<ScoredPair> {
        pairs
            .par_chunks(16_384)
            .flat_map_iter(|chunk| {
                chunk.iter().enumerate().filter_map(move |(k, &packed)| {
                    self.comparator.prefetch_ahead(k, |at| {
                        let (i, j, _) = crate::blocking::unpack(*chunk.get(at)?);
                        Some((i, j))
                    });
                    let (i, j, rule) = crate::blocking::unpack(packed);
                    let (w, contradicted) = self.score(i as usize, j as usize);
                    (w >= min_weight).then_some(ScoredPair {
                        i,
                        j,
                        weight: w as f32,
                        rule,
                        contradicted,
                    })
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
