//! ONNX nodes to network IR ops: attribute resolution for the elementwise, matrix and shape ops.
//!
//! Constant operands that ONNX passes as inputs (Reshape's shape, Slice's bounds, the axes of
//! Squeeze and Unsqueeze from opset 13) move into the op; axes are made non-negative and
//! defaults filled in. The recurrent ops and `Scan` have files of their own.

use super::attrs::{normalise_axis, NodeCx};
use super::scope::{Converted, Scope};
use super::{decode, recurrent, ImportError};
use crate::network::infer::clamp_slice;
use crate::network::{Op, Tensor, ValueId};

/// Converts one ONNX node (already known not to be an import-only op, nor a `Scan`, whose body
/// [`super::assemble`] imports).
///
/// Errors name the node: unsupported operator, missing or non-constant operand where a constant
/// is needed, attribute of the wrong type or out of range.
pub(super) fn convert(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Converted, ImportError> {
    let same = |op: Op| {
        Ok(Converted {
            op,
            inputs: inputs.to_vec(),
            n_outputs: 1,
        })
    };
    match cx.node.op_type.as_str() {
        "Gemm" => same(Op::Gemm {
            alpha: cx.float_or("alpha", 1.0)?,
            beta: cx.float_or("beta", 1.0)?,
            trans_a: cx.flag_or("transA", false)?,
            trans_b: cx.flag_or("transB", false)?,
        }),
        "MatMul" => same(Op::MatMul),
        "Add" => same(Op::Add),
        "Sub" => same(Op::Sub),
        "Mul" => same(Op::Mul),
        "Div" => same(Op::Div),
        "Neg" => same(Op::Neg),
        "Abs" => same(Op::Abs),
        "Exp" => same(Op::Exp),
        "Relu" => same(Op::Relu),
        "Tanh" => same(Op::Tanh),
        "Sigmoid" => same(Op::Sigmoid),
        "Identity" => same(Op::Identity),
        "Cast" => {
            let code = cx.int_req("to")?;
            let code = i32::try_from(code)
                .map_err(|_| cx.error(format!("Cast to the unknown type {code}")))?;
            same(Op::Cast {
                to: decode::dtype_of(code, "the target type of Cast", &cx.location())?,
            })
        }
        "Concat" => {
            let rank = rank(cx, scope, inputs, 0)?;
            same(Op::Concat {
                axis: cx.axis(cx.int_req("axis")?, rank, "axis")?,
            })
        }
        "Gather" => {
            let rank = rank(cx, scope, inputs, 0)?;
            same(Op::Gather {
                axis: cx.axis(cx.int_or("axis", 0)?, rank, "axis")?,
            })
        }
        "Softmax" => {
            let rank = rank(cx, scope, inputs, 0)?;
            let default = if cx.opset >= 13 { -1 } else { 1 };
            let axis = cx.axis(cx.int_or("axis", default)?, rank, "axis")?;
            // Before opset 13 Softmax flattens the axes from `axis` on into one; that only
            // agrees with the per-axis form when `axis` is the last axis.
            if cx.opset < 13 && axis + 1 != rank {
                return Err(cx.error(format!(
                    "Softmax before opset 13 normalises over all axes from {axis} on; only the \
                     last axis ({}) is supported",
                    rank.saturating_sub(1)
                )));
            }
            same(Op::Softmax { axis })
        }
        "ArgMax" => {
            let rank = rank(cx, scope, inputs, 0)?;
            same(Op::ArgMax {
                axis: cx.axis(cx.int_or("axis", 0)?, rank, "axis")?,
                keepdims: cx.flag_or("keepdims", true)?,
                select_last_index: cx.flag_or("select_last_index", false)?,
            })
        }
        "Transpose" => {
            let rank = rank(cx, scope, inputs, 0)?;
            let perm = match cx.ints("perm")? {
                None => (0..rank).rev().collect(),
                Some(p) => p
                    .iter()
                    .map(|&a| {
                        usize::try_from(a).map_err(|_| {
                            cx.error(format!("Transpose has a negative perm entry {a}"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            };
            same(Op::Transpose { perm })
        }
        "Slice" => slice(cx, scope, inputs),
        "Reshape" => reshape(cx, scope, inputs),
        "Flatten" => flatten(cx, scope, inputs),
        "Squeeze" => squeeze(cx, scope, inputs),
        "Unsqueeze" => unsqueeze(cx, scope, inputs),
        "Dropout" => dropout(cx, scope, inputs),
        "RNN" | "GRU" | "LSTM" => recurrent::convert(cx, scope, inputs),
        _ => Err(cx.error(format!("unsupported operator {}", cx.op()))),
    }
}

fn rank(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
    i: usize,
) -> Result<usize, ImportError> {
    Ok(scope.ty(cx.operand(inputs, i)?).shape.len())
}

/// The values of a constant integer operand (a scalar or a vector), or `None` when absent.
pub(super) fn const_ints(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
    i: usize,
    what: &str,
) -> Result<Option<Vec<i64>>, ImportError> {
    let Some(id) = inputs.get(i).copied().flatten() else {
        return Ok(None);
    };
    match scope.constant(id) {
        Some(Tensor::I64(a)) if a.ndim() <= 1 => Ok(Some(a.iter().copied().collect())),
        Some(other) => Err(cx.error(format!(
            "the {what} of {} must be a 1-D int64 tensor, found {:?} of shape {:?}",
            cx.op(),
            other.dtype(),
            other.shape()
        ))),
        None => Err(cx.error(format!(
            "the {what} of {} must be a constant, but \"{}\" is computed at run time",
            cx.op(),
            scope.graph.value(id).name.escape_debug()
        ))),
    }
}

/// The data operand alone, for ops whose other operands moved into the op.
fn data_only(cx: &NodeCx, inputs: &[Option<ValueId>], op: Op) -> Result<Converted, ImportError> {
    Ok(Converted {
        op,
        inputs: vec![Some(cx.operand(inputs, 0)?)],
        n_outputs: 1,
    })
}

fn slice(cx: &NodeCx, scope: &Scope, inputs: &[Option<ValueId>]) -> Result<Converted, ImportError> {
    let shape = scope.ty(cx.operand(inputs, 0)?).shape.clone();
    let (starts, ends, axes, steps) = if cx.opset < 10 {
        let need = |name: &str| -> Result<Vec<i64>, ImportError> {
            cx.ints(name)?
                .map(<[i64]>::to_vec)
                .ok_or_else(|| cx.error(format!("Slice needs the attribute '{name}'")))
        };
        (
            need("starts")?,
            need("ends")?,
            cx.ints("axes")?.map(<[i64]>::to_vec),
            None,
        )
    } else {
        let need = |i, what| {
            const_ints(cx, scope, inputs, i, what)?
                .ok_or_else(|| cx.error(format!("Slice needs its {what} input")))
        };
        (
            need(1, "starts")?,
            need(2, "ends")?,
            const_ints(cx, scope, inputs, 3, "axes")?,
            const_ints(cx, scope, inputs, 4, "steps")?,
        )
    };
    let n = starts.len();
    let axes = axes.unwrap_or_else(|| (0..n as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; n]);
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return Err(cx.error(format!(
            "Slice has {n} starts, {} ends, {} axes and {} steps",
            ends.len(),
            axes.len(),
            steps.len()
        )));
    }
    let mut out_axes = Vec::with_capacity(n);
    let (mut out_starts, mut out_ends) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let axis = cx.axis(axes[i], shape.len(), "axis")?;
        let dim = shape[axis];
        let (start, mut end) = clamp_slice(dim, starts[i], ends[i], steps[i])
            .ok_or_else(|| cx.error(format!("Slice has a zero step on axis {axis}")))?;
        // A negative step that runs through index 0 clamps its end to -1, which would read as
        // "from the end" if normalised again; -(dim + 1) means the same under both readings.
        if steps[i] < 0 && end == -1 {
            end = -(dim as i64) - 1;
        }
        out_axes.push(axis);
        out_starts.push(start);
        out_ends.push(end);
    }
    data_only(
        cx,
        inputs,
        Op::Slice {
            starts: out_starts,
            ends: out_ends,
            axes: out_axes,
            steps,
        },
    )
}

fn reshape(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Converted, ImportError> {
    let input = scope.ty(cx.operand(inputs, 0)?).clone();
    let requested = const_ints(cx, scope, inputs, 1, "shape")?
        .ok_or_else(|| cx.error("Reshape needs its shape input"))?;
    let allow_zero = cx.flag_or("allowzero", false)?;
    let mut shape = Vec::with_capacity(requested.len());
    let mut inferred = None;
    for (i, &d) in requested.iter().enumerate() {
        shape.push(match d {
            0 if !allow_zero => *input.shape.get(i).ok_or_else(|| {
                cx.error(format!(
                    "Reshape copies dimension {i} (a 0 in the shape), but the input has rank {}",
                    input.shape.len()
                ))
            })?,
            -1 if inferred.is_none() => {
                inferred = Some(i);
                1
            }
            -1 => return Err(cx.error("Reshape has more than one -1 in its shape")),
            d => usize::try_from(d)
                .map_err(|_| cx.error(format!("Reshape has the invalid dimension {d}")))?,
        });
    }
    if let Some(i) = inferred {
        let known = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let Some(known) = known.filter(|&k| k != 0 && input.len().is_multiple_of(k)) else {
            return Err(cx.error(format!(
                "Reshape cannot infer the -1 in {requested:?} for an input of shape {:?}",
                input.shape
            )));
        };
        shape[i] = input.len() / known;
    }
    data_only(cx, inputs, Op::Reshape { shape })
}

fn flatten(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Converted, ImportError> {
    let dims = scope.ty(cx.operand(inputs, 0)?).shape.clone();
    let axis = cx.int_or("axis", 1)?;
    // Flatten's axis ranges over [-rank, rank]: axis == rank puts everything in the first part.
    let axis = if axis == dims.len() as i64 {
        dims.len()
    } else {
        cx.axis(axis, dims.len(), "axis")?
    };
    let outer = dims[..axis].iter().product();
    let inner = dims[axis..].iter().product();
    data_only(
        cx,
        inputs,
        Op::Reshape {
            shape: vec![outer, inner],
        },
    )
}

/// The axes of Squeeze or Unsqueeze: the attribute before opset 13, the input from 13 on.
fn axes_operand(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Option<Vec<i64>>, ImportError> {
    if cx.opset < 13 {
        Ok(cx.ints("axes")?.map(<[i64]>::to_vec))
    } else {
        const_ints(cx, scope, inputs, 1, "axes")
    }
}

fn squeeze(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Converted, ImportError> {
    let dims = scope.ty(cx.operand(inputs, 0)?).shape.clone();
    let mut axes: Vec<usize> = match axes_operand(cx, scope, inputs)? {
        None => (0..dims.len()).filter(|&a| dims[a] == 1).collect(),
        Some(axes) => axes
            .iter()
            .map(|&a| cx.axis(a, dims.len(), "axis"))
            .collect::<Result<_, _>>()?,
    };
    axes.sort_unstable();
    data_only(cx, inputs, Op::Squeeze { axes })
}

fn unsqueeze(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Converted, ImportError> {
    let rank = rank(cx, scope, inputs, 0)?;
    let axes = axes_operand(cx, scope, inputs)?.ok_or_else(|| cx.error("Unsqueeze needs axes"))?;
    let out_rank = rank + axes.len();
    let mut axes: Vec<usize> = axes
        .iter()
        .map(|&a| {
            normalise_axis(a, out_rank).ok_or_else(|| {
                cx.error(format!(
                    "axis {a} of Unsqueeze is out of range for an output of rank {out_rank}"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    axes.sort_unstable();
    data_only(cx, inputs, Op::Unsqueeze { axes })
}

fn dropout(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Converted, ImportError> {
    if let Some(id) = inputs.get(2).copied().flatten() {
        let inference = match scope.constant(id) {
            Some(Tensor::Bool(a)) => a.iter().all(|&t| !t),
            Some(Tensor::F32(_) | Tensor::I64(_)) | None => false,
        };
        if !inference {
            return Err(cx.error(
                "Dropout in training mode is not supported (training_mode must be a constant false)",
            ));
        }
    }
    data_only(cx, inputs, Op::Identity)
}
