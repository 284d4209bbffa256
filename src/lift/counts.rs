//! Counts reading: when the network's output depends only on how often each input value has been
//! seen so far, not on their order, its state is read as one counter per value of the domain.
//!
//! This is the reading for order-free tasks whose counters are unbounded, so that no finite
//! machine holds them, and whose state responds to each value differently, so that no lattice of
//! the raw inputs holds them ("the most frequent value so far"). It is measured, not assumed: the
//! rounded output of every traced step must be the same wherever the counts of the prefix are the
//! same. The driver's verification then judges the program on the checked inputs.

use std::collections::BTreeMap;

use crate::program::Type;

use super::finite::round_output;
use super::reading::{when_nothing_found, Candidate, Context, Found, Outcome, Reading};
use super::regress::{BinOp, Formula, UnOp};
use super::solve::{Fit, Solution};
use super::trace::Trace;
use super::write::Naming;

/// Largest domain (number of distinct step inputs) read as counters.
pub const MAX_VALUES: usize = 6;

/// Why the trace was not read as counts.
#[derive(Debug, Clone, PartialEq)]
pub enum NotCounts {
    /// The step input is not one integer feature, or its domain is too large or a single value.
    Domain,
    /// Two prefixes with the same counts got different outputs.
    OrderMatters {
        counts: Vec<i64>,
        outputs: (Vec<i64>, Vec<i64>),
    },
}

impl std::fmt::Display for NotCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotCounts::Domain => write!(
                f,
                "the step input is not one integer feature with 2 to {MAX_VALUES} values"
            ),
            NotCounts::OrderMatters { counts, outputs } => write!(
                f,
                "prefixes with the same counts {counts:?} give outputs {:?} and {:?}",
                outputs.0, outputs.1
            ),
        }
    }
}

/// The counts reading, tried only when no other reading found formulas: a counter per value is
/// rarely the smallest program, and a machine of many states is better read this way than as a
/// table.
pub const READING: Reading = Reading::new("counts", when_nothing_found, read_counts);

fn read_counts(context: &Context, candidates: &[Candidate]) -> Outcome {
    let codes = match find_counts(context.trace, context.bounds) {
        Ok(codes) => codes,
        Err(why) => return Ok(Err(format!("counts: {why}"))),
    };
    let lo = context.bounds[0].0;
    let solved = context.solve_within("counts", candidates, &codes);
    Ok(solved.map(|mut solution| {
        plain_count_updates(&mut solution, codes[0].len(), lo);
        let naming = Naming::Counts { lo };
        vec![Found::Formulas { solution, naming }]
    }))
}

/// Counts of the values `lo..=hi` of the single input feature in the prefix that led to every
/// traced state (the initial state counts nothing). `ranges` holds the `(lo, hi)` of each feature.
///
/// `Err` says why the state is not read as counts: the domain, or two prefixes with the same
/// counts and different outputs.
pub fn find_counts(trace: &Trace, ranges: &[(i64, i64)]) -> Result<Vec<Vec<i64>>, NotCounts> {
    let &[(lo, hi)] = ranges else {
        return Err(NotCounts::Domain);
    };
    let values = usize::try_from(i128::from(hi) - i128::from(lo) + 1).unwrap_or(usize::MAX);
    if !(2..=MAX_VALUES).contains(&values) {
        return Err(NotCounts::Domain);
    }
    let mut codes: Vec<Vec<i64>> = vec![Vec::new(); trace.states.len()];
    codes[0] = vec![0; values];
    let mut output_of: BTreeMap<Vec<i64>, Vec<i64>> = BTreeMap::new();
    for step in &trace.steps {
        // Steps are recorded in running order, so the state before has its counts already.
        let mut counts = codes[step.before].clone();
        let slot = step
            .input
            .first()
            .and_then(|&x| usize::try_from(x.checked_sub(lo)?).ok())
            .filter(|&slot| slot < values && counts.len() == values)
            .ok_or(NotCounts::Domain)?;
        counts[slot] += 1;
        let output: Vec<i64> = step.output.iter().map(|&y| round_output(y)).collect();
        match output_of.get(&counts) {
            Some(seen) if *seen != output => {
                return Err(NotCounts::OrderMatters {
                    counts,
                    outputs: (seen.clone(), output),
                })
            }
            Some(_) => {}
            None => {
                output_of.insert(counts.clone(), output);
            }
        }
        codes[step.after] = counts;
    }
    Ok(codes)
}

/// Rewrites the updates of a solution over counts (as [`find_counts`] numbers them, values from
/// `lo` up) as what they are by construction, `count_v + int(x == v)`, in place of the formulas
/// regression found for them (`x // 2 + count2` counts twos only on a domain without fours). Both
/// agree on every row of the table, so the solution's behaviour on the domain is unchanged.
pub fn plain_count_updates(solution: &mut Solution, values: usize, lo: i64) {
    let x = Formula::Column {
        index: values,
        ty: Type::Int,
    };
    for (update, &coordinate) in solution.updates.iter_mut().zip(&solution.kept) {
        let value = lo.saturating_add(coordinate as i64);
        let seen = Formula::Unary(
            UnOp::ToInt,
            Box::new(Formula::Binary(
                BinOp::Eq,
                Box::new(x.clone()),
                Box::new(Formula::Int(value)),
            )),
        );
        let formula = Formula::Binary(
            BinOp::Add,
            Box::new(Formula::Column {
                index: coordinate,
                ty: Type::Int,
            }),
            Box::new(seen),
        );
        *update = Fit::Formula {
            formula,
            width: values + 1,
        };
    }
    solution.size = solution.updates.iter().map(Fit::size).sum::<usize>()
        + solution
            .outputs
            .iter()
            .map(|(_, f)| f.size())
            .sum::<usize>();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lift::trace::TraceStep;

    /// A trace of `sequences` whose output at each step is `output(prefix)`; the hidden states are
    /// placeholders (the reading never looks at them).
    fn trace_of(sequences: &[Vec<i64>], output: impl Fn(&[i64]) -> i64) -> Trace {
        let mut trace = Trace {
            states: vec![vec![0.0]],
            steps: Vec::new(),
            input_dim: 1,
            output_dim: 1,
        };
        for sequence in sequences {
            let mut before = 0;
            for (position, &x) in sequence.iter().enumerate() {
                trace.states.push(vec![0.0]);
                let after = trace.states.len() - 1;
                trace.steps.push(TraceStep {
                    before,
                    after,
                    input: vec![x],
                    output: vec![output(&sequence[..=position]) as f64],
                    position,
                });
                before = after;
            }
        }
        trace
    }

    fn all_sequences(values: i64, length: usize) -> Vec<Vec<i64>> {
        (0..values.pow(length as u32))
            .map(|mut index| {
                (0..length)
                    .map(|_| {
                        let x = index % values;
                        index /= values;
                        x
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn majority_reads_as_counts() {
        let majority = |prefix: &[i64]| {
            let counts: Vec<usize> = (0..3)
                .map(|v| prefix.iter().filter(|&&x| x == v).count())
                .collect();
            let best = *counts.iter().max().unwrap();
            counts.iter().position(|&c| c == best).unwrap() as i64
        };
        let trace = trace_of(&all_sequences(3, 4), majority);
        let codes = find_counts(&trace, &[(0, 2)]).expect("order-free");
        assert_eq!(codes[0], vec![0, 0, 0]);
        // The sequence [0, 0, 0, 0] is first: its last state has counted four zeros.
        assert_eq!(codes[4], vec![4, 0, 0]);
        // Sequence 5 is [2, 1, 0, 0]: ones and twos counted once each after two steps.
        assert_eq!(codes[5 * 4 + 2], vec![0, 1, 1]);
    }

    #[test]
    fn order_dependent_outputs_are_refused() {
        let last = |prefix: &[i64]| *prefix.last().unwrap();
        let trace = trace_of(&all_sequences(2, 3), last);
        assert!(matches!(
            find_counts(&trace, &[(0, 1)]),
            Err(NotCounts::OrderMatters { .. })
        ));
        assert_eq!(find_counts(&trace, &[(0, 9)]), Err(NotCounts::Domain));
        assert_eq!(
            find_counts(&trace, &[(0, 1), (0, 1)]),
            Err(NotCounts::Domain)
        );
    }
}
