//! Readability rewriting of program expressions by equality saturation (`egg`).
//!
//! [`simplify_program`] takes every expression of a program (each assigned value in `init` and
//! `body`, and each output) through its own e-graph: the expression is added, the rules of
//! [`rules`] are applied until saturation or a limit of [`Options`], and the cheapest member of
//! the root class under the [`cost::Readability`] cost is extracted. The expression is replaced
//! only when that costs strictly less than the expression as written, so a program that is
//! already in normal form comes back unchanged.
//!
//! **Invariant:** every rule is an equality of the program IR that holds for all inputs meeting
//! its guard; arithmetic laws that are not exact in IEEE doubles apply only to `Int` classes (the
//! analysis of [`analysis`] types every class). The cost function alone defines the normal form.
//!
//! Hitting a limit is not an error: the best expression found so far is used, and the limit is
//! counted in [`Report::stop_reasons`]. The node and iteration limits are deterministic; the
//! time limit is a safety net whose default is far above what the other two allow, so the same
//! program gives the same output unless a machine is slow enough to hit it.

pub mod analysis;
pub mod cost;
pub mod inline;
pub mod lang;
pub mod rules;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use egg::{CostFunction, Extractor, RecExpr, Runner, StopReason};
use serde::Serialize;

use crate::program::validate::{expr_type, validate};
use crate::program::{Expr, Program, Stmt};
use analysis::TypeAnalysis;
use cost::Readability;
use lang::{from_rec_expr, to_rec_expr, Node};
use rules::Rewrite;

/// Limits of the equality saturation of one expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Most rule-application rounds per expression.
    pub iter_limit: usize,
    /// Most e-nodes in one expression's e-graph.
    pub node_limit: usize,
    /// Most wall-clock time per expression.
    pub time_limit: Duration,
}

impl Default for Options {
    /// 30 rounds, 10,000 nodes, 5 seconds per expression.
    fn default() -> Self {
        Options {
            iter_limit: 30,
            node_limit: 10_000,
            time_limit: Duration::from_secs(5),
        }
    }
}

/// What [`simplify_program`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Expressions in the program: every assigned value and every output.
    pub expressions: usize,
    /// Expressions replaced by a strictly more readable equivalent.
    pub changed: usize,
    /// E-graph runs (every expression but a lone variable or literal).
    pub runs: usize,
    /// How the runs stopped (`saturated`, `iteration limit`, `node limit`, `time limit`,
    /// `other`) and how many stopped that way.
    pub stop_reasons: BTreeMap<String, usize>,
    /// Rule-application rounds, over all runs.
    pub iterations: usize,
    /// E-nodes of the largest e-graph of any run.
    pub egraph_nodes: usize,
    /// Sum of the readability costs ([`cost::Readability`]) of all expressions as written.
    pub cost_before: u64,
    /// Sum of the readability costs of all expressions after the pass.
    pub cost_after: u64,
    /// Simplified expressions discarded because their type differs from the original's (a rule
    /// that does not preserve types; the expression is kept as written).
    pub rejected: usize,
    /// Why the whole program was returned unchanged, if it was: it does not validate, or (a bug)
    /// the simplified program does not.
    pub skipped: Option<String>,
}

/// Rewrites every expression of `program` to its most readable equivalent found within the
/// limits of `options`.
///
/// The result validates whenever `program` does, and computes the same outputs on every input
/// on which `program` runs without error (see the module doc). A program that does not validate
/// is returned unchanged, with the reason in [`Report::skipped`]. Never fails: limits are
/// reported, not raised.
pub fn simplify_program(program: &Program, options: &Options) -> (Program, Report) {
    simplify_with(program, options, rules::all())
}

/// [`simplify_program`] with also the laws that hold for every double but NaN (relu pairs to
/// `abs`). The caller must keep the result only when it agrees with the network on the checked
/// inputs (the driver does, for pointwise models).
pub fn simplify_program_finite(program: &Program, options: &Options) -> (Program, Report) {
    simplify_with(program, options, rules::with_finite())
}

fn simplify_with(program: &Program, options: &Options, rules: Vec<Rewrite>) -> (Program, Report) {
    let mut report = Report::default();
    if let Err(error) = validate(program) {
        report.skipped = Some(error.to_string());
        return (program.clone(), report);
    }
    let analysis = TypeAnalysis::new(
        program.vars.iter().map(|v| v.ty).collect::<Arc<[_]>>(),
        program.tables.iter().map(|t| t.ty).collect::<Arc<[_]>>(),
    );
    let mut pass = Pass {
        program,
        rules: &rules,
        analysis,
        options,
        report: &mut report,
    };
    let mut simplified = program.clone();
    for stmt in simplified.init.iter_mut().chain(simplified.body.iter_mut()) {
        let Stmt::Assign { targets: _, values } = stmt;
        for value in values {
            pass.expr(value);
        }
    }
    for output in &mut simplified.outputs {
        pass.expr(output);
    }
    if let Err(error) = validate(&simplified) {
        let reason = format!("the simplified program does not verify ({error}); kept as written");
        let report = Report {
            skipped: Some(reason),
            ..Report::default()
        };
        return (program.clone(), report);
    }
    (simplified, report)
}

/// The state of one [`simplify_program`] call.
struct Pass<'a> {
    program: &'a Program,
    rules: &'a [Rewrite],
    analysis: TypeAnalysis,
    options: &'a Options,
    report: &'a mut Report,
}

impl Pass<'_> {
    /// Replaces `expr` by its normal form when that is strictly cheaper and has the same type.
    fn expr(&mut self, expr: &mut Expr) {
        self.report.expressions += 1;
        // A validated program has only well-typed, well-formed expressions; anything else is
        // left as written.
        let (Ok(ty), Ok(rec)) = (expr_type(self.program, expr), to_rec_expr(expr)) else {
            return;
        };
        let outcome = saturate(&rec, self.rules, self.analysis.clone(), self.options);
        self.report.cost_before += outcome.cost_before;
        if let Some(run) = &outcome.run {
            self.report.runs += 1;
            *self
                .report
                .stop_reasons
                .entry(run.stop_reason.clone())
                .or_default() += 1;
            self.report.iterations += run.iterations;
            self.report.egraph_nodes = self.report.egraph_nodes.max(run.egraph_nodes);
        }
        let candidate = from_rec_expr(&outcome.best)
            .ok()
            .filter(|new| new != expr)
            .filter(|new| {
                let same = expr_type(self.program, new).ok() == Some(ty);
                if !same {
                    self.report.rejected += 1;
                }
                same
            });
        match candidate {
            Some(new) => {
                self.report.changed += 1;
                self.report.cost_after += outcome.cost_after;
                *expr = new;
            }
            None => self.report.cost_after += outcome.cost_before,
        }
    }
}

/// The statistics of one e-graph run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub stop_reason: String,
    pub iterations: usize,
    pub egraph_nodes: usize,
}

/// The result of saturating one expression.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// The extracted normal form when it is strictly cheaper, else the input.
    pub best: RecExpr<Node>,
    pub cost_before: u64,
    pub cost_after: u64,
    /// `None` when the input is a single leaf (nothing to rewrite).
    pub run: Option<Run>,
}

/// Saturates `rec` with `rules` within the limits of `options` and extracts its normal form.
pub(crate) fn saturate(
    rec: &RecExpr<Node>,
    rules: &[Rewrite],
    analysis: TypeAnalysis,
    options: &Options,
) -> Outcome {
    let cost_before = Readability.cost_rec(rec).score;
    if rec.as_ref().len() <= 1 {
        return Outcome {
            best: rec.clone(),
            cost_before,
            cost_after: cost_before,
            run: None,
        };
    }
    let runner: Runner<Node, TypeAnalysis> = Runner::new(analysis)
        .with_iter_limit(options.iter_limit)
        .with_node_limit(options.node_limit)
        .with_time_limit(options.time_limit)
        .with_expr(rec)
        .run(rules);
    let run = Run {
        stop_reason: stop_reason_name(runner.stop_reason.as_ref()).to_string(),
        iterations: runner.iterations.len(),
        egraph_nodes: runner.egraph.total_number_of_nodes(),
    };
    let extracted = runner.roots.first().map(|&root| {
        let extractor = Extractor::new(&runner.egraph, Readability);
        extractor.find_best(root)
    });
    match extracted {
        Some((cost, best)) if cost.score < cost_before => Outcome {
            best,
            cost_before,
            cost_after: cost.score,
            run: Some(run),
        },
        Some(_) | None => Outcome {
            best: rec.clone(),
            cost_before,
            cost_after: cost_before,
            run: Some(run),
        },
    }
}

fn stop_reason_name(reason: Option<&StopReason>) -> &'static str {
    match reason {
        Some(StopReason::Saturated) => "saturated",
        Some(StopReason::IterationLimit(_)) => "iteration limit",
        Some(StopReason::NodeLimit(_)) => "node limit",
        Some(StopReason::TimeLimit(_)) => "time limit",
        Some(StopReason::Other(_)) | None => "other",
    }
}
