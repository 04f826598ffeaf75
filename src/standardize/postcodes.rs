//! Postcodes: US ZIP codes repaired after spreadsheets, UK, Canadian,
//! Australian, German and French codes checked and spaced.

use super::addresses::standardize_country;
use super::error::TransformError;
use super::fold::fold;

/// Standardises a postcode for `country` (a code or name, e.g. "US", "USA",
/// "United Kingdom").
///
/// - US: the 5-digit ZIP; ZIP+4 is cut to 5 ("02134-1234", "021341234");
///   leading zeros a spreadsheet stripped are restored ("2134" → "02134",
///   "501" → "00501"; 7 or 8 digits are a ZIP+4 that lost them); a float
///   column's "2134.0" is read as 2134. With no country, a value that looks
///   like a ZIP is treated as one.
/// - GB: "SW1A 1AA" shape, one space before the inward code.
/// - CA: "K1A 0B1".
/// - AU: 4 digits, a lost leading zero restored ("800" → "0800").
/// - DE, FR: 5 digits, a lost leading zero restored ("1067" → "01067").
/// - Elsewhere: folded upper-case, single spaces and hyphens kept
///   ("00-950", "1234 AB").
pub fn standardize_postcode(raw: &str, country: Option<&str>) -> Result<String, TransformError> {
    let value = raw.trim();
    let code = country
        .filter(|c| !c.trim().is_empty())
        .map(|c| standardize_country(c).unwrap_or_else(|| fold(c)));
    let label = code.as_deref().unwrap_or("unknown");
    if value.is_empty() {
        return Err(TransformError::postcode(raw, label, "it is empty"));
    }
    match code.as_deref() {
        Some("US") => us_zip(raw, value, "US"),
        None if looks_like_zip(value) => us_zip(raw, value, label),
        Some("GB") => uk(raw, value),
        Some("CA") => canada(raw, value),
        Some("AU") => digits_padded(raw, value, "AU", 4),
        Some(c @ ("DE" | "FR")) => {
            // Old international style: "D-10115", "F-75001", "DE-10115".
            let letters = value.bytes().take_while(u8::is_ascii_alphabetic).count();
            let prefix = &value[..letters];
            let v = if letters > 0
                && (prefix.eq_ignore_ascii_case(c) || prefix.eq_ignore_ascii_case(&c[..1]))
            {
                value[letters..].trim_start_matches(['-', ' '])
            } else {
                value
            };
            digits_padded(raw, v, c, 5)
        }
        _ => other(raw, value, label),
    }
}

/// Digits, optionally one hyphen or space, optionally a float's ".0".
fn looks_like_zip(v: &str) -> bool {
    let v = strip_float_zero(v);
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    (3..=9).contains(&digits)
        && v.bytes()
            .all(|b| b.is_ascii_digit() || b == b'-' || b == b' ')
}

/// "2134.0" or "2134.00" from a float column → "2134".
fn strip_float_zero(v: &str) -> &str {
    match v.split_once('.') {
        Some((int, frac))
            if !int.is_empty() && !frac.is_empty() && frac.bytes().all(|b| b == b'0') =>
        {
            int
        }
        _ => v,
    }
}

fn us_zip(raw: &str, value: &str, label: &str) -> Result<String, TransformError> {
    let v = strip_float_zero(value);
    let expected = "expected a 5-digit ZIP code or ZIP+4";
    // "2134-1234": the hyphen tells where the ZIP ends even without its zero.
    let (zip_part, plus4) = match v.split_once(['-', ' ']) {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (v, None),
    };
    if !zip_part.bytes().all(|b| b.is_ascii_digit())
        || !plus4.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(TransformError::postcode(
            raw,
            label,
            format!("it contains characters other than digits, {expected}"),
        ));
    }
    let zip: String = match (zip_part.len(), plus4) {
        (3..=5, Some(p)) if p.len() == 4 => format!("{zip_part:0>5}"),
        (_, Some(_)) => {
            return Err(TransformError::postcode(
                raw,
                label,
                format!("the parts around the hyphen have the wrong lengths, {expected}"),
            ))
        }
        (3..=5, None) => format!("{zip_part:0>5}"),
        (7..=9, None) => format!("{zip_part:0>9}")[..5].to_string(),
        (n, None) => {
            return Err(TransformError::postcode(
                raw,
                label,
                format!("it has {n} digits, {expected}"),
            ))
        }
    };
    if zip == "00000" {
        return Err(TransformError::postcode(
            raw,
            label,
            "00000 is a placeholder, not a ZIP code",
        ));
    }
    Ok(zip)
}

/// Upper-case letters and digits only: "sw1a 1aa" → "SW1A1AA".
fn compact_upper(v: &str) -> String {
    v.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn uk(raw: &str, value: &str) -> Result<String, TransformError> {
    let c = compact_upper(value);
    if c == "GIR0AA" {
        return Ok("GIR 0AA".to_string());
    }
    let b = c.as_bytes();
    let alpha = |i: usize| b.get(i).is_some_and(u8::is_ascii_uppercase);
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let n = b.len();
    // Inward code: digit + two letters. Outward: A9, A99, AA9, AA99, A9A, AA9A.
    let inward_ok = (5..=7).contains(&n) && digit(n - 3) && alpha(n - 2) && alpha(n - 1);
    let out_len = n.saturating_sub(3);
    let outward_ok = match out_len {
        2 => alpha(0) && digit(1),
        3 => alpha(0) && ((digit(1) && (digit(2) || alpha(2))) || (alpha(1) && digit(2))),
        4 => alpha(0) && alpha(1) && digit(2) && (digit(3) || alpha(3)),
        _ => false,
    };
    if !(inward_ok && outward_ok) {
        return Err(TransformError::postcode(
            raw,
            "GB",
            "expected a UK postcode such as SW1A 1AA",
        ));
    }
    Ok(format!("{} {}", &c[..out_len], &c[out_len..]))
}

fn canada(raw: &str, value: &str) -> Result<String, TransformError> {
    let c = compact_upper(value);
    let b = c.as_bytes();
    // D, F, I, O, Q, U never appear; W and Z never start a code.
    let letter = |x: u8| x.is_ascii_uppercase() && !b"DFIOQU".contains(&x);
    let ok = b.len() == 6
        && letter(b[0])
        && b[0] != b'W'
        && b[0] != b'Z'
        && b[1].is_ascii_digit()
        && letter(b[2])
        && b[3].is_ascii_digit()
        && letter(b[4])
        && b[5].is_ascii_digit();
    if !ok {
        return Err(TransformError::postcode(
            raw,
            "CA",
            "expected a Canadian postal code such as K1A 0B1",
        ));
    }
    Ok(format!("{} {}", &c[..3], &c[3..]))
}

/// A purely numeric code of `len` digits; one lost leading zero is restored.
fn digits_padded(
    raw: &str,
    value: &str,
    country: &str,
    len: usize,
) -> Result<String, TransformError> {
    let v = strip_float_zero(value);
    let digits: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    let expected = format!("expected {len} digits");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TransformError::postcode(
            raw,
            country,
            format!("it contains characters other than digits, {expected}"),
        ));
    }
    if digits.len() == len {
        Ok(digits)
    } else if digits.len() + 1 == len {
        Ok(format!("0{digits}"))
    } else {
        Err(TransformError::postcode(
            raw,
            country,
            format!("it has {} digits, {expected}", digits.len()),
        ))
    }
}

/// Any other country: letters and digits upper-cased, runs of spaces as one,
/// hyphens kept, other punctuation dropped.
fn other(raw: &str, value: &str, label: &str) -> Result<String, TransformError> {
    let mut out = String::with_capacity(value.len());
    for part in value.split_whitespace() {
        let mut word = String::with_capacity(part.len());
        for seg in part.split('-') {
            let f = fold(seg).replace(' ', "");
            if !f.is_empty() {
                if !word.is_empty() {
                    word.push('-');
                }
                word.push_str(&f);
            }
        }
        if !word.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&word);
        }
    }
    if out.is_empty() {
        return Err(TransformError::postcode(
            raw,
            label,
            "it contains no letters or digits",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str, country: Option<&str>) -> String {
        match standardize_postcode(raw, country) {
            Ok(s) => s,
            Err(e) => panic!("{raw:?} ({country:?}): {e}"),
        }
    }

    fn err(raw: &str, country: Option<&str>) -> String {
        match standardize_postcode(raw, country) {
            Ok(s) => panic!("{raw:?} ({country:?}) was accepted as {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn us_zip_codes() {
        for (raw, want) in [
            ("02134", "02134"),
            (" 02134 ", "02134"),
            ("02134-1234", "02134"),
            ("021341234", "02134"),
            ("02134 1234", "02134"),
            ("2134", "02134"),
            ("501", "00501"),
            ("2134-1234", "02134"),
            ("21341234", "02134"),
            ("5011234", "00501"),
            ("2134.0", "02134"),
            ("90210.00", "90210"),
            ("90210", "90210"),
        ] {
            assert_eq!(ok(raw, Some("US")), want, "{raw}");
        }
        assert_eq!(ok("2134", Some("USA")), "02134");
        assert_eq!(ok("2134", Some("United States")), "02134");
    }

    #[test]
    fn numeric_values_without_country_are_zips() {
        assert_eq!(ok("2134", None), "02134");
        assert_eq!(ok("02134-1234", None), "02134");
        assert_eq!(ok("2134.0", None), "02134");
        assert_eq!(ok("2134", Some("")), "02134");
        // Not ZIP-like: kept as text.
        assert_eq!(ok("sw1a 1aa", None), "SW1A 1AA");
    }

    #[test]
    fn bad_us_zips() {
        assert_eq!(
            err("ABCDE", Some("US")),
            "not a postcode \"ABCDE\" for country US: it contains characters other than digits, expected a 5-digit ZIP code or ZIP+4"
        );
        assert_eq!(
            err("123456", Some("US")),
            "not a postcode \"123456\" for country US: it has 6 digits, expected a 5-digit ZIP code or ZIP+4"
        );
        assert_eq!(
            err("00000", Some("US")),
            "not a postcode \"00000\" for country US: 00000 is a placeholder, not a ZIP code"
        );
        for raw in [
            "12",
            "1234567890",
            "02134-12",
            "0213-",
            "2134.5",
            "",
            "  ",
            "N/A",
        ] {
            assert!(standardize_postcode(raw, Some("US")).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn uk_postcodes() {
        for (raw, want) in [
            ("sw1a1aa", "SW1A 1AA"),
            ("SW1A 1AA", "SW1A 1AA"),
            ("  sw1a   1aa ", "SW1A 1AA"),
            ("M1 1AE", "M1 1AE"),
            ("B33 8TH", "B33 8TH"),
            ("CR2 6XH", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
            ("W1A 0AX", "W1A 0AX"),
            ("EC1A 1BB", "EC1A 1BB"),
            ("gir0aa", "GIR 0AA"),
        ] {
            assert_eq!(ok(raw, Some("GB")), want, "{raw}");
        }
        assert_eq!(ok("sw1a1aa", Some("United Kingdom")), "SW1A 1AA");
        assert_eq!(ok("sw1a1aa", Some("UK")), "SW1A 1AA");
        for raw in [
            "SW1A",
            "12345",
            "SW1A 1A",
            "1W1A 1AA",
            "SW1A 11A",
            "SW1AA 1AA",
        ] {
            assert!(standardize_postcode(raw, Some("GB")).is_err(), "{raw}");
        }
        assert_eq!(
            err("12345", Some("GB")),
            "not a postcode \"12345\" for country GB: expected a UK postcode such as SW1A 1AA"
        );
    }

    #[test]
    fn canadian_postal_codes() {
        assert_eq!(ok("K1A0B1", Some("CA")), "K1A 0B1");
        assert_eq!(ok("k1a 0b1", Some("Canada")), "K1A 0B1");
        assert_eq!(ok("M5V-3L9", Some("CA")), "M5V 3L9");
        for raw in ["K1A0B", "D1A0B1", "W1A0B1", "K1O0B1", "12345", "K1A 0B1 X"] {
            assert!(standardize_postcode(raw, Some("CA")).is_err(), "{raw}");
        }
    }

    #[test]
    fn australian_postcodes() {
        assert_eq!(ok("2000", Some("AU")), "2000");
        assert_eq!(ok("800", Some("AU")), "0800");
        assert_eq!(ok("800.0", Some("Australia")), "0800");
        assert_eq!(
            err("20000", Some("AU")),
            "not a postcode \"20000\" for country AU: it has 5 digits, expected 4 digits"
        );
        assert!(standardize_postcode("20", Some("AU")).is_err());
        assert!(standardize_postcode("NSW", Some("AU")).is_err());
    }

    #[test]
    fn german_and_french_postcodes() {
        assert_eq!(ok("10115", Some("DE")), "10115");
        assert_eq!(ok("1067", Some("Germany")), "01067");
        assert_eq!(ok("D-10115", Some("DE")), "10115");
        assert_eq!(ok("DE-10115", Some("DE")), "10115");
        assert_eq!(ok("75001", Some("FR")), "75001");
        assert_eq!(ok("F-75001", Some("France")), "75001");
        assert_eq!(ok("1000", Some("FR")), "01000");
        for raw in ["123", "123456", "ABCDE", "D-1"] {
            assert!(standardize_postcode(raw, Some("DE")).is_err(), "{raw}");
        }
    }

    #[test]
    fn other_countries_are_folded() {
        assert_eq!(ok("1234 ab", Some("NL")), "1234 AB");
        assert_eq!(ok("00-950", Some("PL")), "00-950");
        assert_eq!(ok("100-0001", Some("Japan")), "100-0001");
        assert_eq!(ok(" 1000 - 001 ", Some("PT")), "1000 001");
        assert_eq!(ok("sw1a 1aa", Some("Narnia")), "SW1A 1AA");
        assert_eq!(
            err("--", Some("NL")),
            "not a postcode \"--\" for country NL: it contains no letters or digits"
        );
        assert_eq!(
            err("", None),
            "not a postcode \"\" for country unknown: it is empty"
        );
    }
}
