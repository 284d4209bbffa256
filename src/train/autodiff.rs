//! The anchor loss and its gradients through burn's autodiff (to be written: see the brief).

use crate::export::AnchorRnn;
use crate::train::batch::Batch;
use crate::train::fit::GradientEngine;

/// burn's `Autodiff` over its CPU backend, behind [`GradientEngine`].
#[derive(Debug, Default)]
pub struct BurnEngine {}

impl BurnEngine {
    pub fn new() -> Self {
        BurnEngine {}
    }
}

impl GradientEngine for BurnEngine {
    fn loss_and_gradients(
        &mut self,
        _model: &AnchorRnn,
        _batch: &Batch,
        _grads: &mut AnchorRnn,
    ) -> f64 {
        unimplemented!("the burn engine is being written")
    }
}
