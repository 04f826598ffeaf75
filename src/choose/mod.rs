//! Built-in defaults that fit the data: when gild.toml gives no comparisons, blocking rules or
//! training rules, this stage (after prepare, before training) chooses them from what the
//! mappings actually fill, with the protections the shipped configs use where the data needs
//! them. A config's own `[matching]` rules are never touched.
//!
//! - Fields: measured on a deterministic sample; filled at 5 % or more ([`sample`]).
//! - Comparisons: the catalogue's, for filled fields only ([`catalogue`]).
//! - Households: family protections only when the data shows households ([`households`]).
//! - Blocking: the catalogue's rules on filled fields, each sized to a pair budget ([`budget`]).
//!
//! What was chosen, and why, is recorded in [`Chosen`]: the sync summary, the trained model and
//! `gild explain` show it. It names fields, rules and counts, never a customer's value.

mod budget;
mod catalogue;
mod households;
mod sample;

pub use budget::{Budget, RuleChoice};
pub use households::Households;
pub use sample::FieldFill;

use crate::blocking::{BlockingRule, BlockingRuleConfig};
use crate::compare::Comparison;
use crate::config::Matching;
use crate::model::{Model, Training, TrainingConfig};
use crate::prepare::{Field, Prepared};
use crate::record::Record;
use catalogue::Catalogue;
use sample::Sample;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// What the built-in defaults chose for one set of records, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chosen {
    pub records: u64,
    pub records_sampled: u64,
    /// Every field the catalogue reads, with how much of the sample it fills.
    pub fields: Vec<FieldFill>,
    pub households: Households,
    /// The comparisons chosen, by name.
    pub comparisons: Vec<String>,
    /// The comparisons that keep records apart when they differ.
    pub cannot_link: Vec<String>,
    /// Every candidate blocking rule on filled fields, and what became of it.
    pub blocking: Vec<RuleChoice>,
    /// The pairs one blocking rule may make.
    pub budget_pairs: u64,
    /// Problems that made the choice fall back (none normally).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Made when the stored model was trained, and kept with it (see [`kept`]), not made from
    /// this run's records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kept: bool,
}

/// The rules a choice put in force, kept with the model trained on them (the thresholds, limits
/// and clustering settings stay gild.toml's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChosenRules {
    pub comparisons: Vec<Comparison>,
    pub blocking: Vec<BlockingRule>,
}

impl ChosenRules {
    /// The rules of settings the defaults chose; None for a config's own rules.
    pub fn of(m: &Matching) -> Option<ChosenRules> {
        m.chosen.as_ref()?;
        Some(ChosenRules {
            comparisons: m.comparisons.clone(),
            blocking: m.blocking.clone(),
        })
    }
}

impl Chosen {
    /// Lines for the sync summary, `gild train` and `gild explain`.
    pub fn describe(&self) -> Vec<String> {
        let pct = |f: &FieldFill| format!("{} {:.0}%", f.field.name(), 100.0 * f.share);
        let filled: Vec<String> = self.fields.iter().filter(|f| f.filled).map(pct).collect();
        let empty: Vec<String> = self.fields.iter().filter(|f| !f.filled).map(pct).collect();
        let mut lines = vec![format!(
            "matching settings: built-in defaults chosen from the data ({} of {} records sampled; gild.toml has no [matching] rules)",
            self.records_sampled, self.records
        )];
        if self.kept {
            lines.push(
                "  chosen when the stored model was trained and kept with it: `gild sync --retrain` or `gild train` chooses again"
                    .into(),
            );
        }
        lines.push(format!("  filled: {}", filled.join(", ")));
        if !empty.is_empty() {
            lines.push(format!(
                "  left out (under {:.0}% filled): {}",
                100.0 * sample::FILLED_SHARE,
                empty.join(", ")
            ));
        }
        let h = &self.households;
        lines.push(match (&h.unmeasured, h.protected) {
            (_, true) => format!(
                "  households: {:.0}% of {} sampled pairs at one address with one surname differ in first name and birth year: \
                 a different given name (unless date of birth or e-mail agree) or date of birth keeps records apart",
                100.0 * h.share,
                h.pairs
            ),
            (Some(why), false) => format!("  households: not measured ({why}): no family protections"),
            (None, false) => format!(
                "  households: {:.0}% of {} sampled pairs at one address with one surname differ in first name and birth year: \
                 no family protections",
                100.0 * h.share,
                h.pairs
            ),
        });
        lines.push(format!("  comparisons: {}", self.comparisons.join(", ")));
        if !self.cannot_link.is_empty() {
            lines.push(format!(
                "  cannot link when different: {}",
                self.cannot_link.join(", ")
            ));
        }
        let budget = Budget {
            pairs: self.budget_pairs,
        };
        let kept: Vec<String> = self
            .blocking
            .iter()
            .filter(|r| r.kept())
            .map(|r| r.describe(budget))
            .collect();
        lines.push(format!(
            "  blocking (estimated pairs; at most {} per rule): {}",
            budget::thousands(budget.pairs),
            kept.join(", ")
        ));
        for r in self.blocking.iter().filter(|r| !r.kept()) {
            lines.push(format!("  ! blocking rule {}", r.describe(budget)));
        }
        for n in &self.notes {
            lines.push(format!("  ! {n}"));
        }
        lines
    }
}

/// The matching settings to run with: `matching` itself when the config gives its own rules;
/// else the rules kept with `model`, when it was trained on a choice and is current (see
/// [`kept`]); else the built-in defaults chosen from these records (a model trained for other
/// rules then no longer fits, and is retrained).
pub fn resolve<'m>(
    matching: &'m Matching,
    model: Option<&Model>,
    records: &[Record],
    p: &Prepared,
) -> Cow<'m, Matching> {
    if !matching.choose {
        return Cow::Borrowed(matching);
    }
    match model.and_then(|m| kept(matching, m)) {
        Some(m) => Cow::Owned(m),
        None => Cow::Owned(choose(matching, records, p)),
    }
}

/// The settings a model trained on the defaults' choice keeps: its comparisons and blocking
/// rules, with `base`'s thresholds, limits and clustering. Chosen again from each run's sample,
/// a change anywhere in the data could change them, and with them every pair's weight. The
/// training rules stay `base`'s: a model is kept only while it is not retrained, and a training
/// makes a new choice.
pub fn kept(base: &Matching, model: &Model) -> Option<Matching> {
    if !base.choose {
        return None;
    }
    let (rules, chosen) = (model.chosen_rules.as_ref()?, model.chosen.as_ref()?);
    if !model.fits(&rules.comparisons) {
        return None;
    }
    Some(Matching {
        comparisons: rules.comparisons.clone(),
        blocking: rules.blocking.clone(),
        chosen: Some(Chosen {
            kept: true,
            ..chosen.clone()
        }),
        ..base.clone()
    })
}

/// The built-in defaults for these records; `base` gives the thresholds, link type and limits,
/// and stays in force (with a note) if the catalogue cannot be used.
pub fn choose(base: &Matching, records: &[Record], p: &Prepared) -> Matching {
    let sample = Sample::of(records, sample::SAMPLE_RECORDS);
    let fields = sample::fill_rates(p, &sample);
    let filled = |f: Field| fields.iter().any(|x| x.field == f && x.filled);
    let households = households::detect(p, &sample, &filled);
    let mut chosen = Chosen {
        records: records.len() as u64,
        records_sampled: sample.size as u64,
        fields: fields.clone(),
        households: households.clone(),
        comparisons: Vec::new(),
        cannot_link: Vec::new(),
        blocking: Vec::new(),
        budget_pairs: 0,
        notes: Vec::new(),
        kept: false,
    };
    let fallback = |mut chosen: Chosen, note: String| {
        chosen.notes.push(note);
        chosen.comparisons = base.comparisons.iter().map(|c| c.name.clone()).collect();
        let mut m = base.clone();
        m.chosen = Some(chosen);
        m
    };
    let catalogue = match Catalogue::shipped() {
        Ok(c) => c,
        Err(e) => {
            return fallback(
                chosen,
                format!("the catalogue does not load ({e}): the fixed defaults are used"),
            )
        }
    };
    let comparisons = match comparisons(&catalogue, &filled, households.protected) {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            return fallback(
                chosen,
                "no compared field is filled: the fixed defaults are used".into(),
            )
        }
        Err(e) => return fallback(chosen, format!("{e}: the fixed defaults are used")),
    };
    let budget = Budget::new(
        records.len(),
        catalogue.budget.pairs_per_record,
        catalogue.budget.min_pairs,
    );
    let (choices, blocking) = blocking_rules(&catalogue, p, &sample, base, budget, &filled);
    if blocking.is_empty() {
        chosen.blocking = choices;
        return fallback(
            chosen,
            "no blocking rule fits the data: the fixed defaults are used".into(),
        );
    }
    let training = match training(&catalogue, &blocking, households.protected, &filled) {
        Ok(t) => t,
        Err(e) => return fallback(chosen, format!("{e}: the fixed defaults are used")),
    };
    chosen.comparisons = comparisons.iter().map(|c| c.name.clone()).collect();
    chosen.cannot_link = comparisons
        .iter()
        .filter(|c| c.cannot_link_when_different)
        .map(|c| c.name.clone())
        .collect();
    chosen.blocking = choices;
    chosen.budget_pairs = budget.pairs;
    Matching {
        blocking,
        comparisons,
        training,
        chosen: Some(chosen),
        ..base.clone()
    }
}

/// The catalogue's comparisons for the filled fields, validated.
fn comparisons(
    catalogue: &Catalogue,
    filled: &dyn Fn(Field) -> bool,
    households: bool,
) -> Result<Vec<Comparison>, String> {
    let configs = catalogue::comparisons(catalogue, filled, households);
    let mut out = Vec::with_capacity(configs.len());
    for c in &configs {
        out.push(
            Comparison::from_config(c).map_err(|(_, e)| format!("catalogue comparison: {e}"))?,
        );
    }
    if let Some((_, e)) = crate::compare::resolve_unless(&configs, &mut out)
        .into_iter()
        .next()
    {
        return Err(format!("catalogue comparison: {e}"));
    }
    Ok(out)
}

/// The catalogue's blocking rules on filled fields, each fitted to the budget, each once.
fn blocking_rules(
    catalogue: &Catalogue,
    p: &Prepared,
    sample: &Sample,
    base: &Matching,
    budget: Budget,
    filled: &dyn Fn(Field) -> bool,
) -> (Vec<RuleChoice>, Vec<BlockingRule>) {
    let tighteners = catalogue.tighteners();
    let mut estimate = |r: &BlockingRule| budget::estimate(p, r, sample, base.limits);
    let mut choices = Vec::new();
    let mut rules: Vec<BlockingRule> = Vec::new();
    for cfg in &catalogue.blocking {
        if !catalogue::rule_is_filled(cfg, filled) {
            continue;
        }
        let Ok(rule) = BlockingRule::from_config(cfg) else {
            continue; // the catalogue test keeps every rule valid
        };
        let (choice, in_force) = budget::fit(&rule, budget, &tighteners, filled, &mut estimate);
        choices.push(choice);
        if let Some(r) = in_force {
            if !rules.iter().any(|x| x.keys == r.keys) {
                rules.push(r);
            }
        }
    }
    (choices, rules)
}

/// Training rules on filled fields; the address prior rule only without households.
fn training(
    catalogue: &Catalogue,
    blocking: &[BlockingRule],
    households: bool,
    filled: &dyn Fn(Field) -> bool,
) -> Result<Training, String> {
    let keep = |rules: &[BlockingRuleConfig]| -> Vec<BlockingRuleConfig> {
        rules
            .iter()
            .filter(|r| catalogue::rule_is_filled(r, filled))
            .cloned()
            .collect()
    };
    let t = &catalogue.training;
    let mut prior_rules = keep(&t.prior_rules);
    if !households {
        prior_rules.extend(keep(&t.prior_rules_without_households));
    }
    let config = TrainingConfig {
        em_rules: keep(&t.em_rules),
        prior_rules,
        ..TrainingConfig::default()
    };
    Training::from_config(&config, blocking).map_err(|(_, e)| format!("catalogue training: {e}"))
}

#[cfg(test)]
mod tests;
