//! The keymap loader: an agent's `keymap.toml`, and the key names in it.

use guichet::console::command::{Context, SPECS};
use guichet::console::keymap::{DEFAULTS, Key, Keymap};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::harness::{corpus, fuzz, mutated, raw, text};

const WORDS: &[&str] = &[
    "[global]",
    "[queues]",
    "[case]",
    "[outbox]",
    "[x]",
    "\n",
    "\"",
    "'",
    "=",
    "#",
    ".",
    "ctrl-",
    "c-",
    "alt-",
    "m-",
    "shift-",
    "Shift-",
    "CTRL-",
    "tab",
    "enter",
    "esc",
    "f1",
    "f12",
    "f0",
    "f255",
    "f256",
    "pageup",
    "space",
    " ",
    "é",
    "ß",
    "\u{0}",
    "\u{7f}",
    "\"help\"",
    "\"drop\"",
    "\"keep_theirs\"",
    "\"quit\"",
    "\"take\"",
    "\"nope\"",
    "1",
    "[",
    "]",
    "{",
    "}",
];

const KEY_PARTS: &[&str] = &[
    "ctrl-",
    "c-",
    "alt-",
    "m-",
    "shift-",
    "Ctrl-",
    "ALT-",
    "SHIFT-",
    "",
    "a",
    "A",
    "z",
    "?",
    "-",
    "é",
    "É",
    "ß",
    "ǅ",
    "\u{301}",
    "\u{0}",
    " ",
    "tab",
    "Tab",
    "enter",
    "return",
    "esc",
    "f1",
    "F12",
    "f13",
    "f01",
    "f",
    "backspace",
    "del",
    "ins",
    "pgup",
    "pgdn",
    "space",
    "home",
    "shift-",
    "shift-tab",
    "up",
];

/// A keymap of the right shape: sections, keys and actions, right or wrong.
fn structured() -> impl Strategy<Value = Vec<u8>> {
    let commands: Vec<String> = SPECS
        .iter()
        .map(|s| s.command.name().to_string())
        .chain(["nope".to_string(), String::new()])
        .collect();
    let key = proptest::collection::vec(proptest::sample::select(KEY_PARTS), 1..4)
        .prop_map(|parts| parts.concat());
    let value = prop_oneof![
        6 => proptest::sample::select(commands).prop_map(|c| format!("\"{c}\"")),
        1 => Just("1".to_string()),
        1 => Just("[\"help\"]".to_string()),
        1 => Just("{ a = \"help\" }".to_string()),
    ];
    let section = (
        proptest::sample::select(&["global", "queues", "case", "outbox", "Global", "x", ""][..]),
        proptest::collection::vec((key, value), 0..12),
    );
    proptest::collection::vec(section, 0..5).prop_map(|sections| {
        let mut text = String::new();
        for (name, bindings) in sections {
            text.push_str(&format!("[{name}]\n"));
            for (key, value) in bindings {
                let key = key.replace('\\', "\\\\").replace('"', "\\\"");
                text.push_str(&format!("\"{key}\" = {value}\n"));
            }
        }
        text.into_bytes()
    })
}

fn check(text: &str) -> Result<(), TestCaseError> {
    match Keymap::parse(text, "keymap.toml") {
        Ok(keymap) => {
            for context in Context::ALL {
                for (command, _, keys) in keymap.specs_for(context) {
                    for key in keys {
                        prop_assert!(keymap.command(context, key).is_some());
                        let _ = keymap.keys_of(context, command);
                    }
                }
            }
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            let lines = text.lines().count() + 1;
            for e in &errors {
                prop_assert!(e.line <= lines, "{} is past the file's end", e);
            }
        }
    }
    // Every key the file names, read as the loader reads it: a key read
    // prints as a name that reads back as the same key.
    for line in text.lines() {
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        if let Some(parsed) = Key::parse(key) {
            let shown = parsed.to_string();
            prop_assert_eq!(
                Key::parse(&shown),
                Some(parsed),
                "{:?} shown as {:?}",
                key,
                shown
            );
        }
    }
    Ok(())
}

#[test]
fn keymap_files() {
    let mut seeds = corpus("keymap");
    seeds.push(DEFAULTS.as_bytes().to_vec());
    let strategy = prop_oneof![
        3 => mutated(seeds, WORDS).prop_map(text),
        2 => structured().prop_map(text),
        1 => raw(WORDS).prop_map(text),
    ];
    fuzz("keymap_files", strategy, |input| check(&input));
}

/// Key names alone, the loader's smallest parser.
#[test]
fn keymap_key_names() {
    let strategy = prop_oneof![
        proptest::collection::vec(proptest::sample::select(KEY_PARTS), 0..5)
            .prop_map(|p| p.concat()),
        ".{0,12}",
    ];
    fuzz("keymap_key_names", strategy, |name| {
        if let Some(key) = Key::parse(&name) {
            let shown = key.to_string();
            prop_assert_eq!(
                Key::parse(&shown),
                Some(key),
                "{:?} shown as {:?}",
                name,
                shown
            );
        }
        Ok(())
    });
}
