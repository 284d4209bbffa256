//! The passes a complexity report tries on a copy of the network, each checked against the
//! original network by the reference interpreter on the domain.
//!
//! In order, the dense-layer passes of the normal-form library: prune dead hidden neurons
//! ([`normal::prune::prune_dead_neurons`]), merge duplicated neurons
//! ([`normal::merge::merge_duplicate_neurons`]), snap every weight to the codebook of
//! [`normal::codebook::snap_values`], and order hidden neurons by the input they read most
//! ([`normal::canonical::sort_neurons`]). A pass is kept only when the network it gives agrees
//! with the original on every checked input; the next pass starts from the last kept network.

use serde::Serialize;

use crate::network::{Graph, Network};
use crate::normal::{self, canonical, codebook, dense, merge, prune};
use crate::verify::{self, Agreement, ExampleLayout, Examples, Reference, VerifyOptions};

/// One tried pass and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassTrial {
    /// `prune`, `merge`, `snap` or `order`.
    pub step: &'static str,
    /// Neurons pruned, merged or moved, or weights changed by snapping.
    pub changed: usize,
    /// Whether the pass's network matched the original on every checked input (and was kept).
    pub matches: bool,
    /// The check; `None` when the pass changed nothing.
    pub agreement: Option<Agreement>,
}

/// Tolerances of the measures and of the tried passes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplexityTolerances {
    /// Relative gap within which weights share one snapped value.
    pub snap_tolerance: f64,
    /// Largest coordinate difference of unit incoming vectors for neurons to be duplicates.
    pub duplicate_tolerance: f64,
}

impl Default for ComplexityTolerances {
    fn default() -> Self {
        ComplexityTolerances {
            snap_tolerance: 0.02,
            duplicate_tolerance: 1e-3,
        }
    }
}

/// A pass on the weights graph; returns how much it changed.
type DensePass = fn(&mut Graph, &ComplexityTolerances) -> usize;

/// The passes, in the order they are tried.
const PASSES: [(&str, DensePass); 4] = [
    ("prune", |graph, _| {
        dense::on_linked_pairs(graph, prune::prune_dead_neurons)
    }),
    ("merge", |graph, tolerances| {
        dense::on_linked_pairs(graph, |layer, next| {
            merge::merge_duplicate_neurons(layer, next, tolerances.duplicate_tolerance)
        })
    }),
    ("snap", |graph, tolerances| {
        codebook::snap_constants(graph, tolerances.snap_tolerance)
    }),
    ("order", |graph, _| {
        dense::on_linked_pairs(graph, canonical::sort_neurons)
    }),
];

/// Tries the passes on `network`; returns the network of the kept passes and one trial per
/// pass. `reference` is the original network's outputs on `examples` (laid out by `layout`).
pub fn try_passes(
    network: &Network,
    layout: &ExampleLayout,
    examples: &Examples,
    reference: &Reference,
    tolerances: &ComplexityTolerances,
    verify_options: &VerifyOptions,
) -> (Network, Vec<PassTrial>) {
    let mut current = network.clone();
    let mut trials = Vec::new();
    for (name, pass) in PASSES {
        let (changed, agreement) = normal::try_pass(
            &mut current,
            |candidate| pass(normal::weights_graph_mut(candidate), tolerances),
            |candidate| agreement_with(candidate, layout, examples, reference, verify_options),
            Agreement::is_exact,
        );
        trials.push(PassTrial {
            step: name,
            changed,
            matches: agreement.as_ref().is_none_or(Agreement::is_exact),
            agreement,
        });
    }
    (current, trials)
}

/// How `candidate`'s outputs on `examples` agree with `reference` (every example wrong when the
/// interpreter refuses the candidate).
fn agreement_with(
    candidate: &Network,
    layout: &ExampleLayout,
    examples: &Examples,
    reference: &Reference,
    verify_options: &VerifyOptions,
) -> Agreement {
    let actual: Vec<Option<Vec<f64>>> = match verify::reference_outputs(candidate, layout, examples)
    {
        Ok(outputs) => outputs.outputs.into_iter().map(Some).collect(),
        Err(_) => vec![None; examples.examples.len()],
    };
    verify::check_outputs(examples, reference, &actual, verify_options)
}
