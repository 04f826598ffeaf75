//! Configuration: `gild.toml`, `connectors/*.toml` and `mappings/*.toml`, parsed into serde
//! structs with `deny_unknown_fields` and validated into one [`Config`] before anything runs.
//! Every problem found is reported at once, each with its file and line.

mod load;
mod schedule;

use crate::config_file::{env, error};
pub use crate::config_file::{ConfigError, ConfigProblem};
pub use schedule::parse_schedule;

use crate::api::ServerLimits;
use crate::blocking::{BlockLimits, BlockingRule, BlockingRuleConfig, LinkType};
use crate::cluster::ClusteringConfig;
use crate::compare::{Comparison, ComparisonConfig};
use crate::connectors::Connector;
use crate::decision::Thresholds;
use crate::golden::{Survivorship, SurvivorshipConfig};
use crate::model::{Training, TrainingConfig};
use crate::standardize::Mapping;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

const DEFAULT_MATCHING: &str = include_str!("default_matching.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GildFile {
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<u32>,
    #[serde(default)]
    connectors: Option<String>,
    #[serde(default)]
    mappings: Option<String>,
    #[serde(default)]
    store: StoreSection,
    #[serde(default)]
    jobs: JobsSection,
    #[serde(default)]
    matching: MatchingSection,
    #[serde(default)]
    survivorship: SurvivorshipConfig,
    #[serde(default)]
    api: ApiSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreSection {
    #[serde(default = "default_store_url")]
    url: Spanned<String>,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            url: Spanned::new(0..0, default_store_url_raw()),
        }
    }
}

fn default_store_url_raw() -> String {
    "${GILD_STORE_URL:-sqlite://gild.db}".into()
}
fn default_store_url() -> Spanned<String> {
    Spanned::new(0..0, default_store_url_raw())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct JobsSection {
    /// Where apalis keeps its queue; defaults to a SQLite file beside a SQLite store, or the
    /// PostgreSQL store itself.
    #[serde(default)]
    queue_url: Option<Spanned<String>>,
    /// Cron schedule with seconds: "0 0 2 * * *" is every night at 02:00.
    #[serde(default)]
    schedule: Option<Spanned<String>>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    retries: Option<u32>,
    #[serde(default)]
    retry_backoff_seconds: Option<u64>,
    #[serde(default)]
    poll_interval_seconds: Option<u64>,
    #[serde(default)]
    lock_ttl_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchingSection {
    #[serde(default)]
    link_type: LinkType,
    #[serde(default = "default_merge")]
    merge_threshold: Spanned<f64>,
    #[serde(default = "default_review")]
    review_threshold: Spanned<f64>,
    #[serde(default = "default_max_block")]
    max_block_records: usize,
    #[serde(default = "default_warn_pairs")]
    warn_block_pairs: u64,
    #[serde(default)]
    blocking: Vec<BlockingRuleConfig>,
    #[serde(default)]
    comparisons: Vec<ComparisonConfig>,
    #[serde(default)]
    training: Option<TrainingConfig>,
    #[serde(default)]
    clustering: ClusteringConfig,
}

impl Default for MatchingSection {
    fn default() -> Self {
        MatchingSection {
            link_type: LinkType::default(),
            merge_threshold: default_merge(),
            review_threshold: default_review(),
            max_block_records: default_max_block(),
            warn_block_pairs: default_warn_pairs(),
            blocking: Vec::new(),
            comparisons: Vec::new(),
            training: None,
            clustering: ClusteringConfig::default(),
        }
    }
}

fn default_merge() -> Spanned<f64> {
    Spanned::new(0..0, 0.95)
}
fn default_review() -> Spanned<f64> {
    Spanned::new(0..0, 0.5)
}
fn default_max_block() -> usize {
    5000
}
fn default_warn_pairs() -> u64 {
    1_000_000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultMatching {
    blocking: Vec<BlockingRuleConfig>,
    comparisons: Vec<ComparisonConfig>,
    training: TrainingConfig,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApiSection {
    /// Address `gild serve` listens on.
    #[serde(default)]
    listen: Option<Spanned<String>>,
    /// The NAME of the environment variable holding the comma-separated read tokens.
    #[serde(default)]
    tokens_env: Option<Spanned<String>>,
    /// Largest page the API returns (search results, change feed events).
    #[serde(default)]
    max_page: Option<Spanned<i64>>,
    /// Seconds a client has to send a request's line and headers.
    #[serde(default)]
    header_read_timeout_seconds: Option<Spanned<i64>>,
    /// Seconds a kept-alive connection may stay silent between requests.
    #[serde(default)]
    idle_timeout_seconds: Option<Spanned<i64>>,
    /// Seconds to answer a request.
    #[serde(default)]
    request_timeout_seconds: Option<Spanned<i64>>,
    /// Client connections open at once.
    #[serde(default)]
    max_connections: Option<Spanned<i64>>,
    /// Refused with a pointer to `tokens_env`: secrets never live in the file.
    #[serde(default)]
    tokens: Option<Spanned<toml::Value>>,
}

/// Validated scheduler and queue settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Jobs {
    pub queue_url: String,
    pub schedule: Option<String>,
    pub timezone: chrono_tz::Tz,
    pub retries: u32,
    pub retry_backoff: std::time::Duration,
    pub poll_interval: std::time::Duration,
    pub lock_ttl: std::time::Duration,
}

/// Validated matching settings.
#[derive(Debug, Clone)]
pub struct Matching {
    pub link_type: LinkType,
    pub merge_threshold: f64,
    pub review_threshold: f64,
    pub limits: BlockLimits,
    pub blocking: Vec<BlockingRule>,
    pub comparisons: Vec<Comparison>,
    pub training: Training,
    pub clustering: ClusteringConfig,
    /// gild.toml gives no comparisons, blocking or training rules: the built-in defaults are
    /// chosen from each run's data (`choose`); the rules above are the fixed fallback.
    pub choose: bool,
    /// What the built-in defaults chose, once chosen for a set of records.
    pub chosen: Option<crate::choose::Chosen>,
}

impl Matching {
    /// The merge and review thresholds as match weights.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds::new(self.merge_threshold, self.review_threshold)
    }
}

/// Validated read API settings (`gild serve`). The tokens themselves are read from the
/// environment variable `tokens_env` when the server starts, never from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    pub listen: std::net::SocketAddr,
    pub tokens_env: String,
    pub max_page: u32,
    /// Timeouts and the connection bound.
    pub limits: ServerLimits,
}

pub const DEFAULT_API_TOKENS_ENV: &str = "GILD_API_TOKENS";
pub const DEFAULT_API_MAX_PAGE: u32 = 500;
/// A page larger than this would hold one request's memory and the store for too long.
const MAX_API_PAGE: i64 = 10_000;

/// Everything gild needs to run, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub base: PathBuf,
    pub store_url: String,
    pub jobs: Jobs,
    pub connectors: Vec<Connector>,
    pub mappings: BTreeMap<String, Mapping>,
    pub matching: Matching,
    pub survivorship: Survivorship,
    pub api: Api,
}

fn read(file: &Path) -> Result<String, ConfigProblem> {
    std::fs::read_to_string(file)
        .map_err(|e| ConfigProblem::new(file, None, format!("cannot read: {e}")))
}

/// The folder relative paths in `file` start from.
fn folder_of(file: &Path) -> PathBuf {
    file.parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// The problems found while loading `gild.toml` and the files it points to, each with its file
/// and, where known, its line.
struct Problems<'a> {
    file: &'a Path,
    text: &'a str,
    found: Vec<ConfigProblem>,
}

impl<'a> Problems<'a> {
    fn new(file: &'a Path, text: &'a str) -> Self {
        Problems {
            file,
            text,
            found: Vec::new(),
        }
    }

    /// A problem in `gild.toml` at `span`; 0..0 is a default value, which has no line.
    fn at(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let problem = if span == (0..0) {
            ConfigProblem::new(self.file, None, message)
        } else {
            ConfigProblem::at_span(self.file, self.text, span, message)
        };
        self.found.push(problem);
    }

    /// A problem in `gild.toml` with no line of its own.
    fn in_file(&mut self, message: impl Into<String>) {
        self.found
            .push(ConfigProblem::new(self.file, None, message));
    }

    fn push(&mut self, problem: ConfigProblem) {
        self.found.push(problem);
    }

    fn extend(&mut self, problems: impl IntoIterator<Item = ConfigProblem>) {
        self.found.extend(problems);
    }
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigProblem> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ConfigProblem::new(dir, None, format!("cannot list the folder: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

impl Config {
    /// Loads `gild.toml` and the connector and mapping files it points to.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        Self::load_with_env(file, &env::process_env)
    }

    /// As [`load`](Self::load), with `${VAR}` taken from `env`.
    pub fn load_with_env(
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let text = read(file).map_err(ConfigError::single)?;
        let raw: GildFile = toml::from_str(&text)
            .map_err(|e| ConfigError::single(error::from_toml(file, &text, &e)))?;
        let base = folder_of(file);
        let mut problems = Problems::new(file, &text);
        let store_url = load::store_url(&raw.store, &base, env, &mut problems);
        let jobs = load::jobs_settings(&raw.jobs, &store_url, &base, env, &mut problems);
        let connectors_dir = base.join(raw.connectors.as_deref().unwrap_or("connectors"));
        let connectors = load::connectors(&connectors_dir, &base, env, &mut problems);
        let mappings_dir = base.join(raw.mappings.as_deref().unwrap_or("mappings"));
        let mappings = load::mappings(&connectors, &mappings_dir, &mut problems);
        let matching = load::matching_settings(&raw.matching, &mut problems);
        load::check_source_priority(&raw.survivorship, &connectors, &mut problems);
        let survivorship = Survivorship::from_config(&raw.survivorship);
        let api = load::api_settings(&raw.api, env, &mut problems);
        match matching {
            Some(matching) if problems.found.is_empty() => Ok(Config {
                file: file.to_path_buf(),
                base,
                store_url,
                jobs,
                connectors,
                mappings,
                matching,
                survivorship,
                api,
            }),
            _ => Err(ConfigError {
                problems: problems.found,
            }),
        }
    }

    /// The connectors `gild.toml` names and its mappings folder, for `gild init`, which writes
    /// the mappings that do not exist yet.
    pub fn load_connectors(file: &Path) -> Result<(Vec<Connector>, PathBuf), ConfigError> {
        let env = &env::process_env;
        let text = read(file).map_err(ConfigError::single)?;
        let raw: GildFile = toml::from_str(&text)
            .map_err(|e| ConfigError::single(error::from_toml(file, &text, &e)))?;
        let base = folder_of(file);
        let mut problems = Problems::new(file, &text);
        let connectors_dir = base.join(raw.connectors.as_deref().unwrap_or("connectors"));
        let connectors = load::connectors(&connectors_dir, &base, env, &mut problems);
        let mappings_dir = base.join(raw.mappings.as_deref().unwrap_or("mappings"));
        if problems.found.is_empty() {
            Ok((connectors, mappings_dir))
        } else {
            Err(ConfigError {
                problems: problems.found,
            })
        }
    }

    pub fn mapping_for(&self, c: &Connector) -> Option<&Mapping> {
        self.mappings.get(&c.mapping)
    }
}

/// apalis gets its own SQLite file beside a SQLite store (it turns fsync off and keeps its own
/// migrations); with PostgreSQL it lives in its own schema of the store's database.
pub fn default_queue_url(store_url: &str) -> String {
    if let Some(path) = store_url.strip_prefix("sqlite://") {
        let (path, _) = path.split_once('?').unwrap_or((path, ""));
        let p = Path::new(path);
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("gild");
        let jobs = p.with_file_name(format!("{stem}-jobs.db"));
        format!("sqlite://{}", jobs.display())
    } else {
        store_url.to_string()
    }
}

#[cfg(test)]
mod tests;
