//! French and English for every string an agent reads. The texts live in
//! `assets/i18n/{en,fr}.toml` (embedded in the binary), flat `key = "text"`
//! with `{name}` placeholders; a unit test fails when a key or a placeholder
//! is missing in either language, or when the code asks for a key neither
//! file has.
//!
//! Why not an i18n crate: the candidates (fluent, rust-i18n) bring a macro
//! build step or a plural engine we do not need, on a two-core build; two
//! TOML tables read by the `toml` crate we already have do the job, and the
//! completeness test gives the safety those crates give.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// `fr`, `fr_FR.UTF-8`, `french`... give French; `en*` English.
    pub fn from_code(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        if code.starts_with("fr") {
            Some(Lang::Fr)
        } else if code.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The profile's choice first, else the locale (`LC_ALL`, `LC_MESSAGES`,
    /// `LANG`, the first one set and not empty, as POSIX orders them).
    pub fn choose(profile: Option<&str>) -> Lang {
        if let Some(lang) = profile.and_then(Lang::from_code) {
            return lang;
        }
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|var| std::env::var(var).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Lang::from_code(&v))
            .unwrap_or(Lang::En)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn is_french(self) -> bool {
        self == Lang::Fr
    }

    /// The text of `key`; the key itself if missing (the test makes sure
    /// none is), so that a gap shows instead of crashing a counter.
    pub fn t(self, key: &str) -> &'static str {
        let table = match self {
            Lang::En => &*EN,
            Lang::Fr => &*FR,
        };
        match table.get(key) {
            Some(text) => text.as_str(),
            None => missing(key),
        }
    }

    /// The text of `key` with its `{name}` placeholders filled in one
    /// pass: a value that itself holds `{name}` (a citizen's street, a
    /// comment) is shown as it is, never read as a placeholder.
    pub fn f(self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        use std::fmt::Write;
        let template = self.t(key);
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let value = after.find('}').and_then(|close| {
                let name = &after[..close];
                args.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, value)| (value, close))
            });
            match value {
                Some((value, close)) => {
                    let _ = write!(out, "{value}");
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// A missing key shows as itself; each one is kept once (interned), so a
/// screen that asks for it at every frame does not allocate each time.
fn missing(key: &str) -> &'static str {
    static SEEN: LazyLock<std::sync::Mutex<std::collections::HashSet<&'static str>>> =
        LazyLock::new(Default::default);
    let Ok(mut seen) = SEEN.lock() else {
        return "?";
    };
    if let Some(known) = seen.get(key) {
        return known;
    }
    tracing::warn!(key, "missing translation");
    let leaked: &'static str = Box::leak(key.to_string().into_boxed_str());
    seen.insert(leaked);
    leaked
}

fn load(source: &str) -> HashMap<String, String> {
    // The tables are ours and embedded: a broken one is a build mistake the
    // unit test catches; at run time an empty table still leaves keys shown.
    toml::from_str::<HashMap<String, String>>(source).unwrap_or_default()
}

/// Each language's texts: the console's and the command line's, in two
/// files so that each front end's strings stay together.
const EN_SOURCES: [&str; 2] = [
    include_str!("../assets/i18n/en.toml"),
    include_str!("../assets/i18n/cli.en.toml"),
];
const FR_SOURCES: [&str; 2] = [
    include_str!("../assets/i18n/fr.toml"),
    include_str!("../assets/i18n/cli.fr.toml"),
];

fn load_all(sources: &[&str]) -> HashMap<String, String> {
    sources.iter().flat_map(|s| load(s)).collect()
}

static EN: LazyLock<HashMap<String, String>> = LazyLock::new(|| load_all(&EN_SOURCES));
static FR: LazyLock<HashMap<String, String>> = LazyLock::new(|| load_all(&FR_SOURCES));

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn placeholders(text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            out.insert(rest[start + 1..start + len].to_string());
            rest = &rest[start + len..];
        }
        out
    }

    fn table(sources: &[&str]) -> HashMap<String, String> {
        let mut all = HashMap::new();
        for source in sources {
            let one: HashMap<String, String> = toml::from_str(source).expect("a table parses");
            for (key, text) in one {
                assert!(
                    all.insert(key.clone(), text).is_none(),
                    "{key} is defined twice"
                );
            }
        }
        all
    }

    #[test]
    fn both_languages_have_every_key_with_the_same_placeholders() {
        let en = table(&EN_SOURCES);
        let fr = table(&FR_SOURCES);
        let en_keys: BTreeSet<_> = en.keys().collect();
        let fr_keys: BTreeSet<_> = fr.keys().collect();
        let only_en: Vec<_> = en_keys.difference(&fr_keys).collect();
        let only_fr: Vec<_> = fr_keys.difference(&en_keys).collect();
        assert!(only_en.is_empty(), "missing in fr.toml: {only_en:?}");
        assert!(only_fr.is_empty(), "missing in en.toml: {only_fr:?}");
        for (key, text) in &en {
            assert_eq!(
                placeholders(text),
                placeholders(&fr[key]),
                "placeholders of {key} differ"
            );
            assert!(
                !text.trim().is_empty() && !fr[key].trim().is_empty(),
                "{key} is empty"
            );
        }
    }

    /// Every `t("...")` / `f("...")` key the code asks for exists.
    #[test]
    fn every_key_the_code_uses_exists() {
        let en = table(&EN_SOURCES);
        let mut missing = Vec::new();
        let mut seen = 0;
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") || path.ends_with("i18n.rs") {
                    continue;
                }
                let code = std::fs::read_to_string(&path).expect("read source");
                for key in used_keys(&code) {
                    seen += 1;
                    if !en.contains_key(&key) {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
            }
        }
        assert!(seen > 50, "the scan found only {seen} keys: is it broken?");
        assert!(
            missing.is_empty(),
            "keys missing from the tables: {missing:#?}"
        );
    }

    /// Namespaces of the tables: a string literal `"ns.key"` in the code
    /// with one of these is a key, whether passed to `t`/`f` or kept in a
    /// table (queue titles, column titles, reasons).
    const NAMESPACES: &[&str] = &[
        "action", "bar", "case", "cli", "col", "command", "confirm", "dash", "editor", "error",
        "field", "help", "hint", "link", "msg", "outbox", "picker", "priority", "queue", "screen",
        "sort", "submit", "ui", "why",
    ];

    fn used_keys(code: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut parts = code.split('"');
        // Every other piece between quotes is a literal (good enough for
        // our sources, where keys never hold escaped quotes).
        parts.next();
        for (i, piece) in parts.enumerate() {
            if i % 2 != 0 {
                continue;
            }
            let Some((ns, rest)) = piece.split_once('.') else {
                continue;
            };
            if NAMESPACES.contains(&ns)
                && !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                keys.push(piece.to_string());
            }
        }
        keys
    }

    #[test]
    fn locale_and_profile_choose_the_language() {
        assert_eq!(Lang::from_code("fr_FR.UTF-8"), Some(Lang::Fr));
        assert_eq!(Lang::from_code("en_GB"), Some(Lang::En));
        assert_eq!(Lang::from_code("C"), None);
        assert_eq!(Lang::choose(Some("fr")), Lang::Fr);
        assert_eq!(
            Lang::Fr.f("test.hello", &[("name", &"José")]),
            "Bonjour José"
        );
    }
}
