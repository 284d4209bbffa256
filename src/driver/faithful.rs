//! The faithful path, when lifting gave no program: the network's weights brought to normal form
//! (each pass judged), the faithful lowering, program verification, the check against the
//! network and, for pointwise programs, the readability rewrite.

use super::checks::Checks;
use super::timer::Timer;
use super::{CheckedProgram, CompileError, Options, Readout};
use crate::lower::faithful;
use crate::lower::readout::round_outputs;
use crate::network::Network;
use crate::normal::judge::normalise_judged;
use crate::normal::NormalReport;
use crate::program::metrics::count_expression_nodes;
use crate::program::validate::validate;
use crate::program::Program;
use crate::rewrite;
use crate::verify::{self, Agreement, ExampleLayout, Examples, Reference};

/// What the faithful path gives.
pub(super) struct FaithfulProgram {
    pub program: Program,
    /// What the normal forms did (when they ran and finished).
    pub normal: Option<NormalReport>,
    /// The program against the network (when there is a domain).
    pub verification: Option<Agreement>,
    /// What the pointwise readability rewrite did, when its program was kept.
    pub rewrite: Option<rewrite::Report>,
}

/// Lowers the network faithfully (after its normal forms, when `options.normalise` and there
/// is a domain), verifies the program and checks it against the network; pointwise programs are
/// then rewritten for readability when that verifies and reads shorter. Laps `normal`, `lower`,
/// `verify` and `rewrite` as each runs. Errors: the lowering's and the program's validation.
pub(super) fn lower_faithfully(
    network: &Network,
    checks: &Checks,
    options: &Options,
    timer: &mut Timer,
) -> Result<FaithfulProgram, CompileError> {
    let (normalised, normal) = match checks.evidence(options).filter(|_| options.normalise) {
        Some(evidence) => {
            let (normalised, report) = normalise_judged(network, &evidence);
            timer.lap("normal");
            (Some(normalised), report)
        }
        None => (None, None),
    };
    let mut program = faithful::lower(normalised.as_ref().unwrap_or(network))?;
    if checks.readout == Readout::Round {
        round_outputs(&mut program);
    }
    validate(&program)?;
    timer.lap("lower");
    let mut lowered = FaithfulProgram {
        program,
        normal,
        verification: None,
        rewrite: None,
    };
    let (Some(examples), Some(reference)) = (&checks.examples, &checks.reference) else {
        return Ok(lowered);
    };
    lowered.verification = Some(verify::check_program(
        &lowered.program,
        &checks.layout,
        examples,
        reference,
        &options.verify,
    ));
    timer.lap("verify");
    // Pointwise models: single-use locals inlined and the readability rewrite (ReLU pairs to
    // abs, max, min); kept only when it verifies and reads shorter.
    if let (Network::Pointwise(_), true) = (network, options.normalise) {
        let layout = &checks.layout;
        if let Some(rewritten) =
            try_rewrite_pointwise(layout, examples, reference, &lowered.program, options)
        {
            lowered.program = rewritten.program;
            lowered.verification = Some(rewritten.verification);
            lowered.rewrite = Some(rewritten.rewrite);
        }
        timer.lap("rewrite");
    }
    Ok(lowered)
}

/// The pointwise rewrite of the (normalised) faithful program: inlined and rewritten with the
/// laws exact for every double but NaN. `None` unless the rewrite changed something, the result
/// verifies, agrees with `reference` on every example and has fewer expression nodes than
/// `faithful`.
fn try_rewrite_pointwise(
    layout: &ExampleLayout,
    examples: &Examples,
    reference: &Reference,
    faithful: &Program,
    options: &Options,
) -> Option<CheckedProgram> {
    let inlined = rewrite::inline::inline_single_use(faithful);
    let (rewritten, rewrite) = rewrite::simplify_program_finite(&inlined, &options.rewrite);
    if rewrite.changed == 0
        || validate(&rewritten).is_err()
        || count_expression_nodes(&rewritten) >= count_expression_nodes(faithful)
    {
        return None;
    }
    let verification =
        verify::check_program(&rewritten, layout, examples, reference, &options.verify);
    verification.is_exact().then_some(CheckedProgram {
        program: rewritten,
        verification,
        rewrite,
    })
}
