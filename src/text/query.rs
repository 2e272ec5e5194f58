//! Typed words to a ranked list of records.
//!
//! Officers type a few words while looking at an object: some title words
//! (often misspelt), the artist's surname (maybe misspelt, maybe missing), a
//! material, a decade, what is depicted. So the query is not parsed with
//! tantivy's query language (a stray `:` or `"` must never become an
//! error): each typed word becomes one clause, a disjunction-max over
//! weighted fields, so a word counts once even if it appears in several
//! fields, and a record matching more words ranks higher.

use super::analysis::{ENGLISH, LANGUAGES, latin_key, plain, stem_key, type_parts};
use super::typos::idf;
use super::{Lexicon, TextError, TextFilter, TextHit, TextIndex};
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur, PhraseQuery, Query,
    TermQuery,
};
use tantivy::schema::{Facet, Field, IndexRecordOption, Value};
use tantivy::{Searcher, TantivyDocument, Term};

/// `score / (score + SCORE_HALF × word bonus)` maps scores into [0, 1);
/// one typed word found in a title lands near 0.45, three words near 0.7.
const SCORE_HALF: f32 = 1.5;
/// Distinct words of a query that are searched, in the order typed: a
/// description runs to a few dozen; more would only cost (each word is a
/// clause with its stems, typos and concepts), and the cost must not grow
/// with what a client sends.
pub const MAX_QUERY_WORDS: usize = 64;
/// BM25's term-frequency saturation in tantivy (`k1`): a term's score is
/// at most idf × (k1 + 1).
const BM25_K1: f32 = 1.2;

/// Field weights: what an officer types is mostly title and artist.
const W_TITLE: f32 = 3.0;
const W_MAKER: f32 = 2.5;
const W_MATERIALS: f32 = 1.5;
const W_SUBJECT: f32 = 0.8;
const W_BODY: f32 = 0.5;
const W_DECADE: f32 = 1.5;
/// A word of another language naming the same type or material.
const W_CONCEPT: f32 = 1.5;
/// A Latin-letter word matching a Greek or Cyrillic one.
const W_TRANSLIT: f32 = 2.5;
/// The unstemmed word beats its stemmed form a little ("Moore" is not
/// "moors", though both stem to "moor").
const PLAIN_BONUS: f32 = 1.1;
/// A misspelling candidate is worth less than the word itself.
const FUZZY_1: f32 = 0.7;
const FUZZY_2: f32 = 0.5;
/// Share of the word bonus for a match only through a misspelling.
const FUZZY_SHARE: f32 = 0.7;
/// Share of the word bonus for a match only through another name of the
/// same thing: a thesaurus concept or a transliteration. A word found as
/// typed ranks first; "kind" (German for child) or "son" (Russian сон,
/// sleep) still finds something, lower.
const ALIAS_SHARE: f32 = 0.7;
/// Share of the word bonus for a word found only as a stop word of the
/// record's language ("the", "la"): common words order records and find a
/// title made of them alone, but three of them never outweigh one other word.
const STOP_SHARE: f32 = 0.3;
/// Transliterations are expanded to near spellings only from this many
/// letters: shorter keys find too many unrelated words.
const MIN_TRANSLIT_TYPO: usize = 5;
/// Disjunction-max tie breaker: a word found in several fields of the
/// same record counts a little more.
const TIE_BREAKER: f32 = 0.1;
/// Two typed words side by side in one subject term ("machine gun",
/// "river Rhine"), in either order, a word between them allowed.
const W_PHRASE_SUBJECT: f32 = 0.5;
const PHRASE_SLOP: u32 = 1;
const MAX_PAIR_WORDS: usize = 8;

/// A record whose id is typed as the query (an inventory or file number,
/// as the officer has it on paper) ranks first: it outscores this many
/// matched words.
const W_ID: f32 = 4.0;

/// A source as the index keys it: agencies write "Interpol", "interpol "
/// and "INTERPOL" for the same database.
pub(super) fn source_key(source: &str) -> String {
    source.trim().to_lowercase()
}

/// `"sculpture/bust"` → facet `/sculpture/bust`.
pub(super) fn type_facet(object_type: &str) -> Option<Facet> {
    let parts = type_parts(object_type);
    (!parts.is_empty()).then(|| Facet::from_path(parts))
}

/// The flat score of a matched word, like Lucene's coordination factor:
/// known-item queries come from the record itself, so every matched word
/// counts for more than how rare it is, and a word found only in the
/// subject or description counts fully (what is depicted is what an expert
/// describes). It is more than the most any one word can score in any one
/// field (the rarest possible term, saturated, in the
/// unstemmed title), so that a record holding more of the typed words
/// always ranks above one holding fewer, and BM25 orders records holding
/// as many. It grows with the database as the rarest idf does.
fn word_bonus(num_docs: u64) -> f32 {
    W_TITLE * PLAIN_BONUS * (BM25_K1 + 1.0) * idf(num_docs.max(1), 1)
}

fn term_q(field: Field, text: &str, boost: f32) -> Box<dyn Query> {
    let q = TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    );
    Box::new(BoostQuery::new(Box::new(q), boost))
}

/// `q`, for records analysed in one of `langs` only; the language adds no
/// score.
fn in_languages(language: Field, langs: &[usize], q: Box<dyn Query>) -> Box<dyn Query> {
    let codes: Vec<(Occur, Box<dyn Query>)> = langs
        .iter()
        .map(|&l| {
            let code = Term::from_field_text(language, LANGUAGES[l].0);
            let t: Box<dyn Query> = Box::new(TermQuery::new(code, IndexRecordOption::Basic));
            (Occur::Should, t)
        })
        .collect();
    let filter = ConstScoreQuery::new(Box::new(BooleanQuery::new(codes)), 0.0);
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, q),
        (Occur::Must, Box::new(filter)),
    ]))
}

impl TextIndex {
    /// One clause per typed word: the best of its exact (stemmed) matches
    /// in every field, its concept in the thesaurus, its transliteration and
    /// its misspelling candidates, plus a flat bonus for matching the word
    /// at all, so that a record holding every typed word beats one holding
    /// fewer but rarer ones. `stems`: the word's stems in the index's
    /// languages, empty for a stop word in all of them (which is then
    /// found only where a record's language dropped it).
    fn word_clause(
        &self,
        searcher: &Searcher,
        lex: &Lexicon,
        raw: &str,
        stems: &[(usize, String)],
        bonus: f32,
    ) -> Result<Option<Box<dyn Query>>, TextError> {
        let f = &self.fields;
        let mut strong: Vec<Box<dyn Query>> = Vec::new();
        let mut weak: Vec<Box<dyn Query>> = Vec::new();
        let mut fuzzy: Vec<Box<dyn Query>> = Vec::new();
        let mut alias: Vec<Box<dyn Query>> = Vec::new();
        let lower = raw.to_lowercase();
        let decade_word = lower.len() == 5
            && lower.ends_with("0s")
            && lower[..4].bytes().all(|b| b.is_ascii_digit());
        if decade_word {
            strong.push(term_q(f.decade, &lower, W_DECADE));
        } else if lower.len() == 4 && lower.bytes().all(|b| b.is_ascii_digit()) {
            strong.push(term_q(
                f.decade,
                &format!("{}0s", &lower[..3]),
                W_DECADE * 0.5,
            ));
        }
        let as_written = plain(raw).into_iter().next();
        // Where the record's language dropped the word as a stop word: a
        // title made of nothing else ("Io e lei", "It") is still found.
        let stop: Vec<Box<dyn Query>> = as_written
            .iter()
            .map(|w| term_q(f.stopped, w, W_TITLE * PLAIN_BONUS))
            .collect();
        let written = as_written.filter(|_| !stems.is_empty());
        if let Some(written) = written {
            // Each stem with the languages that gave it. A stem of another
            // language than English matches only records analysed in it:
            // stemmers of two languages may give one string for unrelated
            // words (Italian "be" and English "being"; Italian "ikona" and
            // English "ikones"). An English stem matches every record, as
            // the record model's controlled words (types, materials) are
            // English whatever language the record is written in.
            let mut distinct: Vec<(&str, Vec<usize>)> = Vec::new();
            for (lang, stem) in stems {
                match distinct.iter_mut().find(|(s, _)| *s == stem.as_str()) {
                    Some((_, langs)) => langs.push(*lang),
                    None => distinct.push((stem, vec![*lang])),
                }
            }
            for (stem, langs) in distinct {
                let every =
                    langs.contains(&ENGLISH) || lex.languages.iter().all(|l| langs.contains(l));
                let q = |field, boost| match every {
                    true => term_q(field, stem, boost),
                    false => in_languages(f.language, &langs, term_q(field, stem, boost)),
                };
                strong.push(q(f.title, W_TITLE));
                strong.push(q(f.maker, W_MAKER));
                strong.push(q(f.materials, W_MATERIALS));
                weak.push(q(f.subject, W_SUBJECT));
                weak.push(q(f.body, W_BODY));
            }
            strong.push(term_q(f.title_plain, &written, W_TITLE * PLAIN_BONUS));
            strong.push(term_q(f.maker_plain, &written, W_MAKER * PLAIN_BONUS));
            alias = self.alias_clauses(lex, raw, &written, stems);
            fuzzy = self.typo_clauses(searcher, lex, &written)?;
        }
        if strong.is_empty()
            && weak.is_empty()
            && fuzzy.is_empty()
            && alias.is_empty()
            && stop.is_empty()
        {
            return Ok(None);
        }
        let mut flat: Vec<Box<dyn Query>> = Vec::new();
        for (alts, share) in [
            (&strong, 1.0),
            (&weak, 1.0),
            (&fuzzy, FUZZY_SHARE),
            (&alias, ALIAS_SHARE),
            (&stop, STOP_SHARE),
        ] {
            if !alts.is_empty() {
                let any = BooleanQuery::new(
                    alts.iter()
                        .map(|q| (Occur::Should, q.box_clone()))
                        .collect(),
                );
                flat.push(Box::new(ConstScoreQuery::new(Box::new(any), bonus * share)));
            }
        }
        let all: Vec<Box<dyn Query>> = strong
            .into_iter()
            .chain(weak)
            .chain(fuzzy)
            .chain(alias)
            .chain(stop)
            .collect();
        let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Should,
            Box::new(DisjunctionMaxQuery::with_tie_breaker(all, TIE_BREAKER)),
        )];
        if !flat.is_empty() {
            parts.push((Occur::Should, Box::new(DisjunctionMaxQuery::new(flat))));
        }
        Ok(Some(Box::new(BooleanQuery::new(parts))))
    }

    /// Other names of a typed word: the thesaurus concepts it names (as
    /// written in any language, by its stem in that stem's language) and
    /// its transliteration key with near spellings of it.
    fn alias_clauses(
        &self,
        lex: &Lexicon,
        raw: &str,
        written: &str,
        stems: &[(usize, String)],
    ) -> Vec<Box<dyn Query>> {
        let f = &self.fields;
        let keys: Vec<String> = std::iter::once(written.to_string())
            .chain(stems.iter().map(|(l, s)| stem_key(*l, s)))
            .collect();
        let mut alias: Vec<Box<dyn Query>> = self
            .thesaurus
            .concepts(keys.iter().map(String::as_str))
            .into_iter()
            .map(|concept| term_q(f.concept, concept, W_CONCEPT))
            .collect();
        let key = latin_key(raw);
        if lex.keys.is_empty() || key.is_empty() {
            return alias;
        }
        alias.push(term_q(f.translit, &key, W_TRANSLIT));
        // Transliterations differ by a letter or two more often than typed
        // words do ("Nikolaj", "Nikolaia").
        if key.len() >= MIN_TRANSLIT_TYPO {
            for (t, d) in lex.keys.expansions(&key) {
                let wf = if d == 1 { FUZZY_1 } else { FUZZY_2 };
                alias.push(term_q(f.translit, &t, W_TRANSLIT * wf));
            }
        }
        alias
    }

    /// The indexed words a misspelt `written` may stand for, in the
    /// unstemmed title, maker and materials.
    fn typo_clauses(
        &self,
        searcher: &Searcher,
        lex: &Lexicon,
        written: &str,
    ) -> Result<Vec<Box<dyn Query>>, TextError> {
        let f = &self.fields;
        let exp = lex.words.expansions(written);
        let mut fuzzy: Vec<Box<dyn Query>> = Vec::new();
        if exp.is_empty() {
            return Ok(fuzzy);
        }
        let n = searcher.num_docs().max(1);
        for (field, w) in [
            (f.title_plain, W_TITLE),
            (f.maker_plain, W_MAKER),
            (f.materials_plain, W_MATERIALS),
        ] {
            // Blend idf as Lucene does: a misspelling candidate scores no
            // higher than the commonest of the word's candidates, so a rare
            // neighbour of a correct common word stays low.
            let df_of = |t: &str| searcher.doc_freq(&Term::from_field_text(field, t));
            let mut dfs = Vec::with_capacity(exp.len());
            let mut ref_df = df_of(written)?;
            for (t, _) in &exp {
                let df = df_of(t)?;
                ref_df = ref_df.max(df);
                dfs.push(df);
            }
            for ((t, d), df) in exp.iter().zip(dfs) {
                if df == 0 {
                    continue;
                }
                let blend = (idf(n, ref_df) / idf(n, df)).min(1.0);
                let wf = if *d == 1 { FUZZY_1 } else { FUZZY_2 };
                fuzzy.push(term_q(field, t, w * wf * blend));
            }
        }
        Ok(fuzzy)
    }

    /// Phrase clauses for every two typed words, in either order, within
    /// one subject term. Titles get none: Tate's "Lausanne [Turner]" holds
    /// the surname beside a title word, and a title phrase then outranks
    /// the record the words came from (see docs/decisions.md).
    fn pair_clauses(&self, typed: &[(&str, Vec<(usize, String)>)]) -> Vec<Box<dyn Query>> {
        let f = &self.fields;
        let words = &typed[..typed.len().min(MAX_PAIR_WORDS)];
        // A subject is indexed in its record's language: the pairs are made
        // of each language's stems (an Italian "madonn bambin", not the
        // English "madonna bambino"), each pair once.
        let mut languages: Vec<usize> = words
            .iter()
            .flat_map(|(_, stems)| stems.iter().map(|(l, _)| *l))
            .collect();
        languages.sort_unstable();
        languages.dedup();
        let mut pairs: Vec<(&String, &String)> = Vec::new();
        for lang in languages {
            let stems: Vec<&String> = words
                .iter()
                .filter_map(|(_, stems)| stems.iter().find(|(l, _)| *l == lang).map(|(_, s)| s))
                .collect();
            for (i, a) in stems.iter().enumerate() {
                for b in stems.iter().skip(i + 1).filter(|b| *b != a) {
                    for pair in [(*a, *b), (*b, *a)] {
                        if !pairs.contains(&pair) {
                            pairs.push(pair);
                        }
                    }
                }
            }
        }
        pairs
            .into_iter()
            .map(|(x, y)| {
                let mut q = PhraseQuery::new(vec![
                    Term::from_field_text(f.subject, x),
                    Term::from_field_text(f.subject, y),
                ]);
                q.set_slop(PHRASE_SLOP);
                Box::new(BoostQuery::new(Box::new(q), W_PHRASE_SUBJECT)) as Box<dyn Query>
            })
            .collect()
    }

    /// Ranks records for plain typed words; no query syntax, so no query
    /// can fail to parse. An empty query returns nothing.
    pub fn search(
        &self,
        query: &str,
        filter: &TextFilter,
        top: usize,
    ) -> Result<Vec<TextHit>, TextError> {
        let searcher = self.reader.searcher();
        if top == 0 || searcher.num_docs() == 0 {
            return Ok(Vec::new());
        }
        let lex = self.lexicon(&searcher)?;
        let bonus = word_bonus(searcher.num_docs());
        let f = &self.fields;
        // The whole query, as typed, may be a record's id; not a part of it,
        // since ids are often numbers ("1840") that a typed year would hit.
        let typed_id = TermQuery::new(
            Term::from_field_text(f.id, query.trim()),
            IndexRecordOption::Basic,
        );
        let mut should: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Should,
            Box::new(ConstScoreQuery::new(Box::new(typed_id), W_ID * bonus)),
        )];
        let query = super::script::prepare(query);
        let mut words: Vec<&str> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for w in query.split(|c: char| !c.is_alphanumeric()) {
            if words.len() == MAX_QUERY_WORDS {
                break;
            }
            if !w.is_empty() && seen.insert(w.to_lowercase()) {
                words.push(w);
            }
        }
        // Each typed word stemmed once, in every language the index holds.
        let typed: Vec<(&str, Vec<(usize, String)>)> = words
            .iter()
            .map(|w| (*w, self.analysis.stems_by_language(&lex.languages, w)))
            .collect();
        for (w, stems) in &typed {
            if let Some(q) = self.word_clause(&searcher, &lex, w, stems, bonus)? {
                should.push((Occur::Should, q));
            }
        }
        if should.is_empty() {
            return Ok(Vec::new());
        }
        should.extend(
            self.pair_clauses(&typed)
                .into_iter()
                .map(|q| (Occur::Should, q)),
        );
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(BooleanQuery::new(should)))];
        let mut must = |term: Term| {
            let q = TermQuery::new(term, IndexRecordOption::Basic);
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(q), 0.0)),
            ));
        };
        // A blank type ("", "/") filters nothing.
        if let Some(facet) = filter.object_type.as_deref().and_then(type_facet) {
            must(Term::from_facet(f.object_type, &facet));
        }
        if let Some(s) = filter.status {
            must(Term::from_field_text(f.status, s.as_str()));
        }
        if let Some(s) = filter.source.as_deref() {
            must(Term::from_field_text(f.source, &source_key(s)));
        }
        let q = BooleanQuery::new(clauses);
        let top_docs = searcher.search(&q, &TopDocs::with_limit(top).order_by_score())?;
        let mut hits = Vec::with_capacity(top_docs.len());
        for (score, addr) in top_docs {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc.get_first(f.id).and_then(|v| v.as_str()) {
                hits.push(TextHit {
                    id: id.to_string(),
                    score: score / (score + SCORE_HALF * bonus),
                });
            }
        }
        Ok(hits)
    }
}
