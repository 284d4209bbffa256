//! [`RecurrentNet`] to ONNX in the form `torch.onnx.export` gives a batch-first `nn.RNN`,
//! `nn.GRU` or `nn.LSTM` followed by `nn.Linear`, exported with dynamic batch and time axes.
//!
//! `x [N, T, d]` is transposed to time-major; the zero initial state (two for the LSTM) is built
//! at run time from the batch size (`Shape -> Gather -> Unsqueeze -> Concat ->
//! ConstantOfShape`); the `RNN`/`GRU`/`LSTM` node (GRU with `linear_before_reset = 1`) gives
//! `Y [T, 1, N, H]`, which is squeezed and transposed back; the readout is `MatMul` by the
//! transposed weight, then `Add` with the bias first, as PyTorch writes it. A sigmoid head ends in
//! `Sigmoid`; a class head in `ArgMax(axis = -1, keepdims = 1)` and `Cast` to float (a user
//! exporting class predictions). Small constants are `Constant` nodes, as in PyTorch's graphs.
//! The model carries nn2py's metadata (domain, length, `round` readout, task), which a user can
//! add to any model.

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};

use super::onnx::{dim, node, producer};
use super::recurrent::{Cell, Head, RecurrentNet};
use super::{ExportError, ExportMeta};
use crate::onnx_write::{
    encode_model, fixed, float_tensor, int_attr, int_tensor, ints_attr, sym, tensor_attr,
    value_info, zero_value_attr,
};

/// Encodes `net` as PyTorch's exporter would, with `meta` in its `metadata_props`.
///
/// Errors: an invalid network (see [`RecurrentNet::validate`]), a domain `--domain` would
/// reject, a zero length, or a dimension too large for ONNX. Equal inputs give equal bytes.
pub fn export_torch_form(net: &RecurrentNet, meta: &ExportMeta) -> Result<Vec<u8>, ExportError> {
    net.validate()?;
    meta.validate()?;
    let d = dim(net.input_dim)?;
    let hidden = dim(net.hidden)?;
    let rows = dim(net.cell.gates() * net.hidden)?;
    let logits = dim(net.readout.out)?;
    let o = dim(net.output_dim())?;

    let mut bias = net.wb.clone();
    bias.extend(&net.rb);
    // PyTorch keeps `nn.Linear`'s weight `[out, hidden]` and exports `x @ W^T` as a MatMul
    // by the transposed matrix.
    let mut weight_t = vec![0.0f32; net.readout.weight.len()];
    for (row, values) in net.readout.weight.chunks(net.hidden).enumerate() {
        for (col, &v) in values.iter().enumerate() {
            weight_t[col * net.readout.out + row] = v;
        }
    }
    let op = net.cell.onnx_op();
    let initializer = vec![
        float_tensor("out.bias", &[logits], net.readout.bias.clone()),
        float_tensor(&format!("onnx::{op}_W"), &[1, rows, d], net.w.clone()),
        float_tensor(&format!("onnx::{op}_R"), &[1, rows, hidden], net.r.clone()),
        float_tensor(&format!("onnx::{op}_B"), &[1, 2 * rows], bias),
        float_tensor("onnx::MatMul_W", &[hidden, logits], weight_t),
    ];

    let mut nodes = vec![
        node("Shape", &["x"], &["/rec/Shape_output_0"], vec![]),
        constant("/rec/Constant_output_0", int_tensor("value", &[], vec![0])),
        node(
            "Gather",
            &["/rec/Shape_output_0", "/rec/Constant_output_0"],
            &["/rec/Gather_output_0"],
            vec![int_attr("axis", 0)],
        ),
        constant(
            "/rec/Constant_1_output_0",
            int_tensor("value", &[1], vec![1]),
        ),
        constant("onnx::Unsqueeze_axes", int_tensor("value", &[1], vec![0])),
        node(
            "Unsqueeze",
            &["/rec/Gather_output_0", "onnx::Unsqueeze_axes"],
            &["/rec/Unsqueeze_output_0"],
            vec![],
        ),
        constant(
            "/rec/Constant_2_output_0",
            int_tensor("value", &[1], vec![hidden]),
        ),
        node(
            "Concat",
            &[
                "/rec/Constant_1_output_0",
                "/rec/Unsqueeze_output_0",
                "/rec/Constant_2_output_0",
            ],
            &["/rec/Concat_output_0"],
            vec![int_attr("axis", 0)],
        ),
        node(
            "ConstantOfShape",
            &["/rec/Concat_output_0"],
            &["/rec/h0"],
            vec![zero_value_attr()],
        ),
    ];
    if net.cell == Cell::Lstm {
        nodes.push(node(
            "ConstantOfShape",
            &["/rec/Concat_output_0"],
            &["/rec/c0"],
            vec![zero_value_attr()],
        ));
    }
    nodes.push(node(
        "Transpose",
        &["x"],
        &["/rec/Transpose_output_0"],
        vec![ints_attr("perm", &[1, 0, 2])],
    ));
    let (w, r, b) = (
        format!("onnx::{op}_W"),
        format!("onnx::{op}_R"),
        format!("onnx::{op}_B"),
    );
    let mut cell_inputs = vec![
        "/rec/Transpose_output_0",
        w.as_str(),
        r.as_str(),
        b.as_str(),
        "",
        "/rec/h0",
    ];
    let mut cell_outputs = vec!["/rec/Y", "/rec/Y_h"];
    let mut attrs = vec![int_attr("hidden_size", hidden)];
    match net.cell {
        Cell::Rnn => {}
        Cell::Gru => attrs.push(int_attr("linear_before_reset", 1)),
        Cell::Lstm => {
            cell_inputs.push("/rec/c0");
            cell_outputs.push("/rec/Y_c");
        }
    }
    nodes.push(node(op, &cell_inputs, &cell_outputs, attrs));
    nodes.extend([
        constant(
            "/rec/Constant_3_output_0",
            int_tensor("value", &[1], vec![1]),
        ),
        node(
            "Squeeze",
            &["/rec/Y", "/rec/Constant_3_output_0"],
            &["/rec/Squeeze_output_0"],
            vec![],
        ),
        node(
            "Transpose",
            &["/rec/Squeeze_output_0"],
            &["/rec/Transpose_1_output_0"],
            vec![ints_attr("perm", &[1, 0, 2])],
        ),
        node(
            "MatMul",
            &["/rec/Transpose_1_output_0", "onnx::MatMul_W"],
            &["/out/MatMul_output_0"],
            vec![],
        ),
    ]);
    let readout = match net.head {
        Head::Linear => "y",
        Head::Sigmoid | Head::Classes(_) => "/out/Add_output_0",
    };
    nodes.push(node(
        "Add",
        &["out.bias", "/out/MatMul_output_0"],
        &[readout],
        vec![],
    ));
    match net.head {
        Head::Linear => {}
        Head::Sigmoid => nodes.push(node("Sigmoid", &[readout], &["y"], vec![])),
        Head::Classes(_) => {
            nodes.push(node(
                "ArgMax",
                &[readout],
                &["/ArgMax_output_0"],
                vec![int_attr("axis", -1), int_attr("keepdims", 1)],
            ));
            nodes.push(node(
                "Cast",
                &["/ArgMax_output_0"],
                &["y"],
                vec![int_attr("to", DataType::Float as i64)],
            ));
        }
    }

    let graph = GraphProto {
        name: "main_graph".to_string(),
        node: nodes,
        initializer,
        input: vec![value_info(
            "x",
            DataType::Float,
            &[sym("N"), sym("T"), fixed(d)],
        )],
        output: vec![value_info(
            "y",
            DataType::Float,
            &[sym("N"), sym("T"), fixed(o)],
        )],
        ..GraphProto::default()
    };
    Ok(encode_model(
        graph,
        producer(&meta.producer_version),
        meta.entries(),
    ))
}

/// A `Constant` node giving `value`.
fn constant(output: &str, value: TensorProto) -> NodeProto {
    node(
        "Constant",
        &[],
        &[output],
        vec![tensor_attr("value", value)],
    )
}
