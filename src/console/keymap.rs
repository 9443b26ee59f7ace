//! Keys to commands. The defaults are `assets/keymap.toml` (embedded); an
//! agent's own `keymap.toml` in the config folder overrides them key by key.
//! A file is validated as a whole when loaded: an unknown section or
//! command, a key that cannot be read, the same key twice, or a destructive
//! command on a bare Ctrl key is an error naming the file and the line, and
//! the console starts on the defaults rather than half a keymap.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::command::{Command, Context, SPECS};

/// A key as the keymap names it: `t`, `T`, `ctrl-s`, `shift-tab`, `enter`, `f1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeName,
    pub ctrl: bool,
    pub alt: bool,
}

/// The key codes the keymap can name (crossterm's, minus the exotic ones),
/// ordered so that help lists are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeName {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Space,
}

impl Key {
    /// The key of a terminal event, if the keymap can name it.
    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let alt = event.modifiers.contains(KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::Char(' ') => KeyCodeName::Space,
            // Shift is carried by the character itself ('T' not 'shift-t').
            KeyCode::Char(c) => KeyCodeName::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            KeyCode::F(n) => KeyCodeName::F(n),
            KeyCode::Enter => KeyCodeName::Enter,
            KeyCode::Esc => KeyCodeName::Esc,
            KeyCode::Tab => KeyCodeName::Tab,
            KeyCode::BackTab => KeyCodeName::BackTab,
            KeyCode::Backspace => KeyCodeName::Backspace,
            KeyCode::Delete => KeyCodeName::Delete,
            KeyCode::Insert => KeyCodeName::Insert,
            KeyCode::Up => KeyCodeName::Up,
            KeyCode::Down => KeyCodeName::Down,
            KeyCode::Left => KeyCodeName::Left,
            KeyCode::Right => KeyCodeName::Right,
            KeyCode::Home => KeyCodeName::Home,
            KeyCode::End => KeyCodeName::End,
            KeyCode::PageUp => KeyCodeName::PageUp,
            KeyCode::PageDown => KeyCodeName::PageDown,
            _ => return None,
        };
        Some(Key { code, ctrl, alt })
    }

    pub fn parse(text: &str) -> Option<Key> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").or(lower.strip_prefix("c-")) {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").or(lower.strip_prefix("m-")) {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if lower.starts_with("shift-") && lower != "shift-" {
                let r = &rest[6..];
                return match r.to_ascii_lowercase().as_str() {
                    "tab" => Some(Key {
                        code: KeyCodeName::BackTab,
                        ctrl,
                        alt,
                    }),
                    _ => {
                        let mut chars = r.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c), None) if c.is_alphabetic() => {
                                let c = c.to_uppercase().next().unwrap_or(c);
                                // Under Ctrl a terminal sends no case (see
                                // `from_event`): `ctrl-shift-f` is Ctrl-f.
                                Some(Key {
                                    code: KeyCodeName::Char(if ctrl {
                                        c.to_ascii_lowercase()
                                    } else {
                                        c
                                    }),
                                    ctrl,
                                    alt,
                                })
                            }
                            _ => None,
                        }
                    }
                };
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCodeName::Enter,
            "esc" | "escape" => KeyCodeName::Esc,
            "tab" => KeyCodeName::Tab,
            "backtab" => KeyCodeName::BackTab,
            "backspace" => KeyCodeName::Backspace,
            "delete" | "del" => KeyCodeName::Delete,
            "insert" | "ins" => KeyCodeName::Insert,
            "up" => KeyCodeName::Up,
            "down" => KeyCodeName::Down,
            "left" => KeyCodeName::Left,
            "right" => KeyCodeName::Right,
            "home" => KeyCodeName::Home,
            "end" => KeyCodeName::End,
            "pageup" | "pgup" => KeyCodeName::PageUp,
            "pagedown" | "pgdn" => KeyCodeName::PageDown,
            "space" => KeyCodeName::Space,
            f if f.len() >= 2
                && f.starts_with('f')
                && f[1..].chars().all(|c| c.is_ascii_digit()) =>
            {
                match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCodeName::F(n),
                    _ => return None,
                }
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_control() && c != ' ' => {
                        KeyCodeName::Char(if ctrl { c.to_ascii_lowercase() } else { c })
                    }
                    _ => return None,
                }
            }
        };
        Some(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCodeName::Char(c) => write!(f, "{c}"),
            KeyCodeName::F(n) => write!(f, "F{n}"),
            KeyCodeName::Enter => f.write_str("Enter"),
            KeyCodeName::Esc => f.write_str("Esc"),
            KeyCodeName::Tab => f.write_str("Tab"),
            KeyCodeName::BackTab => f.write_str("Shift-Tab"),
            KeyCodeName::Backspace => f.write_str("Backspace"),
            KeyCodeName::Delete => f.write_str("Del"),
            KeyCodeName::Insert => f.write_str("Ins"),
            KeyCodeName::Up => f.write_str("Up"),
            KeyCodeName::Down => f.write_str("Down"),
            KeyCodeName::Left => f.write_str("Left"),
            KeyCodeName::Right => f.write_str("Right"),
            KeyCodeName::Home => f.write_str("Home"),
            KeyCodeName::End => f.write_str("End"),
            KeyCodeName::PageUp => f.write_str("PgUp"),
            KeyCodeName::PageDown => f.write_str("PgDn"),
            KeyCodeName::Space => f.write_str("Space"),
        }
    }
}

/// A keymap file's mistake, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct KeymapError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct Keymap {
    bindings: HashMap<(Context, Key), Command>,
}

pub const DEFAULTS: &str = include_str!("../../assets/keymap.toml");

type RawFile = BTreeMap<String, BTreeMap<String, toml::Spanned<String>>>;

impl Keymap {
    /// The embedded defaults (validated by a unit test).
    pub fn defaults() -> Keymap {
        Keymap::parse(DEFAULTS, "assets/keymap.toml").unwrap_or_default()
    }

    /// The defaults with the agent's file over them; the file's errors, if
    /// any, are returned beside the defaults, which are then used alone.
    pub fn load(user_file: &Path) -> (Keymap, Vec<KeymapError>) {
        let mut keymap = Keymap::defaults();
        let text = match std::fs::read_to_string(user_file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (keymap, Vec::new()),
            Err(e) => {
                return (
                    keymap,
                    vec![KeymapError {
                        file: user_file.display().to_string(),
                        line: 0,
                        message: format!("cannot read: {e}"),
                    }],
                );
            }
        };
        match Keymap::parse(&text, &user_file.display().to_string()) {
            Ok(mine) => {
                keymap.bindings.extend(mine.bindings);
                (keymap, Vec::new())
            }
            Err(errors) => (keymap, errors),
        }
    }

    /// Reads a keymap file; every mistake is reported, not only the first.
    pub fn parse(text: &str, file: &str) -> Result<Keymap, Vec<KeymapError>> {
        let error = |line: usize, message: String| KeymapError {
            file: file.to_string(),
            line,
            message,
        };
        let raw: RawFile = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let line = e.span().map_or(0, |span| line_of(text, span.start));
                return Err(vec![error(line, e.message().to_string())]);
            }
        };
        let mut errors = Vec::new();
        let mut bindings = HashMap::new();
        let mut seen: HashMap<(Context, Key), (String, usize)> = HashMap::new();
        for (section, table) in raw {
            let Some(context) = Context::parse(&section) else {
                let line = text
                    .lines()
                    .position(|l| l.trim() == format!("[{section}]"))
                    .map_or(0, |i| i + 1);
                errors.push(error(
                    line,
                    format!("unknown section [{section}] (known: global, queues, case, outbox)"),
                ));
                continue;
            };
            // In the file's order, so that a key bound twice is reported
            // where it is bound the second time.
            let mut table: Vec<_> = table.into_iter().collect();
            table.sort_by_key(|(_, command)| command.span().start);
            for (key_text, command) in table {
                let line = line_of(text, command.span().start);
                let Some(key) = Key::parse(&key_text) else {
                    errors.push(error(line, format!("cannot read the key '{key_text}'")));
                    continue;
                };
                let Some(cmd) = Command::parse(command.get_ref()) else {
                    errors.push(error(
                        line,
                        format!(
                            "unknown action '{}' (see `?` in the console for the names)",
                            command.get_ref()
                        ),
                    ));
                    continue;
                };
                if !cmd.contexts().contains(&context) {
                    let wheres: Vec<&str> = cmd.contexts().iter().map(|c| c.name()).collect();
                    errors.push(error(
                        line,
                        format!(
                            "'{}' does not apply in [{section}] (it does in [{}])",
                            cmd.name(),
                            wheres.join("], [")
                        ),
                    ));
                    continue;
                }
                if key.ctrl && !key.alt && cmd.is_destructive() {
                    errors.push(error(
                        line,
                        format!(
                            "'{}' loses work if pressed by mistake: not on a bare Ctrl key ({key})",
                            cmd.name()
                        ),
                    ));
                    continue;
                }
                if let Some((other, other_line)) = seen.get(&(context, key)) {
                    errors.push(error(
                        line,
                        format!(
                            "the key {key} is bound twice in [{section}] ('{other}' on line {other_line})"
                        ),
                    ));
                    continue;
                }
                seen.insert((context, key), (key_text.clone(), line));
                bindings.insert((context, key), cmd);
            }
        }
        if errors.is_empty() {
            Ok(Keymap { bindings })
        } else {
            errors.sort_by_key(|e| e.line);
            Err(errors)
        }
    }

    /// The command of a key where the agent is: the screen's own keys
    /// first, then the global ones.
    pub fn command(&self, context: Context, key: Key) -> Option<Command> {
        self.bindings
            .get(&(context, key))
            .or_else(|| self.bindings.get(&(Context::Global, key)))
            .copied()
    }

    /// The keys of a command in a context, shortest first (for the key bar
    /// and the help).
    pub fn keys_of(&self, context: Context, command: Command) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .bindings
            .iter()
            .filter(|((c, _), cmd)| *c == context && **cmd == command)
            .map(|((_, k), _)| *k)
            .collect();
        keys.sort_by_key(|k| (k.to_string().chars().count(), *k));
        keys
    }

    /// Every spec with its keys where the agent is, in table order.
    pub fn specs_for(&self, context: Context) -> Vec<(Command, Context, Vec<Key>)> {
        SPECS
            .iter()
            .filter(|s| s.context == context || s.context == Context::Global)
            .map(|s| (s.command, s.context, self.keys_of(s.context, s.command)))
            .collect()
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |t| t.matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_cover_every_command() {
        let keymap = Keymap::parse(DEFAULTS, "assets/keymap.toml").expect("defaults valid");
        for spec in SPECS {
            assert!(
                !keymap.keys_of(spec.context, spec.command).is_empty()
                    || matches!(
                        spec.command,
                        Command::LangEn | Command::LangFr | Command::Offline | Command::Online
                    ),
                "{} has no key in [{}]",
                spec.command.name(),
                spec.context.name()
            );
        }
    }

    #[test]
    fn keys_read_as_agents_write_them() {
        assert_eq!(
            Key::parse("ctrl-s").map(|k| k.to_string()),
            Some("Ctrl-s".into())
        );
        assert_eq!(Key::parse("C-S"), Key::parse("ctrl-s"));
        assert_eq!(
            Key::parse("shift-tab").map(|k| k.to_string()),
            Some("Shift-Tab".into())
        );
        assert_eq!(Key::parse("shift-t"), Key::parse("T"));
        // Found by the fuzz target: a Ctrl key has no case, with shift- too.
        assert_eq!(Key::parse("ctrl-shift-f"), Key::parse("ctrl-f"));
        assert_eq!(Key::parse("PgDn"), Key::parse("pagedown"));
        assert_eq!(Key::parse("f1").map(|k| k.to_string()), Some("F1".into()));
        assert_eq!(Key::parse("é").map(|k| k.to_string()), Some("é".into()));
        for bad in ["", "ctrl-", "f13", "two", "shift-"] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn mistakes_name_the_file_and_the_line() {
        let text = "[queues]\n\"t\" = \"take\"\n\"x\" = \"explode\"\n\"ctrl-s\" = \"take\"\n\"C-s\" = \"assign\"\n\"??\" = \"help\"\n\n[case]\n\"r\" = \"retry\"\n[outbox]\n\"ctrl-d\" = \"drop\"\n[elsewhere]\n\"a\" = \"help\"\n";
        let errors = Keymap::parse(text, "keymap.toml").expect_err("invalid");
        let lines: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 3 && m.contains("unknown action 'explode'")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 5 && m.contains("bound twice")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 6 && m.contains("cannot read the key")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 9 && m.contains("does not apply in [case]")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 11 && m.contains("bare Ctrl")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 12 && m.contains("unknown section")),
            "{lines:?}"
        );
        assert!(errors[0].to_string().starts_with("keymap.toml:"));
        let broken = Keymap::parse("[queues\n", "k.toml").expect_err("not toml");
        assert_eq!(broken[0].line, 1);
    }

    #[test]
    fn a_bad_user_file_leaves_the_defaults_whole() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("keymap.toml");
        std::fs::write(&file, "[queues]\n\"t\" = \"nope\"\n").expect("write");
        let (keymap, errors) = Keymap::load(&file);
        assert_eq!(errors.len(), 1);
        let t = Key::parse("t").expect("key");
        assert_eq!(keymap.command(Context::Queues, t), Some(Command::Take));
        std::fs::write(&file, "[queues]\n\"T\" = \"take\"\n").expect("write");
        let (keymap, errors) = Keymap::load(&file);
        assert!(errors.is_empty());
        let shift_t = Key::parse("T").expect("key");
        assert_eq!(
            keymap.command(Context::Queues, shift_t),
            Some(Command::Take)
        );
        assert_eq!(
            keymap.command(Context::Queues, t),
            Some(Command::Take),
            "defaults kept"
        );
    }
}
