//! `guichet new`: intake at the counter from the command line (the console's
//! form does the same with `N`), and `guichet receipt`: what the citizen
//! takes away, as text, in a file, or printed through `lp`.

use clap::Args;

use super::session::{Failure, Global, Outcome, Session, code, text_argument};
use crate::app::intake::{self, CitizenChoice, Intake, NewCitizen};
use crate::app::{Remote, submit};
use crate::domain::Citizen;
use crate::domain::text::fold;
use crate::i18n::Lang;
use crate::store::{AuditEvent, Store};

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("who").required(true))]
pub struct NewArgs {
    /// A citizen known on this workstation: a name, an e-mail or a phone
    /// number that finds exactly one.
    #[arg(long, group = "who")]
    citizen: Option<String>,
    /// A citizen met at the counter: "FIRST LAST".
    #[arg(long, group = "who", value_name = "FIRST LAST")]
    new_citizen: Option<String>,
    /// The new citizen's e-mail (an e-mail or a phone is needed).
    #[arg(long, requires = "new_citizen")]
    email: Option<String>,
    #[arg(long, requires = "new_citizen")]
    phone: Option<String>,
    #[arg(long, requires = "new_citizen")]
    street: Option<String>,
    #[arg(long, requires = "new_citizen")]
    city: Option<String>,
    #[arg(long, requires = "new_citizen")]
    zip: Option<String>,
    /// The procedure's code (see the catalogue in the console, or the
    /// error message, which lists them).
    #[arg(long)]
    procedure: String,
    #[arg(long)]
    summary: String,
    /// The description, or - to read it from standard input.
    #[arg(long)]
    description: Option<String>,
    /// walk-in (at the counter, the default), phone, email or web.
    #[arg(long, default_value = "walk-in")]
    channel: String,
    /// 1 (critical) to 4 (low).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=4))]
    priority: u8,
    /// Put the case in this group's queue, assigned to nobody (default:
    /// the procedure's group, assigned to you).
    #[arg(long)]
    group: Option<String>,
    /// Print the case as `guichet case --json` does.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ReceiptArgs {
    /// The case's number (a provisional NEW-n too).
    number: String,
    /// Write the receipt to this file instead of the terminal.
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
    /// Print it on the default printer (through `lp`).
    #[arg(long, conflicts_with = "out")]
    print: bool,
}

pub fn new(global: &Global, args: NewArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let lang = session.lang();
    let citizen = match (&args.citizen, &args.new_citizen) {
        (Some(query), _) => CitizenChoice::Known(one_citizen(&session.store, query, lang)?.id),
        (None, Some(full_name)) => {
            let (first, last) = full_name
                .trim()
                .split_once(char::is_whitespace)
                .unwrap_or((full_name.trim(), ""));
            let new = NewCitizen {
                first_name: first.to_string(),
                last_name: last.trim().to_string(),
                email: args.email.clone().unwrap_or_default(),
                phone: args.phone.clone().unwrap_or_default(),
                street: args.street.clone().unwrap_or_default(),
                city: args.city.clone().unwrap_or_default(),
                zip: args.zip.clone().unwrap_or_default(),
            };
            let near = intake::near_duplicates(&session.store, &new)?;
            if !near.is_empty() {
                eprintln!(
                    "{}",
                    lang.f("cli.new_near_duplicate", &[("citizens", &listed(&near))])
                );
            }
            CitizenChoice::New(new)
        }
        (None, None) => return Err(Failure::usage(lang.t("cli.new_who"))),
    };
    let group = args
        .group
        .as_deref()
        .map(|g| session.store.find_group(g).map(|g| g.id))
        .transpose()?;
    let procedure = known_procedure(&session.store, &args.procedure, lang)?;
    let due = intake::procedures(&session.store, lang)?
        .iter()
        .find(|p| p.code == procedure)
        .and_then(|p| intake::proposed_due(p, session.store.clock().now()));
    let description = match &args.description {
        Some(text) => text_argument(text, lang)?,
        None => String::new(),
    };
    let intake = Intake {
        citizen,
        procedure,
        summary: args.summary.clone(),
        description,
        channel: args.channel.clone(),
        priority: args.priority,
        due,
        assign_to_me: group.is_none(),
        group,
    };
    let queued = intake::queue(&mut session.store, intake, lang)?;
    let offline = session.offline;
    let (name, profile) = (&session.name, &session.profile);
    let id = queued.id.clone();
    let submitted = submit::submit_queued(
        &mut session.store,
        || Remote::connect(name, profile),
        queued,
        offline,
    )?;
    if args.json {
        let now = session.store.action(&id)?;
        let detail = crate::app::view::case_detail(&session.store, &now.case_id, lang)?;
        super::output::print_json(&super::cases::case_json(&detail, None), lang);
        return Ok(());
    }
    super::actions::say(submitted, lang)
}

/// The one citizen `query` names: several, or none, is an error that lists
/// the candidates (so that the agent picks, and never records twice).
fn one_citizen(store: &Store, query: &str, lang: Lang) -> Result<Citizen, Failure> {
    let found = intake::find_citizens(store, query, 20)?;
    let words: Vec<String> = fold(query).split_whitespace().map(str::to_string).collect();
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    let named: Vec<Citizen> = found
        .iter()
        .filter(|c| {
            let line = fold(&format!("{} {} {}", c.name(), c.email, c.phone));
            let phone: String = c.phone.chars().filter(char::is_ascii_digit).collect();
            words.iter().all(|w| line.contains(w.as_str()))
                || (digits.len() >= 6 && phone.contains(&digits))
        })
        .cloned()
        .collect();
    match named.as_slice() {
        [one] => Ok(one.clone()),
        [] if found.is_empty() => Err(Failure::new(
            code::NOT_FOUND,
            lang.f("cli.new_no_citizen", &[("query", &query)]),
        )),
        [] => Err(Failure::new(
            code::NOT_FOUND,
            lang.f(
                "cli.new_no_citizen_closest",
                &[
                    ("query", &query),
                    ("citizens", &listed(&found[..found.len().min(5)])),
                ],
            ),
        )),
        several => Err(Failure::usage(lang.f(
            "cli.new_several_citizens",
            &[("query", &query), ("citizens", &listed(several))],
        ))),
    }
}

/// Citizens one per line: name, e-mail, phone (for the agent to choose).
fn listed(citizens: &[Citizen]) -> String {
    citizens
        .iter()
        .map(|c| format!("\n  {} <{}> {}", c.name(), c.email, c.phone))
        .collect()
}

/// The procedure's code, from a code or a label as typed.
fn known_procedure(store: &Store, typed: &str, lang: Lang) -> Result<String, Failure> {
    let procedures = intake::procedures(store, lang)?;
    let wanted = fold(typed.trim());
    if let Some(p) = procedures
        .iter()
        .find(|p| fold(&p.code) == wanted || fold(&p.label) == wanted)
    {
        return Ok(p.code.clone());
    }
    let known: Vec<String> = procedures
        .iter()
        .map(|p| format!("{} ({})", p.code, p.label))
        .collect();
    Err(Failure::usage(lang.f(
        "cli.new_procedure_unknown",
        &[("procedure", &typed), ("known", &known.join(", "))],
    )))
}

pub fn receipt(global: &Global, args: ReceiptArgs) -> Outcome {
    let session = Session::open(global)?;
    let lang = session.lang();
    let receipt = intake::receipt(&session.store, &args.number, lang)?;
    let text = receipt.text(lang);
    // The receipt names the citizen: on the trail, like any showing.
    if session
        .store
        .record(AuditEvent::Reveal, &receipt.number, "guichet receipt")
        .is_err()
    {
        tracing::warn!("a receipt could not be written to the audit trail");
    }
    if let Some(path) = &args.out {
        crate::private_files::replace(path, text.as_bytes()).map_err(|e| {
            Failure::new(
                code::ERROR,
                lang.f(
                    "cli.receipt_unwritable",
                    &[("path", &path.display()), ("error", &e)],
                ),
            )
        })?;
        println!(
            "{}",
            lang.f("cli.receipt_written", &[("path", &path.display())])
        );
        return Ok(());
    }
    if args.print {
        return print(&text, &receipt.number, lang);
    }
    print!("{text}");
    Ok(())
}

/// Hands the text to the system's `lp` (CUPS), which queues it for the
/// default printer.
fn print(text: &str, number: &str, lang: Lang) -> Outcome {
    use std::io::Write;
    let child = std::process::Command::new("lp")
        .arg("-t")
        .arg(number)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::new(
                code::ERROR,
                lang.f("cli.receipt_no_lp", &[("number", &number)]),
            ));
        }
        Err(e) => {
            return Err(Failure::new(
                code::ERROR,
                lang.f("cli.receipt_print_failed", &[("error", &e)]),
            ));
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes()).map_err(|e| {
            Failure::new(
                code::ERROR,
                lang.f("cli.receipt_print_failed", &[("error", &e)]),
            )
        })?;
    }
    match child.wait() {
        Ok(status) if status.success() => {
            println!("{}", lang.f("cli.receipt_printed", &[("number", &number)]));
            Ok(())
        }
        Ok(status) => Err(Failure::new(
            code::ERROR,
            lang.f("cli.receipt_print_failed", &[("error", &status)]),
        )),
        Err(e) => Err(Failure::new(
            code::ERROR,
            lang.f("cli.receipt_print_failed", &[("error", &e)]),
        )),
    }
}
