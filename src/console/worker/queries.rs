//! The query thread: reads for the screens, on its own connection.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use crate::app::intake::{self, NewCitizen};
use crate::app::view::{case_detail, case_line};
use crate::console::intake::{Catalogue, IntakeMsg};
use crate::console::msg::{Counts, DashboardData, ListPage, Msg, Reference};
use crate::domain::ChoiceList;
use crate::domain::search::{Search, View};
use crate::i18n::Lang;
use crate::store::{Sort, Store, StoreError};

/// The five queues of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QueueTab {
    #[default]
    Mine,
    Team,
    Open,
    Awaiting,
    Due,
}

impl QueueTab {
    pub const ALL: [QueueTab; 5] = [
        QueueTab::Mine,
        QueueTab::Team,
        QueueTab::Open,
        QueueTab::Awaiting,
        QueueTab::Due,
    ];

    pub fn view(self) -> View {
        match self {
            QueueTab::Mine => View::Mine,
            QueueTab::Team => View::Team,
            QueueTab::Open => View::Open,
            QueueTab::Awaiting => View::Awaiting,
            QueueTab::Due => View::Due,
        }
    }

    /// The i18n key of its tab title.
    pub fn title_key(self) -> &'static str {
        match self {
            QueueTab::Mine => "queue.mine",
            QueueTab::Team => "queue.team",
            QueueTab::Open => "queue.open",
            QueueTab::Awaiting => "queue.awaiting",
            QueueTab::Due => "queue.due",
        }
    }

    /// The i18n key of its short title (narrow terminals).
    pub fn short_title_key(self) -> &'static str {
        match self {
            QueueTab::Mine => "queue.mine_short",
            QueueTab::Team => "queue.team_short",
            QueueTab::Open => "queue.open_short",
            QueueTab::Awaiting => "queue.awaiting_short",
            QueueTab::Due => "queue.due_short",
        }
    }

    pub fn index(self) -> usize {
        QueueTab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub generation: u64,
    pub tab: QueueTab,
    /// The search text as typed (parsed here, so that a mistake comes back
    /// as a message rather than a panic in the key path).
    pub text: String,
    pub sort: Sort,
    pub descending: bool,
    pub offset: usize,
    pub limit: usize,
    /// Count the matches too: the list changed (not only scrolled).
    pub count: bool,
    pub lang: Lang,
}

#[derive(Debug, Clone)]
pub enum Query {
    List(ListQuery),
    Case {
        generation: u64,
        id: String,
        lang: Lang,
    },
    Outbox,
    Counts,
    Reference,
    Dashboard(Lang),
    /// The newest `limit` lines of the audit trail.
    Audit {
        limit: usize,
    },
    /// The intake form's procedure catalogue and channels.
    IntakeCatalogue(Lang),
    /// Known citizens matching the intake form's search.
    Citizens {
        generation: u64,
        text: String,
        limit: usize,
    },
    /// Known citizens nearly identical to the one being recorded.
    Duplicates {
        generation: u64,
        citizen: NewCitizen,
    },
    /// The receipt of a case opened at intake.
    Receipt {
        number: String,
        lang: Lang,
    },
}

pub fn spawn(
    store: Store,
    events: UnboundedSender<Msg>,
    running_list: Arc<Mutex<u64>>,
) -> Result<Sender<Query>, crate::app::AppError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("guichet-queries".into())
        .spawn(move || serve(store, rx, events, running_list))
        .map_err(|e| crate::app::AppError::System(format!("cannot start a thread: {e}")))?;
    Ok(tx)
}

fn serve(
    store: Store,
    rx: Receiver<Query>,
    events: UnboundedSender<Msg>,
    running_list: Arc<Mutex<u64>>,
) {
    while let Ok(first) = rx.recv() {
        // Take everything waiting; of the list queries only the newest
        // matters (the agent typed on), and of the others each kind once.
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let newest_list = batch
            .iter()
            .filter_map(|q| match q {
                Query::List(l) => Some(l.generation),
                _ => None,
            })
            .max();
        let mut done_kinds: Vec<std::mem::Discriminant<Query>> = Vec::new();
        for query in batch.into_iter().rev() {
            let kind = std::mem::discriminant(&query);
            if done_kinds.contains(&kind) {
                continue;
            }
            done_kinds.push(kind);
            if let Query::List(list) = &query
                && Some(list.generation) != newest_list
            {
                continue;
            }
            let opened = match &query {
                Query::Case { id, .. } => Some(id.clone()),
                _ => None,
            };
            let msg = answer(&store, query, &running_list);
            if events.send(msg).is_err() {
                return;
            }
            // The case on screen counts as touched for retention; after
            // the answer left, so that the screen never waits for it. A
            // failure only shortens how long the case is kept.
            if let Some(id) = opened
                && store.touch_case(&id).is_err()
            {
                tracing::warn!("could not stamp an opened case for retention");
            }
        }
    }
}

fn text(e: StoreError) -> String {
    e.to_string()
}

fn answer(store: &Store, query: Query, running_list: &Mutex<u64>) -> Msg {
    match query {
        Query::List(list) => {
            // Under the lock, so that an interrupt meant for this list can
            // only land while it runs, never on the queries after it.
            set_running(running_list, list.generation);
            let result = list_page(store, &list);
            set_running(running_list, 0);
            Msg::Listed {
                generation: list.generation,
                result,
            }
        }
        Query::Case {
            generation,
            id,
            lang,
        } => {
            let result = case_detail(store, &id, lang).map(Box::new).map_err(text);
            Msg::CaseLoaded { generation, result }
        }
        Query::Outbox => Msg::OutboxLoaded(store.queue(false).map_err(text)),
        Query::Counts => Msg::Counts(counts(store).map_err(text)),
        Query::Reference => Msg::Reference(reference(store).map_err(text)),
        Query::Dashboard(lang) => Msg::Dashboard(dashboard(store, lang).map_err(text)),
        Query::Audit { limit } => Msg::AuditLoaded {
            limit,
            // The store gives them oldest first; the screen shows the
            // newest first.
            result: store
                .audit_trail(limit)
                .map(|mut lines| {
                    lines.reverse();
                    lines
                })
                .map_err(text),
        },
        Query::IntakeCatalogue(lang) => {
            Msg::Intake(IntakeMsg::Catalogue(catalogue(store, lang).map_err(text)))
        }
        Query::Citizens {
            generation,
            text: typed,
            limit,
        } => Msg::Intake(IntakeMsg::Citizens {
            generation,
            result: intake::find_citizens(store, &typed, limit).map_err(text),
        }),
        Query::Duplicates {
            generation,
            citizen,
        } => Msg::Intake(IntakeMsg::Duplicates {
            generation,
            result: intake::near_duplicates(store, &citizen).map_err(text),
        }),
        Query::Receipt { number, lang } => Msg::Intake(IntakeMsg::Receipt {
            result: intake::receipt(store, &number, lang).map_err(|e| e.to_string()),
            asked: number,
        }),
    }
}

fn catalogue(store: &Store, lang: Lang) -> Result<Catalogue, StoreError> {
    Ok(Catalogue {
        procedures: intake::procedures(store, lang)?,
        channels: intake::channels(store, lang)?,
    })
}

fn set_running(running_list: &Mutex<u64>, generation: u64) {
    match running_list.lock() {
        Ok(mut running) => *running = generation,
        Err(poisoned) => *poisoned.into_inner() = generation,
    }
}

fn list_page(store: &Store, list: &ListQuery) -> Result<ListPage, String> {
    let search = Search::parse(&list.text)
        .map_err(|e| e.0)?
        .with(list.tab.view().filters());
    let page = store
        .search_page(
            &search,
            list.sort,
            list.descending,
            (list.offset, list.limit),
            list.count,
        )
        .map_err(|e| {
            if e.is_interrupted() {
                "interrupted".to_string()
            } else {
                e.to_string()
            }
        })?;
    let lines = page
        .hits
        .iter()
        .map(|hit| case_line(store, &hit.row, list.lang))
        .collect::<Result<Vec<_>, _>>()
        .map_err(text)?;
    Ok(ListPage {
        offset: list.offset,
        lines,
        total: page.total,
        fuzzy: page.fuzzy,
    })
}

fn counts(store: &Store) -> Result<Counts, StoreError> {
    Ok(Counts {
        outbox: store.queue_counts()?,
        cases: store.case_count()?,
        last_pull: store.last_pull()?,
    })
}

fn reference(store: &Store) -> Result<Reference, StoreError> {
    Ok(Reference {
        me: store.me()?,
        users: store.users()?,
        groups: store.groups()?,
        states: store.choices(ChoiceList::State)?,
        resolutions: store.choices(ChoiceList::Resolution)?,
        procedures: store.choices(ChoiceList::Procedure)?,
        actions: store.backend_actions()?,
        flow: store.state_flow()?,
    })
}

fn dashboard(store: &Store, lang: Lang) -> Result<DashboardData, StoreError> {
    let stats = store.dashboard(14)?;
    let mut by_state = Vec::new();
    for (state, n) in stats.open_by_state {
        by_state.push((store.label(ChoiceList::State, &state, lang.is_french())?, n));
    }
    let search = Search::default().with([
        crate::domain::search::Filter::Due(crate::domain::search::Due::Overdue),
        crate::domain::search::Filter::Active,
    ]);
    let overdue = store
        .search_page(&search, Sort::Urgency, false, (0, 8), false)?
        .hits
        .iter()
        .map(|hit| case_line(store, &hit.row, lang))
        .collect::<Result<_, _>>()?;
    Ok(DashboardData {
        by_state,
        resolved_per_day: stats.resolved_per_day,
        overdue,
    })
}
