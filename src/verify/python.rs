//! Running a generated Python module with a real `python3` on verification examples.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;

use super::{ExampleLayout, Examples};
use crate::network::DType;

/// The harness: loads the module from a path, calls `predict` on every example read from stdin
/// (JSON), writes the flattened outputs (or `null` where `predict` raised) as JSON to stdout.
const HARNESS: &str = r#"
import importlib.util, json, math, sys

spec = importlib.util.spec_from_file_location("nn2py_generated", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
request = json.load(sys.stdin)
convert = {"int": int, "float": float, "bool": lambda v: v != 0}


def flat(value):
    if isinstance(value, (tuple, list)):
        for item in value:
            yield from flat(item)
    else:
        yield value


def encode(value):
    value = float(value)
    return value if math.isfinite(value) else repr(value)


results = []
for example in request["examples"]:
    try:
        if request["kind"] == "sequence":
            d = request["input_dim"]
            cast = convert[request["dtype"]]
            steps = [[cast(v) for v in example[i : i + d]] for i in range(0, len(example), d)]
            result = module.predict([s[0] if d == 1 else tuple(s) for s in steps])
        else:
            args, offset = [], 0
            for count, dtype in request["inputs"]:
                part = [convert[dtype](v) for v in example[offset : offset + count]]
                offset += count
                args.append(part[0] if count == 1 else tuple(part))
            result = module.predict(*args)
        results.append([encode(v) for v in flat(result)])
    except Exception:
        results.append(None)
json.dump(results, sys.stdout)
"#;

/// Why the Python module could not be run at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("running the generated Python failed: {message}")]
pub struct PythonRunError {
    pub message: String,
}

#[derive(Serialize)]
struct Request<'a> {
    kind: &'static str,
    input_dim: usize,
    dtype: &'static str,
    inputs: Vec<(usize, &'static str)>,
    examples: &'a [Vec<f64>],
}

fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::I64 => "int",
        DType::Bool => "bool",
    }
}

/// Runs `predict` of the module at `module` with `python` on every example; returns the
/// flattened outputs per example (`None` where `predict` raised).
pub fn run_module(
    python: &str,
    module: &Path,
    layout: &ExampleLayout,
    examples: &Examples,
) -> Result<Vec<Option<Vec<f64>>>, PythonRunError> {
    let request = match layout {
        ExampleLayout::Pointwise(inputs) => Request {
            kind: "pointwise",
            input_dim: 0,
            dtype: "float",
            inputs: inputs
                .iter()
                .map(|(dtype, shape)| (shape.iter().product(), dtype_name(*dtype)))
                .collect(),
            examples: &examples.examples,
        },
        ExampleLayout::Sequence {
            input_dim, dtype, ..
        } => Request {
            kind: "sequence",
            input_dim: *input_dim,
            dtype: dtype_name(*dtype),
            inputs: Vec::new(),
            examples: &examples.examples,
        },
    };
    let fail = |message: String| PythonRunError { message };
    let body = serde_json::to_vec(&request).map_err(|e| fail(e.to_string()))?;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(HARNESS)
        .arg(module)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot start {python}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&body)
            .map_err(|e| fail(format!("cannot write to {python}: {e}")))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| fail(format!("{python} did not finish: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(fail(format!(
            "{python} exited with {}: {}",
            output.status,
            tail.join("\n")
        )));
    }
    let parsed: Vec<Option<Vec<serde_json::Value>>> = serde_json::from_slice(&output.stdout)
        .map_err(|e| fail(format!("unreadable harness output: {e}")))?;
    Ok(parsed
        .into_iter()
        .map(|outputs| {
            outputs.map(|values| {
                values
                    .iter()
                    .map(|v| match v {
                        serde_json::Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                        serde_json::Value::String(s) => match s.as_str() {
                            "inf" => f64::INFINITY,
                            "-inf" => f64::NEG_INFINITY,
                            _ => f64::NAN,
                        },
                        _ => f64::NAN,
                    })
                    .collect()
            })
        })
        .collect())
}
