//! `guichet serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::session::code as exit;
use crate::server::{self, Deployment, ServeOptions, TlsFiles};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed on the first line).
    /// An address other than loopback needs TLS: --tls-cert and --tls-key,
    /// or --behind-proxy.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Speak TLS with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A reverse proxy in front terminates TLS: allows listening off
    /// loopback in plain HTTP, and links written by the server say https.
    #[arg(long)]
    behind_proxy: bool,
    /// Longest time one request's database work may take (fractions
    /// allowed); past it the request is answered 503 and its query stopped.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_deadline)]
    query_deadline_secs: f64,
    /// The SQLite database file (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// Seed N demo cases into an empty database and enable the demo accounts
    /// (loopback addresses only).
    #[arg(long, value_name = "N")]
    demo: Option<u32>,
    /// The day the demo data is laid around, YYYY-MM-DD (default: today).
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "demo")]
    demo_date: Option<time::Date>,
    /// Limit each user to N requests a minute (429 with Retry-After past it).
    #[arg(long, value_name = "PER_MINUTE")]
    rate_limit: Option<u32>,
    /// Behave like a real ServiceNow: no ETag, If-Match or Idempotency-Key.
    #[arg(long)]
    no_extensions: bool,
    /// Lifetime of OAuth access tokens, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1799)]
    token_ttl: i64,
    /// Answer the token endpoint as an instance with no OAuth application
    /// for the client does: 401 access_denied (clients must fall back to Basic).
    #[arg(long)]
    no_oauth: bool,
    /// Run the server's clock this many seconds ahead (negative: behind) of
    /// the machine's, for tests of workstations whose clock drifts.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    clock_offset: i64,
    /// Refuse agents' reads of sys_user_grmember (403), as the ACLs of some
    /// instances do.
    #[arg(long)]
    deny_memberships: bool,
    /// Démarches Simplifiées endpoint: limit each Authorization header to
    /// N requests a minute (429 with RateLimit-Reset past it; DS's default
    /// is 400). Off by default.
    #[arg(long, value_name = "PER_MINUTE")]
    ds_rate_limit: Option<u32>,
    /// With --demo: how many Démarches Simplifiées dossiers to seed.
    #[arg(long, value_name = "N", requires = "demo")]
    demo_dossiers: Option<u32>,
    /// For tests: create a Démarches Simplifiées API token before serving,
    /// TOKEN[:read-only][:demarches=N,N...][:expires=EPOCH_SECONDS]
    /// (default: read-write, every démarche, no expiry). Repeatable.
    #[arg(long, value_name = "SPEC", hide = true)]
    ds_token: Vec<crate::server::demarches::TokenSpec>,
}

fn parse_deadline(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => Ok(secs),
        Ok(_) => Err("a number of seconds above 0 and up to 86400".to_string()),
        Err(e) => Err(format!("a number of seconds: {e}")),
    }
}

fn parse_date(text: &str) -> Result<time::Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, format).map_err(|e| format!("expected YYYY-MM-DD: {e}"))
}

pub fn run(args: ServeArgs) -> ExitCode {
    // The server's log is its standard error (GUICHET_LOG sets the level);
    // in the demo the same events go to the console's log file instead.
    let level = std::env::var("GUICHET_LOG")
        .ok()
        .and_then(|v| {
            v.trim()
                .parse::<tracing_subscriber::filter::LevelFilter>()
                .ok()
        })
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(level)
        .with_target(false)
        .try_init();
    let options = ServeOptions {
        addr: args.addr,
        db: args.db,
        demo: args.demo,
        demo_date: args.demo_date,
        rate_limit: args.rate_limit,
        extensions: !args.no_extensions,
        token_ttl_secs: args.token_ttl.max(1),
        no_oauth: args.no_oauth,
        clock_offset_secs: args.clock_offset,
        deny_memberships: args.deny_memberships,
        demarches: crate::server::demarches::DsOptions {
            rate_limit: args.ds_rate_limit,
            demo_dossiers: args.demo_dossiers,
            tokens: args.ds_token,
        },
    };
    let deployment = Deployment {
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            _ => None,
        },
        behind_proxy: args.behind_proxy,
        query_deadline: Duration::from_secs_f64(args.query_deadline_secs),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("guichet serve: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    match runtime.block_on(server::run(options, deployment)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("guichet serve: {e}");
            ExitCode::from(exit::ERROR)
        }
    }
}
