//! Who is who on a back-end, and where an incremental pull stands: what the
//! store keeps of a back-end, in its terms, whichever back-end it is.

use super::{Group, Timestamp, User};

/// Users, groups and who belongs where.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// (user id, group id)
    pub memberships: Vec<(String, String)>,
    /// The instance hides group memberships from the agent: only the agent's
    /// own groups are known (asked with `getMyGroups()`).
    pub only_my_groups: bool,
}

/// Where an incremental pull stands: the last change seen, by time and id.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Watermark {
    /// The last change's update time ("" in JSON when the back-end gave none).
    #[serde(with = "super::timestamp::or_empty")]
    pub updated: Option<Timestamp>,
    pub id: String,
}

/// A procedure as the back-end's catalogue describes it: its legal
/// deadline, the documents it asks for, how to follow up (both languages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcedureInfo {
    pub code: String,
    pub label_en: String,
    pub label_fr: String,
    pub group: Option<String>,
    pub due_days: Option<u32>,
    pub documents_en: Vec<String>,
    pub documents_fr: Vec<String>,
    pub follow_up_en: String,
    pub follow_up_fr: String,
}
