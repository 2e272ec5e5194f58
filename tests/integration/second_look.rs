//! The second look (`candidates.rs`): a photo that nothing matches
//! conclusively is looked up again with each descriptor in more visual
//! words, and the references that finds are verified and marked; a photo
//! with a conclusive match is answered from the first look alone.

use crate::rivals::index_of;
use crate::util::matches;
use crate::vectors::Rng;
use image::{Rgb, RgbImage};

/// Overlapping rectangles of random colours: corners everywhere, and
/// every picture different.
fn mosaic(seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed);
    let mut img = RgbImage::from_pixel(320, 240, Rgb([128, 128, 128]));
    for _ in 0..60 {
        let (x, y) = (rng.next_u64() % 300, rng.next_u64() % 220);
        let (w, h) = (10 + rng.next_u64() % 60, 10 + rng.next_u64() % 60);
        let c = Rgb([
            rng.next_u64() as u8,
            rng.next_u64() as u8,
            rng.next_u64() as u8,
        ]);
        for yy in y..(y + h).min(240) {
            for xx in x..(x + w).min(320) {
                img.put_pixel(xx as u32, yy as u32, c);
            }
        }
    }
    img
}

fn marked(v: &serde_json::Value) -> usize {
    matches(v)
        .iter()
        .filter(|m| m["evidence"]["second_look"] == true)
        .count()
}

#[test]
fn only_a_photo_without_a_conclusive_match_gets_a_second_look() {
    // More references than the first look's candidates, so that a wider
    // look has some left to find.
    let pictures: Vec<(String, RgbImage)> = (0..300)
        .map(|i| (format!("m{i:03}"), mosaic(i + 1)))
        .collect();
    let records: Vec<(&str, &RgbImage)> = pictures.iter().map(|(id, p)| (id.as_str(), p)).collect();
    let ix = index_of(&records);
    let search = |photo: &RgbImage, name: &str| {
        let path = ix.scratch(name);
        photo.save(&path).unwrap();
        ix.cmd(
            "search",
            &[path.to_str().unwrap(), "--json", "--top", "1000"],
        )
        .ok()
        .json()
    };

    let copy = search(&pictures[7].1, "copy.png");
    assert_eq!(matches(&copy)[0]["id"], "m007", "{copy}");
    assert_eq!(matches(&copy)[0]["verdict"], "match", "{copy}");
    assert_eq!(marked(&copy), 0, "a conclusive match needs no second look");

    let stranger = search(&mosaic(10_000), "stranger.png");
    assert_ne!(matches(&stranger)[0]["verdict"], "match", "{stranger}");
    assert!(marked(&stranger) > 0, "no second look: {stranger}");
}
