//! Running and training the pointwise [`Mlp`]: seeded initialisation, the forward pass, and the
//! loss with its gradient over the flat parameters (the model and its layout are
//! [`crate::export`]'s).
//!
//! Gradients are written by hand (one example at a time, examples summed in order) and tested
//! against central finite differences.

use crate::rng::SplitMix64;
use crate::train::mlp_data::MlpData;

use crate::export::{InputKind, Mlp, MlpShape};
use crate::train::mlp_data::Loss;

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
    /// caller has validated tokens against the vocabulary (see [`MlpData`]).
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
        data: &MlpData,
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
}
