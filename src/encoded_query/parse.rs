//! Encoded query parsing: text to [`Query`].

use super::{Block, Condition, Operator, Order, Query, TEXT_QUERY, Term};

/// Why an encoded query was refused; the message names the piece at fault so
/// that a client (or a person typing a query) can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid encoded query: {message}")]
pub struct ParseError {
    pub message: String,
}

fn error(message: String) -> ParseError {
    ParseError { message }
}

/// Parses an encoded query. Empty segments (a trailing `^`) are tolerated, as
/// ServiceNow tolerates them; anything else that is not a condition, a
/// connector or an ordering is an error.
pub fn parse(text: &str) -> Result<Query, ParseError> {
    let mut query = Query::default();
    let mut block = Block::default();
    for segment in segments(text) {
        if segment.is_empty() {
            continue;
        }
        let (rest, new_block) = match segment.strip_prefix("NQ") {
            Some(rest) => (rest, true),
            None => (segment.as_str(), false),
        };
        if new_block && !block.groups.is_empty() {
            query.blocks.push(std::mem::take(&mut block));
        }
        if let Some(field) = rest.strip_prefix("ORDERBYDESC") {
            query.order.push(order(field, true)?);
        } else if let Some(field) = rest.strip_prefix("ORDERBY") {
            query.order.push(order(field, false)?);
        } else if let Some(term) = rest.strip_prefix("OR").filter(|_| !new_block) {
            let term = parse_term(term)?;
            match block.groups.last_mut() {
                Some(group) => group.push(term),
                None => {
                    return Err(error(format!(
                        "'^OR{}' has no condition before it",
                        term_text(rest)
                    )));
                }
            }
        } else {
            block.groups.push(vec![parse_term(rest)?]);
        }
    }
    if !block.groups.is_empty() {
        query.blocks.push(block);
    }
    Ok(query)
}

fn term_text(rest: &str) -> &str {
    rest.strip_prefix("OR").unwrap_or(rest)
}

/// Splits on `^`, turning `^^` into a literal `^`.
fn segments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '^' {
            if chars.peek() == Some(&'^') {
                chars.next();
                current.push('^');
            } else {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out
}

fn is_field_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
}

fn order(field: &str, descending: bool) -> Result<Order, ParseError> {
    if field.is_empty() || !field.chars().all(is_field_char) {
        return Err(error(format!("'{field}' is not a field name to order by")));
    }
    Ok(Order {
        field: field.to_string(),
        descending,
    })
}

fn parse_term(segment: &str) -> Result<Term, ParseError> {
    if let Some(rest) = segment.strip_prefix(TEXT_QUERY) {
        return match rest.strip_prefix('=') {
            Some(words) => Ok(Term::Text(words.to_string())),
            None => Err(error(format!(
                "'{segment}': text search is written {TEXT_QUERY}=words"
            ))),
        };
    }
    let field_len = segment
        .find(|c: char| !is_field_char(c))
        .unwrap_or(segment.len());
    let (field, rest) = segment.split_at(field_len);
    if field.is_empty() {
        return Err(error(format!(
            "'{segment}' does not start with a field name"
        )));
    }
    let Some((op, spelling)) = Operator::ALL.iter().find(|(_, s)| rest.starts_with(s)) else {
        let shown = if rest.is_empty() { "nothing" } else { rest };
        return Err(error(format!(
            "unknown operator after field '{field}': {shown}"
        )));
    };
    let value = &rest[spelling.len()..];
    if op.is_unary() && !value.is_empty() {
        return Err(error(format!(
            "{spelling} takes no value, found '{value}' after field '{field}'"
        )));
    }
    if *op == Operator::Between && !value.contains('@') {
        return Err(error(format!(
            "BETWEEN on '{field}' needs two bounds written low@high"
        )));
    }
    Ok(Term::Condition(Condition::new(field, *op, value)))
}
