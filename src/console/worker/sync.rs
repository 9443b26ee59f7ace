//! The sync task: a round on a timer, when the agent asks, and soon after
//! an action is queued; never while the agent works offline. A round that
//! finds the back-end away leaves everything queued and says so.

use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::Connect;
use crate::console::msg::{Msg, SyncEvent, Trouble};
use crate::store::Store;
use crate::sync::pull::Progress;
use crate::sync::push::Round;
use crate::sync::{SyncError, sync_once_with};

/// How often the console syncs on its own.
const EVERY: Duration = Duration::from_secs(60);
/// After an action is queued, how long to wait for more before sending
/// (an agent who takes then comments sends both in one round).
const SETTLE: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncCommand {
    /// The agent asked: everything now, backoffs ignored.
    Now,
    /// Something was queued: send what is due.
    Wake,
    SetOffline(bool),
}

/// The sync loop of the profile `source`.
pub async fn run(
    source: String,
    mut store: Store,
    connect: Connect,
    mut offline: bool,
    mut commands: UnboundedReceiver<SyncCommand>,
    events: UnboundedSender<Msg>,
) {
    let mut round = Some(Round::Now);
    loop {
        if let Some(kind) = round.take()
            && !offline
        {
            let said = |event| {
                events
                    .send(Msg::Sync {
                        source: source.clone(),
                        event,
                    })
                    .is_ok()
            };
            if !said(SyncEvent::Started) {
                return;
            }
            let event = one_round(&source, &mut store, &connect, kind, &events).await;
            if !said(event) {
                return;
            }
        }
        let command = tokio::select! {
            command = commands.recv() => command,
            () = tokio::time::sleep(EVERY) => Some(SyncCommand::Wake),
        };
        match command {
            None => return,
            Some(SyncCommand::Now) => round = Some(Round::Now),
            Some(SyncCommand::Wake) => {
                tokio::time::sleep(SETTLE).await;
                round = Some(Round::Due);
            }
            Some(SyncCommand::SetOffline(value)) => {
                offline = value;
                round = (!offline).then_some(Round::Now);
            }
        }
        // Commands that came meanwhile are folded into this round.
        while let Ok(more) = commands.try_recv() {
            match more {
                SyncCommand::Now => round = Some(Round::Now),
                SyncCommand::Wake => {
                    round.get_or_insert(Round::Due);
                }
                SyncCommand::SetOffline(value) => {
                    offline = value;
                    round = (!offline).then_some(Round::Now);
                }
            }
        }
    }
}

async fn one_round(
    source: &str,
    store: &mut Store,
    connect: &Connect,
    round: Round,
    events: &UnboundedSender<Msg>,
) -> SyncEvent {
    // One process talks to the back-end for a store at a time; a CLI sync
    // running beside the console will send what the console queued.
    let lock = match store.lock_sync(false) {
        Ok(Some(lock)) => lock,
        Ok(None) => return SyncEvent::Busy,
        Err(e) => return failed(Trouble::Refusing, e.to_string()),
    };
    if let Err(e) = store.recover_interrupted() {
        return failed(Trouble::Refusing, e.to_string());
    }
    let backend = match connect() {
        Ok(backend) => backend,
        Err(e) if e.is_login() => return failed(Trouble::Login, e.to_string()),
        Err(e) => return failed(Trouble::Refusing, e.to_string()),
    };
    let mut progress = |step: Progress| match step {
        Progress::WorkingSet { .. } => {
            let _ = events.send(Msg::Sync {
                source: source.to_string(),
                event: SyncEvent::WorkingSet,
            });
        }
    };
    let result = sync_once_with(&*backend, store, round, false, &mut progress).await;
    drop(lock);
    match result {
        Ok(report) => SyncEvent::Finished {
            applied: report.push.applied + report.push.found_applied,
            conflicts: report.push.conflicts,
            failed: report.push.failed,
            // Purged cases leave the lists too.
            cases_changed: report.pull.map_or(0, |p| p.cases_changed) + report.purged.cases,
            numbered: report.push.numbered,
        },
        Err(e) => {
            let trouble = classify(&e);
            failed(trouble, e.to_string())
        }
    }
}

fn classify(e: &SyncError) -> Trouble {
    if e.is_login() {
        Trouble::Login
    } else if e.is_offline() {
        Trouble::Unreachable
    } else {
        Trouble::Refusing
    }
}

fn failed(trouble: Trouble, message: String) -> SyncEvent {
    tracing::info!(?trouble, "sync round stopped");
    SyncEvent::Failed { trouble, message }
}
