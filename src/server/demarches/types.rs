//! The contract's output types (src/backend/demarches/schema.graphql), as
//! DS names them: scalars, enums and the objects whose fields are plain
//! data. `Demarche`, `GroupeInstructeurWithDossiers` and `Dossier`, whose
//! fields take arguments or read the database, are in `objects`.

use async_graphql::{
    Enum, ID, InputValueError, InputValueResult, Interface, Scalar, ScalarType, SimpleObject, Value,
};
use time::Date;

use super::dates;

/// `ISO8601DateTime`: microseconds since the epoch inside, Paris time with
/// its offset outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub i64);

#[Scalar(name = "ISO8601DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => dates::parse(text).map(DateTime).ok_or_else(|| {
                InputValueError::custom(format!("\"{text}\" is not an ISO 8601 date-time"))
            }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(dates::paris(self.0))
    }
}

/// `ISO8601Date`: a day, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub Date);

#[Scalar(name = "ISO8601Date")]
impl ScalarType for Day {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => dates::parse_day(text)
                .map(Day)
                .ok_or_else(|| InputValueError::custom(format!("\"{text}\" is not a date"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(dates::format_day(self.0))
    }
}

/// An enum whose GraphQL names are also the text stored in the database.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $(#[graphql(name = $text)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

stored_enum!(DossierState {
    EnConstruction = "en_construction",
    EnInstruction = "en_instruction",
    Accepte = "accepte",
    Refuse = "refuse",
    SansSuite = "sans_suite",
});

impl DossierState {
    /// DS's French label, lower case, as its refusals say it ("Le dossier
    /// est déjà en instruction").
    pub fn label_lower(self) -> &'static str {
        match self {
            Self::EnConstruction => "en construction",
            Self::EnInstruction => "en instruction",
            Self::Accepte => "accepté",
            Self::Refuse => "refusé",
            Self::SansSuite => "classé sans suite",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Accepte | Self::Refuse | Self::SansSuite)
    }
}

stored_enum!(CorrectionReason {
    Incomplete = "incomplete",
    Incorrect = "incorrect",
    Outdated = "outdated",
});

stored_enum!(DemarcheState {
    Brouillon = "brouillon",
    Publiee = "publiee",
    Close = "close",
    Depubliee = "depubliee",
});

stored_enum!(Civilite {
    M = "M",
    Mme = "Mme",
});

stored_enum!(DeletedDossierReason {
    UserRequest = "user_request",
    ManagerRequest = "manager_request",
    UserRemoved = "user_removed",
    ProcedureRemoved = "procedure_removed",
    Expired = "expired",
    UserExpired = "user_expired",
    InstructeurRequest = "instructeur_request",
});

stored_enum!(TraitementEvent {
    Depose = "depose",
    PasseEnInstruction = "passe_en_instruction",
    RepasseEnConstruction = "repasse_en_construction",
    RepasseEnInstruction = "repasse_en_instruction",
    Accepte = "accepte",
    Refuse = "refuse",
    ClasseSansSuite = "classe_sans_suite",
});

#[derive(SimpleObject, Debug, Clone)]
pub struct Profile {
    pub id: ID,
    pub email: String,
}

#[derive(SimpleObject, Debug, Clone, Default)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct DemarcheDescriptor {
    pub id: ID,
    pub number: i32,
    pub title: String,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct GroupeInstructeur {
    pub id: ID,
    pub number: i32,
    pub label: String,
    pub closed: bool,
    pub instructeurs: Vec<Profile>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct DeletedDossier {
    pub id: ID,
    pub number: i32,
    pub state: DossierState,
    pub reason: DeletedDossierReason,
    pub date_supression: DateTime,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct DeletedDossierConnection {
    pub nodes: Option<Vec<Option<DeletedDossier>>>,
    pub page_info: PageInfo,
}

#[derive(Interface, Debug, Clone)]
#[graphql(field(name = "id", ty = "&ID"))]
pub enum Demandeur {
    PersonnePhysique(PersonnePhysique),
    PersonneMorale(PersonneMorale),
}

#[derive(SimpleObject, Debug, Clone)]
pub struct PersonnePhysique {
    pub id: ID,
    pub civilite: Option<Civilite>,
    pub nom: String,
    pub prenom: String,
    pub email: Option<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct PersonneMorale {
    pub id: ID,
    pub siret: String,
    pub libelle_naf: String,
    pub address: Address,
    pub entreprise: Option<Entreprise>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct Address {
    pub label: String,
    pub street_address: Option<String>,
    pub postal_code: String,
    pub city_name: String,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct Entreprise {
    pub raison_sociale: String,
    pub siren: String,
}

#[derive(Interface, Debug, Clone)]
#[graphql(
    field(name = "id", ty = "&ID"),
    field(name = "label", ty = "&String"),
    field(name = "string_value", ty = "&Option<String>"),
    field(name = "updated_at", ty = "&DateTime")
)]
pub enum Champ {
    TextChamp(TextChamp),
}

/// Text and textarea champs alike, as DS serves both.
#[derive(SimpleObject, Debug, Clone)]
pub struct TextChamp {
    pub id: ID,
    pub label: String,
    pub string_value: Option<String>,
    pub updated_at: DateTime,
    pub value: Option<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct Label {
    pub id: ID,
    pub name: String,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct Correction {
    pub reason: CorrectionReason,
    pub date_resolution: Option<DateTime>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct Message {
    pub id: ID,
    pub body: String,
    pub created_at: DateTime,
    pub email: String,
    pub correction: Option<Correction>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct Traitement {
    pub id: ID,
    pub state: DossierState,
    pub event: TraitementEvent,
    pub date_traitement: DateTime,
    pub email_agent_traitant: Option<String>,
    pub motivation: Option<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct ValidationError {
    pub message: String,
}
