//! Comparison levels, declared in config as short readable strings:
//! `"exact"`, `"nickname"`, `"jaro_winkler >= 0.92"`, `"levenshtein <= 2"`, `"date_within 365"` …

use crate::prepare::Field;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LevelKind {
    /// Equal values (for e-mails and phones: any value in common).
    Exact,
    /// Given names that are nicknames of one another (Bob, Robert).
    Nickname,
    /// One side is an initial of the other ("J" and "JOHN").
    Initial,
    /// Given and family name swapped between the two records.
    Swapped,
    Soundex,
    Metaphone,
    JaroWinkler {
        at_least: f64,
    },
    Jaro {
        at_least: f64,
    },
    Levenshtein {
        at_most: usize,
    },
    /// Damerau-Levenshtein in its optimal-string-alignment form: a transposition costs one.
    DamerauLevenshtein {
        at_most: usize,
    },
    /// Jaccard similarity of the words.
    Jaccard {
        at_least: f64,
    },
    /// Same first `n` characters.
    Prefix {
        n: usize,
    },
    /// Same part before the @, different domain.
    EmailLocal,
    /// Exactly one of year, month and day differs.
    DateOneFieldOff,
    /// Day and month swapped, same year.
    DateTransposed,
    DateWithinDays {
        days: i32,
    },
    YearEqual,
    /// Numbers within an absolute distance.
    NumericWithin {
        at_most: f64,
    },
    /// Numbers within a fraction of the larger one.
    NumericWithinPercent {
        percent: f64,
    },
}

fn number(token: Option<&str>, what: &str) -> Result<f64, String> {
    let t = token.ok_or_else(|| format!("{what} needs a number"))?;
    t.trim_end_matches('%')
        .parse::<f64>()
        .map_err(|_| format!("{t:?} is not a number"))
}

fn op(tokens: &[&str], want: &str, level: &str) -> Result<(), String> {
    match tokens.get(1) {
        Some(o) if *o == want => Ok(()),
        _ => Err(format!("write it as \"{level} {want} <number>\"")),
    }
}

impl LevelKind {
    /// Whether the level reads the values' text (not only their interned numbers).
    pub fn reads_text(self) -> bool {
        use LevelKind::*;
        matches!(
            self,
            Initial
                | Swapped
                | JaroWinkler { .. }
                | Jaro { .. }
                | Levenshtein { .. }
                | DamerauLevenshtein { .. }
                | Jaccard { .. }
                | Prefix { .. }
        )
    }

    /// Parses one level string.
    pub fn parse(s: &str) -> Result<LevelKind, String> {
        let tokens: Vec<&str> = s.split_whitespace().collect();
        let Some(&name) = tokens.first() else {
            return Err("empty level".into());
        };
        let simple = |k: LevelKind| {
            if tokens.len() == 1 {
                Ok(k)
            } else {
                Err(format!("level {name:?} takes no argument"))
            }
        };
        match name {
            "exact" => simple(LevelKind::Exact),
            "nickname" => simple(LevelKind::Nickname),
            "initial" => simple(LevelKind::Initial),
            "swapped" => simple(LevelKind::Swapped),
            "soundex" => simple(LevelKind::Soundex),
            "metaphone" => simple(LevelKind::Metaphone),
            "email_local" => simple(LevelKind::EmailLocal),
            "date_one_field_off" => simple(LevelKind::DateOneFieldOff),
            "date_transposed" => simple(LevelKind::DateTransposed),
            "year_equal" => simple(LevelKind::YearEqual),
            "jaro_winkler" | "jaro" | "jaccard" => {
                op(&tokens, ">=", name)?;
                let at_least = number(tokens.get(2).copied(), name)?;
                if !(0.0..=1.0).contains(&at_least) {
                    return Err(format!("{name} threshold must be between 0 and 1"));
                }
                Ok(match name {
                    "jaro_winkler" => LevelKind::JaroWinkler { at_least },
                    "jaro" => LevelKind::Jaro { at_least },
                    _ => LevelKind::Jaccard { at_least },
                })
            }
            "levenshtein" | "damerau_levenshtein" => {
                op(&tokens, "<=", name)?;
                let at_most = number(tokens.get(2).copied(), name)?;
                if at_most < 0.0 || at_most.fract() != 0.0 {
                    return Err(format!("{name} distance must be a whole number"));
                }
                Ok(if name == "levenshtein" {
                    LevelKind::Levenshtein { at_most: at_most as usize }
                } else {
                    LevelKind::DamerauLevenshtein { at_most: at_most as usize }
                })
            }
            "prefix" => {
                let n = number(tokens.get(1).copied(), name)?;
                Ok(LevelKind::Prefix { n: n.max(1.0) as usize })
            }
            "date_within" => {
                let days = number(tokens.get(1).copied(), name)?;
                Ok(LevelKind::DateWithinDays { days: days as i32 })
            }
            "numeric_within" => {
                let t = tokens.get(1).copied();
                let v = number(t, name)?;
                if t.is_some_and(|t| t.ends_with('%')) {
                    Ok(LevelKind::NumericWithinPercent { percent: v })
                } else {
                    Ok(LevelKind::NumericWithin { at_most: v })
                }
            }
            other => Err(format!(
                "unknown level {other:?}; levels are exact, nickname, initial, swapped, soundex, metaphone, \
                 jaro_winkler >= t, jaro >= t, jaccard >= t, levenshtein <= k, damerau_levenshtein <= k, prefix n, \
                 email_local, date_one_field_off, date_transposed, date_within days, year_equal, numeric_within x[%]"
            )),
        }
    }

    /// Whether the level makes sense for the field.
    pub fn fits(self, field: Field) -> bool {
        use LevelKind::*;
        match self {
            Exact => true,
            Nickname => matches!(
                field,
                Field::GivenName | Field::MiddleName | Field::FullName
            ),
            Initial => matches!(field, Field::GivenName | Field::MiddleName),
            Swapped => matches!(field, Field::GivenName | Field::FamilyName),
            DateOneFieldOff | DateTransposed | DateWithinDays { .. } | YearEqual => {
                field == Field::DateOfBirth
            }
            EmailLocal => field == Field::Email,
            _ => field != Field::DateOfBirth,
        }
    }

    /// A short label for reports and explanations.
    pub fn label(self) -> String {
        use LevelKind::*;
        match self {
            Exact => "exact".into(),
            Nickname => "nickname".into(),
            Initial => "initial".into(),
            Swapped => "swapped".into(),
            Soundex => "soundex".into(),
            Metaphone => "metaphone".into(),
            JaroWinkler { at_least } => format!("jaro_winkler >= {at_least}"),
            Jaro { at_least } => format!("jaro >= {at_least}"),
            Levenshtein { at_most } => format!("levenshtein <= {at_most}"),
            DamerauLevenshtein { at_most } => format!("damerau_levenshtein <= {at_most}"),
            Jaccard { at_least } => format!("jaccard >= {at_least}"),
            Prefix { n } => format!("prefix {n}"),
            EmailLocal => "email_local".into(),
            DateOneFieldOff => "date_one_field_off".into(),
            DateTransposed => "date_transposed".into(),
            DateWithinDays { days } => format!("date_within {days}"),
            YearEqual => "year_equal".into(),
            NumericWithin { at_most } => format!("numeric_within {at_most}"),
            NumericWithinPercent { percent } => format!("numeric_within {percent}%"),
        }
    }
}

/// Jaccard similarity of two word sets, for inputs too long for the fast path.
pub fn jaccard_words_slow(a: &str, b: &str) -> f64 {
    let wa: Vec<&str> = a.split(' ').filter(|w| !w.is_empty()).collect();
    let wb: Vec<&str> = b.split(' ').filter(|w| !w.is_empty()).collect();
    if wa.is_empty() && wb.is_empty() {
        return 1.0;
    }
    let common = wa.iter().filter(|w| wb.contains(w)).count();
    let union = wa.len() + wb.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_level_form() {
        assert_eq!(LevelKind::parse("exact"), Ok(LevelKind::Exact));
        assert_eq!(
            LevelKind::parse("jaro_winkler >= 0.92"),
            Ok(LevelKind::JaroWinkler { at_least: 0.92 })
        );
        assert_eq!(
            LevelKind::parse("levenshtein <= 2"),
            Ok(LevelKind::Levenshtein { at_most: 2 })
        );
        assert_eq!(
            LevelKind::parse("date_within 365"),
            Ok(LevelKind::DateWithinDays { days: 365 })
        );
        assert_eq!(
            LevelKind::parse("numeric_within 10%"),
            Ok(LevelKind::NumericWithinPercent { percent: 10.0 })
        );
        assert_eq!(
            LevelKind::parse("numeric_within 2"),
            Ok(LevelKind::NumericWithin { at_most: 2.0 })
        );
        assert_eq!(LevelKind::parse("prefix 3"), Ok(LevelKind::Prefix { n: 3 }));
    }

    #[test]
    fn rejects_malformed_levels_with_a_hint() {
        assert!(LevelKind::parse("jaro_winkler 0.9")
            .unwrap_err()
            .contains(">="));
        assert!(LevelKind::parse("jaro_winkler >= 9")
            .unwrap_err()
            .contains("between 0 and 1"));
        assert!(LevelKind::parse("exact please")
            .unwrap_err()
            .contains("no argument"));
        assert!(LevelKind::parse("fuzzy")
            .unwrap_err()
            .contains("unknown level"));
        assert!(LevelKind::parse("levenshtein <= 1.5").is_err());
    }

    #[test]
    fn levels_fit_their_fields() {
        assert!(LevelKind::Nickname.fits(Field::GivenName));
        assert!(!LevelKind::Nickname.fits(Field::City));
        assert!(LevelKind::DateTransposed.fits(Field::DateOfBirth));
        assert!(!LevelKind::JaroWinkler { at_least: 0.9 }.fits(Field::DateOfBirth));
    }

    #[test]
    fn jaccard_of_words() {
        assert_eq!(jaccard_words_slow("A B C", "A B C"), 1.0);
        assert!((jaccard_words_slow("12 MAIN ST", "MAIN ST") - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(jaccard_words_slow("A", "B"), 0.0);
    }
}
