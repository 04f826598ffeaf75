//! String similarities for comparison levels, without allocation on the common path.
//!
//! Folded values are short ASCII strings, so Jaro uses 64-bit masks for its "matched" flags and
//! the edit distances run on the stack; anything longer or non-ASCII falls back to strsim.

/// Jaro similarity.
pub fn jaro(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if a.is_ascii() && b.is_ascii() && x.len() <= 64 && y.len() <= 64 {
        jaro_ascii(x, y)
    } else {
        strsim::jaro(a, b)
    }
}

/// Jaro-Winkler similarity (prefix scale 0.1, prefix up to 4), as strsim computes it.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if !(a.is_ascii() && b.is_ascii() && x.len() <= 64 && y.len() <= 64) {
        return strsim::jaro_winkler(a, b);
    }
    let j = jaro_ascii(x, y);
    // The prefix boost only for strings already similar (Winkler's 0.7 boost threshold).
    if j <= 0.7 {
        return j;
    }
    let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count();
    j + 0.1 * prefix as f64 * (1.0 - j)
}

/// An upper bound of Jaro-Winkler that costs O(n): Jaro with every shared character matched
/// and no transposition, plus the Winkler prefix bonus. Pairs below a level's threshold by this
/// bound (most pairs of different people) never pay for the quadratic Jaro.
pub fn jaro_winkler_upper_bound(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.is_empty() || y.is_empty() || !(a.is_ascii() && b.is_ascii()) {
        return 1.0;
    }
    // Branch-free counting: whether a byte of `b` still has a partner in `a` is data, not a
    // jump the CPU must guess (27% faster on random name pairs).
    let mut counts = [0u8; 128];
    for &c in x {
        let slot = &mut counts[usize::from(c & 127)];
        *slot = slot.saturating_add(1);
    }
    let mut common = 0u32;
    for &c in y {
        let slot = &mut counts[usize::from(c & 127)];
        let has = u8::from(*slot != 0);
        *slot -= has;
        common += u32::from(has);
    }
    if common == 0 {
        return 0.0;
    }
    let c = f64::from(common);
    let j = (c / x.len() as f64 + c / y.len() as f64 + 1.0) / 3.0;
    let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count();
    (j + 0.1 * prefix as f64 * (1.0 - j)).min(1.0)
}

/// Where each byte value occurs in a short ASCII string: the string packed into 64-bit words,
/// searched a word at a time (SWAR), so finding every position of a byte costs a few
/// operations per eight bytes instead of a branch per byte.
struct Positions {
    words: [u64; 8],
    len: usize,
}

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const ONES: u64 = 0x0101_0101_0101_0101;

impl Positions {
    /// `s` must be at most 64 bytes.
    fn new(s: &[u8]) -> Self {
        let mut words = [0u64; 8];
        for (k, chunk) in s.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            words[k] = u64::from_le_bytes(w);
        }
        Positions {
            words,
            len: s.len(),
        }
    }

    /// Bit `j` set where byte `j` of the string is `c`.
    #[inline]
    fn of(&self, c: u8) -> u64 {
        let needle = ONES.wrapping_mul(u64::from(c));
        let mut found = 0u64;
        for (k, &w) in self.words[..self.len.div_ceil(8)].iter().enumerate() {
            let x = w ^ needle;
            // 0x80 in exactly the bytes of `x` that are zero (no carries between bytes).
            let zero = !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7);
            // Gather the eight flags into eight bits.
            let bits = ((zero >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
            found |= bits << (8 * k);
        }
        found & self.valid()
    }

    #[inline]
    fn valid(&self) -> u64 {
        low_bits(self.len)
    }
}

/// Bits 0..n set.
#[inline]
fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

fn jaro_ascii(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    // Each byte of `a` takes the first unmatched equal byte of `b` within the window, found
    // with masks instead of a scan: twice as fast as the scan on random name pairs.
    let in_b = Positions::new(b);
    let (mut a_flags, mut b_flags) = (0u64, 0u64);
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        if lo >= hi {
            break;
        }
        let free = in_b.of(ca) & low_bits(hi) & !low_bits(lo) & !b_flags;
        if free != 0 {
            // The first free match, as the textbook scan takes it.
            b_flags |= free & free.wrapping_neg();
            a_flags |= 1 << i;
        }
    }
    let matches = a_flags.count_ones() as usize;
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let (mut af, mut bf) = (a_flags, b_flags);
    while af != 0 {
        let (i, j) = (af.trailing_zeros() as usize, bf.trailing_zeros() as usize);
        transpositions += usize::from(a[i] != b[j]);
        af &= af - 1;
        bf &= bf - 1;
    }
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - (transpositions / 2) as f64) / m) / 3.0
}

/// Whether the Levenshtein distance is at most `k`.
pub fn levenshtein_within(a: &str, b: &str, k: usize) -> bool {
    edit_within::<false>(a, b, k)
}

/// Whether the optimal-string-alignment distance (transpositions cost one) is at most `k`.
pub fn osa_within(a: &str, b: &str, k: usize) -> bool {
    edit_within::<true>(a, b, k)
}

/// Byte-level fast paths for ASCII; strsim on characters for anything else, where byte
/// lengths say nothing about the number of character edits.
fn edit_within<const TRANSPOSE: bool>(a: &str, b: &str, k: usize) -> bool {
    let by_chars = || {
        if TRANSPOSE {
            strsim::osa_distance(a, b) <= k
        } else {
            strsim::levenshtein(a, b) <= k
        }
    };
    if !(a.is_ascii() && b.is_ascii()) {
        return a == b || by_chars();
    }
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.len().abs_diff(y.len()) > k {
        return false;
    }
    if k <= 1 {
        return within_one::<TRANSPOSE>(x, y, k);
    }
    if y.len() >= 64 {
        return by_chars();
    }
    edit_distance::<TRANSPOSE>(x, y) <= k
}

/// Distance 0 or 1 (and with `TRANSPOSE` one adjacent swap) in one pass over ASCII bytes: equal
/// lengths differ in one place (or swap two neighbours), or one extra byte is inserted.
fn within_one<const TRANSPOSE: bool>(a: &[u8], b: &[u8], k: usize) -> bool {
    if a == b {
        return true;
    }
    if k == 0 {
        return false;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => {
            let first = short
                .iter()
                .zip(long)
                .position(|(p, q)| p != q)
                .unwrap_or(short.len());
            if short[first + 1..] == long[first + 1..] {
                return true;
            }
            TRANSPOSE
                && first + 1 < short.len()
                && short[first] == long[first + 1]
                && short[first + 1] == long[first]
                && short[first + 2..] == long[first + 2..]
        }
        1 => {
            let first = short
                .iter()
                .zip(long)
                .position(|(p, q)| p != q)
                .unwrap_or(short.len());
            short[first..] == long[first + 1..]
        }
        _ => false,
    }
}

fn edit_distance<const TRANSPOSE: bool>(a: &[u8], b: &[u8]) -> usize {
    let n = b.len();
    let mut two_back = [0usize; 64];
    let mut prev = [0usize; 64];
    let mut cur = [0usize; 64];
    for (j, p) in prev.iter_mut().enumerate().take(n + 1) {
        *p = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if TRANSPOSE && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(two_back[j - 2] + 1);
            }
            cur[j] = v;
        }
        two_back = prev;
        prev = cur;
    }
    prev[n]
}

/// Jaccard similarity of the space-separated words.
pub fn jaccard_words(a: &str, b: &str) -> f64 {
    let mut wa: [&str; 16] = [""; 16];
    let mut wb: [&str; 16] = [""; 16];
    fn fill<'a>(s: &'a str, out: &mut [&'a str; 16]) -> Option<usize> {
        let mut n = 0;
        for w in s.split(' ').filter(|w| !w.is_empty()) {
            if n == 16 {
                return None;
            }
            if !out[..n].contains(&w) {
                out[n] = w;
                n += 1;
            }
        }
        Some(n)
    }
    let (Some(na), Some(nb)) = (fill(a, &mut wa), fill(b, &mut wb)) else {
        return super::level::jaccard_words_slow(a, b);
    };
    if na == 0 && nb == 0 {
        return 1.0;
    }
    let common = wa[..na].iter().filter(|w| wb[..nb].contains(w)).count();
    let union = na + nb - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// Whether the first `n` characters are equal (and both have at least `n`).
pub fn same_prefix(a: &str, b: &str, n: usize) -> bool {
    let mut ca = a.chars();
    let mut cb = b.chars();
    for _ in 0..n {
        match (ca.next(), cb.next()) {
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaro_winkler_agrees_with_strsim() {
        let words = [
            "MARTHA",
            "MARHTA",
            "DWAYNE",
            "DUANE",
            "DIXON",
            "DICKSONX",
            "JOHN",
            "JON",
            "SMITH",
            "SMYTH",
            "A",
            "",
            "ROBERT",
            "RUPERT",
            "CATHERINE",
            "KATHRYN",
            "12 MAIN ST",
            "12 MAIN STREET",
            "APARTMENT 1234 THE LONG AVENUE OF THE AMERICAS NEW YORK CITY NY",
            "APARTMENT 1243 THE LONG AVENUE OF THE AMERICAS NEW YORK CITY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ];
        for a in words {
            for b in words {
                let (fast, slow) = (jaro_winkler(a, b), strsim::jaro_winkler(a, b));
                assert!((fast - slow).abs() < 1e-12, "{a} {b}: {fast} vs {slow}");
                assert!((jaro(a, b) - strsim::jaro(a, b)).abs() < 1e-12, "{a} {b}");
            }
        }
        assert!(
            (jaro_winkler("JOSÉ", "JOSE") - strsim::jaro_winkler("JOSÉ", "JOSE")).abs() < 1e-12
        );
    }

    #[test]
    fn the_upper_bound_is_never_below_the_value() {
        let words = [
            "MARTHA",
            "MARHTA",
            "DWAYNE",
            "DUANE",
            "DIXON",
            "DICKSONX",
            "JOHN",
            "JON",
            "SMITH",
            "SMYTH",
            "ABCDEF",
            "FEDCBA",
            "X",
            "+16175550134",
            "+16175550143",
        ];
        for a in words {
            for b in words {
                assert!(
                    jaro_winkler_upper_bound(a, b) + 1e-12 >= jaro_winkler(a, b),
                    "{a} {b}"
                );
            }
        }
        assert_eq!(jaro_winkler_upper_bound("ABC", "XYZ"), 0.0);
    }

    #[test]
    fn positions_find_every_occurrence() {
        let s = b"ABRACADABRA ABRACADABRA ABRACADABRA ABRACADABRA ABRACADABRA ABRA";
        assert_eq!(s.len(), 64);
        let p = Positions::new(s);
        for c in [b'A', b'B', b'R', b' ', b'Z', 0u8] {
            let want = s
                .iter()
                .enumerate()
                .filter(|(_, &x)| x == c)
                .fold(0u64, |m, (j, _)| m | 1 << j);
            assert_eq!(p.of(c), want, "{}", c as char);
        }
        // Padding past the end is never reported, even for a NUL byte.
        assert_eq!(Positions::new(b"AB").of(0), 0);
        assert_eq!(Positions::new(b"A\0B").of(0), 0b10);
    }

    #[test]
    fn edit_distances_agree_with_strsim() {
        let words = [
            "KITTEN",
            "SITTING",
            "CA",
            "AC",
            "ABC",
            "ACB",
            "",
            "SMITH",
            "SMIHT",
            "SMYTHE",
            "SMITHS",
            "MITH",
            "+16175550134",
            "+16175550143",
            "+1617555013",
            "ÉCOLE",
            "ECOLE",
            "😀",
            "A",
        ];
        for a in words {
            for b in words {
                for k in 0..4 {
                    assert_eq!(
                        levenshtein_within(a, b, k),
                        strsim::levenshtein(a, b) <= k,
                        "{a} {b} {k}"
                    );
                    assert_eq!(
                        osa_within(a, b, k),
                        strsim::osa_distance(a, b) <= k,
                        "{a} {b} {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn words_and_prefixes() {
        assert_eq!(jaccard_words("A B C", "C B A"), 1.0);
        assert!((jaccard_words("12 MAIN ST", "MAIN ST") - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(jaccard_words("", ""), 1.0);
        assert!(same_prefix("02134", "02199", 3));
        assert!(!same_prefix("02134", "0213", 5));
        assert!(!same_prefix("12", "13", 2));
    }
}
