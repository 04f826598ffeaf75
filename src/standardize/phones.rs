//! Phone numbers to E.164 ("+16175550134").
//!
//! North American numbers, the bulk of the data, are checked by hand without
//! the `phonenumber` crate; everything else goes through it.

use phonenumber::{country, Mode};

use super::error::TransformError;

/// Regions of the North American Numbering Plan: their national numbers are
/// ten digits behind country code 1.
static NANP_REGIONS: &[&str] = &[
    "AG", "AI", "AS", "BB", "BM", "BS", "CA", "DM", "DO", "GD", "GU", "JM", "KN", "KY", "LC", "MP",
    "MS", "PR", "SX", "TC", "TT", "US", "VC", "VG", "VI",
];

fn is_nanp_region(region: &str) -> bool {
    NANP_REGIONS.binary_search(&region).is_ok()
}

/// Normalises a phone number to E.164.
///
/// Extensions ("x123", "ext. 123", "#123", ",,123") are dropped. A leading
/// "+", "00" or (from a North American region) "011" marks an international
/// number. North American numbers (region US, CA or another NANP region, or a
/// "+1"/"1" prefix) must have 10 digits, or 11 starting with 1, with area
/// code and exchange starting 2-9; ten identical digits are rejected. Other
/// numbers are parsed for `default_region` (ISO 3166 alpha-2, e.g. "GB") and
/// must be valid numbers there.
pub fn to_e164(raw: &str, default_region: &str) -> Result<String, TransformError> {
    let region = default_region.trim().to_ascii_uppercase();
    let main = strip_extension(raw)?;
    let (plus, digits) = digits_of(raw, main)?;

    let nanp_region = is_nanp_region(&region);
    // International numbers: "+…", "00…" (no national number starts with
    // two zeros, so this is safe in any region) and "011…" dialled from NANP
    // ("011" starts ordinary numbers elsewhere, e.g. Leeds 0113).
    let international: Option<&str> = if plus {
        Some(&digits)
    } else if let Some(rest) = digits.strip_prefix("011").filter(|_| nanp_region) {
        Some(rest)
    } else {
        digits.strip_prefix("00")
    };

    match international {
        Some(intl) => {
            if let Some(national) = intl.strip_prefix('1') {
                return nanp(raw, national);
            }
            let mut number = String::with_capacity(intl.len() + 1);
            number.push('+');
            number.push_str(intl);
            // No region here: given one, the library strips that region's
            // national prefix from the front of a foreign number (with US,
            // the 1 of "+33 1 42 68 53 00").
            via_library(raw, &number, None)
        }
        None if nanp_region => match digits.len() {
            10 => nanp(raw, &digits),
            11 if digits.starts_with('1') => nanp(raw, &digits[1..]),
            n => Err(TransformError::phone(
                raw,
                format!(
                    "it has {n} digits, expected 10 (area code and number) or 11 starting with 1"
                ),
            )),
        },
        None => {
            let Some(id) = parse_region(&region) else {
                if digits.len() == 11 && digits.starts_with('1') {
                    return nanp(raw, &digits[1..]);
                }
                return Err(TransformError::phone(
                    raw,
                    format!(
                        "it has no country code and the default region {default_region:?} is not a known ISO country code"
                    ),
                ));
            };
            let result = via_library(raw, &digits, Some(id));
            // "1 617 555 0134" in a non-NANP region's data is still most
            // likely North American when the region does not know it.
            if result.is_err() && digits.len() == 11 && digits.starts_with('1') {
                if let Ok(n) = nanp(raw, &digits[1..]) {
                    return Ok(n);
                }
            }
            result
        }
    }
}

fn parse_region(region: &str) -> Option<country::Id> {
    if region.len() != 2 {
        return None;
    }
    region.parse().ok()
}

/// The part of `raw` before any extension marker. Letters other than an
/// extension marker (or a leading "tel:") make the value an error.
fn strip_extension(raw: &str) -> Result<&str, TransformError> {
    let s = raw.trim();
    let s = match s.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("tel:") => &s[4..],
        _ => s,
    };
    let mut seen_digit = false;
    for (i, c) in s.char_indices() {
        if c.is_numeric() {
            seen_digit = true;
            continue;
        }
        if !seen_digit {
            if c.is_alphabetic() {
                return Err(TransformError::phone(
                    raw,
                    "it contains letters, expected digits",
                ));
            }
            continue;
        }
        if matches!(c, '#' | ',' | ';') {
            return Ok(&s[..i]);
        }
        if c.is_alphabetic() {
            let word: String = s[i..]
                .chars()
                .take_while(|c| c.is_alphabetic() || *c == '.')
                .filter(|c| *c != '.')
                .flat_map(char::to_lowercase)
                .collect();
            if matches!(
                word.as_str(),
                "x" | "ex" | "ext" | "extn" | "extension" | "e" | "xt"
            ) {
                return Ok(&s[..i]);
            }
            return Err(TransformError::phone(
                raw,
                "it contains letters, expected digits",
            ));
        }
    }
    Ok(s)
}

/// The value of a decimal digit in the ASCII, full-width, Arabic-Indic,
/// Eastern Arabic-Indic or Devanagari block.
fn digit_value(c: char) -> Option<u32> {
    const ZEROS: [u32; 5] = [0x30, 0xFF10, 0x0660, 0x06F0, 0x0966];
    let code = u32::from(c);
    ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&code))
        .map(|zero| code - zero)
}

/// (whether there is a leading plus, the digits).
fn digits_of(raw: &str, main: &str) -> Result<(bool, String), TransformError> {
    let trimmed = main.trim_start();
    let plus = trimmed.starts_with('+') || trimmed.starts_with('\u{FF0B}');
    // "+44 (0)20 …": the bracketed trunk 0 is not dialled from abroad.
    let source = if plus && main.contains("(0)") {
        std::borrow::Cow::Owned(main.replacen("(0)", "", 1))
    } else {
        std::borrow::Cow::Borrowed(main)
    };
    let mut digits = String::with_capacity(source.len());
    for c in source.chars() {
        if let Some(d) = digit_value(c) {
            if let Some(ch) = char::from_digit(d, 10) {
                digits.push(ch);
            }
        } else if c.is_alphabetic() {
            return Err(TransformError::phone(
                raw,
                "it contains letters, expected digits",
            ));
        }
    }
    if digits.is_empty() {
        return Err(TransformError::phone(raw, "it contains no digits"));
    }
    if main.matches(['+', '\u{FF0B}']).count() > 1 {
        return Err(TransformError::phone(raw, "it has more than one '+'"));
    }
    Ok((plus, digits))
}

/// Checks a ten-digit North American number and formats it.
fn nanp(raw: &str, national: &str) -> Result<String, TransformError> {
    let b = national.as_bytes();
    if b.len() != 10 {
        return Err(TransformError::phone(
            raw,
            format!(
                "a North American number has 10 digits after the country code 1, this has {}",
                b.len()
            ),
        ));
    }
    if !(b'2'..=b'9').contains(&b[0]) {
        return Err(TransformError::phone(
            raw,
            "the area code starts with 0 or 1, expected 2-9",
        ));
    }
    if b[1] == b'1' && b[2] == b'1' {
        return Err(TransformError::phone(
            raw,
            "the area code is a service code (N11), not an area code",
        ));
    }
    if !(b'2'..=b'9').contains(&b[3]) {
        return Err(TransformError::phone(
            raw,
            "the exchange starts with 0 or 1, expected 2-9",
        ));
    }
    if b.iter().all(|&d| d == b[0]) {
        return Err(TransformError::phone(
            raw,
            "it is ten identical digits, a placeholder",
        ));
    }
    let mut out = String::with_capacity(12);
    out.push_str("+1");
    out.push_str(national);
    Ok(out)
}

/// Parses with the `phonenumber` crate and formats a valid number as E.164.
/// `region` is for national numbers only.
fn via_library(
    raw: &str,
    number: &str,
    region: Option<country::Id>,
) -> Result<String, TransformError> {
    let parsed = phonenumber::parse(region, number).map_err(|e| {
        TransformError::phone(raw, format!("it could not be read as a phone number ({e})"))
    })?;
    if !phonenumber::is_valid(&parsed) {
        let country = match (parsed.country().id(), region) {
            (Some(id), _) | (None, Some(id)) => id.as_ref().to_string(),
            (None, None) => format!("country code +{}", parsed.code().value()),
        };
        return Err(TransformError::phone(
            raw,
            format!("it is not a valid number for {country}"),
        ));
    }
    Ok(parsed.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str, region: &str) -> String {
        match to_e164(raw, region) {
            Ok(s) => s,
            Err(e) => panic!("{raw:?} ({region}): {e}"),
        }
    }

    #[test]
    fn nanp_region_list_is_sorted() {
        assert!(NANP_REGIONS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn north_american_formats() {
        for raw in [
            "(617) 555-0134",
            "617.555.0134",
            "617-555-0134",
            "6175550134",
            "+1 617 555 0134",
            "+1-617-555-0134",
            "1-617-555-0134",
            "1 (617) 555-0134",
            "16175550134",
            "+16175550134",
            " 617 555 0134 ",
            "617/555-0134",
            "tel:+1-617-555-0134",
            "011 1 617 555 0134",
        ] {
            assert_eq!(ok(raw, "US"), "+16175550134", "{raw}");
        }
        assert_eq!(ok("(416) 555-0199", "CA"), "+14165550199");
        assert_eq!(ok("(416) 555-0199", "ca"), "+14165550199");
    }

    #[test]
    fn extensions_are_dropped() {
        for raw in [
            "6175550134 x12",
            "617-555-0134x12",
            "617-555-0134 ext. 123",
            "617-555-0134 Ext 123",
            "617-555-0134 extension 9",
            "617-555-0134 #123",
            "617-555-0134,,123",
            "(617) 555-0134 X 4",
            "+1 617 555 0134;ext=55",
        ] {
            assert_eq!(ok(raw, "US"), "+16175550134", "{raw}");
        }
    }

    #[test]
    fn plus_one_numbers_use_the_fast_path_from_any_region() {
        assert_eq!(ok("+1 617 555 0134", "GB"), "+16175550134");
        assert_eq!(ok("+1 617 555 0134", ""), "+16175550134");
        assert_eq!(ok("0016175550134", "DE"), "+16175550134");
        // An 11-digit number starting with 1 that is not valid for GB.
        assert_eq!(ok("1 617 555 0134", "GB"), "+16175550134");
        assert_eq!(ok("1 617 555 0134", "XX"), "+16175550134");
    }

    #[test]
    fn nanp_rules_are_enforced() {
        for (raw, why) in [
            ("555-0134", "7 digits"),
            ("(017) 555-0134", "area code starting 0"),
            ("(117) 555-0134", "area code starting 1"),
            ("(911) 555-0134", "service code area"),
            ("(617) 055-0134", "exchange starting 0"),
            ("(617) 155-0134", "exchange starting 1"),
            ("0000000000", "zeros"),
            ("5555555555", "identical digits"),
            ("2222222222", "identical digits"),
            ("617555013", "9 digits"),
            ("26175550134", "11 digits not starting 1"),
            ("617555013456", "12 digits"),
            ("+1 617 555 013", "short after +1"),
        ] {
            assert!(
                matches!(to_e164(raw, "US"), Err(TransformError::Phone { .. })),
                "{raw}: {why}"
            );
        }
    }

    #[test]
    fn nanp_error_messages_say_what_was_expected() {
        assert_eq!(
            to_e164("555-0134", "US").map_err(|e| e.to_string()),
            Err("not a phone number \"555-0134\": it has 7 digits, expected 10 (area code and number) or 11 starting with 1".to_string())
        );
        assert_eq!(
            to_e164("(617) 055-0134", "US").map_err(|e| e.to_string()),
            Err("not a phone number \"(617) 055-0134\": the exchange starts with 0 or 1, expected 2-9".to_string())
        );
    }

    #[test]
    fn international_numbers() {
        assert_eq!(ok("+44 20 7946 0958", "US"), "+442079460958");
        assert_eq!(ok("+44 (0)20 7946 0958", "US"), "+442079460958");
        assert_eq!(ok("+44 (0) 20 7946 0958", "GB"), "+442079460958");
        assert_eq!(ok("0049 30 123456", "DE"), "+4930123456");
        assert_eq!(ok("0049 30 123456", "GB"), "+4930123456");
        assert_eq!(ok("011 44 20 7946 0958", "US"), "+442079460958");
        assert_eq!(ok("0044 20 7946 0958", "US"), "+442079460958");
        // 011 is a Sheffield area code in the UK, not an exit code.
        assert_eq!(ok("0114 496 0000", "GB"), "+441144960000");
        assert_eq!(ok("+33 1 42 68 53 00", "US"), "+33142685300");
        assert_eq!(ok("+39 06 6982 0000", ""), "+390669820000");
    }

    #[test]
    fn national_numbers_with_a_region() {
        assert_eq!(ok("020 7946 0958", "GB"), "+442079460958");
        assert_eq!(ok("020-7946-0958", "gb"), "+442079460958");
        assert_eq!(ok("07911 123456", "GB"), "+447911123456");
        assert_eq!(ok("030 123456", "DE"), "+4930123456");
        assert_eq!(ok("01 42 68 53 00", "FR"), "+33142685300");
        assert_eq!(ok("0412 345 678", "AU"), "+61412345678");
        assert_eq!(ok("13812345678", "CN"), "+8613812345678");
    }

    #[test]
    fn numbers_the_library_calls_invalid_are_errors() {
        // Ofcom's range for drama (07700 900xxx) is never assigned.
        let err = to_e164("07700 900123", "GB");
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("not a phone number \"07700 900123\": it is not a valid number for GB".to_string())
        );
        assert!(to_e164("020 7946", "GB").is_err());
        assert!(to_e164("+44 12", "US").is_err());
        assert!(to_e164("+999 123456789", "US").is_err());
    }

    #[test]
    fn junk_is_an_error() {
        for raw in [
            "",
            "   ",
            "N/A",
            "n/a",
            "none",
            "---",
            "call me",
            "617-CALL-NOW",
            "+",
        ] {
            assert!(
                matches!(to_e164(raw, "US"), Err(TransformError::Phone { .. })),
                "{raw:?}"
            );
        }
        assert_eq!(
            to_e164("N/A", "US").map_err(|e| e.to_string()),
            Err("not a phone number \"N/A\": it contains letters, expected digits".to_string())
        );
        assert_eq!(
            to_e164("--", "US").map_err(|e| e.to_string()),
            Err("not a phone number \"--\": it contains no digits".to_string())
        );
        assert!(to_e164("+1 617 +555 0134", "US").is_err());
    }

    #[test]
    fn unknown_region_for_a_national_number_is_an_error() {
        let err = to_e164("020 7946 0958", "ZZ").map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err("not a phone number \"020 7946 0958\": it has no country code and the default region \"ZZ\" is not a known ISO country code".to_string())
        );
        assert!(to_e164("020 7946 0958", "").is_err());
    }

    #[test]
    fn full_width_and_arabic_indic_digits() {
        assert_eq!(ok("６１７５５５０１３４", "US"), "+16175550134");
        assert_eq!(ok("٦١٧٥٥٥٠١٣٤", "US"), "+16175550134");
    }
}
