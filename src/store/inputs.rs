//! What a published run read, for the next run's "nothing changed" check, and the watermarks.

use super::{on_pool, Doing, Store, StoreError};
use crate::run::RunStatus;

/// The last published run and the fingerprint of its inputs (None if it recorded none).
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedInputs {
    pub run_id: String,
    pub fingerprint: Option<String>,
}

impl Store {
    /// The run that published last, with the fingerprint of what it read.
    pub async fn last_published_inputs(&self) -> Result<Option<PublishedInputs>, StoreError> {
        let row: Option<(String, Option<String>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.run_id, i.fingerprint FROM sync_runs r LEFT JOIN run_inputs i ON i.run_id = r.run_id \
                 WHERE r.status IN ($1, $2) ORDER BY r.finished_at DESC, r.run_id DESC LIMIT 1",
            )
            .bind(RunStatus::Succeeded)
            .bind(RunStatus::Partial)
            .fetch_optional(pool)
            .await
            .doing("reading what the last published run read")?
        });
        Ok(row.map(|(run_id, fingerprint)| PublishedInputs {
            run_id,
            fingerprint,
        }))
    }

    /// The newest steward action's ID: a decision since the last run is an input that changed.
    pub async fn last_steward_action(&self) -> Result<Option<i64>, StoreError> {
        let row: (Option<i64>,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT MAX(audit_id) FROM audit_log")
                .fetch_one(pool)
                .await
                .doing("reading the last steward action")?
        });
        Ok(row.0)
    }

    /// Each source's committed watermark: (source, column, value, run).
    pub async fn watermarks(&self) -> Result<Vec<(String, String, String, String)>, StoreError> {
        let rows = on_pool!(self, pool => {
            sqlx::query_as("SELECT source, column_name, value, run_id FROM watermarks ORDER BY source")
                .fetch_all(pool)
                .await
                .doing("reading the watermarks")?
        });
        Ok(rows)
    }
}

impl Store {
    /// The blocking rules a run used, in order, from its summary (None when it recorded none).
    pub async fn run_blocking_rules(
        &self,
        run_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let row: Option<(Option<sqlx::types::Json<serde_json::Value>>,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT summary FROM sync_runs WHERE run_id = $1")
                .bind(run_id)
                .fetch_optional(pool)
                .await
                .doing("reading the last run's blocking rules")?
        });
        let Some((Some(summary),)) = row else {
            return Ok(None);
        };
        let rules = summary.0["matching"]["blocking"].as_array().map(|rules| {
            rules
                .iter()
                .filter_map(|r| r["rule"].as_str().map(str::to_string))
                .collect()
        });
        Ok(rules)
    }
}
