//! Pipeline benchmark: import, lower, print and verify every test fixture, with criterion, then a
//! summary table of medians and their ratio to a baseline measured in the same run: tract reading
//! the same model (`tract_onnx::onnx().model_for_read(..)`).
//!
//! Run with `cargo bench --bench pipeline`.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::Criterion;
use nn2py::back::python::{self, Header};
use nn2py::driver::{self, Emit, Options};
use nn2py::front::onnx::{self as onnx_front, ImportOptions};
use nn2py::lower::faithful;
use nn2py::verify::{self, domain, ExampleLayout, VerifyOptions};
use tract_onnx::prelude::*;

struct Fixture {
    name: String,
    bytes: Vec<u8>,
    options: Options,
}

fn fixtures() -> Vec<Fixture> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    for dir in ["tests/fixtures/pytorch", "tests/fixtures/onnx"] {
        let dir = root.join(dir);
        let text = std::fs::read_to_string(dir.join("cases.json")).expect("cases.json");
        let cases: BTreeMap<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
        for (name, case) in cases {
            let ranges = case["domain"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| domain::parse_range(d.as_str().unwrap()).unwrap())
                .collect();
            let options = Options {
                domain: Some(ranges),
                length: case["length"].as_u64().map(|l| l as usize),
                verify: VerifyOptions {
                    samples: 500,
                    ..VerifyOptions::default()
                },
                ..Options::default()
            };
            let bytes = std::fs::read(dir.join(format!("{name}.onnx"))).unwrap();
            all.push(Fixture {
                name,
                bytes,
                options,
            });
        }
    }
    all
}

/// Median wall time of `runs` calls, in microseconds.
fn median_us(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[runs / 2]
}

/// The baseline: tract decoding and analysing the same model (`model_for_read`, which infers
/// facts for every node). tract panics on some valid models (a GRU with a symbolic batch size
/// in its optimiser, for one), so a panic counts as a failed load.
fn tract_load(bytes: &[u8]) -> bool {
    std::panic::catch_unwind(|| tract_onnx::onnx().model_for_read(&mut &*bytes).is_ok())
        .unwrap_or(false)
}

fn main() {
    // tract's panics are caught and counted as failures; keep them out of the output.
    std::panic::set_hook(Box::new(|_| {}));
    let fixtures = fixtures();
    let mut criterion = Criterion::default().configure_from_args();
    for fx in &fixtures {
        let network_only = Options {
            emit: Emit::Network,
            ..fx.options.clone()
        };
        let compiled = driver::compile(&fx.bytes, &network_only).expect("fixture imports");
        let network = compiled.network;
        let program = faithful::lower(&network).expect("lowers");
        let layout = ExampleLayout::of(&network, None);
        let per_feature = domain::per_feature(
            fx.options.domain.as_ref().unwrap(),
            &layout.feature_counts(),
        )
        .unwrap();
        let examples =
            verify::draw_examples(&layout.example_ranges(&per_feature), &fx.options.verify);
        let reference = verify::reference_outputs(&network, &layout, &examples).unwrap();
        let header = Header {
            model_digest: driver::digest(&fx.bytes),
            nn2py_version: driver::VERSION.to_string(),
            verification: String::new(),
        };
        let import_options = ImportOptions {
            length: fx.options.length,
            ..ImportOptions::default()
        };
        let mut group = criterion.benchmark_group(&fx.name);
        group.sample_size(10);
        group.bench_function("tract_load_baseline", |b| {
            b.iter(|| tract_load(black_box(&fx.bytes)))
        });
        group.bench_function("import", |b| {
            b.iter(|| onnx_front::import(black_box(&fx.bytes), &import_options).unwrap())
        });
        group.bench_function("lower", |b| {
            b.iter(|| faithful::lower(black_box(&network)).unwrap())
        });
        group.bench_function("print_python", |b| {
            b.iter(|| python::write_module(black_box(&program), &header).unwrap())
        });
        group.bench_function("verify", |b| {
            b.iter(|| {
                verify::check_program(
                    black_box(&program),
                    &layout,
                    &examples,
                    &reference,
                    &fx.options.verify,
                )
            })
        });
        group.finish();
    }

    println!();
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>16} {:>10}",
        "fixture", "tract µs", "import µs", "compile µs", "(examples)", "ratio"
    );
    for fx in &fixtures {
        let import_options = ImportOptions {
            length: fx.options.length,
            ..ImportOptions::default()
        };
        let baseline = median_us(9, || {
            black_box(tract_load(&fx.bytes));
        });
        let import = median_us(9, || {
            black_box(onnx_front::import(&fx.bytes, &import_options).unwrap());
        });
        let whole = median_us(5, || {
            black_box(driver::compile(&fx.bytes, &fx.options).unwrap());
        });
        let checked = driver::compile(&fx.bytes, &fx.options)
            .unwrap()
            .report
            .verification
            .map(|a| a.checked)
            .unwrap_or(0);
        println!(
            "{:<28} {:>12.0} {:>12.0} {:>12.0} {:>16} {:>9.2}x",
            fx.name,
            baseline,
            import,
            whole,
            checked,
            import / baseline
        );
    }
    println!("ratio = nn2py import / tract model_for_read (lower is better); compile includes verification");
}
