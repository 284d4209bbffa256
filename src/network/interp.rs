//! Reference interpreter of the network IR, with ONNX operator semantics.
//!
//! This is the judge of every later stage: programs are verified against it, and tests check it
//! against onnxruntime on every fixture.

use std::fmt;

use super::{Graph, Network, Op, SequenceModel, Tensor};

/// An evaluation failure (bad operand types or shapes, out-of-range index, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct InterpError {
    pub message: String,
}

impl fmt::Display for InterpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InterpError {}

/// Evaluates one op on concrete operands (`None` for an absent optional input), producing
/// `n_outputs` outputs.
pub fn eval_op(
    _op: &Op,
    _inputs: &[Option<&Tensor>],
    _n_outputs: usize,
) -> Result<Vec<Tensor>, InterpError> {
    unimplemented!("network interpreter: stub")
}

/// Runs a graph on its inputs (in `graph.inputs` order) and returns its outputs.
pub fn run_graph(_graph: &Graph, _inputs: &[Tensor]) -> Result<Vec<Tensor>, InterpError> {
    unimplemented!("network interpreter: stub")
}

/// Runs a sequence model on `x` of shape `[1, T, input_dim]` (any `T >= 1`) and returns `y` of
/// shape `[1, T, output_dim]`.
pub fn run_sequence(_model: &SequenceModel, _x: &Tensor) -> Result<Tensor, InterpError> {
    unimplemented!("network interpreter: stub")
}

/// Runs a network on one example: the graph inputs for a pointwise network, `[x]` for a sequence.
pub fn run_network(_network: &Network, _inputs: &[Tensor]) -> Result<Vec<Tensor>, InterpError> {
    unimplemented!("network interpreter: stub")
}
