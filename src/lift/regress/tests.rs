use super::*;
use crate::program::interp::{run_pointwise, Scalar};
use crate::program::validate::validate;
use crate::program::{Argument, Expr, Program, Signature, Stmt, VarId, VarKind};
use crate::rng::SplitMix64;

/// A table over the full grid of `columns` (name, type, lowest and highest value), with
/// `target` computed per row.
fn grid(
    columns: &[(&str, Type, i64, i64)],
    target_ty: Type,
    f: impl FnMut(&[i64]) -> i64,
) -> Table {
    let mut rows: Vec<Vec<i64>> = vec![Vec::new()];
    for &(_, _, lo, hi) in columns {
        rows = rows
            .into_iter()
            .flat_map(|row| {
                (lo..=hi).map(move |v| {
                    let mut row = row.clone();
                    row.push(v);
                    row
                })
            })
            .collect();
    }
    from_rows(columns, target_ty, &rows, f)
}

fn from_rows(
    columns: &[(&str, Type, i64, i64)],
    target_ty: Type,
    rows: &[Vec<i64>],
    mut f: impl FnMut(&[i64]) -> i64,
) -> Table {
    Table {
        columns: columns
            .iter()
            .enumerate()
            .map(|(i, &(name, ty, _, _))| Column {
                name: name.to_string(),
                ty,
                values: rows.iter().map(|r| r[i]).collect(),
            })
            .collect(),
        target: rows.iter().map(|r| f(r)).collect(),
        target_ty,
    }
}

fn row_of(table: &Table, r: usize) -> Vec<i64> {
    table.columns.iter().map(|c| c.values[r]).collect()
}

/// Regresses `table`, checks the contract on every row and the program IR translation, and
/// returns the formula's text.
fn found(table: &Table) -> (Formula, String) {
    let formula = match regress(table, &Options::default()) {
        Outcome::Found(f) => f,
        Outcome::NotFound { reason } => panic!("no formula: {reason}"),
    };
    assert_eq!(formula.ty(), table.target_ty, "{formula}");
    for r in 0..table.target.len() {
        assert_eq!(
            formula.eval(&row_of(table, r)),
            Some(table.target[r]),
            "{formula} on row {r}"
        );
    }
    check_program(&formula, table);
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let text = formula.text(&names);
    (formula, text)
}

/// Builds `predict(c0, c1, ...) = formula`, validates it, and runs it with the program
/// interpreter on up to 300 rows of `table`, comparing with [`Formula::eval`].
fn check_program(formula: &Formula, table: &Table) {
    let mut program = Program::new(Signature::Pointwise {
        arguments: Vec::new(),
    });
    let columns: Vec<(VarId, Type)> = table
        .columns
        .iter()
        .map(|c| (program.add_var(&c.name, c.ty, VarKind::Input), c.ty))
        .collect();
    let result = program.add_var("result", formula.ty(), VarKind::Local);
    program.signature = Signature::Pointwise {
        arguments: columns
            .iter()
            .zip(&table.columns)
            .map(|(&(var, _), c)| Argument {
                name: c.name.clone(),
                features: vec![var],
            })
            .collect(),
    };
    program.body.push(Stmt::Assign {
        targets: vec![result],
        values: vec![formula.to_expr(&columns)],
    });
    program.outputs.push(Expr::Var(result));
    if let Err(e) = validate(&program) {
        panic!("{formula}: {e}");
    }
    let step = (table.target.len() / 300).max(1);
    for r in (0..table.target.len()).step_by(step) {
        let row = row_of(table, r);
        let args: Vec<Vec<Scalar>> = table
            .columns
            .iter()
            .zip(&row)
            .map(|(c, &v)| {
                vec![match c.ty {
                    Type::Bool => Scalar::Bool(v != 0),
                    Type::Int | Type::Float => Scalar::Int(v),
                }]
            })
            .collect();
        let expected = match (formula.eval(&row), formula.ty()) {
            (Some(v), Type::Bool) => Ok(vec![Scalar::Bool(v != 0)]),
            (Some(v), Type::Int | Type::Float) => Ok(vec![Scalar::Int(v)]),
            (None, _) => Err(()),
        };
        let got = run_pointwise(&program, &args).map_err(|_| ());
        assert_eq!(got, expected, "{formula} on row {row:?}");
    }
}

const INT: Type = Type::Int;
const BOOL: Type = Type::Bool;

#[test]
fn finds_a_sum() {
    let table = grid(&[("a", INT, -5, 9), ("b", INT, 0, 9)], INT, |r| r[0] + r[1]);
    let (formula, text) = found(&table);
    assert_eq!(text, "a + b");
    assert_eq!(formula.size(), 3);
}

#[test]
fn finds_max() {
    let table = grid(&[("a", INT, -3, 7), ("b", INT, 0, 9)], INT, |r| {
        r[0].max(r[1])
    });
    assert_eq!(found(&table).1, "max(a, b)");
}

#[test]
fn finds_abs_of_difference() {
    let table = grid(&[("a", INT, 0, 9), ("b", INT, 0, 9)], INT, |r| {
        (r[0] - r[1]).abs()
    });
    let (formula, text) = found(&table);
    assert_eq!(formula.size(), 4, "{text}");
    assert!(text == "abs(a - b)" || text == "abs(b - a)", "{text}");
}

#[test]
fn finds_sum_modulo() {
    let table = grid(&[("s", INT, 0, 4), ("x", INT, 0, 4)], INT, |r| {
        (r[0] + r[1]) % 5
    });
    assert_eq!(found(&table).1, "(s + x) % 5");
}

#[test]
fn finds_equality_as_int() {
    let table = grid(&[("x", INT, 0, 5), ("p", INT, 0, 5)], INT, |r| {
        i64::from(r[0] == r[1])
    });
    assert_eq!(found(&table).1, "int(x == p)");
}

#[test]
fn finds_xor_of_bits() {
    let table = grid(&[("a", BOOL, 0, 1), ("b", BOOL, 0, 1)], BOOL, |r| {
        r[0] ^ r[1]
    });
    assert_eq!(found(&table).1, "a ^ b");
}

#[test]
fn finds_a_conditional() {
    let table = grid(&[("s", INT, 0, 9), ("x", INT, 0, 9)], INT, |r| {
        if r[1] > 3 {
            r[0] + 1
        } else {
            0
        }
    });
    // `int(b)` counts 0, so the product is smaller than the conditional (size 8).
    let (formula, text) = found(&table);
    assert_eq!(formula.size(), 7, "{text}");
    assert_eq!(text, "(s + 1) * int(x > 3)");
}

#[test]
fn finds_a_conditional_by_target() {
    let table = grid(&[("s", INT, 0, 9), ("x", INT, 0, 9)], INT, |r| {
        if r[1] > 3 {
            r[0] * r[0]
        } else {
            r[1]
        }
    });
    let (formula, text) = found(&table);
    assert!(matches!(formula, Formula::If { .. }), "{text}");
    assert_eq!(formula.size(), 8, "{text}");
}

#[test]
fn finds_floor_division() {
    let table = grid(&[("s", INT, -20, 20)], INT, |r| r[0].div_euclid(3));
    assert_eq!(found(&table).1, "s // 3");
}

#[test]
fn finds_saturating_sum() {
    let table = grid(&[("s", INT, 0, 9), ("x", INT, 0, 9)], INT, |r| {
        (r[0] + r[1]).min(9)
    });
    assert_eq!(found(&table).1, "min(s + x, 9)");
}

#[test]
fn finds_bool_column_used_as_int() {
    let table = grid(&[("s", INT, 0, 9), ("b", BOOL, 0, 1)], INT, |r| r[0] + r[1]);
    assert_eq!(found(&table).1, "s + int(b)");
}

#[test]
fn finds_a_threshold() {
    let table = grid(&[("x", INT, 0, 9)], BOOL, |r| i64::from(r[0] > 3));
    assert_eq!(found(&table).1, "x > 3");
}

#[test]
fn answers_a_constant_target_at_once() {
    let table = grid(&[("x", INT, 0, 9)], BOOL, |_| 1);
    assert_eq!(found(&table).0, Formula::Bool(true));
    let table = grid(&[("x", INT, 0, 9)], INT, |_| -7);
    assert_eq!(found(&table).0, Formula::Int(-7));
}

/// A table of random targets over `a, b` in `0..=7`.
fn random_table(seed: u64) -> Table {
    let mut rng = SplitMix64::new(seed);
    grid(&[("a", INT, 0, 7), ("b", INT, 0, 7)], INT, |_| {
        rng.int_in(0, 50)
    })
}

#[test]
fn a_random_table_has_no_formula() {
    let options = Options {
        max_size: 6,
        ..Options::default()
    };
    match regress(&random_table(7), &options) {
        Outcome::NotFound {
            reason: Reason::Exhausted { max_size: 6 } | Reason::Budget { .. },
        } => {}
        other => panic!("expected no formula, got {other:?}"),
    }
}

#[test]
fn the_budget_is_reported() {
    let options = Options {
        max_evaluations: 1_000,
        ..Options::default()
    };
    assert_eq!(
        regress(&random_table(9), &options),
        Outcome::NotFound {
            reason: Reason::Budget { evaluations: 1_000 }
        }
    );
}

#[test]
fn equal_rows_with_different_targets_are_not_a_function() {
    let columns = [("a", INT, 0, 0), ("b", INT, 0, 0)];
    let rows = vec![vec![1, 2], vec![3, 4], vec![1, 2], vec![1, 2]];
    let mut table = from_rows(&columns, INT, &rows, |r| r[0] + r[1]);
    table.target[3] = 0;
    assert_eq!(
        regress(&table, &Options::default()),
        Outcome::NotFound {
            reason: Reason::NotAFunction {
                first: 0,
                second: 3
            }
        }
    );
}

#[test]
fn malformed_tables_are_reported() {
    let mut table = grid(&[("a", INT, 0, 3)], INT, |r| r[0]);
    table.target.pop();
    assert!(matches!(
        regress(&table, &Options::default()),
        Outcome::NotFound {
            reason: Reason::InvalidTable { .. }
        }
    ));
    let table = grid(&[("a", BOOL, 0, 2)], INT, |r| r[0]);
    assert!(matches!(
        regress(&table, &Options::default()),
        Outcome::NotFound {
            reason: Reason::InvalidTable { .. }
        }
    ));
}

#[test]
fn a_tiny_sample_grows_by_counterexamples() {
    let table = grid(&[("a", INT, 0, 30), ("b", INT, 0, 30)], INT, |r| {
        2 * r[0] - r[1]
    });
    let options = Options {
        sample_rows: 2,
        ..Options::default()
    };
    let Outcome::Found(formula) = regress(&table, &options) else {
        panic!("no formula");
    };
    assert_eq!(formula.size(), 5, "{formula}");
    for r in 0..table.target.len() {
        assert_eq!(formula.eval(&row_of(&table, r)), Some(table.target[r]));
    }
}

#[test]
fn the_same_table_gives_the_same_formula_whatever_the_row_order() {
    let table = grid(&[("s", INT, 0, 9), ("x", INT, 0, 9)], INT, |r| {
        (r[0] * r[1]) % 7
    });
    let first = found(&table).0;
    assert_eq!(found(&table).0, first);
    let mut shuffled = table.clone();
    for column in shuffled.columns.iter_mut() {
        column.values.reverse();
    }
    shuffled.target.reverse();
    assert_eq!(found(&shuffled).0, first);
}

#[test]
fn a_large_table_is_fitted_exactly() {
    let mut rng = SplitMix64::new(3);
    let rows: Vec<Vec<i64>> = (0..100_000)
        .map(|_| {
            vec![
                rng.int_in(0, 99),
                rng.int_in(-50, 50),
                rng.int_in(0, 1),
                rng.int_in(0, 9),
            ]
        })
        .collect();
    let columns = [
        ("s", INT, 0, 0),
        ("x", INT, 0, 0),
        ("b", BOOL, 0, 0),
        ("k", INT, 0, 0),
    ];
    let table = from_rows(&columns, INT, &rows, |r| (r[0] + r[1]).max(r[3]));
    assert_eq!(found(&table).1, "max(s + x, k)");
}

#[test]
fn to_expr_converts_operand_types() {
    let columns = [("b", BOOL, 0, 1), ("n", INT, -4, 4)];
    let table = grid(&columns, INT, |_| 0);
    let col = |index: usize, ty: Type| Box::new(Formula::Column { index, ty });
    let formulas = [
        // A Bool in arithmetic, an Int as a condition, mixed branches.
        Formula::Binary(BinOp::Add, col(0, BOOL), col(1, INT)),
        Formula::If {
            cond: col(1, INT),
            then: col(0, BOOL),
            otherwise: Box::new(Formula::Int(5)),
        },
        Formula::Unary(UnOp::Not, col(1, INT)),
        Formula::Binary(BinOp::Xor, col(0, BOOL), col(1, INT)),
        Formula::Binary(BinOp::FloorDiv, Box::new(Formula::Int(7)), col(1, INT)),
        Formula::Binary(BinOp::Mod, col(1, INT), Box::new(Formula::Int(-3))),
        Formula::Unary(UnOp::Abs, col(1, INT)),
        Formula::Binary(BinOp::Ge, col(1, INT), Box::new(Formula::Int(-1))),
    ];
    let expected_types = [INT, INT, BOOL, BOOL, INT, INT, INT, BOOL];
    for (formula, ty) in formulas.iter().zip(expected_types) {
        assert_eq!(formula.ty(), ty, "{formula}");
        check_program(formula, &table);
    }
}

#[test]
fn eval_follows_python_semantics() {
    let f = |op, a, b| Formula::Binary(op, Box::new(Formula::Int(a)), Box::new(Formula::Int(b)));
    assert_eq!(f(BinOp::FloorDiv, -7, 2).eval(&[]), Some(-4));
    assert_eq!(f(BinOp::Mod, -7, 2).eval(&[]), Some(1));
    assert_eq!(f(BinOp::Mod, 7, -2).eval(&[]), Some(-1));
    assert_eq!(f(BinOp::FloorDiv, 1, 0).eval(&[]), None);
    assert_eq!(f(BinOp::Mod, 1, 0).eval(&[]), None);
    assert_eq!(f(BinOp::Add, i64::MAX, 1).eval(&[]), None);
    assert_eq!(f(BinOp::FloorDiv, i64::MIN, -1).eval(&[]), None);
    assert_eq!(f(BinOp::Mod, i64::MIN, -1).eval(&[]), Some(0));
    let missing = Formula::Column { index: 3, ty: INT };
    assert_eq!(missing.eval(&[1, 2]), None);
}
