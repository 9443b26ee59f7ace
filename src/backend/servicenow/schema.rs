//! Where an instance keeps its cases: the table, and the case fields it
//! names its own way. CSM's names by default; a profile may say
//! `case_table = "incident"` and `[profiles.x.fields] citizen = "caller_id"`.
//! Instances differ here more than anywhere else (a custom extension of
//! `task`, a `u_` procedure field), and a wrong name is silently dropped by
//! the Table API, so names are checked at login (`missing_in`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::domain::{CaseField, ChoiceList};

/// CSM's case table, the default.
pub const CSM_CASE_TABLE: &str = "sn_customerservice_case";
/// The table every case table extends: choice lists an extension does not
/// redefine are inherited from it.
pub const TASK_TABLE: &str = "task";

/// A case field an instance may name differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Summary,
    Description,
    State,
    Priority,
    Procedure,
    Channel,
    Citizen,
    Assignee,
    Group,
    Opened,
    Due,
    ResolutionCode,
    CloseNotes,
}

impl Field {
    pub const ALL: [Field; 13] = [
        Field::Summary,
        Field::Description,
        Field::State,
        Field::Priority,
        Field::Procedure,
        Field::Channel,
        Field::Citizen,
        Field::Assignee,
        Field::Group,
        Field::Opened,
        Field::Due,
        Field::ResolutionCode,
        Field::CloseNotes,
    ];

    /// The name a profile's field map gives it.
    pub fn key(self) -> &'static str {
        match self {
            Field::Summary => "summary",
            Field::Description => "description",
            Field::State => "state",
            Field::Priority => "priority",
            Field::Procedure => "procedure",
            Field::Channel => "channel",
            Field::Citizen => "citizen",
            Field::Assignee => "assignee",
            Field::Group => "group",
            Field::Opened => "opened",
            Field::Due => "due",
            Field::ResolutionCode => "resolution_code",
            Field::CloseNotes => "close_notes",
        }
    }

    /// CSM's name for it.
    fn csm(self) -> &'static str {
        match self {
            Field::Summary => "short_description",
            Field::Description => "description",
            Field::State => "state",
            Field::Priority => "priority",
            Field::Procedure => "category",
            Field::Channel => "contact_type",
            Field::Citizen => "consumer",
            Field::Assignee => "assigned_to",
            Field::Group => "assignment_group",
            Field::Opened => "opened_at",
            Field::Due => "due_date",
            Field::ResolutionCode => "resolution_code",
            Field::CloseNotes => "close_notes",
        }
    }

    /// The choice list a field's values come from, if any.
    fn choice_list(self) -> Option<ChoiceList> {
        match self {
            Field::State => Some(ChoiceList::State),
            Field::Priority => Some(ChoiceList::Priority),
            Field::Procedure => Some(ChoiceList::Procedure),
            Field::Channel => Some(ChoiceList::Channel),
            Field::ResolutionCode => Some(ChoiceList::Resolution),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl From<CaseField> for Field {
    fn from(field: CaseField) -> Field {
        match field {
            CaseField::Assignee => Field::Assignee,
            CaseField::Group => Field::Group,
            CaseField::State => Field::State,
            CaseField::ResolutionCode => Field::ResolutionCode,
            CaseField::CloseNotes => Field::CloseNotes,
            CaseField::Priority => Field::Priority,
        }
    }
}

/// A profile's case table and field map that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("the field map names no case field '{0}' (known: {known})", known = known_keys())]
    UnknownField(String),
    #[error("'{0}' is not a table or field name (lower-case letters, digits and _ only)")]
    BadName(String),
}

fn known_keys() -> String {
    Field::ALL.map(Field::key).join(", ")
}

/// Table and field names travel in URLs and encoded queries: only the
/// characters ServiceNow allows in them are accepted.
fn checked(name: &str) -> Result<String, SchemaError> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ok.then(|| name.to_string())
        .ok_or_else(|| SchemaError::BadName(name.to_string()))
}

/// The case table and the wire name of each case field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    table: String,
    names: [String; Field::ALL.len()],
}

impl Default for Schema {
    fn default() -> Schema {
        Schema {
            table: CSM_CASE_TABLE.to_string(),
            names: Field::ALL.map(|f| f.csm().to_string()),
        }
    }
}

impl Schema {
    /// A profile's schema: CSM's, with its table and renamed fields.
    pub fn new(
        table: Option<&str>,
        renamed: &BTreeMap<String, String>,
    ) -> Result<Schema, SchemaError> {
        let mut schema = Schema::default();
        if let Some(table) = table {
            schema.table = checked(table)?;
        }
        for (key, name) in renamed {
            let field = Field::ALL
                .into_iter()
                .find(|f| f.key() == key)
                .ok_or_else(|| SchemaError::UnknownField(key.clone()))?;
            schema.names[field.index()] = checked(name)?;
        }
        Ok(schema)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn name(&self, field: Field) -> &str {
        &self.names[field.index()]
    }

    /// The wire name of a field an action sets.
    pub fn field_name(&self, field: CaseField) -> &str {
        self.name(field.into())
    }

    /// `sysparm_fields` for a case: the system fields every task table has,
    /// then the mapped ones.
    pub fn case_fields(&self) -> String {
        let mut fields = vec!["sys_id", "number"];
        fields.extend(self.names.iter().map(String::as_str));
        fields.extend(["sys_updated_on", "sys_updated_by", "sys_mod_count"]);
        fields.join(",")
    }

    /// The `element` values of the case table's choice lists.
    pub fn choice_elements(&self) -> String {
        Field::ALL
            .into_iter()
            .filter(|f| f.choice_list().is_some())
            .map(|f| self.name(f))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Which of our choice lists a `sys_choice` element feeds.
    pub fn choice_list(&self, element: &str) -> Option<ChoiceList> {
        Field::ALL
            .into_iter()
            .find(|f| self.name(*f) == element)
            .and_then(Field::choice_list)
    }

    /// The tables whose `sys_choice` rows describe the case table's lists:
    /// its own, then `task`'s for the lists it inherits.
    pub fn choice_tables(&self) -> Vec<&str> {
        if self.table == TASK_TABLE {
            vec![TASK_TABLE]
        } else {
            vec![self.table.as_str(), TASK_TABLE]
        }
    }

    /// The mapped fields a record read with `case_fields` came back without:
    /// the Table API drops names it does not know instead of refusing them.
    pub fn missing_in(&self, record: &Map<String, Value>) -> Vec<String> {
        Field::ALL
            .into_iter()
            .map(|f| self.name(f))
            .filter(|name| !record.contains_key(*name))
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_default_is_csm() {
        let schema = Schema::default();
        assert_eq!(schema.table(), "sn_customerservice_case");
        assert_eq!(
            schema.case_fields(),
            "sys_id,number,short_description,description,state,priority,category,contact_type,consumer,assigned_to,assignment_group,opened_at,due_date,resolution_code,close_notes,sys_updated_on,sys_updated_by,sys_mod_count"
        );
        assert_eq!(
            schema.choice_elements(),
            "state,priority,category,contact_type,resolution_code"
        );
        assert_eq!(schema.choice_tables(), ["sn_customerservice_case", "task"]);
    }

    #[test]
    fn an_incident_table_with_renamed_fields() {
        let schema = Schema::new(
            Some("incident"),
            &map(&[
                ("citizen", "caller_id"),
                ("resolution_code", "close_code"),
                ("procedure", "u_procedure"),
            ]),
        )
        .unwrap();
        assert_eq!(schema.table(), "incident");
        assert_eq!(schema.name(Field::Citizen), "caller_id");
        assert_eq!(schema.field_name(CaseField::ResolutionCode), "close_code");
        assert!(schema.case_fields().contains(",u_procedure,"));
        assert!(!schema.case_fields().contains("consumer"));
        assert_eq!(
            schema.choice_list("u_procedure"),
            Some(ChoiceList::Procedure)
        );
        assert_eq!(schema.choice_list("category"), None);
        assert_eq!(schema.choice_list("caller_id"), None);
    }

    #[test]
    fn unknown_fields_and_unsafe_names_are_refused_with_the_known_ones() {
        let e = Schema::new(None, &map(&[("citzen", "caller_id")])).unwrap_err();
        assert!(e.to_string().contains("'citzen'"), "{e}");
        assert!(e.to_string().contains("citizen, assignee"), "{e}");
        for bad in ["caller id", "Caller", "x^ORsys_id!=", ""] {
            assert_eq!(
                Schema::new(None, &map(&[("citizen", bad)])).unwrap_err(),
                SchemaError::BadName(bad.to_string())
            );
        }
        assert!(Schema::new(Some("incident;drop"), &BTreeMap::new()).is_err());
    }

    #[test]
    fn missing_fields_are_named() {
        let schema = Schema::new(None, &map(&[("due", "u_deadline")])).unwrap();
        let mut record = Map::new();
        for f in Field::ALL {
            record.insert(Field::csm(f).to_string(), Value::String(String::new()));
        }
        assert_eq!(schema.missing_in(&record), ["u_deadline"]);
    }
}
