//! Which homographies a camera could produce: a photo of a flat reference
//! is the reference's rectangle seen in front of the camera, convex, not
//! mirrored, neither tiny nor absurdly large, at a sane scale and a
//! moderate perspective. RANSAC (`crate::imaging::ransac`) counts no
//! other, so that chance agreements in clutter are not evidence.

use crate::imaging::geometry::Homography;

/// Smaller in the query than this share (a tenth of its width and
/// height): too few pixels to be evidence, and the typical shape of a
/// fit that squeezes a whole reference onto a few chance corners.
const MIN_AREA_FRACTION: f64 = 0.01;
/// Nor smaller than 16x16 pixels, whatever the query size.
const MIN_AREA_PX: f64 = 256.0;
/// A photo can be a tight crop (a fifth of the object's width), no tighter.
const MAX_AREA_FACTOR: f64 = 25.0;
/// cos 35°: corners sharper than 35° or flatter than 145° come from
/// grazing views (where ORB cannot match anyway) or from fits that bend a
/// different but similar drawing onto the query.
const MAX_ABS_COS: f64 = 0.819_152_044_288_991_8;
/// Reference and query resolutions differ, but not by more than this.
const MAX_SCALE: f64 = 30.0;
/// Stronger perspective across the object is a grazing view, where ORB
/// would not have matched anyway.
const MAX_W_RATIO: f64 = 3.0;

/// Whether a transform could be a photo of a flat reference of `ref_size`
/// within a query of `query_size`: the projected rectangle must be in front
/// of the camera, convex, not mirrored, neither tiny nor absurdly large,
/// without needle-sharp corners, at a sane scale and moderate perspective.
pub fn plausible(h: &Homography, ref_size: (f32, f32), query_size: (f32, f32)) -> bool {
    let (m, rw, rh) = (&h.0, ref_size.0 as f64, ref_size.1 as f64);
    let query_area = query_size.0 as f64 * query_size.1 as f64;
    let corners = [[0.0, 0.0], [rw, 0.0], [rw, rh], [0.0, rh]];
    let w = corners.map(|[x, y]| m[6] * x + m[7] * y + m[8]);
    let (w_min, w_max) = (
        w.iter().copied().fold(f64::MAX, f64::min),
        w.iter().copied().fold(0.0, f64::max),
    );
    let in_front = rw > 0.0 && rh > 0.0 && w_min > 0.0 && w_max <= MAX_W_RATIO * w_min;
    if !in_front {
        return false;
    }
    let q: [[f64; 2]; 4] = std::array::from_fn(|i| {
        let [x, y] = corners[i];
        [
            (m[0] * x + m[1] * y + m[2]) / w[i],
            (m[3] * x + m[4] * y + m[5]) / w[i],
        ]
    });
    let mut area = 0.0;
    for i in 0..4 {
        let (prev, cur, next) = (q[(i + 3) % 4], q[i], q[(i + 1) % 4]);
        let (a, b) = (
            [prev[0] - cur[0], prev[1] - cur[1]],
            [next[0] - cur[0], next[1] - cur[1]],
        );
        // Same turn as the upright rectangle (y down) at every corner:
        // convex, simple and not mirrored.
        let turn = b[0] * a[1] - b[1] * a[0];
        let dot = a[0] * b[0] + a[1] * b[1];
        let lengths = (a[0] * a[0] + a[1] * a[1]) * (b[0] * b[0] + b[1] * b[1]);
        let corner_ok = turn > 0.0 && dot * dot <= MAX_ABS_COS * MAX_ABS_COS * lengths;
        if !corner_ok {
            return false;
        }
        area += (cur[0] * next[1] - next[0] * cur[1]) / 2.0;
    }
    let small = area < MIN_AREA_PX || area < MIN_AREA_FRACTION * query_area;
    // Local area scale at the centre: det(H) / w³ (= det of the affine part
    // when there is no perspective).
    let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
        + m[2] * (m[3] * m[7] - m[4] * m[6]);
    let wc = m[6] * rw / 2.0 + m[7] * rh / 2.0 + m[8];
    let scale = (det / (wc * wc * wc)).sqrt();
    !small && area <= MAX_AREA_FACTOR * query_area && (1.0 / MAX_SCALE..=MAX_SCALE).contains(&scale)
}
