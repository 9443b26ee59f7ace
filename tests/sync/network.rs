//! An administration's network: a proxy in the way, and plain http refused
//! before any connection is attempted.

use crate::agent::Agent;
use crate::clock::run_with_stdin;
use crate::proxy::FaultProxy;
use crate::server::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_host_is_refused_before_connecting() {
    let server = start(5, &[]);
    let agent = Agent::login(&server.url, "demo");
    // A name that cannot resolve (.invalid is reserved): had a connection
    // been tried, the error would be a lookup failure, not this refusal.
    let login = agent.command(&[
        "login",
        "--profile",
        "mairie",
        "--url",
        "http://guichet-test.invalid:8080",
        "--user",
        "demo",
        "--password-stdin",
    ]);
    let out = run_with_stdin(login, "demo\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
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
    let login = agent.command(&["login", "--proxy", &proxy.url, "--password-stdin"]);
    let out = run_with_stdin(login, "demo\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
