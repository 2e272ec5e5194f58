//! Writing the inverted index's tables (`crate::index::inverted`) in
//! bounded memory.
//!
//! A rebuild of 251,111 images held every image's words, their term counts
//! and the whole posting table in the heap at once: 4.27 GB at its peak,
//! growing with the images (docs/decisions.md, "The rebuild in bounded
//! memory: word postings written in runs"). Here the words are spilled to
//! a file as they are quantised
//! ([`OccurrenceFile`], read back through the page cache), and the posting
//! table is written in runs of words: each run's postings are gathered by
//! one pass over the images' words into a buffer of at most [`RUN_BYTES`],
//! then appended to the file. Postings are laid out by word, so the runs
//! concatenated are the table; a few more passes over the words (each a
//! sequential read) cost seconds, not memory.

use crate::index::arrayfile::{self, ArrayFileError, MappedArray};
use crate::index::occurrence::Occurrence;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A posting: image position (u32), weight (f32), orientation step and
/// pyramid level (u8 each), offset from the image centre (i8 each).
pub const ENTRY: usize = 12;
/// Largest run of postings gathered in memory before it is written.
const RUN_BYTES: usize = 256 << 20;
/// Images quantised together before their words are spilled.
const SPILL_CHUNK: usize = 4096;
const OCCURRENCES_MAGIC: [u8; 8] = *b"PVWOCC01";

/// The visual words of each image, by position.
pub trait ImageWords: Sync {
    fn images(&self) -> usize;
    fn words_of(&self, pos: usize) -> Vec<Occurrence>;
}

impl ImageWords for [Vec<Occurrence>] {
    fn images(&self) -> usize {
        self.len()
    }
    fn words_of(&self, pos: usize) -> Vec<Occurrence> {
        self[pos].clone()
    }
}

/// Each image's words in a temporary array file, written as they are
/// quantised and read back memory-mapped, so that they live in the page
/// cache (which the kernel may evict) rather than in the process's heap.
/// The file is removed when this is dropped.
pub struct OccurrenceFile {
    path: PathBuf,
    words: MappedArray,
    /// Start of each image's words, and the end of the last.
    starts: Vec<u64>,
}

impl OccurrenceFile {
    /// Quantises `images` images with `words_of` (run in parallel, a chunk
    /// of images at a time) into `path`.
    pub fn write(
        path: &Path,
        images: usize,
        words_of: impl Fn(usize) -> Vec<Occurrence> + Sync,
    ) -> Result<OccurrenceFile, ArrayFileError> {
        let mut out = arrayfile::Writer::create(path, OCCURRENCES_MAGIC, 8)?;
        let mut starts = Vec::with_capacity(images + 1);
        starts.push(0u64);
        let mut bytes = Vec::new();
        for first in (0..images).step_by(SPILL_CHUNK) {
            let chunk = first..(first + SPILL_CHUNK).min(images);
            let words: Vec<Vec<Occurrence>> = chunk.into_par_iter().map(&words_of).collect();
            bytes.clear();
            for ws in &words {
                for o in ws {
                    bytes.extend_from_slice(&encode(o));
                }
                starts.push(starts.last().copied().unwrap_or(0) + ws.len() as u64);
            }
            out.push(&bytes)?;
        }
        out.finish()?;
        let words = MappedArray::open(path, OCCURRENCES_MAGIC, 8)?;
        Ok(OccurrenceFile {
            path: path.to_path_buf(),
            words,
            starts,
        })
    }
}

impl ImageWords for OccurrenceFile {
    fn images(&self) -> usize {
        self.starts.len() - 1
    }
    fn words_of(&self, pos: usize) -> Vec<Occurrence> {
        let (a, b) = (self.starts[pos] as usize, self.starts[pos + 1] as usize);
        self.words.payload()[a * 8..b * 8]
            .chunks_exact(8)
            .map(decode)
            .collect()
    }
}

impl Drop for OccurrenceFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn encode(o: &Occurrence) -> [u8; 8] {
    let w = o.word.to_le_bytes();
    [
        w[0], w[1], w[2], w[3], o.angle, o.level, o.dx as u8, o.dy as u8,
    ]
}

fn decode(b: &[u8]) -> Occurrence {
    Occurrence {
        word: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        angle: b[4],
        level: b[5],
        dx: b[6] as i8,
        dy: b[7] as i8,
    }
}

/// The tables of an inverted index over `images`' words: where each word's
/// postings start (`words + 1` offsets), the postings, and the word
/// weights (idf) from these images' own document frequencies, or the
/// given ones (a delta segment takes its base's, so that scores stay
/// comparable).
pub struct Tables<'a> {
    pub offsets: &'a Path,
    pub postings: &'a Path,
    pub idf: &'a Path,
}

/// Writes the tables; see the module documentation for how memory stays
/// bounded. Returns the word weights written.
pub fn write(
    tables: Tables<'_>,
    magics: [[u8; 8]; 3],
    words: usize,
    images: &(impl ImageWords + ?Sized),
    given_idf: Option<&[f32]>,
) -> Result<(), ArrayFileError> {
    write_in_runs(tables, magics, words, images, given_idf, RUN_BYTES)
}

fn write_in_runs(
    tables: Tables<'_>,
    magics: [[u8; 8]; 3],
    words: usize,
    images: &(impl ImageWords + ?Sized),
    given_idf: Option<&[f32]>,
    run_bytes: usize,
) -> Result<(), ArrayFileError> {
    let n = images.images();
    // Pass 1: document frequencies and the length of each word's list.
    let mut df = vec![0u32; words];
    let mut total = vec![0u64; words];
    for pos in 0..n {
        let ws = images.words_of(pos);
        for o in &ws {
            total[o.word as usize] += 1;
        }
        for (w, _) in term_counts(&ws) {
            df[w as usize] += 1;
        }
    }
    let idf: Vec<f32> = match given_idf {
        Some(given) => {
            assert_eq!(given.len(), words, "weights for another vocabulary");
            given.to_vec()
        }
        None => df
            .iter()
            .map(|&d| match d {
                0 => 0.0,
                d => (n.max(1) as f64 / d as f64).ln() as f32,
            })
            .collect(),
    };
    drop(df);
    // Pass 2: each image's tf-idf norm.
    let norms: Vec<f32> = (0..n)
        .into_par_iter()
        .map(|pos| {
            term_counts(&images.words_of(pos))
                .iter()
                .map(|&(w, c)| (c as f32).sqrt() * idf[w as usize])
                .map(|x| x * x)
                .sum::<f32>()
                .sqrt()
        })
        .collect();
    let mut offsets = vec![0u64; words + 1];
    for (w, &t) in total.iter().enumerate() {
        offsets[w + 1] = offsets[w] + t;
    }
    drop(total);
    // Then the postings, a run of words at a time.
    let mut out = arrayfile::Writer::create(tables.postings, magics[1], ENTRY as u32)?;
    let mut first = 0usize;
    while first < words {
        let mut last = first + 1;
        while last < words && ((offsets[last + 1] - offsets[first]) as usize) * ENTRY <= run_bytes {
            last += 1;
        }
        let base = offsets[first];
        let mut run = vec![0u8; (offsets[last] - base) as usize * ENTRY];
        let mut fill: Vec<u64> = offsets[first..last].iter().map(|o| o - base).collect();
        for (pos, norm) in norms.iter().enumerate() {
            let ws = images.words_of(pos);
            if !ws
                .iter()
                .any(|o| (first..last).contains(&(o.word as usize)))
            {
                continue;
            }
            let tf = term_counts(&ws);
            for o in ws
                .iter()
                .filter(|o| (first..last).contains(&(o.word as usize)))
            {
                let w = o.word as usize;
                let c = tf[tf
                    .binary_search_by_key(&o.word, |&(tw, _)| tw)
                    .expect("counted")]
                .1;
                // Each occurrence carries its share of the word's weight.
                let weight = if *norm > 0.0 {
                    (c as f32).sqrt() * idf[w] / norm / c as f32
                } else {
                    0.0
                };
                let at = fill[w - first] as usize * ENTRY;
                fill[w - first] += 1;
                run[at..at + 4].copy_from_slice(&(pos as u32).to_le_bytes());
                run[at + 4..at + 8].copy_from_slice(&weight.to_le_bytes());
                run[at + 8] = o.angle;
                run[at + 9] = o.level;
                run[at + 10] = o.dx as u8;
                run[at + 11] = o.dy as u8;
            }
        }
        out.push(&run)?;
        first = last;
    }
    out.finish()?;
    let offsets: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
    let idf: Vec<u8> = idf.iter().flat_map(|x| x.to_le_bytes()).collect();
    arrayfile::write(tables.offsets, magics[0], 8, &offsets)?;
    arrayfile::write(tables.idf, magics[2], 4, &idf)?;
    Ok(())
}

/// (word, occurrences) for each distinct word, in word order.
pub fn term_counts(occurrences: &[Occurrence]) -> Vec<(u32, u32)> {
    let mut words: Vec<u32> = occurrences.iter().map(|o| o.word).collect();
    words.sort_unstable();
    let mut tf: Vec<(u32, u32)> = Vec::new();
    for w in words {
        match tf.last_mut() {
            Some((lw, c)) if *lw == w => *c += 1,
            _ => tf.push((w, 1)),
        }
    }
    tf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images() -> Vec<Vec<Occurrence>> {
        (0..40u32)
            .map(|i| {
                (0..(5 + i % 7))
                    .map(|k| Occurrence {
                        word: (i * 7 + k * 13) % 50,
                        angle: (i + k) as u8,
                        level: (k % 3) as u8,
                        dx: k as i8 - 3,
                        dy: 2 - i as i8 % 5,
                    })
                    .collect()
            })
            .collect()
    }

    fn written(images: &(impl ImageWords + ?Sized), run_bytes: usize) -> Vec<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let tables = Tables {
            offsets: &p("o"),
            postings: &p("p"),
            idf: &p("i"),
        };
        write_in_runs(
            tables,
            [*b"TESTOFF1", *b"TESTPST1", *b"TESTIDF1"],
            50,
            images,
            None,
            run_bytes,
        )
        .unwrap();
        ["o", "p", "i"]
            .map(|n| std::fs::read(p(n)).unwrap())
            .to_vec()
    }

    #[test]
    fn postings_written_in_runs_are_the_table_written_at_once() {
        let images = images();
        let at_once = written(images.as_slice(), usize::MAX);
        // Runs of one or two postings: every word its own pass at least.
        assert_eq!(written(images.as_slice(), ENTRY), at_once);
        assert_eq!(written(images.as_slice(), 2 * ENTRY), at_once);
    }

    #[test]
    fn spilled_words_read_back_the_same_and_the_spill_is_removed() {
        let images = images();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("occ.tmp");
        let spilled = OccurrenceFile::write(&path, images.len(), |i| images[i].clone()).unwrap();
        assert_eq!(spilled.images(), images.len());
        for (i, ws) in images.iter().enumerate() {
            assert_eq!(&spilled.words_of(i), ws);
        }
        assert_eq!(
            written(&spilled, 3 * ENTRY),
            written(images.as_slice(), usize::MAX)
        );
        drop(spilled);
        assert!(!path.exists());
    }
}
