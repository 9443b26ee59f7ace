use super::*;
use proptest::prelude::*;

fn cond(field: &str, op: Operator, value: &str) -> Term {
    Term::Condition(Condition::new(field, op, value))
}

#[test]
fn parses_and_or_and_new_query_blocks() {
    let q =
        parse("state=1^ORstate=10^priority<=2^NQassigned_toISEMPTY^ORDERBYDESCopened_at").unwrap();
    assert_eq!(q.blocks.len(), 2);
    assert_eq!(
        q.blocks[0].groups,
        vec![
            vec![
                cond("state", Operator::Eq, "1"),
                cond("state", Operator::Eq, "10")
            ],
            vec![cond("priority", Operator::Le, "2")],
        ]
    );
    assert_eq!(
        q.blocks[1].groups,
        vec![vec![cond("assigned_to", Operator::IsEmpty, "")]]
    );
    assert_eq!(
        q.order,
        vec![Order {
            field: "opened_at".into(),
            descending: true
        }]
    );
}

#[test]
fn every_operator_parses_from_its_spelling() {
    for (op, spelling) in Operator::ALL {
        let value = match op {
            _ if op.is_unary() => "",
            Operator::Between => "1@2",
            _ => "x",
        };
        let text = format!("short_description{spelling}{value}");
        let q = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            q.blocks[0].groups[0][0],
            cond("short_description", op, value),
            "{text}"
        );
        assert_eq!(q.to_string(), text);
    }
}

#[test]
fn double_caret_is_a_literal_caret() {
    let q = parse("short_descriptionLIKEa^^b^state=1").unwrap();
    assert_eq!(
        q.blocks[0].groups[0][0],
        cond("short_description", Operator::Like, "a^b")
    );
    assert_eq!(q.blocks[0].groups[1][0], cond("state", Operator::Eq, "1"));
    assert_eq!(q.to_string(), "short_descriptionLIKEa^^b^state=1");
}

#[test]
fn text_query_is_its_own_term() {
    let q = parse("123TEXTQUERY321=josé martin^state!=3").unwrap();
    assert_eq!(q.blocks[0].groups[0][0], Term::Text("josé martin".into()));
}

#[test]
fn empty_query_matches_everything_and_trailing_caret_is_tolerated() {
    assert_eq!(parse("").unwrap(), Query::default());
    assert_eq!(parse("state=1^").unwrap(), parse("state=1").unwrap());
}

#[test]
fn errors_name_the_faulty_piece() {
    let e = parse("stateFOO1").unwrap_err();
    assert!(
        e.message.contains("state") && e.message.contains("FOO1"),
        "{e}"
    );
    assert!(parse("=1").unwrap_err().message.contains("field name"));
    assert!(
        parse("^ORstate=1")
            .unwrap_err()
            .message
            .contains("no condition before")
    );
    assert!(
        parse("stateISEMPTYx")
            .unwrap_err()
            .message
            .contains("takes no value")
    );
    assert!(
        parse("opened_atBETWEEN2020")
            .unwrap_err()
            .message
            .contains("low@high")
    );
    assert!(parse("ORDERBY").unwrap_err().message.contains("order by"));
    assert!(
        parse("state")
            .unwrap_err()
            .message
            .contains("unknown operator")
    );
}

#[test]
fn list_and_bounds_split_values() {
    let c = Condition::new("state", Operator::In, "1,10,18");
    assert_eq!(c.list().collect::<Vec<_>>(), ["1", "10", "18"]);
    let c = Condition::new(
        "opened_at",
        Operator::Between,
        "2024-01-01 00:00:00@2024-02-01 00:00:00",
    );
    assert_eq!(
        c.bounds(),
        Some(("2024-01-01 00:00:00", "2024-02-01 00:00:00"))
    );
}

fn field() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_.]{0,12}"
}

fn value_for(op: Operator) -> BoxedStrategy<String> {
    // Any characters, carets included, but no `,` in lists and no leading `=`
    // after `<`/`>`: the two spots where the grammar itself has no escape.
    let any = "[^,]{0,12}";
    match op {
        _ if op.is_unary() => Just(String::new()).boxed(),
        Operator::Between => ("[^@]{0,8}", "[^@]{0,8}")
            .prop_map(|(a, b)| format!("{a}@{b}"))
            .boxed(),
        Operator::Lt | Operator::Gt => "([^=,][^,]{0,11})?".boxed(),
        _ => any.boxed(),
    }
}

fn term() -> impl Strategy<Value = Term> {
    let condition = (
        field(),
        proptest::sample::select(Operator::ALL.map(|(op, _)| op).to_vec()),
    )
        .prop_flat_map(|(f, op)| {
            value_for(op).prop_map(move |v| Term::Condition(Condition::new(f.clone(), op, v)))
        });
    prop_oneof![4 => condition, 1 => ".{0,12}".prop_map(Term::Text)]
}

fn query() -> impl Strategy<Value = Query> {
    let group = prop::collection::vec(term(), 1..3);
    let block = prop::collection::vec(group, 1..4).prop_map(|groups| Block { groups });
    let order =
        (field(), any::<bool>()).prop_map(|(field, descending)| Order { field, descending });
    (
        prop::collection::vec(block, 0..3),
        prop::collection::vec(order, 0..3),
    )
        .prop_map(|(blocks, order)| Query { blocks, order })
}

proptest! {
    #[test]
    fn print_then_parse_is_identity(q in query()) {
        let text = q.to_string();
        prop_assert_eq!(parse(&text), Ok(q), "printed as {}", text);
    }

    #[test]
    fn parse_never_panics(text in ".{0,40}") {
        let _ = parse(&text);
    }
}
