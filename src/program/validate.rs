//! The program validator: definition before use and types.

use super::text::name_text;
use super::{
    BinaryOp, Expr, Func, Program, Signature, Stmt, TableId, Type, UnaryOp, VarId, VarKind,
};

/// A broken invariant of the program IR. The message names the block, the statement and the
/// variable or table concerned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid program: {message}")]
pub struct ValidateError {
    pub message: String,
}

/// Checks the invariants listed in the module doc of [`crate::program`]:
/// - handles of variables and tables are in range; every table holds whole rows (at least one
///   column) of literals of its type;
/// - the signature names only `Input` variables, each once, and every `Input` variable is
///   bound by it; a pointwise program has no `State` variable, no `init` and no empty argument;
/// - scoping: `init` sees only what it has assigned so far; `body` sees the inputs, every state
///   variable and the locals it has assigned so far; `outputs` see what `body` sees at its end;
///   `init` assigns every state variable; no statement assigns an input;
/// - every assignment has as many values as targets (at least one), distinct targets, and each
///   value has exactly its target's type;
/// - operand types: `+ - * // %` and unary `-` on `Int`/`Float` (`Float` if either is), `/`
///   gives `Float`, ordering comparisons on numbers, `== !=` on two numbers or two `Bool`s,
///   `and or ^ not` on `Bool`; a conditional has a `Bool` condition and branches of one type (or
///   two numeric types, giving `Float`); a lookup has an `Int` index and a column in range;
///   functions have their arity (`max`/`min` at least one argument) and operand types.
///
/// # Errors
/// The first broken invariant found, in program order.
pub fn validate(program: &Program) -> Result<(), ValidateError> {
    let checker = Checker { program };
    checker.tables()?;
    checker.signature()?;
    let n = program.vars.len();
    let mut visible = vec![false; n];
    checker.block("init", &program.init, &mut visible)?;
    for (i, var) in program.vars.iter().enumerate() {
        if var.kind == VarKind::State && !visible[i] {
            return Err(fail(format!(
                "state variable {} is not assigned in init",
                checker.var_desc(VarId(i as u32))
            )));
        }
    }
    let mut visible: Vec<bool> = program
        .vars
        .iter()
        .map(|v| v.kind != VarKind::Local)
        .collect();
    checker.block("body", &program.body, &mut visible)?;
    for (i, output) in program.outputs.iter().enumerate() {
        checker
            .type_of(output, Some(&visible))
            .map_err(|m| fail(format!("output {i}: {m}")))?;
    }
    Ok(())
}

/// The type of an expression, checking operand types but not scoping.
///
/// # Errors
/// A dangling handle or an operand type that does not fit its operator.
pub fn expr_type(program: &Program, expr: &Expr) -> Result<Type, ValidateError> {
    Checker { program }.type_of(expr, None).map_err(fail)
}

fn fail(message: String) -> ValidateError {
    ValidateError { message }
}

fn is_numeric(ty: Type) -> bool {
    match ty {
        Type::Int | Type::Float => true,
        Type::Bool => false,
    }
}

fn type_name(ty: Type) -> &'static str {
    match ty {
        Type::Int => "int",
        Type::Float => "float",
        Type::Bool => "bool",
    }
}

/// `Int` when both are `Int`, else `Float` (both numeric).
fn promote(a: Type, b: Type) -> Type {
    if a == Type::Int && b == Type::Int {
        Type::Int
    } else {
        Type::Float
    }
}

struct Checker<'p> {
    program: &'p Program,
}

impl Checker<'_> {
    fn var_desc(&self, id: VarId) -> String {
        match self.program.vars.get(id.0 as usize) {
            Some(var) => format!("`{}` (@{})", name_text(&var.name), id.0),
            None => format!("@{}", id.0),
        }
    }

    fn table_desc(&self, id: TableId) -> String {
        match self.program.tables.get(id.0 as usize) {
            Some(table) => format!("`{}` (@{})", name_text(&table.name), id.0),
            None => format!("@{}", id.0),
        }
    }

    fn tables(&self) -> Result<(), ValidateError> {
        for (i, table) in self.program.tables.iter().enumerate() {
            let desc = self.table_desc(TableId(i as u32));
            if table.columns == 0 {
                return Err(fail(format!("table {desc} has no columns")));
            }
            if table.data.len() % table.columns != 0 {
                return Err(fail(format!(
                    "table {desc} has {} entries, not a multiple of its {} columns",
                    table.data.len(),
                    table.columns
                )));
            }
            if let Some(pos) = table.data.iter().position(|l| l.ty() != table.ty) {
                return Err(fail(format!(
                    "table {desc} of {} holds a {} at entry {pos}",
                    type_name(table.ty),
                    type_name(table.data[pos].ty())
                )));
            }
        }
        Ok(())
    }

    fn signature(&self) -> Result<(), ValidateError> {
        let program = self.program;
        let mut bound = vec![false; program.vars.len()];
        let mut bind = |id: VarId, role: &str| -> Result<(), ValidateError> {
            let var = program
                .vars
                .get(id.0 as usize)
                .ok_or_else(|| fail(format!("{role} names unknown variable @{}", id.0)))?;
            if var.kind != VarKind::Input {
                return Err(fail(format!(
                    "{role} names {}, which is not an input variable",
                    self.var_desc(id)
                )));
            }
            if std::mem::replace(&mut bound[id.0 as usize], true) {
                return Err(fail(format!(
                    "{role} binds {} a second time",
                    self.var_desc(id)
                )));
            }
            Ok(())
        };
        match &program.signature {
            Signature::Sequence { step_inputs, .. } => {
                for &id in step_inputs {
                    bind(id, "the step signature")?;
                }
            }
            Signature::Pointwise { arguments } => {
                for argument in arguments {
                    let role = format!("argument `{}`", name_text(&argument.name));
                    if argument.features.is_empty() {
                        return Err(fail(format!("{role} has no features")));
                    }
                    for &id in &argument.features {
                        bind(id, &role)?;
                    }
                }
                if !program.init.is_empty() {
                    return Err(fail("a pointwise program has an init block".to_string()));
                }
                if let Some(i) = program.vars.iter().position(|v| v.kind == VarKind::State) {
                    return Err(fail(format!(
                        "a pointwise program has state variable {}",
                        self.var_desc(VarId(i as u32))
                    )));
                }
            }
        }
        for (i, var) in program.vars.iter().enumerate() {
            if var.kind == VarKind::Input && !bound[i] {
                return Err(fail(format!(
                    "input variable {} is not bound by the signature",
                    self.var_desc(VarId(i as u32))
                )));
            }
        }
        Ok(())
    }

    fn block(&self, name: &str, stmts: &[Stmt], visible: &mut [bool]) -> Result<(), ValidateError> {
        for (index, stmt) in stmts.iter().enumerate() {
            self.stmt(stmt, visible).map_err(|m| {
                let targets = match stmt {
                    Stmt::Assign { targets, .. } => targets
                        .iter()
                        .map(|t| self.var_desc(*t))
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                fail(format!(
                    "{name}, statement {index} (assigning {targets}): {m}"
                ))
            })?;
        }
        Ok(())
    }

    fn stmt(&self, stmt: &Stmt, visible: &mut [bool]) -> Result<(), String> {
        let Stmt::Assign { targets, values } = stmt;
        if targets.is_empty() {
            return Err("assignment has no targets".to_string());
        }
        if targets.len() != values.len() {
            return Err(format!(
                "{} targets but {} values",
                targets.len(),
                values.len()
            ));
        }
        let mut types = Vec::with_capacity(values.len());
        for value in values {
            types.push(self.type_of(value, Some(visible))?);
        }
        for (i, (&target, ty)) in targets.iter().zip(types).enumerate() {
            let var = self
                .program
                .vars
                .get(target.0 as usize)
                .ok_or_else(|| format!("unknown variable @{}", target.0))?;
            if var.kind == VarKind::Input {
                return Err(format!("assigns input variable {}", self.var_desc(target)));
            }
            if targets[..i].contains(&target) {
                return Err(format!("assigns {} twice", self.var_desc(target)));
            }
            if var.ty != ty {
                return Err(format!(
                    "assigns a {} to {} of type {}",
                    type_name(ty),
                    self.var_desc(target),
                    type_name(var.ty)
                ));
            }
        }
        for target in targets {
            visible[target.0 as usize] = true;
        }
        Ok(())
    }

    /// The type of `expr`; with `visible`, also checks that every variable read is in scope.
    fn type_of(&self, expr: &Expr, visible: Option<&[bool]>) -> Result<Type, String> {
        match expr {
            Expr::Lit(literal) => Ok(literal.ty()),
            Expr::Var(id) => {
                let var = self
                    .program
                    .vars
                    .get(id.0 as usize)
                    .ok_or_else(|| format!("unknown variable @{}", id.0))?;
                if visible.is_some_and(|v| !v[id.0 as usize]) {
                    return Err(format!(
                        "reads {} before it is assigned",
                        self.var_desc(*id)
                    ));
                }
                Ok(var.ty)
            }
            Expr::Unary(op, operand) => {
                let ty = self.type_of(operand, visible)?;
                match op {
                    UnaryOp::Neg if is_numeric(ty) => Ok(ty),
                    UnaryOp::Not if ty == Type::Bool => Ok(Type::Bool),
                    UnaryOp::Neg => Err(format!("`-` applied to a {}", type_name(ty))),
                    UnaryOp::Not => Err(format!("`not` applied to a {}", type_name(ty))),
                }
            }
            Expr::Binary(op, left, right) => {
                let l = self.type_of(left, visible)?;
                let r = self.type_of(right, visible)?;
                let symbol = super::text::binary_symbol(*op).0;
                let mismatch = || {
                    format!(
                        "`{symbol}` applied to {} and {}",
                        type_name(l),
                        type_name(r)
                    )
                };
                let numeric = is_numeric(l) && is_numeric(r);
                match op {
                    BinaryOp::Add
                    | BinaryOp::Sub
                    | BinaryOp::Mul
                    | BinaryOp::FloorDiv
                    | BinaryOp::Mod => numeric.then(|| promote(l, r)).ok_or_else(mismatch),
                    BinaryOp::Div => numeric.then_some(Type::Float).ok_or_else(mismatch),
                    BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                        numeric.then_some(Type::Bool).ok_or_else(mismatch)
                    }
                    BinaryOp::Eq | BinaryOp::Ne => (numeric
                        || (l == Type::Bool && r == Type::Bool))
                        .then_some(Type::Bool)
                        .ok_or_else(mismatch),
                    BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => (l == Type::Bool
                        && r == Type::Bool)
                        .then_some(Type::Bool)
                        .ok_or_else(mismatch),
                }
            }
            Expr::Call(func, args) => {
                let types = args
                    .iter()
                    .map(|a| self.type_of(a, visible))
                    .collect::<Result<Vec<_>, _>>()?;
                call_type(*func, &types)
            }
            Expr::Select {
                cond,
                then,
                otherwise,
            } => {
                let c = self.type_of(cond, visible)?;
                if c != Type::Bool {
                    return Err(format!(
                        "conditional has a {} condition, not a bool",
                        type_name(c)
                    ));
                }
                let t = self.type_of(then, visible)?;
                let o = self.type_of(otherwise, visible)?;
                if t == o {
                    Ok(t)
                } else if is_numeric(t) && is_numeric(o) {
                    Ok(Type::Float)
                } else {
                    Err(format!(
                        "conditional has branches of types {} and {}",
                        type_name(t),
                        type_name(o)
                    ))
                }
            }
            Expr::Lookup {
                table,
                index,
                column,
            } => {
                let desc = self.table_desc(*table);
                let t = self
                    .program
                    .tables
                    .get(table.0 as usize)
                    .ok_or_else(|| format!("unknown table {desc}"))?;
                let i = self.type_of(index, visible)?;
                if i != Type::Int {
                    return Err(format!(
                        "table {desc} indexed by a {}, not an int",
                        type_name(i)
                    ));
                }
                if *column >= t.columns {
                    return Err(format!(
                        "column {column} of table {desc}, which has {} columns",
                        t.columns
                    ));
                }
                Ok(t.ty)
            }
        }
    }
}

/// The result type of a built-in function applied to arguments of the given types.
fn call_type(func: Func, args: &[Type]) -> Result<Type, String> {
    let name = super::text::func_name(func);
    let unary = || match args {
        [ty] => Ok(*ty),
        _ => Err(format!("`{name}` takes 1 argument, given {}", args.len())),
    };
    let numeric = |ty: Type| {
        if is_numeric(ty) {
            Ok(ty)
        } else {
            Err(format!("`{name}` applied to a {}", type_name(ty)))
        }
    };
    match func {
        Func::Abs => numeric(unary()?),
        Func::Max | Func::Min => {
            if args.is_empty() {
                return Err(format!("`{name}` needs at least 1 argument"));
            }
            let mut ty = Type::Int;
            for &arg in args {
                ty = promote(ty, numeric(arg)?);
            }
            Ok(ty)
        }
        Func::Tanh | Func::Sigmoid | Func::Exp => numeric(unary()?).map(|_| Type::Float),
        Func::Float => unary().map(|_| Type::Float),
        Func::Int => unary().map(|_| Type::Int),
        Func::Round | Func::Floor => numeric(unary()?).map(|_| Type::Int),
    }
}
