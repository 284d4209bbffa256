//! The same input gives byte-identical output: two runs of the binary, and a run pinned to one
//! CPU, write the same module and the same report (timings aside), for a lifted sequence model and
//! a pointwise model whose domain is sampled.
//!
//! Conversion is single-threaded: the only thread it starts is the Python writer's, for its
//! larger stack, and it runs alone. Parallelism exists only in `nn2py bench` (one task per job),
//! which is not a conversion. Pinning to one CPU (`taskset -c 0`, when present) checks that
//! nothing depends on the number of CPUs.

use std::path::{Path, PathBuf};
use std::process::Command;

const UNROLLED: &str = "tests/fixtures/pytorch/pt_sum_last2_unrolled.onnx";
const TWO_INPUTS: &str = "tests/fixtures/onnx/two_inputs_concat.onnx";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs one conversion (through `taskset -c 0` when `pinned`) and returns the module and the
/// report with its timings removed.
fn convert(args: &[&str], dir: &Path, tag: &str, pinned: bool) -> (Vec<u8>, serde_json::Value) {
    let out = dir.join(format!("{tag}.py"));
    let report = dir.join(format!("{tag}.json"));
    let binary = env!("CARGO_BIN_EXE_nn2py");
    let mut command = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", binary]);
        c
    } else {
        Command::new(binary)
    };
    let run = command
        .current_dir(root())
        .args(args)
        .args([
            "-o",
            out.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("timings_ms");
    (std::fs::read(&out).unwrap(), json)
}

fn taskset_available() -> bool {
    Command::new("taskset")
        .args(["-c", "0", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

// A check that cannot run says so on stderr rather than passing silently.
#[allow(clippy::print_stderr)]
fn check_deterministic(args: &[&str], label: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (first, first_report) = convert(args, dir.path(), "first", false);
    let (second, second_report) = convert(args, dir.path(), "second", false);
    assert!(first == second, "{label}: two runs differ");
    assert_eq!(first_report, second_report, "{label}: reports differ");
    if taskset_available() {
        let (pinned, pinned_report) = convert(args, dir.path(), "pinned", true);
        assert!(first == pinned, "{label}: one CPU gives other output");
        assert_eq!(first_report, pinned_report, "{label}");
    } else {
        eprintln!("{label}: taskset is not available; the one-CPU run is skipped");
    }
    first
}

#[test]
fn a_lifted_sequence_model_converts_byte_identically() {
    let module = check_deterministic(
        &[UNROLLED, "--domain", "0..100", "--readout", "round"],
        "lifted sequence",
    );
    let text = String::from_utf8(module).unwrap();
    assert!(text.contains("for x in seq:"), "{text}");
}

#[test]
fn a_sampled_pointwise_model_converts_byte_identically() {
    let module = check_deterministic(
        &[TWO_INPUTS, "--domain", "0..10,-5..=5", "--samples", "500"],
        "pointwise",
    );
    let text = String::from_utf8(module).unwrap();
    assert!(text.contains("500 of 500 sampled inputs agree"), "{text}");
}
