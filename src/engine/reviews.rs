//! Experts' decisions on candidates (`crate::store::Review`), kept in the
//! record store and attached to a photo's candidates when it is searched
//! again.

use super::{Engine, EngineError};
use crate::search::response::Match;
use crate::store::Review;
use std::path::Path;

/// SHA-256 of some bytes, lower-case hex: a photo's identity for reviews
/// and the audit log.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Engine {
    /// Keeps an expert's decision, replacing an earlier one on the same
    /// (photo, record) pair.
    pub fn review(&self, review: &Review) -> Result<(), EngineError> {
        Ok(self.store_to_write()?.put_review(review)?)
    }

    /// Decisions on one photo's candidates, or all of them, newest first.
    pub fn reviews(&self, photo_sha256: Option<&str>) -> Result<Vec<Review>, EngineError> {
        Ok(self.reader()?.reviews(photo_sha256)?)
    }

    /// The photo file's SHA-256 when any decision is kept (else there is
    /// nothing to look up, and the file is not read twice).
    pub fn reviewed_sha256(&self, photo: &Path) -> Result<Option<String>, EngineError> {
        if !self.reader()?.has_reviews()? {
            return Ok(None);
        }
        let bytes = crate::imaging::decode::read_limited(photo, &self.limits)?;
        Ok(Some(sha256_hex(&bytes)))
    }

    /// Marks each candidate an expert has decided on for this photo.
    pub(crate) fn attach_reviews(
        &self,
        matches: &mut [Match],
        photo_sha256: &str,
    ) -> Result<(), EngineError> {
        let reviews = self.reviews(Some(photo_sha256))?;
        for m in matches.iter_mut() {
            m.review = reviews.iter().find(|r| r.record == m.id).cloned();
        }
        Ok(())
    }
}
