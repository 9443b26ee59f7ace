//! Everything an agent can do in the console, as one serde-named enum, and
//! the one table that describes each command: where it applies and which
//! text explains it. The keymap file, the `?` help, the key bar and the `:`
//! palette are all generated from this table, so they cannot disagree.

use serde::{Deserialize, Serialize};

/// Where a command applies. Keymap sections have the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    /// Everywhere (unless a popup takes the keys).
    Global,
    /// The case lists (queues).
    Queues,
    /// One case.
    Case,
    /// The outbox screen.
    Outbox,
}

impl Context {
    pub const ALL: [Context; 4] = [
        Context::Global,
        Context::Queues,
        Context::Case,
        Context::Outbox,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Queues => "queues",
            Context::Case => "case",
            Context::Outbox => "outbox",
        }
    }

    pub fn parse(name: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    // Moving around
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    NextQueue,
    PrevQueue,
    QueueMine,
    QueueTeam,
    QueueOpen,
    QueueAwaiting,
    QueueDue,
    // Screens and chrome
    Help,
    Palette,
    Outbox,
    Dashboard,
    Audit,
    Lock,
    Quit,
    ForceQuit,
    Sync,
    Offline,
    Online,
    LangEn,
    LangFr,
    // Lists
    Search,
    Mark,
    MarkNone,
    SortNext,
    SortReverse,
    // Actions on cases
    Take,
    Assign,
    State,
    Comment,
    Note,
    Priority,
    Reveal,
    /// Intake at the counter: a new case for a citizen.
    New,
    // Outbox decisions
    Retry,
    Drop,
    KeepMine,
    KeepTheirs,
}

/// One line of the table: a command, where it applies, whether it changes
/// cases (and so is hidden where no case is at hand), and whether the key
/// bar shows it (the most useful few, so that it fits on 80 columns).
pub struct Spec {
    pub command: Command,
    pub context: Context,
    pub in_bar: bool,
}

const fn spec(command: Command, context: Context, in_bar: bool) -> Spec {
    Spec {
        command,
        context,
        in_bar,
    }
}

use Command::*;
use Context::{Case as InCase, Global, Outbox as InOutbox, Queues};

/// The table, in the order the help lists it.
pub const SPECS: &[Spec] = &[
    spec(Help, Global, true),
    spec(Palette, Global, true),
    spec(Quit, Global, true),
    spec(ForceQuit, Global, false),
    spec(Back, Global, false),
    spec(Up, Global, false),
    spec(Down, Global, false),
    spec(PageUp, Global, false),
    spec(PageDown, Global, false),
    spec(Top, Global, false),
    spec(Bottom, Global, false),
    spec(Sync, Global, false),
    spec(Outbox, Global, true),
    spec(Dashboard, Global, false),
    spec(Audit, Global, false),
    spec(Lock, Global, false),
    spec(Offline, Global, false),
    spec(Online, Global, false),
    spec(LangEn, Global, false),
    spec(LangFr, Global, false),
    spec(Open, Queues, true),
    spec(Search, Queues, true),
    spec(NextQueue, Queues, false),
    spec(PrevQueue, Queues, false),
    spec(QueueMine, Queues, false),
    spec(QueueTeam, Queues, false),
    spec(QueueOpen, Queues, false),
    spec(QueueAwaiting, Queues, false),
    spec(QueueDue, Queues, false),
    spec(Mark, Queues, false),
    spec(MarkNone, Queues, false),
    spec(SortNext, Queues, false),
    spec(SortReverse, Queues, false),
    spec(Take, Queues, true),
    spec(Assign, Queues, false),
    spec(State, Queues, false),
    spec(Priority, Queues, false),
    spec(New, Queues, true),
    spec(Take, InCase, true),
    spec(Comment, InCase, true),
    spec(Note, InCase, true),
    spec(State, InCase, true),
    spec(Assign, InCase, false),
    spec(Priority, InCase, false),
    spec(Reveal, InCase, false),
    spec(New, InCase, false),
    spec(Retry, InOutbox, true),
    spec(Drop, InOutbox, true),
    spec(KeepMine, InOutbox, true),
    spec(KeepTheirs, InOutbox, true),
];

impl Command {
    /// The serde name: what the keymap file and the palette use.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn parse(name: &str) -> Option<Command> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }

    /// The i18n key of its one-line description.
    pub fn help_key(self) -> String {
        format!("command.{}", self.name())
    }

    /// The i18n key of its short label in the key bar.
    pub fn bar_key(self) -> String {
        format!("bar.{}", self.name())
    }

    /// Every command, once, in table order.
    pub fn all() -> Vec<Command> {
        let mut out: Vec<Command> = Vec::new();
        for s in SPECS {
            if !out.contains(&s.command) {
                out.push(s.command);
            }
        }
        out
    }

    /// Whether the command changes the back-end's data (confirmed when it
    /// would touch several cases; never on a bare Ctrl key).
    pub fn changes_cases(self) -> bool {
        matches!(
            self,
            Take | Assign | State | Comment | Note | Priority | Drop | KeepMine | KeepTheirs
        )
    }

    /// Destructive: loses something if pressed by mistake.
    pub fn is_destructive(self) -> bool {
        matches!(self, Drop | KeepTheirs)
    }

    pub fn contexts(self) -> Vec<Context> {
        SPECS
            .iter()
            .filter(|s| s.command == self)
            .map(|s| s.context)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_every_command_is_in_the_table() {
        for c in Command::all() {
            assert_eq!(Command::parse(&c.name()), Some(c));
        }
        assert_eq!(Command::Take.name(), "take");
        assert_eq!(Command::KeepMine.name(), "keep_mine");
        // Every variant appears: parse each serde name of the enum's variants.
        let all = Command::all();
        for name in [
            "up",
            "down",
            "page_up",
            "page_down",
            "top",
            "bottom",
            "open",
            "back",
            "next_queue",
            "prev_queue",
            "queue_mine",
            "queue_team",
            "queue_open",
            "queue_awaiting",
            "queue_due",
            "help",
            "palette",
            "outbox",
            "dashboard",
            "audit",
            "lock",
            "quit",
            "force_quit",
            "sync",
            "offline",
            "online",
            "lang_en",
            "lang_fr",
            "search",
            "mark",
            "mark_none",
            "sort_next",
            "sort_reverse",
            "take",
            "assign",
            "state",
            "comment",
            "note",
            "priority",
            "reveal",
            "new",
            "retry",
            "drop",
            "keep_mine",
            "keep_theirs",
        ] {
            let c = Command::parse(name).unwrap_or_else(|| panic!("{name} parses"));
            assert!(all.contains(&c), "{name} is in the table");
        }
    }

    #[test]
    fn every_command_has_its_texts_in_both_languages() {
        for lang in crate::i18n::Lang::ALL {
            for c in Command::all() {
                assert_ne!(lang.t(&c.help_key()), c.help_key(), "{lang:?} {}", c.name());
            }
            for s in SPECS.iter().filter(|s| s.in_bar) {
                let key = s.command.bar_key();
                assert_ne!(lang.t(&key), key, "{lang:?} {key}");
            }
        }
    }
}
