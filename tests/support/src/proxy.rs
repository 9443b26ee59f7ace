//! A fault-injecting HTTP/1.1 proxy for integration tests.
//!
//! [`FaultProxy::start`] listens on `127.0.0.1:0` and forwards to one upstream on the loopback
//! interface. Every client connection carries exactly one request: the proxy reads the request head
//! (at most 64 KiB) and its `Content-Length` body, picks a [`Fault`] (the scheduled queue first, else
//! the default), and, for the faults that forward, opens a new upstream connection with
//! `Connection: close`, reads the upstream's response to EOF and answers the client with
//! `Connection: close` before closing the connection. Everything else in the upstream's response
//! (status, headers, `Content-Encoding`, chunked framing, body bytes) passes through untouched.
//!
//! Only `Content-Length` request bodies are supported: `Transfer-Encoding` is answered with 501.
//! Errors of the proxy itself (unparsable request, upstream unreachable) are answered with the
//! ServiceNow error envelope (400, 413, 431, 501, 502) and logged to stderr; socket I/O errors drop
//! the connection. Dropping the [`FaultProxy`] aborts its accept loop and every connection task.
//!
//! "Dropping a connection" means an abortive close (`SO_LINGER` 0): the client sees a TCP reset.
//!
//! A proxy started with [`FaultProxy::start_throttled`] (or given a [`Link`] with
//! [`FaultProxy::set_link`]) also stands for a thin link between the clients and the back-end: a
//! bandwidth shared by every connection in each direction, and a fixed one-way latency. The
//! upstream side stays loopback-fast: the thin part is the client's last mile.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep_until, timeout};

/// Request heads larger than this are answered with 431.
const MAX_HEAD: usize = 64 * 1024;
/// Request bodies larger than this are answered with 413.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Upstream responses larger than this are answered with 502.
const MAX_RESPONSE: usize = 64 * 1024 * 1024;
/// Connections handled at once; further clients wait in the listen backlog.
const MAX_CONNECTIONS: usize = 256;
/// Bound on reading a request, connecting upstream, and on each write.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on the upstream's whole response.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a closed connection's read side is drained so that the peer reads our response
/// before the kernel would answer its late bytes with a reset.
const LINGER_DRAIN: Duration = Duration::from_secs(2);
const DETAIL: &str = "injected by the test proxy";
/// On a throttled link, answers are written in slices this big, each when the link would have
/// carried it: 512 bytes are 64 ms at 64 kbit/s, fine enough for timings in seconds, and
/// concurrent answers share the link slice by slice.
const SLICE: usize = 512;

/// A thin link between the clients and the proxy (e.g. 64 kbit/s, 300 ms round trip).
///
/// The model: each direction is a pipe of `bits_per_second`, shared by every connection (a byte
/// waits for the bytes queued before it, whichever connection sent them), and every byte
/// arrives `round_trip / 2` after it left. A request is read in full at loopback speed, then held
/// for as long as its bytes would take to cross the link to the proxy; an answer's bytes are
/// written as they would arrive at the client. Not modelled: TCP's handshake and slow start,
/// losses, the bytes of TCP/IP headers (the proxy counts HTTP bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub bits_per_second: u64,
    pub round_trip: Duration,
}

impl Link {
    /// What issue #9 calls a thin link: 64 kbit/s (8,000 bytes a second), 300 ms round trip.
    pub const THIN: Link = Link {
        bits_per_second: 64_000,
        round_trip: Duration::from_millis(300),
    };

    pub fn one_way(&self) -> Duration {
        self.round_trip / 2
    }

    /// How long `bytes` take to go onto the wire at this rate (latency not included).
    pub fn transmit(&self, bytes: u64) -> Duration {
        // Nanoseconds in u128: 64 MiB at 1 bit/s would overflow u64 nanoseconds.
        let nanos = u128::from(bytes) * 8 * 1_000_000_000 / u128::from(self.bits_per_second.max(1));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// The physical floor for an exchange done one request at a time: every byte at the link's
    /// rate, plus one round trip per request.
    pub fn floor(&self, bytes: u64, round_trips: u64) -> Duration {
        let trips = u32::try_from(round_trips).unwrap_or(u32::MAX);
        self.transmit(bytes) + self.round_trip.saturating_mul(trips)
    }
}

/// One direction of a [`Link`]: when the pipe is next free.
#[derive(Debug)]
struct Pipe {
    free_at: Mutex<Option<Instant>>,
}

impl Pipe {
    fn new() -> Pipe {
        Pipe {
            free_at: Mutex::new(None),
        }
    }

    /// Queues `bytes` on the pipe at `now`; returns when their last byte has left.
    fn reserve(&self, link: &Link, now: Instant, bytes: u64) -> Instant {
        let mut free_at = self.free_at.lock().unwrap_or_else(PoisonError::into_inner);
        let left = queue(*free_at, now, link.transmit(bytes));
        *free_at = Some(left);
        left
    }
}

/// The pacing arithmetic of a pipe, apart for unit tests: bytes sent at `now` start when the pipe
/// is free (now, or when the bytes queued before them have left) and take `transmit`. Returns
/// when they have left, which is also when the pipe is free again.
fn queue<T>(free_at: Option<T>, now: T, transmit: Duration) -> T
where
    T: Ord + Copy + std::ops::Add<Duration, Output = T>,
{
    free_at.map_or(now, |free| free.max(now)) + transmit
}

/// What the proxy does with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward and answer with the upstream's response, byte for byte (bar `Connection: close`).
    Pass,
    /// Read the request, never forward it, reset the client connection: the server never saw it.
    ResetBeforeUpstream,
    /// Forward, wait for the upstream's full response (so the server has applied the request),
    /// then reset the client connection without sending anything: the client's outcome is unknown.
    ResetAfterUpstream,
    /// Forward, then wait this long before answering the client.
    Delay(Duration),
    /// Do not forward; answer this status with a ServiceNow error envelope.
    Status(u16),
    /// Do not forward; 429 with `Retry-After`, `X-RateLimit-Reset` and "Rate limit exceeded".
    TooManyRequests { retry_after_secs: u64 },
    /// Forward, then send the upstream's status line and headers (`Content-Length` kept, if any)
    /// and only the first half of the body bytes as received (still compressed, still in chunked
    /// framing if the upstream used it), then close. An empty body stays empty.
    TruncateBody,
    /// Do not forward; answer exactly this (a back-end gone wrong: bad JSON,
    /// wrong types, a lying `Content-Length`...). `Content-Length` is added
    /// from the body unless `headers` sets it.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

/// Counters since the proxy started. Each is bumped before the client can see the effect
/// (before the answer is written or the connection reset), so a test that has its outcome in
/// hand reads counters that already include it.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests read in full (including those the proxy refused as malformed). Connections cut
    /// while the proxy is down carry no request and are not counted anywhere.
    pub requests: u64,
    /// Requests written to the upstream.
    pub forwarded: u64,
    /// Requests that met a fault other than [`Fault::Pass`].
    pub faults: u64,
    /// Bytes handed to clients' sockets: heads and bodies, injected answers included (counted
    /// just before each write, so a failed write still counts).
    pub bytes_to_client: u64,
    /// Bytes read from clients' sockets (request heads and bodies, as sent).
    pub bytes_from_client: u64,
}

pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

struct Shared {
    upstream: SocketAddr,
    default: Mutex<Fault>,
    scheduled: Mutex<VecDeque<Fault>>,
    /// Faults for writes (PATCH, PUT, POSTs to the Table API, GraphQL
    /// mutations) only.
    scheduled_writes: Mutex<VecDeque<Fault>>,
    /// Faults for requests whose target (path and query) contains the text.
    scheduled_matching: Mutex<Vec<(String, VecDeque<Fault>)>>,
    down: AtomicBool,
    requests: AtomicU64,
    forwarded: AtomicU64,
    faults: AtomicU64,
    bytes_to_client: AtomicU64,
    bytes_from_client: AtomicU64,
    /// The thin link, if any; its two directions.
    link: Mutex<Option<Link>>,
    to_client: Pipe,
    from_client: Pipe,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:4567`, `127.0.0.1:4567`,
    /// `localhost:4567`; a path is ignored). Panics if the upstream is not a loopback address.
    pub async fn start(upstream: &str) -> FaultProxy {
        FaultProxy::start_with(upstream, None).await
    }

    /// Starts a proxy that also stands for a thin link (see [`Link`]).
    pub async fn start_throttled(upstream: &str, link: Link) -> FaultProxy {
        FaultProxy::start_with(upstream, Some(link)).await
    }

    async fn start_with(upstream: &str, link: Option<Link>) -> FaultProxy {
        let upstream = resolve_loopback(upstream).await;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fault proxy: bind 127.0.0.1:0");
        let local = listener.local_addr().expect("fault proxy: local address");
        let shared = Arc::new(Shared {
            upstream,
            default: Mutex::new(Fault::Pass),
            scheduled: Mutex::new(VecDeque::new()),
            scheduled_writes: Mutex::new(VecDeque::new()),
            scheduled_matching: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            bytes_to_client: AtomicU64::new(0),
            bytes_from_client: AtomicU64::new(0),
            link: Mutex::new(link),
            to_client: Pipe::new(),
            from_client: Pipe::new(),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        FaultProxy {
            url: format!("http://{local}"),
            shared,
            accept,
        }
    }

    /// The fault for every request with no scheduled fault (initially [`Fault::Pass`]).
    pub fn set_default(&self, fault: Fault) {
        *self
            .shared
            .default
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = fault;
    }

    /// Queues faults, one per incoming request in arrival order (the order in which requests
    /// are read in full), before the default applies again.
    pub fn schedule(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared
            .scheduled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(faults);
    }

    /// Like [`schedule`](Self::schedule), but only Table API writes (PATCH,
    /// PUT, POST under /api/) draw from this queue; they draw from it before
    /// the general one.
    pub fn schedule_writes(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared
            .scheduled_writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(faults);
    }

    /// Like [`schedule`](Self::schedule), but only requests whose target
    /// (path and query string, as sent) contains `text` draw from this
    /// queue; they draw from it before any other.
    pub fn schedule_matching(&self, text: &str, faults: impl IntoIterator<Item = Fault>) {
        self.shared
            .scheduled_matching
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((text.to_string(), faults.into_iter().collect()));
    }

    pub fn stats(&self) -> Stats {
        let s = &self.shared;
        Stats {
            requests: s.requests.load(Ordering::SeqCst),
            forwarded: s.forwarded.load(Ordering::SeqCst),
            faults: s.faults.load(Ordering::SeqCst),
            bytes_to_client: s.bytes_to_client.load(Ordering::SeqCst),
            bytes_from_client: s.bytes_from_client.load(Ordering::SeqCst),
        }
    }

    /// The thin link from now on (None: loopback speed). Requests and answers already on their
    /// way keep the link they started with, slice by slice.
    pub fn set_link(&self, link: Option<Link>) {
        *self
            .shared
            .link
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = link;
    }

    pub fn link(&self) -> Option<Link> {
        self.shared.link()
    }

    /// While down, every new connection is accepted and at once reset (`SO_LINGER` 0), before
    /// a byte is read: the link is cut. The client fails fast with "connection reset" or
    /// "connection closed before message completed" rather than "connection refused" (that would
    /// need closing the listener, and the port could then be lost). Connections accepted before
    /// the switch finish normally. Nothing reaches the upstream and nothing is counted.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The accept task owns the JoinSet of connection tasks: aborting it aborts them all.
        self.accept.abort();
    }
}

impl Shared {
    fn link(&self) -> Option<Link> {
        *self.link.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_fault(&self, write: bool, target: &str) -> Fault {
        let matching = self
            .scheduled_matching
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter_mut()
            .filter(|(text, _)| target.contains(text.as_str()))
            .find_map(|(_, faults)| faults.pop_front());
        if let Some(fault) = matching {
            return fault;
        }
        if write {
            let fault = self
                .scheduled_writes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front();
            if let Some(fault) = fault {
                return fault;
            }
        }
        let scheduled = self
            .scheduled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        scheduled.unwrap_or_else(|| {
            self.default
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        })
    }
}

async fn resolve_loopback(upstream: &str) -> SocketAddr {
    assert!(
        !upstream.starts_with("https://"),
        "fault proxy: plain HTTP upstreams only, not {upstream}"
    );
    let authority = upstream.strip_prefix("http://").unwrap_or(upstream);
    let authority = authority.split('/').next().unwrap_or(authority);
    let candidates: Vec<SocketAddr> = tokio::net::lookup_host(authority)
        .await
        .unwrap_or_else(|e| panic!("fault proxy: cannot resolve upstream {upstream}: {e}"))
        .collect();
    candidates
        .iter()
        .copied()
        .find(|a| a.ip().is_loopback())
        .unwrap_or_else(|| panic!("fault proxy: upstream {upstream} is not on loopback"))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(e) => {
                // E.g. EMFILE: back off rather than spin.
                eprintln!("fault proxy: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if shared.down.load(Ordering::SeqCst) {
            reset(client);
            continue;
        }
        let shared = shared.clone();
        tasks.spawn(async move {
            handle(client, &shared).await;
            drop(permit);
        });
    }
}

/// Abortive close: RST instead of FIN.
fn reset(stream: TcpStream) {
    if let Err(e) = stream.set_zero_linger() {
        eprintln!("fault proxy: SO_LINGER: {e}");
    }
    drop(stream);
}

/// A request read in full, its head rewritten for the upstream.
struct Request {
    upstream_head: Vec<u8>,
    body: Vec<u8>,
    /// A PATCH, PUT, or a POST under /api/ (not the token endpoint).
    write: bool,
    /// Its path and query string, as sent.
    target: String,
    /// Bytes the client sent for it (head and body as read).
    wire_bytes: u64,
}

enum ReadError {
    /// The client closed before sending a byte: nothing to say.
    Quiet,
    /// The connection failed: drop it.
    Io(String),
    /// A request the proxy will not forward: answer this status and detail.
    Refuse(u16, String),
}

async fn handle(mut client: TcpStream, shared: &Shared) {
    let _ = client.set_nodelay(true);
    let request = match timeout(IO_TIMEOUT, read_request(&mut client, shared)).await {
        Err(_) => {
            eprintln!("fault proxy: timed out reading a request");
            return reset(client);
        }
        Ok(Err(ReadError::Quiet)) => return,
        Ok(Err(ReadError::Io(e))) => {
            eprintln!("fault proxy: reading a request: {e}");
            return reset(client);
        }
        Ok(Err(ReadError::Refuse(status, detail))) => {
            shared.requests.fetch_add(1, Ordering::SeqCst);
            eprintln!("fault proxy: refused a request with {status}: {detail}");
            let answer = envelope(status, reason(status), &detail, &[]);
            return answer_and_close(client, &answer, shared).await;
        }
        Ok(Ok(request)) => request,
    };
    if let Some(link) = shared.link() {
        // The request reached the proxy at loopback speed: hold it until its last byte would
        // have crossed the thin link.
        let left = shared
            .from_client
            .reserve(&link, Instant::now(), request.wire_bytes);
        sleep_until(left + link.one_way()).await;
    }
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let fault = shared.next_fault(request.write, &request.target);
    if !matches!(fault, Fault::Pass) {
        shared.faults.fetch_add(1, Ordering::SeqCst);
    }
    match fault {
        Fault::ResetBeforeUpstream => reset(client),
        Fault::Status(status) => {
            let answer = envelope(status, reason(status), DETAIL, &[]);
            answer_and_close(client, &answer, shared).await;
        }
        Fault::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            {
                head.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            for (name, value) in &headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("Connection: close\r\n\r\n");
            let mut answer = head.into_bytes();
            answer.extend_from_slice(&body);
            answer_and_close(client, &answer, shared).await;
        }
        Fault::TooManyRequests { retry_after_secs } => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let headers = [
                ("Retry-After", retry_after_secs.to_string()),
                (
                    "X-RateLimit-Reset",
                    now.saturating_add(retry_after_secs).to_string(),
                ),
            ];
            let detail = format!("{DETAIL}: retry after {retry_after_secs} s");
            let answer = envelope(429, "Rate limit exceeded", &detail, &headers);
            answer_and_close(client, &answer, shared).await;
        }
        Fault::Pass | Fault::ResetAfterUpstream | Fault::Delay(_) | Fault::TruncateBody => {
            let response = match forward(&request, shared).await {
                Ok(response) => response,
                Err(e) => {
                    eprintln!("fault proxy: upstream {}: {e}", shared.upstream);
                    let detail = format!("test proxy: upstream {}: {e}", shared.upstream);
                    let answer = envelope(502, "Bad Gateway", &detail, &[]);
                    return answer_and_close(client, &answer, shared).await;
                }
            };
            let Some(split) = find_head_end(&response) else {
                eprintln!("fault proxy: the upstream's response has no complete head");
                let detail = "test proxy: malformed upstream response";
                let answer = envelope(502, "Bad Gateway", detail, &[]);
                return answer_and_close(client, &answer, shared).await;
            };
            let (head, body) = response.split_at(split);
            let mut answer = rewrite_head(head, &["connection", "keep-alive"]);
            match fault {
                Fault::ResetAfterUpstream => return reset(client),
                Fault::Delay(delay) => {
                    tokio::time::sleep(delay).await;
                    answer.extend_from_slice(body);
                }
                Fault::TruncateBody => answer.extend_from_slice(&body[..body.len() / 2]),
                _ => answer.extend_from_slice(body),
            }
            answer_and_close(client, &answer, shared).await;
        }
    }
}

async fn read_request(client: &mut TcpStream, shared: &Shared) -> Result<Request, ReadError> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let from = buf.len().saturating_sub(3);
        let n = client
            .read(&mut chunk)
            .await
            .map_err(|e| ReadError::Io(e.to_string()))?;
        if n == 0 {
            return Err(if buf.is_empty() {
                ReadError::Quiet
            } else {
                ReadError::Io("end of stream inside the request head".into())
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        shared
            .bytes_from_client
            .fetch_add(n as u64, Ordering::SeqCst);
        if let Some(end) = find_head_end(&buf[from..]) {
            break from + end;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Refuse(
                431,
                format!("request head over {MAX_HEAD} bytes"),
            ));
        }
    };
    if head_end > MAX_HEAD {
        return Err(ReadError::Refuse(
            431,
            format!("request head over {MAX_HEAD} bytes"),
        ));
    }
    let head = &buf[..head_end];
    let Ok(text) = std::str::from_utf8(head) else {
        return Err(ReadError::Refuse(400, "request head is not UTF-8".into()));
    };
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let parts: Vec<&str> = request_line.split(' ').collect();
    let graphql = matches!(parts.as_slice(), [_, path, _] if path.starts_with("/api/v2/graphql"));
    let write = match parts.as_slice() {
        [method, path, _] => {
            matches!(*method, "PATCH" | "PUT") || (*method == "POST" && path.starts_with("/api/"))
        }
        _ => false,
    };
    if parts.len() != 3 || !parts[2].starts_with("HTTP/1.") {
        return Err(ReadError::Refuse(
            400,
            format!("not an HTTP/1.x request line: {request_line:?}"),
        ));
    }
    let mut length: Option<usize> = None;
    let mut expect_continue = false;
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Refuse(
                400,
                format!("malformed header line {line:?}"),
            ));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ReadError::Refuse(
                501,
                format!(
                    "Transfer-Encoding: {value} is not supported by the test proxy (Content-Length bodies only)"
                ),
            ));
        } else if name.eq_ignore_ascii_case("content-length") {
            let Ok(n) = value.parse::<usize>() else {
                return Err(ReadError::Refuse(
                    400,
                    format!("bad Content-Length {value:?}"),
                ));
            };
            if length.is_some_and(|m| m != n) {
                return Err(ReadError::Refuse(400, "conflicting Content-Length".into()));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("expect") && value.eq_ignore_ascii_case("100-continue")
        {
            expect_continue = true;
        }
    }
    let length = length.unwrap_or(0);
    if length > MAX_BODY {
        return Err(ReadError::Refuse(
            413,
            format!("request body of {length} bytes, over {MAX_BODY}"),
        ));
    }
    let mut body = buf[head_end..].to_vec();
    if expect_continue && body.len() < length {
        // The proxy answers the expectation itself and strips `Expect` from the forwarded head.
        let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
        write_client(client, cont, shared)
            .await
            .map_err(ReadError::Io)?;
    }
    while body.len() < length {
        let n = client
            .read(&mut chunk)
            .await
            .map_err(|e| ReadError::Io(e.to_string()))?;
        if n == 0 {
            return Err(ReadError::Io(format!(
                "end of stream after {} of {length} body bytes",
                body.len()
            )));
        }
        body.extend_from_slice(&chunk[..n]);
        shared
            .bytes_from_client
            .fetch_add(n as u64, Ordering::SeqCst);
    }
    let wire_bytes = (head_end + body.len()) as u64;
    if body.len() > length {
        eprintln!(
            "fault proxy: ignoring {} bytes after the request (no pipelining)",
            body.len() - length
        );
        body.truncate(length);
    }
    // Démarches Simplifiées' API posts every request to one endpoint: the
    // writes are the GraphQL mutations.
    let write = if graphql {
        let text = String::from_utf8_lossy(&body);
        text.contains("\"query\":\"mutation")
    } else {
        write
    };
    Ok(Request {
        upstream_head: rewrite_head(
            head,
            &["connection", "keep-alive", "proxy-connection", "expect"],
        ),
        body,
        write,
        target: parts[1].to_string(),
        wire_bytes,
    })
}

/// Sends the request on a new upstream connection and reads the response to EOF.
async fn forward(request: &Request, shared: &Shared) -> Result<Vec<u8>, String> {
    let mut upstream = timeout(IO_TIMEOUT, TcpStream::connect(shared.upstream))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = upstream.set_nodelay(true);
    let mut out = Vec::with_capacity(request.upstream_head.len() + request.body.len());
    out.extend_from_slice(&request.upstream_head);
    out.extend_from_slice(&request.body);
    timeout(IO_TIMEOUT, upstream.write_all(&out))
        .await
        .map_err(|_| "write timed out".to_string())?
        .map_err(|e| format!("write: {e}"))?;
    shared.forwarded.fetch_add(1, Ordering::SeqCst);
    // No half-close: hyper servers drop a connection whose client shuts down its write side.
    let read = async {
        let mut response = Vec::with_capacity(8192);
        let mut chunk = [0u8; 16384];
        loop {
            let n = upstream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Ok(response);
            }
            if response.len() + n > MAX_RESPONSE {
                return Err(format!("response over {MAX_RESPONSE} bytes"));
            }
            response.extend_from_slice(&chunk[..n]);
        }
    };
    timeout(UPSTREAM_TIMEOUT, read)
        .await
        .map_err(|_| "response timed out".to_string())?
}

/// Counts, then writes: the counters never lag behind what a client has already read. On a thin
/// link, writes slice by slice, each slice when it would arrive at the client.
async fn write_client(client: &mut TcpStream, bytes: &[u8], shared: &Shared) -> Result<(), String> {
    let Some(link) = shared.link() else {
        return write_slice(client, bytes, shared).await;
    };
    // Every byte arrives one way later than it leaves: the whole answer shifts by that much
    // (sleeping it per slice would add it again for each slice).
    tokio::time::sleep(link.one_way()).await;
    for slice in bytes.chunks(SLICE) {
        let left = shared
            .to_client
            .reserve(&link, Instant::now(), slice.len() as u64);
        sleep_until(left).await;
        write_slice(client, slice, shared).await?;
    }
    Ok(())
}

/// One write, counted first, bounded by [`IO_TIMEOUT`] (the link's pacing is not in the bound).
async fn write_slice(client: &mut TcpStream, bytes: &[u8], shared: &Shared) -> Result<(), String> {
    shared
        .bytes_to_client
        .fetch_add(bytes.len() as u64, Ordering::SeqCst);
    match timeout(IO_TIMEOUT, client.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("write: {e}")),
        Err(_) => Err("write timed out".into()),
    }
}

/// Writes the answer, closes the write side (FIN), then drains what the client may still send
/// for a bounded time, so that the answer is read rather than cut by a reset.
async fn answer_and_close(mut client: TcpStream, answer: &[u8], shared: &Shared) {
    if let Err(e) = write_client(&mut client, answer, shared).await {
        eprintln!("fault proxy: answering a client: {e}");
        return reset(client);
    }
    if timeout(IO_TIMEOUT, client.shutdown()).await.is_err() {
        return reset(client);
    }
    let drain = async {
        let mut sink = [0u8; 8192];
        while let Ok(n) = client.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = timeout(LINGER_DRAIN, drain).await;
}

/// Index just past the first `\r\n\r\n`.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// A head (ending with the empty line) without the named headers, with `Connection: close`.
fn rewrite_head(head: &[u8], drop: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + 19);
    let body = head.strip_suffix(b"\r\n\r\n").unwrap_or(head);
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if i > 0 {
            let name = line.split(|&b| b == b':').next().unwrap_or(line);
            let name = name.trim_ascii();
            if drop.iter().any(|d| name.eq_ignore_ascii_case(d.as_bytes())) {
                continue;
            }
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

/// A ServiceNow error answer: `{"error":{"message","detail"},"status":"failure"}`.
fn envelope(status: u16, message: &str, detail: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let body = if matches!(status, 100..=199 | 204 | 304) {
        String::new()
    } else {
        serde_json::json!({
            "error": {"message": message, "detail": detail},
            "status": "failure",
        })
        .to_string()
    };
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\n",
        reason(status),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Injected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thin_link_carries_8000_bytes_a_second_and_half_its_round_trip_each_way() {
        let link = Link::THIN;
        assert_eq!(link.transmit(8_000), Duration::from_secs(1));
        assert_eq!(link.transmit(512), Duration::from_millis(64));
        assert_eq!(link.transmit(0), Duration::ZERO);
        assert_eq!(link.one_way(), Duration::from_millis(150));
        // 16,000 bytes in 3 requests: 2 s on the wire and 3 round trips.
        assert_eq!(link.floor(16_000, 3), Duration::from_millis(2_900));
        // No overflow on absurd sizes.
        let slow = Link {
            bits_per_second: 1,
            round_trip: Duration::ZERO,
        };
        assert_eq!(slow.transmit(u64::MAX), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn bytes_queue_behind_the_bytes_sent_before_them() {
        let ms = Duration::from_millis;
        // An idle pipe: the bytes leave after their own transmission time.
        assert_eq!(queue(None, ms(1_000), ms(64)), ms(1_064));
        // A busy pipe (free at 1,064 ms): bytes sent at 1,010 ms wait for it.
        assert_eq!(queue(Some(ms(1_064)), ms(1_010), ms(64)), ms(1_128));
        // A pipe that went idle (free since 1,064 ms): no credit for the idle time.
        assert_eq!(queue(Some(ms(1_064)), ms(2_000), ms(64)), ms(2_064));
    }
}
