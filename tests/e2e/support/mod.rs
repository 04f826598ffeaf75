//! Helpers shared by the end-to-end tests: run the real binary, read what it printed, make
//! throwaway stores and names, reach the local servers, and create databases on them that are
//! dropped whatever way the test ends.

mod binary;
mod output;
mod scratch;
mod servers;
mod test_db;

pub use binary::{evaluate, gild, root, run, Background};
pub use output::{json, precision_recall, stderr, stdout};
pub use scratch::{demo_connectors, sqlite_store, unique};
pub use servers::{server_url, skip};
pub use test_db::{with_database, TestDb};
