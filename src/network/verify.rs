//! Structural verification of network IR graphs and networks.

use super::{Graph, Network};

/// A broken invariant of the network IR.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid network IR: {message}")]
pub struct VerifyError {
    pub message: String,
}

/// Checks a graph's structural invariants (see the module doc of [`crate::network`]).
pub fn verify_graph(_graph: &Graph) -> Result<(), VerifyError> {
    unimplemented!("network verifier: stub")
}

/// Checks a network: its graph(s), and for a sequence model the cell contract.
pub fn verify_network(_network: &Network) -> Result<(), VerifyError> {
    unimplemented!("network verifier: stub")
}
