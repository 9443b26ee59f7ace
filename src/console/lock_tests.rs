//! The idle lock as the agent meets it: the clock moves on by ticks, keys
//! go in, the password check answers (a fake one: the real check is slow
//! and lives elsewhere).

use crossterm::event::{Event, KeyCode};
use time::Duration;

use super::*;
use crate::console::fixture::fixture;
use crate::console::msg::{ListPage, SyncEvent};
use crate::console::state::{EditPurpose, Link, Popup, Screen, Theme};
use crate::console::update::update;
use crate::console::worker::Query;
use crate::i18n::Lang;

use crate::console::update::tests::{ctrl, key};

fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        key(state, KeyCode::Char(c));
    }
}

/// The clock moves on by `seconds`, and a tick says so (as the run loop
/// does: it sets `now`, then sends the tick).
fn wait(state: &mut State, seconds: i64) -> Vec<Effect> {
    state.now += Duration::seconds(seconds);
    update(state, Msg::Tick)
}

/// A session on the queues with the lock set to five minutes.
fn session() -> State {
    let mut state = fixture(Lang::En, Theme::Mono);
    state.lock = Lock::new(Some(Duration::minutes(5)), state.now);
    state
}

/// Types the password and Enter; returns the password sent to the check.
fn submit(state: &mut State, password: &str) -> Option<String> {
    type_text(state, password);
    let fx = key(state, KeyCode::Enter);
    fx.into_iter().find_map(|e| match e {
        Effect::Unlock(Password(p)) => Some(p),
        _ => None,
    })
}

fn notice(state: &State) -> Option<Notice> {
    state.lock.locked.as_ref().and_then(|l| l.notice.clone())
}

#[test]
fn idle_time_reached_locks_and_keys_before_it_start_it_again() {
    let mut state = session();
    wait(&mut state, 4 * 60);
    assert!(!state.lock.is_locked());
    // A key at 4 min: five minutes from there.
    key(&mut state, KeyCode::Down);
    wait(&mut state, 4 * 60 + 59);
    assert!(!state.lock.is_locked(), "4:59 after the last key");
    wait(&mut state, 1);
    assert!(state.lock.is_locked(), "5:00 after the last key");
    assert_eq!(
        state.lock.locked.as_ref().map(|l| l.reason),
        Some(Reason::Idle)
    );
}

#[test]
fn a_paste_is_the_agent_at_the_keyboard_too() {
    let mut state = session();
    wait(&mut state, 4 * 60);
    update(&mut state, Msg::Term(Event::Paste("x".into())));
    wait(&mut state, 2 * 60);
    assert!(!state.lock.is_locked());
}

#[test]
fn zero_minutes_never_locks_but_the_key_still_does() {
    assert_eq!(limit(0, None), None);
    assert_eq!(limit(5, None), Some(Duration::minutes(5)));
    assert_eq!(
        limit(5, Some(3)),
        Some(Duration::seconds(3)),
        "the override"
    );
    assert_eq!(limit(5, Some(0)), None);
    let mut state = fixture(Lang::En, Theme::Mono);
    state.lock = Lock::new(limit(0, None), state.now);
    wait(&mut state, 86_400);
    assert!(!state.lock.is_locked(), "a day without a key");
    ctrl(&mut state, 'l');
    assert_eq!(
        state.lock.locked.as_ref().map(|l| l.reason),
        Some(Reason::Asked)
    );
}

#[test]
fn while_locked_keys_go_to_the_password_and_nowhere_else() {
    let mut state = session();
    ctrl(&mut state, 'l');
    let screen = state.screen;
    let mut fx = Vec::new();
    for c in ['t', 'q', ':', 'o', '?', 's'] {
        fx.extend(key(&mut state, KeyCode::Char(c)));
    }
    assert!(fx.is_empty(), "no action, no query: {fx:?}");
    assert!(!state.quit, "q is a letter of the password");
    assert!(state.popup.is_none() && state.screen == screen);
    assert_eq!(
        state.lock.locked.as_ref().map(|l| l.password.as_str()),
        Some("tq:o?s")
    );
    key(&mut state, KeyCode::Backspace);
    assert_eq!(
        state.lock.locked.as_ref().map(|l| l.password.as_str()),
        Some("tq:o?")
    );
    key(&mut state, KeyCode::Esc);
    assert_eq!(
        state.lock.locked.as_ref().map(|l| l.password.as_str()),
        Some("")
    );
    assert!(state.lock.is_locked(), "Esc clears, never unlocks");
    // Ctrl-C leaves: the outbox is on disk, nothing queued is lost.
    ctrl(&mut state, 'c');
    assert!(state.quit);
}

#[test]
fn a_wrong_password_says_so_and_five_refuse_tries_for_thirty_seconds() {
    let mut state = session();
    ctrl(&mut state, 'l');
    for n in 1..=4 {
        assert_eq!(submit(&mut state, "nope").as_deref(), Some("nope"));
        assert_eq!(notice(&state), Some(Notice::Checking));
        assert_eq!(
            submit(&mut state, "again"),
            None,
            "no second check while one runs"
        );
        update(&mut state, Msg::PasswordChecked(Ok(false)));
        assert_eq!(notice(&state), Some(Notice::Wrong { left: TRIES - n }));
        assert!(state.lock.is_locked());
        key(&mut state, KeyCode::Esc);
    }
    submit(&mut state, "nope");
    update(&mut state, Msg::PasswordChecked(Ok(false)));
    let until = state.now + REFUSED_FOR;
    assert_eq!(notice(&state), Some(Notice::Refused { until }));
    assert_eq!(state.lock.refused_for(state.now), 30);
    assert_eq!(submit(&mut state, "right"), None, "refused for 30 s");
    wait(&mut state, 29);
    assert_eq!(submit(&mut state, "right"), None, "still refused at 29 s");
    assert_eq!(state.lock.refused_for(state.now), 1);
    wait(&mut state, 1);
    assert_eq!(notice(&state), None, "the countdown is over");
    assert_eq!(submit(&mut state, "right").as_deref(), Some("right"));
}

#[test]
fn the_right_password_gives_back_everything_as_it_was_the_draft_too() {
    let mut state = session();
    state.screen = Screen::Case;
    key(&mut state, KeyCode::Char('v'));
    assert!(state.case.revealed);
    key(&mut state, KeyCode::Char('c'));
    type_text(&mut state, "Bonjour Monsieur");
    // The lock key works over the editor, and keeps it.
    ctrl(&mut state, 'l');
    assert!(state.lock.is_locked());
    assert!(!state.case.revealed, "contact details masked again");
    submit(&mut state, "secret");
    update(&mut state, Msg::PasswordChecked(Ok(true)));
    assert!(!state.lock.is_locked());
    assert_eq!(state.screen, Screen::Case);
    match &state.popup {
        Some(Popup::Editor(editor)) => {
            assert!(matches!(editor.purpose, EditPurpose::Comment { .. }));
            assert_eq!(editor.text.lines().join("\n"), "Bonjour Monsieur");
        }
        other => panic!("the draft is back: {other:?}"),
    }
    // And the idle time starts from the unlock.
    wait(&mut state, 4 * 60);
    assert!(!state.lock.is_locked());
    assert_eq!(state.lock.failures, 0);
}

#[test]
fn a_failing_check_is_shown_and_never_unlocks() {
    let mut state = session();
    ctrl(&mut state, 'l');
    submit(&mut state, "secret");
    update(
        &mut state,
        Msg::PasswordChecked(Err("no password verifier on this workstation".into())),
    );
    assert!(state.lock.is_locked());
    assert!(
        matches!(notice(&state), Some(Notice::Failed(e)) if e.contains("verifier")),
        "{:?}",
        notice(&state)
    );
    assert_eq!(state.lock.failures, 0, "not a wrong guess");
}

#[test]
fn sync_and_answers_go_on_behind_the_lock() {
    let mut state = session();
    state.sources[0].link = Link::Starting;
    ctrl(&mut state, 'l');
    let fx = update(
        &mut state,
        Msg::Sync {
            source: crate::console::fixture::PROFILE.into(),
            event: SyncEvent::Started,
        },
    );
    assert!(fx.is_empty());
    assert!(state.sources[0].syncing);
    let fx = update(
        &mut state,
        Msg::Sync {
            source: crate::console::fixture::PROFILE.into(),
            event: SyncEvent::Finished {
                applied: 2,
                conflicts: 0,
                failed: 0,
                cases_changed: 3,
                numbered: Vec::new(),
            },
        },
    );
    assert_eq!(state.sources[0].link, Link::Online);
    assert!(!state.sources[0].syncing);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Query(Query::List(_)))),
        "the lists are read again: {fx:?}"
    );
    let generation = state.list.generation;
    update(
        &mut state,
        Msg::Listed {
            generation,
            result: Ok(ListPage {
                offset: 0,
                lines: Vec::new(),
                total: Some(0),
                fuzzy: false,
            }),
        },
    );
    assert_eq!(state.list.total, 0, "the answer applied");
    assert!(state.lock.is_locked(), "and still locked");
}

#[test]
fn a_password_never_shows_in_a_debug_dump() {
    let mut state = session();
    ctrl(&mut state, 'l');
    type_text(&mut state, "hunter2");
    let fx = key(&mut state, KeyCode::Enter);
    let dump = format!("{fx:?}");
    assert!(
        dump.contains("Unlock") && !dump.contains("hunter2"),
        "{dump}"
    );
}

#[tokio::test]
async fn the_injected_check_runs_off_the_loop_and_answers_on_the_channel() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let check: PasswordCheck = Arc::new(|password| Ok(password == "demo"));
    check_in_background(&check, Password("demo".into()), &tx);
    check_in_background(&check, Password("nope".into()), &tx);
    let mut answers = Vec::new();
    for _ in 0..2 {
        match rx.recv().await {
            Some(Msg::PasswordChecked(result)) => answers.push(result),
            other => panic!("a check's answer, got {other:?}"),
        }
    }
    answers.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(answers, [Ok(false), Ok(true)]);
}
