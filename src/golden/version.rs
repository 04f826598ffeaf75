//! One golden record from its cluster's source records: survivorship per field, lineage per
//! field, steward pins on top, and a hash of what a reader sees.

use super::conflicts::{conflicts_of, FieldConflict, CONFLICT_FIELDS};
use super::evidence::{
    break_ties, by_reliability, group, offers, Decided, Offer, Scorer, Ties, ValueGroup, ValueKind,
};
use super::lineage::{ChosenBy, FieldOrigin, Lineage};
use super::record::{GoldenColumn, GoldenFields, GoldenRecord, GoldenVersion};
use super::survivorship::{choose, Candidate, GoldenField, Rule, Survivorship, GOLDEN_FIELDS};
use crate::record::{Record, RecordKind, Text};
use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::ser::{Serialize, SerializeTuple, Serializer};
use std::collections::HashMap;

/// A steward's value for one golden field, overriding survivorship.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pin {
    pub field: String,
    pub value: String,
    pub decision_id: i64,
    /// The steward who pinned it.
    pub by: String,
}

/// Pins per golden ID.
pub type Pins = HashMap<String, Vec<Pin>>;

/// Checks a pin before it is stored: a known field, and a date where a date belongs.
pub fn check_pin(field: &str, value: &str) -> Result<(), String> {
    let Some(column) = GoldenColumn::parse(field) else {
        return Err(format!(
            "{field:?} is not a golden field; pin one of: {}",
            GoldenColumn::list("{}")
        ));
    };
    if column == GoldenColumn::DateOfBirth && value.parse::<chrono::NaiveDate>().is_err() {
        return Err(format!("{value:?} is not a date: write it as YYYY-MM-DD"));
    }
    if value.trim().is_empty() {
        return Err("a pinned value cannot be empty".into());
    }
    Ok(())
}

/// The golden record of `members` with `pins` applied (ID and timestamps left for the caller).
pub fn golden_version(s: &Survivorship, members: &[&Record], pins: &[Pin]) -> GoldenVersion {
    golden_version_and_conflicts(s, members, pins, "", false).0
}

/// The golden record of `members` as `golden_id`, and with `find_conflicts` its field
/// conflicts, read from the same weighing of the evidence that chose its values.
pub fn golden_version_and_conflicts(
    s: &Survivorship,
    members: &[&Record],
    pins: &[Pin],
    golden_id: &str,
    find_conflicts: bool,
) -> (GoldenVersion, Vec<FieldConflict>) {
    let (mut record, choices) = survive(s, members);
    apply_pins(&mut record, pins);
    record.golden_id = golden_id.to_string();
    let found = if find_conflicts && members.len() > 1 {
        conflicts_of(s, members, &record, &choices)
    } else {
        Vec::new()
    };
    let content_hash = content_hash(&record);
    let version = GoldenVersion {
        record,
        content_hash,
        created_seq: 0,
    };
    (version, found)
}

fn apply_pins(record: &mut GoldenRecord, pins: &[Pin]) {
    for pin in pins {
        // Checked when pinned; an unknown field from a newer version is left alone.
        let Some(column) = GoldenColumn::parse(&pin.field) else {
            continue;
        };
        record.fields.set(column, Some(pin.value.clone()));
        record.lineage.set(
            column,
            FieldOrigin {
                value: pin.value.as_str().into(),
                source: "steward".into(),
                key: pin.by.as_str().into(),
                rule: ChosenBy::Pin,
                supported_by: Vec::new(),
                alternates: Vec::new(),
            },
        );
    }
    if pins.iter().any(|p| p.field.ends_with("_name")) {
        record.full_name = record.fields.full_name();
    }
}

fn text(v: Option<&Text>) -> Option<String> {
    v.map(|s| s.to_string()).filter(|s| !s.is_empty())
}

/// Where a source record keeps a golden column's value as one text; None for the date of
/// birth, the e-mails and the phones.
pub(crate) fn source_text(r: &Record, column: GoldenColumn) -> Option<&Option<Text>> {
    match column {
        GoldenColumn::GivenName => Some(&r.given_name),
        GoldenColumn::MiddleName => Some(&r.middle_name),
        GoldenColumn::FamilyName => Some(&r.family_name),
        GoldenColumn::Street => Some(&r.street),
        GoldenColumn::Unit => Some(&r.unit),
        GoldenColumn::City => Some(&r.city),
        GoldenColumn::Region => Some(&r.region),
        GoldenColumn::Postcode => Some(&r.postcode),
        GoldenColumn::Country => Some(&r.country),
        GoldenColumn::NationalId => Some(&r.national_id),
        GoldenColumn::DateOfBirth | GoldenColumn::Email | GoldenColumn::Phone => None,
    }
}

/// Every value the members offer for one column chosen on its own.
fn candidates<'a>(members: &[&'a Record], column: GoldenColumn) -> Vec<Candidate<'a, String>> {
    let each = |r: &&'a Record, value: String| Candidate { value, record: r };
    match column {
        GoldenColumn::DateOfBirth => members
            .iter()
            .filter_map(|r| r.date_of_birth.map(|d| each(r, d.to_string())))
            .collect(),
        GoldenColumn::Email => members
            .iter()
            .flat_map(|r| r.emails.iter().map(move |e| each(r, e.to_string())))
            .collect(),
        GoldenColumn::Phone => members
            .iter()
            .flat_map(|r| r.phones.iter().map(move |p| each(r, p.to_string())))
            .collect(),
        _ => members
            .iter()
            .filter_map(|r| {
                text(source_text(r, column).and_then(Option::as_ref)).map(|v| each(r, v))
            })
            .collect(),
    }
}

/// The parts of a record's address, in the order `ADDRESS_PARTS` names them.
fn address_parts(r: &Record) -> [Option<&str>; 5] {
    [&r.street, &r.unit, &r.city, &r.region, &r.postcode].map(|v| v.as_deref())
}

/// An address as one text: its parts joined by spaces.
fn address_text(r: &Record) -> String {
    address_parts(r)
        .iter()
        .filter_map(|v| *v)
        .collect::<Vec<_>>()
        .join(" ")
}

fn has_address(r: &Record) -> bool {
    r.street.is_some() || r.city.is_some() || r.postcode.is_some()
}

/// The record whose address survives. The address survives as a whole: a street from one
/// record and a city from another would describe a place where nobody lives.
fn surviving_address<'a>(
    s: &Survivorship,
    rule: Rule,
    members: &[&'a Record],
) -> Option<&'a Record> {
    let cands: Vec<Candidate<'a, String>> = members
        .iter()
        .filter(|r| has_address(r))
        .map(|r| Candidate {
            value: address_text(r),
            record: r,
        })
        .collect();
    choose(
        s,
        rule,
        &cands,
        |v| crate::standardize::fold::fold(v),
        |v| v.len(),
    )
    .map(|c| c.record)
}

/// The values the members offer for a survivorship field (one column, or the whole address),
/// merged by comparison form, for the evidence rule and for conflicts.
pub(crate) fn field_offers<'a>(
    members: &[&'a Record],
    field: GoldenField,
) -> (ValueKind, Vec<Offer<'a>>) {
    if field == GoldenField::Address {
        let values = members
            .iter()
            .filter(|r| has_address(r))
            .map(|r| (*r, address_text(r), address_parts(r).to_vec()));
        return (ValueKind::Address, offers(ValueKind::Address, values));
    }
    let column = field.columns()[0];
    let kind = ValueKind::of(column);
    let values: Vec<(&'a Record, String, Vec<Option<&'a str>>)> = candidates(members, column)
        .into_iter()
        .map(|c| {
            let part = source_text(c.record, column).and_then(|v| v.as_deref());
            (c.record, c.value, vec![part])
        })
        .collect();
    (kind, offers(kind, values))
}

/// One field's values weighed: its groups, the winner first, and how the winner was found.
/// Conflicts are read from it.
pub(crate) struct FieldChoice<'a> {
    pub field: GoldenField,
    pub kind: ValueKind,
    pub groups: Vec<ValueGroup<'a>>,
    pub decided: Decided,
    /// How many leading groups are still tied after the values' own evidence.
    tied: usize,
    /// Chosen by the evidence rule (not only grouped for conflicts).
    pub evidence: bool,
}

/// Groups and weighs the fields of `members`: those the evidence rule chooses, and for a
/// customer of several records the conflict fields. Two passes: the values' own evidence
/// first; then ties still open fall to the records that agree more with the fields decided in
/// the first pass.
fn weigh_all<'a>(s: &Survivorship, members: &[&'a Record]) -> Vec<FieldChoice<'a>> {
    let rank = |r: &Record| s.rank(&r.source);
    let mut ties = Ties::of(members);
    let mut scorer = Scorer {
        estate: &s.estate,
        names: Vec::new(),
    };
    let mut choices: Vec<FieldChoice<'a>> = Vec::new();
    for field in GOLDEN_FIELDS {
        let evidence = s.rule(field) == Rule::Evidence;
        if !(evidence || members.len() > 1 && CONFLICT_FIELDS.contains(&field)) {
            continue;
        }
        let (kind, offers) = field_offers(members, field);
        let mut groups = group(kind, offers, &rank, &scorer, &ties);
        let (decided, tied) = break_ties(kind, &mut groups, &rank, &scorer, &ties);
        if evidence && matches!(field, GoldenField::GivenName | GoldenField::FamilyName) {
            if let Some(g) = groups.first() {
                let key = g.shown(&rank).key.clone();
                scorer
                    .names
                    .extend(key.split(' ').filter(|w| !w.is_empty()).map(str::to_string));
                if field == GoldenField::GivenName {
                    ties.given = Some(key);
                }
            }
        }
        choices.push(FieldChoice {
            field,
            kind,
            groups,
            decided,
            tied,
            evidence,
        });
    }
    if members.len() < 2 {
        return choices;
    }
    // A record's reliability for one field: over the customer's other fields decided clearly,
    // +1 where it carries the value shown, -1 where it carries a value that lost (a typo of
    // the winner counts nothing). Records with mistakes elsewhere are the likelier to be wrong
    // here too.
    let agreement: Vec<Vec<i32>> = choices
        .iter()
        .map(|c| members.iter().map(|r| agreement_of(c, r, &rank)).collect())
        .collect();
    let total: Vec<i32> = (0..members.len())
        .map(|m| agreement.iter().map(|a| a[m]).sum())
        .collect();
    for (at, c) in choices.iter_mut().enumerate() {
        let of = |r: &Record| {
            members
                .iter()
                .position(|m| std::ptr::eq(*m, r))
                .map_or(0, |m| total[m] - agreement[at][m])
        };
        for g in &mut c.groups {
            for o in &mut g.members {
                o.reliability = o.records.iter().map(|r| of(r)).max().unwrap_or(0);
            }
        }
        if !c.decided.clear() {
            c.decided = by_reliability(&mut c.groups, c.tied, &of);
        }
    }
    choices
}

fn origin(value: &str, r: &Record, rule: Rule) -> FieldOrigin {
    FieldOrigin {
        value: value.into(),
        source: r.source.as_str().into(),
        key: r.key.as_str().into(),
        rule: ChosenBy::Rule(rule),
        supported_by: Vec::new(),
        alternates: Vec::new(),
    }
}

/// The records behind a value, when more than the one it was taken from.
fn supporters(group: &[&Record]) -> Vec<CompactString> {
    if group.len() < 2 {
        return Vec::new();
    }
    group
        .iter()
        .map(|r| format!("{}:{}", r.source, r.key).into())
        .collect()
}

/// A customer may have several e-mails and phones: where the evidence rule found one clearly
/// best supported, the values of the other groups are alternates, not a conflict.
fn alternates(
    c: &FieldChoice<'_>,
    shown: &str,
    rank: &impl Fn(&Record) -> usize,
) -> Vec<CompactString> {
    if !matches!(c.field, GoldenField::Email | GoldenField::Phone) || !c.decided.clear() {
        return Vec::new();
    }
    let key = c.kind.key(shown);
    c.groups
        .iter()
        .filter(|g| !g.members.iter().any(|m| m.key == key))
        .map(|g| g.shown(rank).value.as_str().into())
        .collect()
}

/// How `r` bears on a clearly decided field (see `weigh_all`).
fn agreement_of(c: &FieldChoice<'_>, r: &Record, rank: &impl Fn(&Record) -> usize) -> i32 {
    if !c.decided.clear() {
        return 0;
    }
    let Some(winner) = c.groups.first() else {
        return 0;
    };
    if winner
        .shown(rank)
        .records
        .iter()
        .any(|x| std::ptr::eq(*x, r))
    {
        1
    } else if winner.has(r) {
        0
    } else if c.groups[1..].iter().any(|g| g.has(r)) {
        -1
    } else {
        0
    }
}

/// Field values of one golden record, before pins, ID, timestamps and hash, and the weighing
/// of its fields.
pub(crate) fn survive<'a>(
    s: &Survivorship,
    members: &[&'a Record],
) -> (GoldenRecord, Vec<FieldChoice<'a>>) {
    let rank = |r: &Record| s.rank(&r.source);
    let choices = weigh_all(s, members);
    let mut fields = GoldenFields::default();
    let mut lineage = Lineage::new();
    for field in GOLDEN_FIELDS {
        let rule = s.rule(field);
        let weighed = choices
            .iter()
            .find(|c| c.field == field && c.evidence)
            .and_then(|c| Some((c, c.groups.first()?)));
        if field == GoldenField::Address {
            let (r, support) = if rule == Rule::Evidence {
                match weighed {
                    Some((_, winner)) => (
                        winner.shown(&rank).records[0],
                        supporters(&winner.records(&rank)),
                    ),
                    None => continue,
                }
            } else {
                match surviving_address(s, rule, members) {
                    Some(r) => (r, Vec::new()),
                    None => continue,
                }
            };
            for &column in field.columns() {
                let part = source_text(r, column).and_then(Option::as_ref);
                if let Some(v) = part {
                    let mut o = origin(v, r, rule);
                    o.supported_by = support.clone();
                    lineage.set(column, o);
                }
                fields.set(column, text(part));
            }
            continue;
        }
        for &column in field.columns() {
            if rule == Rule::Evidence {
                if let Some((choice, winner)) = weighed {
                    let shown = winner.shown(&rank);
                    let mut o = origin(&shown.value, shown.records[0], rule);
                    o.supported_by = supporters(&winner.records(&rank));
                    o.alternates = alternates(choice, &shown.value, &rank);
                    lineage.set(column, o);
                    fields.set(column, Some(shown.value.clone()));
                }
                continue;
            }
            let cands = candidates(members, column);
            let chosen = match column {
                GoldenColumn::Email | GoldenColumn::Phone => {
                    choose(s, rule, &cands, |v| v.to_lowercase(), |v| v.len())
                }
                _ => choose(
                    s,
                    rule,
                    &cands,
                    |v| crate::standardize::fold::fold(v),
                    |v| v.chars().count(),
                ),
            };
            // No alternates here: the lineage, and so the stored content hash, of the other
            // rules stays as it was.
            if let Some(c) = chosen {
                lineage.set(column, origin(&c.value, c.record, rule));
                fields.set(column, Some(c.value));
            }
        }
    }
    let count = |k: RecordKind| members.iter().filter(|r| r.kind() == k).count() as i64;
    let record = GoldenRecord {
        golden_id: String::new(),
        full_name: fields.full_name(),
        fields,
        record_count: members.len() as i64,
        customer_records: count(RecordKind::Customer),
        billing_accounts: count(RecordKind::Billing),
        orders: count(RecordKind::Fulfilment),
        created_run: String::new(),
        updated_run: String::new(),
        created_at: DateTime::<Utc>::UNIX_EPOCH,
        updated_at: DateTime::<Utc>::UNIX_EPOCH,
        lineage,
    };
    (record, choices)
}

/// Hash of what a reader sees of a golden record (not its ID, timestamps or run IDs).
fn content_hash(g: &GoldenRecord) -> i64 {
    let bytes = serde_json::to_vec(&HashedView(g)).unwrap_or_default();
    xxhash_rust::xxh3::xxh3_64(&bytes) as i64
}

/// The JSON a content hash is taken of: each survivorship field's value (the address's
/// columns as one list), the record counts, the lineage. Stored hashes were taken of exactly
/// this: change it and every stored customer looks changed to the next sync.
struct HashedView<'a>(&'a GoldenRecord);

impl Serialize for HashedView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let g = self.0;
        let mut view = s.serialize_tuple(GOLDEN_FIELDS.len() + 2)?;
        for field in GOLDEN_FIELDS {
            match field.columns() {
                [one] => view.serialize_element(&g.fields.get(*one))?,
                group => view.serialize_element(&Group(&g.fields, group))?,
            }
        }
        let counts = (
            g.record_count,
            g.customer_records,
            g.billing_accounts,
            g.orders,
        );
        view.serialize_element(&counts)?;
        view.serialize_element(&g.lineage)?;
        view.end()
    }
}

/// The values of a survivorship field of several columns, as one list.
struct Group<'a>(&'a GoldenFields, &'a [GoldenColumn]);

impl Serialize for Group<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut group = s.serialize_tuple(self.1.len())?;
        for &column in self.1 {
            group.serialize_element(&self.0.get(column))?;
        }
        group.end()
    }
}
