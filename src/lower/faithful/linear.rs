//! Matrix products (`MatMul`, `Gemm`) written out term by term.
//!
//! Every output element is one sum of products, bound to its own local unless it folds to a
//! literal or a single variable. Products with a zero weight are dropped and a weight of one is
//! not written; an operand whose elements are read more than once has its compound elements bound
//! to locals first, so the program stays linear in the size of the network.

use std::iter;

use crate::network::shape::broadcast;
use crate::program::{Expr, Literal, Type};

use super::arith::broadcast_elems;
use super::numeric::common_numeric_type;
use super::symbolic::{add, mul, sum, zero_of, Emitter, SymTensor};
use super::{malformed, unsupported, OpResult};

/// The attributes of ONNX `Gemm`, with `alpha` and `beta` widened to `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Gemm {
    pub alpha: f64,
    pub beta: f64,
    pub trans_a: bool,
    pub trans_b: bool,
}

/// numpy `matmul`: 1-D operands are promoted to matrices (and the added axis removed from the
/// result), leading batch axes broadcast.
pub(super) fn matmul(
    em: &mut Emitter<'_>,
    a: SymTensor,
    b: SymTensor,
    hint: &str,
) -> OpResult<SymTensor> {
    let ty = common_numeric_type(&a, &b, "products of")?;
    if a.elems.ndim() == 0 || b.elems.ndim() == 0 {
        return Err(malformed("MatMul operands must have at least one axis"));
    }
    let a_vector = a.elems.ndim() == 1;
    let b_vector = b.elems.ndim() == 1;
    let a_shape = if a_vector {
        vec![1, a.shape()[0]]
    } else {
        a.shape().to_vec()
    };
    let b_shape = if b_vector {
        vec![b.shape()[0], 1]
    } else {
        b.shape().to_vec()
    };
    let (a_batch, a_mat) = a_shape.split_at(a_shape.len() - 2);
    let (b_batch, b_mat) = b_shape.split_at(b_shape.len() - 2);
    let (m, k, n) = (a_mat[0], a_mat[1], b_mat[1]);
    if b_mat[0] != k {
        return Err(malformed(format!(
            "MatMul of {:?} and {:?}: inner dimensions differ",
            a.shape(),
            b.shape()
        )));
    }
    let batch = broadcast(a_batch, b_batch).map_err(|_| {
        malformed(format!(
            "MatMul batch axes {a_batch:?} and {b_batch:?} do not broadcast"
        ))
    })?;
    let batches: usize = batch.iter().product();
    let a_reused = n > 1 || a_batch.iter().product::<usize>() < batches;
    let b_reused = m > 1 || b_batch.iter().product::<usize>() < batches;
    let a = reshape(a, &a_shape)?;
    let b = reshape(b, &b_shape)?;
    let a = if a_reused {
        em.atomize_tensor(&format!("{hint}_a"), a)
    } else {
        a
    };
    let b = if b_reused {
        em.atomize_tensor(&format!("{hint}_b"), b)
    } else {
        b
    };
    let xs = broadcast_elems(&a, &[batch.as_slice(), &[m, k]].concat())?;
    let ys = broadcast_elems(&b, &[batch.as_slice(), &[k, n]].concat())?;
    let mut out = Vec::with_capacity(batches * m * n);
    for bi in 0..batches {
        for i in 0..m {
            for j in 0..n {
                let terms = (0..k).map(|kk| {
                    mul(
                        xs[(bi * m + i) * k + kk].clone(),
                        ys[(bi * k + kk) * n + j].clone(),
                    )
                });
                out.push(sum(terms, zero_of(ty)));
            }
        }
    }
    let mut shape = batch;
    if !a_vector {
        shape.push(m);
    }
    if !b_vector {
        shape.push(n);
    }
    let out = SymTensor::from_vec(a.dtype, &shape, out)
        .ok_or_else(|| malformed("MatMul result size mismatch"))?;
    Ok(em.atomize_tensor(hint, out))
}

/// ONNX `Gemm`: `alpha * A' B' + beta * C` for matrices `A`, `B` and an optional `C` that
/// broadcasts to the result. When one of `A`, `B` is constant, `alpha` is folded into its
/// literals; the bias is written first in each sum.
pub(super) fn gemm(
    em: &mut Emitter<'_>,
    attrs: &Gemm,
    a: SymTensor,
    b: SymTensor,
    c: Option<SymTensor>,
    hint: &str,
) -> OpResult<SymTensor> {
    let ty = common_numeric_type(&a, &b, "products of")?;
    if a.elems.ndim() != 2 || b.elems.ndim() != 2 {
        return Err(malformed(format!(
            "Gemm needs matrices, found shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        )));
    }
    if ty == Type::Int && (attrs.alpha != 1.0 || (c.is_some() && attrs.beta != 1.0)) {
        return Err(unsupported("integer Gemm with alpha or beta other than 1"));
    }
    let a = if attrs.trans_a { transposed(a)? } else { a };
    let b = if attrs.trans_b { transposed(b)? } else { b };
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    if b.shape()[0] != k {
        return Err(malformed(format!(
            "Gemm of {:?} and {:?}: inner dimensions differ",
            a.shape(),
            b.shape()
        )));
    }

    let alpha = Expr::Lit(Literal::Float(attrs.alpha));
    let mut outer_alpha = false;
    let (a, b) = if attrs.alpha == 1.0 {
        (a, b)
    } else if b.literals().is_some() {
        let b = scale(b, &alpha);
        (a, b)
    } else if a.literals().is_some() {
        (scale(a, &alpha), b)
    } else {
        outer_alpha = true;
        (a, b)
    };
    let a = if n > 1 {
        em.atomize_tensor(&format!("{hint}_a"), a)
    } else {
        a
    };
    let b = if m > 1 {
        em.atomize_tensor(&format!("{hint}_b"), b)
    } else {
        b
    };
    let bias = match c {
        Some(c) => {
            if c.dtype != a.dtype {
                return Err(malformed(format!(
                    "Gemm bias is {:?}, operands are {:?}",
                    c.dtype, a.dtype
                )));
            }
            let c = if c.elems.len() < m * n {
                em.atomize_tensor(&format!("{hint}_c"), c)
            } else {
                c
            };
            let beta = Expr::Lit(Literal::Float(attrs.beta));
            let elems = broadcast_elems(&c, &[m, n])?;
            if ty == Type::Int {
                elems
            } else {
                elems.into_iter().map(|e| mul(beta.clone(), e)).collect()
            }
        }
        None => vec![zero_of(ty); m * n],
    };

    let xs = a.to_vec();
    let ys = b.to_vec();
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let terms = (0..k).map(|kk| mul(xs[i * k + kk].clone(), ys[kk * n + j].clone()));
            let bias = bias[i * n + j].clone();
            out.push(if outer_alpha {
                add(bias, mul(alpha.clone(), sum(terms, zero_of(ty))))
            } else {
                sum(iter::once(bias).chain(terms), zero_of(ty))
            });
        }
    }
    let out = SymTensor::from_vec(a.dtype, &[m, n], out)
        .ok_or_else(|| malformed("Gemm result size mismatch"))?;
    Ok(em.atomize_tensor(hint, out))
}

/// The same elements under another shape with the same element count.
fn reshape(t: SymTensor, shape: &[usize]) -> OpResult<SymTensor> {
    let dtype = t.dtype;
    SymTensor::from_vec(dtype, shape, t.to_vec())
        .ok_or_else(|| malformed(format!("cannot view {:?} as {shape:?}", t.shape())))
}

/// The transpose of a matrix.
fn transposed(t: SymTensor) -> OpResult<SymTensor> {
    let elems = t.elems.reversed_axes();
    let shape = elems.shape().to_vec();
    SymTensor::from_vec(t.dtype, &shape, elems.iter().cloned().collect())
        .ok_or_else(|| malformed("transpose size mismatch"))
}

/// Every element multiplied by the literal `factor` (folded for literal elements).
fn scale(t: SymTensor, factor: &Expr) -> SymTensor {
    SymTensor {
        dtype: t.dtype,
        elems: t.elems.mapv(|e| mul(factor.clone(), e)),
    }
}
