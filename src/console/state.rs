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
use crate::app::inbox::{Ref, Sourced};
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
    pub marked: BTreeSet<Ref>,
    pub fuzzy: bool,
    pub error: Option<String>,
    pub loaded: bool,
    /// The rows shown belong to the list before the last change of queue,
    /// filter or order: shown (dimmed) until the new answer, never acted on.
    pub stale: bool,
    /// The case to keep selected when a refreshed window arrives (rows move
    /// under the cursor when a sync changes the list).
    pub follow: Option<Ref>,
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
    pub id: Option<Ref>,
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
    /// Of every profile in the inbox, each with its profile's name.
    pub entries: Vec<Sourced<OutboxEntry>>,
    pub selected: usize,
    pub loaded: bool,
}

/// What a picker's choice leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickPurpose {
    Assign {
        cases: Vec<Ref>,
    },
    State {
        cases: Vec<Ref>,
    },
    Resolution {
        cases: Vec<Ref>,
        state: Choice,
    },
    Priority {
        cases: Vec<Ref>,
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
        case: Ref,
    },
    Note {
        case: Ref,
    },
    /// Resolution notes, after the state and the code were chosen.
    CloseNotes {
        cases: Vec<Ref>,
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
    Act {
        cases: Vec<Ref>,
        intent: Intent,
    },
    /// Outbox actions: their profile and id.
    Drop(Ref),
    KeepTheirs(Ref),
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

/// One back-end of the inbox (a profile): its link, its figures and its
/// reference data. With one profile, the one the console always had.
#[derive(Debug, Clone)]
pub struct Source {
    /// The profile's name (cases and outbox actions carry it).
    pub name: String,
    /// How the source column and the status bar name it (a few cells).
    pub tag: String,
    pub link: Link,
    pub syncing: bool,
    pub counts: Counts,
    /// Who and what its pickers offer, which actions it has.
    pub reference: Reference,
}

impl Source {
    pub fn new(name: &str) -> Source {
        Source {
            name: name.to_string(),
            tag: name.to_string(),
            link: Link::Starting,
            syncing: false,
            counts: Counts::default(),
            reference: Reference::default(),
        }
    }

    /// Actions not yet acknowledged and those waiting for the agent.
    pub fn unsent(&self) -> u64 {
        self.counts.outbox.iter().map(|(_, n)| n).sum()
    }
}

/// The widest tag of a source, in display cells.
pub const TAG_WIDTH: usize = 6;

/// Short names for the sources: each profile's name cut to a few cells,
/// told apart by a digit when two cuts meet.
pub fn tags(names: &[String]) -> Vec<String> {
    use unicode_width::UnicodeWidthChar;
    let cut = |name: &str, width: usize| {
        let mut out = String::new();
        let mut used = 0;
        for c in name.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                break;
            }
            used += w;
            out.push(c);
        }
        out
    };
    let first: Vec<String> = names.iter().map(|n| cut(n, TAG_WIDTH)).collect();
    first
        .iter()
        .enumerate()
        .map(|(i, tag)| {
            if first.iter().filter(|t| *t == tag).count() > 1 {
                format!("{}{}", cut(tag, TAG_WIDTH - 1), (i + 1) % 10)
            } else {
                tag.clone()
            }
        })
        .collect()
}

/// Where the console runs: fixed for the session.
#[derive(Debug, Clone, Default)]
pub struct Setting {
    /// The first (default) profile: its language, lock and user.
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
    /// The back-ends of the inbox, the default profile first; one when the
    /// console opens one profile.
    pub sources: Vec<Source>,
    /// The agent chose to work offline (every back-end).
    pub offline: bool,
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
        let sources = vec![Source::new(&setting.profile)];
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
            sources,
            offline: false,
            message: None,
            templates: Vec::new(),
            quit: false,
            writes_in_flight: 0,
            lock: Lock::new(None, OffsetDateTime::UNIX_EPOCH),
            dirty: true,
        }
    }

    /// The inbox's back-ends are these profiles, in this order (the
    /// first one's settings stand for the console).
    pub fn set_sources(&mut self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        self.sources = names
            .iter()
            .zip(tags(names))
            .map(|(name, tag)| Source {
                tag,
                ..Source::new(name)
            })
            .collect();
    }

    /// More than one back-end: rows say where they come from.
    pub fn is_inbox(&self) -> bool {
        self.sources.len() > 1
    }

    /// The default profile's back-end (intake opens there).
    pub fn first(&self) -> &Source {
        &self.sources[0]
    }

    /// The back-end a case or action came from (the first when unknown).
    pub fn source(&self, name: &str) -> &Source {
        self.sources
            .iter()
            .find(|s| s.name == name)
            .unwrap_or(&self.sources[0])
    }

    pub fn source_mut(&mut self, name: &str) -> Option<&mut Source> {
        self.sources.iter_mut().find(|s| s.name == name)
    }

    /// The reference data of a case's or action's back-end.
    pub fn reference(&self, source: &str) -> &Reference {
        &self.source(source).reference
    }

    /// Actions not yet acknowledged (pending, sending, in doubt) and those
    /// waiting for the agent (conflicts, refusals), on every back-end.
    pub fn unsent(&self) -> u64 {
        self.sources.iter().map(Source::unsent).sum()
    }

    /// An action of `source`'s in words, states by that back-end's labels.
    pub fn describe(&self, source: &str, action: &crate::domain::Action) -> String {
        crate::app::view::describe(action, self.lang, |value| {
            self.reference(source)
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
