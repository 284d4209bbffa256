//! Sizes of a program, as the compilation report states them.

use super::{Expr, Program, Stmt};

/// Statements in `init` and `body` together.
pub fn count_statements(program: &Program) -> usize {
    program.init.len() + program.body.len()
}

/// Expression nodes in every right-hand side of `init` and `body` and in every output (see
/// [`Expr::node_count`]).
pub fn count_expression_nodes(program: &Program) -> usize {
    let assigned: usize = program
        .init
        .iter()
        .chain(&program.body)
        .map(|stmt| match stmt {
            Stmt::Assign { values, .. } => values.iter().map(Expr::node_count).sum::<usize>(),
        })
        .sum();
    assigned + program.outputs.iter().map(Expr::node_count).sum::<usize>()
}
