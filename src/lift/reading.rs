//! The contract of a reading of the hidden state, and what readings share.
//!
//! A reading looks at the traced network ([`Context`]) and either finds candidate programs
//! ([`Found`]: exact formulas over integer coordinates it read off the hidden states, or a
//! transition table) or gives the note, for the report, that says why it found none. Readings are
//! rows of the table [`super::READINGS`] and are tried in its order; each sees the candidates of
//! the readings before it, which decide whether it applies and bound its search (a later
//! candidate wins only when it is strictly smaller).

use std::cell::OnceCell;

use crate::network::interp::InterpError;
use crate::network::{SequenceModel, TimeDirection};
use crate::program::{LoopDirection, Program};

use super::finite::Machine;
use super::regress;
use super::solve::{solve, Solution};
use super::trace::Trace;
use super::write::{write_formula_program, write_table_program, Naming};
use super::LiftOptions;

/// One way of reading the hidden state: a row of [`super::READINGS`].
pub struct Reading {
    /// The report's coding when one of its candidates wins; its notes start with it.
    pub name: &'static str,
    /// Whether the reading is tried, given the candidates of the readings before it.
    pub applies: fn(&Context, &[Candidate]) -> bool,
    /// Reads the state; sees the candidates of the readings before it.
    pub read: fn(&Context, &[Candidate]) -> Outcome,
}

impl Reading {
    pub const fn new(
        name: &'static str,
        applies: fn(&Context, &[Candidate]) -> bool,
        read: fn(&Context, &[Candidate]) -> Outcome,
    ) -> Self {
        Reading {
            name,
            applies,
            read,
        }
    }
}

/// What a reading gives: its candidates (the earlier wins a tie), or the report's note saying why
/// it found none. Errors: the interpreter's, while probing the network.
pub type Outcome = Result<Result<Vec<Found>, String>, InterpError>;

/// For [`Reading::applies`]: the reading is always tried.
pub fn always(_: &Context, _: &[Candidate]) -> bool {
    true
}

/// For [`Reading::applies`]: the reading is tried only when no reading before it found a
/// candidate.
pub fn when_nothing_found(_: &Context, candidates: &[Candidate]) -> bool {
    candidates.is_empty()
}

/// What every reading reads: the network, its trace and the input domain.
pub struct Context<'a> {
    pub model: &'a SequenceModel,
    pub trace: &'a Trace,
    /// The traced sequences, `T * d` integer inputs each, step-major.
    pub sequences: &'a [Vec<i64>],
    /// The `(lo, hi)` of every input feature.
    pub bounds: &'a [(i64, i64)],
    pub options: &'a LiftOptions,
    /// The trace read as a finite machine, or why it is not one; set by the first reading that
    /// reads it ([`super::machine::read_machine`]), and kept for those after it.
    pub machine: OnceCell<Result<Machine, String>>,
}

impl<'a> Context<'a> {
    pub fn new(
        model: &'a SequenceModel,
        trace: &'a Trace,
        sequences: &'a [Vec<i64>],
        bounds: &'a [(i64, i64)],
        options: &'a LiftOptions,
    ) -> Self {
        Context {
            model,
            trace,
            sequences,
            bounds,
            options,
            machine: OnceCell::new(),
        }
    }

    /// Steps per traced sequence.
    pub fn sequence_length(&self) -> usize {
        let d = self.model.input_dim.max(1);
        self.sequences.first().map_or(0, |s| s.len() / d)
    }

    /// The direction the lifted program's loop runs in: the cell's.
    pub fn direction(&self) -> LoopDirection {
        match self.model.cell.direction {
            TimeDirection::Forward => LoopDirection::Forward,
            TimeDirection::Reverse => LoopDirection::Reverse,
        }
    }

    /// Solves the coordinates `codes` of every traced state ([`solve`]) within the candidates so
    /// far ([`Context::regress_within`]); the error is the note `"{reading}: {why}"`.
    pub fn solve_within(
        &self,
        reading: &str,
        candidates: &[Candidate],
        codes: &[Vec<i64>],
    ) -> Result<Solution, String> {
        let options = self.regress_within(candidates, &[]);
        solve(self.trace, codes, Some(&options)).map_err(|why| format!("{reading}: {}", why.0))
    }

    /// The regression limits for a reading that must beat every candidate so far and those it
    /// found itself (`own`): a program smaller than the smallest candidate has no formula of that
    /// size or more, so none is sought. This only saves time: the smallest candidate wins either
    /// way, and the earlier one on a tie.
    pub fn regress_within(&self, candidates: &[Candidate], own: &[Found]) -> regress::Options {
        let mut bounded = self.options.regress.clone();
        let smallest = candidates
            .iter()
            .map(|c| c.found.size())
            .chain(own.iter().map(Found::size))
            .min();
        if let Some(best) = smallest {
            bounded.max_size = bounded.max_size.min(best.saturating_sub(1));
        }
        bounded
    }
}

/// A candidate program, before it is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// Exact formulas over integer coordinates, with the coordinates named as `naming` says.
    Formulas { solution: Solution, naming: Naming },
    /// A finite machine with no short formulas, written as its transition table.
    Table(Machine),
}

impl Found {
    /// Size in expression nodes: the formulas'; none for a table.
    pub fn size(&self) -> usize {
        match self {
            Found::Formulas { solution, .. } => solution.size,
            Found::Table(_) => 0,
        }
    }

    /// Number of state variables of the written program.
    pub fn state_variables(&self) -> usize {
        match self {
            Found::Formulas { solution, .. } => solution.kept.len(),
            Found::Table(_) => 1,
        }
    }

    /// Writes the program.
    pub fn write(&self, context: &Context) -> Program {
        let model = context.model;
        match self {
            Found::Formulas { solution, naming } => {
                write_formula_program(solution, model.input_dim, context.direction(), *naming)
            }
            Found::Table(machine) => write_table_program(
                machine,
                context.bounds,
                model.output_dim,
                context.direction(),
            ),
        }
    }
}

/// What a reading found, under the reading's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub reading: &'static str,
    pub found: Found,
}

/// The input that stands for "nothing yet": zero where the domain has it, else the bound nearest
/// zero, per feature.
pub fn origin_inputs(ranges: &[(i64, i64)]) -> Vec<i64> {
    ranges.iter().map(|&(lo, hi)| 0.clamp(lo, hi)).collect()
}
