//! Export of nn2py's own networks to ONNX.
//!
//! The anchor RNN of the MIPS benchmark is `h_t = f([h_{t-1}; x_t])`, `y_t = g(h_t)`, `h_0 = 0`,
//! where `f` and `g` are MLPs: affine layers with ReLU between them and none after the last.
//! [`AnchorRnn`] holds one, [`AnchorRnn::run`] evaluates it directly (the reference the trainer
//! uses) and [`export_onnx`] writes it as an ONNX model that nn2py compiles with no flags;
//! [`read_anchor_onnx`] reads such a model back (for training that continues from it).
//!
//! The pointwise [`Mlp`] (embedding tables or real features, then affine layers with ReLU
//! between them) is defined in `mlp_model` with its flat parameter layout, and written by
//! [`export_mlp`]. [`RecurrentNet`] is the recurrent network PyTorch users build (an `RNN`,
//! `GRU` or `LSTM` layer, a readout and a head), written by [`export_torch_form`] in the form
//! PyTorch's exporter gives it. The trainer (`crate::train`) builds on these definitions; nothing here
//! depends on it.
//!
//! Invariant: the same model and metadata give byte-identical ONNX.

mod mlp;
mod mlp_model;
mod onnx;
mod read;
mod recurrent;
mod torch_form;

pub use mlp::{export_mlp, token_input_names, MlpExportMeta};
pub use mlp_model::{InputKind, LayerView, Mlp, MlpShape};
pub use onnx::{export_onnx, ExportMeta};
pub use read::{read_anchor_onnx, read_start, StartError};
pub use recurrent::{Cell, Head, RecurrentNet, RECURRENT_TENSOR_NAMES};
pub use torch_form::export_torch_form;

use crate::diag::{Diagnose, Location};

/// Why a network could not be built, run or exported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ExportError {
    pub message: String,
    /// The tensor concerned (`f.0.weight`, ...), or [`Location::Unknown`].
    pub location: Location,
}

impl Diagnose for ExportError {
    fn location(&self) -> Location {
        self.location.clone()
    }
}

fn error_at(name: &str, message: String) -> ExportError {
    ExportError {
        message,
        location: Location::Value(name.to_string()),
    }
}

/// One affine layer `y = W x + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Affine {
    /// Row-major `[out, inp]`.
    pub weight: Vec<f32>,
    pub out: usize,
    pub inp: usize,
    /// `[out]`.
    pub bias: Vec<f32>,
}

impl Affine {
    /// `W x + b` for `x` of length `inp`. The caller has checked the shapes (see
    /// [`AnchorRnn::validate`]); the sum runs over `i` in order, in `f32`.
    fn apply(&self, x: &[f32]) -> Vec<f32> {
        self.weight
            .chunks(self.inp.max(1))
            .zip(&self.bias)
            .map(|(row, &b)| row.iter().zip(x).fold(b, |acc, (&w, &v)| acc + w * v))
            .collect()
    }

    /// Checks that the weight holds `out * inp` finite values and the bias `out`; `name` is the
    /// layer's name (`f.0`) used in the error.
    fn validate(&self, name: &str) -> Result<(), ExportError> {
        let expected = self.out.checked_mul(self.inp).ok_or_else(|| {
            error_at(
                &format!("{name}.weight"),
                format!("{name}.weight: [{}, {}] overflows", self.out, self.inp),
            )
        })?;
        if self.out == 0 || self.inp == 0 {
            return Err(error_at(
                &format!("{name}.weight"),
                format!(
                    "{name}.weight has shape [{}, {}]; both sizes must be positive",
                    self.out, self.inp
                ),
            ));
        }
        if self.weight.len() != expected {
            return Err(error_at(
                &format!("{name}.weight"),
                format!(
                    "{name}.weight has {} values, but its shape [{}, {}] needs {expected}",
                    self.weight.len(),
                    self.out,
                    self.inp
                ),
            ));
        }
        if self.bias.len() != self.out {
            return Err(error_at(
                &format!("{name}.bias"),
                format!(
                    "{name}.bias has {} values, but the layer has {} outputs",
                    self.bias.len(),
                    self.out
                ),
            ));
        }
        for (part, values) in [("weight", &self.weight), ("bias", &self.bias)] {
            if values.iter().any(|v| !v.is_finite()) {
                return Err(error_at(
                    &format!("{name}.{part}"),
                    format!("{name}.{part} holds a non-finite value"),
                ));
            }
        }
        Ok(())
    }
}

/// The anchor RNN: `h_t = f([h_{t-1}; x_t])`, `y_t = g(h_t)`, `h_0 = 0`.
///
/// `f` maps `hidden + input_dim` to `hidden` and `g` maps `hidden` to `output_dim`; both are
/// non-empty lists of affine layers with ReLU between consecutive layers.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorRnn {
    pub input_dim: usize,
    pub hidden: usize,
    pub output_dim: usize,
    pub f: Vec<Affine>,
    pub g: Vec<Affine>,
}

impl AnchorRnn {
    /// Builds a network and checks it with [`AnchorRnn::validate`].
    pub fn new(
        input_dim: usize,
        hidden: usize,
        output_dim: usize,
        f: Vec<Affine>,
        g: Vec<Affine>,
    ) -> Result<Self, ExportError> {
        let model = AnchorRnn {
            input_dim,
            hidden,
            output_dim,
            f,
            g,
        };
        model.validate()?;
        Ok(model)
    }

    /// Checks every layer's sizes and values and that the shapes chain: `f` from
    /// `hidden + input_dim` to `hidden`, `g` from `hidden` to `output_dim`. Errors name the
    /// offending tensor.
    pub fn validate(&self) -> Result<(), ExportError> {
        if self.input_dim == 0 || self.hidden == 0 || self.output_dim == 0 {
            return Err(ExportError {
                message: format!(
                    "input_dim ({}), hidden ({}) and output_dim ({}) must be positive",
                    self.input_dim, self.hidden, self.output_dim
                ),
                location: Location::Unknown,
            });
        }
        let concat = self
            .hidden
            .checked_add(self.input_dim)
            .ok_or_else(|| ExportError {
                message: "hidden + input_dim overflows".to_string(),
                location: Location::Unknown,
            })?;
        check_chain("f", &self.f, concat, self.hidden)?;
        check_chain("g", &self.g, self.hidden, self.output_dim)
    }

    /// Runs the network on one sequence of `input_dim`-vectors; returns one
    /// `output_dim`-vector per step. Errors: an invalid network, or a step of the wrong length.
    pub fn run(&self, seq: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, ExportError> {
        self.validate()?;
        let mut h = vec![0.0f32; self.hidden];
        let mut ys = Vec::with_capacity(seq.len());
        for (t, x) in seq.iter().enumerate() {
            if x.len() != self.input_dim {
                return Err(error_at(
                    "x",
                    format!(
                        "step {t} of the sequence has {} values, expected input_dim = {}",
                        x.len(),
                        self.input_dim
                    ),
                ));
            }
            let mut hx = h.clone();
            hx.extend_from_slice(x);
            h = mlp(&self.f, hx);
            ys.push(mlp(&self.g, h.clone()));
        }
        Ok(ys)
    }
}

/// The layers applied in order with ReLU between them.
fn mlp(layers: &[Affine], mut v: Vec<f32>) -> Vec<f32> {
    for (i, layer) in layers.iter().enumerate() {
        if i > 0 {
            v.iter_mut().for_each(|z| *z = z.max(0.0));
        }
        v = layer.apply(&v);
    }
    v
}

/// Checks that `layers` (named `{mlp}.{i}`) map `from` to `to`.
fn check_chain(mlp: &str, layers: &[Affine], from: usize, to: usize) -> Result<(), ExportError> {
    if layers.is_empty() {
        return Err(ExportError {
            message: format!("the MLP {mlp} has no layers; it needs at least one"),
            location: Location::Unknown,
        });
    }
    let mut width = from;
    for (i, layer) in layers.iter().enumerate() {
        let name = format!("{mlp}.{i}");
        layer.validate(&name)?;
        if layer.inp != width {
            return Err(error_at(
                &format!("{name}.weight"),
                format!(
                    "{name}.weight takes {} inputs, but the layer receives {width}",
                    layer.inp
                ),
            ));
        }
        width = layer.out;
    }
    if width != to {
        return Err(error_at(
            &format!("{mlp}.{}.weight", layers.len() - 1),
            format!("{mlp} ends with {width} outputs, but it must produce {to}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn affine(out: usize, inp: usize, weight: &[f32], bias: &[f32]) -> Affine {
        Affine {
            weight: weight.to_vec(),
            out,
            inp,
            bias: bias.to_vec(),
        }
    }

    /// h = (x_t, h_0), y = h_0 + h_1: Sum_Last2.
    fn sum_last2() -> AnchorRnn {
        let f = affine(2, 3, &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0], &[0.0, 0.0]);
        let g = affine(1, 2, &[1.0, 1.0], &[0.0]);
        AnchorRnn::new(1, 2, 1, vec![f], vec![g]).expect("valid")
    }

    #[test]
    fn runs_sum_last2() {
        let seq: Vec<Vec<f32>> = [3.0, 5.0, 7.0].iter().map(|&v| vec![v]).collect();
        let ys = sum_last2().run(&seq).expect("runs");
        assert_eq!(ys, vec![vec![3.0], vec![8.0], vec![12.0]]);
    }

    #[test]
    fn relu_sits_between_layers_only() {
        // f: h' = -x (one layer, no ReLU); g: relu(1 * h) then * 2 - 1.
        let f = affine(1, 2, &[0.0, -1.0], &[0.0]);
        let g = vec![affine(1, 1, &[1.0], &[0.0]), affine(1, 1, &[2.0], &[-1.0])];
        let m = AnchorRnn::new(1, 1, 1, vec![f], g).expect("valid");
        let ys = m.run(&[vec![2.0], vec![-3.0]]).expect("runs");
        assert_eq!(ys, vec![vec![-1.0], vec![5.0]]);
    }

    #[test]
    fn broken_chains_are_located_errors() {
        let f = affine(2, 2, &[0.0; 4], &[0.0; 2]);
        let g = affine(1, 2, &[1.0, 1.0], &[0.0]);
        let e = AnchorRnn::new(1, 2, 1, vec![f], vec![g.clone()]).expect_err("f takes 2, not 3");
        assert_eq!(e.location, Location::Value("f.0.weight".to_string()));

        let f = affine(2, 3, &[0.0; 6], &[0.0; 2]);
        let e = AnchorRnn::new(1, 2, 2, vec![f.clone()], vec![g.clone()]).expect_err("g gives 1");
        assert_eq!(e.location, Location::Value("g.0.weight".to_string()));

        let short_bias = affine(2, 3, &[0.0; 6], &[0.0]);
        let e = AnchorRnn::new(1, 2, 1, vec![short_bias], vec![g.clone()]).expect_err("bias");
        assert_eq!(e.location, Location::Value("f.0.bias".to_string()));

        let nan = affine(1, 2, &[f32::NAN, 1.0], &[0.0]);
        let e = AnchorRnn::new(1, 2, 1, vec![f.clone()], vec![nan]).expect_err("NaN");
        assert_eq!(e.location, Location::Value("g.0.weight".to_string()));

        assert!(AnchorRnn::new(1, 2, 1, vec![], vec![g]).is_err());
    }

    #[test]
    fn run_rejects_wrong_step_width() {
        assert!(sum_last2().run(&[vec![1.0, 2.0]]).is_err());
    }
}
