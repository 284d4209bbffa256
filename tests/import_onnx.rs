//! Tests of the ONNX importer: tiny models built here with the protobuf types, the PyTorch
//! fixtures, and hostile input.

use std::time::{Duration, Instant};

use ndarray::{ArrayD, IxDyn};
use nn2py::diag::{Location, NodeRef};
use nn2py::front::onnx::{import, Dim, ImportError, ImportOptions, ImportedModel, Limits};
use nn2py::network::interp::run_graph;
use nn2py::network::{
    Activation, DType, Direction, Graph, Op, RecurrentAttrs, Tensor, TensorType, ValueDef,
};
use prost::Message;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

// ---------------------------------------------------------------------------------------------
// Model building helpers.

fn f32_tensor(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: dims.to_vec(),
        data_type: DataType::Float as i32,
        float_data: data.to_vec(),
        ..Default::default()
    }
}

fn i64_tensor(name: &str, dims: &[i64], data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: dims.to_vec(),
        data_type: DataType::Int64 as i32,
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

/// A tensor value declaration; a dimension that parses as a number is fixed, else symbolic.
fn vi(name: &str, elem: DataType, dims: &[&str]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            denotation: String::new(),
            value: Some(match d.parse::<i64>() {
                Ok(v) => dimension::Value::DimValue(v),
                Err(_) => dimension::Value::DimParam(d.to_string()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            denotation: String::new(),
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        doc_string: String::new(),
    }
}

fn fvi(name: &str, dims: &[&str]) -> ValueInfoProto {
    vi(name, DataType::Float, dims)
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: format!("{op}_{}", outputs.first().copied().unwrap_or("")),
        op_type: op.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

fn attr(name: &str, ty: AttributeType) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: ty as i32,
        ..Default::default()
    }
}

fn a_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        i,
        ..attr(name, AttributeType::Int)
    }
}

fn a_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        f,
        ..attr(name, AttributeType::Float)
    }
}

fn a_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: ints.to_vec(),
        ..attr(name, AttributeType::Ints)
    }
}

fn a_floats(name: &str, floats: &[f32]) -> AttributeProto {
    AttributeProto {
        floats: floats.to_vec(),
        ..attr(name, AttributeType::Floats)
    }
}

fn a_str(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        s: s.as_bytes().to_vec(),
        ..attr(name, AttributeType::String)
    }
}

fn a_strs(name: &str, strings: &[&str]) -> AttributeProto {
    AttributeProto {
        strings: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..attr(name, AttributeType::Strings)
    }
}

fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        t: Some(t),
        ..attr(name, AttributeType::Tensor)
    }
}

fn a_graph(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto {
        g: Some(g),
        ..attr(name, AttributeType::Graph)
    }
}

fn graph(
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    inits: Vec<TensorProto>,
) -> GraphProto {
    GraphProto {
        node: nodes,
        name: "g".to_string(),
        initializer: inits,
        input: inputs,
        output: outputs,
        ..Default::default()
    }
}

fn model_at(opset: i64, g: GraphProto) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        producer_name: "nn2py-tests".to_string(),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(g),
        ..Default::default()
    }
    .encode_to_vec()
}

fn model(g: GraphProto) -> Vec<u8> {
    model_at(17, g)
}

fn imp(bytes: &[u8]) -> Result<ImportedModel, ImportError> {
    import(bytes, &ImportOptions::default())
}

fn ok(bytes: &[u8]) -> ImportedModel {
    match imp(bytes) {
        Ok(m) => m,
        Err(e) => panic!("import failed: {} at {:?}", e.message, e.location),
    }
}

fn err(bytes: &[u8]) -> ImportError {
    match imp(bytes) {
        Ok(m) => panic!("import succeeded: {:?}", op_names(&m.graph)),
        Err(e) => e,
    }
}

fn op_names(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|n| n.op.onnx_name()).collect()
}

fn f32t(shape: &[usize]) -> TensorType {
    TensorType {
        dtype: DType::F32,
        shape: shape.to_vec(),
    }
}

fn out_ty(m: &ImportedModel, i: usize) -> TensorType {
    m.graph.value(m.graph.outputs[i]).ty.clone()
}

fn at_node(name: &str, op_type: &str) -> Location {
    Location::Node(NodeRef {
        name: name.to_string(),
        op_type: op_type.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// Op families.

#[test]
fn gemm_relu_add_with_batch_bound_to_one() {
    let g = graph(
        vec![
            node(
                "Gemm",
                &["x", "w", "b"],
                &["h"],
                vec![a_float("alpha", 0.5), a_int("transB", 1)],
            ),
            node("Relu", &["h"], &["r"], vec![]),
            node("Add", &["r", "c"], &["y"], vec![]),
        ],
        vec![fvi("x", &["N", "3"])],
        vec![fvi("y", &["N", "2"])],
        vec![
            f32_tensor("w", &[2, 3], &[1., 2., 3., 4., 5., 6.]),
            f32_tensor("b", &[2], &[0.5, -0.5]),
            f32_tensor("c", &[1], &[7.0]),
        ],
    );
    let m = ok(&model(g));
    assert_eq!(op_names(&m.graph), ["Gemm", "Relu", "Add"]);
    assert_eq!(
        m.graph.nodes[0].op,
        Op::Gemm {
            alpha: 0.5,
            beta: 1.0,
            trans_a: false,
            trans_b: true
        }
    );
    assert_eq!(m.graph.value(m.graph.inputs[0]).ty, f32t(&[1, 3]));
    assert_eq!(out_ty(&m, 0), f32t(&[1, 2]));
    assert_eq!(m.inputs[0].dims, [Dim::Symbolic("N".into()), Dim::Fixed(3)]);
    assert_eq!(m.opset, 17);
    assert_eq!(m.producer_name, "nn2py-tests");
    let w = m.graph.nodes[0].inputs[1].unwrap();
    assert_eq!(m.graph.value(w).name, "w");
    assert_eq!(
        m.graph.constant(w),
        Some(&Tensor::F32(
            ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1., 2., 3., 4., 5., 6.]).unwrap()
        ))
    );
}

#[test]
fn unary_and_binary_elementwise_ops_keep_broadcast_types() {
    let g = graph(
        vec![
            node("MatMul", &["x", "w"], &["m"], vec![]),
            node("Sub", &["m", "b"], &["s"], vec![]),
            node("Mul", &["s", "s"], &["p"], vec![]),
            node("Div", &["p", "b"], &["d"], vec![]),
            node("Neg", &["d"], &["n"], vec![]),
            node("Abs", &["n"], &["a"], vec![]),
            node("Exp", &["a"], &["e"], vec![]),
            node("Tanh", &["e"], &["t"], vec![]),
            node("Sigmoid", &["t"], &["y"], vec![]),
        ],
        vec![fvi("x", &["N", "4", "3"])],
        vec![fvi("y", &["N", "4", "2"])],
        vec![
            f32_tensor("w", &[3, 2], &[1.; 6]),
            f32_tensor("b", &[2], &[1., 2.]),
        ],
    );
    let m = ok(&model(g));
    assert_eq!(
        op_names(&m.graph),
        ["MatMul", "Sub", "Mul", "Div", "Neg", "Abs", "Exp", "Tanh", "Sigmoid"]
    );
    assert!(m
        .graph
        .values
        .iter()
        .filter(|v| matches!(v.def, ValueDef::Node(..)))
        .all(|v| v.ty == f32t(&[1, 4, 2])));
}

#[test]
fn cast_argmax_softmax_concat_gather() {
    let g = graph(
        vec![
            node("Softmax", &["x"], &["s"], vec![]),
            node("Concat", &["s", "x"], &["c"], vec![a_int("axis", -1)]),
            node("Gather", &["c", "idx"], &["g"], vec![a_int("axis", -1)]),
            node(
                "ArgMax",
                &["g"],
                &["am"],
                vec![a_int("axis", -1), a_int("keepdims", 0)],
            ),
            node(
                "Cast",
                &["am"],
                &["y"],
                vec![a_int("to", DataType::Int32 as i64)],
            ),
        ],
        vec![fvi("x", &["1", "3"])],
        vec![vi("y", DataType::Int32, &["1"])],
        vec![i64_tensor("idx", &[2], &[0, 5])],
    );
    let m = ok(&model(g));
    let ops: Vec<&Op> = m.graph.nodes.iter().map(|n| &n.op).collect();
    assert_eq!(
        ops,
        [
            &Op::Softmax { axis: 1 },
            &Op::Concat { axis: 1 },
            &Op::Gather { axis: 1 },
            &Op::ArgMax {
                axis: 1,
                keepdims: false,
                select_last_index: false
            },
            &Op::Cast { to: DType::I64 },
        ]
    );
    let gathered = m.graph.nodes[2].outputs[0];
    assert_eq!(m.graph.value(gathered).ty, f32t(&[1, 2]));
    assert_eq!(
        out_ty(&m, 0),
        TensorType {
            dtype: DType::I64,
            shape: vec![1]
        }
    );
}

#[test]
fn softmax_before_opset_13_only_on_the_last_axis() {
    let softmax = |axis: i64| {
        graph(
            vec![node("Softmax", &["x"], &["y"], vec![a_int("axis", axis)])],
            vec![fvi("x", &["1", "3", "4"])],
            vec![fvi("y", &["1", "3", "4"])],
            vec![],
        )
    };
    let m = ok(&model_at(11, softmax(2)));
    assert_eq!(m.graph.nodes[0].op, Op::Softmax { axis: 2 });
    let e = err(&model_at(11, softmax(1)));
    assert!(
        e.message.contains("only the last axis (2)"),
        "{}",
        e.message
    );
    assert_eq!(e.location, at_node("Softmax_y", "Softmax"));
    let m = ok(&model_at(13, softmax(1)));
    assert_eq!(m.graph.nodes[0].op, Op::Softmax { axis: 1 });
}

#[test]
fn reshape_transpose_flatten_resolve_shapes() {
    let g = graph(
        vec![
            node("Reshape", &["x", "shape"], &["r"], vec![]),
            node("Transpose", &["r"], &["t"], vec![]),
            node("Flatten", &["t"], &["y"], vec![a_int("axis", -1)]),
        ],
        vec![fvi("x", &["N", "2", "6"])],
        vec![fvi("y", &["12", "1"])],
        vec![i64_tensor("shape", &[4], &[0, 3, -1, 2])],
    );
    let m = ok(&model(g));
    let ops: Vec<&Op> = m.graph.nodes.iter().map(|n| &n.op).collect();
    assert_eq!(
        ops,
        [
            &Op::Reshape {
                shape: vec![1, 3, 2, 2]
            },
            &Op::Transpose {
                perm: vec![3, 2, 1, 0]
            },
            &Op::Reshape { shape: vec![12, 1] },
        ]
    );
    // The shape operand moved into the op, so the node reads only the data.
    assert_eq!(m.graph.nodes[0].inputs.len(), 1);
}

#[test]
fn reshape_allowzero_keeps_a_zero() {
    let g = graph(
        vec![node(
            "Reshape",
            &["x", "shape"],
            &["y"],
            vec![a_int("allowzero", 1)],
        )],
        vec![fvi("x", &["N", "0"])],
        vec![fvi("y", &["0", "5"])],
        vec![i64_tensor("shape", &[2], &[0, 5])],
    );
    let m = ok(&model(g));
    assert_eq!(m.graph.nodes[0].op, Op::Reshape { shape: vec![0, 5] });
}

#[test]
fn squeeze_unsqueeze_in_attribute_and_input_form() {
    let old = graph(
        vec![
            node("Unsqueeze", &["x"], &["u"], vec![a_ints("axes", &[-1, 0])]),
            node("Squeeze", &["u"], &["y"], vec![a_ints("axes", &[3])]),
        ],
        vec![fvi("x", &["N", "3"])],
        vec![fvi("y", &["1", "1", "3"])],
        vec![],
    );
    let m = ok(&model_at(11, old));
    assert_eq!(m.graph.nodes[0].op, Op::Unsqueeze { axes: vec![0, 3] });
    assert_eq!(m.graph.nodes[1].op, Op::Squeeze { axes: vec![3] });
    assert_eq!(out_ty(&m, 0), f32t(&[1, 1, 3]));

    let new = graph(
        vec![
            node("Unsqueeze", &["x", "ua"], &["u"], vec![]),
            node("Squeeze", &["u"], &["y"], vec![]),
        ],
        vec![fvi("x", &["N", "3"])],
        vec![fvi("y", &["3"])],
        vec![i64_tensor("ua", &[1], &[1])],
    );
    let m = ok(&model_at(13, new));
    assert_eq!(m.graph.nodes[0].op, Op::Unsqueeze { axes: vec![1] });
    assert_eq!(m.graph.nodes[1].op, Op::Squeeze { axes: vec![0, 1] });
    assert_eq!(out_ty(&m, 0), f32t(&[3]));
}

#[test]
fn slice_in_attribute_and_input_form_is_clamped() {
    let old = graph(
        vec![node(
            "Slice",
            &["x"],
            &["y"],
            vec![
                a_ints("starts", &[1]),
                a_ints("ends", &[1000]),
                a_ints("axes", &[-1]),
            ],
        )],
        vec![fvi("x", &["N", "5"])],
        vec![fvi("y", &["N", "4"])],
        vec![],
    );
    let m = ok(&model_at(9, old));
    assert_eq!(
        m.graph.nodes[0].op,
        Op::Slice {
            starts: vec![1],
            ends: vec![5],
            axes: vec![1],
            steps: vec![1]
        }
    );

    let new = graph(
        vec![node(
            "Slice",
            &["x", "starts", "ends", "axes", "steps"],
            &["y"],
            vec![],
        )],
        vec![fvi("x", &["N", "5"])],
        vec![fvi("y", &["N", "5"])],
        vec![
            i64_tensor("starts", &[1], &[-1]),
            i64_tensor("ends", &[1], &[i64::MIN]),
            i64_tensor("axes", &[1], &[1]),
            i64_tensor("steps", &[1], &[-1]),
        ],
    );
    let m = ok(&model(new));
    // Running back through index 0 is written -(dim + 1), the same under every reading.
    assert_eq!(
        m.graph.nodes[0].op,
        Op::Slice {
            starts: vec![4],
            ends: vec![-6],
            axes: vec![1],
            steps: vec![-1]
        }
    );
    assert_eq!(out_ty(&m, 0), f32t(&[1, 5]));
}

#[test]
fn slice_with_runtime_bounds_is_refused() {
    let g = graph(
        vec![node("Slice", &["x", "s", "s"], &["y"], vec![])],
        vec![fvi("x", &["N", "5"]), vi("s", DataType::Int64, &["1"])],
        vec![fvi("y", &["N", "5"])],
        vec![],
    );
    let e = err(&model(g));
    assert!(e.message.contains("must be a constant"), "{}", e.message);
    assert_eq!(e.location, at_node("Slice_y", "Slice"));
}

#[test]
fn identity_and_dropout_become_identity() {
    let g = graph(
        vec![
            node("Dropout", &["x"], &["d", ""], vec![]),
            node("Identity", &["d"], &["y"], vec![]),
        ],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("y", &["N", "2"])],
        vec![],
    );
    let m = ok(&model(g));
    assert_eq!(op_names(&m.graph), ["Identity", "Identity"]);

    let used_mask = graph(
        vec![node("Dropout", &["x"], &["d", "mask"], vec![])],
        vec![fvi("x", &["N", "2"])],
        vec![vi("mask", DataType::Bool, &["N", "2"])],
        vec![],
    );
    let e = err(&model(used_mask));
    assert!(
        e.message.contains("output 1 (\"mask\")") && e.message.contains("not supported"),
        "{}",
        e.message
    );
}

fn gru_graph(attrs: Vec<AttributeProto>, lens: Option<&[i64]>) -> GraphProto {
    let mut inputs = vec!["x", "W", "R", "B"];
    let mut inits = vec![
        f32_tensor("W", &[1, 12, 3], &[0.1; 36]),
        f32_tensor("R", &[1, 12, 4], &[0.2; 48]),
        f32_tensor("B", &[1, 24], &[0.0; 24]),
    ];
    if let Some(lens) = lens {
        inputs.push("lens");
        inits.push(i64_tensor("lens", &[1], lens));
    }
    graph(
        vec![node("GRU", &inputs, &["y", "h"], attrs)],
        vec![fvi("x", &["N", "T", "3"])],
        vec![fvi("y", &["N", "T", "1", "4"]), fvi("h", &["N", "1", "4"])],
        inits,
    )
}

#[test]
fn gru_attributes_layout_and_constant_sequence_lens() {
    let g = gru_graph(
        vec![
            a_int("layout", 1),
            a_int("linear_before_reset", 1),
            a_strs("activations", &["HardSigmoid", "LeakyRelu"]),
            a_floats("activation_alpha", &[0.3, 0.05]),
            a_float("clip", 3.0),
        ],
        Some(&[7]),
    );
    let options = ImportOptions {
        length: Some(7),
        ..Default::default()
    };
    let m = import(&model(g), &options).unwrap();
    let node = &m.graph.nodes[0];
    assert_eq!(
        node.op,
        Op::Gru {
            attrs: RecurrentAttrs {
                hidden_size: 4,
                direction: Direction::Forward,
                activations: vec![
                    Activation::HardSigmoid {
                        alpha: 0.3,
                        beta: 0.5
                    },
                    Activation::LeakyRelu { alpha: 0.05 },
                ],
                clip: Some(3.0),
                batch_major: true,
            },
            linear_before_reset: true,
        }
    );
    assert_eq!(node.inputs[4], None, "sequence_lens equal to T is dropped");
    assert_eq!(out_ty(&m, 0), f32t(&[1, 7, 1, 4]));
    assert_eq!(out_ty(&m, 1), f32t(&[1, 1, 4]));
    assert_eq!(m.inputs[0].dims[1], Dim::Symbolic("T".into()));

    let short = gru_graph(vec![a_int("layout", 1)], Some(&[5]));
    let e = import(&model(short), &options).unwrap_err();
    assert!(e.message.contains("sequence_lens"), "{}", e.message);
    assert_eq!(e.location, at_node("GRU_y", "GRU"));
}

#[test]
fn rnn_and_lstm_defaults_and_bidirectional_shapes() {
    let rnn = graph(
        vec![node(
            "RNN",
            &["x", "W", "R"],
            &["", "h"],
            vec![a_str("direction", "bidirectional"), a_int("hidden_size", 2)],
        )],
        vec![fvi("x", &["5", "N", "3"])],
        vec![fvi("h", &["2", "N", "2"])],
        vec![
            f32_tensor("W", &[2, 2, 3], &[0.5; 12]),
            f32_tensor("R", &[2, 2, 2], &[0.5; 8]),
        ],
    );
    let options = ImportOptions {
        length: Some(1),
        ..Default::default()
    };
    let m = import(&model(rnn), &options).unwrap();
    let Op::Rnn(attrs) = &m.graph.nodes[0].op else {
        panic!("expected RNN, got {:?}", m.graph.nodes[0].op)
    };
    assert_eq!(attrs.direction, Direction::Bidirectional);
    assert_eq!(attrs.activations, [Activation::Tanh, Activation::Tanh]);
    assert!(!attrs.batch_major);
    // Binding is positional: axis 0 of the input goes to 1, axis 1 to `length`.
    assert_eq!(out_ty(&m, 0), f32t(&[2, 1, 2]));

    let lstm = graph(
        vec![node(
            "LSTM",
            &["x", "W", "R", "", "", "", "", "P"],
            &["y"],
            vec![a_int("input_forget", 1), a_int("layout", 1)],
        )],
        vec![fvi("x", &["N", "6", "3"])],
        vec![fvi("y", &["N", "6", "1", "2"])],
        vec![
            f32_tensor("W", &[1, 8, 3], &[0.5; 24]),
            f32_tensor("R", &[1, 8, 2], &[0.5; 16]),
            f32_tensor("P", &[1, 6], &[0.5; 6]),
        ],
    );
    let m = ok(&model(lstm));
    let Op::Lstm {
        attrs,
        input_forget,
    } = &m.graph.nodes[0].op
    else {
        panic!("expected LSTM")
    };
    assert!(*input_forget);
    assert_eq!(attrs.hidden_size, 2, "hidden_size comes from W");
    assert_eq!(
        attrs.activations,
        [Activation::Sigmoid, Activation::Tanh, Activation::Tanh]
    );
    assert_eq!(out_ty(&m, 0), f32t(&[1, 6, 1, 2]));
}

/// A Scan summing its scan input into a state; the body adds an outer constant.
fn scan_graph(capture: &str) -> GraphProto {
    let body = graph(
        vec![
            node("Add", &["h", "x_t"], &["s"], vec![]),
            node("Add", &["s", capture], &["h_next"], vec![]),
            node("Identity", &["h_next"], &["y_t"], vec![]),
        ],
        vec![fvi("h", &[]), fvi("x_t", &[])],
        vec![fvi("h_next", &[]), fvi("y_t", &[])],
        vec![],
    );
    graph(
        vec![node(
            "Scan",
            &["h0", "x"],
            &["h_last", "y"],
            vec![
                a_graph("body", body),
                a_int("num_scan_inputs", 1),
                a_ints("scan_input_axes", &[-1]),
                a_ints("scan_output_axes", &[-1]),
            ],
        )],
        vec![fvi("x", &["N", "4"])],
        vec![fvi("y", &["N", "4"])],
        vec![
            f32_tensor("h0", &[1], &[0.0]),
            f32_tensor("bias", &[1], &[1.5]),
        ],
    )
}

#[test]
fn scan_imports_its_body_with_outer_constants_copied() {
    // The body declares scalars; its inputs are typed from the outer operands instead.
    let m = ok(&model(scan_graph("bias")));
    let Op::Scan(attrs) = &m.graph.nodes[0].op else {
        panic!("expected Scan")
    };
    assert_eq!(attrs.num_scan_inputs, 1);
    assert_eq!(attrs.scan_input_axes, [1]);
    assert_eq!(attrs.scan_output_axes, [1]);
    assert_eq!(attrs.scan_input_reverse, [false]);
    let body = &attrs.body;
    assert_eq!(op_names(body), ["Add", "Add", "Identity"]);
    assert_eq!(body.value(body.inputs[0]).ty, f32t(&[1]));
    assert_eq!(body.value(body.inputs[1]).ty, f32t(&[1]));
    let bias = body.nodes[1].inputs[1].unwrap();
    assert_eq!(body.value(bias).name, "bias");
    assert!(
        body.constant(bias).is_some(),
        "the outer constant is copied into the body"
    );
    assert_eq!(out_ty(&m, 0), f32t(&[1, 4]));

    let mut captured = scan_graph("z");
    captured.input.push(fvi("z", &["N", "1"]));
    let e = err(&model(captured));
    assert!(
        e.message.contains("\"z\", which is not a constant"),
        "{}",
        e.message
    );
}

#[test]
fn import_only_ops_fold_without_the_interpreter() {
    let g = graph(
        vec![
            node("Shape", &["x"], &["s"], vec![]),
            node(
                "ConstantOfShape",
                &["s"],
                &["c"],
                vec![a_tensor("value", f32_tensor("", &[1], &[2.0]))],
            ),
            node("Add", &["x", "c"], &["y"], vec![]),
            node("Shape", &["x"], &["tail"], vec![a_int("start", -1)]),
            node("Size", &["x"], &["n"], vec![]),
        ],
        vec![fvi("x", &["N", "3"])],
        vec![
            fvi("y", &["N", "3"]),
            vi("tail", DataType::Int64, &["1"]),
            vi("n", DataType::Int64, &[]),
        ],
        vec![],
    );
    let m = ok(&model(g));
    assert_eq!(op_names(&m.graph), ["Add"]);
    let c = m.graph.nodes[0].inputs[1].unwrap();
    assert_eq!(
        m.graph.constant(c),
        Some(&Tensor::F32(ArrayD::from_elem(IxDyn(&[1, 3]), 2.0)))
    );
    assert_eq!(
        m.graph.constant(m.graph.outputs[1]),
        Some(&Tensor::I64(ArrayD::from_elem(IxDyn(&[1]), 3)))
    );
    assert_eq!(
        m.graph.constant(m.graph.outputs[2]),
        Some(&Tensor::I64(ArrayD::from_elem(IxDyn(&[]), 3)))
    );
}

#[test]
fn constant_range_expand_equal_where_fold() {
    let g = graph(
        vec![
            node("Constant", &[], &["start"], vec![a_int("value_int", 1)]),
            node("Constant", &[], &["limit"], vec![a_int("value_int", 7)]),
            node("Constant", &[], &["delta"], vec![a_int("value_int", 2)]),
            node("Range", &["start", "limit", "delta"], &["r"], vec![]),
            node(
                "Constant",
                &[],
                &["three"],
                vec![a_ints("value_ints", &[3])],
            ),
            node("Equal", &["r", "three"], &["eq"], vec![]),
            node(
                "Constant",
                &[],
                &["ones"],
                vec![a_floats("value_floats", &[1.0])],
            ),
            node(
                "Constant",
                &[],
                &["zero"],
                vec![a_float("value_float", 0.0)],
            ),
            node("Where", &["eq", "ones", "zero"], &["w"], vec![]),
            node(
                "Constant",
                &[],
                &["shape"],
                vec![a_ints("value_ints", &[2, 1])],
            ),
            node("Expand", &["w", "shape"], &["e"], vec![]),
            node("Add", &["x", "e"], &["y"], vec![]),
        ],
        vec![fvi("x", &["N", "3"])],
        vec![fvi("y", &["2", "3"])],
        vec![],
    );
    let m = ok(&model(g));
    assert_eq!(op_names(&m.graph), ["Add"]);
    let e = m.graph.nodes[0].inputs[1].unwrap();
    assert_eq!(
        m.graph.constant(e),
        Some(&Tensor::F32(
            ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0., 1., 0., 0., 1., 0.]).unwrap()
        ))
    );
    // Folded values and their constants are gone from the graph, not merely unused.
    assert!(m
        .graph
        .values
        .iter()
        .all(|v| v.name != "r" && v.name != "start"));
}

#[test]
fn expand_of_a_runtime_value_is_refused() {
    let g = graph(
        vec![node("Expand", &["x", "shape"], &["y"], vec![])],
        vec![fvi("x", &["N", "1"])],
        vec![fvi("y", &["N", "3"])],
        vec![i64_tensor("shape", &[2], &[1, 3])],
    );
    let e = err(&model(g));
    assert!(
        e.message.contains("only on constant inputs") && e.message.contains("\"x\""),
        "{}",
        e.message
    );
    assert_eq!(e.location, at_node("Expand_y", "Expand"));
}

#[test]
fn unused_nodes_are_dropped_and_metadata_kept() {
    let g = graph(
        vec![
            node("Relu", &["x"], &["dead"], vec![]),
            node("Tanh", &["x"], &["y"], vec![]),
        ],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("y", &["N", "2"])],
        vec![],
    );
    let mut proto = ModelProto::decode(&model(g)[..]).unwrap();
    proto.metadata_props = vec![StringStringEntryProto {
        key: "task".into(),
        value: "parity".into(),
    }];
    let m = ok(&proto.encode_to_vec());
    assert_eq!(op_names(&m.graph), ["Tanh"]);
    assert_eq!(m.metadata.get("task").map(String::as_str), Some("parity"));
    assert_eq!(m.outputs[0].name, "y");
}

// ---------------------------------------------------------------------------------------------
// PyTorch exports (folding needs `network::interp::eval_op`).

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/pytorch/{name}.onnx",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn pytorch_gru_export_imports_after_folding() {
    let m = ok(&fixture("pt_parity_gru"));
    assert_eq!(
        op_names(&m.graph),
        ["Transpose", "GRU", "Squeeze", "Transpose", "MatMul", "Add"]
    );
    let gru = &m.graph.nodes[1];
    let Op::Gru {
        attrs,
        linear_before_reset,
    } = &gru.op
    else {
        panic!("expected GRU")
    };
    assert!(*linear_before_reset);
    assert_eq!(attrs.hidden_size, 4);
    // The initial state built by Shape/Gather/Concat/ConstantOfShape folds to zeros.
    let h0 = gru.inputs[5].unwrap();
    assert_eq!(
        m.graph.constant(h0),
        Some(&Tensor::F32(ArrayD::zeros(IxDyn(&[1, 1, 4]))))
    );
    assert_eq!(out_ty(&m, 0), f32t(&[1, 10, 1]));
}

#[test]
fn pytorch_unrolled_export_imports_after_folding() {
    let m = ok(&fixture("pt_sum_last2_unrolled"));
    let ops = op_names(&m.graph);
    assert!(
        ops.iter()
            .all(|op| ["Gemm", "Concat", "Gather", "Unsqueeze"].contains(op)),
        "{ops:?}"
    );
    assert_eq!(ops.iter().filter(|&&op| op == "Gemm").count(), 20);
    assert_eq!(out_ty(&m, 0), f32t(&[1, 10, 1]));
}

/// The fixture's output on `x` (shape `[1, 10, 1]`) computed by onnxruntime.
fn onnxruntime_output(name: &str, x: &[f32]) -> Vec<f32> {
    let path = format!(
        "{}/tests/fixtures/pytorch/{name}.onnx",
        env!("CARGO_MANIFEST_DIR")
    );
    let xs: Vec<String> = x.iter().map(f32::to_string).collect();
    let script = format!(
        "import numpy as np, onnxruntime as ort\n\
         s = ort.InferenceSession({path:?}, providers=['CPUExecutionProvider'])\n\
         x = np.array([{}], dtype=np.float32).reshape(1, 10, 1)\n\
         print(' '.join(repr(float(v)) for v in s.run(None, {{'x': x}})[0].ravel()))\n",
        xs.join(", ")
    );
    python_floats(&script)
}

/// Runs a Python script and parses the floats it prints.
fn python_floats(script: &str) -> Vec<f32> {
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|v| v.parse().expect("a float"))
        .collect()
}

#[test]
fn imported_pytorch_graphs_match_onnxruntime() {
    let x: Vec<f32> = vec![3., 1., 4., 1., 5., 9., 2., 6., 5., 3.];
    for name in ["pt_sum_last2_unrolled", "pt_parity_gru"] {
        let m = ok(&fixture(name));
        let input = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[1, 10, 1]), x.clone()).unwrap());
        let ours = run_graph(&m.graph, &[input]).expect("the imported graph runs");
        let Tensor::F32(y) = &ours[0] else {
            panic!("{name}: float output expected")
        };
        let want = onnxruntime_output(name, &x);
        assert_eq!(y.len(), want.len(), "{name}");
        for (a, b) in y.iter().zip(&want) {
            assert!(
                (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                "{name}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn shape_ops_model_matches_onnxruntime() {
    let g = graph(
        vec![
            node("Slice", &["x", "st", "en", "ax", "sp"], &["s"], vec![]),
            node("Gather", &["x", "gi"], &["g"], vec![a_int("axis", -1)]),
            node("Concat", &["s", "g"], &["c"], vec![a_int("axis", 1)]),
            node("Unsqueeze", &["c", "ua"], &["u"], vec![]),
            node(
                "Transpose",
                &["u"],
                &["t"],
                vec![a_ints("perm", &[0, 2, 1])],
            ),
            node("Flatten", &["t"], &["f"], vec![]),
            node("Softmax", &["f"], &["sm"], vec![]),
            node(
                "Gemm",
                &["sm", "w", "b"],
                &["y"],
                vec![a_int("transB", 1), a_float("beta", 0.5)],
            ),
        ],
        vec![fvi("x", &["1", "6"])],
        vec![fvi("y", &["1", "2"])],
        vec![
            i64_tensor("st", &[1], &[-1]),
            i64_tensor("en", &[1], &[i64::MIN]),
            i64_tensor("ax", &[1], &[1]),
            i64_tensor("sp", &[1], &[-2]),
            i64_tensor("gi", &[2], &[-1, 0]),
            i64_tensor("ua", &[1], &[2]),
            f32_tensor("w", &[2, 5], &[0.5, -1., 2., 0.25, 1., 1., 1., -3., 0., 2.]),
            f32_tensor("b", &[2], &[1., -1.]),
        ],
    );
    let bytes = model(g);
    let m = ok(&bytes);
    let x = vec![0.5f32, -1.0, 2.0, 0.25, 3.0, -0.75];
    let input = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[1, 6]), x.clone()).unwrap());
    let Tensor::F32(ours) = &run_graph(&m.graph, &[input]).unwrap()[0] else {
        panic!("float output expected")
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    std::fs::write(&path, &bytes).unwrap();
    let xs: Vec<String> = x.iter().map(f32::to_string).collect();
    let script = format!(
        "import numpy as np, onnxruntime as ort\n\
         s = ort.InferenceSession({:?}, providers=['CPUExecutionProvider'])\n\
         x = np.array([[{}]], dtype=np.float32)\n\
         print(' '.join(repr(float(v)) for v in s.run(None, {{'x': x}})[0].ravel()))\n",
        path.to_string_lossy(),
        xs.join(", ")
    );
    let want = python_floats(&script);
    assert_eq!(ours.len(), 2);
    assert_eq!(want.len(), 2);
    for (a, b) in ours.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} vs {b}");
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile and broken input.

fn small_model() -> Vec<u8> {
    model(graph(
        vec![node("Gemm", &["x", "w"], &["y"], vec![a_int("transB", 1)])],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("y", &["N", "2"])],
        vec![f32_tensor("w", &[2, 2], &[1., 2., 3., 4.])],
    ))
}

#[test]
fn empty_file_is_malformed() {
    let e = err(&[]);
    assert!(e.message.starts_with("malformed ONNX"), "{}", e.message);
    assert_eq!(e.location, Location::Unknown);
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = small_model();
    ok(&bytes);
    let mut malformed = 0;
    for cut in 0..bytes.len() {
        let e = err(&bytes[..cut]);
        if e.message.starts_with("malformed ONNX") {
            malformed += 1;
        }
    }
    // Only cuts at a field boundary decode at all; everything else fails in the decoder.
    assert!(
        malformed > bytes.len() * 3 / 4,
        "{malformed} of {}",
        bytes.len()
    );
}

#[test]
fn random_bytes_never_panic() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for len in [1usize, 7, 64, 300, 4096] {
        for _ in 0..50 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let e = err(&bytes);
            assert!(e.message.starts_with("malformed ONNX"), "{}", e.message);
        }
    }
}

#[test]
fn unsupported_operator_is_named_and_located() {
    let g = graph(
        vec![node("FancyOp", &["x"], &["y"], vec![])],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("y", &["N", "2"])],
        vec![],
    );
    let e = err(&model(g));
    assert_eq!(e.message, "unsupported operator FancyOp");
    assert_eq!(e.location, at_node("FancyOp_y", "FancyOp"));

    let mut custom = node("Relu", &["x"], &["y"], vec![]);
    custom.domain = "com.example".into();
    let g = graph(
        vec![custom],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("y", &["N", "2"])],
        vec![],
    );
    let e = err(&model(g));
    assert!(
        e.message.contains("unsupported operator com.example.Relu"),
        "{}",
        e.message
    );
}

#[test]
fn missing_input_is_named() {
    let g = graph(
        vec![node("Add", &["x", "ghost"], &["y"], vec![])],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("y", &["N", "2"])],
        vec![],
    );
    let e = err(&model(g));
    assert!(
        e.message.contains("\"ghost\" is not defined"),
        "{}",
        e.message
    );
    assert_eq!(e.location, at_node("Add_y", "Add"));
}

#[test]
fn shape_mismatch_is_located_at_the_node() {
    let g = graph(
        vec![node("MatMul", &["x", "w"], &["y"], vec![])],
        vec![fvi("x", &["N", "3"])],
        vec![fvi("y", &["N", "2"])],
        vec![f32_tensor("w", &[4, 2], &[0.0; 8])],
    );
    let e = err(&model(g));
    assert!(
        e.message
            .contains("MatMul: cannot multiply [1, 3] by [4, 2]"),
        "{}",
        e.message
    );
    assert_eq!(e.location, at_node("MatMul_y", "MatMul"));
}

#[test]
fn declared_output_shape_is_checked() {
    let g = graph(
        vec![node("Relu", &["x"], &["y"], vec![])],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("y", &["N", "3"])],
        vec![],
    );
    let e = err(&model(g));
    assert!(
        e.message.contains("declared with shape [\"N\", 3]"),
        "{}",
        e.message
    );
    assert_eq!(e.location, Location::Value("y".into()));
}

#[test]
fn huge_declared_initialiser_is_refused_at_once() {
    let g = graph(
        vec![node("Add", &["x", "big"], &["y"], vec![])],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("y", &["N", "2"])],
        vec![TensorProto {
            name: "big".into(),
            dims: vec![1 << 20, 1 << 20],
            data_type: DataType::Float as i32,
            ..Default::default()
        }],
    );
    let start = Instant::now();
    let e = err(&model(g));
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(e.message.contains("more than the limit"), "{}", e.message);
    assert_eq!(e.location, Location::Value("big".into()));
}

#[test]
fn unsupported_element_type_names_the_tensor() {
    let g = graph(
        vec![node("Add", &["x", "d"], &["y"], vec![])],
        vec![fvi("x", &["N", "1"])],
        vec![fvi("y", &["N", "1"])],
        vec![TensorProto {
            name: "d".into(),
            dims: vec![1],
            data_type: DataType::Double as i32,
            double_data: vec![1.0],
            ..Default::default()
        }],
    );
    let e = err(&model(g));
    assert!(
        e.message.contains("initialiser \"d\"") && e.message.contains("DOUBLE"),
        "{}",
        e.message
    );
}

#[test]
fn limits_on_file_size_and_node_count() {
    let bytes = small_model();
    let tight = |limits: Limits| {
        import(
            &bytes,
            &ImportOptions {
                length: None,
                limits,
            },
        )
    };
    let e = tight(Limits {
        max_model_bytes: 10,
        ..Limits::default()
    })
    .unwrap_err();
    assert!(
        e.message.contains("more than the limit of 10 bytes"),
        "{}",
        e.message
    );
    let e = tight(Limits {
        max_nodes: 0,
        ..Limits::default()
    })
    .unwrap_err();
    assert!(e.message.contains("1 nodes"), "{}", e.message);
}

#[test]
fn symbolic_time_axis_needs_length() {
    let g = graph(
        vec![node("Relu", &["x"], &["y"], vec![])],
        vec![fvi("x", &["N", "T", "2"])],
        vec![fvi("y", &["N", "T", "2"])],
        vec![],
    );
    let bytes = model(g);
    let e = err(&bytes);
    assert!(
        e.message
            .contains("input \"x\" has a symbolic time axis (axis 1, \"T\")")
            && e.message.contains("--length"),
        "{}",
        e.message
    );
    assert_eq!(e.location, Location::Value("x".into()));
    let options = ImportOptions {
        length: Some(5),
        ..Default::default()
    };
    let m = import(&bytes, &options).unwrap();
    assert_eq!(out_ty(&m, 0), f32t(&[1, 5, 2]));

    let g = graph(
        vec![node("Relu", &["x"], &["y"], vec![])],
        vec![fvi("x", &["N", "F"])],
        vec![fvi("y", &["N", "F"])],
        vec![],
    );
    let e = import(&model(g), &options).unwrap_err();
    assert!(
        e.message.contains("symbolic dimension 1 (\"F\")") && e.message.contains("--length"),
        "{}",
        e.message
    );
}

#[test]
fn hostile_names_are_kept_verbatim() {
    let evil_in = "x\"; __import__('os').system('rm -rf /') #\n";
    let evil_out = "y'''\n\\u0000\u{202e}";
    let evil_node = "n\"\n)print(1)";
    let mut n = node("Relu", &[evil_in], &[evil_out], vec![]);
    n.name = evil_node.into();
    let g = graph(
        vec![n],
        vec![fvi(evil_in, &["N", "2"])],
        vec![fvi(evil_out, &["N", "2"])],
        vec![],
    );
    let m = ok(&model(g));
    assert_eq!(m.graph.value(m.graph.inputs[0]).name, evil_in);
    assert_eq!(m.graph.value(m.graph.outputs[0]).name, evil_out);
    assert_eq!(m.graph.nodes[0].name, evil_node);
    assert_eq!(m.inputs[0].name, evil_in);

    let mut bad = node("Nope", &[evil_in], &[evil_out], vec![]);
    bad.name = evil_node.into();
    let g = graph(
        vec![bad],
        vec![fvi(evil_in, &["N", "2"])],
        vec![fvi(evil_out, &["N", "2"])],
        vec![],
    );
    let e = err(&model(g));
    assert_eq!(e.location, at_node(evil_node, "Nope"));
}

#[test]
fn redefinition_and_cycles_are_refused() {
    let g = graph(
        vec![
            node("Relu", &["x"], &["y"], vec![]),
            node("Tanh", &["x"], &["y"], vec![]),
        ],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("y", &["N", "2"])],
        vec![],
    );
    let e = err(&model(g));
    assert!(
        e.message.contains("\"y\" is defined more than once"),
        "{}",
        e.message
    );

    let g = graph(
        vec![
            node("Add", &["x", "b"], &["a"], vec![]),
            node("Relu", &["a"], &["b"], vec![]),
        ],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("a", &["N", "2"])],
        vec![],
    );
    let e = err(&model(g));
    assert!(e.message.contains("cycle"), "{}", e.message);
}

#[test]
fn graph_inputs_with_initialisers_are_constants_and_raw_data_is_read() {
    let raw = TensorProto {
        name: "b".into(),
        dims: vec![2],
        data_type: DataType::Int32 as i32,
        raw_data: [(-3i32).to_le_bytes(), 70000i32.to_le_bytes()].concat(),
        ..Default::default()
    };
    let g = graph(
        vec![
            node(
                "Cast",
                &["x"],
                &["xi"],
                vec![a_int("to", DataType::Int64 as i64)],
            ),
            node("Add", &["xi", "b"], &["y"], vec![]),
        ],
        vec![fvi("x", &["N", "2"]), vi("b", DataType::Int32, &["2"])],
        vec![vi("y", DataType::Int64, &["N", "2"])],
        vec![raw],
    );
    let m = ok(&model(g));
    assert_eq!(m.graph.inputs.len(), 1);
    assert_eq!(m.inputs.len(), 1);
    let b = m.graph.nodes[1].inputs[1].unwrap();
    assert_eq!(
        m.graph.constant(b),
        Some(&Tensor::I64(
            ArrayD::from_shape_vec(IxDyn(&[2]), vec![-3, 70000]).unwrap()
        ))
    );
}

#[test]
fn node_limit_counts_nested_graphs() {
    let bytes = model(scan_graph("bias"));
    let limits = Limits {
        max_nodes: 3,
        ..Limits::default()
    };
    let e = import(
        &bytes,
        &ImportOptions {
            length: None,
            limits,
        },
    )
    .unwrap_err();
    assert!(e.message.contains("the model has 4 nodes"), "{}", e.message);
}

#[test]
fn nodes_out_of_order_are_sorted() {
    let g = graph(
        vec![
            node("Tanh", &["r"], &["y"], vec![]),
            node("Relu", &["x"], &["r"], vec![]),
        ],
        vec![fvi("x", &["N", "2"])],
        vec![fvi("y", &["N", "2"])],
        vec![],
    );
    let m = ok(&model(g));
    assert_eq!(op_names(&m.graph), ["Relu", "Tanh"]);
}
