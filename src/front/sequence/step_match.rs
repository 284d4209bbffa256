//! Matching one step of an unrolled model against the template step, node by node, with a
//! diagnosis of the first difference.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::Location;
use crate::network::ValueId;

use super::emit::node_ref;
use super::unrolled::{error, Src, StateKey, StepMatch, Unrolled, TEMPLATE};
use super::RollError;

/// What an operand of a step must be, given how the template reads it.
enum Expect {
    /// Exactly this value.
    Value(ValueId),
    /// A slice of `x` at this step, of this shape.
    SliceOf(usize, Vec<usize>),
    /// A constant equal to this one.
    ConstLike(ValueId),
    /// A constant: the initial value of the state first read through this step-0 value.
    Init(ValueId),
    /// Nothing: the value the template reads does not exist in this step.
    Missing,
}

/// The match of one step so far, and of the step before it.
struct Ctx<'a> {
    s: usize,
    m: &'a StepMatch,
    prev: Option<(&'a StepMatch, &'a [(ValueId, StateKey)])>,
}

impl Unrolled<'_> {
    /// Matches step `s` against the template. `prev` is the match of step `s - 1` and the
    /// states (`None` for step 0, which reads initial values, recorded in `init_of`).
    pub(super) fn match_step(
        &self,
        s: usize,
        classes: &[Vec<Option<Src>>],
        part: &Src,
        prev: Option<(&StepMatch, &[(ValueId, StateKey)])>,
        y_cone: &BTreeSet<usize>,
        init_of: &mut BTreeMap<ValueId, ValueId>,
    ) -> Result<StepMatch, RollError> {
        let template = &self.steps[TEMPLATE];
        let members: BTreeSet<usize> = self.steps[s].iter().copied().collect();
        let mut m: StepMatch = vec![None; template.len()];
        let mut used = BTreeSet::new();
        let last = s + 1 == self.length;
        for (p, &t) in template.iter().enumerate() {
            let ctx = Ctx { s, m: &m, prev };
            let candidates = self.candidates(&ctx, &classes[p]);
            let found = candidates.iter().copied().find(|&c| {
                members.contains(&c)
                    && !used.contains(&c)
                    && self
                        .first_difference(&ctx, t, c, &classes[p], &*init_of)
                        .is_none()
            });
            match found {
                Some(c) => {
                    for (class, actual) in classes[p].iter().zip(&self.g.nodes[c].inputs) {
                        if let (Some(Src::Prev(v)), Some(a)) = (class, actual) {
                            init_of.entry(*v).or_insert(*a);
                        }
                    }
                    used.insert(c);
                    m[p] = Some(c);
                }
                None if last && !y_cone.contains(&p) => {}
                None => {
                    let others: Vec<usize> = candidates
                        .into_iter()
                        .filter(|c| members.contains(c) && !used.contains(c))
                        .collect();
                    return Err(self.mismatch(&ctx, p, &classes[p], &others));
                }
            }
        }
        if let Some(&extra) = self.steps[s].iter().find(|n| !used.contains(n)) {
            return Err(error(
                format!(
                    "cannot re-roll: step {s} has a node with no counterpart in the template step {TEMPLATE}{}",
                    if self.length == 2 && s == 0 {
                        " (with only 2 steps the template is the last step, which may omit state updates)"
                    } else {
                        ""
                    }
                ),
                Location::Node(node_ref(&self.g.nodes[extra])),
            ));
        }
        let ctx = Ctx { s, m: &m, prev };
        let expect = self.expect(&ctx, part);
        if !self.accepts(&expect, self.parts[s], init_of) {
            return Err(error(
                format!(
                    "cannot re-roll: the part of y at step {s} is {}, where step {TEMPLATE} has {}",
                    self.describe_actual(self.parts[s]),
                    self.describe_class(part, prev.map(|p| p.1))
                ),
                self.assembly_location(),
            ));
        }
        if let Src::Prev(v) = part {
            init_of.entry(*v).or_insert(self.parts[s]);
        }
        Ok(m)
    }

    /// What the operand of class `class` must be in the step of `ctx`.
    fn expect(&self, ctx: &Ctx<'_>, class: &Src) -> Expect {
        let output =
            |n: Option<usize>, j: usize| match n.and_then(|n| self.g.nodes[n].outputs.get(j)) {
                Some(&v) => Expect::Value(v),
                None => Expect::Missing,
            };
        match class {
            Src::X(shape) => Expect::SliceOf(ctx.s, shape.clone()),
            Src::Const(c) => Expect::ConstLike(*c),
            Src::Internal(p, j) => output(ctx.m[*p], *j),
            Src::Prev(v) if ctx.s == 0 => Expect::Init(*v),
            Src::Prev(_) => Expect::Missing,
            Src::State(k) => match (ctx.prev, ctx.s) {
                (Some((prev, states)), s) if s > 0 => match states.get(*k) {
                    Some((_, StateKey::Node(p, j))) => output(prev[*p], *j),
                    Some((_, StateKey::X(shape))) => Expect::SliceOf(s - 1, shape.clone()),
                    None => Expect::Missing,
                },
                (Some((_, states)), _) => match states.get(*k) {
                    Some((v, _)) => Expect::Init(*v),
                    None => Expect::Missing,
                },
                (None, _) => Expect::Missing,
            },
        }
    }

    /// Whether `actual` is what `expect` asks for.
    fn accepts(
        &self,
        expect: &Expect,
        actual: ValueId,
        init_of: &BTreeMap<ValueId, ValueId>,
    ) -> bool {
        match expect {
            Expect::Value(v) => actual == *v,
            Expect::SliceOf(t, shape) => {
                self.slice_step.get(&actual) == Some(t) && self.g.value(actual).ty.shape == *shape
            }
            Expect::ConstLike(c) => {
                actual == *c
                    || matches!((self.constant(actual), self.constant(*c)), (Some(a), Some(b)) if a == b)
            }
            Expect::Init(v) => match (self.constant(actual), init_of.get(v)) {
                (Some(a), Some(known)) => self.constant(*known) == Some(a),
                (Some(_), None) => true,
                (None, _) => false,
            },
            Expect::Missing => false,
        }
    }

    /// The nodes of the step that read the operand the template node is found by: its first
    /// operand that is the step's slice of `x` or an earlier node of the step.
    fn candidates(&self, ctx: &Ctx<'_>, classes: &[Option<Src>]) -> Vec<usize> {
        let anchor = classes
            .iter()
            .flatten()
            .find(|c| matches!(c, Src::X(_) | Src::Internal(..)));
        let values: Vec<ValueId> = match anchor.map(|c| self.expect(ctx, c)) {
            Some(Expect::Value(v)) => vec![v],
            Some(Expect::SliceOf(t, shape)) => self.slices[t]
                .iter()
                .copied()
                .filter(|v| self.g.value(*v).ty.shape == shape)
                .collect(),
            Some(Expect::ConstLike(_) | Expect::Init(_) | Expect::Missing) | None => Vec::new(),
        };
        let mut found = Vec::new();
        for v in values {
            for &n in &self.consumers[v.0 as usize] {
                if !found.contains(&n) {
                    found.push(n);
                }
            }
        }
        found
    }

    /// Why node `c` of the step is not template node `t`, or `None` when it is.
    fn first_difference(
        &self,
        ctx: &Ctx<'_>,
        t: usize,
        c: usize,
        classes: &[Option<Src>],
        init_of: &BTreeMap<ValueId, ValueId>,
    ) -> Option<String> {
        let (tn, cn) = (&self.g.nodes[t], &self.g.nodes[c]);
        if tn.op != cn.op {
            return Some(format!(
                "its op or attributes differ ({:?} against {:?})",
                cn.op, tn.op
            ));
        }
        if tn.inputs.len() != cn.inputs.len() || tn.outputs.len() != cn.outputs.len() {
            return Some("its numbers of operands or results differ".into());
        }
        for (i, (class, actual)) in classes.iter().zip(&cn.inputs).enumerate() {
            let ok = match (class, actual) {
                (None, None) => true,
                (Some(class), Some(a)) => self.accepts(&self.expect(ctx, class), *a, init_of),
                (Some(_), None) | (None, Some(_)) => false,
            };
            if !ok {
                let states = ctx.prev.map(|p| p.1);
                let reads_state = matches!(class, Some(Src::Prev(_) | Src::State(_)));
                let hint = if ctx.s == 0 && reads_state {
                    " (the first step must read a constant initial value where later steps read the previous step's state; a first step computed differently cannot be re-rolled without guessing)"
                } else {
                    ""
                };
                return Some(format!(
                    "operand {i} is {}, where step {TEMPLATE} has {}{hint}",
                    actual.map_or("absent".to_string(), |a| self.describe_actual(a)),
                    class
                        .as_ref()
                        .map_or("none".to_string(), |c| self.describe_class(c, states))
                ));
            }
        }
        for (k, (a, b)) in tn.outputs.iter().zip(&cn.outputs).enumerate() {
            if self.g.value(*a).ty != self.g.value(*b).ty {
                return Some(format!("the type of result {k} differs"));
            }
        }
        None
    }

    /// The error for template node number `p` without a counterpart in the step.
    fn mismatch(
        &self,
        ctx: &Ctx<'_>,
        p: usize,
        classes: &[Option<Src>],
        candidates: &[usize],
    ) -> RollError {
        let t = self.steps[TEMPLATE][p];
        let tn = &self.g.nodes[t];
        let same_op = candidates
            .iter()
            .copied()
            .find(|&c| self.g.nodes[c].op.onnx_name() == tn.op.onnx_name());
        let empty = BTreeMap::new();
        let (detail, at) = match same_op.or(candidates.first().copied()) {
            Some(c) => (
                self.first_difference(ctx, t, c, classes, &empty)
                    .unwrap_or_else(|| "it matches only in part".into()),
                c,
            ),
            None => ("no node of the step reads the same operand".to_string(), t),
        };
        error(
            format!(
                "cannot re-roll: step {} differs from the template step {TEMPLATE} at its counterpart of node \"{}\" ({}): {detail}",
                ctx.s,
                tn.name.escape_debug(),
                tn.op.onnx_name()
            ),
            Location::Node(node_ref(&self.g.nodes[at])),
        )
    }

    pub(super) fn describe_class(
        &self,
        class: &Src,
        states: Option<&[(ValueId, StateKey)]>,
    ) -> String {
        let name = |v: ValueId| self.g.value(v).name.escape_debug().to_string();
        match class {
            Src::X(_) => "its own slice of x".into(),
            Src::Const(c) => format!("the constant \"{}\"", name(*c)),
            Src::Internal(p, j) => format!(
                "result {j} of its own \"{}\"",
                self.g.nodes[self.steps[TEMPLATE][*p]].name.escape_debug()
            ),
            Src::Prev(v) => format!("the previous step's \"{}\"", name(*v)),
            Src::State(k) => match states.and_then(|s| s.get(*k)) {
                Some((v, _)) => format!("the previous step's counterpart of \"{}\"", name(*v)),
                None => format!("state {k}"),
            },
        }
    }

    fn describe_actual(&self, v: ValueId) -> String {
        let name = self.g.value(v).name.escape_debug().to_string();
        if self.constant(v).is_some() {
            format!("the constant \"{name}\"")
        } else if let Some(t) = self.slice_step.get(&v) {
            format!("the slice of x at step {t}")
        } else {
            match self.value_step[v.0 as usize] {
                Some(t) => format!("\"{name}\" of step {t}"),
                None => format!("\"{name}\""),
            }
        }
    }
}
