//! The demo catalogues in assets/demo/, embedded in the binary.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Procedure {
    pub code: String,
    pub label_fr: String,
    pub label_en: String,
    pub group: String,
    pub due_days: i64,
    /// The documents the procedure asks for, listed on the intake receipt.
    pub documents_fr: Vec<String>,
    pub documents_en: Vec<String>,
    /// One sentence: how the citizen follows the request up.
    pub follow_up_fr: String,
    pub follow_up_en: String,
    /// "accord" or "rejet" under *silence vaut accord / rejet*.
    #[serde(default)]
    pub silence: Option<String>,
    pub summaries: Vec<String>,
    pub descriptions: Vec<String>,
    pub comments: Vec<String>,
    pub work_notes: Vec<String>,
    pub citizen_messages: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    pub element: String,
    pub value: String,
    pub sequence: i64,
    pub en: String,
    pub fr: String,
}

#[derive(Debug, Deserialize)]
pub struct Group {
    pub key: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Deserialize)]
pub struct Agent {
    pub user_name: String,
    pub first_name: String,
    pub last_name: String,
    pub groups: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

pub struct Catalog {
    pub procedures: Vec<Procedure>,
    pub choices: Vec<Choice>,
    pub groups: Vec<Group>,
    pub agents: Vec<Agent>,
    pub first_names: Vec<&'static str>,
    pub last_names: Vec<&'static str>,
    /// (zip, city)
    pub cities: Vec<(&'static str, &'static str)>,
    pub streets: Vec<&'static str>,
}

#[derive(Deserialize)]
struct Procedures {
    procedure: Vec<Procedure>,
}
#[derive(Deserialize)]
struct Choices {
    choice: Vec<Choice>,
}
#[derive(Deserialize)]
struct Agents {
    group: Vec<Group>,
    agent: Vec<Agent>,
}

fn lines(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

impl Catalog {
    /// Parses the embedded catalogues; an error names the file at fault.
    pub fn load() -> Result<Catalog, String> {
        let parse = |name: &str, e: toml::de::Error| format!("assets/demo/{name}: {e}");
        let procedures: Procedures =
            toml::from_str(include_str!("../../../assets/demo/procedures.toml"))
                .map_err(|e| parse("procedures.toml", e))?;
        let choices: Choices = toml::from_str(include_str!("../../../assets/demo/choices.toml"))
            .map_err(|e| parse("choices.toml", e))?;
        let agents: Agents = toml::from_str(include_str!("../../../assets/demo/agents.toml"))
            .map_err(|e| parse("agents.toml", e))?;
        let cities = lines(include_str!("../../../assets/demo/cities.txt"))
            .into_iter()
            .filter_map(|l| l.split_once('|'))
            .collect();
        let catalog = Catalog {
            procedures: procedures.procedure,
            choices: choices.choice,
            groups: agents.group,
            agents: agents.agent,
            first_names: lines(include_str!("../../../assets/demo/first_names.txt")),
            last_names: lines(include_str!("../../../assets/demo/last_names.txt")),
            cities,
            streets: lines(include_str!("../../../assets/demo/streets.txt")),
        };
        catalog.check()?;
        Ok(catalog)
    }

    /// The generator draws from every list: none may be empty, and every
    /// procedure and agent must name a known group.
    fn check(&self) -> Result<(), String> {
        let empty = [
            ("procedures", self.procedures.is_empty()),
            ("groups", self.groups.is_empty()),
            ("first names", self.first_names.is_empty()),
            ("last names", self.last_names.is_empty()),
            ("cities", self.cities.is_empty()),
            ("streets", self.streets.is_empty()),
        ];
        if let Some((name, _)) = empty.iter().find(|(_, e)| *e) {
            return Err(format!("the demo catalogue of {name} is empty"));
        }
        for p in &self.procedures {
            if !self.groups.iter().any(|g| g.key == p.group) {
                return Err(format!(
                    "procedure {} names unknown group {}",
                    p.code, p.group
                ));
            }
            if [
                &p.summaries,
                &p.descriptions,
                &p.comments,
                &p.work_notes,
                &p.citizen_messages,
            ]
            .iter()
            .any(|list| list.is_empty())
            {
                return Err(format!("procedure {} has an empty text list", p.code));
            }
            // The receipt lists the documents in the citizen's language: both
            // lists must exist and say the same number of things.
            // Served one per line: a document holding a line break would split.
            if p.documents_fr.is_empty()
                || p.documents_fr.len() != p.documents_en.len()
                || p.documents_fr
                    .iter()
                    .chain(&p.documents_en)
                    .any(|d| d.contains('\n'))
            {
                return Err(format!(
                    "procedure {} needs as many documents_fr as documents_en, at least one, each on one line",
                    p.code
                ));
            }
            if p.follow_up_fr.trim().is_empty() || p.follow_up_en.trim().is_empty() {
                return Err(format!(
                    "procedure {} needs follow_up_fr and follow_up_en",
                    p.code
                ));
            }
            if !self.agents.iter().any(|a| a.groups.contains(&p.group)) {
                return Err(format!("no agent works in group {}", p.group));
            }
        }
        for a in &self.agents {
            if let Some(g) = a
                .groups
                .iter()
                .find(|g| !self.groups.iter().any(|k| &k.key == *g))
            {
                return Err(format!("agent {} names unknown group {g}", a.user_name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_catalogues_parse_and_hold_together() {
        let c = super::Catalog::load().unwrap();
        assert!(c.procedures.len() >= 12);
        assert_eq!(c.groups.len(), 4);
        for name in [
            "demo",
            "accueil",
            "titres",
            "prestations",
            "etat-civil",
            "superviseur",
        ] {
            assert!(c.agents.iter().any(|a| a.user_name == name), "{name}");
        }
    }
}
