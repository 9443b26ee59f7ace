//! An administration's own instance: its case table and field names, what
//! `guichet doctor` finds there, and secrets kept across processes.

use support::agent::Agent;
use support::server::start;

#[test]
fn a_case_table_or_field_the_instance_lacks_is_refused_at_login_and_never_kept() {
    let server = start(10, &[]);
    let agent = Agent::login(&server.url, "demo");
    let relogin = |extra: &[&str]| {
        let mut args = vec!["login", "--password-stdin"];
        args.extend_from_slice(extra);
        agent.run_with_input(&args, "demo\n")
    };

    // The Table API drops a field name it does not know: without the check
    // every case would come back without its citizen, silently.
    let out = relogin(&["--field", "citizen=caller_id"]).expect(2);
    assert!(
        out.stderr.contains("no field named caller_id"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--field FIELD=NAME"), "{}", out.stderr);

    let out = relogin(&["--case-table", "incident"]).expect(2);
    assert!(
        out.stderr
            .contains("the case table 'incident' cannot be read"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--case-table TABLE"), "{}", out.stderr);

    let out = relogin(&["--field", "citzen=caller_id"]).expect(2);
    assert!(out.stderr.contains("'citzen'"), "{}", out.stderr);
    assert!(out.stderr.contains("known: summary"), "{}", out.stderr);

    let out = relogin(&["--field", "citizen"]).expect(2);
    assert!(out.stderr.contains("FIELD=NAME"), "{}", out.stderr);

    // None of the refused maps was kept: the profile still works as it did.
    let config = std::fs::read_to_string(agent.home().join("config.toml")).expect("config");
    assert!(!config.contains("caller_id"), "{config}");
    assert!(!config.contains("incident"), "{config}");
    agent.ok(&["sync"]);
    let before = agent.numbers("all", 100);
    assert!(!before.is_empty(), "cases to compare");

    // A map the instance answers is kept in the profile and used.
    relogin(&[
        "--case-table",
        "sn_customerservice_case",
        "--field",
        "citizen=consumer",
        "--field",
        "due=due_date",
    ])
    .expect(0);
    let config = std::fs::read_to_string(agent.home().join("config.toml")).expect("config");
    assert!(
        config.contains("case_table = \"sn_customerservice_case\""),
        "{config}"
    );
    assert!(config.contains("citizen = \"consumer\""), "{config}");
    assert!(config.contains("due = \"due_date\""), "{config}");
    agent.ok(&["sync"]);
    assert_eq!(agent.numbers("all", 100), before);
}

#[test]
fn doctor_probes_tables_fields_choices_rate_limit_and_proxy() {
    let server = start(
        10,
        &[
            "--deny-memberships",
            "--rate-limit",
            "1000",
            "--no-extensions",
        ],
    );
    let agent = Agent::login(&server.url, "demo");
    let mut doctor = agent.command(&["doctor"]);
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        doctor.env_remove(var);
    }
    let out = doctor.output().expect("doctor runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    for line in [
        "proxy:        none: direct connection",
        "login:        ",
        "extensions:   idempotency keys no",
        "cases:        table sn_customerservice_case readable, every mapped field returned",
        "table:        csm_consumer readable",
        "table:        sys_journal_field readable",
        "table:        sys_user_grmember refused: ",
        "groups:       the instance hides sys_user_grmember",
        "choice lists: state 6, priority 4, procedure ",
        "rate limit:   1000 requests per window",
    ] {
        assert!(said.contains(line), "no '{line}' in:\n{said}");
    }

    // A wrong field map found by the doctor too (a map kept before the
    // instance changed), with the way out.
    let config_path = agent.home().join("config.toml");
    let config = std::fs::read_to_string(&config_path).expect("config");
    let broken = format!(
        "{config}\n[profiles.{}.fields]\ndue = \"u_deadline\"\n",
        agent.profile
    );
    std::fs::write(&config_path, broken).expect("config written");
    let said = agent.ok(&["doctor"]);
    assert!(
        said.contains(
            "cases:        table sn_customerservice_case returned no field named u_deadline"
        ),
        "{said}"
    );
    assert!(
        said.contains("hint: map each with guichet login --field"),
        "{said}"
    );
}

#[test]
fn a_secret_outlives_the_process_that_kept_it() {
    let server = start(5, &[]);
    // `login` keeps the password, and exits.
    let agent = Agent::login(&server.url, "demo");
    // Later processes, with no password in their environment, find it.
    let mut doctor = agent.command(&["doctor"]);
    doctor.env_remove("DBUS_SESSION_BUS_ADDRESS");
    let out = doctor.output().expect("doctor runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("keyring:      Linux kernel keyring"),
        "{said}"
    );
    assert!(said.contains("no D-Bus session here"), "{said}");
    assert!(said.contains("password:     in the keyring"), "{said}");
    agent.ok(&["sync"]);

    let mut forced = agent.command(&["doctor"]);
    forced.env("GUICHET_KEYRING", "kernel");
    let said = String::from_utf8_lossy(&forced.output().expect("doctor runs").stdout).into_owned();
    assert!(said.contains("chosen by GUICHET_KEYRING=kernel"), "{said}");
    assert!(said.contains("password:     in the keyring"), "{said}");

    // A logout forgets it for every later process.
    agent.ok(&["logout"]);
    assert!(agent.ok(&["doctor"]).contains("password:     missing"));
    let out = agent.run(&["sync"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("guichet login"), "{}", out.stderr);
}
