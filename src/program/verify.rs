//! The program verifier: definition before use and types.

use super::Program;

/// A broken invariant of the program IR.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid program: {message}")]
pub struct VerifyError {
    pub message: String,
}

/// Checks the invariants listed in the module doc of [`crate::program`].
pub fn verify(_program: &Program) -> Result<(), VerifyError> {
    unimplemented!("program verifier: stub")
}
