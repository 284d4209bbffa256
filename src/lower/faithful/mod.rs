//! Faithful lowering: the network's exact arithmetic written out as scalar expressions.
//!
//! Every network value becomes a [`SymTensor`], an array of scalar expressions. Shape ops only
//! rearrange elements and emit no code; constants are literal tensors; arithmetic builds
//! expressions; every matrix-product element and every nonlinearity output is assigned once to a
//! fresh `Local`, and elementwise chains stay inline up to [`symbolic::INLINE_LIMIT`] nodes or
//! until a value is read twice. Weights that are exactly zero are dropped from sums and a weight of
//! one is not written. Literal-only arithmetic is folded in `f64`, which is what the program would
//! compute at run time (the network computes in `f32`; that difference is accepted). An `f32`
//! weight is written as the shortest decimal that reads back as the same `f32`
//! ([`symbolic::float_literal`]). Integer division truncates toward zero, written exactly with
//! Python's floor division; a `Gather` with a computed index into a constant becomes a table lookup.
//!
//! The pieces are public so that readable lowerings can fall back to them per part:
//! [`lower_graph`] evaluates a graph on symbolic operands and appends its statements to a block
//! through an [`Emitter`].
//!
//! Invariant: the output depends only on the network (no hash-map order, no global state).

mod arith;
mod graph;
mod linear;
mod numeric;
mod reduce;
mod shape;
pub mod symbolic;

use crate::diag::{Diagnose, Location, NodeRef};
use crate::network::{DType, Graph, Network, Node, SequenceModel, TimeDirection};
use crate::program::{Argument, Expr, LoopDirection, Program, Signature, Stmt, VarId, VarKind};

pub use graph::lower_graph;
pub use symbolic::{scalar_type, Emitter, SymTensor};

/// What kind of problem stopped the lowering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LowerErrorKind {
    /// A recurrent op (`RNN`, `GRU`, `LSTM`, `Scan`): the front end turns sequence models into
    /// cells, so one reaching lowering is a pipeline bug or an unsupported model shape.
    RecurrentOp,
    /// A well-formed combination that has no scalar form here (e.g. `Exp` of integers).
    Unsupported,
    /// The network contradicts itself: operand counts, shapes or element types that do not fit.
    Malformed,
}

/// Why a network could not be lowered, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct LowerError {
    /// What went wrong, for callers that react differently (a readable lowering may fall back).
    pub kind: LowerErrorKind,
    /// The explanation shown to the user.
    pub message: String,
    /// The node or value concerned, or [`Location::Unknown`] for the network as a whole.
    pub location: Location,
}

impl Diagnose for LowerError {
    fn location(&self) -> Location {
        self.location.clone()
    }
}

impl LowerError {
    /// An error located at a node of the network.
    pub fn at_node(node: &Node, kind: LowerErrorKind, message: impl Into<String>) -> LowerError {
        LowerError {
            kind,
            message: message.into(),
            location: Location::Node(NodeRef {
                name: node.name.clone(),
                op_type: node.op.onnx_name().to_string(),
            }),
        }
    }

    /// An error located at a named value of the network.
    pub fn at_value(name: &str, kind: LowerErrorKind, message: impl Into<String>) -> LowerError {
        LowerError {
            kind,
            message: message.into(),
            location: Location::Value(name.to_string()),
        }
    }

    /// An error about the network as a whole.
    pub fn malformed(message: impl Into<String>) -> LowerError {
        LowerError {
            kind: LowerErrorKind::Malformed,
            message: message.into(),
            location: Location::Unknown,
        }
    }
}

/// An error of one op, before the lowering knows which node it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpError {
    pub kind: LowerErrorKind,
    pub message: String,
}

/// The result of lowering one op.
pub(crate) type OpResult<T> = Result<T, OpError>;

/// An [`OpError`] of kind [`LowerErrorKind::Malformed`].
pub(crate) fn malformed(message: impl Into<String>) -> OpError {
    OpError {
        kind: LowerErrorKind::Malformed,
        message: message.into(),
    }
}

/// An [`OpError`] of kind [`LowerErrorKind::Unsupported`].
pub(crate) fn unsupported(message: impl Into<String>) -> OpError {
    OpError {
        kind: LowerErrorKind::Unsupported,
        message: message.into(),
    }
}

/// Lowers a network to an equivalent scalar program.
///
/// A pointwise network gets one [`Argument`] per graph input (its elements in row-major order)
/// and returns every graph output's elements, in order. A sequence network gets one `State`
/// variable per element of every state tensor (initialised in `init` from the cell's initial
/// state), `input_dim` step inputs, the step graph in `body`, `y_t`'s elements as outputs and one
/// parallel assignment of the next state at the end of `body`.
///
/// Errors: a recurrent op (the front end should have made a cell of it), an op/type combination
/// with no scalar form, or a network whose declared shapes and types contradict its ops.
pub fn lower(network: &Network) -> Result<Program, LowerError> {
    match network {
        Network::Pointwise(graph) => lower_pointwise(graph),
        Network::Sequence(model) => lower_sequence(model),
    }
}

fn lower_pointwise(graph: &Graph) -> Result<Program, LowerError> {
    let mut program = Program::new(Signature::Pointwise {
        arguments: Vec::new(),
    });
    let single = graph.inputs.len() == 1;
    let mut arguments = Vec::new();
    let mut operands = Vec::new();
    for (position, &id) in graph.inputs.iter().enumerate() {
        let value = graph::value(graph, id)?;
        let fallback = if single {
            "x".to_string()
        } else {
            format!("x{position}")
        };
        let base = symbolic::clean_hint(&value.name, &fallback);
        let count = value.ty.len();
        let ty = scalar_type(value.ty.dtype);
        let features: Vec<VarId> = (0..count)
            .map(|i| program.add_var(symbolic::element_hint(&base, i, count), ty, VarKind::Input))
            .collect();
        let elems = features.iter().map(|&v| Expr::Var(v)).collect();
        let operand =
            SymTensor::from_vec(value.ty.dtype, &value.ty.shape, elems).ok_or_else(|| {
                LowerError::at_value(&value.name, LowerErrorKind::Malformed, "bad input shape")
            })?;
        operands.push(operand);
        arguments.push(Argument {
            name: base,
            features,
        });
    }
    program.signature = Signature::Pointwise { arguments };
    let mut body = Vec::new();
    let results = lower_graph(&mut Emitter::new(&mut program, &mut body), graph, operands)?;
    program.body = body;
    program.outputs = results.iter().flat_map(SymTensor::to_vec).collect();
    Ok(program)
}

fn lower_sequence(model: &SequenceModel) -> Result<Program, LowerError> {
    let cell = &model.cell;
    let step = &cell.step;
    let states = cell.state_count();
    if step.inputs.len() != states + 1 || step.outputs.len() != states + 1 {
        return Err(LowerError::malformed(format!(
            "the step graph has {} inputs and {} outputs; a cell with {states} state tensors needs {} of each",
            step.inputs.len(),
            step.outputs.len(),
            states + 1
        )));
    }
    let direction = match cell.direction {
        TimeDirection::Forward => LoopDirection::Forward,
        TimeDirection::Reverse => LoopDirection::Reverse,
    };
    let mut program = Program::new(Signature::Sequence {
        step_inputs: Vec::new(),
        direction,
    });

    let x_value = graph::value(step, step.inputs[0])?;
    if x_value.ty.len() != model.input_dim || x_value.ty.dtype != model.input_dtype {
        return Err(LowerError::at_value(
            &x_value.name,
            LowerErrorKind::Malformed,
            format!(
                "x_t is {:?} {:?} but the model declares {} features of {:?}",
                x_value.ty.dtype, x_value.ty.shape, model.input_dim, model.input_dtype
            ),
        ));
    }
    let x_type = scalar_type(model.input_dtype);
    let step_inputs: Vec<VarId> = (0..model.input_dim)
        .map(|i| {
            let hint = symbolic::element_hint("x", i, model.input_dim);
            program.add_var(hint, x_type, VarKind::Input)
        })
        .collect();
    let x_elems = step_inputs.iter().map(|&v| Expr::Var(v)).collect();
    let mut operands = vec![
        SymTensor::from_vec(model.input_dtype, &x_value.ty.shape, x_elems).ok_or_else(|| {
            LowerError::at_value(&x_value.name, LowerErrorKind::Malformed, "bad x_t shape")
        })?,
    ];

    let total: usize = cell.init.iter().map(|t| t.ty().len()).sum();
    let mut state_vars: Vec<(DType, Vec<VarId>)> = Vec::new();
    let mut init_targets = Vec::new();
    let mut init_values = Vec::new();
    for (i, init) in cell.init.iter().enumerate() {
        let value = graph::value(step, step.inputs[i + 1])?;
        if init.dtype() != value.ty.dtype || init.ty().len() != value.ty.len() {
            return Err(LowerError::at_value(
                &value.name,
                LowerErrorKind::Malformed,
                format!(
                    "state {i} is {:?} {:?} but its initial value is {:?} {:?}",
                    value.ty.dtype,
                    value.ty.shape,
                    init.dtype(),
                    init.shape()
                ),
            ));
        }
        let ty = scalar_type(value.ty.dtype);
        let mut vars = Vec::with_capacity(value.ty.len());
        for _ in 0..value.ty.len() {
            let hint = symbolic::element_hint("h", init_targets.len(), total);
            let var = program.add_var(hint, ty, VarKind::State);
            init_targets.push(var);
            vars.push(var);
        }
        init_values.extend(SymTensor::constant(init).to_vec());
        let elems = vars.iter().map(|&v| Expr::Var(v)).collect();
        operands.push(
            SymTensor::from_vec(value.ty.dtype, &value.ty.shape, elems).ok_or_else(|| {
                LowerError::at_value(&value.name, LowerErrorKind::Malformed, "bad state shape")
            })?,
        );
        state_vars.push((value.ty.dtype, vars));
    }
    if !init_targets.is_empty() {
        program.init.push(Stmt::Assign {
            targets: init_targets,
            values: init_values,
        });
    }

    let mut body = Vec::new();
    let mut em = Emitter::new(&mut program, &mut body);
    let results = lower_graph(&mut em, step, operands)?;
    let mut results = results.into_iter();
    let y = results
        .next()
        .ok_or_else(|| LowerError::malformed("the step graph has no y_t output"))?;
    if y.dtype != model.output_dtype || y.elems.len() != model.output_dim {
        return Err(LowerError::malformed(format!(
            "y_t is {:?} {:?} but the model declares {} outputs of {:?}",
            y.dtype,
            y.shape(),
            model.output_dim,
            model.output_dtype
        )));
    }
    // Outputs are read after the state update, so any that reads the old state is bound first.
    let y_type = scalar_type(y.dtype);
    let count = y.elems.len();
    let mut outputs = Vec::with_capacity(count);
    for (i, e) in y.to_vec().into_iter().enumerate() {
        if mentions_state(&e, em.program) {
            outputs.push(em.local(&symbolic::element_hint("y", i, count), y_type, e));
        } else {
            outputs.push(e);
        }
    }

    let mut targets = Vec::new();
    let mut values = Vec::new();
    for ((dtype, vars), next) in state_vars.iter().zip(results) {
        if next.elems.len() != vars.len() || next.dtype != *dtype {
            return Err(LowerError::malformed(format!(
                "a next state is {:?} {:?}, not the type of its state",
                next.dtype,
                next.shape()
            )));
        }
        for (&var, e) in vars.iter().zip(next.to_vec()) {
            if e != Expr::Var(var) {
                targets.push(var);
                values.push(e);
            }
        }
    }
    if !targets.is_empty() {
        body.push(Stmt::Assign { targets, values });
    }
    program.body = body;
    program.outputs = outputs;
    program.signature = Signature::Sequence {
        step_inputs,
        direction,
    };
    Ok(program)
}

/// True when `expr` reads a `State` variable.
fn mentions_state(expr: &Expr, program: &Program) -> bool {
    match expr {
        Expr::Lit(_) => false,
        Expr::Var(v) => program
            .vars
            .get(v.0 as usize)
            .is_some_and(|var| var.kind == VarKind::State),
        Expr::Unary(_, a) => mentions_state(a, program),
        Expr::Binary(_, a, b) => mentions_state(a, program) || mentions_state(b, program),
        Expr::Call(_, args) => args.iter().any(|a| mentions_state(a, program)),
        Expr::Select {
            cond,
            then,
            otherwise,
        } => {
            mentions_state(cond, program)
                || mentions_state(then, program)
                || mentions_state(otherwise, program)
        }
        Expr::Lookup { index, .. } => mentions_state(index, program),
    }
}
