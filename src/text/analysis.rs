//! How record text and typed words become terms: stemming and stop words
//! by the record's language, accent folding, and Greek and Cyrillic
//! transliterated to Latin letters.
//!
//! A record is analysed in its own language (`Record::language`); a typed
//! word in every language the index holds, since an officer's language is
//! not the record's and a query names none.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, PreTokenizedString, RemoveLongFilter,
    SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer, Token,
};

/// [`LANGUAGES`]' English: the record model's controlled words are English.
pub(super) const ENGLISH: usize = 0;

/// Languages with a stemmer, by ISO 639-1 code; the first is the default
/// for a record with no language or one not listed here.
pub(super) const LANGUAGES: &[(&str, Language)] = &[
    ("en", Language::English),
    ("fr", Language::French),
    ("de", Language::German),
    ("it", Language::Italian),
    ("es", Language::Spanish),
    ("pt", Language::Portuguese),
    ("nl", Language::Dutch),
    ("da", Language::Danish),
    ("sv", Language::Swedish),
    ("no", Language::Norwegian),
    ("fi", Language::Finnish),
    ("hu", Language::Hungarian),
    ("ro", Language::Romanian),
    ("tr", Language::Turkish),
    ("ru", Language::Russian),
    ("el", Language::Greek),
    ("ar", Language::Arabic),
];

/// Longest word indexed, in bytes (40 Cyrillic or Greek letters); longer
/// runs are noise (hashes, URLs).
pub(super) const MAX_WORD: usize = 80;
/// Positions left between two subject terms, more than any phrase's slop,
/// so that a phrase never spans two terms.
const TERM_GAP: usize = 8;

/// Position of a language in [`LANGUAGES`]; English for an unknown code.
pub(super) fn language(code: &str) -> usize {
    LANGUAGES.iter().position(|(c, _)| *c == code).unwrap_or(0)
}

/// The analyzers of every language: lowercased, stop words dropped,
/// stemmed (or not), and folded ("Cézanne" → "cezann"). A stemmed word is
/// indexed both stemmed then folded (stemmers are written for the
/// language's own spelling: "été", "Ikonen") and folded then stemmed (as an
/// officer types it without accents: "Sevres" for "Sèvres").
pub(super) struct Analysis {
    stemmed: Vec<TextAnalyzer>,
    folded_stemmed: Vec<TextAnalyzer>,
    plain: Vec<TextAnalyzer>,
}

#[derive(Clone, Copy, PartialEq)]
enum Form {
    Plain,
    Stemmed,
    FoldedStemmed,
}

fn analyzer(lang: Language, form: Form) -> TextAnalyzer {
    let mut b = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD))
        .filter(LowerCaser)
        .dynamic();
    if let Some(stop) = StopWordFilter::new(lang) {
        b = b.filter_dynamic(stop);
    }
    match form {
        Form::Plain => b.filter_dynamic(AsciiFoldingFilter),
        Form::Stemmed => b
            .filter_dynamic(Stemmer::new(lang))
            .filter_dynamic(AsciiFoldingFilter),
        Form::FoldedStemmed => b
            .filter_dynamic(AsciiFoldingFilter)
            .filter_dynamic(Stemmer::new(lang)),
    }
    .build()
}

fn run(analyzer: &TextAnalyzer, text: &str) -> Vec<Token> {
    let mut a = analyzer.clone();
    let mut s = a.token_stream(text);
    let mut tokens: Vec<Token> = Vec::new();
    while s.advance() {
        tokens.push(s.token().clone());
    }
    tokens
}

impl Analysis {
    pub(super) fn new() -> Analysis {
        let all = |form| LANGUAGES.iter().map(|(_, l)| analyzer(*l, form)).collect();
        Analysis {
            stemmed: all(Form::Stemmed),
            folded_stemmed: all(Form::FoldedStemmed),
            plain: all(Form::Plain),
        }
    }

    /// The tokens of `text` in one language: as written (folded), or both
    /// stemmed forms at each position.
    fn tokens(&self, lang: usize, stem: bool, text: &str) -> Vec<Token> {
        if !stem {
            return run(&self.plain[lang], text);
        }
        let mut out = run(&self.stemmed[lang], text);
        let other = run(&self.folded_stemmed[lang], text);
        // The same words reach both stemmers (stop words go first), so the
        // positions pair up.
        if other.len() == out.len() {
            for (a, b) in out.clone().iter().zip(other) {
                if a.text != b.text {
                    out.push(b);
                }
            }
            out.sort_by_key(|t| t.position);
        }
        out
    }

    /// `text` as the record's language indexes it, stemmed or as written.
    pub(super) fn pre_tokenized(&self, lang: usize, stem: bool, text: &str) -> PreTokenizedString {
        PreTokenizedString {
            text: text.to_string(),
            tokens: self.tokens(lang, stem, text),
        }
    }

    /// Terms (a subject's) as one stemmed value, [`TERM_GAP`] positions
    /// apart, so that phrase queries stay within a term.
    pub(super) fn pre_tokenized_terms(&self, lang: usize, terms: &[&str]) -> PreTokenizedString {
        let text = terms.join("; ");
        let mut tokens = Vec::new();
        let (mut offset, mut position) = (0, 0);
        for term in terms {
            let mut last = None;
            for mut t in self.tokens(lang, true, term) {
                t.offset_from += offset;
                t.offset_to += offset;
                t.position += position;
                last = Some(t.position);
                tokens.push(t);
            }
            if let Some(p) = last {
                position = p + 1 + TERM_GAP;
            }
            offset += term.len() + 2;
        }
        PreTokenizedString { text, tokens }
    }

    /// The words of `text` in one language, stemmed (both forms) or not.
    pub(super) fn words(&self, lang: usize, stem: bool, text: &str) -> Vec<String> {
        self.tokens(lang, stem, text)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    /// The words of `text`, as written (folded), that its language drops as
    /// stop words, each once: a title such as "Io e lei" or "It" is made of
    /// nothing else, and must still be found by its words.
    pub(super) fn stop_words(&self, lang: usize, text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for w in plain(text) {
            if run(&self.plain[lang], &w).is_empty() && !out.contains(&w) {
                out.push(w);
            }
        }
        out
    }

    /// A typed word's stems in each of `langs`, with their language, each
    /// once. Empty when the word is a stop word in all of them.
    pub(super) fn stems_by_language(&self, langs: &[usize], word: &str) -> Vec<(usize, String)> {
        let mut out: Vec<(usize, String)> = Vec::new();
        for &l in langs {
            for s in self.words(l, true, word) {
                if !out.iter().any(|(m, t)| *m == l && *t == s) {
                    out.push((l, s));
                }
            }
        }
        out
    }

    /// A typed word's stems in each of `langs`, each once.
    #[cfg(test)]
    pub(super) fn stems(&self, langs: &[usize], word: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, s) in self.stems_by_language(langs, word) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }
}

/// A stem as the thesaurus keys it: only a stem of the same language names
/// the concept ("monet" is a stem of Italian "moneta", not of Monet).
pub(super) fn stem_key(lang: usize, stem: &str) -> String {
    format!("{}:{stem}", LANGUAGES[lang].0)
}

/// Folded and lowercased, no stop words dropped: a word as written, for
/// the unstemmed fields' queries and typo expansion.
pub(super) fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The words of `text` as [`plain_analyzer`] makes them.
pub(super) fn plain(text: &str) -> Vec<String> {
    let mut a = plain_analyzer();
    let mut s = a.token_stream(text);
    let mut out = Vec::new();
    while s.advance() {
        out.push(s.token().text.clone());
    }
    out
}

/// `words`, already analysed, as the tokens of their `join(" ")`.
pub(super) fn as_tokens(words: &[String]) -> PreTokenizedString {
    let text = words.join(" ");
    let mut tokens = Vec::with_capacity(words.len());
    let mut from = 0;
    for (position, w) in words.iter().enumerate() {
        tokens.push(Token {
            offset_from: from,
            offset_to: from + w.len(),
            position,
            text: w.clone(),
            position_length: 1,
        });
        from += w.len() + 1;
    }
    PreTokenizedString { text, tokens }
}

/// Greek or Cyrillic letters, which are indexed transliterated too.
pub(super) fn non_latin(word: &str) -> bool {
    word.chars().any(|c| {
        matches!(c, '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' | '\u{0400}'..='\u{052F}')
    })
}

/// A word in Latin letters as transliterations spell it many ways:
/// "Николай" is Nikolai, Nikolaj or Nikolay, so j and y become i.
pub(super) fn latin_key(word: &str) -> String {
    deunicode::deunicode(word)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| match c.to_ascii_lowercase() {
            'j' | 'y' => 'i',
            c => c,
        })
        .collect()
}

/// `"sculpture/bust"` → facet path parts; case and blanks ignored.
pub(super) fn type_parts(object_type: &str) -> Vec<String> {
    object_type
        .split('/')
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Decades named by the years in a free-form date ("c.1830-5" → 1830s),
/// so that an officer's "1830s" matches.
pub(super) fn decades(date: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in date.split(|c: char| !c.is_ascii_digit()) {
        if w.len() == 4 && (w.starts_with('1') || w.starts_with('2')) {
            let d = format!("{}0s", &w[..3]);
            if !out.contains(&d) {
                out.push(d);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_by_language_then_folds() {
        let a = Analysis::new();
        assert_eq!(
            a.words(language(""), true, "Boats of Cézanne"),
            ["boat", "cezann"]
        );
        assert_eq!(
            a.words(language("it"), true, "Icona di San Nicola"),
            ["icon", "san", "nicol"]
        );
        assert_eq!(
            a.words(language("ru"), true, "Икона Николая"),
            ["икон", "никол"]
        );
        assert_eq!(a.words(language("it"), false, "la Madonna"), ["madonna"]);
        assert!(a.stems(&[language("en"), language("it")], "the").len() == 1);
        assert_eq!(decades("c.1796-1805"), ["1790s", "1800s"]);
    }

    #[test]
    fn transliterates_greek_and_cyrillic_to_one_key() {
        assert!(non_latin("Николая") && non_latin("Νικόλαος") && !non_latin("Cézanne"));
        assert_eq!(latin_key("Николай"), latin_key("Nikolaj"));
        assert_eq!(latin_key("Nikolay"), "nikolai");
        assert_eq!(latin_key("Άγιος"), "agios");
    }
}
