//! Elementwise ops: broadcast arithmetic, negation, absolute value, nonlinearities and casts.

use ndarray::{ArrayD, IxDyn};

use crate::network::shape::broadcast;
use crate::network::DType;
use crate::program::{BinaryOp, Expr, Func, Literal, Type};

use super::numeric::{common_numeric_type, numeric_type};
use super::symbolic::{
    add, binary, bool_of, call, div, element_hint, float, float_of, int, int_of, mul, neg,
    scalar_type, select, sub, Emitter, SymTensor,
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
    let ty = common_numeric_type(&a, &b, "arithmetic on")?;
    let shape = broadcast(a.shape(), b.shape()).map_err(|_| {
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
    if let (Some(x), Some(y)) = (int_of(&a), int_of(&b)) {
        // Rust's `/` on integers truncates toward zero, as ONNX does.
        if let Some(q) = x.checked_div(y) {
            return int(q);
        }
    }
    match int_of(&b) {
        Some(1) => a,
        Some(y) if y > 0 => {
            let a = em.atomize(&format!("{hint}_n"), Type::Int, a);
            // a < 0: trunc(a / y) = -((-a) // y); otherwise plain floor division.
            select(
                negative(a.clone()),
                neg(floordiv(neg(a.clone()), int(y))),
                floordiv(a, int(y)),
            )
        }
        Some(y) if y < 0 && y != i64::MIN => {
            let m = int(-y);
            let a = em.atomize(&format!("{hint}_n"), Type::Int, a);
            // b < 0: trunc(a / b) = (-a) // |b| for a < 0, and -(a // |b|) otherwise.
            select(
                negative(a.clone()),
                floordiv(neg(a.clone()), m.clone()),
                neg(floordiv(a, m)),
            )
        }
        Some(_) | None => {
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
    numeric_type(t.dtype, "negation of")?;
    Ok(map(t, neg))
}

/// `|t|` elementwise (ONNX `Abs`); literals are folded (exact).
pub(super) fn abs(t: SymTensor) -> OpResult<SymTensor> {
    numeric_type(t.dtype, "Abs of")?;
    Ok(map(t, |e| {
        if let Some(v) = float_of(&e) {
            float(v.abs())
        } else if let Some(v) = int_of(&e).and_then(i64::checked_abs) {
            int(v)
        } else {
            call(Func::Abs, vec![e])
        }
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
        // Python's `max(0.0, v)` keeps 0.0 unless `v > 0.0`, which also settles NaN.
        (Nonlinear::Relu, Type::Float) => map(t, |e| match float_of(&e) {
            Some(v) => float(if v > 0.0 { v } else { 0.0 }),
            None => call(Func::Max, vec![float(0.0), e]),
        }),
        (Nonlinear::Relu, Type::Int) => map(t, |e| match int_of(&e) {
            Some(v) => int(v.max(0)),
            None => call(Func::Max, vec![int(0), e]),
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
    match (from, to) {
        (DType::F32, DType::F32) | (DType::I64, DType::I64) | (DType::Bool, DType::Bool) => e,
        (DType::F32, DType::I64) => match float_of(&e) {
            Some(v) if v.is_finite() && v.abs() < LIMIT => int(v.trunc() as i64),
            Some(_) | None => call(Func::Int, vec![e]),
        },
        (DType::F32, DType::Bool) => match float_of(&e) {
            Some(v) => Expr::Lit(Literal::Bool(v != 0.0)),
            None => binary(BinaryOp::Ne, e, float(0.0)),
        },
        // Rust's `as f64` rounds to nearest, ties to even, exactly as Python's `float(int)`.
        (DType::I64, DType::F32) => match int_of(&e) {
            Some(v) => float(v as f64),
            None => call(Func::Float, vec![e]),
        },
        (DType::I64, DType::Bool) => match int_of(&e) {
            Some(v) => Expr::Lit(Literal::Bool(v != 0)),
            None => binary(BinaryOp::Ne, e, int(0)),
        },
        (DType::Bool, DType::F32) => match bool_of(&e) {
            Some(v) => float(if v { 1.0 } else { 0.0 }),
            None => call(Func::Float, vec![e]),
        },
        (DType::Bool, DType::I64) => match bool_of(&e) {
            Some(v) => int(i64::from(v)),
            None => call(Func::Int, vec![e]),
        },
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
