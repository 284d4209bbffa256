//! Finite-state discretisation: clusters the traced hidden states, checks that the clusters form a
//! deterministic machine, and minimises it.
//!
//! A state cluster is a set of traced states within an L-infinity tolerance of its first member
//! (the leader). Clustering tries tolerances from coarse to fine and keeps the coarsest one under
//! which every observed transition is deterministic: the same cluster and input always lead to the
//! same cluster and the same (rounded) output. The transitions the trace never showed are then
//! filled by stepping the network from each cluster's leader ([`super::complete`]); the machine is
//! minimised by partition refinement (Moore's algorithm), so two clusters that behave the same on
//! every input become one state. When the completion does not close within its limits, the
//! machine is minimised on the observed transitions alone and marked incomplete: a missing
//! transition then keeps states apart.

use std::collections::BTreeMap;

use super::complete::{complete_transitions, CompleteLimits, Completion, Extend, Transitions};
use super::trace::Trace;

/// Limits of the finite-state search.
#[derive(Debug, Clone, PartialEq)]
pub struct FiniteOptions {
    /// Largest number of clusters before minimisation; more means "not finite".
    pub max_clusters: usize,
    /// Largest number of states after minimisation.
    pub max_states: usize,
    /// Tolerances tried, as fractions of the states' largest coordinate spread, coarse first.
    pub tolerances: Vec<f64>,
    /// Largest input domain (points of one step) whose unobserved transitions are filled by
    /// stepping the network; a larger domain keeps the observed transitions only.
    pub max_domain_points: usize,
    /// Most network steps spent filling unobserved transitions, per machine.
    pub max_fill_steps: usize,
}

impl Default for FiniteOptions {
    fn default() -> Self {
        FiniteOptions {
            max_clusters: 2048,
            max_states: 128,
            tolerances: vec![0.05, 0.02, 0.01, 0.003, 0.001],
            max_domain_points: 256,
            max_fill_steps: 50_000,
        }
    }
}

/// The cluster (or machine state) of a traced state that belongs to none: a state whose
/// behaviour could not be measured. Steps from or to it are not checked, and its machine state is
/// inferred from the machine's transitions where possible.
pub const UNKNOWN: usize = usize::MAX;

/// A minimised machine read off the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// The machine state of every traced state (indexed like [`Trace::states`]), or [`UNKNOWN`].
    pub state_of: Vec<usize>,
    /// Number of machine states, numbered `0..count` in order of first visit in the trace.
    pub count: usize,
    /// Transitions: (state, input) to (next state, rounded output); observed on the trace, and
    /// when `complete`, filled by stepping the network for every other input of the domain.
    pub transitions: BTreeMap<(usize, Vec<i64>), (usize, Vec<i64>)>,
    /// True when every state has a transition on every input of the domain.
    pub complete: bool,
    /// Transitions (between clusters, before minimisation) read off the network rather than
    /// the trace.
    pub filled: usize,
}

impl Machine {
    /// The state the machine starts in.
    pub fn initial(&self) -> usize {
        self.state_of.first().copied().unwrap_or(0)
    }
}

/// Why the hidden states were not read as a finite machine.
#[derive(Debug, Clone, PartialEq)]
pub enum NotFinite {
    /// More clusters than the limit even at the coarsest consistent tolerance.
    TooManyClusters(usize),
    /// The minimised machine has more states than the limit.
    TooManyStates(usize),
    /// No tolerance gave a deterministic machine.
    Inconsistent,
}

impl std::fmt::Display for NotFinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotFinite::TooManyClusters(n) => write!(f, "more than {n} distinct hidden states"),
            NotFinite::TooManyStates(n) => write!(f, "{n} states after minimisation"),
            NotFinite::Inconsistent => {
                write!(
                    f,
                    "no clustering of the hidden states is a deterministic machine"
                )
            }
        }
    }
}

/// Reads the trace as a finite machine, or says why it is not one.
///
/// `inputs` are the domain's points whose missing transitions are filled (none: the observed
/// transitions only); `step` runs the network one step from a flat state (as [`Trace::states`]
/// stores them) and returns the output and the next flat state. Errors: `step`'s.
pub fn find_machine<E, F>(
    trace: &Trace,
    inputs: &[Vec<i64>],
    mut step: F,
    options: &FiniteOptions,
) -> Result<Result<Machine, NotFinite>, E>
where
    F: FnMut(&[f64], &[i64]) -> Result<(Vec<f64>, Vec<f64>), E>,
{
    let spread = largest_spread(&trace.states);
    let mut last_error = NotFinite::Inconsistent;
    for &fraction in &options.tolerances {
        let tolerance = fraction * spread;
        let Some((cluster_of, clusters)) =
            cluster_states(&trace.states, tolerance, options.max_clusters)
        else {
            // Finer tolerances only give more clusters.
            return Ok(Err(NotFinite::TooManyClusters(options.max_clusters)));
        };
        let mut leaders: Vec<Option<Vec<f64>>> = vec![None; clusters];
        for (state, &c) in trace.states.iter().zip(&cluster_of) {
            leaders[c].get_or_insert_with(|| state.clone());
        }
        let mut reading = Leaders {
            leaders: leaders.into_iter().flatten().collect(),
            tolerance,
            step: &mut step,
            steps: 0,
        };
        match machine_from_partition(trace, &cluster_of, &mut reading, inputs, options)? {
            Err(NotFinite::Inconsistent) => last_error = NotFinite::Inconsistent,
            other => return Ok(other),
        }
    }
    Ok(Err(last_error))
}

/// Clusters by position, extended by stepping the network from each cluster's leader: a reached
/// state joins the first cluster whose leader is within the tolerance, as in [`cluster_states`].
struct Leaders<'f, F> {
    leaders: Vec<Vec<f64>>,
    tolerance: f64,
    step: &'f mut F,
    steps: usize,
}

impl<E, F> Extend for Leaders<'_, F>
where
    F: FnMut(&[f64], &[i64]) -> Result<(Vec<f64>, Vec<f64>), E>,
{
    type Error = E;

    fn count(&self) -> usize {
        self.leaders.len()
    }

    fn successor(&mut self, cluster: usize, input: &[i64]) -> Result<(usize, Vec<i64>), E> {
        self.steps += 1;
        let (output, next) = (self.step)(&self.leaders[cluster], input)?;
        let found = self.leaders.iter().position(|leader| {
            leader
                .iter()
                .zip(&next)
                .all(|(a, b)| (a - b).abs() <= self.tolerance)
        });
        let to = found.unwrap_or_else(|| {
            self.leaders.push(next);
            self.leaders.len() - 1
        });
        Ok((to, output.iter().map(|&y| round_output(y)).collect()))
    }

    fn steps_run(&self) -> usize {
        self.steps
    }
}

/// The minimised machine whose states are the clusters of `reading` (`cluster_of[i]` in
/// `0..reading.count()`, or [`UNKNOWN`]), or why there is none: a (cluster, input) pair with two
/// successors or outputs on the trace, or too many states. The transitions the trace never showed
/// for `inputs` are filled through `reading` first, within the options' limits.
///
/// Errors: the reading's, from stepping the network.
pub fn machine_from_partition<R: Extend>(
    trace: &Trace,
    cluster_of: &[usize],
    reading: &mut R,
    inputs: &[Vec<i64>],
    options: &FiniteOptions,
) -> Result<Result<Machine, NotFinite>, R::Error> {
    let Some(observed) = deterministic_transitions(trace, cluster_of) else {
        return Ok(Err(NotFinite::Inconsistent));
    };
    let clusters = reading.count();
    let mut transitions = observed.clone();
    let limits = CompleteLimits {
        max_clusters: options.max_clusters,
        max_steps: options.max_fill_steps,
    };
    let completion = if inputs.is_empty() {
        Completion::Open
    } else {
        complete_transitions(&mut transitions, reading, inputs, limits)?
    };
    let mut machine = match completion {
        Completion::Closed { filled } => {
            let mut machine = minimise(cluster_of, reading.count(), &transitions);
            machine.complete = true;
            machine.filled = filled;
            machine
        }
        Completion::Open => minimise(cluster_of, clusters, &observed),
    };
    // States outside every cluster: follow the machine from the state before.
    for step in &trace.steps {
        let from = machine.state_of[step.before];
        if machine.state_of[step.after] == UNKNOWN && from != UNKNOWN {
            if let Some(&(to, _)) = machine.transitions.get(&(from, step.input.clone())) {
                machine.state_of[step.after] = to;
            }
        }
    }
    if machine.count > options.max_states {
        return Ok(Err(NotFinite::TooManyStates(machine.count)));
    }
    Ok(Ok(machine))
}

/// The largest difference between two values of one coordinate; 1 when the states do not vary.
pub(crate) fn largest_spread(states: &[Vec<f64>]) -> f64 {
    let dim = states.first().map_or(0, Vec::len);
    let mut spread: f64 = 0.0;
    for k in 0..dim {
        let (lo, hi) = states
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
                (lo.min(s[k]), hi.max(s[k]))
            });
        spread = spread.max(hi - lo);
    }
    if spread > 0.0 && spread.is_finite() {
        spread
    } else {
        1.0
    }
}

/// Leader clustering in L-infinity; `None` when more than `limit` clusters are needed.
pub(crate) fn cluster_states(
    states: &[Vec<f64>],
    tolerance: f64,
    limit: usize,
) -> Option<(Vec<usize>, usize)> {
    let mut leaders: Vec<usize> = Vec::new();
    let mut cluster_of = Vec::with_capacity(states.len());
    for state in states {
        let found = leaders.iter().position(|&l| {
            states[l]
                .iter()
                .zip(state)
                .all(|(a, b)| (a - b).abs() <= tolerance)
        });
        match found {
            Some(c) => cluster_of.push(c),
            None => {
                if leaders.len() == limit {
                    return None;
                }
                cluster_of.push(leaders.len());
                leaders.push(cluster_of.len() - 1);
            }
        }
    }
    Some((cluster_of, leaders.len()))
}

/// An observed transition seen from its source: input, target, output.
type Edge<'a> = (&'a Vec<i64>, usize, &'a Vec<i64>);

/// The observed transitions between clusters, or `None` when one (cluster, input) pair leads to
/// two different clusters or outputs.
fn deterministic_transitions(trace: &Trace, cluster_of: &[usize]) -> Option<Transitions> {
    let mut transitions = Transitions::new();
    for step in &trace.steps {
        if cluster_of[step.before] == UNKNOWN || cluster_of[step.after] == UNKNOWN {
            continue;
        }
        let output: Vec<i64> = step.output.iter().map(|&y| round_output(y)).collect();
        let next = (cluster_of[step.after], output);
        match transitions.entry((cluster_of[step.before], step.input.clone())) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(next);
            }
            std::collections::btree_map::Entry::Occupied(seen) => {
                if *seen.get() != next {
                    return None;
                }
            }
        }
    }
    Some(transitions)
}

/// Rounds an output half to even, saturating far outside the `i64` range.
pub fn round_output(y: f64) -> i64 {
    let r = y.round_ties_even();
    if r.is_nan() {
        0
    } else {
        r.clamp(i64::MIN as f64, i64::MAX as f64) as i64
    }
}

/// Moore minimisation of a Mealy machine on its known transitions: states stay apart when some
/// input gives them different outputs or leads to states already apart, or when only one of them
/// has a transition on some input.
fn minimise(cluster_of: &[usize], clusters: usize, transitions: &Transitions) -> Machine {
    let mut by_state: Vec<Vec<Edge<'_>>> = vec![Vec::new(); clusters];
    for ((from, input), (to, output)) in transitions {
        by_state[*from].push((input, *to, output));
    }
    let mut block = vec![0usize; clusters];
    let mut count = 1;
    loop {
        let mut signatures: BTreeMap<(usize, Vec<Edge<'_>>), usize> = BTreeMap::new();
        let mut next_block = vec![0usize; clusters];
        for state in 0..clusters {
            let signature: Vec<_> = by_state[state]
                .iter()
                .map(|&(input, to, output)| (input, block[to], output))
                .collect();
            let fresh = signatures.len();
            next_block[state] = *signatures.entry((block[state], signature)).or_insert(fresh);
        }
        let next_count = signatures.len();
        block = next_block;
        if next_count == count {
            break;
        }
        count = next_count;
    }
    // Renumber blocks in order of first visit in the trace, so numbering does not depend on
    // the refinement's internal order; blocks only the network's steps reached follow, in order
    // of their first cluster.
    let mut renumber: Vec<Option<usize>> = vec![None; count];
    let mut visited = 0;
    let state_of: Vec<usize> = cluster_of
        .iter()
        .map(|&c| {
            if c == UNKNOWN {
                return UNKNOWN;
            }
            *renumber[block[c]].get_or_insert_with(|| {
                visited += 1;
                visited - 1
            })
        })
        .collect();
    for &b in &block {
        renumber[b].get_or_insert_with(|| {
            visited += 1;
            visited - 1
        });
    }
    let mut machine_transitions = BTreeMap::new();
    for ((from, input), (to, output)) in transitions {
        let (Some(from), Some(to)) = (renumber[block[*from]], renumber[block[*to]]) else {
            continue;
        };
        machine_transitions.insert((from, input.clone()), (to, output.clone()));
    }
    Machine {
        state_of,
        count: visited,
        transitions: machine_transitions,
        complete: false,
        filled: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lift::trace::TraceStep;

    /// What a fake network's step returns: the output and the next state.
    type Stepped = Result<(Vec<f64>, Vec<f64>), ()>;

    /// The machine on the observed transitions only (no network to step).
    fn observed_machine(trace: &Trace, options: &FiniteOptions) -> Result<Machine, NotFinite> {
        let no_network = |_: &[f64], _: &[i64]| -> Stepped { Err(()) };
        find_machine(trace, &[], no_network, options).unwrap()
    }

    fn step(before: usize, input: i64, output: f64, position: usize) -> TraceStep {
        TraceStep {
            before,
            after: before + 1,
            input: vec![input],
            output: vec![output],
            position,
        }
    }

    /// A trace whose states 0.0 and 10.0 behave the same, but 10.0 ends its sequence before input
    /// 0 is ever seen from it: `0.0 -1/1-> 5.0 -0/0-> 10.0 -1/1-> 5.0`, and `0.0 -0/0-> 0.0`.
    fn unseen_input_trace() -> Trace {
        let mut second = step(3, 0, 0.0, 0);
        second.before = 0;
        Trace {
            states: vec![vec![0.0], vec![5.0], vec![10.0], vec![5.0], vec![0.0]],
            steps: vec![
                step(0, 1, 1.0, 0),
                step(1, 0, 0.0, 1),
                step(2, 1, 1.0, 2),
                second,
            ],
            input_dim: 1,
            output_dim: 1,
        }
    }

    /// The network behind [`unseen_input_trace`]: near 5.0, input 0 goes to 10.0; elsewhere input
    /// 0 stays; input 1 always goes to 5.0, with output 2 from near 5.0 (never traced) and 1
    /// elsewhere. `far` sends 10.0 on input 0 to a new state 20.0 with output 7 instead, which
    /// stays there.
    fn unseen_input_network(far: bool) -> impl FnMut(&[f64], &[i64]) -> Stepped {
        move |state: &[f64], input: &[i64]| {
            let v = state[0];
            Ok(match input[0] {
                _ if v >= 15.0 => (vec![7.0], vec![20.0]),
                0 if (v - 5.0).abs() < 1.0 => (vec![0.0], vec![10.0]),
                0 if far && v >= 7.5 => (vec![7.0], vec![20.0]),
                0 => (vec![0.0], vec![v]),
                _ if (v - 5.0).abs() < 1.0 => (vec![2.0], vec![5.0]),
                _ => (vec![1.0], vec![5.0]),
            })
        }
    }

    #[test]
    fn an_unseen_transition_read_off_the_network_lets_states_merge() {
        let trace = unseen_input_trace();
        let options = FiniteOptions::default();
        // On the observed transitions alone, 0.0 and 10.0 differ: only one was seen with 0.
        let observed = observed_machine(&trace, &options).unwrap();
        assert_eq!(observed.count, 3);
        assert!(!observed.complete);
        let inputs = vec![vec![0], vec![1]];
        let machine = find_machine(&trace, &inputs, unseen_input_network(false), &options)
            .unwrap()
            .unwrap();
        assert_eq!(machine.count, 2);
        assert!(machine.complete);
        // Filled: 5.0 on 1, and 10.0 on 0.
        assert_eq!(machine.filled, 2);
        assert_eq!(machine.state_of, vec![0, 1, 0, 1, 0]);
        assert_eq!(machine.transitions.len(), 4);
        assert_eq!(machine.transitions[&(0, vec![0])], (0, vec![0]));
        assert_eq!(machine.transitions[&(0, vec![1])], (1, vec![1]));
        assert_eq!(machine.transitions[&(1, vec![0])], (0, vec![0]));
        assert_eq!(machine.transitions[&(1, vec![1])], (1, vec![2]));
    }

    #[test]
    fn states_only_the_network_reaches_are_numbered_after_the_traced_ones() {
        let trace = unseen_input_trace();
        let inputs = vec![vec![0], vec![1]];
        let options = FiniteOptions::default();
        let machine = find_machine(&trace, &inputs, unseen_input_network(true), &options)
            .unwrap()
            .unwrap();
        assert!(machine.complete);
        assert_eq!(machine.count, 4);
        assert_eq!(machine.state_of, vec![0, 1, 2, 1, 0]);
        assert_eq!(machine.transitions[&(2, vec![0])], (3, vec![7]));
        assert_eq!(machine.transitions[&(3, vec![1])], (3, vec![7]));
    }

    /// A parity machine traced with noisy states: 0 near (0, 0), 1 near (1, 1).
    fn noisy_parity_trace() -> Trace {
        let mut states = vec![vec![0.0, 0.0]];
        let mut steps = Vec::new();
        let bits = [1, 1, 0, 1, 0, 0, 1, 1, 1, 0];
        let mut parity = 0;
        for (i, &b) in bits.iter().enumerate() {
            parity ^= b;
            let noise = 0.001 * i as f64;
            states.push(vec![parity as f64 + noise, parity as f64 - noise]);
            steps.push(step(i, b, parity as f64 + 0.1, i));
        }
        Trace {
            states,
            steps,
            input_dim: 1,
            output_dim: 1,
        }
    }

    #[test]
    fn noisy_parity_is_a_two_state_machine() {
        let machine = observed_machine(&noisy_parity_trace(), &FiniteOptions::default()).unwrap();
        assert_eq!(machine.count, 2);
        assert_eq!(machine.initial(), 0);
        assert_eq!(machine.transitions[&(0, vec![1])], (1, vec![1]));
        assert_eq!(machine.transitions[&(1, vec![1])], (0, vec![0]));
        assert_eq!(machine.transitions[&(1, vec![0])], (1, vec![1]));
    }

    #[test]
    fn equivalent_clusters_merge() {
        // States 0 and 2 are far apart but behave the same: both output 0 and go to state 1 on 1.
        let trace = Trace {
            states: vec![vec![0.0], vec![5.0], vec![10.0], vec![5.0]],
            steps: vec![step(0, 1, 1.0, 0), step(1, 0, 0.0, 1), step(2, 1, 1.0, 2)],
            input_dim: 1,
            output_dim: 1,
        };
        let machine = observed_machine(&trace, &FiniteOptions::default()).unwrap();
        assert_eq!(machine.count, 2);
        assert_eq!(machine.state_of, vec![0, 1, 0, 1]);
    }

    #[test]
    fn a_continuum_is_not_finite() {
        let n = 5000;
        let states: Vec<Vec<f64>> = (0..=n).map(|i| vec![i as f64 * 0.37]).collect();
        let steps = (0..n).map(|i| step(i, 1, i as f64, i)).collect();
        let trace = Trace {
            states,
            steps,
            input_dim: 1,
            output_dim: 1,
        };
        let options = FiniteOptions {
            max_clusters: 100,
            ..FiniteOptions::default()
        };
        assert_eq!(
            observed_machine(&trace, &options),
            Err(NotFinite::TooManyClusters(100))
        );
    }
}
