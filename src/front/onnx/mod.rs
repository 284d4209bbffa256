//! ONNX import: protobuf bytes to a whole-model network IR graph with static shapes.
//!
//! Invariant: this is the only module that names protobuf types.

use std::collections::BTreeMap;

use crate::diag::{Diagnose, Location};
use crate::network::Graph;

/// Caps that keep hostile input from exhausting memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest accepted model file, in bytes.
    pub max_model_bytes: usize,
    /// Largest number of elements of any one tensor (declared or computed).
    pub max_tensor_elements: usize,
    /// Largest number of nodes, counting nested graphs.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_model_bytes: 256 << 20,
            max_tensor_elements: 16 << 20,
            max_nodes: 100_000,
        }
    }
}

/// How to bind the model's dimensions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportOptions {
    /// Binds axis 1 (the time axis) of every rank-3 input; required when it is symbolic.
    pub length: Option<usize>,
    pub limits: Limits,
}

/// A declared dimension of a model input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    Fixed(usize),
    Symbolic(String),
}

/// A declared model input or output, as written in the model (before binding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredTensor {
    pub name: String,
    pub dims: Vec<Dim>,
}

/// The imported model.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedModel {
    /// The whole model for one example (batch bound to 1), shapes static, shape arithmetic folded.
    pub graph: Graph,
    pub inputs: Vec<DeclaredTensor>,
    pub outputs: Vec<DeclaredTensor>,
    /// `metadata_props` of the model.
    pub metadata: BTreeMap<String, String>,
    pub producer_name: String,
    /// The default-domain opset version.
    pub opset: i64,
}

/// Why a model could not be imported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ImportError {
    pub message: String,
    pub location: Location,
}

impl Diagnose for ImportError {
    fn location(&self) -> Location {
        self.location.clone()
    }
}

/// Decodes and imports an ONNX model.
pub fn import(_bytes: &[u8], _options: &ImportOptions) -> Result<ImportedModel, ImportError> {
    unimplemented!("ONNX import: stub")
}
