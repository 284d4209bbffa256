//! The MLP trainer end to end: short runs, export, conversion; and the committed L1-norm
//! network, which nn2py converts to `abs(x0) + abs(x1) + abs(x2) + abs(x3)`.

use nn2py::driver::{self, Options};
use nn2py::export::{export_mlp, MlpExportMeta};
use nn2py::network::interp::run_network;
use nn2py::network::{Network, Tensor};
use nn2py::train::mlp_data::MlpTask;
use nn2py::train::mlp_fit::{train_mlp, MlpTrainOptions};
use nn2py::train::penalty::Penalty;
use nn2py::train::sweep::{run_recipe, MlpRecipe};

#[test]
fn l1_norm_with_l1_penalty_is_exact_and_converts() {
    let task = MlpTask::L1Norm { n: 2 };
    let recipe = MlpRecipe {
        task,
        options: MlpTrainOptions {
            steps: 1500,
            ..MlpTrainOptions::for_task(&task)
        },
        strengths: Vec::new(),
        hammer: true,
    };
    let outcome = run_recipe(&recipe, "test").unwrap();
    assert_eq!(
        outcome.run.held_out.accuracy, 1.0,
        "{:?}",
        outcome.run.held_out
    );
    let compilation = driver::compile(&outcome.onnx, &Options::default()).unwrap();
    assert!(compilation.report.verification.unwrap().is_exact());
    assert!(outcome.record.contains("\"held_out\""));
}

#[test]
fn mod_add_exports_an_argmax_network_the_interpreter_agrees_with() {
    let task = MlpTask::ModAdd {
        p: 5,
        train_fraction: 0.6,
    };
    let options = MlpTrainOptions {
        hidden: vec![8],
        embed: 4,
        steps: 200,
        lr: 0.01,
        ..MlpTrainOptions::for_task(&task)
    };
    let run = train_mlp(&task, &options);
    assert!(run.train.accuracy > 0.9, "{:?}", run.train);
    let bytes = export_mlp(
        &run.model,
        &MlpExportMeta {
            domain: task.domain(),
            argmax: true,
            producer_version: "test".to_string(),
        },
    )
    .unwrap();
    let compilation = driver::compile(&bytes, &Options::default()).unwrap();
    assert!(compilation.report.verification.as_ref().unwrap().is_exact());
    let Network::Pointwise(_) = &compilation.network else {
        panic!("a pointwise network")
    };
    for a in 0..5i64 {
        for b in 0..5i64 {
            let inputs = [
                Tensor::I64(ndarray::arr1(&[a]).into_dyn()),
                Tensor::I64(ndarray::arr1(&[b]).into_dyn()),
            ];
            let out = run_network(&compilation.network, &inputs).unwrap();
            let Tensor::I64(class) = &out[0] else {
                panic!("int64 output")
            };
            let logits = run.model.predict(&[a as f32, b as f32]);
            let best = (0..5).fold(0, |best, i| if logits[i] > logits[best] { i } else { best });
            assert_eq!(class.iter().next().copied(), Some(best as i64));
        }
    }
}

#[test]
fn every_penalty_trains_deterministically() {
    let task = MlpTask::L1Norm { n: 2 };
    for penalty in [
        "l1:0.001",
        "group:0.001",
        "bimt:0.001",
        "dl:0.0001",
        "share:0.0001",
    ] {
        let options = MlpTrainOptions {
            steps: 300,
            hidden: vec![6],
            penalty: Penalty::parse(penalty).unwrap(),
            ..MlpTrainOptions::for_task(&task)
        };
        let run = train_mlp(&task, &options);
        assert!(run.held_out.loss < 0.05, "{penalty}: {:?}", run.held_out);
        assert_eq!(
            run.model.params,
            train_mlp(&task, &options).model.params,
            "{penalty}"
        );
    }
}

#[test]
fn committed_l1_norm_network_converts_to_the_abs_form() {
    let bytes = std::fs::read("models/l1_norm/l1_norm.onnx").unwrap();
    let options = Options {
        python: Some("python3".to_string()),
        ..Options::default()
    };
    let compilation = driver::compile(&bytes, &options).unwrap();
    let python = compilation.python.unwrap();
    assert!(
        python.contains("return abs(x0) + abs(x1) + abs(x2) + abs(x3)"),
        "{python}"
    );
    assert!(compilation.report.python_verification.unwrap().is_exact());
}
