//! Polishing: continued training of a nearly exact network until it is exact on a large judge set.
//!
//! The architecture search stops as soon as a network is exact on its held-out batch (a few
//! thousand sequences). On tasks with rare cases (a carry that propagates far, a tie, a long run of
//! one symbol), such a network can still miss one sequence in a few thousand. Polishing continues
//! training from it at a lower learning rate, in rounds. Each round draws its batches from a fresh
//! pool of training sequences, and a share of every batch comes from the pool's sequences that the
//! network currently gets wrong (hard-example mining; the pool is training data, labelled by the
//! task's generator). The run ends early once the network is exact on the judge set and on every
//! sequence of the pool.
//!
//! Given a [`Pool::Redrawn`] (which the trainer passes when [`PolishOptions::redraw_pool`] is set),
//! every round after the first mines a pool of its own instead: the network then meets new rare
//! sequences each round instead of fitting the same few over and over.
//!
//! With a margin ([`PolishOptions::margin`]), "wrong" in the pool is stricter: a sequence is mined,
//! and counts against the network, while any of its values is at least `margin` from its target,
//! though it may already round right. A network whose pool values all lie within a margin
//! narrower than the rounding's 0.5 leaves room for the drift of unseen sequences; without one,
//! the networks of tasks with a long memory (a sum modulo 7 kept in a real-valued state) fix the
//! pool's mistakes one by one and keep missing about one held-out sequence in ten thousand.
//!
//! **Contract:** the result is the network that was best over the whole run (the input network
//! when no round improved on it): most values right on the judge set, then, among networks exact
//! there, fewest wrong (with a margin: hard) sequences in the pool (with a redrawn pool: in the
//! pool of the round it was judged in; pools are the same size). The judge set is separate from
//! the pool and from the final check set of [`crate::train::train_task`], which polishing never
//! sees.

use crate::export::AnchorRnn;
use crate::rng::SplitMix64;
use crate::tasks::Dataset;
use crate::train::adamw::AdamW;
use crate::train::batch::Batch;
use crate::train::fit::{accuracy, engine, judge_sequences, judge_values, Accuracy, FitOptions};
use crate::train::fused::Workspace;
use crate::train::model::zeros_like;

/// Settings of polishing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PolishOptions {
    /// Rounds of continued training; the wrong sequences are mined again before each.
    pub rounds: usize,
    /// Optimiser steps per round (fewer when the judge set becomes exact).
    pub steps_per_round: usize,
    /// Sequences per step.
    pub batch: usize,
    /// Learning rate at the first step; it decays by cosine over all rounds to
    /// `lr * final_lr_fraction`.
    pub lr: f32,
    pub final_lr_fraction: f32,
    /// Share of each batch drawn from the pool's wrong sequences (when there are any).
    pub hard_fraction: f64,
    /// Judge every this many steps.
    pub eval_every: usize,
    /// When given (in (0, 0.5]), a pool sequence is hard while some value is at least this far
    /// from its target; `None`: while some value rounds wrong.
    pub margin: Option<f32>,
    /// Draw a fresh pool before every round after the first (the same size and length; never
    /// for a pool that is the whole domain). Off: every round mines the same pool.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redraw_pool: bool,
}

impl Default for PolishOptions {
    fn default() -> Self {
        PolishOptions {
            rounds: 8,
            steps_per_round: 2500,
            batch: 512,
            lr: 2e-3,
            final_lr_fraction: 0.01,
            hard_fraction: 0.25,
            eval_every: 250,
            margin: None,
            redraw_pool: false,
        }
    }
}

/// What polishing did.
#[derive(Debug, Clone)]
pub struct PolishOutcome {
    /// The best network on the judge set.
    pub model: AnchorRnn,
    /// Its accuracy on the judge set.
    pub accuracy: Accuracy,
    /// Accuracy of the input network on the judge set.
    pub accuracy_before: Accuracy,
    pub steps: usize,
    pub rounds: usize,
}

/// Sequences of `data` (indices) on which `model` gets some value wrong, evaluated in chunks.
pub fn wrong_sequences(model: &AnchorRnn, data: &Dataset, ws: &mut Workspace) -> Vec<usize> {
    hard_sequences(model, data, None, ws)
}

/// Sequences of `data` (indices) that are hard for `model`: some value rounds wrong (`margin`
/// `None`) or lies at least `margin` from its target. Evaluated in chunks.
pub fn hard_sequences(
    model: &AnchorRnn,
    data: &Dataset,
    margin: Option<f32>,
    ws: &mut Workspace,
) -> Vec<usize> {
    const CHUNK: usize = 4096;
    let mut hard = Vec::new();
    let mut start = 0;
    while start < data.count {
        let indices: Vec<usize> = (start..(start + CHUNK).min(data.count)).collect();
        let batch = Batch::from_dataset(data, &indices);
        let ok = match margin {
            None => judge_sequences(model, &batch, ws).0,
            // A NaN output is never within the margin.
            Some(margin) => {
                judge_values(model, &batch, ws, |output, target| {
                    (output - target).abs() < margin
                })
                .0
            }
        };
        hard.extend(
            ok.iter()
                .enumerate()
                .filter(|(_, ok)| !**ok)
                .map(|(i, _)| indices[i]),
        );
        start += CHUNK;
    }
    hard
}

/// Where polishing's pool comes from.
pub enum Pool<'a> {
    /// The same sequences every round (a draw, or the whole domain).
    Fixed(&'a Dataset),
    /// `first` for the first round; round `r` (from 1) mines `draw(r)`, called once per round
    /// (`None`: the round keeps the previous round's pool).
    Redrawn {
        first: &'a Dataset,
        draw: &'a dyn Fn(usize) -> Option<Dataset>,
    },
}

/// Polishes `model` on `pool`, judged on `judge` (see the module's contract). Deterministic in
/// `seed` (and in `pool`'s draws).
pub fn polish(
    model: AnchorRnn,
    pool: Pool<'_>,
    judge: &Batch,
    options: &PolishOptions,
    seed: u64,
) -> PolishOutcome {
    let fit_defaults = FitOptions::default();
    let mut eval_ws = Workspace::new();
    let accuracy_before = accuracy(&model, judge, &mut eval_ws);
    let mut best = (model.clone(), accuracy_before);
    let first_pool = match pool {
        Pool::Fixed(data) | Pool::Redrawn { first: data, .. } => data,
    };
    let mut redrawn: Option<Dataset> = None;
    let hard_in = |model: &AnchorRnn, pool: &Dataset, ws: &mut Workspace| {
        hard_sequences(model, pool, options.margin, ws)
    };
    let mut best_pool_wrong = if accuracy_before.is_exact() {
        hard_in(&model, first_pool, &mut eval_ws).len()
    } else {
        usize::MAX
    };
    let mut current = model;
    let mut engine = engine(fit_defaults.engine);
    let mut grads = zeros_like(&current);
    let mut optimiser = AdamW::new(&current, fit_defaults.adamw);
    let mut rng = SplitMix64::new(seed);
    let total_steps = options.rounds * options.steps_per_round;
    let (mut steps, mut rounds) = (0, 0);
    let mut indices = Vec::with_capacity(options.batch);
    'rounds: for round in 0..options.rounds {
        if best_pool_wrong == 0 || first_pool.count == 0 {
            break;
        }
        rounds += 1;
        if let (Pool::Redrawn { draw, .. }, true) = (&pool, round > 0) {
            if let Some(fresh) = draw(round) {
                redrawn = Some(fresh);
            }
        }
        let pool = redrawn.as_ref().unwrap_or(first_pool);
        let wrong = hard_in(&current, pool, &mut eval_ws);
        let hard = if wrong.is_empty() {
            0
        } else {
            ((options.batch as f64 * options.hard_fraction) as usize).min(options.batch)
        };
        for _ in 0..options.steps_per_round {
            indices.clear();
            for k in 0..options.batch {
                let index = if k < hard {
                    wrong[rng.int_in(0, wrong.len() as i64 - 1) as usize]
                } else {
                    rng.int_in(0, pool.count as i64 - 1) as usize
                };
                indices.push(index);
            }
            let batch = Batch::from_dataset(pool, &indices);
            if !engine.gradients(&current, &batch, &mut grads) {
                break 'rounds;
            }
            optimiser.step(
                &mut current,
                &grads,
                learning_rate(options, steps, total_steps),
            );
            steps += 1;
            if steps % options.eval_every.max(1) == 0 {
                let judged = accuracy(&current, judge, &mut eval_ws);
                // Exact on the judge set is necessary but not enough: a network can still miss
                // one sequence in thousands. Only then is the whole pool counted, and a network
                // with no wrong sequence anywhere ends the run.
                let pool_wrong = if judged.is_exact() {
                    hard_in(&current, pool, &mut eval_ws).len()
                } else {
                    usize::MAX
                };
                if (judged.values_correct, std::cmp::Reverse(pool_wrong))
                    > (best.1.values_correct, std::cmp::Reverse(best_pool_wrong))
                {
                    best = (current.clone(), judged);
                    best_pool_wrong = pool_wrong;
                }
                if pool_wrong == 0 {
                    break 'rounds;
                }
            }
        }
    }
    PolishOutcome {
        model: best.0,
        accuracy: best.1,
        accuracy_before,
        steps,
        rounds,
    }
}

/// Cosine decay over all rounds.
fn learning_rate(options: &PolishOptions, step: usize, total: usize) -> f32 {
    let progress = step as f32 / total.max(1) as f32;
    let floor = options.final_lr_fraction;
    options.lr * (floor + (1.0 - floor) * 0.5 * (1.0 + (std::f32::consts::PI * progress).cos()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::Affine;

    /// The running sum `h' = w h + x`, `y = h`: exact at `w = 1`.
    fn running_sum(w: f32) -> AnchorRnn {
        let f = Affine {
            weight: vec![w, 1.0],
            out: 1,
            inp: 2,
            bias: vec![0.0],
        };
        let g = Affine {
            weight: vec![1.0],
            out: 1,
            inp: 1,
            bias: vec![0.0],
        };
        AnchorRnn::new(1, 1, 1, vec![f], vec![g]).expect("valid")
    }

    fn sum_all(count: usize, seed: u64) -> Dataset {
        crate::tasks::by_name("Sum_All")
            .expect("task")
            .generate(count, 10, seed)
            .expect("data")
    }

    #[test]
    fn a_slightly_wrong_running_sum_is_polished_to_exact() {
        let pool = sum_all(2000, 11);
        let judge = Batch::all(&sum_all(1000, 12));
        let broken = running_sum(1.0002);
        let wrong = wrong_sequences(&broken, &pool, &mut Workspace::new());
        assert!(
            !wrong.is_empty() && wrong.len() < pool.count,
            "{}",
            wrong.len()
        );
        let options = PolishOptions {
            rounds: 4,
            steps_per_round: 400,
            batch: 128,
            eval_every: 50,
            ..PolishOptions::default()
        };
        let outcome = polish(broken, Pool::Fixed(&pool), &judge, &options, 5);
        assert!(!outcome.accuracy_before.is_exact());
        assert!(outcome.accuracy.is_exact(), "{:?}", outcome.accuracy);
        assert_eq!(
            outcome.accuracy,
            accuracy(&outcome.model, &judge, &mut Workspace::new())
        );
        assert!(outcome.steps > 0 && outcome.steps <= 1600);
    }

    #[test]
    fn with_a_margin_a_right_but_drifting_sum_is_polished_into_the_margin() {
        let pool = sum_all(2000, 15);
        let judge = Batch::all(&sum_all(1000, 16));
        let drifting = running_sum(1.00005);
        let mut ws = Workspace::new();
        let margin = Some(0.05);
        assert!(wrong_sequences(&drifting, &pool, &mut ws).is_empty());
        let hard_before = hard_sequences(&drifting, &pool, margin, &mut ws).len();
        assert!(hard_before > 0, "the test needs values outside the margin");
        let options = PolishOptions {
            rounds: 4,
            steps_per_round: 400,
            batch: 128,
            eval_every: 50,
            margin,
            ..PolishOptions::default()
        };
        let outcome = polish(drifting.clone(), Pool::Fixed(&pool), &judge, &options, 5);
        assert!(outcome.accuracy.is_exact());
        let hard_after = hard_sequences(&outcome.model, &pool, margin, &mut ws).len();
        assert!(hard_after < hard_before, "{hard_after} of {hard_before}");
        // Without a margin the same network is already done.
        let unmargined = polish(
            drifting.clone(),
            Pool::Fixed(&pool),
            &judge,
            &PolishOptions::default(),
            5,
        );
        assert_eq!(unmargined.model, drifting);
    }

    #[test]
    fn an_exact_network_is_returned_unchanged() {
        let pool = sum_all(500, 13);
        let judge = Batch::all(&sum_all(300, 14));
        let exact = running_sum(1.0);
        assert!(wrong_sequences(&exact, &pool, &mut Workspace::new()).is_empty());
        let outcome = polish(
            exact.clone(),
            Pool::Fixed(&pool),
            &judge,
            &PolishOptions::default(),
            5,
        );
        assert_eq!(outcome.model, exact);
        assert_eq!((outcome.steps, outcome.rounds), (0, 0));
    }

    #[test]
    fn a_redrawn_pool_is_drawn_once_per_round_after_the_first() {
        let first = sum_all(2000, 11);
        let judge = Batch::all(&sum_all(1000, 12));
        let broken = running_sum(1.0002);
        let options = PolishOptions {
            rounds: 4,
            steps_per_round: 100,
            batch: 128,
            eval_every: 50,
            margin: Some(0.002),
            redraw_pool: true,
            ..PolishOptions::default()
        };
        let calls = std::cell::RefCell::new(Vec::new());
        let draw = |round: usize| {
            calls.borrow_mut().push(round);
            Some(sum_all(2000, 100 + round as u64))
        };
        let redrawn = polish(
            broken.clone(),
            Pool::Redrawn {
                first: &first,
                draw: &draw,
            },
            &judge,
            &options,
            5,
        );
        assert!(redrawn.accuracy.is_exact(), "{:?}", redrawn.accuracy);
        assert!(redrawn.rounds >= 2, "the test needs a second round");
        let expected: Vec<usize> = (1..redrawn.rounds).collect();
        assert_eq!(*calls.borrow(), expected);
        // A draw that gives nothing keeps the pool: the run is the fixed pool's, step for step.
        let kept = polish(
            broken.clone(),
            Pool::Redrawn {
                first: &first,
                draw: &|_| None,
            },
            &judge,
            &options,
            5,
        );
        let fixed = polish(broken, Pool::Fixed(&first), &judge, &options, 5);
        assert_eq!((kept.model, kept.steps), (fixed.model, fixed.steps));
    }
}
