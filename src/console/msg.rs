//! What arrives on the console's one channel: terminal events, the clock's
//! tick, and the results of background work (store queries, local writes,
//! syncs). `update` is the only place that turns them into state.

use crate::app::inbox::Sourced;
use crate::app::view::{CaseDetail, CaseLine};
use crate::domain::{Choice, Group, Timestamp, User};
use crate::store::{AuditLine, OutboxEntry, OutboxState};

#[derive(Debug)]
pub enum Msg {
    Term(crossterm::event::Event),
    /// The terminal's input stream failed or ended.
    TermGone(String),
    Tick,
    Listed {
        generation: u64,
        result: Result<ListPage, String>,
    },
    CaseLoaded {
        generation: u64,
        result: Result<Box<CaseDetail>, String>,
    },
    /// Every back-end's unfinished actions, each with its profile.
    OutboxLoaded(Result<Vec<Sourced<OutboxEntry>>, String>),
    /// Each back-end's figures, by profile.
    Counts(Result<Vec<Sourced<Counts>>, String>),
    /// Each back-end's reference data, by profile.
    Reference(Result<Vec<Sourced<Reference>>, String>),
    Dashboard(Result<DashboardData, String>),
    /// Actions queued (one result per case), each in its profile's outbox.
    Acted(Vec<Result<Sourced<OutboxEntry>, String>>),
    /// A decision on the outbox was recorded (retry, drop, mine, theirs).
    Decided(Result<String, String>),
    /// What a profile's sync loop did.
    Sync {
        source: String,
        event: SyncEvent,
    },
    /// The newest `limit` lines of the audit trail (or fewer: all of
    /// them), newest first.
    AuditLoaded {
        limit: usize,
        result: Result<Vec<AuditLine>, String>,
    },
    /// An event of the agent's own was written to the audit trail (a
    /// reveal): nothing to send.
    Recorded,
    /// The lock's password check answered: `Ok(true)` unlocks.
    PasswordChecked(Result<bool, String>),
    /// For the intake form and the receipt.
    Intake(super::intake::IntakeMsg),
}

/// One window of a list.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub offset: usize,
    pub lines: Vec<CaseLine>,
    /// How many match in all; None when not counted (a scroll).
    pub total: Option<u64>,
    pub fuzzy: bool,
}

/// The status bar's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub outbox: Vec<(OutboxState, u64)>,
    pub cases: u64,
    /// When the last pull finished.
    pub last_pull: Option<Timestamp>,
}

/// Who and what the pickers offer.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    pub me: Option<String>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub states: Vec<Choice>,
    pub resolutions: Vec<Choice>,
    pub procedures: Vec<Choice>,
    /// Which actions the back-end has.
    pub actions: crate::backend::Actions,
    /// The state moves it allows.
    pub flow: crate::backend::StateFlow,
}

/// The dashboard's figures.
#[derive(Debug, Clone, Default)]
pub struct DashboardData {
    /// Open cases by state label.
    pub by_state: Vec<(String, u64)>,
    /// My resolved cases per day, oldest day first (14 days).
    pub resolved_per_day: Vec<u64>,
    /// The most overdue open cases.
    pub overdue: Vec<CaseLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    Started,
    /// The agent's open cases and the team queue are stored (first sync, or
    /// after a long offline spell): the lists can show them while the rest
    /// of the history streams in.
    WorkingSet,
    Finished {
        applied: usize,
        conflicts: usize,
        failed: usize,
        cases_changed: usize,
        /// Cases opened here that the back-end numbered: (provisional, real).
        numbered: Vec<(String, String)>,
    },
    /// The round stopped; the actions stay queued.
    Failed {
        trouble: Trouble,
        message: String,
    },
    /// Another process holds the store's sync lock.
    Busy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// No answer: the link or the back-end is down.
    Unreachable,
    /// The back-end wants a new login.
    Login,
    /// The back-end answered, but refused or could not be read.
    Refusing,
}
