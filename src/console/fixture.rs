//! A console state as an agent sees it on a morning at the counter, for
//! the screens' snapshots and the update tests. The clock is fixed.

use std::collections::BTreeMap;

use time::macros::datetime;

use crate::app::inbox::{Ref, Sourced};
use crate::app::view::{CaseDetail, CaseLine};
use crate::console::keymap::Keymap;
use crate::console::msg::{Counts, DashboardData, Reference};
use crate::console::state::*;
use crate::domain::{
    Action, Case, Choice, ChoiceList, Citizen, EntryKind, Stage, TimelineEntry, Timestamp,
};
use crate::i18n::Lang;
use crate::store::{AuditLine, OutboxEntry, OutboxState};

fn choice(value: &str, en: &str, fr: &str, stage: Option<Stage>) -> Choice {
    Choice {
        list: ChoiceList::State,
        value: value.into(),
        label_en: en.into(),
        label_fr: fr.into(),
        sequence: 0,
        stage,
    }
}

pub fn line(i: usize, citizen: &str, summary: &str, lang: Lang) -> CaseLine {
    let awaiting = i.is_multiple_of(3);
    let state_label = match (awaiting, lang) {
        (true, Lang::En) => "Awaiting Info",
        (true, Lang::Fr) => "En attente d'informations",
        (false, Lang::En) => "Open",
        (false, Lang::Fr) => "Ouvert",
    };
    CaseLine {
        source: PROFILE.into(),
        id: format!("id{i}"),
        number: format!("CS{:07}", 1000 + i),
        state: if i.is_multiple_of(3) { "18" } else { "10" }.into(),
        state_label: state_label.into(),
        stage: Some(if i.is_multiple_of(3) {
            "awaiting_info"
        } else {
            "open"
        }),
        priority: (i % 4 + 1) as u8,
        citizen: citizen.into(),
        procedure: "passeport".into(),
        procedure_label: "Passeport".into(),
        summary: summary.into(),
        assignee: if i.is_multiple_of(2) {
            "demo".into()
        } else {
            String::new()
        },
        assignee_name: if i.is_multiple_of(2) {
            "Camille Démo".into()
        } else {
            String::new()
        },
        group: "État civil".into(),
        due: Some(at(&format!("2026-12-{:02} 12:00:00", (i % 27) + 1))),
        updated: Some(at("2026-11-27 09:30:00")),
        pending: u32::from(i == 1),
        attention: i == 2,
    }
}

/// A back-end time, written as it does.
pub fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("a timestamp")
}

pub fn entry(seq: i64, state: OutboxState, action: Action) -> OutboxEntry {
    OutboxEntry {
        seq,
        id: format!("a{seq}"),
        case_id: "id1".into(),
        case_number: "CS0001001".into(),
        action,
        base_version: Some("3".into()),
        created_at: at("2026-11-28 09:55:00"),
        state,
        attempts: 2,
        next_attempt_at: 0,
        last_error: (state == OutboxState::Failed)
            .then(|| "case CS0001001: the transition Closed → Open is not allowed".into()),
        theirs: (state == OutboxState::Conflict).then(|| Case {
            priority: 2,
            state: "18".into(),
            ..Case::default()
        }),
        settled_by: None,
        keyless_sends: 0,
        doubtful: false,
        first_sent_at: None,
        first_sent_backend_at: None,
        seen: BTreeMap::new(),
    }
}

pub const NAMES: [&str; 8] = [
    "José Lefèvre",
    "Thérèse Ferreira",
    "Amadou Diop",
    "Marie-Hélène N'Diaye",
    "Lucas Picard",
    "Chloé Martin",
    "Sarah Julien",
    "Olivier Weber",
];

/// The fixture's profile.
pub const PROFILE: &str = "mairie-condom";

/// A case of the fixture's profile.
pub fn case(id: &str) -> Ref {
    Ref::new(PROFILE, id)
}

/// A session as an agent sees it on a morning at the counter.
pub fn fixture(lang: Lang, theme: Theme) -> State {
    let mut state = State::new(
        lang,
        theme,
        false,
        Keymap::defaults(),
        Setting {
            profile: PROFILE.into(),
            user: "camille.demo".into(),
            host: "guichet.example.fr".into(),
            demo: false,
        },
    );
    state.now = datetime!(2026-11-28 10:00 UTC);
    state.sources[0].link = Link::Online;
    state.sources[0].counts = Counts {
        outbox: vec![(OutboxState::Pending, 2), (OutboxState::Conflict, 1)],
        cases: 5000,
        last_pull: Some(at("2026-11-28 09:57:00")),
    };
    state.list.lines = (0..60)
        .map(|i| {
            line(
                i,
                NAMES[i % NAMES.len()],
                "Renouvellement de passeport avant un voyage",
                lang,
            )
        })
        .collect();
    state.list.total = 296;
    state.list.loaded = true;
    state.list.selected = 1;
    state.list.marked.insert(case("id3"));
    state.sources[0].reference = Reference {
        me: Some("u1".into()),
        users: Vec::new(),
        groups: Vec::new(),
        states: vec![
            choice("1", "New", "Nouveau", Some(Stage::New)),
            choice("10", "Open", "Ouvert", Some(Stage::Open)),
            choice(
                "18",
                "Awaiting Info",
                "En attente d'informations",
                Some(Stage::AwaitingInfo),
            ),
            choice("6", "Resolved", "Résolu", Some(Stage::Resolved)),
        ],
        resolutions: Vec::new(),
        procedures: Vec::new(),
        actions: crate::backend::Actions::ALL,
        flow: crate::backend::StateFlow::default(),
    };
    state.case.id = Some(case("id1"));
    state.case.detail = Some(Box::new(CaseDetail {
        line: line(1, "José Lefèvre", "Renouvellement de passeport avant un voyage", lang),
        description: "Bonjour, mon passeport expire en janvier et je pars au Sénégal en février.\nPuis-je avoir un rendez-vous rapidement ?".into(),
        channel: "walk_in".into(),
        channel_label: "Guichet".into(),
        opened: Some(at("2026-11-20 08:00:00")),
        resolution_code: String::new(),
        close_notes: String::new(),
        version: "3".into(),
        citizen: Some(Citizen {
            id: "p1".into(),
            first_name: "José".into(),
            last_name: "Lefèvre".into(),
            email: "jose.lefevre@example.fr".into(),
            phone: "06 12 34 56 78".into(),
            street: "12 rue Gambetta".into(),
            city: "Condom".into(),
            zip: "32100".into(),
        }),
        timeline: vec![
            TimelineEntry {
                id: "t1".into(),
                case_id: "id1".into(),
                kind: EntryKind::Comment,
                text: "Merci de joindre une photo d'identité récente.".into(),
                author: "demo".into(),
                at: Some(at("2026-11-21 14:02:00")),
            },
            TimelineEntry {
                id: "t2".into(),
                case_id: "id1".into(),
                kind: EntryKind::WorkNote,
                text: "Pièces vérifiées, dossier complet.".into(),
                author: "demo".into(),
                at: Some(at("2026-11-26 16:40:00")),
            },
        ],
        queued: vec![
            entry(7, OutboxState::Pending, Action::Comment {
                text: "Votre rendez-vous est fixé au 3 décembre à 9 h.".into(),
            }),
            entry(8, OutboxState::Conflict, Action::Priority { priority: 1 }),
        ],
    }));
    state.outbox.entries = [
        entry(
            7,
            OutboxState::Pending,
            Action::Comment {
                text: "Votre rendez-vous est fixé au 3 décembre à 9 h.".into(),
            },
        ),
        entry(8, OutboxState::Conflict, Action::Priority { priority: 1 }),
        entry(
            9,
            OutboxState::Failed,
            Action::SetState {
                state: "10".into(),
                resolution_code: None,
                close_notes: None,
            },
        ),
    ]
    .into_iter()
    .map(|e| Sourced::new(PROFILE, e))
    .collect();
    state.outbox.selected = 1;
    state.outbox.loaded = true;
    // The trail, newest first, as the query thread gives it.
    let trail = |seq: i64, at_: &str, case: &str, event: &str, detail: &str| AuditLine {
        seq,
        at: at(at_),
        case: case.into(),
        event: event.into(),
        detail: detail.into(),
    };
    state.audit.lines = vec![
        trail(6, "2026-11-28 09:58:00", "CS0001001", "reveal", ""),
        trail(
            5,
            "2026-11-28 09:56:00",
            "CS0001001",
            "conflict",
            "priority",
        ),
        trail(
            4,
            "2026-11-28 09:55:00",
            "CS0001001",
            "queued",
            "comment (48 characters)",
        ),
        trail(3, "2026-11-28 09:40:00", "", "export", "2 actions"),
        trail(
            2,
            "2026-11-28 09:31:00",
            "CS0001010",
            "failed",
            "the transition Closed → Open is not allowed",
        ),
        trail(
            1,
            "2026-11-28 09:30:00",
            "CS0001010",
            "queued",
            "state → 10",
        ),
    ];
    state.audit.asked = 200;
    state.audit.complete = true;
    state.audit.loaded = true;
    state.dashboard = Some(DashboardData {
        by_state: vec![
            ("Nouveau".into(), 120),
            ("Ouvert".into(), 310),
            ("En attente".into(), 85),
        ],
        resolved_per_day: vec![0, 2, 5, 3, 0, 0, 4, 6, 2, 1, 0, 0, 3, 2],
        overdue: (0..3)
            .map(|i| line(i, NAMES[i], "Acte de naissance", lang))
            .collect(),
    });
    state
}

/// The same morning with a second back-end in the inbox, a Démarches
/// Simplifiées profile: every other row is one of its files, its link is
/// down, one of its actions waits.
pub fn inbox_fixture(lang: Lang, theme: Theme) -> State {
    let mut state = fixture(lang, theme);
    state.set_sources(&[PROFILE.to_string(), DS.to_string()]);
    let first = fixture(lang, theme);
    state.sources[0].link = Link::Online;
    state.sources[0].counts = first.sources[0].counts.clone();
    state.sources[0].reference = first.sources[0].reference.clone();
    state.sources[1].link = Link::Unreachable("connection refused".into());
    state.sources[1].counts = Counts {
        outbox: vec![(OutboxState::Pending, 1)],
        cases: 800,
        last_pull: Some(at("2026-11-28 09:20:00")),
    };
    state.sources[1].reference = Reference {
        actions: crate::backend::Actions {
            open: false,
            priority: false,
            assign_others: true,
            work_note: true,
        },
        ..first.sources[0].reference.clone()
    };
    for (i, l) in state.list.lines.iter_mut().enumerate() {
        if i % 2 == 1 {
            l.source = DS.into();
            l.number = format!("DS-{}", 20_400 + i);
            l.procedure_label = "Aide au logement".into();
        }
    }
    state.list.total = 1096;
    state.list.marked = [Ref::new(DS, "id3")].into();
    let mut waiting = entry(
        3,
        OutboxState::Pending,
        Action::Comment {
            text: "Pièce reçue, merci.".into(),
        },
    );
    waiting.case_number = "DS-20401".into();
    waiting.created_at = at("2026-11-28 09:50:00");
    state.outbox.entries.insert(0, Sourced::new(DS, waiting));
    state.outbox.selected = 0;
    if let Some(overdue) = state.dashboard.as_mut().map(|d| &mut d.overdue)
        && let Some(first) = overdue.get_mut(1)
    {
        first.source = DS.into();
        first.number = "DS-20401".into();
    }
    state
}

/// The second profile of the inbox fixture.
pub const DS: &str = "ds-occitanie";

/// Citizens known at this workstation, as the citizen search finds them.
pub fn known_citizens() -> Vec<Citizen> {
    let c = |id: &str, first: &str, last: &str, email: &str, phone: &str, zip: &str, city: &str| {
        Citizen {
            id: id.into(),
            first_name: first.into(),
            last_name: last.into(),
            email: email.into(),
            phone: phone.into(),
            street: "12 rue Gambetta".into(),
            city: city.into(),
            zip: zip.into(),
        }
    };
    vec![
        c(
            "p1",
            "José",
            "Lefèvre",
            "jose.lefevre@example.fr",
            "06 12 34 56 78",
            "32100",
            "Condom",
        ),
        c(
            "p2",
            "Josée",
            "Lefebvre",
            "josee.l@example.org",
            "05 62 28 00 11",
            "32000",
            "Auch",
        ),
    ]
}

/// The procedure catalogue and the channels, in the agent's language.
pub fn catalogue(lang: Lang) -> crate::console::intake::Catalogue {
    use crate::app::intake::Procedure;
    let fr = lang.is_french();
    let p = |code: &str, en: &str, fr_label: &str, days: Option<u32>, docs: &[&str]| Procedure {
        code: code.into(),
        label: if fr { fr_label } else { en }.into(),
        group: Some("g1".into()),
        due_days: days,
        documents: docs.iter().map(|d| d.to_string()).collect(),
        follow_up: None,
    };
    let mut procedures = vec![
        p(
            "passeport",
            "Passport",
            "Passeport",
            Some(30),
            &["Photo", "Justificatif de domicile"],
        ),
        p(
            "cni",
            "National identity card",
            "Carte nationale d'identité",
            Some(30),
            &[],
        ),
        p(
            "naissance",
            "Birth certificate",
            "Acte de naissance",
            Some(10),
            &[],
        ),
        p("voirie", "Roads and pavements", "Voirie", None, &[]),
    ];
    procedures.sort_by(|a, b| a.label.cmp(&b.label));
    let ch = |v: &str, en: &str, fr_label: &str| {
        (v.to_string(), if fr { fr_label } else { en }.to_string())
    };
    crate::console::intake::Catalogue {
        procedures,
        channels: vec![
            ch("walk-in", "Walk-in", "Guichet"),
            ch("phone", "Phone", "Téléphone"),
            ch("mail", "Mail", "Courrier"),
            ch("web", "Web", "En ligne"),
        ],
    }
}

/// What the queue answers for a new case queued offline.
pub fn opened_entry() -> OutboxEntry {
    let mut e = entry(
        12,
        OutboxState::Pending,
        Action::Comment {
            text: String::new(),
        },
    );
    e.case_id = "local-3".into();
    e.case_number = "NEW-3".into();
    e.base_version = None;
    e.attempts = 0;
    e
}

/// The receipt of that case.
pub fn receipt(lang: Lang) -> crate::app::intake::Receipt {
    crate::app::intake::Receipt {
        number: "NEW-3".into(),
        provisional: true,
        citizen: "José Lefèvre".into(),
        procedure: if lang.is_french() {
            "Passeport"
        } else {
            "Passport"
        }
        .into(),
        opened: Some(at("2026-11-28 10:00:00")),
        deadline: Some(at("2026-12-28 10:00:00")),
        documents: vec![
            "Photo d'identité de moins de six mois".into(),
            "Justificatif de domicile de moins d'un an".into(),
            "Ancien passeport".into(),
        ],
        follow_up: None,
    }
}
