//! The demo's démarches (`guichet serve --demo`): three démarches of two
//! groups each, the demo agents as instructeurs (`USER@guichet.test`), and
//! `--demo-dossiers` fictitious dossiers with their champs, annotations,
//! messages, traitements, followers and labels, plus a few deleted ones.
//! The same count and day give the same data. One transaction (the
//! caller's) and prepared statements: 10,000 dossiers take about a second.

use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rusqlite::{Connection, params};
use time::{Date, Duration, OffsetDateTime, Time};

use super::DEMO_TOKEN;
use super::dates::{self, micros};
use super::tokens;
use crate::server::demo::Catalog;

struct DemarcheSpec {
    number: i64,
    title: &'static str,
    description: &'static str,
    sva: bool,
    /// Companies (associations) rather than people.
    morale: bool,
    groupes: [(i64, &'static str); 2],
    champs: [&'static str; 2],
    answers: [&'static [&'static str]; 2],
}

const DEMARCHES: [DemarcheSpec; 3] = [
    DemarcheSpec {
        number: super::DEMO_DEMARCHES[0],
        title: "Demande de carte de stationnement",
        description: "Carte de stationnement résidentiel pour les habitants des zones à stationnement réglementé. Le silence gardé deux mois vaut accord.",
        sva: true,
        morale: false,
        groupes: [(201, "Centre-ville"), (202, "Quartiers périphériques")],
        champs: ["Numéro d'immatriculation", "Adresse du logement"],
        answers: [
            &[
                "AB-123-CD",
                "FG-456-HJ",
                "KL-789-MN",
                "PQ-246-RS",
                "TU-135-VW",
            ],
            &[
                "3 rue de la Mairie",
                "12 place du Marché",
                "7 avenue de la Gare",
                "21 rue des Écoles",
            ],
        ],
    },
    DemarcheSpec {
        number: super::DEMO_DEMARCHES[1],
        title: "Aide au permis de conduire",
        description: "Aide de la commune au financement du permis B pour les jeunes de 18 à 25 ans et les demandeurs d'emploi.",
        sva: false,
        morale: false,
        groupes: [(203, "Jeunes de 18 à 25 ans"), (204, "Demandeurs d'emploi")],
        champs: ["Auto-école", "Montant du devis (euros)"],
        answers: [
            &[
                "Auto-école du Centre",
                "ECF Montagne",
                "Auto-école de la Gare",
                "Conduite Plus",
            ],
            &["1 150", "1 320", "1 480", "1 610", "1 790"],
        ],
    },
    DemarcheSpec {
        number: super::DEMO_DEMARCHES[2],
        title: "Subvention association",
        description: "Subvention de fonctionnement ou de projet pour les associations de la commune.",
        sva: false,
        morale: true,
        groupes: [
            (205, "Associations sportives"),
            (206, "Associations culturelles"),
        ],
        champs: ["Objet de la demande", "Montant demandé (euros)"],
        answers: [
            &[
                "Fonctionnement annuel",
                "Achat de matériel",
                "Organisation d'un tournoi",
                "Festival d'été",
                "Sortie des adhérents",
            ],
            &["500", "1 200", "2 500", "4 000", "7 500"],
        ],
    },
];

const ANNOTATIONS: [(&str, &str); 2] = [("Notes internes", "text"), ("Observations", "textarea")];

const LABELS: [&str; 3] = ["Urgent", "Pièces manquantes", "À signer"];

const NOTES: [&str; 5] = [
    "Pièces vérifiées, dossier complet.",
    "Rappeler l'usager pour confirmer l'adresse.",
    "Justificatif de domicile de plus de trois mois.",
    "Vu avec le responsable : avis favorable.",
    "En attente du retour du service instructeur.",
];

const CITIZEN_MESSAGES: [&str; 4] = [
    "Bonjour, pouvez-vous me dire où en est ma demande ? Merci.",
    "Bonjour, je vous transmets le justificatif demandé.",
    "Bonjour, j'ai changé de numéro de téléphone, merci d'en prendre note.",
    "Bonjour, ma situation a changé depuis le dépôt, faut-il refaire la demande ?",
];

const AGENT_MESSAGES: [&str; 4] = [
    "Bonjour, votre dossier est en cours d'examen. Nous revenons vers vous rapidement.",
    "Bonjour, merci de nous transmettre un justificatif de domicile récent.",
    "Bonjour, nous avons bien reçu votre pièce justificative.",
    "Bonjour, pouvez-vous préciser votre date de naissance dans le formulaire ?",
];

const REFUSALS: [&str; 3] = [
    "Les conditions d'attribution ne sont pas remplies.",
    "Le dossier est incomplet malgré nos relances.",
    "La demande sort du périmètre de l'aide.",
];

const WITHOUT_FOLLOW_UP: [&str; 2] = [
    "Demande retirée par l'usager.",
    "Doublon d'une demande déjà traitée.",
];

const NAF: [&str; 3] = [
    "Activités de clubs de sports",
    "Arts du spectacle vivant",
    "Autres organisations fonctionnant par adhésion volontaire",
];

/// What seeding made, for the start-up report.
pub struct Seeded {
    pub demarches: usize,
    pub dossiers: u32,
    pub deleted: u32,
}

impl std::fmt::Display for Seeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} dossiers ({} deleted) on {} Démarches Simplifiées démarches (token {DEMO_TOKEN})",
            self.dossiers, self.deleted, self.demarches
        )
    }
}

fn email_of(user_name: &str) -> String {
    format!("{user_name}@guichet.test")
}

fn ascii(text: &str) -> String {
    crate::domain::text::fold(&text.replace(['œ', 'Œ'], "oe").replace(['æ', 'Æ'], "ae"))
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Seeds the demo's démarches into empty ds_ tables, on `tx` (the demo's
/// transaction). `day`: the demo's day; nothing is dated after its midnight.
pub fn seed(
    tx: &Connection,
    catalog: &Catalog,
    dossiers: u32,
    day: Date,
) -> rusqlite::Result<Seeded> {
    let now: OffsetDateTime = day.with_time(Time::MIDNIGHT).assume_utc();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(
        u64::from(dossiers) ^ (day.to_julian_day() as u64).rotate_left(32) ^ 0x0d5_5eed,
    );

    // Instructeurs: every demo agent, in the catalogue's order.
    let agents: Vec<&str> = catalog
        .agents
        .iter()
        .map(|a| a.user_name.as_str())
        .collect();
    let mut insert = tx.prepare("INSERT INTO ds_instructeur (id, email) VALUES (?, ?)")?;
    for (i, name) in agents.iter().enumerate() {
        insert.execute(params![i as i64 + 1, email_of(name)])?;
    }
    // Groups: `demo` in the first group of each démarche, `superviseur` in
    // all, the others one group each, in turn.
    let groupes: Vec<i64> = DEMARCHES
        .iter()
        .flat_map(|d| d.groupes.iter().map(|g| g.0))
        .collect();
    let mut members: Vec<Vec<i64>> = vec![Vec::new(); groupes.len()];
    let mut turn = 0usize;
    for (i, name) in agents.iter().enumerate() {
        let id = i as i64 + 1;
        match *name {
            "demo" => (0..groupes.len())
                .step_by(2)
                .for_each(|g| members[g].push(id)),
            "superviseur" => members.iter_mut().for_each(|m| m.push(id)),
            _ => {
                members[turn % groupes.len()].push(id);
                turn += 1;
            }
        }
    }
    let mut demarche = tx.prepare(
        "INSERT INTO ds_demarche (number, title, description, state, sva_svr) VALUES (?, ?, ?, 'publiee', ?)",
    )?;
    let mut groupe =
        tx.prepare("INSERT INTO ds_groupe (number, demarche, label, closed) VALUES (?, ?, ?, 0)")?;
    let mut member =
        tx.prepare("INSERT INTO ds_groupe_instructeur (groupe, instructeur) VALUES (?, ?)")?;
    let mut descriptor = tx.prepare(
        "INSERT INTO ds_champ_descriptor (stable_id, demarche, private, position, label, type)
         VALUES (?, ?, ?, ?, ?, ?)",
    )?;
    let mut label = tx.prepare("INSERT INTO ds_label (id, demarche, name) VALUES (?, ?, ?)")?;
    for (d, spec) in DEMARCHES.iter().enumerate() {
        demarche.execute(params![
            spec.number,
            spec.title,
            spec.description,
            spec.sva.then_some("sva")
        ])?;
        for (g, (number, name)) in spec.groupes.iter().enumerate() {
            groupe.execute(params![number, spec.number, name])?;
            for id in &members[d * 2 + g] {
                member.execute(params![number, id])?;
            }
        }
        let base = (d as i64 + 1) * 1000;
        for (p, name) in spec.champs.iter().enumerate() {
            descriptor.execute(params![
                base + p as i64 + 1,
                spec.number,
                false,
                p as i64,
                name,
                "text"
            ])?;
        }
        for (p, (name, kind)) in ANNOTATIONS.iter().enumerate() {
            descriptor.execute(params![
                base + 100 + p as i64 + 1,
                spec.number,
                true,
                p as i64,
                name,
                kind
            ])?;
        }
        for (l, name) in LABELS.iter().enumerate() {
            label.execute(params![base + l as i64 + 1, spec.number, name])?;
        }
    }

    let mut dossier = tx.prepare(
        "INSERT INTO ds_dossier (number, demarche, groupe, state, archived, depose_at, updated_at,
           en_instruction_at, processed_at, sva_svr_on, motivation, usager_id, usager_email, demandeur,
           civilite, nom, prenom, email, siret, siren, raison_sociale, libelle_naf, address_label,
           street_address, postal_code, city_name)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?;
    let mut champ = tx.prepare(
        "INSERT INTO ds_champ (dossier, stable_id, value, updated_at) VALUES (?, ?, ?, ?)",
    )?;
    let mut message = tx
        .prepare("INSERT INTO ds_message (dossier, body, created_at, email) VALUES (?, ?, ?, ?)")?;
    let mut traitement = tx.prepare(
        "INSERT INTO ds_traitement (dossier, state, event, processed_at, email_agent, motivation)
         VALUES (?, ?, ?, ?, ?, ?)",
    )?;
    let mut follow = tx.prepare("INSERT INTO ds_follow (dossier, instructeur) VALUES (?, ?)")?;
    let mut tag = tx.prepare("INSERT INTO ds_dossier_label (dossier, label) VALUES (?, ?)")?;

    // Dépôts spread over the 120 days before the demo's day, in the order
    // of their numbers, each at its own microsecond.
    let history = Duration::days(120).whole_microseconds() as i64;
    let start = micros(now) - history;
    let slot = (history / i64::from(dossiers.max(1))).max(2);
    let demo_id = agents
        .iter()
        .position(|a| *a == "demo")
        .map(|i| i as i64 + 1);
    let hour = 3_600_000_000i64;
    for i in 0..i64::from(dossiers) {
        let number = 10_001 + i;
        let d = (i % 3) as usize;
        let spec = &DEMARCHES[d];
        let g = usize::from(rng.random_bool(0.5));
        let groupe_number = spec.groupes[g].0;
        let staff = &members[d * 2 + g];
        let depose = start + i * slot + rng.random_range(0..slot / 2);
        let age_days = (micros(now) - depose) / (24 * hour);
        let done = (age_days as f64 / 100.0).min(0.8);
        let state = if rng.random_bool(done) {
            *["accepte", "accepte", "accepte", "refuse", "sans_suite"]
                .choose(&mut rng)
                .unwrap_or(&"accepte")
        } else if rng.random_bool(0.5) {
            "en_instruction"
        } else {
            "en_construction"
        };
        let limit = micros(now) - 1;
        let mut last = depose;
        let agent = staff.choose(&mut rng).copied().or(demo_id).unwrap_or(1);
        // The demo agent takes some of the dossiers of his groups himself.
        let agent = match demo_id {
            Some(demo) if staff.contains(&demo) && rng.random_bool(0.4) => demo,
            _ => agent,
        };
        let agent_email = email_of(agents.get(agent as usize - 1).copied().unwrap_or("demo"));
        let en_instruction = (state != "en_construction")
            .then(|| (depose + rng.random_range(hour..10 * 24 * hour)).min(limit - 2));
        let processed = match (state, en_instruction) {
            ("accepte" | "refuse" | "sans_suite", Some(at)) => {
                Some((at + rng.random_range(hour..20 * 24 * hour)).min(limit - 1))
            }
            _ => None,
        };
        let motivation = match state {
            "refuse" => REFUSALS.choose(&mut rng).map(|s| s.to_string()),
            "sans_suite" => WITHOUT_FOLLOW_UP.choose(&mut rng).map(|s| s.to_string()),
            "accepte" if rng.random_bool(0.3) => {
                Some("Dossier complet, demande accordée.".to_string())
            }
            _ => None,
        };
        last = last
            .max(en_instruction.unwrap_or(0))
            .max(processed.unwrap_or(0));
        let sva_on = (spec.sva && processed.is_none()).then(|| {
            let deposit_day = dates::instant(depose).date();
            dates::format_day(deposit_day + Duration::days(61))
        });
        let archived = processed.is_some() && rng.random_bool(0.25);

        // The demandeur.
        let first = *catalog.first_names.choose(&mut rng).unwrap_or(&"Camille");
        let last_name = *catalog.last_names.choose(&mut rng).unwrap_or(&"Martin");
        let (zip, city) = *catalog
            .cities
            .choose(&mut rng)
            .unwrap_or(&("23000", "Guéret"));
        let street = format!(
            "{} {}",
            rng.random_range(1..120),
            catalog
                .streets
                .choose(&mut rng)
                .unwrap_or(&"rue de la Mairie")
        );
        let person_email = format!(
            "{}.{}{}@example.fr",
            ascii(first),
            ascii(last_name),
            rng.random_range(1..100)
        );
        let usager_id = 5_000 + i;
        if spec.morale {
            let kind = if g == 0 { "sportive" } else { "culturelle" };
            let raison = format!("Association {kind} de {city}");
            let siren = format!("{:09}", 775_000_000 + (i * 7919) % 224_999_999);
            let siret = format!("{siren}{:05}", 10 + i % 90);
            let contact = format!("contact.{}{}@example.fr", ascii(city), i);
            dossier.execute(params![
                number,
                spec.number,
                groupe_number,
                state,
                archived,
                depose,
                last,
                en_instruction,
                processed,
                sva_on,
                motivation,
                usager_id,
                contact,
                "morale",
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>,
                siret,
                siren,
                raison,
                NAF[g * 2 % NAF.len()],
                format!("{street} {zip} {city}"),
                street,
                zip,
                city
            ])?;
        } else {
            let civilite = if rng.random_bool(0.5) { "M" } else { "Mme" };
            dossier.execute(params![
                number,
                spec.number,
                groupe_number,
                state,
                archived,
                depose,
                last,
                en_instruction,
                processed,
                sva_on,
                motivation,
                usager_id,
                person_email,
                "physique",
                civilite,
                last_name.to_uppercase(),
                first,
                person_email,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>
            ])?;
        }
        let usager_email = if spec.morale {
            format!("contact.{}{}@example.fr", ascii(city), i)
        } else {
            person_email.clone()
        };

        // The form: filled at the dépôt.
        let base = (d as i64 + 1) * 1000;
        for (p, answers) in spec.answers.iter().enumerate() {
            let value = answers.choose(&mut rng).copied().unwrap_or_default();
            champ.execute(params![number, base + p as i64 + 1, value, depose])?;
        }

        // The story: dépôt, instruction, decision, and messages between.
        traitement.execute(params![
            number,
            "en_construction",
            "depose",
            depose,
            None::<String>,
            None::<String>
        ])?;
        if let Some(at) = en_instruction {
            traitement.execute(params![
                number,
                "en_instruction",
                "passe_en_instruction",
                at,
                agent_email,
                None::<String>
            ])?;
            follow.execute(params![number, agent])?;
        }
        if let Some(at) = processed {
            traitement.execute(params![
                number,
                state,
                decision_event(state),
                at,
                agent_email,
                motivation
            ])?;
        }
        let end = processed
            .or(en_instruction)
            .unwrap_or(depose + 4 * 24 * hour)
            .min(limit);
        let messages = rng.random_range(0..4);
        for m in 0..messages {
            let at = depose
                + (end - depose).max(1) * (m + 1) / (messages + 1)
                + rng.random_range(0..1_000_000);
            let (body, from) = if m % 2 == 0 {
                (CITIZEN_MESSAGES.choose(&mut rng), usager_email.clone())
            } else {
                (AGENT_MESSAGES.choose(&mut rng), agent_email.clone())
            };
            message.execute(params![number, body.copied().unwrap_or_default(), at, from])?;
            last = last.max(at);
        }
        if en_instruction.is_some() && rng.random_bool(0.35) {
            let at = (last + rng.random_range(60_000_000..48 * hour)).min(limit);
            let note = NOTES.choose(&mut rng).copied().unwrap_or_default();
            champ.execute(params![number, base + 101, note, at])?;
            last = last.max(at);
        }
        if rng.random_bool(0.15) {
            tag.execute(params![
                number,
                base + rng.random_range(1..=LABELS.len() as i64)
            ])?;
        }
        // The last change, a little after the last event.
        let updated = (last + rng.random_range(1_000_000..600_000_000)).min(limit);
        tx.execute(
            "UPDATE ds_dossier SET updated_at = ? WHERE number = ?",
            params![updated, number],
        )?;
    }

    // Deleted dossiers: one for twenty live ones, numbered after them.
    let deleted = dossiers / 20;
    let mut gone = tx.prepare(
        "INSERT INTO ds_deleted_dossier (number, demarche, groupe, state, reason, deleted_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )?;
    for k in 0..i64::from(deleted) {
        let spec = &DEMARCHES[(k % 3) as usize];
        let g = usize::from(rng.random_bool(0.5));
        let (state, reason) = *[
            ("en_construction", "user_request"),
            ("accepte", "expired"),
            ("refuse", "instructeur_request"),
            ("en_construction", "user_removed"),
        ]
        .choose(&mut rng)
        .unwrap_or(&("en_construction", "user_request"));
        let at = micros(now) - rng.random_range(hour..60 * 24 * hour);
        gone.execute(params![
            10_001 + i64::from(dossiers) + k,
            spec.number,
            spec.groupes[g].0,
            state,
            reason,
            at
        ])?;
    }
    tokens::insert(tx, DEMO_TOKEN, None, false, None, true)?;
    Ok(Seeded {
        demarches: DEMARCHES.len(),
        dossiers,
        deleted,
    })
}

fn decision_event(state: &str) -> &'static str {
    match state {
        "refuse" => "refuse",
        "sans_suite" => "classe_sans_suite",
        _ => "accepte",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(dossiers: u32) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        crate::server::schema::migrate(&conn).unwrap();
        let catalog = Catalog::load().unwrap();
        let day = Date::from_calendar_date(2026, time::Month::March, 2).unwrap();
        seed(&conn, &catalog, dossiers, day).unwrap();
        conn
    }

    fn dump(conn: &Connection) -> Vec<String> {
        conn.prepare(
            "SELECT number || state || depose_at || updated_at || groupe || coalesce(nom, raison_sociale)
             FROM ds_dossier ORDER BY number",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    #[test]
    fn the_same_count_and_day_give_the_same_dossiers() {
        assert_eq!(dump(&seeded(90)), dump(&seeded(90)));
    }

    #[test]
    fn demo_has_followed_and_unfollowed_dossiers_and_every_state_exists() {
        let conn = seeded(300);
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        let demo = "(SELECT id FROM ds_instructeur WHERE email = 'demo@guichet.test')";
        let mine = format!(
            "SELECT count(*) FROM ds_dossier d JOIN ds_groupe_instructeur m ON m.groupe = d.groupe AND m.instructeur = {demo}"
        );
        let followed = format!("SELECT count(*) FROM ds_follow WHERE instructeur = {demo}");
        assert!(count(&followed) > 0, "the demo agent follows dossiers");
        assert!(
            count(&mine) > count(&followed),
            "and some of his are unfollowed"
        );
        for state in [
            "en_construction",
            "en_instruction",
            "accepte",
            "refuse",
            "sans_suite",
        ] {
            assert!(
                count(&format!(
                    "SELECT count(*) FROM ds_dossier WHERE state = '{state}'"
                )) > 0,
                "{state}"
            );
        }
        assert!(count("SELECT count(*) FROM ds_dossier WHERE sva_svr_on IS NOT NULL") > 0);
        assert!(count("SELECT count(*) FROM ds_deleted_dossier") > 0);
        // Dépôt order is number order.
        assert_eq!(
            count(
                "SELECT count(*) FROM ds_dossier a JOIN ds_dossier b ON b.number = a.number + 1 WHERE b.depose_at <= a.depose_at"
            ),
            0
        );
        let day_end = micros(
            Date::from_calendar_date(2026, time::Month::March, 2)
                .unwrap()
                .with_time(Time::MIDNIGHT)
                .assume_utc(),
        );
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM ds_dossier WHERE updated_at >= {day_end} OR updated_at < depose_at"
            )),
            0
        );
    }
}
