//! The first screen on a workstation with no profile: try the demo, or log
//! in to the administration's back-end with a small form. The credentials
//! are checked off the key path (a task), and kept only when they work.

use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::state::Theme;
use super::terminal::Tui;
use super::ui::text::fit;
use super::ui::theme::{borders, styles};
use crate::app::AppError;
use crate::app::workspace::sign_in;
use crate::config::{Paths, Profile};
use crate::i18n::Lang;

/// What the agent chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstRun {
    Demo,
    /// A profile now exists (and is the default).
    SignedIn,
    Quit,
}

#[derive(Debug, Default)]
pub struct Form {
    /// URL, user name, password.
    pub fields: [String; 3],
    pub focus: usize,
    pub error: Option<String>,
    pub checking: bool,
}

#[derive(Debug)]
pub enum Screen {
    Choice,
    Form(Form),
}

const LABELS: [&str; 3] = ["first.url", "first.user", "first.password"];

/// The profile's name from the back-end's address: its first host label
/// (`https://mairie-condom.service-now.com` gives `mairie-condom`).
pub fn profile_name(url: &str) -> String {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    let label: String = host
        .split('.')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    if label.is_empty() || label.chars().all(|c| c.is_ascii_digit()) {
        "default".into()
    } else {
        label
    }
}

/// What is wrong with the form, if anything (an i18n key).
pub fn invalid(form: &Form) -> Option<&'static str> {
    let url = form.fields[0].trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
        Some("first.bad_url")
    } else if form.fields[1].trim().is_empty() {
        Some("first.no_user")
    } else if form.fields[2].is_empty() {
        Some("first.no_password")
    } else {
        None
    }
}

pub fn run(lang: Lang, theme: Theme, ascii: bool, paths: Paths) -> Result<FirstRun, AppError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AppError::System(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let mut tui = Tui::start()
            .map_err(|e| AppError::System(format!("cannot set up the terminal: {e}")))?;
        let mut screen = Screen::Choice;
        let mut events = crossterm::event::EventStream::new();
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Result<(), String>>();
        loop {
            tui.draw(|frame| draw(frame, &screen, lang, theme, ascii))
                .map_err(|e| AppError::System(format!("cannot draw: {e}")))?;
            let event = tokio::select! {
                event = events.next() => event,
                result = done_rx.recv() => {
                    if let Screen::Form(form) = &mut screen {
                        form.checking = false;
                        match result {
                            Some(Ok(())) => return Ok(FirstRun::SignedIn),
                            Some(Err(e)) => form.error = Some(e),
                            None => {}
                        }
                    }
                    continue;
                }
            };
            let Some(Ok(Event::Key(key))) = event else {
                if event.is_none() {
                    return Ok(FirstRun::Quit);
                }
                continue;
            };
            if key.kind == KeyEventKind::Release {
                continue;
            }
            if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
                return Ok(FirstRun::Quit);
            }
            match &mut screen {
                Screen::Choice => match key.code {
                    KeyCode::Char('d') => return Ok(FirstRun::Demo),
                    KeyCode::Char('l') | KeyCode::Enter => screen = Screen::Form(Form::default()),
                    KeyCode::Char('q') | KeyCode::Esc => return Ok(FirstRun::Quit),
                    _ => {}
                },
                Screen::Form(form) if form.checking => {}
                Screen::Form(form) => match key.code {
                    KeyCode::Esc => screen = Screen::Choice,
                    KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % 3,
                    KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + 2) % 3,
                    KeyCode::Backspace => {
                        form.fields[form.focus].pop();
                    }
                    KeyCode::Enter if form.focus < 2 => form.focus += 1,
                    KeyCode::Enter => {
                        if let Some(why) = invalid(form) {
                            form.error = Some(lang.t(why).to_string());
                            continue;
                        }
                        form.error = None;
                        form.checking = true;
                        let url = form.fields[0].trim().trim_end_matches('/').to_string();
                        let profile = Profile {
                            language: Some(lang.code().to_string()),
                            ..Profile::new(&url, form.fields[1].trim())
                        };
                        let password = form.fields[2].clone();
                        let paths = paths.clone();
                        let done = done_tx.clone();
                        tokio::spawn(async move {
                            let name = profile_name(&url);
                            let result = tokio::time::timeout(
                                Duration::from_secs(60),
                                sign_in(&paths, &name, profile, &password, None),
                            )
                            .await;
                            let result = match result {
                                Ok(Ok(_)) => Ok(()),
                                Ok(Err(e)) => Err(e.to_string()),
                                Err(_) => Err("no answer within 60 s".to_string()),
                            };
                            let _ = done.send(result);
                        });
                    }
                    KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                        form.fields[form.focus].push(c);
                    }
                    _ => {}
                },
            }
        }
    })
}

pub fn draw(frame: &mut Frame<'_>, screen: &Screen, lang: Lang, theme: Theme, ascii: bool) {
    let s = styles(theme);
    let area = frame.area();
    let [row] = Layout::vertical([Constraint::Length(14.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(70.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(borders(ascii))
        .title(format!(" Guichet · {} ", lang.t("first.title")));
    let width = usize::from(cell.width.saturating_sub(2));
    let mut lines = vec![Line::raw(lang.t("first.welcome")), Line::raw("")];
    match screen {
        Screen::Choice => {
            for (key, text) in [
                ("d", "first.demo"),
                ("l", "first.login"),
                ("q", "first.quit"),
            ] {
                lines.push(Line::from(vec![
                    Span::styled(format!(" {key} "), s.key),
                    Span::raw(lang.t(text)),
                ]));
            }
        }
        Screen::Form(form) => {
            for (i, label) in LABELS.iter().enumerate() {
                let value = if i == 2 {
                    "•".repeat(form.fields[2].chars().count())
                } else {
                    form.fields[i].clone()
                };
                let cursor = if i == form.focus && !form.checking {
                    "_"
                } else {
                    ""
                };
                let line = Line::from(vec![
                    Span::styled(format!("{:<14}", lang.t(label)), s.header),
                    Span::raw(fit(
                        &format!("{value}{cursor}"),
                        width.saturating_sub(15),
                        ascii,
                    )),
                ]);
                lines.push(if i == form.focus {
                    line.style(s.selected)
                } else {
                    line
                });
            }
            lines.push(Line::raw(""));
            if form.checking {
                lines.push(Line::styled(lang.t("first.checking"), s.pending));
            } else if let Some(error) = &form.error {
                lines.push(Line::styled(fit(error, width * 2, ascii), s.error));
            }
            lines.push(Line::styled(lang.t("first.form_keys"), s.muted));
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        cell,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_named_after_the_host() {
        assert_eq!(
            profile_name("https://mairie-condom.service-now.com/"),
            "mairie-condom"
        );
        assert_eq!(profile_name("http://127.0.0.1:8080"), "default");
        assert_eq!(profile_name("https://x.y"), "x");
        assert_eq!(profile_name("nonsense"), "nonsense");
        assert_eq!(profile_name(""), "default");
    }

    #[test]
    fn the_form_says_what_is_missing() {
        let mut form = Form::default();
        assert_eq!(invalid(&form), Some("first.bad_url"));
        form.fields[0] = "https://instance.service-now.com".into();
        assert_eq!(invalid(&form), Some("first.no_user"));
        form.fields[1] = "jdupont".into();
        assert_eq!(invalid(&form), Some("first.no_password"));
        form.fields[2] = "secret".into();
        assert_eq!(invalid(&form), None);
    }

    #[test]
    fn both_screens_draw_at_any_size() {
        use ratatui::Terminal;
        use ratatui::backend::TestBackend;
        let form = Screen::Form(Form {
            fields: ["https://x.example.fr".into(), "agent".into(), "pw".into()],
            focus: 2,
            error: Some("wrong user name or password".into()),
            checking: false,
        });
        for screen in [Screen::Choice, form] {
            for (w, h) in [(1, 1), (20, 5), (80, 24)] {
                let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
                terminal
                    .draw(|f| draw(f, &screen, Lang::Fr, Theme::Mono, false))
                    .expect("draw");
                let text: String = terminal
                    .backend()
                    .buffer()
                    .content()
                    .iter()
                    .map(|c| c.symbol())
                    .collect();
                assert!(!text.contains("pw"), "the password never shows");
            }
        }
    }
}
