//! End to end: every fixture model converts, the generated Python (run by a real `python3`)
//! agrees with onnxruntime, the file passes `ruff format --check` and `ruff check`, re-running
//! gives byte-identical output, and each stage's text form is snapshotted.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use nn2py::driver::{self, Compilation, Options};
use nn2py::front::onnx::{self as onnx_front, ImportOptions};
use nn2py::network::{text as network_text, Tensor};
use nn2py::program::text as program_text;
use nn2py::verify::{self, domain, ExampleLayout, VerifyOptions};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Case {
    kind: String,
    domain: Vec<String>,
    length: Option<usize>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every fixture: (name, model path, case).
fn fixtures() -> Vec<(String, PathBuf, Case)> {
    let mut all = Vec::new();
    for dir in ["tests/fixtures/pytorch", "tests/fixtures/onnx"] {
        let dir = root().join(dir);
        let text = std::fs::read_to_string(dir.join("cases.json")).expect("cases.json");
        let cases: BTreeMap<String, Case> = serde_json::from_str(&text).expect("valid cases.json");
        for (name, case) in cases {
            let path = dir.join(format!("{name}.onnx"));
            assert!(path.exists(), "{} is listed but missing", path.display());
            all.push((name, path, case));
        }
    }
    assert!(
        all.len() >= 10,
        "expected every fixture style, found {}",
        all.len()
    );
    all
}

fn options_for(case: &Case) -> Options {
    let ranges = case
        .domain
        .iter()
        .map(|d| domain::parse_range(d).expect("fixture domain"))
        .collect();
    Options {
        domain: Some(ranges),
        length: case.length,
        verify: VerifyOptions {
            samples: 300,
            ..VerifyOptions::default()
        },
        ..Options::default()
    }
}

fn compile(path: &Path, case: &Case) -> Compilation {
    let bytes = std::fs::read(path).unwrap();
    driver::compile(&bytes, &options_for(case))
        .unwrap_or_else(|e| panic!("{}: {}", path.display(), nn2py::diag::render(&e)))
}

/// Runs onnxruntime on a batch of examples; returns each example's flattened outputs.
fn onnxruntime_outputs(
    path: &Path,
    layout: &ExampleLayout,
    examples: &[Vec<f64>],
    input_names: &[String],
) -> Vec<Vec<f64>> {
    let n = examples.len();
    let inputs: Vec<(String, Tensor)> = match layout {
        ExampleLayout::Pointwise(specs) => {
            let mut offset = 0;
            specs
                .iter()
                .zip(input_names)
                .map(|((dtype, shape), name)| {
                    let per: usize = shape.iter().product();
                    let mut values = Vec::with_capacity(n * per);
                    for e in examples {
                        values.extend_from_slice(&e[offset..offset + per]);
                    }
                    offset += per;
                    let mut batch_shape = shape.clone();
                    batch_shape[0] = n;
                    (
                        name.clone(),
                        verify::make_tensor(*dtype, &batch_shape, &values),
                    )
                })
                .collect()
        }
        ExampleLayout::Sequence {
            length,
            input_dim,
            dtype,
        } => {
            let values: Vec<f64> = examples.iter().flatten().copied().collect();
            vec![(
                input_names[0].clone(),
                verify::make_tensor(*dtype, &[n, *length, *input_dim], &values),
            )]
        }
    };
    let outputs = common::oracle::run_onnxruntime(path, &inputs);
    let mut per_example = vec![Vec::new(); n];
    for output in outputs {
        let (values, _) = verify::flatten(&[output]);
        let per = values.len() / n;
        for (i, chunk) in values.chunks(per).enumerate() {
            per_example[i].extend_from_slice(chunk);
        }
    }
    per_example
}

fn ruff(args: &[&str], file: &Path) {
    let out = Command::new("ruff")
        .args(args)
        .arg(file)
        .output()
        .expect("ruff is installed (tests/requirements.txt)");
    assert!(
        out.status.success(),
        "ruff {args:?} failed on {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_fixture_converts_and_its_python_agrees_with_onnxruntime() {
    let scratch = tempfile::tempdir().unwrap();
    for (name, path, case) in fixtures() {
        let compilation = compile(&path, &case);
        let report = &compilation.report;
        assert_eq!(report.kind, case.kind, "{name}: kind");
        let verification = report.verification.as_ref().expect("verified");
        assert!(
            verification.is_exact(),
            "{name}: {}",
            verification.summary()
        );

        let python = compilation.python.as_ref().expect("python written");
        let file = scratch.path().join(format!("{name}.py"));
        std::fs::write(&file, python).unwrap();
        ruff(&["format", "--check", "--quiet"], &file);
        ruff(&["check", "--quiet"], &file);

        // The Python by python3 against onnxruntime, on a seeded sample of the domain.
        let layout = ExampleLayout::of(&compilation.network, None);
        let options = options_for(&case);
        let per_feature =
            domain::per_feature(options.domain.as_ref().unwrap(), &layout.feature_counts())
                .unwrap();
        let sample_options = VerifyOptions {
            samples: 200,
            seed: 2026,
            exhaustive_limit: 0,
            ..VerifyOptions::default()
        };
        let examples = verify::draw_examples(&layout.example_ranges(&per_feature), &sample_options);
        let imported = onnx_front::import(
            &std::fs::read(&path).unwrap(),
            &ImportOptions {
                length: case.length,
                ..ImportOptions::default()
            },
        )
        .unwrap();
        let names: Vec<String> = imported.inputs.iter().map(|i| i.name.clone()).collect();
        let expected = onnxruntime_outputs(&path, &layout, &examples.examples, &names);
        let actual =
            verify::python::run_module("python3", &file, &layout, &examples).expect("python3 runs");
        for ((example, want), got) in examples.examples.iter().zip(&expected).zip(&actual) {
            let got = got
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: predict raised on {example:?}"));
            assert_eq!(want.len(), got.len(), "{name}: output count");
            for (w, g) in want.iter().zip(got) {
                let integer_valued = w.fract() == 0.0;
                let ok = if integer_valued {
                    w == &g.round()
                } else {
                    (w - g).abs() <= 1e-4 * w.abs().max(1.0)
                };
                assert!(
                    ok,
                    "{name}: on {example:?}: onnxruntime {want:?}, python {got:?}"
                );
            }
        }
    }
}

#[test]
fn conversion_is_byte_identical_across_runs() {
    for (name, path, case) in fixtures() {
        let first = compile(&path, &case);
        let second = compile(&path, &case);
        assert_eq!(first.python, second.python, "{name}: python differs");
        assert_eq!(
            network_text::print(&first.network),
            network_text::print(&second.network),
            "{name}: network text differs"
        );
    }
}

#[test]
fn stage_snapshots() {
    for (name, path, case) in fixtures() {
        let compilation = compile(&path, &case);
        let program = compilation.program.as_ref().unwrap();
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("{name}.network"), network_text::print(&compilation.network));
            insta::assert_snapshot!(format!("{name}.program"), program_text::print(program));
            insta::assert_snapshot!(format!("{name}.python"), compilation.python.clone().unwrap());
        });
    }
}

#[test]
fn stage_text_forms_round_trip() {
    for (name, path, case) in fixtures() {
        let compilation = compile(&path, &case);
        let network_source = network_text::print(&compilation.network);
        let reparsed = network_text::parse(&network_source)
            .unwrap_or_else(|e| panic!("{name}: network text does not parse: {e}"));
        assert_eq!(reparsed, compilation.network, "{name}: network round trip");
        let program = compilation.program.unwrap();
        let program_source = program_text::print(&program);
        let reparsed = program_text::parse(&program_source)
            .unwrap_or_else(|e| panic!("{name}: program text does not parse: {e}"));
        assert_eq!(reparsed, program, "{name}: program round trip");
    }
}
