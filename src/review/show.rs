//! A review item laid out for a steward: the two records side by side with each comparison's
//! level and weight, the two golden customers, and the golden record a merge would make.

use super::{edit::pins_of, ReviewError};
use crate::choose::Chosen;
use crate::compare::{Comparator, Comparison};
use crate::config::Matching;
use crate::golden::{golden_version, GoldenVersion, Survivorship};
use crate::model::{Explanation, Model, Scorer};
use crate::prepare::Prepared;
use crate::record::{Record, SourceKey};
use crate::store::{GoldenView, ReviewItem, Store, StoreError};
use std::collections::HashMap;

/// Scores pairs of staged records with the stored model. Term-frequency adjustments need every
/// record, so they are all loaded once and kept for a session.
pub struct Explainer {
    records: Vec<Record>,
    index: HashMap<SourceKey, usize>,
    prepared: Prepared,
    model: Option<Model>,
    comparisons: Vec<Comparison>,
    chosen: Option<Chosen>,
}

impl Explainer {
    /// Loads the staged records; with no matching rules in gild.toml, the built-in defaults'
    /// rules are those kept with the stored model, as a sync with it uses them (or, with no such
    /// model, chosen from the records as the next sync would).
    pub async fn load(store: &Store, matching: &Matching) -> Result<Self, StoreError> {
        let records = store.all_staged_records().await?;
        let stored = store.latest_model().await?;
        let (index, prepared, comparisons, chosen) = crate::runtime::cpu(|| {
            let index = records
                .iter()
                .enumerate()
                .map(|(i, r)| (r.source_key(), i))
                .collect();
            let prepared = Prepared::build(&records);
            let m = crate::choose::resolve(matching, stored.as_ref(), &records, &prepared);
            let (comparisons, chosen) = (m.comparisons.clone(), m.chosen.clone());
            (index, prepared, comparisons, chosen)
        });
        let model = stored.filter(|m| m.fits(&comparisons));
        Ok(Explainer {
            records,
            index,
            prepared,
            model,
            comparisons,
            chosen,
        })
    }

    /// What the built-in defaults chose, when gild.toml gives no matching rules.
    pub fn chosen(&self) -> Option<&Chosen> {
        self.chosen.as_ref()
    }

    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    pub fn record(&self, key: &SourceKey) -> Option<&Record> {
        self.index.get(key).map(|&i| &self.records[i])
    }

    /// Each comparison's values, level and weight for one pair; None when a record is not staged
    /// or no stored model fits the configured comparisons.
    pub fn explain(&self, a: &SourceKey, b: &SourceKey) -> Option<Explanation> {
        let (i, j) = (*self.index.get(a)?, *self.index.get(b)?);
        let model = self.model.as_ref()?;
        let mut comparator = Comparator::new(&self.prepared, &self.comparisons);
        comparator.use_term_tables(&model.term_frequencies);
        Some(Scorer::new(model, &comparator).explain(i, j))
    }
}

/// Everything `gild review show` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReviewShow {
    pub item: ReviewItem,
    pub golden_a: GoldenView,
    pub golden_b: GoldenView,
    pub explanation: Option<Explanation>,
    /// The golden record a merge would make (IDs and timestamps not yet set).
    pub merged: Option<GoldenVersion>,
}

impl ReviewShow {
    /// The two customers are one already (merged since the item was queued).
    pub fn already_one(&self) -> bool {
        self.golden_a.golden.golden_id == self.golden_b.golden.golden_id
    }
}

pub async fn show(
    store: &Store,
    explainer: &Explainer,
    survivorship: &Survivorship,
    item_id: i64,
) -> Result<ReviewShow, ReviewError> {
    let item = store.review_item(item_id).await?.ok_or_else(|| {
        ReviewError::NotFound(format!("no review item {item_id}: see `gild review list`"))
    })?;
    let view = |id: String| async move {
        store
            .golden_view(&id)
            .await?
            .ok_or_else(|| ReviewError::NotFound(format!("golden customer {id} no longer exists")))
    };
    let golden_a = view(item.golden_a.clone()).await?;
    let golden_b = view(item.golden_b.clone()).await?;
    let explanation = explainer.explain(&item.record_a(), &item.record_b());
    let merged = if golden_a.golden.golden_id == golden_b.golden.golden_id {
        None
    } else {
        let members: Vec<&Record> = golden_a
            .records
            .iter()
            .chain(&golden_b.records)
            .map(|l| &l.record)
            .collect();
        let pins = pins_of(
            store,
            &[&golden_a.golden.golden_id, &golden_b.golden.golden_id],
        )
        .await?;
        Some(golden_version(survivorship, &members, &pins))
    };
    Ok(ReviewShow {
        item,
        golden_a,
        golden_b,
        explanation,
        merged,
    })
}
