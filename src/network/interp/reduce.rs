//! Ops that work along one axis: `Softmax` and `ArgMax`.

use ndarray::{ArrayD, Axis};

use super::{fail, Element, InterpError};
use crate::network::Tensor;

/// `softmax(x) = exp(x - max) / sum(exp(x - max))` along `axis` (ONNX `Softmax`, opset 13+).
pub(super) fn softmax(x: &ArrayD<f32>, axis: usize) -> Result<Tensor, InterpError> {
    if axis >= x.ndim() {
        return fail(format!("axis {axis} out of range for rank {}", x.ndim()));
    }
    let mut out = x.clone();
    for mut lane in out.lanes_mut(Axis(axis)) {
        let max = lane.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        lane.mapv_inplace(|v| (v - max).exp());
        let sum: f32 = lane.iter().sum();
        lane.mapv_inplace(|v| v / sum);
    }
    Ok(Tensor::F32(out))
}

/// The attributes of an `ArgMax`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ArgMaxConfig {
    pub axis: usize,
    pub keepdims: bool,
    /// On ties, the last maximal position instead of the first.
    pub select_last_index: bool,
}

/// The position of the largest element along `axis`, as `i64` (ONNX `ArgMax`), on `f32` or
/// `i64` input. The axis must not be empty.
pub(super) fn argmax(x: &Tensor, config: &ArgMaxConfig) -> Result<Tensor, InterpError> {
    match x {
        Tensor::F32(a) => argmax_typed(a, config),
        Tensor::I64(a) => argmax_typed(a, config),
        Tensor::Bool(_) => fail("operand must be numeric, got Bool"),
    }
}

fn argmax_typed<T: Element + PartialOrd + Copy>(
    x: &ArrayD<T>,
    config: &ArgMaxConfig,
) -> Result<Tensor, InterpError> {
    let axis = config.axis;
    if axis >= x.ndim() {
        return fail(format!("axis {axis} out of range for rank {}", x.ndim()));
    }
    if x.shape()[axis] == 0 {
        return fail(format!("axis {axis} is empty"));
    }
    let out = x.map_axis(Axis(axis), |lane| {
        let mut best = 0usize;
        for (i, &v) in lane.iter().enumerate().skip(1) {
            let better = if config.select_last_index {
                v >= lane[best]
            } else {
                v > lane[best]
            };
            if better {
                best = i;
            }
        }
        best as i64
    });
    Ok(Tensor::I64(if config.keepdims {
        out.insert_axis(Axis(axis))
    } else {
        out
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2};

    #[test]
    fn softmax_rows_sum_to_one_and_match_numpy() {
        // scipy.special.softmax([[1,2,3],[0,0,0]], axis=1) ==
        // [[0.09003057, 0.24472847, 0.66524096], [1/3, 1/3, 1/3]]
        let x = arr2(&[[1.0f32, 2.0, 3.0], [0.0, 0.0, 0.0]]).into_dyn();
        let Tensor::F32(out) = softmax(&x, 1).unwrap() else {
            panic!("not f32")
        };
        let want = [
            0.09003057,
            0.24472847,
            0.66524096,
            1.0 / 3.0,
            1.0 / 3.0,
            1.0 / 3.0,
        ];
        for (g, w) in out.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
        // Along axis 0 each column of [[1],[3]] gives [0.11920292, 0.880797].
        let x = arr2(&[[1.0f32], [3.0]]).into_dyn();
        let Tensor::F32(out) = softmax(&x, 0).unwrap() else {
            panic!("not f32")
        };
        assert!((out[[0, 0]] - 0.11920292).abs() < 1e-6);
        // Max subtraction keeps large logits finite.
        let x = arr1(&[1000.0f32, 1000.0]).into_dyn();
        let Tensor::F32(out) = softmax(&x, 0).unwrap() else {
            panic!("not f32")
        };
        assert_eq!(out.iter().copied().collect::<Vec<_>>(), vec![0.5, 0.5]);
        assert!(softmax(&x, 1).is_err());
    }

    #[test]
    fn argmax_ties_keepdims_and_last_index() {
        let x = Tensor::F32(arr2(&[[1.0, 5.0, 5.0], [7.0, 0.0, 7.0]]).into_dyn());
        let first = ArgMaxConfig {
            axis: 1,
            keepdims: true,
            select_last_index: false,
        };
        let out = argmax(&x, &first).unwrap();
        assert_eq!(out, Tensor::I64(arr2(&[[1], [0]]).into_dyn()));
        let last = ArgMaxConfig {
            axis: 1,
            keepdims: false,
            select_last_index: true,
        };
        let out = argmax(&x, &last).unwrap();
        assert_eq!(out, Tensor::I64(arr1(&[2, 2]).into_dyn()));
        let cols = ArgMaxConfig {
            axis: 0,
            keepdims: false,
            select_last_index: false,
        };
        let out = argmax(&x, &cols).unwrap();
        assert_eq!(out, Tensor::I64(arr1(&[1, 0, 1]).into_dyn()));
        let bad = ArgMaxConfig { axis: 2, ..cols };
        assert!(argmax(&x, &bad).is_err());
        let ints = Tensor::I64(arr1(&[3, 9, 2]).into_dyn());
        assert_eq!(
            argmax(&ints, &cols).unwrap(),
            Tensor::I64(ndarray::arr0(1).into_dyn())
        );
    }
}
