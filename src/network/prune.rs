//! Removing what no graph output depends on.

use super::{Graph, Node, NodeId, Value, ValueDef, ValueId};

/// Rebuilds `graph` without the nodes whose outputs no graph output depends on and without the
/// constants nothing reads; handles are renumbered, keeping the order of what remains.
///
/// Graph inputs are always kept, so the graph's signature does not change; a kept node keeps all
/// its outputs, read or not.
pub fn prune_unused(graph: Graph) -> Graph {
    let mut needed_value = vec![false; graph.values.len()];
    for &id in graph.inputs.iter().chain(&graph.outputs) {
        needed_value[id.0 as usize] = true;
    }
    let mut keep_node = vec![false; graph.nodes.len()];
    for (index, node) in graph.nodes.iter().enumerate().rev() {
        if node.outputs.iter().any(|o| needed_value[o.0 as usize]) {
            keep_node[index] = true;
            for id in node.inputs.iter().flatten().chain(&node.outputs) {
                needed_value[id.0 as usize] = true;
            }
        }
    }
    let mut node_index = vec![None; graph.nodes.len()];
    let mut kept = 0u32;
    for (index, keep) in keep_node.iter().enumerate() {
        if *keep {
            node_index[index] = Some(NodeId(kept));
            kept += 1;
        }
    }
    let mut value_index = vec![None; graph.values.len()];
    let mut values = Vec::new();
    for (index, value) in graph.values.into_iter().enumerate() {
        if !needed_value[index] {
            continue;
        }
        let def = match value.def {
            ValueDef::Node(node, k) => match node_index[node.0 as usize] {
                Some(new) => ValueDef::Node(new, k),
                // A needed output of a removed node cannot happen: a node is kept as soon as
                // one of its outputs is needed.
                None => continue,
            },
            other @ (ValueDef::Input(_) | ValueDef::Const(_)) => other,
        };
        value_index[index] = Some(ValueId(values.len() as u32));
        values.push(Value { def, ..value });
    }
    // Every value read by a kept node or the graph was kept above, so the lookups succeed.
    let remap = |id: ValueId| value_index[id.0 as usize].unwrap_or(id);
    let nodes = graph
        .nodes
        .into_iter()
        .zip(keep_node)
        .filter(|(_, keep)| *keep)
        .map(|(node, _)| Node {
            inputs: node.inputs.iter().map(|i| i.map(remap)).collect(),
            outputs: node.outputs.iter().map(|&o| remap(o)).collect(),
            ..node
        })
        .collect();
    Graph {
        values,
        nodes,
        inputs: graph.inputs.iter().map(|&i| remap(i)).collect(),
        outputs: graph.outputs.iter().map(|&o| remap(o)).collect(),
    }
}
