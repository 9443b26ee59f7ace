//! Styles: a 16-colour default that every terminal shows, and a monochrome
//! one for NO_COLOR that uses no colour at all (only bold, underline and
//! reverse video), so that a colour reset can never hide the selection.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

use crate::console::state::Theme;

pub struct Styles {
    pub base: Style,
    pub title: Style,
    pub header: Style,
    pub selected: Style,
    pub marked: Style,
    pub late: Style,
    pub muted: Style,
    pub error: Style,
    pub ok: Style,
    pub warn: Style,
    pub key: Style,
    pub public: Style,
    pub internal: Style,
    pub pending: Style,
    /// Search words found in a row (underlined as well as coloured).
    pub hit: Style,
}

pub fn styles(theme: Theme) -> Styles {
    let plain = Style::default();
    match theme {
        Theme::Colour => Styles {
            base: plain,
            title: plain.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            header: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            selected: plain.add_modifier(Modifier::REVERSED),
            marked: plain.fg(Color::Yellow),
            late: plain.fg(Color::Red).add_modifier(Modifier::BOLD),
            muted: plain.fg(Color::DarkGray),
            error: plain.fg(Color::Red),
            ok: plain.fg(Color::Green),
            warn: plain.fg(Color::Yellow),
            key: plain.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            public: plain.fg(Color::Green),
            internal: plain.fg(Color::Magenta),
            pending: plain.fg(Color::Yellow),
            hit: plain
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        },
        Theme::Mono => Styles {
            base: plain,
            title: plain.add_modifier(Modifier::BOLD),
            header: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            selected: plain.add_modifier(Modifier::REVERSED),
            marked: plain.add_modifier(Modifier::BOLD),
            late: plain.add_modifier(Modifier::BOLD),
            muted: plain,
            error: plain.add_modifier(Modifier::BOLD),
            ok: plain,
            warn: plain.add_modifier(Modifier::BOLD),
            key: plain.add_modifier(Modifier::BOLD),
            public: plain,
            internal: plain,
            pending: plain.add_modifier(Modifier::ITALIC),
            hit: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        },
    }
}

/// Box drawing, or plain ASCII for terminals without it.
pub fn borders(ascii: bool) -> border::Set<'static> {
    if ascii {
        border::Set {
            top_left: "+",
            top_right: "+",
            bottom_left: "+",
            bottom_right: "+",
            vertical_left: "|",
            vertical_right: "|",
            horizontal_top: "-",
            horizontal_bottom: "-",
        }
    } else {
        border::PLAIN
    }
}

/// The selection marker, shown beside reverse video.
pub fn marker(ascii: bool) -> &'static str {
    if ascii { ">" } else { "▶" }
}

/// Bars for charts: block characters, or `#` and `=` in ASCII mode.
pub fn bars(ascii: bool) -> ratatui::symbols::bar::Set<'static> {
    if ascii {
        ratatui::symbols::bar::Set {
            full: "#",
            seven_eighths: "#",
            three_quarters: "#",
            five_eighths: "=",
            half: "=",
            three_eighths: "=",
            one_quarter: ".",
            one_eighth: ".",
            empty: " ",
        }
    } else {
        ratatui::symbols::bar::NINE_LEVELS
    }
}
