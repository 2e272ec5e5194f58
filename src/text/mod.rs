//! Full-text index of records (tantivy), tuned for known-item search.
//!
//! Owns: the text index's schema, analysis and queries. Must not touch:
//! records' truth (hits are resolved against the store) or images.
//!
//! Layout: `analysis` (languages, folding, transliteration), `thesaurus`
//! (types and materials across languages), `typos` (misspelt words),
//! `query` (typed words to ranked records); this module holds the index.

mod analysis;
mod query;
mod script;
mod thesaurus;
mod typos;

use crate::records::record::{Record, Status};
use analysis::{Analysis, ENGLISH, LANGUAGES, decades, language, latin_key, non_latin};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::directory::MmapDirectory;
use tantivy::directory::error::OpenDirectoryError;
use tantivy::schema::{
    FacetOptions, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};
use thesaurus::Thesaurus;
use typos::Vocab;

/// The tokenizer named in the schema. Every text value is pre-tokenized in
/// its record's language (`analysis`), so this one only guards against a
/// value added without that.
const TOKENIZER: &str = "prov_pretokenized";
/// What the analysis of this build is, kept beside the index: an index
/// analysed otherwise (another thesaurus, stemming or weighting of terms)
/// is refused on open, so that it is rebuilt rather than searched with
/// terms it does not hold. Change it with any change to `analysis`,
/// `thesaurus.tsv` or what `document` indexes.
const ANALYSIS: &str = "2026-12-07: language stems both ways, tagged thesaurus stems, subject term \
     gaps, NFC and CJK pairs, places transliterated, sources folded, stop words of titles kept, \
     types also in English";
const ANALYSIS_FILE: &str = "analysis.version";
/// Indexing memory budget; tantivy needs at least 15 MB per thread.
const WRITER_HEAP: usize = 50_000_000;

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
    #[error("text index file {path}: {source}")]
    WriteFile {
        path: String,
        source: std::io::Error,
    },
    #[error("text index lock poisoned by a panic in another thread")]
    Poisoned,
    #[error(
        "text index {path} was analysed by another release ({found:?}): it is rebuilt from the record store when a process opens the index with no other writing to it"
    )]
    Outdated { path: String, found: String },
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
    /// The language the record was analysed in (`en` when it names none).
    language: Field,
    /// Stemmed text.
    title: Field,
    maker: Field,
    materials: Field,
    /// Subject terms, apart by more than a phrase's slop.
    subject: Field,
    /// Description, inscriptions, features, type, date, place, country.
    body: Field,
    /// Unstemmed copies, for typo expansion.
    title_plain: Field,
    maker_plain: Field,
    materials_plain: Field,
    /// The title's and maker's stop words (in the record's language), as
    /// written: the other fields drop them.
    stopped: Field,
    /// Greek and Cyrillic words in Latin letters ([`analysis::latin_key`]).
    translit: Field,
    /// Thesaurus concepts named by the type, title, materials or subject.
    concept: Field,
    /// "1830s" for every year in `date`.
    decade: Field,
}

/// What queries need of the current searcher beyond its postings; rebuilt
/// when the reader's generation changes (after a commit).
struct Lexicon {
    generation: u64,
    /// Every unstemmed title, maker and materials word.
    words: Vocab,
    /// Every transliterated word.
    keys: Vocab,
    /// Languages the index holds records in: a typed word is stemmed in each.
    languages: Vec<usize>,
}

/// A tantivy index of records; all methods take `&self` and it is
/// `Send + Sync`, so one instance serves every request thread.
pub struct TextIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
    analysis: Analysis,
    thesaurus: Thesaurus,
    lexicon: Mutex<Option<Arc<Lexicon>>>,
}

fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let with = |option: IndexRecordOption| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(option);
        TextOptions::default().set_indexing_options(indexing)
    };
    let text = with(IndexRecordOption::WithFreqs);
    // Positions where words standing together mean more.
    let phrased = with(IndexRecordOption::WithFreqsAndPositions);
    let fields = Fields {
        title: b.add_text_field("title", phrased.clone()),
        maker: b.add_text_field("maker", text.clone()),
        materials: b.add_text_field("materials", text.clone()),
        subject: b.add_text_field("subject", phrased),
        body: b.add_text_field("body", text.clone()),
        title_plain: b.add_text_field("title_plain", text.clone()),
        maker_plain: b.add_text_field("maker_plain", text.clone()),
        materials_plain: b.add_text_field("materials_plain", text.clone()),
        stopped: b.add_text_field("stopped", text.clone()),
        translit: b.add_text_field("translit", text),
        concept: b.add_text_field("concept", STRING),
        id: b.add_text_field("id", STRING | STORED),
        status: b.add_text_field("status", STRING),
        source: b.add_text_field("source", STRING),
        language: b.add_text_field("language", STRING),
        decade: b.add_text_field("decade", STRING),
        object_type: b.add_facet_field("object_type", FacetOptions::default()),
    };
    (b.build(), fields)
}

impl TextIndex {
    /// Opens the index in `dir`, creating the directory and an empty index
    /// if needed.
    pub fn open_or_create(dir: &Path) -> Result<TextIndex, TextError> {
        std::fs::create_dir_all(dir).map_err(|source| TextError::CreateDirectory {
            path: dir.display().to_string(),
            source,
        })?;
        let version = dir.join(ANALYSIS_FILE);
        if dir.join("meta.json").exists() {
            let found = std::fs::read_to_string(&version).unwrap_or_default();
            if found.trim() != ANALYSIS {
                return Err(TextError::Outdated {
                    path: dir.display().to_string(),
                    found: found.trim().to_string(),
                });
            }
        } else {
            crate::paths::write_atomic(&version, ANALYSIS.as_bytes()).map_err(|source| {
                TextError::WriteFile {
                    path: version.display().to_string(),
                    source,
                }
            })?;
        }
        let (schema, fields) = build_schema();
        let index = Index::open_or_create(MmapDirectory::open(dir)?, schema)?;
        let analysis = Analysis::new();
        // Tokenizers are not persisted: register on every open.
        index
            .tokenizers()
            .register(TOKENIZER, analysis::plain_analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let thesaurus = Thesaurus::load(&analysis);
        Ok(TextIndex {
            index,
            reader,
            writer: Mutex::new(None),
            fields,
            analysis,
            thesaurus,
            lexicon: Mutex::new(None),
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

    /// The record as indexed: every text field analysed in its language.
    fn document(&self, rec: &Record) -> TantivyDocument {
        let f = &self.fields;
        let a = &self.analysis;
        let lang = language(&rec.language);
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &rec.id);
        doc.add_text(f.status, rec.status.as_str());
        doc.add_text(f.source, query::source_key(&rec.source));
        doc.add_text(f.language, LANGUAGES[lang].0);
        if let Some(facet) = query::type_facet(&rec.object_type) {
            doc.add_facet(f.object_type, facet);
        }
        let rec = &script::prepared(rec);
        let stemmed = |doc: &mut TantivyDocument, field: Field, text: &str| {
            doc.add_pre_tokenized_text(field, a.pre_tokenized(lang, true, text));
        };
        stemmed(&mut doc, f.title, &rec.title);
        stemmed(&mut doc, f.maker, &rec.maker);
        stemmed(&mut doc, f.materials, &rec.materials);
        for (field, text) in [
            (f.title_plain, &rec.title),
            (f.maker_plain, &rec.maker),
            (f.materials_plain, &rec.materials),
        ] {
            doc.add_pre_tokenized_text(field, a.pre_tokenized(lang, false, text));
        }
        let mut stopped = a.stop_words(lang, &rec.title);
        stopped.extend(a.stop_words(lang, &rec.maker));
        if !stopped.is_empty() {
            doc.add_pre_tokenized_text(f.stopped, analysis::as_tokens(&stopped));
        }
        // Its terms apart, so that a phrase never spans two terms.
        let terms: Vec<&str> = rec
            .subject
            .split([';', ','])
            .filter(|t| !t.trim().is_empty())
            .collect();
        doc.add_pre_tokenized_text(f.subject, a.pre_tokenized_terms(lang, &terms));
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
                stemmed(&mut doc, f.body, text);
            }
        }
        // The object type is the record model's controlled word, English
        // whatever language the record is written in: also analysed in
        // English, where a typed English word's stem finds it.
        if lang != ENGLISH && !rec.object_type.is_empty() {
            let english = a.pre_tokenized(ENGLISH, true, &rec.object_type);
            doc.add_pre_tokenized_text(f.body, english);
        }
        for d in decades(&rec.date) {
            doc.add_text(f.decade, &d);
        }
        let mut concepts: Vec<&str> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        let places = [
            ("theft_place", &*rec.theft_place),
            ("country", &rec.country),
        ];
        for (name, text) in rec.text_fields().into_iter().chain(places) {
            if text.is_empty() {
                continue;
            }
            if matches!(name, "title" | "materials" | "subject" | "object_type") {
                let written = analysis::plain(text);
                let stems: Vec<String> = a
                    .words(lang, true, text)
                    .iter()
                    .map(|s| analysis::stem_key(lang, s))
                    .collect();
                for c in self
                    .thesaurus
                    .concepts(written.iter().chain(&stems).map(String::as_str))
                {
                    if !concepts.contains(&c) {
                        concepts.push(c);
                    }
                }
            }
            for w in text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| non_latin(w))
            {
                for form in std::iter::once(w.to_string()).chain(a.words(lang, true, w)) {
                    let key = latin_key(&form);
                    if !key.is_empty() && !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
        }
        for c in concepts {
            doc.add_text(f.concept, c);
        }
        if !keys.is_empty() {
            doc.add_pre_tokenized_text(f.translit, analysis::as_tokens(&keys));
        }
        doc
    }

    /// Adds or replaces the record with this id; visible after [`Self::commit`].
    pub fn upsert(&self, rec: &Record) -> Result<(), TextError> {
        let doc = self.document(rec);
        let id = Term::from_field_text(self.fields.id, &rec.id);
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

    /// Makes pending writes durable and visible to the next search, then
    /// lets go of tantivy's writer lock so that another process (an import
    /// beside a running server) can write next.
    pub fn commit(&self) -> Result<(), TextError> {
        let committed = self.with_writer(|w| w.commit().map(drop));
        // Failed or not (a full disk), the writer goes: its lock would keep
        // every other process from the index. What it staged is dropped;
        // the text sequence did not move, so the next writer re-indexes
        // from the store.
        if committed.is_err() {
            self.discard()?;
        }
        committed?;
        // The merges this commit started are finished before the writer
        // goes: dropped, it abandons them, and each small commit (an API
        // change, a one-record import) would leave one more segment for
        // every search to visit.
        let writer = self.writer.lock().map_err(|_| TextError::Poisoned)?.take();
        // The commit is durable already: a failed merge (a full disk) only
        // leaves the segments as they were.
        if let Some(w) = writer
            && let Err(e) = w.wait_merging_threads()
        {
            tracing::warn!("text index segments not merged: {e}");
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Drops what was staged since the last commit and lets go of the
    /// writer.
    pub fn discard(&self) -> Result<(), TextError> {
        let mut writer = self.writer.lock().map_err(|_| TextError::Poisoned)?;
        if let Some(w) = writer.as_mut() {
            let _ = w.rollback();
        }
        writer.take();
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

    /// The lexicon of the current searcher, rebuilt after a commit.
    fn lexicon(&self, searcher: &Searcher) -> Result<Arc<Lexicon>, TextError> {
        let generation = searcher.generation().generation_id();
        let cached = self
            .lexicon
            .lock()
            .map_err(|_| TextError::Poisoned)?
            .clone();
        if let Some(v) = cached.filter(|v| v.generation == generation) {
            return Ok(v);
        }
        // Built without the lock: searches on the previous lexicon go on,
        // and two threads building at once only waste work.
        let f = &self.fields;
        let terms = |fields: &[Field]| -> Result<HashMap<Vec<u8>, u32>, TextError> {
            let mut all: HashMap<Vec<u8>, u32> = HashMap::new();
            for seg in searcher.segment_readers() {
                for &field in fields {
                    let inv = seg.inverted_index(field)?;
                    let mut stream = inv.terms().stream().map_err(tantivy::TantivyError::from)?;
                    while stream.advance() {
                        *all.entry(stream.key().to_vec()).or_default() += stream.value().doc_freq;
                    }
                }
            }
            Ok(all)
        };
        let words = Vocab::new(terms(&[f.title_plain, f.maker_plain, f.materials_plain])?);
        let keys = terms(&[f.translit])?;
        let mut languages = Vec::new();
        for (i, (code, _)) in LANGUAGES.iter().enumerate() {
            if searcher.doc_freq(&Term::from_field_text(f.language, code))? > 0 {
                languages.push(i);
            }
        }
        if languages.is_empty() {
            languages.push(0);
        }
        let v = Arc::new(Lexicon {
            generation,
            words,
            keys: Vocab::new(keys),
            languages,
        });
        let mut guard = self.lexicon.lock().map_err(|_| TextError::Poisoned)?;
        if guard.as_ref().is_none_or(|g| g.generation < generation) {
            *guard = Some(Arc::clone(&v));
        }
        Ok(v)
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

    /// Two typed words side by side in a subject term count more, in the
    /// record's own language's stems, whatever other languages the
    /// index holds.
    #[test]
    fn a_subject_phrase_counts_in_the_records_language() {
        let dir = tempfile::tempdir().unwrap();
        let idx = TextIndex::open_or_create(dir.path()).unwrap();
        let italian = |id: &str, subject: &str| Record {
            id: id.into(),
            language: "it".into(),
            object_type: "dipinto".into(),
            title: "Tavola".into(),
            subject: subject.into(),
            ..Record::default()
        };
        // The words apart, in a shorter subject that BM25 alone prefers.
        idx.upsert(&italian("apart", "madonna; santi; bambino"))
            .unwrap();
        idx.upsert(&italian(
            "together",
            "madonna con bambino; santi; angeli; paesaggio; fiume",
        ))
        .unwrap();
        idx.upsert(&rec("en", "painting", "Boats", "Paul Cézanne"))
            .unwrap();
        idx.commit().unwrap();
        assert_eq!(
            ids(&idx, "bambino madonna", &TextFilter::default())[0],
            "together"
        );
    }

    /// Another language's stem counts only for records of that language:
    /// one Italian record in the index must not change English rankings.
    /// An English stem counts for every record's English type.
    #[test]
    fn another_languages_stem_does_not_match_an_english_word() {
        let dir = tempfile::tempdir().unwrap();
        let idx = TextIndex::open_or_create(dir.path()).unwrap();
        for (id, title) in [
            ("exact", "To Be or Not to Be"),
            ("being", "The Daggers Being Given to Lady Macbeth"),
            ("winged", "Winged Being"),
            ("ikones", "Ikones"),
        ] {
            idx.upsert(&rec(id, "painting", title, "")).unwrap();
        }
        // A database's worth of other records, for its words' rarity.
        for n in 0..2000 {
            let title = format!("Study of a tree {n}");
            idx.upsert(&rec(&format!("f{n}"), "drawing", &title, "J. M. W. Turner"))
                .unwrap();
        }
        let icon = |id: &str, language: &str, title: &str| Record {
            id: id.into(),
            language: language.into(),
            object_type: "icon".into(),
            title: title.into(),
            ..Record::default()
        };
        idx.upsert(&icon("ru", "ru", "Икона святого Николая"))
            .unwrap();
        idx.upsert(&icon("it", "it", "Io e lei")).unwrap();
        idx.upsert(&rec("orfeo-en", "painting", "Orfeo", ""))
            .unwrap();
        let mut italian = rec("orfeo-it", "painting", "Orfeo", "");
        italian.language = "it".into();
        idx.upsert(&italian).unwrap();
        idx.commit().unwrap();
        let any = TextFilter::default();
        assert_eq!(ids(&idx, "to be or not to be", &any)[0], "exact");
        assert_eq!(ids(&idx, "ikona Nikolaj", &any)[0], "ru");
        // The type, English in every record, is found by an English
        // plural in a record written in Italian as in one in English.
        let score = |id: &str| {
            let hits = idx.search("paintings", &any, 50).unwrap();
            hits.iter().find(|h| h.id == id).map_or(0.0, |h| h.score)
        };
        let (italian, english) = (score("orfeo-it"), score("orfeo-en"));
        assert!(
            italian > 0.9 * english && english > 0.0,
            "{italian} {english}"
        );
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
    fn only_the_first_words_of_a_long_query_are_searched() {
        let dir = tempfile::tempdir().unwrap();
        let idx = index(dir.path());
        let any = TextFilter::default();
        // A repeated word counts once; 200,000 distinct ones cost no more
        // than the first [`query::MAX_QUERY_WORDS`].
        let filler: String = (0..200_000).map(|i| format!(" x{i}")).collect();
        let cezanne = "cezanne ".repeat(1_000);
        assert_eq!(ids(&idx, &format!("{cezanne}boat{filler}"), &any)[0], "1");
        let late = (0..query::MAX_QUERY_WORDS)
            .map(|i| format!("x{i} "))
            .collect::<String>();
        assert!(ids(&idx, &format!("{late}cezanne"), &any).is_empty());
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
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<TextIndex>();
    }
}
