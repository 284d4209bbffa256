//! The program interpreter: runs a program on scalars, with Python's semantics.

use super::Program;

/// A runtime scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A runtime failure (integer overflow, division by zero, index out of range, wrong arity).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("program failed: {message}")]
pub struct InterpError {
    pub message: String,
}

/// Runs a sequence program: `steps[t]` holds the features of step `t`; returns the outputs of
/// every step.
pub fn run_sequence(
    _program: &Program,
    _steps: &[Vec<Scalar>],
) -> Result<Vec<Vec<Scalar>>, InterpError> {
    unimplemented!("program interpreter: stub")
}

/// Runs a pointwise program: `arguments[i]` holds the features of argument `i`.
pub fn run_pointwise(
    _program: &Program,
    _arguments: &[Vec<Scalar>],
) -> Result<Vec<Scalar>, InterpError> {
    unimplemented!("program interpreter: stub")
}
