//! Compilation of a validated program to typed register code.
//!
//! Every variable owns a register in the bank of its type (`f64`, `i64` or `bool`); each
//! statement evaluates into temporary registers that follow the variables in each bank. The
//! validator has fixed every expression's type, so each instruction knows its operand types and
//! the interpreter never inspects a value's type at run time.

use super::InterpError;
use crate::program::compare::Comparison;
use crate::program::{BinaryOp, Expr, Func, Literal, Program, Stmt, Type, UnaryOp, VarId};

/// A float operation of one operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FUnary {
    Neg,
    Abs,
    Tanh,
    Sigmoid,
    Exp,
}

/// A float (or int) operation of two operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Max,
    Min,
}

/// One instruction. Register operands index the bank named by the instruction (`F` float,
/// `I` int, `B` bool); jump targets index the code.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ins {
    FConst(u32, f64),
    IConst(u32, i64),
    BConst(u32, bool),
    FMov(u32, u32),
    IMov(u32, u32),
    BMov(u32, u32),
    /// Int to float, bool to float, bool to int.
    IToF(u32, u32),
    BToF(u32, u32),
    BToI(u32, u32),
    /// Float to int by `int()` (truncation), `round()` (half to even) or `floor()`.
    FToI(Func, u32, u32),
    FUnary(FUnary, u32, u32),
    F(Arith, u32, u32, u32),
    /// A float operation whose right operand is a literal.
    FImm(Arith, u32, u32, f64),
    I(Arith, u32, u32, u32),
    INeg(u32, u32),
    IAbs(u32, u32),
    /// Int true division: float destination, int operands.
    IDiv(u32, u32, u32),
    /// Comparisons: bool destination, then the operands.
    FCmp(Comparison, u32, u32, u32),
    FCmpImm(Comparison, u32, u32, f64),
    ICmp(Comparison, u32, u32, u32),
    /// Int (first) against float (second), exactly.
    IFCmp(Comparison, u32, u32, u32),
    BCmp(Comparison, u32, u32, u32),
    BNot(u32, u32),
    BXor(u32, u32, u32),
    /// `dst = table[index][column]` in the bank of the table's type.
    Lookup {
        ty: Type,
        dst: u32,
        table: u32,
        index: u32,
        column: u32,
    },
    JumpIfNot(u32, u32),
    JumpIf(u32, u32),
    Jump(u32),
}

/// Compiled code: instructions and, for each, the statement (or output) it comes from.
#[derive(Debug, Default)]
pub(super) struct Code {
    pub ins: Vec<Ins>,
    pub origin: Vec<u32>,
}

/// A register: its bank (type) and index.
pub(super) type Reg = (Type, u32);

/// Compiles the blocks of one program, tracking how many registers each bank needs.
pub(super) struct Compiler<'p> {
    program: &'p Program,
    /// The register of each variable.
    pub var_regs: Vec<Reg>,
    /// The first temporary of each bank (float, int, bool).
    base: [u32; 3],
    next: [u32; 3],
    /// The size of each bank.
    pub size: [u32; 3],
    code: Code,
    origin: u32,
}

fn bank(ty: Type) -> usize {
    match ty {
        Type::Float => 0,
        Type::Int => 1,
        Type::Bool => 2,
    }
}

fn fail(message: impl Into<String>) -> InterpError {
    InterpError {
        message: message.into(),
    }
}

impl<'p> Compiler<'p> {
    /// A compiler for `program`, which must have passed validation.
    pub fn new(program: &'p Program) -> Self {
        let mut counts = [0u32; 3];
        let var_regs = program
            .vars
            .iter()
            .map(|var| {
                let b = bank(var.ty);
                counts[b] += 1;
                (var.ty, counts[b] - 1)
            })
            .collect();
        Compiler {
            program,
            var_regs,
            base: counts,
            next: counts,
            size: counts,
            code: Code::default(),
            origin: 0,
        }
    }

    /// Compiles a block of statements.
    pub fn block(&mut self, stmts: &[Stmt]) -> Result<Code, InterpError> {
        for (index, stmt) in stmts.iter().enumerate() {
            self.origin = index as u32;
            self.next = self.base;
            let Stmt::Assign { targets, values } = stmt;
            if let ([target], [value]) = (targets.as_slice(), values.as_slice()) {
                let dst = self.var(*target)?;
                let got = self.value(value, Some(dst))?;
                self.mov(dst, got)?;
                continue;
            }
            // Parallel assignment: every value lands in a temporary before any target changes.
            let mut temps = Vec::with_capacity(values.len());
            for value in values {
                let got = self.value(value, None)?;
                let temp = self.temp(got.0);
                self.mov(temp, got)?;
                temps.push(temp);
            }
            for (target, temp) in targets.iter().zip(temps) {
                let dst = self.var(*target)?;
                self.mov(dst, temp)?;
            }
        }
        Ok(std::mem::take(&mut self.code))
    }

    /// Compiles the outputs; returns the code and the register holding each output.
    pub fn outputs(&mut self, outputs: &[Expr]) -> Result<(Code, Vec<Reg>), InterpError> {
        self.next = self.base;
        let mut regs = Vec::with_capacity(outputs.len());
        for (index, output) in outputs.iter().enumerate() {
            self.origin = index as u32;
            regs.push(self.value(output, None)?);
        }
        Ok((std::mem::take(&mut self.code), regs))
    }

    fn var(&self, id: VarId) -> Result<Reg, InterpError> {
        self.var_regs
            .get(id.0 as usize)
            .copied()
            .ok_or_else(|| fail(format!("unknown variable @{}", id.0)))
    }

    fn temp(&mut self, ty: Type) -> Reg {
        let b = bank(ty);
        let reg = self.next[b];
        self.next[b] += 1;
        self.size[b] = self.size[b].max(self.next[b]);
        (ty, reg)
    }

    fn emit(&mut self, ins: Ins) {
        self.code.ins.push(ins);
        self.code.origin.push(self.origin);
    }

    fn here(&self) -> u32 {
        self.code.ins.len() as u32
    }

    /// `dst = src`, converting an int to a float where the destination is a float.
    fn mov(&mut self, dst: Reg, src: Reg) -> Result<(), InterpError> {
        if dst == src {
            return Ok(());
        }
        let ins = match (dst.0, src.0) {
            (Type::Float, Type::Float) => Ins::FMov(dst.1, src.1),
            (Type::Int, Type::Int) => Ins::IMov(dst.1, src.1),
            (Type::Bool, Type::Bool) => Ins::BMov(dst.1, src.1),
            (Type::Float, Type::Int) => Ins::IToF(dst.1, src.1),
            (Type::Float, Type::Bool) | (Type::Int, _) | (Type::Bool, _) => {
                return Err(fail("internal error: ill-typed move"))
            }
        };
        self.emit(ins);
        Ok(())
    }

    /// `src` as a float register (converting an int into a new temporary).
    fn float(&mut self, src: Reg) -> Result<u32, InterpError> {
        if src.0 == Type::Float {
            return Ok(src.1);
        }
        let temp = self.temp(Type::Float);
        self.mov(temp, src)?;
        Ok(temp.1)
    }

    /// The destination for a result of type `ty`: the hint when it has that type (the caller
    /// guarantees that writing it last is safe), else a new temporary.
    fn dst(&mut self, ty: Type, hint: Option<Reg>) -> Reg {
        match hint {
            Some(reg) if reg.0 == ty => reg,
            _ => self.temp(ty),
        }
    }

    /// Compiles `expr`; returns the register that holds its value (a variable's own register,
    /// the hint, or a temporary).
    fn value(&mut self, expr: &Expr, hint: Option<Reg>) -> Result<Reg, InterpError> {
        match expr {
            Expr::Lit(literal) => {
                let dst = self.dst(literal.ty(), hint);
                self.emit(match *literal {
                    Literal::Float(v) => Ins::FConst(dst.1, v),
                    Literal::Int(v) => Ins::IConst(dst.1, v),
                    Literal::Bool(v) => Ins::BConst(dst.1, v),
                });
                Ok(dst)
            }
            Expr::Var(id) => self.var(*id),
            Expr::Unary(op, operand) => {
                let src = self.value(operand, None)?;
                let dst = self.dst(src.0, hint);
                self.emit(match (op, src.0) {
                    (UnaryOp::Neg, Type::Float) => Ins::FUnary(FUnary::Neg, dst.1, src.1),
                    (UnaryOp::Neg, Type::Int) => Ins::INeg(dst.1, src.1),
                    (UnaryOp::Not, Type::Bool) => Ins::BNot(dst.1, src.1),
                    (UnaryOp::Neg, Type::Bool) | (UnaryOp::Not, _) => {
                        return Err(fail("internal error: ill-typed unary operator"))
                    }
                });
                Ok(dst)
            }
            Expr::Binary(op @ (BinaryOp::And | BinaryOp::Or), left, right) => {
                // Python evaluates the right operand only when the left does not decide. The
                // result goes to a fresh temporary, since the right operand may read the
                // statement's target.
                let dst = self.temp(Type::Bool);
                let l = self.value(left, None)?;
                self.mov(dst, l)?;
                let jump = self.code.ins.len();
                self.emit(Ins::Jump(0));
                let r = self.value(right, None)?;
                self.mov(dst, r)?;
                let end = self.here();
                self.code.ins[jump] = if *op == BinaryOp::And {
                    Ins::JumpIfNot(dst.1, end)
                } else {
                    Ins::JumpIf(dst.1, end)
                };
                Ok(dst)
            }
            Expr::Binary(op, left, right) => {
                let l = self.value(left, None)?;
                if let (Type::Float, Expr::Lit(Literal::Float(v))) = (l.0, right.as_ref()) {
                    if let Some(ins) = self.binary_imm(*op, l.1, *v, hint) {
                        return Ok(ins);
                    }
                }
                let r = self.value(right, None)?;
                self.binary(*op, l, r, hint)
            }
            Expr::Call(func, args) => {
                let mut regs = Vec::with_capacity(args.len());
                for arg in args {
                    regs.push(self.value(arg, None)?);
                }
                self.call(*func, &regs, hint)
            }
            Expr::Select {
                cond,
                then,
                otherwise,
            } => {
                let c = self.value(cond, None)?;
                let to_else = self.code.ins.len();
                self.emit(Ins::Jump(0));
                // Each branch may write the hint last, as a whole expression would.
                let t = self.value(then, hint)?;
                // The result type is known only once both branches are compiled; the move at
                // the end of this branch is patched then.
                let then_move = self.code.ins.len();
                self.emit(Ins::Jump(0));
                let to_end = self.code.ins.len();
                self.emit(Ins::Jump(0));
                self.code.ins[to_else] = Ins::JumpIfNot(c.1, self.here());
                let o = self.value(otherwise, hint)?;
                let ty = if t.0 == o.0 { t.0 } else { Type::Float };
                let dst = self.dst(ty, hint);
                self.mov(dst, o)?;
                self.code.ins[to_end] = Ins::Jump(self.here());
                // Replace the placeholder with the branch's move, or a jump over nothing.
                let patch = {
                    let before = self.code.ins.len();
                    self.mov(dst, t)?;
                    if self.code.ins.len() > before {
                        self.code.origin.pop();
                        self.code.ins.pop()
                    } else {
                        None
                    }
                };
                self.code.ins[then_move] = patch.unwrap_or(Ins::Jump(then_move as u32 + 1));
                Ok(dst)
            }
            Expr::Lookup {
                table,
                index,
                column,
            } => {
                let ty = self
                    .program
                    .tables
                    .get(table.0 as usize)
                    .map(|t| t.ty)
                    .ok_or_else(|| fail(format!("unknown table @{}", table.0)))?;
                let index = self.value(index, None)?;
                let dst = self.dst(ty, hint);
                let column = u32::try_from(*column).map_err(|_| fail("column out of range"))?;
                self.emit(Ins::Lookup {
                    ty,
                    dst: dst.1,
                    table: table.0,
                    index: index.1,
                    column,
                });
                Ok(dst)
            }
        }
    }

    /// A float operation with a literal right operand, when `op` has such a form.
    fn binary_imm(&mut self, op: BinaryOp, l: u32, v: f64, hint: Option<Reg>) -> Option<Reg> {
        if let Some(comparison) = op.comparison() {
            let dst = self.dst(Type::Bool, hint);
            self.emit(Ins::FCmpImm(comparison, dst.1, l, v));
            return Some(dst);
        }
        let arith = arith_of(op)?;
        let dst = self.dst(Type::Float, hint);
        self.emit(Ins::FImm(arith, dst.1, l, v));
        Some(dst)
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        l: Reg,
        r: Reg,
        hint: Option<Reg>,
    ) -> Result<Reg, InterpError> {
        if let Some(arith) = arith_of(op) {
            if l.0 == Type::Int && r.0 == Type::Int {
                if arith == Arith::Div {
                    let dst = self.dst(Type::Float, hint);
                    self.emit(Ins::IDiv(dst.1, l.1, r.1));
                    return Ok(dst);
                }
                let dst = self.dst(Type::Int, hint);
                self.emit(Ins::I(arith, dst.1, l.1, r.1));
                return Ok(dst);
            }
            let (a, b) = (self.float(l)?, self.float(r)?);
            let dst = self.dst(Type::Float, hint);
            self.emit(Ins::F(arith, dst.1, a, b));
            return Ok(dst);
        }
        let dst = self.dst(Type::Bool, hint);
        if op == BinaryOp::Xor {
            self.emit(Ins::BXor(dst.1, l.1, r.1));
            return Ok(dst);
        }
        let comparison = op
            .comparison()
            .ok_or_else(|| fail("internal error: misrouted operator"))?;
        let ins = match (l.0, r.0) {
            (Type::Float, Type::Float) => Ins::FCmp(comparison, dst.1, l.1, r.1),
            (Type::Int, Type::Int) => Ins::ICmp(comparison, dst.1, l.1, r.1),
            (Type::Int, Type::Float) => Ins::IFCmp(comparison, dst.1, l.1, r.1),
            (Type::Float, Type::Int) => Ins::IFCmp(comparison.mirror(), dst.1, r.1, l.1),
            (Type::Bool, Type::Bool) => Ins::BCmp(comparison, dst.1, l.1, r.1),
            (Type::Bool, _) | (_, Type::Bool) => {
                return Err(fail("internal error: ill-typed comparison"))
            }
        };
        self.emit(ins);
        Ok(dst)
    }

    fn call(&mut self, func: Func, args: &[Reg], hint: Option<Reg>) -> Result<Reg, InterpError> {
        let arity = || fail("internal error: wrong number of arguments");
        match func {
            Func::Max | Func::Min => {
                let (first, rest) = args.split_first().ok_or_else(arity)?;
                let all_int = args.iter().all(|a| a.0 == Type::Int);
                let ty = if all_int { Type::Int } else { Type::Float };
                let op = if func == Func::Max {
                    Arith::Max
                } else {
                    Arith::Min
                };
                // The running best lives in a temporary: an argument may be the target.
                let acc = self.temp(ty);
                self.mov(acc, *first)?;
                for arg in rest {
                    let ins = if all_int {
                        Ins::I(op, acc.1, acc.1, arg.1)
                    } else {
                        let b = self.float(*arg)?;
                        Ins::F(op, acc.1, acc.1, b)
                    };
                    self.emit(ins);
                }
                Ok(acc)
            }
            Func::Abs
            | Func::Tanh
            | Func::Sigmoid
            | Func::Exp
            | Func::Float
            | Func::Int
            | Func::Round
            | Func::Floor => {
                let [src] = args else {
                    return Err(arity());
                };
                let src = *src;
                let float_op = |op| (Type::Float, Some(op));
                let (ty, op) = match func {
                    Func::Abs => (src.0, Some(FUnary::Abs)),
                    Func::Tanh => float_op(FUnary::Tanh),
                    Func::Sigmoid => float_op(FUnary::Sigmoid),
                    Func::Exp => float_op(FUnary::Exp),
                    Func::Float => (Type::Float, None),
                    Func::Int | Func::Round | Func::Floor | Func::Max | Func::Min => {
                        (Type::Int, None)
                    }
                };
                let dst = self.dst(ty, hint);
                let ins = match (func, src.0, op) {
                    (Func::Abs, Type::Int, _) => Ins::IAbs(dst.1, src.1),
                    (_, _, Some(op)) => {
                        let a = self.float(src)?;
                        Ins::FUnary(op, dst.1, a)
                    }
                    (_, Type::Bool, None) if ty == Type::Float => Ins::BToF(dst.1, src.1),
                    (_, Type::Bool, None) => Ins::BToI(dst.1, src.1),
                    (_, Type::Float, None) if ty == Type::Float => Ins::FMov(dst.1, src.1),
                    (_, Type::Float, None) => Ins::FToI(func, dst.1, src.1),
                    (_, Type::Int, None) if ty == Type::Float => Ins::IToF(dst.1, src.1),
                    (_, Type::Int, None) => Ins::IMov(dst.1, src.1),
                };
                self.emit(ins);
                Ok(dst)
            }
        }
    }
}

/// The register operation of an arithmetic operator; `None` for comparisons and Boolean
/// operators.
fn arith_of(op: BinaryOp) -> Option<Arith> {
    Some(match op {
        BinaryOp::Add => Arith::Add,
        BinaryOp::Sub => Arith::Sub,
        BinaryOp::Mul => Arith::Mul,
        BinaryOp::Div => Arith::Div,
        BinaryOp::FloorDiv => Arith::FloorDiv,
        BinaryOp::Mod => Arith::Mod,
        BinaryOp::Lt
        | BinaryOp::Le
        | BinaryOp::Gt
        | BinaryOp::Ge
        | BinaryOp::Eq
        | BinaryOp::Ne
        | BinaryOp::And
        | BinaryOp::Or
        | BinaryOp::Xor => return None,
    })
}
