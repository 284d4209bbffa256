//! Structural validation of network IR graphs and networks.
//!
//! The validator checks what every later stage assumes without re-checking: handles in range, one
//! definition per value agreeing with its [`ValueDef`], topological order, operand and result
//! counts per op, attribute lists of consistent lengths, constants of their declared type, and the
//! cell contract of a sequence model. It does not infer shapes (that is
//! [`infer_types`](super::infer::infer_types)). Messages name the value (`%x`) or node concerned.

use super::text::{dtype_name, type_text as type_name, value_label};
use super::{
    DType, Direction, Graph, Network, Node, Op, Recurrence, RecurrentAttrs, ScanAttrs,
    SequenceModel, ValueDef, ValueId,
};

/// A broken invariant of the network IR.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid network IR: {message}")]
pub struct ValidateError {
    pub message: String,
}

fn fail<T>(message: impl Into<String>) -> Result<T, ValidateError> {
    Err(ValidateError {
        message: message.into(),
    })
}

/// Checks a graph's structural invariants.
///
/// Errors when a handle is out of range; a value's [`ValueDef`] disagrees with the graph input
/// list or the node that should define it; a node reads a value defined by itself or a later node;
/// a node has the wrong number of operands or results for its op, or lacks a required operand;
/// an op's attribute lists disagree in length (Slice, recurrent activations, Scan); a constant's
/// tensor differs from its declared type; a type's element count overflows `usize`. A `Scan`
/// body is checked the same way, recursively, and must have one input per Scan operand and one
/// output per Scan result.
pub fn validate_graph(graph: &Graph) -> Result<(), ValidateError> {
    check_inputs(graph)?;
    for (index, value) in graph.values.iter().enumerate() {
        check_value(graph, ValueId(index as u32), &value.def)?;
    }
    for (index, node) in graph.nodes.iter().enumerate() {
        check_node(graph, index, node)?;
    }
    for (i, &id) in graph.outputs.iter().enumerate() {
        if graph.values.get(id.0 as usize).is_none() {
            return fail(format!(
                "graph output {i} is handle {}, out of range ({} values)",
                id.0,
                graph.values.len()
            ));
        }
    }
    Ok(())
}

/// Checks a network: its graph(s), and for a sequence model the cell contract.
///
/// A pointwise network must pass [`validate_graph`]. A sequence model's step graph must pass it,
/// contain no recurrent op, take `[x_t, states..]` and return `[y_t, states'..]` with one state
/// per `init` tensor, each state output of the type of its state input and of its initial tensor;
/// `x_t` must hold `input_dim` elements of `input_dtype` (`f32` or `i64`) and `y_t` `output_dim`
/// elements of `output_dtype`.
pub fn validate_network(network: &Network) -> Result<(), ValidateError> {
    match network {
        Network::Pointwise(graph) => validate_graph(graph),
        Network::Sequence(model) => validate_sequence(model),
    }
}

fn validate_sequence(model: &SequenceModel) -> Result<(), ValidateError> {
    let step = &model.cell.step;
    validate_graph(step).map_err(|e| ValidateError {
        message: format!("in the cell step graph: {}", e.message),
    })?;
    if let Some((index, node)) = step
        .nodes
        .iter()
        .enumerate()
        .find(|(_, node)| node.op.is_recurrent())
    {
        return fail(format!(
            "the cell step graph must not contain recurrent ops, but {} is one",
            node_label(index, node)
        ));
    }
    let states = model.cell.init.len();
    for (what, count) in [
        ("inputs", step.inputs.len()),
        ("outputs", step.outputs.len()),
    ] {
        if count != 1 + states {
            return fail(format!(
                "the cell step graph has {count} {what}, expected {} (one for the step and one \
                 per state; there are {states} initial states)",
                1 + states
            ));
        }
    }
    // validate_graph has checked every handle below, and every element count.
    let ty = |id: ValueId| &step.value(id).ty;
    let label = |id: ValueId| value_label(&step.value(id).name);
    for (i, init) in model.cell.init.iter().enumerate() {
        let (input, output) = (step.inputs[1 + i], step.outputs[1 + i]);
        if ty(output) != ty(input) {
            return fail(format!(
                "state {i}: output {} is {} but input {} is {}",
                label(output),
                type_name(ty(output)),
                label(input),
                type_name(ty(input))
            ));
        }
        if init.ty() != *ty(input) {
            return fail(format!(
                "state {i}: input {} is {} but its initial tensor is {}",
                label(input),
                type_name(ty(input)),
                type_name(&init.ty())
            ));
        }
    }
    if !matches!(model.input_dtype, DType::F32 | DType::I64) {
        return fail(format!(
            "input_dtype is {}, expected f32 or i64",
            dtype_name(model.input_dtype)
        ));
    }
    let ends = [
        (
            "x_t",
            step.inputs[0],
            "input",
            model.input_dim,
            model.input_dtype,
        ),
        (
            "y_t",
            step.outputs[0],
            "output",
            model.output_dim,
            model.output_dtype,
        ),
    ];
    for (role, id, side, dim, dtype) in ends {
        if ty(id).len() != dim || ty(id).dtype != dtype {
            return fail(format!(
                "{role} {} is {}, expected {dim} elements of {} ({side}_dim = {dim}, \
                 {side}_dtype = {})",
                label(id),
                type_name(ty(id)),
                dtype_name(dtype),
                dtype_name(dtype)
            ));
        }
    }
    Ok(())
}

fn check_inputs(graph: &Graph) -> Result<(), ValidateError> {
    for (i, &id) in graph.inputs.iter().enumerate() {
        let Some(value) = graph.values.get(id.0 as usize) else {
            return fail(format!(
                "graph input {i} is handle {}, out of range ({} values)",
                id.0,
                graph.values.len()
            ));
        };
        if value.def != ValueDef::Input(i) {
            return fail(format!(
                "graph input {i} is value {}, which is defined as {}",
                value_label(&value.name),
                def_text(&value.def)
            ));
        }
    }
    Ok(())
}

fn check_value(graph: &Graph, id: ValueId, def: &ValueDef) -> Result<(), ValidateError> {
    let value = graph.value(id);
    let label = value_label(&value.name);
    if value
        .ty
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .is_none()
    {
        return fail(format!(
            "value {label} has type {} whose element count overflows",
            type_name(&value.ty)
        ));
    }
    match def {
        ValueDef::Input(i) => {
            if graph.inputs.get(*i) != Some(&id) {
                return fail(format!(
                    "value {label} is defined as graph input {i}, but the graph's input list \
                     does not have it there"
                ));
            }
        }
        ValueDef::Const(tensor) => {
            if tensor.ty() != value.ty {
                return fail(format!(
                    "constant {label} is declared {} but its tensor is {}",
                    type_name(&value.ty),
                    type_name(&tensor.ty())
                ));
            }
        }
        ValueDef::Node(node, j) => {
            let listed = graph
                .nodes
                .get(node.0 as usize)
                .and_then(|n| n.outputs.get(*j));
            if listed != Some(&id) {
                return fail(format!(
                    "value {label} is defined as output {j} of node {}, which does not list it \
                     there",
                    node.0
                ));
            }
        }
    }
    Ok(())
}

/// How many operands and results an op takes.
struct Arity {
    min_inputs: usize,
    max_inputs: usize,
    /// The first `required` operands may not be absent.
    required: usize,
    min_outputs: usize,
    max_outputs: usize,
}

fn arity(op: &Op) -> Arity {
    let fixed = |inputs: usize| Arity {
        min_inputs: inputs,
        max_inputs: inputs,
        required: inputs,
        min_outputs: 1,
        max_outputs: 1,
    };
    match op {
        Op::Gemm { .. } => Arity {
            max_inputs: 3,
            ..fixed(2)
        },
        Op::MatMul | Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Gather { .. } => fixed(2),
        Op::Neg
        | Op::Abs
        | Op::Exp
        | Op::Relu
        | Op::Tanh
        | Op::Sigmoid
        | Op::Cast { .. }
        | Op::Slice { .. }
        | Op::Reshape { .. }
        | Op::Transpose { .. }
        | Op::Squeeze { .. }
        | Op::Unsqueeze { .. }
        | Op::Identity
        | Op::Softmax { .. }
        | Op::ArgMax { .. } => fixed(1),
        Op::Concat { .. } => Arity {
            max_inputs: usize::MAX,
            required: usize::MAX,
            ..fixed(1)
        },
        // X, W, R, then optional B, sequence_lens, initial_h; results Y, Y_h.
        Op::Rnn(_) | Op::Gru { .. } => Arity {
            max_inputs: 6,
            max_outputs: 2,
            ..fixed(3)
        },
        // As RNN, plus optional initial_c and P; results Y, Y_h, Y_c.
        Op::Lstm { .. } => Arity {
            max_inputs: 8,
            max_outputs: 3,
            ..fixed(3)
        },
        // The counts follow the attributes; `check_scan` checks them.
        Op::Scan(_) => Arity {
            min_inputs: 1,
            max_inputs: usize::MAX,
            required: usize::MAX,
            min_outputs: 0,
            max_outputs: usize::MAX,
        },
    }
}

fn check_node(graph: &Graph, index: usize, node: &Node) -> Result<(), ValidateError> {
    let label = node_label(index, node);
    for (j, &id) in node.outputs.iter().enumerate() {
        let Some(value) = graph.values.get(id.0 as usize) else {
            return fail(format!(
                "{label} has result {j} with handle {}, out of range ({} values)",
                id.0,
                graph.values.len()
            ));
        };
        if value.def != ValueDef::Node(super::NodeId(index as u32), j) {
            return fail(format!(
                "{label} lists {} as result {j}, but that value is defined as {}",
                value_label(&value.name),
                def_text(&value.def)
            ));
        }
    }
    for (k, input) in node.inputs.iter().enumerate() {
        let Some(id) = input else { continue };
        let Some(value) = graph.values.get(id.0 as usize) else {
            return fail(format!(
                "{label} has operand {k} with handle {}, out of range ({} values)",
                id.0,
                graph.values.len()
            ));
        };
        if let ValueDef::Node(producer, _) = value.def {
            if producer.0 as usize >= index {
                return fail(format!(
                    "{label} reads {} (operand {k}), which is defined by node {}: nodes must \
                     be in topological order",
                    value_label(&value.name),
                    producer.0
                ));
            }
        }
    }
    let arity = arity(&node.op);
    let (inputs, outputs) = (node.inputs.len(), node.outputs.len());
    if inputs < arity.min_inputs || inputs > arity.max_inputs {
        return fail(format!(
            "{label} has {inputs} operands, expected {}",
            count_range(arity.min_inputs, arity.max_inputs)
        ));
    }
    if let Some(k) = node
        .inputs
        .iter()
        .take(arity.required)
        .position(Option::is_none)
    {
        return fail(format!("{label} lacks operand {k}, which is required"));
    }
    if outputs < arity.min_outputs || outputs > arity.max_outputs {
        return fail(format!(
            "{label} has {outputs} results, expected {}",
            count_range(arity.min_outputs, arity.max_outputs)
        ));
    }
    check_attrs(&label, node)
}

fn check_attrs(label: &str, node: &Node) -> Result<(), ValidateError> {
    match node.op.recurrence() {
        Some(Recurrence::Layer(layer)) => {
            check_recurrent(label, layer.attrs(), layer.activation_count())
        }
        Some(Recurrence::Scan(scan)) => check_scan(label, node, scan),
        None => check_slice(label, &node.op),
    }
}

/// The attribute lists of a `Slice` (any other op passes).
fn check_slice(label: &str, op: &Op) -> Result<(), ValidateError> {
    let Op::Slice {
        starts,
        ends,
        axes,
        steps,
    } = op
    else {
        return Ok(());
    };
    let n = axes.len();
    if starts.len() != n || ends.len() != n || steps.len() != n {
        return fail(format!(
            "{label} has {} starts, {} ends, {n} axes and {} steps: they must be as many",
            starts.len(),
            ends.len(),
            steps.len()
        ));
    }
    if steps.contains(&0) {
        return fail(format!("{label} has a zero step"));
    }
    Ok(())
}

fn check_recurrent(
    label: &str,
    attrs: &RecurrentAttrs,
    per_direction: usize,
) -> Result<(), ValidateError> {
    if attrs.hidden_size == 0 {
        return fail(format!("{label} has hidden_size 0"));
    }
    let directions = match attrs.direction {
        Direction::Forward | Direction::Reverse => 1,
        Direction::Bidirectional => 2,
    };
    let expected = per_direction * directions;
    if attrs.activations.len() != expected {
        return fail(format!(
            "{label} has {} activations, expected {expected} ({per_direction} per direction)",
            attrs.activations.len()
        ));
    }
    Ok(())
}

fn check_scan(label: &str, node: &Node, scan: &ScanAttrs) -> Result<(), ValidateError> {
    let ScanAttrs {
        body,
        num_scan_inputs,
        scan_input_axes,
        scan_input_reverse,
        scan_output_axes,
        scan_output_reverse,
    } = scan;
    let scan_inputs = *num_scan_inputs;
    if scan_inputs == 0 || scan_inputs > node.inputs.len() {
        return fail(format!(
            "{label} has num_scan_inputs = {scan_inputs}, expected 1 to {} (its operand count)",
            node.inputs.len()
        ));
    }
    let states = node.inputs.len() - scan_inputs;
    let Some(scan_outputs) = node.outputs.len().checked_sub(states) else {
        return fail(format!(
            "{label} has {states} states but only {} results",
            node.outputs.len()
        ));
    };
    let lists = [
        ("scan_input_axes", scan_input_axes.len(), scan_inputs),
        ("scan_input_reverse", scan_input_reverse.len(), scan_inputs),
        ("scan_output_axes", scan_output_axes.len(), scan_outputs),
        (
            "scan_output_reverse",
            scan_output_reverse.len(),
            scan_outputs,
        ),
    ];
    for (name, found, expected) in lists {
        if found != expected {
            return fail(format!(
                "{label} has {found} entries in {name}, expected {expected}"
            ));
        }
    }
    if body.inputs.len() != node.inputs.len() || body.outputs.len() != node.outputs.len() {
        return fail(format!(
            "{label} has {} operands and {} results but its body has {} inputs and {} outputs",
            node.inputs.len(),
            node.outputs.len(),
            body.inputs.len(),
            body.outputs.len()
        ));
    }
    validate_graph(body).map_err(|e| ValidateError {
        message: format!("in the body of {label}: {}", e.message),
    })
}

/// A node as messages name it: `node 3 "/fc/Gemm" (Gemm)`, or `node 3 (Gemm)` when unnamed.
fn node_label(index: usize, node: &Node) -> String {
    if node.name.is_empty() {
        format!("node {index} ({})", node.op.onnx_name())
    } else {
        format!(
            "node {index} \"{}\" ({})",
            node.name.escape_debug(),
            node.op.onnx_name()
        )
    }
}

fn def_text(def: &ValueDef) -> String {
    match def {
        ValueDef::Input(i) => format!("graph input {i}"),
        ValueDef::Const(_) => "a constant".to_string(),
        ValueDef::Node(node, j) => format!("result {j} of node {}", node.0),
    }
}

fn count_range(min: usize, max: usize) -> String {
    match (min, max) {
        (min, max) if min == max => min.to_string(),
        (min, usize::MAX) => format!("at least {min}"),
        (min, max) => format!("{min} to {max}"),
    }
}
