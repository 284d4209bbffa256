//! Lowering: from the network IR to the program IR.
//!
//! Invariant: the only module that knows both IRs.

pub mod faithful;
pub mod readout;
