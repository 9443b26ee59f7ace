//! The intake form and the receipt as the agent drives them: keys in,
//! state and effects out; the workers' answers fed as messages.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use super::form::{Chosen, Field, LineInput};
use super::*;
use crate::app::intake::CitizenChoice;
use crate::console::fixture::{catalogue, fixture, known_citizens, opened_entry, receipt};
use crate::console::msg::Msg;
use crate::console::state::Theme;
use crate::console::update::update;
use crate::i18n::Lang;

fn press(state: &mut State, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    update(state, Msg::Term(Event::Key(KeyEvent::new(code, modifiers))))
}

fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
    press(state, code, KeyModifiers::NONE)
}

fn typed(state: &mut State, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        fx.extend(key(state, KeyCode::Char(c)));
    }
    fx
}

fn form(state: &State) -> &Form {
    state.intake.as_deref().expect("the form is open")
}

/// The form opened with `N`, its catalogue answered.
fn opened(lang: Lang) -> State {
    let mut state = fixture(lang, Theme::Mono);
    let fx = key(&mut state, KeyCode::Char('N'));
    assert_eq!(state.screen, Screen::Intake);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Query(Query::IntakeCatalogue(l)) if *l == lang)),
        "{fx:?}"
    );
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Catalogue(Ok(catalogue(lang)))),
    );
    state
}

/// The newest citizen search asked among the effects.
fn search_asked(fx: &[Effect]) -> Option<(u64, String)> {
    fx.iter().rev().find_map(|e| match e {
        Effect::Query(Query::Citizens {
            generation, text, ..
        }) => Some((*generation, text.clone())),
        _ => None,
    })
}

fn found(state: &mut State, generation: u64, citizens: Vec<Citizen>) {
    update(
        state,
        Msg::Intake(IntakeMsg::Citizens {
            generation,
            result: Ok(citizens),
        }),
    );
}

/// Up to a known citizen, through the search.
fn with_known_citizen(lang: Lang) -> State {
    let mut state = opened(lang);
    let fx = typed(&mut state, "lefevre");
    let (generation, _) = search_asked(&fx).expect("a search");
    found(&mut state, generation, known_citizens());
    key(&mut state, KeyCode::Enter);
    state
}

#[test]
fn n_opens_the_form_from_the_queues_and_from_a_case() {
    let state = opened(Lang::Fr);
    let f = form(&state);
    assert_eq!(f.focus, Field::Citizen);
    assert_eq!(f.channel, "walk-in", "walk-in at the counter");
    assert_eq!(f.priority, 3);
    assert_eq!(f.assign, PickValue::User("u1".into()), "me by default");
    assert_eq!(f.back_to, Screen::Queues);

    let mut state = fixture(Lang::En, Theme::Mono);
    state.screen = Screen::Case;
    key(&mut state, KeyCode::Char('N'));
    assert_eq!(form(&state).back_to, Screen::Case);
    // And the palette's `:new`.
    let mut state = fixture(Lang::En, Theme::Mono);
    key(&mut state, KeyCode::Char(':'));
    typed(&mut state, "new");
    key(&mut state, KeyCode::Enter);
    assert_eq!(state.screen, Screen::Intake);
}

#[test]
fn typing_searches_the_known_citizens_and_enter_picks_one() {
    let mut state = opened(Lang::Fr);
    let fx = typed(&mut state, "l");
    assert!(search_asked(&fx).is_none(), "one letter finds everybody");
    let fx = typed(&mut state, "ef");
    let (generation, text) = search_asked(&fx).expect("a search as the agent types");
    assert_eq!(text, "lef");
    // An answer to an older search is dropped.
    found(
        &mut state,
        generation - 1,
        vec![known_citizens()[1].clone()],
    );
    assert!(form(&state).matches.is_empty());
    found(&mut state, generation, known_citizens());
    assert_eq!(form(&state).matches.len(), 2);
    key(&mut state, KeyCode::Down);
    key(&mut state, KeyCode::Enter);
    let f = form(&state);
    assert!(
        matches!(&f.chosen, Chosen::Known(c) if c.id == "p2"),
        "{:?}",
        f.chosen
    );
    assert_eq!(f.focus, Field::Procedure);
}

#[test]
fn tab_picks_what_the_search_points_at_and_moves_on() {
    let mut state = opened(Lang::En);
    // Nothing typed: Tab only moves on, Shift-Tab back.
    key(&mut state, KeyCode::Tab);
    assert_eq!(form(&state).focus, Field::Procedure);
    key(&mut state, KeyCode::Tab);
    key(&mut state, KeyCode::Tab);
    assert_eq!(form(&state).focus, Field::Description);
    key(&mut state, KeyCode::BackTab);
    assert_eq!(form(&state).focus, Field::Summary);
    typed(&mut state, "Passport renewal");
    assert_eq!(form(&state).summary.text, "Passport renewal");
    for _ in 0..3 {
        key(&mut state, KeyCode::BackTab);
    }
    assert_eq!(form(&state).focus, Field::Citizen);
    let fx = typed(&mut state, "jose");
    let (generation, _) = search_asked(&fx).expect("a search");
    found(&mut state, generation, known_citizens());
    key(&mut state, KeyCode::Tab);
    assert!(matches!(&form(&state).chosen, Chosen::Known(c) if c.id == "p1"));
}

#[test]
fn a_new_citizen_opens_their_fields_and_warns_of_a_near_duplicate() {
    let mut state = opened(Lang::Fr);
    let fx = typed(&mut state, "Marie Lefèvre");
    let (generation, _) = search_asked(&fx).expect("a search");
    found(&mut state, generation, vec![known_citizens()[0].clone()]);
    // The last line is "new citizen".
    key(&mut state, KeyCode::Down);
    let fx = key(&mut state, KeyCode::Enter);
    let f = form(&state);
    assert_eq!(f.chosen, Chosen::New);
    assert_eq!(f.focus, Field::FirstName);
    assert_eq!(f.new_citizen[0].text, "Marie", "the search fills the names");
    assert_eq!(f.new_citizen[1].text, "Lefèvre");
    assert!(f.fields().contains(&Field::City));
    let asked = fx.iter().find_map(|e| match e {
        Effect::Query(Query::Duplicates {
            generation,
            citizen,
        }) => Some((*generation, citizen.clone())),
        _ => None,
    });
    let (generation, citizen) = asked.expect("near duplicates asked");
    assert_eq!(citizen.last_name, "Lefèvre");
    // Typing the e-mail asks again; only the newest answer counts.
    key(&mut state, KeyCode::Tab);
    key(&mut state, KeyCode::Tab);
    let fx = typed(&mut state, "m@x.fr");
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Query(Query::Duplicates { .. })))
    );
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Duplicates {
            generation,
            result: Ok(known_citizens()),
        }),
    );
    assert!(form(&state).duplicates.is_empty(), "an older answer");
    let newest = form(&state).duplicate_generation;
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Duplicates {
            generation: newest,
            result: Ok(vec![known_citizens()[0].clone()]),
        }),
    );
    let f = form(&state);
    assert_eq!(f.duplicates.len(), 1);
    assert!(f.fields().contains(&Field::Duplicates));
    // From the e-mail to the list of known ones: take the record instead.
    while form(&state).focus != Field::Duplicates {
        key(&mut state, KeyCode::Tab);
    }
    key(&mut state, KeyCode::Enter);
    let f = form(&state);
    assert!(matches!(&f.chosen, Chosen::Known(c) if c.id == "p1"));
    assert!(!f.fields().contains(&Field::FirstName));
    assert_eq!(f.focus, Field::Procedure);
}

#[test]
fn picking_a_procedure_proposes_the_due_date_the_agent_may_change() {
    let mut state = with_known_citizen(Lang::Fr);
    assert_eq!(form(&state).focus, Field::Procedure);
    typed(&mut state, "pasport");
    key(&mut state, KeyCode::Enter);
    let f = form(&state);
    assert_eq!(
        f.procedure.as_ref().map(|p| p.code.as_str()),
        Some("passeport")
    );
    assert_eq!(
        f.due.text, "2026-12-28",
        "30 days from the fixture's 28 November"
    );
    assert_eq!(f.focus, Field::Summary);
    // The agent's own date stays when another procedure is picked.
    while form(&state).focus != Field::Due {
        key(&mut state, KeyCode::Tab);
    }
    press(&mut state, KeyCode::Char('u'), KeyModifiers::CONTROL);
    typed(&mut state, "2027-01-15");
    while form(&state).focus != Field::Procedure {
        key(&mut state, KeyCode::BackTab);
    }
    typed(&mut state, "naissance");
    key(&mut state, KeyCode::Enter);
    let f = form(&state);
    assert_eq!(
        f.procedure.as_ref().map(|p| p.code.as_str()),
        Some("naissance")
    );
    assert_eq!(f.due.text, "2027-01-15");
}

#[test]
fn channel_and_priority_change_with_the_arrows() {
    let mut state = with_known_citizen(Lang::En);
    while form(&state).focus != Field::Channel {
        key(&mut state, KeyCode::Tab);
    }
    key(&mut state, KeyCode::Right);
    assert_eq!(form(&state).channel, "phone");
    key(&mut state, KeyCode::Left);
    key(&mut state, KeyCode::Left);
    assert_eq!(form(&state).channel, "web", "round the list");
    key(&mut state, KeyCode::Tab);
    key(&mut state, KeyCode::Char('1'));
    assert_eq!(form(&state).priority, 1);
    key(&mut state, KeyCode::Left);
    assert_eq!(form(&state).priority, 1);
}

#[test]
fn ctrl_s_says_what_the_form_misses_and_keeps_what_was_typed() {
    let mut state = opened(Lang::Fr);
    key(&mut state, KeyCode::Tab);
    key(&mut state, KeyCode::Tab);
    typed(&mut state, "Renouvellement");
    let fx = press(&mut state, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(fx.is_empty(), "nothing sent: {fx:?}");
    let f = form(&state);
    assert_eq!(
        f.errors,
        vec!["Choisissez l'usager, ou créez-le.".to_string()]
    );
    assert_eq!(f.summary.text, "Renouvellement");
    assert_eq!(state.screen, Screen::Intake);
    // An unreadable date is said too.
    let mut state = with_known_citizen(Lang::En);
    state.intake.as_deref_mut().expect("form").due = LineInput::new("28/12/2026");
    press(&mut state, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(form(&state).errors[0].contains("YYYY-MM-DD"));
}

#[test]
fn ctrl_s_sends_the_intake_and_a_refusal_leaves_the_form_as_typed() {
    let mut state = with_known_citizen(Lang::Fr);
    typed(&mut state, "passeport");
    key(&mut state, KeyCode::Enter);
    typed(&mut state, "Renouvellement avant un voyage");
    key(&mut state, KeyCode::Tab);
    typed(&mut state, "Part en février.");
    key(&mut state, KeyCode::Enter);
    typed(&mut state, "Rendez-vous rapide.");
    let fx = press(&mut state, KeyCode::Char('s'), KeyModifiers::CONTROL);
    let sent = fx.iter().find_map(|e| match e {
        Effect::Write(Write::Open { intake, lang }) => Some((intake.clone(), *lang)),
        _ => None,
    });
    let (intake, lang) = sent.expect("Write::Open as an effect");
    assert_eq!(lang, Lang::Fr);
    assert_eq!(intake.citizen, CitizenChoice::Known("p1".into()));
    assert_eq!(intake.procedure, "passeport");
    assert_eq!(intake.summary, "Renouvellement avant un voyage");
    assert_eq!(intake.description, "Part en février.\nRendez-vous rapide.");
    assert_eq!(intake.channel, "walk-in");
    assert_eq!(intake.priority, 3);
    assert!(intake.assign_to_me && intake.group.is_none());
    assert_eq!(
        intake.due.map(|d| d.to_string()),
        Some("2026-12-28 10:00:00".into()),
        "the proposed date as proposed"
    );
    assert!(form(&state).sending);
    // Keys wait for the answer.
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, Screen::Intake);
    state.writes_in_flight = 1;
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Opened(Err(Refusal::Missing(vec![
            "La démarche demande une adresse.".into(),
        ])))),
    );
    let f = form(&state);
    assert!(!f.sending);
    assert_eq!(
        f.errors,
        vec!["La démarche demande une adresse.".to_string()]
    );
    assert_eq!(f.summary.text, "Renouvellement avant un voyage");
    assert_eq!(state.writes_in_flight, 0);
}

#[test]
fn queued_shows_the_receipt_and_refreshes_the_list() {
    let mut state = with_known_citizen(Lang::Fr);
    form(&state);
    state.writes_in_flight = 1;
    let generation = state.list.generation;
    let fx = update(
        &mut state,
        Msg::Intake(IntakeMsg::Opened(Ok(Box::new(opened_entry())))),
    );
    assert_eq!(state.screen, Screen::Receipt);
    assert!(state.intake.is_none());
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::Query(Query::Receipt { number, .. }) if number == "NEW-3")
        )
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Query(Query::List(_)))),
        "the new case shows in the lists"
    );
    assert!(state.list.generation > generation);
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Receipt {
            asked: receipt(Lang::Fr).number,
            result: Ok(receipt(Lang::Fr)),
        }),
    );
    assert!(state.receipt.as_ref().is_some_and(|r| r.receipt.is_some()));
}

#[test]
fn a_receipt_numbered_before_it_loads_or_after_shows_the_real_number() {
    let mut state = opened(Lang::Fr);
    let mut entry = opened_entry();
    state.receipt = Some(super::receipt::ReceiptView::new(&entry));
    // The sync numbered it before the query answered.
    let mut real = receipt(Lang::Fr);
    real.number = "CS0000042".into();
    real.provisional = false;
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Receipt {
            asked: "NEW-3".into(),
            result: Ok(real.clone()),
        }),
    );
    let view = state.receipt.as_ref().expect("the receipt");
    assert_eq!(
        (view.number.as_str(), view.case_id.as_str()),
        ("CS0000042", "CS0000042")
    );
    // An answer for another receipt is not this one's.
    entry.case_number = "NEW-4".into();
    state.receipt = Some(super::receipt::ReceiptView::new(&entry));
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Receipt {
            asked: "NEW-3".into(),
            result: Ok(real),
        }),
    );
    assert!(state.receipt.as_ref().is_some_and(|r| r.receipt.is_none()));
    // Numbered after it loaded: the sync's word updates it.
    let mut provisional = receipt(Lang::Fr);
    provisional.number = "NEW-4".into();
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Receipt {
            asked: "NEW-4".into(),
            result: Ok(provisional),
        }),
    );
    super::receipt::on_numbered(&mut state, "NEW-4", "CS0000043");
    let view = state.receipt.as_ref().expect("the receipt");
    assert_eq!(view.number, "CS0000043");
    assert!(
        view.receipt
            .as_ref()
            .is_some_and(|r| !r.provisional && r.number == "CS0000043")
    );
}

#[test]
fn esc_asks_before_discarding_what_was_typed() {
    let mut state = opened(Lang::Fr);
    key(&mut state, KeyCode::Esc);
    assert_eq!(
        state.screen,
        Screen::Queues,
        "nothing typed: leaves at once"
    );
    assert!(state.intake.is_none());

    let mut state = opened(Lang::Fr);
    key(&mut state, KeyCode::Tab);
    key(&mut state, KeyCode::Tab);
    typed(&mut state, "x");
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, Screen::Intake);
    assert!(form(&state).confirm_discard);
    // Another key goes on, the text kept.
    typed(&mut state, "y");
    assert!(!form(&state).confirm_discard);
    assert_eq!(form(&state).summary.text, "xy");
    key(&mut state, KeyCode::Esc);
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, Screen::Queues);
    assert!(state.intake.is_none());
}

#[test]
fn a_paste_goes_into_the_field_as_text() {
    let mut state = opened(Lang::En);
    let fx = update(&mut state, Msg::Term(Event::Paste("José\nLefèvre".into())));
    assert_eq!(form(&state).query.text, "José Lefèvre");
    assert!(search_asked(&fx).is_some());
}

#[test]
fn the_receipt_prints_through_the_write_thread_and_says_when_lp_is_missing() {
    let mut state = with_known_citizen(Lang::Fr);
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Opened(Ok(Box::new(opened_entry())))),
    );
    // Before the receipt is read: nothing to print yet.
    let fx = key(&mut state, KeyCode::Char('p'));
    assert!(fx.is_empty());
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Receipt {
            asked: receipt(Lang::Fr).number,
            result: Ok(receipt(Lang::Fr)),
        }),
    );
    let fx = key(&mut state, KeyCode::Char('p'));
    assert!(
        matches!(fx.as_slice(), [Effect::Write(Write::Print(text))] if text.contains("NEW-3")),
        "{fx:?}"
    );
    state.writes_in_flight = 1;
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Printed(Err(PrintTrouble::NoLp))),
    );
    assert_eq!(state.writes_in_flight, 0);
    let notice = state
        .receipt
        .as_ref()
        .and_then(|r| r.notice.clone())
        .expect("a notice");
    assert!(notice.1);
    assert!(
        notice.0.contains("guichet receipt NEW-3 --out"),
        "{}",
        notice.0
    );
    // `o` opens the new case; Enter goes back to the list.
    let fx = key(&mut state, KeyCode::Char('o'));
    assert_eq!(state.screen, Screen::Case);
    assert_eq!(
        state.case.id.as_ref().map(|c| c.id.as_str()),
        Some("local-3")
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Query(Query::Case { .. })))
    );

    let mut state = with_known_citizen(Lang::En);
    update(
        &mut state,
        Msg::Intake(IntakeMsg::Opened(Ok(Box::new(opened_entry())))),
    );
    key(&mut state, KeyCode::Enter);
    assert_eq!(state.screen, Screen::Queues);
    assert!(state.receipt.is_none());
}

#[test]
fn dates_are_read_as_the_end_of_the_day_typed() {
    use super::form::parse_day;
    let utc = time::UtcOffset::UTC;
    assert_eq!(parse_day("", utc), Ok(None));
    assert_eq!(
        parse_day(" 2026-12-28 ", utc).map(|d| d.map(|d| d.to_string())),
        Ok(Some("2026-12-28 23:59:59".into()))
    );
    for bad in [
        "28/12/2026",
        "2026-13-01",
        "2026-02-30",
        "26-12-28",
        "2026-12-28-1",
    ] {
        assert!(parse_day(bad, utc).is_err(), "{bad}");
    }
}
