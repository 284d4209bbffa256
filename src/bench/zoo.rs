//! The zoo benchmark: networks trained as users train them (`models/zoo`, see
//! [`crate::train::zoo`]), converted with the converter's defaults and scored.
//!
//! Per network ([`run_network`]): the record `NAME.json` names the task; `NAME.onnx` is
//! converted by [`driver::compile`] with [`Options::default`] (the domain, length and readout
//! come from the model's metadata; the task never reaches the converter); the generated Python
//! runs on [`HELD_OUT_SEQUENCES`] fresh sequences at the trained length (seed
//! [`BENCHMARK_SEED`]) and [`LONG_SEQUENCES`] at twice it ([`long_seed`]), and is compared with
//! the converted network (rounded, as its readout is) and with the task's labels.
//!
//! A failure of one network becomes an entry of the report's `errors`; the rest run on.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::bench::mips62::{code_lines, long_seed, median, score_set, SetScore, SetSpec};
use crate::bench::run_ordered;
use crate::driver::{self, Options, VERSION};
use crate::tasks;
use crate::train::zoo::ZooRecord;
use crate::train::BENCHMARK_SEED;
use crate::verify::python::ScratchModule;

pub use crate::bench::mips62::{HELD_OUT_SEQUENCES, LONG_SEQUENCES};

/// Version of the JSON report's layout.
pub const SCHEMA_VERSION: u32 = 1;

/// One network of the zoo, scored. Rates are fractions of whole sequences; `None` where the
/// stage before failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZooRow {
    pub task: String,
    pub cell: &'static str,
    pub width: usize,
    pub head: &'static str,
    /// The program is the lifted one (the algorithm), not the faithful arithmetic.
    pub lifted: bool,
    /// How the lifted program reads the hidden state (`lattice`, `window`, `finite`).
    pub coding: Option<String>,
    /// Lines of the generated module other than blanks, comments and docstrings.
    pub python_lines: Option<usize>,
    pub convert_s: Option<f64>,
    /// The Python agrees with the network on every output, at the trained length.
    pub network_agreement: Option<f64>,
    /// The Python's outputs give the task's labels, at the trained length.
    pub label_agreement: Option<f64>,
    /// The same at twice the trained length.
    pub network_agreement_2x: Option<f64>,
    pub label_agreement_2x: Option<f64>,
}

/// A network that could not be scored, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZooError {
    pub network: String,
    pub error: String,
}

/// Sums over the rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZooTotals {
    pub networks: usize,
    pub lifted: usize,
    /// Rows whose Python gives the labels on every sequence at the trained length.
    pub exact: usize,
    /// The same at twice the length.
    pub exact_2x: usize,
    pub median_convert_s: f64,
    pub convert_s: f64,
    pub wall_s: f64,
}

/// The whole run: what the JSON report holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZooReport {
    pub schema_version: u32,
    pub nn2py_version: &'static str,
    pub held_out_seed: u64,
    pub long_seed: u64,
    pub rows: Vec<ZooRow>,
    pub errors: Vec<ZooError>,
    pub totals: ZooTotals,
}

impl ZooReport {
    /// The report as pretty JSON with a final newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self).map(|text| format!("{text}\n"))
    }
}

/// Settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ZooOptions {
    /// The directory of `NAME.onnx` and `NAME.json` pairs.
    pub models: PathBuf,
    /// Networks to run by name or task (all when empty).
    pub only: Vec<String>,
    pub jobs: usize,
    pub python: String,
    pub held_out_sequences: usize,
    pub long_sequences: usize,
}

impl ZooOptions {
    /// Every network of `models`, one job per core, `python3`, the full sets.
    pub fn new(models: PathBuf) -> ZooOptions {
        ZooOptions {
            models,
            only: Vec::new(),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            python: "python3".to_string(),
            held_out_sequences: HELD_OUT_SEQUENCES,
            long_sequences: LONG_SEQUENCES,
        }
    }
}

/// The records of `dir` (every `*.json` that reads as a [`ZooRecord`]), sorted by name.
///
/// Errors: the directory cannot be read, a record does not parse, or `only` names a network
/// that is not there.
pub fn records(dir: &Path, only: &[String]) -> Result<Vec<ZooRecord>, String> {
    let listing = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display().to_string().escape_debug()))?;
    let mut found = Vec::new();
    for item in listing {
        let path = item.map_err(|e| e.to_string())?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let record: ZooRecord = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a zoo record: {e}", path.display()))?;
        found.push(record);
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    for name in only {
        if !found.iter().any(|r| &r.name == name || &r.task == name) {
            return Err(format!(
                "no network \"{}\" in {}",
                name.escape_debug(),
                dir.display()
            ));
        }
    }
    if !only.is_empty() {
        found.retain(|r| only.iter().any(|n| n == &r.name || n == &r.task));
    }
    Ok(found)
}

/// Runs every network of `options`; `finished` is called from the worker threads.
///
/// Errors: the records cannot be listed (see [`records`]).
pub fn run(
    options: &ZooOptions,
    finished: &(dyn Fn(&ZooRecord, Result<&ZooRow, &str>) + Sync),
) -> Result<ZooReport, String> {
    let start = Instant::now();
    let chosen = records(&options.models, &options.only)?;
    let results = run_ordered(&chosen, options.jobs, |_, record| {
        let result = run_network(record, options);
        finished(
            record,
            result.as_ref().map(|(row, _)| row).map_err(String::as_str),
        );
        result
    });
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (record, result) in chosen.iter().zip(results) {
        let (row, error) = match result {
            Ok((row, long_error)) => (Some(row), long_error),
            Err(error) => (None, Some(error)),
        };
        rows.extend(row);
        errors.extend(error.map(|error| ZooError {
            network: record.name.clone(),
            error,
        }));
    }
    let times = || rows.iter().filter_map(|r| r.convert_s);
    let totals = ZooTotals {
        networks: chosen.len(),
        lifted: rows.iter().filter(|r| r.lifted).count(),
        exact: rows
            .iter()
            .filter(|r| r.label_agreement == Some(1.0))
            .count(),
        exact_2x: rows
            .iter()
            .filter(|r| r.label_agreement_2x == Some(1.0))
            .count(),
        median_convert_s: median(times()),
        convert_s: times().sum(),
        wall_s: start.elapsed().as_secs_f64(),
    };
    Ok(ZooReport {
        schema_version: SCHEMA_VERSION,
        nn2py_version: VERSION,
        held_out_seed: BENCHMARK_SEED,
        long_seed: long_seed(),
        rows,
        errors,
        totals,
    })
}

/// One network: convert, then score at both lengths. The row comes with why twice the length
/// could not be scored, if it could not (its two rates are then `None`).
///
/// Errors: the task, the model, the conversion or the scoring at the trained length failed.
pub fn run_network(
    record: &ZooRecord,
    options: &ZooOptions,
) -> Result<(ZooRow, Option<String>), String> {
    let task = tasks::any_by_name(&record.task)
        .ok_or_else(|| format!("the record names no known task ({})", record.task))?;
    let path = options.models.join(format!("{}.onnx", record.name));
    let onnx = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let began = Instant::now();
    let compilation =
        driver::compile(&onnx, &Options::default()).map_err(|e| format!("conversion: {e}"))?;
    let convert_s = began.elapsed().as_secs_f64();
    let lift = compilation.report.lift.as_ref();
    let lifted = lift.is_some_and(|l| l.lifted);
    let python = compilation
        .python
        .as_deref()
        .ok_or("conversion: no Python module was produced")?;
    let mut row = ZooRow {
        task: record.task.clone(),
        cell: record.cell.name(),
        width: record.width,
        head: record.head.name(),
        lifted,
        coding: lift.filter(|l| l.lifted).and_then(|l| l.coding.clone()),
        python_lines: Some(code_lines(python)),
        convert_s: Some(convert_s),
        network_agreement: None,
        label_agreement: None,
        network_agreement_2x: None,
        label_agreement_2x: None,
    };
    let module = ScratchModule::write(&format!("zoo_{}", record.name), python)
        .map_err(|e| format!("scoring: {e}"))?;
    let score = |sequences: usize, length: usize, seed: u64| -> Result<SetScore, String> {
        let spec = SetSpec {
            sequences,
            length,
            seed,
        };
        score_set(task, &compilation, module.path(), &options.python, &spec)
    };
    let held_out = score(options.held_out_sequences, record.length, BENCHMARK_SEED)
        .map_err(|e| format!("trained length: {e}"))?;
    row.network_agreement = Some(held_out.python_vs_network);
    row.label_agreement = Some(held_out.python_vs_truth);
    let long = score(
        options.long_sequences,
        record.length.saturating_mul(2),
        long_seed(),
    );
    match long {
        Ok(long) => {
            row.network_agreement_2x = Some(long.python_vs_network);
            row.label_agreement_2x = Some(long.python_vs_truth);
            Ok((row, None))
        }
        Err(e) => Ok((row, Some(format!("twice the length: {e}")))),
    }
}
