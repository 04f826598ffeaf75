//! Dates and timestamps in the formats a source declares.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::error::TransformError;

/// Formats `parse_datetime` always tries after the declared ones.
const BUILTIN_DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
];

/// Parses a date with the first of `formats` (chrono strftime strings, e.g.
/// "%m/%d/%Y") that fits the whole trimmed value.
///
/// - A trailing midnight time is accepted after any format
///   ("1985-03-07 00:00:00", "1985-03-07T00:00:00Z" with "%Y-%m-%d"); any
///   other time of day is not, since the value is then a timestamp.
/// - Two-digit years (`%y`) are put in the century that keeps the date out of
///   the future: "03/07/45" is 1945-03-07.
/// - A format with `%Y` does not match a year written with fewer than three
///   digits ("03/07/85"), so a later `%y` format can take it.
/// - All-zero placeholders ("0000-00-00", "00/00/0000") are errors; real but
///   suspicious dates such as 1900-01-01 are returned for the caller to judge.
pub fn parse_date(raw: &str, formats: &[String]) -> Result<NaiveDate, TransformError> {
    parse_date_at(raw, formats, Utc::now().date_naive())
}

/// [`parse_date`] with an explicit "today" for the two-digit-year pivot.
pub fn parse_date_at(
    raw: &str,
    formats: &[String],
    today: NaiveDate,
) -> Result<NaiveDate, TransformError> {
    let s = raw.trim();
    if !is_placeholder(s) {
        let date_part = strip_midnight(s);
        for fmt in formats {
            if let Some(d) =
                try_date(s, fmt, today).or_else(|| date_part.and_then(|p| try_date(p, fmt, today)))
            {
                return Ok(d);
            }
        }
    }
    Err(date_error(raw, formats.iter().map(String::as_str)))
}

/// Parses a timestamp with the first of `formats` that fits; then RFC 3339,
/// "%Y-%m-%d %H:%M:%S%.f" (also with a 'T'), and a date alone, which means
/// midnight. A declared format without a time part is also tried as a date.
/// Values with a UTC offset ("…+02:00", "…Z") are converted to UTC.
pub fn parse_datetime(raw: &str, formats: &[String]) -> Result<NaiveDateTime, TransformError> {
    parse_datetime_at(raw, formats, Utc::now().date_naive())
}

/// [`parse_datetime`] with an explicit "today" for the two-digit-year pivot.
pub fn parse_datetime_at(
    raw: &str,
    formats: &[String],
    today: NaiveDate,
) -> Result<NaiveDateTime, TransformError> {
    let s = raw.trim();
    if !is_placeholder(s) {
        for fmt in formats {
            if let Some(dt) = try_datetime(s, fmt, today) {
                return Ok(dt);
            }
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Ok(dt.naive_utc());
        }
        for fmt in BUILTIN_DATETIME_FORMATS {
            if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
                return Ok(dt);
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(d.and_time(NaiveTime::MIN));
        }
        // Declared date-only formats, e.g. a "%m/%d/%Y" column holding dates.
        for fmt in formats {
            if let Some(d) = try_date(s, fmt, today) {
                return Ok(d.and_time(NaiveTime::MIN));
            }
        }
    }
    let builtin = ["RFC 3339", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d"];
    Err(date_error(
        raw,
        formats.iter().map(String::as_str).chain(builtin),
    ))
}

/// Whether `d` can be a living or recently living person's birth date:
/// 1875-01-01 up to and including `today`.
pub fn plausible_birth_date(d: NaiveDate, today: NaiveDate) -> bool {
    NaiveDate::from_ymd_opt(1875, 1, 1).is_some_and(|earliest| d >= earliest) && d <= today
}

fn date_error<'a>(raw: &str, formats: impl Iterator<Item = &'a str>) -> TransformError {
    let list = formats.collect::<Vec<_>>().join(", ");
    TransformError::Date {
        value: raw.to_string(),
        formats: if list.is_empty() {
            "(none configured)".to_string()
        } else {
            list
        },
    }
}

/// "0000-00-00", "00/00/0000", "00000000": digits present and all zero.
fn is_placeholder(s: &str) -> bool {
    let mut digits = s.bytes().filter(u8::is_ascii_digit).peekable();
    digits.peek().is_some() && digits.all(|b| b == b'0')
}

fn try_date(s: &str, fmt: &str, today: NaiveDate) -> Option<NaiveDate> {
    let d = NaiveDate::parse_from_str(s, fmt).ok()?;
    fix_year(d, fmt, today)
}

fn try_datetime(s: &str, fmt: &str, today: NaiveDate) -> Option<NaiveDateTime> {
    let dt = NaiveDateTime::parse_from_str(s, fmt).ok()?;
    let d = fix_year(dt.date(), fmt, today)?;
    Some(d.and_time(dt.time()))
}

/// Applies the two-digit-year pivot and refuses a `%Y` match on a short year.
fn fix_year(d: NaiveDate, fmt: &str, today: NaiveDate) -> Option<NaiveDate> {
    if fmt.contains("%y") {
        if d > today {
            return d.with_year(d.year() - 100);
        }
        return Some(d);
    }
    // chrono's %Y takes "85" as the year 85; no source means that.
    if fmt.contains("%Y") && d.year() < 100 {
        return None;
    }
    Some(d)
}

/// The value without a trailing midnight time part: "1985-03-07T00:00:00Z" →
/// "1985-03-07". `None` when there is no such part.
fn strip_midnight(s: &str) -> Option<&str> {
    for (i, c) in s.char_indices() {
        if i > 0 && (c == ' ' || c == 'T' || c == 't') {
            let rest = s[i + 1..].trim();
            if is_midnight(rest) {
                return Some(s[..i].trim_end());
            }
        }
    }
    None
}

/// "00:00", "00:00:00", "00:00:00.000", optionally followed by a zone ("Z",
/// "UTC", "+02:00", "-0500") or by "AM" with the hour written 12.
fn is_midnight(t: &str) -> bool {
    let mut t = t.trim();
    for zone in ["Z", "z", "UTC", "GMT"] {
        if let Some(rest) = t.strip_suffix(zone) {
            t = rest.trim_end();
            break;
        }
    }
    // A numeric offset: the last '+' or '-' followed by digits and ':'.
    if let Some(pos) = t.rfind(['+', '-']) {
        let offset = &t[pos + 1..];
        if !offset.is_empty() && offset.bytes().all(|b| b.is_ascii_digit() || b == b':') {
            t = t[..pos].trim_end();
        }
    }
    let mut am = false;
    for marker in ["AM", "am", "A.M.", "a.m."] {
        if let Some(rest) = t.strip_suffix(marker) {
            t = rest.trim_end();
            am = true;
            break;
        }
    }
    let mut fields = t.split(':');
    let Some(hour) = fields.next() else {
        return false;
    };
    let hour_ok = match hour {
        "0" | "00" => true,
        "12" => am,
        _ => false,
    };
    let mut rest_count = 0;
    for f in fields {
        rest_count += 1;
        // Seconds may carry a fraction: "00.000".
        let ok = !f.is_empty() && f.bytes().all(|b| b == b'0' || b == b'.') && f.starts_with('0');
        if !ok {
            return false;
        }
    }
    hour_ok && (1..=2).contains(&rest_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        match NaiveDate::from_ymd_opt(y, m, d) {
            Some(date) => date,
            None => panic!("bad test date {y}-{m}-{d}"),
        }
    }

    fn today() -> NaiveDate {
        ymd(2026, 5, 1)
    }

    fn pd(raw: &str, list: &[&str]) -> Result<NaiveDate, TransformError> {
        parse_date_at(raw, &fmts(list), today())
    }

    #[test]
    fn declared_formats_in_order() {
        let f = ["%m/%d/%Y", "%Y%m%d", "%d.%m.%Y", "%Y-%m-%d"];
        assert_eq!(pd("03/07/1985", &f), Ok(ymd(1985, 3, 7)));
        assert_eq!(pd("19850307", &f), Ok(ymd(1985, 3, 7)));
        assert_eq!(pd("07.03.1985", &f), Ok(ymd(1985, 3, 7)));
        assert_eq!(pd("1985-03-07", &f), Ok(ymd(1985, 3, 7)));
        assert_eq!(pd("3/7/1985", &f), Ok(ymd(1985, 3, 7)));
        // First matching format wins: 03/07 is March under %m/%d.
        assert_eq!(
            pd("03/07/1985", &["%d/%m/%Y", "%m/%d/%Y"]),
            Ok(ymd(1985, 7, 3))
        );
    }

    #[test]
    fn input_is_trimmed() {
        assert_eq!(pd("  1985-03-07\t", &["%Y-%m-%d"]), Ok(ymd(1985, 3, 7)));
    }

    #[test]
    fn month_names() {
        assert_eq!(pd("07-MAR-1985", &["%d-%b-%Y"]), Ok(ymd(1985, 3, 7)));
        assert_eq!(pd("March 7, 1985", &["%B %d, %Y"]), Ok(ymd(1985, 3, 7)));
    }

    #[test]
    fn trailing_midnight_is_accepted() {
        let f = ["%Y-%m-%d"];
        for raw in [
            "1985-03-07 00:00:00",
            "1985-03-07T00:00:00Z",
            "1985-03-07T00:00:00",
            "1985-03-07 00:00",
            "1985-03-07 00:00:00.000",
            "1985-03-07T00:00:00.0000000",
            "1985-03-07T00:00:00+02:00",
            "1985-03-07T00:00:00-0500",
            "1985-03-07 00:00:00 UTC",
            "1985-03-07 12:00:00 AM",
            "1985-03-07 0:00",
        ] {
            assert_eq!(pd(raw, &f), Ok(ymd(1985, 3, 7)), "{raw}");
        }
        assert_eq!(
            pd("03/07/1985 00:00:00", &["%m/%d/%Y"]),
            Ok(ymd(1985, 3, 7))
        );
        assert_eq!(pd("07 Mar 1985 00:00", &["%d %b %Y"]), Ok(ymd(1985, 3, 7)));
    }

    #[test]
    fn other_times_of_day_are_rejected() {
        let f = ["%Y-%m-%d"];
        for raw in [
            "1985-03-07 13:45:00",
            "1985-03-07T00:00:01",
            "1985-03-07 12:00:00 PM",
            "1985-03-07 12:00:00",
            "1985-03-07 garbage",
        ] {
            assert!(pd(raw, &f).is_err(), "{raw}");
        }
    }

    #[test]
    fn two_digit_years_pivot_out_of_the_future() {
        assert_eq!(pd("03/07/45", &["%m/%d/%y"]), Ok(ymd(1945, 3, 7)));
        assert_eq!(pd("03/07/85", &["%m/%d/%y"]), Ok(ymd(1985, 3, 7)));
        assert_eq!(pd("03/07/05", &["%m/%d/%y"]), Ok(ymd(2005, 3, 7)));
        assert_eq!(pd("04/30/26", &["%m/%d/%y"]), Ok(ymd(2026, 4, 30)));
        assert_eq!(pd("05/02/26", &["%m/%d/%y"]), Ok(ymd(1926, 5, 2)));
        assert_eq!(pd("02/29/68", &["%m/%d/%y"]), Ok(ymd(1968, 2, 29)));
    }

    #[test]
    fn long_year_format_does_not_take_a_short_year() {
        assert!(pd("03/07/85", &["%m/%d/%Y"]).is_err());
        assert_eq!(
            pd("03/07/85", &["%m/%d/%Y", "%m/%d/%y"]),
            Ok(ymd(1985, 3, 7))
        );
    }

    #[test]
    fn placeholders_and_impossible_dates_are_errors() {
        let f = ["%Y-%m-%d", "%m/%d/%Y", "%Y%m%d"];
        for raw in [
            "0000-00-00",
            "00/00/0000",
            "00000000",
            "0000-00-00 00:00:00",
            "1985-02-30",
            "1985-13-01",
            "",
            "   ",
            "N/A",
            "unknown",
        ] {
            assert!(
                matches!(pd(raw, &f), Err(TransformError::Date { .. })),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn suspicious_but_real_dates_are_returned() {
        assert_eq!(pd("1900-01-01", &["%Y-%m-%d"]), Ok(ymd(1900, 1, 1)));
        assert_eq!(pd("2099-12-31", &["%Y-%m-%d"]), Ok(ymd(2099, 12, 31)));
    }

    #[test]
    fn error_lists_the_formats() {
        let err = pd("31/31/1985", &["%d/%m/%Y", "%Y-%m-%d"]);
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err(
                "unparsable date \"31/31/1985\": expected one of the formats %d/%m/%Y, %Y-%m-%d"
                    .to_string()
            )
        );
        let err = pd("1985-03-07", &[]);
        assert_eq!(
            err,
            Err(TransformError::Date {
                value: "1985-03-07".into(),
                formats: "(none configured)".into()
            })
        );
    }

    #[test]
    fn public_parse_date_uses_the_real_today() {
        assert_eq!(
            parse_date("1985-03-07", &fmts(&["%Y-%m-%d"])),
            Ok(ymd(1985, 3, 7))
        );
        // Whatever today is, a %y date never lands in the future.
        let d = parse_date("12/31/99", &fmts(&["%m/%d/%y"]));
        assert_eq!(d, Ok(ymd(1999, 12, 31)));
    }

    fn pdt(raw: &str, list: &[&str]) -> Result<NaiveDateTime, TransformError> {
        parse_datetime_at(raw, &fmts(list), today())
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        ymd(y, mo, d).and_time(match NaiveTime::from_hms_opt(h, mi, s) {
            Some(t) => t,
            None => panic!("bad test time"),
        })
    }

    #[test]
    fn datetime_with_declared_formats() {
        assert_eq!(
            pdt("03/07/1985 14:05", &["%m/%d/%Y %H:%M"]),
            Ok(at(1985, 3, 7, 14, 5, 0))
        );
        assert_eq!(
            pdt("07.03.85 14:05:09", &["%d.%m.%y %H:%M:%S"]),
            Ok(at(1985, 3, 7, 14, 5, 9))
        );
        // A date-only declared format still gives a timestamp at midnight.
        assert_eq!(
            pdt("03/07/1985", &["%m/%d/%Y"]),
            Ok(at(1985, 3, 7, 0, 0, 0))
        );
    }

    #[test]
    fn datetime_builtin_formats() {
        assert_eq!(
            pdt("2024-02-29T23:59:59Z", &[]),
            Ok(at(2024, 2, 29, 23, 59, 59))
        );
        assert_eq!(
            pdt("2024-03-01T01:30:00+02:00", &[]),
            Ok(at(2024, 2, 29, 23, 30, 0))
        );
        assert_eq!(
            pdt("2024-03-01 01:30:00.123456", &[]).map(|d| d.and_utc().timestamp_subsec_micros()),
            Ok(123_456)
        );
        assert_eq!(
            pdt("2024-03-01 01:30:00", &[]),
            Ok(at(2024, 3, 1, 1, 30, 0))
        );
        assert_eq!(
            pdt("2024-03-01T01:30:00", &[]),
            Ok(at(2024, 3, 1, 1, 30, 0))
        );
        assert_eq!(pdt("2024-03-01", &[]), Ok(at(2024, 3, 1, 0, 0, 0)));
        assert_eq!(pdt(" 2024-03-01 ", &[]), Ok(at(2024, 3, 1, 0, 0, 0)));
    }

    #[test]
    fn datetime_errors() {
        for raw in [
            "",
            "yesterday",
            "2024-13-01 00:00:00",
            "0000-00-00 00:00:00",
        ] {
            assert!(pdt(raw, &["%m/%d/%Y %H:%M"]).is_err(), "{raw:?}");
        }
        let msg = pdt("nope", &["%m/%d/%Y %H:%M"]).map_err(|e| e.to_string());
        assert_eq!(
            msg,
            Err("unparsable date \"nope\": expected one of the formats %m/%d/%Y %H:%M, RFC 3339, %Y-%m-%d %H:%M:%S%.f, %Y-%m-%d".to_string())
        );
        assert!(parse_datetime("2024-03-01", &[]).is_ok());
    }

    #[test]
    fn birth_date_plausibility() {
        let t = today();
        assert!(plausible_birth_date(ymd(1985, 3, 7), t));
        assert!(plausible_birth_date(ymd(1875, 1, 1), t));
        assert!(plausible_birth_date(t, t));
        assert!(!plausible_birth_date(ymd(1874, 12, 31), t));
        assert!(!plausible_birth_date(ymd(2026, 5, 2), t));
        assert!(!plausible_birth_date(ymd(1, 1, 1), t));
    }

    #[test]
    fn midnight_detection() {
        assert!(is_midnight("00:00"));
        assert!(is_midnight("00:00:00.000Z"));
        assert!(is_midnight("12:00 AM"));
        assert!(!is_midnight("00"));
        assert!(!is_midnight("00:00:00:00"));
        assert!(!is_midnight("01:00"));
        assert!(!is_midnight(""));
        assert!(!is_midnight("12:00"));
    }
}
