//! A golden record's lineage: for each field, its value and the source record and survivorship
//! rule it came from.
//!
//! Kept as a short sorted list rather than a JSON tree: a first sync builds, hashes, stores and
//! reports the lineage of every golden record, and building and freeing fourteen JSON maps per
//! record cost more than SQLite took to store them. It serialises to exactly the JSON the store
//! and the API have always held, byte for byte, so stored content hashes stay valid.

use super::record::GoldenColumn;
use super::survivorship::Rule;
use compact_str::CompactString;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::Deserialize;
use serde_json::Value;

/// What chose a field's value: a survivorship rule, or a steward's pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    Rule(Rule),
    Pin,
}

impl ChosenBy {
    /// As lineage names it: the rule's name, or `pinned`.
    pub fn name(self) -> &'static str {
        match self {
            ChosenBy::Rule(rule) => rule.name(),
            ChosenBy::Pin => "pinned",
        }
    }
}

impl serde::Serialize for ChosenBy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ChosenBy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        if name == ChosenBy::Pin.name() {
            return Ok(ChosenBy::Pin);
        }
        let rule = de::value::CowStrDeserializer::<D::Error>::new(name);
        Rule::deserialize(rule).map(ChosenBy::Rule)
    }
}

/// Where one golden field's value came from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FieldOrigin {
    pub value: CompactString,
    /// The source, or `steward` for a pinned value.
    pub source: CompactString,
    /// The source record's key, or the steward who pinned the value.
    pub key: CompactString,
    /// The survivorship rule that chose it, or the steward's pin.
    pub rule: ChosenBy,
    /// The records that supported the value (`source:key`), when the evidence rule chose it
    /// and more than one did.
    #[serde(default)]
    pub supported_by: Vec<CompactString>,
    /// The customer's other e-mails or phones, when one is clearly the best supported: a
    /// customer may have several, and these are not in conflict with the one shown.
    #[serde(default)]
    pub alternates: Vec<CompactString>,
}

impl serde::Serialize for FieldOrigin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Alphabetical, as a JSON object map writes its keys; `alternates` and `supported_by`
        // only when set, so that lineage chosen by the other rules reads as it always did.
        let support = !self.supported_by.is_empty();
        let alternates = !self.alternates.is_empty();
        let mut map = s.serialize_map(Some(4 + usize::from(support) + usize::from(alternates)))?;
        if alternates {
            map.serialize_entry("alternates", &self.alternates)?;
        }
        map.serialize_entry("key", self.key.as_str())?;
        map.serialize_entry("rule", self.rule.name())?;
        map.serialize_entry("source", self.source.as_str())?;
        if support {
            map.serialize_entry("supported_by", &self.supported_by)?;
        }
        map.serialize_entry("value", self.value.as_str())?;
        map.end()
    }
}

/// `{field: {key, rule, source, value}}`, sorted by field name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lineage(Vec<(GoldenColumn, FieldOrigin)>);

impl Lineage {
    pub fn new() -> Lineage {
        Lineage(Vec::with_capacity(GoldenColumn::ALL.len()))
    }

    fn at(&self, field: GoldenColumn) -> Result<usize, usize> {
        self.0.binary_search_by(|(f, _)| f.name().cmp(field.name()))
    }

    /// Records (or replaces) where `field` came from.
    pub fn set(&mut self, field: GoldenColumn, origin: FieldOrigin) {
        match self.at(field) {
            Ok(at) => self.0[at].1 = origin,
            Err(at) => self.0.insert(at, (field, origin)),
        }
    }

    pub fn get(&self, field: GoldenColumn) -> Option<&FieldOrigin> {
        self.at(field).ok().map(|at| &self.0[at].1)
    }

    /// Fields in name order.
    pub fn iter(&self) -> impl Iterator<Item = (GoldenColumn, &FieldOrigin)> {
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
            map.serialize_entry(field.name(), origin)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Lineage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Lineage;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map from golden field to {value, source, key, rule}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lineage, A::Error> {
                let mut lineage = Lineage::new();
                while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let field = GoldenColumn::parse(&name).ok_or_else(|| {
                        de::Error::custom(format!("{name:?} is not a golden field"))
                    })?;
                    lineage.set(field, map.next_value()?);
                }
                Ok(lineage)
            }
        }
        d.deserialize_map(Fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use GoldenColumn::{City, Email, Phone, Street};

    fn origin(value: &str, source: &str, key: &str, rule: ChosenBy) -> FieldOrigin {
        FieldOrigin {
            value: value.into(),
            source: source.into(),
            key: key.into(),
            rule,
            supported_by: Vec::new(),
            alternates: Vec::new(),
        }
    }

    #[test]
    fn serialises_exactly_as_the_json_tree_did_and_reads_back() {
        let frequent = ChosenBy::Rule(Rule::MostFrequent);
        let mut l = Lineage::new();
        l.set(Street, origin("1 MAIN ST", "crm", "1", frequent));
        l.set(
            Email,
            origin(
                "a\"b@x.com",
                "billing",
                "B7",
                ChosenBy::Rule(Rule::MostRecent),
            ),
        );
        l.set(City, origin("Zürich", "crm", "1", frequent));
        l.set(Email, origin("a@x.com", "steward", "anna", ChosenBy::Pin));
        let tree = serde_json::json!({
            "street": {"value": "1 MAIN ST", "source": "crm", "key": "1", "rule": "most_frequent"},
            "email": {"value": "a@x.com", "source": "steward", "key": "anna", "rule": "pinned"},
            "city": {"value": "Zürich", "source": "crm", "key": "1", "rule": "most_frequent"},
        });
        let text = serde_json::to_string(&l).expect("encodes");
        assert_eq!(text, serde_json::to_string(&tree).expect("encodes"));
        assert_eq!(l.to_value(), tree);
        assert_eq!(l.get(Email).map(|o| o.rule), Some(ChosenBy::Pin));
        assert!(l.get(Phone).is_none());
        assert_eq!(
            l.iter().map(|(f, _)| f).collect::<Vec<_>>(),
            [City, Email, Street]
        );
        assert_eq!(
            serde_json::to_string(&Lineage::new()).expect("encodes"),
            "{}"
        );

        // Stored lineage reads back as it was, whatever order its keys come in (PostgreSQL's
        // JSONB keeps its own).
        let read: Lineage = serde_json::from_value(tree).expect("decodes");
        assert_eq!(read, l);
        let unknown = serde_json::json!({"shoe_size": {"value": "9", "source": "crm", "key": "1", "rule": "longest"}});
        assert!(serde_json::from_value::<Lineage>(unknown).is_err());
        let bad_rule = serde_json::json!({"city": {"value": "X", "source": "crm", "key": "1", "rule": "loudest"}});
        assert!(serde_json::from_value::<Lineage>(bad_rule).is_err());
    }
}
