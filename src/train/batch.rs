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
    /// The sequences `indices` of `data`, converted to `f32` (integers up to 2^24 are exact).
    pub fn from_dataset(data: &Dataset, indices: &[usize]) -> Batch {
        let (n, length, d, o) = (indices.len(), data.length, data.input_dim, data.output_dim);
        // Written in output order (step, feature, sequence), so the writes are contiguous and
        // the batch's sequences, read again at every step, stay in cache.
        let mut inputs = Vec::with_capacity(n * length * d);
        let mut targets = Vec::with_capacity(n * length * o);
        for t in 0..length {
            for j in 0..d {
                let at = t * d + j;
                inputs.extend(
                    indices
                        .iter()
                        .map(|&seq| data.inputs[seq * length * d + at] as f32),
                );
            }
            for j in 0..o {
                let at = t * o + j;
                targets.extend(
                    indices
                        .iter()
                        .map(|&seq| data.outputs[seq * length * o + at] as f32),
                );
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
    rng: SplitMix64,
    indices: Vec<usize>,
}

impl<'a> Sampler<'a> {
    /// Panics never; an empty pool gives empty batches.
    pub fn new(data: &'a Dataset, seed: u64) -> Self {
        Sampler {
            data,
            rng: SplitMix64::new(seed),
            indices: Vec::new(),
        }
    }

    /// The next batch of `n` sequences.
    pub fn next_batch(&mut self, n: usize) -> Batch {
        self.indices.clear();
        if self.data.count > 0 {
            let hi = self.data.count as i64 - 1;
            for _ in 0..n {
                self.indices.push(self.rng.int_in(0, hi) as usize);
            }
        }
        Batch::from_dataset(self.data, &self.indices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
