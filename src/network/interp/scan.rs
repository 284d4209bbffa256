//! ONNX `Scan` (opset 9 and later): a body graph run once per slice of the scan inputs.
//!
//! Operands are the initial states then the scan inputs; the body takes `[states..., slices...]`
//! and returns `[new states..., scan output parts...]`. The op returns the final states, then each
//! scan output: its per-iteration parts stacked along its scan output axis.

use ndarray::{stack, ArrayD, Axis, IxDyn};

use super::{fail, run_graph, shape_text, Element, InterpError, Operands};
use crate::network::{DType, ScanAttrs, Tensor};

/// Evaluates a `Scan`. Axis and reverse lists shorter than the number of scan inputs or outputs
/// default to axis 0 and forward order, as in ONNX.
pub(super) fn eval(
    attrs: &ScanAttrs,
    ops: &Operands<'_>,
    n_outputs: usize,
) -> Result<Vec<Tensor>, InterpError> {
    let body = &attrs.body;
    let n_scan = attrs.num_scan_inputs;
    let n_in = ops.inputs.len();
    if n_scan == 0 || n_scan > n_in {
        return fail(format!(
            "num_scan_inputs is {n_scan} but the op has {n_in} operands"
        ));
    }
    let n_states = n_in - n_scan;
    if body.inputs.len() != n_in {
        return fail(format!(
            "the body takes {} inputs, the op has {n_in} operands",
            body.inputs.len()
        ));
    }
    if body.outputs.len() < n_states || n_outputs != body.outputs.len() {
        return fail(format!(
            "the body has {} outputs for {n_states} states; {n_outputs} outputs requested",
            body.outputs.len()
        ));
    }
    let n_scan_out = body.outputs.len() - n_states;

    let mut scanned = Vec::with_capacity(n_scan);
    let mut iterations = None;
    for j in 0..n_scan {
        let t = ops.get(n_states + j)?;
        let axis = attrs.scan_input_axes.get(j).copied().unwrap_or(0);
        let reverse = attrs.scan_input_reverse.get(j).copied().unwrap_or(false);
        let Some(&len) = t.shape().get(axis) else {
            return fail(format!(
                "scan input {j} of shape {} has no axis {axis}",
                shape_text(t.shape())
            ));
        };
        match iterations {
            Some(n) if n != len => {
                return fail(format!(
                    "scan inputs disagree on the number of iterations ({n} and {len})"
                ))
            }
            Some(_) | None => iterations = Some(len),
        }
        scanned.push((t, axis, reverse));
    }
    let iterations = iterations.unwrap_or(0);

    let mut states: Vec<Tensor> = (0..n_states)
        .map(|i| ops.get(i).cloned())
        .collect::<Result<_, _>>()?;
    let mut parts: Vec<Vec<Tensor>> = vec![Vec::with_capacity(iterations); n_scan_out];
    for it in 0..iterations {
        let mut inputs = states;
        for &(t, axis, reverse) in &scanned {
            let index = if reverse { iterations - 1 - it } else { it };
            inputs.push(index_axis(t, axis, index));
        }
        let mut outputs = run_graph(body, &inputs).map_err(|e| InterpError {
            message: format!("Scan iteration {it}: {}", e.message),
            location: e.location,
        })?;
        let outs = outputs.split_off(n_states);
        states = outputs;
        for (k, part) in outs.into_iter().enumerate() {
            parts[k].push(part);
        }
    }

    let mut results = states;
    for (k, mut list) in parts.into_iter().enumerate() {
        let axis = attrs.scan_output_axes.get(k).copied().unwrap_or(0);
        if attrs.scan_output_reverse.get(k).copied().unwrap_or(false) {
            list.reverse();
        }
        let declared = body
            .values
            .get(body.outputs[n_states + k].0 as usize)
            .map(|v| &v.ty)
            .ok_or_else(|| InterpError::new(format!("scan output {k} handle out of range")))?;
        if axis > declared.shape.len() {
            return fail(format!(
                "scan output {k} axis {axis} out of range for part shape {}",
                shape_text(&declared.shape)
            ));
        }
        let mut empty_shape = declared.shape.clone();
        empty_shape.insert(axis, 0);
        results.push(match declared.dtype {
            DType::F32 => stack_parts::<f32>(&list, axis, &empty_shape)?,
            DType::I64 => stack_parts::<i64>(&list, axis, &empty_shape)?,
            DType::Bool => stack_parts::<bool>(&list, axis, &empty_shape)?,
        });
    }
    Ok(results)
}

/// The slice `index` of a tensor along `axis` (the axis removed); both are in range.
fn index_axis(t: &Tensor, axis: usize, index: usize) -> Tensor {
    match t {
        Tensor::F32(a) => Tensor::F32(a.index_axis(Axis(axis), index).to_owned()),
        Tensor::I64(a) => Tensor::I64(a.index_axis(Axis(axis), index).to_owned()),
        Tensor::Bool(a) => Tensor::Bool(a.index_axis(Axis(axis), index).to_owned()),
    }
}

/// Stacks per-iteration parts along a new `axis`; no parts give an empty tensor of `empty_shape`.
fn stack_parts<T: Element>(
    parts: &[Tensor],
    axis: usize,
    empty_shape: &[usize],
) -> Result<Tensor, InterpError> {
    if parts.is_empty() {
        return Ok(T::tensor(ArrayD::default(IxDyn(empty_shape))));
    }
    let views = parts
        .iter()
        .map(|p| {
            T::array(p)
                .map(|a| a.view())
                .ok_or_else(|| InterpError::new("a scan output part has the wrong element type"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    stack(Axis(axis), &views)
        .map(T::tensor)
        .map_err(|e| InterpError::new(format!("cannot stack scan output parts: {e}")))
}
