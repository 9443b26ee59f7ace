//! `guichet demo`: the whole product in one command. The reference back-end
//! starts in this process on a free loopback port with N demo cases, the
//! agent `demo` logs in to each of its demo back-ends (passwords in memory
//! only), a first sync fills a local store for each, and the console opens
//! on them: the one inbox when there are several. Quitting stops
//! everything; without --keep, nothing is left behind: no profile, no
//! password, no files.

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

/// One back-end of the demo's inbox: how the agent reaches it, and the
/// file of its local store in the demo's folder.
struct DemoSource {
    /// Its name in the inbox (as a profile's).
    name: String,
    profile: Profile,
    /// Known to the demo, held in memory only.
    password: String,
    store_file: &'static str,
}

/// The demo back-ends the running reference server offers, the first one
/// standing for the session (language, lock). Each becomes a back-end of
/// the console's inbox.
fn demo_sources(running: &server::Running) -> Vec<DemoSource> {
    let url = format!("http://{}", running.addr);
    // The same agent as an instructeur of the demo démarches, through the
    // server's Démarches Simplifiées endpoint and its demo token.
    let mut demarches = Profile::new(&url, "demo@guichet.test");
    demarches.backend = Profile::DEMARCHES.into();
    demarches.demarches = crate::server::demarches::DEMO_DEMARCHES.to_vec();
    demarches.notes_annotation = Some("Notes internes".into());
    vec![
        DemoSource {
            name: "demo".into(),
            profile: Profile::new(&url, "demo"),
            password: "demo".into(),
            store_file: "store.db",
        },
        DemoSource {
            name: "ds".into(),
            profile: demarches,
            password: crate::server::demarches::DEMO_TOKEN.into(),
            store_file: "store-ds.db",
        },
    ]
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
    let demos = demo_sources(&running);
    let outcome = (|| -> Outcome {
        let mut stores = Vec::new();
        for demo in &demos {
            // Sealed like a real one, with a key that lives as long as the demo.
            let key = crate::store::StoreKey::random();
            let mut store = Store::open(&folder.path.join(demo.store_file), Some(&key))?;
            eprintln!(
                "guichet demo: first sync of the local store ({})...",
                demo.name
            );
            let backend = Remote::with_password(&demo.profile, &demo.password)?;
            runtime
                .block_on(crate::sync::sync_once(
                    &*backend,
                    &mut store,
                    Round::Now,
                    false,
                ))
                .map_err(AppError::from)?;
            stores.push(store);
        }
        let sources = demos
            .iter()
            .zip(&stores)
            .map(|(demo, store)| {
                let (profile, password) = (demo.profile.clone(), demo.password.clone());
                console::Source {
                    name: demo.name.clone(),
                    store,
                    connect: Arc::new(move || Remote::with_password(&profile, &password)),
                }
            })
            .collect();
        let first = &demos[0];
        let password = first.password.clone();
        console::run(
            sources,
            Options {
                lang: Lang::choose(None),
                ascii: args.ascii,
                setting: Setting {
                    profile: first.name.clone(),
                    user: first.profile.user.clone(),
                    host: running.addr.to_string(),
                    demo: true,
                },
                offline: global.offline,
                config_dir: Paths::discover()
                    .ok()
                    .and_then(|p| p.config_file.parent().map(std::path::Path::to_path_buf))
                    .unwrap_or_default(),
                lock: console::lock::Settings {
                    after: console::lock::idle_limit(first.profile.idle_lock_minutes()),
                    // The demo's agent and password are known ("demo") and
                    // its data fictitious: no verifier on disk for it.
                    check: Arc::new(move |typed| Ok(typed == password)),
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
