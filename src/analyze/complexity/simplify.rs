//! Simplifications of a network that a complexity report proposes, each checked against the
//! original network by the reference interpreter on the domain.
//!
//! In order: prune dead hidden neurons, merge duplicated neurons (equal incoming weights up to
//! a positive scale: `relu(c u.x) = c relu(u.x)`, so the duplicate's outgoing weights, times
//! `c`, move to the kept neuron), snap every weight to the codebook of
//! [`super::measure::snap_values`], and order hidden neurons canonically (by the input they
//! read most, positive weight first). A step is kept only when the network it gives agrees with
//! the original on every checked input; the next step starts from the last kept network.

use serde::Serialize;

use super::dense::{dense_layers, float_constants, store_layer, DenseLayer};
use super::measure::{duplicate_groups, is_live, snap_values};
use crate::network::{Graph, Network, Tensor, ValueDef};
use crate::verify::{self, Agreement, ExampleLayout, Examples, Reference, VerifyOptions};

/// One simplification step and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// `prune`, `merge`, `snap` or `order`.
    pub step: &'static str,
    /// Neurons pruned, merged or moved, or weights changed by snapping.
    pub changed: usize,
    /// Whether the step's network matched the original on every checked input (and was kept).
    pub matches: bool,
    /// The check; `None` when the step changed nothing.
    pub agreement: Option<Agreement>,
}

/// Tolerances of the simplifications.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimplifyOptions {
    /// Relative gap within which weights share one snapped value.
    pub snap_tolerance: f64,
    /// Largest coordinate difference of unit incoming vectors for neurons to be duplicates.
    pub duplicate_tolerance: f64,
}

impl Default for SimplifyOptions {
    fn default() -> Self {
        SimplifyOptions {
            snap_tolerance: 0.02,
            duplicate_tolerance: 1e-3,
        }
    }
}

/// The graph whose weights are analysed: the pointwise graph, or a sequence model's step.
pub fn graph_of(network: &Network) -> &Graph {
    match network {
        Network::Pointwise(g) => g,
        Network::Sequence(m) => &m.cell.step,
    }
}

fn graph_of_mut(network: &mut Network) -> &mut Graph {
    match network {
        Network::Pointwise(g) => g,
        Network::Sequence(m) => &mut m.cell.step,
    }
}

/// Runs the steps on `network`; returns the simplified network and one report per step.
/// `reference` is the original network's outputs on `examples` (laid out by `layout`).
pub fn simplify_network(
    network: &Network,
    layout: &ExampleLayout,
    examples: &Examples,
    reference: &Reference,
    options: &SimplifyOptions,
    verify_options: &VerifyOptions,
) -> (Network, Vec<StepReport>) {
    let mut current = network.clone();
    let mut reports = Vec::new();
    type Step = fn(&mut Graph, &SimplifyOptions) -> usize;
    let steps: [(&'static str, Step); 4] = [
        ("prune", prune),
        ("merge", merge),
        ("snap", snap),
        ("order", order),
    ];
    for (name, step) in steps {
        let mut candidate = current.clone();
        let changed = step(graph_of_mut(&mut candidate), options);
        if changed == 0 {
            reports.push(StepReport {
                step: name,
                changed,
                matches: true,
                agreement: None,
            });
            continue;
        }
        let agreement = match verify::reference_outputs(&candidate, layout, examples) {
            Ok(outputs) => {
                let actual: Vec<Option<Vec<f64>>> = outputs.outputs.into_iter().map(Some).collect();
                verify::check_outputs(examples, reference, &actual, verify_options)
            }
            Err(_) => {
                let actual = vec![None; examples.examples.len()];
                verify::check_outputs(examples, reference, &actual, verify_options)
            }
        };
        let matches = agreement.is_exact();
        if matches {
            current = candidate;
        }
        reports.push(StepReport {
            step: name,
            changed,
            matches,
            agreement: Some(agreement),
        });
    }
    (current, reports)
}

/// Zeroes a hidden neuron: its row and bias in `layer`, its column in `next`.
fn clear_neuron(layer: &mut DenseLayer, next: &mut DenseLayer, i: usize) {
    layer.weight[i * layer.inp..(i + 1) * layer.inp].fill(0.0);
    layer.bias[i] = 0.0;
    for m in 0..next.out {
        next.weight[m * next.inp + i] = 0.0;
    }
}

fn prune(graph: &mut Graph, _: &SimplifyOptions) -> usize {
    let (mut layers, links) = dense_layers(graph);
    let mut pruned = 0;
    for (k, &linked) in links.iter().enumerate() {
        if !linked {
            continue;
        }
        let (head, tail) = layers.split_at_mut(k + 1);
        let (layer, next) = (&mut head[k], &mut tail[0]);
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
    }
    layers.iter().for_each(|l| store_layer(graph, l));
    pruned
}

fn merge(graph: &mut Graph, options: &SimplifyOptions) -> usize {
    let (mut layers, links) = dense_layers(graph);
    let mut merged = 0;
    for (k, &linked) in links.iter().enumerate() {
        if !linked {
            continue;
        }
        let (head, tail) = layers.split_at_mut(k + 1);
        let (layer, next) = (&mut head[k], &mut tail[0]);
        let live: Vec<bool> = (0..layer.out).map(|i| is_live(layer, next, i)).collect();
        for group in duplicate_groups(layer, &live, options.duplicate_tolerance) {
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
    }
    layers.iter().for_each(|l| store_layer(graph, l));
    merged
}

fn snap(graph: &mut Graph, options: &SimplifyOptions) -> usize {
    let constants: Vec<_> = float_constants(graph)
        .into_iter()
        .map(|(id, a)| (id, a.clone()))
        .collect();
    let values: Vec<f64> = constants
        .iter()
        .flat_map(|(_, a)| a.iter().map(|&v| f64::from(v)))
        .collect();
    let snapped = snap_values(&values, options.snap_tolerance);
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

fn order(graph: &mut Graph, _: &SimplifyOptions) -> usize {
    let (mut layers, links) = dense_layers(graph);
    let mut moved = 0;
    for (k, &linked) in links.iter().enumerate() {
        if !linked {
            continue;
        }
        let (head, tail) = layers.split_at_mut(k + 1);
        let (layer, next) = (&mut head[k], &mut tail[0]);
        let key = |i: usize| {
            let row = &layer.weight[i * layer.inp..(i + 1) * layer.inp];
            let (arg, w) = row
                .iter()
                .enumerate()
                .fold((usize::MAX, 0.0f64), |b, (j, &w)| {
                    if w.abs() > b.1.abs() {
                        (j, w)
                    } else {
                        b
                    }
                });
            (arg, w < 0.0, i)
        };
        let mut perm: Vec<usize> = (0..layer.out).collect();
        perm.sort_by_key(|&i| key(i));
        if perm.iter().enumerate().all(|(a, &b)| a == b) {
            continue;
        }
        moved += perm.iter().enumerate().filter(|(a, b)| a != *b).count();
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
    }
    layers.iter().for_each(|l| store_layer(graph, l));
    moved
}
