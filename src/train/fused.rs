//! The fused forward and backward pass of the anchor RNN: loss and exact gradients by
//! backpropagation through time, written for this one cell so that a training step is a few
//! loops over contiguous memory with no per-operation bookkeeping and no allocation.
//!
//! Activations are feature-major (`[features, n]`): every inner loop runs over the batch, so
//! the compiler vectorises it whatever the (small) layer sizes are.
//!
//! Contract: [`Workspace::loss_and_gradients`] returns the mean over all sequences, steps and
//! output values of `0.5 * ln(1 + (y_hat - y)^2)` and writes its gradient with respect to every
//! parameter into `grads` (same shape as the model). Its gradients are tested against central
//! finite differences here.

use crate::export::{Affine, AnchorRnn};
use crate::train::batch::Batch;

/// Buffers for one batch size, sequence length and architecture, reused across steps.
#[derive(Debug, Default)]
pub struct Workspace {
    /// `f_inputs[t][l]`: the input of `f`'s layer `l` at step `t` (layer 0: `[h_{t-1}; x_t]`),
    /// `[inp, n]`.
    f_inputs: Vec<Vec<Vec<f32>>>,
    /// `g_inputs[t][l]`: the input of `g`'s layer `l` at step `t` (layer 0: `h_t`).
    g_inputs: Vec<Vec<Vec<f32>>>,
    /// `outputs[t]`: `y_hat_t`, `[output_dim, n]`.
    outputs: Vec<Vec<f32>>,
    /// Gradient buffers: one per distinct layer width (`[width, n]`), swapped as layers go.
    grad_a: Vec<f32>,
    grad_b: Vec<f32>,
    /// Gradient with respect to `h_t` flowing back from step `t + 1`, `[hidden, n]`.
    grad_state: Vec<f32>,
    n: usize,
    key: Option<(usize, usize, Vec<usize>, Vec<usize>)>,
}

/// `a · b` with eight independent partial sums, so the loop vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks_a = a.chunks_exact(8);
    let mut chunks_b = b.chunks_exact(8);
    for (x, y) in (&mut chunks_a).zip(&mut chunks_b) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    lanes.iter().sum::<f32>() + tail
}

/// Sum of `a` with eight partial sums.
fn sum(a: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = a.chunks_exact(8);
    for x in &mut chunks {
        for l in 0..8 {
            lanes[l] += x[l];
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// `y += alpha * x`.
fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (v, &u) in y.iter_mut().zip(x) {
        *v += alpha * u;
    }
}

/// `out = W input + b` on feature-major `[inp, n]` input, `[out, n]` output.
fn affine(layer: &Affine, input: &[f32], out: &mut [f32], n: usize) {
    for (j, row) in out.chunks_exact_mut(n).enumerate().take(layer.out) {
        row.fill(layer.bias[j]);
        let weights = &layer.weight[j * layer.inp..(j + 1) * layer.inp];
        for (k, &w) in weights.iter().enumerate() {
            if w != 0.0 {
                axpy(w, &input[k * n..(k + 1) * n], row);
            }
        }
    }
}

/// Runs `layers` on `inputs[0]` (already filled), writing each later layer's input (after
/// ReLU) into `inputs[l]` and the last layer's output into `out`.
fn forward_mlp(layers: &[Affine], inputs: &mut [Vec<f32>], out: &mut [f32], n: usize) {
    for l in 0..layers.len() {
        if l + 1 == layers.len() {
            affine(&layers[l], &inputs[l], out, n);
        } else {
            let (done, rest) = inputs.split_at_mut(l + 1);
            affine(&layers[l], &done[l], &mut rest[0], n);
            rest[0].iter_mut().for_each(|v| *v = v.max(0.0));
        }
    }
}

/// Backpropagates `d_out` (`[out, n]`, the gradient with respect to the MLP's output) through
/// `layers`, accumulating into `grads`; leaves the gradient with respect to the MLP's input in
/// `d_out` (resized), using `scratch` as the second buffer.
fn backward_mlp(
    layers: &[Affine],
    inputs: &[Vec<f32>],
    grads: &mut [Affine],
    d_out: &mut Vec<f32>,
    scratch: &mut Vec<f32>,
    n: usize,
) {
    for l in (0..layers.len()).rev() {
        let (layer, input, grad) = (&layers[l], &inputs[l], &mut grads[l]);
        for j in 0..layer.out {
            let d_row = &d_out[j * n..(j + 1) * n];
            grad.bias[j] += sum(d_row);
            for k in 0..layer.inp {
                grad.weight[j * layer.inp + k] += dot(d_row, &input[k * n..(k + 1) * n]);
            }
        }
        scratch.clear();
        scratch.resize(layer.inp * n, 0.0);
        for j in 0..layer.out {
            let d_row = &d_out[j * n..(j + 1) * n];
            for k in 0..layer.inp {
                let w = layer.weight[j * layer.inp + k];
                if w != 0.0 {
                    axpy(w, d_row, &mut scratch[k * n..(k + 1) * n]);
                }
            }
        }
        if l > 0 {
            // `input` is the ReLU output of layer l - 1: the derivative is 1 where it is positive.
            for (d, &a) in scratch.iter_mut().zip(input) {
                if a <= 0.0 {
                    *d = 0.0;
                }
            }
        }
        std::mem::swap(d_out, scratch);
    }
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
        let buffers = |layers: &[Affine]| {
            layers
                .iter()
                .map(|l| vec![0.0f32; l.inp * n])
                .collect::<Vec<_>>()
        };
        self.f_inputs = (0..length).map(|_| buffers(&model.f)).collect();
        self.g_inputs = (0..length).map(|_| buffers(&model.g)).collect();
        self.outputs = (0..length)
            .map(|_| vec![0.0; model.output_dim * n])
            .collect();
        self.n = n;
        self.key = Some(key);
    }

    /// Runs the network on every sequence of `batch`; afterwards [`Workspace::output`] holds the
    /// predictions. The model must have been validated and match the batch's sizes.
    pub fn forward(&mut self, model: &AnchorRnn, batch: &Batch) {
        let (n, h) = (batch.n, model.hidden);
        self.prepare(model, n, batch.length);
        for t in 0..batch.length {
            let (before, from_t) = self.g_inputs.split_at_mut(t);
            let z = &mut self.f_inputs[t][0];
            match before.last() {
                Some(previous) => z[..h * n].copy_from_slice(&previous[0]),
                None => z[..h * n].fill(0.0),
            }
            z[h * n..].copy_from_slice(batch.step_inputs(t));
            let state_inputs = &mut from_t[0];
            forward_mlp(&model.f, &mut self.f_inputs[t], &mut state_inputs[0], n);
            forward_mlp(&model.g, state_inputs, &mut self.outputs[t], n);
        }
    }

    /// Output `j` of sequence `i` at step `t` of the last [`Workspace::forward`].
    pub fn output(&self, t: usize, i: usize, j: usize) -> f32 {
        self.outputs[t][j * self.n + i]
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
        let mut d = std::mem::take(&mut self.grad_a);
        let mut scratch = std::mem::take(&mut self.grad_b);
        let mut d_state = std::mem::take(&mut self.grad_state);
        d_state.clear();
        d_state.resize(h * n, 0.0);
        for t in (0..batch.length).rev() {
            d.clear();
            for (&y_hat, &y) in self.outputs[t].iter().zip(batch.step_targets(t)) {
                let err = y_hat - y;
                let square = err * err;
                loss += 0.5 * (square as f64).ln_1p();
                d.push(err / (1.0 + square) / count);
            }
            backward_mlp(
                &model.g,
                &self.g_inputs[t],
                &mut grads.g,
                &mut d,
                &mut scratch,
                n,
            );
            axpy(1.0, &d_state, &mut d);
            backward_mlp(
                &model.f,
                &self.f_inputs[t],
                &mut grads.f,
                &mut d,
                &mut scratch,
                n,
            );
            d_state.copy_from_slice(&d[..h * n]);
        }
        self.grad_a = d;
        self.grad_b = scratch;
        self.grad_state = d_state;
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
                .map(|t| {
                    (0..2)
                        .map(|j| batch.step_inputs(t)[j * batch.n + i])
                        .collect()
                })
                .collect();
            let reference = model.run(&seq).unwrap();
            for (t, y) in reference.iter().enumerate() {
                assert!((ws.output(t, i, 0) - y[0]).abs() < 1e-5);
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
        // Central differences with a step of 3e-3 on an f32 forward pass are accurate to a few
        // parts in 1e3 away from ReLU kinks; a wrong gradient is off by far more.
        let model = initialise(&arch, 2, 1, 11);
        let batch = toy_batch();
        let mut grads = zeros_like(&model);
        Workspace::new().loss_and_gradients(&model, &batch, &mut grads);
        let analytic: Vec<f32> = tensors(&grads).concat();
        let mut index = 0;
        for tensor in 0..tensors(&model).len() {
            for k in 0..tensors(&model)[tensor].len() {
                let eps = 3e-3f32;
                let mut plus = model.clone();
                tensors_mut(&mut plus)[tensor][k] += eps;
                let mut minus = model.clone();
                tensors_mut(&mut minus)[tensor][k] -= eps;
                let numeric =
                    (loss_only(&plus, &batch) - loss_only(&minus, &batch)) / (2.0 * eps as f64);
                let a = analytic[index] as f64;
                assert!(
                    (numeric - a).abs() <= 5e-3 * numeric.abs().max(a.abs()).max(1e-2),
                    "parameter {index}: numeric {numeric}, analytic {a}"
                );
                index += 1;
            }
        }
        assert_eq!(index, arch.parameter_count(2, 1));
    }
}
