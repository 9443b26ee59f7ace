//! `guichet demo`: the whole product in one command. The reference back-end
//! starts in this process on a free loopback port with N demo cases, the
//! agent `demo` logs in (password in memory only), a first sync fills the
//! local store, and the console opens. Quitting stops everything; without
//! --keep, nothing is left behind: no profile, no password, no files.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::console::check_terminal;
use super::session::{Failure, Global, Outcome, code};
use crate::app::{AppError, Remote};
use crate::config::{Paths, Profile};
use crate::console::{self, Options, state::Setting};
use crate::i18n::Lang;
use crate::server::{self, ServeOptions};
use crate::store::Store;
use crate::sync::push::Round;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many demo cases the back-end holds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    cases: u32,
    /// Keep the demo's back-end and local store between runs (in the data
    /// folder) instead of fresh temporary ones.
    #[arg(long)]
    keep: bool,
    /// Plain ASCII borders, for terminals without box drawing.
    #[arg(long)]
    ascii: bool,
}

impl DemoArgs {
    /// The demo as `guichet demo` starts it (from the first-run screen).
    pub fn defaults(ascii: bool) -> DemoArgs {
        DemoArgs {
            cases: 5000,
            keep: false,
            ascii,
        }
    }
}

/// The demo's folder, removed when dropped unless kept.
struct Folder {
    path: PathBuf,
    keep: bool,
}

impl Drop for Folder {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

pub fn run(global: &Global, args: DemoArgs) -> Outcome {
    check_terminal()?;
    let folder = if args.keep {
        Folder {
            path: Paths::discover()?.data_dir.join("demo"),
            keep: true,
        }
    } else {
        Folder {
            path: std::env::temp_dir().join(format!("guichet-demo-{}", uuid::Uuid::new_v4())),
            keep: false,
        }
    };
    crate::private_files::create_dir(&folder.path).map_err(|e| {
        Failure::new(
            code::ERROR,
            format!("cannot create {}: {e}", folder.path.display()),
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(code::ERROR, format!("cannot start the async runtime: {e}")))?;
    eprintln!(
        "guichet demo: starting the reference back-end with {} demo cases...",
        args.cases
    );
    let running = runtime
        .block_on(server::start(ServeOptions {
            addr: ([127, 0, 0, 1], 0).into(),
            db: folder.path.join("server.db"),
            demo: Some(args.cases),
            demo_date: None,
            rate_limit: None,
            extensions: true,
            token_ttl_secs: 1799,
            no_oauth: false,
            clock_offset_secs: 0,
            deny_memberships: false,
            demarches: Default::default(),
        }))
        .map_err(|e| Failure::new(code::ERROR, e.to_string()))?;
    let profile = Profile::new(&format!("http://{}", running.addr), "demo");
    let outcome = (|| -> Outcome {
        // Sealed like a real one, with a key that lives as long as the demo.
        let key = crate::store::StoreKey::random();
        let mut store = Store::open(&folder.path.join("store.db"), Some(&key))?;
        eprintln!("guichet demo: first sync of the local store...");
        let backend = Remote::with_password(&profile, "demo")?;
        runtime
            .block_on(crate::sync::sync_once(
                &*backend,
                &mut store,
                Round::Now,
                false,
            ))
            .map_err(AppError::from)?;
        let connect_profile = profile.clone();
        let connect: console::worker::Connect =
            Arc::new(move || Remote::with_password(&connect_profile, "demo"));
        console::run(
            &store,
            Options {
                lang: Lang::choose(None),
                ascii: args.ascii,
                setting: Setting {
                    profile: "demo".into(),
                    user: "demo".into(),
                    host: running.addr.to_string(),
                    demo: true,
                },
                connect,
                offline: global.offline,
                config_dir: Paths::discover()
                    .ok()
                    .and_then(|p| p.config_file.parent().map(std::path::Path::to_path_buf))
                    .unwrap_or_default(),
                lock: console::lock::Settings {
                    after: console::lock::idle_limit(profile.idle_lock_minutes()),
                    // The demo's agent and password are known ("demo") and
                    // its data fictitious: no verifier on disk for it.
                    check: Arc::new(|password| Ok(password == "demo")),
                },
            },
        )?;
        Ok(())
    })();
    if let Err(e) = runtime.block_on(running.stop()) {
        tracing::warn!("demo back-end stop: {e}");
    }
    if folder.keep {
        eprintln!("guichet demo: kept in {}", folder.path.display());
    }
    outcome
}
