//! `update`: the one place where messages become state changes and effects.
//! Nothing here does I/O: reads, writes and syncs leave as [`Effect`]s that
//! the run loop hands to the workers.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use time::Duration;

use super::command::{Command, Context};
use super::keymap::{Key, KeyCodeName};
use super::msg::{Msg, SyncEvent, Trouble};
use super::state::*;
use super::ui;
use super::worker::{Intent, ListQuery, Query, QueueTab, SyncCommand, Write};
use super::{audit, intake, lock};
use crate::app::inbox::Ref;
use crate::domain::Stage;
use crate::domain::text::fold;
use crate::store::Sort;

#[derive(Debug)]
pub enum Effect {
    Query(Query),
    Write(Write),
    Sync(SyncCommand),
    /// Hand the editor's text to $EDITOR (the run loop suspends the screen).
    ExternalEditor,
    /// Check the lock's password (slow: on a blocking thread).
    Unlock(lock::Password),
}

/// How long a short-lived message stays.
const MESSAGE_FOR: Duration = Duration::seconds(6);

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Term(Event::Key(key)) if key.kind != KeyEventKind::Release => {
            lock::touch(state);
            on_key(state, key, &mut fx);
            state.dirty = true;
        }
        Msg::Term(Event::Resize(w, h)) => {
            state.size = (w, h);
            ensure_window(state, &mut fx);
            state.dirty = true;
        }
        Msg::Term(Event::Paste(text)) => {
            lock::touch(state);
            if state.lock.is_locked() {
                lock::on_paste(state, &text);
            } else {
                on_paste(state, &text, &mut fx);
            }
            state.dirty = true;
        }
        Msg::Term(_) => {}
        Msg::TermGone(reason) => {
            tracing::warn!(%reason, "terminal input ended");
            state.quit = true;
        }
        Msg::Tick => {
            lock::on_tick(state);
            if let Some(m) = &state.message
                && m.until <= state.now
            {
                state.message = None;
                state.dirty = true;
            }
        }
        Msg::Listed { generation, result } => {
            if generation != state.list.generation {
                return fx;
            }
            match result {
                Ok(page) => {
                    let list = &mut state.list;
                    list.offset = page.offset;
                    list.lines = page.lines;
                    if let Some(total) = page.total {
                        list.total = total;
                    }
                    list.fuzzy = page.fuzzy;
                    list.error = None;
                    list.loaded = true;
                    list.stale = false;
                    // The case under the cursor stays under it when rows
                    // moved (a sync changed the list).
                    if let Some(case) = list.follow.take()
                        && let Some(at) = list
                            .lines
                            .iter()
                            .position(|l| l.id == case.id && l.source == case.source)
                    {
                        list.selected = list.offset + at;
                    }
                    let last = (list.total as usize).saturating_sub(1);
                    if list.selected > last {
                        list.selected = last;
                    }
                    ensure_window(state, &mut fx);
                }
                Err(e) if e == "interrupted" => {}
                Err(e) => {
                    state.list.error = Some(e);
                    state.list.loaded = true;
                    state.list.stale = false;
                    state.list.lines.clear();
                    state.list.total = 0;
                }
            }
            state.dirty = true;
        }
        Msg::CaseLoaded { generation, result } => {
            if generation != state.case.generation {
                return fx;
            }
            match result {
                Ok(detail) => {
                    state.case.detail = Some(detail);
                    state.case.error = None;
                }
                Err(e) => state.case.error = Some(e),
            }
            state.dirty = true;
        }
        Msg::OutboxLoaded(result) => {
            match result {
                Ok(entries) => {
                    // The action under the cursor stays under it.
                    let was = state
                        .outbox
                        .entries
                        .get(state.outbox.selected)
                        .map(|e| (e.source.clone(), e.id.clone()));
                    state.outbox.selected = was
                        .and_then(|(source, id)| {
                            entries
                                .iter()
                                .position(|e| e.id == id && e.source == source)
                        })
                        .unwrap_or(state.outbox.selected)
                        .min(entries.len().saturating_sub(1));
                    state.outbox.entries = entries;
                    state.outbox.loaded = true;
                }
                Err(e) => say(state, e, true),
            }
            state.dirty = true;
        }
        Msg::Counts(Ok(all)) => {
            for counts in all {
                if let Some(source) = state.source_mut(&counts.source)
                    && source.counts != counts.item
                {
                    source.counts = counts.item;
                    state.dirty = true;
                }
            }
        }
        Msg::Counts(Err(e)) | Msg::Reference(Err(e)) | Msg::Dashboard(Err(e)) => {
            say(state, e, true);
            state.dirty = true;
        }
        Msg::Reference(Ok(all)) => {
            for reference in all {
                if let Some(source) = state.source_mut(&reference.source) {
                    source.reference = reference.item;
                }
            }
            state.dirty = true;
        }
        Msg::Dashboard(Ok(data)) => {
            state.dashboard = Some(data);
            state.dirty = true;
        }
        Msg::Acted(results) => {
            state.writes_in_flight = state.writes_in_flight.saturating_sub(1);
            let done = results.iter().filter(|r| r.is_ok()).count();
            // The editor that sent this keeps its text until it is queued.
            if let Some(Popup::Editor(editor)) = &mut state.popup
                && editor.sending
            {
                if done == results.len() {
                    state.popup = None;
                } else {
                    editor.sending = false;
                }
            }
            let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
            if let Some(first) = errors.first() {
                let text = if results.len() == 1 {
                    (*first).clone()
                } else {
                    state.f(
                        "msg.acted_partly",
                        &[
                            ("done", &done),
                            ("failed", &errors.len()),
                            ("reason", first),
                        ],
                    )
                };
                say(state, text, true);
            } else if let [Ok(entry)] = results.as_slice() {
                let text = state.f(
                    "msg.queued_one",
                    &[
                        ("number", &entry.case_number),
                        ("what", &state.describe(&entry.source, &entry.action)),
                    ],
                );
                say(state, text, false);
            } else {
                let text = state.f("msg.queued_many", &[("count", &done)]);
                say(state, text, false);
            }
            if done > 0 {
                state.list.marked.clear();
            }
            refresh(state, &mut fx);
            state.dirty = true;
        }
        Msg::Decided(result) => {
            state.writes_in_flight = state.writes_in_flight.saturating_sub(1);
            match result {
                Ok(number) => {
                    let text = state.f("msg.decided", &[("number", &number)]);
                    say(state, text, false);
                }
                Err(e) => say(state, e, true),
            }
            refresh(state, &mut fx);
            state.dirty = true;
        }
        Msg::Sync { source, event } => {
            on_sync(state, &source, event, &mut fx);
            state.dirty = true;
        }
        Msg::AuditLoaded { limit, result } => audit::on_loaded(state, limit, result),
        Msg::Recorded => {
            state.writes_in_flight = state.writes_in_flight.saturating_sub(1);
            // A reveal written after the trail on screen was read.
            if state.screen == Screen::Audit {
                audit::request(state, &mut fx);
            }
        }
        Msg::PasswordChecked(result) => lock::on_checked(state, result),
        Msg::Intake(msg) => intake::on_msg(state, msg, &mut fx),
    }
    fx
}

/// What a back-end's sync loop did: its link and figures, and the lists
/// read again when cases changed.
fn on_sync(state: &mut State, name: &str, event: SyncEvent, fx: &mut Vec<Effect>) {
    let offline = state.offline;
    let Some(source) = state.source_mut(name) else {
        return;
    };
    match event {
        SyncEvent::Started => source.syncing = true,
        SyncEvent::WorkingSet => refresh(state, fx),
        SyncEvent::Finished {
            applied,
            conflicts,
            failed,
            cases_changed,
            numbered,
        } => {
            source.syncing = false;
            if !offline {
                source.link = Link::Online;
            }
            let unloaded = source.reference.states.is_empty();
            // In the inbox, a sync's words say whose sync it was.
            let whose = if state.is_inbox() {
                format!("{} · ", state.source(name).tag)
            } else {
                String::new()
            };
            for (provisional, number) in &numbered {
                super::intake::receipt::on_numbered(state, provisional, number);
            }
            if let Some((provisional, number)) = numbered.last() {
                // The agent may have read the provisional number out: the
                // real one is said, and NEW-n keeps finding the case.
                let key = match numbered.len() {
                    1 => "msg.numbered",
                    _ => "msg.numbered_more",
                };
                let text = state.f(
                    key,
                    &[
                        ("provisional", provisional),
                        ("number", number),
                        ("more", &(numbered.len() - 1)),
                    ],
                );
                say(state, text, false);
            } else if conflicts + failed > 0 {
                let text = state.f(
                    "msg.sync_attention",
                    &[("conflicts", &conflicts), ("failed", &failed)],
                );
                say(state, format!("{whose}{text}"), true);
            } else if applied > 0 {
                let text = state.f("msg.sync_applied", &[("count", &applied)]);
                say(state, format!("{whose}{text}"), false);
            }
            if applied + conflicts + failed + cases_changed > 0 || !state.list.loaded {
                refresh(state, fx);
            } else {
                fx.push(Effect::Query(Query::Counts));
            }
            if unloaded {
                fx.push(Effect::Query(Query::Reference));
            }
        }
        SyncEvent::Failed { trouble, message } => {
            source.syncing = false;
            if !offline {
                source.link = match trouble {
                    Trouble::Unreachable => Link::Unreachable(message),
                    Trouble::Login => Link::Login(message),
                    Trouble::Refusing => Link::Refusing(message),
                };
            }
            fx.push(Effect::Query(Query::Counts));
        }
        SyncEvent::Busy => {
            source.syncing = false;
            if !offline {
                source.link = Link::Busy;
            }
        }
    }
}

/// Everything the screens show, read again (after a sync or a write).
pub fn refresh(state: &mut State, fx: &mut Vec<Effect>) {
    fx.push(Effect::Query(Query::Counts));
    request_list(state, false, fx);
    if state.screen == Screen::Case {
        request_case(state, fx);
    }
    if state.screen == Screen::Outbox {
        fx.push(Effect::Query(Query::Outbox));
    }
    if state.screen == Screen::Dashboard {
        fx.push(Effect::Query(Query::Dashboard(state.lang)));
    }
    if state.screen == Screen::Audit {
        audit::request(state, fx);
    }
}

/// The first requests of a session.
pub fn start(state: &mut State) -> Vec<Effect> {
    let mut fx = vec![
        Effect::Query(Query::Reference),
        Effect::Query(Query::Counts),
    ];
    request_list(state, true, &mut fx);
    fx
}

pub fn say(state: &mut State, text: String, error: bool) {
    if error {
        tracing::info!("message shown: {}", text.len());
    }
    state.message = Some(Message {
        text,
        error,
        until: state.now + MESSAGE_FOR,
    });
}

/// Asks for the list again. `reset`: a new list (queue, filter or order),
/// back to its top; otherwise the same window, fresh.
fn request_list(state: &mut State, reset: bool, fx: &mut Vec<Effect>) {
    request(state, reset, true, fx);
}

/// Asks for the rows about to be shown of the same list (a scroll): the
/// count of matches is kept, not recomputed.
fn request_window(state: &mut State, fx: &mut Vec<Effect>) {
    request(state, false, false, fx);
}

fn request(state: &mut State, reset: bool, count: bool, fx: &mut Vec<Effect>) {
    let height = ui::list_height(state.size).max(1);
    let list = &mut state.list;
    if reset {
        list.selected = 0;
        list.top = 0;
        // Until the answer, the rows on screen belong to the old list.
        list.stale = true;
        list.follow = None;
    } else if !list.stale {
        list.follow = list.selected_line().map(|l| l.key());
    }
    list.generation += 1;
    let offset = list.top.saturating_sub(height);
    fx.push(Effect::Query(Query::List(ListQuery {
        generation: list.generation,
        tab: list.tab,
        text: list.search.clone(),
        sort: list.sort,
        descending: list.descending,
        offset,
        limit: height * 3,
        count,
        lang: state.lang,
    })));
}

/// Keeps the selection in view, and asks for the rows about to be shown
/// when the loaded window does not hold them: only what is visible (and a
/// screen either side) is ever read.
fn ensure_window(state: &mut State, fx: &mut Vec<Effect>) {
    let height = ui::list_height(state.size).max(1);
    let list = &mut state.list;
    let total = list.total as usize;
    if list.selected < list.top {
        list.top = list.selected;
    } else if list.selected >= list.top + height {
        list.top = list.selected + 1 - height;
    }
    // A list that shrank shows its last screen, not one row at the top.
    list.top = list.top.min(total.saturating_sub(height));
    let end = (list.top + height).min(total);
    let have_end = list.offset + list.lines.len();
    if list.loaded && list.top < end && (list.top < list.offset || end > have_end) {
        request_window(state, fx);
    }
}

fn request_case(state: &mut State, fx: &mut Vec<Effect>) {
    if let Some(case) = state.case.id.clone() {
        state.case.generation += 1;
        fx.push(Effect::Query(Query::Case {
            generation: state.case.generation,
            case,
            lang: state.lang,
        }));
    }
}

fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    // Ctrl-C always leaves, whatever has the keys.
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        state.quit = true;
        return;
    }
    if state.lock.is_locked() {
        lock::on_key(state, key, fx);
        return;
    }
    if is_lock_key(state, &key) {
        lock::lock(state, lock::Reason::Asked);
        return;
    }
    if state.popup.is_some() {
        popup_key(state, key, fx);
        return;
    }
    if state.screen == Screen::Queues && state.list.editing {
        search_key(state, key, fx);
        return;
    }
    if matches!(state.screen, Screen::Intake | Screen::Receipt) {
        intake::on_key(state, key, fx);
        return;
    }
    let Some(key) = Key::from_event(&key) else {
        return;
    };
    let context = state.screen.context();
    if let Some(command) = state.keymap.command(context, key) {
        run(state, command, fx);
    }
}

/// The lock key locks whatever has the keys (a popup, the filter, a
/// draft), when it cannot be typed as text: a Ctrl, Alt or function key.
fn is_lock_key(state: &State, event: &KeyEvent) -> bool {
    Key::from_event(event).is_some_and(|key| {
        (key.ctrl || key.alt || matches!(key.code, KeyCodeName::F(_)))
            && state.keymap.command(Context::Global, key) == Some(Command::Lock)
    })
}

/// Pasted text goes where text is typed, as text; elsewhere it is ignored,
/// never read as keys.
fn on_paste(state: &mut State, text: &str, fx: &mut Vec<Effect>) {
    let one_line = || text.replace(['\n', '\r'], " ");
    match &mut state.popup {
        Some(Popup::Editor(editor)) if !editor.sending => {
            if let Some(picker) = &mut editor.templates {
                picker.filter.push_str(&one_line());
                filter_picker(picker);
            } else {
                editor
                    .text
                    .insert_str(text.replace("\r\n", "\n").replace('\r', "\n"));
            }
        }
        Some(Popup::Picker(picker)) => {
            picker.filter.push_str(&one_line());
            filter_picker(picker);
        }
        Some(Popup::Help { filter, scroll }) => {
            filter.push_str(&one_line());
            *scroll = 0;
        }
        Some(_) => {}
        None if state.screen == Screen::Intake => intake::on_paste(state, text, fx),
        None if state.screen == Screen::Queues && state.list.editing => {
            state.list.search.push_str(&one_line());
            request_list(state, true, fx);
        }
        None => {}
    }
}

fn search_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    match key.code {
        KeyCode::Enter => state.list.editing = false,
        KeyCode::Esc => {
            state.list.editing = false;
            state.list.search.clear();
            request_list(state, true, fx);
        }
        KeyCode::Backspace => {
            state.list.search.pop();
            request_list(state, true, fx);
        }
        KeyCode::Up => move_selection(state, -1, fx),
        KeyCode::Down => move_selection(state, 1, fx),
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            state.list.search.clear();
            request_list(state, true, fx);
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            state.list.search.push(c);
            request_list(state, true, fx);
        }
        _ => {}
    }
}

/// Why a command cannot run here, as an i18n key; None when it can.
pub fn unavailable(state: &State, command: Command) -> Option<&'static str> {
    use Command::*;
    let has_case = match state.screen {
        Screen::Queues => state.list.selected_line().is_some() || !state.list.marked.is_empty(),
        Screen::Case => state.case.detail.is_some(),
        _ => false,
    };
    let outbox_entry = (state.screen == Screen::Outbox)
        .then(|| state.outbox.entries.get(state.outbox.selected))
        .flatten();
    let stale = state.screen == Screen::Queues && state.list.stale;
    // The back-ends of the cases at hand (the default's when none).
    let cases = targets(state);
    let mut sources: Vec<&Source> = cases.iter().map(|c| state.source(&c.source)).collect();
    sources.dedup_by(|a, b| a.name == b.name);
    if sources.is_empty() {
        sources.push(state.first());
    }
    let all = |has: fn(&crate::backend::Actions) -> bool| {
        sources.iter().all(|s| has(&s.reference.actions))
    };
    let reference = &sources[0].reference;
    match command {
        Priority if !all(|a| a.priority) => Some("why.backend_no_priority"),
        Note if !all(|a| a.work_note) => Some("why.backend_no_notes"),
        New if !state.first().reference.actions.open && state.is_inbox() => {
            Some("why.inbox_no_opening")
        }
        New if !state.first().reference.actions.open => Some("why.backend_no_opening"),
        // Their pickers offer one back-end's states, agents and groups.
        Assign | State if sources.len() > 1 => Some("why.mixed_sources"),
        Open | Mark if stale => Some("why.list_loading"),
        Take | Assign | State | Priority if stale && state.list.marked.is_empty() => {
            Some("why.list_loading")
        }
        Take | Assign | State | Priority if !has_case => Some("why.no_case"),
        State if reference.states.is_empty() => Some("why.not_loaded"),
        Assign if reference.users.is_empty() && reference.groups.is_empty() => {
            Some("why.not_loaded")
        }
        Comment | Note | Reveal if state.screen != Screen::Case => Some("why.open_a_case"),
        Comment | Note | Reveal if !has_case => Some("why.no_case"),
        Open | Search | Mark | MarkNone | SortNext | SortReverse | NextQueue | PrevQueue
        | QueueMine | QueueTeam | QueueOpen | QueueAwaiting | QueueDue
            if state.screen != Screen::Queues =>
        {
            Some("why.queues_only")
        }
        Open | Mark if state.list.selected_line().is_none() => Some("why.no_case"),
        Retry | Drop | KeepMine | KeepTheirs if state.screen != Screen::Outbox => {
            Some("why.outbox_only")
        }
        Retry | Drop | KeepMine | KeepTheirs if outbox_entry.is_none() => Some("why.no_action"),
        Retry if outbox_entry.is_some_and(|e| e.state != crate::store::OutboxState::Failed) => {
            Some("why.not_refused")
        }
        KeepMine | KeepTheirs
            if outbox_entry.is_some_and(|e| e.state != crate::store::OutboxState::Conflict) =>
        {
            Some("why.not_conflict")
        }
        Offline if state.offline => Some("why.already_offline"),
        Online if !state.offline => Some("why.already_online"),
        Sync if state.offline => Some("why.offline"),
        LangEn if state.lang == crate::i18n::Lang::En => Some("why.already_lang"),
        LangFr if state.lang == crate::i18n::Lang::Fr => Some("why.already_lang"),
        _ => None,
    }
}

/// The cases an action applies to: the marked ones, else the one at hand
/// (by back-end, then id: the marked ones of one back-end together).
fn targets(state: &State) -> Vec<Ref> {
    match state.screen {
        Screen::Case => state.case.id.iter().cloned().collect(),
        _ if !state.list.marked.is_empty() => state.list.marked.iter().cloned().collect(),
        _ => state
            .list
            .selected_line()
            .map(|l| vec![l.key()])
            .unwrap_or_default(),
    }
}

pub fn run(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    use Command::*;
    if let Some(why) = unavailable(state, command) {
        let text = state.f(
            "msg.unavailable",
            &[("command", &command.name()), ("why", &state.t(why))],
        );
        say(state, text, true);
        return;
    }
    match command {
        Up => move_selection(state, -1, fx),
        Down => move_selection(state, 1, fx),
        PageUp => {
            let page = ui::list_height(state.size).max(1) as i64;
            move_selection(state, -page, fx);
        }
        PageDown => {
            let page = ui::list_height(state.size).max(1) as i64;
            move_selection(state, page, fx);
        }
        Top => move_selection(state, i64::MIN / 2, fx),
        Bottom => move_selection(state, i64::MAX / 2, fx),
        Open => {
            if let Some(line) = state.list.selected_line() {
                let case = line.key();
                open_case(state, case, fx);
            }
        }
        Back => match state.screen {
            Screen::Queues if !state.list.search.is_empty() => {
                state.list.search.clear();
                request_list(state, true, fx);
            }
            Screen::Queues => {}
            _ => {
                state.screen = Screen::Queues;
                state.case.revealed = false;
                request_list(state, false, fx);
            }
        },
        NextQueue => switch_tab(state, (state.list.tab.index() + 1) % 5, fx),
        PrevQueue => switch_tab(state, (state.list.tab.index() + 4) % 5, fx),
        QueueMine => switch_tab(state, 0, fx),
        QueueTeam => switch_tab(state, 1, fx),
        QueueOpen => switch_tab(state, 2, fx),
        QueueAwaiting => switch_tab(state, 3, fx),
        QueueDue => switch_tab(state, 4, fx),
        Help => {
            state.popup = Some(Popup::Help {
                filter: String::new(),
                scroll: 0,
            })
        }
        Palette => open_palette(state, String::new()),
        Outbox => {
            state.screen = Screen::Outbox;
            fx.push(Effect::Query(Query::Outbox));
        }
        Dashboard => {
            state.screen = Screen::Dashboard;
            fx.push(Effect::Query(Query::Dashboard(state.lang)));
        }
        Audit => audit::open(state, fx),
        New => intake::open(state, fx),
        Lock => lock::lock(state, lock::Reason::Asked),
        Quit => {
            let unsent = state.unsent() + state.writes_in_flight as u64;
            if unsent > 0 {
                let question = state.f("confirm.quit_unsent", &[("count", &unsent)]);
                state.popup = Some(Popup::Confirm(Confirm {
                    question,
                    then: Then::Quit,
                }));
            } else {
                state.quit = true;
            }
        }
        ForceQuit => state.quit = true,
        Sync => {
            fx.push(Effect::Sync(SyncCommand::Now));
            let text = state.t("msg.sync_asked").to_string();
            say(state, text, false);
        }
        // Every back-end at once.
        Offline => {
            state.offline = true;
            for source in &mut state.sources {
                source.link = Link::Offline;
            }
            fx.push(Effect::Sync(SyncCommand::SetOffline(true)));
        }
        Online => {
            state.offline = false;
            for source in &mut state.sources {
                source.link = Link::Starting;
            }
            fx.push(Effect::Sync(SyncCommand::SetOffline(false)));
        }
        LangEn | LangFr => {
            state.lang = if command == LangEn {
                crate::i18n::Lang::En
            } else {
                crate::i18n::Lang::Fr
            };
            refresh(state, fx);
        }
        Search => state.list.editing = true,
        Mark => {
            if let Some(case) = state.list.selected_line().map(|l| l.key()) {
                if !state.list.marked.remove(&case) {
                    state.list.marked.insert(case);
                }
                move_selection(state, 1, fx);
            }
        }
        MarkNone => state.list.marked.clear(),
        SortNext => {
            let i = Sort::ALL
                .iter()
                .position(|s| *s == state.list.sort)
                .unwrap_or(0);
            state.list.sort = Sort::ALL[(i + 1) % Sort::ALL.len()];
            request_list(state, true, fx);
        }
        SortReverse => {
            state.list.descending = !state.list.descending;
            request_list(state, true, fx);
        }
        Take => {
            let cases = targets(state);
            act(state, cases, Intent::Take, fx);
        }
        Assign => open_assign(state, String::new()),
        State => open_states(state, String::new()),
        Priority => open_priorities(state, String::new()),
        Comment | Note => {
            if let Some(case) = state.case.id.clone() {
                let (purpose, title) = if command == Comment {
                    (EditPurpose::Comment { case }, state.t("editor.comment"))
                } else {
                    (EditPurpose::Note { case }, state.t("editor.note"))
                };
                open_editor(state, purpose, title.to_string());
            }
        }
        Reveal => {
            state.case.revealed = !state.case.revealed;
            // Each showing of a citizen's contact details goes on the
            // agent's audit trail.
            if state.case.revealed
                && let Some(detail) = &state.case.detail
                && detail.citizen.is_some()
            {
                fx.push(Effect::Write(Write::Reveal {
                    source: detail.line.source.clone(),
                    number: detail.line.number.clone(),
                }));
            }
        }
        Retry => {
            if let Some(e) = state.outbox.entries.get(state.outbox.selected) {
                fx.push(Effect::Write(Write::Retry(Ref::new(&e.source, &e.id))));
            }
        }
        Drop | KeepTheirs => {
            if let Some(e) = state.outbox.entries.get(state.outbox.selected) {
                let what = state.describe(&e.source, &e.action);
                let (question, then) = if command == Drop {
                    (
                        state.f(
                            "confirm.drop",
                            &[("what", &what), ("number", &e.case_number)],
                        ),
                        Then::Drop(Ref::new(&e.source, &e.id)),
                    )
                } else {
                    (
                        state.f(
                            "confirm.theirs",
                            &[("what", &what), ("number", &e.case_number)],
                        ),
                        Then::KeepTheirs(Ref::new(&e.source, &e.id)),
                    )
                };
                state.popup = Some(Popup::Confirm(Confirm { question, then }));
            }
        }
        KeepMine => {
            if let Some(e) = state.outbox.entries.get(state.outbox.selected) {
                fx.push(Effect::Write(Write::Resolve {
                    action: Ref::new(&e.source, &e.id),
                    keep_mine: true,
                }));
            }
        }
    }
}

fn switch_tab(state: &mut State, index: usize, fx: &mut Vec<Effect>) {
    state.list.tab = QueueTab::ALL[index % QueueTab::ALL.len()];
    state.list.marked.clear();
    request_list(state, true, fx);
}

pub fn open_case(state: &mut State, case: Ref, fx: &mut Vec<Effect>) {
    if state.case.id.as_ref() != Some(&case) {
        state.case.detail = None;
        state.case.scroll = 0;
        state.case.revealed = false;
    }
    state.case.id = Some(case);
    state.screen = Screen::Case;
    request_case(state, fx);
}

fn move_selection(state: &mut State, by: i64, fx: &mut Vec<Effect>) {
    match state.screen {
        Screen::Queues => {
            let total = state.list.total as i64;
            if total == 0 {
                return;
            }
            let next = (state.list.selected as i64)
                .saturating_add(by)
                .clamp(0, total - 1);
            state.list.selected = next as usize;
            ensure_window(state, fx);
        }
        Screen::Case => {
            let max = i64::from(ui::case_max_scroll(state));
            state.case.scroll = (i64::from(state.case.scroll) + by).clamp(0, max) as u16;
        }
        Screen::Outbox => {
            let len = state.outbox.entries.len() as i64;
            if len > 0 {
                state.outbox.selected = (state.outbox.selected as i64)
                    .saturating_add(by)
                    .clamp(0, len - 1) as usize;
            }
        }
        Screen::Audit => audit::move_by(state, by, fx),
        Screen::Dashboard | Screen::Intake | Screen::Receipt => {}
    }
}

/// Queues the intent on the cases; several cases ask first, saying how many.
fn act(state: &mut State, cases: Vec<Ref>, intent: Intent, fx: &mut Vec<Effect>) {
    if cases.is_empty() {
        return;
    }
    if cases.len() > 1 {
        let question = state.f("confirm.bulk", &[("count", &cases.len())]);
        state.popup = Some(Popup::Confirm(Confirm {
            question,
            then: Then::Act { cases, intent },
        }));
        return;
    }
    fx.push(Effect::Write(Write::Act {
        cases,
        intent,
        lang: state.lang,
    }));
}

fn label(state: &State, choice: &crate::domain::Choice) -> String {
    crate::app::compose::label_of(choice, state.lang).to_string()
}

/// The back-end whose reference data an action on `cases` uses (`unavailable`
/// keeps those of several back-ends apart).
fn reference_for<'a>(state: &'a State, cases: &[Ref]) -> &'a crate::console::msg::Reference {
    state.reference(cases.first().map_or("", |c| c.source.as_str()))
}

fn open_assign(state: &mut State, filter: String) {
    let cases = targets(state);
    let reference = reference_for(state, &cases);
    let mut items: Vec<PickItem> = reference
        .groups
        .iter()
        .map(|g| PickItem {
            label: g.name.clone(),
            detail: state.t("picker.group").to_string(),
            value: PickValue::Group(g.id.clone()),
        })
        .collect();
    items.extend(
        reference
            .users
            .iter()
            .filter(|u| u.active)
            // Where each agent takes cases himself, only oneself is offered.
            .filter(|u| {
                reference.actions.assign_others || reference.me.as_deref() == Some(u.id.as_str())
            })
            .map(|u| PickItem {
                label: u.name.clone(),
                detail: u.user_name.clone(),
                value: PickValue::User(u.id.clone()),
            }),
    );
    let title = state.t("picker.assign").to_string();
    open_picker(state, title, items, filter, PickPurpose::Assign { cases });
}

fn open_states(state: &mut State, filter: String) {
    let cases = targets(state);
    // The moves the flow allows from the first case's stage; each case is
    // checked again when its action is built.
    let line = match state.screen {
        Screen::Case => state.case.detail.as_ref().map(|d| &d.line),
        _ => state.list.selected_line(),
    };
    let from = line.map(|l| (l.state.clone(), l.stage.and_then(Stage::parse)));
    let reference = reference_for(state, &cases);
    let items: Vec<PickItem> = reference
        .states
        .iter()
        .filter(|c| match &from {
            Some((value, stage)) => reference.flow.allows(value, *stage, c),
            None => true,
        })
        .map(|c| PickItem {
            label: label(state, c),
            detail: String::new(),
            value: PickValue::State(c.clone()),
        })
        .collect();
    if items.is_empty() {
        let text = state.t("msg.no_state_move").to_string();
        say(state, text, true);
        return;
    }
    let title = state.t("picker.state").to_string();
    open_picker(state, title, items, filter, PickPurpose::State { cases });
}

fn open_priorities(state: &mut State, filter: String) {
    let cases = targets(state);
    let items = (1..=4u8)
        .map(|p| PickItem {
            label: format!("{p} {}", state.t(&format!("priority.{p}"))),
            detail: String::new(),
            value: PickValue::Priority(p),
        })
        .collect();
    let title = state.t("picker.priority").to_string();
    open_picker(state, title, items, filter, PickPurpose::Priority { cases });
}

fn open_palette(state: &mut State, filter: String) {
    let items = Command::all()
        .into_iter()
        .filter(|c| {
            !matches!(
                c,
                Command::Up | Command::Down | Command::PageUp | Command::PageDown
            )
        })
        .map(|c| PickItem {
            label: c.name(),
            detail: state.t(&c.help_key()).to_string(),
            value: PickValue::Command(c),
        })
        .collect();
    let title = state.t("picker.palette").to_string();
    open_picker(state, title, items, filter, PickPurpose::Palette);
}

fn palette_with_argument(state: &mut State, name: &str, rest: &str, fx: &mut Vec<Effect>) {
    let command = match (name, rest) {
        ("lang", "en") => Some(Command::LangEn),
        ("lang", "fr") => Some(Command::LangFr),
        _ => Command::parse(name),
    };
    let Some(command) = command else {
        let text = state.f("msg.unknown_command", &[("name", &name)]);
        say(state, text, true);
        return;
    };
    if let Some(why) = unavailable(state, command) {
        let text = state.f(
            "msg.unavailable",
            &[("command", &command.name()), ("why", &state.t(why))],
        );
        say(state, text, true);
        return;
    }
    match command {
        Command::Assign => open_assign(state, rest.to_string()),
        Command::State => open_states(state, rest.to_string()),
        Command::Priority => open_priorities(state, rest.to_string()),
        _ => run(state, command, fx),
    }
    // A picker opened with the argument as its filter: when exactly one
    // item matches, choose it (`:state resolved` goes straight on).
    if let Some(Popup::Picker(picker)) = &state.popup
        && picker.shown.len() == 1
        && let Some(value) = picker.items.get(picker.shown[0]).map(|i| i.value.clone())
    {
        let purpose = picker.purpose.clone();
        state.popup = None;
        picked(state, purpose, value, fx);
    }
}

fn open_picker(
    state: &mut State,
    title: String,
    items: Vec<PickItem>,
    filter: String,
    purpose: PickPurpose,
) {
    let mut picker = Picker {
        title,
        items,
        filter,
        shown: Vec::new(),
        selected: 0,
        purpose,
    };
    filter_picker(&mut picker);
    state.popup = Some(Popup::Picker(picker));
}

/// Fuzzy, accent-insensitive filtering of a picker's items (a few hundred
/// at most: agents, groups, states, commands), best match first.
pub fn filter_picker(picker: &mut Picker) {
    use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
    use nucleo_matcher::{Config, Matcher, Utf32Str};
    picker.selected = 0;
    if picker.filter.trim().is_empty() {
        picker.shown = (0..picker.items.len()).collect();
        return;
    }
    let pattern = Pattern::parse(&picker.filter, CaseMatching::Ignore, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buffer = Vec::new();
    let exact = fold(picker.filter.trim());
    let mut scored: Vec<(u32, usize)> = picker
        .items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            // The item named as typed comes first (`:new`, not a command
            // whose description holds the word).
            if fold(&item.label) == exact {
                return Some((u32::MAX, i));
            }
            let haystack = fold(&format!("{} {}", item.label, item.detail));
            pattern
                .score(Utf32Str::new(&haystack, &mut buffer), &mut matcher)
                .map(|s| (s, i))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    picker.shown = scored.into_iter().map(|(_, i)| i).collect();
}

fn open_editor(state: &mut State, purpose: EditPurpose, title: String) {
    let mut text = TextArea::default();
    text.set_wrap_mode(ratatui_textarea::WrapMode::Word);
    text.set_cursor_line_style(ratatui::style::Style::default());
    state.popup = Some(Popup::Editor(Box::new(Editor {
        purpose,
        title,
        text,
        confirm_discard: false,
        templates: None,
        sending: false,
    })));
}

use ratatui_textarea::TextArea;

fn popup_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(popup) = state.popup.take() else {
        return;
    };
    state.popup = match popup {
        Popup::Help { mut filter, scroll } => match key.code {
            KeyCode::Esc => None,
            KeyCode::Char('?') if filter.is_empty() => None,
            KeyCode::Down => Some(Popup::Help {
                filter,
                scroll: scroll + 1,
            }),
            KeyCode::Up => Some(Popup::Help {
                filter,
                scroll: scroll.saturating_sub(1),
            }),
            KeyCode::Backspace => {
                filter.pop();
                Some(Popup::Help { filter, scroll: 0 })
            }
            KeyCode::Char(c) => {
                filter.push(c);
                Some(Popup::Help { filter, scroll: 0 })
            }
            _ => Some(Popup::Help { filter, scroll }),
        },
        Popup::Confirm(confirm) => match key.code {
            // Not Enter: a second Enter after a picker must not say yes.
            KeyCode::Char('y' | 'Y' | 'o' | 'O') => {
                confirmed(state, confirm.then, fx);
                None
            }
            KeyCode::Char('n' | 'N') | KeyCode::Esc => None,
            _ => Some(Popup::Confirm(confirm)),
        },
        Popup::Picker(mut picker) => match key.code {
            KeyCode::Esc => None,
            KeyCode::Enter
                if picker.purpose == PickPurpose::Palette && picker.filter.contains(' ') =>
            {
                // `:state resolved`, `:assign martin`, `:lang en`: the
                // command, then the rest as the filter of what it opens.
                let (name, rest) = picker.filter.split_once(' ').unwrap_or_default();
                palette_with_argument(state, name.trim(), rest.trim(), fx);
                state.popup.take()
            }
            KeyCode::Enter => {
                let chosen = picker
                    .shown
                    .get(picker.selected)
                    .and_then(|i| picker.items.get(*i))
                    .map(|item| item.value.clone());
                match chosen {
                    Some(value) => {
                        picked(state, picker.purpose, value, fx);
                        // `picked` may open the next step.
                        state.popup.take()
                    }
                    None => Some(Popup::Picker(picker)),
                }
            }
            KeyCode::Up => {
                picker.selected = picker.selected.saturating_sub(1);
                Some(Popup::Picker(picker))
            }
            KeyCode::Down => {
                if picker.selected + 1 < picker.shown.len() {
                    picker.selected += 1;
                }
                Some(Popup::Picker(picker))
            }
            KeyCode::Backspace => {
                picker.filter.pop();
                filter_picker(&mut picker);
                Some(Popup::Picker(picker))
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                picker.filter.push(c);
                filter_picker(&mut picker);
                Some(Popup::Picker(picker))
            }
            _ => Some(Popup::Picker(picker)),
        },
        Popup::Editor(editor) => {
            let next = editor_key(state, *editor, key, fx);
            // A closed editor may have opened the next step (a bulk
            // confirmation).
            next.map(|e| Popup::Editor(Box::new(e)))
                .or_else(|| state.popup.take())
        }
    };
}

fn editor_key(
    state: &mut State,
    mut editor: Editor,
    key: KeyEvent,
    fx: &mut Vec<Effect>,
) -> Option<Editor> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if editor.sending {
        return Some(editor);
    }
    if let Some(mut picker) = editor.templates.take() {
        match key.code {
            KeyCode::Esc => {}
            KeyCode::Enter => {
                if let Some(PickValue::Text(text)) = picker
                    .shown
                    .get(picker.selected)
                    .and_then(|i| picker.items.get(*i))
                    .map(|i| i.value.clone())
                {
                    let filled = fill_template(state, &editor.purpose, &text);
                    editor.text.insert_str(filled);
                }
            }
            KeyCode::Up => {
                picker.selected = picker.selected.saturating_sub(1);
                editor.templates = Some(picker);
            }
            KeyCode::Down => {
                if picker.selected + 1 < picker.shown.len() {
                    picker.selected += 1;
                }
                editor.templates = Some(picker);
            }
            KeyCode::Backspace => {
                picker.filter.pop();
                filter_picker(&mut picker);
                editor.templates = Some(picker);
            }
            KeyCode::Char(c) if !ctrl => {
                picker.filter.push(c);
                filter_picker(&mut picker);
                editor.templates = Some(picker);
            }
            _ => editor.templates = Some(picker),
        }
        return Some(editor);
    }
    match key.code {
        KeyCode::Esc => {
            let typed = editor.text.lines().iter().any(|l| !l.trim().is_empty());
            if typed && !editor.confirm_discard {
                editor.confirm_discard = true;
                return Some(editor);
            }
            None
        }
        KeyCode::Char('s') if ctrl => {
            let text = editor.text.lines().join("\n");
            let (cases, intent) = match &editor.purpose {
                EditPurpose::Comment { case } => (vec![case.clone()], Intent::Comment(text)),
                EditPurpose::Note { case } => (vec![case.clone()], Intent::Note(text)),
                EditPurpose::CloseNotes {
                    cases,
                    state: s,
                    code,
                } => (
                    cases.clone(),
                    Intent::State {
                        state: s.clone(),
                        resolution_code: Some(code.clone()),
                        close_notes: Some(text),
                    },
                ),
            };
            if editor.text.lines().iter().all(|l| l.trim().is_empty()) {
                let message = state.t("error.text_empty").to_string();
                say(state, message, true);
                return Some(editor);
            }
            if cases.len() > 1 {
                // Resolving several cases asks first, like every bulk action.
                act(state, cases, intent, fx);
                return None;
            }
            // The editor stays, its text kept, until the write thread says
            // the action is queued; a refusal leaves the text to mend.
            editor.sending = true;
            fx.push(Effect::Write(Write::Act {
                cases,
                intent,
                lang: state.lang,
            }));
            Some(editor)
        }
        KeyCode::Char('e') if ctrl => {
            fx.push(Effect::ExternalEditor);
            Some(editor)
        }
        KeyCode::Char('t') if ctrl => {
            let items = state
                .templates
                .iter()
                .filter(|(lang, _, _)| *lang == state.lang)
                .map(|(_, title, text)| PickItem {
                    label: title.clone(),
                    detail: String::new(),
                    value: PickValue::Text(text.clone()),
                })
                .collect();
            let mut picker = Picker {
                title: state.t("picker.template").to_string(),
                items,
                filter: String::new(),
                shown: Vec::new(),
                selected: 0,
                purpose: PickPurpose::Template,
            };
            filter_picker(&mut picker);
            editor.templates = Some(picker);
            Some(editor)
        }
        _ => {
            editor.confirm_discard = false;
            editor.text.input(key);
            Some(editor)
        }
    }
}

/// A template's placeholders filled from the case the text is for; with
/// several cases (or one not at hand), the placeholders stay for the agent
/// to fill.
fn fill_template(state: &State, purpose: &EditPurpose, text: &str) -> String {
    let case = match purpose {
        EditPurpose::Comment { case } | EditPurpose::Note { case } => Some(case),
        EditPurpose::CloseNotes { cases, .. } if cases.len() == 1 => cases.first(),
        EditPurpose::CloseNotes { .. } => None,
    };
    let detail = state
        .case
        .detail
        .as_deref()
        .filter(|d| Some(&d.line.key()) == case);
    let line = detail
        .map(|d| &d.line)
        .or_else(|| case.and_then(|c| state.list.lines.iter().find(|l| &l.key() == c)));
    let Some(line) = line else {
        return text.to_string();
    };
    let citizen = detail
        .and_then(|d| d.citizen.as_ref())
        .map_or_else(|| line.citizen.clone(), |c| c.name());
    let reference = state.reference(&line.source);
    let me = reference
        .me
        .as_ref()
        .and_then(|id| reference.users.iter().find(|u| &u.id == id))
        .map(|u| u.name.clone())
        .unwrap_or_default();
    text.replace("{citizen}", &citizen)
        .replace("{number}", &line.number)
        .replace("{procedure}", &line.procedure_label)
        .replace("{agent}", &me)
}

fn picked(state: &mut State, purpose: PickPurpose, value: PickValue, fx: &mut Vec<Effect>) {
    match (purpose, value) {
        (PickPurpose::Assign { cases }, PickValue::User(user)) => act(
            state,
            cases,
            Intent::Assign {
                user: Some(user),
                group: None,
            },
            fx,
        ),
        (PickPurpose::Assign { cases }, PickValue::Group(group)) => act(
            state,
            cases,
            Intent::Assign {
                user: None,
                group: Some(group),
            },
            fx,
        ),
        (PickPurpose::State { cases }, PickValue::State(choice)) => {
            let reference = reference_for(state, &cases);
            if choice.stage == Some(Stage::Resolved) && !reference.flow.moves.is_empty() {
                // A back-end of its own flow (Démarches Simplifiées): the
                // decision is the state, and the notes are its motivation.
                let code = choice.value.clone();
                ask_close_notes(state, cases, choice, code, "editor.motivation");
            } else if choice.stage == Some(Stage::Resolved) && reference.resolutions.is_empty() {
                let text = state.t("msg.no_resolution_codes").to_string();
                say(state, text, true);
            } else if choice.stage == Some(Stage::Resolved) {
                let items: Vec<PickItem> = reference
                    .resolutions
                    .iter()
                    .map(|c| PickItem {
                        label: label(state, c),
                        detail: String::new(),
                        value: PickValue::Resolution(c.value.clone()),
                    })
                    .collect();
                let title = state.t("picker.resolution").to_string();
                open_picker(
                    state,
                    title,
                    items,
                    String::new(),
                    PickPurpose::Resolution {
                        cases,
                        state: choice,
                    },
                );
            } else {
                act(
                    state,
                    cases,
                    Intent::State {
                        state: choice,
                        resolution_code: None,
                        close_notes: None,
                    },
                    fx,
                );
            }
        }
        (
            PickPurpose::Resolution {
                cases,
                state: choice,
            },
            PickValue::Resolution(code),
        ) => ask_close_notes(state, cases, choice, code, "editor.close_notes"),
        (PickPurpose::Priority { cases }, PickValue::Priority(p)) => {
            act(state, cases, Intent::Priority(p), fx)
        }
        (PickPurpose::Palette, PickValue::Command(command)) => run(state, command, fx),
        _ => {}
    }
}

/// The editor for a resolution's notes (`title`: their name, close notes or
/// a decision's motivation).
fn ask_close_notes(
    state: &mut State,
    cases: Vec<Ref>,
    choice: crate::domain::Choice,
    code: String,
    title: &str,
) {
    let title = state.t(title).to_string();
    open_editor(
        state,
        EditPurpose::CloseNotes {
            cases,
            state: choice,
            code,
        },
        title,
    );
}

fn confirmed(state: &mut State, then: Then, fx: &mut Vec<Effect>) {
    match then {
        Then::Act { cases, intent } => fx.push(Effect::Write(Write::Act {
            cases,
            intent,
            lang: state.lang,
        })),
        Then::Drop(action) => fx.push(Effect::Write(Write::Drop(action))),
        Then::KeepTheirs(action) => fx.push(Effect::Write(Write::Resolve {
            action,
            keep_mine: false,
        })),
        Then::Quit => state.quit = true,
    }
}

/// The context whose keys apply now (for the key bar and the help).
pub fn context(state: &State) -> Context {
    state.screen.context()
}

#[cfg(test)]
#[path = "update_tests.rs"]
pub(crate) mod tests;
