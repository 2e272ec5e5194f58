//! Borderline verdicts: which verdicts another photo of the same object
//! may well change (about one time in three on the dev split). The
//! strength of a pair moves between a photo and the same photo saved again (docs/decisions.md, "Borderline
//! verdicts"); a verdict within that noise of a threshold is flagged, so
//! that an officer takes another photo before acting on it. No score or
//! verdict changes.

use crate::search::scoring::{
    Evidence, MATCH_STRENGTH, POSSIBLE_STRENGTH, Verdict, part_rule_share, strength,
};

/// One standard deviation of a candidate's strength between a photo and the
/// same photo re-encoded as the web page sends it (0.39 over the 159 top
/// candidates of the dev split near the verdict band; docs/decisions.md,
/// "Borderline verdicts"): the features, the transform they fit and the
/// outline move together, and a verdict this close to a threshold changes
/// about one time in three when the photo is taken or saved again.
pub const REENCODE_NOISE: f32 = 0.4;
/// A would-be `match` judged by its parts is borderline within this many
/// parts of the share asked: the part map's own step, one part agreeing or
/// not.
const PART_MARGIN: f32 = 1.0;

/// Whether the verdict this evidence earns lies within the noise of a
/// re-taken or re-saved photo of a threshold: the strength within
/// [`REENCODE_NOISE`] of [`POSSIBLE_STRENGTH`] or [`MATCH_STRENGTH`], or,
/// where the parts decide between `match` and `partial`, the parts that
/// agree within [`PART_MARGIN`] of the share asked. An officer should
/// not act on a borderline `match` alone: another photo settles it.
pub fn borderline(e: &Evidence) -> bool {
    let s = strength(e);
    let near = |threshold: f32| (s - threshold).abs() < REENCODE_NOISE;
    near(POSSIBLE_STRENGTH) || near(MATCH_STRENGTH) || parts_near(e)
}

/// Whether a `partial` or `possible` verdict comes from a photo whose frame
/// cuts off most of the record's picture
/// ([`crate::search::parts::Blocks::mostly_outside`]). Such a photo cannot
/// tell a close-up of the picture (a video frame, a detail photographed
/// close) from a detail another picture shares with it, so no rule on it
/// can: a photo of the whole object can. The part rule keeps it from
/// `match` (docs/decisions.md, "2026-12-07 — A photo that cuts the picture
/// off asks for the whole object").
pub fn cut_off(verdict: Verdict, e: &Evidence) -> bool {
    matches!(verdict, Verdict::Partial | Verdict::Possible)
        && e.pixel_blocks.is_some_and(|b| b.mostly_outside())
}

/// Whether the part rule ([`crate::search::scoring::shows_part_only`])
/// decides this evidence's verdict and one part more or less would decide
/// it otherwise.
fn parts_near(e: &Evidence) -> bool {
    part_rule_share(e).is_some_and(|share| {
        e.pixel_blocks
            .is_some_and(|b| b.shown_margin(share).is_some_and(|m| m.abs() < PART_MARGIN))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::parts::Blocks;
    use crate::search::scoring::{score, shows_part_only};

    #[test]
    fn a_verdict_within_the_noise_of_a_threshold_is_borderline() {
        let local = |inliers, cells| Evidence {
            hash_distance: 60,
            embedding_distance: 0.9,
            inliers,
            cells,
            ..Evidence::default()
        };
        // ln 81 + ln 21 = 7.4, far above `match`; ln 4 + ln 3 = 2.5, far
        // below `possible`: another photo keeps either verdict.
        assert!(!borderline(&local(80, 20)));
        assert!(!borderline(&local(3, 2)));
        // ln 31 + ln 12 = 5.92: a `match` by 0.02.
        let edge = local(30, 11);
        assert_eq!(Verdict::from_score(score(&edge)), Verdict::Match);
        assert!(borderline(&edge));
        // ln 19 + ln 9 = 5.14: `none`, 0.11 below `possible`.
        let below = local(18, 8);
        assert_eq!(Verdict::from_score(score(&below)), Verdict::None);
        assert!(borderline(&below));

        // Strong local evidence whose parts decide: a third of the
        // reference's structure agrees, as `match` asks, so one part less
        // would make it `partial`…
        let parts = |agree, differ, outside| Evidence {
            pixel_blocks: Some(Blocks {
                agree,
                differ,
                outside,
                ..Blocks::default()
            }),
            ..local(80, 20)
        };
        let third = parts(5, 0, 10);
        assert!(!shows_part_only(&third));
        assert!(borderline(&third));
        // …while a reference agreeing almost everywhere, or a detail far
        // short of a third, is not near the rule.
        assert!(!borderline(&parts(12, 1, 0)));
        let detail = parts(2, 6, 8);
        assert!(shows_part_only(&detail));
        assert!(!borderline(&detail));
    }

    #[test]
    fn a_verdict_short_of_match_from_a_photo_that_cuts_most_of_the_picture_off_says_so() {
        let seen = |agree, differ, missing, outside| Evidence {
            pixel_blocks: Some(Blocks {
                agree,
                differ,
                missing,
                outside,
                ..Blocks::default()
            }),
            ..Evidence::default()
        };
        // Four parts in the photo, nine outside it: a close-up or a detail.
        let close = seen(4, 0, 0, 9);
        assert!(cut_off(Verdict::Partial, &close));
        assert!(cut_off(Verdict::Possible, &close));
        // A `match` needs no other photo, nor does a `none` (its best
        // candidate is any); a picture mostly in the photo is not cut off.
        assert!(!cut_off(Verdict::Match, &close));
        assert!(!cut_off(Verdict::None, &close));
        assert!(!cut_off(Verdict::Partial, &seen(2, 4, 1, 6)));
        assert!(!cut_off(Verdict::Partial, &Evidence::default()));
    }
}
