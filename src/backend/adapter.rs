//! The adapter a profile names (`backend = "servicenow"` or
//! `"demarches"`), as one type: the sync engine, the console and the CLI
//! take any `Backend`, and a workspace holds whichever its profile needs.

use super::demarches::Demarches;
use super::servicenow::{SavedSession, ServiceNow};
use super::{
    Actions, Backend, BackendResult, Capabilities, ChangedCases, Directory, Me, ProcedureInfo,
    Push, StateFlow, Watermark,
};
use crate::domain::{Case, Choice, Citizen, TimelineEntry};

pub enum Adapter {
    ServiceNow(ServiceNow),
    Demarches(Demarches),
}

/// The same call on whichever adapter this is.
macro_rules! each {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            Adapter::ServiceNow($b) => $call,
            Adapter::Demarches($b) => $call,
        }
    };
}

impl Adapter {
    /// How requests authenticate ("OAuth", "HTTP Basic", "API token").
    pub fn auth_method(&self) -> &'static str {
        each!(self, b => b.auth_method())
    }

    /// The proxy requests go through, and the variable that set it.
    pub fn proxy_in_use(&self) -> Option<(String, Option<&'static str>)> {
        each!(self, b => b.proxy_in_use())
    }

    /// An OAuth session to keep for the next process (ServiceNow only).
    pub fn session(&self) -> Option<SavedSession> {
        match self {
            Adapter::ServiceNow(b) => b.session(),
            Adapter::Demarches(_) => None,
        }
    }

    pub fn servicenow(&self) -> Option<&ServiceNow> {
        match self {
            Adapter::ServiceNow(b) => Some(b),
            Adapter::Demarches(_) => None,
        }
    }

    pub fn demarches(&self) -> Option<&Demarches> {
        match self {
            Adapter::Demarches(b) => Some(b),
            Adapter::ServiceNow(_) => None,
        }
    }
}

impl Backend for Adapter {
    fn clock_offset(&self) -> Option<i64> {
        each!(self, b => b.clock_offset())
    }

    fn requests_in_flight(&self) -> usize {
        each!(self, b => b.requests_in_flight())
    }

    fn actions(&self) -> Actions {
        each!(self, b => b.actions())
    }

    fn state_flow(&self) -> StateFlow {
        each!(self, b => b.state_flow())
    }

    async fn capabilities(&self) -> BackendResult<Capabilities> {
        each!(self, b => b.capabilities().await)
    }

    async fn me(&self) -> BackendResult<Me> {
        each!(self, b => b.me().await)
    }

    async fn directory(&self) -> BackendResult<Directory> {
        each!(self, b => b.directory().await)
    }

    async fn choices(&self) -> BackendResult<Vec<Choice>> {
        each!(self, b => b.choices().await)
    }

    async fn procedures(&self) -> BackendResult<Vec<ProcedureInfo>> {
        each!(self, b => b.procedures().await)
    }

    async fn changed_cases(
        &self,
        since: Option<&Watermark>,
        limit: usize,
    ) -> BackendResult<ChangedCases> {
        each!(self, b => b.changed_cases(since, limit).await)
    }

    async fn working_set(&self, me: &str, groups: &[String]) -> BackendResult<Vec<Case>> {
        each!(self, b => b.working_set(me, groups).await)
    }

    async fn visible_case_ids(&self) -> BackendResult<Vec<String>> {
        each!(self, b => b.visible_case_ids().await)
    }

    async fn case(&self, id: &str) -> BackendResult<Option<Case>> {
        each!(self, b => b.case(id).await)
    }

    async fn cases(&self, ids: &[String]) -> BackendResult<Vec<Case>> {
        each!(self, b => b.cases(ids).await)
    }

    async fn citizens(&self, ids: &[String]) -> BackendResult<Vec<Citizen>> {
        each!(self, b => b.citizens(ids).await)
    }

    async fn timeline(&self, case_ids: &[String]) -> BackendResult<Vec<TimelineEntry>> {
        each!(self, b => b.timeline(case_ids).await)
    }

    async fn push(&self, push: &Push<'_>) -> BackendResult<Case> {
        each!(self, b => b.push(push).await)
    }

    async fn opened_case(&self, action_id: &str) -> BackendResult<Option<Case>> {
        each!(self, b => b.opened_case(action_id).await)
    }
}
