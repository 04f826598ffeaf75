//! Golden customer records: one per cluster, fields chosen by survivorship, every field's
//! lineage kept, IDs stable across runs, and the diff against what the store already holds.

mod ids;
mod survivorship;

pub use ids::{assign, format_id, Assignment, Origin};
pub use survivorship::{
    choose, Candidate, GoldenField, Rule, Survivorship, SurvivorshipConfig, GOLDEN_FIELDS,
};

use crate::record::{Record, RecordKind, SourceKey};
use crate::store::{GoldenRow, PreviousGolden, Redirect, StagedChange};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// What the store held before this run.
pub struct Previous<'a> {
    pub xref: &'a HashMap<SourceKey, (String, i64)>,
    pub golden: &'a HashMap<String, PreviousGolden>,
    pub next_seq: i64,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct GoldenCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub deleted: u64,
    pub merged: u64,
    pub split: u64,
}

pub struct GoldenBuild<'a> {
    /// Golden ID of each cluster.
    pub ids: Vec<String>,
    /// The golden records to write: new or changed.
    pub upserts: Upserts<'a>,
    pub deletes: Vec<String>,
    pub redirects: Vec<Redirect>,
    pub staged: Vec<StagedChange<'a>>,
    pub next_seq: i64,
    pub counts: GoldenCounts,
    pub assignment: Assignment,
}

/// A golden record to write: which cluster, and what it keeps from its earlier self.
struct Upsert {
    cluster: u32,
    created_seq: i64,
    /// None: created by this run.
    created: Option<(String, DateTime<Utc>)>,
}

/// The new and changed golden records, rebuilt from their clusters a slice at a time when they
/// are written (survivorship is deterministic), so that they never all sit in memory.
pub struct Upserts<'a> {
    records: &'a [Record],
    clusters: &'a [Vec<u32>],
    survivorship: &'a Survivorship,
    ids: Vec<String>,
    items: Vec<Upsert>,
    run_id: String,
    now: DateTime<Utc>,
}

impl Upserts<'_> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn rows(&self, range: std::ops::Range<usize>) -> Vec<GoldenRow> {
        self.items[range]
            .par_iter()
            .map(|u| {
                let rs: Vec<&Record> = self.clusters[u.cluster as usize]
                    .iter()
                    .map(|&r| &self.records[r as usize])
                    .collect();
                let mut row = survive(self.survivorship, &rs);
                row.golden_id = self.ids[u.cluster as usize].clone();
                row.created_seq = u.created_seq;
                (row.created_run, row.created_at) = match &u.created {
                    Some((run, at)) => (run.clone(), *at),
                    None => (self.run_id.clone(), self.now),
                };
                row.updated_run = self.run_id.clone();
                row.updated_at = self.now;
                row
            })
            .collect()
    }
}

impl crate::store::GoldenRows for Upserts<'_> {
    fn len(&self) -> usize {
        Upserts::len(self)
    }
    fn rows(&self, range: std::ops::Range<usize>) -> Vec<GoldenRow> {
        Upserts::rows(self, range)
    }
}

fn text(v: &Option<crate::record::Text>) -> Option<String> {
    v.as_ref().map(|s| s.to_string()).filter(|s| !s.is_empty())
}

/// Field values of one golden record, before IDs and timestamps.
fn survive(s: &Survivorship, members: &[&Record]) -> GoldenRow {
    let mut lineage = serde_json::Map::new();
    let mut note = |field: &str, value: &str, r: &Record, rule: Rule| {
        lineage.insert(
            field.to_string(),
            json!({"value": value, "source": r.source.as_str(), "key": r.key.as_str(), "rule": rule.name()}),
        );
    };
    let single = |f: GoldenField, get: &dyn Fn(&Record) -> Option<String>| {
        let cands: Vec<Candidate<'_, String>> = members
            .iter()
            .filter_map(|r| get(r).map(|value| Candidate { value, record: r }))
            .collect();
        let rule = s.rule(f);
        choose(
            s,
            rule,
            &cands,
            |v| crate::standardize::fold::fold(v),
            |v| v.chars().count(),
        )
        .map(|c| (c, rule))
    };
    let given = single(GoldenField::GivenName, &|r| text(&r.given_name));
    let middle = single(GoldenField::MiddleName, &|r| text(&r.middle_name));
    let family = single(GoldenField::FamilyName, &|r| text(&r.family_name));
    let dob = single(GoldenField::DateOfBirth, &|r| {
        r.date_of_birth.map(|d| d.to_string())
    });
    let national = single(GoldenField::NationalId, &|r| text(&r.national_id));
    let multi = |f: GoldenField, get: &dyn Fn(&Record) -> Vec<String>| {
        let cands: Vec<Candidate<'_, String>> = members
            .iter()
            .flat_map(|r| {
                get(r)
                    .into_iter()
                    .map(move |value| Candidate { value, record: r })
            })
            .collect();
        let rule = s.rule(f);
        choose(s, rule, &cands, |v| v.to_lowercase(), |v| v.len()).map(|c| (c, rule))
    };
    let email = multi(GoldenField::Email, &|r| {
        r.emails.iter().map(|e| e.to_string()).collect()
    });
    let phone = multi(GoldenField::Phone, &|r| {
        r.phones.iter().map(|p| p.to_string()).collect()
    });
    // The address survives as a whole: a street from one record and a city from another would
    // describe a place where nobody lives.
    let address = {
        let cands: Vec<Candidate<'_, String>> = members
            .iter()
            .filter(|r| r.street.is_some() || r.city.is_some() || r.postcode.is_some())
            .map(|r| Candidate {
                value: [&r.street, &r.unit, &r.city, &r.region, &r.postcode]
                    .iter()
                    .filter_map(|v| v.as_deref())
                    .collect::<Vec<_>>()
                    .join(" "),
                record: r,
            })
            .collect();
        let rule = s.rule(GoldenField::Address);
        choose(
            s,
            rule,
            &cands,
            |v| crate::standardize::fold::fold(v),
            |v| v.len(),
        )
        .map(|c| (c.record, rule))
    };

    for (name, chosen) in [
        ("given_name", &given),
        ("middle_name", &middle),
        ("family_name", &family),
        ("date_of_birth", &dob),
        ("email", &email),
        ("phone", &phone),
        ("national_id", &national),
    ] {
        if let Some((c, rule)) = chosen {
            note(name, &c.value, c.record, *rule);
        }
    }
    let (street, unit, city, region, postcode, country) = match address {
        Some((r, rule)) => {
            for (name, v) in [
                ("street", &r.street),
                ("unit", &r.unit),
                ("city", &r.city),
                ("region", &r.region),
                ("postcode", &r.postcode),
                ("country", &r.country),
            ] {
                if let Some(v) = v {
                    note(name, v, r, rule);
                }
            }
            (
                text(&r.street),
                text(&r.unit),
                text(&r.city),
                text(&r.region),
                text(&r.postcode),
                text(&r.country),
            )
        }
        None => (None, None, None, None, None, None),
    };
    let value =
        |c: &Option<(Candidate<'_, String>, Rule)>| c.as_ref().map(|(c, _)| c.value.clone());
    let (g, m, f) = (value(&given), value(&middle), value(&family));
    let full_name = {
        let parts: Vec<&str> = [&g, &m, &f].iter().filter_map(|p| p.as_deref()).collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    };
    let count = |k: RecordKind| members.iter().filter(|r| r.kind() == k).count() as i64;
    let lineage = serde_json::Value::Object(lineage);
    let mut row = GoldenRow {
        golden_id: String::new(),
        given_name: g,
        middle_name: m,
        family_name: f,
        full_name,
        date_of_birth: dob.as_ref().and_then(|(c, _)| c.value.parse().ok()),
        email: value(&email),
        phone: value(&phone),
        street,
        unit,
        city,
        region,
        postcode,
        country,
        national_id: value(&national),
        record_count: members.len() as i64,
        customer_records: count(RecordKind::Customer),
        billing_accounts: count(RecordKind::Billing),
        orders: count(RecordKind::Fulfilment),
        lineage,
        content_hash: 0,
        created_seq: 0,
        created_run: String::new(),
        updated_run: String::new(),
        created_at: DateTime::<Utc>::UNIX_EPOCH,
        updated_at: DateTime::<Utc>::UNIX_EPOCH,
    };
    row.content_hash = golden_hash(&row);
    row
}

/// Hash of what a reader sees of a golden record (not its timestamps or run IDs).
fn golden_hash(g: &GoldenRow) -> i64 {
    let view = (
        &g.given_name,
        &g.middle_name,
        &g.family_name,
        &g.date_of_birth,
        &g.email,
        &g.phone,
        (
            &g.street,
            &g.unit,
            &g.city,
            &g.region,
            &g.postcode,
            &g.country,
        ),
        &g.national_id,
        (
            g.record_count,
            g.customer_records,
            g.billing_accounts,
            g.orders,
        ),
        &g.lineage,
    );
    let bytes = serde_json::to_vec(&view).unwrap_or_default();
    xxhash_rust::xxh3::xxh3_64(&bytes) as i64
}

/// Builds the golden records of all clusters and what must change in the store.
/// `pulled` lists the sources read in full this run: their records missing now are gone.
#[allow(clippy::too_many_arguments)]
pub fn build<'a>(
    records: &'a [Record],
    hashes: &[i64],
    clusters: &'a [Vec<u32>],
    previous: &Previous<'_>,
    survivorship: &'a Survivorship,
    pulled: &HashSet<String>,
    run_id: &str,
    now: DateTime<Utc>,
) -> GoldenBuild<'a> {
    let keys: Vec<SourceKey> = records.iter().map(Record::source_key).collect();
    let prev_ids: Vec<Vec<Option<&str>>> = clusters
        .iter()
        .map(|members| {
            members
                .iter()
                .map(|&r| {
                    previous
                        .xref
                        .get(&keys[r as usize])
                        .map(|(g, _)| g.as_str())
                        .filter(|g| previous.golden.contains_key(*g))
                })
                .collect()
        })
        .collect();
    let age = |id: &str| {
        previous
            .golden
            .get(id)
            .map(|g| g.created_seq)
            .unwrap_or(i64::MAX)
    };
    let mut all_previous: Vec<&str> = previous.golden.keys().map(String::as_str).collect();
    all_previous.sort_unstable();
    let assignment = assign(&prev_ids, &age, &all_previous, previous.next_seq);

    // Only the content hash is kept here; rows are rebuilt when written.
    let hashes_of_clusters: Vec<i64> = clusters
        .par_iter()
        .map(|members| {
            let rs: Vec<&Record> = members.iter().map(|&r| &records[r as usize]).collect();
            survive(survivorship, &rs).content_hash
        })
        .collect();

    let mut counts = GoldenCounts::default();
    let mut items = Vec::new();
    for (c, hash) in hashes_of_clusters.into_iter().enumerate() {
        let id = &assignment.ids[c];
        let (created_seq, created) = match previous.golden.get(id) {
            Some(prev) if prev.content_hash == hash => {
                counts.unchanged += 1;
                continue;
            }
            Some(prev) => {
                counts.updated += 1;
                (
                    prev.created_seq,
                    Some((prev.created_run.clone(), prev.created_at)),
                )
            }
            None => {
                counts.created += 1;
                (id[1..].parse().unwrap_or(0), None)
            }
        };
        items.push(Upsert {
            cluster: c as u32,
            created_seq,
            created,
        });
    }

    let mut deletes: Vec<String> = assignment.deleted.clone();
    let mut redirects = Vec::new();
    for (old, new) in &assignment.merged {
        deletes.push(old.clone());
        redirects.push(Redirect {
            old_id: old.clone(),
            new_id: new.clone(),
            reason: "merged".into(),
        });
    }
    counts.deleted = assignment.deleted.len() as u64;
    counts.merged = assignment.merged.len() as u64;
    counts.split = assignment.split.len() as u64;

    let mut golden_of = vec![0u32; records.len()];
    for (c, members) in clusters.iter().enumerate() {
        for &r in members {
            golden_of[r as usize] = c as u32;
        }
    }
    let mut staged = Vec::new();
    let mut present: HashSet<&SourceKey> = HashSet::with_capacity(records.len());
    for (r, record) in records.iter().enumerate() {
        let golden_id = &assignment.ids[golden_of[r] as usize];
        present.insert(&keys[r]);
        match previous.xref.get(&keys[r]) {
            Some((g, h)) if *h == hashes[r] && g == golden_id => {}
            Some((_, h)) if *h == hashes[r] => staged.push(StagedChange::Regolden {
                key: keys[r].clone(),
                golden_id: golden_id.clone(),
            }),
            _ => staged.push(StagedChange::Upsert {
                record,
                golden_id: golden_id.clone(),
                content_hash: hashes[r],
            }),
        }
    }
    let mut gone: Vec<&SourceKey> = previous
        .xref
        .keys()
        .filter(|k| pulled.contains(k.source.as_str()) && !present.contains(k))
        .collect();
    gone.sort();
    staged.extend(
        gone.into_iter()
            .map(|k| StagedChange::Delete { key: k.clone() }),
    );

    GoldenBuild {
        ids: assignment.ids.clone(),
        upserts: Upserts {
            records,
            clusters,
            survivorship,
            ids: assignment.ids.clone(),
            items,
            run_id: run_id.to_string(),
            now,
        },
        deletes,
        redirects,
        staged,
        next_seq: assignment.next_seq,
        counts,
        assignment,
    }
}

#[cfg(test)]
mod tests;
