//! Static type inference for network IR ops: output element types and shapes from operand types.

use super::{Op, TensorType};

/// The output types of `op` applied to operands of the given types (`None` for an absent
/// optional input), for `n_outputs` outputs; `Err` with a message when the operands do not fit.
pub fn infer_types(
    _op: &Op,
    _inputs: &[Option<&TensorType>],
    _n_outputs: usize,
) -> Result<Vec<TensorType>, String> {
    unimplemented!("type inference: stub")
}
