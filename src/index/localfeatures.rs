//! Reference images' local features on disk: one blob per image in the
//! record store (so indexes are rebuilt without decoding again) and, per
//! generation, one memory-mapped table that geometric verification reads
//! a candidate's features from without copying the whole database.
//!
//! A feature is 40 bytes: the 256-bit descriptor; x and y (u16 LE, in
//! eighths of a pixel of the image the features were extracted from, whose
//! size leads the blob); the orientation (u8, 256 steps per turn) and the
//! pyramid level (u8), which the candidate stage checks for consistency;
//! two spare bytes.

use crate::describe::orb::{Descriptor, Features, Keypoint};
use crate::index::arrayfile::{self, ArrayFileError, MappedArray};
use crate::index::vocabulary::descriptor_from;
use std::path::Path;

pub const FEATURE_BYTES: usize = 40;
const BLOB_HEADER: usize = 4;
const INDEX_MAGIC: [u8; 8] = *b"PVLFIDX1";
const ENTRIES_MAGIC: [u8; 8] = *b"PVLFENT1";
/// Per image: first feature (u64), count (u32), width and height (u16).
/// Per image: offset u64, count u32, width u16, height u16, CRC-32 of its
/// features (checked each time a search reads them).
const INDEX_ENTRY: usize = 20;

/// The store's form of an image's features.
pub fn encode(f: &Features) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOB_HEADER + f.len() * FEATURE_BYTES);
    out.extend_from_slice(&(f.width.min(u16::MAX as u32) as u16).to_le_bytes());
    out.extend_from_slice(&(f.height.min(u16::MAX as u32) as u16).to_le_bytes());
    for (k, d) in f.keypoints.iter().zip(&f.descriptors) {
        for w in d {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&to_fixed(k.x).to_le_bytes());
        out.extend_from_slice(&to_fixed(k.y).to_le_bytes());
        out.push(angle_step(k.angle));
        out.push(k.level);
        out.extend_from_slice(&[0, 0]);
    }
    out
}

/// Eighths of a pixel: exact enough for RANSAC, 8,191 pixels at most.
fn to_fixed(v: f32) -> u16 {
    (v * 8.0).round().clamp(0.0, u16::MAX as f32) as u16
}

/// An orientation in 256 steps per turn.
pub fn angle_step(radians: f32) -> u8 {
    let turns = radians.rem_euclid(std::f32::consts::TAU) / std::f32::consts::TAU;
    ((turns * 256.0).round() as u32 % 256) as u8
}

/// None if the blob is not a whole number of features.
pub fn decode(blob: &[u8]) -> Option<RefFeatures<'_>> {
    if blob.len() < BLOB_HEADER || !(blob.len() - BLOB_HEADER).is_multiple_of(FEATURE_BYTES) {
        return None;
    }
    Some(RefFeatures {
        width: u16::from_le_bytes([blob[0], blob[1]]) as u32,
        height: u16::from_le_bytes([blob[2], blob[3]]) as u32,
        entries: &blob[BLOB_HEADER..],
    })
}

/// One reference image's features, copied out of the table.
#[derive(Debug, Clone)]
pub struct OwnedFeatures {
    pub width: u32,
    pub height: u32,
    entries: Vec<u8>,
}

impl OwnedFeatures {
    pub fn as_ref(&self) -> RefFeatures<'_> {
        RefFeatures {
            width: self.width,
            height: self.height,
            entries: &self.entries,
        }
    }
}

/// One reference image's features, borrowed from a blob or the table.
#[derive(Debug, Clone, Copy)]
pub struct RefFeatures<'a> {
    pub width: u32,
    pub height: u32,
    entries: &'a [u8],
}

impl<'a> RefFeatures<'a> {
    /// The store's form (see [`encode`]).
    pub fn to_blob(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BLOB_HEADER + self.entries.len());
        out.extend_from_slice(&(self.width as u16).to_le_bytes());
        out.extend_from_slice(&(self.height as u16).to_le_bytes());
        out.extend_from_slice(self.entries);
        out
    }

    pub fn len(&self) -> usize {
        self.entries.len() / FEATURE_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn descriptors(&self) -> impl Iterator<Item = Descriptor> + 'a {
        self.entries
            .chunks_exact(FEATURE_BYTES)
            .map(|e| descriptor_from(&e[..32]))
    }

    pub fn points(&self) -> impl Iterator<Item = [f32; 2]> + 'a {
        self.entries.chunks_exact(FEATURE_BYTES).map(|e| {
            [
                u16::from_le_bytes([e[32], e[33]]) as f32 / 8.0,
                u16::from_le_bytes([e[34], e[35]]) as f32 / 8.0,
            ]
        })
    }

    /// (orientation step, pyramid level) of each feature.
    pub fn shapes(&self) -> impl Iterator<Item = (u8, u8)> + 'a {
        self.entries
            .chunks_exact(FEATURE_BYTES)
            .map(|e| (e[36], e[37]))
    }

    pub fn to_features(&self) -> Features {
        Features {
            width: self.width,
            height: self.height,
            keypoints: self
                .points()
                .zip(self.shapes())
                .map(|([x, y], (a, level))| Keypoint {
                    x,
                    y,
                    level,
                    angle: a as f32 * std::f32::consts::TAU / 256.0,
                })
                .collect(),
            descriptors: self.descriptors().collect(),
        }
    }
}

/// Writes a segment's table from each image's blob, asked for one at a
/// time so that a table of any size streams through (None or a bad blob:
/// an image without local features).
pub fn write_table(
    index_path: &Path,
    entries_path: &Path,
    images: usize,
    mut blob_of: impl FnMut(usize) -> Option<Vec<u8>>,
) -> Result<(), ArrayFileError> {
    let mut index = arrayfile::Writer::create(index_path, INDEX_MAGIC, INDEX_ENTRY as u32)?;
    let mut entries = arrayfile::Writer::create(entries_path, ENTRIES_MAGIC, FEATURE_BYTES as u32)?;
    let mut next = 0u64;
    for i in 0..images {
        let blob = blob_of(i);
        let f = blob.as_deref().and_then(decode);
        let (count, w, h) = f.map_or((0, 0, 0), |f| (f.len(), f.width, f.height));
        let mut e = [0u8; INDEX_ENTRY];
        e[0..8].copy_from_slice(&next.to_le_bytes());
        e[8..12].copy_from_slice(&(count as u32).to_le_bytes());
        e[12..14].copy_from_slice(&(w as u16).to_le_bytes());
        e[14..16].copy_from_slice(&(h as u16).to_le_bytes());
        let crc = f.map_or(0, |f| crc32fast::hash(f.entries));
        e[16..20].copy_from_slice(&crc.to_le_bytes());
        index.push(&e)?;
        if let Some(f) = f {
            entries.push(f.entries)?;
        }
        next += count as u64;
    }
    index.finish()?;
    entries.finish()
}

pub struct FeatureTable {
    index: MappedArray,
    entries: MappedArray,
}

impl FeatureTable {
    pub fn open(index_path: &Path, entries_path: &Path) -> Result<FeatureTable, ArrayFileError> {
        let index = MappedArray::open(index_path, INDEX_MAGIC, INDEX_ENTRY as u32)?;
        let entries = MappedArray::open(entries_path, ENTRIES_MAGIC, FEATURE_BYTES as u32)?;
        // Small (20 bytes an image): checked whole at open. The features
        // themselves are checked image by image as searches read them.
        index.verify()?;
        let table = FeatureTable { index, entries };
        let total = (0..table.index.len())
            .map(|i| table.span(i).1 as u64)
            .sum::<u64>();
        if total != table.entries.len() as u64 {
            return Err(ArrayFileError::Length {
                path: entries_path.to_path_buf(),
                found: table.entries.len() as u64,
                expected: total,
            });
        }
        Ok(table)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn span(&self, pos: usize) -> (u64, u32, u32, u32) {
        let e = self.index.get(pos);
        (
            u64::from_le_bytes(e[0..8].try_into().expect("8 bytes")),
            u32::from_le_bytes(e[8..12].try_into().expect("4 bytes")),
            u16::from_le_bytes([e[12], e[13]]) as u32,
            u16::from_le_bytes([e[14], e[15]]) as u32,
        )
    }

    /// A copy of the features of the image at `pos` (a positioned read,
    /// see [`MappedArray::read`]), after checking their CRC: a damaged
    /// file is an error naming it, never a wrong verdict.
    pub fn get_checked(&self, pos: u32) -> Result<OwnedFeatures, ArrayFileError> {
        let (start, count, width, height) = self.span(pos as usize);
        let entries = self.entries.read(start as usize, count as usize)?;
        let e = self.index.get(pos as usize);
        let crc = u32::from_le_bytes(e[16..20].try_into().expect("4 bytes"));
        if entries.is_empty() || crc32fast::hash(&entries) == crc {
            Ok(OwnedFeatures {
                width,
                height,
                entries,
            })
        } else {
            Err(ArrayFileError::Checksum {
                path: self.entries.path().to_path_buf(),
            })
        }
    }

    /// The features of the image at `pos`, unchecked (for building the
    /// next generation, whose own checksums are computed afresh).
    pub fn get(&self, pos: u32) -> RefFeatures<'_> {
        let (start, count, width, height) = self.span(pos as usize);
        let payload = self.entries.payload();
        let a = start as usize * FEATURE_BYTES;
        RefFeatures {
            width,
            height,
            entries: &payload[a..a + count as usize * FEATURE_BYTES],
        }
    }

    pub fn verify(&self) -> Result<(), ArrayFileError> {
        self.index.verify()?;
        self.entries.verify()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_and_table_round_trip() {
        let f = Features {
            width: 640,
            height: 480,
            keypoints: vec![
                Keypoint {
                    x: 1.5,
                    y: 2.25,
                    level: 1,
                    angle: 0.3,
                },
                Keypoint {
                    x: 600.0,
                    y: 400.0,
                    level: 0,
                    angle: 0.0,
                },
            ],
            descriptors: vec![[1, 2, 3, 4], [u64::MAX, 0, 7, 9]],
        };
        let blob = encode(&f);
        let back = decode(&blob).unwrap().to_features();
        assert_eq!(back.descriptors, f.descriptors);
        assert_eq!((back.width, back.height), (640, 480));
        assert_eq!(back.keypoints[0].x, 1.5);
        assert_eq!(back.keypoints[0].level, 1);
        assert!((back.keypoints[0].angle - 0.3).abs() < 0.02);
        assert!(decode(&blob[..blob.len() - 1]).is_none());

        let dir = tempfile::tempdir().unwrap();
        let (i, e) = (dir.path().join("i"), dir.path().join("e"));
        let blobs = [None, Some(blob.clone()), Some(blob[..3].to_vec())];
        write_table(&i, &e, 3, |k| blobs[k].clone()).unwrap();
        let t = FeatureTable::open(&i, &e).unwrap();
        assert_eq!(t.len(), 3);
        assert!(t.get(0).is_empty());
        assert_eq!(t.get(1).to_features().descriptors, f.descriptors);
        assert_eq!(t.get(1).to_blob(), blob);
        assert!(t.get(2).is_empty());
        t.verify().unwrap();
    }
}
