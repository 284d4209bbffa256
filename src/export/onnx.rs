//! [`AnchorRnn`] to ONNX: one `Scan` node over the time axis, weights as named initialisers.
//!
//! The model maps `x [N, T, d]` to `y [N, T, o]` (`N` and `T` symbolic). The zero initial state
//! is built from the batch size as exporters do (`Shape -> Gather -> Unsqueeze -> Concat ->
//! ConstantOfShape`). The body concatenates `[h; x_t]`, runs `f` (Gemm with `transB = 1`, ReLU
//! between layers) to `h_next`, then `g` to `y_t`; it reads the weights as outer-scope
//! initialisers of the main graph, which both onnxruntime and nn2py's importer accept.

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::Dimension;
use tract_onnx::pb::{
    AttributeProto, GraphProto, NodeProto, StringStringEntryProto, TensorProto, ValueInfoProto,
};

use super::{Affine, AnchorRnn, ExportError};
use crate::diag::Location;
use crate::front::metadata::{
    DOMAIN_METADATA_KEY, LENGTH_METADATA_KEY, READOUT_METADATA_KEY, TASK_METADATA_KEY,
};
use crate::onnx_write::{
    self, encode_model, entry, fixed, float_tensor, graph_attr, int_attr, int_tensor, ints_attr,
    sym, zero_value_attr, Producer,
};
use crate::verify::domain;

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

impl ExportMeta {
    /// Checks that `--domain` would take the domain and that the length is positive.
    pub(super) fn validate(&self) -> Result<(), ExportError> {
        domain::parse_ranges(&self.domain).map_err(|e| ExportError {
            message: format!(
                "the domain \"{}\" is invalid: {e}",
                self.domain.escape_debug()
            ),
            location: Location::Unknown,
        })?;
        if self.length == 0 {
            return Err(ExportError {
                message: "the sequence length must be positive".to_string(),
                location: Location::Unknown,
            });
        }
        Ok(())
    }

    /// The `metadata_props` entries: domain, length, the `round` readout (nn2py's trainers
    /// score a network by its rounded outputs, so that is how they are read), and the task
    /// when given.
    pub(super) fn entries(&self) -> Vec<StringStringEntryProto> {
        let mut metadata = vec![
            entry(DOMAIN_METADATA_KEY, &self.domain),
            entry(LENGTH_METADATA_KEY, &self.length.to_string()),
            entry(READOUT_METADATA_KEY, "round"),
        ];
        if let Some(task) = &self.task {
            metadata.push(entry(TASK_METADATA_KEY, task));
        }
        metadata
    }
}

/// Encodes `model` as ONNX (opset 17, IR version 8) with `meta` in its `metadata_props`.
///
/// Errors: an invalid network (see [`AnchorRnn::validate`]), a domain that `--domain` would
/// reject, a zero length, or a dimension too large for ONNX. The output is byte-identical for
/// equal inputs.
pub fn export_onnx(model: &AnchorRnn, meta: &ExportMeta) -> Result<Vec<u8>, ExportError> {
    model.validate()?;
    meta.validate()?;
    let d = dim(model.input_dim)?;
    let hidden = dim(model.hidden)?;
    let o = dim(model.output_dim)?;

    let mut initializer = Vec::new();
    for (mlp, layers) in [("f", &model.f), ("g", &model.g)] {
        for (i, layer) in layers.iter().enumerate() {
            initializer.extend(layer_initializers(&format!("{mlp}.{i}"), layer)?);
        }
    }
    initializer.push(int_tensor("h0.batch_index", &[], vec![0]));
    initializer.push(int_tensor("h0.unsqueeze_axes", &[1], vec![0]));
    initializer.push(int_tensor("h0.hidden", &[1], vec![hidden]));

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
            vec![zero_value_attr()],
        ),
        node(
            "Scan",
            &["h0", "x"],
            &["h_last", "y"],
            vec![
                graph_attr("body", body(model, d, hidden, o)),
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
        input: vec![float_info("x", &[sym("N"), sym("T"), fixed(d)])],
        output: vec![float_info("y", &[sym("N"), sym("T"), fixed(o)])],
        ..GraphProto::default()
    };

    Ok(encode_model(
        graph,
        producer(&meta.producer_version),
        meta.entries(),
    ))
}

/// nn2py at `version`, the producer of every exported model.
pub(super) fn producer(version: &str) -> Producer<'_> {
    Producer {
        name: "nn2py",
        version,
    }
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
            float_info("h", &[sym("N"), fixed(hidden)]),
            float_info("x_t", &[sym("N"), fixed(d)]),
        ],
        output: vec![
            float_info("h_next", &[sym("N"), fixed(hidden)]),
            float_info("y_t", &[sym("N"), fixed(o)]),
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
    let weight = float_tensor(
        &format!("{name}.weight"),
        &[dim(layer.out)?, dim(layer.inp)?],
        layer.weight.clone(),
    );
    let bias = float_tensor(
        &format!("{name}.bias"),
        &[dim(layer.out)?],
        layer.bias.clone(),
    );
    Ok([weight, bias])
}

/// `n` as an ONNX dimension. Errors: `n` beyond `i64`.
pub(super) fn dim(n: usize) -> Result<i64, ExportError> {
    i64::try_from(n).map_err(|_| ExportError {
        message: format!("the dimension {n} is too large for ONNX"),
        location: Location::Unknown,
    })
}

/// A node named after its op and first output (`Gemm:fc.0`).
pub(super) fn node(
    op_type: &str,
    inputs: &[&str],
    outputs: &[&str],
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    let name = format!("{op_type}:{}", outputs.first().copied().unwrap_or_default());
    onnx_write::node(name, op_type, inputs, outputs, attribute)
}

/// A declared float tensor.
fn float_info(name: &str, dims: &[Dimension]) -> ValueInfoProto {
    onnx_write::value_info(name, DataType::Float, dims)
}
