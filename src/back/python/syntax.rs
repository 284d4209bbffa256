//! The small Python syntax tree the writer prints: expressions with their parentheses already
//! decided (by `precedence`), and the statement shapes a module uses.

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
    Binary(PyBinary, Box<PyExpr>, Box<PyExpr>),
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

/// Python binary operators, comparisons and boolean operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PyBinary {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl PyBinary {
    /// The operator's token.
    pub(crate) fn token(self) -> &'static str {
        match self {
            PyBinary::Add => "+",
            PyBinary::Sub => "-",
            PyBinary::Mul => "*",
            PyBinary::Div => "/",
            PyBinary::FloorDiv => "//",
            PyBinary::Mod => "%",
            PyBinary::Lt => "<",
            PyBinary::Le => "<=",
            PyBinary::Gt => ">",
            PyBinary::Ge => ">=",
            PyBinary::Eq => "==",
            PyBinary::Ne => "!=",
            PyBinary::And => "and",
            PyBinary::Or => "or",
        }
    }

    /// Python's binding strength; higher binds tighter.
    pub(crate) fn precedence(self) -> Precedence {
        match self {
            PyBinary::Mul | PyBinary::Div | PyBinary::FloorDiv | PyBinary::Mod => {
                Precedence::Multiplicative
            }
            PyBinary::Add | PyBinary::Sub => Precedence::Additive,
            PyBinary::Lt
            | PyBinary::Le
            | PyBinary::Gt
            | PyBinary::Ge
            | PyBinary::Eq
            | PyBinary::Ne => Precedence::Comparison,
            PyBinary::And => Precedence::And,
            PyBinary::Or => Precedence::Or,
        }
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
            PyExpr::Binary(op, _, _) => op.precedence(),
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
