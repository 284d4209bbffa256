//! The symbolic evaluator: runs a graph on symbolic tensors, node by node.

use crate::network::{Graph, Node, Op, TensorType, Value, ValueDef, ValueId};

use super::symbolic::{clean_hint, float_literal, Emitter, SymTensor};
use super::{arith, linear, reduce, shape};
use super::{malformed, LowerError, LowerErrorKind, OpError, OpResult};

/// Evaluates `graph` on `operands` (one symbolic tensor per graph input, in order), appending the
/// statements it needs through `em`, and returns one symbolic tensor per graph output.
///
/// Every node output is checked against its declared type. A value that is read more than once
/// has its compound elements bound to locals, so no computation is duplicated; other values keep
/// expressions of at most [`super::symbolic::INLINE_LIMIT`] nodes inline.
///
/// Errors: operands that do not match the graph's inputs, handles out of range, a recurrent op,
/// or an op whose operands contradict it (located at the node).
pub fn lower_graph(
    em: &mut Emitter<'_>,
    graph: &Graph,
    operands: Vec<SymTensor>,
) -> Result<Vec<SymTensor>, LowerError> {
    if operands.len() != graph.inputs.len() {
        return Err(LowerError::malformed(format!(
            "the graph has {} inputs but {} operands were given",
            graph.inputs.len(),
            operands.len()
        )));
    }
    let mut env: Vec<Option<SymTensor>> = vec![None; graph.values.len()];
    for (&id, operand) in graph.inputs.iter().zip(operands) {
        let value = value(graph, id)?;
        check_type(&operand, &value.ty)
            .map_err(|m| LowerError::at_value(&value.name, LowerErrorKind::Malformed, m))?;
        env[id.0 as usize] = Some(operand);
    }

    let mut uses = vec![0usize; graph.values.len()];
    for id in graph
        .nodes
        .iter()
        .flat_map(|n| n.inputs.iter().flatten())
        .chain(&graph.outputs)
    {
        if let Some(count) = uses.get_mut(id.0 as usize) {
            *count += 1;
        }
    }

    for node in &graph.nodes {
        let mut args = Vec::with_capacity(node.inputs.len());
        for input in &node.inputs {
            args.push(match input {
                Some(id) => Some(fetch(graph, &env, *id)?),
                None => None,
            });
        }
        let out_value = match node.outputs.as_slice() {
            [id] => value(graph, *id)?,
            _ => {
                return Err(LowerError::at_node(
                    node,
                    LowerErrorKind::Malformed,
                    format!("expected one output, found {}", node.outputs.len()),
                ))
            }
        };
        let hint = clean_hint(&out_value.name, &node.op.onnx_name().to_ascii_lowercase());
        let table_hint = match node.inputs.first() {
            Some(Some(id)) => clean_hint(&value(graph, *id)?.name, "table"),
            Some(None) | None => "table".to_string(),
        };
        let at_node = |e: OpError| LowerError::at_node(node, e.kind, e.message);
        let result = lower_node(em, node, args, &hint, &table_hint).map_err(at_node)?;
        check_type(&result, &out_value.ty).map_err(|m| at_node(malformed(m)))?;
        let id = node.outputs[0];
        let result = if uses.get(id.0 as usize).copied().unwrap_or(0) > 1 {
            em.atomize_tensor(&hint, result)
        } else {
            em.limit_tensor(&hint, result)
        };
        env[id.0 as usize] = Some(result);
    }

    graph
        .outputs
        .iter()
        .map(|&id| fetch(graph, &env, id))
        .collect()
}

/// The value behind a handle, or an error for a handle out of range.
pub(super) fn value(graph: &Graph, id: ValueId) -> Result<&Value, LowerError> {
    graph.values.get(id.0 as usize).ok_or_else(|| {
        LowerError::malformed(format!(
            "value handle {} is out of range ({} values)",
            id.0,
            graph.values.len()
        ))
    })
}

/// The symbolic tensor of a value: computed earlier, or the literal tensor of a constant.
fn fetch(graph: &Graph, env: &[Option<SymTensor>], id: ValueId) -> Result<SymTensor, LowerError> {
    let value = value(graph, id)?;
    if let Some(Some(t)) = env.get(id.0 as usize) {
        return Ok(t.clone());
    }
    match &value.def {
        ValueDef::Const(tensor) => {
            let t = SymTensor::constant(tensor);
            check_type(&t, &value.ty)
                .map_err(|m| LowerError::at_value(&value.name, LowerErrorKind::Malformed, m))?;
            Ok(t)
        }
        ValueDef::Input(_) | ValueDef::Node(..) => Err(LowerError::at_value(
            &value.name,
            LowerErrorKind::Malformed,
            "value is read before it is defined",
        )),
    }
}

/// Checks that a symbolic tensor has the declared type.
fn check_type(t: &SymTensor, ty: &TensorType) -> Result<(), String> {
    if t.dtype == ty.dtype && t.shape() == ty.shape.as_slice() {
        Ok(())
    } else {
        Err(format!(
            "computed {:?} {:?} but the value is declared {:?} {:?}",
            t.dtype,
            t.shape(),
            ty.dtype,
            ty.shape
        ))
    }
}

/// Operand `i` of a node, which must be present.
fn operand(args: &mut [Option<SymTensor>], i: usize) -> OpResult<SymTensor> {
    args.get_mut(i)
        .and_then(Option::take)
        .ok_or_else(|| malformed(format!("operand {i} is missing")))
}

/// Checks the number of operands.
fn arity(args: &[Option<SymTensor>], min: usize, max: usize) -> OpResult<()> {
    if (min..=max).contains(&args.len()) {
        Ok(())
    } else if min == max {
        Err(malformed(format!(
            "expected {min} operands, found {}",
            args.len()
        )))
    } else {
        Err(malformed(format!(
            "expected {min} to {max} operands, found {}",
            args.len()
        )))
    }
}

/// Lowers one node on its operands; `hint` names its output, `table_hint` a table made of its
/// first operand.
fn lower_node(
    em: &mut Emitter<'_>,
    node: &Node,
    mut args: Vec<Option<SymTensor>>,
    hint: &str,
    table_hint: &str,
) -> OpResult<SymTensor> {
    let unary = |args: &mut Vec<Option<SymTensor>>| -> OpResult<SymTensor> {
        arity(args, 1, 1)?;
        operand(args, 0)
    };
    let binary = |args: &mut Vec<Option<SymTensor>>| -> OpResult<(SymTensor, SymTensor)> {
        arity(args, 2, 2)?;
        Ok((operand(args, 0)?, operand(args, 1)?))
    };
    match &node.op {
        Op::Gemm {
            alpha,
            beta,
            trans_a,
            trans_b,
        } => {
            arity(&args, 2, 3)?;
            let a = operand(&mut args, 0)?;
            let b = operand(&mut args, 1)?;
            let c = args.get_mut(2).and_then(Option::take);
            let gemm = linear::Gemm {
                alpha: float_literal(*alpha),
                beta: float_literal(*beta),
                trans_a: *trans_a,
                trans_b: *trans_b,
            };
            linear::gemm(em, &gemm, a, b, c, hint)
        }
        Op::MatMul => {
            let (a, b) = binary(&mut args)?;
            linear::matmul(em, a, b, hint)
        }
        Op::Add => {
            let (a, b) = binary(&mut args)?;
            arith::elementwise(em, arith::Arith::Add, a, b, hint)
        }
        Op::Sub => {
            let (a, b) = binary(&mut args)?;
            arith::elementwise(em, arith::Arith::Sub, a, b, hint)
        }
        Op::Mul => {
            let (a, b) = binary(&mut args)?;
            arith::elementwise(em, arith::Arith::Mul, a, b, hint)
        }
        Op::Div => {
            let (a, b) = binary(&mut args)?;
            arith::elementwise(em, arith::Arith::Div, a, b, hint)
        }
        Op::Neg => arith::negate(unary(&mut args)?),
        Op::Abs => arith::abs(unary(&mut args)?),
        Op::Exp => arith::nonlinear(em, arith::Nonlinear::Exp, unary(&mut args)?, hint),
        Op::Relu => arith::nonlinear(em, arith::Nonlinear::Relu, unary(&mut args)?, hint),
        Op::Tanh => arith::nonlinear(em, arith::Nonlinear::Tanh, unary(&mut args)?, hint),
        Op::Sigmoid => arith::nonlinear(em, arith::Nonlinear::Sigmoid, unary(&mut args)?, hint),
        Op::Cast { to } => Ok(arith::cast(unary(&mut args)?, *to)),
        Op::Concat { axis } => {
            let parts = args
                .into_iter()
                .enumerate()
                .map(|(i, a)| a.ok_or_else(|| malformed(format!("operand {i} is missing"))))
                .collect::<OpResult<Vec<_>>>()?;
            shape::concat(parts, *axis)
        }
        Op::Gather { axis } => {
            let (data, indices) = binary(&mut args)?;
            shape::gather(em, data, indices, *axis, hint, table_hint)
        }
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        } => shape::slice(unary(&mut args)?, starts, ends, axes, steps),
        Op::Reshape { shape } => shape::reshape(unary(&mut args)?, shape),
        Op::Transpose { perm } => shape::transpose(unary(&mut args)?, perm),
        Op::Squeeze { axes } => shape::squeeze(unary(&mut args)?, axes),
        Op::Unsqueeze { axes } => shape::unsqueeze(unary(&mut args)?, axes),
        Op::Identity => unary(&mut args),
        Op::Softmax { axis } => reduce::softmax(em, unary(&mut args)?, *axis, hint),
        Op::ArgMax {
            axis,
            keepdims,
            select_last_index,
        } => reduce::argmax(
            em,
            unary(&mut args)?,
            *axis,
            *keepdims,
            *select_last_index,
            hint,
        ),
        Op::Rnn(_) | Op::Gru { .. } | Op::Lstm { .. } | Op::Scan(_) => Err(OpError {
            kind: LowerErrorKind::RecurrentOp,
            message: format!(
                "recurrent op {} reached lowering; sequence models must be turned into cells first",
                node.op.onnx_name()
            ),
        }),
    }
}
