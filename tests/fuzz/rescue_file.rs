//! `guichet queue import FILE`: a rescue file is a file like any other by
//! the time it is imported (edited, cut short, another file named by
//! mistake). Whatever it holds, the import refuses it or queues actions
//! that the outbox can read back: never a panic, never a queue that no
//! longer lists.

use guichet::store::{Store, read_rescue_file};
use proptest::prelude::*;
use serde_json::Value;

use super::harness::{Bytes, corpus, fuzz_slow, mutated, raw};

const WORDS: &[&str] = &[
    "{",
    "}",
    "\n",
    "\"",
    ",",
    ":",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "9223372036854775808",
    "\"seq\"",
    "\"id\"",
    "\"action\"",
    "\"kind\"",
    "\"comment\"",
    "\"priority\"",
    "\"seen\"",
    "\"theirs\"",
    "\"state\"",
    "\"pending\"",
    "\"sending\"",
    "\"in_doubt\"",
    "\"done\"",
    "\"created_at\"",
    "\"2026-11-29 05:20:00\"",
    "\"27/11/2026\"",
    "\"doubtful\"",
    "{}",
    "[]",
];

/// A value of the type a field has, rarely the right one.
fn value_for(field: &'static str) -> BoxedStrategy<Value> {
    let text = |choices: &'static [&'static str]| {
        prop_oneof![
            3 => proptest::sample::select(choices).prop_map(|s| Value::String(s.to_string())),
            1 => ".{0,12}".prop_map(Value::String),
        ]
        .boxed()
    };
    match field {
        "id" => prop_oneof![
            "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
                .prop_map(Value::String),
            ".{0,40}".prop_map(Value::String),
        ]
        .boxed(),
        "seq" | "attempts" | "keyless_sends" | "next_attempt_at" => prop_oneof![
            any::<i64>().prop_map(Value::from),
            (-2i64..5).prop_map(Value::from),
        ]
        .boxed(),
        "doubtful" => any::<bool>().prop_map(Value::Bool).boxed(),
        "state" => text(&[
            "pending", "sending", "in_doubt", "failed", "conflict", "done", "dropped", "x",
        ]),
        "settled_by" => text(&["sent", "read_back", ""]),
        "created_at" | "first_sent_at" | "first_sent_backend_at" | "updated_at" => text(&[
            "2026-11-29 05:20:00",
            "2026-02-30 25:00:00",
            "27/11/2026",
            "",
            "9999-12-31 23:59:59",
        ]),
        "case_id" | "case_number" | "base_version" => text(&["c1", "", "new:1", "NEW-1", "CS1"]),
        // action, seen, theirs: JSON objects, right or wrong.
        _ => prop_oneof![
            proptest::sample::select(
                &[
                    "{\"kind\":\"comment\",\"text\":\"x\"}",
                    "{\"kind\":\"comment\"}",
                    "{\"kind\":\"priority\",\"priority\":300}",
                    "{\"kind\":\"priority\",\"priority\":2}",
                    "{\"kind\":\"open\"}",
                    "{\"kind\":\"set_state\",\"state\":\"6\"}",
                    "{}",
                    "[]",
                    "{\"priority\":\"3\"}",
                    "{\"nope\":\"1\"}",
                    "{\"id\":\"1\",\"number\":\"CS1\"}",
                    "null",
                    "\"text\"",
                    "12",
                ][..],
            )
            .prop_map(|s| serde_json::from_str(s).unwrap_or(Value::Null)),
            proptest::collection::btree_map("[a-z_]{1,8}", ".{0,6}", 0..4)
                .prop_map(|m| serde_json::to_value(m).unwrap_or(Value::Null)),
        ]
        .boxed(),
    }
}

const FIELDS: &[&str] = &[
    "seq",
    "id",
    "case_id",
    "case_number",
    "action",
    "base_version",
    "seen",
    "created_at",
    "state",
    "attempts",
    "next_attempt_at",
    "doubtful",
    "theirs",
    "first_sent_at",
    "first_sent_backend_at",
    "settled_by",
    "keyless_sends",
    "updated_at",
];

/// Lines of the right shape, a few fields set to other values of their type
/// (or removed).
fn structured() -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Value> = corpus("rescue_file")
        .iter()
        .flat_map(|file| {
            String::from_utf8_lossy(file)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect::<Vec<Value>>()
        })
        .collect();
    let change = proptest::sample::select(FIELDS)
        .prop_flat_map(|field| (Just(field), value_for(field), proptest::bool::weighted(0.1)));
    let line = (
        proptest::sample::select(seeds),
        proptest::collection::vec(change, 0..3),
    )
        .prop_map(|(mut line, changes)| {
            if let Some(map) = line.as_object_mut() {
                for (field, value, remove) in changes {
                    if remove {
                        map.remove(field);
                    } else {
                        map.insert(field.to_string(), value);
                    }
                }
            }
            line.to_string()
        });
    proptest::collection::vec(line, 1..4).prop_map(|lines| {
        let mut text = lines.join("\n");
        text.push('\n');
        text.into_bytes()
    })
}

#[test]
fn rescue_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rescue.jsonl");
    // Each case imports into a store of its own, copied from an empty one
    // (a store shared by all would carry one case's rows into the next).
    let template = dir.path().join("template.db");
    drop(Store::open(&template, None).expect("store"));
    let path = dir.path().join("p.db");
    let imported = std::cell::Cell::new(0u64);
    let strategy = prop_oneof![
        3 => mutated(corpus("rescue_file"), WORDS),
        3 => structured(),
        1 => raw(WORDS),
    ]
    .prop_map(Bytes);
    // A store opened each case: a third of the cases when counting them.
    fuzz_slow("rescue_files", 3, strategy, |Bytes(bytes)| {
        std::fs::write(&file, &bytes).expect("write");
        let Ok(actions) = read_rescue_file(&file) else {
            return Ok(());
        };
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("p.db{suffix}")));
        }
        std::fs::copy(&template, &path).expect("a fresh store");
        let mut store = Store::open(&path, None).expect("store");
        // Quick commits: thousands of imports, none of which must survive a crash.
        store.relax_durability(true).expect("relaxed");
        if let Ok(done) = store.import_actions(&actions) {
            imported.set(imported.get() + done.added as u64);
            let queue = store.queue(true);
            prop_assert!(
                queue.is_ok(),
                "imported, then unreadable: {:?}",
                queue.err()
            );
        }
        Ok(())
    });
    eprintln!("fuzz rescue_files: {} action(s) imported", imported.get());
    assert!(
        imported.get() > 0,
        "no input was ever imported: the target tests nothing"
    );
}
