//! Import-only ops, evaluated away at import: `Constant`, `Shape`, `Size`, `ConstantOfShape`,
//! `Range`, and `Expand`, `Equal`, `Where` on constant operands.
//!
//! Shapes are static after binding, so `Shape` and `Size` always fold; the others must have
//! constant operands, else the node is refused (the network IR has no such ops).

use ndarray::{ArrayD, IxDyn, Zip};

use super::attrs::NodeCx;
use super::scope::Scope;
use super::{decode, ImportError};
use crate::network::{shape, Tensor, ValueId};

/// The outputs of an import-only node, or `None` when `cx.node` is not an import-only op.
pub(super) fn import_only(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Option<Vec<Tensor>>, ImportError> {
    let tensor = match cx.node.op_type.as_str() {
        "Constant" => constant(cx, scope)?,
        "Shape" => shape(cx, scope, inputs)?,
        "Size" => {
            let x = cx.operand(inputs, 0)?;
            let len = i64::try_from(scope.ty(x).len()).map_err(|_| cx.error("size overflows"))?;
            Tensor::I64(ArrayD::from_elem(IxDyn(&[]), len))
        }
        "ConstantOfShape" => constant_of_shape(cx, scope, inputs)?,
        "Range" => range(cx, scope, inputs)?,
        "Expand" => expand(cx, scope, inputs)?,
        "Equal" => equal(cx, scope, inputs)?,
        "Where" => where_(cx, scope, inputs)?,
        _ => return Ok(None),
    };
    if cx.node.output.len() != 1 {
        return Err(cx.error(format!(
            "{} has {} outputs, expected 1",
            cx.op(),
            cx.node.output.len()
        )));
    }
    decode::checked_count(
        tensor.shape(),
        &scope.cx.limits,
        &format!("the output of {}", cx.op()),
        &cx.location(),
    )?;
    Ok(Some(vec![tensor]))
}

/// The constant operand `i`, or an error saying the op needs constant operands.
fn constant_operand<'b>(
    cx: &NodeCx,
    scope: &'b Scope,
    inputs: &[Option<ValueId>],
    i: usize,
) -> Result<&'b Tensor, ImportError> {
    let id = cx.operand(inputs, i)?;
    scope.constant(id).ok_or_else(|| {
        cx.error(format!(
            "{} is supported only on constant inputs, but input {i} (\"{}\") is computed at run \
             time",
            cx.op(),
            scope.graph.value(id).name.escape_debug()
        ))
    })
}

/// A constant integer vector operand (a shape), checked to be non-negative.
fn shape_operand(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
    i: usize,
) -> Result<Vec<usize>, ImportError> {
    match constant_operand(cx, scope, inputs, i)? {
        Tensor::I64(a) if a.ndim() == 1 => a
            .iter()
            .map(|&d| {
                usize::try_from(d)
                    .map_err(|_| cx.error(format!("{} got the negative dimension {d}", cx.op())))
            })
            .collect(),
        other => Err(cx.error(format!(
            "{} needs a 1-D int64 shape, found {:?} of shape {:?}",
            cx.op(),
            other.dtype(),
            other.shape()
        ))),
    }
}

fn constant(cx: &NodeCx, scope: &Scope) -> Result<Tensor, ImportError> {
    let location = cx.location();
    if let Some(t) = cx.tensor("value")? {
        let what = format!("the value of {}", cx.op());
        return decode::tensor(t, &scope.cx.limits, &what, &location);
    }
    if let Some(v) = cx.float("value_float")? {
        return Ok(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), v)));
    }
    if let Some(v) = cx.int("value_int")? {
        return Ok(Tensor::I64(ArrayD::from_elem(IxDyn(&[]), v)));
    }
    if let Some(v) = cx.floats("value_floats")? {
        return Ok(Tensor::F32(
            ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec())
                .map_err(|e| cx.error(e.to_string()))?,
        ));
    }
    if let Some(v) = cx.ints("value_ints")? {
        return Ok(Tensor::I64(
            ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec())
                .map_err(|e| cx.error(e.to_string()))?,
        ));
    }
    let found: Vec<String> = cx.names().map(|n| n.escape_debug().to_string()).collect();
    Err(cx.error(format!(
        "Constant needs one of value, value_float(s), value_int(s); found [{}] (sparse and \
         string constants are not supported)",
        found.join(", ")
    )))
}

fn shape(cx: &NodeCx, scope: &Scope, inputs: &[Option<ValueId>]) -> Result<Tensor, ImportError> {
    let x = cx.operand(inputs, 0)?;
    let dims = &scope.ty(x).shape;
    let rank = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let start = clamp(cx.int_or("start", 0)?);
    let end = clamp(cx.int_or("end", rank)?);
    let kept: Vec<i64> = dims
        .get(start..end.max(start))
        .unwrap_or(&[])
        .iter()
        .map(|&d| d as i64)
        .collect();
    Ok(Tensor::I64(
        ArrayD::from_shape_vec(IxDyn(&[kept.len()]), kept).map_err(|e| cx.error(e.to_string()))?,
    ))
}

fn constant_of_shape(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Tensor, ImportError> {
    let shape = shape_operand(cx, scope, inputs, 0)?;
    decode::checked_count(
        &shape,
        &scope.cx.limits,
        "the output of ConstantOfShape",
        &cx.location(),
    )?;
    let value = match cx.tensor("value")? {
        None => Tensor::F32(ArrayD::from_elem(IxDyn(&[1]), 0.0)),
        Some(t) => decode::tensor(
            t,
            &scope.cx.limits,
            "the value of ConstantOfShape",
            &cx.location(),
        )?,
    };
    let dim = IxDyn(&shape);
    let fill = match &value {
        Tensor::F32(a) => a
            .iter()
            .next()
            .map(|&v| Tensor::F32(ArrayD::from_elem(dim, v))),
        Tensor::I64(a) => a
            .iter()
            .next()
            .map(|&v| Tensor::I64(ArrayD::from_elem(dim, v))),
        Tensor::Bool(a) => a
            .iter()
            .next()
            .map(|&v| Tensor::Bool(ArrayD::from_elem(dim, v))),
    };
    match fill {
        Some(t) if value.shape().iter().product::<usize>() == 1 => Ok(t),
        _ => Err(cx.error("the value of ConstantOfShape must hold exactly one element")),
    }
}

fn range(cx: &NodeCx, scope: &Scope, inputs: &[Option<ValueId>]) -> Result<Tensor, ImportError> {
    let scalar = |i| -> Result<&Tensor, ImportError> {
        let t = constant_operand(cx, scope, inputs, i)?;
        if t.shape().iter().product::<usize>() != 1 || t.shape().len() > 1 {
            return Err(cx.error(format!("input {i} of Range must be a scalar")));
        }
        Ok(t)
    };
    let (start, limit, delta) = (scalar(0)?, scalar(1)?, scalar(2)?);
    let limits = &scope.cx.limits;
    let count = |n: f64| -> Result<usize, ImportError> {
        let n = n.ceil().max(0.0);
        if n.is_nan() || n > limits.max_tensor_elements as f64 {
            return Err(cx.error(format!(
                "Range gives {n} elements, more than the limit of {} (raise it with \
                 --max-tensor-elements)",
                limits.max_tensor_elements
            )));
        }
        Ok(n as usize)
    };
    match (start, limit, delta) {
        (Tensor::F32(s), Tensor::F32(l), Tensor::F32(d)) => {
            let (s, l, d) = (first(s), first(l), first(d));
            if d == 0.0 {
                return Err(cx.error("Range has a zero delta"));
            }
            let n = count((f64::from(l) - f64::from(s)) / f64::from(d))?;
            let data = (0..n).map(|i| s + i as f32 * d).collect();
            Ok(Tensor::F32(
                ArrayD::from_shape_vec(IxDyn(&[n]), data).map_err(|e| cx.error(e.to_string()))?,
            ))
        }
        (Tensor::I64(s), Tensor::I64(l), Tensor::I64(d)) => {
            let (s, l, d) = (first(s), first(l), first(d));
            if d == 0 {
                return Err(cx.error("Range has a zero delta"));
            }
            let span = i128::from(l) - i128::from(s);
            let n = count(span as f64 / d as f64)?;
            let data = (0..n as i64)
                .map(|i| s.wrapping_add(i.wrapping_mul(d)))
                .collect();
            Ok(Tensor::I64(
                ArrayD::from_shape_vec(IxDyn(&[n]), data).map_err(|e| cx.error(e.to_string()))?,
            ))
        }
        _ => Err(cx.error("the inputs of Range must all be float or all be int64")),
    }
}

fn first<T: Copy + Default>(a: &ArrayD<T>) -> T {
    a.iter().next().copied().unwrap_or_default()
}

fn expand(cx: &NodeCx, scope: &Scope, inputs: &[Option<ValueId>]) -> Result<Tensor, ImportError> {
    let x = constant_operand(cx, scope, inputs, 0)?;
    let target = shape_operand(cx, scope, inputs, 1)?;
    let shape =
        shape::broadcast(x.shape(), &target).map_err(|m| cx.error(format!("Expand: {m}")))?;
    decode::checked_count(
        &shape,
        &scope.cx.limits,
        "the output of Expand",
        &cx.location(),
    )?;
    broadcast_to(x, &shape).ok_or_else(|| cx.error("Expand: the input does not broadcast"))
}

fn equal(cx: &NodeCx, scope: &Scope, inputs: &[Option<ValueId>]) -> Result<Tensor, ImportError> {
    let x = constant_operand(cx, scope, inputs, 0)?;
    let y = constant_operand(cx, scope, inputs, 1)?;
    let shape =
        shape::broadcast(x.shape(), y.shape()).map_err(|m| cx.error(format!("Equal: {m}")))?;
    decode::checked_count(
        &shape,
        &scope.cx.limits,
        "the output of Equal",
        &cx.location(),
    )?;
    let bad = || cx.error("Equal: the operands do not broadcast or differ in element type");
    let out = match (
        broadcast_to(x, &shape).ok_or_else(bad)?,
        broadcast_to(y, &shape).ok_or_else(bad)?,
    ) {
        (Tensor::F32(a), Tensor::F32(c)) => Zip::from(&a).and(&c).map_collect(|p, q| p == q),
        (Tensor::I64(a), Tensor::I64(c)) => Zip::from(&a).and(&c).map_collect(|p, q| p == q),
        (Tensor::Bool(a), Tensor::Bool(c)) => Zip::from(&a).and(&c).map_collect(|p, q| p == q),
        _ => return Err(bad()),
    };
    Ok(Tensor::Bool(out))
}

fn where_(cx: &NodeCx, scope: &Scope, inputs: &[Option<ValueId>]) -> Result<Tensor, ImportError> {
    let c = constant_operand(cx, scope, inputs, 0)?;
    let x = constant_operand(cx, scope, inputs, 1)?;
    let y = constant_operand(cx, scope, inputs, 2)?;
    let shape = shape::broadcast(c.shape(), x.shape())
        .and_then(|s| shape::broadcast(&s, y.shape()))
        .map_err(|m| cx.error(format!("Where: {m}")))?;
    decode::checked_count(
        &shape,
        &scope.cx.limits,
        "the output of Where",
        &cx.location(),
    )?;
    let bad = || cx.error("Where needs a bool condition and two values of one element type");
    let Some(Tensor::Bool(c)) = broadcast_to(c, &shape) else {
        return Err(bad());
    };
    let pick = |c: &bool, p: &f32, q: &f32| if *c { *p } else { *q };
    match (
        broadcast_to(x, &shape).ok_or_else(bad)?,
        broadcast_to(y, &shape).ok_or_else(bad)?,
    ) {
        (Tensor::F32(p), Tensor::F32(q)) => {
            Ok(Tensor::F32(Zip::from(&c).and(&p).and(&q).map_collect(pick)))
        }
        (Tensor::I64(p), Tensor::I64(q)) => Ok(Tensor::I64(
            Zip::from(&c)
                .and(&p)
                .and(&q)
                .map_collect(|c, p, q| if *c { *p } else { *q }),
        )),
        (Tensor::Bool(p), Tensor::Bool(q)) => Ok(Tensor::Bool(
            Zip::from(&c)
                .and(&p)
                .and(&q)
                .map_collect(|c, p, q| if *c { *p } else { *q }),
        )),
        _ => Err(bad()),
    }
}

/// `t` broadcast to `shape`, or `None` when it does not broadcast.
fn broadcast_to(t: &Tensor, shape: &[usize]) -> Option<Tensor> {
    let dim = IxDyn(shape);
    Some(match t {
        Tensor::F32(a) => Tensor::F32(a.broadcast(dim)?.to_owned()),
        Tensor::I64(a) => Tensor::I64(a.broadcast(dim)?.to_owned()),
        Tensor::Bool(a) => Tensor::Bool(a.broadcast(dim)?.to_owned()),
    })
}
