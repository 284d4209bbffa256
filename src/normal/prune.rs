//! Dead-unit pruning, in the two layer views.
//!
//! Unit layers ([`prune`]): a unit no consumer reads (all outgoing weights zero) is removed; a
//! unit with no incoming weights is a constant, folded into its consumers' biases and removed.
//! Dense layers ([`prune_dead_neurons`]): a ReLU neuron that cannot affect anything is zeroed in
//! place, its layer keeping its shape.
//!
//! Exact: the network computes the same function (up to float summation order).

use super::dense::{clear_neuron, is_live, DenseLayer};
use super::units::UnitLayer;

/// Prunes dead and constant units of `layer` (never its last unit); returns how many went.
pub fn prune(layer: &mut UnitLayer) -> usize {
    let mut removed = 0;
    let mut j = 0;
    while j < layer.len() && layer.len() > 1 {
        let silent = layer
            .consumers
            .iter()
            .all(|c| c.outgoing[j].iter().all(|&w| w == 0.0));
        let constant = layer.incoming[j].iter().all(|&w| w == 0.0);
        if silent {
            layer.remove(j);
            removed += 1;
        } else if constant && layer.consumers.iter().all(|c| c.bias.is_some()) {
            let value = layer.activation.apply(layer.bias[j]);
            for consumer in &mut layer.consumers {
                let outgoing = consumer.outgoing[j].clone();
                if let Some(bias) = consumer.bias.as_mut() {
                    for (b, w) in bias.iter_mut().zip(outgoing) {
                        *b += value * w;
                    }
                }
            }
            layer.remove(j);
            removed += 1;
        } else {
            j += 1;
        }
    }
    removed
}

/// Zeroes every hidden neuron of `layer` (read through a ReLU by `next`) that is not
/// [`is_live`] but still has a nonzero weight or bias; returns how many it zeroed.
pub fn prune_dead_neurons(layer: &mut DenseLayer, next: &mut DenseLayer) -> usize {
    let mut pruned = 0;
    for i in 0..layer.out {
        let touched = layer.weight[i * layer.inp..(i + 1) * layer.inp]
            .iter()
            .chain((0..next.out).map(|m| &next.weight[m * next.inp + i]))
            .any(|&w| w != 0.0)
            || layer.bias[i] != 0.0;
        if touched && !is_live(layer, next, i) {
            clear_neuron(layer, next, i);
            pruned += 1;
        }
    }
    pruned
}
