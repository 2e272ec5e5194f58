//! The inverted index of visual words: the candidate stage that finds a
//! reference image when only part of it shows in a cluttered photo.
//!
//! Each image is a bag of words weighted by tf-idf (square-rooted term
//! frequency, which damps repeated texture: "burstiness"), L2-normalised;
//! a query scores only the images that share a word with it, by walking
//! those words' posting lists, so the cost grows with the posting lists
//! touched and never with a scan of every reference image. Weights are
//! precomputed at build time: a posting is (image position, weight,
//! orientation, pyramid level, offset from the image's centre).
//!
//! Scores are then checked for weak geometric consistency (Jégou et al.
//! 2008): the features of a true view are all turned by about the same
//! angle and scaled by about the same factor, chance word matches are
//! not. For the images with the best plain scores, the votes are
//! histogrammed by orientation difference and by level difference, and
//! an image keeps only the votes of its strongest bins. In a cluttered
//! photo this is what lifts the right reference above the hundreds that
//! share background words with it.
//!
//! [`Consistency::Transform`] asks more, for the second look's wider net
//! (`crate::search::candidates`): that the votes also agree on where the
//! reference's centre falls in the photo, each feature's offset from its
//! centre turned and scaled by its vote. That is a Hough transform on
//! visual words (Lowe 2004); chance matches rarely agree on all four.

use crate::index::arrayfile::{ArrayFileError, MappedArray};
use crate::index::hough::{self, Shared, VoteGeometry};
use crate::index::occurrence::Occurrence;
use crate::index::postings::{self, ENTRY, ImageWords, Tables, term_counts};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

const OFFSETS_MAGIC: [u8; 8] = *b"PVWOFF01";
const POSTINGS_MAGIC: [u8; 8] = *b"PVWPST03";
const IDF_MAGIC: [u8; 8] = *b"PVWIDF01";
/// Words found in more than this share of images say almost nothing and
/// cost the longest posting lists: queries skip them. Judged by the idf,
/// which a delta segment shares with its base, so that a word is a stop
/// word in every segment or in none.
const STOP_WORD_SHARE: f64 = 0.25;
/// Images re-scored for geometric consistency: a shorter shortlist loses
/// the true reference of hard photos in a large database
/// (docs/decisions.md, "2026-11-29 — A shortlist of 10,000 for weak
/// geometric consistency").
const SHORTLIST: usize = 10_000;
// Shortlist positions are kept as u16 (`slot` in `InvertedIndex::search`).
const _: () = assert!(SHORTLIST < u16::MAX as usize);
/// Orientation-difference bins (22.5° each) and level-difference bins.
const ANGLE_BINS: usize = 16;
const LEVEL_BINS: usize = 16;

/// Builds the tables from each image's words (position = index), with
/// word weights from these images' own document frequencies, or the given
/// ones (a delta segment takes its base's, so that scores stay comparable).
/// Written in bounded memory by `crate::index::postings`.
pub fn write(
    offsets_path: &Path,
    postings_path: &Path,
    idf_path: &Path,
    words: usize,
    images: &(impl ImageWords + ?Sized),
    given_idf: Option<&[f32]>,
) -> Result<(), ArrayFileError> {
    postings::write(
        Tables {
            offsets: offsets_path,
            postings: postings_path,
            idf: idf_path,
        },
        [OFFSETS_MAGIC, POSTINGS_MAGIC, IDF_MAGIC],
        words,
        images,
        given_idf,
    )
}

pub struct InvertedIndex {
    offsets: MappedArray,
    postings: MappedArray,
    idf: MappedArray,
    images: usize,
}

impl InvertedIndex {
    pub fn open(
        offsets_path: &Path,
        postings_path: &Path,
        idf_path: &Path,
        images: usize,
    ) -> Result<InvertedIndex, ArrayFileError> {
        let offsets = MappedArray::open(offsets_path, OFFSETS_MAGIC, 8)?;
        let postings = MappedArray::open(postings_path, POSTINGS_MAGIC, ENTRY as u32)?;
        let idf = MappedArray::open(idf_path, IDF_MAGIC, 4)?;
        // The small tables are checked whole at open; the postings (large,
        // and only ever proposing candidates that verification then
        // checks) by `verify`.
        offsets.verify()?;
        idf.verify()?;
        let consistent = offsets.len() == idf.len() + 1
            && u64::from_le_bytes(offsets.get(idf.len()).try_into().expect("8 bytes"))
                == postings.len() as u64;
        if !consistent {
            return Err(ArrayFileError::Length {
                path: postings_path.to_path_buf(),
                found: postings.len() as u64,
                expected: offsets.len() as u64,
            });
        }
        Ok(InvertedIndex {
            offsets,
            postings,
            idf,
            images,
        })
    }

    pub fn words(&self) -> usize {
        self.idf.len()
    }

    /// The `top` images by geometrically consistent bag-of-words
    /// similarity with the query's features, best first.
    pub fn search(
        &self,
        query: &[Occurrence],
        top: usize,
        check: Consistency,
    ) -> Result<Vec<(u32, f32)>, ArrayFileError> {
        if self.images == 0 || query.is_empty() {
            return Ok(Vec::new());
        }
        let tf: Vec<(u32, f32)> = term_counts(query)
            .into_iter()
            .map(|(w, c)| (w, c as f32))
            .collect();
        let min_idf = (1.0 / STOP_WORD_SHARE).ln() as f32;
        let weights: Vec<f32> = tf
            .iter()
            .map(|&(w, c)| {
                let idf = if (w as usize) < self.words() {
                    self.idf_of(w)
                } else {
                    0.0
                };
                c.sqrt() * idf
            })
            .collect();
        let qnorm = weights.iter().map(|x| x * x).sum::<f32>().sqrt();
        if qnorm == 0.0 {
            return Ok(Vec::new());
        }
        // Each query feature's share of its word's weight, and its postings.
        // Each distinct word's list, read once (see `postings_of`).
        let lists: Vec<Option<Vec<u8>>> = tf
            .iter()
            .map(|&(w, _)| self.postings_of(w, min_idf))
            .collect::<Result<_, _>>()?;
        let features: Vec<(f32, &[u8], &Occurrence, u32)> = query
            .iter()
            .enumerate()
            .filter_map(|(i, o)| {
                let k = tf.binary_search_by_key(&o.word, |&(w, _)| w).ok()?;
                let list = lists[k].as_deref()?;
                Some((weights[k] / tf[k].1 / qnorm, list, o, i as u32))
            })
            .collect();
        // Pass 1: plain similarity, to choose the shortlist; for a
        // transform check, each image's postings counted too, so that pass 2
        // can lay their votes out as it walks.
        let transform = check == Consistency::Transform;
        // An image's score and count side by side: one cache line touched
        // per posting, not two (the walk is a scatter over every image).
        let mut plain = vec![(0f32, 0u32); self.images];
        for &(qw, list, _, _) in &features {
            for (pos, weight, _) in entries(list) {
                if let Some(s) = plain.get_mut(pos) {
                    s.0 += qw * weight;
                    s.1 += 1;
                }
            }
        }
        let shortlist = top_k(plain.iter().map(|s| s.0), SHORTLIST);
        // Pass 2: the shortlist's votes by orientation and level difference
        // and, for a transform check, each shared word, laid out image by
        // image in walk order (turned into a transform's vote only for the
        // images `transform_top` weighs).
        let mut slot = vec![u16::MAX; self.images];
        for (i, &(pos, _)) in shortlist.iter().enumerate() {
            slot[pos as usize] = i as u16;
        }
        let mut start = vec![0usize; if transform { shortlist.len() + 1 } else { 0 }];
        if transform {
            for (s, &(pos, _)) in shortlist.iter().enumerate() {
                start[s + 1] = start[s] + plain[pos as usize].1 as usize;
            }
        }
        drop(plain);
        let mut fill = start.clone();
        let mut votes = vec![Shared::default(); start.last().copied().unwrap_or(0)];
        let mut by_angle = vec![0f32; shortlist.len() * ANGLE_BINS];
        let mut by_level = vec![0f32; shortlist.len() * LEVEL_BINS];
        for &(qw, list, o, feature) in &features {
            for (pos, weight, shape) in entries(list) {
                let Some(&s) = slot.get(pos).filter(|&&s| s != u16::MAX) else {
                    continue;
                };
                let vote = qw * weight;
                let a = (o.angle.wrapping_sub(shape[0]) as usize * ANGLE_BINS) / 256;
                let l = (o.level as i32 - shape[1] as i32 + LEVEL_BINS as i32 / 2)
                    .clamp(0, LEVEL_BINS as i32 - 1) as usize;
                by_angle[s as usize * ANGLE_BINS + a] += vote;
                by_level[s as usize * LEVEL_BINS + l] += vote;
                if transform {
                    votes[fill[s as usize]] = Shared {
                        weight: vote,
                        feature,
                        shape,
                    };
                    fill[s as usize] += 1;
                }
            }
        }
        let peaks = |s: usize, width: usize| {
            let a = peak(&by_angle[s * ANGLE_BINS..(s + 1) * ANGLE_BINS], true, width);
            let l = peak(
                &by_level[s * LEVEL_BINS..(s + 1) * LEVEL_BINS],
                false,
                width,
            );
            a.min(l)
        };
        if !transform {
            let weak: Vec<f32> = (0..shortlist.len()).map(|s| peaks(s, 2)).collect();
            return Ok(top_k(weak.into_iter(), top)
                .into_iter()
                .map(|(s, score)| (shortlist[s as usize].0, score))
                .collect());
        }
        let bound: Vec<(f32, u32)> = (0..shortlist.len())
            .map(|s| (peaks(s, 3), s as u32))
            .collect();
        Ok(transform_top(
            query, &mut votes, &start, &shortlist, bound, top,
        ))
    }

    /// A copy of the posting list of a word, None for unknown and stop
    /// words. Copied with a positioned read rather than mapped: a query
    /// touches ~800 lists scattered over the whole file, and each mapped
    /// page fault maps 16 pages around it, so that after a few dozen
    /// searches the whole file would be resident in the process
    /// (docs/decisions.md, "2026-11-29 — Positioned reads instead of page
    /// faults").
    fn postings_of(&self, w: u32, min_idf: f32) -> Result<Option<Vec<u8>>, ArrayFileError> {
        if w as usize >= self.words() || self.idf_of(w) < min_idf {
            return Ok(None);
        }
        let start = self.offset(w as usize) as usize;
        let end = self.offset(w as usize + 1) as usize;
        if end < start || end > self.postings.len() {
            return Err(ArrayFileError::Checksum {
                path: self.postings.path().to_path_buf(),
            });
        }
        self.postings.read(start, end - start).map(Some)
    }

    fn idf_of(&self, w: u32) -> f32 {
        f32::from_le_bytes(self.idf.get(w as usize).try_into().expect("4 bytes"))
    }

    /// Every word's weight.
    pub fn idf(&self) -> Vec<f32> {
        (0..self.words() as u32).map(|w| self.idf_of(w)).collect()
    }

    fn offset(&self, w: usize) -> u64 {
        u64::from_le_bytes(self.offsets.get(w).try_into().expect("8 bytes"))
    }

    pub fn verify(&self) -> Result<(), ArrayFileError> {
        self.offsets.verify()?;
        self.postings.verify()?;
        self.idf.verify()
    }
}

/// A posting list's entries: (image position, weight, the reference
/// feature's `[angle, level, dx, dy]`).
fn entries(list: &[u8]) -> impl Iterator<Item = (usize, f32, [u8; 4])> + '_ {
    list.chunks_exact(ENTRY).map(|p| {
        let pos = u32::from_le_bytes(p[0..4].try_into().expect("4 bytes")) as usize;
        let weight = f32::from_le_bytes(p[4..8].try_into().expect("4 bytes"));
        (pos, weight, p[8..12].try_into().expect("4 bytes"))
    })
}

/// How the shortlist of [`InvertedIndex::search`] is checked for geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Turns and scales agree (weak geometric consistency).
    Weak,
    /// Turns, scales and positions agree on one similarity transform.
    Transform,
}

/// The transform check of [`InvertedIndex::search`]: each shortlisted
/// image's heaviest set of votes that agree on one transform (its shared
/// words `votes[start[s]..start[s + 1]]`, laid out by pass 2). Those votes lie
/// within three neighbouring bins of turn and of level, so the peaks of
/// such bins (`bound`, per shortlist entry) bound the score: images are
/// taken by bound until none can beat the `top`-th.
fn transform_top(
    query: &[Occurrence],
    votes: &mut [Shared],
    start: &[usize],
    shortlist: &[(u32, f32)],
    mut bound: Vec<(f32, u32)>,
    top: usize,
) -> Vec<(u32, f32)> {
    bound.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let side = hough::query_side(query);
    let geometry = VoteGeometry::new();
    let mut best: BinaryHeap<Reverse<Scored>> = BinaryHeap::new();
    for (b, s) in bound {
        if best.len() >= top && best.peek().is_some_and(|w| w.0.0 >= b) {
            break;
        }
        let s = s as usize;
        let score = hough::best_cluster(&mut votes[start[s]..start[s + 1]], query, &geometry, side);
        if score > 0.0 {
            best.push(Reverse(Scored(score, shortlist[s].0)));
            if best.len() > top {
                best.pop();
            }
        }
    }
    let mut hits: Vec<(u32, f32)> = best.into_iter().map(|r| (r.0.1, r.0.0)).collect();
    hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    hits
}

/// The largest sum of `width` neighbouring bins: a true view's votes
/// straddle a bin boundary as often as not. Orientation bins wrap around.
fn peak(bins: &[f32], wraps: bool, width: usize) -> f32 {
    let n = bins.len();
    let starts = if wraps { n } else { n + 1 - width };
    (0..starts)
        .map(|i| (i..i + width).map(|j| bins[j % n]).sum::<f32>())
        .fold(0.0, f32::max)
}

/// A score and its image, ordered by score, then by image (lowest
/// first), so that ties are broken the same way on every run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored(f32, u32);

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

fn top_k(scores: impl Iterator<Item = f32>, k: usize) -> Vec<(u32, f32)> {
    let mut hits: Vec<(u32, f32)> = scores
        .enumerate()
        .filter(|(_, s)| *s > 0.0)
        .map(|(i, s)| (i as u32, s))
        .collect();
    if hits.len() > k {
        hits.select_nth_unstable_by(k, |a, b| b.1.total_cmp(&a.1));
        hits.truncate(k);
    }
    hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occ(word: u32, angle: u8, level: u8) -> Occurrence {
        Occurrence {
            word,
            angle,
            level,
            dx: 0,
            dy: 0,
        }
    }

    fn index(images: &[Vec<Occurrence>], words: usize) -> (tempfile::TempDir, InvertedIndex) {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        write(&p("o"), &p("p"), &p("i"), words, images, None).unwrap();
        let idx = InvertedIndex::open(&p("o"), &p("p"), &p("i"), images.len()).unwrap();
        (dir, idx)
    }

    #[test]
    fn shared_rare_words_rank_first() {
        // Word 0 is everywhere; words 10.. are specific to each image.
        let images: Vec<Vec<Occurrence>> = (0..20u32)
            .map(|i| {
                [0, 0, 10 + i, 10 + i, 40 + i % 5]
                    .iter()
                    .map(|&w| occ(w, 0, 0))
                    .collect()
            })
            .collect();
        let (_dir, idx) = index(&images, 64);
        let q = |ws: &[u32]| ws.iter().map(|&w| occ(w, 0, 0)).collect::<Vec<_>>();
        let hits = idx
            .search(&q(&[0, 17, 9999, 42]), 3, Consistency::Weak)
            .unwrap();
        assert_eq!(hits[0].0, 7);
        assert!(hits[0].1 > hits[1].1);
        assert!(hits[0].1 <= 1.0 + 1e-5);
        assert!(
            idx.search(&q(&[0]), 3, Consistency::Weak)
                .unwrap()
                .is_empty(),
            "a stop word alone finds nothing"
        );
        idx.verify().unwrap();
    }

    #[test]
    fn consistently_turned_matches_beat_more_scattered_ones() {
        // Image 0 shares words 1..=4 with the query, each turned by the
        // same angle; image 1 shares words 1..=6 at scattered angles.
        let mut images = vec![
            (1..=4)
                .map(|w| occ(w, 10 + 30 * w as u8, 1))
                .collect::<Vec<_>>(),
            (1..=6)
                .map(|w| occ(w, 70 * w as u8, (w % 4) as u8))
                .collect(),
        ];
        images.extend((0..8).map(|i| vec![occ(20 + i, 0, 0)]));
        let (_dir, idx) = index(&images, 32);
        let query: Vec<Occurrence> = (1..=6).map(|w| occ(w, 74 + 30 * w as u8, 2)).collect();
        let hits = idx.search(&query, 2, Consistency::Weak).unwrap();
        assert_eq!(hits[0].0, 0, "{hits:?}");
    }

    #[test]
    fn one_transform_beats_more_words_at_scattered_places() {
        // Image 0 shares 4 words with the query, seen a quarter turn round,
        // one level larger and shifted; image 1 shares 6 words with the
        // same turn and level each, but at places no single transform
        // explains.
        let at = |word: u32, angle: u8, level: u8, dx: i8, dy: i8| Occurrence {
            word,
            angle,
            level,
            dx,
            dy,
        };
        let shown: [(i8, i8); 4] = [(20, 0), (0, 20), (-20, -10), (10, -20)];
        let mut images = vec![
            shown
                .iter()
                .enumerate()
                .map(|(i, &(x, y))| at(1 + i as u32, 10 * i as u8, 1, x, y))
                .collect::<Vec<_>>(),
            (0..6).map(|i| at(10 + i, 0, 0, 0, 0)).collect(),
        ];
        images.extend((0..8).map(|i| vec![occ(30 + i, 0, 0)]));
        let (_dir, idx) = index(&images, 64);
        let mut query: Vec<Occurrence> = shown
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| {
                // 1.3 × a quarter turn, (x, y) → (-y, x), then (10, 5) on.
                let qx = (10.0 - 1.3 * y as f32).round() as i8;
                let qy = (5.0 + 1.3 * x as f32).round() as i8;
                at(1 + i as u32, 10 * i as u8 + 64, 2, qx, qy)
            })
            .collect();
        let scattered = [
            (-60, -60),
            (60, -60),
            (-60, 60),
            (60, 60),
            (0, -60),
            (0, 60),
        ];
        query.extend(
            scattered
                .iter()
                .enumerate()
                .map(|(i, &(x, y))| at(10 + i as u32, 0, 0, x, y)),
        );
        let weak = idx.search(&query, 2, Consistency::Weak).unwrap();
        assert_eq!(
            weak[0].0, 1,
            "more words, each turn and level agreeing: {weak:?}"
        );
        let full = idx.search(&query, 2, Consistency::Transform).unwrap();
        assert_eq!(full[0].0, 0, "{full:?}");
        assert_eq!(full[1].0, 1, "{full:?}");
        assert!(full[0].1 > 3.0 * full[1].1, "{full:?}");
    }
}
