//! Tests of the whole pass: the egg README example, soundness on random expressions (checked
//! with the program interpreter), and whole programs through the validator.

use std::sync::Arc;

use egg::{define_language, rewrite as rw, AstSize, Extractor, Id, RecExpr, Runner, Symbol};

use super::analysis::TypeAnalysis;
use super::lang::Node;
use super::{rules, saturate, simplify_program, Options};
use crate::program::interp::{run_pointwise, Scalar};
use crate::program::{
    text, Argument, BinaryOp, Expr, Func, Literal, Program, Signature, Type, UnaryOp, VarId,
    VarKind,
};
use crate::rng::SplitMix64;

/// Four `Int` variables `v0..v3`.
pub(crate) const INT_VARS: [Type; 4] = [Type::Int; 4];
/// Four `Float` variables `v0..v3`.
pub(crate) const FLOAT_VARS: [Type; 4] = [Type::Float; 4];
/// `v0 v1` ints, `v2 v3` bools, `v4 v5` floats.
pub(crate) const MIXED_VARS: [Type; 6] = [
    Type::Int,
    Type::Int,
    Type::Bool,
    Type::Bool,
    Type::Float,
    Type::Float,
];

/// The normal form of an s-expression over variables of the given types, as the pass computes
/// it (an expression is kept as written unless its normal form is strictly cheaper).
pub(crate) fn simplify_sexpr(vars: &[Type], source: &str) -> String {
    let rec: RecExpr<Node> = source.parse().unwrap_or_else(|e| panic!("{source}: {e}"));
    let analysis = TypeAnalysis::new(Arc::from(vars), Arc::from(Vec::new()));
    saturate(&rec, &rules::all(), analysis, &Options::default())
        .best
        .to_string()
}

/// Asserts that each input's normal form is the expected one.
pub(crate) fn assert_normal_forms(vars: &[Type], cases: &[(&str, &str)]) {
    for (input, expected) in cases {
        assert_eq!(simplify_sexpr(vars, input), *expected, "{input}");
    }
}

/// Asserts that each input's normal form is one of the accepted ones (where commuted forms
/// cost the same).
pub(crate) fn assert_normal_form_among(vars: &[Type], cases: &[(&str, &[&str])]) {
    for (input, accepted) in cases {
        let got = simplify_sexpr(vars, input);
        assert!(accepted.contains(&got.as_str()), "{input} gave {got}");
    }
}

/// Asserts that each input is kept as written.
pub(crate) fn assert_kept(vars: &[Type], inputs: &[&str]) {
    for input in inputs {
        assert_eq!(simplify_sexpr(vars, input), *input, "{input}");
    }
}

// The example on egg's front page, run as a test: it pins the API this pass relies on.
define_language! {
    enum SimpleLanguage {
        Num(i32),
        "+" = Add([Id; 2]),
        "*" = Mul([Id; 2]),
        Symbol(Symbol),
    }
}

fn make_rules() -> Vec<egg::Rewrite<SimpleLanguage, ()>> {
    vec![
        rw!("commute-add"; "(+ ?a ?b)" => "(+ ?b ?a)"),
        rw!("commute-mul"; "(* ?a ?b)" => "(* ?b ?a)"),
        rw!("add-0"; "(+ ?a 0)" => "?a"),
        rw!("mul-0"; "(* ?a 0)" => "0"),
        rw!("mul-1"; "(* ?a 1)" => "?a"),
    ]
}

fn simplify_simple(s: &str) -> String {
    let expr: RecExpr<SimpleLanguage> = s.parse().unwrap();
    let runner = Runner::default().with_expr(&expr).run(&make_rules());
    let root = runner.roots[0];
    let extractor = Extractor::new(&runner.egraph, AstSize);
    let (_, best) = extractor.find_best(root);
    best.to_string()
}

#[test]
fn egg_front_page_example() {
    assert_eq!(simplify_simple("(* 0 42)"), "0");
    assert_eq!(simplify_simple("(+ 0 (* 1 foo))"), "foo");
}

#[test]
fn the_same_example_in_the_program_language() {
    assert_eq!(simplify_sexpr(&INT_VARS, "(* 0 42)"), "0");
    assert_eq!(simplify_sexpr(&INT_VARS, "(+ 0 (* 1 v0))"), "v0");
    // For floats `0 + x` is not `x` (`0 + -0.0` is `0.0`), but `1 * x` is.
    assert_eq!(simplify_sexpr(&FLOAT_VARS, "(+ 0 (* 1 v0))"), "(+ v0 0)");
}

/// A pointwise program over `ints` Int inputs and `floats` Float inputs (in that order), with
/// the given outputs.
fn pointwise(ints: usize, floats: usize, outputs: Vec<Expr>) -> Program {
    let mut program = Program::new(Signature::Pointwise {
        arguments: Vec::new(),
    });
    program.outputs = outputs;
    let mut arguments = Vec::new();
    for i in 0..ints + floats {
        let ty = if i < ints { Type::Int } else { Type::Float };
        let id = program.add_var(format!("x{i}"), ty, VarKind::Input);
        arguments.push(Argument {
            name: format!("x{i}"),
            features: vec![id],
        });
    }
    program.signature = Signature::Pointwise { arguments };
    program
}

/// Random expressions: `Int` ones over variables `0..ints`, `Float` ones also over
/// `ints..ints + floats`, with small literals so that identities fire often.
struct Gen {
    rng: SplitMix64,
    ints: u32,
    floats: u32,
}

impl Gen {
    fn pick(&mut self, n: i64) -> i64 {
        self.rng.int_in(0, n - 1)
    }

    fn int_leaf(&mut self) -> Expr {
        if self.pick(2) == 0 {
            Expr::Var(VarId(self.pick(i64::from(self.ints)) as u32))
        } else {
            Expr::Lit(Literal::Int(self.rng.int_in(-3, 3)))
        }
    }

    fn int(&mut self, depth: u32) -> Expr {
        if depth == 0 || self.pick(5) == 0 {
            return self.int_leaf();
        }
        let sub = |g: &mut Gen| Box::new(g.int(depth - 1));
        let op = self.pick(14);
        match op {
            0..=5 => {
                let op = [
                    BinaryOp::Add,
                    BinaryOp::Sub,
                    BinaryOp::Mul,
                    BinaryOp::FloorDiv,
                    BinaryOp::Mod,
                    BinaryOp::Add,
                ][op as usize];
                Expr::Binary(op, sub(self), sub(self))
            }
            6 => Expr::Unary(UnaryOp::Neg, sub(self)),
            7 => Expr::Call(Func::Abs, vec![self.int(depth - 1)]),
            8 | 9 => {
                let func = if op == 8 { Func::Max } else { Func::Min };
                let n = 2 + self.pick(2) as usize;
                Expr::Call(func, (0..n).map(|_| self.int(depth - 1)).collect())
            }
            10 => Expr::Select {
                cond: Box::new(self.boolean(depth - 1)),
                then: sub(self),
                otherwise: sub(self),
            },
            11 => Expr::Call(Func::Int, vec![self.boolean(depth - 1)]),
            // relu(x - y) + y and c - (c - x): the shapes the brief singles out.
            12 => {
                let (x, y) = (self.int(depth - 1), self.int(depth - 1));
                let relu = Expr::Call(
                    Func::Max,
                    vec![
                        Expr::Lit(Literal::Int(0)),
                        Expr::Binary(BinaryOp::Sub, Box::new(x), Box::new(y.clone())),
                    ],
                );
                Expr::Binary(BinaryOp::Add, Box::new(relu), Box::new(y))
            }
            _ => {
                let c = Expr::Lit(Literal::Int(self.rng.int_in(-100, 100)));
                let inner = Expr::Binary(BinaryOp::Sub, Box::new(c.clone()), sub(self));
                Expr::Binary(BinaryOp::Sub, Box::new(c), Box::new(inner))
            }
        }
    }

    fn boolean(&mut self, depth: u32) -> Expr {
        if depth == 0 || self.pick(6) == 0 {
            return Expr::Lit(Literal::Bool(self.pick(2) == 0));
        }
        let op = self.pick(7);
        match op {
            0 => Expr::Unary(UnaryOp::Not, Box::new(self.boolean(depth - 1))),
            1..=3 => {
                let op = [BinaryOp::And, BinaryOp::Or, BinaryOp::Xor][op as usize - 1];
                let (a, b) = (self.boolean(depth - 1), self.boolean(depth - 1));
                Expr::Binary(op, Box::new(a), Box::new(b))
            }
            _ => {
                let ops = [
                    BinaryOp::Lt,
                    BinaryOp::Le,
                    BinaryOp::Gt,
                    BinaryOp::Ge,
                    BinaryOp::Eq,
                    BinaryOp::Ne,
                ];
                let op = ops[self.pick(6) as usize];
                let (a, b) = (self.int(depth - 1), self.int(depth - 1));
                Expr::Binary(op, Box::new(a), Box::new(b))
            }
        }
    }

    fn float_leaf(&mut self) -> Expr {
        match self.pick(4) {
            0 | 1 => Expr::Var(VarId(self.ints + self.pick(i64::from(self.floats)) as u32)),
            2 => Expr::Var(VarId(self.pick(i64::from(self.ints)) as u32)),
            _ => {
                let lits = [
                    Literal::Float(0.0),
                    Literal::Float(-0.0),
                    Literal::Float(1.0),
                    Literal::Float(0.5),
                    Literal::Int(0),
                    Literal::Int(1),
                    Literal::Int(-1),
                ];
                Expr::Lit(lits[self.pick(lits.len() as i64) as usize])
            }
        }
    }

    /// A numeric expression, usually `Float`, mixing in `Int` variables and literals.
    fn float(&mut self, depth: u32) -> Expr {
        if depth == 0 || self.pick(5) == 0 {
            return self.float_leaf();
        }
        let op = self.pick(11);
        let sub = |g: &mut Gen| Box::new(g.float(depth - 1));
        match op {
            0..=2 => {
                let op = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul][op as usize];
                Expr::Binary(op, sub(self), sub(self))
            }
            3 => Expr::Unary(UnaryOp::Neg, sub(self)),
            4 => Expr::Call(Func::Abs, vec![self.float(depth - 1)]),
            5 | 6 => {
                let func = if op == 5 { Func::Max } else { Func::Min };
                Expr::Call(func, vec![self.float(depth - 1), self.float(depth - 1)])
            }
            7 | 8 => {
                let ops = [BinaryOp::Lt, BinaryOp::Gt, BinaryOp::Eq];
                let cmp = ops[self.pick(3) as usize];
                let cond = Expr::Binary(cmp, sub(self), sub(self));
                let cond = if op == 8 {
                    Expr::Unary(UnaryOp::Not, Box::new(cond))
                } else {
                    cond
                };
                Expr::Select {
                    cond: Box::new(cond),
                    then: sub(self),
                    otherwise: sub(self),
                }
            }
            9 => Expr::Call(
                Func::Max,
                vec![Expr::Lit(Literal::Float(0.0)), self.float(depth - 1)],
            ),
            _ => Expr::Call(Func::Tanh, vec![self.float(depth - 1)]),
        }
    }
}

/// Equal as Python values: the same type and value, floats bit for bit (any NaN equals any
/// NaN).
fn same_value(a: Scalar, b: Scalar) -> bool {
    match (a, b) {
        (Scalar::Float(x), Scalar::Float(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Scalar::Int(x), Scalar::Int(y)) => x == y,
        (Scalar::Bool(x), Scalar::Bool(y)) => x == y,
        (Scalar::Int(_) | Scalar::Float(_) | Scalar::Bool(_), _) => false,
    }
}

/// Checks that `simplified` gives what `original` gives on every input where `original` runs.
fn assert_agree(original: &Program, simplified: &Program, inputs: &[Vec<Vec<Scalar>>]) {
    for input in inputs {
        let Ok(want) = run_pointwise(original, input) else {
            continue;
        };
        let got = run_pointwise(simplified, input).unwrap_or_else(|e| {
            panic!(
                "{e} on {input:?}\noriginal:\n{}simplified:\n{}",
                text::print(original),
                text::print(simplified)
            )
        });
        let agree =
            want.len() == got.len() && want.iter().zip(&got).all(|(a, b)| same_value(*a, *b));
        assert!(
            agree,
            "on {input:?}: {want:?} became {got:?}\noriginal:\n{}simplified:\n{}",
            text::print(original),
            text::print(simplified)
        );
    }
}

fn small_limits() -> Options {
    Options {
        iter_limit: 12,
        node_limit: 3_000,
        ..Options::default()
    }
}

#[test]
fn random_int_expressions_keep_their_values() {
    let mut gen = Gen {
        rng: SplitMix64::new(2024),
        ints: 3,
        floats: 0,
    };
    let mut inputs: Vec<Vec<Vec<Scalar>>> = Vec::new();
    for _ in 0..40 {
        inputs.push(
            (0..3)
                .map(|_| vec![Scalar::Int(gen.rng.int_in(-7, 7))])
                .collect(),
        );
    }
    let (mut changed, mut total) = (0, 0);
    for _ in 0..150 {
        let outputs = vec![gen.int(4), gen.boolean(3)];
        let program = pointwise(3, 0, outputs);
        let (simplified, report) = simplify_program(&program, &small_limits());
        assert_eq!(report.skipped, None);
        crate::program::validate::validate(&simplified).unwrap();
        assert_agree(&program, &simplified, &inputs);
        assert!(report.cost_after <= report.cost_before);
        changed += report.changed;
        total += report.expressions;
    }
    // The generator is biased toward simplifiable shapes: most expressions must change.
    assert!(changed * 2 > total, "{changed} of {total} changed");
}

#[test]
fn random_float_expressions_keep_their_values_bit_for_bit() {
    let mut gen = Gen {
        rng: SplitMix64::new(77),
        ints: 1,
        floats: 2,
    };
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    let mut inputs: Vec<Vec<Vec<Scalar>>> = Vec::new();
    for i in 0..60 {
        let int = Scalar::Int(gen.rng.int_in(-2, 2));
        let float = |g: &mut Gen| {
            if i % 3 == 0 {
                g.rng.real_in(-2.0, 2.0)
            } else {
                specials[g.pick(specials.len() as i64) as usize]
            }
        };
        let (x, y) = (float(&mut gen), float(&mut gen));
        inputs.push(vec![
            vec![int],
            vec![Scalar::Float(x)],
            vec![Scalar::Float(y)],
        ]);
    }
    let mut changed = 0;
    for _ in 0..150 {
        let program = pointwise(1, 2, vec![gen.float(4)]);
        let (simplified, report) = simplify_program(&program, &small_limits());
        assert_eq!(report.skipped, None);
        assert_agree(&program, &simplified, &inputs);
        changed += report.changed;
    }
    assert!(changed > 10, "only {changed} float expressions changed");
}

#[test]
fn a_sequence_program_simplifies_and_validates() {
    let declarations = "\
program sequence forward (x, b)
input x: int
input b: bool
state total: int
state prev1: int
local y: int
local r: int
local f: float
";
    let source = declarations.to_string()
        + "\
init {
  total = 0 * 5
  prev1 = 0
}
body {
  y = 99 - (99 - prev1)
  r = max(0, x - y) + y
  total = total + x
  prev1 = x
  f = float(total) + 0.0
}
output y, r, (1 if b else 0) == 1, total + -1, f * 1
";
    let program = text::parse(&source).unwrap_or_else(|e| panic!("{e}"));
    let (simplified, report) = simplify_program(&program, &Options::default());
    crate::program::validate::validate(&simplified).unwrap();
    let expected = declarations.to_string()
        + "\
init {
  total = 0
  prev1 = 0
}
body {
  y = prev1
  r = max(x, y)
  total = total + x
  prev1 = x
  f = float(total) + 0.0
}
output y, r, b, total - 1, f
";
    let printed = text::print(&simplified);
    let alternative = expected.replace("max(x, y)", "max(y, x)");
    assert!(printed == expected || printed == alternative, "{printed}");
    assert_eq!(report.expressions, 12);
    assert_eq!(report.changed, 6, "{report:?}");
    assert!(report.cost_after < report.cost_before);
    assert_eq!(report.skipped, None);
    assert_eq!(report.rejected, 0);
    assert!(report.runs >= 8);
    let serialized = serde_json::to_string(&report).unwrap();
    assert!(serialized.contains("\"stop_reasons\""), "{serialized}");

    // Simplifying again changes nothing: the output is a normal form.
    let (again, report) = simplify_program(&simplified, &Options::default());
    assert_eq!(again, simplified);
    assert_eq!(report.changed, 0);
}

#[test]
fn tables_and_opaque_functions_round_trip_unchanged() {
    let source = "\
program pointwise (i: [i], x: [x])
input i: int
input x: float
table T: float[2 x 2] = [
  [0.5, 1.0],
  [-2.0, 3.0],
]
body {
}
output T[i - 0][1] * tanh(x), sigmoid(exp(x)), round(x) + floor(x), T[i][0]
";
    let program = text::parse(source).unwrap_or_else(|e| panic!("{e}"));
    let (simplified, report) = simplify_program(&program, &Options::default());
    let expected = source.replace("T[i - 0][1]", "T[i][1]");
    assert_eq!(text::print(&simplified), expected);
    assert_eq!(report.changed, 1);
}

#[test]
fn limits_are_reported_not_raised() {
    // A long integer sum under associativity and commutativity exceeds a small node limit.
    let terms: Vec<String> = (0..12).map(|i| format!("a{}", i % 3)).collect();
    let source = format!(
        "program pointwise (a0: [a0], a1: [a1], a2: [a2])\ninput a0: int\ninput a1: int\n\
         input a2: int\nbody {{\n}}\noutput {}\n",
        terms.join(" + ")
    );
    let program = text::parse(&source).unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        node_limit: 200,
        ..Options::default()
    };
    let (simplified, report) = simplify_program(&program, &options);
    crate::program::validate::validate(&simplified).unwrap();
    assert_eq!(
        report.stop_reasons.get("node limit"),
        Some(&1),
        "{report:?}"
    );
    let inputs: Vec<Vec<Vec<Scalar>>> = (0..5)
        .map(|k| (0..3).map(|j| vec![Scalar::Int(k * 3 + j - 4)]).collect())
        .collect();
    assert_agree(&program, &simplified, &inputs);
}

#[test]
fn an_invalid_program_is_returned_unchanged() {
    let mut program = pointwise(1, 0, vec![]);
    program.outputs = vec![Expr::Binary(
        BinaryOp::And,
        Box::new(Expr::Var(VarId(0))),
        Box::new(Expr::Lit(Literal::Bool(true))),
    )];
    let (same, report) = simplify_program(&program, &Options::default());
    assert_eq!(same, program);
    assert!(report.skipped.is_some());
    assert_eq!(report.changed, 0);
}

#[test]
fn a_single_argument_max_becomes_its_argument() {
    let program = pointwise(1, 0, vec![Expr::Call(Func::Max, vec![Expr::Var(VarId(0))])]);
    let (simplified, report) = simplify_program(&program, &Options::default());
    assert_eq!(simplified.outputs, vec![Expr::Var(VarId(0))]);
    assert_eq!(report.changed, 1);
    assert_eq!(report.runs, 0);
}
