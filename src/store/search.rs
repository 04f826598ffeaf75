//! Reads for the read API (`gild serve`): one customer as a JSON document, customer search on
//! indexed columns, a health probe, and samples for the load client.
//!
//! A customer document has the shape of [`GoldenView`](super::GoldenView), but lineage and the
//! linked source records are passed through as the stored JSON text: the hot path of the API
//! never parses a record only to print it again.

use super::{on_pool, Doing, GoldenSummary, Store, StoreError};
use crate::golden::{GoldenColumn, GoldenRecord};
use crate::record::{RecordKind, SourceKey};
use serde_json::value::RawValue;
use std::sync::LazyLock;

/// A linked source record, its canonical JSON as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RawLinkedRecord {
    pub source: String,
    pub key: String,
    pub kind: RecordKind,
    pub record: Box<RawValue>,
}

/// One golden customer as the API serves it, its lineage the stored JSON text.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CustomerDocument {
    #[serde(flatten)]
    pub golden: GoldenRecord<Box<RawValue>>,
    pub records: Vec<RawLinkedRecord>,
    /// Set when the ID asked for was merged into this one.
    pub redirected_from: Option<String>,
    /// Fields on which its records disagree, as the stewards' queue has them (not resolved).
    pub conflicts: Vec<DocumentConflict>,
}

/// A field conflict in a customer document.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocumentConflict {
    /// The queue item: `C7`.
    pub item: String,
    pub field: String,
    pub status: String,
    /// Why the value shown won.
    pub reason: String,
    /// [{value, columns, records, won}], as stored.
    pub values: Box<RawValue>,
}

/// A customer's field conflicts for its document, by field: (item_id, field, status, reason,
/// competing values as JSON text). `$2` is the resolved status, left out.
pub(super) const DOCUMENT_CONFLICTS: &str =
    "SELECT item_id, field, status, reason, CAST(competing AS TEXT) FROM conflict_items \
     WHERE golden_id = $1 AND status <> $2 ORDER BY field";

pub(super) type ConflictRow = (i64, String, String, String, String);

pub(super) fn document_conflicts(
    rows: Vec<ConflictRow>,
) -> Result<Vec<DocumentConflict>, StoreError> {
    rows.into_iter()
        .map(|(item, field, status, reason, values)| {
            Ok(DocumentConflict {
                item: format!("C{item}"),
                field,
                status,
                reason,
                values: raw_json(values, "conflict_items.competing")?,
            })
        })
        .collect()
}

/// Search criteria, already normalised by the caller; every criterion given must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerSearch {
    /// Compared case-insensitively.
    pub email: Option<String>,
    /// Any of these exact forms (the number as given and its E.164 forms).
    pub phones: Vec<String>,
    /// Compared case-insensitively.
    pub family_name: Option<String>,
    /// Compared case-insensitively; only with `family_name`.
    pub given_name: Option<String>,
    /// Compared ignoring case and spaces.
    pub postcode: Option<String>,
}

impl CustomerSearch {
    pub fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.phones.is_empty()
            && self.family_name.is_none()
            && self.given_name.is_none()
            && self.postcode.is_none()
    }
}

/// A search result's columns, in [`GoldenSummary`]'s order (the direct reads decode by position).
pub(super) const SUMMARY_COLUMNS: &str =
    "golden_id, full_name, date_of_birth, email, phone, city, postcode, \
    record_count, billing_accounts, orders";

/// The search as SQL: every criterion's texts bound as `$1`.. in order, then the limit. Each
/// criterion compares with the expression an index of migration 0003 (or 0001) is on. None when
/// there is nothing to search for.
pub(super) fn search_sql(search: &CustomerSearch) -> Option<(String, Vec<String>)> {
    if search.is_empty() {
        return None;
    }
    let mut sql = format!("SELECT {SUMMARY_COLUMNS} FROM golden_customers WHERE 1 = 1");
    let mut texts: Vec<String> = Vec::new();
    let bind = |texts: &mut Vec<String>, text: &str| -> String {
        texts.push(text.to_string());
        format!("${}", texts.len())
    };
    if let Some(email) = &search.email {
        let p = bind(&mut texts, email);
        sql += &format!(" AND LOWER(email) = LOWER({p})");
    }
    if !search.phones.is_empty() {
        let list: Vec<String> = search.phones.iter().map(|p| bind(&mut texts, p)).collect();
        sql += &format!(" AND phone IN ({})", list.join(", "));
    }
    if let Some(family) = &search.family_name {
        let p = bind(&mut texts, family);
        sql += &format!(" AND LOWER(family_name) = LOWER({p})");
    }
    if let Some(given) = &search.given_name {
        let p = bind(&mut texts, given);
        sql += &format!(" AND LOWER(given_name) = LOWER({p})");
    }
    if let Some(postcode) = &search.postcode {
        let p = bind(&mut texts, postcode);
        sql += &format!(" AND UPPER(REPLACE(postcode, ' ', '')) = UPPER(REPLACE({p}, ' ', ''))");
    }
    sql += &format!(" ORDER BY golden_id LIMIT ${}", texts.len() + 1);
    Some((sql, texts))
}

/// Golden IDs, source keys and e-mails picked at random, for a load test's request mix.
#[derive(Debug, Clone, Default)]
pub struct LookupSample {
    pub golden_ids: Vec<String>,
    pub source_keys: Vec<SourceKey>,
    pub emails: Vec<String>,
}

/// (source, record_key)
type KeyRow = (String, String);

/// A golden record's columns in [`GoldenRecord`]'s order (the direct reads decode by
/// position), its lineage as text. Both branches alias golden_customers as `g`: `created_at` is
/// also a column of the redirects.
pub(super) fn customer_columns() -> String {
    format!(
        "g.golden_id, {}, g.full_name, g.record_count, g.customer_records, g.billing_accounts, g.orders, \
         g.created_run, g.updated_run, g.created_at, g.updated_at, CAST(g.lineage AS TEXT) AS lineage",
        GoldenColumn::list("g.{}")
    )
}

/// The customer that the query `asked` names, merged IDs followed (the ID itself first, as
/// `resolve_golden_id`), joined with its linked records. One statement, so one round trip to
/// the store per look-up: with SQLite every statement is a hop to sqlx's connection thread and
/// back, and those hops, not SQLite, were most of a look-up's time.
fn document_sql(asked: &str) -> String {
    format!(
        "WITH asked(id) AS ({asked}), \
         current_id(id) AS (SELECT golden_id FROM golden_customers WHERE golden_id = (SELECT id FROM asked) \
             UNION ALL SELECT new_id FROM golden_redirects WHERE old_id = (SELECT id FROM asked) LIMIT 1) \
         SELECT (SELECT id FROM asked) AS asked_id, {}, \
             s.source, s.record_key, s.record_kind, CAST(s.record AS TEXT) AS record \
         FROM current_id c JOIN golden_customers g ON g.golden_id = c.id \
         LEFT JOIN source_records s ON s.golden_id = g.golden_id \
         ORDER BY s.record_kind, s.source, s.record_key",
        customer_columns()
    )
}

pub(super) static BY_GOLDEN_ID: LazyLock<String> =
    LazyLock::new(|| document_sql("SELECT CAST($1 AS TEXT)"));
pub(super) static BY_SOURCE_KEY: LazyLock<String> = LazyLock::new(|| {
    document_sql("SELECT golden_id FROM source_records WHERE source = $1 AND record_key = $2")
});

/// A golden customer (repeated), its lineage as stored, with one of its linked records.
#[derive(sqlx::FromRow)]
pub(super) struct DocumentRow {
    pub asked_id: Option<String>,
    #[sqlx(flatten)]
    pub golden: GoldenRecord<String>,
    pub source: Option<String>,
    pub record_key: Option<String>,
    pub record_kind: Option<RecordKind>,
    pub record: Option<String>,
}

fn raw_json(text: String, what: &str) -> Result<Box<RawValue>, StoreError> {
    RawValue::from_string(text).map_err(|_| StoreError::Corrupt(format!("{what} is not JSON")))
}

pub(super) fn document_of(rows: Vec<DocumentRow>) -> Result<Option<CustomerDocument>, StoreError> {
    let mut rows = rows.into_iter();
    let Some(first) = rows.next() else {
        return Ok(None);
    };
    let mut records = Vec::new();
    let mut push = |row: DocumentRow| -> Result<(), StoreError> {
        if let (Some(source), Some(key), Some(kind), Some(record)) =
            (row.source, row.record_key, row.record_kind, row.record)
        {
            records.push(RawLinkedRecord {
                source,
                key,
                kind,
                record: raw_json(record, "source_records.record")?,
            });
        }
        Ok(())
    };
    let mut golden = first.golden.clone();
    let asked = first.asked_id.clone();
    push(first)?;
    for row in rows {
        push(row)?;
    }
    let lineage = raw_json(
        std::mem::take(&mut golden.lineage),
        "golden_customers.lineage",
    )?;
    let redirected_from = asked.filter(|a| *a != golden.golden_id);
    Ok(Some(CustomerDocument {
        golden: golden.map_lineage(|_| lineage),
        records,
        redirected_from,
        conflicts: Vec::new(),
    }))
}

impl Store {
    /// One golden customer with lineage and linked records; `id` may be an old, merged ID.
    pub async fn customer_document(
        &self,
        id: &str,
    ) -> Result<Option<CustomerDocument>, StoreError> {
        let rows: Vec<DocumentRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(BY_GOLDEN_ID.as_str()))
                .bind(id)
                .fetch_all(pool)
                .await
                .doing("reading a golden customer")?
        });
        self.with_conflicts(document_of(rows)?).await
    }

    /// The document with its customer's field conflicts.
    async fn with_conflicts(
        &self,
        doc: Option<CustomerDocument>,
    ) -> Result<Option<CustomerDocument>, StoreError> {
        let Some(mut doc) = doc else {
            return Ok(None);
        };
        let rows: Vec<ConflictRow> = on_pool!(self, pool => {
            sqlx::query_as(DOCUMENT_CONFLICTS)
                .bind(doc.golden.golden_id.as_str())
                .bind(crate::store::ConflictStatus::Resolved)
                .fetch_all(pool)
                .await
                .doing("reading a golden customer's field conflicts")?
        });
        doc.conflicts = document_conflicts(rows)?;
        Ok(Some(doc))
    }

    /// The golden customer a source record belongs to (merged IDs followed), as
    /// [`customer_document`](Self::customer_document); None when the record is unknown or
    /// belongs to no customer.
    pub async fn customer_document_by_key(
        &self,
        key: &SourceKey,
    ) -> Result<Option<CustomerDocument>, StoreError> {
        let rows: Vec<DocumentRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(BY_SOURCE_KEY.as_str()))
                .bind(key.source.as_str())
                .bind(key.key.as_str())
                .fetch_all(pool)
                .await
                .doing("reading a source record's golden customer")?
        });
        self.with_conflicts(document_of(rows)?).await
    }

    /// Golden customers matching every given criterion, by golden ID, at most `limit`.
    /// Each criterion compares with the expression an index of migration 0003 (or 0001) is on.
    pub async fn search_customers(
        &self,
        search: &CustomerSearch,
        limit: i64,
    ) -> Result<Vec<GoldenSummary>, StoreError> {
        let Some((sql, texts)) = search_sql(search) else {
            return Ok(Vec::new());
        };
        let rows: Vec<GoldenSummary> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
            for text in &texts {
                query = query.bind(text.as_str());
            }
            query
                .bind(limit)
                .fetch_all(pool)
                .await
                .doing("searching golden customers")?
        });
        Ok(rows)
    }

    /// Is the store there and answering?
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .doing("checking the store")?;
        });
        Ok(())
    }

    /// Up to `n` each of golden IDs, source keys and e-mails, picked at random.
    pub async fn sample_lookups(&self, n: i64) -> Result<LookupSample, StoreError> {
        let (ids, keys, emails): (Vec<(String,)>, Vec<KeyRow>, Vec<(String,)>) = on_pool!(self, pool => {
            let ids = sqlx::query_as("SELECT golden_id FROM golden_customers ORDER BY RANDOM() LIMIT $1")
                .bind(n)
                .fetch_all(pool)
                .await
                .doing("sampling golden ids")?;
            let keys = sqlx::query_as(
                "SELECT source, record_key FROM source_records WHERE golden_id IS NOT NULL ORDER BY RANDOM() LIMIT $1",
            )
            .bind(n)
            .fetch_all(pool)
            .await
            .doing("sampling source keys")?;
            let emails = sqlx::query_as(
                "SELECT email FROM golden_customers WHERE email IS NOT NULL ORDER BY RANDOM() LIMIT $1",
            )
            .bind(n)
            .fetch_all(pool)
            .await
            .doing("sampling e-mails")?;
            (ids, keys, emails)
        });
        Ok(LookupSample {
            golden_ids: ids.into_iter().map(|r| r.0).collect(),
            source_keys: keys
                .into_iter()
                .map(|(s, k)| SourceKey::new(s, k))
                .collect(),
            emails: emails.into_iter().map(|r| r.0).collect(),
        })
    }
}
