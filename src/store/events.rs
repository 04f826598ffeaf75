//! The change feed: every golden create, update, merge, split and delete, with a monotonic
//! sequence number, so that other systems can follow along from a cursor.

use super::{like, on_pool, Doing, Store, StoreError};
use crate::golden::{EventKind, NewEvent};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

/// An event as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GoldenEvent {
    pub seq: i64,
    pub kind: EventKind,
    pub golden_id: String,
    pub related_ids: Vec<String>,
    pub changes: serde_json::Value,
    pub run_id: Option<String>,
    pub audit_id: Option<i64>,
    pub occurred_at: DateTime<Utc>,
}

type EventRow = (
    i64,
    EventKind,
    String,
    String,
    Json<serde_json::Value>,
    Option<String>,
    Option<i64>,
    DateTime<Utc>,
    // The golden record's lineage and record count, for a created event that shares them.
    Option<Json<serde_json::Value>>,
    Option<i64>,
);

fn event_of(row: EventRow) -> Result<GoldenEvent, StoreError> {
    let (
        seq,
        kind,
        golden_id,
        related,
        Json(changes),
        run_id,
        audit_id,
        occurred_at,
        lineage,
        count,
    ) = row;
    let related_ids = serde_json::from_str(&related)
        .map_err(|_| StoreError::Corrupt(format!("golden_events.related_ids of seq {seq}")))?;
    let changes = match (changes, lineage, count) {
        (serde_json::Value::Null, Some(Json(lineage)), Some(count)) if kind == EventKind::Created => {
            lineage_changes(None, Some((&lineage, count)))
        }
        (serde_json::Value::Null, _, _) if kind == EventKind::Created => {
            return Err(StoreError::Corrupt(format!(
                "created event {seq} shares the lineage of golden customer {golden_id}, which is not stored"
            )))
        }
        (changes, _, _) => changes,
    };
    Ok(GoldenEvent {
        seq,
        kind,
        golden_id,
        related_ids,
        changes,
        run_id,
        audit_id,
        occurred_at,
    })
}

/// The events as stored, with the lineage a shared created change set stands for (see
/// `CreatedChanges`): the SQLite store's triggers write it out before that lineage changes.
const EVENTS_FROM: &str = "SELECT e.seq, e.kind, e.golden_id, e.related_ids, e.changes, e.run_id, e.audit_id, e.occurred_at, \
     g.lineage, g.record_count \
     FROM golden_events e LEFT JOIN golden_customers g \
     ON e.kind = 'created' AND e.changes = 'null' AND g.golden_id = e.golden_id";

/// Writes events inside an open transaction (`$tx`), in order; binds stay under the engines'
/// limits.
macro_rules! insert_events {
    ($tx:expr, $events:expr, $run:expr, $audit:expr, $at:expr) => {{
        let events: &[$crate::store::events::EncodedEvent] = $events;
        let run: Option<&str> = $run;
        let audit: Option<i64> = $audit;
        let at: chrono::DateTime<chrono::Utc> = $at;
        $crate::store::chunked_writes::write_chunks!($tx, events.chunks(2_000), "writing the change feed", |chunk| {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO golden_events (kind, golden_id, related_ids, changes, run_id, audit_id, occurred_at) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.kind.as_str())
                    .push_bind(e.golden_id.as_str())
                    .push_bind(serde_json::to_string(&e.related_ids).unwrap_or_else(|_| "[]".into()))
                    .push_bind(sqlx::types::Json(&*e.changes))
                    .push_bind(run)
                    .push_bind(audit)
                    .push_bind(at);
            });
            qb
        });
    }};
}
pub(crate) use insert_events;

impl Store {
    /// Events after `after` (a cursor: the last seq the reader saw; 0 for the start), oldest first.
    pub async fn changes_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<GoldenEvent>, StoreError> {
        let sql = format!("{EVENTS_FROM} WHERE e.seq > $1 ORDER BY e.seq LIMIT $2");
        let rows: Vec<EventRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await
                .doing("reading the change feed")?
        });
        rows.into_iter().map(event_of).collect()
    }

    /// Every event that names `golden_id`, oldest first: its full history.
    pub async fn golden_history(&self, golden_id: &str) -> Result<Vec<GoldenEvent>, StoreError> {
        let sql =
            format!("{EVENTS_FROM} WHERE e.golden_id = $1 OR e.related_ids LIKE $2 ESCAPE '\\' ORDER BY e.seq");
        let quoted = like::containing(&serde_json::Value::from(golden_id).to_string());
        let rows: Vec<EventRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(golden_id)
                .bind(quoted)
                .fetch_all(pool)
                .await
                .doing("reading a golden record's history")?
        });
        rows.into_iter().map(event_of).collect()
    }

    /// The newest event's seq (0 when there is none).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        let (seq,): (Option<i64>,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT MAX(seq) FROM golden_events")
                .fetch_one(pool)
                .await
                .doing("reading the change feed's head")?
        });
        Ok(seq.unwrap_or(0))
    }
}

/// What changed between two stored versions of a golden record, field by field, from their
/// lineage ({field: {value, source, key, rule}}) and record counts: `{field: {before, after,
/// source, key, rule}}`, the source and rule being the new value's. A field whose value stayed but
/// now comes from another record is a change too: lineage is history.
pub fn lineage_changes(
    before: Option<(&serde_json::Value, i64)>,
    after: Option<(&serde_json::Value, i64)>,
) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let empty = Map::new();
    let old = before.and_then(|(l, _)| l.as_object()).unwrap_or(&empty);
    let new = after.and_then(|(l, _)| l.as_object()).unwrap_or(&empty);
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    let mut out = Map::new();
    for name in names {
        let (o, n) = (old.get(name), new.get(name));
        if o == n {
            continue;
        }
        let value = |x: Option<&Value>| {
            x.and_then(|x| x.get("value"))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let mut change = json!({"before": value(o), "after": value(n)});
        if let Some(n) = n {
            for k in ["source", "key", "rule"] {
                change[k] = n.get(k).cloned().unwrap_or(Value::Null);
            }
        }
        out.insert(name.clone(), change);
    }
    let (nb, na) = (before.map(|b| b.1), after.map(|a| a.1));
    if nb != na {
        out.insert("record_count".into(), json!({"before": nb, "after": na}));
    }
    Value::Object(out)
}

/// An event whose changes are already JSON text, as `insert_events!` writes it.
pub(crate) struct EncodedEvent {
    pub kind: EventKind,
    pub golden_id: String,
    pub related_ids: Vec<String>,
    pub changes: Box<serde_json::value::RawValue>,
}

/// Events with their change sets encoded on all cores.
pub(crate) fn encode_events(events: &[NewEvent]) -> Result<Vec<EncodedEvent>, StoreError> {
    let changes = super::chunked_writes::encode_json(events, |e| &e.changes)?;
    Ok(events
        .iter()
        .zip(changes)
        .map(|(e, changes)| EncodedEvent {
            kind: e.kind,
            golden_id: e.golden_id.clone(),
            related_ids: e.related_ids.clone(),
            changes,
        })
        .collect())
}

/// `lineage_changes(None, Some((lineage, record_count)))` written straight to JSON text: a
/// first sync creates every golden record, and building each change set as a JSON tree only to
/// write it out and free it cost more than SQLite took to store it.
pub(crate) fn created_changes_json(
    lineage: &crate::golden::Lineage,
    record_count: i64,
) -> Result<Box<serde_json::value::RawValue>, serde_json::Error> {
    use crate::golden::FieldOrigin;
    use serde::ser::{SerializeMap, Serializer};

    struct Created<'a> {
        lineage: &'a crate::golden::Lineage,
        record_count: i64,
    }
    struct Field<'a>(&'a FieldOrigin);
    impl serde::Serialize for Field<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(5))?;
            map.serialize_entry("after", self.0.value.as_str())?;
            map.serialize_entry("before", &())?;
            map.serialize_entry("key", self.0.key.as_str())?;
            map.serialize_entry("rule", self.0.rule.name())?;
            map.serialize_entry("source", self.0.source.as_str())?;
            map.end()
        }
    }
    struct Count(i64);
    impl serde::Serialize for Count {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(2))?;
            map.serialize_entry("after", &self.0)?;
            map.serialize_entry("before", &())?;
            map.end()
        }
    }
    impl serde::Serialize for Created<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            // Field names in order, with record_count in its alphabetical place.
            let mut map = s.serialize_map(None)?;
            let mut count_written = false;
            for (field, origin) in self.lineage.iter() {
                let name = field.name();
                if !count_written && name > "record_count" {
                    map.serialize_entry("record_count", &Count(self.record_count))?;
                    count_written = true;
                }
                map.serialize_entry(name, &Field(origin))?;
            }
            if !count_written {
                map.serialize_entry("record_count", &Count(self.record_count))?;
            }
            map.end()
        }
    }

    serde_json::value::to_raw_value(&Created {
        lineage,
        record_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_created_change_set_written_directly_equals_the_built_one() {
        use crate::golden::{ChosenBy, FieldOrigin, GoldenColumn, Lineage, Rule};
        let origin = |value: &str, source: &str, key: &str, rule| FieldOrigin {
            value: value.into(),
            source: source.into(),
            key: key.into(),
            rule: ChosenBy::Rule(rule),
            supported_by: Vec::new(),
            alternates: Vec::new(),
        };
        let mut lineage = Lineage::new();
        lineage.set(
            GoldenColumn::Email,
            origin("a@x.com", "crm", "1", Rule::MostRecent),
        );
        lineage.set(
            GoldenColumn::City,
            origin("Leeds", "billing", "B7", Rule::MostFrequent),
        );
        lineage.set(
            GoldenColumn::Street,
            origin("1 \"A\" ST", "crm", "1", Rule::MostFrequent),
        );
        let built = lineage_changes(None, Some((&lineage.to_value(), 3)));
        let direct = created_changes_json(&lineage, 3).expect("encodes");
        let parsed: serde_json::Value = serde_json::from_str(direct.get()).expect("valid JSON");
        assert_eq!(parsed, built);
        assert_eq!(
            direct.get(),
            serde_json::to_string(&built).expect("encodes")
        );

        let empty = created_changes_json(&Lineage::new(), 1).expect("encodes");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(empty.get()).expect("valid JSON"),
            lineage_changes(None, Some((&json!({}), 1)))
        );
    }

    #[test]
    fn changes_name_each_changed_field_with_its_new_lineage() {
        let old = json!({
            "email": {"value": "a@x.com", "source": "crm", "key": "1", "rule": "most_recent"},
            "city": {"value": "BOSTON", "source": "crm", "key": "1", "rule": "most_recent"},
            "phone": {"value": "+15550001", "source": "crm", "key": "1", "rule": "most_recent"},
        });
        let new = json!({
            "email": {"value": "a@y.com", "source": "billing", "key": "B7", "rule": "most_recent"},
            "city": {"value": "BOSTON", "source": "crm", "key": "1", "rule": "most_recent"},
            "street": {"value": "1 MAIN ST", "source": "crm", "key": "1", "rule": "most_recent"},
        });
        let c = lineage_changes(Some((&old, 1)), Some((&new, 2)));
        assert_eq!(
            c["email"],
            json!({"before": "a@x.com", "after": "a@y.com", "source": "billing", "key": "B7", "rule": "most_recent"})
        );
        assert_eq!(c["phone"], json!({"before": "+15550001", "after": null}));
        assert_eq!(c["street"]["before"], json!(null));
        assert!(c.get("city").is_none(), "unchanged fields are left out");
        assert_eq!(c["record_count"], json!({"before": 1, "after": 2}));
        assert_eq!(lineage_changes(Some((&old, 1)), Some((&old, 1))), json!({}));
    }
}
