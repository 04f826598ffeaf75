//! The data stewards' side: the review queue the matcher fills, decisions on it, manual merges,
//! splits and pinned values, all persisted as constraints that every later sync honours, and all
//! audited.

mod conflict;
mod decisions;
mod edit;
mod queue;
mod show;

pub use conflict::{
    accept_conflict, choose_conflict, defer_conflict, queue, queue_order, show_conflict,
    split_conflict, ConflictShow, ItemRef, QueueEntry,
};
pub use decisions::{constraints_from, pins_from};
pub use edit::{accept, defer, merge, pin, reject, split, unpin, Edited};
pub use queue::{queue_items, QueueInput, Refused};
pub use show::{show, Explainer, ReviewShow};

use crate::golden::Survivorship;
use crate::store::{Store, StoreError};

/// The survivorship settings with the word counts kept with the stored model, as every sync with
/// that model weighs spellings: a steward's merge, split or pin then writes the golden record the
/// next sync would, and `review show` shows it. Without a model (or with one from before the
/// counts were kept) there are none: spellings fall back on support and source priority.
pub async fn survivorship(store: &Store, s: &Survivorship) -> Result<Survivorship, StoreError> {
    if !s.weighs_evidence() {
        return Ok(s.clone());
    }
    Ok(match store.latest_model().await?.and_then(|m| m.estate) {
        Some(estate) => s.with_estate(estate),
        None => s.clone(),
    })
}

/// Who decides, and why.
#[derive(Debug, Clone)]
pub struct Steward {
    pub actor: String,
    pub note: Option<String>,
}

impl Steward {
    /// `--as NAME`, else the operating system user.
    pub fn new(actor: Option<String>, note: Option<String>) -> Steward {
        let actor = actor
            .filter(|a| !a.trim().is_empty())
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("USERNAME").ok())
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "unknown".into());
        Steward { actor, note }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The item, golden ID or record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be carried out as asked (says what to do instead).
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden::{Estate, SurvivorshipConfig};
    use crate::model::{Model, MODEL_FORMAT};
    use crate::record::Record;

    #[tokio::test(flavor = "multi_thread")]
    async fn stewards_weigh_spellings_by_the_stored_models_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = Store::connect(&url).await.expect("store");
        let config = Survivorship::from_config(&SurvivorshipConfig::default());
        let none = survivorship(&store, &config).await.expect("reads");
        assert_eq!(*none.estate, Estate::default(), "no model, no counts");

        let trained: Vec<Record> = (0..3)
            .map(|_| Record {
                given_name: Some("ROBERT".into()),
                ..Default::default()
            })
            .collect();
        let estate = Estate::of(&trained).kept();
        let model = Model {
            format: MODEL_FORMAT,
            trained_at: crate::clock::now(),
            records: trained.len(),
            prior: 0.01,
            comparisons: Vec::new(),
            households: Vec::new(),
            term_frequencies: Vec::new(),
            estate: Some(estate.clone()),
            training: Default::default(),
            chosen: None,
            chosen_rules: None,
        };
        store.save_model(&model, None).await.expect("saves");
        let kept = survivorship(&store, &config).await.expect("reads");
        store.close().await;
        assert_eq!(*kept.estate, estate);
    }
}
