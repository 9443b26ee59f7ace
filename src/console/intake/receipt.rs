//! The receipt screen after intake: the case's number (provisional until
//! the sync gives the real one, and said so), what to bring, how to follow
//! up. `p` prints it through `lp` on the write thread; Enter or Esc goes
//! back to the list, `o` opens the new case.

use crossterm::event::{KeyCode, KeyEvent};

use super::{PrintTrouble, leave};
use crate::app::intake::Receipt;
use crate::console::state::{Screen, State};
use crate::console::update::{Effect, open_case};
use crate::console::worker::Write;
use crate::store::OutboxEntry;

#[derive(Debug)]
pub struct ReceiptView {
    /// The number the receipt was asked by (the provisional one).
    pub asked: String,
    pub number: String,
    pub case_id: String,
    /// From the query thread.
    pub receipt: Option<Receipt>,
    pub error: Option<String>,
    /// The printer's answer: (text, is an error).
    pub notice: Option<(String, bool)>,
    /// Handed to the write thread, not answered yet.
    pub printing: bool,
}

impl ReceiptView {
    pub fn new(entry: &OutboxEntry) -> ReceiptView {
        ReceiptView {
            asked: entry.case_number.clone(),
            number: entry.case_number.clone(),
            case_id: entry.case_id.clone(),
            receipt: None,
            error: None,
            notice: None,
            printing: false,
        }
    }
}

pub fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(view) = state.receipt.as_mut() else {
        return;
    };
    match key.code {
        KeyCode::Enter | KeyCode::Esc => leave(state, Screen::Queues, fx),
        KeyCode::Char('o') => {
            // Opened in the default profile's store.
            let id = view.case_id.clone();
            let case = crate::app::inbox::Ref::new(&state.first().name, id);
            state.receipt = None;
            open_case(state, case, fx);
        }
        KeyCode::Char('p') if !view.printing => match &view.receipt {
            Some(receipt) => {
                view.printing = true;
                view.notice = Some((state.lang.t("ui.receipt_printing").to_string(), false));
                fx.push(Effect::Write(Write::Print(receipt.text(state.lang))));
            }
            None => {
                view.notice = Some((state.lang.t("ui.loading").to_string(), false));
            }
        },
        _ => {}
    }
}

/// The back-end numbered a case opened here: a receipt on screen for it
/// shows the real number now (the case is found by it).
pub fn on_numbered(state: &mut State, provisional: &str, number: &str) {
    let Some(view) = state.receipt.as_mut() else {
        return;
    };
    if view.number != provisional {
        return;
    }
    view.number = number.to_string();
    view.case_id = number.to_string();
    if let Some(receipt) = view.receipt.as_mut() {
        receipt.number = number.to_string();
        receipt.provisional = false;
    }
}

pub fn on_loaded(state: &mut State, asked: &str, result: Result<Receipt, String>) {
    let Some(view) = state.receipt.as_mut() else {
        return;
    };
    // An answer for another receipt (the agent went on): not this one.
    if asked != view.asked {
        return;
    }
    match result {
        Ok(receipt) => {
            // Numbered by a sync that ran in between: the real number.
            if !receipt.provisional {
                view.number = receipt.number.clone();
                view.case_id = receipt.number.clone();
            }
            view.receipt = Some(receipt);
        }
        Err(e) => view.error = Some(e),
    }
}

pub fn on_printed(state: &mut State, result: Result<(), PrintTrouble>) {
    state.writes_in_flight = state.writes_in_flight.saturating_sub(1);
    let lang = state.lang;
    let Some(view) = state.receipt.as_mut() else {
        return;
    };
    view.printing = false;
    view.notice = Some(match result {
        Ok(()) => (lang.t("ui.receipt_printed").to_string(), false),
        Err(PrintTrouble::NoLp) => (
            lang.f("ui.receipt_no_lp", &[("number", &view.number)]),
            true,
        ),
        Err(PrintTrouble::Failed(e)) => (lang.f("ui.receipt_print_failed", &[("error", &e)]), true),
    });
}
