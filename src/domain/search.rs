//! The search language shared by `guichet cases --query` and the console's
//! search box: free words (matched fuzzily and without accents against the
//! number, the citizen, the procedure and the text) and typed filters:
//! `state:` `prio:` `assignee:me|none|USER` `group:` `procedure:` `due:<7d|overdue`.
//! It runs on the local store, so it works offline.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Search {
    pub words: Vec<String>,
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// Stage names (`open`, `awaiting_info`...), state labels or values; any matches.
    State(Vec<String>),
    Priority(Vec<u8>),
    Assignee(Assignee),
    /// A group name (or part of it).
    Group(String),
    /// A procedure value or label (or part of it).
    Procedure(String),
    Due(Due),
    /// Only cases still open (new, open, awaiting info).
    Active,
    /// Cases of the agent's own groups.
    MyGroups,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    Me,
    Nobody,
    /// A user name or part of a name.
    User(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    Overdue,
    WithinDays(u32),
}

/// The console's and CLI's ready-made views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    /// Open cases assigned to me.
    Mine,
    /// Open cases of my groups.
    Team,
    /// Every open case I can see.
    Open,
    /// Cases waiting for the citizen.
    Awaiting,
    /// Open cases due within 7 days or overdue.
    Due,
    /// Everything.
    All,
}

impl View {
    pub fn filters(self) -> Vec<Filter> {
        match self {
            View::Mine => vec![Filter::Assignee(Assignee::Me), Filter::Active],
            View::Team => vec![Filter::MyGroups, Filter::Active],
            View::Open => vec![Filter::Active],
            View::Awaiting => vec![Filter::State(vec!["awaiting_info".into()])],
            View::Due => vec![Filter::Due(Due::WithinDays(7)), Filter::Active],
            View::All => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SearchError(pub String);

const KEYS: &str = "state:, prio:, assignee:, group:, procedure:, due:";

impl Search {
    pub fn parse(text: &str) -> Result<Search, SearchError> {
        let mut search = Search::default();
        for token in text.split_whitespace() {
            let Some((key, value)) = token.split_once(':') else {
                search.words.push(token.to_string());
                continue;
            };
            if value.is_empty() {
                return Err(SearchError(format!(
                    "'{token}' needs a value after the colon"
                )));
            }
            let filter = match key.to_lowercase().as_str() {
                "state" | "etat" | "état" => {
                    Filter::State(value.split(',').map(str::to_string).collect())
                }
                "prio" | "priority" | "priorite" | "priorité" => Filter::Priority(
                    value
                        .split(',')
                        .map(|p| match p.parse::<u8>() {
                            Ok(n @ 1..=4) => Ok(n),
                            _ => Err(SearchError(format!(
                                "prio: takes 1 to 4 (or a list like 1,2), not '{p}'"
                            ))),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                "assignee" | "agent" => Filter::Assignee(match value {
                    "me" | "moi" => Assignee::Me,
                    "none" | "personne" | "aucun" => Assignee::Nobody,
                    other => Assignee::User(other.to_string()),
                }),
                "group" | "groupe" => Filter::Group(value.to_string()),
                "procedure" | "procédure" | "demarche" | "démarche" => {
                    Filter::Procedure(value.to_string())
                }
                "due" | "echeance" | "échéance" => Filter::Due(parse_due(value)?),
                _ => {
                    return Err(SearchError(format!(
                        "unknown filter '{key}:' (known: {KEYS})"
                    )));
                }
            };
            search.filters.push(filter);
        }
        Ok(search)
    }

    pub fn with(mut self, filters: impl IntoIterator<Item = Filter>) -> Search {
        self.filters.extend(filters);
        self
    }
}

fn parse_due(value: &str) -> Result<Due, SearchError> {
    if matches!(value, "overdue" | "depasse" | "dépassé" | "retard") {
        return Ok(Due::Overdue);
    }
    let days = value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('d').or_else(|| v.strip_suffix('j')))
        .and_then(|n| n.parse::<u32>().ok());
    days.map(Due::WithinDays).ok_or_else(|| {
        SearchError(format!(
            "due: takes overdue or <Nd (e.g. due:<7d), not '{value}'"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_filters_combine() {
        let s =
            Search::parse("josé  state:open,awaiting_info prio:1,2 assignee:me due:<7d passeport")
                .unwrap();
        assert_eq!(s.words, ["josé", "passeport"]);
        assert_eq!(
            s.filters,
            [
                Filter::State(vec!["open".into(), "awaiting_info".into()]),
                Filter::Priority(vec![1, 2]),
                Filter::Assignee(Assignee::Me),
                Filter::Due(Due::WithinDays(7)),
            ]
        );
        assert_eq!(
            Search::parse("due:overdue assignee:none").unwrap().filters,
            [
                Filter::Due(Due::Overdue),
                Filter::Assignee(Assignee::Nobody)
            ]
        );
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(
            Search::parse("colour:red")
                .unwrap_err()
                .0
                .contains("known: state:")
        );
        assert!(Search::parse("prio:9").unwrap_err().0.contains("1 to 4"));
        assert!(Search::parse("due:soon").unwrap_err().0.contains("<Nd"));
        assert!(
            Search::parse("state:")
                .unwrap_err()
                .0
                .contains("needs a value")
        );
    }
}
