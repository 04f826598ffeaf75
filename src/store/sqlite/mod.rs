//! What only the SQLite store does, for speed. Each path does what the engine-neutral code
//! would do anyway, faster on SQLite; PostgreSQL gets the plain way (or nothing to do).
//!
//! - `allocator`: SQLite's memory from the program's own allocator.
//! - `direct_reads`: the read API's look-ups run on the calling thread, without sqlx's hop.
//! - `index_rebuild`: a table's secondary indexes set aside during a bulk write, built again after.
//! - `rollback_publish`: a large publish written with a rollback journal instead of the WAL.

mod allocator;
mod direct_reads;
mod index_rebuild;
mod rollback_publish;

pub use allocator::use_global_allocator_for_sqlite;
pub use direct_reads::DirectReads;
pub(crate) use index_rebuild::BulkIndexes;
pub(crate) use rollback_publish::{Publishing, PublishingPool};
