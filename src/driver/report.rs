//! The machine-readable account of one compilation ([`Report`]) and the result
//! ([`Compilation`]), with the sentences the report gives for limits reached.

use std::collections::BTreeMap;

use serde::Serialize;

use super::checks::Checks;
use super::classify::Model;
use super::timer::Timer;
use super::{Options, Readout, VERSION};
use crate::lift::LiftReport;
use crate::network::Network;
use crate::normal::NormalReport;
use crate::program::metrics::{count_expression_nodes, count_statements};
use crate::program::Program;
use crate::rewrite;
use crate::verify::domain::Range;
use crate::verify::{Agreement, ExampleLayout, VerifyOptions};

/// Size of the generated program.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgramSize {
    pub statements: usize,
    pub expression_nodes: usize,
    pub python_lines: usize,
}

impl ProgramSize {
    /// The program's size before it is written as Python (`python_lines` 0).
    pub(super) fn of(program: &Program) -> ProgramSize {
        ProgramSize {
            statements: count_statements(program),
            expression_nodes: count_expression_nodes(program),
            python_lines: 0,
        }
    }
}

/// The machine-readable account of one compilation (`--report`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Version of this report's layout; bumped on any incompatible change.
    pub schema_version: u32,
    pub nn2py_version: &'static str,
    pub model_digest: String,
    pub producer: String,
    pub opset: i64,
    /// `"pointwise"` or `"sequence"`.
    pub kind: &'static str,
    /// Why a rank-3 model was not treated as a sequence model, if it was considered.
    pub kind_note: Option<String>,
    pub length: Option<usize>,
    /// One range per input feature (per step feature for sequence models).
    pub domain: Option<Vec<Range>>,
    /// The rolled cell against the whole model (sequence models).
    pub rolling: Option<Agreement>,
    /// The program (by nn2py's interpreter) against the network.
    pub verification: Option<Agreement>,
    /// The written Python (by `python3`) against the network.
    pub python_verification: Option<Agreement>,
    pub program: Option<ProgramSize>,
    /// How outputs are read.
    pub readout: Readout,
    /// What lifting found (sequence models read by rounding).
    pub lift: Option<LiftReport>,
    /// What the readability rewrite did to the program that was written: a lifted program, or a
    /// pointwise program when its simplified, inlined and rewritten form was kept.
    pub rewrite: Option<rewrite::Report>,
    /// What the numeric normal forms did to the network before the faithful lowering (when the
    /// faithful program is the one written and a domain exists).
    pub normal: Option<NormalReport>,
    /// Limits that were reached without stopping the compilation, one sentence each naming the
    /// limit and the flag that raises it (a domain too large to enumerate, a rewrite that hit a
    /// saturation limit). Empty when none was reached.
    pub limits_reached: Vec<String>,
    /// Milliseconds spent per stage, in pipeline order.
    pub timings_ms: BTreeMap<String, f64>,
}

impl Report {
    /// The report before any program exists: the model, its kind, domain and readout, the
    /// rolling check, and the note when the domain is too large to enumerate.
    pub(super) fn new(
        model_digest: String,
        model: &Model,
        checks: &Checks,
        rolling: Option<Agreement>,
        options: &Options,
    ) -> Report {
        let (kind, length) = match &model.network {
            Network::Pointwise(_) => ("pointwise", None),
            Network::Sequence(sequence) => ("sequence", Some(sequence.length)),
        };
        let domain = checks.domain.as_deref();
        let limits_reached = enumeration_note(&checks.layout, domain, &options.verify)
            .into_iter()
            .collect();
        Report {
            schema_version: 1,
            nn2py_version: VERSION,
            model_digest,
            producer: model.source.producer.clone(),
            opset: model.source.opset,
            kind,
            kind_note: model.kind_note.clone(),
            length,
            domain: checks.domain.clone(),
            rolling,
            verification: None,
            python_verification: None,
            program: None,
            readout: checks.readout,
            lift: None,
            rewrite: None,
            normal: None,
            limits_reached,
            timings_ms: BTreeMap::new(),
        }
    }

    /// True when every check that ran found full agreement and at least one check ran.
    pub fn verified(&self) -> bool {
        let checks = [&self.verification, &self.python_verification];
        checks.iter().any(|c| c.is_some())
            && checks
                .iter()
                .all(|c| c.as_ref().is_none_or(|a| a.is_exact()))
    }

    /// Records what the readability rewrite did to the program written, and the limits it hit.
    pub(super) fn record_rewrite(&mut self, rewrite: rewrite::Report, options: &rewrite::Options) {
        self.limits_reached.extend(rewrite_notes(&rewrite, options));
        self.rewrite = Some(rewrite);
    }
}

/// The result of a compilation.
#[derive(Debug, Clone)]
pub struct Compilation {
    pub network: Network,
    pub program: Option<Program>,
    pub python: Option<String>,
    pub report: Report,
}

impl Compilation {
    /// The result as far as the pipeline ran, with the timings of its stages.
    pub(super) fn finish(
        network: Network,
        program: Option<Program>,
        python: Option<String>,
        mut report: Report,
        timer: Timer,
    ) -> Compilation {
        report.timings_ms = timer.into_timings();
        Compilation {
            network,
            program,
            python,
            report,
        }
    }
}

/// The report line when the domain is finite but too large to enumerate, so verification samples.
fn enumeration_note(
    layout: &ExampleLayout,
    domain: Option<&[Range]>,
    options: &VerifyOptions,
) -> Option<String> {
    let features = layout.example_ranges(domain?);
    let size = features.iter().try_fold(Some(1u128), |acc, r| {
        Some(acc.and_then(|a| a.checked_mul(r.count()?)))
    })?;
    if size.is_some_and(|n| n <= options.exhaustive_limit) {
        return None;
    }
    let size = size.map_or_else(|| "more than 2^128".to_string(), |n| n.to_string());
    Some(format!(
        "the input domain has {size} inputs, more than the enumeration limit of {}: \
         verification checked {} sampled inputs (raise the limit with --max-enumeration, the \
         sample with --samples)",
        options.exhaustive_limit, options.samples
    ))
}

/// The report lines for rewrite runs stopped by a saturation limit, one per limit reached.
fn rewrite_notes(report: &rewrite::Report, options: &rewrite::Options) -> Vec<String> {
    let limits = [
        (
            "iteration limit",
            options.iter_limit.to_string(),
            "--rewrite-iterations",
        ),
        (
            "node limit",
            format!("{} e-nodes", options.node_limit),
            "--rewrite-nodes",
        ),
        (
            "time limit",
            format!("{} ms", options.time_limit.as_millis()),
            "--rewrite-time-ms",
        ),
    ];
    limits
        .into_iter()
        .filter_map(|(reason, value, flag)| {
            let runs = report
                .stop_reasons
                .get(reason)
                .copied()
                .filter(|&n| n > 0)?;
            Some(format!(
                "the readability rewrite stopped {runs} time(s) at its {reason} of {value}; the \
                 program is correct but may be less simplified (raise it with {flag})"
            ))
        })
        .collect()
}
