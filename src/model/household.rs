//! Households. People who live together share the address, often a surname and a phone line, and
//! differ only in what is their own (given name, date of birth, e-mail). The Fellegi-Sunter model
//! assumes fields agree independently, so for a mother and her son it adds up surname, street,
//! postcode and phone as four coincidences, and the sum outweighs their different first names and
//! birth dates: family members score as matches.
//!
//! gild drops the assumption where it fails. A *home key* is a set of fields that pins a home (the
//! street with its postcode, or a phone number). For pairs that share a home key:
//! - sharing the key weighs what it is really worth: the chance that two different people share
//!   it is counted over all record pairs, not multiplied field by field;
//! - every other field is weighed against same-home different people (learnt from the data, see
//!   [`train_households`]) instead of against random pairs: a shared surname is then no evidence,
//!   a different date of birth is strong evidence against.
//!
//! Pairs that share no home key are scored as before.

use super::train::{em_session, held_out, EmSession};
use crate::blocking::{self, BlockKey, BlockLimits, BlockingRule, LinkType};
use crate::compare::{Comparator, Comparison, LevelKind};
use crate::prepare::Field;
use serde::{Deserialize, Serialize};

/// Pseudo-pairs with which the same-home distribution is pulled toward the random-pair one: with
/// few households in the data the model stays the plain Fellegi-Sunter model.
const SHRINK_PAIRS: f64 = 200.0;

/// Fewer sampled pairs than this sharing a home key: nothing to learn from.
const MIN_HOME_PAIRS: usize = 50;

/// A set of comparisons whose exact agreement pins a home.
#[derive(Debug, Clone, PartialEq)]
pub struct HomeKey {
    /// Indices into the comparisons.
    pub comparisons: Vec<usize>,
    pub rule: BlockingRule,
}

/// What the model learnt about one home key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdParams {
    /// The key's fields joined by "+", e.g. `street+postcode`.
    pub key: String,
    pub fields: Vec<Field>,
    /// Record pairs that share the key (counted exactly).
    pub pairs: u64,
    /// The share of those pairs estimated to be different people.
    pub different_people_share: f64,
    /// The chance that two records of different people share the key.
    pub u_key: f64,
    /// For every comparison outside the key: how its levels fall among different people who share
    /// the key (the model's `levels` order, then "else").
    pub comparisons: Vec<HouseholdComparison>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdComparison {
    pub name: String,
    /// Level probabilities among different people who share the home, as `u` is among random pairs.
    pub n: Vec<f64>,
}

/// The comparison on `field` whose first level is exact agreement, if there is one.
fn exact_comparison(comparisons: &[Comparison], field: Field) -> Option<usize> {
    comparisons
        .iter()
        .position(|c| c.field == field && c.levels.first() == Some(&LevelKind::Exact))
}

/// The home keys the comparisons allow, the most specific first: the street line (or number and
/// street name) with the postcode (or city), then the phone.
pub fn home_keys(comparisons: &[Comparison]) -> Vec<HomeKey> {
    let find = |f: Field| exact_comparison(comparisons, f).map(|c| (c, f));
    let mut keys = Vec::new();
    let street: Option<Vec<(usize, Field)>> = match find(Field::Street) {
        Some(s) => Some(vec![s]),
        None => match (find(Field::StreetNumber), find(Field::StreetName)) {
            (Some(n), Some(s)) => Some(vec![n, s]),
            _ => None,
        },
    };
    if let Some(mut parts) = street {
        if let Some(area) = find(Field::Postcode).or_else(|| find(Field::City)) {
            parts.push(area);
        }
        keys.push(parts);
    }
    if let Some(phone) = find(Field::Phone) {
        keys.push(vec![phone]);
    }
    keys.into_iter()
        .map(|parts| {
            let fields: Vec<Field> = parts.iter().map(|p| p.1).collect();
            HomeKey {
                comparisons: parts.iter().map(|p| p.0).collect(),
                rule: BlockingRule {
                    name: fields
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>()
                        .join("+"),
                    keys: fields.iter().map(|&f| BlockKey::Value(f)).collect(),
                },
            }
        })
        .collect()
}

/// What [`train_households`] needs from the rest of training.
pub struct HouseholdInputs<'a> {
    pub u: &'a [Vec<f64>],
    pub m: &'a [Vec<f64>],
    pub prior: f64,
    pub link_type: LinkType,
    pub limits: BlockLimits,
    pub max_pairs: usize,
    pub max_iterations: usize,
    pub seed: u64,
    /// Record pairs the link type allows.
    pub total_pairs: f64,
}

/// Learns, for each home key, how fields fall among different people who share it.
///
/// An EM session over pairs that share the key tells the same person from different people by
/// their own fields only (everything a household shares is held out, so it cannot pull family
/// members into the match class); the shared fields' distributions among the non-matches are
/// then read off the session's posterior. A key is left out when fewer than two comparisons of
/// the person's own remain to tell people apart, or when hardly any pairs share it.
pub fn train_households(
    comparator: &Comparator<'_>,
    keys: &[HomeKey],
    inputs: &HouseholdInputs<'_>,
) -> (Vec<HouseholdParams>, Vec<EmSession>) {
    let comps = comparator.comparisons;
    let mut params = Vec::new();
    let mut sessions = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        let started = std::time::Instant::now();
        let key_fields: Vec<Field> = key.comparisons.iter().map(|&c| comps[c].field).collect();
        let held: Vec<bool> = comps
            .iter()
            .map(|c| held_out(c, &key_fields) || c.field.shared_in_household())
            .collect();
        if held.iter().filter(|h| !**h).count() < 2 {
            continue;
        }
        let pairs = blocking::sample_rule_pairs(
            comparator.prepared,
            &key.rule,
            inputs.link_type,
            inputs.limits,
            inputs.max_pairs,
            inputs.seed.wrapping_add(1000 + k as u64),
        );
        if pairs.len() < MIN_HOME_PAIRS {
            continue;
        }
        let fit = em_session(
            comparator,
            &pairs,
            &held,
            inputs.u,
            inputs.m,
            inputs.max_iterations,
        );
        let different_people = 1.0 - fit.match_share;
        let mut comparisons = Vec::new();
        for (c, comp) in comps.iter().enumerate() {
            if key.comparisons.contains(&c) {
                continue;
            }
            let mut mass = vec![0.0; comp.level_count() - 1];
            for (levels, count, p_match) in &fit.patterns {
                let l = levels[c] as usize;
                if l > 0 {
                    mass[l - 1] += (1.0 - p_match) * count;
                }
            }
            let total: f64 = mass.iter().sum();
            let n = mass
                .iter()
                .zip(&inputs.u[c])
                .map(|(x, u)| (x + SHRINK_PAIRS * u) / (total + SHRINK_PAIRS))
                .collect();
            comparisons.push(HouseholdComparison {
                name: comp.name.clone(),
                n,
            });
        }
        let sharing = blocking::rule_pair_count(comparator.prepared, &key.rule, inputs.link_type);
        let non_match_pairs = inputs.total_pairs * (1.0 - inputs.prior);
        let u_key = (sharing as f64 * different_people).max(1.0) / non_match_pairs.max(1.0);
        sessions.push(EmSession {
            rule: format!("households: {}", key.rule.name),
            pairs: pairs.len() as u64,
            iterations: fit.iterations,
            converged: fit.converged,
            held_out: comps
                .iter()
                .zip(&held)
                .filter(|(_, h)| **h)
                .map(|(c, _)| c.name.clone())
                .collect(),
            match_share: fit.match_share,
            seconds: started.elapsed().as_secs_f64(),
        });
        params.push(HouseholdParams {
            key: key.rule.name.clone(),
            fields: key_fields,
            pairs: sharing,
            different_people_share: different_people,
            u_key: u_key.clamp(1e-15, 1.0),
            comparisons,
        });
    }
    (params, sessions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comparison(field: &str, levels: &[&str]) -> Comparison {
        crate::compare::test_comparison(field, levels, false)
    }

    #[test]
    fn the_street_with_its_postcode_is_the_first_home_key_and_the_phone_the_second() {
        let comps = vec![
            comparison("given_name", &["exact"]),
            comparison("phone", &["exact"]),
            comparison("postcode", &["exact"]),
            comparison("street", &["exact", "jaro_winkler >= 0.9"]),
        ];
        let keys = home_keys(&comps);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].comparisons, vec![3, 2]);
        assert_eq!(keys[0].rule.name, "street+postcode");
        assert_eq!(keys[1].comparisons, vec![1]);
    }

    #[test]
    fn number_and_street_name_make_a_street_and_a_fuzzy_only_comparison_is_no_key() {
        let comps = vec![
            comparison("street_number", &["exact"]),
            comparison("street_name", &["exact", "jaro_winkler >= 0.9"]),
            comparison("city", &["exact"]),
            comparison("phone", &["levenshtein <= 1"]),
        ];
        let keys = home_keys(&comps);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].rule.name, "street_number+street_name+city");
    }

    #[test]
    fn without_an_address_or_phone_there_is_no_home_key() {
        let comps = vec![
            comparison("given_name", &["exact"]),
            comparison("date_of_birth", &["exact"]),
        ];
        assert!(home_keys(&comps).is_empty());
    }
}
