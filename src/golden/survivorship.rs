//! Survivorship: which source record's value each golden field takes.

use super::evidence::Estate;
use super::record::GoldenColumn;
use crate::record::Record;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The value from the most trusted source (`source_priority`).
    SourcePriority,
    /// The value from the most recently updated record.
    MostRecent,
    /// The value most records agree on.
    MostFrequent,
    /// The longest value (keeps "Robert" over "Bob", a full address over a partial one).
    Longest,
    /// The value most records support, a typo or nickname of it counting for it, shown in its
    /// best-formed spelling; ties fall to the values' own evidence, then to the more reliable
    /// record, then to source priority and recency (`evidence.rs`).
    Evidence,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::SourcePriority => "source_priority",
            Rule::MostRecent => "most_recent",
            Rule::MostFrequent => "most_frequent",
            Rule::Longest => "longest",
            Rule::Evidence => "evidence",
        }
    }
}

/// The golden fields; `address` moves as one (street, unit, city, region, postcode, country).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum GoldenField {
    GivenName,
    MiddleName,
    FamilyName,
    DateOfBirth,
    Email,
    Phone,
    Address,
    NationalId,
}

impl GoldenField {
    /// The golden record's columns it chooses, in display order.
    pub const fn columns(self) -> &'static [GoldenColumn] {
        match self {
            GoldenField::GivenName => &[GoldenColumn::GivenName],
            GoldenField::MiddleName => &[GoldenColumn::MiddleName],
            GoldenField::FamilyName => &[GoldenColumn::FamilyName],
            GoldenField::DateOfBirth => &[GoldenColumn::DateOfBirth],
            GoldenField::Email => &[GoldenColumn::Email],
            GoldenField::Phone => &[GoldenColumn::Phone],
            GoldenField::Address => &[
                GoldenColumn::Street,
                GoldenColumn::Unit,
                GoldenColumn::City,
                GoldenColumn::Region,
                GoldenColumn::Postcode,
                GoldenColumn::Country,
            ],
            GoldenField::NationalId => &[GoldenColumn::NationalId],
        }
    }
}

pub const GOLDEN_FIELDS: [GoldenField; 8] = [
    GoldenField::GivenName,
    GoldenField::MiddleName,
    GoldenField::FamilyName,
    GoldenField::DateOfBirth,
    GoldenField::Email,
    GoldenField::Phone,
    GoldenField::Address,
    GoldenField::NationalId,
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurvivorshipConfig {
    /// Sources from most to least trusted; unlisted sources come last.
    #[serde(default)]
    pub source_priority: Vec<Spanned<String>>,
    #[serde(default = "default_rule")]
    pub default: Rule,
    #[serde(default)]
    pub fields: HashMap<GoldenField, Rule>,
}

impl Default for SurvivorshipConfig {
    fn default() -> Self {
        SurvivorshipConfig {
            source_priority: Vec::new(),
            default: default_rule(),
            fields: HashMap::new(),
        }
    }
}

/// Weighing the evidence: a trusted source's typo no longer beats three records that agree.
fn default_rule() -> Rule {
    Rule::Evidence
}

/// Validated survivorship settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Survivorship {
    pub source_priority: Vec<String>,
    pub default: Rule,
    pub fields: HashMap<GoldenField, Rule>,
    /// Word counts across the estate, for the evidence rule's best-formed spelling; empty
    /// unless a sync set them (`with_estate`).
    pub estate: Arc<Estate>,
}

impl Survivorship {
    /// The same settings with the estate's word counts.
    pub fn with_estate(&self, estate: Estate) -> Survivorship {
        Survivorship {
            estate: Arc::new(estate),
            ..self.clone()
        }
    }

    /// Whether any field is chosen by weighing evidence (and so needs the estate's counts).
    pub fn weighs_evidence(&self) -> bool {
        self.default == Rule::Evidence || self.fields.values().any(|r| *r == Rule::Evidence)
    }

    pub fn from_config(c: &SurvivorshipConfig) -> Survivorship {
        Survivorship {
            source_priority: c
                .source_priority
                .iter()
                .map(|s| s.get_ref().clone())
                .collect(),
            default: c.default,
            fields: c.fields.clone(),
            estate: Arc::default(),
        }
    }

    pub fn rule(&self, f: GoldenField) -> Rule {
        self.fields.get(&f).copied().unwrap_or(self.default)
    }

    pub fn rank(&self, source: &str) -> usize {
        self.source_priority
            .iter()
            .position(|s| s == source)
            .unwrap_or(self.source_priority.len())
    }
}

/// A candidate value of one field from one record.
#[derive(Debug, Clone)]
pub struct Candidate<'a, V> {
    pub value: V,
    pub record: &'a Record,
}

/// Picks the surviving candidate; `key` identifies equal values, `len` measures them.
/// Ties fall to source priority, then the most recent record, then the smallest key, so the
/// choice never depends on input order.
pub fn choose<'a, V: Clone>(
    s: &Survivorship,
    rule: Rule,
    candidates: &[Candidate<'a, V>],
    key: impl Fn(&V) -> String,
    len: impl Fn(&V) -> usize,
) -> Option<Candidate<'a, V>> {
    if candidates.is_empty() {
        return None;
    }
    let mut frequency: HashMap<String, usize> = HashMap::new();
    if rule == Rule::MostFrequent {
        for c in candidates {
            *frequency.entry(key(&c.value)).or_insert(0) += 1;
        }
    }
    let tie_break = |a: &Candidate<'a, V>, b: &Candidate<'a, V>| {
        s.rank(&a.record.source)
            .cmp(&s.rank(&b.record.source))
            .then_with(|| b.record.updated_at.cmp(&a.record.updated_at))
            .then_with(|| a.record.source.cmp(&b.record.source))
            .then_with(|| a.record.key.cmp(&b.record.key))
            .then_with(|| key(&a.value).cmp(&key(&b.value)))
    };
    candidates
        .iter()
        .min_by(|a, b| {
            let primary = match rule {
                // Weighing evidence needs the values grouped (`evidence.rs`); on its own it is
                // source priority.
                Rule::SourcePriority | Rule::Evidence => std::cmp::Ordering::Equal,
                Rule::MostRecent => b.record.updated_at.cmp(&a.record.updated_at),
                Rule::MostFrequent => frequency[&key(&b.value)].cmp(&frequency[&key(&a.value)]),
                Rule::Longest => len(&b.value).cmp(&len(&a.value)),
            };
            primary.then_with(|| tie_break(a, b))
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn rec(source: &str, key: &str, day: u32) -> Record {
        Record {
            source: source.into(),
            key: key.into(),
            updated_at: NaiveDate::from_ymd_opt(2024, 1, day).and_then(|d| d.and_hms_opt(0, 0, 0)),
            ..Default::default()
        }
    }

    fn surv() -> Survivorship {
        Survivorship {
            source_priority: vec!["crm".into(), "billing".into()],
            default: Rule::SourcePriority,
            fields: HashMap::new(),
            estate: Arc::default(),
        }
    }

    #[test]
    fn each_rule_picks_as_documented() {
        let (a, b, c) = (
            rec("billing", "1", 5),
            rec("crm", "2", 1),
            rec("web", "3", 9),
        );
        let cands = vec![
            Candidate {
                value: "Bob".to_string(),
                record: &a,
            },
            Candidate {
                value: "Robert".to_string(),
                record: &b,
            },
            Candidate {
                value: "Bob".to_string(),
                record: &c,
            },
        ];
        let pick = |rule| {
            choose(&surv(), rule, &cands, |v| v.clone(), |v| v.len())
                .map(|c| c.record.key.to_string())
        };
        assert_eq!(pick(Rule::SourcePriority).as_deref(), Some("2"));
        assert_eq!(pick(Rule::MostRecent).as_deref(), Some("3"));
        assert_eq!(
            pick(Rule::MostFrequent).as_deref(),
            Some("1"),
            "Bob twice; billing outranks web"
        );
        assert_eq!(pick(Rule::Longest).as_deref(), Some("2"));
        let none: Vec<Candidate<'_, String>> = Vec::new();
        assert!(choose(&surv(), Rule::Longest, &none, |v| v.clone(), |v| v.len()).is_none());
    }
}
