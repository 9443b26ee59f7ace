//! `guichet login`, `logout`, `profiles`, `doctor`.

use std::io::IsTerminal;

use clap::Args;

use super::session::{Failure, Global, Outcome, code, runtime};
use crate::app::Remote;
use crate::backend::Backend;
use crate::config::{Config, Paths, Profile, check_name};
use crate::i18n::Lang;
use crate::secrets;
use crate::store::Store;

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
    /// Allow plain http:// to a host other than this machine (refused
    /// otherwise: passwords and citizens' data would travel in clear).
    #[arg(long)]
    insecure_http: bool,
    /// A proxy for this profile, e.g. http://proxy.mairie.local:3128 (over
    /// HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY).
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// How to log in: auto (OAuth where offered, else HTTP Basic), basic, or
    /// oauth (with an application an administrator registered).
    #[arg(long, value_enum)]
    auth: Option<crate::config::AuthMode>,
    /// The registered OAuth application's client id; its secret is asked
    /// (with --password-stdin: the second line of standard input) and kept
    /// in the keyring, never in the config.
    #[arg(long, value_name = "ID")]
    oauth_client_id: Option<String>,
    /// A PEM file of your administration's certificate authority, trusted
    /// beside the system's roots.
    #[arg(long, value_name = "PATH")]
    ca_cert: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Also delete the profile's local store. Refused while actions wait to
    /// be sent: they are never dropped by a logout.
    #[arg(long)]
    wipe: bool,
}

fn read_password(from_stdin: bool, lang: Lang) -> Result<String, Failure> {
    read_line_secret(from_stdin, lang, "cli.password_prompt")
}

/// The OAuth application's secret: asked after the password (with
/// --password-stdin, the next line).
fn read_secret(from_stdin: bool, lang: Lang) -> Result<String, Failure> {
    read_line_secret(from_stdin, lang, "cli.client_secret_prompt")
}

fn read_line_secret(from_stdin: bool, lang: Lang, prompt: &str) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        eprint!("{}", lang.t(prompt));
    }
    let mut line = String::new();
    stdin.read_line(&mut line).map_err(|e| {
        Failure::new(
            code::ERROR,
            lang.f("cli.password_unreadable", &[("error", &e)]),
        )
    })?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(Failure::usage(lang.t("cli.password_empty")));
    }
    Ok(password)
}

pub fn login(global: &Global, args: LoginArgs) -> Outcome {
    let paths = Paths::discover()?;
    let config = Config::load(&paths.config_file)?;
    let name = global
        .profile
        .clone()
        .or_else(|| config.default_profile.clone())
        .unwrap_or_else(|| "default".to_string());
    check_name(&name)?;
    let existing = config.profiles.get(&name).cloned();
    let language = args
        .language
        .or(existing.as_ref().and_then(|p| p.language.clone()));
    let lang = Lang::choose(language.as_deref());
    let url = args.url.or(existing.as_ref().map(|p| p.url.clone()));
    let user = args.user.or(existing.as_ref().map(|p| p.user.clone()));
    let (Some(url), Some(user)) = (url, user) else {
        return Err(Failure::usage(
            lang.f("cli.login_new_profile", &[("name", &name)]),
        ));
    };
    if global.offline {
        return Err(Failure::usage(lang.t("cli.login_offline")));
    }
    let profile = Profile {
        url: url.trim_end_matches('/').to_string(),
        user,
        backend: existing
            .as_ref()
            .map_or("servicenow".into(), |p| p.backend.clone()),
        language,
        insecure_http: args.insecure_http || existing.as_ref().is_some_and(|p| p.insecure_http),
        proxy: args
            .proxy
            .or(existing.as_ref().and_then(|p| p.proxy.clone())),
        read_timeout_secs: existing.as_ref().and_then(|p| p.read_timeout_secs),
        connect_timeout_secs: existing.as_ref().and_then(|p| p.connect_timeout_secs),
        auth: args
            .auth
            .or(existing.as_ref().map(|p| p.auth))
            .unwrap_or_default(),
        oauth_client_id: args
            .oauth_client_id
            .clone()
            .or(existing.as_ref().and_then(|p| p.oauth_client_id.clone())),
        // Kept absolute: commands run from any folder.
        ca_cert: args
            .ca_cert
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            .or(existing.as_ref().and_then(|p| p.ca_cert.clone())),
    };
    let password = read_password(args.password_stdin, lang)?;
    // A new client id comes with its secret; a kept one keeps its own.
    let client_secret = match &args.oauth_client_id {
        Some(_) => Some(read_secret(args.password_stdin, lang)?),
        None => None,
    };
    // Verified before anything is stored: a wrong password is never saved.
    let signed = runtime()?.block_on(crate::app::workspace::sign_in(
        &paths,
        &name,
        profile,
        &password,
        client_secret.as_deref(),
    ))?;
    let me = &signed.me;
    println!(
        "{}",
        lang.f(
            "cli.logged_in",
            &[
                ("name", &name),
                ("agent", &me.user.name),
                ("user", &me.user.user_name),
                ("method", &signed.method),
                ("keyring", &secrets::store_in_use()?),
            ],
        )
    );
    Ok(())
}

pub fn logout(global: &Global, args: LogoutArgs) -> Outcome {
    let paths = Paths::discover()?;
    let mut config = Config::load(&paths.config_file)?;
    let (name, profile) = config.profile(global.profile.as_deref())?;
    let lang = Lang::choose(profile.language.as_deref());
    secrets::forget_password(&name, &profile.user)?;
    if args.wipe {
        let store_path = paths.store(&name);
        if store_path.exists() {
            let waiting = Store::open(&store_path)?.unfinished_count()?;
            if waiting > 0 {
                return Err(Failure::new(
                    code::ERROR,
                    lang.f(
                        "cli.logout_store_kept",
                        &[("name", &name), ("waiting", &waiting)],
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
        println!("{}", lang.f("cli.logout_wiped", &[("name", &name)]));
    } else {
        println!("{}", lang.f("cli.logout_done", &[("name", &name)]));
    }
    Ok(())
}

pub fn profiles(global: &Global) -> Outcome {
    let paths = Paths::discover()?;
    let config = Config::load(&paths.config_file)?;
    let lang = chosen_lang(&config, global);
    if config.profiles.is_empty() {
        println!("{}", lang.t("cli.profiles_none"));
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
            "{default} {name:<16} {:<10} {:<40} {}",
            profile.user,
            profile.url,
            lang.f("cli.profiles_queued", &[("count", &queued)])
        );
    }
    Ok(())
}

/// The language of a command about profiles: the chosen profile's, else
/// the locale's.
fn chosen_lang(config: &Config, global: &Global) -> Lang {
    let profile = config.profile(global.profile.as_deref()).ok();
    Lang::choose(profile.and_then(|(_, p)| p.language).as_deref())
}

pub fn doctor(global: &Global) -> Outcome {
    let paths = Paths::discover()?;
    // Read first for its language; a broken file is reported after the
    // paths, which help to find it.
    let config = Config::load(&paths.config_file);
    let lang = config
        .as_ref()
        .map_or_else(|_| Lang::choose(None), |c| chosen_lang(c, global));
    let say = |key: &str, args: &[(&str, &dyn std::fmt::Display)]| {
        println!("{}", lang.f(key, args));
    };
    say(
        "cli.doctor_config",
        &[("path", &paths.config_file.display())],
    );
    say("cli.doctor_data", &[("path", &paths.data_dir.display())]);
    match secrets::store_in_use() {
        Ok(store) => say("cli.doctor_keyring", &[("keyring", &store)]),
        Err(e) => say("cli.doctor_no_keyring", &[("error", &e)]),
    }
    let config = config?;
    let Ok((name, profile)) = config.profile(global.profile.as_deref()) else {
        say("cli.doctor_no_profile", &[]);
        return Ok(());
    };
    say(
        "cli.doctor_profile",
        &[
            ("name", &name),
            ("user", &profile.user),
            ("url", &profile.url),
        ],
    );
    let store = Store::open(&paths.store(&name))?;
    let pulled = store.last_pull()?.map_or_else(
        || lang.t("cli.doctor_never").to_string(),
        |at| at.to_string(),
    );
    say(
        "cli.doctor_store",
        &[
            ("path", &store.path().display()),
            ("cases", &store.case_count()?),
            ("waiting", &store.unfinished_count()?),
            ("pulled", &pulled),
        ],
    );
    let password = secrets::password(&name, &profile.user).ok().flatten();
    say(
        if password.is_some() {
            "cli.doctor_password"
        } else {
            "cli.doctor_no_password"
        },
        &[],
    );
    if global.offline || password.is_none() {
        return Ok(());
    }
    let backend = Remote::connect(&name, &profile)?;
    let checked = runtime()?.block_on(async {
        Ok::<_, crate::backend::BackendError>((
            backend.me().await?,
            backend.capabilities().await?,
            backend.directory().await?,
        ))
    });
    match checked {
        Ok((me, c, directory)) => {
            say("cli.doctor_reachable", &[("name", &me.user.name)]);
            let keys = lang.t(if c.idempotency_keys {
                "cli.doctor_yes"
            } else {
                "cli.doctor_no_keys"
            });
            let writes = lang.t(if c.conditional_writes {
                "cli.doctor_yes"
            } else {
                "cli.doctor_no_writes"
            });
            say(
                "cli.doctor_extensions",
                &[("keys", &keys), ("writes", &writes)],
            );
            say("cli.doctor_auth", &[("method", &backend.auth_method())]);
            say(
                if directory.only_my_groups {
                    "cli.doctor_groups_mine"
                } else {
                    "cli.doctor_groups_all"
                },
                &[],
            );
            use crate::backend::Backend;
            match backend.clock_offset() {
                Some(offset) if offset.abs() > 60 => say(
                    "cli.doctor_clock_apart",
                    &[
                        ("seconds", &offset.abs()),
                        (
                            "way",
                            &lang.t(if offset > 0 {
                                "cli.doctor_clock_ahead"
                            } else {
                                "cli.doctor_clock_behind"
                            }),
                        ),
                    ],
                ),
                Some(_) => say("cli.doctor_clock_ok", &[]),
                None => say("cli.doctor_clock_unknown", &[]),
            }
        }
        Err(e) => say("cli.doctor_backend_error", &[("error", &e)]),
    }
    Ok(())
}
