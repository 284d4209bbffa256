//! Checks a [`Table`] once and prepares it for the search: distinct rows, the constants taken
//! from the data, the first sample and the exact check against every row.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::{Formula, Reason, Table};
use crate::program::Type;
use crate::rng::SplitMix64;

/// The seed of the sample's random rows: fixed, so the same table gives the same formula.
const SAMPLE_SEED: u64 = 0x6E6E_3270_795F_7265;

/// A checked table reduced to its distinct rows.
#[derive(Debug)]
pub(super) struct Data {
    /// Number of columns.
    pub width: usize,
    /// Type of each column (`Int` or `Bool`).
    pub column_types: Vec<Type>,
    /// The distinct rows, row-major, in lexicographic order.
    rows: Vec<i64>,
    /// The target of each distinct row.
    pub target: Vec<i64>,
    pub target_ty: Type,
    /// Whether column `i` is nonzero on every row, which makes it a safe divisor.
    pub nonzero: Vec<bool>,
}

impl Data {
    /// Validates `table` and collects its distinct rows.
    ///
    /// # Errors
    /// [`Reason::InvalidTable`] when a column or the target is not `Int` or `Bool`, lengths
    /// differ, or a `Bool` column or target holds a value other than 0 or 1;
    /// [`Reason::NotAFunction`] when two equal rows have different targets: `second` is the
    /// first row in table order that contradicts an earlier row, `first` the earliest row equal
    /// to it.
    pub fn new(table: &Table) -> Result<Data, Reason> {
        let rows = table.target.len();
        check_values("the target", table.target_ty, &table.target)?;
        for (i, column) in table.columns.iter().enumerate() {
            if column.values.len() != rows {
                return Err(invalid(format!(
                    "column {i} (`{}`) has {} values, the target has {rows}",
                    column.name,
                    column.values.len()
                )));
            }
            check_values(
                &format!("column {i} (`{}`)", column.name),
                column.ty,
                &column.values,
            )?;
        }
        let width = table.columns.len();
        let mut all = Vec::with_capacity(rows * width);
        for r in 0..rows {
            all.extend(table.columns.iter().map(|c| c.values[r]));
        }
        let row = |r: usize| &all[r * width..(r + 1) * width];
        // Each distinct row, keyed to the first table row holding it; only looked up, the
        // distinct rows are sorted below.
        let mut groups: HashMap<&[i64], usize, BuildHasherDefault<FxHasher>> = HashMap::default();
        for r in 0..rows {
            match groups.entry(row(r)) {
                Entry::Occupied(e) => {
                    let first = *e.get();
                    if table.target[first] != table.target[r] {
                        return Err(Reason::NotAFunction { first, second: r });
                    }
                }
                Entry::Vacant(e) => {
                    e.insert(r);
                }
            }
        }
        let mut firsts: Vec<usize> = groups.into_values().collect();
        firsts.sort_unstable_by(|&a, &b| row(a).cmp(row(b)));
        let mut data = Data {
            width,
            column_types: table.columns.iter().map(|c| c.ty).collect(),
            rows: Vec::with_capacity(firsts.len() * width),
            target: Vec::with_capacity(firsts.len()),
            target_ty: table.target_ty,
            nonzero: vec![true; width],
        };
        for &r in &firsts {
            data.rows.extend_from_slice(row(r));
            data.target.push(table.target[r]);
        }
        for (c, nonzero) in data.nonzero.iter_mut().enumerate() {
            *nonzero = table.columns[c].values.iter().all(|&v| v != 0);
        }
        Ok(data)
    }

    /// Number of distinct rows.
    pub fn len(&self) -> usize {
        self.target.len()
    }

    /// Distinct row `r`.
    pub fn row(&self, r: usize) -> &[i64] {
        &self.rows[r * self.width..(r + 1) * self.width]
    }

    /// The constant formula when every row has the same target (or there is no row).
    pub fn constant_target(&self) -> Option<Formula> {
        let first = self.target.first().copied().unwrap_or(0);
        if self.target.iter().any(|&t| t != first) {
            return None;
        }
        Some(match self.target_ty {
            Type::Bool => Formula::Bool(first != 0),
            Type::Int | Type::Float => Formula::Int(first),
        })
    }

    /// The integer constants of the grammar, at most `cap`, ordered by magnitude then sign.
    /// Candidates in order of priority: -1, 0, 1, 2; the minimum, maximum and range size
    /// (`max - min + 1`) of each column and of the target; the distinct target values by
    /// magnitude. The first `cap` distinct ones are kept.
    pub fn constants(&self, cap: usize) -> Vec<i64> {
        let mut candidates = vec![-1, 0, 1, 2];
        let mut ranges = |values: &mut dyn Iterator<Item = i64>| {
            let (lo, hi) = values.fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
            if lo <= hi {
                candidates.extend([lo, hi]);
                if let Some(size) = hi.checked_sub(lo).and_then(|d| d.checked_add(1)) {
                    candidates.push(size);
                }
            }
        };
        for c in 0..self.width {
            ranges(&mut (0..self.len()).map(|r| self.row(r)[c]));
        }
        ranges(&mut self.target.iter().copied());
        let mut targets = self.target.clone();
        targets.sort_unstable_by_key(|&v| (v.unsigned_abs(), v));
        targets.dedup();
        candidates.extend(targets);
        // Column values by magnitude, the columns interleaved: thresholds and keys (`x > 3`).
        let mut columns: Vec<Vec<i64>> = (0..self.width)
            .map(|c| {
                let mut values: Vec<i64> = (0..self.len()).map(|r| self.row(r)[c]).collect();
                values.sort_unstable_by_key(|&v| (v.unsigned_abs(), v));
                values.dedup();
                values
            })
            .collect();
        let longest = columns.iter().map(Vec::len).max().unwrap_or(0);
        for k in 0..longest.min(cap) {
            for values in columns.iter_mut() {
                if let Some(&v) = values.get(k) {
                    candidates.push(v);
                }
            }
        }
        let mut kept: Vec<i64> = Vec::new();
        for v in candidates {
            if kept.len() >= cap {
                break;
            }
            if !kept.contains(&v) {
                kept.push(v);
            }
        }
        kept.sort_unstable_by_key(|&v| (v.unsigned_abs(), v));
        kept
    }

    /// The first sample: every distinct row when there are at most `size`; otherwise, for each
    /// column and the target, the first row holding its minimum and its maximum, then seeded
    /// random rows up to `size`. Sorted.
    pub fn initial_sample(&self, size: usize) -> Vec<usize> {
        let n = self.len();
        if n <= size {
            return (0..n).collect();
        }
        let mut chosen = vec![false; n];
        let mut sample = Vec::with_capacity(size);
        let mut take = |r: usize, sample: &mut Vec<usize>| {
            if !chosen[r] && sample.len() < size {
                chosen[r] = true;
                sample.push(r);
            }
        };
        let extremes = |key: &dyn Fn(usize) -> i64| {
            let min = (0..n).min_by_key(|&r| (key(r), r));
            let max = (0..n).max_by_key(|&r| (key(r), std::cmp::Reverse(r)));
            [min, max]
        };
        for c in 0..self.width {
            for r in extremes(&|r| self.row(r)[c]).into_iter().flatten() {
                take(r, &mut sample);
            }
        }
        for r in extremes(&|r| self.target[r]).into_iter().flatten() {
            take(r, &mut sample);
        }
        let mut rng = SplitMix64::new(SAMPLE_SEED);
        let last = i64::try_from(n - 1).unwrap_or(i64::MAX);
        // Random draws first; a bounded number of them, then the rest in order, so the loop
        // always ends.
        for _ in 0..size.saturating_mul(8) {
            if sample.len() >= size {
                break;
            }
            let r = usize::try_from(rng.int_in(0, last)).unwrap_or(0);
            take(r, &mut sample);
        }
        for r in 0..n {
            take(r, &mut sample);
        }
        sample.sort_unstable();
        sample
    }

    /// The distinct rows where `formula` does not give the target (or fails), at most `limit`
    /// of them, evenly spread over the failing rows. Empty when the formula fits every row.
    pub fn counterexamples(&self, formula: &Formula, limit: usize) -> Vec<usize> {
        let failing: Vec<usize> = (0..self.len())
            .filter(|&r| formula.eval(self.row(r)) != Some(self.target[r]))
            .collect();
        if failing.len() <= limit {
            return failing;
        }
        let step = failing.len() / limit.max(1);
        failing
            .into_iter()
            .step_by(step.max(1))
            .take(limit)
            .collect()
    }
}

/// FxHash (rustc's hasher): fast, and good enough for rows of small integers and for keys that
/// are already hashes.
#[derive(Default)]
pub(super) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7C_C1_B7_27_22_0A_95);
    }
}

fn invalid(message: String) -> Reason {
    Reason::InvalidTable { message }
}

fn check_values(what: &str, ty: Type, values: &[i64]) -> Result<(), Reason> {
    match ty {
        Type::Int => Ok(()),
        Type::Bool => match values.iter().position(|&v| v != 0 && v != 1) {
            Some(r) => Err(invalid(format!(
                "{what} is Bool but holds {} at row {r}",
                values[r]
            ))),
            None => Ok(()),
        },
        Type::Float => Err(invalid(format!(
            "{what} is Float; only Int and Bool are supported"
        ))),
    }
}
