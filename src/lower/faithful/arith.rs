//! Elementwise ops: broadcast arithmetic, negation, absolute value, nonlinearities and casts.

use ndarray::{ArrayD, IxDyn};

use crate::network::DType;
use crate::program::{BinaryOp, Expr, Func, Literal, Type};

use super::graph::is_numeric;
use super::symbolic::{
    add, binary, call, div, element_hint, mul, neg, scalar_type, select, sub, Emitter, SymTensor,
};
use super::{malformed, unsupported, OpResult};

/// A binary arithmetic op with numpy broadcasting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arith {
    Add,
    Sub,
    Mul,
    /// True division for floats; truncation toward zero for integers, as in ONNX.
    Div,
}

/// A nonlinearity whose every output element is bound to its own local.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nonlinear {
    Relu,
    Exp,
    Tanh,
    Sigmoid,
}

/// The numpy broadcast of two shapes, or `None` when they are incompatible.
pub(super) fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        // Axis `i` counted from the right; missing leading axes have size 1.
        if i < s.len() {
            s[s.len() - 1 - i]
        } else {
            1
        }
    };
    let mut out = vec![0; rank];
    for i in 0..rank {
        let (x, y) = (dim(a, i), dim(b, i));
        out[rank - 1 - i] = match (x, y) {
            _ if x == y => x,
            (1, _) => y,
            (_, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// The elements of `t` broadcast to `shape`, in row-major order.
pub(super) fn broadcast_elems(t: &SymTensor, shape: &[usize]) -> OpResult<Vec<Expr>> {
    let view = t.elems.broadcast(IxDyn(shape)).ok_or_else(|| {
        malformed(format!(
            "shape {:?} does not broadcast to {shape:?}",
            t.shape()
        ))
    })?;
    Ok(view.iter().cloned().collect())
}

/// `a op b` elementwise with numpy broadcasting. An operand whose elements broadcasting repeats
/// has its compound elements bound to locals first.
pub(super) fn elementwise(
    em: &mut Emitter<'_>,
    op: Arith,
    a: SymTensor,
    b: SymTensor,
    hint: &str,
) -> OpResult<SymTensor> {
    if a.dtype != b.dtype {
        return Err(malformed(format!(
            "operands have element types {:?} and {:?}",
            a.dtype, b.dtype
        )));
    }
    let ty = scalar_type(a.dtype);
    if !is_numeric(ty) {
        return Err(unsupported(format!("arithmetic on {:?} tensors", a.dtype)));
    }
    let shape = broadcast_shape(a.shape(), b.shape()).ok_or_else(|| {
        malformed(format!(
            "shapes {:?} and {:?} do not broadcast",
            a.shape(),
            b.shape()
        ))
    })?;
    let count: usize = shape.iter().product();
    let a = if a.elems.len() < count {
        em.atomize_tensor(&format!("{hint}_a"), a)
    } else {
        a
    };
    let b = if b.elems.len() < count {
        em.atomize_tensor(&format!("{hint}_b"), b)
    } else {
        b
    };
    let xs = broadcast_elems(&a, &shape)?;
    let ys = broadcast_elems(&b, &shape)?;
    let mut out = Vec::with_capacity(count);
    for (i, (x, y)) in xs.into_iter().zip(ys).enumerate() {
        out.push(match (op, ty) {
            (Arith::Add, _) => add(x, y),
            (Arith::Sub, _) => sub(x, y),
            (Arith::Mul, _) => mul(x, y),
            (Arith::Div, Type::Int) => int_div(em, x, y, &element_hint(hint, i, count)),
            (Arith::Div, Type::Float | Type::Bool) => div(x, y),
        });
    }
    SymTensor::from_vec(a.dtype, &shape, out).ok_or_else(|| malformed("broadcast size mismatch"))
}

/// Integer division truncating toward zero (ONNX), written with Python's floor division:
/// `trunc(a / b) = sign * (|a| // |b|)` where the sign is negative when exactly one operand is.
pub(super) fn int_div(em: &mut Emitter<'_>, a: Expr, b: Expr, hint: &str) -> Expr {
    let floordiv = |x: Expr, y: Expr| binary(BinaryOp::FloorDiv, x, y);
    let negative = |x: Expr| binary(BinaryOp::Lt, x, Expr::Lit(Literal::Int(0)));
    match (&a, &b) {
        (Expr::Lit(Literal::Int(x)), Expr::Lit(Literal::Int(y))) => match x.checked_div(*y) {
            // Rust's `/` on integers truncates toward zero, as ONNX does.
            Some(q) => Expr::Lit(Literal::Int(q)),
            None => floordiv(a, b),
        },
        (_, Expr::Lit(Literal::Int(1))) => a,
        (_, Expr::Lit(Literal::Int(y))) if *y > 0 => {
            let y = *y;
            let a = em.atomize(&format!("{hint}_n"), Type::Int, a);
            // a < 0: trunc(a / y) = -((-a) // y); otherwise plain floor division.
            select(
                negative(a.clone()),
                neg(floordiv(neg(a.clone()), Expr::Lit(Literal::Int(y)))),
                floordiv(a, Expr::Lit(Literal::Int(y))),
            )
        }
        (_, Expr::Lit(Literal::Int(y))) if *y < 0 && *y != i64::MIN => {
            let m = Expr::Lit(Literal::Int(-*y));
            let a = em.atomize(&format!("{hint}_n"), Type::Int, a);
            // b < 0: trunc(a / b) = (-a) // |b| for a < 0, and -(a // |b|) otherwise.
            select(
                negative(a.clone()),
                floordiv(neg(a.clone()), m.clone()),
                neg(floordiv(a, m)),
            )
        }
        (_, _) => {
            let a = em.atomize(&format!("{hint}_n"), Type::Int, a);
            let b = em.atomize(&format!("{hint}_d"), Type::Int, b);
            let q = em.local(
                &format!("{hint}_q"),
                Type::Int,
                floordiv(
                    call(Func::Abs, vec![a.clone()]),
                    call(Func::Abs, vec![b.clone()]),
                ),
            );
            select(
                binary(BinaryOp::Xor, negative(a), negative(b)),
                neg(q.clone()),
                q,
            )
        }
    }
}

/// `-t` elementwise (ONNX `Neg`); literals are folded (exact).
pub(super) fn negate(t: SymTensor) -> OpResult<SymTensor> {
    if !is_numeric(scalar_type(t.dtype)) {
        return Err(unsupported(format!("negation of {:?} tensors", t.dtype)));
    }
    Ok(map(t, neg))
}

/// `|t|` elementwise (ONNX `Abs`); literals are folded (exact).
pub(super) fn abs(t: SymTensor) -> OpResult<SymTensor> {
    if !is_numeric(scalar_type(t.dtype)) {
        return Err(unsupported(format!("Abs of {:?} tensors", t.dtype)));
    }
    Ok(map(t, |e| match e {
        Expr::Lit(Literal::Float(v)) => Expr::Lit(Literal::Float(v.abs())),
        Expr::Lit(Literal::Int(v)) if v != i64::MIN => Expr::Lit(Literal::Int(v.abs())),
        other => call(Func::Abs, vec![other]),
    }))
}

/// A nonlinearity elementwise; every non-literal output element gets its own local. `Relu` of a
/// literal is folded (`max` is exact); the transcendental functions are never folded, so their
/// results are those of the Python runtime.
pub(super) fn nonlinear(
    em: &mut Emitter<'_>,
    f: Nonlinear,
    t: SymTensor,
    hint: &str,
) -> OpResult<SymTensor> {
    let ty = scalar_type(t.dtype);
    let out = match (f, ty) {
        (Nonlinear::Relu, Type::Float) => map(t, |e| match e {
            Expr::Lit(Literal::Float(v)) => {
                Expr::Lit(Literal::Float(if v > 0.0 { v } else { 0.0 }))
            }
            other => call(Func::Max, vec![Expr::Lit(Literal::Float(0.0)), other]),
        }),
        (Nonlinear::Relu, Type::Int) => map(t, |e| match e {
            Expr::Lit(Literal::Int(v)) => Expr::Lit(Literal::Int(v.max(0))),
            other => call(Func::Max, vec![Expr::Lit(Literal::Int(0)), other]),
        }),
        (Nonlinear::Exp, Type::Float) => map(t, |e| call(Func::Exp, vec![e])),
        (Nonlinear::Tanh, Type::Float) => map(t, |e| call(Func::Tanh, vec![e])),
        (Nonlinear::Sigmoid, Type::Float) => map(t, |e| call(Func::Sigmoid, vec![e])),
        (Nonlinear::Exp | Nonlinear::Tanh | Nonlinear::Sigmoid, Type::Int)
        | (Nonlinear::Relu | Nonlinear::Exp | Nonlinear::Tanh | Nonlinear::Sigmoid, Type::Bool) => {
            return Err(unsupported(format!("{f:?} of {:?} tensors", t.dtype)));
        }
    };
    Ok(em.atomize_tensor(hint, out))
}

/// ONNX `Cast`: float to integer truncates toward zero, anything to bool is `x != 0`, bool to a
/// number is 0 or 1. Literals are folded where Python would compute the same value.
pub(super) fn cast(t: SymTensor, to: DType) -> SymTensor {
    let from = t.dtype;
    let elems = t.elems.mapv(|e| cast_scalar(e, from, to));
    SymTensor { dtype: to, elems }
}

fn cast_scalar(e: Expr, from: DType, to: DType) -> Expr {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    match (from, to, e) {
        (DType::F32, DType::F32, e)
        | (DType::I64, DType::I64, e)
        | (DType::Bool, DType::Bool, e) => e,
        (DType::F32, DType::I64, Expr::Lit(Literal::Float(v)))
            if v.is_finite() && v.abs() < LIMIT =>
        {
            Expr::Lit(Literal::Int(v.trunc() as i64))
        }
        (DType::F32, DType::I64, e) => call(Func::Int, vec![e]),
        (DType::F32, DType::Bool, Expr::Lit(Literal::Float(v))) => {
            Expr::Lit(Literal::Bool(v != 0.0))
        }
        (DType::F32, DType::Bool, e) => binary(BinaryOp::Ne, e, Expr::Lit(Literal::Float(0.0))),
        // Rust's `as f64` rounds to nearest, ties to even, exactly as Python's `float(int)`.
        (DType::I64, DType::F32, Expr::Lit(Literal::Int(v))) => Expr::Lit(Literal::Float(v as f64)),
        (DType::I64, DType::F32, e) => call(Func::Float, vec![e]),
        (DType::I64, DType::Bool, Expr::Lit(Literal::Int(v))) => Expr::Lit(Literal::Bool(v != 0)),
        (DType::I64, DType::Bool, e) => binary(BinaryOp::Ne, e, Expr::Lit(Literal::Int(0))),
        (DType::Bool, DType::F32, Expr::Lit(Literal::Bool(v))) => {
            Expr::Lit(Literal::Float(if v { 1.0 } else { 0.0 }))
        }
        (DType::Bool, DType::F32, e) => call(Func::Float, vec![e]),
        (DType::Bool, DType::I64, Expr::Lit(Literal::Bool(v))) => {
            Expr::Lit(Literal::Int(i64::from(v)))
        }
        (DType::Bool, DType::I64, e) => call(Func::Int, vec![e]),
    }
}

/// Applies `f` to every element, keeping the shape and element type.
fn map(t: SymTensor, f: impl FnMut(Expr) -> Expr) -> SymTensor {
    let elems: ArrayD<Expr> = t.elems.mapv_into_any(f);
    SymTensor {
        dtype: t.dtype,
        elems,
    }
}
