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

impl Blocks {
    /// The reference's textured parts, shown in the photo or not.
    pub fn structure(&self) -> u8 {
        self.agree + self.differ + self.missing + self.outside
    }

    /// How many parts agree beyond chance: of the `agree + differ` parts
    /// compared, a share [`CHANCE_AGREE`] of those that are not the
    /// reference would agree anyway.
    pub fn agree_beyond_chance(&self) -> f32 {
        let (a, compared) = (self.agree as f32, (self.agree + self.differ) as f32);
        ((a - CHANCE_AGREE * compared) / (1.0 - CHANCE_AGREE)).clamp(0.0, a)
    }

    /// Share of the reference's structure the photo shows and agrees with,
    /// beyond chance.
    pub fn shown_share(&self) -> f32 {
        self.agree_beyond_chance() / self.structure().max(1) as f32
    }

    /// How many parts agreeing beyond chance the shown share exceeds
    /// `share` of the reference's structure by (negative: falls short);
    /// None where too few parts are textured to be judged ([`SHOWN_MIN`]).
    pub fn shown_margin(&self, share: f32) -> Option<f32> {
        (self.structure() >= SHOWN_MIN)
            .then(|| self.agree_beyond_chance() - share * self.structure() as f32)
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
        self.structure() >= SHOWN_MIN && (self.agree < SHOWN_MIN || self.shown_share() < share)
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
}
