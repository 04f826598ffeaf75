//! A golden record's lineage: for each field, its value and the source record and survivorship
//! rule it came from.
//!
//! Kept as a short sorted list rather than a JSON tree: a first sync builds, hashes, stores and
//! reports the lineage of every golden record, and building and freeing fourteen JSON maps per
//! record cost more than SQLite took to store them. It serialises to exactly the JSON the store
//! and the API have always held, byte for byte, so stored content hashes stay valid.

use compact_str::CompactString;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

/// Where one golden field's value came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldOrigin {
    pub value: CompactString,
    /// The source, or `steward` for a pinned value.
    pub source: CompactString,
    /// The source record's key, or the steward who pinned the value.
    pub key: CompactString,
    /// The survivorship rule that chose it, or `pinned`.
    pub rule: &'static str,
}

impl serde::Serialize for FieldOrigin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Alphabetical, as a JSON object map writes its keys.
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("key", self.key.as_str())?;
        map.serialize_entry("rule", self.rule)?;
        map.serialize_entry("source", self.source.as_str())?;
        map.serialize_entry("value", self.value.as_str())?;
        map.end()
    }
}

/// `{field: {key, rule, source, value}}`, sorted by field name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lineage(Vec<(&'static str, FieldOrigin)>);

impl Lineage {
    pub fn new() -> Lineage {
        Lineage(Vec::with_capacity(13))
    }

    /// Records (or replaces) where `field` came from.
    pub fn set(&mut self, field: &'static str, origin: FieldOrigin) {
        match self.0.binary_search_by(|(f, _)| (*f).cmp(field)) {
            Ok(at) => self.0[at].1 = origin,
            Err(at) => self.0.insert(at, (field, origin)),
        }
    }

    pub fn get(&self, field: &str) -> Option<&FieldOrigin> {
        self.0
            .binary_search_by(|(f, _)| (*f).cmp(field))
            .ok()
            .map(|at| &self.0[at].1)
    }

    /// Fields in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &FieldOrigin)> {
        self.0.iter().map(|(f, o)| (*f, o))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The lineage as a JSON tree, for the few places that compare or reshape it.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl serde::Serialize for Lineage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (field, origin) in &self.0 {
            map.serialize_entry(field, origin)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(value: &str, source: &str, key: &str, rule: &'static str) -> FieldOrigin {
        FieldOrigin {
            value: value.into(),
            source: source.into(),
            key: key.into(),
            rule,
        }
    }

    #[test]
    fn serialises_exactly_as_the_json_tree_did() {
        let mut l = Lineage::new();
        l.set("street", origin("1 MAIN ST", "crm", "1", "most_common"));
        l.set(
            "email",
            origin("a\"b@x.com", "billing", "B7", "most_recent"),
        );
        l.set("city", origin("Zürich", "crm", "1", "most_common"));
        l.set("email", origin("a@x.com", "steward", "anna", "pinned"));
        let tree = serde_json::json!({
            "street": {"value": "1 MAIN ST", "source": "crm", "key": "1", "rule": "most_common"},
            "email": {"value": "a@x.com", "source": "steward", "key": "anna", "rule": "pinned"},
            "city": {"value": "Zürich", "source": "crm", "key": "1", "rule": "most_common"},
        });
        assert_eq!(
            serde_json::to_string(&l).expect("encodes"),
            serde_json::to_string(&tree).expect("encodes")
        );
        assert_eq!(l.to_value(), tree);
        assert_eq!(l.get("email").map(|o| o.rule), Some("pinned"));
        assert!(l.get("phone").is_none());
        assert_eq!(
            l.iter().map(|(f, _)| f).collect::<Vec<_>>(),
            ["city", "email", "street"]
        );
        assert_eq!(
            serde_json::to_string(&Lineage::new()).expect("encodes"),
            "{}"
        );
    }
}
