//! `guichet cases` and `guichet case`: reading, from the local store.

use clap::Args;
use serde_json::json;

use super::output::{cell, csv_field, describe, print_json};
use super::session::{Failure, Global, Outcome, Session, runtime};
use crate::app::inbox::{self, Inbox};
use crate::app::view::{CaseDetail, CaseLine, case_detail, case_line};
use crate::domain::EntryKind;
use crate::domain::search::{Search, View};
use crate::domain::timestamp::or_empty;
use crate::store::AuditEvent;
use crate::store::{OutboxState, Sort};
use crate::sync::pull;

#[derive(Debug, Args)]
pub struct CasesArgs {
    /// A ready-made view.
    #[arg(long, value_enum, default_value = "open")]
    view: View,
    /// Search: free words and filters (state: prio: assignee:me|none|USER group: procedure: due:<7d|overdue).
    #[arg(long, short)]
    query: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: usize,
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    #[arg(long)]
    csv: bool,
    /// The one inbox: the cases of every profile whose `inbox` is not
    /// false (the chosen or default profile first), each with its `source`.
    #[arg(long)]
    inbox: bool,
}

#[derive(Debug, Args)]
pub struct CaseArgs {
    /// The case number, e.g. CS0001234.
    number: String,
    #[arg(long)]
    json: bool,
}

pub fn cases(global: &Global, args: CasesArgs) -> Outcome {
    let search =
        Search::parse(args.query.as_deref().unwrap_or("")).map_err(|e| Failure::usage(e.0))?;
    let search = search.with(args.view.filters());
    let (lines, lang) = if args.inbox {
        inbox_lines(global, &search, args.limit)?
    } else {
        let session = Session::open(global)?;
        let hits = session.store.search(&search, args.limit)?;
        let lang = session.lang();
        let lines: Vec<CaseLine> = hits
            .iter()
            .map(|hit| case_line(&session.store, &hit.row, lang))
            .collect::<Result<_, _>>()?;
        (lines, lang)
    };
    let source = |l: &CaseLine| {
        if args.inbox {
            format!("{} ", cell(&l.source, 12))
        } else {
            String::new()
        }
    };
    if args.json {
        print_json(&lines, lang);
    } else if args.csv {
        println!(
            "{}number,state,state_label,priority,citizen,procedure,summary,assignee,group,due,updated,pending",
            if args.inbox { "source," } else { "" }
        );
        for l in &lines {
            let source = args.inbox.then(|| l.source.clone());
            let fields = source.into_iter().chain([
                l.number.clone(),
                l.state.clone(),
                l.state_label.clone(),
                l.priority.to_string(),
                l.citizen.clone(),
                l.procedure_label.clone(),
                l.summary.clone(),
                l.assignee.clone(),
                l.group.clone(),
                or_empty::text(l.due),
                or_empty::text(l.updated),
                l.pending.to_string(),
            ]);
            println!(
                "{}",
                fields.map(|f| csv_field(&f)).collect::<Vec<_>>().join(",")
            );
        }
    } else if lines.is_empty() {
        println!("{}", lang.t("cli.cases_none"));
    } else {
        for l in &lines {
            let mark = if l.attention {
                "!"
            } else if l.pending > 0 {
                "*"
            } else {
                " "
            };
            println!(
                "{mark}{}{} {} P{} {} {} {} {} {}",
                source(l),
                l.number,
                cell(&l.state_label, 14),
                l.priority,
                cell(&l.due.map(|d| d.date().to_string()).unwrap_or_default(), 10),
                cell(&l.citizen, 22),
                cell(&l.procedure_label, 24),
                cell(&l.assignee, 12),
                cell(&l.summary, 40)
            );
        }
        println!("{}", lang.f("cli.cases_count", &[("count", &lines.len())]));
    }
    Ok(())
}

/// The cases of every profile in the inbox, most urgent first (merged as
/// the console merges its lists), in the first profile's language.
fn inbox_lines(
    global: &Global,
    search: &Search,
    limit: usize,
) -> Result<(Vec<CaseLine>, crate::i18n::Lang), Failure> {
    let inbox = Inbox::open_all(global.profile.as_deref(), |name| {
        super::unlock::open_workspace(Some(name))
    })?;
    let lang = inbox.workspaces[0].lang();
    let stores: Vec<&crate::store::Store> = inbox.workspaces.iter().map(|w| &w.store).collect();
    let page = inbox::search_page(&stores, search, Sort::Urgency, false, (0, limit), false)?;
    let lines = page
        .hits
        .iter()
        .map(|(i, hit)| {
            let workspace = &inbox.workspaces[*i];
            case_line(&workspace.store, &hit.row, lang).map(|mut line| {
                line.source = workspace.name.clone();
                line
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((lines, lang))
}

pub fn case(global: &Global, args: CaseArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let local = session.store.case(&args.number)?;
    // Online, refresh the case and its timeline first; offline (or if the
    // link is down) the local copy is shown as it is.
    let mut stale = None;
    if !session.offline {
        let refreshed = session.backend().and_then(|backend| {
            runtime()?
                .block_on(pull::refresh_case(&*backend, &mut session.store, &local.id))
                .map_err(Failure::from)
        });
        if let Err(e) = refreshed {
            stale = Some(e.message);
        }
    }
    let lang = session.lang();
    let detail = case_detail(&session.store, &local.id, lang)?;
    // Shown to the agent: kept for another retention period. A failure
    // only shortens how long the case is kept, so the case is shown anyway.
    if session.store.touch_case(&local.id).is_err() {
        tracing::warn!("could not stamp an opened case for retention");
    }
    // The command prints the citizen's contact details: on the trail.
    if detail.citizen.is_some()
        && session
            .store
            .record(AuditEvent::Reveal, &detail.line.number, "guichet case")
            .is_err()
    {
        tracing::warn!("a reveal could not be written to the audit trail");
    }
    let CaseDetail {
        line,
        citizen,
        timeline,
        queued,
        ..
    } = &detail;
    if args.json {
        print_json(&case_json(&detail, stale.as_deref()), lang);
        return Ok(());
    }
    if let Some(reason) = &stale {
        println!("{}", lang.f("cli.case_stale", &[("reason", reason)]));
    }
    println!(
        "{}  {}  [{}]  P{}",
        line.number, line.summary, line.state_label, line.priority
    );
    {
        let l = line;
        let assignee = if l.assignee.is_empty() {
            "-"
        } else {
            &l.assignee
        };
        println!(
            "{}",
            lang.f(
                "cli.case_assignment",
                &[
                    ("procedure", &l.procedure_label),
                    ("group", &l.group),
                    ("assignee", &assignee),
                ],
            )
        );
    }
    let due = line.due.map_or_else(|| "-".to_string(), |d| d.to_string());
    let opened = or_empty::text(detail.opened);
    println!(
        "{}",
        lang.f(
            "cli.case_dates",
            &[
                ("opened", &opened),
                ("due", &due),
                ("channel", &detail.channel),
            ],
        )
    );
    if let Some(c) = citizen {
        println!(
            "{}",
            lang.f(
                "cli.case_citizen",
                &[
                    ("name", &c.name()),
                    ("email", &c.email),
                    ("phone", &c.phone),
                    ("street", &c.street),
                    ("zip", &c.zip),
                    ("city", &c.city),
                ],
            )
        );
    }
    println!();
    println!("{}", detail.description);
    println!();
    for e in timeline {
        let kind = lang.t(match e.kind {
            EntryKind::Comment => "cli.case_public",
            EntryKind::WorkNote => "cli.case_internal",
        });
        println!(
            "{}",
            lang.f(
                "cli.case_entry",
                &[
                    ("at", &or_empty::text(e.at)),
                    ("author", &e.author),
                    ("kind", &kind),
                    ("text", &e.text),
                ],
            )
        );
    }
    for q in queued {
        let state = lang.t(match q.state {
            OutboxState::Conflict => "cli.case_conflict",
            OutboxState::Failed => "cli.case_refused",
            _ => "cli.case_queued",
        });
        println!("[{state}] {} {}", q.created_at, describe(&q.action, lang));
    }
    Ok(())
}

/// A case as `case --json` prints it: the list's fields at the top level,
/// then the details, the timeline and the queue.
pub(super) fn case_json(detail: &CaseDetail, stale: Option<&str>) -> serde_json::Value {
    let CaseDetail {
        line,
        citizen,
        timeline,
        queued,
        ..
    } = detail;
    let entries: Vec<_> = timeline
        .iter()
        .map(|e| json!({"kind": e.kind, "text": e.text, "author": e.author, "at": or_empty::text(e.at), "queued": false}))
        .chain(queued.iter().filter_map(|q| {
            q.action.journal().map(|(kind, text)| {
                json!({"kind": kind, "text": text, "author": "", "at": q.created_at, "queued": true, "queue_state": q.state})
            })
        }))
        .collect();
    // The case's list fields at the top level, then the details.
    let mut out = serde_json::to_value(line).unwrap_or_default();
    if let Some(map) = out.as_object_mut() {
        let details = json!({
            "description": detail.description,
            "resolution_code": detail.resolution_code,
            "close_notes": detail.close_notes,
            "opened": or_empty::text(detail.opened),
            "channel": detail.channel,
            "version": detail.version,
            "citizen_details": citizen.as_ref().map(|c| json!({
                "name": c.name(), "email": c.email, "phone": c.phone,
                "street": c.street, "city": c.city, "zip": c.zip,
            })),
            "timeline": entries,
            "queue": queued.iter().map(super::output::queue_json).collect::<Vec<_>>(),
            "stale": stale,
        });
        if let Some(details) = details.as_object() {
            map.extend(details.clone());
        }
    }
    out
}
