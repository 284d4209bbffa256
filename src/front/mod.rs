//! Front ends: reading models into the network IR.
//!
//! `onnx` decodes an ONNX file into one whole-model [`crate::network::Graph`] with static shapes;
//! `sequence` turns a whole sequence model into a recurrent [`crate::network::Cell`].

pub mod metadata;
pub mod onnx;
pub mod sequence;
