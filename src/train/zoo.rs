//! The zoo: recurrent networks trained the way PyTorch users train them, the instrument that
//! `nn2py bench zoo` scores the converter on.
//!
//! Each [`ZooEntry`] names a task, a cell (`rnn`, `gru`, `lstm`), a width and a head. Training
//! ([`train_entry`], with the `burn` feature) is what a user does: PyTorch's initialisation
//! (every weight and bias uniform in `±1/sqrt(hidden)`), Adam on fresh batches of the task with
//! the learning rate halved every [`HALVE_EVERY`] steps, the gradient clipped to norm 1, no regulariser, no pruning, no rounding of weights, no search
//! over sizes. Every [`CHECK_EVERY`] steps the network is scored on a check set; once it is
//! exact there, it must also be exact on [`FINAL_CHECK_SEQUENCES`] fresh sequences, else
//! training goes on, up to the entry's step budget. The same entry gives the same network on
//! every machine.

use serde::{Deserialize, Serialize};

use crate::export::{Affine, Cell, Head, RecurrentNet};
use crate::rng::SplitMix64;
use crate::tasks::{self, Task, TaskError};
use crate::train::{data_seed, DataPurpose};

/// Steps between two checks.
pub const CHECK_EVERY: usize = 50;
/// Sequences of the check set scored during training.
pub const CHECK_SEQUENCES: usize = 2_000;
/// Fresh sequences a network must be exact on to end training (and to enter the zoo).
pub const FINAL_CHECK_SEQUENCES: usize = 10_000;
/// Sequences per Adam step.
pub const BATCH: usize = 128;

/// One network of the zoo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZooEntry {
    /// The task's name (one of the 62, or of [`tasks::zoo`]).
    pub task: &'static str,
    pub cell: Cell,
    pub width: usize,
    pub head: Head,
    pub seed: u64,
    pub learning_rate: f32,
    /// Adam steps at most.
    pub max_steps: usize,
}

impl ZooEntry {
    /// The entry's file stem: task, cell and width (`Tomita_3-gru32`).
    pub fn name(&self) -> String {
        format!("{}-{}{}", self.task, self.cell.name(), self.width)
    }

    /// The entry's task. Errors: a name in no task table.
    pub fn task(&self) -> Result<&'static Task, String> {
        tasks::any_by_name(self.task).ok_or_else(|| format!("no task is named {}", self.task))
    }
}

/// The zoo, in order: the seven Tomita grammars, bracket languages, counters, windows, a
/// running maximum, a comparator, and seven of the 62 MIPS tasks trained this way.
pub fn entries() -> Vec<ZooEntry> {
    use Cell::{Gru, Lstm, Rnn};
    use Head::{Classes, Linear, Sigmoid};
    // Task, cell, width, head, most Adam steps.
    let rows: [(&'static str, Cell, usize, Head, usize); 25] = [
        ("Tomita_1", Gru, 16, Sigmoid, 6_000),
        ("Tomita_2", Lstm, 16, Sigmoid, 6_000),
        ("Tomita_3", Gru, 32, Sigmoid, 6_000),
        ("Tomita_4", Lstm, 32, Sigmoid, 6_000),
        ("Tomita_5", Rnn, 32, Sigmoid, 6_000),
        ("Tomita_6", Gru, 16, Sigmoid, 6_000),
        ("Tomita_7", Lstm, 16, Sigmoid, 6_000),
        ("Balanced_Parentheses", Gru, 32, Sigmoid, 6_000),
        ("Dyck_2", Lstm, 32, Sigmoid, 30_000),
        ("Count_Ones", Lstm, 16, Linear, 6_000),
        ("Count_Ones_Mod_3", Gru, 16, Classes(3), 6_000),
        ("Count_Ones_Mod_5", Gru, 32, Classes(5), 6_000),
        ("Count_Ones_Mod_7", Lstm, 32, Classes(7), 6_000),
        ("Parity", Rnn, 16, Sigmoid, 6_000),
        ("Window_Sum_3", Gru, 16, Linear, 6_000),
        ("Window_Xor_3", Rnn, 32, Sigmoid, 6_000),
        ("Running_Max", Lstm, 16, Classes(10), 6_000),
        ("More_Ones_Than_Zeros", Gru, 16, Sigmoid, 6_000),
        ("Add_Mod_3", Gru, 16, Classes(3), 6_000),
        ("Bitwise_Xor", Rnn, 16, Sigmoid, 6_000),
        ("Bit_Shift_Right", Lstm, 16, Sigmoid, 6_000),
        ("Div_3", Gru, 16, Sigmoid, 6_000),
        ("Binary_Addition", Lstm, 32, Sigmoid, 6_000),
        ("Min_Seen", Gru, 32, Classes(10), 6_000),
        ("Majority_0_2", Lstm, 64, Classes(3), 6_000),
    ];
    rows.into_iter()
        .map(|(task, cell, width, head, max_steps)| ZooEntry {
            task,
            cell,
            width,
            head,
            seed: 1,
            learning_rate: 0.01,
            max_steps,
        })
        .collect()
}

/// The entry whose [`ZooEntry::name`] or task is `name`.
pub fn entry_by_name(name: &str) -> Option<ZooEntry> {
    entries()
        .into_iter()
        .find(|e| e.name() == name || e.task == name)
}

/// Steps after which the learning rate halves (PyTorch's `StepLR(step_size, gamma = 0.5)`).
pub const HALVE_EVERY: usize = 5_000;

/// The learning rate of step `step` (counted from 0).
pub fn learning_rate_at(entry: &ZooEntry, step: usize) -> f32 {
    let halvings = (step / HALVE_EVERY).min(30) as i32;
    entry.learning_rate * 0.5f32.powi(halvings)
}

/// How a network did on a set of sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZooCheck {
    pub sequences: usize,
    /// Sequences on which every step's output gives the label.
    pub exact_sequences: usize,
    pub length: usize,
    pub seed: u64,
}

impl ZooCheck {
    pub fn is_exact(&self) -> bool {
        self.sequences > 0 && self.exact_sequences == self.sequences
    }
}

/// What `models/zoo/<name>.json` records about a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZooRecord {
    pub name: String,
    pub task: String,
    pub cell: Cell,
    pub width: usize,
    pub head: Head,
    /// The input domain as `--domain` takes it.
    pub domain: String,
    pub length: usize,
    pub parameters: usize,
    pub seed: u64,
    pub learning_rate: f32,
    pub batch: usize,
    /// Adam steps allowed.
    pub max_steps: usize,
    /// Adam steps taken.
    pub steps: usize,
    pub final_loss: f64,
    /// Exactness on fresh sequences at the training length, measured when training ended.
    pub check: ZooCheck,
    pub training_seconds: f64,
    pub nn2py_version: String,
}

impl ZooRecord {
    /// The record as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        format!("{text}\n")
    }
}

/// A fresh network of `entry`'s shape for `task`, initialised as PyTorch initialises
/// `nn.RNN`/`nn.GRU`/`nn.LSTM` and `nn.Linear` (uniform in `±1/sqrt(fan_in)`, here the width).
pub fn initial_network(entry: &ZooEntry, task: &Task) -> RecurrentNet {
    let mut rng = SplitMix64::new(entry.seed);
    let bound = 1.0 / (entry.width as f64).sqrt();
    let mut draw = |count: usize| -> Vec<f32> {
        (0..count)
            .map(|_| rng.real_in(-bound, bound) as f32)
            .collect()
    };
    let rows = entry.cell.gates() * entry.width;
    let outputs = match entry.head {
        Head::Classes(k) => k,
        Head::Linear | Head::Sigmoid => task.output_dim,
    };
    let w = draw(rows * task.input_dim);
    let r = draw(rows * entry.width);
    let wb = draw(rows);
    let rb = draw(rows);
    let weight = draw(outputs * entry.width);
    let bias = draw(outputs);
    RecurrentNet {
        cell: entry.cell,
        input_dim: task.input_dim,
        hidden: entry.width,
        w,
        r,
        wb,
        rb,
        readout: Affine {
            weight,
            out: outputs,
            inp: entry.width,
            bias,
        },
        head: entry.head,
    }
}

/// Scores `net` on `sequences` sequences of `task` drawn with `seed`: a sequence is exact when
/// every output rounds to its label (the class index, the thresholded probability, the rounded
/// value).
pub fn check(
    net: &RecurrentNet,
    task: &Task,
    sequences: usize,
    length: usize,
    seed: u64,
) -> Result<ZooCheck, String> {
    let data = task
        .generate(sequences, length, seed)
        .map_err(|e: TaskError| e.to_string())?;
    let mut exact = 0;
    for i in 0..data.count {
        let (Some(inputs), Some(labels)) = (data.sequence_inputs(i), data.sequence_outputs(i))
        else {
            return Err(format!("the data set has no sequence {i}"));
        };
        let steps: Vec<Vec<f32>> = inputs
            .chunks(task.input_dim)
            .map(|step| step.iter().map(|&v| v as f32).collect())
            .collect();
        let outputs: Vec<f32> = net
            .run(&steps)
            .map_err(|e| e.to_string())?
            .into_iter()
            .flatten()
            .collect();
        if outputs.len() == labels.len()
            && outputs
                .iter()
                .zip(labels)
                .all(|(&y, &label)| f64::from(y).round() == label as f64)
        {
            exact += 1;
        }
    }
    Ok(ZooCheck {
        sequences,
        exact_sequences: exact,
        length,
        seed,
    })
}

/// The seed of the data `entry` draws for `purpose` (training batches: `Train`; the check set:
/// `HeldOut`; the final check: `Check`), never the benchmark's held-out seed.
pub fn zoo_data_seed(entry: &ZooEntry, purpose: DataPurpose) -> u64 {
    let index = entries()
        .iter()
        .position(|e| e.name() == entry.name())
        .unwrap_or(usize::MAX);
    data_seed(entry.seed, index, purpose)
}

/// A trained zoo network and its record.
#[derive(Debug, Clone)]
pub struct ZooTrained {
    pub net: RecurrentNet,
    pub record: ZooRecord,
}

/// Progress of [`train_entry`].
#[derive(Debug, Clone, Copy)]
pub struct ZooProgress {
    pub step: usize,
    pub loss: f64,
    /// Exact sequences of the check set at this step.
    pub check_exact: usize,
}

/// Trains `entry` as described in the module documentation. The record says whether the
/// network is exact; an inexact one is still returned.
///
/// Errors: an unknown task, a label the head cannot hold, or the autodiff engine failing.
#[cfg(feature = "burn")]
pub fn train_entry(
    entry: &ZooEntry,
    progress: &mut dyn FnMut(ZooProgress),
) -> Result<ZooTrained, String> {
    use crate::train::adamw::{AdamW, AdamWConfig};
    use crate::train::batch::Batch;
    use crate::train::cells::CellEngine;

    let started = std::time::Instant::now();
    let task = entry.task()?;
    let length = task.length;
    let mut net = initial_network(entry, task);
    let engine = CellEngine::default();
    let mut adam = AdamW::with_len(
        net.parameter_count(),
        AdamWConfig {
            weight_decay: 0.0,
            ..AdamWConfig::default()
        },
    );
    let mut batch_rng = SplitMix64::new(zoo_data_seed(entry, DataPurpose::Train));
    let mut flat = Vec::with_capacity(net.parameter_count());
    let mut flat_grads = Vec::with_capacity(net.parameter_count());
    let (mut steps, mut loss) = (0, f64::NAN);
    let mut final_check = None;
    while steps < entry.max_steps {
        let data = task
            .generate(BATCH, length, batch_rng.next_u64())
            .map_err(|e| e.to_string())?;
        let indices: Vec<usize> = (0..BATCH).collect();
        let batch = Batch::from_dataset(&data, &indices);
        let (value, grads) = engine
            .loss_and_gradients(&net, &batch)
            .map_err(|e| format!("autodiff: {e}"))?;
        loss = value;
        flat.clear();
        flat_grads.clear();
        for (param, grad) in net.tensors().iter().zip(&grads) {
            flat.extend_from_slice(param);
            flat_grads.extend_from_slice(grad);
        }
        let norm = flat_grads
            .iter()
            .map(|&g| f64::from(g) * f64::from(g))
            .sum::<f64>()
            .sqrt();
        if norm > 1.0 {
            let scale = (1.0 / norm) as f32;
            flat_grads.iter_mut().for_each(|g| *g *= scale);
        }
        adam.step_flat(&mut flat, &flat_grads, learning_rate_at(entry, steps));
        let mut at = 0;
        for param in net.tensors_mut() {
            let len = param.len();
            param.copy_from_slice(&flat[at..at + len]);
            at += len;
        }
        steps += 1;
        if steps % CHECK_EVERY == 0 || steps == entry.max_steps {
            let checked = check(
                &net,
                task,
                CHECK_SEQUENCES,
                length,
                zoo_data_seed(entry, DataPurpose::HeldOut),
            )?;
            progress(ZooProgress {
                step: steps,
                loss,
                check_exact: checked.exact_sequences,
            });
            if checked.is_exact() {
                let last = check(
                    &net,
                    task,
                    FINAL_CHECK_SEQUENCES,
                    length,
                    zoo_data_seed(entry, DataPurpose::Check),
                )?;
                final_check = Some(last);
                if last.is_exact() {
                    break;
                }
            }
        }
    }
    let check = match final_check {
        Some(last) if last.is_exact() => last,
        _ => check(
            &net,
            task,
            FINAL_CHECK_SEQUENCES,
            length,
            zoo_data_seed(entry, DataPurpose::Check),
        )?,
    };
    let record = ZooRecord {
        name: entry.name(),
        task: task.name.to_string(),
        cell: entry.cell,
        width: entry.width,
        head: entry.head,
        domain: task.domain_text(),
        length,
        parameters: net.parameter_count(),
        seed: entry.seed,
        learning_rate: entry.learning_rate,
        batch: BATCH,
        max_steps: entry.max_steps,
        steps,
        final_loss: loss,
        check,
        training_seconds: started.elapsed().as_secs_f64(),
        nn2py_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    Ok(ZooTrained { net, record })
}
