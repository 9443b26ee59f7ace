//! The form's keys: Tab and Shift-Tab move between fields, Enter picks
//! or goes on, Ctrl-S queues, Esc leaves (asking first when something was
//! typed). Every other key belongs to the field with the focus.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::form::{Chosen, Field, Form, LineInput, picker_choice};
use super::{check_duplicates, leave, receipt, search, send};
use crate::console::state::{PickValue, Picker, Screen, State};
use crate::console::update::{Effect, filter_picker};
use crate::domain::Timestamp;

pub fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    match state.screen {
        Screen::Receipt => receipt::on_key(state, key, fx),
        Screen::Intake => form_key(state, key, fx),
        _ => {}
    }
}

/// Pasted text goes into the field with the focus, as typed text.
pub fn on_paste(state: &mut State, text: &str, fx: &mut Vec<Effect>) {
    let Some(form) = state.intake.as_deref_mut() else {
        return;
    };
    if form.sending || state.screen != Screen::Intake {
        return;
    }
    form.confirm_discard = false;
    let one_line = text.replace(['\n', '\r'], " ");
    match form.focus {
        Field::Description => {
            form.description
                .insert_str(text.replace("\r\n", "\n").replace('\r', "\n"));
        }
        Field::Procedure => filter(&mut form.procedure_picker, |f| f.push_str(&one_line)),
        Field::Assign => filter(&mut form.assign_picker, |f| f.push_str(&one_line)),
        field => {
            if let Some(input) = form.input_mut(field) {
                input.insert(&one_line);
                edited(form, field, fx);
            }
        }
    }
}

fn form_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let now = Timestamp::from(state.now);
    let offset = state.offset;
    let Some(form) = state.intake.as_deref_mut() else {
        return;
    };
    // Handed to the write thread: the answer says what happens next.
    if form.sending {
        return;
    }
    if key.code == KeyCode::Esc {
        if form.has_work() && !form.confirm_discard {
            form.confirm_discard = true;
            return;
        }
        let to = form.back_to;
        leave(state, to, fx);
        return;
    }
    form.confirm_discard = false;
    if ctrl && key.code == KeyCode::Char('s') {
        send(state, fx);
        return;
    }
    match key.code {
        KeyCode::Tab => {
            // Tab picks what a search or a filter typed points at, then
            // goes on; with nothing typed it only goes on.
            let typed = match form.focus {
                Field::Citizen => {
                    !form.query.is_blank() && !matches!(form.chosen, Chosen::Known(_))
                }
                Field::Procedure => !form.procedure_picker.filter.is_empty(),
                Field::Assign => !form.assign_picker.filter.is_empty(),
                _ => false,
            };
            if typed {
                choose(form, fx, now, offset);
            } else {
                form.move_focus(1);
            }
        }
        KeyCode::BackTab => form.move_focus(-1),
        _ => field_key(form, key, fx, now, offset),
    }
}

/// Picks what the dropdown of the field with the focus points at.
fn choose(form: &mut Form, fx: &mut Vec<Effect>, now: Timestamp, offset: time::UtcOffset) {
    match form.focus {
        Field::Citizen => match form.matches.get(form.match_selected).cloned() {
            Some(citizen) => form.choose_known(citizen),
            None => {
                form.choose_new();
                check_duplicates(form, fx);
            }
        },
        Field::Duplicates => {
            if let Some(citizen) = form.duplicates.get(form.duplicate_selected).cloned() {
                form.choose_known(citizen);
            }
        }
        Field::Procedure => {
            if let Some(PickValue::Text(code)) =
                picker_choice(&form.procedure_picker).map(|i| i.value.clone())
            {
                form.choose_procedure(&code, now, offset);
            }
            form.move_focus(1);
        }
        Field::Assign => {
            if let Some(value) = picker_choice(&form.assign_picker).map(|i| i.value.clone()) {
                form.assign = value;
            }
            form.assign_picker.filter.clear();
            filter_picker(&mut form.assign_picker);
            form.move_focus(1);
        }
        _ => form.move_focus(1),
    }
}

fn field_key(
    form: &mut Form,
    key: KeyEvent,
    fx: &mut Vec<Effect>,
    now: Timestamp,
    offset: time::UtcOffset,
) {
    let focus = form.focus;
    match (focus, key.code) {
        (Field::Description, _) => {
            form.description.input(key);
        }
        (_, KeyCode::Enter) => choose(form, fx, now, offset),
        (Field::Citizen, KeyCode::Up) => {
            form.match_selected = form.match_selected.saturating_sub(1)
        }
        (Field::Citizen, KeyCode::Down) => {
            // The last line is "new citizen".
            form.match_selected = (form.match_selected + 1).min(form.matches.len());
        }
        (Field::Duplicates, KeyCode::Up) => {
            form.duplicate_selected = form.duplicate_selected.saturating_sub(1)
        }
        (Field::Duplicates, KeyCode::Down) => {
            form.duplicate_selected =
                (form.duplicate_selected + 1).min(form.duplicates.len().saturating_sub(1))
        }
        (Field::Procedure, _) => picker_key(&mut form.procedure_picker, key),
        (Field::Assign, _) => picker_key(&mut form.assign_picker, key),
        (Field::Channel, KeyCode::Left | KeyCode::Right | KeyCode::Char(' ')) => {
            let by = if key.code == KeyCode::Left { -1 } else { 1 };
            cycle_channel(form, by);
        }
        (Field::Priority, KeyCode::Left) => form.priority = form.priority.saturating_sub(1).max(1),
        (Field::Priority, KeyCode::Right | KeyCode::Char(' ')) => {
            form.priority = form.priority % 4 + 1
        }
        (Field::Priority, KeyCode::Char(c @ '1'..='4')) => form.priority = c as u8 - b'0',
        (_, KeyCode::Up) => form.move_focus(-1),
        (_, KeyCode::Down) => form.move_focus(1),
        (field, _) => {
            if let Some(input) = form.input_mut(field)
                && edit(input, &key)
            {
                edited(form, field, fx);
            }
        }
    }
}

fn cycle_channel(form: &mut Form, by: isize) {
    let n = form.channels.len() as isize;
    if n == 0 {
        return;
    }
    let at = form
        .channels
        .iter()
        .position(|(v, _)| *v == form.channel)
        .unwrap_or(0) as isize;
    let next = (at + by).rem_euclid(n) as usize;
    form.channel = form.channels[next].0.clone();
}

fn filter(picker: &mut Picker, change: impl FnOnce(&mut String)) {
    change(&mut picker.filter);
    filter_picker(picker);
}

/// The picker's keys (the filter is typed in the field itself).
fn picker_key(picker: &mut Picker, key: KeyEvent) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Up => picker.selected = picker.selected.saturating_sub(1),
        KeyCode::Down if picker.selected + 1 < picker.shown.len() => picker.selected += 1,
        KeyCode::Backspace => filter(picker, |f| {
            f.pop();
        }),
        KeyCode::Char('u') if ctrl => filter(picker, String::clear),
        KeyCode::Char(c) if !ctrl => filter(picker, |f| f.push(c)),
        _ => {}
    }
}

/// A one-line field's keys; says whether the text changed.
fn edit(input: &mut LineInput, key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Char('u') if ctrl => {
            input.clear();
            true
        }
        KeyCode::Char(c) if !ctrl && !alt => {
            input.insert(c.encode_utf8(&mut [0; 4]));
            true
        }
        KeyCode::Backspace => {
            input.backspace();
            true
        }
        KeyCode::Delete => {
            input.delete();
            true
        }
        KeyCode::Left => {
            input.left();
            false
        }
        KeyCode::Right => {
            input.right();
            false
        }
        KeyCode::Home => {
            input.home();
            false
        }
        KeyCode::End => {
            input.end();
            false
        }
        _ => false,
    }
}

/// What a change of text asks of the workers.
fn edited(form: &mut Form, field: Field, fx: &mut Vec<Effect>) {
    match field {
        Field::Citizen => {
            // Typing again means searching again: the citizen picked is let
            // go (a new one's fields are kept).
            if matches!(form.chosen, Chosen::Known(_)) {
                form.chosen = Chosen::Nobody;
            }
            search(form, fx);
        }
        Field::FirstName | Field::LastName | Field::Email | Field::Phone => {
            check_duplicates(form, fx)
        }
        _ => {}
    }
}
