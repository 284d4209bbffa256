//! Static type inference for network IR ops: output element types and shapes from operand types.
//!
//! The rules are those of the ONNX operator specification restricted to the attributes kept in
//! [`Op`]: numpy broadcasting for elementwise ops, numpy `matmul` for `MatMul`, the recurrent ops'
//! `Y`/`Y_h`/`Y_c` shapes with `layout` and the number of directions, and `Scan` from its body.

use super::shape::broadcast;
use super::{DType, Direction, Op, RecurrentAttrs, ScanAttrs, TensorType};

/// The output types of `op` applied to operands of the given types (`None` for an absent
/// optional input), for `n_outputs` outputs; `Err` with a message when the operands do not fit.
///
/// Checks operand counts, element types, ranks and dimensions, and the number of outputs the op
/// can produce; never panics.
pub fn infer_types(
    op: &Op,
    inputs: &[Option<&TensorType>],
    n_outputs: usize,
) -> Result<Vec<TensorType>, String> {
    match op {
        Op::Gemm {
            trans_a, trans_b, ..
        } => {
            let (a, b) = numeric_pair(inputs, 3, n_outputs)?;
            let (m, k) = matrix(a, *trans_a, "A")?;
            let (k2, n) = matrix(b, *trans_b, "B")?;
            if k != k2 {
                return Err(format!(
                    "inner dimensions differ: A' is {m}x{k} and B' is {k2}x{n}"
                ));
            }
            if let Some(c) = optional(inputs, 2) {
                same_dtype(a, c, "A", "C")?;
                let out = broadcast(&c.shape, &[m, n])
                    .map_err(|e| format!("C does not broadcast to [{m}, {n}]: {e}"))?;
                if out != [m, n] {
                    return Err(format!(
                        "C of shape {:?} does not broadcast to [{m}, {n}]",
                        c.shape
                    ));
                }
            }
            Ok(vec![ty(a.dtype, vec![m, n])])
        }
        Op::MatMul => {
            let (a, b) = numeric_pair(inputs, 2, n_outputs)?;
            Ok(vec![ty(a.dtype, matmul_shape(&a.shape, &b.shape)?)])
        }
        Op::Add | Op::Sub | Op::Mul | Op::Div => {
            let (a, b) = numeric_pair(inputs, 2, n_outputs)?;
            let shape = broadcast(&a.shape, &b.shape).map_err(|e| e.to_string())?;
            Ok(vec![ty(a.dtype, shape)])
        }
        Op::Neg | Op::Abs | Op::Relu => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            let x = operand(inputs, 0, "X")?;
            numeric(x, "X")?;
            Ok(vec![x.clone()])
        }
        Op::Exp | Op::Tanh | Op::Sigmoid => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            let x = operand(inputs, 0, "X")?;
            float(x, "X")?;
            Ok(vec![x.clone()])
        }
        Op::Identity => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            Ok(vec![operand(inputs, 0, "X")?.clone()])
        }
        Op::Cast { to } => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            let x = operand(inputs, 0, "X")?;
            Ok(vec![ty(*to, x.shape.clone())])
        }
        Op::Concat { axis } => concat(inputs, *axis, n_outputs),
        Op::Gather { axis } => {
            arity(inputs, 2, 2, n_outputs, 1)?;
            let data = operand(inputs, 0, "data")?;
            let indices = operand(inputs, 1, "indices")?;
            if indices.dtype != DType::I64 {
                return Err(format!(
                    "indices must be integers, found {:?}",
                    indices.dtype
                ));
            }
            check_axis(*axis, data.shape.len(), "data")?;
            let mut shape = data.shape[..*axis].to_vec();
            shape.extend_from_slice(&indices.shape);
            shape.extend_from_slice(&data.shape[axis + 1..]);
            Ok(vec![ty(data.dtype, shape)])
        }
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        } => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            let x = operand(inputs, 0, "data")?;
            if starts.len() != axes.len() || ends.len() != axes.len() || steps.len() != axes.len() {
                return Err("starts, ends, axes and steps differ in length".to_string());
            }
            let mut shape = x.shape.clone();
            let mut seen = vec![false; shape.len()];
            for (i, &axis) in axes.iter().enumerate() {
                check_axis(axis, shape.len(), "data")?;
                if std::mem::replace(&mut seen[axis], true) {
                    return Err(format!("axis {axis} is sliced twice"));
                }
                shape[axis] = slice_len(x.shape[axis], starts[i], ends[i], steps[i])
                    .ok_or_else(|| format!("step of axis {axis} is zero"))?;
            }
            Ok(vec![ty(x.dtype, shape)])
        }
        Op::Reshape { shape } => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            let x = operand(inputs, 0, "data")?;
            if checked_len(shape).is_none() || checked_len(shape) != checked_len(&x.shape) {
                return Err(format!("cannot reshape {:?} to {shape:?}", x.shape));
            }
            Ok(vec![ty(x.dtype, shape.clone())])
        }
        Op::Transpose { perm } => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            let x = operand(inputs, 0, "data")?;
            let mut seen = vec![false; x.shape.len()];
            if perm.len() != x.shape.len() {
                return Err(format!(
                    "perm {perm:?} does not fit an input of rank {}",
                    x.shape.len()
                ));
            }
            for &p in perm {
                if p >= seen.len() || std::mem::replace(&mut seen[p], true) {
                    return Err(format!("perm {perm:?} is not a permutation"));
                }
            }
            Ok(vec![ty(
                x.dtype,
                perm.iter().map(|&p| x.shape[p]).collect(),
            )])
        }
        Op::Squeeze { axes } => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            let x = operand(inputs, 0, "data")?;
            let mut drop = vec![false; x.shape.len()];
            for &axis in axes {
                check_axis(axis, x.shape.len(), "data")?;
                if x.shape[axis] != 1 {
                    return Err(format!(
                        "cannot squeeze axis {axis} of size {}",
                        x.shape[axis]
                    ));
                }
                if std::mem::replace(&mut drop[axis], true) {
                    return Err(format!("axis {axis} is listed twice"));
                }
            }
            let shape = x
                .shape
                .iter()
                .zip(&drop)
                .filter(|(_, &d)| !d)
                .map(|(&s, _)| s)
                .collect();
            Ok(vec![ty(x.dtype, shape)])
        }
        Op::Unsqueeze { axes } => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            let x = operand(inputs, 0, "data")?;
            let rank = x.shape.len() + axes.len();
            let mut inserted = vec![false; rank];
            for &axis in axes {
                check_axis(axis, rank, "output")?;
                if std::mem::replace(&mut inserted[axis], true) {
                    return Err(format!("axis {axis} is listed twice"));
                }
            }
            let mut rest = x.shape.iter();
            let shape = inserted
                .iter()
                .map(|&ins| {
                    if ins {
                        1
                    } else {
                        rest.next().copied().unwrap_or(1)
                    }
                })
                .collect();
            Ok(vec![ty(x.dtype, shape)])
        }
        Op::Softmax { axis } => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            let x = operand(inputs, 0, "input")?;
            float(x, "input")?;
            check_axis(*axis, x.shape.len(), "input")?;
            Ok(vec![x.clone()])
        }
        Op::ArgMax { axis, keepdims, .. } => {
            arity(inputs, 1, 1, n_outputs, 1)?;
            let x = operand(inputs, 0, "data")?;
            numeric(x, "data")?;
            check_axis(*axis, x.shape.len(), "data")?;
            if x.shape[*axis] == 0 {
                return Err(format!("ArgMax over the empty axis {axis}"));
            }
            let mut shape = x.shape.clone();
            if *keepdims {
                shape[*axis] = 1;
            } else {
                shape.remove(*axis);
            }
            Ok(vec![ty(DType::I64, shape)])
        }
        Op::Rnn(attrs) => recurrent(attrs, 1, inputs, n_outputs, false),
        Op::Gru { attrs, .. } => recurrent(attrs, 3, inputs, n_outputs, false),
        Op::Lstm { attrs, .. } => recurrent(attrs, 4, inputs, n_outputs, true),
        Op::Scan(attrs) => scan(attrs, inputs, n_outputs),
    }
}

/// Number of elements an ONNX `Slice` keeps from an axis of size `dim`, clamping `start` and
/// `end` as the specification does; `None` when `step` is zero.
pub fn slice_len(dim: usize, start: i64, end: i64, step: i64) -> Option<usize> {
    let (start, end) = clamp_slice(dim, start, end, step)?;
    let span = if step > 0 { end - start } else { start - end };
    if span <= 0 {
        return Some(0);
    }
    let step = step.unsigned_abs();
    Some(span.unsigned_abs().div_ceil(step) as usize)
}

/// The bounds of an ONNX `Slice` on an axis of size `dim`, made absolute and clamped as the
/// specification does (`[0, dim]` for a positive step, start in `[0, dim - 1]` and end in
/// `[-1, dim - 1]` for a negative one); `None` when `step` is zero.
pub fn clamp_slice(dim: usize, start: i64, end: i64, step: i64) -> Option<(i64, i64)> {
    let dim = i64::try_from(dim).unwrap_or(i64::MAX);
    let absolute = |v: i64| if v < 0 { v.saturating_add(dim) } else { v };
    let (start, end) = (absolute(start), absolute(end));
    match step {
        0 => None,
        _ if dim == 0 => Some((0, 0)),
        s if s > 0 => Some((start.clamp(0, dim), end.clamp(0, dim))),
        _ => Some((start.clamp(0, dim - 1), end.clamp(-1, dim - 1))),
    }
}

fn ty(dtype: DType, shape: Vec<usize>) -> TensorType {
    TensorType { dtype, shape }
}

fn checked_len(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Checks the operand count (between `min` and `max`) and the requested output count.
fn arity(
    inputs: &[Option<&TensorType>],
    min: usize,
    max: usize,
    n_outputs: usize,
    max_outputs: usize,
) -> Result<(), String> {
    if inputs.len() < min || inputs.len() > max {
        return Err(if min == max {
            format!("expected {min} operands, found {}", inputs.len())
        } else {
            format!("expected {min} to {max} operands, found {}", inputs.len())
        });
    }
    if n_outputs == 0 || n_outputs > max_outputs {
        return Err(format!(
            "expected at most {max_outputs} outputs, found {n_outputs}"
        ));
    }
    Ok(())
}

fn operand<'a>(
    inputs: &[Option<&'a TensorType>],
    i: usize,
    what: &str,
) -> Result<&'a TensorType, String> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| format!("missing operand {what}"))
}

/// Operands `A` and `B` of a one-result numeric op taking 2 to `max` operands: both present,
/// numeric and of one element type.
fn numeric_pair<'a>(
    inputs: &[Option<&'a TensorType>],
    max: usize,
    n_outputs: usize,
) -> Result<(&'a TensorType, &'a TensorType), String> {
    arity(inputs, 2, max, n_outputs, 1)?;
    let a = operand(inputs, 0, "A")?;
    let b = operand(inputs, 1, "B")?;
    numeric(a, "A")?;
    same_dtype(a, b, "A", "B")?;
    Ok((a, b))
}

fn optional<'a>(inputs: &[Option<&'a TensorType>], i: usize) -> Option<&'a TensorType> {
    inputs.get(i).copied().flatten()
}

fn same_dtype(a: &TensorType, b: &TensorType, na: &str, nb: &str) -> Result<(), String> {
    if a.dtype == b.dtype {
        Ok(())
    } else {
        Err(format!("{na} is {:?} but {nb} is {:?}", a.dtype, b.dtype))
    }
}

fn numeric(x: &TensorType, what: &str) -> Result<(), String> {
    match x.dtype {
        DType::F32 | DType::I64 => Ok(()),
        DType::Bool => Err(format!("{what} must be numeric, found Bool")),
    }
}

fn float(x: &TensorType, what: &str) -> Result<(), String> {
    match x.dtype {
        DType::F32 => Ok(()),
        DType::I64 | DType::Bool => Err(format!("{what} must be F32, found {:?}", x.dtype)),
    }
}

fn check_axis(axis: usize, rank: usize, what: &str) -> Result<(), String> {
    if axis < rank {
        Ok(())
    } else {
        Err(format!(
            "axis {axis} is out of range for {what} of rank {rank}"
        ))
    }
}

fn expect_shape(x: &TensorType, want: &[usize], what: &str) -> Result<(), String> {
    if x.shape == want {
        Ok(())
    } else {
        Err(format!("{what} has shape {:?}, expected {want:?}", x.shape))
    }
}

/// The rows and columns of a rank-2 operand after an optional transposition.
fn matrix(x: &TensorType, transposed: bool, what: &str) -> Result<(usize, usize), String> {
    match x.shape[..] {
        [r, c] if transposed => Ok((c, r)),
        [r, c] => Ok((r, c)),
        _ => Err(format!(
            "{what} must be a matrix, found shape {:?}",
            x.shape
        )),
    }
}

fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    if a.is_empty() || b.is_empty() {
        return Err("MatMul operands must have rank 1 or more".to_string());
    }
    let a2: Vec<usize> = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Vec<usize> = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (k2, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != k2 {
        return Err(format!(
            "cannot multiply {a:?} by {b:?}: inner dimensions {k} and {k2} differ"
        ));
    }
    let mut out = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2])
        .map_err(|e| format!("batch dimensions do not broadcast: {e}"))?;
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    Ok(out)
}

fn concat(
    inputs: &[Option<&TensorType>],
    axis: usize,
    n_outputs: usize,
) -> Result<Vec<TensorType>, String> {
    arity(inputs, 1, usize::MAX, n_outputs, 1)?;
    let first = operand(inputs, 0, "0")?;
    check_axis(axis, first.shape.len(), "input 0")?;
    let mut shape = first.shape.clone();
    shape[axis] = 0;
    for i in 0..inputs.len() {
        let x = operand(inputs, i, &i.to_string())?;
        same_dtype(first, x, "input 0", &format!("input {i}"))?;
        let fits = x.shape.len() == shape.len()
            && x.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .all(|(d, (a, b))| d == axis || a == b);
        if !fits {
            return Err(format!(
                "cannot concatenate {:?} and {:?} along axis {axis}",
                first.shape, x.shape
            ));
        }
        shape[axis] += x.shape[axis];
    }
    Ok(vec![ty(first.dtype, shape)])
}

fn recurrent(
    attrs: &RecurrentAttrs,
    gates: usize,
    inputs: &[Option<&TensorType>],
    n_outputs: usize,
    lstm: bool,
) -> Result<Vec<TensorType>, String> {
    let (max_inputs, max_outputs) = if lstm { (8, 3) } else { (6, 2) };
    arity(inputs, 3, max_inputs, n_outputs, max_outputs)?;
    let x = operand(inputs, 0, "X")?;
    float(x, "X")?;
    let (t, batch, input_size) = match (&x.shape[..], attrs.batch_major) {
        (&[b, t, i], true) => (t, b, i),
        (&[t, b, i], false) => (t, b, i),
        _ => return Err(format!("X must have rank 3, found shape {:?}", x.shape)),
    };
    let dirs = match attrs.direction {
        Direction::Forward | Direction::Reverse => 1,
        Direction::Bidirectional => 2,
    };
    let per_dir = if lstm {
        3
    } else if gates == 3 {
        2
    } else {
        1
    };
    if attrs.activations.len() != per_dir * dirs {
        return Err(format!(
            "expected {} activations, found {}",
            per_dir * dirs,
            attrs.activations.len()
        ));
    }
    let h = attrs.hidden_size;
    let gh = gates
        .checked_mul(h)
        .ok_or_else(|| "hidden_size is too large".to_string())?;
    let state = if attrs.batch_major {
        vec![batch, dirs, h]
    } else {
        vec![dirs, batch, h]
    };
    let named = [
        (1, "W", vec![dirs, gh, input_size]),
        (2, "R", vec![dirs, gh, h]),
        (3, "B", vec![dirs, gh.saturating_mul(2)]),
        (5, "initial_h", state.clone()),
        (6, "initial_c", state.clone()),
        (7, "P", vec![dirs, h.saturating_mul(3)]),
    ];
    for (i, what, want) in named {
        if let Some(operand) = optional(inputs, i) {
            float(operand, what)?;
            expect_shape(operand, &want, what)?;
        }
    }
    operand(inputs, 1, "W")?;
    operand(inputs, 2, "R")?;
    if let Some(lens) = optional(inputs, 4) {
        if lens.dtype != DType::I64 {
            return Err(format!(
                "sequence_lens must be integers, found {:?}",
                lens.dtype
            ));
        }
        expect_shape(lens, &[batch], "sequence_lens")?;
    }
    let y = if attrs.batch_major {
        vec![batch, t, dirs, h]
    } else {
        vec![t, dirs, batch, h]
    };
    let mut out = vec![ty(DType::F32, y)];
    out.extend((1..n_outputs).map(|_| ty(DType::F32, state.clone())));
    Ok(out)
}

fn scan(
    attrs: &ScanAttrs,
    inputs: &[Option<&TensorType>],
    n_outputs: usize,
) -> Result<Vec<TensorType>, String> {
    let body = &attrs.body;
    let m = attrs.num_scan_inputs;
    if m == 0 || inputs.len() < m {
        return Err(format!(
            "expected at least {m} scan inputs (and at least one), found {} operands",
            inputs.len()
        ));
    }
    let n_states = inputs.len() - m;
    if attrs.scan_input_axes.len() != m || attrs.scan_input_reverse.len() != m {
        return Err("scan input axes or directions do not match num_scan_inputs".to_string());
    }
    if body.inputs.len() != inputs.len() {
        return Err(format!(
            "the body takes {} inputs but the Scan has {} operands",
            body.inputs.len(),
            inputs.len()
        ));
    }
    if body.outputs.len() != n_outputs || n_outputs < n_states {
        return Err(format!(
            "the body gives {} outputs but the Scan has {n_outputs} outputs and {n_states} states",
            body.outputs.len()
        ));
    }
    let k = n_outputs - n_states;
    if attrs.scan_output_axes.len() != k || attrs.scan_output_reverse.len() != k {
        return Err("scan output axes or directions do not match the scan outputs".to_string());
    }
    let body_ty = |id| body.values.get(id as usize).map(|v: &super::Value| &v.ty);
    let mut iterations = None;
    for (i, input) in inputs.iter().enumerate() {
        let outer = input.ok_or_else(|| format!("Scan operand {i} is absent"))?;
        let inner = body_ty(body.inputs[i].0).ok_or("body input out of range")?;
        let want = if i < n_states {
            outer.clone()
        } else {
            let axis = attrs.scan_input_axes[i - n_states];
            check_axis(axis, outer.shape.len(), "scan input")?;
            let len = outer.shape[axis];
            if *iterations.get_or_insert(len) != len {
                return Err(format!(
                    "scan inputs disagree on the number of iterations ({} vs {len})",
                    iterations.unwrap_or(len)
                ));
            }
            let mut shape = outer.shape.clone();
            shape.remove(axis);
            ty(outer.dtype, shape)
        };
        if *inner != want {
            return Err(format!(
                "body input {i} has type {inner:?} but the Scan gives {want:?}"
            ));
        }
    }
    let iterations = iterations.unwrap_or(0);
    let mut out = Vec::with_capacity(n_outputs);
    for (j, id) in body.outputs.iter().enumerate() {
        let inner = body_ty(id.0).ok_or("body output out of range")?;
        if j < n_states {
            if Some(inner) != inputs[j] {
                return Err(format!(
                    "state {j} enters the body as {:?} but leaves it as {inner:?}",
                    inputs[j]
                ));
            }
            out.push(inner.clone());
        } else {
            let axis = attrs.scan_output_axes[j - n_states];
            check_axis(axis, inner.shape.len() + 1, "scan output")?;
            let mut shape = inner.shape.clone();
            shape.insert(axis, iterations);
            out.push(ty(inner.dtype, shape));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Activation;

    fn f(shape: &[usize]) -> TensorType {
        ty(DType::F32, shape.to_vec())
    }

    fn one(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, String> {
        let inputs: Vec<Option<&TensorType>> = inputs.iter().map(|&t| Some(t)).collect();
        infer_types(op, &inputs, 1).map(|mut v| v.remove(0))
    }

    #[test]
    fn broadcasting_follows_numpy() {
        let mismatch = one(&Op::Add, &[&f(&[3]), &f(&[4])]).unwrap_err();
        assert!(mismatch.contains("3 vs 4"));
        assert_eq!(one(&Op::Add, &[&f(&[2, 1]), &f(&[3])]).unwrap(), f(&[2, 3]));
    }

    #[test]
    fn matmul_rules() {
        assert_eq!(
            one(&Op::MatMul, &[&f(&[1, 3]), &f(&[3, 2])]).unwrap(),
            f(&[1, 2])
        );
        assert_eq!(one(&Op::MatMul, &[&f(&[3]), &f(&[3, 2])]).unwrap(), f(&[2]));
        assert_eq!(one(&Op::MatMul, &[&f(&[2, 3]), &f(&[3])]).unwrap(), f(&[2]));
        assert_eq!(one(&Op::MatMul, &[&f(&[3]), &f(&[3])]).unwrap(), f(&[]));
        assert_eq!(
            one(&Op::MatMul, &[&f(&[5, 1, 2, 3]), &f(&[4, 3, 6])]).unwrap(),
            f(&[5, 4, 2, 6])
        );
        let err = one(&Op::MatMul, &[&f(&[1, 3]), &f(&[4, 2])]).unwrap_err();
        assert!(err.contains("inner dimensions 3 and 4"), "{err}");
    }

    #[test]
    fn gemm_transposes_and_checks_c() {
        let op = Op::Gemm {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: true,
        };
        assert_eq!(
            one(&op, &[&f(&[1, 3]), &f(&[2, 3]), &f(&[2])]).unwrap(),
            f(&[1, 2])
        );
        assert!(one(&op, &[&f(&[1, 3]), &f(&[2, 3]), &f(&[3])]).is_err());
        assert!(one(&op, &[&f(&[1, 3]), &f(&[3, 2])]).is_err());
    }

    #[test]
    fn shape_ops() {
        let slice = Op::Slice {
            starts: vec![1, 4],
            ends: vec![i64::MAX, -6],
            axes: vec![0, 1],
            steps: vec![2, -1],
        };
        assert_eq!(one(&slice, &[&f(&[6, 5])]).unwrap(), f(&[3, 5]));
        let gather = Op::Gather { axis: 1 };
        let idx = ty(DType::I64, vec![4]);
        assert_eq!(
            one(&gather, &[&f(&[2, 3, 5]), &idx]).unwrap(),
            f(&[2, 4, 5])
        );
        let scalar_idx = ty(DType::I64, vec![]);
        assert_eq!(
            one(&gather, &[&f(&[2, 3, 5]), &scalar_idx]).unwrap(),
            f(&[2, 5])
        );
        let unsq = Op::Unsqueeze { axes: vec![0, 3] };
        assert_eq!(one(&unsq, &[&f(&[2, 3])]).unwrap(), f(&[1, 2, 3, 1]));
        let sq = Op::Squeeze { axes: vec![0] };
        assert_eq!(one(&sq, &[&f(&[1, 2, 1])]).unwrap(), f(&[2, 1]));
        assert!(one(&Op::Squeeze { axes: vec![1] }, &[&f(&[1, 2])]).is_err());
        let tr = Op::Transpose {
            perm: vec![1, 0, 2],
        };
        assert_eq!(one(&tr, &[&f(&[2, 3, 4])]).unwrap(), f(&[3, 2, 4]));
        assert!(one(&Op::Transpose { perm: vec![0, 0] }, &[&f(&[2, 2])]).is_err());
        let cat = Op::Concat { axis: 1 };
        assert_eq!(one(&cat, &[&f(&[1, 2]), &f(&[1, 3])]).unwrap(), f(&[1, 5]));
        assert!(one(&cat, &[&f(&[1, 2]), &f(&[2, 3])]).is_err());
        let reshape = Op::Reshape { shape: vec![3, 2] };
        assert_eq!(one(&reshape, &[&f(&[1, 6])]).unwrap(), f(&[3, 2]));
        assert!(one(&reshape, &[&f(&[1, 5])]).is_err());
        let argmax = Op::ArgMax {
            axis: 1,
            keepdims: false,
            select_last_index: false,
        };
        assert_eq!(
            one(&argmax, &[&f(&[1, 4])]).unwrap(),
            ty(DType::I64, vec![1])
        );
        let cast = Op::Cast { to: DType::I64 };
        assert_eq!(one(&cast, &[&f(&[2])]).unwrap(), ty(DType::I64, vec![2]));
    }

    #[test]
    fn gru_shapes_with_layout_and_directions() {
        let attrs = RecurrentAttrs {
            hidden_size: 4,
            direction: Direction::Bidirectional,
            activations: [Activation::Sigmoid, Activation::Tanh].repeat(2),
            clip: None,
            batch_major: true,
        };
        let op = Op::Gru {
            attrs,
            linear_before_reset: true,
        };
        let x = f(&[1, 10, 3]);
        let w = f(&[2, 12, 3]);
        let r = f(&[2, 12, 4]);
        let b = f(&[2, 24]);
        let inputs = [Some(&x), Some(&w), Some(&r), Some(&b)];
        let out = infer_types(&op, &inputs, 2).unwrap();
        assert_eq!(out, vec![f(&[1, 10, 2, 4]), f(&[1, 2, 4])]);
        let bad_w = f(&[2, 12, 2]);
        let err = infer_types(&op, &[Some(&x), Some(&bad_w), Some(&r)], 2).unwrap_err();
        assert!(err.contains("W has shape [2, 12, 2]"), "{err}");
        assert!(infer_types(&op, &inputs, 3).is_err());
    }

    #[test]
    fn slice_len_clamps_like_onnx() {
        assert_eq!(slice_len(5, -1, i64::MIN, -1), Some(5));
        assert_eq!(slice_len(5, 0, 100, 1), Some(5));
        assert_eq!(slice_len(5, 3, 1, 1), Some(0));
        assert_eq!(slice_len(5, 0, 5, 0), None);
        assert_eq!(clamp_slice(5, 10, -10, -1), Some((4, -1)));
    }
}
