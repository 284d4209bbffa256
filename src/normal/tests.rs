//! Normal forms on hand-built networks whose equivalence is known.

use ndarray::{ArrayD, IxDyn};

use super::*;
use crate::network::interp::run_graph;
use crate::network::{DType, Op, Tensor, TensorType, ValueId};

fn matrix(rows: &[&[f32]]) -> Tensor {
    let cols = rows[0].len();
    let data: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[rows.len(), cols]), data).unwrap())
}

fn vector(values: &[f32]) -> Tensor {
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).unwrap())
}

pub(super) fn f32s(shape: &[usize]) -> TensorType {
    TensorType {
        dtype: DType::F32,
        shape: shape.to_vec(),
    }
}

/// Appends the dense layer `output = input @ weights^T + bias` (a `Gemm` named `node`, its
/// constants `node.w` and `node.b`) of `[1, len(bias)]`; returns its output.
pub(super) fn add_dense(
    g: &mut Graph,
    node: &str,
    input: ValueId,
    weights: Tensor,
    bias: Tensor,
    output: &str,
) -> ValueId {
    let width = bias.ty().shape[0];
    let w = g.add_const(format!("{node}.w"), weights);
    let b = g.add_const(format!("{node}.b"), bias);
    let op = Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    };
    g.add_node(
        node,
        op,
        vec![Some(input), Some(w), Some(b)],
        vec![(output.into(), f32s(&[1, width]))],
    )[0]
}

/// `x[1, 2] -> Gemm(w1, b1) -> act -> Gemm(w2, b2) -> y[1, 1]`.
fn mlp(act: Op, w1: &[&[f32]], b1: &[f32], w2: &[f32], b2: f32) -> Network {
    let mut g = Graph::default();
    let x = g.add_value("x", f32s(&[1, 2]), crate::network::ValueDef::Input(0));
    g.inputs.push(x);
    let n = b1.len();
    let pre = add_dense(&mut g, "l1", x, matrix(w1), vector(b1), "pre");
    let post = g.add_node(
        "act",
        act,
        vec![Some(pre)],
        vec![("a".into(), f32s(&[1, n]))],
    )[0];
    let y = add_dense(&mut g, "l2", post, matrix(&[w2]), vector(&[b2]), "y");
    g.outputs.push(y);
    Network::Pointwise(g)
}

fn run(network: &Network, x: [f32; 2]) -> f32 {
    let Network::Pointwise(g) = network else {
        unreachable!()
    };
    let input = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[1, 2]), x.to_vec()).unwrap());
    match &run_graph(g, &[input]).unwrap()[0] {
        Tensor::F32(a) => a.iter().copied().next().unwrap(),
        Tensor::I64(_) | Tensor::Bool(_) => unreachable!(),
    }
}

fn grid() -> Vec<[f32; 2]> {
    let steps = [-2.0, -0.75, 0.0, 0.5, 1.25, 3.0];
    steps
        .iter()
        .flat_map(|&a| steps.iter().map(move |&b| [a, b]))
        .collect()
}

/// A judge comparing the candidate with `original` on a grid, within `tol`.
fn judge_against(
    original: &Network,
    tol: f32,
) -> impl FnMut(&Network) -> Result<bool, NormalError> + '_ {
    move |candidate: &Network| {
        Ok(grid()
            .iter()
            .all(|&x| (run(original, x) - run(candidate, x)).abs() <= tol))
    }
}

fn weights(network: &Network) -> Vec<Vec<f32>> {
    let Network::Pointwise(g) = network else {
        unreachable!()
    };
    g.values
        .iter()
        .filter_map(|v| match &v.def {
            crate::network::ValueDef::Const(Tensor::F32(a)) => Some(a.iter().copied().collect()),
            _ => None,
        })
        .collect()
}

fn assert_close(a: &Network, b: &Network) {
    let (wa, wb) = (weights(a), weights(b));
    assert_eq!(wa.len(), wb.len());
    for (x, y) in wa.iter().zip(&wb) {
        assert_eq!(x.len(), y.len(), "{wa:?} vs {wb:?}");
        for (p, q) in x.iter().zip(y) {
            assert!((p - q).abs() < 1e-4, "{wa:?} vs {wb:?}");
        }
    }
}

#[test]
fn permuted_rescaled_duplicated_and_dead_units_reach_the_same_normal_form() {
    let clean = mlp(
        Op::Relu,
        &[&[0.8, -0.3], &[-0.45, 0.6], &[0.2, 0.9]],
        &[0.1, -0.2, 0.35],
        &[1.5, -0.7, 0.4],
        0.25,
    );
    // Units reordered (2, 0, 1); unit 0 scaled by 2.5 (outgoing / 2.5); unit 1 split into two
    // copies at scales 1 and 3 sharing its outgoing weight; a dead unit with no outgoing weight.
    let hidden = mlp(
        Op::Relu,
        &[
            &[0.2, 0.9],
            &[2.0, -0.75],
            &[-0.45, 0.6],
            &[0.3, 0.3],
            &[-1.35, 1.8],
        ],
        &[0.35, 0.25, -0.2, 0.5, -0.6],
        &[0.4, 0.6, -0.35, 0.0, -0.35 / 3.0],
        0.25,
    );
    for x in grid() {
        assert!(
            (run(&clean, x) - run(&hidden, x)).abs() < 1e-5,
            "the variant is equivalent"
        );
    }
    let (clean_normal, clean_report) =
        normalise(&clean, &mut judge_against(&clean, 1e-4), true).unwrap();
    let (hidden_normal, hidden_report) =
        normalise(&hidden, &mut judge_against(&hidden, 1e-4), true).unwrap();
    assert_eq!(clean_report.units_after, 3);
    assert_eq!(hidden_report.units_before, 5);
    assert_eq!(hidden_report.units_after, 3);
    assert_close(&clean_normal, &hidden_normal);
}

#[test]
fn tanh_units_take_a_positive_largest_weight() {
    let net = mlp(
        Op::Tanh,
        &[&[-0.9, 0.2], &[0.3, 0.1]],
        &[0.05, 0.0],
        &[1.0, 2.0],
        0.0,
    );
    let flipped = mlp(
        Op::Tanh,
        &[&[0.9, -0.2], &[0.3, 0.1]],
        &[-0.05, 0.0],
        &[-1.0, 2.0],
        0.0,
    );
    let (a, _) = normalise(&net, &mut judge_against(&net, 1e-5), false).unwrap();
    let (b, _) = normalise(&flipped, &mut judge_against(&flipped, 1e-5), false).unwrap();
    assert_close(&a, &b);
    let first_row = &weights(&a)[0];
    let largest = first_row
        .iter()
        .copied()
        .fold(0.0f32, |m, v| if v.abs() > m.abs() { v } else { m });
    assert!(largest > 0.0, "{first_row:?}");
}

#[test]
fn snapping_is_kept_only_where_the_judge_agrees() {
    let net = mlp(
        Op::Relu,
        &[&[0.999, 0.0], &[0.0, 1.0]],
        &[0.0, 0.0],
        &[2.004, 0.37],
        0.0,
    );
    // Loose judge: every near-simple weight snaps.
    let (loose, report) = normalise(&net, &mut judge_against(&net, 0.1), true).unwrap();
    let snap = report.passes.iter().find(|p| p.pass == "snap").unwrap();
    assert!(snap.accepted);
    assert!(weights(&loose)
        .iter()
        .flatten()
        .all(|w| [0.0, 1.0, 2.0, 0.5, 0.25, 0.37]
            .iter()
            .any(|s| (w - s).abs() < 1e-6)
            || (w * 4.0).fract() == 0.0));
    // A judge that accepts nothing: the network is left as it was.
    let (strict, report) = normalise(&net, &mut |_: &Network| Ok(false), true).unwrap();
    assert!(report.passes.iter().all(|p| !p.accepted));
    assert_eq!(strict, net);
}

#[test]
fn snap_value_prefers_the_simplest_fraction() {
    assert_eq!(snap::snap_value(0.9996, 0.01), Some(1.0));
    assert_eq!(snap::snap_value(0.4993, 0.01), Some(0.5));
    assert_eq!(snap::snap_value(0.26, 0.05), Some(0.25));
    assert_eq!(snap::snap_value(0.37, 0.01), None);
    assert_eq!(snap::snap_value(2.0, 0.05), None, "already simple");
}
