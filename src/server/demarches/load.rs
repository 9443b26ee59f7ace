//! Reading the ds_ tables into the contract's objects: a page of dossiers
//! takes one query for the dossiers and one per kind of related rows
//! (champs, messages, followers...) for the whole page, whatever its size.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID};
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

use super::super::db::Db;
use super::dates;
use super::errors::{Failure, from_api};
use super::ids;
use super::objects::{Demarche, Dossier, DossierConnection};
use super::types::*;

/// Runs `work` on a reader connection, under the server's deadline.
pub async fn read<T, F>(ctx: &Context<'_>, work: F) -> async_graphql::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, Failure> + Send + 'static,
{
    let db = ctx.data::<Arc<Db>>()?;
    Ok(db
        .read(move |conn| Ok(work(conn)))
        .await
        .map_err(from_api)??)
}

/// Runs `work` on the writer connection, under the server's deadline.
pub async fn write<T, F>(ctx: &Context<'_>, work: F) -> async_graphql::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
{
    let db = ctx.data::<Arc<Db>>()?;
    Ok(db
        .write(move |conn| Ok(work(conn)))
        .await
        .map_err(from_api)??)
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

pub fn demarche(conn: &Connection, number: i64) -> rusqlite::Result<Option<Demarche>> {
    conn.query_row(
        "SELECT number, title, description, state FROM ds_demarche WHERE number = ?",
        [number],
        |r| {
            Ok(Demarche {
                number: r.get(0)?,
                title: r.get(1)?,
                description: r.get(2)?,
                state: DemarcheState::parse(&r.get::<_, String>(3)?)
                    .unwrap_or(DemarcheState::Publiee),
            })
        },
    )
    .optional()
}

/// The SVA/SVR rule of a démarche, when it has one.
pub fn sva_svr(conn: &Connection, demarche: i64) -> rusqlite::Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT sva_svr FROM ds_demarche WHERE number = ?",
            [demarche],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

pub fn profile(id: i64, email: String) -> Profile {
    Profile {
        id: ID(ids::encode("Instructeur", id)),
        email,
    }
}

/// Members of each of `groupes`, by id.
fn members(conn: &Connection, groupes: &[i64]) -> rusqlite::Result<HashMap<i64, Vec<Profile>>> {
    let mut out: HashMap<i64, Vec<Profile>> = HashMap::new();
    if groupes.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT m.groupe, i.id, i.email FROM ds_groupe_instructeur m
         JOIN ds_instructeur i ON i.id = m.instructeur
         WHERE m.groupe IN ({}) ORDER BY m.groupe, i.id",
        placeholders(groupes.len())
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(groupes))?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?)
            .or_default()
            .push(profile(r.get(1)?, r.get(2)?));
    }
    Ok(out)
}

/// Groups matching `condition` (on `ds_groupe`), with their instructeurs.
fn groupes_where(
    conn: &Connection,
    condition: &str,
    values: Vec<Sql>,
) -> rusqlite::Result<Vec<(i64, GroupeInstructeur)>> {
    let sql = format!(
        "SELECT number, demarche, label, closed FROM ds_groupe WHERE {condition} ORDER BY number"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let found: Vec<(i64, i64, String, bool)> = stmt
        .query_map(params_from_iter(values), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let numbers: Vec<i64> = found.iter().map(|g| g.0).collect();
    let mut members = members(conn, &numbers)?;
    Ok(found
        .into_iter()
        .map(|(number, demarche, label, closed)| {
            (
                demarche,
                GroupeInstructeur {
                    id: ID(ids::encode("GroupeInstructeur", number)),
                    number: number as i32,
                    label,
                    closed,
                    instructeurs: members.remove(&number).unwrap_or_default(),
                },
            )
        })
        .collect())
}

/// A démarche's groups; `closed` keeps only the closed (true) or open
/// (false) ones.
pub fn groupes_of(
    conn: &Connection,
    demarche: i64,
    closed: Option<bool>,
) -> rusqlite::Result<Vec<GroupeInstructeur>> {
    let (condition, values) = match closed {
        None => ("demarche = ?", vec![Sql::Integer(demarche)]),
        Some(c) => (
            "demarche = ? AND closed = ?",
            vec![Sql::Integer(demarche), Sql::Integer(i64::from(c))],
        ),
    };
    Ok(groupes_where(conn, condition, values)?
        .into_iter()
        .map(|(_, g)| g)
        .collect())
}

/// One group and its démarche's number.
pub fn groupe(
    conn: &Connection,
    number: i64,
) -> rusqlite::Result<Option<(i64, GroupeInstructeur)>> {
    Ok(
        groupes_where(conn, "number = ?", vec![Sql::Integer(number)])?
            .into_iter()
            .next(),
    )
}

const DOSSIER_COLUMNS: &str = "number, demarche, groupe, state, archived, depose_at, updated_at,
    en_instruction_at, processed_at, sva_svr_on, motivation, usager_id, usager_email, demandeur,
    civilite, nom, prenom, email, siret, siren, raison_sociale, libelle_naf, address_label,
    street_address, postal_code, city_name";

/// A dossier's own row.
pub struct DossierRow {
    pub number: i64,
    pub demarche: i64,
    pub groupe: i64,
    pub state: DossierState,
    pub archived: bool,
    pub depose_at: i64,
    pub updated_at: i64,
    en_instruction_at: Option<i64>,
    processed_at: Option<i64>,
    sva_svr_on: Option<String>,
    motivation: Option<String>,
    usager_id: i64,
    usager_email: String,
    demandeur: Demandeur,
}

fn text(r: &Row, i: usize) -> rusqlite::Result<String> {
    Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
}

fn dossier_row(r: &Row) -> rusqlite::Result<DossierRow> {
    let number: i64 = r.get(0)?;
    let demandeur = if r.get::<_, String>(13)? == "morale" {
        let raison_sociale = text(r, 20)?;
        let siren = text(r, 19)?;
        Demandeur::PersonneMorale(PersonneMorale {
            id: ID(ids::encode("Etablissement", number)),
            siret: text(r, 18)?,
            libelle_naf: text(r, 21)?,
            address: Address {
                label: text(r, 22)?,
                street_address: r.get(23)?,
                postal_code: text(r, 24)?,
                city_name: text(r, 25)?,
            },
            entreprise: (!raison_sociale.is_empty()).then_some(Entreprise {
                raison_sociale,
                siren,
            }),
        })
    } else {
        Demandeur::PersonnePhysique(PersonnePhysique {
            id: ID(ids::encode("Individual", number)),
            civilite: r
                .get::<_, Option<String>>(14)?
                .as_deref()
                .and_then(Civilite::parse),
            nom: text(r, 15)?,
            prenom: text(r, 16)?,
            email: r.get(17)?,
        })
    };
    Ok(DossierRow {
        number,
        demarche: r.get(1)?,
        groupe: r.get(2)?,
        state: DossierState::parse(&r.get::<_, String>(3)?).unwrap_or(DossierState::EnConstruction),
        archived: r.get(4)?,
        depose_at: r.get(5)?,
        updated_at: r.get(6)?,
        en_instruction_at: r.get(7)?,
        processed_at: r.get(8)?,
        sva_svr_on: r.get(9)?,
        motivation: r.get(10)?,
        usager_id: r.get(11)?,
        usager_email: r.get(12)?,
        demandeur,
    })
}

pub fn dossier_row_by_number(
    conn: &Connection,
    number: i64,
) -> rusqlite::Result<Option<DossierRow>> {
    let sql = format!("SELECT {DOSSIER_COLUMNS} FROM ds_dossier WHERE number = ?");
    conn.prepare_cached(&sql)?
        .query_row([number], dossier_row)
        .optional()
}

/// Rows related to dossiers (none when not `wanted`), grouped by dossier: `sql` selects the
/// dossier's number first, with `{}` for the list of numbers.
fn by_dossier<T>(
    wanted: bool,
    conn: &Connection,
    sql: &str,
    numbers: &[i64],
    mut map: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<HashMap<i64, Vec<T>>> {
    let mut out: HashMap<i64, Vec<T>> = HashMap::new();
    if !wanted {
        return Ok(out);
    }
    let sql = sql.replace("{}", &placeholders(numbers.len()));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(numbers))?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push(map(r)?);
    }
    Ok(out)
}

pub fn champ(stable_id: i64, label: String, value: Option<String>, updated_at: i64) -> TextChamp {
    TextChamp {
        id: ID(ids::encode("Champ", stable_id)),
        label,
        string_value: value.clone(),
        updated_at: DateTime(updated_at),
        value,
    }
}

pub fn message(r: &Row, offset: usize) -> rusqlite::Result<Message> {
    let id: i64 = r.get(offset)?;
    let reason: Option<String> = r.get(offset + 4)?;
    Ok(Message {
        id: ID(ids::encode("Commentaire", id)),
        body: r.get(offset + 1)?,
        created_at: DateTime(r.get(offset + 2)?),
        email: r.get(offset + 3)?,
        correction: reason
            .as_deref()
            .and_then(CorrectionReason::parse)
            .map(|reason| -> rusqlite::Result<Correction> {
                Ok(Correction {
                    reason,
                    date_resolution: r.get::<_, Option<i64>>(offset + 5)?.map(DateTime),
                })
            })
            .transpose()?,
    })
}

pub const MESSAGE_COLUMNS: &str =
    "id, body, created_at, email, correction_reason, correction_resolved_at";

/// The related rows a query selects of its dossiers; the others are not read.
#[derive(Debug, Clone, Copy)]
pub struct Wants {
    pub groupe: bool,
    pub instructeurs: bool,
    pub labels: bool,
    pub champs: bool,
    pub messages: bool,
    pub traitements: bool,
}

impl Wants {
    pub const ALL: Wants = Wants {
        groupe: true,
        instructeurs: true,
        labels: true,
        champs: true,
        messages: true,
        traitements: true,
    };

    /// What the selection of a `Dossier` (fragments included) reads.
    pub fn of(dossier: &async_graphql::Lookahead<'_>) -> Wants {
        let has = |name: &str| dossier.field(name).exists();
        Wants {
            groupe: has("groupeInstructeur"),
            instructeurs: has("instructeurs"),
            labels: has("labels"),
            champs: has("champs") || has("annotations"),
            messages: has("messages"),
            traitements: has("traitements"),
        }
    }
}

/// The objects of `rows`, in the same order, with what `wants` asks of
/// their related rows (the rest left empty).
pub fn dossiers(
    conn: &Connection,
    rows: Vec<DossierRow>,
    wants: Wants,
) -> rusqlite::Result<Vec<Dossier>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let numbers: Vec<i64> = rows.iter().map(|d| d.number).collect();
    let mut demarches: HashMap<i64, DemarcheDescriptor> = HashMap::new();
    for d in &rows {
        if !demarches.contains_key(&d.demarche)
            && let Some(found) = demarche(conn, d.demarche)?
        {
            demarches.insert(
                d.demarche,
                DemarcheDescriptor {
                    id: ID(ids::encode("Procedure", found.number)),
                    number: found.number as i32,
                    title: found.title,
                },
            );
        }
    }
    let mut groupes: HashMap<i64, GroupeInstructeur> = HashMap::new();
    if wants.groupe {
        let mut wanted: Vec<i64> = rows.iter().map(|d| d.groupe).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let condition = format!("number IN ({})", placeholders(wanted.len()));
        for (_, g) in groupes_where(
            conn,
            &condition,
            wanted.iter().map(|n| Sql::Integer(*n)).collect(),
        )? {
            groupes.insert(i64::from(g.number), g);
        }
    }
    let mut followers = by_dossier(
        wants.instructeurs,
        conn,
        "SELECT f.dossier, i.id, i.email FROM ds_follow f JOIN ds_instructeur i ON i.id = f.instructeur
         WHERE f.dossier IN ({}) ORDER BY f.dossier, i.id",
        &numbers,
        |r| Ok(profile(r.get(1)?, r.get(2)?)),
    )?;
    let mut labels = by_dossier(
        wants.labels,
        conn,
        "SELECT dl.dossier, l.id, l.name FROM ds_dossier_label dl JOIN ds_label l ON l.id = dl.label
         WHERE dl.dossier IN ({}) ORDER BY dl.dossier, l.id",
        &numbers,
        |r| {
            Ok(Label {
                id: ID(ids::encode("Label", r.get::<_, i64>(1)?)),
                name: r.get(2)?,
            })
        },
    )?;
    // Every descriptor of the dossier's démarche, filled or not; an empty
    // one reads as last changed at the dépôt.
    let mut champs = by_dossier(
        wants.champs,
        conn,
        "SELECT d.number, cd.private, cd.stable_id, cd.label, c.value, coalesce(c.updated_at, d.depose_at)
         FROM ds_dossier d JOIN ds_champ_descriptor cd ON cd.demarche = d.demarche
         LEFT JOIN ds_champ c ON c.dossier = d.number AND c.stable_id = cd.stable_id
         WHERE d.number IN ({}) ORDER BY d.number, cd.private, cd.position, cd.stable_id",
        &numbers,
        |r| Ok((r.get::<_, bool>(1)?, champ(r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))),
    )?;
    let messages_sql = format!(
        "SELECT dossier, {MESSAGE_COLUMNS} FROM ds_message WHERE dossier IN ({{}}) ORDER BY dossier, created_at, id"
    );
    let mut messages = by_dossier(wants.messages, conn, &messages_sql, &numbers, |r| {
        message(r, 1)
    })?;
    let mut traitements = by_dossier(
        wants.traitements,
        conn,
        "SELECT dossier, id, state, event, processed_at, email_agent, motivation FROM ds_traitement
         WHERE dossier IN ({}) ORDER BY dossier, processed_at, id",
        &numbers,
        |r| {
            Ok(Traitement {
                id: ID(ids::encode("Traitement", r.get::<_, i64>(1)?)),
                state: DossierState::parse(&r.get::<_, String>(2)?)
                    .unwrap_or(DossierState::EnConstruction),
                event: TraitementEvent::parse(&r.get::<_, String>(3)?)
                    .unwrap_or(TraitementEvent::Depose),
                date_traitement: DateTime(r.get(4)?),
                email_agent_traitant: r.get(5)?,
                motivation: r.get(6)?,
            })
        },
    )?;
    Ok(rows
        .into_iter()
        .map(|d| {
            let (annotations, champs): (Vec<_>, Vec<_>) = champs
                .remove(&d.number)
                .unwrap_or_default()
                .into_iter()
                .partition(|(private, _)| *private);
            Dossier {
                number: d.number,
                state: d.state,
                archived: d.archived,
                depose_at: d.depose_at,
                updated_at: d.updated_at,
                en_instruction_at: d.en_instruction_at,
                processed_at: d.processed_at,
                sva_svr_on: d.sva_svr_on.as_deref().and_then(dates::parse_day),
                motivation: d.motivation,
                demarche: demarches
                    .get(&d.demarche)
                    .cloned()
                    .unwrap_or(DemarcheDescriptor {
                        id: ID(ids::encode("Procedure", d.demarche)),
                        number: d.demarche as i32,
                        title: String::new(),
                    }),
                demandeur: d.demandeur,
                usager: Profile {
                    id: ID(ids::encode("User", d.usager_id)),
                    email: d.usager_email,
                },
                groupe: groupes
                    .get(&d.groupe)
                    .cloned()
                    .unwrap_or(GroupeInstructeur {
                        id: ID(ids::encode("GroupeInstructeur", d.groupe)),
                        number: d.groupe as i32,
                        label: String::new(),
                        closed: false,
                        instructeurs: Vec::new(),
                    }),
                instructeurs: followers.remove(&d.number).unwrap_or_default(),
                labels: labels.remove(&d.number).unwrap_or_default(),
                champs: champs.into_iter().map(|(_, c)| c).collect(),
                annotations: annotations.into_iter().map(|(_, c)| c).collect(),
                messages: messages.remove(&d.number).unwrap_or_default(),
                traitements: traitements.remove(&d.number).unwrap_or_default(),
            }
        })
        .collect())
}

pub fn dossier(conn: &Connection, number: i64) -> rusqlite::Result<Option<Dossier>> {
    match dossier_row_by_number(conn, number)? {
        Some(row) => Ok(dossiers(conn, vec![row], Wants::ALL)?.pop()),
        None => Ok(None),
    }
}

/// Whose dossiers a listing reads.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Demarche(i64),
    Groupe(i64),
}

impl Owner {
    fn column(self) -> (&'static str, i64) {
        match self {
            Owner::Demarche(n) => ("demarche", n),
            Owner::Groupe(n) => ("groupe", n),
        }
    }
}

/// `dossiers(first, after, state, updatedSince, archived)`, checked.
#[derive(Debug, Clone)]
pub struct Listing {
    pub owner: Owner,
    pub first: i64,
    pub after: Option<(i64, i64)>,
    pub state: Option<DossierState>,
    pub updated_since: Option<i64>,
    pub archived: Option<bool>,
    /// What the query reads of each node.
    pub wants: Wants,
}

/// A page, as DS pages: ordered by `(updated_at, number)` with
/// `updatedSince` (inclusive), by `(dépôt, number)` without; one more row
/// than asked tells whether a next page exists.
pub fn dossier_page(conn: &Connection, l: &Listing) -> rusqlite::Result<DossierConnection> {
    let (owner, id) = l.owner.column();
    let order = if l.updated_since.is_some() {
        "updated_at"
    } else {
        "depose_at"
    };
    let mut sql = format!("SELECT {DOSSIER_COLUMNS} FROM ds_dossier WHERE {owner} = ?");
    let mut values = vec![Sql::Integer(id)];
    if let Some(state) = l.state {
        sql.push_str(" AND state = ?");
        values.push(Sql::Text(state.as_str().to_string()));
    }
    if let Some(archived) = l.archived {
        sql.push_str(" AND archived = ?");
        values.push(Sql::Integer(i64::from(archived)));
    }
    if let Some(since) = l.updated_since {
        sql.push_str(" AND updated_at >= ?");
        values.push(Sql::Integer(since));
    }
    if let Some((at, number)) = l.after {
        sql.push_str(&format!(" AND ({order}, number) > (?, ?)"));
        values.push(Sql::Integer(at));
        values.push(Sql::Integer(number));
    }
    sql.push_str(&format!(" ORDER BY {order}, number LIMIT ?"));
    let limit = l.first + 1;
    values.push(Sql::Integer(limit));
    let mut rows: Vec<DossierRow> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values), dossier_row)?
        .collect::<Result<_, _>>()?;
    let has_next_page = rows.len() as i64 == limit;
    rows.truncate(l.first as usize);
    let key = |d: &DossierRow| {
        let at = if l.updated_since.is_some() {
            d.updated_at
        } else {
            d.depose_at
        };
        ids::cursor(at, d.number)
    };
    let page_info = PageInfo {
        has_next_page,
        has_previous_page: l.after.is_some(),
        start_cursor: rows.first().map(key),
        end_cursor: rows.last().map(key),
    };
    let nodes = dossiers(conn, rows, l.wants)?
        .into_iter()
        .map(Some)
        .collect();
    Ok(DossierConnection {
        nodes: Some(nodes),
        page_info,
    })
}

/// `deletedDossiers(first, after, deletedSince)`, ordered by
/// `(deletion, id)`.
pub fn deleted_page(
    conn: &Connection,
    owner: Owner,
    first: i64,
    after: Option<(i64, i64)>,
    deleted_since: Option<i64>,
) -> rusqlite::Result<DeletedDossierConnection> {
    let (column, id) = owner.column();
    let mut sql = format!(
        "SELECT id, number, state, reason, deleted_at FROM ds_deleted_dossier WHERE {column} = ?"
    );
    let mut values = vec![Sql::Integer(id)];
    if let Some(since) = deleted_since {
        sql.push_str(" AND deleted_at >= ?");
        values.push(Sql::Integer(since));
    }
    if let Some((at, row)) = after {
        sql.push_str(" AND (deleted_at, id) > (?, ?)");
        values.push(Sql::Integer(at));
        values.push(Sql::Integer(row));
    }
    sql.push_str(" ORDER BY deleted_at, id LIMIT ?");
    let limit = first + 1;
    values.push(Sql::Integer(limit));
    let mut rows: Vec<(i64, DeletedDossier)> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values), |r| {
            let id: i64 = r.get(0)?;
            Ok((
                id,
                DeletedDossier {
                    id: ID(ids::encode("DeletedDossier", id)),
                    number: r.get::<_, i64>(1)? as i32,
                    state: DossierState::parse(&r.get::<_, String>(2)?)
                        .unwrap_or(DossierState::EnConstruction),
                    reason: DeletedDossierReason::parse(&r.get::<_, String>(3)?)
                        .unwrap_or(DeletedDossierReason::UserRequest),
                    date_supression: DateTime(r.get(4)?),
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    let has_next_page = rows.len() as i64 == limit;
    rows.truncate(first as usize);
    let key = |(id, d): &(i64, DeletedDossier)| ids::cursor(d.date_supression.0, *id);
    let page_info = PageInfo {
        has_next_page,
        has_previous_page: after.is_some(),
        start_cursor: rows.first().map(key),
        end_cursor: rows.last().map(key),
    };
    Ok(DeletedDossierConnection {
        nodes: Some(rows.into_iter().map(|(_, d)| Some(d)).collect()),
        page_info,
    })
}
