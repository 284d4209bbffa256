//! Tests of the program IR: text form, verifier and interpreter.

use std::path::Path;
use std::process::Command;

use nn2py::program::interp::{run_pointwise, run_sequence, Interpreter, Scalar};
use nn2py::program::text::{parse, print};
use nn2py::program::validate::validate;
use nn2py::program::{
    Argument, BinaryOp, Expr, Func, Literal, LoopDirection, Program, Signature, Stmt, Table,
    TableId, Type, UnaryOp, VarId, VarKind,
};

// ---- helpers ---------------------------------------------------------------------------------

/// Equality that also holds for NaN literals (Debug prints every float distinctly, NaN as NaN).
fn assert_same(a: &Program, b: &Program) {
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

/// Checks both round-trip laws on a program.
fn check_round_trip(program: &Program) {
    let text = print(program);
    let back = parse(&text).unwrap_or_else(|e| panic!("{e:?} in\n{text}"));
    assert_same(program, &back);
    assert_eq!(print(&back), text);
}

fn lit_f(v: f64) -> Expr {
    Expr::Lit(Literal::Float(v))
}

fn lit_i(v: i64) -> Expr {
    Expr::Lit(Literal::Int(v))
}

fn var(v: VarId) -> Expr {
    Expr::Var(v)
}

fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary(op, Box::new(a), Box::new(b))
}

fn call(f: Func, args: Vec<Expr>) -> Expr {
    Expr::Call(f, args)
}

fn assign(targets: Vec<VarId>, values: Vec<Expr>) -> Stmt {
    Stmt::Assign { targets, values }
}

fn pointwise(types: &[Type]) -> (Program, Vec<VarId>) {
    let mut p = Program {
        vars: vec![],
        tables: vec![],
        signature: Signature::Pointwise { arguments: vec![] },
        init: vec![],
        body: vec![],
        outputs: vec![],
    };
    let mut ids = vec![];
    let mut arguments = vec![];
    for (i, ty) in types.iter().enumerate() {
        let id = p.add_var(format!("a{i}"), *ty, VarKind::Input);
        ids.push(id);
        arguments.push(Argument {
            name: format!("a{i}"),
            features: vec![id],
        });
    }
    p.signature = Signature::Pointwise { arguments };
    (p, ids)
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/program")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A hand-built program that uses every construct of the IR.
fn every_construct() -> Program {
    let mut p = Program {
        vars: vec![],
        tables: vec![],
        signature: Signature::Pointwise { arguments: vec![] },
        init: vec![],
        body: vec![],
        outputs: vec![],
    };
    let x = p.add_var("x", Type::Float, VarKind::Input);
    let t = p.add_var("t", Type::Int, VarKind::Input);
    let h = p.add_var("h", Type::Float, VarKind::State);
    let h2 = p.add_var("h", Type::Float, VarKind::Local);
    let b = p.add_var("flag or not", Type::Bool, VarKind::Local);
    let q = p.add_var("if", Type::Int, VarKind::Local);
    let emb = p.add_table(Table {
        name: "EMB".into(),
        ty: Type::Float,
        columns: 2,
        data: [0.5, 1.0, -2.0, f64::INFINITY, 1e-7, -0.0]
            .map(Literal::Float)
            .to_vec(),
    });
    p.signature = Signature::Sequence {
        step_inputs: vec![x, t],
        direction: LoopDirection::Reverse,
    };
    p.init = vec![assign(vec![h], vec![lit_f(0.0)])];
    let funcs = [
        call(Func::Abs, vec![var(x)]),
        call(Func::Max, vec![var(x), lit_f(1.0), var(h)]),
        call(Func::Min, vec![var(x)]),
        call(Func::Tanh, vec![var(x)]),
        call(Func::Sigmoid, vec![var(x)]),
        call(Func::Exp, vec![var(x)]),
        call(Func::Float, vec![var(t)]),
    ];
    let sum = funcs
        .into_iter()
        .reduce(|a, b| bin(BinaryOp::Add, a, b))
        .unwrap();
    let ints = [
        call(Func::Int, vec![var(x)]),
        call(Func::Round, vec![var(x)]),
        call(Func::Floor, vec![var(x)]),
        bin(BinaryOp::FloorDiv, var(t), lit_i(-3)),
        bin(BinaryOp::Mod, var(t), lit_i(i64::MIN)),
    ]
    .into_iter()
    .reduce(|a, b| bin(BinaryOp::Sub, a, b))
    .unwrap();
    let cmp = |op| bin(op, var(x), var(h));
    let bools = bin(
        BinaryOp::Or,
        bin(BinaryOp::And, cmp(BinaryOp::Lt), cmp(BinaryOp::Le)),
        bin(
            BinaryOp::Xor,
            Expr::Unary(UnaryOp::Not, Box::new(cmp(BinaryOp::Gt))),
            bin(BinaryOp::Eq, cmp(BinaryOp::Ge), cmp(BinaryOp::Ne)),
        ),
    );
    p.body = vec![
        assign(vec![h2], vec![sum]),
        assign(vec![q], vec![ints]),
        assign(vec![b], vec![bools]),
        assign(
            vec![h, h2],
            vec![
                Expr::Select {
                    cond: Box::new(var(b)),
                    then: Box::new(Expr::Lookup {
                        table: emb,
                        index: Box::new(Expr::Unary(UnaryOp::Neg, Box::new(var(q)))),
                        column: 1,
                    }),
                    otherwise: Box::new(bin(
                        BinaryOp::Div,
                        Expr::Unary(UnaryOp::Neg, Box::new(lit_f(2.5))),
                        bin(BinaryOp::Mul, var(h2), lit_f(-1.5)),
                    )),
                },
                var(h),
            ],
        ),
    ];
    p.outputs = vec![
        var(h),
        lit_f(f64::NEG_INFINITY),
        Expr::Lit(Literal::Bool(true)),
    ];
    p
}

// ---- text form -------------------------------------------------------------------------------

#[test]
fn every_construct_round_trips_and_verifies() {
    let p = every_construct();
    assert_eq!(validate(&p), Ok(()));
    check_round_trip(&p);
    let text = print(&p);
    assert!(
        text.starts_with("program sequence reverse (x, t)\n"),
        "{text}"
    );
    assert!(
        text.contains("state h@2: float\nlocal h@3: float\n"),
        "{text}"
    );
    assert!(
        text.contains("local \"flag or not\": bool\nlocal \"if\": int\n"),
        "{text}"
    );
    assert!(text.ends_with("output h@2, -inf, true\n"), "{text}");
    assert!(text.contains("EMB[-\"if\"][1] if \"flag or not\" else -(2.5) / (h@3 * -1.5)"));
}

#[test]
fn printer_writes_minimal_parentheses() {
    let (mut p, ids) = pointwise(&[Type::Float, Type::Float, Type::Float]);
    let [a, b, c] = [var(ids[0]), var(ids[1]), var(ids[2])];
    let cases: Vec<(Expr, &str)> = vec![
        (
            bin(
                BinaryOp::Sub,
                bin(BinaryOp::Sub, a.clone(), b.clone()),
                c.clone(),
            ),
            "a0 - a1 - a2",
        ),
        (
            bin(
                BinaryOp::Sub,
                a.clone(),
                bin(BinaryOp::Sub, b.clone(), c.clone()),
            ),
            "a0 - (a1 - a2)",
        ),
        (
            bin(
                BinaryOp::Mul,
                bin(BinaryOp::Add, a.clone(), b.clone()),
                c.clone(),
            ),
            "(a0 + a1) * a2",
        ),
        (
            bin(
                BinaryOp::Add,
                a.clone(),
                bin(BinaryOp::Mul, b.clone(), c.clone()),
            ),
            "a0 + a1 * a2",
        ),
        (
            Expr::Unary(
                UnaryOp::Neg,
                Box::new(bin(BinaryOp::Add, a.clone(), b.clone())),
            ),
            "-(a0 + a1)",
        ),
        (
            bin(
                BinaryOp::Mul,
                Expr::Unary(UnaryOp::Neg, Box::new(a.clone())),
                b.clone(),
            ),
            "-a0 * a1",
        ),
        (Expr::Unary(UnaryOp::Neg, Box::new(lit_f(1.0))), "-(1.0)"),
        (Expr::Unary(UnaryOp::Neg, Box::new(lit_f(-1.0))), "--1.0"),
        (
            Expr::Unary(UnaryOp::Neg, Box::new(lit_f(f64::INFINITY))),
            "-(inf)",
        ),
        (bin(BinaryOp::Sub, a.clone(), lit_i(-2)), "a0 - -2"),
        (
            bin(
                BinaryOp::Lt,
                bin(BinaryOp::Lt, a.clone(), b.clone()),
                c.clone(),
            ),
            "(a0 < a1) < a2",
        ),
        (
            Expr::Unary(
                UnaryOp::Not,
                Box::new(bin(BinaryOp::Eq, a.clone(), b.clone())),
            ),
            "not a0 == a1",
        ),
        (
            bin(
                BinaryOp::Add,
                a.clone(),
                Expr::Select {
                    cond: Box::new(Expr::Lit(Literal::Bool(true))),
                    then: Box::new(b.clone()),
                    otherwise: Box::new(c.clone()),
                },
            ),
            "a0 + (a1 if true else a2)",
        ),
        (
            Expr::Select {
                cond: Box::new(Expr::Lit(Literal::Bool(false))),
                then: Box::new(Expr::Select {
                    cond: Box::new(Expr::Lit(Literal::Bool(true))),
                    then: Box::new(a.clone()),
                    otherwise: Box::new(b.clone()),
                }),
                otherwise: Box::new(Expr::Select {
                    cond: Box::new(Expr::Lit(Literal::Bool(true))),
                    then: Box::new(b.clone()),
                    otherwise: Box::new(c.clone()),
                }),
            },
            "(a0 if true else a1) if false else a1 if true else a2",
        ),
        (lit_f(1e16), "1e16"),
        (lit_f(0.1), "0.1"),
        (lit_f(f64::NAN), "nan"),
    ];
    for (expr, expected) in cases {
        p.outputs = vec![expr];
        let text = print(&p);
        let line = text.lines().last().unwrap();
        assert_eq!(line, format!("output {expected}"));
        check_round_trip(&p);
    }
}

#[test]
fn fixtures_parse_validate_and_print_back_identically() {
    for name in ["gru_like.nnp", "pointwise_names.nnp", "reverse_sum.nnp"] {
        let source = fixture(name);
        let program = parse(&source).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(validate(&program), Ok(()), "{name}");
        assert_eq!(print(&program), source, "{name}");
    }
}

#[test]
fn quoted_names_escape_and_unescape() {
    let program = parse(&fixture("pointwise_names.nnp")).unwrap();
    let names: Vec<&str> = program.vars.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["a", "not", "b", "résultat \"q\""]);
    let Signature::Pointwise { arguments } = &program.signature else {
        panic!("not pointwise")
    };
    assert_eq!(arguments[0].name, "input a");
    assert_eq!(arguments[0].features, vec![VarId(0), VarId(1)]);
    let (mut p, _) = pointwise(&[]);
    p.add_var("tab\there\r\n\\ \u{202e}\u{1b}", Type::Int, VarKind::Local);
    let text = print(&p);
    assert!(
        text.contains(r#"local "tab\there\r\n\\ \u{202e}\u{1b}": int"#),
        "{text}"
    );
    assert!(text.is_ascii());
    check_round_trip(&p);
}

#[test]
fn comments_and_free_layout_parse() {
    let source = "program pointwise(a:[x]) # header\ninput x: int  # the only input\nbody{y=x*2 z=y}local y:int\n";
    // Declarations must come before the blocks.
    assert!(parse(source).is_err());
    let source =
        "# leading\nprogram pointwise(a:[x])\ninput x:int\nlocal y:int\nbody{y=x*2\n}output y,x";
    let program = parse(source).unwrap();
    assert_eq!(
        program.body,
        vec![assign(
            vec![VarId(1)],
            vec![bin(BinaryOp::Mul, var(VarId(0)), lit_i(2))]
        )]
    );
    assert_eq!(program.outputs.len(), 2);
}

#[test]
fn invalid_programs_still_round_trip() {
    let (mut p, ids) = pointwise(&[Type::Int]);
    p.tables.push(Table {
        name: "ragged".into(),
        ty: Type::Int,
        columns: 2,
        data: vec![Literal::Int(1), Literal::Float(2.5), Literal::Bool(false)],
    });
    p.tables.push(Table {
        name: "no columns".into(),
        ty: Type::Bool,
        columns: 0,
        data: vec![Literal::Bool(true)],
    });
    p.init = vec![assign(vec![], vec![])];
    p.body = vec![
        assign(vec![ids[0], VarId(42)], vec![lit_i(1)]),
        assign(
            vec![],
            vec![Expr::Lookup {
                table: TableId(9),
                index: Box::new(var(VarId(7))),
                column: 5,
            }],
        ),
    ];
    p.outputs = vec![
        call(Func::Max, vec![]),
        call(Func::Abs, vec![lit_i(1), lit_i(2)]),
    ];
    check_round_trip(&p);
    let text = print(&p);
    assert!(text.contains("a0, @42 = 1"), "{text}");
    assert!(text.contains("() = @9[@7][5]"), "{text}");
    assert!(text.contains("output max(), abs(1, 2)"), "{text}");
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn random_literal(rng: &mut Rng) -> Literal {
    let random = rng.next();
    match rng.below(3) {
        0 => Literal::Int(rng.pick(&[0, 1, -1, 7, -300, i64::MAX, i64::MIN, random as i64])),
        1 => Literal::Float(rng.pick(&[
            0.0,
            -0.0,
            1.0,
            -2.5,
            0.1,
            1e-7,
            1.5e300,
            -5e-324,
            1e16,
            123456.789,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::from_bits(random),
        ])),
        _ => Literal::Bool(rng.below(2) == 0),
    }
}

fn random_expr(rng: &mut Rng, depth: usize, vars: u32, tables: u32) -> Expr {
    let leaf = depth == 0 || rng.below(4) == 0;
    if leaf {
        return if rng.below(2) == 0 {
            Expr::Lit(random_literal(rng))
        } else {
            // Occasionally a dangling handle.
            Expr::Var(VarId(rng.below(vars as usize + 1) as u32))
        };
    }
    let sub = |rng: &mut Rng| Box::new(random_expr(rng, depth - 1, vars, tables));
    match rng.below(5) {
        0 => Expr::Unary(rng.pick(&[UnaryOp::Neg, UnaryOp::Not]), sub(rng)),
        1 => {
            let op = rng.pick(&[
                BinaryOp::Add,
                BinaryOp::Sub,
                BinaryOp::Mul,
                BinaryOp::Div,
                BinaryOp::FloorDiv,
                BinaryOp::Mod,
                BinaryOp::Lt,
                BinaryOp::Le,
                BinaryOp::Gt,
                BinaryOp::Ge,
                BinaryOp::Eq,
                BinaryOp::Ne,
                BinaryOp::And,
                BinaryOp::Or,
                BinaryOp::Xor,
            ]);
            Expr::Binary(op, sub(rng), sub(rng))
        }
        2 => {
            let func = rng.pick(&[
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
            ]);
            let n = rng.below(4);
            Expr::Call(func, (0..n).map(|_| *sub(rng)).collect())
        }
        3 => Expr::Select {
            cond: sub(rng),
            then: sub(rng),
            otherwise: sub(rng),
        },
        _ => Expr::Lookup {
            table: TableId(rng.below(tables as usize + 1) as u32),
            index: sub(rng),
            column: rng.below(4),
        },
    }
}

fn random_program(seed: u64) -> Program {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let names = [
        "x", "h", "h", "a b", "not", "", "é\u{0}", "q\"\n\\", "_t1", "inf", "x@1", "else",
    ];
    let mut p = Program {
        vars: vec![],
        tables: vec![],
        signature: Signature::Pointwise { arguments: vec![] },
        init: vec![],
        body: vec![],
        outputs: vec![],
    };
    for _ in 0..rng.below(8) {
        let ty = rng.pick(&[Type::Int, Type::Float, Type::Bool]);
        let kind = rng.pick(&[VarKind::Input, VarKind::State, VarKind::Local]);
        p.add_var(rng.pick(&names), ty, kind);
    }
    for _ in 0..rng.below(3) {
        let columns = rng.below(3);
        let data = (0..rng.below(7))
            .map(|_| random_literal(&mut rng))
            .collect();
        p.add_table(Table {
            name: rng.pick(&names).to_string(),
            ty: rng.pick(&[Type::Int, Type::Float, Type::Bool]),
            columns,
            data,
        });
    }
    let nv = p.vars.len() as u32;
    let nt = p.tables.len() as u32;
    let some_vars = |rng: &mut Rng| {
        (0..rng.below(3))
            .map(|_| VarId(rng.below(nv as usize + 1) as u32))
            .collect::<Vec<_>>()
    };
    p.signature = if rng.below(2) == 0 {
        Signature::Sequence {
            step_inputs: some_vars(&mut rng),
            direction: rng.pick(&[LoopDirection::Forward, LoopDirection::Reverse]),
        }
    } else {
        Signature::Pointwise {
            arguments: (0..rng.below(3))
                .map(|_| Argument {
                    name: rng.pick(&names).to_string(),
                    features: some_vars(&mut rng),
                })
                .collect(),
        }
    };
    let block = |rng: &mut Rng| {
        (0..rng.below(4))
            .map(|_| {
                let n = rng.below(3);
                assign(
                    (0..n)
                        .map(|_| VarId(rng.below(nv as usize + 1) as u32))
                        .collect(),
                    (0..n + rng.below(2))
                        .map(|_| random_expr(rng, 4, nv, nt))
                        .collect(),
                )
            })
            .collect::<Vec<_>>()
    };
    p.init = block(&mut rng);
    p.body = block(&mut rng);
    p.outputs = (0..rng.below(3))
        .map(|_| random_expr(&mut rng, 5, nv, nt))
        .collect();
    p
}

#[test]
fn random_programs_round_trip() {
    for seed in 0..2_000 {
        let p = random_program(seed);
        let text = print(&p);
        let back = parse(&text).unwrap_or_else(|e| panic!("seed {seed}: {e:?}\n{text}"));
        assert_eq!(format!("{p:?}"), format!("{back:?}"), "seed {seed}\n{text}");
        assert_eq!(print(&back), text, "seed {seed}");
    }
}

#[test]
fn deep_nesting_is_refused_or_parsed_without_crashing() {
    let (mut p, ids) = pointwise(&[Type::Float]);
    let mut e = var(ids[0]);
    for _ in 0..100 {
        e = bin(BinaryOp::Sub, lit_f(1.0), e);
    }
    p.outputs = vec![e];
    check_round_trip(&p);
    let deep = format!(
        "program pointwise (a: [x])\ninput x: float\nbody {{\n}}\noutput {}x{}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let err = parse(&deep).unwrap_err();
    assert!(
        err.message.starts_with("the text nests too deeply"),
        "{}",
        err.message
    );
    assert!(err.span.end <= deep.len());
}

// ---- parse errors ----------------------------------------------------------------------------

fn parse_error(source: &str) -> (String, String) {
    let err = parse(source).expect_err("should not parse");
    let spanned = source
        .get(err.span.clone())
        .unwrap_or_else(|| panic!("bad span {:?}", err.span))
        .to_string();
    (err.message, spanned)
}

#[test]
fn parse_errors_carry_spans() {
    let head = "program pointwise (a: [x])\ninput x: float\n";
    let (message, at) = parse_error(&format!("{head}body {{\n  y = x\n}}\noutput x\n"));
    assert_eq!(
        (message.as_str(), at.as_str()),
        ("unknown variable `y`", "y")
    );

    let (message, at) = parse_error(&format!("{head}input x: int\nbody {{\n}}\noutput x\n"));
    assert_eq!(message, "variable `x` is declared twice");
    assert_eq!(at, "x");

    let (message, at) = parse_error(&format!("{head}body {{\n}}\noutput T[0][0]\n"));
    assert_eq!((message.as_str(), at.as_str()), ("unknown table `T`", "T"));

    let (message, at) = parse_error(&format!("{head}body {{\n}}\noutput relu(x)\n"));
    assert!(message.starts_with("unknown function `relu`"), "{message}");
    assert_eq!(at, "relu");

    let (message, at) = parse_error(&format!("{head}body {{\n}}\noutput 99999999999999999999\n"));
    assert!(message.contains("does not fit in 64 bits"), "{message}");
    assert_eq!(at, "99999999999999999999");

    let (message, at) = parse_error(&format!("{head}body {{\n}}\noutput \"a\\qb\"\n"));
    assert!(message.starts_with("unknown escape"), "{message}");
    assert_eq!(at, "\\q");

    let (message, at) = parse_error(&format!(
        "{head}table T: int[3 x 2] = [\n  [1, 2],\n]\nbody {{\n}}\noutput x\n"
    ));
    assert!(message.contains("declares 3 rows"), "{message}");
    assert_eq!(at, "3");

    let source = format!("{head}body {{\n  x = x +\n}}\noutput x\n");
    let err = parse(&source).unwrap_err();
    assert!(
        err.message.starts_with("syntax error: expected"),
        "{}",
        err.message
    );
    assert!(err.message.contains("an expression"), "{}", err.message);
    assert_eq!(err.span.start, source.find("}\noutput").unwrap());

    let source = format!("{head}body {{\n}}\noutput x < x < x\n");
    let err = parse(&source).unwrap_err();
    assert_eq!(err.span.start, source.rfind("< x").unwrap());
}

#[test]
fn parse_error_renders_with_codespan() {
    let source = "program pointwise (a: [x])\ninput x: float\nbody {\n}\noutput q\n";
    let err = parse(source).unwrap_err();
    let rendered = nn2py::diag::render(&err.located("m.nnp", source));
    assert!(rendered.contains("unknown variable `q`"), "{rendered}");
    assert!(rendered.contains("m.nnp:5:8"), "{rendered}");
}

// ---- verifier --------------------------------------------------------------------------------

fn validate_error(source: &str) -> String {
    let program = parse(source).unwrap_or_else(|e| panic!("{e:?}"));
    validate(&program).expect_err("should not validate").message
}

#[test]
fn verifier_rejects_each_kind_of_bad_program() {
    let seq = "program sequence forward (x)\ninput x: float\nstate h: float\nlocal a: float\nlocal i: int\nlocal b: bool\n";
    let cases: Vec<(String, &str)> = vec![
        (format!("{seq}body {{\n  h = x\n}}\noutput h\n"), "state variable `h` (@1) is not assigned in init"),
        (format!("{seq}init {{\n  h = x\n}}\nbody {{\n}}\noutput h\n"), "init, statement 0 (assigning `h` (@1)): reads `x` (@0) before it is assigned"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  h = a\n  a = x\n}}\noutput h\n"), "body, statement 0 (assigning `h` (@1)): reads `a` (@2) before it is assigned"),
        (format!("{seq}init {{\n  a = 1.0\n  h = a\n}}\nbody {{\n}}\noutput a\n"), "output 0: reads `a` (@2) before it is assigned"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  x = 1.0\n}}\noutput h\n"), "assigns input variable `x` (@0)"),
        (format!("{seq}init {{\n  h = 0\n}}\nbody {{\n}}\noutput h\n"), "assigns a int to `h` (@1) of type float"),
        (format!("{seq}init {{\n  h, a = 0.0\n}}\nbody {{\n}}\noutput h\n"), "2 targets but 1 values"),
        (format!("{seq}init {{\n  h, h = 0.0, 1.0\n}}\nbody {{\n}}\noutput h\n"), "assigns `h` (@1) twice"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  b = x and true\n}}\noutput h\n"), "`and` applied to float and bool"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  b = not x\n}}\noutput h\n"), "`not` applied to a float"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  i = 1 + true\n}}\noutput h\n"), "`+` applied to int and bool"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  i = 4 / 2\n}}\noutput h\n"), "assigns a float to `i` (@3) of type int"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  b = true < false\n}}\noutput h\n"), "`<` applied to bool and bool"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  b = 1 == true\n}}\noutput h\n"), "`==` applied to int and bool"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  a = 1.0 if 1 else 2.0\n}}\noutput h\n"), "conditional has a int condition"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  a = 1.0 if true else false\n}}\noutput h\n"), "conditional has branches of types float and bool"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  a = tanh(x, x)\n}}\noutput h\n"), "`tanh` takes 1 argument, given 2"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  a = max()\n}}\noutput h\n"), "`max` needs at least 1 argument"),
        (format!("{seq}init {{\n  h = 0.0\n}}\nbody {{\n  a = exp(true)\n}}\noutput h\n"), "`exp` applied to a bool"),
        (format!("{seq}table T: float[1 x 2] = [\n  [1.0, 2.0],\n]\ninit {{\n  h = 0.0\n}}\nbody {{\n  a = T[0][2]\n}}\noutput h\n"), "column 2 of table `T` (@0), which has 2 columns"),
        (format!("{seq}table T: float[1 x 2] = [\n  [1.0, 2.0],\n]\ninit {{\n  h = 0.0\n}}\nbody {{\n  a = T[x][0]\n}}\noutput h\n"), "table `T` (@0) indexed by a float, not an int"),
        (format!("{seq}table T: float[1 x 2] = [\n  [1.0, 2],\n]\ninit {{\n  h = 0.0\n}}\nbody {{\n}}\noutput h\n"), "table `T` (@0) of float holds a int at entry 1"),
        (format!("{seq}table T: float[0 x 0] = []\ninit {{\n  h = 0.0\n}}\nbody {{\n}}\noutput h\n"), "table `T` (@0) has no columns"),
        (format!("{seq}input y: int\ninit {{\n  h = 0.0\n}}\nbody {{\n}}\noutput h\n"), "input variable `y` (@5) is not bound by the signature"),
        ("program sequence forward (x, x)\ninput x: float\nbody {\n}\noutput x\n".to_string(), "the step signature binds `x` (@0) a second time"),
        ("program sequence forward (x)\nlocal x: float\nbody {\n}\noutput 1\n".to_string(), "the step signature names `x` (@0), which is not an input variable"),
        ("program pointwise (a: [])\nbody {\n}\noutput 1\n".to_string(), "argument `a` has no features"),
        ("program pointwise (a: [x])\ninput x: int\nstate s: int\nbody {\n}\noutput 1\n".to_string(), "a pointwise program has state variable `s` (@1)"),
        ("program pointwise (a: [x])\ninput x: int\nlocal s: int\ninit {\n  s = 1\n}\nbody {\n}\noutput 1\n".to_string(), "a pointwise program has an init block"),
        ("program pointwise (a: [x])\ninput x: int\nbody {\n}\noutput @7\n".to_string(), "output 0: unknown variable @7"),
    ];
    for (source, expected) in cases {
        let message = validate_error(&source);
        assert!(
            message.contains(expected),
            "expected {expected:?}, got {message:?} for\n{source}"
        );
    }
}

// ---- interpreter -----------------------------------------------------------------------------

#[test]
fn sequence_forward_matches_hand_computation() {
    let program = parse(&fixture("gru_like.nnp")).unwrap();
    let steps = vec![
        vec![Scalar::Float(1.0), Scalar::Int(1)],
        vec![Scalar::Int(-2), Scalar::Int(-1)],
        vec![Scalar::Float(0.5), Scalar::Int(-4)],
    ];
    let out = run_sequence(&program, &steps).unwrap();
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let mut h = 0.0f64;
    let mut expected = vec![];
    let emb = [0.5, 1.0, -2.0, 3.0, 1e-7, f64::NEG_INFINITY];
    for (n, (x, tok)) in [(1.0, 1i64), (-2.0, -1), (0.5, -4)].into_iter().enumerate() {
        let z = sig(0.5 * h - x);
        let a = if tok >= 0 {
            (emb[(tok as usize) * 2] + x * 2.0f64).tanh()
        } else {
            0.0
        };
        h = (1.0 - z) * a + z * h;
        expected.push(vec![Scalar::Float(h), Scalar::Bool((n + 1) % 2 == 0)]);
    }
    assert_eq!(out, expected);
}

#[test]
fn reverse_sequence_stores_outputs_at_their_own_positions() {
    let program = parse(&fixture("reverse_sum.nnp")).unwrap();
    let steps: Vec<Vec<Scalar>> = [1, 2, 3, 4].iter().map(|&v| vec![Scalar::Int(v)]).collect();
    let out = run_sequence(&program, &steps).unwrap();
    let expected: Vec<Vec<Scalar>> = [(10, 6), (9, 6), (7, 4), (4, 2)]
        .iter()
        .map(|&(a, b)| vec![Scalar::Int(a), Scalar::Int(b)])
        .collect();
    assert_eq!(out, expected);
    assert_eq!(
        run_sequence(&program, &[]).unwrap(),
        Vec::<Vec<Scalar>>::new()
    );
}

#[test]
fn pointwise_fixture_runs() {
    let program = parse(&fixture("pointwise_names.nnp")).unwrap();
    let interp = Interpreter::new(&program).unwrap();
    let out = interp
        .run_pointwise(&[
            vec![Scalar::Float(2.5), Scalar::Bool(true)],
            vec![Scalar::Int(-7)],
        ])
        .unwrap();
    // not "not" is false, -7 // 3 = -3 != 0, so max(2.5, -7.0, -1.5) = 2.5;
    // round(2.5) = 2, floor(2.5) = 2, int(2.5) = 2; (abs(7) > 2) ^ true = false.
    assert_eq!(
        out,
        vec![Scalar::Float(2.5), Scalar::Int(2), Scalar::Bool(false)]
    );
    let out = interp
        .run_pointwise(&[
            vec![Scalar::Float(-3.5), Scalar::Bool(true)],
            vec![Scalar::Int(2)],
        ])
        .unwrap();
    // -7 // 3 ... here 2 // 3 = 0 and not "not" is false: -a = 3.5;
    // round(-3.5) = -4, floor(-3.5) = -4, int(-3.5) = -3.
    assert_eq!(
        out,
        vec![Scalar::Float(3.5), Scalar::Int(-5), Scalar::Bool(true)]
    );
}

fn run1(source_body: &str, types: &str, args: &[Scalar]) -> Result<Vec<Scalar>, String> {
    let names: Vec<String> = (0..args.len()).map(|i| format!("v{i}")).collect();
    let sig = names
        .iter()
        .map(|n| format!("{n}: [{n}]"))
        .collect::<Vec<_>>()
        .join(", ");
    let decls: String = names
        .iter()
        .zip(types.split(','))
        .map(|(n, t)| format!("input {n}: {t}\n"))
        .collect();
    let source = format!("program pointwise ({sig})\n{decls}body {{\n}}\noutput {source_body}\n");
    let program = parse(&source).map_err(|e| format!("parse: {e:?}"))?;
    let arguments: Vec<Vec<Scalar>> = args.iter().map(|a| vec![*a]).collect();
    run_pointwise(&program, &arguments).map_err(|e| e.message)
}

#[test]
fn runtime_errors_are_reported_not_panics() {
    let int = |v| Scalar::Int(v);
    let float = |v| Scalar::Float(v);
    let err = |r: Result<Vec<Scalar>, String>| r.expect_err("should fail");
    assert!(err(run1("v0 + 1", "int", &[int(i64::MAX)])).contains("integer overflow in `+`"));
    assert!(err(run1("v0 * v0", "int", &[int(1 << 40)])).contains("integer overflow in `*`"));
    assert!(err(run1("-v0", "int", &[int(i64::MIN)])).contains("integer overflow in `-`"));
    assert!(err(run1("v0 // -1", "int", &[int(i64::MIN)])).contains("overflow"));
    assert!(err(run1("v0 // 0", "int", &[int(3)])).contains("ZeroDivisionError"));
    assert!(err(run1("v0 % 0.0", "float", &[float(3.0)])).contains("ZeroDivisionError"));
    assert!(err(run1("v0 / 0", "int", &[int(3)])).contains("ZeroDivisionError"));
    assert!(err(run1("int(v0)", "float", &[float(f64::NAN)])).contains("ValueError"));
    assert!(err(run1("round(v0)", "float", &[float(f64::INFINITY)])).contains("OverflowError"));
    assert!(err(run1("floor(v0)", "float", &[float(1e19)])).contains("overflow"));
    assert!(err(run1("v0", "int", &[Scalar::Bool(true)])).contains("feature `v0` is a int"));
    let e = err(run1("v0 // v1", "int,int", &[int(1), int(0)]));
    assert_eq!(e, "output 0: integer division by zero (ZeroDivisionError)");
    // i64::MIN % -1 is 0, not an overflow.
    assert_eq!(run1("v0 % -1", "int", &[int(i64::MIN)]), Ok(vec![int(0)]));
    // Python evaluates only the branch taken and short-circuits `and`/`or`.
    assert_eq!(
        run1("v0 != 0 and 10 // v0 > 1", "int", &[int(0)]),
        Ok(vec![Scalar::Bool(false)])
    );
    assert_eq!(
        run1("v0 == 0 or 10 // v0 > 1", "int", &[int(0)]),
        Ok(vec![Scalar::Bool(true)])
    );
    assert_eq!(
        run1("0 if v0 == 0 else 10 // v0", "int", &[int(0)]),
        Ok(vec![int(0)])
    );
    // Mixed branches promote to float; an int feature is accepted for a float input.
    assert_eq!(
        run1("1 if true else 2.0", "int", &[int(0)]),
        Ok(vec![float(1.0)])
    );
    assert_eq!(run1("v0", "float", &[int(3)]), Ok(vec![float(3.0)]));
    assert_eq!(
        run1("exp(v0)", "float", &[float(1000.0)]),
        Ok(vec![float(f64::INFINITY)])
    );
    assert_eq!(
        run1("sigmoid(v0)", "float", &[float(-1000.0)]),
        Ok(vec![float(0.0)])
    );
    assert_eq!(
        run1("sigmoid(v0)", "float", &[float(1000.0)]),
        Ok(vec![float(1.0)])
    );
}

#[test]
fn lookups_count_negative_indices_from_the_end() {
    let table = "table T: int[3 x 2] = [\n  [1, 2],\n  [3, 4],\n  [5, 6],\n]\n";
    let source = |expr: &str| {
        format!("program pointwise (a: [i])\ninput i: int\n{table}body {{\n}}\noutput {expr}\n")
    };
    let program = parse(&source("T[i][1]")).unwrap();
    let run = |i: i64| run_pointwise(&program, &[vec![Scalar::Int(i)]]);
    assert_eq!(run(0).unwrap(), vec![Scalar::Int(2)]);
    assert_eq!(run(-1).unwrap(), vec![Scalar::Int(6)]);
    assert_eq!(run(-3).unwrap(), vec![Scalar::Int(2)]);
    assert!(run(3).unwrap_err().message.contains("IndexError"));
    assert!(run(-4).unwrap_err().message.contains("IndexError"));
}

#[test]
fn arity_errors() {
    let program = parse(&fixture("reverse_sum.nnp")).unwrap();
    let err = run_sequence(&program, &[vec![Scalar::Int(1), Scalar::Int(2)]]).unwrap_err();
    assert_eq!(err.message, "step 0 has 2 features, the program takes 1");
    assert!(run_pointwise(&program, &[]).is_err());
    let program = parse(&fixture("pointwise_names.nnp")).unwrap();
    let err = run_pointwise(&program, &[vec![Scalar::Float(1.0)]]).unwrap_err();
    assert_eq!(err.message, "given 1 arguments, the program takes 2");
    let err =
        run_pointwise(&program, &[vec![Scalar::Float(1.0)], vec![Scalar::Int(1)]]).unwrap_err();
    assert_eq!(
        err.message,
        "argument 0 has 1 features, the program takes 2"
    );
    assert!(run_sequence(&program, &[]).is_err());
    let mut bad = program.clone();
    bad.outputs.push(var(VarId(99)));
    assert!(Interpreter::new(&bad)
        .unwrap_err()
        .message
        .contains("invalid program"));
}

/// A float as a Python expression.
fn py_float(v: f64) -> String {
    if v.is_nan() {
        "float('nan')".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "float('inf')".into()
        } else {
            "float('-inf')".into()
        }
    } else {
        format!("{v:?}")
    }
}

/// Parses one value as Python's `repr` prints it.
fn from_py(text: &str) -> Scalar {
    match text {
        "True" => Scalar::Bool(true),
        "False" => Scalar::Bool(false),
        "ERR" => Scalar::Bool(false),
        _ if text.contains(['.', 'e', 'n']) => Scalar::Float(text.parse().unwrap()),
        _ => Scalar::Int(text.parse().unwrap()),
    }
}

fn same_scalar(a: &Scalar, b: &Scalar) -> bool {
    match (a, b) {
        (Scalar::Float(x), Scalar::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        _ => a == b,
    }
}

/// Runs `exprs` (Python syntax and program syntax agree on them) over every pair of `values`
/// in the interpreter and in `python3`, and compares every result.
fn compare_with_python(values: &[Scalar], ty: &str, exprs: &[&str]) {
    let mut cases = vec![];
    for a in values {
        for b in values {
            cases.push((*a, *b));
        }
    }
    let py_value = |v: &Scalar| match v {
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => py_float(*f),
        Scalar::Bool(b) => {
            if *b {
                "True".into()
            } else {
                "False".into()
            }
        }
    };
    let mut script = String::from("import math\nfloor = math.floor\ntanh = math.tanh\ncases = [\n");
    for (a, b) in &cases {
        script.push_str(&format!("  ({}, {}),\n", py_value(a), py_value(b)));
    }
    script.push_str("]\nfor v0, v1 in cases:\n");
    for e in exprs {
        script.push_str(&format!(
            "    try:\n        print(repr({e}))\n    except (ZeroDivisionError, ValueError, OverflowError):\n        print('ERR')\n"
        ));
    }
    let output = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines = stdout.lines();
    for (a, b) in &cases {
        for e in exprs {
            let expected = lines.next().expect("a line per case");
            let ours = run1(e, &format!("{ty},{ty}"), &[*a, *b]);
            match (expected, ours) {
                ("ERR", Err(_)) => {}
                // Python grows the integer; ours reports the overflow.
                (text, Err(message))
                    if text
                        .trim_start_matches('-')
                        .bytes()
                        .all(|c| c.is_ascii_digit())
                        && text.parse::<i64>().is_err()
                        && message.contains("overflow") => {}
                (text, Ok(values)) => assert!(
                    same_scalar(&values[0], &from_py(text)),
                    "{e} with v0={a:?}, v1={b:?}: python {text}, ours {:?}",
                    values[0]
                ),
                (text, Err(message)) => {
                    panic!("{e} with v0={a:?}, v1={b:?}: python {text}, ours failed: {message}")
                }
            }
        }
    }
}

#[test]
fn float_arithmetic_matches_python() {
    let values: Vec<Scalar> = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        2.5,
        -2.5,
        3.5,
        0.5,
        -7.25,
        1e-300,
        1e300,
        0.1,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        6.0,
        -6.0,
    ]
    .iter()
    .map(|&v| Scalar::Float(v))
    .collect();
    compare_with_python(
        &values,
        "float",
        &[
            "v0 // v1",
            "v0 % v1",
            "v0 / v1",
            "v0 * v1 - v1",
            "round(v0)",
            "int(v0)",
            "floor(v1)",
            "max(v0, v1)",
            "min(v0, v1)",
            "v0 < v1",
            "v0 == v1",
            "abs(v0)",
            "tanh(v0)",
        ],
    );
}

#[test]
fn int_arithmetic_matches_python() {
    let values: Vec<Scalar> = [
        0,
        1,
        -1,
        2,
        -2,
        3,
        -3,
        7,
        -7,
        10,
        1 << 53,
        (1 << 53) + 1,
        -(1 << 60),
    ]
    .iter()
    .map(|&v| Scalar::Int(v))
    .collect();
    compare_with_python(
        &values,
        "int",
        &[
            "v0 // v1",
            "v0 % v1",
            "v0 / v1",
            "v0 - v1 * 3",
            "max(v0, v1, -5)",
            "v0 <= v1",
            "abs(v0)",
        ],
    );
    let mixed = [Scalar::Int((1 << 53) + 1), Scalar::Int(-3), Scalar::Int(7)];
    let program = |expr: &str| {
        parse(&format!(
            "program pointwise (a: [i], b: [f])\ninput i: int\ninput f: float\nbody {{\n}}\noutput {expr}\n"
        ))
        .unwrap()
    };
    // Exact comparison of an int with a float: 2**53 + 1 > 2.0**53.
    let out = run_pointwise(
        &program("i > f, i == f, i // f, i % f, max(i, f)"),
        &[vec![mixed[0]], vec![Scalar::Float(9007199254740992.0)]],
    )
    .unwrap();
    assert_eq!(
        out,
        vec![
            Scalar::Bool(true),
            Scalar::Bool(false),
            Scalar::Float(1.0),
            Scalar::Float(0.0),
            Scalar::Float(9007199254740992.0)
        ]
    );
    let out = run_pointwise(
        &program("i // f, i % f"),
        &[vec![mixed[1]], vec![Scalar::Float(2.0)]],
    )
    .unwrap();
    assert_eq!(out, vec![Scalar::Float(-2.0), Scalar::Float(1.0)]);
    let _ = mixed[2];
}

#[test]
fn assignments_read_their_targets_before_writing_them() {
    let source = "program sequence forward (x)
input x: float
state a: float
state b: float
state c: bool
state d: bool
state m: float
state k: int
init {
  a, b, c, d, m, k = 1.0, 2.0, true, false, 0.0, 3
}
body {
  a, b = b, a
  d = c and d
  c = d or not c
  m = max(x, 0.5, m + 1.0)
  a = a + 1.0 if a > 2.0 else a - 1.0
  m = 1 if c else m * 2.0
  k = k // 2 if k > 1 else -k
}
output a, b, c, d, m, k
";
    let program = parse(source).unwrap();
    let out = run_sequence(
        &program,
        &[vec![Scalar::Float(0.0)], vec![Scalar::Float(9.0)]],
    )
    .unwrap();
    // Step 0: a, b = 2, 1; d = true and false = false; c = false or not true = false;
    // m = max(0, 0.5, 1) = 1; a = 2 - 1 = 1 (2 > 2 is false); m = 1 * 2 = 2; k = 3 // 2 = 1.
    // Step 1: a, b = 1, 1; d = false; c = false or true = true; m = max(9, 0.5, 3) = 9;
    // a = 1 - 1 = 0; m = 1 (an int branch, promoted); k = -1.
    let f = Scalar::Float;
    let b = Scalar::Bool;
    assert_eq!(
        out,
        vec![
            vec![f(1.0), f(1.0), b(false), b(false), f(2.0), Scalar::Int(1)],
            vec![f(0.0), f(1.0), b(true), b(false), f(1.0), Scalar::Int(-1)],
        ]
    );
}
