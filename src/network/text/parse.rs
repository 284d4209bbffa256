//! The network parser: text form to [`Network`] (format described in the parent module).

use std::collections::BTreeMap;
use std::ops::Range;

use pest::iterators::Pair;
use pest::Parser as _;

use super::attrs::Attrs;
use super::grammar::{
    child, error, significant, span_of, syntax_error, unexpected, NetworkParser, Rule,
};
use super::literal::{name_text, tensor, tensor_type};
use super::{value_label, TextError};
use crate::network::{
    Cell, Graph, Network, Node, NodeId, Op, RecurrentAttrs, ScanAttrs, SequenceModel, ValueDef,
    ValueId,
};

/// Deepest nesting of brackets and braces the parser accepts; deeper input is refused before
/// the recursive descent could exhaust the stack.
const MAX_NESTING: usize = 64;

/// Parses the text form.
///
/// Returns the network the text describes, or the first syntax or semantic error with its byte
/// span. The result is not validated beyond what building it needs: see
/// [`validate_network`](crate::network::validate::validate_network).
pub fn parse(source: &str) -> Result<Network, TextError> {
    check_nesting(source)?;
    let mut pairs = NetworkParser::parse(Rule::file, source).map_err(syntax_error)?;
    let file = pairs
        .next()
        .ok_or_else(|| error(0..source.len(), "empty parse"))?;
    let network = significant(file.into_inner())
        .next()
        .ok_or_else(|| error(0..source.len(), "missing network"))?;
    match network.as_rule() {
        Rule::pointwise => {
            let body = child(&network, Rule::graph_body)?;
            Ok(Network::Pointwise(graph(body)?))
        }
        Rule::sequence => sequence(network).map(Network::Sequence),
        other => Err(unexpected(&network, other)),
    }
}

/// Reads `network sequence {header} init.. cell {..}`.
fn sequence(pair: Pair<'_, Rule>) -> Result<SequenceModel, TextError> {
    let mut header = None;
    let mut init = Vec::new();
    let mut step = None;
    for item in significant(pair.into_inner()) {
        match item.as_rule() {
            Rule::attr_block => {
                let span = span_of(&item);
                header = Some(Attrs::from_pairs(
                    "network sequence",
                    span,
                    significant(item.into_inner()),
                )?);
            }
            Rule::init => {
                let mut inner = significant(item.clone().into_inner());
                let (Some(ty), Some(data)) = (inner.next(), inner.next()) else {
                    return Err(error(span_of(&item), "malformed init"));
                };
                let ty = tensor_type(ty)?;
                init.push(tensor(data, &ty)?);
            }
            Rule::graph_body => step = Some(graph(item)?),
            other => return Err(unexpected(&item, other)),
        }
    }
    let (Some(mut header), Some(step)) = (header, step) else {
        return Err(error(0..0, "malformed sequence network"));
    };
    let model = SequenceModel {
        length: header.usize("length")?,
        cell: Cell {
            step,
            init,
            direction: header.time_direction("direction")?,
        },
        input_dim: header.usize("input_dim")?,
        input_dtype: header.dtype("input_dtype")?,
        output_dim: header.usize("output_dim")?,
        output_dtype: header.dtype("output_dtype")?,
    };
    header.finish()?;
    Ok(model)
}

/// The values of one graph by the key they are written with: name and `~k` ordinal.
type Scope = BTreeMap<(String, usize), ValueId>;

/// A value as written: its name, its ordinal and the span of the whole reference.
struct ValueKey {
    name: String,
    ordinal: usize,
    span: Range<usize>,
}

impl ValueKey {
    fn label(&self) -> String {
        match self.ordinal {
            0 => value_label(&self.name),
            k => format!("{}~{k}", value_label(&self.name)),
        }
    }

    fn define(&self, scope: &mut Scope, id: ValueId) -> Result<(), TextError> {
        let key = (self.name.clone(), self.ordinal);
        if scope.insert(key, id).is_some() {
            return Err(error(
                self.span.clone(),
                format!("value {} is defined twice", self.label()),
            ));
        }
        Ok(())
    }

    fn resolve(&self, scope: &Scope) -> Result<ValueId, TextError> {
        scope
            .get(&(self.name.clone(), self.ordinal))
            .copied()
            .ok_or_else(|| {
                error(
                    self.span.clone(),
                    format!("undefined value {}", self.label()),
                )
            })
    }
}

/// Reads a `graph_body`: values are numbered in order of definition.
fn graph(body: Pair<'_, Rule>) -> Result<Graph, TextError> {
    let mut graph = Graph::default();
    let mut scope = Scope::new();
    for item in significant(body.into_inner()) {
        let item_span = span_of(&item);
        match item.as_rule() {
            Rule::input_decl => {
                let mut inner = significant(item.into_inner());
                let (Some(value), Some(ty)) = (inner.next(), inner.next()) else {
                    return Err(error(item_span, "malformed input"));
                };
                let key = value_key(value)?;
                let ty = tensor_type(ty)?;
                let id = graph.add_value(key.name.clone(), ty, ValueDef::Input(graph.inputs.len()));
                key.define(&mut scope, id)?;
                graph.inputs.push(id);
            }
            Rule::const_decl => {
                let mut inner = significant(item.into_inner());
                let (Some(value), Some(ty), Some(data)) =
                    (inner.next(), inner.next(), inner.next())
                else {
                    return Err(error(item_span, "malformed const"));
                };
                let key = value_key(value)?;
                let ty = tensor_type(ty)?;
                let data = tensor(data, &ty)?;
                let id = graph.add_value(key.name.clone(), ty, ValueDef::Const(data));
                key.define(&mut scope, id)?;
            }
            Rule::node_decl => node(item, &mut graph, &mut scope)?,
            Rule::output_decl => {
                for value in significant(item.into_inner()) {
                    let id = value_key(value)?.resolve(&scope)?;
                    graph.outputs.push(id);
                }
            }
            other => return Err(unexpected(&item, other)),
        }
    }
    Ok(graph)
}

/// Reads a `node_decl`, appending the node and its outputs to `graph`.
fn node(pair: Pair<'_, Rule>, graph: &mut Graph, scope: &mut Scope) -> Result<(), TextError> {
    let node_span = span_of(&pair);
    let mut results = Vec::new();
    let mut inputs = Vec::new();
    let mut op_name = None;
    let mut attrs = None;
    let mut name = String::new();
    for part in significant(pair.into_inner()) {
        match part.as_rule() {
            Rule::results => {
                for result in significant(part.into_inner()) {
                    let mut inner = significant(result.clone().into_inner());
                    let (Some(value), Some(ty)) = (inner.next(), inner.next()) else {
                        return Err(error(span_of(&result), "malformed result"));
                    };
                    results.push((value_key(value)?, tensor_type(ty)?));
                }
            }
            Rule::ident => op_name = Some(part),
            Rule::operands => {
                for operand in significant(part.into_inner()) {
                    inputs.push(match operand.as_rule() {
                        Rule::absent => None,
                        _ => Some(value_key(operand)?.resolve(scope)?),
                    });
                }
            }
            Rule::attr_block => attrs = Some(part),
            Rule::node_name => name = decode_name(part)?,
            other => return Err(unexpected(&part, other)),
        }
    }
    let op_name = op_name.ok_or_else(|| error(node_span, "node without op"))?;
    let op_span = span_of(&op_name);
    let attrs = match attrs {
        Some(block) => {
            let span = span_of(&block);
            Attrs::from_pairs(op_name.as_str(), span, significant(block.into_inner()))?
        }
        None => Attrs::empty(op_name.as_str(), op_span.clone()),
    };
    let op = build_op(op_name.as_str(), op_span, attrs)?;
    let node_id = NodeId(graph.nodes.len() as u32);
    let mut outputs = Vec::with_capacity(results.len());
    for (i, (key, ty)) in results.into_iter().enumerate() {
        let id = graph.add_value(key.name.clone(), ty, ValueDef::Node(node_id, i));
        key.define(scope, id)?;
        outputs.push(id);
    }
    graph.nodes.push(Node {
        name,
        op,
        inputs,
        outputs,
    });
    Ok(())
}

/// Builds the op named `name` from its attributes; every attribute must be used.
fn build_op(name: &str, span: Range<usize>, mut attrs: Attrs<'_>) -> Result<Op, TextError> {
    let op = match name {
        "Gemm" => Op::Gemm {
            alpha: attrs.f32("alpha")?,
            beta: attrs.f32("beta")?,
            trans_a: attrs.bool("trans_a")?,
            trans_b: attrs.bool("trans_b")?,
        },
        "MatMul" => Op::MatMul,
        "Add" => Op::Add,
        "Sub" => Op::Sub,
        "Mul" => Op::Mul,
        "Div" => Op::Div,
        "Neg" => Op::Neg,
        "Abs" => Op::Abs,
        "Exp" => Op::Exp,
        "Relu" => Op::Relu,
        "Tanh" => Op::Tanh,
        "Sigmoid" => Op::Sigmoid,
        "Identity" => Op::Identity,
        "Cast" => Op::Cast {
            to: attrs.dtype("to")?,
        },
        "Concat" => Op::Concat {
            axis: attrs.usize("axis")?,
        },
        "Gather" => Op::Gather {
            axis: attrs.usize("axis")?,
        },
        "Softmax" => Op::Softmax {
            axis: attrs.usize("axis")?,
        },
        "Slice" => Op::Slice {
            starts: attrs.i64_list("starts")?,
            ends: attrs.i64_list("ends")?,
            axes: attrs.usize_list("axes")?,
            steps: attrs.i64_list("steps")?,
        },
        "Reshape" => Op::Reshape {
            shape: attrs.usize_list("shape")?,
        },
        "Transpose" => Op::Transpose {
            perm: attrs.usize_list("perm")?,
        },
        "Squeeze" => Op::Squeeze {
            axes: attrs.usize_list("axes")?,
        },
        "Unsqueeze" => Op::Unsqueeze {
            axes: attrs.usize_list("axes")?,
        },
        "ArgMax" => Op::ArgMax {
            axis: attrs.usize("axis")?,
            keepdims: attrs.bool("keepdims")?,
            select_last_index: attrs.bool("select_last_index")?,
        },
        "RNN" => Op::Rnn(recurrent_attrs(&mut attrs)?),
        "GRU" => Op::Gru {
            attrs: recurrent_attrs(&mut attrs)?,
            linear_before_reset: attrs.bool("linear_before_reset")?,
        },
        "LSTM" => Op::Lstm {
            attrs: recurrent_attrs(&mut attrs)?,
            input_forget: attrs.bool("input_forget")?,
        },
        "Scan" => {
            let body = attrs.graph("body")?;
            Op::Scan(ScanAttrs {
                body: Box::new(graph(body)?),
                num_scan_inputs: attrs.usize("num_scan_inputs")?,
                scan_input_axes: attrs.usize_list("scan_input_axes")?,
                scan_input_reverse: attrs.bool_list("scan_input_reverse")?,
                scan_output_axes: attrs.usize_list("scan_output_axes")?,
                scan_output_reverse: attrs.bool_list("scan_output_reverse")?,
            })
        }
        other => return Err(error(span, format!("unknown op `{other}`"))),
    };
    attrs.finish()?;
    Ok(op)
}

fn recurrent_attrs(attrs: &mut Attrs<'_>) -> Result<RecurrentAttrs, TextError> {
    Ok(RecurrentAttrs {
        hidden_size: attrs.usize("hidden_size")?,
        direction: attrs.direction("direction")?,
        activations: attrs.activations("activations")?,
        clip: attrs.opt_f32("clip")?,
        batch_major: attrs.bool("batch_major")?,
    })
}

/// Reads a `value` pair (`%name` or `%"name"`, with an optional `~k`).
fn value_key(pair: Pair<'_, Rule>) -> Result<ValueKey, TextError> {
    let span = span_of(&pair);
    let mut name = None;
    let mut ordinal = 0;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::bare | Rule::quoted => name = Some(name_text(&part)?),
            Rule::ordinal => {
                ordinal = part
                    .as_str()
                    .parse()
                    .map_err(|_| error(span_of(&part), "value ordinal is too large"))?;
            }
            other => return Err(unexpected(&part, other)),
        }
    }
    let name = name.ok_or_else(|| error(span.clone(), "value without a name"))?;
    Ok(ValueKey {
        name,
        ordinal,
        span,
    })
}

/// Reads a `node_name` pair (`@name` or `@"name"`).
fn decode_name(pair: Pair<'_, Rule>) -> Result<String, TextError> {
    let span = span_of(&pair);
    match pair.into_inner().next() {
        Some(part) => name_text(&part),
        None => Err(error(span, "node name without a name")),
    }
}

/// Refuses input nested deeper than [`MAX_NESTING`] (outside quoted names and comments).
fn check_nesting(source: &str) -> Result<(), TextError> {
    let mut depth = 0usize;
    let mut in_quotes = false;
    let mut in_comment = false;
    let mut escaped = false;
    for (i, c) in source.char_indices() {
        if in_comment {
            in_comment = c != '\n';
        } else if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
        } else {
            match c {
                '"' => in_quotes = true,
                '#' => in_comment = true,
                '[' | '{' | '(' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(error(
                            i..i + 1,
                            format!("nesting deeper than {MAX_NESTING} levels"),
                        ));
                    }
                }
                ']' | '}' | ')' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(())
}
