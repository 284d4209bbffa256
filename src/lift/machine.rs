//! The finite reading: the trace read as a finite machine, by the position of its hidden states
//! ([`super::finite`]) or by their behaviour ([`super::behaviour`]), its states numbered every way
//! [`super::numbering`] knows, and every numbering solved.

use crate::network::interp::InterpError;
use crate::verify::flatten;

use super::behaviour::cluster_by_behaviour;
use super::complete::domain_points;
use super::finite::{find_machine, machine_from_partition, Machine};
use super::numbering::numberings;
use super::reading::{always, Candidate, Context, Found, Outcome, Reading};
use super::solve::solve;
use super::trace::CellRunner;
use super::write::Naming;

/// The finite reading: a candidate for every numbering of the machine's states that has formulas.
pub const READING: Reading = Reading::new("finite", always, read_finite);

fn read_finite(context: &Context, candidates: &[Candidate]) -> Outcome {
    let machine = match read_machine(context)? {
        Ok(machine) => machine,
        Err(why) => return Ok(Err(format!("finite: {why}"))),
    };
    let mut found = Vec::new();
    let mut last = String::new();
    for codes in numberings(machine, context.trace, context.bounds) {
        let options = context.regress_within(candidates, &found);
        match solve(context.trace, &codes, Some(&options)) {
            Ok(solution) => {
                let naming = Naming::MachineState;
                found.push(Found::Formulas { solution, naming });
            }
            Err(why) => last = why.0,
        }
    }
    if found.is_empty() {
        let count = machine.count;
        return Ok(Err(format!("finite machine of {count} states: {last}")));
    }
    Ok(Ok(found))
}

/// The trace read as a finite machine: by position when that machine is complete (every
/// transition observed or read off the network), else also by behaviour, keeping the machine with
/// fewer states (by position on a tie). The error says why neither reading gave one. Read once per
/// context ([`Context::machine`]).
///
/// Errors: the interpreter's.
pub fn read_machine<'c>(context: &'c Context) -> Result<&'c Result<Machine, String>, InterpError> {
    if let Some(machine) = context.machine.get() {
        return Ok(machine);
    }
    let machine = position_or_behaviour(context)?;
    Ok(context.machine.get_or_init(|| machine))
}

fn position_or_behaviour(context: &Context) -> Result<Result<Machine, String>, InterpError> {
    let &Context {
        model,
        trace,
        bounds,
        options,
        ..
    } = context;
    let inputs = domain_points(bounds, options.finite.max_domain_points).unwrap_or_default();
    let runner = CellRunner::new(model)?;
    let step = |state: &[f64], input: &[i64]| {
        let (output, next) = runner.step(runner.unflatten(state), input)?;
        Ok::<_, InterpError>((output, flatten(&next).0))
    };
    let by_position = find_machine(trace, &inputs, step, &options.finite)?;
    if let Ok(machine) = &by_position {
        if machine.complete {
            return Ok(by_position.map_err(|e| e.to_string()));
        }
    }
    let by_behaviour = match cluster_by_behaviour(model, trace, bounds, &options.behaviour)? {
        Some(mut clusters) => {
            let group_of = std::mem::take(&mut clusters.group_of);
            machine_from_partition(trace, &group_of, &mut clusters, &inputs, &options.finite)?
                .map_err(|e| e.to_string())
        }
        None => Err("too many states to probe".to_string()),
    };
    Ok(match (by_position, by_behaviour) {
        (Ok(position), Ok(behaviour)) if behaviour.count < position.count => Ok(behaviour),
        (Ok(position), _) => Ok(position),
        (Err(_), Ok(behaviour)) => Ok(behaviour),
        (Err(geometric), Err(why)) => Err(format!("by position: {geometric}; by behaviour: {why}")),
    })
}
