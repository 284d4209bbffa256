//! The e-class analysis: the type of every class, and constant folding.
//!
//! Types come from the program's variable and table types and the typing rules of the program
//! IR; the rewrite rules preserve them, so every node of a class has the class's type. Rules
//! that hold only for `Int` arithmetic check it through [`Data::ty`] in their guards.
//!
//! Constant folding follows Python on unbounded integers, restricted to values that fit an
//! `i64`: `+ - * neg abs` fold only without overflow, `//` and `%` floor and never fold a
//! division by zero, comparisons of two `Int` constants, the boolean operators on `Bool`
//! constants, `int`/`round`/`floor` of an `Int` and `int` of a `Bool`, `max`/`min` of two `Int`s,
//! and a conditional whose condition is constant and whose chosen branch is a constant of the
//! conditional's type. `Float` arithmetic is never folded (its results would be long
//! literals, and IEEE rounding is not the point of a readability pass), except negation and
//! `abs` of a float literal, which are exact.
//!
//! A class with a constant gets the literal as a member, and its other nodes are pruned: a
//! constant is the most readable spelling of any class that has one.

use std::sync::Arc;

use egg::{Analysis, DidMerge, EGraph, Id};

use super::lang::{Lit, Node};
use crate::program::Type;

/// What the analysis knows of one e-class.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    /// The type of every expression in the class.
    pub ty: Type,
    /// The class's value, when it is a constant.
    pub constant: Option<Lit>,
}

/// The analysis: variable and table types of the program the expressions belong to.
#[derive(Debug, Clone, Default)]
pub struct TypeAnalysis {
    vars: Arc<[Type]>,
    tables: Arc<[Type]>,
}

impl TypeAnalysis {
    /// An analysis for expressions over variables of types `vars` (indexed by `VarId`) and
    /// tables of element types `tables` (indexed by `TableId`). A handle out of range is typed
    /// `Float` (the program validator rejects such programs before they get here).
    pub fn new(vars: Arc<[Type]>, tables: Arc<[Type]>) -> Self {
        TypeAnalysis { vars, tables }
    }
}

/// `Int` when both are `Int`, else `Float`.
fn promote(a: Type, b: Type) -> Type {
    if a == Type::Int && b == Type::Int {
        Type::Int
    } else {
        Type::Float
    }
}

impl Analysis<Node> for TypeAnalysis {
    type Data = Data;

    fn make(egraph: &mut EGraph<Node, Self>, enode: &Node) -> Data {
        let ty_of = |id: &Id| egraph[*id].data.ty;
        let ty = match enode {
            Node::Lit(lit) => match lit {
                Lit::Int(_) => Type::Int,
                Lit::Float(_) => Type::Float,
                Lit::Bool(_) => Type::Bool,
            },
            Node::Var(leaf) => egraph
                .analysis
                .vars
                .get(leaf.0 .0 as usize)
                .copied()
                .unwrap_or(Type::Float),
            Node::Column(column) => egraph
                .analysis
                .tables
                .get(column.table.0 as usize)
                .copied()
                .unwrap_or(Type::Float),
            Node::Lookup([column, _]) => ty_of(column),
            Node::Neg(a) | Node::Abs(a) => ty_of(a),
            Node::Add([a, b])
            | Node::Sub([a, b])
            | Node::Mul([a, b])
            | Node::FloorDiv([a, b])
            | Node::Mod([a, b])
            | Node::Max([a, b])
            | Node::Min([a, b]) => promote(ty_of(a), ty_of(b)),
            Node::Div(_) => Type::Float,
            Node::Not(_)
            | Node::Lt(_)
            | Node::Le(_)
            | Node::Gt(_)
            | Node::Ge(_)
            | Node::Eq(_)
            | Node::Ne(_)
            | Node::And(_)
            | Node::Or(_)
            | Node::Xor(_) => Type::Bool,
            Node::Select([_, t, o]) => {
                let (t, o) = (ty_of(t), ty_of(o));
                if t == o {
                    t
                } else {
                    Type::Float
                }
            }
            Node::Tanh(_) | Node::Sigmoid(_) | Node::Exp(_) | Node::Float(_) => Type::Float,
            Node::Int(_) | Node::Round(_) | Node::Floor(_) => Type::Int,
        };
        // A folded value must have the node's type: the `Int` branch of a conditional with a
        // `Float` branch is promoted, so it is not the conditional's constant.
        let constant =
            fold(enode, |id| egraph[id].data.constant).filter(|lit| lit_type(*lit) == ty);
        Data { ty, constant }
    }

    fn merge(&mut self, a: &mut Data, b: Data) -> DidMerge {
        // Rules preserve types and constants, so only a missing constant can be learned.
        match (a.constant, b.constant) {
            (None, Some(c)) => {
                a.constant = Some(c);
                DidMerge(true, false)
            }
            (Some(_), None) => DidMerge(false, true),
            (None, None) | (Some(_), Some(_)) => DidMerge(false, false),
        }
    }

    fn modify(egraph: &mut EGraph<Node, Self>, id: Id) {
        if let Some(lit) = egraph[id].data.constant {
            let leaf = egraph.add(Node::Lit(lit));
            egraph.union(id, leaf);
            egraph[id].nodes.retain(|n| matches!(n, Node::Lit(_)));
        }
    }
}

fn lit_type(lit: Lit) -> Type {
    match lit {
        Lit::Int(_) => Type::Int,
        Lit::Float(_) => Type::Float,
        Lit::Bool(_) => Type::Bool,
    }
}

/// Python's `//` on ints; `None` on division by zero or overflow.
pub fn floor_div(a: i64, b: i64) -> Option<i64> {
    let q = a.checked_div(b)?;
    let r = a.checked_rem(b)?;
    Some(if r != 0 && ((r < 0) != (b < 0)) {
        q - 1
    } else {
        q
    })
}

/// Python's `%` on ints (sign of the divisor); `None` on division by zero.
pub fn floor_mod(a: i64, b: i64) -> Option<i64> {
    let r = a.checked_rem(b).or(if b == -1 { Some(0) } else { None })?;
    Some(if r != 0 && ((r < 0) != (b < 0)) {
        r + b
    } else {
        r
    })
}

/// The constant value of `enode` given the constants of its children, if it folds.
fn fold(enode: &Node, constant: impl Fn(Id) -> Option<Lit>) -> Option<Lit> {
    let int = |id: &Id| match constant(*id) {
        Some(Lit::Int(v)) => Some(v),
        _ => None,
    };
    let boolean = |id: &Id| match constant(*id) {
        Some(Lit::Bool(v)) => Some(v),
        _ => None,
    };
    let ints = |[a, b]: &[Id; 2]| Some((int(a)?, int(b)?));
    let bools = |[a, b]: &[Id; 2]| Some((boolean(a)?, boolean(b)?));
    match enode {
        Node::Lit(lit) => Some(*lit),
        Node::Var(_) | Node::Column(_) | Node::Lookup(_) => None,
        Node::Neg(a) => match constant(*a)? {
            Lit::Int(v) => v.checked_neg().map(Lit::Int),
            Lit::Float(bits) => Some(Lit::Float((-f64::from_bits(bits)).to_bits())),
            Lit::Bool(_) => None,
        },
        Node::Abs(a) => match constant(*a)? {
            Lit::Int(v) => v.checked_abs().map(Lit::Int),
            Lit::Float(bits) => Some(Lit::Float(f64::from_bits(bits).abs().to_bits())),
            Lit::Bool(_) => None,
        },
        Node::Not(a) => boolean(a).map(|v| Lit::Bool(!v)),
        Node::Add(ids) => ints(ids).and_then(|(a, b)| a.checked_add(b)).map(Lit::Int),
        Node::Sub(ids) => ints(ids).and_then(|(a, b)| a.checked_sub(b)).map(Lit::Int),
        Node::Mul(ids) => ints(ids).and_then(|(a, b)| a.checked_mul(b)).map(Lit::Int),
        Node::FloorDiv(ids) => ints(ids).and_then(|(a, b)| floor_div(a, b)).map(Lit::Int),
        Node::Mod(ids) => ints(ids).and_then(|(a, b)| floor_mod(a, b)).map(Lit::Int),
        Node::Max(ids) => ints(ids).map(|(a, b)| Lit::Int(a.max(b))),
        Node::Min(ids) => ints(ids).map(|(a, b)| Lit::Int(a.min(b))),
        Node::Div(_) => None,
        Node::Lt(ids) => ints(ids).map(|(a, b)| Lit::Bool(a < b)),
        Node::Le(ids) => ints(ids).map(|(a, b)| Lit::Bool(a <= b)),
        Node::Gt(ids) => ints(ids).map(|(a, b)| Lit::Bool(a > b)),
        Node::Ge(ids) => ints(ids).map(|(a, b)| Lit::Bool(a >= b)),
        Node::Eq(ids) => ints(ids)
            .map(|(a, b)| a == b)
            .or_else(|| bools(ids).map(|(a, b)| a == b))
            .map(Lit::Bool),
        Node::Ne(ids) => ints(ids)
            .map(|(a, b)| a != b)
            .or_else(|| bools(ids).map(|(a, b)| a != b))
            .map(Lit::Bool),
        Node::And(ids) => bools(ids).map(|(a, b)| Lit::Bool(a && b)),
        Node::Or(ids) => bools(ids).map(|(a, b)| Lit::Bool(a || b)),
        Node::Xor(ids) => bools(ids).map(|(a, b)| Lit::Bool(a ^ b)),
        Node::Select([c, t, o]) => {
            let chosen = if boolean(c)? { t } else { o };
            constant(*chosen)
        }
        Node::Int(a) => match constant(*a)? {
            Lit::Int(v) => Some(Lit::Int(v)),
            Lit::Bool(v) => Some(Lit::Int(i64::from(v))),
            Lit::Float(_) => None,
        },
        Node::Round(a) | Node::Floor(a) => int(a).map(Lit::Int),
        Node::Tanh(_) | Node::Sigmoid(_) | Node::Exp(_) | Node::Float(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egg::RecExpr;

    fn analysis() -> TypeAnalysis {
        TypeAnalysis::new(
            Arc::from(vec![Type::Int, Type::Float, Type::Bool]),
            Arc::from(vec![Type::Int]),
        )
    }

    /// The type and constant of the root class of an s-expression.
    fn data(source: &str) -> Data {
        let rec: RecExpr<Node> = source.parse().unwrap();
        let mut egraph = EGraph::new(analysis());
        let root = egraph.add_expr(&rec);
        egraph.rebuild();
        egraph[root].data.clone()
    }

    #[test]
    fn types_follow_the_program_ir() {
        assert_eq!(data("(+ v0 3)").ty, Type::Int);
        assert_eq!(data("(+ v0 v1)").ty, Type::Float);
        assert_eq!(data("(/ v0 2)").ty, Type::Float);
        assert_eq!(data("(< v0 v1)").ty, Type::Bool);
        assert_eq!(data("(if v2 v0 v1)").ty, Type::Float);
        assert_eq!(data("(if v2 v0 3)").ty, Type::Int);
        assert_eq!(data("(lookup t0.0 v0)").ty, Type::Int);
        assert_eq!(data("(floor v1)").ty, Type::Int);
        assert_eq!(data("(max v0 1.5)").ty, Type::Float);
    }

    #[test]
    fn int_and_bool_constants_fold_with_python_semantics() {
        assert_eq!(data("(// -7 2)").constant, Some(Lit::Int(-4)));
        assert_eq!(data("(mod -7 2)").constant, Some(Lit::Int(1)));
        assert_eq!(data("(mod 7 -2)").constant, Some(Lit::Int(-1)));
        assert_eq!(data("(- 99 (- 99 4))").constant, Some(Lit::Int(4)));
        assert_eq!(data("(max -3 (abs -5))").constant, Some(Lit::Int(5)));
        assert_eq!(data("(xor true (< 1 2))").constant, Some(Lit::Bool(false)));
        assert_eq!(data("(== (int true) 1)").constant, Some(Lit::Bool(true)));
        assert_eq!(data("(if false v0 7)").constant, Some(Lit::Int(7)));
        assert_eq!(
            data("(neg 1.5)").constant,
            Some(Lit::Float((-1.5f64).to_bits()))
        );
    }

    #[test]
    fn division_by_zero_overflow_and_float_arithmetic_do_not_fold() {
        assert_eq!(data("(// 1 0)").constant, None);
        assert_eq!(data("(mod 1 0)").constant, None);
        assert_eq!(data("(+ 9223372036854775807 1)").constant, None);
        assert_eq!(data("(neg -9223372036854775808)").constant, None);
        assert_eq!(data("(// -9223372036854775808 -1)").constant, None);
        assert_eq!(data("(+ 0.5 0.25)").constant, None);
        assert_eq!(data("(* 2 0.5)").constant, None);
        // The chosen branch is an Int but the conditional is a Float: no Int constant.
        assert_eq!(data("(if true 1 2.0)").constant, None);
    }

    #[test]
    fn python_floor_division_and_modulo_helpers() {
        for (a, b) in [(7, 2), (-7, 2), (7, -2), (-7, -2), (6, 3), (-6, 3), (0, -5)] {
            let (q, r) = (floor_div(a, b).unwrap(), floor_mod(a, b).unwrap());
            assert_eq!(q * b + r, a, "{a} {b}");
            assert!(r == 0 || (r < 0) == (b < 0), "{a} {b}");
        }
        assert_eq!(floor_mod(i64::MIN, -1), Some(0));
        assert_eq!(floor_div(i64::MIN, -1), None);
        assert_eq!(floor_div(3, 0), None);
    }
}
