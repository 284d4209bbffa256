//! Export of the anchor RNN to ONNX: nn2py compiles the export with no flags and verifies it,
//! onnxruntime agrees with [`AnchorRnn::run`], bad networks are errors, and the bytes are
//! deterministic.

#[path = "common/oracle.rs"]
mod oracle;

use std::process::Command;

use ndarray::{ArrayD, IxDyn};
use nn2py::diag::Location;
use nn2py::driver::{compile, Options};
use nn2py::export::{export_onnx, read_anchor_onnx, Affine, AnchorRnn, ExportMeta};
use nn2py::front::onnx::{import, ImportOptions};
use nn2py::network::Tensor;
use nn2py::rng::SplitMix64 as Rng;

fn affine(out: usize, inp: usize, weight: &[f32], bias: &[f32]) -> Affine {
    Affine {
        weight: weight.to_vec(),
        out,
        inp,
        bias: bias.to_vec(),
    }
}

/// Sum_Last2 by hand: h' = (x_t, h_0) keeps the current and previous input, y = h_0 + h_1.
fn sum_last2() -> AnchorRnn {
    let f = affine(2, 3, &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0], &[0.0, 0.0]);
    let g = affine(1, 2, &[1.0, 1.0], &[0.0]);
    AnchorRnn::new(1, 2, 1, vec![f], vec![g]).expect("a valid network")
}

fn random_affine(rng: &mut Rng, out: usize, inp: usize) -> Affine {
    let mut draw = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| rng.real_in(-0.6, 0.6) as f32)
            .collect::<Vec<f32>>()
    };
    let weight = draw(out * inp);
    let bias = draw(out);
    affine(out, inp, &weight, &bias)
}

/// d = 2, hidden = 3, o = 2; f: 5 -> 4 -> 3, g: 3 -> 4 -> 2.
fn random_net(seed: u64) -> AnchorRnn {
    let mut rng = Rng::new(seed);
    let f = vec![random_affine(&mut rng, 4, 5), random_affine(&mut rng, 3, 4)];
    let g = vec![random_affine(&mut rng, 4, 3), random_affine(&mut rng, 2, 4)];
    AnchorRnn::new(2, 3, 2, f, g).expect("a valid network")
}

fn meta(domain: &str, length: usize, task: Option<&str>) -> ExportMeta {
    ExportMeta {
        domain: domain.to_string(),
        length,
        task: task.map(str::to_string),
        producer_version: "test".to_string(),
    }
}

/// Compiles with default options (no domain, no length) and checks the result is a verified
/// sequence model of the exported length.
fn check_compiles_and_verifies(bytes: &[u8], length: usize) {
    let compiled = compile(bytes, &Options::default()).expect("compiles with no flags");
    let report = &compiled.report;
    assert_eq!(report.kind, "sequence");
    assert_eq!(report.length, Some(length));
    assert_eq!(report.producer, "nn2py");
    assert!(
        report.domain.is_some(),
        "the domain comes from the metadata"
    );
    assert!(report.verified(), "not verified exact: {report:?}");
    assert!(compiled.python.is_some());
}

/// `onnx.checker` (full check) accepts the model, and onnxruntime on a batch of `sequences` against [`AnchorRnn::run`] on each, to within
/// `tolerance` relative to `1 + |expected|`.
fn check_against_onnxruntime(
    model: &AnchorRnn,
    bytes: &[u8],
    sequences: &[Vec<Vec<f32>>],
    tolerance: f32,
) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("anchor.onnx");
    std::fs::write(&path, bytes).expect("writes the model");
    oracle::assert_onnx_checker_accepts(&path, "the export");
    let n = sequences.len();
    let t = sequences[0].len();
    let d = model.input_dim;
    let flat: Vec<f32> = sequences.iter().flatten().flatten().copied().collect();
    let x = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[n, t, d]), flat).expect("x shape"));
    let outputs = oracle::run_onnxruntime(&path, &[("x".to_string(), x)]);
    assert_eq!(outputs.len(), 1);
    let Tensor::F32(y) = &outputs[0] else {
        panic!("y is not float: {:?}", outputs[0]);
    };
    assert_eq!(y.shape(), &[n, t, model.output_dim]);
    for (i, seq) in sequences.iter().enumerate() {
        let expected = model.run(seq).expect("runs");
        for (step, want) in expected.iter().enumerate() {
            for (k, &w) in want.iter().enumerate() {
                let got = y[[i, step, k].as_slice()];
                assert!(
                    (got - w).abs() <= tolerance * (1.0 + w.abs()),
                    "sequence {i}, step {step}, output {k}: onnxruntime {got}, run {w}"
                );
            }
        }
    }
}

#[test]
fn sum_last2_compiles_with_no_flags_and_verifies() {
    let bytes = export_onnx(&sum_last2(), &meta("0..100", 10, Some("Sum_Last2"))).expect("exports");
    check_compiles_and_verifies(&bytes, 10);
    let imported = import(&bytes, &ImportOptions::default()).expect("imports");
    assert_eq!(imported.metadata["nn2py.domain"], "0..100");
    assert_eq!(imported.metadata["nn2py.length"], "10");
    assert_eq!(imported.metadata["nn2py.task"], "Sum_Last2");
    assert_eq!(imported.opset, 17);
}

#[test]
fn sum_last2_agrees_with_onnxruntime_exactly() {
    let model = sum_last2();
    let bytes = export_onnx(&model, &meta("0..100", 10, None)).expect("exports");
    let sequences: Vec<Vec<Vec<f32>>> = (0..4)
        .map(|s| {
            (0..6)
                .map(|t| vec![(s * 17 + t * 29) as f32 % 100.0])
                .collect()
        })
        .collect();
    check_against_onnxruntime(&model, &bytes, &sequences, 0.0);
    // The reference itself is Sum_Last2, exactly.
    let ys = model.run(&sequences[1]).expect("runs");
    let xs: Vec<f32> = sequences[1].iter().map(|x| x[0]).collect();
    for t in 0..xs.len() {
        let previous = if t == 0 { 0.0 } else { xs[t - 1] };
        assert_eq!(ys[t], vec![xs[t] + previous]);
    }
}

#[test]
fn random_network_compiles_and_agrees_with_onnxruntime() {
    let model = random_net(7);
    let bytes = export_onnx(&model, &meta("-1.0..1.0", 5, None)).expect("exports");
    check_compiles_and_verifies(&bytes, 5);
    let mut rng = Rng::new(11);
    let sequences: Vec<Vec<Vec<f32>>> = (0..3)
        .map(|_| {
            (0..7)
                .map(|_| (0..2).map(|_| rng.real_in(-1.0, 1.0) as f32).collect())
                .collect()
        })
        .collect();
    check_against_onnxruntime(&model, &bytes, &sequences, 1e-5);
}

#[test]
fn broken_networks_and_metadata_are_errors() {
    let mut model = sum_last2();
    model.g[0].inp = 3;
    model.g[0].weight = vec![1.0; 3];
    let e = export_onnx(&model, &meta("0..100", 10, None)).expect_err("g takes 3, h has 2");
    assert_eq!(e.location, Location::Value("g.0.weight".to_string()));

    let mut model = sum_last2();
    model.hidden = 3;
    assert!(export_onnx(&model, &meta("0..100", 10, None)).is_err());

    let model = sum_last2();
    assert!(export_onnx(&model, &meta("0..100", 0, None)).is_err());
    assert!(export_onnx(&model, &meta("not a domain", 10, None)).is_err());
}

#[test]
fn bad_length_metadata_is_an_error_naming_the_key() {
    use prost::Message;
    use tract_onnx::pb::ModelProto;
    let bytes = export_onnx(&sum_last2(), &meta("0..100", 10, None)).expect("exports");
    let mut proto = ModelProto::decode(bytes.as_slice()).expect("decodes");
    for entry in &mut proto.metadata_props {
        if entry.key == "nn2py.length" {
            entry.value = "ten".to_string();
        }
    }
    let e = import(&proto.encode_to_vec(), &ImportOptions::default()).expect_err("bad length");
    assert!(e.message.contains("nn2py.length"), "{}", e.message);
    // An explicit length still wins over the metadata.
    let options = ImportOptions {
        length: Some(4),
        ..ImportOptions::default()
    };
    let imported = import(&proto.encode_to_vec(), &options).expect("imports");
    let x = imported.graph.value(imported.graph.inputs[0]);
    assert_eq!(x.ty.shape, vec![1, 4, 1]);
}

#[test]
fn export_is_byte_identical_across_runs() {
    let a = export_onnx(&random_net(3), &meta("-1.0..1.0", 5, Some("t"))).expect("exports");
    let b = export_onnx(&random_net(3), &meta("-1.0..1.0", 5, Some("t"))).expect("exports");
    assert_eq!(a, b);
    let c = export_onnx(&random_net(4), &meta("-1.0..1.0", 5, Some("t"))).expect("exports");
    assert_ne!(a, c, "different weights give different bytes");
}

#[test]
fn cli_compiles_an_export_with_no_flags() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let model = dir.path().join("sum_last2.onnx");
    let out = dir.path().join("out.py");
    let bytes = export_onnx(&sum_last2(), &meta("0..100", 10, Some("Sum_Last2"))).expect("exports");
    std::fs::write(&model, bytes).expect("writes the model");
    let run = Command::new(env!("CARGO_BIN_EXE_nn2py"))
        .arg(&model)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("the binary runs");
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let program = std::fs::read_to_string(&out).expect("the program was written");
    assert!(program.contains("def predict"), "{program}");
}

/// Every committed benchmark model reads back (`nn2py train --from` can continue any of them):
/// the layers, the metadata, and an export of what was read that decodes to the same message.
#[test]
fn committed_models_read_back_exactly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mips62");
    let (mut read, mut failures) = (0, Vec::new());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("onnx") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let (network, meta) = match read_anchor_onnx(&bytes) {
            Ok(read) => read,
            Err(e) => {
                failures.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let task = nn2py::tasks::by_name(path.file_stem().unwrap().to_str().unwrap()).unwrap();
        assert_eq!(meta, nn2py::bench::export_meta(task), "{}", path.display());
        assert_eq!(
            (network.input_dim, network.output_dim),
            (task.input_dim, task.output_dim),
            "{}",
            path.display()
        );
        read += 1;
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(read >= 61, "only {read} models in {}", dir.display());
}
