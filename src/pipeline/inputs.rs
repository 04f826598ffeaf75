//! What a sync reads, fingerprinted: each source, the configuration that shapes the result, the
//! model, the stewards' decisions, the day and gild's version. A sync whose fingerprint equals
//! the last published run's would publish the same view again, so it publishes nothing.

use crate::config::Config;
use crate::connectors::fingerprint::{fingerprint, SourcePrint};
use crate::model::Model;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::Hasher;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub version: String,
    /// Mapping validates dates against today: a new day may read the same rows differently.
    pub day: NaiveDate,
    /// xxh3 of the matching and survivorship settings and the enabled connectors and mappings.
    pub config: String,
    /// xxh3 of the model the run matched with (None until known, or when no model is stored).
    pub model: Option<String>,
    /// The newest steward action when the run started.
    pub steward: Option<i64>,
    /// Each enabled source's print; None when it has none (every sync reads it).
    pub sources: BTreeMap<String, Option<SourcePrint>>,
}

impl Inputs {
    /// Fingerprints every enabled source at once (hashing files, one aggregate query per
    /// database with a watermark), and the rest.
    pub async fn gather(config: &Config, day: NaiveDate, steward: Option<i64>) -> Inputs {
        let enabled: Vec<_> = config.connectors.iter().filter(|c| c.enabled).collect();
        let prints = futures::future::join_all(enabled.iter().map(|c| fingerprint(c))).await;
        Inputs {
            version: env!("CARGO_PKG_VERSION").to_string(),
            day,
            config: config_hash(config),
            model: None,
            steward,
            sources: enabled.iter().map(|c| c.name.clone()).zip(prints).collect(),
        }
    }

    /// True when every source has a print, and everything equals `last`'s.
    pub fn unchanged_since(&self, last: &Inputs) -> bool {
        self.model.is_some() && self.sources.values().all(Option::is_some) && self == last
    }

    /// Forgets the print of a source the run could not read: its next read must not be skipped.
    pub fn forget(&mut self, source: &str) {
        if let Some(print) = self.sources.get_mut(source) {
            *print = None;
        }
    }
}

/// xxh3 of the model's JSON.
pub fn model_hash(model: &Model) -> Option<String> {
    let json = serde_json::to_vec(model).ok()?;
    Some(format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&json)))
}

/// xxh3 of what in the configuration shapes a sync's result: matching, survivorship, and each
/// enabled connector with its mapping. The schedule, the API and the store URL do not.
fn config_hash(config: &Config) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut add = |s: &str| {
        h.write(s.as_bytes());
        h.write_u8(0);
    };
    // Debug output of these settings is deterministic (vectors, no hash maps), except the
    // survivorship's per-field rules, which are sorted first.
    add(&format!("{:?}", config.matching));
    let s = &config.survivorship;
    add(&format!("{:?} {:?}", s.source_priority, s.default));
    let mut fields: Vec<String> = s
        .fields
        .iter()
        .map(|(f, r)| format!("{f:?}={r:?}"))
        .collect();
    fields.sort();
    add(&fields.join(","));
    for c in config.connectors.iter().filter(|c| c.enabled) {
        add(&format!("{c:?}"));
        add(config.mapping_for(c).map_or("", |m| m.source_text()));
    }
    format!("{:032x}", h.digest128())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Config {
        Config::load_with_env(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gild.toml"),
            &|_| None,
        )
        .expect("the demo config loads")
    }

    #[test]
    fn the_config_hash_is_stable_and_sees_matching_changes() {
        let config = demo();
        assert_eq!(config_hash(&config), config_hash(&demo()));
        let mut stricter = demo();
        stricter.matching.merge_threshold = 0.99;
        assert_ne!(config_hash(&config), config_hash(&stricter));
        let mut other_priority = demo();
        other_priority.survivorship.source_priority.reverse();
        assert_ne!(config_hash(&config), config_hash(&other_priority));
        let mut api = demo();
        api.jobs.retries += 1;
        assert_eq!(
            config_hash(&config),
            config_hash(&api),
            "the schedule is not an input"
        );
    }

    #[test]
    fn only_complete_equal_inputs_are_unchanged() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).expect("date");
        let print = SourcePrint::Watermark {
            rows: 3,
            max: Some("2026-12-01 00:00:00".into()),
        };
        let inputs = Inputs {
            version: "1".into(),
            day,
            config: "c".into(),
            model: Some("m".into()),
            steward: Some(4),
            sources: BTreeMap::from([("crm".to_string(), Some(print))]),
        };
        assert!(inputs.unchanged_since(&inputs.clone()));
        let json = serde_json::to_string(&inputs).expect("json");
        let back: Inputs = serde_json::from_str(&json).expect("parse");
        assert!(inputs.unchanged_since(&back), "round trip");
        let mut steward = inputs.clone();
        steward.steward = Some(5);
        assert!(!steward.unchanged_since(&inputs));
        let mut next_day = inputs.clone();
        next_day.day = day.succ_opt().expect("date");
        assert!(!next_day.unchanged_since(&inputs));
        let mut unreadable = inputs.clone();
        unreadable.forget("crm");
        assert!(
            !unreadable.unchanged_since(&unreadable.clone()),
            "no print, no skip"
        );
        let mut no_model = inputs.clone();
        no_model.model = None;
        assert!(!no_model.unchanged_since(&no_model.clone()));
    }
}
