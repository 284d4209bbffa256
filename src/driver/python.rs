//! The Python stage: the module written with its header, and the module run by `python3` against
//! the network.

use super::checks::Checks;
use super::{CompileError, Options, VERSION};
use crate::back::python::{write_module, Header};
use crate::program::Program;
use crate::verify::domain::Range;
use crate::verify::python::{run_module, ScratchModule};
use crate::verify::{self, Agreement};

/// The Python module of `program`, its header stating the model's digest, the domain and
/// `verification` (the program against the network). Errors: [`CompileError::NoDomain`] without
/// a verification, and the writer's.
pub(super) fn write_python(
    program: &Program,
    model_digest: String,
    domain: Option<&[Range]>,
    verification: Option<&Agreement>,
) -> Result<String, CompileError> {
    let verification = verification.ok_or(CompileError::NoDomain)?;
    let header = Header {
        model_digest,
        nn2py_version: VERSION.to_string(),
        verification: format!(
            "Input domain: {}.\nChecked against the network by nn2py's interpreter: {}.",
            describe_domain(domain.unwrap_or_default()),
            verification.summary()
        ),
    };
    Ok(write_module(program, &header)?)
}

/// Runs the written module with `options.python` on every checked example and compares it with
/// the network; `None` when no `python3` was given or there is no domain. Errors: the scratch
/// file cannot be written, or `python3` cannot run the module.
pub(super) fn check_python(
    python: &str,
    program: &Program,
    checks: &Checks,
    options: &Options,
) -> Result<Option<Agreement>, CompileError> {
    let (Some(python_exe), Some(examples), Some(reference)) =
        (&options.python, &checks.examples, &checks.reference)
    else {
        return Ok(None);
    };
    let scratch = ScratchModule::write("check", python)
        .map_err(|e| CompileError::Scratch(e.cause.to_string()))?;
    let program_layout = checks.layout.for_program(program);
    let outputs = run_module(python_exe, scratch.path(), &program_layout, examples)?;
    Ok(Some(verify::check_outputs(
        examples,
        reference,
        &outputs,
        &options.verify,
    )))
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
