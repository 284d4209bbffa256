//! The trainer's settings as the command line gives them (`nn2py train`, `nn2py bench mips62`):
//! each flag checked against its range and laid over [`TrainOptions::default`].

use crate::tasks::Task;
use crate::train::TrainOptions;

/// Largest hidden size or layer width `--hidden` and `--widths` take (the search's parameter cap
/// rules out far smaller ones; this keeps its arithmetic in range).
pub const MAX_LAYER_SIZE: usize = 4096;

/// Longest pool sequence `--polish-length` takes (a 100,000-sequence pool of them is tens of MB).
pub const MAX_POLISH_LENGTH: usize = 200;

/// Smallest pool `--polish-pool` takes.
pub const MIN_POLISH_POOL: usize = 1_000;

/// Largest pool `--polish-pool` takes (at [`MAX_POLISH_LENGTH`] and two inputs, 1.6 GB of
/// inputs).
pub const MAX_POLISH_POOL: usize = 1_000_000;

/// A flag value out of its range; the text names the flag and a valid example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error(
        "--hidden takes sizes from 1 to {}, for example --hidden 1,2,4",
        MAX_LAYER_SIZE
    )]
    Hidden,
    #[error(
        "--widths takes widths from 1 to {}, for example --widths 4,8",
        MAX_LAYER_SIZE
    )]
    Widths,
    /// `--seeds` or `--attempt-steps` is zero.
    #[error("{flag} takes a positive count")]
    NotPositive { flag: &'static str },
    #[error("--polish-margin takes a value in (0, 0.5], for example 0.25")]
    PolishMargin,
    #[error("--polish-rounds takes a positive count (--no-polish turns it off)")]
    PolishRounds,
    #[error("--polish-lr takes a value in (0, 0.1], for example 0.0005")]
    PolishLr,
    #[error(
        "--polish-pool takes a count from {} to {}, for example 1000000",
        MIN_POLISH_POOL,
        MAX_POLISH_POOL
    )]
    PolishPool,
    #[error(
        "--polish-length takes a length from {length}, {task}'s own, to {}",
        MAX_POLISH_LENGTH
    )]
    PolishLength { task: &'static str, length: usize },
}

/// The architecture search's flags (`None`: the trainer's default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchFlags<'a> {
    pub hidden: Option<&'a [usize]>,
    pub widths: Option<&'a [usize]>,
    pub seeds: Option<usize>,
    pub attempt_steps: Option<usize>,
    pub patience: Option<usize>,
}

/// Polishing's flags (`None`: the trainer's default).
#[derive(Debug, Clone, Copy, Default)]
pub struct PolishFlags {
    pub margin: Option<f32>,
    pub rounds: Option<usize>,
    pub lr: Option<f32>,
    /// Checked against the task by [`check_polish_length`].
    pub length: Option<usize>,
    pub pool: Option<usize>,
    pub redraw: bool,
}

/// All of the trainer's flags.
#[derive(Debug, Clone, Copy)]
pub struct TrainFlags<'a> {
    pub seed: u64,
    /// Optimiser steps of each phase of the search (the ladder and the escalation).
    pub step_budget: Option<usize>,
    pub search: SearchFlags<'a>,
    /// Simplicity retraining.
    pub simplify: bool,
    /// `None` turns polishing off.
    pub polish: Option<PolishFlags>,
}

impl Default for TrainFlags<'_> {
    /// No flag given: the trainer's defaults.
    fn default() -> Self {
        TrainFlags {
            seed: TrainOptions::default().seed,
            step_budget: None,
            search: SearchFlags::default(),
            simplify: true,
            polish: Some(PolishFlags::default()),
        }
    }
}

/// The trainer's settings from its flags.
///
/// Errors: the first [`FlagError`] in the order the flags are listed in [`TrainFlags`].
pub fn train_options(flags: &TrainFlags) -> Result<TrainOptions, FlagError> {
    let mut options = TrainOptions {
        seed: flags.seed,
        ..TrainOptions::default()
    };
    if let Some(steps) = flags.step_budget {
        options.search.step_budget = steps;
        options.search.escalation_budget = steps;
    }
    let search = &flags.search;
    let sizes_in_range = |sizes: &[usize]| {
        !sizes.is_empty() && sizes.iter().all(|&s| (1..=MAX_LAYER_SIZE).contains(&s))
    };
    if let Some(sizes) = search.hidden {
        if !sizes_in_range(sizes) {
            return Err(FlagError::Hidden);
        }
        options.search.hidden_sizes = sizes.to_vec();
    }
    if let Some(widths) = search.widths {
        if !sizes_in_range(widths) {
            return Err(FlagError::Widths);
        }
        options.search.widths = widths.to_vec();
    }
    for (flag, value) in [
        ("--seeds", search.seeds),
        ("--attempt-steps", search.attempt_steps),
    ] {
        if value == Some(0) {
            return Err(FlagError::NotPositive { flag });
        }
    }
    if let Some(seeds) = search.seeds {
        options.search.seeds = seeds;
    }
    if let Some(steps) = search.attempt_steps {
        options.search.fit.steps = steps;
    }
    if let Some(patience) = search.patience {
        options.search.fit.patience = patience;
    }
    if !flags.simplify {
        options.simplify = None;
    }
    let Some(flags) = flags.polish else {
        options.polish = None;
        return Ok(options);
    };
    let polish = options.polish.get_or_insert_with(Default::default);
    if let Some(margin) = flags.margin {
        if !(margin > 0.0 && margin <= 0.5) {
            return Err(FlagError::PolishMargin);
        }
        polish.margin = Some(margin);
    }
    if let Some(rounds) = flags.rounds {
        if rounds == 0 {
            return Err(FlagError::PolishRounds);
        }
        polish.rounds = rounds;
    }
    if let Some(lr) = flags.lr {
        if !(lr > 0.0 && lr <= 0.1) {
            return Err(FlagError::PolishLr);
        }
        polish.lr = lr;
    }
    polish.redraw_pool = flags.redraw;
    options.polish_pool_length = flags.length;
    if let Some(pool) = flags.pool {
        if !(MIN_POLISH_POOL..=MAX_POLISH_POOL).contains(&pool) {
            return Err(FlagError::PolishPool);
        }
        options.polish_pool_sequences = pool;
    }
    Ok(options)
}

/// Checks `--polish-length` against `task`: from the task's own length to
/// [`MAX_POLISH_LENGTH`].
pub fn check_polish_length(task: &Task, length: usize) -> Result<(), FlagError> {
    if (task.length..=MAX_POLISH_LENGTH).contains(&length) {
        Ok(())
    } else {
        Err(FlagError::PolishLength {
            task: task.name,
            length: task.length,
        })
    }
}
