//! `provenance search --explain`: the picture an expert checks a match by.

use crate::util::{Index, query};

#[test]
fn explain_draws_the_matched_region_beside_the_reference() {
    let ix = Index::demo();
    let out = ix.scratch("why.png");
    let photo = query("demo-013_photo_tilt.jpg");
    ix.cmd(
        "search",
        &[photo.as_os_str(), "--explain".as_ref(), out.as_os_str()],
    )
    .ok();
    let img = image::open(&out).expect("a PNG was written").to_rgb8();
    let (pw, ph) = image::image_dimensions(&photo).unwrap();
    // Both halves are scaled to one height; the query comes first.
    assert_eq!(img.height(), 600);
    let query_width = (pw as f64 * 600.0 / ph as f64).round() as u32;
    assert!(img.width() > query_width + 100, "no reference half");
    // The outline (pure green) is drawn over the query half.
    let green = img
        .enumerate_pixels()
        .filter(|(x, _, p)| *x < query_width && p.0 == [0, 230, 64])
        .count();
    assert!(green > 200, "only {green} outline pixels in the query half");
}

#[test]
fn explain_of_an_unverified_candidate_draws_no_region() {
    let ix = Index::new();
    ix.import(&[crate::util::fixture("demo/records.jsonl")])
        .ok();
    let out = ix.scratch("why.png");
    // Plain grey: no local features, so nothing can be verified; the
    // closest candidate is still drawn beside it, without an outline.
    let blank = ix.scratch("blank.png");
    image::RgbImage::from_pixel(300, 200, image::Rgb([128, 128, 128]))
        .save(&blank)
        .unwrap();
    let res = ix
        .cmd(
            "search",
            &[blank.as_os_str(), "--explain".as_ref(), out.as_os_str()],
        )
        .ok();
    assert!(res.stdout.contains("No match"), "{}", res.stdout);
    let img = image::open(&out).expect("a PNG was written").to_rgb8();
    let green = img.pixels().filter(|p| p.0 == [0, 230, 64]).count();
    assert_eq!(green, 0, "an outline was drawn without a verified region");
}
