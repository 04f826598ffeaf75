//! Prometheus metrics: requests by route and status, latency by route, golden customers.
//! Counters are plain atomics indexed by route and status, so that counting costs the hot path
//! no lock and no allocation.

use super::server::Closed;
use super::{paths, ApiError, ApiState};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;
use tracing::Instrument;

/// Route labels: the router's path templates, then requests that matched none.
const ROUTES: [&str; paths::ALL.len() + 1] = {
    let mut r = [UNMATCHED; paths::ALL.len() + 1];
    let mut i = 0;
    while i < paths::ALL.len() {
        r[i] = paths::ALL[i];
        i += 1;
    }
    r
};
const UNMATCHED: &str = "unmatched";
/// Statuses the API answers with; anything else is counted as "other".
const STATUSES: [u16; 8] = [200, 400, 401, 404, 405, 500, 503, 0];
/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug)]
struct RouteStats {
    by_status: [AtomicU64; STATUSES.len()],
    /// Per bucket, not cumulative; the last one is +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl RouteStats {
    fn new() -> Self {
        RouteStats {
            by_status: std::array::from_fn(|_| AtomicU64::new(0)),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
        }
    }
}

#[derive(Debug)]
pub struct Metrics {
    routes: Vec<RouteStats>,
    connections_open: AtomicU64,
    closed_header_timeout: AtomicU64,
    closed_idle_timeout: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            routes: ROUTES.iter().map(|_| RouteStats::new()).collect(),
            connections_open: AtomicU64::new(0),
            closed_header_timeout: AtomicU64::new(0),
            closed_idle_timeout: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    pub fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Relaxed);
    }

    /// `closed_by`: the timeout that made the server close it, if one did.
    pub fn connection_closed(&self, closed_by: Option<Closed>) {
        self.connections_open.fetch_sub(1, Relaxed);
        match closed_by {
            Some(Closed::HeaderTimeout) => self.closed_header_timeout.fetch_add(1, Relaxed),
            Some(Closed::IdleTimeout) => self.closed_idle_timeout.fetch_add(1, Relaxed),
            None => 0,
        };
    }

    pub fn record(&self, route: &str, status: u16, seconds: f64) {
        let r = ROUTES
            .iter()
            .position(|x| *x == route)
            .unwrap_or(ROUTES.len() - 1);
        let s = STATUSES
            .iter()
            .position(|x| *x == status)
            .unwrap_or(STATUSES.len() - 1);
        let b = BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(BUCKETS.len());
        let stats = &self.routes[r];
        stats.by_status[s].fetch_add(1, Relaxed);
        stats.buckets[b].fetch_add(1, Relaxed);
        stats
            .sum_micros
            .fetch_add((seconds * 1e6).round() as u64, Relaxed);
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, golden_customers: Option<i64>, last_event_seq: Option<i64>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        out.push_str(
            "# HELP gild_api_requests_total Requests answered, by route template and status.\n",
        );
        out.push_str("# TYPE gild_api_requests_total counter\n");
        for (route, stats) in ROUTES.iter().zip(&self.routes) {
            for (status, n) in STATUSES.iter().zip(&stats.by_status) {
                let n = n.load(Relaxed);
                if n == 0 {
                    continue;
                }
                let status = match status {
                    0 => "other".to_string(),
                    s => s.to_string(),
                };
                let _ = writeln!(
                    out,
                    "gild_api_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP gild_api_request_duration_seconds Time to answer a request, by route template.\n");
        out.push_str("# TYPE gild_api_request_duration_seconds histogram\n");
        for (route, stats) in ROUTES.iter().zip(&self.routes) {
            let counts: Vec<u64> = stats.buckets.iter().map(|b| b.load(Relaxed)).collect();
            let total: u64 = counts.iter().sum();
            if total == 0 {
                continue;
            }
            let mut cumulative = 0;
            for (le, n) in BUCKETS.iter().zip(&counts) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "gild_api_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "gild_api_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {total}"
            );
            let _ = writeln!(
                out,
                "gild_api_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                stats.sum_micros.load(Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "gild_api_request_duration_seconds_count{{route=\"{route}\"}} {total}"
            );
        }
        out.push_str("# HELP gild_api_connections_open Client connections open now.\n");
        out.push_str("# TYPE gild_api_connections_open gauge\n");
        let _ = writeln!(
            out,
            "gild_api_connections_open {}",
            self.connections_open.load(Relaxed)
        );
        out.push_str("# HELP gild_api_connections_timed_out_total Connections the server closed because the client was too slow: its request head took longer than the header timeout, or it stayed silent longer than the idle timeout.\n");
        out.push_str("# TYPE gild_api_connections_timed_out_total counter\n");
        let _ = writeln!(
            out,
            "gild_api_connections_timed_out_total{{reason=\"header\"}} {}",
            self.closed_header_timeout.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "gild_api_connections_timed_out_total{{reason=\"idle\"}} {}",
            self.closed_idle_timeout.load(Relaxed)
        );
        if let Some(n) = golden_customers {
            out.push_str("# HELP gild_golden_customers Golden customers in the store.\n");
            out.push_str("# TYPE gild_golden_customers gauge\n");
            let _ = writeln!(out, "gild_golden_customers {n}");
        }
        if let Some(n) = last_event_seq {
            out.push_str("# HELP gild_change_feed_last_seq The newest change feed event's seq.\n");
            out.push_str("# TYPE gild_change_feed_last_seq gauge\n");
            let _ = writeln!(out, "gild_change_feed_last_seq {n}");
        }
        out
    }
}

/// Counts and times every request, and gives it a debug span named by its route template:
/// never the URI, whose path or query may hold customer data.
pub async fn track(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The static label itself, so that counting allocates nothing.
    let route_label: &'static str = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| ROUTES.iter().find(|r| **r == m.as_str()))
        .copied()
        .unwrap_or(UNMATCHED);
    let span = tracing::debug_span!("request", method = %request.method(), route = route_label);
    let response = next.run(request).instrument(span.clone()).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state.metrics().record(route_label, status, seconds);
    span.in_scope(|| tracing::debug!(status, micros = (seconds * 1e6) as u64, "answered"));
    response
}

/// `GET /metrics`
pub async fn scrape(State(state): State<ApiState>) -> Result<Response, ApiError> {
    // A store that does not answer still leaves the request counters readable.
    let golden = state.store().golden_count().await.ok();
    let head = state.store().last_event_seq().await.ok();
    let body = state.metrics().render(golden, head);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_cumulative_buckets_render() {
        let m = Metrics::default();
        m.record(paths::CUSTOMER, 200, 0.0004);
        m.record(paths::CUSTOMER, 200, 0.003);
        m.record(paths::CUSTOMER, 404, 0.7);
        m.record("/nowhere", 418, 0.0);
        let text = m.render(Some(7), None);
        assert!(text.contains(
            "gild_api_requests_total{route=\"/v1/customers/{golden_id}\",status=\"200\"} 2"
        ));
        assert!(text.contains("route=\"unmatched\",status=\"other\"} 1"));
        assert!(text.contains(
            "gild_api_request_duration_seconds_bucket{route=\"/v1/customers/{golden_id}\",le=\"0.0005\"} 1"
        ));
        assert!(text.contains(
            "gild_api_request_duration_seconds_bucket{route=\"/v1/customers/{golden_id}\",le=\"0.005\"} 2"
        ));
        assert!(text.contains(
            "gild_api_request_duration_seconds_bucket{route=\"/v1/customers/{golden_id}\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("gild_golden_customers 7"));
        assert!(!text.contains("gild_change_feed_last_seq"));
    }
}
