//! Drawing: a pure function of the state. One file per screen; the chrome
//! (tabs, status bar, key bar) and the popups here and in `popup.rs`.

mod audit;
mod case;
mod dashboard;
mod intake;
mod lock;
mod outbox;
pub mod popup;
mod queue;
mod receipt;
pub mod text;
pub mod theme;

#[cfg(test)]
mod tests;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::command::SPECS;
use super::state::{Link, Screen, State};
use super::update::unavailable;
use theme::{Styles, styles};

pub use case::max_scroll as case_max_scroll;
pub use intake::key_hints as intake_key_hints;
pub use receipt::key_hints as receipt_key_hints;

/// The smallest terminal every screen is usable in.
pub const MIN_SIZE: (u16, u16) = (60, 12);

/// Rows of the case list for a terminal of `size`: all but the tabs, the
/// filter line, the column header, the status bar and the key bar.
pub fn list_height(size: (u16, u16)) -> usize {
    usize::from(size.1.saturating_sub(5))
}

pub fn draw(frame: &mut Frame<'_>, state: &State) {
    let area = frame.area();
    let s = styles(state.theme);
    // Locked: the lock screen alone, whatever else the state holds.
    if let Some(locked) = &state.lock.locked {
        lock::draw(frame, area, state, &s, locked);
        return;
    }
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        too_small(frame, area, state);
        return;
    }
    let [top, body, status, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    title_bar(frame, top, state, &s);
    match state.screen {
        Screen::Queues => queue::draw(frame, body, state, &s),
        Screen::Case => case::draw(frame, body, state, &s),
        Screen::Outbox => outbox::draw(frame, body, state, &s),
        Screen::Dashboard => dashboard::draw(frame, body, state, &s),
        Screen::Audit => audit::draw(frame, body, state, &s),
        Screen::Intake => intake::draw(frame, body, state, &s),
        Screen::Receipt => receipt::draw(frame, body, state, &s),
    }
    status_bar(frame, status, state, &s);
    key_bar(frame, keys, state, &s);
    popup::draw(frame, body, state, &s);
}

fn too_small(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let text = state.f(
        "ui.too_small",
        &[("width", &MIN_SIZE.0), ("height", &MIN_SIZE.1)],
    );
    let lines: Vec<Line> = textwrap_simple(&text, usize::from(area.width), state.ascii)
        .into_iter()
        .take(usize::from(area.height))
        .map(Line::from)
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// Greedy word wrap by display width (for short texts of our own).
pub fn textwrap_simple(text: &str, width: usize, ascii: bool) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    if width == 0 {
        return Vec::new();
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let word = text::fit(word, width, ascii);
        let needed = if line.is_empty() {
            word.width()
        } else {
            line.width() + 1 + word.width()
        };
        if needed > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn title_bar(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    let mut spans = vec![Span::styled(" Guichet ", s.title)];
    if state.setting.demo {
        spans.push(Span::styled(format!("[{}] ", state.t("ui.demo")), s.warn));
    }
    let screen = match state.screen {
        Screen::Queues => None,
        Screen::Case => Some("screen.case"),
        Screen::Outbox => Some("screen.outbox"),
        Screen::Dashboard => Some("screen.dashboard"),
        Screen::Audit => Some("screen.audit"),
        Screen::Intake => Some("screen.intake"),
        Screen::Receipt => Some("screen.receipt"),
    };
    match screen {
        Some(key) => {
            spans.push(Span::styled(format!("· {}", state.t(key)), s.title));
            // Other screens have no info line: messages go up here.
            if let Some(message) = &state.message {
                let used: usize = spans.iter().map(|s| s.width()).sum();
                let room = usize::from(area.width).saturating_sub(used + 3);
                spans.push(Span::raw("   "));
                spans.push(Span::styled(
                    text::fit(&message.text, room, state.ascii),
                    if message.error { s.error } else { s.ok },
                ));
            }
        }
        None => {
            let short = area.width < 100;
            for (i, tab) in super::worker::QueueTab::ALL.iter().enumerate() {
                let title = if short {
                    state.t(tab.short_title_key())
                } else {
                    state.t(tab.title_key())
                };
                let label = format!(" {} {} ", i + 1, title);
                if *tab == state.list.tab {
                    spans.push(Span::styled(format!("[{}]", label.trim()), s.selected));
                    spans.push(Span::raw(" "));
                } else {
                    spans.push(Span::raw(label));
                }
            }
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The link in words and a symbol (never colour alone).
pub fn link_text(state: &State) -> (String, bool) {
    let (symbol, key, bad) = match (&state.link, state.syncing) {
        (_, true) => ("~", "link.syncing", false),
        (Link::Starting, _) => ("?", "link.starting", false),
        (Link::Online, _) => ("+", "link.online", false),
        (Link::Offline, _) => ("-", "link.offline", true),
        (Link::Unreachable(_), _) => ("x", "link.unreachable", true),
        (Link::Login(_), _) => ("!", "link.login", true),
        (Link::Refusing(_), _) => ("!", "link.refusing", true),
        (Link::Busy, _) => ("=", "link.busy", false),
    };
    (format!("{symbol} {}", state.t(key)), bad)
}

/// "3 min", "2 h", "4 d" since `at`.
pub fn age(state: &State, at: crate::domain::Timestamp) -> String {
    let seconds = (state.now - at.instant()).whole_seconds().max(0);
    if seconds < 60 {
        state.t("ui.just_now").to_string()
    } else if seconds < 3600 {
        state.f("ui.minutes", &[("n", &(seconds / 60))])
    } else if seconds < 86_400 {
        state.f("ui.hours", &[("n", &(seconds / 3600))])
    } else {
        state.f("ui.days", &[("n", &(seconds / 86_400))])
    }
}

fn status_bar(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    let (link, bad) = link_text(state);
    let unsent = state.unsent();
    let attention: u64 = state
        .counts
        .outbox
        .iter()
        .filter(|(st, _)| {
            matches!(
                st,
                crate::store::OutboxState::Conflict | crate::store::OutboxState::Failed
            )
        })
        .map(|(_, n)| n)
        .sum();
    let synced = match state.counts.last_pull {
        Some(at) => state.f("ui.synced", &[("age", &age(state, at))]),
        None => state.t("ui.synced_never").to_string(),
    };
    let mut spans = vec![
        Span::styled(
            format!(" {} ", text::fit(&state.setting.profile, 14, state.ascii)),
            s.title,
        ),
        // The host is the first thing to go on a narrow terminal.
        Span::raw(if area.width >= 100 {
            format!("{} ", text::fit(&state.setting.host, 28, state.ascii))
        } else {
            String::new()
        }),
        Span::styled(format!("[{link}] "), if bad { s.error } else { s.ok }),
        Span::styled(
            state.f("ui.outbox_count", &[("n", &unsent)]),
            if unsent > 0 { s.pending } else { s.base },
        ),
    ];
    if attention > 0 {
        spans.push(Span::styled(
            format!(" {}", state.f("ui.attention", &[("n", &attention)])),
            s.error,
        ));
    }
    spans.push(Span::raw(format!(" · {synced}")));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(s.muted.patch(Style::default())),
        area,
    );
}

/// The keys that work here, most useful first, as many as fit.
fn key_bar(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    use unicode_width::UnicodeWidthStr;
    let mut spans: Vec<Span> = Vec::new();
    let mut used = 0usize;
    let width = usize::from(area.width);
    let mut push = |key: String, label: &str, spans: &mut Vec<Span>| -> bool {
        let needed = key.width() + 1 + label.width() + 2;
        if used + needed > width {
            return false;
        }
        used += needed;
        spans.push(Span::styled(key, s.key));
        spans.push(Span::raw(format!(" {label}  ")));
        true
    };
    let hints: Vec<(String, String)> = popup::key_hints(state);
    if !hints.is_empty() {
        for (key, label) in hints {
            if !push(key, &label, &mut spans) {
                break;
            }
        }
    } else {
        let context = state.screen.context();
        let here: Vec<_> = SPECS
            .iter()
            .filter(|spec| {
                spec.in_bar
                    && (spec.context == context || spec.context == super::command::Context::Global)
            })
            .filter(|spec| unavailable(state, spec.command).is_none())
            .collect();
        // The screen's own keys first, then the global ones.
        let mut ordered: Vec<_> = here.iter().filter(|s| s.context == context).collect();
        ordered.extend(here.iter().filter(|s| s.context != context));
        for spec in ordered {
            let Some(key) = state
                .keymap
                .keys_of(spec.context, spec.command)
                .into_iter()
                .next()
            else {
                continue;
            };
            if !push(
                key.to_string(),
                state.t(&spec.command.bar_key()),
                &mut spans,
            ) {
                break;
            }
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
