//! The generator behind [`super::random_network_of`]: one function per style, writing nodes and
//! initialisers through [`super::proto::GraphBuilder`].

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{GraphProto, ValueInfoProto};

use super::proto::{encode_model, value_info, Dim, GraphBuilder};
use super::{InputSpec, RandomNetwork, Style};
use crate::front::metadata::{DOMAIN_METADATA_KEY, LENGTH_METADATA_KEY};
use crate::network::DType;
use crate::onnx_write::{
    float_attr, graph_attr, int_attr, ints_attr, string_attr, strings_attr, zero_value_attr,
};
use crate::rng::SplitMix64;

/// Draws a model of `style` from `seed`.
pub(super) fn generate(style: Style, seed: u64) -> RandomNetwork {
    let mut g = Gen {
        rng: SplitMix64::new(seed),
        notes: Vec::new(),
    };
    let drawn = match style {
        Style::Mlp => g.mlp(),
        Style::TwoInputs => g.two_inputs(),
        Style::Embedding => g.embedding(),
        Style::Rnn => g.recurrent(Recurrent::Rnn),
        Style::Gru => g.recurrent(Recurrent::Gru),
        Style::Lstm => g.recurrent(Recurrent::Lstm),
        Style::Scan => g.scan(),
        Style::Unrolled => g.unrolled(),
    };
    let mut metadata = vec![(DOMAIN_METADATA_KEY, drawn.domain.clone())];
    if let Some(length) = drawn.length {
        metadata.push((LENGTH_METADATA_KEY, length.to_string()));
    }
    RandomNetwork {
        seed,
        style,
        description: format!("{} seed {seed}: {}", style.name(), g.notes.join(", ")),
        onnx: encode_model(drawn.graph, &metadata),
        domain: drawn.domain,
        length: drawn.length,
        inputs: drawn.inputs,
    }
}

/// A drawn graph with its domain, length and inputs.
struct Drawn {
    graph: GraphProto,
    domain: String,
    length: Option<usize>,
    inputs: Vec<InputSpec>,
}

/// The three recurrent ONNX ops.
#[derive(Debug, Clone, Copy)]
enum Recurrent {
    Rnn,
    Gru,
    Lstm,
}

/// Elementwise ops placed after an affine layer.
const POINTWISE_ACTIVATIONS: [&str; 7] = ["Relu", "Tanh", "Sigmoid", "Abs", "Neg", "Exp", ""];
/// Activations of a recurrent step (bounded or piecewise linear, so states stay moderate).
const STEP_ACTIVATIONS: [&str; 3] = ["Tanh", "Relu", "Sigmoid"];

struct Gen {
    rng: SplitMix64,
    /// The choices made, in order, for the description.
    notes: Vec<String>,
}

impl Gen {
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        self.rng.int_in(lo as i64, hi as i64) as usize
    }

    fn coin(&mut self) -> bool {
        self.rng.int_in(0, 1) == 1
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.int(0, items.len() - 1)]
    }

    fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// A real domain for float inputs: `-1.0..1.0`, `-2.0..2.0` or `0.0..1.0`, or small integers.
    fn float_domain(&mut self) -> String {
        self.pick(&["-1.0..1.0", "-2.0..2.0", "0.0..1.0", "-3..=3", "0..4"])
            .to_string()
    }

    // ------------------------------------------------------------------ pointwise styles

    fn mlp(&mut self) -> Drawn {
        let d = self.int(1, 3);
        let domain = self.float_domain();
        self.note(format!("x [N, {d}] in {domain}"));
        let mut b = GraphBuilder::new("");
        let (y, out) = self.mlp_body(&mut b, "x".to_string(), d);
        let output = self.head(&mut b, &y, out);
        Drawn {
            graph: b.graph(
                "synth_mlp",
                vec![value_info(
                    "x",
                    DataType::Float,
                    &[Dim::Symbolic("N"), Dim::Fixed(d)],
                )],
                vec![output],
            ),
            domain,
            length: None,
            inputs: vec![float_input("x", &[1, d])],
        }
    }

    fn two_inputs(&mut self) -> Drawn {
        let (d1, d2) = (self.int(1, 3), self.int(1, 3));
        let (r1, r2) = (self.float_domain(), self.float_domain());
        let axis = if self.coin() { 1 } else { -1 };
        self.note(format!(
            "a [N, {d1}] in {r1}, b [N, {d2}] in {r2}, Concat axis {axis}"
        ));
        let mut b = GraphBuilder::new("");
        let cat = b.op("Concat", &["a", "b"], vec![int_attr("axis", axis)]);
        let (y, out) = self.mlp_body(&mut b, cat, d1 + d2);
        let output = self.head(&mut b, &y, out);
        Drawn {
            graph: b.graph(
                "synth_two_inputs",
                vec![
                    value_info("a", DataType::Float, &[Dim::Symbolic("N"), Dim::Fixed(d1)]),
                    value_info("b", DataType::Float, &[Dim::Symbolic("N"), Dim::Fixed(d2)]),
                ],
                vec![output],
            ),
            domain: format!("{r1},{r2}"),
            length: None,
            inputs: vec![float_input("a", &[1, d1]), float_input("b", &[1, d2])],
        }
    }

    fn embedding(&mut self) -> Drawn {
        let (k, vocab, e) = (self.int(1, 3), self.int(2, 6), self.int(1, 4));
        let flatten = self.coin();
        self.note(format!(
            "tokens [N, {k}] in 0..{vocab}, table [{vocab}, {e}], {}",
            if flatten { "Flatten" } else { "Reshape" }
        ));
        let mut b = GraphBuilder::new("");
        let table = b.weights(&mut self.rng, "table", &[vocab, e], 1.0);
        let looked = b.op("Gather", &[&table, "tokens"], vec![int_attr("axis", 0)]);
        let flat = if flatten {
            b.op("Flatten", &[&looked], vec![int_attr("axis", 1)])
        } else {
            let shape = b.i64("shape", &[2], &[-1, (k * e) as i64]);
            b.op("Reshape", &[&looked, &shape], vec![])
        };
        let (y, out) = self.mlp_body(&mut b, flat, k * e);
        let output = self.head(&mut b, &y, out);
        Drawn {
            graph: b.graph(
                "synth_embedding",
                vec![value_info(
                    "tokens",
                    DataType::Int64,
                    &[Dim::Symbolic("N"), Dim::Fixed(k)],
                )],
                vec![output],
            ),
            domain: format!("0..{vocab}"),
            length: None,
            inputs: vec![InputSpec {
                name: "tokens".to_string(),
                dtype: DType::I64,
                shape: vec![1, k],
            }],
        }
    }

    /// 1-3 affine layers from `input` (`[N, width]`) with elementwise ops between them; returns
    /// the last value and its width.
    fn mlp_body(&mut self, b: &mut GraphBuilder, input: String, width: usize) -> (String, usize) {
        let layers = self.int(1, 3);
        let mut current = input;
        let mut width = width;
        for layer in 0..layers {
            let out = self.int(1, 6);
            current = self.affine(b, &current, width, out);
            width = out;
            if layer + 1 < layers || self.coin() {
                let act = self.pick(&POINTWISE_ACTIVATIONS);
                if !act.is_empty() {
                    current = b.op(act, &[&current], vec![]);
                }
                self.note(if act.is_empty() { "none" } else { act }.to_string());
            }
            if self.int(0, 3) == 0 {
                current = self.constant_arith(b, &current, width);
            }
        }
        (current, width)
    }

    /// `x [N, inp] -> [N, out]` as `Gemm` (either `transB`, sometimes `alpha`, `beta` or no `C`)
    /// or `MatMul` + `Add` (bias on either side).
    fn affine(&mut self, b: &mut GraphBuilder, x: &str, inp: usize, out: usize) -> String {
        let scale = 1.2 / (inp as f64).sqrt();
        if self.coin() {
            let trans_b = self.coin();
            let dims = if trans_b { [out, inp] } else { [inp, out] };
            let w = b.weights(&mut self.rng, "W", &dims, scale);
            let mut attrs = vec![];
            if trans_b {
                attrs.push(int_attr("transB", 1));
            }
            let alpha = if self.int(0, 3) == 0 {
                let a = self.rng.real_in(0.5, 1.5) as f32;
                attrs.push(float_attr("alpha", a));
                a
            } else {
                1.0
            };
            let bias = self.int(0, 4) != 0;
            self.note(format!(
                "Gemm {inp}->{out} transB={} alpha={alpha} bias={bias}",
                trans_b as u8
            ));
            if bias {
                if self.int(0, 3) == 0 {
                    attrs.push(float_attr("beta", self.rng.real_in(0.5, 1.5) as f32));
                }
                let c = b.weights(&mut self.rng, "B", &[out], 0.5);
                b.op("Gemm", &[x, &w, &c], attrs)
            } else {
                b.op("Gemm", &[x, &w], attrs)
            }
        } else {
            let w = b.weights(&mut self.rng, "W", &[inp, out], scale);
            let c = b.weights(&mut self.rng, "B", &[out], 0.5);
            let product = b.op("MatMul", &[x, &w], vec![]);
            let bias_first = self.coin();
            self.note(format!("MatMul+Add {inp}->{out}"));
            if bias_first {
                b.op("Add", &[&c, &product], vec![])
            } else {
                b.op("Add", &[&product, &c], vec![])
            }
        }
    }

    /// `Sub`, `Mul` or `Div` by a constant row (divisors kept away from zero).
    fn constant_arith(&mut self, b: &mut GraphBuilder, x: &str, width: usize) -> String {
        let op = self.pick(&["Sub", "Mul", "Div"]);
        let data: Vec<f32> = (0..width)
            .map(|_| {
                let magnitude = self.rng.real_in(0.5, 2.0);
                let sign = if self.coin() { 1.0 } else { -1.0 };
                (sign * magnitude) as f32
            })
            .collect();
        let c = b.f32("k", &[width], data);
        self.note(op.to_string());
        b.op(op, &[x, &c], vec![])
    }

    /// The model output: `y` from `x [N, width]` directly, through `Softmax`, or as the `ArgMax`
    /// class.
    fn head(&mut self, b: &mut GraphBuilder, x: &str, width: usize) -> ValueInfoProto {
        let n = Dim::Symbolic("N");
        match self.int(0, 3) {
            0 => {
                let axis = if self.coin() { 1 } else { -1 };
                self.note(format!("Softmax axis {axis}"));
                b.op_into("Softmax", &[x], &["y"], vec![int_attr("axis", axis)]);
                value_info("y", DataType::Float, &[n, Dim::Fixed(width)])
            }
            1 => {
                let keepdims = self.coin();
                let axis = if self.coin() { 1 } else { -1 };
                self.note(format!("ArgMax axis {axis} keepdims {}", keepdims as u8));
                b.op_into(
                    "ArgMax",
                    &[x],
                    &["y"],
                    vec![
                        int_attr("axis", axis),
                        int_attr("keepdims", keepdims as i64),
                    ],
                );
                let dims: &[Dim] = if keepdims { &[n, Dim::Fixed(1)] } else { &[n] };
                value_info("y", DataType::Int64, dims)
            }
            _ => {
                b.op_into("Identity", &[x], &["y"], vec![]);
                value_info("y", DataType::Float, &[n, Dim::Fixed(width)])
            }
        }
    }

    // ------------------------------------------------------------------ sequence styles

    /// Length, input and output widths, domain and the declared `x`/`y` of a sequence model;
    /// `symbolic_time` leaves the time axis to the `nn2py.length` metadata.
    fn sequence_shape(&mut self, symbolic_time: bool) -> SequenceShape {
        let (length, d, o) = (self.int(2, 6), self.int(1, 3), self.int(1, 3));
        let domain = self.float_domain();
        let time = if symbolic_time {
            Dim::Symbolic("T")
        } else {
            Dim::Fixed(length)
        };
        self.note(format!(
            "T {length}{}, d {d}, o {o}, x in {domain}",
            if symbolic_time { " (symbolic)" } else { "" }
        ));
        SequenceShape {
            length,
            d,
            o,
            domain,
            x: value_info(
                "x",
                DataType::Float,
                &[Dim::Symbolic("N"), time, Dim::Fixed(d)],
            ),
            y: value_info(
                "y",
                DataType::Float,
                &[Dim::Symbolic("N"), time, Dim::Fixed(o)],
            ),
        }
    }

    fn sequence_drawn(graph: GraphProto, shape: SequenceShape) -> Drawn {
        Drawn {
            graph,
            inputs: vec![float_input("x", &[1, shape.length, shape.d])],
            domain: shape.domain,
            length: Some(shape.length),
        }
    }

    /// `y = h W + c` on `h [N, T, width]`, written to `y`.
    fn readout(&mut self, b: &mut GraphBuilder, h: &str, width: usize, o: usize) {
        let w = b.weights(&mut self.rng, "V", &[width, o], 1.0 / (width as f64).sqrt());
        let c = b.weights(&mut self.rng, "c", &[o], 0.5);
        let product = b.op("MatMul", &[h, &w], vec![]);
        b.op_into("Add", &[&product, &c], &["y"], vec![]);
    }

    /// 1-2 stacked `RNN`, `GRU` or `LSTM` layers (layout 0 between Transposes, or layout 1),
    /// all forward or all reverse, then a linear readout.
    fn recurrent(&mut self, kind: Recurrent) -> Drawn {
        let symbolic = self.coin();
        let shape = self.sequence_shape(symbolic);
        let layout = self.int(0, 1);
        let layers = self.int(1, 2);
        // Stacked layers run in one direction: layers in opposite directions are not one causal
        // loop, and nn2py refuses them (as it does bidirectional layers).
        let reverse = self.coin();
        self.note(format!("layout {layout}, {layers} layer(s)"));
        let mut b = GraphBuilder::new("");
        let mut h = if layout == 0 {
            b.op("Transpose", &["x"], vec![ints_attr("perm", &[1, 0, 2])])
        } else {
            "x".to_string()
        };
        let mut width = shape.d;
        for _ in 0..layers {
            let hidden = self.int(1, 6);
            let y = self.recurrent_layer(&mut b, kind, &h, width, hidden, layout, reverse);
            // Y is [T, 1, N, H] (layout 0) or [N, T, 1, H] (layout 1): drop the direction axis.
            let axis = if layout == 0 { 1 } else { 2 };
            let axes = b.i64("axes", &[1], &[axis]);
            h = b.op("Squeeze", &[&y, &axes], vec![]);
            width = hidden;
        }
        if layout == 0 {
            h = b.op("Transpose", &[&h], vec![ints_attr("perm", &[1, 0, 2])]);
        }
        self.readout(&mut b, &h, width, shape.o);
        let graph = b.graph(
            "synth_recurrent",
            vec![shape.x.clone()],
            vec![shape.y.clone()],
        );
        Self::sequence_drawn(graph, shape)
    }

    /// One recurrent node on `x` (`width` features); returns its `Y`.
    #[allow(clippy::too_many_arguments)]
    fn recurrent_layer(
        &mut self,
        b: &mut GraphBuilder,
        kind: Recurrent,
        x: &str,
        width: usize,
        hidden: usize,
        layout: usize,
        reverse: bool,
    ) -> String {
        let (op, gates) = match kind {
            Recurrent::Rnn => ("RNN", 1),
            Recurrent::Gru => ("GRU", 3),
            Recurrent::Lstm => ("LSTM", 4),
        };
        let mut attrs = vec![int_attr("hidden_size", hidden as i64)];
        if layout == 1 {
            attrs.push(int_attr("layout", 1));
        }
        if reverse {
            attrs.push(string_attr("direction", "reverse"));
        } else if self.coin() {
            attrs.push(string_attr("direction", "forward"));
        }
        let mut recurrent_scale = 0.8 / (hidden as f64).sqrt();
        let mut detail = String::new();
        match kind {
            Recurrent::Rnn => {
                let act = self.pick(&["Tanh", "Relu"]);
                if act == "Relu" {
                    // A ReLU recurrence grows with the spectral radius of R: keep it below 1.
                    recurrent_scale = 0.5 / (hidden as f64).sqrt();
                    attrs.push(strings_attr("activations", &["Relu"]));
                } else if self.coin() {
                    attrs.push(strings_attr("activations", &["Tanh"]));
                }
                detail = act.to_string();
            }
            Recurrent::Gru => {
                let lbr = self.int(0, 1);
                if lbr == 1 || self.coin() {
                    attrs.push(int_attr("linear_before_reset", lbr as i64));
                }
                detail = format!("linear_before_reset {lbr}");
            }
            Recurrent::Lstm => {
                if self.int(0, 2) == 0 {
                    let clip = self.rng.real_in(0.5, 3.0) as f32;
                    attrs.push(float_attr("clip", clip));
                    detail = format!("clip {clip}");
                }
            }
        }
        let w = b.weights(
            &mut self.rng,
            "W",
            &[1, gates * hidden, width],
            1.0 / (width as f64).sqrt(),
        );
        let r = b.weights(
            &mut self.rng,
            "R",
            &[1, gates * hidden, hidden],
            recurrent_scale,
        );
        let bias = if self.int(0, 3) != 0 {
            b.weights(&mut self.rng, "B", &[1, 2 * gates * hidden], 0.3)
        } else {
            String::new()
        };
        let mut inputs = vec![x.to_string(), w, r, bias];
        let peephole = matches!(kind, Recurrent::Lstm) && self.coin();
        if peephole {
            let p = b.weights(&mut self.rng, "P", &[1, 3 * hidden], 0.5);
            inputs.extend([String::new(), String::new(), String::new(), p]);
        }
        while inputs.last().is_some_and(|s| s.is_empty()) {
            inputs.pop();
        }
        let with_state = self.coin();
        self.note(format!(
            "{op} hidden {hidden} {} {detail}{}{}{}",
            if reverse { "reverse" } else { "forward" },
            if inputs.len() > 3 && !inputs[3].is_empty() {
                " bias"
            } else {
                ""
            },
            if peephole { " peephole" } else { "" },
            if with_state { " Y_h" } else { "" },
        ));
        let y = b.fresh("y");
        let state = b.fresh("y_h");
        let outputs: Vec<&str> = if with_state {
            vec![&y, &state]
        } else {
            vec![&y]
        };
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        b.op_into(op, &inputs, &outputs, attrs);
        y
    }

    /// An ONNX `Scan` over the time axis (axis 1, or axis 0 between Transposes) whose body is
    /// `h' = act([h; x_t] W^T + b)`, `y_t = h' V^T + c`; weights in the body or outer scope.
    fn scan(&mut self) -> Drawn {
        let symbolic = self.coin();
        let shape = self.sequence_shape(symbolic);
        let hidden = self.int(1, 6);
        let act = self.pick(&STEP_ACTIVATIONS);
        let time_major = self.coin();
        let outer_weights = self.coin();
        self.note(format!(
            "Scan hidden {hidden} {act}, {}, weights in {}",
            if time_major { "time-major" } else { "axis 1" },
            if outer_weights { "outer scope" } else { "body" }
        ));
        let mut b = GraphBuilder::new("");
        let mut body = GraphBuilder::new("body_");
        let (d, o) = (shape.d, shape.o);
        let weights_in = if outer_weights { &mut b } else { &mut body };
        let step_scale = 1.0 / ((hidden + d) as f64).sqrt();
        let w = weights_in.weights(&mut self.rng, "W", &[hidden, hidden + d], step_scale);
        let bias = weights_in.weights(&mut self.rng, "b", &[hidden], 0.3);
        let v = weights_in.weights(&mut self.rng, "V", &[o, hidden], 1.0);
        let c = weights_in.weights(&mut self.rng, "c", &[o], 0.5);

        let cat = body.op("Concat", &["h_in", "x_in"], vec![int_attr("axis", 1)]);
        let pre = body.op("Gemm", &[&cat, &w, &bias], vec![int_attr("transB", 1)]);
        body.op_into(act, &[&pre], &["h_out"], vec![]);
        body.op_into(
            "Gemm",
            &["h_out", &v, &c],
            &["y_out"],
            vec![int_attr("transB", 1)],
        );
        let n = Dim::Symbolic("N");
        let body = body.graph(
            "synth_scan_body",
            vec![
                value_info("h_in", DataType::Float, &[n, Dim::Fixed(hidden)]),
                value_info("x_in", DataType::Float, &[n, Dim::Fixed(d)]),
            ],
            vec![
                value_info("h_out", DataType::Float, &[n, Dim::Fixed(hidden)]),
                value_info("y_out", DataType::Float, &[n, Dim::Fixed(o)]),
            ],
        );
        let h0 = zero_state(&mut b, hidden);
        let mut attrs = vec![graph_attr("body", body), int_attr("num_scan_inputs", 1)];
        if time_major {
            let xt = b.op("Transpose", &["x"], vec![ints_attr("perm", &[1, 0, 2])]);
            let yt = b.fresh("y_time_major");
            b.op_into("Scan", &[&h0, &xt], &["h_last", &yt], attrs);
            b.op_into(
                "Transpose",
                &[&yt],
                &["y"],
                vec![ints_attr("perm", &[1, 0, 2])],
            );
        } else {
            attrs.push(ints_attr("scan_input_axes", &[1]));
            attrs.push(ints_attr("scan_output_axes", &[1]));
            b.op_into("Scan", &[&h0, "x"], &["h_last", "y"], attrs);
        }
        let graph = b.graph("synth_scan", vec![shape.x.clone()], vec![shape.y.clone()]);
        Self::sequence_drawn(graph, shape)
    }

    /// The step `h' = act([h; x_t] W^T + b)`, `y_t = h' V^T + c` written once per time step with
    /// shared weights; `x_t` cut out by `Gather` or `Slice` + `Squeeze`.
    fn unrolled(&mut self) -> Drawn {
        let shape = self.sequence_shape(false);
        let hidden = self.int(1, 6);
        let act = self.pick(&STEP_ACTIVATIONS);
        let gather = self.coin();
        self.note(format!(
            "unrolled hidden {hidden} {act}, x_t by {}",
            if gather { "Gather" } else { "Slice" }
        ));
        let (d, o) = (shape.d, shape.o);
        let mut b = GraphBuilder::new("");
        let step_scale = 1.0 / ((hidden + d) as f64).sqrt();
        let w = b.weights(&mut self.rng, "W", &[hidden, hidden + d], step_scale);
        let bias = b.weights(&mut self.rng, "b", &[hidden], 0.3);
        let v = b.weights(&mut self.rng, "V", &[o, hidden], 1.0);
        let c = b.weights(&mut self.rng, "c", &[o], 0.5);
        let mut h = zero_state(&mut b, hidden);
        let unsqueeze_axes = b.i64("axes", &[1], &[1]);
        let mut ys = Vec::new();
        for t in 0..shape.length {
            let x_t = if gather {
                let index = b.i64("t", &[], &[t as i64]);
                b.op("Gather", &["x", &index], vec![int_attr("axis", 1)])
            } else {
                let start = b.i64("start", &[1], &[t as i64]);
                let end = b.i64("end", &[1], &[t as i64 + 1]);
                let axis = b.i64("axis", &[1], &[1]);
                let slice = b.op("Slice", &["x", &start, &end, &axis], vec![]);
                b.op("Squeeze", &[&slice, &unsqueeze_axes], vec![])
            };
            let cat = b.op("Concat", &[&h, &x_t], vec![int_attr("axis", 1)]);
            let pre = b.op("Gemm", &[&cat, &w, &bias], vec![int_attr("transB", 1)]);
            h = b.op(act, &[&pre], vec![]);
            let y_t = b.op("Gemm", &[&h, &v, &c], vec![int_attr("transB", 1)]);
            ys.push(b.op("Unsqueeze", &[&y_t, &unsqueeze_axes], vec![]));
        }
        let ys: Vec<&str> = ys.iter().map(String::as_str).collect();
        b.op_into("Concat", &ys, &["y"], vec![int_attr("axis", 1)]);
        let graph = b.graph(
            "synth_unrolled",
            vec![shape.x.clone()],
            vec![shape.y.clone()],
        );
        Self::sequence_drawn(graph, shape)
    }
}

/// The widths, length, domain and declared input/output of a sequence model.
struct SequenceShape {
    length: usize,
    d: usize,
    o: usize,
    domain: String,
    x: ValueInfoProto,
    y: ValueInfoProto,
}

fn float_input(name: &str, shape: &[usize]) -> InputSpec {
    InputSpec {
        name: name.to_string(),
        dtype: DType::F32,
        shape: shape.to_vec(),
    }
}

/// A zero `[N, hidden]` state built from the batch size of `x`, as exporters write it:
/// `Shape -> Slice [0:1] -> Concat [hidden] -> ConstantOfShape`.
fn zero_state(b: &mut GraphBuilder, hidden: usize) -> String {
    let shape = b.op("Shape", &["x"], vec![]);
    let start = b.i64("start", &[1], &[0]);
    let end = b.i64("end", &[1], &[1]);
    let batch = b.op("Slice", &[&shape, &start, &end], vec![]);
    let width = b.i64("hidden", &[1], &[hidden as i64]);
    let dims = b.op("Concat", &[&batch, &width], vec![int_attr("axis", 0)]);
    b.op("ConstantOfShape", &[&dims], vec![zero_value_attr()])
}
