//! Homographies between image planes: the transform type, its exact and
//! least-squares fits, and the quadrilaterals it maps a rectangle onto.
//! Their robust estimation from noisy matches is [`crate::imaging::ransac`].

use std::f64::consts::SQRT_2;

/// Thinner sample triangles (doubled area, in normalised units where a
/// spread-out sample has ~1) give transforms dominated by rounding.
const MIN_TRIANGLE: f64 = 1e-6;
/// Second-smallest over largest eigenvalue of AᵀA below this: the points
/// admit a family of homographies (collinear, coincident), not one.
const MIN_EIGEN_GAP: f64 = 1e-10;

type Mat3 = [f64; 9];

/// Row-major 3x3, maps reference (x, y, 1) to query coordinates.
///
/// Constructors scale it so that `w > 0` where their points were (those were
/// seen, so in front of the camera) and, when possible, `h33 = 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography(pub [f64; 9]);

impl Homography {
    pub fn identity() -> Self {
        Homography([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    }

    /// None when the point maps to infinity / behind the camera (w <= tiny).
    pub fn apply(&self, p: [f32; 2]) -> Option<[f32; 2]> {
        let (h, x, y) = (&self.0, p[0] as f64, p[1] as f64);
        let w = h[6] * x + h[7] * y + h[8];
        let visible = w > 1e-10 * ((h[6] * x).abs() + (h[7] * y).abs() + h[8].abs());
        let u = ((h[0] * x + h[1] * y + h[2]) / w) as f32;
        let v = ((h[3] * x + h[4] * y + h[5]) / w) as f32;
        (visible && u.is_finite() && v.is_finite()).then_some([u, v])
    }

    /// Exact homography through 4 point pairs; None if three points on either
    /// side are (nearly) collinear. Closed form: each quadruple is the image
    /// of the projective basis, so H = B adj(A), no elimination needed.
    pub fn from_four(src: &[[f32; 2]; 4], dst: &[[f32; 2]; 4]) -> Option<Self> {
        let (ns, nd) = (normaliser(src)?, normaliser(dst)?);
        let (a, b) = (basis(src, ns)?, basis(dst, nd)?);
        finish(
            mul3(&mul3(&denorm(nd), &mul3(&b, &adj3(&a))), &norm(ns)),
            ns,
        )
    }

    /// Least squares over many pairs: Hartley-normalised DLT, the smallest
    /// eigenvector of AᵀA (Jacobi). None if fewer than 4 pairs or the points
    /// do not determine a unique homography.
    pub fn fit(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<Self> {
        if src.len() != dst.len() || src.len() < 4 {
            return None;
        }
        let (ns, nd) = (normaliser(src)?, normaliser(dst)?);
        let mut m = [[0.0f64; 9]; 9];
        for (p, q) in src.iter().zip(dst) {
            let ([x, y], [u, v]) = (apply_norm(ns, p), apply_norm(nd, q));
            for r in [
                [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, -u],
                [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, -v],
            ] {
                for (row, ri) in m.iter_mut().zip(r) {
                    row.iter_mut().zip(r).for_each(|(e, rj)| *e += ri * rj);
                }
            }
        }
        let (vals, vecs) = sym_eigen(m);
        let mut order: [usize; 9] = std::array::from_fn(|i| i);
        order.sort_by(|&i, &j| vals[i].total_cmp(&vals[j]));
        let unique = vals[order[1]] > MIN_EIGEN_GAP * vals[order[8]];
        let hn: Mat3 = std::array::from_fn(|k| vecs[k][order[0]]);
        let h = mul3(&mul3(&denorm(nd), &hn), &norm(ns));
        if unique { finish(h, ns) } else { None }
    }

    /// An affine transform (last row 0 0 1) through 3 pairs.
    pub fn affine_from_three(src: &[[f32; 2]; 3], dst: &[[f32; 2]; 3]) -> Option<Self> {
        Self::fit_affine(src, dst)
    }

    /// Least-squares affine transform; None if the source points are
    /// collinear or the result flattens the plane.
    pub fn fit_affine(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<Self> {
        if src.len() != dst.len() || src.len() < 3 {
            return None;
        }
        let (cs, cd) = (centroid(src), centroid(dst));
        // Sums of x·x, x·y, y·y, x·u, y·u, x·v, y·v about the centroids.
        let mut s = [0.0f64; 7];
        for (p, q) in src.iter().zip(dst) {
            let (x, y) = (p[0] as f64 - cs[0], p[1] as f64 - cs[1]);
            let (u, v) = (q[0] as f64 - cd[0], q[1] as f64 - cd[1]);
            let terms = [x * x, x * y, y * y, x * u, y * u, x * v, y * v];
            s.iter_mut().zip(terms).for_each(|(a, t)| *a += t);
        }
        let [sxx, sxy, syy, sxu, syu, sxv, syv] = s;
        let det = sxx * syy - sxy * sxy;
        let (a, b) = ((syy * sxu - sxy * syu) / det, (sxx * syu - sxy * sxu) / det);
        let (c, d) = ((syy * sxv - sxy * syv) / det, (sxx * syv - sxy * sxv) / det);
        let spread = det > 1e-9 * (sxx + syy) * (sxx + syy);
        let flat = (a * d - b * c).abs() <= 1e-12 * (a * a + b * b + c * c + d * d);
        let (tx, ty) = (cd[0] - a * cs[0] - b * cs[1], cd[1] - c * cs[0] - d * cs[1]);
        (spread && !flat).then_some(Homography([a, b, tx, c, d, ty, 0.0, 0.0, 1.0]))
    }

    /// The reference rectangle (0,0)-(w,h) mapped into the query: 4 corners
    /// in order TL, TR, BR, BL; None if any corner maps to infinity.
    pub fn project_rect(&self, w: f32, h: f32) -> Option<[[f32; 2]; 4]> {
        let [a, b, c, d] = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]].map(|p| self.apply(p));
        Some([a?, b?, c?, d?])
    }
}

/// Four corners in pixels (TL, TR, BR, BL): an outline in a photo.
pub type Quad = [[f32; 2]; 4];

/// The quad scaled by `1 + by` about its centre.
pub fn grow(q: &Quad, by: f32) -> Quad {
    let c = centre(q);
    q.map(|[x, y]| {
        [
            c[0] + (x - c[0]) * (1.0 + by),
            c[1] + (y - c[1]) * (1.0 + by),
        ]
    })
}

/// The corners (least x and y, greatest x and y) of the box around the
/// points; infinite for none.
pub fn bounds<'a>(points: impl IntoIterator<Item = &'a [f32; 2]>) -> [[f32; 2]; 2] {
    points
        .into_iter()
        .fold([[f32::MAX; 2], [f32::MIN; 2]], |[lo, hi], p| {
            [
                [lo[0].min(p[0]), lo[1].min(p[1])],
                [hi[0].max(p[0]), hi[1].max(p[1])],
            ]
        })
}

pub fn centre(q: &Quad) -> [f32; 2] {
    let (x, y) = q.iter().fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
    [x / 4.0, y / 4.0]
}

/// Area of a simple quad (shoelace).
pub fn area(q: &Quad) -> f32 {
    let mut a = 0.0;
    for i in 0..4 {
        let (p, n) = (q[i], q[(i + 1) % 4]);
        a += p[0] * n[1] - n[0] * p[1];
    }
    a.abs() / 2.0
}

/// Whether `p` lies inside the convex quadrilateral `q` (either winding;
/// a point on an edge is inside). A quad that is not convex holds nothing.
pub fn inside_quad(p: &[f32; 2], q: &[[f32; 2]; 4]) -> bool {
    let mut sign = 0f32;
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        let cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
        if cross != 0.0 {
            if sign != 0.0 && cross.signum() != sign {
                return false;
            }
            sign = cross.signum();
        }
    }
    true
}

/// Hartley normalisation (scale, centre): p' = s (p - c), RMS |p'| = √2.
type Norm = (f64, [f64; 2]);

fn centroid(pts: &[[f32; 2]]) -> [f64; 2] {
    let sum = |k: usize| pts.iter().map(|p| p[k] as f64).sum::<f64>();
    [sum(0) / pts.len() as f64, sum(1) / pts.len() as f64]
}

fn normaliser(pts: &[[f32; 2]]) -> Option<Norm> {
    let c = centroid(pts);
    let sq = pts
        .iter()
        .map(|p| (p[0] as f64 - c[0]).powi(2) + (p[1] as f64 - c[1]).powi(2));
    let rms = (sq.sum::<f64>() / pts.len() as f64).sqrt();
    (rms > 1e-9 && rms.is_finite()).then_some((SQRT_2 / rms, c))
}

fn apply_norm((s, c): Norm, p: &[f32; 2]) -> [f64; 2] {
    [s * (p[0] as f64 - c[0]), s * (p[1] as f64 - c[1])]
}

fn norm((s, c): Norm) -> Mat3 {
    [s, 0.0, -s * c[0], 0.0, s, -s * c[1], 0.0, 0.0, 1.0]
}

fn denorm((s, c): Norm) -> Mat3 {
    [1.0 / s, 0.0, c[0], 0.0, 1.0 / s, c[1], 0.0, 0.0, 1.0]
}

fn mul3(a: &Mat3, b: &Mat3) -> Mat3 {
    std::array::from_fn(|k| (0..3).map(|j| a[k / 3 * 3 + j] * b[j * 3 + k % 3]).sum())
}

/// Adjugate: its rows are cross products of the columns.
fn adj3(m: &Mat3) -> Mat3 {
    let col = |j: usize| [m[j], m[3 + j], m[6 + j]];
    let cross = |a: [f64; 3], b: [f64; 3]| {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    };
    let rows = [
        cross(col(1), col(2)),
        cross(col(2), col(0)),
        cross(col(0), col(1)),
    ];
    std::array::from_fn(|k| rows[k / 3][k % 3])
}

/// Columns λᵢ pᵢ: maps e1, e2, e3 and (1,1,1) to the four (normalised)
/// points. Each λ is a triangle area, so this is also the collinearity test.
fn basis(p: &[[f32; 2]; 4], n: Norm) -> Option<Mat3> {
    let q = p.map(|v| apply_norm(n, &v));
    let tri = |a: usize, b: usize, c: usize| {
        (q[b][0] - q[a][0]) * (q[c][1] - q[a][1]) - (q[b][1] - q[a][1]) * (q[c][0] - q[a][0])
    };
    let l = [tri(3, 1, 2), tri(0, 3, 2), tri(0, 1, 3), tri(0, 1, 2)];
    let general = l.iter().all(|v| v.abs() > MIN_TRIANGLE);
    general.then(|| std::array::from_fn(|k| l[k % 3] * [q[k % 3][0], q[k % 3][1], 1.0][k / 3]))
}

/// Fixes the scale: `w > 0` at the fitted points' centroid, then `h33 = 1`.
fn finish(mut h: Mat3, (_, c): Norm) -> Option<Homography> {
    let size = h.iter().map(|v| v * v).sum::<f64>().sqrt();
    let w = h[6] * c[0] + h[7] * c[1] + h[8];
    let sign = w.signum();
    let d = if h[8] * sign > 1e-12 * size {
        h[8]
    } else {
        size * sign
    };
    h.iter_mut().for_each(|v| *v /= d);
    let ok = size.is_finite() && w.abs() > 1e-12 * size * (1.0 + c[0].abs() + c[1].abs());
    ok.then_some(Homography(h))
}

/// Cyclic Jacobi: eigenvalues and eigenvectors (columns) of a symmetric 9x9.
fn sym_eigen(mut a: [[f64; 9]; 9]) -> ([f64; 9], [[f64; 9]; 9]) {
    let mut v: [[f64; 9]; 9] =
        std::array::from_fn(|i| std::array::from_fn(|j| (i == j) as u8 as f64));
    for _ in 0..50 {
        let off: f64 = (0..81)
            .filter(|k| k / 9 != k % 9)
            .map(|k| a[k / 9][k % 9].powi(2))
            .sum();
        if off <= 1e-30 * (0..9).map(|i| a[i][i].powi(2)).sum::<f64>() {
            break;
        }
        for p in 0..9 {
            for q in p + 1..9 {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for row in a.iter_mut().chain(v.iter_mut()) {
                    (row[p], row[q]) = (c * row[p] - s * row[q], s * row[p] + c * row[q]);
                }
                let (ap, aq) = (a[p], a[q]);
                a[p] = std::array::from_fn(|k| c * ap[k] - s * aq[k]);
                a[q] = std::array::from_fn(|k| s * ap[k] + c * aq[k]);
            }
        }
    }
    (std::array::from_fn(|i| a[i][i]), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_and_growth() {
        let q = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        assert_eq!(area(&q), 100.0);
        assert!((area(&grow(&q, 0.1)) - 121.0).abs() < 1e-3);
    }

    #[test]
    fn inside_a_quad_of_either_winding() {
        let square = [[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]];
        let ccw = [square[0], square[3], square[2], square[1]];
        for q in [square, ccw] {
            assert!(inside_quad(&[10.0, 90.0], &q));
            assert!(!inside_quad(&[110.0, 50.0], &q));
        }
    }
}
