//! Many agents work the same cases at once, some of them offline: every
//! conflicting field change is surfaced, none is applied over a change its
//! agent never saw, every comment lands once and nothing queued is lost.
//!
//! `GUICHET_CROWD_AGENTS` (default 4; the full run: 20) and
//! `GUICHET_CROWD_CASES` (default 12; the full run: 500) set the size;
//! `GUICHET_CHAOS_SEED` replays a run's dice.

use std::collections::{BTreeMap, HashMap};

use support::agent::Agent;
use support::chaos::Dice;
use support::client::s;
use support::server::start;

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Accounts that all see the cases of the group "Titres".
const USERS: [&str; 3] = ["titres", "demo", "superviseur"];
const ROUNDS: usize = 3;

fn priority_here(agent: &Agent, number: &str) -> u64 {
    agent.json(&["--offline", "case", number, "--json"])["priority"]
        .as_u64()
        .unwrap_or(0)
}

/// One agent's round: a priority change and a comment on a few cases,
/// offline or online. Returns the comments' texts.
fn work(
    agent: &Agent,
    who: usize,
    round: usize,
    cases: &[String],
    offline: bool,
    dice: &mut Dice,
) -> Vec<(String, String)> {
    let mut comments = Vec::new();
    for k in 0..3 {
        let number = &cases[dice.below(cases.len() as u64) as usize];
        let seen = priority_here(agent, number);
        // Any value but the one seen: a change, never a no-op.
        let choices: Vec<u64> = (1..=4).filter(|p| *p != seen).collect();
        let priority = choices[dice.below(choices.len() as u64) as usize].to_string();
        let text = format!("Agent {who}, tour {round}, note {k} sur {number}");
        let mut args = vec!["priority", number.as_str(), priority.as_str()];
        let mut comment = vec!["comment", number.as_str(), text.as_str()];
        if offline {
            args.insert(0, "--offline");
            comment.insert(0, "--offline");
        }
        // Online, a stale copy is a conflict at once (exit 4), queued too.
        let out = agent.run(&args);
        assert!(matches!(out.code, 0 | 4), "{} {}", out.stdout, out.stderr);
        agent.run(&comment).expect(0);
        comments.push((number.clone(), text));
    }
    comments
}

async fn crowd(extra: &[&str], strict: bool) {
    let agents_n = size("GUICHET_CROWD_AGENTS", 4);
    let cases_n = size("GUICHET_CROWD_CASES", 12);
    let server = start((cases_n * 12).max(200) as u32, extra);
    let boss = server.client("superviseur");
    let group = boss.group_id("Titres").await;
    let rows = boss
        .list(
            "/api/now/table/sn_customerservice_case",
            &[
                (
                    "sysparm_query",
                    &format!("assignment_group={group}^active=true^ORDERBYnumber") as &str,
                ),
                ("sysparm_limit", &cases_n.to_string()),
                ("sysparm_fields", "number,priority"),
            ],
        )
        .await
        .expect(200);
    let initial: HashMap<String, u64> = rows
        .rows()
        .iter()
        .map(|r| {
            (
                s(&r["number"]).to_string(),
                s(&r["priority"]).parse().unwrap_or(0),
            )
        })
        .collect();
    let cases: Vec<String> = initial.keys().cloned().collect();
    assert!(cases.len() >= cases_n.min(10), "{}", cases.len());

    let agents: Vec<Agent> = (0..agents_n)
        .map(|i| Agent::login(&server.url, USERS[i % USERS.len()]))
        .collect();
    for agent in &agents {
        agent.ok(&["sync"]);
    }
    let mut master = Dice::new();
    let seeds: Vec<u64> = (0..agents_n).map(|_| master.below(u64::MAX)).collect();
    let mut comments = Vec::new();
    for round in 0..ROUNDS {
        let done: Vec<Vec<(String, String)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = agents
                .iter()
                .enumerate()
                .map(|(who, agent)| {
                    let cases = &cases;
                    let seed = seeds[who] ^ round as u64;
                    scope.spawn(move || {
                        let mut dice = Dice::seeded(seed);
                        // A third of the counters are offline this round.
                        let offline = (who + round) % 3 == 0;
                        let made = work(agent, who, round, cases, offline, &mut dice);
                        if !offline {
                            let _ = agent.run(&["sync"]);
                        }
                        made
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("agent"))
                .collect()
        });
        comments.extend(done.into_iter().flatten());
    }
    // The link comes back everywhere: sync until only decisions wait.
    for _ in 0..6 {
        std::thread::scope(|scope| {
            for agent in &agents {
                scope.spawn(move || {
                    let _ = agent.run(&["sync"]);
                });
            }
        });
    }

    // Each agent decides: the colleague's value stands (a later change
    // of the same case may then meet the next conflict), until no queue
    // holds anything. The comments queued behind a conflict then go too.
    for _ in 0..(ROUNDS * 3 + 2) {
        let mut waiting = 0;
        for agent in &agents {
            for entry in agent.queue() {
                waiting += 1;
                if entry["state"] == "conflict" {
                    let id = entry["id"].as_str().unwrap().to_string();
                    agent.ok(&["queue", "resolve", &id, "--theirs"]);
                }
            }
            let _ = agent.run(&["sync"]);
        }
        if waiting == 0 {
            break;
        }
    }
    for agent in &agents {
        assert!(agent.queue().is_empty(), "{:?}", agent.queue());
    }
    // Every comment landed once.
    let mut texts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for number in &cases {
        texts.insert(number.clone(), boss.journal_texts(number).await);
    }
    for (number, text) in &comments {
        assert_eq!(
            texts[number].iter().filter(|t| *t == text).count(),
            1,
            "{text}"
        );
    }

    // Every priority change was applied or surfaced as a conflict: none
    // lost, none refused.
    let mut applied: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
    let mut conflicts = 0;
    let mut changes = 0;
    for agent in &agents {
        let all = agent.json(&["--offline", "queue", "--all", "--json"]);
        for entry in all.as_array().unwrap() {
            if entry["kind"] != "priority" {
                continue;
            }
            changes += 1;
            match entry["state"].as_str() {
                // Surfaced, then dropped by its agent's decision.
                Some("conflict" | "dropped") => conflicts += 1,
                Some("done") if entry["settled_by"] == "sent" => {
                    let seen: u64 = entry["seen"]["priority"]
                        .as_str()
                        .and_then(|p| p.parse().ok())
                        .unwrap_or_else(|| panic!("no priority seen: {entry}"));
                    let set: u64 = entry["sets"]["priority"]
                        .as_str()
                        .and_then(|p| p.parse().ok())
                        .unwrap_or_else(|| panic!("no priority set: {entry}"));
                    let number = entry["case"].as_str().unwrap().to_string();
                    applied.entry(number).or_default().push((seen, set));
                }
                // Already there when it was sent (a colleague made the
                // same change): settled, applying nothing.
                Some("done") => {}
                other => panic!("a change neither applied nor surfaced: {other:?} {entry}"),
            }
        }
    }
    assert_eq!(changes, agents_n * ROUNDS * 3, "no change lost");
    assert!(conflicts > 0, "no conflict arose: the test proved nothing");
    eprintln!(
        "{changes} changes: {} applied, {conflicts} surfaced as conflicts",
        applied.values().map(Vec::len).sum::<usize>()
    );

    if strict {
        // Each applied change went from the value its agent saw: the
        // applied changes of a case chain from its first value to its last
        // (in-degree and out-degree of each value balance but at the ends).
        for number in &cases {
            let last: u64 = s(&boss.find_case(&format!("number={number}")).await["priority"])
                .parse()
                .unwrap();
            let mut balance: HashMap<u64, i64> = HashMap::new();
            for (seen, set) in applied.get(number).map(Vec::as_slice).unwrap_or(&[]) {
                *balance.entry(*seen).or_default() += 1;
                *balance.entry(*set).or_default() -= 1;
            }
            *balance.entry(initial[number]).or_default() -= 1;
            *balance.entry(last).or_default() += 1;
            assert!(
                balance.values().all(|b| *b == 0),
                "{number}: a change was applied over one its agent never saw: from {} to {last} by {:?}",
                initial[number],
                applied.get(number)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_conditional_writes_no_change_is_applied_over_an_unseen_one() {
    crowd(&[], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn like_a_real_servicenow_nothing_is_lost_and_conflicts_are_surfaced() {
    crowd(&["--no-extensions"], false).await;
}
