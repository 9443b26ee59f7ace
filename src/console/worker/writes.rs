//! The write thread: queues the agent's actions (one outbox row per case,
//! each durable before the console calls it queued) and records decisions
//! on the outbox; then wakes the sync task to send them.

use std::sync::mpsc::{Receiver, Sender};

use tokio::sync::mpsc::UnboundedSender;

use super::sync::SyncCommand;
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
    /// The intent on each of these cases (ids), each as its own action.
    Act {
        cases: Vec<String>,
        intent: Intent,
        lang: Lang,
    },
    Retry(String),
    Drop(String),
    Resolve {
        id: String,
        keep_mine: bool,
    },
    /// The agent showed the contact details of this case's citizen: for the
    /// audit trail only; nothing to send.
    Reveal(String),
    /// A new case from the intake form: checked, then queued with its
    /// provisional number (and the new citizen, if any).
    Open {
        intake: Box<Intake>,
        lang: Lang,
    },
    /// A receipt's text to the system's printer (`lp`): here, because `lp`
    /// may take its time and the keys must not wait.
    Print(String),
}

pub fn spawn(
    store: Store,
    events: UnboundedSender<Msg>,
    sync: UnboundedSender<SyncCommand>,
) -> Result<(Sender<Write>, std::thread::JoinHandle<()>), AppError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("guichet-writes".into())
        .spawn(move || serve(store, rx, events, sync))
        .map_err(|e| AppError::System(format!("cannot start a thread: {e}")))?;
    Ok((tx, thread))
}

fn serve(
    mut store: Store,
    rx: Receiver<Write>,
    events: UnboundedSender<Msg>,
    sync: UnboundedSender<SyncCommand>,
) {
    while let Ok(write) = rx.recv() {
        let msg = match write {
            Write::Reveal(number) => {
                if let Err(e) = store.record(AuditEvent::Reveal, &number, "") {
                    tracing::warn!(error = %e, "a reveal could not be written to the audit trail");
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
            Write::Open { intake, lang } => Msg::Intake(IntakeMsg::Opened(
                open(&mut store, *intake, lang).map(Box::new),
            )),
            Write::Act {
                cases,
                intent,
                lang,
            } => Msg::Acted(
                cases
                    .iter()
                    .map(|id| act(&mut store, id, &intent, lang).map_err(|e| e.to_string()))
                    .collect(),
            ),
            Write::Retry(id) => Msg::Decided(
                store
                    .retry(&id)
                    .map(|e| e.case_number)
                    .map_err(|e| e.to_string()),
            ),
            Write::Drop(id) => Msg::Decided(
                store
                    .drop_action(&id)
                    .map(|e| e.case_number)
                    .map_err(|e| e.to_string()),
            ),
            Write::Resolve { id, keep_mine } => Msg::Decided(
                store
                    .resolve_conflict(&id, keep_mine)
                    .map(|e: OutboxEntry| {
                        debug_assert!(keep_mine == (e.state == OutboxState::Pending));
                        e.case_number
                    })
                    .map_err(|e| e.to_string()),
            ),
        };
        let _ = sync.send(SyncCommand::Wake);
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
