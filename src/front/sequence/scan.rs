//! One iteration of ONNX `Scan`: its body inlined once.
//!
//! At sequence length 1 each scan input holds one slice: the body reads it with the scan axis
//! squeezed away, and each scan output gets the axis back by an `Unsqueeze`. The state operands
//! become state inputs of the cell and the body's state results its state outputs.

use crate::diag::Location;
use crate::network::{Graph, Node, ScanAttrs, TimeDirection, ValueDef};

use super::emit::{base_name, node_ref, source_value, Builder, StateSlot, ValueMap};
use super::RollError;

/// Inlines the body of `Scan` node `node` (position `index` of `src`) once, appending its state
/// slots to `states` and mapping its outputs; returns the direction of its loop.
///
/// Errors (located at the node) when a state operand is not a constant, a scan axis is not of
/// length 1, the body's signature does not fit the node, the body contains a recurrent op, or
/// the scan inputs and outputs do not all run the same way.
pub(crate) fn inline(
    b: &mut Builder,
    map: &mut ValueMap,
    src: &Graph,
    node: &Node,
    index: usize,
    attrs: &ScanAttrs,
    states: &mut Vec<StateSlot>,
) -> Result<TimeDirection, RollError> {
    let location = Location::Node(node_ref(node));
    b.location = location.clone();
    let located = |message: String| RollError {
        message,
        location: location.clone(),
    };
    let base = base_name(node, index);
    let body: &Graph = &attrs.body;
    let scan_inputs = attrs.num_scan_inputs;
    if scan_inputs == 0 || scan_inputs > node.inputs.len() {
        return Err(located(format!(
            "num_scan_inputs is {scan_inputs} for {} operands",
            node.inputs.len()
        )));
    }
    let state_count = node.inputs.len() - scan_inputs;
    let scan_outputs = body
        .outputs
        .len()
        .checked_sub(state_count)
        .ok_or_else(|| located("the body has fewer outputs than the loop has states".into()))?;
    if body.inputs.len() != node.inputs.len()
        || node.outputs.len() != body.outputs.len()
        || attrs.scan_input_axes.len() != scan_inputs
        || attrs.scan_input_reverse.len() != scan_inputs
        || attrs.scan_output_axes.len() != scan_outputs
        || attrs.scan_output_reverse.len() != scan_outputs
    {
        return Err(located(format!(
            "the body ({} inputs, {} outputs) does not fit the node ({} operands, {} results, {scan_inputs} scan inputs)",
            body.inputs.len(),
            body.outputs.len(),
            node.inputs.len(),
            node.outputs.len()
        )));
    }
    let direction = direction(attrs).map_err(located)?;

    let mut inner = ValueMap::new(body, format!("{base}/"));
    let first_state = states.len();
    for (i, (operand, &body_input)) in node.inputs.iter().zip(&body.inputs).enumerate() {
        let operand =
            operand.ok_or_else(|| located(format!("operand {i} of the Scan is missing")))?;
        let outer = source_value(src, operand)?;
        let inner_value = source_value(body, body_input)?;
        if i < state_count {
            let Some(init) = src.constant(operand) else {
                return Err(located(format!(
                    "the initial state \"{}\" is not a constant: the initial state of a cell must be known before the first step",
                    outer.name.escape_debug()
                )));
            };
            if init.ty() != inner_value.ty {
                return Err(located(format!(
                    "state {i}: the initial value has type {:?}, the body reads {:?}",
                    init.ty(),
                    inner_value.ty
                )));
            }
            let input = b.input(inner.name(&inner_value.name), inner_value.ty.clone());
            inner.set(body_input, input);
            states.push(StateSlot {
                input,
                output: input,
                init: init.clone(),
            });
        } else {
            let k = i - state_count;
            let axis = attrs.scan_input_axes[k];
            let whole = map.operand(b, src, operand)?;
            let slice = b.squeeze(&inner.name(&inner_value.name), whole, axis)?;
            if b.ty(slice) != &inner_value.ty {
                return Err(located(format!(
                    "scan input {k} (\"{}\") gives slices of type {:?}, the body reads {:?}",
                    outer.name.escape_debug(),
                    b.ty(slice),
                    inner_value.ty
                )));
            }
            inner.set(body_input, slice);
        }
    }

    for body_node in &body.nodes {
        check_primitive(body_node).map_err(&located)?;
        inner.copy_node(b, body, body_node)?;
    }
    // Constants of the body that are returned directly still need a value in the cell.
    for &out in &body.outputs {
        if let ValueDef::Const(_) = source_value(body, out)?.def {
            inner.operand(b, body, out)?;
        }
    }

    for (j, (&body_out, &node_out)) in body.outputs.iter().zip(&node.outputs).enumerate() {
        let result = inner.get(body_out).ok_or_else(|| {
            located(format!(
                "body output {j} is not computed by the body (it reads no defined value)"
            ))
        })?;
        if j < state_count {
            let slot = &mut states[first_state + j];
            if b.ty(result) != b.ty(slot.input) {
                return Err(located(format!(
                    "state {j} changes type from {:?} to {:?} in one iteration",
                    b.ty(slot.input),
                    b.ty(result)
                )));
            }
            slot.output = result;
            map.set(node_out, result);
        } else {
            let k = j - state_count;
            let name = source_value(src, node_out)?.name.clone();
            let full = b.unsqueeze(&name, result, attrs.scan_output_axes[k])?;
            map.set(node_out, full);
        }
    }
    Ok(direction)
}

/// The direction of a Scan: forward when nothing is reversed, reverse when every scan input and
/// output is reversed.
fn direction(attrs: &ScanAttrs) -> Result<TimeDirection, String> {
    let flags: Vec<bool> = attrs
        .scan_input_reverse
        .iter()
        .chain(&attrs.scan_output_reverse)
        .copied()
        .collect();
    if flags.iter().all(|&r| !r) {
        Ok(TimeDirection::Forward)
    } else if flags.iter().all(|&r| r) {
        Ok(TimeDirection::Reverse)
    } else {
        Err("some scan inputs or outputs run forward and others in reverse: the Scan is not one causal loop over time".into())
    }
}

/// Refuses a recurrent op inside a Scan body (it would loop over an inner sequence).
fn check_primitive(node: &Node) -> Result<(), String> {
    if node.op.is_recurrent() {
        Err(format!(
            "the body contains {} (\"{}\"), a loop inside the loop, which a cell cannot hold",
            node.op.onnx_name(),
            node.name.escape_debug()
        ))
    } else {
        Ok(())
    }
}
