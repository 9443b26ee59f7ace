//! Text as agents type it: lower case, accents ignored ('José' finds 'jose').

/// Lower case with accents removed, using the fuzzy matcher's own Unicode
/// table so that every search in Guichet folds text the same way.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(nucleo_matcher::chars::normalize)
        .map(|c| if c == '’' { '\'' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn folds_case_and_accents() {
        assert_eq!(
            super::fold("Hélène ÉTAT-CIVIL Françoise"),
            "helene etat-civil francoise"
        );
        assert_eq!(super::fold("l’accueil"), "l'accueil");
    }
}
