//! Integer linear regression: `target = c + sum_i a_i * column_i` with integer `a_i` and `c`,
//! fitted by least squares, rounded, and accepted only if it reproduces every row exactly.
//!
//! This is the first thing tried on every table because sums of many terms (a window of seven
//! inputs, say) are far beyond what enumeration reaches, and a network whose state responds
//! linearly to its inputs mostly computes such sums. The small matrix inverse it rests on also
//! serves the lattice reading's least squares.

/// An exact integer linear fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinearFit {
    /// One coefficient per column.
    pub coefficients: Vec<i64>,
    pub constant: i64,
}

impl LinearFit {
    /// The fit's value on one row (`None` on overflow).
    pub fn eval(&self, row: &[i64]) -> Option<i64> {
        let mut total = self.constant;
        for (&a, &x) in self.coefficients.iter().zip(row) {
            total = total.checked_add(a.checked_mul(x)?)?;
        }
        Some(total)
    }
}

/// Fits `target` from `rows` (all of equal width); `None` when no integer linear function
/// reproduces every row.
pub fn fit_integer_linear(rows: &[Vec<i64>], target: &[i64]) -> Option<LinearFit> {
    let full_width = rows.first().map_or(0, Vec::len);
    if rows.is_empty() || rows.len() != target.len() {
        return None;
    }
    // A constant column is the constant term in disguise: leave it out, or least squares would
    // share the constant between the two and neither part would round right.
    let varying: Vec<usize> = (0..full_width)
        .filter(|&c| rows.iter().any(|r| r[c] != rows[0][c]))
        .collect();
    let reduced: Vec<Vec<i64>> = rows
        .iter()
        .map(|r| varying.iter().map(|&c| r[c]).collect())
        .collect();
    let fit = fit_varying(&reduced, target)?;
    let mut coefficients = vec![0; full_width];
    for (&c, &a) in varying.iter().zip(&fit.coefficients) {
        coefficients[c] = a;
    }
    Some(LinearFit {
        coefficients,
        constant: fit.constant,
    })
}

/// [`fit_integer_linear`] on columns that all vary.
fn fit_varying(rows: &[Vec<i64>], target: &[i64]) -> Option<LinearFit> {
    let width = rows.first().map_or(0, Vec::len);
    // Normal equations over the columns and a constant column.
    let n = width + 1;
    let mut gram = vec![0.0; n * n];
    let mut rhs = vec![0.0; n];
    for (row, &y) in rows.iter().zip(target) {
        let features = row.iter().map(|&v| v as f64).chain(std::iter::once(1.0));
        let features: Vec<f64> = features.collect();
        for i in 0..n {
            rhs[i] += features[i] * y as f64;
            for j in 0..n {
                gram[i * n + j] += features[i] * features[j];
            }
        }
    }
    // A tiny ridge keeps constant or duplicate columns from making the system singular; the exact
    // check below is the judge either way.
    let trace: f64 = (0..n).map(|i| gram[i * n + i]).sum::<f64>().max(1.0);
    for i in 0..n {
        gram[i * n + i] += 1e-9 * trace;
    }
    let inverse = invert(&gram, n);
    let solution: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| inverse[i * n + j] * rhs[j]).sum())
        .collect();
    if solution.iter().any(|v| !v.is_finite() || v.abs() > 1e12) {
        return None;
    }
    let rounded: Vec<i64> = solution.iter().map(|v| v.round() as i64).collect();
    let fit = LinearFit {
        coefficients: rounded[..width].to_vec(),
        constant: rounded[width],
    };
    let exact = rows
        .iter()
        .zip(target)
        .all(|(row, &y)| fit.eval(row) == Some(y));
    exact.then_some(fit)
}

/// Gauss-Jordan inverse with partial pivoting of an `r x r` matrix (assumed invertible; a zero
/// pivot leaves that row zero).
pub fn invert(matrix: &[f64], r: usize) -> Vec<f64> {
    let mut a = matrix.to_vec();
    let mut inv = vec![0.0; r * r];
    for i in 0..r {
        inv[i * r + i] = 1.0;
    }
    for col in 0..r {
        let pivot = (col..r)
            .max_by(|&x, &y| a[x * r + col].abs().total_cmp(&a[y * r + col].abs()))
            .unwrap_or(col);
        for k in 0..r {
            a.swap(col * r + k, pivot * r + k);
            inv.swap(col * r + k, pivot * r + k);
        }
        let p = a[col * r + col];
        if p.abs() < 1e-300 {
            continue;
        }
        for k in 0..r {
            a[col * r + k] /= p;
            inv[col * r + k] /= p;
        }
        for row in 0..r {
            if row != col {
                let factor = a[row * r + col];
                if factor != 0.0 {
                    for k in 0..r {
                        a[row * r + k] -= factor * a[col * r + k];
                        inv[row * r + k] -= factor * inv[col * r + k];
                    }
                }
            }
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverts_a_small_matrix() {
        let m = [2.0, 1.0, 1.0, 3.0];
        let inv = invert(&m, 2);
        let expected = [0.6, -0.2, -0.2, 0.4];
        for (a, b) in inv.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{inv:?}");
        }
    }

    #[test]
    fn finds_a_window_sum() {
        let mut rows = Vec::new();
        let mut target = Vec::new();
        let mut seed = 7u64;
        for _ in 0..200 {
            let row: Vec<i64> = (0..6)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((seed >> 33) % 100) as i64
                })
                .collect();
            target.push(row[0] + row[1] + row[2] + row[3] + row[4] - 2 * row[5] + 3);
            rows.push(row);
        }
        let fit = fit_integer_linear(&rows, &target).unwrap();
        assert_eq!(fit.coefficients, vec![1, 1, 1, 1, 1, -2]);
        assert_eq!(fit.constant, 3);
    }

    #[test]
    fn rejects_a_nonlinear_table() {
        let rows: Vec<Vec<i64>> = (0..20).map(|i| vec![i]).collect();
        let target: Vec<i64> = (0..20).map(|i| i * i).collect();
        assert_eq!(fit_integer_linear(&rows, &target), None);
    }

    #[test]
    fn a_constant_column_does_not_break_the_fit() {
        let rows: Vec<Vec<i64>> = (0..20).map(|i| vec![i, 4]).collect();
        let target: Vec<i64> = (0..20).map(|i| 2 * i + 1).collect();
        let fit = fit_integer_linear(&rows, &target).unwrap();
        assert_eq!(fit.eval(&[10, 4]), Some(21));
    }
}
