//! Starting and stopping a real `guichet serve` for integration tests:
//! 127.0.0.1:0, a temporary database, killed when dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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
        // English whatever the machine's locale: the first line is read.
        .env("LC_ALL", "C")
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
        dir: None,
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
