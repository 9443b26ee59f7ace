//! The mutation root: each field checks the token's write access (a
//! read-only token's mutation is refused as data, as DS refuses it), then
//! runs its transaction (`workflow`) on the writer connection.

use async_graphql::{Context, Object, Result};

use super::inputs::*;
use super::load;
use super::tokens::Scope;
use super::types::Champ;
use super::workflow::{self, Action, READ_ONLY};

pub struct Mutation;

/// The token's scope, when it may write.
fn writable(ctx: &Context<'_>) -> Result<Option<Scope>> {
    let scope = ctx.data::<Scope>()?;
    Ok((!scope.read_only).then(|| scope.clone()))
}

fn read_only<T>() -> Outcome<T> {
    Outcome::Refused(READ_ONLY.to_string())
}

async fn change_state(
    ctx: &Context<'_>,
    dossier_id: async_graphql::ID,
    instructeur_id: async_graphql::ID,
    action: Action,
) -> Result<Outcome<super::objects::Dossier>> {
    let Some(scope) = writable(ctx)? else {
        return Ok(read_only());
    };
    load::write(ctx, move |conn| {
        workflow::change_state(conn, &scope, &dossier_id, &instructeur_id, &action)
    })
    .await
}

#[Object]
impl Mutation {
    async fn dossier_passer_en_instruction(
        &self,
        ctx: &Context<'_>,
        input: DossierPasserEnInstructionInput,
    ) -> Result<Option<DossierPasserEnInstructionPayload>> {
        let outcome = change_state(
            ctx,
            input.dossier_id,
            input.instructeur_id,
            Action::PasserEnInstruction,
        )
        .await?;
        Ok(Some(DossierPasserEnInstructionPayload::new(
            input.client_mutation_id,
            outcome,
        )))
    }

    async fn dossier_repasser_en_construction(
        &self,
        ctx: &Context<'_>,
        input: DossierRepasserEnConstructionInput,
    ) -> Result<Option<DossierRepasserEnConstructionPayload>> {
        let outcome = change_state(
            ctx,
            input.dossier_id,
            input.instructeur_id,
            Action::RepasserEnConstruction,
        )
        .await?;
        Ok(Some(DossierRepasserEnConstructionPayload::new(
            input.client_mutation_id,
            outcome,
        )))
    }

    async fn dossier_repasser_en_instruction(
        &self,
        ctx: &Context<'_>,
        input: DossierRepasserEnInstructionInput,
    ) -> Result<Option<DossierRepasserEnInstructionPayload>> {
        let outcome = change_state(
            ctx,
            input.dossier_id,
            input.instructeur_id,
            Action::RepasserEnInstruction,
        )
        .await?;
        Ok(Some(DossierRepasserEnInstructionPayload::new(
            input.client_mutation_id,
            outcome,
        )))
    }

    async fn dossier_accepter(
        &self,
        ctx: &Context<'_>,
        input: DossierAccepterInput,
    ) -> Result<Option<DossierAccepterPayload>> {
        let outcome = change_state(
            ctx,
            input.dossier_id,
            input.instructeur_id,
            Action::Accepter(input.motivation),
        )
        .await?;
        Ok(Some(DossierAccepterPayload::new(
            input.client_mutation_id,
            outcome,
        )))
    }

    async fn dossier_refuser(
        &self,
        ctx: &Context<'_>,
        input: DossierRefuserInput,
    ) -> Result<Option<DossierRefuserPayload>> {
        let outcome = change_state(
            ctx,
            input.dossier_id,
            input.instructeur_id,
            Action::Refuser(input.motivation),
        )
        .await?;
        Ok(Some(DossierRefuserPayload::new(
            input.client_mutation_id,
            outcome,
        )))
    }

    async fn dossier_classer_sans_suite(
        &self,
        ctx: &Context<'_>,
        input: DossierClasserSansSuiteInput,
    ) -> Result<Option<DossierClasserSansSuitePayload>> {
        let outcome = change_state(
            ctx,
            input.dossier_id,
            input.instructeur_id,
            Action::ClasserSansSuite(input.motivation),
        )
        .await?;
        Ok(Some(DossierClasserSansSuitePayload::new(
            input.client_mutation_id,
            outcome,
        )))
    }

    async fn dossier_envoyer_message(
        &self,
        ctx: &Context<'_>,
        input: DossierEnvoyerMessageInput,
    ) -> Result<Option<DossierEnvoyerMessagePayload>> {
        let outcome = match writable(ctx)? {
            None => read_only(),
            Some(scope) => {
                let DossierEnvoyerMessageInput {
                    dossier_id,
                    instructeur_id,
                    body,
                    correction,
                    ..
                } = input;
                load::write(ctx, move |conn| {
                    workflow::send_message(
                        conn,
                        &scope,
                        &dossier_id,
                        &instructeur_id,
                        &body,
                        correction,
                    )
                })
                .await?
            }
        };
        Ok(Some(DossierEnvoyerMessagePayload::new(
            input.client_mutation_id,
            outcome,
        )))
    }

    async fn dossier_modifier_annotations(
        &self,
        ctx: &Context<'_>,
        input: DossierModifierAnnotationsInput,
    ) -> Result<Option<DossierModifierAnnotationsPayload>> {
        let outcome = match writable(ctx)? {
            None => read_only(),
            Some(scope) => {
                let annotations: Vec<_> = input
                    .annotations
                    .into_iter()
                    .map(|a| (a.id, a.value))
                    .collect();
                let (dossier_id, instructeur_id) = (input.dossier_id, input.instructeur_id);
                load::write(ctx, move |conn| {
                    workflow::modify_annotations(
                        conn,
                        &scope,
                        &dossier_id,
                        &instructeur_id,
                        &annotations,
                    )
                })
                .await?
            }
        };
        let (annotations, errors): (Option<Vec<Champ>>, Vec<String>) = match outcome {
            Outcome::Done(done) => (Some(done.written), done.refused),
            Outcome::Refused(message) => (None, vec![message]),
        };
        Ok(Some(DossierModifierAnnotationsPayload {
            client_mutation_id: input.client_mutation_id,
            annotations,
            errors: (!errors.is_empty()).then(|| {
                errors
                    .into_iter()
                    .map(|message| super::types::ValidationError { message })
                    .collect()
            }),
        }))
    }

    async fn dossier_bascule_suivi(
        &self,
        ctx: &Context<'_>,
        input: DossierBasculeSuiviInput,
    ) -> Result<Option<DossierBasculeSuiviPayload>> {
        let outcome = match writable(ctx)? {
            None => read_only(),
            Some(scope) => {
                let (dossier_id, instructeur_id, follow) =
                    (input.dossier_id, input.instructeur_id, input.follow);
                load::write(ctx, move |conn| {
                    workflow::follow(conn, &scope, &dossier_id, &instructeur_id, follow)
                })
                .await?
            }
        };
        Ok(Some(match outcome {
            Outcome::Done((dossier, instructeur)) => DossierBasculeSuiviPayload {
                client_mutation_id: input.client_mutation_id,
                dossier: Some(dossier),
                instructeur: Some(instructeur),
                errors: None,
            },
            Outcome::Refused(message) => DossierBasculeSuiviPayload {
                client_mutation_id: input.client_mutation_id,
                dossier: None,
                instructeur: None,
                errors: Some(vec![super::types::ValidationError { message }]),
            },
        }))
    }

    async fn dossier_changer_groupe_instructeur(
        &self,
        ctx: &Context<'_>,
        input: DossierChangerGroupeInstructeurInput,
    ) -> Result<Option<DossierChangerGroupeInstructeurPayload>> {
        let outcome = match writable(ctx)? {
            None => read_only(),
            Some(scope) => {
                let (dossier_id, groupe_id) = (input.dossier_id, input.groupe_instructeur_id);
                load::write(ctx, move |conn| {
                    workflow::change_groupe(conn, &scope, &dossier_id, &groupe_id)
                })
                .await?
            }
        };
        Ok(Some(DossierChangerGroupeInstructeurPayload::new(
            input.client_mutation_id,
            outcome,
        )))
    }
}
