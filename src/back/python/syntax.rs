//! The small Python syntax tree the writer prints: expressions with their parentheses already
//! decided (by `precedence`), and the statement shapes a module uses.

use crate::program::BinaryOp;

/// A Python expression. Identifiers and literal texts are already final.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyExpr {
    /// An identifier (from the name allocator) or a fixed name such as `seq`.
    Name(String),
    /// A number or boolean literal, printed as is (`1.5`, `3`, `True`).
    Number(String),
    /// `value.attr`, for `math.inf`, `math.tanh`, `outputs.append`.
    Attribute(Box<PyExpr>, &'static str),
    Unary(PyUnary, Box<PyExpr>),
    /// A binary operator of the program IR, printed as Python spells it ([`binary_token`]).
    Binary(BinaryOp, Box<PyExpr>, Box<PyExpr>),
    Call(Box<PyExpr>, Vec<PyExpr>),
    /// `value[index]`.
    Subscript(Box<PyExpr>, Box<PyExpr>),
    /// `body if test else orelse`.
    If {
        body: Box<PyExpr>,
        test: Box<PyExpr>,
        orelse: Box<PyExpr>,
    },
    /// A tuple in its own parentheses (an unparenthesized one only appears as a statement's
    /// value or target, see [`PyStmt`]).
    Tuple(Vec<PyExpr>),
    /// Parentheses the printer must keep (precedence).
    Paren(Box<PyExpr>),
}

/// Python unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PyUnary {
    Neg,
    Not,
}

/// Python's token for a binary operator; `^` of Booleans prints as `!=`, which is its value on
/// `bool`s.
pub(crate) fn binary_token(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::FloorDiv => "//",
        BinaryOp::Mod => "%",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        BinaryOp::Eq => "==",
        BinaryOp::Ne | BinaryOp::Xor => "!=",
        BinaryOp::And => "and",
        BinaryOp::Or => "or",
    }
}

/// Python's binding strength of a binary operator; higher binds tighter.
pub(crate) fn binary_precedence(op: BinaryOp) -> Precedence {
    match op {
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::FloorDiv | BinaryOp::Mod => {
            Precedence::Multiplicative
        }
        BinaryOp::Add | BinaryOp::Sub => Precedence::Additive,
        BinaryOp::And => Precedence::And,
        BinaryOp::Or => Precedence::Or,
        BinaryOp::Lt
        | BinaryOp::Le
        | BinaryOp::Gt
        | BinaryOp::Ge
        | BinaryOp::Eq
        | BinaryOp::Ne
        | BinaryOp::Xor => Precedence::Comparison,
    }
}

/// Python's precedence levels for the operators we print, loosest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Precedence {
    Conditional,
    Or,
    And,
    Not,
    Comparison,
    Additive,
    Multiplicative,
    /// Unary minus.
    Unary,
    /// Names, literals, calls, subscripts, attributes, parenthesized forms.
    Atom,
}

impl PyExpr {
    /// How tightly the expression binds as printed (a `Paren` is an atom).
    pub(crate) fn precedence(&self) -> Precedence {
        match self {
            PyExpr::Name(_)
            | PyExpr::Attribute(..)
            | PyExpr::Call(..)
            | PyExpr::Subscript(..)
            | PyExpr::Tuple(_)
            | PyExpr::Paren(_) => Precedence::Atom,
            // A negative literal is a unary minus to the parser.
            PyExpr::Number(text) => {
                if text.starts_with('-') {
                    Precedence::Unary
                } else {
                    Precedence::Atom
                }
            }
            PyExpr::Unary(PyUnary::Neg, _) => Precedence::Unary,
            PyExpr::Unary(PyUnary::Not, _) => Precedence::Not,
            PyExpr::Binary(op, _, _) => binary_precedence(*op),
            PyExpr::If { .. } => Precedence::Conditional,
        }
    }

    /// Shorthand for a name.
    pub(crate) fn name(text: &str) -> PyExpr {
        PyExpr::Name(text.to_string())
    }

    /// Shorthand for a call.
    pub(crate) fn call(func: PyExpr, args: Vec<PyExpr>) -> PyExpr {
        PyExpr::Call(Box::new(func), args)
    }

    /// Shorthand for `value.attr`.
    pub(crate) fn attr(value: &str, attr: &'static str) -> PyExpr {
        PyExpr::Attribute(Box::new(PyExpr::name(value)), attr)
    }
}

/// The statements a module uses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyStmt {
    /// `targets = value`, or `a, b = x, y` when there are several (unparenthesized tuples).
    Assign {
        targets: Vec<String>,
        values: Vec<PyExpr>,
    },
    /// `return value` (several values: an unparenthesized tuple).
    Return(Vec<PyExpr>),
    /// An expression statement (`outputs.append(y)`).
    Expr(PyExpr),
    /// `for a, b in iter:` followed by an indented body (the writer checks that the header
    /// fits on its line).
    For {
        targets: Vec<String>,
        iter: PyExpr,
        body: Vec<PyStmt>,
    },
    /// A fixed line of text (helper bodies, `outputs = []`).
    Verbatim(String),
}
