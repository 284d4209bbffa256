//! nn2py in build systems: the `--depfile` make and ninja read, and the example Makefile
//! (`examples/make/Makefile`) run by a real `make`.
// A check that cannot run (no make) says so on stderr rather than passing silently.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

const MODEL: &str = "tests/fixtures/pytorch/pt_sum_last2_unrolled.onnx";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn make_available() -> bool {
    Command::new("make")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Sets a file's modification time `seconds` from now.
fn touch(path: &Path, seconds: i64) {
    let now = SystemTime::now();
    let at = if seconds >= 0 {
        now + Duration::from_secs(seconds as u64)
    } else {
        now - Duration::from_secs(seconds.unsigned_abs())
    };
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_modified(at)
        .unwrap();
}

#[test]
fn depfile_names_the_model_with_make_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("my model $1 #2.onnx");
    std::fs::copy(root().join(MODEL), &model).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_nn2py"))
        .current_dir(dir.path())
        .args([
            "my model $1 #2.onnx",
            "-o",
            "out dir.py",
            "--depfile",
            "out.d",
        ])
        .args(["--domain", "0..100"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let depfile = std::fs::read_to_string(dir.path().join("out.d")).unwrap();
    assert_eq!(depfile, "out\\ dir.py: my\\ model\\ $$1\\ \\#2.onnx\n");

    // --depfile needs an output file, and refuses a path make cannot hold.
    let run = Command::new(env!("CARGO_BIN_EXE_nn2py"))
        .current_dir(dir.path())
        .args([
            "my model $1 #2.onnx",
            "--depfile",
            "out.d",
            "--domain",
            "0..100",
        ])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("--depfile needs the output file"),
        "{}",
        stderr(&run)
    );
    let run = Command::new(env!("CARGO_BIN_EXE_nn2py"))
        .current_dir(dir.path())
        .args([
            "my model $1 #2.onnx",
            "-o",
            "line\nbreak.py",
            "--depfile",
            "x.d",
        ])
        .args(["--domain", "0..100"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("line break"), "{}", stderr(&run));
    assert!(!dir.path().join("x.d").exists());

    if !make_available() {
        eprintln!("make is not installed: the depfile is not read back by make");
        return;
    }
    // make reads the escaped names back: the module is stale exactly when the model is newer.
    std::fs::write(
        dir.path().join("Makefile"),
        "include out.d\nout\\ dir.py:\n\ttrue\n",
    )
    .unwrap();
    let up_to_date = |dir: &Path| {
        Command::new("make")
            .current_dir(dir)
            .args(["-q", "out dir.py"])
            .status()
            .unwrap()
            .code()
    };
    touch(&model, -100);
    assert_eq!(up_to_date(dir.path()), Some(0), "older model: up to date");
    touch(&model, 100);
    assert_eq!(up_to_date(dir.path()), Some(1), "newer model: stale");
}

#[test]
fn example_makefile_builds_checks_and_rebuilds() {
    if !make_available() {
        eprintln!("make is not installed: examples/make/Makefile is not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.onnx");
    std::fs::copy(root().join(MODEL), &model).unwrap();
    let make = |target: &str| {
        Command::new("make")
            .current_dir(dir.path())
            .arg("-f")
            .arg(root().join("examples/make/Makefile"))
            .arg(format!("NN2PY={}", env!("CARGO_BIN_EXE_nn2py")))
            .arg("MODEL=model.onnx")
            .arg(target)
            .output()
            .unwrap()
    };
    let built = make("all");
    assert!(built.status.success(), "{}", stderr(&built));
    let out = dir.path().join("build/sum_last2.py");
    let module = std::fs::read_to_string(&out).unwrap();
    assert!(module.contains("def predict(seq):"), "{module}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("build/sum_last2.py.d")).unwrap(),
        "build/sum_last2.py: model.onnx\n"
    );
    let check = make("check");
    assert!(check.status.success(), "{}", stderr(&check));

    // A stale module fails the check and is left as it was.
    std::fs::write(&out, "stale\n").unwrap();
    touch(&out, 100);
    let check = make("check");
    assert!(!check.status.success());
    assert!(
        stderr(&check).contains("would change"),
        "{}",
        stderr(&check)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "stale\n");

    // A newer model rebuilds the module.
    touch(&model, 200);
    let rebuilt = make("all");
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), module);
}
