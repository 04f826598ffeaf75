//! E-mail addresses: a lower-case, checked form for matching.

use super::error::TransformError;

/// Characters RFC 5322 allows unquoted in a local part besides letters,
/// digits and dots.
const LOCAL_SPECIALS: &[u8] = b"!#$%&'*+/=?^_`{|}~-";

/// Normalises an e-mail address: trims spaces, a `mailto:` prefix and angle
/// brackets (also "John Smith <john@x.com>"), lower-cases, and checks the
/// shape: one @, a local part of 1-64 bytes, a domain of two or more labels of
/// letters, digits and inner hyphens with an alphabetic top-level label of two
/// or more letters, no empty labels or doubled dots. Internationalised
/// domains and local parts (non-ASCII letters) are accepted.
///
/// With `gmail_rule`, addresses at gmail.com or googlemail.com lose the dots
/// and any "+tag" of the local part and the domain becomes gmail.com, since
/// Gmail delivers all those spellings to one mailbox.
pub fn normalize_email(raw: &str, gmail_rule: bool) -> Result<String, TransformError> {
    let s = unwrap_address(raw);
    if s.is_empty() {
        return Err(TransformError::email(raw, "it is empty"));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(TransformError::email(
            raw,
            "it contains whitespace, expected a single address such as name@example.com",
        ));
    }
    let lower = if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    };
    let Some((local, domain)) = lower.split_once('@') else {
        return Err(TransformError::email(
            raw,
            "it has no @, expected name@example.com",
        ));
    };
    if domain.contains('@') {
        return Err(TransformError::email(raw, "it has more than one @"));
    }
    check_local(raw, local)?;
    // A trailing dot is the DNS root; "example.com." is example.com.
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    check_domain(raw, domain)?;

    if gmail_rule && (domain == "gmail.com" || domain == "googlemail.com") {
        let base = local.split('+').next().unwrap_or_default();
        let mut out = String::with_capacity(base.len() + 10);
        out.extend(base.chars().filter(|&c| c != '.'));
        if out.is_empty() {
            return Err(TransformError::email(
                raw,
                "the Gmail local part is empty once dots and the +tag are removed",
            ));
        }
        out.push_str("@gmail.com");
        return Ok(out);
    }
    let mut out = String::with_capacity(local.len() + domain.len() + 1);
    out.push_str(local);
    out.push('@');
    out.push_str(domain);
    Ok(out)
}

/// Strips spaces, quotes, "mailto:", a display name and angle brackets.
fn unwrap_address(raw: &str) -> &str {
    let mut s = raw.trim().trim_matches(['"', '\'']).trim();
    // "John Smith <john@x.com>" and "<john@x.com>".
    if s.ends_with('>') {
        if let Some(open) = s.rfind('<') {
            s = s[open + 1..s.len() - 1].trim();
        }
    }
    if s.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"))
    {
        s = s[7..].trim();
    }
    // "mailto:" inside the brackets, or brackets inside "mailto:".
    if let Some(inner) = s.strip_prefix('<').and_then(|x| x.strip_suffix('>')) {
        s = inner.trim();
    }
    s
}

fn check_local(raw: &str, local: &str) -> Result<(), TransformError> {
    if local.is_empty() {
        return Err(TransformError::email(raw, "the part before the @ is empty"));
    }
    if local.len() > 64 {
        return Err(TransformError::email(
            raw,
            format!(
                "the part before the @ is {} bytes long, at most 64 are allowed",
                local.len()
            ),
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(TransformError::email(
            raw,
            "the part before the @ starts or ends with a dot or has two dots in a row",
        ));
    }
    if let Some(bad) = local.chars().find(|&c| {
        !(c.is_alphanumeric() || c == '.' || (c.is_ascii() && LOCAL_SPECIALS.contains(&(c as u8))))
    }) {
        return Err(TransformError::email(
            raw,
            format!("the part before the @ contains {bad:?}, which is not allowed unquoted"),
        ));
    }
    Ok(())
}

fn check_domain(raw: &str, domain: &str) -> Result<(), TransformError> {
    if domain.is_empty() {
        return Err(TransformError::email(
            raw,
            "the domain after the @ is empty",
        ));
    }
    if domain.len() > 253 {
        return Err(TransformError::email(
            raw,
            "the domain is longer than 253 characters",
        ));
    }
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        labels += 1;
        if label.is_empty() {
            return Err(TransformError::email(
                raw,
                "the domain starts or ends with a dot or has two dots in a row",
            ));
        }
        if label.len() > 63 {
            return Err(TransformError::email(
                raw,
                format!("the domain label {label:?} is longer than 63 characters"),
            ));
        }
        if let Some(bad) = label.chars().find(|&c| !(c.is_alphanumeric() || c == '-')) {
            return Err(TransformError::email(
                raw,
                format!("the domain contains {bad:?}, expected letters, digits, hyphens and dots"),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(TransformError::email(
                raw,
                format!("the domain label {label:?} starts or ends with a hyphen"),
            ));
        }
        last = label;
    }
    if labels < 2 {
        return Err(TransformError::email(
            raw,
            "the domain has no dot, expected a domain such as example.com",
        ));
    }
    // Punycode top-level domains ("xn--p1ai") are the ASCII form of
    // alphabetic ones.
    let tld_ok = (last.chars().count() >= 2 && last.chars().all(char::is_alphabetic))
        || (last.starts_with("xn--") && last.len() > 4);
    if !tld_ok {
        return Err(TransformError::email(
            raw,
            format!("the top-level domain {last:?} is not two or more letters"),
        ));
    }
    Ok(())
}

/// The part of an address before its last @ (the whole string without one).
pub fn email_local_part(e: &str) -> &str {
    match e.rfind('@') {
        Some(at) => &e[..at],
        None => e,
    }
}

/// The part of an address after its last @ (empty without one).
pub fn email_domain(e: &str) -> &str {
    match e.rfind('@') {
        Some(at) => &e[at + 1..],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        match normalize_email(raw, false) {
            Ok(s) => s,
            Err(e) => panic!("{raw:?}: {e}"),
        }
    }

    fn gmail(raw: &str) -> String {
        match normalize_email(raw, true) {
            Ok(s) => s,
            Err(e) => panic!("{raw:?}: {e}"),
        }
    }

    fn reason(raw: &str) -> String {
        match normalize_email(raw, false) {
            Ok(s) => panic!("{raw:?} was accepted as {s:?}"),
            Err(TransformError::Email { reason, .. }) => reason,
            Err(e) => panic!("{raw:?}: wrong error {e:?}"),
        }
    }

    #[test]
    fn trims_unwraps_and_lower_cases() {
        assert_eq!(ok("  John.Smith@Example.COM "), "john.smith@example.com");
        assert_eq!(ok("<john@example.com>"), "john@example.com");
        assert_eq!(ok("mailto:John@Example.com"), "john@example.com");
        assert_eq!(ok("MAILTO:john@example.com"), "john@example.com");
        assert_eq!(ok("John Smith <John@Example.com>"), "john@example.com");
        assert_eq!(ok("\"john@example.com\""), "john@example.com");
        assert_eq!(ok("<mailto:john@example.com>"), "john@example.com");
        assert_eq!(ok("john@example.com."), "john@example.com");
    }

    #[test]
    fn accepts_ordinary_variety() {
        for raw in [
            "o'brien@example.ie",
            "first+tag@example.co.uk",
            "a_b-c@sub-domain.example.org",
            "x@example.museum",
            "1234@123example.com",
            "user%relay@example.com",
        ] {
            assert_eq!(ok(raw), raw.to_lowercase(), "{raw}");
        }
    }

    #[test]
    fn accepts_internationalised_addresses() {
        assert_eq!(ok("José@Bücher.DE"), "josé@bücher.de");
        assert_eq!(ok("иван@пример.рф"), "иван@пример.рф");
        assert_eq!(
            ok("user@xn--e1afmkfd.xn--p1ai"),
            "user@xn--e1afmkfd.xn--p1ai"
        );
    }

    #[test]
    fn whitespace_inside_is_rejected() {
        assert_eq!(
            reason("john smith@x.com"),
            "it contains whitespace, expected a single address such as name@example.com"
        );
        assert!(normalize_email("john@exa mple.com", false).is_err());
    }

    #[test]
    fn at_sign_count() {
        assert_eq!(
            reason("john.example.com"),
            "it has no @, expected name@example.com"
        );
        assert_eq!(reason("john@@example.com"), "it has more than one @");
        assert_eq!(reason("a@b@example.com"), "it has more than one @");
    }

    #[test]
    fn local_part_rules() {
        assert_eq!(reason("@example.com"), "the part before the @ is empty");
        let long = format!("{}@example.com", "a".repeat(65));
        assert_eq!(
            reason(&long),
            "the part before the @ is 65 bytes long, at most 64 are allowed"
        );
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(64)), false).is_ok());
        for raw in [
            ".john@example.com",
            "john.@example.com",
            "jo..hn@example.com",
        ] {
            assert_eq!(
                reason(raw),
                "the part before the @ starts or ends with a dot or has two dots in a row",
                "{raw}"
            );
        }
        assert_eq!(
            reason("jo,hn@example.com"),
            "the part before the @ contains ',', which is not allowed unquoted"
        );
        assert!(normalize_email("jo(hn)@example.com", false).is_err());
    }

    #[test]
    fn domain_rules() {
        assert_eq!(reason("john@"), "the domain after the @ is empty");
        assert_eq!(
            reason("john@localhost"),
            "the domain has no dot, expected a domain such as example.com"
        );
        assert_eq!(
            reason("john@example..com"),
            "the domain starts or ends with a dot or has two dots in a row"
        );
        assert_eq!(
            reason("john@.example.com"),
            "the domain starts or ends with a dot or has two dots in a row"
        );
        assert_eq!(
            reason("john@-example.com"),
            "the domain label \"-example\" starts or ends with a hyphen"
        );
        assert_eq!(
            reason("john@example-.com"),
            "the domain label \"example-\" starts or ends with a hyphen"
        );
        assert_eq!(
            reason("john@exam_ple.com"),
            "the domain contains '_', expected letters, digits, hyphens and dots"
        );
        assert_eq!(
            reason("john@example.c"),
            "the top-level domain \"c\" is not two or more letters"
        );
        assert_eq!(
            reason("john@example.c0m"),
            "the top-level domain \"c0m\" is not two or more letters"
        );
        assert!(normalize_email("john@[192.168.0.1]", false).is_err());
        assert!(normalize_email("john@1.2.3.4", false).is_err());
        let long_label = format!("john@{}.com", "a".repeat(64));
        assert!(normalize_email(&long_label, false).is_err());
    }

    #[test]
    fn empty_and_placeholder_values() {
        assert_eq!(reason(""), "it is empty");
        assert_eq!(reason("   "), "it is empty");
        assert_eq!(reason("<>"), "it is empty");
        assert!(normalize_email("N/A", false).is_err());
        assert!(normalize_email("none", false).is_err());
    }

    #[test]
    fn gmail_rule() {
        assert_eq!(gmail("John.Smith+news@Gmail.com"), "johnsmith@gmail.com");
        assert_eq!(gmail("j.o.h.n@googlemail.com"), "john@gmail.com");
        assert_eq!(gmail("john+a+b@gmail.com"), "john@gmail.com");
        assert_eq!(gmail("johnsmith@gmail.com"), "johnsmith@gmail.com");
        // Other domains keep dots and tags.
        assert_eq!(
            gmail("John.Smith+news@example.com"),
            "john.smith+news@example.com"
        );
        assert_eq!(gmail("john.smith@gmail.co.uk"), "john.smith@gmail.co.uk");
        // Without the rule Gmail is like any domain.
        assert_eq!(
            ok("John.Smith+news@googlemail.com"),
            "john.smith+news@googlemail.com"
        );
        assert!(normalize_email("+tag@gmail.com", true).is_err());
        assert!(normalize_email("+tag@gmail.com", false).is_ok());
    }

    #[test]
    fn error_message_includes_the_value() {
        assert_eq!(
            normalize_email("john@localhost", false).map_err(|e| e.to_string()),
            Err("not an e-mail address \"john@localhost\": the domain has no dot, expected a domain such as example.com".to_string())
        );
    }

    #[test]
    fn local_part_and_domain_accessors() {
        assert_eq!(email_local_part("john@example.com"), "john");
        assert_eq!(email_domain("john@example.com"), "example.com");
        assert_eq!(email_local_part("noat"), "noat");
        assert_eq!(email_domain("noat"), "");
        assert_eq!(email_local_part("@x.com"), "");
        assert_eq!(email_domain("a@"), "");
        assert_eq!(email_domain("josé@bücher.de"), "bücher.de");
    }
}
