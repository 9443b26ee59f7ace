//! The one inbox: the cases of several profiles (several back-ends) shown
//! together. Each profile keeps its own store, outbox and sync; only the
//! reading is merged here, and every case keeps the name of the profile it
//! came from, so that an action on it goes to that profile's outbox.
//!
//! Lists are merged in Rust by the list's own order: for a window at
//! `(offset, limit)`, each store gives its first `offset + limit` rows
//! (only the case rows, no labels) and the merged window is cut from them.
//! A deep page therefore costs O(offset) rows per store, where one store
//! alone seeks its index (the console's one-profile path is unchanged);
//! `a_deep_page_costs_its_offset` below measures it: two stores of 20,000
//! cases, release build, 1 ms for the top page, 100 to 120 ms for a page
//! at row 10,000, where one store alone takes 6 ms. It runs on the query
//! thread (a newer list interrupts it), and agents rarely scroll that far:
//! a search narrows a list long before.

use std::cmp::Ordering;

use crate::config::Config;
use crate::domain::search::Search;
use crate::store::{SearchHit, Sort, Store, StoreResult};

use super::{AppError, Workspace};

/// A case or an outbox action of the inbox: the profile whose store holds
/// it, and its id there (ids of two back-ends may be alike).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ref {
    pub source: String,
    pub id: String,
}

impl Ref {
    pub fn new(source: impl Into<String>, id: impl Into<String>) -> Ref {
        Ref {
            source: source.into(),
            id: id.into(),
        }
    }
}

/// Something read from one profile's store, with the profile's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub source: String,
    pub item: T,
}

impl<T> Sourced<T> {
    pub fn new(source: impl Into<String>, item: T) -> Sourced<T> {
        Sourced {
            source: source.into(),
            item,
        }
    }
}

impl<T> std::ops::Deref for Sourced<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.item
    }
}

/// The profiles the inbox shows: every one whose `inbox` is not false,
/// `first` (or else the default profile) first when it is one of them,
/// then the others in the config's order.
pub fn members(config: &Config, first: Option<&str>) -> Vec<String> {
    let included = |name: &str| {
        config
            .profiles
            .get(name)
            .is_some_and(|p| p.inbox != Some(false))
    };
    let lead = first
        .filter(|name| included(name))
        .map(str::to_string)
        .or_else(|| config.default_profile.clone().filter(|name| included(name)));
    let mut names: Vec<String> = lead.iter().cloned().collect();
    names.extend(
        config
            .profiles
            .keys()
            .filter(|name| included(name) && Some(*name) != lead.as_ref())
            .cloned(),
    );
    names
}

/// The workspaces of the inbox, the first one's settings (language, lock)
/// standing for the whole.
pub struct Inbox {
    pub workspaces: Vec<Workspace>,
}

impl Inbox {
    /// Opens every member's workspace with `open` (which may ask for a
    /// password on a terminal). None when fewer than two profiles are in
    /// the inbox: then the one profile opens as it always did.
    pub fn open(
        first: Option<&str>,
        open: impl Fn(&str) -> Result<Workspace, AppError>,
    ) -> Result<Option<Inbox>, AppError> {
        let paths = crate::config::Paths::discover()?;
        let config = Config::load(&paths.config_file)?;
        let names = members(&config, first);
        if names.len() < 2 {
            return Ok(None);
        }
        Inbox::open_named(&names, open).map(Some)
    }

    /// Every member's workspace, however many (`cases --inbox`); refused
    /// when no profile is in the inbox.
    pub fn open_all(
        first: Option<&str>,
        open: impl Fn(&str) -> Result<Workspace, AppError>,
    ) -> Result<Inbox, AppError> {
        let paths = crate::config::Paths::discover()?;
        let config = Config::load(&paths.config_file)?;
        let names = members(&config, first);
        if names.is_empty() {
            return Err(crate::config::ConfigError::NoProfile.into());
        }
        Inbox::open_named(&names, open)
    }

    fn open_named(
        names: &[String],
        open: impl Fn(&str) -> Result<Workspace, AppError>,
    ) -> Result<Inbox, AppError> {
        let workspaces = names
            .iter()
            .map(|name| open(name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Inbox { workspaces })
    }

    /// The profiles' names, in the inbox's order.
    pub fn names(&self) -> Vec<String> {
        self.workspaces.iter().map(|w| w.name.clone()).collect()
    }
}

/// A window of a list merged across stores: each hit with the index of
/// its store.
#[derive(Debug, Default)]
pub struct MergedPage {
    pub hits: Vec<(usize, SearchHit)>,
    /// The sum of the stores' totals; None when one was not counted.
    pub total: Option<u64>,
    /// Some store found the words only fuzzily.
    pub fuzzy: bool,
}

/// `search_page` across `stores`, merged by `sort` (see the module's note
/// on the cost of a deep window). With one store, that store's own window.
/// Exact matches in the list's order; when no store found the words
/// exactly, the stores' close matches, best first.
pub fn search_page(
    stores: &[&Store],
    search: &Search,
    sort: Sort,
    descending: bool,
    (offset, limit): (usize, usize),
    count: bool,
) -> StoreResult<MergedPage> {
    if let [store] = stores {
        let page = store.search_page(search, sort, descending, (offset, limit), count)?;
        return Ok(MergedPage {
            hits: page.hits.into_iter().map(|hit| (0, hit)).collect(),
            total: page.total,
            fuzzy: page.fuzzy,
        });
    }
    let window = (0, offset + limit);
    // A filter naming what one back-end does not know (a state of
    // Démarches Simplifiées' in a ServiceNow store) matches nothing there;
    // only a filter no store knows is refused.
    let mut refused = None;
    let mut answering = Vec::new();
    let (mut hits, mut total, mut found_exactly) = (Vec::new(), Some(0u64), false);
    for (index, store) in stores.iter().enumerate() {
        let page = match store.exact_page(search, sort, descending, window, count) {
            Ok(page) => page,
            Err(e @ crate::store::StoreError::Invalid(_)) => {
                refused.get_or_insert(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        answering.push((index, store));
        if let Some(page) = page {
            found_exactly = true;
            total = total.zip(page.total).map(|(a, b)| a + b);
            hits.extend(page.hits.into_iter().map(|hit| (index, hit)));
        }
    }
    if answering.is_empty()
        && let Some(e) = refused
    {
        return Err(e);
    }
    // As in one store: close matches only when no store found the words
    // as typed, and only then does any store scan its typo lines.
    let fuzzy = !found_exactly && !search.words.is_empty();
    if fuzzy {
        for (index, store) in answering {
            let page = store.close_page(search, window)?;
            total = total.zip(page.total).map(|(a, b)| a + b);
            hits.extend(page.hits.into_iter().map(|hit| (index, hit)));
        }
        hits.sort_by(|a, b| b.1.score.cmp(&a.1.score).then(a.0.cmp(&b.0)));
    } else {
        // Stable sort: within a store its own order, between equal keys
        // the store first in the inbox.
        hits.sort_by(|a, b| compare(&a.1, &b.1, sort, descending).then(a.0.cmp(&b.0)));
    }
    Ok(MergedPage {
        hits: hits.into_iter().skip(offset).take(limit).collect(),
        total,
        fuzzy,
    })
}

/// Two cases in a list's order, as the store's SQL orders them (see
/// `Sort::order`: each descending order is its ascending one reversed;
/// a missing date is '' there, first in text order).
pub fn compare(a: &SearchHit, b: &SearchHit, sort: Sort, descending: bool) -> Ordering {
    let (a, b) = (&a.row.case, &b.row.case);
    let ascending = match sort {
        Sort::Urgency => (a.due.is_none(), a.due, a.priority, &a.number).cmp(&(
            b.due.is_none(),
            b.due,
            b.priority,
            &b.number,
        )),
        Sort::Number => a.number.cmp(&b.number),
        Sort::Priority => (a.priority, a.due.is_none(), a.due, &a.number).cmp(&(
            b.priority,
            b.due.is_none(),
            b.due,
            &b.number,
        )),
        Sort::State => (&a.state, a.due, &a.number).cmp(&(&b.state, b.due, &b.number)),
        Sort::Updated => (a.updated, &a.number).cmp(&(b.updated, &b.number)),
    };
    if descending {
        ascending.reverse()
    } else {
        ascending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;
    use crate::domain::Case;
    use crate::store::CaseRow;

    fn hit(number: &str, due: &str, priority: u8, state: &str, updated: &str) -> SearchHit {
        SearchHit {
            row: CaseRow {
                case: Case {
                    id: number.into(),
                    number: number.into(),
                    due: crate::domain::Timestamp::parse_optional(due).unwrap(),
                    updated: crate::domain::Timestamp::parse_optional(updated).unwrap(),
                    priority,
                    state: state.into(),
                    ..Case::default()
                },
                citizen_name: String::new(),
                assignee_name: String::new(),
                assignee_user_name: String::new(),
                group_name: String::new(),
                pending: 0,
                conflict: false,
            },
            score: 0,
        }
    }

    /// `n` open cases numbered `{prefix}{i}`, deadlines and priorities
    /// spread so that every order interleaves the two stores.
    fn fill(store: &mut Store, n: usize, prefix: &str) {
        use crate::domain::{Choice, ChoiceList, Stage};
        store
            .save_choices(&[Choice {
                list: ChoiceList::State,
                value: "10".into(),
                label_en: "Open".into(),
                label_fr: "Ouvert".into(),
                sequence: 0,
                stage: Some(Stage::Open),
            }])
            .expect("choices");
        let at = |i: usize| {
            let day = time::macros::datetime!(2026-01-01 08:00)
                + time::Duration::minutes((i * 37 % 50_000) as i64);
            crate::domain::Timestamp::from(day.assume_utc())
        };
        let cases: Vec<Case> = (0..n)
            .map(|i| Case {
                id: format!("{prefix}{i}"),
                number: format!("{prefix}{i:06}"),
                state: "10".into(),
                priority: (i % 4 + 1) as u8,
                due: (i % 5 != 0).then(|| at(i)),
                updated: Some(at(i * 7)),
                version: "1".into(),
                ..Case::default()
            })
            .collect();
        for chunk in cases.chunks(5000) {
            store.save_cases(chunk).expect("cases");
        }
    }

    #[test]
    fn the_merge_orders_as_the_stores_do() {
        let cases = [
            hit("CS3", "2026-12-01 10:00:00", 2, "10", "2026-11-01 00:00:00"),
            hit("CS1", "", 1, "18", ""),
            hit(
                "DS-4",
                "2026-11-30 10:00:00",
                4,
                "10",
                "2026-11-02 00:00:00",
            ),
            hit("CS2", "2026-12-01 10:00:00", 1, "1", "2026-11-01 00:00:00"),
        ];
        let order = |sort, descending| {
            let mut v: Vec<&SearchHit> = cases.iter().collect();
            v.sort_by(|a, b| compare(a, b, sort, descending));
            v.iter()
                .map(|h| h.row.case.number.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(order(Sort::Urgency, false), "DS-4 CS2 CS3 CS1");
        assert_eq!(order(Sort::Urgency, true), "CS1 CS3 CS2 DS-4");
        assert_eq!(order(Sort::Priority, false), "CS2 CS1 CS3 DS-4");
        assert_eq!(order(Sort::Number, false), "CS1 CS2 CS3 DS-4");
        assert_eq!(order(Sort::State, false), "CS2 DS-4 CS3 CS1");
        assert_eq!(order(Sort::Updated, true), "DS-4 CS3 CS2 CS1");
    }

    #[test]
    fn members_lead_with_the_chosen_or_default_profile() {
        let mut config = Config::default();
        for name in ["ds", "mairie", "old"] {
            config
                .profiles
                .insert(name.into(), Profile::new("https://x", "u"));
        }
        config.profiles.get_mut("old").unwrap().inbox = Some(false);
        config.default_profile = Some("mairie".into());
        assert_eq!(members(&config, None), ["mairie", "ds"]);
        assert_eq!(members(&config, Some("ds")), ["ds", "mairie"]);
        // A profile left out stays out, even named.
        assert_eq!(members(&config, Some("old")), ["mairie", "ds"]);
        config.default_profile = None;
        assert_eq!(members(&config, None), ["ds", "mairie"]);
    }

    #[test]
    fn a_state_one_backend_lacks_matches_nothing_there_and_refuses_only_when_none_knows_it() {
        use crate::domain::search::Filter;
        use crate::domain::{Choice, ChoiceList, Stage};
        let (_a_dir, mut a) = crate::store::test_store();
        let (_b_dir, mut b) = crate::store::test_store();
        fill(&mut a, 5, "CS");
        fill(&mut b, 5, "DS-");
        // The second back-end has a state of its own.
        b.save_choices(&[Choice {
            list: ChoiceList::State,
            value: "en_construction".into(),
            label_en: "In progress".into(),
            label_fr: "En construction".into(),
            sequence: 0,
            stage: Some(Stage::New),
        }])
        .expect("choices");
        b.save_cases(&[Case {
            id: "DS-new".into(),
            number: "DS-900".into(),
            state: "en_construction".into(),
            version: "1".into(),
            ..Case::default()
        }])
        .expect("case");
        let stores = [&a, &b];
        let search = Search::default().with([Filter::State(vec!["en_construction".into()])]);
        let page = search_page(&stores, &search, Sort::Urgency, false, (0, 10), true)
            .expect("known to one back-end");
        let numbers: Vec<&str> = page
            .hits
            .iter()
            .map(|(_, h)| h.row.case.number.as_str())
            .collect();
        assert_eq!(numbers, ["DS-900"]);
        assert_eq!(page.total, Some(1));
        let nowhere = Search::default().with([Filter::State(vec!["no_such_state".into()])]);
        assert!(search_page(&stores, &nowhere, Sort::Urgency, false, (0, 10), true).is_err());
    }

    #[test]
    fn close_matches_only_when_no_store_found_the_words_as_typed() {
        let (_a_dir, mut a) = crate::store::test_store();
        let (_b_dir, mut b) = crate::store::test_store();
        fill(&mut a, 3, "CS");
        fill(&mut b, 3, "DS-");
        a.save_cases(&[Case {
            id: "CS-carte".into(),
            number: "CS000900".into(),
            summary: "Carte grise non reçue".into(),
            state: "10".into(),
            version: "1".into(),
            ..Case::default()
        }])
        .expect("case");
        b.save_cases(&[Case {
            id: "DS-carton".into(),
            number: "DS-000900".into(),
            summary: "Cartes postales".into(),
            state: "10".into(),
            version: "1".into(),
            ..Case::default()
        }])
        .expect("case");
        let stores = [&a, &b];
        let numbers = |page: &MergedPage| -> Vec<String> {
            let hits = page.hits.iter();
            hits.map(|(_, h)| h.row.case.number.clone()).collect()
        };
        // Found as typed in one store: the other's close matches stay out.
        let search = Search::parse("grise").expect("search");
        let page =
            search_page(&stores, &search, Sort::Urgency, false, (0, 10), true).expect("search");
        assert_eq!(numbers(&page), ["CS000900"]);
        assert_eq!((page.total, page.fuzzy), (Some(1), false));
        // Found as typed nowhere: close matches from every store.
        let typo = Search::parse("grse").expect("search");
        let page =
            search_page(&stores, &typo, Sort::Urgency, false, (0, 10), true).expect("search");
        assert!(page.fuzzy);
        assert_eq!(numbers(&page).first().map(String::as_str), Some("CS000900"));
    }

    /// Two stores of `n` cases each, merged windows against each store's
    /// own, and what a deep window costs (printed: `cargo test --release
    /// a_deep_page -- --nocapture`; with GUICHET_MERGE_CASES=20000).
    #[test]
    fn a_deep_page_costs_its_offset() {
        use crate::domain::search::View;
        let n: usize = std::env::var("GUICHET_MERGE_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600);
        let (_a_dir, mut a) = crate::store::test_store();
        let (_b_dir, mut b) = crate::store::test_store();
        fill(&mut a, n, "CS");
        fill(&mut b, n, "DS-");
        let search = Search::default().with(View::Open.filters());
        let stores = [&a, &b];
        for sort in Sort::ALL {
            for descending in [false, true] {
                let all = search_page(&stores, &search, sort, descending, (0, 2 * n), true)
                    .expect("merged");
                assert_eq!(all.total, Some(2 * n as u64));
                for pair in all.hits.windows(2) {
                    assert_ne!(
                        compare(&pair[0].1, &pair[1].1, sort, descending),
                        Ordering::Greater,
                        "{sort:?} {descending}"
                    );
                }
                let deep = search_page(&stores, &search, sort, descending, (n / 2, 30), false)
                    .expect("deep");
                let numbers = |hits: &[(usize, SearchHit)]| {
                    hits.iter()
                        .map(|(_, h)| h.row.case.number.clone())
                        .collect::<Vec<_>>()
                };
                assert_eq!(numbers(&deep.hits), numbers(&all.hits[n / 2..n / 2 + 30]));
            }
        }
        let time = |offset| {
            let started = std::time::Instant::now();
            for _ in 0..5 {
                search_page(&stores, &search, Sort::Urgency, false, (offset, 57), false)
                    .expect("page");
            }
            started.elapsed() / 5
        };
        let started = std::time::Instant::now();
        for _ in 0..5 {
            a.search_page(&search, Sort::Urgency, false, (n / 2, 57), false)
                .expect("page");
        }
        let alone = started.elapsed() / 5;
        println!(
            "merge of two stores of {n} cases: page at 0 {:?}, at {} {:?} (one store alone there: {alone:?})",
            time(0),
            n / 2,
            time(n / 2)
        );
    }
}
