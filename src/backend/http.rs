//! HTTP to a back-end (a ServiceNow instance, Démarches Simplifiées, or
//! `guichet serve`): authentication,
//! bounded reads, and the classification of every failure for the outbox.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

use crate::backend::BackendError;
use crate::domain::Clock;

/// Largest answer accepted from the back-end; past it the answer is refused
/// rather than read into memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Settings {
    /// e.g. `https://instance.service-now.com` or `http://127.0.0.1:8080`.
    pub url: String,
    pub user: String,
    pub password: String,
    pub connect_timeout: Duration,
    /// How long an answer may go without a byte before the link is taken
    /// for dead. Not a limit on a whole answer: a page of cases takes tens
    /// of seconds on a 64 kbit/s rural link, and must not be cut.
    pub read_timeout: Duration,
    /// An OAuth session kept from an earlier process, reused while valid.
    pub session: Option<SavedSession>,
    /// Plain http to a host other than this machine is allowed.
    pub allow_http: bool,
    /// A proxy for every request, over the environment's.
    pub proxy: Option<String>,
    pub auth: crate::config::AuthMode,
    /// The OAuth application's id and secret ("guichet" and none when no
    /// administrator registered one).
    pub client_id: String,
    pub client_secret: String,
    /// The administration's own certificate authority (PEM), trusted beside
    /// the system's roots.
    pub ca_cert: Option<std::path::PathBuf>,
    /// The workstation's clock, the one its store runs on: the back-end's
    /// `Date` is kept as an offset from it, and saved sessions expire by it.
    pub clock: Clock,
    /// How many requests may be in flight at once when reading many rows.
    pub requests_in_flight: usize,
    /// An API token sent as `Authorization: Bearer` on every request, in
    /// place of the user's password and any OAuth grant (Démarches
    /// Simplifiées: the administrator's token).
    pub api_token: Option<String>,
}

/// An OAuth session in a form that outlives the process (kept in the
/// keyring by the CLI, so that each command does not ask for a new token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedSession {
    pub access: String,
    /// Epoch seconds.
    pub expires: u64,
    pub refresh: Option<String>,
}

/// `now + wait`, capped at a year (a back-end's number must not overflow the clock).
fn later(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait.min(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

/// Requests in flight at once by default: enough to keep a back-end's
/// workers busy, few enough not to crowd a shared link.
pub const DEFAULT_IN_FLIGHT: usize = 4;

impl Settings {
    pub fn new(url: &str, user: &str, password: &str) -> Settings {
        Settings {
            url: url.trim_end_matches('/').to_string(),
            user: user.to_string(),
            password: password.to_string(),
            // A satellite or 3G link takes seconds to open a TLS session.
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            session: None,
            allow_http: false,
            proxy: None,
            auth: crate::config::AuthMode::Auto,
            client_id: "guichet".into(),
            client_secret: String::new(),
            ca_cert: None,
            requests_in_flight: DEFAULT_IN_FLIGHT,
            clock: Clock::system(),
            api_token: None,
        }
    }
}

/// Refuses plain http to anything but this machine, before any connection:
/// passwords and citizens' data would cross the network in clear.
fn check_transport(settings: &Settings) -> Result<(), BackendError> {
    let Some(rest) = settings.url.strip_prefix("http://") else {
        return Ok(());
    };
    let host = host_of(rest);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback || settings.allow_http {
        return Ok(());
    }
    Err(BackendError::Rejected(format!(
        "plain http to {host} is refused before connecting: the password and citizens' data would cross the network unencrypted. \
         Use https://; if your administration's network really requires plain http, log in again with --insecure-http"
    )))
}

/// The host of a URL without its scheme (`host:port/path`, `[::1]:80`).
fn host_of(rest: &str) -> &str {
    let authority = rest.split('/').next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    }
}

/// A proxy URL fit to print: any `user:password@` removed.
fn without_credentials(url: &str) -> String {
    // With or without a scheme (`user:pw@proxy:3128` is accepted too).
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Whether `NO_PROXY` exempts a host: `*`, the host itself, or a domain it
/// is in (with or without the leading dot), as reqwest reads it.
fn exempt(no_proxy: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    no_proxy.split(',').map(str::trim).any(|entry| {
        let domain = entry.trim_start_matches('.').to_ascii_lowercase();
        entry == "*"
            || (!domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}"))))
    })
}

#[derive(Debug, Clone)]
struct Token {
    access: String,
    expires: Instant,
    refresh: Option<String>,
}

/// How requests authenticate: OAuth when the instance offers the password
/// grant, HTTP Basic otherwise.
#[derive(Debug, Clone)]
enum Auth {
    Unknown,
    Basic,
    Bearer(Token),
    /// A long-lived API token: never renewed, a 401 is final.
    Api(String),
}

pub struct Client {
    http: reqwest::Client,
    settings: Settings,
    auth: Mutex<Auth>,
    /// The back-end's clock minus the workstation's, in seconds, from the
    /// `Date` header of its last answer; None before any answer.
    clock_offset: Mutex<Option<i64>>,
}

/// A successful answer: status, headers and the parsed JSON body (Null when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

/// Whether a failed request may have changed something on the back-end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// GET: nothing changes, a lost answer is just a failure.
    Read,
    /// PATCH/POST: a lost answer leaves the outcome unknown.
    Write,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Client, BackendError> {
        check_transport(&settings)?;
        let mut http = crate::tls::http_client();
        if let Some(proxy) = &settings.proxy {
            let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(|e| {
                BackendError::Rejected(format!("the profile's proxy '{proxy}' cannot be used: {e}"))
            })?;
            http = http.proxy(proxy);
        }
        if let Some(path) = &settings.ca_cert {
            let refused = |e: String| {
                BackendError::Rejected(format!(
                    "the certificate authority file {}: {e}",
                    path.display()
                ))
            };
            let pem = std::fs::read(path).map_err(|e| refused(e.to_string()))?;
            let certificates =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| refused(e.to_string()))?;
            if certificates.is_empty() {
                return Err(refused("no certificate in it".into()));
            }
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .gzip(true)
            // A redirect would turn a PATCH into a GET (303) or re-send it
            // on its own (307/308), and may drop credentials: never follow.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("guichet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BackendError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        let auth = match &settings.session {
            _ if settings.api_token.is_some() => {
                Auth::Api(settings.api_token.clone().unwrap_or_default())
            }
            _ if settings.auth == crate::config::AuthMode::Basic => Auth::Basic,
            Some(saved) => Auth::Bearer(Token {
                access: saved.access.clone(),
                expires: later(Duration::from_secs(
                    saved.expires.saturating_sub(settings.clock.epoch_seconds()),
                )),
                refresh: saved.refresh.clone(),
            }),
            None => Auth::Unknown,
        };
        Ok(Client {
            http,
            settings,
            auth: Mutex::new(auth),
            clock_offset: Mutex::new(None),
        })
    }

    /// The current OAuth session, to keep for the next process.
    pub fn session(&self) -> Option<SavedSession> {
        match &*self.auth.lock().unwrap_or_else(|p| p.into_inner()) {
            Auth::Bearer(token) => Some(SavedSession {
                access: token.access.clone(),
                expires: self.settings.clock.epoch_seconds()
                    + token
                        .expires
                        .saturating_duration_since(Instant::now())
                        .as_secs(),
                refresh: token.refresh.clone(),
            }),
            _ => None,
        }
    }

    pub fn user(&self) -> &str {
        &self.settings.user
    }

    /// The proxy requests go through, credentials hidden, and the variable
    /// of the environment that set it (None: the profile's own), by the
    /// rules reqwest follows: the profile's, else the scheme's variable, else
    /// `ALL_PROXY`, unless `NO_PROXY` exempts the host.
    pub fn proxy_in_use(&self) -> Option<(String, Option<&'static str>)> {
        if let Some(proxy) = &self.settings.proxy {
            return Some((without_credentials(proxy), None));
        }
        let var = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (v, name))
            })
        };
        let (scheme, rest) = self.settings.url.split_once("://")?;
        if let Some((no_proxy, _)) = var(["NO_PROXY", "no_proxy"])
            && exempt(&no_proxy, host_of(rest))
        {
            return None;
        }
        let by_scheme = if scheme == "https" {
            ["HTTPS_PROXY", "https_proxy"]
        } else {
            ["HTTP_PROXY", "http_proxy"]
        };
        var(by_scheme)
            .or_else(|| var(["ALL_PROXY", "all_proxy"]))
            .map(|(url, name)| (without_credentials(&url), Some(name)))
    }

    /// How requests authenticate now: "OAuth", "HTTP Basic", or "not yet".
    pub fn auth_method(&self) -> &'static str {
        match &*self.auth.lock().unwrap_or_else(|p| p.into_inner()) {
            Auth::Bearer(_) => "OAuth",
            Auth::Basic => "HTTP Basic",
            Auth::Api(_) => "API token",
            Auth::Unknown => "not yet",
        }
    }

    /// The back-end's clock minus the workstation's, in seconds, as its
    /// last answer told; None before any answer carried a `Date`.
    pub fn clock_offset(&self) -> Option<i64> {
        *self.clock_offset.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Learns the back-end's clock from an answer's `Date` header.
    fn observe_clock(&self, headers: &HeaderMap) {
        let Some(date) = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::domain::datetime::parse_http_date)
        else {
            return;
        };
        let offset = (date - self.settings.clock.instant()).whole_seconds();
        *self.clock_offset.lock().unwrap_or_else(|p| p.into_inner()) = Some(offset);
    }

    /// Sends a request built by `build`, authenticating first if needed,
    /// and once more after a 401 on an expired token.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        effect: Effect,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Answer, BackendError> {
        self.send_accepting(method, path, effect, build, &[]).await
    }

    /// The same, with more statuses handed back as answers rather than
    /// classified here (`accept`): for a back-end whose 4xx bodies say
    /// what went wrong in its own terms.
    pub async fn send_accepting(
        &self,
        method: Method,
        path: &str,
        effect: Effect,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
        accept: &[StatusCode],
    ) -> Result<Answer, BackendError> {
        for attempt in 0..2 {
            let auth = self.authentication().await?;
            let url = if path.starts_with("http") {
                path.to_string()
            } else {
                format!("{}{path}", self.settings.url)
            };
            let mut request = self
                .http
                .request(method.clone(), url)
                .header("Accept", "application/json");
            request = match &auth {
                Auth::Bearer(token) => request.bearer_auth(&token.access),
                Auth::Api(token) => request.bearer_auth(token),
                _ => request.basic_auth(&self.settings.user, Some(&self.settings.password)),
            };
            let request = build(request);
            // The trace says method, path and status only: query values
            // carry searched names, and headers the credentials.
            let traced = std::env::var_os("GUICHET_TRACE_HTTP")
                .and_then(|_| request.try_clone())
                .and_then(|r| r.build().ok())
                .map(|built| format!("{} {}", built.method(), built.url().path()));
            let sent = request_result(request.send().await, effect);
            if let Some(line) = &traced {
                match &sent {
                    Ok(response) => eprintln!("http: {line} -> {}", response.status().as_u16()),
                    Err(_) => eprintln!("http: {line} -> no answer"),
                }
            }
            let response = sent?;
            self.observe_clock(response.headers());
            if response.status() == StatusCode::UNAUTHORIZED
                && matches!(auth, Auth::Bearer(_))
                && attempt == 0
            {
                // The token may have expired early: get a new one and retry once.
                *self.auth.lock().unwrap_or_else(|p| p.into_inner()) = Auth::Unknown;
                continue;
            }
            return read_answer(response, effect, accept).await;
        }
        Err(BackendError::Auth(
            "the back-end refused a fresh token".into(),
        ))
    }

    /// The current authentication, obtaining an OAuth token when possible.
    async fn authentication(&self) -> Result<Auth, BackendError> {
        let current = self.auth.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let refresh = match current {
            Auth::Bearer(token) if token.expires > Instant::now() + Duration::from_secs(30) => {
                return Ok(Auth::Bearer(token));
            }
            Auth::Basic => return Ok(Auth::Basic),
            Auth::Api(token) => return Ok(Auth::Api(token)),
            Auth::Bearer(token) => token.refresh,
            Auth::Unknown => None,
        };
        // An expiring session is renewed with the refresh token; the password
        // grant is the fallback when that is refused.
        let renewed = match refresh {
            Some(refresh) => self
                .grant(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                ])
                .await
                .ok(),
            None => None,
        };
        let next = match renewed {
            Some(auth @ Auth::Bearer(_)) => auth,
            _ => self.password_grant().await?,
        };
        *self.auth.lock().unwrap_or_else(|p| p.into_inner()) = next.clone();
        Ok(next)
    }

    /// `POST /oauth_token.do` with the password grant. An instance without
    /// OAuth for us answers 4xx: then HTTP Basic it is.
    async fn password_grant(&self) -> Result<Auth, BackendError> {
        self.grant(&[
            ("grant_type", "password"),
            ("username", self.settings.user.as_str()),
            ("password", self.settings.password.as_str()),
        ])
        .await
    }

    async fn grant(&self, fields: &[(&str, &str)]) -> Result<Auth, BackendError> {
        let mut form = vec![
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.as_str()),
        ];
        form.extend_from_slice(fields);
        let url = format!("{}/oauth_token.do", self.settings.url);
        let response = request_result(self.http.post(url).form(&form).send().await, Effect::Read)?;
        self.observe_clock(response.headers());
        let status = response.status();
        let oauth_only = self.settings.auth == crate::config::AuthMode::Oauth;
        if status == StatusCode::UNAUTHORIZED && oauth_only {
            return Err(BackendError::Auth(
                "the instance refused the OAuth login: check the user name, the password, \
                 the profile's oauth_client_id and its secret"
                    .into(),
            ));
        }
        if status == StatusCode::UNAUTHORIZED {
            // A real instance answers 401 both to a wrong password and when
            // no OAuth application is registered for our client id: only a
            // Table API call can tell which. Basic it is; that call decides.
            return Ok(Auth::Basic);
        }
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(transient_status(status, response.headers()));
        }
        if !status.is_success() {
            if oauth_only {
                return Err(BackendError::Auth(format!(
                    "the instance has no OAuth login for this profile (HTTP {status})"
                )));
            }
            return Ok(Auth::Basic);
        }
        let body = read_json(response, Effect::Read).await?;
        let (Some(access), Some(expires_in)) =
            (body["access_token"].as_str(), body["expires_in"].as_u64())
        else {
            if oauth_only {
                return Err(BackendError::Protocol(
                    "the token endpoint answered without a token".into(),
                ));
            }
            return Ok(Auth::Basic);
        };
        Ok(Auth::Bearer(Token {
            access: access.to_string(),
            expires: later(Duration::from_secs(expires_in)),
            refresh: body["refresh_token"].as_str().map(str::to_string),
        }))
    }
}

fn request_result(
    result: reqwest::Result<Response>,
    effect: Effect,
) -> Result<Response, BackendError> {
    result.map_err(|e| transport_error(&e, effect))
}

/// A transport failure: before the request left (connect), nothing happened;
/// after, a write's outcome is unknown.
fn transport_error(e: &reqwest::Error, effect: Effect) -> BackendError {
    let message = describe(e);
    if e.is_connect() || e.is_builder() {
        return BackendError::transient(message);
    }
    match effect {
        Effect::Read => BackendError::transient(message),
        Effect::Write => BackendError::InDoubt(message),
    }
}

/// A transport error in words, its URL cut before the query: query values
/// carry citizens' names (searches) and ids, and these words reach the
/// outbox's last error, the console and the terminal.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url()
        && url.query().is_some()
    {
        let mut bare = url.clone();
        bare.set_query(None);
        text = text.replace(url.as_str(), bare.as_str());
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// How long a 429 or 503 asks us to wait: `Retry-After` seconds, else the
/// `X-RateLimit-Reset` (or `RateLimit-Reset`) epoch.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // Waits are capped at a day: a back-end's number must not stall us for ever.
    const DAY: u64 = 24 * 3600;
    if let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs.min(DAY)));
    }
    let reset = header("x-ratelimit-reset")
        .or_else(|| header("ratelimit-reset"))?
        .parse::<u64>()
        .ok()?;
    let now = Clock::system().epoch_seconds();
    // Small values are delays, large ones epochs (the drafts allow both).
    let wait = if reset > 1_000_000_000 {
        reset.saturating_sub(now)
    } else {
        reset
    };
    Some(Duration::from_secs(wait.min(DAY)))
}

fn transient_status(status: StatusCode, headers: &HeaderMap) -> BackendError {
    BackendError::Transient {
        message: format!("the back-end answered {status}"),
        retry_after: retry_after(headers),
    }
}

/// The envelope's detail, or message, or the status. ServiceNow wraps one
/// error in `error`; GraphQL back-ends list them in `errors`.
pub fn error_detail(body: &Value, status: StatusCode) -> String {
    if let Some(message) = body["errors"][0]["message"].as_str() {
        return message.to_string();
    }
    let error = &body["error"];
    let detail = error["detail"].as_str().filter(|d| !d.is_empty());
    let message = error["message"].as_str().filter(|m| !m.is_empty());
    match (message, detail) {
        (Some(m), Some(d)) => format!("{m}: {d}"),
        (Some(m), None) => m.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => format!("HTTP {status}"),
    }
}

/// Reads an answer, classifying failures. Statuses the caller wants to see
/// (2xx, 404, 412) come back as Ok.
async fn read_answer(
    response: Response,
    effect: Effect,
    accept: &[StatusCode],
) -> Result<Answer, BackendError> {
    let status = response.status();
    let headers = response.headers().clone();
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT {
        return Err(transient_status(status, &headers));
    }
    if status.is_redirection() {
        let to = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("elsewhere");
        return Err(BackendError::Rejected(format!(
            "the back-end redirects to {to}: check the profile's URL (https, host)"
        )));
    }
    if status == StatusCode::CONFLICT {
        // Our reference back-end: the same Idempotency-Key is still in
        // flight, so that earlier send's outcome is not known yet.
        return Err(match effect {
            Effect::Write => {
                BackendError::InDoubt("the same action is still being processed".into())
            }
            Effect::Read => transient_status(status, &headers),
        });
    }
    if status.is_server_error() {
        // A gateway error may come after the instance applied the write.
        return Err(match effect {
            Effect::Write => BackendError::InDoubt(format!("the back-end answered {status}")),
            Effect::Read => transient_status(status, &headers),
        });
    }
    let body = read_json(response, effect).await?;
    match status {
        StatusCode::UNAUTHORIZED => Err(BackendError::Auth(error_detail(&body, status))),
        s if s.is_success()
            || accept.contains(&s)
            || s == StatusCode::NOT_FOUND
            || s == StatusCode::PRECONDITION_FAILED =>
        {
            Ok(Answer {
                status,
                headers,
                body,
            })
        }
        _ => Err(BackendError::Rejected(error_detail(&body, status))),
    }
}

/// The body as JSON, bounded by [`MAX_BODY_BYTES`]. A body cut short after a
/// write leaves the outcome unknown.
async fn read_json(mut response: Response, effect: Effect) -> Result<Value, BackendError> {
    let status = response.status();
    if let Some(length) = response.content_length()
        && length as usize > MAX_BODY_BYTES
    {
        return Err(BackendError::Protocol(format!(
            "the answer is {length} bytes, more than the {MAX_BODY_BYTES} accepted"
        )));
    }
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(BackendError::Protocol(format!(
                        "the answer is larger than the {MAX_BODY_BYTES} bytes accepted"
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                let message = format!("the answer was cut short: {}", describe(&e));
                return Err(match effect {
                    Effect::Write if status.is_success() => BackendError::InDoubt(message),
                    _ => BackendError::transient(message),
                });
            }
        }
    }
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        let message = format!("the answer is not valid JSON ({e})");
        match effect {
            Effect::Write if status.is_success() => BackendError::InDoubt(message),
            _ => BackendError::Protocol(message),
        }
    })
}

#[cfg(test)]
mod transport_tests {
    use super::*;

    #[test]
    fn proxies_are_shown_without_credentials_and_no_proxy_is_honoured() {
        assert_eq!(
            without_credentials("http://agent:s3cret@proxy.mairie.fr:3128"),
            "http://proxy.mairie.fr:3128"
        );
        assert_eq!(without_credentials("proxy:3128"), "proxy:3128");
        assert_eq!(
            without_credentials("agent:s3cret@proxy.mairie.fr:3128"),
            "proxy.mairie.fr:3128"
        );
        assert_eq!(
            without_credentials("http://a:b@proxy:3128/path@x"),
            "http://proxy:3128/path@x"
        );
        assert_eq!(host_of("user@[::1]:8080/x"), "::1");
        assert!(exempt("localhost, .mairie.fr", "instance.mairie.fr"));
        assert!(exempt("mairie.fr", "Mairie.FR"));
        assert!(exempt("*", "anything"));
        assert!(!exempt("mairie.fr", "notmairie.fr"));
        assert!(!exempt("", "instance.service-now.com"));
    }

    fn settings(url: &str) -> Settings {
        Settings::new(url, "u", "p")
    }

    #[test]
    fn plain_http_only_to_this_machine_unless_allowed() {
        for ok in [
            "https://instance.service-now.com",
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://[::1]:8080",
        ] {
            assert!(check_transport(&settings(ok)).is_ok(), "{ok}");
        }
        for refused in [
            "http://instance.example.fr",
            "http://10.0.0.5:8080",
            "http://[2001:db8::1]/",
        ] {
            let e = check_transport(&settings(refused)).expect_err(refused);
            assert!(e.to_string().contains("--insecure-http"), "{e}");
        }
        let mut allowed = settings("http://instance.example.fr");
        allowed.allow_http = true;
        assert!(check_transport(&allowed).is_ok());
    }
}
