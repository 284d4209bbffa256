//! Builders of ONNX protobuf messages, shared by the writers of ONNX models ([`crate::synth`]'s
//! random networks and [`crate::export`]'s trained ones): declared values, tensors, nodes,
//! attributes and the model wrapper (opset [`OPSET`], IR version [`IR_VERSION`]).
//!
//! Every builder fills the fields it names and leaves the rest at their protobuf defaults, so
//! equal arguments give byte-identical messages. Reading ONNX is [`crate::front::onnx`]'s.

use prost::Message;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// The default-domain opset every written model imports.
pub const OPSET: i64 = 17;
/// The IR version every written model declares.
pub const IR_VERSION: i64 = 8;

/// A symbolic dimension (`N`, `T`).
pub fn sym(name: &str) -> Dimension {
    Dimension {
        value: Some(dimension::Value::DimParam(name.to_string())),
        ..Dimension::default()
    }
}

/// A fixed dimension.
pub fn fixed(n: i64) -> Dimension {
    Dimension {
        value: Some(dimension::Value::DimValue(n)),
        ..Dimension::default()
    }
}

/// A declared graph input or output: a tensor of `elem` with the dimensions `dims`.
pub fn value_info(name: &str, elem: DataType, dims: &[Dimension]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem as i32,
                shape: Some(TensorShapeProto { dim: dims.to_vec() }),
            })),
            ..TypeProto::default()
        }),
        ..ValueInfoProto::default()
    }
}

/// A tensor of `kind` and shape `dims` with no data yet; the builders below fill it.
fn tensor(name: &str, dims: &[i64], kind: DataType) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: dims.to_vec(),
        data_type: kind as i32,
        ..TensorProto::default()
    }
}

/// A float tensor of shape `dims` (row-major `data`).
pub fn float_tensor(name: &str, dims: &[i64], data: Vec<f32>) -> TensorProto {
    TensorProto {
        float_data: data,
        ..tensor(name, dims, DataType::Float)
    }
}

/// An int64 tensor of shape `dims` (row-major `data`).
pub fn int_tensor(name: &str, dims: &[i64], data: Vec<i64>) -> TensorProto {
    TensorProto {
        int64_data: data,
        ..tensor(name, dims, DataType::Int64)
    }
}

/// A node of the default domain named `name`; `""` stands for an absent optional output.
pub fn node(
    name: String,
    op_type: &str,
    inputs: &[&str],
    outputs: &[&str],
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        name,
        op_type: op_type.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..NodeProto::default()
    }
}

/// An attribute of type `kind` with no value yet; the builders below fill it.
fn attribute(name: &str, kind: AttributeType) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: kind as i32,
        ..AttributeProto::default()
    }
}

/// An integer attribute.
pub fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        i,
        ..attribute(name, AttributeType::Int)
    }
}

/// A list-of-integers attribute.
pub fn ints_attr(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: ints.to_vec(),
        ..attribute(name, AttributeType::Ints)
    }
}

/// A float attribute.
pub fn float_attr(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        f,
        ..attribute(name, AttributeType::Float)
    }
}

/// A string attribute.
pub fn string_attr(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        s: s.as_bytes().to_vec(),
        ..attribute(name, AttributeType::String)
    }
}

/// A list-of-strings attribute.
pub fn strings_attr(name: &str, strings: &[&str]) -> AttributeProto {
    AttributeProto {
        strings: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..attribute(name, AttributeType::Strings)
    }
}

/// A subgraph attribute (a `Scan` body, a branch).
pub fn graph_attr(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto {
        g: Some(g),
        ..attribute(name, AttributeType::Graph)
    }
}

/// A tensor attribute (a `Constant`'s `value`).
pub fn tensor_attr(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        t: Some(t),
        ..attribute(name, AttributeType::Tensor)
    }
}

/// `ConstantOfShape`'s `value` attribute: a one-element float zero.
pub fn zero_value_attr() -> AttributeProto {
    tensor_attr("value", float_tensor("value", &[1], vec![0.0]))
}

/// One `metadata_props` entry.
pub fn entry(key: &str, value: &str) -> StringStringEntryProto {
    StringStringEntryProto {
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// Who wrote a model: its `producer_name` and `producer_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Producer<'a> {
    pub name: &'a str,
    pub version: &'a str,
}

/// Encodes `graph` as a model importing opset [`OPSET`] of the default domain, with `metadata`
/// in its `metadata_props` (in order).
pub fn encode_model(
    graph: GraphProto,
    producer: Producer<'_>,
    metadata: Vec<StringStringEntryProto>,
) -> Vec<u8> {
    let proto = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: producer.name.to_string(),
        producer_version: producer.version.to_string(),
        graph: Some(graph),
        metadata_props: metadata,
        ..ModelProto::default()
    };
    proto.encode_to_vec()
}
