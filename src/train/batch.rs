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
        // Gathered sequence by sequence: each sequence's values are contiguous in `data` and
        // read once (a pool is megabytes, so reading it step by step instead missed the cache
        // on every value); the writes, strided by `n`, land in a batch that fits in cache.
        let mut inputs = vec![0.0f32; n * length * d];
        let mut targets = vec![0.0f32; n * length * o];
        let scatter = |into: &mut [f32], from: &[i64], width: usize| {
            for (i, &seq) in indices.iter().enumerate() {
                let values = &from[seq * width..(seq + 1) * width];
                for (at, &value) in values.iter().enumerate() {
                    into[at * n + i] = value as f32;
                }
            }
        };
        scatter(&mut inputs, &data.inputs, length * d);
        scatter(&mut targets, &data.outputs, length * o);
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
        let data = self.data;
        let n = self.indices.len();
        let (length, d, o) = (data.length, data.input_dim, data.output_dim);
        let (in_width, out_width) = (length * d, length * o);
        let width = in_width + out_width;
        let mut inputs = vec![0.0f32; n * in_width];
        let mut targets = vec![0.0f32; n * out_width];
        // A block of sequences at a time, value by value, so that each write fills a run of
        // the batch's row rather than one value per row (rows `n` apart share few cache sets).
        const BLOCK: usize = 16;
        for (b, block) in self.indices.chunks(BLOCK).enumerate() {
            let first = b * BLOCK;
            for at in 0..width {
                let (into, row) = if at < in_width {
                    (&mut inputs, at)
                } else {
                    (&mut targets, at - in_width)
                };
                let run = &mut into[row * n + first..row * n + first + block.len()];
                for (value, &seq) in run.iter_mut().zip(block) {
                    *value = self.records[seq * width + at];
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
