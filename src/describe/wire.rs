//! A photo's descriptors as one server sends them to another, in place of
//! the photo (`serve --peers`, a peer with `"send": "descriptors"`): an
//! agency that may not share seizure photos can still have them searched.
//!
//! What travels is what the candidate stage reads: the hashes and
//! embeddings of the photo and of its outlined regions, the local
//! features of the photo, of its best region and of its two simulated
//! tilts (made in advance, since the peer has no pixels to make them
//! from). No pixels travel: the pixel comparison is done by the asker,
//! which holds the photo (`crate::search::remote`).
//!
//! A received query is hostile input: every count, size and coordinate is
//! checked against what our own describer makes before any index reads it.

use crate::describe::describer::{
    FEATURE_REGIONS, QueryDescriptors, RegionDescriptors, RegionFeatures, TILTS, tilted_views,
};
use crate::describe::embed::Embedder;
use crate::describe::hash::ImageHashes;
use crate::describe::orb::{self, Descriptor, Features, Keypoint};
use crate::imaging::dihedral::Dihedral;
use crate::imaging::geometry::Homography;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// Bump when the encoding changes.
pub const WIRE_FORMAT: u32 = 1;
/// Keypoints one feature set may hold: our describer makes at most
/// `orb::QUERY.max_features`; twice that leaves room, no more.
const MAX_KEYPOINTS: usize = 2 * orb::QUERY.max_features;
/// Outlined regions a query may carry (our describer finds at most 3).
const MAX_REGIONS: usize = 8;
/// Largest side of a photo or a feature copy, in pixels.
const MAX_SIDE: u32 = 1 << 16;

/// The photo's descriptors, as sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireQuery {
    pub format: u32,
    /// The embedder the embeddings come from ([`Embedder::id`]).
    pub embedder: String,
    /// The asker's `crate::search::scoring::CALIBRATION`.
    pub calibration: String,
    pub width: u32,
    pub height: u32,
    /// `[phash, dhash]` in the eight orientations (`Dihedral::ALL`).
    pub hashes: Vec<[u64; 2]>,
    pub embeddings: Vec<Vec<f32>>,
    pub features: WireFeatures,
    pub regions: Vec<WireRegion>,
    pub tilts: Vec<WireView>,
}

/// One feature set: keypoints as numbers, descriptors as base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireFeatures {
    pub width: u32,
    pub height: u32,
    /// x, y and angle of each keypoint in turn.
    pub points: Vec<f32>,
    /// Each keypoint's pyramid level, one byte each, base64.
    pub levels: String,
    /// 32 bytes a descriptor (four little-endian words), base64.
    pub descriptors: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireRegion {
    pub hashes: Vec<[u64; 2]>,
    pub embeddings: Vec<Vec<f32>>,
    #[serde(default)]
    pub features: Option<WireView>,
    pub outline: [[f32; 2]; 4],
}

/// Features of a rendered view (a region, a tilt) and the way back to the
/// photo's pixels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireView {
    pub features: WireFeatures,
    pub to_photo: [f64; 9],
}

impl WireQuery {
    /// The query as sent; the tilts' features are made here if the search
    /// has not made them.
    pub fn encode(query: &QueryDescriptors, embedder: &dyn Embedder, calibration: &str) -> Self {
        WireQuery {
            format: WIRE_FORMAT,
            embedder: embedder.id().to_string(),
            calibration: calibration.to_string(),
            width: query.width,
            height: query.height,
            hashes: query.hashes.iter().map(|h| [h.phash, h.dhash]).collect(),
            embeddings: query.embeddings.clone(),
            features: WireFeatures::encode(&query.features),
            regions: query
                .regions
                .iter()
                .map(|r| WireRegion {
                    hashes: r.hashes.iter().map(|h| [h.phash, h.dhash]).collect(),
                    embeddings: r.embeddings.clone(),
                    features: r.features.as_ref().map(WireView::encode),
                    outline: r.outline,
                })
                .collect(),
            tilts: tilted_views(query).iter().map(WireView::encode).collect(),
        }
    }

    /// The query a peer searches with, checked against what our describer
    /// makes; the error says which part is wrong. Its grey copy is empty:
    /// no pixels came.
    pub fn decode(
        self,
        embedder: &dyn Embedder,
        calibration: &str,
    ) -> Result<QueryDescriptors, String> {
        if self.format != WIRE_FORMAT {
            return Err(format!(
                "descriptors in format {}, this server reads format {WIRE_FORMAT}",
                self.format
            ));
        }
        if self.embedder != embedder.id() {
            return Err(format!(
                "embeddings made by {:?}, this index's by {:?}: send the photo instead",
                self.embedder,
                embedder.id()
            ));
        }
        if self.calibration != calibration {
            return Err(format!(
                "scores calibrated as {:?}, ours as {calibration:?}: send the photo instead",
                self.calibration
            ));
        }
        side("width", self.width)?;
        side("height", self.height)?;
        let extent = self.width.max(self.height) as f32;
        let dim = embedder.dim();
        let regions = self.regions;
        if regions.len() > MAX_REGIONS {
            return Err(format!(
                "regions: {} outlines, at most {MAX_REGIONS}",
                regions.len()
            ));
        }
        if regions.iter().filter(|r| r.features.is_some()).count() > FEATURE_REGIONS {
            return Err(format!(
                "regions: local features for at most {FEATURE_REGIONS} outline"
            ));
        }
        if self.tilts.len() > TILTS.len() {
            return Err(format!(
                "tilts: {}, at most {}",
                self.tilts.len(),
                TILTS.len()
            ));
        }
        Ok(QueryDescriptors {
            width: self.width,
            height: self.height,
            hashes: hashes("hashes", &self.hashes)?,
            embeddings: embeddings("embeddings", self.embeddings, Dihedral::ALL.len(), dim)?,
            features: self.features.decode("features")?,
            regions: regions
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    let at = format!("regions[{i}]");
                    if r.outline
                        .iter()
                        .flatten()
                        .any(|v| v.is_nan() || v.abs() > 4.0 * extent)
                    {
                        return Err(format!("{at}.outline: far outside the photo"));
                    }
                    Ok(RegionDescriptors {
                        hashes: hashes(&format!("{at}.hashes"), &r.hashes)?,
                        embeddings: embeddings(&format!("{at}.embeddings"), r.embeddings, 4, dim)?,
                        features: r
                            .features
                            .map(|v| v.decode(&format!("{at}.features")))
                            .transpose()?,
                        outline: r.outline,
                    })
                })
                .collect::<Result<_, String>>()?,
            grey: image::GrayImage::new(0, 0),
            colour: image::RgbImage::new(0, 0),
            tilts: Some(
                self.tilts
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| v.decode(&format!("tilts[{i}]")))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

impl WireFeatures {
    fn encode(f: &Features) -> Self {
        let mut descriptors = Vec::with_capacity(f.descriptors.len() * 32);
        for d in &f.descriptors {
            for w in d {
                descriptors.extend_from_slice(&w.to_le_bytes());
            }
        }
        WireFeatures {
            width: f.width,
            height: f.height,
            points: f
                .keypoints
                .iter()
                .flat_map(|k| [k.x, k.y, k.angle])
                .collect(),
            levels: B64.encode(f.keypoints.iter().map(|k| k.level).collect::<Vec<u8>>()),
            descriptors: B64.encode(descriptors),
        }
    }

    fn decode(self, at: &str) -> Result<Features, String> {
        side(&format!("{at}.width"), self.width)?;
        side(&format!("{at}.height"), self.height)?;
        let levels = B64
            .decode(&self.levels)
            .map_err(|e| format!("{at}.levels: not base64 ({e})"))?;
        let bytes = B64
            .decode(&self.descriptors)
            .map_err(|e| format!("{at}.descriptors: not base64 ({e})"))?;
        let n = levels.len();
        if n > MAX_KEYPOINTS {
            return Err(format!("{at}: {n} keypoints, at most {MAX_KEYPOINTS}"));
        }
        if self.points.len() != 3 * n || bytes.len() != 32 * n {
            return Err(format!(
                "{at}: {n} levels, {} point coordinates and {} descriptor bytes do not agree \
                 (3 coordinates and 32 bytes a keypoint)",
                self.points.len(),
                bytes.len()
            ));
        }
        let (w, h) = (self.width as f32, self.height as f32);
        let keypoints = self
            .points
            .chunks_exact(3)
            .zip(&levels)
            .enumerate()
            .map(|(i, (p, &level))| {
                let (x, y, angle) = (p[0], p[1], p[2]);
                if !(0.0..=w).contains(&x) || !(0.0..=h).contains(&y) {
                    return Err(format!("{at}: keypoint {i} at ({x}, {y}), outside {w}×{h}"));
                }
                if angle.is_nan() || angle.abs() > 2.0 * std::f32::consts::TAU {
                    return Err(format!(
                        "{at}: keypoint {i}: angle {angle} is not in radians"
                    ));
                }
                if level as usize >= orb::QUERY.levels {
                    return Err(format!(
                        "{at}: keypoint {i}: level {level}, at most {}",
                        orb::QUERY.levels - 1
                    ));
                }
                Ok(Keypoint { x, y, level, angle })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let descriptors: Vec<Descriptor> = bytes
            .chunks_exact(32)
            .map(|c| {
                std::array::from_fn(|k| u64::from_le_bytes(c[8 * k..8 * k + 8].try_into().unwrap()))
            })
            .collect();
        Ok(Features {
            width: self.width,
            height: self.height,
            keypoints,
            descriptors,
        })
    }
}

impl WireView {
    fn encode(v: &RegionFeatures) -> Self {
        WireView {
            features: WireFeatures::encode(&v.features),
            to_photo: v.to_photo.0,
        }
    }

    fn decode(self, at: &str) -> Result<RegionFeatures, String> {
        if self.to_photo.iter().any(|v| !v.is_finite()) {
            return Err(format!("{at}.to_photo: not a finite matrix"));
        }
        Ok(RegionFeatures {
            features: self.features.decode(&format!("{at}.features"))?,
            to_photo: Homography(self.to_photo),
        })
    }
}

fn side(at: &str, v: u32) -> Result<(), String> {
    if v == 0 || v > MAX_SIDE {
        return Err(format!("{at}: {v} pixels, from 1 to {MAX_SIDE}"));
    }
    Ok(())
}

fn hashes(at: &str, h: &[[u64; 2]]) -> Result<[ImageHashes; 8], String> {
    let h: &[[u64; 2]; 8] = h
        .try_into()
        .map_err(|_| format!("{at}: {} orientations, 8 expected", h.len()))?;
    Ok(h.map(|[phash, dhash]| ImageHashes { phash, dhash }))
}

fn embeddings(at: &str, e: Vec<Vec<f32>>, n: usize, dim: usize) -> Result<Vec<Vec<f32>>, String> {
    if e.len() != n {
        return Err(format!("{at}: {} vectors, {n} expected", e.len()));
    }
    if let Some(v) = e.iter().find(|v| v.len() != dim) {
        return Err(format!(
            "{at}: a vector of {} values, this index's have {dim}",
            v.len()
        ));
    }
    // Unit vectors (`Embedder::embed`): no value beyond 1, none infinite.
    if e.iter()
        .flatten()
        .any(|x| x.is_nan() || x.abs() > 1.0 + 1e-3)
    {
        return Err(format!("{at}: not unit vectors"));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::describer::Describer;
    use crate::describe::embed::ColourLayoutEmbedder;
    use std::sync::Arc;

    fn photo() -> image::RgbImage {
        image::RgbImage::from_fn(400, 300, |x, y| {
            let v = ((x / 20 + y / 15) % 2 * 180 + (x * y) % 60) as u8;
            image::Rgb([v, v / 2, 255 - v])
        })
    }

    #[test]
    fn a_query_survives_the_trip() {
        let d = Describer::new(Arc::new(ColourLayoutEmbedder));
        let q = d.query(&photo());
        let sent = serde_json::to_vec(&WireQuery::encode(&q, d.embedder(), "c")).unwrap();
        let back: WireQuery = serde_json::from_slice(&sent).unwrap();
        let r = back.decode(d.embedder(), "c").unwrap();
        assert!(q.features.len() > 50, "a textured photo has features");
        assert_eq!(r.features.keypoints, q.features.keypoints);
        assert_eq!(r.features.descriptors, q.features.descriptors);
        assert_eq!(r.hashes, q.hashes);
        assert_eq!(r.embeddings, q.embeddings);
        assert_eq!(r.regions.len(), q.regions.len());
        let tilts = tilted_views(&q);
        let sent_tilts = r.tilts.as_ref().unwrap();
        assert_eq!(sent_tilts.len(), tilts.len());
        for (a, b) in sent_tilts.iter().zip(tilts.iter()) {
            assert_eq!(a.features.keypoints, b.features.keypoints);
            assert_eq!(a.to_photo, b.to_photo);
        }
        assert_eq!(r.grey.width(), 0, "no pixels travel");
    }

    #[test]
    fn a_bad_query_is_refused_with_where() {
        let d = Describer::new(Arc::new(ColourLayoutEmbedder));
        let q = WireQuery::encode(&d.query(&photo()), d.embedder(), "c");
        let refused = |mut f: Box<dyn FnMut(&mut WireQuery)>| {
            let mut w = q.clone();
            f(&mut w);
            w.decode(d.embedder(), "c").unwrap_err()
        };
        assert!(refused(Box::new(|w| w.embedder = "onnx:x".into())).contains("send the photo"));
        assert!(refused(Box::new(|w| w.features.points[0] = 1e9)).contains("features: keypoint 0"));
        assert!(
            refused(Box::new(|w| w.features.points.pop().map(drop).unwrap()))
                .contains("do not agree")
        );
        assert!(refused(Box::new(|w| w.hashes.truncate(3))).contains("hashes: 3 orientations"));
        assert!(refused(Box::new(|w| w.embeddings[2].push(0.0))).contains("embeddings"));
        assert!(refused(Box::new(|w| w.embeddings[0][0] = f32::INFINITY)).contains("unit"));
        assert!(refused(Box::new(|w| w.width = 0)).contains("width"));
        assert!(refused(Box::new(|w| w.tilts[0].to_photo[0] = f64::NAN)).contains("tilts[0]"));
        assert!(refused(Box::new(|w| w.features.descriptors = "!!".into())).contains("base64"));
        let c = q.clone().decode(d.embedder(), "other").unwrap_err();
        assert!(c.contains("calibrated"), "{c}");
    }
}
