//! Activations: the network imported as the driver imports it, run over its integer input domain
//! (enumerated, or a seeded sample), with every layer recorded.
//!
//! A *layer* of a pointwise network is every `f32` node output with at least two elements (the
//! logits included); of a sequence model, the hidden state (all state tensors flattened) after
//! each step. The same runner replays single examples with one layer patched: the causal checks
//! and the finite-difference gradients are built on [`Subject::run`].

use crate::driver::{self, Emit, Options};
use crate::lift::trace::CellRunner;
use crate::network::interp::{run_graph_observed, InterpError};
use crate::network::{Network, Tensor, ValueDef, ValueId};
use crate::verify::domain::Range;
use crate::verify::{self, flatten, ExampleLayout, VerifyOptions};

use super::FeatureError;

/// Where a layer lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Site {
    /// A node output of a pointwise graph.
    Value(ValueId),
    /// A sequence model's state after step `t` (in the cell's running order).
    State(usize),
}

/// One recorded layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// The value's name in the model (`h` for a sequence model's state).
    pub name: String,
    /// The producing op (`"state"` for a sequence state).
    pub op: String,
    /// The step, for a sequence model's state.
    pub step: Option<usize>,
    pub site: Site,
    /// Width of one activation vector.
    pub dim: usize,
    /// One row of `dim` values per example, row-major.
    pub rows: Vec<f64>,
}

/// A layer's label in reports: `name`, or `name@step` for a sequence model's state at `step`.
pub fn layer_label(name: &str, step: Option<usize>) -> String {
    match step {
        Some(t) => format!("{name}@{t}"),
        None => name.to_string(),
    }
}

impl Layer {
    /// The layer's label in reports: `name`, or `name@step`.
    pub fn label(&self) -> String {
        layer_label(&self.name, self.step)
    }
}

/// An imported network with its integer domain.
pub struct Subject {
    pub network: Network,
    pub layout: ExampleLayout,
    /// One `(lo, hi)` per input feature of one example (for a sequence, per feature of one step).
    pub ranges: Vec<(i64, i64)>,
    /// A name per input feature of one example (per step feature for a sequence).
    pub feature_names: Vec<String>,
    pub model_digest: String,
}

/// The recorded activations over the domain.
pub struct Activations {
    /// The examples' input features (for a sequence, step-major).
    pub inputs: Vec<Vec<i64>>,
    /// The network's raw outputs per example (for a sequence, all steps, step-major).
    pub outputs: Vec<Vec<f64>>,
    /// The output read as an integer per example (per step for a sequence): the argmax when the
    /// output (per step) has several elements, else the rounded value.
    pub predictions: Vec<Vec<i64>>,
    pub layers: Vec<Layer>,
    pub exhaustive: bool,
}

/// Imports a model as `driver::compile` does (stopping at the network IR) and checks that its
/// domain is integer.
///
/// Errors: the driver's (bad model, bad or missing domain), or a domain with a real range.
pub fn load(bytes: &[u8], options: &Options) -> Result<Subject, FeatureError> {
    let options = Options {
        emit: Emit::Network,
        ..options.clone()
    };
    let compilation = driver::compile(bytes, &options)?;
    let network = compilation.network;
    let domain = compilation
        .report
        .domain
        .ok_or(FeatureError::Compile(driver::CompileError::NoDomain))?;
    let mut ranges = Vec::with_capacity(domain.len());
    for range in &domain {
        match *range {
            Range::Integers { lo, hi } => ranges.push((lo, hi)),
            Range::Reals { .. } => return Err(FeatureError::RealDomain(range.to_string())),
        }
    }
    let layout = ExampleLayout::of(&network, None);
    let feature_names = feature_names(&network, &layout);
    Ok(Subject {
        network,
        layout,
        ranges,
        feature_names,
        model_digest: compilation.report.model_digest,
    })
}

/// Input feature names: the input's name, indexed when an input has several features.
fn feature_names(network: &Network, layout: &ExampleLayout) -> Vec<String> {
    match network {
        Network::Pointwise(graph) => graph
            .inputs
            .iter()
            .zip(layout.feature_counts())
            .flat_map(|(&id, count)| {
                let name = graph.value(id).name.clone();
                (0..count).map(move |i| {
                    if count == 1 {
                        name.clone()
                    } else {
                        format!("{name}[{i}]")
                    }
                })
            })
            .collect(),
        Network::Sequence(model) => (0..model.input_dim)
            .map(|i| {
                if model.input_dim == 1 {
                    "x".to_string()
                } else {
                    format!("x[{i}]")
                }
            })
            .collect(),
    }
}

/// A replacement for one layer's activation in one run.
pub struct Patch<'a> {
    pub site: Site,
    /// Rewrites the layer's activation (flattened) in place.
    pub edit: &'a dyn Fn(&mut [f64]),
}

/// One run's outputs.
pub struct Run {
    pub outputs: Vec<f64>,
    /// Integer readings (see [`Activations::predictions`]).
    pub predictions: Vec<i64>,
}

impl Subject {
    /// Number of steps of a sequence model (1 for a pointwise one).
    pub fn steps(&self) -> usize {
        match &self.layout {
            ExampleLayout::Pointwise(_) => 1,
            ExampleLayout::Sequence { length, .. } => *length,
        }
    }

    /// Output elements per step.
    fn output_width(&self, total: usize) -> usize {
        match &self.network {
            Network::Pointwise(_) => total,
            Network::Sequence(model) => model.output_dim.max(1),
        }
    }

    /// Runs one example, optionally patching one layer; `record` sees every layer's activation.
    ///
    /// Errors: the interpreter's (a patch must keep the layer's width).
    pub fn run(
        &self,
        example: &[i64],
        patch: Option<&Patch<'_>>,
        record: &mut dyn FnMut(Site, &[f64]),
    ) -> Result<Run, InterpError> {
        let values: Vec<f64> = example.iter().map(|&v| v as f64).collect();
        let outputs = match &self.network {
            Network::Pointwise(graph) => {
                let tensors = self.layout.tensors(&values);
                let result = run_graph_observed(graph, &tensors, &mut |id, tensor| {
                    let Tensor::F32(array) = tensor else {
                        return;
                    };
                    if array.len() < 2 {
                        return;
                    }
                    let mut flat: Vec<f64> = array.iter().map(|&v| v as f64).collect();
                    if let Some(p) = patch.filter(|p| p.site == Site::Value(id)) {
                        (p.edit)(&mut flat);
                        for (a, v) in array.iter_mut().zip(&flat) {
                            *a = *v as f32;
                        }
                    }
                    record(Site::Value(id), &flat);
                })?;
                flatten(&result).0
            }
            Network::Sequence(model) => {
                let runner = CellRunner::new(model)?;
                let d = model.input_dim.max(1);
                let mut states = model.cell.init.clone();
                let mut outputs = Vec::new();
                for (t, input) in example.chunks(d).enumerate() {
                    let (output, next) = runner.step(states, input)?;
                    outputs.extend(output);
                    let mut flat = flatten(&next).0;
                    states = next;
                    if let Some(p) = patch.filter(|p| p.site == Site::State(t)) {
                        (p.edit)(&mut flat);
                        states = runner.unflatten(&flat);
                    }
                    record(Site::State(t), &flat);
                }
                outputs
            }
        };
        let width = self.output_width(outputs.len());
        let predictions = outputs.chunks(width.max(1)).map(read_integer).collect();
        Ok(Run {
            outputs,
            predictions,
        })
    }
}

/// The integer a network's output (one step) stands for: the argmax of several values (first on
/// ties), else the one value rounded.
pub fn read_integer(values: &[f64]) -> i64 {
    match values {
        [one] => one.round_ties_even() as i64,
        _ => {
            let mut best = 0;
            for (i, v) in values.iter().enumerate() {
                if *v > values[best] {
                    best = i;
                }
            }
            best as i64
        }
    }
}

/// Runs the subject over its domain (enumerated when it has at most `verify.exhaustive_limit`
/// inputs, else `verify.samples` seeded draws) and records every layer whose label `layer`
/// selects (all when `None`; a label is `name` or `name@step`, and `name` selects every step).
///
/// Errors: the interpreter's, naming the input.
pub fn collect(
    subject: &Subject,
    verify_options: &VerifyOptions,
    layer: Option<&str>,
) -> Result<Activations, FeatureError> {
    let features: Vec<Range> = subject
        .ranges
        .iter()
        .map(|&(lo, hi)| Range::Integers { lo, hi })
        .collect();
    let examples = verify::draw_examples(&subject.layout.example_ranges(&features), verify_options);
    let layer_names = layer_names(subject);
    let mut layers: Vec<Layer> = Vec::new();
    let mut slot_of = std::collections::BTreeMap::new();
    let mut inputs = Vec::with_capacity(examples.examples.len());
    let mut outputs = Vec::with_capacity(examples.examples.len());
    let mut predictions = Vec::with_capacity(examples.examples.len());
    for example in &examples.examples {
        let ints: Vec<i64> = example.iter().map(|&v| v as i64).collect();
        let run = subject
            .run(&ints, None, &mut |site, values| {
                let slot = *slot_of.entry(site).or_insert_with(|| {
                    let (name, op, step) = layer_names(site);
                    layers.push(Layer {
                        name,
                        op,
                        step,
                        site,
                        dim: values.len(),
                        rows: Vec::new(),
                    });
                    layers.len() - 1
                });
                layers[slot].rows.extend_from_slice(values);
            })
            .map_err(|cause| FeatureError::Run {
                input: ints.clone(),
                cause,
            })?;
        inputs.push(ints);
        outputs.push(run.outputs);
        predictions.push(run.predictions);
    }
    layers.retain(|l| l.dim >= 2 && layer.is_none_or(|want| want == l.name || want == l.label()));
    if let Some(want) = layer {
        if layers.is_empty() {
            return Err(FeatureError::NoSuchLayer(want.to_string()));
        }
    }
    Ok(Activations {
        inputs,
        outputs,
        predictions,
        layers,
        exhaustive: examples.exhaustive,
    })
}

/// Names a site: `(value name, op, step)`.
fn layer_names(subject: &Subject) -> impl Fn(Site) -> (String, String, Option<usize>) + '_ {
    move |site| match (site, &subject.network) {
        (Site::Value(id), Network::Pointwise(graph)) => {
            let value = graph.value(id);
            let op = match &value.def {
                ValueDef::Node(node, _) => graph.node(*node).op.onnx_name().to_string(),
                ValueDef::Input(_) | ValueDef::Const(_) => "input".to_string(),
            };
            (value.name.clone(), op, None)
        }
        (Site::State(t), _) => ("h".to_string(), "state".to_string(), Some(t)),
        (Site::Value(id), Network::Sequence(_)) => (format!("v{}", id.0), "?".to_string(), None),
    }
}
