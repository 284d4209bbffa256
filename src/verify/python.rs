//! Running a generated Python module with a real `python3` on verification examples.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::{ExampleLayout, Examples};
use crate::network::DType;

/// The harness: for each job, loads the module from a path, calls `predict` on every example
/// (JSON on stdin), and writes the flattened outputs (or `null` where `predict` raised) as one JSON
/// list per job to stdout. A module that fails to load gives `{"error": message}` for its job.
const HARNESS: &str = r#"
import importlib.util, json, math, sys

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


def run(index, job):
    spec = importlib.util.spec_from_file_location(f"nn2py_generated_{index}", job["module"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = []
    for example in job["examples"]:
        try:
            if job["kind"] == "sequence":
                d = job["input_dim"]
                cast = convert[job["dtype"]]
                steps = [[cast(v) for v in example[i : i + d]] for i in range(0, len(example), d)]
                result = module.predict([s[0] if d == 1 else tuple(s) for s in steps])
            else:
                args, offset = [], 0
                for count, dtype in job["inputs"]:
                    part = [convert[dtype](v) for v in example[offset : offset + count]]
                    offset += count
                    args.append(part[0] if count == 1 else tuple(part))
                result = module.predict(*args)
            results.append([encode(v) for v in flat(result)])
        except Exception:
            results.append(None)
    return results


replies = []
for index, job in enumerate(json.load(sys.stdin)):
    try:
        replies.append(run(index, job))
    except Exception as error:
        replies.append({"error": f"{type(error).__name__}: {error}"})
json.dump(replies, sys.stdout)
"#;

/// Why the Python module could not be run at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("running the generated Python failed: {message}")]
pub struct PythonRunError {
    pub message: String,
}

#[derive(Serialize)]
struct Job<'a> {
    module: &'a Path,
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

/// One module to run and the examples to run it on.
#[derive(Debug, Clone, Copy)]
pub struct ModuleJob<'a> {
    pub module: &'a Path,
    pub layout: &'a ExampleLayout,
    pub examples: &'a Examples,
}

/// The flattened outputs per example (`None` where `predict` raised).
pub type ModuleOutputs = Vec<Option<Vec<f64>>>;

/// Runs `predict` of the module at `module` with `python` on every example; returns the
/// flattened outputs per example (`None` where `predict` raised). Errors: `python` cannot be
/// run, or the module cannot be loaded.
pub fn run_module(
    python: &str,
    module: &Path,
    layout: &ExampleLayout,
    examples: &Examples,
) -> Result<ModuleOutputs, PythonRunError> {
    let job = ModuleJob {
        module,
        layout,
        examples,
    };
    let mut replies = run_modules(python, &[job])?;
    replies.pop().unwrap_or_else(|| {
        Err(PythonRunError {
            message: "the harness gave no reply".to_string(),
        })
    })
}

/// Runs many modules in one `python` process (its start-up dominates small jobs); returns one
/// result per job, in order: the outputs, or why that module could not be loaded. Errors: `python`
/// cannot be run, or its reply is unreadable.
pub fn run_modules(
    python: &str,
    jobs: &[ModuleJob],
) -> Result<Vec<Result<ModuleOutputs, PythonRunError>>, PythonRunError> {
    let fail = |message: String| PythonRunError { message };
    let request: Vec<Job> = jobs.iter().map(job_request).collect();
    let body = serde_json::to_vec(&request).map_err(|e| fail(e.to_string()))?;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(HARNESS)
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
    let parsed: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout)
        .map_err(|e| fail(format!("unreadable harness output: {e}")))?;
    if parsed.len() != jobs.len() {
        return Err(fail(format!(
            "the harness answered {} of {} modules",
            parsed.len(),
            jobs.len()
        )));
    }
    Ok(parsed.iter().map(decode_reply).collect())
}

fn job_request<'a>(job: &ModuleJob<'a>) -> Job<'a> {
    let examples = &job.examples.examples;
    match job.layout {
        ExampleLayout::Pointwise(inputs) => Job {
            module: job.module,
            kind: "pointwise",
            input_dim: 0,
            dtype: "float",
            inputs: inputs
                .iter()
                .map(|(dtype, shape)| (shape.iter().product(), dtype_name(*dtype)))
                .collect(),
            examples,
        },
        ExampleLayout::Sequence {
            input_dim, dtype, ..
        } => Job {
            module: job.module,
            kind: "sequence",
            input_dim: *input_dim,
            dtype: dtype_name(*dtype),
            inputs: Vec::new(),
            examples,
        },
    }
}

/// One job's reply: a list with one entry per example (a list of numbers, or `null`), or
/// `{"error": message}`.
fn decode_reply(reply: &serde_json::Value) -> Result<ModuleOutputs, PythonRunError> {
    let fail = |message: String| PythonRunError { message };
    let examples = match reply {
        serde_json::Value::Array(examples) => examples,
        serde_json::Value::Object(map) => {
            let message = map.get("error").and_then(|m| m.as_str()).unwrap_or("");
            return Err(fail(format!("the module could not be loaded: {message}")));
        }
        _ => return Err(fail("unreadable harness output".to_string())),
    };
    examples
        .iter()
        .map(|outputs| match outputs {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::Array(values) => Ok(Some(values.iter().map(number).collect())),
            _ => Err(fail("unreadable harness output".to_string())),
        })
        .collect()
}

fn number(v: &serde_json::Value) -> f64 {
    match v {
        serde_json::Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        serde_json::Value::String(s) => match s.as_str() {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            _ => f64::NAN,
        },
        _ => f64::NAN,
    }
}

/// A generated module written to a file in the temporary directory for `python3` to load,
/// removed when dropped.
#[derive(Debug)]
pub struct ScratchModule {
    path: PathBuf,
}

/// The scratch file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {cause}", path.display())]
pub struct ScratchError {
    pub path: PathBuf,
    pub cause: std::io::Error,
}

impl ScratchModule {
    /// Writes `source` to `nn2py_<name>_<process>_<counter>.py` in the temporary directory (the
    /// process id and a per-process counter keep concurrent writers apart).
    pub fn write(name: &str, source: &str) -> Result<Self, ScratchError> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "nn2py_{name}_{}_{}.py",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::write(&path, source) {
            Ok(()) => Ok(ScratchModule { path }),
            Err(cause) => Err(ScratchError { path, cause }),
        }
    }

    /// Where the module lies.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchModule {
    fn drop(&mut self) {
        // Best effort: a leftover scratch file in the temp dir is harmless.
        let _ = std::fs::remove_file(&self.path);
    }
}
