//! The compiler driver: the pipeline as one readable, ordered list of stages.
//!
//! `compile` runs: digest -> read the model (ONNX, or the network IR's text form) and classify
//! it, rolling a sequence model into a cell -> network validation and limits -> the checked
//! inputs and the network's outputs there -> rolling check -> lifting (sequence models read by
//! rounding; pointwise models with integer outputs on an enumerated domain) -> otherwise the
//! faithful path: numeric normal forms of the weights, faithful lowering, program validation,
//! program check against the network and (pointwise) the readability rewrite -> Python ->
//! (optionally) the Python file run by `python3` against the network. It stops early when only
//! an intermediate form is wanted ([`Emit`]). It never prints, never exits, never writes files
//! other than the scratch copy of the module that `python3` runs.
//!
//! # Code map
//! - `options`: [`Options`] and the choices in it ([`Emit`], [`KindChoice`], [`Readout`]).
//! - `classify`: reading the model, pointwise or sequence, and its metadata's domain and readout.
//! - `limits`: the limits on the network IR (sequence length, graph depth).
//! - `checks`: the checked inputs, the network's outputs there, and the rolling check.
//! - `lifting`: the lifting attempt and its judgement.
//! - `faithful`: normal forms, faithful lowering, verification, the pointwise rewrite.
//! - `python`: the module written, and run by `python3`.
//! - `report`: [`Report`], [`Compilation`] and the report's sentences for limits reached.
//! - `error`: [`CompileError`]. `timer`: the per-stage timings.

mod checks;
mod classify;
mod error;
mod faithful;
mod lifting;
mod limits;
mod options;
mod python;
mod report;
mod timer;

use sha2::{Digest, Sha256};

pub use error::CompileError;
pub use options::{Emit, KindChoice, Options, Readout};
pub use report::{Compilation, ProgramSize, Report};

use crate::network::validate::validate_network;
use crate::program::Program;
use crate::rewrite;
use crate::verify::Agreement;
use checks::{check_rolling, Checks};
use timer::Timer;

/// The nn2py version written into every generated file and report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `sha256:<hex>` of the model bytes.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A program that agrees with the network on every checked input, with that agreement and what
/// the readability rewrite did to it.
struct CheckedProgram {
    program: Program,
    verification: Agreement,
    rewrite: rewrite::Report,
}

/// Compiles a model: ONNX bytes, or the network IR's text form. See the module doc for the stages.
pub fn compile(bytes: &[u8], options: &Options) -> Result<Compilation, CompileError> {
    let mut timer = Timer::new();
    let model_digest = digest(bytes);
    let model = classify::read_model(bytes, options, &mut timer)?;
    validate_network(&model.network)?;
    limits::check_limits(&model.network, model.full_graph.as_ref(), &options.limits)?;
    timer.lap("roll");

    let checks = Checks::prepare(&model.network, &model.source.metadata, options)?;
    timer.lap("reference");
    let rolling = check_rolling(model.full_graph.as_ref(), &checks, options)?;
    if rolling.is_some() {
        timer.lap("check_rolling");
    }
    let mut report = Report::new(model_digest.clone(), &model, &checks, rolling, options);
    let network = model.network;
    if options.emit == Emit::Network {
        return Ok(Compilation::finish(network, None, None, report, timer));
    }

    // Lifting first: the faithful lowering is only needed when lifting gives no program.
    let mut lifted = None;
    if let Some((found, lift_report)) = lifting::attempt(&network, &checks, options)? {
        report.lift = Some(lift_report);
        lifted = found;
        timer.lap("lift");
    }
    let program = match lifted {
        Some(lifted) => {
            report.verification = Some(lifted.verification);
            report.record_rewrite(lifted.rewrite, &options.rewrite);
            lifted.program
        }
        None => {
            let lowered = faithful::lower_faithfully(&network, &checks, options, &mut timer)?;
            report.normal = lowered.normal;
            report.verification = lowered.verification;
            if let Some(rewrite) = lowered.rewrite {
                report.record_rewrite(rewrite, &options.rewrite);
            }
            lowered.program
        }
    };
    report.program = Some(ProgramSize::of(&program));
    if options.emit == Emit::Program {
        return Ok(Compilation::finish(
            network,
            Some(program),
            None,
            report,
            timer,
        ));
    }

    let domain = checks.domain.as_deref();
    let python =
        python::write_python(&program, model_digest, domain, report.verification.as_ref())?;
    if let Some(size) = report.program.as_mut() {
        size.python_lines = python.lines().count();
    }
    timer.lap("python");
    report.python_verification = python::check_python(&python, &program, &checks, options)?;
    if report.python_verification.is_some() {
        timer.lap("verify_python");
    }
    Ok(Compilation::finish(
        network,
        Some(program),
        Some(python),
        report,
        timer,
    ))
}
