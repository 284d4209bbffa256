//! The pointwise multilayer perceptron nn2py trains and exports: its shape and the layout of
//! its flat parameters.
//!
//! The network maps one example to its outputs: real features, or integer tokens looked up in one
//! learned embedding table per input (the looked-up rows concatenated), then affine layers with
//! ReLU between them and none after the last. Every parameter lives in one flat `Vec<f32>`
//! (embedding tables, then per layer the row-major `[out, in]` weight and the `[out]` bias), so
//! an optimiser and the penalties see one slice. Running and training it is
//! [`crate::train::mlp`]'s; writing it as ONNX is [`super::export_mlp`].

use std::ops::Range;

/// What one example's inputs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InputKind {
    /// `features` real numbers.
    Real { features: usize },
    /// `inputs` integer tokens in `0..vocab`, each looked up in its own `[vocab, dim]` table.
    Embedded {
        inputs: usize,
        vocab: usize,
        dim: usize,
    },
}

/// The architecture of an [`Mlp`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MlpShape {
    pub input: InputKind,
    /// Widths of the hidden layers, in order (may be empty: one affine layer).
    pub hidden: Vec<usize>,
    /// Number of outputs (logits for classification).
    pub output: usize,
}

/// Where one affine layer's parameters sit in the flat vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerView {
    pub out: usize,
    pub inp: usize,
    /// Row-major `[out, inp]`.
    pub weight: Range<usize>,
    /// `[out]`.
    pub bias: Range<usize>,
}

impl MlpShape {
    /// Values per example in the data: features, or tokens.
    pub fn input_len(&self) -> usize {
        match self.input {
            InputKind::Real { features } => features,
            InputKind::Embedded { inputs, .. } => inputs,
        }
    }

    /// Width of the first affine layer's input (features, or the concatenated embeddings).
    pub fn first_width(&self) -> usize {
        match self.input {
            InputKind::Real { features } => features,
            InputKind::Embedded { inputs, dim, .. } => inputs * dim,
        }
    }

    /// Parameters of the embedding tables (0 for real inputs).
    pub fn embedding_len(&self) -> usize {
        match self.input {
            InputKind::Real { .. } => 0,
            InputKind::Embedded { inputs, vocab, dim } => inputs * vocab * dim,
        }
    }

    /// The affine layers in order, with their place in the flat parameters.
    pub fn layers(&self) -> Vec<LayerView> {
        let mut views = Vec::new();
        let mut offset = self.embedding_len();
        let mut inp = self.first_width();
        for &out in self.hidden.iter().chain(std::iter::once(&self.output)) {
            let weight = offset..offset + out * inp;
            let bias = weight.end..weight.end + out;
            offset = bias.end;
            views.push(LayerView {
                out,
                inp,
                weight,
                bias,
            });
            inp = out;
        }
        views
    }

    /// Total number of parameters.
    pub fn param_count(&self) -> usize {
        self.layers()
            .last()
            .map_or(self.embedding_len(), |l| l.bias.end)
    }

    /// True for parameters that penalties act on: embeddings and layer weights, not biases.
    pub fn weight_mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.param_count()];
        mask[..self.embedding_len()].fill(true);
        for layer in self.layers() {
            mask[layer.weight].fill(true);
        }
        mask
    }

    /// Checks that every size is positive and the parameter count fits in memory sensibly.
    pub fn validate(&self) -> Result<(), String> {
        let sizes_ok = match self.input {
            InputKind::Real { features } => features > 0,
            InputKind::Embedded { inputs, vocab, dim } => inputs > 0 && vocab > 0 && dim > 0,
        };
        if !sizes_ok || self.output == 0 || self.hidden.contains(&0) {
            return Err(format!("every size of {self:?} must be positive"));
        }
        Ok(())
    }
}

/// A network of shape `shape` with its flat parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    pub shape: MlpShape,
    pub params: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_covers_every_parameter_once() {
        let shape = MlpShape {
            input: InputKind::Embedded {
                inputs: 2,
                vocab: 7,
                dim: 4,
            },
            hidden: vec![10],
            output: 7,
        };
        let layers = shape.layers();
        assert_eq!(layers[0].weight, 56..136);
        assert_eq!(layers[1].bias, 216..223);
        assert_eq!(shape.param_count(), 223);
        assert_eq!(
            shape.weight_mask().iter().filter(|&&m| m).count(),
            56 + 80 + 70
        );
    }
}
