//! Reading a password on the terminal without showing it: the screens of a
//! front desk face the public.

use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};

/// Reads one line with the terminal's echo off; `None` when the agent gave
/// up (Ctrl-C, Esc, Ctrl-D on an empty line).
pub fn read_hidden(prompt: &str) -> std::io::Result<Option<String>> {
    eprint!("{prompt}");
    crossterm::terminal::enable_raw_mode()?;
    let typed = read_keys();
    // The terminal gets its echo back whatever happened while reading.
    let restored = crossterm::terminal::disable_raw_mode();
    eprintln!();
    restored?;
    typed
}

fn read_keys() -> std::io::Result<Option<String>> {
    let mut typed = zeroize::Zeroizing::new(String::new());
    loop {
        let Event::Key(key) = crossterm::event::read()? else {
            continue;
        };
        if key.kind == KeyEventKind::Release {
            continue;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Enter => return Ok(Some(typed.to_string())),
            KeyCode::Esc => return Ok(None),
            KeyCode::Char('c') if ctrl => return Ok(None),
            KeyCode::Char('d') if ctrl && typed.is_empty() => return Ok(None),
            KeyCode::Char('u') if ctrl => typed.clear(),
            KeyCode::Backspace => {
                typed.pop();
            }
            KeyCode::Char(c) if !ctrl => typed.push(c),
            _ => {}
        }
    }
}
