//! LIKE patterns from what a person typed: `%` and `_` in a search are characters to find, not
//! wildcards. Every query using these says `ESCAPE '\'` (SQLite has no default escape).

/// `%text%` with `\`, `%` and `_` escaped by `\`: rows containing `text` as typed.
pub(crate) fn containing(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_the_escape_are_escaped() {
        assert_eq!(containing("lee"), "%lee%");
        assert_eq!(containing("100%"), "%100\\%%");
        assert_eq!(containing("a_b"), "%a\\_b%");
        assert_eq!(containing("c:\\x"), "%c:\\\\x%");
        assert_eq!(containing(""), "%%");
    }
}
