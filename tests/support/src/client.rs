//! Talking to a `guichet serve` over HTTP, as any Table API client would.

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;

use crate::server::Server;

pub const CASES: &str = "/api/now/table/sn_customerservice_case";
pub const JOURNAL: &str = "/api/now/table/sys_journal_field";

impl Server {
    pub fn client(&self, user: &str) -> Client {
        Client {
            base: self.url.clone(),
            http: crate::http_client().build().expect("http client"),
            auth: Auth::Basic(user.to_string(), "demo".to_string()),
        }
    }
}

#[derive(Clone)]
pub enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
}

#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub auth: Auth,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn result(&self) -> &Value {
        &self.body["result"]
    }
    pub fn rows(&self) -> &Vec<Value> {
        self.body["result"]
            .as_array()
            .unwrap_or_else(|| panic!("no result array: {}", self.body))
    }
    pub fn detail(&self) -> &str {
        self.body["error"]["detail"].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        self
    }
}

impl Client {
    pub fn with_auth(&self, auth: Auth) -> Client {
        Client {
            auth,
            ..self.clone()
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let builder = self
            .http
            .request(method, url)
            .header("Accept", "application/json");
        match &self.auth {
            Auth::None => builder,
            Auth::Basic(u, p) => builder.basic_auth(u, Some(p)),
            Auth::Bearer(t) => builder.bearer_auth(t),
        }
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        let response = builder.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    /// GET a table with query parameters.
    pub async fn list(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        self.send(self.request(Method::GET, path).query(params))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(Method::PATCH, path).json(&body))
            .await
    }

    /// Every case this client sees, with the given fields, by sys_id order.
    pub async fn all_cases(&self, fields: &str) -> Vec<Value> {
        let reply = self
            .list(
                CASES,
                &[
                    ("sysparm_fields", fields),
                    ("sysparm_query", "ORDERBYnumber"),
                    ("sysparm_limit", "10000"),
                ],
            )
            .await
            .expect(200);
        reply.rows().clone()
    }

    /// The first case matching an encoded query, as the full record.
    pub async fn find_case(&self, query: &str) -> Value {
        let reply = self
            .list(CASES, &[("sysparm_query", query), ("sysparm_limit", "1")])
            .await
            .expect(200);
        reply
            .rows()
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("no case matches {query}"))
    }

    /// The sys_id of the first record of `table` matching `query`.
    pub async fn id_where(&self, table: &str, query: &str) -> String {
        let path = format!("/api/now/table/{table}");
        let reply = self
            .list(&path, &[("sysparm_query", query)])
            .await
            .expect(200);
        let row = reply
            .rows()
            .first()
            .unwrap_or_else(|| panic!("nothing in {table} matches {query}"));
        s(&row["sys_id"]).to_string()
    }

    /// A group's sys_id by name.
    pub async fn group_id(&self, name: &str) -> String {
        self.id_where("sys_user_group", &format!("name={name}"))
            .await
    }

    /// A user's sys_id by user name.
    pub async fn user_id(&self, user_name: &str) -> String {
        self.id_where("sys_user", &format!("user_name={user_name}"))
            .await
    }

    /// Journal entries of a case, oldest first.
    pub async fn journal(&self, case_sys_id: &str) -> Vec<Value> {
        let query = format!("element_id={case_sys_id}^ORDERBYsys_created_on");
        self.list(JOURNAL, &[("sysparm_query", &query)])
            .await
            .expect(200)
            .rows()
            .clone()
    }

    /// Texts of the journal entries of a case, oldest first.
    pub async fn journal_values(&self, case_sys_id: &str) -> Vec<String> {
        self.journal(case_sys_id)
            .await
            .iter()
            .map(|e| s(&e["value"]).to_string())
            .collect()
    }

    /// Texts of the journal entries of the case numbered `number`, oldest
    /// first, as the server holds them.
    pub async fn journal_texts(&self, number: &str) -> Vec<String> {
        let case = self.find_case(&format!("number={number}")).await;
        self.journal_values(s(&case["sys_id"])).await
    }

    /// Asserts that each comment of `expected` (case number, text), as
    /// `Agent::queue_work` queues them, is on the server exactly once among
    /// `cases`, and, with `priority`, that each of them has it.
    pub async fn assert_landed_once(
        &self,
        cases: &[String],
        expected: &[(String, String)],
        priority: Option<&str>,
    ) {
        for number in cases {
            let texts = self.journal_texts(number).await;
            for (_, text) in expected.iter().filter(|(n, _)| n == number) {
                assert_eq!(
                    texts.iter().filter(|t| *t == text).count(),
                    1,
                    "{text} on {number}"
                );
            }
            if let Some(priority) = priority {
                let case = self.find_case(&format!("number={number}")).await;
                assert_eq!(case["priority"], priority, "{number}");
            }
        }
    }

    /// How many journal entries of the case numbered `number` read `text`.
    pub async fn journal_count(&self, number: &str, text: &str) -> usize {
        let texts = self.journal_texts(number).await;
        texts.iter().filter(|t| *t == text).count()
    }
}

pub fn s(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}
