//! Colour agreement (`src/search/colour.rs`): a photo of the picture under
//! coloured light is still a `match`; the same design in other colours is
//! not, and says why; a grid kept before colours were is not judged until
//! `rebuild` keeps its colours.

use crate::rivals::{demo_picture, index_of, result};
use image::{Rgb, RgbImage};

/// The picture smaller, on a wall, off-centre, each pixel through `light`.
fn photo_of(picture: &RgbImage, light: impl Fn([u8; 3]) -> [u8; 3]) -> RgbImage {
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
    for p in photo.pixels_mut() {
        p.0 = light(p.0);
    }
    photo
}

fn colour(v: &serde_json::Value) -> Option<f64> {
    result(v, "original")["evidence"]["colour_agreement"].as_f64()
}

#[test]
fn coloured_light_keeps_a_match_and_other_colours_do_not() {
    let ix = index_of(&[("original", &demo_picture("demo-005"))]);
    let picture = demo_picture("demo-005");
    let search = |name: &str, light: &dyn Fn([u8; 3]) -> [u8; 3]| {
        let path = ix.scratch(name);
        photo_of(&picture, light).save(&path).unwrap();
        (ix.search(&path), path)
    };

    let (plain, _) = search("plain.jpg", &|c| c);
    let (warm, _) = search("warm.jpg", &|[r, g, b]| {
        [r, (g as f32 * 0.8) as u8, (b as f32 * 0.55) as u8]
    });
    for v in [&plain, &warm] {
        assert_eq!(result(v, "original")["verdict"], "match", "{v}");
        let a = colour(v).unwrap_or_else(|| panic!("no colour agreement: {v}"));
        assert!(a > 0.6, "{v}");
    }

    // Channels swapped: every structure the same, the colours not.
    let (swapped, path) = search("swapped.jpg", &|[r, g, b]| [b, g, r]);
    let m = result(&swapped, "original");
    assert!(colour(&swapped).is_some_and(|a| a < 0.3), "{swapped}");
    assert_eq!(m["verdict"], "possible", "{swapped}");
    assert!(m["score"].as_f64().unwrap() < 0.8, "{swapped}");
    // The officer reads why.
    let text = ix.cmd("search", &[path.as_os_str()]).ok().stdout;
    assert!(text.contains("coloured otherwise"), "{text}");
    // A grey photo of it says nothing of colours: still the design's match.
    let (grey, _) = search("grey.jpg", &|[r, g, b]| {
        let y = (0.2126 * r as f32 + 0.7152 * g as f32 + 0.0722 * b as f32) as u8;
        [y, y, y]
    });
    assert_eq!(colour(&grey), None, "{grey}");
    assert_eq!(result(&grey, "original")["verdict"], "match", "{grey}");
}

#[test]
fn a_grid_kept_before_colours_is_not_judged_until_rebuild_keeps_them() {
    let picture = demo_picture("demo-001");
    let ix = index_of(&[("original", &picture)]);
    let path = ix.scratch("photo.jpg");
    photo_of(&picture, |c| c).save(&path).unwrap();
    let before = colour(&ix.search(&path)).expect("colours compared");

    // As a store written before colours were kept: a grey grid, 576 bytes.
    rusqlite::Connection::open(ix.store_file())
        .unwrap()
        .execute_batch("UPDATE images SET grid = substr(grid, 1, 576)")
        .unwrap();
    assert_eq!(colour(&ix.search(&path)), None);

    let out = ix.cmd::<&str>("rebuild", &[]).ok();
    assert!(
        out.stderr.contains("kept the pixel grid of 1 image"),
        "{}",
        out.stderr
    );
    assert_eq!(colour(&ix.search(&path)), Some(before));
}
