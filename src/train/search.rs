//! Architecture search: the smallest anchor RNN that a short training run brings to 100% on a
//! held-out batch.
//!
//! Candidates are ordered by parameter count (ties: shallower first), so small nonlinear
//! networks (a hidden size of 2 with an 8-wide `f`) are tried before large linear ones; each gets
//! a few seeds. The search stops at the first exact network, or when the candidates or the step
//! budget run out.

use std::time::Instant;

use crate::export::AnchorRnn;
use crate::tasks::Dataset;
use crate::train::batch::Batch;
use crate::train::fit::{fit, Accuracy, FitOptions, FitProgress};
use crate::train::model::{initialise, Architecture};

/// Settings of the search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchOptions {
    pub fit: FitOptions,
    /// Training runs (initialisations) per candidate.
    pub seeds: usize,
    /// Candidates with more parameters are not tried.
    pub max_parameters: usize,
    /// Hidden sizes tried.
    pub hidden_sizes: Vec<usize>,
    /// Hidden-layer widths tried for `f` and `g` (each MLP has at most one hidden layer here).
    pub widths: Vec<usize>,
    /// Give up once the attempts have taken this many optimiser steps in all (the attempt in
    /// progress finishes). A step budget, not a time budget, so the result does not depend on
    /// the machine's load.
    pub step_budget: usize,
    /// Optimiser steps for the escalation, tried only when the ladder found nothing exact.
    pub escalation_budget: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            fit: FitOptions::default(),
            seeds: 2,
            max_parameters: 5000,
            hidden_sizes: vec![1, 2, 4, 8, 16, 32],
            widths: vec![8, 16, 32, 64],
            step_budget: 200_000,
            escalation_budget: 30_000,
        }
    }
}

/// The candidates in search order.
pub fn candidates(
    options: &SearchOptions,
    input_dim: usize,
    output_dim: usize,
) -> Vec<Architecture> {
    let mut shapes: Vec<Vec<usize>> = vec![vec![]];
    shapes.extend(options.widths.iter().map(|&w| vec![w]));
    let mut all = Vec::new();
    for &hidden in &options.hidden_sizes {
        for f in &shapes {
            for g in &shapes {
                let arch = Architecture {
                    hidden,
                    f_widths: f.clone(),
                    g_widths: g.clone(),
                };
                if arch.parameter_count(input_dim, output_dim) <= options.max_parameters {
                    all.push(arch);
                }
            }
        }
    }
    all.sort_by_key(|a| {
        (
            a.parameter_count(input_dim, output_dim),
            a.f_widths.len() + a.g_widths.len(),
            a.hidden,
        )
    });
    all
}

/// One training run of the search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Attempt {
    pub architecture: Architecture,
    pub seed: u64,
    pub steps: usize,
    pub accuracy: f64,
    pub exact: bool,
    pub seconds: f64,
}

/// What the search found.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    /// The first exact network, or the most accurate one when none was exact.
    pub model: AnchorRnn,
    pub accuracy: Accuracy,
    pub attempts: Vec<Attempt>,
    pub seconds: f64,
}

impl SearchOutcome {
    pub fn is_exact(&self) -> bool {
        self.accuracy.is_exact()
    }
}

/// A search event, for progress displays.
#[derive(Debug, Clone)]
pub enum SearchEvent<'a> {
    Started {
        architecture: &'a Architecture,
        seed: u64,
        index: usize,
        total: usize,
    },
    Progress(FitProgress),
    Finished(&'a Attempt),
}

/// Searches for the smallest exact network on `train`, judged on `held_out`.
///
/// Two phases. The **ladder** tries every candidate in [`candidates`] order, `seeds` runs each,
/// until one is exact or `step_budget` is spent; attempt `k` is seeded by `mix(seed, k)`. If
/// the ladder ends without an exact network, the **escalation** tries larger networks beyond the
/// last one the ladder reached, each at least 1.5 times the previous one's size and with a
/// nonlinear `f`, one run each (seeded apart from the ladder's), within `escalation_budget`.
/// The ladder alone decides every task it solves, so a larger escalation budget never changes
/// those results.
pub fn search(
    train: &Dataset,
    held_out: &Batch,
    options: &SearchOptions,
    seed: u64,
    events: &mut dyn FnMut(SearchEvent<'_>),
) -> Option<SearchOutcome> {
    let start = Instant::now();
    let (input_dim, output_dim) = (train.input_dim, train.output_dim);
    let list = candidates(options, input_dim, output_dim);
    let total = list.len() * options.seeds;
    let mut best: Option<(AnchorRnn, Accuracy)> = None;
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut run = |arch: &Architecture, attempt_seed: u64, attempts: &mut Vec<Attempt>| {
        events(SearchEvent::Started {
            architecture: arch,
            seed: attempt_seed,
            index: attempts.len() + 1,
            total,
        });
        let began = Instant::now();
        let model = initialise(arch, input_dim, output_dim, attempt_seed);
        let outcome = fit(
            model,
            train,
            held_out,
            &options.fit,
            None,
            attempt_seed,
            &mut |p| events(SearchEvent::Progress(p)),
        );
        let attempt = Attempt {
            architecture: arch.clone(),
            seed: attempt_seed,
            steps: outcome.steps,
            accuracy: outcome.accuracy.rate(),
            exact: outcome.accuracy.is_exact(),
            seconds: began.elapsed().as_secs_f64(),
        };
        events(SearchEvent::Finished(&attempt));
        attempts.push(attempt);
        let better = best
            .as_ref()
            .is_none_or(|(_, acc)| outcome.accuracy.values_correct > acc.values_correct);
        if better {
            best = Some((outcome.model, outcome.accuracy));
        }
        best.as_ref().is_some_and(|(_, acc)| acc.is_exact())
    };

    let mut steps_taken = 0;
    let mut reached = 0;
    let mut solved = false;
    'ladder: for (index, arch) in list.iter().enumerate() {
        for _ in 0..options.seeds {
            if steps_taken >= options.step_budget {
                break 'ladder;
            }
            reached = index;
            let attempt_seed = mix(seed, attempts.len() as u64);
            solved = run(arch, attempt_seed, &mut attempts);
            steps_taken += attempts.last().map_or(0, |a| a.steps);
            if solved {
                break 'ladder;
            }
        }
    }

    if !solved {
        let mut escalation_steps = 0;
        for (k, arch) in escalation(&list, reached, input_dim, output_dim)
            .iter()
            .enumerate()
        {
            if escalation_steps >= options.escalation_budget {
                break;
            }
            let attempt_seed = mix(seed ^ ESCALATION_SEED, k as u64);
            let exact = run(arch, attempt_seed, &mut attempts);
            escalation_steps += attempts.last().map_or(0, |a| a.steps);
            if exact {
                break;
            }
        }
    }
    let (model, accuracy) = best?;
    Some(SearchOutcome {
        model,
        accuracy,
        attempts,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Separates the escalation's seeds from the ladder's.
const ESCALATION_SEED: u64 = 0x4553_4341_4C41_5445;

/// The escalation's candidates: after position `reached` of `list`, those with a nonlinear `f`,
/// each at least 1.5 times the parameters of the previous one taken.
pub fn escalation(
    list: &[Architecture],
    reached: usize,
    input_dim: usize,
    output_dim: usize,
) -> Vec<Architecture> {
    let size = |a: &Architecture| a.parameter_count(input_dim, output_dim);
    let mut floor = list.get(reached).map_or(0, size);
    let mut taken = Vec::new();
    for arch in list.iter().skip(reached + 1) {
        if !arch.is_linear() && size(arch) * 2 >= floor * 3 {
            floor = size(arch);
            taken.push(arch.clone());
        }
    }
    taken
}

/// A seed for sub-run `k` of a run seeded by `seed` (SplitMix64's finaliser of both).
pub fn mix(seed: u64, k: u64) -> u64 {
    let mut z = seed
        ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_nonlinear_networks_come_before_large_linear_ones() {
        let list = candidates(&SearchOptions::default(), 1, 1);
        let position = |h: usize, f: Vec<usize>| {
            list.iter()
                .position(|a| a.hidden == h && a.f_widths == f && a.g_widths.is_empty())
                .unwrap()
        };
        assert!(position(2, vec![8]) < position(16, vec![]));
        assert_eq!(list[0].to_string(), "h=1 f=[] g=[]");
        let counts: Vec<usize> = list.iter().map(|a| a.parameter_count(1, 1)).collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn escalation_grows_geometrically_with_a_nonlinear_recurrence() {
        let list = candidates(&SearchOptions::default(), 1, 1);
        let steps = escalation(&list, 10, 1, 1);
        assert!(!steps.is_empty());
        let mut previous = list[10].parameter_count(1, 1);
        for arch in &steps {
            assert!(!arch.is_linear());
            let size = arch.parameter_count(1, 1);
            assert!(2 * size >= 3 * previous, "{arch}: {size} after {previous}");
            previous = size;
        }
        assert!(steps.len() < list.len() / 3);
    }
}
