//! A test oracle: the program IR evaluated with Python's semantics, and a Python-like rendering
//! for failure messages. Independent of `program::interp` so that the lowering tests run alone;
//! `pointwise_programs_match_the_network_interpreter` checks that the two agree.

use nn2py::program::interp::Scalar;
use nn2py::program::{
    BinaryOp, Expr, Func, Literal, LoopDirection, Program, Signature, Stmt, UnaryOp, VarKind,
};

pub fn num(s: Scalar) -> f64 {
    match s {
        Scalar::Int(i) => i as f64,
        Scalar::Float(f) => f,
        Scalar::Bool(b) => panic!("arithmetic on bool {b}"),
    }
}

fn floor_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

pub fn eval(p: &Program, env: &[Option<Scalar>], e: &Expr) -> Scalar {
    match e {
        Expr::Lit(Literal::Int(i)) => Scalar::Int(*i),
        Expr::Lit(Literal::Float(f)) => Scalar::Float(*f),
        Expr::Lit(Literal::Bool(b)) => Scalar::Bool(*b),
        Expr::Var(v) => env[v.0 as usize].unwrap_or_else(|| panic!("{v:?} read before set")),
        Expr::Unary(UnaryOp::Neg, a) => match eval(p, env, a) {
            Scalar::Int(i) => Scalar::Int(-i),
            other => Scalar::Float(-num(other)),
        },
        Expr::Unary(UnaryOp::Not, a) => match eval(p, env, a) {
            Scalar::Bool(b) => Scalar::Bool(!b),
            other => panic!("not of {other:?}"),
        },
        Expr::Binary(op, a, b) => {
            let (x, y) = (eval(p, env, a), eval(p, env, b));
            let ints = match (x, y) {
                (Scalar::Int(i), Scalar::Int(j)) => Some((i, j)),
                _ => None,
            };
            let bools = match (x, y) {
                (Scalar::Bool(i), Scalar::Bool(j)) => Some((i, j)),
                _ => None,
            };
            match op {
                BinaryOp::Add => {
                    ints.map_or(Scalar::Float(num(x) + num(y)), |(i, j)| Scalar::Int(i + j))
                }
                BinaryOp::Sub => {
                    ints.map_or(Scalar::Float(num(x) - num(y)), |(i, j)| Scalar::Int(i - j))
                }
                BinaryOp::Mul => {
                    ints.map_or(Scalar::Float(num(x) * num(y)), |(i, j)| Scalar::Int(i * j))
                }
                BinaryOp::Div => Scalar::Float(num(x) / num(y)),
                BinaryOp::FloorDiv => {
                    let (i, j) = ints.expect("int floordiv");
                    Scalar::Int(floor_div(i, j))
                }
                BinaryOp::Mod => {
                    let (i, j) = ints.expect("int mod");
                    Scalar::Int(i - j * floor_div(i, j))
                }
                BinaryOp::Lt => Scalar::Bool(num(x) < num(y)),
                BinaryOp::Le => Scalar::Bool(num(x) <= num(y)),
                BinaryOp::Gt => Scalar::Bool(num(x) > num(y)),
                BinaryOp::Ge => Scalar::Bool(num(x) >= num(y)),
                BinaryOp::Eq => {
                    Scalar::Bool(bools.map_or_else(|| num(x) == num(y), |(i, j)| i == j))
                }
                BinaryOp::Ne => {
                    Scalar::Bool(bools.map_or_else(|| num(x) != num(y), |(i, j)| i != j))
                }
                BinaryOp::And => bools.map(|(i, j)| Scalar::Bool(i && j)).expect("bool and"),
                BinaryOp::Or => bools.map(|(i, j)| Scalar::Bool(i || j)).expect("bool or"),
                BinaryOp::Xor => bools.map(|(i, j)| Scalar::Bool(i != j)).expect("bool xor"),
            }
        }
        Expr::Call(f, args) => {
            let vals: Vec<Scalar> = args.iter().map(|a| eval(p, env, a)).collect();
            let x = vals[0];
            match f {
                Func::Abs => match x {
                    Scalar::Int(i) => Scalar::Int(i.abs()),
                    other => Scalar::Float(num(other).abs()),
                },
                Func::Max | Func::Min => {
                    // Python's max/min keep the first of equal candidates.
                    let mut best = x;
                    for &v in &vals[1..] {
                        let better = if *f == Func::Max {
                            num(v) > num(best)
                        } else {
                            num(v) < num(best)
                        };
                        if better {
                            best = v;
                        }
                    }
                    best
                }
                Func::Tanh => Scalar::Float(num(x).tanh()),
                Func::Sigmoid => Scalar::Float(1.0 / (1.0 + (-num(x)).exp())),
                Func::Exp => Scalar::Float(num(x).exp()),
                Func::Float => match x {
                    Scalar::Bool(b) => Scalar::Float(if b { 1.0 } else { 0.0 }),
                    other => Scalar::Float(num(other)),
                },
                Func::Int => match x {
                    Scalar::Bool(b) => Scalar::Int(i64::from(b)),
                    Scalar::Int(i) => Scalar::Int(i),
                    Scalar::Float(f) => Scalar::Int(f.trunc() as i64),
                },
                Func::Round => Scalar::Int(num(x).round_ties_even() as i64),
                Func::Floor => Scalar::Int(num(x).floor() as i64),
            }
        }
        Expr::Select {
            cond,
            then,
            otherwise,
        } => match eval(p, env, cond) {
            Scalar::Bool(true) => eval(p, env, then),
            Scalar::Bool(false) => eval(p, env, otherwise),
            other => panic!("select on {other:?}"),
        },
        Expr::Lookup {
            table,
            index,
            column,
        } => {
            let t = p.table(*table);
            let Scalar::Int(i) = eval(p, env, index) else {
                panic!("lookup index not int")
            };
            let rows = t.rows() as i64;
            assert!((-rows..rows).contains(&i), "lookup {i} out of {rows} rows");
            let row = if i < 0 { i + rows } else { i } as usize;
            assert!(*column < t.columns);
            match t.data[row * t.columns + column] {
                Literal::Int(v) => Scalar::Int(v),
                Literal::Float(v) => Scalar::Float(v),
                Literal::Bool(v) => Scalar::Bool(v),
            }
        }
    }
}

pub fn exec(p: &Program, env: &mut [Option<Scalar>], stmts: &[Stmt]) {
    for s in stmts {
        let Stmt::Assign { targets, values } = s;
        let vals: Vec<Scalar> = values.iter().map(|v| eval(p, env, v)).collect();
        for (t, v) in targets.iter().zip(vals) {
            env[t.0 as usize] = Some(v);
        }
    }
}

pub fn oracle_pointwise(p: &Program, args: &[Vec<Scalar>]) -> Vec<Scalar> {
    let Signature::Pointwise { arguments } = &p.signature else {
        panic!("not pointwise")
    };
    let mut env = vec![None; p.vars.len()];
    for (a, vals) in arguments.iter().zip(args) {
        assert_eq!(a.features.len(), vals.len());
        for (f, v) in a.features.iter().zip(vals) {
            env[f.0 as usize] = Some(*v);
        }
    }
    exec(p, &mut env, &p.body);
    p.outputs.iter().map(|o| eval(p, &env, o)).collect()
}

pub fn oracle_sequence(p: &Program, steps: &[Vec<Scalar>]) -> Vec<Vec<Scalar>> {
    let Signature::Sequence {
        step_inputs,
        direction,
    } = &p.signature
    else {
        panic!("not a sequence")
    };
    let mut env = vec![None; p.vars.len()];
    exec(p, &mut env, &p.init);
    let mut out = vec![Vec::new(); steps.len()];
    let order: Vec<usize> = match direction {
        LoopDirection::Forward => (0..steps.len()).collect(),
        LoopDirection::Reverse => (0..steps.len()).rev().collect(),
    };
    for t in order {
        // Locals do not survive from one step to the next.
        for (i, v) in p.vars.iter().enumerate() {
            if v.kind == VarKind::Local {
                env[i] = None;
            }
        }
        for (var, x) in step_inputs.iter().zip(&steps[t]) {
            env[var.0 as usize] = Some(*x);
        }
        exec(p, &mut env, &p.body);
        out[t] = p.outputs.iter().map(|o| eval(p, &env, o)).collect();
    }
    out
}

pub fn floats(xs: &[Scalar]) -> Vec<f64> {
    xs.iter().map(|&s| num(s)).collect()
}

pub fn fs(xs: &[f64]) -> Vec<Scalar> {
    xs.iter().map(|&x| Scalar::Float(x)).collect()
}

pub fn is(xs: &[i64]) -> Vec<Scalar> {
    xs.iter().map(|&x| Scalar::Int(x)).collect()
}

pub fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-6 * w.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
}

/// The program as Python-like text, for failure messages.
pub fn render(p: &Program) -> String {
    let mut out = String::new();
    for (i, t) in p.tables.iter().enumerate() {
        out += &format!("T{i} = {} ({} x {})\n", t.name, t.rows(), t.columns);
    }
    match &p.signature {
        Signature::Pointwise { arguments } => {
            for a in arguments {
                let names: Vec<String> = a.features.iter().map(|v| var(p, v.0)).collect();
                out += &format!("arg {} = {}\n", a.name, names.join(", "));
            }
        }
        Signature::Sequence {
            step_inputs,
            direction,
        } => {
            let names: Vec<String> = step_inputs.iter().map(|v| var(p, v.0)).collect();
            out += &format!("step {} ({direction:?})\n", names.join(", "));
        }
    }
    let stmts = |out: &mut String, stmts: &[Stmt], indent: &str| {
        for Stmt::Assign { targets, values } in stmts {
            let t: Vec<String> = targets.iter().map(|v| var(p, v.0)).collect();
            let v: Vec<String> = values.iter().map(|e| expr(p, e)).collect();
            *out += &format!("{indent}{} = {}\n", t.join(", "), v.join(", "));
        }
    };
    stmts(&mut out, &p.init, "init: ");
    stmts(&mut out, &p.body, "    ");
    let o: Vec<String> = p.outputs.iter().map(|e| expr(p, e)).collect();
    out += &format!("return {}\n", o.join(", "));
    out
}

fn var(p: &Program, id: u32) -> String {
    format!("{}_{id}", p.vars[id as usize].name)
}

fn expr(p: &Program, e: &Expr) -> String {
    match e {
        Expr::Lit(Literal::Int(i)) => i.to_string(),
        Expr::Lit(Literal::Float(f)) => format!("{f:?}"),
        Expr::Lit(Literal::Bool(b)) => b.to_string(),
        Expr::Var(v) => var(p, v.0),
        Expr::Unary(UnaryOp::Neg, a) => format!("-({})", expr(p, a)),
        Expr::Unary(UnaryOp::Not, a) => format!("not ({})", expr(p, a)),
        Expr::Binary(op, a, b) => format!("({} {op:?} {})", expr(p, a), expr(p, b)),
        Expr::Call(f, args) => {
            let a: Vec<String> = args.iter().map(|e| expr(p, e)).collect();
            format!("{f:?}({})", a.join(", "))
        }
        Expr::Select {
            cond,
            then,
            otherwise,
        } => format!(
            "({} if {} else {})",
            expr(p, then),
            expr(p, cond),
            expr(p, otherwise)
        ),
        Expr::Lookup {
            table,
            index,
            column,
        } => format!("T{}[{}][{column}]", table.0, expr(p, index)),
    }
}
