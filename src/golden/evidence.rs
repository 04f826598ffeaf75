//! The `evidence` survivorship rule, and the value groups that field conflicts are made of.
//!
//! A cluster's values of one field are grouped: values equal in their comparison form (folded
//! text, lower-case e-mail, phone digits) are one value, and a value that is a near-duplicate of
//! a group's leading value joins that group. Near-duplicates are what the matcher's comparison
//! levels call the same value: one edit apart (a transposition counts one), a known nickname,
//! an initial or a shortened given name, an address missing a part the other has, an e-mail
//! differing only in its `+tag` or dots, a date of birth with one field off or day and month
//! swapped. The group most records support wins; ties fall to the values' own evidence (a
//! complete address, a spelling far more common across the estate, a name the customer's e-mail
//! spells, a swapped name), then to the more reliable record (the one agreeing more with the
//! customer's other fields), then to source priority and recency: only that last step leaves the
//! evidence split, a field conflict. The value shown is the group's best-formed member: the
//! name an e-mail spells, the spelling most common across the whole estate (a typo makes a rare
//! word: `LAE` against `LANE`), then the one most records carry.

use super::record::GoldenColumn;
use crate::compare::similarity::osa_within;
use crate::record::Record;
use crate::standardize::addresses::{is_street_suffix_typo, standardize_street};
use crate::standardize::fold::{fold, fold_into};
use crate::standardize::nicknames::are_nickname_equivalent;
use chrono::NaiveDate;
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

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
/// `6740 WALKER PL`, `HOLMES BLVP` within `9413 HOLMES BLVD`, `KAREN LAE` within `KAREN LN`.
fn words_within(a: &str, b: &str) -> bool {
    let words: Vec<&str> = b.split(' ').collect();
    let mut typos = 0;
    !a.is_empty()
        && a.split(' ').all(|w| {
            if words.contains(&w) {
                return true;
            }
            typos += 1;
            typos == 1
                && ((w.len() >= 4 && words.iter().any(|x| osa_within(w, x, 1)))
                    // A mistyped suffix beside the abbreviation the standardiser made of it.
                    || words.iter().any(|x| is_street_suffix_typo(w, x)))
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

/// Estate words are keyed by their xxh3 hash (seeded with the column), already a good hash:
/// the map uses it as it is instead of hashing it again.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; anything else still spreads.
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type WordCounts = HashMap<u64, u32, BuildHasherDefault<PassThrough>>;

fn word_key(column: usize, word: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(word.as_bytes(), column as u64)
}

/// How often each word occurs in each field across the estate: the measure of a well-formed
/// spelling. Counted when a model is trained and kept with it (as its term frequencies are), so
/// that every golden build with that model weighs spellings alike, whatever changed elsewhere in
/// the estate since; counted from a run's records only when there is no such model.
///
/// Cheap to clone: the counts are shared.
#[derive(Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "EstateTable", from = "EstateTable")]
pub struct Estate {
    words: Arc<WordCounts>,
    /// What a word not listed counts: 0 for counts made from the records at hand (every word of
    /// theirs is listed), 1 for counts kept with a model, which list only repeated words.
    unlisted: u32,
}

/// Its size, not its hundreds of thousands of counts.
impl std::fmt::Debug for Estate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Estate")
            .field("words", &self.words.len())
            .field("unlisted", &self.unlisted)
            .finish()
    }
}

/// An estate as a model keeps it: 64-bit hashes of words (seeded with their column), never the
/// words; only those seen at least twice, any other word counting as seen once, which is what
/// the count of the training records gives a word seen once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EstateTable {
    /// (hash of the word, occurrences) for every word seen at least twice, by hash.
    repeated: Vec<(u64, u32)>,
}

impl From<Estate> for EstateTable {
    fn from(e: Estate) -> EstateTable {
        let mut repeated: Vec<(u64, u32)> = e
            .words
            .iter()
            .filter(|(_, n)| **n >= 2)
            .map(|(k, n)| (*k, *n))
            .collect();
        repeated.sort_unstable();
        EstateTable { repeated }
    }
}

impl From<EstateTable> for Estate {
    fn from(t: EstateTable) -> Estate {
        let mut words = WordCounts::with_capacity_and_hasher(t.repeated.len(), Default::default());
        words.extend(t.repeated);
        Estate {
            words: Arc::new(words),
            unlisted: 1,
        }
    }
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
                || (WordCounts::default(), String::new()),
                |(mut m, mut buf), r| {
                    for (i, c) in COUNTED.iter().enumerate() {
                        if let Some(v) = counted_value(r, *c) {
                            fold_into(v, &mut buf);
                            for w in buf.split(' ').filter(|w| !w.is_empty()) {
                                *m.entry(word_key(i, w)).or_insert(0) += 1;
                            }
                        }
                    }
                    (m, buf)
                },
            )
            .map(|(m, _)| m)
            .reduce(WordCounts::default, |a, b| {
                let (mut a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
                for (k, n) in b {
                    *a.entry(k).or_insert(0) += n;
                }
                a
            });
        Estate {
            words: Arc::new(words),
            unlisted: 0,
        }
    }

    /// The number of distinct words counted (all of them, or the repeated ones of a kept estate).
    pub fn words(&self) -> usize {
        self.words.len()
    }

    /// The estate as a model keeps it: the repeated words only (see [`EstateTable`]).
    pub fn kept(&self) -> Estate {
        EstateTable::from(self.clone()).into()
    }

    fn words_score(&self, c: GoldenColumn, value: Option<&str>) -> f64 {
        let (Some(i), Some(value)) = (COUNTED.iter().position(|x| *x == c), value) else {
            return 0.0;
        };
        fold(value)
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(|w| {
                let n = self
                    .words
                    .get(&word_key(i, w))
                    .copied()
                    .unwrap_or(self.unlisted);
                f64::from(n).ln_1p()
            })
            .sum()
    }

    /// How well-formed a value is: the sum over its words of log(1 + how often the estate
    /// has the word). An address scores its street, city, region and postcode, so that a
    /// complete one outscores one missing a part.
    pub fn score(&self, kind: ValueKind, parts: &[Option<&str>]) -> f64 {
        let part = |i: usize| parts.get(i).copied().flatten();
        match kind {
            ValueKind::GivenName => self.words_score(GoldenColumn::GivenName, part(0)),
            ValueKind::Text(c) => self.words_score(c, part(0)),
            ValueKind::Address => {
                self.words_score(GoldenColumn::Street, part(0))
                    + self.words_score(GoldenColumn::City, part(2))
                    + self.words_score(GoldenColumn::Region, part(3))
                    + self.words_score(GoldenColumn::Postcode, part(4))
            }
            ValueKind::Email | ValueKind::Phone | ValueKind::Date => 0.0,
        }
    }
}

/// Scores spellings: names and addresses by the estate's word counts, e-mails by the
/// customer's names they spell.
pub struct Scorer<'s> {
    pub estate: &'s Estate,
    /// The words of the customer's given and family names as chosen (folded).
    pub names: Vec<String>,
}

impl Scorer<'_> {
    fn score(&self, kind: ValueKind, o: &Offer<'_>) -> f64 {
        match kind {
            ValueKind::Email => email_form(&o.key, &self.names),
            _ => self.estate.score(kind, &o.parts),
        }
    }
}

/// How well-formed an e-mail is for this customer: one point for each of its names the local
/// part spells (`jonathan_harris` beside `bonathan_harris` for Jonathan Harris), one for having
/// no `+tag` (the address itself, not a sub-address).
fn email_form(email: &str, names: &[String]) -> f64 {
    let local: String = email.split('@').next().unwrap_or("").to_uppercase();
    let spelled = names
        .iter()
        .filter(|w| w.len() >= 2 && local.contains(w.as_str()))
        .count();
    spelled as f64 + if local.contains('+') { 0.0 } else { 1.0 }
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
    /// The value's parts, for scoring (an address: street, unit, city, region, postcode).
    pub parts: Vec<Option<&'a str>>,
    /// Well-formedness (see [`Scorer`]): scored only where spellings compete (a group of
    /// several, or groups tied on support).
    pub score: Option<f64>,
    /// How many letters of a name one of the customer's e-mails spells (`Beth` beside
    /// `beth.pittman@…`); 0 when none does. The longer spelled name wins: `joyce_durham@…`
    /// spells both `Joy` and `Joyce`.
    pub spelled: usize,
    /// The reliability of its most reliable record (see [`by_reliability`]), once known.
    pub reliability: i32,
}

impl Offer<'_> {
    fn score(&self) -> f64 {
        self.score.unwrap_or(0.0)
    }

    /// An address with its street, city, region and postcode all present.
    fn complete(&self) -> bool {
        [0, 2, 3, 4].iter().all(|&i| {
            self.parts
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|v| !v.is_empty())
        })
    }
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
        if let [one] = self.members.as_slice() {
            return one.records.len();
        }
        let mut all: Vec<*const Record> = self
            .members
            .iter()
            .flat_map(|m| m.records.iter().map(|r| *r as *const Record))
            .collect();
        all.sort_unstable();
        all.dedup();
        all.len()
    }

    /// Whether `r` carries one of the group's values.
    pub fn has(&self, r: &Record) -> bool {
        self.members
            .iter()
            .any(|m| m.records.iter().any(|x| std::ptr::eq(*x, r)))
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

    fn score_members(&mut self, scorer: &Scorer<'_>) {
        for m in &mut self.members {
            if m.score.is_none() {
                m.score = Some(scorer.score(self.kind, m));
            }
        }
    }

    /// The member shown: the name the customer's e-mail spells (`Beth` with `beth.pittman@…`,
    /// not `Elizabeth`, though `Beth` is the rarer name); then of the well-formed ones (not
    /// clearly worse formed than the best), a complete address before a partial one, then the
    /// most supported, then the best-formed, then the most reliable record's, then the best
    /// record's. `Gerald` three times keeps its place beside `Jerry` once; `BENSON STRET` twice
    /// gives way to `BENSON STREET`.
    pub fn shown(&self, rank: &impl Fn(&Record) -> usize) -> &Offer<'a> {
        if let [one] = self.members.as_slice() {
            return one;
        }
        let best = self
            .members
            .iter()
            .map(Offer::score)
            .fold(f64::NEG_INFINITY, f64::max);
        let margin = self.kind.clear_margin();
        let malformed = |m: &Offer<'_>| m.score() <= best - margin;
        let partial = |m: &Offer<'_>| self.kind == ValueKind::Address && !m.complete();
        self.members
            .iter()
            .min_by(|a, b| {
                b.spelled
                    .cmp(&a.spelled)
                    .then_with(|| malformed(a).cmp(&malformed(b)))
                    .then_with(|| partial(a).cmp(&partial(b)))
                    .then_with(|| b.records.len().cmp(&a.records.len()))
                    .then_with(|| b.score().total_cmp(&a.score()))
                    .then_with(|| b.reliability.cmp(&a.reliability))
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

/// Groups the offered values, most supported first, then by the best record's source priority
/// and recency ([`break_ties`] then weighs ties on support). Spellings are scored only within
/// groups of several.
pub fn group<'a>(
    kind: ValueKind,
    mut offers: Vec<Offer<'a>>,
    rank: &impl Fn(&Record) -> usize,
    scorer: &Scorer<'_>,
    ties: &Ties,
) -> Vec<ValueGroup<'a>> {
    let names = matches!(
        kind,
        ValueKind::GivenName | ValueKind::Text(GoldenColumn::FamilyName)
    );
    for o in &mut offers {
        if names {
            o.spelled = ties.spelled(&o.key);
        }
        if o.records.len() > 1 {
            o.records.sort_by(|a, b| record_order(a, b, rank));
            o.records.dedup_by(|a, b| std::ptr::eq(*a, *b));
        }
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
    for g in &mut groups {
        if g.members.len() > 1 {
            g.score_members(scorer);
        }
    }
    if groups.len() < 2 {
        return groups;
    }
    let mut keyed: Vec<(usize, ValueGroup<'a>)> =
        groups.into_iter().map(|g| (g.support(), g)).collect();
    keyed.sort_by(|(sa, a), (sb, b)| {
        sb.cmp(sa)
            .then_with(|| record_order(a.best_record(rank), b.best_record(rank), rank))
    });
    keyed.into_iter().map(|(_, g)| g).collect()
}

/// How a field's winning group was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// One group, or one more supported than any other.
    Support,
    /// Tied on support; the values' own evidence settled it (completeness, the estate's
    /// spelling, the e-mail spelling the name, a swapped name).
    Evidence,
    /// Tied after that; the records that agree more with the customer's other fields won.
    Reliability,
    /// Still tied: source priority and recency chose, and a steward should.
    Split,
}

impl Decided {
    /// Whether one value is clearly best supported: no field conflict.
    pub fn clear(self) -> bool {
        self != Decided::Split
    }
}

/// What else the customer's records say, for ties.
#[derive(Debug, Default)]
pub struct Ties {
    /// The local parts of the customer's e-mails, upper-case letters only.
    pub locals: Vec<String>,
    /// The given name chosen, in comparison form: a family name equal to it is the two fields
    /// swapped.
    pub given: Option<String>,
}

impl Ties {
    pub fn of(members: &[&Record]) -> Ties {
        let mut locals: Vec<String> = members
            .iter()
            .flat_map(|r| r.emails.iter())
            .map(|e| {
                let local = e.split('@').next().unwrap_or("");
                local
                    .chars()
                    .filter(char::is_ascii_alphabetic)
                    .map(|c| c.to_ascii_uppercase())
                    .collect()
            })
            .collect();
        locals.sort_unstable();
        locals.dedup();
        Ties {
            locals,
            given: None,
        }
    }

    /// How many letters of the name an e-mail of the customer's spells (names of three letters
    /// or more; 0: none does).
    fn spelled(&self, name_key: &str) -> usize {
        let name: String = name_key.chars().filter(|c| *c != ' ').collect();
        if name.len() >= 3 && self.locals.iter().any(|l| l.contains(name.as_str())) {
            name.len()
        } else {
            0
        }
    }
}

/// Keeps those of `keep` that `good` says are better, when some but not all are.
fn narrow(keep: &mut Vec<usize>, good: impl Fn(usize) -> bool) {
    let better: Vec<usize> = keep.iter().copied().filter(|&i| good(i)).collect();
    if !better.is_empty() && better.len() < keep.len() {
        *keep = better;
    }
}

/// Weighs the groups tied with the first on support by what the values themselves say, in
/// turn: a complete address beats a partial one; a spelling clearly more common across the
/// estate (twenty times: typos make rare words) beats a rare one; a name the customer's e-mail
/// spells beats one it does not; a family name equal to the chosen given name (the fields
/// swapped) loses. The groups still tied come first (in source priority and recency order);
/// returns how the winner was found and how many are still tied.
pub fn break_ties(
    kind: ValueKind,
    groups: &mut [ValueGroup<'_>],
    rank: &impl Fn(&Record) -> usize,
    scorer: &Scorer<'_>,
    ties: &Ties,
) -> (Decided, usize) {
    if groups.len() < 2 {
        return (Decided::Support, groups.len());
    }
    let top = groups[0].support();
    let n = groups.iter().take_while(|g| g.support() == top).count();
    if n == 1 {
        return (Decided::Support, 1);
    }
    let mut keep: Vec<usize> = (0..n).collect();
    if kind == ValueKind::Address {
        narrow(&mut keep, |i| groups[i].members.iter().any(Offer::complete));
    }
    for g in &mut groups[..n] {
        g.score_members(scorer);
    }
    // Not between two addresses: each is a sum over many words, and two real places differ
    // by chance as much as a typo does.
    if kind != ValueKind::Address {
        let scores: Vec<f64> = groups[..n].iter().map(|g| g.shown(rank).score()).collect();
        let best = keep
            .iter()
            .map(|&i| scores[i])
            .fold(f64::NEG_INFINITY, f64::max);
        narrow(&mut keep, |i| scores[i] > best - kind.clear_margin());
    }
    let names = matches!(
        kind,
        ValueKind::GivenName | ValueKind::Text(GoldenColumn::FamilyName)
    );
    // Any name spelled, not the longest: with the fields swapped, `roger.williams@…` spells
    // both names, and the swap check below settles it.
    if names {
        narrow(&mut keep, |i| {
            groups[i].members.iter().any(|m| m.spelled > 0)
        });
    }
    if kind == ValueKind::Text(GoldenColumn::FamilyName) {
        if let Some(given) = &ties.given {
            narrow(&mut keep, |i| {
                groups[i].members.iter().all(|m| &m.key != given)
            });
        }
    }
    bring_forward(groups, &keep);
    if keep.len() == 1 {
        (Decided::Evidence, 1)
    } else {
        (Decided::Split, keep.len())
    }
}

/// Moves the groups at `keep` (ascending) to the front, the others after them in order.
fn bring_forward(groups: &mut [ValueGroup<'_>], keep: &[usize]) {
    if keep.iter().enumerate().all(|(at, &i)| at == i) {
        return;
    }
    let mut order: Vec<usize> = keep.to_vec();
    order.extend((0..groups.len()).filter(|i| !keep.contains(i)));
    let mut taken: Vec<Option<ValueGroup<'_>>> = groups.iter_mut().map(|g| Some(take(g))).collect();
    for (at, i) in order.into_iter().enumerate() {
        if let Some(g) = taken[i].take() {
            groups[at] = g;
        }
    }
}

fn take<'a>(g: &mut ValueGroup<'a>) -> ValueGroup<'a> {
    ValueGroup {
        kind: g.kind,
        members: std::mem::take(&mut g.members),
    }
}

/// The last evidence for the first `tied` groups: the group carried by the most reliable
/// record wins, a record being as reliable as its other fields agree with the customer's
/// clearly chosen values (`reliability`). Still tied: source priority and recency decide.
pub fn by_reliability(
    groups: &mut [ValueGroup<'_>],
    tied: usize,
    reliability: &impl Fn(&Record) -> i32,
) -> Decided {
    let of: Vec<i32> = groups[..tied]
        .iter()
        .map(|g| {
            g.members
                .iter()
                .flat_map(|m| m.records.iter())
                .map(|r| reliability(r))
                .max()
                .unwrap_or(i32::MIN)
        })
        .collect();
    let best = of.iter().copied().max().unwrap_or(i32::MIN);
    let keep: Vec<usize> = (0..tied).filter(|&i| of[i] == best).collect();
    bring_forward(groups, &keep);
    if keep.len() == 1 {
        Decided::Reliability
    } else {
        Decided::Split
    }
}

/// How much more common across the estate (in log terms) a name must be to break a tie between
/// two different names: twenty times. A typo or a name in the wrong field (`Greene` as a
/// given name) is rare; two real names are seldom that far apart.
const CLEARLY: f64 = 3.0;

/// The offers of `values`: (record, displayed value, its parts for scoring) merged by key.
pub fn offers<'a>(
    kind: ValueKind,
    values: impl IntoIterator<Item = (&'a Record, String, Vec<Option<&'a str>>)>,
) -> Vec<Offer<'a>> {
    let mut out: Vec<Offer<'a>> = Vec::new();
    // By comparison form and spelling: `ADAMS AVE` and `ADAMS AVENUE` are one value (they
    // group together) but two spellings, each with its own support, to show the better.
    for (r, value, parts) in values {
        let key = kind.key_of(&value, &parts);
        if key.is_empty() {
            continue;
        }
        let raw = kind.key(&value);
        // Clusters are small: a scan beats hashing two strings.
        match out.iter_mut().find(|o| o.key == key && o.raw == raw) {
            Some(o) => o.records.push(r),
            None => out.push(Offer {
                raw,
                value,
                key,
                records: vec![r],
                parts,
                score: None,
                spelled: 0,
                reliability: 0,
            }),
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

    fn offers_of<'a>(kind: ValueKind, v: &[(&'a Record, &'a str)]) -> Vec<Offer<'a>> {
        offers(
            kind,
            v.iter().map(|(r, s)| (*r, s.to_string(), vec![Some(*s)])),
        )
    }

    fn scorer(estate: &Estate) -> Scorer<'_> {
        Scorer {
            estate,
            names: Vec::new(),
        }
    }

    static NONE: std::sync::LazyLock<Estate> = std::sync::LazyLock::new(Estate::default);

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
            &[
                (&c, "anan_kofron@icloud.com"),
                (&a, "anna_kofron@icloud.com"),
                (&b, "ANNA_KOFRON@icloud.com"),
                (&d, "anna_kofron@icloud.com"),
            ],
        );
        let groups = group(
            ValueKind::Email,
            o,
            &crm_first,
            &scorer(&NONE),
            &Ties::default(),
        );
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
        let o = offers_of(kind, &[(&w, "1980-01-02"), (&c, "1975-06-30")]);
        let groups = group(kind, o, &crm_first, &scorer(&NONE), &Ties::default());
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
        let groups = group(
            ValueKind::Address,
            o,
            &|_: &Record| 0,
            &scorer(&estate),
            &Ties::default(),
        );
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].shown(&|_: &Record| 0).value, "5724 KAREN LANE");
        // Without the estate's counts, the better record decides: key 1.
        let o = offers_of(
            ValueKind::Address,
            &[(&a, "5724 KAREN LAE"), (&b, "5724 KAREN LANE")],
        );
        let groups = group(
            ValueKind::Address,
            o,
            &|_: &Record| 0,
            &scorer(&NONE),
            &Ties::default(),
        );
        assert_eq!(groups[0].shown(&|_: &Record| 0).value, "5724 KAREN LAE");
    }

    fn tied<'a>(
        kind: ValueKind,
        estate: &Estate,
        ties: &Ties,
        v: &[(&'a Record, &'a str)],
    ) -> (Decided, Vec<ValueGroup<'a>>) {
        let sc = scorer(estate);
        let mut groups = group(kind, offers_of(kind, v), &crm_first, &sc, ties);
        let (decided, _) = break_ties(kind, &mut groups, &crm_first, &sc, ties);
        (decided, groups)
    }

    fn estate_of(given: &[(&str, usize)]) -> Estate {
        let records: Vec<Record> = given
            .iter()
            .flat_map(|(name, n)| {
                (0..*n).map(|_| Record {
                    given_name: Some((*name).into()),
                    ..Default::default()
                })
            })
            .collect();
        Estate::of(&records)
    }

    #[test]
    fn a_mistyped_street_suffix_joins_its_abbreviation() {
        let (a, b) = (rec("people", "1"), rec("people", "2"));
        let address = |r, street| {
            (
                r,
                format!("{street} BOSTON MA 02101"),
                vec![
                    Some(street),
                    None,
                    Some("BOSTON"),
                    Some("MA"),
                    Some("02101"),
                ],
            )
        };
        let o = offers(
            ValueKind::Address,
            [address(&a, "5724 KAREN LN"), address(&b, "5724 KAREN LAE")],
        );
        let groups = group(
            ValueKind::Address,
            o,
            &crm_first,
            &scorer(&NONE),
            &Ties::default(),
        );
        assert_eq!(groups.len(), 1, "LAE is LANE mistyped, which is LN");
    }

    #[test]
    fn a_complete_address_wins_a_tie() {
        let (a, b) = (rec("web", "1"), rec("crm", "2"));
        let o = offers(
            ValueKind::Address,
            [
                (
                    &a,
                    "1 MAIN ST BOSTON MA 02101".to_string(),
                    vec![
                        Some("1 MAIN ST"),
                        None,
                        Some("BOSTON"),
                        Some("MA"),
                        Some("02101"),
                    ],
                ),
                (
                    &b,
                    "9 ELM RD SALEM".to_string(),
                    vec![Some("9 ELM RD"), None, Some("SALEM"), None, None],
                ),
            ],
        );
        let sc = scorer(&NONE);
        let mut groups = group(ValueKind::Address, o, &crm_first, &sc, &Ties::default());
        assert_eq!(groups[0].members[0].value, "9 ELM RD SALEM", "crm first");
        let (decided, _) = break_ties(
            ValueKind::Address,
            &mut groups,
            &crm_first,
            &sc,
            &Ties::default(),
        );
        assert_eq!(decided, Decided::Evidence);
        assert_eq!(groups[0].members[0].value, "1 MAIN ST BOSTON MA 02101");
    }

    #[test]
    fn a_kept_estate_scores_its_training_words_as_their_count_did() {
        let counted = estate_of(&[("ROBERT", 40), ("GREENE", 1), ("RONALD", 2)]);
        let kept = counted.kept();
        assert_eq!(
            (counted.words(), kept.words()),
            (3, 2),
            "repeated words only"
        );
        let score = |e: &Estate, name: &str| e.score(ValueKind::GivenName, &[Some(name)]);
        for name in ["Robert", "Greene", "Ronald"] {
            assert_eq!(score(&kept, name), score(&counted, name), "{name}");
        }
        assert_eq!(
            score(&kept, "Zbyszko"),
            score(&counted, "Greene"),
            "a word training never saw counts as seen once"
        );
        assert_eq!(
            score(&Estate::default(), "Robert"),
            0.0,
            "no estate, no evidence"
        );
        let json = serde_json::to_string(&kept).expect("encodes");
        assert!(
            !json.to_uppercase().contains("ROBERT"),
            "hashes, not words: {json}"
        );
        let back: Estate = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back, kept);
    }

    #[test]
    fn a_spelling_clearly_more_common_across_the_estate_wins_a_tie() {
        let (c, w) = (rec("crm", "1"), rec("web", "2"));
        let estate = estate_of(&[("ROBERT", 40), ("GREENE", 1), ("RONALD", 10)]);
        let (decided, groups) = tied(
            ValueKind::GivenName,
            &estate,
            &Ties::default(),
            &[(&c, "Greene"), (&w, "Robert")],
        );
        assert_eq!(decided, Decided::Evidence);
        assert_eq!(groups[0].members[0].value, "Robert");
        // Four times as common is not clearly better: still split, source priority shows.
        let (decided, groups) = tied(
            ValueKind::GivenName,
            &estate,
            &Ties::default(),
            &[(&c, "Ronald"), (&w, "Robert")],
        );
        assert_eq!(decided, Decided::Split);
        assert_eq!(groups[0].members[0].value, "Ronald");
    }

    #[test]
    fn a_name_the_customers_email_spells_wins_a_tie() {
        let (c, w) = (rec("crm", "1"), rec("web", "2"));
        let ties = Ties {
            locals: vec!["ANNAKOFRON".into()],
            given: None,
        };
        let (decided, groups) = tied(
            ValueKind::GivenName,
            &NONE,
            &ties,
            &[(&c, "Maria"), (&w, "Anna")],
        );
        assert_eq!(decided, Decided::Evidence);
        assert_eq!(groups[0].members[0].value, "Anna");
        let (decided, _) = tied(
            ValueKind::GivenName,
            &NONE,
            &Ties::default(),
            &[(&c, "Maria"), (&w, "Anna")],
        );
        assert_eq!(decided, Decided::Split, "nothing to tell them apart");
        // Within a group too, before support: the nickname the e-mail spells is the name used;
        // of two names it spells, the longer.
        let w2 = rec("web", "3");
        let ties = Ties {
            locals: vec!["BETHPITTMAN".into(), "JOYCEDURHAM".into()],
            given: None,
        };
        let (_, groups) = tied(
            ValueKind::GivenName,
            &NONE,
            &ties,
            &[(&c, "Elizabeth"), (&w, "Elizabeth"), (&w2, "Beth")],
        );
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].shown(&crm_first).value, "Beth");
        let (_, groups) = tied(
            ValueKind::GivenName,
            &NONE,
            &ties,
            &[(&c, "Joy"), (&w, "Joy"), (&w2, "Joyce")],
        );
        assert_eq!(groups[0].shown(&crm_first).value, "Joyce");
    }

    #[test]
    fn a_family_name_equal_to_the_given_name_is_the_fields_swapped() {
        let (c, w) = (rec("crm", "1"), rec("web", "2"));
        let ties = Ties {
            locals: Vec::new(),
            given: Some("JOHN".into()),
        };
        let kind = ValueKind::Text(GoldenColumn::FamilyName);
        let (decided, groups) = tied(kind, &NONE, &ties, &[(&c, "John"), (&w, "Smith")]);
        assert_eq!(decided, Decided::Evidence);
        assert_eq!(groups[0].members[0].value, "Smith");
    }

    #[test]
    fn the_more_reliable_record_breaks_a_remaining_tie() {
        let (c, w) = (rec("crm", "1"), rec("web", "2"));
        let kind = ValueKind::Date;
        let (decided, mut groups) = tied(
            kind,
            &NONE,
            &Ties::default(),
            &[(&c, "1975-06-30"), (&w, "1980-01-02")],
        );
        assert_eq!(decided, Decided::Split);
        let web_agrees_more = |r: &Record| if r.source == "web" { 2 } else { -1 };
        assert_eq!(
            by_reliability(&mut groups, 2, &web_agrees_more),
            Decided::Reliability
        );
        assert_eq!(groups[0].members[0].value, "1980-01-02");
        let (_, mut groups) = tied(
            kind,
            &NONE,
            &Ties::default(),
            &[(&c, "1975-06-30"), (&w, "1980-01-02")],
        );
        assert_eq!(
            by_reliability(&mut groups, 2, &|_: &Record| 0),
            Decided::Split
        );
        assert_eq!(groups[0].members[0].value, "1975-06-30", "source priority");
    }
}
