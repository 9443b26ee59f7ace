//! The dashboard: open cases by state, my resolved cases per day over two
//! weeks, the most overdue cases, the outbox at a glance.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph, Sparkline};

use super::text::{cell, fit};
use super::theme::{Styles, borders};
use crate::console::state::State;

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, s: &Styles) {
    let Some(data) = &state.dashboard else {
        frame.render_widget(Paragraph::new(format!(" {}", state.t("ui.loading"))), area);
        return;
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let [chart, trend] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(top);
    let block = |title: &str| {
        Block::default()
            .borders(Borders::ALL)
            .border_set(borders(state.ascii))
            .title(format!(" {title} "))
    };
    let bars: Vec<Bar> = data
        .by_state
        .iter()
        .map(|(label, n)| {
            Bar::default()
                .value(*n)
                .label(Line::raw(fit(label, 10, state.ascii)))
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .block(block(state.t("dash.by_state")))
            .data(BarGroup::default().bars(&bars))
            .bar_width(10)
            .bar_gap(1)
            .bar_set(super::theme::bars(state.ascii))
            .bar_style(s.title),
        chart,
    );
    let total: u64 = data.resolved_per_day.iter().sum();
    frame.render_widget(
        Sparkline::default()
            .block(block(&state.f("dash.resolved", &[("n", &total)])))
            .data(&data.resolved_per_day)
            .bar_set(super::theme::bars(state.ascii))
            .style(s.ok),
        trend,
    );
    let [late, outbox] =
        Layout::horizontal([Constraint::Percentage(70), Constraint::Percentage(30)]).areas(bottom);
    let width = usize::from(late.width.saturating_sub(2));
    let mut lines: Vec<Line> = data
        .overdue
        .iter()
        .map(|l| {
            let c = l.countdown(state.now, state.offset);
            Line::styled(
                fit(
                    &format!(
                        "{}{} {} {} {}",
                        super::source_cell(state, &l.source),
                        cell(&l.number, 10, state.ascii),
                        cell(&c.text(), 6, state.ascii),
                        cell(&l.citizen, 18, state.ascii),
                        l.summary
                    ),
                    width,
                    state.ascii,
                ),
                s.late,
            )
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::raw(state.t("dash.nothing_late")));
    }
    frame.render_widget(
        Paragraph::new(lines).block(block(state.t("dash.overdue"))),
        late,
    );
    // Every back-end's outbox together, by state.
    let mut outboxes: Vec<(crate::store::OutboxState, u64)> = Vec::new();
    for (st, n) in state.sources.iter().flat_map(|s| &s.counts.outbox) {
        match outboxes.iter_mut().find(|(seen, _)| seen == st) {
            Some((_, total)) => *total += n,
            None => outboxes.push((*st, *n)),
        }
    }
    let glance: Vec<Line> = outboxes
        .iter()
        .map(|(st, n)| Line::raw(format!("{n:>5} {}", super::outbox::state_name(state, *st))))
        .collect();
    let glance = if glance.is_empty() {
        vec![Line::raw(state.t("outbox.empty"))]
    } else {
        glance
    };
    frame.render_widget(
        Paragraph::new(glance).block(block(state.t("screen.outbox"))),
        outbox,
    );
}
