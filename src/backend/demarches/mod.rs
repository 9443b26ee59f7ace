//! The Démarches Simplifiées adapter: DS's GraphQL API (v2) behind the
//! `Backend` trait. Dossiers of the agent's instructeur groups are his
//! cases (`DS-<n>`); the token is an administrator's, and the instructeur
//! the agent is (`--as EMAIL`) is who every mutation acts as.
//!
//! Exactly once without keys or versions, DS's way: DS answers a replayed
//! state change "Le dossier est déjà …", which is settled by reading the
//! dossier's state; a message or an internal note whose answer was lost is
//! found again in the dossier's timeline by the outbox's read-back (text,
//! author, the back-end's clock); a note also carries its action's
//! reference, so that one is never appended twice.

mod graphql;
pub mod ids;
mod moves;
mod notes;
pub mod queries;
mod streams;
mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{Client, Effect};
use super::{
    Actions, Backend, BackendError, BackendResult, Capabilities, ChangedCases, Directory, Me,
    ProcedureInfo, Push, StateFlow, Watermark,
};
pub use crate::backend::http::Settings as HttpSettings;
use crate::domain::{
    Action, Case, Choice, ChoiceList, Citizen, Group, TimelineEntry, User, is_provisional,
};
pub use moves::STATES;

/// Dossiers per page: DS's ceiling (it caps `first` at 100 silently).
const PAGE: usize = 100;

/// How to reach a DS instance and who the agent is on it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Transport; `api_token` holds the administrator's token.
    pub http: HttpSettings,
    /// The instructeur the agent is.
    pub email: String,
    /// The démarches the agent works (no query lists those a token covers).
    pub demarches: Vec<i64>,
    /// The private annotation internal notes are appended to.
    pub notes_annotation: Option<String>,
}

/// Who the agent is on the démarches: resolved once per process.
#[derive(Debug)]
struct Identity {
    instructeur: String,
    /// The instructeur's e-mail as DS spells it: messages name their
    /// author by it, and the read-back compares it with ours.
    email: String,
    demarches: Vec<wire::Demarche>,
    /// The agent's groups: (number, id).
    groups: Vec<(i64, String)>,
}

impl Identity {
    fn group_numbers(&self) -> Vec<i64> {
        self.groups.iter().map(|g| g.0).collect()
    }
    fn has_group(&self, id: &str) -> bool {
        self.groups.iter().any(|g| g.1 == id)
    }
}

pub struct Demarches {
    client: Client,
    email: String,
    demarches: Vec<i64>,
    notes_annotation: Option<String>,
    in_flight: usize,
    identity: tokio::sync::Mutex<Option<Arc<Identity>>>,
    streams: Mutex<Option<streams::Streams>>,
    /// Demandeurs seen in dossiers: DS has no query for one by id.
    citizens: Mutex<HashMap<String, Citizen>>,
}

/// The answer to a batched document: one value per alias (`a0`, `a1`…).
#[derive(Deserialize)]
#[serde(transparent)]
struct Aliased(serde_json::Map<String, Value>);

impl Aliased {
    fn take<T: serde::de::DeserializeOwned>(&self, i: usize) -> BackendResult<T> {
        let value = self.0.get(&format!("a{i}")).cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|e| {
            BackendError::Protocol(format!("unexpected answer from Démarches Simplifiées: {e}"))
        })
    }
}

/// One page to read: a group, where its stream stands, a state or all.
struct PageAsk {
    group: i64,
    after: Option<String>,
    state: Option<&'static str>,
}

/// At most this many groups' pages in one request (100 dossiers each).
const PAGES_PER_REQUEST: usize = 8;
/// At most this many dossiers' timelines in one request.
const TIMELINES_PER_REQUEST: usize = 25;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound = "T: Deserialize<'de>")]
struct GroupData<T> {
    groupe_instructeur: GroupConnections<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound = "T: Deserialize<'de>")]
struct GroupConnections<T> {
    #[serde(default = "Option::default")]
    dossiers: Option<wire::Connection<T>>,
    #[serde(default = "Option::default")]
    deleted_dossiers: Option<wire::Connection<T>>,
}

#[derive(Deserialize)]
struct DossierData<T> {
    dossier: T,
}

#[derive(Deserialize)]
struct Timeline {
    id: String,
    #[serde(default)]
    messages: Vec<wire::Message>,
    #[serde(default)]
    annotations: Vec<wire::Annotation>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Demarches {
    pub fn new(settings: Settings) -> BackendResult<Demarches> {
        if settings.http.api_token.as_deref().is_none_or(str::is_empty) {
            return Err(BackendError::Auth(
                "no Démarches Simplifiées token: log in with --token-stdin".into(),
            ));
        }
        if settings.demarches.is_empty() {
            return Err(BackendError::Rejected(
                "no démarche named: DS has no query listing a token's démarches, so the profile names them (--demarche N)".into(),
            ));
        }
        Ok(Demarches {
            in_flight: settings.http.requests_in_flight.max(1),
            client: Client::new(settings.http)?,
            email: settings.email,
            demarches: settings.demarches,
            notes_annotation: settings.notes_annotation.filter(|n| !n.trim().is_empty()),
            identity: tokio::sync::Mutex::new(None),
            streams: Mutex::new(None),
            citizens: Mutex::new(HashMap::new()),
        })
    }

    pub fn auth_method(&self) -> &'static str {
        self.client.auth_method()
    }

    /// Whether the token may write. A follow of dossier 0, which never
    /// exists, is refused for a read-only token before any dossier is
    /// looked for, and otherwise for the missing dossier: nothing changes.
    pub async fn can_write(&self) -> BackendResult<bool> {
        let identity = self.identity().await?;
        let input = json!({
            "dossierId": "RG9zc2llci0w", "instructeurId": identity.instructeur, "follow": true,
        });
        let document = queries::dossier_mutation(moves::SUIVRE.mutation, moves::SUIVRE.input);
        match graphql::request::<Value>(
            &self.client,
            &document,
            json!({ "input": input }),
            Effect::Write,
        )
        .await
        {
            // DS refuses a read-only token as data, before looking for the
            // dossier.
            Ok(data) => Ok(!matches!(
                graphql::refusal(&data[moves::SUIVRE.mutation]).map(|r| graphql::refused(&r)),
                Some(BackendError::Auth(_))
            )),
            Err(BackendError::Auth(_)) => Ok(false),
            Err(e @ (BackendError::Transient { .. } | BackendError::InDoubt(_))) => Err(e),
            _ => Ok(true),
        }
    }

    pub fn proxy_in_use(&self) -> Option<(String, Option<&'static str>)> {
        self.client.proxy_in_use()
    }

    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> BackendResult<T> {
        graphql::request(&self.client, query, variables, Effect::Read).await
    }

    /// The démarches, their groups, and the instructeur the agent is.
    async fn identity(&self) -> BackendResult<Arc<Identity>> {
        let mut held = self.identity.lock().await;
        if let Some(identity) = held.as_ref() {
            return Ok(identity.clone());
        }
        let mut variables = serde_json::Map::new();
        for (i, number) in self.demarches.iter().enumerate() {
            variables.insert(format!("d{i}"), json!(number));
        }
        let data: Aliased = self
            .read(
                &queries::demarches(self.demarches.len()),
                Value::Object(variables),
            )
            .await?;
        let demarches = (0..self.demarches.len())
            .map(|i| data.take::<wire::Demarche>(i))
            .collect::<BackendResult<Vec<_>>>()?;
        let mine = |p: &wire::Profile| p.email.eq_ignore_ascii_case(&self.email);
        let (instructeur, email) = demarches
            .iter()
            .flat_map(|d| &d.groupe_instructeurs)
            .flat_map(|g| &g.instructeurs)
            .find(|p| mine(p))
            .and_then(|p| Some((p.id.clone()?, p.email.clone())))
            .ok_or_else(|| {
                BackendError::Auth(format!(
                    "{} is not an instructeur of démarche(s) {}: check --as and --demarche",
                    self.email,
                    self.demarches
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let groups = demarches
            .iter()
            .flat_map(|d| &d.groupe_instructeurs)
            .filter(|g| !g.closed && g.instructeurs.iter().any(mine))
            .map(|g| (g.number, g.id.clone()))
            .collect();
        let identity = Arc::new(Identity {
            instructeur,
            email,
            demarches,
            groups,
        });
        *held = Some(identity.clone());
        Ok(identity)
    }

    /// Dossiers read from an answer: cases (as the agent sees them), their
    /// demandeurs kept as citizens, and how many could not be read.
    fn take_dossiers(&self, nodes: Vec<Option<Value>>, me: &str) -> (Vec<Case>, usize) {
        let mut cases = Vec::with_capacity(nodes.len());
        let mut unreadable = 0;
        let mut citizens = lock(&self.citizens);
        for node in nodes.into_iter().flatten() {
            match serde_json::from_value::<wire::Dossier>(node) {
                Ok(dossier) => {
                    let citizen = dossier.citizen();
                    citizens.insert(citizen.id.clone(), citizen);
                    cases.push(dossier.case(me));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable dossier skipped");
                    unreadable += 1;
                }
            }
        }
        (cases, unreadable)
    }

    /// Pages of several groups' dossiers, in as few requests as fit.
    async fn pages(
        &self,
        asks: &[PageAsk],
        since: Option<crate::domain::Timestamp>,
    ) -> BackendResult<Vec<(Vec<Option<Value>>, wire::PageInfo)>> {
        let mut pages = Vec::with_capacity(asks.len());
        for chunk in asks.chunks(PAGES_PER_REQUEST) {
            let mut variables = serde_json::Map::new();
            variables.insert("first".into(), json!(PAGE));
            variables.insert("since".into(), json!(since.map(ids::write_datetime)));
            for (i, ask) in chunk.iter().enumerate() {
                variables.insert(format!("g{i}"), json!(ask.group));
                variables.insert(format!("a{i}"), json!(ask.after));
                variables.insert(format!("s{i}"), json!(ask.state));
            }
            let data: Aliased = self
                .read(&queries::group_pages(chunk.len()), Value::Object(variables))
                .await?;
            for i in 0..chunk.len() {
                let group: GroupConnections<Value> = data.take(i)?;
                let connection = group.dossiers.ok_or_else(|| {
                    BackendError::Protocol("a group answered without its dossiers".into())
                })?;
                pages.push((connection.nodes, connection.page_info));
            }
        }
        Ok(pages)
    }

    /// Every dossier of the agent's groups in these states.
    async fn all_in_states(
        &self,
        identity: &Identity,
        states: &[&'static str],
    ) -> BackendResult<Vec<Case>> {
        let mut cases = Vec::new();
        let mut asks: Vec<PageAsk> = identity
            .group_numbers()
            .into_iter()
            .flat_map(|group| {
                states.iter().map(move |state| PageAsk {
                    group,
                    after: None,
                    state: Some(state),
                })
            })
            .collect();
        while !asks.is_empty() {
            let pages = self.pages(&asks, None).await?;
            let mut next = Vec::new();
            for (ask, (nodes, info)) in asks.into_iter().zip(pages) {
                cases.extend(self.take_dossiers(nodes, &identity.instructeur).0);
                if info.has_next_page && info.end_cursor.is_some() {
                    next.push(PageAsk {
                        after: info.end_cursor,
                        ..ask
                    });
                }
            }
            asks = next;
        }
        Ok(cases)
    }

    /// Dossiers of the agent's groups deleted since `since`: the first page
    /// of every group in one request, any further page group by group.
    async fn deleted_since(
        &self,
        identity: &Identity,
        since: crate::domain::Timestamp,
    ) -> BackendResult<Vec<String>> {
        let groups = identity.group_numbers();
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let mut variables = serde_json::Map::new();
        variables.insert("since".into(), json!(ids::write_datetime(since)));
        for (i, group) in groups.iter().enumerate() {
            variables.insert(format!("g{i}"), json!(group));
        }
        let data: Aliased = self
            .read(
                &queries::groups_deleted(groups.len()),
                Value::Object(variables),
            )
            .await?;
        let mut gone = Vec::new();
        for (i, &group) in groups.iter().enumerate() {
            let first: GroupConnections<wire::Deleted> = data.take(i)?;
            let Some(mut connection) = first.deleted_dossiers else {
                continue;
            };
            loop {
                gone.extend(connection.nodes.into_iter().flatten().map(|d| d.id));
                let (true, Some(after)) = (
                    connection.page_info.has_next_page,
                    connection.page_info.end_cursor,
                ) else {
                    break;
                };
                let data: GroupData<wire::Deleted> = self
                    .read(
                        queries::GROUP_DELETED,
                        json!({ "group": group, "since": ids::write_datetime(since), "after": after }),
                    )
                    .await?;
                let Some(next) = data.groupe_instructeur.deleted_dossiers else {
                    break;
                };
                connection = next;
            }
        }
        Ok(gone)
    }

    /// One dossier, if the agent can see it (in one of his groups).
    async fn dossier(&self, identity: &Identity, id: &str) -> BackendResult<Option<Case>> {
        let Some(number) = ids::dossier_number(id) else {
            return Ok(None);
        };
        let data: Result<DossierData<Value>, _> = self
            .read(
                &queries::with_fields(queries::DOSSIER),
                json!({ "number": number }),
            )
            .await;
        let node = match data {
            Ok(data) => data.dossier,
            Err(BackendError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let (mut cases, unreadable) = self.take_dossiers(vec![Some(node)], &identity.instructeur);
        if unreadable > 0 {
            return Err(BackendError::Protocol(format!(
                "dossier {number} could not be read"
            )));
        }
        Ok(cases
            .pop()
            .filter(|c| c.group.as_deref().is_some_and(|g| identity.has_group(g))))
    }

    /// The timelines of these dossiers: several in each request; a batch
    /// that names a dossier gone since (which voids the whole answer) is
    /// read again one by one.
    async fn timelines(&self, ids: &[String]) -> BackendResult<Vec<TimelineEntry>> {
        let numbers: Vec<i64> = ids
            .iter()
            .filter_map(|id| ids::dossier_number(id))
            .collect();
        let mut entries = Vec::new();
        for chunk in numbers.chunks(TIMELINES_PER_REQUEST) {
            match self.timeline_batch(chunk).await {
                Ok(found) => entries.extend(found),
                Err(BackendError::NotFound) if chunk.len() > 1 => {
                    for number in chunk {
                        match self.timeline_batch(std::slice::from_ref(number)).await {
                            Ok(found) => entries.extend(found),
                            Err(BackendError::NotFound) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(BackendError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(entries)
    }

    async fn timeline_batch(&self, numbers: &[i64]) -> BackendResult<Vec<TimelineEntry>> {
        let mut variables = serde_json::Map::new();
        for (i, number) in numbers.iter().enumerate() {
            variables.insert(format!("n{i}"), json!(number));
        }
        let data: Aliased = self
            .read(&queries::timelines(numbers.len()), Value::Object(variables))
            .await?;
        let mut entries = Vec::new();
        for i in 0..numbers.len() {
            let timeline: Option<Timeline> = data.take(i)?;
            if let Some(timeline) = timeline {
                entries.extend(self.entries_of(&timeline));
            }
        }
        Ok(entries)
    }

    /// A dossier's timeline: its messages, and the notes of the annotation.
    fn entries_of(&self, dossier: &Timeline) -> Vec<TimelineEntry> {
        let case_id = dossier.id.clone();
        let mut entries: Vec<TimelineEntry> =
            dossier.messages.iter().map(|m| m.entry(&case_id)).collect();
        if let Some(label) = &self.notes_annotation
            && let Some(annotation) = dossier.annotations.iter().find(|a| &a.label == label)
        {
            entries.extend(notes::entries(
                &case_id,
                &annotation.id,
                annotation.string_value.as_deref().unwrap_or(""),
            ));
        }
        entries.sort_by_key(|e| e.at);
        entries
    }

    /// Sends a mutation answering with the dossier; "déjà …" is settled by
    /// reading the dossier and checking it is where the action takes it.
    async fn mutate(
        &self,
        identity: &Identity,
        mutation: moves::Mutation,
        input: Value,
        landed: impl Fn(&Case) -> bool,
        case_id: &str,
    ) -> BackendResult<Case> {
        let document = queries::dossier_mutation(mutation.mutation, mutation.input);
        let data: Value = graphql::request(
            &self.client,
            &document,
            json!({ "input": input }),
            Effect::Write,
        )
        .await?;
        let payload = &data[mutation.mutation];
        if let Some(refusal) = graphql::refusal(payload) {
            if graphql::says_already(&refusal)
                && let Some(case) = self.dossier(identity, case_id).await?
                && landed(&case)
            {
                return Ok(case);
            }
            return Err(graphql::refused(&refusal));
        }
        let node = payload["dossier"].clone();
        if node.is_null() {
            return Err(BackendError::InDoubt(format!(
                "{} answered without the dossier",
                mutation.mutation
            )));
        }
        let (mut cases, _) = self.take_dossiers(vec![Some(node)], &identity.instructeur);
        cases.pop().ok_or_else(|| {
            BackendError::InDoubt(format!(
                "{} answered a dossier that cannot be read",
                mutation.mutation
            ))
        })
    }

    async fn take(&self, identity: &Identity, push: &Push<'_>, user: &str) -> BackendResult<Case> {
        if user != identity.instructeur {
            return Err(BackendError::Rejected(
                "Démarches Simplifiées: an instructeur can only follow a dossier himself".into(),
            ));
        }
        let current = self.current(identity, push.case_id).await?;
        let input = json!({ "dossierId": push.case_id, "instructeurId": identity.instructeur });
        if current.state == moves::EN_CONSTRUCTION {
            // Passing it into instruction makes the instructeur follow it.
            return self
                .mutate(
                    identity,
                    moves::PASSER_EN_INSTRUCTION,
                    input,
                    |c| c.state == moves::EN_INSTRUCTION,
                    push.case_id,
                )
                .await;
        }
        let mut input = input;
        input["follow"] = true.into();
        self.mutate(identity, moves::SUIVRE, input, |_| true, push.case_id)
            .await
    }

    async fn current(&self, identity: &Identity, case_id: &str) -> BackendResult<Case> {
        self.dossier(identity, case_id)
            .await?
            .ok_or(BackendError::NotFound)
    }

    async fn set_state(
        &self,
        identity: &Identity,
        push: &Push<'_>,
        to: &str,
        motivation: Option<&str>,
    ) -> BackendResult<Case> {
        let current = self.current(identity, push.case_id).await?;
        if current.state == to {
            // Already there: a replay whose answer was lost, or a colleague.
            return Ok(current);
        }
        let motivation = motivation.map(str::trim).filter(|m| !m.is_empty());
        let mut input = json!({ "dossierId": push.case_id, "instructeurId": identity.instructeur });
        if to == moves::EN_CONSTRUCTION
            && current.state == moves::EN_INSTRUCTION
            && let Some(text) = motivation
        {
            // Back to construction with words: a correction request, the
            // message telling the citizen what to correct.
            input["body"] = text.into();
            input["correction"] = "incomplete".into();
            self.send_message(input).await?;
            return self.current(identity, push.case_id).await;
        }
        let Some(mutation) = moves::between(&current.state, to) else {
            return Err(BackendError::Rejected(format!(
                "Démarches Simplifiées cannot take a dossier from {} to {to}",
                current.state
            )));
        };
        if moves::needs_motivation(to) && motivation.is_none() {
            return Err(BackendError::Rejected(format!(
                "Démarches Simplifiées requires a motivation to move a dossier to {to}"
            )));
        }
        if mutation == moves::ACCEPTER || moves::needs_motivation(to) {
            input["motivation"] = motivation.map_or(Value::Null, Value::from);
        }
        self.mutate(identity, mutation, input, |c| c.state == to, push.case_id)
            .await
    }

    async fn send_message(&self, input: Value) -> BackendResult<()> {
        let data: Value = graphql::request(
            &self.client,
            queries::SEND_MESSAGE,
            json!({ "input": input }),
            Effect::Write,
        )
        .await?;
        match graphql::refusal(&data["dossierEnvoyerMessage"]) {
            Some(refusal) => Err(graphql::refused(&refusal)),
            None => Ok(()),
        }
    }

    /// Appends a note to the profile's annotation, unless it holds it already.
    async fn note(&self, identity: &Identity, push: &Push<'_>, text: &str) -> BackendResult<Case> {
        let Some(label) = &self.notes_annotation else {
            return Err(BackendError::Rejected(
                "Démarches Simplifiées has no internal notes: the profile names no private annotation to keep them in (notes_annotation)".into(),
            ));
        };
        let number = ids::dossier_number(push.case_id).ok_or(BackendError::NotFound)?;
        let data: DossierData<Timeline> = self
            .read(queries::TIMELINE, json!({ "number": number }))
            .await?;
        let Some(annotation) = data.dossier.annotations.iter().find(|a| &a.label == label) else {
            return Err(BackendError::Rejected(format!(
                "this dossier's démarche has no private annotation named \"{label}\" to keep internal notes in"
            )));
        };
        let current = annotation.string_value.clone().unwrap_or_default();
        if !notes::holds(&current, push.action_id) {
            let now = crate::domain::Timestamp::from(
                crate::domain::Clock::system()
                    .instant_ahead_by(self.client.clock_offset().unwrap_or(0)),
            );
            let value = notes::append(&current, now, &identity.email, push.action_id, text);
            // The value's key is the annotation's kind; one that DS refuses
            // for its kind changed nothing, and the other kind is tried.
            let first = if annotation.typename == "TextareaChamp" {
                "textarea"
            } else {
                "text"
            };
            let second = if first == "text" { "textarea" } else { "text" };
            for key in [first, second] {
                let input = json!({
                    "dossierId": push.case_id, "instructeurId": identity.instructeur,
                    "annotations": [{ "id": annotation.id, "value": { key: &value } }],
                });
                let answer: Value = graphql::request(
                    &self.client,
                    queries::SET_ANNOTATIONS,
                    json!({ "input": input }),
                    Effect::Write,
                )
                .await?;
                match graphql::refusal(&answer["dossierModifierAnnotations"]) {
                    None => break,
                    Some(refusal) if key == first && refusal.contains("type attendu") => continue,
                    Some(refusal) => return Err(graphql::refused(&refusal)),
                }
            }
        }
        self.current(identity, push.case_id).await
    }
}

impl Backend for Demarches {
    fn clock_offset(&self) -> Option<i64> {
        self.client.clock_offset()
    }

    fn requests_in_flight(&self) -> usize {
        self.in_flight
    }

    fn actions(&self) -> Actions {
        Actions {
            open: false,
            priority: false,
            assign_others: false,
            work_note: self.notes_annotation.is_some(),
        }
    }

    fn state_flow(&self) -> StateFlow {
        let states = moves::STATES.map(|s| s.0);
        StateFlow {
            moves: states
                .iter()
                .flat_map(|from| states.iter().map(move |to| (*from, *to)))
                .filter(|(from, to)| moves::between(from, to).is_some())
                .map(|(from, to)| (from.to_string(), to.to_string()))
                .collect(),
            needs_notes: states
                .iter()
                .filter(|s| moves::needs_motivation(s))
                .map(|s| s.to_string())
                .collect(),
        }
    }

    async fn capabilities(&self) -> BackendResult<Capabilities> {
        // One small request, as for ServiceNow: it also checks the token.
        self.identity().await?;
        Ok(Capabilities::default())
    }

    async fn me(&self) -> BackendResult<Me> {
        let identity = self.identity().await?;
        Ok(Me {
            user: User {
                id: identity.instructeur.clone(),
                user_name: identity.email.clone(),
                name: identity.email.clone(),
                email: identity.email.clone(),
                active: true,
            },
            groups: identity.groups.iter().map(|g| g.1.clone()).collect(),
        })
    }

    async fn directory(&self) -> BackendResult<Directory> {
        let identity = self.identity().await?;
        let mut directory = Directory::default();
        let mut users = HashSet::new();
        for demarche in &identity.demarches {
            for group in &demarche.groupe_instructeurs {
                directory.groups.push(Group {
                    id: group.id.clone(),
                    name: format!("{} · {}", group.label, demarche.title),
                });
                for profile in &group.instructeurs {
                    let Some(id) = &profile.id else { continue };
                    directory.memberships.push((id.clone(), group.id.clone()));
                    if users.insert(id.clone()) {
                        directory.users.push(User {
                            id: id.clone(),
                            user_name: profile.email.clone(),
                            name: profile.email.clone(),
                            email: profile.email.clone(),
                            active: true,
                        });
                    }
                }
            }
        }
        Ok(directory)
    }

    async fn choices(&self) -> BackendResult<Vec<Choice>> {
        let identity = self.identity().await?;
        let mut choices: Vec<Choice> = moves::STATES
            .iter()
            .enumerate()
            .map(|(i, (value, fr, en, stage))| Choice {
                list: ChoiceList::State,
                value: value.to_string(),
                label_en: en.to_string(),
                label_fr: fr.to_string(),
                sequence: i as i64,
                stage: Some(*stage),
            })
            .collect();
        choices.extend(identity.demarches.iter().enumerate().map(|(i, d)| Choice {
            list: ChoiceList::Procedure,
            value: d.number.to_string(),
            label_en: d.title.clone(),
            label_fr: d.title.clone(),
            sequence: i as i64,
            stage: None,
        }));
        // The decisions, as resolutions: a decided dossier shows its
        // decision by its label.
        choices.extend(
            moves::STATES
                .iter()
                .filter(|(value, ..)| moves::is_decision(value))
                .enumerate()
                .map(|(i, (value, fr, en, _))| Choice {
                    list: ChoiceList::Resolution,
                    value: value.to_string(),
                    label_en: en.to_string(),
                    label_fr: fr.to_string(),
                    sequence: i as i64,
                    stage: None,
                }),
        );
        choices.push(Choice {
            list: ChoiceList::Channel,
            value: "web".into(),
            label_en: "Online".into(),
            label_fr: "En ligne".into(),
            sequence: 0,
            stage: None,
        });
        Ok(choices)
    }

    async fn procedures(&self) -> BackendResult<Vec<ProcedureInfo>> {
        let identity = self.identity().await?;
        Ok(identity
            .demarches
            .iter()
            .map(|d| ProcedureInfo {
                code: d.number.to_string(),
                label_en: d.title.clone(),
                label_fr: d.title.clone(),
                ..ProcedureInfo::default()
            })
            .collect())
    }

    async fn changed_cases(
        &self,
        since: Option<&Watermark>,
        limit: usize,
    ) -> BackendResult<ChangedCases> {
        let identity = self.identity().await?;
        let continues = {
            let held = lock(&self.streams);
            held.as_ref().is_some_and(|s| {
                since.is_some_and(|w| s.handed_up_to.as_ref() == Some(&(w.updated, w.id.clone())))
            })
        };
        let mut deleted = Vec::new();
        if !continues {
            // A new pull: every group from the same `updatedSince` (DS's
            // filter is inclusive; repeats are dropped by version). The
            // epoch on a first pull, so that the order is by update time.
            let from = since.and_then(|w| w.updated);
            if let Some(from) = from {
                deleted = self.deleted_since(&identity, from).await?;
            }
            let epoch = crate::domain::Timestamp::from(time::OffsetDateTime::UNIX_EPOCH);
            *lock(&self.streams) = Some(streams::Streams::new(
                Some(from.unwrap_or(epoch)),
                &identity.group_numbers(),
            ));
        }
        let mut unreadable = 0;
        loop {
            let (to_fill, since_at) = {
                let held = lock(&self.streams);
                let Some(s) = held.as_ref() else { break };
                (
                    s.to_fill()
                        .into_iter()
                        .map(|i| (i, s.streams[i].group, s.streams[i].after.clone()))
                        .collect::<Vec<_>>(),
                    s.since,
                )
            };
            if to_fill.is_empty() {
                break;
            }
            // Every stream that needs a page, in one request.
            let asks: Vec<PageAsk> = to_fill
                .iter()
                .map(|(_, group, after)| PageAsk {
                    group: *group,
                    after: after.clone(),
                    state: None,
                })
                .collect();
            let read = self.pages(&asks, since_at).await?;
            let pages = to_fill.iter().map(|(i, ..)| *i).zip(read);
            for (i, (nodes, info)) in pages {
                let (cases, bad) = self.take_dossiers(nodes, &identity.instructeur);
                unreadable += bad;
                let last = cases.last().map(streams::key);
                let mut held = lock(&self.streams);
                if let Some(s) = held.as_mut() {
                    s.add_page(i, cases, last, info.end_cursor, info.has_next_page);
                }
            }
        }
        let (cases, more) = lock(&self.streams)
            .as_mut()
            .map(|s| s.hand_over(limit))
            .unwrap_or_default();
        Ok(ChangedCases {
            cases,
            more,
            unreadable,
            deleted,
        })
    }

    async fn working_set(&self, _me: &str, _groups: &[String]) -> BackendResult<Vec<Case>> {
        let identity = self.identity().await?;
        // New dossiers nobody follows yet (the team's queue), and those in
        // instruction the agent follows.
        let me = Some(identity.instructeur.as_str());
        Ok(self
            .all_in_states(&identity, &[moves::EN_CONSTRUCTION, moves::EN_INSTRUCTION])
            .await?
            .into_iter()
            .filter(|c| {
                c.assignee.as_deref() == me
                    || (c.state == moves::EN_CONSTRUCTION && c.assignee.is_none())
            })
            .collect())
    }

    async fn visible_case_ids(&self) -> BackendResult<Vec<String>> {
        let identity = self.identity().await?;
        let mut ids = Vec::new();
        for group in identity.group_numbers() {
            let mut after: Option<String> = None;
            loop {
                let data: GroupData<wire::IdOnly> = self
                    .read(
                        queries::GROUP_IDS,
                        json!({ "group": group, "after": after }),
                    )
                    .await?;
                let Some(connection) = data.groupe_instructeur.dossiers else {
                    break;
                };
                ids.extend(connection.nodes.into_iter().flatten().map(|d| d.id));
                if !connection.page_info.has_next_page || connection.page_info.end_cursor.is_none()
                {
                    break;
                }
                after = connection.page_info.end_cursor;
            }
        }
        Ok(ids)
    }

    async fn case(&self, id: &str) -> BackendResult<Option<Case>> {
        let identity = self.identity().await?;
        self.dossier(&identity, id).await
    }

    async fn cases(&self, ids: &[String]) -> BackendResult<Vec<Case>> {
        let identity = self.identity().await?;
        let identity = &identity;
        let found: Vec<Option<Case>> = futures_util::stream::iter(ids.to_vec())
            .map(|id| async move { self.dossier(identity, &id).await })
            .buffered(self.in_flight)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn citizens(&self, ids: &[String]) -> BackendResult<Vec<Citizen>> {
        let known = lock(&self.citizens);
        Ok(ids.iter().filter_map(|id| known.get(id).cloned()).collect())
    }

    async fn timeline(&self, case_ids: &[String]) -> BackendResult<Vec<TimelineEntry>> {
        self.timelines(case_ids).await
    }

    async fn push(&self, push: &Push<'_>) -> BackendResult<Case> {
        if is_provisional(push.case_id) {
            return Err(BackendError::Rejected(
                "Démarches Simplifiées: dossiers are submitted by citizens, not opened at the counter".into(),
            ));
        }
        let identity = self.identity().await?;
        let identity = &identity;
        match push.action {
            Action::Take { user, .. } => self.take(identity, push, user).await,
            Action::SetState { state, close_notes, .. } => {
                self.set_state(identity, push, state, close_notes.as_deref()).await
            }
            Action::Comment { text } => {
                self.send_message(
                    json!({ "dossierId": push.case_id, "instructeurId": identity.instructeur, "body": text }),
                )
                .await?;
                self.current(identity, push.case_id).await
            }
            Action::WorkNote { text } => self.note(identity, push, text).await,
            Action::Assign { user, group } => {
                if let Some(user) = user
                    && user != &identity.instructeur
                {
                    return Err(BackendError::Rejected(
                        "Démarches Simplifiées cannot assign a dossier to another instructeur: each follows dossiers himself".into(),
                    ));
                }
                let mut case = None;
                if let Some(group) = group {
                    case = Some(
                        self.mutate(
                            identity,
                            moves::CHANGER_GROUPE,
                            json!({ "dossierId": push.case_id, "groupeInstructeurId": group }),
                            |c| c.group.as_deref() == Some(group.as_str()),
                            push.case_id,
                        )
                        .await?,
                    );
                }
                if user.is_some() {
                    case = Some(self.take(identity, push, &identity.instructeur).await?);
                }
                match case {
                    Some(case) => Ok(case),
                    None => self.current(identity, push.case_id).await,
                }
            }
            Action::Priority { .. } => Err(BackendError::Rejected(
                "Démarches Simplifiées has no priority".into(),
            )),
            Action::Open { .. } => Err(BackendError::Rejected(
                "Démarches Simplifiées: dossiers are submitted by citizens, not opened at the counter".into(),
            )),
        }
    }

    async fn opened_case(&self, _action_id: &str) -> BackendResult<Option<Case>> {
        Ok(None)
    }
}
