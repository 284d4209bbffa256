//! Change of basis of linear recurrences: a sequence model's state `h` whose update is affine in
//! it, `h' = W h + U x + b`, rewritten in the basis `h = P z` of [`eigenbasis::choose_basis`]
//! (real Jordan form, else real Schur form, inputs normalised, de-biased where possible).
//!
//! The pattern, in the cell's step graph, for state `k` of shape `[1, n]`:
//! - the update: `h'` (the step's state output `k`) is computed by one `Gemm` (alpha 1, no
//!   transposed A, constant weights, bias absent or private with beta 1) whose A operand is `h`
//!   itself or a `Concat` on axis 1 holding `h` once: no nonlinearity between `h` and `h'`;
//! - every other reader of `h` or `h'` is such a dense layer (directly or through a `Concat` on
//!   axis 1 read only by dense layers); `h'` is a graph output only as state output `k`.
//!
//! Only whole states whose update is affine are rewritten; an affine part of a larger state (a
//! state half linear, half through an activation) is left as it is. The rewrite: the update's
//! rows become `P^-1 (...)` and its state columns `... P`, every reader's state columns `... P`,
//! the initial state `P^-1 h0`; a de-biasing shift `s` moves into the readers' biases (`+ M s`,
//! a bias is added to a reader that has none), the update's bias (`- s`) and the initial state
//! (`- s`). It is skipped when some reader's bias cannot change, and when it would make the
//! weights much larger (see [`MAX_GROWTH`]): a normal form is for reading, and a nearly nilpotent
//! update (a shift register with tiny eigenvalues) has a Jordan basis that the judge accepts but
//! that puts coefficients in the hundreds into the readout.

use std::collections::BTreeMap;
use std::ops::Range;

use nalgebra::{DMatrix, DVector};
use ndarray::{ArrayD, IxDyn};

use super::constants::{
    private_matrix, private_vector, producer_of, reading_slots, set_const, use_counts,
    vector_tensor,
};
use super::eigenbasis::{self, Recurrence};
use crate::network::{Cell, Graph, Network, Op, Tensor, ValueId};

/// A dense layer `y = m a + c` (a `Gemm` with constant weights read by it only).
#[derive(Debug, Clone)]
struct Dense {
    trans_b: bool,
    /// `out x in`, whatever the Gemm's `trans_b`.
    m: DMatrix<f64>,
    c: DVector<f64>,
    bias: Bias,
}

/// A dense layer's bias operand.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bias {
    /// None yet (`c` is zero): one can be added.
    Absent,
    /// A constant read by this layer only, with beta 1: `c` is its value.
    Private(ValueId),
    /// Shared, scaled or computed: it cannot change (`c` is not its value).
    Fixed,
}

/// A linear recurrence found in a step graph.
#[derive(Debug, Clone)]
struct LinearState {
    /// Index of the state in the step's inputs (and outputs).
    index: usize,
    n: usize,
    /// The update's node and the columns of its A operand that hold `h`.
    update: usize,
    update_columns: Range<usize>,
    /// Every (node, columns) reading `h` or `h'`, the update's own reading included.
    readings: Vec<(usize, Range<usize>)>,
    dense: BTreeMap<usize, Dense>,
}

/// Rewrites every linear recurrence of a sequence model in its normal basis; returns how many
/// states changed. Pointwise networks and states that are not linear recurrences are left as
/// they are.
pub fn change_basis(network: &mut Network) -> usize {
    let model = match network {
        Network::Sequence(model) => model,
        Network::Pointwise(_) => return 0,
    };
    let mut changed = 0;
    for index in 1..model.cell.step.inputs.len() {
        if let Some(state) = read_state(&model.cell.step, index) {
            if rewrite_state(&mut model.cell, &state) {
                changed += 1;
            }
        }
    }
    changed
}

/// A `Gemm` reading its A operand with alpha 1 and no transposition: `(trans_b, beta)`.
fn plain_gemm(op: &Op) -> Option<(bool, f32)> {
    match *op {
        Op::Gemm {
            alpha: 1.0,
            beta,
            trans_a: false,
            trans_b,
        } => Some((trans_b, beta)),
        _ => None,
    }
}

/// Width of a `[1, w]` value.
fn width(graph: &Graph, id: ValueId) -> Option<usize> {
    match graph.value(id).ty.shape.as_slice() {
        [1, w] => Some(*w),
        _ => None,
    }
}

/// Every dense layer reading `value` (directly or through a `Concat` on axis 1) with the columns
/// of its A operand that hold it; `None` when something else reads it.
fn readings_of(
    graph: &Graph,
    counts: &[usize],
    value: ValueId,
) -> Option<Vec<(usize, Range<usize>)>> {
    let n = width(graph, value)?;
    let mut readings = Vec::new();
    for (index, node) in graph.nodes.iter().enumerate() {
        let slots = reading_slots(node, value);
        if slots.is_empty() {
            continue;
        }
        match node.op {
            Op::Gemm { .. } if slots == [0] && plain_gemm(&node.op).is_some() => {
                readings.push((index, 0..n));
            }
            Op::Concat { axis: 1 } if slots.len() == 1 => {
                let mut offset = 0;
                for id in &node.inputs[..slots[0]] {
                    offset += width(graph, (*id)?)?;
                }
                let joined = *node.outputs.first()?;
                if graph.outputs.contains(&joined) {
                    return None;
                }
                let mut reads = 0;
                for (reader_index, reader) in graph.nodes.iter().enumerate() {
                    let slots = reading_slots(reader, joined);
                    if slots.is_empty() {
                        continue;
                    }
                    plain_gemm(&reader.op)?;
                    if slots != [0] {
                        return None;
                    }
                    readings.push((reader_index, offset..offset + n));
                    reads += 1;
                }
                if reads != counts[joined.0 as usize] {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(readings)
}

/// Reads the dense layer at `node`, or `None` when its weights are not private constants of
/// the right shape.
fn read_dense(graph: &Graph, counts: &[usize], node: usize) -> Option<Dense> {
    let gemm = &graph.nodes[node];
    let (trans_b, beta) = plain_gemm(&gemm.op)?;
    let a = width(graph, (*gemm.inputs.first()?)?)?;
    let out = width(graph, *gemm.outputs.first()?)?;
    let weights = private_matrix(graph, counts, (*gemm.inputs.get(1)?)?)?;
    let m = DMatrix::from_fn(weights.len(), weights.first()?.len(), |r, c| weights[r][c]);
    let m = if trans_b { m } else { m.transpose() };
    if m.shape() != (out, a) {
        return None;
    }
    let (c, bias) = match gemm.inputs.get(2).copied().flatten() {
        None => (DVector::zeros(out), Bias::Absent),
        Some(id) => match private_vector(graph, counts, id, out) {
            Some(c) if beta == 1.0 => (DVector::from_vec(c), Bias::Private(id)),
            _ => (DVector::zeros(out), Bias::Fixed),
        },
    };
    Some(Dense {
        trans_b,
        m,
        c,
        bias,
    })
}

/// The linear recurrence of state `index` of the step graph, if it is one.
fn read_state(graph: &Graph, index: usize) -> Option<LinearState> {
    let counts = use_counts(graph);
    let h = *graph.inputs.get(index)?;
    let next = *graph.outputs.get(index)?;
    let n = width(graph, h)?;
    if width(graph, next)? != n || graph.outputs.contains(&h) {
        return None;
    }
    if graph.outputs.iter().filter(|&&o| o == next).count() != 1 {
        return None;
    }
    let update = producer_of(graph, next)?;
    plain_gemm(&graph.nodes[update].op)?;
    let mut readings = readings_of(graph, &counts, h)?;
    let update_columns = readings.iter().find(|(node, _)| *node == update)?.1.clone();
    readings.extend(readings_of(graph, &counts, next)?);
    let mut dense = BTreeMap::new();
    for (node, _) in &readings {
        if !dense.contains_key(node) {
            dense.insert(*node, read_dense(graph, &counts, *node)?);
        }
    }
    // A node reading the state twice (h and h' both) would be edited twice consistently, but
    // its weights are shared with no other node only once: keep the pattern simple.
    if dense.len() != readings.len() {
        return None;
    }
    if dense.get(&update)?.bias == Bias::Fixed {
        return None;
    }
    Some(LinearState {
        index,
        n,
        update,
        update_columns,
        readings,
        dense,
    })
}

/// The columns of `m` outside `state` (in order).
fn other_columns(m: &DMatrix<f64>, state: &Range<usize>) -> Vec<usize> {
    (0..m.ncols()).filter(|c| !state.contains(c)).collect()
}

/// Rewrites one linear state in its normal basis; whether anything changed.
fn rewrite_state(cell: &mut Cell, state: &LinearState) -> bool {
    let Some(h0) = cell.init.get(state.index - 1).and_then(|t| match t {
        Tensor::F32(a) if a.len() == state.n => {
            Some(DVector::from_iterator(state.n, a.iter().map(|&v| v as f64)))
        }
        Tensor::F32(_) | Tensor::I64(_) | Tensor::Bool(_) => None,
    }) else {
        return false;
    };
    let Some(update) = state.dense.get(&state.update) else {
        return false;
    };
    let cols = &state.update_columns;
    let others = other_columns(&update.m, cols);
    let recurrence = Recurrence {
        w: update.m.columns(cols.start, state.n).into_owned(),
        u: DMatrix::from_fn(state.n, others.len(), |r, c| update.m[(r, others[c])]),
        b: update.c.clone(),
        h0: h0.clone(),
    };
    let Some(mut basis) = eigenbasis::choose_basis(&recurrence) else {
        return false;
    };
    if state.dense.values().any(|d| d.bias == Bias::Fixed) {
        basis.shift.fill(0.0);
    }
    if basis.is_identity() {
        return false;
    }

    let mut dense = state.dense.clone();
    for (node, columns) in &state.readings {
        if let Some(d) = dense.get_mut(node) {
            let turned = d.m.columns(columns.start, state.n) * &basis.p;
            d.m.columns_mut(columns.start, state.n).copy_from(&turned);
        }
    }
    if let Some(d) = dense.get_mut(&state.update) {
        d.m = &basis.p_inv * &d.m;
        d.c = &basis.p_inv * &d.c;
        let mut a = d.m.columns(cols.start, state.n).into_owned();
        basis.clean_state(&mut a);
        d.m.columns_mut(cols.start, state.n).copy_from(&a);
        let mut b = DMatrix::from_fn(state.n, others.len(), |r, c| d.m[(r, others[c])]);
        basis.clean_inputs(&mut b);
        for (c, &col) in others.iter().enumerate() {
            d.m.set_column(col, &b.column(c));
        }
    }
    let shifted = basis.shift.amax() > 0.0;
    if shifted {
        for (node, columns) in &state.readings {
            if let Some(d) = dense.get_mut(node) {
                d.c += d.m.columns(columns.start, state.n) * &basis.shift;
            }
        }
        if let Some(d) = dense.get_mut(&state.update) {
            d.c -= &basis.shift;
            // The de-biased entries are zero up to rounding: make them exactly zero.
            for (i, s) in basis.shift.iter().enumerate() {
                if *s != 0.0 {
                    d.c[i] = 0.0;
                }
            }
        }
    }
    if largest_entry(dense.values()) > MAX_GROWTH * largest_entry(state.dense.values()).max(1.0) {
        return false;
    }
    let z0 = &basis.p_inv * &h0 - &basis.shift;
    let graph = &mut cell.step;
    for (node, d) in &dense {
        write_dense(graph, *node, d, shifted);
    }
    cell.init[state.index - 1] = Tensor::F32(
        ArrayD::from_shape_vec(IxDyn(&[1, state.n]), z0.iter().map(|&v| v as f32).collect())
            .expect("n values make a [1, n] tensor"),
    );
    true
}

/// A basis change is refused when it makes the largest weight or bias of the layers it touches
/// more than this many times the old largest (or 1, when that is smaller).
pub const MAX_GROWTH: f64 = 10.0;

/// The largest magnitude of any weight or bias of `layers`.
fn largest_entry<'a>(layers: impl Iterator<Item = &'a Dense>) -> f64 {
    layers
        .flat_map(|d| d.m.iter().chain(d.c.iter()))
        .fold(0.0, |acc: f64, v| acc.max(v.abs()))
}

/// Writes a dense layer's weights (and its bias, added when missing and nonzero) back.
fn write_dense(graph: &mut Graph, node: usize, d: &Dense, bias_changed: bool) {
    let stored = if d.trans_b {
        d.m.clone()
    } else {
        d.m.transpose()
    };
    let data: Vec<f32> = stored
        .row_iter()
        .flat_map(|row| row.iter().map(|&v| v as f32).collect::<Vec<f32>>())
        .collect();
    let tensor = Tensor::F32(
        ArrayD::from_shape_vec(IxDyn(&[stored.nrows(), stored.ncols()]), data)
            .expect("a matrix's entries fill its shape"),
    );
    if let Some(Some(id)) = graph.nodes[node].inputs.get(1).copied() {
        set_const(graph, id, tensor);
    }
    let bias: Vec<f64> = d.c.iter().copied().collect();
    match d.bias {
        Bias::Private(id) => set_const(graph, id, vector_tensor(&bias)),
        Bias::Absent if bias_changed && bias.iter().any(|&v| v != 0.0) => {
            let name = format!("{}.basis_bias", graph.nodes[node].name);
            let id = graph.add_const(name, vector_tensor(&bias));
            let gemm = &mut graph.nodes[node];
            gemm.inputs.resize(2, None);
            gemm.inputs.push(Some(id));
            if let Op::Gemm { beta, .. } = &mut gemm.op {
                *beta = 1.0;
            }
        }
        Bias::Absent | Bias::Fixed => {}
    }
}
