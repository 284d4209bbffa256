//! PCA of a layer's activations: the symmetric eigendecomposition (cyclic Jacobi), explained
//! variance ratios, participation ratio and the components needed for 95% of the variance.
//!
//! Layers are small (nn2py reads small networks), so the covariance is formed explicitly and
//! diagonalised by Jacobi rotations, which are exact to rounding and need no linear-algebra crate.

use serde::Serialize;

/// Widest layer whose PCA is computed (Jacobi costs about `10 d^3`).
pub const MAX_PCA_DIM: usize = 256;

/// Eigenvalues (descending) and unit eigenvectors of a symmetric matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Eigen {
    pub values: Vec<f64>,
    /// `vectors[i]` belongs to `values[i]`.
    pub vectors: Vec<Vec<f64>>,
}

/// Diagonalises the symmetric `n x n` matrix `a` (row-major) by cyclic Jacobi rotations.
///
/// Stops when the off-diagonal mass is below `1e-22` of the total or after 60 sweeps; only the
/// upper triangle's symmetry is assumed. Eigenpairs come sorted by decreasing eigenvalue (ties in
/// index order), so the result is deterministic.
pub fn symmetric_eigen(a: &[f64], n: usize) -> Eigen {
    let mut m = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = m.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..60 {
        let mut off = 0.0;
        for p in 0..n {
            for q in p + 1..n {
                off += m[p * n + q] * m[p * n + q];
            }
        }
        if off <= 1e-22 * total {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq.abs() <= f64::MIN_POSITIVE {
                    continue;
                }
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let mkp = m[k * n + p];
                    let mkq = m[k * n + q];
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let mpk = m[p * n + k];
                    let mqk = m[q * n + k];
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let vkp = v[k * n + p];
                    let vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[j * n + j].total_cmp(&m[i * n + i]).then(i.cmp(&j)));
    Eigen {
        values: order.iter().map(|&i| m[i * n + i]).collect(),
        vectors: order
            .iter()
            .map(|&i| (0..n).map(|k| v[k * n + i]).collect())
            .collect(),
    }
}

/// Column means of `rows` (`n x d`, row-major).
pub fn column_means(rows: &[f64], d: usize) -> Vec<f64> {
    let n = rows.len() / d.max(1);
    let mut mean = vec![0.0; d];
    for row in rows.chunks_exact(d.max(1)) {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += x;
        }
    }
    for m in &mut mean {
        *m /= n.max(1) as f64;
    }
    mean
}

/// Covariance (`d x d`, divided by `n`) of `rows` around `mean`.
pub fn covariance(rows: &[f64], d: usize, mean: &[f64]) -> Vec<f64> {
    let n = rows.len() / d.max(1);
    let mut cov = vec![0.0; d * d];
    let mut centred = vec![0.0; d];
    for row in rows.chunks_exact(d.max(1)) {
        for j in 0..d {
            centred[j] = row[j] - mean[j];
        }
        for i in 0..d {
            let ci = centred[i];
            if ci == 0.0 {
                continue;
            }
            for j in i..d {
                cov[i * d + j] += ci * centred[j];
            }
        }
    }
    for i in 0..d {
        for j in i..d {
            let value = cov[i * d + j] / n.max(1) as f64;
            cov[i * d + j] = value;
            cov[j * d + i] = value;
        }
    }
    cov
}

/// The PCA spectrum of one layer, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spectrum {
    /// Explained-variance ratio of each principal component, largest first (at most 16 listed).
    pub explained_variance_ratio: Vec<f64>,
    /// `(sum l)^2 / sum l^2` over the eigenvalues: the effective number of dimensions.
    pub participation_ratio: f64,
    /// Fewest components whose variance adds up to 95% of the total.
    pub components_95: usize,
    /// Total variance (trace of the covariance).
    pub total_variance: f64,
}

/// PCA of a layer: its spectrum and the eigendecomposition of its covariance.
pub struct Pca {
    pub spectrum: Spectrum,
    pub eigen: Eigen,
    pub mean: Vec<f64>,
}

/// PCA of `rows` (`n x d`); `None` when `d` exceeds [`MAX_PCA_DIM`] or is zero.
pub fn pca(rows: &[f64], d: usize) -> Option<Pca> {
    if d == 0 || d > MAX_PCA_DIM {
        return None;
    }
    let mean = column_means(rows, d);
    let cov = covariance(rows, d, &mean);
    let eigen = symmetric_eigen(&cov, d);
    let clipped: Vec<f64> = eigen.values.iter().map(|&l| l.max(0.0)).collect();
    let total: f64 = clipped.iter().sum();
    let squares: f64 = clipped.iter().map(|l| l * l).sum();
    let ratios: Vec<f64> = clipped
        .iter()
        .map(|l| if total > 0.0 { l / total } else { 0.0 })
        .collect();
    let mut running = 0.0;
    let mut components_95 = 0;
    for r in &ratios {
        if running >= 0.95 {
            break;
        }
        running += r;
        components_95 += 1;
    }
    let spectrum = Spectrum {
        explained_variance_ratio: ratios.iter().take(16).copied().collect(),
        participation_ratio: if squares > 0.0 {
            total * total / squares
        } else {
            0.0
        },
        components_95: if total > 0.0 { components_95 } else { 0 },
        total_variance: total,
    };
    Some(Pca {
        spectrum,
        eigen,
        mean,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 3 and 1 with eigenvectors (1, 1) and (1, -1).
        let e = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((e.values[0] - 3.0).abs() < 1e-12 && (e.values[1] - 1.0).abs() < 1e-12);
        assert!((e.vectors[0][0].abs() - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((e.vectors[0][0] - e.vectors[0][1]).abs() < 1e-12);
        // A 3x3 matrix: A v = l v for every pair.
        let a = [4.0, 1.0, -2.0, 1.0, 2.0, 0.5, -2.0, 0.5, 3.0];
        let e = symmetric_eigen(&a, 3);
        for (l, v) in e.values.iter().zip(&e.vectors) {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i * 3 + j] * v[j]).sum();
                assert!((av - l * v[i]).abs() < 1e-10);
            }
        }
        assert!((e.values.iter().sum::<f64>() - 9.0).abs() < 1e-10);
    }

    #[test]
    fn spectrum_of_a_planar_cloud() {
        // Points on a 2-D circle embedded in 3-D: two equal components, participation ratio 2.
        let rows: Vec<f64> = (0..12)
            .flat_map(|i| {
                let t = i as f64 * std::f64::consts::TAU / 12.0;
                [t.cos(), t.sin(), 0.0]
            })
            .collect();
        let p = pca(&rows, 3).expect("pca");
        assert!((p.spectrum.participation_ratio - 2.0).abs() < 1e-9);
        assert_eq!(p.spectrum.components_95, 2);
        assert!((p.spectrum.explained_variance_ratio[0] - 0.5).abs() < 1e-9);
    }
}
