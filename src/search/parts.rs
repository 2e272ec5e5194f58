//! The reference judged part by part: which of its parts the photo shows
//! as they are, which differ, which it lacks or adds to, which lie outside
//! it (`crate::search::pixels` compares them), and the rule that tells a
//! photo of the picture from one that shows only a part of it.

use crate::describe::grid::GRID;

/// Side of a block, in grid cells: the reference judged in 4×4 parts.
pub const BLOCK: usize = 6;
/// The reference's parts compared with what the photo shows there: where
/// both have structure, they agree or differ; where only the reference
/// has, the photo is missing it (a torn fragment, glare, out of frame);
/// where only the photo has, the photo adds something the reference
/// lacks (a sticker, another picture around a shared detail); where the
/// reference has structure but the outline puts that part outside the
/// photo, the photo does not show it at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Blocks {
    pub agree: u8,
    pub differ: u8,
    pub missing: u8,
    pub added: u8,
    pub outside: u8,
    /// Which is which, over the reference row by row ([`Part`]).
    pub map: PartMap,
    /// The same judgement in parts a quarter as large ([`FINE_BLOCK`]).
    pub fine: FineParts,
    /// Judged as the object off the reference's plain backdrop
    /// (`crate::search::backdrop`): what the photo shows around it is not
    /// compared, nor the contrast of its outline.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub off_backdrop: bool,
}

/// Of `agree + differ` parts compared, those agreeing beyond the `chance`
/// that a part which is not the reference's agrees anyway.
fn beyond_chance(agree: u8, differ: u8, chance: f32) -> f32 {
    let (a, compared) = (agree as f32, (agree + differ) as f32);
    ((a - chance * compared) / (1.0 - chance)).clamp(0.0, a)
}

/// Side of a finer part, in grid cells: 8×8 parts. A shared detail that
/// covers half of a part makes the part agree; in parts a quarter as large
/// it covers about as much of the reference as it shows.
pub const FINE_BLOCK: usize = 3;

/// The counts of [`Blocks`] in the finer parts ([`FINE_BLOCK`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct FineParts {
    pub agree: u8,
    pub differ: u8,
    pub missing: u8,
    pub added: u8,
    pub outside: u8,
}

/// Adds one part to its count (`Unjudged` to none).
macro_rules! tally {
    ($counts:expr, $part:expr) => {
        match $part {
            Part::Agree => $counts.agree += 1,
            Part::Differ => $counts.differ += 1,
            Part::Missing => $counts.missing += 1,
            Part::Added => $counts.added += 1,
            Part::Outside => $counts.outside += 1,
            Part::Unjudged => {}
        }
    };
}

impl FineParts {
    /// Counts one more finer part.
    pub fn tally(&mut self, part: Part) {
        tally!(self, part);
    }

    /// The reference's textured finer parts, shown in the photo or not.
    pub fn structure(&self) -> u8 {
        self.agree + self.differ + self.missing + self.outside
    }

    /// How many finer parts agree beyond chance ([`FINE_CHANCE_AGREE`]).
    pub fn agree_beyond_chance(&self) -> f32 {
        beyond_chance(self.agree, self.differ, FINE_CHANCE_AGREE)
    }

    /// Whether the finer parts agreeing beyond chance hold less than
    /// `share` of the reference's textured finer parts (fewer than
    /// [`SHOWN_MIN`] textured: not judged).
    fn show_less_than(&self, share: f32) -> bool {
        self.structure() >= SHOWN_MIN
            && (self.agree < SHOWN_MIN
                || self.agree_beyond_chance() < share * self.structure() as f32)
    }
}

/// Side of the reference's grid of parts.
pub const PARTS_SIDE: usize = GRID as usize / BLOCK;

/// What one part of the reference is in the photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Part {
    /// Flat on both sides, or too little of it in the photo to judge.
    #[default]
    Unjudged = b'.',
    Agree = b'a',
    Differ = b'd',
    Missing = b'm',
    Added = b'+',
    Outside = b'o',
}

/// The parts of the reference, row by row from its top-left; serialised as
/// one character a part (`a` agree, `d` differ, `m` missing, `+` added,
/// `o` outside the photo, `.` not judged), e.g. `"aaaa aadd aa.. oooo"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartMap(pub [Part; PARTS_SIDE * PARTS_SIDE]);

impl serde::Serialize for PartMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<String> = self
            .0
            .chunks(PARTS_SIDE)
            .map(|row| row.iter().map(|&p| p as u8 as char).collect())
            .collect();
        s.serialize_str(&rows.join(" "))
    }
}

/// For `match`, the parts of the reference that the photo shows and that
/// agree, beyond chance, must hold at least this share of the reference's
/// structure (its textured parts, in the photo or not): a detail shared
/// with another picture shows less, a torn fragment of the object more
/// (docs/decisions.md, "2026-12-05 — Whole picture or a shared part").
pub const SHOWN_SHARE: f32 = 1.0 / 3.0;
/// …and this share for a picture only the closer look at a photo in which
/// nothing was found saw (`crate::search::further::keep_small_finds`): it
/// tried ten more places in the photo, and a part of a reference small in
/// a large scene is as often a shared detail pasted there as a torn
/// fragment; the whole picture, less what a frame or a hand hides, is
/// asked for (its true finds showed 0.71 or more, docs/decisions.md).
pub const SHOWN_SHARE_CLOSER: f32 = 2.0 / 3.0;
/// …and at least this many parts must agree: fewer cannot tell a part
/// from the whole.
pub const SHOWN_MIN: u8 = 3;
/// How often a part agrees by chance, where both sides have structure but
/// the transform is wrong: measured on the best wrong candidates of the dev
/// split's half A (0.236; half B 0.26).
pub const CHANCE_AGREE: f32 = 0.24;
/// …and a finer part, measured the same way (half A 0.375, half B 0.374):
/// a third of the cells correlate by chance more often.
pub const FINE_CHANCE_AGREE: f32 = 0.375;
/// The finer parts ask this share of what the coarse parts ask: a finer
/// part's correlation is noisier, so a true view's agreeing share is
/// lower there (0.30 of the reference for `match`; chosen on half A,
/// docs/decisions.md, "2026-12-07 — The shown share in finer parts").
pub const FINE_SHARE_OF: f32 = 0.9;

impl Blocks {
    /// Counts one more part (its place in [`Blocks::map`] is the caller's).
    pub fn tally(&mut self, part: Part) {
        tally!(self, part);
    }

    /// The reference's textured parts, shown in the photo or not.
    pub fn structure(&self) -> u8 {
        self.agree + self.differ + self.missing + self.outside
    }

    /// How many parts agree beyond chance: of the `agree + differ` parts
    /// compared, a share [`CHANCE_AGREE`] of those that are not the
    /// reference would agree anyway.
    pub fn agree_beyond_chance(&self) -> f32 {
        beyond_chance(self.agree, self.differ, CHANCE_AGREE)
    }

    /// Share of the reference's structure the photo shows and agrees with,
    /// beyond chance.
    pub fn shown_share(&self) -> f32 {
        self.agree_beyond_chance() / self.structure().max(1) as f32
    }

    /// How many parts agreeing beyond chance the shown share exceeds
    /// `share` of the reference's structure by (negative: falls short);
    /// None where too few parts are textured to be judged ([`SHOWN_MIN`]).
    /// Where the finer parts are judged too, the smaller of the two
    /// margins, a finer part counted as the quarter of a part it is.
    pub fn shown_margin(&self, share: f32) -> Option<f32> {
        let coarse = (self.structure() >= SHOWN_MIN)
            .then(|| self.agree_beyond_chance() - share * self.structure() as f32);
        let f = &self.fine;
        let fine = (f.structure() >= SHOWN_MIN).then(|| {
            let per_part = ((BLOCK / FINE_BLOCK) * (BLOCK / FINE_BLOCK)) as f32;
            (f.agree_beyond_chance() - FINE_SHARE_OF * share * f.structure() as f32) / per_part
        });
        match (coarse, fine) {
            (Some(c), Some(f)) => Some(c.min(f)),
            (c, f) => c.or(f),
        }
    }

    /// Whether more of the reference's textured parts lie outside the photo
    /// than in it: the photo's frame cuts most of the picture off.
    pub fn mostly_outside(&self) -> bool {
        self.outside > self.agree + self.differ + self.missing
    }

    /// Which grid cells (row by row) lie in a part that agrees: where the
    /// photo shows the reference, to compare its colours at.
    pub fn agreeing_cells(&self) -> Vec<bool> {
        let n = GRID as usize;
        (0..n * n)
            .map(|i| {
                let part = (i / n / BLOCK) * PARTS_SIDE + (i % n) / BLOCK;
                self.map.0[part] == Part::Agree
            })
            .collect()
    }

    /// Whether the photo shows only a part of the reference: too little of
    /// its structure agrees to say that the photo is of this picture,
    /// whatever else the local features prove. A reference with fewer
    /// textured parts than [`SHOWN_MIN`] is not judged: its parts cannot
    /// tell a detail from the whole.
    pub fn shows_part_only(&self) -> bool {
        self.shows_less_than(SHOWN_SHARE)
    }

    /// [`Blocks::shows_part_only`] with `share` of the reference's
    /// structure asked for.
    pub fn shows_less_than(&self, share: f32) -> bool {
        (self.structure() >= SHOWN_MIN && (self.agree < SHOWN_MIN || self.shown_share() < share))
            || self.fine.show_less_than(FINE_SHARE_OF * share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_third_of_the_reference_agreeing_is_the_line_between_a_part_and_the_whole() {
        let b = |agree, differ, missing, outside| Blocks {
            agree,
            differ,
            missing,
            outside,
            ..Blocks::default()
        };
        // A whole view, a fragment torn from it, a sticker on it.
        assert!(!b(14, 0, 0, 0).shows_part_only());
        assert!(!b(7, 1, 6, 0).shows_part_only());
        assert!(!b(11, 3, 0, 0).shows_part_only());
        // A detail in another picture; a detail at the edge of a catalogue image.
        assert!(b(3, 6, 2, 3).shows_part_only());
        assert!(b(4, 0, 0, 10).shows_part_only());
        // A quarter of the reference, and two parts of the scene around it
        // that agree by chance: not a third beyond chance.
        assert!(b(6, 3, 3, 4).shows_part_only());
        assert!(!b(6, 0, 3, 4).shows_part_only());
        // Two parts agreeing prove no whole; a reference of two textured
        // parts is not judged.
        assert!(!b(2, 0, 0, 0).shows_part_only());
        assert!(b(2, 0, 0, 2).shows_part_only());
        // A closer look's find asks for two thirds: a detail pasted small
        // (4 parts agree, 5 missing) is a part, a small whole picture not.
        assert!(!b(4, 0, 5, 0).shows_part_only());
        assert!(b(4, 0, 5, 0).shows_less_than(SHOWN_SHARE_CLOSER));
        assert!(!b(12, 0, 2, 0).shows_less_than(SHOWN_SHARE_CLOSER));
    }

    #[test]
    fn a_detail_that_half_covers_its_parts_shows_less_in_finer_parts() {
        let with_fine = |agree, differ, outside, fine: FineParts| Blocks {
            agree,
            differ,
            outside,
            fine,
            ..Blocks::default()
        };
        let fine = |agree, differ, missing, outside| FineParts {
            agree,
            differ,
            missing,
            outside,
            ..FineParts::default()
        };
        // Six of fourteen parts agree, but in finer parts the detail covers
        // 12 of 52: a part of the picture.
        let detail = with_fine(6, 2, 6, fine(12, 10, 6, 24));
        assert!(!with_fine(6, 2, 6, FineParts::default()).shows_part_only());
        assert!(detail.shows_part_only());
        // A whole view agrees in most finer parts too, a fragment in a
        // third of them or more.
        assert!(!with_fine(13, 1, 0, fine(40, 10, 2, 0)).shows_part_only());
        assert!(!with_fine(7, 1, 0, fine(22, 4, 20, 0)).shows_part_only());
        // The margin is the smaller of the two, a finer part a quarter of a
        // part: the detail is far from the line in finer parts.
        assert!(detail.shown_margin(SHOWN_SHARE).unwrap() < -1.0);
    }
}
