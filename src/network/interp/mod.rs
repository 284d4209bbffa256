//! Reference interpreter of the network IR, with ONNX operator semantics.
//!
//! This is the judge of every later stage: programs are verified against it, and tests check it
//! against onnxruntime on every fixture.
//!
//! [`eval_op`] evaluates one op on concrete tensors and never panics on bad operands: a wrong
//! element type, a shape that does not fit, an index out of range or an integer division by zero
//! is an [`InterpError`]. [`run_graph`] runs the nodes of a graph in list order and checks every
//! computed value against its declared static type, locating errors at the failing node.
//!
//! Integer arithmetic wraps on overflow (as numpy's does); float arithmetic is IEEE `f32`.

mod elementwise;
mod linalg;
mod recurrent;
mod reduce;
mod scan;
mod shape_ops;

use ndarray::{ArrayD, Axis, IxDyn};

use super::{
    DType, Graph, Network, Node, Op, SequenceModel, Tensor, TimeDirection, ValueDef, ValueId,
};
use crate::diag::{Diagnose, Location, NodeRef};

/// An evaluation failure (bad operand types or shapes, out-of-range index, ...), located at the
/// node that failed when it comes from [`run_graph`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct InterpError {
    /// What went wrong, prefixed with the failing op's ONNX name.
    pub message: String,
    /// The failing node ([`Location::Node`]) or value; [`Location::Unknown`] from [`eval_op`].
    pub location: Location,
}

impl InterpError {
    /// An unlocated error.
    pub fn new(message: impl Into<String>) -> Self {
        InterpError {
            message: message.into(),
            location: Location::Unknown,
        }
    }

    /// Locates the error at `node` unless it is already located (an error inside a `Scan` body
    /// keeps the innermost node).
    fn at_node(mut self, node: &Node) -> Self {
        if self.location == Location::Unknown {
            self.location = Location::Node(NodeRef {
                name: node.name.clone(),
                op_type: node.op.onnx_name().to_string(),
            });
        }
        self
    }
}

impl Diagnose for InterpError {
    fn location(&self) -> Location {
        self.location.clone()
    }
}

/// Shorthand for an unlocated error result.
fn fail<T>(message: impl Into<String>) -> Result<T, InterpError> {
    Err(InterpError::new(message))
}

/// An element type of [`Tensor`], for code generic over `f32`, `i64` and `bool`.
pub(crate) trait Element: Clone + Default + PartialEq + std::fmt::Debug + 'static {
    /// The element type's tag.
    const DTYPE: DType;
    /// The array inside `tensor`, if it holds this element type.
    fn array(tensor: &Tensor) -> Option<&ArrayD<Self>>;
    /// Wraps an array as a tensor.
    fn tensor(array: ArrayD<Self>) -> Tensor;
}

/// Implements [`Element`] for `$ty`, held by `Tensor::$variant` and tagged `DType::$variant`.
macro_rules! impl_element {
    ($ty:ty, $variant:ident) => {
        impl Element for $ty {
            const DTYPE: DType = DType::$variant;
            fn array(tensor: &Tensor) -> Option<&ArrayD<$ty>> {
                match tensor {
                    Tensor::$variant(a) => Some(a),
                    #[allow(unreachable_patterns)]
                    Tensor::F32(_) | Tensor::I64(_) | Tensor::Bool(_) => None,
                }
            }
            fn tensor(array: ArrayD<$ty>) -> Tensor {
                Tensor::$variant(array)
            }
        }
    };
}

impl_element!(f32, F32);
impl_element!(i64, I64);
impl_element!(bool, Bool);

/// Formats a shape as `[2, 3]` for messages.
fn shape_text(shape: &[usize]) -> String {
    format!("{shape:?}")
}

/// Reshapes an array (in row-major order) to `shape`, which must have the same element count.
fn reshape<T: Element>(array: &ArrayD<T>, shape: &[usize]) -> Result<ArrayD<T>, InterpError> {
    let count: usize = shape.iter().product();
    if count != array.len() {
        return fail(format!(
            "cannot reshape {} elements of shape {} to {}",
            array.len(),
            shape_text(array.shape()),
            shape_text(shape)
        ));
    }
    let data: Vec<T> = array.iter().cloned().collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| InterpError::new(e.to_string()))
}

/// The operand list of one op application, with arity checks.
struct Operands<'a> {
    inputs: &'a [Option<&'a Tensor>],
}

impl<'a> Operands<'a> {
    /// Fails unless the op has between `min` and `max` operand slots.
    fn arity(&self, min: usize, max: usize) -> Result<(), InterpError> {
        let n = self.inputs.len();
        if n < min || n > max {
            let expected = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return fail(format!("expected {expected} operands, got {n}"));
        }
        Ok(())
    }

    /// The required operand `i`.
    fn get(&self, i: usize) -> Result<&'a Tensor, InterpError> {
        match self.inputs.get(i) {
            Some(Some(t)) => Ok(t),
            Some(None) | None => fail(format!("required operand {i} is absent")),
        }
    }

    /// The optional operand `i` (`None` when absent or past the end).
    fn optional(&self, i: usize) -> Option<&'a Tensor> {
        self.inputs.get(i).copied().flatten()
    }

    /// The required operand `i` as an array of element type `T`.
    fn typed<T: Element>(&self, i: usize, what: &str) -> Result<&'a ArrayD<T>, InterpError> {
        let t = self.get(i)?;
        T::array(t).ok_or_else(|| {
            InterpError::new(format!(
                "{what} (operand {i}) has element type {:?}, which this op does not accept",
                t.dtype()
            ))
        })
    }
}

/// Fails unless exactly `n` outputs are requested.
fn expect_outputs(n_outputs: usize, n: usize) -> Result<(), InterpError> {
    if n_outputs != n {
        return fail(format!("produces {n} output(s), {n_outputs} requested"));
    }
    Ok(())
}

/// Evaluates one op on concrete operands (`None` for an absent optional input), producing
/// `n_outputs` outputs.
///
/// Semantics are those of the ONNX operator specification (opset 17+) for the attributes held in
/// [`Op`]. Errors (unlocated) name the op and say which operand does not fit; this function never
/// panics on bad operands.
pub fn eval_op(
    op: &Op,
    inputs: &[Option<&Tensor>],
    n_outputs: usize,
) -> Result<Vec<Tensor>, InterpError> {
    eval_op_inner(op, &Operands { inputs }, n_outputs).map_err(|e| InterpError {
        message: format!("{}: {}", op.onnx_name(), e.message),
        location: e.location,
    })
}

fn eval_op_inner(
    op: &Op,
    ops: &Operands<'_>,
    n_outputs: usize,
) -> Result<Vec<Tensor>, InterpError> {
    let single = |t: Result<Tensor, InterpError>| -> Result<Vec<Tensor>, InterpError> {
        expect_outputs(n_outputs, 1)?;
        t.map(|t| vec![t])
    };
    let binary = |kind: elementwise::Binary| {
        ops.arity(2, 2)?;
        single(elementwise::binary(kind, ops.get(0)?, ops.get(1)?))
    };
    let unary = |kind: elementwise::Unary| {
        ops.arity(1, 1)?;
        single(elementwise::unary(kind, ops.get(0)?))
    };
    match op {
        Op::Gemm {
            alpha,
            beta,
            trans_a,
            trans_b,
        } => {
            ops.arity(2, 3)?;
            let config = linalg::GemmConfig {
                alpha: *alpha,
                beta: *beta,
                trans_a: *trans_a,
                trans_b: *trans_b,
            };
            single(linalg::gemm(
                ops.typed::<f32>(0, "A")?,
                ops.typed::<f32>(1, "B")?,
                match ops.optional(2) {
                    Some(_) => Some(ops.typed::<f32>(2, "C")?),
                    None => None,
                },
                &config,
            ))
        }
        Op::MatMul => {
            ops.arity(2, 2)?;
            single(linalg::matmul(ops.get(0)?, ops.get(1)?))
        }
        Op::Add => binary(elementwise::Binary::Add),
        Op::Sub => binary(elementwise::Binary::Sub),
        Op::Mul => binary(elementwise::Binary::Mul),
        Op::Div => binary(elementwise::Binary::Div),
        Op::Neg => unary(elementwise::Unary::Neg),
        Op::Abs => unary(elementwise::Unary::Abs),
        Op::Exp => unary(elementwise::Unary::Exp),
        Op::Relu => unary(elementwise::Unary::Relu),
        Op::Tanh => unary(elementwise::Unary::Tanh),
        Op::Sigmoid => unary(elementwise::Unary::Sigmoid),
        Op::Cast { to } => {
            ops.arity(1, 1)?;
            single(elementwise::cast(ops.get(0)?, *to))
        }
        Op::Concat { axis } => {
            ops.arity(1, usize::MAX)?;
            let parts = (0..ops.inputs.len())
                .map(|i| ops.get(i))
                .collect::<Result<Vec<_>, _>>()?;
            single(shape_ops::concat(&parts, *axis))
        }
        Op::Gather { axis } => {
            ops.arity(2, 2)?;
            single(shape_ops::gather(
                ops.get(0)?,
                ops.typed::<i64>(1, "indices")?,
                *axis,
            ))
        }
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        } => {
            ops.arity(1, 1)?;
            single(shape_ops::slice(ops.get(0)?, starts, ends, axes, steps))
        }
        Op::Reshape { shape } => {
            ops.arity(1, 1)?;
            single(shape_ops::reshape_tensor(ops.get(0)?, shape))
        }
        Op::Transpose { perm } => {
            ops.arity(1, 1)?;
            single(shape_ops::transpose(ops.get(0)?, perm))
        }
        Op::Squeeze { axes } => {
            ops.arity(1, 1)?;
            single(shape_ops::squeeze(ops.get(0)?, axes))
        }
        Op::Unsqueeze { axes } => {
            ops.arity(1, 1)?;
            single(shape_ops::unsqueeze(ops.get(0)?, axes))
        }
        Op::Identity => {
            ops.arity(1, 1)?;
            single(Ok(ops.get(0)?.clone()))
        }
        Op::Softmax { axis } => {
            ops.arity(1, 1)?;
            single(reduce::softmax(ops.typed::<f32>(0, "input")?, *axis))
        }
        Op::ArgMax {
            axis,
            keepdims,
            select_last_index,
        } => {
            ops.arity(1, 1)?;
            let config = reduce::ArgMaxConfig {
                axis: *axis,
                keepdims: *keepdims,
                select_last_index: *select_last_index,
            };
            single(reduce::argmax(ops.get(0)?, &config))
        }
        Op::Rnn(attrs) => {
            ops.arity(1, 6)?;
            recurrent::eval(recurrent::Kind::Rnn, attrs, ops, n_outputs)
        }
        Op::Gru {
            attrs,
            linear_before_reset,
        } => {
            ops.arity(1, 6)?;
            let kind = recurrent::Kind::Gru {
                linear_before_reset: *linear_before_reset,
            };
            recurrent::eval(kind, attrs, ops, n_outputs)
        }
        Op::Lstm {
            attrs,
            input_forget,
        } => {
            ops.arity(1, 8)?;
            let kind = recurrent::Kind::Lstm {
                input_forget: *input_forget,
            };
            recurrent::eval(kind, attrs, ops, n_outputs)
        }
        Op::Scan(attrs) => scan::eval(attrs, ops, n_outputs),
    }
}

/// The value store of one graph run: node results by value handle; constants are read in place.
struct Env<'g> {
    graph: &'g Graph,
    slots: Vec<Option<Tensor>>,
}

impl<'g> Env<'g> {
    fn get(&self, id: ValueId) -> Result<&Tensor, InterpError> {
        let index = id.0 as usize;
        let value = self
            .graph
            .values
            .get(index)
            .ok_or_else(|| InterpError::new(format!("value handle {} out of range", id.0)))?;
        let found = match &value.def {
            ValueDef::Const(t) => Some(t),
            ValueDef::Input(_) | ValueDef::Node(..) => self.slots[index].as_ref(),
        };
        found.ok_or_else(|| InterpError {
            message: "value is read before it is defined".to_string(),
            location: Location::Value(value.name.clone()),
        })
    }

    /// Stores a computed value after checking it against the value's declared type.
    fn set(&mut self, id: ValueId, tensor: Tensor) -> Result<(), InterpError> {
        let index = id.0 as usize;
        let value = self
            .graph
            .values
            .get(index)
            .ok_or_else(|| InterpError::new(format!("value handle {} out of range", id.0)))?;
        if tensor.dtype() != value.ty.dtype || tensor.shape() != value.ty.shape.as_slice() {
            return Err(InterpError {
                message: format!(
                    "computed {:?} {} where the graph declares {:?} {}",
                    tensor.dtype(),
                    shape_text(tensor.shape()),
                    value.ty.dtype,
                    shape_text(&value.ty.shape)
                ),
                location: Location::Value(value.name.clone()),
            });
        }
        self.slots[index] = Some(tensor);
        Ok(())
    }
}

/// Runs a graph on its inputs (in `graph.inputs` order) and returns its outputs.
///
/// Each input must match its declared type exactly; so must every value a node computes (a
/// mismatch means the graph's static types are wrong, and is reported at that value). Errors
/// from an op are located at its node.
pub fn run_graph(graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, InterpError> {
    run_graph_observed(graph, inputs, &mut |_, _| {})
}

/// Runs a graph like [`run_graph`], handing every node output to `observe` as soon as it is
/// computed: the intermediate-values entry point of the analyses (recording activations, and
/// patching them: `observe` may replace the tensor, and later nodes read the replacement).
///
/// A replacement must keep the value's declared type, else the run fails at that node.
/// Graph inputs and constants are not observed.
pub fn run_graph_observed(
    graph: &Graph,
    inputs: &[Tensor],
    observe: &mut dyn FnMut(ValueId, &mut Tensor),
) -> Result<Vec<Tensor>, InterpError> {
    if inputs.len() != graph.inputs.len() {
        return fail(format!(
            "graph takes {} input(s), {} given",
            graph.inputs.len(),
            inputs.len()
        ));
    }
    let mut env = Env {
        graph,
        slots: vec![None; graph.values.len()],
    };
    for (&id, tensor) in graph.inputs.iter().zip(inputs) {
        env.set(id, tensor.clone())?;
    }
    for node in &graph.nodes {
        let operands = node
            .inputs
            .iter()
            .map(|slot| slot.map(|id| env.get(id)).transpose())
            .collect::<Result<Vec<Option<&Tensor>>, _>>()
            .map_err(|e| e.at_node(node))?;
        let results =
            eval_op(&node.op, &operands, node.outputs.len()).map_err(|e| e.at_node(node))?;
        for (&id, mut tensor) in node.outputs.iter().zip(results) {
            observe(id, &mut tensor);
            env.set(id, tensor).map_err(|e| e.at_node(node))?;
        }
    }
    graph
        .outputs
        .iter()
        .map(|&id| env.get(id).cloned())
        .collect()
}

/// Runs a sequence model on `x` of shape `[1, T, input_dim]` (any `T >= 1`) and returns `y` of
/// shape `[1, T, output_dim]`.
///
/// For each step `t` in the cell's direction, `x[0, t, :]` is reshaped to the step graph's `x_t`
/// type and the step graph runs on `[x_t, states...]`; its `y_t` (flattened) is stored at
/// position `t` and its new states carry to the next step. Errors name the failing step.
pub fn run_sequence(model: &SequenceModel, x: &Tensor) -> Result<Tensor, InterpError> {
    match x {
        Tensor::F32(a) => run_sequence_typed(model, a),
        Tensor::I64(a) => run_sequence_typed(model, a),
        Tensor::Bool(a) => run_sequence_typed(model, a),
    }
}

fn run_sequence_typed<T: Element>(
    model: &SequenceModel,
    x: &ArrayD<T>,
) -> Result<Tensor, InterpError> {
    let step = &model.cell.step;
    if T::DTYPE != model.input_dtype {
        return fail(format!(
            "sequence input has element type {:?}, the model takes {:?}",
            T::DTYPE,
            model.input_dtype
        ));
    }
    let &[1, length, dim] = x.shape() else {
        return fail(format!(
            "sequence input must have shape [1, T, {}], got {}",
            model.input_dim,
            shape_text(x.shape())
        ));
    };
    if dim != model.input_dim || length == 0 {
        return fail(format!(
            "sequence input must have shape [1, T >= 1, {}], got {}",
            model.input_dim,
            shape_text(x.shape())
        ));
    }
    let (Some(&x_id), Some(&y_id)) = (step.inputs.first(), step.outputs.first()) else {
        return fail("the cell's step graph has no x_t input or no y_t output");
    };
    let x_shape = step
        .values
        .get(x_id.0 as usize)
        .map(|v| v.ty.shape.clone())
        .ok_or_else(|| InterpError::new("x_t handle out of range"))?;
    let y_dtype = step
        .values
        .get(y_id.0 as usize)
        .map(|v| v.ty.dtype)
        .ok_or_else(|| InterpError::new("y_t handle out of range"))?;
    if y_dtype != model.output_dtype {
        return fail(format!(
            "the cell's y_t has element type {y_dtype:?}, the model declares {:?}",
            model.output_dtype
        ));
    }
    let order: Vec<usize> = match model.cell.direction {
        TimeDirection::Forward => (0..length).collect(),
        TimeDirection::Reverse => (0..length).rev().collect(),
    };
    let mut states = model.cell.init.clone();
    let mut ys: Vec<Option<Tensor>> = vec![None; length];
    for t in order {
        let step_fail = |e: InterpError| InterpError {
            message: format!("time step {t}: {}", e.message),
            location: e.location,
        };
        let row = x.index_axis(Axis(0), 0).index_axis(Axis(0), t).to_owned();
        let x_t = T::tensor(reshape(&row, &x_shape).map_err(step_fail)?);
        let mut step_inputs = Vec::with_capacity(1 + states.len());
        step_inputs.push(x_t);
        step_inputs.append(&mut states);
        let mut outputs = run_graph(step, &step_inputs).map_err(step_fail)?;
        if outputs.is_empty() {
            return fail("the cell's step graph has no outputs");
        }
        let y_t = outputs.remove(0);
        if y_t.shape().iter().product::<usize>() != model.output_dim {
            return Err(step_fail(InterpError::new(format!(
                "y_t has {} elements, the model declares output_dim {}",
                y_t.shape().iter().product::<usize>(),
                model.output_dim
            ))));
        }
        ys[t] = Some(y_t);
        states = outputs;
    }
    let ys: Vec<Tensor> = ys.into_iter().flatten().collect();
    let shape = [1, length, model.output_dim];
    match model.output_dtype {
        DType::F32 => stack_rows::<f32>(&ys, &shape),
        DType::I64 => stack_rows::<i64>(&ys, &shape),
        DType::Bool => stack_rows::<bool>(&ys, &shape),
    }
}

/// Concatenates the flattened rows into one tensor of `shape`.
fn stack_rows<T: Element>(rows: &[Tensor], shape: &[usize]) -> Result<Tensor, InterpError> {
    let mut data = Vec::with_capacity(shape.iter().product());
    for row in rows {
        let a = T::array(row).ok_or_else(|| InterpError::new("y_t has the wrong element type"))?;
        data.extend(a.iter().cloned());
    }
    ArrayD::from_shape_vec(IxDyn(shape), data)
        .map(T::tensor)
        .map_err(|e| InterpError::new(e.to_string()))
}

/// Runs a network on one example: the graph inputs for a pointwise network, `[x]` for a sequence.
///
/// For a sequence model the result is `[y]`; see [`run_sequence`].
pub fn run_network(network: &Network, inputs: &[Tensor]) -> Result<Vec<Tensor>, InterpError> {
    match network {
        Network::Pointwise(graph) => run_graph(graph, inputs),
        Network::Sequence(model) => match inputs {
            [x] => run_sequence(model, x).map(|y| vec![y]),
            _ => fail(format!(
                "a sequence model takes one input x, {} given",
                inputs.len()
            )),
        },
    }
}

/// Tensor builders and readers shared by the interpreter's unit tests.
#[cfg(test)]
mod test_tensors {
    use ndarray::ArrayD;

    use crate::network::Tensor;

    /// An `f32` tensor of `shape` holding `data` in row-major order.
    pub(super) fn f32s(shape: &[usize], data: &[f32]) -> Tensor {
        Tensor::F32(ArrayD::from_shape_vec(shape, data.to_vec()).unwrap())
    }

    /// The elements of an `f32` tensor in row-major order.
    pub(super) fn f32_values(t: &Tensor) -> Vec<f32> {
        match t {
            Tensor::F32(a) => a.iter().copied().collect(),
            Tensor::I64(_) | Tensor::Bool(_) => panic!("not f32"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_tensors::f32s;
    use super::*;
    use crate::network::{Cell, TensorType};

    fn ty(shape: &[usize]) -> TensorType {
        TensorType {
            dtype: DType::F32,
            shape: shape.to_vec(),
        }
    }

    /// `relu(x - 1)` on `[2]`, with the node named "sub".
    fn small_graph() -> Graph {
        let mut g = Graph::default();
        let x = g.add_value("x", ty(&[2]), ValueDef::Input(0));
        g.inputs = vec![x];
        let one = g.add_const("one", f32s(&[], &[1.0]));
        let d = g.add_node(
            "sub",
            Op::Sub,
            vec![Some(x), Some(one)],
            vec![("d".into(), ty(&[2]))],
        );
        let y = g.add_node(
            "relu",
            Op::Relu,
            vec![Some(d[0])],
            vec![("y".into(), ty(&[2]))],
        );
        g.outputs = y;
        g
    }

    #[test]
    fn run_graph_evaluates_in_order() {
        let out = run_graph(&small_graph(), &[f32s(&[2], &[3.0, -4.0])]).unwrap();
        assert_eq!(out, vec![f32s(&[2], &[2.0, 0.0])]);
    }

    #[test]
    fn run_graph_observed_records_and_patches() {
        let g = small_graph();
        let mut seen = Vec::new();
        let out = run_graph_observed(&g, &[f32s(&[2], &[3.0, -4.0])], &mut |id, t| {
            seen.push((id, t.clone()));
            // Patch `d` (the Sub output): relu then reads the replacement.
            if g.value(id).name == "d" {
                *t = f32s(&[2], &[-1.0, 7.0]);
            }
        })
        .unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].1, f32s(&[2], &[2.0, -5.0]));
        assert_eq!(out, vec![f32s(&[2], &[0.0, 7.0])]);
        // A replacement of the wrong shape fails at the node.
        let err = run_graph_observed(&g, &[f32s(&[2], &[3.0, -4.0])], &mut |_, t| {
            *t = f32s(&[1], &[0.0]);
        });
        assert!(err.is_err());
    }

    #[test]
    fn run_graph_checks_inputs_and_declared_types() {
        let g = small_graph();
        assert!(run_graph(&g, &[]).is_err());
        let err = run_graph(&g, &[f32s(&[3], &[1.0, 2.0, 3.0])]).unwrap_err();
        assert_eq!(err.location, Location::Value("x".into()));
        // A node whose result disagrees with its declared type is reported at that node.
        let mut bad = small_graph();
        bad.values[2].ty = ty(&[3]);
        let err = run_graph(&bad, &[f32s(&[2], &[1.0, 2.0])]).unwrap_err();
        assert_eq!(err.location, Location::Value("d".into()), "{}", err.message);
    }

    #[test]
    fn op_errors_are_located_at_the_node() {
        let mut g = Graph::default();
        let x = g.add_value("x", ty(&[2]), ValueDef::Input(0));
        g.inputs = vec![x];
        let idx = g.add_const(
            "idx",
            Tensor::I64(ArrayD::from_shape_vec(vec![1], vec![5]).unwrap()),
        );
        let y = g.add_node(
            "pick",
            Op::Gather { axis: 0 },
            vec![Some(x), Some(idx)],
            vec![("y".into(), ty(&[1]))],
        );
        g.outputs = y;
        let err = run_graph(&g, &[f32s(&[2], &[1.0, 2.0])]).unwrap_err();
        assert_eq!(
            err.location,
            Location::Node(NodeRef {
                name: "pick".into(),
                op_type: "Gather".into()
            })
        );
        assert!(
            err.message.starts_with("Gather: index 5"),
            "{}",
            err.message
        );
    }

    #[test]
    fn eval_op_checks_arity_and_outputs() {
        let a = f32s(&[1], &[1.0]);
        assert!(eval_op(&Op::Add, &[Some(&a)], 1).is_err());
        assert!(eval_op(&Op::Add, &[Some(&a), None], 1).is_err());
        assert!(eval_op(&Op::Add, &[Some(&a), Some(&a)], 2).is_err());
        assert!(eval_op(&Op::Identity, &[Some(&a), Some(&a)], 1).is_err());
        assert!(eval_op(&Op::Concat { axis: 0 }, &[], 1).is_err());
        let out = eval_op(&Op::Add, &[Some(&a), Some(&a)], 1).unwrap();
        assert_eq!(out, vec![f32s(&[1], &[2.0])]);
        let gemm = Op::Gemm {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: false,
        };
        let m = f32s(&[1, 1], &[3.0]);
        let out = eval_op(&gemm, &[Some(&m), Some(&m), None], 1).unwrap();
        assert_eq!(out, vec![f32s(&[1, 1], &[9.0])]);
        let i = Tensor::I64(ArrayD::from_shape_vec(vec![1, 1], vec![3]).unwrap());
        assert!(eval_op(&gemm, &[Some(&i), Some(&i)], 1).is_err());
    }

    /// A cell `h' = h + x_t`, `y_t = 10 h'`, with `x_t` of shape `[1, 1]`.
    fn accumulator(direction: TimeDirection) -> SequenceModel {
        let mut g = Graph::default();
        let x = g.add_value("x_t", ty(&[1, 1]), ValueDef::Input(0));
        let h = g.add_value("h", ty(&[1]), ValueDef::Input(1));
        g.inputs = vec![x, h];
        let ten = g.add_const("ten", f32s(&[], &[10.0]));
        let flat = g.add_node(
            "flat",
            Op::Reshape { shape: vec![1] },
            vec![Some(x)],
            vec![("xf".into(), ty(&[1]))],
        );
        let h2 = g.add_node(
            "add",
            Op::Add,
            vec![Some(h), Some(flat[0])],
            vec![("h2".into(), ty(&[1]))],
        );
        let y = g.add_node(
            "mul",
            Op::Mul,
            vec![Some(h2[0]), Some(ten)],
            vec![("y".into(), ty(&[1]))],
        );
        g.outputs = vec![y[0], h2[0]];
        SequenceModel {
            cell: Cell {
                step: g,
                init: vec![f32s(&[1], &[0.0])],
                direction,
            },
            length: 3,
            input_dim: 1,
            output_dim: 1,
            input_dtype: DType::F32,
            output_dtype: DType::F32,
        }
    }

    #[test]
    fn run_sequence_forward_and_reverse() {
        let x = f32s(&[1, 3, 1], &[1.0, 2.0, 3.0]);
        let y = run_sequence(&accumulator(TimeDirection::Forward), &x).unwrap();
        assert_eq!(y, f32s(&[1, 3, 1], &[10.0, 30.0, 60.0]));
        // Reverse: h runs 3, 5, 6 from t = 2 down; y_t stays at position t.
        let y = run_sequence(&accumulator(TimeDirection::Reverse), &x).unwrap();
        assert_eq!(y, f32s(&[1, 3, 1], &[60.0, 50.0, 30.0]));
        // Any length works, not only the imported one.
        let x5 = f32s(&[1, 5, 1], &[1.0; 5]);
        let y = run_sequence(&accumulator(TimeDirection::Forward), &x5).unwrap();
        assert_eq!(y, f32s(&[1, 5, 1], &[10.0, 20.0, 30.0, 40.0, 50.0]));
    }

    #[test]
    fn run_sequence_rejects_bad_input() {
        let model = accumulator(TimeDirection::Forward);
        assert!(run_sequence(&model, &f32s(&[3, 1], &[1.0; 3])).is_err());
        assert!(run_sequence(&model, &f32s(&[1, 3, 2], &[1.0; 6])).is_err());
        assert!(run_sequence(&model, &f32s(&[1, 0, 1], &[])).is_err());
        let ints = Tensor::I64(ArrayD::from_shape_vec(vec![1, 1, 1], vec![1]).unwrap());
        assert!(run_sequence(&model, &ints).is_err());
    }

    #[test]
    fn run_network_dispatches() {
        let net = Network::Sequence(accumulator(TimeDirection::Forward));
        let x = f32s(&[1, 2, 1], &[1.0, 1.0]);
        let out = run_network(&net, std::slice::from_ref(&x)).unwrap();
        assert_eq!(out, vec![f32s(&[1, 2, 1], &[10.0, 20.0])]);
        assert!(run_network(&net, &[x.clone(), x]).is_err());
        let net = Network::Pointwise(small_graph());
        let out = run_network(&net, &[f32s(&[2], &[5.0, 0.0])]).unwrap();
        assert_eq!(out, vec![f32s(&[2], &[4.0, 0.0])]);
    }
}
