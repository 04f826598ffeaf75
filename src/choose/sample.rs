//! The sample the choice is made on, and which fields it fills.

use crate::prepare::{Field, Prepared, NONE};
use crate::record::Record;
use serde::{Deserialize, Serialize};

/// Records sampled to measure the data: enough for fill rates to a fraction of a percent and
/// for block sizes, cheap on a million records.
pub const SAMPLE_RECORDS: usize = 50_000;

/// A field counts as filled when at least this share of the records have it.
pub const FILLED_SHARE: f64 = 0.05;

/// The fields the catalogue's comparisons and blocking keys read.
pub const FIELDS: [Field; 13] = [
    Field::GivenName,
    Field::FamilyName,
    Field::DateOfBirth,
    Field::Email,
    Field::Phone,
    Field::Street,
    Field::StreetNumber,
    Field::StreetName,
    Field::Unit,
    Field::City,
    Field::Region,
    Field::Postcode,
    Field::NationalId,
];

/// A deterministic sample: each record is in it or not by a hash of its source and key, so the
/// same records give the same sample in any order (a sync's pull order, the store's order).
pub struct Sample {
    pub keep: Vec<bool>,
    pub size: usize,
    /// The share of the records sampled (1 when all are).
    pub rate: f64,
}

impl Sample {
    pub fn of(records: &[Record], want: usize) -> Sample {
        let n = records.len();
        if n <= want {
            return Sample {
                keep: vec![true; n],
                size: n,
                rate: 1.0,
            };
        }
        let target = want as f64 / n as f64;
        let keep: Vec<bool> = records
            .iter()
            .map(|r| {
                let h =
                    xxhash_rust::xxh3::xxh3_64(format!("{}\u{0}{}", r.source, r.key).as_bytes());
                ((h >> 11) as f64 / (1u64 << 53) as f64) < target
            })
            .collect();
        let size = keep.iter().filter(|k| **k).count();
        Sample {
            rate: size.max(1) as f64 / n as f64,
            keep,
            size,
        }
    }

    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.keep
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.then_some(i))
    }
}

/// Whether record `i` has a value of `field`.
pub fn has(p: &Prepared, field: Field, i: usize) -> bool {
    match field {
        Field::DateOfBirth => p.dob[i].is_some(),
        Field::Email | Field::Phone => p.multi(field).is_some_and(|c| !c.of(i).is_empty()),
        f => p.sym(f, i) != NONE,
    }
}

/// How much of the sample one field fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldFill {
    pub field: Field,
    /// The share of sampled records with a value.
    pub share: f64,
    pub filled: bool,
}

/// The fill of every catalogue field on the sample.
pub fn fill_rates(p: &Prepared, sample: &Sample) -> Vec<FieldFill> {
    FIELDS
        .iter()
        .map(|&field| {
            let with = sample.indices().filter(|&i| has(p, field, i)).count();
            let share = with as f64 / sample.size.max(1) as f64;
            FieldFill {
                field,
                share,
                filled: sample.size > 0 && share >= FILLED_SHARE,
            }
        })
        .collect()
}
