//! The queries and mutations Guichet sends to Démarches Simplifiées, valid
//! against our subset of its schema (`schema.graphql`; the reference
//! back-end's tests run each of them). Typed on our side by serde structs
//! (`wire.rs`): a GraphQL client crate would add build time on two cores
//! for a dozen fixed documents.

/// What a case is made of; the demandeur becomes the citizen.
pub const DOSSIER_FIELDS: &str = "fragment DossierFields on Dossier {
  id number state archived dateDepot dateDerniereModification
  datePassageEnInstruction dateTraitement datePrevisionnelleDecisionSVASVR motivation
  demarche { number title }
  demandeur {
    __typename id
    ... on PersonnePhysique { civilite nom prenom email }
    ... on PersonneMorale { siret address { streetAddress postalCode cityName } entreprise { raisonSociale } }
  }
  usager { email }
  groupeInstructeur { id number label }
  instructeurs { id email }
  champs { label stringValue }
}";

/// A démarche's title and its instructeur groups, with who is in each.
pub const DEMARCHE: &str = "query Demarche($demarche: Int!) {
  demarche(number: $demarche) {
    id number title state
    groupeInstructeurs { id number label closed instructeurs { id email } }
  }
}";

/// A page of a group's dossiers: by (update time, number) from `since`
/// when given, in a state when given.
pub const GROUP_PAGE: &str = "query GroupPage($group: Int!, $first: Int!, $after: String, $since: ISO8601DateTime, $state: DossierState) {
  groupeInstructeur(number: $group) {
    dossiers(first: $first, after: $after, updatedSince: $since, state: $state) {
      pageInfo { hasNextPage endCursor }
      nodes { ...DossierFields }
    }
  }
}";

/// Only the ids of a group's dossiers: what the agent can see now.
pub const GROUP_IDS: &str = "query GroupIds($group: Int!, $after: String) {
  groupeInstructeur(number: $group) {
    dossiers(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id }
    }
  }
}";

/// Dossiers of a group deleted since a time.
pub const GROUP_DELETED: &str =
    "query GroupDeleted($group: Int!, $since: ISO8601DateTime, $after: String) {
  groupeInstructeur(number: $group) {
    deletedDossiers(first: 100, after: $after, deletedSince: $since) {
      pageInfo { hasNextPage endCursor }
      nodes { id number }
    }
  }
}";

/// One dossier.
pub const DOSSIER: &str = "query Dossier($number: Int!) {
  dossier(number: $number) { ...DossierFields }
}";

/// A dossier's messages and private annotations: its timeline.
pub const TIMELINE: &str = "query Timeline($number: Int!) {
  dossier(number: $number) {
    id
    messages { id body createdAt email }
    annotations { __typename id label stringValue }
  }
}";

/// What every mutation on a dossier answers.
const STATE_PAYLOAD: &str = "{ dossier { ...DossierFields } errors { message } }";

/// A mutation answering with the dossier, by its name in DS's API.
pub fn dossier_mutation(name: &str, input_type: &str) -> String {
    format!(
        "mutation Move($input: {input_type}!) {{ {name}(input: $input) {STATE_PAYLOAD} }}\n{DOSSIER_FIELDS}"
    )
}

pub const SEND_MESSAGE: &str = "mutation SendMessage($input: DossierEnvoyerMessageInput!) {
  dossierEnvoyerMessage(input: $input) { message { id body createdAt email } errors { message } }
}";

pub const SET_ANNOTATIONS: &str = "mutation SetAnnotations($input: DossierModifierAnnotationsInput!) {
  dossierModifierAnnotations(input: $input) { annotations { id label stringValue } errors { message } }
}";

/// The documents that use the dossier fragment, with it appended.
pub fn with_fields(document: &str) -> String {
    format!("{document}\n{DOSSIER_FIELDS}")
}

/// Every document, named, for the reference back-end's tests.
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("Demarche", DEMARCHE.to_string()),
        ("GroupPage", with_fields(GROUP_PAGE)),
        ("GroupIds", GROUP_IDS.to_string()),
        ("GroupDeleted", GROUP_DELETED.to_string()),
        ("Dossier", with_fields(DOSSIER)),
        ("Timeline", TIMELINE.to_string()),
        ("SendMessage", SEND_MESSAGE.to_string()),
        ("SetAnnotations", SET_ANNOTATIONS.to_string()),
    ]
    .into_iter()
    .chain(
        super::moves::ALL
            .iter()
            .map(|m| ("Move", dossier_mutation(m.mutation, m.input))),
    )
    .collect()
}
