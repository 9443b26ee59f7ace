//! What each mutation does to the database, one transaction each, with
//! DS's state machine and DS's French refusals:
//!
//! en_construction → en_instruction (passer en instruction: the instructeur
//! then follows the dossier); en_instruction → en_construction (repasser en
//! construction, not under SVA/SVR); en_instruction → accepte / refuse /
//! sans_suite; accepte / refuse / sans_suite → en_instruction (repasser en
//! instruction). Every change records a traitement and moves
//! `dateDerniereModification`.
//!
//! Checks come in DS's order: the dossier and instructeur exist (else a
//! top-level `not_found`) in the token's démarches (else "hidden due to
//! permissions"), then the dossier's state ("Le dossier est déjà ..."),
//! then the instructeur's access to the dossier's group.

use std::sync::atomic::{AtomicI64, Ordering};

use async_graphql::ID;
use rusqlite::{Connection, OptionalExtension, params};

use super::dates;
use super::errors::{Failure, hidden, not_found};
use super::ids;
use super::inputs::{AnnotationValueInput, Outcome};
use super::load::{self, DossierRow};
use super::objects::Dossier;
use super::tokens::Scope;
use super::types::{Champ, CorrectionReason, DossierState, Message, Profile, TraitementEvent};

/// A read-only token's mutation.
pub const READ_ONLY: &str = "Le jeton utilisé est configuré seulement en lecture";
/// The instructeur is not in the dossier's group.
pub const NO_ACCESS: &str = "L’instructeur n’a pas les droits d’accès à ce dossier";
/// A message whose body is blank.
pub const EMPTY_MESSAGE: &str = "Votre message ne peut être vide";
/// Ours: DS has no message for this (its guard fails inside the transition).
pub const SVA_SVR_NO_CONSTRUCTION: &str = "Le dossier ne peut pas repasser en construction : la démarche applique le silence vaut accord ou rejet (SVA/SVR)";

/// "Le dossier est déjà en instruction", "... déjà accepté", ...
pub fn already(state: DossierState) -> String {
    format!("Le dossier est déjà {}", state.label_lower())
}

pub fn annotation_unknown(id: &str) -> String {
    format!("L‘annotation \"{id}\" n’existe pas")
}

pub fn annotation_wrong_type(id: &str) -> String {
    format!("L‘annotation \"{id}\" n’est pas de type attendu")
}

pub fn same_groupe(label: &str) -> String {
    format!("Le dossier est déjà avec le groupe instructeur: '{label}'")
}

pub fn other_demarche(label: &str) -> String {
    format!("Le groupe instructeur '{label}' n’appartient pas à la même démarche que le dossier")
}

static LAST_STAMP: AtomicI64 = AtomicI64::new(0);

/// The instant of a write: now, but always after every instant handed out
/// before, so that a page read between two writes never sees the second
/// with an older `updated_at` than the first (no dossier missed by a sync).
pub fn stamp() -> i64 {
    let now = dates::now_micros();
    let mut last = LAST_STAMP.load(Ordering::SeqCst);
    loop {
        let next = now.max(last + 1);
        match LAST_STAMP.compare_exchange(last, next, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// A state change.
#[derive(Debug, Clone)]
pub enum Action {
    PasserEnInstruction,
    RepasserEnConstruction,
    RepasserEnInstruction,
    Accepter(Option<String>),
    Refuser(String),
    ClasserSansSuite(String),
}

impl Action {
    fn allowed_from(&self, state: DossierState) -> bool {
        match self {
            Action::PasserEnInstruction => state == DossierState::EnConstruction,
            Action::RepasserEnConstruction
            | Action::Accepter(_)
            | Action::Refuser(_)
            | Action::ClasserSansSuite(_) => state == DossierState::EnInstruction,
            Action::RepasserEnInstruction => state.is_terminal(),
        }
    }

    fn target(&self) -> (DossierState, TraitementEvent) {
        match self {
            Action::PasserEnInstruction => (
                DossierState::EnInstruction,
                TraitementEvent::PasseEnInstruction,
            ),
            Action::RepasserEnConstruction => (
                DossierState::EnConstruction,
                TraitementEvent::RepasseEnConstruction,
            ),
            Action::RepasserEnInstruction => (
                DossierState::EnInstruction,
                TraitementEvent::RepasseEnInstruction,
            ),
            Action::Accepter(_) => (DossierState::Accepte, TraitementEvent::Accepte),
            Action::Refuser(_) => (DossierState::Refuse, TraitementEvent::Refuse),
            Action::ClasserSansSuite(_) => {
                (DossierState::SansSuite, TraitementEvent::ClasseSansSuite)
            }
        }
    }

    fn motivation(&self) -> Option<&str> {
        match self {
            Action::Accepter(m) => m.as_deref(),
            Action::Refuser(m) | Action::ClasserSansSuite(m) => Some(m),
            _ => None,
        }
    }
}

/// An instructeur: id and e-mail.
pub struct Instructeur {
    pub id: i64,
    pub email: String,
}

impl Instructeur {
    pub fn profile(&self) -> Profile {
        load::profile(self.id, self.email.clone())
    }
}

/// The dossier a mutation names, found and in the token's scope.
fn dossier_named(conn: &Connection, scope: &Scope, id: &ID) -> Result<DossierRow, Failure> {
    let number = ids::decode_number("Dossier", id).ok_or_else(|| not_found("Dossier"))?;
    let row = load::dossier_row_by_number(conn, number)?.ok_or_else(|| not_found("Dossier"))?;
    if !scope.covers(row.demarche) {
        return Err(hidden("Dossier").into());
    }
    Ok(row)
}

fn instructeur_named(conn: &Connection, id: &ID) -> Result<Instructeur, Failure> {
    let number = ids::decode_number("Instructeur", id).ok_or_else(|| not_found("Instructeur"))?;
    conn.query_row(
        "SELECT id, email FROM ds_instructeur WHERE id = ?",
        [number],
        |r| {
            Ok(Instructeur {
                id: r.get(0)?,
                email: r.get(1)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| not_found("Instructeur").into())
}

/// Whether the instructeur is one of the dossier's group's.
fn has_access(conn: &Connection, groupe: i64, instructeur: i64) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM ds_groupe_instructeur WHERE groupe = ? AND instructeur = ?)",
        [groupe, instructeur],
        |r| r.get(0),
    )
}

fn touch(conn: &Connection, number: i64, at: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE ds_dossier SET updated_at = ? WHERE number = ?",
        [at, number],
    )
    .map(drop)
}

fn reload(conn: &Connection, number: i64) -> Result<Dossier, Failure> {
    Ok(load::dossier(conn, number)?.ok_or_else(|| not_found("Dossier"))?)
}

/// Resolves a pending correction (the dossier goes into instruction).
fn resolve_corrections(conn: &Connection, number: i64, at: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE ds_message SET correction_resolved_at = ?
         WHERE dossier = ? AND correction_reason IS NOT NULL AND correction_resolved_at IS NULL",
        [at, number],
    )
    .map(drop)
}

fn record_traitement(
    conn: &Connection,
    number: i64,
    state: DossierState,
    event: TraitementEvent,
    at: i64,
    email: &str,
    motivation: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO ds_traitement (dossier, state, event, processed_at, email_agent, motivation)
         VALUES (?, ?, ?, ?, ?, ?)",
        params![
            number,
            state.as_str(),
            event.as_str(),
            at,
            email,
            motivation
        ],
    )
    .map(drop)
}

pub fn change_state(
    conn: &mut Connection,
    scope: &Scope,
    dossier_id: &ID,
    instructeur_id: &ID,
    action: &Action,
) -> Result<Outcome<Dossier>, Failure> {
    let tx = conn.transaction()?;
    let d = dossier_named(&tx, scope, dossier_id)?;
    let instructeur = instructeur_named(&tx, instructeur_id)?;
    if !action.allowed_from(d.state) {
        return Ok(Outcome::Refused(already(d.state)));
    }
    if !has_access(&tx, d.groupe, instructeur.id)? {
        return Ok(Outcome::Refused(NO_ACCESS.to_string()));
    }
    if matches!(action, Action::RepasserEnConstruction) && load::sva_svr(&tx, d.demarche)?.is_some()
    {
        return Ok(Outcome::Refused(SVA_SVR_NO_CONSTRUCTION.to_string()));
    }
    let now = stamp();
    let (state, event) = action.target();
    match action {
        Action::PasserEnInstruction => {
            tx.execute(
                "UPDATE ds_dossier SET state = ?, en_instruction_at = ?, updated_at = ? WHERE number = ?",
                params![state.as_str(), now, now, d.number],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO ds_follow (dossier, instructeur) VALUES (?, ?)",
                [d.number, instructeur.id],
            )?;
            resolve_corrections(&tx, d.number, now)?;
        }
        Action::RepasserEnConstruction => {
            tx.execute(
                "UPDATE ds_dossier SET state = ?, updated_at = ? WHERE number = ?",
                params![state.as_str(), now, d.number],
            )?;
        }
        Action::RepasserEnInstruction => {
            tx.execute(
                "UPDATE ds_dossier SET state = ?, en_instruction_at = ?, processed_at = NULL,
                   motivation = NULL, archived = 0, updated_at = ? WHERE number = ?",
                params![state.as_str(), now, now, d.number],
            )?;
        }
        Action::Accepter(_) | Action::Refuser(_) | Action::ClasserSansSuite(_) => {
            tx.execute(
                "UPDATE ds_dossier SET state = ?, processed_at = ?, motivation = ?, updated_at = ?
                 WHERE number = ?",
                params![state.as_str(), now, action.motivation(), now, d.number],
            )?;
        }
    }
    record_traitement(
        &tx,
        d.number,
        state,
        event,
        now,
        &instructeur.email,
        action.motivation(),
    )?;
    tx.commit()?;
    Ok(Outcome::Done(reload(conn, d.number)?))
}

/// Posts a message (a replay posts another: DS has no idempotency). With
/// a correction, a dossier in instruction goes back to construction; one
/// in construction keeps its state; either way the correction is recorded
/// unless one is already pending. A closed dossier only gets the message.
pub fn send_message(
    conn: &mut Connection,
    scope: &Scope,
    dossier_id: &ID,
    instructeur_id: &ID,
    body: &str,
    correction: Option<CorrectionReason>,
) -> Result<Outcome<Message>, Failure> {
    let tx = conn.transaction()?;
    let d = dossier_named(&tx, scope, dossier_id)?;
    let instructeur = instructeur_named(&tx, instructeur_id)?;
    if !has_access(&tx, d.groupe, instructeur.id)? {
        return Ok(Outcome::Refused(NO_ACCESS.to_string()));
    }
    if body.trim().is_empty() {
        return Ok(Outcome::Refused(EMPTY_MESSAGE.to_string()));
    }
    let now = stamp();
    let pending: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM ds_message WHERE dossier = ?
           AND correction_reason IS NOT NULL AND correction_resolved_at IS NULL)",
        [d.number],
        |r| r.get(0),
    )?;
    let correction = correction.filter(|_| {
        !pending
            && matches!(
                d.state,
                DossierState::EnConstruction | DossierState::EnInstruction
            )
    });
    tx.execute(
        "INSERT INTO ds_message (dossier, body, created_at, email, correction_reason)
         VALUES (?, ?, ?, ?, ?)",
        params![
            d.number,
            body,
            now,
            instructeur.email,
            correction.map(CorrectionReason::as_str)
        ],
    )?;
    let id = tx.last_insert_rowid();
    if correction.is_some() && d.state == DossierState::EnInstruction {
        tx.execute(
            "UPDATE ds_dossier SET state = 'en_construction' WHERE number = ?",
            [d.number],
        )?;
        record_traitement(
            &tx,
            d.number,
            DossierState::EnConstruction,
            TraitementEvent::RepasseEnConstruction,
            now,
            &instructeur.email,
            None,
        )?;
    }
    touch(&tx, d.number, now)?;
    let message = tx.query_row(
        &format!(
            "SELECT {} FROM ds_message WHERE id = ?",
            load::MESSAGE_COLUMNS
        ),
        [id],
        |r| load::message(r, 0),
    )?;
    tx.commit()?;
    Ok(Outcome::Done(message))
}

/// What `dossierModifierAnnotations` gives back: the annotations written,
/// and DS's message for each one refused.
pub struct Annotated {
    pub written: Vec<Champ>,
    pub refused: Vec<String>,
}

/// Writes private annotations (text and textarea), last writer wins; the
/// others of the list are still written when one is refused, as in DS.
pub fn modify_annotations(
    conn: &mut Connection,
    scope: &Scope,
    dossier_id: &ID,
    instructeur_id: &ID,
    annotations: &[(ID, AnnotationValueInput)],
) -> Result<Outcome<Annotated>, Failure> {
    let tx = conn.transaction()?;
    let d = dossier_named(&tx, scope, dossier_id)?;
    let instructeur = instructeur_named(&tx, instructeur_id)?;
    if !has_access(&tx, d.groupe, instructeur.id)? {
        return Ok(Outcome::Refused(NO_ACCESS.to_string()));
    }
    let now = stamp();
    let mut out = Annotated {
        written: Vec::new(),
        refused: Vec::new(),
    };
    for (id, value) in annotations {
        let descriptor: Option<(i64, String, String)> = match ids::decode_champ(id) {
            Some(stable_id) => tx
                .query_row(
                    "SELECT stable_id, label, type FROM ds_champ_descriptor
                     WHERE stable_id = ? AND demarche = ? AND private = 1",
                    [stable_id, d.demarche],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?,
            None => None,
        };
        let Some((stable_id, label, kind)) = descriptor else {
            out.refused.push(annotation_unknown(id));
            continue;
        };
        let text = match (kind.as_str(), value) {
            ("text", AnnotationValueInput::Text(t))
            | ("textarea", AnnotationValueInput::Textarea(t)) => t,
            _ => {
                out.refused.push(annotation_wrong_type(id));
                continue;
            }
        };
        tx.execute(
            "INSERT INTO ds_champ (dossier, stable_id, value, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (dossier, stable_id) DO UPDATE SET value = excluded.value,
               updated_at = excluded.updated_at",
            params![d.number, stable_id, text, now],
        )?;
        out.written.push(Champ::TextChamp(load::champ(
            stable_id,
            label,
            Some(text.clone()),
            now,
        )));
    }
    if !out.written.is_empty() {
        touch(&tx, d.number, now)?;
    }
    tx.commit()?;
    Ok(Outcome::Done(out))
}

/// Follows (or stops following) a dossier.
pub fn follow(
    conn: &mut Connection,
    scope: &Scope,
    dossier_id: &ID,
    instructeur_id: &ID,
    follow: bool,
) -> Result<Outcome<(Dossier, Profile)>, Failure> {
    let tx = conn.transaction()?;
    let d = dossier_named(&tx, scope, dossier_id)?;
    let instructeur = instructeur_named(&tx, instructeur_id)?;
    if !has_access(&tx, d.groupe, instructeur.id)? {
        return Ok(Outcome::Refused(NO_ACCESS.to_string()));
    }
    let sql = if follow {
        "INSERT OR IGNORE INTO ds_follow (dossier, instructeur) VALUES (?, ?)"
    } else {
        "DELETE FROM ds_follow WHERE dossier = ? AND instructeur = ?"
    };
    tx.execute(sql, [d.number, instructeur.id])?;
    touch(&tx, d.number, stamp())?;
    tx.commit()?;
    Ok(Outcome::Done((
        reload(conn, d.number)?,
        instructeur.profile(),
    )))
}

/// Moves a dossier to another group of its démarche; its followers who
/// are not in that group stop following it.
pub fn change_groupe(
    conn: &mut Connection,
    scope: &Scope,
    dossier_id: &ID,
    groupe_id: &ID,
) -> Result<Outcome<Dossier>, Failure> {
    let tx = conn.transaction()?;
    let d = dossier_named(&tx, scope, dossier_id)?;
    let number = ids::decode_number("GroupeInstructeur", groupe_id)
        .ok_or_else(|| not_found("GroupeInstructeur"))?;
    let (demarche, label): (i64, String) = tx
        .query_row(
            "SELECT demarche, label FROM ds_groupe WHERE number = ?",
            [number],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| not_found("GroupeInstructeur"))?;
    if number == d.groupe {
        return Ok(Outcome::Refused(same_groupe(&label)));
    }
    if demarche != d.demarche {
        return Ok(Outcome::Refused(other_demarche(&label)));
    }
    tx.execute(
        "UPDATE ds_dossier SET groupe = ?, updated_at = ? WHERE number = ?",
        params![number, stamp(), d.number],
    )?;
    tx.execute(
        "DELETE FROM ds_follow WHERE dossier = ?1 AND instructeur NOT IN
           (SELECT instructeur FROM ds_groupe_instructeur WHERE groupe = ?2)",
        [d.number, number],
    )?;
    tx.commit()?;
    Ok(Outcome::Done(reload(conn, d.number)?))
}
