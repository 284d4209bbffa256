//! Ops that combine the elements along one axis: `Softmax` and `ArgMax`.

use ndarray::{ArrayD, IxDyn};

use crate::network::DType;
use crate::program::{BinaryOp, Expr, Func, Literal, Type};

use super::numeric::numeric_type;
use super::symbolic::{
    binary, call, div, element_hint, scalar_type, select, sub, Emitter, SymTensor,
};
use super::{malformed, unsupported, OpResult};

/// Softmax along `axis`: `exp(v_i - max(v)) / sum_j exp(v_j - max(v))`, with the maximum, each
/// exponential, the sum and each quotient bound to locals. A lane of one element is exactly 1.
pub(super) fn softmax(
    em: &mut Emitter<'_>,
    t: SymTensor,
    axis: usize,
    hint: &str,
) -> OpResult<SymTensor> {
    if t.dtype != DType::F32 {
        return Err(unsupported(format!("Softmax of {:?} tensors", t.dtype)));
    }
    let n = *t
        .shape()
        .get(axis)
        .ok_or_else(|| malformed(format!("Softmax axis {axis} out of range")))?;
    let t = if n > 1 {
        em.atomize_tensor(&format!("{hint}_in"), t)
    } else {
        t
    };
    let elems = map_lanes(&t.elems, axis, None, |lane| {
        let n = lane.len();
        if n == 1 {
            return vec![Expr::Lit(Literal::Float(1.0))];
        }
        let max = em.local(
            &format!("{hint}_max"),
            Type::Float,
            call(Func::Max, lane.clone()),
        );
        let exps: Vec<Expr> = lane
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let e = call(Func::Exp, vec![sub(v, max.clone())]);
                em.local(&element_hint(&format!("{hint}_exp"), i, n), Type::Float, e)
            })
            .collect();
        let total = exps
            .iter()
            .cloned()
            .reduce(|acc, e| binary(BinaryOp::Add, acc, e))
            .unwrap_or(Expr::Lit(Literal::Float(0.0)));
        let total = em.local(&format!("{hint}_sum"), Type::Float, total);
        exps.into_iter()
            .enumerate()
            .map(|(i, e)| {
                em.local(
                    &element_hint(hint, i, n),
                    Type::Float,
                    div(e, total.clone()),
                )
            })
            .collect()
    })?;
    Ok(SymTensor {
        dtype: DType::F32,
        elems,
    })
}

/// ArgMax along `axis` as an integer: the first (or last) index whose element equals the lane's
/// maximum, found with one `max` and a chain of selects. The axis stays with length 1 when
/// `keepdims`, else it is removed.
pub(super) fn argmax(
    em: &mut Emitter<'_>,
    t: SymTensor,
    axis: usize,
    keepdims: bool,
    select_last_index: bool,
    hint: &str,
) -> OpResult<SymTensor> {
    numeric_type(t.dtype, "ArgMax of")?;
    let n = *t
        .shape()
        .get(axis)
        .ok_or_else(|| malformed(format!("ArgMax axis {axis} out of range")))?;
    if n == 0 {
        return Err(malformed("ArgMax over an empty axis"));
    }
    let ty = scalar_type(t.dtype);
    let t = if n > 1 {
        em.atomize_tensor(&format!("{hint}_in"), t)
    } else {
        t
    };
    let elems = map_lanes(&t.elems, axis, Some(1), |lane| {
        if lane.len() == 1 {
            return vec![Expr::Lit(Literal::Int(0))];
        }
        let max = em.local(&format!("{hint}_max"), ty, call(Func::Max, lane.clone()));
        let mut order: Vec<usize> = (0..lane.len()).collect();
        if select_last_index {
            order.reverse();
        }
        let (&fallback, tried) = match order.split_last() {
            Some(split) => split,
            None => return vec![Expr::Lit(Literal::Int(0))],
        };
        let mut chain = index_lit(fallback);
        for &i in tried.iter().rev() {
            let cond = binary(BinaryOp::Eq, lane[i].clone(), max.clone());
            chain = select(cond, index_lit(i), chain);
        }
        vec![em.local(hint, Type::Int, chain)]
    })?;
    let elems = if keepdims {
        elems
    } else {
        let shape: Vec<usize> = elems
            .shape()
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != axis)
            .map(|(_, &d)| d)
            .collect();
        let flat: Vec<Expr> = elems.iter().cloned().collect();
        ArrayD::from_shape_vec(IxDyn(&shape), flat).map_err(|e| malformed(e.to_string()))?
    };
    Ok(SymTensor {
        dtype: DType::I64,
        elems,
    })
}

fn index_lit(i: usize) -> Expr {
    Expr::Lit(Literal::Int(i64::try_from(i).unwrap_or(i64::MAX)))
}

/// Applies `f` to every lane of `elems` along `axis` (in row-major order of the other axes) and
/// puts the results back in place; each result lane has `out_len` elements (`None`: as many as
/// the input lane).
fn map_lanes(
    elems: &ArrayD<Expr>,
    axis: usize,
    out_len: Option<usize>,
    mut f: impl FnMut(Vec<Expr>) -> Vec<Expr>,
) -> OpResult<ArrayD<Expr>> {
    let rank = elems.ndim();
    if axis >= rank {
        return Err(malformed(format!(
            "axis {axis} out of range for rank {rank}"
        )));
    }
    let n = elems.shape()[axis];
    let out_n = out_len.unwrap_or(n);
    let mut perm: Vec<usize> = (0..rank).filter(|&i| i != axis).collect();
    perm.push(axis);
    let moved = elems.view().permuted_axes(IxDyn(&perm));
    let mut moved_shape = moved.shape().to_vec();
    moved_shape[rank - 1] = out_n;
    let flat: Vec<Expr> = moved.iter().cloned().collect();
    let mut out = Vec::with_capacity(moved_shape.iter().product());
    if n > 0 {
        for lane in flat.chunks(n) {
            let result = f(lane.to_vec());
            if result.len() != out_n {
                return Err(malformed("lane result has the wrong length"));
            }
            out.extend(result);
        }
    }
    let moved_out =
        ArrayD::from_shape_vec(IxDyn(&moved_shape), out).map_err(|e| malformed(e.to_string()))?;
    // Axis `perm[j]` of the input is axis `j` of `moved_out`; invert to restore the order.
    let mut inverse = vec![0; rank];
    for (j, &p) in perm.iter().enumerate() {
        inverse[p] = j;
    }
    let restored = moved_out.permuted_axes(IxDyn(&inverse));
    let shape = restored.shape().to_vec();
    let flat: Vec<Expr> = restored.iter().cloned().collect();
    ArrayD::from_shape_vec(IxDyn(&shape), flat).map_err(|e| malformed(e.to_string()))
}
