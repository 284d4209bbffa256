//! AdamW (Loshchilov and Hutter, 2019) with PyTorch's conventions: decoupled weight decay applied
//! before the Adam update, bias-corrected moments, `eps` added to the root of the second moment.

use crate::export::AnchorRnn;
use crate::train::model::{tensors, tensors_mut};

/// Hyperparameters; the defaults are PyTorch's `torch.optim.AdamW`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AdamWConfig {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// Optimiser state for one network (first and second moments per parameter).
#[derive(Debug, Clone)]
pub struct AdamW {
    config: AdamWConfig,
    first: Vec<f32>,
    second: Vec<f32>,
    steps: u32,
}

impl AdamW {
    /// Zero moments for a network of `model`'s shape.
    pub fn new(model: &AnchorRnn, config: AdamWConfig) -> Self {
        let size = tensors(model).iter().map(|t| t.len()).sum();
        AdamW::with_len(size, config)
    }

    /// Zero moments for `len` parameters held in one flat slice (see [`AdamW::step_flat`]).
    pub fn with_len(len: usize, config: AdamWConfig) -> Self {
        AdamW {
            config,
            first: vec![0.0; len],
            second: vec![0.0; len],
            steps: 0,
        }
    }

    /// One update of the flat parameters `params` along `grads` (both of the length given to
    /// [`AdamW::with_len`]; extra elements of either are ignored) with learning rate `lr`.
    pub fn step_flat(&mut self, params: &mut [f32], grads: &[f32], lr: f32) {
        self.update(params.iter_mut(), grads.iter(), lr);
    }

    /// Swaps the optimiser state of parameters `a` and `b`, following a function-preserving
    /// swap of the parameters themselves. Indices out of range are ignored.
    pub fn swap(&mut self, a: usize, b: usize) {
        if a < self.first.len() && b < self.first.len() {
            self.first.swap(a, b);
            self.second.swap(a, b);
        }
    }

    /// One update of `model` along `grads` (same shape) with learning rate `lr`.
    pub fn step(&mut self, model: &mut AnchorRnn, grads: &AnchorRnn, lr: f32) {
        let params = tensors_mut(model).into_iter().flat_map(|t| t.iter_mut());
        let gradients = tensors(grads).into_iter().flat_map(|t| t.iter());
        self.update(params, gradients, lr);
    }

    fn update<'a>(
        &mut self,
        params: impl Iterator<Item = &'a mut f32>,
        gradients: impl Iterator<Item = &'a f32>,
        lr: f32,
    ) {
        let c = self.config;
        self.steps += 1;
        let correct1 = 1.0 - c.beta1.powi(self.steps as i32);
        let correct2 = 1.0 - c.beta2.powi(self.steps as i32);
        for (((p, &g), m), v) in params
            .zip(gradients)
            .zip(&mut self.first)
            .zip(&mut self.second)
        {
            *p -= lr * c.weight_decay * *p;
            *m = c.beta1 * *m + (1.0 - c.beta1) * g;
            *v = c.beta2 * *v + (1.0 - c.beta2) * g * g;
            *p -= lr * (*m / correct1) / ((*v / correct2).sqrt() + c.eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::Affine;

    #[test]
    fn first_step_matches_pytorch() {
        // torch.optim.AdamW([p], lr=0.1) with p = 1.0, grad = 0.5: p <- 1 - 0.1*0.01*1 = 0.999,
        // then m_hat = 0.5, v_hat = 0.25, so p <- 0.999 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.899.
        let layer = |w: f32| Affine {
            weight: vec![w],
            out: 1,
            inp: 1,
            bias: vec![0.0],
        };
        let mut model = AnchorRnn {
            input_dim: 0,
            hidden: 1,
            output_dim: 1,
            f: vec![layer(1.0)],
            g: vec![layer(0.0)],
        };
        let grads = AnchorRnn {
            f: vec![layer(0.5)],
            g: vec![layer(0.0)],
            ..model.clone()
        };
        let mut opt = AdamW::new(&model, AdamWConfig::default());
        opt.step(&mut model, &grads, 0.1);
        assert!((model.f[0].weight[0] - 0.899).abs() < 1e-6);
        assert_eq!(model.g[0].weight[0], 0.0);
    }
}
