//! A picture photographed in its frame, so blurred and washed out that
//! its own corners are gone, on a background full of corners: found by
//! its outline (`quad.rs`), warped upright and compared whole.

use crate::util::{Index, fixture, matches, top};
use image::{Rgb, RgbImage};
use provenance::imaging::geometry::Homography;

/// Draws `picture` into a dark frame seen at an angle, on clutter, with
/// the picture blurred and lightened.
fn framed_photo(picture: &RgbImage) -> RgbImage {
    let soft = image::imageops::blur(picture, 5.0);
    let (pw, ph) = (soft.width() as f32, soft.height() as f32);
    let border = 0.08 * pw.max(ph);
    // The frame's outer rectangle, in picture pixels.
    let outer = [
        [-border, -border],
        [pw + border, -border],
        [pw + border, ph + border],
        [-border, ph + border],
    ];
    let placed = [
        [170.0, 90.0],
        [760.0, 140.0],
        [730.0, 640.0],
        [140.0, 600.0],
    ];
    let to_picture = Homography::from_four(&placed, &outer).expect("a frame");
    // Clutter: pixel noise, softened into blotches full of corners but
    // with no long straight edge.
    let noise = RgbImage::from_fn(900, 720, |x, y| {
        let mut h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77);
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        h ^= h >> 12;
        Rgb([(h >> 24) as u8, (h >> 16) as u8, (h >> 8) as u8])
    });
    let clutter = image::imageops::blur(&noise, 3.0);
    RgbImage::from_fn(900, 720, |x, y| {
        let [u, v] = to_picture
            .apply([x as f32 + 0.5, y as f32 + 0.5])
            .unwrap_or([-1e9, -1e9]);
        let in_frame = u >= -border && v >= -border && u < pw + border && v < ph + border;
        if !in_frame {
            return *clutter.get_pixel(x, y);
        }
        if u < 0.0 || v < 0.0 || u >= pw || v >= ph {
            return Rgb([70, 45, 25]); // dark wood
        }
        let p = soft.get_pixel(u as u32, v as u32);
        // Glare: everything lightened towards white.
        Rgb(p.0.map(|c| (c as f32 * 0.6 + 100.0) as u8))
    })
}

#[test]
fn a_framed_washed_out_picture_is_found_by_its_outline() {
    let ix = Index::demo();
    let picture = image::open(fixture("demo/refs/demo-005.jpg"))
        .unwrap()
        .to_rgb8();
    let photo = ix.scratch("framed.jpg");
    framed_photo(&picture).save(&photo).unwrap();
    let v = ix.search(&photo);
    let (id, verdict, _) = top(&v).expect("a candidate");
    assert_eq!(id, "demo-005", "{v}");
    assert_ne!(verdict, "none", "{v}");
    let evidence = &matches(&v)[0]["evidence"];
    let bits = evidence["region_hash_distance"]
        .as_u64()
        .expect("an outlined region");
    assert!(bits <= 24, "region hash distance {bits}: {evidence}");
}

#[test]
fn the_same_frame_around_another_picture_does_not_match() {
    let ix = Index::demo();
    let stripes = RgbImage::from_fn(500, 400, |x, y| {
        if (x / 40 + y / 50) % 2 == 0 {
            Rgb([20, 120, 40])
        } else {
            Rgb([230, 200, 30])
        }
    });
    let photo = ix.scratch("framed-other.jpg");
    framed_photo(&stripes).save(&photo).unwrap();
    let v = ix.search(&photo);
    if let Some((id, verdict, _)) = top(&v) {
        assert_eq!(verdict, "none", "{id}: {v}");
    }
}
