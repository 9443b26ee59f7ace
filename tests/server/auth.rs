//! Authentication (Basic, OAuth password and refresh grants), demo accounts,
//! and rate limiting.

use std::time::Duration;

use support::client::*;
use support::server::*;

async fn token(server: &Server, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let response = support::http_client()
        .build()
        .unwrap()
        .post(format!("{}/oauth_token.do", server.url))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn every_endpoint_needs_credentials() {
    let server = start(10, &[]);
    let anonymous = server.client("demo").with_auth(Auth::None);
    let reply = anonymous.get(CASES).await.expect(401);
    assert_eq!(reply.body["error"]["message"], "User Not Authenticated");
    assert_eq!(reply.body["status"], "failure");
    let wrong = server
        .client("demo")
        .with_auth(Auth::Basic("demo".into(), "nope".into()));
    wrong.get(CASES).await.expect(401);
    let nobody = server
        .client("demo")
        .with_auth(Auth::Basic("nobody".into(), "demo".into()));
    nobody.get("/api/now/table/sys_user").await.expect(401);
    server
        .client("demo")
        .with_auth(Auth::Bearer("forged".into()))
        .get(CASES)
        .await
        .expect(401);
    server.client("demo").get(CASES).await.expect(200);
}

#[tokio::test]
async fn oauth_password_grant_refresh_and_expiry() {
    let server = start(10, &["--token-ttl", "2"]);
    let (status, body) = token(
        &server,
        &[
            ("grant_type", "password"),
            ("client_id", "guichet"),
            ("client_secret", "x"),
            ("username", "titres"),
            ("password", "demo"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 2);
    let access = body["access_token"].as_str().unwrap().to_string();
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let bearer = server.client("titres").with_auth(Auth::Bearer(access));
    bearer.get(CASES).await.expect(200);

    tokio::time::sleep(Duration::from_millis(3100)).await;
    let expired = bearer.get(CASES).await.expect(401);
    assert!(expired.detail().contains("expired"), "{}", expired.body);

    let (status, renewed) = token(
        &server,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    let again = server.client("titres").with_auth(Auth::Bearer(
        renewed["access_token"].as_str().unwrap().into(),
    ));
    again.get(CASES).await.expect(200);

    let (status, body) = token(
        &server,
        &[
            ("grant_type", "password"),
            ("username", "titres"),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("access_denied"))
    );
    let (status, _) = token(
        &server,
        &[("grant_type", "refresh_token"), ("refresh_token", "stolen")],
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = token(&server, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn demo_accounts_only_log_in_while_serving_the_demo() {
    let server = start(10, &[]);
    server.client("demo").get(CASES).await.expect(200);
    let server = server.restart(None, &[]);
    server.client("demo").get(CASES).await.expect(401);
}

#[test]
fn the_demo_refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = support::cli::guichet();
    command
        .args(["serve", "--addr", "0.0.0.0:0", "--demo", "10", "--db"])
        .arg(dir.path().join("x.db"));
    let output = support::cli::run(command);
    assert_eq!(output.code, 1);
    assert!(output.stderr.contains("loopback"), "{}", output.stderr);
    assert!(
        !dir.path().join("x.db").exists(),
        "refused before touching the database"
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let server = start(10, &["--rate-limit", "5"]);
    let client = server.client("demo");
    for _ in 0..5 {
        let reply = client.get(CASES).await.expect(200);
        assert_eq!(reply.header("x-ratelimit-limit"), Some("5"));
        assert!(
            reply
                .header("x-ratelimit-reset")
                .unwrap()
                .parse::<u64>()
                .unwrap()
                > 1_700_000_000
        );
    }
    // The sixth is refused, unless the minute turned meanwhile: then the
    // new window's quota runs out five requests later.
    let mut reply = client.get(CASES).await;
    let mut extra = 0;
    while reply.status == 200 && extra < 5 {
        extra += 1;
        reply = client.get(CASES).await;
    }
    let reply = reply.expect(429);
    assert_eq!(reply.body["error"]["message"], "Rate limit exceeded");
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // The limit is per user.
    server.client("accueil").get(CASES).await.expect(200);
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_user_name_out_for_a_while() {
    let server = start(10, &[]);
    let guess = server
        .client("titres")
        .with_auth(Auth::Basic("titres".into(), "guess".into()));
    for _ in 0..10 {
        guess.get(CASES).await.expect(401);
    }
    let locked = server.client("titres").get(CASES).await.expect(401);
    assert!(
        locked.detail().contains("too many failed logins"),
        "{}",
        locked.body
    );
    assert!(locked.header("retry-after").is_some());
    // Other users are not affected.
    server.client("accueil").get(CASES).await.expect(200);
}
