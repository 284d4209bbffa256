//! The network IR: a trained network as a graph of tensor operations with ONNX semantics.
//!
//! # Shape of the IR
//! A [`Graph`] is a list of [`Node`]s in topological order over an arena of [`Value`]s. Every value
//! has a static [`TensorType`] (element type and concrete shape): the importer binds every symbolic
//! dimension (the batch dimension is always bound to 1, the sequence length to the model's length)
//! and folds shape arithmetic (`Shape`, `ConstantOfShape`, ...) away, so no value's shape depends on
//! run-time data. A value is defined exactly once: as a graph input, as a constant (initialiser or
//! folded value), or as one output of one node.
//!
//! A [`Network`] is either *pointwise* (one graph mapping the inputs of one example to its outputs)
//! or a *sequence* model, held as a recurrent [`Cell`]: a step graph `(x_t, h) -> (y_t, h_next)`,
//! the initial state, the sequence length and the direction of the loop over time.
//!
//! # Evaluation order
//! Nodes run in list order; a node reads only graph inputs, constants and outputs of earlier nodes.
//! Operator semantics are those of the ONNX operator specification (opset 17 and later), restricted
//! to the attributes recorded in [`Op`]. Element types are `f32`, `i64` and `bool` (ONNX int32, int8
//! and similar integer types are widened to `i64` on import).
//!
//! # Scoping
//! A `Scan` body is a nested [`Graph`] with its own value arena; it cannot read values of the outer
//! graph except through its declared inputs (the importer turns implicit outer captures into
//! constants, or refuses them).
//!
//! # What `validate` enforces
//! See [`validate::validate_graph`]: handles in range, topological order, single definition, operand
//! counts per op, and for a cell step graph: no recurrent ops and state shapes preserved.

pub mod infer;
pub mod interp;
pub mod prune;
pub mod shape;
pub mod text;
pub mod validate;

use ndarray::ArrayD;

/// Element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    F32,
    I64,
    Bool,
}

/// The static type of a value: element type and concrete shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl TensorType {
    /// Number of elements (product of the shape; 1 for a scalar).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A concrete tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum Tensor {
    F32(ArrayD<f32>),
    I64(ArrayD<i64>),
    Bool(ArrayD<bool>),
}

impl Tensor {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Tensor::F32(_) => DType::F32,
            Tensor::I64(_) => DType::I64,
            Tensor::Bool(_) => DType::Bool,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            Tensor::F32(a) => a.shape(),
            Tensor::I64(a) => a.shape(),
            Tensor::Bool(a) => a.shape(),
        }
    }

    /// The static type of this tensor.
    pub fn ty(&self) -> TensorType {
        TensorType {
            dtype: self.dtype(),
            shape: self.shape().to_vec(),
        }
    }
}

/// Handle of a value in a graph's value arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

/// Handle of a node in a graph's node list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueDef {
    /// The `i`-th input of the graph.
    Input(usize),
    /// A constant: an initialiser or a folded value.
    Const(Tensor),
    /// Output number `.1` of node `.0`.
    Node(NodeId, usize),
}

/// A value: a name (from the model; may be any text, never trusted), its type and its definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub name: String,
    pub ty: TensorType,
    pub def: ValueDef,
}

/// One operation. `inputs` are in ONNX order; an absent optional input is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's name in the model (possibly empty), used in diagnostics only.
    pub name: String,
    pub op: Op,
    pub inputs: Vec<Option<ValueId>>,
    pub outputs: Vec<ValueId>,
}

/// A dataflow graph with static shapes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    pub values: Vec<Value>,
    pub nodes: Vec<Node>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
}

impl Graph {
    /// The value behind a handle. Panics on a handle from another graph (a programming error).
    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.0 as usize]
    }

    /// The node behind a handle.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// Appends a value and returns its handle.
    pub fn add_value(&mut self, name: impl Into<String>, ty: TensorType, def: ValueDef) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(Value {
            name: name.into(),
            ty,
            def,
        });
        id
    }

    /// Appends a constant value.
    pub fn add_const(&mut self, name: impl Into<String>, tensor: Tensor) -> ValueId {
        let ty = tensor.ty();
        self.add_value(name, ty, ValueDef::Const(tensor))
    }

    /// Appends a node whose outputs have the given names and types; returns the output handles.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        outputs: Vec<(String, TensorType)>,
    ) -> Vec<ValueId> {
        let node_id = NodeId(self.nodes.len() as u32);
        let ids: Vec<ValueId> = outputs
            .into_iter()
            .enumerate()
            .map(|(i, (n, ty))| self.add_value(n, ty, ValueDef::Node(node_id, i)))
            .collect();
        self.nodes.push(Node {
            name: name.into(),
            op,
            inputs,
            outputs: ids.clone(),
        });
        ids
    }

    /// The constant tensor of a value, if it is a constant.
    pub fn constant(&self, id: ValueId) -> Option<&Tensor> {
        match &self.value(id).def {
            ValueDef::Const(t) => Some(t),
            ValueDef::Input(_) | ValueDef::Node(..) => None,
        }
    }
}

/// Direction of a recurrent layer, as in the ONNX `direction` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Forward,
    Reverse,
    Bidirectional,
}

/// An activation function allowed inside ONNX `RNN`, `GRU` and `LSTM`, with its `alpha`/`beta`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    Affine { alpha: f32, beta: f32 },
    LeakyRelu { alpha: f32 },
    ThresholdedRelu { alpha: f32 },
    ScaledTanh { alpha: f32, beta: f32 },
    HardSigmoid { alpha: f32, beta: f32 },
    Elu { alpha: f32 },
    Softsign,
    Softplus,
}

/// Attributes shared by the ONNX recurrent ops.
///
/// `activations` holds the list for all directions, as ONNX orders it (for `LSTM`: f, g, h per
/// direction; for `GRU`: f, g; for `RNN`: f), already filled with the op's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RecurrentAttrs {
    pub hidden_size: usize,
    pub direction: Direction,
    pub activations: Vec<Activation>,
    /// Cell clip threshold; `None` when absent.
    pub clip: Option<f32>,
    /// `layout = 1` means batch-major inputs and outputs.
    pub batch_major: bool,
}

/// Attributes of ONNX `Scan` (opset 9 and later).
#[derive(Debug, Clone, PartialEq)]
pub struct ScanAttrs {
    pub body: Box<Graph>,
    pub num_scan_inputs: usize,
    /// Axis of each scan input (already made non-negative).
    pub scan_input_axes: Vec<usize>,
    /// True for each scan input that is read back to front.
    pub scan_input_reverse: Vec<bool>,
    /// Axis of each scan output (already made non-negative).
    pub scan_output_axes: Vec<usize>,
    /// True for each scan output that is written back to front.
    pub scan_output_reverse: Vec<bool>,
}

/// The operations of the network IR. Attribute values are resolved at import: negative axes are
/// made non-negative, defaults filled in, constant operands that ONNX passes as inputs (Reshape's
/// shape, Slice's bounds, Squeeze's axes, ...) moved into the op.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `alpha * A' B' + beta * C` with `A' = A^T` if `trans_a`, likewise for B.
    Gemm {
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    },
    /// numpy `matmul` semantics (batched, broadcast).
    MatMul,
    /// Elementwise with numpy broadcasting.
    Add,
    Sub,
    Mul,
    /// Elementwise division; integer division truncates toward zero as in ONNX.
    Div,
    Neg,
    Abs,
    Exp,
    Relu,
    Tanh,
    Sigmoid,
    /// Element type conversion (ONNX `Cast`); float to int truncates toward zero.
    Cast {
        to: DType,
    },
    Concat {
        axis: usize,
    },
    /// numpy `take` along `axis`; negative indices count from the end.
    Gather {
        axis: usize,
    },
    /// One entry per sliced axis, bounds already clamped to the input shape.
    Slice {
        starts: Vec<i64>,
        ends: Vec<i64>,
        axes: Vec<usize>,
        steps: Vec<i64>,
    },
    /// Row-major reshape to a fully resolved shape.
    Reshape {
        shape: Vec<usize>,
    },
    Transpose {
        perm: Vec<usize>,
    },
    /// Removes the listed axes (each of size 1).
    Squeeze {
        axes: Vec<usize>,
    },
    /// Inserts size-1 axes at the listed positions of the output.
    Unsqueeze {
        axes: Vec<usize>,
    },
    Identity,
    Softmax {
        axis: usize,
    },
    ArgMax {
        axis: usize,
        keepdims: bool,
        select_last_index: bool,
    },
    /// ONNX `RNN`: inputs X, W, R, B, sequence_lens, initial_h; outputs Y, Y_h.
    Rnn(RecurrentAttrs),
    /// ONNX `GRU`: inputs as `RNN`; outputs Y, Y_h.
    Gru {
        attrs: RecurrentAttrs,
        linear_before_reset: bool,
    },
    /// ONNX `LSTM`: inputs X, W, R, B, sequence_lens, initial_h, initial_c, P; outputs Y, Y_h, Y_c.
    Lstm {
        attrs: RecurrentAttrs,
        input_forget: bool,
    },
    /// ONNX `Scan`: inputs are the initial states then the scan inputs; outputs are the final
    /// states then the scan outputs.
    Scan(ScanAttrs),
}

impl Op {
    /// The ONNX operator name, for diagnostics and the text form.
    pub fn onnx_name(&self) -> &'static str {
        match self {
            Op::Gemm { .. } => "Gemm",
            Op::MatMul => "MatMul",
            Op::Add => "Add",
            Op::Sub => "Sub",
            Op::Mul => "Mul",
            Op::Div => "Div",
            Op::Neg => "Neg",
            Op::Abs => "Abs",
            Op::Exp => "Exp",
            Op::Relu => "Relu",
            Op::Tanh => "Tanh",
            Op::Sigmoid => "Sigmoid",
            Op::Cast { .. } => "Cast",
            Op::Concat { .. } => "Concat",
            Op::Gather { .. } => "Gather",
            Op::Slice { .. } => "Slice",
            Op::Reshape { .. } => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Squeeze { .. } => "Squeeze",
            Op::Unsqueeze { .. } => "Unsqueeze",
            Op::Identity => "Identity",
            Op::Softmax { .. } => "Softmax",
            Op::ArgMax { .. } => "ArgMax",
            Op::Rnn(_) => "RNN",
            Op::Gru { .. } => "GRU",
            Op::Lstm { .. } => "LSTM",
            Op::Scan(_) => "Scan",
        }
    }

    /// The recurrence over a whole sequence this op runs, or `None` for an op that computes
    /// within one step.
    pub fn recurrence(&self) -> Option<Recurrence<'_>> {
        match self {
            Op::Rnn(attrs) => Some(Recurrence::Layer(RecurrentLayer::Rnn(attrs))),
            Op::Gru {
                attrs,
                linear_before_reset,
            } => Some(Recurrence::Layer(RecurrentLayer::Gru {
                attrs,
                linear_before_reset: *linear_before_reset,
            })),
            Op::Lstm {
                attrs,
                input_forget,
            } => Some(Recurrence::Layer(RecurrentLayer::Lstm {
                attrs,
                input_forget: *input_forget,
            })),
            Op::Scan(attrs) => Some(Recurrence::Scan(attrs)),
            Op::Gemm { .. }
            | Op::MatMul
            | Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Neg
            | Op::Abs
            | Op::Exp
            | Op::Relu
            | Op::Tanh
            | Op::Sigmoid
            | Op::Cast { .. }
            | Op::Concat { .. }
            | Op::Gather { .. }
            | Op::Slice { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Squeeze { .. }
            | Op::Unsqueeze { .. }
            | Op::Identity
            | Op::Softmax { .. }
            | Op::ArgMax { .. } => None,
        }
    }

    /// True for the ops that run a recurrence over a whole sequence.
    pub fn is_recurrent(&self) -> bool {
        self.recurrence().is_some()
    }
}

/// A recurrence over a whole sequence, as [`Op::recurrence`] reads it from an op.
#[derive(Debug, Clone, Copy)]
pub enum Recurrence<'a> {
    /// `RNN`, `GRU` or `LSTM`.
    Layer(RecurrentLayer<'a>),
    /// `Scan`.
    Scan(&'a ScanAttrs),
}

/// An ONNX recurrent layer with its op-specific attributes.
#[derive(Debug, Clone, Copy)]
pub enum RecurrentLayer<'a> {
    Rnn(&'a RecurrentAttrs),
    Gru {
        attrs: &'a RecurrentAttrs,
        linear_before_reset: bool,
    },
    Lstm {
        attrs: &'a RecurrentAttrs,
        input_forget: bool,
    },
}

impl<'a> RecurrentLayer<'a> {
    /// The attributes all three layers share.
    pub fn attrs(&self) -> &'a RecurrentAttrs {
        match *self {
            RecurrentLayer::Rnn(attrs)
            | RecurrentLayer::Gru { attrs, .. }
            | RecurrentLayer::Lstm { attrs, .. } => attrs,
        }
    }

    /// Number of gates stacked in `W`, `R` and each half of `B`.
    pub fn gates(&self) -> usize {
        match self {
            RecurrentLayer::Rnn(_) => 1,
            RecurrentLayer::Gru { .. } => 3,
            RecurrentLayer::Lstm { .. } => 4,
        }
    }

    /// Number of activations per direction.
    pub fn activation_count(&self) -> usize {
        match self {
            RecurrentLayer::Rnn(_) => 1,
            RecurrentLayer::Gru { .. } => 2,
            RecurrentLayer::Lstm { .. } => 3,
        }
    }
}

/// Direction of the loop over time of a sequence model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeDirection {
    /// Steps run from `t = 0` to `t = T - 1`.
    Forward,
    /// Steps run from `t = T - 1` down to `t = 0`; output `t` is still stored at position `t`.
    Reverse,
}

/// A recurrent cell: one step of a sequence model.
///
/// `step.inputs` is `[x_t, h_1, ..., h_k]` and `step.outputs` is `[y_t, h_1', ..., h_k']`:
/// `x_t` holds the `input_dim` features of one time step and `y_t` the `output_dim` outputs (in
/// row-major order, whatever their shapes); state `i` keeps its type from step to step and starts
/// at `init[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub step: Graph,
    pub init: Vec<Tensor>,
    pub direction: TimeDirection,
}

impl Cell {
    /// Number of state tensors.
    pub fn state_count(&self) -> usize {
        self.init.len()
    }
}

/// A whole network, as the rest of the pipeline sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Network {
    /// Inputs `[1, ...]` of one example to outputs `[1, ...]`, independently per example.
    Pointwise(Graph),
    /// `x` of shape `[N, T, input_dim]` to `y` of shape `[N, T, output_dim]`.
    Sequence(SequenceModel),
}

/// A sequence model held as a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceModel {
    pub cell: Cell,
    /// The sequence length the model was imported at (the cell itself runs at any length).
    pub length: usize,
    pub input_dim: usize,
    pub output_dim: usize,
    /// Element type of `x` (`F32` or `I64`).
    pub input_dtype: DType,
    /// Element type of `y`.
    pub output_dtype: DType,
}
