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
    expr.for_each_var(|id| *uses.entry(id).or_default() += 1);
}

fn substitute(expr: &Expr, bound: &BTreeMap<VarId, Expr>) -> Expr {
    if let Expr::Var(id) = expr {
        if let Some(value) = bound.get(id) {
            return value.clone();
        }
    }
    expr.map_operands(|operand| substitute(operand, bound))
}
