//! The formulas that symbolic regression finds: small integer and Boolean expression trees over
//! the columns of a [`super::Table`], their exact evaluation and their translation to program IR.

use std::fmt;

use crate::program::{BinaryOp, Expr, Func, Literal, Type, UnaryOp, VarId};

/// Unary operators of the formula grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnOp {
    /// Integer negation.
    Neg,
    /// Integer absolute value.
    Abs,
    /// Boolean negation.
    Not,
    /// Conversion of a Boolean to `0`/`1` (Python's `int(b)`).
    ToInt,
}

/// Binary operators of the formula grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    /// Python `//` (floor).
    FloorDiv,
    /// Python `%` (sign of the divisor).
    Mod,
    Min,
    Max,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    /// Boolean and, or, exclusive or.
    And,
    Or,
    Xor,
}

/// What a binary operator computes, which fixes the types of its operands and result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// Integers to an integer.
    Arithmetic,
    /// Integers to a Boolean.
    Comparison,
    /// Booleans to a Boolean.
    Connective,
}

impl BinOp {
    fn family(self) -> Family {
        match self {
            BinOp::Add
            | BinOp::Sub
            | BinOp::Mul
            | BinOp::FloorDiv
            | BinOp::Mod
            | BinOp::Min
            | BinOp::Max => Family::Arithmetic,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne => {
                Family::Comparison
            }
            BinOp::And | BinOp::Or | BinOp::Xor => Family::Connective,
        }
    }

    /// The type of the result: `Bool` for comparisons and Boolean connectives, else `Int`.
    pub fn result_type(self) -> Type {
        match self.family() {
            Family::Arithmetic => Type::Int,
            Family::Comparison | Family::Connective => Type::Bool,
        }
    }

    /// The type both operands are expected to have: `Bool` for the Boolean connectives, else
    /// `Int`.
    pub fn operand_type(self) -> Type {
        match self.family() {
            Family::Connective => Type::Bool,
            Family::Arithmetic | Family::Comparison => Type::Int,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Min => "min",
            BinOp::Max => "max",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Xor => "^",
        }
    }
}

/// Applies a unary operator to a value. Booleans are `0`/`1`; a Boolean operand is true when
/// nonzero. `None` on overflow (`-i64::MIN`, `abs(i64::MIN)`).
#[inline]
pub(super) fn unary(op: UnOp, a: i64) -> Option<i64> {
    match op {
        UnOp::Neg => a.checked_neg(),
        UnOp::Abs => a.checked_abs(),
        UnOp::Not => Some(i64::from(a == 0)),
        UnOp::ToInt => Some(i64::from(a != 0)),
    }
}

/// Applies a binary operator to two values with Python's semantics on mathematical integers.
/// Booleans are `0`/`1`; a Boolean operand is true when nonzero. `None` when the result does
/// not fit an `i64` or on division (or modulo) by zero.
#[inline]
pub(super) fn binary(op: BinOp, a: i64, b: i64) -> Option<i64> {
    match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::FloorDiv => {
            let q = a.checked_div(b)?;
            // `b != 0` here: checked_div failed otherwise.
            let r = a.wrapping_rem(b);
            Some(if r != 0 && ((r < 0) != (b < 0)) {
                q - 1
            } else {
                q
            })
        }
        BinOp::Mod => {
            if b == 0 {
                return None;
            }
            let r = a.wrapping_rem(b);
            Some(if r != 0 && ((r < 0) != (b < 0)) {
                r + b
            } else {
                r
            })
        }
        BinOp::Min => Some(a.min(b)),
        BinOp::Max => Some(a.max(b)),
        BinOp::Lt => Some(i64::from(a < b)),
        BinOp::Le => Some(i64::from(a <= b)),
        BinOp::Gt => Some(i64::from(a > b)),
        BinOp::Ge => Some(i64::from(a >= b)),
        BinOp::Eq => Some(i64::from(a == b)),
        BinOp::Ne => Some(i64::from(a != b)),
        BinOp::And => Some(i64::from(a != 0 && b != 0)),
        BinOp::Or => Some(i64::from(a != 0 || b != 0)),
        BinOp::Xor => Some(i64::from((a != 0) != (b != 0))),
    }
}

/// A formula: an expression tree over the columns of a table and integer constants.
///
/// Values are integers; Booleans are `0`/`1`. Every node counts 1 towards [`Formula::size`],
/// except the conversion [`UnOp::ToInt`], which counts 0.
/// The search builds only well-typed formulas (each operand has its operator's
/// [`BinOp::operand_type`], Booleans reach integer operators through [`UnOp::ToInt`]);
/// [`Formula::to_expr`] nevertheless converts any operand whose type does not fit, so every
/// formula translates to well-typed program IR.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Formula {
    /// The value of column `index` of the row; `ty` is the column's type (`Int` or `Bool`).
    Column {
        index: usize,
        ty: Type,
    },
    /// An integer constant.
    Int(i64),
    /// A Boolean constant.
    Bool(bool),
    Unary(UnOp, Box<Formula>),
    Binary(BinOp, Box<Formula>, Box<Formula>),
    /// `then if cond else otherwise`.
    If {
        cond: Box<Formula>,
        then: Box<Formula>,
        otherwise: Box<Formula>,
    },
}

impl Formula {
    /// The number of nodes (columns, constants and operators) in the tree, not counting
    /// conversions `int(b)`.
    pub fn size(&self) -> usize {
        match self {
            Formula::Column { .. } | Formula::Int(_) | Formula::Bool(_) => 1,
            // `int(b)` is a conversion, not an operation.
            Formula::Unary(UnOp::ToInt, a) => a.size(),
            Formula::Unary(UnOp::Neg | UnOp::Abs | UnOp::Not, a) => 1 + a.size(),
            Formula::Binary(_, a, b) => 1 + a.size() + b.size(),
            Formula::If {
                cond,
                then,
                otherwise,
            } => 1 + cond.size() + then.size() + otherwise.size(),
        }
    }

    /// The type of the value: `Int` or `Bool` (a conditional is `Int` if either branch is).
    pub fn ty(&self) -> Type {
        match self {
            Formula::Column { ty, .. } => match ty {
                Type::Bool => Type::Bool,
                Type::Int | Type::Float => Type::Int,
            },
            Formula::Int(_) => Type::Int,
            Formula::Bool(_) => Type::Bool,
            Formula::Unary(op, _) => match op {
                UnOp::Neg | UnOp::Abs | UnOp::ToInt => Type::Int,
                UnOp::Not => Type::Bool,
            },
            Formula::Binary(op, _, _) => op.result_type(),
            Formula::If {
                then, otherwise, ..
            } => {
                if then.ty() == Type::Bool && otherwise.ty() == Type::Bool {
                    Type::Bool
                } else {
                    Type::Int
                }
            }
        }
    }

    /// Evaluates the formula on one row (`row[i]` is the value of column `i`; Booleans are
    /// `0`/`1`) with Python's semantics. A Boolean result is `0` or `1`.
    ///
    /// Returns `None` when an intermediate value does not fit an `i64`, on division or modulo
    /// by zero, or when the formula names a column past the end of `row`. Only the branch a
    /// conditional takes is evaluated, as in Python.
    pub fn eval(&self, row: &[i64]) -> Option<i64> {
        match self {
            Formula::Column { index, ty } => {
                let v = *row.get(*index)?;
                Some(match ty {
                    Type::Bool => i64::from(v != 0),
                    Type::Int | Type::Float => v,
                })
            }
            Formula::Int(v) => Some(*v),
            Formula::Bool(b) => Some(i64::from(*b)),
            Formula::Unary(op, a) => unary(*op, a.eval(row)?),
            Formula::Binary(op, a, b) => binary(*op, a.eval(row)?, b.eval(row)?),
            Formula::If {
                cond,
                then,
                otherwise,
            } => {
                // Both branches give 0/1 when Boolean, so no conversion is needed.
                let taken = if cond.eval(row)? != 0 {
                    then
                } else {
                    otherwise
                };
                taken.eval(row)
            }
        }
    }

    /// Translates the formula to a program expression of type [`Formula::ty`], where column `i`
    /// is the variable `columns[i].0` of type `columns[i].1` (`Int` or `Bool`).
    ///
    /// A `Bool` used where an `Int` is expected goes through [`Func::Int`]; an `Int` used where
    /// a `Bool` is expected becomes `x != 0`. `//` and `%` map to [`BinaryOp::FloorDiv`] and
    /// [`BinaryOp::Mod`] (both floor, as [`Formula::eval`]), `min`/`max` to [`Func::Min`] /
    /// [`Func::Max`], `abs` to [`Func::Abs`], conditionals to [`Expr::Select`].
    ///
    /// # Panics
    /// If the formula names a column index outside `columns` (a formula found for another
    /// table): that is a bug of the caller, not bad input.
    pub fn to_expr(&self, columns: &[(VarId, Type)]) -> Expr {
        self.typed_expr(columns).0
    }

    /// The expression and its program type (`Int` or `Bool`).
    fn typed_expr(&self, columns: &[(VarId, Type)]) -> (Expr, Type) {
        match self {
            Formula::Column { index, .. } => {
                let (var, ty) = columns[*index];
                (Expr::Var(var), ty)
            }
            Formula::Int(v) => (Expr::Lit(Literal::Int(*v)), Type::Int),
            Formula::Bool(b) => (Expr::Lit(Literal::Bool(*b)), Type::Bool),
            Formula::Unary(op, a) => match op {
                UnOp::Neg => (
                    Expr::Unary(UnaryOp::Neg, Box::new(a.expr_as(Type::Int, columns))),
                    Type::Int,
                ),
                UnOp::Abs => (
                    Expr::Call(Func::Abs, vec![a.expr_as(Type::Int, columns)]),
                    Type::Int,
                ),
                UnOp::Not => (
                    Expr::Unary(UnaryOp::Not, Box::new(a.expr_as(Type::Bool, columns))),
                    Type::Bool,
                ),
                UnOp::ToInt => (a.expr_as(Type::Int, columns), Type::Int),
            },
            Formula::Binary(op, a, b) => {
                let operand = op.operand_type();
                let a = a.expr_as(operand, columns);
                let b = b.expr_as(operand, columns);
                let expr = match op {
                    BinOp::Min => Expr::Call(Func::Min, vec![a, b]),
                    BinOp::Max => Expr::Call(Func::Max, vec![a, b]),
                    BinOp::Add => binary_expr(BinaryOp::Add, a, b),
                    BinOp::Sub => binary_expr(BinaryOp::Sub, a, b),
                    BinOp::Mul => binary_expr(BinaryOp::Mul, a, b),
                    BinOp::FloorDiv => binary_expr(BinaryOp::FloorDiv, a, b),
                    BinOp::Mod => binary_expr(BinaryOp::Mod, a, b),
                    BinOp::Lt => binary_expr(BinaryOp::Lt, a, b),
                    BinOp::Le => binary_expr(BinaryOp::Le, a, b),
                    BinOp::Gt => binary_expr(BinaryOp::Gt, a, b),
                    BinOp::Ge => binary_expr(BinaryOp::Ge, a, b),
                    BinOp::Eq => binary_expr(BinaryOp::Eq, a, b),
                    BinOp::Ne => binary_expr(BinaryOp::Ne, a, b),
                    BinOp::And => binary_expr(BinaryOp::And, a, b),
                    BinOp::Or => binary_expr(BinaryOp::Or, a, b),
                    BinOp::Xor => binary_expr(BinaryOp::Xor, a, b),
                };
                (expr, op.result_type())
            }
            Formula::If {
                cond,
                then,
                otherwise,
            } => {
                let ty = self.ty();
                (
                    Expr::Select {
                        cond: Box::new(cond.expr_as(Type::Bool, columns)),
                        then: Box::new(then.expr_as(ty, columns)),
                        otherwise: Box::new(otherwise.expr_as(ty, columns)),
                    },
                    ty,
                )
            }
        }
    }

    /// The expression converted to `want` (`Int` or `Bool`).
    fn expr_as(&self, want: Type, columns: &[(VarId, Type)]) -> Expr {
        let (expr, ty) = self.typed_expr(columns);
        match (ty, want) {
            (Type::Bool, Type::Int) => Expr::Call(Func::Int, vec![expr]),
            (Type::Int, Type::Bool) => binary_expr(BinaryOp::Ne, expr, Expr::Lit(Literal::Int(0))),
            (Type::Int, Type::Int)
            | (Type::Bool, Type::Bool)
            | (Type::Float, _)
            | (_, Type::Float) => expr,
        }
    }

    /// Python-like text with columns named by `names` (`c{i}` past its end); for reports and
    /// test messages, not for code generation.
    pub fn text(&self, names: &[&str]) -> String {
        let mut out = String::new();
        self.write(&mut out, names, false);
        out
    }

    fn write(&self, out: &mut String, names: &[&str], nested: bool) {
        let open = |out: &mut String| {
            if nested {
                out.push('(');
            }
        };
        let close = |out: &mut String| {
            if nested {
                out.push(')');
            }
        };
        match self {
            Formula::Column { index, .. } => match names.get(*index) {
                Some(name) => out.push_str(name),
                None => out.push_str(&format!("c{index}")),
            },
            Formula::Int(v) => out.push_str(&v.to_string()),
            Formula::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
            Formula::Unary(op, a) => match op {
                UnOp::Neg => {
                    out.push('-');
                    a.write(out, names, true);
                }
                UnOp::Abs | UnOp::ToInt => {
                    out.push_str(if *op == UnOp::Abs { "abs(" } else { "int(" });
                    a.write(out, names, false);
                    out.push(')');
                }
                UnOp::Not => {
                    open(out);
                    out.push_str("not ");
                    a.write(out, names, true);
                    close(out);
                }
            },
            Formula::Binary(op @ (BinOp::Min | BinOp::Max), a, b) => {
                out.push_str(op.symbol());
                out.push('(');
                a.write(out, names, false);
                out.push_str(", ");
                b.write(out, names, false);
                out.push(')');
            }
            Formula::Binary(op, a, b) => {
                open(out);
                a.write(out, names, true);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                b.write(out, names, true);
                close(out);
            }
            Formula::If {
                cond,
                then,
                otherwise,
            } => {
                open(out);
                then.write(out, names, true);
                out.push_str(" if ");
                cond.write(out, names, true);
                out.push_str(" else ");
                otherwise.write(out, names, true);
                close(out);
            }
        }
    }
}

fn binary_expr(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary(op, Box::new(a), Box::new(b))
}

impl fmt::Display for Formula {
    /// The [`Formula::text`] with columns named `c0`, `c1`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(&[]))
    }
}
