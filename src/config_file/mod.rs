//! What the parser of every configuration file shares (`gild.toml`, each connector's, each
//! mapping's): problems located by file and line, and `${VAR}` expansion so that secrets stay in
//! the environment. Below the stages' own parsers, which [`crate::config`] gathers.

pub mod env;
pub mod error;

pub use error::{ConfigError, ConfigProblem};
