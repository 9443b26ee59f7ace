//! The one door to a case back-end. The sync engine speaks to this trait in
//! domain terms (cases, timeline entries, actions, version tokens); wire
//! details (sysparm_, sys_id, encoded queries) stay inside each adapter.
//! ServiceNow is the first adapter; Démarches Simplifiées (GraphQL, cursor
//! paging, mutations that fail with "déjà ..." on replay) the second.

pub mod adapter;
pub mod demarches;
pub mod http;
pub mod servicenow;

use std::future::Future;
use std::time::Duration;

pub use crate::domain::directory::{Directory, ProcedureInfo, Watermark};
use crate::domain::{Action, Case, Choice, Citizen, Stage, TimelineEntry, User};

/// What a back-end can do for exactly-once and conflict detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Capabilities {
    /// Replays of a write with the same key are answered, not re-applied.
    pub idempotency_keys: bool,
    /// Writes can be made conditional on the version the agent saw.
    pub conditional_writes: bool,
}

/// Which of the agent's actions a back-end has: the console hides the
/// others, or says why they are not there, instead of queuing what would
/// be refused hours later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Actions {
    /// Opening a case at the counter (`Action::Open`).
    pub open: bool,
    pub priority: bool,
    /// Assigning a case to someone else than oneself.
    pub assign_others: bool,
    /// Internal notes (a DS profile needs an annotation to keep them in).
    pub work_note: bool,
}

impl Actions {
    pub const ALL: Actions = Actions {
        open: true,
        priority: true,
        assign_others: true,
        work_note: true,
    };

    /// Whether the back-end has this action.
    pub fn allow(&self, action: &Action) -> bool {
        match action {
            Action::Open { .. } => self.open,
            Action::Priority { .. } => self.priority,
            Action::WorkNote { .. } => self.work_note,
            Action::Assign { user: Some(_), .. } => self.assign_others,
            _ => true,
        }
    }
}

impl Default for Actions {
    fn default() -> Actions {
        Actions::ALL
    }
}

/// The state moves a back-end allows, where they are not Guichet's case
/// flow by stages (`Stage::can_move_to`): Démarches Simplifiées, whose
/// dossiers go back to construction from instruction but never straight
/// from construction to a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateFlow {
    /// (from state, to state); empty: the flow by stages.
    pub moves: Vec<(String, String)>,
    /// States that need notes (a motivation) to be reached.
    #[serde(default)]
    pub needs_notes: Vec<String>,
}

impl StateFlow {
    /// Whether a case in `from` (a state value, of stage `from_stage`) may
    /// move to `to`.
    pub fn allows(&self, from: &str, from_stage: Option<Stage>, to: &Choice) -> bool {
        if !self.moves.is_empty() {
            return self.moves.iter().any(|(f, t)| f == from && *t == to.value);
        }
        match (from_stage, to.stage) {
            (Some(from), Some(to)) => from.can_move_to(to),
            // A state the flow does not know: let the back-end decide.
            _ => to.value != from,
        }
    }
}

/// The agent the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub user: User,
    pub groups: Vec<String>,
}

/// One page of changed cases, oldest change first.
#[derive(Debug, Clone, Default)]
pub struct ChangedCases {
    pub cases: Vec<Case>,
    /// Whether more changes wait after this page.
    pub more: bool,
    /// Records of the page that could not be read (skipped so that one bad
    /// record does not stop every later pull).
    pub unreadable: usize,
    /// Cases the back-end says were deleted since (where it says so).
    pub deleted: Vec<String>,
}

/// An action to push, with what the back-end needs to apply it once.
#[derive(Debug, Clone)]
pub struct Push<'a> {
    /// Unique per action (a UUIDv7); used as the idempotency key.
    pub action_id: &'a str,
    pub case_id: &'a str,
    pub action: &'a Action,
    /// The case version the agent saw, for field changes.
    pub base_version: Option<&'a str>,
    /// When the action first left, by the back-end's clock (None on its
    /// first send): what an opening sent again looks for first.
    pub first_sent: Option<crate::domain::Timestamp>,
}

/// How a call to the back-end failed, classified for the outbox.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// Worth retrying later: network down, timeout before sending, 5xx, 429.
    #[error("back-end unavailable: {message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The request may have been applied: sent, then no answer.
    #[error("no answer after sending: {0}")]
    InDoubt(String),
    /// Credentials missing, wrong or expired: pause and ask to log in.
    #[error("login needed: {0}")]
    Auth(String),
    /// The case changed since the agent saw it; `theirs` is the back-end's copy.
    #[error("the case changed on the back-end since it was read")]
    Conflict { theirs: Box<Case> },
    /// Refused for good (validation, access, closed case): the back-end's words.
    #[error("refused by the back-end: {0}")]
    Rejected(String),
    /// The case is gone or out of the agent's reach.
    #[error("not found on the back-end")]
    NotFound,
    /// The back-end answered something we cannot read.
    #[error("unreadable answer from the back-end: {0}")]
    Protocol(String),
}

impl BackendError {
    pub fn transient(message: impl Into<String>) -> Self {
        BackendError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
}

pub type BackendResult<T> = Result<T, BackendError>;

/// A case back-end. Every method is a network call; none is ever made from
/// the console's key or draw path.
pub trait Backend: Send + Sync {
    /// The back-end's clock minus the workstation's, in seconds, as its
    /// last answer said; None when unknown. Whether an action landed is
    /// decided on the back-end's clock, never by comparing the two.
    fn clock_offset(&self) -> Option<i64> {
        None
    }

    /// How many requests may be in flight at once (1 on a link that needs it).
    fn requests_in_flight(&self) -> usize {
        1
    }

    /// Which actions the back-end has (known without asking it).
    fn actions(&self) -> Actions {
        Actions::ALL
    }

    /// The state moves it allows (default: Guichet's flow by stages).
    fn state_flow(&self) -> StateFlow {
        StateFlow::default()
    }

    /// What the back-end offers, detected on first use (one small request).
    fn capabilities(&self) -> impl Future<Output = BackendResult<Capabilities>> + Send;

    /// Checks the credentials and says whose they are.
    fn me(&self) -> impl Future<Output = BackendResult<Me>> + Send;

    fn directory(&self) -> impl Future<Output = BackendResult<Directory>> + Send;

    /// State, priority, procedure, channel and resolution choices.
    fn choices(&self) -> impl Future<Output = BackendResult<Vec<Choice>>> + Send;

    /// The procedure catalogue (legal deadlines, documents asked for), where
    /// the back-end has one; none by default.
    fn procedures(&self) -> impl Future<Output = BackendResult<Vec<ProcedureInfo>>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Cases changed after `since` (or all, when None), oldest first, at most `limit`.
    fn changed_cases(
        &self,
        since: Option<&Watermark>,
        limit: usize,
    ) -> impl Future<Output = BackendResult<ChangedCases>> + Send;

    /// The agent's working set: open cases assigned to `me`, and open cases
    /// of `groups` nobody has taken. A first sync (or one after a long
    /// offline spell) fetches them before the rest of the history, so that
    /// work can start within seconds on a slow link.
    fn working_set(
        &self,
        me: &str,
        groups: &[String],
    ) -> impl Future<Output = BackendResult<Vec<Case>>> + Send;

    /// Every case id the agent can see now (to notice deletions and lost access).
    fn visible_case_ids(&self) -> impl Future<Output = BackendResult<Vec<String>>> + Send;

    fn case(&self, id: &str) -> impl Future<Output = BackendResult<Option<Case>>> + Send;

    /// These cases, as far as the agent can see them (for cases that came
    /// into reach without changing, e.g. when the agent joined a group).
    fn cases(&self, ids: &[String]) -> impl Future<Output = BackendResult<Vec<Case>>> + Send;

    fn citizens(&self, ids: &[String]) -> impl Future<Output = BackendResult<Vec<Citizen>>> + Send;

    /// Timeline entries of these cases, oldest first.
    fn timeline(
        &self,
        case_ids: &[String],
    ) -> impl Future<Output = BackendResult<Vec<TimelineEntry>>> + Send;

    /// Applies one action; returns the case as the back-end now holds it
    /// (for an opening, the new case, with its own id and number).
    fn push(&self, push: &Push<'_>) -> impl Future<Output = BackendResult<Case>> + Send;

    /// The case an opening (`Action::Open`) with this action id made, if
    /// it landed: how an opening whose answer was lost is settled.
    fn opened_case(
        &self,
        action_id: &str,
    ) -> impl Future<Output = BackendResult<Option<Case>>> + Send;
}
