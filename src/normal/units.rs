//! Hidden-unit layers: the pattern the unit symmetries act on, read out of a graph and written
//! back.
//!
//! A *unit layer* is `a = act(x @ W1 + b1)` followed only by dense layers `a @ W2 (+ b2)`: a
//! `Gemm` with constant weights (alpha = beta = 1, no transposed `x`), a `Relu` or `Tanh` whose
//! result nothing else reads, and `Gemm` consumers with constant weights. Unit `j` owns row `j` of
//! the incoming weights, `b1[j]`, and column `j` of every consumer's weights. The constants
//! involved must be read by no other node, so editing them changes this layer only. The network's
//! state tensors and outputs are never unit layers (their shapes are fixed), so removing units
//! keeps the network's interface.

use super::constants::{
    matrix_tensor, private_matrix, private_vector, producer_of, reading_slots, set_const,
    transpose, use_counts, vector_tensor,
};
use crate::network::{Graph, Node, Op, ValueId};

/// The activation between the two dense layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitActivation {
    /// Positively homogeneous: `relu(s z) = s relu(z)` for `s > 0`.
    Relu,
    /// Odd: `tanh(-z) = -tanh(z)`.
    Tanh,
}

impl UnitActivation {
    /// The activation's value at `z`.
    pub fn apply(self, z: f64) -> f64 {
        match self {
            UnitActivation::Relu => z.max(0.0),
            UnitActivation::Tanh => z.tanh(),
        }
    }
}

/// One consumer of a unit layer: `a @ W2 + b2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    node: usize,
    trans_b: bool,
    /// `outgoing[j]`: what unit `j` contributes to each of the consumer's outputs.
    pub outgoing: Vec<Vec<f64>>,
    /// The consumer's bias, when it has one of its own of shape `[m]` (and beta = 1).
    pub bias: Option<Vec<f64>>,
}

/// A unit layer read out of a graph, as plain numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitLayer {
    producer: usize,
    activation_node: usize,
    trans_b: bool,
    has_bias: bool,
    pub activation: UnitActivation,
    /// `incoming[j]`: unit `j`'s weight on each input feature.
    pub incoming: Vec<Vec<f64>>,
    /// `bias[j]` (zero when the producer has none).
    pub bias: Vec<f64>,
    pub consumers: Vec<Consumer>,
}

impl UnitLayer {
    /// Number of units.
    pub fn len(&self) -> usize {
        self.incoming.len()
    }

    /// Whether the layer has no units left.
    pub fn is_empty(&self) -> bool {
        self.incoming.is_empty()
    }

    /// Removes unit `j` (its incoming weights, bias and outgoing weights).
    pub fn remove(&mut self, j: usize) {
        self.incoming.remove(j);
        self.bias.remove(j);
        for consumer in &mut self.consumers {
            consumer.outgoing.remove(j);
        }
    }

    /// Reorders the units: unit `i` of the result is unit `order[i]` of `self`.
    pub fn reorder(&mut self, order: &[usize]) {
        self.incoming = order.iter().map(|&j| self.incoming[j].clone()).collect();
        self.bias = order.iter().map(|&j| self.bias[j]).collect();
        for consumer in &mut self.consumers {
            consumer.outgoing = order
                .iter()
                .map(|&j| consumer.outgoing[j].clone())
                .collect();
        }
    }

    /// Whether the producer has a bias to hold nonzero `bias` values.
    pub fn has_bias(&self) -> bool {
        self.has_bias
    }
}

/// Every unit layer of `graph`, in node order.
pub fn find_layers(graph: &Graph) -> Vec<UnitLayer> {
    let counts = use_counts(graph);
    let mut layers = Vec::new();
    for (act_index, act) in graph.nodes.iter().enumerate() {
        if let Some(layer) = read_layer(graph, &counts, act_index, act) {
            layers.push(layer);
        }
    }
    layers
}

fn read_layer(graph: &Graph, counts: &[usize], act_index: usize, act: &Node) -> Option<UnitLayer> {
    let activation = match act.op {
        Op::Relu => UnitActivation::Relu,
        Op::Tanh => UnitActivation::Tanh,
        _ => return None,
    };
    let pre = (*act.inputs.first()?)?;
    let post = *act.outputs.first()?;
    if counts[pre.0 as usize] != 1 || graph.outputs.contains(&post) {
        return None;
    }
    let producer = producer_of(graph, pre)?;
    let node = &graph.nodes[producer];
    let Op::Gemm {
        alpha,
        beta,
        trans_a: false,
        trans_b,
    } = node.op
    else {
        return None;
    };
    if alpha != 1.0 || beta != 1.0 {
        return None;
    }
    let weights = private_matrix(graph, counts, (*node.inputs.get(1)?)?)?;
    let incoming = if trans_b {
        weights
    } else {
        transpose(&weights)
    };
    let units = incoming.len();
    if graph.value(pre).ty.shape.last() != Some(&units) {
        return None;
    }
    let (bias, has_bias) = match node.inputs.get(2).copied().flatten() {
        Some(id) => (private_vector(graph, counts, id, units)?, true),
        None => (vec![0.0; units], false),
    };

    let mut consumers = Vec::new();
    for (index, reader) in graph.nodes.iter().enumerate() {
        let reads = reading_slots(reader, post);
        if reads.is_empty() {
            continue;
        }
        let Op::Gemm {
            alpha,
            beta,
            trans_a: false,
            trans_b,
        } = reader.op
        else {
            return None;
        };
        if reads != [0] || alpha != 1.0 {
            return None;
        }
        let weights = private_matrix(graph, counts, (*reader.inputs.get(1)?)?)?;
        let outgoing = if trans_b {
            transpose(&weights)
        } else {
            weights
        };
        if outgoing.len() != units {
            return None;
        }
        let outputs = outgoing.first().map_or(0, Vec::len);
        let bias = match reader.inputs.get(2).copied().flatten() {
            Some(id) if beta == 1.0 => private_vector(graph, counts, id, outputs),
            _ => None,
        };
        consumers.push(Consumer {
            node: index,
            trans_b,
            outgoing,
            bias,
        });
    }
    if consumers.is_empty() {
        return None;
    }
    Some(UnitLayer {
        producer,
        activation_node: act_index,
        trans_b,
        has_bias,
        activation,
        incoming,
        bias,
        consumers,
    })
}

/// Sets the last dimension of a value's type (the unit count of a layer's intermediate values).
fn set_units(graph: &mut Graph, id: ValueId, units: usize) {
    if let Some(last) = graph.values[id.0 as usize].ty.shape.last_mut() {
        *last = units;
    }
}

/// Writes an edited layer back into the graph it was read from (same graph, not edited since).
/// A layer must keep at least one unit (an empty dense layer is not a valid Gemm).
pub fn write_layer(graph: &mut Graph, layer: &UnitLayer) {
    let units = layer.len();
    let inputs = layer.incoming.first().map_or(0, Vec::len);
    let producer = graph.nodes[layer.producer].clone();
    if let Some(Some(id)) = producer.inputs.get(1) {
        let tensor = if layer.trans_b {
            matrix_tensor(&layer.incoming, inputs)
        } else {
            matrix_tensor(&transpose(&layer.incoming), units)
        };
        set_const(graph, *id, tensor);
    }
    if let Some(Some(id)) = producer.inputs.get(2) {
        set_const(graph, *id, vector_tensor(&layer.bias));
    }
    set_units(graph, producer.outputs[0], units);
    let post = graph.nodes[layer.activation_node].outputs[0];
    set_units(graph, post, units);
    for consumer in &layer.consumers {
        let node = graph.nodes[consumer.node].clone();
        let outputs = consumer.outgoing.first().map_or(0, Vec::len);
        if let Some(Some(id)) = node.inputs.get(1) {
            let tensor = if consumer.trans_b {
                matrix_tensor(&transpose(&consumer.outgoing), units)
            } else {
                matrix_tensor(&consumer.outgoing, outputs)
            };
            set_const(graph, *id, tensor);
        }
        if let (Some(bias), Some(Some(id))) = (&consumer.bias, node.inputs.get(2)) {
            set_const(graph, *id, vector_tensor(bias));
        }
    }
}
