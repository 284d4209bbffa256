//! Rolling a model imported at sequence length 1 into a cell: every recurrent node is replaced
//! by its one-step computation, its initial state becomes a state input and its final state a
//! state output.

use crate::diag::Location;
use crate::network::prune::prune_unused;
use crate::network::{Cell, Direction, Graph, Recurrence, TimeDirection};

use super::emit::{node_ref, source_value, Builder, ValueMap};
use super::recurrent::expand;
use super::{scan, RollError};

/// The direction of one recurrent node, and the node it comes from (for diagnostics).
struct NodeDirection {
    direction: TimeDirection,
    location: Location,
}

/// See [`super::roll_recurrent`].
pub(crate) fn roll_recurrent(step: &Graph) -> Result<Cell, RollError> {
    let (&x, &y) = match (step.inputs.as_slice(), step.outputs.as_slice()) {
        ([x], [y]) => (x, y),
        (inputs, outputs) => {
            return Err(RollError {
                message: format!(
                    "a sequence model has one input x and one output y; this graph has {} inputs and {} outputs",
                    inputs.len(),
                    outputs.len()
                ),
                location: Location::Unknown,
            })
        }
    };
    let mut b = Builder::new();
    let mut map = ValueMap::new(step, String::new());
    let x_value = source_value(step, x)?;
    let x_new = b.input(x_value.name.clone(), x_value.ty.clone());
    map.set(x, x_new);

    let mut states = Vec::new();
    let mut directions = Vec::new();
    for (index, node) in step.nodes.iter().enumerate() {
        let location = Location::Node(node_ref(node));
        let direction = match node.op.recurrence() {
            None => {
                map.copy_node(&mut b, step, node)?;
                continue;
            }
            Some(Recurrence::Scan(attrs)) => {
                scan::inline(&mut b, &mut map, step, node, index, attrs, &mut states)?
            }
            Some(Recurrence::Layer(layer)) => {
                let direction = match layer.attrs().direction {
                    Direction::Forward => TimeDirection::Forward,
                    Direction::Reverse => TimeDirection::Reverse,
                    Direction::Bidirectional => {
                        return Err(RollError {
                            message: "a bidirectional layer is not one causal loop over time (it reads the whole sequence in both directions), so it cannot become a cell".into(),
                            location,
                        })
                    }
                };
                expand(&mut b, &mut map, step, node, index, layer, &mut states)?;
                direction
            }
        };
        directions.push(NodeDirection {
            direction,
            location,
        });
    }

    let direction = loop_direction(&directions)?;
    let y_new = map.operand(&mut b, step, y)?;
    b.output(y_new);
    for slot in &states {
        b.output(slot.output);
    }
    Ok(Cell {
        step: prune_unused(b.graph),
        init: states.into_iter().map(|slot| slot.init).collect(),
        direction,
    })
}

/// The one direction all recurrent nodes share.
fn loop_direction(directions: &[NodeDirection]) -> Result<TimeDirection, RollError> {
    let Some(first) = directions.first() else {
        return Err(RollError {
            message: "the graph contains no recurrent node (RNN, GRU, LSTM or Scan) to roll".into(),
            location: Location::Unknown,
        });
    };
    match directions.iter().find(|d| d.direction != first.direction) {
        None => Ok(first.direction),
        Some(other) => Err(RollError {
            message: format!(
                "this node runs {:?} while an earlier recurrent node runs {:?}: layers running in opposite directions are not one causal loop over time",
                other.direction, first.direction
            ),
            location: other.location.clone(),
        }),
    }
}
