//! Popups over the screen: the help, pickers (and the palette), a
//! confirmation, the text editor.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::text::{cell, clean, fit};
use super::theme::{Styles, borders, marker};
use crate::console::command::SPECS;
use crate::console::state::{Picker, Popup, State};
use crate::console::update::unavailable;
use crate::domain::text::fold;

fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

fn frame_block<'a>(state: &State, title: String) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_set(borders(state.ascii))
        .title(format!(" {} ", clean(&title)))
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    match &state.popup {
        None => {}
        Some(Popup::Help { filter, scroll }) => help(frame, area, state, s, filter, *scroll),
        Some(Popup::Picker(picker)) => draw_picker(frame, area, state, s, picker),
        Some(Popup::Confirm(confirm)) => {
            let width = area.width.saturating_sub(4).min(70);
            let lines = super::textwrap_simple(
                &confirm.question,
                usize::from(width.saturating_sub(2)),
                state.ascii,
            );
            let height = (lines.len() as u16 + 4).min(area.height);
            let r = centred(area, width, height);
            let mut text: Vec<Line> = lines.into_iter().map(Line::raw).collect();
            text.push(Line::raw(""));
            text.push(Line::styled(state.t("confirm.keys"), s.key));
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(text).block(frame_block(state, state.t("confirm.title").into())),
                r,
            );
        }
        Some(Popup::Editor(editor)) => {
            let r = centred(
                area,
                area.width.saturating_sub(4).min(100),
                area.height.saturating_sub(2),
            );
            frame.render_widget(Clear, r);
            let title = if editor.confirm_discard {
                state.t("editor.discard").to_string()
            } else {
                editor.title.clone()
            };
            let block = frame_block(state, title);
            let inner = block.inner(r);
            frame.render_widget(block, r);
            frame.render_widget(&editor.text, inner);
            if let Some(picker) = &editor.templates {
                draw_picker(frame, r, state, s, picker);
            }
        }
    }
}

/// Where a picker goes in the body `area`.
pub fn picker_area(area: Rect, picker: &Picker) -> Rect {
    let width = area.width.saturating_sub(4).min(72);
    // As tall as its items (and the filter line and borders), up to 18.
    let wanted = picker.shown.len().max(1) as u16 + 3;
    let height = area.height.saturating_sub(2).min(18).min(wanted);
    centred(area, width, height)
}

fn draw_picker(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles, picker: &Picker) {
    let r = picker_area(area, picker);
    frame.render_widget(Clear, r);
    let block = frame_block(state, picker.title.clone());
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let w = usize::from(inner.width);
    let mut lines = vec![Line::styled(
        fit(&format!("> {}_", picker.filter), w, state.ascii),
        s.key,
    )];
    let rows = usize::from(inner.height).saturating_sub(1).max(1);
    let top = picker.selected.saturating_sub(rows - 1);
    if picker.shown.is_empty() {
        lines.push(Line::styled(state.t("picker.none"), s.muted));
    }
    for (n, index) in picker.shown.iter().enumerate().skip(top).take(rows) {
        let Some(item) = picker.items.get(*index) else {
            continue;
        };
        let selected = n == picker.selected;
        let label_width = (w / 2).max(10).min(w.saturating_sub(2));
        let text = format!(
            "{} {} {}",
            if selected { marker(state.ascii) } else { " " },
            cell(&item.label, label_width, state.ascii),
            clean(&item.detail)
        );
        let line = Line::raw(fit(&text, w, state.ascii));
        lines.push(if selected {
            line.style(s.selected)
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn help(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles, filter: &str, scroll: usize) {
    let r = centred(area, area.width.min(100), area.height);
    frame.render_widget(Clear, r);
    let block = frame_block(state, state.t("help.title").to_string());
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let w = usize::from(inner.width);
    let context = state.screen.context();
    let wanted = fold(filter);
    let mut lines = vec![Line::styled(
        fit(
            &format!("{}{}{filter}_", state.t("help.filter"), state.t("ui.colon")),
            w,
            state.ascii,
        ),
        s.key,
    )];
    for spec in SPECS.iter().filter(|spec| {
        spec.context == context || spec.context == crate::console::command::Context::Global
    }) {
        let keys: Vec<String> = state
            .keymap
            .keys_of(spec.context, spec.command)
            .iter()
            .map(ToString::to_string)
            .collect();
        let name = spec.command.name();
        let description = state.t(&spec.command.help_key());
        let why = unavailable(state, spec.command).map(|k| state.t(k));
        let haystack = fold(&format!("{} {name} {description}", keys.join(" ")));
        if !wanted.is_empty() && !haystack.contains(&wanted) {
            continue;
        }
        let mut spans = vec![
            Span::styled(cell(&keys.join(" "), 14, state.ascii), s.key),
            Span::raw(cell(&format!(":{name}"), 16, state.ascii)),
            Span::raw(description.to_string()),
        ];
        if let Some(why) = why {
            spans.push(Span::styled(format!(" ({why})"), s.muted));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    for key in ["help.search_language", "help.countdown", "help.marks"] {
        lines.push(Line::styled(state.t(key), s.muted));
    }
    let lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The keys a popup or the filter takes, for the key bar.
pub fn key_hints(state: &State) -> Vec<(String, String)> {
    let pair = |k: &str, key: &str| (k.to_string(), state.t(key).to_string());
    match &state.popup {
        Some(Popup::Help { .. }) => vec![
            pair("Esc", "hint.close"),
            pair("Up/Down", "hint.scroll"),
            pair("abc", "hint.filter"),
        ],
        Some(Popup::Picker(_)) => vec![
            pair("Enter", "hint.choose"),
            pair("Esc", "hint.cancel"),
            pair("Up/Down", "hint.move"),
            pair("abc", "hint.filter"),
        ],
        Some(Popup::Confirm(_)) => vec![pair("y/o", "hint.yes"), pair("n/Esc", "hint.no")],
        Some(Popup::Editor(_)) => vec![
            pair("Ctrl-S", "hint.send"),
            pair("Esc", "hint.cancel"),
            pair("Ctrl-T", "hint.templates"),
            pair("Ctrl-E", "hint.external"),
        ],
        None if state.screen == crate::console::state::Screen::Intake => {
            super::intake_key_hints(state)
        }
        None if state.screen == crate::console::state::Screen::Receipt => {
            super::receipt_key_hints(state)
        }
        None if state.list.editing && state.screen == crate::console::state::Screen::Queues => {
            vec![
                pair("Enter", "hint.keep_filter"),
                pair("Esc", "hint.clear_filter"),
                pair("Up/Down", "hint.move"),
            ]
        }
        None => Vec::new(),
    }
}
