//! The network IR's text form (print, parse, round-trip, errors) and the network verifier.

use ndarray::{ArrayD, IxDyn};
use nn2py::network::text::{parse, print, TextError};
use nn2py::network::validate::{validate_graph, validate_network};
use nn2py::network::{
    Activation, Cell, DType, Direction, Graph, Network, NodeId, Op, RecurrentAttrs, ScanAttrs,
    SequenceModel, Tensor, TensorType, TimeDirection, ValueDef, ValueId,
};

// ---------------------------------------------------------------------------------------------
// Builders

fn ty(dtype: DType, shape: &[usize]) -> TensorType {
    TensorType {
        dtype,
        shape: shape.to_vec(),
    }
}

fn f32s(shape: &[usize], data: Vec<f32>) -> Tensor {
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(shape), data).expect("test tensor shape"))
}

fn i64s(shape: &[usize], data: Vec<i64>) -> Tensor {
    Tensor::I64(ArrayD::from_shape_vec(IxDyn(shape), data).expect("test tensor shape"))
}

fn bools(shape: &[usize], data: Vec<bool>) -> Tensor {
    Tensor::Bool(ArrayD::from_shape_vec(IxDyn(shape), data).expect("test tensor shape"))
}

fn input(graph: &mut Graph, name: &str, t: TensorType) -> ValueId {
    let id = graph.add_value(name, t, ValueDef::Input(graph.inputs.len()));
    graph.inputs.push(id);
    id
}

/// Adds a one-result node and returns its result.
fn node1(
    graph: &mut Graph,
    name: &str,
    op: Op,
    inputs: &[ValueId],
    out: &str,
    t: TensorType,
) -> ValueId {
    let inputs = inputs.iter().map(|&v| Some(v)).collect();
    graph.add_node(name, op, inputs, vec![(out.to_string(), t)])[0]
}

fn recurrent(
    hidden_size: usize,
    direction: Direction,
    activations: Vec<Activation>,
) -> RecurrentAttrs {
    RecurrentAttrs {
        hidden_size,
        direction,
        activations,
        clip: None,
        batch_major: false,
    }
}

/// A Scan whose body adds each scan slice to the state and, through a nested Scan, also emits the
/// slice itself as a scan output.
fn scan_op(depth: usize) -> Op {
    let mut body = Graph::default();
    let s = input(&mut body, "s", ty(DType::F32, &[2]));
    let x = input(&mut body, "x", ty(DType::F32, &[2]));
    let s2 = node1(
        &mut body,
        "body_add",
        Op::Add,
        &[s, x],
        "s_next",
        ty(DType::F32, &[2]),
    );
    let y = if depth > 0 {
        body.add_node(
            "inner",
            scan_op(depth - 1),
            vec![Some(s), Some(x)],
            vec![
                ("inner_s".to_string(), ty(DType::F32, &[2])),
                ("inner_y".to_string(), ty(DType::F32, &[2])),
            ],
        )[1]
    } else {
        node1(&mut body, "", Op::Identity, &[x], "y", ty(DType::F32, &[2]))
    };
    body.outputs = vec![s2, y];
    Op::Scan(ScanAttrs {
        body: Box::new(body),
        num_scan_inputs: 1,
        scan_input_axes: vec![0],
        scan_input_reverse: vec![depth % 2 == 1],
        scan_output_axes: vec![0],
        scan_output_reverse: vec![false],
    })
}

/// A pointwise graph that uses every op and every attribute, constants of every element type
/// and of awkward values and shapes, and hostile names.
fn every_op_graph() -> Graph {
    let f = DType::F32;
    let mut g = Graph::default();
    let x = input(&mut g, "x", ty(f, &[1, 3]));
    let idx = input(&mut g, "a \"b\"\n", ty(DType::I64, &[2]));
    let w = g.add_const(
        "W",
        f32s(
            &[3, 2],
            vec![0.1, -0.0, 1e-7, f32::MAX, f32::MIN_POSITIVE, 1e-45],
        ),
    );
    let b = g.add_const("", f32s(&[2], vec![f32::INFINITY, f32::NEG_INFINITY]));
    let big = g.add_const(
        "big",
        f32s(&[4, 5], (0..20).map(|i| i as f32 * 0.25 - 2.0).collect()),
    );
    let long = g.add_const("long", i64s(&[11], (0..11).map(|i| i64::MIN + i).collect()));
    let cube = g.add_const("cube", i64s(&[2, 3, 2], (0..12).collect()));
    let mask = g.add_const("mask", bools(&[2, 2], vec![true, false, false, true]));
    let scalar = g.add_const("scalar", f32s(&[], vec![-2.5]));
    let empty = g.add_const("empty", f32s(&[0, 3], vec![]));
    let hollow = g.add_const("hollow", f32s(&[2, 0], vec![]));
    let gemm = g.add_node(
        "/fc/Gemm",
        Op::Gemm {
            alpha: 0.5,
            beta: 1.0,
            trans_a: false,
            trans_b: true,
        },
        vec![Some(x), Some(w), None],
        vec![("gemm".to_string(), ty(f, &[1, 2]))],
    )[0];
    let mm = node1(
        &mut g,
        "onnx::MatMul_3",
        Op::MatMul,
        &[x, w],
        "x",
        ty(f, &[1, 2]),
    );
    let add = node1(&mut g, "", Op::Add, &[gemm, b], "x", ty(f, &[1, 2]));
    let sub = node1(&mut g, "", Op::Sub, &[add, mm], "x", ty(f, &[1, 2]));
    let mul = node1(&mut g, "", Op::Mul, &[sub, scalar], "x~1", ty(f, &[1, 2]));
    let div = node1(&mut g, "", Op::Div, &[mul, scalar], "héllo", ty(f, &[1, 2]));
    let neg = node1(&mut g, "", Op::Neg, &[div], "\u{202e}evil", ty(f, &[1, 2]));
    let abs = node1(
        &mut g,
        "",
        Op::Abs,
        &[neg],
        "__import__('os').system('rm -rf /')",
        ty(f, &[1, 2]),
    );
    let exp = node1(&mut g, "", Op::Exp, &[abs], "exp", ty(f, &[1, 2]));
    let relu = node1(
        &mut g,
        "\"quoted\" node\t",
        Op::Relu,
        &[exp],
        "relu",
        ty(f, &[1, 2]),
    );
    let tanh = node1(&mut g, "", Op::Tanh, &[relu], "tanh", ty(f, &[1, 2]));
    let sig = node1(&mut g, "", Op::Sigmoid, &[tanh], "sig", ty(f, &[1, 2]));
    let cast = node1(
        &mut g,
        "",
        Op::Cast { to: DType::I64 },
        &[sig],
        "cast",
        ty(DType::I64, &[1, 2]),
    );
    let cat = node1(
        &mut g,
        "",
        Op::Concat { axis: 1 },
        &[x, sig, big],
        "cat",
        ty(f, &[1, 5]),
    );
    let gather = node1(
        &mut g,
        "",
        Op::Gather { axis: 1 },
        &[cat, idx],
        "gather",
        ty(f, &[1, 2]),
    );
    let slice = node1(
        &mut g,
        "",
        Op::Slice {
            starts: vec![0, -1],
            ends: vec![1, i64::MIN],
            axes: vec![0, 1],
            steps: vec![1, -1],
        },
        &[cat],
        "slice",
        ty(f, &[1, 5]),
    );
    let reshape = node1(
        &mut g,
        "",
        Op::Reshape { shape: vec![5, 1] },
        &[slice],
        "reshape",
        ty(f, &[5, 1]),
    );
    let tr = node1(
        &mut g,
        "",
        Op::Transpose { perm: vec![1, 0] },
        &[reshape],
        "tr",
        ty(f, &[1, 5]),
    );
    let sq = node1(
        &mut g,
        "",
        Op::Squeeze { axes: vec![0] },
        &[tr],
        "sq",
        ty(f, &[5]),
    );
    let unsq = node1(
        &mut g,
        "",
        Op::Unsqueeze { axes: vec![0, 2] },
        &[sq],
        "unsq",
        ty(f, &[1, 5, 1]),
    );
    let ident = node1(&mut g, "", Op::Identity, &[empty], "ident", ty(f, &[0, 3]));
    let soft = node1(
        &mut g,
        "",
        Op::Softmax { axis: 1 },
        &[tr],
        "soft",
        ty(f, &[1, 5]),
    );
    let argmax = node1(
        &mut g,
        "",
        Op::ArgMax {
            axis: 1,
            keepdims: true,
            select_last_index: false,
        },
        &[soft],
        "argmax",
        ty(DType::I64, &[1, 1]),
    );
    let seq = g.add_const("seq", f32s(&[2, 1, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    let wr = g.add_const("Wr", f32s(&[2, 2, 3], vec![0.5; 12]));
    let rr = g.add_const("Rr", f32s(&[2, 2, 2], vec![0.25; 8]));
    let rnn = g.add_node(
        "rnn",
        Op::Rnn(RecurrentAttrs {
            clip: Some(5.0),
            ..recurrent(
                2,
                Direction::Bidirectional,
                vec![Activation::Relu, Activation::LeakyRelu { alpha: 0.01 }],
            )
        }),
        vec![Some(seq), Some(wr), Some(rr), None, None, None],
        vec![
            ("rnn_y".to_string(), ty(f, &[2, 2, 1, 2])),
            ("rnn_h".to_string(), ty(f, &[2, 1, 2])),
        ],
    );
    let rnn_rev = g.add_node(
        "",
        Op::Rnn(RecurrentAttrs {
            batch_major: true,
            ..recurrent(2, Direction::Reverse, vec![Activation::Tanh])
        }),
        vec![Some(seq), Some(wr), Some(rr)],
        vec![("rnn_rev_y".to_string(), ty(f, &[2, 1, 1, 2]))],
    );
    let gru = g.add_node(
        "gru",
        Op::Gru {
            attrs: recurrent(
                2,
                Direction::Bidirectional,
                vec![
                    Activation::Sigmoid,
                    Activation::Affine {
                        alpha: 2.0,
                        beta: -1.0,
                    },
                    Activation::HardSigmoid {
                        alpha: 0.2,
                        beta: 0.5,
                    },
                    Activation::ScaledTanh {
                        alpha: 1.5,
                        beta: 0.75,
                    },
                ],
            ),
            linear_before_reset: true,
        },
        vec![Some(seq), Some(wr), Some(rr), Some(b), None, Some(x)],
        vec![
            ("gru_y".to_string(), ty(f, &[2, 2, 1, 2])),
            ("gru_h".to_string(), ty(f, &[2, 1, 2])),
        ],
    );
    let lstm = g.add_node(
        "lstm",
        Op::Lstm {
            attrs: recurrent(
                2,
                Direction::Bidirectional,
                vec![
                    Activation::ThresholdedRelu { alpha: 1.0 },
                    Activation::Elu { alpha: 0.3 },
                    Activation::Softsign,
                    Activation::Softplus,
                    Activation::Tanh,
                    Activation::Sigmoid,
                ],
            ),
            input_forget: true,
        },
        vec![
            Some(seq),
            Some(wr),
            Some(rr),
            None,
            None,
            None,
            None,
            Some(b),
        ],
        vec![
            ("lstm_y".to_string(), ty(f, &[2, 2, 1, 2])),
            ("lstm_h".to_string(), ty(f, &[2, 1, 2])),
            ("lstm_c".to_string(), ty(f, &[2, 1, 2])),
        ],
    );
    let s0 = g.add_const("s0", f32s(&[2], vec![0.0, 0.0]));
    let xs = g.add_const("xs", f32s(&[3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    let scan = g.add_node(
        "scan",
        scan_op(2),
        vec![Some(s0), Some(xs)],
        vec![
            ("scan_s".to_string(), ty(f, &[2])),
            ("scan_ys".to_string(), ty(f, &[3, 2])),
        ],
    );
    g.outputs = vec![
        cast, gather, unsq, ident, argmax, rnn[0], rnn[1], rnn_rev[0], gru[1], lstm[2], scan[1],
        long, cube, mask, hollow, x,
    ];
    g
}

/// An Elman-style cell: `h' = tanh(W [h, x] + b)`, `y = V h'`.
fn elman_sequence(direction: TimeDirection) -> SequenceModel {
    let f = DType::F32;
    let mut g = Graph::default();
    let x = input(&mut g, "x_t", ty(f, &[1, 1]));
    let h = input(&mut g, "h", ty(f, &[1, 2]));
    let w = g.add_const("W", f32s(&[3, 2], vec![0.5, -0.25, 1.0, 0.75, -1.5, 2.0]));
    let bias = g.add_const("b", f32s(&[2], vec![0.125, -0.125]));
    let v = g.add_const("V", f32s(&[2, 1], vec![1.0, -1.0]));
    let cat = node1(
        &mut g,
        "/Concat_1",
        Op::Concat { axis: 1 },
        &[h, x],
        "cat",
        ty(f, &[1, 3]),
    );
    let pre = g.add_node(
        "/Gemm",
        Op::Gemm {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: false,
        },
        vec![Some(cat), Some(w), Some(bias)],
        vec![("pre".to_string(), ty(f, &[1, 2]))],
    )[0];
    let h_next = node1(&mut g, "/Tanh", Op::Tanh, &[pre], "h_next", ty(f, &[1, 2]));
    let y = node1(
        &mut g,
        "/MatMul",
        Op::MatMul,
        &[h_next, v],
        "y",
        ty(f, &[1, 1]),
    );
    g.outputs = vec![y, h_next];
    SequenceModel {
        cell: Cell {
            step: g,
            init: vec![f32s(&[1, 2], vec![0.0, 0.0])],
            direction,
        },
        length: 10,
        input_dim: 1,
        output_dim: 1,
        input_dtype: f,
        output_dtype: f,
    }
}

fn read_fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/network/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Round trip

/// Prints, parses back, and checks that the network and the text both survive.
fn check_round_trip(network: &Network) -> String {
    let text = print(network);
    let parsed = parse(&text).unwrap_or_else(|e| panic!("{e:?} in\n{text}"));
    assert_eq!(&parsed, network, "parse(print(n)) != n for\n{text}");
    assert_eq!(print(&parsed), text);
    text
}

#[test]
fn every_op_and_attribute_round_trips() {
    let graph = every_op_graph();
    validate_graph(&graph).expect("the every-op graph is well formed");
    let text = check_round_trip(&Network::Pointwise(graph));
    // Spot checks of the layout the round trip alone would not pin down.
    assert!(text.starts_with("network pointwise graph {\n  input %x: f32[1, 3]\n"));
    assert!(text.contains(
        "  const %W: f32[3, 2] = [[0.1, -0.0], [1e-7, 3.4028235e38], [1.1754944e-38, 1e-45]]\n"
    ));
    assert!(text.contains("  const %\"\": f32[2] = [inf, -inf]\n"));
    assert!(text.contains("  const %empty: f32[0, 3] = []\n"));
    assert!(text.contains("  const %hollow: f32[2, 0] = [[], []]\n"));
    assert!(text.contains("  const %scalar: f32[] = -2.5\n"));
    assert!(text.contains(
        "  %gemm: f32[1, 2] = Gemm(%x, %W, _) {alpha = 0.5, beta = 1.0, trans_a = false, trans_b = true} @/fc/Gemm\n"
    ));
    assert!(text.contains("= MatMul(%x, %W) @\"onnx::MatMul_3\"\n"));
    assert!(text.contains(
        "activations = [Relu, LeakyRelu(alpha = 0.01)], clip = 5.0, batch_major = false}"
    ));
    assert!(text.contains("\n    input %s: f32[2]\n"));
    assert!(text.contains("\n        %y: f32[2] = Identity(%x)\n"));
}

#[test]
fn big_constants_wrap_one_row_per_line() {
    let text = print(&Network::Pointwise(every_op_graph()));
    assert!(text.contains(
        "  const %big: f32[4, 5] = [\n    [-2.0, -1.75, -1.5, -1.25, -1.0],\n    [-0.75, -0.5, -0.25, 0.0, 0.25],\n"
    ));
    assert!(text.contains("    [1.75, 2.0, 2.25, 2.5, 2.75]\n  ]\n"));
    assert!(text.contains(
        "  const %long: i64[11] = [\n    -9223372036854775808, -9223372036854775807, -9223372036854775806,"
    ));
    assert!(text.contains("  const %cube: i64[2, 3, 2] = [\n    [[0, 1], [2, 3], [4, 5]],\n"));
}

#[test]
fn duplicate_and_hostile_names_round_trip_and_print_escaped() {
    let text = print(&Network::Pointwise(every_op_graph()));
    // Four values are named "x": the input and three node results; "x~1" is another name.
    assert!(text.contains("  %x~1: f32[1, 2] = MatMul(%x, %W) @\"onnx::MatMul_3\"\n"));
    assert!(text.contains("  %x~2: f32[1, 2] = Add(%gemm, %\"\")\n"));
    assert!(text.contains("  %x~3: f32[1, 2] = Sub(%x~2, %x~1)\n"));
    assert!(text.contains("  %\"x~1\": f32[1, 2] = Mul(%x~3, %scalar)\n"));
    assert!(text.contains("  input %\"a \\\"b\\\"\\n\": i64[2]\n"));
    assert!(text.contains("%\"\\u{202e}evil\""));
    assert!(text.contains("%\"__import__('os').system('rm -rf /')\""));
    assert!(text.contains("@\"\\\"quoted\\\" node\\t\""));
    assert!(!text.contains('\u{202e}'));
    // One line per node: no name leaks a raw newline.
    assert_eq!(text.lines().filter(|l| l.contains("= Neg(")).count(), 1);
}

#[test]
fn sequence_models_round_trip() {
    for direction in [TimeDirection::Forward, TimeDirection::Reverse] {
        let network = Network::Sequence(elman_sequence(direction));
        validate_network(&network).expect("the Elman cell is well formed");
        check_round_trip(&network);
    }
    let mut model = elman_sequence(TimeDirection::Forward);
    model.input_dtype = DType::I64;
    model.output_dtype = DType::Bool;
    model.cell.init = vec![f32s(&[1, 2], vec![1.5, -0.5]), bools(&[], vec![true])];
    check_round_trip(&Network::Sequence(model));
}

#[test]
fn nodes_without_results_and_graphs_without_outputs_round_trip() {
    let mut g = Graph::default();
    let x = input(&mut g, "x", ty(DType::F32, &[1]));
    g.add_node("sink", Op::Neg, vec![Some(x)], vec![]);
    let text = check_round_trip(&Network::Pointwise(g));
    assert_eq!(
        text,
        "network pointwise graph {\n  input %x: f32[1]\n  = Neg(%x) @sink\n}\n"
    );
    check_round_trip(&Network::Pointwise(Graph::default()));
}

#[test]
fn invalid_graphs_print_without_panicking() {
    let mut g = small_graph();
    g.nodes[1].inputs[0] = Some(ValueId(99));
    g.outputs.push(ValueId(77));
    let text = print(&Network::Pointwise(g));
    assert!(text.contains("= Relu(%!99)"), "{text}");
    assert!(text.contains("output %y, %!77"), "{text}");
    let e = parse(&text).expect_err("an invalid handle does not parse");
    assert!(e.message.starts_with("syntax error"), "{}", e.message);
}

#[test]
fn nan_prints_as_nan_and_parses_back() {
    let mut g = Graph::default();
    let c = g.add_const("c", f32s(&[3], vec![f32::NAN, 1.0, -f32::NAN]));
    g.outputs = vec![c];
    let text = print(&Network::Pointwise(g));
    assert!(text.contains("= [nan, 1.0, nan]"));
    let Ok(Network::Pointwise(back)) = parse(&text) else {
        panic!("did not parse back: {text}");
    };
    let Some(Tensor::F32(a)) = back.constant(c) else {
        panic!("constant lost");
    };
    let v: Vec<f32> = a.iter().copied().collect();
    assert!(v[0].is_nan() && v[1] == 1.0 && v[2].is_nan());
}

#[test]
fn printed_every_op_network_snapshot() {
    // The Elman cell's printed form is pinned by `tests/fixtures/network/elman_cell.nnn`; this
    // snapshot pins the rest of the layout: every op, wrapping, nested Scan bodies, escapes.
    let text = print(&Network::Pointwise(every_op_graph()));
    insta::with_settings!({snapshot_path => "../snapshots"}, {
        insta::assert_snapshot!("network_text_every_op", text);
    });
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Fixtures written in printed form: they parse, verify, and print back to the same text.
#[test]
fn canonical_fixtures_parse_verify_and_print_back() {
    for name in [
        "mlp.nnn",
        "elman_cell.nnn",
        "scan_cumsum.nnn",
        "lstm_last.nnn",
    ] {
        let text = read_fixture(name);
        let network = parse(&text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        validate_network(&network).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(print(&network), text, "{name} is not in printed form");
    }
}

#[test]
fn elman_fixture_is_the_hand_built_cell() {
    let network = parse(&read_fixture("elman_cell.nnn")).expect("parses");
    assert_eq!(
        network,
        Network::Sequence(elman_sequence(TimeDirection::Forward))
    );
}

#[test]
fn free_form_fixture_with_comments_parses() {
    let network = parse(&read_fixture("free_form.nnn")).expect("parses");
    validate_network(&network).expect("verifies");
    let Network::Pointwise(g) = &network else {
        panic!("expected a pointwise network");
    };
    assert_eq!(g.nodes.len(), 2);
    assert_eq!(g.nodes[0].name, "first node");
    assert_eq!(g.value(g.outputs[0]).name, "out put");
    assert_eq!(
        g.constant(ValueId(1)),
        Some(&f32s(&[2, 2], vec![1.0, 2.0, 3.0, 4e-3]))
    );
    assert_eq!(g.value(ValueId(0)).name, "é\u{202e}");
}

/// Runs after merge: needs `network::interp`.
#[test]
fn mlp_fixture_evaluates_to_hand_computed_output() {
    let network = parse(&read_fixture("mlp.nnn")).expect("parses");
    let x = f32s(&[1, 3], vec![1.0, 2.0, -1.0]);
    let y = nn2py::network::interp::run_network(&network, &[x]).expect("runs");
    // h = relu(x W^T + b) = relu([1 + 1 - 0.5 + 0.5, -1 + 0 + 0 - 1]) = [2, 0]; y = h V + c.
    assert_eq!(y, vec![f32s(&[1, 1], vec![2.0 * 1.5 + 0.25])]);
}

// ---------------------------------------------------------------------------------------------
// Parse errors

/// Parses `source`, expecting an error whose message contains `message` and whose span covers
/// exactly `at` (its last occurrence in `source`).
fn check_error(source: &str, message: &str, at: &str) {
    let TextError { message: got, span } = match parse(source) {
        Ok(n) => panic!("parsed, expected error {message:?}: {n:?}"),
        Err(e) => e,
    };
    assert!(got.contains(message), "message {got:?} lacks {message:?}");
    let start = source.rfind(at).expect("test anchor present");
    assert_eq!(span, start..start + at.len(), "message {got:?}");
}

fn pointwise(body: &str) -> String {
    format!("network pointwise graph {{\n{body}\n}}\n")
}

#[test]
fn syntax_errors_point_at_the_offending_text() {
    let src = pointwise("  input %x f32[1]");
    let e = parse(&src).expect_err("missing colon");
    assert!(
        e.message.starts_with("syntax error: expected"),
        "{}",
        e.message
    );
    let at = src.find("f32").expect("anchor");
    assert_eq!(e.span.start, at);

    assert_eq!(e.message, "syntax error: expected `:`");

    let e = parse("network pointwise graph {").expect_err("unclosed");
    assert_eq!(e.span.start, 25);
    assert!(e.message.contains("`}`"), "{}", e.message);

    let src = pointwise("  input %x: f32[1]\n  %y: f32[1] = Neg(%x\n  output %y");
    let e = parse(&src).expect_err("unclosed operands");
    assert_eq!(e.message, "syntax error: expected `,` or `)`");
    assert_eq!(e.span.start, src.find("output").expect("anchor"));

    let e = parse("network pointwise grap {}").expect_err("typo");
    assert_eq!(e.span.start, 18);
    assert!(e.message.contains("`graph`"), "{}", e.message);
}

#[test]
fn semantic_errors_name_the_problem_and_its_span() {
    check_error(
        &pointwise("  input %x: f32[1]\n  %y: f32[1] = Neg(%z)"),
        "undefined value %z",
        "%z",
    );
    check_error(
        &pointwise("  %y: f32[1] = Neg(%y)"),
        "undefined value %y",
        "%y",
    );
    check_error(
        &pointwise("  input %x: f32[1]\n  input %x: f32[2]"),
        "value %x is defined twice",
        "%x",
    );
    check_error(
        &pointwise("  input %x: f32[1]\n  %y: f32[1] = Concat(%x)"),
        "Concat is missing attribute `axis`",
        "Concat",
    );
    check_error(
        &pointwise("  input %x: f32[1]\n  %y: f32[1] = Concat(%x) {axis = -1}"),
        "attribute `axis` of Concat must be a non-negative integer, found `-1`",
        "-1",
    );
    check_error(
        &pointwise("  input %x: f32[1]\n  %y: f32[1] = Concat(%x) {axis = 0, colour = 1}"),
        "unknown attribute `colour` for Concat",
        "colour",
    );
    check_error(
        &pointwise("  input %x: f32[1]\n  %y: f32[1] = Concat(%x) {axis = 0, axis = 0}"),
        "attribute `axis` of Concat is given twice",
        "axis",
    );
    check_error(
        &pointwise("  input %x: f32[1]\n  %y: f32[1] = Neg(%x) {axis = 0}"),
        "unknown attribute `axis` for Neg",
        "axis",
    );
    check_error(
        &pointwise("  input %x: f32[1]\n  %y: f32[1] = Frobnicate(%x)"),
        "unknown op `Frobnicate`",
        "Frobnicate",
    );
    check_error(
        &pointwise("  input %x: f16[1]"),
        "unknown element type `f16`",
        "f16",
    );
    check_error(
        &pointwise("  const %c: f32[2, 3] = [[1, 2, 3], [4, 5]]"),
        "data does not match f32[2, 3]: expected 3 elements along axis 1, found 2",
        "[4, 5]",
    );
    check_error(
        &pointwise("  const %c: f32[2] = 1.0"),
        "expected a list of 2 elements along axis 0, found a single element",
        "1.0",
    );
    check_error(
        &pointwise("  const %c: i64[2] = [1, 1.5]"),
        "`1.5` is not an i64",
        "1.5",
    );
    check_error(
        &pointwise("  const %c: bool[1] = [1]"),
        "`1` is not `true` or `false`",
        "1",
    );
    check_error(
        &pointwise("  input %\"a\\qb\": f32[1]"),
        "unknown escape `\\q`",
        "\\q",
    );
    check_error(
        &pointwise("  input %\"a\\u{110000}\": f32[1]"),
        "invalid unicode escape",
        "\\u",
    );
    check_error(
        &pointwise("  input %x: f32[99999999999999999999999]"),
        "dimension is too large",
        "99999999999999999999999",
    );
    check_error(
        &pointwise(
            "  input %x: f32[1, 1, 1]\n  input %w: f32[1, 3, 1]\n  input %r: f32[1, 3, 1]\n  \
             %y: f32[1, 1, 1, 1] = RNN(%x, %w, %r) {hidden_size = 1, direction = forward, \
             activations = [Swish], clip = none, batch_major = false}",
        ),
        "unknown activation `Swish`",
        "Swish",
    );
    check_error(
        &pointwise(
            "  input %x: f32[1, 1, 1]\n  \
             %y: f32[1, 1, 1, 1] = RNN(%x, %x, %x) {hidden_size = 1, direction = sideways, \
             activations = [Tanh], clip = none, batch_major = false}",
        ),
        "attribute `direction` of RNN must be `forward`, `reverse` or `bidirectional`, found `sideways`",
        "sideways",
    );
    check_error(
        &pointwise(
            "  input %x: f32[1, 1, 1]\n  \
             %y: f32[1, 1, 1, 1] = RNN(%x, %x, %x) {hidden_size = 1, direction = forward, \
             activations = [LeakyRelu], clip = none, batch_major = false}",
        ),
        "activation LeakyRelu is missing attribute `alpha`",
        "LeakyRelu",
    );
}

#[test]
fn errors_inside_a_scan_body_point_into_the_body() {
    let src = pointwise(
        "  input %s: f32[1]\n  %t: f32[1] = Scan(%s, %s) {num_scan_inputs = 1, \
         scan_input_axes = [0], scan_input_reverse = [false], scan_output_axes = [], \
         scan_output_reverse = [], body = graph {\n    input %a: f32[1]\n    input %b: f32[1]\n    \
         %c: f32[1] = Add(%a, %s)\n    output %c\n  }}",
    );
    // `%s` is a value of the outer graph: the body cannot see it.
    check_error(&src, "undefined value %s", "%s");
}

#[test]
fn sequence_header_errors_are_reported() {
    let text = print(&Network::Sequence(elman_sequence(TimeDirection::Forward)));
    let broken = text.replace("input_dim = 1, ", "");
    let header = &broken[17..broken.find('\n').expect("header line")];
    assert!(header.starts_with("{length") && header.ends_with('}'));
    check_error(
        &broken,
        "network sequence is missing attribute `input_dim`",
        header,
    );
    let broken = text.replace("direction = forward", "direction = bidirectional");
    check_error(
        &broken,
        "attribute `direction` of network sequence must be `forward` or `reverse`",
        "bidirectional",
    );
    let broken = text.replace("init f32[1, 2] = [[0.0, 0.0]]", "init f32[1, 2] = [[0.0]]");
    check_error(
        &broken,
        "expected 2 elements along axis 1, found 1",
        "[0.0]",
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let depth = 10_000;
    let src = pointwise(&format!(
        "  const %c: f32[1] = {}1.0{}",
        "[".repeat(depth),
        "]".repeat(depth)
    ));
    let e = parse(&src).expect_err("too deep");
    assert!(e.message.contains("nesting deeper than"), "{}", e.message);
    // Nesting just under the limit still parses (and reports the shape mismatch).
    let shape = vec!["1"; 60].join(", ");
    let src = pointwise(&format!(
        "  const %c: f32[{shape}] = {}1.0{}",
        "[".repeat(60),
        "]".repeat(60)
    ));
    let Ok(Network::Pointwise(g)) = parse(&src) else {
        panic!("60 levels should parse");
    };
    assert_eq!(g.value(ValueId(0)).ty.shape.len(), 60);
}

// ---------------------------------------------------------------------------------------------
// Verifier

/// `x -> Add(x, c) -> Relu -> y`, valid.
fn small_graph() -> Graph {
    let f = DType::F32;
    let mut g = Graph::default();
    let x = input(&mut g, "x", ty(f, &[1, 2]));
    let c = g.add_const("c", f32s(&[2], vec![1.0, 2.0]));
    let s = node1(&mut g, "add", Op::Add, &[x, c], "s", ty(f, &[1, 2]));
    let y = node1(&mut g, "", Op::Relu, &[s], "y", ty(f, &[1, 2]));
    g.outputs = vec![y];
    g
}

fn check_rejects(graph: &Graph, message: &str) {
    match validate_graph(graph) {
        Ok(()) => panic!("accepted, expected {message:?}"),
        Err(e) => assert!(
            e.message.contains(message),
            "{:?} lacks {message:?}",
            e.message
        ),
    }
}

#[test]
fn verifier_accepts_well_formed_graphs() {
    validate_graph(&small_graph()).expect("small graph");
    validate_graph(&Graph::default()).expect("empty graph");
}

#[test]
fn verifier_rejects_bad_handles() {
    let mut g = small_graph();
    g.nodes[1].inputs[0] = Some(ValueId(99));
    check_rejects(
        &g,
        "node 1 (Relu) has operand 0 with handle 99, out of range (4 values)",
    );
    let mut g = small_graph();
    g.outputs.push(ValueId(7));
    check_rejects(&g, "graph output 1 is handle 7, out of range");
    let mut g = small_graph();
    g.inputs.push(ValueId(12));
    check_rejects(&g, "graph input 1 is handle 12, out of range");
    let mut g = small_graph();
    g.nodes[0].outputs.push(ValueId(40));
    check_rejects(
        &g,
        "node 0 \"add\" (Add) has result 1 with handle 40, out of range",
    );
}

#[test]
fn verifier_rejects_inconsistent_definitions() {
    let mut g = small_graph();
    g.values[2].def = ValueDef::Node(NodeId(1), 0);
    check_rejects(
        &g,
        "value %s is defined as output 0 of node 1, which does not list it there",
    );
    let mut g = small_graph();
    g.nodes[1].outputs = vec![ValueId(2)];
    check_rejects(&g, "value %y is defined as output 0 of node 1");
    let mut g = small_graph();
    g.values[0].def = ValueDef::Const(f32s(&[1, 2], vec![0.0, 0.0]));
    check_rejects(
        &g,
        "graph input 0 is value %x, which is defined as a constant",
    );
    let mut g = small_graph();
    g.values[1].def = ValueDef::Input(0);
    check_rejects(
        &g,
        "value %c is defined as graph input 0, but the graph's input list",
    );
    let mut g = small_graph();
    g.values[1].ty = ty(DType::F32, &[1, 2]);
    check_rejects(
        &g,
        "constant %c is declared f32[1, 2] but its tensor is f32[2]",
    );
    let mut g = small_graph();
    g.values[3].ty = ty(DType::F32, &[usize::MAX, 2]);
    check_rejects(
        &g,
        "value %y has type f32[18446744073709551615, 2] whose element count overflows",
    );
}

#[test]
fn verifier_rejects_nodes_out_of_order() {
    let mut g = small_graph();
    g.nodes.swap(0, 1);
    for (i, node) in g.nodes.iter().enumerate() {
        for (j, &out) in node.outputs.iter().enumerate() {
            g.values[out.0 as usize].def = ValueDef::Node(NodeId(i as u32), j);
        }
    }
    check_rejects(
        &g,
        "node 0 (Relu) reads %s (operand 0), which is defined by node 1",
    );
    let mut g = small_graph();
    g.nodes[1].inputs[0] = Some(ValueId(3));
    check_rejects(
        &g,
        "node 1 (Relu) reads %y (operand 0), which is defined by node 1",
    );
}

#[test]
fn verifier_checks_operand_and_result_counts() {
    let mut g = small_graph();
    g.nodes[0].inputs.pop();
    check_rejects(&g, "node 0 \"add\" (Add) has 1 operands, expected 2");
    let mut g = small_graph();
    g.nodes[0].inputs[1] = None;
    check_rejects(
        &g,
        "node 0 \"add\" (Add) lacks operand 1, which is required",
    );
    let mut g = small_graph();
    g.nodes[0].op = Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: false,
    };
    g.nodes[0].inputs.push(None);
    validate_graph(&g).expect("Gemm's C is optional");
    g.nodes[0].inputs.push(None);
    check_rejects(&g, "(Gemm) has 4 operands, expected 2 to 3");
    let mut g = small_graph();
    g.nodes[0].op = Op::Concat { axis: 1 };
    g.nodes[0].inputs.clear();
    check_rejects(&g, "(Concat) has 0 operands, expected at least 1");

    let mut g = small_graph();
    let x = g.inputs[0];
    let outs: Vec<(String, TensorType)> = (0..4)
        .map(|i| (format!("o{i}"), ty(DType::F32, &[1])))
        .collect();
    g.add_node(
        "lstm",
        Op::Lstm {
            attrs: recurrent(
                1,
                Direction::Forward,
                vec![Activation::Sigmoid, Activation::Tanh, Activation::Tanh],
            ),
            input_forget: false,
        },
        vec![Some(x), Some(x), Some(x)],
        outs,
    );
    check_rejects(&g, "node 2 \"lstm\" (LSTM) has 4 results, expected 1 to 3");
}

#[test]
fn verifier_checks_attribute_lists() {
    let mut g = small_graph();
    g.nodes[1].op = Op::Slice {
        starts: vec![0],
        ends: vec![1, 2],
        axes: vec![0],
        steps: vec![1],
    };
    check_rejects(
        &g,
        "node 1 (Slice) has 1 starts, 2 ends, 1 axes and 1 steps",
    );
    g.nodes[1].op = Op::Slice {
        starts: vec![0],
        ends: vec![1],
        axes: vec![0],
        steps: vec![0],
    };
    check_rejects(&g, "node 1 (Slice) has a zero step");
    let x = g.inputs[0];
    g.nodes[1].op = Op::Gru {
        attrs: recurrent(
            2,
            Direction::Bidirectional,
            vec![Activation::Sigmoid, Activation::Tanh],
        ),
        linear_before_reset: false,
    };
    g.nodes[1].inputs = vec![Some(x), Some(x), Some(x)];
    check_rejects(
        &g,
        "node 1 (GRU) has 2 activations, expected 4 (2 per direction)",
    );
    g.nodes[1].op = Op::Rnn(recurrent(0, Direction::Forward, vec![Activation::Tanh]));
    check_rejects(&g, "node 1 (RNN) has hidden_size 0");
}

fn scan_graph() -> Graph {
    let mut g = Graph::default();
    let s0 = input(&mut g, "s0", ty(DType::F32, &[2]));
    let xs = input(&mut g, "xs", ty(DType::F32, &[3, 2]));
    let outs = g.add_node(
        "scan",
        scan_op(1),
        vec![Some(s0), Some(xs)],
        vec![
            ("s".to_string(), ty(DType::F32, &[2])),
            ("ys".to_string(), ty(DType::F32, &[3, 2])),
        ],
    );
    g.outputs = outs;
    g
}

fn scan_attrs(g: &mut Graph) -> &mut ScanAttrs {
    match &mut g.nodes[0].op {
        Op::Scan(attrs) => attrs,
        other => panic!("expected Scan, found {other:?}"),
    }
}

#[test]
fn verifier_checks_scan_counts_and_bodies() {
    validate_graph(&scan_graph()).expect("scan graph");
    let mut g = scan_graph();
    scan_attrs(&mut g).num_scan_inputs = 3;
    check_rejects(
        &g,
        "node 0 \"scan\" (Scan) has num_scan_inputs = 3, expected 1 to 2",
    );
    let mut g = scan_graph();
    scan_attrs(&mut g).scan_output_axes.push(1);
    check_rejects(
        &g,
        "node 0 \"scan\" (Scan) has 2 entries in scan_output_axes, expected 1",
    );
    let mut g = scan_graph();
    scan_attrs(&mut g).body.outputs.pop();
    check_rejects(
        &g,
        "has 2 operands and 2 results but its body has 2 inputs and 1 outputs",
    );
    let mut g = scan_graph();
    // Break the innermost body: its Identity reads a handle that does not exist.
    if let Op::Scan(inner) = &mut scan_attrs(&mut g).body.nodes[1].op {
        inner.body.nodes[1].inputs[0] = Some(ValueId(50));
    }
    check_rejects(
        &g,
        "in the body of node 0 \"scan\" (Scan): in the body of node 1 \"inner\" (Scan): node 1 (Identity) has operand 0 with handle 50",
    );
}

fn check_rejects_sequence(model: SequenceModel, message: &str) {
    match validate_network(&Network::Sequence(model)) {
        Ok(()) => panic!("accepted, expected {message:?}"),
        Err(e) => assert!(
            e.message.contains(message),
            "{:?} lacks {message:?}",
            e.message
        ),
    }
}

#[test]
fn verifier_checks_the_cell_contract() {
    let mut m = elman_sequence(TimeDirection::Forward);
    m.cell.init.push(f32s(&[1], vec![0.0]));
    check_rejects_sequence(m, "the cell step graph has 2 inputs, expected 3");

    let mut m = elman_sequence(TimeDirection::Forward);
    m.cell.step.outputs.swap(0, 1);
    check_rejects_sequence(
        m,
        "state 0: output %y is f32[1, 1] but input %h is f32[1, 2]",
    );

    let mut m = elman_sequence(TimeDirection::Forward);
    m.cell.init[0] = f32s(&[2], vec![0.0, 0.0]);
    check_rejects_sequence(
        m,
        "state 0: input %h is f32[1, 2] but its initial tensor is f32[2]",
    );

    let mut m = elman_sequence(TimeDirection::Forward);
    m.input_dim = 3;
    check_rejects_sequence(
        m,
        "x_t %x_t is f32[1, 1], expected 3 elements of f32 (input_dim = 3",
    );

    let mut m = elman_sequence(TimeDirection::Forward);
    m.output_dtype = DType::I64;
    check_rejects_sequence(m, "y_t %y is f32[1, 1], expected 1 elements of i64");

    let mut m = elman_sequence(TimeDirection::Forward);
    m.input_dtype = DType::Bool;
    check_rejects_sequence(m, "input_dtype is bool, expected f32 or i64");

    let mut m = elman_sequence(TimeDirection::Forward);
    m.cell.step.nodes[2].op = Op::Rnn(recurrent(2, Direction::Forward, vec![Activation::Tanh]));
    m.cell.step.nodes[2].inputs = vec![Some(ValueId(6)); 3];
    check_rejects_sequence(
        m,
        "the cell step graph must not contain recurrent ops, but node 2 \"/Tanh\" (RNN) is one",
    );

    let mut m = elman_sequence(TimeDirection::Forward);
    m.cell.step.nodes[0].inputs[0] = None;
    check_rejects_sequence(
        m,
        "in the cell step graph: node 0 \"/Concat_1\" (Concat) lacks operand 0",
    );
}
