//! Re-rolling a model whose exporter unrolled the loop over time.
//!
//! Every node is assigned to a step: the latest time step `t` of `x` it depends on (through the
//! per-step slices of `x`). Step 1 is the template; its operands are classified (the step's own
//! slice of `x`, a constant, an earlier node of the step, or a value of the previous step, which
//! is a state). Every step is then matched node by node against the template, following the
//! data flow from the slice of `x`, so the match never depends on the order of the node list.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::Location;
use crate::network::interp::eval_op;
use crate::network::{Cell, Graph, Node, Op, Tensor, ValueDef, ValueId};

use super::emit::node_ref;
use super::RollError;

/// The step used as the template of the cell.
pub(super) const TEMPLATE: usize = 1;

/// Where a template operand comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Src {
    /// The step's own slice of `x`, of this shape.
    X(Vec<usize>),
    /// A constant (compared by value).
    Const(ValueId),
    /// Output `.1` of template node number `.0`.
    Internal(usize, usize),
    /// A value of the previous step, before states are numbered.
    Prev(ValueId),
    /// State number `.0`.
    State(usize),
}

/// Where a state lives inside a step.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum StateKey {
    /// Output `.1` of template node number `.0`.
    Node(usize, usize),
    /// The step's slice of `x`, of this shape.
    X(Vec<usize>),
}

/// The graph and what is known about it.
pub(super) struct Unrolled<'g> {
    pub(super) g: &'g Graph,
    pub(super) length: usize,
    /// Values of nodes that depend on no slice of `x`, folded to constants.
    pub(super) folded: BTreeMap<ValueId, Tensor>,
    /// The node and output number defining each value.
    pub(super) producer: Vec<Option<(usize, usize)>>,
    /// The nodes reading each value, in node order.
    pub(super) consumers: Vec<Vec<usize>>,
    /// For each slice of `x`, its time step.
    pub(super) slice_step: BTreeMap<ValueId, usize>,
    /// The slices of each step, in node order.
    pub(super) slices: Vec<Vec<ValueId>>,
    /// The step of each value (`None` for constants and folded values).
    pub(super) value_step: Vec<Option<usize>>,
    /// The nodes of each step, in node order (slices and the assembly of `y` excluded).
    pub(super) steps: Vec<Vec<usize>>,
    /// The per-step parts of `y`.
    pub(super) parts: Vec<ValueId>,
}

/// Template node number -> node of one step (`None` where the last step omits it).
pub(super) type StepMatch = Vec<Option<usize>>;

/// See [`super::reroll_unrolled`].
pub(crate) fn reroll_unrolled(full: &Graph) -> Result<Cell, RollError> {
    let u = Unrolled::analyse(full)?;
    let template = &u.steps[TEMPLATE];
    let mut classes: Vec<Vec<Option<Src>>> = Vec::with_capacity(template.len());
    for &n in template {
        let mut operands = Vec::new();
        for operand in &full.nodes[n].inputs {
            operands.push(match operand {
                Some(v) => Some(u.classify(*v, template, n)?),
                None => None,
            });
        }
        classes.push(operands);
    }
    let assembly = u.assembly_location();
    let mut part_class = u
        .classify(u.parts[TEMPLATE], template, usize::MAX)
        .map_err(|e| RollError {
            location: assembly.clone(),
            ..e
        })?;
    let y_cone = y_cone(&classes, &part_class);

    // Step 0 reads constants where the template reads the previous step: the initial values.
    let mut init_of: BTreeMap<ValueId, ValueId> = BTreeMap::new();
    let first = u.match_step(0, &classes, &part_class, None, &y_cone, &mut init_of)?;

    // Number the states in order of first use and key them by their place in a step.
    let mut states: Vec<(ValueId, StateKey)> = Vec::new();
    let mut number = |class: &mut Option<Src>| -> Result<(), RollError> {
        let Some(Src::Prev(v)) = class else {
            return Ok(());
        };
        let v = *v;
        let k = match states.iter().position(|(w, _)| *w == v) {
            Some(k) => k,
            None => {
                states.push((v, u.state_key(v, &first)?));
                states.len() - 1
            }
        };
        *class = Some(Src::State(k));
        Ok(())
    };
    for operands in &mut classes {
        for class in operands.iter_mut() {
            number(class)?;
        }
    }
    let mut part = Some(part_class);
    number(&mut part)?;
    part_class = part.unwrap_or(Src::Const(u.parts[TEMPLATE]));

    let mut previous = first;
    for s in 1..u.length {
        previous = u.match_step(
            s,
            &classes,
            &part_class,
            Some((&previous, &states)),
            &y_cone,
            &mut init_of,
        )?;
    }

    u.build(&classes, &part_class, &states, &init_of)
}

/// Template nodes that the template's part of `y` depends on.
fn y_cone(classes: &[Vec<Option<Src>>], part: &Src) -> BTreeSet<usize> {
    let mut cone = BTreeSet::new();
    let mut work: Vec<usize> = match part {
        Src::Internal(p, _) => vec![*p],
        Src::X(_) | Src::Const(_) | Src::Prev(_) | Src::State(_) => Vec::new(),
    };
    while let Some(p) = work.pop() {
        if !cone.insert(p) {
            continue;
        }
        for class in classes[p].iter().flatten() {
            if let Src::Internal(q, _) = class {
                work.push(*q);
            }
        }
    }
    cone
}

pub(super) fn error(message: String, location: Location) -> RollError {
    RollError { message, location }
}

impl<'g> Unrolled<'g> {
    /// Checks the overall shape of the graph, folds what depends on no slice, finds the slices
    /// of `x`, the assembly of `y`, and the step of every node.
    fn analyse(g: &'g Graph) -> Result<Self, RollError> {
        let (&x, &y) = match (g.inputs.as_slice(), g.outputs.as_slice()) {
            ([x], [y]) => (x, y),
            (inputs, outputs) => {
                return Err(error(
                    format!(
                        "an unrolled sequence model has one input x and one output y; this graph has {} inputs and {} outputs",
                        inputs.len(),
                        outputs.len()
                    ),
                    Location::Unknown,
                ))
            }
        };
        let count = g.values.len();
        let in_range = |v: ValueId| (v.0 as usize) < count;
        if !in_range(x) || !in_range(y) {
            return Err(error(
                "a graph input or output handle is out of range".into(),
                Location::Unknown,
            ));
        }
        let x_ty = &g.value(x).ty;
        let length = match x_ty.shape.as_slice() {
            [1, t, ..] if *t >= 2 => *t,
            shape => {
                return Err(error(
                    format!(
                        "x has shape {shape:?}; re-rolling needs [1, T, ...] with T >= 2 steps (the step after the first is the template)"
                    ),
                    Location::Value(g.value(x).name.clone()),
                ))
            }
        };

        let mut producer = vec![None; count];
        let mut consumers = vec![Vec::new(); count];
        for (n, node) in g.nodes.iter().enumerate() {
            for v in node.inputs.iter().flatten() {
                let defined = in_range(*v)
                    && match producer[v.0 as usize] {
                        Some(_) => true,
                        None => !matches!(g.value(*v).def, ValueDef::Node(..)),
                    };
                if !defined {
                    return Err(error(
                        "the node reads a value that is not defined before it".into(),
                        Location::Node(node_ref(node)),
                    ));
                }
                consumers[v.0 as usize].push(n);
            }
            for (k, v) in node.outputs.iter().enumerate() {
                if !in_range(*v) {
                    return Err(error(
                        "an output handle is out of range".into(),
                        Location::Node(node_ref(node)),
                    ));
                }
                producer[v.0 as usize] = Some((n, k));
            }
        }

        let mut u = Unrolled {
            g,
            length,
            folded: BTreeMap::new(),
            producer,
            consumers,
            slice_step: BTreeMap::new(),
            slices: vec![Vec::new(); length],
            value_step: vec![None; count],
            steps: vec![Vec::new(); length],
            parts: Vec::new(),
        };
        let assembly = u.find_assembly(y)?;

        let mut reads_x = vec![false; count];
        reads_x[x.0 as usize] = true;
        for (n, node) in g.nodes.iter().enumerate() {
            let location = || Location::Node(node_ref(node));
            if Some(n) == assembly {
                continue;
            }
            if node.inputs.iter().flatten().any(|v| *v == x) {
                let (t, out) = u.slice_of(node, x, length)?;
                u.slice_step.insert(out, t);
                u.slices[t].push(out);
                u.value_step[out.0 as usize] = Some(t);
                reads_x[out.0 as usize] = true;
                continue;
            }
            if node.inputs.iter().flatten().any(|v| reads_x[v.0 as usize]) {
                let step = node
                    .inputs
                    .iter()
                    .flatten()
                    .filter_map(|v| u.value_step[v.0 as usize])
                    .max();
                let Some(step) = step else {
                    return Err(error(
                        "the node depends on x but on no time step of it".into(),
                        location(),
                    ));
                };
                for out in &node.outputs {
                    reads_x[out.0 as usize] = true;
                    u.value_step[out.0 as usize] = Some(step);
                }
                u.steps[step].push(n);
            } else {
                u.fold(node)?;
            }
        }
        if assembly.is_none() {
            return Err(error(
                "the output y is not a Concat along axis 1 of one part per time step".into(),
                Location::Value(g.value(y).name.clone()),
            ));
        }
        for (t, slices) in u.slices.iter().enumerate() {
            if slices.is_empty() {
                return Err(error(
                    format!("time step {t} of x is never read, so the steps cannot all be alike"),
                    Location::Value(g.value(x).name.clone()),
                ));
            }
        }
        Ok(u)
    }

    /// The `Concat` along axis 1 of one part per step that produces `y`, if `y` is one.
    fn find_assembly(&mut self, y: ValueId) -> Result<Option<usize>, RollError> {
        let Some((n, _)) = self.producer[y.0 as usize] else {
            return Ok(None);
        };
        let g = self.g;
        let node = &g.nodes[n];
        let location = Location::Node(node_ref(node));
        if node.op != (Op::Concat { axis: 1 }) {
            return Ok(None);
        }
        if node.inputs.len() != self.length {
            return Err(error(
                format!(
                    "y is assembled from {} parts, expected one per time step ({})",
                    node.inputs.len(),
                    self.length
                ),
                location,
            ));
        }
        let mut parts = Vec::with_capacity(self.length);
        for (t, part) in node.inputs.iter().enumerate() {
            let Some(part) = *part else {
                return Err(error(format!("part {t} of y is missing"), location));
            };
            if self.g.value(part).ty.shape.get(1) != Some(&1) {
                return Err(error(
                    format!(
                        "part {t} of y has shape {:?}; each part must hold one time step (axis 1 of length 1)",
                        self.g.value(part).ty.shape
                    ),
                    location,
                ));
            }
            parts.push(part);
        }
        if !self.consumers[y.0 as usize].is_empty() {
            return Err(error(
                "the assembled output y is read again by other nodes, so the steps do not end at y"
                    .into(),
                location,
            ));
        }
        self.parts = parts;
        Ok(Some(n))
    }

    /// The time step and output of a node that reads `x`, which must be a per-step slice.
    fn slice_of(
        &self,
        node: &Node,
        x: ValueId,
        length: usize,
    ) -> Result<(usize, ValueId), RollError> {
        let location = || Location::Node(node_ref(node));
        let whole = || {
            error(
                "the node reads the whole input x; only per-step slices of x (Gather with a constant index, or a Slice of length 1, along axis 1) can be re-rolled".into(),
                location(),
            )
        };
        let x_shape = &self.g.value(x).ty.shape;
        let (op, inputs, outputs) = (&node.op, node.inputs.as_slice(), node.outputs.as_slice());
        if let (Op::Gather { axis: 1 }, [Some(data), Some(index)], [out]) = (op, inputs, outputs) {
            if *data == x && *index != x {
                let i = match self.constant(*index) {
                    Some(Tensor::I64(a)) if a.len() == 1 && a.ndim() <= 1 => {
                        a.iter().copied().next().unwrap_or(0)
                    }
                    Some(_) | None => return Err(whole()),
                };
                let t = if i < 0 { i + length as i64 } else { i };
                let t = usize::try_from(t)
                    .ok()
                    .filter(|t| *t < length)
                    .ok_or_else(|| {
                        error(
                            format!("the time index {i} is out of range for {length} steps"),
                            location(),
                        )
                    })?;
                return Ok((t, *out));
            }
        }
        if let (
            Op::Slice {
                starts,
                ends,
                axes,
                steps,
            },
            [Some(data)],
            [out],
        ) = (op, inputs, outputs)
        {
            if *data == x {
                // Axis 1 must be cut to one step; any other sliced axis must be kept whole.
                let mut t = None;
                for (k, &axis) in axes.iter().enumerate() {
                    let (start, end, step) = (starts.get(k), ends.get(k), steps.get(k));
                    let dim = x_shape.get(axis).copied().unwrap_or(0) as i64;
                    match (start, end, step) {
                        (Some(&s), Some(&e), Some(1)) if axis == 1 && e == s + 1 && s >= 0 => {
                            t = Some(s as usize)
                        }
                        (Some(0), Some(&e), Some(1)) if axis != 1 && e >= dim => {}
                        _ => return Err(whole()),
                    }
                }
                let t = t.filter(|t| *t < length).ok_or_else(whole)?;
                return Ok((t, *out));
            }
        }
        Err(whole())
    }

    /// Folds a node that depends on no slice of `x` (all its operands are constants).
    fn fold(&mut self, node: &Node) -> Result<(), RollError> {
        let location = || Location::Node(node_ref(node));
        let mut operands = Vec::with_capacity(node.inputs.len());
        for v in &node.inputs {
            operands.push(match v {
                Some(v) => Some(self.constant(*v).ok_or_else(|| {
                    error(
                        "the node depends on no time step but reads a non-constant value".into(),
                        location(),
                    )
                })?),
                None => None,
            });
        }
        let results = eval_op(&node.op, &operands, node.outputs.len()).map_err(|e| {
            error(
                format!("could not fold the node, which depends on no time step: {e}"),
                location(),
            )
        })?;
        if results.len() != node.outputs.len() {
            return Err(error(
                "folding the node gave the wrong number of results".into(),
                location(),
            ));
        }
        for (&out, tensor) in node.outputs.iter().zip(results) {
            self.folded.insert(out, tensor);
        }
        Ok(())
    }

    /// The constant (initialiser or folded value) behind `v`, if any.
    pub(super) fn constant(&self, v: ValueId) -> Option<&Tensor> {
        self.g.constant(v).or_else(|| self.folded.get(&v))
    }

    pub(super) fn assembly_location(&self) -> Location {
        self.parts
            .first()
            .and_then(|p| self.consumers[p.0 as usize].last())
            .map(|&n| Location::Node(node_ref(&self.g.nodes[n])))
            .unwrap_or(Location::Unknown)
    }

    /// How the template reads `v` (`reader` is the reading node, for diagnostics).
    fn classify(&self, v: ValueId, template: &[usize], reader: usize) -> Result<Src, RollError> {
        if self.constant(v).is_some() {
            return Ok(Src::Const(v));
        }
        if self.slice_step.get(&v) == Some(&TEMPLATE) {
            return Ok(Src::X(self.g.value(v).ty.shape.clone()));
        }
        if let Some((n, k)) = self.producer[v.0 as usize] {
            if let Some(p) = template.iter().position(|&m| m == n) {
                return Ok(Src::Internal(p, k));
            }
        }
        let location = self
            .g
            .nodes
            .get(reader)
            .map(|n| Location::Node(node_ref(n)))
            .unwrap_or(Location::Unknown);
        match self.value_step[v.0 as usize] {
            Some(s) if s + 1 == TEMPLATE => Ok(Src::Prev(v)),
            Some(s) => Err(error(
                format!(
                    "step {TEMPLATE} reads \"{}\" of step {s}; only values of the previous step can be carried as state",
                    self.g.value(v).name.escape_debug()
                ),
                location,
            )),
            None => Err(error(
                format!(
                    "step {TEMPLATE} reads \"{}\", which belongs to no step",
                    self.g.value(v).name.escape_debug()
                ),
                location,
            )),
        }
    }

    /// Where value `v` of step 0 sits in a step, through the match of step 0.
    fn state_key(&self, v: ValueId, first: &StepMatch) -> Result<StateKey, RollError> {
        if self.slice_step.contains_key(&v) {
            return Ok(StateKey::X(self.g.value(v).ty.shape.clone()));
        }
        let found = self.producer[v.0 as usize].and_then(|(n, k)| {
            first
                .iter()
                .position(|&m| m == Some(n))
                .map(|p| StateKey::Node(p, k))
        });
        found.ok_or_else(|| {
            error(
                format!(
                    "step {TEMPLATE} reads \"{}\" of step 0, which has no counterpart in step {TEMPLATE}",
                    self.g.value(v).name.escape_debug()
                ),
                Location::Value(self.g.value(v).name.clone()),
            )
        })
    }
}
