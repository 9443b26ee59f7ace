//! Snapshots of every screen (80x24 and 160x48, French and English, colour
//! and NO_COLOR) with the clock fixed, and a property test that draws
//! random states with hostile data at random sizes.

use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui_textarea::TextArea;
use unicode_width::UnicodeWidthStr;

use crate::console::fixture::{case, fixture};
use crate::console::state::*;
use crate::console::update::filter_picker;
use crate::console::worker::Intent;
use crate::domain::Stage;
use crate::i18n::Lang;

fn render(state: &State, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|frame| super::draw(frame, state))
        .expect("draw");
    terminal.backend().buffer().clone()
}

/// The screen as text, one line per row.
fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut x = 0;
        let mut row = String::new();
        while x < area.width {
            let symbol = buffer[(x, y)].symbol();
            row.push_str(symbol);
            x += symbol.width().max(1) as u16;
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

#[derive(Clone, Copy, Debug)]
enum Shot {
    Queues,
    Filtering,
    Case,
    CaseRevealed,
    Outbox,
    Dashboard,
    Help,
    StatePicker,
    Confirm,
    Editor,
    /// Locked over a case with its contact details shown, a draft open and
    /// a message: none of it drawn.
    Locked,
    Audit,
    /// The intake form just opened (`N`).
    IntakeEmpty,
    /// A known citizen chosen, a procedure, a summary and a description.
    IntakeKnown,
    /// A new citizen being recorded, nearly identical to a known one.
    IntakeDuplicate,
    /// What the write thread refused, at the top of the form.
    IntakeRefused,
    /// The receipt of the case just queued.
    Receipt,
}

const SHOTS: [Shot; 17] = [
    Shot::Queues,
    Shot::Filtering,
    Shot::Case,
    Shot::CaseRevealed,
    Shot::Outbox,
    Shot::Dashboard,
    Shot::Help,
    Shot::StatePicker,
    Shot::Confirm,
    Shot::Editor,
    Shot::Locked,
    Shot::Audit,
    Shot::IntakeEmpty,
    Shot::IntakeKnown,
    Shot::IntakeDuplicate,
    Shot::IntakeRefused,
    Shot::Receipt,
];

/// The form opened from the queues, its catalogue answered, as `N` does.
fn intake_form(state: &mut State) -> &mut crate::console::intake::form::Form {
    use crate::console::intake::{IntakeMsg, on_msg, open};
    let mut fx = Vec::new();
    state.sources[0].reference.groups = vec![crate::domain::Group {
        id: "g1".into(),
        name: "État civil".into(),
    }];
    open(state, &mut fx);
    let catalogue = crate::console::fixture::catalogue(state.lang);
    on_msg(state, IntakeMsg::Catalogue(Ok(catalogue)), &mut fx);
    state.intake.as_deref_mut().expect("the form")
}

fn intake_shot(shot: Shot, state: &mut State) {
    use crate::console::fixture::known_citizens;
    use crate::console::intake::form::{Chosen, Field, LineInput};
    let now = crate::domain::Timestamp::from(state.now);
    let offset = state.offset;
    let lang = state.lang;
    let form = intake_form(state);
    match shot {
        Shot::IntakeKnown | Shot::IntakeRefused => {
            form.query = LineInput::new("lefevre");
            form.matches = known_citizens();
            form.searched = true;
            form.chosen = Chosen::Known(known_citizens()[0].clone());
            form.choose_procedure("passeport", now, offset);
            form.summary = LineInput::new(if lang.is_french() {
                "Renouvellement avant un voyage"
            } else {
                "Renewal before a journey"
            });
            form.description
                .insert_str("Part au Sénégal en février.\nSon passeport expire en janvier.");
            form.focus = Field::Summary;
            if let Shot::IntakeRefused = shot {
                form.errors = vec![
                    "La démarche « Passeport » demande l'adresse de l'usager.".into(),
                    "intake is not built yet".into(),
                ];
            }
        }
        Shot::IntakeDuplicate => {
            form.query = LineInput::new("Jose Lefevre");
            form.searched = true;
            form.chosen = Chosen::New;
            form.new_citizen[0] = LineInput::new("Jose");
            form.new_citizen[1] = LineInput::new("Lefevre");
            form.new_citizen[3] = LineInput::new("06 12 34 56 78");
            form.duplicates = vec![known_citizens()[0].clone()];
            form.focus = Field::Phone;
        }
        _ => {
            // Typing a name: the matches under the search.
            form.query = LineInput::new("lef");
            form.matches = known_citizens();
            form.searched = true;
        }
    }
}

fn staged(shot: Shot, lang: Lang, theme: Theme) -> State {
    let mut state = fixture(lang, theme);
    match shot {
        Shot::Queues => {}
        Shot::Filtering => {
            state.list.editing = true;
            state.list.search = "lefevre prio:1,2".into();
            state.list.total = 3;
            state.list.lines.truncate(3);
        }
        Shot::Case => state.screen = Screen::Case,
        Shot::CaseRevealed => {
            state.screen = Screen::Case;
            state.case.revealed = true;
        }
        Shot::Outbox => state.screen = Screen::Outbox,
        Shot::Dashboard => state.screen = Screen::Dashboard,
        Shot::Help => {
            state.popup = Some(Popup::Help {
                filter: String::new(),
                scroll: 0,
            })
        }
        Shot::StatePicker => {
            state.screen = Screen::Case;
            let mut picker = Picker {
                title: state.t("picker.state").to_string(),
                items: state.sources[0]
                    .reference
                    .states
                    .iter()
                    .filter(|c| c.stage != Some(Stage::New))
                    .map(|c| PickItem {
                        label: crate::app::compose::label_of(c, lang).to_string(),
                        detail: String::new(),
                        value: PickValue::State(c.clone()),
                    })
                    .collect(),
                filter: String::new(),
                shown: Vec::new(),
                selected: 0,
                purpose: PickPurpose::State {
                    cases: vec![case("id1")],
                },
            };
            filter_picker(&mut picker);
            state.popup = Some(Popup::Picker(picker));
        }
        Shot::Confirm => {
            state.popup = Some(Popup::Confirm(Confirm {
                question: state.f("confirm.bulk", &[("count", &12)]),
                then: Then::Act {
                    cases: vec![case("id1")],
                    intent: Intent::Take,
                },
            }))
        }
        Shot::Locked => {
            state = staged(Shot::Editor, lang, theme);
            state.case.revealed = true;
            state.message = Some(Message {
                text: "queued: CS0001001 comment".into(),
                error: false,
                until: state.now + time::Duration::seconds(5),
            });
            state.lock.after = Some(time::Duration::minutes(5));
            crate::console::lock::lock(&mut state, crate::console::lock::Reason::Idle);
            if let Some(locked) = state.lock.locked.as_mut() {
                locked.password = "secret".into();
                locked.notice = Some(crate::console::lock::Notice::Wrong { left: 3 });
            }
        }
        Shot::Audit => state.screen = Screen::Audit,
        Shot::IntakeEmpty | Shot::IntakeKnown | Shot::IntakeDuplicate | Shot::IntakeRefused => {
            intake_shot(shot, &mut state)
        }
        Shot::Receipt => {
            let mut fx = Vec::new();
            use crate::console::intake::{IntakeMsg, on_msg};
            intake_form(&mut state);
            state.writes_in_flight = 1;
            let entry = crate::console::fixture::opened_entry();
            on_msg(&mut state, IntakeMsg::Opened(Ok(Box::new(entry))), &mut fx);
            let receipt = crate::console::fixture::receipt(lang);
            on_msg(
                &mut state,
                IntakeMsg::Receipt {
                    asked: receipt.number.clone(),
                    result: Ok(receipt),
                },
                &mut fx,
            );
            // The message of the queueing, gone by now.
            state.message = None;
        }
        Shot::Editor => {
            state.screen = Screen::Case;
            let mut text = TextArea::new(vec![
                "Bonjour José Lefèvre,".to_string(),
                String::new(),
                "Votre passeport est prêt.".to_string(),
            ]);
            text.set_wrap_mode(ratatui_textarea::WrapMode::Word);
            state.popup = Some(Popup::Editor(Box::new(Editor {
                purpose: EditPurpose::Comment { case: case("id1") },
                title: state.t("editor.comment").to_string(),
                text,
                confirm_discard: false,
                templates: None,
                sending: false,
            })));
        }
    }
    state
}

#[test]
fn every_screen_in_both_languages_and_two_sizes() {
    for shot in SHOTS {
        for lang in Lang::ALL {
            for (w, h) in [(80, 24), (160, 48)] {
                let state = staged(shot, lang, Theme::Colour);
                let screen = text(&render(&state, w, h));
                let name = format!("{shot:?}_{}_{w}x{h}", lang.code()).to_lowercase();
                insta::assert_snapshot!(name.clone(), screen);
                // The same words without colour: only styles differ.
                let mono = staged(shot, lang, Theme::Mono);
                assert_eq!(text(&render(&mono, w, h)), screen, "{name}: NO_COLOR text");
            }
        }
    }
}

/// The one inbox of two profiles (the second's link down): queues with
/// the source column and a status bar for each back-end, the outbox and
/// the dashboard of both.
#[test]
fn the_inbox_in_both_languages_and_two_sizes() {
    use crate::console::fixture::inbox_fixture;
    for screen in [Screen::Queues, Screen::Outbox, Screen::Dashboard] {
        for lang in Lang::ALL {
            for (w, h) in [(80, 24), (160, 48)] {
                let staged = |theme| {
                    let mut state = inbox_fixture(lang, theme);
                    state.screen = screen;
                    state
                };
                let shown = text(&render(&staged(Theme::Colour), w, h));
                let name = format!("inbox_{screen:?}_{}_{w}x{h}", lang.code()).to_lowercase();
                insta::assert_snapshot!(name.clone(), shown);
                assert_eq!(
                    text(&render(&staged(Theme::Mono), w, h)),
                    shown,
                    "{name}: NO_COLOR text"
                );
                let mut ascii = staged(Theme::Mono);
                ascii.ascii = true;
                let plain = text(&render(&ascii, w, h));
                assert!(
                    !plain.chars().any(|c| "▶│─┌┐└┘…█▇▆▅▄▃▂▁•↑↓".contains(c)),
                    "{name}: ASCII\n{plain}"
                );
                if screen == Screen::Queues {
                    // Both back-ends in the status bar; the summary on screen.
                    let status = shown.lines().nth(usize::from(h) - 2).unwrap_or_default();
                    assert!(status.contains("mairie + 3"), "{status}");
                    assert!(status.contains("ds-occ x 1"), "{status}");
                    assert!(shown.contains("Renouvellement"), "{shown}");
                }
            }
        }
    }
}

#[test]
fn no_color_uses_no_colour_and_keeps_the_selection_visible() {
    let state = staged(Shot::Queues, Lang::En, Theme::Mono);
    let buffer = render(&state, 80, 24);
    for cell in buffer.content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "a colour in the NO_COLOR theme: {cell:?}"
        );
    }
    // Row 4 is the selected case (index 1 below the header at row 2).
    let selected_row = 4;
    assert_eq!(
        buffer[(0, selected_row)].symbol(),
        "▶",
        "a marker, not colour alone"
    );
    assert!(
        buffer[(5, selected_row)]
            .modifier
            .contains(Modifier::REVERSED),
        "and reverse video"
    );
    let ascii = {
        let mut s = staged(Shot::Queues, Lang::En, Theme::Mono);
        s.ascii = true;
        text(&render(&s, 80, 24))
    };
    assert!(ascii.lines().nth(4).is_some_and(|l| l.starts_with('>')));
    assert!(ascii.is_ascii() || !ascii.contains(['▶', '│', '─', '…']));
}

#[test]
fn overdue_is_marked_by_a_symbol_and_statuses_by_words() {
    let mut state = staged(Shot::Queues, Lang::En, Theme::Mono);
    state.list.lines[0].due = Some(crate::console::fixture::at("2026-11-20 12:00:00"));
    let screen = text(&render(&state, 80, 24));
    assert!(screen.contains("!J+8"), "{screen}");
    assert!(screen.contains("[+ online]"));
    state.sources[0].link = Link::Unreachable("connection refused".into());
    assert!(text(&render(&state, 80, 24)).contains("[x back-end unreachable]"));
}

#[test]
fn too_small_is_a_screen_not_a_panic() {
    let state = fixture(Lang::Fr, Theme::Colour);
    for (w, h) in [(1, 1), (2, 1), (10, 3), (59, 24), (80, 11)] {
        let screen = text(&render(&state, w, h));
        if w >= 10 && h >= 3 {
            assert!(screen.contains("Terminal"), "{w}x{h}: {screen}");
        }
    }
}

const HOSTILE: &[&str] = &[
    "日本語の名前テスト漢字",
    "e\u{301}\u{301}\u{301}lodie",
    "tab\there\u{7}bell\u{1b}[2Jclear",
    "\u{202E}evil RTL override\u{202C}",
    "שלום עולם مرحبا",
    "emoji 🙂 and ZWJ 👩‍👩‍👧",
    "line\nbreak\r\nreturn",
    "",
];

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(HOSTILE).prop_map(str::to_string),
        (0..HOSTILE.len(), 1usize..1500)
            .prop_map(|(i, n)| HOSTILE[i].repeat(n.min(10_000 / HOSTILE[i].len().max(1)))),
        "\\PC{0,40}",
    ]
}

fn no_unsafe_symbols(buffer: &Buffer) -> Result<(), String> {
    for (i, cell) in buffer.content().iter().enumerate() {
        if cell.symbol().chars().any(|c| {
            c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        }) {
            return Err(format!(
                "cell {i} holds a control character: {:?}",
                cell.symbol()
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, .. ProptestConfig::default() })]

    #[test]
    fn random_states_at_random_sizes_never_panic_nor_leak_controls(
        width in 1u16..300,
        height in 1u16..100,
        names in proptest::collection::vec(hostile(), 1..6),
        summary in hostile(),
        screen in 0usize..SHOTS.len(),
        selected in 0usize..60,
    ) {
        let mut state = staged(SHOTS[screen], Lang::Fr, Theme::Colour);
        for (i, l) in state.list.lines.iter_mut().enumerate() {
            l.citizen = names[i % names.len()].clone();
            l.summary = summary.clone();
            l.number = names[(i + 1) % names.len()].clone();
        }
        state.list.selected = selected.min(state.list.total as usize - 1);
        state.list.top = state.list.selected.saturating_sub(3);
        state.list.search = summary.clone();
        state.setting.profile = names[0].clone();
        state.setting.host = summary.clone();
        if let Some(detail) = state.case.detail.as_mut() {
            detail.description = summary.clone();
            detail.line.summary = names[0].clone();
            if let Some(c) = detail.citizen.as_mut() {
                c.first_name = names[0].clone();
                c.street = summary.clone();
            }
            detail.timeline[0].text = summary.clone();
            detail.timeline[0].author = names[names.len() - 1].clone();
        }
        state.case.revealed = true;
        state.message = Some(Message { text: summary.clone(), error: true, until: state.now + time::Duration::seconds(5) });
        let buffer = render(&state, width, height);
        prop_assert!(no_unsafe_symbols(&buffer).is_ok(), "{:?}", no_unsafe_symbols(&buffer));
    }

    #[test]
    fn data_never_breaks_a_pickers_border(
        labels in proptest::collection::vec(hostile(), 1..12),
        width in 60u16..200,
        height in 12u16..60,
    ) {
        let mut state = fixture(Lang::En, Theme::Colour);
        let mut picker = Picker {
            title: labels[0].clone(),
            items: labels.iter().map(|l| PickItem { label: l.clone(), detail: l.clone(), value: PickValue::Text(l.clone()) }).collect(),
            filter: String::new(),
            shown: Vec::new(),
            selected: 0,
            purpose: PickPurpose::Template,
        };
        filter_picker(&mut picker);
        let body = Rect::new(0, 1, width, height - 3);
        let area = super::popup::picker_area(body, &picker);
        state.popup = Some(Popup::Picker(picker));
        let buffer = render(&state, width, height);
        for y in area.top() + 1..area.bottom() - 1 {
            prop_assert_eq!(buffer[(area.left(), y)].symbol(), "│");
            prop_assert_eq!(buffer[(area.right() - 1, y)].symbol(), "│", "right border, row {}", y);
        }
    }
}

#[test]
fn the_filter_words_are_highlighted_without_colour_too() {
    let state = staged(Shot::Filtering, Lang::En, Theme::Mono);
    let buffer = render(&state, 80, 24);
    let screen = text(&buffer);
    let (y, row) = screen
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("José Lefèvre"))
        .expect("the citizen's row");
    let x = row
        .chars()
        .take_while(|c| *c != 'L')
        .map(|c| c.to_string().width())
        .sum::<usize>();
    let cell = &buffer[(x as u16, y as u16)];
    assert_eq!(cell.symbol(), "L");
    assert!(cell.modifier.contains(Modifier::UNDERLINED), "{cell:?}");
    let other = &buffer[(2, y as u16)];
    assert!(
        !other.modifier.contains(Modifier::UNDERLINED),
        "only the words"
    );
}

#[test]
fn ascii_mode_draws_no_box_drawing_blocks_or_marks() {
    for shot in SHOTS {
        for (w, h) in [(80, 24), (160, 48), (20, 5)] {
            let mut state = staged(shot, Lang::Fr, Theme::Mono);
            state.ascii = true;
            let screen = text(&render(&state, w, h));
            let bad: Vec<char> = screen
                .chars()
                .filter(|c| "▶│─┌┐└┘…█▇▆▅▄▃▂▁•↑↓".contains(*c))
                .collect();
            assert!(bad.is_empty(), "{shot:?} {w}x{h}: {bad:?}\n{screen}");
        }
    }
}

#[test]
fn the_lock_screen_shows_no_citizen_data_at_any_size() {
    let mut secrets: Vec<&str> = crate::console::fixture::NAMES.to_vec();
    secrets.extend([
        "José",
        "Lefèvre",
        "jose.lefevre",
        "06 12",
        "Gambetta",
        "CS000",
        "Bonjour",
        "passeport",
        "queued:",
    ]);
    for lang in Lang::ALL {
        for theme in [Theme::Colour, Theme::Mono] {
            for ascii in [false, true] {
                let mut state = staged(Shot::Locked, lang, theme);
                state.ascii = ascii;
                // A resize to nothing and back, then the usual sizes.
                for (w, h) in [
                    (1, 1),
                    (2, 1),
                    (10, 3),
                    (29, 30),
                    (40, 10),
                    (80, 24),
                    (160, 48),
                    (300, 100),
                ] {
                    let screen = text(&render(&state, w, h));
                    for secret in &secrets {
                        assert!(
                            !screen.contains(secret),
                            "{lang:?} {w}x{h}: {secret:?} on the lock screen\n{screen}"
                        );
                    }
                    if w >= 80 {
                        assert!(screen.contains("mairie-condom"), "{screen}");
                        assert!(screen.contains("camille.demo"), "{screen}");
                        assert!(screen.contains("******") || screen.contains("••••••"));
                        assert!(!screen.contains("secret"), "the password is masked");
                    }
                }
            }
        }
    }
}

#[test]
fn the_lock_screen_counts_down_a_refusal() {
    let mut state = staged(Shot::Locked, Lang::Fr, Theme::Mono);
    state.lock.refused_until = Some(state.now + time::Duration::seconds(30));
    if let Some(locked) = state.lock.locked.as_mut() {
        locked.notice = Some(crate::console::lock::Notice::Refused {
            until: state.now + time::Duration::seconds(30),
        });
    }
    let screen = text(&render(&state, 80, 24));
    assert!(screen.contains("réessayez dans 30 s"), "{screen}");
    state.now += time::Duration::seconds(12);
    assert!(text(&render(&state, 80, 24)).contains("réessayez dans 18 s"));
}
