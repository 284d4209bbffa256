//! The compiler driver: the pipeline as one readable, ordered list of stages.
//!
//! `compile` runs: digest -> import (ONNX, or the network IR's text form) -> sequence rolling ->
//! network verification -> reference outputs -> rolling check -> lifting (sequence models read by
//! rounding; pointwise models with integer outputs on an enumerated domain) -> otherwise numeric
//! normal forms of the weights, faithful lowering, program verification, program check against
//! the network and (pointwise) the readability rewrite -> Python
//! -> (optionally) the Python file run by `python3` against the network. It stops early when only
//! an intermediate form is wanted ([`Emit`]). It never prints, never exits, never writes files
//! other than the scratch copy of the module that `python3` runs.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::back::python::{self as python_back, Header, PythonError};
use crate::diag::{Diagnose, Location, SourceSpan};
use crate::front::onnx::{self as onnx_front, ImportError, ImportOptions, ImportedModel, Limits};
use crate::front::sequence::{self, RollError};
use crate::lift::{self, LiftOptions, LiftReport};
use crate::lower::faithful::{self, LowerError};
use crate::network::text as network_text;
use crate::network::validate::{validate_network, ValidateError as NetworkValidateError};
use crate::network::{Graph, Network, SequenceModel};
use crate::normal::{self, NormalError, NormalReport};
use crate::program::validate::{validate, ValidateError};
use crate::program::Program;
use crate::rewrite;
use crate::verify::domain::{self, DomainError, Range};
use crate::verify::python::{self as python_run, PythonRunError};
use crate::verify::{self, Agreement, ExampleLayout, ReferenceError, VerifyOptions};

/// The nn2py version written into every generated file and report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Metadata key (in the ONNX `metadata_props`) that gives a model's input domain.
pub const DOMAIN_METADATA_KEY: &str = "nn2py.domain";

/// Metadata key that says how a model's outputs are read: `round` (to the nearest integer) or
/// `raw`.
pub const READOUT_METADATA_KEY: &str = "nn2py.readout";

/// How the network's outputs are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// As the real numbers the network computes.
    Raw,
    /// Rounded to the nearest integer (half to even): the network computes an integer function.
    /// Programs return integers and are checked exactly against the rounded outputs.
    Round,
}

impl Readout {
    /// Parses `raw` or `round`.
    pub fn parse(text: &str) -> Option<Readout> {
        match text.trim() {
            "raw" => Some(Readout::Raw),
            "round" => Some(Readout::Round),
            _ => None,
        }
    }
}

/// How far the pipeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Network,
    Program,
    Python,
}

/// Whether the model is a sequence model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindChoice {
    /// Sequence when the model has recurrent ops, or maps `[N, T, d]` to `[N, T, o]` and re-rolls.
    Auto,
    Pointwise,
    Sequence,
}

/// Everything `compile` needs besides the model bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Input domain ranges as given by the user; `None` falls back to the model's metadata.
    pub domain: Option<Vec<Range>>,
    /// Sequence length to bind.
    pub length: Option<usize>,
    pub kind: KindChoice,
    pub limits: Limits,
    pub verify: VerifyOptions,
    /// The `python3` executable for running the written module; `None` skips that check.
    pub python: Option<String>,
    pub emit: Emit,
    /// How outputs are read; `None` falls back to the model's metadata, then to raw.
    pub readout: Option<Readout>,
    /// Whether to try lifting the network to the program it implements (else the faithful
    /// lowering alone).
    pub lift: bool,
    pub lift_options: LiftOptions,
    /// Whether to bring the network's weights to normal form (`normal`) before the faithful
    /// lowering, when it is the program written.
    pub normalise: bool,
    /// Limits of the readability rewrite (equality saturation) run on lifted programs.
    pub rewrite: rewrite::Options,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            domain: None,
            length: None,
            kind: KindChoice::Auto,
            limits: Limits::default(),
            verify: VerifyOptions::default(),
            python: None,
            emit: Emit::Python,
            readout: None,
            lift: true,
            lift_options: LiftOptions::default(),
            normalise: true,
            rewrite: rewrite::Options::default(),
        }
    }
}

/// Why compilation stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Roll(#[from] RollError),
    #[error(transparent)]
    Network(#[from] NetworkValidateError),
    #[error("{error}")]
    NetworkText {
        error: network_text::TextError,
        text: String,
    },
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Reference(#[from] ReferenceError),
    #[error(
        "the rolled cell does not reproduce the whole model: {}",
        .0.summary()
    )]
    RollingChanged(Box<Agreement>),
    #[error(transparent)]
    Lower(#[from] LowerError),
    #[error(transparent)]
    Program(#[from] ValidateError),
    #[error(transparent)]
    Python(#[from] PythonError),
    #[error(transparent)]
    PythonRun(#[from] PythonRunError),
    #[error(
        "no input domain: pass --domain (for example --domain 0..100, one range per input or per \
         feature), or store it in the model's metadata under \"{DOMAIN_METADATA_KEY}\""
    )]
    NoDomain,
    #[error("{0}")]
    Usage(String),
    #[error("cannot write the generated module for python3: {0}")]
    Scratch(String),
    /// The network is over one of [`Limits`] (the message names it and the flag that raises it).
    #[error("{0}")]
    Limit(String),
}

impl Diagnose for CompileError {
    fn location(&self) -> Location {
        match self {
            CompileError::Import(e) => e.location(),
            CompileError::Roll(e) => e.location(),
            CompileError::NetworkText { error, text } => Location::Text(SourceSpan {
                source_name: "<network text>".to_string(),
                source: text.clone(),
                span: error.span.clone(),
            }),
            CompileError::Network(_)
            | CompileError::Domain(_)
            | CompileError::Reference(_)
            | CompileError::RollingChanged(_)
            | CompileError::Lower(_)
            | CompileError::Program(_)
            | CompileError::Python(_)
            | CompileError::PythonRun(_)
            | CompileError::NoDomain
            | CompileError::Usage(_)
            | CompileError::Scratch(_)
            | CompileError::Limit(_) => Location::Unknown,
        }
    }
}

/// Size of the generated program.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgramSize {
    pub statements: usize,
    pub expression_nodes: usize,
    pub python_lines: usize,
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
    /// True when every check that ran found full agreement and at least one check ran.
    pub fn verified(&self) -> bool {
        let checks = [&self.verification, &self.python_verification];
        checks.iter().any(|c| c.is_some())
            && checks
                .iter()
                .all(|c| c.as_ref().is_none_or(|a| a.is_exact()))
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

/// `sha256:<hex>` of the model bytes.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

struct Timer {
    timings: BTreeMap<String, f64>,
    order: usize,
    last: Instant,
}

impl Timer {
    fn new() -> Self {
        Timer {
            timings: BTreeMap::new(),
            order: 0,
            last: Instant::now(),
        }
    }

    /// Records the time since the previous lap under `stage` (prefixed to keep pipeline order).
    fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        self.order += 1;
        self.timings.insert(
            format!("{:02}_{stage}", self.order),
            (now - self.last).as_secs_f64() * 1e3,
        );
        self.last = now;
    }
}

/// Compiles a model: ONNX bytes, or the network IR's text form. See the module doc for the stages.
pub fn compile(bytes: &[u8], options: &Options) -> Result<Compilation, CompileError> {
    let mut timer = Timer::new();
    let model_digest = digest(bytes);
    let import_options = ImportOptions {
        length: options.length,
        limits: options.limits.clone(),
    };
    let (network, full_graph, kind_note, source) = if is_network_text(bytes) {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let network = network_text::parse(&text).map_err(|error| CompileError::NetworkText {
            error,
            text: text.clone(),
        })?;
        let source = SourceInfo {
            producer: "nn2py network text".to_string(),
            opset: 0,
            metadata: BTreeMap::new(),
        };
        (network, None, None, source)
    } else {
        let imported = onnx_front::import(bytes, &import_options)?;
        timer.lap("import");
        let (network, full_graph, kind_note) = build_network(bytes, &imported, options)?;
        let source = SourceInfo {
            producer: imported.producer_name,
            opset: imported.opset,
            metadata: imported.metadata,
        };
        (network, full_graph, kind_note, source)
    };
    validate_network(&network)?;
    check_limits(&network, full_graph.as_ref(), &options.limits)?;
    timer.lap("roll");

    let domain = resolve_domain(&network, &source.metadata, options)?;
    let layout = ExampleLayout::of(&network, None);
    let examples = domain
        .as_ref()
        .map(|ranges| verify::draw_examples(&layout.example_ranges(ranges), &options.verify));

    // The reference outputs: the network as the rest of the pipeline sees it (for a sequence
    // model, its cell run over each sequence).
    let raw_reference = match &examples {
        Some(examples) => Some(verify::reference_outputs(&network, &layout, examples)?),
        None => None,
    };
    let readout = resolve_readout(&source.metadata, options)?;
    timer.lap("reference");

    let mut rolling = None;
    if let (Some(full), Some(examples), Some(reference)) = (&full_graph, &examples, &raw_reference)
    {
        let agreement = verify::check_rolling(full, &layout, examples, reference, &options.verify);
        if !agreement.is_exact() {
            return Err(CompileError::RollingChanged(Box::new(agreement)));
        }
        rolling = Some(agreement);
        timer.lap("check_rolling");
    }

    let mut report = Report {
        schema_version: 1,
        nn2py_version: VERSION,
        model_digest: model_digest.clone(),
        producer: source.producer,
        opset: source.opset,
        kind: match network {
            Network::Pointwise(_) => "pointwise",
            Network::Sequence(_) => "sequence",
        },
        kind_note,
        length: match &network {
            Network::Pointwise(_) => None,
            Network::Sequence(model) => Some(model.length),
        },
        domain: domain.clone(),
        rolling,
        verification: None,
        python_verification: None,
        program: None,
        readout,
        lift: None,
        rewrite: None,
        normal: None,
        limits_reached: enumeration_note(&layout, domain.as_deref(), &options.verify)
            .into_iter()
            .collect(),
        timings_ms: BTreeMap::new(),
    };
    // Under the rounding readout on a sampled domain, the normal form's judge also needs the
    // network's raw outputs (see [`same_behaviour`]).
    let sampled = examples.as_ref().is_some_and(|e| !e.exhaustive);
    let (reference, raw_for_normal_form) = match (readout, raw_reference) {
        (Readout::Round, Some(raw)) => (Some(raw.rounded()), sampled.then_some(raw)),
        (_, raw) => (raw, None),
    };
    if options.emit == Emit::Network {
        report.timings_ms = timer.timings;
        return Ok(Compilation {
            network,
            program: None,
            python: None,
            report,
        });
    }

    // Lifting first: the faithful lowering is only needed when lifting does not give a program.
    let mut attempt = None;
    if let (
        true,
        Readout::Round,
        Network::Sequence(model),
        Some(ranges),
        Some(examples),
        Some(reference),
    ) = (
        options.lift,
        readout,
        &network,
        &domain,
        &examples,
        &reference,
    ) {
        attempt = Some(try_lift(
            model, ranges, &layout, examples, reference, options,
        )?);
    }
    if let (true, Network::Pointwise(_), Some(examples), Some(reference)) =
        (options.lift, &network, &examples, &reference)
    {
        // Integer outputs on an enumerated domain: the network's function is a finite table.
        if examples.exhaustive && reference.exact.iter().all(|&e| e) {
            attempt = Some(try_lift_pointwise(
                &network, &layout, examples, reference, options,
            ));
        }
    }
    let mut lifted = None;
    if let Some((found, lift_report)) = attempt {
        if let Some((lifted_program, lifted_verification, lifted_rewrite)) = found {
            report
                .limits_reached
                .extend(rewrite_notes(&lifted_rewrite, &options.rewrite));
            report.rewrite = Some(lifted_rewrite);
            lifted = Some((lifted_program, lifted_verification));
        }
        report.lift = Some(lift_report);
        timer.lap("lift");
    }
    let program = match lifted {
        Some((program, verification)) => {
            report.verification = Some(verification);
            program
        }
        None => {
            let lowered_network = match (&examples, &reference) {
                (Some(examples), Some(reference)) if options.normalise => {
                    // Passes are judged on a screening subset of the checked examples (a judge
                    // runs the whole network, dozens of times); the result is then checked once
                    // on every example, and dropped if it differs anywhere.
                    let screen = screening_subset(examples, reference);
                    let (screen_examples, screen_reference) = screen
                        .as_ref()
                        .map_or((examples, reference), |(e, r)| (e, r));
                    let raw_screened = raw_for_normal_form
                        .as_ref()
                        .and_then(|raw| screening_subset(examples, raw));
                    let raw_screen = raw_screened
                        .as_ref()
                        .map(|(_, raw)| raw)
                        .or(raw_for_normal_form.as_ref());
                    let mut judge = |candidate: &Network| {
                        same_behaviour(
                            candidate,
                            &layout,
                            screen_examples,
                            screen_reference,
                            raw_screen,
                            readout,
                            options,
                        )
                    };
                    // A judge never fails (a candidate the interpreter refuses is rejected), so
                    // normalisation always gives a network.
                    let snap = readout == Readout::Round;
                    let normalised = match normal::normalise(&network, &mut judge, snap) {
                        Ok((normalised, mut normal_report)) => {
                            let holds = screen.is_none()
                                || same_behaviour(
                                    &normalised,
                                    &layout,
                                    examples,
                                    reference,
                                    raw_for_normal_form.as_ref(),
                                    readout,
                                    options,
                                )
                                .unwrap_or(false);
                            normal_report.dropped = !holds;
                            report.normal = Some(normal_report);
                            if holds {
                                normalised
                            } else {
                                network.clone()
                            }
                        }
                        Err(_) => network.clone(),
                    };
                    timer.lap("normal");
                    normalised
                }
                _ => network.clone(),
            };
            let mut program = faithful::lower(&lowered_network)?;
            if readout == Readout::Round {
                round_outputs(&mut program);
            }
            validate(&program)?;
            timer.lap("lower");
            if let (Some(examples), Some(reference)) = (&examples, &reference) {
                report.verification = Some(verify::check_program(
                    &program,
                    &layout,
                    examples,
                    reference,
                    &options.verify,
                ));
                timer.lap("verify");
                // Pointwise models: single-use locals inlined and the readability rewrite (ReLU
                // pairs to abs, max, min); kept only when it verifies and reads shorter.
                if let (Network::Pointwise(_), true) = (&network, options.normalise) {
                    if let Some((rewritten, agreement, rewrite_report)) =
                        try_rewrite_pointwise(&layout, examples, reference, &program, options)
                    {
                        program = rewritten;
                        report.verification = Some(agreement);
                        report
                            .limits_reached
                            .extend(rewrite_notes(&rewrite_report, &options.rewrite));
                        report.rewrite = Some(rewrite_report);
                    }
                    timer.lap("rewrite");
                }
            }
            program
        }
    };
    report.program = Some(ProgramSize {
        statements: count_statements(&program),
        expression_nodes: count_expression_nodes(&program),
        python_lines: 0,
    });
    if options.emit == Emit::Program {
        report.timings_ms = timer.timings;
        return Ok(Compilation {
            network,
            program: Some(program),
            python: None,
            report,
        });
    }

    let verification = report.verification.as_ref().ok_or(CompileError::NoDomain)?;
    let header = Header {
        model_digest,
        nn2py_version: VERSION.to_string(),
        verification: format!(
            "Input domain: {}.\nChecked against the network by nn2py's interpreter: {}.",
            describe_domain(domain.as_deref().unwrap_or_default()),
            verification.summary()
        ),
    };
    let python = python_back::write_module(&program, &header)?;
    if let Some(size) = report.program.as_mut() {
        size.python_lines = python.lines().count();
    }
    timer.lap("python");

    if let (Some(python_exe), Some(examples), Some(reference)) =
        (&options.python, &examples, &reference)
    {
        let scratch = ScratchModule::write(&python)?;
        let program_layout = layout.for_program(&program);
        let outputs = python_run::run_module(python_exe, &scratch.path, &program_layout, examples)?;
        report.python_verification = Some(verify::check_outputs(
            examples,
            reference,
            &outputs,
            &options.verify,
        ));
        timer.lap("verify_python");
    }
    report.timings_ms = timer.timings;
    Ok(Compilation {
        network,
        program: Some(program),
        python: Some(python),
        report,
    })
}

/// Lifts a pointwise network with integer outputs on an enumerated domain to one formula per
/// output (`lift::pointwise`), judged like a lifted sequence program. Never fails the
/// compilation: every reason not to lift is a note.
fn try_lift_pointwise(
    network: &Network,
    layout: &ExampleLayout,
    examples: &verify::Examples,
    reference: &verify::Reference,
    options: &Options,
) -> (Option<LiftedProgram>, LiftReport) {
    let mut report = LiftReport {
        lifted: false,
        coding: None,
        state_variables: 0,
        formula_nodes: 0,
        notes: Vec::new(),
    };
    let faithful = match faithful::lower(network) {
        Ok(program) => program,
        Err(e) => {
            report.notes.push(format!("no signature to lift into: {e}"));
            return (None, report);
        }
    };
    let (program, nodes) = match lift::pointwise::lift_pointwise(
        &faithful,
        &examples.examples,
        &reference.outputs,
        &options.lift_options.regress,
    ) {
        Ok(found) => found,
        Err(e) => {
            report.notes.push(format!("formula: {e}"));
            return (None, report);
        }
    };
    let (program, rewrite_report) = rewrite::simplify_program(&program, &options.rewrite);
    if let Err(e) = validate(&program) {
        report.notes.push(format!(
            "the lifted program is malformed (a bug in nn2py): {e}"
        ));
        return (None, report);
    }
    let agreement = verify::check_program(&program, layout, examples, reference, &options.verify);
    if !agreement.is_exact() {
        report.notes.push(format!(
            "the lifted program was not used: {}",
            agreement.summary()
        ));
        return (None, report);
    }
    report.lifted = true;
    report.coding = Some("formula".to_string());
    report.formula_nodes = nodes;
    (Some((program, agreement, rewrite_report)), report)
}

/// Most examples the normal forms' passes are judged on (see [`screening_subset`]).
const SCREENING_EXAMPLES: usize = 4096;

/// Every k-th example and its reference outputs, when there are more than
/// [`SCREENING_EXAMPLES`] (deterministic; the first example is always in); `None` otherwise.
fn screening_subset(
    examples: &verify::Examples,
    reference: &verify::Reference,
) -> Option<(verify::Examples, verify::Reference)> {
    let n = examples.examples.len();
    if n <= SCREENING_EXAMPLES {
        return None;
    }
    let stride = n.div_ceil(SCREENING_EXAMPLES);
    Some((
        verify::Examples {
            examples: examples.examples.iter().step_by(stride).cloned().collect(),
            exhaustive: false,
        },
        verify::Reference {
            outputs: reference.outputs.iter().step_by(stride).cloned().collect(),
            exact: reference.exact.clone(),
        },
    ))
}

/// Whether a candidate network (a normal form of `network`) gives the reference outputs on every
/// example: exactly after rounding under the rounding readout, within tolerance otherwise.
///
/// With `raw` (the network's unrounded outputs; given under the rounding readout when the
/// examples are a sample, not the whole domain), the candidate must also keep every output at
/// least half as far from the rounding boundary as the network keeps it: it may move an output
/// by at most half of the network's own slack `0.5 - |y - round(y)|` there. Rounded agreement
/// alone proves nothing off the sample; a snap that moves outputs most of the way to the
/// boundary on the sample crosses it on some inputs outside (seen: a snapped Add_Mod_8 network
/// that agreed on all 2,000 sampled sequences and differed on 21 of 10,000 others).
fn same_behaviour(
    candidate: &Network,
    layout: &ExampleLayout,
    examples: &verify::Examples,
    reference: &verify::Reference,
    raw: Option<&verify::Reference>,
    readout: Readout,
    options: &Options,
) -> Result<bool, NormalError> {
    // A candidate the interpreter cannot run is simply not the same network.
    let Ok(outputs) = verify::reference_outputs(candidate, layout, examples) else {
        return Ok(false);
    };
    if let Some(raw) = raw {
        if !keeps_half_the_slack(&outputs.outputs, &raw.outputs) {
            return Ok(false);
        }
    }
    let actual: Vec<Option<Vec<f64>>> = outputs
        .outputs
        .into_iter()
        .map(|o| match readout {
            Readout::Round => Some(o.iter().map(|v| v.round_ties_even()).collect()),
            Readout::Raw => Some(o),
        })
        .collect();
    Ok(verify::check_outputs(examples, reference, &actual, &options.verify).is_exact())
}

/// A lifted program that passed verification, with its verification and rewrite report.
type LiftedProgram = (Program, Agreement, rewrite::Report);

/// Every candidate output lies within half of the network's slack to the rounding boundary of
/// the network's output (see [`same_behaviour`]); NaN anywhere fails.
fn keeps_half_the_slack(candidate: &[Vec<f64>], network: &[Vec<f64>]) -> bool {
    candidate.len() == network.len()
        && candidate.iter().zip(network).all(|(c, n)| {
            c.len() == n.len()
                && c.iter().zip(n).all(|(&c, &n)| {
                    let slack = 0.5 - (n - n.round_ties_even()).abs();
                    (c - n).abs() <= 0.5 * slack
                })
        })
}

/// Lifts a sequence model and judges the result against the (rounded) reference: the lifted
/// program and its verification when it agrees everywhere, and the report either way.
fn try_lift(
    model: &SequenceModel,
    ranges: &[Range],
    layout: &ExampleLayout,
    examples: &verify::Examples,
    reference: &verify::Reference,
    options: &Options,
) -> Result<(Option<LiftedProgram>, LiftReport), CompileError> {
    let mut lifted = match lift::lift_sequence(model, ranges, &options.lift_options) {
        Ok(Ok(lifted)) => lifted,
        Ok(Err(report)) => return Ok((None, report)),
        // Lifting runs the network from states and inputs the reference never saw; when the
        // network cannot run there, lifting is abandoned, not the compilation.
        Err(cause) => {
            let report = LiftReport {
                lifted: false,
                coding: None,
                state_variables: 0,
                formula_nodes: 0,
                notes: vec![format!(
                    "lifting stopped: the network failed while being probed: {}",
                    cause.message
                )],
            };
            return Ok((None, report));
        }
    };
    let (rewritten, rewrite_report) = rewrite::simplify_program(&lifted.program, &options.rewrite);
    lifted.program = rewritten;
    if let Err(e) = validate(&lifted.program) {
        lifted.report.notes.push(format!(
            "the lifted program is malformed (a bug in nn2py): {e}"
        ));
        return Ok((None, lifted.report));
    }
    let agreement = verify::check_program(
        &lifted.program,
        layout,
        examples,
        reference,
        &options.verify,
    );
    if !agreement.is_exact() {
        lifted.report.notes.push(format!(
            "the lifted program was not used: {}",
            agreement.summary()
        ));
        return Ok((None, lifted.report));
    }
    lifted.report.lifted = true;
    Ok((
        Some((lifted.program, agreement, rewrite_report)),
        lifted.report,
    ))
}

/// The pointwise rewrite of the (normalised) faithful program: inlined and rewritten with the
/// laws exact for every double but NaN. `None` unless the rewrite changed something, the result
/// verifies, agrees with `reference` on every example and has fewer expression nodes than
/// `faithful`.
fn try_rewrite_pointwise(
    layout: &ExampleLayout,
    examples: &verify::Examples,
    reference: &verify::Reference,
    faithful: &Program,
    options: &Options,
) -> Option<LiftedProgram> {
    let base = faithful;
    let inlined = rewrite::inline::inline_single_use(base);
    let (rewritten, rewrite_report) = rewrite::simplify_program_finite(&inlined, &options.rewrite);
    if rewrite_report.changed == 0
        || validate(&rewritten).is_err()
        || count_expression_nodes(&rewritten) >= count_expression_nodes(faithful)
    {
        return None;
    }
    let agreement = verify::check_program(&rewritten, layout, examples, reference, &options.verify);
    agreement
        .is_exact()
        .then_some((rewritten, agreement, rewrite_report))
}

/// Refuses a network over the limits that concern the network IR whatever its source (ONNX or
/// text): its sequence length and the depth of each of its graphs.
fn check_limits(
    network: &Network,
    full: Option<&Graph>,
    limits: &Limits,
) -> Result<(), CompileError> {
    let graphs: Vec<&Graph> = match network {
        Network::Pointwise(graph) => vec![graph],
        Network::Sequence(model) => {
            if model.length > limits.max_sequence_length {
                return Err(CompileError::Limit(format!(
                    "the sequence length is {}, more than the limit of {} (raise it with \
                     --max-sequence-length)",
                    model.length, limits.max_sequence_length
                )));
            }
            vec![&model.cell.step]
        }
    };
    for graph in graphs.into_iter().chain(full) {
        let depth = graph_depth(graph);
        if depth > limits.max_graph_depth {
            return Err(CompileError::Limit(format!(
                "the graph is {depth} nodes deep (its longest chain of dependent nodes), more \
                 than the limit of {} (raise it with --max-graph-depth)",
                limits.max_graph_depth
            )));
        }
    }
    Ok(())
}

/// The longest chain of dependent nodes in `graph` (0 for a graph without nodes). Nodes are in
/// evaluation order (checked by `network::validate`), so one forward pass suffices.
fn graph_depth(graph: &Graph) -> usize {
    use crate::network::ValueDef;
    let mut node_depth = vec![0usize; graph.nodes.len()];
    for (index, node) in graph.nodes.iter().enumerate() {
        let deepest_operand = node
            .inputs
            .iter()
            .flatten()
            .filter_map(|id| match graph.values.get(id.0 as usize).map(|v| &v.def) {
                Some(ValueDef::Node(producer, _)) => node_depth.get(producer.0 as usize).copied(),
                Some(ValueDef::Input(_) | ValueDef::Const(_)) | None => None,
            })
            .max()
            .unwrap_or(0);
        node_depth[index] = deepest_operand + 1;
    }
    node_depth.into_iter().max().unwrap_or(0)
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

/// Wraps every output in `round(...)`: the program returns what the network's readout gives.
fn round_outputs(program: &mut Program) {
    use crate::program::{Expr, Func};
    for output in &mut program.outputs {
        let value = std::mem::replace(output, Expr::Lit(crate::program::Literal::Int(0)));
        *output = Expr::Call(Func::Round, vec![value]);
    }
}

/// The readout: from the options, else from the model's metadata, else raw.
fn resolve_readout(
    metadata: &BTreeMap<String, String>,
    options: &Options,
) -> Result<Readout, CompileError> {
    if let Some(readout) = options.readout {
        return Ok(readout);
    }
    match metadata.get(READOUT_METADATA_KEY) {
        None => Ok(Readout::Raw),
        Some(text) => Readout::parse(text).ok_or_else(|| {
            CompileError::Usage(format!(
                "the model's metadata \"{READOUT_METADATA_KEY}\" is {text:?}; expected \"raw\" or \"round\""
            ))
        }),
    }
}

/// The per-feature domain in words: one range when all features share it, else the list.
fn describe_domain(ranges: &[Range]) -> String {
    match ranges {
        [] => "none".to_string(),
        [first, rest @ ..] if rest.iter().all(|r| r == first) => {
            format!("every input feature in {first}")
        }
        _ => {
            let list: Vec<String> = ranges.iter().map(|r| r.to_string()).collect();
            format!("input features in {}", list.join(", "))
        }
    }
}

/// What the report says about where the network came from.
struct SourceInfo {
    producer: String,
    opset: i64,
    metadata: BTreeMap<String, String>,
}

/// True when the input is the network IR's text form rather than ONNX protobuf (whose first byte
/// is a field tag, never a letter of `network`).
fn is_network_text(bytes: &[u8]) -> bool {
    let text = bytes.trim_ascii_start();
    let mut rest = text;
    // Skip leading comment lines.
    while rest.first() == Some(&b'#') {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        rest = rest[end..].trim_ascii_start();
    }
    rest.starts_with(b"network ")
}

/// Imports the model as a network: pointwise, or a sequence model rolled into a cell (with the
/// whole graph kept for the rolling check).
fn build_network(
    bytes: &[u8],
    imported: &ImportedModel,
    options: &Options,
) -> Result<(Network, Option<Graph>, Option<String>), CompileError> {
    let graph = &imported.graph;
    let has_recurrent_op = graph_has_recurrent_op(graph);
    let sequence_shaped = sequence_dims(graph).is_some();
    match options.kind {
        KindChoice::Pointwise => {
            if has_recurrent_op {
                return Err(CompileError::Usage(
                    "--kind pointwise: the model contains a recurrent op".to_string(),
                ));
            }
            return Ok((Network::Pointwise(graph.clone()), None, None));
        }
        KindChoice::Auto if !has_recurrent_op && !sequence_shaped => {
            return Ok((Network::Pointwise(graph.clone()), None, None));
        }
        KindChoice::Auto | KindChoice::Sequence => {}
    }
    let Some((length, input_dim, output_dim)) = sequence_dims(graph) else {
        return Err(CompileError::Usage(
            "a sequence model maps one input x [N, T, d] to one output y [N, T, o]".to_string(),
        ));
    };
    let cell = if has_recurrent_op {
        let step_options = ImportOptions {
            length: Some(1),
            limits: options.limits.clone(),
        };
        let step = onnx_front::import(bytes, &step_options)?;
        sequence::roll_recurrent(&step.graph)?
    } else {
        match sequence::reroll_unrolled(graph) {
            Ok(cell) => cell,
            Err(e) if options.kind == KindChoice::Auto => {
                let note = format!("treated as pointwise: not re-rolled into a cell: {e}");
                return Ok((Network::Pointwise(graph.clone()), None, Some(note)));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let input = graph.value(graph.inputs[0]);
    let output = graph.value(graph.outputs[0]);
    let model = SequenceModel {
        cell,
        length,
        input_dim,
        output_dim,
        input_dtype: input.ty.dtype,
        output_dtype: output.ty.dtype,
    };
    Ok((Network::Sequence(model), Some(graph.clone()), None))
}

/// `(T, d, o)` when the graph maps one `[1, T, d]` input to one `[1, T, o]` output, `T >= 2`.
fn sequence_dims(graph: &Graph) -> Option<(usize, usize, usize)> {
    if graph.inputs.len() != 1 || graph.outputs.len() != 1 {
        return None;
    }
    let x = &graph.value(graph.inputs[0]).ty.shape;
    let y = &graph.value(graph.outputs[0]).ty.shape;
    match (x.as_slice(), y.as_slice()) {
        ([1, t, d], [1, t2, o]) if t == t2 && *t >= 1 => Some((*t, *d, *o)),
        _ => None,
    }
}

fn graph_has_recurrent_op(graph: &Graph) -> bool {
    graph.nodes.iter().any(|n| n.op.is_recurrent())
}

/// The per-feature domain: from the options, else from the model's metadata; `None` when neither
/// gives one.
fn resolve_domain(
    network: &Network,
    metadata: &BTreeMap<String, String>,
    options: &Options,
) -> Result<Option<Vec<Range>>, CompileError> {
    let ranges = match (&options.domain, metadata.get(DOMAIN_METADATA_KEY)) {
        (Some(ranges), _) => ranges.clone(),
        (None, Some(text)) => domain::parse_ranges(text)?,
        (None, None) => return Ok(None),
    };
    let layout = ExampleLayout::of(network, None);
    Ok(Some(domain::per_feature(
        &ranges,
        &layout.feature_counts(),
    )?))
}

/// A generated module written to a scratch file for `python3`, removed when dropped.
struct ScratchModule {
    path: std::path::PathBuf,
}

impl ScratchModule {
    fn write(source: &str) -> Result<Self, CompileError> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "nn2py_check_{}_{}.py",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, source).map_err(|e| CompileError::Scratch(e.to_string()))?;
        Ok(ScratchModule { path })
    }
}

impl Drop for ScratchModule {
    fn drop(&mut self) {
        // Best effort: a leftover scratch file in the temp dir is harmless.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn count_statements(program: &Program) -> usize {
    program.init.len() + program.body.len()
}

fn count_expression_nodes(program: &Program) -> usize {
    use crate::program::Stmt;
    let stmts = program.init.iter().chain(&program.body);
    let in_stmts: usize = stmts
        .map(|s| match s {
            Stmt::Assign { values, .. } => values.iter().map(|v| v.node_count()).sum::<usize>(),
        })
        .sum();
    in_stmts
        + program
            .outputs
            .iter()
            .map(|o| o.node_count())
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::keeps_half_the_slack;

    #[test]
    fn a_candidate_may_use_half_of_each_outputs_slack() {
        // Slacks: 0.5 - 0.1 = 0.4 at 3.1, 0.5 - 0.4 = 0.1 at 5.6 (nearest 6).
        let network = vec![vec![3.1, 5.6]];
        assert!(keeps_half_the_slack(&[vec![3.25, 5.64]], &network));
        assert!(keeps_half_the_slack(&[vec![2.95, 5.57]], &network));
        // 3.1 -> 3.35 uses 0.25 of 0.4; 5.6 -> 5.5 uses 0.1 of 0.1: both round the same, yet
        // each moves past half the slack.
        assert!(!keeps_half_the_slack(&[vec![3.35, 5.6]], &network));
        assert!(!keeps_half_the_slack(&[vec![3.1, 5.5]], &network));
        assert!(!keeps_half_the_slack(&[vec![3.1, f64::NAN]], &network));
        assert!(!keeps_half_the_slack(&[vec![3.1]], &network));
        assert!(!keeps_half_the_slack(&[], &network));
    }
}
