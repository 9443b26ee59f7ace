//! `guichet unlock`, and the password asked at start when the store's key is
//! not in the keyring (after a restart, or on a machine without a keyring):
//! the password opens the key file offline (see `app::unlock`).

use std::io::IsTerminal;

use clap::Args;

use super::session::{Failure, Global, Outcome, code};
use crate::app::{AppError, Workspace, unlock};
use crate::config::{Config, Paths};
use crate::i18n::Lang;

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Read the password from standard input (scripts).
    #[arg(long)]
    password_stdin: bool,
}

pub fn unlock(global: &Global, args: UnlockArgs) -> Outcome {
    let paths = Paths::discover()?;
    let config = Config::load(&paths.config_file)?;
    let (name, profile) = config.profile(global.profile.as_deref())?;
    let lang = Lang::choose(profile.language.as_deref());
    let password = super::profiles::read_line_secret(
        args.password_stdin,
        lang,
        &lang.f(
            "cli.unlock_prompt",
            &[("user", &profile.user), ("name", &name)],
        ),
    )?;
    if !unlock::unlock(&paths, &name, &password)? {
        return Err(Failure::new(
            code::LOGIN,
            lang.f("cli.unlock_wrong", &[("name", &name)]),
        ));
    }
    // The store opens now (a plain one from an earlier version is sealed).
    Workspace::open_with(Some(&name), Some(&password))?;
    remember_password(&name, &profile.user, &password);
    println!("{}", lang.f("cli.unlocked", &[("name", &name)]));
    Ok(())
}

/// The password opened the key the back-end's password last sealed: it is
/// that password, which a restart took from the keyring with the key; the
/// next sync needs it too.
fn remember_password(name: &str, user: &str, password: &str) {
    if crate::secrets::password(name, user)
        .ok()
        .flatten()
        .is_none()
    {
        let _ = crate::secrets::save_password(name, user, password);
    }
}

/// The profile's workspace; on a terminal, a store whose key needs the
/// password asks for it (three tries) instead of failing.
pub fn open_workspace(profile: Option<&str>) -> Result<Workspace, AppError> {
    let first = Workspace::open(profile);
    let Err(AppError::Locked(refusal)) = first else {
        return first;
    };
    if !std::io::stdin().is_terminal() {
        return Err(AppError::Locked(refusal));
    }
    let paths = Paths::discover()?;
    let config = Config::load(&paths.config_file)?;
    let (name, chosen) = config.profile(profile)?;
    let lang = Lang::choose(chosen.language.as_deref());
    let prompt = lang.f(
        "cli.unlock_prompt",
        &[("user", &chosen.user), ("name", &name)],
    );
    for _ in 0..3 {
        let typed = super::secret_input::read_hidden(&prompt)
            .map_err(|e| AppError::System(e.to_string()))?;
        let Some(password) = typed else {
            break;
        };
        if unlock::unlock(&paths, &name, &password)? {
            let workspace = Workspace::open_with(Some(&name), Some(&password))?;
            remember_password(&name, &chosen.user, &password);
            return Ok(workspace);
        }
        eprintln!("{}", lang.f("cli.unlock_wrong", &[("name", &name)]));
    }
    Err(AppError::Locked(refusal))
}
