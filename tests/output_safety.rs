//! Text from a model never becomes code, and output files are whole or untouched: hostile names
//! and doc strings go all the way to a module that `python3` imports and runs, and a failing
//! conversion never creates, truncates or replaces the `-o` file (nor leaves a temporary file).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use prost::Message;
use tract_onnx::pb::{self, StringStringEntryProto};

const TWO_INPUTS: &str = "tests/fixtures/onnx/two_inputs_concat.onnx";

/// Names that are quotes, backslashes, line breaks, Unicode (with a bidi override), Python code,
/// keywords and builtins.
const HOSTILE: [&str; 8] = [
    "a\"\"\"; import os; os.system('echo pwned') #",
    "b'''\nimport sys; sys.exit(3)\n'''",
    "back\\slash\\",
    "lambda",
    "print",
    "ünïcödé\u{202e}txt",
    "",
    "__import__('os').system('echo pwned')",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn nn2py(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nn2py"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The two-input fixture (`y = |(concat(a, b) - w) * v / 2|`) with every name and doc string
/// replaced by hostile text: inputs, output, intermediate values, initialisers, nodes, and the
/// model's, graph's and nodes' doc strings, producer and metadata.
fn hostile_model() -> Vec<u8> {
    let bytes = std::fs::read(root().join(TWO_INPUTS)).unwrap();
    let mut model = pb::ModelProto::decode(&*bytes).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let mut names: Vec<String> = graph.input.iter().map(|v| v.name.clone()).collect();
    names.extend(graph.output.iter().map(|v| v.name.clone()));
    names.extend(graph.initializer.iter().map(|t| t.name.clone()));
    names.extend(graph.node.iter().flat_map(|n| n.output.clone()));
    names.dedup();
    let renames: std::collections::BTreeMap<String, String> = names
        .iter()
        .enumerate()
        .map(|(i, old)| (old.clone(), format!("{}{i}", HOSTILE[i % HOSTILE.len()])))
        .collect();
    let rename = |s: &mut String| {
        if let Some(new) = renames.get(s.as_str()) {
            *s = new.clone();
        }
    };
    graph.input.iter_mut().for_each(|v| rename(&mut v.name));
    graph.output.iter_mut().for_each(|v| rename(&mut v.name));
    graph
        .initializer
        .iter_mut()
        .for_each(|t| rename(&mut t.name));
    for (i, node) in graph.node.iter_mut().enumerate() {
        node.name = format!("{}\"\"\"{i}", HOSTILE[i % HOSTILE.len()]);
        node.doc_string = "\"\"\"\nimport os\n\"\"\"".to_string();
        node.input.iter_mut().for_each(rename);
        node.output.iter_mut().for_each(rename);
    }
    graph.doc_string = "'''\"\"\"\\\nos.system('echo pwned')".to_string();
    graph.name = HOSTILE[0].to_string();
    model.doc_string = "\"\"\" import os; os.system('echo pwned') \"\"\"".to_string();
    model.producer_name = HOSTILE[1].to_string();
    model.metadata_props.push(StringStringEntryProto {
        key: "\"\"\"evil".to_string(),
        value: "import os\n".to_string(),
    });
    model.encode_to_vec()
}

#[test]
fn hostile_names_and_doc_strings_give_a_module_python_imports_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("hostile.onnx");
    std::fs::write(&model, hostile_model()).unwrap();
    let out_py = dir.path().join("hostile_module.py");
    let report = dir.path().join("report.json");
    let run = nn2py(&[
        model.to_str().unwrap(),
        "-o",
        out_py.to_str().unwrap(),
        "--domain",
        "0..10,-5..=5",
        "--verify-python",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let program = std::fs::read_to_string(&out_py).unwrap();
    // The words survive only inside sanitised identifiers (`b_import_sys_exit_3_1`), never as code.
    let code = [
        "import ",
        "os.system(",
        "sys.exit(",
        "__import__(",
        "'echo",
        "\u{202e}",
    ];
    for needle in code {
        assert!(
            !program.contains(needle),
            "{needle:?} reached the module:\n{program}"
        );
    }
    assert!(program.is_ascii(), "{program}");
    assert!(program.contains("nn2py version: "), "{program}");
    assert!(program.contains("Model: sha256:"), "{program}");

    // The module imports and computes y = |(concat(a, b) - [1, 2, 3, 0, -1]) * [2, 2, 2, 4, 4] / 2|.
    let script = "import sys; sys.path.insert(0, sys.argv[1]); import hostile_module as m; \
                  print(repr(m.predict((5, 5), (1, 1, 1))))";
    let ran = Command::new("python3")
        .args(["-c", script])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}", stderr(&ran));
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout).trim(),
        "(4.0, 3.0, 2.0, 2.0, 4.0)"
    );

    // The report is valid JSON and carries the hostile producer as data, escaped.
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["producer"], HOSTILE[1]);
}

#[test]
fn a_failing_conversion_never_touches_the_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_py = dir.path().join("out.py");
    let depfile = dir.path().join("out.d");
    let report = dir.path().join("report.json");
    let previous = "# the previous, good output\n";
    std::fs::write(&out_py, previous).unwrap();
    let good = std::fs::read(root().join(TWO_INPUTS)).unwrap();
    let truncated = dir.path().join("truncated.onnx");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let model_path = root().join(TWO_INPUTS);
    let model_str = model_path.to_str().unwrap();

    let failures: Vec<Vec<&str>> = vec![
        // Unreadable model.
        vec![truncated.to_str().unwrap(), "--domain", "0..10"],
        // Over a limit found after import.
        vec![model_str, "--domain", "0..10", "--max-graph-depth", "1"],
        // A domain the model cannot take.
        vec![model_str, "--domain", "0..1,0..2,0..3"],
        // No domain at all.
        vec![model_str],
    ];
    for args in failures {
        let mut args = args.clone();
        args.extend([
            "-o",
            out_py.to_str().unwrap(),
            "--depfile",
            depfile.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ]);
        let run = nn2py(&args);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", stderr(&run));
        assert!(!stderr(&run).contains("panicked"), "{}", stderr(&run));
        assert_eq!(
            std::fs::read_to_string(&out_py).unwrap(),
            previous,
            "{args:?}"
        );
        assert_eq!(
            listing(dir.path()),
            ["out.py", "truncated.onnx"],
            "{args:?}: no depfile, report or temporary file"
        );
    }

    // A successful run replaces the file whole.
    let run = nn2py(&[
        model_str,
        "--domain",
        "0..10,-5..=5",
        "-o",
        out_py.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(std::fs::read_to_string(&out_py)
        .unwrap()
        .contains("def predict(a, b):"));
    assert_eq!(listing(dir.path()), ["out.py", "truncated.onnx"]);
}
