//! The read API, `gild serve`: golden customers, search and the change feed as JSON over HTTP,
//! for other systems. Read-only; every route but `/health` and `/openapi.json` needs a bearer
//! token. `openapi.json` beside this file describes it.

mod auth;
mod changes;
mod customers;
mod error;
mod limits;
mod metrics;
mod server;

pub use auth::{TokenError, Tokens, MIN_TOKEN_LEN};
pub use error::ApiError;
pub use limits::ServerLimits;
pub use metrics::Metrics;
pub use server::raise_open_files_limit;

use crate::record::SourceKey;
use crate::store::{
    CustomerDocument, CustomerSearch, DirectReads, GoldenSummary, Store, StoreError,
};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The OpenAPI 3.1 description of every route, written by hand.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Route templates: the router, the metrics labels and the OpenAPI test share them.
pub mod paths {
    pub const CUSTOMER: &str = "/v1/customers/{golden_id}";
    pub const SOURCE_RECORD_CUSTOMER: &str = "/v1/sources/{source}/records/{key}/customer";
    pub const CUSTOMERS: &str = "/v1/customers";
    pub const CHANGES: &str = "/v1/changes";
    pub const METRICS: &str = "/metrics";
    pub const HEALTH: &str = "/health";
    pub const OPENAPI: &str = "/openapi.json";
    /// Every route (all GET).
    pub const ALL: [&str; 7] = [
        CUSTOMER,
        SOURCE_RECORD_CUSTOMER,
        CUSTOMERS,
        CHANGES,
        METRICS,
        HEALTH,
        OPENAPI,
    ];
    /// The routes anyone may call.
    pub const PUBLIC: [&str; 2] = [HEALTH, OPENAPI];
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Tokens(#[from] TokenError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Io(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl ServeError {
    /// A mistake in how the server was started (configuration or environment), not a failure.
    pub fn is_usage(&self) -> bool {
        matches!(self, ServeError::Tokens(_))
    }
}

struct Inner {
    store: Store,
    /// SQLite only: look-ups on the calling thread (see `store::DirectReads`).
    direct: Option<DirectReads>,
    tokens: Tokens,
    max_page: u32,
    phone_regions: Vec<String>,
    metrics: Metrics,
}

/// What every handler shares; cheap to clone.
#[derive(Clone)]
pub struct ApiState(Arc<Inner>);

impl ApiState {
    /// `phone_regions`: the mappings' default phone regions, to normalise searched phones as
    /// the store holds them. Fails when a SQLite store's file cannot be opened for reading.
    pub fn new(
        store: Store,
        tokens: Tokens,
        max_page: u32,
        phone_regions: Vec<String>,
    ) -> Result<Self, ServeError> {
        Ok(ApiState(Arc::new(Inner {
            direct: DirectReads::for_store(&store)?,
            store,
            tokens,
            max_page: max_page.max(1),
            phone_regions,
            metrics: Metrics::default(),
        })))
    }

    /// One golden customer by golden ID (merged IDs followed).
    pub async fn customer(&self, id: &str) -> Result<Option<CustomerDocument>, StoreError> {
        match &self.0.direct {
            Some(direct) => direct.customer_document(id),
            None => self.0.store.customer_document(id).await,
        }
    }

    /// The golden customer a source record belongs to.
    pub async fn customer_by_key(
        &self,
        key: &SourceKey,
    ) -> Result<Option<CustomerDocument>, StoreError> {
        match &self.0.direct {
            Some(direct) => direct.customer_document_by_key(key),
            None => self.0.store.customer_document_by_key(key).await,
        }
    }

    /// Golden customers matching every criterion, at most `limit`.
    pub async fn search(
        &self,
        search: &CustomerSearch,
        limit: i64,
    ) -> Result<Vec<GoldenSummary>, StoreError> {
        match &self.0.direct {
            Some(direct) => direct.search_customers(search, limit),
            None => self.0.store.search_customers(search, limit).await,
        }
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }
    pub(crate) fn tokens(&self) -> &Tokens {
        &self.0.tokens
    }
    pub fn max_page(&self) -> u32 {
        self.0.max_page
    }
    pub(crate) fn phone_regions(&self) -> &[String] {
        &self.0.phone_regions
    }
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }
}

/// The whole API as an axum router; a request not answered within `request_timeout` gets a 503.
pub fn router(state: ApiState, request_timeout: Duration) -> Router {
    // The wrong-method answer is set before the token layer, so that the layer covers it too:
    // without a token every method on these routes is a 401, and a client learns nothing about
    // the routes before it has shown one.
    let protected = Router::new()
        .route(paths::CUSTOMER, get(customers::by_id))
        .route(paths::SOURCE_RECORD_CUSTOMER, get(customers::by_source_key))
        .route(paths::CUSTOMERS, get(customers::search))
        .route(paths::CHANGES, get(changes::feed))
        .route(paths::METRICS, get(metrics::scrape))
        .method_not_allowed_fallback(error::wrong_method)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route(paths::HEALTH, get(health))
        .route(paths::OPENAPI, get(openapi))
        .merge(protected)
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(middleware::from_fn_with_state(
            request_timeout,
            limits::request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// `GET /health`: 200 when the store answers within two seconds, else 503. Only a token holder
/// is told more than the status (the store, the change feed's head and the version).
async fn health(
    State(state): State<ApiState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let probe = async {
        state.store().ping().await?;
        state.store().last_event_seq().await
    };
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(_)) if !auth::has_valid_token(&state, &headers) => {
            Ok(Json(serde_json::json!({ "status": "ok" })).into_response())
        }
        Ok(Ok(seq)) => Ok(Json(serde_json::json!({
            "status": "ok",
            "store": state.store().engine(),
            "last_event_seq": seq,
            "version": env!("CARGO_PKG_VERSION"),
        }))
        .into_response()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the store failed");
            Err(ApiError::Unavailable("the store is not answering".into()))
        }
        Err(_) => Err(ApiError::Unavailable(
            "the store did not answer within 2 seconds".into(),
        )),
    }
}

/// `GET /openapi.json`
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Binds the listening socket (port 0 picks a free port; see `local_addr`).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    limits: ServerLimits,
) -> Result<(), ServeError> {
    serve_until(
        listener,
        state,
        limits,
        crate::signals::shutdown_requested(),
    )
    .await
}

/// Serves within `limits` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: ApiState,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let app = router(state.clone(), limits.request_timeout);
    server::run(listener, app, state, limits, shutdown)
        .await
        .map_err(ServeError::Io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document_and_nothing_else() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert!(doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")));
        let documented = doc["paths"].as_object().expect("paths");
        for path in paths::ALL {
            let get = &documented
                .get(path)
                .unwrap_or_else(|| panic!("{path} is not in openapi.json"))["get"];
            assert!(get.is_object(), "{path} has no GET");
            assert!(get["responses"]["200"].is_object(), "{path} has no 200");
            let public = get["security"].as_array().is_some_and(|s| s.is_empty());
            assert_eq!(
                public,
                paths::PUBLIC.contains(&path),
                "{path}: security must be [] exactly for the public routes"
            );
            if !public {
                assert!(get["responses"]["401"].is_object(), "{path} has no 401");
            }
        }
        for path in documented.keys() {
            assert!(
                paths::ALL.contains(&path.as_str()),
                "openapi.json documents {path}, which the router does not serve"
            );
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert!(doc["components"]["schemas"]["Error"].is_object());
    }
}
