//! Review decisions: an expert's `confirmed` or `rejected` for one
//! candidate (a photo, by its SHA-256, and a record), kept in the record
//! store so that they are as crash-safe as the records and come back with
//! the candidate whenever the same photo is searched again. A later
//! decision on the same pair replaces the earlier one; none is ever
//! deleted with its record (the decision is about what was seen).

use super::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// What an expert decided about a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The photo shows the record's object.
    Confirmed,
    /// It does not: a look-alike, another copy, a shared motif.
    Rejected,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Confirmed => "confirmed",
            Decision::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Decision> {
        match s {
            "confirmed" => Some(Decision::Confirmed),
            "rejected" => Some(Decision::Rejected),
            _ => None,
        }
    }
}

/// One decision, with who made it and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// SHA-256 of the photo's bytes, hex.
    pub photo_sha256: String,
    pub record: String,
    pub decision: Decision,
    #[serde(default)]
    pub note: String,
    /// The key's name (the server) or the user (the CLI).
    pub by: String,
    /// RFC 3339, UTC.
    pub at: String,
}

/// `rejected by expert-1 at 2026-12-05T08:00:00Z: a later copy`: the
/// decision in words, for the text output and the batch report.
impl std::fmt::Display for Review {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} by {} at {}",
            self.decision.as_str(),
            self.by,
            self.at
        )?;
        if !self.note.is_empty() {
            write!(f, ": {}", self.note)?;
        }
        Ok(())
    }
}

pub(super) const TABLE: &str = "CREATE TABLE IF NOT EXISTS reviews(
    photo_sha256 TEXT NOT NULL,
    record TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    note TEXT NOT NULL,
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (photo_sha256, record));";

impl Store {
    /// Keeps `review`, replacing an earlier decision on the same pair.
    pub fn put_review(&mut self, review: &Review) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO reviews VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (photo_sha256, record) DO UPDATE SET
                   decision = excluded.decision, note = excluded.note,
                   by = excluded.by, at = excluded.at",
                rusqlite::params![
                    review.photo_sha256,
                    review.record,
                    review.decision.as_str(),
                    review.note,
                    review.by,
                    review.at
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Whether any decision is kept.
    pub fn has_reviews(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT EXISTS (SELECT 1 FROM reviews)", [], |r| r.get(0))
            .map_err(self.err())
    }

    /// Decisions on one photo's candidates, or every decision (newest
    /// first).
    pub fn reviews(&self, photo_sha256: Option<&str>) -> Result<Vec<Review>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT photo_sha256, record, decision, note, by, at FROM reviews
                 WHERE ?1 IS NULL OR photo_sha256 = ?1 ORDER BY at DESC, record",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([photo_sha256], |r| {
                let decision: String = r.get(2)?;
                Ok(Review {
                    photo_sha256: r.get(0)?,
                    record: r.get(1)?,
                    // The table's CHECK admits only these two.
                    decision: Decision::parse(&decision).unwrap_or(Decision::Rejected),
                    note: r.get(3)?,
                    by: r.get(4)?,
                    at: r.get(5)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(sha: &str, record: &str, decision: Decision, at: &str) -> Review {
        Review {
            photo_sha256: sha.into(),
            record: record.into(),
            decision,
            note: "looked".into(),
            by: "expert-1".into(),
            at: at.into(),
        }
    }

    #[test]
    fn a_later_decision_on_the_same_pair_replaces_the_earlier_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.sqlite");
        {
            let mut store = Store::open(&path).unwrap();
            store
                .put_review(&review(
                    "aa",
                    "r1",
                    Decision::Rejected,
                    "2026-12-01T00:00:00Z",
                ))
                .unwrap();
            store
                .put_review(&review(
                    "aa",
                    "r1",
                    Decision::Confirmed,
                    "2026-12-02T00:00:00Z",
                ))
                .unwrap();
            store
                .put_review(&review(
                    "bb",
                    "r1",
                    Decision::Rejected,
                    "2026-12-03T00:00:00Z",
                ))
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let one = store.reviews(Some("aa")).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].decision, Decision::Confirmed);
        let all = store.reviews(None).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].photo_sha256, "bb", "newest first");
    }
}
