//! The network printer: [`Network`] to its text form (format described in the parent module).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{quote_name, value_label};
use crate::network::{
    Activation, DType, Direction, Graph, Network, Node, Op, RecurrentAttrs, ScanAttrs, Tensor,
    TensorType, TimeDirection, ValueDef, ValueId,
};

/// Blocks of at most this many elements print on one line, if [`INLINE_WIDTH`] allows.
const INLINE_ELEMENTS: usize = 8;

/// The widest data block printed on one line, and the widest line of a wrapped vector's elements
/// (not counting indentation).
const INLINE_WIDTH: usize = 80;

/// Prints a network in its text form; [`parse`](super::parse) reads it back to an equal network.
///
/// The output is deterministic. A network that passes
/// [`validate_network`](crate::network::validate::validate_network) and whose values were added in
/// definition order prints to text that parses back to an equal network (NaN elements aside, which
/// compare unequal by nature); any other network still prints without panicking, with
/// out-of-range handles shown as `%!N`, but may not parse back.
pub fn print(network: &Network) -> String {
    let mut out = String::new();
    match network {
        Network::Pointwise(graph) => {
            out.push_str("network pointwise graph ");
            write_graph(&mut out, graph, 0);
            out.push('\n');
        }
        Network::Sequence(model) => {
            let direction = match model.cell.direction {
                TimeDirection::Forward => "forward",
                TimeDirection::Reverse => "reverse",
            };
            let _ = writeln!(
                out,
                "network sequence {{length = {}, direction = {direction}, input_dim = {}, \
                 input_dtype = {}, output_dim = {}, output_dtype = {}}}",
                model.length,
                model.input_dim,
                dtype_name(model.input_dtype),
                model.output_dim,
                dtype_name(model.output_dtype),
            );
            for tensor in &model.cell.init {
                out.push_str("init ");
                out.push_str(&type_text(&tensor.ty()));
                out.push_str(" = ");
                write_data(&mut out, tensor, 0);
                out.push('\n');
            }
            out.push_str("cell ");
            write_graph(&mut out, &model.cell.step, 0);
            out.push('\n');
        }
    }
    out
}

/// The element type's name in the text form.
pub(crate) fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "f32",
        DType::I64 => "i64",
        DType::Bool => "bool",
    }
}

/// A tensor type as `f32[1, 3]`.
pub(crate) fn type_text(ty: &TensorType) -> String {
    let dims: Vec<String> = ty.shape.iter().map(usize::to_string).collect();
    format!("{}[{}]", dtype_name(ty.dtype), dims.join(", "))
}

/// An `f32` in Rust's shortest round-trip form, or `inf`, `-inf`, `nan`.
pub(crate) fn f32_text(x: f32) -> String {
    if x.is_nan() {
        "nan".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{x:?}")
    }
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// The reference text of every value of `graph`, by handle: `%name`, or `%name~k` for the k-th
/// (k >= 1) later value with the same name.
fn value_refs(graph: &Graph) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    graph
        .values
        .iter()
        .map(|value| {
            let count = seen.entry(value.name.as_str()).or_insert(0);
            let text = match *count {
                0 => value_label(&value.name),
                k => format!("{}~{k}", value_label(&value.name)),
            };
            *count += 1;
            text
        })
        .collect()
}

fn ref_text(refs: &[String], id: ValueId) -> String {
    refs.get(id.0 as usize)
        .cloned()
        .unwrap_or_else(|| format!("%!{}", id.0))
}

/// Writes `{`, the graph's items one per line at `level + 1`, and `}` at `level` (no newline).
fn write_graph(out: &mut String, graph: &Graph, level: usize) {
    let refs = value_refs(graph);
    out.push_str("{\n");
    // Nodes are emitted in list order, each just before the first value it defines, so that
    // inputs and constants keep their place in the arena between the nodes.
    let mut next_node = 0;
    for (i, value) in graph.values.iter().enumerate() {
        match &value.def {
            ValueDef::Input(_) => {
                indent(out, level + 1);
                let _ = writeln!(out, "input {}: {}", refs[i], type_text(&value.ty));
            }
            ValueDef::Const(tensor) => {
                indent(out, level + 1);
                let _ = write!(out, "const {}: {} = ", refs[i], type_text(&value.ty));
                write_data(out, tensor, level + 1);
                out.push('\n');
            }
            ValueDef::Node(node, _) => {
                while next_node <= node.0 as usize && next_node < graph.nodes.len() {
                    write_node(out, graph, &refs, &graph.nodes[next_node], level + 1);
                    next_node += 1;
                }
            }
        }
    }
    for node in &graph.nodes[next_node.min(graph.nodes.len())..] {
        write_node(out, graph, &refs, node, level + 1);
    }
    if !graph.outputs.is_empty() {
        indent(out, level + 1);
        let outputs: Vec<String> = graph
            .outputs
            .iter()
            .map(|&id| ref_text(&refs, id))
            .collect();
        let _ = writeln!(out, "output {}", outputs.join(", "));
    }
    indent(out, level);
    out.push('}');
}

/// Writes one node line (with its newline), starting with the indentation of `level`.
fn write_node(out: &mut String, graph: &Graph, refs: &[String], node: &Node, level: usize) {
    indent(out, level);
    let results: Vec<String> = node
        .outputs
        .iter()
        .map(|&id| match graph.values.get(id.0 as usize) {
            Some(value) => format!("{}: {}", refs[id.0 as usize], type_text(&value.ty)),
            None => format!("%!{}: ?", id.0),
        })
        .collect();
    if !results.is_empty() {
        out.push_str(&results.join(", "));
        out.push(' ');
    }
    let operands: Vec<String> = node
        .inputs
        .iter()
        .map(|input| match input {
            Some(id) => ref_text(refs, *id),
            None => "_".to_string(),
        })
        .collect();
    let _ = write!(out, "= {}({})", node.op.onnx_name(), operands.join(", "));
    write_attrs(out, &node.op, level);
    if !node.name.is_empty() {
        out.push_str(" @");
        out.push_str(&quote_name(&node.name));
    }
    out.push('\n');
}

fn list<T>(items: &[T], text: impl Fn(&T) -> String) -> String {
    let items: Vec<String> = items.iter().map(text).collect();
    format!("[{}]", items.join(", "))
}

/// Writes ` {name = value, ..}` for an op with attributes, nothing for one without.
fn write_attrs(out: &mut String, op: &Op, level: usize) {
    let attrs: Vec<(&str, String)> = match op {
        Op::Gemm {
            alpha,
            beta,
            trans_a,
            trans_b,
        } => vec![
            ("alpha", f32_text(*alpha)),
            ("beta", f32_text(*beta)),
            ("trans_a", trans_a.to_string()),
            ("trans_b", trans_b.to_string()),
        ],
        Op::MatMul
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
        | Op::Identity => Vec::new(),
        Op::Cast { to } => vec![("to", dtype_name(*to).to_string())],
        Op::Concat { axis } | Op::Gather { axis } | Op::Softmax { axis } => {
            vec![("axis", axis.to_string())]
        }
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        } => vec![
            ("starts", list(starts, i64::to_string)),
            ("ends", list(ends, i64::to_string)),
            ("axes", list(axes, usize::to_string)),
            ("steps", list(steps, i64::to_string)),
        ],
        Op::Reshape { shape } => vec![("shape", list(shape, usize::to_string))],
        Op::Transpose { perm } => vec![("perm", list(perm, usize::to_string))],
        Op::Squeeze { axes } | Op::Unsqueeze { axes } => {
            vec![("axes", list(axes, usize::to_string))]
        }
        Op::ArgMax {
            axis,
            keepdims,
            select_last_index,
        } => vec![
            ("axis", axis.to_string()),
            ("keepdims", keepdims.to_string()),
            ("select_last_index", select_last_index.to_string()),
        ],
        Op::Rnn(attrs) => recurrent_attrs(attrs, None),
        Op::Gru {
            attrs,
            linear_before_reset,
        } => recurrent_attrs(attrs, Some(("linear_before_reset", *linear_before_reset))),
        Op::Lstm {
            attrs,
            input_forget,
        } => recurrent_attrs(attrs, Some(("input_forget", *input_forget))),
        Op::Scan(scan) => {
            write_scan_attrs(out, scan, level);
            return;
        }
    };
    if attrs.is_empty() {
        return;
    }
    let attrs: Vec<String> = attrs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    let _ = write!(out, " {{{}}}", attrs.join(", "));
}

/// The attributes of a recurrent layer, then its op-specific flag when it has one.
fn recurrent_attrs(
    attrs: &RecurrentAttrs,
    flag: Option<(&'static str, bool)>,
) -> Vec<(&'static str, String)> {
    let RecurrentAttrs {
        hidden_size,
        direction,
        activations,
        clip,
        batch_major,
    } = attrs;
    let direction = match direction {
        Direction::Forward => "forward",
        Direction::Reverse => "reverse",
        Direction::Bidirectional => "bidirectional",
    };
    let mut all = vec![
        ("hidden_size", hidden_size.to_string()),
        ("direction", direction.to_string()),
        ("activations", list(activations, activation_text)),
        ("clip", clip.map_or_else(|| "none".to_string(), f32_text)),
        ("batch_major", batch_major.to_string()),
    ];
    all.extend(flag.map(|(name, value)| (name, value.to_string())));
    all
}

/// An activation as `Tanh` or `LeakyRelu(alpha = 0.01)`.
fn activation_text(activation: &Activation) -> String {
    let alpha_beta = |name: &str, alpha: f32, beta: f32| {
        format!(
            "{name}(alpha = {}, beta = {})",
            f32_text(alpha),
            f32_text(beta)
        )
    };
    let alpha = |name: &str, alpha: f32| format!("{name}(alpha = {})", f32_text(alpha));
    match *activation {
        Activation::Relu => "Relu".to_string(),
        Activation::Tanh => "Tanh".to_string(),
        Activation::Sigmoid => "Sigmoid".to_string(),
        Activation::Affine { alpha: a, beta: b } => alpha_beta("Affine", a, b),
        Activation::LeakyRelu { alpha: a } => alpha("LeakyRelu", a),
        Activation::ThresholdedRelu { alpha: a } => alpha("ThresholdedRelu", a),
        Activation::ScaledTanh { alpha: a, beta: b } => alpha_beta("ScaledTanh", a, b),
        Activation::HardSigmoid { alpha: a, beta: b } => alpha_beta("HardSigmoid", a, b),
        Activation::Elu { alpha: a } => alpha("Elu", a),
        Activation::Softsign => "Softsign".to_string(),
        Activation::Softplus => "Softplus".to_string(),
    }
}

/// Writes a Scan's attributes; the body graph spans several lines, closing at the node's level.
fn write_scan_attrs(out: &mut String, scan: &ScanAttrs, level: usize) {
    let ScanAttrs {
        body,
        num_scan_inputs,
        scan_input_axes,
        scan_input_reverse,
        scan_output_axes,
        scan_output_reverse,
    } = scan;
    let _ = write!(
        out,
        " {{num_scan_inputs = {num_scan_inputs}, scan_input_axes = {}, scan_input_reverse = {}, \
         scan_output_axes = {}, scan_output_reverse = {}, body = graph ",
        list(scan_input_axes, usize::to_string),
        list(scan_input_reverse, bool::to_string),
        list(scan_output_axes, usize::to_string),
        list(scan_output_reverse, bool::to_string),
    );
    write_graph(out, body, level);
    out.push('}');
}

/// Writes a tensor's elements as nested brackets (a bare element for a scalar). A block of more
/// than [`INLINE_ELEMENTS`] elements, or wider than [`INLINE_WIDTH`], wraps: one sub-block per
/// line, or for a vector as many elements per line as fit; its closing bracket is at `level`.
fn write_data(out: &mut String, tensor: &Tensor, level: usize) {
    let elements: Vec<String> = match tensor {
        Tensor::F32(a) => a.iter().map(|&x| f32_text(x)).collect(),
        Tensor::I64(a) => a.iter().map(i64::to_string).collect(),
        Tensor::Bool(a) => a.iter().map(bool::to_string).collect(),
    };
    write_block(out, &elements, tensor.shape(), level);
}

fn write_block(out: &mut String, elements: &[String], shape: &[usize], level: usize) {
    let Some((&outer, inner)) = shape.split_first() else {
        out.push_str(elements.first().map_or("[]", String::as_str));
        return;
    };
    if elements.len() <= INLINE_ELEMENTS {
        let mut inline = String::new();
        write_inline(&mut inline, elements, shape);
        if inline.len() <= INLINE_WIDTH {
            out.push_str(&inline);
            return;
        }
    }
    out.push_str("[\n");
    if inner.is_empty() {
        let mut line = String::new();
        for (i, element) in elements.iter().enumerate() {
            if !line.is_empty() && line.len() + element.len() + 1 > INLINE_WIDTH {
                indent(out, level + 1);
                out.push_str(line.trim_end());
                out.push('\n');
                line.clear();
            }
            line.push_str(element);
            if i + 1 < elements.len() {
                line.push_str(", ");
            }
        }
        indent(out, level + 1);
        out.push_str(&line);
        out.push('\n');
    } else {
        let size: usize = inner.iter().product();
        for i in 0..outer {
            indent(out, level + 1);
            let block = elements.get(i * size..(i + 1) * size).unwrap_or(&[]);
            write_block(out, block, inner, level + 1);
            out.push_str(if i + 1 < outer { ",\n" } else { "\n" });
        }
    }
    indent(out, level);
    out.push(']');
}

fn write_inline(out: &mut String, elements: &[String], shape: &[usize]) {
    let Some((&outer, inner)) = shape.split_first() else {
        out.push_str(elements.first().map_or("[]", String::as_str));
        return;
    };
    let size: usize = inner.iter().product();
    out.push('[');
    for i in 0..outer {
        if i > 0 {
            out.push_str(", ");
        }
        if inner.is_empty() {
            out.push_str(elements.get(i).map_or("?", String::as_str));
        } else {
            let block = elements.get(i * size..(i + 1) * size).unwrap_or(&[]);
            write_inline(out, block, inner);
        }
    }
    out.push(']');
}
