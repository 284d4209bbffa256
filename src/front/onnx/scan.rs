//! ONNX `Scan` (opset 9 and later) to [`Op::Scan`], in two halves around the import of its body
//! (which [`super::assemble`] does, as it does every graph).
//!
//! The body's inputs are typed from the outer operands: a state as the outer initial state, a
//! scan slice as the outer scan input without its scan axis. The body may read outer values
//! implicitly only when they are constants; they are copied into the body.

use tract_onnx::pb::GraphProto;

use super::attrs::NodeCx;
use super::scope::{Converted, Scope};
use super::ImportError;
use crate::network::{Graph, Op, ScanAttrs, TensorType, ValueId};

/// What a `Scan` node says before its body is imported.
pub(super) struct ScanHead<'n> {
    /// The body, to import.
    pub body: &'n GraphProto,
    /// The types of the body's inputs: the states, then one slice of each scan input.
    pub body_types: Vec<TensorType>,
    num_scan_inputs: usize,
    scan_input_axes: Vec<usize>,
    scan_input_reverse: Vec<bool>,
}

/// Reads a `Scan` node's attributes and the types its body is imported with.
pub(super) fn read_head<'n>(
    cx: &NodeCx<'n>,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<ScanHead<'n>, ImportError> {
    if cx.opset < 9 {
        return Err(
            cx.error("Scan before opset 9 (with a batch axis and sequence_lens) is not supported")
        );
    }
    let body = cx.graph_req("body")?;
    let m = cx.int_req("num_scan_inputs")?;
    let m = usize::try_from(m)
        .ok()
        .filter(|&m| m >= 1 && m <= inputs.len())
        .ok_or_else(|| {
            cx.error(format!(
                "num_scan_inputs of Scan is {m}, but the node has {} inputs",
                inputs.len()
            ))
        })?;
    let n_states = inputs.len() - m;
    let mut types = Vec::with_capacity(inputs.len());
    for (i, id) in inputs.iter().enumerate() {
        let id = id.ok_or_else(|| cx.error(format!("input {i} of Scan is absent")))?;
        types.push(scope.ty(id).clone());
    }

    let scan_ranks: Vec<usize> = types[n_states..].iter().map(|t| t.shape.len()).collect();
    let scan_input_axes = axes(cx, "scan_input_axes", &scan_ranks)?;
    let scan_input_reverse = flags(cx, "scan_input_directions", m)?;
    let mut body_types = types[..n_states].to_vec();
    for (t, &axis) in types[n_states..].iter().zip(&scan_input_axes) {
        let mut shape = t.shape.clone();
        shape.remove(axis);
        body_types.push(TensorType {
            dtype: t.dtype,
            shape,
        });
    }
    Ok(ScanHead {
        body,
        body_types,
        num_scan_inputs: m,
        scan_input_axes,
        scan_input_reverse,
    })
}

/// Converts a `Scan` node whose body `graph` was imported from `head.body`.
pub(super) fn convert(
    cx: &NodeCx,
    head: ScanHead<'_>,
    graph: Graph,
    inputs: &[Option<ValueId>],
) -> Result<Converted, ImportError> {
    let n_states = inputs.len() - head.num_scan_inputs;
    if graph.outputs.len() < n_states || cx.node.output.len() != graph.outputs.len() {
        return Err(cx.error(format!(
            "the Scan body has {} outputs, but the node has {} outputs and {n_states} states",
            graph.outputs.len(),
            cx.node.output.len()
        )));
    }
    let out_ranks: Vec<usize> = graph.outputs[n_states..]
        .iter()
        .map(|&id| graph.value(id).ty.shape.len() + 1)
        .collect();
    let scan_output_axes = axes(cx, "scan_output_axes", &out_ranks)?;
    let scan_output_reverse = flags(cx, "scan_output_directions", out_ranks.len())?;
    let n_outputs = graph.outputs.len();
    Ok(Converted {
        op: Op::Scan(ScanAttrs {
            body: Box::new(graph),
            num_scan_inputs: head.num_scan_inputs,
            scan_input_axes: head.scan_input_axes,
            scan_input_reverse: head.scan_input_reverse,
            scan_output_axes,
            scan_output_reverse,
        }),
        inputs: inputs.to_vec(),
        n_outputs,
    })
}

/// A list attribute of `n` flags written as 0 or 1 (all 0 when absent).
fn flags(cx: &NodeCx, name: &str, n: usize) -> Result<Vec<bool>, ImportError> {
    match cx.ints(name)? {
        None => Ok(vec![false; n]),
        Some(v) if v.len() == n => v
            .iter()
            .map(|&d| match d {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(cx.error(format!("{name} of Scan must hold 0 or 1, found {d}"))),
            })
            .collect(),
        Some(v) => Err(cx.error(format!(
            "{name} of Scan has {} entries, expected {n}",
            v.len()
        ))),
    }
}

/// A list attribute of one axis per tensor of the given ranks (all 0 when absent).
fn axes(cx: &NodeCx, name: &str, ranks: &[usize]) -> Result<Vec<usize>, ImportError> {
    let raw = match cx.ints(name)? {
        None => vec![0; ranks.len()],
        Some(v) if v.len() == ranks.len() => v.to_vec(),
        Some(v) => {
            return Err(cx.error(format!(
                "{name} of Scan has {} entries, expected {}",
                v.len(),
                ranks.len()
            )))
        }
    };
    raw.iter()
        .zip(ranks)
        .map(|(&a, &r)| cx.axis(a, r, name))
        .collect()
}
