//! The record store: an SQLite database that is the source of truth.
//!
//! SQLite (bundled, WAL mode, `synchronous=FULL`) was chosen over redb for
//! its decades of crash-safety testing, its concurrent readers during a
//! write, and because an expert can open the file with any SQLite tool.
//! It holds every record (as JSON, plus the columns filters need) and, per
//! image, the descriptors computed at import: every index in a generation
//! can be rebuilt from this file alone, without decoding an image again.
//!
//! Every committed change bumps a sequence number (`meta.seq`); derived
//! indexes remember the sequence they were built from, which is how a
//! crash between the store's commit and an index's is detected and healed.
//!
//! Owns: the records, each image's descriptors, the sequence numbers, and
//! the one-writer lock ([`writelock`]). Must not touch: the derived
//! indexes, which are built from it (`crate::engine::builder`), never into it.

use crate::describe::hash::ImageHashes;
use crate::describe::orb::FEATURES_VERSION;
use crate::records::record::Record;
use rusqlite::{Connection, OptionalExtension};
use std::path::{Path, PathBuf};

mod alerts;
mod descriptors;
mod reviews;
pub mod writelock;
mod writes;

pub use alerts::{Alert, AlertFilter};
pub use reviews::{Decision, Review};

/// 2: local features per image.
/// 3: features released once a generation holds them; incremental
/// vacuum, so that the space they took is given back.
/// 4: each image's pixel grid (`crate::search::pixels`), NULL for images imported
/// before it; grey (576 bytes) for images imported before colours were kept.
const SCHEMA_VERSION: i64 = 4;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "record store {path}: schema version {found}, this build reads {SCHEMA_VERSION}: import the records into a new index"
    )]
    Schema { path: PathBuf, found: i64 },
    #[error("record store {path}: stored record {id} is unreadable: {message}")]
    BadRow {
        path: PathBuf,
        id: String,
        message: String,
    },
}

/// An image as the store keeps it: where it came from and its descriptors.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredImage {
    /// Absolute path of the image file at import time.
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub hashes: ImageHashes,
    pub embedding: Vec<f32>,
    /// Local features, [`crate::index::localfeatures::encode`]d.
    pub features: Vec<u8>,
    /// [`crate::describe::grid::GRID`]² grid of colours, for the pixel
    /// comparison (`crate::describe::grid`).
    pub grid: Vec<u8>,
    /// SHA-256 of the file's bytes when an import read it: the next import
    /// of the same file leaves the image as it is.
    pub file_sha256: Option<String>,
}

/// What a search result needs to know about a matched image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRef {
    pub record_id: String,
    /// Position of the image in its record's `images` list.
    pub n: u32,
    pub path: String,
    /// Its pixel grid (`crate::search::pixels`); None for an image imported by a
    /// release that did not keep one.
    pub grid: Option<Vec<u8>>,
    /// Its record's `object_type`: a picture is never read as an object
    /// off a backdrop (`crate::search::backdrop`).
    pub object_type: String,
}

/// One row of the image table, as a rebuild streams it.
pub struct ImageRow {
    pub slot: i64,
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub hashes: ImageHashes,
    pub embedding: Vec<f32>,
    pub features: FeatureSource,
}

/// Where an image's local features are to be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureSource {
    /// In the store ([`Store::features_of`]).
    Store,
    /// In the committed generation (see [`Store::release_features`]).
    Released,
    /// Nowhere: extracted by another version, not comparable.
    Unusable,
}

/// What an import read for each image (beside the images table, so that a
/// store of any version gains it and an older build ignores it).
const IMAGE_FILES: &str = "CREATE TABLE IF NOT EXISTS image_files(
    slot INTEGER PRIMARY KEY REFERENCES images(slot) ON DELETE CASCADE,
    sha256 TEXT NOT NULL);";

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The file opened (device and inode, on Unix): a file moved over the
    /// path later is another store, which this connection does not see.
    opened: Option<(u64, u64)>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
            opened: crate::paths::file_identity(path),
        };
        store.init()?;
        Ok(store)
    }

    /// Whether the file at this store's path is no longer the one this
    /// connection opened (replaced or removed): what it writes would be
    /// lost, or mixed into another store through its write-ahead log.
    pub fn replaced(&self) -> bool {
        self.opened.is_some() && crate::paths::file_identity(&self.path) != self.opened
    }

    /// Another connection to an existing store, for reads only
    /// (`query_only`): searches read their candidates side by side instead
    /// of in turn on the one writing connection, and in WAL mode a reader
    /// never waits for a writer's transaction.
    pub fn open_reader(path: &Path) -> Result<Store, StoreError> {
        let err = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        // The same page cache as the writing connection's (see `init`).
        conn.execute_batch(
            "PRAGMA query_only=1;
             PRAGMA busy_timeout=10000;
             PRAGMA cache_size=-32768;",
        )
        .map_err(err)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            opened: crate::paths::file_identity(path),
        })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn init(&self) -> Result<(), StoreError> {
        // Only a database without tables can take this setting directly;
        // set on an existing one it is a write, which a full disk refuses
        // even to a command that only reads.
        let pages: i64 = self
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(self.err())?;
        if pages == 0 {
            self.conn
                .execute_batch("PRAGMA auto_vacuum=INCREMENTAL;")
                .map_err(self.err())?;
        }
        // cache_size: 32 MiB of pages, not SQLite's 2: a search reads a few
        // hundred candidates' images and records scattered over the store
        // (702 MB at 251,111 references; docs/decisions.md, "251,111
        // references measured again").
        self.conn
            .execute_batch(
                "PRAGMA journal_mode=WAL;
                 PRAGMA synchronous=FULL;
                 PRAGMA foreign_keys=ON;
                 PRAGMA busy_timeout=10000;
                 PRAGMA cache_size=-32768;
                 CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                 INSERT OR IGNORE INTO meta VALUES ('schema', 4), ('seq', 0);
                 INSERT OR IGNORE INTO meta VALUES ('store_id', abs(random() % 9007199254740991));
                 INSERT OR IGNORE INTO meta SELECT 'images_seq', value FROM meta WHERE key='seq';
                 CREATE TABLE IF NOT EXISTS records(
                    id TEXT PRIMARY KEY,
                    json TEXT NOT NULL,
                    status TEXT NOT NULL,
                    object_type TEXT NOT NULL,
                    source TEXT NOT NULL,
                    seq INTEGER NOT NULL);
                 CREATE TABLE IF NOT EXISTS images(
                    slot INTEGER PRIMARY KEY AUTOINCREMENT,
                    record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE,
                    n INTEGER NOT NULL,
                    path TEXT NOT NULL,
                    width INTEGER NOT NULL,
                    height INTEGER NOT NULL,
                    hash_version INTEGER NOT NULL,
                    phash INTEGER NOT NULL,
                    dhash INTEGER NOT NULL,
                    embedder TEXT NOT NULL,
                    embedding BLOB NOT NULL,
                    features_version INTEGER NOT NULL,
                    features BLOB NOT NULL,
                    grid BLOB);
                 CREATE INDEX IF NOT EXISTS images_by_record ON images(record_id);",
            )
            .map_err(self.err())?;
        // Added beside the others: a store of any version gains it, and an
        // older build ignores it.
        self.conn
            .execute_batch(reviews::TABLE)
            .map_err(self.err())?;
        self.conn.execute_batch(alerts::TABLE).map_err(self.err())?;
        self.conn.execute_batch(IMAGE_FILES).map_err(self.err())?;
        let mut found = self.meta("schema")?;
        if found == 2 {
            // Same tables; the vacuum mode needs the file rewritten once.
            self.conn
                .execute_batch(
                    "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;
                     UPDATE meta SET value=3 WHERE key='schema';",
                )
                .map_err(self.err())?;
            found = 3;
        }
        if found == 3 {
            // One more column; the images imported before have no grid. In
            // a write transaction that looks again, so that two processes
            // opening the same old store do not both add it.
            let tx = rusqlite::Transaction::new_unchecked(
                &self.conn,
                rusqlite::TransactionBehavior::Immediate,
            )
            .map_err(self.err())?;
            if self.meta("schema")? == 3 {
                tx.execute_batch(
                    "ALTER TABLE images ADD COLUMN grid BLOB;
                     UPDATE meta SET value=4 WHERE key='schema';",
                )
                .map_err(self.err())?;
            }
            tx.commit().map_err(self.err())?;
            found = self.meta("schema")?;
        }
        if found != SCHEMA_VERSION {
            return Err(StoreError::Schema {
                path: self.path.clone(),
                found,
            });
        }
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key=?1", [key], |r| r.get(0))
            .map_err(self.err())
    }

    /// This store's identity, drawn when it was created: a generation
    /// names the store it was built from (`Manifest::store_id`).
    /// None only for a store of an older release opened read-only.
    pub fn store_id(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key='store_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())
    }

    /// The sequence number of the last committed change.
    pub fn seq(&self) -> Result<i64, StoreError> {
        self.meta("seq")
    }

    /// The sequence number of the last change that added images. Changes
    /// after it only removed images or changed record fields: an image
    /// index built at or after it still holds every live image (and some
    /// dead ones, which searches skip because they resolve every
    /// candidate through this store).
    pub fn images_seq(&self) -> Result<i64, StoreError> {
        self.meta("images_seq")
    }

    pub fn get(&self, id: &str) -> Result<Option<Record>, StoreError> {
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT json FROM records WHERE id=?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
            .map_err(self.err())?;
        json.map(|j| self.parse(id, &j)).transpose()
    }

    fn parse(&self, id: &str, json: &str) -> Result<Record, StoreError> {
        serde_json::from_str(json).map_err(|e| StoreError::BadRow {
            path: self.path.clone(),
            id: id.to_string(),
            message: e.to_string(),
        })
    }

    /// Where image `slot` comes from; `None` if it has since been replaced.
    pub fn image(&self, slot: i64) -> Result<Option<ImageRef>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT i.record_id, i.n, i.path, i.grid, r.object_type
                 FROM images i JOIN records r ON r.id = i.record_id WHERE i.slot=?1",
            )
            .and_then(|mut s| {
                s.query_row([slot], |r| {
                    Ok(ImageRef {
                        record_id: r.get(0)?,
                        n: r.get(1)?,
                        path: r.get(2)?,
                        grid: r.get(3)?,
                        object_type: r.get(4)?,
                    })
                })
                .optional()
            })
            .map_err(self.err())
    }

    /// Every stored image path.
    pub fn all_image_paths(&self) -> Result<Vec<String>, StoreError> {
        self.conn
            .prepare("SELECT path FROM images")
            .and_then(|mut s| {
                s.query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()
            })
            .map_err(self.err())
    }

    /// The stored paths of a record's images, in order.
    pub fn image_paths(&self, record_id: &str) -> Result<Vec<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT path FROM images WHERE record_id=?1 ORDER BY n")
            .and_then(|mut s| {
                s.query_map([record_id], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()
            })
            .map_err(self.err())
    }

    /// Streams every image row in slot order (for building a generation).
    pub fn for_each_image(&self, f: impl FnMut(ImageRow)) -> Result<(), StoreError> {
        self.for_each_image_after(0, f)
    }

    /// Every image whose slot is above `after`, in slot order: slots only
    /// grow, so these are the images added since that one.
    pub fn for_each_image_after(
        &self,
        after: i64,
        mut f: impl FnMut(ImageRow),
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT slot, phash, dhash, embedding, width, height, length(features), features_version, path FROM images WHERE slot > ?1 ORDER BY slot",
            )
            .map_err(self.err())?;
        let mut rows = stmt.query([after]).map_err(self.err())?;
        while let Some(r) = rows.next().map_err(self.err())? {
            let blob: Vec<u8> = r.get(3).map_err(self.err())?;
            let features: i64 = r.get(6).map_err(self.err())?;
            f(ImageRow {
                slot: r.get(0).map_err(self.err())?,
                path: r.get(8).map_err(self.err())?,
                width: r.get(4).map_err(self.err())?,
                height: r.get(5).map_err(self.err())?,
                hashes: ImageHashes {
                    phash: r.get::<_, i64>(1).map_err(self.err())? as u64,
                    dhash: r.get::<_, i64>(2).map_err(self.err())? as u64,
                },
                embedding: bytes_to_f32s(&blob),
                // Features another version extracted are not comparable:
                // such an image is matched by its global descriptors only
                // until its record is imported again.
                features: if r.get::<_, u32>(7).map_err(self.err())? != FEATURES_VERSION {
                    FeatureSource::Unusable
                } else if features == 0 {
                    FeatureSource::Released
                } else {
                    FeatureSource::Store
                },
            });
        }
        Ok(())
    }

    /// Streams every record (for rebuilding the text index).
    pub fn for_each_record(&self, mut f: impl FnMut(Record)) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, json FROM records")
            .map_err(self.err())?;
        let mut rows = stmt.query([]).map_err(self.err())?;
        while let Some(r) = rows.next().map_err(self.err())? {
            let id: String = r.get(0).map_err(self.err())?;
            let json: String = r.get(1).map_err(self.err())?;
            f(self.parse(&id, &json)?);
        }
        Ok(())
    }

    /// Runs `f` inside one read transaction: every query it makes sees
    /// the same committed state, whatever other connections commit.
    pub fn in_read_transaction<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        self.conn.execute_batch("BEGIN").map_err(self.err())?;
        let out = f(self);
        self.conn.execute_batch("COMMIT").map_err(self.err())?;
        out
    }

    /// A consistent, compacted copy of the whole store at `dest` (which
    /// must not exist), taken in one read transaction: writers may go on.
    pub fn copy_to(&self, dest: &Path) -> Result<(), StoreError> {
        self.conn
            .execute("VACUUM INTO ?1", [dest.display().to_string()])
            .map(drop)
            .map_err(self.err())
    }

    /// SQLite's own check of every page and index; empty when sound.
    pub fn integrity_problems(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
            .map_err(self.err())?;
        Ok(rows.into_iter().filter(|r| r != "ok").collect())
    }

    /// The slots of the images `embedder` described, in order.
    pub fn slots_for(&self, embedder: &str) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT slot FROM images WHERE embedder=?1 ORDER BY slot")
            .map_err(self.err())?;
        let slots = stmt
            .query_map([embedder], |r| r.get(0))
            .map_err(self.err())?
            .collect::<Result<Vec<i64>, _>>()
            .map_err(self.err())?;
        Ok(slots)
    }

    /// (records, images) currently stored.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM images)",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(self.err())
    }
}

pub fn f32s_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn bytes_to_f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(seed: u64) -> StoredImage {
        StoredImage {
            path: format!("/x/{seed}.jpg"),
            width: 10,
            height: 20,
            hashes: ImageHashes {
                phash: seed,
                dhash: u64::MAX - seed,
            },
            embedding: vec![seed as f32, 0.5],
            features: vec![],
            grid: vec![seed as u8; 4],
            file_sha256: None,
        }
    }

    #[test]
    fn a_files_fingerprint_holds_only_for_images_described_as_this_build_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("r.sqlite")).unwrap();
        let rec = Record {
            id: "a".into(),
            ..Record::default()
        };
        let im = StoredImage {
            file_sha256: Some("ab".into()),
            ..image(1)
        };
        s.upsert(&[(rec, vec![im, image(2)])], "e1").unwrap();
        let files = |s: &Store, embedder| s.image_files("a", embedder).unwrap();
        let expected = vec![
            ("/x/1.jpg".to_string(), Some("ab".to_string())),
            ("/x/2.jpg".to_string(), None),
        ];
        assert_eq!(files(&s, "e1"), expected);
        // Another embedder: described again on the next import.
        assert!(files(&s, "e2").iter().all(|(_, sha)| sha.is_none()));
        // Features lost: the same.
        let slot = s.image_slots_after(0).unwrap()[0].0;
        s.forget_file(slot).unwrap();
        assert_eq!(files(&s, "e1")[0].1, None);
    }

    #[test]
    fn upsert_replaces_and_bumps_seq() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("r.sqlite")).unwrap();
        let rec = Record {
            id: "a".into(),
            title: "One".into(),
            ..Record::default()
        };
        assert_eq!(
            s.upsert(&[(rec.clone(), vec![image(1), image(2)])], "e")
                .unwrap(),
            1
        );
        let rec2 = Record {
            title: "Two".into(),
            ..rec
        };
        assert_eq!(s.upsert(&[(rec2, vec![image(u64::MAX)])], "e").unwrap(), 2);
        assert_eq!(s.counts().unwrap(), (1, 1));
        assert_eq!(s.get("a").unwrap().unwrap().title, "Two");
        let mut rows = Vec::new();
        s.for_each_image(|r| rows.push((r.slot, r.hashes.phash, r.embedding)))
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].1,
            u64::MAX,
            "u64 hashes survive SQLite's signed integers"
        );
        assert_eq!(s.image(rows[0].0).unwrap().unwrap().record_id, "a");
        assert!(s.delete("a").unwrap());
        assert_eq!(s.counts().unwrap(), (0, 0));
        assert_eq!(s.seq().unwrap(), 3);
    }
}
