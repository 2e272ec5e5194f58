//! Words given with a photo (the page's "what you see", `--text`, the
//! API's `text`): they may order candidates the image cannot tell apart,
//! and never more.
//!
//! Only when no candidate is a `match`, only among candidates of one
//! verdict, and only within a band: a candidate whose record matches the
//! words is lifted past candidates of its verdict whose image score is at
//! most [`WORDS_SPAN`] above its own. Scores and verdicts stay the image's,
//! so words never turn a visual non-match into `match`, never put a `none`
//! before a `possible`, nor move a score off its calibration; the answer
//! says when they changed the order.

use crate::search::response::Match;
use crate::search::scoring::Verdict;
use serde::Serialize;

/// How far, in image score, the best text match can lift a candidate.
pub const WORDS_SPAN: f32 = 0.1;

/// What the words given with a photo did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WordsUse {
    /// The words could order the candidates (no candidate was a `match`).
    pub applied: bool,
    /// They changed the order the image scores give.
    pub reordered: bool,
}

/// Sets every candidate's `words` score from `text` (record id → score in
/// [0, 1)) and orders `matches`, which arrive in image order.
pub fn order(matches: &mut [Match], text: impl Fn(&str) -> Option<f32>) -> WordsUse {
    for m in matches.iter_mut() {
        m.words = text(&m.id);
    }
    if matches.iter().any(|m| m.verdict == Verdict::Match) {
        return WordsUse {
            applied: false,
            reordered: false,
        };
    }
    let before: Vec<String> = matches.iter().map(|m| m.id.clone()).collect();
    let key = |m: &Match| m.score + WORDS_SPAN * m.words.unwrap_or(0.0).clamp(0.0, 1.0);
    matches.sort_by(|a, b| {
        a.verdict
            .cmp(&b.verdict)
            .then(key(b).total_cmp(&key(a)))
            .then(b.score.total_cmp(&a.score))
            .then_with(|| a.id.cmp(&b.id))
    });
    let reordered = matches.iter().zip(&before).any(|(m, id)| &m.id != id);
    WordsUse {
        applied: true,
        reordered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::record::Record;
    use crate::search::response::RecordSummary;

    fn m(id: &str, score: f32, verdict: Verdict) -> Match {
        Match {
            id: id.into(),
            score,
            verdict,
            borderline: false,
            cut_off: false,
            object: None,
            image: None,
            image_index: None,
            evidence: None,
            words: None,
            record: RecordSummary::from(&Record::default()),
            review: None,
            pairs: Vec::new(),
        }
    }

    fn ids(ms: &[Match]) -> Vec<&str> {
        ms.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn words_lift_a_close_candidate_only() {
        let mut ms = vec![
            m("a", 0.50, Verdict::Possible),
            m("b", 0.45, Verdict::Possible),
            m("c", 0.30, Verdict::None),
        ];
        let text = |id: &str| match id {
            "b" | "c" => Some(0.9),
            _ => None,
        };
        let used = order(&mut ms, text);
        assert_eq!(ids(&ms), ["b", "a", "c"], "c is 0.2 below a: out of reach");
        assert!(used.applied && used.reordered);
        assert_eq!(ms[0].score, 0.45, "scores stay the image's");
        assert_eq!(ms[0].verdict, Verdict::Possible);
        assert_eq!(ms[0].words, Some(0.9));
    }

    #[test]
    fn words_never_put_a_weaker_verdict_first() {
        let mut ms = vec![m("a", 0.52, Verdict::Possible), m("b", 0.48, Verdict::None)];
        let used = order(&mut ms, |id| (id == "b").then_some(0.9));
        assert_eq!(ids(&ms), ["a", "b"]);
        assert!(used.applied && !used.reordered);
    }

    #[test]
    fn a_match_is_never_reordered() {
        let mut ms = vec![m("a", 0.9, Verdict::Match), m("b", 0.85, Verdict::Possible)];
        let used = order(&mut ms, |id| (id == "b").then_some(0.99));
        assert_eq!(ids(&ms), ["a", "b"]);
        assert_eq!(
            used,
            WordsUse {
                applied: false,
                reordered: false
            }
        );
        assert_eq!(ms[1].words, Some(0.99));
    }
}
