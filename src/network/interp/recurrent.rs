//! The ONNX recurrent layers `RNN`, `GRU` and `LSTM`, with onnxruntime's semantics.
//!
//! Operands are X, W, R, B, sequence_lens, initial_h (and for `LSTM` initial_c, P); absent
//! optional operands default to zeros (and sequence_lens to the full length). Each direction and
//! each batch row runs its own loop; steps past a row's sequence length leave zeros in `Y`.
//! `clip` bounds every gate's pre-activation (bias and peephole terms included) to
//! `[-clip, clip]`, as onnxruntime does; the cell state itself is not clipped.

use ndarray::{
    Array1, Array4, ArrayD, ArrayView1, ArrayView2, ArrayView3, Axis, Ix1, Ix2, Ix3, Slice,
};

use super::{fail, shape_text, InterpError, Operands};
use crate::network::{Activation, Direction, RecurrentAttrs, Tensor};

/// Which recurrent layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Rnn,
    Gru { linear_before_reset: bool },
    Lstm { input_forget: bool },
}

impl Kind {
    /// Number of gate blocks in W and R (and half of B).
    fn gates(self) -> usize {
        match self {
            Kind::Rnn => 1,
            Kind::Gru { .. } => 3,
            Kind::Lstm { .. } => 4,
        }
    }

    /// Number of activation functions per direction.
    fn activations(self) -> usize {
        match self {
            Kind::Rnn => 1,
            Kind::Gru { .. } => 2,
            Kind::Lstm { .. } => 3,
        }
    }

    /// Number of outputs (Y, Y_h, and Y_c for `LSTM`).
    fn outputs(self) -> usize {
        match self {
            Kind::Rnn | Kind::Gru { .. } => 2,
            Kind::Lstm { .. } => 3,
        }
    }
}

/// Applies an activation function with its parameters.
pub(super) fn activate(f: Activation, x: f32) -> f32 {
    match f {
        Activation::Relu => x.max(0.0),
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => super::elementwise::sigmoid(x),
        Activation::Affine { alpha, beta } => alpha * x + beta,
        Activation::LeakyRelu { alpha } => {
            if x >= 0.0 {
                x
            } else {
                alpha * x
            }
        }
        Activation::ThresholdedRelu { alpha } => {
            if x > alpha {
                x
            } else {
                0.0
            }
        }
        Activation::ScaledTanh { alpha, beta } => alpha * (beta * x).tanh(),
        Activation::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
        Activation::Elu { alpha } => {
            if x >= 0.0 {
                x
            } else {
                alpha * (x.exp() - 1.0)
            }
        }
        Activation::Softsign => x / (1.0 + x.abs()),
        // ln(1 + e^x), rearranged so that large x does not overflow.
        Activation::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
    }
}

/// Checks that an operand has exactly the expected shape.
fn expect_shape(a: &ArrayD<f32>, shape: &[usize], what: &str) -> Result<(), InterpError> {
    if a.shape() != shape {
        return fail(format!(
            "{what} must have shape {}, got {}",
            shape_text(shape),
            shape_text(a.shape())
        ));
    }
    Ok(())
}

/// An optional `f32` operand of the given shape, or zeros.
fn optional_or_zeros(
    ops: &Operands<'_>,
    i: usize,
    shape: &[usize],
    what: &str,
) -> Result<ArrayD<f32>, InterpError> {
    match ops.optional(i) {
        Some(_) => {
            let a = ops.typed::<f32>(i, what)?;
            expect_shape(a, shape, what)?;
            Ok(a.clone())
        }
        None => Ok(ArrayD::zeros(shape)),
    }
}

/// An initial state `[nd, batch, hidden]` (given as `[batch, nd, hidden]` when batch-major).
fn initial_state(
    ops: &Operands<'_>,
    i: usize,
    dims: [usize; 3],
    batch_major: bool,
    what: &str,
) -> Result<ArrayD<f32>, InterpError> {
    let [nd, batch, hidden] = dims;
    if batch_major {
        let a = optional_or_zeros(ops, i, &[batch, nd, hidden], what)?;
        Ok(a.permuted_axes(vec![1, 0, 2])
            .as_standard_layout()
            .into_owned())
    } else {
        optional_or_zeros(ops, i, &[nd, batch, hidden], what)
    }
}

/// The weights of one direction.
struct DirWeights<'a> {
    w: ArrayView2<'a, f32>,
    r: ArrayView2<'a, f32>,
    wb: ArrayView1<'a, f32>,
    rb: ArrayView1<'a, f32>,
    /// Peepholes `[i, o, f]` (LSTM only).
    p: ArrayView1<'a, f32>,
    acts: &'a [Activation],
    hidden: usize,
    clip: Option<f32>,
}

impl DirWeights<'_> {
    /// Gate block `g` of a stacked gate vector.
    fn block<'v>(&self, v: &'v Array1<f32>, g: usize) -> ArrayView1<'v, f32> {
        segment(v.view(), g * self.hidden, (g + 1) * self.hidden)
    }

    /// Clips a pre-activation, then applies activation `which` of this direction.
    fn act(&self, which: usize, pre: Array1<f32>) -> Array1<f32> {
        let f = self.acts[which];
        let clip = self.clip;
        pre.mapv(|v| {
            let v = match clip {
                Some(c) => v.clamp(-c, c),
                None => v,
            };
            activate(f, v)
        })
    }

    /// One step of the layer: new `(h, c)` from input `x` and state `(h, c)`.
    fn step(
        &self,
        kind: Kind,
        x: ArrayView1<'_, f32>,
        h: &Array1<f32>,
        c: &Array1<f32>,
    ) -> (Array1<f32>, Array1<f32>) {
        let xw = self.w.dot(&x) + self.wb;
        match kind {
            Kind::Rnn => {
                let pre = xw + self.r.dot(h) + self.rb;
                (self.act(0, pre), c.clone())
            }
            Kind::Gru {
                linear_before_reset,
            } => {
                let hs = self.hidden;
                let rz = rows(self.r, 0, 2 * hs).dot(h) + segment(self.rb, 0, 2 * hs);
                let z = self.act(0, &self.block(&xw, 0) + &self.block(&rz, 0));
                let r = self.act(0, &self.block(&xw, 1) + &self.block(&rz, 1));
                let rh = rows(self.r, 2 * hs, 3 * hs);
                let rbh = segment(self.rb, 2 * hs, 3 * hs);
                let recur = if linear_before_reset {
                    &r * &(rh.dot(h) + rbh)
                } else {
                    rh.dot(&(&r * h)) + rbh
                };
                let cand = self.act(1, &self.block(&xw, 2) + &recur);
                let new_h = (1.0 - &z) * &cand + &z * h;
                (new_h, c.clone())
            }
            Kind::Lstm { input_forget } => {
                let hs = self.hidden;
                let pre = xw + self.r.dot(h) + self.rb;
                let peep = |g: usize| segment(self.p, g * hs, (g + 1) * hs);
                let i = self.act(0, &self.block(&pre, 0) + &(&peep(0) * c));
                let f = if input_forget {
                    1.0 - &i
                } else {
                    self.act(0, &self.block(&pre, 2) + &(&peep(2) * c))
                };
                let cand = self.act(1, self.block(&pre, 3).to_owned());
                let new_c = &f * c + &i * &cand;
                let o = self.act(0, &self.block(&pre, 1) + &(&peep(1) * &new_c));
                let out_act = self.acts[2];
                let new_h = &o * &new_c.mapv(|v| activate(out_act, v));
                (new_h, new_c)
            }
        }
    }
}

/// Evaluates a recurrent layer, returning the first `n_outputs` of Y, Y_h (and Y_c).
pub(super) fn eval(
    kind: Kind,
    attrs: &RecurrentAttrs,
    ops: &Operands<'_>,
    n_outputs: usize,
) -> Result<Vec<Tensor>, InterpError> {
    if n_outputs == 0 || n_outputs > kind.outputs() {
        return fail(format!(
            "produces 1 to {} outputs, {n_outputs} requested",
            kind.outputs()
        ));
    }
    let nd = match attrs.direction {
        Direction::Forward | Direction::Reverse => 1,
        Direction::Bidirectional => 2,
    };
    let hidden = attrs.hidden_size;
    let gates = kind.gates();
    let x = ops.typed::<f32>(0, "X")?;
    let x: ArrayView3<'_, f32> = x.view().into_dimensionality::<Ix3>().map_err(|_| {
        InterpError::new(format!("X must have rank 3, got {}", shape_text(x.shape())))
    })?;
    let x = if attrs.batch_major {
        x.permuted_axes([1, 0, 2])
    } else {
        x
    };
    let (seq, batch, input) = x.dim();
    let w = ops.typed::<f32>(1, "W")?;
    expect_shape(w, &[nd, gates * hidden, input], "W")?;
    let r = ops.typed::<f32>(2, "R")?;
    expect_shape(r, &[nd, gates * hidden, hidden], "R")?;
    let b = optional_or_zeros(ops, 3, &[nd, 2 * gates * hidden], "B")?;
    let lens = sequence_lengths(ops, batch, seq)?;
    let init_h = initial_state(ops, 5, [nd, batch, hidden], attrs.batch_major, "initial_h")?;
    let (init_c, p) = match kind {
        Kind::Lstm { .. } => (
            initial_state(ops, 6, [nd, batch, hidden], attrs.batch_major, "initial_c")?,
            optional_or_zeros(ops, 7, &[nd, 3 * hidden], "P")?,
        ),
        Kind::Rnn | Kind::Gru { .. } => (
            ArrayD::zeros(vec![nd, batch, hidden]),
            ArrayD::zeros(vec![nd, 0]),
        ),
    };
    let per_dir = kind.activations();
    let acts = &attrs.activations;
    if acts.len() != per_dir && acts.len() != per_dir * nd {
        return fail(format!(
            "expects {} activation functions, got {}",
            per_dir * nd,
            acts.len()
        ));
    }
    if let Some(c) = attrs.clip {
        if c.is_nan() || c < 0.0 {
            return fail(format!("clip must be a non-negative number, got {c}"));
        }
    }

    let mut y = Array4::<f32>::zeros((seq, nd, batch, hidden));
    let mut y_h = ArrayD::<f32>::zeros(vec![nd, batch, hidden]);
    let mut y_c = ArrayD::<f32>::zeros(vec![nd, batch, hidden]);
    for d in 0..nd {
        let first_act = if acts.len() == per_dir {
            0
        } else {
            d * per_dir
        };
        let gh = gates * hidden;
        let b_d = b
            .index_axis(Axis(0), d)
            .into_dimensionality::<Ix1>()
            .map_err(shape_err)?;
        let weights = DirWeights {
            w: w.index_axis(Axis(0), d)
                .into_dimensionality::<Ix2>()
                .map_err(shape_err)?,
            r: r.index_axis(Axis(0), d)
                .into_dimensionality::<Ix2>()
                .map_err(shape_err)?,
            wb: segment(b_d.view(), 0, gh),
            rb: segment(b_d.view(), gh, 2 * gh),
            p: p.index_axis(Axis(0), d)
                .into_dimensionality::<Ix1>()
                .map_err(shape_err)?,
            acts: &acts[first_act..first_act + per_dir],
            hidden,
            clip: attrs.clip,
        };
        let reverse = match attrs.direction {
            Direction::Forward => false,
            Direction::Reverse => true,
            Direction::Bidirectional => d == 1,
        };
        for (bi, &len) in lens.iter().enumerate() {
            let mut h = state_row(&init_h, d, bi);
            let mut c = state_row(&init_c, d, bi);
            let steps: Vec<usize> = if reverse {
                (0..len).rev().collect()
            } else {
                (0..len).collect()
            };
            for t in steps {
                let x_t = x.index_axis(Axis(0), t).index_axis_move(Axis(0), bi);
                let (nh, nc) = weights.step(kind, x_t, &h, &c);
                h = nh;
                c = nc;
                for (k, &v) in h.iter().enumerate() {
                    y[[t, d, bi, k]] = v;
                }
            }
            for k in 0..hidden {
                y_h[[d, bi, k]] = h[k];
                y_c[[d, bi, k]] = c[k];
            }
        }
    }

    let (y, y_h, y_c) = if attrs.batch_major {
        let state = |a: ArrayD<f32>| {
            a.permuted_axes(vec![1, 0, 2])
                .as_standard_layout()
                .into_owned()
        };
        (
            y.into_dyn()
                .permuted_axes(vec![2, 0, 1, 3])
                .as_standard_layout()
                .into_owned(),
            state(y_h),
            state(y_c),
        )
    } else {
        (y.into_dyn(), y_h, y_c)
    };
    let mut outputs = vec![Tensor::F32(y), Tensor::F32(y_h), Tensor::F32(y_c)];
    outputs.truncate(n_outputs);
    Ok(outputs)
}

/// Elements `a..b` of a vector (in range by the operand shape checks).
fn segment(v: ArrayView1<'_, f32>, a: usize, b: usize) -> ArrayView1<'_, f32> {
    v.slice_axis_move(Axis(0), Slice::from(a..b))
}

/// Rows `a..b` of a matrix (in range by the operand shape checks).
fn rows(m: ArrayView2<'_, f32>, a: usize, b: usize) -> ArrayView2<'_, f32> {
    m.slice_axis_move(Axis(0), Slice::from(a..b))
}

/// Row `[d, b, :]` of a state tensor `[nd, batch, hidden]`.
fn state_row(state: &ArrayD<f32>, d: usize, b: usize) -> Array1<f32> {
    state
        .index_axis(Axis(0), d)
        .index_axis(Axis(0), b)
        .iter()
        .copied()
        .collect()
}

fn shape_err(e: ndarray::ShapeError) -> InterpError {
    InterpError::new(e.to_string())
}

/// The sequence length of each batch row: `sequence_lens` when given (each in `0..=seq`),
/// otherwise `seq` for every row.
fn sequence_lengths(
    ops: &Operands<'_>,
    batch: usize,
    seq: usize,
) -> Result<Vec<usize>, InterpError> {
    if ops.optional(4).is_none() {
        return Ok(vec![seq; batch]);
    }
    let lens = ops.typed::<i64>(4, "sequence_lens")?;
    if lens.shape() != [batch] {
        return fail(format!(
            "sequence_lens must have shape [{batch}], got {}",
            shape_text(lens.shape())
        ));
    }
    lens.iter()
        .map(|&l| match usize::try_from(l) {
            Ok(l) if l <= seq => Ok(l),
            Ok(_) | Err(_) => fail(format!("sequence length {l} outside 0..={seq}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::interp::eval_op;
    use crate::network::interp::test_tensors::{f32_values, f32s};
    use crate::network::Op;

    fn close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }

    fn attrs(direction: Direction, activations: Vec<Activation>) -> RecurrentAttrs {
        RecurrentAttrs {
            hidden_size: 1,
            direction,
            activations,
            clip: None,
            batch_major: false,
        }
    }

    const IDENTITY: Activation = Activation::Affine {
        alpha: 1.0,
        beta: 0.0,
    };

    #[test]
    fn linear_rnn_forward_and_reverse() {
        // h_t = 2 x_t + 0.5 h_{t-1} + 0.1 - 0.1 on x = [1, 2, 3]: forward [2, 5, 8.5];
        // reverse (from t = 2 down) 6, 4 + 3 = 7, 2 + 3.5 = 5.5.
        let x = f32s(&[3, 1, 1], &[1.0, 2.0, 3.0]);
        let w = f32s(&[1, 1, 1], &[2.0]);
        let r = f32s(&[1, 1, 1], &[0.5]);
        let b = f32s(&[1, 2], &[0.1, -0.1]);
        let inputs = [Some(&x), Some(&w), Some(&r), Some(&b)];
        let op = Op::Rnn(attrs(Direction::Forward, vec![IDENTITY]));
        let out = eval_op(&op, &inputs, 2).unwrap();
        assert_eq!(out[0].shape(), &[3, 1, 1, 1]);
        close(&f32_values(&out[0]), &[2.0, 5.0, 8.5]);
        close(&f32_values(&out[1]), &[8.5]);
        let op = Op::Rnn(attrs(Direction::Reverse, vec![IDENTITY]));
        let out = eval_op(&op, &inputs, 2).unwrap();
        close(&f32_values(&out[0]), &[5.5, 7.0, 6.0]);
        close(&f32_values(&out[1]), &[5.5]);
        // Bidirectional with one function list for both directions: Y is [3, 2, 1, 1].
        let w2 = f32s(&[2, 1, 1], &[2.0, 2.0]);
        let r2 = f32s(&[2, 1, 1], &[0.5, 0.5]);
        let op = Op::Rnn(attrs(Direction::Bidirectional, vec![IDENTITY]));
        let out = eval_op(&op, &[Some(&x), Some(&w2), Some(&r2)], 2).unwrap();
        close(&f32_values(&out[0]), &[2.0, 5.5, 5.0, 7.0, 8.5, 6.0]);
        close(&f32_values(&out[1]), &[8.5, 5.5]);
    }

    #[test]
    fn gru_both_reset_placements() {
        // Hidden 1: z and r have zero pre-activations (0.5); the candidate's recurrent weight is
        // 2 and its recurrent bias 1. Expected values from the ONNX GRU equations in numpy:
        // lbr 0: [0.4820138, 0.7340706]; lbr 1: [0.45257413, 0.7065466].
        let x = f32s(&[2, 1, 1], &[1.0, 1.0]);
        let w = f32s(&[1, 3, 1], &[0.0, 0.0, 1.0]);
        let r = f32s(&[1, 3, 1], &[0.0, 0.0, 2.0]);
        let b = f32s(&[1, 6], &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        let inputs = [Some(&x), Some(&w), Some(&r), Some(&b)];
        let acts = vec![Activation::Sigmoid, Activation::Tanh];
        for (lbr, want) in [
            (false, [0.4820138, 0.7340706]),
            (true, [0.45257413, 0.7065466]),
        ] {
            let op = Op::Gru {
                attrs: attrs(Direction::Forward, acts.clone()),
                linear_before_reset: lbr,
            };
            let out = eval_op(&op, &inputs, 1).unwrap();
            assert_eq!(out.len(), 1);
            close(&f32_values(&out[0]), &want);
        }
    }

    #[test]
    fn lstm_peepholes_and_input_forget() {
        // Hidden 1, W (i, o, f, c) = [1, 0.5, -1, 2], R = [0.5, 0, 0, 1], P (i, o, f) =
        // [0.3, -0.2, 0.1], x = [1, -1]. Expected from the ONNX LSTM equations in numpy:
        // h = [0.35763186, 0.072027326], c = [0.7047606, 0.19813319]; with input_forget the
        // second step gives h = 0.047986265, c = 0.12991071.
        let x = f32s(&[2, 1, 1], &[1.0, -1.0]);
        let w = f32s(&[1, 4, 1], &[1.0, 0.5, -1.0, 2.0]);
        let r = f32s(&[1, 4, 1], &[0.5, 0.0, 0.0, 1.0]);
        let p = f32s(&[1, 3], &[0.3, -0.2, 0.1]);
        let inputs = [
            Some(&x),
            Some(&w),
            Some(&r),
            None,
            None,
            None,
            None,
            Some(&p),
        ];
        let acts = vec![Activation::Sigmoid, Activation::Tanh, Activation::Tanh];
        let cases = [
            (false, [0.35763186, 0.072027326], 0.19813319),
            (true, [0.35763186, 0.047986265], 0.12991071),
        ];
        for (input_forget, ys, c_last) in cases {
            let op = Op::Lstm {
                attrs: attrs(Direction::Forward, acts.clone()),
                input_forget,
            };
            let out = eval_op(&op, &inputs, 3).unwrap();
            close(&f32_values(&out[0]), &ys);
            close(&f32_values(&out[1]), &ys[1..]);
            close(&f32_values(&out[2]), &[c_last]);
        }
    }

    #[test]
    fn clip_bounds_pre_activations() {
        // h = clip(10 x, 1) with the identity activation: x = [1, -1] gives [1, -1].
        let x = f32s(&[2, 1, 1], &[1.0, -1.0]);
        let w = f32s(&[1, 1, 1], &[10.0]);
        let r = f32s(&[1, 1, 1], &[0.0]);
        let mut a = attrs(Direction::Forward, vec![IDENTITY]);
        a.clip = Some(1.0);
        let out = eval_op(&Op::Rnn(a), &[Some(&x), Some(&w), Some(&r)], 1).unwrap();
        close(&f32_values(&out[0]), &[1.0, -1.0]);
    }

    #[test]
    fn batch_major_layout_and_sequence_lengths() {
        // Batch 2, layout 1: X [2, 3, 1]; row 1 stops after 2 steps, so its Y[1, 2] is 0 and its
        // Y_h is the state after step 1. Identity RNN with W = 1, R = 1: running sums.
        let x = f32s(&[2, 3, 1], &[1.0, 2.0, 3.0, 10.0, 20.0, 30.0]);
        let w = f32s(&[1, 1, 1], &[1.0]);
        let r = f32s(&[1, 1, 1], &[1.0]);
        let lens = Tensor::I64(ArrayD::from_shape_vec(vec![2], vec![3, 2]).unwrap());
        let mut a = attrs(Direction::Forward, vec![IDENTITY]);
        a.batch_major = true;
        let op = Op::Rnn(a);
        let out = eval_op(&op, &[Some(&x), Some(&w), Some(&r), None, Some(&lens)], 2).unwrap();
        assert_eq!(out[0].shape(), &[2, 3, 1, 1]);
        close(&f32_values(&out[0]), &[1.0, 3.0, 6.0, 10.0, 30.0, 0.0]);
        assert_eq!(out[1].shape(), &[2, 1, 1]);
        close(&f32_values(&out[1]), &[6.0, 30.0]);
    }

    #[test]
    fn bad_operands_are_errors() {
        let x = f32s(&[2, 1, 1], &[1.0, -1.0]);
        let w = f32s(&[1, 1, 1], &[1.0]);
        let r = f32s(&[1, 1, 1], &[1.0]);
        let bad_w = f32s(&[1, 2, 1], &[1.0, 1.0]);
        let ok = Op::Rnn(attrs(Direction::Forward, vec![IDENTITY]));
        assert!(eval_op(&ok, &[Some(&x), Some(&bad_w), Some(&r)], 2).is_err());
        assert!(eval_op(&ok, &[Some(&x), Some(&w), Some(&r)], 3).is_err());
        assert!(eval_op(&ok, &[Some(&x), Some(&w), None], 1).is_err());
        let flat = f32s(&[2], &[1.0, 2.0]);
        assert!(eval_op(&ok, &[Some(&flat), Some(&w), Some(&r)], 1).is_err());
        let long = Tensor::I64(ArrayD::from_shape_vec(vec![1], vec![3]).unwrap());
        let err = eval_op(&ok, &[Some(&x), Some(&w), Some(&r), None, Some(&long)], 1);
        assert!(err.unwrap_err().message.contains("sequence length 3"));
        let two_acts = Op::Rnn(attrs(
            Direction::Forward,
            vec![IDENTITY, IDENTITY, IDENTITY],
        ));
        assert!(eval_op(&two_acts, &[Some(&x), Some(&w), Some(&r)], 1).is_err());
    }

    #[test]
    fn activations_with_parameters() {
        let cases = [
            (Activation::LeakyRelu { alpha: 0.1 }, -2.0, -0.2),
            (Activation::ThresholdedRelu { alpha: 1.0 }, 0.5, 0.0),
            (Activation::ThresholdedRelu { alpha: 1.0 }, 1.5, 1.5),
            (
                Activation::HardSigmoid {
                    alpha: 0.2,
                    beta: 0.5,
                },
                1.0,
                0.7,
            ),
            (
                Activation::HardSigmoid {
                    alpha: 0.2,
                    beta: 0.5,
                },
                5.0,
                1.0,
            ),
            (Activation::Elu { alpha: 2.0 }, 0.0, 0.0),
            (Activation::Softsign, -3.0, -0.75),
            (
                Activation::Affine {
                    alpha: 3.0,
                    beta: -1.0,
                },
                2.0,
                5.0,
            ),
            // ln(1 + e) = 1.3132616; 2 tanh(0.5) = 0.9242343
            (Activation::Softplus, 1.0, 1.3132616),
            (Activation::Softplus, 100.0, 100.0),
            (
                Activation::ScaledTanh {
                    alpha: 2.0,
                    beta: 0.5,
                },
                1.0,
                0.9242343,
            ),
        ];
        for (f, x, want) in cases {
            let got = activate(f, x);
            assert!((got - want).abs() < 1e-6, "{f:?}({x}) = {got}, want {want}");
        }
    }
}
