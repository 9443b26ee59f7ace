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

/// One document asking the same of several objects, each under its alias
/// (`a0`, `a1`…) with its own variables (`{i}` in `each` and `body` is the
/// index): one round trip where there would be one per group or dossier,
/// which on a 300 ms link is most of a sync's time.
pub fn batched(name: &str, shared: &str, each: &str, body: &str, count: usize) -> String {
    let mut variables: Vec<String> = Vec::new();
    if !shared.is_empty() {
        variables.push(shared.to_string());
    }
    let mut fields = String::new();
    for i in 0..count {
        let i = i.to_string();
        variables.push(each.replace("{i}", &i));
        fields.push_str(&format!("  a{i}: {}\n", body.replace("{i}", &i)));
    }
    format!("query {name}({}) {{\n{fields}}}", variables.join(", "))
}

/// Pages of several groups' dossiers (`$g{i}` the group, `$a{i}` the
/// cursor, `$s{i}` a state or null), from `$since` when given.
pub fn group_pages(count: usize) -> String {
    with_fields(&batched(
        "GroupPages",
        "$first: Int!, $since: ISO8601DateTime",
        "$g{i}: Int!, $a{i}: String, $s{i}: DossierState",
        "groupeInstructeur(number: $g{i}) { dossiers(first: $first, after: $a{i}, updatedSince: $since, state: $s{i}) { pageInfo { hasNextPage endCursor } nodes { ...DossierFields } } }",
        count,
    ))
}

/// The first page of dossiers deleted since `$since` in several groups.
pub fn groups_deleted(count: usize) -> String {
    batched(
        "GroupsDeleted",
        "$since: ISO8601DateTime",
        "$g{i}: Int!",
        "groupeInstructeur(number: $g{i}) { deletedDossiers(first: 100, deletedSince: $since) { pageInfo { hasNextPage endCursor } nodes { id number } } }",
        count,
    )
}

/// The timelines of several dossiers.
pub fn timelines(count: usize) -> String {
    batched(
        "Timelines",
        "",
        "$n{i}: Int!",
        "dossier(number: $n{i}) { id messages { id body createdAt email } annotations { __typename id label stringValue } }",
        count,
    )
}

/// Several démarches with their groups and instructeurs.
pub fn demarches(count: usize) -> String {
    batched(
        "Demarches",
        "",
        "$d{i}: Int!",
        "demarche(number: $d{i}) { id number title state groupeInstructeurs { id number label closed instructeurs { id email } } }",
        count,
    )
}

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
        ("GroupIds", GROUP_IDS.to_string()),
        ("GroupDeleted", GROUP_DELETED.to_string()),
        ("Dossier", with_fields(DOSSIER)),
        ("Timeline", TIMELINE.to_string()),
        ("SendMessage", SEND_MESSAGE.to_string()),
        ("SetAnnotations", SET_ANNOTATIONS.to_string()),
        ("GroupPages", group_pages(2)),
        ("GroupsDeleted", groups_deleted(2)),
        ("Timelines", timelines(2)),
        ("Demarches", demarches(2)),
    ]
    .into_iter()
    .chain(
        super::moves::ALL
            .iter()
            .map(|m| ("Move", dossier_mutation(m.mutation, m.input))),
    )
    .collect()
}
