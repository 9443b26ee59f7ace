//! The query thread: reads for the screens, on its own connection.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use super::Named;
use crate::app::inbox::{self, Ref, Sourced};
use crate::app::intake::{self, NewCitizen};
use crate::app::view::{CaseLine, case_detail, case_line};
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
        case: Ref,
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

/// The query thread, on a connection to each profile's store (the
/// default profile's first: intake reads there).
pub fn spawn(
    stores: Vec<Named>,
    events: UnboundedSender<Msg>,
    running_list: Arc<Mutex<u64>>,
) -> Result<Sender<Query>, crate::app::AppError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("guichet-queries".into())
        .spawn(move || serve(&stores, rx, events, running_list))
        .map_err(|e| crate::app::AppError::System(format!("cannot start a thread: {e}")))?;
    Ok(tx)
}

fn serve(
    stores: &[Named],
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
                Query::Case { case, .. } => Some(case.clone()),
                _ => None,
            };
            let msg = answer(stores, query, &running_list);
            if events.send(msg).is_err() {
                return;
            }
            // The case on screen counts as touched for retention; after
            // the answer left, so that the screen never waits for it. A
            // failure only shortens how long the case is kept.
            if let Some(case) = opened
                && let Some(named) = find(stores, &case.source)
                && named.store.touch_case(&case.id).is_err()
            {
                tracing::warn!("could not stamp an opened case for retention");
            }
        }
    }
}

fn text(e: StoreError) -> String {
    e.to_string()
}

/// The store of a profile.
fn find<'a>(stores: &'a [Named], source: &str) -> Option<&'a Named> {
    stores.iter().find(|n| n.name == source)
}

/// Something of every store, each with its profile.
fn each<T>(
    stores: &[Named],
    read: impl Fn(&Store) -> Result<T, StoreError>,
) -> Result<Vec<Sourced<T>>, String> {
    stores
        .iter()
        .map(|n| read(&n.store).map(|item| Sourced::new(&n.name, item)))
        .collect::<Result<_, _>>()
        .map_err(text)
}

fn answer(stores: &[Named], query: Query, running_list: &Mutex<u64>) -> Msg {
    // Intake, citizens and receipts: the default profile's store.
    let first = &stores[0].store;
    match query {
        Query::List(list) => {
            // Under the lock, so that an interrupt meant for this list can
            // only land while it runs, never on the queries after it.
            set_running(running_list, list.generation);
            let result = list_page(stores, &list);
            set_running(running_list, 0);
            Msg::Listed {
                generation: list.generation,
                result,
            }
        }
        Query::Case {
            generation,
            case,
            lang,
        } => {
            let result = match find(stores, &case.source) {
                Some(named) => case_detail(&named.store, &case.id, lang)
                    .map(|mut detail| {
                        detail.line.source = named.name.clone();
                        Box::new(detail)
                    })
                    .map_err(text),
                None => Err(format!("no profile '{}' in the inbox", case.source)),
            };
            Msg::CaseLoaded { generation, result }
        }
        Query::Outbox => Msg::OutboxLoaded(each(stores, |s| s.queue(false)).map(|per_store| {
            let mut entries: Vec<Sourced<crate::store::OutboxEntry>> = per_store
                .into_iter()
                .flat_map(|batch| {
                    let source = batch.source;
                    batch
                        .item
                        .into_iter()
                        .map(move |entry| Sourced::new(source.clone(), entry))
                })
                .collect();
            // Oldest first across back-ends (each store's own order kept).
            if stores.len() > 1 {
                entries.sort_by_key(|e| e.created_at);
            }
            entries
        })),
        Query::Counts => Msg::Counts(each(stores, counts)),
        Query::Reference => Msg::Reference(each(stores, reference)),
        Query::Dashboard(lang) => Msg::Dashboard(dashboard(stores, lang).map_err(text)),
        Query::Audit { limit } => Msg::AuditLoaded {
            limit,
            result: audit(stores, limit).map_err(text),
        },
        Query::IntakeCatalogue(lang) => {
            Msg::Intake(IntakeMsg::Catalogue(catalogue(first, lang).map_err(text)))
        }
        Query::Citizens {
            generation,
            text: typed,
            limit,
        } => Msg::Intake(IntakeMsg::Citizens {
            generation,
            result: intake::find_citizens(first, &typed, limit).map_err(text),
        }),
        Query::Duplicates {
            generation,
            citizen,
        } => Msg::Intake(IntakeMsg::Duplicates {
            generation,
            result: intake::near_duplicates(first, &citizen).map_err(text),
        }),
        Query::Receipt { number, lang } => Msg::Intake(IntakeMsg::Receipt {
            result: intake::receipt(first, &number, lang).map_err(|e| e.to_string()),
            asked: number,
        }),
    }
}

/// The newest `limit` lines of every store's trail, newest first.
fn audit(stores: &[Named], limit: usize) -> Result<Vec<crate::store::AuditLine>, StoreError> {
    let mut lines = Vec::new();
    for named in stores {
        lines.extend(named.store.audit_trail(limit)?);
    }
    // The store gives them oldest first; the screen shows the newest
    // first (across stores by time; within one, by its own sequence).
    lines.reverse();
    if stores.len() > 1 {
        lines.sort_by_key(|line| std::cmp::Reverse(line.at));
        lines.truncate(limit);
    }
    Ok(lines)
}

/// The list lines of merged hits, each built from its own store.
fn lines_of(
    stores: &[Named],
    hits: &[(usize, crate::store::SearchHit)],
    lang: Lang,
) -> Result<Vec<CaseLine>, StoreError> {
    hits.iter()
        .map(|(i, hit)| {
            let named = &stores[*i];
            case_line(&named.store, &hit.row, lang).map(|mut line| {
                line.source = named.name.clone();
                line
            })
        })
        .collect()
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

fn list_page(stores: &[Named], list: &ListQuery) -> Result<ListPage, String> {
    let search = Search::parse(&list.text)
        .map_err(|e| e.0)?
        .with(list.tab.view().filters());
    let all: Vec<&Store> = stores.iter().map(|n| &n.store).collect();
    let page = inbox::search_page(
        &all,
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
    let lines = lines_of(stores, &page.hits, list.lang).map_err(text)?;
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

/// The dashboard of every back-end together: open cases by state label
/// (the same label on two back-ends is one bar), resolutions per day
/// added, the most overdue of all.
fn dashboard(stores: &[Named], lang: Lang) -> Result<DashboardData, StoreError> {
    let mut by_state: Vec<(String, u64)> = Vec::new();
    let mut resolved_per_day: Vec<u64> = Vec::new();
    for named in stores {
        let store = &named.store;
        let stats = store.dashboard(14)?;
        for (state, n) in stats.open_by_state {
            let label = store.label(ChoiceList::State, &state, lang.is_french())?;
            match by_state.iter_mut().find(|(l, _)| *l == label) {
                Some((_, total)) => *total += n,
                None => by_state.push((label, n)),
            }
        }
        if resolved_per_day.len() < stats.resolved_per_day.len() {
            resolved_per_day.resize(stats.resolved_per_day.len(), 0);
        }
        for (day, n) in stats.resolved_per_day.iter().enumerate() {
            resolved_per_day[day] += n;
        }
    }
    let search = Search::default().with([
        crate::domain::search::Filter::Due(crate::domain::search::Due::Overdue),
        crate::domain::search::Filter::Active,
    ]);
    let all: Vec<&Store> = stores.iter().map(|n| &n.store).collect();
    let page = inbox::search_page(&all, &search, Sort::Urgency, false, (0, 8), false)?;
    Ok(DashboardData {
        by_state,
        resolved_per_day,
        overdue: lines_of(stores, &page.hits, lang)?,
    })
}
