//! The receipt after intake, laid out to be read out at the counter: the
//! number (provisional until the sync, and said so), the procedure, the
//! legal deadline, the documents to bring, how to follow up.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::case::local_time;
use super::text::{cell, clean, fit};
use super::textwrap_simple;
use super::theme::Styles;
use crate::console::state::State;

const LABEL: usize = 20;

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    let Some(view) = &state.receipt else {
        return;
    };
    let width = usize::from(area.width);
    let value_width = width.saturating_sub(LABEL + 2).max(10);
    let mut lines: Vec<Line> = vec![Line::raw("")];
    // A label, then the value wrapped under itself.
    let field = |lines: &mut Vec<Line>, key: &str, value: &str, style: ratatui::style::Style| {
        let wrapped = textwrap_simple(&clean(value), value_width, state.ascii);
        for (i, l) in wrapped.into_iter().enumerate() {
            let head = if i == 0 && !key.is_empty() {
                cell(&format!("  {}", state.t(key)), LABEL, state.ascii)
            } else {
                " ".repeat(LABEL)
            };
            lines.push(Line::from(vec![
                Span::styled(head, s.header),
                Span::styled(l, style),
            ]));
        }
    };
    let provisional = view.receipt.as_ref().is_none_or(|r| r.provisional);
    field(&mut lines, "ui.receipt_number", &view.number, s.title);
    if provisional {
        field(&mut lines, "", state.t("ui.receipt_provisional"), s.warn);
    }
    match (&view.receipt, &view.error) {
        (_, Some(e)) => {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                fit(&format!("  {e}"), width, state.ascii),
                s.error,
            ));
        }
        (None, None) => {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!("  {}", state.t("ui.loading")),
                s.muted,
            ));
        }
        (Some(r), None) => {
            field(&mut lines, "ui.receipt_citizen", &r.citizen, s.base);
            field(&mut lines, "ui.receipt_procedure", &r.procedure, s.base);
            if let Some(at) = r.opened {
                field(
                    &mut lines,
                    "ui.receipt_opened",
                    &local_time(state, at),
                    s.base,
                );
            }
            let deadline = match r.deadline {
                Some(at) => {
                    let days = (at.instant() - state.now).whole_days().max(0);
                    state.f(
                        "ui.receipt_deadline_value",
                        &[
                            (
                                "date",
                                &crate::console::intake::form::day_text(at, state.offset),
                            ),
                            ("days", &days),
                        ],
                    )
                }
                None => state.t("ui.receipt_no_deadline").to_string(),
            };
            field(&mut lines, "ui.receipt_deadline", &deadline, s.base);
            if r.documents.is_empty() {
                field(
                    &mut lines,
                    "ui.receipt_documents",
                    state.t("ui.receipt_no_documents"),
                    s.muted,
                );
            } else {
                let bullet = if state.ascii { "-" } else { "•" };
                for (i, d) in r.documents.iter().enumerate() {
                    let key = if i == 0 { "ui.receipt_documents" } else { "" };
                    field(&mut lines, key, &format!("{bullet} {d}"), s.base);
                }
            }
            let follow_up = r.follow_up.clone().unwrap_or_else(|| {
                state.f("ui.receipt_follow_up_default", &[("number", &view.number)])
            });
            field(&mut lines, "ui.receipt_follow_up", &follow_up, s.base);
        }
    }
    if let Some((text, error)) = &view.notice {
        lines.push(Line::raw(""));
        for l in textwrap_simple(&clean(text), width.saturating_sub(2), state.ascii) {
            lines.push(Line::styled(
                format!("  {l}"),
                if *error { s.error } else { s.ok },
            ));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The receipt's keys, for the key bar.
pub fn key_hints(state: &State) -> Vec<(String, String)> {
    let pair = |k: &str, key: &str| (k.to_string(), state.t(key).to_string());
    vec![
        pair("p", "hint.receipt_print"),
        pair("Enter/Esc", "hint.receipt_back"),
        pair("o", "hint.receipt_open"),
    ]
}
