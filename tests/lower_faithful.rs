//! Tests of the faithful lowering: small networks built by hand, the structure of their programs,
//! and their values (by a small Python-semantics evaluator of the program IR kept here as a test
//! oracle, against values computed by hand, and against the two real interpreters).

#[path = "lower_faithful/oracle.rs"]
mod oracle;

use ndarray::{ArrayD, IxDyn};

use nn2py::diag::{Diagnose, Location};
use nn2py::lower::faithful::symbolic::{
    add, clean_hint, element_hint, float_literal, mul, neg, sum,
};
use nn2py::lower::faithful::{lower, LowerErrorKind};
use nn2py::network::{
    self, Cell, DType, Direction, Graph, Network, Op, RecurrentAttrs, SequenceModel, Tensor,
    TensorType, TimeDirection, ValueDef, ValueId,
};
use nn2py::program::interp::{self as pinterp, Scalar};
use nn2py::program::{
    BinaryOp, Expr, Func, Literal, LoopDirection, Program, Signature, Stmt, VarId, VarKind,
};
use oracle::{assert_close, floats, fs, is, num, oracle_pointwise, oracle_sequence, render};

// ---------------------------------------------------------------------------------------------
// Building networks.

fn ty(dtype: DType, shape: &[usize]) -> TensorType {
    TensorType {
        dtype,
        shape: shape.to_vec(),
    }
}

fn input(g: &mut Graph, name: &str, dtype: DType, shape: &[usize]) -> ValueId {
    let id = g.add_value(name, ty(dtype, shape), ValueDef::Input(g.inputs.len()));
    g.inputs.push(id);
    id
}

fn constf(g: &mut Graph, name: &str, shape: &[usize], data: &[f32]) -> ValueId {
    let array = ArrayD::from_shape_vec(IxDyn(shape), data.to_vec()).expect("constant shape");
    g.add_const(name, Tensor::F32(array))
}

fn consti(g: &mut Graph, name: &str, shape: &[usize], data: &[i64]) -> ValueId {
    let array = ArrayD::from_shape_vec(IxDyn(shape), data.to_vec()).expect("constant shape");
    g.add_const(name, Tensor::I64(array))
}

fn node(g: &mut Graph, op: Op, inputs: &[ValueId], out: &str, out_ty: TensorType) -> ValueId {
    let name = format!("{}_node", out);
    let ids = g.add_node(
        name,
        op,
        inputs.iter().map(|&i| Some(i)).collect(),
        vec![(out.to_string(), out_ty)],
    );
    ids[0]
}

fn gemm_op() -> Op {
    Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    }
}

fn tensor_f(shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(shape), data.to_vec()).expect("shape"))
}

fn tensor_i(shape: &[usize], data: &[i64]) -> Tensor {
    Tensor::I64(ArrayD::from_shape_vec(IxDyn(shape), data.to_vec()).expect("shape"))
}

// ---------------------------------------------------------------------------------------------
// Structure helpers.

/// Lowers a network and checks the program against the program IR's verifier and its text form
/// (printing then parsing gives the same program).
fn lower_checked(network: &Network) -> Result<Program, nn2py::lower::faithful::LowerError> {
    let program = lower(network)?;
    if let Err(e) = nn2py::program::validate::validate(&program) {
        panic!("{e}\n{}", render(&program));
    }
    let text = nn2py::program::text::print(&program);
    let parsed = nn2py::program::text::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    assert_eq!(parsed, program, "text round trip\n{text}");
    Ok(program)
}

fn all_exprs(p: &Program) -> Vec<&Expr> {
    let mut out = Vec::new();
    for Stmt::Assign { values, .. } in p.init.iter().chain(&p.body) {
        out.extend(values);
    }
    out.extend(&p.outputs);
    out
}

/// Fails on a product with a literal factor of exactly 0 or 1 anywhere in `e`.
fn assert_no_trivial_products(e: &Expr) {
    match e {
        Expr::Lit(_) | Expr::Var(_) => {}
        Expr::Unary(_, a) => assert_no_trivial_products(a),
        Expr::Binary(op, a, b) => {
            if *op == BinaryOp::Mul {
                for side in [a, b] {
                    if let Expr::Lit(Literal::Float(v)) = **side {
                        assert!(v != 0.0 && v != 1.0, "trivial product in {e:?}");
                    }
                }
            }
            if *op == BinaryOp::Add {
                for side in [a, b] {
                    if let Expr::Lit(Literal::Float(v)) = **side {
                        assert!(v != 0.0, "zero term in {e:?}");
                    }
                }
            }
            assert_no_trivial_products(a);
            assert_no_trivial_products(b);
        }
        Expr::Call(_, args) => args.iter().for_each(assert_no_trivial_products),
        Expr::Select {
            cond,
            then,
            otherwise,
        } => {
            assert_no_trivial_products(cond);
            assert_no_trivial_products(then);
            assert_no_trivial_products(otherwise);
        }
        Expr::Lookup { index, .. } => assert_no_trivial_products(index),
    }
}

fn count_kind(p: &Program, kind: VarKind) -> usize {
    p.vars.iter().filter(|v| v.kind == kind).count()
}

/// Number of `Mul` nodes in an expression.
fn muls(e: &Expr) -> usize {
    match e {
        Expr::Lit(_) | Expr::Var(_) => 0,
        Expr::Unary(_, a) => muls(a),
        Expr::Binary(op, a, b) => usize::from(*op == BinaryOp::Mul) + muls(a) + muls(b),
        Expr::Call(_, args) => args.iter().map(muls).sum(),
        Expr::Select {
            cond,
            then,
            otherwise,
        } => muls(cond) + muls(then) + muls(otherwise),
        Expr::Lookup { index, .. } => muls(index),
    }
}

// ---------------------------------------------------------------------------------------------
// Networks.

const W1: [f32; 12] = [
    0.5, -1.0, 0.0, 1.0, 0.25, 2.0, -0.5, 0.0, 0.0, 1.5, -2.0, 0.75,
];
const B1: [f32; 4] = [0.1, -0.2, 0.0, 0.3];
const W2: [f32; 8] = [1.0, -1.0, 0.5, 0.0, 0.0, 2.0, -0.25, 1.0];
const B2: [f32; 2] = [0.0, 0.5];

/// x[1,3] -> Gemm(W1^T, b1) -> Relu -> Gemm(W2^T, b2) -> y[1,2].
fn mlp() -> Graph {
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::F32, &[1, 3]);
    let w1 = constf(&mut g, "fc1.weight", &[4, 3], &W1);
    let b1 = constf(&mut g, "fc1.bias", &[4], &B1);
    let w2 = constf(&mut g, "fc2.weight", &[2, 4], &W2);
    let b2 = constf(&mut g, "fc2.bias", &[2], &B2);
    let h = node(
        &mut g,
        gemm_op(),
        &[x, w1, b1],
        "/fc1/Gemm_output_0",
        ty(DType::F32, &[1, 4]),
    );
    let r = node(
        &mut g,
        Op::Relu,
        &[h],
        "/relu/Relu_output_0",
        ty(DType::F32, &[1, 4]),
    );
    let y = node(
        &mut g,
        gemm_op(),
        &[r, w2, b2],
        "y",
        ty(DType::F32, &[1, 2]),
    );
    g.outputs.push(y);
    g
}

fn mlp_by_hand(x: &[f64]) -> Vec<f64> {
    let h: Vec<f64> = (0..4)
        .map(|i| {
            let s: f64 = (0..3).map(|k| f64::from(W1[i * 3 + k]) * x[k]).sum();
            (s + f64::from(B1[i])).max(0.0)
        })
        .collect();
    (0..2)
        .map(|j| (0..4).map(|k| f64::from(W2[j * 4 + k]) * h[k]).sum::<f64>() + f64::from(B2[j]))
        .collect()
}

#[test]
fn mlp_structure_and_values() {
    let p = lower_checked(&Network::Pointwise(mlp())).expect("lowers");
    let Signature::Pointwise { arguments } = &p.signature else {
        panic!("pointwise expected")
    };
    assert_eq!(arguments.len(), 1);
    assert_eq!(arguments[0].name, "x");
    assert_eq!(arguments[0].features.len(), 3);
    let names: Vec<&str> = arguments[0]
        .features
        .iter()
        .map(|&v| p.var(v).name.as_str())
        .collect();
    assert_eq!(names, ["x0", "x1", "x2"]);
    assert_eq!(count_kind(&p, VarKind::Input), 3);
    assert!(p.init.is_empty() && p.tables.is_empty());
    assert_eq!(p.outputs.len(), 2);
    // 4 products of the first layer, 4 relus, 2 products of the second layer.
    assert_eq!(count_kind(&p, VarKind::Local), 10);
    assert_eq!(p.body.len(), 10);
    assert!(p.vars.iter().any(|v| v.name == "fc1_gemm0"));
    assert!(p.vars.iter().any(|v| v.name == "relu3"));
    // f32 weights are written as their shortest decimal: 0.1, not 0.10000000149011612.
    let Stmt::Assign { values, .. } = &p.body[0];
    assert!(
        format!("{values:?}").contains("Float(0.1)"),
        "{}",
        render(&p)
    );
    for e in all_exprs(&p) {
        assert_no_trivial_products(e);
    }
    // Of the 20 weights, 5 are 0.0, 3 are 1.0 and 2 are -1.0 (a negation): 10 products remain.
    let total: usize = all_exprs(&p).into_iter().map(muls).sum();
    assert_eq!(total, 10);

    for x in [[1.0, 2.0, 3.0], [-1.0, 0.5, -2.0], [0.0, 0.0, 0.0]] {
        let got = oracle_pointwise(&p, &[fs(&x)]);
        assert_close(&floats(&got), &mlp_by_hand(&x));
    }
    assert_eq!(
        p,
        lower_checked(&Network::Pointwise(mlp())).expect("lowers"),
        "deterministic"
    );
}

/// tokens[1,2] (int) -> Gather(emb[5,3]) -> [1,2,3] -> ArgMax(axis 2) -> [1,2].
fn embedding_argmax(select_last_index: bool) -> Graph {
    let mut g = Graph::default();
    let tok = input(&mut g, "tokens", DType::I64, &[1, 2]);
    let emb = constf(
        &mut g,
        "embedding.weight",
        &[5, 3],
        &[
            1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 0.0, 5.0, 5.0, -1.0, -2.0, -3.0, 4.0, 4.0, 0.0,
        ],
    );
    let e = node(
        &mut g,
        Op::Gather { axis: 0 },
        &[emb, tok],
        "emb",
        ty(DType::F32, &[1, 2, 3]),
    );
    let a = node(
        &mut g,
        Op::ArgMax {
            axis: 2,
            keepdims: false,
            select_last_index,
        },
        &[e],
        "argmax",
        ty(DType::I64, &[1, 2]),
    );
    g.outputs.push(a);
    g
}

#[test]
fn embedding_lookup_and_argmax() {
    let p = lower_checked(&Network::Pointwise(embedding_argmax(false))).expect("lowers");
    assert_eq!(p.tables.len(), 1);
    assert_eq!(p.tables[0].rows(), 5);
    assert_eq!(p.tables[0].columns, 3);
    assert_eq!(p.tables[0].data[7], Literal::Float(5.0));
    let Signature::Pointwise { arguments } = &p.signature else {
        panic!("pointwise expected")
    };
    assert_eq!(
        p.var(arguments[0].features[0]).ty,
        nn2py::program::Type::Int
    );
    let maxes = all_exprs(&p)
        .into_iter()
        .filter(|e| matches!(e, Expr::Call(Func::Max, _)))
        .count();
    assert_eq!(maxes, 2, "one max per lane");
    let cases: [([i64; 2], [i64; 2]); 4] = [
        ([0, 1], [2, 0]),
        ([2, 3], [1, 0]),
        ([4, -1], [0, 0]),
        ([-4, -5], [0, 2]),
    ];
    for (x, want) in cases {
        assert_eq!(oracle_pointwise(&p, &[is(&x)]), is(&want), "tokens {x:?}");
    }
    let last = lower_checked(&Network::Pointwise(embedding_argmax(true))).expect("lowers");
    assert_eq!(oracle_pointwise(&last, &[is(&[2, 4])]), is(&[2, 1]));
}

#[test]
fn softmax_values() {
    let mut g = Graph::default();
    let x = input(&mut g, "logits", DType::F32, &[1, 3]);
    let s = node(
        &mut g,
        Op::Softmax { axis: 1 },
        &[x],
        "probs",
        ty(DType::F32, &[1, 3]),
    );
    g.outputs.push(s);
    let p = lower_checked(&Network::Pointwise(g)).expect("lowers");
    let exps = all_exprs(&p)
        .into_iter()
        .filter(|e| matches!(e, Expr::Call(Func::Exp, _)))
        .count();
    assert_eq!(exps, 3);
    let x = [1.0, 2.0, 0.5];
    let m = 2.0f64;
    let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
    let total: f64 = e.iter().sum();
    let want: Vec<f64> = e.iter().map(|v| v / total).collect();
    assert_close(&floats(&oracle_pointwise(&p, &[fs(&x)])), &want);
}

/// A linear RNN cell: h' = W h + U x + b, y = V h' + c (MatMul and Add).
fn linear_rnn(direction: TimeDirection) -> SequenceModel {
    let mut g = Graph::default();
    let x = input(&mut g, "x_t", DType::F32, &[1, 1]);
    let h = input(&mut g, "h", DType::F32, &[1, 2]);
    let wt = constf(&mut g, "W^T", &[2, 2], &[0.5, 0.0, 1.0, 1.0]);
    let u = constf(&mut g, "U", &[1, 2], &[1.0, -1.0]);
    let b = constf(&mut g, "b", &[2], &[0.0, 0.25]);
    let v = constf(&mut g, "V", &[2, 1], &[1.0, 2.0]);
    let f = ty(DType::F32, &[1, 2]);
    let hw = node(&mut g, Op::MatMul, &[h, wt], "hw", f.clone());
    let xu = node(&mut g, Op::MatMul, &[x, u], "xu", f.clone());
    let s = node(&mut g, Op::Add, &[hw, xu], "s", f.clone());
    let h2 = node(&mut g, Op::Add, &[s, b], "h_next", f);
    let y = node(&mut g, Op::MatMul, &[h2, v], "y", ty(DType::F32, &[1, 1]));
    g.outputs = vec![y, h2];
    SequenceModel {
        cell: Cell {
            step: g,
            init: vec![tensor_f(&[1, 2], &[1.0, 0.0])],
            direction,
        },
        length: 4,
        input_dim: 1,
        output_dim: 1,
        input_dtype: DType::F32,
        output_dtype: DType::F32,
    }
}

fn linear_rnn_by_hand(xs: &[f64], reverse: bool) -> Vec<f64> {
    let mut h = [1.0, 0.0];
    let mut out = vec![0.0; xs.len()];
    let order: Vec<usize> = if reverse {
        (0..xs.len()).rev().collect()
    } else {
        (0..xs.len()).collect()
    };
    for t in order {
        let x = xs[t];
        // (h @ W^T)[j] = sum_k h[k] * wt[k][j] with wt = [[0.5, 0], [1, 1]].
        let n0 = 0.5 * h[0] + 1.0 * h[1] + x;
        let n1 = h[1] - x + 0.25;
        h = [n0, n1];
        out[t] = h[0] + 2.0 * h[1];
    }
    out
}

#[test]
fn linear_rnn_cell() {
    let model = linear_rnn(TimeDirection::Forward);
    let p = lower_checked(&Network::Sequence(model)).expect("lowers");
    let Signature::Sequence {
        step_inputs,
        direction,
    } = &p.signature
    else {
        panic!("sequence expected")
    };
    assert_eq!(*direction, LoopDirection::Forward);
    assert_eq!(step_inputs.len(), 1);
    assert_eq!(p.var(step_inputs[0]).name, "x");
    let states: Vec<&str> = p
        .vars
        .iter()
        .filter(|v| v.kind == VarKind::State)
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(states, ["h0", "h1"]);
    assert_eq!(p.init.len(), 1);
    let Stmt::Assign { targets, values } = &p.init[0];
    assert_eq!(targets.len(), 2);
    assert_eq!(
        values,
        &[
            Expr::Lit(Literal::Float(1.0)),
            Expr::Lit(Literal::Float(0.0))
        ]
    );
    // The state update is one parallel assignment at the end of the body.
    let Some(Stmt::Assign { targets, .. }) = p.body.last() else {
        panic!("empty body")
    };
    assert!(targets.iter().all(|&t| p.var(t).kind == VarKind::State));
    assert_eq!(targets.len(), 2);
    let updates = p
        .body
        .iter()
        .filter(|Stmt::Assign { targets, .. }| {
            targets.iter().any(|&t| p.var(t).kind == VarKind::State)
        })
        .count();
    assert_eq!(updates, 1);
    for e in all_exprs(&p) {
        assert_no_trivial_products(e);
    }
    let xs = [1.0, -2.0, 0.5, 3.0];
    let steps: Vec<Vec<Scalar>> = xs.iter().map(|&x| fs(&[x])).collect();
    let got: Vec<f64> = oracle_sequence(&p, &steps)
        .iter()
        .map(|o| num(o[0]))
        .collect();
    assert_close(&got, &linear_rnn_by_hand(&xs, false));
}

#[test]
fn reverse_cell() {
    let p = lower_checked(&Network::Sequence(linear_rnn(TimeDirection::Reverse))).expect("lowers");
    let Signature::Sequence { direction, .. } = &p.signature else {
        panic!("sequence expected")
    };
    assert_eq!(*direction, LoopDirection::Reverse);
    let xs = [1.0, -2.0, 0.5, 3.0];
    let steps: Vec<Vec<Scalar>> = xs.iter().map(|&x| fs(&[x])).collect();
    let got: Vec<f64> = oracle_sequence(&p, &steps)
        .iter()
        .map(|o| num(o[0]))
        .collect();
    assert_close(&got, &linear_rnn_by_hand(&xs, true));
    assert!(
        (got[0] - linear_rnn_by_hand(&xs, false)[0]).abs() > 1e-3,
        "direction matters"
    );
}

/// A GRU-like cell with hidden size 2: z = sigmoid(Wz [x; h]), n = tanh(Wn x + r * (Un h)),
/// r = sigmoid(Wr [x; h]), h' = (1 - z) * n + z * h, y = h'[0].
fn gru_like() -> SequenceModel {
    let mut g = Graph::default();
    let x = input(&mut g, "x_t", DType::F32, &[1, 1]);
    let h = input(&mut g, "h", DType::F32, &[1, 2]);
    let f2 = ty(DType::F32, &[1, 2]);
    let xh = node(
        &mut g,
        Op::Concat { axis: 1 },
        &[x, h],
        "xh",
        ty(DType::F32, &[1, 3]),
    );
    let wz = constf(&mut g, "Wz", &[2, 3], &[0.5, 1.0, -1.0, -0.5, 0.0, 2.0]);
    let wr = constf(&mut g, "Wr", &[2, 3], &[1.0, 0.5, 0.5, 0.0, -1.0, 1.0]);
    let wn = constf(&mut g, "Wn", &[2, 1], &[1.5, -0.5]);
    let un = constf(&mut g, "Un", &[2, 2], &[1.0, 0.0, 0.5, -1.0]);
    let one = constf(&mut g, "one", &[], &[1.0]);
    let zl = node(&mut g, gemm_op(), &[xh, wz], "z_lin", f2.clone());
    let z = node(&mut g, Op::Sigmoid, &[zl], "z", f2.clone());
    let rl = node(&mut g, gemm_op(), &[xh, wr], "r_lin", f2.clone());
    let r = node(&mut g, Op::Sigmoid, &[rl], "r", f2.clone());
    let nx = node(&mut g, gemm_op(), &[x, wn], "nx", f2.clone());
    let nh = node(&mut g, gemm_op(), &[h, un], "nh", f2.clone());
    let rnh = node(&mut g, Op::Mul, &[r, nh], "rnh", f2.clone());
    let nl = node(&mut g, Op::Add, &[nx, rnh], "n_lin", f2.clone());
    let n = node(&mut g, Op::Tanh, &[nl], "n", f2.clone());
    let omz = node(&mut g, Op::Sub, &[one, z], "omz", f2.clone());
    let a = node(&mut g, Op::Mul, &[omz, n], "a", f2.clone());
    let b = node(&mut g, Op::Mul, &[z, h], "b", f2.clone());
    let h2 = node(&mut g, Op::Add, &[a, b], "h_next", f2);
    let y = node(
        &mut g,
        Op::Slice {
            starts: vec![0],
            ends: vec![1],
            axes: vec![1],
            steps: vec![1],
        },
        &[h2],
        "y",
        ty(DType::F32, &[1, 1]),
    );
    g.outputs = vec![y, h2];
    SequenceModel {
        cell: Cell {
            step: g,
            init: vec![tensor_f(&[1, 2], &[0.0, 0.0])],
            direction: TimeDirection::Forward,
        },
        length: 3,
        input_dim: 1,
        output_dim: 1,
        input_dtype: DType::F32,
        output_dtype: DType::F32,
    }
}

fn gru_by_hand(xs: &[f64]) -> Vec<f64> {
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let mut h = [0.0f64, 0.0];
    let mut out = Vec::new();
    for &x in xs {
        let xh = [x, h[0], h[1]];
        let dot = |w: [f64; 3]| w[0] * xh[0] + w[1] * xh[1] + w[2] * xh[2];
        let z = [sig(dot([0.5, 1.0, -1.0])), sig(dot([-0.5, 0.0, 2.0]))];
        let r = [sig(dot([1.0, 0.5, 0.5])), sig(dot([0.0, -1.0, 1.0]))];
        let nh = [h[0], 0.5 * h[0] - h[1]];
        let n = [
            (1.5 * x + r[0] * nh[0]).tanh(),
            (-0.5 * x + r[1] * nh[1]).tanh(),
        ];
        h = [
            (1.0 - z[0]) * n[0] + z[0] * h[0],
            (1.0 - z[1]) * n[1] + z[1] * h[1],
        ];
        out.push(h[0]);
    }
    out
}

#[test]
fn gru_like_cell() {
    let p = lower_checked(&Network::Sequence(gru_like())).expect("lowers");
    let calls = |f: Func| {
        p.body
            .iter()
            .flat_map(|Stmt::Assign { values, .. }| values)
            .filter(|e| matches!(e, Expr::Call(g, _) if *g == f))
            .count()
    };
    assert_eq!(calls(Func::Sigmoid), 4);
    assert_eq!(calls(Func::Tanh), 2);
    let xs = [1.0, 0.0, -1.5, 2.0];
    let steps: Vec<Vec<Scalar>> = xs.iter().map(|&x| fs(&[x])).collect();
    let got: Vec<f64> = oracle_sequence(&p, &steps)
        .iter()
        .map(|o| num(o[0]))
        .collect();
    assert_close(&got, &gru_by_hand(&xs));
}

/// x[1,4] int: (x / 3, x / -2, x / d, x * 2 - 1) with d a second input, and Cast to float.
fn int_arith() -> Graph {
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::I64, &[1, 4]);
    let d = input(&mut g, "d", DType::I64, &[1, 4]);
    let i4 = ty(DType::I64, &[1, 4]);
    let three = consti(&mut g, "three", &[], &[3]);
    let m2 = consti(&mut g, "minus_two", &[1], &[-2]);
    let two = consti(&mut g, "two", &[], &[2]);
    let one = consti(&mut g, "one", &[], &[1]);
    let q3 = node(&mut g, Op::Div, &[x, three], "q3", i4.clone());
    let qm2 = node(&mut g, Op::Div, &[x, m2], "qm2", i4.clone());
    let qd = node(&mut g, Op::Div, &[x, d], "qd", i4.clone());
    let x2 = node(&mut g, Op::Mul, &[x, two], "x2", i4.clone());
    let lin = node(&mut g, Op::Sub, &[x2, one], "lin", i4.clone());
    let fl = node(
        &mut g,
        Op::Cast { to: DType::F32 },
        &[lin],
        "lin_f",
        ty(DType::F32, &[1, 4]),
    );
    let half = constf(&mut g, "half", &[], &[0.5]);
    let scaled = node(
        &mut g,
        Op::Mul,
        &[fl, half],
        "scaled",
        ty(DType::F32, &[1, 4]),
    );
    let back = node(&mut g, Op::Cast { to: DType::I64 }, &[scaled], "trunc", i4);
    g.outputs = vec![q3, qm2, qd, back];
    g
}

#[test]
fn int_arithmetic_truncates_toward_zero() {
    let p = lower_checked(&Network::Pointwise(int_arith())).expect("lowers");
    let Signature::Pointwise { arguments } = &p.signature else {
        panic!("pointwise expected")
    };
    assert_eq!(arguments.len(), 2);
    assert_eq!(p.outputs.len(), 16);
    let x = [-7i64, 7, -1, 0];
    let d = [2i64, -2, 3, -5];
    let got = oracle_pointwise(&p, &[is(&x), is(&d)]);
    let trunc = |a: i64, b: i64| a / b; // Rust truncates toward zero, as ONNX.
    let mut want = Vec::new();
    want.extend(x.iter().map(|&a| trunc(a, 3)));
    want.extend(x.iter().map(|&a| trunc(a, -2)));
    want.extend(x.iter().zip(&d).map(|(&a, &b)| trunc(a, b)));
    want.extend(x.iter().map(|&a| ((2 * a - 1) as f64 * 0.5).trunc() as i64));
    assert_eq!(got, is(&want));
    assert_eq!(want[..4], [-2, 2, 0, 0]);
}

#[test]
fn shape_ops_emit_no_code() {
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::F32, &[1, 2, 3]);
    let t = node(
        &mut g,
        Op::Transpose {
            perm: vec![0, 2, 1],
        },
        &[x],
        "t",
        ty(DType::F32, &[1, 3, 2]),
    );
    let r = node(
        &mut g,
        Op::Reshape { shape: vec![3, 2] },
        &[t],
        "r",
        ty(DType::F32, &[3, 2]),
    );
    let s = node(
        &mut g,
        Op::Slice {
            starts: vec![2],
            ends: vec![-1],
            axes: vec![0],
            steps: vec![-2],
        },
        &[r],
        "s",
        ty(DType::F32, &[2, 2]),
    );
    let u = node(
        &mut g,
        Op::Unsqueeze { axes: vec![0] },
        &[s],
        "u",
        ty(DType::F32, &[1, 2, 2]),
    );
    let sq = node(
        &mut g,
        Op::Squeeze { axes: vec![0] },
        &[u],
        "sq",
        ty(DType::F32, &[2, 2]),
    );
    let idx = consti(&mut g, "idx", &[3], &[1, -1, 0]);
    let ga = node(
        &mut g,
        Op::Gather { axis: 1 },
        &[sq, idx],
        "ga",
        ty(DType::F32, &[2, 3]),
    );
    let id = node(&mut g, Op::Identity, &[ga], "id", ty(DType::F32, &[2, 3]));
    let c = node(
        &mut g,
        Op::Concat { axis: 0 },
        &[id, id],
        "c",
        ty(DType::F32, &[4, 3]),
    );
    g.outputs.push(c);
    let p = lower_checked(&Network::Pointwise(g)).expect("lowers");
    assert!(p.body.is_empty());
    // x = [[a0 a1 a2], [a3 a4 a5]]; t = [[a0 a3], [a1 a4], [a2 a5]] (as r); s = rows 2, 0:
    // [[a2 a5], [a0 a3]]; gather columns 1, -1, 0: [[a5 a5 a2], [a3 a3 a0]].
    let want = [5, 5, 2, 3, 3, 0, 5, 5, 2, 3, 3, 0];
    let got: Vec<u32> = p
        .outputs
        .iter()
        .map(|e| match e {
            Expr::Var(v) => v.0,
            other => panic!("not a variable: {other:?}"),
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn gather_with_computed_index_and_data_selects() {
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::F32, &[1, 3]);
    let i = input(&mut g, "i", DType::I64, &[1]);
    let doubled = node(&mut g, Op::Add, &[x, x], "doubled", ty(DType::F32, &[1, 3]));
    let picked = node(
        &mut g,
        Op::Gather { axis: 1 },
        &[doubled, i],
        "picked",
        ty(DType::F32, &[1, 1]),
    );
    g.outputs.push(picked);
    let p = lower_checked(&Network::Pointwise(g)).expect("lowers");
    assert!(p.tables.is_empty());
    let x = [1.0, -2.0, 4.0];
    for (index, want) in [(0, 2.0), (1, -4.0), (2, 8.0), (-1, 8.0), (-3, 2.0)] {
        let got = oracle_pointwise(&p, &[fs(&x), is(&[index])]);
        assert_eq!(floats(&got), [want], "index {index}");
    }
}

#[test]
fn shared_values_are_computed_once() {
    // y = (x + 1) * (x + 1) elementwise: the sum is read twice, so it is bound once.
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::F32, &[1, 2]);
    let one = constf(&mut g, "one", &[], &[1.0]);
    let s = node(&mut g, Op::Add, &[x, one], "s", ty(DType::F32, &[1, 2]));
    let y = node(&mut g, Op::Mul, &[s, s], "y", ty(DType::F32, &[1, 2]));
    g.outputs.push(y);
    let p = lower_checked(&Network::Pointwise(g)).expect("lowers");
    assert_eq!(p.body.len(), 2, "{:?}", p.body);
    assert_eq!(
        floats(&oracle_pointwise(&p, &[fs(&[2.0, -3.0])])),
        [9.0, 4.0]
    );
}

/// A counter over token embeddings whose output is the state *before* the step: y_t = h,
/// h' = h + emb[x_t], with integer inputs.
#[test]
fn output_reading_the_old_state_is_bound_before_the_update() {
    let mut g = Graph::default();
    let x = input(&mut g, "x_t", DType::I64, &[1]);
    let h = input(&mut g, "h", DType::F32, &[1]);
    let emb = constf(&mut g, "emb", &[3], &[0.5, 1.0, 2.0]);
    let e = node(
        &mut g,
        Op::Gather { axis: 0 },
        &[emb, x],
        "e",
        ty(DType::F32, &[1]),
    );
    let h2 = node(&mut g, Op::Add, &[h, e], "h_next", ty(DType::F32, &[1]));
    let y = node(&mut g, Op::Identity, &[h], "y", ty(DType::F32, &[1]));
    g.outputs = vec![y, h2];
    let model = SequenceModel {
        cell: Cell {
            step: g,
            init: vec![tensor_f(&[1], &[0.0])],
            direction: TimeDirection::Forward,
        },
        length: 3,
        input_dim: 1,
        output_dim: 1,
        input_dtype: DType::I64,
        output_dtype: DType::F32,
    };
    let p = lower_checked(&Network::Sequence(model)).expect("lowers");
    let Signature::Sequence { step_inputs, .. } = &p.signature else {
        panic!("sequence expected")
    };
    assert_eq!(p.var(step_inputs[0]).ty, nn2py::program::Type::Int);
    assert_eq!(p.tables.len(), 1);
    let Expr::Var(out) = &p.outputs[0] else {
        panic!("output not bound: {}", render(&p))
    };
    assert_eq!(p.var(*out).kind, VarKind::Local, "{}", render(&p));
    let steps = vec![is(&[2]), is(&[0]), is(&[-2])];
    let got: Vec<f64> = oracle_sequence(&p, &steps)
        .iter()
        .map(|o| num(o[0]))
        .collect();
    assert_eq!(got, [0.0, 2.0, 2.5]);
}

#[test]
fn gemm_attributes_and_matmul_shapes() {
    // y = 2 * A^T B + 0.5 * c with A = x reshaped [3, 1] (so A^T is [1, 3]), B [3, 2], c [2].
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::F32, &[3, 1]);
    let b = constf(&mut g, "b", &[3, 2], &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let c = constf(&mut g, "c", &[2], &[2.0, -4.0]);
    let op = Op::Gemm {
        alpha: 2.0,
        beta: 0.5,
        trans_a: true,
        trans_b: false,
    };
    let y = node(&mut g, op.clone(), &[x, b, c], "y", ty(DType::F32, &[1, 2]));
    // Both operands computed: alpha stays outside the sum. z = 2 * x^T x2 with x2 = x * 3.
    let three = constf(&mut g, "three", &[], &[3.0]);
    let x2 = node(&mut g, Op::Mul, &[x, three], "x2", ty(DType::F32, &[3, 1]));
    let z = node(&mut g, op, &[x, x2], "z", ty(DType::F32, &[1, 1]));
    // numpy matmul: [3] @ [3, 2] -> [2] and [2, 1, 3] @ [3, 2] -> [2, 1, 2].
    let v = node(
        &mut g,
        Op::Reshape { shape: vec![3] },
        &[x],
        "v",
        ty(DType::F32, &[3]),
    );
    let w = node(&mut g, Op::MatMul, &[v, b], "w", ty(DType::F32, &[2]));
    let xx = node(
        &mut g,
        Op::Concat { axis: 1 },
        &[x, x2],
        "xx",
        ty(DType::F32, &[3, 2]),
    );
    let t = node(
        &mut g,
        Op::Transpose { perm: vec![1, 0] },
        &[xx],
        "t",
        ty(DType::F32, &[2, 3]),
    );
    let t3 = node(
        &mut g,
        Op::Unsqueeze { axes: vec![1] },
        &[t],
        "t3",
        ty(DType::F32, &[2, 1, 3]),
    );
    let bm = node(
        &mut g,
        Op::MatMul,
        &[t3, b],
        "bm",
        ty(DType::F32, &[2, 1, 2]),
    );
    g.outputs = vec![y, z, w, bm];
    let p = lower_checked(&Network::Pointwise(g)).expect("lowers");
    let x = [1.0, -2.0, 0.5];
    let got = floats(&oracle_pointwise(&p, &[fs(&x)]));
    let dot = |v: [f64; 3]| [v[0] + v[2], v[1] + v[2]];
    let xb = dot(x);
    let x3 = x.map(|e| 3.0 * e);
    let x3b = dot(x3);
    let zz: f64 = 2.0 * x.iter().zip(&x3).map(|(a, b)| a * b).sum::<f64>();
    let want = [
        2.0 * xb[0] + 1.0,
        2.0 * xb[1] - 2.0,
        zz,
        xb[0],
        xb[1],
        xb[0],
        xb[1],
        x3b[0],
        x3b[1],
    ];
    assert_close(&got, &want);
    // alpha is folded into the constant B: one product per nonzero weight, none outside the sum.
    let Stmt::Assign { values, .. } = &p.body[0];
    assert_eq!(muls(&values[0]), 2, "{}", render(&p));
    assert!(
        matches!(&values[0], Expr::Binary(BinaryOp::Add, ..)),
        "{}",
        render(&p)
    );
}

#[test]
fn casts_between_all_types() {
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::F32, &[1, 3]);
    let f3 = ty(DType::F32, &[1, 3]);
    let i3 = ty(DType::I64, &[1, 3]);
    let b3 = ty(DType::Bool, &[1, 3]);
    let cast = |to| Op::Cast { to };
    let xb = node(&mut g, cast(DType::Bool), &[x], "xb", b3.clone());
    let xbi = node(&mut g, cast(DType::I64), &[xb], "xbi", i3.clone());
    let xi = node(&mut g, cast(DType::I64), &[x], "xi", i3.clone());
    let xib = node(&mut g, cast(DType::Bool), &[xi], "xib", b3);
    let xibf = node(&mut g, cast(DType::F32), &[xib], "xibf", f3.clone());
    let xif = node(&mut g, cast(DType::F32), &[xi], "xif", f3);
    g.outputs = vec![xbi, xibf, xif];
    let p = lower_checked(&Network::Pointwise(g)).expect("lowers");
    let got = oracle_pointwise(&p, &[fs(&[0.0, -2.7, 0.4])]);
    let want = [
        Scalar::Int(0),
        Scalar::Int(1),
        Scalar::Int(1),
        Scalar::Float(0.0),
        Scalar::Float(1.0),
        Scalar::Float(0.0),
        Scalar::Float(0.0),
        Scalar::Float(-2.0),
        Scalar::Float(0.0),
    ];
    assert_eq!(got, want, "{}", render(&p));
}

/// Golden text of the programs of three networks, in `snapshots/`.
#[test]
fn program_snapshots() {
    let cases = [
        ("mlp", Network::Pointwise(mlp())),
        (
            "embedding_argmax",
            Network::Pointwise(embedding_argmax(false)),
        ),
        ("gru_like", Network::Sequence(gru_like())),
    ];
    for (name, network) in cases {
        let text = nn2py::program::text::print(&lower_checked(&network).expect("lowers"));
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("lower_faithful__{name}"), text);
        });
    }
}

#[test]
fn name_hints_are_short_and_safe() {
    assert_eq!(clean_hint("/fc1/Gemm_output_0", "v"), "fc1_gemm");
    assert_eq!(clean_hint("/relu/Relu_output_0", "v"), "relu");
    assert_eq!(clean_hint("onnx::MatMul_12", "v"), "onnx_matmul_12");
    assert_eq!(clean_hint("", "x"), "x");
    assert_eq!(clean_hint("0abc", "x"), "x");
    assert_eq!(clean_hint("a\"); import os #", "x"), "a_import_os");
    assert!(clean_hint(&"layer_".repeat(20), "x").len() <= 24);
    assert_eq!(element_hint("h", 1, 2), "h1");
    assert_eq!(element_hint("fc1", 1, 2), "fc1_1");
    assert_eq!(element_hint("y", 0, 1), "y");
    assert_eq!(float_literal(0.1), 0.1);
    assert_eq!(float_literal(0.1) as f32, 0.1f32);
    assert_eq!(float_literal(-3.0e-7) as f32, -3.0e-7f32);
}

#[test]
fn smart_constructors_fold_exactly() {
    let x = Expr::Var(VarId(0));
    let lit = |v: f64| Expr::Lit(Literal::Float(v));
    assert_eq!(mul(lit(-0.0), x.clone()), lit(0.0));
    assert_eq!(mul(x.clone(), lit(1.0)), x);
    assert_eq!(mul(lit(-1.0), x.clone()), neg(x.clone()));
    assert_eq!(mul(lit(0.5), lit(3.0)), lit(1.5));
    assert_eq!(add(lit(0.5), lit(0.25)), lit(0.75));
    // a + (-c) * x is written a - c * x.
    assert_eq!(
        add(lit(1.0), mul(lit(-2.0), x.clone())),
        Expr::Binary(
            BinaryOp::Sub,
            Box::new(lit(1.0)),
            Box::new(Expr::Binary(
                BinaryOp::Mul,
                Box::new(lit(2.0)),
                Box::new(x.clone())
            ))
        )
    );
    assert_eq!(sum([lit(0.0), x.clone(), lit(0.0)], lit(0.0)), x);
    assert_eq!(sum([], lit(0.0)), lit(0.0));
    // Integer folding never overflows: the expression is kept instead.
    let big = Expr::Lit(Literal::Int(i64::MAX));
    assert!(matches!(
        add(big.clone(), Expr::Lit(Literal::Int(1))),
        Expr::Binary(..)
    ));
}

#[test]
fn recurrent_op_is_a_located_error() {
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::F32, &[5, 1, 1]);
    let w = constf(&mut g, "W", &[1, 2, 1], &[1.0, 1.0]);
    let r = constf(&mut g, "R", &[1, 2, 2], &[1.0, 0.0, 0.0, 1.0]);
    let attrs = RecurrentAttrs {
        hidden_size: 2,
        direction: Direction::Forward,
        activations: vec![network::Activation::Tanh],
        clip: None,
        batch_major: false,
    };
    let ids = g.add_node(
        "my_rnn",
        Op::Rnn(attrs),
        vec![Some(x), Some(w), Some(r)],
        vec![("Y".to_string(), ty(DType::F32, &[5, 1, 1, 2]))],
    );
    g.outputs.push(ids[0]);
    let err = lower(&Network::Pointwise(g)).expect_err("recurrent ops never reach lowering");
    assert_eq!(err.kind, LowerErrorKind::RecurrentOp);
    match err.location() {
        Location::Node(n) => {
            assert_eq!(n.name, "my_rnn");
            assert_eq!(n.op_type, "RNN");
        }
        other => panic!("not located at the node: {other:?}"),
    }
}

#[test]
fn contradictory_shapes_are_errors() {
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::F32, &[1, 3]);
    let w = constf(&mut g, "w", &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let y = node(&mut g, Op::MatMul, &[x, w], "y", ty(DType::F32, &[1, 2]));
    g.outputs.push(y);
    let err = lower(&Network::Pointwise(g)).expect_err("inner dimensions differ");
    assert_eq!(err.kind, LowerErrorKind::Malformed);
    assert!(matches!(err.location(), Location::Node(n) if n.name == "y_node"));

    // A declared output type that the op does not produce.
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::F32, &[1, 3]);
    let y = node(&mut g, Op::Relu, &[x], "y", ty(DType::F32, &[1, 4]));
    g.outputs.push(y);
    let err = lower(&Network::Pointwise(g)).expect_err("declared shape differs");
    assert_eq!(err.kind, LowerErrorKind::Malformed);

    // Exp of integers has no scalar form.
    let mut g = Graph::default();
    let x = input(&mut g, "x", DType::I64, &[1]);
    let y = node(&mut g, Op::Exp, &[x], "y", ty(DType::I64, &[1]));
    g.outputs.push(y);
    let err = lower(&Network::Pointwise(g)).expect_err("no integer exp");
    assert_eq!(err.kind, LowerErrorKind::Unsupported);
}

// ---------------------------------------------------------------------------------------------
// Against the real interpreters (these run once `network::interp` and `program::interp` exist).

fn to_scalars(t: &Tensor) -> Vec<Scalar> {
    match t {
        Tensor::F32(a) => a.iter().map(|&v| Scalar::Float(f64::from(v))).collect(),
        Tensor::I64(a) => a.iter().map(|&v| Scalar::Int(v)).collect(),
        Tensor::Bool(a) => a.iter().map(|&v| Scalar::Bool(v)).collect(),
    }
}

fn assert_scalars_close(got: &[Scalar], want: &[Scalar]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        match (g, w) {
            (Scalar::Int(a), Scalar::Int(b)) => assert_eq!(a, b),
            (Scalar::Bool(a), Scalar::Bool(b)) => assert_eq!(a, b),
            (a, b) => {
                let (a, b) = (num(*a), num(*b));
                assert!(
                    (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                    "{got:?} vs {want:?}"
                );
            }
        }
    }
}

#[test]
fn pointwise_programs_match_the_network_interpreter() {
    let cases: Vec<(Graph, Vec<Tensor>)> = vec![
        (mlp(), vec![tensor_f(&[1, 3], &[1.0, -2.0, 0.5])]),
        (embedding_argmax(false), vec![tensor_i(&[1, 2], &[3, -1])]),
        (
            int_arith(),
            vec![
                tensor_i(&[1, 4], &[-7, 7, -1, 9]),
                tensor_i(&[1, 4], &[2, -2, 3, -4]),
            ],
        ),
    ];
    for (graph, inputs) in cases {
        let want: Vec<Scalar> = network::interp::run_graph(&graph, &inputs)
            .expect("network runs")
            .iter()
            .flat_map(to_scalars)
            .collect();
        let p = lower_checked(&Network::Pointwise(graph)).expect("lowers");
        let args: Vec<Vec<Scalar>> = inputs.iter().map(to_scalars).collect();
        let got = pinterp::run_pointwise(&p, &args).expect("program runs");
        assert_scalars_close(&got, &want);
        assert_eq!(
            got,
            oracle_pointwise(&p, &args),
            "oracle agrees with program::interp"
        );
    }
}

#[test]
fn sequence_programs_match_the_network_interpreter() {
    let xs = [0.5f32, -1.0, 2.0, 0.0, 1.5];
    for model in [
        linear_rnn(TimeDirection::Forward),
        linear_rnn(TimeDirection::Reverse),
        gru_like(),
    ] {
        let x = tensor_f(&[1, xs.len(), 1], &xs);
        let want = to_scalars(&network::interp::run_sequence(&model, &x).expect("network runs"));
        let p = lower_checked(&Network::Sequence(model)).expect("lowers");
        let steps: Vec<Vec<Scalar>> = xs
            .iter()
            .map(|&v| vec![Scalar::Float(f64::from(v))])
            .collect();
        let got: Vec<Scalar> = pinterp::run_sequence(&p, &steps)
            .expect("program runs")
            .into_iter()
            .flatten()
            .collect();
        assert_scalars_close(&got, &want);
    }
}
