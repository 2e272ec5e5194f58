//! Object types and materials across languages: "icon", "icona", "Ikone",
//! "icône" and "икона" all name one concept, indexed as such, so an
//! officer's word finds a record written in another language.
//!
//! The terms are data (`thesaurus.tsv`, after the Getty AAT's preferred
//! terms). A term names its concept as written (folded) in any language,
//! and by its stem only in its own language ([`stem_key`]), so inflected
//! forms ("Ikonen", "icone") find the concept while an English "Monet" does
//! not find the Italian "moneta". A concept found so counts for less than
//! the word itself (`query::ALIAS_SHARE`).

use super::analysis::{Analysis, LANGUAGES, language, plain, stem_key};
use std::collections::HashMap;

const DATA: &str = include_str!("thesaurus.tsv");

/// Word (folded, stemmed or as written) → the concepts it names.
pub(super) struct Thesaurus {
    concepts: HashMap<String, Vec<&'static str>>,
}

impl Thesaurus {
    pub(super) fn load(analysis: &Analysis) -> Thesaurus {
        let mut lines = DATA
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
        let codes: Vec<&str> = lines
            .next()
            .map(|h| h.split('\t').skip(1).collect())
            .unwrap_or_default();
        debug_assert!(codes.iter().all(|c| LANGUAGES.iter().any(|(l, _)| l == c)));
        let header: Vec<usize> = codes.into_iter().map(language).collect();
        let mut concepts: HashMap<String, Vec<&'static str>> = HashMap::new();
        for line in lines {
            let mut cells = line.split('\t');
            let Some(id) = cells.next() else { continue };
            for (cell, &lang) in cells.zip(&header) {
                for term in cell.split('|').filter(|t| !t.is_empty()) {
                    // Two-word terms ("eau-forte") would name the concept by
                    // either word alone: left out.
                    let written = plain(term);
                    if written.len() != 1 {
                        continue;
                    }
                    let stemmed = analysis.words(lang, true, term);
                    let stemmed = stemmed.iter().map(|s| stem_key(lang, s));
                    for key in written.into_iter().chain(stemmed) {
                        let ids = concepts.entry(key).or_default();
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                }
            }
        }
        Thesaurus { concepts }
    }

    /// The concepts any of `keys` names, each once.
    pub(super) fn concepts<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a str>,
    ) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for key in keys {
            for id in self.concepts.get(key).into_iter().flatten() {
                if !out.contains(id) {
                    out.push(id);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_concept_across_languages_and_inflections() {
        let a = Analysis::new();
        let t = Thesaurus::load(&a);
        let keys = |lang: &str, word: &str| -> Vec<String> {
            let l = language(lang);
            let stems = a.words(l, true, word);
            plain(word)
                .into_iter()
                .chain(stems.iter().map(|s| stem_key(l, s)))
                .collect()
        };
        let concepts = |k: Vec<String>| t.concepts(k.iter().map(String::as_str));
        for (lang, word) in [
            ("en", "icons"),
            ("de", "Ikonen"),
            ("ru", "иконы"),
            ("fr", "icône"),
        ] {
            assert_eq!(concepts(keys(lang, word)), ["icon"], "{word}");
        }
        assert_eq!(concepts(keys("it", "tela")), ["canvas"]);
        // A stem names a concept only in its own language.
        assert!(concepts(keys("en", "Monet")).is_empty());
        assert_eq!(concepts(keys("it", "moneta")), ["coin"]);
        assert!(t.concepts(["eau", "forte"]).is_empty());
    }
}
