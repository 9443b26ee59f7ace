//! `guichet` with no command: the console on the one inbox of every profile
//! whose `inbox` is not false (the default profile first), or on the one
//! profile there is, or the one `--profile` names.

use std::io::IsTerminal;
use std::sync::Arc;

use super::session::{Failure, Global, Outcome, code};
use crate::app::inbox::Inbox;
use crate::app::{Remote, Workspace};
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
    // `--profile P` opens P alone, as always; otherwise the inbox when
    // more than one profile is in it.
    if global.profile.is_none()
        && let Some(inbox) = Inbox::open(None, |name| super::unlock::open_workspace(Some(name)))?
    {
        check_terminal()?;
        return run(global, ascii, inbox.workspaces);
    }
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
    run(global, ascii, vec![workspace])
}

/// The console over these workspaces; the first one's language, user and
/// lock stand for the session.
fn run(global: &Global, ascii: bool, workspaces: Vec<Workspace>) -> Outcome {
    let Some(first) = workspaces.first() else {
        return Ok(());
    };
    let profile = &first.profile;
    let config_dir = first
        .paths
        .config_file
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let lock = console::lock::Settings {
        after: console::lock::idle_limit(profile.idle_lock_minutes()),
        check: password_check(&first.paths, &first.name),
    };
    let options = Options {
        lang: first.lang(),
        ascii,
        setting: Setting {
            profile: first.name.clone(),
            user: profile.user.clone(),
            host: host_of(&profile.url),
            demo: false,
        },
        offline: global.offline,
        config_dir,
        lock,
    };
    let sources = workspaces
        .iter()
        .map(|workspace| {
            let name = workspace.name.clone();
            let profile = workspace.profile.clone();
            console::Source {
                name: workspace.name.clone(),
                store: &workspace.store,
                connect: Arc::new(move || Remote::connect(&name, &profile)),
            }
        })
        .collect();
    console::run(sources, options)?;
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
