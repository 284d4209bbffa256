//! Sequence models: from a whole-model graph to a recurrent cell `(x_t, h) -> (y_t, h')`.
//!
//! Two routes lead to a cell. [`roll_recurrent`] takes a model imported at sequence length 1
//! whose recurrence is held by ONNX recurrent ops (`RNN`, `GRU`, `LSTM`, `Scan`) and writes one
//! step of each in primitive ops. [`reroll_unrolled`] takes a model whose exporter unrolled the
//! loop over all time steps and finds the repeated step again.
//!
//! Invariant: both return a cell whose step graph holds no recurrent op, whose state inputs and
//! outputs have equal types, whose weights are constants and which has no dead node.

mod activation;
mod emit;
mod recurrent;
mod roll;
mod scan;
mod step_match;
mod template;
mod unrolled;

use crate::diag::{Diagnose, Location};
use crate::network::{Cell, Graph};

/// Why a graph could not be turned into a cell.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct RollError {
    pub message: String,
    pub location: Location,
}

impl Diagnose for RollError {
    fn location(&self) -> Location {
        self.location.clone()
    }
}

/// Turns a model imported at sequence length 1 that contains recurrent ops (`RNN`, `GRU`,
/// `LSTM`, `Scan`) into a cell.
///
/// `step` has one input `x` (`[1, 1, d]`) and one output `y`. The cell reads `x_t` = `x` and
/// returns `y_t` = `y`; each recurrent node adds its states in node order (`h`, then `c` for
/// `LSTM`, the loop states for `Scan`), initialised from its constant initial-state operands
/// (zeros when absent). All recurrent nodes must run the same way: forward, or all in reverse.
///
/// Errors, located at the offending node: no recurrent node, a bidirectional layer or layers in
/// opposite directions, a non-constant initial state or weight, an activation the primitive ops
/// cannot express (`ThresholdedRelu`, `Softplus`), operands whose shapes do not fit length 1.
pub fn roll_recurrent(step: &Graph) -> Result<Cell, RollError> {
    roll::roll_recurrent(step)
}

/// Finds the repeated step of a model unrolled over time and rolls it into a cell.
///
/// `full` has one input `x` (`[1, T, d]`, `T >= 2`) read only through per-step slices along
/// axis 1 (`Gather` with a constant index, or a `Slice` of length 1), and one output `y`, a
/// `Concat` along axis 1 of `T` per-step parts. Step 1 is the template of the cell; every step
/// must be structurally identical to it (same ops, attributes, constant operands and wiring),
/// step 0 reading constant initial values where later steps read the previous step's state,
/// and the last step may omit the computation of states nobody reads. Nodes that depend on no
/// slice of `x` are folded to constants first (with the reference interpreter).
///
/// Errors name the step and the node that differ and say why, or the part of the graph that
/// does not have the expected shape; nothing is guessed.
pub fn reroll_unrolled(full: &Graph) -> Result<Cell, RollError> {
    unrolled::reroll_unrolled(full)
}
