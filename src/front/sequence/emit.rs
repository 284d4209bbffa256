//! Writing cell graphs: a node builder that computes output types on the spot, value maps that
//! copy nodes from a source graph, and the states a cell collects while it is written.

use crate::diag::{Location, NodeRef};
use crate::network::shape::broadcast;
use crate::network::{DType, Graph, Node, Op, Tensor, TensorType, ValueDef, ValueId};

use super::RollError;

/// One state of the cell: its input, the value that becomes its output, and its initial value.
#[derive(Debug, Clone)]
pub(crate) struct StateSlot {
    pub input: ValueId,
    pub output: ValueId,
    pub init: Tensor,
}

/// Builds a graph node by node. Every method computes the output type itself, so the result
/// never depends on type inference; shape errors are reported at `location`.
pub(crate) struct Builder {
    pub graph: Graph,
    /// Where shape errors found while building are reported.
    pub location: Location,
}

impl Builder {
    /// An empty graph.
    pub fn new() -> Self {
        Builder {
            graph: Graph::default(),
            location: Location::Unknown,
        }
    }

    fn error(&self, message: String) -> RollError {
        RollError {
            message,
            location: self.location.clone(),
        }
    }

    /// The type of a value of the graph being built.
    pub fn ty(&self, id: ValueId) -> &TensorType {
        &self.graph.value(id).ty
    }

    /// Appends a graph input (its position is the current number of inputs).
    pub fn input(&mut self, name: impl Into<String>, ty: TensorType) -> ValueId {
        let position = self.graph.inputs.len();
        let id = self.graph.add_value(name, ty, ValueDef::Input(position));
        self.graph.inputs.push(id);
        id
    }

    /// Appends a constant.
    pub fn constant(&mut self, name: impl Into<String>, tensor: Tensor) -> ValueId {
        self.graph.add_const(name, tensor)
    }

    /// Appends a rank-0 `f32` constant.
    pub fn scalar(&mut self, name: impl Into<String>, value: f32) -> ValueId {
        let array = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[]), value);
        self.constant(name, Tensor::F32(array))
    }

    /// Appends a one-output node whose output (named like the node) has type `ty`.
    pub fn node(
        &mut self,
        name: &str,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        ty: TensorType,
    ) -> ValueId {
        let outputs = self
            .graph
            .add_node(name, op, inputs, vec![(name.to_string(), ty)]);
        outputs[0]
    }

    /// An elementwise op of one operand (the output has the operand's type).
    pub fn unary(&mut self, name: &str, op: Op, x: ValueId) -> ValueId {
        let ty = self.ty(x).clone();
        self.node(name, op, vec![Some(x)], ty)
    }

    /// An elementwise op of two operands with numpy broadcasting.
    pub fn binary(
        &mut self,
        name: &str,
        op: Op,
        a: ValueId,
        b: ValueId,
    ) -> Result<ValueId, RollError> {
        let (ta, tb) = (self.ty(a).clone(), self.ty(b).clone());
        if ta.dtype != tb.dtype {
            return Err(self.error(format!(
                "cannot build {name}: operands of types {:?} and {:?}",
                ta.dtype, tb.dtype
            )));
        }
        let shape = broadcast(&ta.shape, &tb.shape).map_err(|_| {
            self.error(format!(
                "cannot build {name}: shapes {:?} and {:?} do not broadcast",
                ta.shape, tb.shape
            ))
        })?;
        let ty = TensorType {
            dtype: ta.dtype,
            shape,
        };
        Ok(self.node(name, op, vec![Some(a), Some(b)], ty))
    }

    /// `a @ w^T (+ c)` for a row `a` of shape `[m, k]` and weights `w` of shape `[n, k]`.
    pub fn gemm_bt(
        &mut self,
        name: &str,
        a: ValueId,
        w: ValueId,
        c: Option<ValueId>,
    ) -> Result<ValueId, RollError> {
        let (ta, tw) = (self.ty(a).clone(), self.ty(w).clone());
        match (ta.shape.as_slice(), tw.shape.as_slice()) {
            ([m, k], [n, k2]) if k == k2 => {
                let ty = TensorType {
                    dtype: ta.dtype,
                    shape: vec![*m, *n],
                };
                let op = Op::Gemm {
                    alpha: 1.0,
                    beta: 1.0,
                    trans_a: false,
                    trans_b: true,
                };
                Ok(self.node(name, op, vec![Some(a), Some(w), c], ty))
            }
            _ => Err(self.error(format!(
                "cannot build {name}: Gemm of shapes {:?} and {:?}^T",
                ta.shape, tw.shape
            ))),
        }
    }

    /// A row-major reshape; the element counts must agree.
    pub fn reshape(
        &mut self,
        name: &str,
        x: ValueId,
        shape: Vec<usize>,
    ) -> Result<ValueId, RollError> {
        let tx = self.ty(x).clone();
        if tx.len() != shape.iter().product::<usize>() {
            return Err(self.error(format!(
                "cannot build {name}: reshape of {:?} to {shape:?}",
                tx.shape
            )));
        }
        let ty = TensorType {
            dtype: tx.dtype,
            shape: shape.clone(),
        };
        Ok(self.node(name, Op::Reshape { shape }, vec![Some(x)], ty))
    }

    /// Removes axis `axis` (of size 1).
    pub fn squeeze(&mut self, name: &str, x: ValueId, axis: usize) -> Result<ValueId, RollError> {
        let tx = self.ty(x).clone();
        if tx.shape.get(axis) != Some(&1) {
            return Err(self.error(format!(
                "cannot build {name}: axis {axis} of shape {:?} is not of size 1",
                tx.shape
            )));
        }
        let mut shape = tx.shape.clone();
        shape.remove(axis);
        let ty = TensorType {
            dtype: tx.dtype,
            shape,
        };
        let op = Op::Squeeze { axes: vec![axis] };
        Ok(self.node(name, op, vec![Some(x)], ty))
    }

    /// Inserts a size-1 axis at position `axis` of the output.
    pub fn unsqueeze(&mut self, name: &str, x: ValueId, axis: usize) -> Result<ValueId, RollError> {
        let tx = self.ty(x).clone();
        if axis > tx.shape.len() {
            return Err(self.error(format!(
                "cannot build {name}: axis {axis} out of range for shape {:?}",
                tx.shape
            )));
        }
        let mut shape = tx.shape.clone();
        shape.insert(axis, 1);
        let ty = TensorType {
            dtype: tx.dtype,
            shape,
        };
        let op = Op::Unsqueeze { axes: vec![axis] };
        Ok(self.node(name, op, vec![Some(x)], ty))
    }

    /// Makes a graph output of `id`, through an `Identity` when `id` is a graph input or a
    /// constant (a step output must be computed by a node).
    pub fn output(&mut self, id: ValueId) {
        let value = self.graph.value(id);
        let id = match &value.def {
            ValueDef::Input(_) | ValueDef::Const(_) => {
                let name = format!("{}/out", value.name);
                let ty = value.ty.clone();
                self.node(&name, Op::Identity, vec![Some(id)], ty)
            }
            ValueDef::Node(..) => id,
        };
        self.graph.outputs.push(id);
    }
}

/// How a node of a source graph is named in diagnostics.
pub(crate) fn node_ref(node: &Node) -> NodeRef {
    NodeRef {
        name: node.name.clone(),
        op_type: node.op.onnx_name().to_string(),
    }
}

/// A readable base name for the values created from node `index`: its own name, or the op and
/// position when it has none.
pub(crate) fn base_name(node: &Node, index: usize) -> String {
    if node.name.is_empty() {
        format!("{}{index}", node.op.onnx_name().to_lowercase())
    } else {
        node.name.clone()
    }
}

/// The value of a source graph behind `id`, or an error for a dangling handle.
pub(crate) fn source_value(src: &Graph, id: ValueId) -> Result<&crate::network::Value, RollError> {
    src.values.get(id.0 as usize).ok_or_else(|| RollError {
        message: format!("value handle {} is out of range", id.0),
        location: Location::Unknown,
    })
}

/// Maps the values of a source graph to values of the graph being built. Constants are copied
/// on first use; graph inputs and node outputs must have been mapped before they are read.
pub(crate) struct ValueMap {
    map: Vec<Option<ValueId>>,
    /// Prefix for the names of copied values (the enclosing node's name for a `Scan` body).
    prefix: String,
}

impl ValueMap {
    /// An empty map over `src`.
    pub fn new(src: &Graph, prefix: String) -> Self {
        ValueMap {
            map: vec![None; src.values.len()],
            prefix,
        }
    }

    /// Records that source value `from` is `to` in the graph being built.
    pub fn set(&mut self, from: ValueId, to: ValueId) {
        if let Some(slot) = self.map.get_mut(from.0 as usize) {
            *slot = Some(to);
        }
    }

    /// The already mapped image of `from`, if any.
    pub fn get(&self, from: ValueId) -> Option<ValueId> {
        self.map.get(from.0 as usize).copied().flatten()
    }

    /// A name for a copy of a source value.
    pub fn name(&self, src_name: &str) -> String {
        format!("{}{src_name}", self.prefix)
    }

    /// The image of source value `from`, copying it first when it is a constant.
    pub fn operand(
        &mut self,
        b: &mut Builder,
        src: &Graph,
        from: ValueId,
    ) -> Result<ValueId, RollError> {
        if let Some(to) = self.get(from) {
            return Ok(to);
        }
        let value = source_value(src, from)?;
        match &value.def {
            ValueDef::Const(t) => {
                let to = b.constant(self.name(&value.name), t.clone());
                self.set(from, to);
                Ok(to)
            }
            ValueDef::Input(_) | ValueDef::Node(..) => Err(RollError {
                message: format!(
                    "value \"{}\" is read before it is defined (the graph is not in topological order or reads an unexpected input)",
                    value.name.escape_debug()
                ),
                location: Location::Value(value.name.clone()),
            }),
        }
    }

    /// Copies a non-recurrent node of `src` into the graph being built, mapping its operands
    /// and its outputs.
    pub fn copy_node(
        &mut self,
        b: &mut Builder,
        src: &Graph,
        node: &Node,
    ) -> Result<(), RollError> {
        let mut inputs = Vec::with_capacity(node.inputs.len());
        for operand in &node.inputs {
            inputs.push(match operand {
                Some(id) => Some(self.operand(b, src, *id)?),
                None => None,
            });
        }
        let mut outputs = Vec::with_capacity(node.outputs.len());
        for &out in &node.outputs {
            let value = source_value(src, out)?;
            outputs.push((self.name(&value.name), value.ty.clone()));
        }
        let name = if node.name.is_empty() {
            String::new()
        } else {
            self.name(&node.name)
        };
        let new = b.graph.add_node(name, node.op.clone(), inputs, outputs);
        for (&from, to) in node.outputs.iter().zip(new) {
            self.set(from, to);
        }
        Ok(())
    }
}

/// The `f32` zeros of a shape.
pub(crate) fn zeros(shape: &[usize]) -> Tensor {
    Tensor::F32(ndarray::ArrayD::zeros(ndarray::IxDyn(shape)))
}

/// The type of an `f32` tensor of a shape.
pub(crate) fn f32_type(shape: &[usize]) -> TensorType {
    TensorType {
        dtype: DType::F32,
        shape: shape.to_vec(),
    }
}
