//! `guichet accounts`: a small office creates its groups and agents, then
//! serves without any demo data.

use support::cli::{self, Output};
use support::client::*;
use support::server::*;

fn accounts(db: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut command = cli::guichet();
    command.arg("accounts").arg("--db").arg(db).args(args);
    cli::run_with_input(command, stdin)
}

#[tokio::test]
async fn an_office_creates_its_agents_and_serves_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    for group in ["Accueil", "État civil"] {
        accounts(&db, &["group-add", group], "").expect(0);
    }
    accounts(
        &db,
        &[
            "agent-add",
            "m.dupont",
            "--first",
            "Marie",
            "--last",
            "Dupont",
            "--group",
            "État civil",
        ],
        "s3cret\n",
    )
    .expect(0);
    accounts(
        &db,
        &[
            "agent-add",
            "chef",
            "--first",
            "Paul",
            "--last",
            "Roux",
            "--group",
            "Accueil",
            "--supervisor",
        ],
        "b0ss\n",
    )
    .expect(0);

    let again = accounts(
        &db,
        &[
            "agent-add",
            "m.dupont",
            "--first",
            "M",
            "--last",
            "D",
            "--group",
            "Accueil",
        ],
        "x\n",
    );
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already exists"));
    let unknown = accounts(
        &db,
        &[
            "agent-add",
            "x",
            "--first",
            "X",
            "--last",
            "Y",
            "--group",
            "Titres",
        ],
        "x\n",
    );
    assert!(unknown.stderr.contains("no group named 'Titres'"));
    let empty = accounts(
        &db,
        &[
            "agent-add",
            "y",
            "--first",
            "X",
            "--last",
            "Y",
            "--group",
            "Accueil",
        ],
        "",
    );
    assert!(empty.stderr.contains("password is empty"));

    let listed = accounts(&db, &["list"], "").stdout;
    assert!(
        listed.contains("m.dupont")
            && listed.contains("État civil")
            && listed.contains("supervisor"),
        "{listed}"
    );

    let server = start_on(&db, None, &[]);
    let marie = server
        .client("m.dupont")
        .with_auth(Auth::Basic("m.dupont".into(), "s3cret".into()));
    let me = marie
        .list(
            "/api/now/table/sys_user",
            &[("sysparm_query", "user_name=m.dupont")],
        )
        .await
        .expect(200);
    assert_eq!(s(&me.rows()[0]["name"]), "Marie Dupont");
    let case = marie
        .post(
            CASES,
            serde_json::json!({"short_description": "Copie d'acte de naissance"}),
        )
        .await
        .expect(201);
    assert_eq!(
        s(&case.result()["assignment_group"]["value"]).len(),
        32,
        "defaults to the agent's group"
    );
    let chef = server
        .client("chef")
        .with_auth(Auth::Basic("chef".into(), "b0ss".into()));
    assert_eq!(
        chef.all_cases("number").await.len(),
        1,
        "a supervisor sees every group"
    );

    let token = support::http_client()
        .build()
        .unwrap()
        .post(format!("{}/oauth_token.do", server.url))
        .form(&[
            ("grant_type", "password"),
            ("username", "m.dupont"),
            ("password", "s3cret"),
        ])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let bearer = marie.with_auth(Auth::Bearer(token["access_token"].as_str().unwrap().into()));
    bearer.get(CASES).await.expect(200);

    accounts(&db, &["password", "m.dupont"], "n0uveau\n").expect(0);
    // At once, on the running server: the old password and its sessions end.
    marie.get(CASES).await.expect(401);
    bearer.get(CASES).await.expect(401);
    server
        .client("x")
        .with_auth(Auth::Basic("m.dupont".into(), "n0uveau".into()))
        .get(CASES)
        .await
        .expect(200);
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let mut server = start(10, &[]);
    server.client("demo").get(CASES).await.expect(200);
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_database_is_created_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let server = support::server::start(5, &[]);
    // Every citizen's data and the agents' password hashes are in it.
    let mode = std::fs::metadata(&server.db)
        .expect("the database")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", server.db.display());
}
