//! One enumeration pass: formulas bottom-up by size on a fixed sample, one per class of values
//! (observational equivalence), until a candidate gives the target on the sample.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::formula::{binary, unary, BinOp, Formula, UnOp};
use super::prepare::{Data, FxHasher};
use super::{Options, Reason};
use crate::program::Type;
use crate::rng::SplitMix64;

/// How a pass ends.
#[derive(Debug)]
pub(super) enum PassEnd {
    /// A formula that fits every row.
    Found(Formula),
    /// A candidate fitted the sample but not these rows (distinct-row indices): add them to the
    /// sample and search again.
    Retry(Vec<usize>),
    /// A limit was reached or the grammar exhausted.
    Stop(Reason),
}

/// Integer binary operators, in the order they are tried (readable ones first).
const INT_OPS: [BinOp; 11] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Mod,
    BinOp::FloorDiv,
    BinOp::Min,
    BinOp::Max,
    BinOp::Lt,
    BinOp::Le,
    BinOp::Eq,
    BinOp::Ne,
];

/// Boolean connectives, in the order they are tried.
const BOOL_OPS: [BinOp; 3] = [BinOp::And, BinOp::Or, BinOp::Xor];

/// Whether `op(a, b) == op(b, a)`; such operators are enumerated for one operand order only.
fn commutative(op: BinOp) -> bool {
    match op {
        BinOp::Add
        | BinOp::Mul
        | BinOp::Min
        | BinOp::Max
        | BinOp::Eq
        | BinOp::Ne
        | BinOp::And
        | BinOp::Or
        | BinOp::Xor => true,
        BinOp::Sub
        | BinOp::FloorDiv
        | BinOp::Mod
        | BinOp::Lt
        | BinOp::Le
        | BinOp::Gt
        | BinOp::Ge => false,
    }
}

/// A bank entry: how the formula is built from earlier entries.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Column(usize),
    Const(i64),
    Unary(UnOp, u32),
    Binary(BinOp, u32, u32),
    If(u32, u32, u32),
}

/// Runs one pass on `sample` (distinct-row indices). `check` returns the rows where a formula
/// that fits the sample fails (empty when it fits every row). `evaluations` counts candidates
/// across passes, against [`Options::max_evaluations`].
pub(super) fn search(
    data: &Data,
    sample: &[usize],
    constants: &[i64],
    options: &Options,
    evaluations: &mut u64,
    check: &mut dyn FnMut(&Formula) -> Vec<usize>,
) -> PassEnd {
    let target: Vec<i64> = sample.iter().map(|&r| data.target[r]).collect();
    let multipliers = multipliers(sample.len());
    let mut bank = Bank {
        data,
        sample,
        target_hash: hash(&target, &multipliers),
        multipliers,
        target,
        nodes: Vec::new(),
        values: Vec::new(),
        levels: [vec![Vec::new()], vec![Vec::new()]],
        seen: [IdMap::default(), IdMap::default()],
        scratch: vec![0; sample.len()],
        full: false,
        max_bank: options.max_bank,
        evaluations,
        max_evaluations: options.max_evaluations,
        check,
        salvaging: false,
    };
    let mut full_at = None;
    for size in 1..=options.max_size {
        bank.levels[INT].push(Vec::new());
        bank.levels[BOOL].push(Vec::new());
        match bank.level(size, constants) {
            Ok(()) => {}
            Err(PassEnd::Stop(reason @ Reason::Budget { .. })) => {
                return match bank.salvage(options) {
                    Some(formula) => PassEnd::Found(formula),
                    None => PassEnd::Stop(reason),
                };
            }
            Err(end) => return end,
        }
        if bank.full && full_at.is_none() {
            full_at = Some(size);
        }
    }
    PassEnd::Stop(match full_at {
        Some(size) => Reason::BankFull {
            entries: bank.nodes.len(),
            size,
        },
        None => Reason::Exhausted {
            max_size: options.max_size,
        },
    })
}

/// Index of the integer bank in [`Bank::levels`] and [`Bank::seen`].
const INT: usize = 0;
/// Index of the Boolean bank.
const BOOL: usize = 1;

fn bank_of(ty: Type) -> usize {
    match ty {
        Type::Bool => BOOL,
        Type::Int | Type::Float => INT,
    }
}

/// Hash of a value vector, for the equivalence maps: a dot product with random odd
/// multipliers (independent multiplications, so it runs at the machine's multiply throughput),
/// then a final mix.
fn hash(values: &[i64], multipliers: &[u64]) -> u64 {
    let sum = values.iter().zip(multipliers).fold(0u64, |h, (&v, &m)| {
        h.wrapping_add((v as u64).wrapping_mul(m))
    });
    (sum ^ (sum >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9)
}

/// One random odd multiplier per sample row, for [`hash`].
fn multipliers(n: usize) -> Vec<u64> {
    let mut rng = SplitMix64::new(0x005E_ED0F_4A54);
    (0..n).map(|_| rng.next_u64() | 1).collect()
}

/// Vector hash to the entries with that hash; only looked up, never iterated.
type IdMap = HashMap<u64, Vec<u32>, BuildHasherDefault<FxHasher>>;

/// Stops the pass with its end.
type Flow = Result<(), PassEnd>;

struct Bank<'a> {
    data: &'a Data,
    sample: &'a [usize],
    target: Vec<i64>,
    target_hash: u64,
    multipliers: Vec<u64>,
    /// Entries; entry `i`'s values on the sample are `values[i * n..(i + 1) * n]`.
    /// Entries: how each is built, and its size.
    nodes: Vec<(Kind, usize)>,
    values: Vec<i64>,
    /// `levels[bank][size]`: the entries of that type and size, in enumeration order. The
    /// integer bank holds `int(b)` of every Boolean entry `b` whose values are new to it.
    levels: [Vec<Vec<u32>>; 2],
    seen: [IdMap; 2],
    scratch: Vec<i64>,
    full: bool,
    max_bank: usize,
    evaluations: &'a mut u64,
    max_evaluations: u64,
    check: &'a mut dyn FnMut(&Formula) -> Vec<usize>,
    /// Set once the budget ran out: root candidates that fail the table are skipped instead
    /// of restarting the pass.
    salvaging: bool,
}

impl Bank<'_> {
    fn n(&self) -> usize {
        self.sample.len()
    }

    fn vals(&self, id: u32) -> &[i64] {
        let n = self.n();
        let start = id as usize * n;
        &self.values[start..start + n]
    }

    fn kind(&self, id: u32) -> Kind {
        self.nodes[id as usize].0
    }

    fn is_const(&self, id: u32) -> bool {
        matches!(self.kind(id), Kind::Const(_))
    }

    /// Whether entry `id` may be a divisor: nonzero on every row of the table, and not ±1.
    fn safe_divisor(&self, id: u32) -> bool {
        match self.kind(id) {
            Kind::Const(v) => !matches!(v, -1..=1),
            Kind::Column(c) => self.data.nonzero.get(c).copied().unwrap_or(false),
            Kind::Unary(..) | Kind::Binary(..) | Kind::If(..) => false,
        }
    }

    /// Enumerates every formula of `size`.
    fn level(&mut self, size: usize, constants: &[i64]) -> Flow {
        if size == 1 {
            for c in 0..self.data.width {
                let ty = match self.data.column_types[c] {
                    Type::Bool => Type::Bool,
                    Type::Int | Type::Float => Type::Int,
                };
                self.offer(Kind::Column(c), ty, size)?;
            }
            for &v in constants {
                self.offer(Kind::Const(v), Type::Int, size)?;
            }
            return Ok(());
        }
        self.inverted(size)?;
        self.conditionals(size)?;
        self.unaries(size)?;
        for ls in (1..size - 1).rev() {
            let rs = size - 1 - ls;
            for op in INT_OPS {
                self.binaries(op, INT, ls, rs, size)?;
            }
            for op in BOOL_OPS {
                self.binaries(op, BOOL, ls, rs, size)?;
            }
        }
        Ok(())
    }

    /// The root formulas `a + b` and `a - b` (`a ^ b` for a Boolean target) of `size` that
    /// give the target on the sample, found by looking up the values `b` needs (`T - a`,
    /// `a - T`, `T ^ a`) instead of trying every `b`. They are among the candidates the
    /// enumeration of `size` would try, so finding them first keeps the smallest-first order
    /// and skips the most expensive step when the answer has this shape.
    fn inverted(&mut self, size: usize) -> Flow {
        let target_bank = bank_of(self.data.target_ty);
        let mut needed = vec![0; self.n()];
        for ls in (1..size - 1).rev() {
            let rs = size - 1 - ls;
            for i in 0..self.levels[target_bank][ls].len() {
                self.spend()?;
                let a = self.levels[target_bank][ls][i];
                for &(op, inverse) in inverted_ops(target_bank) {
                    if commutative(op) && ls < rs {
                        continue;
                    }
                    let vals = self.vals(a);
                    let ok = needed
                        .iter_mut()
                        .zip(vals)
                        .zip(&self.target)
                        .all(|((o, &a), &t)| inverse(a, t).map(|b| *o = b).is_some());
                    if !ok {
                        continue;
                    }
                    let Some(b) = self.lookup(target_bank, &needed) else {
                        continue;
                    };
                    if self.nodes[b as usize].1 > rs || (self.is_const(a) && self.is_const(b)) {
                        continue;
                    }
                    self.root_candidate(self.formula_of(Kind::Binary(op, a, b)))?;
                }
            }
        }
        Ok(())
    }

    /// After the budget ran out, tries the root forms that are cheap to find by target
    /// ([`Bank::inverted`] and [`Bank::conditionals`]) on the formulas already in the bank, for
    /// every size up to [`Options::max_size`], with [`Options::salvage_evaluations`] more
    /// evaluations. The formula returned fits every row but may not be the smallest.
    fn salvage(&mut self, options: &Options) -> Option<Formula> {
        self.salvaging = true;
        self.max_evaluations = self.evaluations.saturating_add(options.salvage_evaluations);
        for levels in self.levels.iter_mut() {
            levels.resize_with(options.max_size + 1, Vec::new);
        }
        for size in 3..=options.max_size {
            for step in [Bank::inverted, Bank::conditionals] {
                match step(self, size) {
                    Ok(()) => {}
                    Err(PassEnd::Found(formula)) => return Some(formula),
                    Err(PassEnd::Retry(_) | PassEnd::Stop(_)) => return None,
                }
            }
        }
        None
    }

    /// Checks a root candidate that gives the target on the sample against the whole table:
    /// stops the pass with the answer, or with the failing rows (or skips the candidate when
    /// salvaging).
    fn root_candidate(&mut self, formula: Formula) -> Flow {
        match self.candidate(formula) {
            PassEnd::Retry(_) if self.salvaging => Ok(()),
            end => Err(end),
        }
    }

    /// The entry of `bank` with exactly these values on the sample.
    fn lookup(&self, bank: usize, values: &[i64]) -> Option<u32> {
        let ids = self.seen[bank].get(&hash(values, &self.multipliers))?;
        ids.iter().copied().find(|&id| self.vals(id) == values)
    }

    /// Checks a candidate that gives the target on the sample against the whole table.
    fn candidate(&mut self, formula: Formula) -> PassEnd {
        let failing = (self.check)(&formula);
        if failing.is_empty() {
            PassEnd::Found(formula)
        } else {
            PassEnd::Retry(failing)
        }
    }

    fn unaries(&mut self, size: usize) -> Flow {
        let below = size - 1;
        for k in 0..self.levels[INT][below].len() {
            let a = self.levels[INT][below][k];
            let child = self.kind(a);
            let neg_ok = !matches!(child, Kind::Const(_) | Kind::Unary(UnOp::Neg, _));
            let abs_ok = !matches!(
                child,
                Kind::Const(_) | Kind::Unary(UnOp::Neg | UnOp::Abs | UnOp::ToInt, _)
            );
            if neg_ok {
                self.offer(Kind::Unary(UnOp::Neg, a), Type::Int, size)?;
            }
            if abs_ok {
                self.offer(Kind::Unary(UnOp::Abs, a), Type::Int, size)?;
            }
        }
        for k in 0..self.levels[BOOL][below].len() {
            let a = self.levels[BOOL][below][k];
            if !matches!(self.kind(a), Kind::Unary(UnOp::Not, _)) {
                self.offer(Kind::Unary(UnOp::Not, a), Type::Bool, size)?;
            }
        }
        Ok(())
    }

    /// Every `op(a, b)` with `a` of size `ls` and `b` of size `rs` from bank `operands`.
    fn binaries(&mut self, op: BinOp, operands: usize, ls: usize, rs: usize, size: usize) -> Flow {
        let symmetric = commutative(op);
        // A commutative operator takes its larger operand first (`s + 1`, not `1 + s`).
        if symmetric && ls < rs {
            return Ok(());
        }
        let divides = matches!(op, BinOp::FloorDiv | BinOp::Mod);
        if divides && rs != 1 {
            return Ok(());
        }
        let ty = op.result_type();
        for i in 0..self.levels[operands][ls].len() {
            let a = self.levels[operands][ls][i];
            let a_const = self.is_const(a);
            if divides && a_const {
                continue;
            }
            let start = if symmetric && ls == rs { i } else { 0 };
            for j in start..self.levels[operands][rs].len() {
                let b = self.levels[operands][rs][j];
                if a_const && self.is_const(b) {
                    continue;
                }
                if divides && !self.safe_divisor(b) {
                    continue;
                }
                self.offer(Kind::Binary(op, a, b), ty, size)?;
            }
        }
        Ok(())
    }

    /// The conditionals `then if cond else otherwise` of `size` that give the target on the
    /// sample, found by target: for each condition, the first entry of each size that agrees
    /// with the target where the condition holds, and likewise where it does not. Conditionals
    /// occur only at the root, so they are never kept in the bank.
    fn conditionals(&mut self, size: usize) -> Flow {
        let branches = bank_of(self.data.target_ty);
        for cs in 1..size.saturating_sub(2) {
            for ci in 0..self.levels[BOOL][cs].len() {
                let c = self.levels[BOOL][cs][ci];
                let (holds, fails): (Vec<usize>, Vec<usize>) =
                    (0..self.n()).partition(|&k| self.vals(c)[k] != 0);
                if holds.is_empty() || fails.is_empty() {
                    continue;
                }
                for ts in 1..size - 1 - cs {
                    let es = size - 1 - cs - ts;
                    let Some(t) = self.first_agreeing(branches, ts, &holds)? else {
                        continue;
                    };
                    let Some(e) = self.first_agreeing(branches, es, &fails)? else {
                        continue;
                    };
                    self.root_candidate(self.formula_of(Kind::If(c, t, e)))?;
                }
            }
        }
        Ok(())
    }

    /// The first entry of `bank` and `size` equal to the target on the sample positions
    /// `rows`; each entry compared counts as an evaluation.
    fn first_agreeing(
        &mut self,
        bank: usize,
        size: usize,
        rows: &[usize],
    ) -> Result<Option<u32>, PassEnd> {
        for i in 0..self.levels[bank][size].len() {
            self.spend()?;
            let id = self.levels[bank][size][i];
            let vals = self.vals(id);
            if rows.iter().all(|&k| vals[k] == self.target[k]) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Counts one evaluation against the budget.
    fn spend(&mut self) -> Flow {
        *self.evaluations += 1;
        if *self.evaluations > self.max_evaluations {
            return Err(PassEnd::Stop(Reason::Budget {
                evaluations: self.max_evaluations,
            }));
        }
        Ok(())
    }

    /// Evaluates a candidate on the sample; keeps it if its values are new for its type, and
    /// checks it against the whole table if they are the target's.
    fn offer(&mut self, kind: Kind, ty: Type, size: usize) -> Flow {
        self.spend()?;
        let n = self.n();
        if !compute(
            kind,
            self.data,
            self.sample,
            n,
            &self.values,
            &mut self.scratch,
        ) {
            return Ok(());
        }
        let h = hash(&self.scratch, &self.multipliers);
        let bank = bank_of(ty);
        if let Some(ids) = self.seen[bank].get(&h) {
            if ids
                .iter()
                .any(|&id| self.vals(id) == self.scratch.as_slice())
            {
                return Ok(());
            }
        }
        if h == self.target_hash && self.scratch == self.target {
            let formula = self.formula_of(kind);
            // A Boolean with the values of an integer target is that target through `int`.
            return Err(self.candidate(match (ty, self.data.target_ty) {
                (Type::Bool, Type::Int | Type::Float) => {
                    Formula::Unary(UnOp::ToInt, Box::new(formula))
                }
                (Type::Int | Type::Float | Type::Bool, _) => formula,
            }));
        }
        if self.nodes.len() >= self.max_bank.min(u32::MAX as usize) {
            self.full = true;
            return Ok(());
        }
        let id = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push((kind, size));
        self.values.extend_from_slice(&self.scratch);
        self.seen[bank].entry(h).or_default().push(id);
        self.levels[bank][size].push(id);
        if bank == BOOL {
            // `int(b)` is a conversion, not an operation: it has the size of `b`.
            self.offer(Kind::Unary(UnOp::ToInt, id), Type::Int, size)?;
        }
        Ok(())
    }

    /// The formula of a candidate whose operands are bank entries.
    fn formula_of(&self, kind: Kind) -> Formula {
        match kind {
            Kind::Column(index) => Formula::Column {
                index,
                ty: self.data.column_types[index],
            },
            Kind::Const(v) => Formula::Int(v),
            Kind::Unary(op, a) => Formula::Unary(op, Box::new(self.formula(a))),
            Kind::Binary(op, a, b) => {
                // `3 < x` reads better as `x > 3`.
                let flip = self.is_const(a) && !self.is_const(b);
                if flip && op == BinOp::Lt {
                    binary_formula(BinOp::Gt, self.formula(b), self.formula(a))
                } else if flip && op == BinOp::Le {
                    binary_formula(BinOp::Ge, self.formula(b), self.formula(a))
                } else {
                    binary_formula(op, self.formula(a), self.formula(b))
                }
            }
            Kind::If(c, t, e) => Formula::If {
                cond: Box::new(self.formula(c)),
                then: Box::new(self.formula(t)),
                otherwise: Box::new(self.formula(e)),
            },
        }
    }

    fn formula(&self, id: u32) -> Formula {
        self.formula_of(self.kind(id))
    }
}

/// The `b` with `op(a, b) == t`, `None` on overflow.
type Inverse = fn(i64, i64) -> Option<i64>;

/// The root operators [`Bank::inverted`] inverts for a target in `bank`, with their inverses.
fn inverted_ops(bank: usize) -> &'static [(BinOp, Inverse)] {
    if bank == BOOL {
        &[(BinOp::Xor, |a, t| Some(a ^ t))]
    } else {
        &[
            (BinOp::Add, |a, t| t.checked_sub(a)),
            (BinOp::Sub, |a, t| a.checked_sub(t)),
        ]
    }
}

fn binary_formula(op: BinOp, a: Formula, b: Formula) -> Formula {
    Formula::Binary(op, Box::new(a), Box::new(b))
}

/// Writes the values of `kind` on the sample into `out`; false on overflow or division by
/// zero in any row.
fn compute(
    kind: Kind,
    data: &Data,
    sample: &[usize],
    n: usize,
    values: &[i64],
    out: &mut [i64],
) -> bool {
    let vals = |id: u32| {
        let start = id as usize * n;
        &values[start..start + n]
    };
    match kind {
        Kind::Column(c) => {
            for (o, &r) in out.iter_mut().zip(sample) {
                *o = data.row(r)[c];
            }
            true
        }
        Kind::Const(v) => {
            out.fill(v);
            true
        }
        Kind::Unary(op, a) => map(vals(a), out, |x| unary(op, x)),
        Kind::Binary(op, a, b) => apply_binary(op, vals(a), vals(b), out),
        Kind::If(c, t, e) => {
            for (((o, &c), &t), &e) in out.iter_mut().zip(vals(c)).zip(vals(t)).zip(vals(e)) {
                *o = if c != 0 { t } else { e };
            }
            true
        }
    }
}

fn map(a: &[i64], out: &mut [i64], f: impl Fn(i64) -> Option<i64>) -> bool {
    for (o, &x) in out.iter_mut().zip(a) {
        match f(x) {
            Some(v) => *o = v,
            None => return false,
        }
    }
    true
}

fn zip_with(a: &[i64], b: &[i64], out: &mut [i64], f: impl Fn(i64, i64) -> Option<i64>) -> bool {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        match f(x, y) {
            Some(v) => *o = v,
            None => return false,
        }
    }
    true
}

/// [`zip_with`] specialised per operator, so the operator is not dispatched per row.
fn apply_binary(op: BinOp, a: &[i64], b: &[i64], out: &mut [i64]) -> bool {
    macro_rules! each {
        ($($op:ident),*) => {
            match op {
                $(BinOp::$op => zip_with(a, b, out, |x, y| binary(BinOp::$op, x, y)),)*
            }
        };
    }
    each!(Add, Sub, Mul, FloorDiv, Mod, Min, Max, Lt, Le, Gt, Ge, Eq, Ne, And, Or, Xor)
}
