//! The accept loop and the life of one connection, with the limits of [`ServerLimits`].
//!
//! `axum::serve` has no header-read or idle timeout and no connection bound, so clients that send
//! half a request and stall keep their sockets open for good. Here every connection has a
//! watchdog that closes it when its request head takes longer than the header timeout or it sits
//! idle between requests longer than the idle timeout, and a semaphore bounds the connections
//! open at once: at the bound the loop stops accepting, so new connections wait in the kernel's
//! listen queue (holding no descriptor of ours) until a stalled one is closed.

use super::{ApiState, ServerLimits};
use axum::body::Body;
use axum::Router;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

/// Request heads larger than this are refused (431): the API takes short GETs, and a small buffer
/// bounds the memory thousands of slow clients can hold.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// After an accept error other than a client giving up (out of descriptors, out of memory), wait
/// this long before the next accept instead of spinning.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// "The connection bound is reached" is logged at most this often.
const BOUND_WARNING_EVERY: Duration = Duration::from_secs(60);

/// Why a connection was closed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The request line and headers did not arrive within the header timeout.
    HeaderTimeout,
    /// Nothing moved on a kept-alive connection within the idle timeout.
    IdleTimeout,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets the
/// requests in flight finish and waits for every connection to close (stalled ones are closed by
/// their timeouts, so the wait is bounded).
pub(super) async fn run(
    listener: TcpListener,
    router: Router,
    state: ApiState,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max as usize));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut warned_at: Option<Instant> = None;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if warned_at.is_none_or(|t| t.elapsed() >= BOUND_WARNING_EVERY) {
                    warned_at = Some(Instant::now());
                    tracing::warn!(
                        max_connections = max,
                        "every connection the server may hold is open: new ones wait until one closes ([api] max_connections)"
                    );
                }
                tokio::select! {
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (tcp, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if is_client_gone(&e) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small JSON answers on keep-alive connections: send them now, not after a delayed ACK.
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let state = state.clone();
        let stop = stop_rx.clone();
        state.metrics().connection_opened();
        tokio::spawn(async move {
            let closed = serve_connection(tcp, router, limits, stop).await;
            state.metrics().connection_closed(closed);
            drop(permit);
        });
    }
    tracing::info!("shutting down: finishing the requests in flight");
    drop(listener);
    let _ = stop_tx.send(true);
    // Every permit back means every connection has closed.
    let _ = permits.acquire_many(max).await;
    Ok(())
}

/// A client that went away between connecting and being accepted is no reason to pause.
fn is_client_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until the client closes it, a timeout closes it, or shutdown.
async fn serve_connection(
    tcp: TcpStream,
    router: Router,
    limits: ServerLimits,
    mut stop: watch::Receiver<bool>,
) -> Option<Closed> {
    let activity = Arc::new(Activity::new());
    let io = hyper_util::rt::TokioIo::new(Watched {
        inner: tcp,
        activity: activity.clone(),
    });
    let in_service = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
        let busy = Busy::start(in_service.clone());
        let answer = router.clone().oneshot(request.map(Body::new));
        async move {
            let response = answer.await;
            drop(busy);
            response
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true)
        .max_buf_size(MAX_HEAD_BYTES)
        // The watchdog below times the head; hyper's own timer would also run while idle.
        .header_read_timeout(None);
    let connection = http.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut draining = false;
    loop {
        let wake = match activity.deadline(&limits) {
            Some((at, _)) => at,
            // Answering: the request timeout bounds it; `answered` wakes us when it is done.
            None => Instant::now() + limits.request_timeout,
        };
        tokio::select! {
            () = activity.answered.notified() => {}
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return None;
            }
            changed = stop.changed(), if !draining => {
                draining = true;
                if changed.is_ok() {
                    // Idle connections close now; one answering finishes its request first.
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(wake) => {
                if let Some((at, why)) = activity.deadline(&limits) {
                    if Instant::now() >= at {
                        tracing::debug!(reason = ?why, "closing a stalled connection");
                        // Dropping the connection closes the socket.
                        return Some(why);
                    }
                }
            }
        }
    }
}

/// What a connection is doing, for its watchdog. The reads, writes and requests all happen on
/// the connection's own task; atomics only because the I/O wrapper and the service each hold it.
struct Activity {
    epoch: Instant,
    /// Requests being answered.
    busy: AtomicU32,
    /// Milliseconds since `epoch` when the current request head began; NONE when no head is
    /// being read. A new connection starts in this state at 0: its first request is due.
    head_since: AtomicU64,
    /// Milliseconds since `epoch` when bytes last moved either way, or an answer was made.
    last_io: AtomicU64,
    /// Told when a request has been answered, so that the watchdog, asleep while it was being
    /// answered, starts timing the silence now.
    answered: Notify,
}

const NONE: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Activity {
            epoch: Instant::now(),
            busy: AtomicU32::new(0),
            head_since: AtomicU64::new(0),
            last_io: AtomicU64::new(0),
            answered: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn read(&self) {
        let now = self.now_ms();
        self.last_io.store(now, Relaxed);
        if self.busy.load(Relaxed) == 0 && self.head_since.load(Relaxed) == NONE {
            self.head_since.store(now, Relaxed);
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now_ms(), Relaxed);
    }

    /// When the connection is to be closed if nothing changes, and why; None while a request is
    /// being answered.
    fn deadline(&self, limits: &ServerLimits) -> Option<(Instant, Closed)> {
        if self.busy.load(Relaxed) > 0 {
            return None;
        }
        let at = |ms: u64, after: Duration| self.epoch + Duration::from_millis(ms) + after;
        match self.head_since.load(Relaxed) {
            NONE => Some((
                at(self.last_io.load(Relaxed), limits.idle_timeout),
                Closed::IdleTimeout,
            )),
            since => Some((at(since, limits.header_read_timeout), Closed::HeaderTimeout)),
        }
    }
}

/// Marks a request as being answered while it lives (also when the client goes away mid-way).
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: Arc<Activity>) -> Busy {
        activity.busy.fetch_add(1, Relaxed);
        activity.head_since.store(NONE, Relaxed);
        Busy(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Relaxed);
        self.0.wrote();
        self.0.answered.notify_one();
    }
}

/// The socket, telling `Activity` when bytes move.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.activity.read();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        if n > 0 {
            self.activity.wrote();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, bufs))?;
        if n > 0 {
            self.activity.wrote();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Raises this process's soft limit on open files to its hard limit, so that the connection
/// bound, not the default soft limit (often 1024), decides how many clients are held; returns
/// the limit in force.
#[cfg(unix)]
pub fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not on every Unix
    Some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_open_files_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(5),
            max_connections: 10,
        }
    }

    #[test]
    fn a_connection_is_timed_by_its_head_then_by_its_silence() {
        let l = limits();
        let a = Arc::new(Activity::new());
        let (at, why) = a
            .deadline(&l)
            .expect("a new connection owes its first head");
        assert_eq!(why, Closed::HeaderTimeout);
        assert_eq!(at, a.epoch + l.header_read_timeout);
        a.read();
        assert_eq!(a.deadline(&l).map(|d| d.1), Some(Closed::HeaderTimeout));
        let busy = Busy::start(a.clone());
        assert_eq!(a.deadline(&l), None, "no timeout while answering");
        a.read();
        drop(busy);
        let (at, why) = a.deadline(&l).expect("idle");
        assert_eq!(why, Closed::IdleTimeout);
        assert!(at >= a.epoch + l.idle_timeout);
        // The next request's first byte starts its head timer.
        a.read();
        assert_eq!(a.deadline(&l).map(|d| d.1), Some(Closed::HeaderTimeout));
    }

    /// The watchdog sleeps while a request is answered; the silence after a long answer is timed
    /// from the answer, not from whenever the watchdog happens to wake next.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_idle_timeout_counts_from_the_answer_of_a_long_request() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = crate::store::Store::connect(&url).await.expect("store");
        let tokens = crate::api::Tokens::parse("V", "aaaaaaaaaaaaaaaa").expect("tokens");
        let state = ApiState::new(store.clone(), tokens, 10, Vec::new()).expect("state");
        let router = Router::new().route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "done"
            }),
        );
        let limits = ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(20),
            max_connections: 8,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(listener, router, state, limits, async {
            let _ = stopped.await;
        }));

        let mut client = TcpStream::connect(addr).await.expect("connect");
        client
            .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("send");
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.ends_with(b"done") {
            let n = client.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before the answer");
            seen.extend_from_slice(&buf[..n]);
        }
        let answered = Instant::now();
        let n = tokio::time::timeout(Duration::from_secs(15), client.read(&mut buf))
            .await
            .expect("the idle connection is closed")
            .unwrap_or(0);
        assert_eq!(n, 0, "nothing more comes");
        let after = answered.elapsed();
        assert!(
            after >= Duration::from_millis(700) && after < Duration::from_secs(4),
            "closed {after:?} after the answer (idle timeout 1 s)"
        );

        let _ = stop.send(());
        server.await.expect("task").expect("served");
        store.close().await;
    }
}
