//! From sampled columns to a proposed mapping: each field with the evidence for it, and the
//! columns that could not be placed.

use super::infer::*;
use crate::connectors::ColumnType;
use crate::record::RecordKind;

/// A canonical field a column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    FullName,
    Given,
    Middle,
    Family,
    DateOfBirth,
    Email,
    Phone,
    Street { line: u8 },
    Unit,
    City,
    Region,
    Postcode,
    Country,
    UpdatedAt,
    AccountNumber,
    Balance,
    Currency,
    Invoices,
    LastInvoiceDate,
    OrderId,
    OrderDate,
    Amount,
    Items,
}

/// One line of the mapping: `target = { ... }` with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedField {
    /// `fields` or `facts`.
    pub table: &'static str,
    pub line: String,
    pub evidence: String,
}

/// What `gild init` proposes for one source.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub defaults: Vec<(String, String)>,
    pub fields: Vec<ProposedField>,
    /// Columns not placed, with why.
    pub unplaced: Vec<(String, String)>,
}

fn any(words: &[String], set: &[&str]) -> bool {
    words.iter().any(|w| set.contains(&w.as_str()))
}

/// What the column's name says, if anything.
fn by_name(c: &ColumnSample, kind: RecordKind) -> Option<Target> {
    let w = c.words();
    let joined = w.concat();
    let has = |s: &str| joined.contains(s);
    if has("mail") || any(&w, &["eml"]) {
        return Some(Target::Email);
    }
    if has("phone")
        || any(
            &w,
            &["phn", "ph", "tel", "telephone", "mobile", "mob", "cell"],
        )
    {
        return Some(Target::Phone);
    }
    if has("birth") || any(&w, &["dob", "bdate", "bday", "born", "bdt"]) {
        return Some(Target::DateOfBirth);
    }
    if has("updated")
        || has("modified")
        || has("changed")
        || has("exported")
        || has("lastupd")
        || any(&w, &["upd", "updt", "chg", "mod", "ts", "timestamp"])
    {
        return Some(Target::UpdatedAt);
    }
    if kind == RecordKind::Billing {
        if has("inv") && (has("date") || has("dt") || has("last")) {
            return Some(Target::LastInvoiceDate);
        }
        if has("inv") {
            return Some(Target::Invoices);
        }
        if has("bal") {
            return Some(Target::Balance);
        }
        if has("acct") || has("account") {
            return Some(Target::AccountNumber);
        }
    }
    if any(&w, &["currency", "ccy", "curr", "cur"]) {
        return Some(Target::Currency);
    }
    if kind == RecordKind::Fulfilment {
        if has("ord") && (has("date") || has("dt")) {
            return Some(Target::OrderDate);
        }
        if any(&w, &["amount", "amt", "total", "value", "price"]) {
            return Some(Target::Amount);
        }
        if any(&w, &["items", "qty", "quantity", "lines"]) {
            return Some(Target::Items);
        }
        if has("ord") {
            return Some(Target::OrderId);
        }
    }
    if has("zip") || has("post") || any(&w, &["pcode", "plz"]) {
        return Some(Target::Postcode);
    }
    if has("country") || any(&w, &["ctry", "cntry", "nation"]) {
        return Some(Target::Country);
    }
    if any(&w, &["state", "region", "province", "prov", "st"]) {
        return Some(Target::Region);
    }
    if any(&w, &["city", "town", "cty", "locality"]) {
        return Some(Target::City);
    }
    if any(&w, &["unit", "apt", "suite", "apartment", "ste"]) {
        return Some(Target::Unit);
    }
    if has("addr") || has("street") || has("line") || any(&w, &["str"]) {
        let second = joined.ends_with('2') || joined.ends_with("ii");
        return Some(Target::Street {
            line: if second { 2 } else { 1 },
        });
    }
    if any(&w, &["middle", "mi", "mname", "midnm", "mid"]) {
        return Some(Target::Middle);
    }
    if any(
        &w,
        &[
            "first",
            "fname",
            "firstname",
            "given",
            "forename",
            "fst",
            "frst",
        ],
    ) {
        return Some(Target::Given);
    }
    if any(
        &w,
        &["last", "lname", "lastname", "surname", "family", "lst"],
    ) {
        return Some(Target::Family);
    }
    if any(
        &w,
        &[
            "name", "nm", "nam", "fullname", "customer", "holder", "contact",
        ],
    ) || joined == "custname"
    {
        return Some(Target::FullName);
    }
    None
}

/// What the values say when the name says nothing.
fn by_values(values: &[&str], region: &str) -> Option<(Target, String)> {
    let pct = |s: f64| format!("{:.0}%", s * 100.0);
    let n = values.len();
    let s = share(values, is_email);
    if s >= 0.8 {
        return Some((
            Target::Email,
            format!("{} of {n} values are e-mail addresses", pct(s)),
        ));
    }
    let s = share(values, is_family_first_name);
    if s >= 0.6 {
        return Some((
            Target::FullName,
            format!("{} of {n} values are names written \"LAST, FIRST\"", pct(s)),
        ));
    }
    if let Some((fmt, s)) = best_date_format(values) {
        if s >= 0.8 && looks_like_birth_dates(values, fmt) {
            return Some((
                Target::DateOfBirth,
                format!(
                    "{} of {n} values parse as {fmt}, all birth-date years",
                    pct(s)
                ),
            ));
        }
    }
    let s = share(values, |v| is_phone(v, region));
    if s >= 0.8 {
        return Some((
            Target::Phone,
            format!("{} of {n} values are phone numbers", pct(s)),
        ));
    }
    let s = share(values, |v| v.len() >= 5 && is_us_postcode(v));
    if s >= 0.9 {
        return Some((
            Target::Postcode,
            format!("{} of {n} values are US ZIP codes", pct(s)),
        ));
    }
    None
}

fn target_name(t: Target) -> &'static str {
    match t {
        Target::FullName => "full_name",
        Target::Given => "given_name",
        Target::Middle => "middle_name",
        Target::Family => "family_name",
        Target::DateOfBirth => "date_of_birth",
        Target::Email => "email",
        Target::Phone => "phone",
        Target::Street { .. } => "street",
        Target::Unit => "unit",
        Target::City => "city",
        Target::Region => "region",
        Target::Postcode => "postcode",
        Target::Country => "country",
        Target::UpdatedAt => "updated_at",
        Target::AccountNumber => "account_number",
        Target::Balance => "balance",
        Target::Currency => "currency",
        Target::Invoices => "invoices",
        Target::LastInvoiceDate => "last_invoice_date",
        Target::OrderId => "order_id",
        Target::OrderDate => "order_date",
        Target::Amount => "amount",
        Target::Items => "items",
    }
}

fn fits_kind(t: Target, kind: RecordKind) -> bool {
    match t {
        Target::AccountNumber | Target::Balance | Target::Invoices | Target::LastInvoiceDate => {
            kind == RecordKind::Billing
        }
        Target::OrderId | Target::OrderDate | Target::Amount | Target::Items => {
            kind == RecordKind::Fulfilment
        }
        Target::Currency => kind != RecordKind::Customer,
        _ => true,
    }
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// What the values of a column placed by name say for its target: the evidence, and a
/// `formats` option for a date held as text. `None` when the values contradict the name.
fn check(
    target: Target,
    c: &ColumnSample,
    values: &[&str],
    region: &str,
) -> Option<(String, String)> {
    let n = values.len();
    let pct = |s: f64| format!("{:.0}%", s * 100.0);
    let named = format!("the name {:?}", c.name);
    if n == 0 {
        return Some((format!("{named}; no values in the sample"), String::new()));
    }
    let dated = matches!(
        target,
        Target::DateOfBirth | Target::LastInvoiceDate | Target::OrderDate
    );
    if (dated || target == Target::UpdatedAt) && c.ty.is_temporal() {
        let ty = if c.ty == ColumnType::Date {
            "DATE"
        } else {
            "a timestamp"
        };
        return Some((
            format!("{named}; the database types it {ty}: no formats needed"),
            String::new(),
        ));
    }
    let (evidence, extra) = match target {
        Target::Email => {
            let s = share(values, is_email);
            (
                format!(
                    "{named}; {} of {n} sampled values are e-mail addresses",
                    pct(s)
                ),
                String::new(),
            )
        }
        Target::Phone => {
            let s = share(values, |v| is_phone(v, region));
            (
                format!(
                    "{named}; {} of {n} sampled values are {region} phone numbers",
                    pct(s)
                ),
                String::new(),
            )
        }
        Target::Postcode => {
            let s = share(values, is_us_postcode);
            (
                format!("{named}; {} of {n} sampled values are US ZIP codes", pct(s)),
                String::new(),
            )
        }
        t if dated && t != Target::UpdatedAt => {
            let (fmt, s) = best_date_format(values)?;
            (
                format!("{named}; {} of {n} sampled values parse as {fmt}", pct(s)),
                format!(", formats = [{}]", quote(fmt)),
            )
        }
        Target::UpdatedAt => match best_datetime_format(values) {
            Some((fmt, s)) if s >= 0.5 => (
                format!("{named}; {} of {n} sampled values parse as {fmt}", pct(s)),
                format!(", formats = [{}]", quote(fmt)),
            ),
            _ => {
                let (fmt, s) = best_date_format(values)?;
                (
                    format!("{named}; {} of {n} sampled values parse as {fmt}", pct(s)),
                    format!(", formats = [{}]", quote(fmt)),
                )
            }
        },
        Target::Balance | Target::Amount | Target::Invoices | Target::Items => {
            let s = share(values, is_number);
            if s < 0.5 {
                return None;
            }
            (
                format!("{named}; {} of {n} sampled values are numbers", pct(s)),
                String::new(),
            )
        }
        Target::Region => {
            // ST is a state or a street: a street has house numbers.
            let s = share(values, |v| !v.chars().any(|ch| ch.is_ascii_digit()));
            if s < 0.8 {
                return None;
            }
            (
                format!("{named}; {} of {n} sampled values have no digits", pct(s)),
                String::new(),
            )
        }
        _ => (named.clone(), String::new()),
    };
    Some((evidence, extra))
}

/// Proposes a mapping for a source of `kind` keyed by `key` from its sampled columns.
pub fn propose(kind: RecordKind, key: &[String], columns: &[ColumnSample]) -> Proposal {
    let region = "US";
    let mut placed: Vec<(Target, usize, String, String)> = Vec::new(); // target, column, evidence, extra
    let mut unplaced = Vec::new();
    let mut nulls: Vec<String> = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        for v in &c.values {
            let v = v.trim();
            if is_placeholder(v) && !nulls.iter().any(|n| n.eq_ignore_ascii_case(v)) {
                nulls.push(v.to_string());
            }
        }
        let values = c.real_values();
        if key.iter().any(|k| k.eq_ignore_ascii_case(&c.name)) {
            let fact = match kind {
                RecordKind::Billing => Some(Target::AccountNumber),
                RecordKind::Fulfilment => Some(Target::OrderId),
                RecordKind::Customer => None,
            };
            match fact {
                Some(t) => placed.push((t, i, "the source's primary key".into(), String::new())),
                None => unplaced.push((
                    c.name.clone(),
                    "the primary key (the record's key already)".into(),
                )),
            }
            continue;
        }
        let named = by_name(c, kind).filter(|t| fits_kind(*t, kind));
        let found = match named {
            Some(t) => match check(t, c, &values, region) {
                Some((evidence, extra)) => Some((t, evidence, extra)),
                None => by_values(&values, region).map(|(t, e)| (t, e, String::new())),
            },
            None => by_values(&values, region).map(|(t, e)| (t, e, String::new())),
        };
        match found {
            Some((t, evidence, mut extra)) => {
                if extra.is_empty() && t == Target::DateOfBirth && !c.ty.is_temporal() {
                    if let Some((fmt, _)) = best_date_format(&values) {
                        extra = format!(", formats = [{}]", quote(fmt));
                    }
                }
                placed.push((t, i, evidence, extra))
            }
            None => unplaced.push((
                c.name.clone(),
                if values.is_empty() {
                    "no values in the sample".to_string()
                } else {
                    "neither its name nor its values say which field it is".to_string()
                },
            )),
        }
    }

    let col = |i: usize| quote(&columns[i].name);
    let mut fields = Vec::new();
    let of = |t: Target| -> Vec<&(Target, usize, String, String)> {
        placed.iter().filter(|p| p.0 == t).collect()
    };
    let push = |fields: &mut Vec<ProposedField>, t: Target, line: String, evidence: String| {
        let table = if matches!(
            t,
            Target::AccountNumber
                | Target::Balance
                | Target::Currency
                | Target::Invoices
                | Target::LastInvoiceDate
                | Target::OrderId
                | Target::OrderDate
                | Target::Amount
                | Target::Items
        ) {
            "facts"
        } else {
            "fields"
        };
        fields.push(ProposedField {
            table,
            line,
            evidence,
        });
    };

    // Names: a full name, or first and last joined as a full name (titles, suffixes and middle
    // initials are then parsed the same way).
    let (given, family) = (of(Target::Given), of(Target::Family));
    if let Some(f) = of(Target::FullName).first() {
        let values = columns[f.1].real_values();
        let s = share(&values, is_family_first_name);
        let (order, why) = if s >= 0.5 {
            (
                "family_first",
                format!(
                    "{:.0}% of {} sampled values are written \"LAST, FIRST\"",
                    s * 100.0,
                    values.len()
                ),
            )
        } else {
            (
                "given_first",
                format!(
                    "{:.0}% of {} sampled values are written \"First Last\"",
                    share(&values, is_given_first_name) * 100.0,
                    values.len()
                ),
            )
        };
        push(
            &mut fields,
            Target::FullName,
            format!("full_name = {{ column = {}, order = {order:?} }}", col(f.1)),
            format!("{}; {why}", f.2),
        );
    } else if let (Some(g), Some(l)) = (given.first(), family.first()) {
        push(
            &mut fields,
            Target::FullName,
            format!(
                "full_name = {{ columns = [{}, {}], order = \"given_first\" }}",
                col(g.1),
                col(l.1)
            ),
            format!("first name: {}; last name: {}", g.2, l.2),
        );
    }
    if !of(Target::FullName).is_empty() || given.is_empty() || family.is_empty() {
        for (t, list) in [(Target::Given, &given), (Target::Family, &family)] {
            if let Some(p) = list.first() {
                push(
                    &mut fields,
                    t,
                    format!("{} = {{ column = {} }}", target_name(t), col(p.1)),
                    p.2.clone(),
                );
            }
        }
    }
    if let Some(p) = of(Target::Middle).first() {
        push(
            &mut fields,
            Target::Middle,
            format!("middle_name = {{ column = {} }}", col(p.1)),
            p.2.clone(),
        );
    }
    // Several e-mail or phone columns become a list.
    for (t, single, list) in [
        (Target::Email, "email", "emails"),
        (Target::Phone, "phone", "phones"),
    ] {
        let cols = of(t);
        match cols.len() {
            0 => {}
            1 => push(
                &mut fields,
                t,
                format!("{single} = {{ column = {} }}", col(cols[0].1)),
                cols[0].2.clone(),
            ),
            _ => push(
                &mut fields,
                t,
                format!(
                    "{list} = [{}]",
                    cols.iter()
                        .map(|p| format!("{{ column = {} }}", col(p.1)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                cols.iter()
                    .map(|p| p.2.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        }
    }
    let mut ordered: Vec<_> = placed
        .iter()
        .filter(|p| matches!(p.0, Target::Street { .. }))
        .collect();
    ordered.sort_by_key(|p| match p.0 {
        Target::Street { line } => line,
        _ => 0,
    });
    match ordered.len() {
        0 => {}
        1 => push(
            &mut fields,
            Target::Street { line: 1 },
            format!("street = {{ column = {} }}", col(ordered[0].1)),
            ordered[0].2.clone(),
        ),
        _ => push(
            &mut fields,
            Target::Street { line: 1 },
            format!(
                "street = {{ columns = [{}] }}",
                ordered
                    .iter()
                    .take(2)
                    .map(|p| col(p.1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "address lines 1 and 2: ".to_string()
                + &ordered
                    .iter()
                    .take(2)
                    .map(|p| p.2.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
        ),
    }
    for p in ordered.iter().skip(2) {
        unplaced.push((columns[p.1].name.clone(), "a third address line".into()));
    }
    for t in [
        Target::Unit,
        Target::City,
        Target::Region,
        Target::Postcode,
        Target::Country,
        Target::DateOfBirth,
        Target::UpdatedAt,
        Target::AccountNumber,
        Target::Balance,
        Target::Currency,
        Target::Invoices,
        Target::LastInvoiceDate,
        Target::OrderId,
        Target::OrderDate,
        Target::Amount,
        Target::Items,
    ] {
        let list = of(t);
        if let Some(p) = list.first() {
            push(
                &mut fields,
                t,
                format!("{} = {{ column = {}{} }}", target_name(t), col(p.1), p.3),
                p.2.clone(),
            );
        }
        for p in list.iter().skip(1) {
            unplaced.push((
                columns[p.1].name.clone(),
                format!(
                    "looks like {} too, but {} is already placed",
                    target_name(t),
                    columns[list[0].1].name
                ),
            ));
        }
    }
    if given.len() > 1 || family.len() > 1 || of(Target::FullName).len() > 1 {
        for p in given
            .iter()
            .skip(1)
            .chain(family.iter().skip(1))
            .chain(of(Target::FullName).iter().skip(1))
        {
            unplaced.push((
                columns[p.1].name.clone(),
                "another name column; one is placed".into(),
            ));
        }
    }

    // Defaults from the values: phones without a country code, the country, placeholders.
    let mut defaults = vec![("phone_region".to_string(), format!("{region:?}"))];
    let zips: Vec<&str> = of(Target::Postcode)
        .first()
        .map(|p| columns[p.1].real_values())
        .unwrap_or_default();
    if !zips.is_empty() && share(&zips, is_us_postcode) >= 0.8 {
        defaults.push(("country".into(), "\"US\"".into()));
    }
    if !nulls.is_empty() {
        defaults.push((
            "null_values".into(),
            format!(
                "[{}]",
                nulls
                    .iter()
                    .map(|n| quote(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Proposal {
        defaults,
        fields,
        unplaced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: ColumnType, values: &[&str]) -> ColumnSample {
        ColumnSample {
            name: name.into(),
            ty,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn line<'a>(p: &'a Proposal, target: &str) -> Option<&'a str> {
        p.fields
            .iter()
            .map(|f| f.line.as_str())
            .find(|l| l.starts_with(&format!("{target} = ")))
    }

    #[test]
    fn terse_legacy_names_are_placed_and_checked_against_their_values() {
        use ColumnType::Text;
        let columns = [
            col("CUST_ID", ColumnType::Number, &["1", "2", "3"]),
            col(
                "CUST_NM",
                Text,
                &["GARCIA, ELENA M", "LEE, ANN", "O'BRIEN, SEAN"],
            ),
            col("ADDR1", Text, &["12 Main St", "4 Elm Ave", "9 Oak Rd"]),
            col("ADDR2", Text, &["Apt 2", "Unit 5"]),
            col("ST", Text, &["MA", "NY", "CA"]),
            col("ZIP", Text, &["02113", "10001-1234", "94105"]),
            col("BIRTH_DT", Text, &["04/05/1981", "06/23/1980", "N/A"]),
            col(
                "PHN",
                Text,
                &["(617) 555-0185", "212-555-0101", "415 555 0199"],
            ),
            col("LAST_UPD", ColumnType::Timestamp, &["2024-05-01 10:11:12"]),
        ];
        let p = propose(RecordKind::Customer, &["CUST_ID".into()], &columns);
        assert_eq!(
            line(&p, "full_name"),
            Some(r#"full_name = { column = "CUST_NM", order = "family_first" }"#)
        );
        assert_eq!(
            line(&p, "street"),
            Some(r#"street = { columns = ["ADDR1", "ADDR2"] }"#)
        );
        assert_eq!(line(&p, "region"), Some(r#"region = { column = "ST" }"#));
        assert_eq!(
            line(&p, "postcode"),
            Some(r#"postcode = { column = "ZIP" }"#)
        );
        assert_eq!(
            line(&p, "date_of_birth"),
            Some(r#"date_of_birth = { column = "BIRTH_DT", formats = ["%m/%d/%Y"] }"#)
        );
        assert_eq!(line(&p, "phone"), Some(r#"phone = { column = "PHN" }"#));
        assert_eq!(
            line(&p, "updated_at"),
            Some(r#"updated_at = { column = "LAST_UPD" }"#),
            "a timestamp column needs no formats"
        );
        let dob = p
            .fields
            .iter()
            .find(|f| f.line.starts_with("date_of_birth"))
            .expect("dob");
        assert!(
            dob.evidence
                .contains("100% of 2 sampled values parse as %m/%d/%Y"),
            "{}",
            dob.evidence
        );
        assert!(p
            .defaults
            .iter()
            .any(|(k, v)| k == "null_values" && v.contains("N/A")));
        assert!(p.unplaced.iter().any(|(c, _)| c == "CUST_ID"));
    }

    #[test]
    fn values_place_columns_whose_names_say_nothing() {
        use ColumnType::Text;
        let columns = [
            col("K", Text, &["1", "2", "3", "4", "5"]),
            col(
                "C1",
                Text,
                &[
                    "ann.lee@example.com",
                    "bo@x.org",
                    "cy@y.net",
                    "di@z.com",
                    "ed@w.com",
                ],
            ),
            col(
                "C2",
                Text,
                &["LEE, ANN", "SMITH, BO", "WU, CY", "DOE, DI", "KAY, ED"],
            ),
            col(
                "C3",
                Text,
                &[
                    "1981-02-28",
                    "1975-12-01",
                    "1990-07-04",
                    "1966-03-15",
                    "2001-09-09",
                ],
            ),
            col(
                "C4",
                Text,
                &[
                    "(617) 555-0185",
                    "212-555-0101",
                    "415 555 0199",
                    "617.555.0100",
                    "+1 303 555 0142",
                ],
            ),
            col("C5", Text, &["02113", "10001", "94105", "60601", "73301"]),
            col("C6", Text, &["red", "blue", "green", "red", "blue"]),
        ];
        let p = propose(RecordKind::Customer, &["K".into()], &columns);
        assert_eq!(line(&p, "email"), Some(r#"email = { column = "C1" }"#));
        assert_eq!(
            line(&p, "full_name"),
            Some(r#"full_name = { column = "C2", order = "family_first" }"#)
        );
        assert_eq!(
            line(&p, "date_of_birth"),
            Some(r#"date_of_birth = { column = "C3", formats = ["%Y-%m-%d"] }"#)
        );
        assert_eq!(line(&p, "phone"), Some(r#"phone = { column = "C4" }"#));
        assert_eq!(
            line(&p, "postcode"),
            Some(r#"postcode = { column = "C5" }"#)
        );
        assert!(
            p.unplaced
                .iter()
                .any(|(c, why)| c == "C6" && why.contains("neither")),
            "{:?}",
            p.unplaced
        );
    }
}
