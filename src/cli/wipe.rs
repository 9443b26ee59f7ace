//! `guichet logout --wipe`: deleting a profile's local store loses no
//! queued work. It goes ahead only when every action not yet applied is in
//! an export file (`guichet queue export FILE`), or when the agent said to
//! drop them (`--drop-unsent`, confirmed on the terminal or by `--yes`); and
//! not while an action's outcome is unknown (sent, no answer), which an
//! export could have entered again elsewhere, twice.

use std::io::IsTerminal;
use std::path::Path;

use super::session::{Failure, code, read_line};
use crate::i18n::Lang;
use crate::store::{OutboxState, Store, StoreError, StoreKey};

/// What the agent allowed a wipe to lose.
pub struct Consent {
    pub drop_unsent: bool,
    pub yes: bool,
}

/// Deletes the store at `path` as the agent allowed; returns how many
/// unsent actions are now only in an export file.
pub fn wipe(
    path: &Path,
    key: Option<&StoreKey>,
    name: &str,
    lang: Lang,
    consent: &Consent,
) -> Result<usize, Failure> {
    if !path.exists() {
        return Ok(0);
    }
    // A first look, holding no lock while the agent is asked: what is
    // waiting, and which of it is in no export file.
    let store = match Store::open(path, key) {
        // Damaged: its unsent actions are in the rescue file it just
        // named (as in an export), to import into the store made next.
        Err(StoreError::Damaged {
            rescued, actions, ..
        }) => {
            Store::wipe_unreadable(path)?;
            eprintln!(
                "{}",
                lang.f(
                    "cli.wipe_damaged",
                    &[
                        ("name", &name),
                        ("count", &actions),
                        ("file", &rescued.display())
                    ],
                )
            );
            return Ok(actions);
        }
        opened => opened?,
    };
    if !consent.drop_unsent {
        outcomes_known(&store, name, lang)?;
    }
    let at_risk = store.unexported()?;
    drop(store);
    let newest_at_risk = at_risk.last().map(|e| e.seq);
    if !at_risk.is_empty() {
        if !consent.drop_unsent {
            return Err(Failure::new(
                code::ERROR,
                lang.f(
                    "cli.logout_store_kept",
                    &[("name", &name), ("waiting", &at_risk.len())],
                ),
            ));
        }
        confirm(name, at_risk.len(), lang, consent.yes)?;
    }
    // Then, with no other process on the store, the same look again.
    let mut only_exported = 0;
    Store::wipe(path, key, |store| {
        if !consent.drop_unsent {
            outcomes_known(store, name, lang)?;
        }
        only_exported = still_allowed(store, newest_at_risk, name, lang)?;
        Ok::<(), Failure>(())
    })?;
    Ok(only_exported)
}

/// An action sent whose answer never came may have landed: entered again
/// from an export on another workstation, it would be applied twice. The
/// store keeps until a sync learns its outcome (or the agent drops it).
fn outcomes_known(store: &Store, name: &str, lang: Lang) -> Result<(), Failure> {
    let unknown = store
        .queue(false)?
        .iter()
        .filter(|e| e.doubtful || matches!(e.state, OutboxState::Sending | OutboxState::InDoubt))
        .count();
    if unknown == 0 {
        return Ok(());
    }
    Err(Failure::new(
        code::ERROR,
        lang.f(
            "cli.wipe_outcome_unknown",
            &[("name", &name), ("count", &unknown)],
        ),
    ))
}

/// Whether the wipe agreed on a first look may go on: not when an action
/// was queued since, as it is in no export file and the agent did not agree
/// to lose it. Returns how many unsent actions are only in an export file.
fn still_allowed(
    store: &Store,
    newest_at_risk: Option<i64>,
    name: &str,
    lang: Lang,
) -> Result<usize, Failure> {
    let unexported = store.unexported()?;
    let queued_since = unexported
        .iter()
        .any(|e| newest_at_risk.is_none_or(|newest| e.seq > newest));
    if queued_since {
        return Err(Failure::new(
            code::ERROR,
            lang.f("cli.wipe_queued_meanwhile", &[("name", &name)]),
        ));
    }
    let waiting = usize::try_from(store.unfinished_count()?).unwrap_or(usize::MAX);
    Ok(waiting.saturating_sub(unexported.len()))
}

/// Asks the agent on the terminal; without one, `--yes` is the answer.
fn confirm(name: &str, count: usize, lang: Lang, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            lang.f("cli.wipe_needs_yes", &[("count", &count)]),
        ));
    }
    eprint!(
        "{}",
        lang.f(
            "cli.wipe_confirm",
            &[
                ("count", &count),
                ("name", &name),
                ("word", &lang.t("cli.wipe_confirm_word")),
            ],
        )
    );
    let answer = read_line(lang, "cli.stdin_unreadable")?
        .trim()
        .to_lowercase();
    if answer == lang.t("cli.wipe_confirm_word") {
        Ok(())
    } else {
        Err(Failure::new(
            code::ERROR,
            lang.f("cli.wipe_not_confirmed", &[("name", &name)]),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Action;

    #[test]
    fn an_action_whose_outcome_is_unknown_stops_the_wipe_even_exported() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("p.db"), None).unwrap();
        crate::store::save_case_one(&mut store);
        let sent = store
            .enqueue("CS1", Action::WorkNote { text: "a".into() })
            .unwrap();
        store.mark_exported(sent.seq).unwrap();
        assert!(outcomes_known(&store, "p", Lang::En).is_ok());
        assert!(store.mark_sending(&sent.id, false, None).unwrap());
        store.mark_in_doubt(&sent.id, "no answer", 0).unwrap();
        let e = outcomes_known(&store, "p", Lang::En).unwrap_err();
        assert!(e.message.contains("guichet sync"), "{}", e.message);
        // The export does not help: the file would send it a second time.
        assert_eq!(store.unexported().unwrap().len(), 0);
    }

    #[test]
    fn an_action_queued_after_the_first_look_stops_the_wipe() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("p.db"), None).unwrap();
        crate::store::save_case_one(&mut store);
        let note = |text: &str| Action::WorkNote { text: text.into() };
        let exported = store.enqueue("CS1", note("a")).unwrap();
        store.mark_exported(exported.seq).unwrap();
        // Nothing at risk at the first look: one action, exported.
        assert_eq!(still_allowed(&store, None, "p", Lang::En).unwrap(), 1);
        let agreed = store.enqueue("CS1", note("b")).unwrap();
        // The agent agreed to lose the second one, not a third.
        assert_eq!(
            still_allowed(&store, Some(agreed.seq), "p", Lang::En).unwrap(),
            1
        );
        store.enqueue("CS1", note("c")).unwrap();
        for newest in [None, Some(agreed.seq)] {
            let e = still_allowed(&store, newest, "p", Lang::En).unwrap_err();
            assert!(e.message.contains("meanwhile"), "{}", e.message);
        }
    }
}
