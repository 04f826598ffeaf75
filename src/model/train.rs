//! Training without labels: u from random pairs, m by expectation-maximisation on blocked pairs
//! (the fields a training rule blocks on are held out of that session), the prior from
//! deterministic rules.

use super::household;
use super::{ComparisonParams, LevelParams, Model, MODEL_FORMAT};
use crate::blocking::{self, BlockKey, BlockLimits, BlockingRule, BlockingRuleConfig, LinkType};
use crate::compare::{Comparator, Comparison};
use crate::prepare::{Field, Prepared};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Random record pairs sampled to estimate u.
    #[serde(default = "default_u_pairs")]
    pub u_sample_pairs: usize,
    /// Blocking rules for the EM sessions that estimate m; each should leave most comparisons free.
    #[serde(default)]
    pub em_rules: Vec<BlockingRuleConfig>,
    /// Pairs per EM session, sampled from the session's blocks.
    #[serde(default = "default_em_pairs")]
    pub em_max_pairs: usize,
    #[serde(default = "default_iterations")]
    pub em_max_iterations: usize,
    /// Deterministic rules whose pairs are almost surely matches, for the prior.
    #[serde(default)]
    pub prior_rules: Vec<BlockingRuleConfig>,
    /// The share of all true matches the prior rules are assumed to find.
    #[serde(default = "default_recall")]
    pub prior_recall: f64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Learn how people who share a home differ from one person (see `model::household`).
    #[serde(default = "default_households")]
    pub households: bool,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            u_sample_pairs: default_u_pairs(),
            em_rules: Vec::new(),
            em_max_pairs: default_em_pairs(),
            em_max_iterations: default_iterations(),
            prior_rules: Vec::new(),
            prior_recall: default_recall(),
            seed: default_seed(),
            households: default_households(),
        }
    }
}

/// A million of each: halving the earlier two million halved training time and left pairwise
/// F1 after clustering on FEBRL3, FEBRL4, synthetic-100k and synthetic-1m within the spread of
/// three sampling seeds at either size (2026-12-02, `[matching.training] seed`).
fn default_u_pairs() -> usize {
    1_000_000
}
fn default_em_pairs() -> usize {
    1_000_000
}
fn default_iterations() -> usize {
    30
}
fn default_recall() -> f64 {
    0.8
}
fn default_seed() -> u64 {
    42
}
fn default_households() -> bool {
    true
}

/// Validated training settings.
#[derive(Debug, Clone)]
pub struct Training {
    pub u_sample_pairs: usize,
    pub em_rules: Vec<BlockingRule>,
    pub em_max_pairs: usize,
    pub em_max_iterations: usize,
    pub prior_rules: Vec<BlockingRule>,
    pub prior_recall: f64,
    pub seed: u64,
    pub households: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmSession {
    pub rule: String,
    pub pairs: u64,
    pub iterations: usize,
    pub converged: bool,
    /// Comparisons held out because the rule blocks on their field.
    pub held_out: Vec<String>,
    /// The share of the session's pairs EM judged to be matches.
    pub match_share: f64,
    /// Time taken: finding the rule's pairs, comparing the sample, iterating.
    #[serde(default)]
    pub seconds: f64,
}

/// What training did, kept with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainingReport {
    pub u_pairs_sampled: u64,
    pub em_sessions: Vec<EmSession>,
    pub prior_pairs: u64,
    pub prior_recall: f64,
    /// Comparisons no session could estimate (their m stayed at the starting guess).
    pub not_estimated: Vec<String>,
    /// Labelled pairs from stewards' decisions used to refine m.
    #[serde(default)]
    pub labelled_pairs: u64,
    /// Time taken by the u sample, and by the prior's deterministic rules.
    #[serde(default)]
    pub u_seconds: f64,
    #[serde(default)]
    pub prior_seconds: f64,
    pub seconds: f64,
}

/// A small, fast, seedable generator: training must be repeatable.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// Level counts per comparison over a set of pairs.
fn count_levels(comparator: &Comparator<'_>, pairs: &[(u32, u32)]) -> Vec<Vec<u64>> {
    let comps = comparator.comparisons;
    pairs
        .par_chunks(8192)
        .map(|chunk| {
            let mut counts: Vec<Vec<u64>> =
                comps.iter().map(|c| vec![0; c.level_count()]).collect();
            let mut levels = vec![0u8; comps.len()];
            for (k, &(i, j)) in chunk.iter().enumerate() {
                comparator.prefetch_ahead(k, |at| chunk.get(at).copied());
                comparator.levels_into(i as usize, j as usize, &mut levels);
                for (c, &l) in levels.iter().enumerate() {
                    counts[c][l as usize] += 1;
                }
            }
            counts
        })
        .reduce(
            || comps.iter().map(|c| vec![0; c.level_count()]).collect(),
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    for (p, q) in x.iter_mut().zip(y) {
                        *p += q;
                    }
                }
                a
            },
        )
}

fn random_pairs(
    prepared: &Prepared,
    link_type: LinkType,
    want: usize,
    seed: u64,
) -> Vec<(u32, u32)> {
    let n = prepared.n as u64;
    if n < 2 {
        return Vec::new();
    }
    let allowed = |i: u32, j: u32| {
        link_type.allows(prepared.source[i as usize] == prepared.source[j as usize])
    };
    let all_pairs = n * (n - 1) / 2;
    if all_pairs as usize <= want {
        let mut out = Vec::with_capacity(all_pairs as usize);
        for i in 0..n as u32 {
            for j in i + 1..n as u32 {
                if allowed(i, j) {
                    out.push((i, j));
                }
            }
        }
        return out;
    }
    let mut rng = SplitMix(seed);
    let mut out = Vec::with_capacity(want);
    let mut tries = 0usize;
    while out.len() < want && tries < want * 20 {
        tries += 1;
        let i = rng.below(n) as u32;
        let j = rng.below(n) as u32;
        if i != j && allowed(i, j) {
            out.push(if i < j { (i, j) } else { (j, i) });
        }
    }
    out
}

/// Number of record pairs the link type allows.
fn total_pairs(prepared: &Prepared, link_type: LinkType) -> f64 {
    let n = prepared.n as f64;
    let mut per_source = vec![0f64; prepared.sources.len()];
    for &s in &prepared.source {
        per_source[s as usize] += 1.0;
    }
    let within: f64 = per_source.iter().map(|k| k * (k - 1.0) / 2.0).sum();
    let all = n * (n - 1.0) / 2.0;
    match link_type {
        LinkType::LinkAndDedupe => all,
        LinkType::LinkOnly => all - within,
        LinkType::DedupeOnly => within,
    }
}

/// A reasonable starting guess for m: most matches agree exactly.
fn initial_m(c: &Comparison) -> Vec<f64> {
    let k = c.levels.len();
    let mut m = Vec::with_capacity(k + 1);
    if k == 1 {
        m.push(0.9);
    } else {
        m.push(0.7);
        for _ in 1..k {
            m.push(0.25 / (k - 1) as f64);
        }
    }
    m.push(0.05);
    let s: f64 = m.iter().sum();
    m.into_iter().map(|x| x / s).collect()
}

fn rule_fields(rule: &BlockingRule) -> Vec<Field> {
    rule.keys
        .iter()
        .flat_map(|k| match k {
            BlockKey::Value(f)
            | BlockKey::Soundex(f)
            | BlockKey::Metaphone(f)
            | BlockKey::Initial(f) => vec![*f],
            BlockKey::BirthYear => vec![Field::DateOfBirth],
            BlockKey::NamesUnordered => vec![Field::GivenName, Field::FamilyName],
        })
        .collect()
}

pub(super) fn held_out(c: &Comparison, fields: &[Field]) -> bool {
    fields.iter().any(|&f| overlaps(c.field, f))
}

/// Whether blocking on one field also fixes the other (a whole and its parts). An e-mail address
/// usually spells its owner's name (`anna.kofron@...`): two people who share one (a family's
/// address, a common name at a big provider) share the name too, so an e-mail session must not
/// count name agreement as evidence of a match.
fn overlaps(a: Field, b: Field) -> bool {
    use Field::*;
    let whole_and_part =
        |whole: Field, part: Field| (a == whole && b == part) || (a == part && b == whole);
    a == b
        || whole_and_part(FullName, GivenName)
        || whole_and_part(FullName, FamilyName)
        || whole_and_part(Street, StreetName)
        || whole_and_part(Street, StreetNumber)
        || whole_and_part(Email, GivenName)
        || whole_and_part(Email, FamilyName)
        || whole_and_part(Email, FullName)
}

/// Smooths level frequencies so that no level has probability zero.
fn normalise(counts: &[f64], floor: f64) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    if total <= 0.0 {
        return vec![1.0 / counts.len() as f64; counts.len()];
    }
    let raw: Vec<f64> = counts.iter().map(|c| (c / total).max(floor)).collect();
    let s: f64 = raw.iter().sum();
    raw.into_iter().map(|x| x / s).collect()
}

/// What one EM session found.
pub(super) struct EmFit {
    /// m per comparison; None where held out.
    pub m: Vec<Option<Vec<f64>>>,
    pub iterations: usize,
    pub converged: bool,
    /// The share of the session's pairs judged to be matches.
    pub match_share: f64,
    /// Every distinct level pattern (held-out comparisons included), its pair count and its
    /// final match probability.
    pub patterns: Vec<(Vec<u8>, f64, f64)>,
}

/// One EM session over the pairs of one rule. Held-out comparisons take no part in telling
/// matches from non-matches, and get no m; their levels are kept in the patterns.
pub(super) fn em_session(
    comparator: &Comparator<'_>,
    pairs: &[(u32, u32)],
    held: &[bool],
    u: &[Vec<f64>],
    m_start: &[Vec<f64>],
    max_iterations: usize,
) -> EmFit {
    let comps = comparator.comparisons;
    // Identical level patterns are counted once: EM then runs over a few thousand patterns.
    let patterns: HashMap<Vec<u8>, u64> = pairs
        .par_chunks(8192)
        .map(|chunk| {
            let mut local: HashMap<Vec<u8>, u64> = HashMap::new();
            let mut levels = vec![0u8; comps.len()];
            for (k, &(i, j)) in chunk.iter().enumerate() {
                comparator.prefetch_ahead(k, |at| chunk.get(at).copied());
                comparator.levels_into(i as usize, j as usize, &mut levels);
                // A pattern seen before is counted without allocating: most pairs repeat one.
                match local.get_mut(levels.as_slice()) {
                    Some(count) => *count += 1,
                    None => {
                        local.insert(levels.clone(), 1);
                    }
                }
            }
            local
        })
        .reduce(HashMap::new, |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_insert(0) += v;
            }
            a
        });
    // Sorted, so that sums run in the same order every time: training is repeatable to the bit.
    let mut patterns: Vec<(Vec<u8>, f64, f64)> = patterns
        .into_iter()
        .map(|(k, v)| (k, v as f64, 0.0))
        .collect();
    patterns.sort_by(|a, b| a.0.cmp(&b.0));
    let mut m: Vec<Vec<f64>> = m_start.to_vec();
    let mut lambda = 0.3f64;
    let mut converged = false;
    let mut iterations = 0;
    for _ in 0..max_iterations {
        iterations += 1;
        let prior = super::logit2(lambda);
        let mut match_mass = 0.0;
        let mut total = 0.0;
        let mut level_mass: Vec<Vec<f64>> =
            comps.iter().map(|c| vec![0.0; c.level_count()]).collect();
        for (levels, count, p_match) in patterns.iter_mut() {
            let mut w = prior;
            for (c, &l) in levels.iter().enumerate() {
                if l > 0 && !held[c] {
                    w += (m[c][l as usize - 1] / u[c][l as usize - 1]).log2();
                }
            }
            let p = super::probability(w);
            *p_match = p;
            match_mass += p * *count;
            total += *count;
            for (c, &l) in levels.iter().enumerate() {
                level_mass[c][l as usize] += p * *count;
            }
        }
        lambda = (match_mass / total.max(1.0)).clamp(1e-6, 0.999_999);
        let mut delta = 0.0f64;
        for (c, comp) in comps.iter().enumerate() {
            if held[c] {
                continue;
            }
            let new = normalise(&level_mass[c][1..], 1e-6);
            for (a, b) in m[c].iter().zip(&new) {
                delta = delta.max((a - b).abs());
            }
            debug_assert_eq!(new.len(), comp.level_count() - 1);
            m[c] = new;
        }
        if delta < 1e-5 {
            converged = true;
            break;
        }
    }
    let m = m
        .into_iter()
        .zip(held)
        .map(|(mc, h)| if *h { None } else { Some(mc) })
        .collect();
    EmFit {
        m,
        iterations,
        converged,
        match_share: lambda,
        patterns,
    }
}

/// Labelled pairs from stewards: (i, j, is_match).
pub type Labels = [(u32, u32, bool)];

/// Trains a model on the prepared records.
pub fn train(
    comparator: &Comparator<'_>,
    training: &Training,
    link_type: LinkType,
    limits: BlockLimits,
    labels: &Labels,
) -> Model {
    let started = std::time::Instant::now();
    let prepared = comparator.prepared;
    let comps = comparator.comparisons;
    let mut report = TrainingReport {
        prior_recall: training.prior_recall,
        ..Default::default()
    };

    // u: how often random pairs (nearly all non-matches) fall in each level.
    let mut random = random_pairs(prepared, link_type, training.u_sample_pairs, training.seed);
    // In record order, the first record of each pair is read from memory in sequence.
    random.sort_unstable();
    report.u_pairs_sampled = random.len() as u64;
    let counts = count_levels(comparator, &random);
    report.u_seconds = started.elapsed().as_secs_f64();
    let u_floor = 0.5 / (random.len().max(1) as f64);
    let u: Vec<Vec<f64>> = counts
        .iter()
        .map(|c| {
            normalise(
                &c[1..].iter().map(|&x| x as f64).collect::<Vec<_>>(),
                u_floor,
            )
        })
        .collect();

    // m: EM per training rule, the rule's own fields held out; estimates averaged over sessions.
    let mut sums: Vec<Option<(Vec<f64>, f64)>> = vec![None; comps.len()];
    let mut m_start: Vec<Vec<f64>> = comps.iter().map(initial_m).collect();
    // A session blocked on what a household shares (a postcode, a surname) finds family members
    // by the thousand, and EM would take their agreement on the other shared fields for a match.
    // Such a session learns m only from the person's own fields, as long as another session
    // learns the shared fields' m and two own fields are left to tell people apart.
    let shared = |fields: &[Field]| fields.iter().any(|f| f.shared_in_household());
    let hold_shared = training.em_rules.iter().any(|r| !shared(&rule_fields(r)))
        && comps
            .iter()
            .filter(|c| !c.field.shared_in_household())
            .count()
            >= 2;
    for (s, rule) in training.em_rules.iter().enumerate() {
        let session_started = std::time::Instant::now();
        // Sorted by record: the first record of each pair is read from memory in sequence.
        let pairs = blocking::sample_rule_pairs(
            prepared,
            rule,
            link_type,
            limits,
            training.em_max_pairs,
            training.seed.wrapping_add(s as u64 + 1),
        );
        let fields = rule_fields(rule);
        let hold_shared_here = hold_shared && shared(&fields);
        let held: Vec<bool> = comps
            .iter()
            .map(|c| held_out(c, &fields) || (hold_shared_here && c.field.shared_in_household()))
            .collect();
        if pairs.is_empty() {
            report.em_sessions.push(EmSession {
                rule: rule.name.clone(),
                pairs: 0,
                iterations: 0,
                converged: false,
                held_out: Vec::new(),
                match_share: 0.0,
                seconds: session_started.elapsed().as_secs_f64(),
            });
            continue;
        }
        let fit = em_session(
            comparator,
            &pairs,
            &held,
            &u,
            &m_start,
            training.em_max_iterations,
        );
        let (iterations, converged, share) = (fit.iterations, fit.converged, fit.match_share);
        for (c, est) in fit.m.into_iter().enumerate() {
            if let Some(est) = est {
                // Later sessions start from what earlier ones learnt.
                m_start[c] = est.clone();
                sums[c] = Some(match sums[c].take() {
                    None => (est, 1.0),
                    Some((acc, k)) => (acc.iter().zip(&est).map(|(a, b)| a + b).collect(), k + 1.0),
                });
            }
        }
        report.em_sessions.push(EmSession {
            rule: rule.name.clone(),
            pairs: pairs.len() as u64,
            iterations,
            converged,
            held_out: comps
                .iter()
                .zip(&held)
                .filter(|(_, h)| **h)
                .map(|(c, _)| c.name.clone())
                .collect(),
            match_share: share,
            seconds: session_started.elapsed().as_secs_f64(),
        });
    }
    let mut m: Vec<Vec<f64>> = comps
        .iter()
        .enumerate()
        .map(|(c, comp)| match &sums[c] {
            Some((acc, k)) => normalise(&acc.iter().map(|x| x / k).collect::<Vec<_>>(), 1e-6),
            None => {
                report.not_estimated.push(comp.name.clone());
                initial_m(comp)
            }
        })
        .collect();

    // Stewards' decisions are labels: blend their level frequencies among accepted matches into m.
    let positives: Vec<(u32, u32)> = labels.iter().filter(|l| l.2).map(|l| (l.0, l.1)).collect();
    report.labelled_pairs = labels.len() as u64;
    if !positives.is_empty() {
        let counts = count_levels(comparator, &positives);
        for (c, mc) in m.iter_mut().enumerate() {
            let labelled: f64 = counts[c][1..].iter().sum::<u64>() as f64;
            if labelled == 0.0 {
                continue;
            }
            // Each label counts as much as 20 EM pairs' worth of evidence, capped at half the weight.
            let share = (labelled * 20.0 / (labelled * 20.0 + 1000.0)).min(0.5);
            let lab = normalise(
                &counts[c][1..].iter().map(|&x| x as f64).collect::<Vec<_>>(),
                1e-6,
            );
            *mc = mc
                .iter()
                .zip(&lab)
                .map(|(a, b)| a * (1.0 - share) + b * share)
                .collect();
        }
    }

    // Prior: pairs the deterministic rules find, over all pairs, corrected for their recall.
    let prior_started = std::time::Instant::now();
    let prior = if training.prior_rules.is_empty() {
        1.0 / prepared.n.max(2) as f64
    } else {
        let det = blocking::candidates(prepared, &training.prior_rules, link_type, limits);
        report.prior_pairs = det.len() as u64;
        let total = total_pairs(prepared, link_type).max(1.0);
        (det.len() as f64 / training.prior_recall.max(0.01) / total).clamp(1e-12, 0.5)
    };

    report.prior_seconds = prior_started.elapsed().as_secs_f64();

    let households = if training.households {
        let keys = household::home_keys(comps);
        let inputs = household::HouseholdInputs {
            u: &u,
            m: &m,
            prior,
            link_type,
            limits,
            max_pairs: training.em_max_pairs,
            max_iterations: training.em_max_iterations,
            seed: training.seed,
            total_pairs: total_pairs(prepared, link_type),
        };
        let (households, sessions) = household::train_households(comparator, &keys, &inputs);
        report.em_sessions.extend(sessions);
        households
    } else {
        Vec::new()
    };

    let comparisons = comps
        .iter()
        .enumerate()
        .map(|(c, comp)| ComparisonParams {
            name: comp.name.clone(),
            field: comp.field,
            term_frequency: comp.term_frequency,
            levels: (0..comp.levels.len() + 1)
                .map(|l| LevelParams {
                    label: comp.level_label((l + 1) as u8),
                    m: m[c][l],
                    u: u[c][l],
                })
                .collect(),
        })
        .collect();
    report.seconds = started.elapsed().as_secs_f64();
    Model {
        format: MODEL_FORMAT,
        trained_at: crate::clock::now(),
        records: prepared.n,
        prior,
        comparisons,
        households,
        term_frequencies: comparator.term_tables(),
        estate: None,
        training: report,
        chosen: None,
        chosen_rules: None,
    }
}

impl Training {
    pub fn from_config(
        c: &TrainingConfig,
        fallback_em: &[BlockingRule],
    ) -> Result<Training, (std::ops::Range<usize>, String)> {
        let rules = |v: &[BlockingRuleConfig]| {
            v.iter()
                .map(BlockingRule::from_config)
                .collect::<Result<Vec<_>, _>>()
        };
        let mut em_rules = rules(&c.em_rules)?;
        if em_rules.is_empty() {
            em_rules = fallback_em.to_vec();
        }
        let prior_rules = rules(&c.prior_rules)?;
        if !(0.01..=1.0).contains(&c.prior_recall) {
            return Err((0..0, "prior_recall must be between 0.01 and 1".into()));
        }
        Ok(Training {
            u_sample_pairs: c.u_sample_pairs.max(1000),
            em_rules,
            em_max_pairs: c.em_max_pairs.max(1000),
            em_max_iterations: c.em_max_iterations.clamp(1, 1000),
            prior_rules,
            prior_recall: c.prior_recall,
            seed: c.seed,
            households: c.households,
        })
    }
}
