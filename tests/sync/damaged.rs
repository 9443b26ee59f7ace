//! A damaged or truncated local store: found at open, its unsent actions
//! saved to a readable file before anything else, the store refused with
//! what to do; then, in a new store, `guichet queue import` queues them
//! again under their own ids, and each lands on the server exactly once
//! (one of them had already landed, its answer lost).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use support::agent::{Agent, synced_through_proxy};
use support::proxy::Fault;

/// The rescue files beside the agent's store.
fn rescue_files(agent: &Agent) -> Vec<PathBuf> {
    let store = agent.store_path();
    let prefix = format!("{}.outbox-rescue-", agent.profile);
    let mut files: Vec<PathBuf> = std::fs::read_dir(store.parent().expect("folder"))
        .expect("profiles folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    files.sort();
    files
}

/// The action ids of a rescue file, in its order.
fn ids_in(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .expect("rescue file")
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            row["id"].as_str().expect("an id").to_string()
        })
        .collect()
}

/// The store's page size, its pages, those of the outbox (table, indexes,
/// schema, sequence) and the leaf pages of the cases table.
struct Layout {
    page_size: u64,
    pages: u64,
    outbox: BTreeSet<u64>,
    case_leaves: Vec<u64>,
}

fn layout(agent: &Agent) -> Layout {
    let conn = agent.store_connection();
    let pages_of = |sql: &str| -> Vec<u64> {
        let mut stmt = conn.prepare(sql).expect("dbstat");
        stmt.query_map([], |r| r.get::<_, i64>(0))
            .expect("pages")
            .map(|p| p.expect("page") as u64)
            .collect()
    };
    let outbox = pages_of(
        "SELECT pageno FROM dbstat WHERE name IN ('outbox', 'outbox_case', 'outbox_state',
         'sqlite_autoindex_outbox_1', 'sqlite_sequence', 'sqlite_schema')",
    );
    let case_leaves = pages_of(
        "SELECT pageno FROM dbstat WHERE name = 'cases' AND pagetype = 'leaf' ORDER BY pageno",
    );
    let page_size: String = conn
        .query_row("PRAGMA cipher_page_size", [], |r| r.get(0))
        .expect("page size");
    let page_size: u64 = page_size.parse().expect("a number");
    drop(conn);
    let len = std::fs::metadata(agent.store_path()).expect("store").len();
    Layout {
        page_size,
        pages: len / page_size,
        outbox: outbox.into_iter().collect(),
        case_leaves,
    }
}

/// The store as it was before the damage, with no log beside it.
fn restore(store: &Path, backup: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut name = store.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
    let mut mark = store.as_os_str().to_owned();
    mark.push(".suspect");
    let _ = std::fs::remove_file(PathBuf::from(mark));
    std::fs::copy(backup, store).expect("restore the store");
}

fn garble(store: &Path, page: u64, page_size: u64) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(store)
        .expect("store");
    file.seek(SeekFrom::Start((page - 1) * page_size))
        .expect("seek");
    let junk: Vec<u8> = (0..page_size).map(|i| (i * 7919 % 251) as u8).collect();
    file.write_all(&junk).expect("garbage");
}

/// A command on the damaged store is refused, saying where the actions
/// are; returns the rescue file it names.
fn refused(agent: &Agent, args: &[&str]) -> PathBuf {
    let out = agent.run(args).expect(1);
    assert!(out.stderr.contains("is damaged"), "{}", out.stderr);
    assert!(
        out.stderr.contains("guichet queue import"),
        "{}",
        out.stderr
    );
    let named = out
        .stderr
        .split_once("saved to ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .map(|path| PathBuf::from(path.trim_end_matches('.')))
        .expect("the message names the file");
    assert!(rescue_files(agent).contains(&named), "{}", out.stderr);
    named
}

async fn boss_count(server: &support::server::Server, number: &str, text: &str) -> usize {
    server
        .client("superviseur")
        .journal_count(number, text)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_gives_up_its_queue_first_and_nothing_lands_twice() {
    let (server, proxy, agent) = synced_through_proxy(30, &[], "demo").await;
    let cases = agent.numbers("open", 7);
    // Applied on the server, its answer lost: in doubt here.
    let landed = "Pièce reçue, dossier transmis";
    proxy.schedule_writes([Fault::ResetAfterUpstream]);
    let out = agent.run(&["comment", &cases[0], landed]).expect(0);
    assert!(out.stdout.starts_with("queued"), "{}", out.stdout);
    assert_eq!(proxy.stats().faults, 1, "the answer was lost");
    let queue = agent.queue();
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(boss_count(&server, &cases[0], landed).await, 1, "it landed");
    let expected = agent.queue_work(&cases[1..], 2, "1");
    let queued: Vec<String> = agent
        .queue()
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(queued.len(), 1 + 6 * 3);

    let store = agent.store_path();
    let backup = store.with_extension("backup");
    std::fs::copy(&store, &backup).expect("backup");
    let Layout {
        page_size,
        pages,
        outbox,
        case_leaves,
    } = layout(&agent);
    let last_outbox = *outbox.iter().max().expect("outbox pages");

    // Cut short at several sizes: only actions, and all those on pages kept.
    for keep in [pages - 1, pages * 2 / 3, pages / 2, 3] {
        restore(&store, &backup);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&store)
            .expect("store");
        file.set_len(keep * page_size).expect("truncate");
        drop(file);
        let rescue = refused(&agent, &["--offline", "queue"]);
        let ids = ids_in(&rescue);
        assert!(ids.iter().all(|id| queued.contains(id)), "{ids:?}");
        if keep > last_outbox {
            assert_eq!(ids, queued, "cut after the outbox: every action");
        }
    }
    // Garbage on a page of the outbox: the others are saved.
    restore(&store, &backup);
    let outbox_leaf = *outbox.iter().find(|p| **p > 1).expect("an outbox page");
    garble(&store, outbox_leaf, page_size);
    let rescue = refused(&agent, &["--offline", "queue"]);
    assert!(ids_in(&rescue).iter().all(|id| queued.contains(id)));

    // Garbage on a page of cases only: the first command that reads it
    // fails, the next is refused, and every action is saved.
    restore(&store, &backup);
    let case_page = *case_leaves
        .iter()
        .rev()
        .find(|p| !outbox.contains(p))
        .expect("a page of cases");
    garble(&store, case_page, page_size);
    let read_all = agent.run(&["--offline", "cases", "--view", "all", "--limit", "500"]);
    assert_ne!(read_all.code, 0, "{}", read_all.stdout);
    let rescue = refused(&agent, &["--offline", "queue"]);
    assert_eq!(ids_in(&rescue), queued, "every action, in order");

    // A new store: wipe, log in, sync, import, sync.
    let out = agent.run(&["logout", "--wipe"]).expect(0);
    assert!(
        out.stderr.contains(&rescue.display().to_string()),
        "{}",
        out.stderr
    );
    assert!(rescue.exists(), "the rescue file outlives the wipe");
    agent
        .run_with_input(
            &[
                "login",
                "--url",
                &proxy.url,
                "--user",
                "demo",
                "--password-stdin",
                "--language",
                "en",
            ],
            "demo\n",
        )
        .expect(0);
    agent.keep_cases_for(Some(36_500));
    agent.ok(&["sync"]);
    let rescue_arg = rescue.display().to_string();
    let out = agent.ok(&["queue", "import", &rescue_arg]);
    assert!(
        out.contains(&format!("{} action(s) queued again", queued.len())),
        "{out}"
    );
    let again = agent.ok(&["queue", "import", &rescue_arg]);
    assert!(again.contains("0 action(s) queued again"), "{again}");
    agent.sync_until_drained(5);

    let boss = server.client("superviseur");
    assert_eq!(
        boss.journal_count(&cases[0], landed).await,
        1,
        "landed once"
    );
    boss.assert_landed_once(&cases[1..], &expected, Some("1"))
        .await;
    let all = agent.json(&["--offline", "queue", "--all", "--json"]);
    let done: Vec<&str> = all
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| e["state"] == "done")
        .map(|e| e["id"].as_str().expect("id"))
        .collect();
    assert_eq!(done, queued, "each under its own id");
}
