//! nn2py's embedded trainer for the anchor RNN of the MIPS benchmark.
//!
//! `h_t = f([h_{t-1}; x_t])`, `y_t = g(h_t)`, `h_0 = 0`; raw integer inputs as reals; loss
//! `0.5 * ln(1 + (y_hat - y)^2)` averaged over every output value; AdamW; accuracy is exact
//! match after rounding. [`train_task`] runs the whole recipe for one task: a training pool and
//! a held-out batch from seeds that derive from the run's seed, the architecture search
//! ([`search`]), then simplicity retraining ([`simplify`]), and a final judgement on a larger
//! held-out set. [`continue_training`] runs the same recipe after the search on a network given
//! (one `nn2py train` wrote earlier).
//!
//! The pointwise [`crate::export::Mlp`] has its own, smaller trainer: [`mlp`] (initialisation,
//! forward pass, loss and gradient), [`mlp_data`] (its tasks and losses), [`mlp_fit`] (one
//! run), [`penalty`] (the complexity penalties) and [`sweep`] (the penalty-strength sweep).
//!
//! The gradient engine is [`fused`]: a forward and backward pass written for this cell (a
//! general framework's per-operation overhead dominates at these sizes). Its gradients are
//! tested against central finite differences and, in builds with the `burn` feature, against
//! burn's autodiff (`autodiff`), which [`fit`] can also train with (`fit::Engine::Burn`). Every
//! engine is reached through [`gradient::GradientEngine`].
//!
//! **Invariant:** the same task, options and seed give the same network, bit for bit, on any
//! machine: seeded data, seeded initialisation, sums in a fixed order. The fused kernels split
//! large layers over threads by whole output rows only, which leaves each value's operations and
//! their order as in the serial loops (`fused::Plan`).

pub mod adamw;
#[cfg(feature = "burn")]
pub mod autodiff;
pub mod batch;
#[cfg(feature = "burn")]
pub mod cells;
pub mod fit;
pub mod flags;
pub mod fused;
pub mod gradient;
pub mod mlp;
pub mod mlp_data;
pub mod mlp_fit;
pub mod model;
pub mod penalty;
pub mod polish;
pub mod search;
pub mod simplify;
pub mod sweep;
pub mod zoo;

use std::time::Instant;

use crate::export::AnchorRnn;
use crate::tasks::{Dataset, Task, TaskError};
use crate::train::batch::Batch;
use crate::train::fit::{accuracy, Accuracy};
use crate::train::model::Architecture;
use crate::train::polish::{polish, wrong_sequences, PolishOptions, Pool};
use crate::train::search::{mix, search, Attempt, SearchEvent, SearchOptions};
use crate::train::simplify::{nonzero, simplify, SimplifyOptions, Stage};

/// Seed of the benchmark's held-out data. Training data seeds are derived from the run's seed
/// and never equal it (see [`data_seed`]).
pub const BENCHMARK_SEED: u64 = 0x6E6E_3270_7942_656E;

/// Why training could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] TaskError),
    #[error("the search tried no candidate (check --hidden and the parameter limit)")]
    NoCandidate,
    #[error(
        "the network maps {} inputs to {} outputs, but {task} maps {} to {}",
        found.0, found.1, expected.0, expected.1
    )]
    NotForTask {
        task: String,
        found: (usize, usize),
        expected: (usize, usize),
    },
}

/// Settings of [`train_task`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrainOptions {
    pub search: SearchOptions,
    /// `None` skips polishing (continued training of a network that is not exact on the judge set).
    pub polish: Option<PolishOptions>,
    /// `None` skips simplicity retraining.
    pub simplify: Option<SimplifyOptions>,
    /// Sequences in the training pool.
    pub train_sequences: usize,
    /// Sequences in the held-out batch the search and simplification judge by.
    pub held_out_sequences: usize,
    /// Sequences in the judge set that polishing and simplification are judged by.
    pub judge_sequences: usize,
    /// Sequences in polishing's training pool (fresh, apart from the search's pool); a task whose
    /// whole domain of sequences has at most this many, or at most [`WHOLE_DOMAIN_POOL`], gets the
    /// whole domain instead.
    pub polish_pool_sequences: usize,
    /// Length of the pool's sequences when longer than the task's (`None`: the task's). Longer
    /// sequences ask the network to hold its state steady past the task's horizon, which leaves
    /// it margin at the task's length; the pool is then always sampled, never the whole domain.
    pub polish_pool_length: Option<usize>,
    /// Sequences in the final held-out check.
    pub check_sequences: usize,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            search: SearchOptions::default(),
            polish: Some(PolishOptions::default()),
            simplify: Some(SimplifyOptions::default()),
            train_sequences: 50_000,
            held_out_sequences: 2_000,
            judge_sequences: 10_000,
            polish_pool_sequences: 100_000,
            polish_pool_length: None,
            check_sequences: 10_000,
            seed: 1,
        }
    }
}

/// Largest domain of sequences that polishing takes whole as its pool (4^10: Majority_0_3, 84 MB
/// of inputs), however small `polish_pool_sequences` is.
pub const WHOLE_DOMAIN_POOL: usize = 1 << 20;

/// Which data a derived seed is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataPurpose {
    Train = 1,
    HeldOut = 2,
    Check = 3,
    Search = 4,
    PolishPool = 5,
    Judge = 6,
}

/// The seed for `purpose` in a run seeded by `seed` for the task at `task_index`; never
/// [`BENCHMARK_SEED`].
pub fn data_seed(seed: u64, task_index: usize, purpose: DataPurpose) -> u64 {
    not_the_benchmark_seed(mix(mix(seed, task_index as u64), purpose as u64))
}

/// `seed`, or a neighbour of it where it is [`BENCHMARK_SEED`] (training never draws the
/// benchmark's data).
fn not_the_benchmark_seed(seed: u64) -> u64 {
    if seed == BENCHMARK_SEED {
        seed ^ 1
    } else {
        seed
    }
}

/// A trained network and how it was obtained.
#[derive(Debug, Clone)]
pub struct Trained {
    pub model: AnchorRnn,
    pub architecture: Architecture,
    pub parameters: usize,
    pub nonzero: usize,
    /// Optimiser steps over the search, polishing and the simplification (of this run: a
    /// continued network's earlier steps are not counted).
    pub steps: usize,
    /// Of `steps`, those spent polishing (0 when the search's network was exact on the judge set).
    pub polish_steps: usize,
    pub seconds: f64,
    /// On the final check set (fresh sequences, not used in training or the search).
    pub check: Accuracy,
    pub attempts: Vec<Attempt>,
    pub stages: Vec<Stage>,
}

impl Trained {
    /// Exact on every value of the final check set.
    pub fn is_exact(&self) -> bool {
        self.check.is_exact()
    }
}

/// Trains a network for `task` (search, then simplicity retraining if the search found an exact
/// one). `events` sees the search's progress.
pub fn train_task(
    task: &Task,
    options: &TrainOptions,
    events: &mut dyn FnMut(SearchEvent<'_>),
) -> Result<Trained, TrainError> {
    let start = Instant::now();
    let data = RunData::generate(task, options)?;
    let held_out_data = task.generate(
        options.held_out_sequences,
        task.length,
        data.seed(DataPurpose::HeldOut),
    )?;
    let held_out = Batch::all(&held_out_data);
    let found = search(
        &data.train,
        &held_out,
        &options.search,
        data.seed(DataPurpose::Search),
        events,
    )
    .ok_or(TrainError::NoCandidate)?;
    let steps = found.attempts.iter().map(|a| a.steps).sum();
    let mut trained = refine(task, options, &data, found.model, steps, start)?;
    trained.attempts = found.attempts;
    Ok(trained)
}

/// Continues training `model`, a network for `task` (as [`crate::export::read_anchor_onnx`]
/// reads one back): polishing and simplicity retraining as [`train_task`] runs them after its
/// search, then the final check. The counts in the result are this run's alone.
///
/// Errors: a network whose input or output size is not the task's.
pub fn continue_training(
    task: &Task,
    options: &TrainOptions,
    model: AnchorRnn,
) -> Result<Trained, TrainError> {
    if (model.input_dim, model.output_dim) != (task.input_dim, task.output_dim) {
        return Err(TrainError::NotForTask {
            task: task.name.to_string(),
            found: (model.input_dim, model.output_dim),
            expected: (task.input_dim, task.output_dim),
        });
    }
    let start = Instant::now();
    let data = RunData::generate(task, options)?;
    refine(task, options, &data, model, 0, start)
}

/// The data every run needs: the training pool and the seeds of the run.
struct RunData {
    index: usize,
    seed: u64,
    train: Dataset,
}

impl RunData {
    fn generate(task: &Task, options: &TrainOptions) -> Result<RunData, TrainError> {
        let index = crate::tasks::all()
            .iter()
            .position(|t| t.name == task.name)
            .unwrap_or(0);
        let train = task.generate(
            options.train_sequences,
            task.length,
            data_seed(options.seed, index, DataPurpose::Train),
        )?;
        Ok(RunData {
            index,
            seed: options.seed,
            train,
        })
    }

    fn seed(&self, purpose: DataPurpose) -> u64 {
        data_seed(self.seed, self.index, purpose)
    }

    /// The seed of polishing's pool in round `round` (from 1) when the pool is redrawn; never
    /// [`BENCHMARK_SEED`].
    fn round_pool_seed(&self, round: usize) -> u64 {
        not_the_benchmark_seed(mix(self.seed(DataPurpose::PolishPool), round as u64))
    }
}

/// Polishing, simplicity retraining and the final check of `model`, after `steps` steps that
/// began at `start`.
fn refine(
    task: &Task,
    options: &TrainOptions,
    data: &RunData,
    mut model: AnchorRnn,
    mut steps: usize,
    start: Instant,
) -> Result<Trained, TrainError> {
    let seed = |purpose| data.seed(purpose);
    let train = &data.train;
    let judge_data = task.generate(
        options.judge_sequences,
        task.length,
        seed(DataPurpose::Judge),
    )?;
    let judge = Batch::all(&judge_data);
    let mut polish_steps = 0;
    // A small domain is the pool: exact on the pool is then exact everywhere.
    let whole_domain_limit = options.polish_pool_sequences.max(WHOLE_DOMAIN_POOL);
    let pool_length = options.polish_pool_length.unwrap_or(task.length);
    let whole_domain = if pool_length == task.length {
        task.enumerate(task.length, whole_domain_limit)?
    } else {
        None
    };
    let pool_is_whole_domain = whole_domain.is_some();
    let pool = match whole_domain {
        Some(whole_domain) => whole_domain,
        None => task.generate(
            options.polish_pool_sequences,
            pool_length,
            seed(DataPurpose::PolishPool),
        )?,
    };
    let mut eval_ws = fused::Workspace::new();
    if let Some(polish_options) = &options.polish {
        let draw = |round: usize| {
            task.generate(pool.count, pool_length, data.round_pool_seed(round))
                .ok()
        };
        let source = if polish_options.redraw_pool && !pool_is_whole_domain {
            Pool::Redrawn {
                first: &pool,
                draw: &draw,
            }
        } else {
            Pool::Fixed(&pool)
        };
        let polished = polish(
            model,
            source,
            &judge,
            polish_options,
            seed(DataPurpose::PolishPool) ^ 0x9,
        );
        polish_steps = polished.steps;
        model = polished.model;
    }
    steps += polish_steps;
    let mut stages = Vec::new();
    let exact_on_judge = accuracy(&model, &judge, &mut eval_ws).is_exact();
    if let (true, Some(simplify_options)) = (exact_on_judge, &options.simplify) {
        // Judged on the judge set, which is larger than the search's held-out batch: a
        // simplification must keep the rare cases that polishing fixed.
        let simplified = simplify(
            model.clone(),
            train,
            &judge,
            simplify_options,
            seed(DataPurpose::Search) ^ 0x5,
        );
        steps += simplified.steps;
        stages = simplified.stages;
        // The pool is ten times the judge set: a simplification that is exact on the judge set
        // but wrong on more pool sequences than before is undone.
        let wrong_before = wrong_sequences(&model, &pool, &mut eval_ws).len();
        let wrong_after = wrong_sequences(&simplified.model, &pool, &mut eval_ws).len();
        if wrong_after > wrong_before {
            stages.push(Stage {
                name: format!(
                    "undone: wrong on {wrong_after} of {} pool sequences (was {wrong_before})",
                    pool.count
                ),
                kept: false,
                nonzero: nonzero(&model),
                frozen: 0,
            });
        } else {
            model = simplified.model;
        }
    }
    let check_data = task.generate(
        options.check_sequences,
        task.length,
        seed(DataPurpose::Check),
    )?;
    let check = accuracy(
        &model,
        &Batch::all(&check_data),
        &mut fused::Workspace::new(),
    );
    let architecture = Architecture::of(&model);
    Ok(Trained {
        parameters: architecture.parameter_count(task.input_dim, task.output_dim),
        nonzero: nonzero(&model),
        architecture,
        model,
        steps,
        polish_steps,
        seconds: start.elapsed().as_secs_f64(),
        check,
        attempts: Vec::new(),
        stages,
    })
}
