use super::budget::{self, Budget};
use super::catalogue::{self, Catalogue};
use super::households;
use super::sample::{self, Sample};
use super::*;
use crate::blocking::{BlockKey, BlockLimits};
use crate::config::Config;
use chrono::NaiveDate;

fn person(key: usize, given: &str, family: &str, dob: (i32, u32, u32), street: &str) -> Record {
    Record {
        source: "crm".into(),
        key: key.to_string().into(),
        given_name: Some(given.into()),
        family_name: Some(family.into()),
        date_of_birth: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2),
        street: Some(street.into()),
        city: Some("SPRINGFIELD".into()),
        postcode: Some(format!("{:05}", 10000 + key % 400).into()),
        ..Default::default()
    }
}

/// 2,000 people, each at an address of their own, no e-mails or phones; every fifth has a
/// national ID.
fn singles() -> Vec<Record> {
    let given = ["ANNA", "BEN", "CARL", "DORA", "EVA", "FRED", "GINA", "HUGO"];
    (0..2000)
        .map(|k| {
            let mut r = person(
                k,
                given[k % given.len()],
                &format!("FAMILY{}", k / 3),
                (
                    1940 + (k % 60) as i32,
                    1 + (k % 12) as u32,
                    1 + (k % 28) as u32,
                ),
                &format!("{} MAIN ST", k),
            );
            if k % 5 == 0 {
                r.national_id = Some(format!("ID{k:06}").into());
            }
            r
        })
        .collect()
}

/// 600 homes of three: a parent and two children, one surname, one address.
fn households_of_three() -> Vec<Record> {
    let given = ["ANNA", "BEN", "CARL", "DORA", "EVA", "FRED"];
    (0..1800)
        .map(|k| {
            let home = k / 3;
            let year = if k % 3 == 0 {
                1960
            } else {
                1990 + (k % 3) as i32 * 3
            };
            let mut r = person(
                k,
                given[k % given.len()],
                &format!("FAMILY{home}"),
                (year, 1 + (k % 12) as u32, 1 + (k % 28) as u32),
                &format!("{home} OAK AVE"),
            );
            r.postcode = Some(format!("{:05}", 20000 + home % 300).into());
            r
        })
        .collect()
}

fn base_matching() -> Matching {
    let demo =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bench/febrl3/gild.toml");
    let mut m = Config::load_with_env(&demo, &|_| None)
        .expect("the FEBRL3 config loads")
        .matching;
    m.choose = true;
    m
}

#[test]
fn the_catalogue_loads_and_every_entry_is_valid() {
    let c = Catalogue::shipped().expect("catalogue");
    let all = |_: Field| true;
    let configs = catalogue::comparisons(&c, &all, true);
    assert_eq!(configs.len(), c.comparisons.len());
    let mut comparisons: Vec<Comparison> = configs
        .iter()
        .map(|x| Comparison::from_config(x).expect("valid comparison"))
        .collect();
    assert!(crate::compare::resolve_unless(&configs, &mut comparisons).is_empty());
    for r in c
        .blocking
        .iter()
        .chain(&c.training.em_rules)
        .chain(&c.training.prior_rules)
    {
        BlockingRule::from_config(r).expect("valid rule");
    }
    assert_eq!(
        c.tighteners().len(),
        c.budget.tighten.len(),
        "every tightener parses"
    );
}

#[test]
fn only_filled_fields_are_compared_and_blocked_on() {
    let records = singles();
    let p = Prepared::build(&records);
    let m = choose(&base_matching(), &records, &p);
    let chosen = m.chosen.as_ref().expect("chosen");
    let names: Vec<&str> = m.comparisons.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "given_name",
            "family_name",
            "date_of_birth",
            "street",
            "city",
            "postcode",
            "national_id"
        ]
    );
    let contact = [BlockKey::Value(Field::Email), BlockKey::Value(Field::Phone)];
    assert!(!m
        .blocking
        .iter()
        .any(|r| r.keys.iter().any(|k| contact.contains(k))));
    assert!(m.blocking.iter().any(|r| r.name == "national_id"));
    let id = m
        .comparisons
        .iter()
        .find(|c| c.field == Field::NationalId)
        .expect("id");
    assert!(
        id.cannot_link_when_different,
        "a different national ID is two people"
    );
    let email = chosen
        .fields
        .iter()
        .find(|f| f.field == Field::Email)
        .expect("email");
    assert!(!email.filled && email.share == 0.0);
    assert!(chosen
        .describe()
        .iter()
        .any(|l| l.contains("left out") && l.contains("email 0%")));
    // No e-mail: the prior rule on it is left out as well.
    assert!(!m
        .training
        .prior_rules
        .iter()
        .any(|r| r.name.contains("email")));
}

#[test]
fn a_field_under_five_percent_filled_is_left_out() {
    let mut records = singles();
    for (k, r) in records.iter_mut().enumerate() {
        r.national_id = (k % 25 == 0).then(|| format!("ID{k}").into()); // 4 %
    }
    let p = Prepared::build(&records);
    let m = choose(&base_matching(), &records, &p);
    assert!(!m.comparisons.iter().any(|c| c.field == Field::NationalId));
}

#[test]
fn households_turn_the_family_protections_on() {
    let records = households_of_three();
    let p = Prepared::build(&records);
    let m = choose(&base_matching(), &records, &p);
    let h = &m.chosen.as_ref().expect("chosen").households;
    assert!(h.protected && h.share > 0.5, "{h:?}");
    let given = m
        .comparisons
        .iter()
        .find(|c| c.field == Field::GivenName)
        .expect("given");
    assert!(given.cannot_link_when_different);
    let dob_index = m
        .comparisons
        .iter()
        .position(|c| c.field == Field::DateOfBirth)
        .expect("dob");
    assert_eq!(
        given.unless_agreeing,
        vec![dob_index],
        "no e-mail to agree on"
    );
    let dob = &m.comparisons[dob_index];
    assert!(dob.cannot_link_when_different);
    // Where people share homes, a shared surname and address is no prior evidence of one person.
    assert!(!m
        .training
        .prior_rules
        .iter()
        .any(|r| r.name.contains("street_number")));
}

#[test]
fn duplicates_with_typos_are_not_households() {
    let mut records = singles();
    // A second record of every tenth person: another key, a typo in the given name, same home.
    let dups: Vec<Record> = records
        .iter()
        .step_by(10)
        .enumerate()
        .map(|(n, r)| {
            let mut d = r.clone();
            d.key = format!("dup-{n}").into();
            d.given_name = d.given_name.map(|g| format!("{g}X").into());
            d
        })
        .collect();
    records.extend(dups);
    let p = Prepared::build(&records);
    let m = choose(&base_matching(), &records, &p);
    let h = &m.chosen.as_ref().expect("chosen").households;
    assert!(h.pairs >= households::MIN_PAIRS && !h.protected, "{h:?}");
    assert!(!m
        .comparisons
        .iter()
        .any(|c| c.cannot_link_when_different && c.field != Field::NationalId));
    assert!(m
        .training
        .prior_rules
        .iter()
        .any(|r| r.name.contains("street_number")));
}

#[test]
fn the_sample_does_not_depend_on_the_records_order() {
    let records: Vec<Record> = (0..3000)
        .map(|k| person(k, "A", "B", (1980, 1, 1), "1 X ST"))
        .collect();
    let mut reversed = records.clone();
    reversed.reverse();
    let (a, b) = (Sample::of(&records, 1000), Sample::of(&reversed, 1000));
    assert_eq!(a.size, b.size);
    assert!(a.size > 800 && a.size < 1200, "{}", a.size);
    let kept = |s: &Sample, rs: &[Record]| {
        let mut k: Vec<String> = s.indices().map(|i| rs[i].key.to_string()).collect();
        k.sort();
        k
    };
    assert_eq!(kept(&a, &records), kept(&b, &reversed));
}

#[test]
fn block_pairs_are_estimated_from_the_sample_scaled_by_its_rate() {
    let limits = BlockLimits {
        max_block_records: 5000,
        warn_block_pairs: 1_000_000,
    };
    // Everything sampled: the exact count.
    assert_eq!(
        budget::estimate_from_sizes(&[2, 3, 4], 1.0, limits),
        1 + 3 + 6
    );
    // Half sampled: four times the sampled pairs.
    assert_eq!(budget::estimate_from_sizes(&[2, 3], 0.5, limits), 16);
    // A block the run would skip is not counted.
    assert_eq!(budget::estimate_from_sizes(&[3000, 2], 0.5, limits), 4);
}

#[test]
fn a_rule_over_budget_is_tightened_or_dropped() {
    let rule = |keys: &[&str]| {
        let keys: Vec<BlockKey> = keys
            .iter()
            .map(|k| BlockKey::parse(k).expect("key"))
            .collect();
        BlockingRule {
            name: keys.iter().map(|k| k.name()).collect::<Vec<_>>().join("+"),
            keys,
        }
    };
    let tighten = [
        BlockKey::parse("given_name_initial").expect("key"),
        BlockKey::parse("birth_year").expect("key"),
    ];
    let budget = Budget::new(1000, 20, 10_000);
    assert_eq!(budget.pairs, 20_000);
    let all = |_: Field| true;
    // Postcode alone is over; with the initial still over; with the birth year under.
    let mut pairs = |r: &BlockingRule| match r.name.as_str() {
        "postcode" => 90_000,
        "postcode+given_name_initial" => 30_000,
        "postcode+birth_year" => 5_000,
        _ => 0,
    };
    let (choice, used) = budget::fit(&rule(&["postcode"]), budget, &tighten, &all, &mut pairs);
    assert_eq!(used.expect("tightened").name, "postcode+birth_year");
    assert_eq!(choice.tightened_to.as_deref(), Some("postcode+birth_year"));
    assert!(choice
        .describe(budget)
        .contains("tightened to postcode+birth_year"));
    // Without dates of birth no tightener fits: dropped, and said so.
    let no_dob = |f: Field| f != Field::DateOfBirth;
    let (choice, used) = budget::fit(&rule(&["postcode"]), budget, &tighten, &no_dob, &mut pairs);
    assert!(used.is_none() && choice.dropped);
    assert!(choice.describe(budget).contains("dropped"));
    // Under budget: kept as it is.
    let (choice, used) = budget::fit(&rule(&["email"]), budget, &tighten, &all, &mut pairs);
    assert_eq!(used.expect("kept").name, "email");
    assert_eq!(choice.in_force(), Some("email"));
}

#[test]
fn a_large_estate_tightens_a_broad_rule_on_real_blocks() {
    // 3,000 records over 3 postcodes: `postcode` alone makes ~1.5 M pairs, far over 200 k.
    let records: Vec<Record> = (0..3000)
        .map(|k| {
            let mut r = person(
                k,
                ["ANNA", "BEN", "CARL", "DORA"][k % 4],
                &format!("F{k}"),
                (1950 + (k % 50) as i32, 1, 1),
                &format!("{k} ELM ST"),
            );
            r.postcode = Some(format!("{}", k % 3).into());
            r
        })
        .collect();
    let p = Prepared::build(&records);
    let m = choose(&base_matching(), &records, &p);
    let chosen = m.chosen.as_ref().expect("chosen");
    let postcode = chosen
        .blocking
        .iter()
        .find(|r| r.rule == "postcode")
        .expect("postcode rule");
    assert!(postcode.estimated_pairs > 1_000_000, "{postcode:?}");
    assert!(
        postcode.tightened_to.is_some() || postcode.dropped,
        "{postcode:?}"
    );
    assert!(!m.blocking.iter().any(|r| r.name == "postcode"));
}

#[test]
fn explicit_matching_rules_are_never_replaced() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gild.toml");
    let config = Config::load_with_env(&demo, &|_| None).expect("the demo config loads");
    assert!(!config.matching.choose);
    let records = singles();
    let p = Prepared::build(&records);
    let m = resolve(&config.matching, None, &records, &p);
    assert!(matches!(m, Cow::Borrowed(_)));
    assert!(m.chosen.is_none());
}

#[test]
fn the_description_names_fields_and_rules_never_values() {
    let records = households_of_three();
    let p = Prepared::build(&records);
    let m = choose(&base_matching(), &records, &p);
    let text = m.chosen.as_ref().expect("chosen").describe().join("\n");
    let json = serde_json::to_string(&m.chosen).expect("json");
    for value in ["ANNA", "FAMILY1", "OAK AVE", "SPRINGFIELD", "1960"] {
        assert!(
            !text.contains(value) && !json.contains(value),
            "{value} in {text}"
        );
    }
    assert!(text.contains("households"), "{text}");
    assert!(
        text.contains("per rule): given_name+family_name ~"),
        "{text}"
    );
}

#[test]
fn fill_is_measured_on_the_sample() {
    let records = singles();
    let p = Prepared::build(&records);
    let s = Sample::of(&records, 500);
    let fill = sample::fill_rates(&p, &s);
    let id = fill
        .iter()
        .find(|f| f.field == Field::NationalId)
        .expect("id");
    assert!((id.share - 0.2).abs() < 0.06, "{id:?}");
}

/// A model as a training on these settings would store it (its m and u made up).
fn model_for(m: &Matching) -> Model {
    use crate::model::{ComparisonParams, LevelParams};
    Model {
        format: crate::model::MODEL_FORMAT,
        trained_at: crate::clock::now(),
        records: 2000,
        prior: 0.001,
        comparisons: m
            .comparisons
            .iter()
            .map(|c| ComparisonParams {
                name: c.name.clone(),
                field: c.field,
                term_frequency: c.term_frequency,
                levels: (1..=c.levels.len() + 1)
                    .map(|l| LevelParams {
                        label: c.level_label(l as u8),
                        m: 0.5,
                        u: 0.1,
                    })
                    .collect(),
            })
            .collect(),
        households: Vec::new(),
        term_frequencies: Vec::new(),
        estate: None,
        training: Default::default(),
        chosen: m.chosen.clone(),
        chosen_rules: ChosenRules::of(m),
    }
}

/// `singles`, national IDs on 4 % of them: too few for a comparison of their own.
fn fewer_national_ids() -> Vec<Record> {
    let mut records = singles();
    for (k, r) in records.iter_mut().enumerate() {
        r.national_id = (k % 25 == 0).then(|| format!("ID{k}").into());
    }
    records
}

#[test]
fn a_kept_model_keeps_its_rules_whatever_a_new_sample_would_choose() {
    let base = base_matching();
    let records = singles();
    let trained_on = choose(&base, &records, &Prepared::build(&records));
    let national = |m: &Matching| m.comparisons.iter().any(|c| c.field == Field::NationalId);
    assert!(national(&trained_on), "20 % filled");
    let stored: Model =
        serde_json::from_str(&serde_json::to_string(&model_for(&trained_on)).expect("encodes"))
            .expect("a stored model reads back");

    let later = fewer_national_ids();
    let p = Prepared::build(&later);
    let afresh = resolve(&base, None, &later, &p);
    assert!(!national(&afresh), "a new choice would leave them out");
    let kept = resolve(&base, Some(&stored), &later, &p);
    assert_eq!(kept.comparisons, trained_on.comparisons);
    assert_eq!(kept.blocking, trained_on.blocking);
    assert_eq!(kept.merge_threshold, base.merge_threshold, "gild.toml's");
    assert!(stored.fits(&kept.comparisons));
    let chosen = kept.chosen.as_ref().expect("the choice is still reported");
    assert!(chosen.kept);
    assert!(chosen.describe().iter().any(|l| l.contains("kept with it")));

    // A model without the rules (stored by an older gild) keeps nothing: the data chooses.
    let mut older = stored.clone();
    older.chosen_rules = None;
    assert!(!national(&resolve(&base, Some(&older), &later, &p)));
    older.chosen_rules = stored.chosen_rules.clone();
    older.format -= 1;
    assert!(!national(&resolve(&base, Some(&older), &later, &p)));
}

#[test]
fn a_run_with_a_kept_model_matches_by_its_rules_and_does_not_retrain() {
    use crate::pipeline::{matching, Silent};
    let base = base_matching();
    let records = singles();
    let trained_on = choose(&base, &records, &Prepared::build(&records));
    let later = fewer_national_ids();
    let outcome = matching::run(
        &later,
        &base,
        Some(model_for(&trained_on)),
        &Default::default(),
        &[],
        None,
        &Silent,
        &mut Vec::new(),
    );
    assert!(!outcome.trained, "the kept rules fit the model");
    assert_eq!(outcome.model.chosen_rules, ChosenRules::of(&trained_on));
    let chosen = outcome.chosen.expect("reported");
    assert!(chosen.kept && chosen.comparisons.iter().any(|c| c == "national_id"));
    let rules: Vec<&str> = outcome
        .candidates
        .rules
        .iter()
        .map(|r| r.rule.as_str())
        .collect();
    let kept: Vec<&str> = trained_on
        .blocking
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(rules, kept);
}
