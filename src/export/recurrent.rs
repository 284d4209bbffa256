//! A recurrent network as PyTorch users build one: a single `nn.RNN`, `nn.GRU` or `nn.LSTM`
//! layer (batch first, zero initial state), a linear readout at every step, and a head.
//!
//! The cell follows the ONNX operator of the same name, which is what `torch.onnx.export` writes:
//! weights in ONNX gate order (`GRU`: z, r, h; `LSTM`: i, o, f, c), two biases `Wb` and `Rb`, and
//! for the GRU `linear_before_reset = 1` (the reset gate scales `R_h h + Rb_h`, PyTorch's
//! form). [`RecurrentNet::run`] evaluates it directly in `f32`: the reference the trainer's
//! exactness checks use. `torch_form` writes it as PyTorch's exporter does.

use super::{error_at, Affine, ExportError};
use crate::diag::Location;

/// The recurrent layer's cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// `nn.RNN` with `tanh`: `h' = tanh(W x + Wb + R h + Rb)`.
    Rnn,
    /// `nn.GRU`.
    Gru,
    /// `nn.LSTM` (no peepholes, no projection).
    Lstm,
}

impl Cell {
    /// Gates stacked in `W`, `R` and the biases.
    pub fn gates(self) -> usize {
        match self {
            Cell::Rnn => 1,
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }

    /// The ONNX operator (`RNN`, `GRU`, `LSTM`).
    pub fn onnx_op(self) -> &'static str {
        match self {
            Cell::Rnn => "RNN",
            Cell::Gru => "GRU",
            Cell::Lstm => "LSTM",
        }
    }

    /// The lowercase name used on the command line and in records.
    pub fn name(self) -> &'static str {
        match self {
            Cell::Rnn => "rnn",
            Cell::Gru => "gru",
            Cell::Lstm => "lstm",
        }
    }
}

/// What the network's output is made of, after the readout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "classes")]
pub enum Head {
    /// The readout itself (regression; the label is the rounded output).
    Linear,
    /// `sigmoid` of the readout (binary labels; the label is the output rounded, i.e. > 0.5).
    Sigmoid,
    /// The readout gives one logit per class, trained with softmax cross-entropy; the model
    /// outputs the class index (`ArgMax` with `keepdims = 1`, cast to float).
    Classes(usize),
}

impl Head {
    /// The lowercase name used in records and tables.
    pub fn name(self) -> &'static str {
        match self {
            Head::Linear => "linear",
            Head::Sigmoid => "sigmoid",
            Head::Classes(_) => "softmax",
        }
    }
}

/// One recurrent layer, a per-step readout and a head; `h_0 = 0` (and `c_0 = 0`).
#[derive(Debug, Clone, PartialEq)]
pub struct RecurrentNet {
    pub cell: Cell,
    pub input_dim: usize,
    pub hidden: usize,
    /// Row-major `[gates * hidden, input_dim]`.
    pub w: Vec<f32>,
    /// Row-major `[gates * hidden, hidden]`.
    pub r: Vec<f32>,
    /// `[gates * hidden]`.
    pub wb: Vec<f32>,
    /// `[gates * hidden]`.
    pub rb: Vec<f32>,
    /// `hidden` to the head's inputs (the outputs, or one logit per class).
    pub readout: Affine,
    pub head: Head,
}

/// The names of [`RecurrentNet::tensors`], in order.
pub const RECURRENT_TENSOR_NAMES: [&str; 6] =
    ["w", "r", "wb", "rb", "readout.weight", "readout.bias"];

impl RecurrentNet {
    /// Values per output step of the model as exported (1 for a class head).
    pub fn output_dim(&self) -> usize {
        match self.head {
            Head::Classes(_) => 1,
            Head::Linear | Head::Sigmoid => self.readout.out,
        }
    }

    /// The parameters, in the order of [`RECURRENT_TENSOR_NAMES`].
    pub fn tensors(&self) -> [&[f32]; 6] {
        [
            &self.w,
            &self.r,
            &self.wb,
            &self.rb,
            &self.readout.weight,
            &self.readout.bias,
        ]
    }

    /// The parameters, mutable, in the order of [`RECURRENT_TENSOR_NAMES`].
    pub fn tensors_mut(&mut self) -> [&mut Vec<f32>; 6] {
        [
            &mut self.w,
            &mut self.r,
            &mut self.wb,
            &mut self.rb,
            &mut self.readout.weight,
            &mut self.readout.bias,
        ]
    }

    /// Number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.tensors().iter().map(|t| t.len()).sum()
    }

    /// Checks sizes, finiteness and the head.
    pub fn validate(&self) -> Result<(), ExportError> {
        if self.input_dim == 0 || self.hidden == 0 {
            return Err(ExportError {
                message: format!(
                    "the input ({}) and hidden ({}) sizes must be positive",
                    self.input_dim, self.hidden
                ),
                location: Location::Unknown,
            });
        }
        let rows = self.cell.gates() * self.hidden;
        let expected = [rows * self.input_dim, rows * self.hidden, rows, rows];
        let mine = [&self.w, &self.r, &self.wb, &self.rb];
        for ((name, values), want) in RECURRENT_TENSOR_NAMES.iter().zip(mine).zip(expected) {
            if values.len() != want {
                return Err(error_at(
                    name,
                    format!("{name} has {} values, the cell needs {want}", values.len()),
                ));
            }
            if values.iter().any(|v| !v.is_finite()) {
                return Err(error_at(name, format!("{name} holds a non-finite value")));
            }
        }
        if self.readout.inp != self.hidden {
            return Err(error_at(
                "readout.weight",
                format!(
                    "the readout reads {} values, the hidden state has {}",
                    self.readout.inp, self.hidden
                ),
            ));
        }
        self.readout.validate("readout")?;
        if let Head::Classes(k) = self.head {
            if k < 2 || k != self.readout.out {
                return Err(error_at(
                    "readout.weight",
                    format!(
                        "a head of {k} classes needs at least 2 classes and {k} logits, the readout gives {}",
                        self.readout.out
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The model's outputs for one sequence (`seq[t]` has `input_dim` values): `output_dim`
    /// values per step, computed in `f32` in ONNX's order of operations.
    ///
    /// Errors: an invalid network, or a step of the wrong width.
    pub fn run(&self, seq: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, ExportError> {
        self.validate()?;
        let hn = self.hidden;
        let mut h = vec![0.0f32; hn];
        let mut c = vec![0.0f32; hn];
        let mut outputs = Vec::with_capacity(seq.len());
        for (t, x) in seq.iter().enumerate() {
            if x.len() != self.input_dim {
                return Err(ExportError {
                    message: format!(
                        "step {t} has {} values, the network reads {}",
                        x.len(),
                        self.input_dim
                    ),
                    location: Location::Unknown,
                });
            }
            // Per gate row: the input part `W x + Wb` and the recurrent part `R h + Rb`.
            let wx = |row: usize| {
                dot(&self.w[row * self.input_dim..(row + 1) * self.input_dim], x) + self.wb[row]
            };
            let rh =
                |row: usize, h: &[f32]| dot(&self.r[row * hn..(row + 1) * hn], h) + self.rb[row];
            h = match self.cell {
                Cell::Rnn => (0..hn).map(|j| (wx(j) + rh(j, &h)).tanh()).collect(),
                Cell::Gru => (0..hn)
                    .map(|j| {
                        let z = sigmoid(wx(j) + rh(j, &h));
                        let r = sigmoid(wx(hn + j) + rh(hn + j, &h));
                        let n = (wx(2 * hn + j) + r * rh(2 * hn + j, &h)).tanh();
                        (1.0 - z) * n + z * h[j]
                    })
                    .collect(),
                Cell::Lstm => {
                    let mut next = vec![0.0f32; hn];
                    for j in 0..hn {
                        let i = sigmoid(wx(j) + rh(j, &h));
                        let o = sigmoid(wx(hn + j) + rh(hn + j, &h));
                        let f = sigmoid(wx(2 * hn + j) + rh(2 * hn + j, &h));
                        let candidate = (wx(3 * hn + j) + rh(3 * hn + j, &h)).tanh();
                        c[j] = f * c[j] + i * candidate;
                        next[j] = o * c[j].tanh();
                    }
                    next
                }
            };
            let logits = self.readout.apply(&h);
            outputs.push(match self.head {
                Head::Linear => logits,
                Head::Sigmoid => logits.into_iter().map(sigmoid).collect(),
                Head::Classes(_) => vec![argmax(&logits) as f32],
            });
        }
        Ok(outputs)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0, |acc, (&x, &y)| acc + x * y)
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// The index of the first largest value (ONNX `ArgMax` with `select_last_index = 0`).
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}
