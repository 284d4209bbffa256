//! The committed zoo and its harness: every network in `models/zoo` is what its record says
//! (its task, cell, width and head; exact against the task's labels, read by nn2py's own
//! interpreter of the ONNX), and `nn2py bench zoo` runs end to end on a subset.

use std::path::Path;
use std::process::Command;

use nn2py::front::onnx::{import, ImportOptions};
use nn2py::network::Network;
use nn2py::tasks;
use nn2py::train::zoo::{entries, ZooRecord};
use nn2py::verify::{self, ExampleLayout, Examples};

const ZOO: &str = "models/zoo";

fn records() -> Vec<ZooRecord> {
    nn2py::bench::zoo::records(Path::new(ZOO), &[]).expect("the zoo's records")
}

#[test]
fn the_zoo_holds_every_entry_exact_with_all_three_cells() {
    let records = records();
    assert!(records.len() >= 24, "{} networks", records.len());
    for entry in entries() {
        let record = records
            .iter()
            .find(|r| r.name == entry.name())
            .unwrap_or_else(|| panic!("{} is not in {ZOO}", entry.name()));
        assert_eq!(
            (record.cell, record.width, record.head, record.seed),
            (entry.cell, entry.width, entry.head, entry.seed),
            "{}",
            record.name
        );
        assert!(
            record.check.is_exact(),
            "{}: {:?}",
            record.name,
            record.check
        );
        assert!(record.check.sequences >= 10_000);
    }
}

/// Each network, read by nn2py's interpreter of the ONNX file (not the trainer's forward pass),
/// gives the task's labels on fresh sequences.
#[test]
fn every_committed_network_is_exact_on_fresh_sequences() {
    for record in records() {
        let task = tasks::any_by_name(&record.task).expect("a task");
        let bytes =
            std::fs::read(Path::new(ZOO).join(format!("{}.onnx", record.name))).expect("the model");
        // The whole graph as imported (not the converter's rolled cell), run by nn2py's
        // interpreter: what the file computes.
        let options = ImportOptions {
            length: Some(record.length),
            ..ImportOptions::default()
        };
        let imported = import(&bytes, &options).unwrap_or_else(|e| panic!("{}: {e}", record.name));
        let network = Network::Pointwise(imported.graph);
        let data = task.generate(500, record.length, 77).expect("data");
        let examples = Examples {
            examples: data
                .inputs
                .chunks(record.length * task.input_dim)
                .map(|seq| seq.iter().map(|&v| v as f64).collect())
                .collect(),
            exhaustive: false,
        };
        let layout = ExampleLayout::of(&network, None);
        let outputs = verify::reference_outputs(&network, &layout, &examples)
            .expect("runs")
            .outputs;
        assert_eq!(outputs.len(), data.count, "{}", record.name);
        for (i, (got, want)) in outputs
            .iter()
            .zip(data.outputs.chunks(record.length * task.output_dim))
            .enumerate()
        {
            let rounded: Vec<i64> = got.iter().map(|v| v.round() as i64).collect();
            assert_eq!(rounded, want, "{} sequence {i}", record.name);
        }
    }
}

#[test]
fn bench_zoo_scores_a_subset_and_writes_its_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("zoo.json");
    let output = Command::new(env!("CARGO_BIN_EXE_nn2py"))
        .args([
            "bench",
            "zoo",
            "--models",
            ZOO,
            "--networks",
            "Tomita_1-gru16,Count_Ones_Mod_3",
            "--jobs",
            "2",
            "--json",
        ])
        .arg(&json)
        .output()
        .expect("nn2py runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Tomita_1") && stdout.contains("2 networks"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the report")).expect("json");
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    let mut keys: Vec<&str> = rows[0]
        .as_object()
        .expect("a row")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = [
        "task",
        "cell",
        "width",
        "head",
        "lifted",
        "coding",
        "python_lines",
        "convert_s",
        "network_agreement",
        "label_agreement",
        "network_agreement_2x",
        "label_agreement_2x",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    for row in rows {
        // Verified programs of exact networks give the labels at the trained length.
        assert_eq!(row["network_agreement"], 1.0, "{row}");
        assert_eq!(row["label_agreement"], 1.0, "{row}");
        let long = row["label_agreement_2x"].as_f64().expect("a rate");
        assert!((0.0..=1.0).contains(&long));
    }
    assert_eq!(report["totals"]["networks"], 2);
    assert!(report["errors"].as_array().expect("errors").is_empty());
}

#[test]
fn bench_zoo_refuses_unknown_networks_and_directories() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_nn2py"))
            .args(args)
            .output()
            .expect("nn2py runs")
    };
    let unknown = run(&["bench", "zoo", "--models", ZOO, "--networks", "Nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no network \"Nope\""));
    let missing = run(&["bench", "zoo", "--models", "no/such/dir"]);
    assert_eq!(missing.status.code(), Some(2));
    let bad = tempfile::tempdir().expect("temp dir");
    std::fs::write(bad.path().join("x.json"), "{\"not\": \"a record\"}").expect("writes");
    let unreadable = run(&[
        "bench",
        "zoo",
        "--models",
        &bad.path().display().to_string(),
    ]);
    assert_eq!(unreadable.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unreadable.stderr).contains("not a zoo record"));
}
