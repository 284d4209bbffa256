//! Training through burn's autodiff (`Engine::Burn`) against the fused BPTT (`Engine::Fused`):
//! from the same initialisation, data and seed, the two runs see the same batches and the same
//! AdamW, so they must end with nearly the same network. Built only with the `burn` feature.
#![cfg(feature = "burn")]

use nn2py::export::AnchorRnn;
use nn2py::train::batch::Batch;
use nn2py::train::fit::{engine, fit, Engine, FitOptions};
use nn2py::train::fused::Workspace;
use nn2py::train::model::{flatten, initialise, zeros_like, Architecture};

/// The fused engine's loss of `model` on `batch` (the judge for both runs).
fn loss(model: &AnchorRnn, batch: &Batch) -> f64 {
    let mut grads = zeros_like(model);
    Workspace::new().loss_and_gradients(model, batch, &mut grads)
}

#[test]
fn burn_and_fused_train_to_the_same_network() {
    let task = nn2py::tasks::by_name("Sum_Last2").unwrap();
    let train = task.generate(512, task.length, 3).unwrap();
    let held_out = Batch::all(&task.generate(128, task.length, 4).unwrap());
    let arch = Architecture {
        hidden: 4,
        f_widths: vec![8],
        g_widths: vec![],
    };
    let initial = initialise(&arch, 1, 1, 5);
    let options = |engine| FitOptions {
        steps: 20,
        batch: 64,
        lr: 1e-2,
        eval_every: 10,
        stop_when_exact: false,
        engine,
        ..FitOptions::default()
    };
    let run = |engine| {
        fit(
            initial.clone(),
            &train,
            &held_out,
            &options(engine),
            None,
            7,
            &mut |_| {},
        )
    };
    let fused = run(Engine::Fused);
    let burn = run(Engine::Burn);
    assert_eq!((fused.steps, burn.steps), (20, 20));
    assert!(
        (fused.loss - burn.loss).abs() <= 1e-3 * fused.loss,
        "last training loss: fused {}, burn {}",
        fused.loss,
        burn.loss
    );
    let before = loss(&initial, &held_out);
    let (after_fused, after_burn) = (loss(&fused.model, &held_out), loss(&burn.model, &held_out));
    assert!(
        after_fused < 0.97 * before,
        "fused did not learn: {before} -> {after_fused}"
    );
    assert!(
        (after_fused - after_burn).abs() <= 1e-3 * after_fused,
        "held-out loss: fused {after_fused}, burn {after_burn}"
    );
    // Adam normalises each step, so parameters move by about the learning rate per step; the
    // two runs stay within a small fraction of the total distance travelled.
    let (start, a, b) = (
        flatten(&initial),
        flatten(&fused.model),
        flatten(&burn.model),
    );
    let travelled = start
        .iter()
        .zip(&a)
        .fold(0.0f32, |m, (s, x)| m.max((s - x).abs()));
    let apart = a
        .iter()
        .zip(&b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(travelled > 0.05, "travelled {travelled}");
    assert!(apart <= 0.01 * travelled, "apart {apart} of {travelled}");
}

#[test]
fn the_engine_factory_builds_a_working_burn_engine() {
    let task = nn2py::tasks::by_name("Base_5_Addition").unwrap();
    let batch = Batch::all(&task.generate(32, task.length, 1).unwrap());
    let arch = Architecture {
        hidden: 3,
        f_widths: vec![6],
        g_widths: vec![4],
    };
    let model = initialise(&arch, task.input_dim, task.output_dim, 2);
    let mut grads = zeros_like(&model);
    let burn = engine(Engine::Burn).loss_and_gradients(&model, &batch, &mut grads);
    let fused = loss(&model, &batch);
    assert!(
        (burn - fused).abs() <= 1e-5 * fused,
        "burn {burn}, fused {fused}"
    );
    assert!(flatten(&grads).iter().any(|&g| g != 0.0));
}
