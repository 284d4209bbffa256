//! The basis a linear recurrence `h' = W h + U x + b` is written in: `h = P z`.
//!
//! `P` is taken from the real Jordan form of `W` when `W` has distinct eigenvalues and a
//! well-conditioned eigenvector basis: one coordinate per real eigenvalue, a 2x2
//! rotation-scaling block `[[a, -b], [b, a]]` per complex pair `a ± ib` (`b > 0`), blocks sorted
//! by modulus (largest first), then by angle (smallest first). The remaining freedom (a scale per
//! real coordinate, a rotation-scaling per complex block) is fixed by the inputs: each block's
//! largest input column becomes `1` (real coordinate) or `(1, 0)` (complex block); a block no
//! input drives is fixed by its bias, else its initial state, else its column of `P`. Otherwise
//! (repeated or nearly repeated eigenvalues, a defective `W`, an ill-conditioned `P`) `P` is the
//! orthogonal factor of the real Schur form, each real coordinate's sign fixed by its largest
//! input weight; the Schur form is not unique (block order, rotations in the 2x2 blocks), so it
//! makes weights simpler without making equivalent networks equal.
//!
//! De-biasing: in the Jordan form, a block whose eigenvalues lie at least [`DEBIAS_MIN_GAP`]
//! from 1 is shifted by its fixed point, `z = y + s` with `s = (I - A)^-1 c`, so its bias
//! becomes 0 (the caller moves `s` into the initial state and the readers' biases).
//!
//! Whitening is not done: it would scale the state by its covariance under an input
//! distribution, which the weights do not carry; the input normalisation above already fixes the
//! scale.

use std::cmp::Ordering;

use nalgebra::{Complex, DMatrix, DVector, Schur, SVD};

/// Largest condition number of `P` accepted. The weights are `f32` (about 7 significant
/// digits); `P^-1 W P` loses up to `log10(cond P)` of them, so 1e4 leaves about 3, which the
/// judge then checks on the network's outputs.
pub const MAX_CONDITION: f64 = 1e4;

/// Eigenvalues closer than this (relative to `max(1, |λ|)`) count as repeated: their eigenvectors
/// are not determined, so the Jordan form is not attempted.
pub const EIGEN_SEPARATION: f64 = 1e-6;

/// A block is de-biased only when its eigenvalues are at least this far from 1: near 1 the
/// state integrates its bias (a running sum has no fixed point), and the shift `(1 - λ)^-1 c`
/// would turn small constants into constants more than ten times larger.
pub const DEBIAS_MIN_GAP: f64 = 0.1;

/// Values below this count as zero: `f32` weights carry about 1e-7 relative precision.
const NEGLIGIBLE: f64 = 1e-7;

/// Entries within this relative distance of the largest tie with it (the first is taken), so
/// that float noise does not pick a different normalising entry.
const TIE: f64 = 1e-6;

/// Iteration bound of the Schur and singular value decompositions (they return `None` past it).
const MAX_ITERATIONS: usize = 10_000;

/// The parts of a linear recurrence the basis is chosen from.
#[derive(Debug, Clone, PartialEq)]
pub struct Recurrence {
    /// `W`, `n x n`.
    pub w: DMatrix<f64>,
    /// `U`, `n x d`: every other column the update reads (inputs, other states).
    pub u: DMatrix<f64>,
    /// `b`, length `n`.
    pub b: DVector<f64>,
    /// The initial state `h0`, length `n`.
    pub h0: DVector<f64>,
}

/// Which normal form `P^-1 W P` is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Block diagonal: real eigenvalues and rotation-scaling blocks.
    Jordan,
    /// Quasi upper triangular, `P` orthogonal.
    Schur,
}

/// One diagonal block of `P^-1 W P`: `size` is 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub start: usize,
    pub size: usize,
}

/// A chosen basis: `h = p z`, `z = p_inv h`.
#[derive(Debug, Clone, PartialEq)]
pub struct Basis {
    pub p: DMatrix<f64>,
    pub p_inv: DMatrix<f64>,
    pub form: Form,
    /// The diagonal blocks of `P^-1 W P`, in order, covering `0..n`.
    pub blocks: Vec<Block>,
    /// The input column each block was normalised by (Jordan form), whose entries are then
    /// exactly `1` or `(1, 0)`.
    pub keys: Vec<Option<usize>>,
    /// The de-biasing shift in the new coordinates (`z = y + shift`); zero outside de-biased
    /// blocks, all zero in the Schur form.
    pub shift: DVector<f64>,
    /// The condition number of `p`.
    pub condition: f64,
}

impl Basis {
    /// Whether the basis changes nothing (identity `P`, no shift).
    pub fn is_identity(&self) -> bool {
        let n = self.p.nrows();
        (self.p.clone() - DMatrix::<f64>::identity(n, n)).amax() <= 1e-12
            && self.shift.amax() == 0.0
    }

    /// Sets the entries of `a = P^-1 W P` that the form makes zero to exactly zero, and (Jordan)
    /// each rotation-scaling block to exactly `[[a, -b], [b, a]]`.
    pub fn clean_state(&self, a: &mut DMatrix<f64>) {
        let block_of = |i: usize| {
            self.blocks
                .iter()
                .position(|b| (b.start..b.start + b.size).contains(&i))
        };
        for i in 0..a.nrows() {
            for j in 0..a.ncols() {
                let (bi, bj) = (block_of(i), block_of(j));
                let zero = match self.form {
                    Form::Jordan => bi != bj,
                    Form::Schur => bi > bj,
                };
                if zero {
                    a[(i, j)] = 0.0;
                }
            }
        }
        if self.form == Form::Jordan {
            for block in self.blocks.iter().filter(|b| b.size == 2) {
                let s = block.start;
                let re = (a[(s, s)] + a[(s + 1, s + 1)]) / 2.0;
                let im = (a[(s + 1, s)] - a[(s, s + 1)]) / 2.0;
                a[(s, s)] = re;
                a[(s + 1, s + 1)] = re;
                a[(s + 1, s)] = im;
                a[(s, s + 1)] = -im;
            }
        }
    }

    /// Sets each normalising input column of `b = P^-1 U` to exactly `1` or `(1, 0)`.
    pub fn clean_inputs(&self, b: &mut DMatrix<f64>) {
        for (block, key) in self.blocks.iter().zip(&self.keys) {
            if let Some(col) = *key {
                b[(block.start, col)] = 1.0;
                if block.size == 2 {
                    b[(block.start + 1, col)] = 0.0;
                }
            }
        }
    }
}

/// Chooses the basis for `recurrence`: the real Jordan form when it is determined and
/// well-conditioned, else the real Schur form. `None` when `W` is not finite or a decomposition
/// does not converge.
pub fn choose_basis(recurrence: &Recurrence) -> Option<Basis> {
    let finite = |m: &DMatrix<f64>| m.iter().all(|v| v.is_finite());
    if !finite(&recurrence.w)
        || !finite(&recurrence.u)
        || !recurrence
            .b
            .iter()
            .chain(recurrence.h0.iter())
            .all(|v| v.is_finite())
        || recurrence.w.nrows() == 0
    {
        return None;
    }
    jordan(recurrence).or_else(|| schur(recurrence))
}

/// The eigenvalues of `w`, one per real eigenvalue and one (positive imaginary part) per complex
/// pair, sorted by modulus (largest first), then angle.
fn modes(w: &DMatrix<f64>) -> Option<Vec<Complex<f64>>> {
    let schur = Schur::try_new(w.clone(), f64::EPSILON, MAX_ITERATIONS)?;
    let all = schur.complex_eigenvalues();
    let mut modes: Vec<Complex<f64>> = Vec::new();
    let mut pairs = 0;
    for &lambda in all.iter() {
        if lambda.im > 0.0 {
            modes.push(lambda);
            pairs += 1;
        } else if lambda.im == 0.0 {
            modes.push(lambda);
        }
    }
    if modes.len() + pairs != w.nrows() {
        return None;
    }
    modes.sort_by(|x, y| {
        y.norm()
            .total_cmp(&x.norm())
            .then_with(|| x.arg().abs().total_cmp(&y.arg().abs()))
    });
    Some(modes)
}

/// The right singular vectors of `m` for its `count` smallest singular values (columns).
fn null_vectors(m: DMatrix<f64>, count: usize) -> Option<DMatrix<f64>> {
    let n = m.ncols();
    let svd = SVD::try_new(m, false, true, f64::EPSILON, MAX_ITERATIONS)?;
    let v_t = svd.v_t?;
    if v_t.nrows() < count {
        return None;
    }
    Some(
        v_t.rows(v_t.nrows() - count, count)
            .transpose()
            .resize(n, count, 0.0),
    )
}

fn condition(p: &DMatrix<f64>) -> Option<f64> {
    let svd = SVD::try_new(p.clone(), false, false, f64::EPSILON, MAX_ITERATIONS)?;
    let values = svd.singular_values;
    let largest = values.max();
    let smallest = values.min();
    (smallest > 0.0).then(|| largest / smallest)
}

/// The index and value of the largest entry (first of the near-largest), unless all are
/// negligible.
fn leading(values: &[f64]) -> Option<(usize, f64)> {
    let largest = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if largest <= NEGLIGIBLE {
        return None;
    }
    let index = values
        .iter()
        .position(|v| v.abs() >= largest * (1.0 - TIE))?;
    Some((index, values[index]))
}

/// The real Jordan form, or `None` when it is not determined or not well-conditioned.
fn jordan(recurrence: &Recurrence) -> Option<Basis> {
    let w = &recurrence.w;
    let n = w.nrows();
    let modes = modes(w)?;
    for (i, x) in modes.iter().enumerate() {
        let scale = x.norm().max(1.0);
        if x.im > 0.0 && x.im <= EIGEN_SEPARATION * scale {
            return None;
        }
        if modes[i + 1..]
            .iter()
            .any(|y| (x - y).norm() <= EIGEN_SEPARATION * scale)
        {
            return None;
        }
    }
    let identity = DMatrix::<f64>::identity(n, n);
    let mut p = DMatrix::<f64>::zeros(n, n);
    let mut blocks = Vec::new();
    let mut start = 0;
    for lambda in &modes {
        if lambda.im == 0.0 {
            let v = null_vectors(w - &identity * lambda.re, 1)?;
            p.set_column(start, &v.column(0));
            blocks.push(Block { start, size: 1 });
            start += 1;
        } else {
            let shifted = w - &identity * lambda.re;
            let q = null_vectors(&shifted * &shifted + &identity * lambda.im.powi(2), 2)?;
            let m = q.transpose() * w * &q;
            let v = if m[(0, 1)].abs() >= m[(1, 0)].abs() {
                [Complex::new(m[(0, 1)], 0.0), lambda - m[(0, 0)]]
            } else {
                [lambda - m[(1, 1)], Complex::new(m[(1, 0)], 0.0)]
            };
            let s = DMatrix::from_row_slice(2, 2, &[v[0].re, -v[0].im, v[1].re, -v[1].im]);
            let columns = q * s;
            p.set_column(start, &columns.column(0));
            p.set_column(start + 1, &columns.column(1));
            blocks.push(Block { start, size: 2 });
            start += 2;
        }
    }
    let p_inv = p.clone().try_inverse()?;
    let keys = normalise_blocks(&mut p, &p_inv, &blocks, recurrence);
    let p_inv = p.clone().try_inverse()?;
    let condition = condition(&p)?;
    // A NaN condition fails this comparison too.
    if condition.partial_cmp(&MAX_CONDITION) != Some(Ordering::Less) {
        return None;
    }
    // The decomposition must block-diagonalise W to rounding, else it is not trusted.
    let a = &p_inv * w * &p;
    let mut clean = a.clone();
    let mut basis = Basis {
        p,
        p_inv,
        form: Form::Jordan,
        blocks,
        keys,
        shift: DVector::zeros(n),
        condition,
    };
    basis.clean_state(&mut clean);
    if (&a - &clean).amax() > 1e-9 * (1.0 + w.amax()) {
        return None;
    }
    basis.shift = debias(&basis, &clean, &(&basis.p_inv * &recurrence.b));
    Some(basis)
}

/// Scales each block of `p` (columns) so its key (largest input column, else bias, else initial
/// state, else its rows of `p`) reads `1` or `(1, 0)`; returns the input column used per block.
fn normalise_blocks(
    p: &mut DMatrix<f64>,
    p_inv: &DMatrix<f64>,
    blocks: &[Block],
    recurrence: &Recurrence,
) -> Vec<Option<usize>> {
    let inputs = p_inv * &recurrence.u;
    let bias = p_inv * &recurrence.b;
    let init = p_inv * &recurrence.h0;
    let mut keys = Vec::new();
    for block in blocks {
        let rows = block.start..block.start + block.size;
        // Candidate key vectors in the new coordinates of this block, in order of preference.
        let mut candidates: Vec<(Option<usize>, Vec<f64>)> = Vec::new();
        let columns: Vec<Vec<f64>> = (0..inputs.ncols())
            .map(|c| rows.clone().map(|r| inputs[(r, c)]).collect())
            .collect();
        let norms: Vec<f64> = columns
            .iter()
            .map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt())
            .collect();
        if let Some((c, _)) = leading(&norms) {
            candidates.push((Some(c), columns[c].clone()));
        }
        candidates.push((None, rows.clone().map(|r| bias[r]).collect()));
        candidates.push((None, rows.clone().map(|r| init[r]).collect()));
        let chosen = candidates.into_iter().find(|(_, k)| leading(k).is_some());
        let factor = match (&chosen, block.size) {
            (Some((_, k)), 1) => Some(DMatrix::from_element(1, 1, k[0])),
            (Some((_, k)), _) => Some(DMatrix::from_row_slice(2, 2, &[k[0], -k[1], k[1], k[0]])),
            (None, size) => {
                // Nothing reads or drives the block: normalise its columns of P instead, so
                // that the row of P with the largest entries reads 1 (or (1, 0)).
                let norms: Vec<f64> = (0..p.nrows())
                    .map(|r| rows.clone().map(|c| p[(r, c)].powi(2)).sum::<f64>().sqrt())
                    .collect();
                leading(&norms).map(|(r, _)| {
                    let row: Vec<f64> = rows.clone().map(|c| p[(r, c)]).collect();
                    if size == 1 {
                        DMatrix::from_element(1, 1, 1.0 / row[0])
                    } else {
                        let d = row[0] * row[0] + row[1] * row[1];
                        DMatrix::from_row_slice(
                            2,
                            2,
                            &[row[0] / d, -row[1] / d, row[1] / d, row[0] / d],
                        )
                    }
                })
            }
        };
        if let Some(factor) = factor {
            let scaled = p.columns(block.start, block.size) * factor;
            p.columns_mut(block.start, block.size).copy_from(&scaled);
        }
        keys.push(chosen.and_then(|(key, _)| key));
    }
    keys
}

/// The fixed-point shift of every block far enough from an eigenvalue 1.
fn debias(basis: &Basis, a: &DMatrix<f64>, bias: &DVector<f64>) -> DVector<f64> {
    let n = a.nrows();
    let mut shift = DVector::zeros(n);
    for block in &basis.blocks {
        let (s, size) = (block.start, block.size);
        let c = bias.rows(s, size).into_owned();
        if c.amax() <= NEGLIGIBLE {
            continue;
        }
        let gap = DMatrix::<f64>::identity(size, size) - a.view((s, s), (size, size));
        // Rotation-scaling blocks and scalars: |det|^(1/size) is the distance |1 - λ|.
        if gap.determinant().abs().powf(1.0 / size as f64) < DEBIAS_MIN_GAP {
            continue;
        }
        if let Some(inverse) = gap.try_inverse() {
            shift.rows_mut(s, size).copy_from(&(inverse * c));
        }
    }
    shift
}

/// The real Schur form: `P` orthogonal, each real coordinate's sign fixed by its input.
fn schur(recurrence: &Recurrence) -> Option<Basis> {
    let w = &recurrence.w;
    let n = w.nrows();
    let (mut q, t) = Schur::try_new(w.clone(), f64::EPSILON, MAX_ITERATIONS)?.unpack();
    let scale = 1.0 + w.amax();
    let mut blocks = Vec::new();
    let mut start = 0;
    while start < n {
        let size = if start + 1 < n && t[(start + 1, start)].abs() > NEGLIGIBLE * scale {
            2
        } else {
            1
        };
        blocks.push(Block { start, size });
        start += size;
    }
    let inputs = q.transpose() * &recurrence.u;
    for block in blocks.iter().filter(|b| b.size == 1) {
        let row: Vec<f64> = inputs.row(block.start).iter().copied().collect();
        if let Some((_, value)) = leading(&row) {
            if value.partial_cmp(&0.0) == Some(Ordering::Less) {
                let flipped = -q.column(block.start);
                q.set_column(block.start, &flipped);
            }
        }
    }
    let p_inv = q.transpose();
    Some(Basis {
        p: q,
        p_inv,
        form: Form::Schur,
        keys: vec![None; blocks.len()],
        blocks,
        shift: DVector::zeros(n),
        condition: 1.0,
    })
}
