//! Opening a case at the counter, exactly once, with or without
//! idempotency keys:
//! - the case carries the action's id in `correlation_id` (a standard field
//!   of ServiceNow's task tables, meant for an outside system's reference),
//!   so that an opening whose answer was lost is found again by it
//!   (`opened_case`) before anything is sent twice;
//! - a new citizen is recorded first; sent again after a lost answer, it is
//!   looked for first among the citizens this user created since the first
//!   send, with the same names and contact details (a real instance has no
//!   keys); with keys, the same key replays the first answer.

use reqwest::Method;
use serde_json::{Map, Value};

use super::schema::Field;
use super::{ServiceNow, condition, wire};
use crate::backend::http::{Effect, error_detail};
use crate::backend::{Backend, BackendError, BackendResult, ProcedureInfo, Push};
use crate::domain::{Case, Citizen, NewCase, Timestamp, is_provisional};
use crate::encoded_query::{Operator, Query};

/// The field a case's outside reference is kept in.
pub const CORRELATION_FIELD: &str = "correlation_id";

/// How far before the first send, by the back-end's clock, a citizen
/// created then is looked for (its `Date` header counts whole seconds).
const CREATED_MARGIN_SECS: i64 = 120;

impl ServiceNow {
    /// Records `citizen` if given, then opens `case` for them.
    pub(super) async fn open(
        &self,
        push: &Push<'_>,
        citizen: Option<&Citizen>,
        case: &NewCase,
    ) -> BackendResult<Case> {
        let keys = self.capabilities().await?.idempotency_keys;
        let citizen_id = match citizen {
            Some(new) => self.record_citizen(push, new, keys).await?,
            None if is_provisional(&case.citizen) => {
                // Recorded by another case opened here, not yet numbered.
                return Err(BackendError::transient(
                    "the citizen is being recorded with another case",
                ));
            }
            None => case.citizen.clone(),
        };
        let name = |field| self.schema.name(field).to_string();
        let mut body = Map::new();
        let mut put = |field: String, value: String| {
            body.insert(field, Value::String(value));
        };
        put(name(Field::Summary), case.summary.clone());
        put(name(Field::Description), case.description.clone());
        put(name(Field::Procedure), case.procedure.clone());
        put(name(Field::Channel), case.channel.clone());
        put(name(Field::Priority), case.priority.to_string());
        put(name(Field::Citizen), citizen_id);
        if let Some(due) = case.due {
            put(name(Field::Due), due.to_string());
        }
        if let Some(group) = &case.group {
            put(name(Field::Group), group.clone());
        }
        if let Some(assignee) = &case.assignee {
            put(name(Field::Assignee), assignee.clone());
        }
        put(CORRELATION_FIELD.into(), push.action_id.to_string());
        let params = [
            ("sysparm_fields", self.schema.case_fields()),
            ("sysparm_exclude_reference_link", "true".into()),
        ];
        let path = format!("/api/now/table/{}", self.schema.table());
        let body = Value::Object(body);
        let answer = self
            .client
            .send(Method::POST, &path, Effect::Write, |r| {
                let r = r.query(&params).json(&body);
                if keys {
                    r.header("Idempotency-Key", push.action_id)
                } else {
                    r
                }
            })
            .await?;
        match answer.status {
            s if s.is_success() => wire::case(&self.schema, &answer.body["result"])
                // Opened, but the answer cannot be read: read back.
                .map_err(|e| BackendError::InDoubt(e.to_string())),
            s => Err(BackendError::Rejected(error_detail(&answer.body, s))),
        }
    }

    /// The citizen's id on the back-end: found again when an earlier send
    /// may have recorded them, else recorded now.
    async fn record_citizen(
        &self,
        push: &Push<'_>,
        citizen: &Citizen,
        keys: bool,
    ) -> BackendResult<String> {
        if let (Some(since), false) = (push.first_sent, keys)
            && let Some(found) = self.recorded_since(citizen, since).await?
        {
            return Ok(found);
        }
        let body = serde_json::json!({
            "first_name": citizen.first_name,
            "last_name": citizen.last_name,
            "email": citizen.email,
            "mobile_phone": citizen.phone,
            "street": citizen.street,
            "city": citizen.city,
            "zip": citizen.zip,
        });
        let key = format!("{}-citizen", push.action_id);
        let path = format!("/api/now/table/{}", wire::CITIZEN_TABLE);
        let params = [("sysparm_fields", wire::CITIZEN_FIELDS.to_string())];
        let answer = self
            .client
            .send(Method::POST, &path, Effect::Write, |r| {
                let r = r.query(&params).json(&body);
                if keys {
                    r.header("Idempotency-Key", &key)
                } else {
                    r
                }
            })
            .await?;
        match answer.status {
            s if s.is_success() => Ok(wire::citizen(&answer.body["result"])
                .map_err(|e| BackendError::InDoubt(e.to_string()))?
                .id),
            s => Err(BackendError::Rejected(error_detail(&answer.body, s))),
        }
    }

    /// A citizen this user created since `since` (back-end clock) with the
    /// same names and contact details.
    async fn recorded_since(
        &self,
        citizen: &Citizen,
        since: Timestamp,
    ) -> BackendResult<Option<String>> {
        let since = since - std::time::Duration::from_secs(CREATED_MARGIN_SECS as u64);
        let query = Query::all_of([
            condition("sys_created_by", Operator::Eq, self.client.user()),
            condition("sys_created_on", Operator::Ge, since.to_string()),
            condition("first_name", Operator::Eq, citizen.first_name.clone()),
            condition("last_name", Operator::Eq, citizen.last_name.clone()),
            condition("email", Operator::Eq, citizen.email.clone()),
            condition("mobile_phone", Operator::Eq, citizen.phone.clone()),
        ])
        .order_by("sys_created_on", false);
        let params = [
            ("sysparm_query", query.to_string()),
            ("sysparm_fields", wire::CITIZEN_FIELDS.to_string()),
            ("sysparm_limit", "1".to_string()),
        ];
        let answer = self.get(wire::CITIZEN_TABLE, &params).await?;
        let rows = wire::result_rows(&answer.body)?;
        Ok(rows.first().map(wire::citizen).transpose()?.map(|c| c.id))
    }

    /// The active procedures of the catalogue (a table of the reference
    /// back-end's; a back-end without it has none).
    pub(super) async fn procedure_catalogue(&self) -> BackendResult<Vec<ProcedureInfo>> {
        let query =
            Query::all_of([condition("active", Operator::Eq, "true")]).order_by("code", false);
        let rows = self
            .all_rows(wire::PROCEDURE_TABLE, &query, wire::PROCEDURE_FIELDS)
            .await?;
        rows.iter().map(wire::procedure).collect()
    }

    /// The case an opening with this action id made, if it landed.
    pub(super) async fn case_opened_by(&self, action_id: &str) -> BackendResult<Option<Case>> {
        let query = Query::all_of([condition(
            CORRELATION_FIELD,
            Operator::Eq,
            action_id.to_string(),
        )]);
        let params = [
            ("sysparm_query", query.to_string()),
            ("sysparm_fields", self.schema.case_fields()),
            ("sysparm_exclude_reference_link", "true".into()),
            ("sysparm_limit", "1".into()),
        ];
        let answer = self.get(self.schema.table(), &params).await?;
        let rows = wire::result_rows(&answer.body)?;
        rows.first()
            .map(|row| wire::case(&self.schema, row))
            .transpose()
    }
}
