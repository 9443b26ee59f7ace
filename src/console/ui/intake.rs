//! The intake form: one field a row, the focused one marked, its dropdown
//! (citizen matches, procedures, queues) opened under it; what stops the
//! case being queued at the top. The rows scroll to keep the focus in view
//! (a new citizen's fields make the form taller than 80x24).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::text::{cell, clean, fit};
use super::textwrap_simple;
use super::theme::{Styles, marker};
use crate::console::intake::form::{Chosen, DROPDOWN_ROWS, Field, Form, LineInput};
use crate::console::state::{PickValue, Picker, State};
use crate::domain::Citizen;

/// The label column, marker included.
const LABEL: usize = 16;
/// Rows of the description, and while it is being written.
const DESCRIPTION_ROWS: usize = 3;
const DESCRIPTION_ROWS_FOCUSED: usize = 5;

/// A row of the form, and the field it belongs to.
struct Row<'a> {
    line: Line<'a>,
    field: Option<Field>,
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    let Some(form) = state.intake.as_deref() else {
        return;
    };
    let width = usize::from(area.width);
    let top_lines = notices(state, form, width, s);
    let notice_height = (top_lines.len() as u16).min(area.height / 2);
    let notices_area = Rect {
        height: notice_height,
        ..area
    };
    frame.render_widget(Paragraph::new(top_lines), notices_area);
    let body = Rect {
        y: area.y + notice_height,
        height: area.height - notice_height,
        ..area
    };
    let rows = rows(state, form, width, s);
    let height = usize::from(body.height);
    // The focused field and its dropdown in view, the form's top when it fits.
    let first = rows.iter().position(|r| r.field == Some(form.focus));
    let last = rows.iter().rposition(|r| r.field == Some(form.focus));
    let top = match (first, last) {
        (Some(first), Some(last)) if last + 1 > height => (last + 1 - height).min(first),
        _ => 0,
    };
    let description_at = rows
        .iter()
        .position(|r| r.field == Some(Field::Description));
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(top)
        .take(height)
        .map(|r| r.line)
        .collect();
    frame.render_widget(Paragraph::new(lines), body);
    // The description being written is the text editor itself.
    if form.focus == Field::Description
        && let Some(at) = description_at
        && at >= top
        && at < top + height
    {
        let y = body.y + (at - top) as u16;
        let rows = (DESCRIPTION_ROWS_FOCUSED as u16).min(body.bottom() - y);
        let x = LABEL as u16;
        let r = Rect {
            x: body.x + x.min(body.width),
            y,
            width: body.width.saturating_sub(x),
            height: rows,
        };
        frame.render_widget(&form.description, r);
    }
}

/// Above the fields: the discard question, what is missing, the catalogue
/// not loading.
fn notices<'a>(state: &State, form: &Form, width: usize, s: &Styles) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    let mut say = |text: &str, style: Style| {
        for l in textwrap_simple(&clean(text), width.saturating_sub(1), state.ascii) {
            lines.push(Line::styled(format!(" {l}"), style));
        }
    };
    if form.confirm_discard {
        say(state.t("ui.intake_discard"), s.warn);
    }
    if form.sending {
        say(state.t("ui.intake_sending"), s.muted);
    }
    if let Some(e) = &form.load_error {
        say(e, s.error);
    }
    for e in &form.errors {
        let bullet = if state.ascii { "x" } else { "✗" };
        say(&format!("{bullet} {e}"), s.error);
    }
    lines
}

fn rows<'a>(state: &State, form: &Form, width: usize, s: &Styles) -> Vec<Row<'a>> {
    let mut rows: Vec<Row> = Vec::new();
    let value_width = width.saturating_sub(LABEL + 1);
    for field in form.fields() {
        let focused = form.focus == field;
        let mut push = |line: Line<'a>| {
            rows.push(Row {
                line,
                field: Some(field),
            })
        };
        let head = label(state, field, focused, s);
        match field {
            Field::Citizen => {
                let mut spans = vec![head];
                if focused {
                    spans.extend(input(state, &form.query, value_width, s));
                } else {
                    spans.push(chosen(state, form, value_width, s));
                }
                push(Line::from(spans));
                if focused {
                    for line in citizen_dropdown(state, form, width, s) {
                        push(Line::from(line));
                    }
                }
                // The warning stays in sight of the citizen's name.
                if form.chosen == Chosen::New && !form.duplicates.is_empty() {
                    let names: Vec<String> = form.duplicates.iter().map(Citizen::name).collect();
                    let text = state.f(
                        "ui.intake_duplicate_warning",
                        &[("names", &names.join(", "))],
                    );
                    let bang = if state.ascii { "!" } else { "⚠" };
                    push(Line::styled(
                        fit(&format!("  {bang} {text}"), width, state.ascii),
                        s.warn,
                    ));
                }
            }
            Field::FirstName
            | Field::LastName
            | Field::Email
            | Field::Phone
            | Field::Street
            | Field::Zip
            | Field::City
            | Field::Summary
            | Field::Due => {
                let mut spans = vec![head];
                if let Some(value) = form.input(field) {
                    if focused {
                        spans.extend(input(state, value, value_width, s));
                    } else {
                        spans.push(Span::raw(fit(&value.text, value_width, state.ascii)));
                    }
                }
                if field == Field::Due {
                    spans.push(Span::styled(due_hint(state, form), s.muted));
                }
                push(Line::from(spans));
            }
            Field::Duplicates => {
                push(Line::from(vec![
                    head,
                    Span::styled(
                        fit(
                            state.t("ui.intake_duplicates_hint"),
                            value_width,
                            state.ascii,
                        ),
                        s.muted,
                    ),
                ]));
                for (i, c) in form.duplicates.iter().enumerate() {
                    let selected = focused && i == form.duplicate_selected;
                    push(Line::from(citizen_line(state, c, selected, width, s)));
                }
            }
            Field::Procedure => {
                let chosen = form.procedure.as_ref().map(|p| {
                    let mut text = p.label.clone();
                    if let Some(days) = p.due_days {
                        text.push_str(&state.f("ui.intake_legal_days", &[("days", &days)]));
                    }
                    text
                });
                picker_rows(
                    state,
                    &form.procedure_picker,
                    chosen,
                    head,
                    focused,
                    form.loaded,
                    width,
                    s,
                )
                .into_iter()
                .for_each(&mut push);
            }
            Field::Assign => {
                let chosen = form
                    .assign_picker
                    .items
                    .iter()
                    .find(|i| i.value == form.assign)
                    .map(|i| match &i.value {
                        PickValue::Group(_) => {
                            state.f("ui.intake_group_queue", &[("group", &i.label)])
                        }
                        _ => i.label.clone(),
                    });
                picker_rows(
                    state,
                    &form.assign_picker,
                    chosen,
                    head,
                    focused,
                    true,
                    width,
                    s,
                )
                .into_iter()
                .for_each(&mut push);
            }
            Field::Description => {
                let n = if focused {
                    DESCRIPTION_ROWS_FOCUSED
                } else {
                    DESCRIPTION_ROWS
                };
                let text = form.description.lines();
                let empty = text.iter().all(|l| l.trim().is_empty());
                for i in 0..n {
                    let mut spans = vec![if i == 0 {
                        head.clone()
                    } else {
                        Span::raw(" ".repeat(LABEL))
                    }];
                    if !focused {
                        if empty && i == 0 {
                            spans.push(Span::styled(state.t("ui.intake_empty"), s.muted));
                        } else if let Some(l) = text.get(i) {
                            let more = i + 1 == n && text.len() > n;
                            let l = if more { format!("{l} …") } else { l.clone() };
                            spans.push(Span::raw(fit(&l, value_width, state.ascii)));
                        }
                    }
                    push(Line::from(spans));
                }
            }
            Field::Channel => {
                let mut spans = vec![head];
                if form.channels.is_empty() {
                    spans.push(Span::raw(clean(&form.channel)));
                }
                for (value, name) in &form.channels {
                    spans.extend(option(&clean(name), *value == form.channel, focused, s));
                }
                push(Line::from(spans));
            }
            Field::Priority => {
                let mut spans = vec![head];
                for p in 1..=4u8 {
                    let text = format!("{p} {}", state.t(&format!("priority.{p}")));
                    spans.extend(option(&text, p == form.priority, focused, s));
                }
                push(Line::from(spans));
            }
        }
    }
    rows
}

fn label<'a>(state: &State, field: Field, focused: bool, s: &Styles) -> Span<'a> {
    let indent = if Field::CITIZEN.contains(&field) || field == Field::Duplicates {
        "  "
    } else {
        ""
    };
    let m = if focused { marker(state.ascii) } else { " " };
    let text = cell(
        &format!("{m} {indent}{}", state.t(field.label_key())),
        LABEL,
        state.ascii,
    );
    Span::styled(text, if focused { s.selected } else { s.header })
}

/// One choice among a few on the same row; the chosen one in brackets
/// (not only in colour).
fn option<'a>(text: &str, chosen: bool, focused: bool, s: &Styles) -> Vec<Span<'a>> {
    if chosen {
        vec![
            Span::styled(
                format!("[{text}]"),
                if focused { s.selected } else { s.key },
            ),
            Span::raw(" "),
        ]
    } else {
        vec![Span::raw(format!(" {text}  "))]
    }
}

/// A line being typed, its cursor shown as a reversed cell; a long text
/// shows its end, where the cursor usually is.
fn input<'a>(state: &State, value: &LineInput, width: usize, s: &Styles) -> Vec<Span<'a>> {
    let chars: Vec<char> = clean(&value.text).chars().collect();
    let cursor = value.cursor.min(chars.len());
    let mut start = 0;
    while start < cursor && chars[start..cursor].iter().collect::<String>().width() + 1 > width {
        start += 1;
    }
    let before: String = chars[start..cursor].iter().collect();
    let at: String = chars.get(cursor).map_or(" ".into(), |c| c.to_string());
    let room = width.saturating_sub(before.width() + at.width());
    let after: String = chars.iter().skip(cursor + 1).collect();
    vec![
        Span::raw(before),
        Span::styled(at, s.base.add_modifier(Modifier::REVERSED)),
        Span::raw(fit(&after, room, state.ascii)),
    ]
}

/// The citizen field when it has not the focus: who was chosen.
fn chosen<'a>(state: &State, form: &Form, width: usize, s: &Styles) -> Span<'a> {
    match &form.chosen {
        Chosen::Known(c) => Span::raw(fit(&citizen_text(state, c), width, state.ascii)),
        Chosen::New => Span::styled(
            fit(state.t("ui.intake_new_citizen_below"), width, state.ascii),
            s.key,
        ),
        Chosen::Nobody if form.query.is_blank() => {
            Span::styled(state.t("ui.intake_empty"), s.muted)
        }
        Chosen::Nobody => Span::styled(
            fit(
                &state.f("ui.intake_not_chosen", &[("typed", &form.query.text)]),
                width,
                state.ascii,
            ),
            s.warn,
        ),
    }
}

/// A known citizen in one line: name, town, and enough of the contact
/// details to tell two namesakes apart without showing them to the room.
fn citizen_text(state: &State, c: &Citizen) -> String {
    let mut parts = vec![c.name()];
    let town = format!("{} {}", c.zip, c.city).trim().to_string();
    if !town.is_empty() {
        parts.push(town);
    }
    if let Some(email) = partial_email(&c.email, state.ascii) {
        parts.push(email);
    }
    if let Some(phone) = partial_phone(&c.phone, state.ascii) {
        parts.push(phone);
    }
    parts.join(" · ")
}

/// `j•••@example.fr`: the first letter and the domain.
fn partial_email(email: &str, ascii: bool) -> Option<String> {
    let (user, domain) = email.trim().split_once('@')?;
    let first = user.chars().next()?;
    let dots = if ascii { "***" } else { "•••" };
    Some(format!("{first}{dots}@{domain}"))
}

/// `•• 78`: the last two digits.
fn partial_phone(phone: &str, ascii: bool) -> Option<String> {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return None;
    }
    let last: String = digits[digits.len() - 2..].iter().collect();
    Some(format!("{} {last}", if ascii { "**" } else { "••" }))
}

fn citizen_line<'a>(
    state: &State,
    c: &Citizen,
    selected: bool,
    width: usize,
    s: &Styles,
) -> Span<'a> {
    let m = if selected { marker(state.ascii) } else { " " };
    let text = fit(
        &format!("{}{m} {}", " ".repeat(LABEL - 2), citizen_text(state, c)),
        width,
        state.ascii,
    );
    if selected {
        Span::styled(text, s.selected)
    } else {
        Span::raw(text)
    }
}

/// Under the citizen search: the matches, then "new citizen".
fn citizen_dropdown<'a>(state: &State, form: &Form, width: usize, s: &Styles) -> Vec<Span<'a>> {
    let pad = " ".repeat(LABEL);
    let mut out = Vec::new();
    let hint = if form.query.text.trim().chars().count() < 2 {
        Some("ui.intake_search_hint")
    } else if form.searched && form.matches.is_empty() {
        Some("ui.intake_no_match")
    } else {
        None
    };
    if let Some(key) = hint {
        out.push(Span::styled(
            fit(&format!("{pad}{}", state.t(key)), width, state.ascii),
            s.muted,
        ));
    }
    for (i, c) in form.matches.iter().take(DROPDOWN_ROWS).enumerate() {
        out.push(citizen_line(state, c, i == form.match_selected, width, s));
    }
    let selected = form.match_selected >= form.matches.len();
    let m = if selected { marker(state.ascii) } else { " " };
    let text = fit(
        &format!(
            "{}{m} + {}",
            " ".repeat(LABEL - 2),
            state.t("ui.intake_new_citizen")
        ),
        width,
        state.ascii,
    );
    out.push(if selected {
        Span::styled(text, s.selected)
    } else {
        Span::styled(text, s.key)
    });
    out
}

/// A picker field: what was chosen, or (with the focus) the filter being
/// typed and the matches under it.
#[allow(clippy::too_many_arguments)]
fn picker_rows<'a>(
    state: &State,
    picker: &Picker,
    chosen: Option<String>,
    head: Span<'a>,
    focused: bool,
    loaded: bool,
    width: usize,
    s: &Styles,
) -> Vec<Line<'a>> {
    let value_width = width.saturating_sub(LABEL + 1);
    let mut out = Vec::new();
    if !focused {
        let value = match chosen {
            Some(text) => Span::raw(fit(&text, value_width, state.ascii)),
            None => Span::styled(state.t("ui.intake_empty"), s.muted),
        };
        out.push(Line::from(vec![head, value]));
        return out;
    }
    let mut first = vec![head];
    if picker.filter.is_empty() {
        let text = chosen.unwrap_or_default();
        first.push(Span::raw(fit(
            &text,
            value_width.saturating_sub(1),
            state.ascii,
        )));
        first.push(Span::styled(" ", s.base.add_modifier(Modifier::REVERSED)));
        first.push(Span::styled(
            format!("  {}", state.t("ui.intake_type_to_filter")),
            s.muted,
        ));
    } else {
        first.extend(input(
            state,
            &LineInput::new(&picker.filter),
            value_width,
            s,
        ));
    }
    out.push(Line::from(first));
    let pad = " ".repeat(LABEL - 2);
    if !loaded {
        out.push(Line::styled(
            format!("{pad}  {}", state.t("ui.loading")),
            s.muted,
        ));
        return out;
    }
    if picker.shown.is_empty() {
        out.push(Line::styled(
            format!("{pad}  {}", state.t("picker.none")),
            s.muted,
        ));
    }
    let top = picker.selected.saturating_sub(DROPDOWN_ROWS - 1);
    for (n, index) in picker
        .shown
        .iter()
        .enumerate()
        .skip(top)
        .take(DROPDOWN_ROWS)
    {
        let Some(item) = picker.items.get(*index) else {
            continue;
        };
        let selected = n == picker.selected;
        let m = if selected { marker(state.ascii) } else { " " };
        let text = fit(
            &format!("{pad}{m} {}  {}", clean(&item.label), clean(&item.detail)),
            width,
            state.ascii,
        );
        out.push(if selected {
            Line::styled(text, s.selected)
        } else {
            Line::raw(text)
        });
    }
    out
}

fn due_hint(state: &State, form: &Form) -> String {
    match (&form.procedure, &form.due_proposed) {
        (Some(p), Some((_, text))) if *text == form.due.text.trim() => {
            let days = p.due_days.unwrap_or_default();
            format!(
                "  {}",
                state.f("ui.intake_due_proposed", &[("days", &days)])
            )
        }
        _ => format!("  {}", state.t("ui.intake_due_format")),
    }
}

/// The form's keys, for the key bar.
pub fn key_hints(state: &State) -> Vec<(String, String)> {
    let pair = |k: &str, key: &str| (k.to_string(), state.t(key).to_string());
    vec![
        pair("Ctrl-S", "hint.intake_queue"),
        pair("Tab", "hint.intake_next"),
        pair("Enter", "hint.choose"),
        pair("Esc", "hint.intake_leave"),
        pair("S-Tab", "hint.intake_previous"),
    ]
}
