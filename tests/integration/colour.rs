//! Colour agreement (`src/search/colour.rs`): a photo of the picture under
//! coloured light is still a `match`; the same design in other colours is
//! not, and says why; a grid kept before colours were is not judged until
//! `rebuild` keeps its colours.

use crate::rivals::{demo_picture, index_of, result};
use image::{Rgb, RgbImage};

/// The picture smaller, on a wall, off-centre, each pixel through `light`.
fn photo_of(picture: &RgbImage, light: impl Fn([u8; 3]) -> [u8; 3]) -> RgbImage {
    let mut photo = crate::pixels::photo_of(picture);
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

/// The grid as a store written before colours were kept holds it: the
/// grey of the colour grid (the engine's own conversion).
fn as_grey_grid(ix: &crate::util::Index) {
    let db = rusqlite::Connection::open(ix.store_file()).unwrap();
    let rows: Vec<(i64, Vec<u8>)> = db
        .prepare("SELECT slot, grid FROM images")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (slot, rgb) in rows {
        let grey = provenance::describe::grid::grey(&rgb).unwrap();
        assert_eq!(grey.len(), 576);
        db.execute(
            "UPDATE images SET grid=?2 WHERE slot=?1",
            rusqlite::params![slot, grey],
        )
        .unwrap();
    }
}

#[test]
fn a_grid_kept_before_colours_is_not_judged_until_rebuild_keeps_them() {
    let picture = demo_picture("demo-001");
    let ix = index_of(&[("original", &picture)]);
    let path = ix.scratch("photo.jpg");
    photo_of(&picture, |c| c).save(&path).unwrap();
    let first = ix.search(&path);
    let before = colour(&first).expect("colours compared");
    let pixels = result(&first, "original")["evidence"]["pixel_agreement"].clone();

    assert_eq!(ix.info()["images_without_colours"], 0);
    as_grey_grid(&ix);
    // The operator is told, and told what to do.
    assert_eq!(ix.info()["images_without_colours"], 1);
    let said = ix.cmd::<&str>("info", &[]).ok().stdout;
    assert!(said.contains("run `provenance rebuild`"), "{said}");
    let grey = ix.search(&path);
    assert_eq!(colour(&grey), None, "{grey}");
    // The structure is judged as before.
    assert_eq!(
        result(&grey, "original")["evidence"]["pixel_agreement"],
        pixels
    );

    let out = ix.cmd::<&str>("rebuild", &[]).ok();
    assert!(
        out.stderr
            .contains("kept the pixel grid (with its colours) of 1 images"),
        "{}",
        out.stderr
    );
    assert_eq!(colour(&ix.search(&path)), Some(before));
    assert_eq!(ix.info()["images_without_colours"], 0);

    // A file that no longer holds the picture imported gives no grid.
    as_grey_grid(&ix);
    demo_picture("demo-005")
        .save(ix.scratch("original.png"))
        .unwrap();
    let out = ix.cmd::<&str>("rebuild", &[]).ok();
    assert!(
        out.stderr
            .contains("1 image files no longer hold the picture imported"),
        "{}",
        out.stderr
    );
    let kept = ix.search(&path);
    assert_eq!(colour(&kept), None, "{kept}");
    assert_eq!(
        result(&kept, "original")["evidence"]["pixel_agreement"],
        pixels
    );
}

#[test]
fn many_colourways_of_one_design_are_none_of_them_a_match() {
    // More colourways than a search compares pixel by pixel: those left
    // uncompared are no `match` either.
    let picture = demo_picture("demo-005");
    let mut ways: Vec<(String, RgbImage)> = Vec::new();
    for k in 0..10u8 {
        let mut v = picture.clone();
        for p in v.pixels_mut() {
            let [r, g, b] = p.0;
            p.0 = if k % 2 == 0 { [b, g, r] } else { [g, b, r] };
        }
        v.put_pixel(k as u32, 0, Rgb([k, k, k])); // ten files, not one
        ways.push((format!("way{k}"), v));
    }
    let records: Vec<(&str, &RgbImage)> = ways.iter().map(|(id, v)| (id.as_str(), v)).collect();
    let ix = index_of(&records);
    let path = ix.scratch("photo.jpg");
    photo_of(&picture, |c| c).save(&path).unwrap();
    let v = ix.search(&path);
    let matches = v["matches"].as_array().unwrap();
    assert!(matches.len() >= 9, "{v}");
    for m in matches {
        assert_ne!(m["verdict"], "match", "{v}");
    }
    assert!(
        matches
            .iter()
            .any(|m| m["evidence"]["not_compared"] == true),
        "{v}"
    );
}
