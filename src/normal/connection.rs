//! The geometry of the BIMT connection cost: the neurons of every layer sit evenly on the unit
//! line, and a weight costs its magnitude times the length of its wire. The trainer's
//! connection penalty and the complexity report's connection cost both measure weights on it.

/// Constant added to every connection's length (the cost of a wire of length 0).
pub const CONNECTION_L0: f64 = 0.5;

/// Position of neuron `i` of a layer of `n` on the unit line: `(i + 1/2) / n`.
pub fn position(i: usize, n: usize) -> f64 {
    (i as f64 + 0.5) / n.max(1) as f64
}

/// The length `|pos_o - pos_i| + CONNECTION_L0` of the wire from neuron `i` of a layer of
/// `inputs` to neuron `o` of the next layer, of `outputs`.
pub fn connection_length(o: usize, outputs: usize, i: usize, inputs: usize) -> f64 {
    (position(o, outputs) - position(i, inputs)).abs() + CONNECTION_L0
}
