//! One golden record from its cluster's source records: survivorship per field, lineage per
//! field, steward pins on top, and a hash of what a reader sees.

use super::lineage::{FieldOrigin, Lineage};
use super::record::GoldenRow;
use super::survivorship::{choose, Candidate, GoldenField, Rule, Survivorship};
use crate::record::{Record, RecordKind};
use chrono::{DateTime, Utc};
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

/// The golden record's field columns, in display order; each can be pinned by a steward.
pub const FIELD_COLUMNS: [&str; 13] = [
    "given_name",
    "middle_name",
    "family_name",
    "date_of_birth",
    "email",
    "phone",
    "street",
    "unit",
    "city",
    "region",
    "postcode",
    "country",
    "national_id",
];

/// Checks a pin before it is stored: a known field, and a date where a date belongs.
pub fn check_pin(field: &str, value: &str) -> Result<(), String> {
    if !FIELD_COLUMNS.contains(&field) {
        return Err(format!(
            "{field:?} is not a golden field; pin one of: {}",
            FIELD_COLUMNS.join(", ")
        ));
    }
    if field == "date_of_birth" && value.parse::<chrono::NaiveDate>().is_err() {
        return Err(format!("{value:?} is not a date: write it as YYYY-MM-DD"));
    }
    if value.trim().is_empty() {
        return Err("a pinned value cannot be empty".into());
    }
    Ok(())
}

/// The golden record of `members` with `pins` applied (ID and timestamps left for the caller).
pub fn golden_row(s: &Survivorship, members: &[&Record], pins: &[Pin]) -> GoldenRow {
    let mut row = survive(s, members);
    apply_pins(&mut row, pins);
    row.content_hash = golden_hash(&row);
    row
}

fn apply_pins(row: &mut GoldenRow, pins: &[Pin]) {
    for pin in pins {
        let value = Some(pin.value.clone());
        match pin.field.as_str() {
            "given_name" => row.given_name = value,
            "middle_name" => row.middle_name = value,
            "family_name" => row.family_name = value,
            "date_of_birth" => row.date_of_birth = pin.value.parse().ok(),
            "email" => row.email = value,
            "phone" => row.phone = value,
            "street" => row.street = value,
            "unit" => row.unit = value,
            "city" => row.city = value,
            "region" => row.region = value,
            "postcode" => row.postcode = value,
            "country" => row.country = value,
            "national_id" => row.national_id = value,
            // Checked when pinned; an unknown field from a newer version is left alone.
            _ => continue,
        }
        if let Some(field) = FIELD_COLUMNS.iter().find(|f| **f == pin.field) {
            row.lineage.set(
                field,
                FieldOrigin {
                    value: pin.value.as_str().into(),
                    source: "steward".into(),
                    key: pin.by.as_str().into(),
                    rule: "pinned",
                },
            );
        }
    }
    if pins.iter().any(|p| p.field.ends_with("_name")) {
        row.full_name = full_name(&row.given_name, &row.middle_name, &row.family_name);
    }
}

fn full_name(g: &Option<String>, m: &Option<String>, f: &Option<String>) -> Option<String> {
    let parts: Vec<&str> = [g, m, f].iter().filter_map(|p| p.as_deref()).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn text(v: &Option<crate::record::Text>) -> Option<String> {
    v.as_ref().map(|s| s.to_string()).filter(|s| !s.is_empty())
}

/// Field values of one golden record, before pins, IDs, timestamps and hash.
pub(crate) fn survive(s: &Survivorship, members: &[&Record]) -> GoldenRow {
    let mut lineage = Lineage::new();
    let mut note = |field: &'static str, value: &str, r: &Record, rule: Rule| {
        lineage.set(
            field,
            FieldOrigin {
                value: value.into(),
                source: r.source.as_str().into(),
                key: r.key.as_str().into(),
                rule: rule.name(),
            },
        );
    };
    let single = |f: GoldenField, get: &dyn Fn(&Record) -> Option<String>| {
        let cands: Vec<Candidate<'_, String>> = members
            .iter()
            .filter_map(|r| get(r).map(|value| Candidate { value, record: r }))
            .collect();
        let rule = s.rule(f);
        choose(
            s,
            rule,
            &cands,
            |v| crate::standardize::fold::fold(v),
            |v| v.chars().count(),
        )
        .map(|c| (c, rule))
    };
    let given = single(GoldenField::GivenName, &|r| text(&r.given_name));
    let middle = single(GoldenField::MiddleName, &|r| text(&r.middle_name));
    let family = single(GoldenField::FamilyName, &|r| text(&r.family_name));
    let dob = single(GoldenField::DateOfBirth, &|r| {
        r.date_of_birth.map(|d| d.to_string())
    });
    let national = single(GoldenField::NationalId, &|r| text(&r.national_id));
    let multi = |f: GoldenField, get: &dyn Fn(&Record) -> Vec<String>| {
        let cands: Vec<Candidate<'_, String>> = members
            .iter()
            .flat_map(|r| {
                get(r)
                    .into_iter()
                    .map(move |value| Candidate { value, record: r })
            })
            .collect();
        let rule = s.rule(f);
        choose(s, rule, &cands, |v| v.to_lowercase(), |v| v.len()).map(|c| (c, rule))
    };
    let email = multi(GoldenField::Email, &|r| {
        r.emails.iter().map(|e| e.to_string()).collect()
    });
    let phone = multi(GoldenField::Phone, &|r| {
        r.phones.iter().map(|p| p.to_string()).collect()
    });
    // The address survives as a whole: a street from one record and a city from another would
    // describe a place where nobody lives.
    let address = {
        let cands: Vec<Candidate<'_, String>> = members
            .iter()
            .filter(|r| r.street.is_some() || r.city.is_some() || r.postcode.is_some())
            .map(|r| Candidate {
                value: [&r.street, &r.unit, &r.city, &r.region, &r.postcode]
                    .iter()
                    .filter_map(|v| v.as_deref())
                    .collect::<Vec<_>>()
                    .join(" "),
                record: r,
            })
            .collect();
        let rule = s.rule(GoldenField::Address);
        choose(
            s,
            rule,
            &cands,
            |v| crate::standardize::fold::fold(v),
            |v| v.len(),
        )
        .map(|c| (c.record, rule))
    };

    for (name, chosen) in [
        ("given_name", &given),
        ("middle_name", &middle),
        ("family_name", &family),
        ("date_of_birth", &dob),
        ("email", &email),
        ("phone", &phone),
        ("national_id", &national),
    ] {
        if let Some((c, rule)) = chosen {
            note(name, &c.value, c.record, *rule);
        }
    }
    let (street, unit, city, region, postcode, country) = match address {
        Some((r, rule)) => {
            for (name, v) in [
                ("street", &r.street),
                ("unit", &r.unit),
                ("city", &r.city),
                ("region", &r.region),
                ("postcode", &r.postcode),
                ("country", &r.country),
            ] {
                if let Some(v) = v {
                    note(name, v, r, rule);
                }
            }
            (
                text(&r.street),
                text(&r.unit),
                text(&r.city),
                text(&r.region),
                text(&r.postcode),
                text(&r.country),
            )
        }
        None => (None, None, None, None, None, None),
    };
    let value =
        |c: &Option<(Candidate<'_, String>, Rule)>| c.as_ref().map(|(c, _)| c.value.clone());
    let (g, m, f) = (value(&given), value(&middle), value(&family));
    let full_name = full_name(&g, &m, &f);
    let count = |k: RecordKind| members.iter().filter(|r| r.kind() == k).count() as i64;
    let row = GoldenRow {
        golden_id: String::new(),
        given_name: g,
        middle_name: m,
        family_name: f,
        full_name,
        date_of_birth: dob.as_ref().and_then(|(c, _)| c.value.parse().ok()),
        email: value(&email),
        phone: value(&phone),
        street,
        unit,
        city,
        region,
        postcode,
        country,
        national_id: value(&national),
        record_count: members.len() as i64,
        customer_records: count(RecordKind::Customer),
        billing_accounts: count(RecordKind::Billing),
        orders: count(RecordKind::Fulfilment),
        lineage,
        content_hash: 0,
        created_seq: 0,
        created_run: String::new(),
        updated_run: String::new(),
        created_at: DateTime::<Utc>::UNIX_EPOCH,
        updated_at: DateTime::<Utc>::UNIX_EPOCH,
    };
    row
}

/// Hash of what a reader sees of a golden record (not its timestamps or run IDs).
fn golden_hash(g: &GoldenRow) -> i64 {
    let view = (
        &g.given_name,
        &g.middle_name,
        &g.family_name,
        &g.date_of_birth,
        &g.email,
        &g.phone,
        (
            &g.street,
            &g.unit,
            &g.city,
            &g.region,
            &g.postcode,
            &g.country,
        ),
        &g.national_id,
        (
            g.record_count,
            g.customer_records,
            g.billing_accounts,
            g.orders,
        ),
        &g.lineage,
    );
    let bytes = serde_json::to_vec(&view).unwrap_or_default();
    xxhash_rust::xxh3::xxh3_64(&bytes) as i64
}
