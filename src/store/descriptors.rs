//! What the store keeps of each image for the image indexes' sake, beside
//! its record: the local features until a committed generation holds
//! them, and the pixel grid the matching reads at query time.

use super::{Store, StoreError};
use crate::describe::orb::FEATURES_VERSION;
use rusqlite::{OptionalExtension, params};

impl Store {
    /// The local features' blob of the image in `slot`, if the store
    /// still holds it.
    pub fn features_of(&self, slot: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT features FROM images WHERE slot=?1", [slot], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())?;
        Ok(blob.filter(|b| !b.is_empty()))
    }

    /// Drops the local features of the images up to `through` (a slot)
    /// that `embedder` described, once a committed generation holds
    /// them: they are the largest part of an image's entry, and keeping
    /// them twice would double the disk per image. Later builds take them
    /// from the generation; if it is lost, from the images themselves.
    /// Returns how many were dropped.
    pub fn release_features(&self, through: i64, embedder: &str) -> Result<u64, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE images SET features=x'' WHERE slot <= ?1 AND embedder=?2 AND features_version=?3 AND length(features) > 0",
                rusqlite::params![through, embedder, FEATURES_VERSION],
            )
            .map_err(self.err())?;
        if n > 0 {
            // The pragma frees one page per step: run it to the end.
            let mut stmt = self
                .conn
                .prepare("PRAGMA incremental_vacuum")
                .map_err(self.err())?;
            let mut rows = stmt.query([]).map_err(self.err())?;
            while rows.next().map_err(self.err())?.is_some() {}
        }
        Ok(n as u64)
    }

    /// Images imported before their pixel grid was kept, or before its
    /// colours were: (slot, path, the grey grid kept, if any).
    #[allow(clippy::type_complexity)]
    pub fn images_without_grid(&self) -> Result<Vec<(i64, String, Option<Vec<u8>>)>, StoreError> {
        self.conn
            .prepare(
                "SELECT slot, path, grid FROM images WHERE grid IS NULL OR length(grid) < ?1 ORDER BY slot",
            )
            .and_then(|mut s| {
                s.query_map([crate::describe::grid::KEPT_BYTES as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                    .collect::<Result<_, _>>()
            })
            .map_err(self.err())
    }

    /// How many images [`Self::images_without_grid`] would give.
    pub fn count_without_grid(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM images WHERE grid IS NULL OR length(grid) < ?1",
                [crate::describe::grid::KEPT_BYTES as i64],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(self.err())
    }

    /// Keeps the pixel grids of these images, in one transaction. They are
    /// not indexed: no change to the sequence numbers.
    pub fn set_grids(&mut self, grids: &[(i64, Vec<u8>)]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut set = tx
                .prepare_cached("UPDATE images SET grid=?2 WHERE slot=?1")
                .map_err(err)?;
            for (slot, grid) in grids {
                set.execute(params![slot, grid]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }
}
