//! The inputs every later check runs on: the domain, the examples drawn from it, and the
//! network's outputs there as they are read; and the check that rolling kept the model.

use std::collections::BTreeMap;

use super::classify::{resolve_domain, resolve_readout};
use super::{CompileError, Options, Readout};
use crate::network::{Graph, Network};
use crate::normal::judge::Evidence;
use crate::verify::domain::Range;
use crate::verify::{self, Agreement, ExampleLayout, Examples, Reference};

/// The checked inputs and the network's outputs there (none without a domain).
pub(super) struct Checks {
    /// One range per input feature (per step feature for sequence models).
    pub domain: Option<Vec<Range>>,
    pub layout: ExampleLayout,
    pub examples: Option<Examples>,
    pub readout: Readout,
    /// The network's outputs as they are read (rounded under the rounding readout); for a
    /// sequence model, its cell run over each sequence.
    pub reference: Option<Reference>,
    /// The network's unrounded outputs under the rounding readout (else `reference` is them).
    unrounded: Option<Reference>,
}

impl Checks {
    /// Resolves the domain and the readout (options first, then the model's metadata), draws
    /// the examples and runs the network on them.
    pub(super) fn prepare(
        network: &Network,
        metadata: &BTreeMap<String, String>,
        options: &Options,
    ) -> Result<Checks, CompileError> {
        let domain = resolve_domain(network, metadata, options)?;
        let layout = ExampleLayout::of(network, None);
        let examples = domain
            .as_ref()
            .map(|ranges| verify::draw_examples(&layout.example_ranges(ranges), &options.verify));
        let raw = match &examples {
            Some(examples) => Some(verify::reference_outputs(network, &layout, examples)?),
            None => None,
        };
        let readout = resolve_readout(metadata, options)?;
        let (reference, unrounded) = match (readout, raw) {
            (Readout::Round, Some(raw)) => (Some(raw.rounded()), Some(raw)),
            (_, raw) => (raw, None),
        };
        Ok(Checks {
            domain,
            layout,
            examples,
            readout,
            reference,
            unrounded,
        })
    }

    /// The network's outputs before any readout.
    fn raw(&self) -> Option<&Reference> {
        self.unrounded.as_ref().or(self.reference.as_ref())
    }

    /// What the normal forms' passes are judged against; `None` without a domain. The unrounded
    /// outputs go with it under the rounding readout on a sampled domain (see
    /// [`crate::normal::judge::same_behaviour`]).
    pub(super) fn evidence<'a>(&'a self, options: &'a Options) -> Option<Evidence<'a>> {
        let (examples, reference) = (self.examples.as_ref()?, self.reference.as_ref()?);
        Some(Evidence {
            layout: &self.layout,
            examples,
            reference,
            raw: self.unrounded.as_ref().filter(|_| !examples.exhaustive),
            rounded: self.readout == Readout::Round,
            verify: &options.verify,
        })
    }
}

/// Checks that the rolled cell reproduces `full`, the whole model it was rolled from: its
/// agreement when it does, `None` when there is no whole model or no domain.
pub(super) fn check_rolling(
    full: Option<&Graph>,
    checks: &Checks,
    options: &Options,
) -> Result<Option<Agreement>, CompileError> {
    let (Some(full), Some(examples), Some(reference)) = (full, &checks.examples, checks.raw())
    else {
        return Ok(None);
    };
    let agreement =
        verify::check_rolling(full, &checks.layout, examples, reference, &options.verify);
    if !agreement.is_exact() {
        return Err(CompileError::RollingChanged(Box::new(agreement)));
    }
    Ok(Some(agreement))
}
