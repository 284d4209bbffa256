//! The parser of the text form: pest syntax, then name resolution with located errors.

use std::collections::BTreeMap;

use pest::iterators::Pair;
use pest::Parser as _;

use super::print::func_name;
use super::TextError;
use crate::program::{
    Argument, BinaryOp, Expr, Func, Literal, LoopDirection, Program, Signature, Stmt, Table,
    TableId, Type, UnaryOp, Var, VarId, VarKind,
};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/program.pest"]
struct ProgramParser;

/// How deeply parentheses, unary operators and conditionals may nest before the parser refuses
/// the text (the tree is built recursively).
const MAX_DEPTH: usize = 2_000;

/// Parses the text form (see the module doc of [`super`]).
///
/// # Errors
/// A [`TextError`] with the byte span of: a syntax error (what was expected there), a name
/// declared twice, a reference to an undeclared variable or table, an unknown function, a
/// literal out of range, a bad escape in a quoted name, a table whose `[R x C]` does not match its
/// data, or nesting deeper than the parser's stack allows (pest's stack guard; roughly 100
/// levels of parentheses on a 2 MiB thread in a debug build). The printer writes parentheses
/// only where the structure needs them, so left-nested chains of any length never nest.
pub fn parse(source: &str) -> Result<Program, TextError> {
    let mut pairs = ProgramParser::parse(Rule::program, source).map_err(syntax_error)?;
    let root = pairs.next().ok_or_else(|| TextError {
        message: "empty input".to_string(),
        span: 0..0,
    })?;
    let mut header = None;
    let mut builder = Builder::default();
    let mut init = Vec::new();
    let mut body = Vec::new();
    let mut outputs = Vec::new();
    // Declarations first, so that the header may name variables declared after it.
    for pair in root.clone().into_inner() {
        match pair.as_rule() {
            Rule::var_decl => builder.var_decl(pair)?,
            Rule::table_decl => builder.table_decl(pair)?,
            _ => {}
        }
    }
    for pair in root.into_inner() {
        match pair.as_rule() {
            Rule::header => header = Some(pair),
            Rule::init_block => init = builder.block(pair)?,
            Rule::body_block => body = builder.block(pair)?,
            Rule::output => outputs = builder.values(last_child(pair)?)?,
            _ => {}
        }
    }
    let header = header.ok_or_else(|| TextError {
        message: "missing `program` header".to_string(),
        span: 0..0,
    })?;
    let signature = builder.signature(header)?;
    Ok(Program {
        vars: builder.vars,
        tables: builder.tables,
        signature,
        init,
        body,
        outputs,
    })
}

/// Turns a pest error into a [`TextError`] naming what was expected.
fn syntax_error(error: pest::error::Error<Rule>) -> TextError {
    let span = match error.location {
        pest::error::InputLocation::Pos(p) => p..p,
        pest::error::InputLocation::Span((s, e)) => s..e,
    };
    let message = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<&str> = positives.iter().map(|r| rule_name(*r)).collect();
            expected.sort_unstable();
            expected.dedup();
            if expected.is_empty() {
                "syntax error".to_string()
            } else {
                format!("syntax error: expected {}", expected.join(", "))
            }
        }
        pest::error::ErrorVariant::CustomError { message } if message.contains("limit reached") => {
            format!("the text nests too deeply to parse ({message})")
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    TextError { message, span }
}

/// What a rule is called in "expected ..." messages.
fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of input",
        Rule::header | Rule::kw_program => "`program`",
        Rule::kw_sequence | Rule::kw_pointwise => "`sequence` or `pointwise`",
        Rule::direction => "`forward` or `reverse`",
        Rule::decl | Rule::var_decl | Rule::var_kind | Rule::table_decl | Rule::kw_table => {
            "a declaration"
        }
        Rule::kw_init | Rule::init_block => "`init`",
        Rule::kw_body | Rule::body_block => "`body`",
        Rule::kw_output | Rule::output => "`output`",
        Rule::stmt | Rule::targets => "a statement",
        Rule::ty => "a type (`int`, `float`, `bool`)",
        Rule::uint => "a non-negative integer",
        Rule::literal | Rule::float_lit | Rule::int_lit | Rule::bool_lit => "a literal",
        Rule::row => "a table row",
        Rule::expr
        | Rule::values
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::comparison
        | Rule::xor_expr
        | Rule::sum
        | Rule::product
        | Rule::unary
        | Rule::call
        | Rule::lookup
        | Rule::primary
        | Rule::empty => "an expression",
        Rule::cmp_op | Rule::xor_op | Rule::add_op | Rule::mul_op => "an operator",
        Rule::kw_and | Rule::kw_or => "an operator",
        Rule::kw_if | Rule::kw_else => "`if`/`else`",
        Rule::neg_op | Rule::kw_not => "an expression",
        Rule::var_ref | Rule::var_list | Rule::label | Rule::name | Rule::ident => "a name",
        Rule::callee => "a function",
        Rule::table_ref | Rule::raw_ref | Rule::suffix => "a name",
        Rule::string => "a quoted name",
        Rule::argument => "an argument",
        Rule::sequence_sig | Rule::pointwise_sig => "a signature",
        Rule::keyword | Rule::exponent | Rule::ident_char => "a token",
        Rule::program | Rule::WHITESPACE | Rule::COMMENT => "a program",
    }
}

fn span_of(pair: &Pair<Rule>) -> std::ops::Range<usize> {
    let span = pair.as_span();
    span.start()..span.end()
}

fn error(pair: &Pair<Rule>, message: String) -> TextError {
    TextError {
        message,
        span: span_of(pair),
    }
}

/// The single child of a pair (the grammar guarantees one; an error rather than a panic
/// otherwise).
fn only_child(pair: Pair<Rule>) -> Result<Pair<Rule>, TextError> {
    let err = error(&pair, "malformed syntax tree".to_string());
    pair.into_inner().next().ok_or(err)
}

/// The last child of a pair (its first children are keywords).
fn last_child(pair: Pair<Rule>) -> Result<Pair<Rule>, TextError> {
    let err = error(&pair, "malformed syntax tree".to_string());
    pair.into_inner().last().ok_or(err)
}

/// A variable or table label: its name and optional `@n` suffix.
type Label = (String, Option<u64>);

#[derive(Default)]
struct Builder {
    vars: Vec<Var>,
    tables: Vec<Table>,
    var_ids: BTreeMap<Label, VarId>,
    table_ids: BTreeMap<Label, TableId>,
}

impl Builder {
    fn var_decl(&mut self, pair: Pair<Rule>) -> Result<(), TextError> {
        let mut inner = pair.into_inner();
        let (kind, label, ty) = match (inner.next(), inner.next(), inner.next()) {
            (Some(k), Some(l), Some(t)) => (k, l, t),
            _ => return Err(malformed()),
        };
        let kind = match kind.as_str().trim() {
            "input" => VarKind::Input,
            "state" => VarKind::State,
            _ => VarKind::Local,
        };
        let ty = parse_type(&ty);
        let key = parse_label(&label)?;
        undeclared(&self.var_ids, &key, &label, "variable")?;
        let id = VarId(next_handle(self.vars.len(), &label, "variables")?);
        self.vars.push(Var {
            name: key.0.clone(),
            ty,
            kind,
        });
        self.var_ids.insert(key, id);
        Ok(())
    }

    fn table_decl(&mut self, pair: Pair<Rule>) -> Result<(), TextError> {
        let mut inner = pair.into_inner().skip(1);
        let (label, ty, rows, columns) =
            match (inner.next(), inner.next(), inner.next(), inner.next()) {
                (Some(l), Some(t), Some(r), Some(c)) => (l, t, r, c),
                _ => return Err(malformed()),
            };
        let key = parse_label(&label)?;
        undeclared(&self.table_ids, &key, &label, "table")?;
        let ty = parse_type(&ty);
        let declared_rows = parse_uint(&rows)?;
        let columns = parse_uint(&columns)?;
        let mut data = Vec::new();
        for row in inner {
            for literal in row.into_inner() {
                data.push(parse_literal(literal)?);
            }
        }
        let table = Table {
            name: key.0.clone(),
            ty,
            columns,
            data,
        };
        if table.rows() != declared_rows {
            return Err(error(
                &rows,
                format!(
                    "table `{}` declares {declared_rows} rows but its {} entries make {} rows of {columns}",
                    label.as_str(),
                    table.data.len(),
                    table.rows()
                ),
            ));
        }
        let id = TableId(next_handle(self.tables.len(), &label, "tables")?);
        self.tables.push(table);
        self.table_ids.insert(key, id);
        Ok(())
    }

    fn signature(&self, header: Pair<Rule>) -> Result<Signature, TextError> {
        let sig = last_child(header)?;
        match sig.as_rule() {
            Rule::sequence_sig => {
                let mut inner = sig.into_inner();
                let _kw = inner.next();
                let direction = match inner.next().map(|p| p.as_str().to_string()) {
                    Some(d) if d == "reverse" => LoopDirection::Reverse,
                    Some(_) => LoopDirection::Forward,
                    None => return Err(malformed()),
                };
                let step_inputs = match inner.next() {
                    Some(list) => self.var_list(list)?,
                    None => Vec::new(),
                };
                Ok(Signature::Sequence {
                    step_inputs,
                    direction,
                })
            }
            _ => {
                let mut arguments = Vec::new();
                for argument in sig.into_inner().skip(1) {
                    let mut inner = argument.into_inner();
                    let name = match inner.next() {
                        Some(name) => parse_name(&name)?,
                        None => return Err(malformed()),
                    };
                    let features = match inner.next() {
                        Some(list) => self.var_list(list)?,
                        None => Vec::new(),
                    };
                    arguments.push(Argument { name, features });
                }
                Ok(Signature::Pointwise { arguments })
            }
        }
    }

    fn var_list(&self, pair: Pair<Rule>) -> Result<Vec<VarId>, TextError> {
        pair.into_inner().map(|p| self.var_ref(p)).collect()
    }

    fn var_ref(&self, pair: Pair<Rule>) -> Result<VarId, TextError> {
        resolve_ref(pair, &self.var_ids, VarId, "variable")
    }

    fn table_ref(&self, pair: Pair<Rule>) -> Result<TableId, TextError> {
        resolve_ref(pair, &self.table_ids, TableId, "table")
    }

    fn block(&self, pair: Pair<Rule>) -> Result<Vec<Stmt>, TextError> {
        let mut stmts = Vec::new();
        for stmt in pair.into_inner().skip(1) {
            let mut inner = stmt.into_inner();
            let (targets, values) = match (inner.next(), inner.next()) {
                (Some(t), Some(v)) => (t, v),
                _ => return Err(malformed()),
            };
            let targets = targets
                .into_inner()
                .filter(|p| p.as_rule() == Rule::var_ref)
                .map(|p| self.var_ref(p))
                .collect::<Result<_, _>>()?;
            let values = self.values(values)?;
            stmts.push(Stmt::Assign { targets, values });
        }
        Ok(stmts)
    }

    fn values(&self, pair: Pair<Rule>) -> Result<Vec<Expr>, TextError> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::expr)
            .map(|p| self.expr(p, 0))
            .collect()
    }

    /// Builds an expression. Recursion happens only where the tree branches (operators,
    /// calls, lookups), and each step keeps its frame small, so that deep but legal nesting fits
    /// on a thread's stack.
    fn expr(&self, pair: Pair<Rule>, depth: usize) -> Result<Expr, TextError> {
        if depth > MAX_DEPTH {
            return Err(error(
                &pair,
                format!("expression nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        let pair = descend(pair);
        match pair.as_rule() {
            Rule::expr => self.select(pair, depth + 1),
            Rule::or_expr
            | Rule::and_expr
            | Rule::comparison
            | Rule::xor_expr
            | Rule::sum
            | Rule::product => self.chain(pair, depth + 1),
            Rule::not_expr | Rule::unary => self.prefix(pair, depth + 1),
            _ => Err(error(&pair, "malformed syntax tree".to_string())),
        }
    }

    #[inline(never)]
    fn select(&self, pair: Pair<Rule>, depth: usize) -> Result<Expr, TextError> {
        let mut inner = pair.into_inner();
        let then = self.expr(inner.next().ok_or_else(malformed)?, depth)?;
        match (inner.next(), inner.next(), inner.next(), inner.next()) {
            (None, ..) => Ok(then),
            (Some(_if), Some(cond), Some(_else), Some(otherwise)) => Ok(Expr::select(
                self.expr(cond, depth)?,
                then,
                self.expr(otherwise, depth)?,
            )),
            _ => Err(malformed()),
        }
    }

    /// A left-associative chain of binary operators.
    #[inline(never)]
    fn chain(&self, pair: Pair<Rule>, depth: usize) -> Result<Expr, TextError> {
        let mut inner = pair.into_inner();
        let mut left = self.expr(inner.next().ok_or_else(malformed)?, depth)?;
        while let Some(op) = inner.next() {
            let right = inner.next().ok_or_else(malformed)?;
            let op = binary_op(op.as_str()).ok_or_else(malformed)?;
            left = Expr::binary(op, left, self.expr(right, depth)?);
        }
        Ok(left)
    }

    /// `not e`, `-e`, or an atom.
    #[inline(never)]
    fn prefix(&self, pair: Pair<Rule>, depth: usize) -> Result<Expr, TextError> {
        let mut inner = pair.into_inner();
        let first = inner.next().ok_or_else(malformed)?;
        match first.as_rule() {
            Rule::kw_not | Rule::neg_op => {
                let op = if first.as_rule() == Rule::kw_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                let operand = inner.next().ok_or_else(malformed)?;
                Ok(Expr::unary(op, self.expr(operand, depth)?))
            }
            Rule::literal => Ok(Expr::Lit(parse_literal(first)?)),
            Rule::call => self.call(first, depth),
            Rule::lookup => {
                let mut parts = first.into_inner();
                let (table, index, column) = match (parts.next(), parts.next(), parts.next()) {
                    (Some(t), Some(i), Some(c)) => (t, i, c),
                    _ => return Err(malformed()),
                };
                Ok(Expr::Lookup {
                    table: self.table_ref(table)?,
                    index: Box::new(self.expr(index, depth)?),
                    column: parse_uint(&column)?,
                })
            }
            Rule::var_ref => Ok(Expr::Var(self.var_ref(first)?)),
            _ => self.expr(first, depth),
        }
    }

    fn call(&self, pair: Pair<Rule>, depth: usize) -> Result<Expr, TextError> {
        let mut inner = pair.into_inner();
        let name = inner.next().ok_or_else(malformed)?;
        let func = FUNCS
            .iter()
            .copied()
            .find(|f| func_name(*f) == name.as_str())
            .ok_or_else(|| {
                let known: Vec<&str> = FUNCS.iter().map(|f| func_name(*f)).collect();
                error(
                    &name,
                    format!(
                        "unknown function `{}` (known: {})",
                        name.as_str(),
                        known.join(", ")
                    ),
                )
            })?;
        let args = inner
            .map(|arg| self.expr(arg, depth))
            .collect::<Result<_, _>>()?;
        Ok(Expr::Call(func, args))
    }
}

/// Skips the rules that only wrap one operand (an expression without the operators of its
/// level, parentheses), without recursing.
fn descend(mut pair: Pair<Rule>) -> Pair<Rule> {
    while is_operator_level(pair.as_rule()) {
        let mut inner = pair.clone().into_inner();
        match (inner.next(), inner.next()) {
            (Some(only), None) if is_operator_level(only.as_rule()) => pair = only,
            _ => return pair,
        }
    }
    pair
}

/// Whether `rule` is one level of the expression grammar's operator precedence.
fn is_operator_level(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::expr
            | Rule::or_expr
            | Rule::and_expr
            | Rule::not_expr
            | Rule::comparison
            | Rule::xor_expr
            | Rule::sum
            | Rule::product
            | Rule::unary
    )
}

/// Every built-in function, for lookup by name.
const FUNCS: [Func; 10] = [
    Func::Abs,
    Func::Max,
    Func::Min,
    Func::Tanh,
    Func::Sigmoid,
    Func::Exp,
    Func::Float,
    Func::Int,
    Func::Round,
    Func::Floor,
];

fn binary_op(symbol: &str) -> Option<BinaryOp> {
    Some(match symbol {
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        "//" => BinaryOp::FloorDiv,
        "%" => BinaryOp::Mod,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        ">=" => BinaryOp::Ge,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "and" => BinaryOp::And,
        "or" => BinaryOp::Or,
        "^" => BinaryOp::Xor,
        _ => return None,
    })
}

fn malformed() -> TextError {
    TextError {
        message: "malformed syntax tree".to_string(),
        span: 0..0,
    }
}

fn parse_type(pair: &Pair<Rule>) -> Type {
    match pair.as_str() {
        "int" => Type::Int,
        "bool" => Type::Bool,
        _ => Type::Float,
    }
}

fn parse_uint(pair: &Pair<Rule>) -> Result<usize, TextError> {
    pair.as_str()
        .parse()
        .map_err(|_| error(pair, format!("`{}` is too large", pair.as_str())))
}

/// The handle a `var_ref` or `table_ref` names: a raw handle (`@3`), or a declared label
/// looked up in `ids`; `kind` names the arena in the error.
fn resolve_ref<Id: Copy>(
    pair: Pair<Rule>,
    ids: &BTreeMap<Label, Id>,
    raw: fn(u32) -> Id,
    kind: &str,
) -> Result<Id, TextError> {
    let inner = only_child(pair)?;
    if inner.as_rule() == Rule::raw_ref {
        return Ok(raw(parse_raw(&inner)?));
    }
    let key = parse_label(&inner)?;
    ids.get(&key)
        .copied()
        .ok_or_else(|| error(&inner, format!("unknown {kind} `{}`", inner.as_str())))
}

/// Fails when `key` (written as `label`) is already declared in `ids`.
fn undeclared<Id>(
    ids: &BTreeMap<Label, Id>,
    key: &Label,
    label: &Pair<Rule>,
    kind: &str,
) -> Result<(), TextError> {
    if ids.contains_key(key) {
        return Err(error(
            label,
            format!("{kind} `{}` is declared twice", label.as_str()),
        ));
    }
    Ok(())
}

/// The handle of the next entry of an arena of `len` `entries`.
fn next_handle(len: usize, label: &Pair<Rule>, entries: &str) -> Result<u32, TextError> {
    u32::try_from(len).map_err(|_| error(label, format!("too many {entries}")))
}

fn parse_raw(pair: &Pair<Rule>) -> Result<u32, TextError> {
    pair.as_str()[1..]
        .parse()
        .map_err(|_| error(pair, format!("handle `{}` is too large", pair.as_str())))
}

fn parse_literal(pair: Pair<Rule>) -> Result<Literal, TextError> {
    let lit = only_child(pair)?;
    let text = lit.as_str();
    match lit.as_rule() {
        Rule::bool_lit => Ok(Literal::Bool(text == "true")),
        Rule::int_lit => text
            .parse()
            .map(Literal::Int)
            .map_err(|_| error(&lit, format!("integer `{text}` does not fit in 64 bits"))),
        _ => match text {
            "inf" => Ok(Literal::Float(f64::INFINITY)),
            "-inf" => Ok(Literal::Float(f64::NEG_INFINITY)),
            "nan" => Ok(Literal::Float(f64::NAN)),
            _ => text
                .parse()
                .map(Literal::Float)
                .map_err(|_| error(&lit, format!("malformed float `{text}`"))),
        },
    }
}

/// A label's name and `@n` suffix.
fn parse_label(pair: &Pair<Rule>) -> Result<Label, TextError> {
    let mut name = None;
    let mut suffix = None;
    for part in pair.clone().into_inner() {
        match part.as_rule() {
            Rule::name => name = Some(parse_name(&part)?),
            Rule::suffix => {
                suffix = Some(part.as_str()[1..].parse().map_err(|_| {
                    error(&part, format!("suffix `{}` is too large", part.as_str()))
                })?)
            }
            _ => {}
        }
    }
    let name = name.ok_or_else(|| error(pair, "missing name".to_string()))?;
    Ok((name, suffix))
}

/// A name: a plain identifier, or a quoted string with its escapes resolved.
fn parse_name(pair: &Pair<Rule>) -> Result<String, TextError> {
    let inner = only_child(pair.clone())?;
    if inner.as_rule() == Rule::ident {
        return Ok(inner.as_str().to_string());
    }
    let start = inner.as_span().start();
    let text = inner.as_str();
    let body = &text[1..text.len() - 1];
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let (at, escape) = chars.next().unwrap_or((body.len(), '\\'));
        let bad = |message: &str| TextError {
            message: message.to_string(),
            span: start + at..start + 1 + at + escape.len_utf8(),
        };
        match escape {
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'u' => {
                let rest = &body[at + 1..];
                let close = rest
                    .find('}')
                    .ok_or_else(|| bad("unterminated `\\u{...}` escape"))?;
                let hex = rest
                    .strip_prefix('{')
                    .map(|r| &r[..close - 1])
                    .ok_or_else(|| bad("expected `{` after `\\u`"))?;
                let c = u32::from_str_radix(hex, 16)
                    .ok()
                    .filter(|_| !hex.is_empty() && hex.len() <= 6)
                    .and_then(char::from_u32)
                    .ok_or_else(|| bad("invalid `\\u{...}` escape"))?;
                out.push(c);
                for _ in 0..=close {
                    chars.next();
                }
            }
            _ => {
                return Err(bad(
                    "unknown escape (use \\\\, \\\", \\n, \\t, \\r or \\u{...})",
                ))
            }
        }
    }
    Ok(out)
}
