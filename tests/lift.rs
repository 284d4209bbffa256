//! Lifting on real networks: every committed MIPS model converts to a program that agrees with
//! the network (checked by nn2py's interpreter and by `python3`), its Python is pinned by a
//! snapshot, most of them are lifted to the algorithm rather than written out as arithmetic, and
//! networks that differ only by a hidden symmetry give the same program.

use std::path::{Path, PathBuf};

use nn2py::driver::{self, Options, Readout};
use nn2py::export::{export_onnx, Affine, AnchorRnn, ExportMeta};
use nn2py::verify::domain::parse_ranges;

fn model_paths() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mips62");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("models/mips62 is committed")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    paths.sort();
    paths
}

/// What one committed model gave.
struct Converted {
    task: String,
    python: String,
    lifted: bool,
    problem: Option<String>,
}

fn convert(path: &Path) -> Converted {
    let task = path.file_stem().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(path).unwrap();
    let options = Options {
        python: Some("python3".to_string()),
        ..Options::default()
    };
    match driver::compile(&bytes, &options) {
        Err(e) => Converted {
            task,
            python: String::new(),
            lifted: false,
            problem: Some(format!("conversion failed: {e}")),
        },
        Ok(compilation) => {
            let report = &compilation.report;
            let python_exact = report
                .python_verification
                .as_ref()
                .is_some_and(|a| a.is_exact());
            let problem = (!report.verified() || !python_exact).then(|| {
                format!(
                    "not verified: program {:?}, python {:?}",
                    report.verification.as_ref().map(|a| a.summary()),
                    report.python_verification.as_ref().map(|a| a.summary())
                )
            });
            Converted {
                task,
                python: compilation.python.unwrap_or_default(),
                lifted: report.lift.as_ref().is_some_and(|l| l.lifted),
                problem,
            }
        }
    }
}

#[test]
fn committed_models_convert_verified_and_mostly_lift() {
    let paths = model_paths();
    assert!(paths.len() >= 50, "expected the committed MIPS models");
    // Two workers: conversions are independent and each is single-threaded.
    let (even, odd): (Vec<_>, Vec<_>) = paths.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let mut results: Vec<Converted> = std::thread::scope(|scope| {
        let handles: Vec<_> = [even, odd]
            .into_iter()
            .map(|half| {
                scope.spawn(move || {
                    half.into_iter()
                        .map(|(_, p)| convert(p))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    results.sort_by(|a, b| a.task.cmp(&b.task));

    let problems: Vec<String> = results
        .iter()
        .filter_map(|r| r.problem.as_ref().map(|p| format!("{}: {p}", r.task)))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for result in &results {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("mips62_{}.python", result.task), result.python);
        });
    }
    let lifted: Vec<&str> = results
        .iter()
        .filter(|r| r.lifted)
        .map(|r| r.task.as_str())
        .collect();
    // A floor, not a target: lifting fewer than this many committed networks is a regression.
    assert!(
        lifted.len() >= 50,
        "only {} of {} networks lifted: {lifted:?}",
        lifted.len(),
        results.len()
    );
}

/// `Sum_Last2` written by hand: `h0' = x`, `h1' = h0`, `y = h0 + h1`, with optional ReLU units
/// in `g` (both paths positive on the domain, so they change nothing).
fn sum_last2(hidden_map: &[[f32; 2]], relu_g: bool) -> AnchorRnn {
    // `hidden_map` is an invertible 2x2 matrix M: the new state is M h. Then
    // W' = M W M^-1, U' = M U, C' = C M^-1.
    let m = hidden_map;
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    let inv = [
        [m[1][1] / det, -m[0][1] / det],
        [-m[1][0] / det, m[0][0] / det],
    ];
    let w = [[0.0f32, 0.0], [1.0, 0.0]];
    let u = [1.0f32, 0.0];
    let c = [1.0f32, 1.0];
    let mul = |a: [[f32; 2]; 2], b: [[f32; 2]; 2]| {
        let mut r = [[0.0f32; 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                r[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j];
            }
        }
        r
    };
    let w2 = mul(mul([m[0], m[1]], w), inv);
    let u2 = [
        m[0][0] * u[0] + m[0][1] * u[1],
        m[1][0] * u[0] + m[1][1] * u[1],
    ];
    let c2 = [
        c[0] * inv[0][0] + c[1] * inv[1][0],
        c[0] * inv[0][1] + c[1] * inv[1][1],
    ];
    let f = Affine {
        weight: vec![w2[0][0], w2[0][1], u2[0], w2[1][0], w2[1][1], u2[1]],
        out: 2,
        inp: 3,
        bias: vec![0.0, 0.0],
    };
    let g = if relu_g {
        // Two ReLU units computing 0.5 * y each, listed in either order by the caller's map.
        vec![
            Affine {
                weight: vec![0.5 * c2[0], 0.5 * c2[1], 0.5 * c2[0], 0.5 * c2[1]],
                out: 2,
                inp: 2,
                bias: vec![0.0, 0.0],
            },
            Affine {
                weight: vec![1.0, 1.0],
                out: 1,
                inp: 2,
                bias: vec![0.0],
            },
        ]
    } else {
        vec![Affine {
            weight: vec![c2[0], c2[1]],
            out: 1,
            inp: 2,
            bias: vec![0.0],
        }]
    };
    AnchorRnn::new(1, 2, 1, vec![f], g).unwrap()
}

/// The `predict` function of the program nn2py writes for `model` (the header names the model's
/// digest, which differs between variants by construction).
fn predict_source(model: &AnchorRnn) -> String {
    let meta = ExportMeta {
        domain: "0..100".to_string(),
        length: 10,
        task: None,
        producer_version: "test".to_string(),
    };
    let bytes = export_onnx(model, &meta).unwrap();
    let options = Options {
        readout: Some(Readout::Round),
        domain: Some(parse_ranges("0..100").unwrap()),
        ..Options::default()
    };
    let compilation = driver::compile(&bytes, &options).unwrap();
    assert!(compilation.report.verified());
    assert!(compilation.report.lift.as_ref().unwrap().lifted);
    let python = compilation.python.unwrap();
    python[python.find("def predict").unwrap()..].to_string()
}

#[test]
fn hidden_symmetries_give_the_same_program() {
    let clean = predict_source(&sum_last2(&[[1.0, 0.0], [0.0, 1.0]], false));
    assert!(clean.contains("y = prev + x"), "{clean}");
    let variants = [
        ("permuted", [[0.0, 1.0], [1.0, 0.0]], false),
        ("rescaled", [[2.5, 0.0], [0.0, 0.4]], false),
        ("sign-flipped", [[-1.0, 0.0], [0.0, 1.0]], false),
        ("rotated", [[0.6, -0.8], [0.8, 0.6]], false),
        ("sheared", [[1.0, 3.0], [0.0, 1.0]], false),
        ("with duplicated ReLU units", [[1.0, 0.0], [0.0, 1.0]], true),
        (
            "rotated, with duplicated ReLU units",
            [[0.6, -0.8], [0.8, 0.6]],
            true,
        ),
    ];
    for (name, map, relu) in variants {
        let program = predict_source(&sum_last2(&map, relu));
        assert_eq!(program, clean, "{name}");
    }
}
