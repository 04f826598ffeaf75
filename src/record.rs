//! The canonical customer record that every source is mapped to.
//!
//! Values here are standardised for display (name case, E.164 phones, upper-case addresses);
//! the folded forms used for comparison are derived later, in `compare`.

use crate::text_enum::text_enum;
use chrono::{NaiveDate, NaiveDateTime};
use compact_str::CompactString;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Short strings stay inline: most customer fields are under 24 bytes, so a million records
/// cost no per-field heap allocations.
pub type Text = CompactString;

text_enum! {
    /// What a source holds: the customer itself, a billing account, or an order.
    #[derive(PartialOrd, Ord)]
    pub enum RecordKind ("record kind") {
        Customer = "customer",
        Billing = "billing",
        Fulfilment = "fulfilment",
    }
}

/// A (source, key) reference, printed as `source:key`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceKey {
    pub source: Text,
    pub key: Text,
}

impl SourceKey {
    pub fn new(source: impl Into<Text>, key: impl Into<Text>) -> Self {
        SourceKey {
            source: source.into(),
            key: key.into(),
        }
    }

    /// Parses `source:key`; the key may itself contain colons.
    pub fn parse(s: &str) -> Option<Self> {
        let (source, key) = s.split_once(':')?;
        if source.is_empty() || key.is_empty() {
            return None;
        }
        Some(SourceKey::new(source, key))
    }
}

impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.key)
    }
}

/// Facts that belong to a billing account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BillingFacts {
    pub account_number: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoices: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_invoice_date: Option<NaiveDate>,
}

/// Facts that belong to an order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FulfilmentFacts {
    pub order_id: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<i64>,
}

/// The kind's own facts, kept on the record and published with it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Facts {
    #[default]
    Customer,
    Billing(Box<BillingFacts>),
    Fulfilment(Box<FulfilmentFacts>),
}

impl Facts {
    pub fn kind(&self) -> RecordKind {
        match self {
            Facts::Customer => RecordKind::Customer,
            Facts::Billing(_) => RecordKind::Billing,
            Facts::Fulfilment(_) => RecordKind::Fulfilment,
        }
    }
}

/// One source row after mapping and standardisation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub source: Text,
    pub key: Text,
    /// Where the row came from, for lineage and messages: `file.csv:12` or `table customers`.
    pub origin: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Text>,
    /// A national or tax identifier; two different ones mean two different people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<Text>,
    /// When the source last changed the row (its watermark), for "most recent" survivorship.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<NaiveDateTime>,
    pub facts: Facts,
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        self.facts.kind()
    }

    pub fn source_key(&self) -> SourceKey {
        SourceKey::new(self.source.clone(), self.key.clone())
    }

    /// The name as a person would write it: "Mary J O'Brien".
    pub fn display_name(&self) -> String {
        [&self.given_name, &self.middle_name, &self.family_name]
            .iter()
            .filter_map(|p| p.as_deref())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A stable hash of the content, so that a re-run can tell changed records from unchanged
    /// ones. Where the row sits in its file (`origin`) is not content: reordering an export
    /// changes nothing.
    pub fn content_hash(&self) -> i64 {
        #[derive(Serialize)]
        struct View<'a> {
            source: &'a str,
            key: &'a str,
            given_name: &'a Option<Text>,
            middle_name: &'a Option<Text>,
            family_name: &'a Option<Text>,
            date_of_birth: &'a Option<NaiveDate>,
            emails: &'a [Text],
            phones: &'a [Text],
            address: [&'a Option<Text>; 6],
            national_id: &'a Option<Text>,
            updated_at: &'a Option<NaiveDateTime>,
            facts: &'a Facts,
        }
        let view = View {
            source: &self.source,
            key: &self.key,
            given_name: &self.given_name,
            middle_name: &self.middle_name,
            family_name: &self.family_name,
            date_of_birth: &self.date_of_birth,
            emails: &self.emails,
            phones: &self.phones,
            address: [
                &self.street,
                &self.unit,
                &self.city,
                &self.region,
                &self.postcode,
                &self.country,
            ],
            national_id: &self.national_id,
            updated_at: &self.updated_at,
            facts: &self.facts,
        };
        // serde_json of a derived struct is deterministic (fields in declaration order).
        let bytes = serde_json::to_vec(&view).unwrap_or_default();
        xxhash_rust::xxh3::xxh3_64(&bytes) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_kinds_round_trip_as_stored() {
        for k in RecordKind::ALL {
            assert_eq!(k.as_str().parse::<RecordKind>(), Ok(*k));
        }
        assert_eq!(RecordKind::NAMES, ["customer", "billing", "fulfilment"]);
        // Mapping files name the kind: an unknown one is reported as serde always did.
        let e = serde_json::from_str::<RecordKind>("\"order\"").unwrap_err();
        assert!(e.to_string().starts_with(
            "unknown variant `order`, expected one of `customer`, `billing`, `fulfilment`"
        ));
    }

    #[test]
    fn source_key_round_trips_and_keeps_colons_in_the_key() {
        let k = SourceKey::parse("crm:100:7").expect("parses");
        assert_eq!(k.source, "crm");
        assert_eq!(k.key, "100:7");
        assert_eq!(k.to_string(), "crm:100:7");
        assert!(SourceKey::parse("nokey").is_none());
        assert!(SourceKey::parse(":x").is_none());
    }

    #[test]
    fn content_hash_changes_with_content_only() {
        let mut a = Record {
            source: "crm".into(),
            key: "1".into(),
            given_name: Some("Ann".into()),
            ..Default::default()
        };
        let mut b = a.clone();
        b.origin = "elsewhere.csv:9".into();
        assert_eq!(
            a.content_hash(),
            b.content_hash(),
            "position in the file is not content"
        );
        a.given_name = Some("Anne".into());
        assert_ne!(a.content_hash(), b.content_hash());
    }

    #[test]
    fn display_name_skips_missing_parts() {
        let r = Record {
            given_name: Some("Mary".into()),
            family_name: Some("O'Brien".into()),
            ..Default::default()
        };
        assert_eq!(r.display_name(), "Mary O'Brien");
    }
}
