//! Symbolic regression: the smallest formula that reproduces a table exactly.
//!
//! A [`Table`] holds, for every observed row of integer (or Boolean) columns, one integer (or
//! Boolean) target. [`regress`] returns a [`Formula`] over the columns with
//! `formula.eval(row) == Some(target)` on **every** row, of the smallest size in the grammar
//! below, or [`Outcome::NotFound`] with the [`Reason`].
//!
//! # Grammar
//! Columns (`Int` or `Bool`) and integer constants; integer `+ - *`, `//` and `%` (Python floor
//! semantics) whose divisor is a constant other than -1, 0, 1 or a column that is nonzero on
//! every row; unary `-`, `abs`, `min`, `max`; comparisons `< <= == !=` (written `> >=` when the
//! constant would be on the left) giving `Bool`; `and`, `or`, `xor`, `not` on `Bool`; `int(b)`
//! of a `Bool` wherever an `Int` is expected; `then if cond else otherwise` at the root only.
//! Every node counts 1 towards the size, except `int(b)`, a conversion, which counts 0.
//! Constants never combine with constants: the constants are exactly those taken from the data.
//!
//! # Constants taken from the data
//! In order of priority: -1, 0, 1, 2; the minimum, the maximum and the range size
//! (`max - min + 1`) of each column and of the target; the target's distinct values by
//! increasing magnitude; the columns' distinct values by increasing magnitude (interleaved
//! across columns: thresholds such as `x > 3`). The first [`Options::max_constants`] distinct
//! ones are kept.
//!
//! # Algorithm
//! 1. Validate the table and reduce it to its distinct rows; two equal rows with different
//!    targets make the table not a function ([`Reason::NotAFunction`]). A constant target is
//!    answered at once.
//! 2. Bottom-up enumeration by size on a sample of the distinct rows (the rows holding each
//!    column's and the target's extremes, then seeded random rows): each candidate is evaluated
//!    on the sample with checked arithmetic (overflow or division by zero discards it), and
//!    kept only if no smaller or earlier formula of its type has the same values on the sample
//!    (observational equivalence). At each size, before the enumeration proper, root sums and
//!    differences are found by looking up the operand they need (`T - a`), and root
//!    conditionals by target (for each condition, the first formula that agrees with the
//!    target where it holds, and one where it does not): both cost one pass over the bank
//!    instead of one per pair.
//! 3. The first candidate equal to the target on the sample is checked on every distinct row.
//!    If it fails, some failing rows join the sample and the enumeration restarts (CEGIS);
//!    otherwise it is the answer. Because each class of values on the sample keeps its
//!    smallest member, no formula of the grammar smaller than the answer fits the table.
//! 4. When the evaluation budget runs out, root sums, differences and conditionals up to
//!    [`Options::max_size`] are still sought among the formulas enumerated so far, with
//!    [`Options::salvage_evaluations`] more evaluations; such an answer fits every row but may
//!    not be the smallest.
//!
//! Limits are reported, not raised: [`Options::max_size`], [`Options::max_bank`] (memory:
//! entries times sample rows times 8 bytes; when full, the search goes on with the formulas it
//! holds and its answer may not be the smallest), [`Options::max_evaluations`] (time) and
//! [`Options::max_sample_rows`].
//!
//! **Invariant:** `Found(f)` implies `f.eval(row) == Some(target)` on every row of the table.
//! **Invariant:** the same table and options give the same formula.

mod enumerate;
mod formula;
mod prepare;

#[cfg(test)]
mod tests;

pub use formula::{BinOp, Formula, UnOp};

use crate::program::Type;
use prepare::Data;

/// One column of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// A name for reports (never trusted, never printed as code).
    pub name: String,
    /// `Int` or `Bool` (values 0 and 1).
    pub ty: Type,
    /// One value per row.
    pub values: Vec<i64>,
}

/// Observed rows and their targets: row `r` is `columns[i].values[r]` for each `i`, its target
/// `target[r]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub target: Vec<i64>,
    /// `Int` or `Bool` (values 0 and 1); the type of the formula found.
    pub target_ty: Type,
}

/// Limits of the search. The defaults answer typical tables (1-4 columns, formulas up to size
/// 7) in tens of milliseconds and bound a fruitless search to about a second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Largest formula size tried.
    pub max_size: usize,
    /// Most formulas kept in the bank (per enumeration pass).
    pub max_bank: usize,
    /// Rows in the first sample.
    pub sample_rows: usize,
    /// Most rows the sample may grow to with counterexamples.
    pub max_sample_rows: usize,
    /// Most failing rows added to the sample per failed check.
    pub counterexamples: usize,
    /// Most integer constants (see the module doc for which).
    pub max_constants: usize,
    /// Most candidate formulas evaluated on the sample, over all passes.
    pub max_evaluations: u64,
    /// Evaluations granted, once `max_evaluations` is spent, to look for a root sum,
    /// difference or conditional among the formulas already enumerated (see the module doc).
    pub salvage_evaluations: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_size: 9,
            max_bank: 60_000,
            sample_rows: 64,
            max_sample_rows: 256,
            counterexamples: 4,
            max_constants: 16,
            max_evaluations: 4_000_000,
            salvage_evaluations: 2_000_000,
        }
    }
}

/// Why [`regress`] found no formula.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// The table is malformed (lengths, types or Boolean values).
    #[error("invalid table: {message}")]
    InvalidTable { message: String },
    /// Rows `first` and `second` (table indices) are equal but have different targets.
    #[error("not a function: rows {first} and {second} are equal but have different targets")]
    NotAFunction { first: usize, second: usize },
    /// Every formula up to `max_size` was tried (up to equivalence on the sample).
    #[error("no formula of size at most {max_size} fits")]
    Exhausted { max_size: usize },
    /// The evaluation budget ran out.
    #[error("budget of {evaluations} candidate evaluations spent")]
    Budget { evaluations: u64 },
    /// The bank filled up while enumerating formulas of size `size`.
    #[error("bank full ({entries} formulas) at size {size}")]
    BankFull { entries: usize, size: usize },
    /// The sample reached `rows` rows and still a candidate failed on the table.
    #[error("sample grew to {rows} rows without a formula that fits")]
    SampleFull { rows: usize },
}

/// What [`regress`] returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A smallest formula that gives the target on every row.
    Found(Formula),
    /// No formula within the limits; `reason` says which limit, or why the table has none.
    NotFound { reason: Reason },
}

/// Finds a smallest formula that reproduces `table` exactly (see the module doc).
///
/// An empty table is fitted by the constant 0 (or `False`). Never panics; every way to fail
/// is an [`Outcome::NotFound`].
pub fn regress(table: &Table, options: &Options) -> Outcome {
    let data = match Data::new(table) {
        Ok(data) => data,
        Err(reason) => return Outcome::NotFound { reason },
    };
    if let Some(constant) = data.constant_target() {
        return Outcome::Found(constant);
    }
    let constants = data.constants(options.max_constants);
    let mut sample = data.initial_sample(options.sample_rows.max(1));
    let mut evaluations = 0u64;
    loop {
        let end = enumerate::search(
            &data,
            &sample,
            &constants,
            options,
            &mut evaluations,
            &mut |formula| data.counterexamples(formula, options.counterexamples.max(1)),
        );
        match end {
            enumerate::PassEnd::Found(formula) => return Outcome::Found(formula),
            enumerate::PassEnd::Stop(reason) => return Outcome::NotFound { reason },
            enumerate::PassEnd::Retry(rows) => {
                if sample.len() >= options.max_sample_rows {
                    return Outcome::NotFound {
                        reason: Reason::SampleFull { rows: sample.len() },
                    };
                }
                sample.extend(rows);
                sample.sort_unstable();
                sample.dedup();
            }
        }
    }
}
