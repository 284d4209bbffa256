//! The program interpreter: runs a program on scalars, with Python's semantics.
//!
//! A program is verified, then compiled once to a flat stack code over variable slots indexed
//! by [`VarId`] ([`Interpreter::new`]); each run reuses that code. Semantics are those of the
//! Python the backend prints, with `Int` held in an `i64`:
//! - `+ - *`, unary `-`, `abs`, `//`, `int`, `round`, `floor` on `Int` results outside `i64` are
//!   an error (Python would grow the integer);
//! - `/`, `//` and `%` by zero (`Int` or `Float`) are an error (`ZeroDivisionError`); `//` and
//!   `%` floor as Python does, for floats too (CPython's `divmod` algorithm);
//! - mixed `Int`/`Float` operands are promoted to `Float`; comparisons between an `Int` and a
//!   `Float` are exact; `max`/`min` keep Python's choice of argument (NaN stays where Python
//!   keeps it) and give a `Float` when any argument is one; a conditional with an `Int` and a
//!   `Float` branch gives a `Float`;
//! - `and`/`or` and conditionals evaluate only what Python evaluates, so an error in the branch
//!   not taken does not happen;
//! - `round` is half to even; `int` truncates; `int`, `round` and `floor` of NaN or an infinity
//!   are an error; `exp` overflows to `inf`; `sigmoid` never overflows;
//! - a lookup with a negative index counts from the end; an index out of range is an error.
//!
//! `Int / Int` is computed in `f64`, which rounds as Python does whenever both operands are at
//! most 2^53 in magnitude.

use std::cmp::Ordering;

use super::verify::{expr_type, verify};
use super::{
    BinaryOp, Expr, Func, Literal, LoopDirection, Program, Signature, Stmt, Type, UnaryOp, VarId,
};

/// A runtime scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl From<Literal> for Scalar {
    fn from(literal: Literal) -> Self {
        match literal {
            Literal::Int(v) => Scalar::Int(v),
            Literal::Float(v) => Scalar::Float(v),
            Literal::Bool(v) => Scalar::Bool(v),
        }
    }
}

/// A runtime failure (integer overflow, division by zero, index out of range, wrong arity,
/// or a program that does not verify).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("program failed: {message}")]
pub struct InterpError {
    pub message: String,
}

fn fail(message: impl Into<String>) -> InterpError {
    InterpError {
        message: message.into(),
    }
}

/// Runs a sequence program: `steps[t]` holds the features of step `t`; returns the outputs of
/// every step, `result[t]` for step `t` whatever the direction.
///
/// # Errors
/// See [`Interpreter::run_sequence`].
pub fn run_sequence(
    program: &Program,
    steps: &[Vec<Scalar>],
) -> Result<Vec<Vec<Scalar>>, InterpError> {
    Interpreter::new(program)?.run_sequence(steps)
}

/// Runs a pointwise program: `arguments[i]` holds the features of argument `i`.
///
/// # Errors
/// See [`Interpreter::run_pointwise`].
pub fn run_pointwise(
    program: &Program,
    arguments: &[Vec<Scalar>],
) -> Result<Vec<Scalar>, InterpError> {
    Interpreter::new(program)?.run_pointwise(arguments)
}

/// One instruction of the stack code.
#[derive(Debug, Clone, Copy)]
enum Op {
    Const(Scalar),
    Load(u32),
    Store(u32),
    Neg,
    Not,
    Binary(BinaryOp),
    /// Converts an `Int` on top of the stack to `Float` (static promotion).
    ToFloat,
    Call(Func, u32),
    Lookup {
        table: u32,
        column: u32,
    },
    /// Pops a `Bool`; jumps when it is false.
    JumpIfFalse(u32),
    Jump(u32),
    /// `and`: when the top is false, jumps keeping it; else pops it.
    AndThen(u32),
    /// `or`: when the top is true, jumps keeping it; else pops it.
    OrElse(u32),
}

/// Compiled code of one block, with the statement (or output) each instruction comes from.
#[derive(Debug, Default)]
struct Code {
    ops: Vec<Op>,
    origin: Vec<u32>,
}

/// A table as scalars.
#[derive(Debug)]
struct RtTable {
    data: Vec<Scalar>,
    columns: usize,
    rows: usize,
}

/// A verified program compiled for repeated runs.
#[derive(Debug)]
pub struct Interpreter<'p> {
    program: &'p Program,
    tables: Vec<RtTable>,
    init: Code,
    body: Code,
    outputs: Code,
}

impl<'p> Interpreter<'p> {
    /// Verifies and compiles `program`.
    ///
    /// # Errors
    /// The program does not pass [`verify`].
    pub fn new(program: &'p Program) -> Result<Self, InterpError> {
        verify(program).map_err(|e| fail(e.to_string()))?;
        let tables = program
            .tables
            .iter()
            .map(|t| RtTable {
                data: t.data.iter().map(|l| Scalar::from(*l)).collect(),
                columns: t.columns,
                rows: t.rows(),
            })
            .collect();
        let compiler = Compiler { program };
        let mut outputs = Code::default();
        for (i, output) in program.outputs.iter().enumerate() {
            compiler.expr(&mut outputs, output, i as u32)?;
        }
        Ok(Interpreter {
            program,
            tables,
            init: compiler.block(&program.init)?,
            body: compiler.block(&program.body)?,
            outputs,
        })
    }

    /// Runs a sequence program on one sequence (see [`run_sequence`]).
    ///
    /// # Errors
    /// The program is pointwise; a step has the wrong number of features or a feature of the
    /// wrong type (an `Int` is accepted for a `Float`); a runtime failure (the message names the
    /// step, the block and the statement).
    pub fn run_sequence(&self, steps: &[Vec<Scalar>]) -> Result<Vec<Vec<Scalar>>, InterpError> {
        let (step_inputs, direction) = match &self.program.signature {
            Signature::Sequence {
                step_inputs,
                direction,
            } => (step_inputs, *direction),
            Signature::Pointwise { .. } => {
                return Err(fail("run_sequence called on a pointwise program"))
            }
        };
        let mut machine = Machine::new(self);
        machine.run(&self.init, "init")?;
        let mut results = vec![Vec::new(); steps.len()];
        let order: Box<dyn Iterator<Item = usize>> = match direction {
            LoopDirection::Forward => Box::new(0..steps.len()),
            LoopDirection::Reverse => Box::new((0..steps.len()).rev()),
        };
        for t in order {
            let features = &steps[t];
            if features.len() != step_inputs.len() {
                return Err(fail(format!(
                    "step {t} has {} features, the program takes {}",
                    features.len(),
                    step_inputs.len()
                )));
            }
            for (&var, &value) in step_inputs.iter().zip(features) {
                machine
                    .bind(var, value)
                    .map_err(|m| fail(format!("step {t}: {m}")))?;
            }
            machine
                .run(&self.body, "body")
                .map_err(|e| fail(format!("step {t}: {}", e.message)))?;
            results[t] = machine
                .outputs()
                .map_err(|e| fail(format!("step {t}: {}", e.message)))?;
        }
        Ok(results)
    }

    /// Runs a pointwise program once (see [`run_pointwise`]).
    ///
    /// # Errors
    /// The program is a sequence program; wrong number of arguments or of features of an
    /// argument; a feature of the wrong type (an `Int` is accepted for a `Float`); a runtime
    /// failure (the message names the block and the statement).
    pub fn run_pointwise(&self, arguments: &[Vec<Scalar>]) -> Result<Vec<Scalar>, InterpError> {
        let params = match &self.program.signature {
            Signature::Pointwise { arguments } => arguments,
            Signature::Sequence { .. } => {
                return Err(fail("run_pointwise called on a sequence program"))
            }
        };
        if arguments.len() != params.len() {
            return Err(fail(format!(
                "given {} arguments, the program takes {}",
                arguments.len(),
                params.len()
            )));
        }
        let mut machine = Machine::new(self);
        for (i, (param, values)) in params.iter().zip(arguments).enumerate() {
            if values.len() != param.features.len() {
                return Err(fail(format!(
                    "argument {i} has {} features, the program takes {}",
                    values.len(),
                    param.features.len()
                )));
            }
            for (&var, &value) in param.features.iter().zip(values) {
                machine
                    .bind(var, value)
                    .map_err(|m| fail(format!("argument {i}: {m}")))?;
            }
        }
        machine.run(&self.body, "body")?;
        machine.outputs()
    }
}

struct Compiler<'p> {
    program: &'p Program,
}

impl Compiler<'_> {
    fn block(&self, stmts: &[Stmt]) -> Result<Code, InterpError> {
        let mut code = Code::default();
        for (index, stmt) in stmts.iter().enumerate() {
            let Stmt::Assign { targets, values } = stmt;
            for value in values {
                self.expr(&mut code, value, index as u32)?;
            }
            // Values were pushed in order, so the last target takes the top of the stack.
            for target in targets.iter().rev() {
                emit(&mut code, Op::Store(target.0), index as u32);
            }
        }
        Ok(code)
    }

    fn ty(&self, expr: &Expr) -> Result<Type, InterpError> {
        expr_type(self.program, expr).map_err(|e| fail(e.to_string()))
    }

    fn expr(&self, code: &mut Code, expr: &Expr, origin: u32) -> Result<(), InterpError> {
        match expr {
            Expr::Lit(literal) => emit(code, Op::Const((*literal).into()), origin),
            Expr::Var(var) => emit(code, Op::Load(var.0), origin),
            Expr::Unary(op, operand) => {
                self.expr(code, operand, origin)?;
                let op = match op {
                    UnaryOp::Neg => Op::Neg,
                    UnaryOp::Not => Op::Not,
                };
                emit(code, op, origin);
            }
            Expr::Binary(op @ (BinaryOp::And | BinaryOp::Or), left, right) => {
                self.expr(code, left, origin)?;
                let jump = code.ops.len();
                emit(code, Op::Jump(0), origin);
                self.expr(code, right, origin)?;
                let end = code.ops.len() as u32;
                code.ops[jump] = if *op == BinaryOp::And {
                    Op::AndThen(end)
                } else {
                    Op::OrElse(end)
                };
            }
            Expr::Binary(op, left, right) => {
                self.expr(code, left, origin)?;
                self.expr(code, right, origin)?;
                emit(code, Op::Binary(*op), origin);
            }
            Expr::Call(func, args) => {
                for arg in args {
                    self.expr(code, arg, origin)?;
                }
                emit(code, Op::Call(*func, args.len() as u32), origin);
            }
            Expr::Select {
                cond,
                then,
                otherwise,
            } => {
                let promote = self.ty(expr)? == Type::Float;
                self.expr(code, cond, origin)?;
                let to_else = code.ops.len();
                emit(code, Op::Jump(0), origin);
                self.branch(code, then, promote, origin)?;
                let to_end = code.ops.len();
                emit(code, Op::Jump(0), origin);
                code.ops[to_else] = Op::JumpIfFalse(code.ops.len() as u32);
                self.branch(code, otherwise, promote, origin)?;
                code.ops[to_end] = Op::Jump(code.ops.len() as u32);
            }
            Expr::Lookup {
                table,
                index,
                column,
            } => {
                self.expr(code, index, origin)?;
                let column = u32::try_from(*column).map_err(|_| fail("column out of range"))?;
                emit(
                    code,
                    Op::Lookup {
                        table: table.0,
                        column,
                    },
                    origin,
                );
            }
        }
        Ok(())
    }

    fn branch(
        &self,
        code: &mut Code,
        expr: &Expr,
        promote: bool,
        origin: u32,
    ) -> Result<(), InterpError> {
        self.expr(code, expr, origin)?;
        if promote && self.ty(expr)? == Type::Int {
            emit(code, Op::ToFloat, origin);
        }
        Ok(())
    }
}

fn emit(code: &mut Code, op: Op, origin: u32) {
    code.ops.push(op);
    code.origin.push(origin);
}

/// The mutable state of one run: variable slots and the value stack.
struct Machine<'i, 'p> {
    interp: &'i Interpreter<'p>,
    slots: Vec<Scalar>,
    stack: Vec<Scalar>,
}

impl<'i, 'p> Machine<'i, 'p> {
    fn new(interp: &'i Interpreter<'p>) -> Self {
        Machine {
            interp,
            slots: vec![Scalar::Int(0); interp.program.vars.len()],
            stack: Vec::with_capacity(16),
        }
    }

    /// Stores an input feature, promoting an `Int` given for a `Float` variable.
    fn bind(&mut self, var: VarId, value: Scalar) -> Result<(), String> {
        let decl = self.interp.program.var(var);
        let value = match (decl.ty, value) {
            (Type::Int, Scalar::Int(_))
            | (Type::Float, Scalar::Float(_))
            | (Type::Bool, Scalar::Bool(_)) => value,
            (Type::Float, Scalar::Int(v)) => Scalar::Float(v as f64),
            (ty, value) => {
                return Err(format!(
                    "feature `{}` is a {}, given {value:?}",
                    decl.name.escape_debug(),
                    super::text::type_name(ty)
                ))
            }
        };
        self.slots[var.0 as usize] = value;
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<Scalar>, InterpError> {
        self.run(&self.interp.outputs, "output")?;
        Ok(std::mem::take(&mut self.stack))
    }

    /// Runs `code`; on failure the message names `block` and the statement.
    fn run(&mut self, code: &Code, block: &str) -> Result<(), InterpError> {
        self.exec(&code.ops).map_err(|(pc, message)| {
            let origin = code.origin.get(pc).copied().unwrap_or(0);
            if block == "output" {
                fail(format!("output {origin}: {message}"))
            } else {
                fail(format!("{block}, statement {origin}: {message}"))
            }
        })
    }

    fn pop(&mut self) -> Result<Scalar, String> {
        self.stack
            .pop()
            .ok_or_else(|| "internal error: stack underflow".to_string())
    }

    fn exec(&mut self, ops: &[Op]) -> Result<(), (usize, String)> {
        let mut pc = 0;
        while let Some(&op) = ops.get(pc) {
            pc += 1;
            let here = pc - 1;
            let at = |m: String| (here, m);
            match op {
                Op::Const(v) => self.stack.push(v),
                Op::Load(slot) => self.stack.push(self.slots[slot as usize]),
                Op::Store(slot) => self.slots[slot as usize] = self.pop().map_err(at)?,
                Op::Neg => {
                    let v = self.pop().map_err(at)?;
                    self.stack.push(neg(v).map_err(at)?);
                }
                Op::Not => match self.pop().map_err(at)? {
                    Scalar::Bool(b) => self.stack.push(Scalar::Bool(!b)),
                    other => return Err(at(format!("`not` applied to {other:?}"))),
                },
                Op::Binary(bop) => {
                    let b = self.pop().map_err(at)?;
                    let a = self.pop().map_err(at)?;
                    self.stack.push(binary(bop, a, b).map_err(at)?);
                }
                Op::ToFloat => {
                    if let Some(Scalar::Int(v)) = self.stack.last().copied() {
                        self.stack.pop();
                        self.stack.push(Scalar::Float(v as f64));
                    }
                }
                Op::Call(func, argc) => {
                    let start = self
                        .stack
                        .len()
                        .checked_sub(argc as usize)
                        .ok_or_else(|| at("internal error: stack underflow".to_string()))?;
                    let result = call(func, &self.stack[start..]).map_err(at)?;
                    self.stack.truncate(start);
                    self.stack.push(result);
                }
                Op::Lookup { table, column } => {
                    let index = self.pop().map_err(at)?;
                    let table = &self.interp.tables[table as usize];
                    let value = lookup(table, index, column as usize).map_err(at)?;
                    self.stack.push(value);
                }
                Op::JumpIfFalse(target) => match self.pop().map_err(at)? {
                    Scalar::Bool(true) => {}
                    Scalar::Bool(false) => pc = target as usize,
                    other => return Err(at(format!("condition is {other:?}, not a bool"))),
                },
                Op::Jump(target) => pc = target as usize,
                Op::AndThen(target) | Op::OrElse(target) => {
                    let short = matches!(op, Op::OrElse(_));
                    match self.stack.last().copied() {
                        Some(Scalar::Bool(b)) if b == short => pc = target as usize,
                        Some(Scalar::Bool(_)) => {
                            self.stack.pop();
                        }
                        other => return Err(at(format!("`and`/`or` applied to {other:?}"))),
                    }
                }
            }
        }
        Ok(())
    }
}

fn lookup(table: &RtTable, index: Scalar, column: usize) -> Result<Scalar, String> {
    let Scalar::Int(i) = index else {
        return Err(format!("table index {index:?} is not an int"));
    };
    let rows = table.rows as i64;
    let row = if i < 0 { i + rows } else { i };
    if row < 0 || row >= rows || column >= table.columns {
        return Err(format!(
            "table index {i} out of range for {rows} rows (IndexError)"
        ));
    }
    table
        .data
        .get(row as usize * table.columns + column)
        .copied()
        .ok_or_else(|| "table entry out of range".to_string())
}

fn overflow(what: &str) -> String {
    format!("integer overflow in `{what}`")
}

fn neg(v: Scalar) -> Result<Scalar, String> {
    match v {
        Scalar::Int(i) => i
            .checked_neg()
            .map(Scalar::Int)
            .ok_or_else(|| overflow("-")),
        Scalar::Float(f) => Ok(Scalar::Float(-f)),
        Scalar::Bool(_) => Err("`-` applied to a bool".to_string()),
    }
}

/// Python's `//` on ints (floor).
fn int_floordiv(a: i64, b: i64) -> Result<i64, String> {
    if b == 0 {
        return Err("integer division by zero (ZeroDivisionError)".to_string());
    }
    let q = a.checked_div(b).ok_or_else(|| overflow("//"))?;
    let r = a.wrapping_rem(b);
    Ok(if r != 0 && ((r < 0) != (b < 0)) {
        q - 1
    } else {
        q
    })
}

/// Python's `%` on ints (sign of the divisor).
fn int_mod(a: i64, b: i64) -> Result<i64, String> {
    if b == 0 {
        return Err("integer modulo by zero (ZeroDivisionError)".to_string());
    }
    let r = a.wrapping_rem(b);
    Ok(if r != 0 && ((r < 0) != (b < 0)) {
        r + b
    } else {
        r
    })
}

/// Python's `int / int`: the quotient correctly rounded to the nearest double.
fn int_true_div(a: i64, b: i64) -> Result<f64, String> {
    if b == 0 {
        return Err("division by zero (ZeroDivisionError)".to_string());
    }
    let negative = (a < 0) != (b < 0);
    let (n, d) = (u128::from(a.unsigned_abs()), u128::from(b.unsigned_abs()));
    let magnitude = if n == 0 {
        0.0
    } else {
        // Scale the numerator to 127 bits: the integer quotient then has at least 63
        // significant bits, and a sticky low bit for a non-zero remainder makes the single
        // rounding of `u128 as f64` the correct rounding of the exact quotient.
        let shift = n.leading_zeros() - 1;
        let scaled = n << shift;
        let (q, r) = (scaled / d, scaled % d);
        let q = if r != 0 { q | 1 } else { q };
        (q as f64) * 2f64.powi(-(shift as i32))
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// CPython's float `divmod`: (floor quotient, remainder with the sign of the divisor).
fn float_divmod(a: f64, b: f64) -> Result<(f64, f64), String> {
    if b == 0.0 {
        return Err("float division by zero (ZeroDivisionError)".to_string());
    }
    let mut rem = a % b;
    let mut div = (a - rem) / b;
    if rem != 0.0 {
        if (b < 0.0) != (rem < 0.0) {
            rem += b;
            div -= 1.0;
        }
    } else {
        rem = 0.0f64.copysign(b);
    }
    let floor = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(a / b)
    };
    Ok((floor, rem))
}

/// Exact comparison of an int with a float, as Python does (None when the float is NaN).
fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    // In range, so the conversion is exact.
    match i.cmp(&(t as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - t)),
        other => Some(other),
    }
}

/// The order of two numbers, `None` when unordered (NaN) or not both numbers.
fn compare(a: Scalar, b: Scalar) -> Option<Ordering> {
    match (a, b) {
        (Scalar::Int(x), Scalar::Int(y)) => Some(x.cmp(&y)),
        (Scalar::Float(x), Scalar::Float(y)) => x.partial_cmp(&y),
        (Scalar::Int(x), Scalar::Float(y)) => cmp_int_float(x, y),
        (Scalar::Float(x), Scalar::Int(y)) => cmp_int_float(y, x).map(Ordering::reverse),
        (Scalar::Bool(x), Scalar::Bool(y)) => Some(x.cmp(&y)),
        (Scalar::Bool(_), _) | (_, Scalar::Bool(_)) => None,
    }
}

fn as_float(v: Scalar) -> Option<f64> {
    match v {
        Scalar::Int(i) => Some(i as f64),
        Scalar::Float(f) => Some(f),
        Scalar::Bool(_) => None,
    }
}

fn binary(op: BinaryOp, a: Scalar, b: Scalar) -> Result<Scalar, String> {
    let (symbol, _) = super::text::binary_symbol(op);
    let mismatch = || format!("`{symbol}` applied to {a:?} and {b:?}");
    let floats = || as_float(a).zip(as_float(b)).ok_or_else(mismatch);
    match op {
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul => {
            if let (Scalar::Int(x), Scalar::Int(y)) = (a, b) {
                let r = match op {
                    BinaryOp::Add => x.checked_add(y),
                    BinaryOp::Sub => x.checked_sub(y),
                    _ => x.checked_mul(y),
                };
                return r.map(Scalar::Int).ok_or_else(|| overflow(symbol));
            }
            let (x, y) = floats()?;
            Ok(Scalar::Float(match op {
                BinaryOp::Add => x + y,
                BinaryOp::Sub => x - y,
                _ => x * y,
            }))
        }
        BinaryOp::Div => {
            if let (Scalar::Int(x), Scalar::Int(y)) = (a, b) {
                return int_true_div(x, y).map(Scalar::Float);
            }
            let (x, y) = floats()?;
            if y == 0.0 {
                return Err("division by zero (ZeroDivisionError)".to_string());
            }
            Ok(Scalar::Float(x / y))
        }
        BinaryOp::FloorDiv | BinaryOp::Mod => {
            if let (Scalar::Int(x), Scalar::Int(y)) = (a, b) {
                let r = if op == BinaryOp::FloorDiv {
                    int_floordiv(x, y)
                } else {
                    int_mod(x, y)
                };
                return r.map(Scalar::Int);
            }
            let (x, y) = floats()?;
            let (div, rem) = float_divmod(x, y)?;
            Ok(Scalar::Float(if op == BinaryOp::FloorDiv {
                div
            } else {
                rem
            }))
        }
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            if matches!(a, Scalar::Bool(_)) || matches!(b, Scalar::Bool(_)) {
                return Err(mismatch());
            }
            let ord = compare(a, b);
            Ok(Scalar::Bool(match op {
                BinaryOp::Lt => ord == Some(Ordering::Less),
                BinaryOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                BinaryOp::Gt => ord == Some(Ordering::Greater),
                _ => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
            }))
        }
        BinaryOp::Eq | BinaryOp::Ne => {
            let numeric = !matches!(a, Scalar::Bool(_)) && !matches!(b, Scalar::Bool(_));
            let bools = matches!(a, Scalar::Bool(_)) && matches!(b, Scalar::Bool(_));
            if !numeric && !bools {
                return Err(mismatch());
            }
            let equal = compare(a, b) == Some(Ordering::Equal);
            Ok(Scalar::Bool(equal == (op == BinaryOp::Eq)))
        }
        BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => match (a, b) {
            (Scalar::Bool(x), Scalar::Bool(y)) => Ok(Scalar::Bool(match op {
                BinaryOp::And => x && y,
                BinaryOp::Or => x || y,
                _ => x != y,
            })),
            _ => Err(mismatch()),
        },
    }
}

/// Converts a float to an int as Python's `int()` does on an already integral value.
fn integral_to_int(f: f64, name: &str) -> Result<Scalar, String> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return Err(format!("`{name}` of NaN (ValueError)"));
    }
    if f.is_infinite() {
        return Err(format!("`{name}` of an infinity (OverflowError)"));
    }
    if !(-TWO_63..TWO_63).contains(&f) {
        return Err(overflow(name));
    }
    Ok(Scalar::Int(f as i64))
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn call(func: Func, args: &[Scalar]) -> Result<Scalar, String> {
    let name = super::text::func_name(func);
    let one = || match args {
        [v] => Ok(*v),
        _ => Err(format!("`{name}` takes 1 argument, given {}", args.len())),
    };
    let float = |v: Scalar| as_float(v).ok_or_else(|| format!("`{name}` applied to {v:?}"));
    match func {
        Func::Abs => match one()? {
            Scalar::Int(i) => i
                .checked_abs()
                .map(Scalar::Int)
                .ok_or_else(|| overflow(name)),
            Scalar::Float(f) => Ok(Scalar::Float(f.abs())),
            v @ Scalar::Bool(_) => Err(format!("`abs` applied to {v:?}")),
        },
        Func::Max | Func::Min => {
            let (first, rest) = args
                .split_first()
                .ok_or_else(|| format!("`{name}` needs at least 1 argument"))?;
            let wanted = if func == Func::Max {
                Ordering::Greater
            } else {
                Ordering::Less
            };
            let mut best = *first;
            let mut any_float = false;
            for &v in args {
                match v {
                    Scalar::Float(_) => any_float = true,
                    Scalar::Int(_) => {}
                    Scalar::Bool(_) => return Err(format!("`{name}` applied to {v:?}")),
                }
            }
            // Python keeps the current value unless a later one is strictly better.
            for &v in rest {
                if compare(v, best) == Some(wanted) {
                    best = v;
                }
            }
            Ok(match best {
                Scalar::Int(i) if any_float => Scalar::Float(i as f64),
                other => other,
            })
        }
        Func::Tanh => Ok(Scalar::Float(float(one()?)?.tanh())),
        Func::Sigmoid => Ok(Scalar::Float(sigmoid(float(one()?)?))),
        Func::Exp => Ok(Scalar::Float(float(one()?)?.exp())),
        Func::Float => Ok(Scalar::Float(match one()? {
            Scalar::Bool(b) => f64::from(u8::from(b)),
            v => float(v)?,
        })),
        Func::Int => match one()? {
            Scalar::Int(i) => Ok(Scalar::Int(i)),
            Scalar::Bool(b) => Ok(Scalar::Int(i64::from(b))),
            Scalar::Float(f) => integral_to_int(f.trunc(), name),
        },
        Func::Round | Func::Floor => match one()? {
            Scalar::Int(i) => Ok(Scalar::Int(i)),
            Scalar::Float(f) => {
                let r = if func == Func::Round {
                    f.round_ties_even()
                } else {
                    f.floor()
                };
                integral_to_int(r, name)
            }
            v @ Scalar::Bool(_) => Err(format!("`{name}` applied to {v:?}")),
        },
    }
}
