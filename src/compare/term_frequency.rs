//! Term frequencies kept with a model.
//!
//! How common a value is weighs its agreement ("SMITH = SMITH" is weaker evidence than
//! "KOWALCZYK = KOWALCZYK"). Counted afresh on every run, a change anywhere in the estate would
//! move the weight of pairs everywhere, and a run that only looks at what changed could never
//! equal a full one. So a trained model keeps the frequencies of the estate it was trained on,
//! and every run scoring with that model uses them until the next training.
//!
//! Values are kept as 64-bit hashes, not as text: the model holds no customer values. Only
//! values seen at least twice are listed; any other value counts as seen once, which is exactly
//! what a count made from the estate itself gives a value seen once.

use crate::prepare::Interner;
use serde::{Deserialize, Serialize};

/// One comparison's value frequencies, as counted when the model was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermTable {
    /// The comparison's name.
    pub comparison: String,
    /// Occurrences of present values in the training estate.
    pub occurrences: u64,
    /// (hash of the value, occurrences) for every value seen at least twice, by hash.
    pub repeated: Vec<(u64, u32)>,
}

pub fn value_hash(value: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(value.as_bytes())
}

impl TermTable {
    /// The table of the values in `interner`.
    pub fn count(comparison: &str, interner: &Interner) -> TermTable {
        let mut repeated: Vec<(u64, u32)> = (1..interner.len() as u32)
            .filter(|&s| interner.count(s) >= 2)
            .map(|s| (value_hash(interner.str(s)), interner.count(s)))
            .collect();
        repeated.sort_unstable();
        TermTable {
            comparison: comparison.to_string(),
            occurrences: interner.total(),
            repeated,
        }
    }

    /// Occurrences of a value in the training estate: a value not listed counts as seen once.
    fn occurrences_of(&self, value: &str) -> u32 {
        let h = value_hash(value);
        match self.repeated.binary_search_by_key(&h, |&(k, _)| k) {
            Ok(at) => self.repeated[at].1,
            Err(_) => 1,
        }
    }

    /// Each interned value's frequency by this table (index = symbol; the missing slot 0).
    pub fn frequencies(&self, interner: &Interner) -> Vec<f64> {
        let total = self.occurrences.max(1) as f64;
        (0..interner.len() as u32)
            .map(|s| {
                if s == 0 {
                    0.0
                } else {
                    f64::from(self.occurrences_of(interner.str(s))) / total
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interner(values: &[&str]) -> Interner {
        let mut i = Interner::new();
        for v in values {
            i.add(v);
        }
        i
    }

    #[test]
    fn the_training_estate_gets_back_its_own_frequencies() {
        let trained = interner(&["SMITH", "SMITH", "SMITH", "JONES", "KOWALCZYK"]);
        let table = TermTable::count("family", &trained);
        assert_eq!(table.occurrences, 5);
        assert_eq!(table.repeated.len(), 1, "only SMITH is repeated");
        let live: Vec<f64> = (0..trained.len() as u32)
            .map(|s| {
                if s == 0 {
                    0.0
                } else {
                    f64::from(trained.count(s)) / 5.0
                }
            })
            .collect();
        assert_eq!(table.frequencies(&trained), live);
    }

    #[test]
    fn a_later_estate_is_weighed_by_the_training_counts() {
        let table = TermTable::count("family", &interner(&["SMITH", "SMITH", "JONES", "LEE"]));
        // Later, SMITH is rarer and NOWAK new: both keep the trained weights.
        let later = interner(&["SMITH", "NOWAK", "NOWAK", "NOWAK"]);
        let f = table.frequencies(&later);
        let smith = later.get("SMITH").expect("interned") as usize;
        let nowak = later.get("NOWAK").expect("interned") as usize;
        assert_eq!(f[smith], 0.5);
        assert_eq!(f[nowak], 0.25, "unseen at training counts as seen once");
        assert_eq!(f[0], 0.0);
    }
}
