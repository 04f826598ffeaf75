//! Each part of `gild.toml` checked into its validated settings, one step per section; every
//! problem found goes to [`Problems`], so that one load reports them all.

use super::{
    default_queue_url, parse_schedule, read, toml_files, Api, ApiSection, DefaultMatching, Jobs,
    JobsSection, Matching, MatchingSection, Problems, StoreSection, DEFAULT_API_MAX_PAGE,
    DEFAULT_API_TOKENS_ENV, DEFAULT_MATCHING, MAX_API_PAGE,
};
use crate::api::ServerLimits;
use crate::blocking::{BlockLimits, BlockingRule, BlockingRuleConfig};
use crate::compare::{Comparison, ComparisonConfig};
use crate::config_file::{env, ConfigProblem};
use crate::connectors::config::{parse_connector, resolve_sqlite_url};
use crate::connectors::Connector;
use crate::golden::SurvivorshipConfig;
use crate::model::{Training, TrainingConfig};
use crate::standardize::{parse_mapping, Mapping};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use toml::Spanned;

type Env<'e> = &'e dyn Fn(&str) -> Option<String>;

/// `[store] url`, `${VAR}` expanded; a SQLite path is resolved from the config's folder.
pub(super) fn store_url(
    raw: &StoreSection,
    base: &Path,
    env: Env<'_>,
    problems: &mut Problems,
) -> String {
    match env::interpolate(raw.url.get_ref(), env) {
        Ok(u) if u.starts_with("sqlite:") => resolve_sqlite_url(&u, base),
        Ok(u) if u.starts_with("postgres:") || u.starts_with("postgresql:") => {
            if env::has_literal_password(raw.url.get_ref()) {
                problems.at(raw.url.span(), "the store url holds a password; take it from the environment: url = \"${GILD_STORE_URL}\"");
            }
            u
        }
        Ok(u) => {
            problems.at(
                raw.url.span(),
                format!("store url {u:?} must start with sqlite: or postgres:"),
            );
            String::new()
        }
        Err(e) => {
            problems.at(raw.url.span(), e);
            String::new()
        }
    }
}

/// `[jobs]`: the queue (beside the store unless given), schedule, time zone, retries and lease.
pub(super) fn jobs_settings(
    raw: &JobsSection,
    store_url: &str,
    base: &Path,
    env: Env<'_>,
    problems: &mut Problems,
) -> Jobs {
    let queue_url = match &raw.queue_url {
        Some(q) => match env::interpolate(q.get_ref(), env) {
            Ok(u) if u.starts_with("sqlite:") => resolve_sqlite_url(&u, base),
            Ok(u) => u,
            Err(e) => {
                problems.at(q.span(), e);
                String::new()
            }
        },
        None => default_queue_url(store_url),
    };
    let schedule = raw.schedule.as_ref().and_then(|s| {
        let expr = match env::interpolate(s.get_ref(), env) {
            Ok(e) => e.trim().to_string(),
            Err(e) => {
                problems.at(s.span(), e);
                return None;
            }
        };
        if expr.is_empty() || expr == "off" {
            return None;
        }
        match parse_schedule(&expr) {
            Ok(_) => Some(expr),
            Err(e) => {
                problems.at(s.span(), e);
                None
            }
        }
    });
    let timezone = match &raw.timezone {
        Some(tz) => tz.get_ref().parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
            problems.at(
                tz.span(),
                format!(
                    "unknown time zone {:?}; use an IANA name such as \"Europe/London\"",
                    tz.get_ref()
                ),
            );
            chrono_tz::UTC
        }),
        None => chrono_tz::UTC,
    };
    Jobs {
        queue_url,
        schedule,
        timezone,
        retries: raw.retries.unwrap_or(3),
        retry_backoff: std::time::Duration::from_secs(raw.retry_backoff_seconds.unwrap_or(60)),
        poll_interval: std::time::Duration::from_secs(
            raw.poll_interval_seconds.unwrap_or(5).max(1),
        ),
        lock_ttl: std::time::Duration::from_secs(raw.lock_ttl_seconds.unwrap_or(600).max(30)),
    }
}

/// Every connector file in `dir`; source names must be unique.
pub(super) fn connectors(
    dir: &Path,
    base: &Path,
    env: Env<'_>,
    problems: &mut Problems,
) -> Vec<Connector> {
    let mut connectors = Vec::new();
    match toml_files(dir) {
        Ok(files) => {
            if files.is_empty() {
                problems.push(ConfigProblem::new(
                    dir,
                    None,
                    "no connector files (*.toml) here: declare at least one source",
                ));
            }
            for f in files {
                match read(&f) {
                    Ok(t) => match parse_connector(&f, &t, base, env) {
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
    connectors
}

/// The mapping each enabled connector names, from `dir`, checked against its record kind.
pub(super) fn mappings(
    connectors: &[Connector],
    dir: &Path,
    problems: &mut Problems,
) -> BTreeMap<String, Mapping> {
    let mut mappings = BTreeMap::new();
    for c in connectors.iter().filter(|c| c.enabled) {
        if mappings.contains_key(&c.mapping) {
            continue;
        }
        let f = dir.join(format!("{}.toml", c.mapping));
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
    mappings
}

/// `[matching]`: blocking rules, comparisons and training (the defaults where none are given),
/// thresholds and clustering. None when the training settings do not hold.
pub(super) fn matching_settings(
    raw: &MatchingSection,
    problems: &mut Problems,
) -> Option<Matching> {
    let (blocking_cfg, comparison_cfg, training_cfg) = with_defaults(raw);
    let blocking = blocking_rules(&blocking_cfg, problems);
    let comparisons = comparisons(&comparison_cfg, problems);
    let training = match Training::from_config(&training_cfg, &blocking) {
        Ok(t) => Some(t),
        Err((span, msg)) => {
            problems.at(span, msg);
            None
        }
    };
    let (merge, review) = (
        *raw.merge_threshold.get_ref(),
        *raw.review_threshold.get_ref(),
    );
    if !(0.0 < review && review <= merge && merge < 1.0) {
        problems.at(
            raw.merge_threshold.span(),
            format!("thresholds must satisfy 0 < review_threshold ({review}) <= merge_threshold ({merge}) < 1"),
        );
    }
    if !(0.0..=1.0).contains(&raw.clustering.min_mean_probability) {
        problems.at(
            0..0,
            "clustering.min_mean_probability must be between 0 and 1",
        );
    }
    Some(Matching {
        link_type: raw.link_type,
        merge_threshold: merge,
        review_threshold: review,
        limits: BlockLimits {
            max_block_records: raw.max_block_records.max(2),
            warn_block_pairs: raw.warn_block_pairs,
        },
        blocking,
        comparisons,
        training: training?,
        clustering: raw.clustering.clone(),
        choose: raw.blocking.is_empty() && raw.comparisons.is_empty() && raw.training.is_none(),
        chosen: None,
    })
}

/// The blocking rules, comparisons and training settings given, each replaced by the default
/// matching settings' when not given.
fn with_defaults(
    raw: &MatchingSection,
) -> (
    Vec<BlockingRuleConfig>,
    Vec<ComparisonConfig>,
    TrainingConfig,
) {
    let defaults: Option<DefaultMatching> = toml::from_str(DEFAULT_MATCHING).ok();
    let blocking = if raw.blocking.is_empty() {
        defaults
            .as_ref()
            .map(|d| d.blocking.clone())
            .unwrap_or_default()
    } else {
        raw.blocking.clone()
    };
    let comparisons = if raw.comparisons.is_empty() {
        defaults
            .as_ref()
            .map(|d| d.comparisons.clone())
            .unwrap_or_default()
    } else {
        raw.comparisons.clone()
    };
    let training = raw
        .training
        .clone()
        .or_else(|| defaults.as_ref().map(|d| d.training.clone()))
        .unwrap_or_default();
    (blocking, comparisons, training)
}

fn blocking_rules(configs: &[BlockingRuleConfig], problems: &mut Problems) -> Vec<BlockingRule> {
    let mut blocking = Vec::new();
    for b in configs {
        match BlockingRule::from_config(b) {
            Ok(r) => blocking.push(r),
            Err((span, msg)) => problems.at(span, msg),
        }
    }
    if blocking.len() > 200 {
        problems.in_file("at most 200 blocking rules");
    }
    blocking
}

/// The comparisons, uniquely named, their `unless` references resolved.
fn comparisons(configs: &[ComparisonConfig], problems: &mut Problems) -> Vec<Comparison> {
    let mut comparisons: Vec<Comparison> = Vec::new();
    for c in configs {
        match Comparison::from_config(c) {
            Ok(c) => {
                if comparisons.iter().any(|x| x.name == c.name) {
                    problems.at(
                        0..0,
                        format!("two comparisons are named {:?}; give one a `name`", c.name),
                    );
                }
                comparisons.push(c)
            }
            Err((span, msg)) => problems.at(span, msg),
        }
    }
    for (span, msg) in crate::compare::resolve_unless(configs, &mut comparisons) {
        problems.at(span, msg);
    }
    comparisons
}

/// `[survivorship] source_priority` may only name declared sources.
pub(super) fn check_source_priority(
    raw: &SurvivorshipConfig,
    connectors: &[Connector],
    problems: &mut Problems,
) {
    let known: HashSet<&str> = connectors.iter().map(|c| c.name.as_str()).collect();
    for s in &raw.source_priority {
        if !known.contains(s.get_ref().as_str()) {
            problems.at(
                s.span(),
                format!(
                    "source_priority names {:?}, which no connector declares",
                    s.get_ref()
                ),
            );
        }
    }
}

/// `[api]`: where `gild serve` listens, the NAME of its tokens' variable, the largest page.
pub(super) fn api_settings(raw: &ApiSection, env: Env<'_>, problems: &mut Problems) -> Api {
    let default_listen: std::net::SocketAddr = ([127, 0, 0, 1], 8080).into();
    let listen = match &raw.listen {
        None => default_listen,
        Some(l) => match env::interpolate(l.get_ref(), env) {
            Ok(v) => v.trim().parse().unwrap_or_else(|_| {
                problems.at(
                    l.span(),
                    format!("api.listen {v:?} is not an address: write host:port, such as \"127.0.0.1:8080\""),
                );
                default_listen
            }),
            Err(e) => {
                problems.at(l.span(), e);
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
                problems.at(
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
                problems.at(
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
    let limits = server_limits(raw, problems);
    if let Some(t) = &raw.tokens {
        problems.at(
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
fn server_limits(raw: &ApiSection, problems: &mut Problems) -> ServerLimits {
    let defaults = ServerLimits::default();
    let mut within = |value: &Option<Spanned<i64>>, name: &str, max: i64, default: u64| -> u64 {
        match value {
            None => default,
            Some(v) if (1..=max).contains(v.get_ref()) => *v.get_ref() as u64,
            Some(v) => {
                problems.at(
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
