//! Tracing: runs a sequence network's cell over example sequences and records every hidden state
//! it passes through, with the step's input and output.
//!
//! The trace is what discretisation and regression see of the network: the initial state, and for
//! every step of every traced sequence the state before, the integer input, the state after and the
//! output. States are the cell's state tensors flattened into one vector (stacked layers and LSTM
//! cell states side by side). The traced sequences are the whole domain of sequences when it is
//! small, else a seeded sample ([`draw_sequences`]).

use crate::network::interp::{run_graph, InterpError};
use crate::network::{SequenceModel, Tensor, TimeDirection};
use crate::verify::domain::Range;
use crate::verify::{draw_examples, flatten, make_tensor, VerifyOptions};

use super::LiftOptions;

/// One step of one traced sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceStep {
    /// Index into [`Trace::states`] of the state before the step.
    pub before: usize,
    /// Index into [`Trace::states`] of the state after the step.
    pub after: usize,
    /// The step's input features (integers).
    pub input: Vec<i64>,
    /// The step's output features, as the network computes them.
    pub output: Vec<f64>,
    /// Position of the step in its sequence, in the cell's running order (0 = first step run).
    pub position: usize,
}

/// Every state a cell passed through on the traced sequences.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// `states[0]` is the initial state; every step appends its state after.
    pub states: Vec<Vec<f64>>,
    pub steps: Vec<TraceStep>,
    pub input_dim: usize,
    pub output_dim: usize,
}

impl Trace {
    /// Number of features in a state vector.
    pub fn state_dim(&self) -> usize {
        self.states.first().map_or(0, Vec::len)
    }
}

/// Runs a cell one step at a time from any state.
pub struct CellRunner<'a> {
    model: &'a SequenceModel,
    x_shape: Vec<usize>,
}

impl<'a> CellRunner<'a> {
    /// Errors: the cell has no `x_t` input.
    pub fn new(model: &'a SequenceModel) -> Result<Self, InterpError> {
        let step_graph = &model.cell.step;
        let x_shape = step_graph
            .inputs
            .first()
            .and_then(|&id| step_graph.values.get(id.0 as usize))
            .map(|v| v.ty.shape.clone())
            .ok_or_else(|| InterpError::new("the cell's step graph has no x_t input"))?;
        Ok(CellRunner { model, x_shape })
    }

    /// One step: the output and the new state tensors.
    pub fn step(
        &self,
        mut states: Vec<Tensor>,
        input: &[i64],
    ) -> Result<(Vec<f64>, Vec<Tensor>), InterpError> {
        let values: Vec<f64> = input.iter().map(|&v| v as f64).collect();
        let x_t = make_tensor(self.model.input_dtype, &self.x_shape, &values);
        let mut step_inputs = Vec::with_capacity(1 + states.len());
        step_inputs.push(x_t);
        step_inputs.append(&mut states);
        let mut outputs = run_graph(&self.model.cell.step, &step_inputs)?;
        if outputs.is_empty() {
            return Err(InterpError::new("the cell's step graph has no outputs"));
        }
        let y = outputs.remove(0);
        Ok((flatten(std::slice::from_ref(&y)).0, outputs))
    }

    /// State tensors shaped like the cell's initial state, holding `flat` (as [`Trace::states`]
    /// stores them).
    pub fn unflatten(&self, flat: &[f64]) -> Vec<Tensor> {
        let mut offset = 0;
        self.model
            .cell
            .init
            .iter()
            .map(|t| {
                let shape = t.shape().to_vec();
                let n: usize = shape.iter().product();
                let slice = flat.get(offset..offset + n).unwrap_or(&[]);
                offset += n;
                let dtype = match t {
                    Tensor::F32(_) => crate::network::DType::F32,
                    Tensor::I64(_) => crate::network::DType::I64,
                    Tensor::Bool(_) => crate::network::DType::Bool,
                };
                if slice.len() == n {
                    make_tensor(dtype, &shape, slice)
                } else {
                    t.clone()
                }
            })
            .collect()
    }
}

/// Runs the cell over each sequence (`T * d` integer features, step-major) and records the trace.
///
/// Errors: the interpreter's, naming the sequence and step.
pub fn trace_sequences(
    model: &SequenceModel,
    sequences: &[Vec<i64>],
) -> Result<Trace, InterpError> {
    let runner = CellRunner::new(model)?;
    let initial = flatten(&model.cell.init).0;
    let mut trace = Trace {
        states: vec![initial],
        steps: Vec::new(),
        input_dim: model.input_dim,
        output_dim: model.output_dim,
    };
    let d = model.input_dim.max(1);
    for (index, sequence) in sequences.iter().enumerate() {
        let length = sequence.len() / d;
        let order: Vec<usize> = match model.cell.direction {
            TimeDirection::Forward => (0..length).collect(),
            TimeDirection::Reverse => (0..length).rev().collect(),
        };
        let mut states: Vec<Tensor> = model.cell.init.clone();
        let mut before = 0;
        for (position, t) in order.into_iter().enumerate() {
            let input = &sequence[t * d..(t + 1) * d];
            let (output, next) = runner.step(states, input).map_err(|e| InterpError {
                message: format!("sequence {index}, step {t}: {}", e.message),
                location: e.location,
            })?;
            states = next;
            trace.states.push(flatten(&states).0);
            let after = trace.states.len() - 1;
            trace.steps.push(TraceStep {
                before,
                after,
                input: input.to_vec(),
                output,
                position,
            });
            before = after;
        }
    }
    Ok(trace)
}

/// The traced sequences: the whole domain of sequences when it is small, else a seeded sample.
pub fn draw_sequences(
    model: &SequenceModel,
    ranges: &[Range],
    options: &LiftOptions,
) -> Vec<Vec<i64>> {
    let per_step: Vec<Range> = (0..model.length)
        .flat_map(|_| ranges.iter().cloned())
        .collect();
    let count = options
        .sequences
        .min(options.max_trace_steps / model.length.max(1))
        .max(1);
    let verify_options = VerifyOptions {
        samples: count,
        seed: options.seed,
        exhaustive_limit: count as u128,
        ..VerifyOptions::default()
    };
    draw_examples(&per_step, &verify_options)
        .examples
        .into_iter()
        .map(|e| e.into_iter().map(|v| v as i64).collect())
        .collect()
}
