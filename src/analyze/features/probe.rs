//! The supervised Fourier probe and circle quality.
//!
//! For a layer `X` (`n x d`) and a variable `v` in `0..p`, the probe at frequency `k` is the least
//! squares fit of `X` by `[1, cos(2 pi k v / p), sin(2 pi k v / p)]`; its R^2 is the share of the
//! layer's total variance it explains. The fit only needs per-class counts and sums, so every `k`
//! costs `O(p d)`. The two fitted directions span the feature's plane; projecting the layer there
//! gives the circle whose quality is measured: fraction of the plane's variance the fit explains,
//! radius variation, the angle residual against `phase + 2 pi k v / p`, and how often the value
//! decodes back from the angle: `v = k^-1 * round((theta - phase) p / 2 pi) mod p`.

use std::f64::consts::TAU;

use super::variables::Variable;
use super::DECODE_ANGLE_TOLERANCE;

/// Per-class sufficient statistics of one layer for one variable.
pub struct ClassSums {
    pub p: usize,
    pub d: usize,
    pub counts: Vec<f64>,
    /// `p x d` sums of the rows of each class.
    pub sums: Vec<f64>,
    pub mean: Vec<f64>,
    /// Total sum of squares around the mean.
    pub total_ss: f64,
}

/// Counts, sums and the total sum of squares of `rows` grouped by `var`.
pub fn class_sums(rows: &[f64], d: usize, var: &Variable) -> ClassSums {
    let p = var.p;
    let mut counts = vec![0.0; p];
    let mut sums = vec![0.0; p * d];
    for (row, &v) in rows.chunks_exact(d).zip(&var.values) {
        counts[v] += 1.0;
        for (s, x) in sums[v * d..(v + 1) * d].iter_mut().zip(row) {
            *s += x;
        }
    }
    let n: f64 = counts.iter().sum::<f64>().max(1.0);
    let mean: Vec<f64> = (0..d)
        .map(|j| (0..p).map(|v| sums[v * d + j]).sum::<f64>() / n)
        .collect();
    let total_ss = rows
        .chunks_exact(d)
        .map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(x, m)| (x - m) * (x - m))
                .sum::<f64>()
        })
        .sum();
    ClassSums {
        p,
        d,
        counts,
        sums,
        mean,
        total_ss,
    }
}

/// The least-squares fit at one frequency: R^2 and the coefficient directions.
struct Fit {
    r2: f64,
    /// Coefficients of `cos - mean(cos)` and `sin - mean(sin)`.
    cos: Vec<f64>,
    sin: Vec<f64>,
    /// The weighted means of the regressors.
    phi_mean: [f64; 2],
}

fn phi(v: usize, k: usize, p: usize) -> [f64; 2] {
    let t = TAU * ((k * v) % p) as f64 / p as f64;
    [t.cos(), t.sin()]
}

/// The fit at frequency `k`; `None` when the regressors are degenerate (`2k = p`) or the layer
/// has no variance.
fn fit(cs: &ClassSums, k: usize) -> Option<Fit> {
    let (p, d) = (cs.p, cs.d);
    let n: f64 = cs.counts.iter().sum();
    if n <= 0.0 || cs.total_ss <= 0.0 {
        return None;
    }
    let mut phi_mean = [0.0; 2];
    for v in 0..p {
        let f = phi(v, k, p);
        phi_mean[0] += cs.counts[v] * f[0] / n;
        phi_mean[1] += cs.counts[v] * f[1] / n;
    }
    let (mut g00, mut g01, mut g11) = (0.0, 0.0, 0.0);
    let mut b = [vec![0.0; d], vec![0.0; d]];
    for v in 0..p {
        let f = phi(v, k, p);
        let (c, s) = (f[0] - phi_mean[0], f[1] - phi_mean[1]);
        g00 += cs.counts[v] * c * c;
        g01 += cs.counts[v] * c * s;
        g11 += cs.counts[v] * s * s;
        let sums = &cs.sums[v * d..(v + 1) * d];
        for j in 0..d {
            b[0][j] += c * sums[j];
            b[1][j] += s * sums[j];
        }
    }
    let det = g00 * g11 - g01 * g01;
    if det <= 1e-9 * (g00 + g11).powi(2) {
        return None;
    }
    let (i00, i01, i11) = (g11 / det, -g01 / det, g00 / det);
    let cos: Vec<f64> = (0..d).map(|j| i00 * b[0][j] + i01 * b[1][j]).collect();
    let sin: Vec<f64> = (0..d).map(|j| i01 * b[0][j] + i11 * b[1][j]).collect();
    let explained: f64 = (0..d).map(|j| cos[j] * b[0][j] + sin[j] * b[1][j]).sum();
    Some(Fit {
        r2: (explained / cs.total_ss).clamp(0.0, 1.0),
        cos,
        sin,
        phi_mean,
    })
}

/// R^2 of the probe at every frequency `k = 1..=p/2` (index `k - 1`; 0 where degenerate).
pub fn r2_by_k(cs: &ClassSums) -> Vec<f64> {
    (1..=cs.p / 2)
        .map(|k| fit(cs, k).map_or(0.0, |f| f.r2))
        .collect()
}

/// A circle found by the probe, in the plane of its two fitted directions.
#[derive(Debug, Clone, PartialEq)]
pub struct Circle {
    pub k: usize,
    /// Share of the layer's variance explained (the probe's R^2).
    pub variance_explained: f64,
    /// Share of the variance within the plane that the fit explains.
    pub plane_r2: f64,
    /// Orthonormal basis of the plane (two vectors of the layer's width).
    pub basis: [Vec<f64>; 2],
    /// The circle's centre in the layer's coordinates.
    pub centre: Vec<f64>,
    /// `theta = phase + 2 pi k v / p` in the basis' coordinates around the centre.
    pub phase: f64,
    pub radius: f64,
    /// Standard deviation of the radius over its mean.
    pub radius_cv: f64,
    /// Root mean square of the wrapped angle residual, in radians.
    pub angle_error: f64,
    /// Share of examples whose value decodes back from the angle.
    pub decode_accuracy: f64,
    /// Share of examples whose angle lies within `max(pi / p, DECODE_ANGLE_TOLERANCE)` of their
    /// value's (`phase + 2 pi k v / p`): exact decoding for `p <= 20`, within about one neighbour
    /// for larger `p`. 0 when `k` is not invertible mod `p`, as `decode_accuracy`.
    pub angle_accuracy: f64,
    /// `k^-1 mod p` (`None` when `gcd(k, p) > 1`: the angle then gives `v` only mod `p / gcd`).
    pub k_inverse: Option<usize>,
    /// Each example's point in the plane, around the centre.
    pub points: Vec<[f64; 2]>,
    /// Each class's mean point in the plane, around the centre (`[0, 0]` for an empty class).
    pub class_points: Vec<[f64; 2]>,
}

/// Wraps an angle to `(-pi, pi]`.
fn wrap(a: f64) -> f64 {
    let w = a.rem_euclid(TAU);
    if w > TAU / 2.0 {
        w - TAU
    } else {
        w
    }
}

/// `k^-1 mod p`, if it exists.
pub fn mod_inverse(k: usize, p: usize) -> Option<usize> {
    (1..p).find(|&x| (x * k) % p == 1 % p)
}

/// The circle of `var` at frequency `k` in the layer `rows` (`n x d`).
pub fn fit_circle(rows: &[f64], var: &Variable, cs: &ClassSums, k: usize) -> Option<Circle> {
    let (p, d) = (cs.p, cs.d);
    let f = fit(cs, k)?;
    // Gram-Schmidt: u1 along the cosine direction, u2 the sine direction's remainder.
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let n1 = norm(&f.cos);
    if n1 <= 1e-12 {
        return None;
    }
    let u1: Vec<f64> = f.cos.iter().map(|x| x / n1).collect();
    let along: f64 = u1.iter().zip(&f.sin).map(|(a, b)| a * b).sum();
    let rest: Vec<f64> = f.sin.iter().zip(&u1).map(|(s, u)| s - along * u).collect();
    let n2 = norm(&rest);
    if n2 <= 1e-9 * n1 {
        return None;
    }
    let u2: Vec<f64> = rest.iter().map(|x| x / n2).collect();
    // P maps (cos, sin) - phi_mean to plane coordinates: columns (n1, 0) and (along, n2).
    let centre_plane = [
        -(n1 * f.phi_mean[0] + along * f.phi_mean[1]),
        -(n2 * f.phi_mean[1]),
    ];
    let centre: Vec<f64> = (0..d)
        .map(|j| cs.mean[j] + u1[j] * centre_plane[0] + u2[j] * centre_plane[1])
        .collect();
    let mut points = Vec::with_capacity(var.values.len());
    let (mut resid, mut total) = (0.0, 0.0);
    for (row, &v) in rows.chunks_exact(d).zip(&var.values) {
        let (mut y1, mut y2) = (0.0, 0.0);
        for j in 0..d {
            let x = row[j] - cs.mean[j];
            y1 += u1[j] * x;
            y2 += u2[j] * x;
        }
        let fv = phi(v, k, p);
        let (c, s) = (fv[0] - f.phi_mean[0], fv[1] - f.phi_mean[1]);
        let (f1, f2) = (n1 * c + along * s, n2 * s);
        resid += (y1 - f1).powi(2) + (y2 - f2).powi(2);
        total += y1 * y1 + y2 * y2;
        points.push([y1 - centre_plane[0], y2 - centre_plane[1]]);
    }
    let n = points.len().max(1) as f64;
    let radii: Vec<f64> = points.iter().map(|q| q[0].hypot(q[1])).collect();
    let radius = radii.iter().sum::<f64>() / n;
    let radius_sd = (radii.iter().map(|r| (r - radius).powi(2)).sum::<f64>() / n).sqrt();
    // det P = n1 * n2 > 0: the angle grows with v in this basis.
    let step = |v: usize| TAU * ((k * v) % p) as f64 / p as f64;
    let (mut sc, mut ss) = (0.0, 0.0);
    for (q, &v) in points.iter().zip(&var.values) {
        let a = q[1].atan2(q[0]) - step(v);
        sc += a.cos();
        ss += a.sin();
    }
    let phase = ss.atan2(sc);
    let k_inverse = mod_inverse(k, p);
    let mut sq = 0.0;
    let mut decoded = 0usize;
    let mut near = 0usize;
    let tolerance = (TAU / (2.0 * p as f64)).max(DECODE_ANGLE_TOLERANCE);
    for (q, &v) in points.iter().zip(&var.values) {
        let theta = q[1].atan2(q[0]);
        let residual = wrap(theta - phase - step(v));
        sq += residual.powi(2);
        if k_inverse.is_some() && residual.abs() <= tolerance {
            near += 1;
        }
        let m = ((wrap(theta - phase) * p as f64 / TAU).round() as i64).rem_euclid(p as i64);
        if let Some(inv) = k_inverse {
            if (m as usize * inv) % p == v {
                decoded += 1;
            }
        }
    }
    let mut class_points = vec![[0.0, 0.0]; p];
    for (q, &v) in points.iter().zip(&var.values) {
        class_points[v][0] += q[0] / cs.counts[v];
        class_points[v][1] += q[1] / cs.counts[v];
    }
    Some(Circle {
        k,
        variance_explained: f.r2,
        plane_r2: if total > 0.0 {
            1.0 - resid / total
        } else {
            0.0
        },
        basis: [u1, u2],
        centre,
        phase,
        radius,
        radius_cv: if radius > 0.0 {
            radius_sd / radius
        } else {
            1.0
        },
        angle_error: (sq / n).sqrt(),
        decode_accuracy: decoded as f64 / n,
        angle_accuracy: near as f64 / n,
        k_inverse,
        points,
        class_points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variable(p: usize, n_per: usize) -> Variable {
        Variable {
            name: "x".into(),
            p,
            values: (0..p * n_per).map(|i| i % p).collect(),
        }
    }

    #[test]
    fn probe_finds_the_planted_frequency_and_decodes() {
        // A circle of frequency 3 (p = 11) in a rotated plane of a 4-D layer, plus a constant.
        let var = variable(11, 2);
        let rows: Vec<f64> = var
            .values
            .iter()
            .flat_map(|&v| {
                let [c, s] = phi(v, 3, 11);
                [c + s + 1.0, c - s, 0.5, 0.0]
            })
            .collect();
        let cs = class_sums(&rows, 4, &var);
        let r2 = r2_by_k(&cs);
        assert!((r2[2] - 1.0).abs() < 1e-9, "{r2:?}");
        assert!(r2[0] < 1e-9 && r2[4] < 1e-9);
        let circle = fit_circle(&rows, &var, &cs, 3).expect("circle");
        assert!((circle.plane_r2 - 1.0).abs() < 1e-9);
        assert_eq!((circle.decode_accuracy, circle.angle_accuracy), (1.0, 1.0));
        assert!(circle.angle_error < 1e-9, "{}", circle.angle_error);
        assert!(circle.radius_cv < 1e-9 && (circle.radius - 2f64.sqrt()).abs() < 1e-9);
        assert_eq!(circle.k_inverse, Some(4));
        assert_eq!(mod_inverse(3, 11), Some(4));
        assert_eq!(mod_inverse(2, 4), None);
    }
}
