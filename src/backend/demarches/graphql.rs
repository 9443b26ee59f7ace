//! One GraphQL request to Démarches Simplifiées, and how its failures are
//! classified for the outbox. DS answers HTTP 200 to almost everything:
//! the verdict is in `errors[].extensions.code`, and a mutation's refusal
//! comes back as data (`{ dossier: null, errors: [{ message }] }`).

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::backend::BackendError;
use crate::backend::http::{Client, Effect};

/// The one endpoint of DS's API.
pub const ENDPOINT: &str = "/api/v2/graphql";

/// Sends `query` with `variables` and reads `data` as `T`.
pub async fn request<T: DeserializeOwned>(
    client: &Client,
    query: &str,
    variables: Value,
    effect: Effect,
) -> Result<T, BackendError> {
    let body = json!({ "query": query, "variables": variables });
    let answer = client
        .send_accepting(
            Method::POST,
            ENDPOINT,
            effect,
            |r| r.json(&body),
            &[StatusCode::FORBIDDEN, StatusCode::BAD_REQUEST],
        )
        .await?;
    let status = answer.status;
    if status == StatusCode::FORBIDDEN {
        return Err(BackendError::Auth(format!(
            "Démarches Simplifiées refused the token: {}",
            first_message(&answer.body).unwrap_or("HTTP 403")
        )));
    }
    if status == StatusCode::NOT_FOUND {
        return Err(BackendError::Rejected(format!(
            "no Démarches Simplifiées API at this address ({ENDPOINT} answered 404): check the profile's URL"
        )));
    }
    if !status.is_success() {
        return Err(BackendError::Protocol(format!(
            "Démarches Simplifiées answered HTTP {status}: {}",
            first_message(&answer.body).unwrap_or("no message")
        )));
    }
    if let Some(error) = answer.body["errors"].as_array().and_then(|e| e.first()) {
        return Err(classify(error, effect));
    }
    serde_json::from_value(answer.body["data"].clone()).map_err(|e| {
        let message = format!("unexpected answer from Démarches Simplifiées: {e}");
        match effect {
            // The mutation was answered: it ran, but its result is unread.
            Effect::Write => BackendError::InDoubt(message),
            Effect::Read => BackendError::Protocol(message),
        }
    })
}

fn first_message(body: &Value) -> Option<&str> {
    body["errors"][0]["message"]
        .as_str()
        .or_else(|| body["errors"][0].as_str())
}

/// A top-level GraphQL error, by its code.
fn classify(error: &Value, effect: Effect) -> BackendError {
    let message = error["message"]
        .as_str()
        .or_else(|| error.as_str())
        .unwrap_or("no message")
        .to_string();
    let code = error["extensions"]["code"].as_str().unwrap_or("");
    match code {
        "not_found" => BackendError::NotFound,
        "unauthorized" | "forbidden" | "deprecated_token" => BackendError::Auth(format!(
            "Démarches Simplifiées refused the token: {message}"
        )),
        "timeout" | "internal_server_error" => match effect {
            Effect::Read => BackendError::transient(format!("Démarches Simplifiées: {message}")),
            Effect::Write => BackendError::InDoubt(format!("Démarches Simplifiées: {message}")),
        },
        "graphql_parse_failed" | "bad_request" => BackendError::Protocol(format!(
            "Démarches Simplifiées did not understand Guichet's request: {message}"
        )),
        _ if message.contains("hidden due to permissions") => BackendError::Rejected(format!(
            "the token does not cover this démarche ({message})"
        )),
        _ => BackendError::Rejected(glossed(&message)),
    }
}

/// What a mutation's payload says: refused (its messages), or done.
pub fn refusal(payload: &Value) -> Option<String> {
    let errors = payload["errors"].as_array()?;
    let messages: Vec<&str> = errors
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    (!messages.is_empty()).then(|| messages.join("; "))
}

/// A mutation's refusal as the outbox takes it. A read-only token is not
/// the action's fault: it waits, queued, for a login with a token that
/// writes (DS says so as data, like any other refusal).
pub fn refused(message: &str) -> BackendError {
    if message.contains("seulement en lecture") {
        BackendError::Auth(format!(
            "{message} (the token is read-only: log in again with a read-write token; your actions stay queued)"
        ))
    } else {
        BackendError::Rejected(glossed(message))
    }
}

/// DS's French refusal, with its gist in English after it for agents who
/// read English: the agent sees DS's own words either way.
pub fn glossed(message: &str) -> String {
    const GLOSSES: [(&str, &str); 6] = [
        ("est déjà", "the dossier is already there"),
        (
            "n’a pas les droits",
            "this instructeur has no access to this dossier",
        ),
        (
            "ne peut pas repasser en construction",
            "it cannot go back to construction (silence vaut accord / rejet)",
        ),
        ("motivation", "a motivation is required"),
        (
            "n’appartient pas à la même démarche",
            "that group belongs to another démarche",
        ),
        (
            "n’est pas en instruction",
            "the dossier is not in instruction",
        ),
    ];
    match GLOSSES.iter().find(|(french, _)| message.contains(french)) {
        Some((_, english)) => format!("{message} ({english})"),
        None => message.to_string(),
    }
}

/// A refusal that says the dossier is already where the action takes it
/// ("Le dossier est déjà en instruction"): a replay, settled by reading.
pub fn says_already(message: &str) -> bool {
    message.contains("déjà")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_their_code() {
        let e =
            |code: &str, message: &str| json!({"message": message, "extensions": {"code": code}});
        assert_eq!(
            classify(&e("not_found", "Dossier not found"), Effect::Read),
            BackendError::NotFound
        );
        assert!(matches!(
            classify(&e("unauthorized", "read-only"), Effect::Write),
            BackendError::Auth(_)
        ));
        assert!(matches!(
            classify(&e("timeout", "too long"), Effect::Read),
            BackendError::Transient { .. }
        ));
        assert!(matches!(
            classify(&e("timeout", "too long"), Effect::Write),
            BackendError::InDoubt(_)
        ));
        assert!(matches!(
            classify(
                &json!({"message": "An object of type Demarche was hidden due to permissions"}),
                Effect::Read
            ),
            BackendError::Rejected(m) if m.contains("does not cover")
        ));
        assert_eq!(
            refusal(
                &json!({"dossier": null, "errors": [{"message": "Le dossier est déjà en instruction"}]})
            ),
            Some("Le dossier est déjà en instruction".into())
        );
        assert_eq!(refusal(&json!({"dossier": {}, "errors": null})), None);
        assert!(says_already("Le dossier est déjà accepté"));
        assert_eq!(
            glossed("L’instructeur n’a pas les droits d’accès à ce dossier"),
            "L’instructeur n’a pas les droits d’accès à ce dossier (this instructeur has no access to this dossier)"
        );
        assert_eq!(glossed("Autre chose"), "Autre chose");
    }
}
