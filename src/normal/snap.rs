//! Snapping weights to small integers and simple fractions (halves, quarters), one tensor at a
//! time, each snap kept only when the network's behaviour on the checked inputs is unchanged.
//!
//! Training leaves weights like `0.99987` where the algorithm needs `1`; snapped, the program
//! says `1`. A snap is a real change of the network, so the judge (the driver's comparison with
//! the original network) decides every one.

use super::{Judge, NormalError};
use crate::network::{Network, Tensor, ValueDef};

/// Denominators tried, smallest first: a weight snaps to the simplest fraction within tolerance.
pub const DENOMINATORS: [f64; 3] = [1.0, 2.0, 4.0];
/// Absolute tolerances tried, loosest first.
const TOLERANCES: [f64; 3] = [0.05, 0.01, 0.001];
/// The most judge runs one snapping pass spends.
const MAX_TRIALS: usize = 24;

/// The simplest fraction `k / d` within `tol` of `v`, trying the denominators `d` in the order
/// given (smallest first gives the simplest); `None` when none is that close. `v` itself is
/// returned when it is already such a fraction.
pub fn nearest_simple_fraction(v: f64, tol: f64, denominators: &[f64]) -> Option<f64> {
    denominators
        .iter()
        .map(|&d| (v * d).round() / d)
        .find(|snapped| (snapped - v).abs() <= tol)
}

/// `v` moved to the simplest fraction (of [`DENOMINATORS`]) within `tol`, if that moves it at
/// all.
pub fn snap_value(v: f32, tol: f64) -> Option<f32> {
    let snapped = nearest_simple_fraction(f64::from(v), tol, &DENOMINATORS)? as f32;
    (snapped != v).then_some(snapped)
}

/// Where a weight tensor lives: a constant of the (cell's) graph, or an initial state.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Constant(usize),
    Init(usize),
}

fn slots(network: &Network) -> Vec<Slot> {
    let (graph, init) = match network {
        Network::Pointwise(graph) => (graph, &[][..]),
        Network::Sequence(model) => (&model.cell.step, &model.cell.init[..]),
    };
    let constants = graph
        .values
        .iter()
        .enumerate()
        .filter(|(_, v)| matches!(v.def, ValueDef::Const(Tensor::F32(_))))
        .map(|(i, _)| Slot::Constant(i));
    let inits = init
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t, Tensor::F32(_)))
        .map(|(i, _)| Slot::Init(i));
    constants.chain(inits).collect()
}

/// Snaps the tensor in `slot` at tolerance `tol`; returns how many entries moved.
fn snap_slot(network: &mut Network, slot: Slot, tol: f64) -> usize {
    let tensor = match (network, slot) {
        (Network::Pointwise(graph), Slot::Constant(i)) => match &mut graph.values[i].def {
            ValueDef::Const(t) => t,
            ValueDef::Input(_) | ValueDef::Node(..) => return 0,
        },
        (Network::Sequence(model), Slot::Constant(i)) => match &mut model.cell.step.values[i].def {
            ValueDef::Const(t) => t,
            ValueDef::Input(_) | ValueDef::Node(..) => return 0,
        },
        (Network::Sequence(model), Slot::Init(i)) => &mut model.cell.init[i],
        (Network::Pointwise(_), Slot::Init(_)) => return 0,
    };
    let Tensor::F32(array) = tensor else {
        return 0;
    };
    let mut moved = 0;
    for v in array.iter_mut() {
        if let Some(s) = snap_value(*v, tol) {
            *v = s;
            moved += 1;
        }
    }
    moved
}

/// Snaps what the judge accepts: at each tolerance all tensors at once, else one at a time.
/// Returns the weights that moved.
pub fn snap(network: &mut Network, judge: &mut Judge<'_>) -> Result<usize, NormalError> {
    let all = slots(network);
    let mut trials = 0;
    let mut moved = 0;
    let mut settled = vec![false; all.len()];
    for tol in TOLERANCES {
        let mut candidate = network.clone();
        let mut count = 0;
        for (&slot, _) in all.iter().zip(&settled).filter(|(_, &s)| !s) {
            count += snap_slot(&mut candidate, slot, tol);
        }
        if count == 0 {
            continue;
        }
        trials += 1;
        if judge(&candidate)? {
            *network = candidate;
            return Ok(moved + count);
        }
        for (index, &slot) in all.iter().enumerate() {
            if settled[index] || trials >= MAX_TRIALS {
                continue;
            }
            let mut candidate = network.clone();
            let count = snap_slot(&mut candidate, slot, tol);
            if count == 0 {
                continue;
            }
            trials += 1;
            if judge(&candidate)? {
                *network = candidate;
                moved += count;
                settled[index] = true;
            }
        }
    }
    Ok(moved)
}
