//! The query root and the objects whose fields read the database or take
//! arguments: `Demarche`, `GroupeInstructeurWithDossiers`, `Dossier`.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use time::Date;

use super::errors::{bad_request, hidden, not_found};
use super::ids;
use super::load::{self, Listing, Owner};
use super::tokens::Scope;
use super::types::*;

/// Most nodes in one page, whatever `first` asks (DS's limit).
pub const MAX_PAGE: i64 = 100;

pub struct Query;

fn scope<'a>(ctx: &'a Context<'_>) -> Result<&'a Scope> {
    ctx.data::<Scope>()
}

#[Object]
impl Query {
    async fn demarche(&self, ctx: &Context<'_>, number: i32) -> Result<Demarche> {
        let scope = scope(ctx)?.clone();
        load::read(ctx, move |conn| {
            let found =
                load::demarche(conn, i64::from(number))?.ok_or_else(|| not_found("Demarche"))?;
            if !scope.covers(found.number) {
                return Err(hidden("Demarche").into());
            }
            Ok(found)
        })
        .await
    }

    async fn dossier(&self, ctx: &Context<'_>, number: i32) -> Result<Dossier> {
        let scope = scope(ctx)?.clone();
        load::read(ctx, move |conn| {
            let found =
                load::dossier(conn, i64::from(number))?.ok_or_else(|| not_found("Dossier"))?;
            if !scope.covers(i64::from(found.demarche.number)) {
                return Err(hidden("Dossier").into());
            }
            Ok(found)
        })
        .await
    }

    async fn groupe_instructeur(
        &self,
        ctx: &Context<'_>,
        number: i32,
    ) -> Result<GroupeInstructeurWithDossiers> {
        let scope = scope(ctx)?.clone();
        load::read(ctx, move |conn| {
            let (demarche, groupe) = load::groupe(conn, i64::from(number))?
                .ok_or_else(|| not_found("GroupeInstructeur"))?;
            if !scope.covers(demarche) {
                return Err(hidden("GroupeInstructeurWithDossiers").into());
            }
            Ok(GroupeInstructeurWithDossiers(groupe))
        })
        .await
    }
}

/// `first` capped at [`MAX_PAGE`], `after` decoded.
fn page_arguments(first: Option<i32>, after: Option<String>) -> Result<(i64, Option<(i64, i64)>)> {
    let first = match first {
        Some(n) if n < 0 => {
            return Err(bad_request(
                "Argument \"first\" must be a non-negative integer",
            ));
        }
        Some(n) => i64::from(n).min(MAX_PAGE),
        None => MAX_PAGE,
    };
    let after = match after {
        Some(text) => Some(
            ids::parse_cursor(&text)
                .ok_or_else(|| bad_request("Argument \"after\" is not a valid cursor"))?,
        ),
        None => None,
    };
    Ok((first, after))
}

async fn list_dossiers(
    ctx: &Context<'_>,
    owner: Owner,
    first: Option<i32>,
    after: Option<String>,
    state: Option<DossierState>,
    updated_since: Option<DateTime>,
    archived: Option<bool>,
) -> Result<DossierConnection> {
    let (first, after) = page_arguments(first, after)?;
    let listing = Listing {
        owner,
        first,
        after,
        state,
        updated_since: updated_since.map(|d| d.0),
        archived,
        wants: load::Wants::of(&ctx.look_ahead().field("nodes")),
    };
    load::read(ctx, move |conn| Ok(load::dossier_page(conn, &listing)?)).await
}

async fn list_deleted(
    ctx: &Context<'_>,
    owner: Owner,
    first: Option<i32>,
    after: Option<String>,
    deleted_since: Option<DateTime>,
) -> Result<DeletedDossierConnection> {
    let (first, after) = page_arguments(first, after)?;
    load::read(ctx, move |conn| {
        Ok(load::deleted_page(
            conn,
            owner,
            first,
            after,
            deleted_since.map(|d| d.0),
        )?)
    })
    .await
}

#[derive(Debug, Clone)]
pub struct Demarche {
    pub number: i64,
    pub title: String,
    pub description: String,
    pub state: DemarcheState,
}

#[Object]
impl Demarche {
    async fn id(&self) -> ID {
        ID(ids::encode("Procedure", self.number))
    }
    async fn number(&self) -> i32 {
        self.number as i32
    }
    async fn title(&self) -> &str {
        &self.title
    }
    async fn description(&self) -> &str {
        &self.description
    }
    async fn state(&self) -> DemarcheState {
        self.state
    }

    async fn groupe_instructeurs(
        &self,
        ctx: &Context<'_>,
        closed: Option<bool>,
    ) -> Result<Vec<GroupeInstructeur>> {
        let number = self.number;
        load::read(ctx, move |conn| Ok(load::groupes_of(conn, number, closed)?)).await
    }

    async fn dossiers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        state: Option<DossierState>,
        updated_since: Option<DateTime>,
        archived: Option<bool>,
    ) -> Result<DossierConnection> {
        list_dossiers(
            ctx,
            Owner::Demarche(self.number),
            first,
            after,
            state,
            updated_since,
            archived,
        )
        .await
    }

    async fn deleted_dossiers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        deleted_since: Option<DateTime>,
    ) -> Result<DeletedDossierConnection> {
        list_deleted(
            ctx,
            Owner::Demarche(self.number),
            first,
            after,
            deleted_since,
        )
        .await
    }
}

pub struct GroupeInstructeurWithDossiers(pub GroupeInstructeur);

#[Object]
impl GroupeInstructeurWithDossiers {
    async fn id(&self) -> &ID {
        &self.0.id
    }
    async fn number(&self) -> i32 {
        self.0.number
    }
    async fn label(&self) -> &str {
        &self.0.label
    }
    async fn closed(&self) -> bool {
        self.0.closed
    }
    async fn instructeurs(&self) -> &[Profile] {
        &self.0.instructeurs
    }

    async fn dossiers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        state: Option<DossierState>,
        updated_since: Option<DateTime>,
        archived: Option<bool>,
    ) -> Result<DossierConnection> {
        list_dossiers(
            ctx,
            Owner::Groupe(i64::from(self.0.number)),
            first,
            after,
            state,
            updated_since,
            archived,
        )
        .await
    }

    async fn deleted_dossiers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        deleted_since: Option<DateTime>,
    ) -> Result<DeletedDossierConnection> {
        list_deleted(
            ctx,
            Owner::Groupe(i64::from(self.0.number)),
            first,
            after,
            deleted_since,
        )
        .await
    }
}

#[derive(SimpleObject, Debug, Clone)]
pub struct DossierConnection {
    pub nodes: Option<Vec<Option<Dossier>>>,
    pub page_info: PageInfo,
}

/// A dossier with everything the contract reads of it, loaded at once.
#[derive(Debug, Clone)]
pub struct Dossier {
    pub number: i64,
    pub state: DossierState,
    pub archived: bool,
    pub depose_at: i64,
    pub updated_at: i64,
    pub en_instruction_at: Option<i64>,
    pub processed_at: Option<i64>,
    pub sva_svr_on: Option<Date>,
    pub motivation: Option<String>,
    pub demarche: DemarcheDescriptor,
    pub demandeur: Demandeur,
    pub usager: Profile,
    pub groupe: GroupeInstructeur,
    pub instructeurs: Vec<Profile>,
    pub labels: Vec<Label>,
    pub champs: Vec<TextChamp>,
    pub annotations: Vec<TextChamp>,
    pub messages: Vec<Message>,
    pub traitements: Vec<Traitement>,
}

/// The champs of `list` whose id is `id` (all without one).
fn champs_with(list: &[TextChamp], id: Option<ID>) -> Vec<Champ> {
    let wanted = id.as_deref().and_then(|id| ids::decode_champ(id));
    list.iter()
        .filter(|c| match (&id, wanted) {
            (None, _) => true,
            (Some(_), Some(stable_id)) => ids::decode_champ(&c.id) == Some(stable_id),
            (Some(_), None) => false,
        })
        .cloned()
        .map(Champ::TextChamp)
        .collect()
}

#[Object]
impl Dossier {
    async fn id(&self) -> ID {
        ID(ids::encode("Dossier", self.number))
    }
    async fn number(&self) -> i32 {
        self.number as i32
    }
    async fn state(&self) -> DossierState {
        self.state
    }
    async fn archived(&self) -> bool {
        self.archived
    }
    async fn date_depot(&self) -> DateTime {
        DateTime(self.depose_at)
    }
    async fn date_derniere_modification(&self) -> DateTime {
        DateTime(self.updated_at)
    }
    async fn date_passage_en_instruction(&self) -> Option<DateTime> {
        self.en_instruction_at.map(DateTime)
    }
    async fn date_traitement(&self) -> Option<DateTime> {
        self.processed_at.map(DateTime)
    }
    #[graphql(name = "datePrevisionnelleDecisionSVASVR")]
    async fn date_previsionnelle_decision_sva_svr(&self) -> Option<Day> {
        self.sva_svr_on.map(Day)
    }
    async fn motivation(&self) -> Option<&str> {
        self.motivation.as_deref()
    }
    async fn demarche(&self) -> &DemarcheDescriptor {
        &self.demarche
    }
    async fn demandeur(&self) -> &Demandeur {
        &self.demandeur
    }
    async fn usager(&self) -> &Profile {
        &self.usager
    }
    async fn groupe_instructeur(&self) -> &GroupeInstructeur {
        &self.groupe
    }
    async fn instructeurs(&self) -> &[Profile] {
        &self.instructeurs
    }
    async fn labels(&self) -> &[Label] {
        &self.labels
    }
    async fn champs(&self, id: Option<ID>) -> Vec<Champ> {
        champs_with(&self.champs, id)
    }
    async fn annotations(&self, id: Option<ID>) -> Vec<Champ> {
        champs_with(&self.annotations, id)
    }
    async fn messages(&self, id: Option<ID>) -> Vec<Message> {
        self.messages
            .iter()
            .filter(|m| {
                id.as_ref()
                    .is_none_or(|id| ids_equal("Commentaire", &m.id, id))
            })
            .cloned()
            .collect()
    }
    async fn traitements(&self) -> &[Traitement] {
        &self.traitements
    }
}

/// Two ids of type `kind` naming the same object (padded or not).
fn ids_equal(kind: &str, a: &ID, b: &ID) -> bool {
    match (ids::decode(kind, a), ids::decode(kind, b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}
