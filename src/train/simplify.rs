//! Simplicity retraining of an exact network: an L1 sweep with proximal steps, pruning of
//! near-zero weights, snapping of near-integer parameters, each followed by retraining with the
//! pruned and snapped values held fixed. A stage is kept only if the network is still exact on
//! the held-out batch afterwards; otherwise the previous network stands.

use crate::export::AnchorRnn;
use crate::tasks::Dataset;
use crate::train::batch::Batch;
use crate::train::fit::{fit, FitOptions, Frozen};
use crate::train::model::flatten;

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
    let mut current = model;
    let mut frozen = Frozen::none(&current);
    let mut stages = Vec::new();
    let mut steps = 0;
    let retrain = FitOptions {
        steps: options.steps,
        lr: options.lr,
        final_lr_fraction: 0.1,
        eval_every: 50,
        patience: 0,
        ..FitOptions::default()
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
        let run = fit(
            current.clone(),
            train,
            held_out,
            &sweep,
            Some(&frozen),
            next_seed(),
            &mut |_| {},
        );
        steps += run.steps;
        let mut candidate_frozen = frozen.clone();
        let mut candidate = run.model;
        prune(&mut candidate, &mut candidate_frozen, options.prune_below);
        let polished = fit(
            candidate,
            train,
            held_out,
            &retrain,
            Some(&candidate_frozen),
            next_seed(),
            &mut |_| {},
        );
        steps += polished.steps;
        let kept = polished.accuracy.is_exact();
        if kept {
            current = polished.model;
            frozen = candidate_frozen;
        }
        stages.push(Stage {
            name: format!("l1 {strength}"),
            kept,
            nonzero: nonzero(&current),
            frozen: frozen.count(),
        });
        if !kept {
            break;
        }
    }

    let mut candidate = current.clone();
    let mut candidate_frozen = frozen.clone();
    snap(&mut candidate, &mut candidate_frozen, options.snap_within);
    let polished = fit(
        candidate,
        train,
        held_out,
        &retrain,
        Some(&candidate_frozen),
        next_seed(),
        &mut |_| {},
    );
    steps += polished.steps;
    let kept = polished.accuracy.is_exact();
    if kept {
        current = polished.model;
        frozen = candidate_frozen;
    }
    stages.push(Stage {
        name: "snap".to_string(),
        kept,
        nonzero: nonzero(&current),
        frozen: frozen.count(),
    });
    SimplifyOutcome {
        model: current,
        stages,
        steps,
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

/// Freezes every parameter within `within` of an integer at that integer.
fn snap(model: &mut AnchorRnn, frozen: &mut Frozen, within: f32) {
    let mut k = 0;
    for layer in model.f.iter_mut().chain(model.g.iter_mut()) {
        for v in layer.weight.iter_mut().chain(layer.bias.iter_mut()) {
            let r = v.round();
            if (*v - r).abs() <= within {
                *v = r;
                frozen.freeze(k, r);
            }
            k += 1;
        }
    }
}
