//! Canonical form of a unit layer under the symmetries that leave the network's function
//! unchanged: each ReLU unit rescaled so its largest incoming weight (bias included) has
//! magnitude 1 (the scale moves to its outgoing weights), each tanh unit's sign chosen so that
//! entry is positive, and the units sorted by the input they read most (positive readings
//! first), then by their incoming weights.
//!
//! Two networks that differ by a permutation, rescaling or sign flip of hidden units have the
//! same canonical form (up to float rounding), so they lower to the same program.

use std::cmp::Ordering;

use super::units::{UnitActivation, UnitLayer};

/// Rescales or flips every unit and sorts the units; returns how many units changed.
pub fn canonicalise(layer: &mut UnitLayer) -> usize {
    let mut changed = 0;
    for j in 0..layer.len() {
        let largest = layer.incoming[j]
            .iter()
            .chain([&layer.bias[j]])
            .fold(
                0.0f64,
                |best, &v| if v.abs() > best.abs() { v } else { best },
            );
        let factor = match layer.activation {
            UnitActivation::Relu => largest.abs(),
            UnitActivation::Tanh => largest.signum(),
        };
        if factor == 0.0 || factor == 1.0 {
            continue;
        }
        for w in &mut layer.incoming[j] {
            *w /= factor;
        }
        layer.bias[j] /= factor;
        for consumer in &mut layer.consumers {
            for w in &mut consumer.outgoing[j] {
                *w *= factor;
            }
        }
        changed += 1;
    }
    let mut order: Vec<usize> = (0..layer.len()).collect();
    order.sort_by(|&a, &b| compare_units(layer, a, b));
    if order.iter().enumerate().any(|(i, &j)| i != j) {
        layer.reorder(&order);
        changed += 1;
    }
    changed
}

/// The order a person would write the units in: by the input a unit reads most (its largest
/// incoming weight, first on ties), positive readings before negative ones, then lexicographically
/// (descending) on (incoming weights, bias).
fn compare_units(layer: &UnitLayer, a: usize, b: usize) -> Ordering {
    let main_input = |j: usize| {
        let weights = &layer.incoming[j];
        let (index, weight) =
            weights
                .iter()
                .enumerate()
                .fold((usize::MAX, 0.0f64), |best, (i, &w)| {
                    if w.abs() > best.1.abs() {
                        (i, w)
                    } else {
                        best
                    }
                });
        (index, weight < 0.0)
    };
    let key = |j: usize| {
        layer.incoming[j]
            .iter()
            .copied()
            .chain([layer.bias[j]])
            .collect::<Vec<f64>>()
    };
    let (ka, kb) = (key(a), key(b));
    main_input(a).cmp(&main_input(b)).then_with(|| {
        kb.iter()
            .zip(&ka)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    })
}
