//! `${VAR}` and `${VAR:-default}` in configuration values, so that secrets live in the environment.

/// Expands `${VAR}` and `${VAR:-default}`; `$$` is a literal `$`.
/// `lookup` is the environment (a parameter so that tests need not touch the process environment).
pub fn interpolate(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
            continue;
        }
        let Some(body_and_rest) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(close) = body_and_rest.find('}') else {
            return Err(format!("unclosed `${{` in {value:?}"));
        };
        let body = &body_and_rest[..close];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "`${{{body}}}` is not a valid environment variable reference"
            ));
        }
        match lookup(name).filter(|v| !v.is_empty()) {
            Some(v) => out.push_str(&v),
            None => match default {
                Some(d) => out.push_str(d),
                None => {
                    return Err(format!(
                    "environment variable {name} is not set; set it, or write ${{{name}:-default}}"
                ))
                }
            },
        }
        rest = &body_and_rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The process environment as a lookup.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// True when a URL written literally in a file carries a password (`scheme://user:secret@host`).
pub fn has_literal_password(raw: &str) -> bool {
    let Some((_, rest)) = raw.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => match userinfo.split_once(':') {
            Some((_, password)) => !password.is_empty() && !password.contains("${"),
            None => false,
        },
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "CRM_URL" => Some("postgres://u:p@h/db".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_variables_and_defaults() {
        assert_eq!(
            interpolate("${CRM_URL}", &env).as_deref(),
            Ok("postgres://u:p@h/db")
        );
        assert_eq!(
            interpolate("x-${MISSING:-sqlite://a.db}-y", &env).as_deref(),
            Ok("x-sqlite://a.db-y")
        );
        assert_eq!(interpolate("${EMPTY:-d}", &env).as_deref(), Ok("d"));
        assert_eq!(
            interpolate("cost $$5 and $x", &env).as_deref(),
            Ok("cost $5 and $x")
        );
    }

    #[test]
    fn missing_variable_says_which() {
        let err = interpolate("${NOPE}", &env).unwrap_err();
        assert!(err.contains("NOPE is not set"), "{err}");
        assert!(interpolate("${BAD NAME}", &env).is_err());
        assert!(interpolate("${OPEN", &env).is_err());
    }

    #[test]
    fn spots_passwords_written_in_files() {
        assert!(has_literal_password("postgres://gild:secret@db/crm"));
        assert!(!has_literal_password("postgres://gild@db/crm"));
        assert!(!has_literal_password("postgres://gild:${PW}@db/crm"));
        assert!(!has_literal_password("sqlite://fixtures/demo/crm.db"));
        assert!(!has_literal_password("${CRM_URL}"));
    }
}
