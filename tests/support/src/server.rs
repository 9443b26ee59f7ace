//! Starting and stopping a real `guichet serve` for integration tests and
//! benchmarks: 127.0.0.1:0, a temporary database, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::cli;

/// The day demo data is laid around, fixed so tests are deterministic.
pub const DEMO_DATE: &str = "2026-03-02";

pub struct Server {
    pub url: String,
    child: Child,
    pub db: PathBuf,
    dir: Option<tempfile::TempDir>,
}

/// Starts a server on a fresh database with `demo` cases and extra flags.
pub fn start(demo: u32, extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("cases.db");
    let mut server = start_on(&db, Some(demo), extra);
    server.dir = Some(dir);
    server
}

/// For benchmarks: a fresh server whose demo cases are laid around today,
/// as the agent's clock sees them (tests fix the day instead). With the
/// fixed day, every deadline is past by now, and filters on deadlines no
/// longer narrow anything: not the agent's world.
pub fn start_today(demo: u32, extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("cases.db");
    let mut args = vec!["--demo".to_string(), demo.to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut server = launch(&db, &args, Stdio::null());
    server.dir = Some(dir);
    server
}

/// Starts a server on an existing (or new) database file.
pub fn start_on(db: &Path, demo: Option<u32>, extra: &[&str]) -> Server {
    let mut args: Vec<String> = Vec::new();
    if let Some(n) = demo {
        args.extend([
            "--demo".into(),
            n.to_string(),
            "--demo-date".into(),
            DEMO_DATE.into(),
        ]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    launch(db, &args, Stdio::null())
}

/// For benchmarks: a server that seeds `cases` demo cases (laid around
/// today) on `db`, and its seed report (its first line on standard error)
/// with the time the process took to listen.
pub fn seed(db: &Path, cases: u32) -> (Server, String) {
    let started = Instant::now();
    let mut server = launch(db, &["--demo".into(), cases.to_string()], Stdio::piped());
    let mut report = String::new();
    BufReader::new(server.child.stderr.take().expect("stderr"))
        .read_line(&mut report)
        .expect("seed report");
    let report = format!(
        "{} (process ready after {:.2} s)",
        report.trim(),
        started.elapsed().as_secs_f64()
    );
    (server, report)
}

/// `guichet serve` on 127.0.0.1:0 and `db`, once it listens.
fn launch(db: &Path, args: &[String], stderr: Stdio) -> Server {
    let mut child = cli::guichet()
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
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
        dir: None,
    }
}

/// `guichet serve --db <a new temporary file>` with exactly `args` (its
/// `--addr` among them), once it listens: its URL is the one it printed
/// (`http://0.0.0.0:PORT` when asked so; a test connects to 127.0.0.1).
/// When it refuses to start instead, how it ended, standard error included.
pub fn try_serve(args: &[&str]) -> Result<Server, cli::Output> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("cases.db");
    try_serve_on(&db, args).map(|mut server| {
        server.dir = Some(dir);
        server
    })
}

/// [`try_serve`] on an existing (or new) database file.
pub fn try_serve_on(db: &Path, args: &[&str]) -> Result<Server, cli::Output> {
    // Standard error goes to a file beside the database: a pipe nobody
    // reads would fill up and stall a server that logs.
    let log_path = db.with_extension("stderr.log");
    let log = std::fs::File::create(&log_path).expect("server log file");
    let mut child = cli::guichet()
        .args(["serve", "--db"])
        .arg(db)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start guichet serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    match line.trim().strip_prefix("listening on ") {
        Some(url) => Ok(Server {
            url: url.to_string(),
            child,
            db: db.to_path_buf(),
            dir: None,
        }),
        None => {
            if !line.is_empty() {
                // Something else than the expected first line: not a refusal
                // to start, and it may still be running.
                let _ = child.kill();
            }
            let status = child.wait().expect("wait for guichet serve");
            Err(cli::Output {
                code: status.code().unwrap_or(-1),
                stdout: line,
                stderr: std::fs::read_to_string(&log_path).unwrap_or_default(),
            })
        }
    }
}

impl Server {
    /// `127.0.0.1:PORT`, for a proxy's upstream.
    pub fn address(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

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
        next.dir = self.dir.take();
        next
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
