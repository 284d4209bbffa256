//! Ways to number the states of a finite machine, so that its updates and outputs have short
//! formulas: the same machine is a remainder, a counter or noise depending on the numbering.

use std::collections::{BTreeSet, VecDeque};

use super::finite::{Machine, UNKNOWN};
use super::trace::Trace;

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
        if m == UNKNOWN {
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
    let mut queue = VecDeque::from([initial]);
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
    let distinct: BTreeSet<i64> = numbers.iter().copied().collect();
    (distinct.len() == numbers.len()).then_some(numbers)
}

/// Ways to number a machine's states, as the coordinates of every traced state (none for a state
/// of no machine state): by the output the machine gives on entering each state
/// ([`entry_labels`]), by order of first visit, along the principal direction of their hidden
/// states, for small machines by every other numbering, and by their shortest input words read as
/// numerals.
pub fn numberings(machine: &Machine, trace: &Trace, bounds: &[(i64, i64)]) -> Vec<Vec<Vec<i64>>> {
    let codes = |label: &dyn Fn(usize) -> i64| -> Vec<Vec<i64>> {
        machine
            .state_of
            .iter()
            .map(|&s| {
                if s == UNKNOWN {
                    Vec::new()
                } else {
                    vec![label(s)]
                }
            })
            .collect()
    };
    let mut numberings = Vec::new();
    if let Some(labels) = entry_labels(machine, trace) {
        numberings.push(codes(&|s| labels[s]));
    }
    numberings.push(codes(&|s| s as i64));
    // Counters: states in order along the main direction of their hidden states, the initial
    // state at zero, in both senses.
    if let Some(order) = principal_order(machine, trace) {
        let initial = order[machine.initial()] as i64;
        for sense in [1, -1] {
            numberings.push(codes(&|s| sense * (order[s] as i64 - initial)));
        }
    }
    // Small machines: every numbering (the right one turns `(2 * r + x) % 3` from noise into a
    // remainder), the identity first.
    if machine.count <= MAX_PERMUTED_STATES {
        for permutation in permutations(machine.count).into_iter().skip(1) {
            numberings.push(codes(&|s| permutation[s] as i64));
        }
    }
    if let Some(numbers) = access_numbers(machine, bounds) {
        numberings.push(codes(&|s| numbers[s]));
    }
    numberings
}

/// Every state labelled by the output the machine gives on entering it, when the output is a
/// single integer, the same on every entry of a state and different for every state entered; the
/// initial state, which may never be entered, gets the smallest label no other state has. `None`
/// when the outputs do not label the states that way.
fn entry_labels(machine: &Machine, trace: &Trace) -> Option<Vec<i64>> {
    if trace.output_dim != 1 {
        return None;
    }
    let mut entry_output: Vec<Option<i64>> = vec![None; machine.count];
    for (to, output) in machine.transitions.values() {
        let &y = output.first()?;
        match entry_output[*to] {
            None => entry_output[*to] = Some(y),
            Some(seen) if seen != y => return None,
            Some(_) => {}
        }
    }
    let entered: Vec<i64> = entry_output.iter().flatten().copied().collect();
    let mut used: BTreeSet<i64> = entered.iter().copied().collect();
    if used.len() != entered.len() || entered.len() + 1 < machine.count {
        return None;
    }
    let labels = entry_output
        .iter()
        .map(|label| match label {
            Some(v) => *v,
            None => {
                let fresh = (0..).find(|v| !used.contains(v)).unwrap_or(0);
                used.insert(fresh);
                fresh
            }
        })
        .collect();
    Some(labels)
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
