//! `nn2py analyze complexity`: how simple a network is, and how much simpler it can be made
//! without changing what it computes.
//!
//! [`analyze_complexity`] imports a model through the normal pipeline ([`driver::compile`] up
//! to the network IR), reads every float constant as a weight and the dense layers
//! ([`dense`]) as matrices, and reports ([`ComplexityReport`]): the description length under
//! the prior of [`measure::description_bits`], nonzero weights, live hidden neurons, distinct
//! weight values before and after snapping (weight tying), groups of duplicated neurons (same
//! incoming weights up to a positive scale), the BIMT connection cost and the modularity of the
//! weight graph. With a domain, it also runs the simplifications of [`simplify`] and says for
//! each whether the simplified network still matches the original (reference interpreter, on
//! the whole domain when it has at most 65,536 inputs, else on a seeded sample), and measures
//! the simplified network.
//!
//! **Invariant:** the analysis never changes the network it reports on; simplifications work on
//! copies.

pub mod dense;
pub mod measure;
pub mod simplify;

use serde::Serialize;

use crate::driver::{self, CompileError, Emit};
use crate::network::Network;
use crate::verify::domain::Range;
use crate::verify::{self, ExampleLayout, VerifyOptions};
use dense::{dense_layers, float_constants};
use simplify::{graph_of, simplify_network, SimplifyOptions, StepReport};

pub use simplify::SimplifyOptions as ComplexitySimplifyOptions;

/// The prior the description length is stated under.
pub const PRIOR: &str = "weights rounded to multiples of 2^-10; a codebook of the distinct \
multiples (sign bit + Elias gamma of |k|+1 each) and an ideal entropy code of each weight's \
codebook index; shapes free";

/// Settings of [`analyze_complexity`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComplexityOptions {
    /// The compile options used to import the model (domain, length, kind, limits, samples).
    pub compile: driver::Options,
    pub simplify: SimplifyOptions,
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
    /// Each simplification and whether it still matches the original (with a domain).
    pub simplification: Vec<StepReport>,
    /// The measurements of the simplified network (with a domain).
    pub simplified: Option<Measures>,
}

/// Measures `network` with the given tolerances.
pub fn measure(network: &Network, options: &SimplifyOptions) -> Measures {
    let graph = graph_of(network);
    let values: Vec<f64> = float_constants(graph)
        .iter()
        .flat_map(|(_, a)| a.iter().map(|&v| f64::from(v)))
        .collect();
    let snapped = measure::snap_values(&values, options.snap_tolerance);
    let (layers, links) = dense_layers(graph);
    let mut hidden = 0;
    let mut live_count = 0;
    let mut groups = Vec::new();
    for (k, &linked) in links.iter().enumerate() {
        if !linked {
            continue;
        }
        let (layer, next) = (&layers[k], &layers[k + 1]);
        let live: Vec<bool> = (0..layer.out)
            .map(|i| measure::is_live(layer, next, i))
            .collect();
        hidden += layer.out;
        live_count += live.iter().filter(|&&l| l).count();
        for group in measure::duplicate_groups(layer, &live, options.duplicate_tolerance) {
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
        description_bits: measure::description_bits(&values),
        distinct_values: measure::distinct(&values),
        distinct_values_snapped: measure::distinct(&snapped),
        description_bits_snapped: measure::description_bits(&snapped),
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

/// The simplified network when at least one simplification step was kept and changed it, for
/// the driver: `reference` is `network`'s outputs on `examples`.
pub fn simplified_network(
    network: &Network,
    layout: &ExampleLayout,
    examples: &verify::Examples,
    reference: &verify::Reference,
    verify_options: &VerifyOptions,
) -> Option<Network> {
    let (simplified, steps) = simplify_network(
        network,
        layout,
        examples,
        reference,
        &SimplifyOptions::default(),
        verify_options,
    );
    steps
        .iter()
        .any(|s| s.matches && s.changed > 0)
        .then_some(simplified)
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
    let measures = measure(&network, &options.simplify);
    let (simplification, simplified) = match &domain {
        Some(ranges) => {
            let layout = ExampleLayout::of(&network, None);
            let examples =
                verify::draw_examples(&layout.example_ranges(ranges), &options.compile.verify);
            let reference = verify::reference_outputs(&network, &layout, &examples)?;
            let (network, steps) = simplify_network(
                &network,
                &layout,
                &examples,
                &reference,
                &options.simplify,
                &options.compile.verify,
            );
            (steps, Some(measure(&network, &options.simplify)))
        }
        None => (Vec::new(), None),
    };
    Ok(ComplexityReport {
        schema_version: 1,
        model_digest: compilation.report.model_digest,
        kind: compilation.report.kind,
        prior: PRIOR,
        snap_tolerance: options.simplify.snap_tolerance,
        duplicate_tolerance: options.simplify.duplicate_tolerance,
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
