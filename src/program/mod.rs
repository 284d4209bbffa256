//! The program IR: the scalar program that the Python backend prints.
//!
//! # Shape of the IR
//! A [`Program`] is a function over scalars: typed variables ([`Var`], in an arena addressed by
//! [`VarId`]), constant tables ([`Table`], addressed by [`TableId`]), statements and expressions.
//! Types are [`Type::Int`], [`Type::Float`] and [`Type::Bool`].
//!
//! A program has one of two [`Signature`]s:
//! - *Sequence*: `predict(seq)` takes a list of steps. `init` runs once and must assign every
//!   state variable; then for each step (front to back, or back to front for
//!   [`LoopDirection::Reverse`]) the step's features are bound to `step_inputs`, `body` runs, and
//!   `outputs` are evaluated and stored as the output of that step (at the step's own position).
//!   State variables keep their values from one step to the next.
//! - *Pointwise*: `predict(a, b, ...)` binds each argument's features to its variables, runs
//!   `body` once and returns `outputs`.
//!
//! # Evaluation order and scoping
//! Statements run in order. An [`Stmt::Assign`] evaluates all its right-hand sides first, then
//! assigns all its targets (a parallel assignment, as Python's `a, b = b, a`). A local variable is
//! visible from its first assignment to the end of the block that assigned it (the body is one
//! block; `init` is another). Inputs are visible everywhere in `body` and `outputs`; state variables
//! everywhere after `init`.
//!
//! # Arithmetic
//! `Int` is a mathematical integer (Python `int`), `Float` an IEEE double. Mixed `Int`/`Float`
//! arithmetic promotes to `Float`. `FloorDiv` and `Mod` follow Python (floor). Comparisons give
//! `Bool`; `Bool` is not arithmetic (convert with [`Func::Float`] or [`Func::Int`]).
//!
//! # Comparisons
//! [`compare`] holds the comparison operators' semantics (which ordering satisfies each, the
//! exact order of an int and a float) that the interpreter and the back end share.
//!
//! # What `validate` enforces
//! See [`validate::validate`]: every variable is assigned before use in its scope, every state
//! variable is initialised, operand types fit each operator, table lookups are in range of the
//! table's columns, and each variable keeps one type.

pub mod compare;
pub mod interp;
pub mod metrics;
pub mod text;
pub mod validate;

/// The type of a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    Int,
    Float,
    Bool,
}

/// Handle of a variable in [`Program::vars`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub u32);

/// Handle of a table in [`Program::tables`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId(pub u32);

/// The role a variable plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VarKind {
    /// A feature of the current step (sequence) or of an argument (pointwise).
    Input,
    /// Carried from one step to the next.
    State,
    /// A temporary inside a block.
    Local,
}

/// A variable. `name` is a hint (possibly from the model, never trusted): the backend allocates
/// the printed identifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub name: String,
    pub ty: Type,
    pub kind: VarKind,
}

/// A constant table of scalars, indexed `table[row][column]` (embedding matrices, transition
/// tables).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub ty: Type,
    pub columns: usize,
    /// Row-major: `rows * columns` entries.
    pub data: Vec<Literal>,
}

impl Table {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.columns).unwrap_or(0)
    }
}

/// A constant scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Literal {
    /// The literal's type.
    pub fn ty(&self) -> Type {
        match self {
            Literal::Int(_) => Type::Int,
            Literal::Float(_) => Type::Float,
            Literal::Bool(_) => Type::Bool,
        }
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// Arithmetic negation.
    Neg,
    /// Boolean negation.
    Not,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// True division: the result is always `Float`.
    Div,
    /// Python `//` (floor).
    FloorDiv,
    /// Python `%` (sign of the divisor).
    Mod,
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

/// Built-in functions. All are pure and total on finite inputs except where noted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    /// `abs(x)`.
    Abs,
    /// n-ary maximum and minimum (at least one argument).
    Max,
    Min,
    /// `math.tanh`.
    Tanh,
    /// Logistic function, computed without overflow for any finite input.
    Sigmoid,
    /// `math.exp`; overflows to +inf rather than raising.
    Exp,
    /// Conversion to `Float` (from `Int` or `Bool`).
    Float,
    /// Conversion to `Int`: truncation toward zero from `Float`, 0/1 from `Bool`.
    Int,
    /// Round half to even, to `Int`.
    Round,
    /// Floor, to `Int`.
    Floor,
}

/// An expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(Literal),
    Var(VarId),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    /// `then if cond else otherwise`.
    Select {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `table[index][column]`; `index` must be an `Int`; negative indices count from the end as
    /// in Python.
    Lookup {
        table: TableId,
        index: Box<Expr>,
        column: usize,
    },
}

impl Expr {
    /// `op operand`.
    pub fn unary(op: UnaryOp, operand: Expr) -> Expr {
        Expr::Unary(op, Box::new(operand))
    }

    /// `left op right`.
    pub fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
        Expr::Binary(op, Box::new(left), Box::new(right))
    }

    /// `then if cond else otherwise`.
    pub fn select(cond: Expr, then: Expr, otherwise: Expr) -> Expr {
        Expr::Select {
            cond: Box::new(cond),
            then: Box::new(then),
            otherwise: Box::new(otherwise),
        }
    }

    /// The same node with `rewrite` applied to each of its direct operands (left to right);
    /// literals and variables are returned as they are.
    pub fn map_operands(&self, mut rewrite: impl FnMut(&Expr) -> Expr) -> Expr {
        match self {
            Expr::Lit(_) | Expr::Var(_) => self.clone(),
            Expr::Unary(op, operand) => Expr::unary(*op, rewrite(operand)),
            Expr::Binary(op, left, right) => {
                let left = rewrite(left);
                Expr::binary(*op, left, rewrite(right))
            }
            Expr::Call(func, args) => Expr::Call(*func, args.iter().map(rewrite).collect()),
            Expr::Select {
                cond,
                then,
                otherwise,
            } => {
                let cond = rewrite(cond);
                let then = rewrite(then);
                Expr::select(cond, then, rewrite(otherwise))
            }
            Expr::Lookup {
                table,
                index,
                column,
            } => Expr::Lookup {
                table: *table,
                index: Box::new(rewrite(index)),
                column: *column,
            },
        }
    }

    /// Calls `visit` on each direct operand, left to right.
    pub fn for_each_operand<'e>(&'e self, mut visit: impl FnMut(&'e Expr)) {
        match self {
            Expr::Lit(_) | Expr::Var(_) => {}
            Expr::Unary(_, operand) => visit(operand),
            Expr::Binary(_, left, right) => {
                visit(left);
                visit(right);
            }
            Expr::Call(_, args) => args.iter().for_each(visit),
            Expr::Select {
                cond,
                then,
                otherwise,
            } => {
                visit(cond);
                visit(then);
                visit(otherwise);
            }
            Expr::Lookup { index, .. } => visit(index),
        }
    }

    /// Calls `visit` on every variable the expression reads, left to right (a variable read
    /// twice is visited twice).
    pub fn for_each_var(&self, mut visit: impl FnMut(VarId)) {
        fn walk(expr: &Expr, visit: &mut impl FnMut(VarId)) {
            if let Expr::Var(id) = expr {
                visit(*id);
            }
            expr.for_each_operand(|operand| walk(operand, visit));
        }
        walk(self, &mut visit);
    }

    /// Number of nodes of the expression tree (literals and variables count one each).
    pub fn node_count(&self) -> usize {
        let mut count = 1;
        self.for_each_operand(|operand| count += operand.node_count());
        count
    }
}

/// A statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// Parallel assignment: `targets[i] = values[i]`, all values evaluated first.
    Assign {
        targets: Vec<VarId>,
        values: Vec<Expr>,
    },
}

/// Order in which a sequence program visits the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoopDirection {
    Forward,
    Reverse,
}

/// One argument of a pointwise program: its features, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Argument {
    /// Name hint for the parameter (possibly from the model; never trusted).
    pub name: String,
    /// One variable per feature; a single feature means the argument is a plain number.
    pub features: Vec<VarId>,
}

/// How the program is called.
#[derive(Debug, Clone, PartialEq)]
pub enum Signature {
    /// `predict(seq)`: one list of steps; each step has `step_inputs.len()` features (a number
    /// when 1, else a tuple); each output is a number when `outputs.len() == 1`, else a tuple.
    Sequence {
        step_inputs: Vec<VarId>,
        direction: LoopDirection,
    },
    /// `predict(a, b, ...)`: one argument per model input; returns a number when there is one
    /// output, else a tuple.
    Pointwise { arguments: Vec<Argument> },
}

/// A whole program.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub vars: Vec<Var>,
    pub tables: Vec<Table>,
    pub signature: Signature,
    /// Runs once before the loop (sequence programs); empty for pointwise programs.
    pub init: Vec<Stmt>,
    /// The loop body (sequence) or the function body (pointwise).
    pub body: Vec<Stmt>,
    /// The values returned per step (sequence) or once (pointwise).
    pub outputs: Vec<Expr>,
}

impl Program {
    /// A program with `signature` and nothing else yet: no variables, tables, statements or
    /// outputs (add them, then set the signature's variables).
    pub fn new(signature: Signature) -> Program {
        Program {
            vars: Vec::new(),
            tables: Vec::new(),
            signature,
            init: Vec::new(),
            body: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// The variable behind a handle.
    pub fn var(&self, id: VarId) -> &Var {
        &self.vars[id.0 as usize]
    }

    /// The table behind a handle.
    pub fn table(&self, id: TableId) -> &Table {
        &self.tables[id.0 as usize]
    }

    /// Appends a variable and returns its handle.
    pub fn add_var(&mut self, name: impl Into<String>, ty: Type, kind: VarKind) -> VarId {
        let id = VarId(self.vars.len() as u32);
        self.vars.push(Var {
            name: name.into(),
            ty,
            kind,
        });
        id
    }

    /// Appends a table and returns its handle.
    pub fn add_table(&mut self, table: Table) -> TableId {
        let id = TableId(self.tables.len() as u32);
        self.tables.push(table);
        id
    }
}
