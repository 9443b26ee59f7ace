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

/// Starts logging to `guichet.log`; the guard flushes it when dropped.
/// Without a folder to write in, nothing is logged (the console still runs).
pub fn init() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let folder = folder()?;
    std::fs::create_dir_all(&folder).ok()?;
    let level = std::env::var("GUICHET_LOG")
        .ok()
        .and_then(|v| LevelFilter::from_str(v.trim()).ok())
        .unwrap_or(LevelFilter::INFO);
    let appender = tracing_appender::rolling::never(&folder, "guichet.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_max_level(level)
        .try_init()
        .ok()?;
    Some(guard)
}
