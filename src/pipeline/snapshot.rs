//! Snapshot diffing: each source read in full, compared with its staged records by key and
//! content hash, gives its new, changed, vanished and unchanged records. The foundation of
//! incremental matching (docs/incremental.md); for now it is reported.

use crate::record::{Record, SourceKey};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// How one source's records differ from the ones staged by the last published run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceChanges {
    pub source: String,
    /// Keys not staged before.
    pub new: u64,
    /// Keys staged with another content hash.
    pub changed: u64,
    /// Keys staged but not read now: deletions.
    pub vanished: u64,
    pub same: u64,
}

/// The changes of every source in `read` (the sources read in full; a failed source's staged
/// records stand in for it and are not compared). `staged` maps each staged key to its golden
/// ID and content hash; `hashes` are the records' content hashes, in the records' order.
pub fn diff(
    records: &[Record],
    hashes: &[i64],
    staged: &HashMap<SourceKey, (String, i64)>,
    read: &HashSet<String>,
) -> Vec<SourceChanges> {
    let counted: HashMap<&str, SourceChanges> = records
        .par_iter()
        .zip(hashes)
        .filter(|(r, _)| read.contains(r.source.as_str()))
        .fold(
            HashMap::new,
            |mut acc: HashMap<&str, SourceChanges>, (r, h)| {
                let c = acc.entry(r.source.as_str()).or_default();
                match staged.get(&r.source_key()) {
                    None => c.new += 1,
                    Some((_, before)) if before == h => c.same += 1,
                    Some(_) => c.changed += 1,
                }
                acc
            },
        )
        .reduce(HashMap::new, |mut a, b| {
            for (source, c) in b {
                let t = a.entry(source).or_default();
                t.new += c.new;
                t.changed += c.changed;
                t.same += c.same;
            }
            a
        });
    let mut staged_per_source: HashMap<&str, u64> = HashMap::new();
    for k in staged.keys().filter(|k| read.contains(k.source.as_str())) {
        *staged_per_source.entry(k.source.as_str()).or_default() += 1;
    }
    let mut out: BTreeMap<&str, SourceChanges> = BTreeMap::new();
    for source in read {
        let mut c = counted.get(source.as_str()).cloned().unwrap_or_default();
        c.source = source.clone();
        // Every key read that was staged is same or changed; the rest of the staged ones vanished.
        let staged_here = staged_per_source.get(source.as_str()).copied().unwrap_or(0);
        c.vanished = staged_here.saturating_sub(c.same + c.changed);
        out.insert(source, c);
    }
    out.into_values().collect()
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

    #[test]
    fn keys_and_hashes_give_new_changed_vanished_and_same() {
        let staged: HashMap<SourceKey, (String, i64)> = [
            (SourceKey::new("crm", "1"), ("G1".to_string(), 10)),
            (SourceKey::new("crm", "2"), ("G2".to_string(), 20)),
            (SourceKey::new("crm", "3"), ("G3".to_string(), 30)),
            (SourceKey::new("billing", "A"), ("G1".to_string(), 40)),
        ]
        .into_iter()
        .collect();
        let records = vec![
            rec("crm", "1"),
            rec("crm", "2"),
            rec("crm", "4"),
            rec("billing", "A"),
        ];
        let hashes = vec![10, 21, 50, 40];
        let read: HashSet<String> = ["crm".to_string()].into_iter().collect();
        assert_eq!(
            diff(&records, &hashes, &staged, &read),
            vec![SourceChanges {
                source: "crm".into(),
                new: 1,
                changed: 1,
                vanished: 1,
                same: 1
            }],
            "billing was not read in full (it failed): not compared"
        );
        let both: HashSet<String> = ["crm".to_string(), "billing".to_string()]
            .into_iter()
            .collect();
        let all = diff(&records, &hashes, &staged, &both);
        assert_eq!(all[0].source, "billing");
        assert_eq!((all[0].same, all[0].new, all[0].vanished), (1, 0, 0));
        let first_run = diff(&records, &hashes, &HashMap::new(), &read);
        assert_eq!((first_run[0].new, first_run[0].vanished), (3, 0));
    }
}
