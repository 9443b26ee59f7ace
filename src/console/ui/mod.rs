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
use super::state::{Link, Screen, Source, State, TAG_WIDTH};
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

/// A back-end's link as a symbol and the i18n key of its words (never
/// colour alone), and whether it is trouble.
fn link_mark(source: &Source) -> (&'static str, &'static str, bool) {
    match (&source.link, source.syncing) {
        (_, true) => ("~", "link.syncing", false),
        (Link::Starting, _) => ("?", "link.starting", false),
        (Link::Online, _) => ("+", "link.online", false),
        (Link::Offline, _) => ("-", "link.offline", true),
        (Link::Unreachable(_), _) => ("x", "link.unreachable", true),
        (Link::Login(_), _) => ("!", "link.login", true),
        (Link::Refusing(_), _) => ("!", "link.refusing", true),
        (Link::Busy, _) => ("=", "link.busy", false),
    }
}

/// The link in words and a symbol (never colour alone): the first
/// back-end's, or the first in trouble of the inbox's.
pub fn link_text(state: &State) -> (String, bool) {
    let source = state
        .sources
        .iter()
        .find(|s| link_mark(s).2)
        .unwrap_or(state.first());
    let (symbol, key, bad) = link_mark(source);
    (format!("{symbol} {}", state.t(key)), bad)
}

/// The source column's cell for a case or action of `source`, and a space;
/// nothing when the console shows one profile.
pub fn source_cell(state: &State, source: &str) -> String {
    if state.is_inbox() {
        format!(
            "{} ",
            text::cell(&state.source(source).tag, TAG_WIDTH, state.ascii)
        )
    } else {
        String::new()
    }
}

/// The source column's title, and a space, in the inbox.
pub fn source_cell_title(state: &State) -> String {
    if state.is_inbox() {
        format!(
            "{} ",
            text::cell(state.t("col.source"), TAG_WIDTH, state.ascii)
        )
    } else {
        String::new()
    }
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

/// Actions waiting for the agent's decision (conflicts, refusals), on
/// every back-end.
fn attention(state: &State) -> u64 {
    state
        .sources
        .iter()
        .flat_map(|s| &s.counts.outbox)
        .filter(|(st, _)| {
            matches!(
                st,
                crate::store::OutboxState::Conflict | crate::store::OutboxState::Failed
            )
        })
        .map(|(_, n)| n)
        .sum()
}

/// When the last pull finished: the oldest of the back-ends' (none while
/// one never synced).
fn synced(state: &State) -> String {
    let last = state
        .sources
        .iter()
        .map(|s| s.counts.last_pull)
        .min()
        .flatten();
    match last {
        Some(at) => state.f("ui.synced", &[("age", &age(state, at))]),
        None => state.t("ui.synced_never").to_string(),
    }
}

fn status_bar(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    if state.is_inbox() {
        inbox_status_bar(frame, area, state, s);
        return;
    }
    let (link, bad) = link_text(state);
    let unsent = state.unsent();
    let attention = attention(state);
    let synced = synced(state);
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

/// The inbox's status bar: each back-end by its tag, with its link's
/// symbol and its outbox count (`mairie + 2  ds x 0`); then, as room
/// allows, the first link in trouble in words, what needs the agent, and
/// the age of the oldest sync.
fn inbox_status_bar(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    use unicode_width::UnicodeWidthStr;
    let width = usize::from(area.width);
    let mut spans = vec![Span::raw(" ")];
    for (i, source) in state.sources.iter().enumerate() {
        let (symbol, _, bad) = link_mark(source);
        let unsent = source.unsent();
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(
            text::fit(&source.tag, TAG_WIDTH, state.ascii),
            s.title,
        ));
        spans.push(Span::styled(
            format!(" {symbol} "),
            if bad { s.error } else { s.ok },
        ));
        spans.push(Span::styled(
            unsent.to_string(),
            if unsent > 0 { s.pending } else { s.base },
        ));
    }
    let mut used: usize = spans.iter().map(|s| s.content.width()).sum();
    // What else fits, most needed first; shown in the order of the line.
    let trouble = state.sources.iter().find(|s| link_mark(s).2).map(|source| {
        let (symbol, key, _) = link_mark(source);
        format!(
            " · {symbol} {}{}{}",
            source.tag,
            state.t("ui.colon"),
            state.t(key)
        )
    });
    let attention = attention(state);
    let attention =
        (attention > 0).then(|| format!(" {}", state.f("ui.attention", &[("n", &attention)])));
    let synced = format!(" · {}", synced(state));
    let mut fits = |text: &Option<String>| match text {
        Some(t) if used + t.width() <= width => {
            used += t.width();
            true
        }
        _ => false,
    };
    let show_trouble = fits(&trouble);
    let show_attention = fits(&attention);
    let show_synced = fits(&Some(synced.clone()));
    if let (true, Some(t)) = (show_trouble, trouble) {
        spans.push(Span::styled(t, s.error));
    }
    if let (true, Some(a)) = (show_attention, attention) {
        spans.push(Span::styled(a, s.error));
    }
    if show_synced {
        spans.push(Span::raw(synced));
    }
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
