//! Records prepared for matching: folded, interned, column by column, once per run; blocking
//! and comparison both read them.

mod intern;

pub use intern::{Interner, Sym, NONE};

use crate::record::Record;
use crate::standardize::fold::fold;
use chrono::Datelike;
use serde::{Deserialize, Serialize};

/// Asks the CPU to start loading the cache line at `p`.
#[inline]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is only a hint; it never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A field that can be compared or blocked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    GivenName,
    MiddleName,
    FamilyName,
    /// Given and family name together.
    FullName,
    DateOfBirth,
    Email,
    Phone,
    /// The whole street line ("12 MAIN ST").
    Street,
    StreetNumber,
    StreetName,
    Unit,
    City,
    Region,
    Postcode,
    Country,
    NationalId,
}

pub const TEXT_FIELDS: [Field; 13] = [
    Field::GivenName,
    Field::MiddleName,
    Field::FamilyName,
    Field::FullName,
    Field::Street,
    Field::StreetNumber,
    Field::StreetName,
    Field::Unit,
    Field::City,
    Field::Region,
    Field::Postcode,
    Field::Country,
    Field::NationalId,
];

impl Field {
    pub fn parse(s: &str) -> Option<Field> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    pub fn name(self) -> &'static str {
        match self {
            Field::GivenName => "given_name",
            Field::MiddleName => "middle_name",
            Field::FamilyName => "family_name",
            Field::FullName => "full_name",
            Field::DateOfBirth => "date_of_birth",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Street => "street",
            Field::StreetNumber => "street_number",
            Field::StreetName => "street_name",
            Field::Unit => "unit",
            Field::City => "city",
            Field::Region => "region",
            Field::Postcode => "postcode",
            Field::Country => "country",
            Field::NationalId => "national_id",
        }
    }

    pub fn is_multi(self) -> bool {
        matches!(self, Field::Email | Field::Phone)
    }

    /// Whether members of one household (different people) commonly share this field: a
    /// surname, a phone line, the address or its area. Agreement on such a field among records
    /// that already share a home is no evidence that they are one person.
    pub fn shared_in_household(self) -> bool {
        matches!(
            self,
            Field::FamilyName
                | Field::Phone
                | Field::Street
                | Field::StreetNumber
                | Field::StreetName
                | Field::Unit
                | Field::City
                | Field::Region
                | Field::Postcode
                | Field::Country
        )
    }

    fn text_slot(self) -> Option<usize> {
        TEXT_FIELDS.iter().position(|f| *f == self)
    }
}

/// A date of birth as days since the epoch plus its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dob {
    pub days: i32,
    pub year: i16,
    pub month: u8,
    pub day: u8,
}

/// One interned column per text field, flat multi-value columns for e-mails and phones.
#[derive(Debug, Default)]
pub struct Prepared {
    pub n: usize,
    /// Index into `sources` for each record.
    pub source: Vec<u16>,
    pub sources: Vec<String>,
    text: Vec<(Interner, Vec<Sym>)>,
    pub dob: Vec<Option<Dob>>,
    pub emails: MultiColumn,
    pub phones: MultiColumn,
}

/// Several values per record (e-mails, phones).
#[derive(Debug, Default)]
pub struct MultiColumn {
    pub interner: Interner,
    offsets: Vec<u32>,
    values: Vec<Sym>,
}

impl MultiColumn {
    fn build(records: &[Record], get: impl Fn(&Record) -> Vec<String>) -> Self {
        let mut col = MultiColumn {
            interner: Interner::new(),
            offsets: Vec::with_capacity(records.len() + 1),
            values: Vec::with_capacity(records.len()),
        };
        col.offsets.push(0);
        for r in records {
            for v in get(r) {
                let id = col.interner.add(&v);
                if id != NONE {
                    col.values.push(id);
                }
            }
            col.offsets.push(col.values.len() as u32);
        }
        col
    }

    pub fn of(&self, i: usize) -> &[Sym] {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        &self.values[a..b]
    }

    /// Starts loading record `i`'s offsets (see `Comparator::prefetch`).
    #[inline]
    pub(crate) fn prefetch(&self, i: usize) {
        prefetch(self.offsets.as_ptr().wrapping_add(i));
    }

    /// Starts loading record `i`'s values; its offsets should already be in cache.
    #[inline]
    pub(crate) fn prefetch_values(&self, i: usize) {
        if let Some(&a) = self.offsets.get(i) {
            prefetch(self.values.as_ptr().wrapping_add(a as usize));
        }
    }

    /// Starts loading where record `i`'s first value's text is; its values should be in cache.
    #[inline]
    pub(crate) fn prefetch_first_handle(&self, i: usize) {
        if let Some(&first) = self.of_checked(i).and_then(|v| v.first()) {
            self.interner.prefetch_handle(first);
        }
    }

    /// Starts loading record `i`'s first value's text; where it is should be in cache.
    #[inline]
    pub(crate) fn prefetch_first_text(&self, i: usize) {
        if let Some(&first) = self.of_checked(i).and_then(|v| v.first()) {
            self.interner.prefetch_text(first);
        }
    }

    fn of_checked(&self, i: usize) -> Option<&[Sym]> {
        let (a, b) = (
            *self.offsets.get(i)? as usize,
            *self.offsets.get(i + 1)? as usize,
        );
        self.values.get(a..b)
    }
}

fn street_parts(street: &str) -> (String, String) {
    let folded = fold(street);
    let mut words = folded.splitn(2, ' ');
    let first = words.next().unwrap_or("");
    if first.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        (first.to_string(), words.next().unwrap_or("").to_string())
    } else {
        (String::new(), folded)
    }
}

fn text_value(r: &Record, field: Field) -> String {
    let f = |v: &Option<crate::record::Text>| v.as_deref().map(fold).unwrap_or_default();
    match field {
        Field::GivenName => f(&r.given_name),
        Field::MiddleName => f(&r.middle_name),
        Field::FamilyName => f(&r.family_name),
        Field::FullName => {
            let g = f(&r.given_name);
            let s = f(&r.family_name);
            match (g.is_empty(), s.is_empty()) {
                (true, true) => String::new(),
                (false, true) => g,
                (true, false) => s,
                (false, false) => format!("{g} {s}"),
            }
        }
        Field::Street => f(&r.street),
        Field::StreetNumber => r
            .street
            .as_deref()
            .map(|s| street_parts(s).0)
            .unwrap_or_default(),
        Field::StreetName => r
            .street
            .as_deref()
            .map(|s| street_parts(s).1)
            .unwrap_or_default(),
        Field::Unit => f(&r.unit),
        Field::City => f(&r.city),
        Field::Region => f(&r.region),
        Field::Postcode => r
            .postcode
            .as_deref()
            .map(|p| p.replace(' ', ""))
            .unwrap_or_default(),
        Field::Country => f(&r.country),
        Field::NationalId => r
            .national_id
            .as_deref()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        Field::DateOfBirth | Field::Email | Field::Phone => String::new(),
    }
}

impl Prepared {
    /// Folds and interns every field of every record; fields are built in parallel.
    pub fn build(records: &[Record]) -> Prepared {
        let mut sources: Vec<String> = Vec::new();
        let source = records
            .iter()
            .map(
                |r| match sources.iter().position(|s| s == r.source.as_str()) {
                    Some(i) => i as u16,
                    None => {
                        sources.push(r.source.to_string());
                        (sources.len() - 1) as u16
                    }
                },
            )
            .collect();
        let build_text = |field: Field| {
            let mut interner = Interner::new();
            let syms = records
                .iter()
                .map(|r| interner.add(&text_value(r, field)))
                .collect();
            (interner, syms)
        };
        let (text, (dob, (emails, phones))) = rayon::join(
            || {
                use rayon::prelude::*;
                TEXT_FIELDS
                    .par_iter()
                    .map(|f| build_text(*f))
                    .collect::<Vec<_>>()
            },
            || {
                rayon::join(
                    || {
                        records
                            .iter()
                            .map(|r| {
                                r.date_of_birth.map(|d| Dob {
                                    days: d.num_days_from_ce(),
                                    year: d.year() as i16,
                                    month: d.month() as u8,
                                    day: d.day() as u8,
                                })
                            })
                            .collect::<Vec<_>>()
                    },
                    || {
                        rayon::join(
                            || {
                                MultiColumn::build(records, |r| {
                                    r.emails.iter().map(|e| e.as_str().to_lowercase()).collect()
                                })
                            },
                            || {
                                MultiColumn::build(records, |r| {
                                    r.phones.iter().map(|p| p.to_string()).collect()
                                })
                            },
                        )
                    },
                )
            },
        );
        Prepared {
            n: records.len(),
            source,
            sources,
            text,
            dob,
            emails,
            phones,
        }
    }

    /// The interned column of a text field.
    pub fn column(&self, field: Field) -> Option<(&Interner, &[Sym])> {
        let slot = field.text_slot()?;
        let (i, s) = &self.text[slot];
        Some((i, s.as_slice()))
    }

    pub fn sym(&self, field: Field, record: usize) -> Sym {
        self.column(field).map(|(_, s)| s[record]).unwrap_or(NONE)
    }

    pub fn text(&self, field: Field, record: usize) -> &str {
        match self.column(field) {
            Some((i, s)) => i.str(s[record]),
            None => "",
        }
    }

    pub fn multi(&self, field: Field) -> Option<&MultiColumn> {
        match field {
            Field::Email => Some(&self.emails),
            Field::Phone => Some(&self.phones),
            _ => None,
        }
    }

    /// A readable value of any field, for explanations.
    pub fn display(&self, field: Field, record: usize) -> String {
        match field {
            Field::DateOfBirth => self.dob[record]
                .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                .unwrap_or_default(),
            Field::Email | Field::Phone => {
                let Some(col) = self.multi(field) else {
                    return String::new();
                };
                col.of(record)
                    .iter()
                    .map(|s| col.interner.str(*s))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            f => self.text(f, record).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn prepares_folded_interned_columns() {
        let records = vec![
            Record {
                source: "crm".into(),
                key: "1".into(),
                given_name: Some("José".into()),
                family_name: Some("Núñez".into()),
                street: Some("12 MAIN ST".into()),
                emails: vec!["a@x.com".into(), "b@x.com".into()],
                date_of_birth: NaiveDate::from_ymd_opt(1980, 2, 3),
                ..Default::default()
            },
            Record {
                source: "billing".into(),
                key: "2".into(),
                given_name: Some("Jose".into()),
                street: Some("MAIN ST".into()),
                ..Default::default()
            },
        ];
        let p = Prepared::build(&records);
        assert_eq!(p.n, 2);
        assert_eq!(p.sources, vec!["crm", "billing"]);
        assert_eq!(p.sym(Field::GivenName, 0), p.sym(Field::GivenName, 1));
        assert_eq!(p.text(Field::FullName, 0), "JOSE NUNEZ");
        assert_eq!(p.text(Field::StreetNumber, 0), "12");
        assert_eq!(p.text(Field::StreetName, 0), "MAIN ST");
        assert_eq!(p.text(Field::StreetNumber, 1), "");
        assert_eq!(p.emails.of(0).len(), 2);
        assert!(p.phones.of(1).is_empty());
        assert_eq!(p.display(Field::DateOfBirth, 0), "1980-02-03");
        assert_eq!(p.dob[1], None);
    }
}
