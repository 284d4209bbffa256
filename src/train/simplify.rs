//! Simplicity retraining of an exact network: an L1 sweep with proximal steps, pruning of
//! near-zero weights, snapping of near-integer parameters, each followed by retraining with the
//! pruned and snapped values held fixed. A stage is kept only if the network is still exact on
//! the held-out batch afterwards; otherwise the previous network stands.
//!
//! This is the training recipe's step, on the flat parameters of the anchor RNN with retraining
//! in between; the snapping itself is the normal-form library's
//! ([`crate::normal::snap::nearest_simple_fraction`]).

use crate::export::AnchorRnn;
use crate::normal::snap::nearest_simple_fraction;
use crate::tasks::Dataset;
use crate::train::batch::Batch;
use crate::train::fit::{fit, FitOptions, Frozen};
use crate::train::model::flatten;

/// The denominators of snapping during retraining: parameters snap to whole numbers only.
const WHOLE_NUMBERS: [f64; 1] = [1.0];

/// Settings of simplicity retraining.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SimplifyOptions {
    /// L1 strengths tried in increasing order; the sweep stops at the first that breaks exactness.
    pub l1_strengths: Vec<f32>,
    /// Steps of each L1 run and of each retraining.
    pub steps: usize,
    /// Learning rate of the retraining runs.
    pub lr: f32,
    /// Weights with a smaller magnitude are pruned (held at zero).
    pub prune_below: f32,
    /// Parameters this close to an integer are snapped to it (held there).
    pub snap_within: f32,
}

impl Default for SimplifyOptions {
    fn default() -> Self {
        SimplifyOptions {
            l1_strengths: vec![1e-3, 1e-2, 3e-2],
            steps: 500,
            lr: 1e-3,
            prune_below: 0.02,
            snap_within: 0.05,
        }
    }
}

/// One stage of the retraining and whether it was kept.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stage {
    pub name: String,
    pub kept: bool,
    /// Nonzero parameters after the stage (of the kept network).
    pub nonzero: usize,
    /// Parameters held fixed after the stage.
    pub frozen: usize,
}

/// The simplified network and what each stage did.
#[derive(Debug, Clone)]
pub struct SimplifyOutcome {
    pub model: AnchorRnn,
    pub stages: Vec<Stage>,
    pub steps: usize,
}

/// Number of nonzero parameters.
pub fn nonzero(model: &AnchorRnn) -> usize {
    flatten(model).iter().filter(|v| **v != 0.0).count()
}

/// Simplifies an exact `model`; the result is exact on `held_out` (it is `model` itself when no
/// stage could be kept).
pub fn simplify(
    model: AnchorRnn,
    train: &Dataset,
    held_out: &Batch,
    options: &SimplifyOptions,
    seed: u64,
) -> SimplifyOutcome {
    let retrain = FitOptions {
        steps: options.steps,
        lr: options.lr,
        final_lr_fraction: 0.1,
        eval_every: 50,
        patience: 0,
        ..FitOptions::default()
    };
    let mut state = Simplification {
        frozen: Frozen::none(&model),
        current: model,
        stages: Vec::new(),
        steps: 0,
        train,
        held_out,
        retrain: &retrain,
    };
    let mut stage_seed = seed;
    let mut next_seed = || {
        stage_seed = crate::train::search::mix(stage_seed, 1);
        stage_seed
    };

    for &strength in &options.l1_strengths {
        let sweep = FitOptions {
            l1: strength,
            stop_when_exact: false,
            ..retrain.clone()
        };
        let frozen = state.frozen.clone();
        let run = fit(
            state.current.clone(),
            train,
            held_out,
            &sweep,
            Some(&frozen),
            next_seed(),
            &mut |_| {},
        );
        state.steps += run.steps;
        let mut candidate = run.model;
        let mut candidate_frozen = frozen;
        prune(&mut candidate, &mut candidate_frozen, options.prune_below);
        let name = format!("l1 {strength}");
        if !state.retrain_and_keep(candidate, candidate_frozen, name, next_seed()) {
            break;
        }
    }

    let mut candidate = state.current.clone();
    let mut candidate_frozen = state.frozen.clone();
    snap(&mut candidate, &mut candidate_frozen, options.snap_within);
    state.retrain_and_keep(candidate, candidate_frozen, "snap".to_string(), next_seed());
    SimplifyOutcome {
        model: state.current,
        stages: state.stages,
        steps: state.steps,
    }
}

/// The network being simplified and what the stages did so far.
struct Simplification<'a> {
    current: AnchorRnn,
    frozen: Frozen,
    stages: Vec<Stage>,
    steps: usize,
    train: &'a Dataset,
    held_out: &'a Batch,
    retrain: &'a FitOptions,
}

impl Simplification<'_> {
    /// Retrains `candidate` with `frozen` held fixed; keeps it as the current network if it is
    /// then exact on the held-out batch. Records the stage; returns whether it was kept.
    fn retrain_and_keep(
        &mut self,
        candidate: AnchorRnn,
        frozen: Frozen,
        name: String,
        seed: u64,
    ) -> bool {
        let polished = fit(
            candidate,
            self.train,
            self.held_out,
            self.retrain,
            Some(&frozen),
            seed,
            &mut |_| {},
        );
        self.steps += polished.steps;
        let kept = polished.accuracy.is_exact();
        if kept {
            self.current = polished.model;
            self.frozen = frozen;
        }
        self.stages.push(Stage {
            name,
            kept,
            nonzero: nonzero(&self.current),
            frozen: self.frozen.count(),
        });
        kept
    }
}

/// Freezes at zero every weight (not bias) smaller in magnitude than `below`.
fn prune(model: &mut AnchorRnn, frozen: &mut Frozen, below: f32) {
    let mut k = 0;
    for layer in model.f.iter_mut().chain(model.g.iter_mut()) {
        for w in &mut layer.weight {
            if w.abs() < below {
                *w = 0.0;
                frozen.freeze(k, 0.0);
            }
            k += 1;
        }
        k += layer.bias.len();
    }
}

/// Freezes every parameter within `within` of an integer at that integer (the normal form's
/// [`nearest_simple_fraction`] with whole numbers only; a parameter already whole is frozen too).
fn snap(model: &mut AnchorRnn, frozen: &mut Frozen, within: f32) {
    let mut k = 0;
    for layer in model.f.iter_mut().chain(model.g.iter_mut()) {
        for v in layer.weight.iter_mut().chain(layer.bias.iter_mut()) {
            if let Some(whole) =
                nearest_simple_fraction(f64::from(*v), f64::from(within), &WHOLE_NUMBERS)
            {
                *v = whole as f32;
                frozen.freeze(k, *v);
            }
            k += 1;
        }
    }
}
