//! The activations of ONNX `RNN`, `GRU` and `LSTM`, and the cell clip, written with primitive ops.

use crate::network::{Activation, Op, ValueId};

use super::emit::Builder;
use super::RollError;

/// Applies `activation` to `x`; the created values are named `<name>...`, the result `<name>`.
///
/// Errors for the activations that the primitive ops cannot express exactly
/// (`ThresholdedRelu`, `Softplus`), naming the builder's location.
pub(crate) fn apply(
    b: &mut Builder,
    name: &str,
    activation: Activation,
    x: ValueId,
) -> Result<ValueId, RollError> {
    match activation {
        Activation::Relu => Ok(b.unary(name, Op::Relu, x)),
        Activation::Tanh => Ok(b.unary(name, Op::Tanh, x)),
        Activation::Sigmoid => Ok(b.unary(name, Op::Sigmoid, x)),
        Activation::Affine { alpha, beta } => affine(b, name, x, alpha, beta),
        // leaky_relu(x) = relu(x) - alpha * relu(-x)
        Activation::LeakyRelu { alpha } => {
            let positive = b.unary(&format!("{name}_pos"), Op::Relu, x);
            let negated = b.unary(&format!("{name}_neg_in"), Op::Neg, x);
            let negative = b.unary(&format!("{name}_neg"), Op::Relu, negated);
            let a = b.scalar(format!("{name}_alpha"), alpha);
            let scaled = b.binary(&format!("{name}_neg_scaled"), Op::Mul, a, negative)?;
            b.binary(name, Op::Sub, positive, scaled)
        }
        // scaled_tanh(x) = alpha * tanh(beta * x)
        Activation::ScaledTanh { alpha, beta } => {
            let bt = b.scalar(format!("{name}_beta"), beta);
            let inner = b.binary(&format!("{name}_in"), Op::Mul, bt, x)?;
            let t = b.unary(&format!("{name}_tanh"), Op::Tanh, inner);
            let a = b.scalar(format!("{name}_alpha"), alpha);
            b.binary(name, Op::Mul, a, t)
        }
        // hard_sigmoid(x) = clamp(alpha * x + beta, 0, 1) = relu(y) - relu(y - 1)
        Activation::HardSigmoid { alpha, beta } => {
            let y = affine(b, &format!("{name}_lin"), x, alpha, beta)?;
            let low = b.unary(&format!("{name}_low"), Op::Relu, y);
            let one = b.scalar(format!("{name}_one"), 1.0);
            let shifted = b.binary(&format!("{name}_shift"), Op::Sub, y, one)?;
            let high = b.unary(&format!("{name}_high"), Op::Relu, shifted);
            b.binary(name, Op::Sub, low, high)
        }
        // elu(x) = relu(x) + alpha * (exp(-relu(-x)) - 1)
        Activation::Elu { alpha } => {
            let positive = b.unary(&format!("{name}_pos"), Op::Relu, x);
            let negated = b.unary(&format!("{name}_neg_in"), Op::Neg, x);
            let relu_neg = b.unary(&format!("{name}_neg_relu"), Op::Relu, negated);
            let negative = b.unary(&format!("{name}_neg"), Op::Neg, relu_neg);
            let e = b.unary(&format!("{name}_exp"), Op::Exp, negative);
            let one = b.scalar(format!("{name}_one"), 1.0);
            let em1 = b.binary(&format!("{name}_expm1"), Op::Sub, e, one)?;
            let a = b.scalar(format!("{name}_alpha"), alpha);
            let scaled = b.binary(&format!("{name}_neg_scaled"), Op::Mul, a, em1)?;
            b.binary(name, Op::Add, positive, scaled)
        }
        // softsign(x) = x / (1 + |x|)
        Activation::Softsign => {
            let abs = b.unary(&format!("{name}_abs"), Op::Abs, x);
            let one = b.scalar(format!("{name}_one"), 1.0);
            let denominator = b.binary(&format!("{name}_den"), Op::Add, one, abs)?;
            b.binary(name, Op::Div, x, denominator)
        }
        Activation::ThresholdedRelu { .. } | Activation::Softplus => Err(RollError {
            message: format!(
                "activation {activation:?} cannot be written exactly with the primitive ops of a cell"
            ),
            location: b.location.clone(),
        }),
    }
}

/// `alpha * x + beta`.
fn affine(
    b: &mut Builder,
    name: &str,
    x: ValueId,
    alpha: f32,
    beta: f32,
) -> Result<ValueId, RollError> {
    let a = b.scalar(format!("{name}_alpha"), alpha);
    let scaled = b.binary(&format!("{name}_scaled"), Op::Mul, a, x)?;
    let bt = b.scalar(format!("{name}_beta"), beta);
    b.binary(name, Op::Add, scaled, bt)
}

/// Clips `x` to `[-threshold, threshold]`: `relu(x + c) - relu(x - c) - c`.
pub(crate) fn clip(
    b: &mut Builder,
    name: &str,
    x: ValueId,
    threshold: f32,
) -> Result<ValueId, RollError> {
    let c = b.scalar(format!("{name}_clip"), threshold);
    let up = b.binary(&format!("{name}_up"), Op::Add, x, c)?;
    let up = b.unary(&format!("{name}_up_relu"), Op::Relu, up);
    let down = b.binary(&format!("{name}_down"), Op::Sub, x, c)?;
    let down = b.unary(&format!("{name}_down_relu"), Op::Relu, down);
    let diff = b.binary(&format!("{name}_diff"), Op::Sub, up, down)?;
    b.binary(name, Op::Sub, diff, c)
}
