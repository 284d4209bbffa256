//! The network interpreter against onnxruntime.
//!
//! `recurrent_*` tests build one `RNN`/`GRU`/`LSTM` node by hand, in the network IR and as a
//! one-node ONNX model, over directions, layouts, activations, clip and optional inputs, and
//! compare `run_graph` with onnxruntime. `fixtures_match_onnxruntime` imports every fixture model
//! and compares `run_graph` on the whole graph with onnxruntime on seeded inputs drawn from the
//! fixture's domain.

#[path = "common/oracle.rs"]
mod oracle;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, Axis, IxDyn};
use nn2py::front::onnx::{import, Dim, ImportOptions};
use nn2py::network::interp::run_graph;
use nn2py::network::{
    Activation, DType, Direction, Graph, Op, RecurrentAttrs, Tensor, TensorType, ValueDef,
};
use oracle::{assert_close, run_onnxruntime, run_onnxruntime_node, NodeSpec};
use serde_json::{json, Value};

const REL: f32 = 1e-4;
const ABS: f32 = 1e-5;

/// A small deterministic generator (SplitMix64), so tests need no `rand`.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `lo..=hi`.
    fn integer(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }

    fn tensor(&mut self, shape: &[usize], scale: f64) -> Tensor {
        let n = shape.iter().product();
        let data = (0..n).map(|_| self.uniform(-scale, scale) as f32).collect();
        Tensor::F32(ArrayD::from_shape_vec(IxDyn(shape), data).unwrap())
    }
}

// ------------------------------------------------------------------ recurrent nodes

#[derive(Debug, Clone, Copy)]
enum Kind {
    Rnn,
    Gru { linear_before_reset: bool },
    Lstm { input_forget: bool },
}

impl Kind {
    fn gates(self) -> usize {
        match self {
            Kind::Rnn => 1,
            Kind::Gru { .. } => 3,
            Kind::Lstm { .. } => 4,
        }
    }

    fn default_activations(self) -> Vec<Activation> {
        match self {
            Kind::Rnn => vec![Activation::Tanh],
            Kind::Gru { .. } => vec![Activation::Sigmoid, Activation::Tanh],
            Kind::Lstm { .. } => vec![Activation::Sigmoid, Activation::Tanh, Activation::Tanh],
        }
    }
}

#[derive(Debug, Clone)]
struct Case {
    kind: Kind,
    direction: Direction,
    batch_major: bool,
    /// All directions' functions; empty for the op's defaults.
    activations: Vec<Activation>,
    clip: Option<f32>,
    bias: bool,
    initial: bool,
    peepholes: bool,
    seq_lens: Option<Vec<i64>>,
    n_outputs: usize,
}

impl Case {
    fn plain(kind: Kind) -> Case {
        Case {
            kind,
            direction: Direction::Forward,
            batch_major: false,
            activations: Vec::new(),
            clip: None,
            bias: true,
            initial: false,
            peepholes: false,
            seq_lens: None,
            n_outputs: match kind {
                Kind::Lstm { .. } => 3,
                Kind::Rnn | Kind::Gru { .. } => 2,
            },
        }
    }
}

/// The ONNX name, alpha and beta of an activation (alpha/beta only where the function takes them).
fn onnx_activation(a: Activation) -> (&'static str, Option<f32>, Option<f32>) {
    match a {
        Activation::Relu => ("Relu", None, None),
        Activation::Tanh => ("Tanh", None, None),
        Activation::Sigmoid => ("Sigmoid", None, None),
        Activation::Affine { alpha, beta } => ("Affine", Some(alpha), Some(beta)),
        Activation::LeakyRelu { alpha } => ("LeakyRelu", Some(alpha), None),
        Activation::ThresholdedRelu { alpha } => ("ThresholdedRelu", Some(alpha), None),
        Activation::ScaledTanh { alpha, beta } => ("ScaledTanh", Some(alpha), Some(beta)),
        Activation::HardSigmoid { alpha, beta } => ("HardSigmoid", Some(alpha), Some(beta)),
        Activation::Elu { alpha } => ("Elu", Some(alpha), None),
        Activation::Softsign => ("Softsign", None, None),
        Activation::Softplus => ("Softplus", None, None),
    }
}

const SEQ: usize = 5;
const BATCH: usize = 2;
const INPUT: usize = 3;
const HIDDEN: usize = 4;

/// Runs one case through the interpreter and onnxruntime and compares every output.
fn check_recurrent(case: &Case, seed: u64) {
    let mut rng = Rng(seed);
    let nd = match case.direction {
        Direction::Bidirectional => 2,
        Direction::Forward | Direction::Reverse => 1,
    };
    let g = case.kind.gates();
    let state_shape = if case.batch_major {
        vec![BATCH, nd, HIDDEN]
    } else {
        vec![nd, BATCH, HIDDEN]
    };
    let x_shape = if case.batch_major {
        vec![BATCH, SEQ, INPUT]
    } else {
        vec![SEQ, BATCH, INPUT]
    };
    let is_lstm = matches!(case.kind, Kind::Lstm { .. });
    let mut operands: Vec<Option<(String, Tensor)>> = vec![
        Some(("X".into(), rng.tensor(&x_shape, 2.0))),
        Some(("W".into(), rng.tensor(&[nd, g * HIDDEN, INPUT], 0.8))),
        Some(("R".into(), rng.tensor(&[nd, g * HIDDEN, HIDDEN], 0.8))),
        case.bias
            .then(|| ("B".into(), rng.tensor(&[nd, 2 * g * HIDDEN], 0.5))),
        case.seq_lens.as_ref().map(|l| {
            let lens = ArrayD::from_shape_vec(IxDyn(&[l.len()]), l.clone()).unwrap();
            ("sequence_lens".into(), Tensor::I64(lens))
        }),
        case.initial
            .then(|| ("initial_h".into(), rng.tensor(&state_shape, 1.0))),
    ];
    if is_lstm {
        operands.push(
            case.initial
                .then(|| ("initial_c".into(), rng.tensor(&state_shape, 1.0))),
        );
        operands.push(
            case.peepholes
                .then(|| ("P".into(), rng.tensor(&[nd, 3 * HIDDEN], 0.8))),
        );
    }
    while matches!(operands.last(), Some(None)) {
        operands.pop();
    }
    let present: Vec<(String, Tensor)> = operands.iter().flatten().cloned().collect();

    let activations = if case.activations.is_empty() {
        case.kind
            .default_activations()
            .into_iter()
            .cycle()
            .take(nd * case.kind.default_activations().len())
            .collect()
    } else {
        case.activations.clone()
    };
    let mut attributes: BTreeMap<String, Value> = BTreeMap::new();
    attributes.insert("hidden_size".into(), json!(HIDDEN));
    attributes.insert(
        "direction".into(),
        json!(match case.direction {
            Direction::Forward => "forward",
            Direction::Reverse => "reverse",
            Direction::Bidirectional => "bidirectional",
        }),
    );
    attributes.insert("layout".into(), json!(i64::from(case.batch_major)));
    if let Some(c) = case.clip {
        attributes.insert("clip".into(), json!(c));
    }
    if !case.activations.is_empty() {
        let parts: Vec<_> = case
            .activations
            .iter()
            .map(|&a| onnx_activation(a))
            .collect();
        let names: Vec<_> = parts.iter().map(|p| p.0).collect();
        let alphas: Vec<_> = parts.iter().filter_map(|p| p.1).collect();
        let betas: Vec<_> = parts.iter().filter_map(|p| p.2).collect();
        attributes.insert("activations".into(), json!(names));
        if !alphas.is_empty() {
            attributes.insert("activation_alpha".into(), json!(alphas));
        }
        if !betas.is_empty() {
            attributes.insert("activation_beta".into(), json!(betas));
        }
    }
    let (op_type, op) = {
        let attrs = RecurrentAttrs {
            hidden_size: HIDDEN,
            direction: case.direction,
            activations,
            clip: case.clip,
            batch_major: case.batch_major,
        };
        match case.kind {
            Kind::Rnn => ("RNN", Op::Rnn(attrs)),
            Kind::Gru {
                linear_before_reset,
            } => {
                attributes.insert(
                    "linear_before_reset".into(),
                    json!(i64::from(linear_before_reset)),
                );
                (
                    "GRU",
                    Op::Gru {
                        attrs,
                        linear_before_reset,
                    },
                )
            }
            Kind::Lstm { input_forget } => {
                attributes.insert("input_forget".into(), json!(i64::from(input_forget)));
                (
                    "LSTM",
                    Op::Lstm {
                        attrs,
                        input_forget,
                    },
                )
            }
        }
    };
    let spec = NodeSpec {
        op_type: op_type.into(),
        inputs: operands
            .iter()
            .map(|o| o.as_ref().map(|(n, _)| n.clone()).unwrap_or_default())
            .collect(),
        n_outputs: case.n_outputs,
        attributes,
        int32_inputs: vec!["sequence_lens".into()],
        opset: 17,
    };
    let want = run_onnxruntime_node(&spec, &present);

    let mut graph = Graph::default();
    let mut node_inputs = Vec::new();
    for operand in &operands {
        node_inputs.push(operand.as_ref().map(|(name, t)| {
            let index = graph.inputs.len();
            let id = graph.add_value(name.clone(), t.ty(), ValueDef::Input(index));
            graph.inputs.push(id);
            id
        }));
    }
    let outputs = want
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("out{i}"), t.ty()))
        .collect();
    graph.outputs = graph.add_node("node", op, node_inputs, outputs);
    let inputs: Vec<Tensor> = present.into_iter().map(|(_, t)| t).collect();
    let got =
        run_graph(&graph, &inputs).unwrap_or_else(|e| panic!("{case:?}: interpreter failed: {e}"));
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_close(g, w, REL, ABS, &format!("{case:?} output {i}"));
    }
}

const KINDS: [Kind; 5] = [
    Kind::Rnn,
    Kind::Gru {
        linear_before_reset: false,
    },
    Kind::Gru {
        linear_before_reset: true,
    },
    Kind::Lstm {
        input_forget: false,
    },
    Kind::Lstm { input_forget: true },
];

#[test]
fn recurrent_directions_and_layouts() {
    let mut seed = 1;
    for kind in KINDS {
        for direction in [
            Direction::Forward,
            Direction::Reverse,
            Direction::Bidirectional,
        ] {
            for batch_major in [false, true] {
                let case = Case {
                    direction,
                    batch_major,
                    initial: seed % 2 == 0,
                    peepholes: seed % 3 != 0,
                    bias: seed % 4 != 1,
                    ..Case::plain(kind)
                };
                check_recurrent(&case, seed);
                seed += 1;
            }
        }
    }
}

#[test]
fn recurrent_clip_outputs_and_sequence_lengths() {
    for (i, kind) in KINDS.into_iter().enumerate() {
        let seed = 100 + i as u64;
        let clipped = Case {
            clip: Some(0.7),
            initial: true,
            peepholes: true,
            direction: Direction::Bidirectional,
            ..Case::plain(kind)
        };
        check_recurrent(&clipped, seed);
        let only_y = Case {
            n_outputs: 1,
            ..Case::plain(kind)
        };
        check_recurrent(&only_y, seed);
        let ragged = Case {
            seq_lens: Some(vec![3, 5]),
            direction: Direction::Bidirectional,
            initial: true,
            ..Case::plain(kind)
        };
        check_recurrent(&ragged, seed);
    }
}

#[test]
fn recurrent_every_activation() {
    let all = [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Affine {
            alpha: 0.5,
            beta: 0.25,
        },
        Activation::LeakyRelu { alpha: 0.1 },
        Activation::ThresholdedRelu { alpha: 0.3 },
        Activation::ScaledTanh {
            alpha: 1.5,
            beta: 0.5,
        },
        Activation::HardSigmoid {
            alpha: 0.3,
            beta: 0.4,
        },
        Activation::Elu { alpha: 0.8 },
        Activation::Softsign,
        Activation::Softplus,
    ];
    // RNN, bidirectional: two functions per case, each with its own alpha/beta.
    for (i, pair) in all.chunks(2).enumerate() {
        let f = pair[0];
        let b = pair.get(1).copied().unwrap_or(Activation::Relu);
        let case = Case {
            direction: Direction::Bidirectional,
            activations: vec![f, b],
            ..Case::plain(Kind::Rnn)
        };
        check_recurrent(&case, 200 + i as u64);
    }
    // GRU and LSTM with non-default functions in every slot.
    let gru = Case {
        activations: vec![
            Activation::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
            Activation::Softsign,
        ],
        ..Case::plain(Kind::Gru {
            linear_before_reset: true,
        })
    };
    check_recurrent(&gru, 300);
    let lstm = Case {
        activations: vec![
            Activation::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
            Activation::ScaledTanh {
                alpha: 1.2,
                beta: 0.7,
            },
            Activation::Elu { alpha: 0.5 },
        ],
        peepholes: true,
        ..Case::plain(Kind::Lstm {
            input_forget: false,
        })
    };
    check_recurrent(&lstm, 301);
}

// ------------------------------------------------------------------ fixtures

/// One input range: integers `lo..hi` / `lo..=hi`, or reals `[lo, hi)` when a bound has a `.`.
#[derive(Debug, Clone, Copy)]
enum Range {
    Integers(i64, i64),
    Reals(f64, f64),
}

fn parse_range(text: &str) -> Range {
    let (lo, hi, inclusive) = match text.split_once("..=") {
        Some((lo, hi)) => (lo, hi, true),
        None => {
            let (lo, hi) = text.split_once("..").expect("a range");
            (lo, hi, false)
        }
    };
    if lo.contains('.') || hi.contains('.') {
        Range::Reals(lo.parse().unwrap(), hi.parse().unwrap())
    } else {
        let (lo, hi): (i64, i64) = (lo.parse().unwrap(), hi.parse().unwrap());
        Range::Integers(lo, if inclusive { hi } else { hi - 1 })
    }
}

/// A seeded input of type `ty` whose element `i` (row-major) comes from `range_of(i)`.
fn draw(rng: &mut Rng, ty: &TensorType, range_of: impl Fn(usize) -> Range) -> Tensor {
    let shape = IxDyn(&ty.shape);
    let n = ty.len();
    let values: Vec<f64> = (0..n)
        .map(|i| match range_of(i) {
            Range::Integers(lo, hi) => rng.integer(lo, hi) as f64,
            Range::Reals(lo, hi) => rng.uniform(lo, hi),
        })
        .collect();
    match ty.dtype {
        DType::F32 => Tensor::F32(
            ArrayD::from_shape_vec(shape, values.iter().map(|&v| v as f32).collect()).unwrap(),
        ),
        DType::I64 => Tensor::I64(
            ArrayD::from_shape_vec(shape, values.iter().map(|&v| v as i64).collect()).unwrap(),
        ),
        DType::Bool => Tensor::Bool(
            ArrayD::from_shape_vec(shape, values.iter().map(|&v| v != 0.0).collect()).unwrap(),
        ),
    }
}

/// Joins one-example tensors `[1, ...]` into a batch along axis 0.
fn batch(parts: &[Tensor]) -> Tensor {
    fn cat<T: Clone>(arrays: Vec<&ArrayD<T>>) -> ArrayD<T> {
        let views: Vec<_> = arrays.iter().map(|a| a.view()).collect();
        ndarray::concatenate(Axis(0), &views).unwrap()
    }
    match &parts[0] {
        Tensor::F32(_) => Tensor::F32(cat(parts.iter().map(as_f32).collect())),
        Tensor::I64(_) => Tensor::I64(cat(parts
            .iter()
            .map(|t| match t {
                Tensor::I64(a) => a,
                _ => panic!("mixed types"),
            })
            .collect())),
        Tensor::Bool(_) => panic!("no bool model inputs in the fixtures"),
    }
}

fn as_f32(t: &Tensor) -> &ArrayD<f32> {
    match t {
        Tensor::F32(a) => a,
        _ => panic!("mixed types"),
    }
}

/// Example `i` of a batched tensor, as `[1, ...]`.
fn example(t: &Tensor, i: usize) -> Tensor {
    match t {
        Tensor::F32(a) => Tensor::F32(a.index_axis(Axis(0), i).insert_axis(Axis(0)).to_owned()),
        Tensor::I64(a) => Tensor::I64(a.index_axis(Axis(0), i).insert_axis(Axis(0)).to_owned()),
        Tensor::Bool(a) => Tensor::Bool(a.index_axis(Axis(0), i).insert_axis(Axis(0)).to_owned()),
    }
}

const SAMPLES: usize = 8;

fn check_fixture(dir: &Path, name: &str, case: &Value) {
    let path = dir.join(format!("{name}.onnx"));
    let bytes = std::fs::read(&path).unwrap();
    let length = case["length"].as_u64().map(|l| l as usize);
    let options = ImportOptions {
        length: if case["kind"] == "sequence" {
            length
        } else {
            None
        },
        ..ImportOptions::default()
    };
    let model = import(&bytes, &options).unwrap_or_else(|e| panic!("{name}: import: {e}"));
    let graph = &model.graph;
    let domain: Vec<Range> = case["domain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| parse_range(d.as_str().unwrap()))
        .collect();
    let types: Vec<TensorType> = graph
        .inputs
        .iter()
        .map(|&id| graph.value(id).ty.clone())
        .collect();
    let mut rng = Rng(0x5EED ^ name.len() as u64);
    let mut samples: Vec<Vec<Tensor>> = Vec::new();
    for _ in 0..SAMPLES {
        let inputs = types
            .iter()
            .enumerate()
            .map(|(k, ty)| {
                let features = *ty.shape.last().unwrap_or(&1);
                let range_of = |i: usize| {
                    if domain.len() == 1 {
                        domain[0]
                    } else if domain.len() == types.len() {
                        domain[k]
                    } else {
                        assert_eq!(domain.len(), features, "{name}: domain per feature");
                        domain[i % features]
                    }
                };
                draw(&mut rng, ty, range_of)
            })
            .collect();
        samples.push(inputs);
    }
    let names: Vec<String> = graph
        .inputs
        .iter()
        .map(|&id| graph.value(id).name.clone())
        .collect();
    let batchable = model
        .inputs
        .iter()
        .all(|d| matches!(d.dims.first(), Some(Dim::Symbolic(_))));
    let theirs: Vec<Vec<Tensor>> = if batchable {
        let joined: Vec<(String, Tensor)> = (0..names.len())
            .map(|k| {
                let parts: Vec<Tensor> = samples.iter().map(|s| s[k].clone()).collect();
                (names[k].clone(), batch(&parts))
            })
            .collect();
        let outputs = run_onnxruntime(&path, &joined);
        (0..SAMPLES)
            .map(|i| outputs.iter().map(|o| example(o, i)).collect())
            .collect()
    } else {
        samples
            .iter()
            .map(|s| {
                let named: Vec<_> = names.iter().cloned().zip(s.iter().cloned()).collect();
                run_onnxruntime(&path, &named)
            })
            .collect()
    };
    for (i, (inputs, want)) in samples.iter().zip(&theirs).enumerate() {
        let got = run_graph(graph, inputs).unwrap_or_else(|e| panic!("{name}: sample {i}: {e}"));
        assert_eq!(got.len(), want.len(), "{name}: output count");
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert_close(g, w, REL, ABS, &format!("{name}: sample {i}, output {k}"));
        }
    }
}

fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    vec![root.join("onnx"), root.join("pytorch")]
}

/// Needs the ONNX importer (`front::onnx::import`).
#[test]
fn fixtures_match_onnxruntime() {
    let mut checked = 0;
    for dir in fixture_dirs() {
        let cases: BTreeMap<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap())
                .unwrap();
        for (name, case) in &cases {
            check_fixture(&dir, name, case);
            checked += 1;
        }
    }
    assert!(checked >= 19, "only {checked} fixtures found");
}
