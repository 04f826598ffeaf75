//! Stable golden IDs across runs.
//!
//! An ID, once published, keeps meaning the same customer: a cluster takes the ID its records
//! had before. When clusters merge, the oldest ID survives and the others redirect to it; when a
//! cluster splits, the part with most of its records keeps the ID and the rest get new ones.

use std::collections::{BTreeMap, HashMap};

/// How a cluster got its ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A new customer.
    New,
    /// The ID its records had.
    Kept,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// ID per cluster.
    pub ids: Vec<String>,
    pub origins: Vec<Origin>,
    /// Old ID -> surviving ID (merges).
    pub merged: Vec<(String, String)>,
    /// Old ID -> the new IDs minted for its other parts (splits).
    pub split: Vec<(String, Vec<String>)>,
    /// Old IDs with no records left.
    pub deleted: Vec<String>,
    pub next_seq: i64,
}

pub fn format_id(seq: i64) -> String {
    format!("G{seq:08}")
}

/// `previous[c]` lists the previous golden ID of each record of cluster `c` (None for new
/// records); `age` orders previous IDs oldest first (their creation sequence).
pub fn assign(
    previous: &[Vec<Option<&str>>],
    age: &dyn Fn(&str) -> i64,
    all_previous: &[&str],
    mut next_seq: i64,
) -> Assignment {
    let clusters = previous.len();
    // prev id -> (cluster -> records of that cluster that had the id)
    let mut holders: BTreeMap<&str, BTreeMap<usize, usize>> = BTreeMap::new();
    for (c, ids) in previous.iter().enumerate() {
        for id in ids.iter().flatten() {
            *holders.entry(id).or_default().entry(c).or_insert(0) += 1;
        }
    }
    let mut order: Vec<&str> = holders.keys().copied().collect();
    order.sort_by_key(|id| (age(id), id.to_string()));

    let mut ids: Vec<Option<String>> = vec![None; clusters];
    let mut origins = vec![Origin::New; clusters];
    let mut taken_by: HashMap<&str, usize> = HashMap::new();
    for id in &order {
        // The largest part (ties: the first cluster) among clusters not yet named.
        let best = holders[id]
            .iter()
            .filter(|(c, _)| ids[**c].is_none())
            .max_by(|(ca, na), (cb, nb)| na.cmp(nb).then(cb.cmp(ca)))
            .map(|(c, _)| *c);
        if let Some(c) = best {
            ids[c] = Some(id.to_string());
            origins[c] = Origin::Kept;
            taken_by.insert(id, c);
        }
    }
    let mut minted_for: HashMap<usize, String> = HashMap::new();
    let ids: Vec<String> = ids
        .into_iter()
        .enumerate()
        .map(|(c, id)| {
            id.unwrap_or_else(|| {
                let new = format_id(next_seq);
                next_seq += 1;
                minted_for.insert(c, new.clone());
                new
            })
        })
        .collect();

    let mut merged = Vec::new();
    let mut split = Vec::new();
    for id in &order {
        let parts = &holders[id];
        match taken_by.get(id) {
            // Not kept anywhere: its records all went to clusters named otherwise -> merged into
            // the cluster holding most of them.
            None => {
                let (&c, _) = parts
                    .iter()
                    .max_by(|(ca, na), (cb, nb)| na.cmp(nb).then(cb.cmp(ca)))
                    .expect("an id in `holders` has at least one cluster");
                merged.push((id.to_string(), ids[c].clone()));
            }
            Some(_) => {
                let minted: Vec<String> = parts
                    .keys()
                    .filter_map(|c| minted_for.get(c).cloned())
                    .collect();
                if !minted.is_empty() {
                    split.push((id.to_string(), minted));
                }
            }
        }
    }
    let mut deleted: Vec<String> = all_previous
        .iter()
        .filter(|id| !holders.contains_key(*id))
        .map(|id| id.to_string())
        .collect();
    deleted.sort();
    Assignment {
        ids,
        origins,
        merged,
        split,
        deleted,
        next_seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(id: &str) -> i64 {
        id[1..].parse().unwrap_or(i64::MAX)
    }

    #[test]
    fn new_clusters_get_new_ids_in_order() {
        let a = assign(&[vec![None], vec![None, None]], &age, &[], 7);
        assert_eq!(a.ids, vec!["G00000007", "G00000008"]);
        assert_eq!(a.next_seq, 9);
        assert!(a.merged.is_empty() && a.split.is_empty() && a.deleted.is_empty());
    }

    #[test]
    fn a_joining_record_keeps_the_customer_id() {
        let a = assign(&[vec![Some("G00000003"), None]], &age, &["G00000003"], 10);
        assert_eq!(a.ids, vec!["G00000003"]);
        assert_eq!(a.origins, vec![Origin::Kept]);
        assert_eq!(a.next_seq, 10);
    }

    #[test]
    fn on_merge_the_older_id_survives() {
        // G5 has more records, but G2 is older.
        let prev = vec![vec![
            Some("G00000005"),
            Some("G00000005"),
            Some("G00000002"),
        ]];
        let a = assign(&prev, &age, &["G00000002", "G00000005"], 10);
        assert_eq!(a.ids, vec!["G00000002"]);
        assert_eq!(
            a.merged,
            vec![("G00000005".to_string(), "G00000002".to_string())]
        );
    }

    #[test]
    fn on_split_the_larger_part_keeps_the_id() {
        let prev = vec![
            vec![Some("G00000004")],
            vec![Some("G00000004"), Some("G00000004")],
        ];
        let a = assign(&prev, &age, &["G00000004"], 10);
        assert_eq!(a.ids, vec!["G00000010", "G00000004"]);
        assert_eq!(
            a.split,
            vec![("G00000004".to_string(), vec!["G00000010".to_string()])]
        );
    }

    #[test]
    fn ids_with_no_records_left_are_deleted() {
        let a = assign(
            &[vec![Some("G00000001")]],
            &age,
            &["G00000001", "G00000009"],
            10,
        );
        assert_eq!(a.deleted, vec!["G00000009"]);
    }
}
