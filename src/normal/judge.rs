//! The judge of the normal forms: whether a candidate network still does what the original does
//! on the checked inputs, and normalisation judged that way.
//!
//! Passes are judged on a screening subset of the checked inputs (a judge runs the whole network,
//! dozens of times); the normal form is then checked once on every input and dropped if it
//! differs anywhere.

use super::{normalise, NormalError, NormalReport};
use crate::network::Network;
use crate::verify::{self, ExampleLayout, Examples, Reference, VerifyOptions};

/// Most examples the passes are judged on (see [`screening_subset`]).
pub const SCREENING_EXAMPLES: usize = 4096;

/// What a candidate is judged against: the checked inputs and the original network's outputs
/// there.
#[derive(Clone, Copy)]
pub struct Evidence<'a> {
    pub layout: &'a ExampleLayout,
    pub examples: &'a Examples,
    /// The network's outputs as they are read (rounded when `rounded`).
    pub reference: &'a Reference,
    /// The network's unrounded outputs; given when outputs are read by rounding and `examples`
    /// are a sample of the domain, not all of it (see [`same_behaviour`]).
    pub raw: Option<&'a Reference>,
    /// Whether outputs are read by rounding to the nearest integer (half to even).
    pub rounded: bool,
    pub verify: &'a VerifyOptions,
}

/// Brings `network` to its normal form, every pass judged on a screening subset of `evidence`,
/// then checks the result once on all of it. Returns the network to lower (the normal form, or
/// the original when the normal form differs on some checked input, with `dropped` set in the
/// report) and the report; `None` for the report when normalisation failed, and the original
/// network then. Weights are snapped only under the rounding readout.
pub fn normalise_judged(
    network: &Network,
    evidence: &Evidence<'_>,
) -> (Network, Option<NormalReport>) {
    let screen = screening_subset(evidence.examples, evidence.reference);
    let (screen_examples, screen_reference) = screen
        .as_ref()
        .map_or((evidence.examples, evidence.reference), |(e, r)| (e, r));
    let raw_screened = evidence
        .raw
        .and_then(|raw| screening_subset(evidence.examples, raw));
    let screen_evidence = Evidence {
        examples: screen_examples,
        reference: screen_reference,
        raw: raw_screened.as_ref().map(|(_, raw)| raw).or(evidence.raw),
        ..*evidence
    };
    // A judge never fails (a candidate the interpreter refuses is rejected), so normalisation
    // always gives a network.
    let mut judge =
        |candidate: &Network| Ok::<_, NormalError>(same_behaviour(candidate, &screen_evidence));
    match normalise(network, &mut judge, evidence.rounded) {
        Ok((normalised, mut report)) => {
            let holds = screen.is_none() || same_behaviour(&normalised, evidence);
            report.dropped = !holds;
            let kept = if holds { normalised } else { network.clone() };
            (kept, Some(report))
        }
        Err(_) => (network.clone(), None),
    }
}

/// Every k-th example and its reference outputs, when there are more than
/// [`SCREENING_EXAMPLES`] (deterministic; the first example is always in); `None` otherwise.
pub fn screening_subset(
    examples: &Examples,
    reference: &Reference,
) -> Option<(Examples, Reference)> {
    let n = examples.examples.len();
    if n <= SCREENING_EXAMPLES {
        return None;
    }
    let stride = n.div_ceil(SCREENING_EXAMPLES);
    Some((
        Examples {
            examples: examples.examples.iter().step_by(stride).cloned().collect(),
            exhaustive: false,
        },
        Reference {
            outputs: reference.outputs.iter().step_by(stride).cloned().collect(),
            exact: reference.exact.clone(),
        },
    ))
}

/// Whether a candidate network (a normal form of the original) gives the reference outputs on
/// every example: exactly after rounding under the rounding readout, within tolerance otherwise.
/// A candidate the interpreter cannot run is not the same network.
///
/// With `raw` (the network's unrounded outputs), the candidate must also keep every output at
/// least half as far from the rounding boundary as the network keeps it: it may move an output
/// by at most half of the network's own slack `0.5 - |y - round(y)|` there. Rounded agreement
/// alone proves nothing off the sample; a snap that moves outputs most of the way to the
/// boundary on the sample crosses it on some inputs outside (seen: a snapped Add_Mod_8 network
/// that agreed on all 2,000 sampled sequences and differed on 21 of 10,000 others).
pub fn same_behaviour(candidate: &Network, evidence: &Evidence<'_>) -> bool {
    let Ok(outputs) = verify::reference_outputs(candidate, evidence.layout, evidence.examples)
    else {
        return false;
    };
    if let Some(raw) = evidence.raw {
        if !keeps_half_the_slack(&outputs.outputs, &raw.outputs) {
            return false;
        }
    }
    let actual: Vec<Option<Vec<f64>>> = outputs
        .outputs
        .into_iter()
        .map(|o| {
            if evidence.rounded {
                Some(o.iter().map(|v| v.round_ties_even()).collect())
            } else {
                Some(o)
            }
        })
        .collect();
    verify::check_outputs(
        evidence.examples,
        evidence.reference,
        &actual,
        evidence.verify,
    )
    .is_exact()
}

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
