//! `update` as the agent drives it: keys in, state and effects out.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::inbox::Sourced;
use crate::console::fixture::{PROFILE, case, entry, fixture, line};
use crate::console::msg::ListPage;
use crate::domain::Action;
use crate::i18n::Lang;
use crate::store::OutboxState;

/// A key pressed with no modifier (the console's tests share it).
pub(crate) fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
    update(
        state,
        Msg::Term(Event::Key(KeyEvent::new(code, KeyModifiers::NONE))),
    )
}

/// Ctrl and a letter.
pub(crate) fn ctrl(state: &mut State, c: char) -> Vec<Effect> {
    update(
        state,
        Msg::Term(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        ))),
    )
}

fn writes(effects: &[Effect]) -> Vec<&Write> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Write(w) => Some(w),
            _ => None,
        })
        .collect()
}

/// The answer to the newest list query: these lines from row 0, `total` in all.
fn answer(state: &mut State, lines: Vec<crate::app::view::CaseLine>, total: u64) -> Vec<Effect> {
    let generation = state.list.generation;
    update(
        state,
        Msg::Listed {
            generation,
            result: Ok(ListPage {
                offset: 0,
                lines,
                total: Some(total),
                fuzzy: false,
            }),
        },
    )
}

#[test]
fn an_action_never_lands_on_a_row_of_the_list_before() {
    let mut state = fixture(Lang::En, Theme::Mono);
    state.list.marked.clear();
    key(&mut state, KeyCode::Char('/'));
    key(&mut state, KeyCode::Char('z'));
    assert!(state.list.stale, "the rows on screen are the old list's");
    key(&mut state, KeyCode::Enter);
    let fx = key(&mut state, KeyCode::Char('t'));
    assert!(writes(&fx).is_empty(), "nothing taken from the old list");
    assert!(
        state
            .message
            .as_ref()
            .is_some_and(|m| m.text.contains("loading")),
        "{:?}",
        state.message
    );
    answer(
        &mut state,
        vec![line(7, "Zoé Zola", "Carte d'identité", Lang::En)],
        1,
    );
    assert!(!state.list.stale);
    let fx = key(&mut state, KeyCode::Char('t'));
    match writes(&fx).as_slice() {
        [Write::Act { cases, .. }] => assert_eq!(cases, &[case("id7")]),
        other => panic!("one take on the new row, got {other:?}"),
    }
}

#[test]
fn the_selection_follows_its_case_when_rows_move() {
    let mut state = fixture(Lang::En, Theme::Mono);
    assert_eq!(
        state.list.selected_line().map(|l| l.id.clone()),
        Some("id1".into())
    );
    let mut fx = Vec::new();
    refresh(&mut state, &mut fx);
    // A sync put two cases before it.
    let lines: Vec<_> = [5, 6, 0, 1, 2]
        .into_iter()
        .map(|i| line(i, "x", "y", Lang::En))
        .collect();
    answer(&mut state, lines, 5);
    assert_eq!(state.list.selected, 3);
    assert_eq!(
        state.list.selected_line().map(|l| l.id.clone()),
        Some("id1".into())
    );
}

#[test]
fn a_list_that_shrinks_shows_its_last_screen() {
    let mut state = fixture(Lang::En, Theme::Mono);
    state.list.top = 200;
    state.list.selected = 250;
    let mut fx = Vec::new();
    refresh(&mut state, &mut fx);
    answer(
        &mut state,
        (0..5).map(|i| line(i, "x", "y", Lang::En)).collect(),
        5,
    );
    assert_eq!((state.list.top, state.list.selected), (0, 4));
}

#[test]
fn quitting_asks_first_while_a_write_is_on_its_way() {
    let mut state = fixture(Lang::En, Theme::Mono);
    state.sources[0].counts.outbox.clear();
    state.writes_in_flight = 1;
    key(&mut state, KeyCode::Char('q'));
    assert!(!state.quit);
    assert!(matches!(
        state.popup,
        Some(Popup::Confirm(Confirm {
            then: Then::Quit,
            ..
        }))
    ));
    key(&mut state, KeyCode::Enter);
    assert!(!state.quit, "Enter is not a yes");
    key(&mut state, KeyCode::Char('y'));
    assert!(state.quit);
}

#[test]
fn resolving_several_cases_asks_first() {
    let mut state = fixture(Lang::En, Theme::Mono);
    let resolved = state.sources[0].reference.states[3].clone();
    state.popup = None;
    let mut fx = Vec::new();
    super::open_editor(
        &mut state,
        EditPurpose::CloseNotes {
            cases: vec![case("id1"), case("id3")],
            state: resolved,
            code: "granted".into(),
        },
        "notes".into(),
    );
    for c in "Done".chars() {
        fx.extend(key(&mut state, KeyCode::Char(c)));
    }
    fx.extend(ctrl(&mut state, 's'));
    assert!(writes(&fx).is_empty(), "nothing queued before the yes");
    assert!(matches!(
        state.popup,
        Some(Popup::Confirm(Confirm { then: Then::Act { ref cases, .. }, .. })) if cases.len() == 2
    ));
    let fx = key(&mut state, KeyCode::Char('y'));
    assert_eq!(
        writes(&fx).len(),
        1,
        "one write, one action per case inside it"
    );
}

#[test]
fn the_editor_keeps_its_text_until_the_action_is_queued() {
    let mut state = fixture(Lang::En, Theme::Mono);
    state.screen = Screen::Case;
    key(&mut state, KeyCode::Char('c'));
    for c in "Bonjour".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    let fx = ctrl(&mut state, 's');
    assert_eq!(writes(&fx).len(), 1);
    assert!(matches!(&state.popup, Some(Popup::Editor(e)) if e.sending));
    update(
        &mut state,
        Msg::Acted(vec![Err("database is locked".into())]),
    );
    match &state.popup {
        Some(Popup::Editor(e)) => {
            assert!(!e.sending);
            assert_eq!(
                e.text.lines().join("\n"),
                "Bonjour",
                "the text is still there"
            );
        }
        other => panic!("the editor stays open: {other:?}"),
    }
    ctrl(&mut state, 's');
    let queued = entry(
        9,
        OutboxState::Pending,
        Action::Comment {
            text: "Bonjour".into(),
        },
    );
    update(
        &mut state,
        Msg::Acted(vec![Ok(Sourced::new(PROFILE, queued))]),
    );
    assert!(state.popup.is_none(), "closed once queued");
}

#[test]
fn pasted_text_is_never_read_as_keys() {
    let mut state = fixture(Lang::En, Theme::Mono);
    let fx = update(&mut state, Msg::Term(Event::Paste("tas\n".into())));
    assert!(
        fx.is_empty() && state.popup.is_none(),
        "no take, no assign, no state"
    );
    key(&mut state, KeyCode::Char('/'));
    let fx = update(&mut state, Msg::Term(Event::Paste("José\nLefèvre".into())));
    assert_eq!(state.list.search, "José Lefèvre");
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Query(Query::List(_))))
    );
}

#[test]
fn priority_from_the_palette_takes_its_argument() {
    let mut state = fixture(Lang::En, Theme::Mono);
    state.list.marked.clear();
    key(&mut state, KeyCode::Char(':'));
    for c in "priority 2".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    let fx = key(&mut state, KeyCode::Enter);
    match writes(&fx).as_slice() {
        [
            Write::Act {
                intent: Intent::Priority(2),
                ..
            },
        ] => {}
        other => panic!("priority 2 on the selected case, got {other:?}"),
    }
}

#[test]
fn offline_by_choice_stays_offline_whatever_a_round_says() {
    let mut state = fixture(Lang::En, Theme::Mono);
    key(&mut state, KeyCode::Char(':'));
    for c in "offline".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    key(&mut state, KeyCode::Enter);
    assert_eq!(state.sources[0].link, Link::Offline);
    update(
        &mut state,
        Msg::Sync {
            source: PROFILE.into(),
            event: SyncEvent::Finished {
                applied: 0,
                conflicts: 0,
                failed: 0,
                cases_changed: 0,
                numbered: Vec::new(),
            },
        },
    );
    assert_eq!(state.sources[0].link, Link::Offline);
}

#[test]
fn scrolling_reads_rows_without_counting_again_a_change_counts() {
    let mut state = fixture(Lang::En, Theme::Mono);
    state.list.offset = 0;
    state.list.top = 0;
    state.list.selected = 0;
    let lists = |fx: &[Effect]| -> Vec<bool> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Query(Query::List(l)) => Some(l.count),
                _ => None,
            })
            .collect()
    };
    // Far below the loaded window: rows are read, the total kept.
    let fx = key(&mut state, KeyCode::End);
    assert_eq!(lists(&fx), [false], "a scroll does not count");
    // A new filter is a new list: counted.
    let fx = key(&mut state, KeyCode::Char('/'));
    assert!(lists(&fx).is_empty());
    let fx = key(&mut state, KeyCode::Char('x'));
    assert_eq!(lists(&fx), [true]);
}

#[test]
fn showing_contact_details_goes_on_the_audit_trail_and_hiding_them_does_not() {
    let mut state = fixture(Lang::En, Theme::Mono);
    state.screen = Screen::Case;
    let number = state
        .case
        .detail
        .as_ref()
        .map(|d| d.line.number.clone())
        .expect("the fixture has a case open");
    let shown = key(&mut state, KeyCode::Char('v'));
    assert!(state.case.revealed);
    assert!(
        matches!(writes(&shown)[..], [Write::Reveal { source, number: n }] if *n == number && source == PROFILE),
        "{shown:?}"
    );
    let hidden = key(&mut state, KeyCode::Char('v'));
    assert!(!state.case.revealed);
    assert!(writes(&hidden).is_empty(), "{hidden:?}");
}

#[test]
fn the_audit_trail_opens_on_its_key_and_reads_further_only_when_scrolled_to() {
    let mut state = fixture(Lang::En, Theme::Mono);
    let limits = |fx: &[Effect]| -> Vec<usize> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Query(Query::Audit { limit }) => Some(*limit),
                _ => None,
            })
            .collect()
    };
    let fx = key(&mut state, KeyCode::Char('A'));
    assert_eq!(state.screen, Screen::Audit);
    let [first] = limits(&fx)[..] else {
        panic!("one read: {fx:?}")
    };
    let line = |seq: i64| crate::store::AuditLine {
        seq,
        at: crate::console::fixture::at("2026-11-28 09:00:00"),
        case: format!("CS{seq}"),
        event: "queued".into(),
        detail: String::new(),
    };
    // As many as asked: there may be more.
    let full: Vec<_> = (0..first as i64).rev().map(line).collect();
    update(
        &mut state,
        Msg::AuditLoaded {
            limit: first,
            result: Ok(full),
        },
    );
    assert!(!state.audit.complete);
    assert!(limits(&key(&mut state, KeyCode::Down)).is_empty());
    let fx = key(&mut state, KeyCode::End);
    let [more] = limits(&fx)[..] else {
        panic!("reads further at the end: {fx:?}")
    };
    assert!(more > first);
    assert!(
        limits(&key(&mut state, KeyCode::Up)).is_empty(),
        "not again while it is on its way"
    );
    update(
        &mut state,
        Msg::AuditLoaded {
            limit: more,
            result: Ok((0..first as i64 + 3).rev().map(line).collect()),
        },
    );
    assert!(state.audit.complete, "fewer than asked: the whole trail");
    assert!(limits(&key(&mut state, KeyCode::End)).is_empty());
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, Screen::Queues);
}

#[test]
fn the_palette_knows_lock_and_audit() {
    let mut state = fixture(Lang::Fr, Theme::Mono);
    key(&mut state, KeyCode::Char(':'));
    for c in "audit".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    key(&mut state, KeyCode::Enter);
    assert_eq!(state.screen, Screen::Audit);
    key(&mut state, KeyCode::Char(':'));
    for c in "lock".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    key(&mut state, KeyCode::Enter);
    assert!(state.lock.is_locked());
}

#[test]
fn actions_the_backend_lacks_are_refused_with_the_reason_and_queue_nothing() {
    let mut state = fixture(Lang::Fr, Theme::Mono);
    state.list.marked.clear();
    // A Démarches Simplifiées profile: no priority, no opening at the
    // counter, no annotation named for notes.
    state.sources[0].reference.actions = crate::backend::Actions {
        open: false,
        priority: false,
        assign_others: false,
        work_note: false,
    };
    key(&mut state, KeyCode::Char(':'));
    for c in "priority 2".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    let fx = key(&mut state, KeyCode::Enter);
    assert!(writes(&fx).is_empty(), "nothing queued: {fx:?}");
    let said = state
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(said.contains("pas de priorité"), "{said}");
    assert_eq!(
        unavailable(&state, Command::New),
        Some("why.backend_no_opening")
    );
    assert_eq!(
        unavailable(&state, Command::Note),
        Some("why.backend_no_notes")
    );
    assert_eq!(unavailable(&state, Command::Take), None, "taking stays");
}

#[test]
fn a_backend_of_its_own_flow_offers_its_moves_and_asks_a_motivation_for_a_decision() {
    let mut state = fixture(Lang::En, Theme::Mono);
    state.list.marked.clear();
    // Démarches Simplifiées: the selected dossier is in instruction.
    let choice = |value: &str, label: &str, stage| crate::domain::Choice {
        list: crate::domain::ChoiceList::State,
        value: value.into(),
        label_en: label.into(),
        label_fr: label.into(),
        sequence: 0,
        stage: Some(stage),
    };
    state.sources[0].reference.states = vec![
        choice("en_construction", "In progress", Stage::New),
        choice("en_instruction", "Processing", Stage::Open),
        choice("accepte", "Accepted", Stage::Resolved),
    ];
    state.sources[0].reference.resolutions.clear();
    state.sources[0].reference.flow = crate::backend::StateFlow {
        moves: vec![
            ("en_instruction".into(), "en_construction".into()),
            ("en_instruction".into(), "accepte".into()),
            ("en_construction".into(), "en_instruction".into()),
        ],
        needs_notes: Vec::new(),
    };
    let selected = state.list.selected;
    state.list.lines[selected].state = "en_instruction".into();
    state.list.lines[selected].stage = Some("open");
    key(&mut state, KeyCode::Char(':'));
    for c in "state".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    key(&mut state, KeyCode::Enter);
    let Some(Popup::Picker(picker)) = &state.popup else {
        panic!("a state picker, got {:?}", state.popup);
    };
    let offered: Vec<&str> = picker.items.iter().map(|i| i.label.as_str()).collect();
    // Back to construction is offered (the flow by stages has no Open → New).
    assert_eq!(offered, vec!["In progress", "Accepted"]);
    let accepted = picker
        .shown
        .iter()
        .position(|&i| picker.items[i].label == "Accepted")
        .unwrap();
    for _ in 0..accepted {
        key(&mut state, KeyCode::Down);
    }
    key(&mut state, KeyCode::Enter);
    assert!(
        matches!(&state.popup, Some(Popup::Editor(_))),
        "the motivation's editor, not 'no resolution codes': {:?}",
        state.message
    );
}

/// The inbox: the selected row, by its index in the fixture's lines.
fn select(state: &mut State, index: usize) {
    state.list.selected = index;
    state.list.top = 0;
}

#[test]
fn in_the_inbox_an_action_goes_to_the_profile_its_case_came_from() {
    use crate::console::fixture::{DS, inbox_fixture};
    let mut state = inbox_fixture(Lang::En, Theme::Mono);
    state.list.marked.clear();
    // Row 1 is the second back-end's; row 2 the first's.
    select(&mut state, 1);
    let mut fx = Vec::new();
    run(&mut state, Command::Take, &mut fx);
    match writes(&fx).as_slice() {
        [Write::Act { cases, .. }] => {
            assert_eq!(cases, &[crate::app::inbox::Ref::new(DS, "id1")])
        }
        other => panic!("one take on the DS file, got {other:?}"),
    }
    // Priority: the DS back-end has none; the other's case has.
    let mut fx = Vec::new();
    run(&mut state, Command::Priority, &mut fx);
    assert!(state.popup.is_none() && fx.is_empty());
    select(&mut state, 2);
    run(&mut state, Command::Priority, &mut fx);
    assert!(matches!(state.popup, Some(Popup::Picker(_))));
    state.popup = None;
    // Opening shows the case from its own store.
    select(&mut state, 1);
    let mut fx = Vec::new();
    run(&mut state, Command::Open, &mut fx);
    assert!(
        matches!(fx.as_slice(), [Effect::Query(Query::Case { case, .. })] if case.source == DS),
        "{fx:?}"
    );
}

#[test]
fn marked_cases_of_two_backends_are_taken_each_in_its_own_but_assigned_one_backend_at_a_time() {
    use crate::console::fixture::{DS, inbox_fixture};
    let mut state = inbox_fixture(Lang::En, Theme::Mono);
    state.list.marked.clear();
    for i in [1, 2] {
        select(&mut state, i);
        let mut fx = Vec::new();
        run(&mut state, Command::Mark, &mut fx);
    }
    // Two cases named id1 and id2 in two stores: kept apart.
    let marked: Vec<_> = state.list.marked.iter().cloned().collect();
    assert_eq!(
        marked,
        [
            crate::app::inbox::Ref::new(DS, "id1"),
            crate::app::inbox::Ref::new(PROFILE, "id2")
        ]
    );
    assert_eq!(
        unavailable(&state, Command::Assign),
        Some("why.mixed_sources")
    );
    assert_eq!(
        unavailable(&state, Command::State),
        Some("why.mixed_sources")
    );
    let mut fx = Vec::new();
    run(&mut state, Command::Take, &mut fx);
    let Some(Popup::Confirm(Confirm {
        then: Then::Act { cases, .. },
        ..
    })) = &state.popup
    else {
        panic!("a bulk take asks first: {:?}", state.popup);
    };
    assert_eq!(cases, &marked);
}

#[test]
fn each_backend_has_its_own_link_and_figures_and_offline_is_for_all() {
    use crate::console::fixture::{DS, inbox_fixture};
    use crate::console::msg::Counts;
    let mut state = inbox_fixture(Lang::En, Theme::Mono);
    update(
        &mut state,
        Msg::Sync {
            source: DS.into(),
            event: SyncEvent::Finished {
                applied: 1,
                conflicts: 0,
                failed: 0,
                cases_changed: 0,
                numbered: Vec::new(),
            },
        },
    );
    assert_eq!(state.sources[1].link, Link::Online);
    // The sync's words say whose sync it was.
    let said = state
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    let tag = state.sources[1].tag.clone();
    assert!(said.starts_with(&format!("{tag} · ")), "{said}");
    update(
        &mut state,
        Msg::Sync {
            source: PROFILE.into(),
            event: SyncEvent::Failed {
                trouble: crate::console::msg::Trouble::Unreachable,
                message: "refused".into(),
            },
        },
    );
    assert_eq!(state.sources[0].link, Link::Unreachable("refused".into()));
    assert_eq!(state.sources[1].link, Link::Online);
    update(
        &mut state,
        Msg::Counts(Ok(vec![
            Sourced::new(PROFILE, Counts::default()),
            Sourced::new(
                DS,
                Counts {
                    outbox: vec![(OutboxState::Pending, 4)],
                    ..Counts::default()
                },
            ),
        ])),
    );
    assert_eq!(
        (state.sources[0].unsent(), state.sources[1].unsent()),
        (0, 4)
    );
    assert_eq!(state.unsent(), 4);
    let mut fx = Vec::new();
    run(&mut state, Command::Offline, &mut fx);
    assert!(state.sources.iter().all(|s| s.link == Link::Offline));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Sync(SyncCommand::SetOffline(true))]
    ));
}

#[test]
fn intake_opens_in_the_first_profile_or_says_why_not() {
    use crate::console::fixture::inbox_fixture;
    let mut state = inbox_fixture(Lang::En, Theme::Mono);
    assert_eq!(unavailable(&state, Command::New), None);
    state.sources.swap(0, 1);
    assert_eq!(
        unavailable(&state, Command::New),
        Some("why.inbox_no_opening")
    );
}

#[test]
fn a_decision_on_the_outbox_goes_to_the_actions_own_profile() {
    use crate::console::fixture::{DS, inbox_fixture};
    let mut state = inbox_fixture(Lang::En, Theme::Mono);
    state.screen = Screen::Outbox;
    // The first action is the second back-end's.
    let mut fx = Vec::new();
    run(&mut state, Command::Drop, &mut fx);
    let fx = key(&mut state, KeyCode::Char('y'));
    assert!(
        matches!(writes(&fx)[..], [Write::Drop(a)] if a.source == DS && a.id == "a3"),
        "{fx:?}"
    );
    state.outbox.selected = 2;
    let mut fx = Vec::new();
    run(&mut state, Command::KeepMine, &mut fx);
    assert!(
        matches!(writes(&fx)[..], [Write::Resolve { action, keep_mine: true }] if action.source == PROFILE && action.id == "a8"),
        "{fx:?}"
    );
}

#[test]
fn sources_are_told_apart_by_short_tags() {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        crate::console::state::tags(&names(&["mairie-condom", "ds", "démarches"])),
        ["mairie", "ds", "démarc"]
    );
    assert_eq!(
        crate::console::state::tags(&names(&["mairie-condom", "mairie-auch"])),
        ["mairi1", "mairi2"]
    );
}
