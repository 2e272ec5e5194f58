//! Finding the picture in a photo of it: the quadrilateral a frame, a
//! mat or a sheet's edges draw around a flat object.
//!
//! Local features need corners, and a washed-out drawing under glare, a
//! flat-coloured flag or a smooth icon has few, while the clutter around
//! it (a circuit board, a brick wall) has many. Its outline is still
//! there: four long straight edges. They are found with a Hough
//! transform where each edge pixel votes only near its own gradient
//! direction, then every set of four strong lines that closes a
//! plausible convex quadrilateral is scored by how much of its outline
//! the photo's edges really follow. The best few are warped back to a
//! rectangle (`crate::describe::rectify`) and described like a reference photo, so
//! the global indexes can find the object whatever surrounds it.

use crate::describe::orb;
use image::GrayImage;

/// The photo is searched at this longer side: outlines are long, fine
/// detail only adds edges to vote.
pub const SEARCH_SIDE: u32 = 320;
/// Angle bins over half a turn (1.5° each).
const THETA_BINS: usize = 120;
/// Distance bin, in pixels.
const RHO_STEP: f32 = 1.5;
/// An edge pixel votes within this many angle bins of its gradient.
const VOTE_SPREAD: i32 = 2;
/// Strong lines kept from the transform.
const LINES: usize = 18;
/// Two lines closer than this in angle (bins) and distance (pixels) are one.
const SAME_THETA: i32 = 4;
const SAME_RHO: f32 = 8.0;
/// Sides a kept quad may share with a better one.
const MAX_SHARED_SIDES: usize = 2;
/// At most this many of the strong lines may be parallel: a striped
/// cloth or a tiled wall would otherwise fill every slot with lines no
/// frame is made of (a frame's side has its outer, inner and mat edges).
const MAX_PARALLEL: usize = 6;
/// Opposite sides may converge by this much under perspective (radians)…
const MAX_OPPOSITE_TURN: f32 = 0.6;
/// …and adjacent sides meet at no sharper angle than this.
const MIN_CORNER: f32 = 0.7;
/// A quadrilateral covers at least this share of the photo.
const MIN_AREA: f32 = 0.06;
/// Corners may lie this far outside the photo (a crop cuts the frame).
const MARGIN: f32 = 0.15;
/// Share of a side's visible length that must follow an edge.
const MIN_SUPPORT: f32 = 0.55;
/// Gradient strength that counts as an edge (0..=255 × 4 Sobel scale).
const EDGE: f32 = 60.0;

/// Quadrilaterals found, best first, as corners in the pixels of `grey`,
/// clockwise from the one nearest the top-left corner.
pub fn find(grey: &GrayImage, most: usize) -> Vec<[[f32; 2]; 4]> {
    let (w, h) = grey.dimensions();
    if w < 16 || h < 16 {
        return Vec::new();
    }
    let edges = Edges::new(grey);
    let lines = strong_lines(&edges);
    let mut quads: Vec<(f32, [[f32; 2]; 4], [usize; 4])> = Vec::new();
    let n = lines.len();
    for a in 0..n {
        for b in a + 1..n {
            if turn(lines[a].0, lines[b].0) > MAX_OPPOSITE_TURN {
                continue;
            }
            for c in 0..n {
                for d in c + 1..n {
                    if c == a || c == b || d == a || d == b || c < a {
                        continue;
                    }
                    if turn(lines[c].0, lines[d].0) > MAX_OPPOSITE_TURN {
                        continue;
                    }
                    let sides = [lines[a], lines[c], lines[b], lines[d]];
                    if let Some(q) = close(&sides, w as f32, h as f32)
                        && let Some(score) = edges.support(&q)
                    {
                        quads.push((score, q, [a, c, b, d]));
                    }
                }
            }
        }
    }
    quads.sort_by(|x, y| y.0.total_cmp(&x.0));
    // A quad that shares three sides with a better one is a variant of it
    // (one side on a wrong line); one that shares none may be nested in
    // it (the picture inside its frame), and is kept.
    let mut kept: Vec<([[f32; 2]; 4], [usize; 4])> = Vec::new();
    for (_, q, sides) in quads {
        if kept.len() >= most {
            break;
        }
        let distinct = kept.iter().all(|(k, kept_sides)| {
            let shared = sides.iter().filter(|s| kept_sides.contains(s)).count();
            let shift = (0..4)
                .map(|i| (k[i][0] - q[i][0]).hypot(k[i][1] - q[i][1]))
                .fold(0.0, f32::max);
            shared <= MAX_SHARED_SIDES && shift > 0.04 * w.max(h) as f32
        });
        if distinct {
            kept.push((q, sides));
        }
    }
    kept.into_iter().map(|(q, _)| q).collect()
}

/// Difference between two line angles, modulo half a turn.
fn turn(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(std::f32::consts::PI);
    d.min(std::f32::consts::PI - d)
}

/// The quadrilateral four lines close (sides in order around it), if it
/// is a plausible outline: convex, no needle corner, large enough, its
/// corners near the photo.
fn close(sides: &[(f32, f32); 4], w: f32, h: f32) -> Option<[[f32; 2]; 4]> {
    let mut q = [[0f32; 2]; 4];
    for i in 0..4 {
        q[i] = intersect(sides[i], sides[(i + 1) % 4])?;
        let [x, y] = q[i];
        let inside = x >= -MARGIN * w && x <= (1.0 + MARGIN) * w;
        if !inside || y < -MARGIN * h || y > (1.0 + MARGIN) * h {
            return None;
        }
    }
    let mut area = 0.0;
    let mut sign = 0.0f32;
    for i in 0..4 {
        let (p, c, n) = (q[(i + 3) % 4], q[i], q[(i + 1) % 4]);
        let (a, b) = ([p[0] - c[0], p[1] - c[1]], [n[0] - c[0], n[1] - c[1]]);
        let cross = a[0] * b[1] - a[1] * b[0];
        if sign != 0.0 && cross.signum() != sign {
            return None;
        }
        sign = cross.signum();
        let cos = (a[0] * b[0] + a[1] * b[1]) / (a[0].hypot(a[1]) * b[0].hypot(b[1])).max(1e-6);
        if cos.abs() > MIN_CORNER.cos() {
            return None;
        }
        area += c[0] * n[1] - n[0] * c[1];
    }
    if area.abs() / 2.0 < MIN_AREA * w * h {
        return None;
    }
    if area < 0.0 {
        q.reverse();
    }
    // Start from the corner nearest the photo's top-left.
    let first = (0..4)
        .min_by(|&i, &j| (q[i][0] + q[i][1]).total_cmp(&(q[j][0] + q[j][1])))
        .unwrap_or(0);
    q.rotate_left(first);
    Some(q)
}

/// Lines as (theta, rho): x cos θ + y sin θ = ρ.
fn intersect(a: (f32, f32), b: (f32, f32)) -> Option<[f32; 2]> {
    let (ca, sa) = (a.0.cos(), a.0.sin());
    let (cb, sb) = (b.0.cos(), b.0.sin());
    let det = ca * sb - sa * cb;
    if det.abs() < 1e-3 {
        return None;
    }
    Some([(a.1 * sb - b.1 * sa) / det, (ca * b.1 - cb * a.1) / det])
}

/// Sobel gradients of the slightly smoothed photo.
struct Edges {
    w: usize,
    h: usize,
    magnitude: Vec<f32>,
    /// Gradient direction, radians.
    direction: Vec<f32>,
}

impl Edges {
    fn new(grey: &GrayImage) -> Edges {
        let smooth = image::imageops::blur(grey, 1.0);
        let (w, h) = (smooth.width() as usize, smooth.height() as usize);
        let mut magnitude = vec![0f32; w * h];
        let mut direction = vec![0f32; w * h];
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let (gx, gy) = orb::sobel(&smooth, x, y);
                let (gx, gy) = (gx as f32, gy as f32);
                magnitude[y * w + x] = gx.hypot(gy);
                direction[y * w + x] = gy.atan2(gx);
            }
        }
        Edges {
            w,
            h,
            magnitude,
            direction,
        }
    }

    /// Whether the photo has an edge at (x, y) running along `normal`.
    fn follows(&self, x: f32, y: f32, normal: f32) -> bool {
        let (cx, cy) = (x.round() as i64, y.round() as i64);
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (xx, yy) = (cx + dx, cy + dy);
                if xx < 0 || yy < 0 || xx >= self.w as i64 || yy >= self.h as i64 {
                    continue;
                }
                let i = yy as usize * self.w + xx as usize;
                if self.magnitude[i] >= EDGE && turn(self.direction[i], normal) < 0.35 {
                    return true;
                }
            }
        }
        false
    }

    /// How well the photo's edges follow the outline: the length of its
    /// visible sides that does, times the share that does squared, or None if a visible side mostly does not
    /// or under three sides are visible.
    fn support(&self, q: &[[f32; 2]; 4]) -> Option<f32> {
        let (w, h) = (self.w as f32, self.h as f32);
        let (mut total, mut total_seen) = (0.0, 0.0);
        let mut visible_sides = 0;
        for i in 0..4 {
            let (a, b) = (q[i], q[(i + 1) % 4]);
            let length = (b[0] - a[0]).hypot(b[1] - a[1]);
            let normal = (b[1] - a[1]).atan2(b[0] - a[0]) + std::f32::consts::FRAC_PI_2;
            let steps = (length / 2.0).ceil().max(1.0) as usize;
            let (mut seen, mut followed) = (0usize, 0usize);
            for s in 0..=steps {
                let t = s as f32 / steps as f32;
                let (x, y) = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]));
                if x < 1.0 || y < 1.0 || x > w - 2.0 || y > h - 2.0 {
                    continue;
                }
                seen += 1;
                followed += self.follows(x, y, normal) as usize;
            }
            if seen * 2 < steps {
                continue; // mostly outside the photo (cropped)
            }
            visible_sides += 1;
            if (followed as f32) < MIN_SUPPORT * seen as f32 {
                return None;
            }
            total += followed as f32 * 2.0;
            total_seen += seen as f32 * 2.0;
        }
        // Weighted by the share followed, squared: a quad that mixes the
        // lines of two nested outlines (a frame's outer edge, the
        // picture's) runs partly over the frame where no edge is, and
        // must not outrank either outline for being longer.
        let share = total / total_seen.max(1.0);
        (visible_sides >= 3).then_some(total * share * share)
    }
}

/// The strongest straight lines, as (theta, rho), strongest first.
fn strong_lines(edges: &Edges) -> Vec<(f32, f32)> {
    let diag = (edges.w as f32).hypot(edges.h as f32);
    let rho_bins = (2.0 * diag / RHO_STEP) as usize + 1;
    let mut votes = vec![0f32; THETA_BINS * rho_bins];
    let trig: Vec<(f32, f32)> = (0..THETA_BINS)
        .map(|t| (t as f32 * std::f32::consts::PI / THETA_BINS as f32).sin_cos())
        .collect();
    for y in 0..edges.h {
        for x in 0..edges.w {
            let i = y * edges.w + x;
            let m = edges.magnitude[i];
            if m < EDGE {
                continue;
            }
            let theta = edges.direction[i].rem_euclid(std::f32::consts::PI);
            let centre = (theta / std::f32::consts::PI * THETA_BINS as f32).round() as i32;
            for dt in -VOTE_SPREAD..=VOTE_SPREAD {
                let t = (centre + dt).rem_euclid(THETA_BINS as i32) as usize;
                let (sin, cos) = trig[t];
                let rho = x as f32 * cos + y as f32 * sin;
                let r = ((rho + diag) / RHO_STEP) as usize;
                if r < rho_bins {
                    votes[t * rho_bins + r] += 1.0;
                }
            }
        }
    }
    let mut peaks: Vec<(f32, usize, usize)> = Vec::new();
    for t in 0..THETA_BINS {
        for r in 1..rho_bins - 1 {
            let v = votes[t * rho_bins + r];
            if v < 20.0 {
                continue;
            }
            let mut is_max = true;
            'n: for dt in -2i32..=2 {
                let tt = (t as i32 + dt).rem_euclid(THETA_BINS as i32) as usize;
                for dr in -2i32..=2 {
                    let rr = r as i32 + dr;
                    if rr < 0 || rr >= rho_bins as i32 || (dt == 0 && dr == 0) {
                        continue;
                    }
                    let o = votes[tt * rho_bins + rr as usize];
                    if o > v || (o == v && (dt, dr) < (0, 0)) {
                        is_max = false;
                        break 'n;
                    }
                }
            }
            if is_max {
                peaks.push((v, t, r));
            }
        }
    }
    peaks.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut lines: Vec<(f32, f32, usize)> = Vec::new();
    for (_, t, r) in peaks {
        if lines.len() >= LINES {
            break;
        }
        let rho = r as f32 * RHO_STEP - diag + RHO_STEP / 2.0;
        let parallel = |lt: usize| {
            let dt = (t as i32 - lt as i32).abs();
            dt.min(THETA_BINS as i32 - dt) < SAME_THETA
        };
        let duplicate = lines
            .iter()
            .any(|&(_, lr, lt)| parallel(lt) && (rho - lr).abs() < SAME_RHO);
        let crowded = lines.iter().filter(|&&(_, _, lt)| parallel(lt)).count() >= MAX_PARALLEL;
        if !duplicate && !crowded {
            lines.push((t as f32 * std::f32::consts::PI / THETA_BINS as f32, rho, t));
        }
    }
    lines
        .into_iter()
        .map(|(theta, rho, _)| (theta, rho))
        .collect()
}

/// How far apart two outlines are: the mean distance between their
/// corners, over the size (mean diagonal) of `b`, for the pairing of
/// corners that fits best (any turn, either winding), since a picture's
/// outline says nothing about which way up the picture is.
pub fn corner_error(a: &[[f32; 2]; 4], b: &[[f32; 2]; 4]) -> f32 {
    let (_, error) = pairing(a, b);
    error
}

/// `b`'s corners in the order that pairs them best with `a`'s (any turn,
/// either winding): `b` as an outline of the picture `a` outlines.
pub fn aligned(a: &[[f32; 2]; 4], b: &[[f32; 2]; 4]) -> [[f32; 2]; 4] {
    let (order, _) = pairing(a, b);
    order.map(|j| b[j])
}

/// The pairing of corners of [`corner_error`] and its error.
fn pairing(a: &[[f32; 2]; 4], b: &[[f32; 2]; 4]) -> ([usize; 4], f32) {
    let dist = |p: [f32; 2], q: [f32; 2]| (p[0] - q[0]).hypot(p[1] - q[1]);
    let size = (dist(b[0], b[2]) + dist(b[1], b[3])) / 2.0;
    let mut best = ([0, 1, 2, 3], f32::INFINITY);
    for mirrored in [false, true] {
        for turn in 0..4 {
            let order: [usize; 4] = std::array::from_fn(|k| {
                if mirrored {
                    (4 + turn - k) % 4
                } else {
                    (k + turn) % 4
                }
            });
            let total: f32 = (0..4).map(|k| dist(a[k], b[order[k]])).sum();
            if total / 4.0 < best.1 {
                best = (order, total / 4.0);
            }
        }
    }
    (best.0, best.1 / size.max(1e-6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn finds_a_tilted_frame_in_clutter() {
        // A bright quadrilateral on a noisy dark background.
        let corners = [
            [60.0f32, 40.0],
            [250.0, 60.0],
            [240.0, 200.0],
            [50.0, 180.0],
        ];
        let inside = |x: f32, y: f32| {
            (0..4).all(|i| {
                let (a, b) = (corners[i], corners[(i + 1) % 4]);
                (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]) >= 0.0
            })
        };
        let img = GrayImage::from_fn(300, 240, |x, y| {
            let noise = ((x * 7919 + y * 104_729) % 23) as u8;
            if inside(x as f32, y as f32) {
                Luma([200 + noise])
            } else {
                Luma([40 + noise])
            }
        });
        let found = find(&img, 3);
        assert!(!found.is_empty());
        for (c, want) in found[0].iter().zip(corners) {
            assert!(
                (c[0] - want[0]).abs() < 4.0 && (c[1] - want[1]).abs() < 4.0,
                "{:?}",
                found[0]
            );
        }
    }

    #[test]
    fn a_plain_photo_has_no_outline() {
        let img = GrayImage::from_fn(200, 150, |x, y| Luma([((x + y) / 4) as u8]));
        assert!(find(&img, 3).is_empty());
    }

    #[test]
    fn corner_error_ignores_which_corner_comes_first() {
        let q = [[10.0, 10.0], [110.0, 20.0], [100.0, 90.0], [5.0, 80.0]];
        let turned = [q[2], q[3], q[0], q[1]];
        let mirrored = [q[3], q[2], q[1], q[0]];
        assert!(corner_error(&turned, &q) < 1e-6);
        assert!(corner_error(&mirrored, &q) < 1e-6);
        let shifted = q.map(|[x, y]| [x + 12.0, y]);
        let e = corner_error(&shifted, &q);
        assert!((0.05..0.15).contains(&e), "{e}");
    }
}
