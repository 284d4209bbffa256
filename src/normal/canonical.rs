//! Canonical form of a unit layer under the symmetries that leave the network's function
//! unchanged: each ReLU unit rescaled so its largest incoming weight (bias included) has
//! magnitude 1 (the scale moves to its outgoing weights), each tanh unit's sign chosen so that
//! entry is positive ([`rescale`]), and the units sorted by the input they read most (positive
//! readings first), then by their incoming weights ([`sort`]).
//!
//! Two networks that differ by a permutation, rescaling or sign flip of hidden units have the
//! same canonical form (up to float rounding), so they lower to the same program.
//!
//! Dense layers are only sorted ([`sort_neurons`]), by the same main input, ties kept in place.

use std::cmp::Ordering;

use super::dense::DenseLayer;
use super::units::{UnitActivation, UnitLayer};

/// Rescales or flips every unit and sorts the units; returns how many units changed (plus one
/// when the order changed).
pub fn canonicalise(layer: &mut UnitLayer) -> usize {
    rescale(layer) + sort(layer)
}

/// Rescales every ReLU unit to a largest incoming entry (bias included) of magnitude 1, and
/// flips every tanh unit to a positive largest entry; returns how many units changed.
pub fn rescale(layer: &mut UnitLayer) -> usize {
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
    changed
}

/// Sorts the units in the order of [`compare_units`]; returns 1 when the order changed, else 0.
pub fn sort(layer: &mut UnitLayer) -> usize {
    let mut order: Vec<usize> = (0..layer.len()).collect();
    order.sort_by(|&a, &b| compare_units(layer, a, b));
    if order.iter().enumerate().any(|(i, &j)| i != j) {
        layer.reorder(&order);
        1
    } else {
        0
    }
}

/// The input a unit reads most: the index and value of its largest weight in magnitude (the
/// first on ties), `(usize::MAX, 0.0)` when every weight is zero.
pub fn main_input(weights: &[f64]) -> (usize, f64) {
    weights
        .iter()
        .enumerate()
        .fold((usize::MAX, 0.0f64), |best, (i, &w)| {
            if w.abs() > best.1.abs() {
                (i, w)
            } else {
                best
            }
        })
}

/// The order a person would write the units in: by the input a unit reads most
/// ([`main_input`]), positive readings before negative ones, then lexicographically
/// (descending) on (incoming weights, bias).
fn compare_units(layer: &UnitLayer, a: usize, b: usize) -> Ordering {
    let main = |j: usize| {
        let (index, weight) = main_input(&layer.incoming[j]);
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
    main(a).cmp(&main(b)).then_with(|| {
        kb.iter()
            .zip(&ka)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    })
}

/// Sorts the hidden neurons of `layer` (read by `next`) by [`main_input`], positive readings
/// first, ties in their current order; returns how many neurons moved.
pub fn sort_neurons(layer: &mut DenseLayer, next: &mut DenseLayer) -> usize {
    let key = |i: usize| {
        let (index, weight) = main_input(&layer.weight[i * layer.inp..(i + 1) * layer.inp]);
        (index, weight < 0.0, i)
    };
    let mut perm: Vec<usize> = (0..layer.out).collect();
    perm.sort_by_key(|&i| key(i));
    if perm.iter().enumerate().all(|(a, &b)| a == b) {
        return 0;
    }
    let moved = perm.iter().enumerate().filter(|(a, b)| a != *b).count();
    let (w, b, n) = (
        layer.weight.clone(),
        layer.bias.clone(),
        next.weight.clone(),
    );
    for (slot, &from) in perm.iter().enumerate() {
        layer.weight[slot * layer.inp..(slot + 1) * layer.inp]
            .copy_from_slice(&w[from * layer.inp..(from + 1) * layer.inp]);
        layer.bias[slot] = b[from];
        for m in 0..next.out {
            next.weight[m * next.inp + slot] = n[m * next.inp + from];
        }
    }
    moved
}
