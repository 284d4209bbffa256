//! Sequence models: from a whole-model graph to a recurrent cell `(x_t, h) -> (y_t, h')`.

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
pub fn roll_recurrent(_step: &Graph) -> Result<Cell, RollError> {
    unimplemented!("sequence rolling: stub")
}

/// Finds the repeated step of a model unrolled over time and rolls it into a cell.
pub fn reroll_unrolled(_full: &Graph) -> Result<Cell, RollError> {
    unimplemented!("sequence rolling: stub")
}
