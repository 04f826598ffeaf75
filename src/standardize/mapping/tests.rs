use super::*;
use crate::connectors::RawRow;
use std::sync::Arc;

fn mapping(text: &str) -> Mapping {
    parse_mapping("m", Path::new("mappings/m.toml"), text).expect("valid mapping")
}

fn row(values: &[&str]) -> RawRow {
    RawRow {
        values: values
            .iter()
            .map(|v| {
                if v.is_empty() {
                    None
                } else {
                    Some(v.to_string())
                }
            })
            .collect(),
        place: Arc::from("x.csv"),
        line: 2,
    }
}

fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
}

#[test]
fn maps_a_legacy_crm_row_to_the_canonical_record() {
    let m = mapping(
        r#"
[defaults]
phone_region = "US"
country = "US"
date_formats = ["%m/%d/%Y"]
null_values = ["N/A"]

[fields]
full_name = { column = "name", order = "family_first" }
date_of_birth = { column = "dob" }
email = { column = "email" }
phones = [{ column = "home" }, { column = "cell" }]
street = { columns = ["addr1", "addr2"] }
city = { column = "city" }
region = { column = "state" }
postcode = { column = "zip" }
updated_at = { column = "changed", formats = ["%Y-%m-%d %H:%M:%S"] }
"#,
    );
    let columns = cols(&[
        "id", "name", "dob", "email", "home", "cell", "addr1", "addr2", "city", "state", "zip",
        "changed",
    ]);
    let c = m
        .compile(&columns, RecordKind::Customer, &["id".into()], "x.csv")
        .expect("compiles");
    let r = row(&[
        "100004",
        "RUSSO, GIULIA M",
        "06/23/1980",
        " Giulia.Russo31@Comcast.net ",
        "(617) 555-0185",
        "617.555.0185",
        "2454 Orchard Drive",
        "Apartment 4B",
        "boston",
        "Massachusetts",
        "2111",
        "2017-03-01 17:52:48",
    ]);
    let mapped = c.apply("crm", &r, today()).expect("maps");
    let rec = mapped.record;
    assert_eq!(rec.key, "100004");
    assert_eq!(rec.given_name.as_deref(), Some("Giulia"));
    assert_eq!(rec.middle_name.as_deref(), Some("M"));
    assert_eq!(rec.family_name.as_deref(), Some("Russo"));
    assert_eq!(rec.date_of_birth, NaiveDate::from_ymd_opt(1980, 6, 23));
    assert_eq!(rec.emails, vec![Text::from("giulia.russo31@comcast.net")]);
    assert_eq!(
        rec.phones,
        vec![Text::from("+16175550185")],
        "the same phone twice is kept once"
    );
    assert_eq!(rec.street.as_deref(), Some("2454 ORCHARD DR"));
    assert_eq!(rec.unit.as_deref(), Some("APT 4B"));
    assert_eq!(rec.region.as_deref(), Some("MA"));
    assert_eq!(
        rec.postcode.as_deref(),
        Some("02111"),
        "leading zero restored"
    );
    assert_eq!(
        rec.country.as_deref(),
        Some("US"),
        "country from the defaults"
    );
    assert_eq!(rec.origin, "x.csv:2");
    assert!(rec.updated_at.is_some());
    assert!(mapped.findings.is_empty());
}

#[test]
fn bad_values_reject_the_row_or_empty_the_field_as_configured() {
    let m = mapping(
        r#"
[fields]
full_name = { column = "name" }
date_of_birth = { column = "dob", on_error = "reject" }
email = { column = "email" }
"#,
    );
    let c = m
        .compile(
            &cols(&["id", "name", "dob", "email"]),
            RecordKind::Customer,
            &["id".into()],
            "x.csv",
        )
        .expect("compiles");
    let err = c
        .apply(
            "s",
            &row(&["7", "Ann Lee", "1981-02-31", "a@b.com"]),
            today(),
        )
        .unwrap_err();
    assert_eq!(err.key.as_deref(), Some("7"));
    assert!(err.reason.starts_with("date_of_birth:"), "{}", err.reason);

    let ok = c
        .apply(
            "s",
            &row(&["8", "Ann Lee", "1981-02-28", "not an email"]),
            today(),
        )
        .expect("kept");
    assert!(ok.record.emails.is_empty());
    assert_eq!(ok.findings.len(), 1, "quarantined by default");
    assert_eq!(ok.findings[0].field, "email");
    assert_eq!(ok.findings[0].raw, "not an email");
    assert!(
        !ok.findings[0].reason.contains("not an email"),
        "the reason carries no value: {}",
        ok.findings[0].reason
    );

    let err = c
        .apply("s", &row(&["", "Ann Lee", "", ""]), today())
        .unwrap_err();
    assert!(err.reason.contains("missing key"));
    assert_eq!(err.key, None);

    let err = c
        .apply("s", &row(&["9", "Ann Lee", "2099-01-01", ""]), today())
        .unwrap_err();
    assert!(
        err.reason.contains("not a plausible date of birth"),
        "{}",
        err.reason
    );
}

#[test]
fn facts_of_billing_and_orders_are_typed() {
    let m = mapping(
        r#"
[defaults]
decimal_comma = true

[fields]
full_name = { column = "name" }

[facts]
amount = { column = "amount" }
items = { column = "items" }
order_date = { column = "date", formats = ["%d.%m.%Y"] }
"#,
    );
    let c = m
        .compile(
            &cols(&["order", "name", "amount", "items", "date"]),
            RecordKind::Fulfilment,
            &["order".into()],
            "o.csv",
        )
        .expect("compiles");
    let rec = c
        .apply(
            "shop",
            &row(&["SO-1", "Mr. Bob Smith", "1.234,50", "3", "24.12.2025"]),
            today(),
        )
        .expect("maps")
        .record;
    let Facts::Fulfilment(f) = rec.facts else {
        panic!("fulfilment facts")
    };
    assert_eq!(f.order_id, "SO-1", "the order id defaults to the key");
    assert_eq!(f.amount, Some(Decimal::new(123450, 2)));
    assert_eq!(f.items, Some(3));
    assert_eq!(f.order_date, NaiveDate::from_ymd_opt(2025, 12, 24));
    assert_eq!(rec.given_name.as_deref(), Some("Bob"), "title dropped");

    assert_eq!(parse_decimal("(12.50)", false), Ok(Decimal::new(-1250, 2)));
    assert_eq!(parse_decimal("$1,000", false), Ok(Decimal::new(1000, 0)));
    assert!(parse_decimal("twelve", false).is_err());
    assert_eq!(parse_integer("1,200"), Ok(1200));
    assert_eq!(parse_integer("3.0"), Ok(3));
    assert!(parse_integer("3.5").is_err());
}

#[test]
fn composite_keys_constants_and_transforms() {
    let m = mapping(
        r#"
[fields]
given_name = { column = "first", transforms = ["trim", "upper"] }
family_name = { column = "last" }
country = { value = "Germany" }
postcode = { column = "plz" }
national_id = { column = "tax" }
"#,
    );
    let c = m
        .compile(
            &cols(&["Region", "No", "FIRST", "last", "plz", "tax"]),
            RecordKind::Customer,
            &["region".into(), "no".into()],
            "t",
        )
        .expect("case-insensitive columns compile");
    let rec = c
        .apply(
            "s",
            &row(&["EU", "42", " anna ", "VON STEIN", "01067", "12 345-678"]),
            today(),
        )
        .expect("maps")
        .record;
    assert_eq!(rec.key, "EU|42");
    assert_eq!(
        rec.given_name.as_deref(),
        Some("Anna"),
        "upper, then the name standardiser's display case"
    );
    assert_eq!(rec.country.as_deref(), Some("DE"));
    assert_eq!(rec.postcode.as_deref(), Some("01067"));
    assert_eq!(rec.national_id.as_deref(), Some("12345678"));
}

#[test]
fn unknown_columns_fail_naming_file_line_and_name() {
    let m = mapping("[fields]\nfull_name = { column = \"name\" }\n\ndate_of_birth = { column = \"birthdate\" }\n");
    let problems = m
        .compile(
            &cols(&["id", "name", "dob"]),
            RecordKind::Customer,
            &["id".into()],
            "data.csv",
        )
        .unwrap_err();
    assert_eq!(problems.len(), 1);
    let text = problems[0].to_string();
    assert!(text.starts_with("mappings/m.toml:4:"), "{text}");
    assert!(
        text.contains("unknown column \"birthdate\"") && text.contains("none of the 3 columns"),
        "{text}"
    );
    assert!(
        !text.contains("dob"),
        "the source's column names are not quoted: {text}"
    );

    let problems = m
        .compile(
            &cols(&["name", "birthdate"]),
            RecordKind::Customer,
            &["id".into()],
            "data.csv",
        )
        .unwrap_err();
    assert!(problems[0].message.contains("primary key column \"id\""));
}

#[test]
fn a_first_row_of_data_read_as_the_header_is_named_as_such_without_its_values() {
    let m =
        mapping("[fields]\nfull_name = { column = \"name\" }\nemail = { column = \"email\" }\n");
    let row = [
        "7",
        "ZZSENTINEL42 Public",
        "zzsentinel42@example.com",
        "2000",
    ];
    let problems = m
        .compile(
            &cols(&row),
            RecordKind::Customer,
            &["id".into()],
            "./data/people.csv",
        )
        .unwrap_err();
    let text = problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains(
            "none of the 2 columns this mapping reads is among the 4 columns of ./data/people.csv"
        ) && text.contains("header = false"),
        "{text}"
    );
    assert!(text.contains("unknown column \"email\""), "{text}");
    assert!(!text.to_lowercase().contains("zzsentinel42"), "{text}");
    assert!(!text.contains("\"7\"") && !text.contains("2000"), "{text}");
}

#[test]
fn malformed_mappings_fail_at_parse() {
    let err = parse_mapping(
        "m",
        Path::new("m.toml"),
        "[fields]\nemail = { column = \"e\", transforms = [\"shout\"] }\n",
    )
    .unwrap_err();
    assert_eq!(err[0].line, Some(2));
    assert!(
        err[0].message.contains("unknown variant `shout`"),
        "{}",
        err[0].message
    );

    let err = parse_mapping(
        "m",
        Path::new("m.toml"),
        "[fields]\nshoe_size = { column = \"s\" }\n",
    )
    .unwrap_err();
    assert!(err[0].message.contains("unknown field `shoe_size`"));

    let err = parse_mapping(
        "m",
        Path::new("m.toml"),
        "[fields]\nemail = { column = \"e\", value = \"x\" }\n",
    )
    .unwrap_err();
    assert!(err[0].message.contains("exactly one of"));

    let m = parse_mapping(
        "m",
        Path::new("m.toml"),
        "[facts]\norder_id = { column = \"o\" }\n",
    )
    .expect("parses");
    let problems = m.check_kind(RecordKind::Billing);
    assert!(problems[0]
        .message
        .contains("does not belong to billing records"));
}

#[test]
fn a_required_field_rejects_the_record_when_empty_or_quarantined() {
    let m = mapping(
        r#"
[fields]
full_name = { column = "name" }
email = { column = "email", required = true }
phone = { column = "phone" }
"#,
    );
    let c = m
        .compile(
            &cols(&["id", "name", "email", "phone"]),
            RecordKind::Customer,
            &["id".into()],
            "x.csv",
        )
        .expect("compiles");
    let err = c
        .apply("s", &row(&["1", "Ann Lee", "ann lee@x", "811"]), today())
        .unwrap_err();
    assert!(
        err.reason.starts_with("email: required field"),
        "{}",
        err.reason
    );
    let err = c
        .apply("s", &row(&["2", "Ann Lee", "", ""]), today())
        .unwrap_err();
    assert!(err.reason.contains("it is empty"), "{}", err.reason);
    let ok = c
        .apply("s", &row(&["3", "Ann Lee", "ann@x.com", "811"]), today())
        .expect("a bad phone is quarantined");
    assert!(ok.record.phones.is_empty());
    assert_eq!(ok.findings.len(), 1);
    assert_eq!(ok.findings[0].field, "phone");
}

#[test]
fn typed_date_columns_need_no_formats_and_text_columns_keep_theirs() {
    use crate::connectors::ColumnType;
    let m = mapping(
        r#"
[defaults]
date_formats = ["%m/%d/%Y"]

[fields]
full_name = { column = "name" }
date_of_birth = { column = "dob" }
updated_at = { column = "changed" }

[facts]
last_invoice_date = { column = "last_invoice" }
"#,
    );
    let columns = cols(&["id", "name", "dob", "changed", "last_invoice"]);
    let types = [
        ColumnType::Number,
        ColumnType::Text,
        ColumnType::Date,
        ColumnType::Timestamp,
        ColumnType::Timestamp,
    ];
    let c = m
        .compile_typed(
            &columns,
            &types,
            RecordKind::Billing,
            &["id".into()],
            "query",
        )
        .expect("compiles");
    let ok = c
        .apply(
            "s",
            &row(&[
                "1",
                "Ann Lee",
                "1981-02-28",
                "2024-05-01 10:11:12",
                "2024-04-30 23:59:59",
            ]),
            today(),
        )
        .expect("kept");
    assert!(ok.findings.is_empty(), "{:?}", ok.findings);
    assert_eq!(
        ok.record.date_of_birth,
        NaiveDate::from_ymd_opt(1981, 2, 28)
    );
    match &ok.record.facts {
        crate::record::Facts::Billing(b) => {
            assert_eq!(b.last_invoice_date, NaiveDate::from_ymd_opt(2024, 4, 30))
        }
        other => panic!("{other:?}"),
    }
    // A DATE column holding text in the mapping's format (SQLite types values, not columns).
    let ok = c
        .apply("s", &row(&["2", "Ann Lee", "02/28/1981", "", ""]), today())
        .expect("kept");
    assert_eq!(
        ok.record.date_of_birth,
        NaiveDate::from_ymd_opt(1981, 2, 28)
    );
    // A typed date that is no plausible birth date is quarantined, the record kept.
    let ok = c
        .apply("s", &row(&["3", "Ann Lee", "1143-05-01", "", ""]), today())
        .expect("kept");
    assert_eq!(ok.record.date_of_birth, None);
    assert_eq!(ok.findings[0].field, "date_of_birth");
    // The same values in text columns meet the configured formats.
    let plain = m
        .compile(&columns, RecordKind::Billing, &["id".into()], "x.csv")
        .expect("compiles");
    let ok = plain
        .apply("s", &row(&["4", "Ann Lee", "1981-02-28", "", ""]), today())
        .expect("kept");
    assert_eq!(ok.record.date_of_birth, None, "%m/%d/%Y does not fit");
    assert_eq!(ok.findings.len(), 1);
}

#[test]
fn a_house_number_in_its_own_column_joins_the_street_on_line_one() {
    let m = mapping(
        r#"
[fields]
full_name = { column = "name" }
street = { columns = ["number", "street", "line2"] }
"#,
    );
    let c = m
        .compile(
            &cols(&["id", "name", "number", "street", "line2"]),
            RecordKind::Customer,
            &["id".into()],
            "x.csv",
        )
        .expect("compiles");
    let street = |number: &str, street: &str, line2: &str| {
        let mapped = c
            .apply(
                "crm",
                &row(&["1", "Ann Lee", number, street, line2]),
                today(),
            )
            .expect("maps");
        (mapped.record.street, mapped.record.unit)
    };
    assert_eq!(
        street("8593", "pamela drive", ""),
        (Some("8593 PAMELA DR".into()), None),
        "suffixes are standardised as on any line one"
    );
    assert_eq!(
        street("12A", "Main Street", "Apt 4"),
        (Some("12A MAIN ST".into()), Some("APT 4".into()))
    );
    assert_eq!(
        street("", "Main Street", ""),
        (Some("MAIN ST".into()), None)
    );
    // A first column that is a whole line keeps the second as line two.
    assert_eq!(
        street("2454 Orchard Drive", "Apartment 4B", ""),
        (Some("2454 ORCHARD DR".into()), Some("APT 4B".into()))
    );
}
