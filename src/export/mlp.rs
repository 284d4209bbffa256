//! [`Mlp`] to ONNX: a pointwise model nn2py converts with no flags.
//!
//! Real inputs are one `x [N, n]` float input. Token inputs are one int64 input `[N]` per token
//! (`a`, `b`, `c`, ... ), each looked up by `Gather` in its own embedding table, the rows joined by
//! `Concat`. Then a `Gemm` (`transB = 1`) per layer with `Relu` between; the last writes `y`
//! (`[N, o]`), or `logits` followed by `ArgMax` (axis 1, `keepdims = 0`) to an int64 `y [N]` when
//! the export asks for the class. Weights are named initialisers (`embed.K`, `fc.L.weight`,
//! `fc.L.bias`); the input domain is stored as `nn2py.domain` and the readout as `raw`.
//!
//! Invariant: the same model and metadata give byte-identical ONNX.

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::GraphProto;

use super::mlp_model::{InputKind, Mlp};
use super::onnx::{dim, node, producer};
use super::ExportError;
use crate::diag::Location;
use crate::front::metadata::{DOMAIN_METADATA_KEY, READOUT_METADATA_KEY};
use crate::onnx_write::{encode_model, entry, fixed, float_tensor, int_attr, sym, value_info};
use crate::verify::domain;

/// What the exported MLP records about itself and how its output is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlpExportMeta {
    /// The input domain as `--domain` takes it, stored as `nn2py.domain`.
    pub domain: String,
    /// Output the class (`ArgMax` of the logits) rather than the raw outputs.
    pub argmax: bool,
    /// The model's `producer_version`.
    pub producer_version: String,
}

/// The names of token inputs: `a`, `b`, ... for up to 26 inputs, else `t0`, `t1`, ...
pub fn token_input_names(count: usize) -> Vec<String> {
    (0..count)
        .map(|k| match u8::try_from(k) {
            Ok(k) if count <= 26 => char::from(b'a' + k).to_string(),
            _ => format!("t{k}"),
        })
        .collect()
}

/// Encodes `model` as ONNX (opset 17, IR version 8).
///
/// Errors: an invalid shape, a parameter vector of the wrong length or with non-finite values, a
/// domain `--domain` would reject, or a dimension too large for ONNX.
pub fn export_mlp(model: &Mlp, meta: &MlpExportMeta) -> Result<Vec<u8>, ExportError> {
    let fail = |message: String| ExportError {
        message,
        location: Location::Unknown,
    };
    model.shape.validate().map_err(fail)?;
    if model.params.len() != model.shape.param_count() {
        return Err(fail(format!(
            "the network has {} parameters; its shape needs {}",
            model.params.len(),
            model.shape.param_count()
        )));
    }
    if model.params.iter().any(|p| !p.is_finite()) {
        return Err(fail("the network has a non-finite parameter".to_string()));
    }
    domain::parse_ranges(&meta.domain).map_err(|e| fail(format!("invalid domain: {e}")))?;

    let mut initializer = Vec::new();
    let mut nodes = Vec::new();
    let mut inputs = Vec::new();
    let mut current = match model.shape.input {
        InputKind::Real { features } => {
            inputs.push(value_info(
                "x",
                DataType::Float,
                &[sym("N"), fixed(dim(features)?)],
            ));
            "x".to_string()
        }
        InputKind::Embedded {
            inputs: count,
            vocab,
            dim: width,
        } => {
            let mut rows = Vec::new();
            for (k, name) in token_input_names(count).iter().enumerate() {
                inputs.push(value_info(name, DataType::Int64, &[sym("N")]));
                let table = format!("embed.{k}");
                let start = k * vocab * width;
                initializer.push(float_tensor(
                    &table,
                    &[dim(vocab)?, dim(width)?],
                    model.params[start..start + vocab * width].to_vec(),
                ));
                let row = format!("{name}.embedded");
                nodes.push(node(
                    "Gather",
                    &[&table, name],
                    &[&row],
                    vec![int_attr("axis", 0)],
                ));
                rows.push(row);
            }
            let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
            nodes.push(node(
                "Concat",
                &refs,
                &["embedded"],
                vec![int_attr("axis", 1)],
            ));
            "embedded".to_string()
        }
    };
    let layers = model.shape.layers();
    for (l, layer) in layers.iter().enumerate() {
        if l > 0 {
            let relu = format!("fc.{}.relu", l - 1);
            nodes.push(node("Relu", &[&current], &[&relu], vec![]));
            current = relu;
        }
        let weight = format!("fc.{l}.weight");
        let bias = format!("fc.{l}.bias");
        initializer.push(float_tensor(
            &weight,
            &[dim(layer.out)?, dim(layer.inp)?],
            model.params[layer.weight.clone()].to_vec(),
        ));
        initializer.push(float_tensor(
            &bias,
            &[dim(layer.out)?],
            model.params[layer.bias.clone()].to_vec(),
        ));
        let out = if l + 1 < layers.len() {
            format!("fc.{l}")
        } else if meta.argmax {
            "logits".to_string()
        } else {
            "y".to_string()
        };
        nodes.push(node(
            "Gemm",
            &[&current, &weight, &bias],
            &[&out],
            vec![int_attr("transB", 1)],
        ));
        current = out;
    }
    let output = if meta.argmax {
        nodes.push(node(
            "ArgMax",
            &[&current],
            &["y"],
            vec![int_attr("axis", 1), int_attr("keepdims", 0)],
        ));
        value_info("y", DataType::Int64, &[sym("N")])
    } else {
        value_info(
            "y",
            DataType::Float,
            &[sym("N"), fixed(dim(model.shape.output)?)],
        )
    };
    let graph = GraphProto {
        name: "mlp".to_string(),
        node: nodes,
        initializer,
        input: inputs,
        output: vec![output],
        ..GraphProto::default()
    };
    let metadata = vec![
        entry(DOMAIN_METADATA_KEY, &meta.domain),
        entry(READOUT_METADATA_KEY, "raw"),
    ];
    Ok(encode_model(
        graph,
        producer(&meta.producer_version),
        metadata,
    ))
}
