//! The outbox: every action not yet applied, why it waits, and for a
//! conflict, mine beside theirs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::text::{cell, clean};
use super::theme::{Styles, borders, marker};
use crate::console::state::State;
use crate::store::{OutboxEntry, OutboxState};

pub fn state_label(state: &State, entry: &OutboxEntry) -> &'static str {
    state_name(state, entry.state)
}

pub fn state_name(state: &State, outbox_state: OutboxState) -> &'static str {
    state.t(match outbox_state {
        OutboxState::Pending => "outbox.pending",
        OutboxState::Sending => "outbox.sending",
        OutboxState::InDoubt => "outbox.in_doubt",
        OutboxState::Done => "outbox.done",
        OutboxState::Failed => "outbox.failed",
        OutboxState::Conflict => "outbox.conflict",
        OutboxState::Dropped => "outbox.dropped",
    })
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    let entries = &state.outbox.entries;
    if entries.is_empty() {
        let key = if state.outbox.loaded {
            "outbox.empty"
        } else {
            "ui.loading"
        };
        frame.render_widget(Paragraph::new(format!(" {}", state.t(key))), area);
        return;
    }
    let [list, detail] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let width = usize::from(area.width);
    let mut lines = vec![Line::styled(
        format!(
            "  {}{} {} {} {}",
            super::source_cell_title(state),
            cell("#", 5, state.ascii),
            cell(state.t("col.number"), 10, state.ascii),
            cell(state.t("outbox.state"), 12, state.ascii),
            state.t("outbox.what")
        ),
        s.header,
    )];
    let height = usize::from(list.height).saturating_sub(1).max(1);
    let top = state.outbox.selected.saturating_sub(height - 1);
    for (i, e) in entries.iter().enumerate().skip(top).take(height) {
        let selected = i == state.outbox.selected;
        let text = format!(
            "{} {}{} {} {} {}",
            if selected { marker(state.ascii) } else { " " },
            super::source_cell(state, &e.source),
            cell(&e.seq.to_string(), 5, state.ascii),
            cell(&e.case_number, 10, state.ascii),
            cell(state_label(state, e), 12, state.ascii),
            clean(&state.describe(&e.source, &e.action))
        );
        let style = match e.state {
            OutboxState::Conflict | OutboxState::Failed => s.error,
            _ => s.base,
        };
        let line = Line::styled(super::text::fit(&text, width, state.ascii), style);
        lines.push(if selected {
            line.style(s.selected)
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines), list);

    let Some(e) = entries.get(state.outbox.selected) else {
        return;
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .border_set(borders(state.ascii))
        .title(format!(
            " {}{} {} ",
            super::source_cell(state, &e.source),
            e.case_number,
            clean(&state.describe(&e.source, &e.action))
        ));
    let mut info = vec![Line::from(vec![
        Span::styled(
            format!("{}{}", state.t("outbox.state"), state.t("ui.colon")),
            s.header,
        ),
        Span::raw(state_label(state, e)),
        Span::raw(format!(
            " · {} {} · {}",
            e.attempts,
            state.t("outbox.attempts"),
            super::case::local_time(state, e.created_at)
        )),
    ])];
    if let Some(error) = &e.last_error {
        info.push(Line::from(vec![
            Span::styled(
                format!("{}{}", state.t("outbox.reason"), state.t("ui.colon")),
                s.header,
            ),
            Span::raw(clean(error)),
        ]));
    }
    if let Some(theirs) = &e.theirs {
        info.push(Line::styled(state.t("outbox.side_by_side"), s.header));
        for (field, mine) in e.action.field_changes() {
            let seen = e.seen.get(&field).cloned().unwrap_or_default();
            info.push(Line::raw(format!(
                "  {:<14} {} {:<16} {} {:<16} {} {}",
                crate::app::view::field_name(field, state.lang),
                state.t("case.mine"),
                clean(&mine.unwrap_or_default()),
                state.t("case.theirs"),
                clean(&theirs.field(field)),
                state.t("outbox.seen"),
                clean(&seen)
            )));
        }
    }
    if let Some((_, text)) = e.action.journal() {
        info.push(Line::raw(clean(text)));
    }
    frame.render_widget(
        Paragraph::new(info).block(block).wrap(Wrap { trim: false }),
        detail,
    );
}
