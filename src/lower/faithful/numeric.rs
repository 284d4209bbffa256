//! Element-type checks shared by the arithmetic, product and reduction lowerings.

use crate::network::DType;
use crate::program::Type;

use super::symbolic::{scalar_type, SymTensor};
use super::{malformed, unsupported, OpResult};

/// The scalar type of `dtype` when it supports arithmetic (`Int` or `Float`).
///
/// Errors (`Unsupported`) with "`{what} {dtype:?} tensors`", e.g. `what` = "negation of".
pub(super) fn numeric_type(dtype: DType, what: &str) -> OpResult<Type> {
    match scalar_type(dtype) {
        ty @ (Type::Int | Type::Float) => Ok(ty),
        Type::Bool => Err(unsupported(format!("{what} {dtype:?} tensors"))),
    }
}

/// The scalar type two operands share when it supports arithmetic.
///
/// Errors: `Malformed` when their element types differ, else as [`numeric_type`].
pub(super) fn common_numeric_type(a: &SymTensor, b: &SymTensor, what: &str) -> OpResult<Type> {
    if a.dtype != b.dtype {
        return Err(malformed(format!(
            "operands have element types {:?} and {:?}",
            a.dtype, b.dtype
        )));
    }
    numeric_type(a.dtype, what)
}
