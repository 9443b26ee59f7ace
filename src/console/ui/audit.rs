//! The audit trail: what was done at this workstation, newest first. Only
//! the rows on screen are built. The trail names cases by number and holds
//! no citizen's name or text (the store keeps it so).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::text::{cell, clean, fit};
use super::theme::{Styles, marker};
use crate::console::state::State;

/// An event of the trail in the agent's language; an event this console
/// does not know (written by a newer version) as it is stored.
pub fn event_label(state: &State, event: &str) -> String {
    let key = match event {
        "queued" => "ui.audit_queued",
        "applied" => "ui.audit_applied",
        "failed" => "ui.audit_failed",
        "conflict" => "ui.audit_conflict",
        "retry" => "ui.audit_retry",
        "dropped" => "ui.audit_dropped",
        "resolved" => "ui.audit_resolved",
        "reveal" => "ui.audit_reveal",
        "export" => "ui.audit_export",
        other => return other.to_string(),
    };
    state.t(key).to_string()
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    let audit = &state.audit;
    let width = usize::from(area.width);
    if let Some(error) = &audit.error {
        frame.render_widget(
            Paragraph::new(Line::styled(
                fit(&format!(" {}", clean(error)), width, state.ascii),
                s.error,
            )),
            area,
        );
        return;
    }
    if audit.lines.is_empty() {
        let key = if audit.loaded {
            "ui.audit_empty"
        } else {
            "ui.loading"
        };
        frame.render_widget(Paragraph::new(format!(" {}", state.t(key))), area);
        return;
    }
    let mut lines = vec![Line::styled(
        fit(
            &format!(
                "  {} {} {} {}",
                cell(state.t("ui.audit_when"), 16, state.ascii),
                cell(state.t("col.number"), 10, state.ascii),
                cell(state.t("ui.audit_event"), 16, state.ascii),
                state.t("ui.audit_detail")
            ),
            width,
            state.ascii,
        ),
        s.header,
    )];
    let height = usize::from(area.height).saturating_sub(1).max(1);
    let top = audit.selected.saturating_sub(height - 1);
    for (i, line) in audit.lines.iter().enumerate().skip(top).take(height) {
        let selected = i == audit.selected;
        let text = format!(
            "{} {} {} {} {}",
            if selected { marker(state.ascii) } else { " " },
            cell(&super::case::local_time(state, line.at), 16, state.ascii),
            cell(&line.case, 10, state.ascii),
            cell(&event_label(state, &line.event), 16, state.ascii),
            clean(&line.detail)
        );
        let row = Line::raw(fit(&text, width, state.ascii));
        lines.push(if selected { row.style(s.selected) } else { row });
    }
    frame.render_widget(Paragraph::new(lines), area);
}
