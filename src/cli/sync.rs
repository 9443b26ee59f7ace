//! `guichet sync`: push the queue, pull the changes.

use clap::Args;

use super::output::print_json;
use super::session::{Failure, Global, Outcome, Session, code, runtime};
use crate::sync::push::Round;
use crate::sync::sync_once;

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Also compare every visible case id, to forget deleted cases now.
    #[arg(long)]
    reconcile: bool,
    #[arg(long)]
    json: bool,
}

pub fn sync(global: &Global, args: SyncArgs) -> Outcome {
    if global.offline {
        return Err(Failure::usage("sync needs the network; drop --offline"));
    }
    let mut session = Session::open(global)?;
    let backend = session.backend()?;
    // One process at a time talks to the back-end for this store; a send
    // interrupted by a crash or a kill is then known to be in doubt.
    let _lock = session.store.lock_sync(true)?;
    session.store.recover_interrupted()?;
    let started = std::time::Instant::now();
    let result = runtime()?.block_on(sync_once(
        &*backend,
        &mut session.store,
        Round::Now,
        args.reconcile,
    ));
    let waiting = session.store.unfinished_count()?;
    match result {
        Ok(report) => {
            if args.json {
                print_json(
                    &serde_json::json!({"report": report, "waiting": waiting, "seconds": started.elapsed().as_secs_f64()}),
                );
            } else {
                let pull = report.pull.unwrap_or_default();
                println!(
                    "synced in {:.1} s: {} action(s) applied{}, {} case(s) updated, {} waiting{}",
                    started.elapsed().as_secs_f64(),
                    report.push.applied,
                    if report.push.found_applied > 0 {
                        format!(" ({} found already applied)", report.push.found_applied)
                    } else {
                        String::new()
                    },
                    pull.cases_changed,
                    waiting,
                    if report.push.conflicts + report.push.failed > 0 {
                        " — see guichet queue"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        Err(e) if e.is_offline() => Err(Failure::new(
            code::ERROR,
            format!("back-end unreachable ({e}); {waiting} action(s) stay queued"),
        )),
        Err(e) => Err(e.into()),
    }
}
