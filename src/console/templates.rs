//! Reply templates: standard answers with placeholders ({citizen},
//! {number}, {procedure}, {agent}). Defaults ship in assets; an agent's own
//! `templates.toml` in the config folder comes first.

use std::collections::BTreeMap;
use std::path::Path;

use crate::i18n::Lang;

#[derive(Debug, serde::Deserialize)]
struct File {
    #[serde(default)]
    template: Vec<Template>,
}

#[derive(Debug, serde::Deserialize)]
struct Template {
    title: BTreeMap<String, String>,
    text: BTreeMap<String, String>,
}

fn read(source: &str, lang: Lang) -> Vec<(String, String)> {
    let Ok(file) = toml::from_str::<File>(source) else {
        tracing::warn!("a templates file could not be read");
        return Vec::new();
    };
    file.template
        .into_iter()
        .filter_map(|t| {
            let pick = |m: &BTreeMap<String, String>| {
                m.get(lang.code()).or_else(|| m.values().next()).cloned()
            };
            Some((pick(&t.title)?, pick(&t.text)?))
        })
        .collect()
}

/// The agent's templates first, then the defaults, in both languages (the
/// agent may switch with `:lang`).
pub fn load(config_dir: &Path) -> Vec<(Lang, String, String)> {
    let mine = std::fs::read_to_string(config_dir.join("templates.toml")).unwrap_or_default();
    let mut out = Vec::new();
    for lang in Lang::ALL {
        for source in [mine.as_str(), include_str!("../../assets/templates.toml")] {
            out.extend(
                read(source, lang)
                    .into_iter()
                    .map(|(title, text)| (lang, title, text)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_templates_read_in_both_languages() {
        for lang in crate::i18n::Lang::ALL {
            let t = super::read(include_str!("../../assets/templates.toml"), lang);
            assert!(t.len() >= 3, "{lang:?}");
            assert!(t.iter().any(|(_, text)| text.contains("{citizen}")));
        }
    }
}
