//! The inverted index of visual words: the candidate stage that finds a
//! reference image when only part of it shows in a cluttered photo.
//!
//! Each image is a bag of words weighted by tf-idf (square-rooted term
//! frequency, which damps repeated texture: "burstiness"), L2-normalised;
//! a query scores only the images that share a word with it, by walking
//! those words' posting lists, so the cost grows with the posting lists
//! touched and never with a scan of every reference image. Weights are
//! precomputed at build time: a posting is (image position, weight).

use crate::arrayfile::{self, ArrayFileError, MappedArray};
use std::path::Path;

const OFFSETS_MAGIC: [u8; 8] = *b"PVWOFF01";
const POSTINGS_MAGIC: [u8; 8] = *b"PVWPST01";
const IDF_MAGIC: [u8; 8] = *b"PVWIDF01";
/// Words found in more than this share of images say almost nothing and
/// cost the longest posting lists: queries skip them.
const STOP_WORD_SHARE: f64 = 0.25;

/// Builds the tables from each image's words (position = index).
pub fn write(
    offsets_path: &Path,
    postings_path: &Path,
    idf_path: &Path,
    words: usize,
    images: &[Vec<u32>],
) -> Result<(), ArrayFileError> {
    let n = images.len().max(1) as f64;
    let mut df = vec![0u32; words];
    let counted: Vec<Vec<(u32, u32)>> = images
        .iter()
        .map(|ws| {
            let mut ws = ws.clone();
            ws.sort_unstable();
            let mut tf: Vec<(u32, u32)> = Vec::new();
            for w in ws {
                match tf.last_mut() {
                    Some((lw, c)) if *lw == w => *c += 1,
                    _ => tf.push((w, 1)),
                }
            }
            for &(w, _) in &tf {
                df[w as usize] += 1;
            }
            tf
        })
        .collect();
    let idf: Vec<f32> = df
        .iter()
        .map(|&d| {
            if d == 0 {
                0.0
            } else {
                (n / d as f64).ln() as f32
            }
        })
        .collect();
    let mut offsets = vec![0u64; words + 1];
    for (w, &d) in df.iter().enumerate() {
        offsets[w + 1] = offsets[w] + d as u64;
    }
    let mut fill = offsets.clone();
    let mut postings = vec![0u8; offsets[words] as usize * 8];
    for (pos, tf) in counted.iter().enumerate() {
        let norm = tf
            .iter()
            .map(|&(w, c)| (c as f32).sqrt() * idf[w as usize])
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt();
        for &(w, c) in tf {
            let weight = if norm > 0.0 {
                (c as f32).sqrt() * idf[w as usize] / norm
            } else {
                0.0
            };
            let at = fill[w as usize] as usize * 8;
            fill[w as usize] += 1;
            postings[at..at + 4].copy_from_slice(&(pos as u32).to_le_bytes());
            postings[at + 4..at + 8].copy_from_slice(&weight.to_le_bytes());
        }
    }
    let offsets: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
    let idf: Vec<u8> = idf.iter().flat_map(|x| x.to_le_bytes()).collect();
    arrayfile::write(offsets_path, OFFSETS_MAGIC, 8, &offsets)?;
    arrayfile::write(postings_path, POSTINGS_MAGIC, 8, &postings)?;
    arrayfile::write(idf_path, IDF_MAGIC, 4, &idf)?;
    Ok(())
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
        let postings = MappedArray::open(postings_path, POSTINGS_MAGIC, 8)?;
        let idf = MappedArray::open(idf_path, IDF_MAGIC, 4)?;
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

    /// The `top` images by cosine similarity of their bag of words with
    /// the query's, best first.
    pub fn search(&self, query_words: &[u32], top: usize) -> Vec<(u32, f32)> {
        if self.images == 0 || query_words.is_empty() {
            return Vec::new();
        }
        let mut words = query_words.to_vec();
        words.sort_unstable();
        let mut tf: Vec<(u32, f32)> = Vec::new();
        for w in words {
            match tf.last_mut() {
                Some((lw, c)) if *lw == w => *c += 1.0,
                _ => tf.push((w, 1.0)),
            }
        }
        let max_df = (STOP_WORD_SHARE * self.images as f64).max(1.0) as u64;
        let mut weights = Vec::with_capacity(tf.len());
        for &(w, c) in &tf {
            if w as usize >= self.words() {
                continue;
            }
            let idf = f32::from_le_bytes(self.idf.get(w as usize).try_into().expect("4 bytes"));
            weights.push((w, c.sqrt() * idf));
        }
        let qnorm = weights.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
        if qnorm == 0.0 {
            return Vec::new();
        }
        let mut scores = vec![0f32; self.images];
        let payload = self.postings.payload();
        for (w, qw) in weights {
            let start = self.offset(w as usize);
            let end = self.offset(w as usize + 1);
            if end - start > max_df {
                continue;
            }
            let qw = qw / qnorm;
            for p in payload[start as usize * 8..end as usize * 8].chunks_exact(8) {
                let pos = u32::from_le_bytes(p[0..4].try_into().expect("4 bytes")) as usize;
                let weight = f32::from_le_bytes(p[4..8].try_into().expect("4 bytes"));
                if let Some(s) = scores.get_mut(pos) {
                    *s += qw * weight;
                }
            }
        }
        top_k(&scores, top)
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

fn top_k(scores: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut hits: Vec<(u32, f32)> = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| **s > 0.0)
        .map(|(i, s)| (i as u32, *s))
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

    #[test]
    fn shared_rare_words_rank_first() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        // Word 0 is everywhere; words 10.. are specific to each image.
        let images: Vec<Vec<u32>> = (0..20u32)
            .map(|i| vec![0, 0, 10 + i, 10 + i, 40 + i % 5])
            .collect();
        write(&p("o"), &p("p"), &p("i"), 64, &images).unwrap();
        let idx = InvertedIndex::open(&p("o"), &p("p"), &p("i"), 20).unwrap();
        let hits = idx.search(&[0, 17, 9999, 42], 3);
        assert_eq!(hits[0].0, 7);
        assert!(hits[0].1 > hits[1].1);
        assert!(hits[0].1 <= 1.0 + 1e-5);
        assert!(
            idx.search(&[0], 3).is_empty(),
            "a stop word alone finds nothing"
        );
        idx.verify().unwrap();
    }
}
