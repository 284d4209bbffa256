//! The interface of a loss-and-gradient engine, and the fused engine's implementation of it.
//!
//! The trainer computes gradients only through [`GradientEngine`]: [`crate::train::fused`]'s
//! [`Workspace`] (here) and, in builds with the `burn` feature, `crate::train::autodiff`'s
//! `BurnEngine` implement it; [`crate::train::fit::engine`] picks one.

use crate::export::AnchorRnn;
use crate::train::batch::Batch;
use crate::train::fused::Workspace;

/// A loss-and-gradient engine: the mean anchor loss over `batch` and its gradient in `grads`
/// (overwritten; the model's shape).
pub trait GradientEngine {
    fn loss_and_gradients(
        &mut self,
        model: &AnchorRnn,
        batch: &Batch,
        grads: &mut AnchorRnn,
    ) -> f64;

    /// The same gradients for a step whose loss value nobody reads; returns whether the loss
    /// is finite. Engines that get the loss for free keep this default.
    fn gradients(&mut self, model: &AnchorRnn, batch: &Batch, grads: &mut AnchorRnn) -> bool {
        self.loss_and_gradients(model, batch, grads).is_finite()
    }
}

impl GradientEngine for Workspace {
    fn loss_and_gradients(
        &mut self,
        model: &AnchorRnn,
        batch: &Batch,
        grads: &mut AnchorRnn,
    ) -> f64 {
        Workspace::loss_and_gradients(self, model, batch, grads)
    }

    fn gradients(&mut self, model: &AnchorRnn, batch: &Batch, grads: &mut AnchorRnn) -> bool {
        Workspace::gradients(self, model, batch, grads)
    }
}
