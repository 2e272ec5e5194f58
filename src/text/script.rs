//! Raw text made ready for the tokenizer, the same way for a record and
//! for typed words: one Unicode form, no invisible characters, and
//! Chinese and Japanese written as words.
//!
//! The tokenizer splits at anything that is not a letter or digit, so a
//! combining accent ("Ce\u{301}zanne", as macOS and PDF exports write it), a
//! soft hyphen or a zero-width space would cut a word in two; and Chinese
//! and Japanese have no spaces, so a title would be one word that no part
//! of it finds.

use crate::records::record::Record;
use std::borrow::Cow;
use unicode_normalization::{UnicodeNormalization, is_nfc_quick};

/// Characters that are not seen in print and would split a word: soft
/// hyphen, zero-width non-joiner and joiner, word joiner, BOM. (A
/// zero-width *space* separates words, and stays.)
const INVISIBLE: &[char] = &['\u{00AD}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

/// `text` in composed form (NFC), without invisible characters, the
/// Turkish capital İ written I (lowercased, it would keep a combining dot
/// that no typed "i" has), and each run of Han, Hiragana or Katakana
/// written as its overlapping pairs of characters ("清明上河图" → "清明
/// 明上 上河 河图"), as search engines index these scripts: a word of two
/// characters is found inside a longer run, and a run never outgrows the
/// longest word indexed.
pub(super) fn prepare(text: &str) -> Cow<'_, str> {
    if ready(text) {
        return Cow::Borrowed(text);
    }
    let composed: Vec<char> = text
        .nfc()
        .filter(|c| !INVISIBLE.contains(c))
        .map(|c| if c == 'İ' { 'I' } else { c })
        .collect();
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    let mut i = 0;
    while i < composed.len() {
        if !cjk(composed[i]) {
            out.push(composed[i]);
            i += 1;
            continue;
        }
        let end = (i..composed.len())
            .find(|&j| !cjk(composed[j]))
            .unwrap_or(composed.len());
        let run = &composed[i..end];
        out.push(' ');
        if run.len() == 1 {
            out.push(run[0]);
        }
        for pair in run.windows(2) {
            out.extend(pair);
            out.push(' ');
        }
        out.push(' ');
        i = end;
    }
    Cow::Owned(out)
}

/// Text [`prepare`] leaves as it is (most text: ASCII, or composed with
/// nothing to change), told without building anything.
fn ready(text: &str) -> bool {
    text.is_ascii()
        || (is_nfc_quick(text.chars()) == unicode_normalization::IsNormalized::Yes
            && !text
                .chars()
                .any(|c| INVISIBLE.contains(&c) || c == 'İ' || cjk(c)))
}

/// The record with every analysed text field as [`prepare`] makes it
/// (typed words are made the same way); copied only where that changes it.
pub(super) fn prepared(rec: &Record) -> Cow<'_, Record> {
    let places = [&*rec.theft_place, &*rec.country];
    if rec
        .text_fields()
        .iter()
        .map(|(_, t)| *t)
        .chain(places)
        .all(ready)
    {
        return Cow::Borrowed(rec);
    }
    let mut r = rec.clone();
    for field in [
        &mut r.title,
        &mut r.maker,
        &mut r.materials,
        &mut r.inscriptions,
        &mut r.subject,
        &mut r.description,
        &mut r.object_type,
        &mut r.features,
        &mut r.date,
        &mut r.theft_place,
        &mut r.country,
    ] {
        if let Cow::Owned(s) = prepare(field) {
            *field = s;
        }
    }
    Cow::Owned(r)
}

/// Han ideographs (with their extensions and compatibility forms),
/// Hiragana and Katakana: scripts written without spaces between words.
fn cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'      // Hiragana, Katakana
        | '\u{31F0}'..='\u{31FF}'    // Katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}'    // Han extension A
        | '\u{4E00}'..='\u{9FFF}'    // Han
        | '\u{F900}'..='\u{FAFF}'    // Han compatibility
        | '\u{FF66}'..='\u{FF9F}'    // half-width Katakana
        | '\u{20000}'..='\u{3134F}') // Han extensions B to G
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_form_and_no_invisible_characters() {
        assert_eq!(prepare("Ce\u{301}zanne"), "Cézanne");
        assert_eq!(
            prepare("Ma\u{AD}donna del Gran\u{AD}duca"),
            "Madonna del Granduca"
        );
        assert_eq!(prepare("İzmir"), "Izmir");
        assert!(matches!(prepare("plain ASCII"), Cow::Borrowed(_)));
        assert!(matches!(prepare("Икона Николая"), Cow::Borrowed(_)));
    }

    #[test]
    fn chinese_and_japanese_as_pairs_of_characters() {
        assert_eq!(
            prepare("清明上河图").split_whitespace().collect::<Vec<_>>(),
            ["清明", "明上", "上河", "河图"]
        );
        assert_eq!(
            prepare("葛飾北斎 (1760)")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["葛飾", "飾北", "北斎", "(1760)"]
        );
        assert_eq!(
            prepare("a 山 b").split_whitespace().collect::<Vec<_>>(),
            ["a", "山", "b"]
        );
    }
}
