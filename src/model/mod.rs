//! The Fellegi-Sunter match model: each comparison level has an m probability (how often true
//! matches fall in it) and a u probability (how often non-matches do); log2(m/u) is the level's
//! match weight, and the weights of a pair plus the prior add up to its match probability.

mod train;

pub use train::{train, EmSession, Labels, Training, TrainingConfig, TrainingReport};

use crate::compare::{Comparator, Comparison};
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
    pub training: TrainingReport,
}

pub const MODEL_FORMAT: u32 = 1;

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
        self.comparisons.len() == comparisons.len()
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
}

/// A model ready to score: weights precomputed per comparison and level.
pub struct Scorer<'a> {
    pub model: &'a Model,
    pub comparator: &'a Comparator<'a>,
    /// [comparison][level] with level 0 = null (weight 0).
    weights: Vec<Vec<f64>>,
    /// Lower bound of a term-frequency-adjusted exact match: the next level's weight.
    tf_floor: Vec<f64>,
    prior_weight: f64,
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub prior_weight: f64,
    pub contributions: Vec<Contribution>,
    pub match_weight: f64,
    pub match_probability: f64,
    /// Comparisons whose disagreement forbids linking the two records.
    pub contradictions: Vec<String>,
}

/// A scored candidate pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    pub i: u32,
    pub j: u32,
    pub weight: f32,
    pub rule: u8,
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
        let tf_floor = weights
            .iter()
            .map(|w| if w.len() > 3 { w[2] } else { f64::NEG_INFINITY })
            .collect();
        Scorer {
            model,
            comparator,
            weights,
            tf_floor,
            prior_weight: model.prior_weight(),
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

    /// The match weight of a pair, and whether some comparison forbids linking it.
    pub fn score(&self, i: usize, j: usize) -> (f64, bool) {
        let mut total = self.prior_weight;
        let mut contradiction = false;
        for c in 0..self.weights.len() {
            let level = self.comparator.level(c, i, j);
            if !contradiction && self.contradicts(c, level, i, j) {
                contradiction = true;
            }
            total += self.level_weight(c, level, i, j).0;
        }
        (total, contradiction)
    }

    pub fn explain(&self, i: usize, j: usize) -> Explanation {
        let p = self.comparator.prepared;
        let mut contributions = Vec::new();
        let mut contradictions = Vec::new();
        let mut total = self.prior_weight;
        for (c, comp) in self.comparator.comparisons.iter().enumerate() {
            let level = self.comparator.level(c, i, j);
            let (weight, tf) = self.level_weight(c, level, i, j);
            if self.contradicts(c, level, i, j) {
                contradictions.push(comp.name.clone());
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
            });
        }
        Explanation {
            prior_weight: self.prior_weight,
            contributions,
            match_weight: total,
            match_probability: probability(total),
            contradictions,
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
                    let (w, _) = self.score(i as usize, j as usize);
                    (w >= min_weight).then_some(ScoredPair {
                        i,
                        j,
                        weight: w as f32,
                        rule,
                    })
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
