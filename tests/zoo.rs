//! The zoo's networks: the PyTorch-form export of RNN, GRU and LSTM networks (graph shape
//! against a real PyTorch export, values against onnxruntime and against nn2py's own reading of
//! the model), the zoo's tasks, and the cells' gradients (with the `burn` feature) against
//! finite differences and against the reference forward pass.

#[path = "common/oracle.rs"]
mod oracle;

use ndarray::{ArrayD, IxDyn};
use prost::Message;

use nn2py::driver::{compile, Options};
use nn2py::export::{export_torch_form, Affine, Cell, ExportMeta, Head, RecurrentNet};
use nn2py::network::Tensor;
use nn2py::rng::SplitMix64 as Rng;
use nn2py::tasks;
use nn2py::train::zoo::{entries, initial_network};

fn random_net(cell: Cell, head: Head, input_dim: usize, hidden: usize, seed: u64) -> RecurrentNet {
    let mut rng = Rng::new(seed);
    let mut draw =
        |n: usize| -> Vec<f32> { (0..n).map(|_| rng.real_in(-0.8, 0.8) as f32).collect() };
    let rows = cell.gates() * hidden;
    let outputs = match head {
        Head::Classes(k) => k,
        Head::Linear | Head::Sigmoid => 1,
    };
    RecurrentNet {
        cell,
        input_dim,
        hidden,
        w: draw(rows * input_dim),
        r: draw(rows * hidden),
        wb: draw(rows),
        rb: draw(rows),
        readout: Affine {
            weight: draw(outputs * hidden),
            out: outputs,
            inp: hidden,
            bias: draw(outputs),
        },
        head,
    }
}

fn meta(length: usize) -> ExportMeta {
    ExportMeta {
        domain: "0..=1".to_string(),
        length,
        task: None,
        producer_version: "test".to_string(),
    }
}

const CASES: [(Cell, Head); 5] = [
    (Cell::Gru, Head::Linear),
    (Cell::Gru, Head::Sigmoid),
    (Cell::Lstm, Head::Classes(3)),
    (Cell::Lstm, Head::Linear),
    (Cell::Rnn, Head::Sigmoid),
];

fn ops(bytes: &[u8]) -> Vec<String> {
    let model = tract_onnx::pb::ModelProto::decode(bytes).expect("decodes");
    model
        .graph
        .expect("a graph")
        .node
        .iter()
        .map(|n| n.op_type.clone())
        .collect()
}

#[test]
fn a_gru_export_has_the_graph_pytorch_gives() {
    let fixture = std::fs::read("tests/fixtures/pytorch/pt_parity_gru.onnx").expect("fixture");
    let ours = export_torch_form(&random_net(Cell::Gru, Head::Linear, 1, 4, 1), &meta(10))
        .expect("exports");
    assert_eq!(ops(&ours), ops(&fixture));
    let model = tract_onnx::pb::ModelProto::decode(ours.as_slice()).expect("decodes");
    let graph = model.graph.expect("graph");
    let gru = graph.node.iter().find(|n| n.op_type == "GRU").expect("GRU");
    let lbr = gru
        .attribute
        .iter()
        .find(|a| a.name == "linear_before_reset")
        .expect("linear_before_reset");
    assert_eq!(lbr.i, 1);
    // Both time and batch are symbolic.
    let dims = |v: &tract_onnx::pb::ValueInfoProto| -> Vec<String> {
        let Some(tract_onnx::pb::type_proto::Value::TensorType(t)) =
            v.r#type.as_ref().and_then(|t| t.value.clone())
        else {
            panic!("not a tensor")
        };
        t.shape
            .expect("shape")
            .dim
            .iter()
            .map(|d| format!("{:?}", d.value))
            .collect()
    };
    let input = dims(&graph.input[0]);
    assert!(
        input[0].contains("DimParam") && input[1].contains("DimParam"),
        "{input:?}"
    );
}

#[test]
fn heads_end_as_pytorch_writes_them() {
    let classes = export_torch_form(&random_net(Cell::Lstm, Head::Classes(3), 1, 4, 2), &meta(5))
        .expect("exports");
    let tail: Vec<String> = ops(&classes).into_iter().rev().take(4).collect();
    assert_eq!(tail, ["Cast", "ArgMax", "Add", "MatMul"]);
    let sigmoid = export_torch_form(&random_net(Cell::Rnn, Head::Sigmoid, 1, 4, 3), &meta(5))
        .expect("exports");
    assert_eq!(ops(&sigmoid).last().map(String::as_str), Some("Sigmoid"));
    let lstm = ops(&classes);
    assert_eq!(lstm.iter().filter(|o| *o == "ConstantOfShape").count(), 2);
}

fn sequences(input_dim: usize, n: usize, t: usize, seed: u64) -> Vec<Vec<Vec<f32>>> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            (0..t)
                .map(|_| (0..input_dim).map(|_| rng.int_in(0, 3) as f32).collect())
                .collect()
        })
        .collect()
}

#[test]
fn onnxruntime_agrees_with_the_reference_forward_pass() {
    for (k, (cell, head)) in CASES.into_iter().enumerate() {
        let net = random_net(cell, head, 2, 5, 10 + k as u64);
        let bytes = export_torch_form(&net, &meta(7)).expect("exports");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("zoo.onnx");
        std::fs::write(&path, &bytes).expect("writes");
        oracle::assert_onnx_checker_accepts(&path, &format!("the {cell:?}/{head:?} export"));
        let seqs = sequences(2, 16, 7, 99);
        let flat: Vec<f32> = seqs.iter().flatten().flatten().copied().collect();
        let x = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[16, 7, 2]), flat).expect("shape"));
        let outputs = oracle::run_onnxruntime(&path, &[("x".to_string(), x)]);
        let Tensor::F32(y) = &outputs[0] else {
            panic!("{cell:?}/{head:?}: y is not float: {:?}", outputs[0]);
        };
        assert_eq!(y.shape(), &[16, 7, 1]);
        for (i, seq) in seqs.iter().enumerate() {
            for (t, want) in net.run(seq).expect("runs").iter().enumerate() {
                let got = y[[i, t, 0].as_slice()];
                assert!(
                    (got - want[0]).abs() <= 1e-5 * (1.0 + want[0].abs()),
                    "{cell:?}/{head:?} sequence {i} step {t}: onnxruntime {got}, reference {}",
                    want[0]
                );
            }
        }
    }
}

#[test]
fn nn2py_converts_and_verifies_every_cell_and_head() {
    for (k, (cell, head)) in CASES.into_iter().enumerate() {
        let net = random_net(cell, head, 1, 3, 30 + k as u64);
        let bytes = export_torch_form(&net, &meta(4)).expect("exports");
        let compiled = compile(&bytes, &Options::default())
            .unwrap_or_else(|e| panic!("{cell:?}/{head:?}: {e}"));
        assert!(compiled.report.verified(), "{cell:?}/{head:?} not verified");
        assert!(compiled.python.is_some());
    }
}

#[test]
fn bad_networks_are_errors_not_panics() {
    let mut net = random_net(Cell::Gru, Head::Sigmoid, 1, 3, 5);
    net.r.pop();
    let err = export_torch_form(&net, &meta(4)).unwrap_err();
    assert!(err.message.contains("r has"), "{err}");
    let mut net = random_net(Cell::Lstm, Head::Classes(3), 1, 3, 5);
    net.head = Head::Classes(4);
    assert!(export_torch_form(&net, &meta(4)).is_err());
    let mut net = random_net(Cell::Rnn, Head::Linear, 1, 3, 5);
    net.wb[0] = f32::NAN;
    assert!(net.run(&[vec![1.0]]).is_err());
    assert!(export_torch_form(&random_net(Cell::Rnn, Head::Linear, 1, 3, 5), &meta(0)).is_err());
}

#[test]
fn the_zoo_covers_every_cell_and_names_real_tasks() {
    let all = entries();
    assert!(all.len() >= 24);
    for cell in [Cell::Rnn, Cell::Gru, Cell::Lstm] {
        assert!(all.iter().any(|e| e.cell == cell), "{cell:?}");
    }
    for n in 1..=7 {
        assert!(all.iter().any(|e| e.task == format!("Tomita_{n}")));
    }
    let mips = all
        .iter()
        .filter(|e| tasks::by_name(e.task).is_some())
        .count();
    assert!(mips >= 6, "{mips} MIPS tasks");
    let mut names: Vec<String> = all.iter().map(|e| e.name()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all.len(), "names are unique");
    for entry in &all {
        let task = entry.task().expect("a task");
        let net = initial_network(entry, task);
        net.validate().expect("a valid initial network");
        // A class head must hold every label the task gives.
        if let Head::Classes(k) = entry.head {
            let data = task.generate(500, task.length, 3).expect("data");
            assert!(
                data.outputs.iter().all(|&y| (0..k as i64).contains(&y)),
                "{}: labels outside 0..{k}",
                entry.name()
            );
        }
    }
}

#[cfg(feature = "burn")]
mod gradients {
    use super::*;
    use nn2py::train::batch::Batch;
    use nn2py::train::cells::CellEngine;

    fn batch(net: &RecurrentNet, n: usize, length: usize, seed: u64) -> Batch {
        let mut rng = Rng::new(seed);
        let d = net.input_dim;
        let targets_per_step = match net.head {
            Head::Classes(_) => 1,
            Head::Linear | Head::Sigmoid => net.readout.out,
        };
        let inputs = (0..n * length * d)
            .map(|_| rng.int_in(0, 2) as f32)
            .collect();
        let targets = (0..n * length * targets_per_step)
            .map(|_| match net.head {
                Head::Linear => rng.int_in(-2, 3) as f32,
                Head::Sigmoid => rng.int_in(0, 1) as f32,
                Head::Classes(k) => rng.int_in(0, k as i64 - 1) as f32,
            })
            .collect();
        Batch {
            n,
            length,
            input_dim: d,
            output_dim: targets_per_step,
            inputs,
            targets,
        }
    }

    #[test]
    fn every_cell_and_head_matches_finite_differences() {
        let engine = CellEngine::default();
        for (k, (cell, head)) in CASES.into_iter().enumerate() {
            let net = random_net(cell, head, 2, 3, 50 + k as u64);
            let data = batch(&net, 6, 4, 7);
            let (_, grads) = engine.loss_and_gradients(&net, &data).expect("gradients");
            let loss_at =
                |net: &RecurrentNet| engine.loss_and_gradients(net, &data).expect("loss").0;
            for (tensor, grad) in grads.iter().enumerate() {
                let len = grad.len();
                for index in [0, len / 2, len - 1] {
                    let eps = 1e-2f32;
                    let mut plus = net.clone();
                    plus.tensors_mut()[tensor][index] += eps;
                    let mut minus = net.clone();
                    minus.tensors_mut()[tensor][index] -= eps;
                    let numeric = (loss_at(&plus) - loss_at(&minus)) / (2.0 * f64::from(eps));
                    let analytic = f64::from(grad[index]);
                    assert!(
                        (numeric - analytic).abs() <= 2e-3 + 2e-2 * analytic.abs(),
                        "{cell:?}/{head:?} tensor {tensor} index {index}: numeric {numeric}, autodiff {analytic}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_autodiff_forward_pass_is_the_onnx_cell() {
        // The loss from burn's graph equals the loss computed from the reference forward pass
        // (which onnxruntime agrees with), for the heads whose outputs carry the loss.
        let engine = CellEngine::default();
        for (k, (cell, head)) in CASES.into_iter().enumerate() {
            if matches!(head, Head::Classes(_)) {
                continue;
            }
            let net = random_net(cell, head, 2, 4, 70 + k as u64);
            let data = batch(&net, 5, 6, 8);
            let (loss, _) = engine.loss_and_gradients(&net, &data).expect("loss");
            let mut total = 0.0f64;
            for i in 0..data.n {
                let seq: Vec<Vec<f32>> = (0..data.length)
                    .map(|t| {
                        (0..data.input_dim)
                            .map(|j| data.inputs[(t * data.input_dim + j) * data.n + i])
                            .collect()
                    })
                    .collect();
                for (t, y) in net.run(&seq).expect("runs").iter().enumerate() {
                    let target = f64::from(data.targets[t * data.n + i]);
                    let y = f64::from(y[0]);
                    total += match head {
                        Head::Linear => (y - target).powi(2),
                        _ => -(target * y.ln() + (1.0 - target) * (1.0 - y).ln()),
                    };
                }
            }
            let reference = total / (data.n * data.length) as f64;
            assert!(
                (loss - reference).abs() <= 1e-4 * (1.0 + reference.abs()),
                "{cell:?}/{head:?}: autodiff loss {loss}, reference {reference}"
            );
        }
    }

    #[test]
    fn training_is_deterministic_and_learns_an_easy_language() {
        use nn2py::train::zoo::{entry_by_name, train_entry};
        let mut entry = entry_by_name("Tomita_1").expect("an entry");
        entry.max_steps = 400;
        let first = train_entry(&entry, &mut |_| {}).expect("trains");
        assert!(
            first.record.check.is_exact(),
            "Tomita 1 after {} steps: {:?}",
            first.record.steps,
            first.record.check
        );
        let mut short = entry;
        short.max_steps = 30;
        let a = train_entry(&short, &mut |_| {}).expect("trains");
        let b = train_entry(&short, &mut |_| {}).expect("trains");
        assert_eq!(a.net, b.net);
    }
}
