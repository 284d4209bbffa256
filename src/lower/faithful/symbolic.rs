//! Symbolic tensors and the emitter that turns their elements into program statements.
//!
//! A [`SymTensor`] is a network value seen as an array of scalar [`Expr`]essions of one element
//! type. The [`Emitter`] appends statements to one block of a [`Program`] and offers the smart
//! constructors every op family builds on: they fold literal-only arithmetic (in `f64`, exactly as
//! the program itself would compute it), drop additions of zero and multiplications by one, and
//! bind expressions to fresh `Local` variables when they grow or are read more than once.

use ndarray::{ArrayD, IxDyn};

use crate::network::{DType, Tensor};
use crate::program::{BinaryOp, Expr, Func, Literal, Program, Stmt, Type, UnaryOp, VarKind};

/// Largest expression (in tree nodes) that an elementwise chain keeps inline before it is bound
/// to a local variable.
pub const INLINE_LIMIT: usize = 8;

/// A network value as an array of scalar expressions.
///
/// Invariant: every element has the program type [`scalar_type`]`(dtype)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SymTensor {
    /// The network element type.
    pub dtype: DType,
    /// One scalar expression per element, in the value's shape.
    pub elems: ArrayD<Expr>,
}

impl SymTensor {
    /// A tensor of the given element type from expressions already in row-major order; `None`
    /// when `elems.len()` does not match the shape.
    pub fn from_vec(dtype: DType, shape: &[usize], elems: Vec<Expr>) -> Option<SymTensor> {
        ArrayD::from_shape_vec(IxDyn(shape), elems)
            .ok()
            .map(|elems| SymTensor { dtype, elems })
    }

    /// The literal tensor of a constant: every element becomes an [`Expr::Lit`].
    pub fn constant(tensor: &Tensor) -> SymTensor {
        match tensor {
            Tensor::F32(a) => SymTensor {
                dtype: DType::F32,
                elems: a.mapv(|v| Expr::Lit(Literal::Float(float_literal(v)))),
            },
            Tensor::I64(a) => SymTensor {
                dtype: DType::I64,
                elems: a.mapv(|v| Expr::Lit(Literal::Int(v))),
            },
            Tensor::Bool(a) => SymTensor {
                dtype: DType::Bool,
                elems: a.mapv(|v| Expr::Lit(Literal::Bool(v))),
            },
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        self.elems.shape()
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<Expr> {
        self.elems.iter().cloned().collect()
    }

    /// The literals of all elements in row-major order, or `None` if any element is not a literal.
    pub fn literals(&self) -> Option<Vec<Literal>> {
        self.elems.iter().map(as_literal).collect()
    }
}

/// The `f64` literal for an `f32` weight: the shortest decimal that reads back as the same `f32`
/// (`0.1` rather than `0.10000000149011612`). It differs from the `f32` by less than half an `f32`
/// ulp and rounds back to it exactly, far inside the accepted `f32`/`f64` difference, and keeps the
/// printed program readable. Non-finite values are kept as they are.
pub fn float_literal(v: f32) -> f64 {
    if v.is_finite() {
        // Display prints the shortest representation that round-trips to the same f32.
        v.to_string().parse::<f64>().unwrap_or(f64::from(v))
    } else {
        f64::from(v)
    }
}

/// The program type of a network element type: `F32 -> Float`, `I64 -> Int`, `Bool -> Bool`.
pub fn scalar_type(dtype: DType) -> Type {
    match dtype {
        DType::F32 => Type::Float,
        DType::I64 => Type::Int,
        DType::Bool => Type::Bool,
    }
}

/// True for a literal or a variable: an expression that costs nothing to repeat.
pub fn is_atomic(expr: &Expr) -> bool {
    matches!(expr, Expr::Lit(_) | Expr::Var(_))
}

/// A short identifier-like hint from an untrusted model name: runs of characters other than ASCII
/// letters and digits become one `_`, a trailing `_output_0` (PyTorch's exporter) is dropped,
/// letters are lowercased, a segment repeated right after itself is dropped, at most the last
/// 24 characters are kept; `fallback` when nothing is left or the result starts with a digit.
pub fn clean_hint(name: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut trimmed = out.trim_end_matches('_');
    if let Some(stem) = trimmed.strip_suffix("_output_0") {
        trimmed = stem;
    }
    // Exporters repeat the module name in the op name (`/relu/Relu`): say it once.
    let mut parts: Vec<&str> = Vec::new();
    for part in trimmed.split('_') {
        if parts.last() != Some(&part) {
            parts.push(part);
        }
    }
    let joined = parts.join("_");
    let trimmed = joined.as_str();
    // Long hints do not read better; keep the tail, which names the op in exporter names.
    let tail_start = trimmed.char_indices().rev().nth(23).map_or(0, |(i, _)| i);
    let trimmed = trimmed[tail_start..].trim_start_matches('_');
    match trimmed.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => trimmed.to_string(),
        Some(_) | None => fallback.to_string(),
    }
}

/// The hint of element `index` of a tensor with `count` elements named by `base`: `base` itself
/// for a single element, else `base` followed by the index (with a `_` when `base` ends in a
/// digit, so `h` gives `h0, h1` and `fc1` gives `fc1_0, fc1_1`).
pub fn element_hint(base: &str, index: usize, count: usize) -> String {
    if count == 1 {
        base.to_string()
    } else if base.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{base}_{index}")
    } else {
        format!("{base}{index}")
    }
}

/// Appends statements to one block of a program.
pub struct Emitter<'a> {
    /// The program that owns the variables and tables the statements use.
    pub program: &'a mut Program,
    /// The block statements are appended to.
    pub stmts: &'a mut Vec<Stmt>,
}

impl<'a> Emitter<'a> {
    /// An emitter that appends to `stmts`, a block of `program` (its body or its `init`).
    pub fn new(program: &'a mut Program, stmts: &'a mut Vec<Stmt>) -> Emitter<'a> {
        Emitter { program, stmts }
    }

    /// Assigns `expr` to a fresh `Local` of type `ty` and returns the variable as an expression.
    pub fn local(&mut self, hint: &str, ty: Type, expr: Expr) -> Expr {
        let var = self.program.add_var(hint, ty, VarKind::Local);
        self.stmts.push(Stmt::Assign {
            targets: vec![var],
            values: vec![expr],
        });
        Expr::Var(var)
    }

    /// `expr` itself when atomic, else a fresh local holding it: use before reading a value twice.
    pub fn atomize(&mut self, hint: &str, ty: Type, expr: Expr) -> Expr {
        if is_atomic(&expr) {
            expr
        } else {
            self.local(hint, ty, expr)
        }
    }

    /// `expr` itself while it has at most [`INLINE_LIMIT`] nodes, else a fresh local holding it.
    pub fn limit(&mut self, hint: &str, ty: Type, expr: Expr) -> Expr {
        if expr.node_count() <= INLINE_LIMIT {
            expr
        } else {
            self.local(hint, ty, expr)
        }
    }

    /// Binds every compound element of `tensor` to a local named after `base` (see
    /// [`element_hint`]), so that it can be read many times at no cost.
    pub fn atomize_tensor(&mut self, base: &str, tensor: SymTensor) -> SymTensor {
        self.bind_elements(base, tensor, Emitter::atomize)
    }

    /// Applies [`Emitter::limit`] to every element of `tensor`.
    pub fn limit_tensor(&mut self, base: &str, tensor: SymTensor) -> SymTensor {
        self.bind_elements(base, tensor, Emitter::limit)
    }

    /// Applies `bind` (with the element's hint and scalar type) to every element of `tensor`.
    fn bind_elements(
        &mut self,
        base: &str,
        tensor: SymTensor,
        bind: fn(&mut Self, &str, Type, Expr) -> Expr,
    ) -> SymTensor {
        let ty = scalar_type(tensor.dtype);
        let count = tensor.elems.len();
        let mut index = 0;
        let elems = tensor.elems.mapv_into_any(|e| {
            let out = bind(self, &element_hint(base, index, count), ty, e);
            index += 1;
            out
        });
        SymTensor {
            dtype: tensor.dtype,
            elems,
        }
    }
}

/// The literal an expression is, if it is one.
pub fn as_literal(e: &Expr) -> Option<Literal> {
    match e {
        Expr::Lit(l) => Some(*l),
        Expr::Var(_)
        | Expr::Unary(..)
        | Expr::Binary(..)
        | Expr::Call(..)
        | Expr::Select { .. }
        | Expr::Lookup { .. } => None,
    }
}

/// The value of a float literal.
pub fn float_of(e: &Expr) -> Option<f64> {
    match as_literal(e)? {
        Literal::Float(v) => Some(v),
        Literal::Int(_) | Literal::Bool(_) => None,
    }
}

/// The value of an integer literal.
pub fn int_of(e: &Expr) -> Option<i64> {
    match as_literal(e)? {
        Literal::Int(v) => Some(v),
        Literal::Float(_) | Literal::Bool(_) => None,
    }
}

/// The value of a boolean literal.
pub fn bool_of(e: &Expr) -> Option<bool> {
    match as_literal(e)? {
        Literal::Bool(v) => Some(v),
        Literal::Float(_) | Literal::Int(_) => None,
    }
}

/// A float literal.
pub fn float(v: f64) -> Expr {
    Expr::Lit(Literal::Float(v))
}

/// An integer literal.
pub fn int(v: i64) -> Expr {
    Expr::Lit(Literal::Int(v))
}

/// Two literals of one type folded with `on_float` or `on_int`, which return `None` where
/// folding would not give what the program computes (overflow, division by zero).
fn fold(
    a: &Expr,
    b: &Expr,
    on_float: impl Fn(f64, f64) -> Option<f64>,
    on_int: impl Fn(i64, i64) -> Option<i64>,
) -> Option<Expr> {
    if let (Some(x), Some(y)) = (float_of(a), float_of(b)) {
        return on_float(x, y).map(float);
    }
    if let (Some(x), Some(y)) = (int_of(a), int_of(b)) {
        return on_int(x, y).map(int);
    }
    None
}

/// `a + b`, folding literals and dropping an added zero; `a + (-c)` is written `a - c` and
/// `(-c) + b` is written `b - c`.
pub fn add(a: Expr, b: Expr) -> Expr {
    if let Some(v) = fold(&a, &b, |x, y| Some(x + y), i64::checked_add) {
        return v;
    }
    if is_zero(&b) {
        return a;
    }
    if is_zero(&a) {
        return b;
    }
    match split_negation(b) {
        (true, magnitude) => binary(BinaryOp::Sub, a, magnitude),
        // `-m + b` is exactly `b - m`: IEEE addition commutes.
        (false, b) => match split_negation(a) {
            (true, magnitude) => binary(BinaryOp::Sub, b, magnitude),
            (false, a) => binary(BinaryOp::Add, a, b),
        },
    }
}

/// `a - b`, folding literals and dropping a subtracted zero; `a - (-c)` is written `a + c`.
pub fn sub(a: Expr, b: Expr) -> Expr {
    if let Some(v) = fold(&a, &b, |x, y| Some(x - y), i64::checked_sub) {
        return v;
    }
    if is_zero(&b) {
        return a;
    }
    if is_zero(&a) {
        return neg(b);
    }
    match split_negation(b) {
        (true, magnitude) => binary(BinaryOp::Add, a, magnitude),
        (false, b) => binary(BinaryOp::Sub, a, b),
    }
}

/// Splits a visibly negative expression (`-e`, a negative literal, `(-c) * e`) into `(true, m)`
/// with `m` its exact negation; anything else gives `(false, e)`. IEEE negation is exact, so
/// `a + e == a - m` for every `a`.
fn split_negation(e: Expr) -> (bool, Expr) {
    match e {
        Expr::Unary(UnaryOp::Neg, inner) => (true, *inner),
        Expr::Lit(l) => match magnitude_if_negative(l) {
            Some(m) => (true, Expr::Lit(m)),
            None => (false, Expr::Lit(l)),
        },
        Expr::Binary(BinaryOp::Mul, c, rest) => {
            match as_literal(&c).and_then(magnitude_if_negative) {
                Some(m) => (true, binary(BinaryOp::Mul, Expr::Lit(m), *rest)),
                None => (false, Expr::Binary(BinaryOp::Mul, c, rest)),
            }
        }
        e @ (Expr::Var(_)
        | Expr::Unary(UnaryOp::Not, _)
        | Expr::Binary(..)
        | Expr::Call(..)
        | Expr::Select { .. }
        | Expr::Lookup { .. }) => (false, e),
    }
}

/// `-l` for a negative number literal `l` whose negation is exact.
fn magnitude_if_negative(l: Literal) -> Option<Literal> {
    match l {
        Literal::Float(v) if v < 0.0 => Some(Literal::Float(-v)),
        Literal::Int(v) if v < 0 => v.checked_neg().map(Literal::Int),
        Literal::Float(_) | Literal::Int(_) | Literal::Bool(_) => None,
    }
}

/// `a * b` with a literal factor written first; a zero factor gives zero, a factor of one or
/// minus one gives the other operand or its negation.
pub fn mul(a: Expr, b: Expr) -> Expr {
    if let Some(v) = fold(&a, &b, |x, y| Some(x * y), i64::checked_mul) {
        return v;
    }
    match (as_literal(&a), as_literal(&b)) {
        (Some(c), _) => scale(c, b),
        (None, Some(c)) => scale(c, a),
        (None, None) => binary(BinaryOp::Mul, a, b),
    }
}

/// `c * e` for a literal `c`.
fn scale(c: Literal, e: Expr) -> Expr {
    match c {
        Literal::Float(0.0) => float(0.0),
        Literal::Int(0) => int(0),
        Literal::Float(1.0) => e,
        Literal::Int(1) => e,
        Literal::Float(-1.0) => neg(e),
        Literal::Int(-1) => neg(e),
        Literal::Float(_) | Literal::Int(_) | Literal::Bool(_) => {
            binary(BinaryOp::Mul, Expr::Lit(c), e)
        }
    }
}

/// True division `a / b` of floats, folding literals (never a division by zero) and `a / 1`.
pub fn div(a: Expr, b: Expr) -> Expr {
    if let Some(v) = fold(&a, &b, |x, y| (y != 0.0).then(|| x / y), |_, _| None) {
        return v;
    }
    if float_of(&b) == Some(1.0) {
        return a;
    }
    binary(BinaryOp::Div, a, b)
}

/// `-a`, folding number literals and double negation.
pub fn neg(a: Expr) -> Expr {
    match a {
        Expr::Lit(Literal::Float(x)) => float(-x),
        Expr::Lit(Literal::Int(x)) => match x.checked_neg() {
            Some(v) => int(v),
            None => Expr::Unary(UnaryOp::Neg, Box::new(a)),
        },
        Expr::Unary(UnaryOp::Neg, inner) => *inner,
        e @ (Expr::Lit(Literal::Bool(_))
        | Expr::Var(_)
        | Expr::Unary(UnaryOp::Not, _)
        | Expr::Binary(..)
        | Expr::Call(..)
        | Expr::Select { .. }
        | Expr::Lookup { .. }) => Expr::Unary(UnaryOp::Neg, Box::new(e)),
    }
}

/// A plain binary expression.
pub fn binary(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary(op, Box::new(a), Box::new(b))
}

/// A call of a built-in function.
pub fn call(func: Func, args: Vec<Expr>) -> Expr {
    Expr::Call(func, args)
}

/// `then if cond else otherwise`.
pub fn select(cond: Expr, then: Expr, otherwise: Expr) -> Expr {
    Expr::Select {
        cond: Box::new(cond),
        then: Box::new(then),
        otherwise: Box::new(otherwise),
    }
}

/// The sum of `terms` from left to right, zero terms dropped; `zero` when nothing is left.
pub fn sum(terms: impl IntoIterator<Item = Expr>, zero: Expr) -> Expr {
    let mut acc: Option<Expr> = None;
    for term in terms {
        if is_zero(&term) {
            continue;
        }
        acc = Some(match acc {
            None => term,
            Some(prev) => add(prev, term),
        });
    }
    acc.unwrap_or(zero)
}

/// True for a literal zero (`0`, `0.0` or `-0.0`).
pub fn is_zero(e: &Expr) -> bool {
    match e {
        Expr::Lit(Literal::Float(v)) => *v == 0.0,
        Expr::Lit(Literal::Int(v)) => *v == 0,
        Expr::Lit(Literal::Bool(_))
        | Expr::Var(_)
        | Expr::Unary(..)
        | Expr::Binary(..)
        | Expr::Call(..)
        | Expr::Select { .. }
        | Expr::Lookup { .. } => false,
    }
}

/// The zero of a program type (`false` for `Bool`).
pub fn zero_of(ty: Type) -> Expr {
    match ty {
        Type::Float => Expr::Lit(Literal::Float(0.0)),
        Type::Int => Expr::Lit(Literal::Int(0)),
        Type::Bool => Expr::Lit(Literal::Bool(false)),
    }
}
