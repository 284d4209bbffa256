//! The printer of the text form: a writer with a precedence table and stable labels.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::is_plain_ident;
use crate::program::{
    BinaryOp, Expr, Func, Literal, LoopDirection, Program, Signature, Stmt, Table, Type, UnaryOp,
    VarKind,
};

/// Prints a program in its text form; [`super::parse`] reads it back to an equal program.
///
/// Never fails: an invalid program (dangling handles, ragged tables, mismatched assignments)
/// prints too, in a form that parses back to the same program.
pub fn print(program: &Program) -> String {
    let Program {
        vars,
        tables,
        signature,
        init,
        body,
        outputs,
    } = program;
    let printer = Printer {
        var_labels: labels(vars.iter().map(|v| v.name.as_str())),
        table_labels: labels(tables.iter().map(|t| t.name.as_str())),
    };
    let mut out = String::new();
    printer.signature(&mut out, signature);
    for (var, label) in vars.iter().zip(&printer.var_labels) {
        let kind = match var.kind {
            VarKind::Input => "input",
            VarKind::State => "state",
            VarKind::Local => "local",
        };
        let _ = writeln!(out, "{kind} {label}: {}", type_name(var.ty));
    }
    for (table, label) in tables.iter().zip(&printer.table_labels) {
        printer.table(&mut out, table, label);
    }
    if !init.is_empty() {
        printer.block(&mut out, "init", init);
    }
    printer.block(&mut out, "body", body);
    out.push_str("output ");
    printer.expr_list(&mut out, outputs);
    out.push('\n');
    out
}

/// The text of a type.
pub(crate) fn type_name(ty: Type) -> &'static str {
    match ty {
        Type::Int => "int",
        Type::Float => "float",
        Type::Bool => "bool",
    }
}

/// The name of a built-in function as written in calls.
pub(crate) fn func_name(func: Func) -> &'static str {
    match func {
        Func::Abs => "abs",
        Func::Max => "max",
        Func::Min => "min",
        Func::Tanh => "tanh",
        Func::Sigmoid => "sigmoid",
        Func::Exp => "exp",
        Func::Float => "float",
        Func::Int => "int",
        Func::Round => "round",
        Func::Floor => "floor",
    }
}

/// A literal's text: shortest round-trip floats, `inf`, `-inf`, `nan`.
pub(crate) fn literal_text(literal: Literal) -> String {
    match literal {
        Literal::Int(v) => v.to_string(),
        Literal::Float(v) if v.is_nan() => "nan".to_string(),
        Literal::Float(v) if v.is_infinite() => {
            if v > 0.0 {
                "inf".to_string()
            } else {
                "-inf".to_string()
            }
        }
        Literal::Float(v) => format!("{v:?}"),
        Literal::Bool(v) => v.to_string(),
    }
}

/// A name as a plain identifier when possible, else as a quoted, escaped string.
pub(crate) fn name_text(name: &str) -> String {
    if is_plain_ident(name) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            ' '..='~' => out.push(c),
            _ => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// One label per arena entry: the bare name when it is unique, else the name and the handle.
fn labels<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names.clone() {
        *counts.entry(name).or_default() += 1;
    }
    names
        .enumerate()
        .map(|(index, name)| {
            if counts.get(name).copied().unwrap_or(0) > 1 {
                format!("{}@{index}", name_text(name))
            } else {
                name_text(name)
            }
        })
        .collect()
}

/// Binding strength of an expression form; a higher level binds tighter.
mod level {
    pub const SELECT: u8 = 0;
    pub const OR: u8 = 1;
    pub const AND: u8 = 2;
    pub const NOT: u8 = 3;
    pub const COMPARE: u8 = 4;
    pub const XOR: u8 = 5;
    pub const SUM: u8 = 6;
    pub const PRODUCT: u8 = 7;
    pub const UNARY: u8 = 8;
    pub const ATOM: u8 = 9;
}

/// The symbol and binding level of a binary operator.
pub(crate) fn binary_symbol(op: BinaryOp) -> (&'static str, u8) {
    match op {
        BinaryOp::Add => ("+", level::SUM),
        BinaryOp::Sub => ("-", level::SUM),
        BinaryOp::Mul => ("*", level::PRODUCT),
        BinaryOp::Div => ("/", level::PRODUCT),
        BinaryOp::FloorDiv => ("//", level::PRODUCT),
        BinaryOp::Mod => ("%", level::PRODUCT),
        BinaryOp::Lt => ("<", level::COMPARE),
        BinaryOp::Le => ("<=", level::COMPARE),
        BinaryOp::Gt => (">", level::COMPARE),
        BinaryOp::Ge => (">=", level::COMPARE),
        BinaryOp::Eq => ("==", level::COMPARE),
        BinaryOp::Ne => ("!=", level::COMPARE),
        BinaryOp::And => ("and", level::AND),
        BinaryOp::Or => ("or", level::OR),
        BinaryOp::Xor => ("^", level::XOR),
    }
}

struct Printer {
    var_labels: Vec<String>,
    table_labels: Vec<String>,
}

impl Printer {
    fn var(&self, index: u32) -> String {
        match self.var_labels.get(index as usize) {
            Some(label) => label.clone(),
            None => format!("@{index}"),
        }
    }

    fn table_ref(&self, index: u32) -> String {
        match self.table_labels.get(index as usize) {
            Some(label) => label.clone(),
            None => format!("@{index}"),
        }
    }

    fn var_list(&self, out: &mut String, vars: &[crate::program::VarId]) {
        for (i, var) in vars.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&self.var(var.0));
        }
    }

    fn signature(&self, out: &mut String, signature: &Signature) {
        match signature {
            Signature::Sequence {
                step_inputs,
                direction,
            } => {
                let direction = match direction {
                    LoopDirection::Forward => "forward",
                    LoopDirection::Reverse => "reverse",
                };
                let _ = write!(out, "program sequence {direction} (");
                self.var_list(out, step_inputs);
                out.push_str(")\n");
            }
            Signature::Pointwise { arguments } => {
                out.push_str("program pointwise (");
                for (i, argument) in arguments.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{}: [", name_text(&argument.name));
                    self.var_list(out, &argument.features);
                    out.push(']');
                }
                out.push_str(")\n");
            }
        }
    }

    fn table(&self, out: &mut String, table: &Table, label: &str) {
        let _ = write!(
            out,
            "table {label}: {}[{} x {}] = [",
            type_name(table.ty),
            table.rows(),
            table.columns
        );
        if table.data.is_empty() {
            out.push_str("]\n");
            return;
        }
        out.push('\n');
        // Rows are presentation only (the parser flattens them), so a table with no columns
        // prints its data as one row.
        let width = if table.columns == 0 {
            table.data.len()
        } else {
            table.columns
        };
        for row in table.data.chunks(width) {
            out.push_str("  [");
            for (i, value) in row.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&literal_text(*value));
            }
            out.push_str("],\n");
        }
        out.push_str("]\n");
    }

    fn block(&self, out: &mut String, keyword: &str, stmts: &[Stmt]) {
        let _ = writeln!(out, "{keyword} {{");
        for stmt in stmts {
            out.push_str("  ");
            self.stmt(out, stmt);
            out.push('\n');
        }
        out.push_str("}\n");
    }

    fn stmt(&self, out: &mut String, stmt: &Stmt) {
        match stmt {
            Stmt::Assign { targets, values } => {
                if targets.is_empty() {
                    out.push_str("()");
                } else {
                    self.var_list(out, targets);
                }
                out.push_str(" = ");
                self.expr_list(out, values);
            }
        }
    }

    fn expr_list(&self, out: &mut String, exprs: &[Expr]) {
        if exprs.is_empty() {
            out.push_str("()");
        }
        for (i, expr) in exprs.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.expr(out, expr, level::SELECT);
        }
    }

    /// Writes `expr`, parenthesised when it binds more loosely than `min_level`.
    fn expr(&self, out: &mut String, expr: &Expr, min_level: u8) {
        let own = expr_level(expr);
        let paren = own < min_level;
        if paren {
            out.push('(');
        }
        match expr {
            Expr::Lit(literal) => out.push_str(&literal_text(*literal)),
            Expr::Var(var) => out.push_str(&self.var(var.0)),
            Expr::Unary(UnaryOp::Neg, operand) => {
                out.push('-');
                // `-` followed by a non-negative number would read as one negative literal.
                let glued = match operand.as_ref() {
                    Expr::Lit(lit @ (Literal::Int(_) | Literal::Float(_))) => {
                        let text = literal_text(*lit);
                        text.starts_with(|c: char| c.is_ascii_digit()) || text == "inf"
                    }
                    _ => false,
                };
                self.expr(
                    out,
                    operand,
                    if glued { level::ATOM + 1 } else { level::UNARY },
                );
            }
            Expr::Unary(UnaryOp::Not, operand) => {
                out.push_str("not ");
                self.expr(out, operand, level::NOT);
            }
            Expr::Binary(op, left, right) => {
                let (symbol, own) = binary_symbol(*op);
                // Comparisons do not chain; every other operator associates to the left.
                let left_level = if own == level::COMPARE { own + 1 } else { own };
                self.expr(out, left, left_level);
                let _ = write!(out, " {symbol} ");
                self.expr(out, right, own + 1);
            }
            Expr::Call(func, args) => {
                out.push_str(func_name(*func));
                out.push('(');
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.expr(out, arg, level::SELECT);
                }
                out.push(')');
            }
            Expr::Select {
                cond,
                then,
                otherwise,
            } => {
                self.expr(out, then, level::OR);
                out.push_str(" if ");
                self.expr(out, cond, level::OR);
                out.push_str(" else ");
                self.expr(out, otherwise, level::SELECT);
            }
            Expr::Lookup {
                table,
                index,
                column,
            } => {
                out.push_str(&self.table_ref(table.0));
                out.push('[');
                self.expr(out, index, level::SELECT);
                let _ = write!(out, "][{column}]");
            }
        }
        if paren {
            out.push(')');
        }
    }
}

/// The binding level of an expression's outermost form.
fn expr_level(expr: &Expr) -> u8 {
    match expr {
        Expr::Lit(_) | Expr::Var(_) | Expr::Call(..) | Expr::Lookup { .. } => level::ATOM,
        Expr::Unary(UnaryOp::Neg, _) => level::UNARY,
        Expr::Unary(UnaryOp::Not, _) => level::NOT,
        Expr::Binary(op, ..) => binary_symbol(*op).1,
        Expr::Select { .. } => level::SELECT,
    }
}
