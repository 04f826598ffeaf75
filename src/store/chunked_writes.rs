//! Writing many rows fast, on either engine: JSON columns encoded on all cores, and each
//! chunk's statement built while the database runs the one before.

use super::StoreError;
use rayon::prelude::*;
use serde_json::value::RawValue;

/// Each item as JSON text, encoded on all cores: a bulk write's JSON columns (lineage, change
/// sets, records) cost as much to encode as SQLite takes to store them, and the statement that
/// binds them then only copies text.
pub(crate) fn encode_json<T, V, J>(items: &[T], json: J) -> Result<Vec<Box<RawValue>>, StoreError>
where
    T: Sync,
    V: serde::Serialize + ?Sized,
    J: Fn(&T) -> &V + Sync,
{
    items
        .par_iter()
        .map(|item| {
            serde_json::value::to_raw_value(json(item)).map_err(|e| {
                StoreError::Corrupt(format!("a value could not be written as JSON: {e}"))
            })
        })
        .collect()
}

/// Runs one statement per chunk inside an open transaction (`$tx`), building the next chunk's
/// statement (binding, JSON encoding) while the database runs the current one. SQLite runs a
/// statement on its connection's own thread, so building and writing overlap: on the 1M
/// benchmark's first publish the two were about equal halves of the time.
macro_rules! write_chunks {
    ($tx:expr, $chunks:expr, $doing:expr, |$chunk:ident| $build:expr) => {{
        let mut chunks = $chunks;
        let mut build_next =
            || -> Result<Option<sqlx::QueryBuilder<_>>, $crate::store::StoreError> {
                match chunks.next() {
                    Some($chunk) => Ok(Some($build)),
                    None => Ok(None),
                }
            };
        let mut current = build_next()?;
        while let Some(mut qb) = current {
            // `join` polls the statement first, which hands it to the connection's thread.
            let (written, next) =
                futures::future::join(async { qb.build().execute(&mut *$tx).await }, async {
                    build_next()
                })
                .await;
            written.doing($doing)?;
            current = next?;
        }
    }};
}
pub(crate) use write_chunks;
