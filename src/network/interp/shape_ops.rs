//! Ops that move elements without computing on them: `Concat`, `Gather`, `Slice`, `Reshape`,
//! `Transpose`, `Squeeze`, `Unsqueeze`.

use ndarray::{concatenate, ArrayD, ArrayView, Axis, IxDyn, Slice};

use super::{fail, reshape, shape_text, Element, InterpError};
use crate::network::Tensor;

/// Applies a generic function to the array inside a tensor, keeping its element type.
macro_rules! each_dtype {
    ($tensor:expr, $a:ident => $body:expr) => {
        match $tensor {
            Tensor::F32($a) => $body.map(Tensor::F32),
            Tensor::I64($a) => $body.map(Tensor::I64),
            Tensor::Bool($a) => $body.map(Tensor::Bool),
        }
    };
}

/// Joins tensors of one element type along `axis`; all other dimensions must agree.
pub(super) fn concat(parts: &[&Tensor], axis: usize) -> Result<Tensor, InterpError> {
    let Some(first) = parts.first() else {
        return fail("needs at least one operand");
    };
    each_dtype!(first, _a => concat_typed(parts, axis))
}

fn concat_typed<T: Element>(parts: &[&Tensor], axis: usize) -> Result<ArrayD<T>, InterpError> {
    let arrays = parts
        .iter()
        .map(|t| {
            T::array(t).ok_or_else(|| {
                InterpError::new(format!(
                    "operands mix element types {:?} and {:?}",
                    T::DTYPE,
                    t.dtype()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rank = arrays[0].ndim();
    if axis >= rank {
        return fail(format!("axis {axis} out of range for rank {rank}"));
    }
    for a in &arrays {
        let same = a.ndim() == rank
            && (0..rank).all(|d| d == axis || a.shape()[d] == arrays[0].shape()[d]);
        if !same {
            return fail(format!(
                "shapes {} and {} do not concatenate along axis {axis}",
                shape_text(arrays[0].shape()),
                shape_text(a.shape())
            ));
        }
    }
    let views: Vec<_> = arrays.iter().map(|a| a.view()).collect();
    concatenate(Axis(axis), &views).map_err(|e| InterpError::new(e.to_string()))
}

/// numpy `take(data, indices, axis)`: the output shape is `data.shape[..axis] + indices.shape +
/// data.shape[axis + 1..]`. Negative indices count from the end; out-of-range ones are errors.
pub(super) fn gather(
    data: &Tensor,
    indices: &ArrayD<i64>,
    axis: usize,
) -> Result<Tensor, InterpError> {
    each_dtype!(data, a => gather_typed(a, indices, axis))
}

fn gather_typed<T: Element>(
    data: &ArrayD<T>,
    indices: &ArrayD<i64>,
    axis: usize,
) -> Result<ArrayD<T>, InterpError> {
    let rank = data.ndim();
    if axis >= rank {
        return fail(format!("axis {axis} out of range for rank {rank}"));
    }
    let dim = data.shape()[axis];
    let mut positions = Vec::with_capacity(indices.len());
    for &i in indices.iter() {
        let wrapped = if i < 0 { i + dim as i64 } else { i };
        if wrapped < 0 || wrapped >= dim as i64 {
            return fail(format!(
                "index {i} out of range for axis {axis} of size {dim}"
            ));
        }
        positions.push(wrapped as usize);
    }
    let mut out_shape: Vec<usize> = data.shape()[..axis].to_vec();
    out_shape.extend_from_slice(indices.shape());
    out_shape.extend_from_slice(&data.shape()[axis + 1..]);
    // Gathered slabs along the axis, in row-major order of the output: for each outer index,
    // the chosen slabs in order.
    let outer: usize = data.shape()[..axis].iter().product();
    let inner: usize = data.shape()[axis + 1..].iter().product();
    let flat: Vec<T> = data.iter().cloned().collect();
    let mut out = Vec::with_capacity(outer * positions.len() * inner);
    for o in 0..outer {
        for &p in &positions {
            let start = (o * dim + p) * inner;
            out.extend_from_slice(&flat[start..start + inner]);
        }
    }
    ArrayD::from_shape_vec(IxDyn(&out_shape), out).map_err(|e| InterpError::new(e.to_string()))
}

/// Slices each listed axis from `starts[i]` toward `ends[i]` (exclusive) by `steps[i]`.
///
/// Bounds are positions after ONNX normalisation (negative values already wrapped by the
/// importer); they are clamped again here as ONNX does: to `[0, dim]` for a positive step and to
/// `[-1, dim - 1]` for a negative one, where an end of `-1` means "through index 0". A zero step,
/// a repeated axis or lists of different lengths are errors.
pub(super) fn slice(
    x: &Tensor,
    starts: &[i64],
    ends: &[i64],
    axes: &[usize],
    steps: &[i64],
) -> Result<Tensor, InterpError> {
    let n = axes.len();
    if starts.len() != n || ends.len() != n || steps.len() != n {
        return fail("starts, ends, axes and steps must have the same length");
    }
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].contains(a) {
            return fail(format!("axis {a} is sliced twice"));
        }
    }
    each_dtype!(x, a => slice_typed(a, starts, ends, axes, steps))
}

fn slice_typed<T: Element>(
    x: &ArrayD<T>,
    starts: &[i64],
    ends: &[i64],
    axes: &[usize],
    steps: &[i64],
) -> Result<ArrayD<T>, InterpError> {
    let mut view: ArrayView<'_, T, IxDyn> = x.view();
    for (((&start, &end), &axis), &step) in starts.iter().zip(ends).zip(axes).zip(steps) {
        if axis >= x.ndim() {
            return fail(format!("axis {axis} out of range for rank {}", x.ndim()));
        }
        let dim = x.shape()[axis] as i64;
        let (lo, hi) = match step {
            0 => return fail("step 0"),
            s if s > 0 => {
                let start = start.clamp(0, dim);
                let end = end.clamp(0, dim);
                (start, end.max(start))
            }
            _ => {
                // Elements start, start + step, ... > end: the half-open range (end, start]
                // walked backwards; ndarray's negative step starts from the range's last element.
                let start = start.clamp(-1, dim - 1);
                let end = end.clamp(-1, dim - 1);
                (end + 1, (start + 1).max(end + 1))
            }
        };
        view.slice_axis_inplace(
            Axis(axis),
            Slice::new(lo as isize, Some(hi as isize), step as isize),
        );
    }
    Ok(view.to_owned())
}

/// Row-major reshape to `shape`, which must hold the same number of elements.
pub(super) fn reshape_tensor(x: &Tensor, shape: &[usize]) -> Result<Tensor, InterpError> {
    each_dtype!(x, a => reshape(a, shape))
}

/// Permutes the axes: output axis `i` is input axis `perm[i]`.
pub(super) fn transpose(x: &Tensor, perm: &[usize]) -> Result<Tensor, InterpError> {
    let rank = x.shape().len();
    let mut seen = vec![false; rank];
    for &p in perm {
        match seen.get_mut(p) {
            Some(s) if !*s => *s = true,
            Some(_) | None => {
                return fail(format!(
                    "perm {perm:?} is not a permutation of the {rank} axes"
                ))
            }
        }
    }
    if perm.len() != rank {
        return fail(format!(
            "perm {perm:?} is not a permutation of the {rank} axes"
        ));
    }
    each_dtype!(x, a => Ok::<_, InterpError>(
        a.view().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned()
    ))
}

/// Removes the listed axes, each of which must have size 1; an empty list removes every axis of
/// size 1 (ONNX's behaviour when `axes` is absent).
pub(super) fn squeeze(x: &Tensor, axes: &[usize]) -> Result<Tensor, InterpError> {
    let shape = x.shape();
    let remove: Vec<usize> = if axes.is_empty() {
        (0..shape.len()).filter(|&d| shape[d] == 1).collect()
    } else {
        axes.to_vec()
    };
    for (i, &a) in remove.iter().enumerate() {
        match shape.get(a) {
            Some(1) if !remove[..i].contains(&a) => {}
            Some(1) => return fail(format!("axis {a} listed twice")),
            Some(d) => return fail(format!("axis {a} has size {d}, not 1")),
            None => {
                return fail(format!(
                    "axis {a} out of range for shape {}",
                    shape_text(shape)
                ))
            }
        }
    }
    let out: Vec<usize> = (0..shape.len())
        .filter(|d| !remove.contains(d))
        .map(|d| shape[d])
        .collect();
    reshape_tensor(x, &out)
}

/// Inserts axes of size 1 at the listed positions of the output (of rank `rank + axes.len()`).
pub(super) fn unsqueeze(x: &Tensor, axes: &[usize]) -> Result<Tensor, InterpError> {
    let out_rank = x.shape().len() + axes.len();
    for (i, &a) in axes.iter().enumerate() {
        if a >= out_rank {
            return fail(format!("axis {a} out of range for output rank {out_rank}"));
        }
        if axes[..i].contains(&a) {
            return fail(format!("axis {a} listed twice"));
        }
    }
    let mut dims = x.shape().iter();
    let out: Vec<usize> = (0..out_rank)
        .map(|d| {
            if axes.contains(&d) {
                1
            } else {
                // The count of remaining input dims equals the count of remaining
                // non-inserted output positions, so this never runs dry.
                dims.next().copied().unwrap_or(1)
            }
        })
        .collect();
    reshape_tensor(x, &out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr0, arr1, arr2, Array};

    fn f(a: ArrayD<f32>) -> Tensor {
        Tensor::F32(a)
    }

    fn iota(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::I64(Array::from_shape_vec(IxDyn(shape), (0..n as i64).collect()).unwrap())
    }

    fn values(t: &Tensor) -> Vec<i64> {
        match t {
            Tensor::I64(a) => a.iter().copied().collect(),
            Tensor::F32(_) | Tensor::Bool(_) => panic!("not i64"),
        }
    }

    #[test]
    fn concat_along_axis_one() {
        let a = f(arr2(&[[1.0], [2.0]]).into_dyn());
        let b = f(arr2(&[[3.0, 4.0], [5.0, 6.0]]).into_dyn());
        let out = concat(&[&a, &b], 1).unwrap();
        assert_eq!(out, f(arr2(&[[1.0, 3.0, 4.0], [2.0, 5.0, 6.0]]).into_dyn()));
        assert!(concat(&[&a, &b], 0).is_err());
        assert!(concat(&[&a, &iota(&[2, 1])], 1).is_err());
        assert!(concat(&[&a], 2).is_err());
    }

    #[test]
    fn gather_axis_zero_with_negative_and_matrix_indices() {
        // np.take(np.arange(6).reshape(3,2), [[2,-3]], axis=0) == [[[4,5],[0,1]]]
        let data = iota(&[3, 2]);
        let idx = arr2(&[[2i64, -3]]).into_dyn();
        let out = gather(&data, &idx, 0).unwrap();
        assert_eq!(out.shape(), &[1, 2, 2]);
        assert_eq!(values(&out), vec![4, 5, 0, 1]);
    }

    #[test]
    fn gather_inner_axis_and_scalar_index() {
        // np.take(np.arange(24).reshape(2,3,4), [3, 0], axis=2) ->
        // [[[3,0],[7,4],[11,8]],[[15,12],[19,16],[23,20]]]
        let data = iota(&[2, 3, 4]);
        let out = gather(&data, &arr1(&[3i64, 0]).into_dyn(), 2).unwrap();
        assert_eq!(out.shape(), &[2, 3, 2]);
        assert_eq!(
            values(&out),
            vec![3, 0, 7, 4, 11, 8, 15, 12, 19, 16, 23, 20]
        );
        // A scalar index removes the axis: np.take(..., 1, axis=1) -> [[4..8], [16..20]]
        let out = gather(&data, &arr0(1i64).into_dyn(), 1).unwrap();
        assert_eq!(out.shape(), &[2, 4]);
        assert_eq!(values(&out), vec![4, 5, 6, 7, 16, 17, 18, 19]);
    }

    #[test]
    fn gather_out_of_range_is_an_error() {
        let data = iota(&[3]);
        assert!(gather(&data, &arr1(&[3i64]).into_dyn(), 0).is_err());
        assert!(gather(&data, &arr1(&[-4i64]).into_dyn(), 0).is_err());
        assert!(gather(&data, &arr1(&[0i64]).into_dyn(), 1).is_err());
    }

    #[test]
    fn slice_positive_and_negative_steps() {
        let data = iota(&[10]);
        // x[1:8:3] == [1, 4, 7]
        let out = slice(&data, &[1], &[8], &[0], &[3]).unwrap();
        assert_eq!(values(&out), vec![1, 4, 7]);
        // x[8:2:-2] == [8, 6, 4]
        let out = slice(&data, &[8], &[2], &[0], &[-2]).unwrap();
        assert_eq!(values(&out), vec![8, 6, 4]);
        // Normalised x[::-1]: start 9 (clamped from i64::MAX), end -1 means through index 0.
        let out = slice(&data, &[i64::MAX], &[-1], &[0], &[-1]).unwrap();
        assert_eq!(values(&out), (0..10).rev().collect::<Vec<_>>());
        // Clamping: x[3:100] == [3..9]; an empty range gives no element.
        let out = slice(&data, &[3], &[100], &[0], &[1]).unwrap();
        assert_eq!(values(&out), (3..10).collect::<Vec<_>>());
        let out = slice(&data, &[5], &[2], &[0], &[1]).unwrap();
        assert_eq!(out.shape(), &[0]);
    }

    #[test]
    fn slice_two_axes_of_a_matrix() {
        // np.arange(12).reshape(3,4)[0:3:2, 3:0:-2] == [[3, 1], [11, 9]]
        let data = iota(&[3, 4]);
        let out = slice(&data, &[0, 3], &[3, 0], &[0, 1], &[2, -2]).unwrap();
        assert_eq!(out.shape(), &[2, 2]);
        assert_eq!(values(&out), vec![3, 1, 11, 9]);
        assert!(slice(&data, &[0], &[1], &[0], &[0]).is_err());
        assert!(slice(&data, &[0, 0], &[1, 1], &[0, 0], &[1, 1]).is_err());
        assert!(slice(&data, &[0], &[1], &[2], &[1]).is_err());
    }

    #[test]
    fn reshape_transpose_squeeze_unsqueeze() {
        let data = iota(&[2, 3]);
        let r = reshape_tensor(&data, &[3, 2]).unwrap();
        assert_eq!(r.shape(), &[3, 2]);
        assert_eq!(values(&r), (0..6).collect::<Vec<_>>());
        assert!(reshape_tensor(&data, &[4]).is_err());
        // np.arange(6).reshape(2,3).T.flatten() == [0,3,1,4,2,5]
        let t = transpose(&data, &[1, 0]).unwrap();
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(values(&t), vec![0, 3, 1, 4, 2, 5]);
        assert!(transpose(&data, &[0, 0]).is_err());
        assert!(transpose(&data, &[0]).is_err());
        let u = unsqueeze(&data, &[0, 3]).unwrap();
        assert_eq!(u.shape(), &[1, 2, 3, 1]);
        assert!(unsqueeze(&data, &[4]).is_err());
        let s = squeeze(&u, &[3]).unwrap();
        assert_eq!(s.shape(), &[1, 2, 3]);
        assert_eq!(squeeze(&u, &[]).unwrap().shape(), &[2, 3]);
        assert!(squeeze(&u, &[1]).is_err());
        assert!(squeeze(&u, &[7]).is_err());
    }
}
