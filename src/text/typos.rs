//! Misspelt words: the indexed words within a small edit distance of a
//! typed word, scored with BM25 like the word itself (tantivy's
//! `FuzzyTermQuery` gives every hit one constant score, which cannot tell
//! a rare title word from a common one).

use super::analysis::MAX_WORD;

/// At most this many misspelling candidates per typed word, closest first.
const MAX_EXPANSIONS: usize = 8;

/// Indexed words with their document frequency, bucketed by byte length.
pub(super) struct Vocab {
    by_len: Vec<Vec<(Box<[u8]>, u32)>>,
}

impl Vocab {
    pub(super) fn new(words: std::collections::HashMap<Vec<u8>, u32>) -> Vocab {
        let mut by_len: Vec<Vec<(Box<[u8]>, u32)>> = vec![Vec::new(); MAX_WORD + 1];
        for (term, df) in words {
            if let Some(bucket) = by_len.get_mut(term.len()) {
                bucket.push((term.into_boxed_slice(), df));
            }
        }
        Vocab { by_len }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_len.iter().all(Vec::is_empty)
    }

    /// Indexed words within [`max_typos`] of `word` (itself excluded),
    /// closest and most common first, then in byte order.
    pub(super) fn expansions(&self, word: &str) -> Vec<(String, usize)> {
        let max = max_typos(word);
        if max == 0 || !word.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Vec::new();
        }
        let w = word.as_bytes();
        let mut found: Vec<(usize, u32, &[u8])> = Vec::new();
        let lo = w.len().saturating_sub(max);
        for bucket in self.by_len.iter().take(w.len() + max + 1).skip(lo) {
            for (term, df) in bucket {
                if term.as_ref() == w {
                    continue;
                }
                if let Some(d) = edit_distance(w, term, max) {
                    found.push((d, *df, term));
                }
            }
        }
        // Ties broken by the word itself: the vocabulary comes from a hash
        // map, and the same query must give the same answer in every process
        // (replicas answer byte for byte alike).
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
        found.truncate(MAX_EXPANSIONS);
        found
            .into_iter()
            .map(|(d, _, t)| (String::from_utf8_lossy(t).into_owned(), d))
            .collect()
    }
}

/// Optimal-string-alignment distance (a transposition costs 1), or `None`
/// once it must exceed `max`.
pub(super) fn edit_distance(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let n = b.len();
    let mut prev2 = vec![0usize; n + 1];
    let mut prev: Vec<usize> = (0..=n).collect();
    let mut cur = vec![0usize; n + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[n] <= max).then_some(prev[n])
}

/// How many typos a word of this length may carry. Even three-letter
/// words get one ("twon", "bat" for "boat"): the candidates score below the
/// word itself, so a correct short word still wins.
fn max_typos(word: &str) -> usize {
    match word.len() {
        0..=2 => 0,
        3..=7 => 1,
        _ => 2,
    }
}

/// BM25's idf, to compare how informative two terms are.
pub(super) fn idf(n: u64, df: u64) -> f32 {
    (1.0 + (n as f32 - df as f32 + 0.5) / (df as f32 + 0.5)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance(b"turner", b"utrner", 2), Some(1));
        assert_eq!(edit_distance(b"turner", b"tuner", 2), Some(1));
        assert_eq!(edit_distance(b"turner", b"banana", 2), None);
    }

    #[test]
    fn expands_to_the_closest_words() {
        let words = [("turner", 9), ("tanner", 1), ("burner", 2), ("moore", 3)]
            .into_iter()
            .map(|(w, df)| (w.as_bytes().to_vec(), df))
            .collect();
        let v = Vocab::new(words);
        let found: Vec<String> = v.expansions("turnr").into_iter().map(|(w, _)| w).collect();
        assert_eq!(found, ["turner"]);
        assert!(v.expansions("tu").is_empty());
        // Equally close and common: in byte order, whatever the hash order.
        let tied = [("bat", 1), ("cat", 1), ("hat", 1), ("rat", 1)];
        for _ in 0..8 {
            let words = tied
                .iter()
                .map(|(w, df)| (w.as_bytes().to_vec(), *df))
                .collect();
            let found: Vec<String> = Vocab::new(words)
                .expansions("mat")
                .into_iter()
                .map(|(w, _)| w)
                .collect();
            assert_eq!(found, ["bat", "cat", "hat", "rat"]);
        }
    }
}
