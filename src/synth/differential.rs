//! The differential check of a generated model: nn2py's conversion (faithful, raw readout) run
//! by `python3`, nn2py's reference interpreter on the whole imported model, and a third opinion
//! computed elsewhere (onnxruntime, in the tests and the benchmark), on the same inputs.
//!
//! [`prepare`] compiles a model and runs the interpreter; the caller runs the written modules
//! (many per process: [`run_python`]) and the oracle, then [`compare`] measures the three pairs
//! with the verifier's tolerance: integer outputs exactly, real outputs within `rel_tol` of
//! `max(|expected|, 1)`.

use std::path::Path;

use crate::driver::{self, Options, Readout};
use crate::front::onnx::{import, ImportOptions};
use crate::network::interp::run_graph;
use crate::network::Tensor;
use crate::verify::python::{run_modules, ModuleJob, ModuleOutputs, PythonRunError};
use crate::verify::{
    check_outputs, draw_examples, flatten, Agreement, ExampleLayout, Examples, Reference,
    VerifyOptions,
};

/// How a differential check draws its inputs and compares outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffOptions {
    /// Inputs drawn per model for the three-way check.
    pub examples: usize,
    /// Seed of those inputs (fixed, so a failure reproduces).
    pub seed: u64,
    /// Relative tolerance on real outputs, relative to `max(|expected|, 1)`.
    pub rel_tol: f64,
    /// Inputs `driver::compile` checks the program on (its own verification), kept small: the
    /// differential check is the point here.
    pub compile_samples: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            examples: 8,
            seed: 0xD1FF,
            rel_tol: 1e-4,
            compile_samples: 32,
        }
    }
}

/// A compiled model with its inputs and nn2py's interpreter outputs on them.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What the model is (for a generated one, its description with the seed).
    pub name: String,
    /// The declared input names, in order.
    pub input_names: Vec<String>,
    /// The module `driver::compile` wrote.
    pub python: String,
    /// How an example maps to the model's input tensors.
    pub layout: ExampleLayout,
    pub examples: Examples,
    /// The reference interpreter's outputs on the whole imported model, per example.
    pub interp: Vec<Vec<Tensor>>,
}

/// Why a model did not reach the three-way comparison.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrepareError {
    /// `driver::compile` refused the model: for a generated model, a bug in the generator or
    /// in nn2py.
    #[error("nn2py refused the model: {0}")]
    Refused(String),
    /// The compiled program disagrees with the network on nn2py's own checks.
    #[error("nn2py's own verification failed: {0}")]
    Unverified(String),
    /// The reference interpreter failed on a drawn input.
    #[error("nn2py's interpreter failed: {0}")]
    Interp(String),
}

/// Compiles the ONNX model `onnx` (faithful lowering, raw readout, the model's own metadata),
/// draws `options.examples` inputs from its domain and runs the interpreter on the whole model.
/// `name` labels it in messages.
pub fn prepare(name: &str, onnx: &[u8], options: &DiffOptions) -> Result<Prepared, PrepareError> {
    let compile_options = Options {
        readout: Some(Readout::Raw),
        lift: false,
        verify: VerifyOptions {
            samples: options.compile_samples,
            exhaustive_limit: options.compile_samples as u128,
            rel_tol: options.rel_tol,
            ..VerifyOptions::default()
        },
        ..Options::default()
    };
    let compiled = driver::compile(onnx, &compile_options)
        .map_err(|e| PrepareError::Refused(e.to_string()))?;
    let verification = compiled
        .report
        .verification
        .as_ref()
        .ok_or_else(|| PrepareError::Unverified("no verification ran".to_string()))?;
    if !verification.is_exact() {
        return Err(PrepareError::Unverified(verification.summary()));
    }
    let python = compiled
        .python
        .ok_or_else(|| PrepareError::Refused("no module was written".to_string()))?;
    let ranges = compiled
        .report
        .domain
        .as_ref()
        .ok_or_else(|| PrepareError::Refused("the model has no domain".to_string()))?;
    let layout = ExampleLayout::of(&compiled.network, None);
    let draw = VerifyOptions {
        samples: options.examples,
        seed: options.seed,
        // Always sample: an enumerated domain would give the same first inputs to every model.
        exhaustive_limit: 0,
        rel_tol: options.rel_tol,
    };
    let examples = draw_examples(&layout.example_ranges(ranges), &draw);
    let imported = import(onnx, &ImportOptions::default())
        .map_err(|e| PrepareError::Refused(e.to_string()))?;
    let interp = examples
        .examples
        .iter()
        .map(|example| {
            run_graph(&imported.graph, &layout.tensors(example))
                .map_err(|e| PrepareError::Interp(format!("on input {example:?}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Prepared {
        name: name.to_string(),
        input_names: imported.inputs.iter().map(|i| i.name.clone()).collect(),
        python,
        layout,
        examples,
        interp,
    })
}

impl Prepared {
    /// The examples as named input tensors (`[1, ...]` each), for an oracle that takes the
    /// model's declared input names.
    pub fn feeds(&self) -> Vec<Vec<(String, Tensor)>> {
        self.examples
            .examples
            .iter()
            .map(|example| {
                self.input_names
                    .iter()
                    .cloned()
                    .zip(self.layout.tensors(example))
                    .collect()
            })
            .collect()
    }
}

/// Runs every prepared model's module (written at the paired path) with `python` in one process.
/// Errors: `python` cannot run at all; per model, the module cannot be loaded.
pub fn run_python(
    python: &str,
    modules: &[(&Path, &Prepared)],
) -> Result<Vec<Result<ModuleOutputs, PythonRunError>>, PythonRunError> {
    let jobs: Vec<ModuleJob> = modules
        .iter()
        .map(|(path, prepared)| ModuleJob {
            module: path,
            layout: &prepared.layout,
            examples: &prepared.examples,
        })
        .collect();
    run_modules(python, &jobs)
}

/// The agreement of each pair: the expected side first.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreeWay {
    pub interp_vs_oracle: Agreement,
    pub python_vs_oracle: Agreement,
    pub python_vs_interp: Agreement,
}

impl ThreeWay {
    /// True when all three pairs agree on every example.
    pub fn agrees(&self) -> bool {
        self.interp_vs_oracle.is_exact()
            && self.python_vs_oracle.is_exact()
            && self.python_vs_interp.is_exact()
    }

    /// The pairs that disagree, each with its summary and first mismatch.
    pub fn describe(&self) -> String {
        let pairs = [
            ("interpreter vs oracle", &self.interp_vs_oracle),
            ("python vs oracle", &self.python_vs_oracle),
            ("python vs interpreter", &self.python_vs_interp),
        ];
        pairs
            .iter()
            .filter(|(_, a)| !a.is_exact())
            .map(|(name, a)| {
                format!(
                    "{name}: {}; first mismatch {:?}",
                    a.summary(),
                    a.first_mismatch
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Compares the three computations on `prepared`'s examples: `python` as returned by
/// [`run_python`], `oracle` one list of output tensors per example.
pub fn compare(
    prepared: &Prepared,
    python: &ModuleOutputs,
    oracle: &[Vec<Tensor>],
    rel_tol: f64,
) -> ThreeWay {
    let options = VerifyOptions {
        rel_tol,
        ..VerifyOptions::default()
    };
    let reference = |outputs: &[Vec<Tensor>]| {
        let flat: Vec<(Vec<f64>, Vec<bool>)> = outputs.iter().map(|o| flatten(o)).collect();
        Reference {
            exact: flat.first().map(|(_, e)| e.clone()).unwrap_or_default(),
            outputs: flat.into_iter().map(|(v, _)| v).collect(),
        }
    };
    let oracle_ref = reference(oracle);
    let interp_ref = reference(&prepared.interp);
    let interp_actual: ModuleOutputs = interp_ref.outputs.iter().cloned().map(Some).collect();
    let examples = &prepared.examples;
    ThreeWay {
        interp_vs_oracle: check_outputs(examples, &oracle_ref, &interp_actual, &options),
        python_vs_oracle: check_outputs(examples, &oracle_ref, python, &options),
        python_vs_interp: check_outputs(examples, &interp_ref, python, &options),
    }
}
