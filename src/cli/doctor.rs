//! `guichet doctor`: what this workstation and the instance offer the
//! profile, one line each, every failure with what to do about it.

use super::profiles::chosen_lang;
use super::session::{Global, Outcome, runtime};
use crate::app::Remote;
use crate::backend::{Backend, BackendError};
use crate::config::{Config, Paths, Profile};
use crate::i18n::Lang;
use crate::secrets;
use crate::store::Store;

/// Prints one line of the catalogue.
struct Say(Lang);

impl Say {
    fn line(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) {
        println!("{}", self.0.f(key, args));
    }

    fn t(&self, key: &str) -> &'static str {
        self.0.t(key)
    }
}

pub fn doctor(global: &Global) -> Outcome {
    let paths = Paths::discover()?;
    // Read first for its language; a broken file is reported after the
    // paths, which help to find it.
    let config = Config::load(&paths.config_file);
    let lang = config
        .as_ref()
        .map_or_else(|_| Lang::choose(None), |c| chosen_lang(c, global));
    let say = Say(lang);
    say.line(
        "cli.doctor_config",
        &[("path", &paths.config_file.display())],
    );
    say.line("cli.doctor_data", &[("path", &paths.data_dir.display())]);
    open_folders(&say, &paths);
    match secrets::store_and_reason() {
        Ok((store, why)) => say.line(
            "cli.doctor_keyring",
            &[
                ("keyring", &lang.t(store)),
                ("why", &lang.f(why.key(), &[("error", &why.detail())])),
            ],
        ),
        Err(e) => say.line("cli.doctor_no_keyring", &[("error", &e)]),
    }
    let config = config?;
    let Ok((name, profile)) = config.profile(global.profile.as_deref()) else {
        say.line("cli.doctor_no_profile", &[]);
        return Ok(());
    };
    say.line(
        "cli.doctor_profile",
        &[
            ("name", &name),
            ("user", &profile.user),
            ("url", &profile.url),
        ],
    );
    // A locked store is a finding, not the end of the checks: the rest
    // (keyring, password, back-end) says what else stands in the way.
    match crate::app::unlock::store_key(&paths, &name, &profile, None) {
        Ok(key) => store_lines(&say, &paths.store(&name), key.as_ref(), &profile)?,
        Err(crate::app::AppError::Locked(why)) => say.line("cli.doctor_locked", &[("why", &why)]),
        Err(e) => return Err(e.into()),
    }
    let password = secrets::password(&name, &profile.user).ok().flatten();
    say.line(
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
    match backend.proxy_in_use() {
        Some((proxy, Some(var))) => {
            say.line("cli.doctor_proxy_env", &[("proxy", &proxy), ("var", &var)])
        }
        Some((proxy, None)) => say.line("cli.doctor_proxy_profile", &[("proxy", &proxy)]),
        None => say.line("cli.doctor_no_proxy", &[]),
    }
    runtime()?.block_on(instance(&say, &backend, &profile));
    Ok(())
}

/// Folders other accounts can list (the names of the profiles' stores, the
/// log): the files in them are private, but an administrator should know.
fn open_folders(say: &Say, paths: &Paths) {
    let folders = [
        paths.config_file.parent().map(std::path::Path::to_path_buf),
        Some(paths.data_dir.clone()),
        Some(paths.data_dir.join("profiles")),
        crate::logging::folder(),
    ];
    for folder in folders.into_iter().flatten() {
        if let Ok(Some(mode)) = crate::private_files::open_to_others(&folder) {
            say.line(
                "cli.doctor_folder_open",
                &[("path", &folder.display()), ("mode", &format!("{mode:o}"))],
            );
        }
    }
}

/// Whether the store is encrypted, and what it holds.
fn store_lines(
    say: &Say,
    path: &std::path::Path,
    key: Option<&crate::store::StoreKey>,
    profile: &Profile,
) -> Outcome {
    let store = Store::open(path, key)?;
    say.line(
        match (key, profile.encrypt_store.unwrap_or(true)) {
            (Some(_), _) => "cli.doctor_sealed",
            (None, true) => "cli.doctor_plain_until_login",
            (None, false) => "cli.doctor_plain_by_choice",
        },
        &[],
    );
    let pulled = store.last_pull()?.map_or_else(
        || say.t("cli.doctor_never").to_string(),
        |at| at.to_string(),
    );
    say.line(
        "cli.doctor_store",
        &[
            ("path", &store.path().display()),
            ("cases", &store.case_count()?),
            ("waiting", &store.unfinished_count()?),
            ("pulled", &pulled),
        ],
    );
    Ok(())
}

/// The case table and the other tables a ServiceNow instance must let us read.
/// Says what rate limit the instance announced, if any.
async fn tables(
    say: &Say,
    servicenow: &crate::backend::servicenow::ServiceNow,
    profile: &Profile,
) -> Option<crate::backend::servicenow::RateLimit> {
    match servicenow.check_case_table().await {
        Ok(table) if !table.missing.is_empty() => {
            say.line(
                "cli.doctor_cases_missing",
                &[
                    ("table", &table.table),
                    ("fields", &table.missing.join(", ")),
                ],
            );
            say.line("cli.doctor_hint_fields", &[]);
        }
        Ok(table) if !table.sampled => {
            say.line("cli.doctor_cases_unsampled", &[("table", &table.table)])
        }
        Ok(table) => say.line("cli.doctor_cases_ok", &[("table", &table.table)]),
        Err(e) => {
            let table = profile
                .case_table
                .as_deref()
                .unwrap_or(crate::backend::servicenow::CSM_CASE_TABLE);
            say.line(
                "cli.doctor_cases_unreadable",
                &[("table", &table), ("error", &e)],
            );
            say.line("cli.doctor_hint_case_table", &[]);
        }
    }
    let (tables, rate_limit) = servicenow.probe_tables().await;
    for table in tables {
        match table.readable {
            Ok(()) => say.line("cli.doctor_table_ok", &[("table", &table.table)]),
            Err(why) => say.line(
                "cli.doctor_table_refused",
                &[("table", &table.table), ("error", &why)],
            ),
        }
    }
    rate_limit
}

/// The instance, probed the way the sync uses it.
async fn instance(say: &Say, backend: &Remote, profile: &Profile) {
    let me = match backend.me().await {
        Ok(me) => me,
        Err(e) => {
            say.line("cli.doctor_backend_error", &[("error", &e)]);
            say.line(hint(&e), &[]);
            return;
        }
    };
    say.line("cli.doctor_reachable", &[("name", &me.user.name)]);
    say.line("cli.doctor_auth", &[("method", &backend.auth_method())]);
    match backend.capabilities().await {
        Ok(c) => {
            let keys = say.t(if c.idempotency_keys {
                "cli.doctor_yes"
            } else {
                "cli.doctor_no_keys"
            });
            let writes = say.t(if c.conditional_writes {
                "cli.doctor_yes"
            } else {
                "cli.doctor_no_writes"
            });
            say.line(
                "cli.doctor_extensions",
                &[("keys", &keys), ("writes", &writes)],
            );
        }
        Err(e) => say.line("cli.doctor_backend_error", &[("error", &e)]),
    }
    clock(say, backend.clock_offset());
    let rate_limit = match (backend.servicenow(), backend.demarches()) {
        (Some(servicenow), _) => tables(say, servicenow, profile).await,
        (_, Some(demarches)) => {
            match demarches.can_write().await {
                Ok(true) => {}
                Ok(false) => say.line("cli.token_read_only", &[]),
                Err(e) => say.line("cli.doctor_backend_error", &[("error", &e)]),
            }
            None
        }
        _ => None,
    };
    match backend.directory().await {
        Ok(directory) => say.line(
            if directory.only_my_groups {
                "cli.doctor_groups_mine"
            } else {
                "cli.doctor_groups_all"
            },
            &[],
        ),
        Err(e) => say.line("cli.doctor_backend_error", &[("error", &e)]),
    }
    match backend.choices().await {
        Ok(choices) => {
            let lists: Vec<String> = crate::domain::ChoiceList::ALL
                .iter()
                .map(|list| {
                    let count = choices.iter().filter(|c| c.list == *list).count();
                    format!("{} {count}", list.as_str())
                })
                .collect();
            say.line("cli.doctor_choices", &[("lists", &lists.join(", "))]);
        }
        Err(e) => say.line("cli.doctor_backend_error", &[("error", &e)]),
    }
    match rate_limit {
        _ if backend.servicenow().is_none() => {}
        Some(limit) => say.line(
            "cli.doctor_rate_limit",
            &[
                ("limit", &limit.limit),
                (
                    "reset",
                    &limit.reset.as_deref().map_or("?".into(), epoch_text),
                ),
            ],
        ),
        None => say.line("cli.doctor_no_rate_limit", &[]),
    }
}

/// An epoch in seconds as the Table API writes datetimes (UTC).
fn epoch_text(epoch: &str) -> String {
    epoch
        .parse::<i64>()
        .ok()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map_or_else(
            || epoch.to_string(),
            |at| crate::domain::Timestamp::from(at).to_string(),
        )
}

fn clock(say: &Say, offset: Option<i64>) {
    match offset {
        Some(offset) if offset.abs() > 60 => say.line(
            "cli.doctor_clock_apart",
            &[
                ("seconds", &offset.abs()),
                (
                    "way",
                    &say.t(if offset > 0 {
                        "cli.doctor_clock_ahead"
                    } else {
                        "cli.doctor_clock_behind"
                    }),
                ),
            ],
        ),
        Some(_) => say.line("cli.doctor_clock_ok", &[]),
        None => say.line("cli.doctor_clock_unknown", &[]),
    }
}

/// What to do when the instance cannot be reached or refuses the agent.
fn hint(error: &BackendError) -> &'static str {
    match error {
        BackendError::Auth(_) => "cli.doctor_hint_login",
        BackendError::Transient { message, .. } | BackendError::InDoubt(message)
            if message.contains("certificate") || message.contains("UnknownIssuer") =>
        {
            "cli.doctor_hint_certificate"
        }
        BackendError::Transient { .. } | BackendError::InDoubt(_) => "cli.doctor_hint_network",
        _ => "cli.doctor_hint_refused",
    }
}
