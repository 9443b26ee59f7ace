//! The idle lock: on a shared front-desk workstation, the console hides
//! every citizen's data after a while without a key (or at once, on the
//! agent's key) behind a screen that asks for the agent's password.
//!
//! Only state here: the password check itself is slow (argon2) and leaves
//! as an [`Effect::Unlock`]; the run loop runs it on a blocking thread and
//! its answer comes back as [`Msg::PasswordChecked`]. Everything else goes
//! on behind the lock (sync, the workers' answers): the state is kept up to
//! date, only the drawing shows nothing of it. Nothing is lost by locking:
//! a popup, a draft being written, the list and the case on screen all wait
//! for the agent; only revealed contact details are masked again.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::{Duration, OffsetDateTime};

use super::msg::Msg;
use super::state::State;
use super::update::Effect;

/// Checks the agent's password: `Ok(true)` when it is theirs. Injected, so
/// that the console never knows how (and tests give a fake one).
pub type PasswordCheck = Arc<dyn Fn(&str) -> Result<bool, String> + Send + Sync>;

/// Wrong passwords in a row before tries are refused for a while.
pub const TRIES: u32 = 5;
/// How long tries are refused after [`TRIES`] wrong ones: slows down
/// guessing by whoever stands at the counter.
pub const REFUSED_FOR: Duration = Duration::seconds(30);

/// What the console is started with.
#[derive(Clone)]
pub struct Settings {
    /// Time without a key before the console locks; None: never.
    pub after: Option<Duration>,
    pub check: PasswordCheck,
}

/// For tests and demos only: the idle time in seconds, over the profile's
/// minutes (0: never), so that a test need not wait five minutes.
pub const AFTER_SECS_VAR: &str = "GUICHET_LOCK_AFTER_SECS";

/// The idle time for a profile's `lock_after_minutes` (0: never), unless
/// the environment's [`AFTER_SECS_VAR`] says otherwise.
pub fn idle_limit(minutes: u32) -> Option<Duration> {
    let from_env = std::env::var(AFTER_SECS_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok());
    limit(minutes, from_env)
}

/// The idle time from the profile's minutes or the seconds of the
/// override; None (never) for zero.
pub fn limit(minutes: u32, override_secs: Option<u32>) -> Option<Duration> {
    let seconds = match override_secs {
        Some(seconds) => i64::from(seconds),
        None => i64::from(minutes) * 60,
    };
    (seconds > 0).then(|| Duration::seconds(seconds))
}

/// A password on its way to the check: never printed, even in a debug
/// dump of the effects.
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No key for the configured time.
    Idle,
    /// The agent locked it (the lock key or `:lock`).
    Asked,
}

/// The lock screen's message line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Checking,
    /// Wrong; this many tries before a pause.
    Wrong {
        left: u32,
    },
    /// Tries refused until then.
    Refused {
        until: OffsetDateTime,
    },
    /// The check itself failed (no verifier on this workstation...): it
    /// never unlocks.
    Failed(String),
}

#[derive(Debug)]
pub struct Locked {
    pub reason: Reason,
    /// What the agent typed so far (drawn masked).
    pub password: String,
    /// A check is running: Enter waits for its answer.
    pub checking: bool,
    pub notice: Option<Notice>,
}

#[derive(Debug)]
pub struct Lock {
    pub after: Option<Duration>,
    /// The agent's last key (or paste).
    pub last_input: OffsetDateTime,
    pub locked: Option<Locked>,
    /// Wrong passwords in a row (across locks; a right one resets it).
    pub failures: u32,
    pub refused_until: Option<OffsetDateTime>,
}

impl Lock {
    pub fn new(after: Option<Duration>, now: OffsetDateTime) -> Lock {
        Lock {
            after,
            last_input: now,
            locked: None,
            failures: 0,
            refused_until: None,
        }
    }

    pub fn is_locked(&self) -> bool {
        self.locked.is_some()
    }

    /// Seconds left before tries are taken again (0: they are).
    pub fn refused_for(&self, now: OffsetDateTime) -> i64 {
        self.refused_until
            .map_or(0, |until| (until - now).whole_seconds().max(0))
    }
}

/// The agent is at the keyboard: the idle time starts again.
pub fn touch(state: &mut State) {
    state.lock.last_input = state.now;
}

/// Locks now (nothing happens if already locked).
pub fn lock(state: &mut State, reason: Reason) {
    if state.lock.is_locked() {
        return;
    }
    // Shown contact details are masked again: whoever unlocks asks again,
    // and that showing goes on the audit trail again.
    state.case.revealed = false;
    state.lock.locked = Some(Locked {
        reason,
        password: String::new(),
        checking: false,
        notice: None,
    });
    state.dirty = true;
    tracing::info!(?reason, "console locked");
}

/// The clock moved on (state.now is already the new time).
pub fn on_tick(state: &mut State) {
    if state.lock.is_locked() {
        if let Some(until) = state.lock.refused_until {
            // The countdown shows the seconds left.
            state.dirty = true;
            if until <= state.now {
                state.lock.refused_until = None;
                if let Some(locked) = &mut state.lock.locked
                    && matches!(locked.notice, Some(Notice::Refused { .. }))
                {
                    locked.notice = None;
                }
            }
        }
        return;
    }
    if let Some(after) = state.lock.after
        && state.now - state.lock.last_input >= after
    {
        lock(state, Reason::Idle);
    }
}

/// A key while locked: it goes to the password field and nowhere else.
pub fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let now = state.now;
    let refused = state.lock.refused_for(now) > 0;
    let refused_until = state.lock.refused_until;
    let Some(locked) = &mut state.lock.locked else {
        return;
    };
    match key.code {
        KeyCode::Enter if locked.checking || locked.password.is_empty() => {}
        KeyCode::Enter if refused => {
            locked.password.clear();
            if let Some(until) = refused_until {
                locked.notice = Some(Notice::Refused { until });
            }
        }
        KeyCode::Enter => {
            let password = std::mem::take(&mut locked.password);
            locked.checking = true;
            locked.notice = Some(Notice::Checking);
            fx.push(Effect::Unlock(Password(password)));
        }
        KeyCode::Esc => {
            locked.password.clear();
            if !matches!(locked.notice, Some(Notice::Refused { .. })) {
                locked.notice = None;
            }
        }
        KeyCode::Backspace => {
            locked.password.pop();
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            locked.password.clear();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            locked.password.push(c);
        }
        _ => {}
    }
    state.dirty = true;
}

/// Pasted text while locked: into the password (a password manager's), on
/// one line.
pub fn on_paste(state: &mut State, text: &str) {
    if let Some(locked) = &mut state.lock.locked {
        locked
            .password
            .extend(text.chars().filter(|c| !c.is_control()));
        state.dirty = true;
    }
}

/// The check's answer.
pub fn on_checked(state: &mut State, result: Result<bool, String>) {
    let now = state.now;
    let Some(locked) = &mut state.lock.locked else {
        return;
    };
    locked.checking = false;
    match result {
        Ok(true) => {
            state.lock.locked = None;
            state.lock.failures = 0;
            state.lock.refused_until = None;
            state.lock.last_input = now;
            tracing::info!("console unlocked");
        }
        Ok(false) => {
            state.lock.failures += 1;
            let left = TRIES - state.lock.failures % TRIES;
            if left == TRIES {
                let until = now + REFUSED_FOR;
                state.lock.refused_until = Some(until);
                locked.notice = Some(Notice::Refused { until });
                tracing::warn!(
                    failures = state.lock.failures,
                    "wrong passwords at the lock: tries refused for a while"
                );
            } else {
                locked.notice = Some(Notice::Wrong { left });
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "the password could not be checked");
            locked.notice = Some(Notice::Failed(e));
        }
    }
    state.dirty = true;
}

/// Runs the check on a blocking thread (argon2 takes tens to hundreds of
/// milliseconds) and sends its answer to the console's channel.
pub fn check_in_background(
    check: &PasswordCheck,
    password: Password,
    events: &tokio::sync::mpsc::UnboundedSender<Msg>,
) {
    let check = Arc::clone(check);
    let events = events.clone();
    tokio::task::spawn_blocking(move || {
        let result = check(&password.0);
        // The console may have quit meanwhile: nothing waits for the answer.
        let _ = events.send(Msg::PasswordChecked(result));
    });
}

#[cfg(test)]
#[path = "lock_tests.rs"]
mod tests;
