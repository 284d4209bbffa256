//! Verification: does a program (or a rolled cell, or a Python file) do what the network does?
//!
//! Inputs are drawn from the input domain: every combination when the domain is finite and small
//! (at most [`VerifyOptions::exhaustive_limit`] inputs), else a seeded sample. The reference is
//! always [`crate::network::interp`]. Agreement is measured per example: an example agrees when
//! every output element agrees (integer and boolean outputs exactly, real outputs within
//! [`VerifyOptions::rel_tol`] of `max(|expected|, 1)`).

pub mod domain;
pub mod python;

use ndarray::{ArrayD, IxDyn};
use serde::Serialize;

use crate::network::interp::{self as network_interp, InterpError};
use crate::network::{DType, Graph, Network, Tensor};
use crate::program::interp::{self as program_interp, Scalar};
use crate::program::{Program, Signature, Type};
use crate::rng::SplitMix64;
use domain::Range;

/// `part / whole` as a fraction, 0 when `whole` is 0 (nothing checked, nothing agreed).
pub fn fraction(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// How inputs are drawn and outputs compared.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyOptions {
    /// Number of inputs drawn when the domain is not enumerated.
    pub samples: usize,
    /// Seed of the input sampler.
    pub seed: u64,
    /// Largest domain (number of distinct inputs) that is enumerated exhaustively.
    pub exhaustive_limit: u128,
    /// Relative tolerance for real outputs, relative to `max(|expected|, 1)`.
    pub rel_tol: f64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            samples: 2000,
            seed: 20_261_125,
            exhaustive_limit: 1 << 16,
            rel_tol: 1e-4,
        }
    }
}

/// One example: the value of every input feature (for sequences: step-major, `T * d` values).
/// Integers are held exactly (|v| < 2^53).
pub type Example = Vec<f64>;

/// The set of examples a check runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct Examples {
    pub examples: Vec<Example>,
    /// True when `examples` is the whole (finite) domain.
    pub exhaustive: bool,
}

/// Draws the examples: `features` ranges, one per feature of one example (for a sequence model,
/// repeat the per-step ranges `T` times).
pub fn draw_examples(features: &[Range], options: &VerifyOptions) -> Examples {
    let mut total: Option<u128> = Some(1);
    for range in features {
        total = match (total, range.count()) {
            (Some(t), Some(c)) => t.checked_mul(c),
            _ => None,
        };
    }
    if let Some(total) = total.filter(|&t| t <= options.exhaustive_limit) {
        let mut examples = Vec::with_capacity(total as usize);
        for mut index in 0..total {
            let mut example = Vec::with_capacity(features.len());
            for range in features {
                // Every range is finite here (total is Some).
                let (lo, count) = match *range {
                    Range::Integers { lo, hi } => (lo, (hi as i128 - lo as i128 + 1) as u128),
                    Range::Reals { .. } => (0, 1),
                };
                example.push((lo as i128 + (index % count) as i128) as f64);
                index /= count;
            }
            examples.push(example);
        }
        return Examples {
            examples,
            exhaustive: true,
        };
    }
    let mut rng = SplitMix64::new(options.seed);
    let examples = (0..options.samples)
        .map(|_| {
            features
                .iter()
                .map(|range| match *range {
                    Range::Integers { lo, hi } => rng.int_in(lo, hi) as f64,
                    // Inputs reach the network as f32: draw values it can hold exactly.
                    Range::Reals { lo, hi } => rng.real_in(lo, hi) as f32 as f64,
                })
                .collect()
        })
        .collect();
    Examples {
        examples,
        exhaustive: false,
    }
}

/// The first example on which two computations disagree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    pub input: Vec<f64>,
    pub expected: Vec<f64>,
    pub actual: Vec<f64>,
}

/// How well a computation agrees with the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// Number of examples run.
    pub checked: usize,
    /// True when the examples were the whole input domain.
    pub exhaustive: bool,
    /// Examples on which every output agrees within tolerance.
    pub agreeing: usize,
    /// Examples on which every output agrees after rounding to the nearest integer.
    pub agreeing_after_rounding: usize,
    pub max_abs_error: f64,
    pub max_rel_error: f64,
    /// Examples on which the computation failed (an error instead of outputs).
    pub failures: usize,
    pub first_mismatch: Option<Mismatch>,
}

impl Agreement {
    fn new(exhaustive: bool) -> Self {
        Agreement {
            checked: 0,
            exhaustive,
            agreeing: 0,
            agreeing_after_rounding: 0,
            max_abs_error: 0.0,
            max_rel_error: 0.0,
            failures: 0,
            first_mismatch: None,
        }
    }

    /// True when every example agreed.
    pub fn is_exact(&self) -> bool {
        self.checked > 0 && self.agreeing == self.checked
    }

    /// Fraction of agreeing examples.
    pub fn rate(&self) -> f64 {
        fraction(self.agreeing, self.checked)
    }

    /// A one-line summary for people.
    pub fn summary(&self) -> String {
        let how = if self.exhaustive {
            "inputs (the whole domain)"
        } else {
            "sampled inputs"
        };
        format!(
            "{} of {} {} agree; max abs error {:.3e}",
            self.agreeing, self.checked, how, self.max_abs_error
        )
    }

    /// Records one example's outputs (`None` when the computation failed).
    fn record(
        &mut self,
        input: &[f64],
        expected: &[f64],
        exact_kinds: &[bool],
        actual: Option<&[f64]>,
        rel_tol: f64,
    ) {
        self.checked += 1;
        let Some(actual) = actual.filter(|a| a.len() == expected.len()) else {
            self.failures += 1;
            self.note_mismatch(input, expected, actual.unwrap_or(&[]));
            return;
        };
        let mut agrees = true;
        let mut agrees_rounded = true;
        for ((&e, &a), &exact) in expected.iter().zip(actual).zip(exact_kinds) {
            let abs = (e - a).abs();
            let scale = e.abs().max(1.0);
            let same = e == a || (e.is_nan() && a.is_nan());
            if !same {
                self.max_abs_error =
                    self.max_abs_error
                        .max(if abs.is_nan() { f64::INFINITY } else { abs });
                self.max_rel_error = self.max_rel_error.max(abs / e.abs().max(f64::MIN_POSITIVE));
            }
            if !(same || (!exact && abs <= rel_tol * scale)) {
                agrees = false;
            }
            if e.round() != a.round() {
                agrees_rounded = false;
            }
        }
        if agrees {
            self.agreeing += 1;
        } else {
            self.note_mismatch(input, expected, actual);
        }
        if agrees_rounded {
            self.agreeing_after_rounding += 1;
        }
    }

    fn note_mismatch(&mut self, input: &[f64], expected: &[f64], actual: &[f64]) {
        if self.first_mismatch.is_none() {
            self.first_mismatch = Some(Mismatch {
                input: input.to_vec(),
                expected: expected.to_vec(),
                actual: actual.to_vec(),
            });
        }
    }
}

/// A failure of the reference itself: the network cannot be run on a domain input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the network fails on input {input:?}: {cause}")]
pub struct ReferenceError {
    pub input: Vec<f64>,
    pub cause: InterpError,
}

/// The shape of one example as the network sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ExampleLayout {
    /// Features of each graph input, in order: `(dtype, shape)` per input, shapes `[1, ...]`.
    Pointwise(Vec<(DType, Vec<usize>)>),
    /// `T` steps of `d` features.
    Sequence {
        length: usize,
        input_dim: usize,
        dtype: DType,
    },
}

impl ExampleLayout {
    /// The layout of a network's examples; `length` overrides a sequence model's length.
    pub fn of(network: &Network, length: Option<usize>) -> Self {
        match network {
            Network::Pointwise(graph) => ExampleLayout::Pointwise(
                graph
                    .inputs
                    .iter()
                    .map(|&v| {
                        let ty = &graph.value(v).ty;
                        (ty.dtype, ty.shape.clone())
                    })
                    .collect(),
            ),
            Network::Sequence(model) => ExampleLayout::Sequence {
                length: length.unwrap_or(model.length),
                input_dim: model.input_dim,
                dtype: model.input_dtype,
            },
        }
    }

    /// The layout in which `program` takes its inputs: a sequence program that declares its step
    /// inputs `Int` (a lifted program) takes integers even when the network takes floats.
    pub fn for_program(&self, program: &Program) -> Self {
        match (self, &program.signature) {
            (
                ExampleLayout::Sequence {
                    length, input_dim, ..
                },
                Signature::Sequence { step_inputs, .. },
            ) if !step_inputs.is_empty()
                && step_inputs.iter().all(|&v| program.var(v).ty == Type::Int) =>
            {
                ExampleLayout::Sequence {
                    length: *length,
                    input_dim: *input_dim,
                    dtype: DType::I64,
                }
            }
            _ => self.clone(),
        }
    }

    /// Feature count of each input (pointwise) or of each step (sequence).
    pub fn feature_counts(&self) -> Vec<usize> {
        match self {
            ExampleLayout::Pointwise(inputs) => inputs
                .iter()
                .map(|(_, shape)| shape.iter().product())
                .collect(),
            ExampleLayout::Sequence { input_dim, .. } => vec![*input_dim],
        }
    }

    /// Expands per-feature ranges (one per input feature, or per step feature) to the ranges of
    /// one whole example.
    pub fn example_ranges(&self, per_feature: &[Range]) -> Vec<Range> {
        match self {
            ExampleLayout::Pointwise(_) => per_feature.to_vec(),
            ExampleLayout::Sequence { length, .. } => per_feature.repeat(*length),
        }
    }

    /// The network's input tensors for one example.
    pub fn tensors(&self, example: &[f64]) -> Vec<Tensor> {
        match self {
            ExampleLayout::Pointwise(inputs) => split_inputs(inputs, example)
                .map(|(dtype, shape, values)| make_tensor(dtype, shape, values))
                .collect(),
            ExampleLayout::Sequence {
                length,
                input_dim,
                dtype,
            } => vec![make_tensor(*dtype, &[1, *length, *input_dim], example)],
        }
    }
}

/// A pointwise example's features split by input: each input's type, shape and values.
fn split_inputs<'e>(
    inputs: &'e [(DType, Vec<usize>)],
    example: &'e [f64],
) -> impl Iterator<Item = (DType, &'e [usize], &'e [f64])> {
    let mut offset = 0;
    inputs.iter().map(move |(dtype, shape)| {
        let n: usize = shape.iter().product();
        let values = &example[offset..offset + n];
        offset += n;
        (*dtype, shape.as_slice(), values)
    })
}

/// A tensor of the given type and shape from feature values (held as f64). Panics when
/// `values.len()` is not the product of `shape` (callers derive both from one layout).
pub fn make_tensor(dtype: DType, shape: &[usize], values: &[f64]) -> Tensor {
    let shape = IxDyn(shape);
    // The shapes and value counts come from the same layout, so construction cannot fail.
    match dtype {
        DType::F32 => Tensor::F32(
            ArrayD::from_shape_vec(shape, values.iter().map(|&v| v as f32).collect())
                .expect("layout-consistent shape"),
        ),
        DType::I64 => Tensor::I64(
            ArrayD::from_shape_vec(shape, values.iter().map(|&v| v as i64).collect())
                .expect("layout-consistent shape"),
        ),
        DType::Bool => Tensor::Bool(
            ArrayD::from_shape_vec(shape, values.iter().map(|&v| v != 0.0).collect())
                .expect("layout-consistent shape"),
        ),
    }
}

/// Flattens output tensors to values, with `true` for each element compared exactly.
pub fn flatten(tensors: &[Tensor]) -> (Vec<f64>, Vec<bool>) {
    let mut values = Vec::new();
    let mut exact = Vec::new();
    for t in tensors {
        match t {
            Tensor::F32(a) => {
                values.extend(a.iter().map(|&v| v as f64));
                exact.extend(std::iter::repeat_n(false, a.len()));
            }
            Tensor::I64(a) => {
                values.extend(a.iter().map(|&v| v as f64));
                exact.extend(std::iter::repeat_n(true, a.len()));
            }
            Tensor::Bool(a) => {
                values.extend(a.iter().map(|&v| if v { 1.0 } else { 0.0 }));
                exact.extend(std::iter::repeat_n(true, a.len()));
            }
        }
    }
    (values, exact)
}

/// The reference outputs of a network on every example, flattened.
pub struct Reference {
    pub outputs: Vec<Vec<f64>>,
    pub exact: Vec<bool>,
}

impl Reference {
    /// The outputs read by rounding to the nearest integer (half to even, as Python's `round`),
    /// compared exactly.
    pub fn rounded(&self) -> Reference {
        Reference {
            outputs: self
                .outputs
                .iter()
                .map(|o| o.iter().map(|v| v.round_ties_even()).collect())
                .collect(),
            exact: vec![true; self.exact.len()],
        }
    }
}

/// Runs the network on every example.
pub fn reference_outputs(
    network: &Network,
    layout: &ExampleLayout,
    examples: &Examples,
) -> Result<Reference, ReferenceError> {
    let mut outputs = Vec::with_capacity(examples.examples.len());
    let mut exact = Vec::new();
    for example in &examples.examples {
        let tensors = layout.tensors(example);
        let result =
            network_interp::run_network(network, &tensors).map_err(|cause| ReferenceError {
                input: example.clone(),
                cause,
            })?;
        let (values, kinds) = flatten(&result);
        exact = kinds;
        outputs.push(values);
    }
    Ok(Reference { outputs, exact })
}

/// Compares a whole-sequence graph (the model before rolling) with the reference outputs of its
/// rolled cell: the whole graph is the expected side.
pub fn check_rolling(
    full: &Graph,
    layout: &ExampleLayout,
    examples: &Examples,
    reference: &Reference,
    options: &VerifyOptions,
) -> Agreement {
    let mut agreement = Agreement::new(examples.exhaustive);
    for (example, cell_outputs) in examples.examples.iter().zip(&reference.outputs) {
        let tensors = layout.tensors(example);
        match network_interp::run_graph(full, &tensors) {
            Ok(outputs) => {
                let (expected, exact) = flatten(&outputs);
                agreement.record(
                    example,
                    &expected,
                    &exact,
                    Some(cell_outputs),
                    options.rel_tol,
                );
            }
            Err(_) => agreement.record(example, &[], &[], None, options.rel_tol),
        }
    }
    agreement
}

fn scalar_value(s: &Scalar) -> f64 {
    match *s {
        Scalar::Int(v) => v as f64,
        Scalar::Float(v) => v,
        Scalar::Bool(v) => {
            if v {
                1.0
            } else {
                0.0
            }
        }
    }
}

/// The program's scalar arguments for one example.
///
/// A value goes in as the type the program declares for its variable (a lifted program takes
/// integer steps even when the network takes floats), else as the network's element type.
fn program_arguments(
    program: &Program,
    layout: &ExampleLayout,
    example: &[f64],
) -> Vec<Vec<Scalar>> {
    let declared: Vec<Type> = match &program.signature {
        Signature::Sequence { step_inputs, .. } => {
            step_inputs.iter().map(|&v| program.var(v).ty).collect()
        }
        Signature::Pointwise { .. } => Vec::new(),
    };
    let scalar = |dtype: DType, v: f64| match dtype {
        DType::F32 => Scalar::Float(v),
        DType::I64 => Scalar::Int(v as i64),
        DType::Bool => Scalar::Bool(v != 0.0),
    };
    let typed = |index: usize, dtype: DType, v: f64| match declared.get(index) {
        Some(Type::Int) => Scalar::Int(v as i64),
        Some(Type::Float) => Scalar::Float(v),
        Some(Type::Bool) => Scalar::Bool(v != 0.0),
        None => scalar(dtype, v),
    };
    match layout {
        ExampleLayout::Pointwise(inputs) => split_inputs(inputs, example)
            .map(|(dtype, _, values)| values.iter().map(|&v| scalar(dtype, v)).collect())
            .collect(),
        ExampleLayout::Sequence {
            input_dim, dtype, ..
        } => example
            .chunks(*input_dim)
            .map(|step| {
                step.iter()
                    .enumerate()
                    .map(|(j, &v)| typed(j, *dtype, v))
                    .collect()
            })
            .collect(),
    }
}

/// Runs the program on one example and flattens its outputs.
pub fn run_program(
    program: &Program,
    layout: &ExampleLayout,
    example: &[f64],
) -> Result<Vec<f64>, program_interp::InterpError> {
    let arguments = program_arguments(program, layout, example);
    match layout {
        ExampleLayout::Pointwise(_) => program_interp::run_pointwise(program, &arguments)
            .map(|outs| outs.iter().map(scalar_value).collect()),
        ExampleLayout::Sequence { .. } => program_interp::run_sequence(program, &arguments)
            .map(|steps| steps.iter().flatten().map(scalar_value).collect()),
    }
}

/// Compares a program with the reference outputs on every example.
pub fn check_program(
    program: &Program,
    layout: &ExampleLayout,
    examples: &Examples,
    reference: &Reference,
    options: &VerifyOptions,
) -> Agreement {
    let actual = examples
        .examples
        .iter()
        .map(|example| run_program(program, layout, example).ok());
    agreement_with_reference(examples, reference, actual, options)
}

/// Compares outputs computed elsewhere (for instance by `python3`) with the reference.
pub fn check_outputs(
    examples: &Examples,
    reference: &Reference,
    actual: &[Option<Vec<f64>>],
    options: &VerifyOptions,
) -> Agreement {
    let actual = actual.iter().map(|outputs| outputs.as_deref());
    agreement_with_reference(examples, reference, actual, options)
}

/// Records each example's actual outputs (`None`: the run failed) against the reference.
fn agreement_with_reference<Outputs: std::ops::Deref<Target = [f64]>>(
    examples: &Examples,
    reference: &Reference,
    actual: impl Iterator<Item = Option<Outputs>>,
    options: &VerifyOptions,
) -> Agreement {
    let mut agreement = Agreement::new(examples.exhaustive);
    for ((example, expected), actual) in
        examples.examples.iter().zip(&reference.outputs).zip(actual)
    {
        agreement.record(
            example,
            expected,
            &reference.exact,
            actual.as_deref(),
            options.rel_tol,
        );
    }
    agreement
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerates_small_domains_and_samples_large_ones() {
        let bit = Range::Integers { lo: 0, hi: 1 };
        let small = draw_examples(&[bit; 3], &VerifyOptions::default());
        assert!(small.exhaustive);
        assert_eq!(small.examples.len(), 8);
        let mut sorted = small.examples.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        sorted.dedup();
        assert_eq!(sorted.len(), 8, "every combination exactly once");

        let wide = Range::Integers { lo: 0, hi: 99 };
        let options = VerifyOptions {
            samples: 50,
            ..VerifyOptions::default()
        };
        let big = draw_examples(&[wide; 10], &options);
        assert!(!big.exhaustive);
        assert_eq!(big.examples.len(), 50);
        assert_eq!(big, draw_examples(&[wide; 10], &options), "seeded");
        assert!(big
            .examples
            .iter()
            .flatten()
            .all(|&v| (0.0..=99.0).contains(&v)));
    }

    #[test]
    fn agreement_uses_tolerance_for_reals_and_exactness_for_integers() {
        let mut a = Agreement::new(false);
        a.record(&[0.0], &[100.0], &[false], Some(&[100.005]), 1e-4);
        a.record(&[1.0], &[100.0], &[false], Some(&[100.05]), 1e-4);
        a.record(&[2.0], &[3.0], &[true], Some(&[3.0]), 1e-4);
        a.record(&[3.0], &[3.0], &[true], Some(&[3.000001]), 1e-4);
        a.record(&[4.0], &[3.0], &[true], None, 1e-4);
        assert_eq!(a.checked, 5);
        assert_eq!(a.agreeing, 2);
        assert_eq!(a.agreeing_after_rounding, 4);
        assert_eq!(a.failures, 1);
        assert_eq!(a.first_mismatch.as_ref().unwrap().input, vec![1.0]);
        assert!(!a.is_exact());
        assert!((a.max_abs_error - 0.05).abs() < 1e-9);
    }
}
