//! The limits that concern the network IR whatever its source (ONNX or text): sequence length
//! and graph depth.

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use super::CompileError;
use crate::front::onnx::Limits;
use crate::network::{Graph, Network, ValueDef};

/// Refuses a network over `limits`: its sequence length, and the depth of each of its graphs
/// (the cell's step, and `full`, the whole model a sequence model was rolled from). The error
/// names the limit and the flag that raises it.
pub(super) fn check_limits(
    network: &Network,
    full: Option<&Graph>,
    limits: &Limits,
) -> Result<(), CompileError> {
    let graphs: Vec<&Graph> = match network {
        Network::Pointwise(graph) => vec![graph],
        Network::Sequence(model) => {
            if model.length > limits.max_sequence_length {
                return Err(CompileError::Limit(format!(
                    "the sequence length is {}, more than the limit of {} (raise it with \
                     --max-sequence-length)",
                    model.length, limits.max_sequence_length
                )));
            }
            vec![&model.cell.step]
        }
    };
    for graph in graphs.into_iter().chain(full) {
        let depth = graph_depth(graph);
        if depth > limits.max_graph_depth {
            return Err(CompileError::Limit(format!(
                "the graph is {depth} nodes deep (its longest chain of dependent nodes), more \
                 than the limit of {} (raise it with --max-graph-depth)",
                limits.max_graph_depth
            )));
        }
    }
    Ok(())
}

/// The longest chain of dependent nodes in `graph`, counted in nodes (0 for a graph without
/// nodes): the longest path of the graph of value dependencies, one edge from the node producing
/// a value to each node reading it.
fn graph_depth(graph: &Graph) -> usize {
    let dependencies = dependency_graph(graph);
    // `network::validate` checks that nodes are in evaluation order, so the dependencies form a
    // DAG; were they not, the listed order is the order of evaluation.
    let order =
        toposort(&dependencies, None).unwrap_or_else(|_| dependencies.node_indices().collect());
    let mut depth = vec![0usize; dependencies.node_count()];
    for node in order {
        let deepest_operand = dependencies
            .neighbors_directed(node, Direction::Incoming)
            .map(|producer| depth[producer.index()])
            .max()
            .unwrap_or(0);
        depth[node.index()] = deepest_operand + 1;
    }
    depth.into_iter().max().unwrap_or(0)
}

/// One vertex per node of `graph` (same index), one edge per operand produced by a node.
fn dependency_graph(graph: &Graph) -> DiGraph<(), ()> {
    let mut dependencies = DiGraph::with_capacity(graph.nodes.len(), graph.nodes.len());
    for _ in &graph.nodes {
        dependencies.add_node(());
    }
    for (consumer, node) in graph.nodes.iter().enumerate() {
        for operand in node.inputs.iter().flatten() {
            let producer = match graph.values.get(operand.0 as usize).map(|v| &v.def) {
                Some(ValueDef::Node(producer, _)) => producer.0 as usize,
                Some(ValueDef::Input(_) | ValueDef::Const(_)) | None => continue,
            };
            if producer < graph.nodes.len() {
                dependencies.add_edge(NodeIndex::new(producer), NodeIndex::new(consumer), ());
            }
        }
    }
    dependencies
}

#[cfg(test)]
mod tests {
    use super::graph_depth;
    use crate::network::{text, Network};

    #[test]
    fn depth_is_the_longest_chain_of_dependent_nodes() {
        let text = "network pointwise graph {
  input %x: f32[1, 2]
  %a: f32[1, 2] = Relu(%x)
  %b: f32[1, 2] = Relu(%a)
  %c: f32[1, 2] = Add(%a, %x)
  %d: f32[1, 2] = Add(%b, %c)
  output %d
}
";
        let network = text::parse(text);
        let Ok(Network::Pointwise(graph)) = network else {
            panic!("the text is a pointwise network: {network:?}");
        };
        assert_eq!(graph_depth(&graph), 3);
    }
}
