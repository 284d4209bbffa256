//! The measurements of the complexity report: description length, sparsity, weight tying,
//! duplicated neurons, connection cost and modularity. Pure functions of weights.

use std::collections::BTreeMap;

use super::dense::DenseLayer;
use crate::train::penalty::{position, CONNECTION_L0};

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

/// Whether hidden neuron `i` (output `i` of `layer`, read through a ReLU by `next`) can affect
/// anything: some outgoing weight is nonzero and it is not constantly zero (some incoming weight
/// is nonzero, or its bias is positive).
pub fn is_live(layer: &DenseLayer, next: &DenseLayer, i: usize) -> bool {
    let outgoing = (0..next.out).any(|m| next.weight[m * next.inp + i] != 0.0);
    let row = &layer.weight[i * layer.inp..(i + 1) * layer.inp];
    outgoing && (row.iter().any(|&w| w != 0.0) || layer.bias[i] > 0.0)
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

/// The BIMT connection cost `sum |W_ij| * (|pos_i - pos_j| + CONNECTION_L0)` over dense layers,
/// neurons of each layer evenly on the unit line.
pub fn connection_cost(layers: &[DenseLayer]) -> f64 {
    layers
        .iter()
        .map(|l| {
            let mut cost = 0.0;
            for o in 0..l.out {
                for i in 0..l.inp {
                    let len = (position(o, l.out) - position(i, l.inp)).abs() + CONNECTION_L0;
                    cost += l.weight[o * l.inp + i].abs() * len;
                }
            }
            cost
        })
        .sum()
}

/// Modules and Newman modularity of the undirected graph of nonzero weights between the inputs
/// of the first layer and every hidden neuron (output neurons left out: every module feeds
/// them); the partition is the connected components. Returns `(modules, modularity)`; a graph
/// without edges has 0 modules and modularity 0.
pub fn modularity(layers: &[DenseLayer]) -> (usize, f64) {
    let Some((_, inner)) = layers.split_last() else {
        return (0, 0.0);
    };
    // Node ids: layer 0's inputs first, then each inner layer's outputs.
    let mut offsets = vec![0usize];
    for l in inner {
        offsets.push(offsets.last().copied().unwrap_or(0) + l.inp);
    }
    let nodes = offsets.last().copied().unwrap_or(0) + inner.last().map_or(0, |l| l.out);
    let mut edges = Vec::new();
    for (k, l) in inner.iter().enumerate() {
        for o in 0..l.out {
            for i in 0..l.inp {
                let w = l.weight[o * l.inp + i].abs();
                if w > 0.0 {
                    edges.push((offsets[k] + i, offsets[k + 1] + o, w));
                }
            }
        }
    }
    let mut parent: Vec<usize> = (0..nodes).collect();
    fn find(parent: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while parent[r] != r {
            r = parent[r];
        }
        let mut y = x;
        while parent[y] != r {
            let next = parent[y];
            parent[y] = r;
            y = next;
        }
        r
    }
    for &(a, b, _) in &edges {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let total: f64 = edges.iter().map(|e| e.2).sum();
    if total == 0.0 {
        return (0, 0.0);
    }
    let mut internal: BTreeMap<usize, f64> = BTreeMap::new();
    let mut degree: BTreeMap<usize, f64> = BTreeMap::new();
    for &(a, b, w) in &edges {
        let c = find(&mut parent, a);
        *internal.entry(c).or_default() += w;
        *degree.entry(c).or_default() += 2.0 * w;
        let _ = b;
    }
    let q = internal
        .iter()
        .map(|(c, l)| l / total - (degree[c] / (2.0 * total)).powi(2))
        .sum();
    (internal.len(), q)
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
