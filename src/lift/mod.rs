//! Lifting: from a recurrent network to the short program it implements.
//!
//! The cell is run over sequences drawn from the input domain ([`trace`]). Its hidden states are
//! then read as integer coordinates, three ways: an integer lattice spanned by the state's measured
//! response to each input ([`lattice`]), a shift register of the inputs the output is measured to
//! read ([`window`]), and a finite machine of clustered, minimised states
//! ([`finite`]); when none of these gives formulas, a counter of each input value, for outputs that
//! ignore the order of the inputs ([`counts`]). For each reading that holds, every coordinate's
//! update and every output is fitted by an exact formula over the coordinates and the inputs
//! ([`solve`], using [`linear`] and [`regress`]), and the formulas become a program ([`build`]).
//! The smallest program wins.
//!
//! Lifting reads outputs by rounding to the nearest integer: it is only used for networks whose
//! outputs are read that way (the driver's readout). The driver is the judge: a lifted program is
//! used only when it matches the network on every checked input; otherwise the faithful lowering is
//! used and the report says why lifting failed.

pub mod argmax;
pub mod behaviour;
pub mod build;
pub mod complete;
pub mod counts;
pub mod finite;
pub mod lattice;
pub mod linear;
pub mod pointwise;
pub mod regress;
pub mod solve;
pub mod trace;
pub mod window;

use serde::Serialize;

use crate::network::interp::InterpError;
use crate::network::{SequenceModel, TimeDirection};
use crate::program::{LoopDirection, Program};
use crate::verify::domain::Range;
use crate::verify::{draw_examples, flatten, VerifyOptions};

use behaviour::{cluster_by_behaviour, BehaviourOptions};
use build::{build_program, build_table_program, Coding};
use complete::domain_points;
use counts::find_counts;
use finite::{find_machine, machine_from_partition, FiniteOptions, Machine};
use lattice::{find_lattice, LatticeOptions};
use solve::{solve, Solution};
use trace::{trace_sequences, CellRunner, Trace};
use window::{find_window, WindowOptions};

/// How lifting searches.
#[derive(Debug, Clone, PartialEq)]
pub struct LiftOptions {
    /// Number of sequences traced (all of them when the domain is smaller).
    pub sequences: usize,
    /// Most cell steps traced: long sequences get fewer sequences.
    pub max_trace_steps: usize,
    /// Seed of the traced sequences; distinct from the verifier's, so that fitting and judging use
    /// different inputs when the domain is sampled.
    pub seed: u64,
    pub finite: FiniteOptions,
    pub behaviour: BehaviourOptions,
    pub lattice: LatticeOptions,
    pub window: WindowOptions,
    pub regress: regress::Options,
}

impl Default for LiftOptions {
    fn default() -> Self {
        LiftOptions {
            sequences: 2000,
            max_trace_steps: 40_000,
            seed: 0x6c69_6674,
            finite: FiniteOptions::default(),
            behaviour: BehaviourOptions::default(),
            lattice: LatticeOptions::default(),
            window: WindowOptions::default(),
            // Many tables are tried (every reading, every numbering of a small machine): a
            // smaller search budget per table keeps a conversion within seconds.
            regress: regress::Options {
                max_evaluations: 400_000,
                salvage_evaluations: 200_000,
                ..regress::Options::default()
            },
        }
    }
}

/// What lifting found, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiftReport {
    /// True when the program is the lifted one (set by the driver after verification).
    pub lifted: bool,
    /// How the hidden state was read, when a program was lifted: `"lattice"`, `"window"`,
    /// `"finite"`, `"counts"` or `"table"`.
    pub coding: Option<String>,
    /// Number of state variables of the lifted program.
    pub state_variables: usize,
    /// Total size of the lifted formulas in expression nodes.
    pub formula_nodes: usize,
    /// Why each reading that was tried did not give a program, and why the result was not used.
    pub notes: Vec<String>,
}

/// A lifted program and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifted {
    pub program: Program,
    pub report: LiftReport,
}

/// Lifts a sequence model whose every input feature ranges over the integers in `ranges`.
///
/// Returns the smallest program over all readings of the hidden state that gave one, or a report
/// whose notes say why none did. Errors: the interpreter's, while tracing.
pub fn lift_sequence(
    model: &SequenceModel,
    ranges: &[Range],
    options: &LiftOptions,
) -> Result<Result<Lifted, LiftReport>, InterpError> {
    let mut report = LiftReport {
        lifted: false,
        coding: None,
        state_variables: 0,
        formula_nodes: 0,
        notes: Vec::new(),
    };
    let mut bounds = Vec::with_capacity(ranges.len());
    for range in ranges {
        match *range {
            Range::Integers { lo, hi } => bounds.push((lo, hi)),
            Range::Reals { .. } => {
                report
                    .notes
                    .push("the input domain is not integer".to_string());
                return Ok(Err(report));
            }
        }
    }
    let sequences = draw_sequences(model, ranges, options);
    let trace = trace_sequences(model, &sequences)?;
    let direction = match model.cell.direction {
        TimeDirection::Forward => LoopDirection::Forward,
        TimeDirection::Reverse => LoopDirection::Reverse,
    };

    let mut candidates: Vec<(Solution, Coding)> = Vec::new();
    let mut table_machine: Option<Machine> = None;
    match find_lattice(model, &trace, &sequences, &bounds, &options.lattice)? {
        Ok(lattice) => match solve(&trace, &lattice.codes, Some(&options.regress)) {
            Ok(solution) => {
                let solution = rebase_plane(&trace, &lattice.codes, solution);
                candidates.push((solution, Coding::Lattice));
            }
            Err(why) => report.notes.push(format!("lattice: {}", why.0)),
        },
        Err(why) => report.notes.push(format!("lattice: {why}")),
    }
    match find_window(model, &trace, &sequences, &bounds, &options.window)? {
        Ok(codes) => match solve(&trace, &codes, Some(&within(&options.regress, &candidates))) {
            Ok(solution) => candidates.push((solution, Coding::Window)),
            Err(why) => report.notes.push(format!("window: {}", why.0)),
        },
        Err(why) => report.notes.push(format!("window: {why}")),
    }
    let machine = read_machine(model, &trace, &bounds, options)?;
    match machine {
        Ok(machine) => {
            let mut found = false;
            let mut last = String::new();
            for codes in labellings(&machine, &trace, &bounds) {
                match solve(&trace, &codes, Some(&within(&options.regress, &candidates))) {
                    Ok(solution) => {
                        candidates.push((solution, Coding::Finite));
                        found = true;
                    }
                    Err(why) => last = why.0,
                }
            }
            if !found {
                report.notes.push(format!(
                    "finite machine of {} states: {last}",
                    machine.count
                ));
                table_machine = Some(machine);
            }
        }
        Err(why) => report.notes.push(format!("finite: {why}")),
    }
    // Order-free counters: only when no other reading gave formulas (a counter per value is
    // rarely the smallest program, and a machine of many states is better read this way than as
    // a table).
    if candidates.is_empty() {
        match find_counts(&trace, &bounds) {
            Ok(codes) => match solve(&trace, &codes, Some(&options.regress)) {
                Ok(mut solution) => {
                    let values = codes[0].len();
                    counts::plain_count_updates(&mut solution, values, bounds[0].0);
                    candidates.push((solution, Coding::Counts { lo: bounds[0].0 }));
                }
                Err(why) => report.notes.push(format!("counts: {}", why.0)),
            },
            Err(why) => report.notes.push(format!("counts: {why}")),
        }
    }
    // Smallest first; on a tie the lattice reading (tried first) wins.
    let Some((solution, coding)) = candidates.into_iter().min_by_key(|(s, _)| s.size) else {
        // A machine with no short formulas still reads as a table, when the table is small.
        if let Some(machine) = table_machine {
            let rows = bounds
                .iter()
                .map(|&(lo, hi)| (hi as i128 - lo as i128 + 1) as u128)
                .fold(machine.count as u128, u128::saturating_mul);
            if rows <= MAX_TABLE_ROWS {
                let program = build_table_program(&machine, &bounds, model.output_dim, direction);
                report.coding = Some("table".to_string());
                report.state_variables = 1;
                report.formula_nodes = 0;
                return Ok(Ok(Lifted { program, report }));
            }
            report.notes.push(format!(
                "the transition table would have {rows} rows (limit {MAX_TABLE_ROWS})"
            ));
        }
        return Ok(Err(report));
    };
    let program = build_program(&solution, model.input_dim, direction, coding);
    report.coding = Some(
        match coding {
            Coding::Lattice => "lattice",
            Coding::Finite => "finite",
            Coding::Window => "window",
            Coding::Table => "table",
            Coding::Counts { .. } => "counts",
        }
        .to_string(),
    );
    report.state_variables = solution.kept.len();
    report.formula_nodes = solution.size;
    Ok(Ok(Lifted { program, report }))
}

/// The regression limits for a reading that must beat every candidate so far: a program smaller
/// than the smallest candidate has no formula of that size or more, so none is sought. (This only
/// saves time: the smallest candidate wins either way, and the earlier one on a tie.)
fn within(options: &regress::Options, candidates: &[(Solution, Coding)]) -> regress::Options {
    let mut bounded = options.clone();
    if let Some(best) = candidates.iter().map(|(s, _)| s.size).min() {
        bounded.max_size = bounded.max_size.min(best.saturating_sub(1));
    }
    bounded
}

/// The trace read as a finite machine: by position when that machine is complete (every
/// transition observed or read off the network), else also by behaviour, keeping the machine with
/// fewer states (by position on a tie). The error says why neither reading gave one.
///
/// Errors: the interpreter's.
fn read_machine(
    model: &SequenceModel,
    trace: &Trace,
    bounds: &[(i64, i64)],
    options: &LiftOptions,
) -> Result<Result<Machine, String>, InterpError> {
    let inputs = domain_points(bounds, options.finite.max_domain_points).unwrap_or_default();
    let runner = CellRunner::new(model)?;
    let step = |state: &[f64], input: &[i64]| {
        let (output, next) = runner.step(runner.unflatten(state), input)?;
        Ok::<_, InterpError>((output, flatten(&next).0))
    };
    let by_position = find_machine(trace, &inputs, step, &options.finite)?;
    if let Ok(machine) = &by_position {
        if machine.complete {
            return Ok(by_position.map_err(|e| e.to_string()));
        }
    }
    let by_behaviour = match cluster_by_behaviour(model, trace, bounds, &options.behaviour)? {
        Some(mut clusters) => {
            let group_of = std::mem::take(&mut clusters.group_of);
            machine_from_partition(trace, &group_of, &mut clusters, &inputs, &options.finite)?
                .map_err(|e| e.to_string())
        }
        None => Err("too many states to probe".to_string()),
    };
    Ok(match (by_position, by_behaviour) {
        (Ok(position), Ok(behaviour)) if behaviour.count < position.count => Ok(behaviour),
        (Ok(position), _) => Ok(position),
        (Err(_), Ok(behaviour)) => Ok(behaviour),
        (Err(geometric), Err(why)) => Err(format!("by position: {geometric}; by behaviour: {why}")),
    })
}

/// The traced sequences: the whole domain of sequences when it is small, else a seeded sample.
fn draw_sequences(model: &SequenceModel, ranges: &[Range], options: &LiftOptions) -> Vec<Vec<i64>> {
    let per_step: Vec<Range> = (0..model.length)
        .flat_map(|_| ranges.iter().cloned())
        .collect();
    let count = options
        .sequences
        .min(options.max_trace_steps / model.length.max(1))
        .max(1);
    let verify_options = VerifyOptions {
        samples: count,
        seed: options.seed,
        exhaustive_limit: count as u128,
        ..VerifyOptions::default()
    };
    draw_examples(&per_step, &verify_options)
        .examples
        .into_iter()
        .map(|e| e.into_iter().map(|v| v as i64).collect())
        .collect()
}

/// The rank of every machine state along the first principal direction of the mean hidden
/// states of the machine states (power iteration on their covariance); `None` for fewer than three
/// states.
fn principal_order(machine: &Machine, trace: &Trace) -> Option<Vec<usize>> {
    let dim = trace.state_dim();
    if machine.count < 3 || dim == 0 {
        return None;
    }
    let mut sums = vec![vec![0.0; dim]; machine.count];
    let mut counts = vec![0usize; machine.count];
    for (state, &m) in trace.states.iter().zip(&machine.state_of) {
        if m == finite::UNKNOWN {
            continue;
        }
        counts[m] += 1;
        sums[m].iter_mut().zip(state).for_each(|(a, b)| *a += b);
    }
    let means: Vec<Vec<f64>> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s.iter().map(|v| v / c.max(1) as f64).collect())
        .collect();
    let centre: Vec<f64> = (0..dim)
        .map(|k| means.iter().map(|m| m[k]).sum::<f64>() / means.len() as f64)
        .collect();
    let centred: Vec<Vec<f64>> = means
        .iter()
        .map(|m| m.iter().zip(&centre).map(|(a, c)| a - c).collect())
        .collect();
    // Deterministic start: the direction of the largest centred mean.
    let mut direction = centred
        .iter()
        .max_by(|a, b| norm2(a).total_cmp(&norm2(b)))?
        .clone();
    for _ in 0..100 {
        let mut next = vec![0.0; dim];
        for m in &centred {
            let along: f64 = m.iter().zip(&direction).map(|(a, b)| a * b).sum();
            next.iter_mut().zip(m).for_each(|(n, v)| *n += along * v);
        }
        let size = norm2(&next).sqrt();
        if size == 0.0 {
            return None;
        }
        direction = next.iter().map(|v| v / size).collect();
    }
    let projection: Vec<f64> = centred
        .iter()
        .map(|m| m.iter().zip(&direction).map(|(a, b)| a * b).sum())
        .collect();
    let mut by_position: Vec<usize> = (0..machine.count).collect();
    by_position.sort_by(|&a, &b| projection[a].total_cmp(&projection[b]).then(a.cmp(&b)));
    let mut order = vec![0; machine.count];
    for (rank, &state) in by_position.iter().enumerate() {
        order[state] = rank;
    }
    Some(order)
}

fn norm2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

/// A two-coordinate lattice read in the basis that gives the smallest linear program: the measured
/// responses span the lattice but need not be the basis a person would pick (for `v += x; p += v`
/// they are `(1, 1)` and `(1, 2)`, not `v` and `p`). Every unimodular change of basis with entries
/// in {-1, 0, 1} is tried with linear fits only; the original solution stays unless one is
/// strictly smaller.
fn rebase_plane(trace: &Trace, codes: &[Vec<i64>], solution: Solution) -> Solution {
    if codes.first().map_or(0, Vec::len) != 2 {
        return solution;
    }
    // Compare the bases on a prefix of the trace (the fits are exact or not on every row, and a
    // thousand steps separate the bases that matter); the winner is refitted on the whole trace.
    let mut sample = trace.clone();
    sample.steps.truncate(REBASE_SAMPLE_STEPS);
    let mut best: Option<(Vec<Vec<i64>>, usize)> = None;
    let entries = [0i64, 1, -1];
    for a in entries {
        for b in entries {
            for c in entries {
                for d in entries {
                    if (a * d - b * c).abs() != 1 || (a, b, c, d) == (1, 0, 0, 1) {
                        continue;
                    }
                    let changed: Vec<Vec<i64>> = codes
                        .iter()
                        .map(|z| match z.as_slice() {
                            [z0, z1] => vec![a * z0 + b * z1, c * z0 + d * z1],
                            other => other.to_vec(),
                        })
                        .collect();
                    if let Ok(candidate) = solve(&sample, &changed, None) {
                        let smallest = best.as_ref().map_or(solution.size, |(_, size)| *size);
                        if candidate.size < smallest {
                            best = Some((changed, candidate.size));
                        }
                    }
                }
            }
        }
    }
    match best.map(|(codes, _)| solve(trace, &codes, None)) {
        Some(Ok(rebased)) if rebased.size < solution.size => rebased,
        _ => solution,
    }
}

/// Steps of the trace on which the bases of a two-coordinate lattice are compared.
const REBASE_SAMPLE_STEPS: usize = 1000;

/// The input that stands for "nothing yet": zero where the domain has it, else the bound nearest
/// zero, per feature.
pub(crate) fn origin_inputs(ranges: &[(i64, i64)]) -> Vec<i64> {
    ranges.iter().map(|&(lo, hi)| 0.clamp(lo, hi)).collect()
}

/// Largest transition table printed for a machine with no short formulas.
const MAX_TABLE_ROWS: u128 = 1024;

/// Machines up to this many states are tried under every numbering of their states.
const MAX_PERMUTED_STATES: usize = 4;

/// Every permutation of `0..n` in lexicographic order.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    let mut all = Vec::new();
    let mut current: Vec<usize> = (0..n).collect();
    loop {
        all.push(current.clone());
        // Next permutation in lexicographic order.
        let Some(i) = (1..n).rev().find(|&i| current[i - 1] < current[i]) else {
            return all;
        };
        let j = (i..n)
            .rev()
            .find(|&j| current[j] > current[i - 1])
            .unwrap_or(i);
        current.swap(i - 1, j);
        current[i..].reverse();
    }
}

/// Numbers each state by its shortest input word from the initial state (breadth first, inputs
/// in domain order) read as a numeral in base |domain|, most significant first: what a stream of
/// digits has accumulated when it first reaches the state (the remainder, for long division).
/// `None` when some state is not reached, two states get the same number, or a number overflows.
fn access_numbers(machine: &Machine, bounds: &[(i64, i64)]) -> Option<Vec<i64>> {
    let mut base: i64 = 1;
    for &(lo, hi) in bounds {
        base = base.checked_mul(hi.checked_sub(lo)?.checked_add(1)?)?;
    }
    let digit = |input: &[i64]| -> Option<i64> {
        let mut value: i64 = 0;
        for (&x, &(lo, hi)) in input.iter().zip(bounds) {
            value = value.checked_mul(hi - lo + 1)?.checked_add(x - lo)?;
        }
        Some(value)
    };
    let mut numbers: Vec<Option<i64>> = vec![None; machine.count];
    let initial = machine.initial();
    *numbers.get_mut(initial)? = Some(0);
    let mut queue = std::collections::VecDeque::from([initial]);
    while let Some(state) = queue.pop_front() {
        let here = numbers[state]?;
        for ((_, input), &(to, _)) in machine
            .transitions
            .range((state, Vec::new())..)
            .take_while(|((from, _), _)| *from == state)
        {
            if numbers.get(to)?.is_none() {
                numbers[to] = Some(here.checked_mul(base)?.checked_add(digit(input)?)?);
                queue.push_back(to);
            }
        }
    }
    let numbers: Vec<i64> = numbers.into_iter().collect::<Option<_>>()?;
    let distinct: std::collections::BTreeSet<i64> = numbers.iter().copied().collect();
    (distinct.len() == numbers.len()).then_some(numbers)
}

/// Ways to number a machine's states: by the output the machine gives on entering each state
/// (when that output is a single integer, the same on every entry, and different for every state),
/// by order of first visit, along the principal direction of their hidden states, by their shortest
/// input words read as numerals, and for small machines every other numbering.
fn labellings(machine: &Machine, trace: &Trace, bounds: &[(i64, i64)]) -> Vec<Vec<Vec<i64>>> {
    let code = |label: Option<i64>| label.map_or_else(Vec::new, |l| vec![l]);
    let known = |s: usize| (s != finite::UNKNOWN).then_some(s);
    let visit_order: Vec<Vec<i64>> = machine
        .state_of
        .iter()
        .map(|&s| code(known(s).map(|s| s as i64)))
        .collect();
    let mut entry_output: Vec<Option<i64>> = vec![None; machine.count];
    let mut consistent = trace.output_dim == 1;
    for (to, output) in machine.transitions.values() {
        let Some(&y) = output.first() else {
            consistent = false;
            break;
        };
        match entry_output[*to] {
            None => entry_output[*to] = Some(y),
            Some(seen) if seen != y => consistent = false,
            Some(_) => {}
        }
    }
    let mut labellings = vec![visit_order];
    // Counters: states in order along the main direction of their hidden states, the initial
    // state at zero, in both senses.
    if let Some(order) = principal_order(machine, trace) {
        let initial = order[machine.initial()] as i64;
        for sense in [1, -1] {
            labellings.push(
                machine
                    .state_of
                    .iter()
                    .map(|&s| code(known(s).map(|s| sense * (order[s] as i64 - initial))))
                    .collect(),
            );
        }
    }
    // Small machines: every numbering (the right one turns `(2 * r + x) % 3` from noise into a
    // remainder), the identity first.
    if machine.count <= MAX_PERMUTED_STATES {
        for permutation in permutations(machine.count).into_iter().skip(1) {
            labellings.push(
                machine
                    .state_of
                    .iter()
                    .map(|&s| code(known(s).map(|s| permutation[s] as i64)))
                    .collect(),
            );
        }
    }
    if let Some(numbers) = access_numbers(machine, bounds) {
        labellings.push(
            machine
                .state_of
                .iter()
                .map(|&s| code(known(s).map(|s| numbers[s])))
                .collect(),
        );
    }
    if consistent {
        // The initial state may never be entered; give it a label no other state has.
        let mut labels: Vec<i64> = Vec::with_capacity(machine.count);
        let mut used: std::collections::BTreeSet<i64> =
            entry_output.iter().flatten().copied().collect();
        let mut distinct = used.len() == entry_output.iter().flatten().count();
        for label in &entry_output {
            match label {
                Some(v) => labels.push(*v),
                None => {
                    let fresh = (0..).find(|v| !used.contains(v)).unwrap_or(0);
                    used.insert(fresh);
                    labels.push(fresh);
                }
            }
        }
        if entry_output.iter().flatten().count() + 1 < machine.count {
            distinct = false;
        }
        if distinct {
            labellings.insert(
                0,
                machine
                    .state_of
                    .iter()
                    .map(|&s| code(known(s).map(|s| labels[s])))
                    .collect(),
            );
        }
    }
    labellings
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn access_numbers_of_long_division_are_the_remainders() {
        // Long division by 3 on bits, most significant first: r' = (2r + x) % 3, with the states
        // numbered in an arbitrary order (state s holds remainder `remainder[s]`).
        let remainder = [0i64, 2, 1];
        let state_of_remainder = |r: i64| remainder.iter().position(|&v| v == r).unwrap();
        let mut transitions = BTreeMap::new();
        for (s, &r) in remainder.iter().enumerate() {
            for x in 0..2 {
                let next = 2 * r + x;
                transitions.insert((s, vec![x]), (state_of_remainder(next % 3), vec![next / 3]));
            }
        }
        let machine = Machine {
            state_of: vec![0, 2, 1],
            count: 3,
            transitions,
            complete: true,
            filled: 0,
        };
        assert_eq!(access_numbers(&machine, &[(0, 1)]), Some(vec![0, 2, 1]));
        let mut unreachable = machine.clone();
        unreachable.count = 4;
        assert_eq!(access_numbers(&unreachable, &[(0, 1)]), None);
    }
}
