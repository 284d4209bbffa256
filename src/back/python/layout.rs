//! Laying statements out as `ruff format` does.
//!
//! Each statement becomes a [`Doc`] built with the rules of `ruff_python_formatter` for the
//! shapes we emit (binary chains split before their loosest operators, calls and subscripts
//! broken inside their brackets, optional parentheses around a statement's value that appear
//! only when it breaks, unparenthesized tuples parenthesized when they break), then printed
//! at the statement's indentation.

use super::doc::{Condition, Doc, Element, GroupId, Line, Mode};
use super::syntax::{binary_precedence, binary_token, Precedence, PyExpr, PyStmt, PyUnary};
use crate::program::BinaryOp;

/// Lays out a block of statements at `indent` levels, one statement per line.
pub(crate) fn write_block(out: &mut String, statements: &[PyStmt], indent: usize) {
    for statement in statements {
        let mut layout = Layout::new(indent);
        layout.statement(statement);
        out.push_str(&layout.doc.print());
        if let PyStmt::For { body, .. } = statement {
            write_block(out, body, indent + 1);
        }
    }
}

/// Lays out `name = (rows...)`, a table of literal rows, one row per line when there are
/// several rows (a magic trailing comma keeps them so).
pub(crate) fn write_table(out: &mut String, name: &str, rows: &[Vec<String>]) {
    let mut layout = Layout::new(0);
    layout.doc.text(name);
    layout.doc.text(" = ");
    layout.level = Level::Expression(None);
    let row_exprs: Vec<PyExpr> = rows
        .iter()
        .map(|row| {
            PyExpr::Tuple(
                row.iter()
                    .map(|cell| PyExpr::Number(cell.clone()))
                    .collect(),
            )
        })
        .collect();
    layout.tuple(&row_exprs, rows.len() > 1);
    out.push_str(&layout.doc.print());
}

/// Where an expression sits, which decides what its optional breaks do (`NodeLevel` in ruff).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Directly in a statement.
    Statement,
    /// Inside an expression that is not parenthesized; `Some` names the optional parentheses
    /// group around it, whose breaking enables the breaks inside.
    Expression(Option<GroupId>),
    /// Inside brackets: breaks are always possible.
    Parenthesized,
}

/// Whether a statement's value gets parentheses when it breaks (ruff's `OptionalParentheses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NeedsParentheses {
    /// Binary chains and conditionals: parentheses when it spans lines.
    Multiline,
    /// Atoms and forms with their own brackets: never added.
    Never,
}

struct Layout {
    doc: Doc,
    level: Level,
}

/// One element of a flattened binary chain.
enum Part<'a> {
    Operand(&'a PyExpr),
    Operator(BinaryOp),
}

impl Layout {
    fn new(indent: usize) -> Self {
        let mut doc = Doc::default();
        doc.set_indent(indent);
        Layout {
            doc,
            level: Level::Statement,
        }
    }

    fn statement(&mut self, statement: &PyStmt) {
        match statement {
            PyStmt::Assign { targets, values } => {
                if let ([target], [value]) = (targets.as_slice(), values.as_slice()) {
                    self.doc.text(target);
                    self.doc.text(" = ");
                    self.last_expression(value);
                } else {
                    let names: Vec<PyExpr> = targets.iter().map(|t| PyExpr::name(t)).collect();
                    self.parenthesize_if_expands(|layout| layout.sequence(&names));
                    self.doc.text(" = ");
                    self.parenthesize_if_expands(|layout| layout.sequence(values));
                }
            }
            PyStmt::Return(values) => match values.as_slice() {
                [] => self.doc.text("return ()"),
                [value] => {
                    self.doc.text("return ");
                    self.last_expression(value);
                }
                _ => {
                    self.doc.text("return ");
                    self.parenthesize_if_expands(|layout| layout.sequence(values));
                }
            },
            PyStmt::Expr(value) => self.expr_at_top(value),
            PyStmt::Verbatim(text) => self.doc.text(text),
            // The header only: `write_block` writes the body below it.
            PyStmt::For { targets, iter, .. } => {
                self.doc.text("for ");
                self.doc.text(&targets.join(", "));
                self.doc.text(" in ");
                self.expr_at_top(iter);
                self.doc.text(":");
            }
        }
    }

    /// An expression directly in a statement, without optional parentheses.
    fn expr_at_top(&mut self, value: &PyExpr) {
        self.with_level(Level::Expression(None), |layout| layout.expr(value));
    }

    /// The value of an assignment or `return` (`maybe_parenthesize_expression` with
    /// `IfBreaks`).
    fn last_expression(&mut self, value: &PyExpr) {
        if matches!(value, PyExpr::Paren(_)) {
            self.expr_at_top(value);
            return;
        }
        match needs_parentheses(value) {
            NeedsParentheses::Multiline => {
                if can_omit_optional_parentheses(value) {
                    self.optional_parentheses(|layout| layout.fields(value));
                } else {
                    self.parenthesize_if_expands(|layout| layout.fields(value));
                }
            }
            NeedsParentheses::Never => {
                self.with_level(Level::Expression(None), |layout| layout.fields(value))
            }
        }
    }

    fn with_level(&mut self, level: Level, body: impl FnOnce(&mut Self)) {
        let saved = self.level;
        self.level = level;
        body(self);
        self.level = saved;
    }

    fn start_group(&mut self, id: Option<GroupId>) {
        self.doc.push(Element::StartGroup { id, expand: false });
    }

    fn if_group_breaks(&mut self, text: &str, group: Option<GroupId>) {
        self.doc.push(Element::StartConditionalContent(Condition {
            mode: Mode::Expanded,
            group,
        }));
        self.doc.text(text);
        self.doc.push(Element::EndConditionalContent);
    }

    /// Parentheses that appear only when the content breaks; breaks inside the content are
    /// enabled only then (`optional_parentheses`).
    fn optional_parentheses(&mut self, content: impl FnOnce(&mut Self)) {
        let id = self.doc.group_id();
        self.group_parentheses(id, Level::Expression(Some(id)), content);
    }

    /// Parentheses that appear when the content does not fit flat (`parenthesize_if_expands`).
    fn parenthesize_if_expands(&mut self, content: impl FnOnce(&mut Self)) {
        let id = self.doc.group_id();
        self.group_parentheses(id, Level::Parenthesized, content);
    }

    /// Group `id` around `content` (laid out at `level`), with parentheses and an indent that
    /// appear only when the group breaks.
    fn group_parentheses(&mut self, id: GroupId, level: Level, content: impl FnOnce(&mut Self)) {
        self.with_level(level, |layout| {
            layout.start_group(Some(id));
            layout.if_group_breaks("(", None);
            layout.doc.push(Element::StartIndentIfGroupBreaks(id));
            layout.doc.line(Line::Soft);
            content(layout);
            layout.doc.push(Element::EndIndentIfGroupBreaks);
            layout.doc.line(Line::Soft);
            layout.if_group_breaks(")", None);
            layout.doc.push(Element::EndGroup);
        });
    }

    /// Brackets around content that breaks inside them (`parenthesized`). Directly inside
    /// optional parentheses, the content is measured expanded so that breaking it does not
    /// force the optional parentheses; the brackets themselves must still fit.
    fn parenthesized(&mut self, left: &str, content: impl FnOnce(&mut Self), right: &str) {
        let fits_expanded = match self.level {
            Level::Expression(Some(id)) => Some(id),
            Level::Expression(None) | Level::Statement | Level::Parenthesized => None,
        };
        self.with_level(Level::Parenthesized, |layout| {
            layout.doc.text(left);
            if let Some(id) = fits_expanded {
                layout.doc.push(Element::StartFitsExpanded {
                    condition: Some(Condition {
                        mode: Mode::Flat,
                        group: Some(id),
                    }),
                    propagate: false,
                });
            }
            layout.start_group(None);
            layout.doc.push(Element::StartIndent);
            layout.doc.line(Line::Soft);
            content(layout);
            layout.doc.push(Element::EndIndent);
            layout.doc.line(Line::Soft);
            layout.doc.push(Element::EndGroup);
            if fits_expanded.is_some() {
                layout.doc.push(Element::EndFitsExpanded);
            }
            layout.doc.text(right);
        });
    }

    /// A group only where breaks are possible (`in_parentheses_only_group`).
    fn in_parentheses_only_group(&mut self, content: impl FnOnce(&mut Self)) {
        match self.level {
            Level::Expression(Some(id)) => {
                self.doc.push(Element::StartConditionalGroup {
                    condition: Condition {
                        mode: Mode::Expanded,
                        group: Some(id),
                    },
                    expand: false,
                });
                content(self);
                self.doc.push(Element::EndConditionalGroup);
            }
            Level::Parenthesized => {
                self.start_group(None);
                content(self);
                self.doc.push(Element::EndGroup);
            }
            Level::Expression(None) | Level::Statement => content(self),
        }
    }

    /// A break where breaks are possible, a space elsewhere.
    fn in_parentheses_only_line(&mut self) {
        match self.level {
            Level::Expression(Some(id)) => {
                self.doc.push(Element::StartConditionalContent(Condition {
                    mode: Mode::Expanded,
                    group: Some(id),
                }));
                self.doc.line(Line::SoftOrSpace);
                self.doc.push(Element::EndConditionalContent);
                self.doc.push(Element::StartConditionalContent(Condition {
                    mode: Mode::Flat,
                    group: Some(id),
                }));
                self.doc.text(" ");
                self.doc.push(Element::EndConditionalContent);
            }
            Level::Parenthesized => self.doc.line(Line::SoftOrSpace),
            Level::Expression(None) | Level::Statement => self.doc.text(" "),
        }
    }

    /// An expression, keeping its parentheses.
    fn expr(&mut self, expr: &PyExpr) {
        match expr {
            PyExpr::Paren(inner) => self.parenthesized("(", |layout| layout.fields(inner), ")"),
            other => {
                let level = match self.level {
                    Level::Statement => Level::Expression(None),
                    level => level,
                };
                self.with_level(level, |layout| layout.fields(other));
            }
        }
    }

    /// The expression's own syntax.
    fn fields(&mut self, expr: &PyExpr) {
        match expr {
            PyExpr::Name(text) | PyExpr::Number(text) => self.doc.text(text),
            PyExpr::Attribute(value, attr) => {
                self.expr(value);
                self.doc.text(".");
                self.doc.text(attr);
            }
            PyExpr::Unary(op, operand) => {
                match op {
                    PyUnary::Neg => self.doc.text("-"),
                    PyUnary::Not => self.doc.text("not "),
                }
                self.expr(operand);
            }
            PyExpr::Binary(..) => {
                let mut parts = Vec::new();
                flatten(expr, &mut parts);
                self.in_parentheses_only_group(|layout| layout.binary_chain(&parts));
            }
            PyExpr::Call(func, args) => {
                self.expr(func);
                self.arguments(args);
            }
            PyExpr::Subscript(value, index) => {
                self.expr(value);
                self.parenthesized("[", |layout| layout.expr(index), "]");
            }
            PyExpr::If { .. } => self.conditional(expr, false),
            PyExpr::Tuple(elements) => self.tuple(elements, false),
            PyExpr::Paren(_) => self.expr(expr),
        }
    }

    fn arguments(&mut self, args: &[PyExpr]) {
        match args {
            [] => self.doc.text("()"),
            [single] => self.parenthesized(
                "(",
                |layout| {
                    layout.start_group(None);
                    match single {
                        PyExpr::Paren(_) => layout.expr(single),
                        other => layout.fields(other),
                    }
                    layout.doc.push(Element::EndGroup);
                },
                ")",
            ),
            many => self.parenthesized(
                "(",
                |layout| {
                    layout.start_group(None);
                    layout.sequence(many);
                    layout.doc.push(Element::EndGroup);
                },
                ")",
            ),
        }
    }

    /// Comma-separated entries, with a trailing comma when the enclosing group breaks and
    /// there are several entries.
    fn sequence(&mut self, entries: &[PyExpr]) {
        for (index, entry) in entries.iter().enumerate() {
            if index > 0 {
                self.doc.text(",");
                self.doc.line(Line::SoftOrSpace);
            }
            self.expr(entry);
        }
        if entries.len() > 1 {
            self.if_group_breaks(",", None);
        }
    }

    /// A parenthesized tuple; `magic` adds a trailing comma that keeps it expanded.
    fn tuple(&mut self, elements: &[PyExpr], magic: bool) {
        match elements {
            [] => self.doc.text("()"),
            [single] if !magic => self.parenthesized(
                "(",
                |layout| {
                    layout.expr(single);
                    layout.doc.text(",");
                },
                ")",
            ),
            many => self.parenthesized(
                "(",
                |layout| {
                    layout.sequence(many);
                    if magic {
                        if many.len() == 1 {
                            layout.if_group_breaks(",", None);
                        }
                        layout.doc.push(Element::ExpandParent);
                    }
                },
                ")",
            ),
        }
    }

    /// `body if test else orelse`; a conditional in `orelse` continues the same chain.
    fn conditional(&mut self, expr: &PyExpr, nested: bool) {
        let PyExpr::If { body, test, orelse } = expr else {
            self.expr(expr);
            return;
        };
        let inner = |layout: &mut Self| {
            layout.expr(body);
            layout.in_parentheses_only_line();
            layout.doc.text("if ");
            layout.expr(test);
            layout.in_parentheses_only_line();
            layout.doc.text("else ");
            match orelse.as_ref() {
                nested_if @ PyExpr::If { .. } => layout.conditional(nested_if, true),
                other => layout.in_parentheses_only_group(|layout| layout.expr(other)),
            }
        };
        if nested {
            inner(self);
        } else {
            self.in_parentheses_only_group(inner);
        }
    }

    /// Splits a flattened chain before its loosest operators, grouping the runs between them.
    fn binary_chain(&mut self, parts: &[Part]) {
        let loosest = parts
            .iter()
            .filter_map(|part| match part {
                Part::Operator(op) => Some(split_rank(*op)),
                Part::Operand(_) => None,
            })
            .min();
        let Some(loosest) = loosest else {
            if let [Part::Operand(operand)] = parts {
                self.expr(operand);
            }
            return;
        };
        let mut start = 0;
        for (index, part) in parts.iter().enumerate() {
            let Part::Operator(op) = part else {
                continue;
            };
            if split_rank(*op) != loosest {
                continue;
            }
            self.chain_run(&parts[start..index]);
            self.in_parentheses_only_line();
            self.doc.text(binary_token(*op));
            self.doc.text(" ");
            start = index + 1;
        }
        self.chain_run(&parts[start..]);
    }

    fn chain_run(&mut self, run: &[Part]) {
        match run {
            [Part::Operand(operand)] => self.expr(operand),
            _ => self.in_parentheses_only_group(|layout| layout.binary_chain(run)),
        }
    }
}

/// Flattens nested unparenthesized binary expressions into operands and operators.
fn flatten<'a>(expr: &'a PyExpr, parts: &mut Vec<Part<'a>>) {
    match expr {
        PyExpr::Binary(op, left, right) => {
            flatten(left, parts);
            parts.push(Part::Operator(*op));
            flatten(right, parts);
        }
        other => parts.push(Part::Operand(other)),
    }
}

/// Ruff's split priority: the loosest operators split first (the lowest precedence); `and`
/// and `or` split together.
fn split_rank(op: BinaryOp) -> Precedence {
    match binary_precedence(op) {
        Precedence::Or => Precedence::And,
        other => other,
    }
}

fn needs_parentheses(expr: &PyExpr) -> NeedsParentheses {
    match expr {
        PyExpr::Binary(..) | PyExpr::If { .. } => NeedsParentheses::Multiline,
        PyExpr::Unary(_, operand) => match operand.as_ref() {
            PyExpr::Paren(_) => NeedsParentheses::Never,
            other => needs_parentheses(other),
        },
        PyExpr::Name(_)
        | PyExpr::Number(_)
        | PyExpr::Attribute(..)
        | PyExpr::Call(..)
        | PyExpr::Subscript(..)
        | PyExpr::Tuple(_)
        | PyExpr::Paren(_) => NeedsParentheses::Never,
    }
}

/// Ruff's `can_omit_optional_parentheses`: whether a multiline value may first try to break
/// only inside the brackets it starts or ends with.
fn can_omit_optional_parentheses(expr: &PyExpr) -> bool {
    let mut visitor = OmitVisitor::default();
    visitor.visit_subexpression(expr);
    if !visitor.any_parenthesized || visitor.loosest_count > 1 {
        false
    } else if visitor.loosest.is_none() {
        true
    } else {
        visitor.last.is_some_and(has_non_empty_brackets)
            || visitor.first.is_some_and(has_non_empty_brackets)
    }
}

fn has_non_empty_brackets(expr: &PyExpr) -> bool {
    match expr {
        PyExpr::Call(_, args) => !args.is_empty(),
        PyExpr::Tuple(elements) => !elements.is_empty(),
        PyExpr::Paren(_) => true,
        // Breaking a subscript outside parentheses looks odd, so it does not count.
        PyExpr::Subscript(..)
        | PyExpr::Name(_)
        | PyExpr::Number(_)
        | PyExpr::Attribute(..)
        | PyExpr::Unary(..)
        | PyExpr::Binary(..)
        | PyExpr::If { .. } => false,
    }
}

#[derive(Default)]
struct OmitVisitor<'a> {
    /// The loosest operator seen, as [`split_rank`] ranks it; a conditional is the loosest.
    loosest: Option<Precedence>,
    loosest_count: u32,
    any_parenthesized: bool,
    last: Option<&'a PyExpr>,
    /// The first operand, unless the expression starts with a token such as `not`.
    first: Option<&'a PyExpr>,
    first_set: bool,
}

impl<'a> OmitVisitor<'a> {
    fn update(&mut self, rank: Precedence, count: u32) {
        match self.loosest {
            Some(current) if current < rank => {}
            Some(current) if current == rank => self.loosest_count += count,
            _ => {
                self.loosest = Some(rank);
                self.loosest_count = count;
            }
        }
    }

    fn set_first(&mut self, first: Option<&'a PyExpr>) {
        if !self.first_set {
            self.first_set = true;
            self.first = first;
        }
    }

    fn visit_expr(&mut self, expr: &'a PyExpr) {
        self.last = Some(expr);
        if matches!(expr, PyExpr::Paren(_)) {
            self.any_parenthesized = true;
        } else {
            self.visit_subexpression(expr);
        }
        self.set_first(Some(expr));
    }

    fn visit_subexpression(&mut self, expr: &'a PyExpr) {
        match expr {
            PyExpr::Tuple(_) => {
                self.any_parenthesized = true;
            }
            PyExpr::Binary(op, left, right) => {
                self.update(split_rank(*op), 1);
                self.visit_expr(left);
                self.visit_expr(right);
            }
            PyExpr::If { body, test, orelse } => {
                self.update(Precedence::Conditional, 2);
                self.visit_expr(body);
                self.visit_expr(test);
                self.visit_expr(orelse);
            }
            PyExpr::Call(func, _) => {
                self.any_parenthesized = true;
                self.visit_expr(func);
                self.last = Some(expr);
            }
            PyExpr::Subscript(value, _) => {
                self.any_parenthesized = true;
                self.visit_expr(value);
                self.last = Some(expr);
            }
            PyExpr::Attribute(value, _) => {
                self.visit_expr(value);
                self.last = Some(expr);
            }
            PyExpr::Unary(_, operand) => {
                self.set_first(None);
                self.visit_expr(operand);
            }
            PyExpr::Paren(_) => {
                self.any_parenthesized = true;
            }
            PyExpr::Name(_) | PyExpr::Number(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> PyExpr {
        PyExpr::name(text)
    }

    fn bin(op: BinaryOp, left: PyExpr, right: PyExpr) -> PyExpr {
        PyExpr::Binary(op, Box::new(left), Box::new(right))
    }

    fn assign(target: &str, value: PyExpr) -> String {
        let mut out = String::new();
        write_block(
            &mut out,
            &[PyStmt::Assign {
                targets: vec![target.to_string()],
                values: vec![value],
            }],
            2,
        );
        out
    }

    #[test]
    fn a_short_sum_stays_on_one_line() {
        let value = bin(BinaryOp::Add, n("a"), bin(BinaryOp::Mul, n("b"), n("c")));
        assert_eq!(assign("y", value), "        y = a + b * c\n");
    }

    #[test]
    fn a_long_sum_is_parenthesized_and_split_before_plus() {
        let a = "a".repeat(30);
        let b = "b".repeat(30);
        let c = "c".repeat(30);
        let value = bin(
            BinaryOp::Add,
            bin(BinaryOp::Mul, n(&a), n(&b)),
            bin(BinaryOp::Mul, n(&c), n("d")),
        );
        assert_eq!(
            assign("y", value),
            format!("        y = (\n            {a} * {b}\n            + {c} * d\n        )\n")
        );
    }

    #[test]
    fn a_long_call_breaks_inside_its_brackets() {
        let args: Vec<PyExpr> = (0..3)
            .map(|i| n(&("x".repeat(30) + &i.to_string())))
            .collect();
        let value = PyExpr::call(n("max"), args);
        let x = "x".repeat(30);
        assert_eq!(
            assign("y", value),
            format!("        y = max(\n            {x}0,\n            {x}1,\n            {x}2,\n        )\n")
        );
    }
}
