//! A graph's constant weight tensors, read as `f64` numbers and written back as `f32` tensors,
//! and the graph facts the layer readers need to edit them safely (who reads a value, who
//! computes it).

use ndarray::{ArrayD, IxDyn};

use crate::network::{Graph, Node, Tensor, ValueDef, ValueId};

/// How many times each value is read (as a node input or a graph output).
pub fn use_counts(graph: &Graph) -> Vec<usize> {
    let mut counts = vec![0; graph.values.len()];
    for node in &graph.nodes {
        for id in node.inputs.iter().flatten() {
            counts[id.0 as usize] += 1;
        }
    }
    for id in &graph.outputs {
        counts[id.0 as usize] += 1;
    }
    counts
}

/// The input slots of `node` that read `value` (empty when it does not read it).
pub fn reading_slots(node: &Node, value: ValueId) -> Vec<usize> {
    (0..node.inputs.len())
        .filter(|&i| node.inputs[i] == Some(value))
        .collect()
}

/// The node that computes a value, if any.
pub fn producer_of(graph: &Graph, id: ValueId) -> Option<usize> {
    match graph.value(id).def {
        ValueDef::Node(node, _) => Some(node.0 as usize),
        ValueDef::Input(_) | ValueDef::Const(_) => None,
    }
}

/// The constant 2-D `f32` matrix behind a value, read by one node only.
pub fn private_matrix(graph: &Graph, counts: &[usize], id: ValueId) -> Option<Vec<Vec<f64>>> {
    if counts[id.0 as usize] != 1 {
        return None;
    }
    match graph.constant(id)? {
        Tensor::F32(a) if a.ndim() == 2 => Some(
            a.outer_iter()
                .map(|row| row.iter().map(|&v| v as f64).collect())
                .collect(),
        ),
        _ => None,
    }
}

/// The constant 1-D `f32` vector of length `len` behind a value, read by one node only.
pub fn private_vector(
    graph: &Graph,
    counts: &[usize],
    id: ValueId,
    len: usize,
) -> Option<Vec<f64>> {
    if counts[id.0 as usize] != 1 {
        return None;
    }
    match graph.constant(id)? {
        Tensor::F32(a) if a.shape() == [len] => Some(a.iter().map(|&v| v as f64).collect()),
        _ => None,
    }
}

/// Every float constant of `graph` (weights, biases, embedding tables), in value order.
pub fn float_constants(graph: &Graph) -> Vec<(ValueId, &ArrayD<f32>)> {
    graph
        .values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| match &v.def {
            ValueDef::Const(Tensor::F32(a)) => Some((ValueId(i as u32), a)),
            ValueDef::Const(Tensor::I64(_) | Tensor::Bool(_))
            | ValueDef::Input(_)
            | ValueDef::Node(..) => None,
        })
        .collect()
}

/// The transpose of a matrix given as rows of equal length.
pub fn transpose(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let cols = m.first().map_or(0, Vec::len);
    (0..cols)
        .map(|c| m.iter().map(|row| row[c]).collect())
        .collect()
}

/// Rows of equal length `cols` as a `[rows, cols]` `f32` tensor.
pub fn matrix_tensor(rows: &[Vec<f64>], cols: usize) -> Tensor {
    let data: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    Tensor::F32(
        ArrayD::from_shape_vec(IxDyn(&[rows.len(), cols]), data)
            .expect("rows of equal length make a matrix"),
    )
}

/// Numbers as a 1-D `f32` tensor.
pub fn vector_tensor(values: &[f64]) -> Tensor {
    Tensor::F32(
        ArrayD::from_shape_vec(
            IxDyn(&[values.len()]),
            values.iter().map(|&v| v as f32).collect(),
        )
        .expect("a vector has one dimension"),
    )
}

/// Makes value `id` the constant `tensor` (its type follows the tensor).
pub fn set_const(graph: &mut Graph, id: ValueId, tensor: Tensor) {
    let value = &mut graph.values[id.0 as usize];
    value.ty = tensor.ty();
    value.def = ValueDef::Const(tensor);
}
