//! [`AnchorRnn`] to ONNX: one `Scan` node over the time axis, weights as named initialisers.
//!
//! The model maps `x [N, T, d]` to `y [N, T, o]` (`N` and `T` symbolic). The zero initial state
//! is built from the batch size as exporters do (`Shape -> Gather -> Unsqueeze -> Concat ->
//! ConstantOfShape`). The body concatenates `[h; x_t]`, runs `f` (Gemm with `transB = 1`, ReLU
//! between layers) to `h_next`, then `g` to `y_t`; it reads the weights as outer-scope
//! initialisers of the main graph, which both onnxruntime and nn2py's importer accept.

use prost::Message;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

use super::{Affine, AnchorRnn, ExportError};
use crate::diag::Location;
use crate::front::metadata::{DOMAIN_METADATA_KEY, READOUT_METADATA_KEY};
pub use crate::front::metadata::{LENGTH_METADATA_KEY, TASK_METADATA_KEY};
use crate::verify::domain;

pub(super) const OPSET: i64 = 17;
pub(super) const IR_VERSION: i64 = 8;

/// What the exported model records about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportMeta {
    /// The input domain as `--domain` takes it (`"0..100"`), stored as `nn2py.domain`.
    pub domain: String,
    /// The sequence length, stored as `nn2py.length`; binds the time axis on import.
    pub length: usize,
    /// The task's name, stored as `nn2py.task` when given.
    pub task: Option<String>,
    /// The model's `producer_version` (its `producer_name` is always `"nn2py"`).
    pub producer_version: String,
}

/// Encodes `model` as ONNX (opset 17, IR version 8) with `meta` in its `metadata_props`.
///
/// Errors: an invalid network (see [`AnchorRnn::validate`]), a domain that `--domain` would
/// reject, a zero length, or a dimension too large for ONNX. The output is byte-identical for
/// equal inputs.
pub fn export_onnx(model: &AnchorRnn, meta: &ExportMeta) -> Result<Vec<u8>, ExportError> {
    model.validate()?;
    domain::parse_ranges(&meta.domain).map_err(|e| ExportError {
        message: format!(
            "the domain \"{}\" is invalid: {e}",
            meta.domain.escape_debug()
        ),
        location: Location::Unknown,
    })?;
    if meta.length == 0 {
        return Err(ExportError {
            message: "the sequence length must be positive".to_string(),
            location: Location::Unknown,
        });
    }
    let d = dim(model.input_dim)?;
    let hidden = dim(model.hidden)?;
    let o = dim(model.output_dim)?;

    let mut initializer = Vec::new();
    for (mlp, layers) in [("f", &model.f), ("g", &model.g)] {
        for (i, layer) in layers.iter().enumerate() {
            initializer.extend(layer_initializers(&format!("{mlp}.{i}"), layer)?);
        }
    }
    initializer.push(int_tensor("h0.batch_index", &[], &[0]));
    initializer.push(int_tensor("h0.unsqueeze_axes", &[1], &[0]));
    initializer.push(int_tensor("h0.hidden", &[1], &[hidden]));

    let zero = TensorProto {
        name: "value".to_string(),
        dims: vec![1],
        data_type: DataType::Float as i32,
        float_data: vec![0.0],
        ..TensorProto::default()
    };
    let nodes = vec![
        node("Shape", &["x"], &["h0.x_shape"], vec![]),
        node(
            "Gather",
            &["h0.x_shape", "h0.batch_index"],
            &["h0.batch"],
            vec![int_attr("axis", 0)],
        ),
        node(
            "Unsqueeze",
            &["h0.batch", "h0.unsqueeze_axes"],
            &["h0.batch_1d"],
            vec![],
        ),
        node(
            "Concat",
            &["h0.batch_1d", "h0.hidden"],
            &["h0.shape"],
            vec![int_attr("axis", 0)],
        ),
        node(
            "ConstantOfShape",
            &["h0.shape"],
            &["h0"],
            vec![AttributeProto {
                name: "value".to_string(),
                r#type: AttributeType::Tensor as i32,
                t: Some(zero),
                ..AttributeProto::default()
            }],
        ),
        node(
            "Scan",
            &["h0", "x"],
            &["h_last", "y"],
            vec![
                AttributeProto {
                    name: "body".to_string(),
                    r#type: AttributeType::Graph as i32,
                    g: Some(body(model, d, hidden, o)),
                    ..AttributeProto::default()
                },
                int_attr("num_scan_inputs", 1),
                ints_attr("scan_input_axes", &[1]),
                ints_attr("scan_output_axes", &[1]),
            ],
        ),
    ];
    let graph = GraphProto {
        name: "anchor_rnn".to_string(),
        node: nodes,
        initializer,
        input: vec![value_info("x", &[sym("N"), sym("T"), fixed(d)])],
        output: vec![value_info("y", &[sym("N"), sym("T"), fixed(o)])],
        ..GraphProto::default()
    };

    let mut metadata = vec![
        entry(DOMAIN_METADATA_KEY, &meta.domain),
        entry(LENGTH_METADATA_KEY, &meta.length.to_string()),
        // The trainer scores a network by its rounded outputs, so that is how they are read.
        entry(READOUT_METADATA_KEY, "round"),
    ];
    if let Some(task) = &meta.task {
        metadata.push(entry(TASK_METADATA_KEY, task));
    }
    let proto = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "nn2py".to_string(),
        producer_version: meta.producer_version.clone(),
        graph: Some(graph),
        metadata_props: metadata,
        ..ModelProto::default()
    };
    Ok(proto.encode_to_vec())
}

/// The Scan body `(h, x_t) -> (h_next, y_t)`.
fn body(model: &AnchorRnn, d: i64, hidden: i64, o: i64) -> GraphProto {
    let mut nodes = vec![node(
        "Concat",
        &["h", "x_t"],
        &["hx"],
        vec![int_attr("axis", 1)],
    )];
    let h_next = mlp_nodes(&mut nodes, "f", &model.f, "hx", "h_next");
    mlp_nodes(&mut nodes, "g", &model.g, &h_next, "y_t");
    GraphProto {
        name: "anchor_cell".to_string(),
        node: nodes,
        input: vec![
            value_info("h", &[sym("N"), fixed(hidden)]),
            value_info("x_t", &[sym("N"), fixed(d)]),
        ],
        output: vec![
            value_info("h_next", &[sym("N"), fixed(hidden)]),
            value_info("y_t", &[sym("N"), fixed(o)]),
        ],
        ..GraphProto::default()
    }
}

/// Appends the Gemm/Relu nodes of `layers` (named `{mlp}.{i}`) from `input`; the last Gemm
/// writes `output`. Returns `output`.
fn mlp_nodes(
    nodes: &mut Vec<NodeProto>,
    mlp: &str,
    layers: &[Affine],
    input: &str,
    output: &str,
) -> String {
    let mut current = input.to_string();
    for i in 0..layers.len() {
        let name = format!("{mlp}.{i}");
        if i > 0 {
            let relu = format!("{current}.relu");
            nodes.push(node("Relu", &[&current], &[&relu], vec![]));
            current = relu;
        }
        let out = if i + 1 == layers.len() {
            output.to_string()
        } else {
            name.clone()
        };
        nodes.push(node(
            "Gemm",
            &[&current, &format!("{name}.weight"), &format!("{name}.bias")],
            &[&out],
            vec![int_attr("transB", 1)],
        ));
        current = out;
    }
    current
}

fn layer_initializers(name: &str, layer: &Affine) -> Result<[TensorProto; 2], ExportError> {
    let weight = TensorProto {
        name: format!("{name}.weight"),
        dims: vec![dim(layer.out)?, dim(layer.inp)?],
        data_type: DataType::Float as i32,
        float_data: layer.weight.clone(),
        ..TensorProto::default()
    };
    let bias = TensorProto {
        name: format!("{name}.bias"),
        dims: vec![dim(layer.out)?],
        data_type: DataType::Float as i32,
        float_data: layer.bias.clone(),
        ..TensorProto::default()
    };
    Ok([weight, bias])
}

pub(super) fn dim(n: usize) -> Result<i64, ExportError> {
    i64::try_from(n).map_err(|_| ExportError {
        message: format!("the dimension {n} is too large for ONNX"),
        location: Location::Unknown,
    })
}

fn int_tensor(name: &str, dims: &[i64], data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: dims.to_vec(),
        data_type: DataType::Int64 as i32,
        int64_data: data.to_vec(),
        ..TensorProto::default()
    }
}

pub(super) fn node(
    op_type: &str,
    inputs: &[&str],
    outputs: &[&str],
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        name: format!("{op_type}:{}", outputs.first().copied().unwrap_or_default()),
        op_type: op_type.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..NodeProto::default()
    }
}

pub(super) fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: AttributeType::Int as i32,
        i,
        ..AttributeProto::default()
    }
}

fn ints_attr(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: AttributeType::Ints as i32,
        ints: ints.to_vec(),
        ..AttributeProto::default()
    }
}

pub(super) fn sym(name: &str) -> Dimension {
    Dimension {
        value: Some(dimension::Value::DimParam(name.to_string())),
        ..Dimension::default()
    }
}

pub(super) fn fixed(n: i64) -> Dimension {
    Dimension {
        value: Some(dimension::Value::DimValue(n)),
        ..Dimension::default()
    }
}

fn value_info(name: &str, dims: &[Dimension]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim: dims.to_vec() }),
            })),
            ..TypeProto::default()
        }),
        ..ValueInfoProto::default()
    }
}

pub(super) fn entry(key: &str, value: &str) -> StringStringEntryProto {
    StringStringEntryProto {
        key: key.to_string(),
        value: value.to_string(),
    }
}
