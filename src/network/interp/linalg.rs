//! Matrix products: `Gemm` and numpy-style `MatMul`.

use ndarray::{Array2, ArrayD, ArrayView2, Ix2, IxDyn};

use super::elementwise::broadcast_shape;
use super::{fail, shape_text, Element, InterpError};
use crate::network::Tensor;

/// The attributes of a `Gemm`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct GemmConfig {
    pub alpha: f32,
    pub beta: f32,
    pub trans_a: bool,
    pub trans_b: bool,
}

/// Views a rank-2 array as a matrix.
fn matrix<'a>(a: &'a ArrayD<f32>, what: &str) -> Result<ArrayView2<'a, f32>, InterpError> {
    a.view().into_dimensionality::<Ix2>().map_err(|_| {
        InterpError::new(format!(
            "{what} must be a matrix, got shape {}",
            shape_text(a.shape())
        ))
    })
}

/// `alpha * A' B' + beta * C` on `f32` matrices; `C` (optional) broadcasts to `[M, N]`.
pub(super) fn gemm(
    a: &ArrayD<f32>,
    b: &ArrayD<f32>,
    c: Option<&ArrayD<f32>>,
    config: &GemmConfig,
) -> Result<Tensor, InterpError> {
    let a = matrix(a, "A")?;
    let b = matrix(b, "B")?;
    let a = if config.trans_a { a.reversed_axes() } else { a };
    let b = if config.trans_b { b.reversed_axes() } else { b };
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    if k != k2 {
        return fail(format!(
            "inner dimensions differ: A' is [{m}, {k}], B' is [{k2}, {n}]"
        ));
    }
    let mut out = if m * n * k <= SMALL_PRODUCT && k <= SMALL_INNER {
        small_product(&a, &b) * config.alpha
    } else {
        a.dot(&b) * config.alpha
    };
    if let Some(c) = c {
        let Some(cv) = c.broadcast(IxDyn(&[m, n])) else {
            return fail(format!(
                "C of shape {} does not broadcast to [{m}, {n}]",
                shape_text(c.shape())
            ));
        };
        out.zip_mut_with(&cv, |o, &cv| *o += config.beta * cv);
    }
    Ok(Tensor::F32(out.into_dyn()))
}

/// Largest `M * N * K` (and inner size `K`) multiplied by [`small_product`] rather than by
/// `matrixmultiply`, whose packing costs more than the arithmetic on a recurrent cell's matrices.
const SMALL_PRODUCT: usize = 1 << 16;
const SMALL_INNER: usize = 256;

/// `A B` by one fused multiply-add chain per entry, in order of the inner index from zero: the
/// same rounding as `matrixmultiply`'s FMA kernel for an inner size within one of its blocks.
fn small_product(a: &ArrayView2<f32>, b: &ArrayView2<f32>) -> Array2<f32> {
    let (m, k) = a.dim();
    let n = b.ncols();
    Array2::from_shape_fn((m, n), |(i, j)| {
        (0..k).fold(0.0f32, |acc, p| a[[i, p]].mul_add(b[[p, j]], acc))
    })
}

/// numpy `matmul` on two `f32` or two `i64` tensors: 1-D operands are promoted (and the added
/// axis removed afterwards), leading batch dimensions broadcast.
pub(super) fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, InterpError> {
    match (a, b) {
        (Tensor::F32(a), Tensor::F32(b)) => matmul_typed(a, b, |acc, x, y| acc + x * y),
        (Tensor::I64(a), Tensor::I64(b)) => matmul_typed(a, b, |acc: i64, x: i64, y: i64| {
            acc.wrapping_add(x.wrapping_mul(y))
        }),
        (a, b) => fail(format!(
            "operands must both be F32 or both be I64, got {:?} and {:?}",
            a.dtype(),
            b.dtype()
        )),
    }
}

fn matmul_typed<T: Element + Copy>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    mul_add: impl Fn(T, T, T) -> T,
) -> Result<Tensor, InterpError> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return fail("operands must have rank at least 1");
    }
    let a_vec = a.ndim() == 1;
    let b_vec = b.ndim() == 1;
    let a_shape: Vec<usize> = if a_vec {
        vec![1, a.len()]
    } else {
        a.shape().to_vec()
    };
    let b_shape: Vec<usize> = if b_vec {
        vec![b.len(), 1]
    } else {
        b.shape().to_vec()
    };
    let (a_batch, a_mat) = a_shape.split_at(a_shape.len() - 2);
    let (b_batch, b_mat) = b_shape.split_at(b_shape.len() - 2);
    let (m, k, k2, n) = (a_mat[0], a_mat[1], b_mat[0], b_mat[1]);
    if k != k2 {
        return fail(format!(
            "inner dimensions differ: {} and {}",
            shape_text(a.shape()),
            shape_text(b.shape())
        ));
    }
    let batch = broadcast_shape(a_batch, b_batch)?;
    let full = |mat: &[usize]| -> Vec<usize> { batch.iter().chain(mat).copied().collect() };
    let a_full = a
        .to_shape(IxDyn(&a_shape))
        .map_err(|e| InterpError::new(e.to_string()))?;
    let b_full = b
        .to_shape(IxDyn(&b_shape))
        .map_err(|e| InterpError::new(e.to_string()))?;
    let (Some(av), Some(bv)) = (
        a_full.broadcast(IxDyn(&full(&[m, k]))),
        b_full.broadcast(IxDyn(&full(&[k, n]))),
    ) else {
        return fail(format!(
            "batch dimensions of {} and {} do not broadcast",
            shape_text(a.shape()),
            shape_text(b.shape())
        ));
    };
    let batches: usize = batch.iter().product();
    let av: Vec<T> = av.iter().copied().collect();
    let bv: Vec<T> = bv.iter().copied().collect();
    let mut out = Vec::with_capacity(batches * m * n);
    for p in 0..batches {
        let am = &av[p * m * k..(p + 1) * m * k];
        let bm = &bv[p * k * n..(p + 1) * k * n];
        for i in 0..m {
            for j in 0..n {
                let mut acc = T::default();
                for l in 0..k {
                    acc = mul_add(acc, am[i * k + l], bm[l * n + j]);
                }
                out.push(acc);
            }
        }
    }
    let mut out_shape = batch.clone();
    if !a_vec {
        out_shape.push(m);
    }
    if !b_vec {
        out_shape.push(n);
    }
    ArrayD::from_shape_vec(IxDyn(&out_shape), out)
        .map(T::tensor)
        .map_err(|e| InterpError::new(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2, arr3, Array};

    fn f(a: ArrayD<f32>) -> Tensor {
        Tensor::F32(a)
    }

    const PLAIN: GemmConfig = GemmConfig {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: false,
    };

    #[test]
    fn small_products_agree_with_matrixmultiply() {
        // Deterministic, irregular values; transposed views exercise the strided path.
        let value = |i: usize| ((i * 7919 % 101) as f32 - 50.0) / 17.0;
        let a = Array::from_shape_fn((5, 9), |(i, j)| value(i * 9 + j));
        let b = Array::from_shape_fn((3, 9), |(i, j)| value(1000 + i * 9 + j));
        let bt = b.t();
        let small = small_product(&a.view(), &bt);
        let large = a.dot(&bt);
        for (x, y) in small.iter().zip(large.iter()) {
            assert!((x - y).abs() <= 1e-5 * y.abs().max(1.0), "{x} vs {y}");
        }
        // Through `gemm`, a cell-sized product takes the small path and gives the same values.
        let through_gemm = gemm(
            &a.clone().into_dyn(),
            &b.clone().into_dyn(),
            None,
            &GemmConfig {
                trans_b: true,
                ..PLAIN
            },
        )
        .unwrap();
        assert_eq!(through_gemm, f(small.into_dyn()));
    }

    #[test]
    fn gemm_with_broadcast_bias() {
        // [[1,2],[3,4]] @ [[1,0,1],[0,1,1]] + [10,20,30] = [[11,22,33],[13,24,37]]
        let a = arr2(&[[1.0f32, 2.0], [3.0, 4.0]]).into_dyn();
        let b = arr2(&[[1.0f32, 0.0, 1.0], [0.0, 1.0, 1.0]]).into_dyn();
        let c = arr1(&[10.0f32, 20.0, 30.0]).into_dyn();
        let out = gemm(&a, &b, Some(&c), &PLAIN).unwrap();
        assert_eq!(
            out,
            f(arr2(&[[11.0, 22.0, 33.0], [13.0, 24.0, 37.0]]).into_dyn())
        );
    }

    #[test]
    fn gemm_transposes_alpha_beta() {
        // A^T = [[1,3],[2,4]], B^T = [[1,0],[1,1]]: A^T B^T = [[4,3],[6,4]];
        // 2 * that + 0.5 * [[2],[4]] = [[9,7],[14,10]]
        let a = arr2(&[[1.0f32, 2.0], [3.0, 4.0]]).into_dyn();
        let b = arr2(&[[1.0f32, 1.0], [0.0, 1.0]]).into_dyn();
        let c = arr2(&[[2.0f32], [4.0]]).into_dyn();
        let config = GemmConfig {
            alpha: 2.0,
            beta: 0.5,
            trans_a: true,
            trans_b: true,
        };
        let out = gemm(&a, &b, Some(&c), &config).unwrap();
        assert_eq!(out, f(arr2(&[[9.0, 7.0], [14.0, 10.0]]).into_dyn()));
    }

    #[test]
    fn gemm_rejects_bad_shapes() {
        let a = arr2(&[[1.0f32, 2.0]]).into_dyn();
        let b = arr2(&[[1.0f32, 2.0]]).into_dyn();
        assert!(gemm(&a, &b, None, &PLAIN).is_err());
        let v = arr1(&[1.0f32]).into_dyn();
        assert!(gemm(&v, &b, None, &PLAIN).is_err());
        let bt = arr2(&[[1.0f32], [2.0]]).into_dyn();
        let c = arr1(&[1.0f32, 2.0]).into_dyn();
        assert!(gemm(&a, &bt, Some(&c), &PLAIN).is_err());
    }

    #[test]
    fn matmul_vector_cases() {
        // np.matmul([1,2], [[1,2,3],[4,5,6]]) == [9, 12, 15]; np.matmul(M, [1,1,1]) == [6, 15]
        let v = Tensor::F32(arr1(&[1.0, 2.0]).into_dyn());
        let m = Tensor::F32(arr2(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).into_dyn());
        assert_eq!(
            matmul(&v, &m).unwrap(),
            f(arr1(&[9.0, 12.0, 15.0]).into_dyn())
        );
        let ones = Tensor::F32(arr1(&[1.0, 1.0, 1.0]).into_dyn());
        assert_eq!(matmul(&m, &ones).unwrap(), f(arr1(&[6.0, 15.0]).into_dyn()));
        // Vector dot vector gives a scalar.
        let dot = matmul(&ones, &ones).unwrap();
        assert_eq!(dot.shape(), &[] as &[usize]);
    }

    #[test]
    fn matmul_batched_broadcast() {
        // a: [2, 1, 2] (two 1x2 rows), b: [2, 1] shared: [[[1*1+2*2]], [[3+8]]] = [[[5]], [[11]]]
        let a = Tensor::F32(arr3(&[[[1.0, 2.0]], [[3.0, 4.0]]]).into_dyn());
        let b = Tensor::F32(arr2(&[[1.0], [2.0]]).into_dyn());
        assert_eq!(
            matmul(&a, &b).unwrap(),
            f(arr3(&[[[5.0]], [[11.0]]]).into_dyn())
        );
        // Batch [3, 1] against [2]: output batch [3, 2]; checked against numpy shapes.
        let a = Tensor::I64(Array::from_shape_fn(IxDyn(&[3, 1, 1, 2]), |d| d[0] as i64).into_dyn());
        let b = Tensor::I64(Array::from_shape_fn(IxDyn(&[2, 2, 1]), |d| d[0] as i64 + 1));
        let out = matmul(&a, &b).unwrap();
        assert_eq!(out.shape(), &[3, 2, 1, 1]);
        let Tensor::I64(o) = out else { panic!() };
        // element [i, j] = i * (j + 1) * 2
        assert_eq!(
            o.iter().copied().collect::<Vec<_>>(),
            vec![0, 0, 2, 4, 4, 8]
        );
    }

    #[test]
    fn matmul_rejects_mismatches() {
        let a = Tensor::F32(arr2(&[[1.0, 2.0]]).into_dyn());
        assert!(matmul(&a, &a).is_err());
        let s = Tensor::F32(ndarray::arr0(1.0).into_dyn());
        assert!(matmul(&s, &a).is_err());
        let i = Tensor::I64(arr1(&[1, 2]).into_dyn());
        assert!(matmul(&a, &i).is_err());
        let a3 = Tensor::F32(Array::zeros(IxDyn(&[2, 1, 2])));
        let b3 = Tensor::F32(Array::zeros(IxDyn(&[3, 2, 1])));
        assert!(matmul(&a3, &b3).is_err());
    }
}
