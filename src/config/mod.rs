//! Configuration: `gild.toml`, `connectors/*.toml` and `mappings/*.toml`, parsed into serde
//! structs with `deny_unknown_fields` and validated into one [`Config`] before anything runs.
//! Every problem found is reported at once, each with its file and line.

mod schedule;

use crate::config_file::{env, error};
pub use crate::config_file::{ConfigError, ConfigProblem};
pub use schedule::parse_schedule;

use crate::api::ServerLimits;
use crate::blocking::{BlockLimits, BlockingRule, BlockingRuleConfig, LinkType};
use crate::cluster::ClusteringConfig;
use crate::compare::{Comparison, ComparisonConfig};
use crate::connectors::config::{parse_connector, resolve_sqlite_url};
use crate::connectors::Connector;
use crate::decision::Thresholds;
use crate::golden::{Survivorship, SurvivorshipConfig};
use crate::model::{Training, TrainingConfig};
use crate::standardize::{parse_mapping, Mapping};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
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

    pub fn load_with_env(
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let text = read(file).map_err(ConfigError::single)?;
        let raw: GildFile = toml::from_str(&text)
            .map_err(|e| ConfigError::single(error::from_toml(file, &text, &e)))?;
        let base = file
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut problems: Vec<ConfigProblem> = Vec::new();
        let at = |span: std::ops::Range<usize>, msg: String| {
            if span == (0..0) {
                ConfigProblem::new(file, None, msg)
            } else {
                ConfigProblem::at_span(file, &text, span, msg)
            }
        };

        // store
        let store_url = match env::interpolate(raw.store.url.get_ref(), env) {
            Ok(u) if u.starts_with("sqlite:") => resolve_sqlite_url(&u, &base),
            Ok(u) if u.starts_with("postgres:") || u.starts_with("postgresql:") => {
                if env::has_literal_password(raw.store.url.get_ref()) {
                    problems.push(at(raw.store.url.span(), "the store url holds a password; take it from the environment: url = \"${GILD_STORE_URL}\"".into()));
                }
                u
            }
            Ok(u) => {
                problems.push(at(
                    raw.store.url.span(),
                    format!("store url {u:?} must start with sqlite: or postgres:"),
                ));
                String::new()
            }
            Err(e) => {
                problems.push(at(raw.store.url.span(), e));
                String::new()
            }
        };

        // jobs
        let j = &raw.jobs;
        let queue_url = match &j.queue_url {
            Some(q) => match env::interpolate(q.get_ref(), env) {
                Ok(u) if u.starts_with("sqlite:") => resolve_sqlite_url(&u, &base),
                Ok(u) => u,
                Err(e) => {
                    problems.push(at(q.span(), e));
                    String::new()
                }
            },
            None => default_queue_url(&store_url),
        };
        let schedule = j.schedule.as_ref().and_then(|s| {
            let expr = match env::interpolate(s.get_ref(), env) {
                Ok(e) => e.trim().to_string(),
                Err(e) => {
                    problems.push(at(s.span(), e));
                    return None;
                }
            };
            if expr.is_empty() || expr == "off" {
                return None;
            }
            match parse_schedule(&expr) {
                Ok(_) => Some(expr),
                Err(e) => {
                    problems.push(at(s.span(), e));
                    None
                }
            }
        });
        let timezone = match &j.timezone {
            Some(tz) => tz.get_ref().parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
                problems.push(at(
                    tz.span(),
                    format!(
                        "unknown time zone {:?}; use an IANA name such as \"Europe/London\"",
                        tz.get_ref()
                    ),
                ));
                chrono_tz::UTC
            }),
            None => chrono_tz::UTC,
        };
        let jobs = Jobs {
            queue_url,
            schedule,
            timezone,
            retries: j.retries.unwrap_or(3),
            retry_backoff: std::time::Duration::from_secs(j.retry_backoff_seconds.unwrap_or(60)),
            poll_interval: std::time::Duration::from_secs(
                j.poll_interval_seconds.unwrap_or(5).max(1),
            ),
            lock_ttl: std::time::Duration::from_secs(j.lock_ttl_seconds.unwrap_or(600).max(30)),
        };

        // connectors and mappings
        let connectors_dir = base.join(raw.connectors.as_deref().unwrap_or("connectors"));
        let mappings_dir = base.join(raw.mappings.as_deref().unwrap_or("mappings"));
        let mut connectors = Vec::new();
        match toml_files(&connectors_dir) {
            Ok(files) => {
                if files.is_empty() {
                    problems.push(ConfigProblem::new(
                        &connectors_dir,
                        None,
                        "no connector files (*.toml) here: declare at least one source",
                    ));
                }
                for f in files {
                    match read(&f) {
                        Ok(t) => match parse_connector(&f, &t, &base, env) {
                            Ok(c) => connectors.push(c),
                            Err(ps) => problems.extend(ps),
                        },
                        Err(p) => problems.push(p),
                    }
                }
            }
            Err(p) => problems.push(p),
        }
        let mut seen = HashSet::new();
        for c in &connectors {
            if !seen.insert(c.name.clone()) {
                problems.push(ConfigProblem::new(
                    &c.file,
                    None,
                    format!(
                        "another connector is also named {:?}; source names must be unique",
                        c.name
                    ),
                ));
            }
        }
        let mut mappings = BTreeMap::new();
        for c in connectors.iter().filter(|c| c.enabled) {
            if mappings.contains_key(&c.mapping) {
                continue;
            }
            let f = mappings_dir.join(format!("{}.toml", c.mapping));
            match read(&f) {
                Ok(t) => match parse_mapping(&c.mapping, &f, &t) {
                    Ok(m) => {
                        problems.extend(m.check_kind(c.record_kind));
                        mappings.insert(c.mapping.clone(), m);
                    }
                    Err(ps) => problems.extend(ps),
                },
                Err(_) => problems.push(ConfigProblem::new(
                    &c.file,
                    None,
                    format!(
                        "its mapping {:?} does not exist: expected {}",
                        c.mapping,
                        f.display()
                    ),
                )),
            }
        }

        // matching
        let m = &raw.matching;
        let defaults: Option<DefaultMatching> = toml::from_str(DEFAULT_MATCHING).ok();
        let blocking_cfg = if m.blocking.is_empty() {
            defaults
                .as_ref()
                .map(|d| d.blocking.clone())
                .unwrap_or_default()
        } else {
            m.blocking.clone()
        };
        let comparison_cfg = if m.comparisons.is_empty() {
            defaults
                .as_ref()
                .map(|d| d.comparisons.clone())
                .unwrap_or_default()
        } else {
            m.comparisons.clone()
        };
        let training_cfg = m
            .training
            .clone()
            .or_else(|| defaults.as_ref().map(|d| d.training.clone()))
            .unwrap_or_default();
        let mut blocking = Vec::new();
        for b in &blocking_cfg {
            match BlockingRule::from_config(b) {
                Ok(r) => blocking.push(r),
                Err((span, msg)) => problems.push(at(span, msg)),
            }
        }
        if blocking.len() > 200 {
            problems.push(ConfigProblem::new(file, None, "at most 200 blocking rules"));
        }
        let mut comparisons: Vec<Comparison> = Vec::new();
        for c in &comparison_cfg {
            match Comparison::from_config(c) {
                Ok(c) => {
                    if comparisons.iter().any(|x| x.name == c.name) {
                        problems.push(at(
                            0..0,
                            format!("two comparisons are named {:?}; give one a `name`", c.name),
                        ));
                    }
                    comparisons.push(c)
                }
                Err((span, msg)) => problems.push(at(span, msg)),
            }
        }
        for (span, msg) in crate::compare::resolve_unless(&comparison_cfg, &mut comparisons) {
            problems.push(at(span, msg));
        }
        let training = match Training::from_config(&training_cfg, &blocking) {
            Ok(t) => Some(t),
            Err((span, msg)) => {
                problems.push(at(span, msg));
                None
            }
        };
        let (merge, review) = (*m.merge_threshold.get_ref(), *m.review_threshold.get_ref());
        if !(0.0 < review && review <= merge && merge < 1.0) {
            problems.push(at(
                m.merge_threshold.span(),
                format!("thresholds must satisfy 0 < review_threshold ({review}) <= merge_threshold ({merge}) < 1"),
            ));
        }
        if !(0.0..=1.0).contains(&m.clustering.min_mean_probability) {
            problems.push(at(
                0..0,
                "clustering.min_mean_probability must be between 0 and 1".into(),
            ));
        }

        // survivorship
        let known: HashSet<&str> = connectors.iter().map(|c| c.name.as_str()).collect();
        for s in &raw.survivorship.source_priority {
            if !known.contains(s.get_ref().as_str()) {
                problems.push(at(
                    s.span(),
                    format!(
                        "source_priority names {:?}, which no connector declares",
                        s.get_ref()
                    ),
                ));
            }
        }
        let survivorship = Survivorship::from_config(&raw.survivorship);

        // api
        let api = api_settings(&raw.api, env, &mut |span, msg| problems.push(at(span, msg)));

        let training = match training {
            Some(t) if problems.is_empty() => t,
            _ => return Err(ConfigError { problems }),
        };
        Ok(Config {
            file: file.to_path_buf(),
            base,
            store_url,
            jobs,
            connectors,
            mappings,
            matching: Matching {
                link_type: m.link_type,
                merge_threshold: merge,
                review_threshold: review,
                limits: BlockLimits {
                    max_block_records: m.max_block_records.max(2),
                    warn_block_pairs: m.warn_block_pairs,
                },
                blocking,
                comparisons,
                training,
                clustering: m.clustering.clone(),
            },
            survivorship,
            api,
        })
    }

    pub fn mapping_for(&self, c: &Connector) -> Option<&Mapping> {
        self.mappings.get(&c.mapping)
    }
}

/// Checks the `[api]` section; every problem goes to `problem` with its span.
fn api_settings(
    raw: &ApiSection,
    env: &dyn Fn(&str) -> Option<String>,
    problem: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> Api {
    let default_listen: std::net::SocketAddr = ([127, 0, 0, 1], 8080).into();
    let listen = match &raw.listen {
        None => default_listen,
        Some(l) => match env::interpolate(l.get_ref(), env) {
            Ok(v) => v.trim().parse().unwrap_or_else(|_| {
                problem(
                    l.span(),
                    format!("api.listen {v:?} is not an address: write host:port, such as \"127.0.0.1:8080\""),
                );
                default_listen
            }),
            Err(e) => {
                problem(l.span(), e);
                default_listen
            }
        },
    };
    let tokens_env = match &raw.tokens_env {
        None => DEFAULT_API_TOKENS_ENV.to_string(),
        Some(t) => {
            let name = t.get_ref().trim();
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                problem(
                    t.span(),
                    format!("api.tokens_env {name:?} must be the NAME of an environment variable, such as \"GILD_API_TOKENS\", not its value"),
                );
            }
            name.to_string()
        }
    };
    let max_page = match &raw.max_page {
        None => DEFAULT_API_MAX_PAGE,
        Some(m) => match u32::try_from(*m.get_ref()) {
            Ok(n) if (1..=MAX_API_PAGE).contains(&i64::from(n)) => n,
            _ => {
                problem(
                    m.span(),
                    format!(
                        "api.max_page must be between 1 and {MAX_API_PAGE}, not {}",
                        m.get_ref()
                    ),
                );
                DEFAULT_API_MAX_PAGE
            }
        },
    };
    let limits = server_limits(raw, problem);
    if let Some(t) = &raw.tokens {
        problem(
            t.span(),
            format!("api.tokens is not read from the file: secrets come from the environment. Put the comma-separated tokens in the variable named by api.tokens_env (default {DEFAULT_API_TOKENS_ENV})"),
        );
    }
    Api {
        listen,
        tokens_env,
        max_page,
        limits,
    }
}

/// The API's timeouts and connection bound, each within sane bounds.
fn server_limits(
    raw: &ApiSection,
    problem: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> ServerLimits {
    let defaults = ServerLimits::default();
    let mut within = |value: &Option<Spanned<i64>>, name: &str, max: i64, default: u64| -> u64 {
        match value {
            None => default,
            Some(v) if (1..=max).contains(v.get_ref()) => *v.get_ref() as u64,
            Some(v) => {
                problem(
                    v.span(),
                    format!(
                        "api.{name} must be between 1 and {max}, not {}",
                        v.get_ref()
                    ),
                );
                default
            }
        }
    };
    let seconds = std::time::Duration::from_secs;
    ServerLimits {
        header_read_timeout: seconds(within(
            &raw.header_read_timeout_seconds,
            "header_read_timeout_seconds",
            300,
            defaults.header_read_timeout.as_secs(),
        )),
        idle_timeout: seconds(within(
            &raw.idle_timeout_seconds,
            "idle_timeout_seconds",
            3600,
            defaults.idle_timeout.as_secs(),
        )),
        request_timeout: seconds(within(
            &raw.request_timeout_seconds,
            "request_timeout_seconds",
            3600,
            defaults.request_timeout.as_secs(),
        )),
        max_connections: within(
            &raw.max_connections,
            "max_connections",
            1_000_000,
            u64::from(defaults.max_connections),
        ) as u32,
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
