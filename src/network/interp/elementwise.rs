//! Elementwise ops: binary arithmetic with numpy broadcasting, unary functions, `Cast`.

use ndarray::{ArrayD, IxDyn, Zip};

use super::{fail, shape_text, InterpError};
use crate::network::{shape, DType, Tensor};

/// A binary arithmetic op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
}

/// A unary elementwise op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unary {
    Neg,
    Abs,
    Exp,
    Relu,
    Tanh,
    Sigmoid,
}

/// The numpy broadcast of two shapes ([`shape::broadcast`]), as an interpreter error.
pub(super) fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, InterpError> {
    shape::broadcast(a, b).or_else(|_| {
        fail(format!(
            "shapes {} and {} do not broadcast",
            shape_text(a),
            shape_text(b)
        ))
    })
}

/// Applies `f` to the broadcast pair of arrays.
fn zip_broadcast<A: Clone, B>(
    a: &ArrayD<A>,
    b: &ArrayD<A>,
    f: impl Fn(A, A) -> B,
) -> Result<ArrayD<B>, InterpError> {
    let shape = broadcast_shape(a.shape(), b.shape())?;
    let (Some(av), Some(bv)) = (a.broadcast(IxDyn(&shape)), b.broadcast(IxDyn(&shape))) else {
        return fail(format!(
            "shapes {} and {} do not broadcast",
            shape_text(a.shape()),
            shape_text(b.shape())
        ));
    };
    Ok(Zip::from(&av)
        .and(&bv)
        .map_collect(|x, y| f(x.clone(), y.clone())))
}

/// `a op b` with numpy broadcasting, on two `f32` or two `i64` tensors.
///
/// Integer arithmetic wraps on overflow; integer division truncates toward zero and fails on a
/// zero divisor.
pub(super) fn binary(kind: Binary, a: &Tensor, b: &Tensor) -> Result<Tensor, InterpError> {
    match (a, b) {
        (Tensor::F32(a), Tensor::F32(b)) => {
            let f = match kind {
                Binary::Add => |x: f32, y: f32| x + y,
                Binary::Sub => |x: f32, y: f32| x - y,
                Binary::Mul => |x: f32, y: f32| x * y,
                Binary::Div => |x: f32, y: f32| x / y,
            };
            zip_broadcast(a, b, f).map(Tensor::F32)
        }
        (Tensor::I64(a), Tensor::I64(b)) => {
            let f = match kind {
                Binary::Add => i64::wrapping_add,
                Binary::Sub => i64::wrapping_sub,
                Binary::Mul => i64::wrapping_mul,
                Binary::Div => {
                    let out_len: usize = broadcast_shape(a.shape(), b.shape())?.iter().product();
                    if out_len > 0 && b.iter().any(|&y| y == 0) {
                        return fail("integer division by zero");
                    }
                    // The divisor is non-zero here, so only i64::MIN / -1 can overflow; it
                    // wraps to i64::MIN as in numpy.
                    i64::wrapping_div
                }
            };
            zip_broadcast(a, b, f).map(Tensor::I64)
        }
        (a, b) => fail(format!(
            "operands must both be F32 or both be I64, got {:?} and {:?}",
            a.dtype(),
            b.dtype()
        )),
    }
}

/// Applies a unary op. `Neg`, `Abs` and `Relu` accept `f32` and `i64`; `Exp`, `Tanh` and
/// `Sigmoid` accept `f32` only.
pub(super) fn unary(kind: Unary, x: &Tensor) -> Result<Tensor, InterpError> {
    match x {
        Tensor::F32(a) => {
            let f: fn(f32) -> f32 = match kind {
                Unary::Neg => |v| -v,
                Unary::Abs => f32::abs,
                Unary::Exp => f32::exp,
                Unary::Relu => |v| if v > 0.0 { v } else { 0.0 },
                Unary::Tanh => f32::tanh,
                Unary::Sigmoid => sigmoid,
            };
            Ok(Tensor::F32(a.mapv(f)))
        }
        Tensor::I64(a) => {
            let f: fn(i64) -> i64 = match kind {
                Unary::Neg => i64::wrapping_neg,
                Unary::Abs => i64::wrapping_abs,
                Unary::Relu => |v| v.max(0),
                Unary::Exp | Unary::Tanh | Unary::Sigmoid => {
                    return fail("operand must be F32, got I64");
                }
            };
            Ok(Tensor::I64(a.mapv(f)))
        }
        Tensor::Bool(_) => fail("operand must be numeric, got Bool"),
    }
}

/// The logistic function `1 / (1 + e^-x)`.
pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Smallest `f32` that no `i64` reaches: 2^63.
const I64_LIMIT: f32 = 9_223_372_036_854_775_808.0;

/// Converts a tensor's element type (ONNX `Cast`).
///
/// Float to integer truncates toward zero; a NaN or a value outside the `i64` range is an error.
/// Numbers to `Bool` are `x != 0` (NaN is true); `Bool` to numbers is 0 or 1.
pub(super) fn cast(x: &Tensor, to: DType) -> Result<Tensor, InterpError> {
    Ok(match (x, to) {
        (Tensor::F32(a), DType::F32) => Tensor::F32(a.clone()),
        (Tensor::F32(a), DType::I64) => {
            let mut out = Vec::with_capacity(a.len());
            for &v in a.iter() {
                let t = v.trunc();
                if !(-I64_LIMIT..I64_LIMIT).contains(&t) {
                    return fail(format!("cannot cast {v} to I64"));
                }
                out.push(t as i64);
            }
            Tensor::I64(from_vec(a.shape(), out)?)
        }
        (Tensor::F32(a), DType::Bool) => Tensor::Bool(a.mapv(|v| v != 0.0)),
        (Tensor::I64(a), DType::F32) => Tensor::F32(a.mapv(|v| v as f32)),
        (Tensor::I64(a), DType::I64) => Tensor::I64(a.clone()),
        (Tensor::I64(a), DType::Bool) => Tensor::Bool(a.mapv(|v| v != 0)),
        (Tensor::Bool(a), DType::F32) => Tensor::F32(a.mapv(|v| if v { 1.0 } else { 0.0 })),
        (Tensor::Bool(a), DType::I64) => Tensor::I64(a.mapv(i64::from)),
        (Tensor::Bool(a), DType::Bool) => Tensor::Bool(a.clone()),
    })
}

fn from_vec<T>(shape: &[usize], data: Vec<T>) -> Result<ArrayD<T>, InterpError> {
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| InterpError::new(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr0, arr1, arr2};

    fn f(a: ndarray::ArrayD<f32>) -> Tensor {
        Tensor::F32(a)
    }

    fn i(a: ndarray::ArrayD<i64>) -> Tensor {
        Tensor::I64(a)
    }

    #[test]
    fn broadcasting_add_row_and_column() {
        // numpy: np.array([[1],[2]]) + np.array([10, 20, 30]) == [[11,21,31],[12,22,32]]
        let a = f(arr2(&[[1.0], [2.0]]).into_dyn());
        let b = f(arr1(&[10.0, 20.0, 30.0]).into_dyn());
        let out = binary(Binary::Add, &a, &b).unwrap();
        assert_eq!(
            out,
            f(arr2(&[[11.0, 21.0, 31.0], [12.0, 22.0, 32.0]]).into_dyn())
        );
    }

    #[test]
    fn broadcasting_sub_mul_div_with_scalar() {
        let a = f(arr1(&[3.0, -6.0]).into_dyn());
        let s = f(arr0(2.0).into_dyn());
        assert_eq!(
            binary(Binary::Sub, &s, &a).unwrap(),
            f(arr1(&[-1.0, 8.0]).into_dyn())
        );
        assert_eq!(
            binary(Binary::Mul, &a, &s).unwrap(),
            f(arr1(&[6.0, -12.0]).into_dyn())
        );
        assert_eq!(
            binary(Binary::Div, &a, &s).unwrap(),
            f(arr1(&[1.5, -3.0]).into_dyn())
        );
    }

    #[test]
    fn integer_division_truncates_toward_zero() {
        // onnxruntime Div on int64: [7, -7, 7, -7] / [2, 2, -2, -2] == [3, -3, -3, 3]
        let a = i(arr1(&[7, -7, 7, -7]).into_dyn());
        let b = i(arr1(&[2, 2, -2, -2]).into_dyn());
        assert_eq!(
            binary(Binary::Div, &a, &b).unwrap(),
            i(arr1(&[3, -3, -3, 3]).into_dyn())
        );
    }

    #[test]
    fn integer_division_by_zero_is_an_error() {
        let a = i(arr1(&[1, 2]).into_dyn());
        let b = i(arr1(&[1, 0]).into_dyn());
        let err = binary(Binary::Div, &a, &b).unwrap_err();
        assert!(err.message.contains("division by zero"), "{}", err.message);
    }

    #[test]
    fn integer_overflow_wraps() {
        let a = i(arr1(&[i64::MAX, i64::MIN]).into_dyn());
        let b = i(arr1(&[1, -1]).into_dyn());
        assert_eq!(
            binary(Binary::Add, &a, &b).unwrap(),
            i(arr1(&[i64::MIN, i64::MAX]).into_dyn())
        );
        assert_eq!(
            binary(Binary::Div, &a, &b).unwrap(),
            i(arr1(&[i64::MAX, i64::MIN]).into_dyn())
        );
    }

    #[test]
    fn bad_operands_are_errors() {
        let a = f(arr1(&[1.0, 2.0, 3.0]).into_dyn());
        let b = f(arr1(&[1.0, 2.0]).into_dyn());
        assert!(binary(Binary::Add, &a, &b).is_err());
        let c = i(arr1(&[1, 2, 3]).into_dyn());
        assert!(binary(Binary::Add, &a, &c).is_err());
        let d = Tensor::Bool(arr1(&[true]).into_dyn());
        assert!(binary(Binary::Mul, &d, &d).is_err());
        assert!(unary(Unary::Exp, &c).is_err());
        assert!(unary(Unary::Neg, &d).is_err());
    }

    #[test]
    fn unary_functions() {
        let x = f(arr1(&[-1.0, 0.0, 2.0]).into_dyn());
        assert_eq!(
            unary(Unary::Neg, &x).unwrap(),
            f(arr1(&[1.0, 0.0, -2.0]).into_dyn())
        );
        assert_eq!(
            unary(Unary::Abs, &x).unwrap(),
            f(arr1(&[1.0, 0.0, 2.0]).into_dyn())
        );
        assert_eq!(
            unary(Unary::Relu, &x).unwrap(),
            f(arr1(&[0.0, 0.0, 2.0]).into_dyn())
        );
        // numpy float32: exp([-1,0,2]) = [0.36787945, 1, 7.389056];
        // tanh = [-0.7615942, 0, 0.9640276]; 1/(1+exp(-x)) = [0.26894143, 0.5, 0.8807971]
        let close = |t: Tensor, want: [f32; 3]| {
            let Tensor::F32(a) = t else { panic!("not f32") };
            for (g, w) in a.iter().zip(want) {
                assert!((g - w).abs() < 1e-6, "{g} vs {w}");
            }
        };
        close(unary(Unary::Exp, &x).unwrap(), [0.36787945, 1.0, 7.389056]);
        close(
            unary(Unary::Tanh, &x).unwrap(),
            [-0.7615942, 0.0, 0.9640276],
        );
        close(
            unary(Unary::Sigmoid, &x).unwrap(),
            [0.26894143, 0.5, 0.8807971],
        );
        let n = i(arr1(&[-4, 5]).into_dyn());
        assert_eq!(unary(Unary::Relu, &n).unwrap(), i(arr1(&[0, 5]).into_dyn()));
        assert_eq!(unary(Unary::Abs, &n).unwrap(), i(arr1(&[4, 5]).into_dyn()));
    }

    #[test]
    fn cast_truncates_toward_zero_and_checks_range() {
        let x = f(arr1(&[2.7, -2.7, 0.0, -0.5]).into_dyn());
        assert_eq!(
            cast(&x, DType::I64).unwrap(),
            i(arr1(&[2, -2, 0, 0]).into_dyn())
        );
        assert!(cast(&f(arr1(&[f32::NAN]).into_dyn()), DType::I64).is_err());
        assert!(cast(&f(arr1(&[1e19]).into_dyn()), DType::I64).is_err());
        assert!(cast(&f(arr1(&[-1e19]).into_dyn()), DType::I64).is_err());
        assert_eq!(
            cast(&f(arr1(&[-9.223372e18]).into_dyn()), DType::I64).unwrap(),
            i(arr1(&[i64::MIN]).into_dyn())
        );
    }

    #[test]
    fn cast_between_bool_and_numbers() {
        let x = f(arr1(&[0.0, -3.0]).into_dyn());
        let b = Tensor::Bool(arr1(&[false, true]).into_dyn());
        assert_eq!(cast(&x, DType::Bool).unwrap(), b);
        assert_eq!(
            cast(&b, DType::F32).unwrap(),
            f(arr1(&[0.0, 1.0]).into_dyn())
        );
        assert_eq!(cast(&b, DType::I64).unwrap(), i(arr1(&[0, 1]).into_dyn()));
        let n = i(arr1(&[0, 7]).into_dyn());
        assert_eq!(cast(&n, DType::Bool).unwrap(), b);
        assert_eq!(
            cast(&n, DType::F32).unwrap(),
            f(arr1(&[0.0, 7.0]).into_dyn())
        );
    }
}
