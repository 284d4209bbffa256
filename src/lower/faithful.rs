//! Faithful lowering: the network's exact arithmetic written out as scalar expressions.

use crate::network::Network;
use crate::program::Program;

/// Why a network could not be lowered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct LowerError {
    pub message: String,
}

/// Lowers a network to an equivalent scalar program.
pub fn lower(_network: &Network) -> Result<Program, LowerError> {
    unimplemented!("faithful lowering: stub")
}
