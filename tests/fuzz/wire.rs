//! The ServiceNow adapter's answer decoders: arbitrary bytes, and JSON of
//! the right shape with the wrong things in it (types, missing fields, huge
//! strings, nested junk), give a value or an error, never a panic.

use std::collections::BTreeMap;
use std::time::Duration;

use guichet::backend::servicenow::Schema;
use guichet::backend::servicenow::decode;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value};

use super::harness::{Bytes, MAX_INPUT, corpus, fuzz, mutated, raw};

const WORDS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e400",
    "18446744073709551616",
    "\"result\"",
    "\"sys_id\"",
    "\"number\"",
    "\"state\"",
    "\"priority\"",
    "\"value\"",
    "\"opened_at\"",
    "\"2026-11-20 08:00:00\"",
    "\"error\"",
    "\"message\"",
    "\"detail\"",
    "\"element\"",
    "\"comments\"",
    "\"due_days\"",
    "\"language\"",
    "\"fr\"",
    "é",
    "\u{feff}",
];

/// Every name a decoder looks up: structured junk lands where it is read.
const FIELDS: &[&str] = &[
    "result",
    "error",
    "message",
    "detail",
    "sys_id",
    "number",
    "short_description",
    "description",
    "state",
    "priority",
    "category",
    "contact_type",
    "consumer",
    "assigned_to",
    "assignment_group",
    "opened_at",
    "due_date",
    "resolution_code",
    "close_notes",
    "sys_updated_on",
    "sys_updated_by",
    "sys_mod_count",
    "first_name",
    "last_name",
    "email",
    "mobile_phone",
    "street",
    "city",
    "zip",
    "element_id",
    "element",
    "value",
    "sys_created_on",
    "sys_created_by",
    "user_name",
    "name",
    "active",
    "user",
    "group",
    "label",
    "language",
    "sequence",
    "inactive",
    "code",
    "label_en",
    "label_fr",
    "due_days",
    "documents_en",
    "documents_fr",
    "follow_up_en",
    "follow_up_fr",
    "caller_id",
    "u_deadline",
    "link",
];

fn schemas() -> Vec<Schema> {
    let renamed: BTreeMap<String, String> = [
        ("citizen", "caller_id"),
        ("due", "u_deadline"),
        ("state", "incident_state"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vec![
        Schema::default(),
        Schema::new(Some("incident"), &renamed).expect("schema"),
        Schema::new(Some("task"), &BTreeMap::new()).expect("schema"),
    ]
}

/// What the adapter does with an answer's body, all of it.
fn decode_all(schemas: &[Schema], body: &Value) -> Result<(), TestCaseError> {
    for status in [200, 201, 401, 403, 404, 412, 422] {
        let _ = decode::error_detail(body, StatusCode::from_u16(status).expect("status"));
    }
    let one = &body["result"];
    for schema in schemas {
        for value in [body, one] {
            if let Ok(case) = decode::case(schema, value) {
                prop_assert!(!case.id.is_empty() && !case.number.is_empty());
                prop_assert!(case.priority <= 9);
            }
            if let Some(record) = value.as_object() {
                let _ = schema.missing_in(record);
            }
        }
        if let Ok(rows) = decode::result_rows(body) {
            for row in rows {
                let _ = decode::case(schema, row);
            }
            let _ = decode::choices(schema, rows);
        }
        let _ = decode::choices(schema, std::slice::from_ref(body));
    }
    let rows = decode::result_rows(body)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for row in rows.iter().chain([body, one]) {
        let _ = decode::citizen(row);
        let _ = decode::timeline_entry(row);
        let _ = decode::user(row);
        let _ = decode::group(row);
        let _ = decode::group_id(row);
        let _ = decode::membership(row);
        let _ = decode::procedure(row);
    }
    Ok(())
}

/// A leaf of any JSON type, sometimes huge.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        "[0-9 :./-]{0,24}".prop_map(Value::String),
        proptest::sample::select(
            &[
                "",
                "0",
                "-1",
                "10",
                "99999999999999999999",
                "2026-11-20 08:00:00",
                "2026-13-45 25:61:61",
                "9999-12-31 23:59:59",
                "0000-00-00 00:00:00",
                "comments",
                "work_notes",
                "true",
                "false",
                "fr",
                "en",
                "NaN",
                " 3 ",
            ][..]
        )
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

/// A huge string (a field of a few hundred kilobytes).
fn huge() -> impl Strategy<Value = Value> {
    (1000..300_000usize, "[a-zé ]").prop_map(|(n, c)| Value::String(c.repeat(n)))
}

/// JSON of any shape, with the decoders' own field names as keys.
fn junk() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => proptest::sample::select(FIELDS).prop_map(str::to_string),
        1 => ".{0,8}",
    ];
    leaf().prop_recursive(6, 256, 12, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..16)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A change deep inside a real answer: a value of the wrong type, a field
/// gone, a field added, a level of nesting more.
#[derive(Debug, Clone)]
enum Change {
    Set(usize, Value),
    Remove(usize),
    Add(usize, String, Value),
    Wrap(usize, bool),
    Nest(usize, usize),
}

fn change() -> impl Strategy<Value = Change> {
    let at = any::<usize>();
    let key = proptest::sample::select(FIELDS).prop_map(str::to_string);
    prop_oneof![
        4 => (at, prop_oneof![6 => leaf().boxed(), 1 => huge().boxed(), 2 => junk().boxed()]).prop_map(|(p, v)| Change::Set(p, v)),
        3 => at.prop_map(Change::Remove),
        2 => (at, key, leaf()).prop_map(|(p, k, v)| Change::Add(p, k, v)),
        1 => (at, any::<bool>()).prop_map(|(p, a)| Change::Wrap(p, a)),
        1 => (at, 1..300usize).prop_map(|(p, d)| Change::Nest(p, d)),
    ]
}

fn node_count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(node_count).sum(),
        Value::Object(map) => map.values().map(node_count).sum(),
        _ => 0,
    }
}

fn with_node(value: &mut Value, index: usize, f: impl FnOnce(&mut Value)) {
    let mut n = index % node_count(value);
    fn walk<'a>(value: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
        if *n == 0 {
            return Some(value);
        }
        *n -= 1;
        match value {
            Value::Array(items) => items.iter_mut().find_map(|v| walk(v, n)),
            Value::Object(map) => map.values_mut().find_map(|v| walk(v, n)),
            _ => None,
        }
    }
    if let Some(node) = walk(value, &mut n) {
        f(node);
    }
}

fn change_value(value: &mut Value, change: &Change) {
    match change {
        Change::Set(at, new) => with_node(value, *at, |node| *node = new.clone()),
        Change::Remove(at) => with_node(value, *at, |node| match node {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(at % map.len()).cloned().unwrap_or_default();
                map.remove(&key);
            }
            Value::Array(items) if !items.is_empty() => {
                items.remove(at % items.len());
            }
            _ => {}
        }),
        Change::Add(at, key, new) => with_node(value, *at, |node| match node {
            Value::Object(map) => {
                map.insert(key.clone(), new.clone());
            }
            Value::Array(items) => items.push(new.clone()),
            _ => {}
        }),
        Change::Wrap(at, array) => with_node(value, *at, |node| {
            let inner = node.take();
            *node = if *array {
                Value::Array(vec![inner])
            } else {
                Value::Object([("value".to_string(), inner)].into_iter().collect())
            };
        }),
        Change::Nest(at, depth) => with_node(value, *at, |node| {
            for _ in 0..*depth {
                let inner = node.take();
                *node = Value::Array(vec![inner]);
            }
        }),
    }
}

fn seeds_as_json(seeds: &[Vec<u8>]) -> Vec<Value> {
    seeds
        .iter()
        .filter_map(|s| serde_json::from_slice(s).ok())
        .collect()
}

/// Either bytes (read as an answer's body) or a JSON value built directly.
#[derive(Debug, Clone)]
enum Input {
    Bytes(Bytes),
    Json(Value),
}

fn check(schemas: &[Schema], input: Input) -> Result<(), TestCaseError> {
    let value = match input {
        Input::Bytes(Bytes(bytes)) => {
            // As the client reads a body: empty is null, else JSON or an error.
            if bytes.is_empty() {
                Value::Null
            } else {
                match serde_json::from_slice::<Value>(&bytes) {
                    Ok(value) => value,
                    Err(_) => return Ok(()),
                }
            }
        }
        Input::Json(value) => value,
    };
    decode_all(schemas, &value)?;
    // The same value through bytes (a nesting too deep is refused there).
    if let Ok(bytes) = serde_json::to_vec(&value)
        && bytes.len() <= MAX_INPUT
        && let Ok(back) = serde_json::from_slice::<Value>(&bytes)
    {
        decode_all(schemas, &back)?;
    }
    Ok(())
}

#[test]
fn wire_answers() {
    let seeds = corpus("wire");
    let json_seeds = seeds_as_json(&seeds);
    assert!(!json_seeds.is_empty(), "the wire corpus has JSON seeds");
    let structured = (
        proptest::sample::select(json_seeds),
        proptest::collection::vec(change(), 1..6),
    )
        .prop_map(|(mut value, changes)| {
            for change in &changes {
                change_value(&mut value, change);
            }
            Input::Json(value)
        });
    let strategy = prop_oneof![
        3 => mutated(seeds, WORDS).prop_map(|b| Input::Bytes(Bytes(b))),
        3 => structured,
        2 => junk().prop_map(Input::Json),
        1 => raw(WORDS).prop_map(|b| Input::Bytes(Bytes(b))),
    ];
    let schemas = schemas();
    fuzz("wire_answers", strategy, |input| check(&schemas, input));
}

/// `Retry-After` and the rate-limit headers: whatever the back-end sends,
/// the wait is a day at most.
#[test]
fn wire_rate_limit_headers() {
    let name =
        proptest::sample::select(&["retry-after", "x-ratelimit-reset", "ratelimit-reset"][..]);
    let value = prop_oneof![
        "[0-9]{0,25}",
        " ?-?[0-9]{1,12} ?",
        "[ -~]{0,16}",
        proptest::sample::select(
            &[
                "18446744073709551615",
                "18446744073709551616",
                "0",
                "1000000001",
                "4102444800",
                "Wed, 21 Oct 2015 07:28:00 GMT",
                "",
            ][..]
        )
        .prop_map(str::to_string),
    ];
    let strategy = proptest::collection::vec((name, value), 0..4);
    fuzz("wire_rate_limit_headers", strategy, |headers| {
        let mut map = HeaderMap::new();
        for (name, value) in &headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.append(*name, value);
            }
        }
        if let Some(wait) = decode::retry_after(&map) {
            prop_assert!(wait <= Duration::from_secs(24 * 3600), "{:?}", wait);
        }
        Ok(())
    });
}
