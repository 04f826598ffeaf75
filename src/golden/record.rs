//! The golden customer as a sync builds it and the store keeps it.

use super::lineage::Lineage;
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GoldenRow {
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
    pub lineage: Lineage,
    pub content_hash: i64,
    pub created_seq: i64,
    pub created_run: String,
    pub updated_run: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Golden rows to write, produced a slice at a time so that a million of them never sit in
/// memory at once.
pub trait GoldenRows: Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The rows at `range` (within `0..len()`).
    fn rows(&self, range: std::ops::Range<usize>) -> Vec<GoldenRow>;
}

impl GoldenRows for Vec<GoldenRow> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn rows(&self, range: std::ops::Range<usize>) -> Vec<GoldenRow> {
        self[range].to_vec()
    }
}

/// What a run needs to know about a golden customer that already exists.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PreviousGolden {
    pub golden_id: String,
    pub content_hash: i64,
    pub created_seq: i64,
    pub created_run: String,
    pub created_at: DateTime<Utc>,
}
