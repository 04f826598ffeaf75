//! Reads for the read API (`gild serve`): one customer as a JSON document, customer search on
//! indexed columns, a health probe, and samples for the load client.
//!
//! A customer document has the shape of [`GoldenView`](super::GoldenView), but lineage and the
//! linked source records are passed through as the stored JSON text: the hot path of the API
//! never parses a record only to print it again.

use super::{on_pool, Doing, GoldenSummary, Store, StoreError};
use crate::record::SourceKey;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::value::RawValue;

/// The golden customer's own fields, as in `golden_customers`.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct CustomerFields {
    pub golden_id: String,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub family_name: Option<String>,
    pub full_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub street: Option<String>,
    pub unit: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub national_id: Option<String>,
    pub record_count: i64,
    pub customer_records: i64,
    pub billing_accounts: i64,
    pub orders: i64,
    pub created_run: String,
    pub updated_run: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub lineage: String,
}

/// A linked source record, its canonical JSON as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RawLinkedRecord {
    pub source: String,
    pub key: String,
    pub kind: String,
    pub record: Box<RawValue>,
}

/// One golden customer as the API serves it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CustomerDocument {
    #[serde(flatten)]
    pub golden: CustomerFields,
    /// field -> {value, source, key, rule}
    pub lineage: Box<RawValue>,
    pub records: Vec<RawLinkedRecord>,
    /// Set when the ID asked for was merged into this one.
    pub redirected_from: Option<String>,
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

/// Golden IDs, source keys and e-mails picked at random, for a load test's request mix.
#[derive(Debug, Clone, Default)]
pub struct LookupSample {
    pub golden_ids: Vec<String>,
    pub source_keys: Vec<SourceKey>,
    pub emails: Vec<String>,
}

/// Both branches alias golden_customers as `g`: `created_at` is also a column of the redirects.
const CUSTOMER_COLUMNS: &str = "g.golden_id, g.given_name, g.middle_name, g.family_name, g.full_name, g.date_of_birth, g.email, \
    g.phone, g.street, g.unit, g.city, g.region, g.postcode, g.country, g.national_id, g.record_count, g.customer_records, \
    g.billing_accounts, g.orders, g.created_run, g.updated_run, g.created_at, g.updated_at, CAST(g.lineage AS TEXT) AS lineage";

fn raw_json(text: String, what: &str) -> Result<Box<RawValue>, StoreError> {
    RawValue::from_string(text).map_err(|_| StoreError::Corrupt(format!("{what} is not JSON")))
}

impl Store {
    /// One golden customer with lineage and linked records; `id` may be an old, merged ID.
    /// Both reads run on one pooled connection.
    pub async fn customer_document(
        &self,
        id: &str,
    ) -> Result<Option<CustomerDocument>, StoreError> {
        // The ID itself first, else the customer it was merged into (as `resolve_golden_id`).
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM golden_customers g WHERE g.golden_id = $1 \
             UNION ALL SELECT {CUSTOMER_COLUMNS} FROM golden_redirects r JOIN golden_customers g ON g.golden_id = r.new_id \
             WHERE r.old_id = $1 LIMIT 1"
        );
        let records_sql =
            "SELECT source, record_key, record_kind, CAST(record AS TEXT) FROM source_records \
             WHERE golden_id = $1 ORDER BY record_kind, source, record_key";
        let found: Option<(CustomerFields, Vec<(String, String, String, String)>)> = on_pool!(self, pool => {
            let mut conn = pool.acquire().await.doing("opening a store connection")?;
            let golden: Option<CustomerFields> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .doing("reading a golden customer")?;
            match golden {
                None => None,
                Some(g) => {
                    let rows = sqlx::query_as(records_sql)
                        .bind(&g.golden_id)
                        .fetch_all(&mut *conn)
                        .await
                        .doing("reading linked records")?;
                    Some((g, rows))
                }
            }
        });
        let Some((mut golden, rows)) = found else {
            return Ok(None);
        };
        let lineage = raw_json(
            std::mem::take(&mut golden.lineage),
            "golden_customers.lineage",
        )?;
        let records = rows
            .into_iter()
            .map(|(source, key, kind, record)| {
                Ok(RawLinkedRecord {
                    source,
                    key,
                    kind,
                    record: raw_json(record, "source_records.record")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let redirected_from = (golden.golden_id != id).then(|| id.to_string());
        Ok(Some(CustomerDocument {
            golden,
            lineage,
            records,
            redirected_from,
        }))
    }

    /// Golden customers matching every given criterion, by golden ID, at most `limit`.
    /// Each criterion compares with the expression an index of migration 0003 (or 0001) is on.
    pub async fn search_customers(
        &self,
        search: &CustomerSearch,
        limit: i64,
    ) -> Result<Vec<GoldenSummary>, StoreError> {
        if search.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<GoldenSummary> = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT golden_id, full_name, date_of_birth, email, phone, city, postcode, record_count, billing_accounts, orders \
                 FROM golden_customers WHERE 1 = 1",
            );
            if let Some(email) = &search.email {
                qb.push(" AND LOWER(email) = LOWER(").push_bind(email.as_str()).push(")");
            }
            if !search.phones.is_empty() {
                qb.push(" AND phone IN (");
                let mut list = qb.separated(", ");
                for p in &search.phones {
                    list.push_bind(p.as_str());
                }
                qb.push(")");
            }
            if let Some(family) = &search.family_name {
                qb.push(" AND LOWER(family_name) = LOWER(").push_bind(family.as_str()).push(")");
            }
            if let Some(given) = &search.given_name {
                qb.push(" AND LOWER(given_name) = LOWER(").push_bind(given.as_str()).push(")");
            }
            if let Some(postcode) = &search.postcode {
                qb.push(" AND UPPER(REPLACE(postcode, ' ', '')) = UPPER(REPLACE(")
                    .push_bind(postcode.as_str())
                    .push(", ' ', ''))");
            }
            qb.push(" ORDER BY golden_id LIMIT ").push_bind(limit);
            qb.build_query_as()
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
        let (ids, keys, emails): (Vec<(String,)>, Vec<(String, String)>, Vec<(String,)>) = on_pool!(self, pool => {
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
