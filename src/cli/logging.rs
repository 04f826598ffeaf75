//! Logs and the final error on stderr, in one format: human text by default, JSON lines (for a
//! log collector) only when asked with `--log-format json` or GILD_LOG_FORMAT=json. `--format`
//! is about stdout and does not change the logs. Colours only when stderr is a terminal, so
//! that cron mail and log files get plain text.

use super::{Args, Command};
use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Colour codes in the text logs: only on a terminal, and never under NO_COLOR
/// (https://no-color.org).
fn colours() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn init_tracing(args: &Args) {
    use tracing_subscriber::EnvFilter;
    // Customer data never appears at info level; the worker logs at info by default.
    let default = match (args.verbose, &args.command) {
        (0, Command::Worker(_) | Command::Serve(_)) => "info",
        (0, _) => "warn",
        (1, _) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default},sqlx=warn,apalis=warn,apalis_sqlite=warn,apalis_postgres=warn"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Json => {
            let _ = builder.json().with_ansi(false).try_init();
        }
        LogFormat::Text => {
            let _ = builder.with_target(false).with_ansi(colours()).try_init();
        }
    }
}

/// The error that ended the program, printed once, in the logs' format: a JSON line shaped like
/// the other log lines, or `error: ...` for people. Written directly, not through `tracing`, so
/// that a RUST_LOG filter cannot hide it.
pub fn print_error(format: LogFormat, error: &anyhow::Error, exit_code: u8) {
    let text = format!("{error:#}");
    let line = match format {
        LogFormat::Text => format!("error: {text}\n"),
        LogFormat::Json => {
            let line = JsonLine {
                timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                level: "ERROR",
                fields: ErrorFields {
                    message: &text,
                    exit_code,
                },
                target: "gild",
            };
            match serde_json::to_string(&line) {
                Ok(json) => format!("{json}\n"),
                Err(_) => format!("error: {text}\n"),
            }
        }
    };
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The shape of tracing-subscriber's JSON lines, in its order.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    timestamp: String,
    level: &'static str,
    fields: ErrorFields<'a>,
    target: &'static str,
}

#[derive(serde::Serialize)]
struct ErrorFields<'a> {
    message: &'a str,
    exit_code: u8,
}
