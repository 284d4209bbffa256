//! Weights as a codebook: the values of a network's weights snapped to a small set of simple
//! numbers (weight tying), and the description length of weights under a codebook prior.
//!
//! Unlike [`super::snap`], which moves each weight to a simple fraction near it, snapping to a
//! codebook first clusters close values, so tied weights stay tied.

use std::collections::BTreeMap;

use super::constants::float_constants;
use crate::network::{Graph, Tensor, ValueDef};

/// The prior the description length is stated under.
pub const PRIOR: &str = "weights rounded to multiples of 2^-10; a codebook of the distinct \
multiples (sign bit + Elias gamma of |k|+1 each) and an ideal entropy code of each weight's \
codebook index; shapes free";

/// Grid of the description-length prior: every weight is coded as a multiple of `2^-10`.
pub const QUANTUM: f64 = 1.0 / 1024.0;

/// The weights' values snapped to a small codebook: values closer than `tolerance` (relative to
/// `max(|v|, 1)`) form one cluster; each cluster's value is the simplest dyadic number (fewest
/// binary digits, up to `2^-10`) within `tolerance` of the cluster's mean, else the mean. Exact
/// zeros stay zero. Returns, per input value, its snapped value.
pub fn snap_values(values: &[f64], tolerance: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut snapped = values.to_vec();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() {
            let (prev, next) = (values[order[end - 1]], values[order[end]]);
            if next - prev > tolerance * prev.abs().max(1.0) {
                break;
            }
            end += 1;
        }
        let cluster = &order[start..end];
        let mean = cluster.iter().map(|&i| values[i]).sum::<f64>() / cluster.len() as f64;
        let value = simplest_near(mean, tolerance * mean.abs().max(1.0));
        for &i in cluster {
            snapped[i] = value;
        }
        start = end;
    }
    snapped
}

/// The dyadic number with fewest binary digits within `radius` of `x` (0 counts as simplest).
fn simplest_near(x: f64, radius: f64) -> f64 {
    if x.abs() <= radius {
        return 0.0;
    }
    for bits in 0..=10 {
        let unit = f64::powi(2.0, -bits);
        let candidate = (x / unit).round() * unit;
        if (candidate - x).abs() <= radius {
            return candidate;
        }
    }
    x
}

/// Bits to code `values` under the stated prior: each value rounded to a multiple of
/// [`QUANTUM`]; the codebook of distinct multiples `k` costs a sign bit plus the Elias gamma code
/// of `|k| + 1` each; every weight then costs `-log2` of its value's frequency (an ideal
/// entropy code of the indices). Shapes and positions are free.
pub fn description_bits(values: &[f64]) -> f64 {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for &v in values {
        *counts.entry((v / QUANTUM).round() as i64).or_default() += 1;
    }
    let n = values.len() as f64;
    let codebook: f64 = counts
        .keys()
        .map(|&k| 1.0 + elias_gamma_bits(k.unsigned_abs() + 1))
        .sum();
    let data: f64 = counts
        .values()
        .map(|&c| c as f64 * -(c as f64 / n).log2())
        .sum();
    codebook + data
}

fn elias_gamma_bits(n: u64) -> f64 {
    (2 * (63 - n.max(1).leading_zeros()) + 1) as f64
}

/// Number of distinct values.
pub fn distinct(values: &[f64]) -> usize {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v.len()
}

/// Snaps every float constant of `graph` to the codebook of [`snap_values`] (all constants
/// clustered together); returns how many entries changed.
pub fn snap_constants(graph: &mut Graph, tolerance: f64) -> usize {
    let constants: Vec<_> = float_constants(graph)
        .into_iter()
        .map(|(id, a)| (id, a.clone()))
        .collect();
    let values: Vec<f64> = constants
        .iter()
        .flat_map(|(_, a)| a.iter().map(|&v| f64::from(v)))
        .collect();
    let snapped = snap_values(&values, tolerance);
    let mut changed = 0;
    let mut at = 0;
    for (id, mut array) in constants {
        for v in array.iter_mut() {
            let new = snapped[at] as f32;
            changed += usize::from(new != *v);
            *v = new;
            at += 1;
        }
        graph.values[id.0 as usize].def = ValueDef::Const(Tensor::F32(array));
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapping_ties_close_values_to_simple_numbers() {
        let s = snap_values(&[0.998, 1.003, -0.999, 0.0004, 0.37], 0.01);
        assert_eq!(s, vec![1.0, 1.0, -1.0, 0.0, 0.375]);
        assert_eq!(distinct(&s), 4);
    }

    #[test]
    fn description_length_rewards_sparsity_and_tying() {
        let dense: Vec<f64> = (0..16).map(|i| 0.1 + i as f64 * 0.07).collect();
        let tied = vec![1.0; 16];
        let sparse: Vec<f64> = (0..16).map(|i| if i < 2 { 1.0 } else { 0.0 }).collect();
        let (d, t, s) = (
            description_bits(&dense),
            description_bits(&tied),
            description_bits(&sparse),
        );
        assert!(t < s && s < d, "{t} {s} {d}");
        // One value 1.0 = 1024 quanta: sign + gamma(1025) = 1 + 21 bits, and 0 bits per weight.
        assert_eq!(t, 22.0);
    }
}
