//! The golden customer: one type for what a sync or a steward builds, what the store keeps and
//! what readers see, its person fields in one struct and their columns listed once.

use super::lineage::Lineage;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// One person-field column of a golden record. Survivorship chooses its value, lineage says
/// where the value came from, and a steward can pin it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GoldenColumn {
    GivenName,
    MiddleName,
    FamilyName,
    DateOfBirth,
    Email,
    Phone,
    Street,
    Unit,
    City,
    Region,
    Postcode,
    Country,
    NationalId,
}

impl GoldenColumn {
    /// Every column, in display order: each survivorship field's columns in turn.
    pub const ALL: [GoldenColumn; 13] = [
        GoldenColumn::GivenName,
        GoldenColumn::MiddleName,
        GoldenColumn::FamilyName,
        GoldenColumn::DateOfBirth,
        GoldenColumn::Email,
        GoldenColumn::Phone,
        GoldenColumn::Street,
        GoldenColumn::Unit,
        GoldenColumn::City,
        GoldenColumn::Region,
        GoldenColumn::Postcode,
        GoldenColumn::Country,
        GoldenColumn::NationalId,
    ];

    /// Its name: the column of `golden_customers`, the JSON key, the lineage key, the field a
    /// steward pins.
    pub const fn name(self) -> &'static str {
        match self {
            GoldenColumn::GivenName => "given_name",
            GoldenColumn::MiddleName => "middle_name",
            GoldenColumn::FamilyName => "family_name",
            GoldenColumn::DateOfBirth => "date_of_birth",
            GoldenColumn::Email => "email",
            GoldenColumn::Phone => "phone",
            GoldenColumn::Street => "street",
            GoldenColumn::Unit => "unit",
            GoldenColumn::City => "city",
            GoldenColumn::Region => "region",
            GoldenColumn::Postcode => "postcode",
            GoldenColumn::Country => "country",
            GoldenColumn::NationalId => "national_id",
        }
    }

    pub fn parse(name: &str) -> Option<GoldenColumn> {
        GoldenColumn::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Every column's name in order, each as `format` makes it (`{}` stands for the name),
    /// joined by ", ": for SQL column lists.
    pub fn list(format: &str) -> String {
        GoldenColumn::ALL
            .map(|c| format.replace("{}", c.name()))
            .join(", ")
    }
}

impl std::fmt::Display for GoldenColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A golden customer's person fields, one column of `golden_customers` each, named as
/// [`GoldenColumn::name`] says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct GoldenFields {
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub street: Option<String>,
    pub unit: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub national_id: Option<String>,
}

/// One field's value: every column holds text but the date of birth. Serialises as the field
/// itself does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldValue<'a> {
    Text(Option<&'a str>),
    Date(Option<NaiveDate>),
}

impl GoldenFields {
    pub fn get(&self, c: GoldenColumn) -> FieldValue<'_> {
        match c {
            GoldenColumn::DateOfBirth => FieldValue::Date(self.date_of_birth),
            GoldenColumn::GivenName => FieldValue::Text(self.given_name.as_deref()),
            GoldenColumn::MiddleName => FieldValue::Text(self.middle_name.as_deref()),
            GoldenColumn::FamilyName => FieldValue::Text(self.family_name.as_deref()),
            GoldenColumn::Email => FieldValue::Text(self.email.as_deref()),
            GoldenColumn::Phone => FieldValue::Text(self.phone.as_deref()),
            GoldenColumn::Street => FieldValue::Text(self.street.as_deref()),
            GoldenColumn::Unit => FieldValue::Text(self.unit.as_deref()),
            GoldenColumn::City => FieldValue::Text(self.city.as_deref()),
            GoldenColumn::Region => FieldValue::Text(self.region.as_deref()),
            GoldenColumn::Postcode => FieldValue::Text(self.postcode.as_deref()),
            GoldenColumn::Country => FieldValue::Text(self.country.as_deref()),
            GoldenColumn::NationalId => FieldValue::Text(self.national_id.as_deref()),
        }
    }

    /// A text column's slot; None for the date of birth.
    pub fn text_mut(&mut self, c: GoldenColumn) -> Option<&mut Option<String>> {
        match c {
            GoldenColumn::DateOfBirth => None,
            GoldenColumn::GivenName => Some(&mut self.given_name),
            GoldenColumn::MiddleName => Some(&mut self.middle_name),
            GoldenColumn::FamilyName => Some(&mut self.family_name),
            GoldenColumn::Email => Some(&mut self.email),
            GoldenColumn::Phone => Some(&mut self.phone),
            GoldenColumn::Street => Some(&mut self.street),
            GoldenColumn::Unit => Some(&mut self.unit),
            GoldenColumn::City => Some(&mut self.city),
            GoldenColumn::Region => Some(&mut self.region),
            GoldenColumn::Postcode => Some(&mut self.postcode),
            GoldenColumn::Country => Some(&mut self.country),
            GoldenColumn::NationalId => Some(&mut self.national_id),
        }
    }

    /// Sets a column from its text; a date of birth that is not YYYY-MM-DD is left empty.
    pub fn set(&mut self, c: GoldenColumn, value: Option<String>) {
        match self.text_mut(c) {
            Some(slot) => *slot = value,
            None => self.date_of_birth = value.and_then(|v| v.parse().ok()),
        }
    }

    /// Given, middle and family name as a person writes them: "Mary J O'Brien".
    pub fn full_name(&self) -> Option<String> {
        let parts: Vec<&str> = [&self.given_name, &self.middle_name, &self.family_name]
            .iter()
            .filter_map(|p| p.as_deref())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// A golden customer: its ID, person fields, where each field came from, how many source
/// records it has, and when and by which run it was made and last changed.
///
/// `L` is its lineage: typed, or the stored JSON text that the read API passes through
/// unparsed.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct GoldenRecord<L = Lineage> {
    pub golden_id: String,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub fields: GoldenFields,
    /// The fields' name in one, for lists and search.
    pub full_name: Option<String>,
    /// Linked source records: all of them, then customer records, billing accounts, orders.
    pub record_count: i64,
    pub customer_records: i64,
    pub billing_accounts: i64,
    pub orders: i64,
    /// The run (or `steward`) that made it, and the one that changed it last.
    pub created_run: String,
    pub updated_run: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// field -> {value, source, key, rule}
    pub lineage: L,
}

impl<L> GoldenRecord<L> {
    /// The same record with its lineage in another form.
    pub fn map_lineage<M>(self, f: impl FnOnce(L) -> M) -> GoldenRecord<M> {
        GoldenRecord {
            golden_id: self.golden_id,
            fields: self.fields,
            full_name: self.full_name,
            record_count: self.record_count,
            customer_records: self.customer_records,
            billing_accounts: self.billing_accounts,
            orders: self.orders,
            created_run: self.created_run,
            updated_run: self.updated_run,
            created_at: self.created_at,
            updated_at: self.updated_at,
            lineage: f(self.lineage),
        }
    }
}

/// A golden record as a sync or a steward's correction writes it, with what the store keeps of
/// it for the next sync.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoldenVersion {
    #[serde(flatten)]
    pub record: GoldenRecord,
    /// Hash of what a reader sees of it: the next sync compares it to tell whether the
    /// customer changed.
    pub content_hash: i64,
    /// Its golden ID's sequence number: when customers merge, the oldest ID survives.
    pub created_seq: i64,
}

/// Golden records to write, produced a slice at a time so that a million of them never sit in
/// memory at once.
pub trait GoldenVersions: Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The records at `range` (within `0..len()`).
    fn versions(&self, range: std::ops::Range<usize>) -> Vec<GoldenVersion>;
}

impl GoldenVersions for Vec<GoldenVersion> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn versions(&self, range: std::ops::Range<usize>) -> Vec<GoldenVersion> {
        self[range].to_vec()
    }
}

/// What a run needs to know about a golden customer that already exists.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PreviousGolden {
    pub golden_id: String,
    pub content_hash: i64,
    pub created_seq: i64,
    pub created_run: String,
    pub created_at: DateTime<Utc>,
}
