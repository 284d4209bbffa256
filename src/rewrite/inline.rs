//! Inlining of single-use locals in pointwise programs, so that equality saturation sees whole
//! expressions (`max(0.0, x0) + max(0.0, -x0)` rather than `relu_0 + relu_1`).

use std::collections::BTreeMap;

use crate::program::{Expr, Program, Signature, Stmt, VarId, VarKind};

/// `program` with every local that is assigned once (by a single-target statement) and read
/// exactly once substituted into its reader. Sequence programs are returned unchanged (their
/// locals may carry values between statements of the loop).
pub fn inline_single_use(program: &Program) -> Program {
    if matches!(program.signature, Signature::Sequence { .. }) {
        return program.clone();
    }
    let mut uses: BTreeMap<VarId, usize> = BTreeMap::new();
    let mut assigned: BTreeMap<VarId, usize> = BTreeMap::new();
    for Stmt::Assign { targets, values } in program.init.iter().chain(&program.body) {
        for t in targets {
            *assigned.entry(*t).or_default() += 1;
        }
        values.iter().for_each(|v| count_uses(v, &mut uses));
    }
    program
        .outputs
        .iter()
        .for_each(|v| count_uses(v, &mut uses));
    let inlinable = |id: VarId, single: bool| {
        single
            && program.var(id).kind == VarKind::Local
            && assigned.get(&id) == Some(&1)
            && uses.get(&id) == Some(&1)
    };
    let mut bound: BTreeMap<VarId, Expr> = BTreeMap::new();
    let mut out = program.clone();
    out.body.clear();
    for Stmt::Assign { targets, values } in &program.body {
        let values: Vec<Expr> = values.iter().map(|v| substitute(v, &bound)).collect();
        match (targets.as_slice(), values.as_slice()) {
            ([t], [v]) if inlinable(*t, true) => {
                bound.insert(*t, v.clone());
            }
            _ => out.body.push(Stmt::Assign {
                targets: targets.clone(),
                values,
            }),
        }
    }
    out.outputs = program
        .outputs
        .iter()
        .map(|v| substitute(v, &bound))
        .collect();
    out
}

fn count_uses(expr: &Expr, uses: &mut BTreeMap<VarId, usize>) {
    match expr {
        Expr::Lit(_) => {}
        Expr::Var(id) => *uses.entry(*id).or_default() += 1,
        Expr::Unary(_, a) => count_uses(a, uses),
        Expr::Binary(_, a, b) => {
            count_uses(a, uses);
            count_uses(b, uses);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| count_uses(a, uses)),
        Expr::Select {
            cond,
            then,
            otherwise,
        } => {
            count_uses(cond, uses);
            count_uses(then, uses);
            count_uses(otherwise, uses);
        }
        Expr::Lookup { index, .. } => count_uses(index, uses),
    }
}

fn substitute(expr: &Expr, bound: &BTreeMap<VarId, Expr>) -> Expr {
    match expr {
        Expr::Lit(_) => expr.clone(),
        Expr::Var(id) => bound.get(id).cloned().unwrap_or_else(|| expr.clone()),
        Expr::Unary(op, a) => Expr::Unary(*op, Box::new(substitute(a, bound))),
        Expr::Binary(op, a, b) => Expr::Binary(
            *op,
            Box::new(substitute(a, bound)),
            Box::new(substitute(b, bound)),
        ),
        Expr::Call(f, args) => Expr::Call(*f, args.iter().map(|a| substitute(a, bound)).collect()),
        Expr::Select {
            cond,
            then,
            otherwise,
        } => Expr::Select {
            cond: Box::new(substitute(cond, bound)),
            then: Box::new(substitute(then, bound)),
            otherwise: Box::new(substitute(otherwise, bound)),
        },
        Expr::Lookup {
            table,
            index,
            column,
        } => Expr::Lookup {
            table: *table,
            index: Box::new(substitute(index, bound)),
            column: *column,
        },
    }
}
