//! Every limit on hostile or oversized input: each is refused (or, for limits that only bound
//! effort, reported) with a message naming the limit and the flag that raises it, before the
//! work it bounds is done.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

use nn2py::driver::{self, Compilation, CompileError, Options, Readout};
use nn2py::front::onnx::{import, ImportOptions, Limits};
use nn2py::verify::domain::parse_ranges;
use nn2py::verify::VerifyOptions;
use prost::Message;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{
    type_proto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

const TWO_INPUTS: &str = "tests/fixtures/onnx/two_inputs_concat.onnx";
const SYMBOLIC_T: &str = "tests/fixtures/onnx/rnn_symbolic_t.onnx";
const UNROLLED: &str = "tests/fixtures/pytorch/pt_sum_last2_unrolled.onnx";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(root().join(path)).unwrap()
}

fn nn2py(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nn2py"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

fn float_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            denotation: String::new(),
            value: Some(dimension::Value::DimValue(d)),
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            denotation: String::new(),
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        doc_string: String::new(),
    }
}

fn relu(input: &str, output: &str) -> NodeProto {
    NodeProto {
        name: format!("relu_{output}"),
        op_type: "Relu".to_string(),
        input: vec![input.to_string()],
        output: vec![output.to_string()],
        ..Default::default()
    }
}

fn model(graph: GraphProto, metadata: &[(&str, &str)]) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        producer_name: "nn2py-limits".to_string(),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

/// `y = relu(relu(...relu(x)))`, `depth` nodes deep, on `[N, 2]`.
fn relu_chain(depth: usize) -> Vec<u8> {
    let names: Vec<String> = (0..=depth)
        .map(|i| match i {
            0 => "x".to_string(),
            i if i == depth => "y".to_string(),
            i => format!("h{i}"),
        })
        .collect();
    let node = names.windows(2).map(|w| relu(&w[0], &w[1])).collect();
    let graph = GraphProto {
        name: "chain".to_string(),
        node,
        input: vec![float_info("x", &[1, 2])],
        output: vec![float_info("y", &[1, 2])],
        ..Default::default()
    };
    model(graph, &[("nn2py.domain", "-1.0..1.0")])
}

/// A model whose initialiser declares `[1 << 20, 1 << 20]` (2^40 floats, 4 TiB) with the given
/// raw data.
fn huge_initializer(raw_data: Vec<u8>) -> Vec<u8> {
    let w = TensorProto {
        name: "w".to_string(),
        dims: vec![1 << 20, 1 << 20],
        data_type: DataType::Float as i32,
        raw_data,
        ..Default::default()
    };
    let add = NodeProto {
        name: "add".to_string(),
        op_type: "Add".to_string(),
        input: vec!["x".to_string(), "w".to_string()],
        output: vec!["y".to_string()],
        ..Default::default()
    };
    let graph = GraphProto {
        name: "huge".to_string(),
        node: vec![add],
        initializer: vec![w],
        input: vec![float_info("x", &[1, 1 << 20])],
        output: vec![float_info("y", &[1 << 20, 1 << 20])],
        ..Default::default()
    };
    model(graph, &[])
}

fn compile(bytes: &[u8], options: &Options) -> Result<Compilation, CompileError> {
    driver::compile(bytes, options)
}

fn error_of(result: Result<Compilation, CompileError>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_declared_tensor_of_2_pow_40_elements_is_refused_before_allocation() {
    for (label, raw) in [
        ("no data", Vec::new()),
        ("raw data too short", vec![0u8; 16]),
    ] {
        let bytes = huge_initializer(raw);
        let start = Instant::now();
        let e = import(&bytes, &ImportOptions::default()).unwrap_err();
        assert!(
            e.message.contains("initialiser \"w\""),
            "{label}: {}",
            e.message
        );
        assert!(
            e.message.contains("--max-tensor-elements"),
            "{label}: {}",
            e.message
        );
        // Even with the element limit lifted, the data length is checked against the declared
        // shape before any buffer of that shape is allocated.
        let unlimited = ImportOptions {
            length: None,
            limits: Limits {
                max_tensor_elements: usize::MAX,
                ..Limits::default()
            },
        };
        let e = import(&bytes, &unlimited).unwrap_err();
        assert!(
            e.message.contains("needs 1099511627776"),
            "{label}: {}",
            e.message
        );
        assert!(start.elapsed().as_secs() < 5, "{label}: refused quickly");
    }
}

#[test]
fn model_size_and_node_count_name_their_flags() {
    let bytes = relu_chain(3);
    let small = |limits: Limits| {
        import(
            &bytes,
            &ImportOptions {
                length: None,
                limits,
            },
        )
        .unwrap_err()
        .message
    };
    let e = small(Limits {
        max_model_bytes: 16,
        ..Limits::default()
    });
    assert!(
        e.contains("limit of 16 bytes") && e.contains("--max-model-bytes"),
        "{e}"
    );
    let e = small(Limits {
        max_nodes: 2,
        ..Limits::default()
    });
    assert!(e.contains("3 nodes") && e.contains("--max-nodes"), "{e}");
}

#[test]
fn graph_depth_is_limited() {
    let bytes = relu_chain(40);
    let tight = Options {
        limits: Limits {
            max_graph_depth: 39,
            ..Limits::default()
        },
        ..Options::default()
    };
    let e = error_of(compile(&bytes, &tight));
    assert!(
        e.contains("40 nodes deep") && e.contains("limit of 39"),
        "{e}"
    );
    assert!(e.contains("--max-graph-depth"), "{e}");
    let exact = Options {
        limits: Limits {
            max_graph_depth: 40,
            ..Limits::default()
        },
        ..Options::default()
    };
    let done = compile(&bytes, &exact).unwrap();
    assert!(done.python.unwrap().contains("def predict"));

    let run = nn2py(&["tests/fixtures/onnx/mlp_gemm.onnx", "--domain", "-1.0..1.0"]);
    assert_eq!(run.status.code(), Some(0));
    let run = nn2py(&[
        "tests/fixtures/onnx/mlp_gemm.onnx",
        "--domain",
        "-1.0..1.0",
        "--max-graph-depth",
        "2",
    ]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("3 nodes deep") && err.contains("--max-graph-depth"),
        "{err}"
    );
}

#[test]
fn sequence_length_is_limited_from_flag_metadata_and_text() {
    let bytes = fixture(SYMBOLIC_T);
    let options = |length: Option<usize>, max: usize| Options {
        length,
        domain: Some(parse_ranges("0..3").unwrap()),
        limits: Limits {
            max_sequence_length: max,
            ..Limits::default()
        },
        ..Options::default()
    };
    let e = error_of(compile(&bytes, &options(Some(20), 10)));
    assert!(
        e.contains("sequence length 20") && e.contains("limit of 10"),
        "{e}"
    );
    assert!(e.contains("--max-sequence-length"), "{e}");
    compile(&bytes, &options(Some(10), 10)).unwrap();

    // The same limit applies to a length given by the model's metadata.
    let mut proto = ModelProto::decode(&*bytes).unwrap();
    proto.metadata_props.push(StringStringEntryProto {
        key: "nn2py.length".to_string(),
        value: "1000000000".to_string(),
    });
    let e = error_of(compile(&proto.encode_to_vec(), &options(None, 10_000)));
    assert!(e.contains("sequence length 1000000000"), "{e}");

    // And to network text, which does not pass through the ONNX importer.
    let text = std::fs::read_to_string(root().join("tests/fixtures/network/elman_cell.nnn"))
        .unwrap()
        .replacen("length = 10,", "length = 20000,", 1);
    let e = error_of(compile(text.as_bytes(), &options(None, 10_000)));
    assert!(e.contains("--max-sequence-length"), "{e}");
}

#[test]
fn enumeration_limit_is_a_report_line() {
    let bytes = fixture(TWO_INPUTS);
    // Features a0, a1 in 0..2 and b0..b2 in -1..=1: 2^2 * 3^3 = 108 inputs.
    let options = |exhaustive_limit: u128| Options {
        domain: Some(parse_ranges("0..2,-1..=1").unwrap()),
        verify: VerifyOptions {
            exhaustive_limit,
            samples: 40,
            ..VerifyOptions::default()
        },
        ..Options::default()
    };
    let done = compile(&bytes, &options(VerifyOptions::default().exhaustive_limit)).unwrap();
    let verification = done.report.verification.as_ref().unwrap();
    assert!(verification.exhaustive);
    assert_eq!(verification.checked, 108);
    assert!(done.report.limits_reached.is_empty());

    let done = compile(&bytes, &options(100)).unwrap();
    let verification = done.report.verification.as_ref().unwrap();
    assert!(!verification.exhaustive);
    assert_eq!(verification.checked, 40);
    assert_eq!(done.report.limits_reached.len(), 1);
    let note = &done.report.limits_reached[0];
    assert!(
        note.contains("108 inputs") && note.contains("limit of 100"),
        "{note}"
    );
    assert!(
        note.contains("--max-enumeration") && note.contains("40 sampled"),
        "{note}"
    );
}

#[test]
fn saturation_limits_are_reported_not_raised() {
    let bytes = fixture(UNROLLED);
    let options = |node_limit: usize| Options {
        domain: Some(parse_ranges("0..100").unwrap()),
        readout: Some(Readout::Round),
        rewrite: nn2py::rewrite::Options {
            node_limit,
            ..nn2py::rewrite::Options::default()
        },
        ..Options::default()
    };
    let done = compile(&bytes, &options(1)).unwrap();
    assert!(done.report.lift.as_ref().unwrap().lifted);
    let rewrite = done.report.rewrite.as_ref().unwrap();
    let stopped = rewrite.stop_reasons.get("node limit").copied().unwrap_or(0);
    assert!(stopped > 0, "{:?}", rewrite.stop_reasons);
    // The domain (10 steps in 0..100) is sampled, which is one line; the rewrite is another.
    let notes = &done.report.limits_reached;
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("--max-enumeration"), "{}", notes[0]);
    assert!(notes[1].contains("node limit of 1 e-nodes"), "{}", notes[1]);
    assert!(notes[1].contains("--rewrite-nodes"), "{}", notes[1]);
    assert!(done.python.is_some(), "the program is still written");

    let done = compile(
        &bytes,
        &options(nn2py::rewrite::Options::default().node_limit),
    )
    .unwrap();
    let notes = &done.report.limits_reached;
    assert_eq!(notes.len(), 1, "only the sampled domain: {notes:?}");
}

#[test]
fn limit_flags_reach_the_compiler() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let run = nn2py(&[
        TWO_INPUTS,
        "--domain",
        "0..2,-1..=1",
        "--max-enumeration",
        "100",
        "--samples",
        "30",
        "--rewrite-iterations",
        "3",
        "--rewrite-nodes",
        "500",
        "--rewrite-time-ms",
        "200",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["verification"]["checked"], 30);
    let notes = json["limits_reached"].as_array().unwrap();
    assert!(notes[0].as_str().unwrap().contains("--max-enumeration"));

    let run = nn2py(&[
        SYMBOLIC_T,
        "--domain",
        "0..3",
        "--length",
        "50",
        "--max-sequence-length",
        "49",
    ]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("--max-sequence-length"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
