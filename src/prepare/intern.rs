//! Interned strings: each distinct folded value gets a small integer, so that equality is an
//! integer comparison and term frequencies are an array lookup.

use std::collections::HashMap;

/// An interned value; `NONE` means the record has no value.
pub type Sym = u32;
pub const NONE: Sym = 0;

#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: HashMap<Box<str>, Sym>,
    strings: Vec<Box<str>>,
    counts: Vec<u32>,
}

impl Interner {
    pub fn new() -> Self {
        Interner {
            ids: HashMap::new(),
            // Slot 0 is the missing value.
            strings: vec!["".into()],
            counts: vec![0],
        }
    }

    /// Interns `s` and counts one occurrence; an empty string is `NONE`.
    pub fn add(&mut self, s: &str) -> Sym {
        if s.is_empty() {
            return NONE;
        }
        if let Some(&id) = self.ids.get(s) {
            self.counts[id as usize] += 1;
            return id;
        }
        let id = self.strings.len() as Sym;
        self.ids.insert(s.into(), id);
        self.strings.push(s.into());
        self.counts.push(1);
        id
    }

    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    pub fn str(&self, id: Sym) -> &str {
        self.strings.get(id as usize).map(|s| &**s).unwrap_or("")
    }

    /// Starts loading where value `id`'s text is (see `Comparator::prefetch_ahead`).
    #[inline]
    pub(crate) fn prefetch_handle(&self, id: Sym) {
        super::prefetch(self.strings.as_ptr().wrapping_add(id as usize));
    }

    /// Starts loading value `id`'s text; its handle should already be in cache.
    #[inline]
    pub(crate) fn prefetch_text(&self, id: Sym) {
        if let Some(s) = self.strings.get(id as usize) {
            super::prefetch(s.as_ptr());
        }
    }

    pub fn count(&self, id: Sym) -> u32 {
        self.counts.get(id as usize).copied().unwrap_or(0)
    }

    /// Number of distinct values, plus the missing slot.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.len() <= 1
    }

    /// Occurrences of present values.
    pub fn total(&self) -> u64 {
        self.counts.iter().skip(1).map(|&c| u64::from(c)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_counts() {
        let mut i = Interner::new();
        let a = i.add("SMITH");
        let b = i.add("JONES");
        assert_eq!(i.add("SMITH"), a);
        assert_ne!(a, b);
        assert_eq!(i.add(""), NONE);
        assert_eq!(i.count(a), 2);
        assert_eq!(i.str(b), "JONES");
        assert_eq!(i.total(), 3);
        assert_eq!(i.get("NOPE"), None);
    }
}
