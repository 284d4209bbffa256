//! Window reading: when the network's output depends only on the last `K` inputs, its state is
//! read as a shift register of the `K - 1` inputs before the current one.
//!
//! The window is measured on the network: on base sequences, the input `j` steps before the last
//! step is replaced by other values of its domain, and the lag counts as read when the last step's
//! (rounded) output ever changes. Hidden states of linear networks often carry components from far
//! back that the output ignores; they keep the state off any small lattice, but not off this
//! reading. The coordinates are the inputs themselves (zero, or the domain's bound nearest zero,
//! before the start), so the judge (the driver's verification) decides whether the network really
//! treats the time before the start that way.

use crate::network::interp::InterpError;
use crate::network::TimeDirection;

use super::finite::round_output;
use super::reading::{always, origin_inputs, Candidate, Context, Found, Outcome, Reading};
use super::trace::{trace_sequences, Trace};
use super::write::Naming;

/// Limits of the window measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowOptions {
    /// Base sequences perturbed.
    pub probes: usize,
    /// Replacement values tried per base sequence and lag.
    pub replacements: usize,
    /// Largest number of previous inputs held.
    pub max_held: usize,
}

impl Default for WindowOptions {
    fn default() -> Self {
        WindowOptions {
            probes: 24,
            replacements: 3,
            max_held: 8,
        }
    }
}

/// Why the state was not read as a window.
#[derive(Debug, Clone, PartialEq)]
pub enum NotWindow {
    /// The output reads inputs at least this many steps back: the whole sequence, or too many.
    TooLong(usize),
    NothingToMeasure,
}

impl std::fmt::Display for NotWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotWindow::TooLong(lag) => {
                write!(
                    f,
                    "the output reads the input {lag} steps back (no short window)"
                )
            }
            NotWindow::NothingToMeasure => write!(f, "no window could be measured"),
        }
    }
}

/// Up to `count` base sequences spread evenly over `sequences`. An enumerated domain lists its
/// sequences with the first step varying fastest, so its first few sequences agree on every late
/// step: perturbing them alone would miss a window that only shows on varied recent inputs
/// (`0101` at the end of the sequence).
fn spread_probes(sequences: &[Vec<i64>], count: usize) -> Vec<Vec<i64>> {
    let stride = (sequences.len() / count.max(1)).max(1);
    sequences
        .iter()
        .step_by(stride)
        .take(count)
        .cloned()
        .collect()
}

/// The window reading: the held inputs, solved.
pub const READING: Reading = Reading::new("window", always, read_window);

fn read_window(context: &Context, candidates: &[Candidate]) -> Outcome {
    let codes = match find_window(context)? {
        Ok(codes) => codes,
        Err(why) => return Ok(Err(format!("window: {why}"))),
    };
    let solved = context.solve_within("window", candidates, &codes);
    Ok(solved.map(|solution| {
        let naming = Naming::ByRole;
        vec![Found::Formulas { solution, naming }]
    }))
}

/// Measures the window and returns the coordinates of every traced state: the inputs of the last
/// `K - 1` steps (newest first, every feature of a step in order).
///
/// Errors: the interpreter's. `Ok(Err(_))` says why the output has no short window.
pub fn find_window(context: &Context) -> Result<Result<Vec<Vec<i64>>, NotWindow>, InterpError> {
    let (model, trace, ranges) = (context.model, context.trace, context.bounds);
    let (sequences, options) = (context.sequences, &context.options.window);
    let d = model.input_dim.max(1);
    let length = context.sequence_length();
    if length < 2 || ranges.len() != d {
        return Ok(Err(NotWindow::NothingToMeasure));
    }
    let bases = spread_probes(sequences, options.probes);
    let base_trace = trace_sequences(model, &bases)?;
    let last_output = |trace: &Trace, i: usize| -> Vec<i64> {
        trace.steps[(i + 1) * length - 1]
            .output
            .iter()
            .map(|&y| round_output(y))
            .collect()
    };
    // Lags past `max_held + 1` need not be measured: reading that far is already too long.
    let mut deepest_read = 0;
    for lag in 0..length.min(options.max_held + 2) {
        let position = match model.cell.direction {
            TimeDirection::Forward => length - 1 - lag,
            TimeDirection::Reverse => lag,
        };
        let mut perturbed = Vec::new();
        let mut origin = Vec::new();
        for (i, base) in bases.iter().enumerate() {
            for feature in 0..d {
                let (lo, hi) = ranges[feature];
                let count = (hi - lo + 1).max(1);
                for k in 0..options.replacements {
                    let mut sequence = base.clone();
                    let slot = &mut sequence[position * d + feature];
                    // Spread the replacements over the domain, away from the base value.
                    let step = 1 + (k as i64 * count) / options.replacements as i64;
                    *slot = lo + (*slot - lo + step).rem_euclid(count);
                    perturbed.push(sequence);
                    origin.push(i);
                }
            }
        }
        let moved = trace_sequences(model, &perturbed)?;
        let changed = (0..perturbed.len())
            .any(|p| last_output(&moved, p) != last_output(&base_trace, origin[p]));
        if changed {
            deepest_read = lag;
        }
    }
    let held = deepest_read;
    if held + 1 >= length || held > options.max_held {
        return Ok(Err(NotWindow::TooLong(deepest_read)));
    }
    let origin = origin_inputs(ranges);
    let mut codes = vec![Vec::new(); trace.states.len()];
    codes[0] = (0..held).flat_map(|_| origin.iter().copied()).collect();
    let mut history: Vec<&[i64]> = Vec::new();
    for step in &trace.steps {
        if step.position == 0 {
            history.clear();
        }
        history.push(&step.input);
        let code: Vec<i64> = (0..held)
            .flat_map(|back| {
                let index = history.len().checked_sub(1 + back);
                match index {
                    Some(i) => history[i].to_vec(),
                    None => origin.clone(),
                }
            })
            .collect();
        codes[step.after] = code;
    }
    Ok(Ok(codes))
}
