//! One time step of ONNX `RNN`, `GRU` and `LSTM` (one direction, batch 1) in primitive ops.
//!
//! At sequence length 1 and batch 1 the `layout` attribute changes no shape: `X` is `[1, 1, d]`,
//! `initial_h`, `Y_h` and `Y_c` are `[1, 1, H]` and `Y` is `[1, 1, 1, H]` either way. So the step
//! works on rows `[1, d]` and `[1, H]` and reshapes back to the op's own output shapes.

use ndarray::{Array1, Array2, ArrayD, Axis, Ix2, Ix3, Slice};

use crate::diag::Location;
use crate::network::{Activation, Graph, Node, Op, RecurrentLayer, Tensor, TensorType, ValueId};

use super::activation::{apply, clip};
use super::emit::{
    base_name, f32_type, node_ref, source_value, zeros, Builder, StateSlot, ValueMap,
};
use super::RollError;

/// The operands and constants of one recurrent node, checked against its attributes.
struct Step<'g> {
    node: &'g Node,
    base: String,
    hidden: usize,
    /// `W[0]`, `[gates * H, d]`.
    w: Array2<f32>,
    /// `R[0]`, `[gates * H, H]`.
    r: Array2<f32>,
    /// `B[0]` split in `Wb` and `Rb`, each `[gates * H]`.
    bias: Option<(Array1<f32>, Array1<f32>)>,
    activations: Vec<Activation>,
    clip: Option<f32>,
}

impl Step<'_> {
    fn error(&self, message: String) -> RollError {
        RollError {
            message,
            location: Location::Node(node_ref(self.node)),
        }
    }

    /// Rows `g * H .. (g + 1) * H` of a stacked weight matrix, as a constant.
    fn gate_rows(&self, b: &mut Builder, m: &Array2<f32>, gate: usize, name: &str) -> ValueId {
        let h = self.hidden;
        let rows = m
            .slice_axis(Axis(0), Slice::from(gate * h..(gate + 1) * h))
            .to_owned();
        b.constant(
            format!("{}/{name}", self.base),
            Tensor::F32(rows.into_dyn()),
        )
    }

    /// The `(Wb, Rb)` halves of the bias of gate `gate`, when the node has a bias.
    fn gate_bias(&self, gate: usize) -> Option<(Array1<f32>, Array1<f32>)> {
        let h = self.hidden;
        self.bias.as_ref().map(|(wb, rb)| {
            (
                wb.slice_axis(Axis(0), Slice::from(gate * h..(gate + 1) * h))
                    .to_owned(),
                rb.slice_axis(Axis(0), Slice::from(gate * h..(gate + 1) * h))
                    .to_owned(),
            )
        })
    }

    /// `x W_g^T + h R_g^T + (Wb_g + Rb_g)` for gate `gate`, its values labelled `label`.
    fn linear(
        &self,
        b: &mut Builder,
        gate: usize,
        label: &str,
        x: ValueId,
        h: ValueId,
    ) -> Result<ValueId, RollError> {
        let w = self.gate_rows(b, &self.w, gate, &format!("W_{label}"));
        let r = self.gate_rows(b, &self.r, gate, &format!("R_{label}"));
        let bias = self.gate_bias(gate).map(|(wb, rb)| {
            let sum = wb + rb;
            b.constant(
                format!("{}/b_{label}", self.base),
                Tensor::F32(sum.into_dyn()),
            )
        });
        let base = &self.base;
        let xw = b.gemm_bt(&format!("{base}/{label}_x"), x, w, bias)?;
        let hr = b.gemm_bt(&format!("{base}/{label}_h"), h, r, None)?;
        b.binary(&format!("{base}/{label}_pre"), Op::Add, xw, hr)
    }

    /// Clips (when the node has `clip`) and applies activation number `which`.
    fn activate(
        &self,
        b: &mut Builder,
        which: usize,
        name: &str,
        pre: ValueId,
    ) -> Result<ValueId, RollError> {
        let pre = match self.clip {
            Some(c) => clip(b, &format!("{name}_clipped"), pre, c)?,
            None => pre,
        };
        let activation = *self
            .activations
            .get(which)
            .ok_or_else(|| self.error(format!("activation number {which} is missing")))?;
        apply(b, name, activation, pre)
    }
}

/// Replaces recurrent node `node` (position `index` of `src`) by its one-step computation,
/// appending its state slots (`h`, then `c` for `LSTM`) to `states` and mapping its outputs.
///
/// Errors (located at the node) when an operand has an unexpected shape, when a weight or the
/// initial state is not a constant, when `sequence_lens` is not all ones, or for an activation
/// the primitive ops cannot express.
pub(crate) fn expand(
    b: &mut Builder,
    map: &mut ValueMap,
    src: &Graph,
    node: &Node,
    index: usize,
    kind: RecurrentLayer<'_>,
    states: &mut Vec<StateSlot>,
) -> Result<(), RollError> {
    b.location = Location::Node(node_ref(node));
    let step = check(src, node, index, kind)?;
    let h = step.hidden;
    let d = step.w.ncols();
    let base = step.base.clone();

    let x_op = operand(node, 0).ok_or_else(|| step.error("the input X is missing".into()))?;
    let x = map.operand(b, src, x_op)?;
    if b.ty(x).shape != [1, 1, d] {
        return Err(step.error(format!(
            "X has shape {:?}, expected [1, 1, {d}] (the model imported at sequence length 1)",
            b.ty(x).shape
        )));
    }
    check_sequence_lens(src, &step, operand(node, 4))?;
    let x2 = b.reshape(&format!("{base}/x"), x, vec![1, d])?;

    let h_init = initial_state(src, &step, operand(node, 5), "initial_h")?;
    let h_prev = b.input(format!("{base}/h_prev"), f32_type(&[1, 1, h]));
    let h2 = b.reshape(&format!("{base}/h"), h_prev, vec![1, h])?;

    let mut new_c = None;
    let h_next = match kind {
        RecurrentLayer::Rnn(_) => {
            let pre = step.linear(b, 0, "i", x2, h2)?;
            step.activate(b, 0, &format!("{base}/h_next"), pre)?
        }
        RecurrentLayer::Gru {
            linear_before_reset,
            ..
        } => gru(b, &step, x2, h2, linear_before_reset)?,
        RecurrentLayer::Lstm { input_forget, .. } => {
            let c_init = initial_state(src, &step, operand(node, 6), "initial_c")?;
            let c_prev = b.input(format!("{base}/c_prev"), f32_type(&[1, 1, h]));
            let c2 = b.reshape(&format!("{base}/c"), c_prev, vec![1, h])?;
            let peepholes = peepholes(src, &step, operand(node, 7))?;
            let (h_next, c_next) = lstm(b, &step, x2, h2, c2, peepholes, input_forget)?;
            new_c = Some((c_prev, c_next, c_init));
            h_next
        }
    };

    // Output `k` of the node: `value` reshaped to its declared shape (else `default_shape`).
    let write_output = |b: &mut Builder,
                        map: &mut ValueMap,
                        k: usize,
                        suffix: &str,
                        value: ValueId,
                        default_shape: &[usize]|
     -> Result<ValueId, RollError> {
        let shape = declared_shape(src, &step, node.outputs.get(k).copied(), default_shape)?;
        let name = output_name(src, node, k, &format!("{base}/{suffix}"));
        let out = b.reshape(&name, value, shape)?;
        if let Some(&id) = node.outputs.get(k) {
            map.set(id, out);
        }
        Ok(out)
    };
    write_output(b, map, 0, "Y", h_next, &[1, 1, 1, h])?;
    let y_h = write_output(b, map, 1, "Y_h", h_next, &[1, 1, h])?;
    states.push(StateSlot {
        input: h_prev,
        output: y_h,
        init: h_init,
    });
    if let Some((c_prev, c_next, c_init)) = new_c {
        let y_c = write_output(b, map, 2, "Y_c", c_next, &[1, 1, h])?;
        states.push(StateSlot {
            input: c_prev,
            output: y_c,
            init: c_init,
        });
    }
    Ok(())
}

/// GRU, gates z, r, h: `h' = (1 - z) * h~ + z * h`.
fn gru(
    b: &mut Builder,
    step: &Step<'_>,
    x2: ValueId,
    h2: ValueId,
    linear_before_reset: bool,
) -> Result<ValueId, RollError> {
    let base = &step.base;
    let z_pre = step.linear(b, 0, "z", x2, h2)?;
    let z = step.activate(b, 0, &format!("{base}/z_gate"), z_pre)?;
    let r_pre = step.linear(b, 1, "r", x2, h2)?;
    let r = step.activate(b, 0, &format!("{base}/r_gate"), r_pre)?;
    let h_pre = if linear_before_reset {
        // h~ = g(x Wh^T + Wbh + r * (h Rh^T + Rbh)): the recurrent bias is inside the reset.
        let w = step.gate_rows(b, &step.w, 2, "W_h");
        let rm = step.gate_rows(b, &step.r, 2, "R_h");
        let (wb, rb) = match step.gate_bias(2) {
            Some((wb, rb)) => (
                Some(b.constant(format!("{base}/Wb_h"), Tensor::F32(wb.into_dyn()))),
                Some(b.constant(format!("{base}/Rb_h"), Tensor::F32(rb.into_dyn()))),
            ),
            None => (None, None),
        };
        let xw = b.gemm_bt(&format!("{base}/h_x"), x2, w, wb)?;
        let hr = b.gemm_bt(&format!("{base}/h_h"), h2, rm, rb)?;
        let gated = b.binary(&format!("{base}/h_h_reset"), Op::Mul, r, hr)?;
        b.binary(&format!("{base}/h_pre"), Op::Add, xw, gated)?
    } else {
        // h~ = g(x Wh^T + (r * h) Rh^T + Wbh + Rbh).
        let reset_h = b.binary(&format!("{base}/h_reset"), Op::Mul, r, h2)?;
        step.linear(b, 2, "h", x2, reset_h)?
    };
    let candidate = step.activate(b, 1, &format!("{base}/h_gate"), h_pre)?;
    let one = b.scalar(format!("{base}/one"), 1.0);
    let keep_new = b.binary(&format!("{base}/one_minus_z"), Op::Sub, one, z)?;
    let new_part = b.binary(&format!("{base}/h_new_part"), Op::Mul, keep_new, candidate)?;
    let old_part = b.binary(&format!("{base}/h_old_part"), Op::Mul, z, h2)?;
    b.binary(&format!("{base}/h_next"), Op::Add, new_part, old_part)
}

/// Peephole weights `(P_i, P_o, P_f)`, each `[H]`.
type Peepholes = Option<(Array1<f32>, Array1<f32>, Array1<f32>)>;

/// LSTM, gates i, o, f, c: `C' = f * C + i * c~`, `h' = o * h(C')`.
fn lstm(
    b: &mut Builder,
    step: &Step<'_>,
    x2: ValueId,
    h2: ValueId,
    c2: ValueId,
    peepholes: Peepholes,
    input_forget: bool,
) -> Result<(ValueId, ValueId), RollError> {
    let base = &step.base;
    let peephole = |b: &mut Builder,
                    pre: ValueId,
                    p: &Array1<f32>,
                    c: ValueId,
                    label: &str|
     -> Result<ValueId, RollError> {
        let pv = b.constant(
            format!("{base}/P_{label}"),
            Tensor::F32(p.clone().into_dyn()),
        );
        let term = b.binary(&format!("{base}/{label}_peep"), Op::Mul, pv, c)?;
        b.binary(&format!("{base}/{label}_pre_peep"), Op::Add, pre, term)
    };
    let mut i_pre = step.linear(b, 0, "i", x2, h2)?;
    if let Some((pi, _, _)) = &peepholes {
        i_pre = peephole(b, i_pre, pi, c2, "i")?;
    }
    let i = step.activate(b, 0, &format!("{base}/i_gate"), i_pre)?;
    let f = if input_forget {
        // Coupled input and forget gates: f = 1 - i.
        let one = b.scalar(format!("{base}/one"), 1.0);
        b.binary(&format!("{base}/f_gate"), Op::Sub, one, i)?
    } else {
        let mut f_pre = step.linear(b, 2, "f", x2, h2)?;
        if let Some((_, _, pf)) = &peepholes {
            f_pre = peephole(b, f_pre, pf, c2, "f")?;
        }
        step.activate(b, 0, &format!("{base}/f_gate"), f_pre)?
    };
    let c_pre = step.linear(b, 3, "c", x2, h2)?;
    let candidate = step.activate(b, 1, &format!("{base}/c_gate"), c_pre)?;
    let kept = b.binary(&format!("{base}/c_kept"), Op::Mul, f, c2)?;
    let added = b.binary(&format!("{base}/c_added"), Op::Mul, i, candidate)?;
    let c_next = b.binary(&format!("{base}/c_next"), Op::Add, kept, added)?;
    let mut o_pre = step.linear(b, 1, "o", x2, h2)?;
    if let Some((_, po, _)) = &peepholes {
        o_pre = peephole(b, o_pre, po, c_next, "o")?;
    }
    let o = step.activate(b, 0, &format!("{base}/o_gate"), o_pre)?;
    // The cell clip bounds gate inputs only; h is applied to the unclipped cell state.
    let c_act = match step.activations.get(2) {
        Some(&activation) => apply(b, &format!("{base}/c_act"), activation, c_next)?,
        None => return Err(step.error("activation number 2 is missing".into())),
    };
    let h_next = b.binary(&format!("{base}/h_next"), Op::Mul, o, c_act)?;
    Ok((h_next, c_next))
}

/// The operand at position `i`, `None` when absent.
fn operand(node: &Node, i: usize) -> Option<ValueId> {
    node.inputs.get(i).copied().flatten()
}

/// Checks the attributes and reads the weights of a recurrent node.
fn check<'g>(
    src: &Graph,
    node: &'g Node,
    index: usize,
    kind: RecurrentLayer<'_>,
) -> Result<Step<'g>, RollError> {
    let attrs = kind.attrs();
    let located = |message: String| RollError {
        message,
        location: Location::Node(node_ref(node)),
    };
    let h = attrs.hidden_size;
    let gates = kind.gates();
    let w = constant_f32(src, node, operand(node, 1), "W")?;
    let r = constant_f32(src, node, operand(node, 2), "R")?;
    let w = w
        .into_dimensionality::<Ix3>()
        .map_err(|_| located("W must have rank 3".into()))?;
    let r = r
        .into_dimensionality::<Ix3>()
        .map_err(|_| located("R must have rank 3".into()))?;
    if h == 0 || w.shape()[2] == 0 {
        return Err(located(
            "hidden_size and the input size must be positive".into(),
        ));
    }
    if w.shape()[..2] != [1, gates * h] {
        return Err(located(format!(
            "W has shape {:?}, expected [1, {}, d] for one direction",
            w.shape(),
            gates * h
        )));
    }
    if r.shape() != [1, gates * h, h] {
        return Err(located(format!(
            "R has shape {:?}, expected [1, {}, {h}]",
            r.shape(),
            gates * h
        )));
    }
    let bias = match operand(node, 3) {
        None => None,
        Some(id) => {
            let bias = constant_f32(src, node, Some(id), "B")?
                .into_dimensionality::<Ix2>()
                .map_err(|_| located("B must have rank 2".into()))?;
            if bias.shape() != [1, 2 * gates * h] {
                return Err(located(format!(
                    "B has shape {:?}, expected [1, {}]",
                    bias.shape(),
                    2 * gates * h
                )));
            }
            let wb = bias
                .row(0)
                .slice_axis(Axis(0), Slice::from(..gates * h))
                .to_owned();
            let rb = bias
                .row(0)
                .slice_axis(Axis(0), Slice::from(gates * h..))
                .to_owned();
            Some((wb, rb))
        }
    };
    let count = kind.activation_count();
    if attrs.activations.len() < count {
        return Err(located(format!(
            "{} activations given, {count} needed",
            attrs.activations.len()
        )));
    }
    Ok(Step {
        node,
        base: base_name(node, index),
        hidden: h,
        w: w.index_axis_move(Axis(0), 0),
        r: r.index_axis_move(Axis(0), 0),
        bias,
        activations: attrs.activations[..count].to_vec(),
        clip: attrs.clip,
    })
}

/// The `f32` constant behind an operand, or an error naming the operand.
fn constant_f32(
    src: &Graph,
    node: &Node,
    id: Option<ValueId>,
    what: &str,
) -> Result<ArrayD<f32>, RollError> {
    let located = |message: String| RollError {
        message,
        location: Location::Node(node_ref(node)),
    };
    let id = id.ok_or_else(|| located(format!("the operand {what} is missing")))?;
    let value = source_value(src, id)?;
    match src.constant(id) {
        Some(Tensor::F32(a)) => Ok(a.clone()),
        Some(other) => Err(located(format!(
            "{what} (\"{}\") has element type {:?}, expected F32",
            value.name.escape_debug(),
            other.dtype()
        ))),
        None => Err(located(format!(
            "{what} (\"{}\") is not a constant; a cell keeps its weights as constants",
            value.name.escape_debug()
        ))),
    }
}

/// The initial state: the constant operand, or zeros when absent.
fn initial_state(
    src: &Graph,
    step: &Step<'_>,
    id: Option<ValueId>,
    what: &str,
) -> Result<Tensor, RollError> {
    let h = step.hidden;
    let Some(id) = id else {
        return Ok(zeros(&[1, 1, h]));
    };
    let value = source_value(src, id)?;
    match src.constant(id) {
        Some(t @ Tensor::F32(a)) if a.shape() == [1, 1, h] => Ok(t.clone()),
        Some(t) => Err(step.error(format!(
            "{what} (\"{}\") has type {:?} {:?}, expected F32 [1, 1, {h}]",
            value.name.escape_debug(),
            t.dtype(),
            t.shape()
        ))),
        None => Err(step.error(format!(
            "{what} (\"{}\") is not a constant: the initial state of a cell must be known before the first step",
            value.name.escape_debug()
        ))),
    }
}

/// Checks that `sequence_lens`, when given, is a constant of ones (one step, batch 1).
fn check_sequence_lens(src: &Graph, step: &Step<'_>, id: Option<ValueId>) -> Result<(), RollError> {
    let Some(id) = id else {
        return Ok(());
    };
    source_value(src, id)?;
    match src.constant(id) {
        Some(Tensor::I64(a)) if a.len() == 1 && a.iter().all(|&l| l == 1) => Ok(()),
        Some(_) | None => Err(step
            .error("sequence_lens must be absent or the constant [1] at sequence length 1".into())),
    }
}

/// The LSTM peephole weights, split in `(P_i, P_o, P_f)`.
fn peepholes(src: &Graph, step: &Step<'_>, id: Option<ValueId>) -> Result<Peepholes, RollError> {
    let Some(id) = id else {
        return Ok(None);
    };
    let h = step.hidden;
    let p = constant_f32(src, step.node, Some(id), "P")?;
    if p.shape() != [1, 3 * h] {
        return Err(step.error(format!(
            "P has shape {:?}, expected [1, {}]",
            p.shape(),
            3 * h
        )));
    }
    let flat: Vec<f32> = p.iter().copied().collect();
    let part = |k: usize| Array1::from(flat[k * h..(k + 1) * h].to_vec());
    Ok(Some((part(0), part(1), part(2))))
}

/// The shape the model declares for an output (`default` when the output is absent); its
/// element count must be that of `default`.
fn declared_shape(
    src: &Graph,
    step: &Step<'_>,
    id: Option<ValueId>,
    default: &[usize],
) -> Result<Vec<usize>, RollError> {
    let Some(id) = id else {
        return Ok(default.to_vec());
    };
    let ty: &TensorType = &source_value(src, id)?.ty;
    if ty.len() == default.iter().product::<usize>() {
        Ok(ty.shape.clone())
    } else {
        Err(step.error(format!(
            "output \"{}\" has shape {:?}, expected {default:?} at sequence length 1",
            source_value(src, id)?.name.escape_debug(),
            ty.shape
        )))
    }
}

/// The model's name for output `k` of `node`, or `default` when the output is absent.
fn output_name(src: &Graph, node: &Node, k: usize, default: &str) -> String {
    node.outputs
        .get(k)
        .and_then(|&id| src.values.get(id.0 as usize))
        .map(|v| v.name.clone())
        .unwrap_or_else(|| default.to_string())
}
