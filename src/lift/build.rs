//! Building the lifted program: state variables named by their role, one parallel update per
//! step, and the output formula before or after it.
//!
//! Roles are read off the update formulas: a coordinate set to the input is the previous input
//! (`prev`), one set to `prevN` is `prev{N+1}`, one that adds the input to itself is a running
//! `total`, one that adds a constant to itself is a `count`, and the coordinate of a finite
//! machine is its `state`. Anything else is `s0`, `s1`, ... Names are hints: the Python backend
//! allocates the printed identifiers.

use crate::program::{
    Expr, LoopDirection, Program, Signature, Stmt, Type, VarId, VarKind,
};

use super::solve::{Fit, OutputSource, Solution};

/// How the coordinates were found, for naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Lattice,
    Window,
    Finite,
}

/// Builds the sequence program of a solved machine with `input_dim` integer inputs per step.
pub fn build_program(
    solution: &Solution,
    input_dim: usize,
    direction: LoopDirection,
    coding: Coding,
) -> Program {
    let r = solution.kept.len();
    let mut program = Program {
        vars: Vec::new(),
        tables: Vec::new(),
        signature: Signature::Sequence {
            step_inputs: Vec::new(),
            direction,
        },
        init: Vec::new(),
        body: Vec::new(),
        outputs: Vec::new(),
    };
    let inputs: Vec<VarId> = (0..input_dim)
        .map(|j| {
            let name = if input_dim == 1 { "x".to_string() } else { format!("x{j}") };
            program.add_var(name, Type::Int, VarKind::Input)
        })
        .collect();
    let names = role_names(solution, input_dim, coding);
    let states: Vec<VarId> = names
        .iter()
        .map(|name| program.add_var(name.clone(), Type::Int, VarKind::State))
        .collect();
    // Update formulas read the original coordinates; map kept ones to their variables.
    let original_width = solution.kept.iter().max().map_or(0, |m| m + 1);
    let mut before_columns: Vec<(VarId, Type)> = vec![(VarId(u32::MAX), Type::Int); original_width];
    for (slot, &original) in solution.kept.iter().enumerate() {
        before_columns[original] = (states[slot], Type::Int);
    }
    let full_before = |columns: &[(VarId, Type)]| -> Vec<(VarId, Type)> {
        columns
            .iter()
            .copied()
            .chain(inputs.iter().map(|&v| (v, Type::Int)))
            .collect()
    };
    let widths: Vec<usize> = solution.updates.iter().map(width_of).collect();
    let update_columns = |width: usize| -> Vec<(VarId, Type)> {
        // An update's columns are all original coordinates, then the inputs.
        let coords = width - input_dim;
        let mut columns = before_columns.clone();
        columns.resize(coords, (VarId(u32::MAX), Type::Int));
        full_before(&columns)
    };

    if r > 0 {
        program.init.push(Stmt::Assign {
            targets: states.clone(),
            values: solution
                .initial
                .iter()
                .map(|&v| Expr::Lit(crate::program::Literal::Int(v)))
                .collect(),
        });
    }

    let mut before_outputs = Vec::new();
    let mut after_outputs = Vec::new();
    for (k, (source, fit)) in solution.outputs.iter().enumerate() {
        let name = if solution.outputs.len() == 1 { "y".to_string() } else { format!("y{k}") };
        let var = program.add_var(name, Type::Int, VarKind::Local);
        let columns = match source {
            OutputSource::BeforeUpdate => update_columns(width_of(fit)),
            OutputSource::AfterUpdate => {
                let mut columns = before_columns.clone();
                columns.resize(width_of(fit), (VarId(u32::MAX), Type::Int));
                columns
            }
        };
        let stmt = Stmt::Assign {
            targets: vec![var],
            values: vec![fit.to_expr(&columns)],
        };
        match source {
            OutputSource::BeforeUpdate => before_outputs.push(stmt),
            OutputSource::AfterUpdate => after_outputs.push(stmt),
        }
        program.outputs.push(Expr::Var(var));
    }
    program.body.extend(before_outputs);
    if r > 0 {
        program.body.push(Stmt::Assign {
            targets: states.clone(),
            values: solution
                .updates
                .iter()
                .zip(&widths)
                .map(|(fit, &w)| fit.to_expr(&update_columns(w)))
                .collect(),
        });
    }
    program.body.extend(after_outputs);
    program.signature = Signature::Sequence {
        step_inputs: inputs,
        direction,
    };
    program
}

fn width_of(fit: &Fit) -> usize {
    fit.width()
}

/// A name for every kept coordinate, from the shape of its update.
fn role_names(solution: &Solution, input_dim: usize, coding: Coding) -> Vec<String> {
    let r = solution.kept.len();
    let original_width = solution.kept.iter().max().map_or(0, |m| m + 1);
    // Lag of each coordinate when it is a shift register of the (single) input.
    let mut lag: Vec<Option<usize>> = vec![None; r];
    let position_of = |original: usize| solution.kept.iter().position(|&k| k == original);
    for _ in 0..r {
        for slot in 0..r {
            if lag[slot].is_some() {
                continue;
            }
            if let Fit::Linear(fit) = &solution.updates[slot] {
                let nonzero: Vec<usize> = (0..fit.coefficients.len())
                    .filter(|&c| fit.coefficients[c] != 0)
                    .collect();
                if fit.constant != 0 || nonzero.len() != 1 || fit.coefficients[nonzero[0]] != 1 {
                    continue;
                }
                let c = nonzero[0];
                if input_dim == 1 && c == fit.coefficients.len() - 1 {
                    lag[slot] = Some(1);
                } else if c < original_width {
                    if let Some(source) = position_of(c).and_then(|p| lag[p]) {
                        lag[slot] = Some(source + 1);
                    }
                }
            }
        }
    }
    let deepest = lag.iter().flatten().max().copied().unwrap_or(0);
    let mut totals = 0;
    let mut counts = 0;
    (0..r)
        .map(|slot| {
            if let Some(l) = lag[slot] {
                return if deepest == 1 { "prev".to_string() } else { format!("prev{l}") };
            }
            if coding == Coding::Finite {
                return "state".to_string();
            }
            if let Fit::Linear(fit) = &solution.updates[slot] {
                let own = solution.kept[slot];
                let inputs = &fit.coefficients[fit.coefficients.len() - input_dim..];
                let others_zero = fit
                    .coefficients
                    .iter()
                    .enumerate()
                    .all(|(c, &a)| c == own || c >= fit.coefficients.len() - input_dim || a == 0);
                if fit.coefficients.get(own) == Some(&1) && others_zero {
                    if inputs.iter().any(|&a| a != 0) && fit.constant == 0 {
                        totals += 1;
                        return if totals == 1 { "total".to_string() } else { format!("total{totals}") };
                    }
                    if inputs.iter().all(|&a| a == 0) && fit.constant != 0 {
                        counts += 1;
                        return if counts == 1 { "count".to_string() } else { format!("count{counts}") };
                    }
                }
            }
            format!("s{slot}")
        })
        .collect()
}
