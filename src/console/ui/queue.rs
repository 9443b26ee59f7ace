//! The queues: a filter line, then only the visible rows of the list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::text::cell;
use super::theme::{Styles, marker};
use crate::app::view::CaseLine;
use crate::console::state::State;
use crate::store::Sort;

/// A column: its title key, its width (0: takes what is left), and the
/// smallest terminal width at which it shows.
struct Column {
    title: &'static str,
    width: usize,
    from: u16,
}

const COLUMNS: &[Column] = &[
    Column {
        title: "col.number",
        width: 10,
        from: 0,
    },
    Column {
        title: "col.priority",
        width: 2,
        from: 0,
    },
    Column {
        title: "col.state",
        width: 12,
        from: 0,
    },
    Column {
        title: "col.due",
        width: 6,
        from: 0,
    },
    Column {
        title: "col.citizen",
        width: 18,
        from: 0,
    },
    Column {
        title: "col.procedure",
        width: 20,
        from: 120,
    },
    Column {
        title: "col.summary",
        width: 0,
        from: 0,
    },
    Column {
        title: "col.assignee",
        width: 12,
        from: 100,
    },
    Column {
        title: "col.updated",
        width: 10,
        from: 140,
    },
];

/// Where each row comes from, in the inbox (before the number).
const SOURCE: Column = Column {
    title: "col.source",
    width: crate::console::state::TAG_WIDTH,
    from: 0,
};

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    let [info, header, rows] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    info_line(frame, info, state, s);
    let mut columns: Vec<&Column> = COLUMNS.iter().filter(|c| area.width >= c.from).collect();
    // The inbox's source column takes its room from the citizen's on a
    // narrow terminal: the summary keeps twenty cells at 80 columns.
    let narrow_citizen = state.is_inbox() && area.width < 100;
    if state.is_inbox() {
        columns.insert(0, &SOURCE);
    }
    let width_of = |c: &Column| match c.title {
        "col.citizen" if narrow_citizen => 15,
        _ => c.width,
    };
    let fixed: usize = columns.iter().map(|c| width_of(c) + 1).sum::<usize>() + 2;
    let rest = usize::from(area.width).saturating_sub(fixed).max(4);
    let widths: Vec<usize> = columns
        .iter()
        .map(|c| if c.width == 0 { rest } else { width_of(c) })
        .collect();
    let mut head = String::from("  ");
    for (c, w) in columns.iter().zip(&widths) {
        head.push_str(&cell(state.t(c.title), *w, state.ascii));
        head.push(' ');
    }
    frame.render_widget(Paragraph::new(Line::styled(head, s.header)), header);

    let list = &state.list;
    let height = usize::from(rows.height);
    if list.total == 0 && list.loaded {
        let key = if list.error.is_some() {
            "ui.search_error"
        } else if list.search.is_empty() {
            "ui.queue_empty"
        } else {
            "ui.no_match"
        };
        frame.render_widget(
            Paragraph::new(format!("  {}", state.t(key))).style(s.muted),
            rows,
        );
        return;
    }
    // The free words of the filter, folded, to highlight in the rows.
    let words: Vec<String> = list
        .search
        .split_whitespace()
        .filter(|w| !w.contains(':'))
        .map(crate::domain::text::fold)
        .collect();
    let mut lines = Vec::with_capacity(height);
    for index in list.top..list.top + height {
        if index >= list.total as usize {
            break;
        }
        let selected = index == list.selected;
        let Some(line) = list.line(index) else {
            lines.push(Line::styled(
                format!("  {}", state.t("ui.loading")),
                s.muted,
            ));
            continue;
        };
        lines.push(row(state, s, line, &columns, &widths, selected, &words));
    }
    frame.render_widget(Paragraph::new(lines), rows);
}

fn row<'a>(
    state: &State,
    s: &Styles,
    line: &CaseLine,
    columns: &[&Column],
    widths: &[usize],
    selected: bool,
    words: &[String],
) -> Line<'a> {
    let marked = state.list.marked.contains(&line.key());
    let lead = format!(
        "{}{}",
        if selected && !state.list.stale {
            marker(state.ascii)
        } else {
            " "
        },
        if marked { "*" } else { " " }
    );
    let countdown = line.countdown(state.now, state.offset);
    let mut spans = vec![Span::raw(lead)];
    for (c, w) in columns.iter().zip(widths) {
        let text = match c.title {
            "col.number" => {
                let flag = if line.attention {
                    "!"
                } else if line.pending > 0 {
                    "*"
                } else {
                    ""
                };
                format!("{}{flag}", line.number)
            }
            "col.source" => state.source(&line.source).tag.clone(),
            // A back-end without priorities (Démarches Simplifiées) gives 0.
            "col.priority" if line.priority == 0 => String::new(),
            "col.priority" => format!("P{}", line.priority),
            "col.state" => line.state_label.clone(),
            "col.due" => countdown.text(),
            "col.citizen" => line.citizen.clone(),
            "col.procedure" => line.procedure_label.clone(),
            "col.summary" => line.summary.clone(),
            "col.assignee" => {
                if line.assignee.is_empty() {
                    "-".into()
                } else {
                    line.assignee.clone()
                }
            }
            "col.updated" => line
                .updated
                .map(|at| at.date().to_string())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let style = if c.title == "col.due" && countdown.is_late() {
            s.late
        } else if c.title == "col.number" && line.pending > 0 {
            s.pending
        } else {
            s.base
        };
        let shown = cell(&text, *w, state.ascii);
        let searchable = matches!(
            c.title,
            "col.number" | "col.citizen" | "col.summary" | "col.procedure"
        );
        if searchable && !words.is_empty() {
            spans.extend(highlighted(&shown, words, style, s.hit));
        } else {
            spans.push(Span::styled(shown, style));
        }
        spans.push(Span::raw(" "));
    }
    let mut out = Line::from(spans);
    if state.list.stale {
        // The old list's rows, until the new answer: dimmed, not selectable.
        out = out.style(s.muted);
    } else if selected {
        out = out.style(s.selected);
    } else if marked {
        out = out.style(s.marked);
    }
    out
}

/// A cell cut in spans, the search words found in it in the hit style.
fn highlighted<'a>(
    text: &str,
    words: &[String],
    style: ratatui::style::Style,
    hit: ratatui::style::Style,
) -> Vec<Span<'a>> {
    let marks = super::text::matches(text, words);
    let mut spans = Vec::new();
    let mut current = String::new();
    let mut current_hit = false;
    for (c, is_hit) in text.chars().zip(marks) {
        if is_hit != current_hit && !current.is_empty() {
            let style = if current_hit { style.patch(hit) } else { style };
            spans.push(Span::styled(std::mem::take(&mut current), style));
        }
        current_hit = is_hit;
        current.push(c);
    }
    if !current.is_empty() {
        spans.push(Span::styled(
            current,
            if current_hit { style.patch(hit) } else { style },
        ));
    }
    spans
}

fn info_line(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    let list = &state.list;
    let width = usize::from(area.width);
    if let Some(message) = &state.message {
        let style = if message.error { s.error } else { s.ok };
        frame.render_widget(
            Paragraph::new(Line::styled(
                super::text::fit(&message.text, width, state.ascii),
                style,
            )),
            area,
        );
        return;
    }
    let sort = match list.sort {
        Sort::Urgency => "sort.urgency",
        Sort::Number => "sort.number",
        Sort::Priority => "sort.priority",
        Sort::State => "sort.state",
        Sort::Updated => "sort.updated",
    };
    let arrow = match (list.descending, state.ascii) {
        (false, false) => "↑",
        (true, false) => "↓",
        (false, true) => "^",
        (true, true) => "v",
    };
    let count = if !list.loaded {
        state.t("ui.loading").to_string()
    } else if list.fuzzy {
        state.f("ui.count_fuzzy", &[("n", &list.total)])
    } else {
        state.f("ui.count", &[("n", &list.total)])
    };
    let marked = if list.marked.is_empty() {
        String::new()
    } else {
        format!(" · {}", state.f("ui.marked", &[("n", &list.marked.len())]))
    };
    let right = format!(
        "{count}{marked} · {} {}{arrow} ",
        state.t("ui.sort"),
        state.t(sort)
    );
    let left_width = width.saturating_sub(right.width() + 1);
    let (prefix, filter_style) = if list.editing {
        ("/", s.key)
    } else {
        ("/", s.muted)
    };
    let left = if list.search.is_empty() && !list.editing {
        format!(" {}", state.t("ui.filter_hint"))
    } else if let Some(error) = &list.error {
        format!(" {prefix}{} — {error}", list.search)
    } else {
        let cursor = if list.editing { "_" } else { "" };
        format!(" {prefix}{}{cursor}", list.search)
    };
    let style = if list.error.is_some() {
        s.error
    } else {
        filter_style
    };
    let line = Line::from(vec![
        Span::styled(super::text::cell(&left, left_width, state.ascii), style),
        Span::raw(" "),
        Span::styled(right, s.muted),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}
