//! Every object in the photo (`search/objects.rs`, `describe/rest.rs`): a
//! seized lot photographed as it lies is answered with one result per
//! database object, each with its own region and verdict, through the CLI,
//! the batch, the expert's picture and the HTTP API.

use crate::http::{Form, Server};
use crate::rivals::demo_picture;
use crate::util::{Index, matches};
use image::{Rgb, RgbImage};
use provenance::imaging::geometry::{Homography, grow, inside_quad};
use serde_json::Value;

/// Where each picture of a lot lies in its photo (corners TL, TR, BR, BL).
pub(crate) type Placed = Vec<[[f32; 2]; 4]>;

/// The pictures lying on a cloth in a loose grid of `cols` columns, each
/// turned a little and seen with its own perspective, photographed at
/// 1800 × 1200: a seized lot, or a catalogue page.
pub(crate) fn lot_photo(pictures: &[&RgbImage], cols: usize) -> (RgbImage, Placed) {
    let (w, h) = (1800.0f32, 1200.0f32);
    let rows = pictures.len().div_ceil(cols);
    let (cw, ch) = (w / cols as f32, h / rows as f32);
    let mut placed = Vec::new();
    let mut to_picture = Vec::new();
    for (k, p) in pictures.iter().enumerate() {
        let (pw, ph) = (p.width() as f32, p.height() as f32);
        let s = 0.72 * (cw / pw).min(ch / ph);
        let (cx, cy) = (
            (k % cols) as f32 * cw + cw / 2.0,
            (k / cols) as f32 * ch + ch / 2.0,
        );
        let turn = if k % 2 == 0 { 0.06f32 } else { -0.05 };
        let corner = |u: f32, v: f32, jitter: f32| {
            let (x, y) = ((u - pw / 2.0) * s, (v - ph / 2.0) * s);
            [
                cx + x * turn.cos() - y * turn.sin() + jitter,
                cy + x * turn.sin() + y * turn.cos() - jitter,
            ]
        };
        let j = 0.04 * s * pw.max(ph);
        let quad = [
            corner(0.0, 0.0, j),
            corner(pw, 0.0, -j / 2.0),
            corner(pw, ph, 0.0),
            corner(0.0, ph, j / 2.0),
        ];
        let corners = [[0.0, 0.0], [pw, 0.0], [pw, ph], [0.0, ph]];
        to_picture.push(Homography::from_four(&quad, &corners).expect("a placement"));
        placed.push(quad);
    }
    // A woven cloth: fine texture, no long straight edge.
    let photo = RgbImage::from_fn(w as u32, h as u32, |x, y| {
        for (k, t) in to_picture.iter().enumerate() {
            let [u, v] = t
                .apply([x as f32 + 0.5, y as f32 + 0.5])
                .unwrap_or([-1.0, -1.0]);
            let p = pictures[k];
            if u >= 0.0 && v >= 0.0 && u < p.width() as f32 && v < p.height() as f32 {
                return *p.get_pixel(u as u32, v as u32);
            }
        }
        let weave = ((x % 6) as i32 - 3).abs() + ((y % 6) as i32 - 3).abs();
        Rgb([110 + 6 * weave as u8, 40 + 3 * weave as u8, 35])
    });
    (photo, placed)
}

/// The database paintings of the lot tests, and the lot's photo saved.
fn four_paintings(ix: &Index) -> (std::path::PathBuf, Vec<&'static str>, Placed) {
    let ids = vec!["demo-001", "demo-003", "demo-004", "demo-013"];
    let pictures: Vec<RgbImage> = ids.iter().map(|id| demo_picture(id)).collect();
    let refs: Vec<&RgbImage> = pictures.iter().collect();
    let (photo, placed) = lot_photo(&refs, 2);
    let path = ix.scratch("lot.jpg");
    photo.save(&path).unwrap();
    (path, ids, placed)
}

/// A result's region in the photo, and its centre.
fn region_of(m: &Value) -> (Vec<[f32; 2]>, [f32; 2]) {
    let region: Vec<[f32; 2]> = m["evidence"]["region"]
        .as_array()
        .unwrap_or_else(|| panic!("{} has no region: {m}", m["id"]))
        .iter()
        .map(|p| [p[0].as_f64().unwrap() as f32, p[1].as_f64().unwrap() as f32])
        .collect();
    let centre = region
        .iter()
        .fold([0.0, 0.0], |c, p| [c[0] + p[0] / 4.0, c[1] + p[1] / 4.0]);
    (region, centre)
}

/// Each id is found (`match` or `possible`) as its own object, its region
/// on the picture placed there; returns the objects' numbers.
fn assert_every_object(v: &Value, ids: &[&str], placed: &Placed) -> Vec<u64> {
    let mut numbers = Vec::new();
    for (id, quad) in ids.iter().zip(placed) {
        let m = matches(v)
            .iter()
            .find(|m| m["id"] == *id)
            .unwrap_or_else(|| panic!("{id} not in the results: {v}"));
        let verdict = m["verdict"].as_str().unwrap();
        assert!(
            verdict == "match" || verdict == "possible",
            "{id} is {verdict}: {v}"
        );
        let (region, centre) = region_of(m);
        assert!(
            inside_quad(&centre, quad),
            "{id}'s region {region:?} is not on its picture {quad:?}"
        );
        numbers.push(
            m["object"]
                .as_u64()
                .unwrap_or_else(|| panic!("{id} has no object number: {m}")),
        );
    }
    let mut distinct = numbers.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len(), "objects {numbers:?}: {v}");
    numbers
}

#[test]
fn every_painting_of_a_lot_is_its_own_result_with_its_own_region() {
    let ix = Index::demo();
    let (photo, ids, placed) = four_paintings(&ix);
    let v = ix.search(&photo);
    assert_every_object(&v, &ids, &placed);
    // No other record is called a match.
    for m in matches(&v) {
        if !ids.contains(&m["id"].as_str().unwrap()) {
            assert_ne!(m["verdict"], "match", "{m}");
        }
    }
    // The expert's picture outlines every object and names it.
    let png = ix.scratch("lot-explain.png");
    let out = ix
        .cmd(
            "search",
            &[photo.to_str().unwrap(), "--explain", png.to_str().unwrap()],
        )
        .ok();
    let said = &out.stderr;
    assert!(said.contains("the 4 objects found"), "{said}");
    let picture = image::open(&png).unwrap().to_rgb8();
    let blue = picture.pixels().filter(|p| p.0 == [0, 170, 255]).count();
    assert!(blue > 500, "the other objects' outlines: {blue} pixels");
}

#[test]
fn unrelated_objects_beside_database_ones_are_not_matched() {
    let ix = Index::demo();
    // Two paintings of the database beside two pictures that are not in it.
    let unrelated = |seed: u32| {
        RgbImage::from_fn(500, 400, |x, y| {
            let mut h =
                (x / 9).wrapping_mul(0x9E37_79B1) ^ (y / 9).wrapping_mul(0x85EB_CA77) ^ seed;
            h ^= h >> 15;
            h = h.wrapping_mul(0x2C1B_3C6D);
            Rgb([(h >> 24) as u8, (h >> 16) as u8, (h >> 8) as u8])
        })
    };
    let (a, b) = (demo_picture("demo-004"), demo_picture("demo-013"));
    let (u1, u2) = (unrelated(1), unrelated(2));
    let (photo, placed) = lot_photo(&[&u1, &a, &u2, &b], 2);
    let path = ix.scratch("mixed.jpg");
    photo.save(&path).unwrap();
    let v = ix.search(&path);
    assert_every_object(&v, &["demo-004", "demo-013"], &vec![placed[1], placed[3]]);
    for m in matches(&v) {
        if m["id"] != "demo-004" && m["id"] != "demo-013" {
            assert_ne!(m["verdict"], "match", "{m}");
        }
    }
}

#[test]
fn the_batch_and_the_api_list_every_object() {
    let ix = Index::demo();
    let (photo, ids, placed) = four_paintings(&ix);
    // batch: one line, every object in it.
    let dir = ix.scratch("lot-dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&photo, dir.join("lot.jpg")).unwrap();
    let out = ix.scratch("lot.jsonl");
    ix.cmd(
        "batch",
        &[dir.to_str().unwrap(), "--out", out.to_str().unwrap()],
    )
    .ok();
    let line: Value = serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
    assert_every_object(&line, &ids, &placed);
    // --top is a floor for the objects: each object's best is kept.
    let v = ix
        .cmd("search", &[photo.to_str().unwrap(), "--json", "--top", "1"])
        .ok()
        .json();
    assert_every_object(&v, &ids, &placed);
    // An impossible bound is refused with a reason.
    let refused = ix
        .cmd("search", &[photo.to_str().unwrap(), "--max-objects", "0"])
        .expect_code(2);
    assert!(
        refused.stderr.contains("from 1 to 100"),
        "{}",
        refused.stderr
    );

    // HTTP: the same objects, and a bad max_objects is a 400 that says why.
    let srv = Server::start(&ix, &[]);
    let bytes = std::fs::read(&photo).unwrap();
    let reply = srv.send(
        "POST",
        "/v1/search",
        Some(&srv.keys.officer),
        Form::new().file("photo", "lot.jpg", &bytes),
    );
    assert_every_object(&reply.json(), &ids, &placed);
    let reply = srv.send(
        "POST",
        "/v1/search",
        Some(&srv.keys.officer),
        Form::new()
            .text("max_objects", "0")
            .file("photo", "lot.jpg", &bytes),
    );
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("max_objects"), "{}", reply.text());
}

/// A flat picture with three light bands and a dark disc (its edges stand
/// out from the cloth): too few corners for local features, found by its
/// hashes and embedding.
fn flag() -> RgbImage {
    RgbImage::from_fn(600, 400, |x, y| {
        let (dx, dy) = (x as f32 - 300.0, y as f32 - 200.0);
        if dx * dx + dy * dy < 60.0 * 60.0 {
            Rgb([30, 40, 120])
        } else if x < 200 {
            Rgb([120, 170, 230])
        } else if x < 400 {
            Rgb([235, 235, 225])
        } else {
            Rgb([240, 200, 60])
        }
    })
}

#[test]
fn a_small_flat_picture_among_many_is_looked_up_by_its_outline() {
    // Six pictures on a cloth, each about 6% of the photo or less: the
    // flag is too small for the first look's outlines and has too few
    // corners for its features. A further look outlines it and looks it up
    // whole; before, it was not among the results at all.
    let ix = Index::demo();
    let flag_file = ix.scratch("flag.png");
    flag().save(&flag_file).unwrap();
    let records = ix.scratch("flag.jsonl");
    std::fs::write(
        &records,
        format!(
            "{{\"id\": \"flag-1\", \"title\": \"Flag\", \"images\": [{:?}]}}\n",
            flag_file.display().to_string()
        ),
    )
    .unwrap();
    ix.import(&[&records]).ok();
    let mut pictures: Vec<RgbImage> = ["demo-001", "demo-003", "demo-004"]
        .map(demo_picture)
        .to_vec();
    pictures.push(flag());
    pictures.extend(["demo-013", "demo-007"].map(demo_picture));
    // Laid square on the cloth, three to a row.
    let mut photo = RgbImage::from_fn(1800, 1200, |x, y| {
        let weave = ((x % 6) as i32 - 3).abs() + ((y % 6) as i32 - 3).abs();
        Rgb([110 + 6 * weave as u8, 40 + 3 * weave as u8, 35])
    });
    let mut placed: Placed = Vec::new();
    for (k, p) in pictures.iter().enumerate() {
        let s = 0.72 * (600.0 / p.width() as f32).min(600.0 / p.height() as f32);
        let (w, h) = (
            (p.width() as f32 * s) as u32,
            (p.height() as f32 * s) as u32,
        );
        let small = image::imageops::resize(p, w, h, image::imageops::FilterType::Triangle);
        let (x0, y0) = (
            (k % 3) as u32 * 600 + (600 - w) / 2,
            (k / 3) as u32 * 600 + (600 - h) / 2,
        );
        image::imageops::replace(&mut photo, &small, x0 as i64, y0 as i64);
        let (x0, y0, x1, y1) = (x0 as f32, y0 as f32, (x0 + w) as f32, (y0 + h) as f32);
        placed.push([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]);
    }
    let path = ix.scratch("lot-flag.jpg");
    photo.save(&path).unwrap();
    let v = ix.search(&path);
    // Proposed by its outline and judged by its hashes there (how strongly
    // depends on how tight the outline is: here it stays below `possible`).
    let m = matches(&v)
        .iter()
        .find(|m| m["id"] == "flag-1")
        .unwrap_or_else(|| panic!("the flag is not among the results: {v}"));
    let (region, centre) = region_of(m);
    assert!(inside_quad(&centre, &placed[3]), "{region:?}: {m}");
    let bits = m["evidence"]["region_hash_distance"].as_u64().unwrap();
    assert!(bits <= 32, "region hash distance {bits}: {m}");
}

/// A phone photo (3200 × 2400) of a woven cloth with `picture` lying on it
/// at (`x`, `y`), `side` pixels on its longer side, a little turned; and
/// where it lies.
pub(crate) fn one_small_picture(
    picture: &RgbImage,
    side: f32,
    x: f32,
    y: f32,
) -> (RgbImage, [[f32; 2]; 4]) {
    let (pw, ph) = (picture.width() as f32, picture.height() as f32);
    let s = side / pw.max(ph);
    let turn = 0.05f32;
    let corner = |u: f32, v: f32| {
        let (a, b) = (u * s, v * s);
        [
            x + a * turn.cos() - b * turn.sin(),
            y + a * turn.sin() + b * turn.cos(),
        ]
    };
    let quad = [
        corner(0.0, 0.0),
        corner(pw, 0.0),
        corner(pw, ph),
        corner(0.0, ph),
    ];
    let corners = [[0.0, 0.0], [pw, 0.0], [pw, ph], [0.0, ph]];
    let to_picture = Homography::from_four(&quad, &corners).expect("a placement");
    let photo = RgbImage::from_fn(3200, 2400, |px, py| {
        let [u, v] = to_picture
            .apply([px as f32 + 0.5, py as f32 + 0.5])
            .unwrap_or([-1.0, -1.0]);
        if u >= 0.0 && v >= 0.0 && u < pw && v < ph {
            return *picture.get_pixel(u as u32, v as u32);
        }
        let weave = ((px % 6) as i32 - 3).abs() + ((py % 6) as i32 - 3).abs();
        Rgb([110 + 6 * weave as u8, 40 + 3 * weave as u8, 35])
    });
    (photo, quad)
}

#[test]
fn a_painting_a_thirteenth_of_the_photo_wide_is_found_by_the_closer_look() {
    // 240 px of a 3200-px photo: 54 px in the first look's copy, 135 px in
    // a tile of three by three (nothing was found there), 216 px in a tile
    // of five by five.
    let ix = Index::demo();
    found_closer(&ix, "farther.jpg", 240.0, 1300.0, 1500.0);
}

/// Searches a photo of demo-004 `side` px wide at (`x`, `y`) in a 3200-px
/// photo, saved as `name`, and checks that the closer look found it as a
/// `match` where it lies; returns the photo's path and the match.
fn found_closer(ix: &Index, name: &str, side: f32, x: f32, y: f32) -> (std::path::PathBuf, Value) {
    let (photo, quad) = one_small_picture(&demo_picture("demo-004"), side, x, y);
    let path = ix.scratch(name);
    photo.save(&path).unwrap();
    let v = ix.search(&path);
    let m = matches(&v)[0].clone();
    assert_eq!(m["id"], "demo-004", "{v}");
    assert_eq!(m["verdict"], "match", "{m}");
    assert_eq!(m["evidence"]["second_look"], true, "{m}");
    assert_eq!(m["evidence"]["closer_look"], true, "{m}");
    let (region, centre) = region_of(&m);
    assert!(inside_quad(&centre, &quad), "{region:?} not on {quad:?}");
    (path, m)
}

#[test]
fn a_small_painting_in_a_large_photo_is_found_by_a_closer_look() {
    // 360 px of a 3200-px photo: 81 px in the first look's 720-px copy,
    // too small for its features; the closer look's tiles see it at 200 px.
    // Before the closer look, nothing was found.
    let ix = Index::demo();
    let (path, _) = found_closer(&ix, "far.jpg", 360.0, 2200.0, 600.0);

    // The expert's picture shows it large enough to check by eye: the photo
    // drawn 600 px high whole would show it 90 px high; zoomed on it, with
    // the whole photo inset, several times that.
    let png = ix.scratch("far-explain.png");
    ix.cmd(
        "search",
        &[path.as_os_str(), "--explain".as_ref(), png.as_os_str()],
    )
    .ok();
    let picture = image::open(&png).unwrap().to_rgb8();
    // The reference half starts at its outline's left edge, green all down.
    let green = |x: u32, y: u32| picture.get_pixel(x, y).0 == [0, 230, 64];
    let query_half = (0..picture.width())
        .find(|&x| (0..picture.height()).filter(|&y| green(x, y)).count() > 500)
        .unwrap();
    let rows: Vec<u32> = picture
        .enumerate_pixels()
        .filter(|&(x, y, _)| x < query_half && y > 160 && green(x, y))
        .map(|(_, y, _)| y)
        .collect();
    let high = rows.iter().max().unwrap() - rows.iter().min().unwrap();
    assert!(high > 250, "the painting is drawn {high} px high");

    // Half of that painting, lying there: a detail small in a large photo
    // is as likely one shared with another picture. Found, but `partial`:
    // the closer look asks for two thirds of the reference.
    let whole = demo_picture("demo-004");
    let (w, h) = whole.dimensions();
    let half = image::imageops::crop_imm(&whole, 0, h / 2, w, h - h / 2).to_image();
    let (photo, quad) = one_small_picture(&half, 360.0, 2200.0, 600.0);
    let path = ix.scratch("far-half.jpg");
    photo.save(&path).unwrap();
    let v = ix.search(&path);
    let m = matches(&v)
        .iter()
        .find(|m| m["id"] == "demo-004")
        .unwrap_or_else(|| panic!("the half is not found: {v}"));
    assert_eq!(m["verdict"], "partial", "{m}");
    assert_eq!(m["evidence"]["closer_look"], true, "{m}");
    let (region, centre) = region_of(m);
    assert!(
        inside_quad(&centre, &grow(&quad, 1.0)),
        "{region:?} not by {quad:?}"
    );
    assert!(matches(&v).iter().all(|m| m["verdict"] != "match"), "{v}");

    // The same photo of a picture not in the database: nothing is a match.
    let unrelated = RgbImage::from_fn(500, 400, |x, y| {
        let mut h = (x / 9).wrapping_mul(0x9E37_79B1) ^ (y / 9).wrapping_mul(0x85EB_CA77);
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        Rgb([(h >> 24) as u8, (h >> 16) as u8, (h >> 8) as u8])
    });
    let (photo, _) = one_small_picture(&unrelated, 360.0, 2200.0, 600.0);
    let path = ix.scratch("far-unrelated.jpg");
    photo.save(&path).unwrap();
    let v = ix.search(&path);
    assert!(matches(&v).iter().all(|m| m["verdict"] != "match"), "{v}");
}
