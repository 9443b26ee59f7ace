//! What a write sets, shared by the write path that builds it and the
//! business rules that complete it, so that neither imports the other.

use std::collections::BTreeMap;

use rusqlite::types::Value;

/// What a write sets: column values, and journal entries to append.
#[derive(Debug, Default)]
pub struct Changes {
    pub fields: BTreeMap<&'static str, Value>,
    pub journal: Vec<(&'static str, String)>,
}
