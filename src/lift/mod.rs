//! Lifting: from a recurrent network to the short program it implements.
//!
//! The cell is run over sequences drawn from the input domain ([`trace`]). The hidden states are
//! then read by each reading of [`READINGS`] in turn: every reading is one file that measures the
//! network its own way and either finds candidate programs or says why it found none
//! ([`reading`] holds the contract). Most readings read the state as integer coordinates, and
//! every coordinate's update and every output is then fitted by an exact formula over the
//! coordinates and the inputs ([`solve`], using [`linear`], [`argmax`] and [`regress`]). The
//! smallest candidate wins, the earlier one on a tie, and is written as a program ([`write`]).
//!
//! The readings, in order:
//! - [`lattice`]: an integer lattice spanned by the state's measured response to each input;
//! - [`window`]: a shift register of the inputs the output is measured to read;
//! - [`machine`]: a finite machine of clustered ([`finite`]) or probed ([`behaviour`]) states,
//!   completed off the network ([`complete`]), minimised, and numbered every way [`numbering`]
//!   knows;
//! - [`counts`]: a counter of each input value, when nothing before found formulas and the output
//!   ignores the order of the inputs;
//! - [`table`]: the finite machine's transition table, when nothing found formulas.
//!
//! A new reading is a file with a `READING` constant and one row of [`READINGS`]. [`pointwise`]
//! lifts networks without state (the driver calls it directly).
//!
//! Lifting reads outputs by rounding to the nearest integer: it is only used for networks whose
//! outputs are read that way (the driver's readout). The driver is the judge: a lifted program is
//! used only when it matches the network on every checked input; otherwise the faithful lowering is
//! used and the report says why lifting failed.

pub mod argmax;
pub mod behaviour;
pub mod complete;
pub mod counts;
pub mod finite;
pub mod lattice;
pub mod linear;
pub mod machine;
pub mod numbering;
pub mod pointwise;
pub mod reading;
pub mod regress;
pub mod solve;
pub mod table;
pub mod trace;
pub mod window;
pub mod write;

use serde::Serialize;

use crate::network::interp::InterpError;
use crate::network::SequenceModel;
use crate::program::Program;
use crate::verify::domain::Range;

use behaviour::BehaviourOptions;
use finite::FiniteOptions;
use lattice::LatticeOptions;
use reading::{Candidate, Context, Reading};
use trace::{draw_sequences, trace_sequences};
use window::WindowOptions;

/// The readings of the hidden state, in the order they are tried.
pub const READINGS: &[Reading] = &[
    lattice::READING,
    window::READING,
    machine::READING,
    counts::READING,
    table::READING,
];

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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LiftReport {
    /// True when the program is the lifted one (set by the driver after verification).
    pub lifted: bool,
    /// How the hidden state was read, when a program was lifted: the name of the reading whose
    /// candidate won (`"lattice"`, `"window"`, `"finite"`, `"counts"`, `"table"`), or the
    /// driver's `"formula"` for a pointwise network.
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
/// whose notes say why none did. Errors: the interpreter's, while tracing and probing.
pub fn lift_sequence(
    model: &SequenceModel,
    ranges: &[Range],
    options: &LiftOptions,
) -> Result<Result<Lifted, LiftReport>, InterpError> {
    let mut report = LiftReport::default();
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
    let context = Context::new(model, &trace, &sequences, &bounds, options);
    let mut candidates: Vec<Candidate> = Vec::new();
    for reading in READINGS {
        if !(reading.applies)(&context, &candidates) {
            continue;
        }
        match (reading.read)(&context, &candidates)? {
            Ok(found) => candidates.extend(found.into_iter().map(|found| Candidate {
                reading: reading.name,
                found,
            })),
            Err(note) => report.notes.push(note),
        }
    }
    // Smallest first; on a tie the earlier candidate wins.
    let Some(best) = candidates.into_iter().min_by_key(|c| c.found.size()) else {
        return Ok(Err(report));
    };
    report.coding = Some(best.reading.to_string());
    report.state_variables = best.found.state_variables();
    report.formula_nodes = best.found.size();
    let program = best.found.write(&context);
    Ok(Ok(Lifted { program, report }))
}
