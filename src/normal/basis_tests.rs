//! The change of basis on hand-built linear recurrences whose equivalence is known.

use nalgebra::{DMatrix, DVector};
use ndarray::{ArrayD, IxDyn};

use super::eigenbasis::{choose_basis, Form, Recurrence, MAX_CONDITION};
use super::tests::{add_dense, f32s};
use super::*;
use crate::network::interp::run_sequence;
use crate::network::{Cell, DType, Op, SequenceModel, Tensor, TimeDirection, ValueDef};
use crate::rng::SplitMix64;

fn tensor(m: &DMatrix<f64>) -> Tensor {
    let data: Vec<f32> = m
        .row_iter()
        .flat_map(|r| r.iter().map(|&v| v as f32).collect::<Vec<_>>())
        .collect();
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[m.nrows(), m.ncols()]), data).unwrap())
}

fn vector(v: &DVector<f64>) -> Tensor {
    Tensor::F32(
        ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.iter().map(|&x| x as f32).collect()).unwrap(),
    )
}

/// The linear recurrence `h' = W h + U x + b`, `y = G h' + c` in the exporter's form:
/// `Concat(h, x_t)`, one `Gemm` to `h'`, one `Gemm` to `y_t`; `tanh` puts a `Tanh` after the
/// update.
struct Linear {
    w: DMatrix<f64>,
    u: DMatrix<f64>,
    b: DVector<f64>,
    g: DMatrix<f64>,
    c: DVector<f64>,
    h0: DVector<f64>,
}

impl Linear {
    /// The same recurrence in the state `P^-1 h`.
    fn in_basis(&self, p: &DMatrix<f64>) -> Linear {
        let inverse = p.clone().try_inverse().unwrap();
        Linear {
            w: &inverse * &self.w * p,
            u: &inverse * &self.u,
            b: &inverse * &self.b,
            g: &self.g * p,
            c: self.c.clone(),
            h0: &inverse * &self.h0,
        }
    }

    fn network(&self, tanh: bool) -> Network {
        let (n, d, m) = (self.w.nrows(), self.u.ncols(), self.g.nrows());
        let mut g = Graph::default();
        let x = g.add_value("x", f32s(&[1, 1, d]), ValueDef::Input(0));
        let h = g.add_value("h", f32s(&[1, n]), ValueDef::Input(1));
        g.inputs = vec![x, h];
        let x_t = g.add_node(
            "sq",
            Op::Squeeze { axes: vec![1] },
            vec![Some(x)],
            vec![("x_t".into(), f32s(&[1, d]))],
        )[0];
        let hx = g.add_node(
            "cat",
            Op::Concat { axis: 1 },
            vec![Some(h), Some(x_t)],
            vec![("hx".into(), f32s(&[1, n + d]))],
        )[0];
        let mut f = DMatrix::zeros(n, n + d);
        f.columns_mut(0, n).copy_from(&self.w);
        f.columns_mut(n, d).copy_from(&self.u);
        let mut next = add_dense(&mut g, "update", hx, tensor(&f), vector(&self.b), "pre");
        if tanh {
            next = g.add_node(
                "act",
                Op::Tanh,
                vec![Some(next)],
                vec![("h_next".into(), f32s(&[1, n]))],
            )[0];
        }
        let y_t = add_dense(
            &mut g,
            "readout",
            next,
            tensor(&self.g),
            vector(&self.c),
            "y_t",
        );
        let y = g.add_node(
            "unsq",
            Op::Unsqueeze { axes: vec![1] },
            vec![Some(y_t)],
            vec![("y".into(), f32s(&[1, 1, m]))],
        )[0];
        g.outputs = vec![y, next];
        let init = Tensor::F32(
            ArrayD::from_shape_vec(IxDyn(&[1, n]), self.h0.iter().map(|&v| v as f32).collect())
                .unwrap(),
        );
        Network::Sequence(SequenceModel {
            cell: Cell {
                step: g,
                init: vec![init],
                direction: TimeDirection::Forward,
            },
            length: 8,
            input_dim: d,
            output_dim: m,
            input_dtype: DType::F32,
            output_dtype: DType::F32,
        })
    }
}

/// A 2-d rotation-scaling recurrence (modulus 0.9, angle 0.6) beside a running sum.
fn clean() -> Linear {
    let (r, t) = (0.9f64, 0.6f64);
    Linear {
        w: DMatrix::from_row_slice(
            3,
            3,
            &[
                r * t.cos(),
                -r * t.sin(),
                0.0,
                r * t.sin(),
                r * t.cos(),
                0.0,
                0.0,
                0.0,
                1.0,
            ],
        ),
        u: DMatrix::from_row_slice(3, 2, &[0.5, -0.3, 0.2, 0.4, 1.0, 1.0]),
        b: DVector::from_vec(vec![0.3, -0.2, 0.1]),
        g: DMatrix::from_row_slice(2, 3, &[1.0, 0.5, -0.25, 0.3, -0.7, 0.2]),
        c: DVector::from_vec(vec![0.05, -0.1]),
        h0: DVector::zeros(3),
    }
}

/// Rotated, scaled and mixed states.
fn mixing() -> DMatrix<f64> {
    DMatrix::from_row_slice(3, 3, &[1.2, 0.3, -0.4, 0.5, -0.9, 0.2, 0.1, 0.6, 1.1])
}

fn sequences() -> Vec<Tensor> {
    let mut rng = SplitMix64::new(7);
    (0..12)
        .map(|_| {
            let data: Vec<f32> = (0..16).map(|_| rng.real_in(-2.0, 2.0) as f32).collect();
            Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[1, 8, 2]), data).unwrap())
        })
        .collect()
}

fn outputs(network: &Network) -> Vec<f32> {
    let Network::Sequence(model) = network else {
        unreachable!()
    };
    sequences()
        .iter()
        .flat_map(|x| match run_sequence(model, x).unwrap() {
            Tensor::F32(a) => a.iter().copied().collect::<Vec<_>>(),
            Tensor::I64(_) | Tensor::Bool(_) => unreachable!(),
        })
        .collect()
}

fn judge_against(
    original: &Network,
    tol: f32,
) -> impl FnMut(&Network) -> Result<bool, NormalError> + '_ {
    let expected = outputs(original);
    move |candidate: &Network| {
        Ok(outputs(candidate)
            .iter()
            .zip(&expected)
            .all(|(a, b)| (a - b).abs() <= tol))
    }
}

/// Every constant and the initial state, in graph order.
fn numbers(network: &Network) -> Vec<f32> {
    let Network::Sequence(model) = network else {
        unreachable!()
    };
    let mut all: Vec<f32> = Vec::new();
    for value in &model.cell.step.values {
        if let ValueDef::Const(Tensor::F32(a)) = &value.def {
            all.extend(a.iter());
        }
    }
    for init in &model.cell.init {
        if let Tensor::F32(a) = init {
            all.extend(a.iter());
        }
    }
    all
}

#[test]
fn mixed_states_reach_the_same_basis_as_the_clean_recurrence() {
    let clean_net = clean().network(false);
    let mixed_net = clean().in_basis(&mixing()).network(false);
    let (a, b) = (outputs(&clean_net), outputs(&mixed_net));
    assert!(
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-4),
        "the variant is equivalent"
    );

    let (clean_normal, report) =
        normalise(&clean_net, &mut judge_against(&clean_net, 1e-4), false).unwrap();
    assert_eq!(report.passes[0].pass, "basis");
    assert!(report.passes[0].accepted);
    let (mixed_normal, report) =
        normalise(&mixed_net, &mut judge_against(&mixed_net, 1e-4), false).unwrap();
    assert!(report.passes[0].accepted);
    let (x, y) = (numbers(&clean_normal), numbers(&mixed_normal));
    assert_eq!(x.len(), y.len());
    for (p, q) in x.iter().zip(&y) {
        assert!((p - q).abs() < 1e-6, "{x:?}\nvs\n{y:?}");
    }

    // The normal form: the running sum first (modulus 1), then the rotation-scaling block;
    // each block's largest input weight reads 1 (or (1, 0)); the rotation's bias moved out.
    let (r, t) = (0.9f32, 0.6f32);
    let expected_w = [
        1.0,
        0.0,
        0.0,
        0.0,
        r * t.cos(),
        -r * t.sin(),
        0.0,
        r * t.sin(),
        r * t.cos(),
    ];
    let f = &x[..15];
    for (i, w) in expected_w.iter().enumerate() {
        let got = f[(i / 3) * 5 + i % 3];
        assert!(
            (got - w).abs() < 1e-6,
            "W[{i}] = {got}, expected {w}: {f:?}"
        );
    }
    assert_eq!(
        f[3], 1.0,
        "the running sum's largest input weight is 1: {f:?}"
    );
    assert_eq!(
        (f[8], f[13]),
        (1.0, 0.0),
        "the rotation's input column is (1, 0): {f:?}"
    );
    let bias = &x[15..18];
    assert_eq!(
        &bias[1..],
        &[0.0, 0.0],
        "the rotation block is de-biased: {bias:?}"
    );
    assert!(bias[0] != 0.0, "a running sum keeps its bias: {bias:?}");
    let init = &x[x.len() - 3..];
    assert_eq!(init[0], 0.0);
    assert!(
        init[1] != 0.0,
        "the shift moved into the initial state: {init:?}"
    );
    assert!(outputs(&mixed_normal)
        .iter()
        .zip(&b)
        .all(|(p, q)| (p - q).abs() < 1e-4));
}

#[test]
fn a_nonlinear_update_is_left_alone() {
    let net = clean().in_basis(&mixing()).network(true);
    let (normal, report) = normalise(&net, &mut judge_against(&net, 1e-4), false).unwrap();
    assert_eq!(report.passes[0].pass, "basis");
    assert_eq!(report.passes[0].changes, 0);
    assert_eq!(normal, net);
}

#[test]
fn a_refused_basis_leaves_the_network_unchanged() {
    let net = clean().in_basis(&mixing()).network(false);
    let (normal, report) = normalise(&net, &mut |_: &Network| Ok(false), false).unwrap();
    assert_eq!(report.passes[0].changes, 1);
    assert!(!report.passes[0].accepted);
    assert_eq!(normal, net);
}

#[test]
fn an_ill_conditioned_eigenbasis_falls_back_to_the_schur_form() {
    // Eigenvalues 0.5 and 0.5 + 1e-5 with nearly parallel eigenvectors: the Jordan basis has a
    // condition number near 2e5, so the orthogonal Schur basis is used instead.
    let near_defective = Recurrence {
        w: DMatrix::from_row_slice(2, 2, &[0.5, 1.0, 0.0, 0.50001]),
        u: DMatrix::from_row_slice(2, 1, &[0.3, 1.0]),
        b: DVector::zeros(2),
        h0: DVector::zeros(2),
    };
    let basis = choose_basis(&near_defective).unwrap();
    assert_eq!(basis.form, Form::Schur);
    assert!(basis.condition <= MAX_CONDITION);
    let orthogonal = basis.p.transpose() * &basis.p;
    assert!((orthogonal - DMatrix::<f64>::identity(2, 2)).amax() < 1e-12);

    // The same eigenvalues with well-separated eigenvectors: the Jordan form.
    let separated = Recurrence {
        w: DMatrix::from_row_slice(2, 2, &[0.5, 0.0, 0.0, 0.7]),
        ..near_defective
    };
    let basis = choose_basis(&separated).unwrap();
    assert_eq!(basis.form, Form::Jordan);
    assert!(basis.condition <= MAX_CONDITION);
}

#[test]
fn a_non_finite_recurrence_has_no_basis() {
    let bad = Recurrence {
        w: DMatrix::from_row_slice(1, 1, &[f64::NAN]),
        u: DMatrix::zeros(1, 1),
        b: DVector::zeros(1),
        h0: DVector::zeros(1),
    };
    assert_eq!(choose_basis(&bad), None);
}

#[test]
fn a_basis_that_would_blow_up_the_readout_is_refused() {
    // A shift register `h1' = x, h2' = h1` with a tiny perturbation: eigenvalues about ±0.0047i,
    // distinct, so a Jordan basis exists, but its coordinates are scaled by 1/0.0047 and the
    // readout would read them with coefficients in the hundreds.
    let e = 2.2e-5;
    let shift = Linear {
        w: DMatrix::from_row_slice(2, 2, &[0.0, -e, 1.0, 0.0]),
        u: DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 0.0]),
        b: DVector::zeros(2),
        g: DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 0.0, 1.0]),
        c: DVector::zeros(2),
        h0: DVector::zeros(2),
    };
    let recurrence = Recurrence {
        w: shift.w.clone(),
        u: shift.u.clone(),
        b: shift.b.clone(),
        h0: shift.h0.clone(),
    };
    let basis = choose_basis(&recurrence).expect("distinct eigenvalues have a basis");
    assert!(!basis.is_identity());
    let net = shift.network(false);
    let (normal, report) = normalise(&net, &mut judge_against(&net, 1e-4), false).unwrap();
    assert_eq!(report.passes[0].pass, "basis");
    assert_eq!(report.passes[0].changes, 0);
    assert_eq!(normal, net);
}
