//! Solving the discretised machine: one exact formula for every state coordinate's update and for
//! every output, found by regression on tables built from the trace.
//!
//! Every table is checked to be a function first (equal rows, equal targets). Each is fitted by
//! integer linear regression and by enumerative symbolic regression; the smaller exact fit wins.
//! Outputs are fitted twice, from the state before the step and the input, and from the state after
//! the step alone; the smaller wins. An output read from the state alone may also be the label of
//! its largest coordinate ([`super::argmax`]). Coordinates that no output depends on, directly or
//! through other coordinates, are dropped, whether or not their update has a formula.

use std::collections::BTreeMap;

use crate::program::{BinaryOp, Expr, Literal, Type, VarId};

use super::argmax::fit_argmax;
use super::finite::round_output;
use super::linear::{fit_integer_linear, LinearFit};
use super::regress::{self, Column, Formula, Outcome};
use super::trace::{Trace, TraceStep};

/// An exact fit of one table, over its columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Fit {
    Linear(LinearFit),
    /// An enumerated formula over `width` columns.
    Formula {
        formula: Formula,
        width: usize,
    },
}

impl Fit {
    /// The fit as a program expression, column `i` read from `columns[i]`.
    pub fn to_expr(&self, columns: &[(VarId, Type)]) -> Expr {
        match self {
            Fit::Formula { formula, .. } => formula.to_expr(columns),
            Fit::Linear(fit) => linear_expr(fit, columns),
        }
    }

    /// Size in expression nodes.
    pub fn size(&self) -> usize {
        let columns: Vec<(VarId, Type)> = (0..self.width())
            .map(|i| (VarId(i as u32), Type::Int))
            .collect();
        self.to_expr(&columns).node_count()
    }

    /// The columns the fit reads.
    pub fn used_columns(&self) -> Vec<usize> {
        let columns: Vec<(VarId, Type)> = (0..self.width())
            .map(|i| (VarId(i as u32), Type::Int))
            .collect();
        let mut used = Vec::new();
        collect_vars(&self.to_expr(&columns), &mut used);
        used.sort_unstable();
        used.dedup();
        used
    }

    /// Number of columns the fit was made on.
    pub fn width(&self) -> usize {
        match self {
            Fit::Linear(fit) => fit.coefficients.len(),
            Fit::Formula { width, .. } => *width,
        }
    }
}

/// `c + sum a_i * x_i`, written the way a person would: no zero terms, no `1 *`, subtraction for
/// negative coefficients, the constant last.
fn linear_expr(fit: &LinearFit, columns: &[(VarId, Type)]) -> Expr {
    let mut expr: Option<Expr> = None;
    let push = |expr: &mut Option<Expr>, magnitude: Expr, negative: bool| {
        *expr = Some(match expr.take() {
            None if negative => Expr::Unary(crate::program::UnaryOp::Neg, Box::new(magnitude)),
            None => magnitude,
            Some(left) => Expr::Binary(
                if negative {
                    BinaryOp::Sub
                } else {
                    BinaryOp::Add
                },
                Box::new(left),
                Box::new(magnitude),
            ),
        });
    };
    for (&a, &(var, _)) in fit.coefficients.iter().zip(columns) {
        if a == 0 {
            continue;
        }
        let term = if a.unsigned_abs() == 1 {
            Expr::Var(var)
        } else {
            Expr::Binary(
                BinaryOp::Mul,
                Box::new(Expr::Lit(Literal::Int(a.unsigned_abs() as i64))),
                Box::new(Expr::Var(var)),
            )
        };
        push(&mut expr, term, a < 0);
    }
    let c = fit.constant;
    if c != 0 || expr.is_none() {
        let lit = Expr::Lit(Literal::Int(if expr.is_some() {
            c.unsigned_abs() as i64
        } else {
            c
        }));
        if expr.is_some() {
            push(&mut expr, lit, c < 0);
        } else {
            expr = Some(lit);
        }
    }
    expr.unwrap_or(Expr::Lit(Literal::Int(0)))
}

fn collect_vars(e: &Expr, out: &mut Vec<usize>) {
    match e {
        Expr::Lit(_) => {}
        Expr::Var(v) => out.push(v.0 as usize),
        Expr::Unary(_, a) => collect_vars(a, out),
        Expr::Binary(_, a, b) => {
            collect_vars(a, out);
            collect_vars(b, out);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| collect_vars(a, out)),
        Expr::Select {
            cond,
            then,
            otherwise,
        } => {
            collect_vars(cond, out);
            collect_vars(then, out);
            collect_vars(otherwise, out);
        }
        Expr::Lookup { index, .. } => collect_vars(index, out),
    }
}

/// Where an output's formula reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputSource {
    /// Columns: the state coordinates before the step, then the inputs.
    BeforeUpdate,
    /// Columns: the state coordinates after the step.
    AfterUpdate,
}

/// The solved machine: formulas over coordinates and inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Initial value of every kept coordinate.
    pub initial: Vec<i64>,
    /// Update of every kept coordinate, over columns `[coordinates before..., inputs...]`.
    pub updates: Vec<Fit>,
    /// Which original coordinates were kept (ascending).
    pub kept: Vec<usize>,
    pub outputs: Vec<(OutputSource, Fit)>,
    /// Total size in expression nodes.
    pub size: usize,
}

/// Why a discretised machine has no formulas.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsolved(pub String);

/// Fits every update and output of the machine whose coordinates are `codes` (one vector per
/// traced state) on the trace.
///
/// `options` bounds the enumerative search; `None` fits integer linear formulas only (cheap, for
/// comparing many codings of one state).
pub fn solve(
    trace: &Trace,
    codes: &[Vec<i64>],
    options: Option<&regress::Options>,
) -> Result<Solution, Unsolved> {
    let r = codes.first().map_or(0, Vec::len);
    let d = trace.input_dim;
    // Steps whose states have no coordinates (not measured) are left out of every table.
    let usable: Vec<&TraceStep> = trace
        .steps
        .iter()
        .filter(|s| codes[s.before].len() == r && codes[s.after].len() == r)
        .collect();
    if usable.is_empty() {
        return Err(Unsolved("no step has measured coordinates".to_string()));
    }
    let before_rows: Vec<Vec<i64>> = usable
        .iter()
        .map(|s| codes[s.before].iter().chain(&s.input).copied().collect())
        .collect();
    let before_names: Vec<String> = (0..r)
        .map(|i| format!("s{i}"))
        .chain((0..d).map(|j| format!("x{j}")))
        .collect();
    // A coordinate without a formula only matters if an output depends on it (checked below).
    let updates: Vec<Result<Fit, Unsolved>> = (0..r)
        .map(|i| {
            let target: Vec<i64> = usable.iter().map(|s| codes[s.after][i]).collect();
            fit_table(&before_names, &before_rows, &target, options, false)
                .map_err(|why| Unsolved(format!("state coordinate {i}: {why}")))
        })
        .collect();
    let after_rows: Vec<Vec<i64>> = usable.iter().map(|s| codes[s.after].clone()).collect();
    let after_names: Vec<String> = (0..r).map(|i| format!("s{i}")).collect();
    let mut outputs = Vec::with_capacity(trace.output_dim);
    for k in 0..trace.output_dim {
        let target: Vec<i64> = usable.iter().map(|s| round_output(s.output[k])).collect();
        let before = fit_table(&before_names, &before_rows, &target, options, false);
        let after = fit_table(&after_names, &after_rows, &target, options, true);
        let chosen = match (before, after) {
            (Ok(b), Ok(a)) if a.size() < b.size() => (OutputSource::AfterUpdate, a),
            (Ok(b), _) => (OutputSource::BeforeUpdate, b),
            (Err(_), Ok(a)) => (OutputSource::AfterUpdate, a),
            (Err(why), Err(_)) => return Err(Unsolved(format!("output {k}: {why}"))),
        };
        outputs.push(chosen);
    }
    // Liveness: what the outputs read, closed under what the kept updates read.
    let mut live = vec![false; r];
    let mut work: Vec<usize> = Vec::new();
    for (source, fit) in &outputs {
        for c in fit.used_columns() {
            if c < r && !live[c] {
                live[c] = true;
                work.push(c);
            }
        }
        let _ = source;
    }
    while let Some(i) = work.pop() {
        let update = updates[i].as_ref().map_err(Unsolved::clone)?;
        for c in update.used_columns() {
            if c < r && !live[c] {
                live[c] = true;
                work.push(c);
            }
        }
    }
    let kept: Vec<usize> = (0..r).filter(|&i| live[i]).collect();
    let initial: Vec<i64> = kept.iter().map(|&i| codes[0][i]).collect();
    let kept_updates: Vec<Fit> = kept
        .iter()
        .map(|&i| updates[i].clone())
        .collect::<Result<_, _>>()?;
    let size = kept_updates.iter().map(Fit::size).sum::<usize>()
        + outputs.iter().map(|(_, f)| f.size()).sum::<usize>();
    Ok(Solution {
        initial,
        updates: kept_updates,
        kept,
        outputs,
        size,
    })
}

/// The smallest of the exact linear fit, the enumerated formula and, when every column is a
/// state coordinate (`state_only`), the largest-coordinate chain ([`fit_argmax`]); an error says
/// why none exists.
fn fit_table(
    names: &[String],
    rows: &[Vec<i64>],
    target: &[i64],
    options: Option<&regress::Options>,
    state_only: bool,
) -> Result<Fit, String> {
    // Distinct rows only: the trace repeats them many times.
    let mut table: BTreeMap<&[i64], i64> = BTreeMap::new();
    for (row, &y) in rows.iter().zip(target) {
        if let Some(&seen) = table.get(row.as_slice()) {
            if seen != y {
                return Err(format!(
                    "not a function of the discretised state and input: row {row:?} gives {seen} and {y}"
                ));
            }
        } else {
            table.insert(row, y);
        }
    }
    let distinct_rows: Vec<Vec<i64>> = table.keys().map(|r| r.to_vec()).collect();
    let distinct_target: Vec<i64> = table.values().copied().collect();
    let linear = fit_integer_linear(&distinct_rows, &distinct_target).map(Fit::Linear);
    let width = names.len();
    let columns: Vec<Column> = (0..width)
        .map(|i| Column {
            name: names[i].clone(),
            ty: Type::Int,
            values: distinct_rows.iter().map(|r| r[i]).collect(),
        })
        .collect();
    let problem = regress::Table {
        columns,
        target: distinct_target,
        target_ty: Type::Int,
    };
    let enumerated = match options.map(|o| regress::regress(&problem, o)) {
        Some(Outcome::Found(formula)) => Some(Fit::Formula { formula, width }),
        Some(Outcome::NotFound { .. }) | None => None,
    };
    let chain = if state_only && options.is_some() {
        fit_argmax(&distinct_rows, &problem.target).map(|formula| Fit::Formula { formula, width })
    } else {
        None
    };
    // Smallest first; on a tie the linear fit, then the chain (it reads as "the most frequent"),
    // then the enumerated formula.
    [linear, chain, enumerated]
        .into_iter()
        .flatten()
        .min_by_key(Fit::size)
        .ok_or_else(|| "no formula found within the search limits".to_string())
}
