//! The tables the reference back-end serves, described once. The SQL schema,
//! the query compiler, the JSON renderer and the write path all derive from
//! this registry, so a field exists everywhere or nowhere.

/// How a field is stored and rendered. On the wire every value is a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Boolean,
    /// `YYYY-MM-DD HH:MM:SS` in UTC, stored as text so that text order is time order.
    DateTime,
    /// The sys_id of a record of the named table.
    Reference(&'static str),
    /// Write-only journal field (`comments`, `work_notes`): a write appends a
    /// `sys_journal_field` entry, a read returns "" as ServiceNow does.
    Journal,
}

/// Who may set a field through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Client,
    /// Set by the server only (sys_ fields, case number, derived names).
    Server,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub write: Write,
    /// Labels come from `sys_choice` (name = table, element = field).
    pub choice: bool,
}

#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub fields: &'static [Field],
    /// The field shown when another record references this one.
    pub display: &'static str,
    /// Fields searched by `123TEXTQUERY321` on tables without an FTS index.
    pub text_fields: &'static [&'static str],
    /// One of our extension tables (`u_guichet_*`): served only with the
    /// extensions on, as a real instance has no such table.
    pub extension: bool,
}

const fn field(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        write: Write::Client,
        choice: false,
    }
}
const fn server(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        write: Write::Server,
        choice: false,
    }
}
const fn choice(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        write: Write::Client,
        choice: true,
    }
}

use Kind::*;

/// Fields every table has, in ServiceNow's names.
const SYS_ID: Field = server("sys_id", Text);
const SYS: [Field; 5] = [
    server("sys_created_on", DateTime),
    server("sys_created_by", Text),
    server("sys_updated_on", DateTime),
    server("sys_updated_by", Text),
    server("sys_mod_count", Integer),
];

pub const CASE: &str = "sn_customerservice_case";
pub const JOURNAL: &str = "sys_journal_field";
pub const USER: &str = "sys_user";
pub const GROUP: &str = "sys_user_group";
pub const MEMBER: &str = "sys_user_grmember";
pub const CITIZEN: &str = "csm_consumer";
pub const CHOICE: &str = "sys_choice";
/// The procedure catalogue (an extension): deadlines and the documents
/// each procedure asks for, which the intake form and its receipt show.
pub const PROCEDURE: &str = "u_guichet_procedure";

/// The longest `correlation_id`, as ServiceNow's task tables define it.
pub const CORRELATION_ID_MAX: usize = 100;

pub static TABLES: [Table; 8] = [
    Table {
        name: CASE,
        fields: &[
            SYS_ID,
            server("number", Text),
            field("short_description", Text),
            field("description", Text),
            choice("state", Integer),
            choice("priority", Integer),
            choice("category", Text),
            choice("contact_type", Text),
            field("consumer", Reference(CITIZEN)),
            field("assigned_to", Reference(USER)),
            field("assignment_group", Reference(GROUP)),
            field("opened_at", DateTime),
            field("due_date", DateTime),
            choice("resolution_code", Text),
            field("close_notes", Text),
            server("active", Boolean),
            field("comments", Journal),
            field("work_notes", Journal),
            // ServiceNow's task field for an external system's identifier:
            // Guichet's client puts the id of the action that created the
            // case there, to find it again when the answer was lost.
            field("correlation_id", Text),
            SYS[0],
            SYS[1],
            SYS[2],
            SYS[3],
            SYS[4],
        ],
        display: "number",
        text_fields: &[],
        extension: false,
    },
    Table {
        name: JOURNAL,
        fields: &[
            SYS_ID,
            server("element_id", Text),
            server("element", Text),
            server("name", Text),
            server("value", Text),
            SYS[0],
            SYS[1],
            SYS[2],
            SYS[3],
            SYS[4],
        ],
        display: "value",
        text_fields: &["value"],
        extension: false,
    },
    Table {
        name: USER,
        fields: &[
            SYS_ID,
            field("user_name", Text),
            field("first_name", Text),
            field("last_name", Text),
            server("name", Text),
            field("email", Text),
            field("active", Boolean),
            field("roles", Text),
            field("preferred_language", Text),
            SYS[0],
            SYS[1],
            SYS[2],
            SYS[3],
            SYS[4],
        ],
        display: "name",
        text_fields: &["user_name", "name", "email"],
        extension: false,
    },
    Table {
        name: GROUP,
        fields: &[
            SYS_ID,
            field("name", Text),
            field("description", Text),
            field("active", Boolean),
            SYS[0],
            SYS[1],
            SYS[2],
            SYS[3],
            SYS[4],
        ],
        display: "name",
        text_fields: &["name", "description"],
        extension: false,
    },
    Table {
        name: MEMBER,
        fields: &[
            SYS_ID,
            field("user", Reference(USER)),
            field("group", Reference(GROUP)),
            SYS[0],
            SYS[1],
            SYS[2],
            SYS[3],
            SYS[4],
        ],
        display: "sys_id",
        text_fields: &[],
        extension: false,
    },
    Table {
        name: CITIZEN,
        fields: &[
            SYS_ID,
            field("first_name", Text),
            field("last_name", Text),
            server("name", Text),
            field("email", Text),
            field("mobile_phone", Text),
            field("street", Text),
            field("city", Text),
            field("zip", Text),
            SYS[0],
            SYS[1],
            SYS[2],
            SYS[3],
            SYS[4],
        ],
        display: "name",
        text_fields: &["name", "email", "mobile_phone", "city"],
        extension: false,
    },
    Table {
        name: CHOICE,
        fields: &[
            SYS_ID,
            field("name", Text),
            field("element", Text),
            field("value", Text),
            field("label", Text),
            field("sequence", Integer),
            field("language", Text),
            field("inactive", Boolean),
            SYS[0],
            SYS[1],
            SYS[2],
            SYS[3],
            SYS[4],
        ],
        display: "label",
        text_fields: &["label", "value"],
        extension: false,
    },
    Table {
        name: PROCEDURE,
        fields: &[
            SYS_ID,
            field("code", Text),
            field("label_fr", Text),
            field("label_en", Text),
            field("group", Reference(GROUP)),
            field("due_days", Integer),
            // One document per line: the Table API has no list type.
            field("documents_fr", Text),
            field("documents_en", Text),
            field("follow_up_fr", Text),
            field("follow_up_en", Text),
            field("active", Boolean),
            SYS[0],
            SYS[1],
            SYS[2],
            SYS[3],
            SYS[4],
        ],
        display: "code",
        text_fields: &["code", "label_fr", "label_en"],
        extension: true,
    },
];

pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// The tables a server answers for: without its extensions, those of a
/// real instance only.
pub fn served(extensions: bool) -> impl Iterator<Item = &'static Table> {
    TABLES.iter().filter(move |t| extensions || !t.extension)
}

impl Table {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Fields that live in a SQL column (journal fields do not).
    pub fn stored(&self) -> impl Iterator<Item = &'static Field> + use<> {
        let fields: &'static [Field] = self.fields;
        fields.iter().filter(|f| f.kind != Journal)
    }
}

/// A table by one of the name constants above; the registry test proves
/// each of them is present.
pub fn static_table(name: &str) -> &'static Table {
    table(name).expect("every table constant is in the registry")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_points_at_a_served_table_and_display_fields_exist() {
        for t in &TABLES {
            assert!(
                t.field(t.display).is_some(),
                "{}: display {}",
                t.name,
                t.display
            );
            for f in t.fields {
                if let Reference(target) = f.kind {
                    assert!(table(target).is_some(), "{}.{} -> {target}", t.name, f.name);
                }
            }
            for name in t.text_fields {
                assert!(t.field(name).is_some(), "{}: text field {name}", t.name);
            }
        }
        for name in [
            CASE, JOURNAL, USER, GROUP, MEMBER, CITIZEN, CHOICE, PROCEDURE,
        ] {
            assert_eq!(static_table(name).name, name);
        }
    }

    #[test]
    fn extension_tables_are_served_only_with_the_extensions() {
        assert!(served(true).any(|t| t.name == PROCEDURE));
        assert!(!served(false).any(|t| t.name == PROCEDURE));
        assert_eq!(served(false).count(), TABLES.len() - 1);
    }
}
