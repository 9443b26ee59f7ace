//! The contract's mutation inputs and payloads, as DS names them.

use async_graphql::{ID, InputObject, OneofObject, SimpleObject};

use super::objects::Dossier;
use super::types::{Champ, CorrectionReason, Message, Profile, ValidationError};

/// The fields every state change takes.
macro_rules! state_input {
    ($(#[$doc:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$doc])*
        #[derive(InputObject, Debug)]
        pub struct $name {
            pub client_mutation_id: Option<String>,
            pub dossier_id: ID,
            pub instructeur_id: ID,
            $($extra)*
            /// Accepted and ignored: the reference back-end sends no mail.
            #[graphql(default_with = "Some(false)")]
            pub disable_notification: Option<bool>,
        }
    };
}

state_input!(DossierPasserEnInstructionInput {});
state_input!(DossierRepasserEnConstructionInput {});
state_input!(DossierRepasserEnInstructionInput {});
state_input!(DossierAccepterInput {
    pub motivation: Option<String>,
});
state_input!(DossierRefuserInput {
    pub motivation: String,
});
state_input!(DossierClasserSansSuiteInput {
    pub motivation: String,
});

#[derive(InputObject, Debug)]
pub struct DossierEnvoyerMessageInput {
    pub client_mutation_id: Option<String>,
    pub dossier_id: ID,
    pub instructeur_id: ID,
    pub body: String,
    pub correction: Option<CorrectionReason>,
}

#[derive(OneofObject, Debug)]
pub enum AnnotationValueInput {
    Text(String),
    Textarea(String),
}

#[derive(InputObject, Debug)]
pub struct AnnotationInput {
    pub id: ID,
    pub value: AnnotationValueInput,
}

#[derive(InputObject, Debug)]
pub struct DossierModifierAnnotationsInput {
    pub client_mutation_id: Option<String>,
    pub dossier_id: ID,
    pub instructeur_id: ID,
    pub annotations: Vec<AnnotationInput>,
}

#[derive(InputObject, Debug)]
pub struct DossierBasculeSuiviInput {
    pub client_mutation_id: Option<String>,
    pub dossier_id: ID,
    pub instructeur_id: ID,
    #[graphql(default = true)]
    pub follow: bool,
}

#[derive(InputObject, Debug)]
pub struct DossierChangerGroupeInstructeurInput {
    pub client_mutation_id: Option<String>,
    pub dossier_id: ID,
    pub groupe_instructeur_id: ID,
}

/// What a mutation gives back: its object, or DS's refusal as data.
pub enum Outcome<T> {
    Done(T),
    Refused(String),
}

fn errors(message: Option<String>) -> Option<Vec<ValidationError>> {
    message.map(|message| vec![ValidationError { message }])
}

/// A payload `{ clientMutationId dossier errors }`.
macro_rules! dossier_payload {
    ($($name:ident),+ $(,)?) => {$(
        #[derive(SimpleObject)]
        pub struct $name {
            pub client_mutation_id: Option<String>,
            pub dossier: Option<Dossier>,
            pub errors: Option<Vec<ValidationError>>,
        }

        impl $name {
            pub fn new(client_mutation_id: Option<String>, outcome: Outcome<Dossier>) -> Self {
                let (dossier, refusal) = match outcome {
                    Outcome::Done(d) => (Some(d), None),
                    Outcome::Refused(message) => (None, Some(message)),
                };
                $name { client_mutation_id, dossier, errors: errors(refusal) }
            }
        }
    )+};
}

dossier_payload!(
    DossierPasserEnInstructionPayload,
    DossierRepasserEnConstructionPayload,
    DossierRepasserEnInstructionPayload,
    DossierAccepterPayload,
    DossierRefuserPayload,
    DossierClasserSansSuitePayload,
    DossierChangerGroupeInstructeurPayload,
);

#[derive(SimpleObject)]
pub struct DossierEnvoyerMessagePayload {
    pub client_mutation_id: Option<String>,
    pub message: Option<Message>,
    pub errors: Option<Vec<ValidationError>>,
}

impl DossierEnvoyerMessagePayload {
    pub fn new(client_mutation_id: Option<String>, outcome: Outcome<Message>) -> Self {
        match outcome {
            Outcome::Done(message) => DossierEnvoyerMessagePayload {
                client_mutation_id,
                message: Some(message),
                errors: None,
            },
            Outcome::Refused(refusal) => DossierEnvoyerMessagePayload {
                client_mutation_id,
                message: None,
                errors: errors(Some(refusal)),
            },
        }
    }
}

#[derive(SimpleObject)]
pub struct DossierModifierAnnotationsPayload {
    pub client_mutation_id: Option<String>,
    pub annotations: Option<Vec<Champ>>,
    pub errors: Option<Vec<ValidationError>>,
}

#[derive(SimpleObject)]
pub struct DossierBasculeSuiviPayload {
    pub client_mutation_id: Option<String>,
    pub dossier: Option<Dossier>,
    pub instructeur: Option<Profile>,
    pub errors: Option<Vec<ValidationError>>,
}
