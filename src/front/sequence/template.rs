//! Writing the cell of an unrolled model from its template step: `x_t`, the states, the
//! template's nodes with their operands resolved, then `y_t` and the next states.

use std::collections::BTreeMap;

use crate::diag::Location;
use crate::network::prune::prune_unused;
use crate::network::{Cell, TensorType, TimeDirection, ValueId};

use super::emit::Builder;
use super::unrolled::{error, Src, StateKey, Unrolled, TEMPLATE};
use super::RollError;

impl Unrolled<'_> {
    /// Writes the cell from the template.
    pub(super) fn build(
        &self,
        classes: &[Vec<Option<Src>>],
        part: &Src,
        states: &[(ValueId, StateKey)],
        init_of: &BTreeMap<ValueId, ValueId>,
    ) -> Result<Cell, RollError> {
        let g = self.g;
        let x = g.value(g.inputs[0]);
        let x_shape = self.slices[TEMPLATE]
            .first()
            .map(|v| g.value(*v).ty.shape.clone())
            .unwrap_or_default();
        let mut e = Emit {
            b: Builder::new(),
            x_name: format!("{}_t", x.name),
            x_t: ValueId(0),
            x_forms: BTreeMap::new(),
            consts: BTreeMap::new(),
            outs: Vec::new(),
            state_inputs: Vec::new(),
        };
        let x_ty = TensorType {
            dtype: x.ty.dtype,
            shape: x_shape.clone(),
        };
        let x_t = e.b.input(e.x_name.clone(), x_ty);
        e.x_t = x_t;
        e.x_forms.insert(x_shape, x_t);
        let mut init = Vec::with_capacity(states.len());
        for (v, _) in states {
            let value = g.value(*v);
            let tensor = init_of
                .get(v)
                .and_then(|c| self.constant(*c))
                .ok_or_else(|| {
                    error(
                        "the state has no constant initial value".into(),
                        Location::Value(value.name.clone()),
                    )
                })?;
            if tensor.ty() != value.ty {
                return Err(error(
                    format!(
                        "the initial value has type {:?}, the state {:?}",
                        tensor.ty(),
                        value.ty
                    ),
                    Location::Value(value.name.clone()),
                ));
            }
            init.push(tensor.clone());
            let input = e.b.input(value.name.clone(), value.ty.clone());
            e.state_inputs.push(input);
        }
        for (p, &n) in self.steps[TEMPLATE].iter().enumerate() {
            let node = &g.nodes[n];
            let mut inputs = Vec::with_capacity(node.inputs.len());
            for class in &classes[p] {
                inputs.push(match class {
                    Some(class) => Some(e.resolve(self, class)?),
                    None => None,
                });
            }
            let outputs = node
                .outputs
                .iter()
                .map(|v| (g.value(*v).name.clone(), g.value(*v).ty.clone()))
                .collect();
            let ids =
                e.b.graph
                    .add_node(node.name.clone(), node.op.clone(), inputs, outputs);
            e.outs.push(ids);
        }
        let y = e.resolve(self, part)?;
        e.b.output(y);
        for (k, (v, key)) in states.iter().enumerate() {
            let out = match key {
                StateKey::Node(p, j) => e.resolve(self, &Src::Internal(*p, *j))?,
                StateKey::X(shape) => e.resolve(self, &Src::X(shape.clone()))?,
            };
            if e.b.ty(out) != &g.value(*v).ty {
                return Err(error(
                    format!("state {k} changes type from one step to the next"),
                    Location::Value(g.value(*v).name.clone()),
                ));
            }
            e.b.output(out);
        }
        Ok(Cell {
            step: prune_unused(e.b.graph),
            init,
            direction: TimeDirection::Forward,
        })
    }
}

/// The cell being written.
struct Emit {
    b: Builder,
    x_name: String,
    x_t: ValueId,
    /// `x_t` in each shape the template slices it.
    x_forms: BTreeMap<Vec<usize>, ValueId>,
    /// Constants of the graph already copied.
    consts: BTreeMap<ValueId, ValueId>,
    /// Results of the template nodes written so far.
    outs: Vec<Vec<ValueId>>,
    state_inputs: Vec<ValueId>,
}

impl Emit {
    fn resolve(&mut self, u: &Unrolled<'_>, class: &Src) -> Result<ValueId, RollError> {
        let missing = || {
            error(
                "internal: the template reads a value it does not define".into(),
                Location::Unknown,
            )
        };
        match class {
            Src::X(shape) => {
                if let Some(&v) = self.x_forms.get(shape) {
                    return Ok(v);
                }
                let name = format!("{}_{}d", self.x_name, shape.len());
                let v = self.b.reshape(&name, self.x_t, shape.clone())?;
                self.x_forms.insert(shape.clone(), v);
                Ok(v)
            }
            Src::Const(c) => {
                if let Some(&v) = self.consts.get(c) {
                    return Ok(v);
                }
                let tensor = u.constant(*c).ok_or_else(missing)?.clone();
                let v = self.b.constant(u.g.value(*c).name.clone(), tensor);
                self.consts.insert(*c, v);
                Ok(v)
            }
            Src::Internal(p, j) => self
                .outs
                .get(*p)
                .and_then(|o| o.get(*j))
                .copied()
                .ok_or_else(missing),
            Src::State(k) => self.state_inputs.get(*k).copied().ok_or_else(missing),
            Src::Prev(_) => Err(missing()),
        }
    }
}
