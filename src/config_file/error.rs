//! Configuration errors: each names the file, the line when known, and what to do.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in one configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigProblem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl ConfigProblem {
    pub fn new(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        ConfigProblem {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    /// Locates a byte span of `text` as a line number (1-based).
    pub fn at_span(
        file: &Path,
        text: &str,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(file, Some(line_of(text, span.start)), message)
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found while loading the configuration; all are reported at once.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl ConfigError {
    pub fn single(problem: ConfigProblem) -> Self {
        ConfigError {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "bad configuration: {one}"),
            many => {
                writeln!(f, "bad configuration ({} problems):", many.len())?;
                for (i, p) in many.iter().enumerate() {
                    if i + 1 < many.len() {
                        writeln!(f, "  {p}")?;
                    } else {
                        write!(f, "  {p}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Turns a TOML parse error into a problem; the toml crate's message already carries line and column.
pub fn from_toml(file: &Path, text: &str, err: &toml::de::Error) -> ConfigProblem {
    let line = err.span().map(|s| line_of(text, s.start));
    // The toml message starts with its own "TOML parse error at line.." header and a source excerpt;
    // keep only its final sentence and add our own location.
    let message = err.message().trim().to_string();
    ConfigProblem::new(file, line, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_counts_from_one() {
        let t = "a\nb\nc";
        assert_eq!(line_of(t, 0), 1);
        assert_eq!(line_of(t, 2), 2);
        assert_eq!(line_of(t, 4), 3);
        assert_eq!(line_of(t, 99), 3);
    }

    #[test]
    fn problems_print_file_and_line() {
        let p = ConfigProblem::new(
            Path::new("mappings/crm.toml"),
            Some(7),
            "unknown column `dob`",
        );
        assert_eq!(p.to_string(), "mappings/crm.toml:7: unknown column `dob`");
        let e = ConfigError {
            problems: vec![p.clone(), p],
        };
        assert!(e.to_string().starts_with("bad configuration (2 problems):"));
    }
}
