//! ServiceNow's CSM tables on the wire, mapped to and from domain types.
//! Every table and field name of the Table API lives here and nowhere else,
//! but for the case table and its fields, which a profile may rename: their
//! defaults live in `schema.rs`.

use serde_json::{Map, Value};

use super::schema::{Field, Schema};
use crate::backend::{BackendError, ProcedureInfo};
use crate::domain::{
    Case, Choice, ChoiceList, Citizen, EntryKind, Group, Stage, TimelineEntry, Timestamp, User,
};

pub const CITIZEN_TABLE: &str = "csm_consumer";
pub const JOURNAL_TABLE: &str = "sys_journal_field";
pub const USER_TABLE: &str = "sys_user";
pub const GROUP_TABLE: &str = "sys_user_group";
pub const MEMBER_TABLE: &str = "sys_user_grmember";
pub const CHOICE_TABLE: &str = "sys_choice";
pub const CITIZEN_FIELDS: &str = "sys_id,first_name,last_name,email,mobile_phone,street,city,zip";
pub const JOURNAL_FIELDS: &str = "sys_id,element_id,element,value,sys_created_on,sys_created_by";
pub const USER_FIELDS: &str = "sys_id,user_name,name,email,active";
pub const GROUP_FIELDS: &str = "sys_id,name";
pub const MEMBER_FIELDS: &str = "user,group";
/// The reference back-end's procedure catalogue (an extension table).
pub const PROCEDURE_TABLE: &str = "u_guichet_procedure";
pub const PROCEDURE_FIELDS: &str = "code,label_en,label_fr,group,due_days,documents_en,documents_fr,follow_up_en,follow_up_fr,active";
pub const CHOICE_FIELDS: &str = "name,element,value,label,language,sequence,inactive";
/// Only the id: for lists of ids and the smallest possible answer.
pub const ID_FIELD: &str = "sys_id";
pub const UPDATED_FIELD: &str = "sys_updated_on";
/// True while a case is not closed (every task table has it).
pub const ACTIVE_FIELD: &str = "active";
pub const CREATED_FIELD: &str = "sys_created_on";
pub const USER_NAME_FIELD: &str = "user_name";
/// A membership's user.
pub const MEMBER_USER_FIELD: &str = "user";
/// A journal entry's case, and its kind (`comments` or `work_notes`).
pub const JOURNAL_CASE_FIELD: &str = "element_id";
pub const JOURNAL_KIND_FIELD: &str = "element";
pub const JOURNAL_KINDS: &str = "comments,work_notes";
/// A choice's table and element (the field it lists values for).
pub const CHOICE_TABLE_FIELD: &str = "name";
pub const CHOICE_ELEMENT_FIELD: &str = "element";
pub const SEQUENCE_FIELD: &str = "sequence";

pub fn journal_element(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Comment => "comments",
        EntryKind::WorkNote => "work_notes",
    }
}

/// CSM's state values, with a label-based guess for instances that added
/// states of their own.
pub fn stage_of(value: &str, english_label: &str) -> Stage {
    match value {
        "1" => Stage::New,
        "10" => Stage::Open,
        "18" => Stage::AwaitingInfo,
        "6" => Stage::Resolved,
        "3" => Stage::Closed,
        "7" => Stage::Cancelled,
        _ => {
            let label = english_label.to_lowercase();
            if label.contains("cancel") {
                Stage::Cancelled
            } else if label.contains("close") {
                Stage::Closed
            } else if label.contains("resolv") {
                Stage::Resolved
            } else if label.contains("await") || label.contains("pending") || label.contains("wait")
            {
                Stage::AwaitingInfo
            } else if label.contains("new") {
                Stage::New
            } else {
                Stage::Open
            }
        }
    }
}

/// A string field of a record; a reference given as an object yields its
/// `value`; a missing field is empty. Anything else is a protocol error.
fn text(record: &Map<String, Value>, name: &str) -> Result<String, BackendError> {
    match record.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(Value::Object(o)) => match o.get("value") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(BackendError::Protocol(format!(
                "field '{name}' is an object without a string value"
            ))),
        },
        Some(Value::Array(_)) => Err(BackendError::Protocol(format!(
            "field '{name}' is a list, expected a string"
        ))),
    }
}

fn required(record: &Map<String, Value>, name: &str, what: &str) -> Result<String, BackendError> {
    let value = text(record, name)?;
    if value.is_empty() {
        return Err(BackendError::Protocol(format!(
            "a {what} record without '{name}'"
        )));
    }
    Ok(value)
}

/// A date field: unset ("" or missing) is None; any other text must be a
/// date as the Table API writes it.
fn date(record: &Map<String, Value>, name: &str) -> Result<Option<Timestamp>, BackendError> {
    Timestamp::parse_optional(&text(record, name)?)
        .map_err(|e| BackendError::Protocol(format!("field '{name}': {e}")))
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, BackendError> {
    value
        .as_object()
        .ok_or_else(|| BackendError::Protocol(format!("a {what} record is not a JSON object")))
}

fn optional(value: String) -> Option<String> {
    Some(value).filter(|v| !v.is_empty())
}

/// The `result` array of a list answer.
pub fn result_rows(body: &Value) -> Result<&Vec<Value>, BackendError> {
    body.get("result")
        .and_then(Value::as_array)
        .ok_or_else(|| BackendError::Protocol("the answer has no 'result' list".into()))
}

/// A case read with `schema.case_fields()`.
pub fn case(schema: &Schema, value: &Value) -> Result<Case, BackendError> {
    let r = object(value, "case")?;
    let field = |f: Field| text(r, schema.name(f));
    let priority = field(Field::Priority)?;
    Ok(Case {
        id: required(r, "sys_id", "case")?,
        number: required(r, "number", "case")?,
        summary: field(Field::Summary)?,
        description: field(Field::Description)?,
        state: field(Field::State)?,
        priority: priority
            .parse()
            .ok()
            .filter(|p: &u8| (1..=9).contains(p))
            .unwrap_or(0),
        procedure: field(Field::Procedure)?,
        channel: field(Field::Channel)?,
        citizen: optional(field(Field::Citizen)?),
        assignee: optional(field(Field::Assignee)?),
        group: optional(field(Field::Group)?),
        opened: date(r, schema.name(Field::Opened))?,
        due: date(r, schema.name(Field::Due))?,
        resolution_code: field(Field::ResolutionCode)?,
        close_notes: field(Field::CloseNotes)?,
        updated: date(r, "sys_updated_on")?,
        updated_by: text(r, "sys_updated_by")?,
        version: text(r, "sys_mod_count")?,
    })
}

pub fn citizen(value: &Value) -> Result<Citizen, BackendError> {
    let r = object(value, "citizen")?;
    Ok(Citizen {
        id: required(r, "sys_id", "citizen")?,
        first_name: text(r, "first_name")?,
        last_name: text(r, "last_name")?,
        email: text(r, "email")?,
        phone: text(r, "mobile_phone")?,
        street: text(r, "street")?,
        city: text(r, "city")?,
        zip: text(r, "zip")?,
    })
}

/// A journal entry, or None for elements other than comments and work notes.
pub fn timeline_entry(value: &Value) -> Result<Option<TimelineEntry>, BackendError> {
    let r = object(value, "journal")?;
    let kind = match text(r, "element")?.as_str() {
        "comments" => EntryKind::Comment,
        "work_notes" => EntryKind::WorkNote,
        _ => return Ok(None),
    };
    Ok(Some(TimelineEntry {
        id: required(r, "sys_id", "journal")?,
        case_id: required(r, "element_id", "journal")?,
        kind,
        text: text(r, "value")?,
        author: text(r, "sys_created_by")?,
        at: date(r, "sys_created_on")?,
    }))
}

pub fn user(value: &Value) -> Result<User, BackendError> {
    let r = object(value, "user")?;
    Ok(User {
        id: required(r, "sys_id", "user")?,
        user_name: text(r, "user_name")?,
        name: text(r, "name")?,
        email: text(r, "email")?,
        active: text(r, "active")? != "false",
    })
}

pub fn group(value: &Value) -> Result<Group, BackendError> {
    let r = object(value, "group")?;
    Ok(Group {
        id: required(r, "sys_id", "group")?,
        name: text(r, "name")?,
    })
}

/// A group's id alone (for lists of ids).
pub fn group_id(value: &Value) -> Result<String, BackendError> {
    required(object(value, "group")?, "sys_id", "group")
}

pub fn membership(value: &Value) -> Result<(String, String), BackendError> {
    let r = object(value, "membership")?;
    Ok((
        required(r, "user", "membership")?,
        required(r, "group", "membership")?,
    ))
}

/// Folds `sys_choice` rows (one per language) into one choice per value.
/// Rows of the case table win; a list it does not define at all comes from
/// the table it extends (`task`), as ServiceNow's forms show it.
pub fn choices(schema: &Schema, rows: &[Value]) -> Result<Vec<Choice>, BackendError> {
    let mut own: Vec<Choice> = Vec::new();
    let mut inherited: Vec<Choice> = Vec::new();
    for row in rows {
        let r = object(row, "choice")?;
        let Some(list) = schema.choice_list(&text(r, "element")?) else {
            continue;
        };
        if text(r, "inactive")? == "true" {
            continue;
        }
        let out = if text(r, "name")? == schema.table() {
            &mut own
        } else {
            &mut inherited
        };
        let value = text(r, "value")?;
        let label = text(r, "label")?;
        let language = text(r, "language")?;
        let sequence = text(r, "sequence")?.parse().unwrap_or(0);
        let index = match out.iter().position(|c| c.list == list && c.value == value) {
            Some(i) => i,
            None => {
                out.push(Choice {
                    list,
                    value: value.clone(),
                    label_en: String::new(),
                    label_fr: String::new(),
                    sequence,
                    stage: None,
                });
                out.len() - 1
            }
        };
        let choice = &mut out[index];
        match language.as_str() {
            "fr" => choice.label_fr = label,
            _ => choice.label_en = label,
        }
    }
    let defined: Vec<ChoiceList> = own.iter().map(|c| c.list).collect();
    let mut out = own;
    out.extend(inherited.into_iter().filter(|c| !defined.contains(&c.list)));
    for choice in &mut out {
        if choice.label_en.is_empty() {
            choice.label_en = choice.label_fr.clone();
        }
        if choice.label_fr.is_empty() {
            choice.label_fr = choice.label_en.clone();
        }
        if choice.list == ChoiceList::State {
            choice.stage = Some(stage_of(&choice.value, &choice.label_en));
        }
    }
    out.sort_by(|a, b| (a.list.as_str(), a.sequence).cmp(&(b.list.as_str(), b.sequence)));
    Ok(out)
}

/// A procedure of the catalogue; documents are one per line.
pub fn procedure(value: &Value) -> Result<ProcedureInfo, BackendError> {
    let r = object(value, "procedure")?;
    let lines = |name| -> Result<Vec<String>, BackendError> {
        Ok(text(r, name)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    };
    let due_days = text(r, "due_days")?;
    Ok(ProcedureInfo {
        code: required(r, "code", "procedure")?,
        label_en: text(r, "label_en")?,
        label_fr: text(r, "label_fr")?,
        group: optional(text(r, "group")?),
        due_days: match due_days.trim() {
            "" => None,
            days => Some(days.parse().map_err(|_| {
                BackendError::Protocol(format!("due_days '{days}' is not a number of days"))
            })?),
        },
        documents_en: lines("documents_en")?,
        documents_fr: lines("documents_fr")?,
        follow_up_en: text(r, "follow_up_en")?,
        follow_up_fr: text(r, "follow_up_fr")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_shapes_are_named_not_guessed() {
        assert!(
            case(&Schema::default(), &json!([]))
                .unwrap_err()
                .to_string()
                .contains("not a JSON object")
        );
        assert!(
            case(&Schema::default(), &json!({"number": "CS1"}))
                .unwrap_err()
                .to_string()
                .contains("sys_id")
        );
        let csm = Schema::default();
        let e = case(
            &csm,
            &json!({"sys_id": "a", "number": "CS1", "state": ["10"]}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("'state' is a list"), "{e}");
        let ok = case(&csm, &json!({"sys_id": "a", "number": "CS1", "assigned_to": {"value": "u", "link": "x"}, "priority": "2"})).unwrap();
        assert_eq!((ok.assignee.as_deref(), ok.priority), (Some("u"), 2));
    }

    #[test]
    fn dates_are_read_and_an_unset_one_is_none() {
        let ok = case(
            &Schema::default(),
            &json!({"sys_id": "a", "number": "CS1", "opened_at": "2026-11-20 08:00:00",
            "due_date": "", "sys_updated_on": "2026-11-27 09:30:00"}),
        )
        .unwrap();
        assert_eq!(
            (ok.opened.map(|t| t.to_string()), ok.due),
            (Some("2026-11-20 08:00:00".into()), None)
        );
        assert_eq!(
            ok.updated.map(|t| t.to_string()).as_deref(),
            Some("2026-11-27 09:30:00")
        );
        let e = case(
            &Schema::default(),
            &json!({"sys_id": "a", "number": "CS1", "due_date": "27/11/2026"}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("'due_date'"), "{e}");
        assert!(e.to_string().contains("'27/11/2026'"), "{e}");
        let e = timeline_entry(
            &json!({"sys_id": "j", "element_id": "a", "element": "comments",
            "sys_created_on": "2026-11-27T09:30:00Z"}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("'sys_created_on'"), "{e}");
    }

    #[test]
    fn choices_fold_languages_and_know_stages() {
        let rows = vec![
            json!({"element": "state", "value": "18", "label": "Awaiting Info", "language": "en", "sequence": "3"}),
            json!({"element": "state", "value": "18", "label": "En attente", "language": "fr", "sequence": "3"}),
            json!({"element": "state", "value": "42", "label": "Pending approval", "language": "en", "sequence": "9"}),
            json!({"element": "u_custom", "value": "x", "label": "X", "language": "en"}),
        ];
        let folded = choices(&Schema::default(), &rows).unwrap();
        assert_eq!(folded.len(), 2);
        assert_eq!(
            (folded[0].label_en.as_str(), folded[0].label_fr.as_str()),
            ("Awaiting Info", "En attente")
        );
        assert_eq!(folded[1].stage, Some(Stage::AwaitingInfo));
    }

    #[test]
    fn an_extension_table_inherits_only_the_lists_it_does_not_define() {
        let schema = Schema::new(Some("incident"), &Default::default()).unwrap();
        let rows = vec![
            json!({"name": "incident", "element": "state", "value": "2", "label": "In Progress", "language": "en"}),
            json!({"name": "task", "element": "state", "value": "-5", "label": "Pending", "language": "en"}),
            json!({"name": "task", "element": "priority", "value": "1", "label": "Critical", "language": "en"}),
        ];
        let folded = choices(&schema, &rows).unwrap();
        let values: Vec<(&str, &str)> = folded
            .iter()
            .map(|c| (c.list.as_str(), c.value.as_str()))
            .collect();
        assert_eq!(values, [("priority", "1"), ("state", "2")]);
    }

    #[test]
    fn a_renamed_field_is_read_under_its_instance_name() {
        let renamed = [("citizen".to_string(), "caller_id".to_string())].into();
        let schema = Schema::new(Some("incident"), &renamed).unwrap();
        let record = json!({"sys_id": "a", "number": "INC1", "caller_id": {"value": "c1"}, "consumer": "wrong"});
        assert_eq!(
            case(&schema, &record).unwrap().citizen.as_deref(),
            Some("c1")
        );
    }
}
