use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "GILD_STORE_URL" => None,
        _ => None,
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_shipped_demo_configuration_loads() {
    let c =
        Config::load_with_env(&repo().join("gild.toml"), &env).expect("the demo config is valid");
    assert_eq!(c.connectors.len(), 3);
    assert!(c.store_url.starts_with("sqlite://") && c.store_url.ends_with("gild.db"));
    assert!(
        c.jobs.queue_url.ends_with("gild-jobs.db"),
        "{}",
        c.jobs.queue_url
    );
    assert_eq!(c.jobs.schedule.as_deref(), Some("0 0 2 * * *"));
    assert_eq!(c.jobs.timezone, chrono_tz::Europe::London);
    assert_eq!(c.mappings.len(), 3);
    assert!(c
        .matching
        .comparisons
        .iter()
        .any(|x| x.cannot_link_when_different));
    assert_eq!(
        c.survivorship.source_priority,
        vec!["crm", "billing", "fulfilment"]
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("dir");
    }
    std::fs::write(p, text).expect("write");
}

fn minimal(dir: &Path, gild: &str) -> Result<Config, ConfigError> {
    write(dir, "gild.toml", gild);
    write(dir, "connectors/a.toml", "name = \"a\"\nkind = \"csv\"\nrecord_kind = \"customer\"\npath = \"a.csv\"\nprimary_key = [\"id\"]\n");
    write(
        dir,
        "mappings/a.toml",
        "[fields]\nfull_name = { column = \"name\" }\n",
    );
    Config::load_with_env(&dir.join("gild.toml"), &env)
}

#[test]
fn defaults_make_a_minimal_config_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = minimal(dir.path(), "").expect("valid");
    assert!(!c.matching.comparisons.is_empty(), "default comparisons");
    assert!(!c.matching.blocking.is_empty(), "default blocking rules");
    assert_eq!(c.jobs.schedule, None);
    assert!((c.matching.merge_threshold - 0.95).abs() < 1e-12);
}

#[test]
fn every_problem_is_reported_at_once_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = minimal(
        dir.path(),
        "[jobs]\nschedule = \"0 2 * * *\"\ntimezone = \"Mars/Olympus\"\n\n[matching]\nmerge_threshold = 0.4\nreview_threshold = 0.6\n\n[survivorship]\nsource_priority = [\"nope\"]\n",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("problems"), "{text}");
    assert!(
        text.contains("gild.toml:2") && text.contains("write \"0 0 2 * * *\""),
        "{text}"
    );
    assert!(
        text.contains("gild.toml:3") && text.contains("Mars/Olympus"),
        "{text}"
    );
    assert!(
        text.contains("review_threshold (0.6) <= merge_threshold (0.4)"),
        "{text}"
    );
    assert!(
        text.contains("gild.toml:10") && text.contains("\"nope\""),
        "{text}"
    );
}

#[test]
fn missing_mappings_and_duplicate_names_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "connectors/b.toml", "name = \"a\"\nkind = \"csv\"\nrecord_kind = \"customer\"\npath = \"b.csv\"\nprimary_key = [\"id\"]\nmapping = \"gone\"\n");
    let text = minimal(dir.path(), "").unwrap_err().to_string();
    assert!(text.contains("also named \"a\""), "{text}");
    assert!(text.contains("mapping \"gone\" does not exist"), "{text}");
}

#[test]
fn the_queue_sits_beside_a_sqlite_store_or_in_postgres() {
    assert_eq!(
        default_queue_url("sqlite:///x/crm.db"),
        "sqlite:///x/crm-jobs.db"
    );
    assert_eq!(
        default_queue_url("sqlite:///x/crm.db?mode=rwc"),
        "sqlite:///x/crm-jobs.db"
    );
    assert_eq!(default_queue_url("postgres://db/crm"), "postgres://db/crm");
}

#[test]
fn the_api_section_has_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = minimal(dir.path(), "").expect("valid");
    assert_eq!(c.api.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.api.tokens_env, "GILD_API_TOKENS");
    assert_eq!(c.api.max_page, 500);
    assert_eq!(c.api.limits, crate::api::ServerLimits::default());
    let c = minimal(
        dir.path(),
        "[api]\nlisten = \"0.0.0.0:9000\"\ntokens_env = \"CRM_READ_TOKENS\"\nmax_page = 50\n\
         header_read_timeout_seconds = 3\nidle_timeout_seconds = 7\nrequest_timeout_seconds = 11\nmax_connections = 64\n",
    )
    .expect("valid");
    assert_eq!(c.api.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(c.api.tokens_env, "CRM_READ_TOKENS");
    assert_eq!(c.api.max_page, 50);
    let secs = std::time::Duration::from_secs;
    assert_eq!(
        c.api.limits,
        crate::api::ServerLimits {
            header_read_timeout: secs(3),
            idle_timeout: secs(7),
            request_timeout: secs(11),
            max_connections: 64,
        }
    );
}

#[test]
fn api_limits_out_of_bounds_are_refused_with_their_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = minimal(
        dir.path(),
        "[api]\nheader_read_timeout_seconds = 0\nidle_timeout_seconds = -1\nrequest_timeout_seconds = 100000\nmax_connections = 0\n",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("4 problems"), "{text}");
    for (line, name) in [
        (
            2,
            "header_read_timeout_seconds must be between 1 and 300, not 0",
        ),
        (3, "idle_timeout_seconds must be between 1 and 3600, not -1"),
        (
            4,
            "request_timeout_seconds must be between 1 and 3600, not 100000",
        ),
        (5, "max_connections must be between 1 and 1000000, not 0"),
    ] {
        assert!(
            text.contains(&format!("gild.toml:{line}")) && text.contains(name),
            "{name}: {text}"
        );
    }
    let err = minimal(dir.path(), "[api]\nheader_timeout = 5\n").unwrap_err();
    assert!(
        err.to_string().contains("unknown field `header_timeout`"),
        "{err}"
    );
}

#[test]
fn api_problems_are_reported_together_and_tokens_never_come_from_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = minimal(
        dir.path(),
        "[api]\nlisten = \"localhost\"\ntokens_env = \"${GILD_API_TOKENS}\"\nmax_page = 0\ntokens = [\"secret-secret-secret\"]\n",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("4 problems"), "{text}");
    assert!(
        text.contains("gild.toml:2") && text.contains("not an address"),
        "{text}"
    );
    assert!(
        text.contains("gild.toml:3") && text.contains("NAME of an environment variable"),
        "{text}"
    );
    assert!(
        text.contains("gild.toml:4") && text.contains("between 1 and"),
        "{text}"
    );
    assert!(
        text.contains("gild.toml:5") && text.contains("secrets come from the environment"),
        "{text}"
    );
    assert!(!text.contains("secret-secret-secret"), "{text}");
    let err = minimal(dir.path(), "[api]\nport = 80\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `port`"), "{err}");
}
