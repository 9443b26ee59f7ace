//! Background work, so that the key and draw path never waits on I/O:
//! - the query thread reads the store (lists, a case, the outbox, figures)
//!   on a connection of its own; a newer list query replaces a waiting one
//!   and interrupts a running one;
//! - the write thread queues the agent's actions and decisions (each write
//!   is fsynced, a few milliseconds the keys must not wait for);
//! - the sync task pushes and pulls on a third connection, on a timer and
//!   on demand; a hung back-end holds only this task.
//!
//! Each sends its results to the console's one channel as a [`Msg`].

mod queries;
mod sync;
mod writes;

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use super::msg::Msg;
use crate::app::{AppError, Remote};
use crate::store::Store;

pub use queries::{ListQuery, Query, QueueTab};
pub use sync::SyncCommand;
pub use writes::{Intent, Write};

/// How the sync task reaches the back-end: a fresh client per round, from
/// the keyring's password, or the demo's in-memory one.
pub type Connect = Arc<dyn Fn() -> Result<Remote, AppError> + Send + Sync>;

/// A profile's store on a worker's own connection, with the profile's name.
pub struct Named {
    pub name: String,
    pub store: Store,
}

/// A back-end of the inbox as the console is started on it.
pub struct Source<'a> {
    /// The profile's name.
    pub name: String,
    /// Its store as opened (the workers reopen it, each on a connection).
    pub store: &'a Store,
    /// How its sync loop reaches its back-end.
    pub connect: Connect,
}

/// The handles the console keeps to its workers.
pub struct Workers {
    queries: std::sync::mpsc::Sender<Query>,
    writes: std::sync::mpsc::Sender<Write>,
    /// One sync loop per back-end, in the inbox's order.
    syncs: Vec<UnboundedSender<SyncCommand>>,
    /// The query thread's connections, one per store.
    interrupts: Vec<crate::store::Interrupt>,
    /// The generation of the list query running now (0: none).
    running_list: Arc<Mutex<u64>>,
    write_thread: Option<std::thread::JoinHandle<()>>,
}

impl Workers {
    /// Starts the query and write threads (each with its own connection to
    /// every store) and one sync loop per back-end, on a thread of its own.
    pub fn start(
        sources: Vec<Source<'_>>,
        offline: bool,
        events: UnboundedSender<Msg>,
    ) -> Result<Workers, AppError> {
        let mut query_stores = Vec::new();
        let mut write_stores = Vec::new();
        let mut syncs = Vec::new();
        for source in sources {
            let store = source.store;
            query_stores.push(Named {
                name: source.name.clone(),
                store: store.reopen()?,
            });
            let mut sync_store = store.reopen()?;
            // The sync purges by the profile's retention, which the store the
            // console was given carries.
            sync_store.set_retention(store.retention());
            sync_store.plan_once()?;
            let (sync_tx, sync_rx) = tokio::sync::mpsc::unbounded_channel();
            write_stores.push((
                Named {
                    name: source.name.clone(),
                    store: store.reopen()?,
                },
                sync_tx.clone(),
            ));
            spawn_sync(
                source.name,
                sync_store,
                source.connect,
                offline,
                sync_rx,
                events.clone(),
            )?;
            syncs.push(sync_tx);
        }
        let interrupts = query_stores
            .iter()
            .map(|n| n.store.interrupt_handle())
            .collect();
        let running_list = Arc::new(Mutex::new(0));
        let queries = queries::spawn(query_stores, events.clone(), Arc::clone(&running_list))?;
        let (writes, write_thread) = writes::spawn(write_stores, events)?;
        Ok(Workers {
            queries,
            writes,
            syncs,
            interrupts,
            running_list,
            write_thread: Some(write_thread),
        })
    }

    pub fn query(&self, query: Query) {
        if let Query::List(list) = &query {
            // Held while interrupting: the query thread cannot move on to
            // another query meanwhile (it sets the running list under it).
            let running = self
                .running_list
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *running != 0 && *running < list.generation {
                for interrupt in &self.interrupts {
                    interrupt.interrupt();
                }
            }
        }
        // A closed channel means the thread ended; the console says so when
        // no answer comes, and nothing queued is at stake in a read.
        let _ = self.queries.send(query);
    }

    pub fn write(&self, write: Write) -> bool {
        self.writes.send(write).is_ok()
    }

    /// To every back-end's sync loop (the agent's `:sync`, offline, online).
    pub fn sync(&self, command: SyncCommand) {
        for sync in &self.syncs {
            let _ = sync.send(command);
        }
    }

    /// Waits for the writes already handed over (the agent's last actions
    /// are queued before the console exits, whatever made it exit).
    pub fn finish(mut self) {
        let (closed, _) = std::sync::mpsc::channel();
        self.writes = closed;
        if let Some(thread) = self.write_thread.take() {
            let _ = thread.join();
        }
    }
}

/// A profile's sync loop has a thread and a runtime of its own: its
/// futures hold the store (a SQLite connection, not shareable between
/// threads), and a hung back-end then holds nothing of the console's nor
/// of the other back-ends'.
fn spawn_sync(
    name: String,
    store: Store,
    connect: Connect,
    offline: bool,
    commands: tokio::sync::mpsc::UnboundedReceiver<SyncCommand>,
    events: UnboundedSender<Msg>,
) -> Result<(), AppError> {
    std::thread::Builder::new()
        .name(format!("guichet-sync-{name}"))
        .spawn(move || match crate::app::workspace::runtime() {
            Ok(runtime) => {
                runtime.block_on(sync::run(name, store, connect, offline, commands, events))
            }
            Err(e) => {
                let _ = events.send(Msg::Sync {
                    source: name,
                    event: super::msg::SyncEvent::Failed {
                        trouble: super::msg::Trouble::Refusing,
                        message: format!("cannot start the sync: {e}"),
                    },
                });
            }
        })
        .map_err(|e| AppError::System(format!("cannot start a thread: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::fixture::{PROFILE, fixture};
    use crate::console::state::{Screen, Theme};
    use crate::console::update::{Effect, update};
    use crate::i18n::Lang;

    /// Another connection to the store, as the fixture's profile's.
    fn named(store: &Store) -> Named {
        Named {
            name: PROFILE.into(),
            store: store.reopen().expect("store"),
        }
    }

    /// A reveal goes through the write thread and the audit screen reads it
    /// back through the query thread, each on its own connection, as in a
    /// session; the screen asks again when the write answers after it read.
    #[test]
    fn a_reveal_of_the_session_is_on_the_audit_screen() {
        let (_dir, store) = crate::store::test_store();
        let (events, mut answers) = tokio::sync::mpsc::unbounded_channel();
        let (wake, _woken) = tokio::sync::mpsc::unbounded_channel();
        let (writes, write_thread) =
            writes::spawn(vec![(named(&store), wake)], events.clone()).expect("write thread");
        let queries = queries::spawn(vec![named(&store)], events, Arc::new(Mutex::new(0)))
            .expect("query thread");

        let mut state = fixture(Lang::En, Theme::Mono);
        state.audit = Default::default();
        state.screen = Screen::Audit;
        state.writes_in_flight = 1;
        writes
            .send(Write::Reveal {
                source: PROFILE.into(),
                number: "CS0001001".into(),
            })
            .expect("sent");
        let recorded = answers.blocking_recv().expect("an answer");
        assert!(matches!(recorded, Msg::Recorded), "{recorded:?}");
        let fx = update(&mut state, recorded);
        assert_eq!(state.writes_in_flight, 0, "the reveal is answered");
        let [Effect::Query(query)] = <[Effect; 1]>::try_from(fx).expect("one effect") else {
            panic!("the trail is read again");
        };
        queries.send(query).expect("sent");
        let loaded = answers.blocking_recv().expect("an answer");
        update(&mut state, loaded);
        let newest = state.audit.lines.first().expect("a line");
        assert_eq!(
            (newest.case.as_str(), newest.event.as_str()),
            ("CS0001001", "reveal")
        );
        assert!(state.audit.complete && state.audit.loaded);
        drop(writes);
        write_thread.join().expect("write thread ends");
    }

    /// The write thread checks an intake before queueing it: what is
    /// missing comes back as sentences, and nothing is queued.
    #[test]
    fn an_intake_with_something_missing_is_refused_unqueued() {
        use crate::app::intake::{CitizenChoice, Intake, NewCitizen};
        use crate::console::intake::{IntakeMsg, Refusal};
        let (_dir, store) = crate::store::test_store();
        let (events, mut answers) = tokio::sync::mpsc::unbounded_channel();
        let (wake, _woken) = tokio::sync::mpsc::unbounded_channel();
        let (writes, write_thread) =
            writes::spawn(vec![(named(&store), wake)], events).expect("write thread");
        let intake = Intake {
            citizen: CitizenChoice::New(NewCitizen::default()),
            procedure: String::new(),
            summary: String::new(),
            description: String::new(),
            channel: crate::app::intake::default_channel().into(),
            priority: 3,
            due: None,
            group: None,
            assign_to_me: true,
        };
        writes
            .send(Write::Open {
                intake: Box::new(intake),
                lang: Lang::En,
            })
            .expect("sent");
        let answer = answers.blocking_recv().expect("an answer");
        match answer {
            Msg::Intake(IntakeMsg::Opened(Err(Refusal::Missing(missing)))) => {
                assert!(!missing.is_empty())
            }
            other => panic!("refused with what is missing, got {other:?}"),
        }
        assert!(
            store.queue(true).expect("queue").is_empty(),
            "nothing queued"
        );
        drop(writes);
        write_thread.join().expect("write thread ends");
    }

    /// Two stores holding a case of the same id (two back-ends): the
    /// list shows both, each with its profile; a comment on each is queued
    /// in its own store only, and wakes only that profile's sync loop.
    #[test]
    fn two_stores_list_together_and_each_action_goes_to_its_own() {
        use crate::app::inbox::Ref;
        use crate::console::worker::{Intent, ListQuery, QueueTab};
        let (_a_dir, mut a) = crate::store::test_store();
        let (_b_dir, mut b) = crate::store::test_store();
        crate::store::save_case_one(&mut a);
        crate::store::save_case_one(&mut b);
        let as_named = |name: &str, store: &Store| Named {
            name: name.into(),
            store: store.reopen().expect("store"),
        };
        let (events, mut answers) = tokio::sync::mpsc::unbounded_channel();
        let queries = queries::spawn(
            vec![as_named("sn", &a), as_named("ds", &b)],
            events.clone(),
            Arc::new(Mutex::new(0)),
        )
        .expect("query thread");
        queries
            .send(Query::List(ListQuery {
                generation: 1,
                tab: QueueTab::Open,
                text: String::new(),
                sort: crate::store::Sort::Number,
                descending: false,
                offset: 0,
                limit: 10,
                count: true,
                lang: Lang::En,
            }))
            .expect("sent");
        match answers.blocking_recv().expect("an answer") {
            Msg::Listed {
                result: Ok(page), ..
            } => {
                let rows: Vec<(String, String)> = page
                    .lines
                    .iter()
                    .map(|l| (l.source.clone(), l.number.clone()))
                    .collect();
                assert_eq!(
                    rows,
                    [("sn".into(), "CS1".into()), ("ds".into(), "CS1".into())]
                );
                assert_eq!(page.total, Some(2));
            }
            other => panic!("the merged list, got {other:?}"),
        }
        let (sn_wake, mut sn_woken) = tokio::sync::mpsc::unbounded_channel();
        let (ds_wake, mut ds_woken) = tokio::sync::mpsc::unbounded_channel();
        let (writes, write_thread) = writes::spawn(
            vec![(as_named("sn", &a), sn_wake), (as_named("ds", &b), ds_wake)],
            events,
        )
        .expect("write thread");
        for (source, text) in [("ds", "to DS"), ("sn", "to SN")] {
            writes
                .send(Write::Act {
                    cases: vec![Ref::new(source, "1")],
                    intent: Intent::Comment(text.into()),
                    lang: Lang::En,
                })
                .expect("sent");
            match answers.blocking_recv().expect("an answer") {
                Msg::Acted(results) => {
                    assert!(matches!(results.as_slice(), [Ok(e)] if e.source == source))
                }
                other => panic!("queued, got {other:?}"),
            }
            let woken = if source == "ds" {
                &mut ds_woken
            } else {
                &mut sn_woken
            };
            assert_eq!(woken.try_recv().ok(), Some(SyncCommand::Wake));
        }
        assert!(sn_woken.try_recv().is_err() && ds_woken.try_recv().is_err());
        let texts = |store: &Store| -> Vec<String> {
            store
                .queue(true)
                .expect("queue")
                .iter()
                .map(|e| format!("{:?}", e.action))
                .collect()
        };
        let (in_a, in_b) = (texts(&a), texts(&b));
        assert!(in_a.len() == 1 && in_a[0].contains("to SN"), "{in_a:?}");
        assert!(in_b.len() == 1 && in_b[0].contains("to DS"), "{in_b:?}");
        drop(writes);
        write_thread.join().expect("write thread ends");
    }
}
