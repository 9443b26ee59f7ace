//! `guichet` with no command: the console on the default profile.

use std::io::IsTerminal;
use std::sync::Arc;

use super::session::{Failure, Global, Outcome, code};
use crate::app::Remote;
use crate::config::ConfigError;
use crate::console::first_run::{self, FirstRun};
use crate::console::{self, Options, state::Setting};

/// The console needs a terminal on both ends.
pub fn check_terminal() -> Result<(), Failure> {
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(Failure::usage(
            "the console needs a terminal; for scripts use `guichet cases`, `guichet case` and the action commands",
        ))
    }
}

pub fn open(global: &Global, ascii: bool) -> Outcome {
    let workspace = match super::unlock::open_workspace(global.profile.as_deref()) {
        Ok(workspace) => workspace,
        Err(crate::app::AppError::Config(ConfigError::NoProfile)) => {
            if check_terminal().is_err() {
                return Err(Failure::new(
                    code::LOGIN,
                    "no profile yet. To try Guichet: `guichet demo`. To work: \
                     `guichet login --profile NAME --url https://INSTANCE --user USER`, then `guichet`.",
                ));
            }
            // A new workstation: the demo, or a login form.
            let paths = crate::config::Paths::discover()?;
            let lang = crate::i18n::Lang::choose(None);
            return match first_run::run(lang, console::theme_from_env(), ascii, paths)? {
                FirstRun::Demo => super::demo::run(global, super::demo::DemoArgs::defaults(ascii)),
                FirstRun::SignedIn => open(global, ascii),
                FirstRun::Quit => Ok(()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    check_terminal()?;
    let name = workspace.name.clone();
    let profile = workspace.profile.clone();
    let host = host_of(&profile.url);
    let config_dir = workspace
        .paths
        .config_file
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let lock = console::lock::Settings {
        after: console::lock::idle_limit(profile.idle_lock_minutes()),
        check: password_check(&workspace.paths, &workspace.name),
    };
    let user = profile.user.clone();
    let connect: console::worker::Connect = Arc::new(move || Remote::connect(&name, &profile));
    console::run(
        &workspace.store,
        Options {
            lang: workspace.lang(),
            ascii,
            setting: Setting {
                profile: workspace.name.clone(),
                user,
                host,
                demo: false,
            },
            connect,
            offline: global.offline,
            config_dir,
            lock,
        },
    )?;
    Ok(())
}

/// The lock's password check: against the verifier on this workstation
/// (never the network). The one place the console meets the real check;
/// the console itself only knows the closure.
fn password_check(paths: &crate::config::Paths, profile: &str) -> console::lock::PasswordCheck {
    let paths = paths.clone();
    let profile = profile.to_string();
    Arc::new(move |password| {
        crate::app::unlock::check_password(&paths, &profile, password).map_err(|e| e.to_string())
    })
}

/// The host part of a URL, for the status bar.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}
