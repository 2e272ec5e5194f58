//! The store's writes: records added, replaced, changed in their fields
//! only, or deleted, each in one transaction that bumps the sequence.

use super::{Store, StoreError, StoredImage, f32s_to_bytes};
use crate::describe::hash::HASH_VERSION;
use crate::describe::orb::FEATURES_VERSION;
use crate::records::record::Record;
use rusqlite::params;

impl Store {
    /// Replaces the fields of existing records, keeping their images and
    /// descriptors (a status change, a corrected title); records that do
    /// not exist are left out and reported `false`.
    pub fn update_records(&mut self, records: &[Record]) -> Result<Vec<bool>, StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        let seq = next_seq(&tx).map_err(err)?;
        let done = update_fields(&tx, seq, records).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(done)
    }

    /// Inserts or replaces records with their images, all in one
    /// transaction: either every record of the batch is committed or none.
    /// Returns the new sequence number.
    pub fn upsert(
        &mut self,
        batch: &[(Record, Vec<StoredImage>)],
        embedder: &str,
    ) -> Result<i64, StoreError> {
        Ok(self.upsert_keeping(batch, &[], embedder)?.0)
    }

    /// [`Store::upsert`], and in the same transaction the fields of
    /// `fields`, whose images stay as they are (an import's records whose
    /// image files did not change); which of those existed.
    pub fn upsert_keeping(
        &mut self,
        batch: &[(Record, Vec<StoredImage>)],
        fields: &[Record],
        embedder: &str,
    ) -> Result<(i64, Vec<bool>), StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        let seq = next_seq(&tx).map_err(err)?;
        if !batch.is_empty() {
            tx.execute("UPDATE meta SET value=?1 WHERE key='images_seq'", [seq])
                .map_err(err)?;
        }
        {
            let mut del = tx
                .prepare_cached("DELETE FROM images WHERE record_id=?1")
                .map_err(err)?;
            let mut rec = tx
                .prepare_cached(
                    "INSERT INTO records(id, json, status, object_type, source, seq) VALUES (?1,?2,?3,?4,?5,?6)
                     ON CONFLICT(id) DO UPDATE SET json=excluded.json, status=excluded.status,
                       object_type=excluded.object_type, source=excluded.source, seq=excluded.seq",
                )
                .map_err(err)?;
            let mut file = tx
                .prepare_cached("INSERT INTO image_files(slot, sha256) VALUES (?1, ?2)")
                .map_err(err)?;
            let mut img = tx
                .prepare_cached(
                    "INSERT INTO images(record_id, n, path, width, height, hash_version, phash, dhash, embedder, embedding, features_version, features, grid)
                     VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                )
                .map_err(err)?;
            for (record, images) in batch {
                let json = serde_json::to_string(record).expect("a record always serialises");
                rec.execute(params![
                    record.id,
                    json,
                    record.status.as_str(),
                    record.object_type,
                    record.source,
                    seq
                ])
                .map_err(err)?;
                del.execute([&record.id]).map_err(err)?;
                for (n, im) in images.iter().enumerate() {
                    img.execute(params![
                        record.id,
                        n as i64,
                        im.path,
                        im.width,
                        im.height,
                        HASH_VERSION,
                        im.hashes.phash as i64,
                        im.hashes.dhash as i64,
                        embedder,
                        f32s_to_bytes(&im.embedding),
                        FEATURES_VERSION,
                        im.features,
                        im.grid,
                    ])
                    .map_err(err)?;
                    if let Some(sha) = &im.file_sha256 {
                        file.execute(params![tx.last_insert_rowid(), sha])
                            .map_err(err)?;
                    }
                }
            }
        }
        let done = update_fields(&tx, seq, fields).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok((seq, done))
    }

    /// A record's images in order: each file's path, and the SHA-256 of its
    /// bytes when an import read it and the image is described as this
    /// build describes with `embedder` (else the next import describes it
    /// again).
    pub fn image_files(
        &self,
        id: &str,
        embedder: &str,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT i.path, CASE WHEN i.embedder = ?2 AND i.features_version = ?3
                                      AND i.hash_version = ?4 AND f.sha256 NOT LIKE 'lost:%'
                                 THEN f.sha256 END
                 FROM images i LEFT JOIN image_files f ON f.slot = i.slot
                 WHERE i.record_id = ?1 ORDER BY i.n",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![id, embedder, FEATURES_VERSION, HASH_VERSION], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// A record's images in order: each file's path and the SHA-256 of its
    /// bytes when an import read them (what `export` must find there).
    pub fn imported_files(&self, id: &str) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT i.path, replace(f.sha256, 'lost:', '') FROM images i
                 LEFT JOIN image_files f ON f.slot = i.slot
                 WHERE i.record_id = ?1 ORDER BY i.n",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The SHA-256 of image `slot`'s file as an import read it, if kept.
    pub fn file_sha256(&self, slot: i64) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT replace(sha256, 'lost:', '') FROM image_files WHERE slot = ?1",
                [slot],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    /// Forgets that an import described image `slot`'s file as it is: its
    /// local features were lost (the file unreadable, or changed, when they
    /// were extracted again), and the next import must describe it again.
    /// The bytes' SHA-256 is kept, marked: an export or a later rebuild
    /// must still tell the bytes imported from others.
    pub fn forget_file(&self, slot: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE image_files SET sha256 = 'lost:' || sha256
                 WHERE slot = ?1 AND sha256 NOT LIKE 'lost:%'",
                [slot],
            )
            .map(drop)
            .map_err(self.err())
    }

    /// Deletes a record and its images; false if there was none.
    pub fn delete(&mut self, id: &str) -> Result<bool, StoreError> {
        Ok(self.delete_many(&[id.to_string()])?[0])
    }

    /// Deletes records, their images and the alerts raised for them (an
    /// alert for a record that is gone calls for nothing), all or none;
    /// which existed, in order.
    pub fn delete_many(&mut self, ids: &[String]) -> Result<Vec<bool>, StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        let mut gone = Vec::with_capacity(ids.len());
        for id in ids {
            let n = tx
                .execute("DELETE FROM records WHERE id=?1", [id])
                .map_err(err)?;
            if n > 0 {
                tx.execute("DELETE FROM alerts WHERE record=?1", [id])
                    .map_err(err)?;
            }
            gone.push(n > 0);
        }
        if gone.iter().any(|g| *g) {
            tx.execute("UPDATE meta SET value=value+1 WHERE key='seq'", [])
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(gone)
    }
}

/// Replaces the fields of existing records at sequence `seq`; which existed.
fn update_fields(
    tx: &rusqlite::Transaction<'_>,
    seq: i64,
    records: &[Record],
) -> rusqlite::Result<Vec<bool>> {
    let mut upd = tx.prepare_cached(
        "UPDATE records SET json=?2, status=?3, object_type=?4, source=?5, seq=?6 WHERE id=?1",
    )?;
    let mut done = Vec::with_capacity(records.len());
    for r in records {
        let json = serde_json::to_string(r).expect("a record always serialises");
        let n = upd.execute(params![
            r.id,
            json,
            r.status.as_str(),
            r.object_type,
            r.source,
            seq
        ])?;
        done.push(n > 0);
    }
    Ok(done)
}

/// Bumps the store's change sequence inside `tx`; returns the new value.
fn next_seq(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<i64> {
    tx.query_row(
        "UPDATE meta SET value=value+1 WHERE key='seq' RETURNING value",
        [],
        |r| r.get(0),
    )
}
