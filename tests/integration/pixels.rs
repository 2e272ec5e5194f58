//! Pixel agreement (`pixels.rs`): a view of the picture itself agrees with
//! the reference over all of it, a variant sharing a part of it agrees
//! less; the store keeps each image's grid, and where it has none and the
//! file is gone, that costs the bonus, not the match.

use crate::rivals::{demo_picture, index_of, result};
use image::{Rgb, RgbImage};

/// The picture smaller, on a wall, off-centre.
pub(crate) fn photo_of(picture: &RgbImage) -> RgbImage {
    let small = image::imageops::resize(
        picture,
        picture.width() * 3 / 5,
        picture.height() * 3 / 5,
        image::imageops::FilterType::Triangle,
    );
    let mut photo = RgbImage::from_pixel(
        small.width() + 200,
        small.height() + 120,
        Rgb([120, 110, 100]),
    );
    image::imageops::overlay(&mut photo, &small, 140, 40);
    photo
}

/// The picture with its right half from another one: a look-alike that
/// shares half of it.
fn half_and_half(picture: &RgbImage, other: &RgbImage) -> RgbImage {
    let other = image::imageops::resize(
        other,
        picture.width(),
        picture.height(),
        image::imageops::FilterType::Triangle,
    );
    let mut v = picture.clone();
    for (x, y, p) in v.enumerate_pixels_mut() {
        if x >= picture.width() / 2 {
            *p = *other.get_pixel(x, y);
        }
    }
    v
}

fn agreement(v: &serde_json::Value, id: &str) -> Option<f64> {
    result(v, id)["evidence"]["pixel_agreement"].as_f64()
}

#[test]
fn a_variant_agrees_less_than_the_picture_itself() {
    let picture = demo_picture("demo-001");
    let original = index_of(&[("original", &picture)]);
    let path = original.scratch("photo.jpg");
    photo_of(&picture).save(&path).unwrap();
    let v = original.search(&path);
    let same = agreement(&v, "original").unwrap_or_else(|| panic!("no agreement: {v}"));
    assert!(same > 0.8, "{v}");

    let variant = half_and_half(&picture, &demo_picture("demo-005"));
    let other = index_of(&[("variant", &variant)]);
    let w = other.search(&path);
    let part = agreement(&w, "variant").unwrap_or_else(|| panic!("no agreement: {w}"));
    assert!(part < same - 0.2, "{part} vs {same}: {w}");
}

#[test]
fn a_reference_file_gone_changes_nothing_and_without_a_grid_costs_only_the_bonus() {
    let picture = demo_picture("demo-005");
    let ix = index_of(&[("original", &picture)]);
    let path = ix.scratch("photo.jpg");
    photo_of(&picture).save(&path).unwrap();
    let before = ix.search(&path);
    let kept = agreement(&before, "original").unwrap_or_else(|| panic!("{before}"));

    // The store keeps each image's grid: its file is not read.
    std::fs::remove_file(ix.scratch("original.png")).unwrap();
    let after = ix.search(&path);
    assert_eq!(agreement(&after, "original"), Some(kept), "{after}");

    // A store from before grids were kept, and the file gone: no
    // comparison, a lower score, the same verdict.
    ix.as_schema_3();
    let without = ix.search(&path);
    assert_eq!(agreement(&without, "original"), None, "{without}");
    assert_eq!(
        result(&without, "original")["verdict"],
        "match",
        "{without}"
    );
    assert!(
        result(&without, "original")["score"].as_f64()
            <= result(&before, "original")["score"].as_f64()
    );
}
