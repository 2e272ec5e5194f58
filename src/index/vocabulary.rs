//! Visual words: a two-level vocabulary tree over binary descriptors
//! (Nistér & Stewénius 2006; k-majority clustering as in DBoW2), learned
//! from the database's own descriptors.
//!
//! Quantising a descriptor costs two scans of `branching` centroids, so a
//! query's 1,500 descriptors become words in well under a millisecond and
//! the inverted index ([`crate::index::inverted`]) never compares a query with
//! every reference image.

use crate::describe::orb::{Descriptor, hamming};
use rayon::prelude::*;

/// Widest tree: 512 × 512 = 262,144 words.
pub const MAX_BRANCHING: usize = 512;
/// Descriptors per word the vocabulary aims for: fewer makes words too
/// specific to match across viewpoints, more makes them unselective.
const DESCRIPTORS_PER_WORD: usize = 30;
const ITERATIONS: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    branching: usize,
    /// `branching` first-level centroids, then `branching²` leaves
    /// (leaf `i * branching + j` is child `j` of root `i`).
    centroids: Vec<Descriptor>,
}

impl Vocabulary {
    /// Learns a vocabulary from a sample of descriptors (deterministic).
    pub fn train(sample: &[Descriptor]) -> Vocabulary {
        let branching = ((sample.len() / DESCRIPTORS_PER_WORD) as f64)
            .sqrt()
            .floor()
            .clamp(2.0, MAX_BRANCHING as f64) as usize;
        let (roots, assignment) = kmajority(sample, branching, 0x5EED_0001);
        let mut members: Vec<Vec<Descriptor>> = vec![Vec::new(); branching];
        for (d, &a) in sample.iter().zip(&assignment) {
            members[a as usize].push(*d);
        }
        let leaves: Vec<Vec<Descriptor>> = members
            .par_iter()
            .enumerate()
            .map(|(i, m)| {
                if m.is_empty() {
                    vec![roots[i]; branching]
                } else {
                    kmajority(m, branching, 0x5EED_1000 + i as u64).0
                }
            })
            .collect();
        let mut centroids = roots;
        for l in leaves {
            centroids.extend(l);
        }
        Vocabulary {
            branching,
            centroids,
        }
    }

    pub fn words(&self) -> usize {
        self.branching * self.branching
    }

    /// The word of one descriptor.
    pub fn quantize(&self, d: &Descriptor) -> u32 {
        let b = self.branching;
        let root = nearest(&self.centroids[..b], d);
        let leaves = &self.centroids[b + root * b..b + (root + 1) * b];
        (root * b + nearest(leaves, d)) as u32
    }

    /// The word of one descriptor, then the `extra` next nearest leaves of
    /// its branch: multiple assignment, for descriptors that a viewpoint
    /// change moved across a leaf's border. All `extra` of them: keeping
    /// only those within a few bits of the nearest does worse
    /// (docs/decisions.md, "2026-12-01 — A second look for photos with no
    /// conclusive match").
    pub fn quantize_near(&self, d: &Descriptor, extra: usize) -> Vec<u32> {
        if extra == 0 {
            return vec![self.quantize(d)];
        }
        let b = self.branching;
        let root = nearest(&self.centroids[..b], d);
        let leaves = &self.centroids[b + root * b..b + (root + 1) * b];
        let mut by_distance: Vec<(u32, usize)> = leaves
            .iter()
            .enumerate()
            .map(|(i, c)| (hamming(c, d), i))
            .collect();
        // Only the nearest 1 + extra need ordering (indices make the
        // order total, so this is the same as sorting all of them).
        let keep = (1 + extra).min(by_distance.len());
        if keep < by_distance.len() {
            by_distance.select_nth_unstable(keep - 1);
        }
        by_distance[..keep].sort_unstable();
        by_distance
            .iter()
            .take(keep)
            .map(|&(_, i)| (root * b + i) as u32)
            .collect()
    }

    /// Serialised: branching (u32 LE) then the centroids, 32 bytes each.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.centroids.len() * 32);
        out.extend_from_slice(&(self.branching as u32).to_le_bytes());
        for c in &self.centroids {
            for w in c {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Vocabulary> {
        let branching = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
        if !(1..=MAX_BRANCHING).contains(&branching)
            || bytes.len() != 4 + (branching + branching * branching) * 32
        {
            return None;
        }
        let centroids = bytes[4..].chunks_exact(32).map(descriptor_from).collect();
        Some(Vocabulary {
            branching,
            centroids,
        })
    }
}

pub fn descriptor_from(b: &[u8]) -> Descriptor {
    std::array::from_fn(|i| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes")))
}

/// Index of the centroid nearest to `d`: the hot loop of training and of
/// quantising, so it uses the POPCNT instruction where the CPU has it.
fn nearest(centroids: &[Descriptor], d: &Descriptor) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU supports the feature the function is compiled for.
        return unsafe { nearest_popcnt(centroids, d) };
    }
    nearest_portable(centroids, d)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn nearest_popcnt(centroids: &[Descriptor], d: &Descriptor) -> usize {
    nearest_portable(centroids, d)
}

#[inline(always)]
fn nearest_portable(centroids: &[Descriptor], d: &Descriptor) -> usize {
    let mut best = (u32::MAX, 0);
    for (i, c) in centroids.iter().enumerate() {
        let dist = hamming(c, d);
        if dist < best.0 {
            best = (dist, i);
        }
    }
    best.1
}

/// k-majority: k-means for bit vectors, the centroid bit is the members'
/// majority. Seeded with k distinct points spread through the sample.
fn kmajority(points: &[Descriptor], k: usize, seed: u64) -> (Vec<Descriptor>, Vec<u32>) {
    let mut centroids: Vec<Descriptor> = Vec::with_capacity(k);
    let mut state = seed | 1;
    let n = points.len();
    let mut tries = 0;
    while centroids.len() < k && tries < 20 * k {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let p = points[(state % n as u64) as usize];
        if !centroids.contains(&p) || tries >= 10 * k {
            centroids.push(p);
        }
        tries += 1;
    }
    while centroids.len() < k {
        centroids.push(points[centroids.len() % n]);
    }
    let mut assignment = vec![0u32; n];
    for _ in 0..ITERATIONS {
        assignment
            .par_iter_mut()
            .zip(points.par_iter())
            .for_each(|(a, p)| *a = nearest(&centroids, p) as u32);
        let mut counts = vec![[0u32; 256]; k];
        let mut sizes = vec![0u32; k];
        for (p, &a) in points.iter().zip(&assignment) {
            let c = &mut counts[a as usize];
            sizes[a as usize] += 1;
            for (bit, count) in c.iter_mut().enumerate() {
                *count += ((p[bit / 64] >> (bit % 64)) & 1) as u32;
            }
        }
        for ((c, count), &size) in centroids.iter_mut().zip(&counts).zip(&sizes) {
            if size == 0 {
                continue; // keep the old centroid rather than invent one
            }
            let mut d = [0u64; 4];
            for (bit, &ones) in count.iter().enumerate() {
                if 2 * ones > size {
                    d[bit / 64] |= 1 << (bit % 64);
                }
            }
            *c = d;
        }
    }
    (centroids, assignment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_descriptors(n: usize, seed: u64) -> Vec<Descriptor> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                std::array::from_fn(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    s
                })
            })
            .collect()
    }

    #[test]
    fn near_descriptors_share_a_word_and_round_trip() {
        // Clustered data: 50 centres, each with noisy copies (4 bits flipped).
        let centres = random_descriptors(50, 7);
        let mut sample = Vec::new();
        for (i, c) in centres.iter().enumerate() {
            for j in 0..60u64 {
                let mut d = *c;
                for b in 0..4 {
                    let bit = ((j * 37 + b * 61 + i as u64) % 256) as usize;
                    d[bit / 64] ^= 1 << (bit % 64);
                }
                sample.push(d);
            }
        }
        let v = Vocabulary::train(&sample);
        assert!(v.words() >= 4);
        let same = sample
            .chunks(60)
            .filter(|group| {
                let w = v.quantize(&group[0]);
                group.iter().filter(|d| v.quantize(d) == w).count() >= 50
            })
            .count();
        assert!(same >= 45, "only {same} of 50 clusters kept together");
        let back = Vocabulary::from_bytes(&v.to_bytes()).unwrap();
        assert_eq!(back, v);
        assert!(Vocabulary::from_bytes(&v.to_bytes()[..100]).is_none());
    }

    #[test]
    fn near_words_start_with_the_word_and_stay_in_its_branch() {
        let sample = random_descriptors(20_000, 3);
        let v = Vocabulary::train(&sample);
        let b = v.branching;
        for d in random_descriptors(50, 11) {
            let near = v.quantize_near(&d, 2);
            assert_eq!(near.len(), 3);
            assert_eq!(near[0], v.quantize(&d));
            assert!(near.iter().all(|&w| w as usize / b == near[0] as usize / b));
            let mut distinct = near.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), 3);
            assert_eq!(v.quantize_near(&d, 0), vec![near[0]]);
            // The leaves nearest first, the same as ordering every leaf.
            let root = near[0] as usize / b;
            let mut all: Vec<(u32, usize)> = (0..b)
                .map(|j| (hamming(&v.centroids[b + root * b + j], &d), root * b + j))
                .collect();
            all.sort_unstable();
            let five: Vec<u32> = all.iter().take(5).map(|&(_, w)| w as u32).collect();
            assert_eq!(v.quantize_near(&d, 4), five);
        }
    }
}
