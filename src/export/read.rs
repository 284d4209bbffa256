//! ONNX back to [`AnchorRnn`]: reads a network that [`export_onnx`] wrote, so that training can
//! continue from it (`nn2py train TASK --from MODEL.onnx`).
//!
//! Only nn2py's own export is read, and exactly: the layers come from the initialisers
//! `f.{i}.weight`, `f.{i}.bias`, `g.{i}...`, the metadata from `metadata_props`, and the network
//! is then exported again, which must decode to the same message as the input (field for field;
//! the bytes may differ in layout). A model that any other tool wrote or changed is refused
//! rather than read in part.

use prost::Message;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{ModelProto, TensorProto};

use super::{error_at, export_onnx, Affine, AnchorRnn, ExportError, ExportMeta};
use crate::diag::Location;
use crate::front::metadata::{DOMAIN_METADATA_KEY, LENGTH_METADATA_KEY, TASK_METADATA_KEY};

/// Reads `bytes`, an ONNX model that [`export_onnx`] wrote, back into the network and metadata
/// it was written from.
///
/// Errors: bytes that do not decode as ONNX, a model another producer wrote, missing or
/// malformed metadata or layers, or any difference from what nn2py would export for the network
/// read (another graph, extra parts, another version's layout).
pub fn read_anchor_onnx(bytes: &[u8]) -> Result<(AnchorRnn, ExportMeta), ExportError> {
    let model = ModelProto::decode(bytes)
        .map_err(|e| unknown(format!("the file is not an ONNX model: {e}")))?;
    if model.producer_name != "nn2py" {
        return Err(unknown(format!(
            "the model was written by \"{}\", not by nn2py's trainer",
            model.producer_name.escape_debug()
        )));
    }
    let metadata = |key: &str| {
        model
            .metadata_props
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| entry.value.clone())
    };
    let domain = metadata(DOMAIN_METADATA_KEY)
        .ok_or_else(|| unknown(format!("the model has no {DOMAIN_METADATA_KEY} metadata")))?;
    let length = metadata(LENGTH_METADATA_KEY)
        .and_then(|text| text.parse::<usize>().ok())
        .ok_or_else(|| {
            unknown(format!(
                "the model has no {LENGTH_METADATA_KEY} metadata holding a length"
            ))
        })?;
    let meta = ExportMeta {
        domain,
        length,
        task: metadata(TASK_METADATA_KEY),
        producer_version: model.producer_version.clone(),
    };
    let initializers = model
        .graph
        .as_ref()
        .map(|graph| graph.initializer.as_slice())
        .unwrap_or_default();
    let f = layers(initializers, "f")?;
    let g = layers(initializers, "g")?;
    let (first, last) = match (f.first(), f.last()) {
        (Some(first), Some(last)) => (first, last),
        _ => return Err(error_at("f.0.weight", "the model has no layer f.0".into())),
    };
    let hidden = last.out;
    let input_dim = first.inp.checked_sub(hidden).filter(|&d| d > 0);
    let Some(input_dim) = input_dim else {
        let message = format!(
            "f.0 reads {} values, which leaves no input beside the hidden state of {hidden}",
            first.inp
        );
        return Err(error_at("f.0.weight", message));
    };
    let output_dim = g.last().map(|layer| layer.out).unwrap_or(0);
    let network = AnchorRnn::new(input_dim, hidden, output_dim, f, g)?;
    // Compared as decoded messages: encoders differ in how they lay out the same message (older
    // nn2py models store tensor dimensions unpacked).
    let again = ModelProto::decode(export_onnx(&network, &meta)?.as_slice())
        .map_err(|e| unknown(format!("nn2py cannot decode its own export: {e}")))?;
    if again != model {
        return Err(unknown(
            "the model differs from what nn2py exports for its layers (another version of nn2py \
             or another tool wrote or changed it)"
                .to_string(),
        ));
    }
    Ok((network, meta))
}

/// Why a network cannot be the start of continued training for a task.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StartError {
    /// The file is not a network nn2py's trainer wrote (see [`read_anchor_onnx`]).
    #[error(transparent)]
    Read(#[from] ExportError),
    /// The network names the task it was trained for, and it is another.
    #[error("the network was trained for {}, not {task}", .trained_for.escape_debug())]
    OtherTask { trained_for: String, task: String },
    /// The network's sequences have another length or domain than the task's.
    #[error(
        "the network was trained on sequences of length {} over {}, but {task}'s have length {} \
         over {}",
        .found.0, .found.1.escape_debug(), .expected.0, .expected.1
    )]
    OtherSequences {
        task: String,
        /// Length and domain of the network's metadata.
        found: (usize, String),
        /// Length and domain of the task's.
        expected: (usize, String),
    },
}

/// Reads `bytes`, a network nn2py's trainer wrote, as the start of continued training for the
/// task named `task`, whose networks are exported with `expected` (its length and domain).
///
/// nn2py's models do not name their task (the converter must not see it), so a network of
/// another task with the same length and domain is a valid start; its input and output sizes
/// are the trainer's to check.
///
/// Errors: [`StartError`] for a file [`read_anchor_onnx`] refuses, a network that names another
/// task, or one trained on sequences of another length or domain.
pub fn read_start(
    bytes: &[u8],
    task: &str,
    expected: &ExportMeta,
) -> Result<AnchorRnn, StartError> {
    let (model, meta) = read_anchor_onnx(bytes)?;
    if let Some(trained_for) = meta.task.filter(|name| name != task) {
        return Err(StartError::OtherTask {
            trained_for,
            task: task.to_string(),
        });
    }
    if (meta.length, &meta.domain) != (expected.length, &expected.domain) {
        return Err(StartError::OtherSequences {
            task: task.to_string(),
            found: (meta.length, meta.domain),
            expected: (expected.length, expected.domain.clone()),
        });
    }
    Ok(model)
}

/// The layers `{mlp}.0`, `{mlp}.1`, ... in order, up to the first index with no weight.
fn layers(initializers: &[TensorProto], mlp: &str) -> Result<Vec<Affine>, ExportError> {
    let find = |name: &str| initializers.iter().find(|t| t.name == name);
    let mut layers = Vec::new();
    loop {
        let name = format!("{mlp}.{}", layers.len());
        let weight_name = format!("{name}.weight");
        let Some(weight) = find(&weight_name) else {
            return Ok(layers);
        };
        let bias_name = format!("{name}.bias");
        let bias = find(&bias_name)
            .ok_or_else(|| error_at(&bias_name, format!("the model has no {bias_name}")))?;
        let (dims, values) = floats(weight)?;
        let &[out, inp] = dims else {
            return Err(error_at(
                &weight_name,
                format!("{weight_name} has {} dimensions, not 2", dims.len()),
            ));
        };
        layers.push(Affine {
            weight: values.to_vec(),
            out: dimension(out, &weight_name)?,
            inp: dimension(inp, &weight_name)?,
            bias: floats(bias)?.1.to_vec(),
        });
    }
}

/// The dimensions and `float_data` of a float tensor (how [`export_onnx`] stores weights).
fn floats(tensor: &TensorProto) -> Result<(&[i64], &[f32]), ExportError> {
    if tensor.data_type != DataType::Float as i32 {
        return Err(error_at(
            &tensor.name,
            format!("{} is not a float tensor", tensor.name),
        ));
    }
    Ok((&tensor.dims, &tensor.float_data))
}

fn dimension(value: i64, name: &str) -> Result<usize, ExportError> {
    usize::try_from(value)
        .map_err(|_| error_at(name, format!("{name} has a negative dimension {value}")))
}

fn unknown(message: String) -> ExportError {
    ExportError {
        message,
        location: Location::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> AnchorRnn {
        let affine = |out: usize, inp: usize| Affine {
            weight: (0..out * inp).map(|k| k as f32 * 0.25 - 1.0).collect(),
            out,
            inp,
            bias: (0..out).map(|k| k as f32 * 0.5).collect(),
        };
        AnchorRnn::new(
            2,
            3,
            1,
            vec![affine(4, 5), affine(3, 4)],
            vec![affine(1, 3)],
        )
        .unwrap()
    }

    fn meta() -> ExportMeta {
        ExportMeta {
            domain: "0..9".to_string(),
            length: 10,
            task: Some("Sum_All".to_string()),
            producer_version: "0.1.0".to_string(),
        }
    }

    #[test]
    fn reads_back_what_was_exported() {
        let bytes = export_onnx(&network(), &meta()).unwrap();
        let (read, read_meta) = read_anchor_onnx(&bytes).unwrap();
        assert_eq!(read, network());
        assert_eq!(read_meta, meta());
    }

    #[test]
    fn refuses_truncated_foreign_and_changed_models() {
        let bytes = export_onnx(&network(), &meta()).unwrap();
        let truncated = read_anchor_onnx(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(
            truncated.message.contains("not an ONNX model"),
            "{truncated}"
        );

        let mut foreign = ModelProto::decode(bytes.as_slice()).unwrap();
        foreign.producer_name = "pytorch\"\n".to_string();
        let error = read_anchor_onnx(&foreign.encode_to_vec()).unwrap_err();
        assert!(error.message.contains("pytorch\\\"\\n"), "{error}");

        // An extra node: the layers alone are read fine, but the graph is not nn2py's.
        let mut changed = ModelProto::decode(bytes.as_slice()).unwrap();
        let graph = changed.graph.as_mut().unwrap();
        let extra = graph.node[0].clone();
        graph.node.push(extra);
        let error = read_anchor_onnx(&changed.encode_to_vec()).unwrap_err();
        assert!(error.message.contains("differs"), "{error}");

        let mut no_bias = ModelProto::decode(bytes.as_slice()).unwrap();
        let graph = no_bias.graph.as_mut().unwrap();
        graph.initializer.retain(|t| t.name != "f.1.bias");
        let error = read_anchor_onnx(&no_bias.encode_to_vec()).unwrap_err();
        assert_eq!(error.location, Location::Value("f.1.bias".to_string()));

        let mut no_length = ModelProto::decode(bytes.as_slice()).unwrap();
        no_length
            .metadata_props
            .retain(|entry| entry.key != LENGTH_METADATA_KEY);
        let error = read_anchor_onnx(&no_length.encode_to_vec()).unwrap_err();
        assert!(error.message.contains(LENGTH_METADATA_KEY), "{error}");
    }
}
