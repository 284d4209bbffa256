//! `nn2py analyze complexity`: how simple a network is, and how much simpler it can be made
//! without changing what it computes.
//!
//! [`analyze_complexity`] imports a model through the normal pipeline ([`driver::compile`] up
//! to the network IR), reads every float constant as a weight and the dense layers
//! ([`crate::normal::dense`]) as matrices, and reports ([`ComplexityReport`]): the description
//! length under the prior of [`codebook::description_bits`], nonzero weights, live hidden
//! neurons, distinct weight values before and after snapping (weight tying), groups of
//! duplicated neurons (same incoming weights up to a positive scale), the BIMT connection cost
//! and the modularity of the weight graph. With a domain, it also tries the dense-layer passes
//! of the normal-form library ([`trial`]) and says for each whether the resulting network still
//! matches the original (reference interpreter, on the whole domain when it has at most 65,536
//! inputs, else on a seeded sample), and measures the network of the kept passes.
//!
//! **Invariant:** the analysis never changes the network it reports on; passes work on copies.

pub mod measure;
pub mod trial;

use serde::Serialize;

use crate::driver::{self, CompileError, Emit};
use crate::network::Network;
use crate::normal::codebook;
use crate::normal::constants::float_constants;
use crate::normal::dense::{dense_layers, is_live};
use crate::normal::merge::duplicate_groups;
use crate::normal::weights_graph;
use crate::verify::domain::Range;
use crate::verify::{self, ExampleLayout};
use trial::{try_passes, PassTrial};

use crate::normal::codebook::PRIOR;
pub use trial::ComplexityTolerances;

/// Settings of [`analyze_complexity`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComplexityOptions {
    /// The compile options used to import the model (domain, length, kind, limits, samples).
    pub compile: driver::Options,
    pub tolerances: ComplexityTolerances,
}

/// A dense layer's size and sparsity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerSummary {
    pub name: String,
    pub inputs: usize,
    pub outputs: usize,
    pub nonzero_weights: usize,
}

/// Hidden neurons of one layer that compute the same function up to a positive scale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateGroup {
    /// The dense layer whose outputs they are.
    pub layer: String,
    pub neurons: Vec<usize>,
    /// Each neuron's incoming weights relative to the first's.
    pub scales: Vec<f64>,
}

/// The structural measurements of one network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measures {
    /// Float constants (weights, biases, embeddings).
    pub weights: usize,
    pub nonzero_weights: usize,
    /// Description length in bits under [`PRIOR`].
    pub description_bits: f64,
    pub distinct_values: usize,
    /// Distinct values after snapping with the report's snap tolerance.
    pub distinct_values_snapped: usize,
    /// Description length of the snapped values.
    pub description_bits_snapped: f64,
    pub dense_layers: Vec<LayerSummary>,
    /// Hidden neurons: outputs of dense layers read through a ReLU by the next dense layer.
    pub hidden_neurons: usize,
    pub live_neurons: usize,
    pub duplicate_groups: Vec<DuplicateGroup>,
    /// BIMT connection cost over the dense layers.
    pub connection_cost: f64,
    /// Connected components of the nonzero weight graph (outputs excluded).
    pub modules: usize,
    /// Newman modularity of that partition.
    pub modularity: f64,
}

/// The complexity report (`--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplexityReport {
    pub schema_version: u32,
    pub model_digest: String,
    pub kind: &'static str,
    pub prior: &'static str,
    pub snap_tolerance: f64,
    pub duplicate_tolerance: f64,
    pub domain: Option<Vec<Range>>,
    pub measures: Measures,
    /// Each tried pass and whether its network still matches the original (with a domain).
    pub simplification: Vec<PassTrial>,
    /// The measurements of the network of the kept passes (with a domain).
    pub simplified: Option<Measures>,
}

/// Measures `network` with the given tolerances.
pub fn measure(network: &Network, tolerances: &ComplexityTolerances) -> Measures {
    let graph = weights_graph(network);
    let values: Vec<f64> = float_constants(graph)
        .iter()
        .flat_map(|(_, a)| a.iter().map(|&v| f64::from(v)))
        .collect();
    let snapped = codebook::snap_values(&values, tolerances.snap_tolerance);
    let (layers, links) = dense_layers(graph);
    let mut hidden = 0;
    let mut live_count = 0;
    let mut groups = Vec::new();
    for (k, &linked) in links.iter().enumerate() {
        if !linked {
            continue;
        }
        let (layer, next) = (&layers[k], &layers[k + 1]);
        let live: Vec<bool> = (0..layer.out).map(|i| is_live(layer, next, i)).collect();
        hidden += layer.out;
        live_count += live.iter().filter(|&&l| l).count();
        for group in duplicate_groups(layer, &live, tolerances.duplicate_tolerance) {
            groups.push(DuplicateGroup {
                layer: layer.name.clone(),
                neurons: group.iter().map(|g| g.0).collect(),
                scales: group.iter().map(|g| g.1).collect(),
            });
        }
    }
    let (modules, modularity) = measure::modularity(&layers);
    Measures {
        weights: values.len(),
        nonzero_weights: values.iter().filter(|&&v| v != 0.0).count(),
        description_bits: codebook::description_bits(&values),
        distinct_values: codebook::distinct(&values),
        distinct_values_snapped: codebook::distinct(&snapped),
        description_bits_snapped: codebook::description_bits(&snapped),
        dense_layers: layers
            .iter()
            .map(|l| LayerSummary {
                name: l.name.clone(),
                inputs: l.inp,
                outputs: l.out,
                nonzero_weights: l.weight.iter().filter(|&&w| w != 0.0).count(),
            })
            .collect(),
        hidden_neurons: hidden,
        live_neurons: live_count,
        duplicate_groups: groups,
        connection_cost: measure::connection_cost(&layers),
        modules,
        modularity,
    }
}

/// Imports `bytes` (ONNX or network text) and reports on it. Errors are the importer's (and a
/// reference interpreter failure on the domain).
pub fn analyze_complexity(
    bytes: &[u8],
    options: &ComplexityOptions,
) -> Result<ComplexityReport, CompileError> {
    let compile_options = driver::Options {
        emit: Emit::Network,
        ..options.compile.clone()
    };
    let compilation = driver::compile(bytes, &compile_options)?;
    let network = compilation.network;
    let domain = compilation.report.domain.clone();
    let measures = measure(&network, &options.tolerances);
    let (simplification, simplified) = match &domain {
        Some(ranges) => {
            let layout = ExampleLayout::of(&network, None);
            let examples =
                verify::draw_examples(&layout.example_ranges(ranges), &options.compile.verify);
            let reference = verify::reference_outputs(&network, &layout, &examples)?;
            let (network, trials) = try_passes(
                &network,
                &layout,
                &examples,
                &reference,
                &options.tolerances,
                &options.compile.verify,
            );
            (trials, Some(measure(&network, &options.tolerances)))
        }
        None => (Vec::new(), None),
    };
    Ok(ComplexityReport {
        schema_version: 1,
        model_digest: compilation.report.model_digest,
        kind: compilation.report.kind,
        prior: PRIOR,
        snap_tolerance: options.tolerances.snap_tolerance,
        duplicate_tolerance: options.tolerances.duplicate_tolerance,
        domain,
        measures,
        simplification,
        simplified,
    })
}

/// The report as a few lines of text for a terminal.
pub fn summary(report: &ComplexityReport) -> String {
    let m = &report.measures;
    let mut out = format!(
        "{} model {}\n\
         weights: {} ({} nonzero), {} distinct ({} after snapping at {})\n\
         description length: {:.1} bits ({:.1} snapped) under: {}\n\
         hidden neurons: {} ({} live); duplicated groups: {}\n\
         connection cost: {:.3}; modules: {}; modularity: {:.3}\n",
        report.kind,
        report.model_digest,
        m.weights,
        m.nonzero_weights,
        m.distinct_values,
        m.distinct_values_snapped,
        report.snap_tolerance,
        m.description_bits,
        m.description_bits_snapped,
        report.prior,
        m.hidden_neurons,
        m.live_neurons,
        m.duplicate_groups.len(),
        m.connection_cost,
        m.modules,
        m.modularity,
    );
    for g in &m.duplicate_groups {
        out.push_str(&format!(
            "  duplicates in {}: neurons {:?}\n",
            g.layer, g.neurons
        ));
    }
    if report.simplification.is_empty() {
        out.push_str("simplification: not checked (no input domain)\n");
    }
    for s in &report.simplification {
        let verdict = match (&s.agreement, s.matches) {
            (None, _) => "nothing to do".to_string(),
            (Some(a), true) => format!("matches the original ({})", a.summary()),
            (Some(a), false) => format!("does not match, not kept ({})", a.summary()),
        };
        out.push_str(&format!(
            "simplify {}: {} changed; {verdict}\n",
            s.step, s.changed
        ));
    }
    if let Some(s) = &report.simplified {
        out.push_str(&format!(
            "simplified: {} nonzero weights, {} live neurons, {} distinct values, {:.1} bits\n",
            s.nonzero_weights, s.live_neurons, s.distinct_values, s.description_bits
        ));
    }
    out
}
