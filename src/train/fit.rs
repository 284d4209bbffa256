//! One training run: AdamW on the anchor loss over batches drawn from a training pool, optional
//! L1 penalty by proximal soft-thresholding and parameters held fixed (pruned or snapped), with
//! early stopping once a held-out batch is exact.

use crate::export::AnchorRnn;
use crate::tasks::Dataset;
use crate::train::adamw::{AdamW, AdamWConfig};
use crate::train::batch::{Batch, Sampler};
use crate::train::fused::Workspace;
use crate::train::gradient::GradientEngine;
use crate::train::model::{tensors_mut, zeros_like};

/// Which implementation computes the loss and its gradients. burn's engine exists only in builds
/// with the `burn` feature (the README's test command enables it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Engine {
    /// [`crate::train::fused`]: the hand-written BPTT for this cell (the default; fastest).
    #[default]
    Fused,
    /// [`crate::train::autodiff`]: burn's autodiff on its Flex CPU backend.
    #[cfg(feature = "burn")]
    Burn,
}

/// A fresh engine of the given kind.
pub fn engine(kind: Engine) -> Box<dyn GradientEngine> {
    match kind {
        Engine::Fused => Box::new(Workspace::new()),
        #[cfg(feature = "burn")]
        Engine::Burn => Box::new(crate::train::autodiff::BurnEngine::new()),
    }
}

/// Settings of one run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FitOptions {
    /// Maximum number of optimiser steps.
    pub steps: usize,
    /// Sequences per step.
    pub batch: usize,
    /// Peak learning rate; it decays by cosine to `lr * final_lr_fraction` over `steps`.
    pub lr: f32,
    pub final_lr_fraction: f32,
    pub adamw: AdamWConfig,
    /// Evaluate on the held-out batch every this many steps (and stop once it is exact).
    pub eval_every: usize,
    /// L1 strength on weights (not biases), applied as a proximal step after each update.
    pub l1: f32,
    /// Stop as soon as the held-out batch is exact (otherwise run all `steps`).
    pub stop_when_exact: bool,
    /// Give up when the held-out accuracy has not improved for this many steps (0: never).
    pub patience: usize,
    pub engine: Engine,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            steps: 6000,
            batch: 256,
            lr: 1e-2,
            final_lr_fraction: 0.05,
            adamw: AdamWConfig::default(),
            eval_every: 100,
            l1: 0.0,
            stop_when_exact: true,
            patience: 1500,
            engine: Engine::Fused,
        }
    }
}

/// Exact-match counts of a network on a batch (after rounding each output to an integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Accuracy {
    pub values_correct: usize,
    pub values: usize,
    pub sequences_correct: usize,
    pub sequences: usize,
}

impl Accuracy {
    /// True when every output value is right.
    pub fn is_exact(&self) -> bool {
        self.values_correct == self.values
    }

    /// Fraction of output values right (1 for an empty batch).
    pub fn rate(&self) -> f64 {
        if self.values == 0 {
            1.0
        } else {
            self.values_correct as f64 / self.values as f64
        }
    }
}

/// How often `model` gets `batch` exactly right.
pub fn accuracy(model: &AnchorRnn, batch: &Batch, ws: &mut Workspace) -> Accuracy {
    let (sequence_ok, values_correct) = judge_sequences(model, batch, ws);
    Accuracy {
        values_correct,
        values: batch.n * batch.length * batch.output_dim,
        sequences_correct: sequence_ok.iter().filter(|&&ok| ok).count(),
        sequences: batch.n,
    }
}

/// Whether `model` gets each sequence of `batch` exactly right (every value, after rounding),
/// and how many values it gets right in all.
pub fn judge_sequences(model: &AnchorRnn, batch: &Batch, ws: &mut Workspace) -> (Vec<bool>, usize) {
    judge_values(model, batch, ws, |output, target| output.round() == target)
}

/// Whether every value of each sequence of `batch` passes `value_ok(output, target)`, and how
/// many values pass in all.
pub fn judge_values(
    model: &AnchorRnn,
    batch: &Batch,
    ws: &mut Workspace,
    value_ok: impl Fn(f32, f32) -> bool,
) -> (Vec<bool>, usize) {
    ws.forward(model, batch);
    let (n, o) = (batch.n, batch.output_dim);
    let mut sequence_ok = vec![true; n];
    let mut values_ok = 0;
    for t in 0..batch.length {
        let targets = batch.step_targets(t);
        for (i, ok) in sequence_ok.iter_mut().enumerate() {
            for j in 0..o {
                if value_ok(ws.output(t, i, j), targets[j * n + i]) {
                    values_ok += 1;
                } else {
                    *ok = false;
                }
            }
        }
    }
    (sequence_ok, values_ok)
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct FitOutcome {
    pub model: AnchorRnn,
    pub steps: usize,
    /// Mean training loss of the last step.
    pub loss: f64,
    /// On the held-out batch at the end.
    pub accuracy: Accuracy,
}

/// A progress report, every `eval_every` steps.
#[derive(Debug, Clone, Copy)]
pub struct FitProgress {
    pub step: usize,
    pub loss: f64,
    pub accuracy: Accuracy,
}

/// Trains `model` on batches from `train` (seeded by `seed`), judged on `held_out`. `frozen`, when
/// given, holds some parameters fixed (see [`Frozen`]).
pub fn fit(
    mut model: AnchorRnn,
    train: &Dataset,
    held_out: &Batch,
    options: &FitOptions,
    frozen: Option<&Frozen>,
    seed: u64,
    progress: &mut dyn FnMut(FitProgress),
) -> FitOutcome {
    let mut ws = engine(options.engine);
    let mut eval_ws = Workspace::new();
    let mut grads = zeros_like(&model);
    let mut opt = AdamW::new(&model, options.adamw);
    let mut sampler = Sampler::new(train, seed);
    let mut loss = f64::NAN;
    let mut last = accuracy(&model, held_out, &mut eval_ws);
    let mut steps = 0;
    let (mut best_correct, mut best_step) = (last.values_correct, 0);
    apply_frozen(&mut model, frozen);
    last = if frozen.is_some() {
        accuracy(&model, held_out, &mut eval_ws)
    } else {
        last
    };
    if options.stop_when_exact && last.is_exact() {
        return FitOutcome {
            model,
            steps,
            loss,
            accuracy: last,
        };
    }
    while steps < options.steps {
        let batch = sampler.next_batch(options.batch);
        // Only an evaluation step's loss is ever read (reported, checked, returned).
        let evaluates = (steps + 1) % options.eval_every.max(1) == 0 || steps + 1 == options.steps;
        if evaluates {
            loss = ws.loss_and_gradients(&model, &batch, &mut grads);
        } else {
            ws.gradients(&model, &batch, &mut grads);
        }
        let lr = learning_rate(options, steps);
        opt.step(&mut model, &grads, lr);
        if options.l1 > 0.0 {
            soft_threshold_weights(&mut model, lr * options.l1);
        }
        apply_frozen(&mut model, frozen);
        steps += 1;
        if steps % options.eval_every.max(1) == 0 || steps == options.steps {
            last = accuracy(&model, held_out, &mut eval_ws);
            progress(FitProgress {
                step: steps,
                loss,
                accuracy: last,
            });
            if last.values_correct > best_correct {
                (best_correct, best_step) = (last.values_correct, steps);
            }
            let stalled = options.patience > 0 && steps - best_step >= options.patience;
            if !loss.is_finite() || stalled || (options.stop_when_exact && last.is_exact()) {
                break;
            }
        }
    }
    FitOutcome {
        model,
        steps,
        loss,
        accuracy: last,
    }
}

/// Cosine decay from `lr` to `lr * final_lr_fraction`.
fn learning_rate(options: &FitOptions, step: usize) -> f32 {
    let progress = step as f32 / options.steps.max(1) as f32;
    let floor = options.final_lr_fraction;
    let scale = floor + (1.0 - floor) * 0.5 * (1.0 + (std::f32::consts::PI * progress).cos());
    options.lr * scale
}

/// Proximal step of `threshold * |w|` on every weight (biases are not penalised).
fn soft_threshold_weights(model: &mut AnchorRnn, threshold: f32) {
    for layer in model.f.iter_mut().chain(model.g.iter_mut()) {
        for w in &mut layer.weight {
            *w = w.signum() * (w.abs() - threshold).max(0.0);
        }
    }
}

/// Parameters held fixed during a run: where `keep[k]` is false (flat
/// [`crate::train::model::tensors`] order), the parameter stays at `values[k]` (zero for pruned
/// weights, an integer for snapped ones).
#[derive(Debug, Clone, PartialEq)]
pub struct Frozen {
    pub keep: Vec<bool>,
    pub values: Vec<f32>,
}

impl Frozen {
    /// Nothing frozen, for a network of `model`'s shape.
    pub fn none(model: &AnchorRnn) -> Frozen {
        let values = crate::train::model::flatten(model);
        Frozen {
            keep: vec![true; values.len()],
            values,
        }
    }

    /// Freezes parameter `k` (flat order) at `value`.
    pub fn freeze(&mut self, k: usize, value: f32) {
        self.keep[k] = false;
        self.values[k] = value;
    }

    /// Number of frozen parameters.
    pub fn count(&self) -> usize {
        self.keep.iter().filter(|&&k| !k).count()
    }
}

/// Restores every frozen parameter to its value.
pub fn apply_frozen(model: &mut AnchorRnn, frozen: Option<&Frozen>) {
    let Some(frozen) = frozen else { return };
    let params = tensors_mut(model).into_iter().flat_map(|t| t.iter_mut());
    for ((p, &keep), &value) in params.zip(&frozen.keep).zip(&frozen.values) {
        if !keep {
            *p = value;
        }
    }
}
