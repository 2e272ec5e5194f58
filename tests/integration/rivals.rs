//! Rival references (`rivals.rs`): a variant of the photographed picture
//! is discounted against it; a second picture elsewhere in the photo is not.

use crate::util::{Index, fixture, matches, top};
use image::{Rgb, RgbImage};
use serde_json::Value;

pub(crate) fn demo_picture(name: &str) -> RgbImage {
    image::open(fixture(&format!("demo/refs/{name}.jpg")))
        .unwrap()
        .to_rgb8()
}

/// The picture with its right third painted over: another state of it.
pub(crate) fn variant_of(picture: &RgbImage) -> RgbImage {
    let mut v = picture.clone();
    let from = v.width() * 2 / 3;
    for (x, _, p) in v.enumerate_pixels_mut() {
        if x >= from {
            *p = Rgb([200, 190, 170]);
        }
    }
    v
}

/// An index of the given (id, picture) records.
pub(crate) fn index_of(records: &[(&str, &RgbImage)]) -> Index {
    index_of_type(records, "painting")
}

/// [`index_of`] with records of `object_type`.
pub(crate) fn index_of_type(records: &[(&str, &RgbImage)], object_type: &str) -> Index {
    let ix = Index::new();
    let mut lines = String::new();
    for (id, picture) in records {
        let file = ix.scratch(&format!("{id}.png"));
        picture.save(&file).unwrap();
        lines.push_str(&format!(
            "{{\"id\": \"{id}\", \"title\": \"{id}\", \"object_type\": \"{object_type}\", \"images\": [\"{}\"]}}\n",
            file.display()
        ));
    }
    let list = ix.scratch("records.jsonl");
    std::fs::write(&list, lines).unwrap();
    ix.import(&[list]).ok();
    ix
}

pub(crate) fn result<'a>(v: &'a Value, id: &str) -> &'a Value {
    matches(v)
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} not among the results: {v}"))
}

#[test]
fn a_variant_scores_lower_beside_the_picture_photographed() {
    let picture = demo_picture("demo-001");
    let variant = variant_of(&picture);
    // The photo: the picture itself, slightly cropped and smaller.
    let (w, h) = picture.dimensions();
    let photo =
        image::imageops::crop_imm(&picture, w / 20, h / 20, w * 9 / 10, h * 9 / 10).to_image();
    let photo = image::imageops::resize(
        &photo,
        photo.width() * 4 / 5,
        photo.height() * 4 / 5,
        image::imageops::FilterType::Triangle,
    );

    let alone = index_of(&[("variant", &variant)]);
    let path = alone.scratch("photo.jpg");
    photo.save(&path).unwrap();
    let v = alone.search(&path);
    let score_alone = result(&v, "variant")["score"].as_f64().unwrap();

    let both = index_of(&[("original", &picture), ("variant", &variant)]);
    let v = both.search(&path);
    let (id, verdict, best) = top(&v).expect("a candidate");
    assert_eq!(
        (id.as_str(), verdict.as_str()),
        ("original", "match"),
        "{v}"
    );
    let r = result(&v, "variant");
    let score = r["score"].as_f64().unwrap();
    let e = &r["evidence"];
    assert!(
        e["local_discount"].as_f64().unwrap_or(0.0) > 0.0
            || e["global_discount"].as_f64().unwrap_or(0.0) > 0.0,
        "{e}"
    );
    assert!(
        score < score_alone && score < best,
        "{score} vs {score_alone} alone: {v}"
    );
}

#[test]
fn two_pictures_side_by_side_both_match() {
    let ix = Index::demo();
    let left = demo_picture("demo-001");
    let right = demo_picture("demo-005");
    let side = 480;
    let fit = |p: &RgbImage| {
        let s = side as f32 / p.width().max(p.height()) as f32;
        image::imageops::resize(
            p,
            (p.width() as f32 * s) as u32,
            (p.height() as f32 * s) as u32,
            image::imageops::FilterType::Triangle,
        )
    };
    let (l, r) = (fit(&left), fit(&right));
    let mut photo = RgbImage::from_pixel(2 * side + 60, side + 40, Rgb([235, 235, 230]));
    image::imageops::overlay(&mut photo, &l, 20, 20);
    image::imageops::overlay(&mut photo, &r, side as i64 + 40, 20);
    let path = ix.scratch("two.jpg");
    photo.save(&path).unwrap();
    let v = ix.search(&path);
    for id in ["demo-001", "demo-005"] {
        let m = result(&v, id);
        assert_eq!(m["verdict"], "match", "{id}: {v}");
        assert!(m["evidence"].get("local_discount").is_none(), "{id}: {v}");
    }
}
