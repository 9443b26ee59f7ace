//! The write thread: queues the agent's actions (one outbox row per case,
//! each durable before the console calls it queued) and records decisions
//! on the outbox; then wakes the sync task to send them.

use std::sync::mpsc::{Receiver, Sender};

use tokio::sync::mpsc::UnboundedSender;

use super::Named;
use super::sync::SyncCommand;
use crate::app::inbox::{Ref, Sourced};
use crate::app::intake::{self, Intake};
use crate::app::{AppError, compose, submit};
use crate::console::intake::{IntakeMsg, PrintTrouble, Refusal};
use crate::console::msg::Msg;
use crate::domain::{Action, Choice};
use crate::i18n::Lang;
use crate::store::{AuditEvent, OutboxEntry, OutboxState, Store};

/// What the agent chose to do, before it is made concrete for each case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Take,
    /// Ids, as the picker gives them.
    Assign {
        user: Option<String>,
        group: Option<String>,
    },
    State {
        state: Choice,
        resolution_code: Option<String>,
        close_notes: Option<String>,
    },
    Comment(String),
    Note(String),
    Priority(u8),
}

#[derive(Debug, Clone)]
pub enum Write {
    /// The intent on each of these cases, each as its own action in its
    /// own profile's outbox.
    Act {
        cases: Vec<Ref>,
        intent: Intent,
        lang: Lang,
    },
    /// Decisions on outbox actions (their profile and id).
    Retry(Ref),
    Drop(Ref),
    Resolve {
        action: Ref,
        keep_mine: bool,
    },
    /// The agent showed the contact details of this case's citizen (by
    /// number, in this profile): for its audit trail only; nothing to send.
    Reveal {
        source: String,
        number: String,
    },
    /// A new case from the intake form, in the default profile: checked,
    /// then queued with its provisional number (and the new citizen, if any).
    Open {
        intake: Box<Intake>,
        lang: Lang,
    },
    /// A receipt's text to the system's printer (`lp`): here, because `lp`
    /// may take its time and the keys must not wait.
    Print(String),
}

/// The write thread, on a connection to each profile's store (the default
/// profile's first), each with the way to wake its sync loop.
pub fn spawn(
    stores: Vec<(Named, UnboundedSender<SyncCommand>)>,
    events: UnboundedSender<Msg>,
) -> Result<(Sender<Write>, std::thread::JoinHandle<()>), AppError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("guichet-writes".into())
        .spawn(move || serve(stores, rx, events))
        .map_err(|e| AppError::System(format!("cannot start a thread: {e}")))?;
    Ok((tx, thread))
}

/// The store (and sync loop) of a profile, as an index.
fn index_of(stores: &[(Named, UnboundedSender<SyncCommand>)], source: &str) -> Option<usize> {
    stores.iter().position(|(n, _)| n.name == source)
}

fn no_source(source: &str) -> String {
    format!("no profile '{source}' in the inbox")
}

/// A decision on an outbox action, in its profile's store; says the
/// case's number.
fn decide(
    stores: &mut [(Named, UnboundedSender<SyncCommand>)],
    woken: &mut Vec<usize>,
    action: &Ref,
    decision: impl FnOnce(&mut Store, &str) -> Result<OutboxEntry, crate::store::StoreError>,
) -> Result<String, String> {
    let i = index_of(stores, &action.source).ok_or_else(|| no_source(&action.source))?;
    woken.push(i);
    decision(&mut stores[i].0.store, &action.id)
        .map(|e| e.case_number)
        .map_err(|e| e.to_string())
}

fn serve(
    mut stores: Vec<(Named, UnboundedSender<SyncCommand>)>,
    rx: Receiver<Write>,
    events: UnboundedSender<Msg>,
) {
    while let Ok(write) = rx.recv() {
        // The back-ends that have something new to send.
        let mut woken: Vec<usize> = Vec::new();
        let msg = match write {
            Write::Reveal { source, number } => {
                let recorded = index_of(&stores, &source)
                    .map(|i| stores[i].0.store.record(AuditEvent::Reveal, &number, ""));
                if !matches!(recorded, Some(Ok(_))) {
                    tracing::warn!("a reveal could not be written to the audit trail");
                }
                // Answered like every write (the console counts the writes
                // on their way), and so that a trail on screen shows it.
                let _ = events.send(Msg::Recorded);
                continue;
            }
            Write::Print(text) => {
                // Nothing queued: the sync has nothing new to send.
                let _ = events.send(Msg::Intake(IntakeMsg::Printed(print(&text))));
                continue;
            }
            Write::Open { intake, lang } => {
                woken.push(0);
                Msg::Intake(IntakeMsg::Opened(
                    open(&mut stores[0].0.store, *intake, lang).map(Box::new),
                ))
            }
            Write::Act {
                cases,
                intent,
                lang,
            } => Msg::Acted(
                cases
                    .iter()
                    .map(|case| {
                        let i = index_of(&stores, &case.source)
                            .ok_or_else(|| no_source(&case.source))?;
                        woken.push(i);
                        let named = &mut stores[i].0;
                        act(&mut named.store, &case.id, &intent, lang)
                            .map(|entry| Sourced::new(&named.name, entry))
                            .map_err(|e| e.to_string())
                    })
                    .collect(),
            ),
            Write::Retry(action) => {
                Msg::Decided(decide(&mut stores, &mut woken, &action, |store, id| {
                    store.retry(id)
                }))
            }
            Write::Drop(action) => {
                Msg::Decided(decide(&mut stores, &mut woken, &action, |store, id| {
                    store.drop_action(id)
                }))
            }
            Write::Resolve { action, keep_mine } => {
                Msg::Decided(decide(&mut stores, &mut woken, &action, |store, id| {
                    store.resolve_conflict(id, keep_mine).inspect(|e| {
                        debug_assert!(keep_mine == (e.state == OutboxState::Pending));
                    })
                }))
            }
        };
        woken.sort_unstable();
        woken.dedup();
        for i in woken {
            let _ = stores[i].1.send(SyncCommand::Wake);
        }
        // The console may be gone (it quit): the write is done all the same,
        // and the next writes waiting in the channel are done too.
        let _ = events.send(msg);
    }
}

/// Builds the action for one case from the intent, validates it, queues it.
fn act(store: &mut Store, id: &str, intent: &Intent, lang: Lang) -> Result<OutboxEntry, AppError> {
    let case = store.case(id)?;
    let action: Action = match intent {
        Intent::Take => compose::take(store, &case, lang)?,
        Intent::Assign { user, group } => compose::assign(user.clone(), group.clone(), lang)?,
        Intent::State {
            state,
            resolution_code,
            close_notes,
        } => compose::set_state(
            store,
            &case,
            state,
            resolution_code.clone(),
            close_notes.clone(),
            lang,
        )?,
        Intent::Comment(text) => compose::comment(text, lang)?,
        Intent::Note(text) => compose::note(text, lang)?,
        Intent::Priority(p) => compose::priority(*p, lang)?,
    };
    submit::enqueue(store, id, action)
}

/// Checks the intake, then queues it: nothing is queued while something is
/// missing, and the agent reads what.
fn open(store: &mut Store, intake: Intake, lang: Lang) -> Result<OutboxEntry, Refusal> {
    let missing =
        intake::check(store, &intake, lang).map_err(|e| Refusal::Failed(e.to_string()))?;
    if !missing.is_empty() {
        return Err(Refusal::Missing(missing));
    }
    intake::queue(store, intake, lang).map_err(|e| Refusal::Failed(e.to_string()))
}

/// Hands the text to `lp` on its standard input; `lp` not found is said
/// apart, so that the console can offer the command that writes a file.
fn print(text: &str) -> Result<(), PrintTrouble> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("lp")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => PrintTrouble::NoLp,
            _ => PrintTrouble::Failed(e.to_string()),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| PrintTrouble::Failed(e.to_string()))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| PrintTrouble::Failed(e.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        // lp's own words (no printer, queue disabled), on one line.
        let said = String::from_utf8_lossy(&output.stderr);
        let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
        Err(PrintTrouble::Failed(if said.is_empty() {
            output.status.to_string()
        } else {
            said.chars().take(200).collect()
        }))
    }
}
