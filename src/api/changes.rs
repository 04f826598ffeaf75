//! The change feed from a cursor.

use super::customers::{page_limit, query_error};
use super::{ApiError, ApiState};
use crate::store::GoldenEvent;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;

/// Events per page when the client gives no limit.
const DEFAULT_CHANGES_LIMIT: u32 = 100;

#[derive(Debug, serde::Serialize)]
pub struct ChangesPage {
    pub events: Vec<GoldenEvent>,
    /// Pass as `after` to read on; equal to `after` when there was nothing new.
    pub next_cursor: i64,
    /// The page was full: read on at once rather than waiting.
    pub more: bool,
}

pub(super) fn cursor_and_limit(
    params: &[(String, String)],
    max_page: u32,
) -> Result<(i64, u32), ApiError> {
    let mut after = 0;
    let mut limit = DEFAULT_CHANGES_LIMIT.min(max_page);
    for (name, value) in params {
        match name.as_str() {
            "after" => {
                after = match value.trim().parse::<i64>() {
                    Ok(n) if n >= 0 => n,
                    _ => return Err(ApiError::BadRequest(format!(
                        "after must be a cursor: a whole number of at least 0 (the last seq you saw; 0 to start from the beginning), not {value:?}"
                    ))),
                }
            }
            "limit" => limit = page_limit(value, max_page)?,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter {other:?}: the change feed takes after and limit"
                )))
            }
        }
    }
    Ok((after, limit))
}

/// `GET /v1/changes?after=<seq>&limit=`
pub async fn feed(
    State(state): State<ApiState>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ChangesPage>, ApiError> {
    let Query(params) = params.map_err(query_error)?;
    let (after, limit) = cursor_and_limit(&params, state.max_page())?;
    let mut events = state
        .store()
        .changes_after(after, i64::from(limit) + 1)
        .await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next_cursor = events.last().map_or(after, |e| e.seq);
    Ok(Json(ChangesPage {
        events,
        next_cursor,
        more,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_must_be_whole_and_not_negative() {
        let p = |q: &[(&str, &str)]| -> Vec<(String, String)> {
            q.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(cursor_and_limit(&p(&[]), 500).ok(), Some((0, 100)));
        assert_eq!(cursor_and_limit(&p(&[]), 20).ok(), Some((0, 20)));
        assert_eq!(
            cursor_and_limit(&p(&[("after", "42"), ("limit", "9999")]), 500).ok(),
            Some((42, 500))
        );
        for bad in ["-1", "abc", "1.5", ""] {
            let e = cursor_and_limit(&p(&[("after", bad)]), 500).unwrap_err();
            assert!(e.to_string().starts_with("after must be a cursor"), "{e}");
        }
        let e = cursor_and_limit(&p(&[("limit", "-3")]), 500).unwrap_err();
        assert!(e.to_string().starts_with("limit must be"), "{e}");
        let e = cursor_and_limit(&p(&[("since", "3")]), 500).unwrap_err();
        assert!(e.to_string().contains("unknown parameter \"since\""), "{e}");
    }
}
