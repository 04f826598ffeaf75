//! The catalogue the defaults choose from (`catalogue.toml`), and the comparisons it gives for
//! the filled fields.

use crate::blocking::{BlockKey, BlockingRuleConfig};
use crate::compare::ComparisonConfig;
use crate::prepare::Field;
use serde::Deserialize;
use toml::Spanned;

const CATALOGUE: &str = include_str!("catalogue.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub comparisons: Vec<ComparisonConfig>,
    pub blocking: Vec<BlockingRuleConfig>,
    pub budget: BudgetConfig,
    pub training: TrainingCatalogue,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    pub pairs_per_record: u64,
    pub min_pairs: u64,
    pub tighten: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingCatalogue {
    pub em_rules: Vec<BlockingRuleConfig>,
    pub prior_rules: Vec<BlockingRuleConfig>,
    pub prior_rules_without_households: Vec<BlockingRuleConfig>,
}

impl Catalogue {
    /// The shipped catalogue; a unit test keeps it valid.
    pub fn shipped() -> Result<Catalogue, String> {
        toml::from_str(CATALOGUE).map_err(|e| e.to_string())
    }

    /// The keys that may tighten a rule, in order.
    pub fn tighteners(&self) -> Vec<BlockKey> {
        self.budget
            .tighten
            .iter()
            .filter_map(|k| BlockKey::parse(k))
            .collect()
    }
}

/// Whether every key of a rule reads filled fields (unknown keys never are).
pub fn rule_is_filled(rule: &BlockingRuleConfig, filled: &dyn Fn(Field) -> bool) -> bool {
    rule.keys.iter().all(|k| {
        BlockKey::parse(k.get_ref())
            .is_some_and(|key| super::budget::key_fields(key).iter().all(|f| filled(*f)))
    })
}

/// The catalogue's comparisons on filled fields. With `households`, a different given name or
/// date of birth keeps records apart, as in the shipped demo and synthetic configs: the given
/// name unless the date of birth or the e-mail agrees exactly (an unknown nickname).
pub fn comparisons(
    catalogue: &Catalogue,
    filled: &dyn Fn(Field) -> bool,
    households: bool,
) -> Vec<ComparisonConfig> {
    let mut chosen: Vec<ComparisonConfig> = catalogue
        .comparisons
        .iter()
        .filter(|c| Field::parse(c.field.get_ref()).is_some_and(filled))
        .cloned()
        .collect();
    let both_names = filled(Field::GivenName) && filled(Field::FamilyName);
    for c in &mut chosen {
        if !both_names {
            c.levels.retain(|l| l.get_ref() != "swapped");
        }
    }
    if households {
        let present: Vec<String> = chosen.iter().map(|c| c.field.get_ref().clone()).collect();
        for c in &mut chosen {
            match c.field.get_ref().as_str() {
                "given_name" => {
                    c.cannot_link_when_different = true;
                    c.unless_agreeing = ["date_of_birth", "email"]
                        .into_iter()
                        .filter(|u| present.iter().any(|p| p == u))
                        .map(|u| Spanned::new(0..0, u.to_string()))
                        .collect();
                }
                "date_of_birth" => c.cannot_link_when_different = true,
                _ => {}
            }
        }
    }
    chosen
}
