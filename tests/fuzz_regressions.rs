//! Replays every input the fuzzers kept (`tests/fixtures/fuzz/<target>/`: each one crashed, hung
//! or ran out of memory before its fix) through the same entry point as the fuzz target
//! (`fuzz/entry.rs`), together with the hand-written fixtures the fuzzers were seeded from. Each
//! must come back as a success or a clean error: no panic.

#[allow(dead_code)]
#[path = "../fuzz/entry.rs"]
mod entry;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file of `dir` (sorted; none when it does not exist), with a `.nnp`/`.nnn`/`.onnx`
/// extension when `extensions` is given.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| {
            extensions.is_empty()
                || p.extension()
                    .is_some_and(|e| extensions.iter().any(|x| e == *x))
        })
        .collect();
    paths.sort();
    paths
}

/// Runs `entry` on every input and fails naming each one that panicked.
fn replay(inputs: &[PathBuf], entry: fn(&[u8])) -> usize {
    let mut panicked = Vec::new();
    for path in inputs {
        let bytes = std::fs::read(path).unwrap();
        if catch_unwind(AssertUnwindSafe(|| entry(&bytes))).is_err() {
            panicked.push(path.display().to_string());
        }
    }
    assert!(panicked.is_empty(), "panicked on: {panicked:#?}");
    inputs.len()
}

fn kept(target: &str) -> Vec<PathBuf> {
    files(&root().join("tests/fixtures/fuzz").join(target), &[])
}

#[test]
fn onnx_import_inputs_give_clean_errors() {
    let mut inputs = kept("onnx_import");
    inputs.extend(files(&root().join("tests/fixtures/onnx"), &["onnx"]));
    inputs.extend(files(&root().join("tests/fixtures/network"), &["nnn"]));
    assert!(replay(&inputs, entry::onnx_import) > 20);
}

#[test]
fn network_text_inputs_give_clean_errors() {
    let mut inputs = kept("network_text");
    inputs.extend(files(&root().join("tests/fixtures/network"), &["nnn"]));
    assert!(replay(&inputs, entry::network_text) >= 5);
}

#[test]
fn program_text_inputs_give_clean_errors() {
    let mut inputs = kept("program_text");
    inputs.extend(files(&root().join("tests/fixtures/program"), &["nnp"]));
    assert!(replay(&inputs, entry::program_text) >= 3);
}

#[test]
fn program_interp_inputs_give_clean_errors() {
    let mut inputs = kept("program_interp");
    inputs.extend(files(&root().join("tests/fixtures/program"), &["nnp"]));
    assert!(replay(&inputs, entry::program_interp) >= 3);
}
