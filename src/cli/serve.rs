//! `gild serve`: the read API over HTTP, until Ctrl-C or SIGTERM.

use super::{load_config, Args, LogFormat, EXIT_OK};
use gild::api::{self, ApiState, ServerLimits, Tokens};
use gild::store::Store;
use std::net::SocketAddr;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on, instead of [api] listen (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Store connections in the pool (default: four per core, 4 to 32). With SQLite, customer
    /// look-ups and searches use their own connections, one per busy server thread.
    #[arg(long, value_name = "N")]
    pub store_connections: Option<u32>,
}

pub async fn run(args: &Args, a: &ServeArgs) -> anyhow::Result<u8> {
    let config = load_config(args)?;
    // Before touching the store: a server without tokens is a usage mistake (exit 2).
    let tokens = Tokens::from_env(&config.api.tokens_env).map_err(api::ServeError::from)?;
    let pool_size = a.store_connections.unwrap_or_else(read_pool_size);
    let limits = fit_to_open_files(config.api.limits, pool_size);
    let store = Store::connect_for_reads(&config.store_url, pool_size).await?;
    let mut regions: Vec<String> = config
        .mappings
        .values()
        .map(|m| m.defaults.phone_region.clone())
        .collect();
    regions.sort();
    regions.dedup();
    let state = ApiState::new(store.clone(), tokens, config.api.max_page, regions)?;
    let listener = api::bind(a.listen.unwrap_or(config.api.listen)).await?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this line to find a port picked by the system; JSON logs carry the
    // address in the next line instead, so that stderr stays one format.
    if args.log_format == LogFormat::Text {
        eprintln!("listening on http://{addr}");
    }
    tracing::info!(
        %addr,
        store = store.engine(),
        max_connections = limits.max_connections,
        header_read_timeout_s = limits.header_read_timeout.as_secs(),
        idle_timeout_s = limits.idle_timeout.as_secs(),
        request_timeout_s = limits.request_timeout.as_secs(),
        "serving the read API"
    );
    api::serve(listener, state, limits).await?;
    store.close().await;
    Ok(EXIT_OK)
}

/// With SQLite each pool connection is a thread that sqlx hands statements to; four per core hid
/// those hand-offs best when the pool served every look-up (2 cores, 64 clients: 2 per core
/// 10.0 k requests/s, 4 per core 11.8 k, 8 per core 10.3 k). With SQLite the customer look-ups
/// now bypass the pool (`store::DirectReads`); it still serves the change feed and health.
fn read_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * 4).clamp(4, 32) as u32
}

/// Descriptors kept for everything but client connections: the listener, the store's pool and
/// files, the direct SQLite readers, logs.
const RESERVED_FILES: u64 = 64;

/// Raises the open-files limit as far as allowed, and lowers the connection bound if the limit is
/// still too small for it: at the bound new clients wait, where past the limit accepting fails.
fn fit_to_open_files(mut limits: ServerLimits, pool_size: u32) -> ServerLimits {
    let Some(files) = api::raise_open_files_limit() else {
        return limits;
    };
    let room = files.saturating_sub(RESERVED_FILES + u64::from(pool_size) * 2);
    if u64::from(limits.max_connections) > room {
        let fitted = room.clamp(1, u64::from(u32::MAX)) as u32;
        tracing::warn!(
            max_connections = limits.max_connections,
            open_files_limit = files,
            using = fitted,
            "the open-files limit (ulimit -n) is too low for [api] max_connections: raise it, or lower max_connections"
        );
        limits.max_connections = fitted;
    }
    limits
}
