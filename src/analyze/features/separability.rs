//! Irreducibility of a 2-D feature (Engels et al. 2024): the separability index S and the
//! epsilon-mixture index M.
//!
//! Points are first whitened (zero mean, identity covariance), so that rotations are the only
//! freedom left. S is the minimum over rotations of the histogram mutual information between the
//! two coordinates (40 x 40 bins on [-3, 3]^2, 180 angles in [0, pi/2): a quarter turn only swaps
//! and negates the coordinates, which leaves MI unchanged). Histogram MI is biased upward for few
//! points, and for a discrete cloud (an embedding of p values, a layer that reads one input) it is
//! high for any arrangement of the distinct points, so the baseline is measured on clouds with
//! independent coordinates, the same marginals and the same distinct points: each coordinate's
//! values are shuffled across the distinct points (seeded; [`BASELINE_SHUFFLES`] times), and each
//! example keeps its point's multiplicity. Decisions use the excess `S - baseline` against a margin
//! of [`BASELINE_SDS`] standard deviations of the shuffled distribution. M is the largest share of points within
//! `eps * sqrt(E[(v.f + c)^2])` of a line `v.f + c = 0` (eps = 0.1), maximised exactly over the
//! offset `c` (every point is tried as the line's position) for 180 directions `v`.

use serde::Serialize;

use crate::rng::SplitMix64;

/// The epsilon of the mixture index.
pub const MIXTURE_EPS: f64 = 0.1;
/// Histogram bins per axis.
const BINS: usize = 40;
/// Histogram half-width, in standard deviations.
const EXTENT: f64 = 3.0;
/// Rotations tried for S, and directions tried for M.
const ANGLES: usize = 180;
/// Most points used for S and M (a seeded subsample above this).
pub const MAX_POINTS: usize = 4096;

/// Smallest excess separability `S - baseline` (bits) of an irreducible feature. Calibrated
/// (tests/analyze_features.rs, 4096 points): a correlated Gaussian gives below 0.1, a 7 x 7 grid
/// below 0.35 (the baseline of a grid's shuffled rows is itself a grid), a uniform circle about 2.2,
/// a discrete circle of 256 points about 1.3, of 128 about 0.6, while a 59-point discrete circle, a
/// random embedding of 59 points and the PC pairs of the trained `models/mod_add` embeddings give
/// within 0.2 of their shuffled baseline (about 2.5 bits: 59 points fill 59 histogram cells in any
/// arrangement).
pub const MIN_SEPARABILITY_EXCESS: f64 = 0.5;
/// Shuffles of the baseline: its mean and standard deviation are estimated from these.
pub const BASELINE_SHUFFLES: usize = 8;
/// The excess must also reach this many standard deviations of the shuffled baseline (about 0.07
/// bits for 59 distinct points, 0.02 for a continuous cloud).
pub const BASELINE_SDS: f64 = 3.0;
/// Fewest distinct points of an irreducible feature: on a few discrete points the histogram MI
/// is high for any arrangement and M is at least `2 / points`, so neither index can tell a
/// circle from a random point set there (the supervised probe can).
pub const MIN_DISTINCT_POINTS: usize = 24;
/// Largest mixture index of an irreducible feature. Calibrated: Gaussian and circle give below
/// 0.2, a half-line/half-blob mixture above 0.45.
pub const MAX_MIXTURE: f64 = 0.35;

/// S, its shuffled baseline, and M of one set of 2-D points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Irreducibility {
    /// Minimum over rotations of the histogram MI of the whitened coordinates, in bits.
    pub separability: f64,
    /// The mean of the same over [`BASELINE_SHUFFLES`] clouds with each coordinate shuffled across
    /// the distinct points: the estimator's bias at this sample size and number of distinct points.
    pub separability_baseline: f64,
    /// The standard deviation of the shuffled clouds' S.
    pub separability_baseline_sd: f64,
    /// The epsilon-mixture index (eps = 0.1).
    pub mixture: f64,
    /// Distinct points (after whitening, to 1e-6).
    pub distinct: usize,
}

impl Irreducibility {
    /// True when the feature is irreducible: high excess separability (at least
    /// [`MIN_SEPARABILITY_EXCESS`] and [`BASELINE_SDS`] standard deviations of the baseline) and
    /// low mixture.
    pub fn is_irreducible(&self) -> bool {
        self.separability - self.separability_baseline
            >= MIN_SEPARABILITY_EXCESS.max(BASELINE_SDS * self.separability_baseline_sd)
            && self.mixture <= MAX_MIXTURE
            && self.distinct >= MIN_DISTINCT_POINTS
    }

    /// The paper's ranking score `(1 - M) * S`.
    pub fn score(&self) -> f64 {
        (1.0 - self.mixture) * (self.separability - self.separability_baseline).max(0.0)
    }
}

/// S, baseline and M of `points` (x, y pairs); degenerate input (fewer than 8 points, or no
/// spread in some direction) gives S = 0 and M = 1: it is not a 2-D feature.
pub fn measure(points: &[[f64; 2]], seed: u64) -> Irreducibility {
    let points = subsample(points, seed);
    let Some(white) = whiten(&points) else {
        return Irreducibility {
            separability: 0.0,
            separability_baseline: 0.0,
            separability_baseline_sd: 0.0,
            mixture: 1.0,
            distinct: 0,
        };
    };
    let separability = min_mutual_information(&white, ANGLES);
    // Each example's distinct point (to 1e-6 after whitening), in first-seen order.
    let mut index_of = std::collections::BTreeMap::new();
    let mut distinct_points: Vec<[f64; 2]> = Vec::new();
    let example_point: Vec<usize> = white
        .iter()
        .map(|p| {
            let key = ((p[0] * 1e6).round() as i64, (p[1] * 1e6).round() as i64);
            *index_of.entry(key).or_insert_with(|| {
                distinct_points.push(*p);
                distinct_points.len() - 1
            })
        })
        .collect();
    let mut rng = SplitMix64::new(seed ^ 0x5EED_5A1F);
    let mut xs: Vec<f64> = distinct_points.iter().map(|p| p[0]).collect();
    let mut ys: Vec<f64> = distinct_points.iter().map(|p| p[1]).collect();
    let shuffled_s: Vec<f64> = (0..BASELINE_SHUFFLES)
        .map(|_| {
            shuffle(&mut xs, &mut rng);
            shuffle(&mut ys, &mut rng);
            let cloud: Vec<[f64; 2]> = example_point.iter().map(|&i| [xs[i], ys[i]]).collect();
            // The shuffled cloud is uncorrelated only in expectation: whiten it as S's points are.
            let cloud = whiten(&cloud).unwrap_or(cloud);
            min_mutual_information(&cloud, ANGLES / 10)
        })
        .collect();
    let count = shuffled_s.len().max(1) as f64;
    let separability_baseline = shuffled_s.iter().sum::<f64>() / count;
    let separability_baseline_sd = (shuffled_s
        .iter()
        .map(|s| (s - separability_baseline).powi(2))
        .sum::<f64>()
        / count)
        .sqrt();
    Irreducibility {
        separability,
        separability_baseline,
        separability_baseline_sd,
        mixture: mixture_index(&white, MIXTURE_EPS),
        distinct: distinct_points.len(),
    }
}

/// At most [`MAX_POINTS`] points: all of them, or a seeded sample without replacement.
fn subsample(points: &[[f64; 2]], seed: u64) -> Vec<[f64; 2]> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let mut index: Vec<usize> = (0..points.len()).collect();
    shuffle(&mut index, &mut SplitMix64::new(seed));
    index.truncate(MAX_POINTS);
    index.sort_unstable();
    index.iter().map(|&i| points[i]).collect()
}

/// Fisher-Yates with the crate's generator.
fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = rng.int_in(0, i as i64) as usize;
        items.swap(i, j);
    }
}

/// Zero mean and identity covariance; `None` when the covariance is (nearly) singular.
pub fn whiten(points: &[[f64; 2]]) -> Option<Vec<[f64; 2]>> {
    if points.len() < 8 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p[0]).sum::<f64>() / n;
    let my = points.iter().map(|p| p[1]).sum::<f64>() / n;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for p in points {
        let (dx, dy) = (p[0] - mx, p[1] - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    let (sxx, sxy, syy) = (sxx / n, sxy / n, syy / n);
    // Eigen-decomposition of the 2 x 2 covariance; whitening is C^{-1/2}.
    let trace = sxx + syy;
    let det = sxx * syy - sxy * sxy;
    let disc = (trace * trace / 4.0 - det).max(0.0).sqrt();
    let (l1, l2) = (trace / 2.0 + disc, trace / 2.0 - disc);
    // NaN compares false, so `is_nan` keeps a NaN covariance out too.
    if l2.is_nan() || l2 <= 1e-12 * l1.max(f64::MIN_POSITIVE) || !l1.is_finite() {
        return None;
    }
    let (v1x, v1y) = if sxy.abs() > 1e-300 {
        let (x, y) = (l1 - syy, sxy);
        let norm = (x * x + y * y).sqrt();
        (x / norm, y / norm)
    } else if sxx >= syy {
        (1.0, 0.0)
    } else {
        (0.0, 1.0)
    };
    let (v2x, v2y) = (-v1y, v1x);
    let (s1, s2) = (l1.sqrt(), l2.sqrt());
    Some(
        points
            .iter()
            .map(|p| {
                let (dx, dy) = (p[0] - mx, p[1] - my);
                [(dx * v1x + dy * v1y) / s1, (dx * v2x + dy * v2y) / s2]
            })
            .collect(),
    )
}

/// Minimum over `angles` rotations in [0, pi/2) of the histogram MI (bits).
fn min_mutual_information(points: &[[f64; 2]], angles: usize) -> f64 {
    let angles = angles.max(1);
    (0..angles)
        .map(|i| {
            let t = i as f64 * std::f64::consts::FRAC_PI_2 / angles as f64;
            let (c, s) = (t.cos(), t.sin());
            mutual_information(
                points
                    .iter()
                    .map(|p| [c * p[0] - s * p[1], s * p[0] + c * p[1]]),
            )
        })
        .fold(f64::INFINITY, f64::min)
}

/// Histogram MI (bits) of 2-D points on [-EXTENT, EXTENT]^2 (points outside are clamped into the
/// edge bins).
fn mutual_information(points: impl Iterator<Item = [f64; 2]>) -> f64 {
    let mut joint = [0u32; BINS * BINS];
    let mut n = 0u32;
    let bin = |v: f64| {
        let scaled = ((v + EXTENT) / (2.0 * EXTENT) * BINS as f64).floor();
        scaled.clamp(0.0, (BINS - 1) as f64) as usize
    };
    for p in points {
        joint[bin(p[0]) * BINS + bin(p[1])] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let mut px = [0u32; BINS];
    let mut py = [0u32; BINS];
    for i in 0..BINS {
        for j in 0..BINS {
            px[i] += joint[i * BINS + j];
            py[j] += joint[i * BINS + j];
        }
    }
    let n = n as f64;
    let mut mi = 0.0;
    for i in 0..BINS {
        for j in 0..BINS {
            let c = joint[i * BINS + j];
            if c > 0 {
                let pxy = c as f64 / n;
                mi += pxy * (pxy * n * n / (px[i] as f64 * py[j] as f64)).log2();
            }
        }
    }
    mi.max(0.0)
}

/// The epsilon-mixture index of whitened points.
fn mixture_index(points: &[[f64; 2]], eps: f64) -> f64 {
    let n = points.len();
    if n == 0 {
        return 1.0;
    }
    let mut best = 0usize;
    let mut z = vec![0.0; n];
    for i in 0..ANGLES {
        let t = i as f64 * std::f64::consts::PI / ANGLES as f64;
        let (c, s) = (t.cos(), t.sin());
        for (zi, p) in z.iter_mut().zip(points) {
            *zi = c * p[0] + s * p[1];
        }
        z.sort_by(f64::total_cmp);
        let mean = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        for &centre in &z {
            // E[(z - centre)^2] = var + (mean - centre)^2.
            let width = eps * (var + (mean - centre) * (mean - centre)).sqrt();
            let lo = z.partition_point(|&v| v <= centre - width);
            let hi = z.partition_point(|&v| v < centre + width);
            best = best.max(hi - lo);
        }
    }
    best as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitening_gives_identity_covariance() {
        let pts: Vec<[f64; 2]> = (0..100)
            .map(|i| {
                let a = (i as f64 * 0.37).sin();
                let b = (i as f64 * 1.3).cos();
                [3.0 * a + b, a - 0.5 * b + 7.0]
            })
            .collect();
        let w = whiten(&pts).expect("whiten");
        let n = w.len() as f64;
        let sxx = w.iter().map(|p| p[0] * p[0]).sum::<f64>() / n;
        let sxy = w.iter().map(|p| p[0] * p[1]).sum::<f64>() / n;
        assert!((sxx - 1.0).abs() < 1e-9 && sxy.abs() < 1e-9);
        assert!(whiten(&vec![[1.0, 2.0]; 20]).is_none());
    }

    #[test]
    fn points_on_a_line_are_a_mixture() {
        // Half the points on a line, half spread over a plane.
        let mut rng = SplitMix64::new(3);
        let pts: Vec<[f64; 2]> = (0..400)
            .map(|i| {
                let u = rng.real_in(-1.0, 1.0);
                let v = rng.real_in(-1.0, 1.0);
                if i % 2 == 0 {
                    [u, 0.0]
                } else {
                    [u, v]
                }
            })
            .collect();
        assert!(mixture_index(&whiten(&pts).expect("whiten"), 0.1) >= 0.5);
    }
}
