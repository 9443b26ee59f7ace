//! The audit trail's screen: what was done at this workstation, newest
//! first. The trail only grows and can be long: the newest lines are read
//! a screenful or so ahead of what is shown, more as the agent scrolls
//! down, always through the query thread.

use super::state::{Screen, State};
use super::ui;
use super::update::Effect;
use super::worker::Query;

/// Lines read ahead of the last one shown.
const AHEAD: usize = 200;

pub fn open(state: &mut State, fx: &mut Vec<Effect>) {
    state.screen = Screen::Audit;
    state.audit.selected = 0;
    state.audit.asked = 0;
    request(state, fx);
}

/// Reads the trail again: as many lines as are loaded, at least a
/// screenful and the lines ahead.
pub fn request(state: &mut State, fx: &mut Vec<Effect>) {
    let wanted = state.audit.selected + ui::list_height(state.size) + AHEAD;
    state.audit.asked = state.audit.asked.max(wanted);
    fx.push(Effect::Query(Query::Audit {
        limit: state.audit.asked,
    }));
}

pub fn on_loaded(
    state: &mut State,
    limit: usize,
    result: Result<Vec<crate::store::AuditLine>, String>,
) {
    let audit = &mut state.audit;
    match result {
        Ok(lines) => {
            audit.complete = lines.len() < limit;
            audit.lines = lines;
            audit.error = None;
            audit.selected = audit.selected.min(audit.lines.len().saturating_sub(1));
        }
        Err(e) => audit.error = Some(e),
    }
    audit.loaded = true;
    state.dirty = true;
}

pub fn move_by(state: &mut State, by: i64, fx: &mut Vec<Effect>) {
    let len = state.audit.lines.len() as i64;
    if len == 0 {
        return;
    }
    state.audit.selected = (state.audit.selected as i64)
        .saturating_add(by)
        .clamp(0, len - 1) as usize;
    // Near the end of what is loaded, and there is more: read further.
    let shown_to = state.audit.selected + ui::list_height(state.size);
    // (Once: not again while a bigger read is on its way.)
    let waiting = state.audit.asked > state.audit.lines.len();
    if !state.audit.complete && !waiting && shown_to + AHEAD / 2 >= state.audit.lines.len() {
        request(state, fx);
    }
}
