//! Running the search language on the local store. Typed filters become
//! SQL on indexed columns; free words go through the accent-folding full-text
//! index, and, when that finds nothing, through a fuzzy matcher (nucleo) so a
//! typo or a missing letter still finds the case.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params_from_iter};
use std::time::Duration;

use super::cases::{CASE_COLUMNS, CaseRow, FOLDED_STATES, case_from_row};
use super::directory::fold;
use super::{Store, StoreError, StoreResult};
use crate::domain::search::{Assignee, Due, Filter, Search};
use crate::domain::{ChoiceList, Stage};

/// `due:<Nd` counts days of 24 hours from now.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// A case found by a search, with its fuzzy score when words were matched fuzzily.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub row: CaseRow,
    pub score: u32,
}

/// The orders a list can be read in; each walks an index of its own, so a
/// page deep in 100,000 cases costs no sort of them all.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Cases with a deadline first, soonest first, then by priority.
    #[default]
    Urgency,
    Number,
    Priority,
    State,
    Updated,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Urgency,
        Sort::Number,
        Sort::Priority,
        Sort::State,
        Sort::Updated,
    ];

    fn order(self, descending: bool) -> &'static str {
        match (self, descending) {
            (Sort::Urgency, false) => "ORDER BY c.due = '', c.due, c.priority, c.number",
            (Sort::Urgency, true) => {
                "ORDER BY c.due = '' DESC, c.due DESC, c.priority DESC, c.number DESC"
            }
            (Sort::Number, false) => "ORDER BY c.number",
            (Sort::Number, true) => "ORDER BY c.number DESC",
            (Sort::Priority, false) => "ORDER BY c.priority, c.due = '', c.due, c.number",
            (Sort::Priority, true) => {
                "ORDER BY c.priority DESC, c.due = '' DESC, c.due DESC, c.number DESC"
            }
            (Sort::State, false) => "ORDER BY c.state, c.due, c.number",
            (Sort::State, true) => "ORDER BY c.state DESC, c.due DESC, c.number DESC",
            (Sort::Updated, false) => "ORDER BY c.updated, c.number",
            (Sort::Updated, true) => "ORDER BY c.updated DESC, c.number DESC",
        }
    }
}

/// One window of a list: the rows asked for and how many match in all.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub hits: Vec<SearchHit>,
    /// How many match, when counting was asked (or cost nothing).
    pub total: Option<u64>,
    /// The words matched nothing exactly: these are the closest cases.
    pub fuzzy: bool,
}

/// How many cases the fuzzy fallback ranks at most: beyond the first
/// hundreds, a typo's matches are noise nobody scrolls to.
const FUZZY_KEEP: usize = 500;

/// The conditions of a search on `cases c`, with their parameters.
#[derive(Clone, Default)]
struct Sql {
    conditions: Vec<Condition>,
    params: Vec<Value>,
}

#[derive(Clone)]
struct Condition {
    text: String,
    /// It matches too many cases to find a page by its index (see
    /// `BROAD`): a page is read with the planner kept off that index (the
    /// unary + before the column) and walks the order's; a count still
    /// reads it.
    broad: bool,
}

/// Above this many cases, a filter is no help in finding a page: walking
/// the list's order index and checking the filter on the way finds 50 rows
/// sooner than reading every match and sorting them. With SQLCipher each
/// row read decrypts a page: 14,000 cases awaiting information took 200 ms
/// to read and sort, the walk 5 ms.
const BROAD: u64 = 2000;

impl Sql {
    fn add(&mut self, text: String, params: impl IntoIterator<Item = Value>) {
        self.conditions.push(Condition { text, broad: false });
        self.params.extend(params);
    }

    fn in_list(&mut self, column: &str, values: Vec<String>) {
        if values.is_empty() {
            self.add("0".into(), []);
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.add(
            format!("{column} IN ({marks})"),
            values.into_iter().map(Value::Text),
        );
    }

    /// Says the last condition added is broad.
    fn broad(&mut self) {
        if let Some(last) = self.conditions.last_mut() {
            last.broad = true;
        }
    }

    /// The WHERE clause of a count or a test (`page` false) or of a page.
    fn clause(&self, page: bool) -> String {
        if self.conditions.is_empty() {
            return "1".into();
        }
        let texts: Vec<String> = self
            .conditions
            .iter()
            .map(|c| {
                if page && c.broad {
                    format!("+{}", c.text)
                } else {
                    c.text.clone()
                }
            })
            .collect();
        texts.join(" AND ")
    }
}

fn text(v: &str) -> Value {
    Value::Text(v.to_string())
}

impl Store {
    fn stage_values(&self, wanted: impl Fn(Stage) -> bool) -> StoreResult<Vec<String>> {
        Ok(self
            .choices(ChoiceList::State)?
            .into_iter()
            .filter(|c| c.stage.is_some_and(&wanted))
            .map(|c| c.value)
            .collect())
    }

    fn filter_sql(&self, filter: &Filter, me: &str, sql: &mut Sql) -> StoreResult<()> {
        match filter {
            Filter::State(names) => {
                let mut values = Vec::new();
                for name in names {
                    match Stage::parse(&fold(name).replace(['-', ' '], "_")) {
                        Some(stage) => values.extend(self.stage_values(|s| s == stage)?),
                        None => values.push(self.resolve_state(name)?.value),
                    }
                }
                let mut alone = Sql::default();
                alone.in_list("c.state", values.clone());
                let broad = self.count(&alone)? > BROAD;
                sql.in_list("c.state", values);
                if broad {
                    sql.broad();
                }
            }
            Filter::Priority(levels) => {
                sql.in_list(
                    "CAST(c.priority AS TEXT)",
                    levels.iter().map(u8::to_string).collect(),
                );
            }
            Filter::Assignee(Assignee::Me) => sql.add("c.assignee = ?".into(), [text(me)]),
            Filter::Assignee(Assignee::Nobody) => sql.add("c.assignee IS NULL".into(), []),
            Filter::Assignee(Assignee::User(typed)) => {
                let wanted = fold(typed);
                let ids = self
                    .users()?
                    .into_iter()
                    .filter(|u| u.user_name == *typed || fold(&u.name).contains(&wanted))
                    .map(|u| u.id)
                    .collect();
                sql.in_list("c.assignee", ids);
            }
            Filter::Group(typed) => {
                let wanted = fold(typed);
                let mut stmt = self.conn.prepare_cached("SELECT id, name FROM groups")?;
                let ids = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                    .filter_map(Result::ok)
                    .filter(|(_, name)| fold(name).contains(&wanted))
                    .map(|(id, _)| id)
                    .collect();
                sql.in_list("c.grp", ids);
            }
            Filter::Procedure(typed) => {
                let wanted = fold(typed);
                let values = self
                    .choices(ChoiceList::Procedure)?
                    .into_iter()
                    .filter(|c| {
                        c.value == *typed
                            || fold(&c.label_fr).contains(&wanted)
                            || fold(&c.label_en).contains(&wanted)
                    })
                    .map(|c| c.value)
                    .collect();
                sql.in_list("c.procedure", values);
            }
            Filter::Due(due) => {
                let now = self.clock.now();
                let limit = match due {
                    Due::Overdue => now,
                    Due::WithinDays(days) => now + DAY * *days,
                };
                sql.add(
                    "c.due != '' AND c.due < ?".into(),
                    [Value::Text(limit.to_string())],
                );
            }
            Filter::Active => {
                let values = self.stage_values(Stage::is_open)?;
                if !values.is_empty() {
                    // Open cases are a large share: walking the list's own
                    // order index beats the state index for a page.
                    sql.in_list("c.state", values);
                    sql.broad();
                }
            }
            Filter::MyGroups => sql.add(
                "c.grp IN (SELECT grp FROM members WHERE user = ?)".into(),
                [text(me)],
            ),
        }
        Ok(())
    }

    /// Whether anything matches (cheaper than counting).
    fn any(&self, sql: &Sql) -> StoreResult<bool> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM cases c WHERE {})",
            sql.clause(false)
        ))?;
        Ok(stmt.query_row(params_from_iter(sql.params.iter()), |r| r.get(0))?)
    }

    fn count(&self, sql: &Sql) -> StoreResult<u64> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT count(*) FROM cases c WHERE {}",
            sql.clause(false)
        ))?;
        let n: i64 = stmt.query_row(params_from_iter(sql.params.iter()), |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    fn select_window(
        &self,
        sql: &Sql,
        order: &str,
        offset: usize,
        limit: Option<usize>,
    ) -> StoreResult<Vec<CaseRow>> {
        let filter = sql.clause(true);
        let limit = match (limit, offset) {
            (Some(n), 0) => format!(" LIMIT {n}"),
            (Some(n), offset) => format!(" LIMIT {n} OFFSET {offset}"),
            (None, _) => String::new(),
        };
        // Two steps: pick the page on the cases table alone (the order has an
        // index), then join names and queue marks for those rows only.
        let folded = &*FOLDED_STATES;
        let decision = super::outbox::states_sql(&super::outbox::DECISION);
        let query = format!(
            "SELECT {CASE_COLUMNS}, coalesce(p.name, ''), coalesce(u.name, ''), coalesce(u.user_name, ''), coalesce(g.name, ''),
               (SELECT count(*) FROM outbox o WHERE o.case_id = c.id AND o.state IN {folded}),
               EXISTS (SELECT 1 FROM outbox o WHERE o.case_id = c.id AND o.state IN {decision})
             FROM (SELECT c.row FROM cases c WHERE {filter} {order}{limit}) AS page
             JOIN cases c ON c.row = page.row
             LEFT JOIN citizens p ON p.id = c.citizen
             LEFT JOIN users u ON u.id = c.assignee
             LEFT JOIN groups g ON g.id = c.grp
             {order}"
        );
        let mut stmt = self.conn.prepare_cached(&query)?;
        let rows = stmt.query_map(params_from_iter(sql.params.iter()), |r| {
            Ok(CaseRow {
                case: case_from_row(r)?,
                citizen_name: r.get(18)?,
                assignee_name: r.get(19)?,
                assignee_user_name: r.get(20)?,
                group_name: r.get(21)?,
                pending: r.get(22)?,
                conflict: r.get(23)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One case with its names and queue marks, by id.
    pub fn case_row(&self, id: &str) -> StoreResult<Option<CaseRow>> {
        let mut sql = Sql::default();
        sql.add("c.id = ?".into(), [text(id)]);
        Ok(self
            .select_window(&sql, Sort::Urgency.order(false), 0, Some(1))?
            .pop())
    }

    /// The SQL of a search's typed filters.
    fn filters_sql(&self, search: &Search) -> StoreResult<Sql> {
        let me = self.me()?.unwrap_or_default();
        let mut sql = Sql::default();
        for filter in &search.filters {
            self.filter_sql(filter, &me, &mut sql)?;
        }
        Ok(sql)
    }

    /// Cases matching a search, most urgent first (or best fuzzy match first).
    pub fn search(&self, search: &Search, limit: usize) -> StoreResult<Vec<SearchHit>> {
        Ok(self
            .search_page(search, Sort::Urgency, false, (0, limit), false)?
            .hits)
    }

    /// A window of a list: `limit` rows from `offset` in `sort` order, and,
    /// with `count`, the number of matches in all (most of the cost of a
    /// broad list: a list scrolled, not changed, does not count again).
    /// Only the window is read and joined, so a list of 100,000 cases pages
    /// as fast as one of 100. Free words match the full-text index first;
    /// when that finds nothing, the closest cases by fuzzy score (best
    /// first, whatever the sort).
    pub fn search_page(
        &self,
        search: &Search,
        sort: Sort,
        descending: bool,
        window: (usize, usize),
        count: bool,
    ) -> StoreResult<Page> {
        match self.exact_page(search, sort, descending, window, count)? {
            Some(page) => Ok(page),
            None => self.close_page(search, window),
        }
    }

    /// The window of the cases matching the search as typed; None when
    /// its words are found nowhere (`close_page` then).
    pub fn exact_page(
        &self,
        search: &Search,
        sort: Sort,
        descending: bool,
        (offset, limit): (usize, usize),
        count: bool,
    ) -> StoreResult<Option<Page>> {
        let matching = self.with_words(&self.filters_sql(search)?, &search.words)?;
        let total = if count {
            Some(self.count(&matching)?)
        } else {
            None
        };
        // Without words, the page is the filters' (empty or not).
        let found = search.words.is_empty()
            || match total {
                Some(n) => n > 0,
                None => self.any(&matching)?,
            };
        if !found {
            return Ok(None);
        }
        let rows = self.select_window(&matching, sort.order(descending), offset, Some(limit))?;
        Ok(Some(Page {
            hits: rows
                .into_iter()
                .map(|row| SearchHit { row, score: 0 })
                .collect(),
            total,
            fuzzy: false,
        }))
    }

    /// The window of the cases closest to the search's words by fuzzy
    /// score, best first, among those its filters match.
    pub fn close_page(
        &self,
        search: &Search,
        (offset, limit): (usize, usize),
    ) -> StoreResult<Page> {
        let ranked = self.fuzzy_ids(&self.filters_sql(search)?, &search.words, FUZZY_KEEP)?;
        let total = Some(ranked.len() as u64);
        let mut hits = Vec::with_capacity(limit);
        for (score, id) in ranked.into_iter().skip(offset).take(limit) {
            if let Some(row) = self.case_row(&id)? {
                hits.push(SearchHit { row, score });
            }
        }
        Ok(Page {
            hits,
            total,
            fuzzy: true,
        })
    }

    /// `sql` and the free `words`, matched on the full-text index.
    fn with_words(&self, sql: &Sql, words: &[String]) -> StoreResult<Sql> {
        let mut matching = sql.clone();
        if words.is_empty() {
            return Ok(matching);
        }
        let expression = words
            .iter()
            .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ");
        // Common words with other filters: the filters' index finds the
        // page, the words' matches are only checked (as a list read once).
        // Rare words find the page themselves.
        let broad = !sql.conditions.is_empty()
            && self
                .conn
                .prepare_cached("SELECT count(*) FROM case_words WHERE case_words MATCH ?")?
                .query_row([&expression], |r| r.get::<_, i64>(0))?
                > BROAD as i64;
        matching.add(
            "c.row IN (SELECT rowid FROM case_words WHERE case_words MATCH ?)".into(),
            [Value::Text(expression)],
        );
        if broad {
            matching.broad();
        }
        Ok(matching)
    }

    /// The fuzzy fallback over number, citizen, procedure and summary: the
    /// ids of the `limit` closest cases, best first, with their scores.
    fn fuzzy_ids(
        &self,
        sql: &Sql,
        words: &[String],
        limit: usize,
    ) -> StoreResult<Vec<(u32, String)>> {
        let needle = fold(&words.join(" "));
        let scan = Scan {
            pattern: Pattern::parse(&needle, CaseMatching::Ignore, Normalization::Smart),
            atoms: needle.split_whitespace().map(str::to_string).collect(),
            // The narrow table of folded lines; the cases table only for
            // the filters (answered from its indexes), joined by row.
            query: if sql.conditions.is_empty() {
                "SELECT h.row, h.text FROM case_haystack h WHERE h.row BETWEEN ? AND ?".to_string()
            } else {
                format!(
                    "SELECT h.row, h.text FROM cases c JOIN case_haystack h ON h.row = c.row
                     WHERE {} AND h.row BETWEEN ? AND ?",
                    sql.clause(false)
                )
            },
            params: &sql.params,
        };
        let (low, high): (Option<i64>, Option<i64>) =
            self.conn
                .query_row("SELECT min(row), max(row) FROM case_haystack", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        let (Some(low), Some(high)) = (low, high) else {
            return Ok(Vec::new());
        };
        // Large stores are read in two halves side by side, on a second
        // connection: reading the lines is most of the time, and these
        // workstations have two cores.
        let mut scored = if high - low < SPLIT_FROM {
            scan.run(&self.conn, low, high)?
        } else {
            let mid = low + (high - low) / 2;
            let mut helper = self.helper()?;
            let other = helper
                .as_mut()
                .ok_or_else(|| StoreError::Invalid("no second connection".into()))?;
            std::thread::scope(|threads| {
                let scan = &scan;
                let second = threads.spawn(move || scan.run(other, mid + 1, high));
                let mut first = scan.run(&self.conn, low, mid)?;
                let second = second
                    .join()
                    .map_err(|_| StoreError::Invalid("the search's second half failed".into()))??;
                first.extend(second);
                Ok::<_, StoreError>(first)
            })?
        };
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(limit);
        let mut id_of = self
            .conn
            .prepare_cached("SELECT id FROM cases WHERE row = ?")?;
        let mut out = Vec::with_capacity(scored.len());
        for (score, row) in scored {
            if let Some(id) = id_of
                .query_row([row], |r| r.get::<_, String>(0))
                .optional()?
            {
                out.push((score, id));
            }
        }
        Ok(out)
    }
}

/// From how many rows a typo search is read in two halves.
const SPLIT_FROM: i64 = 4096;

/// One typo search over a range of rows.
struct Scan<'a> {
    pattern: Pattern,
    atoms: Vec<String>,
    query: String,
    params: &'a [Value],
}

impl Scan<'_> {
    fn run(
        &self,
        conn: &rusqlite::Connection,
        low: i64,
        high: i64,
    ) -> StoreResult<Vec<(u32, i64)>> {
        let mut matcher = Matcher::new(Config::DEFAULT);
        let mut buffer = Vec::new();
        let mut stmt = conn.prepare_cached(&self.query)?;
        let params = self
            .params
            .iter()
            .cloned()
            .chain([Value::Integer(low), Value::Integer(high)]);
        let mut rows = stmt.query(params_from_iter(params))?;
        let mut scored = Vec::new();
        while let Some(row) = rows.next()? {
            let bytes = row.get_ref(1)?.as_bytes().unwrap_or(b"");
            // The matcher only checks a needle's first and last letters
            // before its full scoring: most lines would pay for it. A plain
            // in-order check first leaves it only the lines that can match.
            if !self.atoms.iter().all(|atom| may_match(bytes, atom)) {
                continue;
            }
            let text = std::str::from_utf8(bytes).unwrap_or("");
            if let Some(score) = self
                .pattern
                .score(Utf32Str::new(text, &mut buffer), &mut matcher)
            {
                scored.push((score, row.get(0)?));
            }
        }
        Ok(scored)
    }
}

/// Whether `atom`'s characters appear in `line` in order (both folded):
/// what any fuzzy match needs. Atoms with the matcher's operators
/// (`^` `$` `!` `'`) are left to the matcher.
/// Works on the line's bytes: the atom's UTF-8 sequences appearing in order
/// is what its characters appearing in order means.
fn may_match(line: &[u8], atom: &str) -> bool {
    if atom.contains(['^', '$', '!', '\'']) {
        return true;
    }
    let mut rest = line;
    let mut utf8 = [0u8; 4];
    for wanted in atom.chars() {
        let wanted = wanted.encode_utf8(&mut utf8).as_bytes();
        let found = if let [byte] = wanted {
            memchr::memchr(*byte, rest)
        } else {
            memchr::memmem::find(rest, wanted)
        };
        match found {
            Some(at) => rest = &rest[at + wanted.len()..],
            None => return false,
        }
    }
    true
}

impl From<crate::domain::search::SearchError> for StoreError {
    fn from(e: crate::domain::search::SearchError) -> Self {
        StoreError::Invalid(e.0)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::directory::Directory;
    use crate::domain::search::{Search, View};
    use crate::domain::{Case, Choice, ChoiceList, Citizen, Clock, Group, Stage, Timestamp, User};
    use crate::store::{Store, test_store};

    fn choice(list: ChoiceList, value: &str, en: &str, fr: &str, stage: Option<Stage>) -> Choice {
        Choice {
            list,
            value: value.into(),
            label_en: en.into(),
            label_fr: fr.into(),
            sequence: 0,
            stage,
        }
    }

    fn seeded() -> (tempfile::TempDir, Store) {
        let (dir, mut store) = test_store();
        store
            .save_choices(&[
                choice(ChoiceList::State, "1", "New", "Nouveau", Some(Stage::New)),
                choice(ChoiceList::State, "10", "Open", "Ouvert", Some(Stage::Open)),
                choice(
                    ChoiceList::State,
                    "3",
                    "Closed",
                    "Clos",
                    Some(Stage::Closed),
                ),
                choice(
                    ChoiceList::Procedure,
                    "passeport",
                    "Passport",
                    "Passeport",
                    None,
                ),
                choice(
                    ChoiceList::Procedure,
                    "rsa",
                    "Active solidarity income",
                    "Revenu de solidarité active",
                    None,
                ),
            ])
            .unwrap();
        store
            .save_directory(&Directory {
                users: vec![User {
                    id: "u1".into(),
                    user_name: "demo".into(),
                    name: "Camille Démo".into(),
                    email: String::new(),
                    active: true,
                }],
                groups: vec![
                    Group {
                        id: "g1".into(),
                        name: "État civil".into(),
                    },
                    Group {
                        id: "g2".into(),
                        name: "Titres".into(),
                    },
                ],
                memberships: vec![("u1".into(), "g1".into())],
                only_my_groups: false,
            })
            .unwrap();
        store.set_meta(crate::store::Meta::Me, "u1").unwrap();
        store
            .save_citizens(&[Citizen {
                id: "p1".into(),
                first_name: "José".into(),
                last_name: "Lefèvre".into(),
                ..Citizen::default()
            }])
            .unwrap();
        let case = |id: &str,
                    state: &str,
                    priority: u8,
                    procedure: &str,
                    assignee: Option<&str>,
                    group: &str,
                    due: &str| Case {
            id: id.into(),
            number: format!("CS000{id}"),
            summary: format!("Demande {procedure}"),
            description: "Pièces justificatives reçues au guichet".into(),
            state: state.into(),
            priority,
            procedure: procedure.into(),
            citizen: (id == "1").then(|| "p1".to_string()),
            assignee: assignee.map(str::to_string),
            group: Some(group.into()),
            due: Timestamp::parse_optional(due).unwrap(),
            version: "0".into(),
            ..Case::default()
        };
        store
            .save_cases(&[
                case(
                    "1",
                    "10",
                    1,
                    "passeport",
                    Some("u1"),
                    "g1",
                    "2020-01-01 00:00:00",
                ),
                case("2", "1", 3, "rsa", None, "g2", "2099-01-01 00:00:00"),
                case("3", "3", 2, "passeport", Some("u1"), "g1", ""),
            ])
            .unwrap();
        (dir, store)
    }

    fn numbers(store: &Store, search: Search) -> Vec<String> {
        store
            .search(&search, 50)
            .unwrap()
            .into_iter()
            .map(|h| h.row.case.number)
            .collect()
    }

    #[test]
    fn words_ignore_accents_and_filters_combine() {
        let (_dir, store) = seeded();
        assert_eq!(numbers(&store, Search::parse("jose").unwrap()), ["CS0001"]);
        assert_eq!(
            numbers(&store, Search::parse("lefevre passeport").unwrap()),
            ["CS0001"]
        );
        assert_eq!(
            numbers(&store, Search::parse("justificatives").unwrap()).len(),
            3,
            "description words too"
        );
        assert_eq!(
            numbers(&store, Search::parse("state:open prio:1").unwrap()),
            ["CS0001"]
        );
        assert_eq!(
            numbers(&store, Search::parse("assignee:none").unwrap()),
            ["CS0002"]
        );
        assert_eq!(
            numbers(&store, Search::parse("due:overdue").unwrap()),
            ["CS0001"]
        );
        assert_eq!(
            numbers(&store, Search::parse("group:etat procedure:passe").unwrap()),
            ["CS0001", "CS0003"]
        );
        assert_eq!(
            numbers(&store, Search::parse("procedure:solidarite").unwrap()),
            ["CS0002"]
        );
        assert!(
            store
                .search(&Search::parse("state:nowhere").unwrap(), 5)
                .is_err()
        );
    }

    #[test]
    fn a_case_stored_again_is_found_by_its_new_words_only() {
        let (_dir, mut store) = seeded();
        let mut case = store.base_case("1").unwrap().expect("case 1");
        let found = |store: &Store, words: &str| {
            numbers(store, Search::parse(words).unwrap()).contains(&"CS0001".to_string())
        };
        // Stored again unchanged (an action settled): still found.
        case.version = "98".into();
        store.save_cases(std::slice::from_ref(&case)).unwrap();
        assert!(found(&store, "lefevre passeport"));
        case.summary = "Carte grise perdue".into();
        case.version = "99".into();
        store.save_cases(std::slice::from_ref(&case)).unwrap();
        assert!(found(&store, "grise"));
        assert!(found(&store, "lefevre"), "the citizen's name stays");
        assert!(
            !found(&store, "demande"),
            "the old summary's words are gone"
        );
        // And the typo line follows the summary too.
        assert!(found(&store, "grse"), "a typo of the new summary");
        assert!(!found(&store, "dmande"), "a typo of the old one");
    }

    #[test]
    fn a_broad_filter_is_walked_past_for_a_page_and_counted_by_its_index() {
        use super::{BROAD, Sort};
        let (_dir, mut store) = seeded();
        let many: Vec<Case> = (0..BROAD + 1)
            .map(|i| Case {
                id: format!("n{i}"),
                number: format!("CS9{i:05}"),
                state: "1".into(),
                summary: "Carte grise".into(),
                version: "1".into(),
                ..Case::default()
            })
            .collect();
        store.save_cases(&many).unwrap();
        let plan = |text: &str| {
            let search = Search::parse(text).unwrap();
            let sql = store.filters_sql(&search).unwrap();
            (sql.clause(true), sql.clause(false))
        };
        // Over BROAD new cases: a page walks the order's index past them.
        let (page, count) = plan("state:new");
        assert_eq!(page, "+c.state IN (?)");
        assert_eq!(count, "c.state IN (?)");
        // A handful of open ones: their index finds the page.
        let (page, _) = plan("state:open");
        assert_eq!(page, "c.state IN (?)");
        // Common words beside a filter are checked, not driving; rare ones,
        // or alone, drive.
        let words = |text: &str| {
            let search = Search::parse(text).unwrap();
            let sql = store.filters_sql(&search).unwrap();
            let matching = store.with_words(&sql, &search.words).unwrap();
            matching.clause(true)
        };
        let matched = "c.row IN (SELECT rowid FROM case_words WHERE case_words MATCH ?)";
        assert_eq!(
            words("state:open carte"),
            format!("c.state IN (?) AND +{matched}")
        );
        assert_eq!(words("carte"), matched);
        assert_eq!(
            words("state:open passeport"),
            format!("c.state IN (?) AND {matched}")
        );
        let hits = store
            .search_page(
                &Search::parse("state:new carte").unwrap(),
                Sort::Urgency,
                false,
                (0, 5),
                true,
            )
            .unwrap();
        assert_eq!(
            (hits.hits.len(), hits.total, hits.fuzzy),
            (5, Some(BROAD + 1), false)
        );
    }

    #[test]
    fn the_in_order_check_keeps_every_possible_match() {
        use super::may_match;
        assert!(!may_match(b"cs0001 jose lefevre passeport", "passepirt"));
        assert!(may_match(b"cs0001 jose lefevre passeport titre", "psprt"));
        assert!(
            !may_match("dossier de josé".as_bytes(), "jose"),
            "lines are folded first"
        );
        assert!(may_match(b"dossier de jose", "jose"));
        assert!(may_match("日本語 テスト".as_bytes(), "本テ"));
        assert!(!may_match("日本語 テスト".as_bytes(), "テ本"));
        assert!(may_match(b"abc", "!x"), "operators go to the matcher");
    }

    #[test]
    fn views_and_the_fuzzy_fallback() {
        let (_dir, store) = seeded();
        assert_eq!(
            numbers(&store, Search::default().with(View::Mine.filters())),
            ["CS0001"],
            "closed ones are not 'mine' work"
        );
        assert_eq!(
            numbers(&store, Search::default().with(View::Team.filters())),
            ["CS0001"]
        );
        assert_eq!(
            numbers(&store, Search::default().with(View::Open.filters())),
            ["CS0001", "CS0002"]
        );
        let fuzzy = store
            .search(&Search::parse("pasport").unwrap(), 50)
            .unwrap();
        assert!(
            !fuzzy.is_empty()
                && fuzzy
                    .iter()
                    .all(|h| h.row.case.procedure == "passeport" && h.score > 0),
            "a typo still finds"
        );
        assert!(numbers(&store, Search::parse("zzzqqq").unwrap()).is_empty());
    }

    #[test]
    fn overdue_and_due_soon_are_counted_from_the_stores_clock() {
        let (_dir, mut store) = seeded();
        // Two days before CS0002's deadline (2099-01-01 00:00:00).
        let clock = Clock::stopped_at(Timestamp::parse("2098-12-30 00:00:00").unwrap());
        store.set_clock(clock.clone());
        let search = |text: &str| numbers(&store, Search::parse(text).unwrap());
        assert_eq!(search("due:overdue"), ["CS0001"]);
        assert_eq!(
            search("due:<2d"),
            ["CS0001"],
            "due in exactly 2 days: not within"
        );
        assert_eq!(search("due:<3d"), ["CS0001", "CS0002"]);
        clock.advance(std::time::Duration::from_secs(2 * 24 * 3600));
        assert_eq!(search("due:overdue"), ["CS0001"], "due this very second");
        clock.advance(std::time::Duration::from_secs(1));
        assert_eq!(search("due:overdue"), ["CS0001", "CS0002"]);
    }
}
