//! Writing the lifted program: state variables named by their role, one parallel update per
//! step, and the output formula before or after it; or a finite machine's transition table.
//!
//! Roles are read off the update formulas: a coordinate set to the input is the previous input
//! (`prev`), one set to `prevN` is `prev{N+1}`, one that adds the input to itself is a running
//! `total`, one that adds a constant to itself is a `count`, and the coordinate of a finite
//! machine is its `state`; a counter of an input value `v` is `count{v}`. Anything else is `s0`,
//! `s1`, ... Names are hints: the Python backend allocates the printed identifiers.

use crate::program::{
    BinaryOp, Expr, Literal, LoopDirection, Program, Signature, Stmt, Table, Type, VarId, VarKind,
};

use super::finite::Machine;
use super::solve::{Fit, OutputSource, Solution};

/// How the state variables of a formula program are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// By the role their update formula shows (`prev`, `total`, `count`, else `s0`, `s1`, ...).
    ByRole,
    /// The one coordinate of a finite machine: `state` (a shift register still reads `prev`).
    MachineState,
    /// One counter per input value, the values counted from `lo` up: `count{v}`.
    Counts { lo: i64 },
}

/// `targets = values`, in parallel.
fn assign(targets: Vec<VarId>, values: Vec<Expr>) -> Stmt {
    Stmt::Assign { targets, values }
}

fn int(value: i64) -> Expr {
    Expr::Lit(Literal::Int(value))
}

/// An empty sequence program with `input_dim` integer step inputs (`x`, or `x0`, `x1`, ...).
fn sequence_skeleton(input_dim: usize, direction: LoopDirection) -> (Program, Vec<VarId>) {
    let mut program = Program::new(Signature::Sequence {
        step_inputs: Vec::new(),
        direction,
    });
    let inputs: Vec<VarId> = (0..input_dim)
        .map(|j| {
            let name = if input_dim == 1 {
                "x".to_string()
            } else {
                format!("x{j}")
            };
            program.add_var(name, Type::Int, VarKind::Input)
        })
        .collect();
    (program, inputs)
}

/// Writes the sequence program of a solution with `input_dim` integer inputs per step.
pub fn write_formula_program(
    solution: &Solution,
    input_dim: usize,
    direction: LoopDirection,
    naming: Naming,
) -> Program {
    let r = solution.kept.len();
    let (mut program, inputs) = sequence_skeleton(input_dim, direction);
    let names = role_names(solution, input_dim, naming);
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
    let update_columns = |width: usize| -> Vec<(VarId, Type)> {
        // An update's columns are all original coordinates, then the inputs.
        let coords = width - input_dim;
        let mut columns = before_columns.clone();
        columns.resize(coords, (VarId(u32::MAX), Type::Int));
        full_before(&columns)
    };

    if r > 0 {
        let initial = solution.initial.iter().map(|&v| int(v)).collect();
        program.init.push(assign(states.clone(), initial));
    }

    let mut before_outputs = Vec::new();
    let mut after_outputs = Vec::new();
    for (k, (source, fit)) in solution.outputs.iter().enumerate() {
        let name = output_name(k, solution.outputs.len());
        let var = program.add_var(name, Type::Int, VarKind::Local);
        let columns = match source {
            OutputSource::BeforeUpdate => update_columns(fit.width()),
            OutputSource::AfterUpdate => {
                let mut columns = before_columns.clone();
                columns.resize(fit.width(), (VarId(u32::MAX), Type::Int));
                columns
            }
        };
        let stmt = assign(vec![var], vec![fit.to_expr(&columns)]);
        match source {
            OutputSource::BeforeUpdate => before_outputs.push(stmt),
            OutputSource::AfterUpdate => after_outputs.push(stmt),
        }
        program.outputs.push(Expr::Var(var));
    }
    program.body.extend(before_outputs);
    if r > 0 {
        let updates = solution
            .updates
            .iter()
            .map(|fit| fit.to_expr(&update_columns(fit.width())))
            .collect();
        program.body.push(assign(states.clone(), updates));
    }
    program.body.extend(after_outputs);
    program.signature = Signature::Sequence {
        step_inputs: inputs,
        direction,
    };
    program
}

/// The name of output `k` of `count`: `y` when there is one, else `y0`, `y1`, ...
fn output_name(k: usize, count: usize) -> String {
    if count == 1 {
        "y".to_string()
    } else {
        format!("y{k}")
    }
}

/// A name for every kept coordinate, from the shape of its update.
fn role_names(solution: &Solution, input_dim: usize, naming: Naming) -> Vec<String> {
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
                return if deepest == 1 {
                    "prev".to_string()
                } else {
                    format!("prev{l}")
                };
            }
            if naming == Naming::MachineState {
                return "state".to_string();
            }
            if let Naming::Counts { lo } = naming {
                let value = lo.saturating_add(solution.kept[slot] as i64);
                return if value < 0 {
                    format!("count_neg{}", value.unsigned_abs())
                } else {
                    format!("count{value}")
                };
            }
            if let Fit::Linear(fit) = &solution.updates[slot] {
                let own = solution.kept[slot];
                let inputs = &fit.coefficients[fit.coefficients.len() - input_dim..];
                let others_zero =
                    fit.coefficients.iter().enumerate().all(|(c, &a)| {
                        c == own || c >= fit.coefficients.len() - input_dim || a == 0
                    });
                if fit.coefficients.get(own) == Some(&1) && others_zero {
                    if inputs.iter().any(|&a| a != 0) && fit.constant == 0 {
                        totals += 1;
                        return if totals == 1 {
                            "total".to_string()
                        } else {
                            format!("total{totals}")
                        };
                    }
                    if inputs.iter().all(|&a| a == 0) && fit.constant != 0 {
                        counts += 1;
                        return if counts == 1 {
                            "count".to_string()
                        } else {
                            format!("count{counts}")
                        };
                    }
                }
            }
            format!("s{slot}")
        })
        .collect()
}

/// Writes the program of a finite machine with no short formulas: its transitions as a table,
/// indexed by the state and the inputs, `TRANSITIONS[state * inputs + input] = (next, outputs...)`.
///
/// `ranges` are the inputs' `(lo, hi)`. A complete machine has every row; an incomplete one
/// (its unobserved transitions could not be read off the network within the limits) gets the
/// state itself and zero outputs in the missing rows, and the driver's verification judges
/// whether they matter.
pub fn write_table_program(
    machine: &Machine,
    ranges: &[(i64, i64)],
    output_dim: usize,
    direction: LoopDirection,
) -> Program {
    let input_dim = ranges.len();
    let (mut program, inputs) = sequence_skeleton(input_dim, direction);
    let state = program.add_var("state", Type::Int, VarKind::State);
    let sizes: Vec<i64> = ranges.iter().map(|&(lo, hi)| hi - lo + 1).collect();
    let per_state: i64 = sizes.iter().product();
    let columns = 1 + output_dim;
    let mut data = Vec::with_capacity(machine.count * per_state as usize * columns);
    for s in 0..machine.count {
        for mut index in 0..per_state {
            // The input whose offsets from the lows spell `index`, last feature fastest.
            let mut input = vec![0i64; input_dim];
            for j in (0..input_dim).rev() {
                input[j] = ranges[j].0 + index % sizes[j];
                index /= sizes[j];
            }
            let (next, outputs) = machine
                .transitions
                .get(&(s, input))
                .cloned()
                .unwrap_or((s, vec![0; output_dim]));
            data.push(Literal::Int(next as i64));
            data.extend(outputs.iter().map(|&y| Literal::Int(y)));
        }
    }
    let table = program.add_table(Table {
        name: "transitions".to_string(),
        ty: Type::Int,
        columns,
        data,
    });
    // row = state * per_state + sum over features of (x_j - lo_j) * stride_j
    let mut row = Expr::binary(BinaryOp::Mul, Expr::Var(state), int(per_state));
    let mut stride = 1;
    for j in (0..input_dim).rev() {
        let mut offset = Expr::Var(inputs[j]);
        if ranges[j].0 != 0 {
            offset = Expr::binary(BinaryOp::Sub, offset, int(ranges[j].0));
        }
        if stride != 1 {
            offset = Expr::binary(BinaryOp::Mul, offset, int(stride));
        }
        row = Expr::binary(BinaryOp::Add, row, offset);
        stride *= sizes[j];
    }
    let row_var = program.add_var("row", Type::Int, VarKind::Local);
    program
        .init
        .push(assign(vec![state], vec![int(machine.initial() as i64)]));
    program.body.push(assign(vec![row_var], vec![row]));
    let lookup = |column: usize| Expr::Lookup {
        table,
        index: Box::new(Expr::Var(row_var)),
        column,
    };
    for k in 0..output_dim {
        let name = output_name(k, output_dim);
        let y = program.add_var(name, Type::Int, VarKind::Local);
        program.body.push(assign(vec![y], vec![lookup(1 + k)]));
        program.outputs.push(Expr::Var(y));
    }
    program.body.push(assign(vec![state], vec![lookup(0)]));
    program.signature = Signature::Sequence {
        step_inputs: inputs,
        direction,
    };
    program
}
