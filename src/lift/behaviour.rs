//! Behavioural clustering: groups hidden states by what the network does from them, not by where
//! they lie.
//!
//! Trained networks that implement a finite machine rarely land on exactly the same point for the
//! same machine state: the noise can exceed the distance between machine states, so clustering by
//! position fails. Two states are the same machine state when every continuation gives the same
//! outputs (Nerode equivalence). This pass approximates that with a fixed set of probe
//! continuations, run by the network's cell from each state: states are first merged when they
//! nearly coincide (a fine tolerance), then grouped by the rounded outputs of every probe. The
//! machine built from the groups must still be deterministic on the trace, which
//! [`super::finite::machine_from_partition`] checks.

use std::collections::BTreeMap;

use crate::network::interp::InterpError;
use crate::network::SequenceModel;
use crate::rng::SplitMix64;

use super::finite::{cluster_states, largest_spread, round_output, UNKNOWN};
use super::trace::{CellRunner, Trace};

/// How states are probed.
#[derive(Debug, Clone, PartialEq)]
pub struct BehaviourOptions {
    /// Random probe continuations, besides every single input (or a spread of them).
    pub continuations: usize,
    /// Steps of each random continuation.
    pub continuation_length: usize,
    /// Most single-step probes.
    pub single_steps: usize,
    /// Tolerance for merging nearly coinciding states, as a fraction of the largest spread.
    pub merge_tolerance: f64,
    /// Most distinct states probed; more means the reading is skipped.
    pub max_probed: usize,
    pub seed: u64,
}

impl Default for BehaviourOptions {
    fn default() -> Self {
        BehaviourOptions {
            continuations: 24,
            continuation_length: 2,
            single_steps: 16,
            merge_tolerance: 1e-3,
            max_probed: 3000,
            seed: 0x6e65_726f_6465,
        }
    }
}

/// Groups the traced states by behaviour: the group of every state and the number of groups, or
/// `None` when there are too many distinct states to probe.
///
/// Errors: the interpreter's.
pub fn cluster_by_behaviour(
    model: &SequenceModel,
    trace: &Trace,
    ranges: &[(i64, i64)],
    options: &BehaviourOptions,
) -> Result<Option<(Vec<usize>, usize)>, InterpError> {
    let tolerance = options.merge_tolerance * largest_spread(&trace.states);
    let Some((leader_of, leaders)) = cluster_states(&trace.states, tolerance, options.max_probed)
    else {
        return Ok(None);
    };
    let probes = probe_sequences(ranges, options);
    // A state is probed only when the probes end within the length the network was made for:
    // beyond it a trained network may drift, and equivalent states would look different.
    let horizon = model.length.saturating_sub(options.continuation_length);
    let mut probed = vec![true; trace.states.len()];
    for step in &trace.steps {
        probed[step.after] = step.position < horizon;
    }
    let runner = CellRunner::new(model)?;
    // The first traced state of each fine cluster stands for it.
    let mut representative = vec![usize::MAX; leaders];
    for (state, &cluster) in leader_of.iter().enumerate() {
        if probed[state] && representative[cluster] == usize::MAX {
            representative[cluster] = state;
        }
    }
    let mut groups: BTreeMap<Vec<i64>, usize> = BTreeMap::new();
    let mut group_of_cluster = Vec::with_capacity(leaders);
    for &state in &representative {
        if state == usize::MAX {
            group_of_cluster.push(UNKNOWN);
            continue;
        }
        let mut signature = Vec::new();
        for probe in &probes {
            let mut tensors = runner.unflatten(&trace.states[state]);
            for input in probe {
                let (output, next) = runner.step(tensors, input)?;
                signature.extend(output.iter().map(|&y| round_output(y)));
                tensors = next;
            }
        }
        let fresh = groups.len();
        group_of_cluster.push(*groups.entry(signature).or_insert(fresh));
    }
    let group_of: Vec<usize> = leader_of
        .iter()
        .zip(&probed)
        .map(|(&c, &p)| if p { group_of_cluster[c] } else { UNKNOWN })
        .collect();
    Ok(Some((group_of, groups.len())))
}

/// The probes: single steps over the domain (all of it when small, else spread values), then
/// seeded random continuations.
fn probe_sequences(ranges: &[(i64, i64)], options: &BehaviourOptions) -> Vec<Vec<Vec<i64>>> {
    let mut probes = Vec::new();
    let total: i64 = ranges
        .iter()
        .map(|&(lo, hi)| (hi - lo + 1).max(1))
        .try_fold(1i64, |acc, c| acc.checked_mul(c))
        .unwrap_or(i64::MAX);
    let singles = (total as u64).min(options.single_steps as u64) as i64;
    for k in 0..singles {
        // Spread evenly over the enumeration of the domain's points.
        let mut index = if singles == total {
            k
        } else {
            k * (total / singles.max(1))
        };
        let mut input = Vec::with_capacity(ranges.len());
        for &(lo, hi) in ranges {
            let count = (hi - lo + 1).max(1);
            input.push(lo + index % count);
            index /= count;
        }
        probes.push(vec![input]);
    }
    let mut rng = SplitMix64::new(options.seed);
    for _ in 0..options.continuations {
        let probe = (0..options.continuation_length)
            .map(|_| ranges.iter().map(|&(lo, hi)| rng.int_in(lo, hi)).collect())
            .collect();
        probes.push(probe);
    }
    probes
}
