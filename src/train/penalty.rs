//! Complexity penalties for the MLP trainer: L1, group lasso, the BIMT connection cost, a
//! variational description length, and soft weight sharing.
//!
//! Each penalty acts on the *weights* of an [`Mlp`] (embeddings and layer weights, never
//! biases; see [`MlpShape::weight_mask`]). Penalties with exact zeros are proximal steps taken
//! after the optimiser's step (L1, group lasso, connection cost); the others add a gradient
//! before it. Formulas (standard; see `shared/reference/complexity.md`):
//! - L1: `w <- sign(w) max(|w| - lr * lambda, 0)`.
//! - Group lasso on hidden neurons: `lambda * sum_i ||(row i of W_in, b_i, column i of W_out)||_2`,
//!   proximal: the group is scaled by `max(0, 1 - lr * lambda / ||g||)`.
//! - Connection cost (BIMT): neurons of every layer sit on a line at `(i + 1/2) / n`; the cost is
//!   `lambda * sum |w_ij| * (|pos_i - pos_j| + CONNECTION_L0)`, a weighted L1 with the same
//!   proximal step; the strength rises x10 from 25% to 75% of training, and every
//!   `swap_every` steps the most important neurons of each hidden layer are swapped with
//!   whichever neuron lowers the cost most (a function-preserving permutation).
//! - Description length: each weight is `N(mu, sigma^2)`; the penalty is
//!   `beta * sum KL(q || N(0, s^2)) / ln 2` bits, `KL = ln(s/sigma) + (sigma^2 + mu^2)/(2 s^2) - 1/2`;
//!   training sees weights drawn by the reparameterisation `mu + sigma * eps`; at the end weights
//!   with `|mu| / sigma < 1` are pruned.
//! - Soft weight sharing: `lambda * sum_w -ln sum_j pi_j N(w | m_j, s^2)` with equal `pi_j`, one
//!   component pinned at 0 and the other means re-estimated (EM) every step; [`snap_to_codebook`]
//!   rounds each weight to its component's mean.
//!
//! All randomness comes from the trainer's seeded generator, so runs are reproducible.

use crate::export::{Mlp, MlpShape};
use crate::normal::connection::{connection_length, CONNECTION_L0};
use crate::rng::SplitMix64;
use crate::train::adamw::{AdamW, AdamWConfig};

/// Initial standard deviation of every weight's posterior under the description-length penalty.
const INITIAL_SIGMA: f32 = 1e-3;

/// A regulariser and its strength.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Penalty {
    None,
    L1 {
        lambda: f32,
    },
    GroupLasso {
        lambda: f32,
    },
    Connection {
        lambda: f32,
        swap_every: usize,
    },
    /// `beta` per bit of description length; `prior_std` is `s`.
    DescriptionLength {
        beta: f32,
        prior_std: f32,
    },
    /// `components` mixture components (one pinned at 0), each of standard deviation `std`.
    WeightSharing {
        lambda: f32,
        components: usize,
        std: f32,
    },
}

impl Penalty {
    /// Parses `KIND[:STRENGTH]`: `none`, `l1`, `group`, `bimt`, `dl` (description length),
    /// `share` (soft weight sharing). Errors name what is wrong.
    pub fn parse(text: &str) -> Result<Penalty, String> {
        let (kind, strength) = match text.split_once(':') {
            Some((k, s)) => (
                k.trim(),
                Some(
                    s.trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|v| v.is_finite() && *v >= 0.0)
                        .ok_or_else(|| format!("the strength {s:?} is not a number >= 0"))?,
                ),
            ),
            None => (text.trim(), None),
        };
        let penalty = match kind {
            "none" => Penalty::None,
            "l1" => Penalty::L1 { lambda: 1e-3 },
            "group" | "group-lasso" => Penalty::GroupLasso { lambda: 1e-3 },
            "bimt" | "connection" => Penalty::Connection {
                lambda: 1e-3,
                swap_every: 200,
            },
            "dl" | "description-length" => Penalty::DescriptionLength {
                beta: 1e-4,
                prior_std: 1.0,
            },
            "share" | "weight-sharing" => Penalty::WeightSharing {
                lambda: 1e-4,
                components: 5,
                std: 0.05,
            },
            other => {
                return Err(format!(
                    "unknown penalty {other:?}; expected none, l1, group, bimt, dl or share"
                ))
            }
        };
        Ok(match strength {
            Some(s) => penalty.with_strength(s),
            None => penalty,
        })
    }

    /// The same penalty at strength `s` (lambda or beta).
    pub fn with_strength(self, s: f32) -> Penalty {
        match self {
            Penalty::None => Penalty::None,
            Penalty::L1 { .. } => Penalty::L1 { lambda: s },
            Penalty::GroupLasso { .. } => Penalty::GroupLasso { lambda: s },
            Penalty::Connection { swap_every, .. } => Penalty::Connection {
                lambda: s,
                swap_every,
            },
            Penalty::DescriptionLength { prior_std, .. } => {
                Penalty::DescriptionLength { beta: s, prior_std }
            }
            Penalty::WeightSharing {
                components, std, ..
            } => Penalty::WeightSharing {
                lambda: s,
                components,
                std,
            },
        }
    }

    /// The strength (0 for none).
    pub fn strength(&self) -> f32 {
        match *self {
            Penalty::None => 0.0,
            Penalty::L1 { lambda }
            | Penalty::GroupLasso { lambda }
            | Penalty::Connection { lambda, .. }
            | Penalty::WeightSharing { lambda, .. } => lambda,
            Penalty::DescriptionLength { beta, .. } => beta,
        }
    }
}

/// The state a penalty carries through training: posterior scales and their optimiser, mixture
/// means.
#[derive(Debug, Clone)]
pub struct PenaltyState {
    penalty: Penalty,
    mask: Vec<bool>,
    /// `ln sigma` per parameter (description length only).
    log_sigma: Vec<f32>,
    sigma_opt: Option<AdamW>,
    /// Mixture means; `means[0]` is pinned at 0 (weight sharing only).
    pub means: Vec<f32>,
}

impl PenaltyState {
    /// The state for `penalty` on `model` (means spread over the initial weights' range).
    pub fn new(penalty: Penalty, model: &Mlp) -> PenaltyState {
        let mask = model.shape.weight_mask();
        let n = model.params.len();
        let (log_sigma, sigma_opt) = match penalty {
            Penalty::DescriptionLength { .. } => (
                vec![INITIAL_SIGMA.ln(); n],
                Some(AdamW::with_len(
                    n,
                    AdamWConfig {
                        weight_decay: 0.0,
                        ..AdamWConfig::default()
                    },
                )),
            ),
            _ => (Vec::new(), None),
        };
        let means = match penalty {
            Penalty::WeightSharing { components, .. } => {
                let spread = model
                    .params
                    .iter()
                    .zip(&mask)
                    .filter(|(_, &m)| m)
                    .fold(0.0f32, |acc, (w, _)| acc.max(w.abs()))
                    .max(1e-3);
                let k = components.max(2);
                // 0, then alternately positive and negative values out to the widest weight.
                (0..k)
                    .map(|j| {
                        let step = spread * (j.div_ceil(2) as f32) / ((k / 2).max(1) as f32);
                        if j % 2 == 1 {
                            step
                        } else {
                            -step
                        }
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        PenaltyState {
            penalty,
            mask,
            log_sigma,
            sigma_opt,
            means,
        }
    }

    /// True when training must run on sampled weights ([`PenaltyState::sample`]).
    pub fn is_variational(&self) -> bool {
        self.sigma_opt.is_some()
    }

    /// Weights drawn from the posterior (`mu + sigma * eps` on weights, biases as they are), and
    /// the `eps` used.
    pub fn sample(&self, params: &[f32], rng: &mut SplitMix64) -> (Vec<f32>, Vec<f32>) {
        let mut eps = vec![0.0f32; params.len()];
        let mut noisy = params.to_vec();
        for i in 0..params.len() {
            if self.mask[i] {
                // Box-Muller from two uniforms.
                let u1 = rng.real_in(f64::MIN_POSITIVE, 1.0);
                let u2 = rng.real_in(0.0, 1.0);
                let e = ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32;
                eps[i] = e;
                noisy[i] += self.log_sigma[i].exp() * e;
            }
        }
        (noisy, eps)
    }

    /// Adds the gradient of the smooth penalties (description length, weight sharing) to `grads`,
    /// and for the description length also updates the posterior scales: `data_grads` are the
    /// loss gradients at the sampled weights, `eps` their noise. `lr` is the learning rate.
    pub fn add_gradient(&mut self, params: &[f32], grads: &mut [f32], eps: &[f32], lr: f32) {
        match self.penalty {
            Penalty::DescriptionLength { beta, prior_std } => {
                let s2 = prior_std * prior_std;
                let scale = beta / std::f32::consts::LN_2;
                let mut sigma_grads = vec![0.0f32; params.len()];
                for i in 0..params.len() {
                    if !self.mask[i] {
                        continue;
                    }
                    let sigma = self.log_sigma[i].exp();
                    // d/d ln(sigma) of the data loss through w = mu + sigma * eps, and of the KL.
                    sigma_grads[i] = grads[i] * eps[i] * sigma + scale * (sigma * sigma / s2 - 1.0);
                    grads[i] += scale * params[i] / s2;
                }
                if let Some(opt) = self.sigma_opt.as_mut() {
                    opt.step_flat(&mut self.log_sigma, &sigma_grads, lr);
                }
                // Bounded scales keep the sampled weights finite.
                self.log_sigma
                    .iter_mut()
                    .for_each(|l| *l = l.clamp(-20.0, prior_std.ln()));
            }
            Penalty::WeightSharing { lambda, std, .. } => {
                let s2 = std * std;
                let k = self.means.len();
                let mut sums = vec![0.0f64; k];
                let mut weights = vec![0.0f64; k];
                for i in 0..params.len() {
                    if !self.mask[i] {
                        continue;
                    }
                    let r = responsibilities(params[i], &self.means, s2);
                    let mut g = 0.0f32;
                    for j in 0..k {
                        g += r[j] * (params[i] - self.means[j]) / s2;
                        sums[j] += f64::from(r[j] * params[i]);
                        weights[j] += f64::from(r[j]);
                    }
                    grads[i] += lambda * g;
                }
                for j in 1..k {
                    if weights[j] > 1e-6 {
                        self.means[j] = (sums[j] / weights[j]) as f32;
                    }
                }
            }
            Penalty::None | Penalty::L1 { .. } | Penalty::GroupLasso { .. } => {}
            Penalty::Connection { .. } => {}
        }
    }

    /// The proximal step of L1, group lasso and the connection cost, after the optimiser's step
    /// with learning rate `lr`; `progress` in `[0, 1]` is the fraction of training done.
    pub fn prox(&self, model: &mut Mlp, lr: f32, progress: f64) {
        match self.penalty {
            Penalty::L1 { lambda } => {
                let t = lr * lambda;
                for (p, &m) in model.params.iter_mut().zip(&self.mask) {
                    if m {
                        *p = soft_threshold(*p, t);
                    }
                }
            }
            Penalty::GroupLasso { lambda } => group_prox(model, lr * lambda),
            Penalty::Connection { lambda, .. } => {
                let ramp = 10f64.powf(((progress - 0.25) / 0.5).clamp(0.0, 1.0));
                let t = f64::from(lr * lambda) * ramp;
                let lengths = connection_lengths(&model.shape);
                for (p, &len) in model.params.iter_mut().zip(&lengths) {
                    if len > 0.0 {
                        *p = soft_threshold(*p, (t * len) as f32);
                    }
                }
            }
            Penalty::None | Penalty::DescriptionLength { .. } | Penalty::WeightSharing { .. } => {}
        }
    }

    /// BIMT swaps when `step` is a multiple of the penalty's `swap_every` (connection cost only):
    /// returns the parameter index pairs exchanged, which the caller applies to its optimiser.
    pub fn maybe_swap(&mut self, model: &mut Mlp, step: usize) -> Vec<(usize, usize)> {
        match self.penalty {
            Penalty::Connection { swap_every, .. }
                if swap_every > 0 && step.is_multiple_of(swap_every) =>
            {
                swap_for_locality(model)
            }
            _ => Vec::new(),
        }
    }

    /// The end of training: description length prunes weights with `|mu| / sigma < 1`.
    pub fn finish(&self, model: &mut Mlp) {
        if self.is_variational() {
            for i in 0..model.params.len() {
                if self.mask[i] && model.params[i].abs() < self.log_sigma[i].exp() {
                    model.params[i] = 0.0;
                }
            }
        }
    }

    /// The description length of the posterior in bits (`sum KL / ln 2`), when variational.
    pub fn posterior_bits(&self, params: &[f32]) -> Option<f64> {
        let Penalty::DescriptionLength { prior_std, .. } = self.penalty else {
            return None;
        };
        let s = f64::from(prior_std);
        let mut bits = 0.0;
        for (i, &p) in params.iter().enumerate() {
            if self.mask[i] {
                let sigma = f64::from(self.log_sigma[i].exp());
                let mu = f64::from(p);
                let kl = (s / sigma).ln() + (sigma * sigma + mu * mu) / (2.0 * s * s) - 0.5;
                bits += kl / std::f64::consts::LN_2;
            }
        }
        Some(bits)
    }
}

/// Rounds each weight of `model` to the nearest of `means` (the weight-sharing codebook).
pub fn snap_to_codebook(model: &mut Mlp, means: &[f32]) {
    if means.is_empty() {
        return;
    }
    let mask = model.shape.weight_mask();
    for (p, &m) in model.params.iter_mut().zip(&mask) {
        if m {
            let nearest = means.iter().copied().fold(means[0], |best, c| {
                if (c - *p).abs() < (best - *p).abs() {
                    c
                } else {
                    best
                }
            });
            *p = nearest;
        }
    }
}

fn soft_threshold(w: f32, t: f32) -> f32 {
    w.signum() * (w.abs() - t).max(0.0)
}

fn responsibilities(w: f32, means: &[f32], s2: f32) -> Vec<f32> {
    let logs: Vec<f32> = means
        .iter()
        .map(|m| -(w - m) * (w - m) / (2.0 * s2))
        .collect();
    let max = logs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logs.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// Per parameter, the BIMT length ([`connection_length`]) of layer weights, [`CONNECTION_L0`]
/// for embeddings, and 0 for biases.
pub fn connection_lengths(shape: &MlpShape) -> Vec<f64> {
    let mut lengths = vec![0.0; shape.param_count()];
    lengths[..shape.embedding_len()].fill(CONNECTION_L0);
    for layer in shape.layers() {
        for o in 0..layer.out {
            for i in 0..layer.inp {
                lengths[layer.weight.start + o * layer.inp + i] =
                    connection_length(o, layer.out, i, layer.inp);
            }
        }
    }
    lengths
}

/// The BIMT connection cost `sum |w| * length` of `model`'s weights.
pub fn connection_cost(model: &Mlp) -> f64 {
    connection_lengths(&model.shape)
        .iter()
        .zip(&model.params)
        .map(|(l, w)| l * f64::from(w.abs()))
        .sum()
}

/// The group of hidden neuron `i` of layer `l`: its incoming row, its bias and its outgoing
/// column, as parameter indices.
fn neuron_group(shape: &MlpShape, l: usize, i: usize) -> Vec<usize> {
    let layers = shape.layers();
    let (this, next) = (&layers[l], &layers[l + 1]);
    let mut group: Vec<usize> = (0..this.inp)
        .map(|k| this.weight.start + i * this.inp + k)
        .collect();
    group.push(this.bias.start + i);
    group.extend((0..next.out).map(|m| next.weight.start + m * next.inp + i));
    group
}

fn group_prox(model: &mut Mlp, t: f32) {
    let hidden = model.shape.hidden.clone();
    for (l, &n) in hidden.iter().enumerate() {
        for i in 0..n {
            let group = neuron_group(&model.shape, l, i);
            let norm = group
                .iter()
                .map(|&g| model.params[g] * model.params[g])
                .sum::<f32>()
                .sqrt();
            let scale = if norm > 0.0 {
                (1.0 - t / norm).max(0.0)
            } else {
                0.0
            };
            group.iter().for_each(|&g| model.params[g] *= scale);
        }
    }
}

/// The connection cost of hidden neuron `i` of layer `l` were it at position slot `slot`.
fn neuron_cost_at(model: &Mlp, l: usize, i: usize, slot: usize) -> f64 {
    let layers = model.shape.layers();
    let (this, next) = (&layers[l], &layers[l + 1]);
    let incoming: f64 = (0..this.inp)
        .map(|k| {
            let w = model.params[this.weight.start + i * this.inp + k];
            f64::from(w.abs()) * connection_length(slot, this.out, k, this.inp)
        })
        .sum();
    let outgoing: f64 = (0..next.out)
        .map(|m| {
            let w = model.params[next.weight.start + m * next.inp + i];
            f64::from(w.abs()) * connection_length(m, next.out, slot, next.inp)
        })
        .sum();
    incoming + outgoing
}

/// Swaps hidden neurons `i` and `j` of layer `l` (rows of its weight and bias, columns of the
/// next weight); returns the parameter index pairs exchanged.
pub fn swap_neurons(model: &mut Mlp, l: usize, i: usize, j: usize) -> Vec<(usize, usize)> {
    let a = neuron_group(&model.shape, l, i);
    let b = neuron_group(&model.shape, l, j);
    let pairs: Vec<(usize, usize)> = a.into_iter().zip(b).collect();
    for &(x, y) in &pairs {
        model.params.swap(x, y);
    }
    pairs
}

/// For each hidden layer, the most important neurons (largest total |weight|, at most 4) each
/// try every swap and keep the one that lowers the connection cost most.
fn swap_for_locality(model: &mut Mlp) -> Vec<(usize, usize)> {
    let mut all = Vec::new();
    let hidden = model.shape.hidden.clone();
    for (l, &n) in hidden.iter().enumerate() {
        let mut order: Vec<(f64, usize)> = (0..n)
            .map(|i| {
                let mass: f64 = neuron_group(&model.shape, l, i)
                    .iter()
                    .map(|&g| f64::from(model.params[g].abs()))
                    .sum();
                (mass, i)
            })
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, i) in order.iter().take(4) {
            let before_i = neuron_cost_at(model, l, i, i);
            let mut best = (0.0f64, i);
            for j in 0..n {
                if j == i {
                    continue;
                }
                let delta = neuron_cost_at(model, l, i, j) + neuron_cost_at(model, l, j, i)
                    - before_i
                    - neuron_cost_at(model, l, j, j);
                if delta < best.0 - 1e-12 {
                    best = (delta, j);
                }
            }
            if best.1 != i {
                all.extend(swap_neurons(model, l, i, best.1));
            }
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::InputKind;

    fn small() -> Mlp {
        Mlp::init(
            MlpShape {
                input: InputKind::Real { features: 3 },
                hidden: vec![6],
                output: 2,
            },
            11,
        )
    }

    #[test]
    fn neuron_swaps_preserve_the_function() {
        let mut model = small();
        let x = [0.3f32, -0.8, 0.5];
        let before = model.predict(&x);
        swap_neurons(&mut model, 0, 1, 4);
        let after = model.predict(&x);
        for (a, b) in before.iter().zip(&after) {
            assert!((a - b).abs() < 1e-6);
        }
        let mut state = PenaltyState::new(Penalty::parse("bimt").unwrap(), &model);
        let cost = connection_cost(&model);
        state.maybe_swap(&mut model, 200);
        assert!(connection_cost(&model) <= cost);
        assert_eq!(model.predict(&x).len(), 2);
    }

    #[test]
    fn l1_prox_makes_exact_zeros_and_spares_biases() {
        let mut model = small();
        let state = PenaltyState::new(Penalty::L1 { lambda: 1.0 }, &model);
        state.prox(&mut model, 10.0, 0.0);
        let layers = model.shape.layers();
        assert!(model.params[layers[0].weight.clone()]
            .iter()
            .all(|&w| w == 0.0));
        assert!(model.params[layers[0].bias.clone()]
            .iter()
            .any(|&b| b != 0.0));
    }

    #[test]
    fn group_lasso_kills_whole_neurons() {
        let mut model = small();
        let state = PenaltyState::new(Penalty::GroupLasso { lambda: 1.0 }, &model);
        state.prox(&mut model, 100.0, 0.0);
        for i in 0..6 {
            assert!(neuron_group(&model.shape, 0, i)
                .iter()
                .all(|&g| model.params[g] == 0.0));
        }
    }

    #[test]
    fn parse_reads_kind_and_strength() {
        assert_eq!(Penalty::parse("l1:0.5"), Ok(Penalty::L1 { lambda: 0.5 }));
        assert_eq!(Penalty::parse("share").map(|p| p.strength()), Ok(1e-4));
        assert!(Penalty::parse("l1:-1").is_err());
        assert!(Penalty::parse("l3").is_err());
    }

    #[test]
    fn codebook_snapping_uses_the_nearest_mean() {
        let mut model = small();
        snap_to_codebook(&mut model, &[0.0, 0.5, -0.5]);
        let mask = model.shape.weight_mask();
        for (p, m) in model.params.iter().zip(mask) {
            if m {
                assert!([0.0, 0.5, -0.5].contains(p));
            }
        }
    }
}
