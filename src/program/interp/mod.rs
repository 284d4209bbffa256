//! The program interpreter: runs a program on scalars, with Python's semantics.
//!
//! A program is validated, then compiled once ([`Interpreter::new`]) to typed register code:
//! every variable and temporary is a slot in a flat `f64`, `i64` or `bool` bank, and each
//! instruction knows its operand types, so a run does no type dispatch; each run reuses that
//! code. Semantics are those of the Python the backend prints, with `Int` held in an `i64`:
//! - `+ - *`, unary `-`, `abs`, `//`, `int`, `round`, `floor` on `Int` results outside `i64` are
//!   an error (Python would grow the integer);
//! - `/`, `//` and `%` by zero (`Int` or `Float`) are an error (`ZeroDivisionError`); `//` and
//!   `%` floor as Python does, for floats too (CPython's `divmod` algorithm);
//! - mixed `Int`/`Float` operands are promoted to `Float`; comparisons between an `Int` and a
//!   `Float` are exact; `max`/`min` keep Python's choice of argument (a later argument replaces
//!   the current one only when strictly better, so NaN stays where Python keeps it) and give a
//!   `Float` when any argument is one (their `Int` arguments are converted before comparing);
//!   a conditional with an `Int` and a `Float` branch gives a `Float`;
//! - `and`/`or` and conditionals evaluate only what Python evaluates, so an error in the branch
//!   not taken does not happen;
//! - `round` is half to even; `int` truncates; `int`, `round` and `floor` of NaN or an infinity
//!   are an error; `exp` overflows to `inf`; `sigmoid` never overflows;
//! - a lookup with a negative index counts from the end; an index out of range is an error.
//!
//! - `Int / Int` is the correctly rounded quotient, as in Python.

mod arith;
mod compile;

use super::compare::{int_float_order, Comparison};
use super::validate::validate;
use super::{Func, Literal, LoopDirection, Program, Signature, Type, VarId};
use compile::{Arith, Code, Compiler, FUnary, Ins, Reg};

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
/// or a program that does not validate).
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

/// A table's entries in the bank of its type.
#[derive(Debug)]
struct RtTable {
    f: Vec<f64>,
    i: Vec<i64>,
    b: Vec<bool>,
    columns: usize,
    rows: usize,
}

/// A validated program compiled for repeated runs.
#[derive(Debug)]
pub struct Interpreter<'p> {
    program: &'p Program,
    tables: Vec<RtTable>,
    var_regs: Vec<Reg>,
    /// Sizes of the float, int and bool banks.
    size: [u32; 3],
    init: Code,
    body: Code,
    outputs: Code,
    output_regs: Vec<Reg>,
}

/// The registers of one run.
struct Regs {
    f: Vec<f64>,
    i: Vec<i64>,
    b: Vec<bool>,
}

impl<'p> Interpreter<'p> {
    /// Verifies and compiles `program`.
    ///
    /// # Errors
    /// The program does not pass [`validate`].
    pub fn new(program: &'p Program) -> Result<Self, InterpError> {
        validate(program).map_err(|e| fail(e.to_string()))?;
        let tables = program
            .tables
            .iter()
            .map(|t| {
                let mut table = RtTable {
                    f: vec![],
                    i: vec![],
                    b: vec![],
                    columns: t.columns,
                    rows: t.rows(),
                };
                for literal in &t.data {
                    match *literal {
                        Literal::Float(v) => table.f.push(v),
                        Literal::Int(v) => table.i.push(v),
                        Literal::Bool(v) => table.b.push(v),
                    }
                }
                table
            })
            .collect();
        let mut compiler = Compiler::new(program);
        let init = compiler.block(&program.init)?;
        let body = compiler.block(&program.body)?;
        let (outputs, output_regs) = compiler.outputs(&program.outputs)?;
        Ok(Interpreter {
            program,
            tables,
            var_regs: compiler.var_regs,
            size: compiler.size,
            init,
            body,
            outputs,
            output_regs,
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
        let mut regs = self.regs();
        self.run(&self.init, "init", &mut regs)?;
        let mut results = vec![Vec::new(); steps.len()];
        let mut step = |t: usize| -> Result<(), InterpError> {
            let features = &steps[t];
            if features.len() != step_inputs.len() {
                return Err(fail(format!(
                    "step {t} has {} features, the program takes {}",
                    features.len(),
                    step_inputs.len()
                )));
            }
            for (&var, &value) in step_inputs.iter().zip(features) {
                self.bind(&mut regs, var, value)
                    .map_err(|m| fail(format!("step {t}: {m}")))?;
            }
            let in_step = |e: InterpError| fail(format!("step {t}: {}", e.message));
            self.run(&self.body, "body", &mut regs).map_err(in_step)?;
            results[t] = self.outputs(&mut regs).map_err(in_step)?;
            Ok(())
        };
        match direction {
            LoopDirection::Forward => (0..steps.len()).try_for_each(&mut step)?,
            LoopDirection::Reverse => (0..steps.len()).rev().try_for_each(&mut step)?,
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
        let mut regs = self.regs();
        for (i, (param, values)) in params.iter().zip(arguments).enumerate() {
            if values.len() != param.features.len() {
                return Err(fail(format!(
                    "argument {i} has {} features, the program takes {}",
                    values.len(),
                    param.features.len()
                )));
            }
            for (&var, &value) in param.features.iter().zip(values) {
                self.bind(&mut regs, var, value)
                    .map_err(|m| fail(format!("argument {i}: {m}")))?;
            }
        }
        self.run(&self.body, "body", &mut regs)?;
        self.outputs(&mut regs)
    }

    fn regs(&self) -> Regs {
        Regs {
            f: vec![0.0; self.size[0] as usize],
            i: vec![0; self.size[1] as usize],
            b: vec![false; self.size[2] as usize],
        }
    }

    /// Stores an input feature, promoting an `Int` given for a `Float` variable.
    fn bind(&self, regs: &mut Regs, var: VarId, value: Scalar) -> Result<(), String> {
        let decl = self.program.var(var);
        let (_, reg) = self.var_regs[var.0 as usize];
        let reg = reg as usize;
        match (decl.ty, value) {
            (Type::Float, Scalar::Float(v)) => regs.f[reg] = v,
            (Type::Float, Scalar::Int(v)) => regs.f[reg] = v as f64,
            (Type::Int, Scalar::Int(v)) => regs.i[reg] = v,
            (Type::Bool, Scalar::Bool(v)) => regs.b[reg] = v,
            (ty, value) => {
                return Err(format!(
                    "feature `{}` is a {}, given {value:?}",
                    decl.name.escape_debug(),
                    super::text::type_name(ty)
                ))
            }
        }
        Ok(())
    }

    fn outputs(&self, regs: &mut Regs) -> Result<Vec<Scalar>, InterpError> {
        self.run(&self.outputs, "output", regs)?;
        Ok(self
            .output_regs
            .iter()
            .map(|&(ty, reg)| match ty {
                Type::Float => Scalar::Float(regs.f[reg as usize]),
                Type::Int => Scalar::Int(regs.i[reg as usize]),
                Type::Bool => Scalar::Bool(regs.b[reg as usize]),
            })
            .collect())
    }

    /// Runs `code`; on failure the message names `block` and the statement.
    fn run(&self, code: &Code, block: &str, regs: &mut Regs) -> Result<(), InterpError> {
        self.exec(&code.ins, regs).map_err(|(pc, message)| {
            let origin = code.origin.get(pc).copied().unwrap_or(0);
            if block == "output" {
                fail(format!("output {origin}: {message}"))
            } else {
                fail(format!("{block}, statement {origin}: {message}"))
            }
        })
    }

    /// The dispatch loop. Errors are rare, so their messages are built only on the cold path.
    fn exec(&self, code: &[Ins], regs: &mut Regs) -> Result<(), (usize, String)> {
        let Regs { f, i, b } = regs;
        let mut pc = 0;
        while let Some(&ins) = code.get(pc) {
            let here = pc;
            pc += 1;
            let at = |m: String| (here, m);
            match ins {
                Ins::FConst(d, v) => f[d as usize] = v,
                Ins::IConst(d, v) => i[d as usize] = v,
                Ins::BConst(d, v) => b[d as usize] = v,
                Ins::FMov(d, s) => f[d as usize] = f[s as usize],
                Ins::IMov(d, s) => i[d as usize] = i[s as usize],
                Ins::BMov(d, s) => b[d as usize] = b[s as usize],
                Ins::IToF(d, s) => f[d as usize] = i[s as usize] as f64,
                Ins::BToF(d, s) => f[d as usize] = f64::from(u8::from(b[s as usize])),
                Ins::BToI(d, s) => i[d as usize] = i64::from(b[s as usize]),
                Ins::FToI(func, d, s) => {
                    let x = f[s as usize];
                    let integral = match func {
                        Func::Round => x.round_ties_even(),
                        Func::Floor => x.floor(),
                        Func::Int
                        | Func::Abs
                        | Func::Max
                        | Func::Min
                        | Func::Tanh
                        | Func::Sigmoid
                        | Func::Exp
                        | Func::Float => x.trunc(),
                    };
                    let name = crate::program::text::func_name(func);
                    i[d as usize] = arith::integral_to_int(integral, name).map_err(at)?;
                }
                Ins::FUnary(op, d, s) => {
                    let x = f[s as usize];
                    f[d as usize] = match op {
                        FUnary::Neg => -x,
                        FUnary::Abs => x.abs(),
                        FUnary::Tanh => x.tanh(),
                        FUnary::Sigmoid => arith::sigmoid(x),
                        FUnary::Exp => x.exp(),
                    };
                }
                Ins::F(op, d, l, r) => {
                    f[d as usize] = float_arith(op, f[l as usize], f[r as usize]).map_err(at)?
                }
                Ins::FImm(op, d, l, v) => {
                    f[d as usize] = float_arith(op, f[l as usize], v).map_err(at)?
                }
                Ins::I(op, d, l, r) => {
                    let (x, y) = (i[l as usize], i[r as usize]);
                    let symbol = || match op {
                        Arith::Add => "+",
                        Arith::Sub => "-",
                        Arith::Mul => "*",
                        Arith::Div => "/",
                        Arith::FloorDiv => "//",
                        Arith::Mod => "%",
                        Arith::Max => "max",
                        Arith::Min => "min",
                    };
                    i[d as usize] = match op {
                        Arith::Add => x.checked_add(y),
                        Arith::Sub => x.checked_sub(y),
                        Arith::Mul => x.checked_mul(y),
                        Arith::Max => Some(if y > x { y } else { x }),
                        Arith::Min => Some(if y < x { y } else { x }),
                        Arith::FloorDiv => Some(arith::int_floordiv(x, y).map_err(at)?),
                        Arith::Mod => Some(arith::int_mod(x, y).map_err(at)?),
                        Arith::Div => None,
                    }
                    .ok_or_else(|| at(arith::overflow(symbol())))?;
                }
                Ins::INeg(d, s) => {
                    i[d as usize] = i[s as usize]
                        .checked_neg()
                        .ok_or_else(|| at(arith::overflow("-")))?
                }
                Ins::IAbs(d, s) => {
                    i[d as usize] = i[s as usize]
                        .checked_abs()
                        .ok_or_else(|| at(arith::overflow("abs")))?
                }
                Ins::IDiv(d, l, r) => {
                    f[d as usize] = arith::int_true_div(i[l as usize], i[r as usize]).map_err(at)?
                }
                Ins::FCmp(cmp, d, l, r) => {
                    b[d as usize] = float_cmp(cmp, f[l as usize], f[r as usize])
                }
                Ins::FCmpImm(cmp, d, l, v) => b[d as usize] = float_cmp(cmp, f[l as usize], v),
                Ins::ICmp(cmp, d, l, r) => {
                    b[d as usize] = cmp.holds(Some(i[l as usize].cmp(&i[r as usize])))
                }
                Ins::IFCmp(cmp, d, l, r) => {
                    b[d as usize] = cmp.holds(int_float_order(i[l as usize], f[r as usize]))
                }
                Ins::BCmp(cmp, d, l, r) => {
                    b[d as usize] = cmp.holds(Some(b[l as usize].cmp(&b[r as usize])))
                }
                Ins::BNot(d, s) => b[d as usize] = !b[s as usize],
                Ins::BXor(d, l, r) => b[d as usize] = b[l as usize] != b[r as usize],
                Ins::Lookup {
                    ty,
                    dst,
                    table,
                    index,
                    column,
                } => {
                    let t = &self.tables[table as usize];
                    let at_index = |v: i64| {
                        at(format!(
                            "table index {v} out of range for {} rows (IndexError)",
                            t.rows
                        ))
                    };
                    let v = i[index as usize];
                    let rows = t.rows as i64;
                    let row = if v < 0 { v + rows } else { v };
                    if row < 0 || row >= rows || column as usize >= t.columns {
                        return Err(at_index(v));
                    }
                    let k = row as usize * t.columns + column as usize;
                    let missing = || at("table entry out of range".to_string());
                    match ty {
                        Type::Float => f[dst as usize] = *t.f.get(k).ok_or_else(missing)?,
                        Type::Int => i[dst as usize] = *t.i.get(k).ok_or_else(missing)?,
                        Type::Bool => b[dst as usize] = *t.b.get(k).ok_or_else(missing)?,
                    }
                }
                Ins::JumpIfNot(c, target) => {
                    if !b[c as usize] {
                        pc = target as usize;
                    }
                }
                Ins::JumpIf(c, target) => {
                    if b[c as usize] {
                        pc = target as usize;
                    }
                }
                Ins::Jump(target) => pc = target as usize,
            }
        }
        Ok(())
    }
}

/// A float operation with Python's semantics.
#[inline(always)]
fn float_arith(op: Arith, x: f64, y: f64) -> Result<f64, String> {
    Ok(match op {
        Arith::Add => x + y,
        Arith::Sub => x - y,
        Arith::Mul => x * y,
        Arith::Div if y == 0.0 => return Err("float division by zero (ZeroDivisionError)".into()),
        Arith::Div => x / y,
        Arith::FloorDiv => arith::float_divmod(x, y)?.0,
        Arith::Mod => arith::float_divmod(x, y)?.1,
        Arith::Max if y > x => y,
        Arith::Min if y < x => y,
        Arith::Max | Arith::Min => x,
    })
}

/// A float comparison (IEEE: every comparison with NaN is false except `!=`).
#[inline(always)]
fn float_cmp(comparison: Comparison, x: f64, y: f64) -> bool {
    match comparison {
        Comparison::Less => x < y,
        Comparison::LessOrEqual => x <= y,
        Comparison::Greater => x > y,
        Comparison::GreaterOrEqual => x >= y,
        Comparison::Equal => x == y,
        Comparison::NotEqual => x != y,
    }
}
