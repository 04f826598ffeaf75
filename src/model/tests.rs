use super::*;
use crate::blocking::{BlockKey, BlockLimits, BlockingRule, LinkType};
use crate::compare::{Comparison, ComparisonConfig};
use crate::prepare::Prepared;
use crate::record::Record;
use chrono::NaiveDate;

fn comparison(field: &str, levels: &[&str]) -> Comparison {
    crate::compare::test_comparison(field, levels, false)
}

/// People with exact duplicates and a few typos, so that training has something to learn.
fn population() -> Vec<Record> {
    let given = [
        "Ann", "Bob", "Cara", "Dan", "Eve", "Finn", "Gail", "Hugo", "Iris", "Jack", "Kim", "Liam",
    ];
    let family = [
        "Lee", "Chan", "Diaz", "Fox", "Gray", "Hu", "Ito", "Jones", "Khan", "Lund", "Moss", "Nash",
        "Owen", "Park",
    ];
    let mut out = Vec::new();
    for i in 0..400usize {
        let g = given[i % given.len()];
        let f = family[(i / 12 + i * 5) % family.len()];
        let dob = NaiveDate::from_ymd_opt(
            1940 + (i % 60) as i32,
            1 + (i % 12) as u32,
            1 + (i % 28) as u32,
        );
        let base = Record {
            source: "s".into(),
            key: format!("{i}").into(),
            given_name: Some(g.into()),
            family_name: Some(f.into()),
            date_of_birth: dob,
            emails: vec![format!("{}.{}{}@x.com", g, f, i).to_lowercase().into()],
            city: Some(format!("CITY{}", i % 30).into()),
            ..Default::default()
        };
        if i % 3 == 0 {
            let mut dup = base.clone();
            dup.key = format!("{i}d").into();
            if i % 2 == 0 {
                dup.given_name = Some(format!("{g}e").into());
            }
            out.push(dup);
        }
        out.push(base);
    }
    out
}

fn training() -> Training {
    let rule = |k: &str| BlockingRule {
        name: k.into(),
        keys: vec![BlockKey::parse(k).expect("key")],
    };
    Training {
        u_sample_pairs: 50_000,
        em_rules: vec![rule("date_of_birth"), rule("email")],
        em_max_pairs: 100_000,
        em_max_iterations: 50,
        prior_rules: vec![rule("email")],
        prior_recall: 0.9,
        seed: 7,
        households: true,
    }
}

const LIMITS: BlockLimits = BlockLimits {
    max_block_records: 1000,
    warn_block_pairs: 1_000_000,
};

#[test]
fn training_learns_that_agreement_is_evidence_and_disagreement_is_not() {
    let records = population();
    let p = Prepared::build(&records);
    let comps = vec![
        comparison("given_name", &["exact", "jaro_winkler >= 0.9"]),
        comparison("family_name", &["exact"]),
        comparison("date_of_birth", &["exact"]),
        comparison("city", &["exact"]),
    ];
    let c = Comparator::new(&p, &comps);
    let model = train(&c, &training(), LinkType::LinkAndDedupe, LIMITS, &[]);
    assert!(model.fits(&comps));
    for cp in &model.comparisons {
        let exact = &cp.levels[0];
        let other = cp.levels.last().expect("else level");
        assert!(
            exact.weight() > 2.0,
            "{}: exact weight {}",
            cp.name,
            exact.weight()
        );
        assert!(
            other.weight() < 0.0,
            "{}: else weight {}",
            cp.name,
            other.weight()
        );
        let m: f64 = cp.levels.iter().map(|l| l.m).sum();
        let u: f64 = cp.levels.iter().map(|l| l.u).sum();
        assert!(
            (m - 1.0).abs() < 1e-6 && (u - 1.0).abs() < 1e-6,
            "probabilities sum to one"
        );
    }
    assert!(
        model.prior > 0.0 && model.prior < 0.01,
        "prior {}",
        model.prior
    );
    assert_eq!(model.training.em_sessions.len(), 2);
    // Training is repeatable.
    let again = train(&c, &training(), LinkType::LinkAndDedupe, LIMITS, &[]);
    assert_eq!(model.comparisons, again.comparisons);
}

#[test]
fn scores_and_explanations_agree() {
    let records = population();
    let p = Prepared::build(&records);
    let comps = vec![
        comparison("given_name", &["exact"]),
        comparison("date_of_birth", &["exact"]),
    ];
    let c = Comparator::new(&p, &comps);
    let model = train(&c, &training(), LinkType::LinkAndDedupe, LIMITS, &[]);
    let scorer = Scorer::new(&model, &c);
    // records 0 and 1 are "0d" and "0": a duplicate pair whose given name differs.
    let (w, contradicted) = scorer.score(0, 1);
    let e = scorer.explain(0, 1);
    assert!((e.match_weight - w).abs() < 1e-9);
    assert!(!contradicted);
    let sum: f64 = e.prior_weight + e.contributions.iter().map(|c| c.weight).sum::<f64>();
    assert!((sum - w).abs() < 1e-9);
    assert_eq!(e.contributions[1].level, "exact");
    assert!((e.match_probability - probability(w)).abs() < 1e-12);
}

#[test]
fn a_stored_model_only_fits_the_comparisons_it_was_trained_for() {
    let records = population();
    let p = Prepared::build(&records);
    let comps = vec![comparison("given_name", &["exact"])];
    let c = Comparator::new(&p, &comps);
    let model = train(&c, &training(), LinkType::LinkAndDedupe, LIMITS, &[]);
    assert!(model.fits(&comps));
    assert!(!model.fits(&[comparison("given_name", &["exact", "nickname"])]));
    assert!(!model.fits(&[comparison("family_name", &["exact"])]));
    let json = serde_json::to_string(&model).expect("serialises");
    let back: Model = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, model);
}

#[test]
fn weights_and_probabilities() {
    assert!((probability(0.0) - 0.5).abs() < 1e-12);
    assert!((logit2(0.5)).abs() < 1e-12);
    assert!((probability(logit2(0.95)) - 0.95).abs() < 1e-9);
}

#[test]
fn a_different_given_name_is_forgiven_only_when_a_named_comparison_agrees() {
    let rec = |key: &str, given: &str, dob: Option<(i32, u32, u32)>| Record {
        source: "s".into(),
        key: key.into(),
        given_name: Some(given.into()),
        family_name: Some("Ingram".into()),
        date_of_birth: dob.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
        ..Default::default()
    };
    let records = vec![
        rec("0", "Roger", Some((1979, 4, 28))),
        rec("1", "Robby", Some((1979, 4, 28))), // a nickname no table knows, same birthday
        rec("2", "Tina", Some((1983, 2, 11))),  // his sister
        rec("3", "Tina", None),
    ];
    let p = Prepared::build(&records);
    let text = r#"
        [[c]]
        field = "given_name"
        levels = ["exact", "jaro_winkler >= 0.9"]
        cannot_link_when_different = true
        unless_agreeing = ["date_of_birth"]
        [[c]]
        field = "date_of_birth"
        levels = ["exact"]
    "#;
    #[derive(serde::Deserialize)]
    struct Cs {
        c: Vec<ComparisonConfig>,
    }
    let cfgs: Cs = toml::from_str(text).expect("config");
    let mut comps: Vec<Comparison> = cfgs
        .c
        .iter()
        .map(|c| Comparison::from_config(c).expect("valid"))
        .collect();
    assert!(crate::compare::resolve_unless(&cfgs.c, &mut comps).is_empty());
    assert_eq!(comps[0].unless_agreeing, vec![1]);
    let c = Comparator::new(&p, &comps);
    let model = train(&c, &training(), LinkType::LinkAndDedupe, LIMITS, &[]);
    let scorer = Scorer::new(&model, &c);
    assert!(
        !scorer.score(0, 1).1,
        "same birthday: the name difference is no contradiction"
    );
    assert!(scorer.score(0, 2).1, "different names and birthdays");
    assert!(
        scorer.score(0, 3).1,
        "different names, no birthday to vouch"
    );
    assert_eq!(
        scorer.explain(0, 3).contradictions,
        vec!["given_name".to_string()]
    );

    let bad: Cs = toml::from_str(&text.replace(
        r#"unless_agreeing = ["date_of_birth"]"#,
        r#"unless_agreeing = ["dob"]"#,
    ))
    .expect("config");
    let mut comps: Vec<Comparison> = bad
        .c
        .iter()
        .map(|c| Comparison::from_config(c).expect("valid"))
        .collect();
    let problems = crate::compare::resolve_unless(&bad.c, &mut comps);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].1.contains("\"dob\""), "{}", problems[0].1);
}

/// Households of two to four people who share a surname, a street, a postcode and a phone, and
/// differ in given name, date of birth and e-mail; every third person has a second record with a
/// typo in the given name. Returns the records and, per record, its person.
fn households() -> (Vec<Record>, Vec<usize>) {
    let given = [
        "Anna", "Boris", "Clara", "Dmitri", "Elena", "Felix", "Greta", "Hannes", "Ingrid", "Jonas",
        "Katja", "Lukas", "Marta", "Nils", "Olga", "Pavel",
    ];
    let family = [
        "Berg", "Coll", "Dahl", "Ek", "Falk", "Gran", "Holm", "Isak", "Jung", "Krog", "Lind",
        "Mohr", "Nord", "Orr", "Pihl", "Quist", "Rask", "Sand", "Toll", "Ulf",
    ];
    let mut records = Vec::new();
    let mut person_of = Vec::new();
    let mut person = 0;
    for h in 0..300usize {
        let surname = family[h % family.len()];
        let street = format!(
            "{} {} ST",
            1 + h * 7 % 900,
            ["OAK", "ELM", "PINE", "ASH"][h % 4]
        );
        let postcode = format!("{:05}", 10_000 + h * 37 % 5000);
        let phone = format!("+1555{:07}", 1_000_000 + h * 7919 % 8_000_000);
        for k in 0..2 + h % 3 {
            let g = given[(h * 3 + k * 5) % given.len()];
            let dob = NaiveDate::from_ymd_opt(
                1940 + ((h + k * 23) % 60) as i32,
                1 + ((h + k) % 12) as u32,
                1 + ((h * 7 + k * 11) % 28) as u32,
            );
            let base = Record {
                source: "s".into(),
                key: format!("{h}-{k}").into(),
                given_name: Some(g.into()),
                family_name: Some(surname.into()),
                date_of_birth: dob,
                emails: vec![format!("{g}.{surname}{h}{k}@x.com").to_lowercase().into()],
                phones: vec![phone.clone().into()],
                street: Some(street.clone().into()),
                postcode: Some(postcode.clone().into()),
                ..Default::default()
            };
            if person % 3 == 0 {
                let mut dup = base.clone();
                dup.key = format!("{h}-{k}d").into();
                dup.given_name = Some(format!("{g}a").into());
                dup.emails = Vec::new();
                records.push(dup);
                person_of.push(person);
            }
            records.push(base);
            person_of.push(person);
            person += 1;
        }
    }
    (records, person_of)
}

#[test]
fn family_members_are_weighed_against_their_household_and_a_duplicate_at_home_still_matches() {
    let (records, person_of) = households();
    let p = Prepared::build(&records);
    let comps = vec![
        comparison("given_name", &["exact", "jaro_winkler >= 0.85"]),
        comparison("family_name", &["exact"]),
        comparison("date_of_birth", &["exact"]),
        comparison("street", &["exact"]),
        comparison("postcode", &["exact"]),
        comparison("phone", &["exact"]),
    ];
    let c = Comparator::new(&p, &comps);
    let mut training = training();
    // The duplicates have no e-mail: the prior comes from surname and date of birth.
    training.prior_rules = vec![BlockingRule {
        name: "family_name+date_of_birth".into(),
        keys: vec![
            BlockKey::parse("family_name").expect("key"),
            BlockKey::parse("date_of_birth").expect("key"),
        ],
    }];
    let mut plain_training = training.clone();
    plain_training.households = false;
    let plain = train(&c, &plain_training, LinkType::LinkAndDedupe, LIMITS, &[]);
    let model = train(&c, &training, LinkType::LinkAndDedupe, LIMITS, &[]);
    assert!(plain.households.is_empty());
    let keys: Vec<&str> = model.households.iter().map(|h| h.key.as_str()).collect();
    assert_eq!(keys, ["street+postcode", "phone"]);
    let home = &model.households[0];
    assert!(
        home.different_people_share > 0.5,
        "most pairs at one address are family members: {}",
        home.different_people_share
    );
    let surname_n = home
        .comparisons
        .iter()
        .find(|h| h.name == "family_name")
        .expect("surname weighed against the household");
    assert!(
        surname_n.n[0] > 0.8,
        "family members share the surname: {}",
        surname_n.n[0]
    );

    let (plain_scorer, scorer) = (Scorer::new(&plain, &c), Scorer::new(&model, &c));
    let (mut family, mut duplicates) = (Vec::new(), Vec::new());
    for i in 0..records.len() {
        for j in i + 1..records.len().min(i + 6) {
            let same_home = records[i].street == records[j].street;
            if !same_home {
                continue;
            }
            if person_of[i] == person_of[j] {
                duplicates.push((i, j));
            } else {
                family.push((i, j));
            }
        }
    }
    assert!(family.len() > 300 && duplicates.len() > 100);
    let share_above = |s: &Scorer<'_>, pairs: &[(usize, usize)], w: f64| {
        pairs.iter().filter(|&&(i, j)| s.score(i, j).0 >= w).count() as f64 / pairs.len() as f64
    };
    let merge = logit2(0.9);
    // Under the independence assumption a shared home counts four times...
    let mean = |s: &Scorer<'_>, pairs: &[(usize, usize)]| {
        pairs.iter().map(|&(i, j)| s.score(i, j).0).sum::<f64>() / pairs.len() as f64
    };
    assert!(
        mean(&plain_scorer, &family) > mean(&scorer, &family) + 10.0,
        "family members: plain {} vs household {}",
        mean(&plain_scorer, &family),
        mean(&scorer, &family)
    );
    // ...the household model counts it once, and still merges the duplicates.
    assert_eq!(share_above(&scorer, &family, 0.0), 0.0, "family members");
    assert_eq!(share_above(&scorer, &duplicates, merge), 1.0, "duplicates");

    let (i, j) = family[0];
    let e = scorer.explain(i, j);
    let h = e.household.as_ref().expect("a shared home is explained");
    assert_eq!(h.key, "street+postcode");
    assert!(h.weight_if_independent > e.match_weight);
    let sum = e.prior_weight + h.key_weight + e.contributions.iter().map(|c| c.weight).sum::<f64>();
    assert!((sum - e.match_weight).abs() < 1e-9);
    assert!((scorer.score(i, j).0 - e.match_weight).abs() < 1e-9);
}
