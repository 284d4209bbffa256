//! Training data as the trainer consumes it: a pool of sequences in `f32` and batches drawn
//! from it, laid out time-major and feature-major, so each step's inputs are one contiguous
//! `[d, n]` block whose rows run over the batch (the fused kernels vectorise over the batch).

use crate::rng::SplitMix64;
use crate::tasks::Dataset;

/// `n` sequences of `length` steps: input feature `j` of sequence `i` at step `t` is
/// `inputs[(t * input_dim + j) * n + i]`; targets likewise with `output_dim`.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub n: usize,
    pub length: usize,
    pub input_dim: usize,
    pub output_dim: usize,
    pub inputs: Vec<f32>,
    pub targets: Vec<f32>,
}

impl Batch {
    /// `n` random sequences for tests: inputs drawn from `0..=max_input`, then targets from
    /// `0..=max_target`, each as whole numbers.
    #[cfg(test)]
    pub(crate) fn random(
        rng: &mut SplitMix64,
        (n, length): (usize, usize),
        (input_dim, output_dim): (usize, usize),
        (max_input, max_target): (i64, i64),
    ) -> Batch {
        let inputs = (0..n * length * input_dim)
            .map(|_| rng.int_in(0, max_input) as f32)
            .collect();
        let targets = (0..n * length * output_dim)
            .map(|_| rng.int_in(0, max_target) as f32)
            .collect();
        Batch {
            n,
            length,
            input_dim,
            output_dim,
            inputs,
            targets,
        }
    }

    /// The sequences `indices` of `data`, converted to `f32` (integers up to 2^24 are exact).
    pub fn from_dataset(data: &Dataset, indices: &[usize]) -> Batch {
        let (in_width, out_width) = (data.length * data.input_dim, data.length * data.output_dim);
        Batch::gather(data, indices, |seq, at| {
            if at < in_width {
                data.inputs[seq * in_width + at] as f32
            } else {
                data.outputs[seq * out_width + at - in_width] as f32
            }
        })
    }

    /// The batch of the sequences `indices`, shaped as `shape`'s, where `value(seq, at)` is value
    /// `at` of sequence `seq`'s record: its `length * input_dim` inputs, then its targets.
    ///
    /// A block of sequences at a time, value by value, so that each write fills a run of the
    /// batch's row rather than one value per row (rows `n` apart share few cache sets, which made
    /// the gather half of a small network's training time).
    fn gather(shape: &Dataset, indices: &[usize], value: impl Fn(usize, usize) -> f32) -> Batch {
        const BLOCK: usize = 16;
        let (n, length, d, o) = (
            indices.len(),
            shape.length,
            shape.input_dim,
            shape.output_dim,
        );
        let in_width = length * d;
        let mut inputs = vec![0.0f32; n * in_width];
        let mut targets = vec![0.0f32; n * length * o];
        for (b, block) in indices.chunks(BLOCK).enumerate() {
            let first = b * BLOCK;
            for at in 0..length * (d + o) {
                let (into, row) = if at < in_width {
                    (&mut inputs, at)
                } else {
                    (&mut targets, at - in_width)
                };
                let run = &mut into[row * n + first..row * n + first + block.len()];
                for (slot, &seq) in run.iter_mut().zip(block) {
                    *slot = value(seq, at);
                }
            }
        }
        Batch {
            n,
            length,
            input_dim: d,
            output_dim: o,
            inputs,
            targets,
        }
    }

    /// Every sequence of `data`, in order.
    pub fn all(data: &Dataset) -> Batch {
        Batch::from_dataset(data, &(0..data.count).collect::<Vec<_>>())
    }

    /// Step `t`'s inputs, `[input_dim, n]` row-major.
    pub fn step_inputs(&self, t: usize) -> &[f32] {
        let size = self.n * self.input_dim;
        &self.inputs[t * size..(t + 1) * size]
    }

    /// Step `t`'s targets, `[output_dim, n]` row-major.
    pub fn step_targets(&self, t: usize) -> &[f32] {
        let size = self.n * self.output_dim;
        &self.targets[t * size..(t + 1) * size]
    }
}

/// Draws training batches from a fixed pool of sequences, with replacement, seeded.
#[derive(Debug, Clone)]
pub struct Sampler<'a> {
    data: &'a Dataset,
    /// The pool in `f32`, one record per sequence: its `length * input_dim` inputs, then its
    /// `length * output_dim` targets. Half the size of the `i64` pool and one place per sequence,
    /// so a step's randomly drawn sequences cost a cache line or two each rather than several
    /// misses (the gather was half of a small network's training time).
    records: Vec<f32>,
    rng: SplitMix64,
    indices: Vec<usize>,
}

impl<'a> Sampler<'a> {
    /// Panics never; an empty pool gives empty batches.
    pub fn new(data: &'a Dataset, seed: u64) -> Self {
        let mut records = Vec::with_capacity(data.inputs.len() + data.outputs.len());
        for seq in 0..data.count {
            let (inputs, targets) = (
                data.sequence_inputs(seq).unwrap_or_default(),
                data.sequence_outputs(seq).unwrap_or_default(),
            );
            records.extend(inputs.iter().chain(targets).map(|&v| v as f32));
        }
        Sampler {
            data,
            records,
            rng: SplitMix64::new(seed),
            indices: Vec::new(),
        }
    }

    /// The next batch of `n` sequences: exactly `Batch::from_dataset` of the drawn sequences.
    pub fn next_batch(&mut self, n: usize) -> Batch {
        self.indices.clear();
        if self.data.count > 0 {
            let hi = self.data.count as i64 - 1;
            for _ in 0..n {
                self.indices.push(self.rng.int_in(0, hi) as usize);
            }
        }
        let width = self.data.length * (self.data.input_dim + self.data.output_dim);
        let records = &self.records;
        Batch::gather(self.data, &self.indices, |seq, at| {
            records[seq * width + at]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampled_batches_are_the_gathered_sequences() {
        let data = Dataset {
            count: 5,
            length: 3,
            input_dim: 2,
            output_dim: 1,
            inputs: (0..30).map(|v| v * 7 - 50).collect(),
            outputs: (0..15).map(|v| v * 3 - 9).collect(),
        };
        let mut sampler = Sampler::new(&data, 11);
        let mut draws = SplitMix64::new(11);
        for n in [1, 4, 9, 40] {
            let indices: Vec<usize> = (0..n).map(|_| draws.int_in(0, 4) as usize).collect();
            assert_eq!(sampler.next_batch(n), Batch::from_dataset(&data, &indices));
        }
        let empty = Dataset {
            count: 0,
            inputs: vec![],
            outputs: vec![],
            ..data
        };
        assert_eq!(
            Sampler::new(&empty, 1).next_batch(3),
            Batch::from_dataset(&empty, &[])
        );
    }

    #[test]
    fn batches_are_time_major() {
        let data = Dataset {
            count: 2,
            length: 3,
            input_dim: 1,
            output_dim: 1,
            inputs: vec![1, 2, 3, 4, 5, 6],
            outputs: vec![10, 20, 30, 40, 50, 60],
        };
        let batch = Batch::from_dataset(&data, &[1, 0]);
        assert_eq!(batch.step_inputs(0), &[4.0, 1.0]);
        assert_eq!(batch.step_inputs(2), &[6.0, 3.0]);
        assert_eq!(batch.step_targets(1), &[50.0, 20.0]);
        let pairs = Dataset {
            count: 2,
            length: 1,
            input_dim: 2,
            output_dim: 1,
            inputs: vec![1, 2, 3, 4],
            outputs: vec![0, 0],
        };
        // Feature-major within a step: feature 0 of both sequences, then feature 1.
        assert_eq!(
            Batch::from_dataset(&pairs, &[0, 1]).step_inputs(0),
            &[1.0, 3.0, 2.0, 4.0]
        );
    }
}
