//! Blocking: which record pairs are worth comparing.
//!
//! Each rule is a list of keys (`["family_name_soundex", "birth_year"]`); records that agree on
//! every key of a rule form a block, and every pair in a block is a candidate. Rules are OR-ed;
//! a pair found by several rules is counted once, for the first rule that found it. A block so
//! large that it would blow up the pair count is skipped and reported by its key.

use crate::prepare::{Field, Interner, Prepared, Sym, NONE};
use crate::standardize::phonetic;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use toml::Spanned;

/// Records are packed into 28 bits of a pair key.
pub const MAX_RECORDS: usize = 1 << 28;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingRuleConfig {
    #[serde(default)]
    pub name: Option<String>,
    pub keys: Vec<Spanned<String>>,
}

/// One part of a blocking key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "field")]
pub enum BlockKey {
    Value(Field),
    Soundex(Field),
    Metaphone(Field),
    Initial(Field),
    BirthYear,
    /// Given and family name as an unordered pair, so that swapped names share a block.
    NamesUnordered,
}

impl BlockKey {
    pub fn parse(s: &str) -> Option<BlockKey> {
        if s == "birth_year" {
            return Some(BlockKey::BirthYear);
        }
        if s == "names_unordered" {
            return Some(BlockKey::NamesUnordered);
        }
        if let Some(f) = Field::parse(s) {
            return Some(BlockKey::Value(f));
        }
        let (base, kind) = s.rsplit_once('_')?;
        let field = Field::parse(base)?;
        if field.is_multi() || field == Field::DateOfBirth {
            return None;
        }
        match kind {
            "soundex" => Some(BlockKey::Soundex(field)),
            "metaphone" => Some(BlockKey::Metaphone(field)),
            "initial" => Some(BlockKey::Initial(field)),
            _ => None,
        }
    }

    pub fn name(self) -> String {
        match self {
            BlockKey::Value(f) => f.name().to_string(),
            BlockKey::Soundex(f) => format!("{}_soundex", f.name()),
            BlockKey::Metaphone(f) => format!("{}_metaphone", f.name()),
            BlockKey::Initial(f) => format!("{}_initial", f.name()),
            BlockKey::BirthYear => "birth_year".into(),
            BlockKey::NamesUnordered => "names_unordered".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockingRule {
    pub name: String,
    pub keys: Vec<BlockKey>,
}

impl BlockingRule {
    pub fn from_config(
        c: &BlockingRuleConfig,
    ) -> Result<BlockingRule, (std::ops::Range<usize>, String)> {
        let mut keys = Vec::new();
        for k in &c.keys {
            let key = BlockKey::parse(k.get_ref()).ok_or_else(|| {
                (
                    k.span(),
                    format!(
                        "unknown blocking key {:?}; use a field (given_name, family_name, date_of_birth, email, phone, postcode, \
                         street_number, street_name, city, …), birth_year, names_unordered, or a text field with _soundex, \
                         _metaphone or _initial",
                        k.get_ref()
                    ),
                )
            })?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err((0..0, "a blocking rule needs at least one key".into()));
        }
        let name = c
            .name
            .clone()
            .unwrap_or_else(|| keys.iter().map(|k| k.name()).collect::<Vec<_>>().join("+"));
        Ok(BlockingRule { name, keys })
    }
}

/// Which pairs may be compared at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    /// Pairs within and across sources.
    #[default]
    LinkAndDedupe,
    /// Only pairs from different sources (each source is already free of duplicates).
    LinkOnly,
    /// Only pairs within one source.
    DedupeOnly,
}

impl LinkType {
    /// Whether two records, from the same source or not, may be paired.
    pub fn allows(self, same_source: bool) -> bool {
        match self {
            LinkType::LinkAndDedupe => true,
            LinkType::LinkOnly => !same_source,
            LinkType::DedupeOnly => same_source,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleStats {
    pub rule: String,
    /// Pairs the rule found, including those an earlier rule found first.
    pub pairs_found: u64,
    /// Pairs first found by this rule.
    pub pairs_new: u64,
    pub blocks: u64,
    pub largest_block: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockWarning {
    /// The rule, named by its keys (`postcode+given_name_initial`). Never the block's key
    /// values: they are a customer's, and this goes to the run summary and `sync_runs`.
    pub rule: String,
    pub records: u64,
    pub pairs: u64,
    pub skipped: bool,
    /// The block's key as a hash of its values, the same in every run: an incremental run
    /// compares the blocks skipped now with those the last run skipped. Kept out of the summary.
    #[serde(skip)]
    pub key: u64,
}

/// Candidate pairs, sorted, each once, with the rule that found it first.
#[derive(Debug, Default)]
pub struct Candidates {
    packed: Vec<u64>,
    /// How many pairs there were, still known after `release_pairs`.
    total: usize,
    pub rules: Vec<RuleStats>,
    pub warnings: Vec<BlockWarning>,
}

impl Candidates {
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Frees the pairs once they are scored; the counts stay.
    pub fn release_pairs(&mut self) {
        self.packed = Vec::new();
    }

    /// (i, j, rule index) with i < j.
    pub fn get(&self, k: usize) -> (u32, u32, u8) {
        unpack(self.packed[k])
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, u32, u8)> + '_ {
        self.packed.iter().map(|&p| unpack(p))
    }

    pub fn packed(&self) -> &[u64] {
        &self.packed
    }
}

pub fn pack(i: u32, j: u32, rule: u8) -> u64 {
    (u64::from(i) << 36) | (u64::from(j) << 8) | u64::from(rule)
}

pub fn unpack(p: u64) -> (u32, u32, u8) {
    (
        (p >> 36) as u32,
        ((p >> 8) & 0x0FFF_FFFF) as u32,
        (p & 0xFF) as u8,
    )
}

/// Limits on block sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLimits {
    /// Blocks with more records than this are skipped (and reported).
    pub max_block_records: usize,
    /// Blocks with more pairs than this are reported but kept.
    pub warn_block_pairs: u64,
}

/// Per-value codes for the keys of the rules (phonetic codes are computed once per distinct value).
struct KeyColumns<'a> {
    prepared: &'a Prepared,
    codes: HashMap<BlockKey, (Interner, Vec<Sym>)>,
    /// Per key, a hash of each interned value's text: block keys built from these are the same
    /// in every run, where interned numbers depend on the records' order.
    stable: HashMap<BlockKey, Vec<u64>>,
}

impl<'a> KeyColumns<'a> {
    fn new(prepared: &'a Prepared, rules: &[BlockingRule]) -> Self {
        let mut wanted: Vec<BlockKey> = rules
            .iter()
            .flat_map(|r| r.keys.iter().copied())
            .filter(|k| {
                matches!(
                    k,
                    BlockKey::Soundex(_)
                        | BlockKey::Metaphone(_)
                        | BlockKey::Initial(_)
                        | BlockKey::NamesUnordered
                )
            })
            .collect();
        wanted.sort_by_key(|k| k.name());
        wanted.dedup();
        let codes = wanted
            .par_iter()
            .filter_map(|&key| {
                let field = match key {
                    BlockKey::Soundex(f) | BlockKey::Metaphone(f) | BlockKey::Initial(f) => f,
                    BlockKey::NamesUnordered => return Some((key, names_unordered(prepared))),
                    _ => return None,
                };
                let (interner, syms) = prepared.column(field)?;
                let mut codes = Interner::new();
                let per_value: Vec<Sym> = (0..interner.len() as u32)
                    .map(|s| {
                        if s == NONE {
                            return NONE;
                        }
                        let v = interner.str(s);
                        let code = match key {
                            BlockKey::Soundex(_) => phonetic::soundex(v),
                            BlockKey::Metaphone(_) => phonetic::double_metaphone(v).0,
                            _ => v.chars().next().map(String::from).unwrap_or_default(),
                        };
                        codes.add(&code)
                    })
                    .collect();
                let column = syms.iter().map(|&s| per_value[s as usize]).collect();
                Some((key, (codes, column)))
            })
            .collect();
        let mut cols = KeyColumns {
            prepared,
            codes,
            stable: HashMap::new(),
        };
        let mut keys: Vec<BlockKey> = rules.iter().flat_map(|r| r.keys.iter().copied()).collect();
        keys.sort_by_key(|k| k.name());
        keys.dedup();
        cols.stable = keys
            .into_par_iter()
            .filter_map(|k| {
                let interner = cols.interner(k)?;
                let hashes = (0..interner.len() as u32)
                    .map(|s| xxhash_rust::xxh3::xxh3_64(interner.str(s).as_bytes()))
                    .collect();
                Some((k, hashes))
            })
            .collect();
        cols
    }

    /// The interner a key's values come from (none for dates: their numbers are stable).
    fn interner(&self, key: BlockKey) -> Option<&Interner> {
        match key {
            BlockKey::Value(Field::DateOfBirth) | BlockKey::BirthYear => None,
            BlockKey::Value(f) if f.is_multi() => self.prepared.multi(f).map(|c| &c.interner),
            BlockKey::Value(f) => self.prepared.column(f).map(|(i, _)| i),
            k => self.codes.get(&k).map(|(i, _)| i),
        }
    }

    /// The values of one key for record `i` (several for e-mails and phones).
    fn values(&self, key: BlockKey, i: usize, out: &mut Vec<u32>) {
        out.clear();
        let p = self.prepared;
        match key {
            BlockKey::Value(Field::DateOfBirth) => {
                if let Some(d) = p.dob[i] {
                    out.push(d.days as u32);
                }
            }
            BlockKey::BirthYear => {
                if let Some(d) = p.dob[i] {
                    out.push(d.year as u32);
                }
            }
            BlockKey::Value(f) if f.is_multi() => {
                if let Some(col) = p.multi(f) {
                    out.extend_from_slice(col.of(i));
                }
            }
            BlockKey::Value(f) => {
                let s = p.sym(f, i);
                if s != NONE {
                    out.push(s);
                }
            }
            k => {
                if let Some((_, col)) = self.codes.get(&k) {
                    let s = col[i];
                    if s != NONE {
                        out.push(s);
                    }
                }
            }
        }
    }
}

/// One code per record for its {given, family} name pair in either order; none unless both are present.
fn names_unordered(p: &Prepared) -> (Interner, Vec<Sym>) {
    let mut codes = Interner::new();
    let column = (0..p.n)
        .map(|i| {
            let (g, f) = (p.text(Field::GivenName, i), p.text(Field::FamilyName, i));
            if g.is_empty() || f.is_empty() {
                return NONE;
            }
            let (a, b) = if g <= f { (g, f) } else { (f, g) };
            codes.add(&format!("{a}|{b}"))
        })
        .collect();
    (codes, column)
}

fn hash_key(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x9E37_79B9_7F4A_7C15, |h, &p| mix64(h.rotate_left(17) ^ p))
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of one word.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Block entries (key hash, record) of one rule; records missing a key are left out.
fn entries(cols: &KeyColumns<'_>, rule: &BlockingRule, n: usize) -> Vec<(u64, u32)> {
    let stable: Vec<Option<&Vec<u64>>> = rule.keys.iter().map(|k| cols.stable.get(k)).collect();
    (0..n)
        .into_par_iter()
        .fold(Vec::new, |mut acc: Vec<(u64, u32)>, i| {
            let mut per_key: Vec<Vec<u64>> = Vec::with_capacity(rule.keys.len());
            let mut buf = Vec::new();
            for (k, table) in rule.keys.iter().zip(&stable) {
                cols.values(*k, i, &mut buf);
                if buf.is_empty() {
                    return acc;
                }
                per_key.push(
                    buf.iter()
                        .map(|&v| table.map_or(u64::from(v), |t| t[v as usize]))
                        .collect(),
                );
            }
            // The cross product of multi-valued keys (usually one value each).
            let mut combo = vec![0usize; per_key.len()];
            let mut parts = vec![0u64; per_key.len()];
            loop {
                for (slot, (values, &c)) in parts.iter_mut().zip(per_key.iter().zip(&combo)) {
                    *slot = values[c];
                }
                acc.push((hash_key(&parts), i as u32));
                let mut d = 0;
                loop {
                    if d == combo.len() {
                        return acc;
                    }
                    combo[d] += 1;
                    if combo[d] < per_key[d].len() {
                        break;
                    }
                    combo[d] = 0;
                    d += 1;
                }
            }
        })
        .reduce(Vec::new, |mut a, mut b| {
            a.append(&mut b);
            a
        })
}

/// Generates the candidate pairs of all rules.
pub fn candidates(
    prepared: &Prepared,
    rules: &[BlockingRule],
    link_type: LinkType,
    limits: BlockLimits,
) -> Candidates {
    generate(prepared, rules, link_type, limits, None)
}

/// What an incremental run knows when it blocks: the records whose pairs it recomputes, and
/// the blocks the last run skipped as too large (per rule name, by [`BlockWarning::key`]).
pub struct Touching<'a> {
    /// Records new or changed since the last run. Grown here by the members of every block that
    /// crossed the size limit since, whose pairs appear or vanish with it.
    pub dirty: &'a mut [bool],
    pub skipped_before: &'a HashMap<String, std::collections::HashSet<u64>>,
}

/// The candidate pairs a full run would generate that touch a dirty record: the pairs between
/// clean records are the last run's.
pub fn candidates_touching(
    prepared: &Prepared,
    rules: &[BlockingRule],
    link_type: LinkType,
    limits: BlockLimits,
    touching: Touching<'_>,
) -> Candidates {
    generate(prepared, rules, link_type, limits, Some(touching))
}

/// One rule's entries, sorted, and their blocks.
type RuleBlocks = (Vec<(u64, u32)>, Vec<(usize, usize)>);

fn rule_blocks(cols: &KeyColumns<'_>, rule: &BlockingRule, n: usize) -> RuleBlocks {
    let mut e = entries(cols, rule, n);
    e.par_sort_unstable();
    e.dedup();
    let groups = blocks_of(&e);
    (e, groups)
}

fn generate(
    prepared: &Prepared,
    rules: &[BlockingRule],
    link_type: LinkType,
    limits: BlockLimits,
    mut touching: Option<Touching<'_>>,
) -> Candidates {
    let n = prepared.n;
    let cols = KeyColumns::new(prepared, rules);
    // An incremental run first marks the members of blocks that crossed the size limit, over
    // all rules, before any pair is kept or dropped for touching a dirty record.
    let mut blocked: Vec<Option<RuleBlocks>> = rules.iter().map(|_| None).collect();
    if let Some(t) = touching.as_mut() {
        let none = std::collections::HashSet::new();
        for (r, rule) in rules.iter().enumerate() {
            let (e, groups) = rule_blocks(&cols, rule, n);
            let before = t.skipped_before.get(&rule.name).unwrap_or(&none);
            for &(a, b) in &groups {
                let skipped = (b - a) > limits.max_block_records;
                if skipped != before.contains(&e[a].0) {
                    for &(_, i) in &e[a..b] {
                        t.dirty[i as usize] = true;
                    }
                }
            }
            blocked[r] = Some((e, groups));
        }
    }
    let dirty: Option<&[bool]> = touching.as_ref().map(|t| &*t.dirty);
    let mut all: Vec<u64> = Vec::new();
    let mut stats = Vec::with_capacity(rules.len());
    let mut warnings = Vec::new();
    for (r, rule) in rules.iter().enumerate() {
        let (e, groups) = blocked[r]
            .take()
            .unwrap_or_else(|| rule_blocks(&cols, rule, n));
        let mut largest = 0u64;
        let mut kept_groups = Vec::with_capacity(groups.len());
        for &(a, b) in &groups {
            let size = (b - a) as u64;
            let pairs = size * (size - 1) / 2;
            largest = largest.max(size);
            let skipped = (b - a) > limits.max_block_records;
            if skipped || pairs > limits.warn_block_pairs {
                warnings.push(BlockWarning {
                    rule: rule.name.clone(),
                    records: size,
                    pairs,
                    skipped,
                    key: e[a].0,
                });
            }
            let touched = dirty.is_none_or(|d| e[a..b].iter().any(|&(_, i)| d[i as usize]));
            if !skipped && touched {
                kept_groups.push((a, b));
            }
        }
        let source = &prepared.source;
        let rule_pairs: Vec<u64> = kept_groups
            .par_iter()
            .flat_map_iter(|&(a, b)| {
                let block = &e[a..b];
                let mut out = Vec::with_capacity((b - a) * (b - a - 1) / 2);
                for x in 0..block.len() {
                    for y in x + 1..block.len() {
                        let (i, j) = (block[x].1, block[y].1);
                        let (i, j) = if i < j { (i, j) } else { (j, i) };
                        let same = source[i as usize] == source[j as usize];
                        let wanted = dirty.is_none_or(|d| d[i as usize] || d[j as usize]);
                        if wanted && link_type.allows(same) && i != j {
                            out.push(pack(i, j, r as u8));
                        }
                    }
                }
                out.into_iter()
            })
            .collect();
        stats.push(RuleStats {
            rule: rule.name.clone(),
            pairs_found: 0,
            pairs_new: 0,
            blocks: kept_groups.len() as u64,
            largest_block: largest,
        });
        all.extend(rule_pairs);
    }
    all.par_sort_unstable();
    // A pair found by several rules (or twice through multi-valued keys) is kept once, for the
    // first rule: with the rule in the low bits, that is the first of the equal pairs.
    let mut kept: Vec<u64> = Vec::with_capacity(all.len());
    let mut last = u64::MAX;
    let mut last_rule = u8::MAX;
    for &p in &all {
        let base = p >> 8;
        let rule = (p & 0xFF) as u8;
        if base != last {
            kept.push(p);
            stats[rule as usize].pairs_new += 1;
            stats[rule as usize].pairs_found += 1;
            last = base;
            last_rule = rule;
        } else if rule != last_rule {
            stats[rule as usize].pairs_found += 1;
            last_rule = rule;
        }
    }
    Candidates {
        total: kept.len(),
        packed: kept,
        rules: stats,
        warnings,
    }
}

/// About `want` of the pairs one rule finds, each kept with the same chance, without listing
/// them all first: a training rule such as "same date of birth" finds 131 M pairs on a million
/// records, where EM needs a couple of million. A pair is kept when a hash of it and `seed` falls
/// under the sampling rate, so a pair found twice (multi-valued keys) is kept or dropped both
/// times, and the sample is the same on every run. Oversized blocks are skipped as in
/// [`candidates`]. Pairs come sorted, each once.
pub fn sample_rule_pairs(
    prepared: &Prepared,
    rule: &BlockingRule,
    link_type: LinkType,
    limits: BlockLimits,
    want: usize,
    seed: u64,
) -> Vec<(u32, u32)> {
    let e = sorted_entries(prepared, rule);
    let blocks: Vec<&[(u64, u32)]> = blocks_of(&e)
        .into_iter()
        .filter(|(a, b)| b - a <= limits.max_block_records)
        .map(|(a, b)| &e[a..b])
        .collect();
    let source = &prepared.source;
    let allowed =
        |i: u32, j: u32| i != j && link_type.allows(source[i as usize] == source[j as usize]);
    let block_pairs = |block: &[(u64, u32)]| (block.len() * (block.len() - 1) / 2) as u64;
    let found: u64 = blocks.iter().map(|b| block_pairs(b)).sum();
    // Pairs the link type rules out are counted here but never kept: the rate is a little low
    // for a link-only rule, never high.
    let rate = if found == 0 {
        0.0
    } else {
        (want as f64 / found as f64).min(1.0)
    };
    let threshold = (rate * u64::MAX as f64) as u64;
    let mut pairs: Vec<(u32, u32)> = blocks
        .par_iter()
        .flat_map_iter(|block| {
            let mut out = Vec::new();
            for x in 0..block.len() {
                for y in x + 1..block.len() {
                    let (a, b) = (block[x].1, block[y].1);
                    let (i, j) = if a < b { (a, b) } else { (b, a) };
                    if (rate >= 1.0 || pair_hash(i, j, seed) <= threshold) && allowed(i, j) {
                        out.push((i, j));
                    }
                }
            }
            out.into_iter()
        })
        .collect();
    pairs.par_sort_unstable();
    pairs.dedup();
    pairs
}

/// How many record pairs agree on every key of `rule` (and the link type allows), counted
/// exactly from the blocks without listing the pairs; no block is skipped.
pub fn rule_pair_count(prepared: &Prepared, rule: &BlockingRule, link_type: LinkType) -> u64 {
    let e = sorted_entries(prepared, rule);
    let source = &prepared.source;
    blocks_of(&e)
        .par_iter()
        .map(|&(a, b)| {
            let all = ((b - a) * (b - a - 1) / 2) as u64;
            if link_type == LinkType::LinkAndDedupe {
                return all;
            }
            let mut per_source: HashMap<u16, u64> = HashMap::new();
            for &(_, r) in &e[a..b] {
                *per_source.entry(source[r as usize]).or_insert(0) += 1;
            }
            let within: u64 = per_source.values().map(|k| k * (k - 1) / 2).sum();
            match link_type {
                LinkType::LinkOnly => all - within,
                _ => within,
            }
        })
        .sum()
}

/// One rule's block entries (key hash, record), sorted by key, each once.
fn sorted_entries(prepared: &Prepared, rule: &BlockingRule) -> Vec<(u64, u32)> {
    let cols = KeyColumns::new(prepared, std::slice::from_ref(rule));
    rule_blocks(&cols, rule, prepared.n).0
}

/// The sizes of one rule's blocks (two records or more) among the records `keep` selects: a
/// sample, from which the rule's pair count is estimated before it runs (see `choose`).
pub fn block_sizes(
    prepared: &Prepared,
    rule: &BlockingRule,
    keep: &dyn Fn(usize) -> bool,
) -> Vec<u64> {
    let cols = KeyColumns::new(prepared, std::slice::from_ref(rule));
    let mut e = entries(&cols, rule, prepared.n);
    e.retain(|&(_, i)| keep(i as usize));
    e.par_sort_unstable();
    e.dedup();
    blocks_of(&e)
        .into_iter()
        .map(|(a, b)| (b - a) as u64)
        .collect()
}

/// The blocks of sorted (key, record) entries that hold two records or more, as index ranges.
fn blocks_of(e: &[(u64, u32)]) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    let mut start = 0;
    for k in 1..=e.len() {
        if k == e.len() || e[k].0 != e[start].0 {
            if k - start > 1 {
                blocks.push((start, k));
            }
            start = k;
        }
    }
    blocks
}

/// A well-mixed 64-bit hash of a pair (SplitMix64's finaliser over both halves and the seed).
fn pair_hash(i: u32, j: u32, seed: u64) -> u64 {
    mix64(((u64::from(i) << 32) | u64::from(j)) ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;
    use chrono::NaiveDate;

    fn rec(
        source: &str,
        key: &str,
        given: &str,
        family: &str,
        dob: Option<(i32, u32, u32)>,
        email: &str,
    ) -> Record {
        Record {
            source: source.into(),
            key: key.into(),
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            date_of_birth: dob.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
            emails: if email.is_empty() {
                vec![]
            } else {
                vec![email.into()]
            },
            ..Default::default()
        }
    }

    fn rule(keys: &[&str]) -> BlockingRule {
        BlockingRule {
            name: keys.join("+"),
            keys: keys
                .iter()
                .map(|k| BlockKey::parse(k).expect("known key"))
                .collect(),
        }
    }

    const LIMITS: BlockLimits = BlockLimits {
        max_block_records: 1000,
        warn_block_pairs: 1_000_000,
    };

    /// Seven records sharing a family name and birth year (one block of the first rule), two
    /// of them sharing an e-mail too.
    fn family() -> Vec<Record> {
        (0..7u32)
            .map(|k| {
                let email = if k < 2 { "same@x.com" } else { "" };
                rec(
                    "a",
                    &k.to_string(),
                    &format!("G{k}"),
                    "Smith",
                    Some((1980, 1, 1 + k)),
                    email,
                )
            })
            .collect()
    }

    #[test]
    fn touching_candidates_are_the_full_runs_pairs_that_touch_a_dirty_record() {
        let records = family();
        let p = Prepared::build(&records);
        let rules = [rule(&["family_name", "birth_year"]), rule(&["email"])];
        let full = candidates(&p, &rules, LinkType::DedupeOnly, LIMITS);
        let mut dirty = vec![false; records.len()];
        dirty[1] = true;
        let none = HashMap::new();
        let part = candidates_touching(
            &p,
            &rules,
            LinkType::DedupeOnly,
            LIMITS,
            Touching {
                dirty: &mut dirty,
                skipped_before: &none,
            },
        );
        let want: Vec<_> = full.iter().filter(|&(i, j, _)| i == 1 || j == 1).collect();
        assert_eq!(part.iter().collect::<Vec<_>>(), want);
        assert_eq!(want.len(), 6, "record 1 pairs with the six others");
        assert!(
            part.iter().any(|p| p == (0, 1, 0)),
            "a pair both rules find keeps the first"
        );
        assert_eq!(
            dirty.iter().filter(|d| **d).count(),
            1,
            "no block crossed the limit"
        );
    }

    #[test]
    fn a_block_crossing_the_size_limit_makes_its_records_dirty() {
        let records = family();
        let p = Prepared::build(&records);
        let rules = [rule(&["family_name", "birth_year"]), rule(&["email"])];
        let small = BlockLimits {
            max_block_records: 6,
            ..LIMITS
        };
        let full = candidates(&p, &rules, LinkType::DedupeOnly, small);
        let skipped: Vec<&BlockWarning> = full.warnings.iter().filter(|w| w.skipped).collect();
        assert_eq!(skipped.len(), 1, "the block of seven is skipped");
        assert_eq!(full.len(), 1, "only the e-mail pair is left");
        // Last run the block was under the limit (one record fewer): now that it is over, its
        // pairs vanish, so all its records are dirty.
        let mut dirty = vec![false; records.len()];
        dirty[6] = true;
        let none = HashMap::new();
        let part = candidates_touching(
            &p,
            &rules,
            LinkType::DedupeOnly,
            small,
            Touching {
                dirty: &mut dirty,
                skipped_before: &none,
            },
        );
        assert!(
            dirty.iter().all(|d| *d),
            "every member of the crossing block"
        );
        assert_eq!(
            part.iter().collect::<Vec<_>>(),
            full.iter().collect::<Vec<_>>()
        );
        // Skipped last run as well: nothing crossed, only the changed record is dirty.
        let before: HashMap<String, std::collections::HashSet<u64>> = HashMap::from([(
            rules[0].name.clone(),
            [skipped[0].key].into_iter().collect(),
        )]);
        let mut dirty = vec![false; records.len()];
        dirty[6] = true;
        let part = candidates_touching(
            &p,
            &rules,
            LinkType::DedupeOnly,
            small,
            Touching {
                dirty: &mut dirty,
                skipped_before: &before,
            },
        );
        assert_eq!(dirty.iter().filter(|d| **d).count(), 1);
        assert!(part.is_empty(), "record 6 shares no kept block");
    }

    #[test]
    fn block_keys_do_not_depend_on_the_records_order() {
        let records = family();
        let mut reversed = records.clone();
        reversed.reverse();
        let small = BlockLimits {
            max_block_records: 6,
            ..LIMITS
        };
        let rules = [rule(&["family_name_soundex", "birth_year"])];
        let key = |rs: &[Record]| {
            candidates(&Prepared::build(rs), &rules, LinkType::DedupeOnly, small).warnings[0].key
        };
        assert_eq!(key(&records), key(&reversed));
    }

    #[test]
    fn rules_are_ored_and_pairs_counted_once() {
        let records = vec![
            rec("a", "1", "John", "Smith", Some((1980, 1, 2)), "j@x.com"),
            rec("a", "2", "Jon", "Smyth", Some((1980, 5, 6)), "j@x.com"),
            rec("b", "3", "John", "Smith", Some((1980, 1, 2)), ""),
            rec("b", "4", "Mary", "Jones", None, ""),
        ];
        let p = Prepared::build(&records);
        let rules = vec![
            rule(&["email"]),
            rule(&["family_name_soundex", "birth_year"]),
        ];
        let c = candidates(&p, &rules, LinkType::LinkAndDedupe, LIMITS);
        let pairs: Vec<(u32, u32, u8)> = c.iter().collect();
        // (0,1) by email first; soundex S530 + 1980 links 0,1,2 — (0,1) again, (0,2), (1,2) new.
        assert_eq!(pairs, vec![(0, 1, 0), (0, 2, 1), (1, 2, 1)]);
        assert_eq!(c.rules[0].pairs_new, 1);
        assert_eq!(c.rules[1].pairs_new, 2);
        assert_eq!(c.rules[1].pairs_found, 3);

        let link = candidates(&p, &rules, LinkType::LinkOnly, LIMITS);
        assert!(link
            .iter()
            .all(|(i, j, _)| p.source[i as usize] != p.source[j as usize]));
        assert_eq!(link.len(), 2);
    }

    #[test]
    fn swapped_names_share_an_unordered_names_block() {
        let records = vec![
            rec("a", "1", "Nathan", "Morrison", None, ""),
            rec("a", "2", "Morrison", "Nathan", None, ""),
            rec("a", "3", "Nathan", "Morris", None, ""),
        ];
        let p = Prepared::build(&records);
        let c = candidates(
            &p,
            &[rule(&["names_unordered"])],
            LinkType::LinkAndDedupe,
            LIMITS,
        );
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![(0, 1, 0)]);
    }

    #[test]
    fn oversized_blocks_are_skipped_and_named() {
        let records: Vec<Record> = (0..50)
            .map(|i| rec("a", &i.to_string(), "Ann", "Lee", None, ""))
            .collect();
        let p = Prepared::build(&records);
        let limits = BlockLimits {
            max_block_records: 10,
            warn_block_pairs: 5,
        };
        let c = candidates(
            &p,
            &[rule(&["family_name"])],
            LinkType::LinkAndDedupe,
            limits,
        );
        assert!(c.is_empty());
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].rule, "family_name");
        assert_eq!(c.warnings[0].records, 50);
        assert!(c.warnings[0].skipped);
        assert_eq!(c.warnings[0].pairs, 50 * 49 / 2);
        let shown = serde_json::to_string(&c.warnings).expect("json");
        assert!(
            !shown.to_uppercase().contains("LEE"),
            "the block's key value is a customer's: {shown}"
        );
    }

    #[test]
    fn a_rule_sample_is_all_pairs_when_few_and_a_fair_repeatable_share_when_many() {
        // Two sources, 40 people each sharing one family name per group of 8: 5 blocks.
        let records: Vec<Record> = (0..80)
            .map(|i| {
                let family = format!("F{}", i % 10);
                let source = if i % 2 == 0 { "a" } else { "b" };
                rec(source, &i.to_string(), "Ann", &family, None, "")
            })
            .collect();
        let p = Prepared::build(&records);
        let by_family = rule(&["family_name"]);
        for link in [
            LinkType::LinkAndDedupe,
            LinkType::DedupeOnly,
            LinkType::LinkOnly,
        ] {
            let all: Vec<(u32, u32)> =
                candidates(&p, std::slice::from_ref(&by_family), link, LIMITS)
                    .iter()
                    .map(|(i, j, _)| (i, j))
                    .collect();
            let whole = sample_rule_pairs(&p, &by_family, link, LIMITS, 10_000, 7);
            assert_eq!(
                whole, all,
                "{link:?}: every pair when the rule finds fewer than wanted"
            );
        }
        let all = sample_rule_pairs(&p, &by_family, LinkType::LinkAndDedupe, LIMITS, 10_000, 7);
        assert_eq!(all.len(), 10 * (8 * 7 / 2));
        let some = sample_rule_pairs(&p, &by_family, LinkType::LinkAndDedupe, LIMITS, 140, 7);
        assert!(
            (90..=190).contains(&some.len()),
            "about half: {}",
            some.len()
        );
        assert!(some.windows(2).all(|w| w[0] < w[1]), "sorted, each once");
        assert!(some.iter().all(|p| all.contains(p)));
        assert_eq!(
            some,
            sample_rule_pairs(&p, &by_family, LinkType::LinkAndDedupe, LIMITS, 140, 7)
        );
        assert_ne!(
            some,
            sample_rule_pairs(&p, &by_family, LinkType::LinkAndDedupe, LIMITS, 140, 8)
        );
    }

    #[test]
    fn keys_parse_by_name() {
        assert_eq!(
            BlockKey::parse("postcode"),
            Some(BlockKey::Value(Field::Postcode))
        );
        assert_eq!(
            BlockKey::parse("family_name_soundex"),
            Some(BlockKey::Soundex(Field::FamilyName))
        );
        assert_eq!(
            BlockKey::parse("given_name_initial"),
            Some(BlockKey::Initial(Field::GivenName))
        );
        assert_eq!(BlockKey::parse("birth_year"), Some(BlockKey::BirthYear));
        assert_eq!(BlockKey::parse("email_soundex"), None);
        assert_eq!(BlockKey::parse("shoe_size"), None);
        assert_eq!(unpack(pack(123_456, 7_654_321, 9)), (123_456, 7_654_321, 9));
    }
}
