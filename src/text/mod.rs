//! Full-text index of records (tantivy), tuned for known-item search.
//!
//! Owns: the text index's schema, analysis and queries. Must not touch:
//! records' truth (hits are resolved against the store) or images.
//!
//! Officers type a few words while looking at an object: some title words
//! (often misspelt), the artist's surname (maybe misspelt, maybe missing), a
//! material, a decade. So the query is not parsed with tantivy's query
//! language (a stray `:` or `"` must never become an error): each typed word
//! becomes one clause, a disjunction-max over weighted fields, so a word
//! counts once even if it appears in several fields, and a record matching
//! more words ranks higher. Misspellings are handled by expanding each word to
//! the indexed words within a small edit distance and scoring those with
//! BM25 too (tantivy's `FuzzyTermQuery` gives every hit the same constant
//! score, which cannot tell a rare title word from a common one).

use crate::records::record::{Record, Status};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::directory::error::OpenDirectoryError;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{
    Facet, FacetOptions, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

/// Stemmed, folded, lowercased English text: matches "Cézanne" to "cezanne"
/// and "boats" to "boat".
const EN: &str = "prov_en";
/// Folded and lowercased but not stemmed: typo expansion works on the words
/// as written, since a stemmer mangles misspelt words unpredictably.
const PLAIN: &str = "prov_plain";
/// Indexing memory budget; tantivy needs at least 15 MB per thread.
const WRITER_HEAP: usize = 50_000_000;
/// `score / (score + SCORE_HALF)` maps scores into [0, 1); one typed word
/// found in a title lands near 0.5, three words near 0.75.
const SCORE_HALF: f32 = 40.0;
/// At most this many misspelling candidates per typed word, closest first.
const MAX_EXPANSIONS: usize = 8;

/// Field weights: what an officer types is mostly title and artist.
const W_TITLE: f32 = 3.0;
const W_MAKER: f32 = 2.5;
const W_MATERIALS: f32 = 1.5;
const W_SUBJECT: f32 = 0.8;
const W_BODY: f32 = 0.5;
const W_DECADE: f32 = 1.5;
/// The unstemmed word beats its stemmed form a little ("Moore" is not
/// "moors", though both stem to "moor").
const PLAIN_BONUS: f32 = 1.1;
/// A misspelling candidate is worth less than the word itself.
const FUZZY_1: f32 = 0.7;
const FUZZY_2: f32 = 0.5;
/// Flat score for matching a typed word at all. Known-item queries come
/// from the record itself, so every matched word counts for more than how
/// rare it is: this acts like Lucene's coordination factor.
const WORD_BONUS: f32 = 20.0;
/// Share of [`WORD_BONUS`] for a match only in subject or description.
const WEAK_SHARE: f32 = 0.5;
/// Share of [`WORD_BONUS`] for a match only through a misspelling.
const FUZZY_SHARE: f32 = 0.7;
/// Disjunction-max tie breaker: a word found in several fields of the
/// same record counts a little more.
const TIE_BREAKER: f32 = 0.1;

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("text index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("text index directory: {0}")]
    OpenDirectory(#[from] OpenDirectoryError),
    #[error("text index directory {path}: {source}")]
    CreateDirectory {
        path: String,
        source: std::io::Error,
    },
    #[error("text index lock poisoned by a panic in another thread")]
    Poisoned,
}

/// Restricts a search; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct TextFilter {
    /// `"sculpture"` matches `"sculpture"` and `"sculpture/bust"`.
    pub object_type: Option<String>,
    pub status: Option<Status>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextHit {
    pub id: String,
    /// In [0, 1), higher is more relevant; comparable within one query only.
    pub score: f32,
}

/// The schema's fields; the schema is fixed, so ids are the same on reopen
/// (tantivy refuses to open an index whose schema differs).
#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    status: Field,
    source: Field,
    object_type: Field,
    /// Stemmed text.
    title: Field,
    maker: Field,
    materials: Field,
    subject: Field,
    /// Description, inscriptions, features, type, date, place, country.
    body: Field,
    /// Unstemmed copies, for typo expansion.
    title_plain: Field,
    maker_plain: Field,
    materials_plain: Field,
    /// "1830s" for every year in `date`.
    decade: Field,
}

/// Every indexed plain word, bucketed by byte length, for typo expansion.
/// Rebuilt when the reader's generation changes (after a commit).
struct Vocab {
    generation: u64,
    by_len: Vec<Vec<(Box<[u8]>, u32)>>,
}

/// A tantivy index of records; all methods take `&self` and it is
/// `Send + Sync`, so one instance serves every request thread.
pub struct TextIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
    en: TextAnalyzer,
    plain: TextAnalyzer,
    vocab: Mutex<Option<Arc<Vocab>>>,
}

fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqs);
        TextOptions::default().set_indexing_options(indexing)
    };
    let fields = Fields {
        title: b.add_text_field("title", text(EN)),
        maker: b.add_text_field("maker", text(EN)),
        materials: b.add_text_field("materials", text(EN)),
        subject: b.add_text_field("subject", text(EN)),
        body: b.add_text_field("body", text(EN)),
        title_plain: b.add_text_field("title_plain", text(PLAIN)),
        maker_plain: b.add_text_field("maker_plain", text(PLAIN)),
        materials_plain: b.add_text_field("materials_plain", text(PLAIN)),
        id: b.add_text_field("id", STRING | STORED),
        status: b.add_text_field("status", STRING),
        source: b.add_text_field("source", STRING),
        decade: b.add_text_field("decade", STRING),
        object_type: b.add_facet_field("object_type", FacetOptions::default()),
    };
    (b.build(), fields)
}

/// Folded and lowercased words, stemmed or not.
fn analyzer(stem: bool) -> TextAnalyzer {
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    if stem {
        base.filter(Stemmer::new(Language::English)).build()
    } else {
        base.build()
    }
}

/// `"sculpture/bust"` → facet `/sculpture/bust`; case and blanks ignored.
fn type_facet(object_type: &str) -> Option<Facet> {
    let parts: Vec<String> = object_type
        .split('/')
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| Facet::from_path(parts))
}

/// Decades named by the years in a free-form date ("c.1830-5" → 1830s),
/// so that an officer's "1830s" matches.
fn decades(date: &str) -> Vec<String> {
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

fn tokens(analyzer: &TextAnalyzer, text: &str) -> Vec<String> {
    let mut a = analyzer.clone();
    let mut s = a.token_stream(text);
    let mut out = Vec::new();
    while s.advance() {
        out.push(s.token().text.clone());
    }
    out
}

/// Optimal-string-alignment distance (a transposition costs 1), or `None`
/// once it must exceed `max`.
fn edit_distance(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let n = b.len();
    let mut prev2 = vec![0usize; n + 1];
    let mut prev: Vec<usize> = (0..=n).collect();
    let mut cur = vec![0usize; n + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[n] <= max).then_some(prev[n])
}

/// How many typos a word of this length may carry. Even three-letter
/// words get one ("twon", "bat" for "boat"): the candidates score below the
/// word itself, so a correct short word still wins.
fn max_typos(word: &str) -> usize {
    match word.len() {
        0..=2 => 0,
        3..=7 => 1,
        _ => 2,
    }
}

/// BM25's idf, to compare how informative two terms are.
fn idf(n: u64, df: u64) -> f32 {
    (1.0 + (n as f32 - df as f32 + 0.5) / (df as f32 + 0.5)).ln()
}

impl TextIndex {
    /// Opens the index in `dir`, creating the directory and an empty index
    /// if needed.
    pub fn open_or_create(dir: &Path) -> Result<TextIndex, TextError> {
        std::fs::create_dir_all(dir).map_err(|source| TextError::CreateDirectory {
            path: dir.display().to_string(),
            source,
        })?;
        let (schema, fields) = build_schema();
        let index = Index::open_or_create(MmapDirectory::open(dir)?, schema)?;
        let (en, plain) = (analyzer(true), analyzer(false));
        // Tokenizers are not persisted: register them on every open.
        index.tokenizers().register(EN, en.clone());
        index.tokenizers().register(PLAIN, plain.clone());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(TextIndex {
            index,
            reader,
            writer: Mutex::new(None),
            fields,
            en,
            plain,
            vocab: Mutex::new(None),
        })
    }

    /// Runs `op` on the writer, created on first use: a read-only index
    /// never takes tantivy's writer lock or its memory.
    fn with_writer<T>(
        &self,
        op: impl FnOnce(&mut IndexWriter) -> tantivy::Result<T>,
    ) -> Result<T, TextError> {
        let mut guard = self.writer.lock().map_err(|_| TextError::Poisoned)?;
        if guard.is_none() {
            *guard = Some(self.index.writer(WRITER_HEAP)?);
        }
        Ok(op(guard.as_mut().expect("created above"))?)
    }

    /// Adds or replaces the record with this id; visible after [`Self::commit`].
    pub fn upsert(&self, rec: &Record) -> Result<(), TextError> {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &rec.id);
        doc.add_text(f.status, rec.status.as_str());
        doc.add_text(f.source, &rec.source);
        if let Some(facet) = type_facet(&rec.object_type) {
            doc.add_facet(f.object_type, facet);
        }
        doc.add_text(f.title, &rec.title);
        doc.add_text(f.title_plain, &rec.title);
        doc.add_text(f.maker, &rec.maker);
        doc.add_text(f.maker_plain, &rec.maker);
        doc.add_text(f.materials, &rec.materials);
        doc.add_text(f.materials_plain, &rec.materials);
        doc.add_text(f.subject, &rec.subject);
        for text in [
            &rec.description,
            &rec.inscriptions,
            &rec.features,
            &rec.object_type,
            &rec.date,
            &rec.theft_place,
            &rec.country,
        ] {
            if !text.is_empty() {
                doc.add_text(f.body, text);
            }
        }
        for d in decades(&rec.date) {
            doc.add_text(f.decade, &d);
        }
        let id = Term::from_field_text(f.id, &rec.id);
        self.with_writer(|w| {
            w.delete_term(id);
            w.add_document(doc).map(drop)
        })
    }

    /// Removes every committed record, for a full rebuild: call it before
    /// re-adding the records. Searches keep seeing the old records until
    /// [`Self::commit`], so they keep answering during the rebuild.
    pub fn clear(&self) -> Result<(), TextError> {
        self.with_writer(|w| w.delete_all_documents().map(drop))
    }

    /// Removes the record with this id; visible after [`Self::commit`].
    pub fn delete(&self, id: &str) -> Result<(), TextError> {
        let id = Term::from_field_text(self.fields.id, id);
        self.with_writer(|w| {
            w.delete_term(id);
            Ok(())
        })
    }

    /// Makes pending writes durable and visible to the next search.
    /// Makes pending writes durable and visible to the next search, then
    /// lets go of tantivy's writer lock so that another process (an import
    /// beside a running server) can write next.
    pub fn commit(&self) -> Result<(), TextError> {
        self.with_writer(|w| w.commit().map(drop))?;
        self.writer.lock().map_err(|_| TextError::Poisoned)?.take();
        self.reader.reload()?;
        Ok(())
    }

    /// Sees what another process committed.
    pub fn reload(&self) -> Result<(), TextError> {
        Ok(self.reader.reload()?)
    }

    /// Files of the index whose checksum does not match their contents.
    pub fn damaged_files(&self) -> Result<Vec<std::path::PathBuf>, TextError> {
        let mut files: Vec<_> = self.index.validate_checksum()?.into_iter().collect();
        files.sort();
        Ok(files)
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The vocabulary of the current searcher, rebuilt after a commit.
    fn vocab(&self, searcher: &Searcher) -> Result<Arc<Vocab>, TextError> {
        let generation = searcher.generation().generation_id();
        let mut guard = self.vocab.lock().map_err(|_| TextError::Poisoned)?;
        if let Some(v) = guard.as_ref().filter(|v| v.generation == generation) {
            return Ok(Arc::clone(v));
        }
        let mut all: std::collections::HashMap<Vec<u8>, u32> = std::collections::HashMap::new();
        let f = &self.fields;
        for seg in searcher.segment_readers() {
            for field in [f.title_plain, f.maker_plain, f.materials_plain] {
                let inv = seg.inverted_index(field)?;
                let mut stream = inv.terms().stream().map_err(tantivy::TantivyError::from)?;
                while stream.advance() {
                    *all.entry(stream.key().to_vec()).or_default() += stream.value().doc_freq;
                }
            }
        }
        let mut by_len: Vec<Vec<(Box<[u8]>, u32)>> = vec![Vec::new(); 41];
        for (term, df) in all {
            if let Some(bucket) = by_len.get_mut(term.len()) {
                bucket.push((term.into_boxed_slice(), df));
            }
        }
        let v = Arc::new(Vocab { generation, by_len });
        *guard = Some(Arc::clone(&v));
        Ok(v)
    }

    /// Indexed words within `max_typos` of `word` (itself excluded), closest
    /// and most common first.
    fn expansions(vocab: &Vocab, word: &str) -> Vec<(String, usize)> {
        let max = max_typos(word);
        if max == 0 || !word.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Vec::new();
        }
        let w = word.as_bytes();
        let mut found: Vec<(usize, u32, &[u8])> = Vec::new();
        let lo = w.len().saturating_sub(max);
        for bucket in vocab.by_len.iter().take(w.len() + max + 1).skip(lo) {
            for (term, df) in bucket {
                if term.as_ref() == w {
                    continue;
                }
                if let Some(d) = edit_distance(w, term, max) {
                    found.push((d, *df, term));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        found.truncate(MAX_EXPANSIONS);
        found
            .into_iter()
            .map(|(d, _, t)| (String::from_utf8_lossy(t).into_owned(), d))
            .collect()
    }

    /// One clause per typed word: the best of its exact (stemmed) matches
    /// in every field and its misspelling candidates in the plain fields,
    /// plus a flat bonus for matching the word at all, so that a record
    /// holding every typed word beats one holding fewer but rarer ones.
    fn word_clause(
        &self,
        searcher: &Searcher,
        vocab: &Vocab,
        raw: &str,
    ) -> Result<Option<Box<dyn Query>>, TextError> {
        let f = &self.fields;
        let mut strong: Vec<Box<dyn Query>> = Vec::new();
        let mut weak: Vec<Box<dyn Query>> = Vec::new();
        let mut fuzzy: Vec<Box<dyn Query>> = Vec::new();
        let term_q = |field: Field, text: &str, boost: f32| -> Box<dyn Query> {
            let q = TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::WithFreqs,
            );
            Box::new(BoostQuery::new(Box::new(q), boost))
        };
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
        for plain in tokens(&self.plain, raw) {
            for stem in tokens(&self.en, &plain) {
                strong.push(term_q(f.title, &stem, W_TITLE));
                strong.push(term_q(f.maker, &stem, W_MAKER));
                strong.push(term_q(f.materials, &stem, W_MATERIALS));
                weak.push(term_q(f.subject, &stem, W_SUBJECT));
                weak.push(term_q(f.body, &stem, W_BODY));
            }
            strong.push(term_q(f.title_plain, &plain, W_TITLE * PLAIN_BONUS));
            strong.push(term_q(f.maker_plain, &plain, W_MAKER * PLAIN_BONUS));
            let exp = Self::expansions(vocab, &plain);
            if exp.is_empty() {
                continue;
            }
            let n = searcher.num_docs().max(1);
            for (field, w) in [
                (f.title_plain, W_TITLE),
                (f.maker_plain, W_MAKER),
                (f.materials_plain, W_MATERIALS),
            ] {
                // Blend idf as Lucene does: a misspelling candidate scores
                // no higher than the commonest of the word's candidates,
                // so a rare neighbour of a correct common word stays low.
                let df_of = |t: &str| searcher.doc_freq(&Term::from_field_text(field, t));
                let mut dfs = Vec::with_capacity(exp.len());
                let mut ref_df = df_of(&plain)?;
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
        }
        if strong.is_empty() && weak.is_empty() && fuzzy.is_empty() {
            return Ok(None);
        }
        let mut flat: Vec<Box<dyn Query>> = Vec::new();
        for (alts, share) in [(&strong, 1.0), (&weak, WEAK_SHARE), (&fuzzy, FUZZY_SHARE)] {
            if !alts.is_empty() {
                let any = BooleanQuery::new(
                    alts.iter()
                        .map(|q| (Occur::Should, q.box_clone()))
                        .collect(),
                );
                flat.push(Box::new(ConstScoreQuery::new(
                    Box::new(any),
                    WORD_BONUS * share,
                )));
            }
        }
        let all: Vec<Box<dyn Query>> = strong.into_iter().chain(weak).chain(fuzzy).collect();
        let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Should,
            Box::new(DisjunctionMaxQuery::with_tie_breaker(all, TIE_BREAKER)),
        )];
        if !flat.is_empty() {
            parts.push((Occur::Should, Box::new(DisjunctionMaxQuery::new(flat))));
        }
        Ok(Some(Box::new(BooleanQuery::new(parts))))
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
        let vocab = self.vocab(&searcher)?;
        let mut words: Vec<&str> = Vec::new();
        for w in query.split(|c: char| !c.is_alphanumeric()) {
            if !w.is_empty() && !words.iter().any(|x| x.to_lowercase() == w.to_lowercase()) {
                words.push(w);
            }
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in &words {
            if let Some(q) = self.word_clause(&searcher, &vocab, w)? {
                should.push((Occur::Should, q));
            }
        }
        if should.is_empty() {
            return Ok(Vec::new());
        }
        let f = &self.fields;
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
            must(Term::from_field_text(f.source, s));
        }
        let q = BooleanQuery::new(clauses);
        let top_docs = searcher.search(&q, &TopDocs::with_limit(top).order_by_score())?;
        let mut hits = Vec::with_capacity(top_docs.len());
        for (score, addr) in top_docs {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc.get_first(f.id).and_then(|v| v.as_str()) {
                hits.push(TextHit {
                    id: id.to_string(),
                    score: score / (score + SCORE_HALF),
                });
            }
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(dir: &Path) -> TextIndex {
        let idx = TextIndex::open_or_create(dir).unwrap();
        for (id, object_type, title, maker) in [
            ("1", "painting", "Boats in Dieppe Harbour", "Paul Cézanne"),
            ("2", "sculpture/bust", "Head of a Woman", "Henry Moore"),
            ("3", "drawing", "Mountains near Lucerne", "J. M. W. Turner"),
        ] {
            idx.upsert(&rec(id, object_type, title, maker)).unwrap();
        }
        idx.commit().unwrap();
        idx
    }

    fn rec(id: &str, object_type: &str, title: &str, maker: &str) -> Record {
        let (id, object_type, title, maker) =
            (id.into(), object_type.into(), title.into(), maker.into());
        let (source, date) = ("tate".into(), "c.1832-5".into());
        Record {
            id,
            source,
            object_type,
            title,
            maker,
            date,
            ..Record::default()
        }
    }

    fn ids(idx: &TextIndex, q: &str, filter: &TextFilter) -> Vec<String> {
        idx.search(q, filter, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
    }

    fn by_type(t: &str) -> TextFilter {
        TextFilter {
            object_type: Some(t.into()),
            ..TextFilter::default()
        }
    }

    #[test]
    fn stems_folds_and_forgives_typos() {
        let dir = tempfile::tempdir().unwrap();
        let idx = index(dir.path());
        let any = TextFilter::default();
        assert_eq!(ids(&idx, "CEZANNE boat", &any)[0], "1");
        assert_eq!(ids(&idx, "Mountians turnr", &any)[0], "3");
        assert_eq!(ids(&idx, "woman 1830s", &any)[0], "2");
        let hits = idx.search("head moore", &any, 10).unwrap();
        assert!(hits.iter().all(|h| h.score > 0.0 && h.score < 1.0));
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn query_syntax_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let idx = index(dir.path());
        let any = TextFilter::default();
        assert_eq!(ids(&idx, r#"title:"head AND (moore^2 -"#, &any)[0], "2");
        assert!(ids(&idx, "  ,;: ", &any).is_empty());
    }

    #[test]
    fn filters_by_type_prefix_status_and_source() {
        let dir = tempfile::tempdir().unwrap();
        let idx = index(dir.path());
        assert_eq!(ids(&idx, "head moore", &by_type("Sculpture")), ["2"]);
        assert_eq!(ids(&idx, "head moore", &by_type("sculpture/bust")), ["2"]);
        assert!(ids(&idx, "head moore", &by_type("sculpture/relief")).is_empty());
        assert!(ids(&idx, "head moore", &by_type("painting")).is_empty());
        let missing = TextFilter {
            status: Some(Status::Missing),
            ..TextFilter::default()
        };
        assert!(ids(&idx, "head moore", &missing).is_empty());
        let stolen_tate = TextFilter {
            status: Some(Status::Stolen),
            source: Some("tate".into()),
            ..by_type("")
        };
        assert_eq!(ids(&idx, "head moore", &stolen_tate), ["2"]);
        let other = TextFilter {
            source: Some("interpol".into()),
            ..TextFilter::default()
        };
        assert!(ids(&idx, "head moore", &other).is_empty());
    }

    #[test]
    fn upsert_replaces_delete_and_clear_remove_reopen_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let idx = index(dir.path());
        idx.upsert(&rec("2", "sculpture", "Reclining Figure", "Henry Moore"))
            .unwrap();
        idx.commit().unwrap();
        assert_eq!(idx.num_docs(), 3);
        assert_eq!(ids(&idx, "moore", &TextFilter::default()), ["2"]);
        assert!(ids(&idx, "head woman", &TextFilter::default()).is_empty());
        idx.delete("1").unwrap();
        idx.clear().unwrap();
        assert_eq!(idx.num_docs(), 3, "clear waits for commit");
        idx.upsert(&rec("2", "sculpture", "Reclining Figure", "Henry Moore"))
            .unwrap();
        idx.upsert(&rec("4", "drawing", "Boats", "Turner")).unwrap();
        idx.commit().unwrap();
        drop(idx);
        let idx = TextIndex::open_or_create(dir.path()).unwrap();
        assert_eq!(idx.num_docs(), 2);
        assert!(ids(&idx, "cezanne", &TextFilter::default()).is_empty());
        assert_eq!(
            ids(&idx, "reclining figure", &TextFilter::default())[0],
            "2"
        );
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance(b"turner", b"utrner", 2), Some(1));
        assert_eq!(edit_distance(b"turner", b"tuner", 2), Some(1));
        assert_eq!(edit_distance(b"turner", b"banana", 2), None);
        assert_eq!(decades("c.1796-1805"), ["1790s", "1800s"]);
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<TextIndex>();
    }
}
