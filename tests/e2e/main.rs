//! gild's end-to-end tests, one test binary: each module drives the real `gild` binary (and, for
//! the API, the library's router) against `fixtures/` and, when their URLs are set, the real
//! PostgreSQL and MariaDB servers. One binary links once instead of once per file; the tests in it
//! run in parallel in one process, so each works in its own temporary folder, store and database,
//! listens on a port the system picks, and passes settings to the processes it starts, never
//! through this process's environment or working directory.

mod support;

mod api;
mod api_limits;
mod bad_input;
mod conflicts;
mod defaults;
mod demo_sync;
mod golden_search;
mod incremental;
mod lifecycle;
mod logging;
mod matching;
mod privacy;
mod quality;
mod recovery;
mod review_tty;
mod servers;
mod test_db;
mod watermark;
mod worker;
