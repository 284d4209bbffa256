//! The MIPS-62 benchmark tasks: definitions, seeded data generation and ground-truth labels.
//!
//! The 62 tasks of Michaud et al., "Opening the AI black box: program synthesis via mechanistic
//! interpretability" (2024), restated from `shared/reference/mips62.md`. Each [`Task`] maps a
//! sequence of integer input vectors `x_0 .. x_{L-1}` to a sequence of integer output vectors
//! `y_0 .. y_{L-1}`, where `y_t` depends only on `x_0 ..= x_t`.
//!
//! Conventions shared by every task:
//! - Positions are 0-based; a task that looks back reads `x_{t-k} = 0` before the start
//!   (`x_{-1} = 0`), and windows ("the last k") are truncated at the start.
//! - Data is laid out step-major: one sequence of length `L` is `L * input_dim` inputs, feature
//!   `j` of step `t` at index `t * input_dim + j`; outputs likewise with `output_dim`.
//! - [`Task::generate`] draws inputs with the in-module [`SplitMix64`], so a seed fixes the data
//!   on every machine. Every task draws each feature uniformly over its inclusive
//!   [`Task::domain`] range, except `Bit_Palindrome` (see [`Sampling`]). Labels come from the
//!   task's definition, computed for any sequence length.
//!
//! **Invariant:** [`Task`] values exist only in the table behind [`all`] (the struct is
//! `#[non_exhaustive]`), so every family parameter is valid and every domain non-empty.

mod arithmetic;
mod bits;
mod counting;
mod languages;
mod physics;

mod table;
mod zoo_table;

use std::sync::OnceLock;

use crate::diag::{Diagnose, Location};

pub use crate::rng::SplitMix64;

/// Which definition a task follows; the parameter distinguishes the members of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `abs(x_t)`.
    AbsCurrent,
    /// `abs(x_t - x_{t-1})`.
    AbsDiff,
    /// Running sum mod `k`.
    AddMod(i64),
    /// 1 iff the last `k` bits alternate (`0101..` or `1010..`), earlier positions being 0.
    AlternatingLast(usize),
    /// 1 iff the prefix is balanced (0 opens, 1 closes); 0 forever once the depth went negative.
    BalancedParenthesis,
    /// Digit `t` of the sum of two base-`k` numbers given least significant digit first.
    BaseAddition(i64),
    /// Running sum of `a_i * b_i`, mod 2.
    BitDotProdMod2,
    /// 1 iff the prefix reads the same backwards.
    BitPalindrome,
    /// `x_{t-1}`.
    BitShiftRight,
    /// `a AND b`.
    BitwiseAnd,
    /// `1 - x_t`.
    BitwiseNot,
    /// `a OR b`.
    BitwiseOr,
    /// `a XOR b`.
    BitwiseXor,
    /// `x_t`.
    CurrentNumber,
    /// `abs(x_t) - abs(x_{t-1})`.
    DiffAbsValues,
    /// `x_t - x_{t-1}`.
    DiffLast2,
    /// `floor(S_t / 15) - floor(S_{t-1} / 15)` with `S` the running sum and `S_{-1} = 0`.
    Dithering,
    /// Quotient bits of long division by `d` of a binary number given most significant bit first.
    Div(i64),
    /// Number of even values so far.
    EvensCounter,
    /// 1 iff `x_t` is even.
    EvensDetector,
    /// Most frequent value so far, ties to the lower value (inputs in `0..=k`).
    Majority(i64),
    /// Running maximum.
    MaxSeen,
    /// Running minimum.
    MinSeen,
    /// Position under force `x_t`: `v += x_t; p += v`.
    NewtonFreebody,
    /// Position under force `x_t - 1`.
    NewtonGravity,
    /// 2-D position under force `F_t` plus the magnetic term `(-v_y, v_x)`.
    NewtonMagnetic,
    /// Position under force `x_t - p`.
    NewtonSpring,
    /// XOR of all bits so far.
    ParityAll,
    /// `t mod 2`, whatever the input.
    ParityBitsMod2,
    /// XOR of the last `k` bits.
    ParityLast(usize),
    /// Number of zeros so far, mod 2.
    ParityZeros,
    /// 1 iff `x_t` is in `{0, 1, 4, 9, 16}`.
    PerfectSquareDetector,
    /// `x_{t-k}`.
    Prev(usize),
    /// 1 iff `x_t == x_{t-1}`.
    PreviousEqualsCurrent,
    /// Running sum.
    SumAll,
    /// Sum of the last `k` values.
    SumLast(usize),
    /// Tomita grammar `n` (1..=7) on every prefix (see `languages`).
    Tomita(u8),
    /// The two-bracket Dyck language on every prefix (symbols `( ) [ ]` as 0..=3).
    Dyck2,
}

/// How [`Task::generate`] draws the inputs of one sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Every feature of every step uniform over its domain range.
    Uniform,
    /// A palindrome of `min_len..=max_len` steps (capped at the sequence length; skipped when
    /// the sequence is shorter than `min_len`), then uniform steps.
    PalindromePrefix { min_len: usize, max_len: usize },
    /// Bracket words over the symbols `2k` (open kind `k`) and `2k + 1` (close kind `k`), so
    /// that balanced and deeply nested prefixes are common. With brackets open, a step opens one
    /// of a random kind (4 in 8), closes the innermost (3 in 8) or is a random closing bracket
    /// (1 in 8); with none open, it opens one (7 in 8) or is a random closing bracket. Once the
    /// prefix is broken, the rest is uniform.
    Brackets,
}

/// One benchmark task.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Task {
    /// The reference name, e.g. `Add_Mod_3`.
    pub name: &'static str,
    /// The definition the labels follow.
    pub family: Family,
    /// Features per input step (2 for the two-operand tasks, else 1).
    pub input_dim: usize,
    /// Values per output step (2 for `Newton_Magnetic`, else 1).
    pub output_dim: usize,
    /// The benchmark's sequence length (10, or 20 where the reference says so).
    pub length: usize,
    /// Inclusive integer range `(lo, hi)` of each input feature; `domain.len() == input_dim`.
    pub domain: Vec<(i64, i64)>,
    /// How inputs are drawn.
    pub sampling: Sampling,
    /// Percentage of the reference data set used for training (90, or 80 for some families).
    pub train_percent: u32,
    /// Whether MIPS (the anchor) solved the task, per the reference's approximate column.
    pub mips_solved: bool,
}

/// Sequences of one task: `count` sequences of `length` steps, laid out step-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Number of sequences.
    pub count: usize,
    /// Steps per sequence.
    pub length: usize,
    /// Features per input step (the task's `input_dim`).
    pub input_dim: usize,
    /// Values per output step (the task's `output_dim`).
    pub output_dim: usize,
    /// `count * length * input_dim` values.
    pub inputs: Vec<i64>,
    /// `count * length * output_dim` values.
    pub outputs: Vec<i64>,
}

impl Dataset {
    /// The inputs of sequence `index` (`length * input_dim` values), or `None` past the end.
    pub fn sequence_inputs(&self, index: usize) -> Option<&[i64]> {
        let width = self.length.checked_mul(self.input_dim)?;
        let start = index.checked_mul(width)?;
        self.inputs.get(start..start.checked_add(width)?)
    }

    /// The outputs of sequence `index` (`length * output_dim` values), or `None` past the end.
    pub fn sequence_outputs(&self, index: usize) -> Option<&[i64]> {
        let width = self.length.checked_mul(self.output_dim)?;
        let start = index.checked_mul(width)?;
        self.outputs.get(start..start.checked_add(width)?)
    }
}

/// Why a data set or a label could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The requested data set does not fit in memory (or its size overflows `usize`).
    #[error("task {task}: {count} sequences of length {length} are too large to allocate")]
    TooLarge {
        task: &'static str,
        count: usize,
        length: usize,
    },
    /// A sequence whose value count is not a multiple of the task's `input_dim`.
    #[error("task {task}: {len} input values are not whole steps of {input_dim} features")]
    Ragged {
        task: &'static str,
        len: usize,
        input_dim: usize,
    },
    /// An input outside the task's domain.
    #[error(
        "task {task}: input {value} at step {step}, feature {feature} is outside [{lo}, {hi}]"
    )]
    OutOfDomain {
        task: &'static str,
        step: usize,
        feature: usize,
        value: i64,
        lo: i64,
        hi: i64,
    },
    /// The definition's value leaves the 64-bit range (long `Newton_*` sequences grow fast).
    #[error("task {task}: the output at step {step} overflows a 64-bit integer")]
    Overflow { task: &'static str, step: usize },
}

impl Diagnose for TaskError {
    fn location(&self) -> Location {
        Location::Unknown
    }
}

/// The step at which a label computation left the 64-bit range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow {
    pub(crate) step: usize,
}

/// `value`, or an [`Overflow`] at `step` when a checked operation gave `None`.
pub(crate) fn checked(value: Option<i64>, step: usize) -> Result<i64, Overflow> {
    value.ok_or(Overflow { step })
}

/// The running values `s_t = step(s_{t-1}, x_t)` from `s_{-1} = start`, one per input.
fn running(xs: &[i64], start: i64, step: impl Fn(i64, i64) -> i64) -> Vec<i64> {
    xs.iter()
        .scan(start, |state, &x| {
            *state = step(*state, x);
            Some(*state)
        })
        .collect()
}

/// The 62 tasks, in the reference table's order.
pub fn all() -> &'static [Task] {
    static TABLE: OnceLock<Vec<Task>> = OnceLock::new();
    TABLE.get_or_init(table::rows)
}

/// The task with this exact reference name, if any.
pub fn by_name(name: &str) -> Option<&'static Task> {
    all().iter().find(|task| task.name == name)
}

/// The zoo's own tasks (languages, counters, windows), which the zoo trains beside some of the
/// 62: see `models/zoo/README.md`.
pub fn zoo() -> &'static [Task] {
    static TABLE: OnceLock<Vec<Task>> = OnceLock::new();
    TABLE.get_or_init(zoo_table::rows)
}

/// The task of this name among the 62 and the zoo's own, if any.
pub fn any_by_name(name: &str) -> Option<&'static Task> {
    by_name(name).or_else(|| zoo().iter().find(|task| task.name == name))
}

impl Task {
    /// The input domain as `--domain` takes it: one inclusive range per feature
    /// (`"0..=9,0..=9"`).
    pub fn domain_text(&self) -> String {
        self.domain
            .iter()
            .map(|(lo, hi)| format!("{lo}..={hi}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `count` sequences of `length` steps drawn with a [`SplitMix64`] seeded by `seed`, with
    /// their labels. The same arguments give the same data everywhere; sequences are drawn one
    /// after another, so a larger `count` extends a smaller one. The seed is not mixed with the
    /// task, so tasks with the same domain and sampling draw the same inputs from the same seed.
    ///
    /// Errors: [`TaskError::TooLarge`] when the data does not fit in memory,
    /// [`TaskError::Overflow`] when a label leaves the 64-bit range.
    pub fn generate(&self, count: usize, length: usize, seed: u64) -> Result<Dataset, TaskError> {
        let mut rng = SplitMix64::new(seed);
        self.labelled(count, length, |_, out| self.sample(&mut rng, length, out))
    }

    /// `count` sequences of `length` steps, sequence `i`'s inputs appended by `fill(i, inputs)`,
    /// with their labels.
    ///
    /// Errors: [`TaskError::TooLarge`] when the data does not fit in memory,
    /// [`TaskError::Overflow`] when a label leaves the 64-bit range.
    fn labelled(
        &self,
        count: usize,
        length: usize,
        mut fill: impl FnMut(usize, &mut Vec<i64>),
    ) -> Result<Dataset, TaskError> {
        let too_large = TaskError::TooLarge {
            task: self.name,
            count,
            length,
        };
        let steps = count.checked_mul(length).ok_or(too_large.clone())?;
        let input_len = steps.checked_mul(self.input_dim).ok_or(too_large.clone())?;
        let output_len = steps
            .checked_mul(self.output_dim)
            .ok_or(too_large.clone())?;
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        inputs
            .try_reserve_exact(input_len)
            .map_err(|_| too_large.clone())?;
        outputs
            .try_reserve_exact(output_len)
            .map_err(|_| too_large)?;
        for index in 0..count {
            let start = inputs.len();
            fill(index, &mut inputs);
            outputs.extend(self.compute(&inputs[start..])?);
        }
        Ok(Dataset {
            count,
            length,
            input_dim: self.input_dim,
            output_dim: self.output_dim,
            inputs,
            outputs,
        })
    }

    /// Every input sequence of `length` steps over the task's domain, with its labels, when there
    /// are at most `limit` of them (`None` otherwise). Sequences are listed as numerals in the
    /// domain's mixed radix, the first step's first feature varying fastest. Sequences that
    /// [`Task::generate`] would never draw (a `PalindromePrefix` task's non-palindromic starts) are
    /// included: this is the whole domain, not a sample of the task's distribution.
    ///
    /// Errors: [`TaskError::TooLarge`] and [`TaskError::Overflow`], as for [`Task::generate`].
    pub fn enumerate(&self, length: usize, limit: usize) -> Result<Option<Dataset>, TaskError> {
        let sizes: Vec<u128> = self
            .domain
            .iter()
            .map(|&(lo, hi)| (i128::from(hi) - i128::from(lo) + 1).max(0) as u128)
            .collect();
        let mut count: u128 = 1;
        for _ in 0..length {
            for &size in &sizes {
                count = count.saturating_mul(size);
            }
        }
        if count > limit as u128 {
            return Ok(None);
        }
        // `labelled` refuses a width that overflows before any sequence is filled.
        let width = length.saturating_mul(self.input_dim);
        self.labelled(count as usize, length, |index, out| {
            let mut rest = index as u128;
            for slot in 0..width {
                let feature = slot % self.input_dim;
                let size = sizes[feature];
                out.push(self.domain[feature].0 + (rest % size) as i64);
                rest /= size;
            }
        })
        .map(Some)
    }

    /// The outputs of one sequence (`length * output_dim` values) for its inputs (`length *
    /// input_dim` values, step-major), following the task's definition.
    ///
    /// Errors: [`TaskError::Ragged`], [`TaskError::OutOfDomain`] for inputs the task never
    /// sees, [`TaskError::Overflow`].
    pub fn label(&self, inputs: &[i64]) -> Result<Vec<i64>, TaskError> {
        if !inputs.len().is_multiple_of(self.input_dim) {
            return Err(TaskError::Ragged {
                task: self.name,
                len: inputs.len(),
                input_dim: self.input_dim,
            });
        }
        for (index, &value) in inputs.iter().enumerate() {
            let feature = index % self.input_dim;
            let (lo, hi) = self.domain[feature];
            if !(lo..=hi).contains(&value) {
                return Err(TaskError::OutOfDomain {
                    task: self.name,
                    step: index / self.input_dim,
                    feature,
                    value,
                    lo,
                    hi,
                });
            }
        }
        self.compute(inputs)
    }

    /// Appends the inputs of one sequence of `length` steps to `out`.
    fn sample(&self, rng: &mut SplitMix64, length: usize, out: &mut Vec<i64>) {
        let start = out.len();
        let mut uniform_from = 0;
        match self.sampling {
            Sampling::Uniform => {}
            Sampling::PalindromePrefix { min_len, max_len } => {
                if length >= min_len {
                    let cap = max_len.min(length);
                    let len = rng.int_in(min_len as i64, cap as i64) as usize;
                    // The first ceil(len/2) steps are free; the rest mirror them.
                    for _ in 0..len.div_ceil(2) {
                        self.sample_step(rng, out);
                    }
                    for step in (0..len / 2).rev() {
                        let at = start + step * self.input_dim;
                        out.extend_from_within(at..at + self.input_dim);
                    }
                    uniform_from = len;
                }
            }
            Sampling::Brackets => {
                let kinds = (self.domain[0].1 + 1) / 2;
                let mut open = Vec::new();
                while uniform_from < length {
                    let draw = rng.int_in(0, 7);
                    let symbol = match open.last() {
                        None if draw > 0 => 2 * rng.int_in(0, kinds - 1),
                        Some(_) if draw < 4 => 2 * rng.int_in(0, kinds - 1),
                        Some(&kind) if draw < 7 => 2 * kind + 1,
                        _ => 2 * rng.int_in(0, kinds - 1) + 1,
                    };
                    out.push(symbol);
                    uniform_from += 1;
                    if symbol % 2 == 0 {
                        open.push(symbol / 2);
                    } else if open.pop() != Some(symbol / 2) {
                        break;
                    }
                }
            }
        }
        for _ in uniform_from..length {
            self.sample_step(rng, out);
        }
    }

    /// Appends one step drawn uniformly over the domain.
    fn sample_step(&self, rng: &mut SplitMix64, out: &mut Vec<i64>) {
        out.extend(self.domain.iter().map(|&(lo, hi)| rng.int_in(lo, hi)));
    }

    /// Labels a whole-step sequence of in-domain inputs.
    fn compute(&self, inputs: &[i64]) -> Result<Vec<i64>, TaskError> {
        let pairs = || -> Vec<[i64; 2]> { inputs.chunks_exact(2).map(|c| [c[0], c[1]]).collect() };
        let xs = inputs;
        let result = match self.family {
            Family::AbsCurrent => Ok(arithmetic::abs_current(xs)),
            Family::AbsDiff => Ok(arithmetic::abs_diff(xs)),
            Family::AddMod(k) => Ok(arithmetic::add_mod(xs, k)),
            Family::AlternatingLast(k) => Ok(bits::alternating_last(xs, k)),
            Family::BalancedParenthesis => Ok(bits::balanced_parenthesis(xs)),
            Family::BaseAddition(k) => Ok(arithmetic::base_addition(&pairs(), k)),
            Family::BitDotProdMod2 => Ok(bits::dot_prod_mod2(&pairs())),
            Family::BitPalindrome => Ok(bits::palindrome(xs)),
            Family::BitShiftRight => Ok(arithmetic::prev(xs, 1)),
            Family::BitwiseAnd => Ok(bits::bitwise(&pairs(), |a, b| a & b)),
            Family::BitwiseNot => Ok(bits::not(xs)),
            Family::BitwiseOr => Ok(bits::bitwise(&pairs(), |a, b| a | b)),
            Family::BitwiseXor => Ok(bits::bitwise(&pairs(), |a, b| a ^ b)),
            Family::CurrentNumber => Ok(xs.to_vec()),
            Family::DiffAbsValues => Ok(arithmetic::diff_abs_values(xs)),
            Family::DiffLast2 => Ok(arithmetic::diff_last2(xs)),
            Family::Dithering => arithmetic::dithering(xs),
            Family::Div(d) => Ok(arithmetic::div(xs, d)),
            Family::EvensCounter => Ok(counting::evens_counter(xs)),
            Family::EvensDetector => Ok(counting::evens_detector(xs)),
            Family::Majority(_) => Ok(counting::majority(xs)),
            Family::MaxSeen => Ok(counting::max_seen(xs)),
            Family::MinSeen => Ok(counting::min_seen(xs)),
            Family::NewtonFreebody => physics::freebody(xs, 0),
            Family::NewtonGravity => physics::freebody(xs, -1),
            Family::NewtonMagnetic => physics::magnetic(&pairs()),
            Family::NewtonSpring => physics::spring(xs),
            Family::ParityAll => Ok(bits::parity_all(xs)),
            Family::ParityBitsMod2 => Ok(bits::parity_bits_mod2(xs)),
            Family::ParityLast(k) => Ok(bits::parity_last(xs, k)),
            Family::ParityZeros => Ok(bits::parity_zeros(xs)),
            Family::PerfectSquareDetector => Ok(counting::perfect_square(xs)),
            Family::Prev(k) => Ok(arithmetic::prev(xs, k)),
            Family::PreviousEqualsCurrent => Ok(counting::previous_equals_current(xs)),
            Family::SumAll => arithmetic::sum_all(xs),
            Family::SumLast(k) => arithmetic::sum_last(xs, k),
            Family::Tomita(n) => Ok(languages::tomita(xs, n)),
            Family::Dyck2 => Ok(languages::dyck2(xs)),
        };
        result.map_err(|Overflow { step }| TaskError::Overflow {
            task: self.name,
            step,
        })
    }
}
