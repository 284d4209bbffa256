//! Exact rewrites of program expressions into the forms a Python reader (and `ruff check`'s
//! default rules) expects: no double negation (`-(-x)`, `not not b`), no comparison with a
//! boolean literal, NaN or another constant, no `not a == b`, no `True if c else False`, no
//! conditional with equal arms, no `int()`/`round()` of an integer, no conversion of a literal.
//!
//! Every rewrite keeps the value for all inputs (IEEE negation and comparison rules, Python's
//! integer semantics); those that need an operand's type apply only where it is known.

use crate::program::compare::literal_order;
use crate::program::validate::expr_type;
use crate::program::{BinaryOp, Expr, Func, Literal, Program, Stmt, Type, UnaryOp};

/// The program with every expression tidied.
pub(crate) fn tidy_program(program: &Program) -> Program {
    let block = |block: &[Stmt]| -> Vec<Stmt> {
        block
            .iter()
            .map(|Stmt::Assign { targets, values }| Stmt::Assign {
                targets: targets.clone(),
                values: values.iter().map(|value| tidy(program, value)).collect(),
            })
            .collect()
    };
    Program {
        vars: program.vars.clone(),
        tables: program.tables.clone(),
        signature: program.signature.clone(),
        init: block(&program.init),
        body: block(&program.body),
        outputs: program
            .outputs
            .iter()
            .map(|output| tidy(program, output))
            .collect(),
    }
}

/// Rewrites `expr` bottom-up.
pub(crate) fn tidy(program: &Program, expr: &Expr) -> Expr {
    rewrite(program, expr.map_operands(|operand| tidy(program, operand)))
}

/// One rewrite at the root (the operands are already tidy).
fn rewrite(program: &Program, expr: Expr) -> Expr {
    match expr {
        Expr::Unary(UnaryOp::Neg, operand) => match *operand {
            // -(-x) is x: negation is exact.
            Expr::Unary(UnaryOp::Neg, inner) => *inner,
            other => Expr::unary(UnaryOp::Neg, other),
        },
        Expr::Unary(UnaryOp::Not, operand) => negate_bool(program, *operand),
        Expr::Binary(op, left, right) => binary(program, op, *left, *right),
        Expr::Call(func, args) => call(program, func, args),
        Expr::Select {
            cond,
            then,
            otherwise,
        } => {
            if then == otherwise {
                return *then;
            }
            match (then.as_ref(), otherwise.as_ref()) {
                (Expr::Lit(Literal::Bool(true)), Expr::Lit(Literal::Bool(false))) => *cond,
                (Expr::Lit(Literal::Bool(false)), Expr::Lit(Literal::Bool(true))) => {
                    negate_bool(program, *cond)
                }
                _ => match *cond {
                    Expr::Lit(Literal::Bool(value)) => {
                        if value {
                            *then
                        } else {
                            *otherwise
                        }
                    }
                    cond => Expr::Select {
                        cond: Box::new(cond),
                        then,
                        otherwise,
                    },
                },
            }
        }
        other @ (Expr::Lit(_) | Expr::Var(_) | Expr::Lookup { .. }) => other,
    }
}

/// `not operand`, simplified: `not not b` is `b` for a boolean `b`, `not (a == b)` is
/// `a != b` (IEEE `!=` is exactly the negation of `==`), a literal flips.
fn negate_bool(program: &Program, operand: Expr) -> Expr {
    match operand {
        Expr::Lit(Literal::Bool(value)) => Expr::Lit(Literal::Bool(!value)),
        Expr::Unary(UnaryOp::Not, inner) if expr_type(program, &inner).ok() == Some(Type::Bool) => {
            *inner
        }
        Expr::Binary(BinaryOp::Eq, left, right) => Expr::Binary(BinaryOp::Ne, left, right),
        Expr::Binary(BinaryOp::Ne, left, right) => Expr::Binary(BinaryOp::Eq, left, right),
        Expr::Binary(BinaryOp::Xor, left, right) => Expr::Binary(BinaryOp::Eq, left, right),
        other => Expr::unary(UnaryOp::Not, other),
    }
}

fn binary(program: &Program, op: BinaryOp, left: Expr, right: Expr) -> Expr {
    match op {
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne => {
            if let (Expr::Lit(a), Expr::Lit(b)) = (&left, &right) {
                if let Some(result) = compare_literals(op, *a, *b) {
                    return Expr::Lit(Literal::Bool(result));
                }
            }
            // A variable compared with itself: constant unless it is a float (NaN).
            if let (Expr::Var(a), Expr::Var(b)) = (&left, &right) {
                let is_float = expr_type(program, &left).ok() == Some(Type::Float);
                if a == b && (!is_float || matches!(op, BinaryOp::Lt | BinaryOp::Gt)) {
                    let reflexive = matches!(op, BinaryOp::Eq | BinaryOp::Le | BinaryOp::Ge);
                    return Expr::Lit(Literal::Bool(reflexive && !is_float));
                }
            }
            // Every ordered comparison with NaN is false, and `!=` true.
            let nan = |e: &Expr| matches!(e, Expr::Lit(Literal::Float(v)) if v.is_nan());
            if nan(&left) || nan(&right) {
                return Expr::Lit(Literal::Bool(op == BinaryOp::Ne));
            }
            if matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
                if let Some(folded) = boolean_literal_comparison(program, op, &left, &right) {
                    return folded;
                }
            }
            Expr::binary(op, left, right)
        }
        BinaryOp::Xor => match boolean_literal_comparison(program, BinaryOp::Ne, &left, &right) {
            Some(folded) => folded,
            None => Expr::binary(op, left, right),
        },
        BinaryOp::And | BinaryOp::Or => {
            let is_bool = |e: &Expr| expr_type(program, e).ok() == Some(Type::Bool);
            // The literal that decides the result (`x and False`), and the neutral one.
            let absorbing = op == BinaryOp::Or;
            match (&left, &right) {
                (Expr::Lit(Literal::Bool(v)), other) | (other, Expr::Lit(Literal::Bool(v)))
                    if is_bool(other) =>
                {
                    if *v == absorbing {
                        Expr::Lit(Literal::Bool(absorbing))
                    } else {
                        other.clone()
                    }
                }
                _ if is_bool(&left) && is_complement(&left, &right) => {
                    Expr::Lit(Literal::Bool(absorbing))
                }
                // b and b, b or b: idempotent.
                _ if is_bool(&left) && left == right => left,
                _ => Expr::binary(op, left, right),
            }
        }
        BinaryOp::Add
        | BinaryOp::Sub
        | BinaryOp::Mul
        | BinaryOp::Div
        | BinaryOp::FloorDiv
        | BinaryOp::Mod => Expr::binary(op, left, right),
    }
}

/// Whether one side is `not` the other.
fn is_complement(left: &Expr, right: &Expr) -> bool {
    matches!(right, Expr::Unary(UnaryOp::Not, inner) if inner.as_ref() == left)
        || matches!(left, Expr::Unary(UnaryOp::Not, inner) if inner.as_ref() == right)
}

/// `b == True` is `b`, `b != True` is `not b`, and so on, for a boolean `b`.
fn boolean_literal_comparison(
    program: &Program,
    op: BinaryOp,
    left: &Expr,
    right: &Expr,
) -> Option<Expr> {
    let (literal, other) = match (left, right) {
        (_, Expr::Lit(Literal::Bool(value))) => (*value, left),
        (Expr::Lit(Literal::Bool(value)), _) => (*value, right),
        _ => return None,
    };
    if expr_type(program, other).ok() != Some(Type::Bool) {
        return None;
    }
    if (op == BinaryOp::Eq) == literal {
        Some(other.clone())
    } else {
        Some(negate_bool(program, other.clone()))
    }
}

fn call(program: &Program, func: Func, mut args: Vec<Expr>) -> Expr {
    if args.len() != 1 {
        return Expr::Call(func, args);
    }
    let arg = &args[0];
    let is_int = expr_type(program, arg).ok() == Some(Type::Int);
    match (func, arg) {
        // abs(-x) is abs(x).
        (Func::Abs, Expr::Unary(UnaryOp::Neg, inner)) => {
            Expr::Call(Func::Abs, vec![inner.as_ref().clone()])
        }
        (Func::Int | Func::Round | Func::Floor, _) if is_int => args.remove(0),
        (Func::Float, Expr::Lit(Literal::Float(v))) => Expr::Lit(Literal::Float(*v)),
        (Func::Float, Expr::Lit(Literal::Int(v))) => Expr::Lit(Literal::Float(*v as f64)),
        (Func::Float, Expr::Lit(Literal::Bool(v))) => {
            Expr::Lit(Literal::Float(if *v { 1.0 } else { 0.0 }))
        }
        (Func::Int, Expr::Lit(Literal::Bool(v))) => Expr::Lit(Literal::Int(i64::from(*v))),
        _ => Expr::Call(func, args),
    }
}

/// Whether a comparison of two numeric literals holds, as Python compares them (integers and
/// floats exactly); `None` for a Boolean literal or an operator that is not a comparison.
fn compare_literals(op: BinaryOp, a: Literal, b: Literal) -> Option<bool> {
    if matches!(a, Literal::Bool(_)) || matches!(b, Literal::Bool(_)) {
        return None;
    }
    Some(op.comparison()?.holds(literal_order(a, b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{Signature, VarKind};

    fn program() -> (Program, Expr, Expr) {
        let mut p = Program::new(Signature::Pointwise {
            arguments: Vec::new(),
        });
        let b = Expr::Var(p.add_var("b", Type::Bool, VarKind::Input));
        let x = Expr::Var(p.add_var("x", Type::Float, VarKind::Input));
        (p, b, x)
    }

    fn not(e: Expr) -> Expr {
        Expr::unary(UnaryOp::Not, e)
    }

    #[test]
    fn boolean_patterns_fold() {
        let (p, b, x) = program();
        let t = Expr::Lit(Literal::Bool(true));
        assert_eq!(
            tidy(&p, &Expr::binary(BinaryOp::Eq, b.clone(), t.clone())),
            b
        );
        assert_eq!(
            tidy(&p, &Expr::binary(BinaryOp::Xor, b.clone(), t.clone())),
            not(b.clone())
        );
        assert_eq!(tidy(&p, &not(not(b.clone()))), b);
        let eq = Expr::binary(BinaryOp::Eq, x.clone(), x.clone());
        assert_eq!(
            tidy(&p, &not(eq)),
            Expr::binary(BinaryOp::Ne, x.clone(), x.clone())
        );
        assert_eq!(
            tidy(&p, &Expr::binary(BinaryOp::Or, b.clone(), t.clone())),
            t
        );
        assert_eq!(
            tidy(&p, &Expr::binary(BinaryOp::And, b.clone(), not(b.clone()))),
            Expr::Lit(Literal::Bool(false))
        );
    }

    #[test]
    fn constant_comparisons_fold_exactly() {
        let lit = |v: Literal| Expr::Lit(v);
        let (p, _, x) = program();
        let cases = [
            (BinaryOp::Lt, Literal::Int(1), Literal::Float(1.5), true),
            (
                BinaryOp::Eq,
                Literal::Int(9007199254740993),
                Literal::Float(9007199254740992.0),
                false,
            ),
            (
                BinaryOp::Ne,
                Literal::Float(f64::NAN),
                Literal::Float(f64::NAN),
                true,
            ),
            (BinaryOp::Ge, Literal::Float(-0.0), Literal::Int(0), true),
        ];
        for (op, a, b, expected) in cases {
            assert_eq!(
                tidy(&p, &Expr::binary(op, lit(a), lit(b))),
                lit(Literal::Bool(expected))
            );
        }
        let nan = lit(Literal::Float(f64::NAN));
        assert_eq!(
            tidy(&p, &Expr::binary(BinaryOp::Lt, x, nan)),
            lit(Literal::Bool(false))
        );
    }
}
