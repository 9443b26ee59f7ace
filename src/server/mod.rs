//! `guichet serve`: the reference back-end. It speaks the subset of
//! ServiceNow's REST Table API that Guichet uses, for CSM cases, over SQLite.
//! It is the demo's back-end, the real server every integration test talks
//! to, and a usable server for a small office. Deliberate deviations from
//! ServiceNow and our extensions are listed in the README. It also speaks
//! Démarches Simplifiées' GraphQL API at `/api/v2/graphql` (`demarches`).

mod access;
pub mod accounts;
mod auth;
mod bounds;
mod changes;
pub mod clock;
mod db;
mod deadline;
mod delete;
pub mod demarches;
pub mod demo;
mod deployment;
mod error;
mod idempotency;
mod list;
mod pagination;
mod query_sql;
mod rate_limit;
mod records;
mod routes;
mod rules;
mod schema;
pub mod tables;
mod tls;
mod write_flow;
mod writes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tower_http::compression::CompressionLayer;

use db::Db;
pub use db::open_single as open_database;
pub use deployment::Deployment;
pub use tls::TlsFiles;

/// Everything `serve` is told on its command line.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub db: PathBuf,
    /// Seed this many demo cases into an empty database, and let the demo
    /// accounts log in.
    pub demo: Option<u32>,
    /// The day demo dates are laid around (default: today).
    pub demo_date: Option<time::Date>,
    pub rate_limit: Option<u32>,
    /// ETag / If-Match / Idempotency-Key; off, the server behaves like a real
    /// ServiceNow instance, which has none of them.
    pub extensions: bool,
    /// Lifetime of OAuth access tokens (ServiceNow's default: 1799 s).
    pub token_ttl_secs: i64,
    /// Answer the token endpoint as an instance with no OAuth application
    /// registered for the client: 401 `access_denied`, whatever the password.
    pub no_oauth: bool,
    /// Seconds added to the machine's clock (tests of clock skew).
    pub clock_offset_secs: i64,
    /// Refuse agents' reads of group memberships (403), as some instances'
    /// ACLs do; supervisors still read them.
    pub deny_memberships: bool,
    /// The Démarches Simplifiées endpoint's own options.
    pub demarches: demarches::DsOptions,
}

pub struct AppState {
    db: Arc<Db>,
    options: ServeOptions,
    deployment: Deployment,
    verified: auth::VerifiedCache,
    failures: auth::Failures,
    in_flight: idempotency::InFlight,
    rate_limiter: Option<rate_limit::RateLimiter>,
    ds: demarches::Endpoint,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing --demo on {0}: demo accounts have well-known passwords, so the demo only listens on a loopback address (127.0.0.1 or ::1)"
    )]
    DemoNotOnLoopback(SocketAddr),
    #[error(
        "refusing to listen on {0} in plain HTTP: passwords, tokens and citizens' data would cross the network in clear. Either give the server a certificate (--tls-cert FILE --tls-key FILE), or put a TLS reverse proxy in front of it and say so with --behind-proxy, or listen on a loopback address (127.0.0.1 or ::1)"
    )]
    PlainHttpOffLoopback(SocketAddr),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot open the database {path}: {source}")]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot seed the demo data: {0}")]
    Seed(#[from] demo::SeedError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// Epoch seconds as SQLite stores them, by the server's clock.
pub(crate) fn epoch_now() -> i64 {
    clock::epoch_now()
}

/// Opens (creating if needed) the database, seeds the demo when asked, then
/// serves until SIGINT or SIGTERM. The first line on stdout is
/// `listening on http://ADDR` (`https://` with the server's own TLS), with
/// the real port when port 0 was asked.
pub async fn run(options: ServeOptions, deployment: Deployment) -> Result<(), ServeError> {
    let running = start_with(options, deployment).await?;
    if let Some(report) = &running.seeded {
        eprintln!("{report}");
    }
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}://{}", running.scheme, running.addr)?;
        out.flush()?;
    }
    shutdown_signal().await;
    running.stop().await?;
    eprintln!("guichet serve: stopped");
    Ok(())
}

/// A server started in this process (by `serve`, or by `guichet demo`
/// beside the console), until `stop`.
pub struct Running {
    pub addr: SocketAddr,
    /// `http`, or `https` when the server speaks TLS itself.
    pub scheme: &'static str,
    /// What demo seeding did, when it was asked.
    pub seeded: Option<String>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and waits for it.
    pub async fn stop(self) -> Result<(), ServeError> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(result) => Ok(result?),
            Err(e) => Err(ServeError::Io(std::io::Error::other(e.to_string()))),
        }
    }
}

/// Opens the database (seeding the demo when asked), binds, and serves in
/// a task of the current runtime, deployed as by default: plain HTTP, on
/// loopback only (the demo's case).
pub async fn start(options: ServeOptions) -> Result<Running, ServeError> {
    start_with(options, Deployment::default()).await
}

/// [`start`], deployed as `deployment` says (TLS, a proxy in front, the
/// query deadline).
pub async fn start_with(
    options: ServeOptions,
    deployment: Deployment,
) -> Result<Running, ServeError> {
    if options.demo.is_some() && !options.addr.ip().is_loopback() {
        return Err(ServeError::DemoNotOnLoopback(options.addr));
    }
    deployment.check_address(options.addr)?;
    // Certificate and key are read before anything else is touched.
    let acceptor = deployment.tls.as_ref().map(tls::acceptor).transpose()?;
    clock::set_offset(options.clock_offset_secs);
    let database_error = |source| ServeError::Database {
        path: options.db.clone(),
        source,
    };
    let mut seeded = None;
    if let Some(cases) = options.demo {
        // Seeded on a connection of its own, before the pool opens, so that
        // the bulk load may leave WAL mode while it runs.
        let mut conn = db::open_single(&options.db).map_err(database_error)?;
        let date = options
            .demo_date
            .unwrap_or_else(|| crate::domain::Clock::system().now().date());
        let dossiers = options
            .demarches
            .demo_dossiers
            .unwrap_or(demarches::DEFAULT_DEMO_DOSSIERS);
        seeded = Some(match demo::seed(&mut conn, cases, dossiers, date)? {
            Some(report) => report.to_string(),
            None => "the database already holds data: demo seeding skipped, agents' changes kept"
                .to_string(),
        });
    }
    if !options.demarches.tokens.is_empty() {
        let conn = db::open_single(&options.db).map_err(database_error)?;
        for spec in &options.demarches.tokens {
            spec.store(&conn).map_err(database_error)?;
        }
    }
    let db = Db::open(&options.db, deployment.query_deadline).map_err(database_error)?;
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: options.addr,
            source,
        })?;
    let addr = listener.local_addr()?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let app = Arc::new(AppState {
        rate_limiter: options.rate_limit.map(rate_limit::RateLimiter::new),
        ds: demarches::Endpoint::new(
            Arc::clone(&db),
            options.demarches.rate_limit,
            options.demo.is_some(),
            deployment.query_deadline,
        ),
        db: Arc::clone(&db),
        options,
        deployment,
        verified: auth::VerifiedCache::default(),
        failures: auth::Failures::default(),
        in_flight: idempotency::InFlight::default(),
    });
    let purge = tokio::spawn(purge_expired(Arc::clone(&db)));
    let router = routes::router(app).layer(CompressionLayer::new().gzip(true));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopped = async {
        let _ = stopped.await;
    };
    let task = match acceptor {
        Some(acceptor) => serve_on(
            tls::TlsListener::new(listener, acceptor)?,
            router,
            stopped,
            purge,
        ),
        None => serve_on(listener, router, stopped, purge),
    };
    Ok(Running {
        addr,
        scheme,
        seeded,
        stop,
        task,
    })
}

/// Serves `router` on `listener` in a task of its own until `stopped`.
fn serve_on<L>(
    listener: L,
    router: axum::Router,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
    purge: tokio::task::JoinHandle<()>,
) -> tokio::task::JoinHandle<std::io::Result<()>>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(stopped)
            .await;
        purge.abort();
        result
    })
}

/// Hourly: forget idempotency keys past their keeping time and dead tokens.
async fn purge_expired(db: Arc<Db>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let result = db
            .write(|conn| {
                let now = epoch_now();
                idempotency::purge(conn, now)?;
                conn.execute("DELETE FROM oauth_token WHERE expires_at <= ?", [now])?;
                conn.execute_batch("PRAGMA optimize;")?;
                Ok(())
            })
            .await;
        if let Err(e) = result {
            tracing::warn!("purge failed: {}", e.detail);
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
