//! Architectures of the anchor RNN, their seeded initialisation, and a flat view of the
//! parameters that the optimiser and the penalties walk over.

use std::fmt;

use crate::export::{Affine, AnchorRnn};
use crate::rng::SplitMix64;

/// The shape of an anchor RNN: hidden size and the widths of the hidden layers of `f` and `g`
/// (empty = one affine layer).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Architecture {
    pub hidden: usize,
    /// Widths of `f`'s hidden layers; `f` has `f_widths.len() + 1` affine layers.
    pub f_widths: Vec<usize>,
    /// Widths of `g`'s hidden layers; `g` has `g_widths.len() + 1` affine layers.
    pub g_widths: Vec<usize>,
}

impl Architecture {
    /// Number of trainable values (weights and biases) for the given input and output sizes.
    pub fn parameter_count(&self, input_dim: usize, output_dim: usize) -> usize {
        let chain = |from: usize, widths: &[usize], to: usize| {
            let mut sizes = vec![from];
            sizes.extend_from_slice(widths);
            sizes.push(to);
            sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum::<usize>()
        };
        chain(self.hidden + input_dim, &self.f_widths, self.hidden)
            + chain(self.hidden, &self.g_widths, output_dim)
    }

    /// Whether the recurrence `f` is affine (a linear RNN).
    pub fn is_linear(&self) -> bool {
        self.f_widths.is_empty()
    }

    /// The architecture of an existing network.
    pub fn of(model: &AnchorRnn) -> Architecture {
        let widths = |layers: &[Affine]| {
            layers[..layers.len().saturating_sub(1)]
                .iter()
                .map(|l| l.out)
                .collect()
        };
        Architecture {
            hidden: model.hidden,
            f_widths: widths(&model.f),
            g_widths: widths(&model.g),
        }
    }
}

impl fmt::Display for Architecture {
    /// `h=4 f=[16] g=[]`.
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |w: &[usize]| {
            w.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        write!(
            out,
            "h={} f=[{}] g=[{}]",
            self.hidden,
            list(&self.f_widths),
            list(&self.g_widths)
        )
    }
}

/// A network of the given architecture with PyTorch's default `Linear` initialisation: every
/// weight and bias uniform in `±1/sqrt(fan_in)`, drawn from `seed` layer by layer.
pub fn initialise(
    arch: &Architecture,
    input_dim: usize,
    output_dim: usize,
    seed: u64,
) -> AnchorRnn {
    let mut rng = SplitMix64::new(seed);
    let mut chain = |from: usize, widths: &[usize], to: usize| {
        let mut sizes = vec![from];
        sizes.extend_from_slice(widths);
        sizes.push(to);
        sizes
            .windows(2)
            .map(|w| {
                let (inp, out) = (w[0], w[1]);
                let bound = 1.0 / (inp.max(1) as f64).sqrt();
                let mut draw = |n: usize| {
                    (0..n)
                        .map(|_| rng.real_in(-bound, bound) as f32)
                        .collect::<Vec<_>>()
                };
                let weight = draw(out * inp);
                let bias = draw(out);
                Affine {
                    weight,
                    out,
                    inp,
                    bias,
                }
            })
            .collect::<Vec<_>>()
    };
    let f = chain(arch.hidden + input_dim, &arch.f_widths, arch.hidden);
    let g = chain(arch.hidden, &arch.g_widths, output_dim);
    AnchorRnn {
        input_dim,
        hidden: arch.hidden,
        output_dim,
        f,
        g,
    }
}

/// The parameter tensors of a network in a fixed order: `f.0.weight, f.0.bias, f.1.weight, ...,
/// g.0.weight, ...`. Optimiser state and masks use the same order.
pub fn tensors(model: &AnchorRnn) -> Vec<&[f32]> {
    model
        .f
        .iter()
        .chain(&model.g)
        .flat_map(|l| [l.weight.as_slice(), l.bias.as_slice()])
        .collect()
}

/// Mutable [`tensors`], same order.
pub fn tensors_mut(model: &mut AnchorRnn) -> Vec<&mut [f32]> {
    model
        .f
        .iter_mut()
        .chain(model.g.iter_mut())
        .flat_map(|l| [l.weight.as_mut_slice(), l.bias.as_mut_slice()])
        .collect()
}

/// Names of the [`tensors`], same order (`f.0.weight`, ...).
pub fn tensor_names(model: &AnchorRnn) -> Vec<String> {
    let mut names = Vec::new();
    for (mlp, layers) in [("f", &model.f), ("g", &model.g)] {
        for i in 0..layers.len() {
            names.push(format!("{mlp}.{i}.weight"));
            names.push(format!("{mlp}.{i}.bias"));
        }
    }
    names
}

/// All parameters as one vector, in [`tensors`] order.
pub fn flatten(model: &AnchorRnn) -> Vec<f32> {
    tensors(model).concat()
}

/// A network of `model`'s shape with every parameter zero (the shape of a gradient).
pub fn zeros_like(model: &AnchorRnn) -> AnchorRnn {
    let mut zero = model.clone();
    for t in tensors_mut(&mut zero) {
        t.fill(0.0);
    }
    zero
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_matches_the_initialised_network() {
        let arch = Architecture {
            hidden: 3,
            f_widths: vec![8],
            g_widths: vec![4, 2],
        };
        let model = initialise(&arch, 2, 1, 7);
        model.validate().unwrap();
        assert_eq!(flatten(&model).len(), arch.parameter_count(2, 1));
        assert_eq!(Architecture::of(&model), arch);
        assert_eq!(arch.to_string(), "h=3 f=[8] g=[4,2]");
        assert_eq!(tensor_names(&model).len(), tensors(&model).len());
    }

    #[test]
    fn initialisation_is_seeded_and_bounded() {
        let arch = Architecture {
            hidden: 4,
            f_widths: vec![],
            g_widths: vec![],
        };
        let a = initialise(&arch, 1, 1, 1);
        assert_eq!(a, initialise(&arch, 1, 1, 1));
        assert_ne!(a, initialise(&arch, 1, 1, 2));
        let bound = 1.0 / 5f32.sqrt();
        assert!(a.f[0].weight.iter().all(|w| w.abs() <= bound));
    }
}
