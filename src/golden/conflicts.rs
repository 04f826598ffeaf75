//! Field conflicts: a golden customer whose records disagree materially on a field and whose
//! evidence is split, for a steward to settle. Material means the values fall into different
//! evidence groups (`evidence.rs`): not a typo, nickname, initial or missing part of one
//! another. Split means no group is clearly the best supported: tied on support after every
//! tie-break but source priority and recency. Two dates of birth that are not typos of one
//! another are always a conflict (often two people).

use super::evidence::record_order;
use super::lineage::ChosenBy;
use super::record::{GoldenColumn, GoldenRecord};
use super::survivorship::{GoldenField, Rule, Survivorship};
use super::version::{source_text, survive, FieldChoice};
use crate::record::{Record, SourceKey};
use serde::{Deserialize, Serialize};

/// The fields whose disagreement is worth a steward's time.
pub const CONFLICT_FIELDS: [GoldenField; 6] = [
    GoldenField::GivenName,
    GoldenField::FamilyName,
    GoldenField::DateOfBirth,
    GoldenField::Email,
    GoldenField::Phone,
    GoldenField::Address,
];

/// One of the values in conflict, with the records that carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompetingValue {
    /// As shown (an address: its parts joined).
    pub value: String,
    /// Column -> value: what a steward's choice pins (one column, or each part of an address).
    pub columns: Vec<(String, String)>,
    pub records: Vec<SourceKey>,
    /// The golden record shows this value.
    pub won: bool,
}

/// A field on which a golden customer's records disagree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldConflict {
    pub golden_id: String,
    pub field: GoldenField,
    /// Most supported first.
    pub values: Vec<CompetingValue>,
    /// Why the winner won: the rule and its support, or the steward's pin.
    pub reason: String,
    /// 0 to 1: the runner-up's support over the winner's (1: a tie).
    pub uncertainty: f64,
    /// Records that carry a value of the field: what a decision settles.
    pub records: i64,
    /// What a decision is worth: uncertainty x records.
    pub priority: f64,
    /// Hash of the values and the records carrying them: a decision holds until it changes.
    pub fingerprint: i64,
}

impl GoldenField {
    pub fn name(self) -> &'static str {
        match self {
            GoldenField::GivenName => "given_name",
            GoldenField::MiddleName => "middle_name",
            GoldenField::FamilyName => "family_name",
            GoldenField::DateOfBirth => "date_of_birth",
            GoldenField::Email => "email",
            GoldenField::Phone => "phone",
            GoldenField::Address => "address",
            GoldenField::NationalId => "national_id",
        }
    }

    pub fn parse(name: &str) -> Option<GoldenField> {
        super::survivorship::GOLDEN_FIELDS
            .into_iter()
            .find(|f| f.name() == name)
    }
}

fn columns_of(r: &Record, field: GoldenField, value: &str) -> Vec<(String, String)> {
    if field != GoldenField::Address {
        return vec![(field.columns()[0].name().to_string(), value.to_string())];
    }
    field
        .columns()
        .iter()
        .filter_map(|&c| {
            let v = source_text(r, c)?.as_deref()?;
            Some((c.name().to_string(), v.to_string()))
        })
        .collect()
}

/// The conflicts of one golden customer, given its records and the record as built (pins
/// applied).
pub fn conflicts(
    s: &Survivorship,
    members: &[&Record],
    golden: &GoldenRecord,
) -> Vec<FieldConflict> {
    if members.len() < 2 {
        return Vec::new();
    }
    conflicts_of(s, members, golden, &survive(s, members).1)
}

/// The conflicts of one golden customer from the weighing that built it.
pub(crate) fn conflicts_of(
    s: &Survivorship,
    members: &[&Record],
    golden: &GoldenRecord,
    choices: &[FieldChoice<'_>],
) -> Vec<FieldConflict> {
    if members.len() < 2 {
        return Vec::new();
    }
    let rank = |r: &Record| s.rank(&r.source);
    let mut out = Vec::new();
    for field in CONFLICT_FIELDS {
        // People move: with the newest address winning, an old one is history, not a conflict.
        if field == GoldenField::Address && s.rule(field) == Rule::MostRecent {
            continue;
        }
        let Some(choice) = choices.iter().find(|c| c.field == field) else {
            continue;
        };
        let (kind, groups) = (choice.kind, &choice.groups);
        if groups.len() < 2 {
            continue;
        }
        // One value clearly the best supported: the evidence is not split (e-mails and phones
        // keep the others as alternates). Under another rule too: the operator chose that rule
        // to pick among the values; a steward is asked only where the evidence cannot tell.
        if field != GoldenField::DateOfBirth && choice.decided.clear() {
            continue;
        }
        // Two e-mails on one record are not a disagreement: some other value must come from a
        // record that does not carry the first.
        let first: Vec<&Record> = groups[0].records(&rank);
        let disagree = groups[1..].iter().any(|g| {
            g.records(&rank)
                .iter()
                .any(|r| !first.iter().any(|f| std::ptr::eq(*f, *r)))
        });
        if !disagree {
            continue;
        }
        let shown_column = field.columns()[0];
        let shown = golden.lineage.get(shown_column);
        let shown_key = shown.map(|o| kind.key(&o.value));
        let mut values: Vec<CompetingValue> = groups
            .iter()
            .map(|g| {
                let member = g.shown(&rank);
                let records = g.records(&rank);
                let won = shown_key.as_deref().is_some_and(|k| {
                    g.members.iter().any(|m| {
                        // An address is compared by its street (the column lineage holds).
                        if field == GoldenField::Address {
                            m.records.iter().any(|r| {
                                r.street.as_deref().map(|v| kind.key(v)).as_deref() == Some(k)
                            })
                        } else {
                            m.key == k
                        }
                    })
                });
                CompetingValue {
                    value: member.value.clone(),
                    columns: columns_of(member.records[0], field, &member.value),
                    records: records.iter().map(|r| r.source_key()).collect(),
                    won,
                }
            })
            .collect();
        // Only the first group that matches the shown value wins.
        let mut seen = false;
        for v in &mut values {
            v.won &= !seen;
            seen |= v.won;
        }
        let supports: Vec<usize> = groups.iter().map(|g| g.support()).collect();
        let records: usize = {
            let mut all: Vec<&Record> = groups.iter().flat_map(|g| g.records(&rank)).collect();
            all.sort_by(|a, b| record_order(a, b, &rank));
            all.dedup_by(|a, b| std::ptr::eq(*a, *b));
            all.len()
        };
        let uncertainty = supports[1] as f64 / supports[0].max(1) as f64;
        let reason = match shown.map(|o| o.rule) {
            Some(ChosenBy::Pin) => {
                format!("pinned by {}", shown.map(|o| o.key.as_str()).unwrap_or(""))
            }
            Some(ChosenBy::Rule(Rule::Evidence)) => format!(
                "evidence: {} of {} records support it",
                supports[0], records
            ),
            Some(ChosenBy::Rule(rule)) => format!(
                "{}: {}",
                rule.name(),
                shown.map(|o| o.source.as_str()).unwrap_or("")
            ),
            None => "no value shown".to_string(),
        };
        let fingerprint = fingerprint(field, &values);
        out.push(FieldConflict {
            golden_id: golden.golden_id.clone(),
            field,
            values,
            reason,
            uncertainty,
            records: records as i64,
            priority: conflict_worth(uncertainty),
            fingerprint,
        });
    }
    out
}

/// What deciding a conflict is expected to change, in the unit of a pair item's impact (records
/// put in the right customer): the chance that the shown value is wrong (the runner-up's share of
/// the support) times one field of the customer's, a record's worth spread over its columns. A
/// merge or split moves whole records, so a doubtful pair comes before a field conflict.
fn conflict_worth(uncertainty: f64) -> f64 {
    let wrong = uncertainty / (1.0 + uncertainty);
    wrong / GoldenColumn::ALL.len() as f64
}

/// The competing values and their records, order-free: what a steward decided about.
fn fingerprint(field: GoldenField, values: &[CompetingValue]) -> i64 {
    let mut parts: Vec<String> = values
        .iter()
        .map(|v| {
            let mut keys: Vec<String> = v.records.iter().map(|k| k.to_string()).collect();
            keys.sort();
            format!("{}={}", v.value, keys.join(","))
        })
        .collect();
    parts.sort();
    let text = format!("{}|{}", field.name(), parts.join("|"));
    xxhash_rust::xxh3::xxh3_64(text.as_bytes()) as i64
}
