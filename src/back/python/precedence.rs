//! Program expressions to Python expressions: operators, built-in functions and literals, with
//! parentheses exactly where Python's precedence needs them.
//!
//! Rules: a left operand may bind as loosely as its operator, a right operand must bind tighter
//! (`a - (b - c)`, `a / (b * c)`), except for `and`/`or` chains, which are associative;
//! comparisons never chain (`(a < b) == c`); a conditional is parenthesized except as the
//! `else` branch of another. A negative literal or negation on the right of `+`/`-` folds into
//! the operator (`x - 0.5`), which IEEE and Python integers define identically. A comparison
//! with a boolean literal (`x == True`) prints as the boolean itself or its negation.

use super::syntax::{binary_precedence, Precedence, PyExpr, PyUnary};
use super::PythonError;
use crate::diag::Location;
use crate::program::compare::Comparison;
use crate::program::validate::expr_type;
use crate::program::{BinaryOp, Expr, Func, Literal, Program, TableId, Type, UnaryOp, VarId};

/// Which module-level helpers and imports the printed expressions use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Uses {
    pub math: bool,
    pub sigmoid: bool,
    pub exp: bool,
}

/// Converts program expressions, given the identifiers allocated for variables and tables.
pub(crate) struct Lowering<'a> {
    pub program: &'a Program,
    pub var_names: &'a [String],
    pub table_names: &'a [String],
    pub uses: Uses,
}

/// The largest argument for which `math.exp` cannot overflow.
const EXP_SAFE_LIMIT: f64 = 709.0;

impl Lowering<'_> {
    /// `x == x` and the like, which linters reject, as a NaN test (`tidy` has folded the
    /// cases that are constant).
    fn self_comparison(&mut self, op: BinaryOp, operand: &Expr) -> Result<PyExpr, PythonError> {
        let reflexive = matches!(op, BinaryOp::Eq | BinaryOp::Le | BinaryOp::Ge);
        if !reflexive && !matches!(op, BinaryOp::Ne | BinaryOp::Xor) {
            return Ok(PyExpr::Number("False".to_string()));
        }
        self.uses.math = true;
        let test = PyExpr::call(PyExpr::attr("math", "isnan"), vec![self.lower(operand)?]);
        Ok(if reflexive {
            PyExpr::Unary(PyUnary::Not, Box::new(test))
        } else {
            test
        })
    }

    /// `a < b and b < c` as the chained comparison `a < b < c`, which evaluates `b` once
    /// and is what linters ask for.
    fn comparison_chain(
        &mut self,
        left: &Expr,
        right: &Expr,
    ) -> Result<Option<PyExpr>, PythonError> {
        let (Expr::Binary(first, a, b), Expr::Binary(second, b2, c)) = (left, right) else {
            return Ok(None);
        };
        if !is_comparison(*first) || !is_comparison(*second) || b != b2 {
            return Ok(None);
        }
        let operand = |lowering: &mut Self, e: &Expr| -> Result<PyExpr, PythonError> {
            Ok(parenthesize(lowering.lower(e)?, Precedence::Additive))
        };
        let (a, b, c) = (operand(self, a)?, operand(self, b)?, operand(self, c)?);
        let inner = PyExpr::Binary(python_operator(*first), Box::new(a), Box::new(b));
        Ok(Some(PyExpr::Binary(
            python_operator(*second),
            Box::new(inner),
            Box::new(c),
        )))
    }

    /// The Python form of `expr` (which [`super::tidy`] has tidied).
    ///
    /// Errors on handles outside the program and on calls with the wrong number of arguments.
    pub(crate) fn expr(&mut self, expr: &Expr) -> Result<PyExpr, PythonError> {
        self.lower(expr)
    }

    fn lower(&mut self, expr: &Expr) -> Result<PyExpr, PythonError> {
        match expr {
            Expr::Lit(literal) => Ok(self.literal(*literal, false)),
            Expr::Var(id) => Ok(PyExpr::Name(self.var_name(*id)?.to_string())),
            Expr::Unary(UnaryOp::Neg, operand) => self.negate(operand),
            Expr::Unary(UnaryOp::Not, operand) => {
                let operand = self.lower(operand)?;
                Ok(PyExpr::Unary(
                    PyUnary::Not,
                    Box::new(parenthesize(operand, Precedence::Not)),
                ))
            }
            Expr::Binary(op, left, right) => self.binary(*op, left, right),
            Expr::Call(func, args) => self.call(*func, args),
            Expr::Select {
                cond,
                then,
                otherwise,
            } => {
                if let Some(rewritten) = min_max_select(cond, then, otherwise) {
                    return self.lower(&rewritten);
                }
                let body = parenthesize(self.lower(then)?, Precedence::Or);
                let test = parenthesize(self.lower(cond)?, Precedence::Or);
                let orelse = parenthesize(self.lower(otherwise)?, Precedence::Conditional);
                Ok(PyExpr::If {
                    body: Box::new(body),
                    test: Box::new(test),
                    orelse: Box::new(orelse),
                })
            }
            Expr::Lookup {
                table,
                index,
                column,
            } => {
                let name = self.table_name(*table)?.to_string();
                let columns = self.program.tables[table.0 as usize].columns;
                if *column >= columns {
                    return Err(PythonError::new(
                        format!("lookup of column {column} in a table of {columns} columns"),
                        Location::Value(self.program.tables[table.0 as usize].name.clone()),
                    ));
                }
                let index = self.lower(index)?;
                let row = PyExpr::Subscript(Box::new(PyExpr::Name(name)), Box::new(index));
                Ok(PyExpr::Subscript(
                    Box::new(row),
                    Box::new(PyExpr::Number(column.to_string())),
                ))
            }
        }
    }

    /// The identifier of a variable.
    pub(crate) fn var_name(&self, id: VarId) -> Result<&str, PythonError> {
        allocated_name(self.var_names, "variable", id.0)
    }

    fn table_name(&self, id: TableId) -> Result<&str, PythonError> {
        allocated_name(self.table_names, "table", id.0)
    }

    /// A literal, negated when `negate` (negation is exact, so `-(-2.5)` is `2.5`).
    fn literal(&mut self, literal: Literal, negate: bool) -> PyExpr {
        match literal {
            Literal::Int(value) => {
                let value = i128::from(value);
                let value = if negate { -value } else { value };
                signed(value < 0, PyExpr::Number(value.unsigned_abs().to_string()))
            }
            Literal::Float(value) => {
                let value = if negate { -value } else { value };
                if value.is_nan() {
                    self.uses.math = true;
                    PyExpr::attr("math", "nan")
                } else if value.is_infinite() {
                    self.uses.math = true;
                    signed(value < 0.0, PyExpr::attr("math", "inf"))
                } else {
                    let text = super::literal::float_repr(value);
                    signed(value.is_sign_negative(), PyExpr::Number(text))
                }
            }
            Literal::Bool(value) => {
                let text = if value != negate { "True" } else { "False" };
                PyExpr::Number(text.to_string())
            }
        }
    }

    fn negate(&mut self, operand: &Expr) -> Result<PyExpr, PythonError> {
        if let Expr::Lit(literal @ (Literal::Int(_) | Literal::Float(_))) = operand {
            return Ok(self.literal(*literal, true));
        }
        let operand = self.lower(operand)?;
        // `--x` is legal but reads like a typo: keep `-(-x)`.
        let operand = if operand.precedence() <= Precedence::Unary {
            PyExpr::Paren(Box::new(operand))
        } else {
            operand
        };
        Ok(PyExpr::Unary(PyUnary::Neg, Box::new(operand)))
    }

    fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr) -> Result<PyExpr, PythonError> {
        let py_op = python_operator(op);
        if is_comparison(op) {
            if let (Expr::Var(a), Expr::Var(b)) = (left, right) {
                if a == b {
                    return self.self_comparison(op, left);
                }
            }
        }
        if matches!(py_op, BinaryOp::Eq | BinaryOp::Ne) {
            if let Some(folded) = self.boolean_comparison(py_op, left, right)? {
                return Ok(folded);
            }
        }
        if op == BinaryOp::And {
            if let Some(chain) = self.comparison_chain(left, right)? {
                return Ok(chain);
            }
        }
        let (py_op, right) = match (py_op, self.fold_negative(right)) {
            (BinaryOp::Add, Some(positive)) => (BinaryOp::Sub, positive?),
            (BinaryOp::Sub, Some(positive)) => (BinaryOp::Add, positive?),
            _ => (py_op, self.lower(right)?),
        };
        let left = self.lower(left)?;
        let precedence = binary_precedence(py_op);
        let (left_min, right_min) = match precedence {
            Precedence::And | Precedence::Or => (precedence, precedence),
            Precedence::Comparison => (Precedence::Additive, Precedence::Additive),
            Precedence::Conditional
            | Precedence::Not
            | Precedence::Additive
            | Precedence::Multiplicative
            | Precedence::Unary
            | Precedence::Atom => (precedence, tighter(precedence)),
        };
        Ok(PyExpr::Binary(
            py_op,
            Box::new(parenthesize(left, left_min)),
            Box::new(parenthesize(right, right_min)),
        ))
    }

    /// The positive counterpart of a negative literal, a negation, or a product or quotient
    /// whose first factor is one (`-0.25 * b` is exactly `-(0.25 * b)`), for folding into
    /// `+`/`-`.
    fn fold_negative(&mut self, expr: &Expr) -> Option<Result<PyExpr, PythonError>> {
        negated(expr).map(|positive| self.lower(&positive))
    }

    /// `x == True` and the like, which linters reject, as `x` or `not x`; a boolean literal
    /// compared with a number prints as `1`/`0`, which Python compares identically.
    fn boolean_comparison(
        &mut self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
    ) -> Result<Option<PyExpr>, PythonError> {
        let (literal, other) = match (left, right) {
            (_, Expr::Lit(Literal::Bool(value))) => (*value, left),
            (Expr::Lit(Literal::Bool(value)), _) => (*value, right),
            _ => return Ok(None),
        };
        let keep = (op == BinaryOp::Eq) == literal;
        if let Expr::Lit(Literal::Bool(value)) = other {
            let result = if keep { *value } else { !*value };
            return Ok(Some(PyExpr::Number(
                if result { "True" } else { "False" }.to_string(),
            )));
        }
        if expr_type(self.program, other).ok() == Some(Type::Bool) {
            let other = self.lower(other)?;
            return Ok(Some(if keep {
                other
            } else {
                PyExpr::Unary(PyUnary::Not, Box::new(parenthesize(other, Precedence::Not)))
            }));
        }
        let as_int = |value: bool| PyExpr::Number(if value { "1" } else { "0" }.to_string());
        let (left, right) = match (left, right) {
            (_, Expr::Lit(Literal::Bool(value))) => (self.lower(left)?, as_int(*value)),
            (Expr::Lit(Literal::Bool(value)), _) => (as_int(*value), self.lower(right)?),
            _ => return Ok(None),
        };
        Ok(Some(PyExpr::Binary(
            op,
            Box::new(parenthesize(left, Precedence::Additive)),
            Box::new(parenthesize(right, Precedence::Additive)),
        )))
    }

    fn call(&mut self, func: Func, args: &[Expr]) -> Result<PyExpr, PythonError> {
        let name = match func {
            Func::Max | Func::Min => {
                let builtin = if func == Func::Max { "max" } else { "min" };
                return match args {
                    [] => Err(PythonError::new(
                        format!("`{builtin}` needs at least one argument"),
                        Location::Unknown,
                    )),
                    // `max(x)` would iterate over `x`: one argument is the value itself.
                    [single] => self.lower(single),
                    many => {
                        let args = many
                            .iter()
                            .map(|arg| self.lower(arg))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(PyExpr::call(PyExpr::name(builtin), args))
                    }
                };
            }
            Func::Abs => PyExpr::name("abs"),
            Func::Float => PyExpr::name("float"),
            Func::Int => PyExpr::name("int"),
            Func::Round => PyExpr::name("round"),
            Func::Tanh => {
                self.uses.math = true;
                PyExpr::attr("math", "tanh")
            }
            Func::Floor => {
                self.uses.math = true;
                PyExpr::attr("math", "floor")
            }
            Func::Sigmoid => {
                self.uses.math = true;
                self.uses.sigmoid = true;
                PyExpr::name("_sigmoid")
            }
            Func::Exp => {
                self.uses.math = true;
                if args.len() == 1 && exp_cannot_overflow(&args[0]) {
                    PyExpr::attr("math", "exp")
                } else {
                    self.uses.exp = true;
                    PyExpr::name("_exp")
                }
            }
        };
        let [arg] = args else {
            return Err(PythonError::new(
                format!("{func:?} takes one argument, got {}", args.len()),
                Location::Unknown,
            ));
        };
        let arg = self.lower(arg)?;
        Ok(PyExpr::call(name, vec![arg]))
    }
}

/// The identifier allocated for handle `index` of a `kind` ("variable", "table").
fn allocated_name<'n>(names: &'n [String], kind: &str, index: u32) -> Result<&'n str, PythonError> {
    names
        .get(index as usize)
        .map(String::as_str)
        .ok_or_else(|| {
            PythonError::new(
                format!("{kind} handle {index} is out of range"),
                Location::Unknown,
            )
        })
}

/// Whether `op` prints as a Python comparison (`^` of Booleans prints as `!=`).
fn is_comparison(op: BinaryOp) -> bool {
    op.comparison().is_some() || op == BinaryOp::Xor
}

/// The operator Python prints for `op`: exclusive or of Booleans is inequality.
fn python_operator(op: BinaryOp) -> BinaryOp {
    if op == BinaryOp::Xor {
        BinaryOp::Ne
    } else {
        op
    }
}

/// `a if a > b else b` and its variants, which linters want as `max`/`min`: the strict
/// forms are exactly Python's `max`/`min` with the arguments in the right order (ties and
/// NaN keep the first argument); the others become `b if not a >= b else a`.
fn min_max_select(cond: &Expr, then: &Expr, otherwise: &Expr) -> Option<Expr> {
    let Expr::Binary(op, l, r) = cond else {
        return None;
    };
    let comparison = op.comparison()?;
    let (l, r) = (l.as_ref(), r.as_ref());
    let same_order = then == l && otherwise == r;
    let swapped = then == r && otherwise == l;
    if !same_order && !swapped {
        return None;
    }
    let call =
        |func, first: &Expr, second: &Expr| Expr::Call(func, vec![first.clone(), second.clone()]);
    match (comparison, same_order) {
        (Comparison::Greater, true) => Some(call(Func::Max, r, l)),
        (Comparison::Less, true) => Some(call(Func::Min, r, l)),
        (Comparison::Greater, false) => Some(call(Func::Min, l, r)),
        (Comparison::Less, false) => Some(call(Func::Max, l, r)),
        (Comparison::GreaterOrEqual | Comparison::LessOrEqual, _) => Some(Expr::select(
            Expr::unary(UnaryOp::Not, cond.clone()),
            otherwise.clone(),
            then.clone(),
        )),
        (Comparison::Equal | Comparison::NotEqual, _) => None,
    }
}

/// `-expr` without a leading minus, where `expr` starts with one: a negative literal, a
/// negation, or a product or true quotient whose first factor is one. Negation commutes
/// exactly with IEEE (and integer) multiplication and division, not with `//` or `%`.
fn negated(expr: &Expr) -> Option<Expr> {
    match expr {
        Expr::Lit(Literal::Int(value)) if *value < 0 && *value != i64::MIN => {
            Some(Expr::Lit(Literal::Int(-value)))
        }
        Expr::Lit(Literal::Float(value)) if value.is_sign_negative() && !value.is_nan() => {
            Some(Expr::Lit(Literal::Float(-value)))
        }
        Expr::Unary(UnaryOp::Neg, operand) => Some(operand.as_ref().clone()),
        Expr::Binary(op @ (BinaryOp::Mul | BinaryOp::Div), left, right) => {
            negated(left).map(|left| Expr::Binary(*op, Box::new(left), right.clone()))
        }
        Expr::Lit(_)
        | Expr::Var(_)
        | Expr::Unary(UnaryOp::Not, _)
        | Expr::Binary(..)
        | Expr::Call(..)
        | Expr::Select { .. }
        | Expr::Lookup { .. } => None,
    }
}

/// Whether `math.exp` of this argument cannot raise `OverflowError`.
fn exp_cannot_overflow(arg: &Expr) -> bool {
    match arg {
        Expr::Lit(Literal::Float(value)) => value.is_nan() || *value <= EXP_SAFE_LIMIT,
        Expr::Lit(Literal::Int(value)) => (*value as f64) <= EXP_SAFE_LIMIT,
        // `-abs(x)` is never positive.
        Expr::Unary(UnaryOp::Neg, operand) => matches!(operand.as_ref(), Expr::Call(Func::Abs, _)),
        Expr::Call(Func::Min, args) => args.iter().any(exp_cannot_overflow),
        _ => false,
    }
}

/// A unary minus in front of `expr` when `negative`.
fn signed(negative: bool, expr: PyExpr) -> PyExpr {
    if negative {
        PyExpr::Unary(PyUnary::Neg, Box::new(expr))
    } else {
        expr
    }
}

/// Wraps `expr` in parentheses when it binds looser than `min`.
fn parenthesize(expr: PyExpr, min: Precedence) -> PyExpr {
    if expr.precedence() < min {
        PyExpr::Paren(Box::new(expr))
    } else {
        expr
    }
}

/// The next tighter precedence level, for right operands of left-associative operators.
fn tighter(precedence: Precedence) -> Precedence {
    match precedence {
        Precedence::Conditional => Precedence::Or,
        Precedence::Or => Precedence::And,
        Precedence::And => Precedence::Not,
        Precedence::Not => Precedence::Comparison,
        Precedence::Comparison => Precedence::Additive,
        Precedence::Additive => Precedence::Multiplicative,
        Precedence::Multiplicative => Precedence::Unary,
        Precedence::Unary | Precedence::Atom => Precedence::Atom,
    }
}
