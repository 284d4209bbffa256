//! The Python back end: modules built from hand-made programs run under `python3` with the
//! expected results, are exactly as `ruff format` would write them, pass `ruff check`, keep
//! hostile names and header text harmless, and are byte-identical from run to run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use nn2py::back::python::{write_module, Header};
use nn2py::program::{
    Argument, BinaryOp, Expr, Func, Literal, LoopDirection, Program, Signature, Stmt, Table,
    TableId, Type, UnaryOp, VarId, VarKind,
};

// ---------------------------------------------------------------------------------------------
// Building programs.

fn header() -> Header {
    Header {
        model_digest: "sha256:0123456789abcdef".to_string(),
        nn2py_version: "0.1.0".to_string(),
        verification: "checked on 1000 inputs: max abs error 0.0".to_string(),
    }
}

fn sequence(direction: LoopDirection) -> Program {
    Program::new(Signature::Sequence {
        step_inputs: Vec::new(),
        direction,
    })
}

fn pointwise() -> Program {
    Program::new(Signature::Pointwise {
        arguments: Vec::new(),
    })
}

fn step_input(program: &mut Program, name: &str, ty: Type) -> VarId {
    let id = program.add_var(name, ty, VarKind::Input);
    if let Signature::Sequence { step_inputs, .. } = &mut program.signature {
        step_inputs.push(id);
    }
    id
}

fn argument(program: &mut Program, name: &str, features: &[(&str, Type)]) -> Vec<VarId> {
    let ids: Vec<VarId> = features
        .iter()
        .map(|(feature, ty)| program.add_var(*feature, *ty, VarKind::Input))
        .collect();
    if let Signature::Pointwise { arguments } = &mut program.signature {
        arguments.push(Argument {
            name: name.to_string(),
            features: ids.clone(),
        });
    }
    ids
}

fn assign(targets: &[VarId], values: Vec<Expr>) -> Stmt {
    Stmt::Assign {
        targets: targets.to_vec(),
        values,
    }
}

fn var(id: VarId) -> Expr {
    Expr::Var(id)
}

fn float(value: f64) -> Expr {
    Expr::Lit(Literal::Float(value))
}

fn int(value: i64) -> Expr {
    Expr::Lit(Literal::Int(value))
}

fn boolean(value: bool) -> Expr {
    Expr::Lit(Literal::Bool(value))
}

fn bin(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary(op, Box::new(left), Box::new(right))
}

fn neg(operand: Expr) -> Expr {
    Expr::Unary(UnaryOp::Neg, Box::new(operand))
}

fn not(operand: Expr) -> Expr {
    Expr::Unary(UnaryOp::Not, Box::new(operand))
}

fn call(func: Func, args: Vec<Expr>) -> Expr {
    Expr::Call(func, args)
}

fn select(cond: Expr, then: Expr, otherwise: Expr) -> Expr {
    Expr::Select {
        cond: Box::new(cond),
        then: Box::new(then),
        otherwise: Box::new(otherwise),
    }
}

fn lookup(table: TableId, index: Expr, column: usize) -> Expr {
    Expr::Lookup {
        table,
        index: Box::new(index),
        column,
    }
}

// ---------------------------------------------------------------------------------------------
// Running generated modules.

struct Workspace {
    dir: tempfile::TempDir,
    files: Vec<PathBuf>,
}

impl Workspace {
    fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().expect("temporary directory"),
            files: Vec::new(),
        }
    }

    fn add(&mut self, name: &str, module: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.py"));
        std::fs::write(&path, module).expect("write module");
        self.files.push(path.clone());
        path
    }

    /// Checks that every module is already formatted and lints clean (ruff's defaults).
    fn check_ruff(&self) {
        let format = Command::new("ruff")
            .args(["format", "--diff", "--no-cache", "--isolated"])
            .arg(self.dir.path())
            .output()
            .expect("run ruff format");
        assert!(
            format.status.success(),
            "ruff format would change modules:\n{}{}",
            String::from_utf8_lossy(&format.stdout),
            String::from_utf8_lossy(&format.stderr)
        );
        let check = Command::new("ruff")
            .args(["check", "--no-cache", "--isolated", "--quiet"])
            .arg(self.dir.path())
            .output()
            .expect("run ruff check");
        assert!(
            check.status.success(),
            "ruff check fails:\n{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        assert!(!self.files.is_empty());
    }
}

const DRIVER: &str = r#"
import importlib.util, math, sys
spec = importlib.util.spec_from_file_location("generated", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
def flat(value):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from flat(item)
    else:
        yield value
for call in sys.argv[2:]:
    result = eval(call, {"predict": module.predict, "math": math})
    print(" ".join(repr(item) for item in flat(result)))
"#;

/// A scalar as Python printed it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
}

fn parse_value(token: &str) -> Value {
    match token {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        "inf" => Value::Float(f64::INFINITY),
        "-inf" => Value::Float(f64::NEG_INFINITY),
        "nan" => Value::Float(f64::NAN),
        other if other.contains(['.', 'e']) => {
            Value::Float(other.parse().unwrap_or_else(|_| panic!("float {other}")))
        }
        other => Value::Int(other.parse().unwrap_or_else(|_| panic!("int {other}"))),
    }
}

/// Runs `calls` (Python expressions over `predict`) against the module; one flattened
/// list of scalars per call.
fn run_python(path: &Path, calls: &[&str]) -> Vec<Vec<Value>> {
    let output = Command::new("python3")
        .arg("-c")
        .arg(DRIVER)
        .arg(path)
        .args(calls)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "python3 failed on {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split_whitespace().map(parse_value).collect())
        .collect()
}

fn assert_close(actual: &[Value], expected: &[Value]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        match (a, e) {
            (Value::Float(a), Value::Float(e)) => {
                let same = (a.is_nan() && e.is_nan())
                    || a == e
                    || (a - e).abs() <= 1e-12 * e.abs().max(1.0);
                assert!(same, "{actual:?} vs {expected:?}");
            }
            _ => assert_eq!(a, e, "{actual:?} vs {expected:?}"),
        }
    }
}

fn floats(values: &[f64]) -> Vec<Value> {
    values.iter().map(|v| Value::Float(*v)).collect()
}

// ---------------------------------------------------------------------------------------------
// Programs with known results.

/// `h += x; n += 1; y = (h * 0.5, n)` per step.
fn running_mean(direction: LoopDirection) -> Program {
    let mut p = sequence(direction);
    let x = step_input(&mut p, "x", Type::Float);
    let h = p.add_var("total", Type::Float, VarKind::State);
    let n = p.add_var("count", Type::Int, VarKind::State);
    let mean = p.add_var("mean", Type::Float, VarKind::Local);
    p.init.push(assign(&[h], vec![float(0.0)]));
    p.init.push(assign(&[n], vec![int(0)]));
    p.body.push(assign(
        &[h, n],
        vec![
            bin(BinaryOp::Add, var(h), var(x)),
            bin(BinaryOp::Add, var(n), int(1)),
        ],
    ));
    p.body
        .push(assign(&[mean], vec![bin(BinaryOp::Div, var(h), var(n))]));
    p.outputs = vec![var(mean), var(n)];
    p
}

/// A recurrent cell with two step inputs: `h = tanh(0.5 * a - 0.25 * b + 0.75 * h)`.
fn tanh_cell() -> Program {
    let mut p = sequence(LoopDirection::Forward);
    let a = step_input(&mut p, "a", Type::Float);
    let b = step_input(&mut p, "b", Type::Float);
    let h = p.add_var("h", Type::Float, VarKind::State);
    p.init.push(assign(&[h], vec![float(0.0)]));
    let pre = bin(
        BinaryOp::Add,
        bin(
            BinaryOp::Add,
            bin(BinaryOp::Mul, float(0.5), var(a)),
            bin(BinaryOp::Mul, float(-0.25), var(b)),
        ),
        bin(BinaryOp::Mul, float(0.75), var(h)),
    );
    p.body.push(assign(&[h], vec![call(Func::Tanh, vec![pre])]));
    p.outputs = vec![call(Func::Sigmoid, vec![var(h)])];
    p
}

fn tanh_cell_expected(steps: &[(f64, f64)]) -> Vec<f64> {
    let mut h = 0.0f64;
    steps
        .iter()
        .map(|(a, b)| {
            h = (0.5 * a + -0.25 * b + 0.75 * h).tanh();
            1.0 / (1.0 + (-h).exp())
        })
        .collect()
}

/// Fibonacci by a parallel update that is not sequential: `a, b = b, a + b`.
fn fibonacci() -> Program {
    let mut p = sequence(LoopDirection::Forward);
    step_input(&mut p, "tick", Type::Int);
    let a = p.add_var("a", Type::Int, VarKind::State);
    let b = p.add_var("b", Type::Int, VarKind::State);
    p.init.push(assign(&[a, b], vec![int(0), int(1)]));
    p.body.push(assign(
        &[a, b],
        vec![var(b), bin(BinaryOp::Add, var(a), var(b))],
    ));
    p.outputs = vec![var(a)];
    p
}

/// A pointwise program exercising every function and operator.
fn pointwise_kitchen_sink() -> Program {
    let mut p = pointwise();
    let x = argument(&mut p, "x", &[("x", Type::Float)])[0];
    let pair = argument(&mut p, "pair", &[("i", Type::Int), ("j", Type::Int)]);
    let flag = argument(&mut p, "flag", &[("flag", Type::Bool)])[0];
    let (i, j) = (pair[0], pair[1]);
    let table = p.add_table(Table {
        name: "embedding".to_string(),
        ty: Type::Float,
        columns: 2,
        data: vec![
            Literal::Float(0.5),
            Literal::Float(-1.5),
            Literal::Float(2.0),
            Literal::Float(f64::INFINITY),
            Literal::Float(1e-7),
            Literal::Float(-0.0),
        ],
    });
    let out = |name: &str, ty: Type, value: Expr, p: &mut Program| {
        let id = p.add_var(name, ty, VarKind::Local);
        p.body.push(assign(&[id], vec![value]));
        id
    };
    let vars = vec![
        // Floor division and modulo follow Python (floor) for negative operands.
        out(
            "q",
            Type::Int,
            bin(BinaryOp::FloorDiv, var(i), var(j)),
            &mut p,
        ),
        out("r", Type::Int, bin(BinaryOp::Mod, var(i), var(j)), &mut p),
        // Precedence: a - (b - c) and a / (b * c).
        out(
            "d",
            Type::Float,
            bin(
                BinaryOp::Sub,
                var(x),
                bin(BinaryOp::Sub, float(1.0), var(x)),
            ),
            &mut p,
        ),
        out(
            "e",
            Type::Float,
            bin(
                BinaryOp::Div,
                float(1.0),
                bin(BinaryOp::Mul, float(2.0), var(x)),
            ),
            &mut p,
        ),
        // Folded negative literal: x - 0.5.
        out(
            "f",
            Type::Float,
            bin(BinaryOp::Add, var(x), float(-0.5)),
            &mut p,
        ),
        out("g", Type::Float, neg(neg(var(x))), &mut p),
        out(
            "rounded",
            Type::Int,
            call(Func::Round, vec![float(2.5)]),
            &mut p,
        ),
        out(
            "floored",
            Type::Int,
            call(Func::Floor, vec![neg(var(x))]),
            &mut p,
        ),
        out(
            "truncated",
            Type::Int,
            call(Func::Int, vec![neg(var(x))]),
            &mut p,
        ),
        out(
            "as_float",
            Type::Float,
            call(Func::Float, vec![var(flag)]),
            &mut p,
        ),
        out(
            "low",
            Type::Float,
            call(Func::Sigmoid, vec![float(-1000.0)]),
            &mut p,
        ),
        out(
            "high",
            Type::Float,
            call(Func::Sigmoid, vec![float(1000.0)]),
            &mut p,
        ),
        out(
            "big",
            Type::Float,
            call(Func::Exp, vec![bin(BinaryOp::Mul, var(x), float(10000.0))]),
            &mut p,
        ),
        out(
            "small",
            Type::Float,
            call(Func::Exp, vec![float(0.0)]),
            &mut p,
        ),
        out(
            "top",
            Type::Float,
            call(Func::Max, vec![var(x), float(0.25), neg(var(x))]),
            &mut p,
        ),
        out("bottom", Type::Float, call(Func::Min, vec![var(x)]), &mut p),
        out(
            "magnitude",
            Type::Float,
            call(Func::Abs, vec![neg(var(x))]),
            &mut p,
        ),
        out(
            "picked",
            Type::Float,
            select(
                bin(BinaryOp::Gt, var(x), float(0.0)),
                lookup(table, var(i), 1),
                lookup(table, neg(int(1)), 0),
            ),
            &mut p,
        ),
        // Comparisons do not chain: (x < 1.0) == flag.
        out(
            "same",
            Type::Bool,
            bin(
                BinaryOp::Eq,
                bin(BinaryOp::Lt, var(x), float(1.0)),
                var(flag),
            ),
            &mut p,
        ),
        out(
            "exclusive",
            Type::Bool,
            bin(BinaryOp::Xor, var(flag), boolean(true)),
            &mut p,
        ),
        out(
            "is_set",
            Type::Bool,
            bin(BinaryOp::Eq, var(flag), boolean(true)),
            &mut p,
        ),
        out(
            "both",
            Type::Bool,
            not(bin(
                BinaryOp::And,
                var(flag),
                bin(BinaryOp::Or, boolean(false), var(flag)),
            )),
            &mut p,
        ),
    ];
    p.outputs = vars.into_iter().map(var).collect();
    p
}

#[test]
fn sequence_programs_run_with_the_expected_results() {
    let mut ws = Workspace::new();
    let forward = ws.add(
        "forward",
        &write_module(&running_mean(LoopDirection::Forward), &header()).expect("write"),
    );
    let results = run_python(&forward, &["predict([1.0, 2.0, 6.0])", "predict([])"]);
    assert_eq!(
        results[0],
        vec![
            Value::Float(1.0),
            Value::Int(1),
            Value::Float(1.5),
            Value::Int(2),
            Value::Float(3.0),
            Value::Int(3)
        ]
    );
    assert!(results[1].is_empty());

    // Reverse visits the steps back to front and returns the outputs in step order.
    let reverse = ws.add(
        "reverse",
        &write_module(&running_mean(LoopDirection::Reverse), &header()).expect("write"),
    );
    let results = run_python(&reverse, &["predict([1.0, 2.0, 6.0])"]);
    assert_eq!(
        results[0],
        vec![
            Value::Float(3.0),
            Value::Int(3),
            Value::Float(4.0),
            Value::Int(2),
            Value::Float(6.0),
            Value::Int(1)
        ]
    );

    let cell = ws.add(
        "cell",
        &write_module(&tanh_cell(), &header()).expect("write"),
    );
    let steps = [(1.0, 2.0), (-3.0, 0.5), (0.25, -4.0)];
    let results = run_python(&cell, &["predict([(1.0, 2.0), (-3.0, 0.5), (0.25, -4.0)])"]);
    assert_close(&results[0], &floats(&tanh_cell_expected(&steps)));

    let fib = ws.add(
        "fib",
        &write_module(&fibonacci(), &header()).expect("write"),
    );
    let results = run_python(&fib, &["predict([0] * 10)"]);
    let expected: Vec<Value> = [1, 1, 2, 3, 5, 8, 13, 21, 34, 55].map(Value::Int).to_vec();
    assert_eq!(results[0], expected);
    ws.check_ruff();
}

#[test]
fn pointwise_program_runs_with_the_expected_results() {
    let mut ws = Workspace::new();
    let module = write_module(&pointwise_kitchen_sink(), &header()).expect("write");
    assert!(module.contains("d = x - (1.0 - x)"), "{module}");
    assert!(module.contains("e = 1.0 / (2.0 * x)"), "{module}");
    assert!(module.contains("f = x - 0.5"), "{module}");
    assert!(module.contains("g = x\n"), "{module}");
    assert!(module.contains("same = (x < 1.0) == flag"), "{module}");
    assert!(module.contains("exclusive = not flag"), "{module}");
    assert!(module.contains("is_set = flag\n"), "{module}");
    assert!(module.contains("bottom = x\n"), "{module}");
    let path = ws.add("sink", &module);
    let results = run_python(
        &path,
        &[
            "predict(0.5, (-3, 2), True)",
            "predict(-2.0, (7, -3), False)",
        ],
    );
    use Value::{Bool as B, Float as F, Int as I};
    let first = vec![
        I(-2),
        I(1),
        F(0.0),
        F(1.0),
        F(0.0),
        F(0.5),
        I(2),
        I(-1),
        I(0),
        F(1.0),
        F(0.0),
        F(1.0),
        F(f64::INFINITY),
        F(1.0),
        F(0.5),
        F(0.5),
        F(0.5),
        F(-1.5),
        B(true),
        B(false),
        B(true),
        B(false),
    ];
    assert_eq!(results[0], first);
    let second = vec![
        I(-3),
        I(-2),
        F(-5.0),
        F(-0.25),
        F(-2.5),
        F(-2.0),
        I(2),
        I(2),
        I(2),
        F(0.0),
        F(0.0),
        F(1.0),
        F(0.0),
        F(1.0),
        F(2.0),
        F(-2.0),
        F(2.0),
        F(1e-7),
        B(false),
        B(true),
        B(false),
        B(true),
    ];
    assert_eq!(results[1], second);
    ws.check_ruff();
}

// ---------------------------------------------------------------------------------------------
// Snapshots and determinism.

#[test]
fn modules_match_their_snapshots() {
    let sequence = write_module(&tanh_cell(), &header()).expect("write");
    let pointwise = write_module(&pointwise_kitchen_sink(), &header()).expect("write");
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("python_backend_sequence", sequence);
        insta::assert_snapshot!("python_backend_pointwise", pointwise);
    });
}

#[test]
fn output_is_byte_identical_across_runs() {
    for program in [
        tanh_cell(),
        fibonacci(),
        pointwise_kitchen_sink(),
        hostile_program(),
    ] {
        let first = write_module(&program, &header()).expect("write");
        for _ in 0..3 {
            assert_eq!(
                write_module(&program.clone(), &header()).expect("write"),
                first
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile names and header text.

const HOSTILE: &[&str] = &[
    "\"\"\"",
    "'; import os; os.system('echo pwned') #",
    "line\nbreak",
    "__import__('os')",
    "class",
    "max",
    "print",
    "input",
    "predict",
    "math",
    "_sigmoid",
    "outputs",
    "seq",
    "l",
    "\u{43c}\u{430}\u{442}\u{435}\u{43c}\u{430}\u{442}\u{438}\u{43a}\u{430}",
    "",
    "h",
    "h",
    "9lives",
    "\u{202e}evil",
    "match",
    "True",
];

fn hostile_program() -> Program {
    let mut p = sequence(LoopDirection::Forward);
    let x = step_input(&mut p, "\"\"\"x", Type::Float);
    let ids: Vec<VarId> = HOSTILE
        .iter()
        .map(|name| p.add_var(*name, Type::Float, VarKind::State))
        .collect();
    let table = p.add_table(Table {
        name: "\"); import os #".to_string(),
        ty: Type::Float,
        columns: 1,
        data: vec![Literal::Float(2.0)],
    });
    let table2 = p.add_table(Table {
        name: "\"); import os #".to_string(),
        ty: Type::Float,
        columns: 1,
        data: vec![Literal::Float(3.0)],
    });
    for id in &ids {
        p.init.push(assign(&[*id], vec![float(0.0)]));
    }
    // Each state adds the step input and its predecessor: distinct names must stay distinct.
    let mut values = Vec::new();
    for (index, id) in ids.iter().enumerate() {
        let previous = if index == 0 { x } else { ids[index - 1] };
        values.push(bin(BinaryOp::Add, var(*id), var(previous)));
    }
    p.body.push(assign(&ids, values));
    p.outputs = vec![
        bin(
            BinaryOp::Mul,
            var(*ids.last().expect("states")),
            lookup(table, int(0), 0),
        ),
        lookup(table2, int(0), 0),
    ];
    p
}

#[test]
fn hostile_names_and_header_produce_valid_safe_code() {
    let hostile_header = Header {
        model_digest: "sha256:\"\"\"; import os; \\".to_string(),
        nn2py_version: "0.1.0\"\"\"\nimport os\r\n\u{7}".to_string(),
        verification: "ok \"\"\"\n\ttabbed \\n\nunicode \u{e9}\u{1f600} \u{202e}\n  \n".to_string(),
    };
    let module = write_module(&hostile_program(), &hostile_header).expect("write");
    assert!(module.is_ascii(), "{module}");
    assert_eq!(module.matches("\"\"\"").count(), 4, "{module}");
    for line in module.lines() {
        assert!(
            !line.trim_start().starts_with("import os"),
            "injected import in:\n{module}"
        );
    }
    assert!(module.contains("\\\"\\\"\\\""), "{module}");
    let mut ws = Workspace::new();
    let path = ws.add("hostile", &module);
    ws.check_ruff();
    // Every state accumulates the sum of the inputs so far, shifted by its position.
    let results = run_python(&path, &["predict([1.0, 1.0, 1.0])"]);
    let states = HOSTILE.len();
    let expected_last = |steps: usize| -> f64 {
        // State k after t steps: number of paths; computed by simulation.
        let mut s = vec![0.0f64; states];
        for _ in 0..steps {
            let mut next = s.clone();
            for k in 0..states {
                next[k] = s[k] + if k == 0 { 1.0 } else { s[k - 1] };
            }
            s = next;
        }
        s[states - 1]
    };
    let expected: Vec<Value> = (1..=3)
        .flat_map(|t| [Value::Float(expected_last(t) * 2.0), Value::Float(3.0)])
        .collect();
    assert_eq!(results[0], expected);
    // The docstring reads back as the escaped text.
    let docstring = Command::new("python3")
        .arg("-c")
        .arg("import ast, sys; print(repr(ast.get_docstring(ast.parse(open(sys.argv[1]).read()), clean=False)))")
        .arg(&path)
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&docstring.stdout);
    assert!(text.contains("sha256:\"\"\"; import os; \\\\"), "{text}");
    assert!(text.contains("unicode \u{e9}\u{1f600} \\u202e"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Errors.

#[test]
fn malformed_programs_are_errors_not_panics() {
    let mut p = pointwise();
    let x = argument(&mut p, "x", &[("x", Type::Float)])[0];
    p.outputs = vec![var(VarId(99))];
    assert!(write_module(&p, &header()).is_err());

    p.outputs = vec![call(Func::Max, vec![])];
    assert!(write_module(&p, &header()).is_err());

    p.outputs = vec![call(Func::Tanh, vec![var(x), var(x)])];
    assert!(write_module(&p, &header()).is_err());

    p.outputs = vec![lookup(TableId(3), int(0), 0)];
    assert!(write_module(&p, &header()).is_err());

    let never = p.add_var("never", Type::Float, VarKind::Local);
    p.outputs = vec![var(never)];
    let error = write_module(&p, &header()).expect_err("unassigned");
    assert!(error.message.contains("never assigned"), "{error}");

    p.outputs = vec![var(x)];
    p.body.push(assign(&[never], vec![]));
    assert!(write_module(&p, &header()).is_err());
    p.body.clear();

    let table = p.add_table(Table {
        name: "t".to_string(),
        ty: Type::Float,
        columns: 2,
        data: vec![Literal::Float(1.0)],
    });
    p.outputs = vec![lookup(table, int(0), 0)];
    assert!(write_module(&p, &header()).is_err());
}

// ---------------------------------------------------------------------------------------------
// Generated programs: layout against ruff, values against a reference evaluator here.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn value(&mut self) -> f64 {
        let choices = [
            0.5, -0.25, 1e-7, 12345.678, -0.0, 3.0, 0.1, -2.75, 1e20, 0.001,
        ];
        choices[self.below(choices.len())]
    }
}

/// How a generated program is shaped.
#[derive(Clone, Copy)]
struct Shape {
    inputs: usize,
    states: usize,
    locals: usize,
    depth: usize,
    /// Terms in the big sums of products.
    terms: usize,
    name_length: usize,
}

struct Generator<'a> {
    rng: &'a mut Rng,
    readable: Vec<VarId>,
    table: TableId,
    shape: Shape,
}

impl Generator<'_> {
    fn leaf(&mut self) -> Expr {
        if self.rng.below(3) == 0 {
            float(self.rng.value())
        } else {
            var(self.readable[self.rng.below(self.readable.len())])
        }
    }

    fn expr(&mut self, depth: usize) -> Expr {
        if depth == 0 {
            return self.leaf();
        }
        let d = depth - 1;
        match self.rng.below(12) {
            0 => bin(BinaryOp::Add, self.expr(d), self.expr(d)),
            1 => bin(BinaryOp::Sub, self.expr(d), self.expr(d)),
            2 => bin(BinaryOp::Mul, self.expr(d), self.expr(d)),
            3 => bin(
                BinaryOp::Div,
                self.expr(d),
                bin(
                    BinaryOp::Add,
                    float(1.0),
                    call(Func::Abs, vec![self.expr(d)]),
                ),
            ),
            4 => call(Func::Tanh, vec![self.expr(d)]),
            5 => {
                let n = 2 + self.rng.below(3);
                let args = (0..n).map(|_| self.expr(d)).collect();
                call(
                    if self.rng.below(2) == 0 {
                        Func::Max
                    } else {
                        Func::Min
                    },
                    args,
                )
            }
            6 => neg(self.expr(d)),
            7 => select(self.condition(d.min(3)), self.expr(d), self.expr(d)),
            8 => lookup(self.table, int(self.rng.below(3) as i64), self.rng.below(2)),
            9 => call(Func::Sigmoid, vec![self.expr(d)]),
            10 => self.sum_of_products(),
            _ => call(Func::Abs, vec![self.expr(d)]),
        }
    }

    fn condition(&mut self, depth: usize) -> Expr {
        let compare = [
            BinaryOp::Lt,
            BinaryOp::Le,
            BinaryOp::Gt,
            BinaryOp::Ge,
            BinaryOp::Eq,
            BinaryOp::Ne,
        ];
        if depth == 0 {
            let op = compare[self.rng.below(compare.len())];
            return bin(op, self.expr(1), self.expr(1));
        }
        let d = depth - 1;
        match self.rng.below(6) {
            0 => bin(BinaryOp::And, self.condition(d), self.condition(d)),
            1 => bin(BinaryOp::Or, self.condition(d), self.condition(d)),
            2 => bin(BinaryOp::Xor, self.condition(d), self.condition(d)),
            3 => not(self.condition(d)),
            4 => bin(BinaryOp::Eq, self.condition(d), self.condition(d)),
            _ => {
                let op = compare[self.rng.below(compare.len())];
                bin(op, self.expr(d), self.expr(d))
            }
        }
    }

    fn sum_of_products(&mut self) -> Expr {
        let mut sum = bin(BinaryOp::Mul, float(self.rng.value()), self.leaf());
        for _ in 1..self.shape.terms {
            let term = bin(BinaryOp::Mul, float(self.rng.value()), self.leaf());
            sum = bin(BinaryOp::Add, sum, term);
        }
        sum
    }
}

fn long_name(base: &str, index: usize, length: usize) -> String {
    let mut name = format!("{base}{index}");
    while name.len() < length {
        name.push_str("_long");
    }
    name
}

fn generated_program(rng: &mut Rng, shape: Shape) -> Program {
    let mut p = sequence(if rng.below(2) == 0 {
        LoopDirection::Forward
    } else {
        LoopDirection::Reverse
    });
    let inputs: Vec<VarId> = (0..shape.inputs)
        .map(|i| step_input(&mut p, &long_name("in", i, shape.name_length), Type::Float))
        .collect();
    let states: Vec<VarId> = (0..shape.states)
        .map(|i| {
            p.add_var(
                long_name("hidden", i, shape.name_length),
                Type::Float,
                VarKind::State,
            )
        })
        .collect();
    let table = p.add_table(Table {
        name: "weights".to_string(),
        ty: Type::Float,
        columns: 2,
        data: [0.5, -1.5, 2.25, 1e-9, -3.0, 1e22]
            .map(Literal::Float)
            .to_vec(),
    });
    p.init
        .push(assign(&states, states.iter().map(|_| float(0.0)).collect()));
    let mut readable: Vec<VarId> = inputs.iter().chain(&states).copied().collect();
    let mut generator = Generator {
        rng,
        readable: readable.clone(),
        table,
        shape,
    };
    for i in 0..shape.locals {
        let local = p.add_var(
            long_name("t", i, shape.name_length),
            Type::Float,
            VarKind::Local,
        );
        let value = generator.expr(shape.depth);
        p.body.push(assign(&[local], vec![value]));
        readable.push(local);
        generator.readable = readable.clone();
    }
    let updates = states.iter().map(|_| generator.expr(shape.depth)).collect();
    p.body.push(assign(&states, updates));
    let outputs = 1 + generator.rng.below(3);
    p.outputs = (0..outputs)
        .map(|_| generator.expr(shape.depth.min(3)))
        .collect();
    p
}

/// Evaluates the generated (float-only) programs the way Python does.
fn evaluate(program: &Program, steps: &[Vec<f64>]) -> Vec<Vec<f64>> {
    fn eval(program: &Program, env: &[f64], expr: &Expr) -> f64 {
        match expr {
            Expr::Lit(Literal::Float(v)) => *v,
            Expr::Lit(Literal::Int(v)) => *v as f64,
            Expr::Lit(Literal::Bool(v)) => f64::from(u8::from(*v)),
            Expr::Var(id) => env[id.0 as usize],
            Expr::Unary(UnaryOp::Neg, operand) => -eval(program, env, operand),
            Expr::Unary(UnaryOp::Not, operand) => {
                f64::from(u8::from(eval(program, env, operand) == 0.0))
            }
            Expr::Binary(op, left, right) => {
                let (a, b) = (eval(program, env, left), eval(program, env, right));
                match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    BinaryOp::Div => a / b,
                    BinaryOp::Lt => f64::from(u8::from(a < b)),
                    BinaryOp::Le => f64::from(u8::from(a <= b)),
                    BinaryOp::Gt => f64::from(u8::from(a > b)),
                    BinaryOp::Ge => f64::from(u8::from(a >= b)),
                    BinaryOp::Eq => f64::from(u8::from(a == b)),
                    BinaryOp::Ne | BinaryOp::Xor => f64::from(u8::from(a != b)),
                    BinaryOp::And => f64::from(u8::from(a != 0.0 && b != 0.0)),
                    BinaryOp::Or => f64::from(u8::from(a != 0.0 || b != 0.0)),
                    other => panic!("not generated: {other:?}"),
                }
            }
            Expr::Call(func, args) => {
                let values: Vec<f64> = args.iter().map(|a| eval(program, env, a)).collect();
                match func {
                    Func::Tanh => values[0].tanh(),
                    Func::Abs => values[0].abs(),
                    Func::Sigmoid => {
                        let x = values[0];
                        if x >= 0.0 {
                            1.0 / (1.0 + (-x).exp())
                        } else {
                            let z = x.exp();
                            z / (1.0 + z)
                        }
                    }
                    // Python keeps the first of equal (or incomparable) candidates.
                    Func::Max => {
                        values[1..]
                            .iter()
                            .fold(values[0], |best, &v| if v > best { v } else { best })
                    }
                    Func::Min => {
                        values[1..]
                            .iter()
                            .fold(values[0], |best, &v| if v < best { v } else { best })
                    }
                    other => panic!("not generated: {other:?}"),
                }
            }
            Expr::Select {
                cond,
                then,
                otherwise,
            } => {
                if eval(program, env, cond) != 0.0 {
                    eval(program, env, then)
                } else {
                    eval(program, env, otherwise)
                }
            }
            Expr::Lookup {
                table,
                index,
                column,
            } => {
                let table = &program.tables[table.0 as usize];
                let row = eval(program, env, index) as usize;
                match table.data[row * table.columns + column] {
                    Literal::Float(v) => v,
                    other => panic!("not generated: {other:?}"),
                }
            }
        }
    }
    fn run(program: &Program, env: &mut [f64], block: &[Stmt]) {
        for Stmt::Assign { targets, values } in block {
            let results: Vec<f64> = values.iter().map(|v| eval(program, env, v)).collect();
            for (target, value) in targets.iter().zip(results) {
                env[target.0 as usize] = value;
            }
        }
    }
    let (step_inputs, direction) = match &program.signature {
        Signature::Sequence {
            step_inputs,
            direction,
        } => (step_inputs.clone(), *direction),
        // A pointwise program is one step whose inputs are all the features, in order.
        Signature::Pointwise { arguments } => (
            arguments.iter().flat_map(|a| a.features.clone()).collect(),
            LoopDirection::Forward,
        ),
    };
    let mut env = vec![0.0; program.vars.len()];
    run(program, &mut env, &program.init);
    let mut order: Vec<usize> = (0..steps.len()).collect();
    if direction == LoopDirection::Reverse {
        order.reverse();
    }
    let mut outputs = vec![Vec::new(); steps.len()];
    for index in order {
        for (input, value) in step_inputs.iter().zip(&steps[index]) {
            env[input.0 as usize] = *value;
        }
        run(program, &mut env, &program.body);
        outputs[index] = program
            .outputs
            .iter()
            .map(|o| eval(program, &env, o))
            .collect();
    }
    outputs
}

fn python_steps(steps: &[Vec<f64>]) -> String {
    let mut text = String::from("predict([");
    for step in steps {
        if step.len() == 1 {
            write!(text, "{:?}, ", step[0]).expect("write");
        } else {
            text.push('(');
            for value in step {
                write!(text, "{value:?}, ").expect("write");
            }
            text.push_str("), ");
        }
    }
    text.push_str("])");
    text
}

/// A pointwise program: arguments of one or two features, locals, several outputs.
fn generated_pointwise(rng: &mut Rng, shape: Shape) -> (Program, Vec<usize>) {
    let mut p = pointwise();
    let mut readable = Vec::new();
    let mut widths = Vec::new();
    for a in 0..shape.inputs {
        let width = 1 + a % 2;
        let names: Vec<String> = (0..width)
            .map(|f| long_name(&format!("arg{a}_"), f, shape.name_length))
            .collect();
        let features: Vec<(&str, Type)> = names.iter().map(|n| (n.as_str(), Type::Float)).collect();
        readable.extend(argument(
            &mut p,
            &long_name("arg", a, shape.name_length),
            &features,
        ));
        widths.push(width);
    }
    let table = p.add_table(Table {
        name: "weights".to_string(),
        ty: Type::Float,
        columns: 2,
        data: [0.5, -1.5, 2.25, 1e-9, -3.0, 1e22]
            .map(Literal::Float)
            .to_vec(),
    });
    let mut generator = Generator {
        rng,
        readable: readable.clone(),
        table,
        shape,
    };
    for i in 0..shape.locals {
        let local = p.add_var(
            long_name("t", i, shape.name_length),
            Type::Float,
            VarKind::Local,
        );
        let value = generator.expr(shape.depth);
        p.body.push(assign(&[local], vec![value]));
        readable.push(local);
        generator.readable = readable.clone();
    }
    let outputs = 1 + generator.rng.below(3);
    p.outputs = (0..outputs)
        .map(|_| generator.expr(shape.depth.min(4)))
        .collect();
    (p, widths)
}

fn python_arguments(widths: &[usize], values: &[f64]) -> String {
    let mut text = String::from("predict(");
    let mut next = values.iter();
    for width in widths {
        let mut take = || *next.next().expect("enough values");
        if *width == 1 {
            write!(text, "{:?}, ", take()).expect("write");
        } else {
            write!(text, "({:?}, {:?}), ", take(), take()).expect("write");
        }
    }
    text.push(')');
    text
}

#[test]
fn generated_pointwise_programs_are_ruff_clean_and_compute_the_right_values() {
    let shapes = [
        Shape {
            inputs: 1,
            states: 0,
            locals: 1,
            depth: 2,
            terms: 3,
            name_length: 1,
        },
        Shape {
            inputs: 3,
            states: 0,
            locals: 3,
            depth: 4,
            terms: 10,
            name_length: 10,
        },
        Shape {
            inputs: 9,
            states: 0,
            locals: 2,
            depth: 3,
            terms: 5,
            name_length: 8,
        },
        // Parameters that fit on one indented line but not after `def predict(`.
        Shape {
            inputs: 7,
            states: 0,
            locals: 1,
            depth: 2,
            terms: 3,
            name_length: 9,
        },
        Shape {
            inputs: 25,
            states: 0,
            locals: 4,
            depth: 3,
            terms: 40,
            name_length: 24,
        },
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut ws = Workspace::new();
    let mut cases = Vec::new();
    for (index, shape) in shapes.iter().cycle().take(shapes.len() * 3).enumerate() {
        let (program, widths) = generated_pointwise(&mut rng, *shape);
        let module = write_module(&program, &header()).expect("write");
        let path = ws.add(&format!("pointwise_{index}"), &module);
        let count: usize = widths.iter().sum();
        let values: Vec<f64> = (0..count).map(|_| rng.value()).collect();
        cases.push((program, path, widths, values));
    }
    ws.check_ruff();
    for (program, path, widths, values) in &cases {
        let results = run_python(path, &[&python_arguments(widths, values)]);
        let expected: Vec<f64> = evaluate(program, std::slice::from_ref(values))
            .into_iter()
            .flatten()
            .collect();
        assert_close(&results[0], &floats(&expected));
    }
}

#[test]
fn generated_programs_are_ruff_clean_and_compute_the_right_values() {
    let shapes = [
        Shape {
            inputs: 1,
            states: 1,
            locals: 1,
            depth: 1,
            terms: 2,
            name_length: 1,
        },
        Shape {
            inputs: 2,
            states: 2,
            locals: 3,
            depth: 3,
            terms: 4,
            name_length: 6,
        },
        Shape {
            inputs: 3,
            states: 4,
            locals: 4,
            depth: 4,
            terms: 8,
            name_length: 12,
        },
        Shape {
            inputs: 1,
            states: 2,
            locals: 2,
            depth: 2,
            terms: 300,
            name_length: 24,
        },
        Shape {
            inputs: 2,
            states: 1,
            locals: 3,
            depth: 10,
            terms: 3,
            name_length: 8,
        },
        Shape {
            inputs: 30,
            states: 30,
            locals: 2,
            depth: 2,
            terms: 3,
            name_length: 20,
        },
        Shape {
            inputs: 4,
            states: 3,
            locals: 6,
            depth: 5,
            terms: 20,
            name_length: 60,
        },
    ];
    // NN2PY_FUZZ_ROUNDS runs more rounds of every shape (one seed per run: NN2PY_FUZZ_SEED).
    let rounds = std::env::var("NN2PY_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed = std::env::var("NN2PY_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15u64);
    let mut rng = Rng(seed);
    let mut ws = Workspace::new();
    let mut cases = Vec::new();
    for (index, shape) in shapes
        .iter()
        .cycle()
        .take(shapes.len() * rounds)
        .enumerate()
    {
        let program = generated_program(&mut rng, *shape);
        let module = write_module(&program, &header()).expect("write");
        let path = ws.add(&format!("generated_{index}"), &module);
        let steps: Vec<Vec<f64>> = (0..3)
            .map(|_| (0..shape.inputs).map(|_| rng.value()).collect())
            .collect();
        cases.push((program, path, steps));
    }
    ws.check_ruff();
    for (program, path, steps) in &cases {
        let results = run_python(path, &[&python_steps(steps)]);
        let expected: Vec<f64> = evaluate(program, steps).into_iter().flatten().collect();
        assert_close(&results[0], &floats(&expected));
    }
}

#[test]
fn degenerate_shapes_still_give_valid_modules() {
    let mut ws = Workspace::new();
    // No step inputs, no outputs, an empty table, a state nothing reads.
    let mut p = sequence(LoopDirection::Reverse);
    let unread = p.add_var("unread", Type::Int, VarKind::State);
    p.add_table(Table {
        name: String::new(),
        ty: Type::Int,
        columns: 0,
        data: Vec::new(),
    });
    p.init.push(assign(&[unread], vec![int(0)]));
    p.body.push(assign(&[unread], vec![int(-3)]));
    let module = write_module(&p, &header()).expect("write");
    assert!(module.contains("    for _ in reversed(seq):\n"), "{module}");
    assert!(module.contains("TABLE = ()\n"), "{module}");
    assert!(module.contains("_unread = -3\n"), "{module}");
    let path = ws.add("no_inputs", &module);
    assert_eq!(
        run_python(&path, &["predict([1, 2])"]),
        vec![Vec::<Value>::new()]
    );

    // A pointwise program without arguments or outputs.
    let module = write_module(&pointwise(), &header()).expect("write");
    assert!(module.contains("def predict():\n"), "{module}");
    assert!(module.contains("    return ()\n"), "{module}");
    let path = ws.add("no_arguments", &module);
    assert_eq!(run_python(&path, &["predict()"]), vec![Vec::<Value>::new()]);
    ws.check_ruff();
}
