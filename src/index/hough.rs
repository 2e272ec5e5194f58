//! Shared visual words checked for one similarity transform: a Hough
//! transform (Lowe 2004) on the votes of the inverted index
//! ([`crate::index::inverted`]).
//!
//! A query feature and a reference feature that share a word say how the
//! reference shows in the photo: turned by the difference of their
//! orientations, scaled by that of their pyramid levels, and, from the
//! reference feature's offset from its image's centre, with that centre
//! at one place in the photo. The words of a true view agree on all of
//! it; chance matches rarely do, even when their turns and scales agree
//! (upright photos give many chance matches with no turn at all).

use crate::describe::orb;
use crate::index::occurrence::Occurrence;

/// Scale between neighbouring pyramid levels.
const SCALE_STEP: f32 = orb::QUERY.scale_factor;

/// Votes of one image weighed for consistency, its heaviest: an image
/// sharing hundreds of words is a candidate anyway.
const MAX_VOTES: usize = 64;
/// Votes each tried as the centre of a set of agreeing ones, the
/// heaviest: a true view's rarest words carry the most weight, so trying
/// all [`MAX_VOTES`] finds no more (docs/decisions.md, "2026-12-01 —
/// Ranking the second look's shortlist by one transform").
const SEEDS: usize = 12;
/// Two votes agree when their turns differ by at most this many of 256
/// steps per turn (22.5°), their levels by at most one, and their
/// predicted centres by at most [`CENTRE_SLACK`] of the query's side plus
/// [`LEVER_SLACK`] of their distance to the centre: the scale a level
/// gives is coarse, and a tilted object's scale varies across it.
const TURN_SLACK: i32 = 16;
const CENTRE_SLACK: f32 = 0.1;
const LEVER_SLACK: f32 = 0.35;

/// A shared word's account of how the reference shows in the query.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vote {
    weight: f32,
    turn: u8,
    level: i8,
    /// Where the reference's centre falls in the query (offset steps).
    cx: f32,
    cy: f32,
    /// Distance of the query feature from that centre.
    lever: f32,
}

/// A shared word before it is turned into a [`Vote`]: only the heaviest
/// of an image's are, and only for the images [`best_cluster`] weighs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shared {
    pub weight: f32,
    /// The query feature's index.
    pub feature: u32,
    /// The reference feature's `[angle, level, dx, dy]`, as its posting
    /// stores them.
    pub shape: [u8; 4],
}

/// Tables for turning a shared word into a [`Vote`].
pub struct VoteGeometry {
    cos_sin: Vec<(f32, f32)>,
    /// Scale factor of each level difference from -20 to 20.
    scales: Vec<f32>,
}

impl Default for VoteGeometry {
    fn default() -> VoteGeometry {
        VoteGeometry::new()
    }
}

impl VoteGeometry {
    pub fn new() -> VoteGeometry {
        let cos_sin = (0..256)
            .map(|i| {
                let a = i as f32 * std::f32::consts::TAU / 256.0;
                (a.cos(), a.sin())
            })
            .collect();
        let scales = (-20..=20).map(|l| SCALE_STEP.powi(l)).collect();
        VoteGeometry { cos_sin, scales }
    }

    /// The vote of a query feature `o` sharing its word with a reference
    /// feature of this orientation step, level and offset (`[angle,
    /// level, dx, dy]`, as a posting stores them).
    pub fn vote(&self, o: &Occurrence, reference: [u8; 4], weight: f32) -> Vote {
        let turn = o.angle.wrapping_sub(reference[0]);
        let level = (o.level as i32 - reference[1] as i32).clamp(-20, 20) as i8;
        let scale = self.scales[(level as i32 + 20) as usize];
        let (c, s) = self.cos_sin[turn as usize];
        let (rx, ry) = (reference[2] as i8 as f32, reference[3] as i8 as f32);
        let (mx, my) = (scale * (c * rx - s * ry), scale * (s * rx + c * ry));
        Vote {
            weight,
            turn,
            level,
            cx: o.dx as f32 - mx,
            cy: o.dy as f32 - my,
            lever: (mx * mx + my * my).sqrt(),
        }
    }
}

/// The heaviest set of an image's shared words whose votes agree with one
/// of the [`SEEDS`] heaviest: a true view's rare words carry the most
/// weight. Only the [`MAX_VOTES`] heaviest are turned into votes (the
/// choice compares weights alone, so it is the same as among votes).
pub fn best_cluster(
    shared: &mut [Shared],
    query: &[Occurrence],
    geometry: &VoteGeometry,
    side: f32,
) -> f32 {
    if shared.len() > MAX_VOTES {
        shared.select_nth_unstable_by(MAX_VOTES, |a, b| b.weight.total_cmp(&a.weight));
    }
    let kept = shared.len().min(MAX_VOTES);
    let shared = &mut shared[..kept];
    let seeds = SEEDS.min(kept);
    if kept > seeds {
        shared.select_nth_unstable_by(seeds, |a, b| b.weight.total_cmp(&a.weight));
    }
    // On the stack: this runs for each image weighed, hundreds a lookup.
    let mut made = [Vote::default(); MAX_VOTES];
    for (vote, v) in made.iter_mut().zip(shared.iter()) {
        *vote = geometry.vote(&query[v.feature as usize], v.shape, v.weight);
    }
    let votes = &made[..kept];
    // Which votes can agree with a seed at all: those a turn bin and a
    // level from it, as bit masks (at most 64 votes), so that each seed
    // tests a handful of votes, not all 64. The agreeing ones are then
    // added in the votes' order, as a test of every pair would.
    let mut by_turn = [0u64; TURN_BINS];
    let mut by_level = [0u64; LEVELS + 2];
    for (i, v) in votes.iter().enumerate() {
        by_turn[v.turn as usize / TURN_BIN] |= 1 << i;
        by_level[level_slot(v.level)] |= 1 << i;
    }
    let mut best = 0f32;
    for a in &votes[..seeds] {
        let t = a.turn as usize / TURN_BIN;
        let turns =
            by_turn[(t + TURN_BINS - 1) % TURN_BINS] | by_turn[t] | by_turn[(t + 1) % TURN_BINS];
        let l = level_slot(a.level);
        let levels = by_level[l - 1] | by_level[l] | by_level[l + 1];
        let mut near = turns & levels;
        let mut sum = 0f32;
        while near != 0 {
            let b = &votes[near.trailing_zeros() as usize];
            near &= near - 1;
            let turn = (a.turn.wrapping_sub(b.turn) as i8 as i32).abs();
            let slack = CENTRE_SLACK * side + LEVER_SLACK * (a.lever + b.lever);
            let (ex, ey) = (a.cx - b.cx, a.cy - b.cy);
            if turn <= TURN_SLACK
                && (a.level as i32 - b.level as i32).abs() <= 1
                && ex * ex + ey * ey <= slack * slack
            {
                sum += b.weight;
            }
        }
        best = best.max(sum);
    }
    best
}

/// Turn bins of the masks: a vote within [`TURN_SLACK`] of a seed's turn
/// lies in the seed's bin or a neighbour.
const TURN_BIN: usize = TURN_SLACK as usize;
const TURN_BINS: usize = 256 / TURN_BIN;
/// Level differences run from -20 to 20 (`VoteGeometry::vote`).
const LEVELS: usize = 41;

const _: () = assert!(MAX_VOTES <= 64 && TURN_SLACK as usize <= TURN_BIN);

/// A level's mask, with an empty one on either side.
fn level_slot(level: i8) -> usize {
    (level as i32 + 21) as usize
}

/// The side of the photo the query's features come from, in offset steps
/// (twice the largest offset of a feature from its centre).
pub fn query_side(query: &[Occurrence]) -> f32 {
    query
        .iter()
        .map(|o| o.dx.unsigned_abs().max(o.dy.unsigned_abs()) as f32)
        .fold(1.0, f32::max)
        * 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(angle: u8, level: u8, dx: i8, dy: i8) -> Occurrence {
        Occurrence {
            word: 0,
            angle,
            level,
            dx,
            dy,
        }
    }

    /// Each query feature sharing one word with a reference feature of
    /// this shape, weight 1.
    fn shared(pairs: &[(Occurrence, [u8; 4])]) -> (Vec<Occurrence>, Vec<Shared>) {
        let query = pairs.iter().map(|p| p.0).collect();
        let shared = (0..pairs.len())
            .map(|i| Shared {
                weight: 1.0,
                feature: i as u32,
                shape: pairs[i].1,
            })
            .collect();
        (query, shared)
    }

    #[test]
    fn a_turned_scaled_shifted_view_puts_every_centre_in_one_place() {
        let g = VoteGeometry::new();
        let scale = SCALE_STEP * SCALE_STEP;
        let (tx, ty) = (-12.0f32, 7.0f32);
        let offsets: [(i8, i8); 5] = [(20, 0), (0, 20), (-15, -10), (10, -20), (-5, 25)];
        let pairs: Vec<(Occurrence, [u8; 4])> = offsets
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| {
                // Three eighths of a turn: 96 of 256 steps.
                let a = 96.0 * std::f32::consts::TAU / 256.0;
                let (c, s) = (a.cos(), a.sin());
                let qx = tx + scale * (c * x as f32 - s * y as f32);
                let qy = ty + scale * (s * x as f32 + c * y as f32);
                let o = at(30 * i as u8 + 96, 3, qx.round() as i8, qy.round() as i8);
                (o, [30 * i as u8, 1, x as u8, y as u8])
            })
            .collect();
        for (o, shape) in &pairs {
            let v = g.vote(o, *shape, 1.0);
            assert_eq!((v.turn, v.level), (96, 2));
            assert!((v.cx - tx).abs() < 1.0 && (v.cy - ty).abs() < 1.0, "{v:?}");
        }
        let (query, mut votes) = shared(&pairs);
        assert_eq!(best_cluster(&mut votes, &query, &g, 100.0), 5.0);
    }

    #[test]
    fn votes_that_disagree_on_the_centre_or_the_turn_count_alone() {
        let g = VoteGeometry::new();
        // The same turn and level, centres far apart.
        let apart: Vec<_> = [(-60, -60), (60, -60), (-60, 60), (60, 60)]
            .iter()
            .map(|&(x, y)| (at(0, 0, x, y), [0, 0, 0, 0]))
            .collect();
        let (query, mut votes) = shared(&apart);
        assert_eq!(best_cluster(&mut votes, &query, &g, 100.0), 1.0);
        // The same centre, turns a quarter turn apart.
        let turned: Vec<_> = [0u8, 64, 128, 192]
            .iter()
            .map(|&a| (at(a, 0, 0, 0), [0, 0, 0, 0]))
            .collect();
        let (query, mut votes) = shared(&turned);
        assert_eq!(best_cluster(&mut votes, &query, &g, 100.0), 1.0);
        assert_eq!(query_side(&[at(0, 0, -30, 5), at(0, 0, 10, 40)]), 80.0);
    }
}
