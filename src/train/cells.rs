//! The loss of a [`RecurrentNet`] (an `RNN`, `GRU` or `LSTM` layer, a readout and a head) and
//! its gradients through burn's autodiff on the Flex CPU backend.
//!
//! The graph follows the ONNX operators exactly (see [`crate::export::RecurrentNet`]): per step
//! the input part `W x + Wb` and the recurrent part `R h + Rb` of every gate, the GRU's reset
//! gate scaling the recurrent part of its candidate (`linear_before_reset = 1`), the LSTM's
//! cell state; then the readout on `h_t`. The loss is the mean over every sequence and step of
//! the head's loss: squared error (linear), binary cross-entropy on the logit (sigmoid), softmax
//! cross-entropy over the classes. Activations are feature-major (`[features, n]`) like
//! [`Batch`]. Everything runs in `f32`.

use burn::tensor::activation::{log_softmax, relu, sigmoid, tanh};
use burn::tensor::{DType, Device, Tensor, TensorData};

use crate::export::{Cell, Head, RecurrentNet, RECURRENT_TENSOR_NAMES};
use crate::train::autodiff::{check_batch, read, AutodiffError};
use crate::train::batch::Batch;

/// burn's `Autodiff` over Flex, computing [`RecurrentNet`] losses.
#[derive(Debug, Clone)]
pub struct CellEngine {
    device: Device,
}

impl Default for CellEngine {
    fn default() -> Self {
        CellEngine {
            device: Device::flex().autodiff(),
        }
    }
}

/// The gradient of every parameter, in the order of [`RECURRENT_TENSOR_NAMES`].
pub type CellGradients = [Vec<f32>; 6];

impl CellEngine {
    /// The mean loss of `net` over `batch` and its gradients. The batch's targets are the
    /// labels: values for a linear head, 0/1 for a sigmoid head, class indices for a class head.
    ///
    /// Errors: an invalid network, a batch whose sizes disagree with the network or its own
    /// buffers, a class label out of range, or burn failing to read a result back.
    pub fn loss_and_gradients(
        &self,
        net: &RecurrentNet,
        batch: &Batch,
    ) -> Result<(f64, CellGradients), AutodiffError> {
        check(net, batch)?;
        let (n, length, d) = (batch.n, batch.length, batch.input_dim);
        let hidden = net.hidden;
        let rows = net.cell.gates() * hidden;
        let leaf = |values: &[f32], shape: [usize; 2]| self.constant(values, shape).require_grad();
        let w = leaf(&net.w, [rows, d]);
        let r = leaf(&net.r, [rows, hidden]);
        let wb = leaf(&net.wb, [rows, 1]);
        let rb = leaf(&net.rb, [rows, 1]);
        let v = leaf(&net.readout.weight, [net.readout.out, hidden]);
        let c = leaf(&net.readout.bias, [net.readout.out, 1]);

        let zeros = || Tensor::<2>::zeros([hidden, n], (&self.device, DType::F32));
        let (mut h, mut cell_state) = (zeros(), zeros());
        let mut total: Option<Tensor<1>> = None;
        for t in 0..length {
            let x = self.constant(batch.step_inputs(t), [d, n]);
            let input_part = w.clone().matmul(x) + wb.clone();
            let recurrent_part = r.clone().matmul(h.clone()) + rb.clone();
            let gate = |part: &Tensor<2>, g: usize| part.clone().narrow(0, g * hidden, hidden);
            h = match net.cell {
                Cell::Rnn => tanh(input_part + recurrent_part),
                Cell::Gru => {
                    let z = sigmoid(gate(&input_part, 0) + gate(&recurrent_part, 0));
                    let reset = sigmoid(gate(&input_part, 1) + gate(&recurrent_part, 1));
                    let candidate = tanh(gate(&input_part, 2) + reset * gate(&recurrent_part, 2));
                    let keep = z.clone();
                    z.neg().add_scalar(1.0) * candidate + keep * h
                }
                Cell::Lstm => {
                    let i = sigmoid(gate(&input_part, 0) + gate(&recurrent_part, 0));
                    let o = sigmoid(gate(&input_part, 1) + gate(&recurrent_part, 1));
                    let f = sigmoid(gate(&input_part, 2) + gate(&recurrent_part, 2));
                    let candidate = tanh(gate(&input_part, 3) + gate(&recurrent_part, 3));
                    cell_state = f * cell_state + i * candidate;
                    o * tanh(cell_state.clone())
                }
            };
            let logits = v.clone().matmul(h.clone()) + c.clone();
            let step_loss = self.head_loss(net.head, logits, batch.step_targets(t), n)?;
            total = Some(match total {
                None => step_loss,
                Some(sum) => sum + step_loss,
            });
        }
        let Some(total) = total else {
            let zero = net.tensors().map(|t| vec![0.0; t.len()]);
            return Ok((0.0, zero));
        };
        let loss = total.div_scalar(length as f64);
        let gradients = loss.backward();
        let leaves = [&w, &r, &wb, &rb, &v, &c];
        let mut grads: CellGradients = Default::default();
        for ((out, leaf), (name, param)) in grads
            .iter_mut()
            .zip(leaves)
            .zip(RECURRENT_TENSOR_NAMES.iter().zip(net.tensors()))
        {
            *out = match leaf.grad(&gradients) {
                Some(grad) => read(grad, name)?,
                None => vec![0.0; param.len()],
            };
            if out.len() != param.len() {
                return Err(AutodiffError::GradientShape {
                    name: name.to_string(),
                    actual: out.len(),
                    expected: param.len(),
                });
            }
        }
        let value = read(loss, "loss")?;
        match value.as_slice() {
            [v] => Ok((f64::from(*v), grads)),
            other => Err(AutodiffError::Backend {
                name: "loss".to_string(),
                message: format!("{} values instead of one", other.len()),
            }),
        }
    }

    /// The head's loss at one step, averaged over the batch: `logits` is `[outputs, n]`,
    /// `targets` the step's labels (`[output_dim, n]`, feature-major).
    fn head_loss(
        &self,
        head: Head,
        logits: Tensor<2>,
        targets: &[f32],
        n: usize,
    ) -> Result<Tensor<1>, AutodiffError> {
        let outputs = logits.dims()[0];
        Ok(match head {
            Head::Linear => {
                let t = self.constant(targets, [outputs, n]);
                (logits - t).square().sum().div_scalar((n * outputs) as f64)
            }
            Head::Sigmoid => {
                // softplus(z) - z t, written so that exp never overflows.
                let t = self.constant(targets, [outputs, n]);
                let stable =
                    relu(logits.clone()) - logits.clone() * t + logits.abs().neg().exp().log1p();
                stable.sum().div_scalar((n * outputs) as f64)
            }
            Head::Classes(k) => {
                let mut one_hot = vec![0.0f32; k * n];
                for (i, &label) in targets.iter().enumerate() {
                    let class = label as usize;
                    if label < 0.0 || label.fract() != 0.0 || class >= k {
                        return Err(AutodiffError::Label { label, classes: k });
                    }
                    one_hot[class * n + i] = 1.0;
                }
                let t = self.constant(&one_hot, [k, n]);
                (log_softmax(logits, 0) * t)
                    .sum()
                    .neg()
                    .div_scalar(n as f64)
            }
        })
    }

    /// `values` (row-major, checked to hold `shape`'s count) as an `f32` tensor.
    fn constant(&self, values: &[f32], shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), shape),
            (&self.device, DType::F32),
        )
    }
}

/// Checks what burn would otherwise panic on.
fn check(net: &RecurrentNet, batch: &Batch) -> Result<(), AutodiffError> {
    net.validate()?;
    let targets_per_step = match net.head {
        Head::Classes(_) => 1,
        Head::Linear | Head::Sigmoid => net.readout.out,
    };
    check_batch(batch, net.input_dim, targets_per_step)?;
    if batch.n == 0 {
        return Err(AutodiffError::BatchSize {
            what: "sequence",
            actual: 0,
            expected: 1,
        });
    }
    Ok(())
}
