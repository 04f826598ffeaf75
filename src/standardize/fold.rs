//! The comparison form of free text: accents off, upper-case, punctuation as
//! single spaces.
//!
//! Every other transform compares through `fold`, so it has an ASCII fast path
//! that does no Unicode normalisation at all.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Apostrophe-like characters. They are dropped without a space so that
/// `O'Brien`, `O’Brien` and `OBrien` fold the same.
fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '`' | '\u{00B4}' | '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{02BC}' | '\u{02BB}'
    )
}

/// Letters that have no compatibility decomposition to ASCII but an obvious
/// ASCII spelling. Returns `None` for everything else.
fn special_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' | 'ẞ' => "SS",
        'æ' | 'Æ' => "AE",
        'ø' | 'Ø' => "O",
        'œ' | 'Œ' => "OE",
        'ł' | 'Ł' => "L",
        'đ' | 'Đ' | 'ð' | 'Ð' => "D",
        'þ' | 'Þ' => "TH",
        'ı' => "I",
        'ħ' | 'Ħ' => "H",
        'ŧ' | 'Ŧ' => "T",
        'ŋ' | 'Ŋ' => "N",
        'ĸ' => "K",
        'ſ' => "S",
        'ƒ' => "F",
        _ => return None,
    })
}

/// Appends one character of already-decomposed text to the folded output.
/// `pending_space` records that a separator was seen since the last kept
/// character, so runs of punctuation become exactly one space and no space is
/// written at either end.
fn push_folded(out: &mut String, pending_space: &mut bool, c: char) {
    if c.is_ascii_alphanumeric() {
        if *pending_space && !out.is_empty() {
            out.push(' ');
        }
        *pending_space = false;
        out.push(c.to_ascii_uppercase());
    } else if is_apostrophe(c) || is_combining_mark(c) {
        // Dropped without a separator.
    } else if let Some(s) = special_letter(c) {
        if *pending_space && !out.is_empty() {
            out.push(' ');
        }
        *pending_space = false;
        out.push_str(s);
    } else if c.is_alphanumeric() {
        // Letters with no ASCII form (Greek, Cyrillic, CJK …) are kept,
        // upper-cased, so such names still compare instead of vanishing.
        if *pending_space && !out.is_empty() {
            out.push(' ');
        }
        *pending_space = false;
        out.extend(c.to_uppercase());
    } else {
        *pending_space = true;
    }
}

/// The comparison form of `s`: Unicode NFKD with combining marks removed,
/// special letters spelled out (ß→SS, Æ→AE, Ø→O …), upper-case, apostrophes
/// dropped, every other run of non-alphanumeric characters turned into one
/// space, trimmed.
///
/// `fold("  José  Müller-Lüdenscheidt ") == "JOSE MULLER LUDENSCHEIDT"`,
/// `fold("O'Brien") == "OBRIEN"`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// `fold` into a buffer the caller reuses (cleared first): for loops over millions of values.
pub fn fold_into(s: &str, out: &mut String) {
    out.clear();
    let mut pending_space = false;
    if s.is_ascii() {
        // Fast path: the common case needs no normalisation tables.
        for b in s.bytes() {
            push_folded(out, &mut pending_space, b as char);
        }
        return;
    }
    for c in s.chars() {
        if c.is_ascii() {
            push_folded(out, &mut pending_space, c);
        } else if is_apostrophe(c) {
            // Checked before decomposition: U+00B4 decomposes to a space.
        } else {
            decompose_compatible(c, |d| push_folded(out, &mut pending_space, d));
        }
    }
}

/// `fold` without the spaces, for keys: `fold_compact("Mary-Jane O'Neil")
/// == "MARYJANEONEIL"`.
pub fn fold_compact(s: &str) -> String {
    let mut f = fold(s);
    f.retain(|c| c != ' ');
    f
}

/// Trims and turns every run of whitespace into a single ASCII space, leaving
/// everything else (case, punctuation, accents) as it is.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_case_and_punctuation() {
        assert_eq!(
            fold("  José  Müller-Lüdenscheidt "),
            "JOSE MULLER LUDENSCHEIDT"
        );
        assert_eq!(fold("Zoë Saldaña"), "ZOE SALDANA");
        assert_eq!(fold("François Pérez-Núñez"), "FRANCOIS PEREZ NUNEZ");
        assert_eq!(fold("Ångström"), "ANGSTROM");
        assert_eq!(fold("Dvořák, Antonín"), "DVORAK ANTONIN");
    }

    #[test]
    fn apostrophes_are_dropped_without_a_space() {
        assert_eq!(fold("O'Brien"), "OBRIEN");
        assert_eq!(fold("D’Angelo"), "DANGELO");
        assert_eq!(fold("D‘Angelo"), "DANGELO");
        assert_eq!(fold("O`Neil"), "ONEIL");
        assert_eq!(fold("Hawai\u{02BB}i"), "HAWAII");
        assert_eq!(fold("O\u{00B4}Connor"), "OCONNOR");
    }

    #[test]
    fn special_letters_are_spelled_out() {
        assert_eq!(fold("Straße"), "STRASSE");
        assert_eq!(fold("STRAẞE"), "STRASSE");
        assert_eq!(fold("Ærø"), "AERO");
        assert_eq!(fold("Søren Kierkegård"), "SOREN KIERKEGARD");
        assert_eq!(fold("Œuvre"), "OEUVRE");
        assert_eq!(fold("Łódź"), "LODZ");
        assert_eq!(fold("Đorđević"), "DORDEVIC");
        assert_eq!(fold("Þórður"), "THORDUR");
        assert_eq!(fold("Yıldız"), "YILDIZ");
    }

    #[test]
    fn compatibility_forms_are_decomposed() {
        // Full-width letters and ligatures from Asian keyboards and PDFs.
        assert_eq!(fold("ＪＯＨＮ"), "JOHN");
        assert_eq!(fold("ﬁnn"), "FINN");
        assert_eq!(fold("Apt №5"), "APT NO5");
        assert_eq!(fold("x²"), "X2");
    }

    #[test]
    fn non_latin_letters_are_kept_upper_cased() {
        assert_eq!(fold("Иван Петров"), "ИВАН ПЕТРОВ");
        assert_eq!(fold("Σωκράτης"), "ΣΩΚΡΑΤΗΣ");
    }

    #[test]
    fn whitespace_and_punctuation_runs_become_one_space() {
        assert_eq!(fold("  a \t\n b  "), "A B");
        assert_eq!(fold("--Smith,,  John!!"), "SMITH JOHN");
        assert_eq!(fold("a\u{00A0}b"), "A B");
        assert_eq!(fold("123 Main St., Apt #4"), "123 MAIN ST APT 4");
    }

    #[test]
    fn empty_and_punctuation_only_fold_to_empty() {
        assert_eq!(fold(""), "");
        assert_eq!(fold("   "), "");
        assert_eq!(fold("-.,;'"), "");
        assert_eq!(fold("\u{0301}"), "");
    }

    #[test]
    fn decomposed_and_composed_input_fold_the_same() {
        let composed = "Jos\u{00E9}";
        let decomposed = "Jose\u{0301}";
        assert_eq!(fold(composed), fold(decomposed));
        assert_eq!(fold(decomposed), "JOSE");
    }

    #[test]
    fn fold_is_idempotent() {
        for s in ["O'Brien", "Müller-Lüdenscheidt", "  x  y ", "Straße 5"] {
            let once = fold(s);
            assert_eq!(fold(&once), once, "{s}");
        }
    }

    #[test]
    fn fold_compact_removes_spaces() {
        assert_eq!(fold_compact("Mary-Jane O'Neil"), "MARYJANEONEIL");
        assert_eq!(fold_compact(" van der Berg "), "VANDERBERG");
        assert_eq!(fold_compact(""), "");
    }

    #[test]
    fn collapse_whitespace_keeps_everything_else() {
        assert_eq!(collapse_whitespace("  José \t  Müller\n"), "José Müller");
        assert_eq!(collapse_whitespace("a,  b"), "a, b");
        assert_eq!(collapse_whitespace("   "), "");
        assert_eq!(collapse_whitespace("x\u{00A0}\u{00A0}y"), "x y");
    }

    #[test]
    fn ascii_fast_path_agrees_with_the_unicode_path() {
        // A trailing non-ASCII space forces the Unicode path on the same text.
        for s in [
            "O'Brien-Smith",
            "123 Main St., #4",
            "  a--b  ",
            "x`y",
            "MiXeD 42",
        ] {
            let slow = format!("{s}\u{00A0}");
            assert_eq!(fold(s), fold(&slow), "{s}");
        }
    }
}
