//! Named string transforms that a mapping can list for a field, applied before the field's own
//! standardisation (see `mapping`). Each is a small pure function.

use super::emails::normalize_email;
use super::fold::{collapse_whitespace, fold};
use super::names::name_case;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    Trim,
    Upper,
    Lower,
    CollapseSpaces,
    /// Removes punctuation, keeping letters, digits and spaces.
    StripPunctuation,
    DigitsOnly,
    /// Letters and digits only, upper-cased (identifiers such as tax numbers).
    Alnum,
    NameCase,
    /// The comparison form: accents removed, upper case, punctuation as spaces.
    Fold,
    /// The first five digits of a US ZIP (ZIP+4 cut), leading zeros restored.
    Zip5,
    StripLeadingZeros,
    /// Gmail's dot and plus rule on an e-mail address.
    Gmail,
}

impl Transform {
    pub fn apply(self, value: &str) -> Option<String> {
        let out = match self {
            Transform::Trim => value.trim().to_string(),
            Transform::Upper => value.to_uppercase(),
            Transform::Lower => value.to_lowercase(),
            Transform::CollapseSpaces => collapse_whitespace(value),
            Transform::StripPunctuation => collapse_whitespace(
                &value
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c.is_whitespace() {
                            c
                        } else {
                            ' '
                        }
                    })
                    .collect::<String>(),
            ),
            Transform::DigitsOnly => value.chars().filter(char::is_ascii_digit).collect(),
            Transform::Alnum => value
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_uppercase)
                .collect(),
            Transform::NameCase => name_case(&collapse_whitespace(value)),
            Transform::Fold => fold(value),
            Transform::Zip5 => {
                let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                match digits.len() {
                    0 => String::new(),
                    1..=5 => format!("{digits:0>5}"),
                    6..=9 => format!("{digits:0>9}")[..5].to_string(),
                    _ => digits[..5].to_string(),
                }
            }
            Transform::StripLeadingZeros => {
                let t = value.trim_start_matches('0');
                if t.is_empty() && !value.is_empty() {
                    "0".to_string()
                } else {
                    t.to_string()
                }
            }
            Transform::Gmail => normalize_email(value, true).unwrap_or_else(|_| value.to_string()),
        };
        let t = out.trim();
        (!t.is_empty()).then(|| t.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::Transform::*;

    #[test]
    fn each_transform_does_one_thing() {
        assert_eq!(Trim.apply("  a b "), Some("a b".into()));
        assert_eq!(Upper.apply("straße"), Some("STRASSE".into()));
        assert_eq!(Lower.apply("ABC"), Some("abc".into()));
        assert_eq!(CollapseSpaces.apply(" a \t  b "), Some("a b".into()));
        assert_eq!(
            StripPunctuation.apply("12 Main St., #4"),
            Some("12 Main St 4".into())
        );
        assert_eq!(
            DigitsOnly.apply("(617) 555-0134"),
            Some("6175550134".into())
        );
        assert_eq!(Alnum.apply("123-45-678 9"), Some("123456789".into()));
        assert_eq!(
            NameCase.apply("MARY-JANE  O'NEIL"),
            Some("Mary-Jane O'Neil".into())
        );
        assert_eq!(Fold.apply("José Müller"), Some("JOSE MULLER".into()));
        assert_eq!(Zip5.apply("2134"), Some("02134".into()));
        assert_eq!(Zip5.apply("02134-1234"), Some("02134".into()));
        assert_eq!(Zip5.apply("21341234"), Some("02134".into()));
        assert_eq!(StripLeadingZeros.apply("000123"), Some("123".into()));
        assert_eq!(StripLeadingZeros.apply("000"), Some("0".into()));
        assert_eq!(
            Gmail.apply("J.Smith+news@GoogleMail.com"),
            Some("jsmith@gmail.com".into())
        );
        assert_eq!(Trim.apply("   "), None, "blank becomes null");
    }
}
