//! ONNX `RNN`, `GRU` and `LSTM` to network IR ops, with every attribute resolved.
//!
//! Activations are filled with the op's defaults for every direction; `activation_alpha` and
//! `activation_beta` are consumed in order by the activations that take them, and an activation
//! left without a value gets the default of the ONNX operator of the same name. A constant
//! `sequence_lens` equal to the sequence length everywhere is dropped; any other is refused.

use super::attrs::NodeCx;
use super::scope::{Converted, Scope};
use super::ImportError;
use crate::network::{Activation, Direction, Op, RecurrentAttrs, Tensor, ValueId};

/// Converts an `RNN`, `GRU` or `LSTM` node.
pub(super) fn convert(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Converted, ImportError> {
    let kind = cx.node.op_type.as_str();
    let (gates, defaults, max_inputs): (usize, &[Activation], usize) = match kind {
        "GRU" => (3, &[Activation::Sigmoid, Activation::Tanh], 6),
        "LSTM" => (
            4,
            &[Activation::Sigmoid, Activation::Tanh, Activation::Tanh],
            8,
        ),
        _ => (1, &[Activation::Tanh], 6),
    };
    if inputs.len() > max_inputs {
        return Err(cx.error(format!(
            "{kind} takes at most {max_inputs} inputs, found {}",
            inputs.len()
        )));
    }
    let x = scope.ty(cx.operand(inputs, 0)?).clone();
    let w = scope.ty(cx.operand(inputs, 1)?).clone();
    cx.operand(inputs, 2)?;

    let direction = match cx.string("direction")?.as_deref() {
        None | Some("forward") => Direction::Forward,
        Some("reverse") => Direction::Reverse,
        Some("bidirectional") => Direction::Bidirectional,
        Some(other) => {
            return Err(cx.error(format!(
                "{kind} has the unknown direction \"{}\"",
                other.escape_debug()
            )))
        }
    };
    let dirs = if direction == Direction::Bidirectional {
        2
    } else {
        1
    };
    let batch_major = match cx.int_or("layout", 0)? {
        0 => false,
        1 => true,
        other => return Err(cx.error(format!("{kind} has the unknown layout {other}"))),
    };
    let hidden_size = match cx.int("hidden_size")? {
        Some(h) => usize::try_from(h)
            .ok()
            .filter(|&h| h > 0)
            .ok_or_else(|| cx.error(format!("{kind} has the invalid hidden_size {h}")))?,
        None => match w.shape[..] {
            [_, rows, _] if rows % gates == 0 && rows > 0 => rows / gates,
            _ => {
                return Err(cx.error(format!(
                    "{kind} has no hidden_size and its W of shape {:?} does not give one",
                    w.shape
                )))
            }
        },
    };
    let activations = activations(cx, defaults, dirs)?;
    let clip = match cx.float("clip")? {
        None => None,
        Some(c) if c > 0.0 => Some(c),
        Some(c) => return Err(cx.error(format!("{kind} has the invalid clip {c}"))),
    };
    let attrs = RecurrentAttrs {
        hidden_size,
        direction,
        activations,
        clip,
        batch_major,
    };

    let mut inputs = inputs.to_vec();
    if let Some(id) = inputs.get(4).copied().flatten() {
        let steps = match (&x.shape[..], batch_major) {
            (&[_, t, _], true) | (&[t, _, _], false) => t,
            _ => return Err(cx.error(format!("X of {kind} must have rank 3, found {:?}", x.shape))),
        };
        let full = match scope.constant(id) {
            Some(Tensor::I64(lens)) => lens.iter().all(|&l| usize::try_from(l) == Ok(steps)),
            Some(Tensor::F32(_) | Tensor::Bool(_)) | None => false,
        };
        if !full {
            return Err(cx.error(format!(
                "the sequence_lens of {kind} must be a constant equal to the sequence length \
                 ({steps}) for every example; variable lengths are not supported"
            )));
        }
        inputs[4] = None;
    }
    let op = match kind {
        "GRU" => Op::Gru {
            attrs,
            linear_before_reset: cx.flag_or("linear_before_reset", false)?,
        },
        "LSTM" => Op::Lstm {
            attrs,
            input_forget: cx.flag_or("input_forget", false)?,
        },
        _ => Op::Rnn(attrs),
    };
    Ok(Converted {
        op,
        inputs,
        n_outputs: cx.node.output.len(),
    })
}

/// The activations for all directions, parsed from the attributes or the op's defaults.
fn activations(
    cx: &NodeCx,
    defaults: &[Activation],
    dirs: usize,
) -> Result<Vec<Activation>, ImportError> {
    let per_dir = defaults.len();
    let Some(names) = cx.strings("activations")? else {
        if cx.has("activation_alpha") || cx.has("activation_beta") {
            return Err(cx.error("activation_alpha/activation_beta are given without activations"));
        }
        return Ok(defaults.repeat(dirs));
    };
    // A bidirectional layer may list the functions (and their parameters) once, for both
    // directions.
    let once = names.len() == per_dir && dirs == 2;
    let copies = if once { 2 } else { 1 };
    let names: Vec<String> = (0..copies).flat_map(|_| names.iter().cloned()).collect();
    if names.len() != per_dir * dirs {
        return Err(cx.error(format!(
            "{} needs {} activations ({per_dir} per direction), found {}",
            cx.op(),
            per_dir * dirs,
            names.len()
        )));
    }
    let alphas = cx.floats("activation_alpha")?.unwrap_or(&[]).repeat(copies);
    let betas = cx.floats("activation_beta")?.unwrap_or(&[]).repeat(copies);
    let (mut alpha, mut beta) = (alphas.iter().copied(), betas.iter().copied());
    let mut out = Vec::with_capacity(names.len());
    for name in &names {
        let mut a = |default: f32| alpha.next().unwrap_or(default);
        let activation = match name.to_ascii_lowercase().as_str() {
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "softsign" => Activation::Softsign,
            "softplus" => Activation::Softplus,
            "leakyrelu" => Activation::LeakyRelu { alpha: a(0.01) },
            "thresholdedrelu" => Activation::ThresholdedRelu { alpha: a(1.0) },
            "elu" => Activation::Elu { alpha: a(1.0) },
            "affine" => Activation::Affine {
                alpha: a(1.0),
                beta: beta.next().unwrap_or(0.0),
            },
            "scaledtanh" => Activation::ScaledTanh {
                alpha: a(1.0),
                beta: beta.next().unwrap_or(1.0),
            },
            "hardsigmoid" => Activation::HardSigmoid {
                alpha: a(0.2),
                beta: beta.next().unwrap_or(0.5),
            },
            _ => {
                return Err(cx.error(format!(
                    "{} has the unsupported activation \"{}\"",
                    cx.op(),
                    name.escape_debug()
                )))
            }
        };
        out.push(activation);
    }
    if alpha.next().is_some() || beta.next().is_some() {
        return Err(cx.error(format!(
            "{} has more activation_alpha/activation_beta values than its activations use",
            cx.op()
        )));
    }
    Ok(out)
}
