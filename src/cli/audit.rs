//! `guichet audit`: the agent's own record of what was done at this
//! workstation (actions and their outcomes, contact details shown, queues
//! exported), read from the local store; works offline.

use clap::Args;

use super::output::print_json;
use super::session::{Global, Outcome, Session};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// How many of the newest lines to show.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

pub fn audit(global: &Global, args: AuditArgs) -> Outcome {
    let session = Session::open(global)?;
    let lang = session.lang();
    let trail = session.store.audit_trail(args.limit)?;
    if args.json {
        print_json(&trail, lang);
        return Ok(());
    }
    if trail.is_empty() {
        println!("{}", lang.t("cli.audit_empty"));
    }
    for line in &trail {
        println!(
            "{}  {:<10} {:<10} {}",
            line.at, line.case, line.event, line.detail
        );
    }
    Ok(())
}
