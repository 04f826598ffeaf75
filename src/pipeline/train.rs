//! Training on its own (`gild train`): fit the matching model on the records staged by the last
//! sync, with the stewards' decisions as labels, and store it for the next sync.

use crate::choose::ChosenRules;
use crate::compare::Comparator;
use crate::config::{Config, Matching};
use crate::golden::Estate;
use crate::model::{self, Model};
use crate::prepare::Prepared;
use crate::record::Record;
use crate::runtime::cpu;
use crate::store::{Store, StoreError};

/// A model trained and stored.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The stored model's ID; the next sync uses it.
    pub model_id: String,
    pub model: Model,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the store has no staged records yet: run `gild sync` first (it trains a model when none exists)")]
    NothingStaged,
}

/// Trains a model on the configured store's staged records and stores it.
pub async fn train(config: &Config) -> Result<TrainReport, TrainError> {
    let store = Store::connect(&config.store_url).await?;
    let result = train_into(&store, config).await;
    store.close().await;
    result
}

/// Trains a model on an open store's staged records and stores it there.
pub async fn train_into(store: &Store, config: &Config) -> Result<TrainReport, TrainError> {
    let records = store.all_staged_records().await?;
    if records.is_empty() {
        return Err(TrainError::NothingStaged);
    }
    // Stewards' accepted and rejected pairs are labels that sharpen the m probabilities.
    let links = store.active_links().await?;
    let m = &config.matching;
    let model = cpu(|| {
        let (_, labels) = crate::review::constraints_from(&records, &links);
        let prepared = Prepared::build(&records);
        // Training chooses the built-in defaults afresh, as a sync that trains does.
        let m = crate::choose::resolve(m, None, &records, &prepared);
        let comparator = Comparator::new(&prepared, &m.comparisons);
        let mut model = model::train(&comparator, &m.training, m.link_type, m.limits, &labels);
        keep_with(&mut model, &m, &records);
        model
    });
    let model_id = store.save_model(&model, None).await?;
    Ok(TrainReport { model_id, model })
}

/// What a newly trained model keeps of its estate besides its parameters (the term frequencies
/// are already in): the built-in defaults' choice and rules it was trained for, and the word
/// counts survivorship weighs spellings by. Runs with the model use them, not their own data's.
pub(crate) fn keep_with(model: &mut Model, matching: &Matching, records: &[Record]) {
    model.chosen = matching.chosen.clone();
    model.chosen_rules = ChosenRules::of(matching);
    let started = std::time::Instant::now();
    let estate = Estate::of(records).kept();
    tracing::info!(
        words = estate.words(),
        seconds = started.elapsed().as_secs_f64(),
        "survivorship word counts kept with the model"
    );
    model.estate = Some(estate);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_store_without_staged_records_has_nothing_to_train_on() {
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gild.toml");
        let config = Config::load_with_env(&demo, &|_| None).expect("the demo config loads");
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = Store::connect(&url).await.expect("store");
        let result = train_into(&store, &config).await;
        store.close().await;
        assert!(
            matches!(result, Err(TrainError::NothingStaged)),
            "{result:?}"
        );
        assert!(store_has_no_model(&url).await);
    }

    async fn store_has_no_model(url: &str) -> bool {
        let store = Store::connect(url).await.expect("reopens");
        let model = store.latest_model().await.expect("reads");
        store.close().await;
        model.is_none()
    }
}
