//! Merging duplicated units: two units whose incoming weights and bias agree up to a scale the
//! activation commutes with (a positive scale through ReLU, a sign through tanh) compute the same
//! signal, so one of them carries both outgoing weights.
//!
//! `relu(s z) = s relu(z)` for `s > 0` and `tanh(-z) = -tanh(z)`, so unit `k = s * unit j` is
//! replaced by adding `s * outgoing_k` to `outgoing_j`.

use super::units::{UnitActivation, UnitLayer};

/// Relative tolerance on "the same weights up to scale".
const SAME: f64 = 1e-5;

/// The scale `s` with `(w_k, b_k) = s (w_j, b_j)` that the activation commutes with, if any.
pub fn duplicate_scale(layer: &UnitLayer, j: usize, k: usize) -> Option<f64> {
    let vj: Vec<f64> = layer.incoming[j]
        .iter()
        .copied()
        .chain([layer.bias[j]])
        .collect();
    let vk: Vec<f64> = layer.incoming[k]
        .iter()
        .copied()
        .chain([layer.bias[k]])
        .collect();
    let (pivot, largest) =
        vj.iter()
            .enumerate()
            .map(|(i, v)| (i, v.abs()))
            .fold(
                (0, 0.0),
                |best, cur| if cur.1 > best.1 { cur } else { best },
            );
    if largest == 0.0 {
        return None;
    }
    let scale = vk[pivot] / vj[pivot];
    let size = vk.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let same = vj
        .iter()
        .zip(&vk)
        .all(|(a, b)| (b - scale * a).abs() <= SAME * size);
    if !same {
        return None;
    }
    match layer.activation {
        UnitActivation::Relu if scale > 0.0 => Some(scale),
        UnitActivation::Tanh if (scale.abs() - 1.0).abs() <= SAME => Some(scale.signum()),
        UnitActivation::Relu | UnitActivation::Tanh => None,
    }
}

/// Merges every duplicated unit into the first unit it duplicates; returns how many went.
pub fn merge(layer: &mut UnitLayer) -> usize {
    let mut merged = 0;
    let mut j = 0;
    while j < layer.len() {
        let mut k = j + 1;
        while k < layer.len() {
            match duplicate_scale(layer, j, k) {
                Some(scale) => {
                    for consumer in &mut layer.consumers {
                        let extra = consumer.outgoing[k].clone();
                        for (w, e) in consumer.outgoing[j].iter_mut().zip(extra) {
                            *w += scale * e;
                        }
                    }
                    layer.remove(k);
                    merged += 1;
                }
                None => k += 1,
            }
        }
        j += 1;
    }
    merged
}
