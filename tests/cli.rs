//! The command line as a process: exit codes, output files, `--check`, `--emit`, `--report`, and
//! bad input (never a panic, never a partial output file).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use prost::Message;
use tract_onnx::pb;

const UNROLLED: &str = "tests/fixtures/pytorch/pt_sum_last2_unrolled.onnx";
const GRU: &str = "tests/fixtures/pytorch/pt_parity_gru.onnx";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn nn2py(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nn2py"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Files in `dir` (to check that nothing, not even a temporary file, was left behind).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn converts_to_a_file_and_check_detects_changes() {
    let dir = tempfile::tempdir().unwrap();
    let out_py = dir.path().join("out.py");
    let out_str = out_py.to_str().unwrap();
    let report = dir.path().join("report.json");
    let run = nn2py(&[
        UNROLLED,
        "-o",
        out_str,
        "--domain",
        "0..100",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let program = std::fs::read_to_string(&out_py).unwrap();
    assert!(program.starts_with("\"\"\""), "docstring first");
    assert!(program.contains("def predict(seq):"), "{program}");
    assert!(program.contains("sha256:"), "header names the model digest");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["kind"], "sequence");
    let verification = &report["verification"];
    assert!(verification["checked"].as_u64().unwrap() > 0);
    assert_eq!(verification["agreeing"], verification["checked"]);

    let check = nn2py(&[UNROLLED, "-o", out_str, "--domain", "0..100", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    std::fs::write(&out_py, format!("{program}# edited\n")).unwrap();
    let check = nn2py(&[UNROLLED, "-o", out_str, "--domain", "0..100", "--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stderr(&check).contains("would change"));
    assert!(
        std::fs::read_to_string(&out_py)
            .unwrap()
            .ends_with("# edited\n"),
        "--check never writes"
    );
    assert_eq!(listing(dir.path()), vec!["out.py", "report.json"]);
}

#[test]
fn writes_to_stdout_and_emits_each_stage() {
    let python = nn2py(&[GRU, "-o", "-", "--domain", "0..2", "--verify-python"]);
    assert_eq!(python.status.code(), Some(0), "{}", stderr(&python));
    assert!(stdout(&python).contains("def predict(seq):"));

    let network = nn2py(&[GRU, "--emit", "network"]);
    assert_eq!(network.status.code(), Some(0), "{}", stderr(&network));
    let text = stdout(&network);
    assert!(text.contains("Sigmoid") && text.contains("Tanh"), "{text}");

    let program = nn2py(&[GRU, "--emit", "program", "--domain", "0..2"]);
    assert_eq!(program.status.code(), Some(0), "{}", stderr(&program));
    assert!(!stdout(&program).is_empty());
}

#[test]
fn negative_domain_bounds_are_plain_arguments() {
    let run = nn2py(&[UNROLLED, "--domain", "-10..=10"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
}

#[test]
fn bad_input_exits_2_with_a_message_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out_py = dir.path().join("out.py");
    let out_str = out_py.to_str().unwrap();
    let good = std::fs::read(root().join(UNROLLED)).unwrap();

    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("random", random),
    ];
    for (label, bytes) in cases {
        let model = dir.path().join(format!("{label}.onnx"));
        std::fs::write(&model, bytes).unwrap();
        let run = nn2py(&[model.to_str().unwrap(), "-o", out_str, "--domain", "0..100"]);
        assert_eq!(run.status.code(), Some(2), "{label}: {}", stderr(&run));
        assert!(stderr(&run).contains("error"), "{label}: {}", stderr(&run));
        assert!(!stderr(&run).contains("panicked"), "{label}");
        assert!(!out_py.exists(), "{label}: no output file");
        std::fs::remove_file(&model).unwrap();
    }

    let missing = nn2py(&["no/such/model.onnx", "-o", out_str]);
    assert_eq!(missing.status.code(), Some(2));
    let bad_domain = nn2py(&[UNROLLED, "-o", out_str, "--domain", "5..1"]);
    assert_eq!(bad_domain.status.code(), Some(2));
    assert!(stderr(&bad_domain).contains("invalid domain"));
    let no_domain = nn2py(&[UNROLLED, "-o", out_str]);
    assert_eq!(no_domain.status.code(), Some(2));
    assert!(
        stderr(&no_domain).contains("--domain"),
        "{}",
        stderr(&no_domain)
    );
    let too_many = nn2py(&[UNROLLED, "-o", out_str, "--domain", "0..1,0..2,0..3"]);
    assert_eq!(too_many.status.code(), Some(2));
    let usage = nn2py(&["--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2));
    let too_big = nn2py(&[UNROLLED, "-o", out_str, "--max-model-bytes", "100"]);
    assert_eq!(too_big.status.code(), Some(2));
    assert!(stderr(&too_big).contains("--max-model-bytes"));
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

#[test]
fn unsupported_op_is_named_with_its_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut model =
        pb::ModelProto::decode(&*std::fs::read(root().join(UNROLLED)).unwrap()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let node = graph.node.iter_mut().find(|n| n.op_type == "Gemm").unwrap();
    node.op_type = "FancyAttention".to_string();
    node.name = "layer\"7\"".to_string();
    let path = dir.path().join("unsupported.onnx");
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    let run = nn2py(&[path.to_str().unwrap(), "--domain", "0..100"]);
    assert_eq!(run.status.code(), Some(2));
    let err = stderr(&run);
    assert!(err.contains("FancyAttention"), "{err}");
    assert!(err.contains(r#"layer\"7\""#), "node named, escaped: {err}");
}

#[test]
fn hostile_names_never_reach_the_python_unescaped() {
    let hostile = [
        "x\"\"\"; import os; os.system('echo pwned') #",
        "line\nbreak",
        "back\\slash",
        "class",
        "print",
        "ünïcödé",
        "",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut model =
        pb::ModelProto::decode(&*std::fs::read(root().join(UNROLLED)).unwrap()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let mut renames = std::collections::BTreeMap::new();
    for (i, init) in graph.initializer.iter().enumerate() {
        renames.insert(
            init.name.clone(),
            format!("{}{i}", hostile[i % hostile.len()]),
        );
    }
    for (i, node) in graph.node.iter().enumerate() {
        for out in &node.output {
            if out != "y" {
                renames.insert(out.clone(), format!("{}#{i}", hostile[i % hostile.len()]));
            }
        }
    }
    let rename = |s: &mut String| {
        if let Some(new) = renames.get(s.as_str()) {
            *s = new.clone();
        }
    };
    for init in &mut graph.initializer {
        rename(&mut init.name);
    }
    for (i, node) in graph.node.iter_mut().enumerate() {
        node.name = format!("{}~{i}", hostile[i % hostile.len()]);
        node.input.iter_mut().for_each(rename);
        node.output.iter_mut().for_each(rename);
    }
    model.doc_string = "\"\"\" import os".to_string();
    let path = dir.path().join("hostile.onnx");
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    let out_py = dir.path().join("out.py");
    let run = nn2py(&[
        path.to_str().unwrap(),
        "-o",
        out_py.to_str().unwrap(),
        "--domain",
        "0..100",
        "--verify-python",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let program = std::fs::read_to_string(&out_py).unwrap();
    assert!(!program.contains("import os"), "{program}");
    assert!(!program.contains("pwned"), "{program}");
    assert!(program.is_ascii(), "identifiers are sanitised to ASCII");
    let compiled = Command::new("python3")
        .args(["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())"])
        .arg(&out_py)
        .output()
        .unwrap();
    assert!(compiled.status.success(), "{}", stderr(&compiled));
}

#[test]
fn flags_before_the_model_still_convert() {
    let run = nn2py(&["--domain", "0..100", "--emit", "program", UNROLLED]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(!stdout(&run).is_empty());
    let none = nn2py(&[]);
    assert_eq!(none.status.code(), Some(2), "no model and no subcommand");
}

#[test]
fn tasks_lists_every_task_as_a_table_or_json() {
    let run = nn2py(&["tasks"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let text = stdout(&run);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2 + 62, "header, rule, one line per task");
    assert!(lines[0].starts_with("name") && lines[0].contains("domain"));
    let xor = lines
        .iter()
        .find(|l| l.starts_with("Bitwise_Xor "))
        .unwrap();
    let cells: Vec<&str> = xor.split_whitespace().collect();
    assert_eq!(cells, ["Bitwise_Xor", "2", "1", "10", "0..=1,0..=1"]);

    let run = nn2py(&["tasks", "--json"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let json: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(json["schema_version"], 1);
    let list = json["tasks"].as_array().unwrap();
    assert_eq!(list.len(), 62);
    let xor = list.iter().find(|t| t["name"] == "Bitwise_Xor").unwrap();
    assert_eq!(xor["input_dim"], 2);
    assert_eq!(xor["domain"], serde_json::json!([[0, 1], [0, 1]]));
}

#[test]
fn train_writes_a_model_that_converts_and_benches_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("Bitwise_Not.onnx");
    let run = nn2py(&[
        "train",
        "bitwise_not",
        "-o",
        model.to_str().unwrap(),
        "--seed",
        "5",
        "--step-budget",
        "60000",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let summary = stdout(&run);
    for key in ["architecture", "parameters", "steps", "held-out", "time"] {
        assert!(summary.contains(key), "{key}: {summary}");
    }
    assert!(
        summary.contains("10000 of 10000 fresh sequences exact"),
        "{summary}"
    );
    assert_eq!(
        listing(dir.path()),
        ["Bitwise_Not.json", "Bitwise_Not.onnx"]
    );
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("Bitwise_Not.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["task"], "Bitwise_Not");
    assert_eq!(record["seed"], 5);

    // The converter needs no flags for an nn2py-trained model.
    let out_py = dir.path().join("out.py");
    let run = nn2py(&[
        model.to_str().unwrap(),
        "-o",
        out_py.to_str().unwrap(),
        "--verify-python",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(std::fs::read_to_string(&out_py)
        .unwrap()
        .contains("def predict(seq):"));

    let report = dir.path().join("bench.json");
    let run = nn2py(&[
        "bench",
        "mips62",
        "--tasks",
        "Bitwise_Not",
        "--models",
        dir.path().to_str().unwrap(),
        "--jobs",
        "1",
        "--json",
        report.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("solved 1 of 1 tasks"),
        "{}",
        stdout(&run)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    let row = &json["rows"][0];
    assert_eq!(row["model"]["cached"], true);
    assert_eq!(row["model"]["seed"], 5);
    assert_eq!(row["solved"], true);
    assert_eq!(row["held_out"]["sequences"], 10_000);
}

#[test]
fn train_refuses_unknown_tasks_and_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let run = nn2py(&["train", "Sum_Al"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("Sum_All"), "{}", stderr(&run));
    let run = nn2py(&["bench", "mips62", "--tasks", "Sum_All,Parity_Al"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("Parity_All"), "{}", stderr(&run));
    let run = nn2py(&["bench", "mips62", "--jobs", "0"]);
    assert_eq!(run.status.code(), Some(2));
    let json = dir.path().join("model.json");
    // Refused before training, not after it.
    let missing = dir.path().join("no_such_folder").join("model.onnx");
    for args in [
        vec!["train", "Sum_All", "--hidden", "0,2"],
        vec!["train", "Sum_All", "--widths", "4,0"],
        vec!["train", "Sum_All", "--hidden", "5000000000"],
        vec!["train", "Sum_All", "--widths", "4097"],
        vec!["train", "Sum_All", "--seeds", "0"],
        vec!["train", "Sum_All", "--attempt-steps", "0"],
        vec!["train", "Sum_All", "--step-budget", "-1"],
        vec!["train", "Sum_All", "--polish-margin", "0.6"],
        vec!["train", "Sum_All", "--polish-margin", "0"],
        vec!["train", "Sum_All", "--polish-margin", "NaN"],
        vec!["train", "Sum_All", "--polish-rounds", "0"],
        vec!["train", "Sum_All", "--polish-length", "9"],
        vec!["train", "Sum_All", "--polish-length", "201"],
        vec!["train", "Sum_All", "--polish-pool", "999"],
        vec!["train", "Sum_All", "--polish-pool", "1000001"],
        vec!["train", "Sum_All", "--polish-pool", "5000", "--no-polish"],
        vec!["train", "Sum_All", "--polish-redraw", "--no-polish"],
        vec!["train", "Sum_All", "--polish-lr", "0"],
        vec!["train", "Sum_All", "--polish-lr", "0.2"],
        vec!["train", "Sum_All", "--polish-lr", "NaN"],
        vec!["train", "Sum_All", "--polish-lr", "0.001", "--no-polish"],
        vec!["train", "Sum_All", "--polish-margin", "0.2", "--no-polish"],
        vec!["train", "Sum_All", "-o", json.to_str().unwrap()],
        vec!["train", "Sum_All", "-o", missing.to_str().unwrap()],
    ] {
        let run = nn2py(&args);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", stderr(&run));
        assert!(stderr(&run).starts_with("error:"), "{args:?}");
    }
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn an_inexact_network_is_written_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("prev3.onnx");
    // One hidden unit cannot hold the last three values; the budget stops both phases of the
    // search after their first candidate (the outcome is deterministic: seeded, step-budgeted).
    let args = [
        "train",
        "Prev3",
        "-o",
        model.to_str().unwrap(),
        "--hidden",
        "1",
        "--widths",
        "4",
        "--seeds",
        "1",
        "--attempt-steps",
        "300",
        "--patience",
        "200",
        "--step-budget",
        "1",
        "--no-simplify",
    ];
    let run = nn2py(&args);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stderr(&run).contains("not exact"), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("architecture"),
        "the summary is printed"
    );
    assert!(listing(dir.path()).is_empty(), "nothing written");

    let mut keep = args.to_vec();
    keep.push("--keep-inexact");
    let run = nn2py(&keep);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert_eq!(listing(dir.path()), ["prev3.json", "prev3.onnx"]);
    // The search flags reach the search, as the record's options show.
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("prev3.json")).unwrap()).unwrap();
    let search = &record["options"]["search"];
    assert_eq!(search["hidden_sizes"], serde_json::json!([1]));
    assert_eq!(search["widths"], serde_json::json!([4]));
    assert_eq!(search["seeds"], 1);
    assert_eq!(search["fit"]["steps"], 300);
    assert_eq!(search["fit"]["patience"], 200);
    // One run of at most 300 steps in each phase of the search (ladder, escalation).
    let search_steps = record["steps"].as_u64().unwrap() - record["polish_steps"].as_u64().unwrap();
    assert!(search_steps <= 2 * 300, "{record}");

    // Training continues from the written network: no search, only polishing (one round here),
    // and the record says where it started.
    let more = dir.path().join("prev3_more.onnx");
    let run = nn2py(&[
        "train",
        "prev3",
        "--from",
        model.to_str().unwrap(),
        "--polish-rounds",
        "1",
        "--polish-pool",
        "5000",
        "--polish-redraw",
        "--polish-lr",
        "0.0005",
        "--no-simplify",
        "--keep-inexact",
        "-o",
        more.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let continued: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("prev3_more.json")).unwrap())
            .unwrap();
    assert_eq!(continued["continued_from"], model.to_str().unwrap());
    assert_eq!(continued["architecture_text"], record["architecture_text"]);
    assert_eq!(continued["steps"], continued["polish_steps"], "{continued}");
    assert_eq!(continued["options"]["polish_pool_sequences"], 5000);
    assert_eq!(continued["options"]["polish"]["redraw_pool"], true);
    assert_eq!(continued["options"]["polish"]["lr"], 0.0005f32 as f64);
    // Records of runs without it read as before.
    assert!(
        record["options"]["polish"].get("redraw_pool").is_none(),
        "{record}"
    );
    let polished = continued["steps"].as_u64().unwrap();
    assert!((1..=2_500).contains(&polished), "{continued}");
    assert!(record.get("continued_from").is_none(), "{record}");

    // Refused before any training: a network for other inputs (another domain, another input
    // size), a file that is not nn2py's, search flags (there is no search).
    let not_onnx = dir.path().join("prev3.json");
    for args in [
        vec!["train", "Abs_Current", "--from", model.to_str().unwrap()],
        vec![
            "train",
            "Base_4_Addition",
            "--from",
            model.to_str().unwrap(),
        ],
        vec!["train", "Prev3", "--from", not_onnx.to_str().unwrap()],
        vec![
            "train",
            "Prev3",
            "--from",
            "tests/fixtures/pytorch/pt_sum_last2_unrolled.onnx",
        ],
        vec![
            "train",
            "Prev3",
            "--from",
            model.to_str().unwrap(),
            "--hidden",
            "2",
        ],
        vec!["train", "Prev3", "--from", "no_such_model.onnx"],
    ] {
        let run = nn2py(&args);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", stderr(&run));
        assert!(stderr(&run).starts_with("error:"), "{args:?}");
    }
    assert_eq!(
        listing(dir.path()),
        [
            "prev3.json",
            "prev3.onnx",
            "prev3_more.json",
            "prev3_more.onnx"
        ]
    );
}

/// The README's first command: the bundled PyTorch export, read by rounding, comes out as the
/// algorithm; `--faithful` writes the arithmetic instead.
#[test]
fn readme_example_lifts_to_the_algorithm() {
    let model = "tests/fixtures/pytorch/pt_sum_last2_unrolled.onnx";
    let out = nn2py(&[model, "--domain", "0..100", "--readout", "round"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let python = stdout(&out);
    assert!(
        python.contains("        y = prev + x\n        prev = x\n"),
        "{python}"
    );

    let out = nn2py(&[
        model,
        "--domain",
        "0..100",
        "--readout",
        "round",
        "--faithful",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let python = stdout(&out);
    assert!(!python.contains("prev"), "{python}");
    assert!(python.contains("round("), "{python}");
}

/// A model whose time axis is symbolic and whose metadata gives no length: every command that
/// reads a model takes `--length`, as the import error tells the user to pass.
#[test]
fn every_model_command_binds_a_symbolic_length() {
    let bytes = std::fs::read(root().join("models/mips62/Sum_All.onnx")).unwrap();
    let mut proto = pb::ModelProto::decode(&bytes[..]).unwrap();
    proto.metadata_props.retain(|p| p.key != "nn2py.length");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("no_length.onnx");
    std::fs::write(&model, proto.encode_to_vec()).unwrap();
    let model = model.to_str().unwrap();
    for command in [
        vec![model],
        vec!["analyze", "complexity", model],
        vec!["analyze", "features", model],
    ] {
        let out = nn2py(&command);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("`--length`"),
            "{command:?}: {}",
            stderr(&out)
        );
        let bound = [command.as_slice(), &["--length", "4"]].concat();
        let out = nn2py(&bound);
        assert_eq!(out.status.code(), Some(0), "{bound:?}: {}", stderr(&out));
    }
}
