//! `guichet login`, `logout`, `profiles`, `doctor`.

use std::io::IsTerminal;

use clap::Args;

use super::session::{Failure, Global, Outcome, code, read_line, runtime};
use crate::app::unlock;
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
    /// The table cases live in, where your instance does not keep them in
    /// CSM's sn_customerservice_case (e.g. incident).
    #[arg(long, value_name = "TABLE")]
    case_table: Option<String>,
    /// A case field your instance names its own way, e.g. citizen=caller_id
    /// or due=u_deadline (repeat for each; checked at login).
    #[arg(long = "field", value_name = "FIELD=NAME", value_parser = field_rename)]
    fields: Vec<(String, String)>,
    /// Which back-end: servicenow (default) or demarches (Démarches
    /// Simplifiées, with --token-stdin, --as and --demarche).
    #[arg(long, value_parser = ["servicenow", "demarches"])]
    kind: Option<String>,
    /// Démarches Simplifiées: read the administrator's API token from
    /// standard input (it is kept in the keyring, like a password).
    #[arg(long)]
    token_stdin: bool,
    /// Démarches Simplifiées: the instructeur you are, by e-mail.
    #[arg(long = "as", value_name = "EMAIL")]
    as_instructeur: Option<String>,
    /// Démarches Simplifiées: a démarche you work, by number (repeat for each).
    #[arg(long = "demarche", value_name = "N")]
    demarches: Vec<i64>,
    /// Démarches Simplifiées: the private annotation your internal notes
    /// are appended to (DS has no internal notes), e.g. "Notes internes".
    #[arg(long, value_name = "LABEL")]
    notes_annotation: Option<String>,
}

/// `--field citizen=caller_id`; the names themselves are checked with the
/// profile's whole schema.
fn field_rename(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(field, name)| (field.trim().to_string(), name.trim().to_string()))
        .ok_or_else(|| format!("expected FIELD=NAME, e.g. citizen=caller_id, not '{text}'"))
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Also delete the profile's local store and the profile. Refused
    /// while actions wait to be sent, unless they are saved in a file
    /// (`guichet queue export FILE`) or --drop-unsent is given.
    #[arg(long)]
    wipe: bool,
    /// With --wipe: delete the store even though actions wait that are in
    /// no export file; they are lost for good (asks first, or --yes).
    #[arg(long, requires = "wipe")]
    drop_unsent: bool,
    /// With --drop-unsent: do not ask (scripts, no terminal).
    #[arg(long, requires = "drop_unsent")]
    yes: bool,
}

pub(super) fn read_password(from_stdin: bool, lang: Lang) -> Result<String, Failure> {
    read_line_secret(from_stdin, lang, "cli.password_prompt")
}

/// The OAuth application's secret: asked after the password (with
/// --password-stdin, the next line).
fn read_secret(from_stdin: bool, lang: Lang) -> Result<String, Failure> {
    read_line_secret(from_stdin, lang, "cli.client_secret_prompt")
}

pub(super) fn read_line_secret(
    from_stdin: bool,
    lang: Lang,
    prompt: &str,
) -> Result<String, Failure> {
    let password = if !from_stdin && std::io::stdin().is_terminal() {
        super::secret_input::read_hidden(lang.t(prompt))
            .map_err(|e| {
                Failure::new(
                    code::ERROR,
                    lang.f("cli.password_unreadable", &[("error", &e)]),
                )
            })?
            .ok_or_else(|| Failure::usage(lang.t("cli.password_empty")))?
    } else {
        read_line(lang, "cli.password_unreadable")?
    };
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
    let user = args
        .user
        .or(args.as_instructeur)
        .or(existing.as_ref().map(|p| p.user.clone()));
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
        backend: args.kind.unwrap_or_else(|| {
            existing
                .as_ref()
                .map_or("servicenow".into(), |p| p.backend.clone())
        }),
        language,
        insecure_http: args.insecure_http || existing.as_ref().is_some_and(|p| p.insecure_http),
        proxy: args
            .proxy
            .or(existing.as_ref().and_then(|p| p.proxy.clone())),
        read_timeout_secs: existing.as_ref().and_then(|p| p.read_timeout_secs),
        connect_timeout_secs: existing.as_ref().and_then(|p| p.connect_timeout_secs),
        requests_in_flight: existing.as_ref().and_then(|p| p.requests_in_flight),
        encrypt_store: existing.as_ref().and_then(|p| p.encrypt_store),
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
        case_table: args
            .case_table
            .or(existing.as_ref().and_then(|p| p.case_table.clone())),
        fields: existing
            .as_ref()
            .map(|p| p.fields.clone())
            .unwrap_or_default()
            .into_iter()
            .chain(args.fields)
            .collect(),
        retention_days: existing.as_ref().and_then(|p| p.retention_days),
        closed_retention_days: existing.as_ref().and_then(|p| p.closed_retention_days),
        lock_after_minutes: existing.as_ref().and_then(|p| p.lock_after_minutes),
        demarches: if args.demarches.is_empty() {
            existing
                .as_ref()
                .map(|p| p.demarches.clone())
                .unwrap_or_default()
        } else {
            args.demarches
        },
        notes_annotation: args
            .notes_annotation
            .or(existing.as_ref().and_then(|p| p.notes_annotation.clone())),
        inbox: existing.as_ref().and_then(|p| p.inbox),
    };
    if profile.is_demarches() && profile.demarches.is_empty() {
        return Err(Failure::usage(lang.t("cli.login_no_demarche")));
    }
    let password = if profile.is_demarches() {
        read_line_secret(
            args.token_stdin || args.password_stdin,
            lang,
            "cli.token_prompt",
        )?
    } else {
        read_password(args.password_stdin, lang)?
    };
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
    let keyring = match secrets::store_in_use() {
        Ok(store) if signed.password_kept => lang.t(store),
        _ => "",
    };
    let said = if signed.password_kept {
        "cli.logged_in"
    } else {
        "cli.logged_in_no_keyring"
    };
    println!(
        "{}",
        lang.f(
            said,
            &[
                ("name", &name),
                ("agent", &me.user.name),
                ("user", &me.user.user_name),
                ("method", &signed.method),
                ("keyring", &keyring),
            ],
        )
    );
    if signed.read_only {
        eprintln!("{}", lang.t("cli.token_read_only"));
    }
    Ok(())
}

pub fn logout(global: &Global, args: LogoutArgs) -> Outcome {
    let paths = Paths::discover()?;
    let mut config = Config::load(&paths.config_file)?;
    let (name, profile) = config.profile(global.profile.as_deref())?;
    let lang = Lang::choose(profile.language.as_deref());
    // The key first: a wipe reads the store before it goes, and the
    // password that may be needed to open it is forgotten next.
    let store = paths.store(&name);
    // A store that cannot be read any more (its key lost with the keyring
    // and the key file) can still be wiped, once its unsent actions are
    // given up knowingly: they could never be sent anyway.
    let unreadable = args.wipe
        && args.drop_unsent
        && args.yes
        && store.exists()
        && match unlock::store_key(&paths, &name, &profile, None) {
            // A key that does not open it (a wrong key, a damaged file);
            // any other refusal (files open to others, in use) stands.
            Ok(key) => matches!(
                Store::open(&store, key.as_ref()),
                Err(crate::store::StoreError::CannotUnseal(_))
            ),
            Err(_) => unlock::key_lost(&paths, &name),
        };
    let key = match args.wipe && !unreadable {
        true => unlock::store_key(&paths, &name, &profile, None)?,
        false => None,
    };
    secrets::forget_password(&name, &profile.user)?;
    if args.wipe {
        let consent = super::wipe::Consent {
            drop_unsent: args.drop_unsent,
            yes: args.yes,
        };
        let only_exported = if unreadable {
            Store::wipe_unreadable(&store)?;
            eprintln!("{}", lang.f("cli.wipe_unreadable", &[("name", &name)]));
            0
        } else {
            super::wipe::wipe(&store, key.as_ref(), &name, lang, &consent)?
        };
        unlock::forget_all(&paths, &name)?;
        config.profiles.remove(&name);
        if config.default_profile.as_deref() == Some(name.as_str()) {
            config.default_profile = None;
        }
        config.save(&paths.config_file)?;
        println!("{}", lang.f("cli.logout_wiped", &[("name", &name)]));
        if only_exported > 0 {
            println!(
                "{}",
                lang.f("cli.logout_wiped_exported", &[("count", &only_exported)])
            );
        }
    } else {
        // The next agent at this workstation needs the password to read
        // the store; the key file keeps it openable.
        unlock::forget_kept(&paths, &name);
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
        // A store that cannot be opened (found open to others, say) is
        // not shown as holding nothing.
        let queued = match unlock::store_key(&paths, name, profile, None)
            .and_then(|key| Ok(Store::open(&paths.store(name), key.as_ref())?.unfinished_count()?))
        {
            Ok(count) => lang.f("cli.profiles_queued", &[("count", &count)]),
            Err(_) => lang.f("cli.profiles_store_refused", &[("name", &name)]),
        };
        println!(
            "{default} {name:<16} {:<10} {:<40} {queued}",
            profile.user, profile.url,
        );
    }
    Ok(())
}

/// The language of a command about profiles: the chosen profile's, else
/// the locale's.
pub(super) fn chosen_lang(config: &Config, global: &Global) -> Lang {
    let profile = config.profile(global.profile.as_deref()).ok();
    Lang::choose(profile.and_then(|(_, p)| p.language).as_deref())
}
