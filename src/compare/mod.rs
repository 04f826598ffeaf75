//! Comparison: for a pair of records, which level each configured comparison falls in.
//!
//! A comparison is a field and an ordered list of levels; the first level that holds wins.
//! Level 0 is "a value is missing", levels 1..=L are the configured ones, L+1 is "none held".

mod level;
pub mod similarity;
mod term_frequency;

pub use term_frequency::TermTable;

pub use level::LevelKind;
use similarity::{
    jaccard_words, jaro, jaro_winkler, jaro_winkler_upper_bound, levenshtein_within, osa_within,
    same_prefix,
};

use crate::prepare::{prefetch, Dob, Field, Interner, MultiColumn, Prepared, Sym, NONE};
use crate::standardize::{nicknames, phonetic};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// A comparison as written in `gild.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonConfig {
    /// Defaults to the field's name.
    #[serde(default)]
    pub name: Option<String>,
    pub field: Spanned<String>,
    pub levels: Vec<Spanned<String>>,
    /// Weigh an exact match by how common the value is (SMITH is worth less than ZBYSZKO).
    #[serde(default)]
    pub term_frequency: bool,
    /// Two present values that fall in no level mean two different people: clustering will not
    /// put them together (for dates of birth, tax identifiers).
    #[serde(default)]
    pub cannot_link_when_different: bool,
    /// Other comparisons (by name) whose agreement on their first level outweighs this one's
    /// disagreement: a given name written as an unknown nickname is no contradiction when the
    /// date of birth or the e-mail agrees exactly.
    #[serde(default)]
    pub unless_agreeing: Vec<Spanned<String>>,
}

/// A validated comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub name: String,
    pub field: Field,
    pub levels: Vec<LevelKind>,
    pub term_frequency: bool,
    pub cannot_link_when_different: bool,
    /// Indexes of the comparisons whose first-level agreement lifts this one's cannot-link.
    #[serde(default)]
    pub unless_agreeing: Vec<usize>,
}

impl Comparison {
    /// Null level, configured levels, else level.
    pub fn level_count(&self) -> usize {
        self.levels.len() + 2
    }

    pub fn else_level(&self) -> u8 {
        (self.levels.len() + 1) as u8
    }

    pub fn level_label(&self, level: u8) -> String {
        match level as usize {
            0 => "null".into(),
            l if l <= self.levels.len() => self.levels[l - 1].label(),
            _ => "else".into(),
        }
    }

    /// Whether the level is an exact match whose weight is adjusted by term frequency.
    pub fn is_tf_level(&self, level: u8) -> bool {
        self.term_frequency
            && level >= 1
            && self.levels.get(level as usize - 1) == Some(&LevelKind::Exact)
    }

    pub fn from_config(
        c: &ComparisonConfig,
    ) -> Result<Comparison, (std::ops::Range<usize>, String)> {
        let field = Field::parse(c.field.get_ref()).ok_or_else(|| {
            (
                c.field.span(),
                format!(
                    "unknown field {:?}; comparable fields are given_name, middle_name, family_name, full_name, date_of_birth, \
                     email, phone, street, street_number, street_name, unit, city, region, postcode, country, national_id",
                    c.field.get_ref()
                ),
            )
        })?;
        if c.levels.is_empty() {
            return Err((
                c.field.span(),
                "a comparison needs at least one level".into(),
            ));
        }
        let mut levels = Vec::with_capacity(c.levels.len());
        for l in &c.levels {
            let kind = LevelKind::parse(l.get_ref()).map_err(|e| (l.span(), e))?;
            if !kind.fits(field) {
                return Err((
                    l.span(),
                    format!(
                        "level {:?} does not apply to field {}",
                        l.get_ref(),
                        field.name()
                    ),
                ));
            }
            levels.push(kind);
        }
        if levels.len() > 12 {
            return Err((c.field.span(), "at most 12 levels per comparison".into()));
        }
        Ok(Comparison {
            name: c.name.clone().unwrap_or_else(|| field.name().to_string()),
            field,
            levels,
            term_frequency: c.term_frequency,
            cannot_link_when_different: c.cannot_link_when_different,
            // Resolved by `resolve_unless` once every comparison is known.
            unless_agreeing: Vec::new(),
        })
    }
}

/// Resolves every comparison's `unless_agreeing` names to indexes; errors name the bad entry.
pub fn resolve_unless(
    configs: &[ComparisonConfig],
    comparisons: &mut [Comparison],
) -> Vec<(std::ops::Range<usize>, String)> {
    let mut problems = Vec::new();
    if configs.len() != comparisons.len() {
        return problems; // an earlier problem already stopped the load
    }
    let names: Vec<String> = comparisons.iter().map(|c| c.name.clone()).collect();
    for (c, cfg) in comparisons.iter_mut().zip(configs) {
        for u in &cfg.unless_agreeing {
            match names.iter().position(|n| n == u.get_ref()) {
                Some(i) if names[i] != c.name => c.unless_agreeing.push(i),
                _ => problems.push((
                    u.span(),
                    format!(
                        "unless_agreeing names {:?}, which is not another comparison ({})",
                        u.get_ref(),
                        names.join(", ")
                    ),
                )),
            }
        }
        if !cfg.unless_agreeing.is_empty() && !cfg.cannot_link_when_different {
            problems.push((
                cfg.field.span(),
                "unless_agreeing only applies with cannot_link_when_different = true".into(),
            ));
        }
    }
    problems
}

/// A comparison of `field` at `levels`, as a config file would declare it (for tests).
#[cfg(test)]
pub(crate) fn test_comparison(field: &str, levels: &[&str], term_frequency: bool) -> Comparison {
    let levels: Vec<String> = levels.iter().map(|l| format!("{l:?}")).collect();
    let text = format!(
        "field = {field:?}\nlevels = [{}]\nterm_frequency = {term_frequency}\n",
        levels.join(", ")
    );
    let cfg: ComparisonConfig = toml::from_str(&text).expect("config");
    Comparison::from_config(&cfg).expect("valid")
}

/// Similarities of one pair of values, computed at most once across a comparison's levels.
#[derive(Default)]
struct Sims {
    jaro_winkler: Option<f64>,
    jaro_winkler_bound: Option<f64>,
    jaro: Option<f64>,
    jaccard: Option<f64>,
}

/// Per-value side tables a comparison needs (phonetic codes, numbers, nickname groups).
#[derive(Default)]
struct SideTables {
    soundex: Vec<u32>,
    metaphone: Vec<u32>,
    numbers: Vec<Option<f64>>,
    nickname: Vec<&'static [u16]>,
    /// The part of each e-mail address before the '@' (NONE where it is empty).
    email_local: Vec<u32>,
}

/// How many pairs ahead a walk over pairs starts loading a pair's data, stage by stage: the
/// records' rows first, then the text handles the rows name, then the text itself (a
/// multi-value column, e-mails and phones, has one stage more: its values, their handles, the
/// text). Each stage reads only what the stage before brought into cache, so no stage waits on
/// memory.
const ROWS_AHEAD: usize = 12;
const HANDLES_AHEAD: usize = 8;
const TEXT_AHEAD: usize = 4;
const MULTI_TEXT_AHEAD: usize = 2;

/// Compares record pairs under a fixed set of comparisons.
pub struct Comparator<'a> {
    pub prepared: &'a Prepared,
    pub comparisons: &'a [Comparison],
    tables: Vec<SideTables>,
    /// Relative frequency of each value, per comparison (empty when not term-frequency adjusted).
    tf: Vec<Vec<f64>>,
    /// Where each comparison finds its values.
    slots: Vec<Slot<'a>>,
    /// Each record's values of the single-valued text comparisons, side by side (`width` per
    /// record). Scoring reads records in random order: one cache line per record instead of one
    /// per comparison halves the cost of a pair on a million records.
    rows: Vec<Sym>,
    width: usize,
    /// Row positions (and interners) of the comparisons whose levels read text.
    text_columns: Vec<(usize, &'a Interner)>,
    /// Multi-valued columns whose levels read text.
    text_multis: Vec<&'a MultiColumn>,
}

/// Where a comparison's values are.
#[derive(Clone, Copy)]
enum Slot<'a> {
    /// Position in a record's row, and the values' interner.
    Text(usize, &'a Interner),
    Date,
    Multi(&'a MultiColumn),
    /// The field is not prepared: always the null level.
    Missing,
}

fn code_table(interner: &Interner, code: impl Fn(&str) -> String) -> Vec<u32> {
    let mut codes = Interner::new();
    (0..interner.len() as u32)
        .map(|s| {
            if s == NONE {
                NONE
            } else {
                codes.add(&code(interner.str(s)))
            }
        })
        .collect()
}

impl<'a> Comparator<'a> {
    pub fn new(prepared: &'a Prepared, comparisons: &'a [Comparison]) -> Self {
        let tables = comparisons
            .iter()
            .map(|c| {
                let mut t = SideTables::default();
                let interner = match prepared.column(c.field) {
                    Some((i, _)) => i,
                    None => match prepared.multi(c.field) {
                        Some(m) => &m.interner,
                        None => return t,
                    },
                };
                for l in &c.levels {
                    match l {
                        LevelKind::Soundex if t.soundex.is_empty() => {
                            t.soundex = code_table(interner, phonetic::soundex)
                        }
                        LevelKind::Metaphone if t.metaphone.is_empty() => {
                            t.metaphone = code_table(interner, |s| phonetic::double_metaphone(s).0)
                        }
                        LevelKind::NumericWithin { .. }
                        | LevelKind::NumericWithinPercent { .. }
                            if t.numbers.is_empty() =>
                        {
                            t.numbers = (0..interner.len() as u32)
                                .map(|s| interner.str(s).trim().parse::<f64>().ok())
                                .collect()
                        }
                        LevelKind::EmailLocal if t.email_local.is_empty() => {
                            let mut locals = Interner::new();
                            t.email_local = (0..interner.len() as u32)
                                .map(|s| match interner.str(s).split('@').next() {
                                    Some(local) if s != NONE && !local.is_empty() => {
                                        locals.add(local)
                                    }
                                    _ => NONE,
                                })
                                .collect()
                        }
                        LevelKind::Nickname if t.nickname.is_empty() => {
                            t.nickname = (0..interner.len() as u32)
                                .map(|s| nicknames::nickname_groups(interner.str(s)))
                                .collect()
                        }
                        _ => {}
                    }
                }
                t
            })
            .collect();
        let tf = comparisons
            .iter()
            .map(|c| {
                if !c.term_frequency {
                    return Vec::new();
                }
                let Some(interner) = values_of(prepared, c.field) else {
                    return Vec::new();
                };
                let total = interner.total().max(1) as f64;
                (0..interner.len() as u32)
                    .map(|s| f64::from(interner.count(s)) / total)
                    .collect()
            })
            .collect();
        let mut columns: Vec<&[Sym]> = Vec::new();
        let slots: Vec<Slot<'a>> = comparisons
            .iter()
            .map(|c| match c.field {
                Field::DateOfBirth => Slot::Date,
                field => match (prepared.column(field), prepared.multi(field)) {
                    (Some((interner, syms)), _) => {
                        columns.push(syms);
                        Slot::Text(columns.len() - 1, interner)
                    }
                    (None, Some(multi)) => Slot::Multi(multi),
                    (None, None) => Slot::Missing,
                },
            })
            .collect();
        let reads_text = |c: &Comparison| c.levels.iter().any(|l| l.reads_text());
        let text_columns = slots
            .iter()
            .zip(comparisons)
            .filter_map(|(slot, c)| match slot {
                Slot::Text(column, interner) if reads_text(c) => Some((*column, *interner)),
                _ => None,
            })
            .collect();
        let text_multis = slots
            .iter()
            .zip(comparisons)
            .filter_map(|(slot, c)| match slot {
                Slot::Multi(multi) if reads_text(c) => Some(*multi),
                _ => None,
            })
            .collect();
        let width = columns.len();
        let mut rows = Vec::with_capacity(prepared.n * width);
        for i in 0..prepared.n {
            rows.extend(columns.iter().map(|col| col[i]));
        }
        Comparator {
            prepared,
            comparisons,
            tables,
            tf,
            slots,
            rows,
            width,
            text_columns,
            text_multis,
        }
    }

    /// Asks the CPU to start loading a record's values: callers walking pairs in order prefetch
    /// the records of a pair a few steps ahead, so that its values are in cache when compared.
    #[inline]
    pub fn prefetch(&self, record: usize) {
        let p = self.prepared;
        prefetch(self.rows.as_ptr().wrapping_add(record * self.width));
        prefetch(p.dob.as_ptr().wrapping_add(record));
        p.emails.prefetch(record);
        p.phones.prefetch(record);
    }

    /// A later prefetch stage for the record's text: `text` for each single value, `multi` for
    /// each multi-valued column (the record's row must already be in cache).
    #[inline]
    fn prefetch_text_stage(
        &self,
        record: usize,
        text: impl Fn(&Interner, Sym),
        multi: impl Fn(&MultiColumn, usize),
    ) {
        let row = record * self.width;
        for &(column, interner) in &self.text_columns {
            if let Some(&sym) = self.rows.get(row + column) {
                text(interner, sym);
            }
        }
        for column in &self.text_multis {
            multi(column, record);
        }
    }

    /// Prefetches for a walk over pairs, at step `k`; `pair_at` gives the walk's pair at any
    /// step (None past its end). Call it once per step, before comparing pair `k`.
    #[inline]
    pub fn prefetch_ahead(&self, k: usize, pair_at: impl Fn(usize) -> Option<(u32, u32)>) {
        #[inline(always)]
        fn both(pair: Option<(u32, u32)>, stage: impl Fn(usize)) {
            if let Some((i, j)) = pair {
                stage(i as usize);
                stage(j as usize);
            }
        }
        both(pair_at(k + ROWS_AHEAD), |r| self.prefetch(r));
        // Where the text is, then the text itself.
        both(pair_at(k + HANDLES_AHEAD), |r| {
            self.prefetch_text_stage(r, Interner::prefetch_handle, MultiColumn::prefetch_values)
        });
        both(pair_at(k + TEXT_AHEAD), |r| {
            self.prefetch_text_stage(
                r,
                Interner::prefetch_text,
                MultiColumn::prefetch_first_handle,
            )
        });
        both(pair_at(k + MULTI_TEXT_AHEAD), |r| {
            for column in &self.text_multis {
                column.prefetch_first_text(r);
            }
        });
    }

    /// The level comparison `c` falls in for records `i` and `j`.
    pub fn level(&self, c: usize, i: usize, j: usize) -> u8 {
        let comp = &self.comparisons[c];
        match self.slots[c] {
            Slot::Date => {
                let p = self.prepared;
                let (Some(a), Some(b)) = (p.dob[i], p.dob[j]) else {
                    return 0;
                };
                for (k, l) in comp.levels.iter().enumerate() {
                    if date_level_holds(*l, a, b) {
                        return (k + 1) as u8;
                    }
                }
                comp.else_level()
            }
            Slot::Multi(col) => {
                let (va, vb) = (col.of(i), col.of(j));
                if va.is_empty() || vb.is_empty() {
                    return 0;
                }
                // The best level over every pair of values.
                let mut best = comp.else_level();
                for &a in va {
                    for &b in vb {
                        let mut sims = Sims::default();
                        for (k, l) in comp.levels.iter().enumerate().take(best as usize - 1) {
                            if self.text_level_holds(c, *l, &col.interner, a, b, i, j, &mut sims) {
                                best = (k + 1) as u8;
                                break;
                            }
                        }
                    }
                }
                best
            }
            Slot::Text(column, interner) => {
                let (a, b) = (
                    self.rows[i * self.width + column],
                    self.rows[j * self.width + column],
                );
                if a == NONE || b == NONE {
                    return 0;
                }
                let mut sims = Sims::default();
                for (k, l) in comp.levels.iter().enumerate() {
                    if self.text_level_holds(c, *l, interner, a, b, i, j, &mut sims) {
                        return (k + 1) as u8;
                    }
                }
                comp.else_level()
            }
            Slot::Missing => 0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn text_level_holds(
        &self,
        c: usize,
        level: LevelKind,
        interner: &Interner,
        a: Sym,
        b: Sym,
        i: usize,
        j: usize,
        sims: &mut Sims,
    ) -> bool {
        use LevelKind::*;
        if a == b {
            // Equal values satisfy every similarity level.
            return true;
        }
        let t = &self.tables[c];
        let (sa, sb) = (interner.str(a), interner.str(b));
        match level {
            Exact => false,
            Nickname => {
                let (ga, gb) = (t.nickname[a as usize], t.nickname[b as usize]);
                !ga.is_empty() && ga.iter().any(|g| gb.contains(g))
            }
            Initial => {
                let first = |s: &str| s.chars().next();
                (sa.len() == 1 || sb.len() == 1) && first(sa) == first(sb)
            }
            Swapped => {
                let p = self.prepared;
                let (g, f) = (Field::GivenName, Field::FamilyName);
                let (gi, fi, gj, fj) = (p.sym(g, i), p.sym(f, i), p.sym(g, j), p.sym(f, j));
                gi != NONE
                    && fi != NONE
                    && p.text(g, i) == p.text(f, j)
                    && p.text(f, i) == p.text(g, j)
                    && !(gi == gj && fi == fj)
                    && gj != NONE
                    && fj != NONE
            }
            Soundex => t.soundex[a as usize] == t.soundex[b as usize],
            Metaphone => t.metaphone[a as usize] == t.metaphone[b as usize],
            JaroWinkler { at_least } => {
                if let Some(v) = sims.jaro_winkler {
                    return v >= at_least;
                }
                if *sims
                    .jaro_winkler_bound
                    .get_or_insert_with(|| jaro_winkler_upper_bound(sa, sb))
                    < at_least
                {
                    return false;
                }
                *sims
                    .jaro_winkler
                    .get_or_insert_with(|| jaro_winkler(sa, sb))
                    >= at_least
            }
            Jaro { at_least } => *sims.jaro.get_or_insert_with(|| jaro(sa, sb)) >= at_least,
            Levenshtein { at_most } => levenshtein_within(sa, sb, at_most),
            DamerauLevenshtein { at_most } => osa_within(sa, sb, at_most),
            Jaccard { at_least } => {
                *sims.jaccard.get_or_insert_with(|| jaccard_words(sa, sb)) >= at_least
            }
            Prefix { n } => same_prefix(sa, sb, n),
            EmailLocal => {
                let (la, lb) = (t.email_local[a as usize], t.email_local[b as usize]);
                la != NONE && la == lb
            }
            NumericWithin { at_most } => match (t.numbers[a as usize], t.numbers[b as usize]) {
                (Some(x), Some(y)) => (x - y).abs() <= at_most,
                _ => false,
            },
            NumericWithinPercent { percent } => {
                match (t.numbers[a as usize], t.numbers[b as usize]) {
                    (Some(x), Some(y)) => (x - y).abs() <= x.abs().max(y.abs()) * percent / 100.0,
                    _ => false,
                }
            }
            DateOneFieldOff | DateTransposed | DateWithinDays { .. } | YearEqual => false,
        }
    }

    /// All levels of the pair, into `out` (one per comparison).
    pub fn levels_into(&self, i: usize, j: usize, out: &mut [u8]) {
        for (c, slot) in out.iter_mut().enumerate() {
            *slot = self.level(c, i, j);
        }
    }

    /// This estate's term frequencies, one table per term-frequency-adjusted comparison, to be
    /// kept with a model trained on it.
    pub fn term_tables(&self) -> Vec<TermTable> {
        self.comparisons
            .iter()
            .filter(|c| c.term_frequency)
            .filter_map(|c| values_of(self.prepared, c.field).map(|i| TermTable::count(&c.name, i)))
            .collect()
    }

    /// Weighs agreements by a model's term frequencies instead of this estate's own. A
    /// comparison the tables do not name keeps its own.
    pub fn use_term_tables(&mut self, tables: &[TermTable]) {
        for (c, comp) in self.comparisons.iter().enumerate() {
            if !comp.term_frequency {
                continue;
            }
            let table = tables.iter().find(|t| t.comparison == comp.name);
            if let (Some(table), Some(interner)) = (table, values_of(self.prepared, comp.field)) {
                self.tf[c] = table.frequencies(interner);
            }
        }
    }

    /// How common the agreed value is, for a term-frequency-adjusted exact match.
    pub fn term_frequency(&self, c: usize, i: usize, j: usize) -> Option<f64> {
        let tf = self.tf.get(c)?;
        if tf.is_empty() {
            return None;
        }
        let comp = &self.comparisons[c];
        let p = self.prepared;
        let sym = match p.column(comp.field) {
            Some((_, syms)) => syms[i],
            None => {
                let col = p.multi(comp.field)?;
                let vb = col.of(j);
                *col.of(i).iter().find(|a| vb.contains(a))?
            }
        };
        tf.get(sym as usize).copied().filter(|f| *f > 0.0)
    }
}

/// The interned values of a field: its column, or its multi-valued column.
fn values_of(prepared: &Prepared, field: Field) -> Option<&Interner> {
    match prepared.column(field) {
        Some((interner, _)) => Some(interner),
        None => prepared.multi(field).map(|m| &m.interner),
    }
}

fn date_level_holds(level: LevelKind, a: Dob, b: Dob) -> bool {
    use LevelKind::*;
    match level {
        Exact => a.days == b.days,
        DateOneFieldOff => {
            let same = u8::from(a.year == b.year)
                + u8::from(a.month == b.month)
                + u8::from(a.day == b.day);
            same == 2
        }
        DateTransposed => {
            a.year == b.year && a.month == b.day && a.day == b.month && a.month != a.day
        }
        DateWithinDays { days } => (a.days - b.days).abs() <= days,
        YearEqual => a.year == b.year,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
