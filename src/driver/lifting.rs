//! The lifting attempt: the program a network implements, read from its behaviour, kept only
//! when it agrees with the network on every checked input. Every reason not to lift is a note in
//! the lifting report, never a failed compilation.

use super::checks::Checks;
use super::{CheckedProgram, CompileError, Options, Readout};
use crate::lift::{self, LiftReport};
use crate::lower::faithful;
use crate::network::{Network, SequenceModel};
use crate::program::validate::validate;
use crate::program::Program;
use crate::rewrite;
use crate::verify::domain::Range;
use crate::verify::{self, Examples, Reference};

/// What lifting gave: the checked program when it gave one, and its report either way.
pub(super) type LiftAttempt = (Option<CheckedProgram>, LiftReport);

/// Tries lifting where it applies: a sequence model read by rounding, or a pointwise network
/// with integer outputs on an enumerated domain (its function is then a finite table). `None`
/// when lifting is off or does not apply. Errors: only the sequence tracer's refusals that are
/// the compilation's (see [`try_lift`]).
pub(super) fn attempt(
    network: &Network,
    checks: &Checks,
    options: &Options,
) -> Result<Option<LiftAttempt>, CompileError> {
    let (true, Some(examples), Some(reference)) =
        (options.lift, &checks.examples, &checks.reference)
    else {
        return Ok(None);
    };
    match (network, checks.readout, &checks.domain) {
        (Network::Sequence(model), Readout::Round, Some(ranges)) => {
            try_lift(model, ranges, checks, examples, reference, options).map(Some)
        }
        (Network::Sequence(_), ..) => Ok(None),
        (Network::Pointwise(_), ..)
            if examples.exhaustive && reference.exact.iter().all(|&e| e) =>
        {
            Ok(Some(try_lift_pointwise(
                network, checks, examples, reference, options,
            )))
        }
        (Network::Pointwise(_), ..) => Ok(None),
    }
}

/// Lifts a sequence model and judges the result against the (rounded) reference.
fn try_lift(
    model: &SequenceModel,
    ranges: &[Range],
    checks: &Checks,
    examples: &Examples,
    reference: &Reference,
    options: &Options,
) -> Result<LiftAttempt, CompileError> {
    let mut lifted = match lift::lift_sequence(model, ranges, &options.lift_options) {
        Ok(Ok(lifted)) => lifted,
        Ok(Err(report)) => return Ok((None, report)),
        // Lifting runs the network from states and inputs the reference never saw; when the
        // network cannot run there, lifting is abandoned, not the compilation.
        Err(cause) => {
            let note = format!(
                "lifting stopped: the network failed while being probed: {}",
                cause.message
            );
            return Ok((None, not_lifted(vec![note])));
        }
    };
    match accept(&lifted.program, checks, examples, reference, options) {
        Ok(checked) => {
            lifted.report.lifted = true;
            Ok((Some(checked), lifted.report))
        }
        Err(note) => {
            lifted.report.notes.push(note);
            Ok((None, lifted.report))
        }
    }
}

/// Lifts a pointwise network with integer outputs on an enumerated domain to one formula per
/// output (`lift::pointwise`), judged like a lifted sequence program.
fn try_lift_pointwise(
    network: &Network,
    checks: &Checks,
    examples: &Examples,
    reference: &Reference,
    options: &Options,
) -> LiftAttempt {
    let faithful = match faithful::lower(network) {
        Ok(program) => program,
        Err(e) => {
            return (
                None,
                not_lifted(vec![format!("no signature to lift into: {e}")]),
            )
        }
    };
    let (program, nodes) = match lift::pointwise::lift_pointwise(
        &faithful,
        &examples.examples,
        &reference.outputs,
        &options.lift_options.regress,
    ) {
        Ok(found) => found,
        Err(e) => return (None, not_lifted(vec![format!("formula: {e}")])),
    };
    match accept(&program, checks, examples, reference, options) {
        Ok(checked) => {
            let report = LiftReport {
                lifted: true,
                coding: Some("formula".to_string()),
                formula_nodes: nodes,
                ..not_lifted(Vec::new())
            };
            (Some(checked), report)
        }
        Err(note) => (None, not_lifted(vec![note])),
    }
}

/// A lifted program through the readability rewrite, kept when it is well formed and agrees
/// with `reference` on every example; else the note saying why not.
fn accept(
    program: &Program,
    checks: &Checks,
    examples: &Examples,
    reference: &Reference,
    options: &Options,
) -> Result<CheckedProgram, String> {
    let (program, rewrite) = rewrite::simplify_program(program, &options.rewrite);
    if let Err(e) = validate(&program) {
        return Err(format!(
            "the lifted program is malformed (a bug in nn2py): {e}"
        ));
    }
    let verification = verify::check_program(
        &program,
        &checks.layout,
        examples,
        reference,
        &options.verify,
    );
    if !verification.is_exact() {
        return Err(format!(
            "the lifted program was not used: {}",
            verification.summary()
        ));
    }
    Ok(CheckedProgram {
        program,
        verification,
        rewrite,
    })
}

/// The report of a lifting that gave no program, with its notes.
fn not_lifted(notes: Vec<String>) -> LiftReport {
    LiftReport {
        notes,
        ..LiftReport::default()
    }
}
