//! The console's whole state. Drawing reads it and nothing else; only
//! `update` changes it.

use std::collections::BTreeSet;

use ratatui_textarea::TextArea;
use time::{OffsetDateTime, UtcOffset};

use super::command::Context;
use super::keymap::Keymap;
use super::lock::Lock;
use super::msg::{Counts, DashboardData, Reference};
use super::worker::{Intent, QueueTab};
use crate::app::view::{CaseDetail, CaseLine};
use crate::domain::Choice;
use crate::i18n::Lang;
use crate::store::{AuditLine, OutboxEntry, Sort};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Queues,
    Case,
    Outbox,
    Dashboard,
    /// The agent's audit trail at this workstation.
    Audit,
    /// The intake form (`N`): a citizen, a procedure, a new case.
    Intake,
    /// The receipt of the case just opened.
    Receipt,
}

impl Screen {
    pub fn context(self) -> Context {
        match self {
            Screen::Queues | Screen::Dashboard => Context::Queues,
            Screen::Case => Context::Case,
            Screen::Outbox => Context::Outbox,
            // Only moving around: the global keys.
            Screen::Audit => Context::Global,
            // They take the keys themselves (typing goes into fields).
            Screen::Intake | Screen::Receipt => Context::Global,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// 16 colours: what every terminal has.
    Colour,
    /// No colour at all (NO_COLOR): reverse video and markers only.
    Mono,
}

/// The link as the status bar says it, in words and a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// No round has finished yet.
    Starting,
    Online,
    /// The agent chose to work offline.
    Offline,
    /// No answer from the back-end.
    Unreachable(String),
    /// The back-end wants a new login.
    Login(String),
    /// The back-end answered but refused.
    Refusing(String),
    /// Another process is syncing this store.
    Busy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
    /// Shown until then.
    pub until: OffsetDateTime,
}

#[derive(Debug, Default)]
pub struct ListView {
    pub tab: QueueTab,
    /// The filter as typed.
    pub search: String,
    /// Keys go to the filter (after `/`, until Enter or Esc).
    pub editing: bool,
    /// The newest query asked; older answers are dropped.
    pub generation: u64,
    pub sort: Sort,
    pub descending: bool,
    pub total: u64,
    /// The loaded window: `lines` are rows `offset..offset + lines.len()`.
    pub offset: usize,
    pub lines: Vec<CaseLine>,
    /// Absolute index of the selected row.
    pub selected: usize,
    /// Absolute index of the first row shown.
    pub top: usize,
    pub marked: BTreeSet<String>,
    pub fuzzy: bool,
    pub error: Option<String>,
    pub loaded: bool,
    /// The rows shown belong to the list before the last change of queue,
    /// filter or order: shown (dimmed) until the new answer, never acted on.
    pub stale: bool,
    /// The case to keep selected when a refreshed window arrives (rows move
    /// under the cursor when a sync changes the list).
    pub follow: Option<String>,
}

impl ListView {
    /// The case under the cursor; none while the rows are stale.
    pub fn selected_line(&self) -> Option<&CaseLine> {
        if self.stale {
            return None;
        }
        self.selected
            .checked_sub(self.offset)
            .and_then(|i| self.lines.get(i))
    }

    pub fn line(&self, index: usize) -> Option<&CaseLine> {
        index
            .checked_sub(self.offset)
            .and_then(|i| self.lines.get(i))
    }
}

#[derive(Debug, Default)]
pub struct CaseView {
    pub id: Option<String>,
    pub generation: u64,
    pub detail: Option<Box<CaseDetail>>,
    pub scroll: u16,
    /// Contact details shown (the public can see the screen).
    pub revealed: bool,
    pub error: Option<String>,
}

/// The audit trail, newest first: the newest `asked` lines are loaded
/// (more as the agent scrolls down), only the visible ones are drawn.
#[derive(Debug, Default)]
pub struct AuditView {
    pub lines: Vec<AuditLine>,
    pub selected: usize,
    /// How many of the newest lines the last query asked for.
    pub asked: usize,
    /// Fewer came than were asked: the whole trail is loaded.
    pub complete: bool,
    pub loaded: bool,
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub struct OutboxView {
    pub entries: Vec<OutboxEntry>,
    pub selected: usize,
    pub loaded: bool,
}

/// What a picker's choice leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickPurpose {
    Assign {
        cases: Vec<String>,
    },
    State {
        cases: Vec<String>,
    },
    Resolution {
        cases: Vec<String>,
        state: Choice,
    },
    Priority {
        cases: Vec<String>,
    },
    Template,
    Palette,
    /// A dropdown of the intake form (procedure, assignment).
    Form,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickValue {
    User(String),
    Group(String),
    State(Choice),
    Resolution(String),
    Priority(u8),
    Text(String),
    Command(super::command::Command),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickItem {
    pub label: String,
    pub detail: String,
    pub value: PickValue,
}

#[derive(Debug, Clone)]
pub struct Picker {
    pub title: String,
    pub items: Vec<PickItem>,
    pub filter: String,
    /// Indexes into `items` that match the filter, best first.
    pub shown: Vec<usize>,
    pub selected: usize,
    pub purpose: PickPurpose,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditPurpose {
    Comment {
        case: String,
    },
    Note {
        case: String,
    },
    /// Resolution notes, after the state and the code were chosen.
    CloseNotes {
        cases: Vec<String>,
        state: Choice,
        code: String,
    },
}

pub struct Editor {
    pub purpose: EditPurpose,
    pub title: String,
    pub text: TextArea<'static>,
    /// Esc was pressed with text typed: the next Esc discards it.
    pub confirm_discard: bool,
    /// The template picker is open over the editor.
    pub templates: Option<Picker>,
    /// Sent to the write thread: the text stays until it is queued.
    pub sending: bool,
}

impl std::fmt::Debug for Editor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Editor")
            .field("purpose", &self.purpose)
            .field("lines", &self.text.lines().len())
            .finish()
    }
}

/// What a yes does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    Act { cases: Vec<String>, intent: Intent },
    Drop(String),
    KeepTheirs(String),
    Quit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub question: String,
    pub then: Then,
}

#[derive(Debug)]
pub enum Popup {
    Help { filter: String, scroll: usize },
    Picker(Picker),
    Confirm(Confirm),
    Editor(Box<Editor>),
}

/// Where the console runs: fixed for the session.
#[derive(Debug, Clone, Default)]
pub struct Setting {
    pub profile: String,
    /// The agent's user name (the lock screen says whose session it is).
    pub user: String,
    pub host: String,
    pub demo: bool,
}

#[derive(Debug)]
pub struct State {
    pub lang: Lang,
    pub theme: Theme,
    pub ascii: bool,
    pub keymap: Keymap,
    pub setting: Setting,
    /// The clock, set by ticks (fixed in tests, so snapshots are stable).
    pub now: OffsetDateTime,
    /// The agent's time zone, for deadlines and times.
    pub offset: UtcOffset,
    pub size: (u16, u16),
    pub screen: Screen,
    pub list: ListView,
    pub case: CaseView,
    pub outbox: OutboxView,
    pub audit: AuditView,
    pub dashboard: Option<DashboardData>,
    /// The intake form being filled.
    pub intake: Option<Box<super::intake::form::Form>>,
    /// The receipt on screen after intake.
    pub receipt: Option<super::intake::receipt::ReceiptView>,
    pub popup: Option<Popup>,
    pub link: Link,
    pub offline: bool,
    pub syncing: bool,
    pub counts: Counts,
    pub reference: Reference,
    pub message: Option<Message>,
    /// Reply templates in each language: (title, text with placeholders).
    pub templates: Vec<(Lang, String, String)>,
    pub quit: bool,
    /// Writes handed to the write thread and not yet answered.
    pub writes_in_flight: usize,
    /// The idle lock; while locked, nothing of the above is drawn.
    pub lock: Lock,
    /// Something changed since the last frame.
    pub dirty: bool,
}

impl State {
    pub fn new(lang: Lang, theme: Theme, ascii: bool, keymap: Keymap, setting: Setting) -> State {
        State {
            lang,
            theme,
            ascii,
            keymap,
            setting,
            now: OffsetDateTime::UNIX_EPOCH,
            offset: UtcOffset::UTC,
            size: (80, 24),
            screen: Screen::Queues,
            list: ListView::default(),
            case: CaseView::default(),
            outbox: OutboxView::default(),
            audit: AuditView::default(),
            dashboard: None,
            intake: None,
            receipt: None,
            popup: None,
            link: Link::Starting,
            offline: false,
            syncing: false,
            counts: Counts::default(),
            reference: Reference::default(),
            message: None,
            templates: Vec::new(),
            quit: false,
            writes_in_flight: 0,
            lock: Lock::new(None, OffsetDateTime::UNIX_EPOCH),
            dirty: true,
        }
    }

    /// Actions not yet acknowledged (pending, sending, in doubt) and those
    /// waiting for the agent (conflicts, refusals).
    pub fn unsent(&self) -> u64 {
        self.counts.outbox.iter().map(|(_, n)| n).sum()
    }

    /// An action in words, states by their labels.
    pub fn describe(&self, action: &crate::domain::Action) -> String {
        crate::app::view::describe(action, self.lang, |value| {
            self.reference
                .states
                .iter()
                .find(|c| c.value == value)
                .map_or_else(
                    || value.to_string(),
                    |c| crate::app::compose::label_of(c, self.lang).to_string(),
                )
        })
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    pub fn f(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        self.lang.f(key, args)
    }
}
