//! The dense layers of a network graph, read as matrices, and written back.
//!
//! A dense layer is a `Gemm` with a constant `B` (and an optional constant `C`), or a `MatMul`
//! with a constant right operand, optionally followed by an `Add` of a constant: `y = W x + b`
//! with `W` `[out, in]`. Two consecutive layers are *ReLU-linked* when the second reads
//! `Relu(first)`: the first's outputs are then hidden neurons, positively homogeneous, so
//! rescaling, merging and permuting them are meaningful.
//!
//! This is the wider, looser reading of the two layer readers: every dense layer, its scales
//! folded in, its constants possibly shared, hidden neurons kept in place (edits zero them
//! rather than remove them). [`super::units`] reads the narrower pattern the converter's passes
//! edit, where units can be removed.

use ndarray::{ArrayD, IxDyn};

use crate::network::{Graph, Op, Tensor, ValueDef, ValueId};

/// One dense layer `y = W x + b` of a graph.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseLayer {
    /// The node's name (for reports).
    pub name: String,
    pub out: usize,
    pub inp: usize,
    /// Row-major `[out, in]`, with Gemm's `alpha` folded in.
    pub weight: Vec<f64>,
    /// `[out]`, with Gemm's `beta` folded in (zeros when the layer has none).
    pub bias: Vec<f64>,
    /// The value the layer reads.
    pub input: ValueId,
    /// The value that holds `W x + b`.
    pub output: ValueId,
    store: Store,
}

/// How to write a layer back into its constants.
#[derive(Debug, Clone, PartialEq)]
struct Store {
    weight: ValueId,
    /// The constant holds `W^T` (`[in, out]`) rather than `W`.
    transposed: bool,
    scale: f64,
    bias: Option<(ValueId, f64)>,
}

/// The dense layers of `graph` in node order, and for each layer but the last whether the next
/// layer reads it through a ReLU.
pub fn dense_layers(graph: &Graph) -> (Vec<DenseLayer>, Vec<bool>) {
    let mut layers = Vec::new();
    for node in &graph.nodes {
        let (Some(Some(a)), Some(Some(b))) = (node.inputs.first(), node.inputs.get(1)) else {
            continue;
        };
        let Some(&output) = node.outputs.first() else {
            continue;
        };
        if graph.value(*a).ty.shape.first() != Some(&1) || graph.value(*a).ty.shape.len() != 2 {
            continue;
        }
        let Some(Tensor::F32(bt)) = graph.constant(*b) else {
            continue;
        };
        if bt.ndim() != 2 {
            continue;
        }
        let (rows, cols) = (bt.shape()[0], bt.shape()[1]);
        let layer = match &node.op {
            Op::Gemm {
                alpha,
                beta,
                trans_a: false,
                trans_b,
            } => {
                let (out, inp) = if *trans_b { (rows, cols) } else { (cols, rows) };
                let bias = node.inputs.get(2).copied().flatten();
                let bias_values = match bias.and_then(|c| graph.constant(c)) {
                    Some(Tensor::F32(c)) if c.len() == out || c.len() == 1 => Some(c),
                    Some(_) => continue,
                    None if bias.is_some() => continue,
                    None => None,
                };
                let store = Store {
                    weight: *b,
                    transposed: !trans_b,
                    scale: f64::from(*alpha),
                    bias: bias.map(|c| (c, f64::from(*beta))),
                };
                let b_vec = match bias_values {
                    Some(c) if c.len() == out => {
                        c.iter().map(|&v| f64::from(v) * f64::from(*beta)).collect()
                    }
                    Some(c) => vec![
                        f64::from(c.iter().next().copied().unwrap_or(0.0))
                            * f64::from(*beta);
                        out
                    ],
                    None => vec![0.0; out],
                };
                // A broadcast scalar bias cannot be written back per neuron.
                let store = match bias_values {
                    Some(c) if c.len() != out => Store {
                        bias: None,
                        ..store
                    },
                    _ => store,
                };
                if store.bias.is_none() && bias.is_some() {
                    continue;
                }
                make_layer(&node.name, out, inp, bt, store, b_vec, *a, output)
            }
            Op::MatMul => {
                let (out, inp) = (cols, rows);
                let store = Store {
                    weight: *b,
                    transposed: true,
                    scale: 1.0,
                    bias: None,
                };
                let mut layer =
                    make_layer(&node.name, out, inp, bt, store, vec![0.0; out], *a, output);
                attach_bias(graph, &mut layer);
                layer
            }
            _ => continue,
        };
        layers.push(layer);
    }
    let links = layers
        .windows(2)
        .map(|pair| {
            relu_of(graph, pair[1].input) == Some(pair[0].output) && pair[0].out == pair[1].inp
        })
        .collect();
    (layers, links)
}

#[allow(clippy::too_many_arguments)]
fn make_layer(
    name: &str,
    out: usize,
    inp: usize,
    bt: &ArrayD<f32>,
    store: Store,
    bias: Vec<f64>,
    input: ValueId,
    output: ValueId,
) -> DenseLayer {
    let mut weight = vec![0.0; out * inp];
    for o in 0..out {
        for i in 0..inp {
            let v = if store.transposed {
                bt[[i, o]]
            } else {
                bt[[o, i]]
            };
            weight[o * inp + i] = f64::from(v) * store.scale;
        }
    }
    DenseLayer {
        name: name.to_string(),
        out,
        inp,
        weight,
        bias,
        input,
        output,
        store,
    }
}

/// A MatMul followed by `Add(matmul, const [out])` takes that constant as its bias.
fn attach_bias(graph: &Graph, layer: &mut DenseLayer) {
    for node in &graph.nodes {
        if node.op != Op::Add || node.outputs.len() != 1 {
            continue;
        }
        let inputs: Vec<ValueId> = node.inputs.iter().flatten().copied().collect();
        let other = match inputs.as_slice() {
            [x, c] if *x == layer.output => *c,
            [c, x] if *x == layer.output => *c,
            _ => continue,
        };
        if let Some(Tensor::F32(c)) = graph.constant(other) {
            if c.len() == layer.out && c.shape().last() == Some(&layer.out) {
                layer.bias = c.iter().map(|&v| f64::from(v)).collect();
                layer.store.bias = Some((other, 1.0));
                layer.output = node.outputs[0];
                return;
            }
        }
    }
}

/// The value `Relu` reads when `value` is a Relu's output.
fn relu_of(graph: &Graph, value: ValueId) -> Option<ValueId> {
    match graph.value(value).def {
        ValueDef::Node(id, 0) => {
            let node = graph.node(id);
            match node.op {
                Op::Relu => node.inputs.first().copied().flatten(),
                _ => None,
            }
        }
        ValueDef::Node(..) | ValueDef::Input(_) | ValueDef::Const(_) => None,
    }
}

/// Writes `layer`'s weight and bias back into `graph`'s constants (undoing the folded scale and
/// transposition). A layer whose bias was absent keeps no bias: its `bias` must be zero.
pub fn store_layer(graph: &mut Graph, layer: &DenseLayer) {
    let s = &layer.store;
    let scale = if s.scale != 0.0 { s.scale } else { 1.0 };
    let (rows, cols) = if s.transposed {
        (layer.inp, layer.out)
    } else {
        (layer.out, layer.inp)
    };
    let mut data = vec![0.0f32; rows * cols];
    for o in 0..layer.out {
        for i in 0..layer.inp {
            let v = (layer.weight[o * layer.inp + i] / scale) as f32;
            let at = if s.transposed {
                i * cols + o
            } else {
                o * cols + i
            };
            data[at] = v;
        }
    }
    if let Ok(array) = ArrayD::from_shape_vec(IxDyn(&[rows, cols]), data) {
        graph.values[s.weight.0 as usize].def = ValueDef::Const(Tensor::F32(array));
    }
    if let Some((bias, beta)) = s.bias {
        let beta = if beta != 0.0 { beta } else { 1.0 };
        let shape = graph.value(bias).ty.shape.clone();
        let data: Vec<f32> = layer.bias.iter().map(|&b| (b / beta) as f32).collect();
        if let Ok(array) = ArrayD::from_shape_vec(IxDyn(&shape), data) {
            graph.values[bias.0 as usize].def = ValueDef::Const(Tensor::F32(array));
        }
    }
}

/// Whether hidden neuron `i` (output `i` of `layer`, read through a ReLU by `next`) can affect
/// anything: some outgoing weight is nonzero and it is not constantly zero (some incoming weight
/// is nonzero, or its bias is positive).
pub fn is_live(layer: &DenseLayer, next: &DenseLayer, i: usize) -> bool {
    let outgoing = (0..next.out).any(|m| next.weight[m * next.inp + i] != 0.0);
    let row = &layer.weight[i * layer.inp..(i + 1) * layer.inp];
    outgoing && (row.iter().any(|&w| w != 0.0) || layer.bias[i] > 0.0)
}

/// Zeroes hidden neuron `i`: its row and bias in `layer`, its column in `next`.
pub fn clear_neuron(layer: &mut DenseLayer, next: &mut DenseLayer, i: usize) {
    layer.weight[i * layer.inp..(i + 1) * layer.inp].fill(0.0);
    layer.bias[i] = 0.0;
    for m in 0..next.out {
        next.weight[m * next.inp + i] = 0.0;
    }
}

/// Applies `pass` to every ReLU-linked pair of dense layers of `graph` (the layer whose outputs
/// are the hidden neurons, and the layer reading them), then writes every layer back; returns
/// the sum of what `pass` returned.
pub fn on_linked_pairs(
    graph: &mut Graph,
    mut pass: impl FnMut(&mut DenseLayer, &mut DenseLayer) -> usize,
) -> usize {
    let (mut layers, links) = dense_layers(graph);
    let mut changes = 0;
    for (k, &linked) in links.iter().enumerate() {
        if !linked {
            continue;
        }
        let (head, tail) = layers.split_at_mut(k + 1);
        changes += pass(&mut head[k], &mut tail[0]);
    }
    layers.iter().for_each(|l| store_layer(graph, l));
    changes
}
