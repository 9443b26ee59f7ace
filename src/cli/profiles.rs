//! `guichet login`, `logout`, `profiles`, `doctor`.

use std::io::IsTerminal;

use clap::Args;

use super::session::{Failure, Global, Outcome, code, runtime};
use crate::app::Remote;
use crate::backend::Backend;
use crate::config::{Config, Paths, Profile, check_name};
use crate::secrets;
use crate::store::Store;
use crate::sync::pull;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The back-end's base URL, e.g. https://instance.service-now.com
    #[arg(long)]
    url: Option<String>,
    #[arg(long)]
    user: Option<String>,
    /// Read the password from standard input instead of prompting.
    #[arg(long)]
    password_stdin: bool,
    /// Language of labels: fr or en (default: from LANG).
    #[arg(long, value_parser = ["fr", "en"])]
    language: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Also delete the profile's local store. Refused while actions wait to
    /// be sent: they are never dropped by a logout.
    #[arg(long)]
    wipe: bool,
}

fn read_password(from_stdin: bool) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        eprint!("password (shown as you type; use --password-stdin to pipe it): ");
    }
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .map_err(|e| Failure::new(code::ERROR, format!("cannot read the password: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(Failure::usage("the password is empty"));
    }
    Ok(password)
}

pub fn login(global: &Global, args: LoginArgs) -> Outcome {
    let paths = Paths::discover()?;
    let mut config = Config::load(&paths.config_file)?;
    let name = global
        .profile
        .clone()
        .or_else(|| config.default_profile.clone())
        .unwrap_or_else(|| "default".to_string());
    check_name(&name)?;
    let existing = config.profiles.get(&name).cloned();
    let url = args.url.or(existing.as_ref().map(|p| p.url.clone()));
    let user = args.user.or(existing.as_ref().map(|p| p.user.clone()));
    let (Some(url), Some(user)) = (url, user) else {
        return Err(Failure::usage(format!(
            "profile {name} is new: give --url and --user"
        )));
    };
    if global.offline {
        return Err(Failure::usage(
            "login checks the credentials with the back-end: it cannot run --offline",
        ));
    }
    let profile = Profile {
        url: url.trim_end_matches('/').to_string(),
        user,
        backend: existing
            .as_ref()
            .map_or("servicenow".into(), |p| p.backend.clone()),
        language: args.language.or(existing.and_then(|p| p.language)),
    };
    let password = read_password(args.password_stdin)?;
    // Verify before storing anything: a wrong password is never saved.
    let backend = crate::backend::servicenow::ServiceNow::new(
        crate::backend::servicenow::Settings::new(&profile.url, &profile.user, &password),
    )
    .map_err(|e| Failure::new(code::ERROR, e.to_string()))?;
    let mut store = Store::open(&paths.store(&name))?;
    let me = runtime()?.block_on(async {
        let me = backend.me().await?;
        pull::reference(&backend, &mut store).await?;
        Ok::<_, crate::sync::SyncError>(me)
    })?;
    secrets::save_password(&name, &profile.user, &password)?;
    if let Some(session) = backend
        .session()
        .and_then(|s| serde_json::to_string(&s).ok())
    {
        // The next command reuses this session instead of asking again.
        let _ = secrets::save_session(&name, &profile.user, &session);
    }
    config.profiles.insert(name.clone(), profile);
    if config.default_profile.is_none() {
        config.default_profile = Some(name.clone());
    }
    config.save(&paths.config_file)?;
    println!(
        "logged in to profile {name} as {} ({}); password kept in the {}",
        me.user.name,
        me.user.user_name,
        secrets::store_in_use()?
    );
    Ok(())
}

pub fn logout(global: &Global, args: LogoutArgs) -> Outcome {
    let paths = Paths::discover()?;
    let mut config = Config::load(&paths.config_file)?;
    let (name, profile) = config.profile(global.profile.as_deref())?;
    secrets::forget_password(&name, &profile.user)?;
    if args.wipe {
        let store_path = paths.store(&name);
        if store_path.exists() {
            let waiting = Store::open(&store_path)?.unfinished_count()?;
            if waiting > 0 {
                return Err(Failure::new(
                    code::ERROR,
                    format!(
                        "logged out, but the local store of {name} was kept: {waiting} action(s) are not yet applied. \
                         Sync them, or drop them one by one with `guichet queue drop ID --yes`, then wipe again."
                    ),
                ));
            }
            for suffix in ["", "-wal", "-shm"] {
                let file = std::path::PathBuf::from(format!("{}{suffix}", store_path.display()));
                let _ = std::fs::remove_file(file);
            }
        }
        config.profiles.remove(&name);
        if config.default_profile.as_deref() == Some(name.as_str()) {
            config.default_profile = None;
        }
        config.save(&paths.config_file)?;
        println!("logged out of {name}; its local store and profile are deleted");
    } else {
        println!("logged out of {name}; the local store and queued actions are kept");
    }
    Ok(())
}

pub fn profiles(_global: &Global) -> Outcome {
    let paths = Paths::discover()?;
    let config = Config::load(&paths.config_file)?;
    if config.profiles.is_empty() {
        println!("no profile yet: guichet login --profile NAME --url URL --user USER");
        return Ok(());
    }
    for (name, profile) in &config.profiles {
        let default = if config.default_profile.as_deref() == Some(name.as_str()) {
            "*"
        } else {
            " "
        };
        let queued = Store::open(&paths.store(name))
            .and_then(|s| s.unfinished_count())
            .unwrap_or(0);
        println!(
            "{default} {name:<16} {:<10} {:<40} {queued} queued",
            profile.user, profile.url
        );
    }
    Ok(())
}

pub fn doctor(global: &Global) -> Outcome {
    let paths = Paths::discover()?;
    println!("config file:  {}", paths.config_file.display());
    println!("data folder:  {}", paths.data_dir.display());
    match secrets::store_in_use() {
        Ok(store) => println!("keyring:      {store}"),
        Err(e) => println!("keyring:      NONE: {e}"),
    }
    let config = Config::load(&paths.config_file)?;
    let Ok((name, profile)) = config.profile(global.profile.as_deref()) else {
        println!("profile:      none yet (guichet login)");
        return Ok(());
    };
    println!("profile:      {name} ({} at {})", profile.user, profile.url);
    let store = Store::open(&paths.store(&name))?;
    println!(
        "local store:  {} ({} cases, {} actions waiting, last pull {})",
        store.path().display(),
        store.case_count()?,
        store.unfinished_count()?,
        store.meta("pulled_at")?.unwrap_or_else(|| "never".into())
    );
    let password = secrets::password(&name, &profile.user).ok().flatten();
    println!(
        "password:     {}",
        if password.is_some() {
            "in the keyring"
        } else {
            "missing: log in again"
        }
    );
    if global.offline || password.is_none() {
        return Ok(());
    }
    let backend = Remote::connect(&name, &profile)?;
    let checked = runtime()?.block_on(async {
        Ok::<_, crate::backend::BackendError>((backend.me().await?, backend.capabilities().await?))
    });
    match checked {
        Ok((me, c)) => {
            println!("back-end:     reachable, logged in as {}", me.user.name);
            println!(
                "extensions:   idempotency keys {}, conditional writes {}",
                if c.idempotency_keys {
                    "yes"
                } else {
                    "no (read-back is used)"
                },
                if c.conditional_writes {
                    "yes"
                } else {
                    "no (versions compared before writing)"
                }
            );
        }
        Err(e) => println!("back-end:     {e}"),
    }
    Ok(())
}
