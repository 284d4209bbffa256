//! Random small valid ONNX networks, for differential testing, fuzzing seeds and benchmarks.
//!
//! [`random_network`] draws one model from a seed: its style, sizes, activations, attributes and
//! weights. Every style is one the importer claims to read (README, "What it reads"): pointwise
//! MLPs (`Gemm` or `MatMul` + `Add`, elementwise activations, `Concat` of two inputs, a `Gather`
//! embedding on an integer input, `Softmax` or `ArgMax` heads) and sequence models (ONNX `RNN`,
//! `GRU` and `LSTM` with their attributes, stacked, either layout and direction; `Scan` cells;
//! graphs unrolled over the time axis). Sizes are small (hidden 1-6, 1-3 input features, length
//! 2-6) and weights moderate, so that `tanh`, `sigmoid` and `exp` stay well-conditioned.
//!
//! Each model carries its input domain (`nn2py.domain`) and, for sequence models, its length
//! (`nn2py.length`), so `driver::compile` needs no options. The same seed gives byte-identical
//! bytes on every machine ([`crate::rng::SplitMix64`]). Models are written through the protobuf
//! types, like [`crate::export`].

pub mod differential;
mod proto;
mod random_network;

use crate::network::DType;

/// The kind of network a seed draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Style {
    /// One input `[N, d]`; 1-3 affine layers (`Gemm` or `MatMul` + `Add`) with elementwise ops
    /// between them; optionally a `Softmax` or `ArgMax` head.
    Mlp,
    /// Two inputs `[N, d1]`, `[N, d2]` joined by `Concat`, then an MLP.
    TwoInputs,
    /// An int64 input `[N, k]` of token ids looked up in an embedding table by `Gather`,
    /// flattened, then an MLP.
    Embedding,
    /// Stacked ONNX `RNN` layers (`Tanh` or `Relu`) over `x [N, T, d]`, then a linear readout.
    Rnn,
    /// Stacked ONNX `GRU` layers (`linear_before_reset` 0 or 1), then a linear readout.
    Gru,
    /// Stacked ONNX `LSTM` layers (optional peepholes and `clip`), then a linear readout.
    Lstm,
    /// An ONNX `Scan` whose body maps `(h, x_t)` to `(h', y_t)`.
    Scan,
    /// The same step written out once per time step (weights shared), outputs concatenated.
    Unrolled,
}

impl Style {
    /// Every style, in the order [`random_network`] indexes them.
    pub const ALL: [Style; 8] = [
        Style::Mlp,
        Style::TwoInputs,
        Style::Embedding,
        Style::Rnn,
        Style::Gru,
        Style::Lstm,
        Style::Scan,
        Style::Unrolled,
    ];

    /// A short lower-case name (`mlp`, `two_inputs`, `embedding`, `rnn`, `gru`, `lstm`, `scan`,
    /// `unrolled`).
    pub fn name(self) -> &'static str {
        match self {
            Style::Mlp => "mlp",
            Style::TwoInputs => "two_inputs",
            Style::Embedding => "embedding",
            Style::Rnn => "rnn",
            Style::Gru => "gru",
            Style::Lstm => "lstm",
            Style::Scan => "scan",
            Style::Unrolled => "unrolled",
        }
    }

    /// True for the styles whose model maps `x [N, T, d]` to `y [N, T, o]`.
    pub fn is_sequence(self) -> bool {
        match self {
            Style::Mlp | Style::TwoInputs | Style::Embedding => false,
            Style::Rnn | Style::Gru | Style::Lstm | Style::Scan | Style::Unrolled => true,
        }
    }
}

/// One declared input of a generated model, with the batch dimension bound to 1 and the time
/// axis to the model's length: the shape onnxruntime is fed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

/// A generated model and what it says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomNetwork {
    /// The seed it was drawn from.
    pub seed: u64,
    pub style: Style,
    /// One line naming the choices made (sizes, attributes, activations), for failure messages.
    pub description: String,
    /// The ONNX model (opset 17, IR version 8).
    pub onnx: Vec<u8>,
    /// The input domain, as stored in `nn2py.domain` (`--domain` syntax).
    pub domain: String,
    /// The sequence length stored in `nn2py.length` (sequence models only).
    pub length: Option<usize>,
    /// The graph inputs in declaration order.
    pub inputs: Vec<InputSpec>,
}

/// Draws a model from `seed`: the style first (sequence styles twice as likely as pointwise
/// ones, since they have more attributes), then everything else. Deterministic for a seed.
pub fn random_network(seed: u64) -> RandomNetwork {
    let mut rng = crate::rng::SplitMix64::new(seed ^ STYLE_SALT);
    // Weights: pointwise styles 1 each, sequence styles 2 each.
    let weighted: Vec<Style> = Style::ALL
        .iter()
        .flat_map(|&s| std::iter::repeat_n(s, if s.is_sequence() { 2 } else { 1 }))
        .collect();
    let index = rng.int_in(0, weighted.len() as i64 - 1) as usize;
    random_network_of(weighted[index], seed)
}

/// Draws a model of the given style from `seed`. Deterministic for a (style, seed) pair.
pub fn random_network_of(style: Style, seed: u64) -> RandomNetwork {
    random_network::generate(style, seed)
}

/// Separates the style draw from the model's own draws, so that a style's models do not depend
/// on how the style was picked.
const STYLE_SALT: u64 = 0x5EED_57F1_E000_0001;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::onnx::{import, ImportOptions};

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_seeds_differ() {
        for seed in 0..20 {
            let a = random_network(seed);
            assert_eq!(a, random_network(seed));
            assert_ne!(a.onnx, random_network(seed + 1).onnx);
        }
    }

    #[test]
    fn every_style_is_drawn_and_imports_with_its_metadata() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            seen.insert(random_network(seed).style);
        }
        assert_eq!(seen.len(), Style::ALL.len(), "styles drawn: {seen:?}");
        for style in Style::ALL {
            for seed in 0..5 {
                let model = random_network_of(style, seed);
                let imported = import(&model.onnx, &ImportOptions::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", model.description));
                assert_eq!(imported.inputs.len(), model.inputs.len());
                assert_eq!(
                    imported.metadata.get("nn2py.domain"),
                    Some(&model.domain),
                    "{}",
                    model.description
                );
                assert_eq!(model.length.is_some(), style.is_sequence());
            }
        }
    }
}
