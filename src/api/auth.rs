//! Bearer tokens: read from the environment at start, compared in constant time.

use super::{ApiError, ApiState};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;

/// Shorter tokens are guessable; the same rule as `openssl rand -hex 8` at the very least.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    #[error("environment variable {var} is not set or empty: set it to one or more comma-separated read tokens of at least {MIN_TOKEN_LEN} characters (for example {var}=$(openssl rand -hex 24)), or name another variable in [api] tokens_env")]
    Missing { var: String },
    #[error("token {position} in environment variable {var} is {len} characters long; API tokens must be at least {MIN_TOKEN_LEN}")]
    TooShort {
        var: String,
        position: usize,
        len: usize,
    },
}

/// The accepted read tokens. Debug never prints them.
#[derive(Clone)]
pub struct Tokens(Vec<Vec<u8>>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} redacted)", self.0.len())
    }
}

impl Tokens {
    /// Reads the comma-separated tokens from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Tokens, TokenError> {
        Self::parse(var, &std::env::var(var).unwrap_or_default())
    }

    /// Parses `value`, the content of environment variable `var` (named in errors).
    pub fn parse(var: &str, value: &str) -> Result<Tokens, TokenError> {
        let mut tokens = Vec::new();
        for (i, t) in value
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            if t.chars().count() < MIN_TOKEN_LEN {
                return Err(TokenError::TooShort {
                    var: var.to_string(),
                    position: i + 1,
                    len: t.chars().count(),
                });
            }
            tokens.push(t.as_bytes().to_vec());
        }
        if tokens.is_empty() {
            return Err(TokenError::Missing {
                var: var.to_string(),
            });
        }
        Ok(Tokens(tokens))
    }

    /// Is `presented` one of the tokens? Every token is compared in full, so the time taken
    /// says nothing about which bytes matched.
    pub fn accepts(&self, presented: &[u8]) -> bool {
        self.0
            .iter()
            .fold(false, |ok, t| ok | constant_time_eq(t, presented))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

/// Does the request carry `Authorization: Bearer <token>` with a token `state` accepts?
fn check(state: &ApiState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized {
            message: "this route needs a token: send Authorization: Bearer <token>".into(),
            invalid: false,
        });
    };
    let bytes = value.as_bytes();
    // The scheme is case-insensitive (RFC 9110).
    let token = match bytes.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case(b"bearer ") => bytes[7..].trim_ascii(),
        _ => {
            return Err(ApiError::Unauthorized {
                message: "the Authorization header must be Bearer <token>".into(),
                invalid: true,
            })
        }
    };
    if !state.tokens().accepts(token) {
        return Err(ApiError::Unauthorized {
            message: "the token is not valid".into(),
            invalid: true,
        });
    }
    Ok(())
}

/// For public routes that say more to a token holder.
pub fn has_valid_token(state: &ApiState, headers: &HeaderMap) -> bool {
    check(state, headers).is_ok()
}

/// Refuses a request without a valid `Authorization: Bearer <token>`.
pub async fn require_token(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    check(&state, request.headers())?;
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_comma_separated_and_short_ones_are_refused() {
        let t = Tokens::parse("V", " aaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbbbbbb,").expect("valid");
        assert!(t.accepts(b"aaaaaaaaaaaaaaaa"));
        assert!(t.accepts(b"bbbbbbbbbbbbbbbbbbbb"));
        assert!(!t.accepts(b"aaaaaaaaaaaaaaa"));
        assert!(!t.accepts(b"aaaaaaaaaaaaaaaaa"));
        assert!(!t.accepts(b""));
        let e = Tokens::parse("V", "aaaaaaaaaaaaaaaa,short").unwrap_err();
        assert!(e
            .to_string()
            .contains("token 2 in environment variable V is 5 characters"));
        assert!(!e.to_string().contains("short"), "never print a token: {e}");
        let e = Tokens::parse("GILD_API_TOKENS", " , ").unwrap_err();
        assert!(e
            .to_string()
            .contains("GILD_API_TOKENS is not set or empty"));
        assert_eq!(format!("{t:?}"), "Tokens(2 redacted)");
    }
}
