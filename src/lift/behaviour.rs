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
//! [`super::finite::machine_from_partition`] checks; states the network reaches from a group's
//! representative on inputs the trace never showed there are grouped the same way
//! ([`ProbedClusters`], for [`super::complete`]).

use std::collections::BTreeMap;

use crate::network::interp::InterpError;
use crate::network::SequenceModel;
use crate::rng::SplitMix64;

use crate::verify::flatten;

use super::complete::Extend;
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

/// The traced states grouped by behaviour, extendable by stepping the network: a reached state
/// joins the group of a fine cluster whose leader it nearly coincides with, else the group with
/// its probe outputs, else founds a new group.
pub struct ProbedClusters<'a> {
    /// The group of every traced state, or [`UNKNOWN`] for states not probed (too late in their
    /// sequence).
    pub group_of: Vec<usize>,
    runner: CellRunner<'a>,
    probes: Vec<Vec<Vec<i64>>>,
    tolerance: f64,
    /// Leaders of the fine clusters that were probed, with their groups.
    leaders: Vec<(Vec<f64>, usize)>,
    groups: BTreeMap<Vec<i64>, usize>,
    /// The state each group's steps start from: the representative of the fine cluster that
    /// founded it, or the reached state that did.
    representatives: Vec<Vec<f64>>,
    steps: usize,
}

impl ProbedClusters<'_> {
    /// The rounded outputs of every probe run from `state`.
    fn signature(&mut self, state: &[f64]) -> Result<Vec<i64>, InterpError> {
        let mut signature = Vec::new();
        for probe in &self.probes {
            let mut tensors = self.runner.unflatten(state);
            for input in probe {
                let (output, next) = self.runner.step(tensors, input)?;
                self.steps += 1;
                signature.extend(output.iter().map(|&y| round_output(y)));
                tensors = next;
            }
        }
        Ok(signature)
    }

    /// The group with this signature, founded (with `state` as its representative) when new.
    fn group(&mut self, signature: Vec<i64>, state: &[f64]) -> usize {
        let fresh = self.groups.len();
        let group = *self.groups.entry(signature).or_insert(fresh);
        if group == fresh {
            self.representatives.push(state.to_vec());
        }
        group
    }
}

impl Extend for ProbedClusters<'_> {
    type Error = InterpError;

    fn count(&self) -> usize {
        self.representatives.len()
    }

    fn successor(
        &mut self,
        cluster: usize,
        input: &[i64],
    ) -> Result<(usize, Vec<i64>), InterpError> {
        let start = self.runner.unflatten(&self.representatives[cluster]);
        let (output, next) = self.runner.step(start, input)?;
        self.steps += 1;
        let next = flatten(&next).0;
        let near = self.leaders.iter().find(|(leader, _)| {
            leader
                .iter()
                .zip(&next)
                .all(|(a, b)| (a - b).abs() <= self.tolerance)
        });
        let to = match near {
            Some(&(_, group)) => group,
            None => {
                let signature = self.signature(&next)?;
                self.group(signature, &next)
            }
        };
        Ok((to, output.iter().map(|&y| round_output(y)).collect()))
    }

    fn steps_run(&self) -> usize {
        self.steps
    }
}

/// Groups the traced states by behaviour, or `None` when there are too many distinct states to
/// probe. The groups are numbered in order of first visit by a probed state.
///
/// Errors: the interpreter's.
pub fn cluster_by_behaviour<'a>(
    model: &'a SequenceModel,
    trace: &Trace,
    ranges: &[(i64, i64)],
    options: &BehaviourOptions,
) -> Result<Option<ProbedClusters<'a>>, InterpError> {
    let tolerance = options.merge_tolerance * largest_spread(&trace.states);
    let Some((leader_of, leaders)) = cluster_states(&trace.states, tolerance, options.max_probed)
    else {
        return Ok(None);
    };
    // A state is probed only when the probes end within the length the network was made for:
    // beyond it a trained network may drift, and equivalent states would look different.
    let horizon = model.length.saturating_sub(options.continuation_length);
    let mut probed = vec![true; trace.states.len()];
    for step in &trace.steps {
        probed[step.after] = step.position < horizon;
    }
    let mut clusters = ProbedClusters {
        group_of: Vec::new(),
        runner: CellRunner::new(model)?,
        probes: probe_sequences(ranges, options),
        tolerance,
        leaders: Vec::new(),
        groups: BTreeMap::new(),
        representatives: Vec::new(),
        steps: 0,
    };
    // The first probed traced state of each fine cluster stands for it.
    let mut representative = vec![usize::MAX; leaders];
    for (state, &cluster) in leader_of.iter().enumerate() {
        if probed[state] && representative[cluster] == usize::MAX {
            representative[cluster] = state;
        }
    }
    let mut group_of_cluster = Vec::with_capacity(leaders);
    for &state in &representative {
        if state == usize::MAX {
            group_of_cluster.push(UNKNOWN);
            continue;
        }
        let signature = clusters.signature(&trace.states[state])?;
        let group = clusters.group(signature, &trace.states[state]);
        clusters.leaders.push((trace.states[state].clone(), group));
        group_of_cluster.push(group);
    }
    clusters.group_of = leader_of
        .iter()
        .zip(&probed)
        .map(|(&c, &p)| if p { group_of_cluster[c] } else { UNKNOWN })
        .collect();
    Ok(Some(clusters))
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
