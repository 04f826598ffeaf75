//! Blocking rules sized to the data: a rule that would make too many pairs (postcode alone on a
//! million records) is tightened with one more key, or dropped.
//!
//! A rule's pair count is estimated from the sample: a block of k sampled records stands for
//! k / f records of the whole, so the sum of C(k, 2) over the sample's blocks, scaled by 1 / f²,
//! estimates the rule's pairs (exact when everything is sampled). Blocks the run would skip
//! (over `max_block_records`) are not counted.

use super::sample::Sample;
use crate::blocking::{self, BlockKey, BlockLimits, BlockingRule};
use crate::prepare::{Field, Prepared};
use serde::{Deserialize, Serialize};

/// The pairs one rule may make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub pairs: u64,
}

impl Budget {
    pub fn new(records: usize, pairs_per_record: u64, min_pairs: u64) -> Budget {
        Budget {
            pairs: (records as u64)
                .saturating_mul(pairs_per_record)
                .max(min_pairs),
        }
    }
}

/// What became of one candidate rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleChoice {
    /// The rule as the catalogue gives it.
    pub rule: String,
    /// Its estimated pair count on all the records.
    pub estimated_pairs: u64,
    /// The rule used in its place when it was tightened; None when kept as it is or dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tightened_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tightened_pairs: Option<u64>,
    pub dropped: bool,
}

impl RuleChoice {
    /// How the rule reads in the summary; no customer values, only rule names and counts.
    pub fn describe(&self, budget: Budget) -> String {
        match (&self.tightened_to, self.dropped) {
            (_, true) => format!(
                "{}: about {} pairs, over the budget of {}: dropped",
                self.rule,
                thousands(self.estimated_pairs),
                thousands(budget.pairs)
            ),
            (Some(t), _) => format!(
                "{}: about {} pairs, over the budget of {}: tightened to {} (about {})",
                self.rule,
                thousands(self.estimated_pairs),
                thousands(budget.pairs),
                t,
                thousands(self.tightened_pairs.unwrap_or(0))
            ),
            (None, _) => format!("{} ~{}", self.rule, thousands(self.estimated_pairs)),
        }
    }

    /// Whether the rule runs as the catalogue gives it.
    pub fn kept(&self) -> bool {
        !self.dropped && self.tightened_to.is_none()
    }

    /// The rule in force, if any.
    pub fn in_force(&self) -> Option<&str> {
        if self.dropped {
            None
        } else {
            Some(self.tightened_to.as_deref().unwrap_or(&self.rule))
        }
    }
}

/// The fields a blocking key reads.
pub fn key_fields(key: BlockKey) -> Vec<Field> {
    match key {
        BlockKey::Value(f)
        | BlockKey::Soundex(f)
        | BlockKey::Metaphone(f)
        | BlockKey::Initial(f) => {
            vec![f]
        }
        BlockKey::BirthYear => vec![Field::DateOfBirth],
        BlockKey::NamesUnordered => vec![Field::GivenName, Field::FamilyName],
    }
}

/// A rule's estimated pairs on all the records, from its blocks in the sample.
pub fn estimate(p: &Prepared, rule: &BlockingRule, sample: &Sample, limits: BlockLimits) -> u64 {
    let sizes = blocking::block_sizes(p, rule, &|i| sample.keep[i]);
    estimate_from_sizes(&sizes, sample.rate, limits)
}

/// The pair estimate from sampled block sizes and the sampling rate.
pub fn estimate_from_sizes(sizes: &[u64], rate: f64, limits: BlockLimits) -> u64 {
    let rate = rate.clamp(1e-9, 1.0);
    let pairs: f64 = sizes
        .iter()
        .filter(|&&k| (k as f64 / rate) <= limits.max_block_records as f64)
        .map(|&k| (k * (k - 1) / 2) as f64)
        .sum();
    (pairs / (rate * rate)).round() as u64
}

/// Fits a rule to the budget: kept, tightened with the first of `tighten` (a key on a filled
/// field, not already in the rule) that brings it under, or dropped. `estimate` gives a rule's
/// pairs.
pub fn fit(
    rule: &BlockingRule,
    budget: Budget,
    tighten: &[BlockKey],
    filled: &dyn Fn(Field) -> bool,
    estimate: &mut dyn FnMut(&BlockingRule) -> u64,
) -> (RuleChoice, Option<BlockingRule>) {
    let pairs = estimate(rule);
    let mut choice = RuleChoice {
        rule: rule.name.clone(),
        estimated_pairs: pairs,
        tightened_to: None,
        tightened_pairs: None,
        dropped: false,
    };
    if pairs <= budget.pairs {
        return (choice, Some(rule.clone()));
    }
    for &extra in tighten {
        if rule.keys.contains(&extra) || !key_fields(extra).iter().all(|f| filled(*f)) {
            continue;
        }
        let mut keys = rule.keys.clone();
        keys.push(extra);
        let tighter = BlockingRule {
            name: keys.iter().map(|k| k.name()).collect::<Vec<_>>().join("+"),
            keys,
        };
        let pairs = estimate(&tighter);
        if pairs <= budget.pairs {
            choice.tightened_to = Some(tighter.name.clone());
            choice.tightened_pairs = Some(pairs);
            return (choice, Some(tighter));
        }
    }
    choice.dropped = true;
    (choice, None)
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
