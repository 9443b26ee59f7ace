//! The `guichet` binary under test, and running it to the end.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The `guichet` binary Cargo built for the running test or benchmark: the
/// path Cargo gives it in `CARGO_BIN_EXE_guichet` while running it, else the
/// binary beside it (`target/<profile>/guichet`, the test's own executable
/// being `target/<profile>/deps/<name>-<hash>`), as when a test executable
/// is run by hand.
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("CARGO_BIN_EXE_guichet") {
            return path.into();
        }
        let exe = std::env::current_exe().expect("the test's own path");
        let profile = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test runs from target/<profile>/deps");
        let bin = profile.join(format!("guichet{}", std::env::consts::EXE_SUFFIX));
        assert!(
            bin.is_file(),
            "no guichet binary at {} (run the tests through cargo)",
            bin.display()
        );
        bin
    })
}

/// A `guichet` command in the C locale: English whatever the machine's
/// locale (a test may set `LC_ALL` again).
pub fn guichet() -> Command {
    let mut command = Command::new(bin());
    command
        .env("LC_ALL", "C")
        .env_remove("LC_MESSAGES")
        .env_remove("LANG");
    command
}

/// How a command ended, its output as text.
#[derive(Debug)]
pub struct Output {
    /// The exit code; -1 if a signal ended it.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    #[track_caller]
    pub fn expect(self, code: i32) -> Output {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs a command to the end with nothing on its standard input.
pub fn run(mut command: Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .expect("run guichet")
        .into()
}

/// Runs a command to the end with `input` on its standard input
/// (passwords, secrets).
pub fn run_with_input(mut command: Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run guichet");
    // A command that refuses its arguments ends before reading its input:
    // the pipe is then closed, which is its answer, not the test's failure.
    if let Err(e) = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
    {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "write standard input: {e}"
        );
    }
    child.wait_with_output().expect("guichet ends").into()
}
