//! The synthesiser's graph builder: uniquely named values, initialisers and nodes over the
//! shared protobuf builders of [`crate::onnx_write`], and the model wrapper it signs
//! (`nn2py-synth`).

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::Dimension;
use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto, TensorProto, ValueInfoProto};

use crate::onnx_write::{self, entry, fixed, float_tensor, int_tensor, sym, Producer};
use crate::rng::SplitMix64;

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
        self.initializer
            .push(float_tensor(&name, &signed(dims), data));
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
        self.initializer
            .push(int_tensor(&name, &signed(dims), data.to_vec()));
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
        self.nodes
            .push(onnx_write::node(name, op_type, inputs, outputs, attribute));
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

/// The dimensions as ONNX stores them.
fn signed(dims: &[usize]) -> Vec<i64> {
    dims.iter().map(|&d| d as i64).collect()
}

/// One dimension of a declared tensor.
#[derive(Debug, Clone, Copy)]
pub(super) enum Dim {
    Fixed(usize),
    Symbolic(&'static str),
}

/// A declared graph input or output.
pub(super) fn value_info(name: &str, elem: DataType, dims: &[Dim]) -> ValueInfoProto {
    let dims: Vec<Dimension> = dims
        .iter()
        .map(|d| match *d {
            Dim::Fixed(n) => fixed(n as i64),
            Dim::Symbolic(s) => sym(s),
        })
        .collect();
    onnx_write::value_info(name, elem, &dims)
}

/// Encodes `graph` as a model signed `nn2py-synth` with `metadata` (key, value) in its
/// `metadata_props`.
pub(super) fn encode_model(graph: GraphProto, metadata: &[(&str, String)]) -> Vec<u8> {
    let producer = Producer {
        name: "nn2py-synth",
        version: crate::driver::VERSION,
    };
    let metadata = metadata
        .iter()
        .map(|(key, value)| entry(key, value))
        .collect();
    onnx_write::encode_model(graph, producer, metadata)
}
