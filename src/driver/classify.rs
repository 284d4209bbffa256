//! Reading the model: the network IR's text form or ONNX, classified as a pointwise or a sequence
//! model (rolled into a cell), and what its metadata says about its domain and readout.

use std::collections::BTreeMap;

use super::timer::Timer;
use super::{CompileError, KindChoice, Options, Readout};
use crate::front::metadata::{DOMAIN_METADATA_KEY, READOUT_METADATA_KEY};
use crate::front::onnx::{self as onnx_front, ImportOptions, ImportedModel};
use crate::front::sequence;
use crate::network::text as network_text;
use crate::network::{Graph, Network, SequenceModel};
use crate::verify::domain::{self, Range};
use crate::verify::ExampleLayout;

/// What the report says about where the network came from.
pub(super) struct SourceInfo {
    pub producer: String,
    pub opset: i64,
    pub metadata: BTreeMap<String, String>,
}

/// The model as the pipeline sees it.
pub(super) struct Model {
    pub network: Network,
    /// The whole graph a sequence model was rolled from (ONNX sequence models), for the rolling
    /// check.
    pub full_graph: Option<Graph>,
    /// Why a rank-3 model was not treated as a sequence model, if it was considered.
    pub kind_note: Option<String>,
    pub source: SourceInfo,
}

/// Reads `bytes` as the network IR's text form or as ONNX (lapping `import` for ONNX), and
/// classifies the network.
pub(super) fn read_model(
    bytes: &[u8],
    options: &Options,
    timer: &mut Timer,
) -> Result<Model, CompileError> {
    if is_network_text(bytes) {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let network = network_text::parse(&text).map_err(|error| CompileError::NetworkText {
            error,
            text: text.clone(),
        })?;
        return Ok(Model {
            network,
            full_graph: None,
            kind_note: None,
            source: SourceInfo {
                producer: "nn2py network text".to_string(),
                opset: 0,
                metadata: BTreeMap::new(),
            },
        });
    }
    let import_options = ImportOptions {
        length: options.length,
        limits: options.limits.clone(),
    };
    let imported = onnx_front::import(bytes, &import_options)?;
    timer.lap("import");
    let (network, full_graph, kind_note) = build_network(bytes, &imported, options)?;
    Ok(Model {
        network,
        full_graph,
        kind_note,
        source: SourceInfo {
            producer: imported.producer_name,
            opset: imported.opset,
            metadata: imported.metadata,
        },
    })
}

/// True when the input is the network IR's text form rather than ONNX protobuf (whose first byte
/// is a field tag, never a letter of `network`).
fn is_network_text(bytes: &[u8]) -> bool {
    let text = bytes.trim_ascii_start();
    let mut rest = text;
    // Skip leading comment lines.
    while rest.first() == Some(&b'#') {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        rest = rest[end..].trim_ascii_start();
    }
    rest.starts_with(b"network ")
}

/// Imports the model as a network: pointwise, or a sequence model rolled into a cell (with the
/// whole graph kept for the rolling check).
fn build_network(
    bytes: &[u8],
    imported: &ImportedModel,
    options: &Options,
) -> Result<(Network, Option<Graph>, Option<String>), CompileError> {
    let graph = &imported.graph;
    let has_recurrent_op = graph_has_recurrent_op(graph);
    let sequence_shaped = sequence_dims(graph).is_some();
    match options.kind {
        KindChoice::Pointwise => {
            if has_recurrent_op {
                return Err(CompileError::Usage(
                    "--kind pointwise: the model contains a recurrent op".to_string(),
                ));
            }
            return Ok((Network::Pointwise(graph.clone()), None, None));
        }
        KindChoice::Auto if !has_recurrent_op && !sequence_shaped => {
            return Ok((Network::Pointwise(graph.clone()), None, None));
        }
        KindChoice::Auto | KindChoice::Sequence => {}
    }
    let Some((length, input_dim, output_dim)) = sequence_dims(graph) else {
        return Err(CompileError::Usage(
            "a sequence model maps one input x [N, T, d] to one output y [N, T, o]".to_string(),
        ));
    };
    let cell = if has_recurrent_op {
        let step_options = ImportOptions {
            length: Some(1),
            limits: options.limits.clone(),
        };
        let step = onnx_front::import(bytes, &step_options)?;
        sequence::roll_recurrent(&step.graph)?
    } else {
        match sequence::reroll_unrolled(graph) {
            Ok(cell) => cell,
            Err(e) if options.kind == KindChoice::Auto => {
                let note = format!("treated as pointwise: not re-rolled into a cell: {e}");
                return Ok((Network::Pointwise(graph.clone()), None, Some(note)));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let input = graph.value(graph.inputs[0]);
    let output = graph.value(graph.outputs[0]);
    let model = SequenceModel {
        cell,
        length,
        input_dim,
        output_dim,
        input_dtype: input.ty.dtype,
        output_dtype: output.ty.dtype,
    };
    Ok((Network::Sequence(model), Some(graph.clone()), None))
}

/// `(T, d, o)` when the graph maps one `[1, T, d]` input to one `[1, T, o]` output, `T >= 1`.
fn sequence_dims(graph: &Graph) -> Option<(usize, usize, usize)> {
    if graph.inputs.len() != 1 || graph.outputs.len() != 1 {
        return None;
    }
    let x = &graph.value(graph.inputs[0]).ty.shape;
    let y = &graph.value(graph.outputs[0]).ty.shape;
    match (x.as_slice(), y.as_slice()) {
        ([1, t, d], [1, t2, o]) if t == t2 && *t >= 1 => Some((*t, *d, *o)),
        _ => None,
    }
}

/// True when some node of `graph` is a recurrent op (RNN, GRU, LSTM, Scan).
fn graph_has_recurrent_op(graph: &Graph) -> bool {
    graph.nodes.iter().any(|n| n.op.is_recurrent())
}

/// The per-feature domain: from the options, else from the model's metadata; `None` when neither
/// gives one.
pub(super) fn resolve_domain(
    network: &Network,
    metadata: &BTreeMap<String, String>,
    options: &Options,
) -> Result<Option<Vec<Range>>, CompileError> {
    let ranges = match (&options.domain, metadata.get(DOMAIN_METADATA_KEY)) {
        (Some(ranges), _) => ranges.clone(),
        (None, Some(text)) => domain::parse_ranges(text)?,
        (None, None) => return Ok(None),
    };
    let layout = ExampleLayout::of(network, None);
    Ok(Some(domain::per_feature(
        &ranges,
        &layout.feature_counts(),
    )?))
}

/// The readout: from the options, else from the model's metadata, else raw.
pub(super) fn resolve_readout(
    metadata: &BTreeMap<String, String>,
    options: &Options,
) -> Result<Readout, CompileError> {
    if let Some(readout) = options.readout {
        return Ok(readout);
    }
    match metadata.get(READOUT_METADATA_KEY) {
        None => Ok(Readout::Raw),
        Some(text) => Readout::parse(text).ok_or_else(|| {
            CompileError::Usage(format!(
                "the model's metadata \"{READOUT_METADATA_KEY}\" is {text:?}; expected \"raw\" or \"round\""
            ))
        }),
    }
}
