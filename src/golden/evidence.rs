//! The `evidence` survivorship rule, and the value groups that field conflicts are made of.
//!
//! A cluster's values of one field are grouped: values equal in their comparison form (folded
//! text, lower-case e-mail, phone digits) are one value, and a value that is a near-duplicate of
//! a group's leading value joins that group. Near-duplicates are what the matcher's comparison
//! levels call the same value: one edit apart (a transposition counts one), a known nickname,
//! an initial or a shortened given name, an address missing a part the other has, an e-mail
//! differing only in its `+tag` or dots, a date of birth with one field off or day and month
//! swapped. The group most records support wins; ties fall to source priority, then the most
//! recent record. The value shown is the group's best-formed member: the spelling most common
//! across the whole estate (a typo makes a rare word: `LAE` against `LANE`), then the one most
//! records carry.

use super::record::GoldenColumn;
use crate::compare::similarity::osa_within;
use crate::record::Record;
use crate::standardize::addresses::standardize_street;
use crate::standardize::fold::fold;
use crate::standardize::nicknames::are_nickname_equivalent;
use chrono::NaiveDate;
use compact_str::CompactString;
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::HashMap;

/// How one field's values are compared, grouped and scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    GivenName,
    /// Family and middle names, city, region, unit, country, national ID: folded text.
    Text(GoldenColumn),
    /// The whole address (street, unit, city, region, postcode) as one text.
    Address,
    Email,
    Phone,
    Date,
}

impl ValueKind {
    pub fn of(column: GoldenColumn) -> ValueKind {
        match column {
            GoldenColumn::GivenName => ValueKind::GivenName,
            GoldenColumn::Email => ValueKind::Email,
            GoldenColumn::Phone => ValueKind::Phone,
            GoldenColumn::DateOfBirth => ValueKind::Date,
            other => ValueKind::Text(other),
        }
    }

    /// How much better one spelling must score to count as clearly better formed: twenty times
    /// as common across the estate for words; for e-mails, whose score counts the customer's
    /// names spelled and the lack of a `+tag`, any point.
    fn clear_margin(self) -> f64 {
        match self {
            ValueKind::Email => 1.0,
            _ => CLEARLY,
        }
    }

    /// The comparison form of a value given with its parts (an address's street, unit, city,
    /// region, postcode): the street's suffix abbreviated as the standardiser does, so that
    /// `RANGEL AVENUE` and `RANGEL AVE` are one street.
    pub fn key_of(self, v: &str, parts: &[Option<&str>]) -> String {
        if self != ValueKind::Address || parts.is_empty() {
            return self.key(v);
        }
        let street = parts[0].map(|s| {
            let a = standardize_street(s, None);
            [a.number, a.street]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        });
        let all: Vec<&str> = std::iter::once(street.as_deref())
            .chain(parts[1..].iter().copied())
            .flatten()
            .collect();
        fold(&all.join(" "))
    }

    /// The comparison form: equal forms are one value.
    pub fn key(self, v: &str) -> String {
        match self {
            ValueKind::Email => v.trim().to_lowercase(),
            ValueKind::Phone => v.chars().filter(char::is_ascii_digit).collect(),
            ValueKind::Date => v.trim().to_string(),
            _ => fold(v),
        }
    }

    /// Whether two comparison forms are the same value written differently (a typo, a
    /// nickname, a missing part).
    pub fn near(self, a: &str, b: &str) -> bool {
        if a == b {
            return true;
        }
        // One edit turns any two-letter code into any other: short values must be equal
        // ("Kra" is a typo of "Kara", "CA" is not one of "PA").
        let (la, lb) = (a.chars().count(), b.chars().count());
        let long_enough = la.min(lb) >= 3 && la.max(lb) >= 4;
        match self {
            ValueKind::GivenName => {
                (long_enough && osa_within(a, b, 1))
                    || are_nickname_equivalent(a, b)
                    // An initial or a shortened name: "J", "JOS" and "JOSEPH".
                    || a.starts_with(b)
                    || b.starts_with(a)
            }
            ValueKind::Text(_) | ValueKind::Phone => long_enough && osa_within(a, b, 1),
            ValueKind::Address => {
                (long_enough && osa_within(a, b, 1)) || words_within(a, b) || words_within(b, a)
            }
            // Also compared as parts lost: see `words_within`.
            ValueKind::Email => {
                (long_enough && osa_within(a, b, 1)) || email_core(a) == email_core(b)
            }
            ValueKind::Date => match (a.parse::<NaiveDate>(), b.parse::<NaiveDate>()) {
                (Ok(x), Ok(y)) => dates_near(x, y),
                _ => false,
            },
        }
    }
}

/// Every word of `a` is in `b`, one of them allowing a typo: `WALKER PL` within
/// `6740 WALKER PL`, `HOLMES BLVP` within `9413 HOLMES BLVD`.
fn words_within(a: &str, b: &str) -> bool {
    let words: Vec<&str> = b.split(' ').collect();
    let mut typos = 0;
    !a.is_empty()
        && a.split(' ').all(|w| {
            if words.contains(&w) {
                return true;
            }
            typos += 1;
            typos == 1 && w.len() >= 4 && words.iter().any(|x| osa_within(w, x, 1))
        })
}

/// An e-mail without its `+tag` and the dots and underscores of its local part.
fn email_core(e: &str) -> String {
    let (local, domain) = e.rsplit_once('@').unwrap_or((e, ""));
    let local = local.split('+').next().unwrap_or(local);
    let local: String = local.chars().filter(|c| !matches!(c, '.' | '_')).collect();
    format!("{local}@{domain}")
}

/// The matcher's date levels: one of year, month and day off, or day and month swapped.
fn dates_near(a: NaiveDate, b: NaiveDate) -> bool {
    use chrono::Datelike;
    let same = u8::from(a.year() == b.year())
        + u8::from(a.month() == b.month())
        + u8::from(a.day() == b.day());
    same == 2 || (a.year() == b.year() && a.month() == b.day() && a.day() == b.month())
}

/// How often each word occurs in each field across the estate: the measure of a well-formed
/// spelling. Built by a sync from all its records; a steward's correction, which sees one
/// customer's records, has none and falls back on support and source priority.
#[derive(Debug, Default, PartialEq)]
pub struct Estate {
    words: HashMap<(u8, CompactString), u32>,
}

/// The columns whose words are counted (e-mails, phones and dates have no well-formed
/// spelling to learn: each is one person's).
const COUNTED: [GoldenColumn; 6] = [
    GoldenColumn::GivenName,
    GoldenColumn::FamilyName,
    GoldenColumn::Street,
    GoldenColumn::City,
    GoldenColumn::Region,
    GoldenColumn::Postcode,
];

fn counted_value(r: &Record, c: GoldenColumn) -> Option<&str> {
    match c {
        GoldenColumn::GivenName => r.given_name.as_deref(),
        GoldenColumn::FamilyName => r.family_name.as_deref(),
        GoldenColumn::Street => r.street.as_deref(),
        GoldenColumn::City => r.city.as_deref(),
        GoldenColumn::Region => r.region.as_deref(),
        GoldenColumn::Postcode => r.postcode.as_deref(),
        _ => None,
    }
}

impl Estate {
    pub fn of(records: &[Record]) -> Estate {
        let words = records
            .par_iter()
            .fold(
                HashMap::new,
                |mut m: HashMap<(u8, CompactString), u32>, r| {
                    for (i, c) in COUNTED.iter().enumerate() {
                        if let Some(v) = counted_value(r, *c) {
                            for w in fold(v).split(' ').filter(|w| !w.is_empty()) {
                                *m.entry((i as u8, w.into())).or_insert(0) += 1;
                            }
                        }
                    }
                    m
                },
            )
            .reduce(HashMap::new, |a, b| {
                let (mut a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
                for (k, n) in b {
                    *a.entry(k).or_insert(0) += n;
                }
                a
            });
        Estate { words }
    }

    fn words_score(&self, c: GoldenColumn, folded: &str) -> f64 {
        let Some(i) = COUNTED.iter().position(|x| *x == c) else {
            return 0.0;
        };
        folded
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(|w| {
                let n = self.words.get(&(i as u8, w.into())).copied().unwrap_or(0);
                f64::from(n).ln_1p()
            })
            .sum()
    }

    /// How well-formed a value is: the sum over its words of log(1 + how often the estate
    /// has the word). An address scores its street, city, region and postcode, so that a
    /// complete one outscores one missing a part.
    pub fn score(&self, kind: ValueKind, parts: &[Option<&str>]) -> f64 {
        match kind {
            ValueKind::GivenName => self.words_score(GoldenColumn::GivenName, &folded(parts, 0)),
            ValueKind::Text(c) => self.words_score(c, &folded(parts, 0)),
            ValueKind::Address => {
                self.words_score(GoldenColumn::Street, &folded(parts, 0))
                    + self.words_score(GoldenColumn::City, &folded(parts, 2))
                    + self.words_score(GoldenColumn::Region, &folded(parts, 3))
                    + self.words_score(GoldenColumn::Postcode, &folded(parts, 4))
            }
            ValueKind::Email | ValueKind::Phone | ValueKind::Date => 0.0,
        }
    }
}

fn folded(parts: &[Option<&str>], i: usize) -> String {
    parts
        .get(i)
        .copied()
        .flatten()
        .map(fold)
        .unwrap_or_default()
}

/// One distinct value of a field in a cluster and the records that carry it.
#[derive(Debug, Clone)]
pub struct Offer<'a> {
    /// As displayed (the first record's spelling of it).
    pub value: String,
    pub key: String,
    /// The comparison form without the address's suffix abbreviated: a typo in the suffix
    /// (`KAREN LAE`) is one edit from what was typed (`KAREN LANE`), not from `KAREN LN`.
    pub raw: String,
    /// The records carrying it, best first (source priority, then most recent).
    pub records: Vec<&'a Record>,
    /// Well-formedness (see [`Estate::score`]).
    pub score: f64,
}

/// A group of values that are one value written differently.
#[derive(Debug, Clone)]
pub struct ValueGroup<'a> {
    pub kind: ValueKind,
    /// Its members, the leading (most supported) one first.
    pub members: Vec<Offer<'a>>,
}

impl<'a> ValueGroup<'a> {
    /// Records supporting the group (a record offering two members counts once).
    pub fn support(&self) -> usize {
        let mut all: Vec<*const Record> = self
            .members
            .iter()
            .flat_map(|m| m.records.iter().map(|r| *r as *const Record))
            .collect();
        all.sort_unstable();
        all.dedup();
        all.len()
    }

    /// The group's best record by source priority and recency.
    fn best_record(&self, rank: &impl Fn(&Record) -> usize) -> &'a Record {
        let mut best = self.members[0].records[0];
        for m in &self.members {
            if record_order(m.records[0], best, rank) == Ordering::Less {
                best = m.records[0];
            }
        }
        best
    }

    /// The member shown: of the well-formed ones (not clearly worse formed than the best), the
    /// most supported, then the best-formed, then the best record's. `Gerald` three times keeps
    /// its place beside `Jerry` once; `BENSON STRET` twice gives way to `BENSON STREET`.
    pub fn shown(&self, rank: &impl Fn(&Record) -> usize) -> &Offer<'a> {
        let best = self
            .members
            .iter()
            .map(|m| m.score)
            .fold(f64::NEG_INFINITY, f64::max);
        let margin = self.kind.clear_margin();
        let malformed = |m: &Offer<'_>| m.score <= best - margin;
        self.members
            .iter()
            .min_by(|a, b| {
                malformed(a)
                    .cmp(&malformed(b))
                    .then_with(|| b.records.len().cmp(&a.records.len()))
                    .then_with(|| b.score.total_cmp(&a.score))
                    .then_with(|| record_order(a.records[0], b.records[0], rank))
                    .then_with(|| a.key.cmp(&b.key))
            })
            .unwrap_or(&self.members[0])
    }

    /// Every supporting record, best first.
    pub fn records(&self, rank: &impl Fn(&Record) -> usize) -> Vec<&'a Record> {
        let mut all: Vec<&'a Record> = self
            .members
            .iter()
            .flat_map(|m| m.records.iter().copied())
            .collect();
        all.sort_by(|a, b| record_order(a, b, rank));
        all.dedup_by(|a, b| std::ptr::eq(*a, *b));
        all
    }
}

/// Source priority, then the most recent, then source and key: never input order.
pub fn record_order(a: &Record, b: &Record, rank: &impl Fn(&Record) -> usize) -> Ordering {
    rank(a)
        .cmp(&rank(b))
        .then_with(|| b.updated_at.cmp(&a.updated_at))
        .then_with(|| a.source.cmp(&b.source))
        .then_with(|| a.key.cmp(&b.key))
}

/// Groups the offered values, the winning group first: most supporting records, then the best
/// record by source priority and recency.
pub fn group<'a>(
    kind: ValueKind,
    mut offers: Vec<Offer<'a>>,
    rank: &impl Fn(&Record) -> usize,
) -> Vec<ValueGroup<'a>> {
    for o in &mut offers {
        o.records.sort_by(|a, b| record_order(a, b, rank));
        o.records.dedup_by(|a, b| std::ptr::eq(*a, *b));
    }
    offers.sort_by(|a, b| {
        b.records
            .len()
            .cmp(&a.records.len())
            .then_with(|| record_order(a.records[0], b.records[0], rank))
            .then_with(|| a.key.cmp(&b.key))
    });
    let mut groups: Vec<ValueGroup<'a>> = Vec::new();
    for o in offers {
        let lead = |g: &ValueGroup<'_>| {
            let m = &g.members[0];
            kind.near(&m.key, &o.key)
                || (m.raw != m.key || o.raw != o.key) && kind.near(&m.raw, &o.raw)
        };
        match groups.iter_mut().find(|g| lead(g)) {
            Some(g) => g.members.push(o),
            None => groups.push(ValueGroup {
                kind,
                members: vec![o],
            }),
        }
    }
    groups.sort_by(|a, b| {
        b.support()
            .cmp(&a.support())
            .then_with(|| record_order(a.best_record(rank), b.best_record(rank), rank))
    });
    prefer_clearly_better_formed(kind, &mut groups, rank);
    groups
}

/// How much more common across the estate (in log terms) a name must be to break a tie between
/// two different names: twenty times. A typo or a name in the wrong field (`Greene` as a
/// given name) is rare; two real names are seldom that far apart.
const CLEARLY: f64 = 3.0;

/// For names, whose spelling the estate knows: among the groups tied with the first on support,
/// source priority and recency, one whose spelling is clearly more common goes first (instead of
/// the smaller key deciding).
fn prefer_clearly_better_formed(
    kind: ValueKind,
    groups: &mut [ValueGroup<'_>],
    rank: &impl Fn(&Record) -> usize,
) {
    let names = matches!(
        kind,
        ValueKind::GivenName | ValueKind::Text(GoldenColumn::FamilyName)
    );
    if !names || groups.len() < 2 {
        return;
    }
    let tie = |g: &ValueGroup<'_>| {
        let r = g.best_record(rank);
        (g.support(), rank(r), r.updated_at)
    };
    let first = tie(&groups[0]);
    let first_score = groups[0].shown(rank).score;
    let mut best: Option<(usize, f64)> = None;
    for (i, g) in groups.iter().enumerate().skip(1) {
        if tie(g) != first {
            continue;
        }
        let score = g.shown(rank).score;
        if score - first_score >= CLEARLY && best.is_none_or(|(_, s)| score > s) {
            best = Some((i, score));
        }
    }
    if let Some((i, _)) = best {
        groups[..=i].rotate_right(1);
    }
}

/// The offers of `values`: (record, displayed value, its parts for scoring) merged by key.
pub fn offers<'a>(
    kind: ValueKind,
    estate: &Estate,
    values: impl IntoIterator<Item = (&'a Record, String, Vec<Option<&'a str>>)>,
) -> Vec<Offer<'a>> {
    let mut out: Vec<Offer<'a>> = Vec::new();
    // By comparison form and spelling: `ADAMS AVE` and `ADAMS AVENUE` are one value (they
    // group together) but two spellings, each with its own support, to show the better.
    let mut at: HashMap<(String, String), usize> = HashMap::new();
    for (r, value, parts) in values {
        let key = kind.key_of(&value, &parts);
        if key.is_empty() {
            continue;
        }
        let raw = kind.key(&value);
        match at.get(&(key.clone(), raw.clone())) {
            Some(&i) => out[i].records.push(r),
            None => {
                at.insert((key.clone(), raw.clone()), out.len());
                let score = estate.score(kind, &parts);
                out.push(Offer {
                    raw,
                    value,
                    key,
                    records: vec![r],
                    score,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(source: &str, key: &str) -> Record {
        Record {
            source: source.into(),
            key: key.into(),
            ..Default::default()
        }
    }

    fn offers_of<'a>(
        kind: ValueKind,
        estate: &Estate,
        v: &[(&'a Record, &'a str)],
    ) -> Vec<Offer<'a>> {
        offers(
            kind,
            estate,
            v.iter().map(|(r, s)| (*r, s.to_string(), vec![Some(*s)])),
        )
    }

    fn crm_first(r: &Record) -> usize {
        usize::from(r.source != "crm")
    }

    #[test]
    fn the_majority_beats_the_trusted_source_and_a_typo_joins_its_value() {
        let (c, a, b, d) = (
            rec("crm", "1"),
            rec("web", "2"),
            rec("web", "3"),
            rec("billing", "4"),
        );
        let o = offers_of(
            ValueKind::Email,
            &Estate::default(),
            &[
                (&c, "anan_kofron@icloud.com"),
                (&a, "anna_kofron@icloud.com"),
                (&b, "ANNA_KOFRON@icloud.com"),
                (&d, "anna_kofron@icloud.com"),
            ],
        );
        let groups = group(ValueKind::Email, o, &crm_first);
        assert_eq!(
            groups.len(),
            1,
            "one edit from a shared value: a typo of it"
        );
        assert_eq!(groups[0].support(), 4);
        assert_eq!(
            groups[0].shown(&crm_first).key,
            "anna_kofron@icloud.com",
            "the spelling three records carry"
        );
        assert_eq!(groups[0].records(&crm_first)[0].source, "crm");
    }

    #[test]
    fn different_values_stay_apart_and_ties_fall_to_source_priority() {
        let (c, w) = (rec("crm", "1"), rec("web", "2"));
        let kind = ValueKind::Date;
        let o = offers_of(
            kind,
            &Estate::default(),
            &[(&w, "1980-01-02"), (&c, "1975-06-30")],
        );
        let groups = group(kind, o, &crm_first);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].members[0].value, "1975-06-30", "crm outranks web");
        // One field off, or day and month swapped: the same date with a typo.
        assert!(kind.near("1980-01-02", "1980-01-03"));
        assert!(kind.near("1980-01-02", "1980-02-01"));
        assert!(!kind.near("1980-01-02", "1981-02-02"));
    }

    #[test]
    fn names_group_nicknames_initials_and_typos_but_not_other_names() {
        let k = ValueKind::GivenName;
        assert!(k.near("ROBERT", "ROBRET"));
        assert!(k.near("ROBERT", "BOB"));
        assert!(k.near("JOSEPH", "JOS"));
        assert!(!k.near("ROBERT", "ANNA"));
        let t = ValueKind::Text(GoldenColumn::Region);
        assert!(!t.near("CA", "PA"), "short codes must be equal");
        let a = ValueKind::Address;
        assert!(a.near("WALKER PL BOSTON", "6740 WALKER PL BOSTON"));
        assert!(!a.near("1 MAIN ST BOSTON", "9 ELM RD SALEM"));
        let e = ValueKind::Email;
        assert!(e.near("calvin.turner+shop@gmail.com", "calvin.turner@gmail.com"));
        assert!(!e.near("ann@x.com", "bob@y.com"));
    }

    #[test]
    fn the_best_formed_spelling_is_shown_when_support_ties() {
        let mut estate_records: Vec<Record> = (0..5)
            .map(|i| Record {
                street: Some("12 KAREN LANE".into()),
                key: i.to_string().into(),
                ..Default::default()
            })
            .collect();
        estate_records.push(Record {
            street: Some("5724 KAREN LAE".into()),
            ..Default::default()
        });
        let estate = Estate::of(&estate_records);
        let (a, b) = (rec("people", "1"), rec("people", "2"));
        let o = offers(
            ValueKind::Address,
            &estate,
            [
                (
                    &a,
                    "5724 KAREN LAE".to_string(),
                    vec![Some("5724 KAREN LAE")],
                ),
                (
                    &b,
                    "5724 KAREN LANE".to_string(),
                    vec![Some("5724 KAREN LANE")],
                ),
            ],
        );
        let groups = group(ValueKind::Address, o, &|_: &Record| 0);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].shown(&|_: &Record| 0).value, "5724 KAREN LANE");
        // Without the estate's counts, the better record decides: key 1.
        let o = offers_of(
            ValueKind::Address,
            &Estate::default(),
            &[(&a, "5724 KAREN LAE"), (&b, "5724 KAREN LANE")],
        );
        let groups = group(ValueKind::Address, o, &|_: &Record| 0);
        assert_eq!(groups[0].shown(&|_: &Record| 0).value, "5724 KAREN LAE");
    }
}
