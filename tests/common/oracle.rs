//! The onnxruntime oracle: runs `tests/oracle/ort_run.py` (python3 with `onnxruntime`) and reads
//! its outputs back as network IR tensors.
//!
//! Include it from a test with `#[path = "common/oracle.rs"] mod oracle;`. Failures to run the
//! oracle panic with python's stderr, as befits test code.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use ndarray::{ArrayD, IxDyn};
use nn2py::network::Tensor;
use serde_json::{json, Value};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/ort_run.py");

/// One ONNX node for [`run_onnxruntime_node`]: its op type, input names (`""` for an absent
/// optional input), number of outputs and attributes as JSON (`int`, `float`, `str` or lists).
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub op_type: String,
    pub inputs: Vec<String>,
    pub n_outputs: usize,
    pub attributes: BTreeMap<String, Value>,
    /// Integer inputs to declare as `int32` (ONNX requires it of `sequence_lens`).
    pub int32_inputs: Vec<String>,
    pub opset: i64,
}

/// Asserts that `onnx.checker` (full check) accepts the model file; `what` names it in the failure.
pub fn assert_onnx_checker_accepts(model: &Path, what: &str) {
    let checker = Command::new("python3")
        .args([
            "-c",
            "import sys, onnx; onnx.checker.check_model(sys.argv[1], full_check=True)",
        ])
        .arg(model)
        .output()
        .expect("python3 runs");
    assert!(
        checker.status.success(),
        "onnx.checker rejects {what}: {}",
        String::from_utf8_lossy(&checker.stderr)
    );
}

/// Runs a model file under onnxruntime on named inputs; returns its outputs in model order.
pub fn run_onnxruntime(model: &Path, inputs: &[(String, Tensor)]) -> Vec<Tensor> {
    let request = json!({ "inputs": encode_inputs(inputs) });
    run(
        &[model.to_str().expect("model path is not UTF-8")],
        &request,
    )
}

/// Builds a one-node model from `node` and runs it under onnxruntime; the node's inputs are the
/// named tensors, fed as graph inputs.
pub fn run_onnxruntime_node(node: &NodeSpec, inputs: &[(String, Tensor)]) -> Vec<Tensor> {
    let request = json!({
        "inputs": encode_inputs(inputs),
        "node": {
            "op_type": node.op_type,
            "inputs": node.inputs,
            "n_outputs": node.n_outputs,
            "attributes": node.attributes,
            "int32_inputs": node.int32_inputs,
        },
        "opset": node.opset,
    });
    run(&["--node"], &request)
}

fn run(args: &[&str], request: &Value) -> Vec<Tensor> {
    let reply = run_json(args, request);
    reply["outputs"]
        .as_array()
        .expect("oracle reply has no outputs list")
        .iter()
        .map(decode)
        .collect()
}

/// Runs the oracle script with `args` on `request`; returns its JSON reply.
fn run_json(args: &[&str], request: &Value) -> Value {
    let mut child = Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start python3");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(request.to_string().as_bytes())
        .expect("cannot write the oracle request");
    let output = child.wait_with_output().expect("oracle did not finish");
    assert!(
        output.status.success(),
        "onnxruntime oracle failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("oracle output is not JSON")
}

fn encode_inputs(inputs: &[(String, Tensor)]) -> Value {
    let map: serde_json::Map<String, Value> = inputs
        .iter()
        .map(|(name, t)| (name.clone(), encode(t)))
        .collect();
    Value::Object(map)
}

/// A tensor as the oracle's JSON: `{"dtype", "shape", "data"}`.
pub fn encode(t: &Tensor) -> Value {
    let (dtype, data) = match t {
        Tensor::F32(a) => ("float32", a.iter().map(|&v| json!(v)).collect::<Vec<_>>()),
        Tensor::I64(a) => ("int64", a.iter().map(|&v| json!(v)).collect()),
        Tensor::Bool(a) => ("bool", a.iter().map(|&v| json!(v)).collect()),
    };
    json!({ "dtype": dtype, "shape": t.shape(), "data": data })
}

/// A tensor from the oracle's JSON.
pub fn decode(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dimension") as usize)
        .collect();
    let data = v["data"].as_array().expect("data");
    let shape = IxDyn(&shape);
    match v["dtype"].as_str().expect("dtype") {
        "float32" => Tensor::F32(
            ArrayD::from_shape_vec(
                shape,
                data.iter()
                    .map(|x| x.as_f64().expect("float") as f32)
                    .collect(),
            )
            .expect("shape matches data"),
        ),
        "int64" => Tensor::I64(
            ArrayD::from_shape_vec(
                shape,
                data.iter().map(|x| x.as_i64().expect("int")).collect(),
            )
            .expect("shape matches data"),
        ),
        "bool" => Tensor::Bool(
            ArrayD::from_shape_vec(
                shape,
                data.iter().map(|x| x.as_bool().expect("bool")).collect(),
            )
            .expect("shape matches data"),
        ),
        other => panic!("unknown dtype {other}"),
    }
}

/// Asserts that two tensors agree: same type and shape, values within `rel` relative or `abs`
/// absolute tolerance (exactly, for integers and booleans).
pub fn assert_close(got: &Tensor, want: &Tensor, rel: f32, abs: f32, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: element types differ");
    assert_eq!(got.shape(), want.shape(), "{what}: shapes differ");
    match (got, want) {
        (Tensor::F32(g), Tensor::F32(w)) => {
            for (i, (&a, &b)) in g.iter().zip(w.iter()).enumerate() {
                let ok = (a - b).abs() <= abs + rel * b.abs() || (a.is_nan() && b.is_nan());
                assert!(ok, "{what}: element {i}: got {a}, onnxruntime gives {b}");
            }
        }
        _ => assert_eq!(got, want, "{what}: values differ"),
    }
}

/// One model file for [`run_onnxruntime_batch`] and the input sets to run it on (named inputs).
pub struct BatchJob {
    pub model: std::path::PathBuf,
    pub feeds: Vec<Vec<(String, Tensor)>>,
}

/// Runs many models under onnxruntime in one python process (its start-up and imports cost about
/// a second): per model, its outputs on every feed, or the error onnxruntime gave for that model.
pub fn run_onnxruntime_batch(jobs: &[BatchJob]) -> Vec<Result<Vec<Vec<Tensor>>, String>> {
    let models: Vec<Value> = jobs
        .iter()
        .map(|job| {
            json!({
                "path": job.model.to_str().expect("model path is not UTF-8"),
                "feeds": job.feeds.iter().map(|feed| encode_inputs(feed)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let reply = run_json(&["--batch"], &json!({ "models": models }));
    let results = reply["results"]
        .as_array()
        .expect("oracle reply has no results list");
    assert_eq!(results.len(), jobs.len(), "one oracle result per model");
    results
        .iter()
        .map(|result| match result["outputs"].as_array() {
            Some(feeds) => Ok(feeds
                .iter()
                .map(|outputs| {
                    outputs
                        .as_array()
                        .expect("outputs list")
                        .iter()
                        .map(decode)
                        .collect()
                })
                .collect()),
            None => Err(result["error"].as_str().unwrap_or("no reason").to_string()),
        })
        .collect()
}
