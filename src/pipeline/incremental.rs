//! Incremental runs: a sync that recomputes only what changed since the last published run.
//!
//! Every source is still read and compared with its staged records by key and content hash
//! (`snapshot`). Records new or changed are *dirty*: only the candidate pairs touching them are
//! generated and scored; the pairs between clean records are the last run's (the model is the
//! same, so are their weights). Clustering sees all the pairs, so every cluster is the one a full
//! run would make; golden customers are rebuilt only for the clusters whose records or
//! membership changed, and the pairs written are the differences. See docs/incremental.md.

use super::{RunContext, Stored, SyncError};
use crate::golden::Scope;
use crate::record::{Record, SourceKey};
use crate::store::{PairRow, PairWrite, StoredPair};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// Why a sync recomputed everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullBecause {
    Asked,
    Retrain,
    FirstSync,
    NoModel,
    Unrecorded,
    Upgraded,
    ConfigChanged,
    ModelChanged,
    StewardDecisions,
    RulesChanged,
    Trained,
}

impl FullBecause {
    pub fn as_str(self) -> &'static str {
        match self {
            FullBecause::Asked => "--full was given",
            FullBecause::Retrain => "--retrain was given",
            FullBecause::FirstSync => "nothing was published before",
            FullBecause::NoModel => "no model is stored",
            FullBecause::Unrecorded => "the last published run recorded no inputs",
            FullBecause::Upgraded => "gild's version changed since the last run",
            FullBecause::ConfigChanged => "the configuration changed since the last run",
            FullBecause::ModelChanged => "the model changed since the last run",
            FullBecause::StewardDecisions => "stewards decided since the last run",
            FullBecause::RulesChanged => "the blocking rules changed since the last run",
            FullBecause::Trained => "the model was trained in this run",
        }
    }
}

/// What an incremental run takes from the last published run.
pub struct Prior {
    pub pairs: Vec<StoredPair>,
    pub skipped: HashMap<String, HashSet<u64>>,
    /// The blocking rules the last run used, in order.
    pub rules: Vec<String>,
}

/// Whether this run can be incremental, and if so what it takes from the last one.
pub async fn plan(
    cx: &RunContext<'_>,
    stored: &Stored,
) -> Result<Result<Prior, FullBecause>, SyncError> {
    use FullBecause::*;
    if cx.options.full {
        return Ok(Err(Asked));
    }
    if cx.options.retrain {
        return Ok(Err(Retrain));
    }
    let Some(model) = &stored.model else {
        return Ok(Err(NoModel));
    };
    if stored.xref.is_empty() {
        return Ok(Err(FirstSync));
    }
    let Some(last) = cx.store.last_published_inputs().await? else {
        return Ok(Err(FirstSync));
    };
    let Some(before) = last
        .fingerprint
        .as_deref()
        .and_then(|f| serde_json::from_str::<super::Inputs>(f).ok())
    else {
        return Ok(Err(Unrecorded));
    };
    let now = &cx.inputs;
    if before.version != now.version {
        return Ok(Err(Upgraded));
    }
    if before.config != now.config {
        return Ok(Err(ConfigChanged));
    }
    if before.model != super::inputs::model_hash(model) {
        return Ok(Err(ModelChanged));
    }
    if before.steward != now.steward {
        return Ok(Err(StewardDecisions));
    }
    let Some(rules) = cx.store.run_blocking_rules(&last.run_id).await? else {
        return Ok(Err(Unrecorded));
    };
    let mut skipped: HashMap<String, HashSet<u64>> = HashMap::new();
    for (rule, key) in cx.store.skipped_blocks().await? {
        skipped.entry(rule).or_default().insert(key);
    }
    Ok(Ok(Prior {
        pairs: cx.store.stored_pairs().await?,
        skipped,
        rules,
    }))
}

/// Where each record is, by source and key.
pub struct KeyIndex<'a>(HashMap<(&'a str, &'a str), u32>);

impl<'a> KeyIndex<'a> {
    pub fn of(records: &'a [Record]) -> KeyIndex<'a> {
        KeyIndex(
            records
                .iter()
                .enumerate()
                .map(|(i, r)| ((r.source.as_str(), r.key.as_str()), i as u32))
                .collect(),
        )
    }

    pub fn get(&self, k: &SourceKey) -> Option<u32> {
        self.0.get(&(k.source.as_str(), k.key.as_str())).copied()
    }
}

/// Each record as the store had it: its golden ID before this run (None when new), and
/// whether it is new or its content changed. Looked up once, for every later step.
pub struct Staged<'a> {
    pub previous_id: Vec<Option<&'a str>>,
    pub changed: Vec<bool>,
}

impl<'a> Staged<'a> {
    pub fn of(records: &[Record], hashes: &[i64], stored: &'a Stored) -> Staged<'a> {
        let (previous_id, changed) = records
            .par_iter()
            .zip(hashes)
            .map(|(r, h)| match stored.xref.get(&r.source_key()) {
                Some((g, before)) => (Some(g.as_str()), before != h),
                None => (None, true),
            })
            .unzip();
        Staged {
            previous_id,
            changed,
        }
    }
}

/// The last run's pairs as matching takes them: both records still here, by index.
pub fn increment(
    prior: &mut Prior,
    index: &KeyIndex<'_>,
    changed: &[bool],
) -> super::matching::Increment {
    let mut rule_names: Vec<String> = Vec::new();
    let mut rule_ids: HashMap<&str, u16> = HashMap::new();
    let mut stored_pairs = Vec::with_capacity(prior.pairs.len());
    for p in &prior.pairs {
        let (Some(i), Some(j)) = (index.get(&p.a), index.get(&p.b)) else {
            continue;
        };
        let id = *rule_ids.entry(p.rule.as_str()).or_insert_with(|| {
            rule_names.push(p.rule.clone());
            (rule_names.len() - 1) as u16
        });
        stored_pairs.push((i.min(j), i.max(j), id));
    }
    super::matching::Increment {
        dirty: changed.to_vec(),
        stored_pairs,
        rule_names,
        skipped_before: std::mem::take(&mut prior.skipped),
        rules_before: std::mem::take(&mut prior.rules),
    }
}

/// The clusters an incremental run rebuilds, and what golden IDs they may touch.
pub struct Affected<'a> {
    /// Per cluster: rebuilt (its records or its membership changed).
    pub rebuilt: Vec<bool>,
    /// The rebuilt clusters' members, in cluster order.
    pub members: Vec<Vec<u32>>,
    pub scope: Scope<'a>,
    /// Each cluster's golden ID before this run, when it is one customer unchanged.
    pub kept_ids: Vec<Option<&'a str>>,
}

/// A cluster stands when none of its records changed and its records are exactly one stored
/// customer's records; every other cluster is rebuilt.
pub fn affected<'a>(
    staged: &Staged<'a>,
    members: &[Vec<u32>],
    stored: &'a Stored,
    index: &KeyIndex<'_>,
    read_in_full: &HashSet<String>,
) -> Affected<'a> {
    let mut staged_per_id: HashMap<&str, usize> = HashMap::new();
    for (g, _) in stored.xref.values() {
        *staged_per_id.entry(g.as_str()).or_default() += 1;
    }
    let previous_id = |r: u32| staged.previous_id[r as usize];
    let kept_ids: Vec<Option<&'a str>> = members
        .par_iter()
        .map(|m| {
            if m.iter().any(|&r| staged.changed[r as usize]) {
                return None;
            }
            let first = previous_id(*m.first()?)?;
            let one = m.iter().all(|&r| previous_id(r) == Some(first));
            let whole = staged_per_id.get(first) == Some(&m.len());
            (one && whole && stored.golden.contains_key(first)).then_some(first)
        })
        .collect();
    let rebuilt: Vec<bool> = kept_ids.iter().map(Option::is_none).collect();
    let rebuilt_members: Vec<Vec<u32>> = members
        .iter()
        .zip(&rebuilt)
        .filter(|(_, &r)| r)
        .map(|(m, _)| m.clone())
        .collect();
    let mut vanished: Vec<&'a SourceKey> = stored
        .xref
        .keys()
        .filter(|k| read_in_full.contains(k.source.as_str()) && index.get(k).is_none())
        .collect();
    vanished.sort();
    let mut previous_ids: Vec<&'a str> = rebuilt_members
        .iter()
        .flatten()
        .filter_map(|&r| previous_id(r))
        .chain(
            vanished
                .iter()
                .filter_map(|k| stored.xref.get(*k).map(|(g, _)| g.as_str())),
        )
        .collect();
    previous_ids.sort_unstable();
    previous_ids.dedup();
    Affected {
        rebuilt,
        members: rebuilt_members,
        scope: Scope {
            previous_ids,
            vanished,
        },
        kept_ids,
    }
}

/// The pairs to write: the differences between this run's pairs and the last run's.
pub fn pair_changes(prior: Vec<StoredPair>, pairs: Vec<PairRow>) -> PairWrite {
    let mut before: HashMap<(SourceKey, SourceKey), (f64, crate::decision::Decision, String)> =
        prior
            .into_iter()
            .map(|p| ((p.a, p.b), (p.weight, p.decision, p.rule)))
            .collect();
    let mut upserts = Vec::new();
    for row in pairs {
        let same = before.remove(&(row.a.clone(), row.b.clone())).is_some_and(
            |(weight, decision, rule)| {
                weight == row.weight && decision == row.decision && rule == row.rule
            },
        );
        if !same {
            upserts.push(row);
        }
    }
    let mut removed: Vec<(SourceKey, SourceKey)> = before.into_keys().collect();
    removed.sort();
    PairWrite::Changes { removed, upserts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Decision;

    fn row(a: &str, b: &str, weight: f64, decision: Decision) -> PairRow {
        PairRow {
            a: SourceKey::new("crm", a),
            b: SourceKey::new("crm", b),
            probability: 0.9,
            weight,
            decision,
            rule: "r".into(),
        }
    }

    fn stored(r: &PairRow) -> StoredPair {
        StoredPair {
            a: r.a.clone(),
            b: r.b.clone(),
            weight: r.weight,
            decision: r.decision,
            rule: r.rule.clone(),
        }
    }

    #[test]
    fn pair_changes_write_only_what_differs() {
        let same = row("1", "2", 9.0, Decision::Merge);
        let moved = row("1", "3", 9.0, Decision::Merge);
        let gone = row("2", "3", 4.0, Decision::Review);
        let prior = vec![stored(&same), stored(&moved), stored(&gone)];
        let moved_now = row("1", "3", 9.0, Decision::KeptApart);
        let new = row("3", "4", 12.0, Decision::Merge);
        let PairWrite::Changes { removed, upserts } =
            pair_changes(prior, vec![same, moved_now.clone(), new.clone()])
        else {
            panic!("an incremental run writes changes");
        };
        assert_eq!(upserts, vec![moved_now, new]);
        assert_eq!(removed, vec![(gone.a, gone.b)]);
    }
}
