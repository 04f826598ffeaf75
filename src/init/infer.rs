//! What a column holds, from its name and a sample of its values: the evidence `gild init`
//! writes beside each field it proposes.
//!
//! Names first (legacy systems abbreviate: CUST_NM, ADDR1, ST, ZIP, BIRTH_DT, PHN), checked
//! against the values where a value test exists; the values alone when the name says nothing.

use crate::connectors::ColumnType;
use crate::standardize::dates::parse_date;
use crate::standardize::emails::normalize_email;
use crate::standardize::phones::to_e164;
use crate::standardize::postcodes::standardize_postcode;
use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// Values that mean "no value" in legacy systems; excluded from the ratios and proposed as the
/// mapping's `null_values` when seen.
pub const PLACEHOLDERS: &[&str] = &["N/A", "NA", "NULL", "NONE", "UNKNOWN", "-", "--", "?"];

/// Date formats tried, in order of preference when two fit equally (US first: the default
/// phone region is the US).
pub const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%Y%m%d", "%d.%m.%Y", "%m-%d-%Y", "%d-%m-%Y", "%Y/%m/%d",
    "%d-%b-%Y", "%m/%d/%y",
];

/// Timestamp formats tried for a "last changed" column.
pub const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
];

/// One column as sampled: its name, its type as the source declares it, and its non-empty
/// values (placeholders kept: they are evidence for `null_values`).
#[derive(Debug, Clone)]
pub struct ColumnSample {
    pub name: String,
    pub ty: ColumnType,
    pub values: Vec<String>,
}

impl ColumnSample {
    /// The values that are neither empty nor a placeholder.
    pub fn real_values(&self) -> Vec<&str> {
        self.values
            .iter()
            .map(|v| v.trim())
            .filter(|v| !v.is_empty() && !is_placeholder(v))
            .collect()
    }

    /// The lower-case words of the name: `CUST_NM` -> ["cust", "nm"].
    pub fn words(&self) -> Vec<String> {
        let mut words = Vec::new();
        let mut cur = String::new();
        let mut prev_lower = false;
        for ch in self.name.chars() {
            if !ch.is_ascii_alphanumeric() {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                prev_lower = false;
                continue;
            }
            // camelCase: a capital after a small letter starts a word.
            if ch.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = ch.is_ascii_lowercase();
            cur.push(ch.to_ascii_lowercase());
        }
        if !cur.is_empty() {
            words.push(cur);
        }
        words
    }
}

pub fn is_placeholder(v: &str) -> bool {
    PLACEHOLDERS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(v.trim()))
}

/// The share of `values` that pass `test`; 0 for none.
pub fn share(values: &[&str], test: impl Fn(&str) -> bool) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().filter(|v| test(v)).count() as f64 / values.len() as f64
}

pub fn is_email(v: &str) -> bool {
    v.contains('@') && normalize_email(v, false).is_ok()
}

/// A phone number for `region`: it parses, and has the digits of one (not a date or an amount).
pub fn is_phone(v: &str, region: &str) -> bool {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let letters = v.chars().filter(|c| c.is_alphabetic()).count();
    (7..=15).contains(&digits)
        && letters <= 3
        && !v.contains(['@', '/'])
        && to_e164(v, region).is_ok()
}

pub fn is_us_postcode(v: &str) -> bool {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    digits >= 3 && standardize_postcode(v, Some("US")).is_ok()
}

/// "LAST, FIRST M": letters, a comma, letters.
pub fn is_family_first_name(v: &str) -> bool {
    match v.split_once(',') {
        Some((a, b)) => {
            let alpha = |s: &str| {
                let s = s.trim();
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'))
            };
            alpha(a) && alpha(b)
        }
        None => false,
    }
}

/// "First Last": two to five words of letters.
pub fn is_given_first_name(v: &str) -> bool {
    let words: Vec<&str> = v.split_whitespace().collect();
    (2..=5).contains(&words.len())
        && words.iter().all(|w| {
            w.chars()
                .all(|c| c.is_alphabetic() || matches!(c, '-' | '\'' | '.'))
        })
}

pub fn is_number(v: &str) -> bool {
    let s: String = v
        .chars()
        .filter(|c| !matches!(c, ',' | '$' | '€' | '£' | ' '))
        .collect();
    !s.is_empty() && s.parse::<f64>().is_ok()
}

/// The date format most values parse with, and the share that do.
pub fn best_date_format(values: &[&str]) -> Option<(&'static str, f64)> {
    let today = chrono::Utc::now().date_naive();
    let mut best: Option<(&'static str, f64)> = None;
    for fmt in DATE_FORMATS {
        let formats = [fmt.to_string()];
        let s = share(values, |v| {
            // Whole dates only: a bare number is not a date unless the format says so.
            parse_date(v, &formats)
                .is_ok_and(|d| d.year() > 1000 && d <= today + chrono::Days::new(3650))
        });
        if s > best.map_or(0.0, |b| b.1) {
            best = Some((fmt, s));
        }
    }
    best
}

/// The timestamp format most values parse with, and the share that do.
pub fn best_datetime_format(values: &[&str]) -> Option<(&'static str, f64)> {
    let mut best: Option<(&'static str, f64)> = None;
    for fmt in DATETIME_FORMATS {
        let s = share(values, |v| NaiveDateTime::parse_from_str(v, fmt).is_ok());
        if s > best.map_or(0.0, |b| b.1) {
            best = Some((fmt, s));
        }
    }
    best
}

/// Whether most dates parsed with `fmt` could be birth dates (1900 to 16 years ago), telling a
/// date of birth from an order or invoice date when the name says nothing.
pub fn looks_like_birth_dates(values: &[&str], fmt: &str) -> bool {
    let today = chrono::Utc::now().date_naive();
    let latest = NaiveDate::from_ymd_opt(today.year() - 16, 1, 1).unwrap_or(today);
    let formats = [fmt.to_string()];
    let dates: Vec<NaiveDate> = values
        .iter()
        .filter_map(|v| parse_date(v, &formats).ok())
        .collect();
    !dates.is_empty()
        && dates
            .iter()
            .filter(|d| d.year() >= 1900 && **d < latest)
            .count() as f64
            / dates.len() as f64
            > 0.9
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> ColumnSample {
        ColumnSample {
            name: name.into(),
            ty: ColumnType::Text,
            values: vec![],
        }
    }

    #[test]
    fn names_split_into_words() {
        assert_eq!(col("CUST_NM").words(), vec!["cust", "nm"]);
        assert_eq!(col("birthDate").words(), vec!["birth", "date"]);
        assert_eq!(col("ADDR1").words(), vec!["addr1"]);
    }

    #[test]
    fn value_tests_tell_shapes_apart() {
        assert!(is_email("ann.lee@example.com"));
        assert!(!is_email("ann lee@example"));
        assert!(is_phone("(617) 555-0185", "US"));
        assert!(!is_phone("03/07/1985", "US"));
        assert!(is_us_postcode("02113-6598"));
        assert!(is_family_first_name("GARCIA-RODRIGUEZ, ELENA M"));
        assert!(!is_family_first_name("Elena Garcia"));
        assert!(is_given_first_name("Mr Elena Garcia"));
    }

    #[test]
    fn the_date_format_is_the_one_most_values_fit() {
        let us = ["04/05/1981", "06/23/1980", "11/15/1983"];
        assert_eq!(best_date_format(&us), Some(("%m/%d/%Y", 1.0)));
        let eu = ["23/06/2024", "05/04/2023", "15/11/2022"];
        assert_eq!(best_date_format(&eu), Some(("%d/%m/%Y", 1.0)));
        assert!(looks_like_birth_dates(&us, "%m/%d/%Y"));
        assert!(!looks_like_birth_dates(&eu, "%d/%m/%Y"));
        let ts = ["2023-11-28T04:00:41Z", "2024-03-04T14:19:22Z"];
        assert_eq!(best_datetime_format(&ts), Some(("%Y-%m-%dT%H:%M:%SZ", 1.0)));
    }
}
