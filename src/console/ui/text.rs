//! Data text made safe for the screen: control characters (including the
//! bidirectional overrides that reorder a line) neutralised, and widths
//! measured in terminal cells, so that no name or comment breaks a border.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// One line: every control or bidi-control character becomes a space.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if is_unsafe(c) { ' ' } else { c })
        .collect()
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Several lines: line breaks kept, other controls neutralised.
pub fn clean_lines(text: &str) -> Vec<String> {
    text.lines().map(clean).collect()
}

/// Cut to `width` cells, with an ellipsis when cut (`~` in ASCII mode).
pub fn fit(text: &str, width: usize, ascii: bool) -> String {
    let text = clean(text);
    if text.width() <= width {
        return text;
    }
    if width == 0 {
        return String::new();
    }
    let ellipsis = if ascii { '~' } else { '…' };
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push(ellipsis);
    out
}

/// `fit`, then padded with spaces to exactly `width` cells.
pub fn cell(text: &str, width: usize, ascii: bool) -> String {
    let mut out = fit(text, width, ascii);
    let w = out.width();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

/// Which characters of `text` belong to an occurrence of one of `words`
/// (already folded), compared accent- and case-insensitively: what the
/// search highlights in a row.
pub fn matches(text: &str, words: &[String]) -> Vec<bool> {
    let chars: Vec<char> = text.chars().collect();
    let folded: Vec<char> = chars
        .iter()
        .map(|c| {
            let lower = c.to_lowercase().next().unwrap_or(*c);
            nucleo_matcher::chars::normalize(lower)
        })
        .collect();
    let mut hit = vec![false; chars.len()];
    for word in words {
        let word: Vec<char> = word.chars().collect();
        if word.is_empty() || word.len() > folded.len() {
            continue;
        }
        for start in 0..=folded.len() - word.len() {
            if folded[start..start + word.len()] == word[..] {
                hit[start..start + word.len()]
                    .iter_mut()
                    .for_each(|h| *h = true);
            }
        }
    }
    hit
}

/// Contact details hidden until revealed: says there is one, not what.
pub fn mask(text: &str, ascii: bool) -> String {
    match (text.is_empty(), ascii) {
        (true, _) => String::new(),
        (false, false) => "•••••".to_string(),
        (false, true) => "*****".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_never_reach_the_screen() {
        assert_eq!(clean("a\tb\u{1b}[31mc\u{202E}d"), "a b [31mc d");
        assert_eq!(clean_lines("one\ntwo\r\n"), ["one", "two"]);
    }

    #[test]
    fn matches_ignore_accents_and_case() {
        let hits = matches("José LEFÈVRE", &["jose".into(), "lef".into()]);
        let marked: String = "José LEFÈVRE"
            .chars()
            .zip(&hits)
            .map(|(c, h)| if *h { c } else { '.' })
            .collect();
        assert_eq!(marked, "José.LEF....");
        assert!(matches("abc", &["abcd".into()]).iter().all(|h| !h));
    }

    #[test]
    fn widths_are_cells_not_chars() {
        assert_eq!(fit("日本語テキスト", 6, false), "日本…");
        assert!(fit("日本語テキスト", 6, false).width() <= 6);
        assert_eq!(cell("ab", 4, false), "ab  ");
        assert_eq!(fit("abcdef", 4, true), "abc~");
        assert_eq!(fit("abc", 0, false), "");
        assert_eq!(
            cell("e\u{301}te", 4, false).width(),
            4,
            "combining marks take no cell"
        );
    }
}
