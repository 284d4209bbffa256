//! The MIPS-62 benchmark: for each task, train a network (or reuse the cached one), convert it
//! with the normal converter, and score the generated Python on fresh held-out data.
//!
//! Per task ([`run_task`]):
//! 1. **Model.** `DIR/<Task>.onnx` when `--models DIR` has it (and not `--retrain`), else
//!    [`train_task`] and export. Only networks exact on the trainer's check set are cached
//!    ([`cache::store`]); an inexact one is still converted and scored, and trained again on
//!    the next run.
//! 2. **Conversion.** [`driver::compile`] on the ONNX bytes with [`Options::default`]: the
//!    converter sees nothing task-specific (the domain and length come from the model's
//!    metadata). The wall time of the call is the conversion time.
//! 3. **Scoring**, on two sets drawn with [`Task::generate`]: the held-out set (10,000
//!    sequences of the task's length, seed [`BENCHMARK_SEED`], never used in training) and the
//!    long set (2,000 sequences of twice the length, seed [`long_seed`]). The generated module
//!    runs in one `python3` process per set. "Network" means the converted network (the rolled
//!    cell) run by [`crate::network::interp`]; the driver checks that cell against the whole
//!    ONNX graph before lowering. A sequence agrees with the network when every output is
//!    within the verifier's tolerance ([`VerifyOptions::rel_tol`]) and, separately, when every
//!    output rounds to the same integer; it agrees with the ground truth when every output
//!    rounds to the task's label.
//!
//! A task is **solved** when the Python matches the ground truth on every sequence of the
//! held-out set. The long set is recorded, never counted: a network may or may not generalise
//! past its training length.
//!
//! Failures of one task (training, export, conversion, data generation, `python3`) become that
//! row's `error`; the bench always runs to the end. `nn2py bench mips62` therefore exits 0
//! whenever the harness ran, whatever the verdicts (2 on a usage error); the verdicts are in the
//! rows and the totals (and in the JSON report, [`SCHEMA_VERSION`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::bench::cache::{self, TrainingRecord};
use crate::bench::{export_meta, run_ordered};
use crate::driver::{self, Compilation, Options, ProgramSize, Readout, VERSION};
use crate::export::export_onnx;
use crate::network::Network;
use crate::tasks::{self, Task};
use crate::train::search::SearchEvent;
use crate::train::{train_task, TrainOptions, BENCHMARK_SEED};
use crate::verify::python::{run_module, ScratchModule};
use crate::verify::{self, fraction, ExampleLayout, Examples, VerifyOptions};

/// Version of the JSON report's layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Sequences in the held-out set.
pub const HELD_OUT_SEQUENCES: usize = 10_000;

/// Sequences in the long set (twice the task's length).
pub const LONG_SEQUENCES: usize = 2_000;

/// Seed of the long set: of the benchmark's seed family, distinct from the held-out seed.
pub fn long_seed() -> u64 {
    BENCHMARK_SEED ^ 2
}

/// Settings of a benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchOptions {
    /// The tasks, in the order rows are reported.
    pub tasks: Vec<&'static Task>,
    /// The model cache directory; `None` trains every task and keeps nothing.
    pub models: Option<PathBuf>,
    /// Tasks run at once (at least one).
    pub jobs: usize,
    /// Train even when the cache has a model (and overwrite it).
    pub retrain: bool,
    /// How tasks without a cached model are trained.
    pub train: TrainOptions,
    /// The Python interpreter that runs the generated modules.
    pub python: String,
    pub held_out_sequences: usize,
    pub long_sequences: usize,
}

impl Default for BenchOptions {
    /// All 62 tasks, no cache, one job per available core, default training, `python3`.
    fn default() -> Self {
        BenchOptions {
            tasks: tasks::all().iter().collect(),
            models: None,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            retrain: false,
            train: TrainOptions::default(),
            python: "python3".to_string(),
            held_out_sequences: HELD_OUT_SEQUENCES,
            long_sequences: LONG_SEQUENCES,
        }
    }
}

/// What a task is doing, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Training,
    Converting,
    Scoring,
}

/// Progress of a run; sent from the worker threads.
#[derive(Debug, Clone)]
pub enum BenchEvent<'a> {
    Phase {
        task: &'static str,
        phase: Phase,
    },
    /// The trainer started its `index`-th candidate run of at most `total`.
    Attempt {
        task: &'static str,
        index: usize,
        total: usize,
        architecture: String,
    },
    Finished {
        row: &'a Row,
    },
}

/// The network a row scored and how it was obtained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// In the trainer's notation, e.g. `h=2 f=[8] g=[]`.
    pub architecture: String,
    pub parameters: usize,
    pub nonzero: usize,
    pub steps: usize,
    pub training_seconds: f64,
    /// Fraction of the trainer's check sequences it got right.
    pub check_rate: f64,
    pub check_exact: bool,
    pub seed: u64,
    /// True when it came from the cache (the training facts are the record's).
    pub cached: bool,
}

impl ModelInfo {
    fn of(record: &TrainingRecord, cached: bool) -> ModelInfo {
        ModelInfo {
            architecture: record.architecture_text.clone(),
            parameters: record.parameters,
            nonzero: record.nonzero,
            steps: record.steps,
            training_seconds: record.seconds,
            check_rate: record.check.sequence_rate(),
            check_exact: record.check.is_exact(),
            seed: record.seed,
            cached,
        }
    }
}

/// The first sequence on which the Python missed the ground truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruthMismatch {
    pub input: Vec<i64>,
    pub expected: Vec<i64>,
    /// The Python's outputs; `None` when `predict` raised.
    pub python: Option<Vec<f64>>,
}

/// Scores on one set of sequences; every rate is a fraction of whole sequences, in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetScore {
    pub sequences: usize,
    pub length: usize,
    pub seed: u64,
    /// Python within tolerance of the network on every output.
    pub python_vs_network: f64,
    /// Python and network round to the same integers.
    pub python_vs_network_rounded: f64,
    /// Python rounds to the ground truth.
    pub python_vs_truth: f64,
    /// The network rounds to the ground truth (its own accuracy).
    pub network_vs_truth: f64,
    /// Sequences on which `predict` raised.
    pub python_failures: usize,
    pub first_truth_mismatch: Option<TruthMismatch>,
}

impl SetScore {
    /// True when the Python matched the ground truth on every sequence of a non-empty set.
    pub fn python_exact(&self) -> bool {
        self.sequences > 0 && self.first_truth_mismatch.is_none()
    }
}

/// One task's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub task: &'static str,
    pub input_dim: usize,
    pub output_dim: usize,
    pub length: usize,
    /// `None` when training failed, or the cached model has no usable record.
    pub model: Option<ModelInfo>,
    /// Why `model` is missing for a cached network.
    pub model_note: Option<String>,
    pub conversion_seconds: Option<f64>,
    /// The driver's count of the program (statements, expression nodes, Python lines).
    pub program: Option<ProgramSize>,
    /// Lines of the generated module other than blank lines, comments and docstrings.
    pub code_lines: Option<usize>,
    /// The driver's own verdict: the program agreed with the network on its checked inputs.
    pub verified: Option<bool>,
    /// The program is the lifted one (the algorithm), not the faithful arithmetic.
    pub lifted: Option<bool>,
    /// How the lifted program read the hidden state (`lattice`, `window`, `finite`).
    pub coding: Option<String>,
    pub held_out: Option<SetScore>,
    pub long: Option<SetScore>,
    /// Why the long set could not be scored (not counted against the task).
    pub long_error: Option<String>,
    /// The Python matched the ground truth on the whole held-out set.
    pub solved: bool,
    /// The failure that stopped this task, prefixed by its stage.
    pub error: Option<String>,
    /// Wall time of this task, all stages.
    pub seconds: f64,
}

/// Sums over the rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub tasks: usize,
    pub solved: usize,
    /// Solved tasks whose program is the lifted one.
    pub lifted_solved: usize,
    /// Median conversion time over the rows converted.
    pub median_conversion_seconds: f64,
    /// Rows with an error.
    pub errors: usize,
    /// Training time of the rows that report one (cached models count their recorded time).
    pub training_seconds: f64,
    pub conversion_seconds: f64,
    /// Wall time of the whole run.
    pub wall_seconds: f64,
}

/// The whole run: what the JSON report holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    pub schema_version: u32,
    pub nn2py_version: &'static str,
    pub train_seed: u64,
    pub held_out_seed: u64,
    pub long_seed: u64,
    pub jobs: usize,
    pub rows: Vec<Row>,
    pub totals: Totals,
}

impl BenchReport {
    /// The report as pretty JSON with a final newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self).map(|text| format!("{text}\n"))
    }
}

/// Runs every task of `options` on `options.jobs` threads; rows come back in task order.
/// `events` is called from the worker threads.
pub fn run(options: &BenchOptions, events: &(dyn Fn(BenchEvent<'_>) + Sync)) -> BenchReport {
    let start = Instant::now();
    let rows = run_ordered(&options.tasks, options.jobs, |_, task| {
        let row = run_task(task, options, events);
        events(BenchEvent::Finished { row: &row });
        row
    });
    let totals = Totals {
        tasks: rows.len(),
        solved: rows.iter().filter(|r| r.solved).count(),
        lifted_solved: rows
            .iter()
            .filter(|r| r.solved && r.lifted == Some(true))
            .count(),
        median_conversion_seconds: median(rows.iter().filter_map(|r| r.conversion_seconds)),
        errors: rows.iter().filter(|r| r.error.is_some()).count(),
        training_seconds: rows
            .iter()
            .filter_map(|r| r.model.as_ref().map(|m| m.training_seconds))
            .sum(),
        conversion_seconds: rows.iter().filter_map(|r| r.conversion_seconds).sum(),
        wall_seconds: start.elapsed().as_secs_f64(),
    };
    BenchReport {
        schema_version: SCHEMA_VERSION,
        nn2py_version: VERSION,
        train_seed: options.train.seed,
        held_out_seed: BENCHMARK_SEED,
        long_seed: long_seed(),
        jobs: options.jobs.max(1),
        rows,
        totals,
    }
}

/// One task, all stages; a failure becomes the row's `error`.
pub fn run_task(
    task: &'static Task,
    options: &BenchOptions,
    events: &(dyn Fn(BenchEvent<'_>) + Sync),
) -> Row {
    let start = Instant::now();
    let mut row = Row {
        task: task.name,
        input_dim: task.input_dim,
        output_dim: task.output_dim,
        length: task.length,
        model: None,
        model_note: None,
        conversion_seconds: None,
        program: None,
        code_lines: None,
        verified: None,
        lifted: None,
        coding: None,
        held_out: None,
        long: None,
        long_error: None,
        solved: false,
        error: None,
        seconds: 0.0,
    };
    if let Err(message) = fill_row(task, options, events, &mut row) {
        row.error = Some(message);
    }
    row.solved = row.held_out.as_ref().is_some_and(SetScore::python_exact);
    row.seconds = start.elapsed().as_secs_f64();
    row
}

/// The median of some values; 0 when there are none.
pub(crate) fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn fill_row(
    task: &'static Task,
    options: &BenchOptions,
    events: &(dyn Fn(BenchEvent<'_>) + Sync),
    row: &mut Row,
) -> Result<(), String> {
    let onnx = obtain_model(task, options, events, row)?;

    events(BenchEvent::Phase {
        task: task.name,
        phase: Phase::Converting,
    });
    let began = Instant::now();
    let compilation =
        driver::compile(&onnx, &Options::default()).map_err(|e| format!("conversion: {e}"))?;
    row.conversion_seconds = Some(began.elapsed().as_secs_f64());
    row.program = compilation.report.program.clone();
    row.verified = Some(compilation.report.verified());
    let lift = compilation.report.lift.as_ref();
    row.lifted = Some(lift.is_some_and(|l| l.lifted));
    row.coding = lift.filter(|l| l.lifted).and_then(|l| l.coding.clone());
    let python = compilation
        .python
        .as_deref()
        .ok_or("conversion: no Python module was produced")?;
    row.code_lines = Some(code_lines(python));

    events(BenchEvent::Phase {
        task: task.name,
        phase: Phase::Scoring,
    });
    let module = ScratchModule::write(&format!("bench_{}", task.name), python)
        .map_err(|e| format!("scoring: {e}"))?;
    let held_out = SetSpec {
        sequences: options.held_out_sequences,
        length: task.length,
        seed: BENCHMARK_SEED,
    };
    row.held_out = Some(
        score_set(
            task,
            &compilation,
            module.path(),
            &options.python,
            &held_out,
        )
        .map_err(|e| format!("held-out set: {e}"))?,
    );
    let long = SetSpec {
        sequences: options.long_sequences,
        length: task.length.saturating_mul(2),
        seed: long_seed(),
    };
    match score_set(task, &compilation, module.path(), &options.python, &long) {
        Ok(score) => row.long = Some(score),
        Err(e) => row.long_error = Some(e),
    }
    Ok(())
}

/// The ONNX bytes of the task's network: from the cache, or trained (and cached when exact).
fn obtain_model(
    task: &'static Task,
    options: &BenchOptions,
    events: &(dyn Fn(BenchEvent<'_>) + Sync),
    row: &mut Row,
) -> Result<Vec<u8>, String> {
    if let (Some(dir), false) = (&options.models, options.retrain) {
        if let Some(cached) = cache::load(dir, task).map_err(|e| format!("model cache: {e}"))? {
            row.model = cached.record.as_ref().map(|r| ModelInfo::of(r, true));
            row.model_note = cached.record_note;
            return Ok(cached.onnx);
        }
    }
    events(BenchEvent::Phase {
        task: task.name,
        phase: Phase::Training,
    });
    let trained = train_task(task, &options.train, &mut |event| match event {
        SearchEvent::Started {
            architecture,
            index,
            total,
            ..
        } => events(BenchEvent::Attempt {
            task: task.name,
            index,
            total,
            architecture: architecture.to_string(),
        }),
        SearchEvent::Progress(_) | SearchEvent::Finished(_) => {}
    })
    .map_err(|e| format!("training: {e}"))?;
    let record = TrainingRecord::of(task, &trained, &options.train);
    row.model = Some(ModelInfo::of(&record, false));
    let onnx =
        export_onnx(&trained.model, &export_meta(task)).map_err(|e| format!("export: {e}"))?;
    if let (Some(dir), true) = (&options.models, trained.is_exact()) {
        cache::store(dir, task, &onnx, &record).map_err(|e| format!("model cache: {e}"))?;
    }
    Ok(onnx)
}

/// Which sequences a set holds.
pub(crate) struct SetSpec {
    pub(crate) sequences: usize,
    pub(crate) length: usize,
    pub(crate) seed: u64,
}

/// Runs the network and the Python (one `python3` process) on the set, and compares both with
/// each other and with the task's labels.
pub(crate) fn score_set(
    task: &Task,
    compilation: &Compilation,
    module: &Path,
    python: &str,
    spec: &SetSpec,
) -> Result<SetScore, String> {
    let data = task
        .generate(spec.sequences, spec.length, spec.seed)
        .map_err(|e| e.to_string())?;
    let network = &compilation.network;
    let layout = ExampleLayout::of(network, Some(spec.length));
    match (network, &layout) {
        (Network::Sequence(model), ExampleLayout::Sequence { input_dim, .. })
            if *input_dim == task.input_dim && model.output_dim == task.output_dim => {}
        _ => {
            return Err(format!(
                "the converted network is not a sequence model from {} to {} values per step",
                task.input_dim, task.output_dim
            ))
        }
    }
    let mut examples = Vec::with_capacity(data.count);
    let mut labels = Vec::with_capacity(data.count);
    for i in 0..data.count {
        let (Some(inputs), Some(outputs)) = (data.sequence_inputs(i), data.sequence_outputs(i))
        else {
            return Err(format!("the data set has no sequence {i}"));
        };
        examples.push(inputs.iter().map(|&v| v as f64).collect());
        labels.push((inputs, outputs));
    }
    let examples = Examples {
        examples,
        exhaustive: false,
    };
    // Python first: when it cannot run at all, the interpreter's work would be wasted.
    let program_layout = match &compilation.program {
        Some(program) => layout.for_program(program),
        None => layout.clone(),
    };
    let outputs =
        run_module(python, module, &program_layout, &examples).map_err(|e| e.to_string())?;
    let reference =
        verify::reference_outputs(network, &layout, &examples).map_err(|e| e.to_string())?;
    if outputs.len() != examples.examples.len() {
        return Err(format!(
            "{python} returned {} results for {} sequences",
            outputs.len(),
            examples.examples.len()
        ));
    }
    // A program for a rounded readout returns the rounded outputs: compare it with those.
    let reference = match compilation.report.readout {
        Readout::Round => reference.rounded(),
        Readout::Raw => reference,
    };
    let agreement =
        verify::check_outputs(&examples, &reference, &outputs, &VerifyOptions::default());

    let mut python_truth = 0;
    let mut network_truth = 0;
    let mut first_truth_mismatch = None;
    for (((inputs, expected), actual), net) in labels.iter().zip(&outputs).zip(&reference.outputs) {
        if rounds_to(net, expected) {
            network_truth += 1;
        }
        if actual.as_deref().is_some_and(|a| rounds_to(a, expected)) {
            python_truth += 1;
        } else if first_truth_mismatch.is_none() {
            first_truth_mismatch = Some(TruthMismatch {
                input: inputs.to_vec(),
                expected: expected.to_vec(),
                python: actual.clone(),
            });
        }
    }
    let rate = |count: usize| fraction(count, data.count);
    Ok(SetScore {
        sequences: data.count,
        length: spec.length,
        seed: spec.seed,
        python_vs_network: agreement.rate(),
        python_vs_network_rounded: rate(agreement.agreeing_after_rounding),
        python_vs_truth: rate(python_truth),
        network_vs_truth: rate(network_truth),
        python_failures: outputs.iter().filter(|o| o.is_none()).count(),
        first_truth_mismatch,
    })
}

/// True when `values` has one value per label and each rounds to its label.
fn rounds_to(values: &[f64], labels: &[i64]) -> bool {
    values.len() == labels.len()
        && values
            .iter()
            .zip(labels)
            .all(|(&v, &label)| v.is_finite() && v.round() == label as f64)
}

/// Lines of a Python module other than blank lines, `#` comments and docstrings (a line that
/// starts with `"""` opens one, closed on the same line or a later one).
pub fn code_lines(python: &str) -> usize {
    let mut count = 0;
    let mut in_docstring = false;
    for line in python.lines() {
        let text = line.trim();
        if in_docstring {
            in_docstring = !text.contains("\"\"\"");
            continue;
        }
        if let Some(rest) = text.strip_prefix("\"\"\"") {
            in_docstring = !rest.contains("\"\"\"");
            continue;
        }
        if !text.is_empty() && !text.starts_with('#') {
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lines_skip_docstrings_comments_and_blanks() {
        let module = "\"\"\"Module doc.\n\nMore.\n\"\"\"\n\n# note\ndef predict(seq):\n    \"\"\"One line.\"\"\"\n    h = 0.0\n    return [h]\n";
        assert_eq!(code_lines(module), 3);
        assert_eq!(code_lines(""), 0);
    }

    #[test]
    fn rounding_compares_whole_sequences() {
        assert!(rounds_to(&[1.2, -0.4, 2.6], &[1, 0, 3]));
        assert!(!rounds_to(&[1.2, 0.6], &[1, 0]));
        assert!(!rounds_to(&[1.0], &[1, 0]), "length mismatch");
        assert!(!rounds_to(&[f64::NAN], &[0]));
    }

    #[test]
    fn seeds_of_the_two_sets_differ() {
        assert_ne!(long_seed(), BENCHMARK_SEED);
        let defaults = BenchOptions::default();
        assert_eq!(defaults.tasks.len(), 62);
        assert!(defaults.jobs >= 1);
        assert_eq!(defaults.held_out_sequences, 10_000);
    }
}
