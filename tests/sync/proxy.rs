//! The fault proxy (tests/support/src/proxy.rs) itself, against a real
//! `guichet serve`: each fault does what it says.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::client::CASES;
use support::proxy::{Fault, FaultProxy, Link};
use support::server::{Server, start};

fn http() -> reqwest::Client {
    support::http_client()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// A client without automatic decompression, to see the bytes on the wire.
fn raw_http() -> reqwest::Client {
    support::http_client()
        .timeout(Duration::from_secs(10))
        .no_gzip()
        .build()
        .expect("http client")
}

fn request(
    http: &reqwest::Client,
    method: Method,
    base: &str,
    path: &str,
) -> reqwest::RequestBuilder {
    http.request(method, format!("{base}{path}"))
        .header("Accept", "application/json")
        .basic_auth("demo", Some("demo"))
}

async fn get_json(http: &reqwest::Client, base: &str, path: &str) -> (StatusCode, Value) {
    let response = request(http, Method::GET, base, path)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

/// Sets up a server, a proxy in front of it, and an open case to comment on.
async fn setup() -> (Server, FaultProxy, String) {
    let server = start(20, &[]);
    let proxy = FaultProxy::start(&server.url).await;
    let (status, body) = get_json(
        &http(),
        &server.url,
        &format!("{CASES}?sysparm_query=stateIN1,10,18^ORDERBYnumber&sysparm_limit=1&sysparm_fields=sys_id"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["result"][0]["sys_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no open case: {body}"))
        .to_string();
    (server, proxy, id)
}

/// PATCHes a comment onto the case through `base`.
async fn comment(base: &str, id: &str, text: &str) -> reqwest::Result<reqwest::Response> {
    request(&http(), Method::PATCH, base, &format!("{CASES}/{id}"))
        .json(&json!({ "comments": text }))
        .send()
        .await
}

/// Whether the case's journal holds `text`, read directly from the server.
async fn journal_has(server: &Server, id: &str, text: &str) -> bool {
    let values = server.client("demo").journal_values(id).await;
    values.iter().any(|v| v == text)
}

fn authority(url: &str) -> &str {
    url.strip_prefix("http://").expect("http URL")
}

#[tokio::test]
async fn pass_forwards_what_the_server_answers() {
    let (server, proxy, _) = setup().await;
    let path = format!("{CASES}?sysparm_query=ORDERBYnumber&sysparm_limit=5");
    let (direct_status, direct) = get_json(&http(), &server.url, &path).await;
    let (proxied_status, proxied) = get_json(&http(), &proxy.url, &path).await;
    assert_eq!(direct_status, 200);
    assert_eq!(proxied_status, 200);
    // The proxy keeps `Host`, and the server builds reference links from it: links point at
    // the proxy. Bar that, the JSON is the same.
    let proxied_text = proxied.to_string();
    assert!(
        proxied_text.contains(&proxy.url),
        "links go through the proxy"
    );
    let rewritten: Value =
        serde_json::from_str(&proxied_text.replace(authority(&proxy.url), authority(&server.url)))
            .expect("JSON");
    assert_eq!(rewritten, direct);
    assert_eq!(direct["result"].as_array().map(Vec::len), Some(5));

    // Compressed bodies pass through byte for byte.
    let path = format!(
        "{CASES}?sysparm_query=ORDERBYnumber&sysparm_fields=number,sys_id,short_description&sysparm_limit=20"
    );
    let mut wire = Vec::new();
    for base in [&server.url, &proxy.url] {
        let response = request(&raw_http(), Method::GET, base, &path)
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok()),
            Some("gzip")
        );
        wire.push(response.bytes().await.expect("body"));
    }
    assert_eq!(&wire[0][..2], b"\x1f\x8b", "gzip magic");
    assert_eq!(wire[0], wire[1], "the gzip bytes are untouched");

    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.forwarded, stats.faults), (2, 2, 0));
}

#[tokio::test]
async fn reset_after_upstream_applies_the_write_but_the_client_never_learns() {
    let (server, proxy, id) = setup().await;
    proxy.schedule([Fault::ResetAfterUpstream]);
    let text = "applied behind the client's back";
    let outcome = comment(&proxy.url, &id, text).await;
    assert!(
        outcome.is_err(),
        "the client must get an error, not {outcome:?}"
    );
    assert!(journal_has(&server, &id, text).await);
    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.forwarded, stats.faults), (1, 1, 1));
    assert_eq!(stats.bytes_to_client, 0, "nothing was sent back");
}

#[tokio::test]
async fn reset_before_upstream_never_reaches_the_server() {
    let (server, proxy, id) = setup().await;
    proxy.schedule([Fault::ResetBeforeUpstream]);
    let text = "lost on the way";
    let outcome = comment(&proxy.url, &id, text).await;
    assert!(
        outcome.is_err(),
        "the client must get an error, not {outcome:?}"
    );
    assert!(!journal_has(&server, &id, text).await);
    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.forwarded, stats.faults), (1, 0, 1));
    assert_eq!(stats.bytes_to_client, 0);

    // The next request passes again.
    let response = comment(&proxy.url, &id, "second try")
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert!(journal_has(&server, &id, "second try").await);
}

#[tokio::test]
async fn status_answers_the_servicenow_envelope_without_forwarding() {
    let (server, proxy, id) = setup().await;
    proxy.schedule([Fault::Status(503)]);
    let text = "refused by the proxy";
    let response = comment(&proxy.url, &id, text).await.expect("a response");
    assert_eq!(response.status(), 503);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    );
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["status"], "failure");
    assert_eq!(body["error"]["message"], "Service Unavailable");
    assert_eq!(body["error"]["detail"], "injected by the test proxy");
    assert!(!journal_has(&server, &id, text).await);
    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.forwarded, stats.faults), (1, 0, 1));
}

#[tokio::test]
async fn too_many_requests_looks_like_the_servers_own_rate_limit() {
    let (server, proxy, _) = setup().await;
    proxy.schedule([Fault::TooManyRequests {
        retry_after_secs: 7,
    }]);
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let injected = request(&http(), Method::GET, &proxy.url, CASES)
        .send()
        .await
        .expect("a response");
    assert_eq!(injected.status(), 429);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header(&injected, "retry-after").as_deref(), Some("7"));
    let reset: u64 = header(&injected, "x-ratelimit-reset")
        .expect("X-RateLimit-Reset")
        .parse()
        .expect("epoch seconds");
    assert!(
        (before + 7..=before + 9).contains(&reset),
        "{reset} vs {before}"
    );
    let body: Value = injected.json().await.expect("JSON body");
    assert_eq!(body["status"], "failure");
    assert_eq!(body["error"]["message"], "Rate limit exceeded");
    assert!(
        body["error"]["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );

    // The real thing, for comparison: same status, headers and message.
    // One request a minute: the second is refused, unless the two straddle
    // the minute's turn; then the third is.
    let limited = start(20, &["--rate-limit", "1"]);
    let mut real = None;
    for _ in 0..3 {
        let answer = request(&http(), Method::GET, &limited.url, CASES)
            .send()
            .await
            .expect("a response");
        if answer.status() == 429 {
            real = Some(answer);
            break;
        }
    }
    let real = real.expect("a 429 within three requests at one a minute");
    assert!(header(&real, "retry-after").is_some());
    assert!(header(&real, "x-ratelimit-reset").is_some());
    let real_body: Value = real.json().await.expect("JSON body");
    assert_eq!(real_body["error"]["message"], body["error"]["message"]);
    assert_eq!(real_body["status"], body["status"]);
    drop(server);
}

#[tokio::test]
async fn delay_holds_the_answer_back() {
    let (_server, proxy, _) = setup().await;
    let path = format!("{CASES}?sysparm_limit=1");
    // Warm up (password hashing, first connection) so the timing below is the proxy's.
    assert_eq!(get_json(&http(), &proxy.url, &path).await.0, 200);
    proxy.schedule([Fault::Delay(Duration::from_millis(300))]);
    let started = Instant::now();
    let (status, body) = get_json(&http(), &proxy.url, &path).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert_eq!(body["result"].as_array().map(Vec::len), Some(1));
    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.forwarded, stats.faults), (2, 2, 1));
}

#[tokio::test]
async fn truncate_body_breaks_the_body_but_not_the_head() {
    let (_server, proxy, _) = setup().await;
    let path = format!("{CASES}?sysparm_limit=10");
    // Gzipped (chunked) and identity (Content-Length) answers alike.
    proxy.schedule([Fault::TruncateBody, Fault::TruncateBody]);
    let response = request(&http(), Method::GET, &proxy.url, &path)
        .send()
        .await
        .expect("the head arrives");
    assert_eq!(response.status(), 200);
    let outcome = response.json::<Value>().await;
    assert!(
        outcome.is_err(),
        "a truncated body must not parse: {outcome:?}"
    );

    let response = request(&raw_http(), Method::GET, &proxy.url, &path)
        .send()
        .await
        .expect("the head arrives");
    assert_eq!(response.status(), 200);
    let length: usize = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Content-Length kept");
    assert!(length > 100, "{length}");
    let outcome = response.bytes().await;
    assert!(outcome.is_err(), "a short body must fail: {outcome:?}");

    // Then untouched again.
    assert_eq!(get_json(&http(), &proxy.url, &path).await.0, 200);
}

#[tokio::test]
async fn scheduled_faults_apply_in_order_then_the_default() {
    let (_server, proxy, _) = setup().await;
    let path = format!("{CASES}?sysparm_limit=1");
    let status = |proxy_url: String| {
        let path = path.clone();
        async move {
            request(&http(), Method::GET, &proxy_url, &path)
                .send()
                .await
                .expect("a response")
                .status()
                .as_u16()
        }
    };
    proxy.schedule([Fault::Status(502), Fault::Pass, Fault::Status(504)]);
    proxy.schedule([Fault::Status(500)]);
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(status(proxy.url.clone()).await);
    }
    assert_eq!(seen, [502, 200, 504, 500, 200, 200]);

    proxy.set_default(Fault::Status(503));
    assert_eq!(status(proxy.url.clone()).await, 503);
    proxy.schedule([Fault::Pass]);
    assert_eq!(status(proxy.url.clone()).await, 200);
    assert_eq!(status(proxy.url.clone()).await, 503);
    proxy.set_default(Fault::Pass);
    assert_eq!(status(proxy.url.clone()).await, 200);

    let stats = proxy.stats();
    assert_eq!(stats.requests, 10);
    assert_eq!(stats.forwarded, 5);
    assert_eq!(stats.faults, 5);
}

#[tokio::test]
async fn down_fails_fast_and_up_restores() {
    let (_server, proxy, _) = setup().await;
    let path = format!("{CASES}?sysparm_limit=1");
    assert_eq!(get_json(&http(), &proxy.url, &path).await.0, 200);
    let before = proxy.stats();

    proxy.set_down(true);
    for _ in 0..3 {
        let started = Instant::now();
        let outcome = request(&http(), Method::GET, &proxy.url, &path)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        let elapsed = started.elapsed();
        assert!(outcome.is_err(), "down must fail: {outcome:?}");
        assert!(
            elapsed < Duration::from_millis(1000),
            "down must fail fast, took {elapsed:?}"
        );
        let error = outcome.unwrap_err();
        assert!(!error.is_timeout(), "{error:?}");
    }
    let during = proxy.stats();
    assert_eq!(
        during.requests, before.requests,
        "cut connections carry no request"
    );
    assert_eq!(during.bytes_to_client, before.bytes_to_client);

    proxy.set_down(false);
    assert_eq!(get_json(&http(), &proxy.url, &path).await.0, 200);
    assert_eq!(proxy.stats().requests, before.requests + 1);
}

#[tokio::test]
async fn stats_count_requests_forwards_faults_and_bytes() {
    let (_server, proxy, id) = setup().await;
    let zero = proxy.stats();
    assert_eq!(
        (
            zero.requests,
            zero.forwarded,
            zero.faults,
            zero.bytes_to_client
        ),
        (0, 0, 0, 0)
    );
    let path = format!("{CASES}?sysparm_limit=1");

    let (status, _) = get_json(&http(), &proxy.url, &path).await;
    assert_eq!(status, 200);
    let one = proxy.stats();
    assert_eq!((one.requests, one.forwarded, one.faults), (1, 1, 0));
    assert!(one.bytes_to_client > 100, "{one:?}");

    proxy.schedule([
        Fault::Status(500),
        Fault::ResetBeforeUpstream,
        Fault::ResetAfterUpstream,
    ]);
    let _ = comment(&proxy.url, &id, "a")
        .await
        .expect("500 is a response");
    let after_500 = proxy.stats();
    assert!(after_500.bytes_to_client > one.bytes_to_client);
    assert!(comment(&proxy.url, &id, "b").await.is_err());
    assert!(comment(&proxy.url, &id, "c").await.is_err());
    let end = proxy.stats();
    assert_eq!((end.requests, end.forwarded, end.faults), (4, 2, 3));
    assert_eq!(
        end.bytes_to_client, after_500.bytes_to_client,
        "resets send nothing"
    );
}

#[tokio::test]
async fn chunked_request_bodies_are_refused_with_501() {
    let (_server, proxy, _) = setup().await;
    let mut stream = tokio::net::TcpStream::connect(authority(&proxy.url))
        .await
        .expect("connect");
    let request = format!(
        "POST {CASES} HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n",
        authority(&proxy.url)
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the proxy closes")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 501 "), "{answer}");
    assert!(answer.contains("\"status\":\"failure\""), "{answer}");
    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.forwarded, stats.faults), (1, 0, 0));
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_envelope() {
    let (server, proxy, _) = setup().await;
    drop(server);
    let response = request(&http(), Method::GET, &proxy.url, CASES)
        .send()
        .await
        .expect("the proxy answers");
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["status"], "failure");
    assert_eq!(body["error"]["message"], "Bad Gateway");
    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.forwarded, stats.faults), (1, 0, 0));
}

#[tokio::test]
async fn dropping_the_proxy_closes_its_port() {
    let (_server, proxy, _) = setup().await;
    let address = authority(&proxy.url).to_string();
    assert_eq!(
        get_json(&http(), &proxy.url, &format!("{CASES}?sysparm_limit=1"))
            .await
            .0,
        200
    );
    drop(proxy);
    // The aborted accept task is dropped (with its listener) when the runtime next runs it.
    let mut refused = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if tokio::net::TcpStream::connect(&address).await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "the proxy still accepts connections after drop");
}

#[tokio::test]
async fn a_throttled_link_delivers_every_byte_intact_and_no_faster_than_the_link() {
    let (server, proxy, id) = setup().await;
    // 400 kbit/s (50,000 bytes a second), 200 ms round trip: slow enough to see, quick to test.
    let link = Link {
        bits_per_second: 400_000,
        round_trip: Duration::from_millis(200),
    };
    proxy.set_link(Some(link));
    assert_eq!(proxy.link(), Some(link));
    // Without reference links, which name the host the client asked (the proxy's or the server's).
    let path = format!(
        "{CASES}?sysparm_query=ORDERBYnumber&sysparm_limit=20&sysparm_exclude_reference_link=true"
    );
    let fetch = |base: String| {
        let path = path.clone();
        async move {
            let response = request(&raw_http(), Method::GET, &base, &path)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 200);
            response.bytes().await.expect("body").to_vec()
        }
    };
    let direct = fetch(server.url.clone()).await;

    let before = proxy.stats();
    let started = Instant::now();
    let throttled = fetch(proxy.url.clone()).await;
    let elapsed = started.elapsed();
    let after = proxy.stats();
    assert!(
        direct.len() > 5_000,
        "a body worth pacing: {}",
        direct.len()
    );
    assert!(
        throttled == direct,
        "the body came through changed ({} bytes, {} direct)",
        throttled.len(),
        direct.len()
    );
    let down = after.bytes_to_client - before.bytes_to_client;
    let up = after.bytes_from_client - before.bytes_from_client;
    assert!(down > direct.len() as u64 && up > 0, "{down} down, {up} up");
    // The pacing only ever waits: the answer cannot beat its bytes at the link's rate plus one
    // round trip (5 ms of slack for the clock's rounding). The upper bound is generous: a busy
    // CI machine is slow, never fast.
    let floor = link.transmit(down + up) + link.round_trip;
    assert!(
        elapsed + Duration::from_millis(5) >= floor,
        "{elapsed:?} beat the link's floor {floor:?}"
    );
    assert!(
        elapsed < floor * 4 + Duration::from_secs(5),
        "{elapsed:?}, floor {floor:?}"
    );

    // Writes go up the link intact too.
    let text = "a comment over a thin link, accents included: é à ç";
    let response = comment(&proxy.url, &id, text).await.expect("request");
    assert_eq!(response.status(), 200);
    assert!(journal_has(&server, &id, text).await);

    // Back to loopback speed (the comment changed a case: a fresh direct read to compare with).
    proxy.set_link(None);
    let direct = fetch(server.url.clone()).await;
    assert!(fetch(proxy.url.clone()).await == direct, "the body changed");
}
