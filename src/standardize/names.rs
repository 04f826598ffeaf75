//! Person names: splitting a full name into its parts and display casing.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use super::error::TransformError;

/// How a full name without a comma is ordered. A comma always means
/// "FAMILY, GIVEN …", whatever the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameOrder {
    /// Family first when there is a comma, else given first.
    #[default]
    Auto,
    /// "LAST, FIRST M" or "LAST FIRST M".
    FamilyFirst,
    /// "First M Last".
    GivenFirst,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedName {
    pub title: Option<String>,
    pub given: Option<String>,
    pub middle: Option<String>,
    pub family: Option<String>,
    pub suffix: Option<String>,
}

/// Titles: (lower-case spelling without dots, normalised form). Sorted.
static TITLES: &[(&str, &str)] = &[
    ("dame", "Dame"),
    ("doctor", "Dr"),
    ("dr", "Dr"),
    ("frau", "Frau"),
    ("herr", "Herr"),
    ("m", "M"),
    ("madame", "Mme"),
    ("miss", "Miss"),
    ("mister", "Mr"),
    ("mlle", "Mlle"),
    ("mme", "Mme"),
    ("monsieur", "M"),
    ("mr", "Mr"),
    ("mrs", "Mrs"),
    ("ms", "Ms"),
    ("mx", "Mx"),
    ("prof", "Prof"),
    ("professor", "Prof"),
    ("rev", "Rev"),
    ("revd", "Rev"),
    ("reverend", "Rev"),
    ("sir", "Sir"),
];

/// Generational and professional suffixes: (lower-case without dots,
/// normalised form). Sorted. "V" is left out: it is far more often an initial.
static SUFFIXES: &[(&str, &str)] = &[
    ("2nd", "II"),
    ("3rd", "III"),
    ("4th", "IV"),
    ("dds", "DDS"),
    ("esq", "Esq"),
    ("esquire", "Esq"),
    ("ii", "II"),
    ("iii", "III"),
    ("iv", "IV"),
    ("jnr", "Jr"),
    ("jr", "Jr"),
    ("junior", "Jr"),
    ("md", "MD"),
    ("phd", "PhD"),
    ("senior", "Sr"),
    ("snr", "Sr"),
    ("sr", "Sr"),
];

/// Words that belong to the family name that follows them. Sorted.
static PARTICLES: &[&str] = &[
    "al", "bin", "da", "das", "de", "del", "della", "den", "der", "des", "di", "dos", "du", "ibn",
    "la", "le", "st", "ste", "ten", "ter", "van", "von",
];

/// Scottish and Irish "Mac" names written MacX. Deliberately short: "Mack",
/// "Macey", "Machado", "Macintosh" are not Mac+Name. Upper-case, sorted.
static MAC_NAMES: &[&str] = &[
    "MACALLISTER",
    "MACARTHUR",
    "MACAULAY",
    "MACBRIDE",
    "MACDONALD",
    "MACDONNELL",
    "MACDOUGALL",
    "MACDUFF",
    "MACEWAN",
    "MACFARLANE",
    "MACGILLIVRAY",
    "MACGREGOR",
    "MACINNES",
    "MACINTYRE",
    "MACISAAC",
    "MACIVER",
    "MACKENZIE",
    "MACKINNON",
    "MACLACHLAN",
    "MACLAREN",
    "MACLEAN",
    "MACLELLAN",
    "MACLEOD",
    "MACMILLAN",
    "MACNAB",
    "MACNAUGHTON",
    "MACNEIL",
    "MACNEILL",
    "MACPHAIL",
    "MACPHERSON",
    "MACQUARRIE",
    "MACRAE",
    "MACTAVISH",
];

fn lookup(table: &[(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| table[i].1)
}

fn is_particle(lower: &str) -> bool {
    PARTICLES.binary_search(&lower).is_ok()
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{02BC}' | '\u{00B4}'
    )
}

/// Lower-case ASCII copy of a short word, kept on the stack: the key for the
/// title, suffix and particle tables, whose entries are all short ASCII.
/// Longer or non-ASCII words get an empty key, which matches nothing.
#[derive(Debug, Clone, Copy)]
struct Key {
    buf: [u8; 10],
    len: u8,
}

impl Key {
    /// Dots are skipped, so "Ph.D" gives "phd".
    fn new(word: &str) -> Key {
        let mut key = Key {
            buf: [0; 10],
            len: 0,
        };
        let mut n = 0;
        for b in word.bytes().filter(|&b| b != b'.') {
            if !b.is_ascii() || n == key.buf.len() {
                return Key {
                    buf: [0; 10],
                    len: 0,
                };
            }
            key.buf[n] = b.to_ascii_lowercase();
            n += 1;
        }
        key.len = n as u8;
        key
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// One word of a name after cleaning.
#[derive(Debug, Clone)]
struct Tok<'a> {
    /// Letters, apostrophes and hyphens as written.
    text: Cow<'a, str>,
    key: Key,
    /// Written with a following dot ("M." rather than "M").
    dotted: bool,
}

impl<'a> Tok<'a> {
    fn new(text: Cow<'a, str>, dotted: bool) -> Tok<'a> {
        let key = Key::new(&text);
        Tok { text, key, dotted }
    }

    fn key(&self) -> &str {
        self.key.as_str()
    }

    fn suffix(&self) -> Option<&'static str> {
        lookup(SUFFIXES, self.key())
    }

    fn is_particle(&self) -> bool {
        is_particle(self.key())
    }

    fn is_initial(&self) -> bool {
        self.text.chars().count() == 1
    }
}

/// Whether `toks[i]` is a title. "M." (Monsieur) only counts with its dot and
/// when the next word is not another initial, so "M. J. Smith" keeps its
/// initials.
fn title_at(toks: &[Tok<'_>], i: usize) -> Option<&'static str> {
    let t = toks.get(i)?;
    let title = lookup(TITLES, t.key())?;
    if t.key() == "m" && (!t.dotted || toks.get(i + 1).is_none_or(Tok::is_initial)) {
        return None;
    }
    Some(title)
}

/// Removes nicknames in double quotes or parentheses ("Robert \"Bob\" Smith",
/// "Robert (Bob) Smith"). An opening mark without its closing one is just
/// dropped.
fn drop_quoted(s: &str) -> Cow<'_, str> {
    if !s.contains(['"', '(', ')', '“', '”', '„', '«', '»']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        let closers: &[char] = match c {
            '"' => &['"', '”'],
            '“' => &['”', '"'],
            '„' => &['“', '”', '"'],
            '«' => &['»'],
            '(' => &[')'],
            ')' | '”' | '»' => {
                out.push(' ');
                continue;
            }
            _ => {
                out.push(c);
                continue;
            }
        };
        if let Some(end) = rest.find(closers) {
            let closer_len = rest[end..].chars().next().map_or(1, char::len_utf8);
            rest = &rest[end + closer_len..];
        }
        out.push(' ');
    }
    Cow::Owned(out)
}

/// Writes every apostrophe-like character as '\''.
fn normalize_apostrophes(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.contains(|c: char| is_apostrophe(c) && c != '\'') {
        Cow::Owned(
            s.chars()
                .map(|c| if is_apostrophe(c) { '\'' } else { c })
                .collect(),
        )
    } else {
        s
    }
}

/// Splits one comma-separated part of a name into words.
fn tokenize(part: &str) -> Vec<Tok<'_>> {
    let mut toks = Vec::new();
    for word in part.split_whitespace() {
        // 'Bob' between single quotes is a nickname, unlike O'Neil.
        if word.len() > 2 && word.starts_with('\'') && word.ends_with('\'') {
            continue;
        }
        // Titles and suffixes may carry inner dots ("Ph.D.").
        let bare = word.trim_end_matches('.');
        let key = Key::new(bare);
        if lookup(TITLES, key.as_str()).is_some() || lookup(SUFFIXES, key.as_str()).is_some() {
            let text = if bare.contains('.') {
                Cow::Owned(bare.replace('.', ""))
            } else {
                Cow::Borrowed(bare)
            };
            toks.push(Tok::new(text, word.ends_with('.')));
            continue;
        }
        // Dots separate initials ("J.R.R."); any other non-letter except
        // apostrophe and hyphen separates words too.
        let mut piece_start = 0;
        let bytes_len = word.len();
        for (i, c) in word.char_indices().chain(std::iter::once((bytes_len, ' '))) {
            let is_letterish = c.is_alphabetic()
                || unicode_normalization::char::is_combining_mark(c)
                || c == '\''
                || c == '-';
            if is_letterish && i < bytes_len {
                continue;
            }
            let piece = word[piece_start..i].trim_matches(['\'', '-']);
            if piece.chars().any(char::is_alphabetic) {
                toks.push(Tok::new(Cow::Borrowed(piece), c == '.'));
            }
            piece_start = (i + c.len_utf8()).min(bytes_len);
        }
    }
    toks
}

/// Strips titles off the front and suffixes off the back of `toks`, leaving at
/// least `keep` words.
fn strip_affixes(
    toks: &mut Vec<Tok<'_>>,
    keep: usize,
    titles: &mut Vec<&'static str>,
    suffixes: &mut Vec<&'static str>,
) {
    let mut start = 0;
    while toks.len() - start > keep {
        match title_at(toks, start) {
            Some(t) => {
                titles.push(t);
                start += 1;
            }
            None => break,
        }
    }
    toks.drain(..start);
    let mut found = Vec::new();
    while toks.len() > keep {
        match toks.last().and_then(Tok::suffix) {
            Some(s) => {
                found.push(s);
                toks.pop();
            }
            None => break,
        }
    }
    suffixes.extend(found.into_iter().rev());
}

fn join_cased(toks: &[Tok<'_>], particles: bool) -> Option<String> {
    if toks.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(toks.iter().map(|t| t.text.len() + 1).sum());
    case_words_into(toks.iter().map(|t| t.text.as_ref()), particles, &mut out);
    Some(out)
}

fn join_affixes(parts: &[&str]) -> Option<String> {
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" "))
    }
}

/// Splits a full name into title, given, middle, family and suffix, each in
/// display case (see [`name_case`]); titles and suffixes normalised ("Dr",
/// "Jr", "PhD").
///
/// A comma means "FAMILY, GIVEN MIDDLE" in any order, unless everything after
/// it is suffixes ("John Smith, Jr."). Without a comma the order decides;
/// `Auto` reads given first. Particles (van, der, de la …) stay with the
/// family name. Nicknames in quotes or parentheses are dropped. A single word
/// is the given name, or the family name for `FamilyFirst` or after a title
/// ("Mr Smith").
pub fn parse_full_name(raw: &str, order: NameOrder) -> Result<ParsedName, TransformError> {
    if raw.trim().is_empty() {
        return Err(TransformError::name(raw, "it is empty"));
    }
    // Composed form, so that "é" is one letter whatever the source sent.
    let composed: Cow<'_, str> = if raw.is_ascii() {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(raw.nfc().collect())
    };
    let cleaned = normalize_apostrophes(drop_quoted(&composed));
    let mut parts: Vec<Vec<Tok<'_>>> = cleaned.split([',', ';']).map(tokenize).collect();
    if parts.iter().all(Vec::is_empty) {
        return Err(TransformError::name(raw, "it contains no letters"));
    }
    let all_affixes = parts
        .iter()
        .flatten()
        .all(|t| lookup(TITLES, t.key()).is_some_and(|_| t.key() != "m") || t.suffix().is_some());
    if all_affixes {
        return Err(TransformError::name(
            raw,
            "it holds only a title or suffix, expected a name",
        ));
    }
    let had_comma = parts.len() > 1;
    let mut first = parts.remove(0);
    let mut rest: Vec<Vec<Tok<'_>>> = parts.into_iter().filter(|p| !p.is_empty()).collect();

    let mut titles = Vec::new();
    let mut suffixes = Vec::new();
    let mut name = ParsedName::default();

    // "John Smith, Jr., PhD": the commas only set off suffixes.
    if rest.iter().flatten().all(|t| t.suffix().is_some()) {
        strip_affixes(&mut first, 1, &mut titles, &mut suffixes);
        suffixes.extend(rest.iter().flatten().filter_map(Tok::suffix));
        // "Smith," or "Smith, Jr": a lone word before a comma is a family name.
        let single_is_family = had_comma || !titles.is_empty();
        split_uncommaed(&first, order, single_is_family, &mut name);
    } else {
        let mut given = rest.remove(0);
        // Further parts: suffixes ("Smith, John, Jr") or more given names.
        for part in rest {
            if part.iter().all(|t| t.suffix().is_some()) {
                suffixes.extend(part.iter().filter_map(Tok::suffix));
            } else {
                given.extend(part);
            }
        }
        let mut family_suffixes = Vec::new();
        strip_affixes(&mut first, 1, &mut titles, &mut family_suffixes);
        let mut given_suffixes = Vec::new();
        strip_affixes(&mut given, 0, &mut titles, &mut given_suffixes);
        suffixes.splice(0..0, family_suffixes.into_iter().chain(given_suffixes));
        name.family = join_cased(&first, true);
        name.given = join_cased(given.get(..1).unwrap_or_default(), false);
        name.middle = join_cased(given.get(1..).unwrap_or_default(), false);
    }
    name.title = join_affixes(&titles);
    name.suffix = join_affixes(&suffixes);
    Ok(name)
}

/// Given/middle/family of a name written without a comma.
fn split_uncommaed(
    toks: &[Tok<'_>],
    order: NameOrder,
    single_is_family: bool,
    name: &mut ParsedName,
) {
    let n = toks.len();
    if n == 0 {
        return;
    }
    if n == 1 {
        if single_is_family || order == NameOrder::FamilyFirst {
            name.family = join_cased(toks, true);
        } else {
            name.given = join_cased(toks, false);
        }
        return;
    }
    match order {
        NameOrder::FamilyFirst => {
            // "VAN DER BERG ANNA MARIA": particles, then one word.
            let mut end = 0;
            while end < n - 1 && toks[end].is_particle() {
                end += 1;
            }
            name.family = join_cased(&toks[..=end], true);
            let rest = &toks[end + 1..];
            name.given = join_cased(rest.get(..1).unwrap_or_default(), false);
            name.middle = join_cased(rest.get(1..).unwrap_or_default(), false);
        }
        NameOrder::Auto | NameOrder::GivenFirst => {
            // The family name is the last word plus the particles before it,
            // never taking the first word ("Al Smith" is given Al).
            let mut start = n - 1;
            while start > 1 && toks[start - 1].is_particle() {
                start -= 1;
            }
            name.given = join_cased(&toks[..1], false);
            name.middle = join_cased(&toks[1..start], false);
            name.family = join_cased(&toks[start..], true);
        }
    }
}

/// Display casing of a name: "MCDONALD" → "McDonald", "o'brien" → "O'Brien",
/// "MARY-JANE" → "Mary-Jane", "VAN DER BERG" → "van der Berg", "III" stays
/// "III".
///
/// Particles (van, der, de, la …) are lower-case when another word follows
/// them, even as the first word, so a family name reads "van der Berg"; a
/// particle that ends the string is capitalised ("Anna De"). "St" (Saint)
/// stays capitalised. Mac is split only for a short list of names
/// (MacDonald, MacLeod …); Mc always ("McKay").
pub fn name_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    case_words_into(s.split_whitespace(), true, &mut out);
    out
}

/// [`name_case`] for given and middle names: particles are ordinary words
/// there ("LA TOYA" → "La Toya", "DEL" → "Del").
pub fn given_name_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    case_words_into(s.split_whitespace(), false, &mut out);
    out
}

fn case_words_into<'w>(words: impl Iterator<Item = &'w str>, particles: bool, out: &mut String) {
    let mut words = words.peekable();
    let mut first = true;
    while let Some(word) = words.next() {
        if !first {
            out.push(' ');
        }
        let key = Key::new(word.trim_end_matches('.'));
        let key = key.as_str();
        let is_last = words.peek().is_none();
        if particles && !is_last && is_particle(key) && key != "st" && key != "ste" {
            // Particles are ASCII.
            out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        } else if matches!(key, "ii" | "iii" | "iv") {
            out.extend(word.chars().map(|c| c.to_ascii_uppercase()));
        } else if let (false, Some(suffix)) = (first, lookup(SUFFIXES, key)) {
            out.push_str(suffix);
            if word.ends_with('.') {
                out.push('.');
            }
        } else {
            case_word(word, out);
        }
        first = false;
    }
}

/// Capitalises each hyphen- or apostrophe-separated segment of one word.
fn case_word(word: &str, out: &mut String) {
    let mut prev_segment_len = usize::MAX;
    let mut after_apostrophe = false;
    for segment in word.split_inclusive(|c: char| c == '-' || is_apostrophe(c)) {
        let (body, sep) = match segment.chars().next_back() {
            Some(c) if c == '-' || is_apostrophe(c) => {
                (&segment[..segment.len() - c.len_utf8()], Some(c))
            }
            _ => (segment, None),
        };
        let letters = if body.is_ascii() {
            body.len()
        } else {
            body.chars().count()
        };
        // "O'Brien", "D'Angelo", "De'Andre" but not "Jones's".
        let capitalise_it = !after_apostrophe || (prev_segment_len <= 2 && letters >= 2);
        if capitalise_it {
            case_segment(body, out);
        } else {
            push_lower(body, out);
        }
        if let Some(c) = sep {
            out.push(if is_apostrophe(c) { '\'' } else { c });
        }
        after_apostrophe = sep.is_some_and(is_apostrophe);
        prev_segment_len = letters;
    }
}

/// Whether an upper- or lower-case word is one of the listed Mac names.
fn is_mac_name(body: &str) -> bool {
    let mut buf = [0u8; 16];
    if body.len() > buf.len() || !body.is_ascii() {
        return false;
    }
    for (slot, b) in buf.iter_mut().zip(body.bytes()) {
        *slot = b.to_ascii_uppercase();
    }
    std::str::from_utf8(&buf[..body.len()])
        .is_ok_and(|upper| MAC_NAMES.binary_search(&upper).is_ok())
}

/// "smith" → "Smith", with the Mc and listed Mac prefixes.
fn case_segment(body: &str, out: &mut String) {
    let b = body.as_bytes();
    let prefix_len = if b.len() > 2 && b[..2].eq_ignore_ascii_case(b"MC") {
        2
    } else if b.len() > 3 && b[..3].eq_ignore_ascii_case(b"MAC") && is_mac_name(body) {
        3
    } else {
        0
    };
    // The prefix bytes are ASCII, so these slices fall on char boundaries.
    match (body.get(1..prefix_len), body.get(prefix_len..)) {
        (Some(mid), Some(tail)) if prefix_len > 0 => {
            out.push('M');
            push_lower(mid, out);
            capitalise(tail, out);
        }
        _ => capitalise(body, out),
    }
}

fn push_lower(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.extend(s.chars().flat_map(char::to_lowercase));
    }
}

fn capitalise(s: &str, out: &mut String) {
    let mut chars = s.chars();
    if let Some(c) = chars.next() {
        if c.is_ascii() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.extend(c.to_uppercase());
        }
        push_lower(chars.as_str(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> ParsedName {
        match parse_full_name(raw, NameOrder::Auto) {
            Ok(n) => n,
            Err(e) => panic!("{raw:?}: {e}"),
        }
    }

    fn po(raw: &str, order: NameOrder) -> ParsedName {
        match parse_full_name(raw, order) {
            Ok(n) => n,
            Err(e) => panic!("{raw:?}: {e}"),
        }
    }

    fn name(
        title: Option<&str>,
        given: Option<&str>,
        middle: Option<&str>,
        family: Option<&str>,
        suffix: Option<&str>,
    ) -> ParsedName {
        ParsedName {
            title: title.map(str::to_string),
            given: given.map(str::to_string),
            middle: middle.map(str::to_string),
            family: family.map(str::to_string),
            suffix: suffix.map(str::to_string),
        }
    }

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(TITLES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(SUFFIXES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(PARTICLES.windows(2).all(|w| w[0] < w[1]));
        assert!(MAC_NAMES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn comma_means_family_first() {
        let expected = name(None, Some("John"), Some("A"), Some("Smith"), None);
        assert_eq!(p("SMITH, JOHN A"), expected);
        assert_eq!(p("Smith, John A."), expected);
        assert_eq!(p("  smith ,  john   a "), expected);
        assert_eq!(
            p("smith,john"),
            name(None, Some("John"), None, Some("Smith"), None)
        );
        // Even when the caller said given-first.
        assert_eq!(po("Smith, John A", NameOrder::GivenFirst), expected);
    }

    #[test]
    fn given_first_without_comma() {
        assert_eq!(
            p("John A. Smith"),
            name(None, Some("John"), Some("A"), Some("Smith"), None)
        );
        assert_eq!(
            p("JOHN PAUL GEORGE SMITH"),
            name(None, Some("John"), Some("Paul George"), Some("Smith"), None)
        );
        assert_eq!(
            po("mary smith", NameOrder::GivenFirst),
            name(None, Some("Mary"), None, Some("Smith"), None)
        );
    }

    #[test]
    fn family_first_without_comma() {
        assert_eq!(
            po("SMITH JOHN A", NameOrder::FamilyFirst),
            name(None, Some("John"), Some("A"), Some("Smith"), None)
        );
        assert_eq!(
            po("VAN DER BERG ANNA MARIA", NameOrder::FamilyFirst),
            name(
                None,
                Some("Anna"),
                Some("Maria"),
                Some("van der Berg"),
                None
            )
        );
    }

    #[test]
    fn titles_in_any_spelling() {
        for (raw, title) in [
            ("Mr John Smith", "Mr"),
            ("MR. JOHN SMITH", "Mr"),
            ("mrs john smith", "Mrs"),
            ("Ms. John Smith", "Ms"),
            ("Miss John Smith", "Miss"),
            ("Mx John Smith", "Mx"),
            ("Dr John Smith", "Dr"),
            ("dr. john smith", "Dr"),
            ("Prof. John Smith", "Prof"),
            ("Rev John Smith", "Rev"),
            ("Sir John Smith", "Sir"),
            ("Dame John Smith", "Dame"),
            ("Herr John Smith", "Herr"),
            ("Frau John Smith", "Frau"),
            ("Mme John Smith", "Mme"),
            ("M. John Smith", "M"),
        ] {
            let n = p(raw);
            assert_eq!(n.title.as_deref(), Some(title), "{raw}");
            assert_eq!(n.given.as_deref(), Some("John"), "{raw}");
            assert_eq!(n.family.as_deref(), Some("Smith"), "{raw}");
            assert_eq!(n.middle, None, "{raw}");
        }
    }

    #[test]
    fn several_titles_and_title_after_comma() {
        assert_eq!(
            p("Prof. Dr. Hans-Peter Müller"),
            name(
                Some("Prof Dr"),
                Some("Hans-Peter"),
                None,
                Some("Müller"),
                None
            )
        );
        assert_eq!(
            p("SMITH, DR JOHN"),
            name(Some("Dr"), Some("John"), None, Some("Smith"), None)
        );
        assert_eq!(
            p("SMITH, MRS"),
            name(Some("Mrs"), None, None, Some("Smith"), None)
        );
    }

    #[test]
    fn monsieur_needs_its_dot_and_is_not_an_initial() {
        assert_eq!(
            p("M Smith"),
            name(None, Some("M"), None, Some("Smith"), None)
        );
        assert_eq!(
            p("M. J. Smith"),
            name(None, Some("M"), Some("J"), Some("Smith"), None)
        );
        assert_eq!(
            p("M. Dupont"),
            name(Some("M"), None, None, Some("Dupont"), None)
        );
    }

    #[test]
    fn title_with_one_word_is_a_family_name() {
        assert_eq!(
            p("Mr Smith"),
            name(Some("Mr"), None, None, Some("Smith"), None)
        );
        assert_eq!(
            po("Dr. Who", NameOrder::GivenFirst),
            name(Some("Dr"), None, None, Some("Who"), None)
        );
    }

    #[test]
    fn suffixes_at_the_end_and_in_comma_forms() {
        assert_eq!(
            p("John Smith Jr."),
            name(None, Some("John"), None, Some("Smith"), Some("Jr"))
        );
        assert_eq!(
            p("John Smith, Jr."),
            name(None, Some("John"), None, Some("Smith"), Some("Jr"))
        );
        assert_eq!(
            p("SMITH JR, JOHN"),
            name(None, Some("John"), None, Some("Smith"), Some("Jr"))
        );
        assert_eq!(
            p("Smith, John, Jr"),
            name(None, Some("John"), None, Some("Smith"), Some("Jr"))
        );
        assert_eq!(
            p("Smith, John A. III"),
            name(None, Some("John"), Some("A"), Some("Smith"), Some("III"))
        );
        assert_eq!(
            p("Dr. Martin Luther King Jr."),
            name(
                Some("Dr"),
                Some("Martin"),
                Some("Luther"),
                Some("King"),
                Some("Jr")
            )
        );
        assert_eq!(
            p("Jane Doe, Ph.D., M.D."),
            name(None, Some("Jane"), None, Some("Doe"), Some("PhD MD"))
        );
        for (raw, suffix) in [
            ("John Smith Sr", "Sr"),
            ("John Smith II", "II"),
            ("John Smith iv", "IV"),
            ("John Smith PhD", "PhD"),
            ("John Smith MD", "MD"),
            ("John Smith Esq.", "Esq"),
            ("John Smith 3rd", "III"),
        ] {
            let n = p(raw);
            assert_eq!(n.suffix.as_deref(), Some(suffix), "{raw}");
            assert_eq!(n.family.as_deref(), Some("Smith"), "{raw}");
        }
    }

    #[test]
    fn particles_stay_with_the_family_name() {
        assert_eq!(
            p("Ludwig van Beethoven"),
            name(None, Some("Ludwig"), None, Some("van Beethoven"), None)
        );
        assert_eq!(
            p("VAN DER BERG, ANNA"),
            name(None, Some("Anna"), None, Some("van der Berg"), None)
        );
        assert_eq!(
            p("Maria de la Cruz"),
            name(None, Some("Maria"), None, Some("de la Cruz"), None)
        );
        assert_eq!(
            p("Mary Ann de la Cruz"),
            name(None, Some("Mary"), Some("Ann"), Some("de la Cruz"), None)
        );
        assert_eq!(
            p("Johann Wolfgang von Goethe"),
            name(
                None,
                Some("Johann"),
                Some("Wolfgang"),
                Some("von Goethe"),
                None
            )
        );
        assert_eq!(
            p("Leonardo DA VINCI"),
            name(None, Some("Leonardo"), None, Some("da Vinci"), None)
        );
        assert_eq!(
            p("John St. James"),
            name(None, Some("John"), None, Some("St James"), None)
        );
        // The first word is never swallowed: "Al" here is a given name.
        assert_eq!(
            p("Al Smith"),
            name(None, Some("Al"), None, Some("Smith"), None)
        );
    }

    #[test]
    fn hyphens_and_apostrophes() {
        assert_eq!(
            p("Mary-Jane O'Neil"),
            name(None, Some("Mary-Jane"), None, Some("O'Neil"), None)
        );
        assert_eq!(
            p("MARY-JANE O’NEIL"),
            name(None, Some("Mary-Jane"), None, Some("O'Neil"), None)
        );
        assert_eq!(
            p("d'angelo, maria"),
            name(None, Some("Maria"), None, Some("D'Angelo"), None)
        );
    }

    #[test]
    fn single_word_depends_on_order() {
        assert_eq!(p("Madonna"), name(None, Some("Madonna"), None, None, None));
        assert_eq!(
            po("Madonna", NameOrder::GivenFirst),
            name(None, Some("Madonna"), None, None, None)
        );
        assert_eq!(
            po("MADONNA", NameOrder::FamilyFirst),
            name(None, None, None, Some("Madonna"), None)
        );
        assert_eq!(p("Smith,"), name(None, None, None, Some("Smith"), None));
        assert_eq!(
            p("Smith, Jr"),
            name(None, None, None, Some("Smith"), Some("Jr"))
        );
        assert_eq!(
            p("John Smith,"),
            name(None, Some("John"), None, Some("Smith"), None)
        );
        assert_eq!(p(", John"), name(None, Some("John"), None, None, None));
    }

    #[test]
    fn quoted_nicknames_are_dropped() {
        let bob = name(None, Some("Robert"), None, Some("Smith"), None);
        assert_eq!(p("Robert \"Bob\" Smith"), bob);
        assert_eq!(p("Robert “Bob” Smith"), bob);
        assert_eq!(p("Robert (Bob) Smith"), bob);
        assert_eq!(p("Robert 'Bob' Smith"), bob);
        assert_eq!(p("SMITH, ROBERT \"BOB\""), bob);
        // An unbalanced quote is just noise.
        assert_eq!(p("Robert \"Smith"), bob);
    }

    #[test]
    fn initials_with_or_without_dots() {
        let tolkien = name(None, Some("J"), Some("R R"), Some("Tolkien"), None);
        assert_eq!(p("J. R. R. Tolkien"), tolkien);
        assert_eq!(p("J.R.R. Tolkien"), tolkien);
        assert_eq!(p("J R R TOLKIEN"), tolkien);
        assert_eq!(p("Tolkien, J.R.R."), tolkien);
    }

    #[test]
    fn messy_whitespace_and_noise() {
        assert_eq!(
            p("\t  John \n  Smith  "),
            name(None, Some("John"), None, Some("Smith"), None)
        );
        assert_eq!(
            p("John & Smith"),
            name(None, Some("John"), None, Some("Smith"), None)
        );
        assert_eq!(
            p("José Müller"),
            name(None, Some("José"), None, Some("Müller"), None)
        );
        // Decomposed accents come out composed.
        assert_eq!(
            p("Jose\u{0301} Mu\u{0308}ller").given.as_deref(),
            Some("José")
        );
    }

    #[test]
    fn empty_or_letterless_input_is_an_error() {
        for raw in ["", "   ", "...", ",", "- / -", "12345", "\"\""] {
            let err = parse_full_name(raw, NameOrder::Auto);
            assert!(
                matches!(err, Err(TransformError::Name { .. })),
                "{raw:?}: {err:?}"
            );
        }
        let err = parse_full_name("  ", NameOrder::Auto);
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("not a person name \"  \": it is empty".to_string())
        );
    }

    #[test]
    fn title_or_suffix_alone_is_an_error() {
        for raw in ["Mr.", "Dr", "Jr.", "Mrs, PhD"] {
            assert!(parse_full_name(raw, NameOrder::Auto).is_err(), "{raw}");
        }
    }

    #[test]
    fn name_case_examples() {
        assert_eq!(name_case("MCDONALD"), "McDonald");
        assert_eq!(name_case("mckay"), "McKay");
        assert_eq!(name_case("o'brien"), "O'Brien");
        assert_eq!(name_case("O’BRIEN"), "O'Brien");
        assert_eq!(name_case("MARY-JANE"), "Mary-Jane");
        assert_eq!(name_case("VAN DER BERG"), "van der Berg");
        assert_eq!(name_case("MACDONALD"), "MacDonald");
        assert_eq!(name_case("MACLEOD"), "MacLeod");
        assert_eq!(name_case("III"), "III");
        assert_eq!(name_case("john smith iii"), "John Smith III");
        assert_eq!(name_case("müller-lüdenscheidt"), "Müller-Lüdenscheidt");
        assert_eq!(name_case("ÉLODIE"), "Élodie");
        assert_eq!(name_case("  smith  "), "Smith");
        assert_eq!(name_case(""), "");
    }

    #[test]
    fn name_case_leaves_ordinary_mac_words_alone() {
        assert_eq!(name_case("MACK"), "Mack");
        assert_eq!(name_case("MACEY"), "Macey");
        assert_eq!(name_case("MACHADO"), "Machado");
        assert_eq!(name_case("MACON"), "Macon");
        assert_eq!(name_case("MC"), "Mc");
    }

    #[test]
    fn given_name_case_keeps_particle_words_capitalised() {
        assert_eq!(given_name_case("LA TOYA"), "La Toya");
        assert_eq!(name_case("LA TOYA"), "la Toya");
        assert_eq!(given_name_case("mary-jane"), "Mary-Jane");
        assert_eq!(given_name_case("  DEL  "), "Del");
        assert_eq!(
            p("La Toya Jackson"),
            name(None, Some("La"), Some("Toya"), Some("Jackson"), None)
        );
    }

    #[test]
    fn name_case_particles_and_apostrophes() {
        assert_eq!(name_case("LUDWIG VAN BEETHOVEN"), "Ludwig van Beethoven");
        assert_eq!(name_case("ANNA DE"), "Anna De");
        assert_eq!(name_case("ST JAMES"), "St James");
        assert_eq!(name_case("D'ARTAGNAN"), "D'Artagnan");
        assert_eq!(name_case("DE'ANDRE"), "De'Andre");
        assert_eq!(name_case("JONES'S"), "Jones's");
        assert_eq!(name_case("smith phd"), "Smith PhD");
    }
}
