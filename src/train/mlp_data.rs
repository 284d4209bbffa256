//! Data sets of the MLP trainer and the two pointwise tasks: L1 norm and modular addition.
//!
//! An [`MlpData`] holds examples row-major (`width` values each: features, or tokens as whole
//! numbers) and targets row-major (one value per output for regression, one class index for
//! classification). [`MlpTask`] names a task and makes its train and held-out sets from a seed.

use crate::export::{InputKind, MlpShape};
use crate::rng::SplitMix64;

/// Examples and targets, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpData {
    width: usize,
    target_width: usize,
    inputs: Vec<f32>,
    targets: Vec<f32>,
}

impl MlpData {
    /// A data set of `inputs.len() / width` examples. Extra trailing values (a partial row) are
    /// dropped; `width` and `target_width` of 0 are treated as 1.
    pub fn new(width: usize, target_width: usize, inputs: Vec<f32>, targets: Vec<f32>) -> Self {
        let width = width.max(1);
        let target_width = target_width.max(1);
        let rows = (inputs.len() / width).min(targets.len() / target_width);
        let mut inputs = inputs;
        let mut targets = targets;
        inputs.truncate(rows * width);
        targets.truncate(rows * target_width);
        MlpData {
            width,
            target_width,
            inputs,
            targets,
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.inputs.len() / self.width
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Example `i` (panics when `i >= len()`, a caller bug).
    pub fn example(&self, i: usize) -> &[f32] {
        &self.inputs[i * self.width..(i + 1) * self.width]
    }

    /// Target of example `i`.
    pub fn target(&self, i: usize) -> &[f32] {
        &self.targets[i * self.target_width..(i + 1) * self.target_width]
    }
}

/// The loss a task's network is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean squared error over the outputs; targets are real, one per output.
    Mse,
    /// Softmax cross-entropy over the outputs (logits); the target is one class index.
    CrossEntropy,
}

/// A pointwise task the MLP trainer knows.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "task", rename_all = "kebab-case")]
pub enum MlpTask {
    /// `y = sum_i |x_i|` for `x` uniform in `[-1, 1)^n` (regression).
    L1Norm { n: usize },
    /// `(a + b) mod p` for `a, b` in `0..p` (classification); a fraction of all `p^2` pairs is
    /// the training set, the rest is held out.
    ModAdd { p: usize, train_fraction: f64 },
}

/// Examples drawn for the L1-norm task's training and held-out sets.
pub const L1_EXAMPLES: usize = 1024;

impl MlpTask {
    /// Parses `l1-norm` or `mod-add` with the given size (`n` or `p`; `None` gives 4 and 59).
    pub fn parse(name: &str, size: Option<usize>, train_fraction: f64) -> Option<MlpTask> {
        match name.trim().to_ascii_lowercase().as_str() {
            "l1-norm" | "l1_norm" | "l1" => Some(MlpTask::L1Norm {
                n: size.unwrap_or(4),
            }),
            "mod-add" | "mod_add" | "modadd" => Some(MlpTask::ModAdd {
                p: size.unwrap_or(59),
                train_fraction,
            }),
            _ => None,
        }
    }

    /// The task's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            MlpTask::L1Norm { .. } => "l1-norm",
            MlpTask::ModAdd { .. } => "mod-add",
        }
    }

    /// The loss it is trained on.
    pub fn loss(&self) -> Loss {
        match self {
            MlpTask::L1Norm { .. } => Loss::Mse,
            MlpTask::ModAdd { .. } => Loss::CrossEntropy,
        }
    }

    /// The network shape for `hidden` (and `embed`, for token inputs).
    pub fn shape(&self, hidden: &[usize], embed: usize) -> MlpShape {
        match *self {
            MlpTask::L1Norm { n } => MlpShape {
                input: InputKind::Real { features: n },
                hidden: hidden.to_vec(),
                output: 1,
            },
            MlpTask::ModAdd { p, .. } => MlpShape {
                input: InputKind::Embedded {
                    inputs: 2,
                    vocab: p,
                    dim: embed,
                },
                hidden: hidden.to_vec(),
                output: p,
            },
        }
    }

    /// The input domain as `--domain` takes it, one range per model input.
    pub fn domain(&self) -> String {
        match *self {
            MlpTask::L1Norm { .. } => "-1.0..1.0".to_string(),
            MlpTask::ModAdd { p, .. } => format!("0..{p},0..{p}"),
        }
    }

    /// Checks the sizes: `n` in 1..=64, `p` in 2..=1000, the fraction in (0, 1).
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            MlpTask::L1Norm { n } if !(1..=64).contains(&n) => {
                Err(format!("l1-norm: n = {n} is outside 1..=64"))
            }
            MlpTask::ModAdd { p, .. } if !(2..=1000).contains(&p) => {
                Err(format!("mod-add: p = {p} is outside 2..=1000"))
            }
            MlpTask::ModAdd { train_fraction, .. }
                if !(train_fraction > 0.0 && train_fraction < 1.0) =>
            {
                Err(format!(
                    "mod-add: the train fraction {train_fraction} is outside (0, 1)"
                ))
            }
            MlpTask::L1Norm { .. } | MlpTask::ModAdd { .. } => Ok(()),
        }
    }

    /// The training and held-out sets, fixed by `seed`.
    pub fn data(&self, seed: u64) -> (MlpData, MlpData) {
        let mut rng = SplitMix64::new(seed);
        match *self {
            MlpTask::L1Norm { n } => {
                let mut draw = |count: usize| {
                    let mut inputs = Vec::with_capacity(count * n);
                    let mut targets = Vec::with_capacity(count);
                    for _ in 0..count {
                        let x: Vec<f32> = (0..n).map(|_| rng.real_in(-1.0, 1.0) as f32).collect();
                        targets.push(x.iter().map(|v| v.abs()).sum());
                        inputs.extend(x);
                    }
                    MlpData::new(n, 1, inputs, targets)
                };
                let train = draw(L1_EXAMPLES);
                (train, draw(L1_EXAMPLES))
            }
            MlpTask::ModAdd { p, train_fraction } => {
                let mut pairs: Vec<(usize, usize)> =
                    (0..p).flat_map(|a| (0..p).map(move |b| (a, b))).collect();
                // Fisher-Yates with the seeded generator.
                for i in (1..pairs.len()).rev() {
                    let j = rng.int_in(0, i as i64) as usize;
                    pairs.swap(i, j);
                }
                let cut = ((pairs.len() as f64 * train_fraction).round() as usize)
                    .clamp(1, pairs.len() - 1);
                let make = |pairs: &[(usize, usize)]| {
                    let inputs = pairs
                        .iter()
                        .flat_map(|&(a, b)| [a as f32, b as f32])
                        .collect();
                    let targets = pairs.iter().map(|&(a, b)| ((a + b) % p) as f32).collect();
                    MlpData::new(2, 1, inputs, targets)
                };
                (make(&pairs[..cut]), make(&pairs[cut..]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod_add_splits_every_pair_once() {
        let task = MlpTask::ModAdd {
            p: 7,
            train_fraction: 0.4,
        };
        let (train, test) = task.data(1);
        assert_eq!(train.len() + test.len(), 49);
        assert_eq!(train.len(), 20);
        let mut seen = std::collections::BTreeSet::new();
        for data in [&train, &test] {
            for i in 0..data.len() {
                let e = data.example(i);
                assert_eq!(data.target(i)[0], ((e[0] + e[1]) as usize % 7) as f32);
                assert!(seen.insert((e[0] as usize, e[1] as usize)));
            }
        }
    }

    #[test]
    fn l1_targets_are_the_norm() {
        let (train, _) = MlpTask::L1Norm { n: 3 }.data(5);
        let e = train.example(10);
        let norm: f32 = e.iter().map(|v| v.abs()).sum();
        assert_eq!(train.target(10)[0], norm);
        assert!(e.iter().all(|v| (-1.0..1.0).contains(v)));
    }
}
