//! A lease in the store that keeps two runs from publishing at once, across processes and hosts.
//! A holder that dies stops renewing, and its lease expires; a holder provably gone (its host is
//! this machine and its process no longer exists) is taken over at once instead.

use super::{now, on_pool, Doing, Store, StoreError};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::task::JoinHandle;

pub const SYNC_LOCK: &str = "sync";

/// Holds the lease and renews it in the background until dropped or released.
pub struct LockGuard {
    store: Store,
    name: String,
    holder: String,
    renewer: Option<JoinHandle<()>>,
}

impl Store {
    /// Takes the named lease for `ttl`, or says who holds it.
    pub async fn acquire_lock(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LockGuard, StoreError> {
        if !self.try_lease(name, holder, ttl).await? && !self.take_over(name, holder, ttl).await? {
            let current: Option<(String, DateTime<Utc>)> = on_pool!(self, pool => {
                sqlx::query_as("SELECT holder, expires_at FROM run_locks WHERE name = $1")
                    .bind(name)
                    .fetch_optional(pool)
                    .await
                    .doing("reading the sync lock")?
            });
            let (holder, until) = current.unwrap_or_else(|| ("unknown".into(), now()));
            return Err(StoreError::Locked {
                holder,
                until: until.to_rfc3339(),
            });
        }
        let renewer = {
            let store = self.clone();
            let (name, holder) = (name.to_string(), holder.to_string());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(ttl / 3);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if let Err(e) = store.try_lease(&name, &holder, ttl).await {
                        tracing::warn!(error = %e, "could not renew the sync lease");
                    }
                }
            })
        };
        Ok(LockGuard {
            store: self.clone(),
            name: name.to_string(),
            holder: holder.to_string(),
            renewer: Some(renewer),
        })
    }

    /// Takes or renews the lease if it is free, expired or already ours; records this process
    /// (host and PID) as the holder, so that others can tell when it is gone.
    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (at, until) = lease_from_now(ttl);
        let got: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO run_locks (name, holder, acquired_at, expires_at, host, pid) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, \
                 expires_at = excluded.expires_at, host = excluded.host, pid = excluded.pid \
                 WHERE run_locks.expires_at < $3 OR run_locks.holder = $2 \
                 RETURNING holder",
            )
            .bind(name)
            .bind(holder)
            .bind(at)
            .bind(until)
            .bind(crate::runtime::this_host())
            .bind(i64::from(std::process::id()))
            .fetch_optional(pool)
            .await
            .doing("taking the sync lock")?
        });
        Ok(got.is_some())
    }

    /// Takes over a lease whose holder is provably gone (same host, its process no longer
    /// exists) without waiting for it to expire. The update names the old holder, so that of two
    /// processes taking over at once only one succeeds.
    async fn take_over(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let current: Option<(String, Option<String>, Option<i64>)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT holder, host, pid FROM run_locks WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
                .doing("reading the sync lock")?
        });
        let Some((old, Some(host), Some(pid))) = current else {
            return Ok(false);
        };
        if !crate::runtime::process_gone(&host, pid) {
            return Ok(false);
        }
        let (at, until) = lease_from_now(ttl);
        let taken = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE run_locks SET holder = $1, acquired_at = $2, expires_at = $3, host = $4, pid = $5 \
                 WHERE name = $6 AND holder = $7 AND host = $8 AND pid = $9",
            )
            .bind(holder)
            .bind(at)
            .bind(until)
            .bind(crate::runtime::this_host())
            .bind(i64::from(std::process::id()))
            .bind(name)
            .bind(&old)
            .bind(&host)
            .bind(pid)
            .execute(pool)
            .await
            .doing("taking over the sync lock")?
            .rows_affected()
        });
        if taken == 1 {
            tracing::info!(lease = name, previous = %old, "took over the lease of a process that is gone");
        }
        Ok(taken == 1)
    }
}

impl LockGuard {
    pub async fn release(mut self) -> Result<(), StoreError> {
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
        on_pool!(&self.store, pool => {
            sqlx::query("DELETE FROM run_locks WHERE name = $1 AND holder = $2")
                .bind(&self.name)
                .bind(&self.holder)
                .execute(pool)
                .await
                .doing("releasing the sync lock")?;
        });
        Ok(())
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Not released explicitly (a panic or cancellation): stop renewing and let the lease lapse.
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
    }
}

/// Now, and when a lease taken now for `ttl` lapses (ten minutes if `ttl` is out of range).
fn lease_from_now(ttl: Duration) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = now();
    (
        at,
        at + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(10)),
    )
}
