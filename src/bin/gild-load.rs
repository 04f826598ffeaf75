//! `gild-load`: a load client for the read API (`gild serve`).
//!
//! It samples golden IDs, source keys and e-mails from the store (`--config`), then sends a mix
//! of look-ups by ID, by source key and by e-mail over `--connections` keep-alive HTTP/1.1
//! connections for `--duration` seconds: closed-loop (each connection sends its next request when
//! the last is answered) or, with `--rate`, open-loop at that many requests per second overall,
//! with latency measured from when each request was due, so that a slow server cannot hide
//! its queueing. Prints JSON with counts and percentiles per kind and overall; exits 1 on any
//! error (a failed connection, a status other than 200).
//!
//! With `--stalled N` it first opens N connections that send half a request (or nothing) and
//! then stall, as a slow-client attack does, keeps them open during the run and reports when the
//! server closed them: the look-up figures then say how the server answers with them open.
//!
//! The HTTP client is a small hand-written one: GET only, keep-alive, Content-Length or chunked
//! bodies. It shares the machine's cores with the server under test, so it does as little as
//! it can: no body parsing, no per-request allocation beyond the read buffer's growth.

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use gild::config::Config;
use gild::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Parser)]
#[command(name = "gild-load", about = "Load test the gild read API")]
struct Args {
    /// The API's base URL (http only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Environment variable holding the read token (the first of a comma-separated list is used).
    #[arg(long, default_value = "GILD_API_TOKENS")]
    token_env: String,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Open loop: requests per second over all connections. Without it, closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// The gild configuration whose store is sampled for IDs, keys and e-mails.
    #[arg(long, env = "GILD_CONFIG", default_value = "gild.toml")]
    config: PathBuf,
    /// How many of each kind to sample.
    #[arg(long, default_value_t = 20_000)]
    sample: i64,
    /// Before the run, open this many connections that send half a request and stall.
    #[arg(long, default_value_t = 0)]
    stalled: usize,
    /// Seconds (from their opening) to wait for the server to close the stalled connections.
    #[arg(long, default_value_t = 60.0)]
    stalled_wait: f64,
}

/// Slow-client connections: half a request line, half the headers, or nothing, then silence.
struct Stalled {
    opened: Instant,
    count: usize,
    /// When the server closed each, as it happens.
    closes: tokio::sync::mpsc::UnboundedReceiver<Duration>,
    closed: Vec<Duration>,
}

impl Stalled {
    async fn open(addr: &str, count: usize) -> Result<Stalled> {
        const PARTIALS: [&[u8]; 3] = [
            b"GET /v1/customers/G0000",
            b"GET /v1/customers/G00000001 HTTP/1.1\r\nHost: x\r\nAuthoriz",
            b"",
        ];
        let (tx, closes) = tokio::sync::mpsc::unbounded_channel();
        let opened = Instant::now();
        for i in 0..count {
            let mut stream = TcpStream::connect(addr)
                .await
                .with_context(|| format!("opening stalled connection {} of {count}", i + 1))?;
            stream.write_all(PARTIALS[i % PARTIALS.len()]).await?;
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                // Anything the server sends (a 408) is read past; the end is the close.
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                let _ = tx.send(opened.elapsed());
            });
        }
        Ok(Stalled {
            opened,
            count,
            closes,
            closed: Vec::new(),
        })
    }

    /// How many are still open now.
    fn open_now(&mut self) -> usize {
        while let Ok(t) = self.closes.try_recv() {
            self.closed.push(t);
        }
        self.count - self.closed.len()
    }

    /// Waits until the server has closed them all or `wait` has passed since they were opened;
    /// the report, and whether all were closed.
    async fn finish(mut self, open_at_end: usize, wait: Duration) -> (serde_json::Value, bool) {
        while self.closed.len() < self.count {
            let left = wait.saturating_sub(self.opened.elapsed());
            match tokio::time::timeout(left, self.closes.recv()).await {
                Ok(Some(t)) => self.closed.push(t),
                _ => break,
            }
        }
        let seconds = |d: Option<&Duration>| d.map(|d| (d.as_secs_f64() * 100.0).round() / 100.0);
        let all = self.closed.len() == self.count;
        (
            serde_json::json!({
                "opened": self.count,
                "open_when_the_run_ended": open_at_end,
                "closed_by_server": self.closed.len(),
                "closed_after_s_min": seconds(self.closed.iter().min()),
                "closed_after_s_max": seconds(self.closed.iter().max()),
                "waited_up_to_s": wait.as_secs_f64(),
            }),
            all,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Id,
    SourceKey,
    Email,
}

const KINDS: [Kind; 3] = [Kind::Id, Kind::SourceKey, Kind::Email];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Id => "by_id",
            Kind::SourceKey => "by_source_key",
            Kind::Email => "by_email",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// Latencies in microseconds and errors, per kind.
#[derive(Debug, Default)]
struct Tally {
    latencies: [Vec<u32>; 3],
    errors: [u64; 3],
    first_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        for i in 0..3 {
            self.latencies[i].extend_from_slice(&other.latencies[i]);
            self.errors[i] += other.errors[i];
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Everything unreserved (RFC 3986) stays, the rest is percent-encoded.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// xorshift64*: enough to spread requests over the sample, no dependency.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

/// Complete request texts per kind, built once.
struct Requests([Vec<Vec<u8>>; 3]);

fn build_requests(host: &str, token: &str, sample: gild::store::LookupSample) -> Requests {
    let request = |path: String| -> Vec<u8> {
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\r\n")
            .into_bytes()
    };
    Requests([
        sample
            .golden_ids
            .iter()
            .map(|id| request(format!("/v1/customers/{}", encode(id))))
            .collect(),
        sample
            .source_keys
            .iter()
            .map(|k| {
                request(format!(
                    "/v1/sources/{}/records/{}/customer",
                    encode(&k.source),
                    encode(&k.key)
                ))
            })
            .collect(),
        sample
            .emails
            .iter()
            .map(|e| request(format!("/v1/customers?email={}", encode(e))))
            .collect(),
    ])
}

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    async fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Sends one request and reads its response; returns the status and whether the server
    /// keeps the connection open.
    async fn get(&mut self, request: &[u8]) -> Result<(u16, bool)> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let head_end = loop {
            if let Some(p) = find(&self.buf, b"\r\n\r\n") {
                break p + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).context("response head")?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line"))?;
        let (mut length, mut chunked, mut keep_alive) = (None, false, true);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().context("content-length")?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                keep_alive = !value.eq_ignore_ascii_case("close");
            }
        }
        if chunked {
            self.read_chunked(head_end).await?;
        } else {
            let end = head_end + length.unwrap_or(0);
            while self.buf.len() < end {
                self.fill().await?;
            }
        }
        Ok((status, keep_alive))
    }

    async fn read_chunked(&mut self, mut at: usize) -> Result<()> {
        loop {
            let line_end = loop {
                if let Some(p) = find(&self.buf[at..], b"\r\n") {
                    break at + p;
                }
                self.fill().await?;
            };
            let size_text = std::str::from_utf8(&self.buf[at..line_end])?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .context("chunk size")?;
            // The chunk, then its CRLF; the last (empty) chunk ends with an empty line.
            let end = line_end + 2 + size + 2;
            while self.buf.len() < end {
                self.fill().await?;
            }
            if size == 0 {
                return Ok(());
            }
            at = end;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One connection's loop until `deadline`; `interval` set means open loop.
async fn worker(
    addr: String,
    requests: std::sync::Arc<Requests>,
    seed: u64,
    start: Instant,
    deadline: Instant,
    interval: Option<Duration>,
) -> Tally {
    let mut tally = Tally::default();
    let mut rng = Rng(seed | 1);
    let mut conn: Option<Conn> = None;
    let mut next_due =
        start + interval.map_or(Duration::ZERO, |i| i.mul_f64((seed % 1000) as f64 / 1000.0));
    let mut n: usize = seed as usize;
    loop {
        if interval.is_some() {
            if next_due >= deadline {
                break;
            }
            tokio::time::sleep_until(next_due.into()).await;
        } else if Instant::now() >= deadline {
            break;
        }
        // Kinds in turn, so the mix is an even third each.
        let kind = KINDS[n % 3];
        n += 1;
        let pool = &requests.0[kind.index()];
        if pool.is_empty() {
            continue;
        }
        let request = &pool[rng.below(pool.len())];
        let began = match interval {
            Some(_) => next_due,
            None => Instant::now(),
        };
        if let Some(i) = interval {
            next_due += i;
        }
        let result = async {
            if conn.is_none() {
                conn = Some(Conn::open(&addr).await?);
            }
            match conn.as_mut() {
                Some(c) => c.get(request).await,
                None => bail!("no connection"),
            }
        }
        .await;
        let micros = began.elapsed().as_micros().min(u32::MAX as u128) as u32;
        match result {
            Ok((200, keep_alive)) => {
                tally.latencies[kind.index()].push(micros);
                if !keep_alive {
                    conn = None;
                }
            }
            Ok((status, keep_alive)) => {
                tally.errors[kind.index()] += 1;
                tally
                    .first_error
                    .get_or_insert_with(|| format!("{}: HTTP status {status}", kind.name()));
                if !keep_alive {
                    conn = None;
                }
            }
            Err(e) => {
                tally.errors[kind.index()] += 1;
                tally
                    .first_error
                    .get_or_insert_with(|| format!("{}: {e:#}", kind.name()));
                conn = None;
            }
        }
    }
    tally
}

fn summary(latencies: &mut [u32], errors: u64, seconds: f64) -> serde_json::Value {
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i] as f64 / 1000.0
    };
    let requests = latencies.len() as u64 + errors;
    serde_json::json!({
        "requests": requests,
        "errors": errors,
        "rps": ((requests as f64 / seconds) * 10.0).round() / 10.0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": latencies.last().map_or(0.0, |m| *m as f64 / 1000.0),
    })
}

async fn run(args: Args) -> Result<bool> {
    let token = std::env::var(&args.token_env)
        .ok()
        .and_then(|v| {
            v.split(',')
                .map(str::trim)
                .find(|t| !t.is_empty())
                .map(str::to_string)
        })
        .ok_or_else(|| anyhow!("environment variable {} holds no token", args.token_env))?;
    let authority = args
        .url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--url must start with http:// (got {})", args.url))?
        .trim_end_matches('/')
        .to_string();
    if authority.contains('/') {
        bail!("--url is the server's base URL, such as http://127.0.0.1:8080");
    }
    if args.connections == 0 || args.duration <= 0.0 || args.rate.is_some_and(|r| r <= 0.0) {
        bail!("--connections, --duration and --rate must be positive");
    }

    let config = Config::load(&args.config)?;
    let store = Store::connect(&config.store_url).await?;
    let sampled_at = Instant::now();
    let sample = store.sample_lookups(args.sample).await?;
    store.close().await;
    if sample.golden_ids.is_empty() {
        bail!("the store has no golden customers: run gild sync first");
    }
    eprintln!(
        "sampled {} ids, {} source keys, {} e-mails in {:.1} s; {} connections for {} s, {}",
        sample.golden_ids.len(),
        sample.source_keys.len(),
        sample.emails.len(),
        sampled_at.elapsed().as_secs_f64(),
        args.connections,
        args.duration,
        match args.rate {
            Some(r) => format!("open loop at {r} requests/s"),
            None => "closed loop".into(),
        }
    );
    let requests = std::sync::Arc::new(build_requests(&authority, &token, sample));
    let mut stalled = match args.stalled {
        0 => None,
        n => {
            // The stalled sockets and the run's both need descriptors.
            gild::api::raise_open_files_limit();
            let s = Stalled::open(&authority, n).await?;
            eprintln!(
                "{n} stalled connections open in {:.2} s",
                s.opened.elapsed().as_secs_f64()
            );
            Some(s)
        }
    };

    let interval = args
        .rate
        .map(|r| Duration::from_secs_f64(args.connections as f64 / r));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.duration);
    let mut tasks = Vec::new();
    for i in 0..args.connections {
        let seed = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1);
        tasks.push(tokio::spawn(worker(
            authority.clone(),
            requests.clone(),
            seed,
            start,
            deadline,
            interval,
        )));
    }
    let mut total = Tally::default();
    for t in tasks {
        total.merge(t.await?);
    }
    let seconds = start.elapsed().as_secs_f64();
    let (stalled_report, stalled_ok) = match stalled.take() {
        None => (serde_json::Value::Null, true),
        Some(mut s) => {
            let open_at_end = s.open_now();
            s.finish(open_at_end, Duration::from_secs_f64(args.stalled_wait))
                .await
        }
    };

    let mut by_kind = serde_json::Map::new();
    for k in KINDS {
        let i = k.index();
        by_kind.insert(
            k.name().into(),
            summary(&mut total.latencies[i].clone(), total.errors[i], seconds),
        );
    }
    let mut all: Vec<u32> = total.latencies.iter().flatten().copied().collect();
    let errors: u64 = total.errors.iter().sum();
    let report = serde_json::json!({
        "url": args.url,
        "connections": args.connections,
        "duration_s": (seconds * 100.0).round() / 100.0,
        "mode": if args.rate.is_some() { "open_loop" } else { "closed_loop" },
        "target_rps": args.rate,
        "overall": summary(&mut all, errors, seconds),
        "by_kind": by_kind,
        "first_error": total.first_error,
        "stalled": stalled_report,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(errors == 0 && stalled_ok)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
