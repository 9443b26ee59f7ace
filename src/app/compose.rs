//! Building the agent's actions from what they chose, and validating them
//! before anything is queued: a refusal now, at the counter, beats a refusal
//! from the back-end hours later after a sync.

use crate::domain::{Action, Case, Choice, ChoiceList, Stage};
use crate::i18n::Lang;
use crate::store::Store;

use super::AppError;

/// "Take": assign to me, and open the case if it was new.
pub fn take(store: &Store, case: &Case, lang: Lang) -> Result<Action, AppError> {
    let me = store
        .me()?
        .ok_or_else(|| AppError::Login(lang.t("error.me_unknown").to_string()))?;
    let state = match store.stage_of_state(&case.state)? {
        Some(stage) if stage.is_final() => {
            return Err(AppError::Invalid(
                lang.f("error.case_final", &[("number", &case.number)]),
            ));
        }
        Some(Stage::New) => store.state_of_stage(Stage::Open)?,
        _ => None,
    };
    Ok(Action::Take { user: me, state })
}

/// Hand the case to an agent, or to a group's queue (ids, as pickers give them).
pub fn assign(user: Option<String>, group: Option<String>, lang: Lang) -> Result<Action, AppError> {
    if user.is_none() && group.is_none() {
        return Err(AppError::Invalid(lang.t("error.assign_nobody").to_string()));
    }
    Ok(Action::Assign { user, group })
}

/// Hand the case to an agent or a group named as the agent typed them.
pub fn assign_named(
    store: &Store,
    user: Option<&str>,
    group: Option<&str>,
    lang: Lang,
) -> Result<Action, AppError> {
    let user = user.map(|u| store.find_user(u)).transpose()?;
    let group = group.map(|g| store.find_group(g)).transpose()?;
    assign(user.map(|u| u.id), group.map(|g| g.id), lang)
}

/// The states a case may move to from where it stands, in list order.
pub fn next_states(store: &Store, case: &Case) -> Result<Vec<Choice>, AppError> {
    let from = store.stage_of_state(&case.state)?;
    let flow = store.state_flow()?;
    Ok(store
        .choices(ChoiceList::State)?
        .into_iter()
        .filter(|c| flow.allows(&case.state, from, c))
        .collect())
}

/// A state change. Resolving needs a resolution code and notes; the move
/// must be one the case flow allows from where the case stands.
pub fn set_state(
    store: &Store,
    case: &Case,
    state: &Choice,
    resolution_code: Option<String>,
    close_notes: Option<String>,
    lang: Lang,
) -> Result<Action, AppError> {
    let from = store.stage_of_state(&case.state)?;
    let flow = store.state_flow()?;
    if !flow.allows(&case.state, from, state) {
        let allowed: Vec<String> = next_states(store, case)?
            .iter()
            .map(|c| label_of(c, lang).to_string())
            .collect();
        return Err(AppError::Invalid(lang.f(
            "error.transition",
            &[
                ("number", &case.number),
                ("state", &label_of(state, lang)),
                ("allowed", &allowed.join(", ")),
            ],
        )));
    }
    let close_notes = close_notes.filter(|n| !n.trim().is_empty());
    if flow.moves.is_empty() {
        if state.stage == Some(Stage::Resolved)
            && (resolution_code.is_none() || close_notes.is_none())
        {
            return Err(AppError::Invalid(lang.t("error.resolve_needs").to_string()));
        }
    } else if flow.needs_notes.contains(&state.value) && close_notes.is_none() {
        // A back-end of its own flow: the decision is the state, and some
        // decisions need their motivation.
        return Err(AppError::Invalid(
            lang.t("error.decision_needs_notes").to_string(),
        ));
    }
    Ok(Action::SetState {
        state: state.value.clone(),
        resolution_code,
        close_notes,
    })
}

/// A resolution code named by its value or a label in either language.
pub fn resolution_code(store: &Store, typed: &str, lang: Lang) -> Result<String, AppError> {
    let codes = store.choices(ChoiceList::Resolution)?;
    if codes.is_empty() {
        return Ok(typed.to_string());
    }
    let wanted = typed.to_lowercase();
    codes
        .iter()
        .find(|c| {
            c.value == typed
                || c.label_en.to_lowercase() == wanted
                || c.label_fr.to_lowercase() == wanted
        })
        .map(|c| c.value.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = codes.iter().map(|c| c.value.as_str()).collect();
            AppError::Invalid(lang.f(
                "error.resolution_unknown",
                &[("code", &typed), ("known", &known.join(", "))],
            ))
        })
}

/// An answer to the citizen.
pub fn comment(text: &str, lang: Lang) -> Result<Action, AppError> {
    Ok(Action::Comment {
        text: non_empty(text, lang)?,
    })
}

/// An internal note.
pub fn note(text: &str, lang: Lang) -> Result<Action, AppError> {
    Ok(Action::WorkNote {
        text: non_empty(text, lang)?,
    })
}

pub fn priority(priority: u8, lang: Lang) -> Result<Action, AppError> {
    if !(1..=4).contains(&priority) {
        return Err(AppError::Invalid(
            lang.t("error.priority_range").to_string(),
        ));
    }
    Ok(Action::Priority { priority })
}

fn non_empty(text: &str, lang: Lang) -> Result<String, AppError> {
    let text = text.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return Err(AppError::Invalid(lang.t("error.text_empty").to_string()));
    }
    Ok(text.to_string())
}

/// A choice's label in the agent's language.
pub fn label_of(choice: &Choice, lang: Lang) -> &str {
    if lang.is_french() {
        &choice.label_fr
    } else {
        &choice.label_en
    }
}
