//! The ServiceNow Table API adapter (CSM cases). Also speaks to `guichet
//! serve`, whose extensions (ETag / If-Match, Idempotency-Key) it detects
//! from the `X-Guichet-Extensions` header and uses when present.

mod intake;
mod probe;
mod schema;
mod wire;

use std::sync::atomic::{AtomicU8, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::backend::http::{Answer, Client, Effect, error_detail};
pub use crate::backend::http::{MAX_BODY_BYTES, SavedSession, Settings};
pub use probe::{CaseTable, RateLimit, TableAccess};
pub use schema::{CSM_CASE_TABLE, Schema, SchemaError};

/// What reads the back-end's answers (JSON bodies, rate-limit headers),
/// reachable from the fuzz targets (tests/fuzz/): not an API.
#[doc(hidden)]
pub mod decode {
    pub use super::wire::{
        case, choices, citizen, group, group_id, membership, procedure, result_rows,
        timeline_entry, user,
    };
    pub use crate::backend::http::{error_detail, retry_after};
}

use super::{
    Backend, BackendError, BackendResult, Capabilities, ChangedCases, Directory, Me, Push,
    Watermark,
};
use crate::domain::timestamp::or_empty;
use crate::domain::{Case, Choice, Citizen, TimelineEntry};
use crate::encoded_query::{Condition, Operator, Query, Term};

/// The header by which `guichet serve` announces its extensions.
use crate::protocol::EXTENSIONS_HEADER;

const IDEMPOTENCY: u8 = 1;
const CONDITIONAL: u8 = 2;
const DETECTED: u8 = 4;

/// Ids per `sys_idIN...` query, to keep URLs short.
const IDS_PER_QUERY: usize = 100;
/// Rows per page when reading whole tables.
const PAGE: usize = 1000;

pub struct ServiceNow {
    client: Client,
    /// The case table and the instance's names for case fields.
    schema: Schema,
    /// How many requests may be in flight at once (1 on a link that needs it).
    in_flight: usize,
    capabilities: AtomicU8,
}

fn condition(field: &str, op: Operator, value: impl Into<String>) -> Term {
    Term::Condition(Condition::new(field, op, value))
}

impl ServiceNow {
    pub fn new(settings: Settings, schema: Schema) -> BackendResult<ServiceNow> {
        Ok(ServiceNow {
            in_flight: settings.requests_in_flight.max(1),
            client: Client::new(settings)?,
            schema,
            capabilities: AtomicU8::new(0),
        })
    }

    /// The OAuth session in use, if any, to keep for the next process.
    /// How requests authenticate now (OAuth, HTTP Basic).
    pub fn auth_method(&self) -> &'static str {
        self.client.auth_method()
    }

    pub fn session(&self) -> Option<SavedSession> {
        self.client.session()
    }

    fn note_capabilities(&self, answer: &Answer) {
        if self.capabilities.load(Ordering::Relaxed) & DETECTED != 0 {
            return;
        }
        let announced = crate::protocol::announced(
            answer
                .headers
                .get(EXTENSIONS_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        );
        let mut bits = DETECTED;
        if announced.contains(&crate::protocol::Extension::IdempotencyKey) {
            bits |= IDEMPOTENCY;
        }
        if announced.contains(&crate::protocol::Extension::IfMatch) {
            bits |= CONDITIONAL;
        }
        self.capabilities.store(bits, Ordering::Relaxed);
    }

    /// GET a table with these parameters.
    async fn get(&self, table: &str, params: &[(&str, String)]) -> BackendResult<Answer> {
        let answer = self
            .client
            .send(
                Method::GET,
                &format!("/api/now/table/{table}"),
                Effect::Read,
                |r| r.query(params),
            )
            .await?;
        self.note_capabilities(&answer);
        match answer.status {
            s if s.is_success() => Ok(answer),
            // The v1 API's "nothing matches"; any other 404 (a proxy, a
            // wrong URL) must not read as an empty table.
            StatusCode::NOT_FOUND if answer.body["error"]["message"] == "No Record found" => {
                Ok(Answer {
                    body: json!({"result": []}),
                    ..answer
                })
            }
            s => Err(BackendError::Rejected(error_detail(&answer.body, s))),
        }
    }

    /// The agent's groups: from the membership table, or, where the
    /// instance refuses it or shows none, as `getMyGroups()` says.
    async fn my_groups(&self, me: &str) -> BackendResult<Vec<String>> {
        let query = Query::all_of([condition(wire::MEMBER_USER_FIELD, Operator::Eq, me)]);
        let listed = match self
            .all_rows(wire::MEMBER_TABLE, &query, wire::MEMBER_FIELDS)
            .await
        {
            Ok(rows) => rows
                .iter()
                .map(|r| wire::membership(r).map(|(_, g)| g))
                .collect::<BackendResult<Vec<_>>>()?,
            Err(BackendError::Rejected(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        if !listed.is_empty() {
            return Ok(listed);
        }
        self.groups_by_my_groups().await
    }

    /// The ids of the groups `javascript:getMyGroups()` names for the agent.
    async fn groups_by_my_groups(&self) -> BackendResult<Vec<String>> {
        let mine = Query::all_of([condition(
            wire::ID_FIELD,
            Operator::In,
            "javascript:getMyGroups()",
        )])
        .order_by(wire::ID_FIELD, false);
        self.all_rows(wire::GROUP_TABLE, &mine, wire::ID_FIELD)
            .await?
            .iter()
            .map(wire::group_id)
            .collect()
    }

    /// The rows of `table` with these ids (as far as the agent may see
    /// them), asked in lists short enough for a URL, read by `read`.
    async fn rows_by_ids<T>(
        &self,
        table: &str,
        fields: &str,
        ids: &[String],
        read: impl Fn(&Value) -> BackendResult<T>,
    ) -> BackendResult<Vec<T>> {
        let rows = self
            .rows_in_chunks(table, fields, ids, |chunk| {
                Query::all_of([condition(wire::ID_FIELD, Operator::In, chunk.join(","))])
            })
            .await?;
        rows.iter().map(read).collect()
    }

    /// The rows of `table` matching the query made for each list of ids, the
    /// lists short enough for a URL and a few of them asked at once (the
    /// back-end answers several requests in parallel; a link that cannot
    /// bear it is configured down to one). Rows come back in list order.
    async fn rows_in_chunks(
        &self,
        table: &str,
        fields: &str,
        ids: &[String],
        query_for: impl Fn(&[String]) -> Query,
    ) -> BackendResult<Vec<Value>> {
        use futures_util::{StreamExt, TryStreamExt};
        let pages: Vec<Vec<Value>> =
            futures_util::stream::iter(ids.chunks(IDS_PER_QUERY).map(query_for))
                .map(|query| async move { self.all_rows(table, &query, fields).await })
                .buffered(self.in_flight)
                .try_collect()
                .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    /// The cases among `rows` that can be read. A few bad records among good
    /// ones are skipped (the caller counts them), so that one of them does
    /// not stop every later pull; rows of nothing but unreadable records are
    /// a back-end gone wrong, and say so.
    fn readable_cases(&self, rows: &[Value]) -> BackendResult<Vec<Case>> {
        let mut cases = Vec::with_capacity(rows.len());
        let mut first_error = None;
        for row in rows {
            match wire::case(&self.schema, row) {
                Ok(case) => cases.push(case),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match (cases.is_empty(), first_error) {
            (true, Some(e)) => Err(e),
            _ => Ok(cases),
        }
    }

    /// Every row of a table matching `query`, following pages by offset
    /// (tables other than cases are small and rarely change mid-read).
    async fn all_rows(
        &self,
        table: &str,
        query: &Query,
        fields: &str,
    ) -> BackendResult<Vec<Value>> {
        let mut rows = Vec::new();
        let mut offset = 0;
        loop {
            let params = [
                ("sysparm_query", query.to_string()),
                ("sysparm_fields", fields.to_string()),
                ("sysparm_limit", PAGE.to_string()),
                ("sysparm_offset", offset.to_string()),
                ("sysparm_exclude_reference_link", "true".into()),
                ("sysparm_no_count", "true".into()),
            ];
            let answer = self.get(table, &params).await?;
            let page = wire::result_rows(&answer.body)?;
            let more = has_next(&answer) || page.len() == PAGE;
            rows.extend(page.iter().cloned());
            // A short page is not the end under ServiceNow's ACLs: trust `Link`.
            if !more {
                return Ok(rows);
            }
            offset += PAGE;
        }
    }
}

fn has_next(answer: &Answer) -> bool {
    answer
        .headers
        .get("link")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|l| l.contains("rel=\"next\""))
}

impl Backend for ServiceNow {
    fn clock_offset(&self) -> Option<i64> {
        self.client.clock_offset()
    }

    fn requests_in_flight(&self) -> usize {
        self.in_flight
    }

    async fn capabilities(&self) -> BackendResult<Capabilities> {
        if self.capabilities.load(Ordering::Relaxed) & DETECTED == 0 {
            // Any Table API answer says it; ask for the smallest one.
            let params = [
                ("sysparm_limit", "1".to_string()),
                ("sysparm_fields", wire::ID_FIELD.to_string()),
            ];
            self.get(wire::GROUP_TABLE, &params).await?;
        }
        let bits = self.capabilities.load(Ordering::Relaxed);
        Ok(Capabilities {
            idempotency_keys: bits & IDEMPOTENCY != 0,
            conditional_writes: bits & CONDITIONAL != 0,
        })
    }

    async fn me(&self) -> BackendResult<super::Me> {
        let query = Query::all_of([condition(
            wire::USER_NAME_FIELD,
            Operator::Eq,
            self.client.user(),
        )]);
        let rows = self
            .all_rows(wire::USER_TABLE, &query, wire::USER_FIELDS)
            .await?;
        let user = rows.first().map(wire::user).transpose()?.ok_or_else(|| {
            BackendError::Auth(format!("no user '{}' on the back-end", self.client.user()))
        })?;
        let groups = self.my_groups(&user.id).await?;
        Ok(Me { user, groups })
    }

    async fn directory(&self) -> BackendResult<Directory> {
        let all = Query::default().order_by(wire::ID_FIELD, false);
        let users = self
            .all_rows(wire::USER_TABLE, &all, wire::USER_FIELDS)
            .await?;
        let groups = self
            .all_rows(wire::GROUP_TABLE, &all, wire::GROUP_FIELDS)
            .await?;
        let users: Vec<crate::domain::User> =
            users.iter().map(wire::user).collect::<BackendResult<_>>()?;
        // Some instances' ACLs refuse agents the membership table (403), or
        // answer it empty: then the agent's own groups are asked the way
        // ServiceNow's own lists do, so that the team queue still works.
        let mut memberships: Vec<(String, String)> = match self
            .all_rows(wire::MEMBER_TABLE, &all, wire::MEMBER_FIELDS)
            .await
        {
            Ok(rows) => rows
                .iter()
                .map(wire::membership)
                .collect::<BackendResult<_>>()?,
            Err(BackendError::Rejected(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let hidden = memberships.is_empty();
        let me = users
            .iter()
            .find(|u| u.user_name == self.client.user())
            .map(|u| u.id.clone());
        let mut only_my_groups = false;
        if let Some(me) = me
            && !memberships.iter().any(|(user, _)| *user == me)
        {
            for group in self.groups_by_my_groups().await? {
                memberships.push((me.clone(), group));
            }
            only_my_groups = hidden;
        }
        Ok(Directory {
            users,
            groups: groups
                .iter()
                .map(wire::group)
                .collect::<BackendResult<_>>()?,
            memberships,
            only_my_groups,
        })
    }

    async fn choices(&self) -> BackendResult<Vec<Choice>> {
        let query = Query::all_of([
            condition(
                wire::CHOICE_TABLE_FIELD,
                Operator::In,
                self.schema.choice_tables().join(","),
            ),
            condition(
                wire::CHOICE_ELEMENT_FIELD,
                Operator::In,
                self.schema.choice_elements(),
            ),
        ])
        .order_by(wire::SEQUENCE_FIELD, false);
        let rows = self
            .all_rows(wire::CHOICE_TABLE, &query, wire::CHOICE_FIELDS)
            .await?;
        wire::choices(&self.schema, &rows)
    }

    async fn changed_cases(
        &self,
        since: Option<&Watermark>,
        limit: usize,
    ) -> BackendResult<ChangedCases> {
        // Keyset paging on (sys_updated_on, sys_id): stable while others write,
        // unlike offsets, which skip a row whenever an earlier one moves.
        let mut query = match since {
            None => Query::default(),
            Some(w) => Query {
                blocks: vec![
                    crate::encoded_query::Block {
                        groups: vec![vec![condition(
                            wire::UPDATED_FIELD,
                            Operator::Gt,
                            or_empty::text(w.updated),
                        )]],
                    },
                    crate::encoded_query::Block {
                        groups: vec![
                            vec![condition(
                                wire::UPDATED_FIELD,
                                Operator::Eq,
                                or_empty::text(w.updated),
                            )],
                            vec![condition(wire::ID_FIELD, Operator::Gt, w.id.clone())],
                        ],
                    },
                ],
                order: Vec::new(),
            },
        };
        query = query
            .order_by(wire::UPDATED_FIELD, false)
            .order_by(wire::ID_FIELD, false);
        let params = [
            ("sysparm_query", query.to_string()),
            ("sysparm_fields", self.schema.case_fields()),
            ("sysparm_limit", limit.to_string()),
            ("sysparm_exclude_reference_link", "true".into()),
            ("sysparm_no_count", "true".into()),
        ];
        let answer = self.get(self.schema.table(), &params).await?;
        let rows = wire::result_rows(&answer.body)?;
        let cases = self.readable_cases(rows)?;
        Ok(ChangedCases {
            more: has_next(&answer) || rows.len() == limit,
            unreadable: rows.len() - cases.len(),
            cases,
            deleted: Vec::new(),
        })
    }

    async fn working_set(&self, me: &str, groups: &[String]) -> BackendResult<Vec<Case>> {
        use crate::encoded_query::Block;
        use schema::Field;
        let open = || vec![condition(wire::ACTIVE_FIELD, Operator::Eq, "true")];
        let assignee = self.schema.name(Field::Assignee);
        let mut blocks = vec![Block {
            groups: vec![open(), vec![condition(assignee, Operator::Eq, me)]],
        }];
        if !groups.is_empty() {
            blocks.push(Block {
                groups: vec![
                    open(),
                    vec![condition(
                        self.schema.name(Field::Group),
                        Operator::In,
                        groups.join(","),
                    )],
                    vec![condition(assignee, Operator::IsEmpty, "")],
                ],
            });
        }
        let query = Query {
            blocks,
            order: Vec::new(),
        }
        .order_by(wire::ID_FIELD, false);
        let fields = self.schema.case_fields();
        let rows = self.all_rows(self.schema.table(), &query, &fields).await?;
        // Unreadable ones are left to the pages of the history, which count
        // them: one bad record must not stop every first sync.
        self.readable_cases(&rows)
    }

    async fn visible_case_ids(&self) -> BackendResult<Vec<String>> {
        let mut ids = Vec::new();
        let mut after = String::new();
        loop {
            let query = Query::all_of([condition(wire::ID_FIELD, Operator::Gt, after.clone())])
                .order_by(wire::ID_FIELD, false);
            let params = [
                ("sysparm_query", query.to_string()),
                ("sysparm_fields", wire::ID_FIELD.to_string()),
                ("sysparm_limit", crate::protocol::PAGE_CEILING.to_string()),
                ("sysparm_no_count", "true".into()),
            ];
            let answer = self.get(self.schema.table(), &params).await?;
            let rows = wire::result_rows(&answer.body)?;
            for row in rows {
                match row.get(wire::ID_FIELD).and_then(Value::as_str) {
                    Some(id) => ids.push(id.to_string()),
                    None => return Err(BackendError::Protocol("a case without sys_id".into())),
                }
            }
            match ids.last() {
                Some(last)
                    if !rows.is_empty()
                        && (rows.len() == crate::protocol::PAGE_CEILING || has_next(&answer)) =>
                {
                    after = last.clone()
                }
                _ => return Ok(ids),
            }
        }
    }

    async fn case(&self, id: &str) -> BackendResult<Option<Case>> {
        let params = [
            ("sysparm_fields", self.schema.case_fields()),
            ("sysparm_exclude_reference_link", "true".into()),
        ];
        let path = format!("/api/now/table/{}/{id}", self.schema.table());
        let answer = self
            .client
            .send(Method::GET, &path, Effect::Read, |r| r.query(&params))
            .await?;
        self.note_capabilities(&answer);
        match answer.status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => wire::case(&self.schema, &answer.body["result"]).map(Some),
            s => Err(BackendError::Rejected(error_detail(&answer.body, s))),
        }
    }

    async fn cases(&self, ids: &[String]) -> BackendResult<Vec<Case>> {
        let fields = self.schema.case_fields();
        self.rows_by_ids(self.schema.table(), &fields, ids, |row| {
            wire::case(&self.schema, row)
        })
        .await
    }

    async fn citizens(&self, ids: &[String]) -> BackendResult<Vec<Citizen>> {
        self.rows_by_ids(
            wire::CITIZEN_TABLE,
            wire::CITIZEN_FIELDS,
            ids,
            wire::citizen,
        )
        .await
    }

    async fn timeline(&self, case_ids: &[String]) -> BackendResult<Vec<TimelineEntry>> {
        let rows = self
            .rows_in_chunks(
                wire::JOURNAL_TABLE,
                wire::JOURNAL_FIELDS,
                case_ids,
                |chunk| {
                    Query::all_of([
                        condition(wire::JOURNAL_CASE_FIELD, Operator::In, chunk.join(",")),
                        condition(wire::JOURNAL_KIND_FIELD, Operator::In, wire::JOURNAL_KINDS),
                    ])
                    .order_by(wire::CREATED_FIELD, false)
                    .order_by(wire::ID_FIELD, false)
                },
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(entry) = wire::timeline_entry(row)? {
                out.push(entry);
            }
        }
        Ok(out)
    }

    async fn push(&self, push: &Push<'_>) -> BackendResult<Case> {
        if let crate::domain::Action::Open { citizen, case } = push.action {
            return self.open(push, citizen.as_deref(), case).await;
        }
        let capabilities = self.capabilities().await?;
        let check_version = push
            .action
            .needs_base_version()
            .then_some(push.base_version)
            .flatten();
        if let (Some(base), false) = (check_version, capabilities.conditional_writes) {
            // No If-Match on a real ServiceNow: compare versions just before
            // writing. A write landing between the two calls is not caught;
            // that window is the price of the plain Table API.
            match self.case(push.case_id).await? {
                None => return Err(BackendError::NotFound),
                Some(current) if current.version != base => {
                    return Err(BackendError::Conflict {
                        theirs: Box::new(current),
                    });
                }
                Some(_) => {}
            }
        }
        let mut body = Map::new();
        for (field, value) in push.action.field_changes() {
            body.insert(
                self.schema.field_name(field).into(),
                Value::String(value.unwrap_or_default()),
            );
        }
        if let Some((kind, text)) = push.action.journal() {
            body.insert(
                wire::journal_element(kind).into(),
                Value::String(text.to_string()),
            );
        }
        let body = Value::Object(body);
        let path = format!("/api/now/table/{}/{}", self.schema.table(), push.case_id);
        let params = [
            ("sysparm_fields", self.schema.case_fields()),
            ("sysparm_exclude_reference_link", "true".into()),
        ];
        let answer = self
            .client
            .send(Method::PATCH, &path, Effect::Write, |r| {
                let mut r = r.query(&params).json(&body);
                if capabilities.idempotency_keys {
                    r = r.header("Idempotency-Key", push.action_id);
                }
                if let (Some(base), true) = (check_version, capabilities.conditional_writes) {
                    r = r.header("If-Match", format!("\"{base}\""));
                }
                r
            })
            .await?;
        match answer.status {
            StatusCode::PRECONDITION_FAILED => {
                let theirs = wire::case(&self.schema, &answer.body["result"])?;
                Err(BackendError::Conflict {
                    theirs: Box::new(theirs),
                })
            }
            StatusCode::NOT_FOUND => Err(BackendError::NotFound),
            s if s.is_success() => wire::case(&self.schema, &answer.body["result"]).map_err(|e| {
                // Applied, but the answer cannot be read: find out by reading back.
                BackendError::InDoubt(e.to_string())
            }),
            s => Err(BackendError::Rejected(error_detail(&answer.body, s))),
        }
    }

    async fn procedures(&self) -> BackendResult<Vec<crate::domain::directory::ProcedureInfo>> {
        self.procedure_catalogue().await
    }

    async fn opened_case(&self, action_id: &str) -> BackendResult<Option<Case>> {
        self.case_opened_by(action_id).await
    }
}
