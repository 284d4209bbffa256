//! Tests of `front::sequence`: recurrent ops rolled into cells and unrolled loops re-rolled.
//!
//! The recurrent-op cells are run over whole sequences by a small evaluator of the primitive ops
//! (below) and compared with onnxruntime running the ONNX op itself on the same sequence. The
//! unrolled models are compared with the same evaluator running the whole graph. Tests that
//! need the reference interpreter or the ONNX importer use `nn2py::network::interp` and
//! `nn2py::front::onnx`.

use std::io::Write;
use std::process::{Command, Stdio};

use ndarray::{ArrayD, Axis, IxDyn};
use nn2py::front::sequence::{reroll_unrolled, roll_recurrent, RollError};
use nn2py::network::{
    Activation, Cell, DType, Direction, Graph, Op, RecurrentAttrs, ScanAttrs, Tensor, TensorType,
    TimeDirection, ValueDef,
};

// ---------------------------------------------------------------------------------------------
// Helpers: tensors, graphs, a primitive-op evaluator.

/// Deterministic pseudo-random values in [-scale, scale].
fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = ((state >> 33) as f64) / ((1u64 << 31) as f64);
            (unit as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

fn f32s(shape: &[usize], data: Vec<f32>) -> Tensor {
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(shape), data).unwrap())
}

fn ty(shape: &[usize]) -> TensorType {
    TensorType {
        dtype: DType::F32,
        shape: shape.to_vec(),
    }
}

fn arr(t: &Tensor) -> ArrayD<f32> {
    match t {
        Tensor::F32(a) => a.clone(),
        Tensor::I64(a) => a.mapv(|v| v as f32),
        Tensor::Bool(a) => a.mapv(|v| if v { 1.0 } else { 0.0 }),
    }
}

fn reshape(a: ArrayD<f32>, shape: &[usize]) -> ArrayD<f32> {
    a.as_standard_layout()
        .to_owned()
        .into_shape_with_order(IxDyn(shape))
        .unwrap()
}

fn binary(a: &ArrayD<f32>, b: &ArrayD<f32>, f: impl Fn(f32, f32) -> f32) -> ArrayD<f32> {
    let rank = a.ndim().max(b.ndim());
    let pad = |x: &ArrayD<f32>| {
        let mut shape = vec![1; rank - x.ndim()];
        shape.extend_from_slice(x.shape());
        reshape(x.clone(), &shape)
    };
    let (a, b) = (pad(a), pad(b));
    let shape: Vec<usize> = (0..rank).map(|i| a.shape()[i].max(b.shape()[i])).collect();
    let a = a.broadcast(IxDyn(&shape)).unwrap().to_owned();
    let b = b.broadcast(IxDyn(&shape)).unwrap().to_owned();
    ndarray::Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y))
}

fn matmul2(a: &ArrayD<f32>, b: &ArrayD<f32>) -> ArrayD<f32> {
    let a = a.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
    let b = b.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
    a.dot(&b).into_dyn()
}

/// Evaluates a graph made of the primitive ops a cell may hold (f32 only, except Gather
/// indices). Panics on anything else: it is a test helper.
fn eval(g: &Graph, inputs: &[ArrayD<f32>]) -> Vec<ArrayD<f32>> {
    let mut env: Vec<Option<ArrayD<f32>>> = vec![None; g.values.len()];
    for (i, v) in g.values.iter().enumerate() {
        match &v.def {
            ValueDef::Input(k) => env[i] = Some(inputs[*k].clone()),
            ValueDef::Const(t) => env[i] = Some(arr(t)),
            ValueDef::Node(..) => {}
        }
    }
    for node in &g.nodes {
        let x: Vec<ArrayD<f32>> = node
            .inputs
            .iter()
            .flatten()
            .map(|i| env[i.0 as usize].clone().unwrap())
            .collect();
        let out = match &node.op {
            Op::Gemm {
                alpha,
                beta,
                trans_a,
                trans_b,
            } => {
                let a = if *trans_a {
                    x[0].t().to_owned()
                } else {
                    x[0].clone()
                };
                let b = if *trans_b {
                    x[1].t().to_owned()
                } else {
                    x[1].clone()
                };
                let p = matmul2(&a, &b).mapv(|v| v * alpha);
                match x.get(2) {
                    Some(c) => binary(&p, &c.mapv(|v| v * beta), |u, v| u + v),
                    None => p,
                }
            }
            Op::MatMul => matmul2(&x[0], &x[1]),
            Op::Add => binary(&x[0], &x[1], |a, b| a + b),
            Op::Sub => binary(&x[0], &x[1], |a, b| a - b),
            Op::Mul => binary(&x[0], &x[1], |a, b| a * b),
            Op::Div => binary(&x[0], &x[1], |a, b| a / b),
            Op::Neg => x[0].mapv(|v| -v),
            Op::Abs => x[0].mapv(f32::abs),
            Op::Exp => x[0].mapv(f32::exp),
            Op::Relu => x[0].mapv(|v| v.max(0.0)),
            Op::Tanh => x[0].mapv(f32::tanh),
            Op::Sigmoid => x[0].mapv(|v| 1.0 / (1.0 + (-v).exp())),
            Op::Identity => x[0].clone(),
            Op::Concat { axis } => {
                let views: Vec<_> = x.iter().map(|a| a.view()).collect();
                ndarray::concatenate(Axis(*axis), &views).unwrap()
            }
            Op::Gather { axis } => {
                let index = x[1].iter().next().copied().unwrap() as usize;
                let picked = x[0].index_axis(Axis(*axis), index).to_owned();
                if x[1].ndim() == 0 {
                    picked
                } else {
                    picked.insert_axis(Axis(*axis))
                }
            }
            Op::Slice {
                starts, ends, axes, ..
            } => {
                let mut a = x[0].clone();
                for ((s, e), ax) in starts.iter().zip(ends).zip(axes) {
                    a = a
                        .slice_axis(Axis(*ax), ndarray::Slice::from(*s as isize..*e as isize))
                        .to_owned();
                }
                a
            }
            Op::Reshape { shape } => reshape(x[0].clone(), shape),
            Op::Squeeze { .. } | Op::Unsqueeze { .. } => {
                let shape = &g.value(node.outputs[0]).ty.shape;
                reshape(x[0].clone(), shape)
            }
            Op::Transpose { perm } => x[0].clone().permuted_axes(IxDyn(perm)).to_owned(),
            other => panic!("test evaluator: unsupported op {}", other.onnx_name()),
        };
        assert_eq!(
            out.shape(),
            g.value(node.outputs[0]).ty.shape.as_slice(),
            "declared type of {}",
            node.name
        );
        env[node.outputs[0].0 as usize] = Some(out);
    }
    g.outputs
        .iter()
        .map(|o| env[o.0 as usize].clone().unwrap())
        .collect()
}

/// Runs a cell over `steps` inputs (each reshaped to the cell's `x_t`), honouring its direction;
/// returns the outputs in time order, flattened.
fn run_cell(cell: &Cell, steps: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let x_shape = cell.step.value(cell.step.inputs[0]).ty.shape.clone();
    let mut state: Vec<ArrayD<f32>> = cell.init.iter().map(arr).collect();
    let mut outputs = vec![Vec::new(); steps.len()];
    let order: Vec<usize> = match cell.direction {
        TimeDirection::Forward => (0..steps.len()).collect(),
        TimeDirection::Reverse => (0..steps.len()).rev().collect(),
    };
    for t in order {
        let x = ArrayD::from_shape_vec(IxDyn(&x_shape), steps[t].clone()).unwrap();
        let mut inputs = vec![x];
        inputs.extend(state.iter().cloned());
        let mut results = eval(&cell.step, &inputs);
        let rest = results.split_off(1);
        outputs[t] = results[0].iter().copied().collect();
        state = rest;
    }
    outputs
}

/// Structural checks every cell must pass: inputs `[x_t, states]`, outputs `[y_t, states]`,
/// state types preserved and matching `init`, no recurrent op, every node used.
fn check_cell_shape(cell: &Cell) {
    let g = &cell.step;
    assert_eq!(g.inputs.len(), 1 + cell.state_count());
    assert_eq!(g.outputs.len(), 1 + cell.state_count());
    for (k, init) in cell.init.iter().enumerate() {
        let input = &g.value(g.inputs[1 + k]).ty;
        let output = &g.value(g.outputs[1 + k]).ty;
        assert_eq!(input, output, "state {k} keeps its type");
        assert_eq!(&init.ty(), input, "init {k} has the state's type");
    }
    for (i, &v) in g.inputs.iter().enumerate() {
        assert_eq!(g.value(v).def, ValueDef::Input(i));
    }
    let mut used = vec![false; g.values.len()];
    for o in &g.outputs {
        used[o.0 as usize] = true;
    }
    for node in &g.nodes {
        assert!(!node.op.is_recurrent(), "no recurrent op left");
        for i in node.inputs.iter().flatten() {
            used[i.0 as usize] = true;
        }
    }
    for node in &g.nodes {
        assert!(
            node.outputs.iter().any(|o| used[o.0 as usize]),
            "node {} is dead",
            node.name
        );
    }
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).map(|(u, v)| (u - v).abs())
        })
        .fold(0.0, f32::max)
}

// ---------------------------------------------------------------------------------------------
// Recurrent ops: a single-node model at T = 1, rolled, against onnxruntime over T steps.

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Rnn,
    Gru { linear_before_reset: bool },
    Lstm { input_forget: bool },
}

/// An operand after X: `(name, shape, data)`, `None` when absent.
type Operand = Option<(String, Vec<usize>, Vec<f32>)>;

struct RecCase {
    kind: Kind,
    hidden: usize,
    d: usize,
    length: usize,
    activations: Vec<Activation>,
    clip: Option<f32>,
    bias: bool,
    peepholes: bool,
    initial: bool,
    direction: Direction,
    batch_major: bool,
}

impl RecCase {
    fn new(kind: Kind) -> Self {
        let activations = match kind {
            Kind::Rnn => vec![Activation::Tanh],
            Kind::Gru { .. } => vec![Activation::Sigmoid, Activation::Tanh],
            Kind::Lstm { .. } => vec![Activation::Sigmoid, Activation::Tanh, Activation::Tanh],
        };
        RecCase {
            kind,
            hidden: 3,
            d: 2,
            length: 5,
            activations,
            clip: None,
            bias: true,
            peepholes: false,
            initial: true,
            direction: Direction::Forward,
            batch_major: false,
        }
    }

    fn gates(&self) -> usize {
        match self.kind {
            Kind::Rnn => 1,
            Kind::Gru { .. } => 3,
            Kind::Lstm { .. } => 4,
        }
    }

    fn onnx_op(&self) -> &'static str {
        match self.kind {
            Kind::Rnn => "RNN",
            Kind::Gru { .. } => "GRU",
            Kind::Lstm { .. } => "LSTM",
        }
    }

    /// Operands after X in ONNX order: (name, shape, data); `None` when absent.
    fn operands(&self) -> Vec<Operand> {
        let (h, d, g) = (self.hidden, self.d, self.gates());
        let mut ops = vec![
            Some((
                "W".to_string(),
                vec![1, g * h, d],
                values(g * h * d, 1, 0.8),
            )),
            Some((
                "R".to_string(),
                vec![1, g * h, h],
                values(g * h * h, 2, 0.8),
            )),
            self.bias.then(|| {
                (
                    "B".to_string(),
                    vec![1, 2 * g * h],
                    values(2 * g * h, 3, 0.5),
                )
            }),
            None,
            self.initial
                .then(|| ("initial_h".to_string(), vec![1, 1, h], values(h, 4, 0.7))),
        ];
        if let Kind::Lstm { .. } = self.kind {
            ops.push(
                self.initial
                    .then(|| ("initial_c".to_string(), vec![1, 1, h], values(h, 5, 0.7))),
            );
            ops.push(
                self.peepholes
                    .then(|| ("P".to_string(), vec![1, 3 * h], values(3 * h, 6, 0.6))),
            );
        }
        while matches!(ops.last(), Some(None)) {
            ops.pop();
        }
        ops
    }

    fn op(&self) -> Op {
        let attrs = RecurrentAttrs {
            hidden_size: self.hidden,
            direction: self.direction,
            activations: self.activations.clone(),
            clip: self.clip,
            batch_major: self.batch_major,
        };
        match self.kind {
            Kind::Rnn => Op::Rnn(attrs),
            Kind::Gru {
                linear_before_reset,
            } => Op::Gru {
                attrs,
                linear_before_reset,
            },
            Kind::Lstm { input_forget } => Op::Lstm {
                attrs,
                input_forget,
            },
        }
    }

    /// The model at sequence length 1: `x [1, 1, d]` -> the op -> `Y [1, 1, 1, H]`.
    fn graph(&self) -> Graph {
        let h = self.hidden;
        let mut g = Graph::default();
        let x = g.add_value("x", ty(&[1, 1, self.d]), ValueDef::Input(0));
        g.inputs.push(x);
        let mut inputs = vec![Some(x)];
        for operand in self.operands() {
            inputs.push(operand.map(|(name, shape, data)| g.add_const(name, f32s(&shape, data))));
        }
        let mut outputs = vec![
            ("Y".to_string(), ty(&[1, 1, 1, h])),
            ("Y_h".to_string(), ty(&[1, 1, h])),
        ];
        if let Kind::Lstm { .. } = self.kind {
            outputs.push(("Y_c".to_string(), ty(&[1, 1, h])));
        }
        let out = g.add_node("rec", self.op(), inputs, outputs);
        g.outputs.push(out[0]);
        g
    }

    fn xs(&self) -> Vec<Vec<f32>> {
        (0..self.length)
            .map(|t| values(self.d, 100 + t as u64, 1.5))
            .collect()
    }

    /// onnxruntime's `Y` for the whole sequence, per time step.
    fn onnxruntime(&self) -> Vec<Vec<f32>> {
        let mut alpha = Vec::new();
        let mut beta = Vec::new();
        let mut names = Vec::new();
        for a in &self.activations {
            let name = match *a {
                Activation::Relu => "Relu",
                Activation::Tanh => "Tanh",
                Activation::Sigmoid => "Sigmoid",
                Activation::Affine { alpha: a, beta: b } => {
                    alpha.push(a);
                    beta.push(b);
                    "Affine"
                }
                Activation::LeakyRelu { alpha: a } => {
                    alpha.push(a);
                    "LeakyRelu"
                }
                Activation::ThresholdedRelu { alpha: a } => {
                    alpha.push(a);
                    "ThresholdedRelu"
                }
                Activation::ScaledTanh { alpha: a, beta: b } => {
                    alpha.push(a);
                    beta.push(b);
                    "ScaledTanh"
                }
                Activation::HardSigmoid { alpha: a, beta: b } => {
                    alpha.push(a);
                    beta.push(b);
                    "HardSigmoid"
                }
                Activation::Elu { alpha: a } => {
                    alpha.push(a);
                    "Elu"
                }
                Activation::Softsign => "Softsign",
                Activation::Softplus => "Softplus",
            };
            names.push(name);
        }
        let mut attrs = serde_json::json!({
            "hidden_size": self.hidden,
            "activations": names,
            "direction": match self.direction {
                Direction::Forward => "forward",
                Direction::Reverse => "reverse",
                Direction::Bidirectional => "bidirectional",
            },
        });
        if !alpha.is_empty() {
            attrs["activation_alpha"] = serde_json::json!(alpha);
        }
        if !beta.is_empty() {
            attrs["activation_beta"] = serde_json::json!(beta);
        }
        if let Some(c) = self.clip {
            attrs["clip"] = serde_json::json!(c);
        }
        match self.kind {
            Kind::Gru {
                linear_before_reset,
            } => attrs["linear_before_reset"] = serde_json::json!(linear_before_reset as i64),
            Kind::Lstm { input_forget } => {
                attrs["input_forget"] = serde_json::json!(input_forget as i64)
            }
            Kind::Rnn => {}
        }
        let operands: Vec<serde_json::Value> = self
            .operands()
            .into_iter()
            .map(|o| match o {
                Some((name, shape, data)) => {
                    serde_json::json!({"name": name, "shape": shape, "data": data})
                }
                None => serde_json::Value::Null,
            })
            .collect();
        let x: Vec<f32> = self.xs().concat();
        let mut outputs = vec!["Y", "Y_h"];
        if let Kind::Lstm { .. } = self.kind {
            outputs.push("Y_c");
        }
        let spec = serde_json::json!({
            "op": self.onnx_op(),
            "attrs": attrs,
            "x_shape": [self.length, 1, self.d],
            "x": x,
            "operands": operands,
            "outputs": outputs,
        });
        let y = run_python(ORT_SCRIPT, &spec.to_string());
        let y: Vec<Vec<f32>> = serde_json::from_str(&y).unwrap();
        y[0].chunks(self.hidden).map(|c| c.to_vec()).collect()
    }

    /// Rolls the model and compares the cell's outputs over the sequence with onnxruntime.
    fn check(&self) -> Cell {
        let cell = roll_recurrent(&self.graph()).unwrap();
        check_cell_shape(&cell);
        let ours = run_cell(&cell, &self.xs());
        let theirs = self.onnxruntime();
        let diff = max_diff(&ours, &theirs);
        assert!(diff < 2e-5, "max difference {diff}: {ours:?} vs {theirs:?}");
        cell
    }
}

const ORT_SCRIPT: &str = r#"
import json, sys
import numpy as np
import onnxruntime as ort
from onnx import helper, numpy_helper, TensorProto
spec = json.load(sys.stdin)
inputs = ["X"] + [o["name"] if o else "" for o in spec["operands"]]
inits = [numpy_helper.from_array(np.array(o["data"], dtype=np.float32).reshape(o["shape"]), o["name"])
         for o in spec["operands"] if o]
node = helper.make_node(spec["op"], inputs, spec["outputs"], **spec["attrs"])
graph = helper.make_graph(
    [node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, spec["x_shape"])],
    [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in spec["outputs"]], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
x = np.array(spec["x"], dtype=np.float32).reshape(spec["x_shape"])
print(json.dumps([r.flatten().tolist() for r in sess.run(None, {"X": x})]))
"#;

fn run_python(script: &str, stdin: &str) -> String {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn rnn_tanh_matches_onnxruntime() {
    let cell = RecCase::new(Kind::Rnn).check();
    assert_eq!(cell.direction, TimeDirection::Forward);
    assert_eq!(cell.state_count(), 1);
    assert_eq!(cell.init[0], f32s(&[1, 1, 3], values(3, 4, 0.7)));
}

#[test]
fn rnn_without_bias_or_initial_state_starts_at_zero() {
    let mut case = RecCase::new(Kind::Rnn);
    case.bias = false;
    case.initial = false;
    let cell = case.check();
    assert_eq!(cell.init[0], f32s(&[1, 1, 3], vec![0.0; 3]));
}

#[test]
fn rnn_reverse_runs_backwards() {
    let mut case = RecCase::new(Kind::Rnn);
    case.direction = Direction::Reverse;
    let cell = case.check();
    assert_eq!(cell.direction, TimeDirection::Reverse);
}

#[test]
fn rnn_expressible_activations_match_onnxruntime() {
    for activation in [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Affine {
            alpha: 0.7,
            beta: -0.2,
        },
        Activation::LeakyRelu { alpha: 0.1 },
        Activation::ScaledTanh {
            alpha: 1.3,
            beta: 0.6,
        },
        Activation::HardSigmoid {
            alpha: 0.3,
            beta: 0.4,
        },
        Activation::Elu { alpha: 0.9 },
        Activation::Softsign,
    ] {
        let mut case = RecCase::new(Kind::Rnn);
        case.activations = vec![activation];
        case.check();
    }
}

#[test]
fn rnn_clip_matches_onnxruntime() {
    let mut case = RecCase::new(Kind::Rnn);
    case.clip = Some(0.3);
    case.activations = vec![Activation::Relu];
    case.check();
}

#[test]
fn gru_matches_onnxruntime_in_both_reset_forms() {
    for linear_before_reset in [false, true] {
        let cell = RecCase::new(Kind::Gru {
            linear_before_reset,
        })
        .check();
        let names: Vec<&str> = cell.step.nodes.iter().map(|n| n.name.as_str()).collect();
        assert!(names.contains(&"rec/z_gate"), "{names:?}");
        assert!(names.contains(&"rec/r_gate"), "{names:?}");
    }
}

#[test]
fn gru_with_other_activations_and_clip_matches_onnxruntime() {
    let mut case = RecCase::new(Kind::Gru {
        linear_before_reset: true,
    });
    case.activations = vec![
        Activation::HardSigmoid {
            alpha: 0.25,
            beta: 0.5,
        },
        Activation::Softsign,
    ];
    case.clip = Some(0.8);
    case.check();
}

#[test]
fn lstm_matches_onnxruntime() {
    let cell = RecCase::new(Kind::Lstm {
        input_forget: false,
    })
    .check();
    assert_eq!(cell.state_count(), 2);
    assert_eq!(cell.init[1], f32s(&[1, 1, 3], values(3, 5, 0.7)));
    // y_t is Y, of the op's own shape [1, 1, 1, H].
    let y = cell.step.outputs[0];
    assert_eq!(cell.step.value(y).ty.shape, vec![1, 1, 1, 3]);
}

#[test]
fn lstm_with_peepholes_input_forget_and_clip_matches_onnxruntime() {
    for input_forget in [false, true] {
        let mut case = RecCase::new(Kind::Lstm { input_forget });
        case.peepholes = true;
        case.clip = Some(0.9);
        case.check();
    }
}

#[test]
fn lstm_with_other_activations_matches_onnxruntime() {
    let mut case = RecCase::new(Kind::Lstm {
        input_forget: false,
    });
    case.activations = vec![
        Activation::Sigmoid,
        Activation::Elu { alpha: 0.8 },
        Activation::LeakyRelu { alpha: 0.2 },
    ];
    case.batch_major = true;
    case.check();
}

#[test]
fn bidirectional_layer_is_refused_by_name() {
    let mut case = RecCase::new(Kind::Gru {
        linear_before_reset: false,
    });
    case.direction = Direction::Bidirectional;
    let err = roll_recurrent(&case.graph()).unwrap_err();
    assert!(err.message.contains("bidirectional"), "{}", err.message);
    assert!(err.message.contains("causal"), "{}", err.message);
    assert_eq!(node_name(&err), "rec");
}

#[test]
fn thresholded_relu_is_refused_by_name() {
    let mut case = RecCase::new(Kind::Rnn);
    case.activations = vec![Activation::ThresholdedRelu { alpha: 1.0 }];
    let err = roll_recurrent(&case.graph()).unwrap_err();
    assert!(err.message.contains("ThresholdedRelu"), "{}", err.message);
    assert_eq!(node_name(&err), "rec");
}

#[test]
fn non_constant_initial_state_is_refused() {
    // initial_h = tanh(x) with d = H: known only at run time.
    let mut g = Graph::default();
    let x = g.add_value("x", ty(&[1, 1, 2]), ValueDef::Input(0));
    g.inputs.push(x);
    let h0 = g.add_node(
        "h0",
        Op::Tanh,
        vec![Some(x)],
        vec![("h0".into(), ty(&[1, 1, 2]))],
    )[0];
    let w = g.add_const("W", f32s(&[1, 2, 2], values(4, 1, 1.0)));
    let r = g.add_const("R", f32s(&[1, 2, 2], values(4, 2, 1.0)));
    let op = RecCase {
        hidden: 2,
        ..RecCase::new(Kind::Rnn)
    }
    .op();
    let out = g.add_node(
        "rnn",
        op,
        vec![Some(x), Some(w), Some(r), None, None, Some(h0)],
        vec![
            ("Y".into(), ty(&[1, 1, 1, 2])),
            ("Y_h".into(), ty(&[1, 1, 2])),
        ],
    );
    g.outputs.push(out[1]);
    let err = roll_recurrent(&g).unwrap_err();
    assert!(err.message.contains("initial_h"), "{}", err.message);
    assert!(err.message.contains("not a constant"), "{}", err.message);
    assert_eq!(node_name(&err), "rnn");
}

#[test]
fn mixed_directions_are_refused() {
    // Two stacked RNNs, the second reversed.
    let mut g = Graph::default();
    let x = g.add_value("x", ty(&[1, 1, 2]), ValueDef::Input(0));
    g.inputs.push(x);
    let mut input = x;
    for (k, direction) in [Direction::Forward, Direction::Reverse]
        .into_iter()
        .enumerate()
    {
        let w = g.add_const(
            format!("W{k}"),
            f32s(&[1, 2, 2], values(4, 1 + k as u64, 1.0)),
        );
        let r = g.add_const(
            format!("R{k}"),
            f32s(&[1, 2, 2], values(4, 3 + k as u64, 1.0)),
        );
        let op = RecCase {
            hidden: 2,
            direction,
            ..RecCase::new(Kind::Rnn)
        }
        .op();
        let out = g.add_node(
            format!("rnn{k}"),
            op,
            vec![Some(input), Some(w), Some(r)],
            vec![
                (format!("Y{k}"), ty(&[1, 1, 1, 2])),
                (format!("Y_h{k}"), ty(&[1, 1, 2])),
            ],
        );
        input = out[1];
    }
    g.outputs.push(input);
    let err = roll_recurrent(&g).unwrap_err();
    assert_eq!(node_name(&err), "rnn1");
    assert!(
        err.message.contains("opposite directions"),
        "{}",
        err.message
    );
}

#[test]
fn stacked_layers_get_one_state_each_in_node_order() {
    // GRU (H = 3) then LSTM (H = 2) reading the GRU's Y_h; y = the LSTM's Y_h.
    let mut g = Graph::default();
    let x = g.add_value("x", ty(&[1, 1, 2]), ValueDef::Input(0));
    g.inputs.push(x);
    let gru = RecCase::new(Kind::Gru {
        linear_before_reset: true,
    });
    let w = g.add_const("gW", f32s(&[1, 9, 2], values(18, 1, 0.8)));
    let r = g.add_const("gR", f32s(&[1, 9, 3], values(27, 2, 0.8)));
    let h1 = g.add_node(
        "gru",
        gru.op(),
        vec![Some(x), Some(w), Some(r)],
        vec![
            ("gY".into(), ty(&[1, 1, 1, 3])),
            ("gY_h".into(), ty(&[1, 1, 3])),
        ],
    )[1];
    let lstm = RecCase {
        hidden: 2,
        ..RecCase::new(Kind::Lstm {
            input_forget: false,
        })
    };
    let w = g.add_const("lW", f32s(&[1, 8, 3], values(24, 3, 0.8)));
    let r = g.add_const("lR", f32s(&[1, 8, 2], values(16, 4, 0.8)));
    let out = g.add_node(
        "lstm",
        lstm.op(),
        vec![Some(h1), Some(w), Some(r)],
        vec![
            ("lY".into(), ty(&[1, 1, 1, 2])),
            ("lY_h".into(), ty(&[1, 1, 2])),
            ("lY_c".into(), ty(&[1, 1, 2])),
        ],
    );
    g.outputs.push(out[1]);
    let cell = roll_recurrent(&g).unwrap();
    check_cell_shape(&cell);
    let state_names: Vec<&str> = cell.step.inputs[1..]
        .iter()
        .map(|v| cell.step.value(*v).name.as_str())
        .collect();
    assert_eq!(state_names, ["gru/h_prev", "lstm/h_prev", "lstm/c_prev"]);
    let shapes: Vec<Vec<usize>> = cell.init.iter().map(|t| t.shape().to_vec()).collect();
    assert_eq!(shapes, [vec![1, 1, 3], vec![1, 1, 2], vec![1, 1, 2]]);
    // The second layer's input is the first layer's new state: both run in one step.
    let ys = run_cell(&cell, &[vec![0.5, -1.0], vec![1.0, 0.25]]);
    assert_eq!(ys.len(), 2);
    assert_ne!(ys[0], ys[1]);
}

fn node_name(err: &RollError) -> String {
    match &err.location {
        nn2py::diag::Location::Node(node) => node.name.clone(),
        other => panic!("expected a node location, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Scan.

/// `Scan` over `x [1, 1, 2]` (scan axis 1) with state `s [1, 2]`: `s' = s + x_t`,
/// `y_t = tanh(s')`; the model's output is the scan output `[1, 1, 2]`.
fn scan_graph(reverse: bool, init: Option<Tensor>) -> Graph {
    let mut body = Graph::default();
    let s = body.add_value("s", ty(&[1, 2]), ValueDef::Input(0));
    let xt = body.add_value("xt", ty(&[1, 2]), ValueDef::Input(1));
    body.inputs = vec![s, xt];
    let s2 = body.add_node(
        "acc",
        Op::Add,
        vec![Some(s), Some(xt)],
        vec![("s_next".into(), ty(&[1, 2]))],
    )[0];
    let y = body.add_node(
        "squash",
        Op::Tanh,
        vec![Some(s2)],
        vec![("y".into(), ty(&[1, 2]))],
    )[0];
    body.outputs = vec![s2, y];

    let mut g = Graph::default();
    let x = g.add_value("x", ty(&[1, 1, 2]), ValueDef::Input(0));
    g.inputs.push(x);
    let s0 = match init {
        Some(t) => g.add_const("s0", t),
        None => g.add_node(
            "s0",
            Op::Reshape { shape: vec![1, 2] },
            vec![Some(x)],
            vec![("s0".into(), ty(&[1, 2]))],
        )[0],
    };
    let op = Op::Scan(ScanAttrs {
        body: Box::new(body),
        num_scan_inputs: 1,
        scan_input_axes: vec![1],
        scan_input_reverse: vec![reverse],
        scan_output_axes: vec![1],
        scan_output_reverse: vec![reverse],
    });
    let out = g.add_node(
        "loop",
        op,
        vec![Some(s0), Some(x)],
        vec![
            ("s_final".into(), ty(&[1, 2])),
            ("ys".into(), ty(&[1, 1, 2])),
        ],
    );
    g.outputs.push(out[1]);
    g
}

#[test]
fn scan_body_is_inlined_once() {
    let init = f32s(&[1, 2], vec![0.5, -0.25]);
    let cell = roll_recurrent(&scan_graph(false, Some(init.clone()))).unwrap();
    check_cell_shape(&cell);
    assert_eq!(cell.direction, TimeDirection::Forward);
    assert_eq!(cell.init, vec![init]);
    let ops: Vec<&str> = cell.step.nodes.iter().map(|n| n.op.onnx_name()).collect();
    assert_eq!(ops, ["Squeeze", "Add", "Tanh", "Unsqueeze"]);
    assert_eq!(
        cell.step.value(cell.step.outputs[0]).ty.shape,
        vec![1, 1, 2]
    );
    let xs = vec![vec![1.0, 2.0], vec![-0.5, 0.5], vec![0.25, -3.0]];
    let ys = run_cell(&cell, &xs);
    let mut s = [0.5f32, -0.25];
    for (t, x) in xs.iter().enumerate() {
        s = [s[0] + x[0], s[1] + x[1]];
        assert_eq!(ys[t], vec![s[0].tanh(), s[1].tanh()]);
    }
}

#[test]
fn reversed_scan_gives_a_reverse_cell() {
    let cell = roll_recurrent(&scan_graph(true, Some(f32s(&[1, 2], vec![0.0, 0.0])))).unwrap();
    assert_eq!(cell.direction, TimeDirection::Reverse);
}

#[test]
fn scan_with_a_computed_initial_state_is_refused() {
    let err = roll_recurrent(&scan_graph(false, None)).unwrap_err();
    assert!(err.message.contains("not a constant"), "{}", err.message);
    assert_eq!(node_name(&err), "loop");
}

// ---------------------------------------------------------------------------------------------
// Unrolled models.

/// How the unrolled test model slices `x`.
#[derive(Clone, Copy)]
enum SliceStyle {
    /// `Gather(x, t, axis = 1)`, which drops the time axis.
    Gather,
    /// `Slice(x, [t], [t + 1], axis 1)` then `Reshape` to `[1, d]`.
    Slice,
}

/// The MIPS cell `h_t = f [h_{t-1}; x_t] + b_f`, `y_t = g h_t + b_g` (hidden 2, d = 1) unrolled
/// over `length` steps, as the TorchScript exporter writes it. `tweak` changes the `g` bias of
/// one step, making that step differ.
fn unrolled(length: usize, style: SliceStyle, tweak: Option<usize>) -> Graph {
    let mut g = Graph::default();
    let x = g.add_value("x", ty(&[1, length, 1]), ValueDef::Input(0));
    g.inputs.push(x);
    let fw = g.add_const("f.weight", f32s(&[2, 3], values(6, 7, 1.0)));
    let fb = g.add_const("f.bias", f32s(&[2], values(2, 8, 1.0)));
    let gw = g.add_const("g.weight", f32s(&[1, 2], values(2, 9, 1.0)));
    let gb = g.add_const("g.bias", f32s(&[1], vec![0.5]));
    let other_gb = g.add_const("g.bias2", f32s(&[1], vec![0.75]));
    let mut h = g.add_const("h0", f32s(&[1, 2], vec![0.0, 0.0]));
    let gemm = Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    };
    let mut parts = Vec::new();
    for t in 0..length {
        let xt = match style {
            SliceStyle::Gather => {
                let index = g.add_const(
                    format!("c{t}"),
                    Tensor::I64(ArrayD::from_elem(IxDyn(&[]), t as i64)),
                );
                g.add_node(
                    format!("/Gather_{t}"),
                    Op::Gather { axis: 1 },
                    vec![Some(x), Some(index)],
                    vec![(format!("x{t}"), ty(&[1, 1]))],
                )[0]
            }
            SliceStyle::Slice => {
                let op = Op::Slice {
                    starts: vec![t as i64],
                    ends: vec![t as i64 + 1],
                    axes: vec![1],
                    steps: vec![1],
                };
                let s = g.add_node(
                    format!("/Slice_{t}"),
                    op,
                    vec![Some(x)],
                    vec![(format!("xs{t}"), ty(&[1, 1, 1]))],
                )[0];
                g.add_node(
                    format!("/Reshape_{t}"),
                    Op::Reshape { shape: vec![1, 1] },
                    vec![Some(s)],
                    vec![(format!("x{t}"), ty(&[1, 1]))],
                )[0]
            }
        };
        let cat = g.add_node(
            format!("/Concat_{t}"),
            Op::Concat { axis: 1 },
            vec![Some(h), Some(xt)],
            vec![(format!("cat{t}"), ty(&[1, 3]))],
        )[0];
        h = g.add_node(
            format!("/f_{t}/Gemm"),
            gemm.clone(),
            vec![Some(cat), Some(fw), Some(fb)],
            vec![(format!("h{t}"), ty(&[1, 2]))],
        )[0];
        let bias = if tweak == Some(t) { other_gb } else { gb };
        let y = g.add_node(
            format!("/g_{t}/Gemm"),
            gemm.clone(),
            vec![Some(h), Some(gw), Some(bias)],
            vec![(format!("y{t}"), ty(&[1, 1]))],
        )[0];
        parts.push(
            g.add_node(
                format!("/Unsqueeze_{t}"),
                Op::Unsqueeze { axes: vec![1] },
                vec![Some(y)],
                vec![(format!("u{t}"), ty(&[1, 1, 1]))],
            )[0],
        );
    }
    let y = g.add_node(
        "/Concat_y",
        Op::Concat { axis: 1 },
        parts.into_iter().map(Some).collect(),
        vec![("y".into(), ty(&[1, length, 1]))],
    )[0];
    g.outputs.push(y);
    g
}

fn check_reroll(style: SliceStyle) -> Cell {
    let full = unrolled(4, style, None);
    let cell = reroll_unrolled(&full).unwrap();
    check_cell_shape(&cell);
    assert_eq!(cell.direction, TimeDirection::Forward);
    assert_eq!(cell.init, vec![f32s(&[1, 2], vec![0.0, 0.0])]);
    // The cell run over the sequence equals the whole graph, at the unrolled length and beyond.
    let xs: Vec<Vec<f32>> = (0..4).map(|t| vec![t as f32 * 1.5 - 2.0]).collect();
    let whole = eval(
        &full,
        &[ArrayD::from_shape_vec(IxDyn(&[1, 4, 1]), xs.concat()).unwrap()],
    );
    let expected: Vec<Vec<f32>> = whole[0].iter().map(|v| vec![*v]).collect();
    assert_eq!(run_cell(&cell, &xs), expected);
    cell
}

#[test]
fn reroll_gather_style() {
    let cell = check_reroll(SliceStyle::Gather);
    let ops: Vec<&str> = cell.step.nodes.iter().map(|n| n.op.onnx_name()).collect();
    assert_eq!(ops, ["Concat", "Gemm", "Gemm", "Unsqueeze"]);
    assert_eq!(cell.step.value(cell.step.inputs[0]).ty.shape, vec![1, 1]);
    // The state output is step 1's `f` result, the state input step 0's.
    assert_eq!(cell.step.value(cell.step.outputs[1]).name, "h1");
    assert_eq!(cell.step.value(cell.step.inputs[1]).name, "h0");
}

#[test]
fn reroll_slice_style() {
    let cell = check_reroll(SliceStyle::Slice);
    let ops: Vec<&str> = cell.step.nodes.iter().map(|n| n.op.onnx_name()).collect();
    assert_eq!(ops, ["Reshape", "Concat", "Gemm", "Gemm", "Unsqueeze"]);
    assert_eq!(cell.step.value(cell.step.inputs[0]).ty.shape, vec![1, 1, 1]);
}

#[test]
fn reroll_refuses_a_step_that_differs() {
    for step in [0, 2, 3] {
        let err = reroll_unrolled(&unrolled(4, SliceStyle::Gather, Some(step))).unwrap_err();
        assert!(
            err.message.contains(&format!("step {step}")),
            "{}",
            err.message
        );
        assert!(err.message.contains("g.bias2"), "{}", err.message);
        assert_eq!(node_name(&err), format!("/g_{step}/Gemm"));
    }
}

#[test]
fn reroll_refuses_a_model_reading_the_whole_sequence() {
    let mut g = unrolled(4, SliceStyle::Gather, None);
    // Replace the output by a Relu of the whole input.
    let x = g.inputs[0];
    let y = g.add_node(
        "whole",
        Op::Relu,
        vec![Some(x)],
        vec![("y2".into(), ty(&[1, 4, 1]))],
    )[0];
    g.outputs = vec![y];
    let err = reroll_unrolled(&g).unwrap_err();
    assert_eq!(node_name(&err), "whole");
    assert!(err.message.contains("whole input x"), "{}", err.message);
}

#[test]
fn reroll_refuses_a_single_step() {
    let err = reroll_unrolled(&unrolled(1, SliceStyle::Gather, None)).unwrap_err();
    assert!(err.message.contains("T >= 2"), "{}", err.message);
}

/// `h_t = tanh(x_t U + h_{t-1} W)`, `y_t = h_t`, written so that `h_{t-1} W` is computed right
/// after `h_{t-1}` (in the previous step) and the last step skips it. `h_0 W` is a constant, or
/// (`fold`) computed from constants by a `MatMul` that re-rolling folds with the interpreter.
fn precomputed_state(length: usize, fold: bool) -> Graph {
    let mut g = Graph::default();
    let x = g.add_value("x", ty(&[1, length, 2]), ValueDef::Input(0));
    g.inputs.push(x);
    let u = g.add_const("U", f32s(&[2, 2], values(4, 11, 1.0)));
    let w = g.add_const("W", f32s(&[2, 2], values(4, 12, 1.0)));
    let h0 = g.add_const("h0", f32s(&[1, 2], vec![0.3, -0.6]));
    let mut hw = if fold {
        g.add_node(
            "hw_init",
            Op::MatMul,
            vec![Some(h0), Some(w)],
            vec![("hw_init".into(), ty(&[1, 2]))],
        )[0]
    } else {
        let h0w = matmul2(&arr(g.constant(h0).unwrap()), &arr(g.constant(w).unwrap()));
        g.add_const("hw_init", Tensor::F32(h0w))
    };
    let mut parts = Vec::new();
    for t in 0..length {
        let s = g.add_node(
            format!("slice{t}"),
            Op::Slice {
                starts: vec![t as i64],
                ends: vec![t as i64 + 1],
                axes: vec![1],
                steps: vec![1],
            },
            vec![Some(x)],
            vec![(format!("xs{t}"), ty(&[1, 1, 2]))],
        )[0];
        let xt = g.add_node(
            format!("sq{t}"),
            Op::Squeeze { axes: vec![1] },
            vec![Some(s)],
            vec![(format!("x{t}"), ty(&[1, 2]))],
        )[0];
        let xu = g.add_node(
            format!("xu{t}"),
            Op::MatMul,
            vec![Some(xt), Some(u)],
            vec![(format!("xu{t}"), ty(&[1, 2]))],
        )[0];
        let pre = g.add_node(
            format!("pre{t}"),
            Op::Add,
            vec![Some(xu), Some(hw)],
            vec![(format!("pre{t}"), ty(&[1, 2]))],
        )[0];
        let h = g.add_node(
            format!("h{t}"),
            Op::Tanh,
            vec![Some(pre)],
            vec![(format!("h{t}"), ty(&[1, 2]))],
        )[0];
        if t + 1 < length {
            hw = g.add_node(
                format!("hw{t}"),
                Op::MatMul,
                vec![Some(h), Some(w)],
                vec![(format!("hw{t}"), ty(&[1, 2]))],
            )[0];
        }
        parts.push(
            g.add_node(
                format!("u{t}"),
                Op::Unsqueeze { axes: vec![1] },
                vec![Some(h)],
                vec![(format!("u{t}"), ty(&[1, 1, 2]))],
            )[0],
        );
    }
    let y = g.add_node(
        "cat",
        Op::Concat { axis: 1 },
        parts.into_iter().map(Some).collect(),
        vec![("y".into(), ty(&[1, length, 2]))],
    )[0];
    g.outputs.push(y);
    g
}

fn check_precomputed_state(fold: bool) {
    let length = 4;
    let g = precomputed_state(length, fold);
    let cell = reroll_unrolled(&g).unwrap();
    check_cell_shape(&cell);
    assert_eq!(cell.step.value(cell.step.inputs[1]).name, "hw0");
    let xs: Vec<Vec<f32>> = (0..length).map(|t| values(2, 40 + t as u64, 1.0)).collect();
    let whole = eval(
        &g,
        &[ArrayD::from_shape_vec(IxDyn(&[1, length, 2]), xs.concat()).unwrap()],
    );
    let expected: Vec<Vec<f32>> = whole[0]
        .as_standard_layout()
        .as_slice()
        .unwrap()
        .chunks(2)
        .map(|c| c.to_vec())
        .collect();
    assert!(max_diff(&run_cell(&cell, &xs), &expected) < 1e-6);
}

#[test]
fn reroll_carries_a_precomputed_state_and_lets_the_last_step_omit_it() {
    check_precomputed_state(false);
}

/// Needs the reference interpreter to fold `h_0 W` (runs after the interpreter merge).
#[test]
fn reroll_folds_a_state_computed_from_constants() {
    check_precomputed_state(true);
}

// ---------------------------------------------------------------------------------------------
// With the reference interpreter and the ONNX importer (run after the merge).

fn sequence_model(
    cell: Cell,
    length: usize,
    input_dim: usize,
    output_dim: usize,
) -> nn2py::network::SequenceModel {
    nn2py::network::SequenceModel {
        cell,
        length,
        input_dim,
        output_dim,
        input_dtype: DType::F32,
        output_dtype: DType::F32,
    }
}

#[test]
fn rolled_gru_agrees_with_the_reference_interpreter() {
    use nn2py::network::interp::{run_graph, run_sequence};
    let case = RecCase::new(Kind::Gru {
        linear_before_reset: true,
    });
    let g = case.graph();
    let cell = roll_recurrent(&g).unwrap();
    let x = f32s(&[1, 1, 2], vec![0.4, -0.9]);
    let whole = run_graph(&g, std::slice::from_ref(&x)).unwrap();
    let model = sequence_model(cell, 1, 2, 3);
    let y = run_sequence(&model, &x).unwrap();
    let diff = (&arr(&y).into_shape_with_order(IxDyn(&[3])).unwrap()
        - &arr(&whole[0]).into_shape_with_order(IxDyn(&[3])).unwrap())
        .mapv(f32::abs)
        .fold(0.0f32, |a, &b| a.max(b));
    assert!(diff < 1e-5, "difference {diff}");
}

#[test]
fn reroll_agrees_with_the_reference_interpreter() {
    use nn2py::network::interp::{run_graph, run_sequence};
    let full = unrolled(4, SliceStyle::Gather, None);
    let cell = reroll_unrolled(&full).unwrap();
    let x = f32s(&[1, 4, 1], vec![3.0, 1.0, 4.0, 1.5]);
    let whole = run_graph(&full, std::slice::from_ref(&x)).unwrap();
    let y = run_sequence(&sequence_model(cell, 4, 1, 1), &x).unwrap();
    assert_eq!(arr(&y), arr(&whole[0]));
}

#[test]
fn pytorch_unrolled_fixture_rerolls() {
    use nn2py::front::onnx::{import, ImportOptions};
    use nn2py::network::interp::{run_graph, run_sequence};
    let bytes = std::fs::read("tests/fixtures/pytorch/pt_sum_last2_unrolled.onnx").unwrap();
    let model = import(&bytes, &ImportOptions::default()).unwrap();
    let cell = reroll_unrolled(&model.graph).unwrap();
    check_cell_shape(&cell);
    assert_eq!(cell.state_count(), 1);
    assert_eq!(cell.init, vec![f32s(&[1, 2], vec![0.0, 0.0])]);
    let gemms = cell
        .step
        .nodes
        .iter()
        .filter(|n| n.op.onnx_name() == "Gemm")
        .count();
    assert_eq!(gemms, 2);
    // Sum_Last2 on integers: the model reaches 100%, so y_t rounds to x_{t-1} + x_t.
    let xs: Vec<f32> = vec![3.0, 14.0, 15.0, 92.0, 65.0, 35.0, 89.0, 79.0, 32.0, 38.0];
    let x = f32s(&[1, 10, 1], xs.clone());
    let whole = arr(&run_graph(&model.graph, std::slice::from_ref(&x)).unwrap()[0]);
    let rolled = arr(&run_sequence(&sequence_model(cell, 10, 1, 1), &x).unwrap());
    let diff = (&whole - &rolled)
        .mapv(f32::abs)
        .fold(0.0f32, |a, &b| a.max(b));
    assert!(diff < 1e-3, "difference {diff}");
    for t in 1..10 {
        assert_eq!(rolled.iter().nth(t).unwrap().round(), xs[t - 1] + xs[t]);
    }
}

#[test]
fn pytorch_gru_fixture_rolls() {
    use nn2py::front::onnx::{import, ImportOptions};
    use nn2py::network::interp::{run_graph, run_sequence};
    let bytes = std::fs::read("tests/fixtures/pytorch/pt_parity_gru.onnx").unwrap();
    let options = ImportOptions {
        length: Some(1),
        ..ImportOptions::default()
    };
    let step = import(&bytes, &options).unwrap().graph;
    let cell = roll_recurrent(&step).unwrap();
    check_cell_shape(&cell);
    assert_eq!(cell.state_count(), 1);
    let full = import(
        &bytes,
        &ImportOptions {
            length: Some(10),
            ..ImportOptions::default()
        },
    )
    .unwrap()
    .graph;
    let x = f32s(
        &[1, 10, 1],
        vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0],
    );
    let whole = arr(&run_graph(&full, std::slice::from_ref(&x)).unwrap()[0]);
    let rolled = arr(&run_sequence(&sequence_model(cell, 10, 1, 1), &x).unwrap());
    let diff = (&whole - &rolled)
        .mapv(f32::abs)
        .fold(0.0f32, |a, &b| a.max(b));
    assert!(diff < 1e-4, "difference {diff}");
}

/// Samples `n` values from a fixture domain: `"a..b"` / `"a..=b"` of integers, or of floats
/// when the bounds are written with a decimal point.
fn sample(domain: &str, n: usize, seed: u64) -> Vec<f32> {
    let (low, high) = domain.split_once("..").unwrap();
    let inclusive = high.starts_with('=');
    let high = high.trim_start_matches('=');
    let (a, b): (f32, f32) = (low.parse().unwrap(), high.parse().unwrap());
    let unit = values(n, seed, 1.0).into_iter().map(|v| (v + 1.0) / 2.0);
    if low.contains('.') || high.contains('.') {
        unit.map(|u| a + u * (b - a)).collect()
    } else {
        let span = b - a + if inclusive { 1.0 } else { 0.0 };
        unit.map(|u| (a + (u * span).floor()).min(b)).collect()
    }
}

/// Every sequence fixture becomes a cell (re-rolled when its name says it is unrolled, else
/// rolled from its import at length 1) whose run over the sequence equals the whole graph.
/// Runs after the importer and interpreter merges.
#[test]
fn every_sequence_fixture_rolls_and_agrees_with_the_whole_graph() {
    use nn2py::front::onnx::{import, ImportOptions};
    use nn2py::network::interp::{run_graph, run_sequence};
    let mut checked = 0;
    for dir in ["tests/fixtures/onnx", "tests/fixtures/pytorch"] {
        let cases = std::fs::read_to_string(format!("{dir}/cases.json")).unwrap();
        let cases: serde_json::Value = serde_json::from_str(&cases).unwrap();
        for (name, case) in cases.as_object().unwrap() {
            if case["kind"] != "sequence" {
                continue;
            }
            let length = case["length"].as_u64().unwrap_or(10) as usize;
            let bytes = std::fs::read(format!("{dir}/{name}.onnx")).unwrap();
            let import_at = |t: usize| {
                let options = ImportOptions {
                    length: Some(t),
                    ..ImportOptions::default()
                };
                import(&bytes, &options)
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
                    .graph
            };
            let full = import_at(length);
            let cell = if name.contains("unrolled") {
                reroll_unrolled(&full)
            } else {
                roll_recurrent(&import_at(1))
            }
            .unwrap_or_else(|e| panic!("{name}: {}", nn2py::diag::render(&e)));
            check_cell_shape(&cell);
            let d = full.value(full.inputs[0]).ty.shape[2];
            let o = full.value(full.outputs[0]).ty.len() / length;
            let model = sequence_model(cell, length, d, o);
            let domain = case["domain"][0].as_str().unwrap();
            for seed in 0..3 {
                let x = f32s(&[1, length, d], sample(domain, length * d, 900 + seed));
                let whole = arr(&run_graph(&full, std::slice::from_ref(&x)).unwrap()[0]);
                let rolled = arr(&run_sequence(&model, &x).unwrap());
                assert_eq!(whole.len(), rolled.len(), "{name}");
                for (a, b) in whole.iter().zip(rolled.iter()) {
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + a.abs()),
                        "{name}: {whole:?} vs {rolled:?}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 13, "only {checked} sequence fixtures checked");
}
