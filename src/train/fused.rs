//! The fused forward and backward pass of the anchor RNN: loss and exact gradients by
//! backpropagation through time, written for this one cell so that a training step costs a few
//! dozen small matrix products and no per-operation bookkeeping.
//!
//! Contract: [`Workspace::loss_and_gradients`] returns the mean over all sequences, steps and
//! output values of `0.5 * ln(1 + (y_hat - y)^2)` and writes its gradient with respect to every
//! parameter into `grads` (same shape as the model). Its gradients are tested against burn's
//! autodiff in `train::autodiff` and against finite differences.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Slice};

use crate::export::{Affine, AnchorRnn};
use crate::train::batch::Batch;

/// Buffers for one batch size, sequence length and architecture, reused across steps.
#[derive(Debug, Default)]
pub struct Workspace {
    /// `f_inputs[t][l]`: the input of `f`'s layer `l` at step `t` (layer 0: `[h_{t-1}; x_t]`).
    f_inputs: Vec<Vec<Array2<f32>>>,
    /// `g_inputs[t][l]`: the input of `g`'s layer `l` at step `t` (layer 0: `h_t`).
    g_inputs: Vec<Vec<Array2<f32>>>,
    /// `outputs[t]`: `y_hat_t`, `[n, output_dim]`.
    outputs: Vec<Array2<f32>>,
    key: Option<(usize, usize, Vec<usize>, Vec<usize>)>,
}

/// `[n, width]` input buffers for each layer of an MLP whose layers have these input sizes.
fn layer_buffers(n: usize, layers: &[Affine]) -> Vec<Array2<f32>> {
    layers.iter().map(|l| Array2::zeros((n, l.inp))).collect()
}

fn weight_view(layer: &Affine) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((layer.out, layer.inp), &layer.weight).expect("validated layer shape")
}

fn weight_view_mut(layer: &mut Affine) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((layer.out, layer.inp), &mut layer.weight)
        .expect("validated layer shape")
}

/// `out = input W^T + b`.
fn affine_into(layer: &Affine, input: &ArrayView2<f32>, out: &mut ArrayViewMut2<f32>) {
    for mut row in out.rows_mut() {
        row.iter_mut().zip(&layer.bias).for_each(|(o, &b)| *o = b);
    }
    general_mat_mul(1.0, input, &weight_view(layer).t(), 1.0, out);
}

/// Runs `layers` on `inputs[0]` (already filled), writing each later layer's input (after
/// ReLU) into `inputs[l]` and the last layer's output into `out`.
fn forward_mlp(layers: &[Affine], inputs: &mut [Array2<f32>], out: &mut ArrayViewMut2<f32>) {
    for l in 0..layers.len() {
        if l + 1 == layers.len() {
            affine_into(&layers[l], &inputs[l].view(), out);
        } else {
            let (done, rest) = inputs.split_at_mut(l + 1);
            let mut next = rest[0].view_mut();
            affine_into(&layers[l], &done[l].view(), &mut next);
            next.mapv_inplace(|v| v.max(0.0));
        }
    }
}

/// Backpropagates `d_out` (gradient of the loss with respect to the MLP's output) through
/// `layers`, accumulating weight and bias gradients into `grads`; returns the gradient with
/// respect to the MLP's input.
fn backward_mlp(
    layers: &[Affine],
    inputs: &[Array2<f32>],
    grads: &mut [Affine],
    mut d_out: Array2<f32>,
) -> Array2<f32> {
    for l in (0..layers.len()).rev() {
        let input = &inputs[l];
        general_mat_mul(
            1.0,
            &d_out.t(),
            input,
            1.0,
            &mut weight_view_mut(&mut grads[l]),
        );
        for (gb, col) in grads[l].bias.iter_mut().zip(d_out.axis_iter(Axis(1))) {
            *gb += col.sum();
        }
        let mut d_in = d_out.dot(&weight_view(&layers[l]));
        if l > 0 {
            // `input` is the ReLU output of layer l - 1: the derivative is 1 where it is positive.
            d_in.zip_mut_with(input, |d, &a| {
                if a <= 0.0 {
                    *d = 0.0
                }
            });
        }
        d_out = d_in;
    }
    d_out
}

impl Workspace {
    pub fn new() -> Self {
        Workspace::default()
    }

    fn prepare(&mut self, model: &AnchorRnn, n: usize, length: usize) {
        let key = (
            n,
            length,
            model.f.iter().map(|l| l.inp).collect::<Vec<_>>(),
            model.g.iter().map(|l| l.inp).collect::<Vec<_>>(),
        );
        if self.key.as_ref() == Some(&key) {
            return;
        }
        self.f_inputs = (0..length).map(|_| layer_buffers(n, &model.f)).collect();
        self.g_inputs = (0..length).map(|_| layer_buffers(n, &model.g)).collect();
        self.outputs = (0..length)
            .map(|_| Array2::zeros((n, model.output_dim)))
            .collect();
        self.key = Some(key);
    }

    /// Runs the network on every sequence of `batch`; afterwards [`Workspace::output`] holds the
    /// predictions. The model must have been validated and match the batch's sizes.
    pub fn forward(&mut self, model: &AnchorRnn, batch: &Batch) {
        let (n, h, d) = (batch.n, model.hidden, model.input_dim);
        self.prepare(model, n, batch.length);
        for t in 0..batch.length {
            let x = ArrayView2::from_shape((n, d), batch.step_inputs(t)).expect("batch layout");
            {
                let z = &mut self.f_inputs[t][0];
                if t == 0 {
                    z.slice_axis_mut(Axis(1), Slice::from(..h)).fill(0.0);
                } else {
                    z.slice_axis_mut(Axis(1), Slice::from(..h))
                        .assign(&self.g_inputs[t - 1][0]);
                }
                z.slice_axis_mut(Axis(1), Slice::from(h..)).assign(&x);
            }
            let mut state = std::mem::take(&mut self.g_inputs[t][0]);
            forward_mlp(&model.f, &mut self.f_inputs[t], &mut state.view_mut());
            self.g_inputs[t][0] = state;
            let mut y = std::mem::take(&mut self.outputs[t]);
            forward_mlp(&model.g, &mut self.g_inputs[t], &mut y.view_mut());
            self.outputs[t] = y;
        }
    }

    /// The predictions of the last [`Workspace::forward`] at step `t`, `[n, output_dim]`.
    pub fn output(&self, t: usize) -> ArrayView2<'_, f32> {
        self.outputs[t].view()
    }

    /// Forward and backward pass: returns the mean loss and overwrites `grads` (a network of the
    /// model's shape) with its gradient.
    pub fn loss_and_gradients(
        &mut self,
        model: &AnchorRnn,
        batch: &Batch,
        grads: &mut AnchorRnn,
    ) -> f64 {
        self.forward(model, batch);
        for t in crate::train::model::tensors_mut(grads) {
            t.fill(0.0);
        }
        let (n, h, o) = (batch.n, model.hidden, model.output_dim);
        let count = (n * batch.length * o).max(1) as f32;
        let mut loss = 0.0f64;
        let mut d_next = Array2::<f32>::zeros((n, h));
        for t in (0..batch.length).rev() {
            let targets =
                ArrayView2::from_shape((n, o), batch.step_targets(t)).expect("batch layout");
            let mut d_y = self.outputs[t].to_owned();
            d_y.zip_mut_with(&targets, |e, &y| {
                let err = *e - y;
                let e64 = err as f64;
                loss += 0.5 * (e64 * e64).ln_1p();
                *e = err / (1.0 + err * err) / count;
            });
            let mut d_h = backward_mlp(&model.g, &self.g_inputs[t], &mut grads.g, d_y);
            d_h += &d_next;
            let d_z = backward_mlp(&model.f, &self.f_inputs[t], &mut grads.f, d_h);
            d_next = d_z.slice_axis(Axis(1), Slice::from(..h)).to_owned();
        }
        loss / count as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::{initialise, tensors, tensors_mut, zeros_like, Architecture};

    fn toy_batch() -> Batch {
        // 3 sequences of 4 steps, 2 features, 1 output.
        let inputs: Vec<f32> = (0..24).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
        let targets: Vec<f32> = (0..12).map(|i| (i % 3) as f32).collect();
        Batch {
            n: 3,
            length: 4,
            input_dim: 2,
            output_dim: 1,
            inputs,
            targets,
        }
    }

    fn loss_only(model: &AnchorRnn, batch: &Batch) -> f64 {
        let mut grads = zeros_like(model);
        Workspace::new().loss_and_gradients(model, batch, &mut grads)
    }

    #[test]
    fn forward_matches_the_reference_run() {
        let arch = Architecture {
            hidden: 3,
            f_widths: vec![5],
            g_widths: vec![4],
        };
        let model = initialise(&arch, 2, 1, 3);
        let batch = toy_batch();
        let mut ws = Workspace::new();
        ws.forward(&model, &batch);
        for i in 0..batch.n {
            let seq: Vec<Vec<f32>> = (0..batch.length)
                .map(|t| batch.step_inputs(t)[i * 2..i * 2 + 2].to_vec())
                .collect();
            let reference = model.run(&seq).unwrap();
            for (t, y) in reference.iter().enumerate() {
                assert!((ws.output(t)[[i, 0]] - y[0]).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let arch = Architecture {
            hidden: 3,
            f_widths: vec![6],
            g_widths: vec![4],
        };
        // Weights in f64 would be nicer, but central differences with a step of 1e-2 in f32 are
        // accurate to about 1e-3 relative on this smooth loss away from ReLU kinks.
        let model = initialise(&arch, 2, 1, 11);
        let batch = toy_batch();
        let mut grads = zeros_like(&model);
        Workspace::new().loss_and_gradients(&model, &batch, &mut grads);
        let analytic: Vec<f32> = tensors(&grads).concat();
        let mut index = 0;
        let mut checked = 0;
        for tensor in 0..tensors(&model).len() {
            for k in 0..tensors(&model)[tensor].len() {
                let eps = 1e-2f32;
                let mut plus = model.clone();
                tensors_mut(&mut plus)[tensor][k] += eps;
                let mut minus = model.clone();
                tensors_mut(&mut minus)[tensor][k] -= eps;
                let numeric =
                    (loss_only(&plus, &batch) - loss_only(&minus, &batch)) / (2.0 * eps as f64);
                let a = analytic[index] as f64;
                assert!(
                    (numeric - a).abs() <= 2e-3 * numeric.abs().max(a.abs()).max(1e-2),
                    "parameter {index}: numeric {numeric}, analytic {a}"
                );
                index += 1;
                checked += 1;
            }
        }
        assert_eq!(checked, arch.parameter_count(2, 1));
    }
}
