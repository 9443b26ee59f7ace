//! DS's answers as serde reads them, and how a dossier becomes a case: the
//! démarche is the procedure, the demandeur the citizen (a person or a
//! company), the instructeur following it the assignee, its group the
//! team, the SVA/SVR date the legal deadline, its messages the timeline.

use serde::Deserialize;

use super::ids;
use crate::domain::{Case, Citizen, EntryKind, TimelineEntry};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dossier {
    pub id: String,
    pub number: i64,
    pub state: String,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub date_depot: Option<String>,
    pub date_derniere_modification: String,
    #[serde(default, rename = "datePrevisionnelleDecisionSVASVR")]
    pub sva_svr: Option<String>,
    #[serde(default)]
    pub motivation: Option<String>,
    pub demarche: DemarcheRef,
    pub demandeur: Demandeur,
    #[serde(default)]
    pub usager: Option<Profile>,
    pub groupe_instructeur: GroupRef,
    #[serde(default)]
    pub instructeurs: Vec<Profile>,
    #[serde(default)]
    pub champs: Vec<Champ>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemarcheRef {
    pub number: i64,
    pub title: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupRef {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Profile {
    pub id: Option<String>,
    pub email: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Champ {
    pub label: String,
    #[serde(default)]
    pub string_value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "__typename")]
pub enum Demandeur {
    PersonnePhysique {
        id: String,
        #[serde(default)]
        nom: String,
        #[serde(default)]
        prenom: String,
        #[serde(default)]
        email: Option<String>,
    },
    PersonneMorale {
        id: String,
        #[serde(default)]
        siret: String,
        #[serde(default)]
        address: Option<Address>,
        #[serde(default)]
        entreprise: Option<Entreprise>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(default)]
    pub street_address: Option<String>,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub city_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entreprise {
    pub raison_sociale: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    #[serde(default)]
    pub end_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", bound = "T: Deserialize<'de>")]
pub struct Connection<T> {
    pub page_info: PageInfo,
    /// DS lists nodes as nullable: a node it could not load is null.
    #[serde(default)]
    pub nodes: Vec<Option<T>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub body: String,
    pub created_at: String,
    pub email: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    pub number: i64,
    pub label: String,
    #[serde(default)]
    pub closed: bool,
    #[serde(default)]
    pub instructeurs: Vec<Profile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Demarche {
    pub number: i64,
    pub title: String,
    #[serde(default)]
    pub groupe_instructeurs: Vec<Group>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    /// The champ's kind (`TextChamp`, `TextareaChamp`...).
    #[serde(rename = "__typename", default)]
    pub typename: String,
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub string_value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdOnly {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Deleted {
    pub id: String,
}

impl Demandeur {
    pub fn id(&self) -> &str {
        match self {
            Demandeur::PersonnePhysique { id, .. } | Demandeur::PersonneMorale { id, .. } => id,
        }
    }
}

impl Dossier {
    /// The case, as seen by the instructeur `me` (an instructeur id).
    pub fn case(&self, me: &str) -> Case {
        let updated = ids::parse_datetime(&self.date_derniere_modification);
        // The agent's own when he follows it; else whoever does.
        let assignee = self
            .instructeurs
            .iter()
            .find(|i| i.id.as_deref() == Some(me))
            .or_else(|| self.instructeurs.first())
            .and_then(|i| i.id.clone());
        let decided = super::moves::is_decision(&self.state);
        Case {
            id: self.id.clone(),
            number: ids::case_number(self.number),
            summary: self.summary(),
            description: self.description(),
            state: self.state.clone(),
            priority: 0,
            procedure: self.demarche.number.to_string(),
            channel: "web".into(),
            citizen: Some(self.demandeur.id().to_string()),
            assignee,
            group: Some(self.groupe_instructeur.id.clone()),
            opened: self.date_depot.as_deref().and_then(ids::parse_datetime),
            due: self.sva_svr.as_deref().and_then(ids::parse_date),
            resolution_code: if decided {
                self.state.clone()
            } else {
                String::new()
            },
            close_notes: if decided {
                self.motivation.clone().unwrap_or_default()
            } else {
                String::new()
            },
            updated,
            updated_by: String::new(),
            // No version in DS: the last change's time is the nearest thing.
            version: self.date_derniere_modification.clone(),
        }
    }

    /// The démarche and who asks: what a list row needs to say.
    fn summary(&self) -> String {
        let who = match &self.demandeur {
            Demandeur::PersonnePhysique { nom, prenom, .. } => format!("{prenom} {nom}"),
            Demandeur::PersonneMorale {
                entreprise, siret, ..
            } => entreprise
                .as_ref()
                .map_or_else(|| siret.clone(), |e| e.raison_sociale.clone()),
        };
        format!("{} — {}", self.demarche.title, who.trim())
    }

    /// The citizen's answers (champs), one per line, as the case's text.
    fn description(&self) -> String {
        let mut lines: Vec<String> = self
            .champs
            .iter()
            .filter_map(|c| {
                let value = c.string_value.as_deref()?.trim();
                (!value.is_empty()).then(|| format!("{} : {value}", c.label))
            })
            .collect();
        if self.archived {
            lines.push("(archivé)".into());
        }
        lines.join("\n")
    }

    /// The demandeur as a citizen.
    pub fn citizen(&self) -> Citizen {
        let usager = self.usager.as_ref().map(|u| u.email.clone());
        match &self.demandeur {
            Demandeur::PersonnePhysique {
                id,
                nom,
                prenom,
                email,
                ..
            } => Citizen {
                id: id.clone(),
                first_name: prenom.clone(),
                last_name: nom.clone(),
                email: email.clone().or(usager).unwrap_or_default(),
                ..Citizen::default()
            },
            Demandeur::PersonneMorale {
                id,
                siret,
                address,
                entreprise,
            } => Citizen {
                id: id.clone(),
                first_name: String::new(),
                last_name: entreprise.as_ref().map_or_else(
                    || format!("SIRET {siret}"),
                    |e| format!("{} (SIRET {siret})", e.raison_sociale),
                ),
                email: usager.unwrap_or_default(),
                street: address
                    .as_ref()
                    .and_then(|a| a.street_address.clone())
                    .unwrap_or_default(),
                city: address
                    .as_ref()
                    .map(|a| a.city_name.clone())
                    .unwrap_or_default(),
                zip: address
                    .as_ref()
                    .map(|a| a.postal_code.clone())
                    .unwrap_or_default(),
                ..Citizen::default()
            },
        }
    }
}

impl Message {
    pub fn entry(&self, case_id: &str) -> TimelineEntry {
        TimelineEntry {
            id: self.id.clone(),
            case_id: case_id.to_string(),
            kind: EntryKind::Comment,
            text: self.body.clone(),
            author: self.email.clone(),
            at: ids::parse_datetime(&self.created_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dossier(json: serde_json::Value) -> Dossier {
        serde_json::from_value(json).unwrap()
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "id": "RG9zc2llci00Mg==", "number": 42, "state": "en_instruction", "archived": false,
            "dateDepot": "2026-11-02T10:00:00+01:00",
            "dateDerniereModification": "2026-11-20T16:30:00+01:00",
            "datePrevisionnelleDecisionSVASVR": "2027-01-02", "motivation": null,
            "demarche": {"number": 7, "title": "Aide au permis de conduire"},
            "demandeur": {"__typename": "PersonnePhysique", "id": "UFAtMQ==", "civilite": "Mme",
                          "nom": "Martin", "prenom": "Léa", "email": null},
            "usager": {"email": "lea.martin@example.fr"},
            "groupeInstructeur": {"id": "R0ktMw==", "number": 3, "label": "Nord"},
            "instructeurs": [{"id": "SW5zdC0x", "email": "a@guichet.test"},
                             {"id": "SW5zdC0y", "email": "demo@guichet.test"}],
            "champs": [{"label": "Motif", "stringValue": "Premier permis"},
                       {"label": "Vide", "stringValue": ""}]
        })
    }

    #[test]
    fn a_dossier_becomes_a_case_as_its_instructeur_sees_it() {
        let d = dossier(base());
        let case = d.case("SW5zdC0y");
        assert_eq!(case.number, "DS-42");
        assert_eq!(case.assignee.as_deref(), Some("SW5zdC0y"), "mine first");
        assert_eq!(d.case("other").assignee.as_deref(), Some("SW5zdC0x"));
        assert_eq!(case.summary, "Aide au permis de conduire — Léa Martin");
        assert_eq!(case.description, "Motif : Premier permis");
        assert_eq!(case.procedure, "7");
        assert_eq!(case.group.as_deref(), Some("R0ktMw=="));
        assert_eq!(case.due.unwrap().to_string(), "2027-01-02 12:00:00");
        assert_eq!(case.updated.unwrap().to_string(), "2026-11-20 15:30:00");
        assert_eq!(case.resolution_code, "");
        let citizen = d.citizen();
        assert_eq!(citizen.name(), "Léa Martin");
        assert_eq!(
            citizen.email, "lea.martin@example.fr",
            "the usager's when the demandeur has none"
        );
    }

    #[test]
    fn a_company_is_a_citizen_by_its_name_and_siret_and_a_decision_carries_its_motivation() {
        let mut json = base();
        json["state"] = "refuse".into();
        json["motivation"] = "Pièces manquantes".into();
        json["instructeurs"] = serde_json::json!([]);
        json["demandeur"] = serde_json::json!({"__typename": "PersonneMorale", "id": "UE0tMQ==",
            "siret": "12345678900011", "address": {"streetAddress": "1 rue Haute",
            "postalCode": "23000", "cityName": "Guéret"}, "entreprise": {"raisonSociale": "Boulangerie Petit"}});
        let d = dossier(json);
        let case = d.case("me");
        assert_eq!(case.assignee, None);
        assert_eq!(case.resolution_code, "refuse");
        assert_eq!(case.close_notes, "Pièces manquantes");
        let citizen = d.citizen();
        assert_eq!(
            citizen.last_name,
            "Boulangerie Petit (SIRET 12345678900011)"
        );
        assert_eq!(
            (citizen.zip.as_str(), citizen.city.as_str()),
            ("23000", "Guéret")
        );
    }

    #[test]
    fn a_demandeur_of_an_unknown_kind_is_an_error_not_a_panic() {
        let mut json = base();
        json["demandeur"] = serde_json::json!({"__typename": "Robot", "id": "x"});
        assert!(serde_json::from_value::<Dossier>(json).is_err());
    }
}
