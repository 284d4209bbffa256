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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::interp::eval_op;
    use crate::network::interp::test_tensors::{f32_values, f32s};
    use crate::network::{Graph, Op, TensorType, ValueDef};

    /// Body: `s' = s + x_t`, `y_t = 2 s'`, on `[1]` tensors.
    fn running_sum_body() -> Graph {
        let ty = TensorType {
            dtype: DType::F32,
            shape: vec![1],
        };
        let mut g = Graph::default();
        let s = g.add_value("s", ty.clone(), ValueDef::Input(0));
        let x = g.add_value("x_t", ty.clone(), ValueDef::Input(1));
        g.inputs = vec![s, x];
        let two = g.add_const("two", f32s(&[1], &[2.0]));
        let s2 = g.add_node(
            "add",
            Op::Add,
            vec![Some(s), Some(x)],
            vec![("s2".into(), ty.clone())],
        );
        let y = g.add_node(
            "mul",
            Op::Mul,
            vec![Some(s2[0]), Some(two)],
            vec![("y".into(), ty)],
        );
        g.outputs = vec![s2[0], y[0]];
        g
    }

    fn scan(input_reverse: bool, output_axis: usize, output_reverse: bool) -> Op {
        Op::Scan(ScanAttrs {
            body: Box::new(running_sum_body()),
            num_scan_inputs: 1,
            scan_input_axes: vec![0],
            scan_input_reverse: vec![input_reverse],
            scan_output_axes: vec![output_axis],
            scan_output_reverse: vec![output_reverse],
        })
    }

    #[test]
    fn running_sum_in_every_direction() {
        let s0 = f32s(&[1], &[0.0]);
        let x = f32s(&[3, 1], &[1.0, 2.0, 3.0]);
        let inputs = [Some(&s0), Some(&x)];
        // Forward: s = 1, 3, 6; y = 2, 6, 12.
        let out = eval_op(&scan(false, 0, false), &inputs, 2).unwrap();
        assert_eq!(f32_values(&out[0]), vec![6.0]);
        assert_eq!(out[1].shape(), &[3, 1]);
        assert_eq!(f32_values(&out[1]), vec![2.0, 6.0, 12.0]);
        // Input read back to front: s = 3, 5, 6.
        let out = eval_op(&scan(true, 0, false), &inputs, 2).unwrap();
        assert_eq!(f32_values(&out[1]), vec![6.0, 10.0, 12.0]);
        // Output along axis 1, written back to front.
        let out = eval_op(&scan(false, 1, true), &inputs, 2).unwrap();
        assert_eq!(out[1].shape(), &[1, 3]);
        assert_eq!(f32_values(&out[1]), vec![12.0, 6.0, 2.0]);
    }

    #[test]
    fn zero_iterations_give_empty_outputs() {
        let s0 = f32s(&[1], &[4.0]);
        let x = f32s(&[0, 1], &[]);
        let out = eval_op(&scan(false, 1, false), &[Some(&s0), Some(&x)], 2).unwrap();
        assert_eq!(f32_values(&out[0]), vec![4.0]);
        assert_eq!(out[1].shape(), &[1, 0]);
    }

    #[test]
    fn mismatches_are_errors() {
        let s0 = f32s(&[1], &[0.0]);
        let x = f32s(&[3, 1], &[1.0, 2.0, 3.0]);
        assert!(eval_op(&scan(false, 0, false), &[Some(&s0), Some(&x)], 1).is_err());
        assert!(eval_op(&scan(false, 0, false), &[Some(&x)], 2).is_err());
        // A slice of the wrong shape fails inside the body, at the step's input check.
        let wide = f32s(&[3, 2], &[1.0; 6]);
        let err = eval_op(&scan(false, 0, false), &[Some(&s0), Some(&wide)], 2).unwrap_err();
        assert!(err.message.contains("iteration 0"), "{}", err.message);
    }
}
