//! Retro-alerts: a record added (or given new images) after a kept
//! sighting showed its object. Kept in the record store, in the same
//! transaction that moves the watermark of images already checked, so an
//! alert survives a crash, a crash before it is written means the check
//! runs again, and the unique pair means it is never raised twice.

use super::{Store, StoreError};
use crate::records::sighting::Sighting;
use serde::{Deserialize, Serialize};

/// One alert: the record, the sighting that shows it, and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Assigned by the store, in the order alerts were raised.
    #[serde(default)]
    pub id: i64,
    pub record: String,
    pub sighting: Sighting,
    pub score: f32,
    pub verdict: String,
    /// The search's evidence (`crate::search::scoring::Evidence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Value>,
    /// `photo`: the kept photo was searched again and the record came back
    /// with this verdict, exactly as a search today would say. `descriptors`:
    /// the photo could no longer be read, and the kept descriptors alone
    /// proved the pair (never more than `possible`).
    pub checked: String,
    /// RFC 3339, UTC.
    pub raised: String,
}

/// The verdicts an alert can carry, strongest first.
const ALERT_VERDICTS: [&str; 3] = ["match", "partial", "possible"];

/// Which alerts to list (`alerts --since --verdict`, `?since=&verdict=`):
/// raised at or after `since`, of these verdicts; none given is any.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    since: Option<String>,
    verdicts: Option<Vec<String>>,
}

impl AlertFilter {
    /// `since`: a date (2026-05-01) or an RFC 3339 time, compared with the
    /// kept RFC 3339 times as text; `verdicts`: `match,partial`. Blank is
    /// any; anything else is an error naming it.
    pub fn parse(since: Option<&str>, verdicts: Option<&str>) -> Result<AlertFilter, String> {
        let since = since
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                utc_time(s).ok_or_else(|| {
                    format!("since {s:?}: a date (2026-05-01) or an RFC 3339 time in UTC (…Z)")
                })
            })
            .transpose()?;
        let verdicts = verdicts
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| {
                        ALERT_VERDICTS
                            .contains(&v)
                            .then(|| v.to_string())
                            .ok_or_else(|| {
                                format!("verdict {v:?}: one of match, partial, possible")
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(AlertFilter { since, verdicts })
    }

    /// Whether it keeps every alert.
    pub fn is_empty(&self) -> bool {
        self.since.is_none() && self.verdicts.is_none()
    }

    fn keeps(&self, a: &Alert) -> bool {
        self.verdicts
            .as_ref()
            .is_none_or(|v| v.contains(&a.verdict))
    }
}

/// A date (`2026-05-01`) as it is, or a time in UTC written as the alerts
/// keep theirs (`2026-05-01T10:00:00Z`), so that the two compare as text;
/// None for anything else (a day that does not exist, another zone).
fn utc_time(s: &str) -> Option<String> {
    let date = s.get(..10)?;
    humantime::parse_rfc3339(&format!("{date}T00:00:00Z")).ok()?;
    if s.len() == 10 {
        return Some(date.to_string());
    }
    let t = humantime::parse_rfc3339_weak(s.strip_suffix('Z')?).ok()?;
    Some(humantime::format_rfc3339_seconds(t).to_string())
}

pub(super) const TABLE: &str = "CREATE TABLE IF NOT EXISTS alerts(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record TEXT NOT NULL,
    sighting TEXT NOT NULL,
    raised TEXT NOT NULL,
    json TEXT NOT NULL,
    UNIQUE (record, sighting));
INSERT OR IGNORE INTO meta VALUES ('alerts_slot', 0);
INSERT OR IGNORE INTO meta VALUES ('alerts_sightings_slot', 0);";

impl Store {
    /// Images up to this store slot have been checked against the kept
    /// sightings.
    pub fn alerts_checked_slot(&self) -> Result<i64, StoreError> {
        self.meta("alerts_slot")
    }

    /// Sightings up to this slot of the sightings index have been checked
    /// against the images added after their search.
    pub fn alerts_sightings_slot(&self) -> Result<i64, StoreError> {
        self.meta("alerts_sightings_slot")
    }

    /// Live images in slots after `slot`, with their records: what the
    /// next check looks at.
    pub fn image_slots_after(&self, slot: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT slot, record_id FROM images WHERE slot > ?1 ORDER BY slot")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([slot], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Writes the alerts of one check and moves the watermarks to
    /// `through` (images) and `sightings_through` (sightings), in one
    /// transaction. Returns the alerts that are new (a pair already
    /// alerted is left as it was), with their ids.
    pub fn raise_alerts(
        &mut self,
        alerts: &[Alert],
        through: i64,
        sightings_through: i64,
    ) -> Result<Vec<Alert>, StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        let mut new = Vec::new();
        {
            let mut ins = tx
                .prepare_cached(
                    // Only for a record still there: one deleted while the
                    // check ran (without the write lock) calls for nothing.
                    "INSERT INTO alerts(record, sighting, raised, json)
                     SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM records WHERE id = ?1)
                     ON CONFLICT (record, sighting) DO NOTHING RETURNING id",
                )
                .map_err(err)?;
            for a in alerts {
                let json = serde_json::to_string(a).expect("an alert always serialises");
                let id: Option<i64> = ins
                    .query_row(
                        rusqlite::params![a.record, a.sighting.id, a.raised, json],
                        |r| r.get(0),
                    )
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })
                    .map_err(err)?;
                if let Some(id) = id {
                    new.push(Alert { id, ..a.clone() });
                }
            }
            tx.execute(
                "UPDATE meta SET value = max(value, ?1) WHERE key = 'alerts_slot'",
                [through],
            )
            .map_err(err)?;
            tx.execute(
                "UPDATE meta SET value = max(value, ?1) WHERE key = 'alerts_sightings_slot'",
                [sightings_through],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(new)
    }

    /// The alerts `filter` keeps, newest first.
    pub fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>, StoreError> {
        let (_, mut all) = self.read_alerts(
            "SELECT id, json FROM alerts WHERE ?1 IS NULL OR raised >= ?1 ORDER BY id DESC",
            rusqlite::params![filter.since],
        )?;
        all.retain(|a| filter.keeps(a));
        Ok(all)
    }

    /// Up to `limit` alerts after id `after`, oldest first (a webhook's
    /// next deliveries), and the last id looked at (past rows it could
    /// not read).
    pub fn alerts_after(&self, after: i64, limit: usize) -> Result<(i64, Vec<Alert>), StoreError> {
        let (last, out) = self.read_alerts(
            "SELECT id, json FROM alerts WHERE id > ?1 ORDER BY id LIMIT ?2",
            rusqlite::params![after, limit as i64],
        )?;
        Ok((last.unwrap_or(after), out))
    }

    /// The alerts a query's (id, json) rows hold, and the last id read.
    /// Written by this module; a row it cannot read is skipped, never a
    /// reason to hide the others.
    fn read_alerts(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<(Option<i64>, Vec<Alert>), StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(self.err())?;
        let rows = stmt
            .query_map(params, |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(self.err())?;
        let mut last = None;
        let mut out = Vec::new();
        for row in rows {
            let (id, json) = row.map_err(self.err())?;
            last = Some(id);
            if let Ok(a) = serde_json::from_str::<Alert>(&json) {
                out.push(Alert { id, ..a });
            }
        }
        Ok((last, out))
    }

    /// The id the newest alert ever raised was given (0 when none was):
    /// deleted alerts keep their ids taken.
    pub fn last_alert_id(&self) -> Result<i64, StoreError> {
        self.conn
            // The sequence, not max(id): deleting the newest alerts lowers
            // max(id), and the next alert would then count the gap again.
            .query_row(
                "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'alerts'), 0)",
                [],
                |r| r.get(0),
            )
            .map_err(self.err())
    }

    pub fn alert_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM alerts", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(self.err())
    }

    /// Forgets the alerts of a deleted sighting.
    pub fn delete_alerts_of(&self, sighting: &str) -> Result<usize, StoreError> {
        self.conn
            .execute("DELETE FROM alerts WHERE sighting = ?1", [sighting])
            .map_err(self.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::sighting::Context;

    #[test]
    fn since_is_a_real_day_or_a_time_in_utc() {
        assert_eq!(utc_time("2026-05-01").as_deref(), Some("2026-05-01"));
        assert_eq!(
            utc_time("2026-05-01T10:00:00.5Z").as_deref(),
            Some("2026-05-01T10:00:00Z")
        );
        for bad in [
            "2026-13-45",
            "2026-02-30",
            "2026-05-01T10:00:00+02:00",
            "May",
            "2026-05-01T",
        ] {
            assert_eq!(utc_time(bad), None, "{bad}");
        }
    }

    fn alert(record: &str, sighting: &str) -> Alert {
        Alert {
            id: 0,
            record: record.into(),
            sighting: Sighting {
                id: sighting.into(),
                query: "a.jpg".into(),
                photo_sha256: "00".into(),
                photo: "/a.jpg".into(),
                context: Context::default(),
                kept_by: "me".into(),
                kept: "2026-03-02T00:00:00Z".into(),
                searched_through: None,
            },
            score: 0.9,
            verdict: "match".into(),
            evidence: None,
            checked: "photo".into(),
            raised: "2026-05-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_pair_is_alerted_once_and_the_watermark_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.sqlite");
        {
            let mut store = Store::open(&path).unwrap();
            for id in ["r1", "r2"] {
                store
                    .conn
                    .execute(
                        "INSERT INTO records VALUES (?1, '{}', 'stolen', 'painting', 't', 1)",
                        [id],
                    )
                    .unwrap();
            }
            assert_eq!(store.alerts_checked_slot().unwrap(), 0);
            // "gone" was deleted while the check ran: no alert for it.
            let new = store
                .raise_alerts(
                    &[alert("r1", "S-1"), alert("r2", "S-1"), alert("gone", "S-1")],
                    10,
                    0,
                )
                .unwrap();
            assert_eq!(new.len(), 2);
            let again = store
                .raise_alerts(&[alert("r1", "S-1"), alert("r1", "S-2")], 5, 0)
                .unwrap();
            assert_eq!(again.len(), 1, "r1/S-1 was raised before");
            assert_eq!(again[0].sighting.id, "S-2");
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.alerts_checked_slot().unwrap(), 10);
        let all = store.alerts(&AlertFilter::default()).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].sighting.id, "S-2", "newest first");
        let later = AlertFilter::parse(Some("2026-06-01"), None).unwrap();
        assert!(store.alerts(&later).unwrap().is_empty());
        let possible = AlertFilter::parse(None, Some("possible")).unwrap();
        assert!(store.alerts(&possible).unwrap().is_empty());
        assert!(AlertFilter::parse(Some("May"), None).is_err());
        assert!(AlertFilter::parse(None, Some("maybe")).is_err());
        assert_eq!(store.delete_alerts_of("S-1").unwrap(), 2);
        assert_eq!(store.alert_count().unwrap(), 1);
        // The newest deleted too: its id stays taken, so the metrics'
        // counter of alerts raised does not count the next one twice.
        let last = store.last_alert_id().unwrap();
        assert!(last >= 3, "{last}");
        assert_eq!(store.delete_alerts_of("S-2").unwrap(), 1);
        assert_eq!(store.last_alert_id().unwrap(), last);
    }
}
