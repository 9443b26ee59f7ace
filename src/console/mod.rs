//! The console: a keyboard-driven terminal front end over the local store.
//! The Elm shape: terminal events, the clock's tick and background results
//! arrive on one channel; `update` turns each into state and effects;
//! drawing is a pure function of the state, done once after the pending
//! messages are drained, and only when something changed. The console
//! never talks to the network: the sync worker does (see `worker`).

mod audit;
pub mod command;
pub mod first_run;
#[cfg(test)]
pub(crate) mod fixture;
pub mod intake;
pub mod keymap;
pub mod lock;
pub mod msg;
pub mod state;
mod templates;
pub mod terminal;
pub mod ui;
pub mod update;
pub mod worker;

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use time::UtcOffset;

use crate::app::AppError;
use crate::domain::Clock;
use crate::i18n::Lang;
use msg::Msg;
use state::{Setting, State, Theme};
use update::Effect;
pub use worker::Source;
use worker::Workers;

/// How the console is started (its back-ends apart: see [`run`]).
pub struct Options {
    /// From the default (first) profile, like the keymap and the lock.
    pub lang: Lang,
    pub ascii: bool,
    pub setting: Setting,
    /// Start offline (no network until `:online`).
    pub offline: bool,
    /// Where the agent's own keymap.toml and templates.toml live.
    pub config_dir: PathBuf,
    /// When the console locks, and how the password is checked.
    pub lock: lock::Settings,
}

/// When the process started, for the start-to-first-frame figure.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Called first thing in `main`.
pub fn mark_start() {
    let _ = STARTED.set(std::time::Instant::now());
}

/// What the benchmark harness reads in the log (target `guichet::bench`):
/// first frames, keystroke-to-frame and query-to-frame times, peak memory.
/// Only counting and clock reads; the lines are written at debug level.
#[derive(Default)]
struct Timings {
    frames: u64,
    rows_shown: bool,
    /// Key presses read by the input task, not yet shown in a frame.
    keys: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
    /// When each list query left, by generation.
    lists_sent: Vec<(u64, std::time::Instant)>,
    /// A list answer applied, waiting for its frame.
    list_answered: Option<std::time::Instant>,
}

impl Timings {
    fn since_start() -> u128 {
        STARTED.get().map_or(0, |t| t.elapsed().as_micros())
    }

    fn drawn(&mut self, state: &State) {
        self.frames += 1;
        if self.frames == 1 {
            tracing::info!(target: "guichet::bench", first_frame_us = Self::since_start(), "first frame");
        }
        if !self.rows_shown && !state.list.lines.is_empty() {
            self.rows_shown = true;
            tracing::info!(target: "guichet::bench", first_rows_us = Self::since_start(), "first rows");
        }
        let now = std::time::Instant::now();
        if let Ok(mut keys) = self.keys.lock() {
            for at in keys.drain(..) {
                tracing::debug!(target: "guichet::bench", key_to_frame_us = (now - at).as_micros(), "key");
            }
        }
        if let Some(at) = self.list_answered.take() {
            tracing::debug!(target: "guichet::bench", query_to_frame_us = (now - at).as_micros(), "list");
        }
    }

    fn noticed(&mut self, msg: &Msg, state: &State) {
        if let Msg::Listed { generation, .. } = msg
            && *generation == state.list.generation
            && let Some(at) = self
                .lists_sent
                .iter()
                .find(|(g, _)| g == generation)
                .map(|(_, at)| *at)
        {
            self.list_answered = Some(at);
            self.lists_sent.retain(|(g, _)| g > generation);
        }
    }
}

/// The process's peak resident memory (Linux), in kB.
fn peak_memory_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// NO_COLOR (any non-empty value) gives the monochrome theme.
pub fn theme_from_env() -> Theme {
    match std::env::var_os("NO_COLOR") {
        Some(v) if !v.is_empty() => Theme::Mono,
        _ => Theme::Colour,
    }
}

/// Runs the console until the agent quits, over these back-ends: one
/// profile, or the one inbox of several (the default profile first).
pub fn run(sources: Vec<Source<'_>>, options: Options) -> Result<(), AppError> {
    if sources.is_empty() {
        return Err(AppError::System("the console needs a profile".into()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AppError::System(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(run_async(sources, options))
}

async fn run_async(sources: Vec<Source<'_>>, options: Options) -> Result<(), AppError> {
    let (keymap, keymap_errors) = keymap::Keymap::load(&options.config_dir.join("keymap.toml"));
    let mut state = State::new(
        options.lang,
        theme_from_env(),
        options.ascii,
        keymap,
        options.setting,
    );
    // The local offset is read once, before any thread starts (the time
    // crate refuses to read it later on some systems).
    state.offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    state.set_sources(&names);
    state.now = Clock::system().instant();
    state.lock = lock::Lock::new(options.lock.after, state.now);
    let password_check = options.lock.check;
    state.offline = options.offline;
    if options.offline {
        for source in &mut state.sources {
            source.link = state::Link::Offline;
        }
    }
    state.templates = templates::load(&options.config_dir);
    if let Some(first) = keymap_errors.first() {
        tracing::warn!(errors = keymap_errors.len(), "keymap file refused");
        state.message = Some(state::Message {
            text: state.f("msg.keymap_refused", &[("error", first)]),
            error: true,
            until: state.now + time::Duration::seconds(30),
        });
    }

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    let workers = Workers::start(sources, options.offline, tx.clone())?;
    let mut tui = terminal::Tui::start()
        .map_err(|e| AppError::System(format!("cannot set up the terminal: {e}")))?;
    if let Ok(size) = tui.terminal.size() {
        state.size = (size.width, size.height);
    }

    let mut timings = Timings::default();
    let (input_control, control) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(read_input(
        tx.clone(),
        control,
        std::sync::Arc::clone(&timings.keys),
    ));
    // For the lock's password checks, which answer on the channel.
    let unlock_events = tx.clone();
    let ticker = tx.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if ticker.send(Msg::Tick).is_err() {
                return;
            }
        }
    });
    drop(tx);

    let performer = Performer {
        workers: &workers,
        password_check: &password_check,
        unlock_events: &unlock_events,
    };
    let first = update::start(&mut state);
    performer.perform(&mut state, &mut timings, first);
    draw(&mut tui, &mut state)?;
    timings.drawn(&state);
    while let Some(first) = rx.recv().await {
        timings.noticed(&first, &state);
        let mut effects = step(&mut state, first);
        // Drain what else is waiting, then draw once.
        while let Ok(more) = rx.try_recv() {
            timings.noticed(&more, &state);
            effects.extend(step(&mut state, more));
        }
        if performer.perform(&mut state, &mut timings, effects) {
            external_editor(&mut tui, &mut state, &input_control).await;
            // Time in $EDITOR is time at the keyboard: no lock on return.
            state.now = Clock::system().instant();
            lock::touch(&mut state);
        }
        if state.quit {
            break;
        }
        if state.dirty {
            draw(&mut tui, &mut state)?;
            timings.drawn(&state);
        }
    }
    drop(tui);
    // Writes handed over are finished before the process ends.
    workers.finish();
    if let Some(kb) = peak_memory_kb() {
        tracing::info!(target: "guichet::bench", peak_memory_kb = kb, "peak memory");
    }
    Ok(())
}

fn step(state: &mut State, msg: Msg) -> Vec<Effect> {
    if let Msg::Tick = msg {
        let now = Clock::system().instant();
        // The status bar shows ages in minutes: redraw when one turns.
        if now.minute() != state.now.minute() {
            state.dirty = true;
        }
        state.now = now;
    }
    update::update(state, msg)
}

fn draw(tui: &mut terminal::Tui, state: &mut State) -> Result<(), AppError> {
    tui.draw(|frame| ui::draw(frame, state))
        .map_err(|e| AppError::System(format!("cannot draw: {e}")))?;
    state.dirty = false;
    Ok(())
}

/// Where the effects go.
struct Performer<'a> {
    workers: &'a Workers,
    password_check: &'a lock::PasswordCheck,
    unlock_events: &'a tokio::sync::mpsc::UnboundedSender<Msg>,
}

impl Performer<'_> {
    /// Hands the effects to the workers; says whether the external editor
    /// was asked for (the loop runs it: it needs the input paused).
    fn perform(&self, state: &mut State, timings: &mut Timings, effects: Vec<Effect>) -> bool {
        let workers = self.workers;
        let mut editor = false;
        for effect in effects {
            match effect {
                Effect::Query(q) => {
                    if let worker::Query::List(list) = &q {
                        timings
                            .lists_sent
                            .push((list.generation, std::time::Instant::now()));
                    }
                    workers.query(q)
                }
                Effect::Write(w) => {
                    state.writes_in_flight += 1;
                    if !workers.write(w) {
                        state.message = Some(state::Message {
                            text: state.t("msg.writer_gone").to_string(),
                            error: true,
                            until: state.now + time::Duration::seconds(30),
                        });
                    }
                }
                Effect::Sync(c) => workers.sync(c),
                Effect::ExternalEditor => editor = true,
                Effect::Unlock(password) => {
                    lock::check_in_background(self.password_check, password, self.unlock_events)
                }
            }
        }
        editor
    }
}

/// What the loop tells the input task.
enum InputControl {
    /// Stop reading the terminal (another program gets it); answer when done.
    Pause(tokio::sync::oneshot::Sender<()>),
    Resume,
}

/// Reads the terminal into the channel, stamping key presses for the
/// timings. Paused while $EDITOR runs: crossterm's reader would otherwise
/// take the first keys typed in the editor.
async fn read_input(
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
    mut control: tokio::sync::mpsc::UnboundedReceiver<InputControl>,
    key_times: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
) {
    loop {
        let mut events = crossterm::event::EventStream::new();
        let paused = loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(event)) => {
                        if matches!(event, crossterm::event::Event::Key(_))
                            && let Ok(mut keys) = key_times.lock()
                        {
                            keys.push(std::time::Instant::now());
                        }
                        if tx.send(Msg::Term(event)).is_err() {
                            return;
                        }
                    }
                    Some(Err(e)) => {
                        let _ = tx.send(Msg::TermGone(e.to_string()));
                        return;
                    }
                    None => {
                        let _ = tx.send(Msg::TermGone("input closed".into()));
                        return;
                    }
                },
                command = control.recv() => match command {
                    Some(InputControl::Pause(done)) => break done,
                    Some(InputControl::Resume) => {}
                    None => return,
                },
            }
        };
        drop(events);
        let _ = paused.send(());
        loop {
            match control.recv().await {
                Some(InputControl::Resume) => break,
                Some(InputControl::Pause(done)) => {
                    let _ = done.send(());
                }
                None => return,
            }
        }
    }
}

/// Hands the editor's text to $VISUAL or $EDITOR (vi if neither is set),
/// and takes back what the agent saved.
async fn external_editor(
    tui: &mut terminal::Tui,
    state: &mut State,
    input: &tokio::sync::mpsc::UnboundedSender<InputControl>,
) {
    let Some(state::Popup::Editor(editor)) = &mut state.popup else {
        return;
    };
    let (paused, done) = tokio::sync::oneshot::channel();
    if input.send(InputControl::Pause(paused)).is_ok() {
        let _ = done.await;
    }
    let text = editor.text.lines().join("\n");
    let program = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let result = tui.suspend(|| -> std::io::Result<String> {
        let file = tempfile_in_state(&text)?;
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{program} \"$1\""))
            .arg("sh")
            .arg(&file)
            .status()?;
        let edited = std::fs::read_to_string(&file);
        let _ = std::fs::remove_file(&file);
        if !status.success() {
            return Err(std::io::Error::other(format!(
                "{program} exited with {status}"
            )));
        }
        edited
    });
    let _ = input.send(InputControl::Resume);
    state.dirty = true;
    match result {
        Ok(Ok(edited)) => {
            let lines: Vec<String> = edited
                .trim_end_matches('\n')
                .lines()
                .map(str::to_string)
                .collect();
            let mut area = ratatui_textarea::TextArea::new(lines);
            area.set_wrap_mode(ratatui_textarea::WrapMode::Word);
            area.set_cursor_line_style(ratatui::style::Style::default());
            // Go on typing where the text ends.
            area.move_cursor(ratatui_textarea::CursorMove::Bottom);
            area.move_cursor(ratatui_textarea::CursorMove::End);
            editor.text = area;
        }
        Ok(Err(e)) | Err(e) => {
            let text = state.f("msg.editor_failed", &[("error", &e)]);
            state.message = Some(state::Message {
                text,
                error: true,
                until: state.now + time::Duration::seconds(10),
            });
        }
    }
}

/// A private temporary file (0600) for the external editor.
fn tempfile_in_state(text: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let dir = std::env::temp_dir();
    let path = dir.join(format!("guichet-{}.txt", uuid::Uuid::new_v4()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    file.write_all(text.as_bytes())?;
    Ok(path)
}
