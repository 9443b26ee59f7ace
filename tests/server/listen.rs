//! Where `serve` listens: plain HTTP on loopback only, unless TLS is in
//! front (`--behind-proxy`) or the server's own (`--tls-cert`, `--tls-key`).
//! Tests bind 0.0.0.0 where they must, and only ever connect to 127.0.0.1.

use std::path::Path;

use support::cli::{self, Output};
use support::client::*;
use support::server::*;

fn accounts(db: &Path, args: &[&str], stdin: &str) -> Output {
    let mut command = cli::guichet();
    command.arg("accounts").arg("--db").arg(db).args(args);
    cli::run_with_input(command, stdin)
}

/// An office database with one agent, `agent` (password `s3cret`).
fn office(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("office.db");
    accounts(&db, &["group-add", "Accueil"], "").expect(0);
    accounts(
        &db,
        &[
            "agent-add",
            "agent",
            "--first",
            "Anne",
            "--last",
            "Guichet",
            "--group",
            "Accueil",
        ],
        "s3cret\n",
    )
    .expect(0);
    db
}

/// The port of a URL `scheme://host:port`.
fn port(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

#[test]
fn plain_http_off_loopback_is_refused_and_says_what_to_do() {
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let refused = match try_serve(&["--addr", addr]) {
            Ok(server) => panic!("listening on {} in plain HTTP", server.url),
            Err(out) => out,
        };
        assert_ne!(refused.code, 0);
        for hint in ["--behind-proxy", "--tls-cert", "--tls-key", "loopback"] {
            assert!(refused.stderr.contains(hint), "{hint}: {}", refused.stderr);
        }
    }
    // Half of a certificate is no certificate.
    let Err(out) = try_serve(&["--addr", "0.0.0.0:0", "--tls-cert", "cert.pem"]) else {
        panic!("--tls-cert without --tls-key was accepted");
    };
    assert!(out.stderr.contains("--tls-key"), "{}", out.stderr);
    // The demo's well-known passwords stay on loopback, proxy or not.
    let Err(out) = try_serve(&["--addr", "0.0.0.0:0", "--behind-proxy", "--demo", "5"]) else {
        panic!("the demo listened off loopback");
    };
    assert!(out.stderr.contains("loopback"), "{}", out.stderr);
}

#[tokio::test]
async fn behind_a_proxy_it_listens_off_loopback_and_its_links_say_https() {
    let dir = tempfile::tempdir().unwrap();
    let db = office(dir.path());
    let mut server = try_serve_on(&db, &["--addr", "0.0.0.0:0", "--behind-proxy"])
        .unwrap_or_else(|out| panic!("refused: {}", out.stderr));
    assert!(server.url.starts_with("http://0.0.0.0:"), "{}", server.url);
    server.url = format!("http://127.0.0.1:{}", port(&server.url));
    let client = Client {
        auth: Auth::Basic("agent".into(), "s3cret".into()),
        ..server.client("agent")
    };
    let reply = client
        .post(
            CASES,
            serde_json::json!({"short_description": "Premier dossier"}),
        )
        .await
        .expect(201);
    let location = reply.header("location").unwrap_or_default();
    assert!(
        location.starts_with("https://127.0.0.1:"),
        "the proxy in front speaks TLS: {location}"
    );
    let link = s(&reply.result()["assignment_group"]["link"]);
    assert!(link.starts_with("https://"), "{link}");
}

#[tokio::test]
async fn with_its_own_certificate_it_serves_https() {
    use rcgen::{CertificateParams, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let cert_path = dir.path().join("server.pem");
    let key_path = dir.path().join("server.key");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let (cert_arg, key_arg) = (
        cert_path.display().to_string(),
        key_path.display().to_string(),
    );

    // A key that does not go with anything is refused before listening.
    let Err(out) = try_serve(&[
        "--addr",
        "0.0.0.0:0",
        "--tls-cert",
        &cert_arg,
        "--tls-key",
        &cert_arg,
    ]) else {
        panic!("a certificate given as the key was accepted");
    };
    assert!(out.stderr.contains("server.pem"), "{}", out.stderr);

    let db = office(dir.path());
    let server = try_serve_on(
        &db,
        &[
            "--addr",
            "0.0.0.0:0",
            "--tls-cert",
            &cert_arg,
            "--tls-key",
            &key_arg,
        ],
    )
    .unwrap_or_else(|out| panic!("refused: {}", out.stderr));
    assert!(server.url.starts_with("https://0.0.0.0:"), "{}", server.url);
    let port = port(&server.url);
    let http = support::http_client()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let client = Client {
        base: format!("https://localhost:{port}"),
        http,
        auth: Auth::Basic("agent".into(), "s3cret".into()),
    };
    let reply = client
        .list(
            "/api/now/table/sys_user",
            &[("sysparm_query", "user_name=agent")],
        )
        .await
        .expect(200);
    assert_eq!(reply.rows().len(), 1);
    assert_eq!(s(&reply.rows()[0]["user_name"]), "agent");

    // Plain HTTP to the TLS port gets no answer.
    let plain = support::http_client().build().unwrap();
    assert!(
        plain
            .get(format!("http://127.0.0.1:{port}/api/now/table/sys_user"))
            .send()
            .await
            .is_err()
    );
}
