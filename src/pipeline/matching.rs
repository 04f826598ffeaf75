//! The matching stages in order: prepare, train (when needed), block, score, cluster.

use super::progress::Progress;
use super::report::StageTime;
use crate::blocking::{self, Candidates};
use crate::cluster::{self, Clusters, Constraints};
use crate::compare::Comparator;
use crate::config::Matching;
use crate::model::{self, Model, ScoredPair, Scorer};
use crate::prepare::Prepared;
use crate::record::Record;
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

pub struct MatchOutcome {
    pub model: Model,
    pub trained: bool,
    pub candidates: Candidates,
    /// Pairs at or above the review threshold.
    pub scored: Vec<ScoredPair>,
    pub clusters: Clusters,
    pub score_seconds: f64,
    /// What the built-in defaults chose, when gild.toml gives no matching rules.
    pub chosen: Option<crate::choose::Chosen>,
    /// True when only the pairs touching changed records were generated and scored (the rest
    /// came from the last run); false for a full run, and when the model had to be trained.
    pub incremental: bool,
}

/// What an incremental run brings to matching from the last run.
pub struct Increment {
    /// Records new or changed since the last run, by index.
    pub dirty: Vec<bool>,
    /// The last run's pairs at or above the review threshold whose records are both still
    /// here, as (i, j, index into `rule_names`) with i < j.
    pub stored_pairs: Vec<(u32, u32, u16)>,
    pub rule_names: Vec<String>,
    /// The blocks the last run skipped as too large, per rule name.
    pub skipped_before: HashMap<String, HashSet<u64>>,
    /// The blocking rules of the last run, in order: with others, every pair is scored anew.
    pub rules_before: Vec<String>,
}

/// Times a stage, reporting to `progress` and `stages`.
pub fn stage<T>(
    name: &str,
    progress: &dyn Progress,
    stages: &mut Vec<StageTime>,
    f: impl FnOnce() -> T,
) -> T {
    progress.stage_started(name);
    let span = tracing::info_span!("stage", stage = name);
    let _enter = span.enter();
    let started = Instant::now();
    let out = crate::runtime::cpu(f);
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(seconds, "stage finished");
    progress.stage_finished(name, seconds);
    stages.push(StageTime::now(name, seconds));
    out
}

/// Runs the matching stages. `stored` is used when it fits the configured comparisons;
/// `increment` (the last run's pairs and what changed since) then makes them incremental.
#[allow(clippy::too_many_arguments)]
pub fn run(
    records: &[Record],
    matching: &Matching,
    stored: Option<Model>,
    constraints: &Constraints,
    labels: &model::Labels,
    increment: Option<Increment>,
    progress: &dyn Progress,
    stages: &mut Vec<StageTime>,
) -> MatchOutcome {
    let prepared = stage("prepare", progress, stages, || Prepared::build(records));
    // The built-in defaults' rules kept with the stored model, or chosen anew from these records
    // (and the model is then retrained).
    let resolved = match stored
        .as_ref()
        .and_then(|m| crate::choose::kept(matching, m))
    {
        Some(kept) => Cow::Owned(kept),
        None if matching.choose => stage("choose", progress, stages, || {
            Cow::Owned(crate::choose::choose(matching, records, &prepared))
        }),
        None => Cow::Borrowed(matching),
    };
    let matching: &Matching = &resolved;
    let mut comparator = Comparator::new(&prepared, &matching.comparisons);
    let (model, trained) = match stored.filter(|m| m.fits(&matching.comparisons)) {
        Some(m) => {
            comparator.use_term_tables(&m.term_frequencies);
            (m, false)
        }
        None => (
            stage("train", progress, stages, || {
                let mut model = model::train(
                    &comparator,
                    &matching.training,
                    matching.link_type,
                    matching.limits,
                    labels,
                );
                super::train::keep_with(&mut model, matching, records);
                model
            }),
            true,
        ),
    };
    // A model trained now scores every pair anew: the last run's pairs are not this model's.
    let rules_now: Vec<&str> = matching.blocking.iter().map(|r| r.name.as_str()).collect();
    let mut increment = increment.filter(|inc| !trained && inc.rules_before == rules_now);
    let mut candidates = stage("block", progress, stages, || match increment.as_mut() {
        Some(inc) => blocking::candidates_touching(
            &prepared,
            &matching.blocking,
            matching.link_type,
            matching.limits,
            blocking::Touching {
                dirty: &mut inc.dirty,
                skipped_before: &inc.skipped_before,
            },
        ),
        None => blocking::candidates(
            &prepared,
            &matching.blocking,
            matching.link_type,
            matching.limits,
        ),
    });
    let thresholds = matching.thresholds();
    let scorer = Scorer::new(&model, &comparator);
    let started = Instant::now();
    let scored = stage("score", progress, stages, || {
        let fresh = scorer.score_candidates(candidates.packed(), thresholds.review_weight);
        match &increment {
            Some(inc) => {
                let kept = kept_pairs(inc, &matching.blocking);
                let mut all = scorer.score_candidates(&kept, thresholds.review_weight);
                all.extend(fresh);
                all.par_sort_unstable_by_key(|p| (p.i, p.j));
                all
            }
            None => fresh,
        }
    });
    let score_seconds = started.elapsed().as_secs_f64();
    candidates.release_pairs();
    let merge_weight = thresholds.merge_weight;
    let clusters = stage("cluster", progress, stages, || {
        let edges: Vec<ScoredPair> = scored
            .iter()
            .filter(|p| f64::from(p.weight) >= merge_weight)
            .copied()
            .collect();
        let score = |i: usize, j: usize| scorer.score_for_merging(i, j, merge_weight);
        cluster::cluster(
            prepared.n,
            &edges,
            &score,
            constraints,
            &matching.clustering,
        )
    });
    // The comparison columns are done with. Freeing their millions of interned values takes a
    // quarter of a second on 1M records: done on the side, while golden records are built.
    drop(scorer);
    drop(comparator);
    let chosen = matching.chosen.clone();
    drop(resolved);
    super::free_on_the_side(prepared);
    MatchOutcome {
        model,
        trained,
        candidates,
        scored,
        clusters,
        score_seconds,
        chosen,
        incremental: increment.is_some(),
    }
}

/// The last run's pairs between two clean records, packed for scoring again (the same model
/// gives them the same weight; scoring also tells which carry a contradiction). A pair whose
/// rule is no longer configured cannot be: the model fits, so the rules are the same.
fn kept_pairs(inc: &Increment, rules: &[blocking::BlockingRule]) -> Vec<u64> {
    let rule_of: Vec<Option<u8>> = inc
        .rule_names
        .iter()
        .map(|name| rules.iter().position(|r| &r.name == name).map(|r| r as u8))
        .collect();
    let mut kept: Vec<u64> = inc
        .stored_pairs
        .par_iter()
        .filter(|(i, j, _)| !inc.dirty[*i as usize] && !inc.dirty[*j as usize])
        .filter_map(|&(i, j, r)| Some(blocking::pack(i, j, rule_of[r as usize]?)))
        .collect();
    kept.par_sort_unstable();
    kept
}
