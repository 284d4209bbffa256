//! ONNX import: protobuf bytes to a whole-model network IR graph with static shapes.
//!
//! Invariant: this is the only module that names protobuf types.
//!
//! # Code map
//! - `decode`: tensors and declared types, with size limits checked before allocation.
//! - `attrs`: typed attribute getters whose errors name the node.
//! - `scope`: the graph under construction and the names visible in it.
//! - `assemble`: a graph's nodes in order, resolved, converted, typed and folded; `Scan` bodies.
//! - `fold`: import-only ops (`Constant`, `Shape`, `ConstantOfShape`, ...) evaluated away.
//! - `ops`, `recurrent`, `scan`: ONNX nodes to network IR ops, by op family.
//!
//! # Binding
//! Axis 0 of every graph input is the batch axis and is bound to 1. Axis 1 of a rank-3 input is
//! the time axis, bound to [`ImportOptions::length`] when given, else to its declared value or,
//! when that is symbolic, to the model's `nn2py.length` metadata ([`LENGTH_METADATA_KEY`]).
//! Every other dimension must be fixed. Shapes are then static, so shape arithmetic folds away.

mod assemble;
mod attrs;
mod decode;
mod fold;
mod ops;
mod recurrent;
mod scan;
mod scope;

use std::collections::BTreeMap;

use prost::Message;
use tract_onnx::pb::{GraphProto, ModelProto, ValueInfoProto};

use crate::front::metadata::LENGTH_METADATA_KEY;

use crate::diag::{Diagnose, Location};
use crate::network::prune::prune_unused;
use crate::network::{Graph, TensorType};
use scope::{ImportCx, Scope};

/// Caps that keep hostile input from exhausting memory or time. Each is checked before the work
/// it bounds, and going over one is an [`ImportError`] that names the limit and the command-line
/// flag that raises it.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest accepted model file, in bytes (`--max-model-bytes`).
    pub max_model_bytes: usize,
    /// Largest number of elements of any one tensor, declared or computed
    /// (`--max-tensor-elements`).
    pub max_tensor_elements: usize,
    /// Largest number of nodes, counting nested graphs (`--max-nodes`).
    pub max_nodes: usize,
    /// Longest chain of dependent nodes in the imported graph (`--max-graph-depth`): later
    /// stages nest one expression level per node, so this bounds their recursion.
    pub max_graph_depth: usize,
    /// Largest sequence length (time axis) a model is bound to, from `--length`, the
    /// `nn2py.length` metadata or the declared shape (`--max-sequence-length`).
    pub max_sequence_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_model_bytes: 256 << 20,
            max_tensor_elements: 16 << 20,
            max_nodes: 100_000,
            max_graph_depth: 2_000,
            max_sequence_length: 10_000,
        }
    }
}

/// How to bind the model's dimensions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportOptions {
    /// Binds axis 1 (the time axis) of every rank-3 input; required when it is symbolic and the
    /// model has no `nn2py.length` metadata.
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
///
/// Binds the batch axis of every input to 1 and the time axis of rank-3 inputs as
/// [`ImportOptions::length`] says (see the module documentation), types every node with
/// [`crate::network::infer::infer_types`], folds every node whose operands are constants, and
/// drops nodes whose outputs are unused. Errors: malformed or oversized files, unsupported
/// element types or operators, symbolic dimensions other than batch and time, shape mismatches,
/// each located at the node or value concerned. Never panics on bad input.
pub fn import(bytes: &[u8], options: &ImportOptions) -> Result<ImportedModel, ImportError> {
    let limits = &options.limits;
    if bytes.len() > limits.max_model_bytes {
        return Err(whole(format!(
            "the model file is {} bytes, more than the limit of {} bytes (raise it with \
             --max-model-bytes)",
            bytes.len(),
            limits.max_model_bytes
        )));
    }
    if bytes.is_empty() {
        return Err(whole("malformed ONNX: the file is empty".to_string()));
    }
    let model = ModelProto::decode(bytes).map_err(|e| whole(format!("malformed ONNX: {e}")))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| whole("malformed ONNX: the model holds no graph".to_string()))?;
    let opset = model
        .opset_import
        .iter()
        .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .max()
        .ok_or_else(|| {
            whole("malformed ONNX: the model imports no default-domain opset".to_string())
        })?;
    let nodes = count_nodes(graph);
    if nodes > limits.max_nodes {
        return Err(whole(format!(
            "the model has {nodes} nodes (counting nested graphs), more than the limit of {} \
             (raise it with --max-nodes)",
            limits.max_nodes
        )));
    }

    let cx = ImportCx {
        limits: limits.clone(),
        opset,
        depth: 0,
    };
    let mut scope = Scope::new(cx, None)?;
    scope.add_initializers(&graph.initializer)?;
    let metadata_length = model
        .metadata_props
        .iter()
        .find(|p| p.key == LENGTH_METADATA_KEY)
        .map(|p| p.value.as_str());
    let mut inputs = Vec::new();
    for info in &graph.input {
        // A graph input that is also an initialiser is a constant with a default value.
        if graph.initializer.iter().any(|t| t.name == info.name) {
            continue;
        }
        let (declared, ty) = bind_input(info, options, metadata_length)?;
        scope.add_input(&info.name, ty, &Location::Value(info.name.clone()))?;
        inputs.push(declared);
    }
    assemble::import_nodes(&mut scope, &graph.node)?;
    let mut outputs = Vec::new();
    for info in &graph.output {
        let location = Location::Value(info.name.clone());
        let id = scope.resolve(&info.name, &location)?;
        outputs.push(check_output(
            info,
            scope.graph.value(id).ty.clone(),
            options,
        )?);
        scope.graph.outputs.push(id);
    }
    Ok(ImportedModel {
        graph: prune_unused(scope.graph),
        inputs,
        outputs,
        metadata: model
            .metadata_props
            .iter()
            .map(|p| (p.key.clone(), p.value.clone()))
            .collect(),
        producer_name: model.producer_name.clone(),
        opset,
    })
}

/// The `nn2py.length` metadata as a positive integer; anything else is an error naming the key.
fn parse_length(text: &str) -> Result<usize, ImportError> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|&l| l > 0)
        .ok_or_else(|| {
            whole(format!(
                "the metadata {LENGTH_METADATA_KEY} is \"{}\", not a positive integer",
                text.escape_debug()
            ))
        })
}

fn whole(message: String) -> ImportError {
    ImportError {
        message,
        location: Location::Unknown,
    }
}

/// Nodes of `graph` and of every graph nested in its attributes.
fn count_nodes(graph: &GraphProto) -> usize {
    graph.node.iter().fold(graph.node.len(), |acc, node| {
        node.attribute.iter().fold(acc, |acc, attr| {
            let nested = attr.g.iter().chain(&attr.graphs);
            nested.fold(acc, |acc, g| acc.saturating_add(count_nodes(g)))
        })
    })
}

/// The declared dimensions of a model input and its bound type. A symbolic time axis with no
/// [`ImportOptions::length`] is bound to `metadata_length` (the `nn2py.length` metadata).
fn bind_input(
    info: &ValueInfoProto,
    options: &ImportOptions,
    metadata_length: Option<&str>,
) -> Result<(DeclaredTensor, TensorType), ImportError> {
    let location = Location::Value(info.name.clone());
    let what = format!("input \"{}\"", info.name.escape_debug());
    let fail = |message: String| ImportError {
        message,
        location: location.clone(),
    };
    let (code, dims) = decode::declared(info.r#type.as_ref())
        .ok_or_else(|| fail(format!("{what} has no tensor type")))?;
    let dims = dims.ok_or_else(|| fail(format!("{what} has no declared shape")))?;
    let dtype = decode::dtype_of(code, &what, &location)?;
    let rank = dims.len();
    let mut shape = Vec::with_capacity(rank);
    for (axis, dim) in dims.iter().enumerate() {
        shape.push(match (axis, dim, options.length) {
            (0, _, _) => 1,
            (1, _, Some(length)) if rank == 3 => length,
            (_, Dim::Fixed(v), _) => *v,
            (1, Dim::Symbolic(s), None) if rank == 3 => match metadata_length {
                Some(text) => parse_length(text)?,
                None => {
                    return Err(fail(format!(
                        "{what} has a symbolic time axis (axis 1, \"{}\"); pass `--length` \
                         to bind it",
                        s.escape_debug()
                    )))
                }
            },
            (_, Dim::Symbolic(s), _) => {
                return Err(fail(format!(
                    "{what} has the symbolic dimension {axis} (\"{}\"); only the batch axis 0 \
                     and the time axis 1 of a rank-3 input (bound with `--length`) may be \
                     symbolic",
                    s.escape_debug()
                )))
            }
        });
    }
    if rank == 3 && shape[1] > options.limits.max_sequence_length {
        return Err(fail(format!(
            "{what} has sequence length {}, more than the limit of {} (raise it with \
             --max-sequence-length)",
            shape[1], options.limits.max_sequence_length
        )));
    }
    decode::checked_count(&shape, &options.limits, &what, &location)?;
    Ok((
        DeclaredTensor {
            name: info.name.clone(),
            dims,
        },
        TensorType { dtype, shape },
    ))
}

/// Checks a declared model output against its inferred type (batch axis excepted, and the time
/// axis of a rank-3 output when the length is rebound) and returns its declaration.
fn check_output(
    info: &ValueInfoProto,
    inferred: TensorType,
    options: &ImportOptions,
) -> Result<DeclaredTensor, ImportError> {
    let location = Location::Value(info.name.clone());
    let what = format!("output \"{}\"", info.name.escape_debug());
    let Some((code, dims)) = decode::declared(info.r#type.as_ref()) else {
        return Ok(DeclaredTensor {
            name: info.name.clone(),
            dims: Vec::new(),
        });
    };
    if code != 0 {
        let dtype = decode::dtype_of(code, &what, &location)?;
        if dtype != inferred.dtype {
            return Err(ImportError {
                message: format!(
                    "{what} is declared {dtype:?} but the graph computes {:?}",
                    inferred.dtype
                ),
                location,
            });
        }
    }
    let Some(dims) = dims else {
        return Ok(DeclaredTensor {
            name: info.name.clone(),
            dims: Vec::new(),
        });
    };
    let rank = inferred.shape.len();
    let fits = dims.len() == rank
        && dims.iter().enumerate().all(|(axis, d)| match d {
            Dim::Symbolic(_) => true,
            Dim::Fixed(_) if axis == 0 => true,
            Dim::Fixed(_) if axis == 1 && rank == 3 && options.length.is_some() => true,
            Dim::Fixed(v) => *v == inferred.shape[axis],
        });
    if !fits {
        return Err(ImportError {
            message: format!(
                "{what} is declared with shape {} but the graph computes {:?}",
                show_dims(&dims),
                inferred.shape
            ),
            location,
        });
    }
    Ok(DeclaredTensor {
        name: info.name.clone(),
        dims,
    })
}

fn show_dims(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(v) => v.to_string(),
            Dim::Symbolic(s) => format!("{:?}", s),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}
