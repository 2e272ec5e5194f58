//! The two nearest reference descriptors of every query descriptor, by
//! Hamming distance: the inner loop of geometric verification
//! (`crate::search::matching`), 1,000 × 500 distances per candidate.
//!
//! Exhaustive on purpose: a candidate's few hundred descriptors are too
//! few for an index to pay, and the ratio test needs the true runner-up.
//! What makes it cheap is the instruction set, chosen at run time:
//! with AVX-512 (and its 64-bit population count) eight reference
//! descriptors, stored word by word, are compared with one query
//! descriptor in a dozen instructions; with AVX2 alone (many AMD EPYC
//! servers) four, counting bits by nibble look-ups (Muła, Kurz and Lemire
//! 2018); elsewhere the scalar loop uses POPCNT where it exists. Every
//! path returns exactly the same answer, ties included (the lowest
//! reference index wins).

use crate::describe::orb::{Descriptor, hamming};

/// A query descriptor's nearest reference descriptor: its distance and
/// index, and the distance of the runner-up (`u32::MAX` when missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwoNearest {
    pub d1: u32,
    pub i1: u32,
    pub d2: u32,
}

/// [`TwoNearest`] for each query descriptor, in query order.
pub fn two_nearest(query: &[Descriptor], reference: &[Descriptor]) -> Vec<TwoNearest> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
        {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { avx512::two_nearest(query, reference) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && reference.len() <= avx2::MAX_REFERENCES {
            // SAFETY: as above.
            return unsafe { avx2::two_nearest(query, reference) };
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: as above.
            return unsafe { two_nearest_popcnt(query, reference) };
        }
    }
    two_nearest_portable(query, reference)
}

/// The scalar loop compiled with the POPCNT instruction: a Hamming
/// distance becomes four instructions instead of a bit-twiddling sequence.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn two_nearest_popcnt(query: &[Descriptor], reference: &[Descriptor]) -> Vec<TwoNearest> {
    two_nearest_portable(query, reference)
}

/// A plain loop, not a closure: inlined into [`two_nearest_popcnt`], a
/// closure would not inherit its target feature, and the POPCNT build
/// would run at the portable loop's speed (docs/decisions.md,
/// "2026-12-01 — The portable distance loop as a plain loop").
#[inline(always)]
fn two_nearest_portable(query: &[Descriptor], reference: &[Descriptor]) -> Vec<TwoNearest> {
    let mut out = Vec::with_capacity(query.len());
    for qd in query {
        let (mut d1, mut d2, mut i1) = (u32::MAX, u32::MAX, 0u32);
        for (ri, rd) in reference.iter().enumerate() {
            let d = hamming(qd, rd);
            if d < d2 {
                if d < d1 {
                    d2 = d1;
                    d1 = d;
                    i1 = ri as u32;
                } else {
                    d2 = d;
                }
            }
        }
        out.push(TwoNearest { d1, i1, d2 });
    }
    out
}

/// Added to the distance of a padding lane so that it never wins.
#[cfg(target_arch = "x86_64")]
const PAD: u64 = 1 << 20;

/// Reference descriptors regrouped by `L`, word by word: block `b` holds
/// word `w` of descriptors `L·b..L·b+L` at `[b][w]`, so that one load
/// gives the same word of `L` descriptors.
#[cfg(target_arch = "x86_64")]
fn blocks<const L: usize>(reference: &[Descriptor]) -> Vec<[[u64; L]; 4]> {
    reference
        .chunks(L)
        .map(|chunk| {
            let mut block = [[0u64; L]; 4];
            for (lane, d) in chunk.iter().enumerate() {
                for w in 0..4 {
                    block[w][lane] = d[w];
                }
            }
            block
        })
        .collect()
}

/// What is added to each lane of the last block: [`PAD`] where it holds
/// no reference descriptor.
#[cfg(target_arch = "x86_64")]
fn padding<const L: usize>(len: usize) -> [u64; L] {
    let full = len / L;
    std::array::from_fn(|lane| if full * L + lane >= len { PAD } else { 0 })
}

/// The overall two nearest from each lane's two nearest; equal
/// distances resolve to the lowest reference index, as in the scalar loop.
#[cfg(target_arch = "x86_64")]
fn reduce<const L: usize>(d1: &[u64; L], d2: &[u64; L], i1: &[u64; L]) -> TwoNearest {
    let best = (0..L).min_by_key(|&l| (d1[l], i1[l])).expect("lanes");
    let runner_up = (0..L)
        .filter(|&l| l != best)
        .map(|l| d1[l])
        .chain([d2[best]])
        .min()
        .expect("at least one");
    let clip = |d: u64| if d >= PAD { u32::MAX } else { d as u32 };
    TwoNearest {
        d1: clip(d1[best]),
        i1: if d1[best] >= PAD { 0 } else { i1[best] as u32 },
        d2: clip(runner_up),
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{TwoNearest, blocks};
    use crate::describe::orb::Descriptor;
    use std::arch::x86_64::*;

    /// 64-bit lanes of a 256-bit register: reference descriptors per block.
    const LANES: usize = 4;
    /// References keyed by index in the low 16 bits of a 32-bit key.
    pub(super) const MAX_REFERENCES: usize = 1 << 16;

    /// AVX2 has no population count: each byte's is two look-ups of a
    /// nibble's (`vpshufb`), summed over the four words (at most 32 per
    /// byte) and then over each lane's eight bytes (`vpsadbw`). Two blocks
    /// are counted per step, independent work for the core's several
    /// vector units, and their eight distances packed into 32-bit keys,
    /// `distance << 16 | reference index`: the nearest is then the least
    /// key and the runner-up the least of the rest, three unsigned min/max
    /// instructions per step (AVX2 has none for 64 bits), with ties going
    /// to the lowest index as in the scalar loop. A padding lane's key is
    /// `u32::MAX`. At most [`MAX_REFERENCES`] references.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn two_nearest(
        query: &[Descriptor],
        reference: &[Descriptor],
    ) -> Vec<TwoNearest> {
        debug_assert!(reference.len() <= MAX_REFERENCES);
        let mut blocks = blocks::<LANES>(reference);
        if blocks.len() % 2 == 1 {
            blocks.push([[0; LANES]; 4]);
        }
        let steps = blocks.len() / 2;
        // Steps whose eight lanes all hold a reference.
        let full = reference.len() / (2 * LANES);
        let nibble_bits = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low_nibble = _mm256_set1_epi8(0x0f);
        let zero = _mm256_setzero_si256();
        let none = _mm256_set1_epi32(-1);
        let len = _mm256_set1_epi32(reference.len() as i32);
        // 32-bit lane 2i holds reference i of the step's first block, lane
        // 2i + 1 reference i of its second.
        let first_index = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let step_index = _mm256_set1_epi32(2 * LANES as i32);
        let mut out = Vec::with_capacity(query.len());
        for qd in query {
            let q = qd.map(|w| _mm256_set1_epi64x(w as i64));
            // Per lane: the distance to one block's four descriptors. A
            // macro, not a closure: a closure would not inherit the
            // function's target features.
            macro_rules! distances {
                ($block:expr) => {{
                    let block: &[[u64; LANES]; 4] = $block;
                    let mut bytes = zero;
                    for (w, word) in block.iter().enumerate() {
                        // SAFETY: a whole [u64; 4]; the unaligned load has
                        // no alignment requirement.
                        let r = unsafe { _mm256_loadu_si256(word.as_ptr().cast()) };
                        let x = _mm256_xor_si256(q[w], r);
                        let lo = _mm256_and_si256(x, low_nibble);
                        let hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low_nibble);
                        bytes = _mm256_add_epi8(bytes, _mm256_shuffle_epi8(nibble_bits, lo));
                        bytes = _mm256_add_epi8(bytes, _mm256_shuffle_epi8(nibble_bits, hi));
                    }
                    _mm256_sad_epu8(bytes, zero)
                }};
            }
            let mut best = none;
            let mut second = none;
            let mut index = first_index;
            for step in 0..steps {
                let a = distances!(&blocks[2 * step]);
                let b = distances!(&blocks[2 * step + 1]);
                let d = _mm256_or_si256(a, _mm256_slli_epi64(b, 32));
                let mut key = _mm256_or_si256(_mm256_slli_epi32(d, 16), index);
                if step >= full {
                    let padding = _mm256_andnot_si256(_mm256_cmpgt_epi32(len, index), none);
                    key = _mm256_or_si256(key, padding);
                }
                second = _mm256_min_epu32(second, _mm256_max_epu32(best, key));
                best = _mm256_min_epu32(best, key);
                index = _mm256_add_epi32(index, step_index);
            }
            let (mut bests, mut seconds) = ([0u32; 8], [0u32; 8]);
            // SAFETY: whole [u32; 8]s; the unaligned store has no alignment requirement.
            unsafe {
                _mm256_storeu_si256(bests.as_mut_ptr().cast(), best);
                _mm256_storeu_si256(seconds.as_mut_ptr().cast(), second);
            }
            out.push(reduce_keys(&bests, &seconds));
        }
        out
    }

    /// The overall two nearest from each lane's two least keys.
    fn reduce_keys(best: &[u32; 8], second: &[u32; 8]) -> TwoNearest {
        let lane = (0..8).min_by_key(|&l| best[l]).expect("lanes");
        let runner_up = (0..8)
            .filter(|&l| l != lane)
            .map(|l| best[l])
            .chain([second[lane]])
            .min()
            .expect("lanes");
        let distance = |key: u32| if key == u32::MAX { u32::MAX } else { key >> 16 };
        TwoNearest {
            d1: distance(best[lane]),
            i1: if best[lane] == u32::MAX {
                0
            } else {
                best[lane] & 0xffff
            },
            d2: distance(runner_up),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{TwoNearest, blocks, padding, reduce};
    use crate::describe::orb::Descriptor;
    use std::arch::x86_64::*;

    /// Lanes of a 512-bit register: reference descriptors per block.
    const LANES: usize = 8;

    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub(super) unsafe fn two_nearest(
        query: &[Descriptor],
        reference: &[Descriptor],
    ) -> Vec<TwoNearest> {
        let blocks = blocks::<LANES>(reference);
        let full = reference.len() / LANES;
        let pad = padding::<LANES>(reference.len());
        let lane_index = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
        // SAFETY (loads): every pointer is to a whole [u64; 8], and the
        // unaligned load has no alignment requirement.
        let pad = unsafe { _mm512_loadu_si512(pad.as_ptr().cast()) };
        // A plain loop, not a closure: a closure would not inherit the
        // function's target features.
        let mut out = Vec::with_capacity(query.len());
        for qd in query {
            let q = [
                _mm512_set1_epi64(qd[0] as i64),
                _mm512_set1_epi64(qd[1] as i64),
                _mm512_set1_epi64(qd[2] as i64),
                _mm512_set1_epi64(qd[3] as i64),
            ];
            let mut d1 = _mm512_set1_epi64(i64::MAX);
            let mut d2 = d1;
            let mut i1 = _mm512_setzero_si512();
            for (b, block) in blocks.iter().enumerate() {
                let mut d = _mm512_setzero_si512();
                for w in 0..4 {
                    let r = unsafe { _mm512_loadu_si512(block[w].as_ptr().cast()) };
                    d = _mm512_add_epi64(d, _mm512_popcnt_epi64(_mm512_xor_si512(q[w], r)));
                }
                if b == full {
                    d = _mm512_add_epi64(d, pad);
                }
                let index = _mm512_add_epi64(lane_index, _mm512_set1_epi64((b * LANES) as i64));
                let closer = _mm512_cmplt_epu64_mask(d, d1);
                d2 = _mm512_min_epu64(d2, _mm512_max_epu64(d, d1));
                i1 = _mm512_mask_blend_epi64(closer, i1, index);
                d1 = _mm512_min_epu64(d1, d);
            }
            let (mut d1s, mut d2s, mut i1s) = ([0u64; LANES], [0u64; LANES], [0u64; LANES]);
            unsafe {
                _mm512_storeu_si512(d1s.as_mut_ptr().cast(), d1);
                _mm512_storeu_si512(d2s.as_mut_ptr().cast(), d2);
                _mm512_storeu_si512(i1s.as_mut_ptr().cast(), i1);
            }
            out.push(reduce(&d1s, &d2s, &i1s));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(n: usize, seed: u64) -> Vec<Descriptor> {
        let mut s = seed | 1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        (0..n).map(|_| std::array::from_fn(|_| next())).collect()
    }

    #[test]
    fn every_path_gives_the_portable_answer() {
        let query = random(200, 1);
        for n in [0, 1, 2, 7, 8, 9, 100, 501] {
            let mut reference = random(n, 2 + n as u64);
            // Near copies and exact ties, to exercise the runner-up and the tie rule.
            if n > 16 {
                reference[3] = query[5];
                reference[12] = query[5];
                reference[n - 1] = query[7];
                reference[4] = query[7];
                reference[4][0] ^= 1;
            }
            let expected = two_nearest_portable(&query, &reference);
            assert_eq!(two_nearest(&query, &reference), expected, "{n} references");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the CPU supports the feature.
                let popcnt = unsafe { two_nearest_popcnt(&query, &reference) };
                assert_eq!(popcnt, expected, "POPCNT, {n} references");
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: as above.
                let avx2 = unsafe { avx2::two_nearest(&query, &reference) };
                assert_eq!(avx2, expected, "AVX2, {n} references");
            }
            if n > 16 {
                assert_eq!(
                    expected[5],
                    TwoNearest {
                        d1: 0,
                        i1: 3,
                        d2: 0
                    }
                );
                assert_eq!(expected[7].d1, 0);
                assert_eq!(expected[7].d2, 1);
            }
        }
    }
}
