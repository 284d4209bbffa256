//! Assembling one network IR graph from an ONNX graph: node order, name resolution, typing,
//! folding, and the nested graphs of `Scan` bodies.
//!
//! Each node is resolved against its [`Scope`], evaluated away when it is an import-only op
//! ([`fold`]), else converted to an [`Op`](crate::network::Op) ([`ops`], [`scan`]), typed with
//! [`infer_types`], and folded into a constant when all its operands are constants.

use std::collections::{BTreeMap, BTreeSet};

use tract_onnx::pb::{GraphProto, NodeProto};

use super::attrs::NodeCx;
use super::scope::{Converted, ImportCx, Scope};
use super::{decode, fold, ops, scan, ImportError};
use crate::diag::Location;
use crate::network::infer::infer_types;
use crate::network::interp::eval_op;
use crate::network::prune::prune_unused;
use crate::network::{Graph, Tensor, TensorType, ValueId};

/// Imports the nodes of a graph into `scope`, in a topological order that keeps the file's order
/// where it is already valid.
pub(super) fn import_nodes(scope: &mut Scope, nodes: &[NodeProto]) -> Result<(), ImportError> {
    for i in order(nodes, |name| scope.is_defined(name))? {
        import_node(scope, &nodes[i])?;
    }
    Ok(())
}

fn import_node(scope: &mut Scope, node: &NodeProto) -> Result<(), ImportError> {
    let cx = NodeCx {
        node,
        opset: scope.cx.opset,
    };
    let location = cx.location();
    if !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return Err(cx.error(format!(
            "unsupported operator {}.{} (only the default ONNX domain is supported)",
            node.domain.escape_debug(),
            cx.op()
        )));
    }
    if node.output.is_empty() {
        return Err(cx.error(format!("{} has no outputs", cx.op())));
    }
    let mut inputs = Vec::with_capacity(node.input.len());
    for name in &node.input {
        inputs.push(match name.as_str() {
            "" => None,
            name => Some(scope.resolve(name, &location)?),
        });
    }
    if let Some(tensors) = fold::import_only(&cx, scope, &inputs)? {
        return define_constants(scope, node, tensors, &location);
    }
    let Converted {
        op,
        inputs,
        n_outputs,
    } = convert(&cx, scope, &inputs)?;
    let n_outputs = n_outputs.min(node.output.len());
    for (i, name) in node.output.iter().enumerate().skip(n_outputs) {
        if !name.is_empty() {
            let reason = format!(
                "output {i} (\"{}\") of {} is not supported",
                name.escape_debug(),
                crate::diag::NodeRef {
                    name: node.name.clone(),
                    op_type: node.op_type.clone()
                }
            );
            scope.mark_unavailable(name, reason);
        }
    }
    let types: Vec<Option<&TensorType>> =
        inputs.iter().map(|id| id.map(|id| scope.ty(id))).collect();
    let out_types =
        infer_types(&op, &types, n_outputs).map_err(|m| cx.error(format!("{}: {m}", cx.op())))?;
    for ty in &out_types {
        decode::checked_count(
            &ty.shape,
            &scope.cx.limits,
            &format!("an output of {}", cx.op()),
            &location,
        )?;
    }
    let operands: Option<Vec<Option<&Tensor>>> = inputs
        .iter()
        .map(|id| match id {
            None => Some(None),
            Some(id) => scope.constant(*id).map(Some),
        })
        .collect();
    if let Some(operands) = operands {
        let tensors = eval_op(&op, &operands, n_outputs)
            .map_err(|e| cx.error(format!("folding {} failed: {e}", cx.op())))?;
        if tensors.len() != n_outputs || tensors.iter().zip(&out_types).any(|(t, ty)| t.ty() != *ty)
        {
            return Err(cx.error(format!(
                "folding {} gave values whose types differ from the inferred ones",
                cx.op()
            )));
        }
        return define_constants(scope, node, tensors, &location);
    }
    let outputs = node
        .output
        .iter()
        .cloned()
        .zip(out_types)
        .collect::<Vec<_>>();
    let ids = scope.graph.add_node(node.name.clone(), op, inputs, outputs);
    for (name, id) in node.output.iter().zip(ids) {
        scope.define(name, id, &location)?;
    }
    Ok(())
}

/// Adds the outputs of a node evaluated at import as named constants.
fn define_constants(
    scope: &mut Scope,
    node: &NodeProto,
    tensors: Vec<Tensor>,
    location: &Location,
) -> Result<(), ImportError> {
    for (name, tensor) in node.output.iter().zip(tensors) {
        let id = scope.graph.add_const(name.clone(), tensor);
        scope.define(name, id, location)?;
    }
    Ok(())
}

/// Converts a node that is not an import-only op. A `Scan` has its body imported here, as a
/// nested graph assembled like the model's; every other op is [`ops::convert`].
fn convert(
    cx: &NodeCx,
    scope: &Scope,
    inputs: &[Option<ValueId>],
) -> Result<Converted, ImportError> {
    if cx.node.op_type != "Scan" {
        return ops::convert(cx, scope, inputs);
    }
    let head = scan::read_head(cx, scope, inputs)?;
    let body = import_scan_body(cx, scope, head.body, &head.body_types)?;
    scan::convert(cx, head, body, inputs)
}

/// Imports a `Scan` body whose inputs have the given types, in a scope nested in `outer`.
fn import_scan_body(
    cx: &NodeCx,
    outer: &Scope,
    body: &GraphProto,
    types: &[TensorType],
) -> Result<Graph, ImportError> {
    let inner_cx = ImportCx {
        depth: outer.cx.depth + 1,
        ..outer.cx.clone()
    };
    let mut scope = Scope::new(inner_cx, Some(outer))?;
    scope.add_initializers(&body.initializer)?;
    if body.input.len() != types.len() {
        return Err(cx.error(format!(
            "the Scan body takes {} inputs, but the node gives it {}",
            body.input.len(),
            types.len()
        )));
    }
    for (info, ty) in body.input.iter().zip(types) {
        let location = cx.location();
        if let Some((code, _)) = decode::declared(info.r#type.as_ref()).filter(|(c, _)| *c != 0) {
            let what = format!("body input \"{}\"", info.name.escape_debug());
            let declared = decode::dtype_of(code, &what, &location)?;
            if declared != ty.dtype {
                return Err(cx.error(format!(
                    "{what} is declared {declared:?} but the Scan gives it {:?}",
                    ty.dtype
                )));
            }
        }
        scope.add_input(&info.name, ty.clone(), &location)?;
    }
    import_nodes(&mut scope, &body.node)?;
    for info in &body.output {
        let id = scope.resolve(&info.name, &cx.location())?;
        scope.graph.outputs.push(id);
    }
    Ok(prune_unused(scope.graph))
}

/// Indices of `nodes` in a topological order: among the nodes whose inputs are ready, the one
/// that comes first in the file runs first. `defined` tells which names exist before any node.
fn order(nodes: &[NodeProto], defined: impl Fn(&str) -> bool) -> Result<Vec<usize>, ImportError> {
    let mut producer: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, node) in nodes.iter().enumerate() {
        for name in node.output.iter().filter(|n| !n.is_empty()) {
            producer.entry(name.as_str()).or_insert(i);
        }
    }
    let mut waiting = vec![0usize; nodes.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        let deps: BTreeSet<usize> = node
            .input
            .iter()
            .filter(|n| !n.is_empty() && !defined(n))
            .filter_map(|n| producer.get(n.as_str()).copied())
            .filter(|&p| p != i)
            .collect();
        waiting[i] = deps.len();
        for p in deps {
            users[p].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..nodes.len()).filter(|&i| waiting[i] == 0).collect();
    let mut out = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_first() {
        out.push(i);
        for &u in &users[i] {
            waiting[u] -= 1;
            if waiting[u] == 0 {
                ready.insert(u);
            }
        }
    }
    if let Some(stuck) = (0..nodes.len()).find(|&i| waiting[i] > 0) {
        let node = &nodes[stuck];
        return Err(ImportError {
            message: "the graph has a cycle: this node depends on its own output".to_string(),
            location: Location::Node(crate::diag::NodeRef {
                name: node.name.clone(),
                op_type: node.op_type.clone(),
            }),
        });
    }
    Ok(out)
}
