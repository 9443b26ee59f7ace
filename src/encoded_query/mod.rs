//! ServiceNow encoded queries (`sysparm_query`): one grammar for the whole
//! project. The reference server parses them and compiles them to SQL; the
//! ServiceNow client builds them and prints them. Keeping parser and printer
//! in one module is what guarantees the two sides never drift apart.
//!
//! Grammar (as documented by ServiceNow):
//! `<field><OP><value>` conditions joined by `^` (AND), `^OR` (OR with the
//! previous condition) and `^NQ` (a new OR'd block), plus `ORDERBY<field>` and
//! `ORDERBYDESC<field>`. A literal `^` inside a value is written `^^`.

mod parse;
mod print;

pub use parse::{ParseError, parse};

/// A parsed encoded query: blocks OR'd together (`^NQ`), and a sort order.
/// An empty `blocks` list matches every record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub blocks: Vec<Block>,
    pub order: Vec<Order>,
}

/// Conditions of one block: an AND of groups, each group an OR of terms
/// (`a^ORb^c` is `(a OR b) AND c`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Block {
    pub groups: Vec<Vec<Term>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// `<field><op><value>`; the value is kept raw (IN lists still joined by
    /// `,`, BETWEEN bounds by `@`) and interpreted by whoever evaluates it.
    Condition(Condition),
    /// `123TEXTQUERY321=<words>`: the full-text search over a table.
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: String,
    pub op: Operator,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Like,
    NotLike,
    StartsWith,
    EndsWith,
    In,
    NotIn,
    IsEmpty,
    IsNotEmpty,
    Anything,
    Between,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub field: String,
    pub descending: bool,
}

/// The marker ServiceNow uses for full-text search in an encoded query.
pub const TEXT_QUERY: &str = "123TEXTQUERY321";

impl Operator {
    /// Every operator with its spelling, longest spellings first so that a
    /// scan picks `NOT LIKE` before `LIKE` and `<=` before `<`.
    pub const ALL: [(Operator, &'static str); 16] = [
        (Operator::IsNotEmpty, "ISNOTEMPTY"),
        (Operator::StartsWith, "STARTSWITH"),
        (Operator::EndsWith, "ENDSWITH"),
        (Operator::NotLike, "NOT LIKE"),
        (Operator::Anything, "ANYTHING"),
        (Operator::IsEmpty, "ISEMPTY"),
        (Operator::Between, "BETWEEN"),
        (Operator::NotIn, "NOT IN"),
        (Operator::Like, "LIKE"),
        (Operator::In, "IN"),
        (Operator::Ne, "!="),
        (Operator::Le, "<="),
        (Operator::Ge, ">="),
        (Operator::Eq, "="),
        (Operator::Lt, "<"),
        (Operator::Gt, ">"),
    ];

    pub fn as_str(self) -> &'static str {
        Operator::ALL
            .iter()
            .find(|(op, _)| *op == self)
            .map(|(_, s)| *s)
            .unwrap_or("=")
    }

    /// Operators that take no value (`activeISEMPTY`).
    pub fn is_unary(self) -> bool {
        matches!(
            self,
            Operator::IsEmpty | Operator::IsNotEmpty | Operator::Anything
        )
    }
}

impl Condition {
    pub fn new(field: impl Into<String>, op: Operator, value: impl Into<String>) -> Self {
        Condition {
            field: field.into(),
            op,
            value: value.into(),
        }
    }

    /// The items of an `IN` / `NOT IN` list.
    pub fn list(&self) -> impl Iterator<Item = &str> {
        self.value.split(',')
    }

    /// The bounds of a `BETWEEN`, or `None` when there is no `@`.
    pub fn bounds(&self) -> Option<(&str, &str)> {
        self.value.split_once('@')
    }
}

impl Query {
    /// A query of one block AND-ing the given terms.
    pub fn all_of(terms: impl IntoIterator<Item = Term>) -> Self {
        let groups: Vec<Vec<Term>> = terms.into_iter().map(|t| vec![t]).collect();
        let blocks = if groups.is_empty() {
            Vec::new()
        } else {
            vec![Block { groups }]
        };
        Query {
            blocks,
            order: Vec::new(),
        }
    }

    pub fn order_by(mut self, field: impl Into<String>, descending: bool) -> Self {
        self.order.push(Order {
            field: field.into(),
            descending,
        });
        self
    }

    /// Every field a query names, for validation against a table.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        let conditions = self.blocks.iter().flat_map(|b| &b.groups).flatten();
        conditions
            .filter_map(|t| match t {
                Term::Condition(c) => Some(c.field.as_str()),
                Term::Text(_) => None,
            })
            .chain(self.order.iter().map(|o| o.field.as_str()))
    }
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&print::print(self))
    }
}

impl std::str::FromStr for Query {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

#[cfg(test)]
mod tests;
