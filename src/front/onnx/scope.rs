//! The graph under construction and the names visible in it: what every op converter reads.
//!
//! A [`Scope`] owns the network IR graph being built from one ONNX graph (the model's, or a
//! `Scan` body) and the map from ONNX value names to handles; a body's scope looks through its
//! enclosing scopes for constants.

use std::collections::BTreeMap;

use tract_onnx::pb::TensorProto;

use super::{decode, ImportError, Limits};
use crate::diag::Location;
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
pub(super) struct Scope<'a> {
    pub cx: ImportCx,
    pub graph: Graph,
    names: BTreeMap<String, ValueId>,
    /// Names of values the importer cannot provide, with the reason.
    unavailable: BTreeMap<String, String>,
    /// The enclosing scope, for a `Scan` body.
    outer: Option<&'a Scope<'a>>,
}

impl<'a> Scope<'a> {
    /// An empty graph; `outer` is the enclosing scope of a `Scan` body. Errors when `cx.depth`
    /// exceeds the nesting limit.
    pub fn new(cx: ImportCx, outer: Option<&'a Scope<'a>>) -> Result<Self, ImportError> {
        if cx.depth > MAX_DEPTH {
            return Err(ImportError {
                message: format!("Scan bodies are nested more than {MAX_DEPTH} deep"),
                location: Location::Unknown,
            });
        }
        Ok(Scope {
            cx,
            graph: Graph::default(),
            names: BTreeMap::new(),
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
        if self.names.insert(name.to_string(), id).is_some() {
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

    /// Appends a graph input called `name` of type `ty` (its position is the current number of
    /// inputs) and defines the name.
    pub fn add_input(
        &mut self,
        name: &str,
        ty: TensorType,
        location: &Location,
    ) -> Result<ValueId, ImportError> {
        let index = self.graph.inputs.len();
        let id = self.graph.add_value(name, ty, ValueDef::Input(index));
        self.graph.inputs.push(id);
        self.define(name, id, location)?;
        Ok(id)
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

    /// Records that `name` cannot be read, and why (the message of a later read).
    pub fn mark_unavailable(&mut self, name: &str, reason: String) {
        self.unavailable.insert(name.to_string(), reason);
    }

    /// True when `name` is already defined in this graph.
    pub fn is_defined(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// The value called `name`, looking through enclosing graphs for constants.
    pub fn resolve(&mut self, name: &str, location: &Location) -> Result<ValueId, ImportError> {
        let fail = |message: String| ImportError {
            message,
            location: location.clone(),
        };
        if let Some(&id) = self.names.get(name) {
            return Ok(id);
        }
        if let Some(reason) = self.unavailable.get(name) {
            return Err(fail(reason.clone()));
        }
        match self.outer.and_then(|outer| outer.find_outer(name)) {
            Some(Some(tensor)) => {
                // A body may read outer constants implicitly; they become body constants.
                let id = self.graph.add_const(name, tensor);
                self.names.insert(name.to_string(), id);
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
        match self.names.get(name) {
            Some(&id) => Some(self.constant(id).cloned()),
            None => self.outer.and_then(|outer| outer.find_outer(name)),
        }
    }
}
