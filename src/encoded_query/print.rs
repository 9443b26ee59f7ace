//! Encoded query printing: [`Query`] to text. `parse(print(q)) == q` for every
//! query whose values hold no `,` in IN lists and where a `<` or `>` value does
//! not start with `=` (ServiceNow has no escape for either).

use super::{Query, TEXT_QUERY, Term};

pub(super) fn print(query: &Query) -> String {
    let mut out = String::new();
    for (b, block) in query.blocks.iter().enumerate() {
        if b > 0 {
            out.push_str("^NQ");
        }
        for (g, group) in block.groups.iter().enumerate() {
            if g > 0 {
                out.push('^');
            }
            for (t, term) in group.iter().enumerate() {
                if t > 0 {
                    out.push_str("^OR");
                }
                print_term(&mut out, term);
            }
        }
    }
    for order in &query.order {
        if !out.is_empty() {
            out.push('^');
        }
        out.push_str(if order.descending {
            "ORDERBYDESC"
        } else {
            "ORDERBY"
        });
        out.push_str(&order.field);
    }
    out
}

fn print_term(out: &mut String, term: &Term) {
    match term {
        Term::Text(words) => {
            out.push_str(TEXT_QUERY);
            out.push('=');
            escape_into(out, words);
        }
        Term::Condition(c) => {
            out.push_str(&c.field);
            out.push_str(c.op.as_str());
            escape_into(out, &c.value);
        }
    }
}

fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        if c == '^' {
            out.push('^');
        }
        out.push(c);
    }
}
