//! The encoded-query parser (`sysparm_query`): the reference server parses
//! whatever a client sends. Any text gives a query or an error; a query
//! parsed prints back to text that parses to the same query.

use guichet::encoded_query::{Operator, Query, Term, parse};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::harness::{corpus, fuzz, mutated, raw, text};

const WORDS: &[&str] = &[
    "^",
    "^^",
    "^OR",
    "^NQ",
    "NQ",
    "OR",
    "ORDERBY",
    "ORDERBYDESC",
    "123TEXTQUERY321",
    "=",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "LIKE",
    "NOT LIKE",
    "STARTSWITH",
    "ENDSWITH",
    "IN",
    "NOT IN",
    "ISEMPTY",
    "ISNOTEMPTY",
    "ANYTHING",
    "BETWEEN",
    "@",
    ",",
    "state",
    "sys_id",
    "number",
    "sys_updated_on",
    "assigned_to.name",
    "_",
    ".",
    "1",
    "10",
    "2026-11-20 08:00:00",
    "é",
    "\u{0}",
    " ",
    "javascript:gs.now()",
];

fn check(text: &str) -> Result<(), TestCaseError> {
    let Ok(query) = parse(text) else {
        return Ok(());
    };
    // What the server then reads of it.
    let _: Vec<&str> = query.fields().collect();
    for term in query.blocks.iter().flat_map(|b| &b.groups).flatten() {
        if let Term::Condition(c) = term {
            let _: Vec<&str> = c.list().collect();
            let _ = c.bounds();
            prop_assert!(!c.field.is_empty());
            if c.op == Operator::Between {
                prop_assert!(c.bounds().is_some(), "BETWEEN without bounds: {:?}", c);
            }
        }
    }
    let printed = query.to_string();
    prop_assert_eq!(
        parse(&printed),
        Ok::<Query, guichet::encoded_query::ParseError>(query),
        "printed as {:?}",
        printed
    );
    Ok(())
}

#[test]
fn encoded_query() {
    let seeds = corpus("encoded_query");
    let strategy = prop_oneof![
        3 => mutated(seeds, WORDS).prop_map(text),
        1 => raw(WORDS).prop_map(text),
        1 => ".{0,64}",
    ];
    fuzz("encoded_query", strategy, |input| check(&input));
}
