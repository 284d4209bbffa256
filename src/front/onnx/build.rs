//! Building one network IR graph from an ONNX graph: scoping, node order, typing and folding.
//!
//! A [`Builder`] owns the graph under construction and the map from ONNX value names to handles.
//! Each node is resolved against that map, turned into an [`Op`] (or evaluated away when it is an
//! import-only op), typed with [`infer_types`], and folded into a constant when all its operands
//! are constants.

use std::collections::{BTreeMap, BTreeSet};

use tract_onnx::pb::{NodeProto, TensorProto};

use super::attrs::NodeCx;
use super::{decode, fold, ops, ImportError, Limits};
use crate::diag::Location;
use crate::network::infer::infer_types;
use crate::network::interp::eval_op;
use crate::network::{Graph, Op, Tensor, TensorType, ValueDef, ValueId};

/// Deepest nesting of `Scan` bodies accepted.
const MAX_DEPTH: usize = 16;

/// Settings shared by every graph of one import.
#[derive(Debug, Clone)]
pub(super) struct ImportCx {
    pub limits: Limits,
    /// The default-domain opset version.
    pub opset: i64,
    /// Nesting depth of the graph being built (0 for the main graph).
    pub depth: usize,
}

/// The result of converting one ONNX node to a network IR op.
pub(super) struct Converted {
    pub op: Op,
    /// The operands the op keeps (constant operands moved into the op are dropped).
    pub inputs: Vec<Option<ValueId>>,
    /// How many of the node's outputs the op produces; later outputs may not be read.
    pub n_outputs: usize,
}

/// A graph under construction and the names visible in it.
pub(super) struct Builder<'a> {
    pub cx: ImportCx,
    pub graph: Graph,
    scope: BTreeMap<String, ValueId>,
    /// Names of values the importer cannot provide, with the reason.
    unavailable: BTreeMap<String, String>,
    /// The enclosing graph, for a `Scan` body.
    outer: Option<&'a Builder<'a>>,
}

impl<'a> Builder<'a> {
    /// An empty graph; `outer` is the enclosing graph of a `Scan` body.
    pub fn new(cx: ImportCx, outer: Option<&'a Builder<'a>>) -> Result<Self, ImportError> {
        if cx.depth > MAX_DEPTH {
            return Err(ImportError {
                message: format!("Scan bodies are nested more than {MAX_DEPTH} deep"),
                location: Location::Unknown,
            });
        }
        Ok(Builder {
            cx,
            graph: Graph::default(),
            scope: BTreeMap::new(),
            unavailable: BTreeMap::new(),
            outer,
        })
    }

    /// The type of a value.
    pub fn ty(&self, id: ValueId) -> &TensorType {
        &self.graph.value(id).ty
    }

    /// The constant behind a value, if it is one.
    pub fn constant(&self, id: ValueId) -> Option<&Tensor> {
        self.graph.constant(id)
    }

    /// Makes `name` refer to `id`; an empty name stays anonymous. Refuses a second definition.
    pub fn define(
        &mut self,
        name: &str,
        id: ValueId,
        location: &Location,
    ) -> Result<(), ImportError> {
        if name.is_empty() {
            return Ok(());
        }
        if self.scope.insert(name.to_string(), id).is_some() {
            return Err(ImportError {
                message: format!(
                    "value \"{}\" is defined more than once",
                    name.escape_debug()
                ),
                location: location.clone(),
            });
        }
        Ok(())
    }

    /// Adds the graph's initialisers as named constants.
    pub fn add_initializers(&mut self, initializers: &[TensorProto]) -> Result<(), ImportError> {
        for init in initializers {
            let location = Location::Value(init.name.clone());
            let what = format!("initialiser \"{}\"", init.name.escape_debug());
            let tensor = decode::tensor(init, &self.cx.limits, &what, &location)?;
            let id = self.graph.add_const(init.name.clone(), tensor);
            self.define(&init.name, id, &location)?;
        }
        Ok(())
    }

    /// True when `name` is already defined in this graph.
    pub fn is_defined(&self, name: &str) -> bool {
        self.scope.contains_key(name)
    }

    /// The value called `name`, looking through enclosing graphs for constants.
    pub fn resolve(&mut self, name: &str, location: &Location) -> Result<ValueId, ImportError> {
        let fail = |message: String| ImportError {
            message,
            location: location.clone(),
        };
        if let Some(&id) = self.scope.get(name) {
            return Ok(id);
        }
        if let Some(reason) = self.unavailable.get(name) {
            return Err(fail(reason.clone()));
        }
        match self.outer.and_then(|outer| outer.find_outer(name)) {
            Some(Some(tensor)) => {
                // A body may read outer constants implicitly; they become body constants.
                let id = self.graph.add_const(name, tensor);
                self.scope.insert(name.to_string(), id);
                Ok(id)
            }
            Some(None) => Err(fail(format!(
                "the Scan body reads the outer value \"{}\", which is not a constant; only \
                 constants may be captured from the enclosing graph",
                name.escape_debug()
            ))),
            None => Err(fail(format!(
                "\"{}\" is not defined: no graph input, initialiser or earlier node produces it",
                name.escape_debug()
            ))),
        }
    }

    /// `Some(Some(t))` for an outer constant, `Some(None)` for an outer non-constant value,
    /// `None` when no enclosing scope defines `name`.
    fn find_outer(&self, name: &str) -> Option<Option<Tensor>> {
        match self.scope.get(name) {
            Some(&id) => Some(self.constant(id).cloned()),
            None => self.outer.and_then(|outer| outer.find_outer(name)),
        }
    }

    /// Imports the nodes of a graph, in a topological order that keeps the file's order where
    /// it is already valid.
    pub fn import_nodes(&mut self, nodes: &[NodeProto]) -> Result<(), ImportError> {
        for i in order(nodes, |name| self.is_defined(name))? {
            self.import_node(&nodes[i])?;
        }
        Ok(())
    }

    fn import_node(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let cx = NodeCx {
            node,
            opset: self.cx.opset,
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
                name => Some(self.resolve(name, &location)?),
            });
        }
        if let Some(tensors) = fold::import_only(&cx, self, &inputs)? {
            for (name, tensor) in node.output.iter().zip(tensors) {
                let id = self.graph.add_const(name.clone(), tensor);
                self.define(name, id, &location)?;
            }
            return Ok(());
        }
        let Converted {
            op,
            inputs,
            n_outputs,
        } = ops::convert(&cx, self, &inputs)?;
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
                self.unavailable.insert(name.clone(), reason);
            }
        }
        let types: Vec<Option<&TensorType>> =
            inputs.iter().map(|id| id.map(|id| self.ty(id))).collect();
        let out_types = infer_types(&op, &types, n_outputs)
            .map_err(|m| cx.error(format!("{}: {m}", cx.op())))?;
        for ty in &out_types {
            decode::checked_count(
                &ty.shape,
                &self.cx.limits,
                &format!("an output of {}", cx.op()),
                &location,
            )?;
        }
        let operands: Option<Vec<Option<&Tensor>>> = inputs
            .iter()
            .map(|id| match id {
                None => Some(None),
                Some(id) => self.constant(*id).map(Some),
            })
            .collect();
        if let Some(operands) = operands {
            let tensors = eval_op(&op, &operands, n_outputs)
                .map_err(|e| cx.error(format!("folding {} failed: {e}", cx.op())))?;
            if tensors.len() != n_outputs
                || tensors.iter().zip(&out_types).any(|(t, ty)| t.ty() != *ty)
            {
                return Err(cx.error(format!(
                    "folding {} gave values whose types differ from the inferred ones",
                    cx.op()
                )));
            }
            for (name, tensor) in node.output.iter().zip(tensors) {
                let id = self.graph.add_const(name.clone(), tensor);
                self.define(name, id, &location)?;
            }
            return Ok(());
        }
        let outputs = node
            .output
            .iter()
            .cloned()
            .zip(out_types)
            .collect::<Vec<_>>();
        let ids = self.graph.add_node(node.name.clone(), op, inputs, outputs);
        for (name, id) in node.output.iter().zip(ids) {
            self.define(name, id, &location)?;
        }
        Ok(())
    }
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

/// Rebuilds `graph` without the nodes whose outputs nothing reads and without unread constants.
///
/// Graph inputs are always kept, so the graph's signature does not change.
pub(super) fn prune(graph: Graph) -> Graph {
    let mut used = vec![false; graph.values.len()];
    for id in &graph.outputs {
        used[id.0 as usize] = true;
    }
    let mut live = vec![false; graph.nodes.len()];
    for (n, node) in graph.nodes.iter().enumerate().rev() {
        if node.outputs.iter().any(|id| used[id.0 as usize]) {
            live[n] = true;
            for id in node.inputs.iter().flatten() {
                used[id.0 as usize] = true;
            }
        }
    }
    let mut node_map = vec![None; graph.nodes.len()];
    let mut next = 0u32;
    for (n, &l) in live.iter().enumerate() {
        if l {
            node_map[n] = Some(crate::network::NodeId(next));
            next += 1;
        }
    }
    let mut value_map = vec![None; graph.values.len()];
    let mut out = Graph::default();
    for (v, value) in graph.values.into_iter().enumerate() {
        let def = match value.def {
            ValueDef::Input(i) => ValueDef::Input(i),
            ValueDef::Const(t) if used[v] => ValueDef::Const(t),
            ValueDef::Const(_) => continue,
            ValueDef::Node(n, k) => match node_map[n.0 as usize] {
                Some(m) => ValueDef::Node(m, k),
                None => continue,
            },
        };
        value_map[v] = Some(ValueId(out.values.len() as u32));
        out.values.push(crate::network::Value {
            name: value.name,
            ty: value.ty,
            def,
        });
    }
    // Every value read by a live node or the graph was kept above, so the lookups succeed.
    let map = |id: ValueId| value_map[id.0 as usize].unwrap_or(id);
    for (n, node) in graph.nodes.into_iter().enumerate() {
        if live[n] {
            out.nodes.push(crate::network::Node {
                name: node.name,
                op: node.op,
                inputs: node.inputs.into_iter().map(|i| i.map(map)).collect(),
                outputs: node.outputs.into_iter().map(map).collect(),
            });
        }
    }
    out.inputs = graph.inputs.into_iter().map(map).collect();
    out.outputs = graph.outputs.into_iter().map(map).collect();
    out
}
