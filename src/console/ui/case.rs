//! One case: header, citizen (contact details masked until revealed),
//! description, and the timeline with what is still pending or in conflict.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::text::{clean, clean_lines, fit, mask};
use super::theme::Styles;
use crate::console::state::State;
use crate::domain::{EntryKind, Timestamp};
use crate::store::OutboxState;

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    let Some(lines) = lines(state, usize::from(area.width), s) else {
        let text = state
            .case
            .error
            .clone()
            .unwrap_or_else(|| state.t("ui.loading").to_string());
        frame.render_widget(Paragraph::new(format!(" {text}")), area);
        return;
    };
    let top = state.case.scroll.min(max_scroll(state));
    let paragraph = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((top, 0));
    frame.render_widget(paragraph, area);
}

/// How far the case can scroll at the current size: its wrapped lines less
/// a screen (an estimate by cell widths, as the wrap does it).
pub fn max_scroll(state: &State) -> u16 {
    let width = usize::from(state.size.0.max(1));
    let height = usize::from(state.size.1.saturating_sub(3));
    let styles = super::theme::styles(state.theme);
    let Some(lines) = lines(state, width, &styles) else {
        return 0;
    };
    let wrapped: usize = lines.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
    u16::try_from(wrapped.saturating_sub(height)).unwrap_or(u16::MAX)
}

/// The case's lines, before wrapping; none until it is loaded.
fn lines<'a>(state: &State, width: usize, s: &Styles) -> Option<Vec<Line<'a>>> {
    let detail = state.case.detail.as_deref()?;
    let l = &detail.line;
    // ": " in English, " : " in French typography.
    let colon = state.t("ui.colon");
    let countdown = l.countdown(state.now, state.offset);
    let mut lines: Vec<Line> = Vec::new();
    let flag = if l.attention {
        format!(" [{}]", state.t("case.attention"))
    } else if l.pending > 0 {
        format!(" [{}]", state.f("case.pending", &[("n", &l.pending)]))
    } else {
        String::new()
    };
    lines.push(Line::from(vec![
        Span::styled(
            format!(" {}{} ", super::source_cell(state, &l.source), l.number),
            s.title,
        ),
        Span::raw(match l.priority {
            // A back-end without priorities (Démarches Simplifiées) gives 0.
            0 => format!("{} · ", clean(&l.state_label)),
            p => format!("{} · P{p} · ", clean(&l.state_label)),
        }),
        Span::styled(
            format!("{} {}", state.t("case.due"), countdown.text()),
            if countdown.is_late() { s.late } else { s.base },
        ),
        Span::styled(flag, s.pending),
    ]));
    let assignee = if l.assignee_name.is_empty() {
        state.t("case.nobody").to_string()
    } else {
        l.assignee_name.clone()
    };
    lines.push(Line::raw(fit(
        &format!(
            " {}{colon}{} · {}{colon}{} · {}{colon}{} · {}{colon}{}",
            state.t("case.assignee"),
            assignee,
            state.t("case.group"),
            l.group,
            state.t("case.channel"),
            detail.channel_label,
            state.t("case.procedure"),
            l.procedure_label
        ),
        width,
        state.ascii,
    )));
    match &detail.citizen {
        Some(c) => {
            let reveal = state.case.revealed;
            let shown = |t: &str| {
                if reveal {
                    clean(t)
                } else {
                    mask(t, state.ascii)
                }
            };
            lines.push(Line::from(vec![
                Span::styled(format!(" {}{colon}", state.t("case.citizen")), s.header),
                Span::raw(clean(&c.name())),
            ]));
            let address = format!("{} {} {}", c.street, c.zip, c.city);
            lines.push(Line::raw(fit(
                &format!(
                    "   {}{colon}{} · {}{colon}{} · {}{colon}{}{}",
                    state.t("case.email"),
                    shown(&c.email),
                    state.t("case.phone"),
                    shown(&c.phone),
                    state.t("case.address"),
                    shown(address.trim()),
                    if reveal {
                        String::new()
                    } else {
                        format!("  ({})", state.t("case.reveal_hint"))
                    }
                ),
                width,
                state.ascii,
            )));
        }
        None => lines.push(Line::raw(format!(" {}{colon}-", state.t("case.citizen")))),
    }
    lines.push(Line::from(vec![
        Span::styled(format!(" {}{colon}", state.t("case.summary")), s.header),
        Span::raw(clean(&l.summary)),
    ]));
    for text in clean_lines(&detail.description) {
        lines.push(Line::raw(format!("   {text}")));
    }
    if !detail.close_notes.is_empty() {
        lines.push(Line::raw(format!(
            " {}{colon}{} — {}",
            state.t("case.resolution"),
            clean(&detail.resolution_code),
            clean(&detail.close_notes)
        )));
    }
    lines.push(Line::styled(
        format!(" {}", state.t("case.timeline")),
        s.header,
    ));
    if detail.timeline.is_empty() && detail.queued.is_empty() {
        lines.push(Line::styled(
            format!("   {}", state.t("case.timeline_empty")),
            s.muted,
        ));
    }
    for q in &detail.queued {
        let (label, style) = match q.state {
            OutboxState::Conflict => (state.t("case.conflict"), s.error),
            OutboxState::Failed => (state.t("case.refused"), s.error),
            OutboxState::InDoubt => (state.t("case.in_doubt"), s.pending),
            _ => (state.t("case.pending_label"), s.pending),
        };
        let mut spans = vec![
            Span::styled(format!(" [{label}] "), style),
            Span::raw(state.describe(&l.source, &q.action)),
        ];
        if let Some(error) = &q.last_error {
            spans.push(Span::styled(format!(" — {}", clean(error)), s.muted));
        }
        lines.push(Line::from(spans));
        if let Some((_, text)) = q.action.journal() {
            for text in clean_lines(text) {
                lines.push(Line::raw(format!("   {text}")));
            }
        }
        if let (OutboxState::Conflict, Some(theirs)) = (q.state, &q.theirs) {
            for (field, mine) in q.action.field_changes() {
                lines.push(Line::raw(format!(
                    "   {}{colon}{} {} | {} {}",
                    crate::app::view::field_name(field, state.lang),
                    state.t("case.mine"),
                    clean(&mine.unwrap_or_default()),
                    state.t("case.theirs"),
                    clean(&theirs.field(field))
                )));
            }
        }
    }
    // Newest first: the latest exchange is what the agent needs at the
    // counter; what is still pending comes before it.
    for entry in detail.timeline.iter().rev() {
        let (label, style) = match entry.kind {
            EntryKind::Comment => (state.t("case.public"), s.public),
            EntryKind::WorkNote => (state.t("case.internal"), s.internal),
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" [{label}] "), style),
            Span::styled(
                format!(
                    "{} {}{colon}",
                    entry.at.map(|at| local_time(state, at)).unwrap_or_default(),
                    clean(&entry.author)
                ),
                s.muted,
            ),
        ]));
        for text in clean_lines(&entry.text) {
            lines.push(Line::raw(format!("   {text}")));
        }
    }
    Some(lines)
}

/// A back-end time (UTC) in the agent's time zone, to the minute.
pub fn local_time(state: &State, at: Timestamp) -> String {
    let t = at.instant();
    let t = t.checked_to_offset(state.offset).unwrap_or(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}
