//! One training run of the MLP: AdamW on full or mini batches, a penalty, a judgement on the
//! held-out set.
//!
//! **Invariant:** the same task, options and seed give the same network bit for bit (seeded
//! data, initialisation, batch order and noise; sums in a fixed order; one thread).

use crate::export::Mlp;
use crate::rng::SplitMix64;
use crate::train::adamw::{AdamW, AdamWConfig};
use crate::train::mlp_data::{Loss, MlpData, MlpTask};
use crate::train::penalty::{snap_to_codebook, Penalty, PenaltyState};

/// Settings of [`train_mlp`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MlpTrainOptions {
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Embedding width for token inputs.
    pub embed: usize,
    /// Optimiser steps.
    pub steps: usize,
    pub lr: f32,
    /// Examples per step; 0 is the whole training set (full batch).
    pub batch: usize,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f32,
    pub penalty: Penalty,
    /// Largest absolute error on a held-out example for a regression output to count as exact.
    pub tolerance: f32,
    pub seed: u64,
}

impl MlpTrainOptions {
    /// The recipe for `task`: L1 norm with 8 hidden units, 3000 full-batch steps at lr 0.01 and
    /// L1 penalty; modular addition as in grokking set-ups (embeddings of 16, 64 hidden units,
    /// lr 0.003, weight decay 1, full batch).
    pub fn for_task(task: &MlpTask) -> MlpTrainOptions {
        match task {
            MlpTask::L1Norm { n } => MlpTrainOptions {
                hidden: vec![2 * n],
                embed: 0,
                steps: 3000,
                lr: 0.01,
                batch: 0,
                weight_decay: 0.0,
                penalty: Penalty::L1 { lambda: 1e-3 },
                tolerance: 0.01,
                seed: 0,
            },
            MlpTask::ModAdd { .. } => MlpTrainOptions {
                hidden: vec![64],
                embed: 16,
                steps: 6000,
                lr: 0.003,
                batch: 0,
                weight_decay: 1.0,
                penalty: Penalty::None,
                tolerance: 0.0,
                seed: 0,
            },
        }
    }
}

/// How well a network does on a data set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Score {
    /// Mean loss.
    pub loss: f64,
    /// Fraction of examples predicted exactly (class, or every output within the tolerance).
    pub accuracy: f64,
    /// Largest absolute output error (regression) or 1 - accuracy (classification).
    pub max_error: f64,
}

/// The result of [`train_mlp`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MlpRun {
    #[serde(skip)]
    pub model: Mlp,
    pub task: MlpTask,
    pub options: MlpTrainOptions,
    pub parameters: usize,
    pub nonzero_weights: usize,
    pub train: Score,
    pub held_out: Score,
    /// The variational posterior's description length (description-length penalty only).
    pub posterior_bits: Option<f64>,
    /// Whether the weight-sharing codebook snap was kept (it is kept only when the held-out
    /// accuracy does not drop).
    pub snapped: bool,
}

/// Scores `model` on `data`.
pub fn score(model: &Mlp, data: &MlpData, loss: Loss, tolerance: f32) -> Score {
    let rows: Vec<usize> = (0..data.len()).collect();
    let mean_loss = model.loss_and_grad(&model.params, data, &rows, loss, None);
    let mut exact = 0usize;
    let mut max_error = 0.0f64;
    for r in rows {
        let out = model.predict(data.example(r));
        let target = data.target(r);
        let ok = match loss {
            Loss::Mse => {
                let err = out
                    .iter()
                    .zip(target)
                    .map(|(y, t)| f64::from((y - t).abs()))
                    .fold(0.0, f64::max);
                max_error = max_error.max(err);
                err <= f64::from(tolerance)
            }
            Loss::CrossEntropy => {
                let best = out
                    .iter()
                    .enumerate()
                    .fold(
                        (0, f32::NEG_INFINITY),
                        |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                    )
                    .0;
                target.first().is_some_and(|&t| t as usize == best)
            }
        };
        exact += usize::from(ok);
    }
    let accuracy = exact as f64 / data.len().max(1) as f64;
    if loss == Loss::CrossEntropy {
        max_error = 1.0 - accuracy;
    }
    Score {
        loss: mean_loss,
        accuracy,
        max_error,
    }
}

/// Trains a network for `task` with `options`; never fails for a validated task and shape
/// (see [`MlpTask::validate`]); the data and initialisation derive from `options.seed`.
pub fn train_mlp(task: &MlpTask, options: &MlpTrainOptions) -> MlpRun {
    let (train, held_out) = task.data(options.seed ^ 0x6D6C_7064_6174_6131);
    train_on(task, options, &train, &held_out)
}

/// [`train_mlp`] on given data sets (the sweep reuses one draw for every strength).
pub fn train_on(
    task: &MlpTask,
    options: &MlpTrainOptions,
    train: &MlpData,
    held_out: &MlpData,
) -> MlpRun {
    let loss = task.loss();
    let shape = task.shape(&options.hidden, options.embed);
    let mut model = Mlp::init(shape, options.seed ^ 0x696E_6974);
    let mut rng = SplitMix64::new(options.seed ^ 0x6261_7463_6865);
    let mut opt = AdamW::with_len(
        model.params.len(),
        AdamWConfig {
            weight_decay: options.weight_decay,
            ..AdamWConfig::default()
        },
    );
    let mut state = PenaltyState::new(options.penalty, &model);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let batch = if options.batch == 0 {
        train.len()
    } else {
        options.batch.min(train.len())
    };
    let mut cursor = train.len();
    let mut grads = vec![0.0f32; model.params.len()];
    for step in 0..options.steps {
        if cursor + batch > train.len() {
            // A new epoch: a fresh seeded shuffle (the identity order serves full batches).
            if batch < train.len() {
                for i in (1..order.len()).rev() {
                    let j = rng.int_in(0, i as i64) as usize;
                    order.swap(i, j);
                }
            }
            cursor = 0;
        }
        let rows = &order[cursor..cursor + batch];
        cursor += batch;
        grads.fill(0.0);
        let (at, eps) = if state.is_variational() {
            state.sample(&model.params, &mut rng)
        } else {
            (Vec::new(), Vec::new())
        };
        let params = if at.is_empty() { &model.params } else { &at };
        model.loss_and_grad(params, train, rows, loss, Some(&mut grads));
        state.add_gradient(&model.params, &mut grads, &eps, options.lr);
        opt.step_flat(&mut model.params, &grads, options.lr);
        state.prox(
            &mut model,
            options.lr,
            step as f64 / options.steps.max(1) as f64,
        );
        for (a, b) in state.maybe_swap(&mut model, step + 1) {
            opt.swap(a, b);
        }
    }
    state.finish(&mut model);
    let mut snapped = false;
    if matches!(options.penalty, Penalty::WeightSharing { .. }) {
        let before = score(&model, held_out, loss, options.tolerance);
        let mut candidate = model.clone();
        snap_to_codebook(&mut candidate, &state.means);
        if score(&candidate, held_out, loss, options.tolerance).accuracy >= before.accuracy {
            model = candidate;
            snapped = true;
        }
    }
    let mask = model.shape.weight_mask();
    let nonzero_weights = model
        .params
        .iter()
        .zip(&mask)
        .filter(|(w, &m)| m && **w != 0.0)
        .count();
    MlpRun {
        parameters: model.params.len(),
        nonzero_weights,
        train: score(&model, train, loss, options.tolerance),
        held_out: score(&model, held_out, loss, options.tolerance),
        posterior_bits: state.posterior_bits(&model.params),
        snapped,
        task: *task,
        options: options.clone(),
        model,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l1_norm_with_two_inputs_trains_to_small_error_quickly() {
        let task = MlpTask::L1Norm { n: 2 };
        let options = MlpTrainOptions {
            steps: 800,
            ..MlpTrainOptions::for_task(&task)
        };
        let run = train_mlp(&task, &options);
        assert!(run.held_out.loss < 1e-3, "{:?}", run.held_out);
        let again = train_mlp(&task, &options);
        assert_eq!(run.model.params, again.model.params);
    }
}
