//! The MIPS-62 harness end to end on three easy tasks: training, the model cache, conversion,
//! scoring with a real `python3`, and failures that become rows instead of aborting the run.

use std::sync::Mutex;

use nn2py::bench::cache;
use nn2py::bench::mips62::{self, BenchEvent, BenchOptions, BenchReport, Row, SetScore};
use nn2py::bench::table;
use nn2py::tasks;
use nn2py::train::{TrainOptions, BENCHMARK_SEED};

const EASY: [&str; 3] = ["Bitwise_Not", "Current_Number", "Sum_All"];

fn options(models: &std::path::Path) -> BenchOptions {
    let mut train = TrainOptions {
        seed: 3,
        ..TrainOptions::default()
    };
    train.search.step_budget = 30_000;
    BenchOptions {
        tasks: EASY.iter().map(|n| tasks::by_name(n).unwrap()).collect(),
        models: Some(models.to_path_buf()),
        jobs: 2,
        train,
        ..BenchOptions::default()
    }
}

/// Runs the bench and returns the report with the tasks named by `Finished` events, in the
/// order they arrived.
fn run(options: &BenchOptions) -> (BenchReport, Vec<String>) {
    let finished = Mutex::new(Vec::new());
    let report = mips62::run(options, &|event| {
        if let BenchEvent::Finished { row } = event {
            finished.lock().unwrap().push(row.task.to_string());
        }
    });
    let mut names = finished.into_inner().unwrap();
    names.sort();
    (report, names)
}

fn check_rates(score: &SetScore) {
    for rate in [
        score.python_vs_network,
        score.python_vs_network_rounded,
        score.python_vs_truth,
        score.network_vs_truth,
    ] {
        assert!((0.0..=1.0).contains(&rate), "{score:?}");
    }
}

fn check_solved(row: &Row) {
    assert_eq!(row.error, None, "{}", row.task);
    assert!(row.solved, "{row:#?}");
    let held_out = row.held_out.as_ref().unwrap();
    assert_eq!(held_out.sequences, 10_000);
    assert_eq!(held_out.length, row.length);
    assert_eq!(held_out.seed, BENCHMARK_SEED);
    assert_eq!(held_out.python_vs_truth, 1.0);
    assert_eq!(held_out.python_vs_network, 1.0);
    assert_eq!(held_out.python_failures, 0);
    assert_eq!(held_out.first_truth_mismatch, None);
    check_rates(held_out);
    let long = row.long.as_ref().unwrap();
    assert_eq!((long.sequences, long.length), (2_000, 2 * row.length));
    assert_ne!(long.seed, BENCHMARK_SEED);
    check_rates(long);
    let model = row.model.as_ref().unwrap();
    assert!(model.parameters > 0 && model.nonzero > 0 && model.steps > 0);
    assert!(model.nonzero <= model.parameters);
    assert!(model.check_exact);
    assert!(row.conversion_seconds.unwrap() > 0.0);
    assert_eq!(row.verified, Some(true));
    let program = row.program.as_ref().unwrap();
    assert!(program.expression_nodes > 0 && program.python_lines > 0);
    let lines = row.code_lines.unwrap();
    assert!(
        lines > 0 && lines < program.python_lines,
        "{lines} {program:?}"
    );
}

#[test]
fn harness_trains_caches_converts_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    let options = options(dir.path());

    let (first, finished) = run(&options);
    let names: Vec<&str> = first.rows.iter().map(|r| r.task).collect();
    assert_eq!(names, EASY, "rows in task order");
    let mut sorted = EASY.map(String::from).to_vec();
    sorted.sort();
    assert_eq!(finished, sorted, "one Finished event per task");
    for row in &first.rows {
        check_solved(row);
        assert!(!row.model.as_ref().unwrap().cached);
        let task = tasks::by_name(row.task).unwrap();
        let model = cache::model_path(dir.path(), task);
        assert!(model.is_file(), "{} cached", row.task);
        assert!(cache::record_path(&model).is_file());
    }
    assert_eq!(first.schema_version, mips62::SCHEMA_VERSION);
    assert_eq!((first.totals.tasks, first.totals.solved), (3, 3));
    assert_eq!(first.totals.errors, 0);
    assert!(first.totals.wall_seconds > 0.0);
    let json: serde_json::Value = serde_json::from_str(&first.to_json().unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["rows"][2]["task"], "Sum_All");
    assert_eq!(json["rows"][2]["solved"], true);
    assert_eq!(json["totals"]["solved"], 3);
    let text = table::render(&first);
    assert!(text.contains("solved 3 of 3 tasks"), "{text}");
    // The last two columns: solved, and how the program was lifted.
    let solved_and_lifted = text
        .lines()
        .filter(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.len() > 2
                && cells[cells.len() - 2] == "yes"
                && ["lattice", "window", "finite", "table"].contains(&cells[cells.len() - 1])
        })
        .count();
    assert_eq!(solved_and_lifted, 3, "{text}");
    assert_eq!(json["totals"]["lifted_solved"], 3);

    // The second run reuses the cache: the same networks, the training facts from the records.
    // A model without its record is still used; only its training facts are unknown.
    let current = tasks::by_name("Current_Number").unwrap();
    std::fs::remove_file(cache::record_path(&cache::model_path(dir.path(), current))).unwrap();
    let (second, _) = run(&options);
    for (a, b) in first.rows.iter().zip(&second.rows) {
        assert_eq!(b.error, None, "{}", b.task);
        assert!(b.solved, "{b:#?}");
        assert_eq!(
            a.held_out, b.held_out,
            "same network, same data, same scores"
        );
        assert_eq!(a.long, b.long);
        assert_eq!(a.program, b.program);
        if b.task == current.name {
            assert_eq!(b.model, None);
            assert!(b
                .model_note
                .as_deref()
                .unwrap()
                .contains("no training record"));
            continue;
        }
        check_solved(b);
        let (ma, mb) = (a.model.as_ref().unwrap(), b.model.as_ref().unwrap());
        assert!(mb.cached);
        assert_eq!(
            (&ma.architecture, ma.parameters, ma.steps, ma.seed),
            (&mb.architecture, mb.parameters, mb.steps, mb.seed)
        );
    }

    // Failures become rows: a corrupt cached model, a missing python3.
    let sum_all = tasks::by_name("Sum_All").unwrap();
    std::fs::write(cache::model_path(dir.path(), sum_all), b"not an onnx model").unwrap();
    let broken_options = BenchOptions {
        tasks: vec![sum_all],
        ..options.clone()
    };
    let (broken, _) = run(&broken_options);
    assert_eq!((broken.totals.solved, broken.totals.errors), (0, 1));
    let row = &broken.rows[0];
    assert!(!row.solved);
    assert!(
        row.error.as_deref().unwrap().starts_with("conversion:"),
        "{row:?}"
    );
    assert!(row.held_out.is_none());
    assert!(table::render(&broken).contains("Sum_All: conversion:"));

    let no_python = BenchOptions {
        tasks: vec![tasks::by_name("Bitwise_Not").unwrap()],
        python: "/nonexistent/python3".to_string(),
        ..options
    };
    let (report, _) = run(&no_python);
    let row = &report.rows[0];
    assert!(!row.solved);
    let error = row.error.as_deref().unwrap();
    assert!(
        error.starts_with("held-out set:") && error.contains("python3"),
        "{error}"
    );
    assert!(
        row.program.is_some(),
        "the stages before scoring are recorded"
    );
}
