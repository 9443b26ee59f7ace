//! Intake at the counter (issue #11): the form that finds or records the
//! citizen and opens a case for a procedure, then the receipt to read out
//! or print. Everything the form needs from the store comes through the
//! query thread, and the case is queued by the write thread: no I/O here.

pub mod form;
mod keys;
pub mod receipt;

#[cfg(test)]
mod tests;

use super::state::{PickItem, PickValue, Screen, State};
use super::update::{Effect, refresh, say};
use super::worker::{Query, Write};
use crate::app::intake::{Procedure, Receipt};
use crate::domain::Citizen;
use crate::store::OutboxEntry;
use form::{Chosen, Form};
use receipt::ReceiptView;

pub use keys::{on_key, on_paste};

/// How many known citizens the search shows.
pub const MATCHES: usize = 5;

/// The workers' answers for the form and the receipt.
#[derive(Debug)]
pub enum IntakeMsg {
    /// The procedure catalogue and the channels, in the agent's language.
    Catalogue(Result<Catalogue, String>),
    Citizens {
        generation: u64,
        result: Result<Vec<Citizen>, String>,
    },
    Duplicates {
        generation: u64,
        result: Result<Vec<Citizen>, String>,
    },
    /// The case was queued, or why not.
    Opened(Result<Box<OutboxEntry>, Refusal>),
    /// The receipt asked for by this number (a provisional one may come
    /// back under the real number, if the sync gave it meanwhile).
    Receipt {
        asked: String,
        result: Result<Receipt, String>,
    },
    Printed(Result<(), PrintTrouble>),
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub procedures: Vec<Procedure>,
    pub channels: Vec<(String, String)>,
}

/// Why the case was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// What `check` says is missing or wrong, one sentence each.
    Missing(Vec<String>),
    /// The store refused (or the app did, in words).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintTrouble {
    /// No `lp` on this workstation.
    NoLp,
    Failed(String),
}

/// `N`: an empty form, from the queues or a case.
/// The case opens in the default profile, from its directory.
pub fn open(state: &mut State, fx: &mut Vec<Effect>) {
    let reference = &state.first().reference;
    let me = reference.me.clone();
    let me_name = me
        .as_ref()
        .and_then(|id| reference.users.iter().find(|u| &u.id == id))
        .map(|u| u.name.clone())
        .unwrap_or_default();
    let mut items = vec![PickItem {
        label: state.t("ui.intake_me").to_string(),
        detail: me_name,
        value: PickValue::User(me.clone().unwrap_or_default()),
    }];
    items.extend(reference.groups.iter().map(|g| PickItem {
        label: g.name.clone(),
        detail: state.t("picker.group").to_string(),
        value: PickValue::Group(g.id.clone()),
    }));
    // The receipt is not a place to come back to.
    let back_to = match state.screen {
        Screen::Intake | Screen::Receipt => Screen::Queues,
        other => other,
    };
    state.intake = Some(Box::new(Form::new(back_to, items, me)));
    state.screen = Screen::Intake;
    fx.push(Effect::Query(Query::IntakeCatalogue(state.lang)));
}

/// Leaves the form (discarded) or the receipt, back to where the agent was.
pub fn leave(state: &mut State, to: Screen, fx: &mut Vec<Effect>) {
    state.intake = None;
    state.receipt = None;
    state.screen = to;
    refresh(state, fx);
}

pub fn on_msg(state: &mut State, msg: IntakeMsg, fx: &mut Vec<Effect>) {
    state.dirty = true;
    match msg {
        IntakeMsg::Catalogue(result) => {
            let Some(form) = state.intake.as_deref_mut() else {
                return;
            };
            match result {
                Ok(c) => form.set_catalogue(c.procedures, c.channels),
                Err(e) => form.load_error = Some(e),
            }
        }
        IntakeMsg::Citizens { generation, result } => {
            let Some(form) = state.intake.as_deref_mut() else {
                return;
            };
            if generation != form.search_generation {
                return;
            }
            form.searched = true;
            form.match_selected = 0;
            match result {
                Ok(found) => form.matches = found,
                Err(e) => {
                    form.matches.clear();
                    form.errors = vec![e];
                }
            }
        }
        IntakeMsg::Duplicates { generation, result } => {
            let Some(form) = state.intake.as_deref_mut() else {
                return;
            };
            if generation != form.duplicate_generation || form.chosen != Chosen::New {
                return;
            }
            match result {
                Ok(found) => {
                    form.duplicates = found;
                    form.duplicate_selected = 0;
                    // The list is gone from under the focus.
                    if form.duplicates.is_empty() && form.focus == form::Field::Duplicates {
                        form.focus = form::Field::Procedure;
                    }
                }
                Err(e) => form.errors = vec![e],
            }
        }
        IntakeMsg::Opened(result) => {
            state.writes_in_flight = state.writes_in_flight.saturating_sub(1);
            match result {
                Ok(entry) => {
                    let text = state.f("ui.intake_queued", &[("number", &entry.case_number)]);
                    say(state, text, false);
                    state.intake = None;
                    state.receipt = Some(ReceiptView::new(&entry));
                    state.screen = Screen::Receipt;
                    fx.push(Effect::Query(Query::Receipt {
                        number: entry.case_number,
                        lang: state.lang,
                    }));
                    // The new case is in the store: the lists show it.
                    refresh(state, fx);
                }
                Err(refusal) => {
                    let Some(form) = state.intake.as_deref_mut() else {
                        // The form is gone (it cannot be, while sending):
                        // the refusal must still be said.
                        let text = match refusal {
                            Refusal::Missing(m) => m.join(" "),
                            Refusal::Failed(e) => e,
                        };
                        say(state, text, true);
                        return;
                    };
                    form.sending = false;
                    form.errors = match refusal {
                        Refusal::Missing(missing) => missing,
                        Refusal::Failed(e) => vec![e],
                    };
                }
            }
        }
        IntakeMsg::Receipt { asked, result } => receipt::on_loaded(state, &asked, result),
        IntakeMsg::Printed(result) => receipt::on_printed(state, result),
    }
}

/// Asks for the known citizens matching the search as typed (each key
/// asks; the query thread answers only the newest waiting).
fn search(form: &mut Form, fx: &mut Vec<Effect>) {
    form.search_generation += 1;
    form.searched = false;
    let text = form.query.text.trim().to_string();
    if text.chars().count() < 2 {
        form.matches.clear();
        form.match_selected = 0;
        return;
    }
    fx.push(Effect::Query(Query::Citizens {
        generation: form.search_generation,
        text,
        limit: MATCHES,
    }));
}

/// Asks whether the new citizen is nearly a known one.
fn check_duplicates(form: &mut Form, fx: &mut Vec<Effect>) {
    form.duplicate_generation += 1;
    if !form.new_citizen_identifies() {
        form.duplicates.clear();
        return;
    }
    fx.push(Effect::Query(Query::Duplicates {
        generation: form.duplicate_generation,
        citizen: form.new_citizen(),
    }));
}

/// Ctrl-S: what the form can say itself first, then the write thread
/// checks (`intake::check`) and queues.
fn send(state: &mut State, fx: &mut Vec<Effect>) {
    let lang = state.lang;
    let offset = state.offset;
    let Some(form) = state.intake.as_deref_mut() else {
        return;
    };
    match form.intake(offset) {
        Ok(intake) => {
            form.errors.clear();
            form.sending = true;
            fx.push(Effect::Write(Write::Open {
                intake: Box::new(intake),
                lang,
            }));
        }
        Err(wrong) => form.errors = wrong.iter().map(|k| lang.t(k).to_string()).collect(),
    }
}
