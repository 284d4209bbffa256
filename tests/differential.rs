//! Differential testing on random networks (`nn2py::synth`): each generated model is converted
//! by `driver::compile` (faithful lowering, raw readout, the model's own metadata) and checked
//! three ways on the same drawn inputs: the written module run by `python3`, nn2py's reference
//! interpreter on the whole imported model, and onnxruntime (`tests/oracle/ort_run.py`).
//!
//! Tolerance, as the README states for verification: integer outputs must be equal; real
//! outputs must agree within 1e-4 of `max(|expected|, 1)` (onnxruntime is the expected side
//! against both nn2py computations; the interpreter against the Python).
//!
//! Every model nn2py refuses is a failure with its seed: the generator makes only what the
//! README says nn2py reads. Models that once disagreed live in `tests/fixtures/differential/`.
//!
//! `benchmarks/differential.rs` includes this file for [`check_models`].
#![allow(dead_code)]

#[path = "common/oracle.rs"]
mod oracle;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nn2py::synth::differential::{compare, prepare, run_python, DiffOptions, Prepared};
use nn2py::synth::random_network;

/// One model to check: a label (the generator's description, or a fixture's file name) and its
/// ONNX bytes.
pub struct Subject {
    pub name: String,
    pub style: &'static str,
    pub onnx: Vec<u8>,
}

/// The outcome of checking a batch of models.
#[derive(Debug, Default)]
pub struct Tally {
    pub models: usize,
    pub agreeing: usize,
    /// One message per failing model: refusal, failed verification, or disagreement.
    pub failures: Vec<String>,
    /// Models checked and agreeing, per style.
    pub per_style: BTreeMap<&'static str, (usize, usize)>,
    /// Seconds spent in nn2py (compile and interpreter), in `python3`, in onnxruntime.
    pub nn2py_s: f64,
    pub python_s: f64,
    pub oracle_s: f64,
}

/// The models of the generator for `seeds`.
pub fn generated(seeds: std::ops::Range<u64>) -> Vec<Subject> {
    seeds
        .map(|seed| {
            let model = random_network(seed);
            Subject {
                name: model.description,
                style: model.style.name(),
                onnx: model.onnx,
            }
        })
        .collect()
}

/// Checks every subject three ways: one `python3` process and one onnxruntime process for the
/// whole batch.
pub fn check_models(subjects: &[Subject], options: &DiffOptions) -> Tally {
    let mut tally = Tally {
        models: subjects.len(),
        ..Tally::default()
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let start = Instant::now();
    let mut prepared: Vec<(usize, Prepared, PathBuf, PathBuf)> = Vec::new();
    for (i, subject) in subjects.iter().enumerate() {
        tally.per_style.entry(subject.style).or_default().0 += 1;
        match prepare(&subject.name, &subject.onnx, options) {
            Ok(p) => {
                let module = dir.path().join(format!("m{i}.py"));
                let model = dir.path().join(format!("m{i}.onnx"));
                std::fs::write(&module, &p.python).expect("write module");
                std::fs::write(&model, &subject.onnx).expect("write model");
                prepared.push((i, p, module, model));
            }
            Err(e) => tally.failures.push(format!("{}\n  {e}", subject.name)),
        }
    }
    tally.nn2py_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let modules: Vec<(&Path, &Prepared)> = prepared
        .iter()
        .map(|(_, p, module, _)| (module.as_path(), p))
        .collect();
    let python = run_python("python3", &modules).expect("python3 runs");
    tally.python_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let jobs: Vec<oracle::BatchJob> = prepared
        .iter()
        .map(|(_, p, _, model)| oracle::BatchJob {
            model: model.clone(),
            feeds: p.feeds(),
        })
        .collect();
    let oracle = oracle::run_onnxruntime_batch(&jobs);
    tally.oracle_s = start.elapsed().as_secs_f64();

    for (((i, p, _, _), python), oracle) in prepared.iter().zip(python).zip(oracle) {
        let outcome = match (python, oracle) {
            (Err(e), _) => Err(format!("python3: {e}")),
            (_, Err(e)) => Err(format!("onnxruntime refused the model: {e}")),
            (Ok(python), Ok(oracle)) => {
                let three = compare(p, &python, &oracle, options.rel_tol);
                if three.agrees() {
                    Ok(())
                } else {
                    Err(three.describe())
                }
            }
        };
        match outcome {
            Ok(()) => {
                tally.agreeing += 1;
                tally.per_style.entry(subjects[*i].style).or_default().1 += 1;
            }
            Err(e) => tally.failures.push(format!("{}\n  {e}", p.name)),
        }
    }
    tally
}

fn assert_all_agree(tally: &Tally) {
    assert!(
        tally.failures.is_empty(),
        "{} of {} models failed:\n{}",
        tally.failures.len(),
        tally.models,
        tally.failures.join("\n")
    );
    assert_eq!(tally.agreeing, tally.models);
}

// The seed range is split so that the test harness runs the parts in parallel.

#[test]
fn random_networks_0_to_100_agree_three_ways() {
    assert_all_agree(&check_models(&generated(0..100), &DiffOptions::default()));
}

#[test]
fn random_networks_100_to_200_agree_three_ways() {
    assert_all_agree(&check_models(&generated(100..200), &DiffOptions::default()));
}

#[test]
fn random_networks_200_to_300_agree_three_ways() {
    assert_all_agree(&check_models(&generated(200..300), &DiffOptions::default()));
}

#[test]
fn every_style_agrees_three_ways() {
    let subjects: Vec<Subject> = nn2py::synth::Style::ALL
        .iter()
        .flat_map(|&style| {
            (1000..1004).map(move |seed| {
                let model = nn2py::synth::random_network_of(style, seed);
                Subject {
                    name: model.description,
                    style: style.name(),
                    onnx: model.onnx,
                }
            })
        })
        .collect();
    let tally = check_models(&subjects, &DiffOptions::default());
    assert_eq!(tally.per_style.len(), nn2py::synth::Style::ALL.len());
    assert_all_agree(&tally);
}

/// Models that once made the three computations disagree (see the fixture folder's README).
#[test]
fn fixtures_that_once_disagreed_agree_three_ways() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/differential");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    paths.sort();
    let subjects: Vec<Subject> = paths
        .iter()
        .map(|p| Subject {
            name: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            style: "fixture",
            onnx: std::fs::read(p).expect("fixture"),
        })
        .collect();
    let tally = check_models(&subjects, &DiffOptions::default());
    assert_all_agree(&tally);
}

/// The comparison is not vacuous: a module whose outputs are perturbed beyond the tolerance is
/// caught against both the interpreter and onnxruntime.
#[test]
fn a_perturbed_output_is_a_disagreement() {
    let model = nn2py::synth::random_network_of(nn2py::synth::Style::Mlp, 7);
    let prepared = prepare(&model.description, &model.onnx, &DiffOptions::default())
        .expect("the model compiles");
    let oracle: Vec<Vec<nn2py::network::Tensor>> = prepared.interp.clone();
    let exact: Vec<Option<Vec<f64>>> = prepared
        .interp
        .iter()
        .map(|o| Some(nn2py::verify::flatten(o).0))
        .collect();
    let three = compare(&prepared, &exact, &oracle, 1e-4);
    assert!(three.agrees(), "{}", three.describe());
    let mut perturbed = exact.clone();
    if let Some(Some(values)) = perturbed.first_mut() {
        values[0] += 1e-3 * values[0].abs().max(1.0);
    }
    let three = compare(&prepared, &perturbed, &oracle, 1e-4);
    assert!(three.interp_vs_oracle.is_exact());
    assert_eq!(three.python_vs_oracle.checked, 8);
    assert_eq!(three.python_vs_oracle.agreeing, 7);
    assert_eq!(three.python_vs_interp.agreeing, 7);
}
