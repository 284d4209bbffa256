//! The causal check of a circle: move one example's point on the circle to another value's point
//! (inside the interpreter run) and count how often the output follows.
//!
//! A trial takes an example `e` with value `v` and a target value `v'`. The *donor* is an example
//! with value `v'` as close to `e` as possible (fewest differing input features; for a sequence
//! state at step t, judged on the inputs up to t, and the donor's inputs up to t are spliced onto
//! `e`'s later inputs). The expected output is the donor's (for a sequence: the spliced run's
//! outputs after step t). Only trials whose expected output differs from `e`'s own are counted.
//! The circle patch replaces the plane coordinates of `e`'s activation by `v'`'s class mean;
//! the whole-layer patch (the upper bound) replaces the whole activation by the donor's.

use serde::Serialize;

use super::activations::{Activations, Layer, Patch, Subject};
use super::probe::Circle;
use super::variables::Variable;
use crate::network::interp::InterpError;
use crate::rng::SplitMix64;

/// Informative trials per check.
pub const TRIALS: usize = 128;

/// How often the output followed the patched value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Causal {
    /// Share of trials where patching the circle alone moved the output to the donor's; `None`
    /// when no trial could change the output (the variable does not reach the output from here).
    pub success: Option<f64>,
    /// The same for replacing the whole activation by the donor's (an upper bound).
    pub whole_layer: Option<f64>,
    /// Informative trials run.
    pub trials: usize,
}

/// Runs the causal check of `circle` (of `var` in `layer`).
///
/// Errors: the interpreter's (a patched run failing).
pub fn check(
    subject: &Subject,
    acts: &Activations,
    layer: &Layer,
    var: &Variable,
    circle: &Circle,
    seed: u64,
) -> Result<Causal, InterpError> {
    let d = subject.ranges.len().max(1);
    let steps = subject.steps();
    // For a state at step t, the inputs that decide the state, and the outputs it can still move.
    let (prefix, later) = match layer.step {
        Some(t) if t + 1 >= steps => {
            return Ok(Causal {
                success: None,
                whole_layer: None,
                trials: 0,
            })
        }
        Some(t) => ((t + 1) * d, t + 1),
        None => (usize::MAX, 0),
    };
    let n = acts.inputs.len();
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); var.p];
    for (i, &v) in var.values.iter().enumerate() {
        by_class[v].push(i);
    }
    let mut rng = SplitMix64::new(seed);
    let (mut trials, mut moved, mut moved_whole) = (0usize, 0usize, 0usize);
    let [u1, u2] = &circle.basis;
    for _attempt in 0..TRIALS * 8 {
        if trials >= TRIALS || n == 0 {
            break;
        }
        let e = rng.int_in(0, n as i64 - 1) as usize;
        let v = var.values[e];
        let target = rng.int_in(0, var.p as i64 - 1) as usize;
        if target == v {
            continue;
        }
        let inputs = &acts.inputs[e];
        let distance = |j: usize| {
            acts.inputs[j]
                .iter()
                .zip(inputs)
                .take(prefix)
                .filter(|(a, b)| a != b)
                .count()
        };
        let Some(&donor) = by_class[target].iter().min_by_key(|&&j| (distance(j), j)) else {
            continue;
        };
        let expected: Vec<i64> = match layer.step {
            None => acts.predictions[donor].clone(),
            Some(_) => {
                let mut spliced = acts.inputs[donor][..prefix].to_vec();
                spliced.extend_from_slice(&inputs[prefix..]);
                subject.run(&spliced, None, &mut |_, _| {})?.predictions[later..].to_vec()
            }
        };
        if expected[..] == acts.predictions[e][later..] {
            continue;
        }
        trials += 1;
        let [q0, q1] = circle.points[e];
        let [t0, t1] = circle.class_points[target];
        let move_point = |x: &mut [f64]| {
            for j in 0..x.len().min(u1.len()) {
                x[j] += u1[j] * (t0 - q0) + u2[j] * (t1 - q1);
            }
        };
        let donor_row = &layer.rows[donor * layer.dim..(donor + 1) * layer.dim];
        let replace = |x: &mut [f64]| {
            if x.len() == donor_row.len() {
                x.copy_from_slice(donor_row);
            }
        };
        // Whether the example's later outputs become the donor's under `edit` of the layer.
        let follows_donor = |edit: &dyn Fn(&mut [f64])| -> Result<bool, InterpError> {
            let patch = Patch {
                site: layer.site,
                edit,
            };
            let run = subject.run(inputs, Some(&patch), &mut |_, _| {})?;
            Ok(run.predictions[later..] == expected[..])
        };
        moved += usize::from(follows_donor(&move_point)?);
        moved_whole += usize::from(follows_donor(&replace)?);
    }
    let share = |k: usize| (trials > 0).then(|| k as f64 / trials as f64);
    Ok(Causal {
        success: share(moved),
        whole_layer: share(moved_whole),
        trials,
    })
}
