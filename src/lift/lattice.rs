//! Integer-lattice discretisation: reads the hidden state as integer coordinates in a basis found
//! by perturbing the network's inputs (a Krylov basis, measured rather than computed).
//!
//! For a network whose state responds linearly to its inputs, the state after a sequence is
//! `h_t = c_p + sum_j v_j * (x_{t-j} - o)`, where `c_p` is the state after `p + 1` steps of the
//! origin input `o` (zero, or the bound of the domain nearest zero), and `v_j` is the change in
//! the state when the input `j` steps back rises by one. The `v_j` are measured on the network
//! itself, by running it on a base sequence and on the same sequence with one input raised by
//! one; they must agree across base sequences (else the response is not linear and no lattice is
//! reported). A basis is taken greedily from the `v_j` in
//! order of lag, and every traced state must have integer coordinates in it (within a tolerance)
//! once `c_p` is taken off. Coordinates then read as "the input j steps back, minus o", or as a
//! sum of inputs when several lags share a direction (a running total). The reading solves them
//! in the basis that gives the smallest linear program ([`rebase_plane`]).

use crate::network::interp::InterpError;
use crate::network::SequenceModel;

use super::linear::invert;
use super::reading::{always, origin_inputs, Candidate, Context, Found, Outcome, Reading};
use super::solve::{solve, Solution};
use super::trace::{trace_sequences, Trace};
use super::write::Naming;

/// Limits and tolerances of the lattice search.
#[derive(Debug, Clone, PartialEq)]
pub struct LatticeOptions {
    /// Number of base sequences the response is measured on.
    pub probes: usize,
    /// Largest lag measured.
    pub max_lag: usize,
    /// Largest difference between two measurements of one response, relative to its norm.
    pub response_tolerance: f64,
    /// Largest distance of a coordinate from an integer.
    pub coordinate_tolerance: f64,
}

impl Default for LatticeOptions {
    fn default() -> Self {
        LatticeOptions {
            probes: 16,
            max_lag: 12,
            response_tolerance: 0.02,
            coordinate_tolerance: 0.2,
        }
    }
}

/// Integer coordinates of every traced state.
#[derive(Debug, Clone, PartialEq)]
pub struct Lattice {
    /// `codes[i]` are the coordinates of `trace.states[i]`; the initial state has all zeros.
    pub codes: Vec<Vec<i64>>,
    /// For each coordinate, the lag and input feature of the response that spans it.
    pub spans: Vec<(usize, usize)>,
}

/// Why the hidden states were not read as an integer lattice.
#[derive(Debug, Clone, PartialEq)]
pub enum NotLattice {
    /// The state's response to one input differs between base sequences: not linear.
    NonlinearResponse { lag: usize, feature: usize },
    /// Some state is not near an integer point of the basis.
    OffLattice { residual: f64 },
    /// The sequences are too short or the domain too narrow to measure a response.
    NothingToMeasure,
}

impl std::fmt::Display for NotLattice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotLattice::NonlinearResponse { lag, feature } => write!(
                f,
                "the state's response to input feature {feature} at lag {lag} is not linear"
            ),
            NotLattice::OffLattice { residual } => write!(
                f,
                "hidden states are off the integer lattice by up to {residual:.3}"
            ),
            NotLattice::NothingToMeasure => write!(f, "no input response could be measured"),
        }
    }
}

/// The lattice reading: the lattice's coordinates solved, in the basis that gives the smallest
/// linear program.
pub const READING: Reading = Reading::new("lattice", always, read_lattice);

fn read_lattice(context: &Context, candidates: &[Candidate]) -> Outcome {
    let codes = match find_lattice(context)? {
        Ok(lattice) => lattice.codes,
        Err(why) => return Ok(Err(format!("lattice: {why}"))),
    };
    let solved = context.solve_within("lattice", candidates, &codes);
    Ok(solved.map(|solution| {
        let solution = rebase_plane(context.trace, &codes, solution);
        let naming = Naming::ByRole;
        vec![Found::Formulas { solution, naming }]
    }))
}

/// Finds integer coordinates for the traced states of the context's network.
///
/// Errors: the interpreter's. `Ok(Err(_))` says why the states are not a lattice.
pub fn find_lattice(context: &Context) -> Result<Result<Lattice, NotLattice>, InterpError> {
    let (model, trace, ranges) = (context.model, context.trace, context.bounds);
    let (sequences, options) = (context.sequences, &context.options.lattice);
    let d = model.input_dim.max(1);
    let length = context.sequence_length();
    if length == 0 || ranges.len() != d || ranges.iter().all(|(lo, hi)| lo == hi) {
        return Ok(Err(NotLattice::NothingToMeasure));
    }
    // The origin input: zero where the domain has it (so that "before the start" and "zero"
    // coincide, as for a network started from a zero state), else the bound nearest zero.
    let lows = origin_inputs(ranges);
    // c_p: the states along a sequence of origin inputs.
    let low_sequence: Vec<i64> = (0..length).flat_map(|_| lows.iter().copied()).collect();
    let low_trace = trace_sequences(model, std::slice::from_ref(&low_sequence))?;
    let offsets: Vec<Vec<f64>> = low_trace
        .steps
        .iter()
        .map(|s| low_trace.states[s.after].clone())
        .collect();

    let responses = measure_responses(model, sequences, ranges, options, length)?;
    let responses = match responses {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let (basis, spans) = greedy_basis(&responses, trace.state_dim());
    if basis.is_empty() {
        return Ok(Err(NotLattice::NothingToMeasure));
    }
    let solver = LeastSquares::new(&basis);
    let mut codes = vec![Vec::new(); trace.states.len()];
    codes[0] = vec![0; basis.len()];
    let mut worst: f64 = 0.0;
    for step in &trace.steps {
        let Some(offset) = offsets.get(step.position) else {
            return Ok(Err(NotLattice::NothingToMeasure));
        };
        let centred: Vec<f64> = trace.states[step.after]
            .iter()
            .zip(offset)
            .map(|(h, c)| h - c)
            .collect();
        let coordinates = solver.solve(&centred);
        let rounded: Vec<i64> = coordinates.iter().map(|c| c.round() as i64).collect();
        for (c, r) in coordinates.iter().zip(&rounded) {
            worst = worst.max((c - *r as f64).abs());
        }
        // The rounded point must also reproduce the state, not only its projection.
        let scale = basis.iter().map(|v| norm(v)).fold(f64::INFINITY, f64::min);
        let mut residual: f64 = 0.0;
        for (k, &h) in centred.iter().enumerate() {
            let rebuilt: f64 = basis
                .iter()
                .zip(&rounded)
                .map(|(v, &z)| v[k] * z as f64)
                .sum();
            residual = residual.max((h - rebuilt).abs());
        }
        worst = worst.max(residual / scale);
        codes[step.after] = rounded;
    }
    if worst > options.coordinate_tolerance {
        return Ok(Err(NotLattice::OffLattice { residual: worst }));
    }
    Ok(Ok(Lattice { codes, spans }))
}

/// One measured response: the state change per unit of input `feature` at `lag` steps back.
struct Response {
    lag: usize,
    feature: usize,
    vector: Vec<f64>,
}

/// Measures `v_j` for every lag and feature on the first `options.probes` sequences.
fn measure_responses(
    model: &SequenceModel,
    sequences: &[Vec<i64>],
    ranges: &[(i64, i64)],
    options: &LatticeOptions,
    length: usize,
) -> Result<Result<Vec<Response>, NotLattice>, InterpError> {
    let d = ranges.len();
    let bases: Vec<&Vec<i64>> = sequences.iter().take(options.probes).collect();
    let base_trace = trace_sequences(
        model,
        &bases.iter().map(|s| (*s).clone()).collect::<Vec<_>>(),
    )?;
    let finals: Vec<&Vec<f64>> = (0..bases.len())
        .map(|i| &base_trace.states[(i + 1) * length])
        .collect();
    let mut responses = Vec::new();
    for lag in 0..length.min(options.max_lag + 1) {
        for (feature, &(lo, hi)) in ranges.iter().enumerate() {
            if lo == hi {
                continue;
            }
            // The step run `lag` steps before the last one, as a position in the sequence.
            let position = match model.cell.direction {
                crate::network::TimeDirection::Forward => length - 1 - lag,
                crate::network::TimeDirection::Reverse => lag,
            };
            let mut perturbed = Vec::with_capacity(bases.len());
            let mut signs = Vec::with_capacity(bases.len());
            for base in &bases {
                let mut sequence = (*base).clone();
                let slot = &mut sequence[position * d + feature];
                let sign = if *slot < hi { 1.0 } else { -1.0 };
                *slot += sign as i64;
                perturbed.push(sequence);
                signs.push(sign);
            }
            let moved = trace_sequences(model, &perturbed)?;
            let diffs: Vec<Vec<f64>> = (0..bases.len())
                .map(|i| {
                    moved.states[(i + 1) * length]
                        .iter()
                        .zip(finals[i])
                        .map(|(a, b)| (a - b) * signs[i])
                        .collect()
                })
                .collect();
            let mean: Vec<f64> = (0..diffs[0].len())
                .map(|k| diffs.iter().map(|v| v[k]).sum::<f64>() / diffs.len() as f64)
                .collect();
            let size = norm(&mean).max(1e-6);
            let spread = diffs
                .iter()
                .map(|v| {
                    v.iter()
                        .zip(&mean)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f64::max)
                })
                .fold(0.0, f64::max);
            if spread > options.response_tolerance * size.max(1.0) {
                return Ok(Err(NotLattice::NonlinearResponse { lag, feature }));
            }
            responses.push(Response {
                lag,
                feature,
                vector: mean,
            });
        }
    }
    Ok(Ok(responses))
}

/// Takes responses in order, keeping each one that is not (nearly) in the span of those kept.
fn greedy_basis(responses: &[Response], dim: usize) -> (Vec<Vec<f64>>, Vec<(usize, usize)>) {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut orthonormal: Vec<Vec<f64>> = Vec::new();
    let mut spans = Vec::new();
    let largest = responses
        .iter()
        .map(|r| norm(&r.vector))
        .fold(0.0, f64::max);
    for response in responses {
        if basis.len() == dim {
            break;
        }
        let mut rest = response.vector.clone();
        for q in &orthonormal {
            let along = dot(&rest, q);
            rest.iter_mut().zip(q).for_each(|(r, q)| *r -= along * q);
        }
        let left = norm(&rest);
        if left > 0.05 * norm(&response.vector).max(1e-9) && left > 1e-3 * largest {
            orthonormal.push(rest.iter().map(|r| r / left).collect());
            basis.push(response.vector.clone());
            spans.push((response.lag, response.feature));
        }
    }
    (basis, spans)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// Least-squares coordinates in a fixed basis, through the normal equations (the basis is small
/// and well conditioned by construction: each vector has a sizeable part outside the others' span).
struct LeastSquares {
    basis: Vec<Vec<f64>>,
    /// The inverse of the Gram matrix, row-major.
    gram_inverse: Vec<f64>,
}

impl LeastSquares {
    fn new(basis: &[Vec<f64>]) -> Self {
        let r = basis.len();
        let mut gram = vec![0.0; r * r];
        for i in 0..r {
            for j in 0..r {
                gram[i * r + j] = dot(&basis[i], &basis[j]);
            }
        }
        LeastSquares {
            basis: basis.to_vec(),
            gram_inverse: invert(&gram, r),
        }
    }

    fn solve(&self, point: &[f64]) -> Vec<f64> {
        let r = self.basis.len();
        let rhs: Vec<f64> = self.basis.iter().map(|v| dot(v, point)).collect();
        (0..r)
            .map(|i| (0..r).map(|j| self.gram_inverse[i * r + j] * rhs[j]).sum())
            .collect()
    }
}

/// A two-coordinate lattice read in the basis that gives the smallest linear program: the measured
/// responses span the lattice but need not be the basis a person would pick (for `v += x; p += v`
/// they are `(1, 1)` and `(1, 2)`, not `v` and `p`). Every unimodular change of basis with entries
/// in {-1, 0, 1} is tried with linear fits only; the original solution stays unless one is
/// strictly smaller.
fn rebase_plane(trace: &Trace, codes: &[Vec<i64>], solution: Solution) -> Solution {
    if codes.first().map_or(0, Vec::len) != 2 {
        return solution;
    }
    // Compare the bases on a prefix of the trace (the fits are exact or not on every row, and a
    // thousand steps separate the bases that matter); the winner is refitted on the whole trace.
    let mut sample = trace.clone();
    sample.steps.truncate(REBASE_SAMPLE_STEPS);
    let mut best: Option<(Vec<Vec<i64>>, usize)> = None;
    let entries = [0i64, 1, -1];
    for a in entries {
        for b in entries {
            for c in entries {
                for d in entries {
                    if (a * d - b * c).abs() != 1 || (a, b, c, d) == (1, 0, 0, 1) {
                        continue;
                    }
                    let changed: Vec<Vec<i64>> = codes
                        .iter()
                        .map(|z| match z.as_slice() {
                            [z0, z1] => vec![a * z0 + b * z1, c * z0 + d * z1],
                            other => other.to_vec(),
                        })
                        .collect();
                    if let Ok(candidate) = solve(&sample, &changed, None) {
                        let smallest = best.as_ref().map_or(solution.size, |(_, size)| *size);
                        if candidate.size < smallest {
                            best = Some((changed, candidate.size));
                        }
                    }
                }
            }
        }
    }
    match best.map(|(codes, _)| solve(trace, &codes, None)) {
        Some(Ok(rebased)) if rebased.size < solution.size => rebased,
        _ => solution,
    }
}

/// Steps of the trace on which the bases of a two-coordinate lattice are compared.
const REBASE_SAMPLE_STEPS: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_basis_skips_dependent_responses() {
        let responses = vec![
            Response {
                lag: 0,
                feature: 0,
                vector: vec![1.0, 0.0],
            },
            Response {
                lag: 1,
                feature: 0,
                vector: vec![2.0, 0.0],
            },
            Response {
                lag: 2,
                feature: 0,
                vector: vec![1.0, 1.0],
            },
        ];
        let (basis, spans) = greedy_basis(&responses, 2);
        assert_eq!(basis.len(), 2);
        assert_eq!(spans, vec![(0, 0), (2, 0)]);
    }
}
