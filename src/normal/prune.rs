//! Dead-unit pruning: a unit no consumer reads (all outgoing weights zero) is removed; a unit
//! with no incoming weights is a constant, folded into its consumers' biases and removed.
//!
//! Exact: the network computes the same function (up to float summation order).

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
