//! A profile's workspace: its settings, its local store, and the way to its
//! back-end. Both front ends start here.

use crate::backend::adapter::Adapter;
use crate::backend::demarches::{self, Demarches};
use crate::backend::servicenow::{
    CSM_CASE_TABLE, CaseTable, SavedSession, Schema, ServiceNow, Settings,
};
use crate::config::{Config, Paths, Profile};
use crate::i18n::Lang;
use crate::secrets;
use crate::store::Store;

use super::AppError;

pub struct Workspace {
    pub name: String,
    pub profile: Profile,
    pub paths: Paths,
    pub store: Store,
}

impl Workspace {
    /// The named profile, or the default one, with its store opened.
    pub fn open(profile: Option<&str>) -> Result<Workspace, AppError> {
        Workspace::open_with(profile, None)
    }

    /// The same with a password the agent just typed, for a store whose key
    /// the keyring does not have (see `unlock`).
    pub fn open_with(profile: Option<&str>, password: Option<&str>) -> Result<Workspace, AppError> {
        let paths = Paths::discover()?;
        let config = Config::load(&paths.config_file)?;
        let (name, profile) = config.profile(profile)?;
        let key = super::unlock::store_key(&paths, &name, &profile, password)?;
        let mut store = Store::open(&paths.store(&name), key.as_ref())?;
        store.set_retention(profile.retention());
        Ok(Workspace {
            name,
            profile,
            paths,
            store,
        })
    }

    /// The language labels and messages are shown in.
    pub fn lang(&self) -> Lang {
        Lang::choose(self.profile.language.as_deref())
    }

    /// The back-end, with the password from the keyring.
    pub fn backend(&self) -> Result<Remote, AppError> {
        Remote::connect(&self.name, &self.profile)
    }

    /// A second connection to the same store (the console reads on one and
    /// syncs on another, so that a long network round never holds a query).
    pub fn reopen_store(&self) -> Result<Store, AppError> {
        Ok(self.store.reopen()?)
    }
}

/// How to reach a profile's back-end (`name`: where its client secret is kept).
fn settings_of(name: &str, profile: &Profile, password: &str) -> Settings {
    let mut settings = Settings::new(&profile.url, &profile.user, password);
    settings.auth = profile.auth;
    if let Some(id) = &profile.oauth_client_id {
        settings.client_id = id.clone();
        settings.client_secret = secrets::client_secret(name).unwrap_or_default();
    }
    settings.allow_http = profile.insecure_http;
    settings.proxy = profile.proxy.clone();
    settings.ca_cert = profile.ca_cert.clone();
    if let Some(secs) = profile.read_timeout_secs {
        settings.read_timeout = std::time::Duration::from_secs(secs.max(1));
    }
    if let Some(n) = profile.requests_in_flight {
        settings.requests_in_flight = n.max(1);
    }
    if let Some(secs) = profile.connect_timeout_secs {
        settings.connect_timeout = std::time::Duration::from_secs(secs.max(1));
    }
    settings
}

/// The adapter for a profile: its transport settings and, for ServiceNow,
/// its case table and field map; for Démarches Simplifiées, the token (in
/// place of the password), the instructeur and the démarches (refused
/// with the profile's name when they cannot be used).
fn backend_of(name: &str, profile: &Profile, mut settings: Settings) -> Result<Adapter, AppError> {
    let invalid =
        |e: crate::backend::BackendError| AppError::Invalid(format!("profile {name}: {e}"));
    match profile.backend.as_str() {
        "servicenow" => {
            let schema = Schema::new(profile.case_table.as_deref(), &profile.fields)
                .map_err(|e| AppError::Invalid(format!("profile {name}: {e}")))?;
            Ok(Adapter::ServiceNow(
                ServiceNow::new(settings, schema).map_err(invalid)?,
            ))
        }
        Profile::DEMARCHES => {
            settings.api_token = Some(std::mem::take(&mut settings.password));
            Ok(Adapter::Demarches(
                Demarches::new(demarches::Settings {
                    http: settings,
                    email: profile.user.clone(),
                    demarches: profile.demarches.clone(),
                    notes_annotation: profile.notes_annotation.clone(),
                })
                .map_err(invalid)?,
            ))
        }
        other => Err(AppError::Invalid(format!(
            "profile {name}: back-end '{other}' is not one Guichet speaks (servicenow, demarches)"
        ))),
    }
}

/// Checks the credentials with the back-end and loads its directory and
/// choice lists, then keeps the password in the keyring and the profile in
/// the config (as the default one when there is none yet). A wrong password
/// is never saved. Says who the credentials belong to and how they were
/// accepted.
pub async fn sign_in(
    paths: &Paths,
    name: &str,
    profile: Profile,
    password: &str,
    client_secret: Option<&str>,
) -> Result<SignedIn, AppError> {
    use crate::backend::Backend;
    crate::config::check_name(name)?;
    let mut settings = settings_of(name, &profile, password);
    if let Some(secret) = client_secret {
        settings.client_secret = secret.to_string();
    }
    let backend = backend_of(name, &profile, settings)?;
    let me = backend.me().await.map_err(crate::sync::SyncError::from)?;
    let case_table = match backend.servicenow() {
        Some(servicenow) => Some(check_case_table(servicenow, &profile).await?),
        None => None,
    };
    let read_only = match backend.demarches() {
        Some(ds) => !ds.can_write().await.map_err(crate::sync::SyncError::from)?,
        None => false,
    };
    // The back-end accepted the password: it now opens the store offline.
    super::unlock::seal_with(paths, name, password)?;
    let key = super::unlock::store_key(paths, name, &profile, Some(password))?;
    let mut store = Store::open(&paths.store(name), key.as_ref())?;
    crate::sync::pull::reference(&backend, &mut store).await?;
    // A machine with no keyring at all: the password is asked again (or
    // read from GUICHET_PASSWORD) whenever a command needs it; the key file
    // still lets it open the store offline.
    let password_kept = match secrets::save_password(name, &profile.user, password) {
        Ok(()) => true,
        Err(secrets::SecretError::NoKeyring(_)) => false,
        Err(e) => return Err(e.into()),
    };
    if let Some(secret) = client_secret {
        secrets::save_client_secret(name, secret)?;
    }
    if let Some(session) = backend
        .session()
        .and_then(|s| serde_json::to_string(&s).ok())
    {
        // The next command reuses this session instead of asking again.
        let _ = secrets::save_session(name, &profile.user, &session);
    }
    let mut config = Config::load(&paths.config_file)?;
    config.profiles.insert(name.to_string(), profile);
    if config.default_profile.is_none() {
        config.default_profile = Some(name.to_string());
    }
    config.save(&paths.config_file)?;
    Ok(SignedIn {
        me,
        case_table,
        read_only,
        method: backend.auth_method(),
        clock_offset: backend.clock_offset(),
        password_kept,
    })
}

/// The profile's case table and field map, as the instance answers them:
/// refused before anything is kept when the table cannot be read or a
/// mapped field does not come back, with what to change.
async fn check_case_table(backend: &ServiceNow, profile: &Profile) -> Result<CaseTable, AppError> {
    let lang = Lang::choose(profile.language.as_deref());
    let table = backend.check_case_table().await.map_err(|e| match e {
        crate::backend::BackendError::Rejected(why) => AppError::Invalid(lang.f(
            "error.case_table_unreadable",
            &[
                (
                    "table",
                    &profile.case_table.as_deref().unwrap_or(CSM_CASE_TABLE),
                ),
                ("why", &why),
            ],
        )),
        other => AppError::Sync(other.into()),
    })?;
    if !table.missing.is_empty() {
        return Err(AppError::Invalid(lang.f(
            "error.case_fields_missing",
            &[
                ("table", &table.table),
                ("fields", &table.missing.join(", ")),
            ],
        )));
    }
    Ok(table)
}

/// Who signed in, and how.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub me: crate::backend::Me,
    /// The case table as the instance answered for it (ServiceNow).
    pub case_table: Option<CaseTable>,
    /// The token reads but cannot write (Démarches Simplifiées).
    pub read_only: bool,
    /// "OAuth" or "HTTP Basic".
    pub method: &'static str,
    /// The back-end's clock minus the workstation's, in seconds.
    pub clock_offset: Option<i64>,
    /// False on a machine without any keyring.
    pub password_kept: bool,
}

/// The back-end of a profile. When dropped, it keeps its OAuth session in
/// the keyring, so that the next command reuses it instead of asking for a
/// new token: one round trip less per command on a slow rural link.
pub struct Remote {
    backend: Adapter,
    profile: String,
    user: String,
    loaded: Option<String>,
}

impl std::ops::Deref for Remote {
    type Target = Adapter;
    fn deref(&self) -> &Adapter {
        &self.backend
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if self.profile.is_empty() {
            return;
        }
        let Some(session) = self.backend.session() else {
            return;
        };
        if self.loaded.as_deref() == Some(session.access.as_str()) {
            return;
        }
        if let Ok(text) = serde_json::to_string(&session) {
            // Losing it only costs a token request next time.
            let _ = secrets::save_session(&self.profile, &self.user, &text);
        }
    }
}

impl Remote {
    /// A back-end reached with a password held in memory, not the keyring
    /// (the demo: nothing of it may outlive the session).
    pub fn with_password(profile: &Profile, password: &str) -> Result<Remote, AppError> {
        let backend = backend_of("demo", profile, settings_of("", profile, password))?;
        Ok(Remote {
            backend,
            profile: String::new(),
            user: profile.user.clone(),
            // Nothing is saved when dropped: see Drop.
            loaded: None,
        })
    }

    pub fn connect(name: &str, profile: &Profile) -> Result<Remote, AppError> {
        let password = secrets::password(name, &profile.user)?.ok_or_else(|| {
            let lang = Lang::choose(profile.language.as_deref());
            AppError::Login(lang.f("error.no_password", &[("name", &name)]))
        })?;
        let mut settings = settings_of(name, profile, &password);
        settings.session =
            secrets::session(name, &profile.user).and_then(|text| serde_json::from_str(&text).ok());
        let loaded = settings
            .session
            .as_ref()
            .map(|s: &SavedSession| s.access.clone());
        let backend = backend_of(name, profile, settings)?;
        Ok(Remote {
            backend,
            profile: name.to_string(),
            user: profile.user.clone(),
            loaded,
        })
    }
}

/// A runtime for the network part of a command, or of the console's sync.
/// One worker thread beside the caller's: the connections' tasks run there,
/// so requests leave and answers arrive while the caller's thread writes
/// the store (a replay settles one group's answers while the next group is
/// in flight; on a current-thread runtime nothing moves meanwhile).
pub fn runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| AppError::System(format!("cannot start the async runtime: {e}")))
}
