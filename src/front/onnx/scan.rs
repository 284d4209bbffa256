//! ONNX `Scan` (opset 9 and later) to [`Op::Scan`], importing its body recursively.
//!
//! The body's inputs are typed from the outer operands: a state as the outer initial state, a
//! scan slice as the outer scan input without its scan axis. The body may read outer values
//! implicitly only when they are constants; they are copied into the body.

use tract_onnx::pb::GraphProto;

use super::attrs::NodeCx;
use super::build::{prune, Builder, Converted, ImportCx};
use super::{decode, ImportError};
use crate::network::{Graph, Op, ScanAttrs, TensorType, ValueDef, ValueId};

/// Converts a `Scan` node, importing its body.
pub(super) fn convert(
    cx: &NodeCx,
    b: &Builder,
    inputs: &[Option<ValueId>],
) -> Result<Converted, ImportError> {
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
        types.push(b.ty(id).clone());
    }

    let flags = |name: &str, n: usize| -> Result<Vec<bool>, ImportError> {
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
    };
    let axes = |name: &str, ranks: &[usize]| -> Result<Vec<usize>, ImportError> {
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
    };

    let scan_ranks: Vec<usize> = types[n_states..].iter().map(|t| t.shape.len()).collect();
    let scan_input_axes = axes("scan_input_axes", &scan_ranks)?;
    let scan_input_reverse = flags("scan_input_directions", m)?;
    let mut body_types = types[..n_states].to_vec();
    for (t, &axis) in types[n_states..].iter().zip(&scan_input_axes) {
        let mut shape = t.shape.clone();
        shape.remove(axis);
        body_types.push(TensorType {
            dtype: t.dtype,
            shape,
        });
    }
    let graph = import_body(cx, b, body, body_types)?;

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
    let scan_output_axes = axes("scan_output_axes", &out_ranks)?;
    let scan_output_reverse = flags("scan_output_directions", out_ranks.len())?;
    let n_outputs = graph.outputs.len();
    Ok(Converted {
        op: Op::Scan(ScanAttrs {
            body: Box::new(graph),
            num_scan_inputs: m,
            scan_input_axes,
            scan_input_reverse,
            scan_output_axes,
            scan_output_reverse,
        }),
        inputs: inputs.to_vec(),
        n_outputs,
    })
}

/// Imports a `Scan` body whose inputs have the given types.
fn import_body(
    cx: &NodeCx,
    outer: &Builder,
    body: &GraphProto,
    types: Vec<TensorType>,
) -> Result<Graph, ImportError> {
    let inner_cx = ImportCx {
        depth: outer.cx.depth + 1,
        ..outer.cx.clone()
    };
    let mut b = Builder::new(inner_cx, Some(outer))?;
    b.add_initializers(&body.initializer)?;
    if body.input.len() != types.len() {
        return Err(cx.error(format!(
            "the Scan body takes {} inputs, but the node gives it {}",
            body.input.len(),
            types.len()
        )));
    }
    for (i, (info, ty)) in body.input.iter().zip(types).enumerate() {
        let location = cx.location();
        if let Some((code, _)) = decode::declared(info.r#type.as_ref()).filter(|(c, _)| *c != 0) {
            let what = format!("body input \"{}\"", info.name.escape_debug());
            let declared = decode::dtype_of(code, &what, &location)?;
            if declared != ty.dtype {
                return Err(cx.error(format!(
                    "{what} is declared {declared:?} but the Scan gives it {:?}",
                    ty.dtype
                )));
            }
        }
        let id = b.graph.add_value(info.name.clone(), ty, ValueDef::Input(i));
        b.graph.inputs.push(id);
        b.define(&info.name, id, &location)?;
    }
    b.import_nodes(&body.node)?;
    for info in &body.output {
        let id = b.resolve(&info.name, &cx.location())?;
        b.graph.outputs.push(id);
    }
    Ok(prune(b.graph))
}
