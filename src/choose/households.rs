//! Whether the data holds households: different people at one address with one surname. Then a
//! different first name or date of birth must keep records apart (the protections the demo and
//! synthetic configs write by hand); without households those protections only split one
//! person's records that carry a typo.
//!
//! Measured on the sample: among pairs of records that share street, postcode (or city) and
//! family name, the share whose given names differ and whose birth years are two or more apart.
//! A typo rarely changes both; a parent and child always do. Found: FEBRL about 1 %, the demo
//! estate 32 %, synthetic-100k 21 %.

use super::sample::Sample;
use crate::prepare::{Field, Prepared, NONE};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The share of same-home pairs that look like two people at which households are assumed.
pub const HOUSEHOLD_SHARE: f64 = 0.05;

/// Fewer same-home pairs than this in the sample say nothing either way.
pub const MIN_PAIRS: u64 = 20;

/// Members of one home looked at: a larger "home" is a care home or a bad address.
const MAX_MEMBERS: usize = 50;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Households {
    /// Sampled pairs sharing street, postcode (or city) and family name, both with a given name
    /// and a date of birth.
    pub pairs: u64,
    /// Of those, the pairs whose given names differ and birth years are two or more apart.
    pub different_people: u64,
    pub share: f64,
    /// The household protections are on.
    pub protected: bool,
    /// Why the data could not be measured, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmeasured: Option<String>,
}

/// Measures the sample; `filled` says which fields the data fills.
pub fn detect(p: &Prepared, sample: &Sample, filled: &dyn Fn(Field) -> bool) -> Households {
    let area = if filled(Field::Postcode) {
        Field::Postcode
    } else {
        Field::City
    };
    let needed = [
        Field::GivenName,
        Field::FamilyName,
        Field::DateOfBirth,
        Field::Street,
        area,
    ];
    if let Some(missing) = needed.iter().find(|f| !filled(**f)) {
        return Households {
            unmeasured: Some(format!("{} is not filled", missing.name())),
            ..Households::default()
        };
    }
    let mut homes: HashMap<(u32, u32, u32), Vec<usize>> = HashMap::new();
    for i in sample.indices() {
        let key = (
            p.sym(Field::Street, i),
            p.sym(area, i),
            p.sym(Field::FamilyName, i),
        );
        if key.0 == NONE || key.1 == NONE || key.2 == NONE {
            continue;
        }
        if p.sym(Field::GivenName, i) == NONE || p.dob[i].is_none() {
            continue;
        }
        let members = homes.entry(key).or_default();
        if members.len() < MAX_MEMBERS {
            members.push(i);
        }
    }
    let (mut pairs, mut different) = (0u64, 0u64);
    // Sorted, so that the count never depends on the map's order (it does not, but stays plain).
    let mut groups: Vec<&Vec<usize>> = homes.values().filter(|m| m.len() > 1).collect();
    groups.sort();
    for members in groups {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                pairs += 1;
                let (Some(a), Some(b)) = (p.dob[i], p.dob[j]) else {
                    continue;
                };
                let names_differ = p.sym(Field::GivenName, i) != p.sym(Field::GivenName, j);
                if names_differ && (i32::from(a.year) - i32::from(b.year)).abs() >= 2 {
                    different += 1;
                }
            }
        }
    }
    let share = if pairs > 0 {
        different as f64 / pairs as f64
    } else {
        0.0
    };
    Households {
        pairs,
        different_people: different,
        share,
        protected: pairs >= MIN_PAIRS && share >= HOUSEHOLD_SHARE,
        unmeasured: (pairs < MIN_PAIRS).then(|| format!("only {pairs} sampled pairs share a home")),
    }
}
