//! A small writer of ONNX protobuf graphs: uniquely named values, initialisers, nodes and
//! attributes, and the model wrapper (opset 17, IR version 8, metadata).

use prost::Message;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

use crate::rng::SplitMix64;

const OPSET: i64 = 17;
const IR_VERSION: i64 = 8;

/// Collects the nodes and initialisers of one graph, naming every value uniquely with `prefix`.
pub(super) struct GraphBuilder {
    prefix: String,
    count: usize,
    nodes: Vec<NodeProto>,
    initializer: Vec<TensorProto>,
}

impl GraphBuilder {
    pub(super) fn new(prefix: &str) -> Self {
        GraphBuilder {
            prefix: prefix.to_string(),
            count: 0,
            nodes: Vec::new(),
            initializer: Vec::new(),
        }
    }

    /// A fresh value name built from `hint`.
    pub(super) fn fresh(&mut self, hint: &str) -> String {
        self.count += 1;
        format!("{}{hint}_{}", self.prefix, self.count)
    }

    /// A float initialiser of shape `dims`; returns its name.
    pub(super) fn f32(&mut self, hint: &str, dims: &[usize], data: Vec<f32>) -> String {
        let name = self.fresh(hint);
        self.initializer.push(TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            float_data: data,
            ..TensorProto::default()
        });
        name
    }

    /// A float initialiser of shape `dims` with entries uniform in `[-scale, scale)`.
    pub(super) fn weights(
        &mut self,
        rng: &mut SplitMix64,
        hint: &str,
        dims: &[usize],
        scale: f64,
    ) -> String {
        let n = dims.iter().product();
        let data = uniform(rng, n, scale);
        self.f32(hint, dims, data)
    }

    /// An int64 initialiser of shape `dims`; returns its name.
    pub(super) fn i64(&mut self, hint: &str, dims: &[usize], data: &[i64]) -> String {
        let name = self.fresh(hint);
        self.initializer.push(TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Int64 as i32,
            int64_data: data.to_vec(),
            ..TensorProto::default()
        });
        name
    }

    /// A node with one output, named freshly; returns the output's name.
    pub(super) fn op(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) -> String {
        let output = self.fresh(&op_type.to_lowercase());
        self.op_into(op_type, inputs, &[&output], attribute);
        output
    }

    /// A node writing the named `outputs` (`""` for an absent optional output).
    pub(super) fn op_into(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        outputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) {
        let name = self.fresh(op_type);
        self.nodes.push(NodeProto {
            name,
            op_type: op_type.to_string(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute,
            ..NodeProto::default()
        });
    }

    /// The finished graph.
    pub(super) fn graph(
        self,
        name: &str,
        input: Vec<ValueInfoProto>,
        output: Vec<ValueInfoProto>,
    ) -> GraphProto {
        GraphProto {
            name: name.to_string(),
            node: self.nodes,
            initializer: self.initializer,
            input,
            output,
            ..GraphProto::default()
        }
    }
}

/// `n` reals uniform in `[-scale, scale)`, as f32.
pub(super) fn uniform(rng: &mut SplitMix64, n: usize, scale: f64) -> Vec<f32> {
    (0..n).map(|_| rng.real_in(-scale, scale) as f32).collect()
}

/// One dimension of a declared tensor.
#[derive(Debug, Clone, Copy)]
pub(super) enum Dim {
    Fixed(usize),
    Symbolic(&'static str),
}

/// A declared graph input or output.
pub(super) fn value_info(name: &str, elem: DataType, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match *d {
                Dim::Fixed(n) => dimension::Value::DimValue(n as i64),
                Dim::Symbolic(s) => dimension::Value::DimParam(s.to_string()),
            }),
            ..Dimension::default()
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..TypeProto::default()
        }),
        ..ValueInfoProto::default()
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

pub(super) fn ints_attr(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: AttributeType::Ints as i32,
        ints: ints.to_vec(),
        ..AttributeProto::default()
    }
}

pub(super) fn float_attr(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: AttributeType::Float as i32,
        f,
        ..AttributeProto::default()
    }
}

pub(super) fn string_attr(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: AttributeType::String as i32,
        s: s.as_bytes().to_vec(),
        ..AttributeProto::default()
    }
}

pub(super) fn strings_attr(name: &str, strings: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: AttributeType::Strings as i32,
        strings: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..AttributeProto::default()
    }
}

pub(super) fn graph_attr(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: AttributeType::Graph as i32,
        g: Some(g),
        ..AttributeProto::default()
    }
}

/// `ConstantOfShape`'s `value` attribute: a one-element float zero.
pub(super) fn zero_value_attr() -> AttributeProto {
    AttributeProto {
        name: "value".to_string(),
        r#type: AttributeType::Tensor as i32,
        t: Some(TensorProto {
            name: "value".to_string(),
            dims: vec![1],
            data_type: DataType::Float as i32,
            float_data: vec![0.0],
            ..TensorProto::default()
        }),
        ..AttributeProto::default()
    }
}

/// Encodes `graph` as a model with `metadata` (key, value) in its `metadata_props`.
pub(super) fn encode_model(graph: GraphProto, metadata: &[(&str, String)]) -> Vec<u8> {
    let proto = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "nn2py-synth".to_string(),
        producer_version: crate::driver::VERSION.to_string(),
        graph: Some(graph),
        metadata_props: metadata
            .iter()
            .map(|(key, value)| StringStringEntryProto {
                key: key.to_string(),
                value: value.clone(),
            })
            .collect(),
        ..ModelProto::default()
    };
    proto.encode_to_vec()
}
