//! Ops that rearrange elements: reshapes, transposes, slices, concatenation and `Gather`.
//!
//! They emit no code, with one exception: `Gather` with an index computed at run time becomes a
//! table lookup (constant data) or a chain of selects (computed data).

use ndarray::{concatenate, ArrayView, Axis, IxDyn};

use crate::network::DType;
use crate::program::{BinaryOp, Expr, Literal, Table, TableId, Type};

use super::symbolic::{binary, element_hint, int, int_of, scalar_type, select, Emitter, SymTensor};
use super::{malformed, OpResult};

/// Row-major reshape to `shape`, which must have the same element count.
pub(super) fn reshape(t: SymTensor, shape: &[usize]) -> OpResult<SymTensor> {
    let from = t.shape().to_vec();
    SymTensor::from_vec(t.dtype, shape, t.to_vec())
        .ok_or_else(|| malformed(format!("cannot reshape {from:?} to {shape:?}")))
}

/// Axis permutation: axis `i` of the result is axis `perm[i]` of `t`.
pub(super) fn transpose(t: SymTensor, perm: &[usize]) -> OpResult<SymTensor> {
    let rank = t.elems.ndim();
    let mut seen = vec![false; rank];
    for &p in perm {
        match seen.get_mut(p) {
            Some(s) if !*s => *s = true,
            Some(_) | None => {
                return Err(malformed(format!(
                    "{perm:?} is not a permutation of {rank} axes"
                )))
            }
        }
    }
    if perm.len() != rank {
        return Err(malformed(format!(
            "{perm:?} is not a permutation of {rank} axes"
        )));
    }
    let view = t.elems.view().permuted_axes(IxDyn(perm));
    let shape = view.shape().to_vec();
    let elems = view.iter().cloned().collect();
    SymTensor::from_vec(t.dtype, &shape, elems).ok_or_else(|| malformed("transpose size mismatch"))
}

/// Removes the listed axes, each of which must have size 1.
pub(super) fn squeeze(t: SymTensor, axes: &[usize]) -> OpResult<SymTensor> {
    for &a in axes {
        if t.shape().get(a) != Some(&1) {
            return Err(malformed(format!(
                "cannot squeeze axis {a} of shape {:?}",
                t.shape()
            )));
        }
    }
    let shape: Vec<usize> = t
        .shape()
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, &d)| d)
        .collect();
    reshape(t, &shape)
}

/// Inserts size-1 axes at the listed positions of the result.
pub(super) fn unsqueeze(t: SymTensor, axes: &[usize]) -> OpResult<SymTensor> {
    let rank = t.elems.ndim() + axes.len();
    let mut inserted = vec![false; rank];
    for &a in axes {
        match inserted.get_mut(a) {
            Some(s) if !*s => *s = true,
            Some(_) | None => {
                return Err(malformed(format!(
                    "bad Unsqueeze axes {axes:?} for rank {}",
                    t.elems.ndim()
                )))
            }
        }
    }
    let mut dims = t.shape().iter();
    let shape: Vec<usize> = inserted
        .iter()
        .map(|&new| if new { Some(1) } else { dims.next().copied() })
        .collect::<Option<_>>()
        .ok_or_else(|| malformed("Unsqueeze rank mismatch"))?;
    reshape(t, &shape)
}

/// ONNX `Slice` with bounds already resolved: for a positive step the indices `start, start +
/// step, ...` below `end`; for a negative step those above `end` (which may be -1). Bounds are
/// clamped again as ONNX clamps them, so out-of-range bounds never index out of the tensor.
pub(super) fn slice(
    t: SymTensor,
    starts: &[i64],
    ends: &[i64],
    axes: &[usize],
    steps: &[i64],
) -> OpResult<SymTensor> {
    if starts.len() != axes.len() || ends.len() != axes.len() || steps.len() != axes.len() {
        return Err(malformed(
            "Slice starts, ends, axes and steps differ in length",
        ));
    }
    let mut elems = t.elems;
    let mut seen = Vec::new();
    for (((&start, &end), &axis), &step) in starts.iter().zip(ends).zip(axes).zip(steps) {
        let dim = *elems
            .shape()
            .get(axis)
            .ok_or_else(|| malformed(format!("Slice axis {axis} out of range")))?;
        if seen.contains(&axis) {
            return Err(malformed(format!("Slice axis {axis} repeated")));
        }
        seen.push(axis);
        let dim = i64::try_from(dim).map_err(|_| malformed("axis too long"))?;
        let indices: Vec<usize> = if dim == 0 {
            Vec::new()
        } else if step > 0 {
            let (start, end) = (start.clamp(0, dim), end.clamp(0, dim));
            (start..end)
                .step_by(step as usize)
                .map(|i| i as usize)
                .collect()
        } else if step < 0 {
            let (start, end) = (start.clamp(0, dim - 1), end.clamp(-1, dim - 1));
            let stride = step.unsigned_abs() as usize;
            ((end + 1)..=start)
                .rev()
                .step_by(stride)
                .map(|i| i as usize)
                .collect()
        } else {
            return Err(malformed("Slice step is zero"));
        };
        elems = elems.select(Axis(axis), &indices);
    }
    Ok(SymTensor {
        dtype: t.dtype,
        elems,
    })
}

/// Concatenation along `axis`; all parts share the element type and the other axes.
pub(super) fn concat(parts: Vec<SymTensor>, axis: usize) -> OpResult<SymTensor> {
    let dtype = parts
        .first()
        .map(|p| p.dtype)
        .ok_or_else(|| malformed("Concat of nothing"))?;
    if parts.iter().any(|p| p.dtype != dtype) {
        return Err(malformed("Concat operands differ in element type"));
    }
    let views: Vec<ArrayView<'_, Expr, IxDyn>> = parts.iter().map(|p| p.elems.view()).collect();
    let elems = concatenate(Axis(axis), &views).map_err(|e| {
        let shapes: Vec<&[usize]> = parts.iter().map(SymTensor::shape).collect();
        malformed(format!("cannot concatenate {shapes:?} on axis {axis}: {e}"))
    })?;
    Ok(SymTensor { dtype, elems })
}

/// numpy `take` along `axis`. Literal indices pick elements (negative ones count from the end).
/// A computed index reads a [`Table`] (rows along `axis`) when all of `data` is literal, else a
/// chain of selects on the index taken modulo the axis length.
pub(super) fn gather(
    em: &mut Emitter<'_>,
    data: SymTensor,
    indices: SymTensor,
    axis: usize,
    hint: &str,
    table_hint: &str,
) -> OpResult<SymTensor> {
    if indices.dtype != DType::I64 {
        return Err(malformed(format!(
            "Gather indices are {:?}, not integers",
            indices.dtype
        )));
    }
    let shape = data.shape().to_vec();
    let rows = *shape
        .get(axis)
        .ok_or_else(|| malformed(format!("Gather axis {axis} out of range for {shape:?}")))?;
    let pre: usize = shape[..axis].iter().product();
    let post: usize = shape[axis + 1..].iter().product();
    let index_count = indices.elems.len();
    let dynamic = indices.literals().is_none();
    let table = match (dynamic, data.literals()) {
        (true, Some(literals)) => Some(table(em, &data, rows, pre, post, literals, table_hint)),
        (true, None) | (false, _) => None,
    };
    // Elements picked more than once are bound first, so their computation is not repeated.
    let repeats = if dynamic {
        table.is_none() && index_count > 1
    } else {
        let mut rows_picked: Vec<i64> = indices
            .literals()
            .unwrap_or_default()
            .into_iter()
            .map(|l| match l {
                Literal::Int(v) if v < 0 => {
                    v.saturating_add(i64::try_from(rows).unwrap_or(i64::MAX))
                }
                Literal::Int(v) => v,
                Literal::Float(_) | Literal::Bool(_) => -1,
            })
            .collect();
        rows_picked.sort_unstable();
        rows_picked.windows(2).any(|w| w[0] == w[1])
    };
    let data = if repeats {
        em.atomize_tensor(&format!("{hint}_data"), data)
    } else {
        data
    };
    let flat = data.to_vec();
    let mut picks = Vec::with_capacity(index_count);
    for (i, e) in indices.to_vec().into_iter().enumerate() {
        let idx_hint = element_hint(&format!("{hint}_idx"), i, index_count);
        let pick = if let Some(v) = int_of(&e) {
            let rows_i = i64::try_from(rows).map_err(|_| malformed("axis too long"))?;
            let r = if v < 0 { v + rows_i } else { v };
            if !(0..rows_i).contains(&r) {
                return Err(malformed(format!(
                    "Gather index {v} out of range for axis of length {rows}"
                )));
            }
            Pick::Row(r as usize)
        } else if table.is_some() {
            Pick::Lookup(em.atomize(&idx_hint, Type::Int, e))
        } else {
            let m = int(i64::try_from(rows).map_err(|_| malformed("axis too long"))?);
            // Python's `%` wraps an index in [-rows, rows) onto [0, rows) as ONNX does.
            Pick::Select(em.local(&idx_hint, Type::Int, binary(BinaryOp::Mod, e, m)))
        };
        picks.push(pick);
    }
    let mut out = Vec::with_capacity(pre * index_count * post);
    for p in 0..pre {
        for pick in &picks {
            for q in 0..post {
                let at = |r: usize| flat[(p * rows + r) * post + q].clone();
                out.push(match pick {
                    Pick::Row(r) => at(*r),
                    Pick::Lookup(index) => Expr::Lookup {
                        table: table.ok_or_else(|| malformed("missing table"))?,
                        index: Box::new(index.clone()),
                        column: p * post + q,
                    },
                    Pick::Select(j) => select_chain(j, rows, at)?,
                });
            }
        }
    }
    let out_shape = [&shape[..axis], indices.shape(), &shape[axis + 1..]].concat();
    SymTensor::from_vec(data.dtype, &out_shape, out)
        .ok_or_else(|| malformed("Gather size mismatch"))
}

/// How one index of a `Gather` picks its row.
enum Pick {
    /// A row known at compile time.
    Row(usize),
    /// A table lookup with this (atomic) index.
    Lookup(Expr),
    /// A select chain on this index variable, already wrapped into `[0, rows)`.
    Select(Expr),
}

/// `at(0) if j == 0 else at(1) if j == 1 else ... at(rows - 1)`.
fn select_chain(j: &Expr, rows: usize, at: impl Fn(usize) -> Expr) -> OpResult<Expr> {
    if rows == 0 {
        return Err(malformed("Gather from an empty axis"));
    }
    let mut chain = at(rows - 1);
    for r in (0..rows - 1).rev() {
        let k = i64::try_from(r).map_err(|_| malformed("axis too long"))?;
        let cond = binary(BinaryOp::Eq, j.clone(), Expr::Lit(Literal::Int(k)));
        chain = select(cond, at(r), chain);
    }
    Ok(chain)
}

/// The table of a literal tensor for lookups along an axis: row `r`, column `p * post + q` holds
/// element `[p, r, q]`. An identical table already in the program is reused.
fn table(
    em: &mut Emitter<'_>,
    data: &SymTensor,
    rows: usize,
    pre: usize,
    post: usize,
    literals: Vec<Literal>,
    hint: &str,
) -> TableId {
    let columns = pre * post;
    let mut cells = Vec::with_capacity(rows * columns);
    for r in 0..rows {
        for c in 0..columns {
            let (p, q) = (c / post.max(1), c % post.max(1));
            cells.push(literals[(p * rows + r) * post + q]);
        }
    }
    let ty = scalar_type(data.dtype);
    if let Some(i) = em
        .program
        .tables
        .iter()
        .position(|t| t.ty == ty && t.columns == columns && t.data == cells)
    {
        return TableId(i as u32);
    }
    em.program.add_table(Table {
        name: hint.to_string(),
        ty,
        columns,
        data: cells,
    })
}
