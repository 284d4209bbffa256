//! A pointwise multilayer perceptron: its shape, flat parameters, forward and backward passes.
//!
//! The network maps one example to its outputs: real features, or integer tokens looked up in one
//! learned embedding table per input (the looked-up rows concatenated), then affine layers with
//! ReLU between them and none after the last. Every parameter lives in one flat `Vec<f32>`
//! (embedding tables, then per layer the row-major `[out, in]` weight and the `[out]` bias), so
//! the optimiser and the penalties ([`super::penalty`]) see one slice.
//!
//! Gradients are written by hand (one example at a time, examples summed in order) and tested
//! against central finite differences.

use std::ops::Range;

use crate::rng::SplitMix64;

/// What one example's inputs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InputKind {
    /// `features` real numbers.
    Real { features: usize },
    /// `inputs` integer tokens in `0..vocab`, each looked up in its own `[vocab, dim]` table.
    Embedded {
        inputs: usize,
        vocab: usize,
        dim: usize,
    },
}

/// The loss the network is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean squared error over the outputs; targets are real, one per output.
    Mse,
    /// Softmax cross-entropy over the outputs (logits); the target is one class index.
    CrossEntropy,
}

/// The architecture of an [`Mlp`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MlpShape {
    pub input: InputKind,
    /// Widths of the hidden layers, in order (may be empty: one affine layer).
    pub hidden: Vec<usize>,
    /// Number of outputs (logits for classification).
    pub output: usize,
}

/// Where one affine layer's parameters sit in the flat vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerView {
    pub out: usize,
    pub inp: usize,
    /// Row-major `[out, inp]`.
    pub weight: Range<usize>,
    /// `[out]`.
    pub bias: Range<usize>,
}

impl MlpShape {
    /// Values per example in the data: features, or tokens.
    pub fn input_len(&self) -> usize {
        match self.input {
            InputKind::Real { features } => features,
            InputKind::Embedded { inputs, .. } => inputs,
        }
    }

    /// Width of the first affine layer's input (features, or the concatenated embeddings).
    pub fn first_width(&self) -> usize {
        match self.input {
            InputKind::Real { features } => features,
            InputKind::Embedded { inputs, dim, .. } => inputs * dim,
        }
    }

    /// Parameters of the embedding tables (0 for real inputs).
    pub fn embedding_len(&self) -> usize {
        match self.input {
            InputKind::Real { .. } => 0,
            InputKind::Embedded { inputs, vocab, dim } => inputs * vocab * dim,
        }
    }

    /// The affine layers in order, with their place in the flat parameters.
    pub fn layers(&self) -> Vec<LayerView> {
        let mut views = Vec::new();
        let mut offset = self.embedding_len();
        let mut inp = self.first_width();
        for &out in self.hidden.iter().chain(std::iter::once(&self.output)) {
            let weight = offset..offset + out * inp;
            let bias = weight.end..weight.end + out;
            offset = bias.end;
            views.push(LayerView {
                out,
                inp,
                weight,
                bias,
            });
            inp = out;
        }
        views
    }

    /// Total number of parameters.
    pub fn param_count(&self) -> usize {
        self.layers()
            .last()
            .map_or(self.embedding_len(), |l| l.bias.end)
    }

    /// True for parameters that penalties act on: embeddings and layer weights, not biases.
    pub fn weight_mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.param_count()];
        mask[..self.embedding_len()].fill(true);
        for layer in self.layers() {
            mask[layer.weight].fill(true);
        }
        mask
    }

    /// Checks that every size is positive and the parameter count fits in memory sensibly.
    pub fn validate(&self) -> Result<(), String> {
        let sizes_ok = match self.input {
            InputKind::Real { features } => features > 0,
            InputKind::Embedded { inputs, vocab, dim } => inputs > 0 && vocab > 0 && dim > 0,
        };
        if !sizes_ok || self.output == 0 || self.hidden.contains(&0) {
            return Err(format!("every size of {self:?} must be positive"));
        }
        Ok(())
    }
}

/// A network of shape `shape` with its flat parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    pub shape: MlpShape,
    pub params: Vec<f32>,
}

/// Everything the backward pass needs from one example's forward pass.
struct Trace {
    /// The input of each affine layer (the first is the features or concatenated embeddings).
    inputs: Vec<Vec<f32>>,
    /// The pre-activations of each layer (the last is the output).
    pre: Vec<Vec<f32>>,
}

impl Mlp {
    /// A network initialised as PyTorch does (`U(-1/sqrt(in), 1/sqrt(in))` for weights and
    /// biases; embeddings `N(0, 1)` approximated by a sum of uniforms), fixed by `seed`.
    pub fn init(shape: MlpShape, seed: u64) -> Mlp {
        let mut rng = SplitMix64::new(seed);
        let mut params = vec![0.0f32; shape.param_count()];
        for p in &mut params[..shape.embedding_len()] {
            // Irwin-Hall: the sum of 12 uniforms minus 6 has mean 0 and variance 1.
            let s: f64 = (0..12).map(|_| rng.real_in(0.0, 1.0)).sum();
            *p = (s - 6.0) as f32;
        }
        for layer in shape.layers() {
            let bound = 1.0 / (layer.inp as f64).sqrt();
            for p in &mut params[layer.weight.start..layer.bias.end] {
                *p = rng.real_in(-bound, bound) as f32;
            }
        }
        Mlp { shape, params }
    }

    /// The outputs for one example (`shape.input_len()` values; tokens as whole numbers). The
    /// caller has validated tokens against the vocabulary (see [`super::mlp_data::MlpData`]).
    pub fn predict(&self, example: &[f32]) -> Vec<f32> {
        self.forward(&self.params, example)
            .pre
            .pop()
            .unwrap_or_default()
    }

    fn forward(&self, params: &[f32], example: &[f32]) -> Trace {
        let mut input = match self.shape.input {
            InputKind::Real { .. } => example.to_vec(),
            InputKind::Embedded { vocab, dim, .. } => {
                let mut v = Vec::with_capacity(self.shape.first_width());
                for (k, &token) in example.iter().enumerate() {
                    let row = (k * vocab + token as usize) * dim;
                    v.extend_from_slice(&params[row..row + dim]);
                }
                v
            }
        };
        let layers = self.shape.layers();
        let mut trace = Trace {
            inputs: Vec::with_capacity(layers.len()),
            pre: Vec::with_capacity(layers.len()),
        };
        for (i, layer) in layers.iter().enumerate() {
            let w = &params[layer.weight.clone()];
            let z: Vec<f32> = params[layer.bias.clone()]
                .iter()
                .enumerate()
                .map(|(o, &b)| {
                    let row = &w[o * layer.inp..(o + 1) * layer.inp];
                    row.iter().zip(&input).fold(b, |acc, (&w, &x)| acc + w * x)
                })
                .collect();
            let next = if i + 1 < layers.len() {
                z.iter().map(|&v| v.max(0.0)).collect()
            } else {
                Vec::new()
            };
            trace.inputs.push(std::mem::replace(&mut input, next));
            trace.pre.push(z);
        }
        trace
    }

    /// Mean loss over `rows` of `data` at parameters `params` (same layout as `self.params`),
    /// and, when `grads` is given, its gradient added into `grads`.
    pub fn loss_and_grad(
        &self,
        params: &[f32],
        data: &super::mlp_data::MlpData,
        rows: &[usize],
        loss: Loss,
        mut grads: Option<&mut [f32]>,
    ) -> f64 {
        let layers = self.shape.layers();
        let scale = 1.0 / rows.len().max(1) as f32;
        let mut total = 0.0f64;
        for &r in rows {
            let example = data.example(r);
            let target = data.target(r);
            let mut trace = self.forward(params, example);
            let out = trace.pre.pop().unwrap_or_default();
            let (value, mut delta) = loss_delta(loss, &out, target);
            total += value;
            let Some(grads) = grads.as_deref_mut() else {
                continue;
            };
            delta.iter_mut().for_each(|d| *d *= scale);
            for (i, layer) in layers.iter().enumerate().rev() {
                let input = &trace.inputs[i];
                let gw = &mut grads[layer.weight.clone()];
                for (o, &d) in delta.iter().enumerate() {
                    if d != 0.0 {
                        let row = &mut gw[o * layer.inp..(o + 1) * layer.inp];
                        row.iter_mut().zip(input).for_each(|(g, &x)| *g += d * x);
                    }
                }
                grads[layer.bias.clone()]
                    .iter_mut()
                    .zip(&delta)
                    .for_each(|(g, &d)| *g += d);
                let w = &params[layer.weight.clone()];
                let mut back = vec![0.0f32; layer.inp];
                for (o, &d) in delta.iter().enumerate() {
                    if d != 0.0 {
                        let row = &w[o * layer.inp..(o + 1) * layer.inp];
                        back.iter_mut().zip(row).for_each(|(b, &w)| *b += d * w);
                    }
                }
                if i > 0 {
                    // Through the ReLU that produced this layer's input.
                    let pre = &trace.pre[i - 1];
                    back.iter_mut()
                        .zip(pre)
                        .for_each(|(b, &z)| *b = if z > 0.0 { *b } else { 0.0 });
                }
                delta = back;
            }
            if let InputKind::Embedded { vocab, dim, .. } = self.shape.input {
                for (k, &token) in example.iter().enumerate() {
                    let row = (k * vocab + token as usize) * dim;
                    grads[row..row + dim]
                        .iter_mut()
                        .zip(&delta[k * dim..(k + 1) * dim])
                        .for_each(|(g, &d)| *g += d);
                }
            }
            trace.inputs.clear();
        }
        total / rows.len().max(1) as f64
    }
}

/// One example's loss and its derivative with respect to the outputs.
fn loss_delta(loss: Loss, out: &[f32], target: &[f32]) -> (f64, Vec<f32>) {
    match loss {
        Loss::Mse => {
            let n = out.len().max(1) as f32;
            let value = out
                .iter()
                .zip(target)
                .map(|(&y, &t)| f64::from((y - t) * (y - t)))
                .sum::<f64>()
                / f64::from(n);
            let delta = out
                .iter()
                .zip(target)
                .map(|(&y, &t)| 2.0 * (y - t) / n)
                .collect();
            (value, delta)
        }
        Loss::CrossEntropy => {
            let class = target.first().map_or(0, |&t| t as usize);
            let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps: Vec<f32> = out.iter().map(|&y| (y - max).exp()).collect();
            let sum: f32 = exps.iter().sum();
            let value = f64::from(sum.ln() + max - out.get(class).copied().unwrap_or(0.0));
            let delta = exps
                .iter()
                .enumerate()
                .map(|(i, &e)| e / sum - if i == class { 1.0 } else { 0.0 })
                .collect();
            (value, delta)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::mlp_data::MlpData;
    use super::*;

    fn check_gradients(shape: MlpShape, data: &MlpData, loss: Loss) {
        let model = Mlp::init(shape, 3);
        let rows: Vec<usize> = (0..data.len()).collect();
        let mut grads = vec![0.0f32; model.params.len()];
        model.loss_and_grad(&model.params, data, &rows, loss, Some(&mut grads));
        let mut worst = 0.0f64;
        for i in 0..model.params.len() {
            let h = 1e-3f32;
            let mut plus = model.params.clone();
            plus[i] += h;
            let mut minus = model.params.clone();
            minus[i] -= h;
            let numeric = (model.loss_and_grad(&plus, data, &rows, loss, None)
                - model.loss_and_grad(&minus, data, &rows, loss, None))
                / (2.0 * f64::from(h));
            worst = worst.max((numeric - f64::from(grads[i])).abs());
        }
        assert!(worst < 5e-3, "largest gradient error {worst}");
    }

    #[test]
    fn regression_gradients_match_finite_differences() {
        let shape = MlpShape {
            input: InputKind::Real { features: 3 },
            hidden: vec![5, 4],
            output: 2,
        };
        let data = MlpData::new(
            3,
            2,
            vec![0.3, -0.7, 0.9, -0.2, 0.5, 0.1, 0.8, 0.8, -0.6],
            vec![1.0, -1.0, 0.5, 0.0, 0.2, 0.3],
        );
        check_gradients(shape, &data, Loss::Mse);
    }

    #[test]
    fn embedded_classification_gradients_match_finite_differences() {
        let shape = MlpShape {
            input: InputKind::Embedded {
                inputs: 2,
                vocab: 5,
                dim: 3,
            },
            hidden: vec![6],
            output: 5,
        };
        let data = MlpData::new(
            2,
            1,
            vec![1.0, 2.0, 4.0, 0.0, 3.0, 3.0],
            vec![3.0, 4.0, 1.0],
        );
        check_gradients(shape, &data, Loss::CrossEntropy);
    }

    #[test]
    fn layout_covers_every_parameter_once() {
        let shape = MlpShape {
            input: InputKind::Embedded {
                inputs: 2,
                vocab: 7,
                dim: 4,
            },
            hidden: vec![10],
            output: 7,
        };
        let layers = shape.layers();
        assert_eq!(layers[0].weight, 56..136);
        assert_eq!(layers[1].bias, 216..223);
        assert_eq!(shape.param_count(), 223);
        assert_eq!(
            shape.weight_mask().iter().filter(|&&m| m).count(),
            56 + 80 + 70
        );
    }
}
