//! Stewards' decisions, as the matcher and survivorship take them: must-link and cannot-link
//! between the records of this run (decisions about records no longer present wait), training
//! labels, and pinned values per golden ID.

use crate::cluster::Constraints;
use crate::golden::{Pin, Pins};
use crate::record::Record;
use crate::store::{LinkDecision, LinkKind, PinDecision};
use std::collections::{HashMap, HashSet};

/// Constraints and training labels (i, j, is_match) in record indices.
pub fn constraints_from(
    records: &[Record],
    links: &[LinkDecision],
) -> (Constraints, Vec<(u32, u32, bool)>) {
    let wanted: HashSet<(&str, &str)> = links
        .iter()
        .flat_map(|l| [&l.a, &l.b])
        .map(|k| (k.source.as_str(), k.key.as_str()))
        .collect();
    let mut index: HashMap<(&str, &str), u32> = HashMap::with_capacity(wanted.len());
    if !wanted.is_empty() {
        for (i, r) in records.iter().enumerate() {
            let k = (r.source.as_str(), r.key.as_str());
            if wanted.contains(&k) {
                index.insert(k, i as u32);
            }
        }
    }
    let mut constraints = Constraints::default();
    let mut labels = Vec::new();
    for l in links {
        let (Some(&i), Some(&j)) = (
            index.get(&(l.a.source.as_str(), l.a.key.as_str())),
            index.get(&(l.b.source.as_str(), l.b.key.as_str())),
        ) else {
            continue;
        };
        if i == j {
            continue;
        }
        match l.kind {
            LinkKind::MustLink => constraints.must_link.push((i, j)),
            LinkKind::CannotLink => constraints.cannot_link.push((i, j)),
        }
        labels.push((i.min(j), i.max(j), l.kind == LinkKind::MustLink));
    }
    (constraints, labels)
}

/// Pins per golden ID, oldest first (a later pin on the same field wins).
pub fn pins_from(decisions: Vec<PinDecision>) -> Pins {
    let mut pins = Pins::new();
    for d in decisions {
        pins.entry(d.golden_id).or_default().push(Pin {
            field: d.field,
            value: d.value,
            decision_id: d.decision_id,
            by: d.by,
        });
    }
    pins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SourceKey;

    #[test]
    fn decisions_map_to_present_records_and_become_labels() {
        let rec = |k: &str| Record {
            source: "crm".into(),
            key: k.into(),
            ..Default::default()
        };
        let records = vec![rec("1"), rec("2"), rec("3")];
        let link = |id, kind, a: &str, b: &str| LinkDecision {
            decision_id: id,
            kind,
            a: SourceKey::new("crm", a),
            b: SourceKey::new("crm", b),
        };
        let links = [
            link(1, LinkKind::MustLink, "1", "3"),
            link(2, LinkKind::CannotLink, "2", "3"),
            link(3, LinkKind::CannotLink, "2", "gone"),
        ];
        let (c, labels) = constraints_from(&records, &links);
        assert_eq!(c.must_link, vec![(0, 2)]);
        assert_eq!(c.cannot_link, vec![(1, 2)]);
        assert_eq!(labels, vec![(0, 2, true), (1, 2, false)]);
    }
}
