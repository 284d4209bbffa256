//! The weight normal-form library: rewrites of a network's weights, each a pass over one view
//! of its layers, and the converter's pass list that brings a network to its numeric normal
//! form, so that the faithful lowering of two equivalent networks reads the same, and reads
//! simply.
//!
//! Layer views: [`units`] reads the hidden-unit pattern the converter edits (a dense layer, ReLU
//! or tanh, and the dense layers that read it: [`units::UnitLayer`]); [`dense`] reads every
//! dense layer as a matrix ([`dense::DenseLayer`]), as `analyze complexity` measures and edits
//! them. Both read and write through [`constants`].
//!
//! Passes (one per file): [`basis`] linear recurrences rewritten in the basis of the real
//! Jordan (else Schur) form of their state matrix ([`eigenbasis`] chooses it), [`prune`] dead
//! and constant hidden units, [`merge`] duplicated units, [`canonical`] rescaling, sign and
//! ordering of units, [`snap`] weights to small integers and simple fractions, [`codebook`]
//! weights clustered to a small codebook (and their description length). [`connection`] is the
//! geometry the connection cost measures weights on.
//!
//! The converter's normal form ([`normalise`]) runs basis, prune, merge, canonical, then (when
//! asked) snap and prune again (snapping can zero weights), all on unit layers.
//!
//! **Invariant:** every pass's result is kept only when the judge accepts it ([`try_pass`]): the
//! judge ([`judge`]) runs the candidate on the checked inputs and compares it with the original
//! network (exactly on rounded outputs under the rounding readout, within the verification
//! tolerance otherwise; under the rounding readout on a sampled domain, every output must also
//! keep at least half of the network's distance to the rounding boundary).
//! A rejected pass leaves the network as it was and says so in the report.

pub mod basis;
pub mod canonical;
pub mod codebook;
pub mod connection;
pub mod constants;
pub mod dense;
pub mod eigenbasis;
pub mod judge;
pub mod merge;
pub mod prune;
pub mod snap;
pub mod units;

use serde::Serialize;

use crate::network::{Graph, Network};

/// A judge failed to run a candidate (the interpreter refused it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("running a normalised network failed: {0}")]
pub struct NormalError(pub String);

/// Decides whether a candidate network still does what the original does.
pub type Judge<'a> = dyn FnMut(&Network) -> Result<bool, NormalError> + 'a;

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassReport {
    pub pass: &'static str,
    /// Units removed or changed, or weights snapped.
    pub changes: usize,
    /// Whether the judge kept the result (passes that changed nothing are not judged).
    pub accepted: bool,
}

/// What normalisation did to a network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NormalReport {
    /// Hidden units in unit layers before and after.
    pub units_before: usize,
    pub units_after: usize,
    pub passes: Vec<PassReport>,
    /// True when the passes, judged on a screening subset of the checked inputs, gave a network
    /// that differs from the original on some other checked input: the driver then lowers the
    /// original network instead.
    pub dropped: bool,
}

/// The graph whose weights the passes read and edit: the pointwise graph, or a sequence
/// model's step.
pub fn weights_graph(network: &Network) -> &Graph {
    match network {
        Network::Pointwise(graph) => graph,
        Network::Sequence(model) => &model.cell.step,
    }
}

/// [`weights_graph`], to edit.
pub fn weights_graph_mut(network: &mut Network) -> &mut Graph {
    match network {
        Network::Pointwise(graph) => graph,
        Network::Sequence(model) => &mut model.cell.step,
    }
}

/// Hidden units in the network's unit layers.
pub fn unit_count(network: &Network) -> usize {
    units::find_layers(weights_graph(network))
        .iter()
        .map(units::UnitLayer::len)
        .sum()
}

/// Applies a unit-layer pass to every unit layer, one layer at a time (consecutive layers share
/// a weight matrix, so each is read after the previous one was written).
fn on_every_layer(network: &mut Network, pass: fn(&mut units::UnitLayer) -> usize) -> usize {
    let mut changes = 0;
    let mut index = 0;
    loop {
        let layers = units::find_layers(weights_graph(network));
        let Some(layer) = layers.get(index) else {
            break;
        };
        let mut layer = layer.clone();
        let changed = pass(&mut layer);
        if changed > 0 {
            units::write_layer(weights_graph_mut(network), &layer);
            changes += changed;
        }
        index += 1;
    }
    changes
}

/// Runs a unit-layer pass and keeps its result only if the judge accepts it.
fn judged(
    network: &mut Network,
    name: &'static str,
    pass: fn(&mut units::UnitLayer) -> usize,
    judge: &mut Judge<'_>,
) -> Result<PassReport, NormalError> {
    judged_network(network, name, |n| on_every_layer(n, pass), judge)
}

/// Runs a whole-network pass and keeps its result only if the judge accepts it.
fn judged_network(
    network: &mut Network,
    name: &'static str,
    pass: impl FnOnce(&mut Network) -> usize,
    judge: &mut Judge<'_>,
) -> Result<PassReport, NormalError> {
    let (changes, verdict) = try_pass(
        network,
        pass,
        |candidate| judge(candidate),
        |verdict| matches!(verdict, Ok(true)),
    );
    Ok(PassReport {
        pass: name,
        changes,
        accepted: verdict.transpose()? == Some(true),
    })
}

/// Runs `pass` on a copy of `network`. When the pass changed something (returned more than 0),
/// `judge` gives its verdict on the copy, and the copy replaces `network` when `keep` accepts
/// that verdict. Returns the changes and the verdict (`None` when nothing changed, and the judge
/// did not run).
pub fn try_pass<V>(
    network: &mut Network,
    pass: impl FnOnce(&mut Network) -> usize,
    judge: impl FnOnce(&Network) -> V,
    keep: impl FnOnce(&V) -> bool,
) -> (usize, Option<V>) {
    let mut candidate = network.clone();
    let changes = pass(&mut candidate);
    if changes == 0 {
        return (0, None);
    }
    let verdict = judge(&candidate);
    if keep(&verdict) {
        *network = candidate;
    }
    (changes, Some(verdict))
}

/// Brings `network` to its normal form, every pass judged by `judge`. Snapping changes the
/// function (slightly), so it runs only when `snap` is set: the driver sets it when outputs are
/// read by rounding, where a snap that passes the judge leaves a margin; with raw outputs a snap
/// within tolerance on the checked inputs can exceed it elsewhere.
pub fn normalise(
    network: &Network,
    judge: &mut Judge<'_>,
    snap: bool,
) -> Result<(Network, NormalReport), NormalError> {
    let mut current = network.clone();
    let units_before = unit_count(&current);
    let mut passes = vec![
        judged_network(&mut current, "basis", basis::change_basis, judge)?,
        judged(&mut current, "prune", prune::prune, judge)?,
        judged(&mut current, "merge", merge::merge, judge)?,
        judged(&mut current, "canonical", canonical::canonicalise, judge)?,
    ];
    if snap {
        let snapped = snap::snap(&mut current, judge)?;
        passes.push(PassReport {
            pass: "snap",
            changes: snapped,
            accepted: snapped > 0,
        });
        passes.push(judged(&mut current, "prune", prune::prune, judge)?);
    }
    let report = NormalReport {
        units_before,
        units_after: unit_count(&current),
        passes,
        dropped: false,
    };
    Ok((current, report))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod basis_tests;
