//! An administration's network: a proxy in the way, and plain http refused
//! before any connection is attempted.

use support::agent::Agent;
use support::proxy::FaultProxy;
use support::server::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_host_is_refused_before_connecting() {
    let server = start(5, &[]);
    let agent = Agent::login(&server.url, "demo");
    // A name that cannot resolve (.invalid is reserved): had a connection
    // been tried, the error would be a lookup failure, not this refusal.
    let out = agent.run_with_input(
        &[
            "login",
            "--profile",
            "mairie",
            "--url",
            "http://guichet-test.invalid:8080",
            "--user",
            "demo",
            "--password-stdin",
        ],
        "demo\n",
    );
    let stderr = out.expect(2).stderr;
    assert!(stderr.contains("refused before connecting"), "{stderr}");
    assert!(stderr.contains("--insecure-http"), "{stderr}");
    assert!(
        !stderr.contains("dns") && !stderr.contains("resolve"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profiles_proxy_carries_every_request() {
    let server = start(20, &[]);
    let proxy = FaultProxy::start(server.address()).await;
    let agent = Agent::login(&server.url, "demo");
    let out = agent.run_with_input(
        &["login", "--proxy", &proxy.url, "--password-stdin"],
        "demo\n",
    );
    out.expect(0);
    let before = proxy.stats().forwarded;
    agent.ok(&["sync"]);
    assert!(!agent.numbers("open", 5).is_empty());
    assert!(
        proxy.stats().forwarded > before + 2,
        "the sync went through the proxy: {:?}",
        proxy.stats()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_memberships_still_give_the_team_queue() {
    let open = start(60, &[]);
    let hiding = start(60, &["--deny-memberships"]);
    let seen = Agent::login(&open.url, "accueil");
    let hidden = Agent::login(&hiding.url, "accueil");
    seen.ok(&["sync"]);
    hidden.ok(&["sync"]);
    let team = seen.numbers("team", 100);
    assert!(!team.is_empty(), "the agent has a team queue");
    assert_eq!(
        hidden.numbers("team", 100),
        team,
        "the same queue without the memberships"
    );
    let doctor = hidden.ok(&["doctor"]);
    assert!(doctor.contains("getMyGroups()"), "{doctor}");
    assert!(seen.ok(&["doctor"]).contains("sys_user_grmember"));
}

/// A certificate authority made here, and a TLS front signed by it that
/// hands the decrypted bytes to `upstream` (127.0.0.1:PORT).
struct TlsFront {
    url: String,
    ca_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tls_front(upstream: &str) -> TlsFront {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use std::sync::Arc;
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Mairie de Test, autorité interne");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::from_params(&ca, &ca_key);
    let key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["localhost".to_string()]).expect("server params");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");

    let chain = vec![cert.der().clone()];
    let private = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("key der");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(chain, private)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let upstream = upstream.to_string();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    TlsFront {
        url: format!("https://localhost:{port}"),
        ca_pem: ca_cert.pem(),
        task,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrations_own_authority_is_trusted_when_given() {
    let server = start(10, &[]);
    let front = tls_front(server.address()).await;
    let agent = Agent::login(&server.url, "demo");
    let args = |extra: &[&str]| {
        let mut args = vec![
            "login",
            "--profile",
            "tls",
            "--url",
            &front.url,
            "--user",
            "demo",
            "--password-stdin",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    // Unknown to the system's roots: refused.
    let plain = args(&[]);
    let refused = agent.run_with_input(
        &plain.iter().map(String::as_str).collect::<Vec<_>>(),
        "demo\n",
    );
    let stderr = refused.stderr;
    assert_ne!(refused.code, 0, "an unknown authority is not trusted");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");

    let ca = agent.home().join("mairie-ca.pem");
    std::fs::write(&ca, &front.ca_pem).expect("write CA");
    let ca_arg = ca.display().to_string();
    let trusted = args(&["--ca-cert", &ca_arg]);
    let out = agent.run_with_input(
        &trusted.iter().map(String::as_str).collect::<Vec<_>>(),
        "demo\n",
    );
    out.expect(0);
    let config = std::fs::read_to_string(agent.home().join("config.toml")).expect("config");
    assert!(
        config.contains("mairie-ca.pem"),
        "kept in the profile: {config}"
    );
    agent.run(&["--profile", "tls", "sync"]).expect(0);
}

/// A CONNECT proxy (what an administration's https proxy is), counting the
/// tunnels it carried.
async fn connect_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let tunnels = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&tunnels);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                // The request head, up to the blank line (bounded).
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                let Some(target) = head
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.split_whitespace().next())
                else {
                    let _ = client
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                // Only this machine, as every network test here.
                let port = target.rsplit_once(':').map_or("", |(_, p)| p);
                let Ok(mut upstream) =
                    tokio::net::TcpStream::connect(format!("127.0.0.1:{port}")).await
                else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), tunnels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_goes_through_a_connect_proxy() {
    let server = start(10, &[]);
    let front = tls_front(server.address()).await;
    let (proxy, tunnels) = connect_proxy().await;
    let agent = Agent::login(&server.url, "demo");
    let ca = agent.home().join("ca.pem");
    std::fs::write(&ca, &front.ca_pem).expect("write CA");
    let ca = ca.display().to_string();
    let out = agent.run_with_input(
        &[
            "login",
            "--profile",
            "far",
            "--url",
            &front.url,
            "--user",
            "demo",
            "--ca-cert",
            &ca,
            "--proxy",
            &proxy,
            "--password-stdin",
        ],
        "demo\n",
    );
    out.expect(0);
    agent.run(&["--profile", "far", "sync"]).expect(0);
    assert!(
        tunnels.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the https requests went through the proxy's tunnels"
    );
}
