//! What one request may weigh and how long it may work: bodies, query
//! strings, encoded queries, and the database deadline.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::client::*;
use support::server::*;

/// Sends a request head announcing a body of `length` bytes and no body,
/// and returns the status line and body of the answer. The server must
/// answer from the head alone; sending no body keeps the exchange free of
/// resets whatever it does with the connection.
async fn announce(server: &Server, head: &str, length: usize) -> (String, serde_json::Value) {
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .expect("connect");
    let request = format!(
        "{head} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
        server.address()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send head");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .expect("read answer");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.lines().next().unwrap_or_default().to_string();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (status, json)
}

#[tokio::test]
async fn bodies_past_a_mebibyte_are_413_before_anything_else() {
    let server = start(10, &[]);
    let huge = 2 * 1024 * 1024;
    // Without credentials: the size is judged before the password.
    for head in [
        format!("POST {CASES}"),
        format!("PATCH {CASES}/0123456789abcdef0123456789abcdef"),
        "POST /oauth_token.do".to_string(),
    ] {
        let (status, body) = announce(&server, &head, huge).await;
        assert!(status.contains(" 413 "), "{head}: {status}");
        assert_eq!(body["status"], "failure", "{head}: {body}");
        assert_eq!(body["error"]["message"], "Request body too large");
        assert!(
            body["error"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("1024 KiB")),
            "{body}"
        );
    }
    // Up to the limit, a body is read (and here refused for what it says).
    let client = server.client("superviseur");
    let near = format!("{{\"description\": \"{}\"}}", "x".repeat(1024 * 1024 - 100));
    let reply = client
        .send(
            client
                .request(reqwest::Method::POST, CASES)
                .header("Content-Type", "application/json")
                .body(near),
        )
        .await
        .expect(400);
    assert!(reply.detail().contains("64 KiB"), "{}", reply.body);
}

#[tokio::test]
async fn over_long_and_over_complex_queries_are_400() {
    let server = start(10, &[]);
    let client = server.client("superviseur");
    let long = format!("short_descriptionLIKE{}", "a".repeat(17 * 1024));
    let refused = client
        .list(CASES, &[("sysparm_query", long.as_str())])
        .await
        .expect(400);
    assert!(refused.detail().contains("16 KiB"), "{}", refused.body);
    assert_eq!(refused.body["status"], "failure");

    let many = (0..101)
        .map(|i| format!("priority={}", i % 5 + 1))
        .collect::<Vec<_>>()
        .join("^OR");
    let refused = client
        .list(CASES, &[("sysparm_query", many.as_str())])
        .await
        .expect(400);
    assert!(refused.detail().contains("at most 100"), "{}", refused.body);
    let words = format!("123TEXTQUERY321={}", vec!["dossier"; 101].join(" "));
    client
        .list(CASES, &[("sysparm_query", words.as_str())])
        .await
        .expect(400);

    // A hundred conditions are still served.
    let hundred = (0..100)
        .map(|i| format!("priority={}", i % 5 + 1))
        .collect::<Vec<_>>()
        .join("^OR");
    client
        .list(CASES, &[("sysparm_query", hundred.as_str())])
        .await
        .expect(200);

    // The whole query string is bounded too (by reads of a record as well).
    let fields = "number,".repeat(5_000);
    let refused = client
        .list(CASES, &[("sysparm_fields", fields.as_str())])
        .await
        .expect(400);
    assert!(refused.detail().contains("32 KiB"), "{}", refused.body);
    let case = client.find_case("").await;
    client
        .list(
            &format!("{CASES}/{}", s(&case["sys_id"])),
            &[("sysparm_fields", fields.as_str())],
        )
        .await
        .expect(400);

    // sysparm_limit stays capped at 10,000, whatever is asked.
    let reply = client
        .list(
            CASES,
            &[("sysparm_limit", "99999999"), ("sysparm_fields", "number")],
        )
        .await
        .expect(200);
    assert!(
        reply
            .header("link")
            .is_some_and(|l| l.contains("sysparm_limit=10000")),
        "{:?}",
        reply.header("link")
    );
}

#[tokio::test]
async fn a_query_past_the_deadline_is_answered_503_in_the_servicenow_envelope() {
    // A millisecond: a hundred substring searches (the most a query may
    // have) over 20,000 cases, and their count, take far longer than that on
    // any machine, and longer than the server's timer may be late on a
    // loaded one (over 1,000 cases, they once finished before a timer
    // starved by other processes fired).
    let server = start(20_000, &["--query-deadline-secs", "0.001"]);
    let client = server.client("superviseur");
    let heavy = (0..100)
        .map(|i| format!("descriptionLIKEzq{i}x"))
        .collect::<Vec<_>>()
        .join("^OR");
    let reply = client
        .list(CASES, &[("sysparm_query", heavy.as_str())])
        .await
        .expect(503);
    assert_eq!(reply.body["status"], "failure");
    assert_eq!(
        reply.body["error"]["message"],
        "Transaction cancelled: maximum execution time exceeded"
    );
    assert!(reply.detail().contains("deadline"), "{}", reply.body);
}

#[test]
fn the_deadline_must_be_a_positive_number_of_seconds() {
    for bad in ["0", "-1", "soon", "inf"] {
        let flag = format!("--query-deadline-secs={bad}");
        let refused = try_serve(&["--addr", "127.0.0.1:0", &flag]);
        let Err(out) = refused else {
            panic!("--query-deadline-secs {bad} was accepted");
        };
        assert_ne!(out.code, 0);
        assert!(out.stderr.contains("query-deadline-secs"), "{}", out.stderr);
    }
}
