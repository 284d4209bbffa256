//! The measurements of the complexity report that belong to it alone: the connection cost and
//! the modularity of the dense layers. Pure functions of weights; the others (description
//! length, weight tying, live and duplicated neurons) are the normal-form library's
//! ([`crate::normal::codebook`], [`crate::normal::dense`], [`crate::normal::merge`]).

use std::collections::BTreeMap;

use crate::normal::connection::connection_length;
use crate::normal::dense::DenseLayer;

/// The BIMT connection cost `sum |W_ij| * connection_length(i, j)` over dense layers (see
/// [`crate::normal::connection`]).
pub fn connection_cost(layers: &[DenseLayer]) -> f64 {
    layers
        .iter()
        .map(|l| {
            let mut cost = 0.0;
            for o in 0..l.out {
                for i in 0..l.inp {
                    let len = connection_length(o, l.out, i, l.inp);
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
