//! The module writer: names, then statements, then the module text in reading order
//! (docstring, import, tables, helpers, `predict`).

use std::collections::BTreeSet;

use super::doc::{INDENT_WIDTH, LINE_WIDTH};
use super::layout::{write_block, write_table};
use super::literal::{escape_docstring_line, float_repr};
use super::names::Names;
use super::precedence::{Lowering, Uses};
use super::syntax::{PyExpr, PyStmt};
use super::tidy::tidy_program;
use super::{Header, PythonError};
use crate::diag::Location;
use crate::program::{Expr, Literal, LoopDirection, Program, Signature, Stmt, Table, VarId};

const SIGMOID_HELPER: &str = "\
def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)
";

const EXP_HELPER: &str = "\
def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf
";

/// Writes the whole module; see [`super::write_module`].
pub(crate) fn write(program: &Program, header: &Header) -> Result<String, PythonError> {
    check_handles(program)?;
    let tidied = tidy_program(program);
    let program = &tidied;
    let usage = Usage::of(program);
    usage.check_bound(program)?;

    let mut names = Names::new();
    let table_names: Vec<String> = program
        .tables
        .iter()
        .map(|t| names.table(&t.name))
        .collect();
    let var_names: Vec<String> = program
        .vars
        .iter()
        .enumerate()
        .map(|(index, var)| {
            // Inputs too: an unread input is unpacked from a tuple, where linters want it marked.
            if !usage.read.contains(&index) {
                names.unused_variable(&var.name, "v")
            } else {
                names.variable(&var.name, "v")
            }
        })
        .collect();

    let mut lowering = Lowering {
        program,
        var_names: &var_names,
        table_names: &table_names,
        uses: Uses::default(),
    };
    let predict = predict_function(program, &mut lowering, &mut names)?;
    let mut uses = lowering.uses;
    let rows = program
        .tables
        .iter()
        .map(table_rows)
        .collect::<Result<Vec<_>, _>>()?;
    if rows
        .iter()
        .flatten()
        .flatten()
        .any(|cell| cell.contains("math."))
    {
        uses.math = true;
    }

    // One blank line after the docstring and after the import when a table follows (as
    // ruff's formatter and import sorter want), two before each function.
    let mut out = docstring(header);
    if uses.math {
        out.push_str("\nimport math\n");
    }
    for (rows, name) in rows.iter().zip(&table_names) {
        out.push('\n');
        write_table(&mut out, name, rows);
    }
    for helper in [(uses.sigmoid, SIGMOID_HELPER), (uses.exp, EXP_HELPER)] {
        if helper.0 {
            out.push_str("\n\n");
            out.push_str(helper.1);
        }
    }
    out.push_str("\n\n");
    out.push_str(&predict);
    Ok(out)
}

fn docstring(header: &Header) -> String {
    let mut out =
        String::from("\"\"\"Predictions of a neural network, compiled to Python by nn2py.\n\n");
    out.push_str(&format!(
        "Model: {}\n",
        escape_docstring_line(&header.model_digest)
    ));
    out.push_str(&format!(
        "nn2py version: {}\n",
        escape_docstring_line(&header.nn2py_version)
    ));
    out.push_str("Verification:\n");
    let mut any = false;
    for line in header.verification.lines() {
        let line = escape_docstring_line(line);
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("    {line}\n"));
            any = true;
        }
    }
    if !any {
        out.push_str("    (none)\n");
    }
    out.push_str("\"\"\"\n");
    out
}

/// The literal texts of a table, row by row.
fn table_rows(table: &Table) -> Result<Vec<Vec<String>>, PythonError> {
    if table.columns == 0 && table.data.is_empty() {
        return Ok(Vec::new());
    }
    if table.columns == 0 || !table.data.len().is_multiple_of(table.columns) {
        return Err(PythonError::new(
            format!(
                "table has {} entries, not a multiple of its {} columns",
                table.data.len(),
                table.columns
            ),
            Location::Value(table.name.clone()),
        ));
    }
    let mut rows = Vec::new();
    for chunk in table.data.chunks(table.columns) {
        let mut row = Vec::new();
        for literal in chunk {
            if literal.ty() != table.ty {
                return Err(PythonError::new(
                    format!("table of {:?} holds a {:?}", table.ty, literal.ty()),
                    Location::Value(table.name.clone()),
                ));
            }
            row.push(table_literal(*literal));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// A literal as it appears in a table (`-1.5`, `math.inf`, `True`).
fn table_literal(literal: Literal) -> String {
    match literal {
        Literal::Int(value) => value.to_string(),
        Literal::Bool(value) => if value { "True" } else { "False" }.to_string(),
        Literal::Float(value) => {
            let sign = if value.is_sign_negative() && !value.is_nan() {
                "-"
            } else {
                ""
            };
            if value.is_nan() {
                "math.nan".to_string()
            } else if value.is_infinite() {
                format!("{sign}math.inf")
            } else {
                format!("{sign}{}", float_repr(value))
            }
        }
    }
}

fn predict_function(
    program: &Program,
    lowering: &mut Lowering,
    names: &mut Names,
) -> Result<String, PythonError> {
    let mut body = Vec::new();
    let header = match &program.signature {
        Signature::Sequence {
            step_inputs,
            direction,
        } => {
            body.push(PyStmt::Verbatim(
                "\"\"\"Run the model over a sequence of steps; return each step's output.\"\"\""
                    .to_string(),
            ));
            body.extend(statements(&program.init, lowering)?);
            body.push(PyStmt::Verbatim("outputs = []".to_string()));
            let inputs = step_inputs
                .iter()
                .map(|id| lowering.var_name(*id).map(str::to_string))
                .collect::<Result<Vec<_>, _>>()?;
            let iter = match direction {
                LoopDirection::Forward => PyExpr::name("seq"),
                LoopDirection::Reverse => {
                    PyExpr::call(PyExpr::name("reversed"), vec![PyExpr::name("seq")])
                }
            };
            let mut loop_body = Vec::new();
            let targets = match inputs.as_slice() {
                [] => vec!["_".to_string()],
                [single] => vec![single.clone()],
                many => {
                    let header_width = INDENT_WIDTH
                        + "for ".len()
                        + many.join(", ").len()
                        + " in reversed(seq):".len();
                    if header_width <= LINE_WIDTH {
                        many.to_vec()
                    } else {
                        loop_body.push(PyStmt::Assign {
                            targets: many.to_vec(),
                            values: vec![PyExpr::name("step")],
                        });
                        vec!["step".to_string()]
                    }
                }
            };
            loop_body.extend(statements(&program.body, lowering)?);
            let output = outputs_value(&program.outputs, lowering)?;
            loop_body.push(PyStmt::Expr(PyExpr::call(
                PyExpr::attr("outputs", "append"),
                vec![output],
            )));
            body.push(PyStmt::For {
                targets,
                iter,
                body: loop_body,
            });
            if *direction == LoopDirection::Reverse {
                body.push(PyStmt::Verbatim("outputs.reverse()".to_string()));
            }
            body.push(PyStmt::Verbatim("return outputs".to_string()));
            vec!["seq".to_string()]
        }
        Signature::Pointwise { arguments } => {
            body.push(PyStmt::Verbatim(
                "\"\"\"Evaluate the model once on its inputs.\"\"\"".to_string(),
            ));
            let mut parameters = Vec::new();
            for argument in arguments {
                let features = argument
                    .features
                    .iter()
                    .map(|id| lowering.var_name(*id).map(str::to_string))
                    .collect::<Result<Vec<_>, _>>()?;
                match features.as_slice() {
                    [single] => parameters.push(single.clone()),
                    many => {
                        let parameter = names.variable(&argument.name, "arg");
                        if !many.is_empty() {
                            body.push(PyStmt::Assign {
                                targets: many.to_vec(),
                                values: vec![PyExpr::Name(parameter.clone())],
                            });
                        }
                        parameters.push(parameter);
                    }
                }
            }
            if !program.init.is_empty() {
                body.extend(statements(&program.init, lowering)?);
            }
            body.extend(statements(&program.body, lowering)?);
            let values = program
                .outputs
                .iter()
                .map(|output| lowering.expr(output))
                .collect::<Result<Vec<_>, _>>()?;
            body.push(PyStmt::Return(values));
            parameters
        }
    };
    let mut out = String::new();
    write_def(&mut out, &header);
    write_block(&mut out, &body, 1);
    Ok(out)
}

/// `def predict(a, b):`, with one parameter per line (and a trailing comma) when they do not
/// fit on one, as ruff formats parameters.
fn write_def(out: &mut String, parameters: &[String]) {
    let flat = format!("def predict({}):", parameters.join(", "));
    if flat.len() <= LINE_WIDTH {
        out.push_str(&flat);
        out.push('\n');
        return;
    }
    let indent = " ".repeat(INDENT_WIDTH);
    out.push_str("def predict(\n");
    for parameter in parameters {
        out.push_str(&format!("{indent}{parameter},\n"));
    }
    out.push_str("):\n");
}

/// The value appended per step: the output, or a tuple of them.
fn outputs_value(outputs: &[Expr], lowering: &mut Lowering) -> Result<PyExpr, PythonError> {
    let mut values = outputs
        .iter()
        .map(|output| lowering.expr(output))
        .collect::<Result<Vec<_>, _>>()?;
    if values.len() == 1 {
        Ok(values.remove(0))
    } else {
        Ok(PyExpr::Tuple(values))
    }
}

/// Python statements for program statements. A parallel assignment is written as single
/// assignments when no value reads a target assigned before it (then both agree), and as a
/// tuple assignment otherwise.
fn statements(block: &[Stmt], lowering: &mut Lowering) -> Result<Vec<PyStmt>, PythonError> {
    let mut out = Vec::new();
    for statement in block {
        let Stmt::Assign { targets, values } = statement;
        if targets.len() != values.len() || targets.is_empty() {
            return Err(PythonError::new(
                format!(
                    "assignment of {} values to {} targets",
                    values.len(),
                    targets.len()
                ),
                Location::Unknown,
            ));
        }
        let names = targets
            .iter()
            .map(|id| lowering.var_name(*id).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        let exprs = values
            .iter()
            .map(|value| lowering.expr(value))
            .collect::<Result<Vec<_>, _>>()?;
        if targets.len() == 1 || sequential_is_equivalent(targets, values) {
            for (target, value) in names.into_iter().zip(exprs) {
                out.push(PyStmt::Assign {
                    targets: vec![target],
                    values: vec![value],
                });
            }
        } else {
            out.push(PyStmt::Assign {
                targets: names,
                values: exprs,
            });
        }
    }
    Ok(out)
}

fn sequential_is_equivalent(targets: &[VarId], values: &[Expr]) -> bool {
    let distinct: BTreeSet<VarId> = targets.iter().copied().collect();
    if distinct.len() != targets.len() {
        return false;
    }
    values.iter().enumerate().all(|(index, value)| {
        let mut read = BTreeSet::new();
        collect_reads(value, &mut read);
        targets[..index]
            .iter()
            .all(|earlier| !read.contains(&(earlier.0 as usize)))
    })
}

/// Which variables are read and which assigned, program-wide.
struct Usage {
    read: BTreeSet<usize>,
    assigned: BTreeSet<usize>,
}

impl Usage {
    fn of(program: &Program) -> Usage {
        let mut read = BTreeSet::new();
        let mut assigned = BTreeSet::new();
        for statement in program.init.iter().chain(&program.body) {
            let Stmt::Assign { targets, values } = statement;
            assigned.extend(targets.iter().map(|id| id.0 as usize));
            for value in values {
                collect_reads(value, &mut read);
            }
        }
        for output in &program.outputs {
            collect_reads(output, &mut read);
        }
        Usage { read, assigned }
    }

    /// A variable that is read must be an input or assigned somewhere, or Python would not
    /// know the name.
    fn check_bound(&self, program: &Program) -> Result<(), PythonError> {
        let mut inputs = BTreeSet::new();
        match &program.signature {
            Signature::Sequence { step_inputs, .. } => {
                inputs.extend(step_inputs.iter().map(|id| id.0 as usize));
            }
            Signature::Pointwise { arguments } => {
                for argument in arguments {
                    inputs.extend(argument.features.iter().map(|id| id.0 as usize));
                }
            }
        }
        for &index in &self.read {
            if !inputs.contains(&index) && !self.assigned.contains(&index) {
                let name = program
                    .vars
                    .get(index)
                    .map(|v| v.name.clone())
                    .unwrap_or_default();
                return Err(PythonError::new(
                    format!("variable {index} is read but never assigned"),
                    Location::Value(name),
                ));
            }
        }
        Ok(())
    }
}

fn collect_reads(expr: &Expr, read: &mut BTreeSet<usize>) {
    expr.for_each_var(|id| {
        read.insert(id.0 as usize);
    });
}

/// Every variable and table handle in the program is in range.
fn check_handles(program: &Program) -> Result<(), PythonError> {
    let vars = program.vars.len();
    let tables = program.tables.len();
    let bad_var = |id: &VarId| (id.0 as usize) >= vars;
    let mut ids: Vec<VarId> = Vec::new();
    match &program.signature {
        Signature::Sequence { step_inputs, .. } => ids.extend(step_inputs),
        Signature::Pointwise { arguments } => {
            for argument in arguments {
                ids.extend(&argument.features);
            }
        }
    }
    let mut exprs: Vec<&Expr> = program.outputs.iter().collect();
    for statement in program.init.iter().chain(&program.body) {
        let Stmt::Assign { targets, values } = statement;
        ids.extend(targets);
        exprs.extend(values);
    }
    if let Some(id) = ids.iter().find(|id| bad_var(id)) {
        return Err(PythonError::new(
            format!(
                "variable handle {} is out of range ({vars} variables)",
                id.0
            ),
            Location::Unknown,
        ));
    }
    let mut stack = exprs;
    while let Some(expr) = stack.pop() {
        match expr {
            Expr::Lit(_) => {}
            Expr::Var(id) => {
                if bad_var(id) {
                    return Err(PythonError::new(
                        format!(
                            "variable handle {} is out of range ({vars} variables)",
                            id.0
                        ),
                        Location::Unknown,
                    ));
                }
            }
            Expr::Unary(_, operand) => stack.push(operand),
            Expr::Binary(_, left, right) => {
                stack.push(left);
                stack.push(right);
            }
            Expr::Call(_, args) => stack.extend(args),
            Expr::Select {
                cond,
                then,
                otherwise,
            } => {
                stack.push(cond);
                stack.push(then);
                stack.push(otherwise);
            }
            Expr::Lookup { table, index, .. } => {
                if (table.0 as usize) >= tables {
                    return Err(PythonError::new(
                        format!("table handle {} is out of range ({tables} tables)", table.0),
                        Location::Unknown,
                    ));
                }
                stack.push(index);
            }
        }
    }
    Ok(())
}
