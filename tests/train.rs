//! The trainer end to end: a trained network is exact on fresh data, training is deterministic,
//! and the exported network runs the same in the trainer, in onnxruntime and in nn2py's own
//! interpreter.

#[path = "common/oracle.rs"]
mod oracle;

use ndarray::{ArrayD, IxDyn};
use nn2py::export::{export_onnx, ExportMeta};
use nn2py::front::onnx::{import, ImportOptions};
use nn2py::network::interp::run_graph;
use nn2py::network::Tensor;
use nn2py::tasks::{self, Task};
use nn2py::train::batch::Batch;
use nn2py::train::fit::{accuracy, fit, FitOptions, Frozen};
use nn2py::train::fused::Workspace;
use nn2py::train::model::{flatten, initialise, Architecture};
use nn2py::train::polish::{hard_sequences, wrong_sequences};
use nn2py::train::{train_task, TrainOptions, Trained};

/// Small data sets and a short search: enough for the easy tasks used here.
fn quick_options(seed: u64) -> TrainOptions {
    let mut options = TrainOptions {
        train_sequences: 5_000,
        held_out_sequences: 500,
        check_sequences: 2_000,
        seed,
        ..TrainOptions::default()
    };
    options.search.step_budget = 40_000;
    options
}

fn train(task: &Task, seed: u64) -> Trained {
    train_task(task, &quick_options(seed), &mut |_| {}).expect("trains")
}

#[test]
fn sum_all_trains_to_an_exact_small_network_deterministically() {
    let task = tasks::by_name("Sum_All").unwrap();
    let first = train(task, 4);
    assert!(first.is_exact(), "check accuracy {:?}", first.check);
    assert_eq!(first.check.sequences, 2_000);
    // A running sum needs one hidden unit and no nonlinearity; the search goes up from there
    // and stops at the first exact network, so it stays small.
    assert!(
        first.parameters <= 60,
        "{} has {} parameters",
        first.architecture,
        first.parameters
    );
    assert_eq!(first.attempts.last().map(|a| a.exact), Some(true));
    assert!(first.nonzero <= first.parameters);
    let second = train(task, 4);
    assert_eq!(
        flatten(&first.model),
        flatten(&second.model),
        "same seed, same network"
    );
    assert_eq!(first.steps, second.steps);
}

#[test]
fn polishing_on_longer_sequences_with_a_margin_keeps_the_network_exact_there() {
    let task = tasks::by_name("Sum_All").unwrap();
    let mut options = quick_options(4);
    options.polish_pool_length = Some(20);
    options.polish_pool_sequences = 5_000;
    if let Some(polish) = options.polish.as_mut() {
        polish.margin = Some(0.25);
    }
    let trained = train_task(task, &options, &mut |_| {}).expect("trains");
    assert!(trained.is_exact(), "check accuracy {:?}", trained.check);
    // Polishing saw sequences of length 20: fresh ones are right, most of them within the margin.
    let long = task.generate(2_000, 20, 99).unwrap();
    let hard = hard_sequences(&trained.model, &long, Some(0.25), &mut Workspace::new());
    // The same run with the task's own length polishes nothing (its network is exact on the
    // judge set) and leaves a network that is wrong on most sequences of twice the length.
    let plain = train_task(task, &quick_options(4), &mut |_| {}).expect("trains");
    let hard_plain = hard_sequences(&plain.model, &long, Some(0.25), &mut Workspace::new());
    assert!(
        hard.len() < hard_plain.len() / 4,
        "{} and {} of 2000 long sequences outside the margin",
        hard.len(),
        hard_plain.len()
    );
    assert!(wrong_sequences(&trained.model, &long, &mut Workspace::new()).is_empty());
    assert!(trained.polish_steps > 0);
}

#[test]
fn exported_trained_network_agrees_in_the_trainer_onnxruntime_and_nn2py() {
    let task = tasks::by_name("Sum_Last2").unwrap();
    let trained = train(task, 2);
    assert!(trained.is_exact(), "check accuracy {:?}", trained.check);
    let bytes = export_onnx(
        &trained.model,
        &ExportMeta {
            domain: "0..=99".to_string(),
            length: task.length,
            task: None,
            producer_version: "test".to_string(),
        },
    )
    .expect("exports");
    let data = task.generate(64, task.length, 99).unwrap();
    let batch = Batch::all(&data);
    let mut ws = Workspace::new();
    ws.forward(&trained.model, &batch);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    std::fs::write(&path, &bytes).unwrap();
    let (n, t) = (data.count, data.length);
    let x: Vec<f32> = data.inputs.iter().map(|&v| v as f32).collect();
    let x = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[n, t, 1]), x).unwrap());
    let ort = oracle::run_onnxruntime(&path, &[("x".to_string(), x)]);
    let Tensor::F32(ort) = &ort[0] else {
        panic!("y is not float")
    };

    let imported = import(&bytes, &ImportOptions::default()).expect("imports");
    for i in 0..n {
        let seq: Vec<f32> = data
            .sequence_inputs(i)
            .unwrap()
            .iter()
            .map(|&v| v as f32)
            .collect();
        let input = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[1, t, 1]), seq).unwrap());
        let ours = run_graph(&imported.graph, &[input]).expect("nn2py runs it");
        let Tensor::F32(ours) = &ours[0] else {
            panic!("y is not float")
        };
        let labels = data.sequence_outputs(i).unwrap();
        for step in 0..t {
            let trainer = ws.output(step, i, 0);
            let runtime = ort[[i, step, 0].as_slice()];
            let interp = ours[[0, step, 0].as_slice()];
            let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * (1.0 + a.abs());
            assert!(
                close(trainer, runtime),
                "seq {i} step {step}: trainer {trainer}, onnxruntime {runtime}"
            );
            assert!(
                close(trainer, interp),
                "seq {i} step {step}: trainer {trainer}, nn2py {interp}"
            );
            assert_eq!(trainer.round() as i64, labels[step], "seq {i} step {step}");
        }
    }
}

#[test]
fn frozen_parameters_stay_put_while_the_rest_train() {
    let task = tasks::by_name("Sum_Last2").unwrap();
    let data = task.generate(2_000, task.length, 5).unwrap();
    let held_out = Batch::all(&task.generate(200, task.length, 6).unwrap());
    let arch = Architecture {
        hidden: 2,
        f_widths: vec![],
        g_widths: vec![],
    };
    let model = initialise(&arch, 1, 1, 1);
    let mut frozen = Frozen::none(&model);
    frozen.freeze(0, 0.0);
    frozen.freeze(3, 1.0);
    let options = FitOptions {
        steps: 200,
        stop_when_exact: false,
        ..FitOptions::default()
    };
    let before = flatten(&model);
    let out = fit(
        model,
        &data,
        &held_out,
        &options,
        Some(&frozen),
        1,
        &mut |_| {},
    );
    let after = flatten(&out.model);
    assert_eq!(after[0], 0.0);
    assert_eq!(after[3], 1.0);
    let moved = (0..after.len())
        .filter(|&k| k != 0 && k != 3 && after[k] != before[k])
        .count();
    assert_eq!(moved, after.len() - 2, "every free parameter trains");
    let again = accuracy(&out.model, &held_out, &mut Workspace::new());
    assert_eq!(again, out.accuracy);
}
