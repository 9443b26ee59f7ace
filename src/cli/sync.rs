//! `guichet sync`: push the queue, pull the changes.

use clap::Args;

use super::output::print_json;
use super::session::{Failure, Global, Outcome, Session, code, lang_of, runtime};
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
        return Err(Failure::usage(lang_of(global).t("cli.sync_offline")));
    }
    let mut session = Session::open(global)?;
    let lang = session.lang();
    let backend = session.backend()?;
    // One process at a time talks to the back-end for this store; a send
    // interrupted by a crash or a kill is then known to be in doubt.
    let _lock = session.store.lock_sync(true)?;
    session.store.recover_interrupted()?;
    // This process only syncs (see `Store::plan_once`).
    session.store.plan_once()?;
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
                    lang,
                );
            } else {
                let pull = report.pull.unwrap_or_default();
                let mut seconds = format!("{:.1}", started.elapsed().as_secs_f64());
                if lang.is_french() {
                    seconds = seconds.replace('.', ",");
                }
                let found = if report.push.found_applied > 0 {
                    lang.f("cli.synced_found", &[("count", &report.push.found_applied)])
                } else {
                    String::new()
                };
                let see = if report.push.conflicts + report.push.failed > 0 {
                    lang.t("cli.synced_see_queue")
                } else {
                    ""
                };
                println!(
                    "{}",
                    lang.f(
                        "cli.synced",
                        &[
                            ("seconds", &seconds),
                            ("applied", &report.push.applied),
                            ("found", &found),
                            ("cases", &pull.cases_changed),
                            ("waiting", &waiting),
                            ("see", &see),
                        ],
                    )
                );
                for (provisional, number) in &report.push.numbered {
                    println!(
                        "{}",
                        lang.f(
                            "cli.synced_numbered",
                            &[("provisional", provisional), ("number", number)],
                        )
                    );
                }
            }
            Ok(())
        }
        Err(e) if e.is_offline() => Err(Failure::new(
            code::ERROR,
            lang.f(
                "cli.sync_unreachable",
                &[("error", &e), ("waiting", &waiting)],
            ),
        )),
        Err(e) => Err(e.into()),
    }
}
