//! The lock screen: whose session it is and a password field, and nothing
//! else. It reads only the setting, the lock and the clock: no case, no
//! citizen, no message, no popup is ever drawn while locked, whatever the
//! rest of the state holds.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::text::fit;
use super::theme::{Styles, borders};
use crate::console::lock::{Locked, Notice, Reason};
use crate::console::state::State;

/// The widest the box gets; below this plus its borders, plain lines.
const WIDTH: u16 = 66;

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles, locked: &Locked) {
    let inner_width = usize::from(area.width.min(WIDTH).saturating_sub(4));
    let lines = lines(state, s, locked, inner_width);
    // The borders and a blank line under the title.
    let height = lines.len() as u16 + 3;
    if area.width < 30 || area.height < height {
        // Too small for the box: the lines that fit, cut to the width.
        let width = usize::from(area.width);
        let title = Line::styled(title(state), s.title);
        let plain: Vec<Line> = std::iter::once(title)
            .chain(lines)
            .filter(|l| l.width() > 0)
            .map(|l| cut(l, width, state.ascii))
            .take(usize::from(area.height))
            .collect();
        frame.render_widget(Paragraph::new(plain), area);
        return;
    }
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(area.width.min(WIDTH))])
        .flex(Flex::Center)
        .areas(row);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(borders(state.ascii))
        .title(Span::styled(format!(" {} ", title(state)), s.title));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let padded = inner.inner(ratatui::layout::Margin {
        horizontal: 1,
        vertical: 0,
    });
    let mut body = vec![Line::raw("")];
    body.extend(lines);
    frame.render_widget(Paragraph::new(body), padded);
}

fn title(state: &State) -> String {
    format!("Guichet · {}", state.t("ui.lock_title"))
}

/// A line cut to `width` cells, its first span's style kept.
fn cut(line: Line<'_>, width: usize, ascii: bool) -> Line<'static> {
    let style = line.spans.first().map(|s| s.style).unwrap_or_default();
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    Line::styled(fit(&text, width, ascii), style)
}

fn lines(state: &State, s: &Styles, locked: &Locked, width: usize) -> Vec<Line<'static>> {
    let label = |key: &str| -> Span<'static> {
        Span::styled(format!("{}{}", state.t(key), state.t("ui.colon")), s.header)
    };
    let reason = match locked.reason {
        Reason::Asked => state.t("ui.lock_asked").to_string(),
        Reason::Idle => {
            let seconds = state.lock.after.map_or(0, |d| d.whole_seconds());
            if seconds % 60 == 0 {
                state.f("ui.lock_idle_minutes", &[("n", &(seconds / 60))])
            } else {
                state.f("ui.lock_idle_seconds", &[("n", &seconds)])
            }
        }
    };
    let mut out = vec![
        Line::from(vec![
            label("ui.lock_profile"),
            Span::raw(fit(&state.setting.profile, width, state.ascii)),
        ]),
        Line::from(vec![
            label("ui.lock_user"),
            Span::raw(fit(&state.setting.user, width, state.ascii)),
        ]),
        Line::raw(fit(&reason, width, state.ascii)),
        Line::raw(""),
        password_line(state, s, locked, width),
    ];
    let refused = state.lock.refused_for(state.now);
    let notice = match &locked.notice {
        None => None,
        Some(Notice::Checking) => Some((state.t("ui.lock_checking").to_string(), s.muted)),
        Some(Notice::Wrong { left }) => {
            Some((state.f("ui.lock_wrong", &[("left", left)]), s.error))
        }
        Some(Notice::Refused { .. }) if refused > 0 => Some((
            state.f("ui.lock_refused", &[("seconds", &refused)]),
            s.error,
        )),
        Some(Notice::Refused { .. }) => None,
        Some(Notice::Failed(error)) => {
            Some((state.f("ui.lock_failed", &[("error", error)]), s.error))
        }
    };
    // The message line is always there, empty or not, so that the keys
    // below do not move.
    let wrapped = notice
        .map(|(text, style)| {
            super::textwrap_simple(&text, width, state.ascii)
                .into_iter()
                .take(2)
                .map(|l| Line::styled(l, style))
                .collect()
        })
        .unwrap_or_else(|| vec![Line::raw("")]);
    out.extend(wrapped);
    out.push(Line::raw(""));
    out.push(Line::styled(
        fit(state.t("ui.lock_keys"), width, state.ascii),
        s.key,
    ));
    out.push(Line::styled(
        fit(state.t("ui.lock_kept"), width, state.ascii),
        s.muted,
    ));
    out
}

/// The password, one mask character per character typed, and a cursor.
fn password_line(state: &State, s: &Styles, locked: &Locked, width: usize) -> Line<'static> {
    let label = format!("{}{}", state.t("ui.lock_password"), state.t("ui.colon"));
    let room = width.saturating_sub(label.width() + 1);
    let dot = if state.ascii { "*" } else { "•" };
    let typed = locked.password.chars().count().min(room);
    Line::from(vec![
        Span::styled(label, s.header),
        Span::styled(format!("{}_", dot.repeat(typed)), s.key),
    ])
}
