//! The e-graph language of program expressions, and the conversions between [`Expr`] and
//! [`RecExpr<Node>`].
//!
//! Every [`Expr`] has exactly one spelling in [`Node`]s, so `from_rec_expr(to_rec_expr(e))`
//! gives back `e`, with two normalisations that are equalities of the program IR: an n-ary
//! `max`/`min` is the left-nested chain of binary ones (`max(a, b, c)` is `max(max(a, b), c)`,
//! which is how Python evaluates it), and a one-argument `max`/`min` is its argument. On the way
//! back, left-nested chains are flattened into one n-ary call again.
//!
//! Literals, variables and table columns are leaves whose text (in s-expressions and patterns)
//! is: an int `-3`; a float in Rust's shortest round-trip form `1.5`, `-0.0`, `1e-7`, `inf`,
//! `NaN`; `true`/`false`; a variable `v7` (its [`VarId`]); a table column `t2.1` (table 2,
//! column 1), which only appears as the first child of `lookup`.

use std::fmt;
use std::str::FromStr;

use egg::{define_language, Id, RecExpr};

use crate::program::{BinaryOp, Expr, Func, Literal, TableId, UnaryOp, VarId};

/// A literal as an e-graph leaf: floats are held by their bits so that the leaf is `Eq`, `Ord`
/// and `Hash`, and `0.0` and `-0.0` are different leaves (as they are different values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lit {
    Int(i64),
    /// The bits of an `f64`.
    Float(u64),
    Bool(bool),
}

impl Lit {
    /// The e-graph leaf of a program literal.
    pub fn from_literal(literal: Literal) -> Lit {
        match literal {
            Literal::Int(v) => Lit::Int(v),
            Literal::Float(v) => Lit::Float(v.to_bits()),
            Literal::Bool(v) => Lit::Bool(v),
        }
    }

    /// The program literal of this leaf.
    pub fn to_literal(self) -> Literal {
        match self {
            Lit::Int(v) => Literal::Int(v),
            Lit::Float(bits) => Literal::Float(f64::from_bits(bits)),
            Lit::Bool(v) => Literal::Bool(v),
        }
    }
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Int(v) => write!(f, "{v}"),
            Lit::Float(bits) => write!(f, "{:?}", f64::from_bits(*bits)),
            Lit::Bool(v) => write!(f, "{v}"),
        }
    }
}

impl FromStr for Lit {
    type Err = String;

    /// An int if the text is one, else a float (the text must have a `.`, an exponent, or be
    /// `inf`/`NaN`, so that `3` is never a float), else `true`/`false`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(v) = s.parse::<i64>() {
            return Ok(Lit::Int(v));
        }
        let looks_float = s.contains(['.', 'e', 'E']) || {
            let bare = s.trim_start_matches(['-', '+']);
            bare.eq_ignore_ascii_case("inf") || bare.eq_ignore_ascii_case("nan")
        };
        if looks_float {
            if let Ok(v) = s.parse::<f64>() {
                return Ok(Lit::Float(v.to_bits()));
            }
        }
        match s {
            "true" => Ok(Lit::Bool(true)),
            "false" => Ok(Lit::Bool(false)),
            _ => Err(format!("`{s}` is not a literal")),
        }
    }
}

/// A variable leaf, printed `v<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VarLeaf(pub VarId);

impl fmt::Display for VarLeaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0 .0)
    }
}

impl FromStr for VarLeaf {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix('v')
            .and_then(|n| n.parse::<u32>().ok())
            .map(|n| VarLeaf(VarId(n)))
            .ok_or_else(|| format!("`{s}` is not a variable"))
    }
}

/// A table column leaf, printed `t<table>.<column>`: the first child of a `lookup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Column {
    pub table: TableId,
    pub column: usize,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}.{}", self.table.0, self.column)
    }
}

impl FromStr for Column {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parsed = s.strip_prefix('t').and_then(|rest| {
            let (table, column) = rest.split_once('.')?;
            Some(Column {
                table: TableId(table.parse().ok()?),
                column: column.parse().ok()?,
            })
        });
        parsed.ok_or_else(|| format!("`{s}` is not a table column"))
    }
}

define_language! {
    /// A program expression node. Operators are written as in Python (`neg` and `not` for the
    /// unary ones, `mod` for `%`, `if` for `(if cond then otherwise)`); `max`/`min` are binary; `lookup` takes
    /// a [`Column`] leaf and the index. `tanh sigmoid exp float int round floor` are
    /// uninterpreted here apart from a few exact laws of the conversions.
    pub enum Node {
        "neg" = Neg(Id),
        "not" = Not(Id),
        "+" = Add([Id; 2]),
        "-" = Sub([Id; 2]),
        "*" = Mul([Id; 2]),
        "/" = Div([Id; 2]),
        "//" = FloorDiv([Id; 2]),
        "mod" = Mod([Id; 2]),
        "<" = Lt([Id; 2]),
        "<=" = Le([Id; 2]),
        ">" = Gt([Id; 2]),
        ">=" = Ge([Id; 2]),
        "==" = Eq([Id; 2]),
        "!=" = Ne([Id; 2]),
        "and" = And([Id; 2]),
        "or" = Or([Id; 2]),
        "xor" = Xor([Id; 2]),
        "abs" = Abs(Id),
        "max" = Max([Id; 2]),
        "min" = Min([Id; 2]),
        "if" = Select([Id; 3]),
        "lookup" = Lookup([Id; 2]),
        "tanh" = Tanh(Id),
        "sigmoid" = Sigmoid(Id),
        "exp" = Exp(Id),
        "float" = Float(Id),
        "int" = Int(Id),
        "round" = Round(Id),
        "floor" = Floor(Id),
        Lit(Lit),
        Var(VarLeaf),
        Column(Column),
    }
}

/// An expression that has no spelling in [`Node`]s, or a [`RecExpr`] that is not an
/// expression (a leaf or a node of the wrong kind where a value is needed).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot convert expression: {message}")]
pub struct ConvertError {
    pub message: String,
}

fn convert_error(message: impl Into<String>) -> ConvertError {
    ConvertError {
        message: message.into(),
    }
}

/// The nodes of `expr`, children before parents; the root is the last node.
///
/// # Errors
/// A call with the wrong number of arguments (`max`/`min` need at least one, the other
/// functions exactly one).
pub fn to_rec_expr(expr: &Expr) -> Result<RecExpr<Node>, ConvertError> {
    let mut rec = RecExpr::default();
    add_expr(&mut rec, expr)?;
    Ok(rec)
}

fn add_expr(rec: &mut RecExpr<Node>, expr: &Expr) -> Result<Id, ConvertError> {
    let node = match expr {
        Expr::Lit(literal) => Node::Lit(Lit::from_literal(*literal)),
        Expr::Var(id) => Node::Var(VarLeaf(*id)),
        Expr::Unary(op, operand) => {
            let a = add_expr(rec, operand)?;
            match op {
                UnaryOp::Neg => Node::Neg(a),
                UnaryOp::Not => Node::Not(a),
            }
        }
        Expr::Binary(op, left, right) => {
            let ids = [add_expr(rec, left)?, add_expr(rec, right)?];
            binary_node(*op, ids)
        }
        Expr::Call(func, args) => return add_call(rec, *func, args),
        Expr::Select {
            cond,
            then,
            otherwise,
        } => Node::Select([
            add_expr(rec, cond)?,
            add_expr(rec, then)?,
            add_expr(rec, otherwise)?,
        ]),
        Expr::Lookup {
            table,
            index,
            column,
        } => {
            let column = rec.add(Node::Column(Column {
                table: *table,
                column: *column,
            }));
            let index = add_expr(rec, index)?;
            Node::Lookup([column, index])
        }
    };
    Ok(rec.add(node))
}

fn binary_node(op: BinaryOp, ids: [Id; 2]) -> Node {
    match op {
        BinaryOp::Add => Node::Add(ids),
        BinaryOp::Sub => Node::Sub(ids),
        BinaryOp::Mul => Node::Mul(ids),
        BinaryOp::Div => Node::Div(ids),
        BinaryOp::FloorDiv => Node::FloorDiv(ids),
        BinaryOp::Mod => Node::Mod(ids),
        BinaryOp::Lt => Node::Lt(ids),
        BinaryOp::Le => Node::Le(ids),
        BinaryOp::Gt => Node::Gt(ids),
        BinaryOp::Ge => Node::Ge(ids),
        BinaryOp::Eq => Node::Eq(ids),
        BinaryOp::Ne => Node::Ne(ids),
        BinaryOp::And => Node::And(ids),
        BinaryOp::Or => Node::Or(ids),
        BinaryOp::Xor => Node::Xor(ids),
    }
}

fn add_call(rec: &mut RecExpr<Node>, func: Func, args: &[Expr]) -> Result<Id, ConvertError> {
    let unary = |rec: &mut RecExpr<Node>, make: fn(Id) -> Node| match args {
        [arg] => {
            let a = add_expr(rec, arg)?;
            Ok(rec.add(make(a)))
        }
        _ => Err(convert_error(format!(
            "`{func:?}` takes 1 argument, given {}",
            args.len()
        ))),
    };
    let fold = |rec: &mut RecExpr<Node>, make: fn([Id; 2]) -> Node| {
        let (first, rest) = args.split_first().ok_or_else(|| {
            convert_error(format!("`{func:?}` needs at least 1 argument, given none"))
        })?;
        let mut acc = add_expr(rec, first)?;
        for arg in rest {
            let b = add_expr(rec, arg)?;
            acc = rec.add(make([acc, b]));
        }
        Ok(acc)
    };
    match func {
        Func::Abs => unary(rec, Node::Abs),
        Func::Max => fold(rec, Node::Max),
        Func::Min => fold(rec, Node::Min),
        Func::Tanh => unary(rec, Node::Tanh),
        Func::Sigmoid => unary(rec, Node::Sigmoid),
        Func::Exp => unary(rec, Node::Exp),
        Func::Float => unary(rec, Node::Float),
        Func::Int => unary(rec, Node::Int),
        Func::Round => unary(rec, Node::Round),
        Func::Floor => unary(rec, Node::Floor),
    }
}

/// The expression rooted at the last node of `rec`; left-nested `max`/`min` chains become one
/// n-ary call.
///
/// # Errors
/// An empty `rec`, or a [`Column`] leaf anywhere but as the first child of `lookup` (or a
/// `lookup` whose first child is not a column).
pub fn from_rec_expr(rec: &RecExpr<Node>) -> Result<Expr, ConvertError> {
    let nodes = rec.as_ref();
    if nodes.is_empty() {
        return Err(convert_error("empty expression"));
    }
    build(nodes, Id::from(nodes.len() - 1))
}

fn build(nodes: &[Node], id: Id) -> Result<Expr, ConvertError> {
    let node = nodes
        .get(usize::from(id))
        .ok_or_else(|| convert_error(format!("dangling node {id}")))?;
    let sub = |child: Id| build(nodes, child).map(Box::new);
    let bin = |op: BinaryOp, [a, b]: [Id; 2]| Ok(Expr::Binary(op, sub(a)?, sub(b)?));
    let call = |func: Func, a: Id| Ok(Expr::Call(func, vec![build(nodes, a)?]));
    match node {
        Node::Lit(lit) => Ok(Expr::Lit(lit.to_literal())),
        Node::Var(leaf) => Ok(Expr::Var(leaf.0)),
        Node::Column(column) => Err(convert_error(format!(
            "table column {column} used as a value"
        ))),
        Node::Neg(a) => Ok(Expr::Unary(UnaryOp::Neg, sub(*a)?)),
        Node::Not(a) => Ok(Expr::Unary(UnaryOp::Not, sub(*a)?)),
        Node::Add(ids) => bin(BinaryOp::Add, *ids),
        Node::Sub(ids) => bin(BinaryOp::Sub, *ids),
        Node::Mul(ids) => bin(BinaryOp::Mul, *ids),
        Node::Div(ids) => bin(BinaryOp::Div, *ids),
        Node::FloorDiv(ids) => bin(BinaryOp::FloorDiv, *ids),
        Node::Mod(ids) => bin(BinaryOp::Mod, *ids),
        Node::Lt(ids) => bin(BinaryOp::Lt, *ids),
        Node::Le(ids) => bin(BinaryOp::Le, *ids),
        Node::Gt(ids) => bin(BinaryOp::Gt, *ids),
        Node::Ge(ids) => bin(BinaryOp::Ge, *ids),
        Node::Eq(ids) => bin(BinaryOp::Eq, *ids),
        Node::Ne(ids) => bin(BinaryOp::Ne, *ids),
        Node::And(ids) => bin(BinaryOp::And, *ids),
        Node::Or(ids) => bin(BinaryOp::Or, *ids),
        Node::Xor(ids) => bin(BinaryOp::Xor, *ids),
        Node::Abs(a) => call(Func::Abs, *a),
        Node::Max(_) => chain(nodes, id, Func::Max),
        Node::Min(_) => chain(nodes, id, Func::Min),
        Node::Select([c, t, o]) => Ok(Expr::Select {
            cond: sub(*c)?,
            then: sub(*t)?,
            otherwise: sub(*o)?,
        }),
        Node::Lookup([column, index]) => match nodes.get(usize::from(*column)) {
            Some(Node::Column(Column { table, column })) => Ok(Expr::Lookup {
                table: *table,
                index: sub(*index)?,
                column: *column,
            }),
            _ => Err(convert_error(
                "lookup whose first child is not a table column",
            )),
        },
        Node::Tanh(a) => call(Func::Tanh, *a),
        Node::Sigmoid(a) => call(Func::Sigmoid, *a),
        Node::Exp(a) => call(Func::Exp, *a),
        Node::Float(a) => call(Func::Float, *a),
        Node::Int(a) => call(Func::Int, *a),
        Node::Round(a) => call(Func::Round, *a),
        Node::Floor(a) => call(Func::Floor, *a),
    }
}

/// The arguments of a left-nested chain of `func` (`max` or `min`) rooted at `id`, as one call.
fn chain(nodes: &[Node], id: Id, func: Func) -> Result<Expr, ConvertError> {
    let same = |node: &Node| match (func, node) {
        (Func::Max, Node::Max(ids)) | (Func::Min, Node::Min(ids)) => Some(*ids),
        _ => None,
    };
    // Walk down the left spine, collecting right operands from the outside in.
    let mut rights = Vec::new();
    let mut cur = id;
    while let Some([left, right]) = nodes.get(usize::from(cur)).and_then(same) {
        rights.push(right);
        cur = left;
    }
    let mut args = vec![build(nodes, cur)?];
    for right in rights.into_iter().rev() {
        args.push(build(nodes, right)?);
    }
    Ok(Expr::Call(func, args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::text;

    /// The expression of the only output of a program text whose inputs are `a b` (int) and
    /// `x y` (float), `p q` (bool), with table `T: float[2 x 3]`.
    fn expr(source: &str) -> Expr {
        let program = text::parse(&format!(
            "program pointwise (a: [a], b: [b], x: [x], y: [y], p: [p], q: [q])\n\
             input a: int\ninput b: int\ninput x: float\ninput y: float\n\
             input p: bool\ninput q: bool\n\
             table T: float[2 x 3] = [\n  [1.0, 2.0, 3.0],\n  [4.0, 5.0, 6.0],\n]\n\
             body {{\n}}\noutput {source}\n"
        ))
        .unwrap_or_else(|e| panic!("{e}: {source}"));
        program.outputs[0].clone()
    }

    #[test]
    fn every_kind_of_expression_round_trips() {
        let sources = [
            "a + b * 3 - a // 2 % b",
            "-(x) / 1.5 - -0.0",
            "not p and (q or p) ^ true",
            "a < b or a <= 3 or x > y or x >= 0.5 or a == b or p != q",
            "abs(a) + max(a, b) + min(a, b, 7) + max(a, b, 1, 2)",
            "tanh(x) + sigmoid(y) + exp(x) + float(a) + float(p)",
            "int(x) + round(y) + floor(x) + int(p)",
            "(a if p else b) + T[a - 1][2] * 2.0",
            "max(a, b, max(b, a))",
            "1e-7 + inf - nan * 1e300",
        ];
        for source in sources {
            let e = expr(source);
            let rec = to_rec_expr(&e).unwrap();
            // Debug text, so that NaN compares equal to itself.
            let back = from_rec_expr(&rec).unwrap();
            assert_eq!(format!("{back:?}"), format!("{e:?}"), "{source}");
            // The s-expression text round-trips through egg's parser too.
            let reparsed: RecExpr<Node> = rec.to_string().parse().unwrap();
            assert_eq!(reparsed, rec, "{source}");
        }
    }

    #[test]
    fn nary_max_is_a_left_chain_and_single_argument_max_is_its_argument() {
        let e = expr("max(a, b, 7)");
        assert_eq!(to_rec_expr(&e).unwrap().to_string(), "(max (max v0 v1) 7)");
        let single = Expr::Call(Func::Min, vec![Expr::Var(VarId(1))]);
        let rec = to_rec_expr(&single).unwrap();
        assert_eq!(rec.to_string(), "v1");
        assert_eq!(from_rec_expr(&rec).unwrap(), Expr::Var(VarId(1)));
        // A left-nested chain comes back as one call.
        let nested = expr("max(max(a, b), 7)");
        assert_eq!(
            from_rec_expr(&to_rec_expr(&nested).unwrap()).unwrap(),
            expr("max(a, b, 7)")
        );
        // A right-nested chain is not flattened (that would change float semantics).
        let right = expr("max(a, max(b, 7))");
        assert_eq!(from_rec_expr(&to_rec_expr(&right).unwrap()).unwrap(), right);
    }

    #[test]
    fn literal_leaves_keep_type_and_sign_of_zero() {
        assert_eq!("3".parse::<Lit>(), Ok(Lit::Int(3)));
        assert_eq!("3.0".parse::<Lit>(), Ok(Lit::Float(3.0f64.to_bits())));
        assert_eq!("-0.0".parse::<Lit>(), Ok(Lit::Float((-0.0f64).to_bits())));
        assert_ne!("-0.0".parse::<Lit>(), "0.0".parse::<Lit>());
        assert_eq!(
            "inf".parse::<Lit>(),
            Ok(Lit::Float(f64::INFINITY.to_bits()))
        );
        assert_eq!("true".parse::<Lit>(), Ok(Lit::Bool(true)));
        assert!("v3".parse::<Lit>().is_err());
        assert!("t1".parse::<Column>().is_err());
        assert_eq!(
            "t1.2".parse::<Column>(),
            Ok(Column {
                table: TableId(1),
                column: 2
            })
        );
    }

    #[test]
    fn malformed_calls_and_nodes_are_errors() {
        let empty_max = Expr::Call(Func::Max, vec![]);
        assert!(to_rec_expr(&empty_max).is_err());
        let two_arg_tanh = Expr::Call(Func::Tanh, vec![Expr::Var(VarId(0)), Expr::Var(VarId(1))]);
        assert!(to_rec_expr(&two_arg_tanh).is_err());
        let column_value: RecExpr<Node> = "(+ t0.1 v0)".parse().unwrap();
        assert!(from_rec_expr(&column_value).is_err());
        let bad_lookup: RecExpr<Node> = "(lookup v1 v0)".parse().unwrap();
        assert!(from_rec_expr(&bad_lookup).is_err());
        assert!(from_rec_expr(&RecExpr::default()).is_err());
    }
}
