//! The anchor loss and its gradients through burn's autodiff on its Flex CPU backend: the
//! reference that the fused BPTT ([`crate::train::fused`]) is tested against, and a second
//! engine that [`crate::train::fit::fit`] trains with under `Engine::Burn`.
//!
//! The graph is the textbook one, recorded by burn and differentiated by it: per step
//! `z = [h_{t-1}; x_t]`, then each layer of `f` as `W z + b` with ReLU between layers, then `g`
//! on `h_t`, unrolled over the whole sequence; the loss is the mean of
//! `0.5 * ln(1 + (y_hat - y)^2)` over every sequence, step and output value. Activations are
//! feature-major (`[features, n]`) like [`Batch`], so a step's inputs are one contiguous slice.
//! Everything runs in `f32`, as in the fused engine.
//!
//! **Invariant:** burn is named only in this module and in `cells` (the recurrent cells' loss);
//! the rest of the trainer sees [`BurnEngine`] through [`GradientEngine`].

use burn::tensor::activation::relu;
use burn::tensor::{DType, Device, Tensor, TensorData};

use crate::export::{Affine, AnchorRnn, ExportError};
use crate::train::batch::Batch;
use crate::train::gradient::GradientEngine;
use crate::train::model::{tensor_names, tensors, tensors_mut};

/// Why the burn engine could not compute a loss.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AutodiffError {
    /// The model itself is malformed (shapes that do not chain, non-finite values).
    #[error(transparent)]
    Model(#[from] ExportError),
    /// The batch's feature counts disagree with the model's.
    #[error("the batch has {what} = {batch}, the model {model}")]
    Mismatch {
        what: &'static str,
        batch: usize,
        model: usize,
    },
    /// A batch buffer does not hold `n * length * dim` values.
    #[error("the batch holds {actual} {what} values, its sizes need {expected}")]
    BatchSize {
        what: &'static str,
        actual: usize,
        expected: usize,
    },
    /// The gradient network does not have the model's shape; `name` is the parameter
    /// (`f.0.weight`).
    #[error("{name}: the gradient buffer holds {actual} values, the parameter {expected}")]
    GradientShape {
        name: String,
        actual: usize,
        expected: usize,
    },
    /// A class label that is not an index below the number of classes.
    #[error("the label {label} is not a class index below {classes}")]
    Label { label: f32, classes: usize },
    /// burn failed to read a result back; `name` is the parameter or `loss`.
    #[error("burn could not read {name}: {message}")]
    Backend { name: String, message: String },
}

/// burn's `Autodiff` over its Flex CPU backend, behind [`GradientEngine`].
#[derive(Debug, Clone)]
pub struct BurnEngine {
    /// Flex with autodiff enabled: every tensor created on it is recorded.
    device: Device,
    /// The error of the last [`GradientEngine::loss_and_gradients`] call, if it failed.
    last_error: Option<AutodiffError>,
}

impl Default for BurnEngine {
    fn default() -> Self {
        BurnEngine::new()
    }
}

/// One affine layer's parameters as autodiff leaves: weight `[out, inp]`, bias `[out, 1]`
/// (broadcast over the batch).
struct Layer {
    weight: Tensor<2>,
    bias: Tensor<2>,
}

impl BurnEngine {
    /// An engine on burn's Flex CPU backend with autodiff.
    pub fn new() -> Self {
        BurnEngine {
            device: Device::flex().autodiff(),
            last_error: None,
        }
    }

    /// Why the last [`GradientEngine::loss_and_gradients`] call returned NaN, if it did.
    pub fn last_error(&self) -> Option<&AutodiffError> {
        self.last_error.as_ref()
    }

    /// The mean anchor loss of `model` over `batch`, with its gradient written into `grads`
    /// (overwritten; it must have the model's shape). An empty batch (no sequences or no steps)
    /// has loss 0 and zero gradients, as in the fused engine.
    ///
    /// Errors: a malformed model, a batch whose sizes disagree with the model or with its own
    /// buffers, a `grads` of another shape, or burn failing to read a result back.
    pub fn try_loss_and_gradients(
        &self,
        model: &AnchorRnn,
        batch: &Batch,
        grads: &mut AnchorRnn,
    ) -> Result<f64, AutodiffError> {
        check(model, batch, grads)?;
        for t in tensors_mut(grads) {
            t.fill(0.0);
        }
        let (n, length) = (batch.n, batch.length);
        if n == 0 || length == 0 {
            return Ok(0.0);
        }
        let f = self.leaves(&model.f);
        let g = self.leaves(&model.g);
        let (d, o) = (batch.input_dim, batch.output_dim);
        let mut h = Tensor::<2>::zeros([model.hidden, n], (&self.device, DType::F32));
        let mut outputs = Vec::with_capacity(length);
        for t in 0..length {
            let x = self.constant(batch.step_inputs(t), [d, n]);
            h = mlp(&f, Tensor::cat(vec![h, x], 0));
            outputs.push(mlp(&g, h.clone()));
        }
        let predictions = Tensor::cat(outputs, 0);
        let targets = self.constant(&batch.targets, [length * o, n]);
        let loss = (predictions - targets)
            .square()
            .log1p()
            .mean()
            .mul_scalar(0.5);
        let gradients = loss.backward();
        let names = tensor_names(model);
        let leaves = f.iter().chain(&g).flat_map(|l| [&l.weight, &l.bias]);
        for ((leaf, out), name) in leaves.zip(tensors_mut(grads)).zip(&names) {
            // A parameter the loss does not reach has no entry: its gradient is zero.
            if let Some(grad) = leaf.grad(&gradients) {
                let values = read(grad, name)?;
                if values.len() != out.len() {
                    return Err(AutodiffError::GradientShape {
                        name: name.clone(),
                        actual: values.len(),
                        expected: out.len(),
                    });
                }
                out.copy_from_slice(&values);
            }
        }
        let value = read(loss, "loss")?;
        match value.as_slice() {
            [v] => Ok(*v as f64),
            other => Err(AutodiffError::Backend {
                name: "loss".to_string(),
                message: format!("{} values instead of one", other.len()),
            }),
        }
    }

    /// The parameters of `layers` as fresh leaves that require gradients.
    fn leaves(&self, layers: &[Affine]) -> Vec<Layer> {
        layers
            .iter()
            .map(|layer| Layer {
                weight: self
                    .constant(&layer.weight, [layer.out, layer.inp])
                    .require_grad(),
                bias: self.constant(&layer.bias, [layer.out, 1]).require_grad(),
            })
            .collect()
    }

    /// `values` (row-major, already checked to hold `shape`'s count) as an `f32` tensor.
    fn constant(&self, values: &[f32], shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), shape),
            (&self.device, DType::F32),
        )
    }
}

/// `layers` applied to `input` (`[inp, n]`) with ReLU between them.
fn mlp(layers: &[Layer], input: Tensor<2>) -> Tensor<2> {
    let mut v = input;
    for (l, layer) in layers.iter().enumerate() {
        if l > 0 {
            v = relu(v);
        }
        v = layer.weight.clone().matmul(v) + layer.bias.clone();
    }
    v
}

/// Reads `tensor` back as `f32` values; `name` locates a failure.
pub(super) fn read<const D: usize>(
    tensor: Tensor<D>,
    name: &str,
) -> Result<Vec<f32>, AutodiffError> {
    let backend = |message: String| AutodiffError::Backend {
        name: name.to_string(),
        message,
    };
    tensor
        .try_into_data()
        .map_err(|e| backend(e.to_string()))?
        .try_into_vec_as::<f32>()
        .map_err(|e| backend(format!("{e:?}")))
}

/// Checks that the batch has the model's feature counts (`input_dim` inputs and `output_dim`
/// targets per step) and that its buffers hold `n * length` steps of them.
pub(super) fn check_batch(
    batch: &Batch,
    input_dim: usize,
    output_dim: usize,
) -> Result<(), AutodiffError> {
    for (what, b, m) in [
        ("input_dim", batch.input_dim, input_dim),
        ("output_dim", batch.output_dim, output_dim),
    ] {
        if b != m {
            return Err(AutodiffError::Mismatch {
                what,
                batch: b,
                model: m,
            });
        }
    }
    for (what, actual, dim) in [
        ("input", batch.inputs.len(), batch.input_dim),
        ("target", batch.targets.len(), batch.output_dim),
    ] {
        let expected = batch
            .n
            .checked_mul(batch.length)
            .and_then(|c| c.checked_mul(dim));
        if expected != Some(actual) {
            return Err(AutodiffError::BatchSize {
                what,
                actual,
                expected: expected.unwrap_or(usize::MAX),
            });
        }
    }
    Ok(())
}

/// Checks everything burn would otherwise panic on: the model, the batch against the model and
/// its own buffers, and `grads` against the model.
fn check(model: &AnchorRnn, batch: &Batch, grads: &AnchorRnn) -> Result<(), AutodiffError> {
    model.validate()?;
    check_batch(batch, model.input_dim, model.output_dim)?;
    let (ours, theirs) = (tensors(model), tensors(grads));
    let names = tensor_names(model);
    for (k, name) in names.iter().enumerate() {
        let expected = ours.get(k).map_or(0, |t| t.len());
        let actual = theirs.get(k).map_or(0, |t| t.len());
        if expected != actual {
            return Err(AutodiffError::GradientShape {
                name: name.clone(),
                actual,
                expected,
            });
        }
    }
    if theirs.len() != ours.len() {
        return Err(AutodiffError::GradientShape {
            name: format!("tensor {}", ours.len()),
            actual: theirs.len(),
            expected: ours.len(),
        });
    }
    Ok(())
}

impl GradientEngine for BurnEngine {
    /// [`BurnEngine::try_loss_and_gradients`]; on an error (kept in
    /// [`BurnEngine::last_error`]) the loss is NaN and every gradient zero, so the error shows
    /// in the loss the caller reports and no garbage gradient reaches the optimiser.
    fn loss_and_gradients(
        &mut self,
        model: &AnchorRnn,
        batch: &Batch,
        grads: &mut AnchorRnn,
    ) -> f64 {
        match self.try_loss_and_gradients(model, batch, grads) {
            Ok(loss) => {
                self.last_error = None;
                loss
            }
            Err(error) => {
                for t in tensors_mut(grads) {
                    t.fill(0.0);
                }
                self.last_error = Some(error);
                f64::NAN
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::train::fused::Workspace;
    use crate::train::model::{initialise, zeros_like, Architecture};

    /// `n` sequences of `length` steps with integer inputs in `[0, max_input]` and integer
    /// targets in `[0, 3]`, seeded.
    fn random_batch(n: usize, length: usize, d: usize, o: usize, max_input: i64) -> Batch {
        let mut rng = SplitMix64::new(n as u64 * 31 + length as u64);
        Batch::random(&mut rng, (n, length), (d, o), (max_input, 3))
    }

    fn arch(hidden: usize, f_widths: &[usize], g_widths: &[usize]) -> Architecture {
        Architecture {
            hidden,
            f_widths: f_widths.to_vec(),
            g_widths: g_widths.to_vec(),
        }
    }

    /// Holds burn's loss and every gradient entry to the fused engine's: relative `1e-4`, with
    /// an absolute floor of `1e-5` of the largest gradient (entries near zero are sums that
    /// cancel, where the two summation orders differ by rounding alone). Returns the loss.
    fn assert_engines_agree(model: &AnchorRnn, batch: &Batch) -> f64 {
        let mut fused_grads = zeros_like(model);
        let fused = Workspace::new().loss_and_gradients(model, batch, &mut fused_grads);
        let mut burn_grads = zeros_like(model);
        // Garbage in the output buffer must be overwritten.
        for t in tensors_mut(&mut burn_grads) {
            t.fill(7.0);
        }
        let burn = BurnEngine::new()
            .try_loss_and_gradients(model, batch, &mut burn_grads)
            .unwrap();
        assert!(fused.is_finite() && fused > 0.0, "fused loss {fused}");
        assert!(
            (burn - fused).abs() <= 1e-5 * fused.abs(),
            "loss: burn {burn}, fused {fused}"
        );
        let scale = tensors(&fused_grads)
            .concat()
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(scale > 0.0);
        let names = tensor_names(model);
        for ((name, a), b) in names
            .iter()
            .zip(tensors(&fused_grads))
            .zip(tensors(&burn_grads))
        {
            assert_eq!(a.len(), b.len());
            for (k, (&x, &y)) in a.iter().zip(b).enumerate() {
                assert!(
                    (x - y).abs() <= 1e-4 * x.abs().max(y.abs()) + 1e-5 * scale,
                    "{name}[{k}]: fused {x}, burn {y}"
                );
            }
        }
        burn
    }

    #[test]
    fn linear_f_and_g() {
        let model = initialise(&arch(3, &[], &[]), 1, 1, 1);
        assert_engines_agree(&model, &random_batch(5, 10, 1, 1, 3));
    }

    #[test]
    fn f_with_one_hidden_layer() {
        let model = initialise(&arch(3, &[6], &[]), 1, 1, 2);
        assert_engines_agree(&model, &random_batch(6, 10, 1, 1, 3));
    }

    #[test]
    fn f_with_two_hidden_layers() {
        let model = initialise(&arch(4, &[5, 3], &[]), 1, 1, 3);
        assert_engines_agree(&model, &random_batch(7, 10, 1, 1, 3));
    }

    #[test]
    fn g_with_a_hidden_layer() {
        let model = initialise(&arch(3, &[], &[4]), 1, 1, 4);
        assert_engines_agree(&model, &random_batch(5, 10, 1, 1, 3));
    }

    #[test]
    fn two_inputs_and_both_mlps_deep() {
        let model = initialise(&arch(3, &[8], &[4]), 2, 1, 5);
        assert_engines_agree(&model, &random_batch(9, 10, 2, 1, 4));
    }

    #[test]
    fn two_outputs() {
        let model = initialise(&arch(4, &[6], &[5]), 1, 2, 6);
        assert_engines_agree(&model, &random_batch(8, 10, 1, 2, 3));
    }

    #[test]
    fn length_one() {
        let model = initialise(&arch(2, &[4], &[3]), 2, 1, 7);
        assert_engines_agree(&model, &random_batch(11, 1, 2, 1, 3));
    }

    #[test]
    fn large_raw_integer_inputs_of_a_real_task() {
        let task = crate::tasks::by_name("Sum_Last2").unwrap();
        let data = task.generate(16, task.length, 9).unwrap();
        let batch = Batch::all(&data);
        assert_eq!(batch.length, 10);
        assert!(batch.inputs.iter().any(|&x| x >= 90.0));
        for (seed, a) in [(10, arch(3, &[], &[])), (11, arch(4, &[8], &[4]))] {
            let model = initialise(&a, 1, 1, seed);
            assert_engines_agree(&model, &batch);
        }
    }

    #[test]
    fn loss_matches_a_hand_computed_value() {
        // h_t = h_{t-1} + x_t, y_t = h_t: with inputs 1, 2 the outputs are 1, 3; targets 0, 0
        // give errors 1 and 3, so the loss is 0.25 * (ln 2 + ln 10).
        let model = AnchorRnn {
            input_dim: 1,
            hidden: 1,
            output_dim: 1,
            f: vec![Affine {
                weight: vec![1.0, 1.0],
                out: 1,
                inp: 2,
                bias: vec![0.0],
            }],
            g: vec![Affine {
                weight: vec![1.0],
                out: 1,
                inp: 1,
                bias: vec![0.0],
            }],
        };
        let batch = Batch {
            n: 1,
            length: 2,
            input_dim: 1,
            output_dim: 1,
            inputs: vec![1.0, 2.0],
            targets: vec![0.0, 0.0],
        };
        let mut grads = zeros_like(&model);
        let loss = BurnEngine::new()
            .try_loss_and_gradients(&model, &batch, &mut grads)
            .unwrap();
        let expected = 0.25 * (2f64.ln() + 10f64.ln());
        assert!((loss - expected).abs() < 1e-6, "{loss} vs {expected}");
        // d loss / d g.0.bias = 0.5 * (1 / 2 + 3 / 10).
        assert!((grads.g[0].bias[0] - 0.4).abs() < 1e-6);
    }

    #[test]
    fn empty_batch_has_zero_loss_and_gradients() {
        let model = initialise(&arch(2, &[], &[]), 1, 1, 1);
        let mut grads = model.clone();
        let loss = BurnEngine::new()
            .try_loss_and_gradients(&model, &random_batch(0, 4, 1, 1, 3), &mut grads)
            .unwrap();
        assert_eq!(loss, 0.0);
        assert!(tensors(&grads).concat().iter().all(|&g| g == 0.0));
    }

    #[test]
    fn bad_input_is_a_located_error_not_a_panic() {
        let model = initialise(&arch(2, &[3], &[]), 1, 1, 1);
        let engine = BurnEngine::new();
        let mut grads = zeros_like(&model);
        let two_inputs = random_batch(3, 4, 2, 1, 3);
        assert_eq!(
            engine.try_loss_and_gradients(&model, &two_inputs, &mut grads),
            Err(AutodiffError::Mismatch {
                what: "input_dim",
                batch: 2,
                model: 1
            })
        );
        let mut short = random_batch(3, 4, 1, 1, 3);
        short.targets.pop();
        assert_eq!(
            engine.try_loss_and_gradients(&model, &short, &mut grads),
            Err(AutodiffError::BatchSize {
                what: "target",
                actual: 11,
                expected: 12
            })
        );
        let mut wrong_grads = zeros_like(&model);
        wrong_grads.f[1].bias.push(0.0);
        let good = random_batch(3, 4, 1, 1, 3);
        assert_eq!(
            engine.try_loss_and_gradients(&model, &good, &mut wrong_grads),
            Err(AutodiffError::GradientShape {
                name: "f.1.bias".to_string(),
                actual: 3,
                expected: 2
            })
        );
        let mut broken = model.clone();
        broken.f[0].weight[0] = f32::NAN;
        assert!(matches!(
            engine.try_loss_and_gradients(&broken, &good, &mut grads),
            Err(AutodiffError::Model(_))
        ));
    }

    #[test]
    fn the_engine_trait_reports_errors_as_nan_with_zero_gradients() {
        let model = initialise(&arch(2, &[], &[]), 1, 1, 1);
        let mut engine = BurnEngine::new();
        let mut grads = model.clone();
        let loss = engine.loss_and_gradients(&model, &random_batch(3, 4, 2, 1, 3), &mut grads);
        assert!(loss.is_nan());
        assert!(tensors(&grads).concat().iter().all(|&g| g == 0.0));
        assert!(matches!(
            engine.last_error(),
            Some(AutodiffError::Mismatch { .. })
        ));
        let loss = engine.loss_and_gradients(&model, &random_batch(3, 4, 1, 1, 3), &mut grads);
        assert!(loss.is_finite() && loss > 0.0);
        assert_eq!(engine.last_error(), None);
    }
}
