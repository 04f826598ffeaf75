use super::*;
use crate::record::Record;
use chrono::NaiveDate;

use super::test_comparison as comparison;

fn person(
    given: &str,
    family: &str,
    dob: Option<(i32, u32, u32)>,
    email: &[&str],
    street: &str,
) -> Record {
    Record {
        source: "s".into(),
        key: format!("{given}{family}").into(),
        given_name: (!given.is_empty()).then(|| given.into()),
        family_name: (!family.is_empty()).then(|| family.into()),
        date_of_birth: dob.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
        emails: email.iter().map(|e| (*e).into()).collect(),
        street: (!street.is_empty()).then(|| street.into()),
        ..Default::default()
    }
}

#[test]
fn levels_are_checked_in_order_first_match_wins() {
    let records = vec![
        person(
            "Robert",
            "Smith",
            Some((1980, 3, 4)),
            &["rob@x.com"],
            "12 MAIN ST",
        ),
        person(
            "Bob",
            "Smyth",
            Some((1980, 4, 3)),
            &["rob@y.com", "bob@z.com"],
            "12 MAIN ST APT 2",
        ),
        person("Roberta", "Smith", Some((1981, 3, 4)), &[], ""),
        person("R", "", Some((1975, 1, 1)), &["bob@z.com"], "9 ELM RD"),
    ];
    let p = Prepared::build(&records);
    let comps = vec![
        comparison(
            "given_name",
            &["exact", "nickname", "jaro_winkler >= 0.92", "initial"],
            false,
        ),
        comparison("family_name", &["exact", "jaro_winkler >= 0.88"], false),
        comparison(
            "date_of_birth",
            &[
                "exact",
                "date_transposed",
                "date_one_field_off",
                "date_within 365",
            ],
            false,
        ),
        comparison("email", &["exact", "email_local"], false),
        comparison("street", &["exact", "jaccard >= 0.6"], false),
    ];
    let c = Comparator::new(&p, &comps);
    // Robert / Bob: nickname; Smith / Smyth: fuzzy; dob transposed; e-mail local part; street words.
    assert_eq!(c.level(0, 0, 1), 2);
    assert_eq!(c.level(1, 0, 1), 2);
    assert_eq!(c.level(2, 0, 1), 2);
    assert_eq!(c.level(3, 0, 1), 2);
    assert_eq!(c.level(4, 0, 1), 2);
    // Robert / Roberta: jaro-winkler; same family; dob one field off; no e-mail -> null.
    assert_eq!(c.level(0, 0, 2), 3);
    assert_eq!(c.level(1, 0, 2), 1);
    assert_eq!(c.level(2, 0, 2), 3);
    assert_eq!(c.level(3, 0, 2), 0);
    assert_eq!(c.level(4, 0, 2), 0);
    // Bob / R: initial? B vs R: no -> else. Family missing -> null. Shared e-mail -> exact.
    assert_eq!(c.level(0, 1, 3), comps[0].else_level());
    assert_eq!(c.level(1, 1, 3), 0);
    assert_eq!(c.level(3, 1, 3), 1);
    assert_eq!(c.level(2, 1, 3), comps[2].else_level());
    assert_eq!(comps[2].level_label(comps[2].else_level()), "else");
    assert_eq!(comps[0].level_label(2), "nickname");
}

#[test]
fn term_frequencies_come_from_the_data() {
    let records: Vec<Record> = ["Smith", "Smith", "Smith", "Zbyszko"]
        .iter()
        .map(|f| person("A", f, None, &[], ""))
        .collect();
    let p = Prepared::build(&records);
    let comps = vec![comparison("family_name", &["exact"], true)];
    let c = Comparator::new(&p, &comps);
    assert_eq!(c.term_frequency(0, 0, 1), Some(0.75));
    assert_eq!(c.term_frequency(0, 3, 3), Some(0.25));
    assert!(comps[0].is_tf_level(1));
    assert!(!comps[0].is_tf_level(2));
}

#[test]
fn swapped_names_and_phonetics() {
    let records = vec![
        person("Lee", "Ann", None, &[], ""),
        person("Ann", "Lee", None, &[], ""),
        person("Stephen", "Meyer", None, &[], ""),
    ];
    let mut r3 = person("Steven", "Mayer", None, &[], "");
    r3.key = "x".into();
    let mut records = records;
    records.push(r3);
    let p = Prepared::build(&records);
    let comps = vec![
        comparison("given_name", &["exact", "swapped", "soundex"], false),
        comparison("family_name", &["exact", "metaphone"], false),
    ];
    let c = Comparator::new(&p, &comps);
    assert_eq!(c.level(0, 0, 1), 2, "swapped");
    assert_eq!(c.level(0, 2, 3), 3, "Stephen/Steven sound alike");
    assert_eq!(c.level(1, 2, 3), 2, "Meyer/Mayer sound alike");
}

#[test]
fn bad_comparison_configs_are_refused() {
    let bad = |text: &str| {
        let cfg: ComparisonConfig = toml::from_str(text).expect("parses");
        Comparison::from_config(&cfg).unwrap_err().1
    };
    assert!(bad("field = \"shoe_size\"\nlevels = [\"exact\"]").contains("unknown field"));
    assert!(bad("field = \"city\"\nlevels = [\"nickname\"]").contains("does not apply"));
    assert!(bad("field = \"city\"\nlevels = []").contains("at least one level"));
    assert!(bad("field = \"city\"\nlevels = [\"jaro_winkler > 0.9\"]").contains(">="));
}

#[test]
fn term_frequencies_kept_with_a_model_outweigh_the_estate_of_the_day() {
    let family = |names: &[&str]| -> Vec<Record> {
        names
            .iter()
            .enumerate()
            .map(|(k, f)| Record {
                key: k.to_string().into(),
                ..person("A", f, None, &[], "")
            })
            .collect()
    };
    let comps = vec![comparison("family_name", &["exact"], true)];
    let trained = family(&["Smith", "Smith", "Smith", "Zbyszko"]);
    let p = Prepared::build(&trained);
    let tables = Comparator::new(&p, &comps).term_tables();
    assert_eq!(tables.len(), 1);

    // A day later the estate has one Smith more and two new Nowaks.
    let today = family(&[
        "Smith", "Smith", "Smith", "Smith", "Zbyszko", "Nowak", "Nowak",
    ]);
    let p = Prepared::build(&today);
    let mut c = Comparator::new(&p, &comps);
    assert_eq!(
        c.term_frequency(0, 0, 1),
        Some(4.0 / 7.0),
        "the day's own count"
    );
    c.use_term_tables(&tables);
    assert_eq!(
        c.term_frequency(0, 0, 1),
        Some(0.75),
        "the training estate's count"
    );
    assert_eq!(c.term_frequency(0, 4, 4), Some(0.25));
    assert_eq!(
        c.term_frequency(0, 5, 6),
        Some(0.25),
        "unseen in training: seen once"
    );
}
