//! Logs go to a file in the XDG state folder (never to the terminal, where
//! they would tear the console's screen); `GUICHET_LOG` sets the level
//! (error, warn, info, debug, trace; default info).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use tracing_subscriber::filter::LevelFilter;

/// Where the log file goes: `$GUICHET_HOME/state`, else the XDG state
/// folder (or the data folder where a system has none).
pub fn folder() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("GUICHET_HOME").filter(|h| !h.is_empty()) {
        return Some(Path::new(&home).join("state"));
    }
    let dirs = directories::ProjectDirs::from("", "", "guichet")?;
    Some(
        dirs.state_dir()
            .map_or_else(|| dirs.data_dir().to_path_buf(), Path::to_path_buf),
    )
}

/// The log's name in its folder.
pub const FILE: &str = "guichet.log";

/// Starts logging to `guichet.log`; the guard flushes it when dropped.
/// Without a folder to write in, nothing is logged (the console still runs).
///
/// What is logged says what happened, never to whom: no names, contact
/// details, texts, passwords or tokens (call sites log counts, kinds and
/// states). Libraries log only warnings and errors whatever the level, so
/// that `GUICHET_LOG=trace` never dumps a request into the file. The file
/// is 0600 in a 0700 folder; one left readable by an earlier version is
/// made private (it holds nothing that a refusal would protect).
pub fn init() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let folder = folder()?;
    crate::private_files::create_dir(&folder).ok()?;
    let path = folder.join(FILE);
    let file = crate::private_files::open_append(&path).ok()?;
    if crate::private_files::open_to_others(&path).ok()?.is_some() {
        crate::private_files::tighten(&path).ok()?;
    }
    let level = std::env::var("GUICHET_LOG")
        .ok()
        .and_then(|v| LevelFilter::from_str(v.trim()).ok())
        .unwrap_or(LevelFilter::INFO);
    let targets = tracing_subscriber::filter::Targets::new()
        .with_target("guichet", level)
        .with_default(level.min(LevelFilter::WARN));
    let (writer, guard) = tracing_appender::non_blocking(file);
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_max_level(level)
        .finish()
        .with(targets)
        .try_init()
        .ok()?;
    Some(guard)
}
