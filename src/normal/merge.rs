//! Merging duplicated units: two units whose incoming weights and bias agree up to a scale the
//! activation commutes with (a positive scale through ReLU, a sign through tanh) compute the same
//! signal, so one of them carries both outgoing weights.
//!
//! `relu(s z) = s relu(z)` for `s > 0` and `tanh(-z) = -tanh(z)`, so unit `k = s * unit j` is
//! replaced by adding `s * outgoing_k` to `outgoing_j`.
//!
//! Two tests of "the same up to scale", one per layer view: unit layers ([`merge`]) compare
//! against the largest entry of the first unit with a fixed relative tolerance and remove the
//! duplicate; dense layers ([`merge_duplicate_neurons`]) compare unit-length vectors within a
//! caller's tolerance and zero the duplicate in place.

use super::dense::{clear_neuron, is_live, DenseLayer};
use super::units::{UnitActivation, UnitLayer};

/// Relative tolerance on "the same weights up to scale" in unit layers.
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

/// Groups (of two or more, by index) of live hidden neurons of `layer` whose incoming weights
/// and bias are equal up to a positive scale, within `tolerance` after normalising to unit
/// length; with each member's scale relative to the group's first member.
pub fn duplicate_groups(
    layer: &DenseLayer,
    live: &[bool],
    tolerance: f64,
) -> Vec<Vec<(usize, f64)>> {
    let unit: Vec<Option<(Vec<f64>, f64)>> = (0..layer.out)
        .map(|i| {
            let mut v = layer.weight[i * layer.inp..(i + 1) * layer.inp].to_vec();
            v.push(layer.bias[i]);
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            (live[i] && norm > 0.0).then(|| (v.iter().map(|x| x / norm).collect(), norm))
        })
        .collect();
    let mut taken = vec![false; layer.out];
    let mut groups = Vec::new();
    for i in 0..layer.out {
        let Some((ui, ni)) = &unit[i] else { continue };
        if taken[i] {
            continue;
        }
        let mut group = vec![(i, 1.0)];
        for j in i + 1..layer.out {
            if let (false, Some((uj, nj))) = (taken[j], &unit[j]) {
                let gap = ui
                    .iter()
                    .zip(uj)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                if gap <= tolerance {
                    taken[j] = true;
                    group.push((j, nj / ni));
                }
            }
        }
        if group.len() > 1 {
            groups.push(group);
        }
    }
    groups
}

/// Merges each group of [`duplicate_groups`] of `layer` (read through a ReLU by `next`) into
/// its first neuron: the others' outgoing weights, times their scale, move to it and they are
/// zeroed. Returns how many neurons were merged away.
pub fn merge_duplicate_neurons(
    layer: &mut DenseLayer,
    next: &mut DenseLayer,
    tolerance: f64,
) -> usize {
    let mut merged = 0;
    let live: Vec<bool> = (0..layer.out).map(|i| is_live(layer, next, i)).collect();
    for group in duplicate_groups(layer, &live, tolerance) {
        let keep = group[0].0;
        for &(j, scale) in &group[1..] {
            for m in 0..next.out {
                let moved = next.weight[m * next.inp + j] * scale;
                next.weight[m * next.inp + keep] += moved;
            }
            clear_neuron(layer, next, j);
            merged += 1;
        }
    }
    merged
}
