//! Starting `guichet serve` and talking to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;

pub const CASES: &str = "/api/now/table/sn_customerservice_case";
pub const JOURNAL: &str = "/api/now/table/sys_journal_field";
/// The day demo data is laid around, fixed so tests are deterministic.
pub const DEMO_DATE: &str = "2026-03-02";

pub struct Server {
    pub url: String,
    child: Child,
    pub db: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

/// Starts a server on a fresh database with `demo` cases and extra flags.
pub fn start(demo: u32, extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("cases.db");
    let mut server = start_on(&db, Some(demo), extra);
    server._dir = Some(dir);
    server
}

/// Starts a server on an existing (or new) database file.
pub fn start_on(db: &Path, demo: Option<u32>, extra: &[&str]) -> Server {
    let mut args: Vec<String> = vec![
        "serve".into(),
        "--addr".into(),
        "127.0.0.1:0".into(),
        "--db".into(),
    ];
    args.push(db.display().to_string());
    if let Some(n) = demo {
        args.extend([
            "--demo".into(),
            n.to_string(),
            "--demo-date".into(),
            DEMO_DATE.into(),
        ]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start guichet serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    Server {
        url,
        child,
        db: db.to_path_buf(),
        _dir: None,
    }
}

impl Server {
    /// SIGKILL: no shutdown, no flush; what was acknowledged must be on disk.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits: the server should stop by itself.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the server did not stop within 5 s of SIGTERM");
    }

    /// Kills the server and starts another on the same database file.
    pub fn restart(mut self, demo: Option<u32>, extra: &[&str]) -> Server {
        self.kill();
        let mut next = start_on(&self.db, demo, extra);
        next._dir = self._dir.take();
        next
    }

    pub fn client(&self, user: &str) -> Client {
        Client {
            base: self.url.clone(),
            http: guichet::tls::http_client().build().expect("http client"),
            auth: Auth::Basic(user.to_string(), "demo".to_string()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
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

    /// Journal entries of a case, oldest first.
    pub async fn journal(&self, case_sys_id: &str) -> Vec<Value> {
        let query = format!("element_id={case_sys_id}^ORDERBYsys_created_on");
        self.list(JOURNAL, &[("sysparm_query", &query)])
            .await
            .expect(200)
            .rows()
            .clone()
    }
}

pub fn s(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}
